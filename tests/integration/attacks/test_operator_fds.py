# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack: the operator's fds in `isc exec` (review 2, N1 and N2).

N2: `isc exec web dump >> /var/log/x` handed the container the operator's
file itself as fd 1: through /proc/self/fd/1 (a magic link, no mount
namespace boundary) the container read the whole file, rewrote it from
offset 0, chmod'ed it setuid (no user namespace) and wrote into it after
isc exec had returned.  isc's own client now relays every fd 0..2 (relay.h):
the container holds pipes only.  Proved with and without a user namespace
(`isc exec` against an isc-runtime state root: the same library call as in
a lab): the container reads nothing of the file, cannot rewrite, chmod or
truncate it, and writes nothing into it after the exec returned; the
positive control is exact (what it printed lands in the file, in order,
appended; the exit status is CMD's).  Also: stdin from a file and the
/dev/null of an exec without -i are pipes in the container, binary data
and EOF on stdin go through, stdout and stderr keep their order (per
stream, and interleaved when both are one file).  isc-runtime in the
foreground relays a file too (an OCI caller's own pipes are passed).

N1: `isc exec -t` drained the pty until 100 ms of silence after CMD had
exited: a child left behind that keeps writing (ignoring HUP and INT) kept
it from ever returning.  Now it returns with CMD's status; and a SIGTERM of
isc while the operator's terminal is raw (-i -t) restores the terminal's
mode before isc dies.
"""
import fcntl
import os
import select
import shlex
import signal
import stat
import subprocess
import tempfile
import termios

import pytest

import helpers
from labhost import ISC, ISCD, lab_host  # noqa: F401  (fixture)
from operator_tty import OperatorTerminal

pytestmark = pytest.mark.isc_only  # isc's own client (isc exec)

OLD = b"old secret line\n"


def _no_userns(b):
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]


def _running(runtime, b):
    assert runtime.create(b).returncode == 0, b.errors()
    assert runtime.start(b.id).returncode == 0


def _isc_exec(runtime, *args):
    """argv of `isc --root R exec ARGS`, R/runtime being the test's state root."""
    root = os.path.join(runtime.workdir, "isc-root")
    if not os.path.exists(root):
        os.makedirs(root)
        os.symlink(runtime.root, os.path.join(root, "runtime"))
    return [ISC, "--root", root, "exec"] + [str(a) for a in args]


def _container(runtime, busybox_bundle, userns):
    b = busybox_bundle("/bin/sleep", "600")
    if not userns:
        _no_userns(b)
    _running(runtime, b)
    return b


def _rt_ok(runtime, b, *argv):
    r = runtime("exec", b.id, *argv)
    return r.returncode == 0


# What a hostile CMD does with the operator's redirect target (fd 1): read it,
# chmod it, rewrite it from offset 0, and keep fd 1 for later: once told
# (/dev/shm/go, after isc exec returned) write into it and truncate it (a
# pipe is not reopened for writing there: O_WRONLY would wait for a reader).
ATTACK = r"""
echo out-1
echo "fd0: $(stat -L -c %F /proc/self/fd/0)" >&2
if [ -f /proc/self/fd/1 ]; then echo "read: $(cat /proc/self/fd/1)" >&2
else echo "read: not the file: $(stat -L -c %F /proc/self/fd/1)" >&2; fi
chmod 6755 /proc/self/fd/1 2>/dev/null
echo REWRITTEN 2>/dev/null 1<>/proc/self/fd/1
echo out-2
(trap '' PIPE HUP; while [ ! -e /dev/shm/go ]; do sleep 0.05; done
 echo tampered-later; echo tampered-reopen 1<>/proc/self/fd/1
 if [ -f /proc/self/fd/1 ]; then truncate -s 0 /proc/self/fd/1; fi; touch /dev/shm/done) &
exit 5
"""


@pytest.mark.parametrize("userns", [False, True], ids=["host-userns", "userns"])
@pytest.mark.parametrize("interactive", [False, True], ids=["stdin-null", "stdin-file"])
def test_isc_exec_never_hands_over_the_operators_file(runtime, busybox_bundle, userns, interactive):
    b = _container(runtime, busybox_bundle, userns)
    log = os.path.join(runtime.workdir, "ops.log")
    err = os.path.join(runtime.workdir, "err.log")
    with open(log, "wb") as f:
        f.write(OLD)
    os.chmod(log, 0o644)  # readable by the container's root either way (the control)
    src = os.path.join(runtime.workdir, "in.txt")
    with open(src, "wb") as f:
        f.write(b"operator input\n")
    with open(log, "ab") as out, open(err, "wb") as e, open(src, "rb") as i:
        r = subprocess.run(_isc_exec(runtime, *(["-i"] if interactive else []), b.id, "/bin/sh", "-c", ATTACK),
                           stdin=i, stdout=out, stderr=e, timeout=60)
    with open(err, "rb") as f:
        errs = f.read()
    assert r.returncode == 5, errs
    # the positive control: the output landed in the file, appended, in order
    # (a user namespace's root may not reopen the relay's pipe: host root's)
    want = OLD + b"out-1\n" + (b"" if userns else b"REWRITTEN\n") + b"out-2\n"
    with open(log, "rb") as f:
        assert f.read() == want, errs
    assert errs == b"fd0: fifo\nread: not the file: fifo\n", errs
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o644
    # the child left behind writes and truncates through its fd 1 now
    assert _rt_ok(runtime, b, "/bin/touch", "/dev/shm/go")
    helpers.wait_for(lambda: _rt_ok(runtime, b, "/bin/sh", "-c", "test -e /dev/shm/done"), timeout=30,
                     what="the left-behind child's attempt")
    with open(log, "rb") as f:
        assert f.read() == want
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o644


def test_isc_exec_relay_keeps_data_order_status(runtime, busybox_bundle):
    """Binary stdin and its EOF, per-stream order, one order for one file,
    the exit status: through the relay, exactly."""
    b = _container(runtime, busybox_bundle, True)
    d = runtime.workdir
    data = bytes(range(256)) * 1200 + b"\0tail"  # > 256 KiB: more than a pipe holds
    with open(os.path.join(d, "bin.in"), "wb") as f:
        f.write(data)
    # cat ends only at EOF on its stdin; then its status
    with open(os.path.join(d, "bin.in"), "rb") as i, open(os.path.join(d, "bin.out"), "wb") as o:
        r = subprocess.run(_isc_exec(runtime, "-i", b.id, "/bin/sh", "-c", "cat; exit 9"),
                           stdin=i, stdout=o, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 9, r.stderr
    with open(os.path.join(d, "bin.out"), "rb") as f:
        assert f.read() == data
    script = "i=0; while [ $i -lt 3000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done; exit 4"
    # two files: each stream in its order
    with open(os.path.join(d, "o"), "wb") as o, open(os.path.join(d, "e"), "wb") as e:
        r = subprocess.run(_isc_exec(runtime, b.id, "/bin/sh", "-c", script), stdin=subprocess.DEVNULL,
                           stdout=o, stderr=e, timeout=120)
    assert r.returncode == 4
    with open(os.path.join(d, "o"), "rb") as f:
        assert f.read() == b"".join(b"o%d\n" % i for i in range(3000))
    with open(os.path.join(d, "e"), "rb") as f:
        assert f.read() == b"".join(b"e%d\n" % i for i in range(3000))
    # one file for both (2>&1): one pipe, the order in which they were written
    with open(os.path.join(d, "oe"), "wb") as o:
        r = subprocess.run(_isc_exec(runtime, b.id, "/bin/sh", "-c", script), stdin=subprocess.DEVNULL,
                           stdout=o, stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode == 4
    with open(os.path.join(d, "oe"), "rb") as f:
        assert f.read() == b"".join(b"o%d\ne%d\n" % (i, i) for i in range(3000))


def test_runtime_foreground_relays_a_file(runtime, busybox_bundle):
    """isc-runtime exec in the foreground: a file of the caller's is relayed
    (fd 1 is a pipe in the container, the output lands); the caller's own
    anonymous pipe (stderr here) is passed as it is."""
    b = _container(runtime, busybox_bundle, False)
    log = os.path.join(runtime.workdir, "rt.log")
    with open(log, "wb") as f:
        f.write(OLD)
    os.chmod(log, 0o644)
    rd, wr = os.pipe()
    pipe_ino = os.fstat(wr).st_ino
    with open(log, "ab") as out:
        p = subprocess.Popen([runtime.path, "--root", runtime.root, "exec", b.id, "/bin/sh", "-c",
                              "echo line; stat -L -c %F /proc/self/fd/1; chmod 6755 /proc/self/fd/1; "
                              "readlink /proc/self/fd/2 >&2"],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=wr)
    os.close(wr)
    with os.fdopen(rd, "rb") as f:
        errs = f.read()
    assert p.wait(timeout=60) == 0, errs
    with open(log, "rb") as f:
        assert f.read() == OLD + b"line\nfifo\n"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o644
    assert errs == b"pipe:[%d]\n" % pipe_ino, errs


# ---- N1: isc exec -t -----------------------------------------------------------

def test_isc_exec_tty_returns_while_a_left_child_writes(runtime, busybox_bundle):
    b = _container(runtime, busybox_bundle, True)
    term = OperatorTerminal()
    script = ('trap "" HUP INT QUIT; (trap "" HUP INT QUIT; yes ABC) & '
              'while ! grep -q ABC /proc/$!/cmdline 2>/dev/null; do :; done; echo before-exit; exit 3')
    try:
        rc, out = term.run(_isc_exec(runtime, "-t", b.id, "/bin/sh", "-c", script), stdin="null", timeout=60)
    finally:
        term.close()
        subprocess.run([runtime.path, "--root", runtime.root, "delete", "--force", b.id], timeout=60)
    assert rc == 3, out[-300:]
    assert b"before-exit" in out, out[-300:]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1, signal.SIGALRM, signal.SIGXCPU],
                         ids=lambda s: signal.Signals(s).name)
def test_isc_exec_tty_fatal_signal_restores_the_terminal(runtime, busybox_bundle, sig):
    """Every signal whose default action ends isc restores the operator's
    terminal first (a SIGUSR1 or SIGALRM from another terminal left it raw)."""
    b = _container(runtime, busybox_bundle, True)
    term = OperatorTerminal(raw=False)
    before = termios.tcgetattr(term.slave)
    assert before[3] & termios.ICANON and before[3] & termios.ECHO  # a cooked terminal

    def job():
        os.setsid()
        fcntl.ioctl(term.slave, termios.TIOCSCTTY, 0)
    p = subprocess.Popen(_isc_exec(runtime, "-i", "-t", b.id, "/bin/sh", "-c", "echo ready; exec sleep 600"),
                         stdin=term.slave, stdout=term.slave, stderr=term.slave, preexec_fn=job, close_fds=True)
    try:
        out = b""

        def ready():
            nonlocal out
            while select.select([term.master], [], [], 0)[0]:
                out += os.read(term.master, 4096)
            return b"ready" in out
        helpers.wait_for(ready, timeout=30, what="the command's output")
        raw = termios.tcgetattr(term.slave)
        assert not raw[3] & (termios.ICANON | termios.ECHO)  # isc made it raw
        p.send_signal(sig)
        assert p.wait(timeout=30) == -sig
        assert termios.tcgetattr(term.slave) == before
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        term.close()


# ---- through a lab: isc run --userns host (the container's root is the host's) ----

LAB_ATTACK = r"""
echo out-1
echo "fd0: $(stat -L -c %F /proc/self/fd/0)" >&2
if [ -f /proc/self/fd/1 ]; then echo "read: $(cat /proc/self/fd/1)" >&2
else echo "read: not the file: $(stat -L -c %F /proc/self/fd/1)" >&2; fi
chmod 6755 /proc/self/fd/1 2>/dev/null
echo out-2
exit 6
"""


def test_isc_exec_in_a_lab_userns_host(lab_host):
    """The deployment path: a service of `isc run --userns host` (isc's
    profile and Landlock), `isc --lab L exec web CMD >> file`."""
    lab = lab_host
    lab.isc("run", "-d", "--name", "web", "--userns", "host", "busybox", "sleep", "100000", timeout=60)
    env = dict(os.environ, ISC_ISCD=ISCD)
    env.pop("ISC_LAB", None)
    with tempfile.TemporaryDirectory(prefix="isc-ops-") as d:
        log = os.path.join(d, "ops.log")
        with open(log, "wb") as f:
            f.write(OLD)
        os.chmod(log, 0o600)
        with open(log, "ab") as out:
            r = subprocess.run([ISC, "--lab", lab.name, "exec", "web", "sh", "-c", LAB_ATTACK],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=env, timeout=60)
        assert r.returncode == 6, r.stderr
        assert r.stderr == b"fd0: fifo\nread: not the file: fifo\n", r.stderr
        with open(log, "rb") as f:
            assert f.read() == OLD + b"out-1\nout-2\n"
        assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_isc_exec_writer_sees_the_reader_go(runtime, busybox_bundle):
    """review3 R5: `isc exec NAME yes | head -2` ends.  When the caller's
    reader goes (EPIPE), the relay closes the container's side of that
    pipe, so the writer in the container sees EPIPE as it would without
    the relay, instead of being read and dropped forever."""
    b = _container(runtime, busybox_bundle, userns=True)
    r = subprocess.run(["sh", "-c", "%s | head -n 2" % " ".join(
        shlex.quote(a) for a in _isc_exec(runtime, b.id, "yes", "ab"))],
        capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "ab\nab\n"), r.stderr
