# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack (issue 11, item 5): the sd_notify proxy.  `start` forwards to the
caller's NOTIFY_SOCKET as root, and the caller (systemd) believes it:
MAINPID= chooses the process systemd watches and later kills,
EXTEND_TIMEOUT_USEC= holds off its timeouts, STATUS= is shown to the
operator, FDSTORE=1 hands it fds, BARRIER=1 synchronises with it.  On
51b9795 every datagram of the container reached the caller as it was.

Now the caller receives exactly one datagram, written by the runtime:
READY=1 and the MAINPID of the container's init as the caller sees it;
no fd, nothing the container wrote.

Review 2, N4 (F5 before it): the notify directory <state>/<id>/notify was
bound read-write at /run/isc-notify (or /dev/.isc-notify); without a user
namespace the container's root owned it: it filled the host's /run, made
`start` fail with a mkdir of notify.sock, and made every `delete` fail
("Directory not empty"), so the id was never freed.  Now the bind is
read-only (EROFS for every way to write there, before and after start),
and delete empties the state directory by fd whatever is in it, without
following a symlink or entering a mount."""
import array
import errno
import os
import resource
import socket
import stat
import subprocess

import helpers
import pytest
from conftest import install

pytestmark = pytest.mark.isc_only

EVIL = ["MAINPID=1", "STATUS=evil", "EXTEND_TIMEOUT_USEC=999999999", "BARRIER=1",
        "FDSTORE=1\nFDNAME=evil", "MAINPID=1\nSTATUS=evil\nREADY=1"]


@pytest.fixture
def notify_sock(test_dir):
    path = os.path.join(test_dir, "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    yield path, s
    s.close()


def _drain(s):
    """Every datagram queued now, with the fds that came with it.  start
    returns only after the proxy is done: all it sent is queued."""
    got = []
    fds_size = socket.CMSG_SPACE(16 * array.array("i").itemsize)
    while True:
        try:
            data, anc, flags, _ = s.recvmsg(65536, fds_size, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return got
        fds = []
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(payload[:len(payload) - len(payload) % a.itemsize])
                fds += list(a)
        for fd in fds:
            os.close(fd)
        got.append((data.decode(), len(fds)))


def test_only_ready_and_the_runtimes_mainpid_reach_the_caller(runtime, bundle, notify_sock):
    path, s = notify_sock
    # notify MSG DELAY MSG...: one datagram per argument, in this order
    b = bundle("notify", EVIL[0], "0", *EVIL[1:])
    b.write()
    env = {"NOTIFY_SOCKET": path}
    r = runtime("create", "--bundle", b.path, b.id, env=env)
    assert r.returncode == 0, r.stderr
    r = runtime("start", b.id, env=env)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    assert pid > 1
    got = _drain(s)
    assert got == [("READY=1\nMAINPID=%d\n" % pid, 0)], got
    assert runtime("delete", "--force", b.id).returncode == 0



# ---- N4: the notify directory is the host's, not the container's ----------

DIR_OPS = ["CREATE", "UNLINK", "MKDIR", "RENAME", "BIND", "SYMLINK", "MKFIFO", "CHMOD"]


def _no_userns(b):
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]


def _dir_write(runtime, cid, where):
    """The probe's dir-write in the container: {op: "ok" or an errno}."""
    r = runtime("exec", cid, "/bin/probe", "dir-write", where, "notify.sock")
    assert r.returncode == 0, r.stderr
    got = {}
    for line in r.stdout.splitlines():
        op, _, rest = line.partition(" ")
        got[op.replace("-ERR", "")] = "ok" if rest == "ok" else int(rest)
    assert list(got) == DIR_OPS, r.stdout
    return got


def _notify_service(runtime, bundle, probe, path, run_tmpfs=False):
    """A created container without a user namespace whose service says
    READY=1; returns it and where it sees its notify directory."""
    b = bundle("notify", "READY=1")
    _no_userns(b)
    if run_tmpfs:
        b.add_mount("/run", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=755", "size=1m"])
    install(b.rootfs, probe, "probe")
    b.write()
    r = runtime("create", "--bundle", b.path, b.id, env={"NOTIFY_SOCKET": path})
    assert r.returncode == 0, r.stderr
    return b, "/run/isc-notify" if run_tmpfs else "/dev/.isc-notify"


@pytest.mark.parametrize("run_tmpfs", [False, True], ids=["dev", "run"])
def test_container_cannot_write_the_notify_dir(runtime, bundle, probe, notify_sock, run_tmpfs):
    path, s = notify_sock
    b, where = _notify_service(runtime, bundle, probe, path, run_tmpfs)
    host_dir = os.path.join(runtime.root, b.id, "notify")
    # positive control: the probe puts all of it where the container may write
    assert _dir_write(runtime, b.id, "/tmp") == {op: "ok" for op in DIR_OPS}
    # before start: nothing, the squats on the socket's name (a folder, a
    # socket of the container's) included
    assert _dir_write(runtime, b.id, where) == {op: errno.EROFS for op in DIR_OPS}
    assert os.listdir(host_dir) == []
    r = runtime("start", b.id, env={"NOTIFY_SOCKET": path})
    assert r.returncode == 0, r.stderr
    # the service's READY=1 came through its socket
    assert _drain(s) == [("READY=1\nMAINPID=%d\n" % runtime.state(b.id)["pid"], 0)]
    st = os.lstat(os.path.join(host_dir, "notify.sock"))
    assert stat.S_ISSOCK(st.st_mode) and (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o777)
    # after start: the socket is there (EEXIST; EADDRINUSE for a bind),
    # nothing else can be, and it cannot be renamed or replaced
    want = {op: errno.EROFS for op in DIR_OPS}
    want.update(MKDIR=errno.EEXIST, BIND=errno.EADDRINUSE)
    assert _dir_write(runtime, b.id, where) == want
    assert os.listdir(host_dir) == ["notify.sock"]
    r = runtime("delete", "--force", b.id)
    assert (r.returncode, r.stderr) == (0, "")
    assert not os.path.lexists(os.path.join(runtime.root, b.id))


def _deep_chain(top, depth):
    """top/d/d/.../d/leaf, `depth` levels."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    os.close(fd)


def _delete_with_few_fds(runtime, cid, nofile=64):
    """delete --force with RLIMIT_NOFILE `nofile`: a walk that kept one fd
    per level could not get through a deeper tree."""
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    return subprocess.run([runtime.path, "--root", runtime.root, "delete", "--force", cid],
                          capture_output=True, text=True, timeout=60, preexec_fn=limit,
                          stdin=subprocess.DEVNULL)


def test_delete_removes_what_was_left_and_frees_the_id(runtime, bundle, probe, notify_sock, test_dir):
    path, s = notify_sock
    b, _ = _notify_service(runtime, bundle, probe, path)
    assert runtime("start", b.id, env={"NOTIFY_SOCKET": path}).returncode == 0
    sd = os.path.join(runtime.root, b.id)
    outside = os.path.join(test_dir, "outside")
    os.makedirs(os.path.join(outside, "sub"))
    with open(os.path.join(outside, "keep"), "w") as f:
        f.write("keep")
    # what a container of an older runtime (or a crash) left: data, a tree
    # deeper than the fds the runtime may open, a fifo, links out of the
    # state directory
    nd = os.path.join(sd, "notify")
    with open(os.path.join(nd, "fill"), "wb") as f:
        f.write(b"\0" * (1 << 20))
    os.makedirs(os.path.join(nd, "a", "b", "c"))
    open(os.path.join(nd, "a", "b", "c", "f"), "w").close()
    os.mkdir(os.path.join(nd, "deep"))
    _deep_chain(os.path.join(nd, "deep"), 300)
    os.mkfifo(os.path.join(nd, "fifo"))
    os.symlink(outside, os.path.join(nd, "out-dir"))
    os.symlink(os.path.join(outside, "keep"), os.path.join(nd, "out-file"))
    os.symlink(outside, os.path.join(nd, "a", "out-dir"))
    os.makedirs(os.path.join(sd, "junk", "x"))
    os.symlink(outside, os.path.join(sd, "junk", "x", "out"))
    r = _delete_with_few_fds(runtime, b.id)
    assert (r.returncode, r.stderr) == (0, "")
    assert not os.path.lexists(sd)
    # nothing behind a symlink was touched
    assert sorted(os.listdir(outside)) == ["keep", "sub"]
    with open(os.path.join(outside, "keep")) as f:
        assert f.read() == "keep"
    # the id is free again
    r = runtime("create", "--bundle", b.path, b.id, env={"NOTIFY_SOCKET": path})
    assert r.returncode == 0, r.stderr
    assert runtime("delete", "--force", b.id).returncode == 0
    assert not os.path.lexists(sd)


def test_delete_never_enters_a_mount(runtime, bundle, test_dir):
    """A mount in the state directory (what a failed scratch teardown
    leaves) is not walked into: delete says so, keeps state.json, and
    completes once it is gone."""
    b = bundle("true")
    assert runtime.create(b).returncode == 0, b.errors()
    sd = os.path.join(runtime.root, b.id)
    src = os.path.join(test_dir, "mounted")
    os.makedirs(src)
    with open(os.path.join(src, "keep"), "w") as f:
        f.write("keep")
    mnt = os.path.join(sd, "left", "m")
    os.makedirs(mnt)
    subprocess.run(["mount", "--bind", src, mnt], check=True, capture_output=True)
    try:
        r = runtime("delete", "--force", b.id)
        assert (r.returncode, r.stderr) == (
            1, "isc-runtime: remove %s/left/m: Device or resource busy\n" % sd)
        assert os.listdir(src) == ["keep"]
        assert os.path.exists(os.path.join(sd, "state.json"))
    finally:
        subprocess.run(["umount", mnt], check=True, capture_output=True)
    r = runtime("delete", "--force", b.id)
    assert (r.returncode, r.stderr) == (0, "")
    assert not os.path.lexists(sd)
    assert os.listdir(src) == ["keep"]
