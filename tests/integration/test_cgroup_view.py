# SPDX-License-Identifier: GPL-2.0-or-later
"""What a container is charged to, and what it sees of its cgroups.

Proves, for isc-runtime (and runc, when ISC_TEST_RUNTIME names it):
- charged to: a container whose config mounts no cgroup filesystem is in a
  group of its own (the config's cgroupsPath below the caller's group) in
  every hierarchy that accounts or limits: memory, cpu, cpuacct, blkio,
  pids, devices, freezer; the memory it allocates is charged there, not to
  the caller; delete removes those groups (the bundle fixture checks that
  no group of that name is left in any hierarchy);
- sees: with a cgroup mount, with and without a cgroup namespace of its
  own, with and without a user namespace, the container's /sys/fs/cgroup
  shows its own groups: no sub-group (no other container's), the limits
  as set (memory.limit_in_bytes, pids.max), memory.usage_in_bytes rising
  by at least 32 MiB when it writes 34 MiB to a tmpfs (the shell's own
  small frees meanwhile are not counted on) and staying below its
  parent's (the test's own group, which holds it).

Cgroup v1 hierarchies only (this machine is hybrid); on a pure v2 host the
tests that read v1 files are skipped (the v1 hierarchy is not mounted).
"""
import os

import pytest

import helpers

MB = 1024 * 1024
ACCOUNTING = ["memory", "cpu", "cpuacct", "blkio", "pids", "devices", "freezer"]
V1 = os.path.isfile("/sys/fs/cgroup/memory/memory.usage_in_bytes")

needs_v1 = pytest.mark.skipif(not V1, reason="no cgroup v1 memory hierarchy mounted")


def proc_cgroup(pid):
    """{controller: path} from /proc/PID/cgroup (v1 lines; "" for the v2 line)."""
    out = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    return out


def read(path):
    with open(path) as f:
        return f.read().strip()


def host_dir(ctrl, path):
    return os.path.join("/sys/fs/cgroup", ctrl, path.lstrip("/"))


@needs_v1
def test_own_group_in_every_accounting_hierarchy(runtime, bundle):
    b = bundle("sleep", "60")
    assert not [m for m in b.config["mounts"] if m["type"].startswith("cgroup")]
    own = proc_cgroup(os.getpid())
    assert runtime.create(b).returncode == 0
    pid = runtime.state(b.id)["pid"]
    cg = proc_cgroup(pid)
    for ctrl in ACCOUNTING:
        want = os.path.join(own[ctrl], b.cgroup_name)
        assert cg[ctrl] == want, (ctrl, cg[ctrl], want, cg)
        assert str(pid) in read(os.path.join(host_dir(ctrl, want), "cgroup.procs")).split()
    assert runtime.delete(b.id, force=True).returncode == 0
    assert helpers.cgroup_leftovers(b.cgroup_name) == []


@needs_v1
def test_memory_charged_to_the_container(runtime, busybox_bundle):
    """32 MiB written to a tmpfs show in the container's own memory group;
    control: the group holds less than 8 MiB before."""
    b = busybox_bundle("sh", "-c", "dd if=/dev/zero of=/dev/shm/x bs=1M count=32 2>/dev/null; "
                       "echo written; sleep 60")
    own = proc_cgroup(os.getpid())
    assert runtime.create(b).returncode == 0
    pid = runtime.state(b.id)["pid"]
    mem = host_dir("memory", proc_cgroup(pid)["memory"])
    assert mem == host_dir("memory", os.path.join(own["memory"], b.cgroup_name))
    assert int(read(os.path.join(mem, "memory.usage_in_bytes"))) < 8 * MB
    assert runtime.start(b.id).returncode == 0
    helpers.wait_for(lambda: "written" in b.output(), timeout=30, what="the container's dd")
    usage = int(read(os.path.join(mem, "memory.usage_in_bytes")))
    parent = int(read(os.path.join(os.path.dirname(mem), "memory.usage_in_bytes")))
    assert usage >= 32 * MB, usage
    assert usage <= parent, (usage, parent)
    assert runtime.delete(b.id, force=True).returncode == 0


VIEW_SH = r"""
cd /sys/fs/cgroup || exit 9
echo subdirs=$(find memory pids freezer cpu -mindepth 1 -type d | wc -l)
echo limit=$(cat memory/memory.limit_in_bytes)
echo pids_max=$(cat pids/pids.max)
echo before=$(cat memory/memory.usage_in_bytes)
dd if=/dev/zero of=/dev/shm/x bs=1M count=34 2>/dev/null
echo after=$(cat memory/memory.usage_in_bytes)
echo ready
sleep 60
"""


@needs_v1
@pytest.mark.parametrize("cgroupns", [True, False], ids=["cgroupns", "no-cgroupns"])
@pytest.mark.parametrize("userns", [True, False], ids=["userns", "no-userns"])
def test_cgroup_mount_shows_own_groups(runtime, busybox_bundle, cgroupns, userns):
    # a sibling container under the same parent: it must not be listed
    sib = busybox_bundle("sleep", "60")
    assert runtime.create(sib).returncode == 0
    b = busybox_bundle("sh", "-c", VIEW_SH)
    b.config["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                               "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
    b.linux["resources"]["memory"] = {"limit": 96 * MB}
    b.linux["resources"]["pids"] = {"limit": 33}
    helpers.set_namespace(b.config, "cgroup", present=cgroupns)
    if not userns:
        helpers.set_namespace(b.config, "user", present=False)
        del b.linux["uidMappings"]
        del b.linux["gidMappings"]
    assert runtime.create(b).returncode == 0, b.errors()
    assert runtime.start(b.id).returncode == 0
    helpers.wait_for(lambda: "ready" in b.output(), timeout=30, what="the container's report")
    pid = runtime.state(b.id)["pid"]
    parent = int(read(os.path.join(os.path.dirname(
        host_dir("memory", proc_cgroup(pid)["memory"])), "memory.usage_in_bytes")))
    kv = helpers.parse_kv(b.output())
    assert kv["subdirs"] == "0", b.output()
    assert kv["limit"] == str(96 * MB), b.output()
    assert kv["pids_max"] == "33", b.output()
    before, after = int(kv["before"]), int(kv["after"])
    assert after - before >= 32 * MB, (before, after)
    assert after <= parent, (after, parent)
    for x in (b, sib):
        assert runtime.delete(x.id, force=True).returncode == 0
