# SPDX-License-Identifier: GPL-2.0-or-later
"""Resource limits through cgroups.

Proves: a memory limit OOM-kills a process that allocates past it (and the
same allocation succeeds without the limit); a pids limit stops a fork
bomb (and the same fork count succeeds without it); the container runs in
its own cgroup, which holds the limit, and which is gone after delete.
"""
import os

import helpers

MB = 1024 * 1024


def test_memory_limit_oom_kills(runtime, bundle):
    b = bundle("memhog", "200")
    b.linux["resources"]["memory"] = {"limit": 32 * MB}
    r = runtime.run(b, timeout=60)
    assert r.returncode == 128 + 9, (r.returncode, r.stdout, r.stderr)
    assert "allocated 200 MB" not in r.stdout


def test_memhog_without_limit_succeeds(runtime, bundle):
    """Control: the same allocation completes without the limit."""
    out = runtime.run_ok(bundle("memhog", "200"), timeout=60)
    assert "allocated 200 MB" in out


def test_memory_limit_detached_state_stopped(runtime, bundle):
    b = bundle("memhog", "200")
    b.linux["resources"]["memory"] = {"limit": 32 * MB}
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped", timeout=30)
    assert "allocated 200 MB" not in b.output()


def test_pids_limit_stops_fork_bomb(runtime, bundle):
    b = bundle("forkbomb", "50")
    b.linux["resources"]["pids"] = {"limit": 10}
    kv = helpers.parse_kv(runtime.run_ok(b))
    assert int(kv["forked"]) < 10
    assert kv["errno"] == "EAGAIN"


def test_forkbomb_without_limit(runtime, bundle):
    """Control: 50 forks succeed without the pids limit."""
    kv = helpers.parse_kv(runtime.run_ok(bundle("forkbomb", "50")))
    assert kv["forked"] == "50"


def test_limits_written_to_container_cgroup(runtime, bundle):
    b = bundle("sleep", "60")
    b.linux["resources"]["pids"] = {"limit": 17}
    b.linux["resources"]["memory"] = {"limit": 48 * MB}
    assert runtime.create(b).returncode == 0
    dirs = helpers.cgroup_leftovers(b.cgroup_name)
    pids = [d for d in dirs if os.path.exists(os.path.join(d, "pids.max"))]
    mem = [d for d in dirs if os.path.exists(os.path.join(d, "memory.limit_in_bytes"))
           or os.path.exists(os.path.join(d, "memory.max"))]
    assert pids and mem, dirs
    with open(os.path.join(pids[0], "pids.max")) as f:
        assert f.read().strip() == "17"
    mfile = os.path.join(mem[0], "memory.limit_in_bytes")
    if not os.path.exists(mfile):
        mfile = os.path.join(mem[0], "memory.max")
    with open(mfile) as f:
        assert int(f.read().strip()) == 48 * MB
    pid = runtime.state(b.id)["pid"]
    with open(os.path.join(pids[0], "cgroup.procs")) as f:
        assert str(pid) in f.read().split()
    assert runtime.delete(b.id, force=True).returncode == 0
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
