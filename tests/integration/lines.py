# SPDX-License-Identifier: GPL-2.0-or-later
"""Lines from a child's pipe, with a deadline.

A `--follow` reader (isc audit/packets/logs -f) or a child that prints
"ready" blocks forever in readline() when the line never comes; the per-test
timeout would end the test, but without saying what it waited for.
Lines(p.stdout).readline(timeout, what) waits with poll() and fails with
the partial line it got:

    out = Lines(p.stdout)
    assert out.readline(what="the ready line") == "ready\\n"

It reads the pipe's descriptor itself (os.read): use it for every read of
that stream, never the stream's own readline()/read() beside it."""
import os
import select
import time

DEFAULT_TIMEOUT = 30.0


class Lines:
    def __init__(self, stream, name=None):
        self.fd = stream.fileno()
        self.name = name or "the output"
        self.buf = b""
        self.eof = False

    def _fill(self, deadline, what):
        """Read more into buf; False at EOF; AssertionError at the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for %s on %s; got only %r" % (what, self.name, self.buf))
        p = select.poll()
        p.register(self.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        if not p.poll(int(left * 1000) + 1):
            return True
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def readline(self, timeout=DEFAULT_TIMEOUT, what="a line"):
        """The next line with its newline; the rest ("" when none) at EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf and not self.eof:
            self._fill(deadline, what)
        if b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            return line.decode(errors="replace") + "\n"
        rest, self.buf = self.buf, b""
        return rest.decode(errors="replace")

    def read_all(self, timeout=DEFAULT_TIMEOUT, what="the end of the output"):
        """Everything up to EOF (every writer closed the pipe)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            self._fill(deadline, what)
        rest, self.buf = self.buf, b""
        return rest.decode(errors="replace")

    def until(self, pred, timeout=DEFAULT_TIMEOUT, what="a matching line"):
        """Read lines until pred(line) is true; returns that line.  Fails at
        the deadline or at EOF, naming the lines it skipped (the last 20)."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.readline(max(left, 0.0), what)
            except AssertionError as e:
                raise AssertionError("%s; skipped: %r" % (e, seen[-20:])) from None
            if line == "" and self.eof:
                raise AssertionError("%s ended before %s; skipped: %r" % (self.name, what, seen[-20:]))
            if pred(line):
                return line
            seen.append(line)
