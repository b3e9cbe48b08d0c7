# SPDX-License-Identifier: GPL-2.0-or-later
"""The audit trail of an ISC host, end to end through `isc init`: every
service gets an audit identity, its commands (directly and through `isc
exec`) land in the host's trail under its name, `isc exec` is a login and
a logout, every state-changing isc command is an admin record, and the
trail verifies.  The lab holds the audit test lock (labhost.audit_guard)."""
import json

import pytest

from labhost import lab_host  # noqa: F401  (fixture)
from helpers import wait_for

pytestmark = pytest.mark.pass_sanitizers


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
    lab.isc("pause", "aud")
    lab.isc("unpause", "aud")
    lab.isc("stop", "-t", "1", "aud")  # its pid 1 ignores SIGTERM: no 10 s grace
    admin = _records(lab, "--type", "admin")
    actions = [(a["action"], a["result"]) for a in admin]
    assert ("run", "success") in actions and ("stop", "success") in actions
    assert ("pause", "success") in actions and ("unpause", "success") in actions
    assert ("image import", "success") in actions
    run = [a for a in admin if a["action"] == "run"][0]
    assert "aud" in run["args"] and run["caller"]["uid"] == 0
    # a failing command is recorded as failed
    r = lab.isc("rm", "no-such-service", check=False)
    assert (r.returncode, r.stderr) == (1, "isc: no service named no-such-service\n")
    wait_for(lambda: ("rm", "failed") in [(a["action"], a["result"]) for a in _records(lab, "--type", "admin")],
             timeout=10, what="the failed rm")
    (rm,) = [a for a in _records(lab, "--type", "admin") if a["action"] == "rm"]
    assert rm["args"] == ["rm", "no-such-service"]
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


def test_killing_iscd_loses_no_exec_record(lab_host):
    """The collector is a process of its own: killing iscd while a service
    runs commands loses none of their records."""
    import os
    import signal
    import time
    lab = lab_host
    lab.isc("run", "-d", "--name", "ticker", "busybox", "/bin/sh", "-c",
            "for i in $(seq 1 40); do /bin/echo tick-$i; sleep 0.05; done; sleep 600")
    time.sleep(0.5)
    os.kill(lab.iscd_pid(), signal.SIGKILL)
    time.sleep(2.5)  # the loop ends while iscd is gone
    lab.isc("init")  # idempotent: starts iscd again, which re-adopts the service

    def ticks():
        return {e["argv"][1] for e in _records(lab, "--container", "ticker", "--type", "exec")
                if e.get("argv", [""])[0] == "/bin/echo"}
    wait_for(lambda: len(ticks()) == 40, timeout=15, what="all 40 exec records")
    assert ticks() == {"tick-%d" % i for i in range(1, 41)}
    assert not _records(lab, "--type", "lost")
    assert lab.isc("audit", "verify", check=False).returncode == 0


def test_scratch_of_a_service_is_encrypted_and_goes_with_it(lab_host):
    """isc run's /scratch: the marker is never in plaintext on the raw
    backing store while the service runs; after stop the key is gone and the
    loop device (and with it the unnamed image) is released."""
    import os
    import uuid
    import helpers
    lab = lab_host
    lab.isc("run", "-d", "--name", "scr", "--restart", "no", "--scratch-size", "16m", "busybox", "sleep", "600")
    marker = "ISC-SCRATCH-MARKER-" + uuid.uuid4().hex
    r = lab.isc("exec", "scr", "/bin/sh", "-c", "echo -n %s > /scratch/note && cat /scratch/note" % marker)
    assert r.stdout == marker
    with open(lab.path("runtime", "scr", "state.json")) as f:
        rec = json.load(f)["scratch"]
    state_dir = lab.path("runtime", "scr")
    assert (helpers.loop_backing(rec["loop"]) or "").startswith(state_dir + "/")
    fd = os.open(rec["mount"], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        assert helpers.key_status(fd, rec["key"]) == "present"
    finally:
        os.close(fd)
    helpers.assert_scratch_ciphertext(rec, marker)
    lab.isc("stop", "-t", "1", "scr")  # its pid 1 ignores SIGTERM: no 10 s grace
    assert not os.path.exists(state_dir)
    wait_for(lambda: not (helpers.loop_backing(rec["loop"]) or "").startswith(state_dir + "/"), timeout=5,
             what="the loop device to be released")
    with open("/proc/self/mountinfo") as f:
        assert rec["mount"] not in f.read()
