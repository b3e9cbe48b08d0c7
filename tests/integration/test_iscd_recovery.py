# SPDX-License-Identifier: GPL-2.0-or-later
"""iscd killed in the middle of run, stop, restart and rm (issue 14, items 2
and 3): the next iscd finishes or undoes what the killed one left, says so
in its log, and supervision goes on.

The point is reached exactly: a test build of iscd stops itself (SIGSTOP)
at the step ISCD_TEST_STOP_AT names (src/lib/iscd/status.c, sv_test_point); the test
waits for the stopped state, kills iscd by its pid (SIGKILL), and starts a
new iscd with `isc init` (which starts iscd when none runs).  Then:
  - the service is in a consistent state: made and running (run, start,
    restart), stopped with desired "stopped" (stop), or removed (rm, a run
    killed before service.json was written);
  - nothing is left of what the killed op made and the recovery undid: one
    rootfs mount at most (the running container's), no runtime state, no
    network namespace, no cgroup of a stopped or removed service, no
    journal entry;
  - iscd's log names the recovered op;
  - supervision goes on: the container killed afterwards is restarted.
Runs in a lab with a network (labhost.py): the network namespace of item 2.
"""
import json
import os
import signal
import subprocess

import pytest

import helpers
import labhost
from helpers import pid_alive, wait_for
from labhost import initialised_lab

pytestmark = [pytest.mark.isc_only, pytest.mark.pass_sanitizers]

SLEEPER = ["busybox", "sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]


@pytest.fixture(scope="module")
def lab():
    with initialised_lab(prefix="rc") as lab:
        yield lab


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _log(lab):
    with open(lab.path("log", "iscd.log")) as f:
        return f.read()


def _restart_iscd(lab, stop_at=None):
    """Kill the running iscd (by pid) and start a new one, stopping at
    `stop_at` when given."""
    old = lab.iscd_pid()
    if old and pid_alive(old):
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: not pid_alive(old), what="iscd %d gone" % old)
    env = labhost._env()
    if stop_at:
        env["ISCD_TEST_STOP_AT"] = stop_at
    lab.isc("init", env=env)
    new = lab.iscd_pid()
    assert new and new != old and pid_alive(new)
    return new


def _kill_at(lab, point, *args):
    """Run `isc ARGS` against an iscd that stops at `point`; kill iscd
    there; start a new iscd.  Returns the interrupted command's result and
    the log text the new iscd wrote."""
    pid = _restart_iscd(lab, point)
    argv = [labhost.ISC, "--lab", lab.name] + list(args)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=labhost._env(), stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: _state(pid) == "T", timeout=60, what="iscd stopped at %s" % point)
        assert "test point %s: SIGSTOP" % point in _log(lab)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not pid_alive(pid), what="iscd gone")
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    before = len(_log(lab))
    _restart_iscd(lab)
    return p.returncode, err, _log(lab)[before:]


def _inspect(lab, name):
    return json.loads(lab.isc("inspect", name).stdout)[0]


def _cgroups(name):
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if top.count("/") > 7:
            dirs[:] = []
            continue
        found += [os.path.join(top, d) for d in dirs if d.startswith("isc-%s-" % name)]
    return found


def _assert_no_start_left(lab, name):
    """What a start makes, gone: runtime state, mounts, netns, cgroups."""
    assert not os.path.exists(lab.path("runtime", name)), "runtime state left"
    assert not labhost.mounts_under(lab.path("containers", name)), "mounts left"
    assert not os.path.exists(lab.path("net", "ns", name)), "network namespace left"
    assert not _cgroups(name), "cgroups left: %s" % _cgroups(name)
    assert not os.path.exists(lab.path("journal", name)), "journal entry left"


def _assert_removed(lab, name):
    _assert_no_start_left(lab, name)
    assert not os.path.exists(lab.path("containers", name)), "service folder left"
    assert name not in lab.isc("ps", "-a", "--format", "json").stdout


def _assert_supervised(lab, name):
    """Running, one rootfs mount, and a killed container is restarted."""
    wait_for(lambda: _inspect(lab, name)["status"]["state"] == "running", timeout=30, what="%s running" % name)
    st = _inspect(lab, name)["status"]
    assert st["desired"] == "running"
    assert labhost.mounts_under(lab.path("containers", name)) == [lab.path("containers", name, "rootfs")]
    assert os.path.exists(lab.path("net", "ns", name))
    assert not os.path.exists(lab.path("journal", name))
    os.kill(st["pid"], signal.SIGKILL)
    wait_for(lambda: (lambda s: s["state"] == "running" and s["pid"] not in (0, st["pid"]))(_inspect(lab, name)["status"]),
             timeout=30, what="%s restarted after its container was killed" % name)


def _rm(lab, name):
    lab.isc("rm", "-f", "--purge", name)
    _assert_removed(lab, name)


def test_run_killed_before_service_json_is_undone(lab):
    rc, err, log = _kill_at(lab, "run:dir", "run", "-d", "--name", "rc-a", "--restart", "always", *SLEEPER)
    assert rc != 0 and "rc-a" not in lab.isc("ps", "-a").stdout, err
    assert "rc-a: recovery: the run begun at" in log
    assert "rc-a: recovery: the interrupted run is undone: nothing of the service is left" in log
    _assert_removed(lab, "rc-a")
    # the name is free again, and the id range and address with it
    lab.isc("run", "-d", "--name", "rc-a", "--restart", "always", *SLEEPER)
    _assert_supervised(lab, "rc-a")
    _rm(lab, "rc-a")


@pytest.mark.parametrize("point", ["run:service", "start:mount", "start:net", "start:runtime"])
def test_run_killed_is_finished(lab, point):
    name = "rc-b" + point.split(":")[1][0]
    rc, err, log = _kill_at(lab, point, "run", "-d", "--name", name, "--restart", "always", *SLEEPER)
    assert rc != 0, err
    assert "%s: recovery: the run begun at" % name in log
    assert "%s: recovery: the interrupted run is finished: its pieces undone, starting it again" % name in log
    _assert_supervised(lab, name)
    # the start after the recovery did not trip over what the killed one
    # made (item 2: "network namespace ... exists")
    assert "exists" not in log, log
    lab.isc("stop", "-t", "1", name)  # its pid 1 ignores SIGTERM: no 10 s grace
    _assert_no_start_left(lab, name)
    lab.isc("start", name)
    _assert_supervised(lab, name)
    _rm(lab, name)


def test_stop_killed_is_finished_and_supervision_goes_on(lab):
    lab.isc("run", "-d", "--name", "rc-c", "--restart", "always", *SLEEPER)
    wait_for(lambda: _inspect(lab, "rc-c")["status"]["state"] == "running", what="rc-c running")
    pid = _inspect(lab, "rc-c")["status"]["pid"]
    rc, err, log = _kill_at(lab, "stop:signalled", "stop", "-t", "3", "rc-c")
    assert rc != 0, err
    assert "rc-c: recovery: the stop begun at" in log
    assert "rc-c: recovery: the interrupted stop goes on: SIGTERM again, SIGKILL in" in log
    # the container ignores SIGTERM: the recovered stop's SIGKILL ends it
    wait_for(lambda: _inspect(lab, "rc-c")["status"]["state"] == "stopped", timeout=30, what="rc-c stopped")
    assert not pid_alive(pid)
    st = _inspect(lab, "rc-c")["status"]
    assert st["desired"] == "stopped" and st["pid"] == 0
    _assert_no_start_left(lab, "rc-c")
    assert "rc-c: stop timeout: SIGKILL" in _log(lab)
    # item 3: start is not refused, and the service is supervised again
    lab.isc("start", "rc-c")
    _assert_supervised(lab, "rc-c")
    _rm(lab, "rc-c")


def test_restart_killed_is_finished(lab):
    lab.isc("run", "-d", "--name", "rc-d", "--restart", "always", *SLEEPER)
    wait_for(lambda: _inspect(lab, "rc-d")["status"]["state"] == "running", what="rc-d running")
    pid = _inspect(lab, "rc-d")["status"]["pid"]
    rc, err, log = _kill_at(lab, "stop:signalled", "restart", "-t", "2", "rc-d")
    assert rc != 0, err
    assert "rc-d: recovery: the interrupted restart goes on: SIGTERM again, SIGKILL in" in log
    wait_for(lambda: (lambda s: s["state"] == "running" and s["pid"] not in (0, pid))(_inspect(lab, "rc-d")["status"]),
             timeout=30, what="rc-d running again with a new container")
    assert not pid_alive(pid)
    _assert_supervised(lab, "rc-d")
    _rm(lab, "rc-d")


@pytest.mark.parametrize("point", ["rm:killed", "rm:teardown"])
def test_rm_killed_is_finished(lab, point):
    name = "rc-e" + point.split(":")[1][0]
    lab.isc("run", "-d", "--name", name, "--restart", "always", *SLEEPER)
    wait_for(lambda: _inspect(lab, name)["status"]["state"] == "running", what="%s running" % name)
    pid = _inspect(lab, name)["status"]["pid"]
    rc, err, log = _kill_at(lab, point, "rm", "-f", "--purge", name)
    assert rc != 0, err
    assert "%s: recovery: the rm begun at" % name in log
    assert ("%s: recovery: the interrupted rm is finished" % name) in log
    assert not pid_alive(pid)
    _assert_removed(lab, name)
    # supervision of the others goes on: a new service of the name runs
    lab.isc("run", "-d", "--name", name, "--restart", "always", *SLEEPER)
    _assert_supervised(lab, name)
    _rm(lab, name)
