# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack (issue 11, item 5): the sd_notify proxy.  `start` forwards to the
caller's NOTIFY_SOCKET as root, and the caller (systemd) believes it:
MAINPID= chooses the process systemd watches and later kills,
EXTEND_TIMEOUT_USEC= holds off its timeouts, STATUS= is shown to the
operator, FDSTORE=1 hands it fds, BARRIER=1 synchronises with it.  On
51b9795 every datagram of the container reached the caller as it was.

Now the caller receives exactly one datagram, written by the runtime:
READY=1 and the MAINPID of the container's init as the caller sees it;
no fd, nothing the container wrote."""
import array
import os
import socket

import pytest

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

