"""Smaller config features: personality, rootfs propagation, the seccomp
cache's effect on a real start, and that a container never changes the
host's device nodes."""
import os
import stat

import pytest


def test_personality_linux32(runtime, busybox_bundle):
    b = busybox_bundle("/bin/uname", "-m")
    b.config["linux"]["personality"] = {"domain": "LINUX32"}
    assert runtime.run_ok(b).strip() in ("i686", "i386")


def test_personality_default_is_native(runtime, busybox_bundle):
    b = busybox_bundle("/bin/uname", "-m")
    assert runtime.run_ok(b).strip() == os.uname().machine


@pytest.mark.parametrize("prop", ["rprivate", "rslave"])
def test_rootfs_propagation_does_not_leak_mounts(runtime, bundle, prop):
    # a mount the container makes must never appear on the host
    b = bundle("true")
    b.config["linux"]["rootfsPropagation"] = prop
    before = open("/proc/self/mountinfo").read().count("\n")
    runtime.run_ok(b)
    after = open("/proc/self/mountinfo").read().count("\n")
    assert after == before


def test_host_device_nodes_untouched(runtime, bundle):
    # containers bind the host's /dev/null etc. in a user namespace: their
    # owner and mode on the host must never change
    nodes = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]
    before = {n: os.stat(n) for n in nodes}
    b = bundle("write", "/dev/null", "x")
    runtime.run_ok(b)
    for n in nodes:
        st = os.stat(n)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (before[n].st_uid, before[n].st_gid, stat.S_IMODE(before[n].st_mode)), n
        assert st.st_uid == 0, n


@pytest.mark.isc_only
@pytest.mark.parametrize("dest,text", [("/proc", "only a proc filesystem"),
                                       ("/proc/sys/kernel", "inside /proc")])
def test_bind_over_proc_refused(runtime, bundle, dest, text):
    b = bundle("true")
    b.config["mounts"].append({"destination": dest, "type": "bind", "source": "/tmp",
                               "options": ["rbind", "ro"]})
    r = runtime.run(b)
    assert r.returncode != 0
    assert text in r.stderr, r.stderr


def test_lxcfs_style_proc_file_bind_allowed(runtime, bundle):
    b = bundle("cat", "/proc/uptime")
    # in the bundle: the container's root (host uid 100000) can reach it
    src = os.path.join(b.path, "uptime")
    with open(src, "w") as f:
        f.write("12345.00 0.00\n")
    os.chmod(src, 0o644)
    b.config["mounts"].append({"destination": "/proc/uptime", "type": "bind", "source": str(src),
                               "options": ["bind", "ro"]})
    assert runtime.run_ok(b).startswith("12345.00")


@pytest.mark.isc_only
@pytest.mark.parametrize("flags", [["--systemd-cgroup"], ["--cgroup-manager", "systemd"]])
def test_systemd_cgroup_manager_refused_clearly(runtime, flags):
    r = runtime(*flags, "list")
    assert r.returncode != 0
    if not os.path.exists("/run/systemd/system"):
        assert "systemd is not running" in r.stderr, r.stderr


@pytest.mark.isc_only
def test_unknown_cgroup_manager_refused(runtime):
    r = runtime("--cgroup-manager", "bogus", "list")
    assert r.returncode != 0
    assert "--cgroup-manager" in r.stderr


@pytest.mark.isc_only
@pytest.mark.parametrize("manager", ["cgroupfs", "disabled"])
def test_cgroup_manager_disabled_runs_without_cgroups(runtime, bundle, manager):
    # podman --cgroups=disabled passes --cgroup-manager disabled
    b = bundle("sleep", "30")
    b.write()
    r = runtime("--cgroup-manager", manager, "create", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    rel = b.config["linux"]["cgroupsPath"].strip("/")
    own = [l.split(":", 2)[2] for l in open("/proc/self/cgroup").read().splitlines()
           if l.split(":")[1] == "pids"][0]
    group = os.path.join("/sys/fs/cgroup/pids", own.strip("/"), rel)
    assert os.path.isdir(group) == (manager == "cgroupfs"), group
    assert runtime("delete", "--force", b.id).returncode == 0
