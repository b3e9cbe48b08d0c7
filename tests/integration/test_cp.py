# SPDX-License-Identifier: GPL-2.0-or-later
"""isc cp (issue 16): files between the host and a running service.

One lab for the module, one service with a --tmpfs and a read-write volume.
Copied in: content, modes (setuid dropped), a tree with a link, owned by the
container's root (0:0 inside, its uid base on the host); copied out: the
same, owned by the caller.  Refused with their messages: a write into the
read-only root (positive controls: /persist, /tmp, the --tmpfs, the volume),
a read of /proc, a stopped or missing service, bad command lines.
The attacks (links out of the root, races, fifos) are attacks/test_cp_escape.py.
"""
import json
import os
import shutil
import stat
import tempfile

import pytest

from labhost import initialised_lab

pytestmark = [pytest.mark.isc_only, pytest.mark.pass_sanitizers]

NAME = "cpt"
ROFS = ("the container cannot write there (its root is read-only): copy into /persist, /tmp, /run, "
        "a read-write volume or a --tmpfs: Read-only file system")


@pytest.fixture(scope="module")
def lab():
    vol = tempfile.mkdtemp(prefix="isc-cp-vol-", dir="/tmp")
    os.chmod(vol, 0o777)  # the container's root writes it: so does isc cp, as that root
    try:
        with initialised_lab(prefix="cp") as lab:
            lab.isc("run", "-d", "--name", NAME, "--tmpfs", "/cache", "-v", "%s:/data" % vol,
                    "busybox", "sleep", "3600")
            lab.vol = vol
            yield lab
            lab.isc("rm", "-f", NAME, check=False)
    finally:
        shutil.rmtree(vol, ignore_errors=True)


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="isc-cp-t-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _sh(lab, script, name=NAME):
    return lab.isc("exec", name, "sh", "-c", script).stdout


def _uid_base(lab):
    with open(lab.path("containers", NAME, "service.json")) as f:
        return json.load(f)["uid_base"]


def _write(path, text, mode):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def test_file_in_and_out(lab, tmp):
    src = os.path.join(tmp, "conf")
    _write(src, "hello from the host\n", 0o640)
    lab.isc("cp", src, NAME + ":/persist/")
    assert _sh(lab, "stat -c '%a %u %g' /persist/conf; cat /persist/conf") == "640 0 0\nhello from the host\n"
    st = os.lstat(lab.path("containers", NAME, "persist", "conf"))
    base = _uid_base(lab)
    assert base > 0 and (st.st_uid, st.st_gid) == (base, base)
    # out again, under another name; owned by the caller
    out = os.path.join(tmp, "back")
    lab.isc("cp", NAME + ":/persist/conf", out)
    st = os.lstat(out)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 0, 0)
    with open(out) as f:
        assert f.read() == "hello from the host\n"
    # a file of the image (read-only root), into an existing directory
    lab.isc("cp", NAME + ":/bin/busybox", tmp)
    assert os.path.getsize(os.path.join(tmp, "busybox")) == int(_sh(lab, "stat -c %s /bin/busybox"))


def test_tree_in_and_out(lab, tmp):
    tree = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(tree, "sub"))
    _write(os.path.join(tree, "a"), "A", 0o600)
    _write(os.path.join(tree, "sub", "b"), "B", 0o755)
    _write(os.path.join(tree, "suid"), "S", 0o4755)
    os.symlink("a", os.path.join(tree, "link"))
    os.chmod(os.path.join(tree, "sub"), 0o750)
    lab.isc("cp", tree, NAME + ":/persist/t")
    got = _sh(lab, "cd /persist/t && for f in a sub sub/b suid link; do stat -c '%n %A %u:%g' $f; done; "
                   "readlink link; cat sub/b")
    assert got == ("a -rw------- 0:0\nsub drwxr-x--- 0:0\nsub/b -rwxr-xr-x 0:0\nsuid -rwxr-xr-x 0:0\n"
                   "link lrwxrwxrwx 0:0\na\nB")
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    lab.isc("cp", NAME + ":/persist/t", out)
    back = os.path.join(out, "t")
    assert sorted(os.listdir(back)) == ["a", "link", "sub", "suid"]
    assert os.readlink(os.path.join(back, "link")) == "a"
    assert stat.S_IMODE(os.lstat(os.path.join(back, "sub")).st_mode) == 0o750
    assert stat.S_IMODE(os.lstat(os.path.join(back, "suid")).st_mode) == 0o755
    with open(os.path.join(back, "sub", "b")) as f:
        assert f.read() == "B"


def test_writes_only_where_the_container_writes(lab, tmp):
    src = os.path.join(tmp, "f")
    _write(src, "x", 0o644)
    for dst in ("/etc/f", "/f", "/dev/f", "/proc/f", "/sys/f"):
        r = lab.isc("cp", src, NAME + ":" + dst, check=False)
        assert (r.returncode, r.stderr) == (1, "isc: %s:%s: %s\n" % (NAME, dst, ROFS)), dst
    # positive controls: everywhere it writes
    for d in ("/persist", "/tmp", "/run", "/cache", "/data"):
        lab.isc("cp", src, "%s:%s/f" % (NAME, d))
        assert _sh(lab, "cat %s/f" % d) == "x", d
    with open(os.path.join(lab.vol, "f")) as f:
        assert f.read() == "x"
    # a name the image holds on the read-only root is not replaced
    r = lab.isc("cp", src, NAME + ":/etc/passwd", check=False)
    assert r.returncode == 1 and "cannot write there" in r.stderr
    assert "root" in _sh(lab, "cat /etc/passwd")


def test_kernel_filesystems_are_not_read(lab, tmp):
    r = lab.isc("cp", NAME + ":/proc/1/environ", os.path.join(tmp, "env"), check=False)
    assert (r.returncode, r.stderr) == (
        1, "isc: %s:/proc/1/environ: in /proc, /sys or another kernel filesystem: not copied\n" % NAME)
    assert not os.path.lexists(os.path.join(tmp, "env"))
    lab.isc("cp", NAME + ":/etc/passwd", os.path.join(tmp, "passwd"))  # positive control
    assert os.path.getsize(os.path.join(tmp, "passwd")) > 0


def test_bad_command_lines(lab, tmp):
    r = lab.isc("cp", "a", "b", check=False)
    assert r.returncode == 2 and r.stderr.startswith(
        "isc cp: neither path is a container's: write one as NAME:PATH\n")
    r = lab.isc("cp", NAME + ":/a", NAME + ":/b", check=False)
    assert r.returncode == 2 and r.stderr.startswith("isc cp: both paths are a container's")
    r = lab.isc("cp", NAME + ":/etc/passwd", "-", check=False)
    assert r.returncode == 2 and r.stderr.startswith("isc cp: \"-\" (a tar stream) is not supported")
    r = lab.isc("cp", NAME + ":etc/passwd", tmp, check=False)
    assert (r.returncode, r.stderr) == (1, "isc: %s:etc/passwd: the container's path must be absolute\n" % NAME)
    r = lab.isc("cp", "nosuch:/etc/passwd", tmp, check=False)
    assert (r.returncode, r.stderr) == (1, "isc: no running service named nosuch (isc ps lists them)\n")
    r = lab.isc("cp", NAME + ":/nonexistent", tmp, check=False)
    assert (r.returncode, r.stderr) == (1, "isc: %s:/nonexistent: No such file or directory\n" % NAME)
    r = lab.isc("cp", os.path.join(tmp, "nonexistent"), NAME + ":/persist/", check=False)
    assert (r.returncode, r.stderr) == (1, "isc: %s/nonexistent: No such file or directory\n" % tmp)


def test_a_stopped_service_is_refused(lab, tmp):
    lab.isc("run", "-d", "--name", "cpstop", "busybox", "sleep", "3600")
    lab.isc("stop", "-t", "1", "cpstop")
    try:
        r = lab.isc("cp", "cpstop:/etc/passwd", tmp, check=False)
        assert r.returncode == 1
        assert r.stderr in ("isc: no running service named cpstop (isc ps lists them)\n",
                            "isc: cpstop is stopped: isc cp reaches its files through its running container\n")
    finally:
        lab.isc("rm", "-f", "cpstop", check=False)
