# SPDX-License-Identifier: GPL-2.0-or-later
"""The container's /proc faked from the image or a volume (review 2, N3):

  (a) runc CVE-2019-19921: an image symlink /data -> /proc/sys/kernel and a
      volume at "/data": the mount went where the symlink led, inside
      /proc, past the check of the destination's name;
  (b) the init (and every exec stage) read /proc/sys/kernel/cap_last_cap
      from the container's /proc: a "0" there left nearly every capability
      in the bounding set (no user namespace, no no_new_privs: the host's);
  (c) the init's wait for `start` opened "/proc/self/fd/N" by name after
      pivot_root: a fake file there let the program run before `start`.

Every bundle here has no user namespace and noNewPrivileges false (Docker's
and Kubernetes' defaults), as in the review's repro."""
import os
import shutil

import pytest

import helpers

pytestmark = pytest.mark.no_leak_check
ROOTFS_DIRS = ["bin", "proc", "sys", "dev", "tmp", "etc", "run", "root", "mnt"]

SYS_OPENAT = 257  # x86_64


def _docker_like(b):
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]
    b.process["noNewPrivileges"] = False


def _caps(out):
    return dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln)


def _hex(names):
    return helpers.cap_mask(names)


def _cap_volume(test_dir):
    vol = os.path.join(test_dir, "vol")
    os.makedirs(vol)
    os.chmod(vol, 0o755)
    with open(os.path.join(vol, "cap_last_cap"), "w") as f:
        f.write("0\n")
    return vol


# ---- (a) a volume through an image symlink into /proc ----------------------------------------

@pytest.mark.parametrize("target", ["/proc/sys/kernel", "/proc"])
def test_volume_through_symlink_into_proc_refused(runtime, bundle, test_dir, target):
    """CVE-2019-19921: the resolved destination is inside a procfs: refused,
    the message names the destination and where it led."""
    b = bundle("caps")
    _docker_like(b)
    os.symlink(target, os.path.join(b.rootfs, "data"))
    b.add_mount("/data", _cap_volume(test_dir), options=["rbind", "ro"])
    r = runtime.run(b)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "mount %s to /data: the destination resolves to %s, inside a proc filesystem" % (
        os.path.join(test_dir, "vol"), target) in r.stderr, r.stderr
    assert "CapBnd" not in r.stdout


def test_volume_symlink_into_proc_tmpfs_refused(runtime, bundle):
    """Not only binds: a tmpfs at a destination that resolves into /proc."""
    b = bundle("caps")
    _docker_like(b)
    os.symlink("/proc/sys", os.path.join(b.rootfs, "data"))
    b.add_mount("/data", "tmpfs", "tmpfs", ["size=64k"])
    r = runtime.run(b)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "mount tmpfs to /data: the destination resolves to /proc/sys, inside a proc filesystem" \
        in r.stderr, r.stderr


def test_volume_plain_directory_control(runtime, bundle, test_dir):
    """Control: /data a directory of the image: the volume is mounted, the
    program sees it, and has exactly the configured capabilities."""
    b = bundle("cat", "/data/cap_last_cap")
    _docker_like(b)
    b.add_mount("/data", _cap_volume(test_dir), options=["rbind", "ro"])
    assert runtime.run_ok(b) == "0\n"
    b2 = bundle("caps")
    _docker_like(b2)
    b2.add_mount("/data", os.path.join(test_dir, "vol"), options=["rbind", "ro"])
    caps = _caps(runtime.run_ok(b2))
    want = _hex(helpers.MINIMAL_CAPS)
    assert (caps["CapBnd"], caps["CapPrm"], caps["CapEff"]) == (want, want, want), caps


def test_lxcfs_file_in_proc_still_allowed(runtime, bundle, test_dir):
    """Control: a bind onto one of the lxcfs-style files of /proc (resolved
    inside the procfs, allowed by name) still works."""
    src = os.path.join(test_dir, "uptime")
    with open(src, "w") as f:
        f.write("12345.67 0.00\n")
    b = bundle("cat", "/proc/uptime")
    _docker_like(b)
    b.add_mount("/proc/uptime", src, options=["bind", "ro"])
    assert runtime.run_ok(b) == "12345.67 0.00\n"


# ---- (b) cap_last_cap from the container's /proc ---------------------------------------------

def test_exec_ignores_container_cap_last_cap(runtime, bundle):
    """The exec stage joins the container's mount namespace: a
    cap_last_cap of "0" the container put in its own /proc must not widen
    the bounding set of an exec'd process (it kept every capability of the
    runtime's, CAP_SYS_MODULE included)."""
    b = bundle("sleep", "600")
    _docker_like(b)
    caps = helpers.MINIMAL_CAPS + ["CAP_SYS_ADMIN"]
    helpers.set_caps(b.config, caps)
    assert runtime.run(b, detach=True).returncode == 0
    for args in (["mount", "tmpfs", "/proc/sys/kernel", "tmpfs"],
                 ["write", "/proc/sys/kernel/cap_last_cap", "0"]):
        r = runtime("exec", b.id, "/bin/payload", *args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    # positive control: the container's /proc now says "0"
    r = runtime("exec", b.id, "/bin/payload", "cat", "/proc/sys/kernel/cap_last_cap")
    assert (r.returncode, r.stdout) == (0, "0"), (r.stdout, r.stderr)
    r = runtime("exec", b.id, "/bin/payload", "caps")
    assert r.returncode == 0, r.stderr
    got = _caps(r.stdout)
    want = _hex(caps)
    assert (got["CapBnd"], got["CapPrm"], got["CapEff"]) == (want, want, want), got


def test_exec_caps_control(runtime, bundle):
    """Control for the above: the same exec without the fake file."""
    b = bundle("sleep", "600")
    _docker_like(b)
    caps = helpers.MINIMAL_CAPS + ["CAP_SYS_ADMIN"]
    helpers.set_caps(b.config, caps)
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime("exec", b.id, "/bin/payload", "caps")
    assert r.returncode == 0, r.stderr
    assert _caps(r.stdout)["CapBnd"] == _hex(caps)


def _fake_proc(d):
    """proc/self/fd/3..40 as plain files (what the init's open by name would
    write into instead of the exec fifo) and a marker."""
    fd = os.path.join(d, "proc", "self", "fd")
    os.makedirs(fd, exist_ok=True)
    for n in range(3, 41):
        open(os.path.join(fd, str(n)), "w").close()
    os.makedirs(os.path.join(d, "proc", "sys", "kernel"), exist_ok=True)
    with open(os.path.join(d, "proc", "sys", "kernel", "cap_last_cap"), "w") as f:
        f.write("0\n")
    with open(os.path.join(d, "proc", "fake-marker"), "w") as f:
        f.write("FAKE\n")


def _fake_untouched(d):
    fd = os.path.join(d, "proc", "self", "fd")
    return all(os.path.getsize(os.path.join(fd, n)) == 0 for n in os.listdir(fd))


# ---- (c) the wait for start ------------------------------------------------------------------

def _blocked_in_open(pid):
    try:
        with open("/proc/%d/syscall" % pid) as f:
            return f.read().split()[0] == str(SYS_OPENAT)
    except OSError:
        return False


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked"])
def test_no_procfs_refused(runtime, bundle, test_dir, masked):
    """No proc mount in the config and an image with /proc/self/fd/N as
    plain files: the create fails, naming the missing procfs, before the
    program could run (it used to run at once, before `start`)."""
    b = bundle("write", "/out/ran", "yes")
    _docker_like(b)
    b.config["root"]["readonly"] = False  # the fake files writable: the old init went on
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/proc"]
    if not masked:
        b.linux["maskedPaths"] = [p for p in b.linux["maskedPaths"] if not p.startswith("/proc")]
        b.linux["readonlyPaths"] = [p for p in b.linux["readonlyPaths"] if not p.startswith("/proc")]
    _fake_proc(b.rootfs)
    out = os.path.join(test_dir, "out")
    os.makedirs(out)
    b.add_mount("/out", out)
    r = runtime.create(b)
    assert r.returncode == 1, (r.stdout, r.stderr)
    what = "masked and read-only paths under /proc" if masked else "wait for start"
    assert "%s: no proc filesystem mounted at /proc" % what in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(out, "ran"))
    assert _fake_untouched(b.rootfs)


def _covered_root_bundle(bundle, test_dir):
    """A volume at "/": it covers the whole root after the proc mount, with
    a fake /proc of its own.  (The review's form, an image symlink /x -> /
    and a volume at /x, is refused at the mount since review 3 R1:
    test_mount_cover.py; the config's own "/" still reaches these checks.)"""
    b = bundle("cat", "/proc/fake-marker")
    _docker_like(b)
    b.config["root"]["readonly"] = False
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] == "/proc"]
    vol = os.path.join(test_dir, "rootvol")
    for d in ROOTFS_DIRS:
        os.makedirs(os.path.join(vol, d), exist_ok=True)
    os.chmod(vol, 0o755)
    shutil.copy(os.path.join(b.rootfs, "bin", "payload"), os.path.join(vol, "bin", "payload"))
    os.chmod(os.path.join(vol, "bin", "payload"), 0o755)
    _fake_proc(vol)
    b.add_mount("/", vol)
    return b, vol


def test_covered_root_masks_refused(runtime, bundle, test_dir):
    """With masked paths under /proc and "/proc" no longer the procfs the
    runtime mounted: refused, the masks would land on the fake."""
    b, vol = _covered_root_bundle(bundle, test_dir)
    b.linux["maskedPaths"] = ["/proc/kcore"]
    b.linux["readonlyPaths"] = []
    r = runtime.create(b)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "/proc is not the proc filesystem the runtime mounted there" in r.stderr, r.stderr
    assert _fake_untouched(vol)


def test_covered_root_waits_for_start(runtime, bundle, test_dir):
    """The fake /proc/self/fd/N is in the container's view (the program
    prints the fake's marker: positive control), yet the init waits for
    `start` on the real fifo, through the procfs it mounted."""
    b, vol = _covered_root_bundle(bundle, test_dir)
    b.linux["maskedPaths"] = []
    b.linux["readonlyPaths"] = []
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]

    def printed():
        with open(b.out_path) as f:
            return f.read()
    helpers.wait_for(lambda: _blocked_in_open(pid) or printed(), timeout=20,
                     what="the init blocked in open or the program's output")
    assert printed() == "", "the program ran before start"
    assert _blocked_in_open(pid)
    assert runtime.state(b.id)["status"] == "created"
    assert _fake_untouched(vol)
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: printed() == "FAKE\n", timeout=20, what="the program's output")
    assert _fake_untouched(vol)


def test_wait_for_start_control(runtime, bundle, test_dir):
    """Control: the usual config (proc at /proc): created, the program
    runs only at start."""
    b = bundle("write", "/out/ran", "yes")
    _docker_like(b)
    out = os.path.join(test_dir, "out")
    os.makedirs(out)
    b.add_mount("/out", out)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    ran = os.path.join(out, "ran")
    helpers.wait_for(lambda: _blocked_in_open(pid) or os.path.exists(ran), timeout=20,
                     what="the init blocked in open")
    assert not os.path.exists(ran)
    assert runtime.start(b.id).returncode == 0
    helpers.wait_for(lambda: os.path.exists(ran), timeout=20, what="the program's file")


def test_covered_root_init_ignores_cap_last_cap(runtime, bundle, test_dir):
    """(b) in the init: the fake /proc of the volume covering the root says
    cap_last_cap "0" (the program sees it: positive control); the program
    still gets exactly the configured capabilities."""
    b, vol = _covered_root_bundle(bundle, test_dir)
    b.linux["maskedPaths"] = []
    b.linux["readonlyPaths"] = []
    b.set_args("/bin/payload", "cat", "/proc/sys/kernel/cap_last_cap")
    assert runtime.run_ok(b) == "0\n"
    # the init applied the capabilities before it waits for start: its
    # sets, read on the host, are the program's (the program cannot read
    # /proc/self/status: its /proc is the fake)
    b2, _ = _covered_root_bundle(bundle, os.path.join(test_dir, "2"))
    b2.linux["maskedPaths"] = []
    b2.linux["readonlyPaths"] = []
    r = runtime.create(b2)
    assert r.returncode == 0, r.stderr
    with open("/proc/%d/status" % runtime.state(b2.id)["pid"]) as f:
        caps = dict(ln.split(":\t", 1) for ln in f.read().splitlines() if ln.startswith("Cap"))
    want = _hex(helpers.MINIMAL_CAPS)
    assert (caps["CapBnd"], caps["CapPrm"], caps["CapEff"]) == (want, want, want), caps
