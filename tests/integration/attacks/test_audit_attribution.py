# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 11, item 10: whose records are these.

The attack (found on 51b9795): the collector filed kernel records into a
host's trail by audit id (loginuid) alone, and container audit ids started
at 1000000, where real logins of large sites are: the exec records of a
process outside any container with auid 1000042 landed in a lab's trail.
Worse, any process whose loginuid is unset may set it once, to any value,
without privilege: an unprivileged local user could write records into a
container's trail, under the container's name.

What must hold now (docs/audit.md, "Whose records are these"):
  - an unprivileged process outside any container sets its loginuid to an
    id of the old range, and to the audit id of a running service of the
    lab, and runs commands: none of its records land in the lab's trail,
    while the service's own records do (positive control), and the
    collector counts the refused ones;
  - `isc init` refuses a machine whose users reach into the container
    range (a passwd entry, login.defs), naming the file and the entry;
    the same command with clean files goes past that check (it fails on a
    bad --subnet instead: positive control, and nothing is created).
Kernel audit is global: the lab holds the audit test lock and checks the
kernel's audit state is restored (labhost.audit_guard)."""
import json
import os
import subprocess
import tempfile
import uuid

import pytest

from helpers import wait_for
from labhost import AUDITD, ISC, LabHost, _env, lab_host, unique_name  # noqa: F401  (fixture)

pytestmark = pytest.mark.isc_only

OUTSIDER_UID = 1000042  # a large site's login; also the old-range audit id of the report
OLD_RANGE_ID = 1000042


def _records(lab, *args):
    r = lab.isc("audit", "--format", "json", *args)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def _collector_status():
    r = subprocess.run([AUDITD, "--status"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _outsider(auid, marker):
    """A process outside any container: loginuid unset (as root, which may
    unset it), then an unprivileged uid sets it to `auid` -- what the kernel
    lets any task with an unset loginuid do -- and runs commands."""
    inner = ("echo %d > /proc/self/loginuid || exit 99; "
             "for i in 1 2 3; do /bin/echo %s-$i; done; /bin/true %s" % (auid, marker, marker))
    script = ("echo 4294967295 > /proc/self/loginuid; exec setpriv --reuid=%d --regid=%d --clear-groups -- "
              "/bin/sh -c '%s'" % (OUTSIDER_UID, OUTSIDER_UID, inner))
    r = subprocess.run(["setsid", "-w", "/bin/sh", "-c", script], capture_output=True, text=True, timeout=30)
    if r.returncode == 99:
        pytest.skip("this kernel does not let an unprivileged task set its unset loginuid "
                    "(AUDIT_FEATURE_LOGINUID_IMMUTABLE?): %s" % r.stderr.strip())
    assert r.returncode == 0, r.stderr
    assert "%s-3" % marker in r.stdout


def _service_auid(lab, name):
    with open(lab.path("containers", name, "service.json")) as f:
        return json.load(f)["audit_id"]


def test_records_of_a_process_outside_any_container_are_not_filed(lab_host):
    lab = lab_host
    lab.isc("run", "-d", "--name", "aud-svc", "busybox", "/bin/sh", "-c",
            "/bin/echo svc-started; sleep 600")
    wait_for(lambda: any(e.get("argv") == ["/bin/echo", "svc-started"]
                         for e in _records(lab, "--container", "aud-svc", "--type", "exec")),
             timeout=20, what="the service's own exec record (positive control)")
    auid = _service_auid(lab, "aud-svc")
    with open(lab.path("audit", "range.json")) as f:
        rng = json.load(f)
    assert rng["base"] <= auid < rng["base"] + rng["count"]
    unattributed = _collector_status().get("unattributed", 0)

    tag = uuid.uuid4().hex[:8]
    _outsider(OLD_RANGE_ID, "outsider-old-" + tag)             # the old range: a login's id
    _outsider(auid, "outsider-svc-" + tag)                     # the service's own audit id
    _outsider(rng["base"] + rng["count"] - 1, "outsider-free-" + tag)  # an id of the lab nobody has

    # records are routed in order: once a later record of the service is in
    # the trail, the outsider's were routed (or dropped) before it
    lab.isc("exec", "aud-svc", "/bin/echo", "after-" + tag)
    wait_for(lambda: any(e.get("argv") == ["/bin/echo", "after-" + tag]
                         for e in _records(lab, "--container", "aud-svc", "--type", "exec")),
             timeout=20, what="the service's later exec record")
    every = _records(lab)
    mine = [e for e in every if tag in json.dumps(e) and "after-" + tag not in json.dumps(e)]
    assert mine == [], "records of a process outside any container were filed:\n%s" % mine
    # the kernel did report them (the service's id and the free one are in
    # the rules' range): the collector saw them and refused them
    assert _collector_status().get("unattributed", 0) >= unattributed + 2 * 4
    assert lab.isc("audit", "verify", check=False).returncode == 0


def _init_in_private_etc(lab_name, files, *flags):
    """`isc --lab NAME init FLAGS` in a private mount namespace whose
    /etc/passwd and /etc/login.defs are the given texts (bind mounts; the
    machine's files are never touched)."""
    d = tempfile.mkdtemp(prefix="isc-etc-", dir="/tmp")
    binds = []
    for name, text in files.items():
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o644)
        binds.append("mount --bind %s /etc/%s" % (p, name))
    script = " && ".join(binds + ['exec "$@"'])
    try:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh",
                               ISC, "--lab", lab_name, "init"] + list(flags),
                              capture_output=True, text=True, timeout=60, env=_env())
    finally:
        subprocess.run(["rm", "-rf", d])


def _etc(name):
    with open("/etc/" + name) as f:
        return f.read()


@pytest.mark.parametrize("file,extra,message", [
    ("passwd", "mallory:x:4026531900:100::/nonexistent:/usr/sbin/nologin\n",
     "/etc/passwd: user mallory has uid 4026531900, inside the audit ids of isc's containers "
     "(4026531840-4043309055)"),
    ("login.defs", "UID_MAX 4100000000\n", "/etc/login.defs: UID_MAX is 4100000000"),
    ("login.defs", "SUB_UID_MAX 4294967294\n", "/etc/login.defs: SUB_UID_MAX is 4294967294"),
])
def test_init_refuses_users_in_the_container_range(file, extra, message):
    name = unique_name("aud")
    lab = LabHost(name)
    # positive control: the same files without the entry pass the check
    # (and the bad --subnet stops init before anything exists)
    r = _init_in_private_etc(name, {file: _etc(file) + "# nothing here\n"}, "--subnet", "bogus")
    assert r.returncode != 0 and "--subnet" in r.stderr and "audit ids" not in r.stderr, r.stderr
    r = _init_in_private_etc(name, {file: _etc(file) + extra}, "--subnet", "bogus")
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "--subnet" not in r.stderr, r.stderr
    assert not os.path.exists(lab.root) and not lab.leftovers(), lab.leftovers()


@pytest.fixture
def open_dir():
    """A directory any uid can traverse (the outsider reads a file there)."""
    d = tempfile.mkdtemp(prefix="isc-aud-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    subprocess.run(["rm", "-rf", d])


def test_sessions_opened_while_no_collector_ran(lab_host, open_dir):
    """A service started while the collector was not running (its LOGIN
    record was never seen) is adopted when the collector starts: a task of
    it is in a pid namespace of its own and runs with ids of isc's ranges.
    An unprivileged process outside any container that took the service's
    audit id meanwhile is not."""
    lab = lab_host
    tag = uuid.uuid4().hex[:8]
    go = os.path.join(open_dir, "go")
    r = subprocess.run([AUDITD, "--stop"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lab.isc("run", "-d", "--name", "aud-late", "busybox", "/bin/sh", "-c",
            "while [ ! -e /tmp/go ]; do sleep 0.1; done; /bin/echo adopted-%s; sleep 600" % tag)
    auid = _service_auid(lab, "aud-late")
    inner = ("echo %d > /proc/self/loginuid || exit 99; while [ ! -e %s ]; do sleep 0.1; done; "
             "/bin/echo outsider-late-%s" % (auid, go, tag))
    script = ("echo 4294967295 > /proc/self/loginuid; exec setpriv --reuid=%d --regid=%d --clear-groups -- "
              "/bin/sh -c '%s'" % (OUTSIDER_UID, OUTSIDER_UID, inner))
    outsider = subprocess.Popen(["setsid", "-w", "/bin/sh", "-c", script], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any(_loginuid_of(p) == auid for p in _children(outsider.pid)), timeout=10,
                 what="the outsider with the service's audit id")
        lab.isc("init")  # starts the collector again (idempotent otherwise)
        open(go, "w").close()
        out, err = outsider.communicate(timeout=30)
        assert outsider.returncode == 0, err
        assert "outsider-late-" + tag in out
    finally:
        if outsider.poll() is None:
            outsider.kill()
            outsider.wait()
    lab.isc("exec", "aud-late", "/bin/touch", "/tmp/go")
    wait_for(lambda: any(e.get("argv") == ["/bin/echo", "adopted-" + tag]
                         for e in _records(lab, "--container", "aud-late", "--type", "exec")),
             timeout=20, what="the adopted service's exec record")
    lab.isc("exec", "aud-late", "/bin/echo", "after-" + tag)
    wait_for(lambda: any(e.get("argv") == ["/bin/echo", "after-" + tag]
                         for e in _records(lab, "--container", "aud-late", "--type", "exec")),
             timeout=20, what="a later exec record")
    leaked = [e for e in _records(lab) if "outsider-late-" + tag in json.dumps(e)]
    assert leaked == [], leaked


def _children(pid):
    """pid and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def _loginuid_of(pid):
    try:
        with open("/proc/%d/loginuid" % pid) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None
