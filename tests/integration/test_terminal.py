# SPDX-License-Identifier: GPL-2.0-or-later
"""Terminals: process.terminal (create/run) and exec --tty hand the pty
master to the caller's --console-socket (SCM_RIGHTS), the process has the
slave as its controlling terminal and stdio; --preserve-fds and LISTEN_FDS.

The stdio relay (without a terminal of the process's own): when the
runtime's stdio is a terminal, `run` and `exec` copy through pipes (the
terminal itself never reaches the container: attacks/test_operator_terminal.py);
input and its EOF reach the process, all of its output comes back, the
exit status is the process's, and the copying ends when the process exits
even if a child of it keeps the pipe open.  Stdio that is no terminal is
passed as it is (no pipe in between)."""
import array
import os
import select
import socket
import subprocess
import threading
import time

import pytest

import helpers
from operator_tty import OperatorTerminal, probe_lines, tty_info


class ConsoleServer:
    """A unix socket that accepts one connection per expected fd and keeps
    the received fds (what conmon and the containerd shim do)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(20)
        self.fds = []
        self.names = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            fds = array.array("i")
            msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(4 * fds.itemsize))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
            self.names.append(msg)
            self.fds.extend(fds)

    def master(self, timeout=20):
        self.thread.join(timeout)
        assert self.fds, "no fd arrived on the console socket"
        return self.fds[0]

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)
        os.unlink(self.path)


@pytest.fixture
def console(runtime):
    servers = []

    def make():
        s = ConsoleServer(os.path.join(runtime.workdir, "console-%d.sock" % len(servers)))
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()


def read_until(fd, want, timeout=10):
    out = b""
    end = time.monotonic() + timeout
    while want not in out and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every slave is closed
            break
        if not chunk:
            break
        out += chunk
    return out


def test_create_terminal_console_socket(runtime, bundle, console):
    b = bundle("echo", "hello")
    b.process["terminal"] = True
    b.write()
    srv = console()
    r = runtime("create", "--bundle", b.path, "--console-socket", srv.path, b.id)
    assert r.returncode == 0, r.stderr
    m = srv.master()
    assert os.isatty(m)
    assert runtime.start(b.id).returncode == 0
    assert b"hello\r\n" in read_until(m, b"hello\r\n")


def test_terminal_is_controlling_tty_and_sized(runtime, busybox_bundle, console):
    b = busybox_bundle("/bin/sh", "-c", "tty; stty size; echo via-console > /dev/console; "
                       "[ -t 0 ] && [ -t 2 ] && echo stdio-tty")
    b.process["terminal"] = True
    b.process["consoleSize"] = {"height": 33, "width": 101}
    b.write()
    srv = console()
    r = runtime("create", "--bundle", b.path, "--console-socket", srv.path, b.id)
    assert r.returncode == 0, r.stderr
    m = srv.master()
    assert runtime.start(b.id).returncode == 0
    out = read_until(m, b"stdio-tty").decode()
    assert "/dev/pts/" in out
    assert "33 101" in out
    assert "stdio-tty" in out
    assert "via-console" in out  # /dev/console is the terminal


def test_terminal_without_console_socket_fails(runtime, bundle):
    b = bundle("true")
    b.process["terminal"] = True
    r = runtime.create(b)
    assert r.returncode != 0
    assert "console" in r.stderr.lower()


def test_exec_tty_console_socket(runtime, bundle, console):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    srv = console()
    r = runtime("exec", "--tty", "--console-socket", srv.path, "--detach", b.id,
                "/bin/payload", "echo", "hello")
    assert r.returncode == 0, r.stderr
    m = srv.master()
    assert b"hello\r\n" in read_until(m, b"hello\r\n")


@pytest.mark.isc_only  # runc allocates its own terminal in the foreground
def test_exec_tty_foreground_status(runtime, bundle, console):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    srv = console()
    r = runtime("exec", "--tty", "--console-socket", srv.path, b.id, "/bin/payload", "exit", "5")
    assert r.returncode == 5, r.stderr
    srv.master()


@pytest.mark.isc_only
def test_exec_tty_without_console_socket_fails(runtime, bundle):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    r = runtime("exec", "--tty", b.id, "/bin/payload", "true")
    assert r.returncode != 0 and "console-socket" in r.stderr


def _run_with_fds(runtime, b, extra_args, fds, env=None):
    """`run` with pass_fds: the runtime gets fds 3.. from us.  With
    LISTEN_FDS in env, LISTEN_PID is the runtime's pid (sd_listen_fds)."""
    b.write()
    cmd = [runtime.path, "--root", runtime.root, "run", "--bundle", b.path] + extra_args + [b.id]
    if env and "LISTEN_FDS" in env and "LISTEN_PID" not in env:
        cmd = ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', "sh"] + cmd
    runtime.ids.append(b.id)
    with open(b.out_path, "ab") as out, open(b.err_path, "ab") as err:
        # dup the payload fds to 3, 4, ... in the child
        def fix():
            for i, fd in enumerate(fds):
                os.dup2(fd, 3 + i)
        return subprocess.run(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                              preexec_fn=fix, pass_fds=[3 + i for i in range(len(fds))],
                              env=dict(os.environ, **(env or {})), timeout=30)


def _fd3_target(runtime):
    """A file anyone may reopen (the container's root is not the host's),
    opened for writing; returns (fd, path)."""
    path = os.path.join(runtime.workdir, "fd3-target")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    os.fchmod(fd, 0o666)
    return fd, path


def _fds_inside(runtime, bundle, extra_args, env, pass_fd3=True):
    """The container's open fds as the payload lists them from inside:
    {fd: readlink target}.  fd 3 of the runtime's caller is fd3-target."""
    fd, path = _fd3_target(runtime)
    try:
        b = bundle("fds")
        r = _run_with_fds(runtime, b, extra_args, [fd] if pass_fd3 else [], env)
        assert r.returncode == 0, b.output() + b.errors()
    finally:
        os.close(fd)
    fds = {}
    for line in b.output().splitlines():
        n, target = line.split(" ", 1)
        fds[int(n)] = target
    return fds, path


def _assert_stdio(fds, runtime):
    # the suite passes /dev/null and two files: host objects, which isc-runtime
    # relays in the foreground (three pipes, relay.h); runc passes them
    if runtime.is_isc:
        assert all(fds[i].startswith("pipe:") for i in range(3)) and len({fds[0], fds[1], fds[2]}) == 3, fds
        return
    assert fds[0] == "/dev/null", fds
    assert fds[1].endswith("/container.out") and fds[2].endswith("/container.err"), fds


def test_preserve_fds(runtime, bundle):
    """--preserve-fds 1: fd 3 is in the container, it is the caller's file
    (and writes reach it); nothing else beyond stdio."""
    fds, path = _fds_inside(runtime, bundle, ["--preserve-fds", "1"], None)
    assert sorted(fds) == [0, 1, 2, 3], fds
    _assert_stdio(fds, runtime)
    assert fds[3] == path, fds
    fd, path = _fd3_target(runtime)
    try:
        b = bundle("write", "/proc/self/fd/3", "through-fd-3")
        r = _run_with_fds(runtime, b, ["--preserve-fds", "1"], [fd])
        assert r.returncode == 0, b.output() + b.errors()
    finally:
        os.close(fd)
    with open(path) as f:
        assert f.read() == "through-fd-3"


def test_inherited_fds_closed_without_preserve(runtime, bundle):
    """The caller's fd 3 (open, inheritable) is not in the container without
    --preserve-fds: exactly stdio is open.  Control: test_preserve_fds."""
    fds, _ = _fds_inside(runtime, bundle, [], None)
    assert sorted(fds) == [0, 1, 2], fds
    _assert_stdio(fds, runtime)


def test_listen_fds(runtime, bundle):
    """LISTEN_FDS=1 with LISTEN_PID = the runtime's pid: fd 3 is passed on
    (the caller's file), LISTEN_PID becomes 1 (the container's init)."""
    fds, path = _fds_inside(runtime, bundle, [], {"LISTEN_FDS": "1"})
    assert sorted(fds) == [0, 1, 2, 3], fds
    assert fds[3] == path, fds
    fd, _ = _fd3_target(runtime)
    try:
        b = bundle("env")
        r = _run_with_fds(runtime, b, [], [fd], {"LISTEN_FDS": "1"})
        assert r.returncode == 0, b.errors()
        env = b.output().splitlines()
        assert sorted(e for e in env if e.startswith("LISTEN_")) == ["LISTEN_FDS=1", "LISTEN_PID=1"], env
    finally:
        os.close(fd)


def test_listen_fds_for_another_process_ignored(runtime, bundle):
    """LISTEN_PID names another process: fd 3 (open in the caller) is not
    passed and the LISTEN_ variables are dropped."""
    fds, _ = _fds_inside(runtime, bundle, [], {"LISTEN_FDS": "1", "LISTEN_PID": "1"})
    assert sorted(fds) == [0, 1, 2], fds
    fd, _ = _fd3_target(runtime)
    try:
        b = bundle("env")
        r = _run_with_fds(runtime, b, [], [fd], {"LISTEN_FDS": "1", "LISTEN_PID": "1"})
        assert r.returncode == 0, b.errors()
    finally:
        os.close(fd)
    assert not [e for e in b.output().splitlines() if e.startswith("LISTEN_")]


@pytest.mark.isc_only
def test_preserve_fds_more_than_passed_fails(runtime, bundle):
    # fd 3 is not open in the runtime's caller: nothing of the runtime's own
    # may take its place in the container
    b = bundle("true")
    r = _run_with_fds(runtime, b, ["--preserve-fds", "2"], [])
    assert r.returncode != 0
    assert "not passed" in b.errors()


# ---- the stdio relay ---------------------------------------------------------

@pytest.fixture
def term():
    t = OperatorTerminal()
    yield t
    t.close()


def _rt(runtime, *args):
    return [runtime.path, "--root", runtime.root] + [str(a) for a in args]


def _run_argv(runtime, b):
    b.write()
    runtime.ids.append(b.id)
    return _rt(runtime, "run", "--bundle", b.path, b.id)


def _running(runtime, b):
    assert runtime.create(b).returncode == 0, b.errors()
    assert runtime.start(b.id).returncode == 0


@pytest.mark.isc_only
def test_relay_input_eof_and_status(runtime, bundle, term):
    # lines without echo: ^D at the start of a line is the terminal's EOF,
    # the master shows the process's output only
    term.set_canonical_noecho()
    rc, out = term.run(_run_argv(runtime, bundle("read-stdin")), write=b"hello\n\x04")
    assert (rc, out) == (0, b"hello\n")
    rc, out = term.run(_run_argv(runtime, bundle("exit", "7")))
    assert (rc, out) == (7, b"")

    b = bundle("sleep", "60")
    _running(runtime, b)
    rc, out = term.run(_rt(runtime, "exec", b.id, "/bin/payload", "read-stdin"), write=b"again\n\x04")
    assert (rc, out) == (0, b"again\n")
    rc, out = term.run(_rt(runtime, "exec", b.id, "/bin/payload", "exit", "9"))
    assert (rc, out) == (9, b"")


@pytest.mark.isc_only
def test_relay_copies_all_output(runtime, busybox_bundle, term):
    # far more than a pipe holds, written while nobody reads stdin (raw
    # terminal: the bytes arrive exactly as written)
    b = busybox_bundle("/bin/sh", "-c", "head -c 400000 /dev/zero | tr '\\000' y; echo end >&2")
    rc, out = term.run(_run_argv(runtime, b))
    assert rc == 0
    assert out == b"y" * 400000 + b"end\n"


@pytest.mark.isc_only
def test_relay_ends_with_the_process(runtime, busybox_bundle, term):
    """A child left behind keeps the output pipe open: the exec still ends
    when its own process exits, with what it wrote."""
    b = busybox_bundle("/bin/sleep", "60")
    _running(runtime, b)
    rc, out = term.run(_rt(runtime, "exec", b.id, "/bin/sh", "-c", "sleep 60 & echo started"), timeout=20)
    assert (rc, out) == (0, b"started\n")


@pytest.mark.isc_only
def test_stdin_only_terminal(runtime, bundle, term):
    """The terminal and the file go through the relay, the caller's
    anonymous pipe is passed as it is."""
    b = bundle("sleep", "60")
    _running(runtime, b)
    out_path = os.path.join(runtime.workdir, "exec.out")
    with open(out_path, "w") as f:
        os.chmod(out_path, 0o666)
        p = subprocess.Popen(_rt(runtime, "exec", b.id, "/bin/payload", "tty-info"), stdin=term.slave,
                             stdout=f, stderr=subprocess.PIPE)
        err_pipe = "pipe:[%d]" % os.fstat(p.stderr.fileno()).st_ino
        _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    with open(out_path) as f:
        info, fds = tty_info(probe_lines(f.read()))
    assert fds[0].startswith("pipe:") and fds[1].startswith("pipe:") and fds[0] != fds[1], fds
    assert fds[2] == err_pipe, fds


def test_no_terminal_passed_as_it_is(runtime, bundle):
    """Detached, files reach the container as they are (nobody is left to
    copy; runc does the same); in the foreground they are relayed (isc:
    review 2 N2, relay.h), the caller's pipes (podman's, containerd's) not:
    test_stdin_only_terminal, attacks/test_operator_fds.py."""
    b = bundle("tty-info")
    b.write()
    runtime.ids.append(b.id)
    r = runtime("run", "--detach", "--bundle", b.path, b.id, out=b.out_path, err=b.err_path)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: runtime.state(b.id)["status"] == "stopped", timeout=30, what="the init's exit")
    info, fds = tty_info(probe_lines(b.output()))
    assert fds == {0: "/dev/null", 1: b.out_path, 2: b.err_path}


@pytest.mark.isc_only
def test_relay_ends_while_a_left_child_floods(runtime, busybox_bundle, term):
    """Children left behind that keep writing (the pipe never empties): the
    exec still ends when its own process exits, with its exit status and
    all it wrote before it exited (review F2: the relay read "until EAGAIN"
    and never returned)."""
    b = busybox_bundle("/bin/sleep", "600")
    _running(runtime, b)
    script = ("echo marker-start; for i in 1 2 3 4 5 6; do yes >&2 & done; "
              "sleep 1; echo marker-before-exit; exit 7")
    try:
        rc, out = term.run(_rt(runtime, "exec", b.id, "/bin/sh", "-c", script), timeout=60)
    finally:
        # the writers live on in the container until it is deleted
        subprocess.run(_rt(runtime, "delete", "--force", b.id), timeout=60)
    assert rc == 7
    assert out.startswith(b"marker-start"), out[:200]
    assert b"marker-before-exit" in out, out[-200:]
