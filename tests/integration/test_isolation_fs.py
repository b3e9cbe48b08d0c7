# SPDX-License-Identifier: GPL-2.0-or-later
"""Filesystem isolation: read-only root, masked and read-only paths, mounts.

Proves: writing to / fails with EROFS (and succeeds when root.readonly is
false, so the check can fail); /tmp stays writable; mount(2) fails with
EPERM; writes to /proc/sys and /sys fail with EROFS (and /proc/sys is
writable without readonlyPaths, proving readonlyPaths does it); masked
paths read empty (and are not empty unmasked); the rootfs is not the host's.
"""
import os

import helpers


def test_root_readonly(runtime, bundle):
    b = bundle("write", "/isc-probe", "x")
    r = runtime.run(b)
    assert r.stdout.strip() == "errno EROFS"
    assert r.returncode == 1
    assert not os.path.exists(os.path.join(b.rootfs, "isc-probe"))


def test_root_writable_when_asked(runtime, bundle):
    """Control for test_root_readonly: the same write works with readonly=false."""
    b = bundle("write", "/tmp/../isc-probe", "x")
    b.config["root"]["readonly"] = False
    os.chmod(b.rootfs, 0o777)
    assert runtime.run_ok(b).strip() == "ok"
    assert os.path.exists(os.path.join(b.rootfs, "isc-probe"))


def test_tmp_writable(runtime, bundle):
    assert runtime.run_ok(bundle("write", "/tmp/file", "x")).strip() == "ok"


def test_mount_denied(runtime, bundle):
    r = runtime.run(bundle("mount", "tmpfs", "/tmp", "tmpfs"))
    assert r.stdout.strip() == "errno EPERM"


def test_mount_denied_bind(runtime, bundle):
    r = runtime.run(bundle("mount", "/bin", "/tmp", "none"))
    assert r.stdout.strip() in ("errno EPERM", "errno ENODEV")


def test_proc_sys_readonly(runtime, bundle):
    r = runtime.run(bundle("write", "/proc/sys/kernel/hostname", "evil"))
    assert r.stdout.strip() == "errno EROFS"


def test_proc_sys_writable_without_readonly_paths(runtime, bundle):
    """Control: without a user namespace, uid 0 may write kernel.hostname of
    its own uts namespace; only readonlyPaths stops it."""
    b = bundle("write", "/proc/sys/kernel/hostname", "isc-changed")
    b.linux["readonlyPaths"] = []
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]
    assert runtime.run_ok(b).strip() == "ok"
    assert os.uname().nodename != "isc-changed"


def test_sys_readonly(runtime, bundle):
    with open("/sys/kernel/rcu_expedited") as f:
        current = f.read().strip()
    # the same value as the host's: harmless even if isolation broke
    r = runtime.run(bundle("write", "/sys/kernel/rcu_expedited", current))
    assert r.stdout.strip() == "errno EROFS"


def test_sys_create_readonly(runtime, bundle):
    r = runtime.run(bundle("write", "/sys/isc-probe", "x"))
    assert r.stdout.strip() == "errno EROFS"


def test_masked_file_reads_empty(runtime, bundle):
    # unmasked, container root (host uid 100000) gets EACCES on this 0400 file
    b = bundle("cat", "/proc/timer_list")
    assert runtime.run_ok(b) == ""


def test_masked_readable_file_reads_empty(runtime, bundle):
    b = bundle("cat", "/proc/cpuinfo")
    b.linux["maskedPaths"].append("/proc/cpuinfo")
    assert runtime.run_ok(b) == ""


def test_unmasked_file_has_content(runtime, bundle):
    """Control for the masked-path tests."""
    assert "processor" in runtime.run_ok(bundle("cat", "/proc/cpuinfo"))


def test_masked_dir_is_empty(runtime, bundle):
    assert os.listdir("/sys/firmware"), "host /sys/firmware is empty: test is void"
    assert runtime.run_ok(bundle("ls", "/sys/firmware")) == ""


def test_rootfs_is_bundle_rootfs(runtime, bundle):
    out = runtime.run_ok(bundle("ls", "/"))
    names = out.split()
    assert "bin" in names
    assert "usr" not in names and "home" not in names  # host dirs are not visible
    assert runtime.run_ok(bundle("ls", "/bin")).split() == ["payload"]


def test_old_root_not_reachable(runtime, bundle):
    """No mount of the container shows a host path outside the bundle."""
    out = runtime.run_ok(bundle("mountinfo"))
    for line in out.splitlines():
        mp = line.split()[4]
        assert not mp.startswith("/tmp/isc-it-"), line


def test_files_owned_by_host_root_are_nobody(runtime, bundle):
    out = runtime.run_ok(bundle("stat", "/bin/payload"))
    kv = helpers.parse_kv(out)
    assert kv["uid"] == "65534" and kv["gid"] == "65534"


def test_dev_has_null_and_no_host_devices(runtime, bundle):
    out = runtime.run_ok(bundle("ls", "/dev"))
    names = out.split()
    assert "null" in names and "zero" in names
    assert not any(n.startswith("vd") or n.startswith("sd") or n == "mem" for n in names)


def test_tmpfs_mount_is_noexec_nosuid(runtime, bundle):
    out = runtime.run_ok(bundle("mountinfo"))
    tmp = [ln for ln in out.splitlines() if ln.split()[4] == "/tmp"]
    assert tmp, out
    opts = tmp[-1].split()[5].split(",")
    assert "nosuid" in opts and "nodev" in opts
