# SPDX-License-Identifier: GPL-2.0-or-later
"""`isc init` and `isc deinit` killed in the middle (issue 14): the next
init or deinit finishes or undoes what the killed one left and says so.

The point is reached exactly: a test build of isc kills itself (SIGKILL) at
the step ISC_TEST_KILL_AT names (src/lib/host/host-intent.c,
isc_host_test_point).  What each killed command made is recorded in
R/.host-op before it is made; after the next command: the settings asked
for, one iscd (not the killed command's), no intent left, and at the end
nothing of the lab (labhost's teardown: state root, namespaces, mounts,
iscd; audit_guard: the kernel's audit state and rules).
"""
import os
import signal

import pytest

import labhost
from helpers import pid_alive
from labhost import bare_lab  # noqa: F401  (pytest fixture)

pytestmark = [pytest.mark.isc_only, pytest.mark.pass_sanitizers]

OTHER_SUBNET = "10.77.0.0/16"
DEFAULT_SUBNET = "10.213.0.0/16"


def killed_at(lab, point, *args):
    env = labhost._env()
    env["ISC_TEST_KILL_AT"] = point
    r = lab.isc(*args, check=False, env=env, timeout=120)
    assert r.returncode == -signal.SIGKILL, "%s not killed at %s (%d): %s" % (args, point, r.returncode, r.stderr)
    assert os.path.exists(lab.path(".host-op")), "no intent recorded before %s" % point
    return r


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def iscds_of(lab):
    """The iscd daemons of lab (not their helper children)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or not labhost.pid_is_iscd(int(d)):
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if lab.root.encode() in argv:
            out.append(int(d))
    return [p for p in out if ppid(p) not in out]


def settled(lab, subnet):
    assert lab.host_json()["subnet"] == subnet
    assert not os.path.exists(lab.path(".host-op"))
    pids = iscds_of(lab)
    assert pids == [lab.iscd_pid()], "iscds of %s: %s (pid file: %d)" % (lab.root, pids, lab.iscd_pid())
    return pids[0]


def test_killed_init_and_deinit_are_finished_or_undone(bare_lab):
    lab = bare_lab
    # a first init killed once iscd runs, then an init with other settings:
    # the killed one is undone (its iscd too), the new one made
    killed_at(lab, "init:iscd", "init")
    old_iscd = lab.iscd_pid()
    assert old_iscd > 0 and pid_alive(old_iscd)
    r = lab.init("--subnet", OTHER_SUBNET)
    assert "isc init: undoing the unfinished isc init of %s\n" % lab.root in r.stderr, r.stderr
    assert not pid_alive(old_iscd) or not labhost.pid_is_iscd(old_iscd)
    settled(lab, OTHER_SUBNET)

    # a deinit killed after the network went: the next init finishes it,
    # then makes the host again with its own settings
    killed_at(lab, "deinit:network", "deinit")
    assert iscds_of(lab) == []
    r = lab.init()
    assert "isc init: finishing the unfinished isc deinit of %s\n" % lab.root in r.stderr, r.stderr
    settled(lab, DEFAULT_SUBNET)

    # an init killed after the audit registration, on an existing host:
    # the next deinit undoes it; a deinit killed at its last step
    # (everything but R/.host-op removed): the next deinit finishes it
    killed_at(lab, "init:audit", "init")
    r = killed_at(lab, "deinit:remove", "deinit")
    assert r.stderr == "isc deinit: undoing the unfinished isc init of %s\n" % lab.root, r.stderr
    assert sorted(os.listdir(lab.root)) == [".host-op"]
    r = lab.deinit()
    assert r.stderr == "isc deinit: finishing the unfinished isc deinit of %s\n" % lab.root, r.stderr
    assert lab.leftovers() == []


def test_every_kill_point_is_undone_or_finished_by_deinit(bare_lab):
    """The points the first test does not reach: a first init killed there
    is undone by the next deinit, a deinit killed there finished by the
    next; nothing of the lab is left after each."""
    lab = bare_lab
    for point in ("init:layout", "init:network"):
        killed_at(lab, point, "init")
        r = lab.deinit()
        assert r.stderr == "isc deinit: undoing the unfinished isc init of %s\n" % lab.root, r.stderr
        assert lab.leftovers() == [] and iscds_of(lab) == [], point
    for point in ("deinit:iscd", "deinit:audit"):
        lab.init()
        killed_at(lab, point, "deinit")
        r = lab.deinit()
        # after deinit:audit the collector is gone: isc warns that this
        # deinit has no audit record, then says what it finishes
        assert r.stderr.endswith("\nisc deinit: finishing the unfinished isc deinit of %s\n" % lab.root) or \
            r.stderr == "isc deinit: finishing the unfinished isc deinit of %s\n" % lab.root, r.stderr
        assert lab.leftovers() == [] and iscds_of(lab) == [], point
