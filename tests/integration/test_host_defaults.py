# SPDX-License-Identifier: GPL-2.0-or-later
"""The ISC defaults on a lab host built by `isc --lab NAME init` -- the path
every feature is reached through (test_service.py checks the same daemon
on a plain state root without a network)."""
import json
import os
import signal

from labhost import lab_host  # noqa: F401  (fixture)
from helpers import wait_for


def _inspect(lab, name):
    return json.loads(lab.isc("inspect", name).stdout)[0]


def _running_pid(lab, name):
    st = _inspect(lab, name)["status"]
    return st["pid"] if st["state"] == "running" else 0


def test_defaults_hold_on_a_lab_host(lab_host):
    lab = lab_host
    lab.isc("run", "-d", "--name", "def", "busybox", "sleep", "600")
    wait_for(lambda: _running_pid(lab, "def"), what="def running")
    probe = ("echo -n 'root:'; (touch /x) 2>&1 | grep -c 'Read-only'; "
             "echo -n 'sys:'; (touch /sys/x) 2>&1 | grep -c 'Read-only'; "
             "cp /bin/busybox /tmp/bb && echo -n 'tmp-noexec:'; (/tmp/bb true) 2>&1 | grep -c 'denied'; "
             "echo -n 'uid:'; id -u; echo -n 'nnp:'; grep NoNewPrivs /proc/self/status | cut -f2; "
             "echo -n 'seccomp:'; grep '^Seccomp:' /proc/self/status | cut -f2; "
             "echo -n 'capeff:'; grep CapEff /proc/self/status | cut -f2; "
             "echo -n 'scratch:'; grep -c ' /scratch ext4 ' /proc/mounts; "
             "echo -n 'mount:'; (mount -t tmpfs none /mnt) 2>&1 | grep -c 'denied\\|not permitted'; "
             "echo -n 'net:'; ip -o -4 addr show eth0 | grep -c '10\\.213\\.'; "
             "touch /persist/mine")
    r = lab.isc("exec", "def", "/bin/sh", "-c", probe)
    got = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
    assert got["root"] == "1" and got["sys"] == "1" and got["tmp-noexec"] == "1", r.stdout
    assert got["uid"] == "0" and got["nnp"] == "1" and got["seccomp"] == "2", r.stdout
    assert int(got["capeff"], 16) & (1 << 21) == 0, "CAP_SYS_ADMIN in the default set"
    assert got["scratch"] == "1" and got["mount"] == "1" and got["net"] == "1", r.stdout
    # container root is not host root: its files are owned by the service's private range
    info = _inspect(lab, "def")
    st = os.stat(lab.path("containers", "def", "persist", "mine"))
    assert st.st_uid == info["uid_base"] and st.st_uid >= 65536
    # /persist survives a restart; the killed service comes back by policy, with a new pid
    pid = _running_pid(lab, "def")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _running_pid(lab, "def") not in (0, pid), timeout=15, what="def restarted")
    assert _inspect(lab, "def")["status"]["restarts"] == 1
    r = lab.isc("exec", "def", "ls", "/persist")
    assert "mine" in r.stdout
    lab.isc("rm", "-f", "--purge", "def")
