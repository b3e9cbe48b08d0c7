# SPDX-License-Identifier: GPL-2.0-or-later
"""Filesystem isolation: read-only root, masked and read-only paths, mounts.

Proves: writing to / fails with EROFS (and succeeds when root.readonly is
false, so the check can fail), and the root mount's own flags say ro
(rw when not asked); the runtime verifies after setup that what was asked
read-only is, and refuses to start otherwise (a writable mount laid over a
read-only one; control: without it the container starts and the write
fails with EROFS); /tmp stays writable; mount(2) and a real bind mount fail
with EPERM (and the bind works with CAP_SYS_ADMIN); writes to /proc/sys and
/sys fail with EROFS (and /proc/sys is writable without readonlyPaths,
proving readonlyPaths does it); masked paths read empty (and are not empty
unmasked); the rootfs is not the host's; a noexec,nosuid tmpfs refuses to
run a program (EACCES; it runs without noexec) and carries both flags.

The "/" case of the fail-closed check cannot be provoked from a config (the
remount of / comes after every config mount); it was checked by mutation:
without the remount, every container fails with "verify read-only /: mount
is writable"; without the remount and the check, test_root_readonly and
test_root_readonly_in_mountinfo fail.
"""
import os

import pytest

import helpers

pytestmark = pytest.mark.no_leak_check


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


def test_root_readonly_in_mountinfo(runtime, busybox_bundle):
    """The root mount itself is read-only (its per-mount flags in
    /proc/self/mountinfo say ro), not merely unwritable for this user, and
    a write there fails with EROFS."""
    b = busybox_bundle("/bin/sh", "-c", "/bin/payload write /isc-probe x; /bin/payload mountinfo")
    out = runtime.run_ok(b).splitlines()
    assert out[0] == "errno EROFS"
    root = [ln for ln in out[1:] if ln.split()[4] == "/"]
    assert len(root) == 1, out
    assert root[0].split()[5].split(",")[0] == "ro", root[0]


def test_root_rw_in_mountinfo_when_asked(runtime, busybox_bundle):
    """Control: with root.readonly false the root mount says rw."""
    b = busybox_bundle("/bin/payload", "mountinfo")
    b.config["root"]["readonly"] = False
    root = [ln for ln in runtime.run_ok(b).splitlines() if ln.split()[4] == "/"]
    assert root[0].split()[5].split(",")[0] == "rw", root


def _covered_ro_mount(b, cover):
    """A read-only bind at /mnt/a; with `cover`, a later writable bind at
    /mnt whose source has its own a/ (what the container sees at /mnt/a)."""
    for d in ("ro-src", "cover/a", "rootfs/mnt/a"):
        os.makedirs(os.path.join(b.path, d), exist_ok=True)
    # writable for the container's root but for the mount flags
    for d in ("ro-src", "cover/a"):
        os.chmod(os.path.join(b.path, d), 0o777)
    b.add_mount("/mnt/a", os.path.join(b.path, "ro-src"), options=["rbind", "ro"])
    if cover:
        b.add_mount("/mnt", os.path.join(b.path, "cover"), options=["rbind", "rw"])


@pytest.mark.isc_only
def test_readonly_verified_fails_closed(runtime, bundle):
    """After setup the runtime checks that everything asked read-only is
    read-only (src/lib/kernel/rootfs.c verify) and refuses to start otherwise: a
    writable mount laid over a read-only one makes /mnt/a writable."""
    b = bundle("write", "/mnt/a/probe", "x")
    _covered_ro_mount(b, cover=True)
    r = runtime.run(b)
    assert r.returncode != 0
    assert "verify read-only /mnt/a: mount is writable" in r.stderr, r.stderr
    assert b.output() == ""
    assert not os.path.exists(os.path.join(b.path, "cover", "a", "probe"))
    assert runtime.state(b.id, check=False).returncode != 0


def test_readonly_mount_not_covered_starts(runtime, bundle):
    """Control for test_readonly_verified_fails_closed: without the covering
    mount the container starts and /mnt/a refuses the write."""
    b = bundle("write", "/mnt/a/probe", "x")
    _covered_ro_mount(b, cover=False)
    r = runtime.run(b)
    assert (r.returncode, r.stdout) == (1, "errno EROFS\n"), r.stderr


def test_tmp_writable(runtime, bundle):
    assert runtime.run_ok(bundle("write", "/tmp/file", "x")).strip() == "ok"


def test_mount_denied(runtime, bundle):
    r = runtime.run(bundle("mount", "tmpfs", "/tmp", "tmpfs"))
    assert r.stdout.strip() == "errno EPERM"


def test_mount_denied_bind(runtime, bundle):
    """A real bind mount (MS_BIND) without CAP_SYS_ADMIN: EPERM."""
    r = runtime.run(bundle("bind", "/bin", "/tmp"))
    assert (r.returncode, r.stdout) == (1, "errno EPERM\n"), r.stderr


def test_mount_bind_allowed_with_sys_admin(runtime, bundle):
    """Control for test_mount_denied_bind: the same call works with
    CAP_SYS_ADMIN (over the container's own user and mount namespaces)."""
    b = bundle("bind", "/bin", "/tmp")
    helpers.set_caps(b.config, helpers.MINIMAL_CAPS + ["CAP_SYS_ADMIN"])
    assert runtime.run_ok(b) == "ok\n"


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


EXEC_FROM_TMP = "cp /bin/payload /tmp/p && chmod 755 /tmp/p && /bin/payload exec /tmp/p echo ran"


def _tmp_mount(b):
    return [m for m in b.config["mounts"] if m["destination"] == "/tmp"][0]


def test_tmpfs_mount_is_noexec_nosuid(runtime, busybox_bundle):
    """/tmp asked noexec,nosuid: a program copied there cannot run (EACCES)
    and the mount carries both flags."""
    b = busybox_bundle("/bin/sh", "-c", EXEC_FROM_TMP + "; /bin/payload mountinfo")
    opts = _tmp_mount(b)["options"]
    opts.append("noexec")
    assert "nosuid" in opts
    out = runtime.run_ok(b)
    assert out.splitlines()[0] == "errno EACCES", out
    tmp = [ln for ln in out.splitlines()[1:] if ln.split()[4] == "/tmp"]
    assert tmp, out
    flags = tmp[-1].split()[5].split(",")
    assert {"noexec", "nosuid", "nodev"} <= set(flags), tmp[-1]


def test_tmpfs_exec_allowed_without_noexec(runtime, busybox_bundle):
    """Control: without noexec, the same copy runs."""
    b = busybox_bundle("/bin/sh", "-c", EXEC_FROM_TMP)
    assert "noexec" not in _tmp_mount(b)["options"]
    assert runtime.run_ok(b) == "ran\n"


def test_mount_through_a_dangling_symlink_is_made_inside_the_root(runtime, bundle):
    """A mount whose destination is an image symlink to a path that does
    not exist: the runtime resolves it inside the root and makes the target
    there, as runc does (it was refused: "mount tmpfs to /trap: No such
    file or directory"); an absolute target stays inside the root."""
    b = bundle("write", "/trap/probe", "x")
    os.symlink("/nonexistent/deep", os.path.join(b.rootfs, "trap"))
    os.chmod(b.rootfs, 0o777)
    b.config["mounts"].append({"destination": "/trap", "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "nodev", "noexec"]})
    assert runtime.run_ok(b).strip() == "ok"
    made = os.path.join(b.rootfs, "nonexistent", "deep")
    assert os.path.isdir(made) and os.listdir(made) == []  # the probe went into the tmpfs
    assert not os.path.exists("/nonexistent")
