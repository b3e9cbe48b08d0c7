# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack (issue 11, item 8): root's --pid-file in a directory another user
can write.  isc_write_file_atomic() wrote every file through the temporary
name ".NAME.tmp.PID" (the runtime's pid: predictable) without O_EXCL, then
renamed it into place: a user who created that name first had root write
the pid into the user's own file, which then became root's pid file (owned
by the attacker, who can rewrite it: a later `kill $(cat pidfile)` by root
hits what the attacker chose).  A symlink there made create fail.

The directory here is a world-writable sticky one (like /tmp); the
attacker is uid 65534.  The test knows the runtime's pid before it runs
(fork, plant, then exec), so the old names are planted exactly.  Now: the
pid file is a new regular file of root's with the right pid and mode, and
what the attacker planted (and a symlink's target) is left as it was.  On
51b9795 the first test finds the pid file owned by 65534 and the second
sees create fail."""
import os
import signal
import stat
import tempfile
import time

import pytest

ATTACKER = 65534
pytestmark = pytest.mark.isc_only


@pytest.fixture
def shared_dir():
    d = tempfile.mkdtemp(prefix="isc-pidfile-", dir="/tmp")
    os.chmod(d, 0o1777)
    victim_dir = tempfile.mkdtemp(prefix="isc-pidfile-victim-", dir="/tmp")
    os.chmod(victim_dir, 0o755)
    os.chown(victim_dir, ATTACKER, ATTACKER)
    yield d, victim_dir
    for top in (d, victim_dir):
        for name in os.listdir(top):
            os.unlink(os.path.join(top, name))
        os.rmdir(top)


def as_attacker(fn):
    """Run fn() in a child with the attacker's uid and gid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(ATTACKER)
            os.setuid(ATTACKER)
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the attacker's step failed"


def create_with_known_pid(runtime, b, pid_file, plant, timeout=30):
    """`runtime create --pid-file` from a process whose pid is known before
    the runtime runs: the child waits on a pipe, plant(pid) runs, then the
    child execs the runtime (exec keeps the pid)."""
    b.write()
    runtime.ids.append(b.id)  # cleaned up by the fixture
    argv = [runtime.path, "--root", runtime.root, "create", "--bundle", b.path, "--pid-file", pid_file, b.id]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            os.read(r, 1)
            os.setsid()
            out = os.open(b.out_path, os.O_WRONLY | os.O_APPEND)
            err = os.open(b.err_path, os.O_WRONLY | os.O_APPEND)
            nul = os.open("/dev/null", os.O_RDONLY)
            os.dup2(nul, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.close(r)
    try:
        plant(pid)
    finally:
        os.write(w, b"x")
        os.close(w)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError("create timed out")
        time.sleep(0.02)


def assert_roots_pid_file(runtime, b, path):
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode) and st.st_nlink == 1
    assert (st.st_uid, st.st_gid) == (0, 0), "the pid file belongs to %d:%d" % (st.st_uid, st.st_gid)
    assert stat.S_IMODE(st.st_mode) == 0o644 & ~current_umask()
    with open(path) as f:
        assert f.read() == str(runtime.state(b.id)["pid"])


def current_umask():
    u = os.umask(0)
    os.umask(u)
    return u


def test_planted_temporary_file_does_not_become_roots_pid_file(runtime, bundle, shared_dir):
    d, _ = shared_dir
    pid_file = os.path.join(d, "pid")
    b = bundle("sleep", "30")
    planted = {}

    def plant(pid):
        name = os.path.join(d, ".pid.tmp.%d" % pid)  # the old predictable name
        planted["path"] = name

        def make():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            os.write(fd, b"attacker")
            os.close(fd)
            os.chmod(name, 0o666)
        as_attacker(make)

    rc = create_with_known_pid(runtime, b, pid_file, plant)
    assert rc == 0, b.errors()
    assert_roots_pid_file(runtime, b, pid_file)
    # the attacker's file is untouched, still theirs; nothing else was left
    st = os.lstat(planted["path"])
    assert st.st_uid == ATTACKER
    with open(planted["path"], "rb") as f:
        assert f.read() == b"attacker"
    assert sorted(os.listdir(d)) == sorted(["pid", os.path.basename(planted["path"])])


def test_planted_symlinks_are_neither_followed_nor_fatal(runtime, bundle, shared_dir):
    d, victim_dir = shared_dir
    pid_file = os.path.join(d, "pid")
    victim = os.path.join(victim_dir, "victim")
    b = bundle("sleep", "30")
    planted = {}

    def plant(pid):
        tmp = os.path.join(d, ".pid.tmp.%d" % pid)
        planted["tmp"] = tmp

        def make():
            with open(victim, "w") as f:
                f.write("victim-content")
            os.symlink(victim, tmp)       # the old temporary name
            os.symlink(victim, pid_file)  # and the pid file's own name
        as_attacker(make)

    rc = create_with_known_pid(runtime, b, pid_file, plant)
    assert rc == 0, b.errors()
    # the pid file replaced the attacker's symlink (a rename does not follow it)
    assert_roots_pid_file(runtime, b, pid_file)
    assert os.readlink(planted["tmp"]) == victim
    with open(victim) as f:
        assert f.read() == "victim-content"
    assert os.stat(victim).st_uid == ATTACKER
    assert sorted(os.listdir(d)) == sorted(["pid", os.path.basename(planted["tmp"])])
