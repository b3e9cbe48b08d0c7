# SPDX-License-Identifier: GPL-2.0-or-later
"""The audit trail of an ISC host, end to end through `isc init`: every
service gets an audit identity, its commands (directly and through `isc
exec`) land in the host's trail under its name, `isc exec` is a login and
a logout, every state-changing isc command is an admin record, and the
trail verifies.  The lab holds the audit test lock (labhost.audit_guard)."""
import json

from labhost import lab_host  # noqa: F401  (fixture)
from helpers import wait_for


def _records(lab, *args):
    r = lab.isc("audit", "--format", "json", *args)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def test_service_commands_sessions_and_admin_records(lab_host):
    lab = lab_host
    lab.isc("run", "-d", "--name", "aud", "busybox", "/bin/sh", "-c", "/bin/echo started-aud; sleep 600")
    wait_for(lambda: any(e.get("argv") == ["/bin/echo", "started-aud"]
                         for e in _records(lab, "--container", "aud", "--type", "exec")),
             timeout=15, what="the service's own exec records")
    r = lab.isc("exec", "aud", "/bin/ls", "-l", "/persist", check=False)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: any(e.get("argv") == ["/bin/ls", "-l", "/persist"]
                         for e in _records(lab, "--container", "aud", "--type", "exec")),
             timeout=15, what="the exec record of isc exec")
    logins = _records(lab, "--container", "aud", "--type", "login")
    logouts = _records(lab, "--container", "aud", "--type", "logout")
    assert [l["argv"] for l in logins] == [["/bin/ls", "-l", "/persist"]]
    assert logouts and logouts[0]["session"] == logins[0]["session"] and logouts[0]["status"] == 0
    assert logins[0]["caller"]["uid"] == 0
    # an exec that fails is a session too, with its status
    r = lab.isc("exec", "aud", "/bin/sh", "-c", "exit 3", check=False)
    assert r.returncode == 3
    wait_for(lambda: any(o.get("status") == 3 for o in _records(lab, "--container", "aud", "--type", "logout")),
             timeout=10, what="the logout with status 3")
    lab.isc("stop", "aud")
    admin = _records(lab, "--type", "admin")
    actions = [(a["action"], a["result"]) for a in admin]
    assert ("run", "success") in actions and ("stop", "success") in actions
    assert ("image import", "success") in actions
    run = [a for a in admin if a["action"] == "run"][0]
    assert "aud" in run["args"] and run["caller"]["uid"] == 0
    # a failing command is recorded as failed
    r = lab.isc("rm", "no-such-service", check=False)
    assert r.returncode != 0
    wait_for(lambda: ("rm", "failed") in [(a["action"], a["result"]) for a in _records(lab, "--type", "admin")],
             timeout=10, what="the failed rm")
    assert lab.isc("audit", "verify", check=False).returncode == 0


def test_container_cannot_reach_the_control_sockets(lab_host):
    lab = lab_host
    lab.isc("run", "-d", "--name", "nosy", "busybox", "sleep", "600")
    probe = ("ls %s/iscd.sock 2>&1; ls /run/isc/audit/collector.sock 2>&1; "
             "cat /proc/self/loginuid; echo 0 > /proc/self/loginuid 2>&1 && echo CHANGED; echo done") % lab.root
    r = lab.isc("exec", "nosy", "/bin/sh", "-c", probe, check=False)
    assert r.returncode == 0, r.stderr
    assert "done" in r.stdout and "CHANGED" not in r.stdout
    assert r.stdout.count("No such file or directory") >= 2
