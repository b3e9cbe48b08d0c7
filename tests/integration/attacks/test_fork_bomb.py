# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack (issue 11, item 11): a fork bomb in a container on the defaults.
`isc-runtime spec` ("the hardened default") and `isc run` set no pids
limit on 51b9795: a fork bomb ran until the host's pid space was gone.

Now the spec's config carries pids.limit 1024 and every `isc run` service
gets pids.limit 2048 unless --pids-limit says otherwise (docs/defaults.md);
the limit is in the container's pids cgroup and a fork bomb stops there.
Counts only, no timing."""
import json
import os

import pytest

import helpers
from labhost import lab_host  # noqa: F401  (fixture)

SPEC_LIMIT = 1024
RUN_LIMIT = 2048


def spec_bundle(runtime, bundle, *args):
    """A bundle whose config.json is exactly `isc-runtime spec`'s, with the
    payload as its process and the fixture's cgroup name (for the
    leftover check)."""
    b = bundle(*args)
    r = runtime("spec", "--bundle", b.path)
    assert r.returncode == 0, r.stderr
    with open(b.config_path) as f:
        b.config = json.load(f)
    assert b.config["root"]["path"] == "rootfs" and os.path.isdir(os.path.join(b.path, "rootfs"))
    b.config["process"]["args"] = ["/bin/payload"] + list(args)
    b.config["linux"]["cgroupsPath"] = b.cgroup_name
    return b


def pids_max_of(pid, name="pids.max"):
    """pids.max (or another file) of the pids cgroup of process `pid`, read
    from the host."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "pids" in ctrls.split(","):
                with open(os.path.join("/sys/fs/cgroup/pids", path.lstrip("/"), name)) as m:
                    return m.read().strip()
            if ctrls == "" and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # pure v2
                with open(os.path.join("/sys/fs/cgroup", path.lstrip("/"), name)) as m:
                    return m.read().strip()
    raise AssertionError("no pids cgroup for %d" % pid)


@pytest.mark.isc_only
def test_runtime_spec_bounds_a_fork_bomb(runtime, bundle):
    b = spec_bundle(runtime, bundle, "forkbomb", "1100")
    assert b.config["linux"]["resources"] == {"pids": {"limit": SPEC_LIMIT}}
    kv = helpers.parse_kv(runtime.run_ok(b))
    # the init counts too: 1023 children, then EAGAIN
    assert (kv["forked"], kv["errno"]) == (str(SPEC_LIMIT - 1), "EAGAIN"), kv


@pytest.mark.isc_only
def test_runtime_spec_limit_is_in_the_cgroup(runtime, bundle):
    b = spec_bundle(runtime, bundle, "sleep", "60")
    b.write()
    assert runtime.create(b).returncode == 0, b.errors()
    assert pids_max_of(runtime.state(b.id)["pid"]) == str(SPEC_LIMIT)
    assert runtime("delete", "--force", b.id).returncode == 0


@pytest.mark.isc_only
def test_fork_bomb_control_with_the_limit_raised(runtime, bundle):
    """Control: the same bomb with the spec's limit raised gets all its
    children: it was the pids limit that stopped it."""
    b = spec_bundle(runtime, bundle, "forkbomb", "1100")
    b.config["linux"]["resources"]["pids"]["limit"] = 1200
    kv = helpers.parse_kv(runtime.run_ok(b))
    assert (kv["forked"], kv["errno"]) == ("1100", "none"), kv


def test_isc_run_has_a_default_pids_limit(lab_host):
    lab = lab_host
    lab.isc("run", "-d", "--name", "dflt", "busybox", "sleep", "600")
    lab.isc("run", "-d", "--name", "asked", "--pids-limit", "50", "busybox", "sleep", "600")
    limits = {}
    for name in ("dflt", "asked"):
        cfg = json.loads(lab.isc("inspect", name).stdout)[0]["config"]
        limits[name] = cfg["linux"]["resources"]
        st = json.loads(lab.isc("inspect", name).stdout)[0]["status"]
        assert pids_max_of(st["pid"]) == str(limits[name]["pids"]["limit"])
    # only the pids limit is set without being asked
    assert limits == {"dflt": {"pids": {"limit": RUN_LIMIT}}, "asked": {"pids": {"limit": 50}}}
    # a fork bomb in the service stops at its limit: the shell is told it
    # cannot fork, and the group never holds more than 50
    # (the sleeps' stdio is not the exec's pipes, or isc exec would wait for them)
    bomb = "n=0; while [ $n -lt 80 ]; do sleep 300 </dev/null >/dev/null 2>&1 & n=$((n+1)); done"
    r = lab.isc("exec", "asked", "/bin/sh", "-c", bomb, check=False)
    assert "can't fork" in r.stderr, (r.stdout, r.stderr)
    st = json.loads(lab.isc("inspect", "asked").stdout)[0]["status"]
    current = int(pids_max_of(st["pid"], "pids.current"))
    assert 1 < current <= 50, current
    lab.isc("rm", "-f", "dflt", "asked")
