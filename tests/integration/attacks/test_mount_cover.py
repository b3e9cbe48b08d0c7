# SPDX-License-Identifier: GPL-2.0-or-later
"""A config mount stacked on a mount the runtime made, through an image
symlink (review 3, R1 and the "root cover" of its Info section):

  (a) image symlink /y -> /dev and a volume at "/y": the volume went on
      top of the container's /dev tmpfs, then the runtime (host root) made
      its device nodes (null, zero, ..., linux.devices) and symlinks in the
      volume's host directory, and the container's /dev was that volume;
  (b) image symlink /x -> / and a volume at "/x": the volume covered the
      whole root (the container ran on the volume, its /proc a fake).

A destination may resolve to the root of a mount made earlier only when it
names that mount ("/dev" for /dev: what every config does); the runtime
fills /dev only through the mount it made there.  Every bundle here has no
user namespace (the runtime as the host's root, as in the review)."""
import os
import stat

import pytest

import helpers

pytestmark = pytest.mark.no_leak_check


def _docker_like(b):
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]


def _volume(test_dir, name="vol"):
    vol = os.path.join(test_dir, name)
    os.makedirs(vol)
    os.chmod(vol, 0o755)
    return vol


def _is_null(path):
    st = os.stat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)


def _dev_bundle(bundle, test_dir, link):
    b = bundle("sleep", "600")
    _docker_like(b)
    b.linux["devices"] = [{"path": "/dev/isc-test-null", "type": "c", "major": 1, "minor": 3,
                           "fileMode": 0o666, "uid": 0, "gid": 0}]
    if link:
        os.symlink("/dev", os.path.join(b.rootfs, "y"))
    vol = _volume(test_dir)
    b.add_mount("/y", vol)
    return b, vol


@pytest.mark.isc_only
def test_volume_through_symlink_onto_dev_refused(runtime, bundle, test_dir):
    """(a): refused, the message names the volume, "/y" and /dev; the
    host directory stays empty (no device node, no symlink made in it)."""
    b, vol = _dev_bundle(bundle, test_dir, link=True)
    r = runtime.create(b)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert ("mount %s to /y: the destination resolves to the root of the mount at /dev "
            "(a symlink in the rootfs?): refused" % vol) in r.stderr, r.stderr
    assert os.listdir(vol) == []


def test_volume_at_y_control(runtime, bundle, test_dir):
    """Control for the above: /y a plain directory: created, the volume is
    at /y, /dev is the runtime's tmpfs with its nodes (the device of
    linux.devices too), and the host directory stays empty."""
    b, vol = _dev_bundle(bundle, test_dir, link=False)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    root = "/proc/%d/root" % runtime.state(b.id)["pid"]
    assert os.stat(root + "/y").st_ino == os.stat(vol).st_ino
    assert _is_null(root + "/dev/null") and _is_null(root + "/dev/isc-test-null")
    assert os.readlink(root + "/dev/ptmx") == "pts/ptmx"
    assert os.listdir(vol) == []


def _root_bundle(bundle, test_dir, link):
    b = bundle("sleep", "600")
    _docker_like(b)
    vol = _volume(test_dir)
    os.makedirs(os.path.join(vol, "bin"))
    with open(os.path.join(vol, "marker"), "w") as f:
        f.write("volume\n")
    if link:
        os.symlink("/", os.path.join(b.rootfs, "x"))
    b.add_mount("/x", vol)
    return b, vol


@pytest.mark.isc_only
def test_volume_through_symlink_onto_root_refused(runtime, bundle, test_dir):
    """(b): refused, the message names the volume, "/x" and the root; the
    host directory is as it was."""
    b, vol = _root_bundle(bundle, test_dir, link=True)
    r = runtime.create(b)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert ("mount %s to /x: the destination resolves to the root of the mount at / "
            "(a symlink in the rootfs?): refused" % vol) in r.stderr, r.stderr
    assert sorted(os.listdir(vol)) == ["bin", "marker"]


def test_volume_at_x_control(runtime, bundle, test_dir):
    """Control for the above: /x a plain directory: created, the volume is
    at /x, the root is the image's."""
    b, vol = _root_bundle(bundle, test_dir, link=False)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    root = "/proc/%d/root" % runtime.state(b.id)["pid"]
    with open(root + "/x/marker") as f:
        assert f.read() == "volume\n"
    assert not os.path.exists(root + "/marker")
    assert os.path.exists(root + "/bin/payload")
    assert sorted(os.listdir(vol)) == ["bin", "marker"]


def test_config_mounts_at_dev_and_below_kept(runtime, bundle, test_dir):
    """What podman and Docker do keeps working: a tmpfs at "/dev" itself
    (the config's, filled by the runtime), mounts at /dev/shm, /dev/mqueue
    and /dev/pts, and a second mount at the same destination (stacked on
    the first: the destination names it)."""
    b = bundle("sleep", "600")
    _docker_like(b)
    dests = [m["destination"] for m in b.config["mounts"]]
    assert {"/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"} <= set(dests), dests
    b.add_mount("/dev/shm", "tmpfs", "tmpfs", ["nosuid", "nodev", "size=96k"])
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    with open("/proc/%d/mountinfo" % pid) as f:
        mi = [ln.split() for ln in f]
    at = {}
    for f in mi:
        at.setdefault(f[4], []).append(f[f.index("-") + 1])
    assert at["/dev"] == ["tmpfs"] and at["/dev/pts"] == ["devpts"] and at["/dev/mqueue"] == ["mqueue"]
    assert at["/dev/shm"] == ["tmpfs", "tmpfs"]
    assert any(f[4] == "/dev/shm" and "size=96k" in f[-1] for f in mi)
    assert _is_null("/proc/%d/root/dev/null" % pid)
