# SPDX-License-Identifier: GPL-2.0-or-later
"""The operator's terminal, for the terminal attack tests (bubblewrap
CVE-2017-5226, flatpak CVE-2019-10063) and the stdio relay tests.

  OperatorTerminal  a pty the test owns: a command runs as a session leader
                    with the slave as its controlling terminal and stdio (a
                    job of the operator's shell); `injected()` is what waits
                    in the terminal's input, i.e. what the shell would read
                    and run next
  default_seccomp(runtime_path)  linux.seccomp of `RUNTIME spec` (the
                    hardened default; isc run uses the same profile)
  probe_lines(out)  the payload's output lines, without the CR of the tty
"""
import fcntl
import json
import os
import select
import subprocess
import tempfile
import termios
import time
import tty


class OperatorTerminal:
    def __init__(self, raw=True):
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        if raw:
            # no echo and no line discipline: a pushed byte is readable at once
            tty.setraw(self.slave)

    def set_canonical_noecho(self):
        """Lines (so that ^D is an EOF) without echo: the master then shows
        the command's output only."""
        a = termios.tcgetattr(self.slave)
        a[3] = (a[3] | termios.ICANON) & ~termios.ECHO
        termios.tcsetattr(self.slave, termios.TCSANOW, a)

    def run(self, argv, timeout=30, stdin="tty", write=b"", env=None):
        """Run argv with the terminal as controlling terminal and stdout/
        stderr (and stdin unless stdin="null"); `write` is typed into the
        terminal once the command runs.  Returns (returncode, output read
        from the master)."""
        slave = self.slave

        def job():
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        stdin_f = subprocess.DEVNULL if stdin == "null" else slave
        p = subprocess.Popen(argv, stdin=stdin_f, stdout=slave, stderr=slave,
                             preexec_fn=job, close_fds=True, env=env)
        out = b""
        end = time.monotonic() + timeout
        if write:
            os.write(self.master, write)
        try:
            while p.poll() is None:
                if time.monotonic() > end:
                    p.kill()
                    p.wait()
                    raise AssertionError("timed out after %ss: %s\noutput: %r" % (timeout, argv, out))
                r, _, _ = select.select([self.master], [], [], 0.05)
                if r:
                    out += os.read(self.master, 65536)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        return p.returncode, out + self._drain_master()

    def _drain_master(self):
        out = b""
        while select.select([self.master], [], [], 0)[0]:
            chunk = os.read(self.master, 65536)
            if not chunk:
                break
            out += chunk
        return out

    def injected(self):
        """What waits in the terminal's input queue (raw mode: every byte)."""
        os.set_blocking(self.slave, False)
        try:
            return os.read(self.slave, 65536)
        except BlockingIOError:
            return b""
        finally:
            os.set_blocking(self.slave, True)

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def default_seccomp(runtime_path):
    """linux.seccomp of the runtime's hardened default (`spec`)."""
    with tempfile.TemporaryDirectory(prefix="isc-spec-") as d:
        r = subprocess.run([runtime_path, "spec", "--bundle", d], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        with open(os.path.join(d, "config.json")) as f:
            return json.load(f)["linux"]["seccomp"]


def probe_lines(out):
    text = out.decode(errors="replace") if isinstance(out, bytes) else out
    return [l.rstrip("\r") for l in text.split("\n") if l.strip("\r")]


def tty_info(lines):
    """Parse `payload tty-info`: ({pid, sid, pgid, tty_nr}, {fd: target})."""
    head = [l for l in lines if l.startswith("pid=")]
    assert len(head) == 1, lines
    info = dict(kv.split("=") for kv in head[0].split())
    fds = {}
    for l in lines:
        if l.startswith("fd "):
            _, n, target = l.split(" ", 2)
            fds[int(n)] = target
    return {k: int(v) for k, v in info.items()}, fds
