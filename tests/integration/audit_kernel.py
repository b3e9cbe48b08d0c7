# SPDX-License-Identifier: GPL-2.0-or-later
"""Kernel audit state for the tests (read-only: AUDIT_GET, AUDIT_LIST_RULES)
and the machine-wide lock every test that touches kernel audit holds."""
import fcntl
import socket
import struct

NETLINK_AUDIT = 9
AUDIT_GET = 1000
AUDIT_LIST_RULES = 1013
NLMSG_ERROR = 2
NLMSG_DONE = 3
AUDIT_FILTERKEY = 210
LOCK_PATH = "/run/isc-audit-test.lock"
FIELDS = ["mask", "enabled", "failure", "pid", "rate_limit", "backlog_limit", "lost", "backlog",
          "feature_bitmap", "backlog_wait_time", "backlog_wait_time_actual"]
# what a test must leave as it found it (lost and backlog are counters)
RESTORED = ["enabled", "failure", "pid", "backlog_limit", "backlog_wait_time"]


def _sock():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    s.bind((0, 0))
    s.settimeout(5)
    return s


def _send(s, t, seq):
    s.sendto(struct.pack("=IHHII", 16, t, 0x1 | 0x4, seq, 0), (0, 0))


def status():
    with _sock() as s:
        _send(s, AUDIT_GET, 1)
        while True:
            d = s.recv(65536)
            _, t, _, _, _ = struct.unpack("=IHHII", d[:16])
            if t == AUDIT_GET:
                return dict(zip(FIELDS, struct.unpack("=11I", d[16:60].ljust(44, b"\0"))))


def rules_with_key(key=b"isc"):
    """How many audit rules carry the filter key `key`."""
    n = 0
    with _sock() as s:
        _send(s, AUDIT_LIST_RULES, 2)
        while True:
            d = s.recv(1 << 20)
            off = 0
            while off + 16 <= len(d):
                ln, t, _, _, _ = struct.unpack("=IHHII", d[off:off + 16])
                if t == NLMSG_DONE:
                    return n
                if t == NLMSG_ERROR:
                    err = struct.unpack("=i", d[off + 16:off + 20])[0]
                    if err != 0:
                        raise OSError(-err, "AUDIT_LIST_RULES")
                elif t == AUDIT_LIST_RULES:
                    body = d[off + 16:off + ln] if ln > 16 else d[off + 16:]
                    count = struct.unpack("=I", body[8:12])[0]
                    fields = struct.unpack("=64I", body[12 + 256:12 + 512])
                    values = struct.unpack("=64I", body[12 + 512:12 + 768])
                    buf = body[12 + 1024 + 4:]
                    for i in range(min(count, 64)):
                        if fields[i] == AUDIT_FILTERKEY and values[i] == len(key) and key in buf:
                            n += 1
                if ln < 16:
                    break
                off += (ln + 3) & ~3
                if t == AUDIT_LIST_RULES and ln <= 16:
                    break


_held = {"depth": 0, "f": None}


class Lock:
    """Exclusive, machine-wide: kernel audit is one per machine.  Reentrant
    within this process (a lab inside an audit test, two labs at once)."""
    def __enter__(self):
        if _held["depth"] == 0:
            f = open(LOCK_PATH, "a")  # close-on-exec: children never hold it
            fcntl.flock(f, fcntl.LOCK_EX)
            _held["f"] = f
        _held["depth"] += 1
        return self

    def __exit__(self, *a):
        _held["depth"] -= 1
        if _held["depth"] == 0:
            fcntl.flock(_held["f"], fcntl.LOCK_UN)
            _held["f"].close()
            _held["f"] = None
