# SPDX-License-Identifier: GPL-2.0-or-later
"""The image store: `isc image import|ls|verify|check|rm` (docs/images.md).

Drives build/src/isc/isc (ISC_TEST_ISC overrides) with --root in a temp
dir: imports from a busybox rootfs folder, a .tar.gz of it and an OCI
image layout built here by hand (two layers, whiteouts); same content gives
the same id; verify passes, then fails naming a tampered file; the quick
check refuses after that; unsafe archives are refused with nothing left
behind.
"""
import fcntl
import hashlib
import io
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import tarfile
import time

import pytest

import clients

import helpers

from helpers import REPO

ISC = os.path.abspath(os.environ.get("ISC_TEST_ISC", os.path.join(helpers.BUILD, "src", "isc", "isc")))
MKROOTFS = os.path.join(REPO, "scripts", "mkrootfs-busybox.sh")

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x10


def isc(root, *args, check=True):
    r = subprocess.run([ISC, "--root", root] + list(args), capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("isc %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def set_immutable(path, on):
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        buf = fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("i", 0))
        flags = struct.unpack("i", buf)[0]
        flags = flags | FS_IMMUTABLE_FL if on else flags & ~FS_IMMUTABLE_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags))
    finally:
        os.close(fd)


def rmtree_store(path):
    """The store is immutable: clear the flags before removing it."""
    if not os.path.exists(path):
        return
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames + ["."]:
            p = os.path.join(dirpath, n)
            if not os.path.islink(p) and (os.path.isdir(p) or os.path.isfile(p)):
                try:
                    set_immutable(p, False)
                except OSError:
                    pass
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    if not os.access(ISC, os.X_OK):
        pytest.exit("isc not built: %s" % ISC, returncode=3)
    d = str(tmp_path_factory.mktemp("img") / "busybox")
    r = subprocess.run(["sh", MKROOTFS, d], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        pytest.skip("mkrootfs-busybox.sh failed: %s" % r.stderr.strip())
    # a hardlink, a fifo and a set-uid file: kept as they are
    os.link(os.path.join(d, "etc", "passwd"), os.path.join(d, "etc", "passwd.link"))
    os.mkfifo(os.path.join(d, "run", "fifo"), 0o600)
    with open(os.path.join(d, "bin", "suid"), "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(os.path.join(d, "bin", "suid"), 0o4755)
    return d


@pytest.fixture
def root(tmp_path):
    r = str(tmp_path / "root")
    yield r
    rmtree_store(r)


def image_dir(root, image_id):
    return os.path.join(root, "images", "sha256", image_id)


def test_help_lists_everything():
    r = subprocess.run([ISC, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for word in ("--lab", "--root", "image import", "image ls", "image verify", "image rm", "image check"):
        assert word in r.stdout
    r = subprocess.run([ISC, "image", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for word in ("import NAME SOURCE", "ls [--format json]", "verify NAME", "rm [--force] NAME", "check NAME",
                 "prune "):
        assert word in r.stdout


def test_bad_lab_name():
    r = subprocess.run([ISC, "--lab", "../x", "image", "ls"], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ('isc: --lab / ISC_LAB: "../x" is not a lab name (letters, digits, . _ -, at most 64, '
                        "not starting with '.')\n")


def test_import_folder_and_tarball_same_id(rootfs, root, tmp_path):
    t0 = time.monotonic()
    r = isc(root, "image", "import", "bb", rootfs)
    elapsed = time.monotonic() - t0
    image_id = r.stdout.strip()
    assert len(image_id) == 64
    print("import of the busybox rootfs: %.3f s" % elapsed)
    d = image_dir(root, image_id)
    st = os.stat(os.path.join(root, "images"))
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert os.readlink(os.path.join(root, "images", "names", "bb")) == "../sha256/" + image_id
    # kept: hardlink, fifo, set-uid, symlinks
    rfs = os.path.join(d, "rootfs")
    assert os.stat(os.path.join(rfs, "etc/passwd")).st_ino == os.stat(os.path.join(rfs, "etc/passwd.link")).st_ino
    assert stat.S_ISFIFO(os.lstat(os.path.join(rfs, "run/fifo")).st_mode)
    assert stat.S_IMODE(os.stat(os.path.join(rfs, "bin/suid")).st_mode) == 0o4755
    assert os.readlink(os.path.join(rfs, "bin/sh")) == "busybox"
    # immutable: not even root can write without clearing the flag
    with pytest.raises(PermissionError):
        open(os.path.join(rfs, "etc/hostname"), "a")
    with pytest.raises(PermissionError):
        os.unlink(os.path.join(rfs, "bin/sh"))

    tgz = str(tmp_path / "bb.tar.gz")
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(rootfs, arcname=".")
    r2 = isc(root, "image", "import", "bb-tar", tgz)
    assert r2.stdout.strip() == image_id  # dedup: same content, same id
    assert os.listdir(os.path.join(root, "images", "sha256")) == [image_id]
    assert os.listdir(os.path.join(root, "images", "tmp")) == []

    ls = json.loads(isc(root, "image", "ls", "--format", "json").stdout)
    assert [i["name"] for i in ls] == ["bb", "bb-tar"]
    assert all(i["id"] == image_id and i["verification"] == "ok" for i in ls)
    assert ls[0]["size"] > 1000000 and ls[0]["files"] > 100
    table = isc(root, "image", "ls").stdout
    assert "bb-tar" in table and image_id[:12] in table

    t0 = time.monotonic()
    isc(root, "image", "check", "bb")
    print("quick check: %.4f s" % (time.monotonic() - t0))
    isc(root, "image", "verify", "bb")

    # rm: the content stays while another name uses it
    isc(root, "image", "rm", "bb")
    assert os.path.isdir(d)
    isc(root, "image", "rm", "bb-tar")
    assert not os.path.exists(d)
    assert not os.path.exists(os.path.join(root, "images", "state", image_id + ".json"))
    r = isc(root, "image", "rm", "bb-tar", check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image "bb-tar" does not exist: No such file or directory\n')


def test_tamper_verify_and_quick_check(rootfs, root):
    image_id = isc(root, "image", "import", "bb", rootfs).stdout.strip()
    rfs = os.path.join(image_dir(root, image_id), "rootfs")
    victim = os.path.join(rfs, "bin", "busybox")
    set_immutable(victim, False)
    with open(victim, "r+b") as f:
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 1]))
    # the quick check sees the change (ctime, flag) before any verify
    short = image_id[:12]
    r = isc(root, "image", "check", "bb", check=False)
    assert (r.returncode, r.stderr) == (1, "isc: image %s: REFUSED: /bin/busybox changed since import (ctime); "
                                        "run 'isc image verify'\n" % short)
    r = isc(root, "image", "verify", "bb", check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image "bb" (%s) is damaged: /bin/busybox: content differs '
                                        "from the manifest\n" % short)
    ls = json.loads(isc(root, "image", "ls", "--format", "json").stdout)
    assert ls[0]["verification"] == "failed" and "/bin/busybox" in ls[0]["verification_error"]
    r = isc(root, "image", "check", "bb", check=False)
    assert (r.returncode, r.stderr) == (1, "isc: image %s: REFUSED: its last full verification failed "
                                        "(/bin/busybox: content differs from the manifest); run 'isc image "
                                        "verify' after repairing or re-importing it\n" % short)
    # repaired (the same byte back): verify passes, re-seals, check passes
    with open(victim, "r+b") as f:
        f.seek(1000)
        f.write(b)
    isc(root, "image", "verify", "bb")
    isc(root, "image", "check", "bb")
    assert os.stat(victim).st_mode  # still there
    with pytest.raises(PermissionError):
        open(victim, "ab")


def test_ls_escapes_the_verification_error(rootfs, root, tmp_path):
    """review2 note: the verification error names an image file, whose name
    the image's author chose: `isc image ls` shows it escaped (escape.h),
    like the other text views, and the JSON form keeps no raw ESC either."""
    copy = str(tmp_path / "hostile")
    subprocess.run(["cp", "-a", rootfs, copy], check=True)  # it holds a FIFO
    evil = "x\x1b]0;owned\x07\x1b[2Jy"
    with open(os.path.join(copy, "etc", evil), "w") as f:
        f.write("a")
    image_id = isc(root, "image", "import", "bad", copy).stdout.strip()
    victim = os.path.join(image_dir(root, image_id), "rootfs", "etc", evil)
    set_immutable(victim, False)
    with open(victim, "w") as f:
        f.write("b")
    r = isc(root, "image", "verify", "bad", check=False)
    assert r.returncode == 1 and "content differs from the manifest" in r.stderr, r.stderr
    table = isc(root, "image", "ls").stdout
    shown = "/etc/x\\x1b]0;owned\\x07\\x1b[2Jy: content differs from the manifest"
    assert table.splitlines()[2] == "%24s   %s" % ("", shown), table
    assert "\x1b" not in table and "\x07" not in table
    text = isc(root, "image", "ls", "--format", "json").stdout
    assert "\x1b" not in text and "\x07" not in text
    assert json.loads(text)[0]["verification_error"] == "/etc/%s: content differs from the manifest" % evil


def test_verify_extra_and_missing_file(rootfs, root):
    image_id = isc(root, "image", "import", "bb", rootfs).stdout.strip()
    rfs = os.path.join(image_dir(root, image_id), "rootfs")
    set_immutable(os.path.join(rfs, "etc"), False)
    with open(os.path.join(rfs, "etc", "added"), "w") as f:
        f.write("x")
    r = isc(root, "image", "verify", "bb", check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image "bb" (%s) is damaged: /etc/added: not in the manifest\n'
                                        % image_id[:12])
    os.unlink(os.path.join(rfs, "etc", "added"))
    set_immutable(os.path.join(rfs, "etc", "hosts"), False)
    os.unlink(os.path.join(rfs, "etc", "hosts"))
    r = isc(root, "image", "verify", "bb", check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image "bb" (%s) is damaged: /etc/hosts: missing\n' % image_id[:12])


def _tar_add_bytes(tf, name, data=b"", mode=0o644, kind=tarfile.REGTYPE, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    ti.linkname = linkname
    tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _blob(layout, data, media_type):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}


def make_oci_layout(layout, layers):
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    config = _blob(layout, json.dumps({"architecture": "amd64", "os": "linux"}).encode(),
                   "application/vnd.oci.image.config.v1+json")
    descs = [_blob(layout, data, "application/vnd.oci.image.layer.v1.tar+gzip") for data in layers]
    manifest = _blob(layout, json.dumps({"schemaVersion": 2, "config": config, "layers": descs}).encode(),
                     "application/vnd.oci.image.manifest.v1+json")
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest]}, f)


def _gz_tar(fill):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        fill(tf)
    return buf.getvalue()


def test_oci_layout_with_whiteouts(rootfs, root, tmp_path):
    def layer1(tf):
        tf.add(rootfs, arcname=".")
        _tar_add_bytes(tf, "old", kind=tarfile.DIRTYPE, mode=0o755)
        _tar_add_bytes(tf, "old/x", b"lower")
        _tar_add_bytes(tf, "gone", b"bye")
        _tar_add_bytes(tf, "etc/motd", b"v1")

    def layer2(tf):
        _tar_add_bytes(tf, ".wh.gone")
        _tar_add_bytes(tf, "old/new", b"upper")      # before the opaque marker
        _tar_add_bytes(tf, "old/.wh..wh..opq")
        _tar_add_bytes(tf, "etc/motd", b"v2")        # replaced

    layout = str(tmp_path / "oci")
    make_oci_layout(layout, [_gz_tar(layer1), _gz_tar(layer2)])
    oci_id = isc(root, "image", "import", "oci", layout).stdout.strip()
    rfs = os.path.join(image_dir(root, oci_id), "rootfs")
    assert not os.path.exists(os.path.join(rfs, "gone"))
    assert not os.path.exists(os.path.join(rfs, "old", "x"))
    assert open(os.path.join(rfs, "old", "new")).read() == "upper"
    assert open(os.path.join(rfs, "etc", "motd")).read() == "v2"
    assert not any(n.startswith(".wh.") for _, ds, fs in os.walk(rfs) for n in ds + fs)

    # the same tree as a folder has the same id
    expect = str(tmp_path / "expect")
    subprocess.run(["cp", "-a", rootfs, expect], check=True)
    os.mkdir(os.path.join(expect, "old"), 0o755)
    os.chmod(os.path.join(expect, "old"), 0o755)
    for rel, data in (("old/new", "upper"), ("etc/motd", "v2")):
        with open(os.path.join(expect, rel), "w") as f:
            f.write(data)
        os.chmod(os.path.join(expect, rel), 0o644)
    os.chmod(expect, os.stat(rootfs).st_mode & 0o7777)
    assert isc(root, "image", "import", "expect", expect).stdout.strip() == oci_id
    isc(root, "image", "verify", "oci")

    # a layer whose content does not match its digest is refused
    blob = os.path.join(layout, "index.json")
    idx = json.load(open(blob))
    man_path = os.path.join(layout, "blobs", "sha256", idx["manifests"][0]["digest"].split(":")[1])
    man = json.load(open(man_path))
    layer = man["layers"][1]["digest"].split(":")[1]
    with open(os.path.join(layout, "blobs", "sha256", layer), "ab") as f:
        f.write(b"junk")
    with open(os.path.join(layout, "blobs", "sha256", layer), "rb") as f:
        actual = hashlib.sha256(f.read()).hexdigest()
    r = isc(root, "image", "import", "oci2", layout, check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image "oci2": import from OCI layout %s: layer 1: blob '
                                        "blobs/sha256/%s: its content hashes to sha256:%s\n"
                                        % (layout, layer, actual))
    assert os.listdir(os.path.join(root, "images", "tmp")) == []


def test_podman_oci_dir(root, tmp_path):
    """What `podman save --format oci-dir` writes imports and verifies: the
    image is one podman imported into a private store of the test's own
    (clients.PodmanEnv), never the machine's."""
    if shutil.which("podman") is None:
        pytest.skip("podman not installed (scripts/install-deps.sh)")
    env = clients.PodmanEnv()
    try:
        env.import_image()
        out = str(tmp_path / "oci-dir")
        env.ok("save", "--format", "oci-dir", "-o", out, env.image, timeout=300)
    finally:
        env.close()
    isc(root, "image", "import", "from-podman", out)
    isc(root, "image", "verify", "from-podman")
    # the store lists it under the name it was imported as
    listed = isc(root, "image", "ls").stdout
    assert "from-podman" in listed, listed


def _tree(top):
    """Every path under top with what would show a write: type and mode,
    owner, link count, size (directories: their entries, through the walk)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames + ["."]:
            p = os.path.normpath(os.path.join(dirpath, n))
            st = os.lstat(p)
            out[p] = (st.st_mode, st.st_uid, st.st_gid, st.st_nlink,
                      0 if stat.S_ISDIR(st.st_mode) else st.st_size)
    return out


def _unsafe_case(case, tmp, safe):
    """The tar entries of one case: the unsafe one, or (safe=True) the same
    shape without what is wrong.  Returns (fill, what the refusal says)."""
    up = "../" * 12 + tmp.lstrip("/")  # from anywhere in the store: tmp

    def fill(tf):
        _tar_add_bytes(tf, "ok", b"fine")
        _tar_add_bytes(tf, "x", kind=tarfile.DIRTYPE, mode=0o755)
        if case == "absolute":
            _tar_add_bytes(tf, "x/evil" if safe else tmp + "/x/evil", b"x")
        elif case == "dotdot":
            _tar_add_bytes(tf, "x/evil" if safe else "x/" + up + "/evil", b"x")
        elif case == "hardlink-dotdot":
            _tar_add_bytes(tf, "x/evil", kind=tarfile.LNKTYPE, linkname="ok" if safe else up + "/victim")
        else:  # hardlink-absolute
            _tar_add_bytes(tf, "x/evil", kind=tarfile.LNKTYPE, linkname="ok" if safe else tmp + "/victim")
    def shown(path):  # a message shows an entry's first 100 bytes (image-import.c)
        return path if len(path) <= 100 else path[:100] + "..."
    why = {
        "absolute": "%s: absolute path in an image" % shown(tmp + "/x/evil"),
        "dotdot": '%s: ".." in a path of an image' % shown("x/" + up + "/evil"),
        "hardlink-dotdot": 'x/evil: hard link target: %s: ".." in a path of an image' % shown(up + "/victim"),
        "hardlink-absolute": "x/evil: hard link target: %s: absolute path in an image" % shown(tmp + "/victim"),
    }[case]
    return fill, why + ": Operation not permitted"


@pytest.mark.parametrize("case", ["absolute", "dotdot", "hardlink-dotdot", "hardlink-absolute"])
def test_unsafe_tarballs_refused(root, tmp_path, case):
    """Each unsafe entry is refused with a message naming the entry and what
    is wrong with it; nothing changes anywhere under tmp_path (where every
    target of the case points: the store, the paths an escape would write,
    a victim file a hard link would share); and the same tarball without
    the fault (the control) imports, with the entry where it belongs."""
    tmp = str(tmp_path)
    victim = os.path.join(tmp, "victim")
    with open(victim, "w") as f:
        f.write("host file\n")
    good = os.path.join(tmp, "good.tar")
    fill, _ = _unsafe_case(case, tmp, safe=True)
    with open(good, "wb") as f:
        f.write(_gz_tar(fill))
    good_id = isc(root, "image", "import", "good", good).stdout.strip()
    rfs = os.path.join(image_dir(root, good_id), "rootfs")
    if case in ("absolute", "dotdot"):
        assert open(os.path.join(rfs, "x", "evil")).read() == "x"
    else:
        assert os.lstat(os.path.join(rfs, "x", "evil")).st_ino == os.lstat(os.path.join(rfs, "ok")).st_ino

    bad = os.path.join(tmp, "bad.tar")
    fill, why = _unsafe_case(case, tmp, safe=False)
    with open(bad, "wb") as f:
        f.write(_gz_tar(fill))
    before = _tree(tmp)
    r = isc(root, "image", "import", "bad", bad, check=False)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == 'isc: image "bad": import from tarball: %s: %s\n' % (bad, why)
    assert _tree(tmp) == before
    for p in (os.path.join(tmp, "x"), os.path.join(tmp, "evil"), "/evil", "/x/evil"):
        assert not os.path.lexists(p), p
    assert os.stat(victim).st_nlink == 1 and open(victim).read() == "host file\n"
    assert os.listdir(os.path.join(root, "images", "tmp")) == []
    assert os.listdir(os.path.join(root, "images", "names")) == ["good"]
    assert os.listdir(os.path.join(root, "images", "sha256")) == [good_id]


def _dev_entry(tf, name, kind, major, minor):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.devmajor, ti.devminor = major, minor
    tf.addfile(ti)


def _dropped_line(name, n, shown, more):
    return ('isc: image "%s": dropped %d device node%s and socket%s (the runtime makes /dev): %s%s\n'
            % (name, n, "" if n == 1 else "s", "" if n == 1 else "s", ", ".join(shown), ", ..." if more else ""))


def test_device_nodes_and_sockets_dropped(root, tmp_path):
    """Device nodes and sockets (every debootstrap rootfs has /dev/null and
    friends) are dropped with one summary line on stderr naming how many
    and the first three, from a tarball, an OCI layer and a folder; a
    dropped entry still replaces what an earlier entry or layer put at its
    path; the image holds no device node, verifies, and everything else
    (a fifo, a set-uid file) is kept.  The controls: the same content
    without the nodes imports with no line at all."""
    def fill(with_nodes):
        def f(tf):
            _tar_add_bytes(tf, "dev", kind=tarfile.DIRTYPE, mode=0o755)
            _tar_add_bytes(tf, "x", kind=tarfile.DIRTYPE, mode=0o755)
            _tar_add_bytes(tf, "x/replaced", b"a file, then a node at its path")
            _tar_add_bytes(tf, "bin-su", b"#!/bin/sh\n", mode=0o4755)
            _tar_add_bytes(tf, "x/fifo", kind=tarfile.FIFOTYPE, mode=0o600)
            if with_nodes:
                _dev_entry(tf, "dev/null", tarfile.CHRTYPE, 1, 3)
                _dev_entry(tf, "dev/sda", tarfile.BLKTYPE, 8, 0)
                _dev_entry(tf, "x/replaced", tarfile.CHRTYPE, 1, 5)
                _dev_entry(tf, "dev/zero", tarfile.CHRTYPE, 1, 5)
        return f

    def check(image_id):
        rfs = os.path.join(image_dir(root, image_id), "rootfs")
        assert os.listdir(os.path.join(rfs, "dev")) == []
        assert sorted(os.listdir(os.path.join(rfs, "x"))) == ["fifo"]
        assert stat.S_ISFIFO(os.lstat(os.path.join(rfs, "x", "fifo")).st_mode)
        assert os.lstat(os.path.join(rfs, "bin-su")).st_mode & 0o7777 == 0o4755

    good = _tar_file(tmp_path, "good.tar", fill(False))
    r = isc(root, "image", "import", "good", good)
    assert r.stderr == ""
    bad = _tar_file(tmp_path, "nodes.tar", fill(True))
    r = isc(root, "image", "import", "tar", bad)
    assert r.stderr == _dropped_line("tar", 4, ["/dev/null", "/dev/sda", "/x/replaced"], True)
    tar_id = r.stdout.strip()
    check(tar_id)
    isc(root, "image", "verify", "tar")

    # an OCI layer: a node over a file of the layer below
    layout = str(tmp_path / "oci")

    def lower(tf):
        _tar_add_bytes(tf, "dev", kind=tarfile.DIRTYPE, mode=0o755)
        _tar_add_bytes(tf, "x", kind=tarfile.DIRTYPE, mode=0o755)
        _tar_add_bytes(tf, "x/replaced", b"lower")

    def upper(tf):
        _dev_entry(tf, "x/replaced", tarfile.CHRTYPE, 1, 3)
        _dev_entry(tf, "dev/full", tarfile.CHRTYPE, 1, 7)
    make_oci_layout(layout, [_gz_tar(lower), _gz_tar(upper)])
    r = isc(root, "image", "import", "oci", layout)
    assert r.stderr == _dropped_line("oci", 2, ["/x/replaced", "/dev/full"], False)
    rfs = os.path.join(image_dir(root, r.stdout.strip()), "rootfs")
    assert os.listdir(os.path.join(rfs, "x")) == [] and os.listdir(os.path.join(rfs, "dev")) == []
    isc(root, "image", "verify", "oci")

    # a folder: a character device and a socket
    src = tmp_path / "folder"
    (src / "dev").mkdir(parents=True)
    (src / "run").mkdir()
    os.mknod(str(src / "dev" / "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(src / "run" / "s.sock"))
        r = isc(root, "image", "import", "folder", str(src))
    finally:
        sock.close()
    head = 'isc: image "folder": dropped 2 device nodes and sockets (the runtime makes /dev): '
    assert r.stderr.startswith(head) and r.stderr.endswith("\n"), r.stderr
    assert sorted(r.stderr[len(head):-1].split(", ")) == ["/dev/null", "/run/s.sock"]
    rfs = os.path.join(image_dir(root, r.stdout.strip()), "rootfs")
    assert os.listdir(os.path.join(rfs, "dev")) == [] and os.listdir(os.path.join(rfs, "run")) == []
    isc(root, "image", "verify", "folder")


@pytest.mark.parametrize("link", ["absolute", "dotdot"])
def test_symlink_cannot_redirect_writes(root, tmp_path, link):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = str(outside) if link == "absolute" else "../" * 12 + str(outside).lstrip("/")

    def fill(tf):
        _tar_add_bytes(tf, "esc", kind=tarfile.SYMTYPE, linkname=target)
        _tar_add_bytes(tf, "esc/planted", b"x")
    path = str(tmp_path / "sym.tar.gz")
    with open(path, "wb") as f:
        f.write(_gz_tar(fill))
    # the link resolves inside the new rootfs (openat2 RESOLVE_IN_ROOT),
    # where its target does not exist: refused, nothing written outside
    r = isc(root, "image", "import", "sym", path, check=False)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ('isc: image "sym": import from tarball: %s: esc/planted: its parent directory: '
                        'No such file or directory\n' % path)
    assert os.listdir(str(outside)) == []
    assert os.listdir(os.path.join(root, "images", "tmp")) == []
    assert os.listdir(os.path.join(root, "images", "names")) == []

    # the control: a link of the same shape to a directory inside the
    # image is followed there (".." stops at the image's root)
    def fill2(tf):
        _tar_add_bytes(tf, "real", kind=tarfile.DIRTYPE, mode=0o755)
        _tar_add_bytes(tf, "lnk", kind=tarfile.SYMTYPE, linkname="/real" if link == "absolute" else "../" * 12 + "real")
        _tar_add_bytes(tf, "lnk/f", b"x")
    with open(path, "wb") as f:
        f.write(_gz_tar(fill2))
    image_id = isc(root, "image", "import", "sym", path).stdout.strip()
    rfs = os.path.join(image_dir(root, image_id), "rootfs")
    assert os.path.isfile(os.path.join(rfs, "real", "f"))
    assert os.listdir(str(outside)) == []


def test_bad_sources_and_names(root, tmp_path):
    r = isc(root, "image", "import", "x", str(tmp_path / "nope"), check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image "x": source %s: No such file or directory\n'
                                        % (tmp_path / "nope"))
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not an archive" * 100)
    r = isc(root, "image", "import", "x", str(junk), check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image "x": import from tarball: %s: Unrecognized archive format: '
                                        "Invalid argument\n" % junk)
    r = isc(root, "image", "import", "../x", str(tmp_path), check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image name "../x": letters, digits and . _ : - only, starting '
                                        "with a letter or digit: Invalid argument\n")
    r = isc(root, "image", "verify", "missing", check=False)
    assert (r.returncode, r.stderr) == (1, 'isc: image "missing" does not exist: No such file or directory\n')
    # nothing was imported by any of them
    assert os.listdir(os.path.join(root, "images", "names")) == []
    assert os.listdir(os.path.join(root, "images", "tmp")) == []


def _store_empty(root):
    for sub in ("tmp", "names", "sha256"):
        assert os.listdir(os.path.join(root, "images", sub)) == [], sub


def _tar_file(tmp_path, name, fill):
    path = str(tmp_path / name)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        fill(tf)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return path


def test_long_and_deep_paths_refused_and_tmp_removed(root, tmp_path):
    """Issue 11 (11): a ~4 KB entry path overflowed the stack of `isc image
    import` (a recursive open_parent, a 4 KB frame per level) and left
    images/tmp/import-* behind.  Now a path is at most 4094 bytes and 256
    levels (docs/images.md), also where a symlink leads it, each refused
    naming the entry; just inside both limits imports; and a folder a
    crashed import left in tmp/ is removed by the next import."""
    def refused(name, entries, detail):
        path = _tar_file(tmp_path, name + ".tar", lambda tf: [fn(tf) for fn in entries])
        r = isc(root, "image", "import", name, path, check=False)
        assert (r.returncode, r.stderr) == (1, 'isc: image "%s": import from tarball: %s: %s\n' % (name, path, detail))
        _store_empty(root)

    def reg(p, data=b"x"):
        return lambda tf: _tar_add_bytes(tf, p, data)

    def sym(p, target):
        return lambda tf: _tar_add_bytes(tf, p, kind=tarfile.SYMTYPE, linkname=target)

    # 4201 bytes: over PATH_MAX (this one was already refused, by open_parent)
    long_path = "a/" * 2100 + "f"
    refused("long", [reg("ok"), reg(long_path)],
            "%s...: a path of 4201 bytes (an image allows 4094): File name too long" % long_path[:100])
    # 4001 bytes, 2001 levels: this one crashed (SIGSEGV) and left tmp/import-*
    deep_path = "a/" * 2000 + "f"
    refused("deep", [reg("ok"), reg(deep_path)],
            "%s...: a path 2001 levels deep (an image allows 256)" % deep_path[:100])
    refused("deep257", [reg("a/" * 256 + "f")],
            "%s...: a path 257 levels deep (an image allows 256)" % ("a/" * 50))
    # a short path through a symlink to 250 levels down lands deeper
    chain = "L/" + "b/" * 10 + "g"
    refused("chain", [reg("a/" * 250 + "f"), sym("L", "a/" * 249 + "a"), reg(chain)],
            "%s: through a symlink, lands more than 256 levels deep (an image allows 256)" % chain)

    # controls: exactly 4094 bytes, exactly 256 levels, 256 through the symlink
    at_len = "/".join(["x" * 250] * 16) + "/" + "y" * 78
    assert len(at_len) == 4094
    at_depth = "a/" * 255 + "f"
    path = _tar_file(tmp_path, "limits.tar", lambda tf: [
        reg(at_len, b"len")(tf), reg(at_depth, b"depth")(tf), sym("L", "a/" * 249 + "a")(tf),
        reg("L/" + "b/" * 5 + "g", b"via")(tf)])
    image_id = isc(root, "image", "import", "limits", path).stdout.strip()
    rfs = os.path.join(image_dir(root, image_id), "rootfs")
    rfd = os.open(rfs, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for rel, data in ((at_len, b"len"), (at_depth, b"depth"), ("a/" * 250 + "b/" * 5 + "g", b"via")):
            fd = os.open(rel, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=rfd)
            assert os.read(fd, 16) == data
            os.close(fd)
    finally:
        os.close(rfd)
    isc(root, "image", "verify", "limits")
    assert os.listdir(os.path.join(root, "images", "tmp")) == []

    # what a crashed import leaves (no lock on it) goes at the next import;
    # a folder an import in progress holds (its flock) stays
    tmp = os.path.join(root, "images", "tmp")
    os.makedirs(os.path.join(tmp, "import-1-dead", "rootfs", "etc"))
    os.makedirs(os.path.join(tmp, "import-2-live", "rootfs"))
    os.makedirs(os.path.join(tmp, "rm-other"))
    live = os.open(os.path.join(tmp, "import-2-live"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(live, fcntl.LOCK_EX)
        isc(root, "image", "import", "again", _tar_file(tmp_path, "small.tar", reg("ok")))
        assert sorted(os.listdir(tmp)) == ["import-2-live", "rm-other"]
    finally:
        os.close(live)
    isc(root, "image", "import", "again", _tar_file(tmp_path, "small.tar", reg("ok")))
    assert os.listdir(tmp) == ["rm-other"]


def test_oci_blob_not_a_regular_file(root, tmp_path):
    """Issue 11 (11): an OCI blob is opened once (O_NOFOLLOW, O_NONBLOCK,
    a regular file) and everything used of it is hashed as it is read
    through that one fd.  A fifo in place of a blob or of index.json used
    to block the import forever (open without O_NONBLOCK); a symlink is
    not followed."""
    def layer(tf):
        _tar_add_bytes(tf, "hello", b"world")
    layout = str(tmp_path / "oci")
    make_oci_layout(layout, [_gz_tar(layer)])
    idx = json.load(open(os.path.join(layout, "index.json")))
    blobs = os.path.join(layout, "blobs", "sha256")
    man = json.load(open(os.path.join(blobs, idx["manifests"][0]["digest"].split(":")[1])))
    hexd = man["layers"][0]["digest"].split(":")[1]
    good = open(os.path.join(blobs, hexd), "rb").read()
    # control: the layout imports
    image_id = isc(root, "image", "import", "ok", layout).stdout.strip()
    assert open(os.path.join(image_dir(root, image_id), "rootfs", "hello")).read() == "world"

    def refused(detail):
        r = subprocess.run([ISC, "--root", root, "image", "import", "bad", layout],
                           capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stderr) == (1, 'isc: image "bad": import from OCI layout %s: %s\n' % (layout, detail))
        assert os.listdir(os.path.join(root, "images", "tmp")) == []

    blob = os.path.join(blobs, hexd)
    os.unlink(blob)
    os.mkfifo(blob, 0o600)
    refused("layer 0: blobs/sha256/%s: not a regular file: Invalid argument" % hexd)
    os.unlink(blob)
    with open(str(tmp_path / "elsewhere"), "wb") as f:
        f.write(good)
    os.symlink(str(tmp_path / "elsewhere"), blob)
    refused("layer 0: open blobs/sha256/%s: Too many levels of symbolic links" % hexd)
    os.unlink(blob)
    with open(blob, "wb") as f:
        f.write(good)
    index = os.path.join(layout, "index.json")
    text = open(index).read()
    os.unlink(index)
    os.mkfifo(index, 0o600)
    refused("index.json: not a regular file: Invalid argument")
    os.unlink(index)
    with open(index, "w") as f:
        f.write(text)
    assert isc(root, "image", "import", "ok2", layout).stdout.strip() == image_id


def _fanotify_open_perm(path):
    """A fanotify group that holds every open of the file at `path` until
    answered (FAN_OPEN_PERM); None when the kernel has no fanotify
    permission events."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
    fan = libc.fanotify_init(0x04 | 0x01, os.O_RDONLY)  # FAN_CLASS_CONTENT | FAN_CLOEXEC
    if fan < 0:
        return None
    if libc.fanotify_mark(fan, 0x01, 0x00010000, -100, path.encode()) < 0:  # FAN_MARK_ADD, FAN_OPEN_PERM
        os.close(fan)
        return None
    return fan


def test_oci_blob_read_through_the_fd_it_was_hashed_through(root, tmp_path):
    """Issue 11 (11): a layer blob was hashed through one fd and opened
    again by its path for the import, so a blob replaced in between was
    imported unchecked.  fanotify holds the import's first open of the blob
    until the test has renamed another layer over that path (no timing
    involved): only the hashed one may be imported."""
    import select

    def layer(text):
        return _gz_tar(lambda tf: _tar_add_bytes(tf, "hello", text))
    layout = str(tmp_path / "oci")
    make_oci_layout(layout, [layer(b"world")])
    idx = json.load(open(os.path.join(layout, "index.json")))
    blobs = os.path.join(layout, "blobs", "sha256")
    man = json.load(open(os.path.join(blobs, idx["manifests"][0]["digest"].split(":")[1])))
    blob = os.path.join(blobs, man["layers"][0]["digest"].split(":")[1])
    evil = str(tmp_path / "evil")
    with open(evil, "wb") as f:
        f.write(layer(b"EVIL!"))
    fan = _fanotify_open_perm(blob)
    if fan is None:
        pytest.skip("no fanotify permission events (CONFIG_FANOTIFY_ACCESS_PERMISSIONS)")
    opens = 0
    try:
        p = subprocess.Popen([ISC, "--root", root, "image", "import", "swap", layout],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            if not select.select([fan], [], [], 0.2)[0]:
                continue
            buf = os.read(fan, 4096)
            off = 0
            while off + 24 <= len(buf):
                length, _, _, _, _, efd, _ = struct.unpack_from("IBBHQii", buf, off)
                if opens == 0:
                    os.rename(evil, blob)  # before the first open may go on
                opens += 1
                os.write(fan, struct.pack("iI", efd, 0x01))  # FAN_ALLOW
                os.close(efd)
                off += length
        out, err = p.communicate(timeout=60)
    finally:
        os.close(fan)
    assert opens == 1
    assert p.returncode == 0, err
    rfs = os.path.join(image_dir(root, out.strip()), "rootfs")
    assert open(os.path.join(rfs, "hello"), "rb").read() == b"world"
    # control: the swapped-in blob is what a new import sees, and refuses
    r = isc(root, "image", "import", "swap2", layout, check=False)
    assert r.returncode == 1 and "layer 0: blob blobs/sha256/" in r.stderr and "hashes to sha256:" in r.stderr
