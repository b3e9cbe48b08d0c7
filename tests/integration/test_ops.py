# SPDX-License-Identifier: GPL-2.0-or-later
"""ps, pause, resume and update.

Proves: ps lists the container's init (json for containerd's shim, and a
table); pause freezes the container (state "paused", a ticking process
stops ticking) and resume thaws it; pause/resume/ps refuse containers in
the wrong state; a paused container can be killed and force-deleted
without leftovers; update writes new limits into the container's cgroups
(flags, a resources file, flags overriding the file) and they take effect
(a fork bomb and a memory hog started after the update are limited), also
for a hierarchy the container was not in before; bad values are refused
with the flag named.
"""
import contextlib
import json
import os
import time

import pytest

import helpers

MB = 1024 * 1024


def _cgroup_file(b, name):
    """The container's cgroup directory that has file `name`."""
    for d in helpers.cgroup_leftovers(b.cgroup_name):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise AssertionError("no cgroup of %s has %s (dirs: %s)" % (
        b.id, name, helpers.cgroup_leftovers(b.cgroup_name)))


def _read(path):
    with open(path) as f:
        return f.read().strip()


def _started(runtime, b):
    assert runtime.create(b).returncode == 0, b.errors()
    assert runtime.start(b.id).returncode == 0
    return runtime.state(b.id)


# ---- ps -----------------------------------------------------------------

def test_ps_json_lists_init(runtime, bundle):
    b = bundle("sleep", "60")
    st = _started(runtime, b)
    r = runtime("ps", "--format", "json", b.id)
    assert r.returncode == 0, r.stderr
    pids = json.loads(r.stdout)
    assert isinstance(pids, list) and all(isinstance(p, int) for p in pids)
    assert st["pid"] in pids


@pytest.mark.isc_only  # runc passes through to ps(1) -ef
def test_ps_table(runtime, bundle):
    b = bundle("sleep", "60")
    st = _started(runtime, b)
    r = runtime("ps", b.id)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["PID", "CMD"]
    rows = {int(l.split()[0]): l.split(None, 1)[1] for l in lines[1:]}
    assert rows[st["pid"]] == "/bin/payload sleep 60"


def test_ps_created_container(runtime, bundle):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0
    st = runtime.state(b.id)
    r = runtime("ps", "--format", "json", b.id)
    assert r.returncode == 0, r.stderr
    assert st["pid"] in json.loads(r.stdout)


@pytest.mark.runc_skip("runc ps of a stopped container prints an empty list")
def test_ps_stopped_fails(runtime, bundle):
    b = bundle("true")
    _started(runtime, b)
    runtime.wait_status(b.id, "stopped")
    r = runtime("ps", "--format", "json", b.id)
    assert r.returncode != 0
    if runtime.is_isc:
        assert "is not running" in r.stderr


def test_ps_unknown_container(runtime):
    r = runtime("ps", "--format", "json", "no-such-container")
    assert r.returncode != 0


# ---- pause / resume ---------------------------------------------------------

def _ticks(b):
    return b.output().count("t\n")


def test_pause_resume(runtime, busybox_bundle):
    b = busybox_bundle("/bin/sh", "-c", "while :; do echo t; sleep 0.02; done")
    _started(runtime, b)
    helpers.wait_for(lambda: _ticks(b) > 3, what="ticks")
    assert runtime("pause", b.id).returncode == 0
    assert runtime.state(b.id)["status"] == "paused"
    freezer = [d for d in helpers.cgroup_leftovers(b.cgroup_name)
               if os.path.exists(os.path.join(d, "freezer.state"))]
    if freezer:
        assert _read(os.path.join(freezer[0], "freezer.state")) == "FROZEN"
    n = _ticks(b)
    time.sleep(0.4)
    assert _ticks(b) == n, "the container ticked while paused"
    # a second pause and the list both see it paused
    r = runtime("list", "--format", "json")
    assert [c["status"] for c in json.loads(r.stdout) if c["id"] == b.id] == ["paused"]
    assert runtime("resume", b.id).returncode == 0
    assert runtime.state(b.id)["status"] == "running"
    helpers.wait_for(lambda: _ticks(b) > n + 3, what="ticks after resume")


def test_pause_twice_and_resume_running_fail(runtime, bundle):
    b = bundle("sleep", "60")
    _started(runtime, b)
    r = runtime("resume", b.id)
    assert r.returncode != 0
    if runtime.is_isc:
        assert "container not paused" in r.stderr
    assert runtime("pause", b.id).returncode == 0
    assert runtime("pause", b.id).returncode != 0
    assert runtime("resume", b.id).returncode == 0
    assert runtime("resume", b.id).returncode != 0


def test_pause_stopped_fails(runtime, bundle):
    b = bundle("true")
    _started(runtime, b)
    runtime.wait_status(b.id, "stopped")
    r = runtime("pause", b.id)
    assert r.returncode != 0
    if runtime.is_isc:
        assert "container not running" in r.stderr
    assert runtime("resume", b.id).returncode != 0


def _frozen_state(b):
    """The container's freezer state (v1 freezer.state, or v2 cgroup.freeze
    as FROZEN/THAWED)."""
    for d in helpers.cgroup_leftovers(b.cgroup_name):
        if os.path.exists(os.path.join(d, "freezer.state")):
            return _read(os.path.join(d, "freezer.state"))
        if os.path.exists(os.path.join(d, "cgroup.freeze")):
            return "FROZEN" if _read(os.path.join(d, "cgroup.freeze")) == "1" else "THAWED"
    raise AssertionError("no freezer cgroup for %s" % b.id)


def _thaw(b):
    """Thaw the container's freezer group by hand (cleanup after a failure:
    frozen tasks cannot die, so neither teardown's kill nor rmdir would
    work)."""
    for d in helpers.cgroup_leftovers(b.cgroup_name):
        for name, value in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
            try:
                with open(os.path.join(d, name), "w") as f:
                    f.write(value)
            except OSError:
                pass


@contextlib.contextmanager
def _thawed_on_failure(b):
    try:
        yield
    except BaseException:
        _thaw(b)
        raise


def test_kill_paused_container(runtime, bundle):
    """SIGKILL to a paused container kills it: the runtime thaws the
    freezer after the kill (a frozen v1 task acts on SIGKILL only when
    thawed), so the init is gone without a resume."""
    b = bundle("sleep", "60")
    pid = _started(runtime, b)["pid"]
    assert runtime("pause", b.id).returncode == 0
    assert runtime.state(b.id)["status"] == "paused"
    assert _frozen_state(b) == "FROZEN"
    with _thawed_on_failure(b):
        r = runtime.kill(b.id, "KILL")
        assert r.returncode == 0, r.stderr
        helpers.wait_for(lambda: not helpers.pid_alive(pid), timeout=10,
                         what="the paused init %d to die after SIGKILL" % pid)
        runtime.wait_status(b.id, "stopped")
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    assert runtime.state(b.id, check=False).returncode != 0
    assert helpers.cgroup_leftovers(b.cgroup_name) == []


FAMILY = "sleep 60 & sleep 60 & sleep 60 & echo ready; wait"


def _family_pids(b):
    procs = set()
    for d in helpers.cgroup_leftovers(b.cgroup_name):
        p = os.path.join(d, "cgroup.procs")
        if os.path.exists(p):
            procs |= {int(x) for x in _read(p).split()}
    return procs


def test_kill_all_paused_container(runtime, busybox_bundle):
    b = busybox_bundle("/bin/sh", "-c", FAMILY)
    _started(runtime, b)
    helpers.wait_for(lambda: "ready" in b.output(), what="children")
    assert runtime("pause", b.id).returncode == 0
    assert runtime("kill", "--all", b.id, "KILL").returncode == 0
    runtime.wait_status(b.id, "stopped")


def test_delete_force_paused_container(runtime, busybox_bundle):
    """delete --force of a paused container (an init and three children)
    kills every process, thaws, and leaves no state, cgroup or process."""
    b = busybox_bundle("/bin/sh", "-c", FAMILY)
    _started(runtime, b)
    helpers.wait_for(lambda: "ready" in b.output(), what="children")
    pids = _family_pids(b)
    assert len(pids) == 4, pids
    assert runtime("pause", b.id).returncode == 0
    assert _frozen_state(b) == "FROZEN"
    with _thawed_on_failure(b):
        r = runtime.delete(b.id, force=True)
        assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert runtime.state(b.id, check=False).returncode != 0
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
    assert [p for p in pids if helpers.pid_alive(p)] == []
    assert helpers.state_leftovers(runtime.root, b.id) == []


# ---- update -----------------------------------------------------------------

def test_update_flags_written(runtime, bundle):
    b = bundle("sleep", "60")
    _started(runtime, b)
    r = runtime("update", "--memory", "64m", "--pids-limit", "20", b.id)
    assert r.returncode == 0, r.stderr
    assert _read(_cgroup_file(b, "pids.max")) == "20"
    mem = [d for d in helpers.cgroup_leftovers(b.cgroup_name)
           if os.path.exists(os.path.join(d, "memory.limit_in_bytes"))]
    if mem:
        assert int(_read(os.path.join(mem[0], "memory.limit_in_bytes"))) == 64 * MB
    else:
        assert int(_read(_cgroup_file(b, "memory.max"))) == 64 * MB


def test_update_new_hierarchy_moves_processes(runtime, busybox_bundle):
    """The container starts without a memory limit (isc then has no memory
    group); update --memory puts every process into one."""
    b = busybox_bundle("/bin/sh", "-c", FAMILY)
    st = _started(runtime, b)
    helpers.wait_for(lambda: "ready" in b.output(), what="children")
    r = runtime("update", "--memory", "100m", b.id)
    assert r.returncode == 0, r.stderr
    limit = _cgroup_file(b, "memory.limit_in_bytes")
    assert int(_read(limit)) == 100 * MB
    procs = {int(p) for p in _read(os.path.join(os.path.dirname(limit), "cgroup.procs")).split()}
    assert st["pid"] in procs and len(procs) == 4, procs
    assert runtime.state(b.id)["status"] == "running"


def test_update_resources_file_and_flag_override(runtime, bundle):
    b = bundle("sleep", "60")
    _started(runtime, b)
    res = os.path.join(b.path, "res.json")
    with open(res, "w") as f:
        json.dump({"memory": {"limit": 48 * MB}, "pids": {"limit": 30}}, f)
    r = runtime("update", "--resources", res, b.id)
    assert r.returncode == 0, r.stderr
    assert _read(_cgroup_file(b, "pids.max")) == "30"
    assert int(_read(_cgroup_file(b, "memory.limit_in_bytes"))) == 48 * MB
    if runtime.is_isc:  # runc ignores the flags when --resources is given
        r = runtime("update", "--resources", res, "--pids-limit", "25", b.id)
        assert r.returncode == 0, r.stderr
        assert _read(_cgroup_file(b, "pids.max")) == "25"


def test_update_resources_stdin(runtime, bundle):
    b = bundle("sleep", "60")
    _started(runtime, b)
    r = runtime("update", "--resources", "-", b.id, stdin=json.dumps({"pids": {"limit": 12}}))
    assert r.returncode == 0, r.stderr
    assert _read(_cgroup_file(b, "pids.max")) == "12"


def test_update_pids_limit_effective(runtime, bundle):
    """A fork bomb started after the update is held by the new limit."""
    b = bundle("forkbomb", "50")
    assert runtime.create(b).returncode == 0
    assert runtime("update", "--pids-limit", "10", b.id).returncode == 0
    assert runtime.start(b.id).returncode == 0
    helpers.wait_for(lambda: "forked=" in b.output(), what="forkbomb report")
    kv = helpers.parse_kv(b.output())
    assert int(kv["forked"]) < 10
    assert kv["errno"] == "EAGAIN"


def test_update_memory_limit_effective(runtime, bundle):
    b = bundle("memhog", "200")
    assert runtime.create(b).returncode == 0
    assert runtime("update", "--memory", "32m", b.id).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped", timeout=30)
    assert "allocated 200 MB" not in b.output()


@pytest.mark.parametrize("args", [
    ["--memory", "lots"],
    ["--memory", "64x"],
    ["--memory", "-5"],
    ["--pids-limit", "twenty"],
    ["--cpu-shares", "1.5"],
    ["--blkio-weight", "5000"],
    ["--cpuset-cpus", "0;1"],
])
def test_update_bad_flag_values(runtime, bundle, args):
    b = bundle("sleep", "60")
    _started(runtime, b)
    r = runtime("update", *args, b.id)
    assert r.returncode != 0
    if runtime.is_isc:
        assert args[0] in r.stderr, r.stderr


@pytest.mark.parametrize("text,field", [
    ('{"memory": {"limit": "64m"}}', "resources.memory.limit"),
    pytest.param('{"pids": {"limit": -7}}', "resources.pids.limit",
                 marks=pytest.mark.runc_skip("runc passes any negative pids limit as unlimited")),
    ('{"memory": ', "resources"),
])
def test_update_bad_resources_file(runtime, bundle, text, field):
    b = bundle("sleep", "60")
    _started(runtime, b)
    res = os.path.join(b.path, "res.json")
    with open(res, "w") as f:
        f.write(text)
    r = runtime("update", "--resources", res, b.id)
    assert r.returncode != 0
    if runtime.is_isc:
        assert field in r.stderr, r.stderr


def test_update_stopped_container_fails(runtime, bundle):
    b = bundle("true")
    _started(runtime, b)
    runtime.wait_status(b.id, "stopped")
    assert runtime("update", "--pids-limit", "10", b.id).returncode != 0


@pytest.mark.isc_only
def test_update_missing_resources_file(runtime, bundle):
    b = bundle("sleep", "60")
    _started(runtime, b)
    r = runtime("update", "--resources", os.path.join(b.path, "nope.json"), b.id)
    assert r.returncode != 0
    assert "nope.json" in r.stderr


def test_update_cpu_and_cpuset(runtime, bundle):
    b = bundle("sleep", "60")
    _started(runtime, b)
    r = runtime("update", "--cpu-share", "512", "--cpu-period", "100000", "--cpu-quota", "50000",
                "--cpuset-cpus", "0", b.id)
    assert r.returncode == 0, r.stderr
    assert _read(_cgroup_file(b, "cpu.shares")) == "512"
    assert _read(_cgroup_file(b, "cpu.cfs_quota_us")) == "50000"
    assert _read(_cgroup_file(b, "cpuset.cpus")) == "0"


def test_update_paused_container_stays_paused(runtime, bundle):
    b = bundle("sleep", "60")
    _started(runtime, b)
    assert runtime("pause", b.id).returncode == 0
    r = runtime("update", "--memory", "80m", "--pids-limit", "15", b.id)
    assert r.returncode == 0, r.stderr
    assert runtime.state(b.id)["status"] == "paused"
    assert _read(_cgroup_file(b, "pids.max")) == "15"
    assert int(_read(_cgroup_file(b, "memory.limit_in_bytes"))) == 80 * MB
    assert runtime("resume", b.id).returncode == 0
    assert runtime.state(b.id)["status"] == "running"
