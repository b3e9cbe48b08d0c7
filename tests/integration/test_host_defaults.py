# SPDX-License-Identifier: GPL-2.0-or-later
"""The ISC defaults on a lab host built by `isc --lab NAME init` -- the path
every feature is reached through (test_service.py checks the same daemon
on a plain state root without a network).

The capability sets are compared whole against docs/defaults.md (and the
doc against this file's copy of the set in src/lib/plan/bundle.c), so a widened
default set fails here, not only a set that gained SYS_ADMIN.  The flags
that change a default (--cap-add, --userns host, --cpus) are checked on
the running service, not at the parser: the process's /proc status, its
user namespace, its cpu cgroup.

One lab serves the whole module (an init costs about ten seconds); every
test removes the services it made, in a finally.
"""
import json
import os
import re
import signal

import pytest

import helpers
from labhost import initialised_lab
from helpers import wait_for

pytestmark = pytest.mark.pass_sanitizers

# isc_default_caps[] in src/lib/plan/bundle.c; docs/defaults.md lists the same set
DEFAULT_CAPS = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP"}
CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
CAP_NAMES = {bit: name for name, bit in helpers.CAPS.items()}


@pytest.fixture(scope="module")
def lab():
    with initialised_lab() as lab:
        yield lab


def _inspect(lab, name):
    return json.loads(lab.isc("inspect", name).stdout)[0]


def _running_pid(lab, name):
    st = _inspect(lab, name)["status"]
    return st["pid"] if st["state"] == "running" else 0


def _run_d(lab, name, *args):
    lab.isc("run", "-d", "--name", name, *args)
    return wait_for(lambda: _running_pid(lab, name), what="%s running" % name)


def _rm(lab, name):
    lab.isc("rm", "-f", "--purge", name, check=False)


def decode_caps(hexmask):
    """'00000000a80425fb' -> {'CAP_CHOWN', ...}; an unknown bit is 'bit N'."""
    mask = int(hexmask, 16)
    return {CAP_NAMES.get(b, "bit %d" % b) for b in range(64) if mask >> b & 1}


def cap_sets(status_text):
    """The five capability sets of a /proc/PID/status text, decoded."""
    fields = dict(line.split(":", 1) for line in status_text.splitlines() if ":" in line)
    return {k: decode_caps(fields[k].strip()) for k in CAP_FIELDS}


def expected_sets(bounding):
    return {"CapInh": set(), "CapPrm": set(bounding), "CapEff": set(bounding),
            "CapBnd": set(bounding), "CapAmb": set()}


def assert_sets(got, want):
    """Equal, or a message naming what each set has too much or lacks."""
    diff = {k: {"extra": sorted(got[k] - want[k]), "missing": sorted(want[k] - got[k])}
            for k in want if got.get(k) != want[k]}
    assert not diff and set(got) == set(want), diff


def _proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return f.read()


def test_doc_lists_the_default_capability_set():
    """docs/defaults.md is what an operator reads: it names this set and
    empty inheritable and ambient sets."""
    with open(os.path.join(helpers.REPO, "docs", "defaults.md")) as f:
        rows = [l for l in f if l.startswith("| capabilities |")]
    assert len(rows) == 1, rows
    m = re.match(r"\| capabilities \| bounding = effective = permitted = `([^`]*)`; "
                 r"inheritable and ambient empty \|", rows[0])
    assert m, rows[0]
    assert {"CAP_" + c.strip() for c in m.group(1).split(",")} == DEFAULT_CAPS


def test_defaults_hold_on_a_lab_host(lab):
    try:
        _defaults_hold(lab)
    finally:
        _rm(lab, "def")


def _defaults_hold(lab):
    _run_d(lab, "def", "busybox", "sleep", "600")
    probe = ("echo -n 'root:'; (touch /x) 2>&1 | grep -c 'Read-only'; "
             "echo -n 'sys:'; (touch /sys/x) 2>&1 | grep -c 'Read-only'; "
             "cp /bin/busybox /tmp/bb && echo -n 'tmp-noexec:'; (/tmp/bb true) 2>&1 | grep -c 'denied'; "
             "echo -n 'uid:'; id -u; echo -n 'nnp:'; grep NoNewPrivs /proc/self/status | cut -f2; "
             "echo -n 'seccomp:'; grep '^Seccomp:' /proc/self/status | cut -f2; "
             "echo -n 'scratch:'; grep -c ' /scratch ext4 ' /proc/mounts; "
             "echo -n 'mount:'; (mount -t tmpfs none /mnt) 2>&1 | grep -c 'denied\\|not permitted'; "
             "echo -n 'net:'; ip -o -4 addr show eth0 | grep -c '10\\.213\\.'; "
             "touch /persist/mine")
    r = lab.isc("exec", "def", "/bin/sh", "-c", probe)
    got = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
    assert got["root"] == "1" and got["sys"] == "1" and got["tmp-noexec"] == "1", r.stdout
    assert got["uid"] == "0" and got["nnp"] == "1" and got["seccomp"] == "2", r.stdout
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


def test_default_capability_sets_whole(lab):
    """All five sets of the service's own process and of an `isc exec`
    in it: exactly the documented set, nothing inheritable or ambient."""
    try:
        pid = _run_d(lab, "caps", "busybox", "sleep", "600")
        want = expected_sets(DEFAULT_CAPS)
        assert_sets(cap_sets(_proc_status(pid)), want)
        assert_sets(cap_sets(lab.isc("exec", "caps", "cat", "/proc/self/status").stdout), want)
        # the service started by an attached run sees the same (its own /proc/self)
        r = lab.isc("run", "--name", "caps-att", "--restart", "no", "busybox", "cat", "/proc/self/status")
        assert_sets(cap_sets(r.stdout), want)
        # and the plan the runtime received says the same
        c = _inspect(lab, "caps")["config"]["process"]["capabilities"]
        assert {k: set(v) for k, v in c.items()} == {
            "bounding": DEFAULT_CAPS, "effective": DEFAULT_CAPS, "permitted": DEFAULT_CAPS,
            "inheritable": set(), "ambient": set()}
    finally:
        _rm(lab, "caps")
        _rm(lab, "caps-att")


@pytest.mark.parametrize("flag,added", [
    ("NET_ADMIN", {"CAP_NET_ADMIN"}),
    ("cap_sys_ptrace", {"CAP_SYS_PTRACE"}),  # any case, with or without CAP_
    ("CAP_CHOWN", set()),  # already in the set: the set stays as it is
])
def test_cap_add_adds_exactly_that_capability(lab, flag, added):
    try:
        pid = _run_d(lab, "capadd", "--cap-add", flag, "busybox", "sleep", "600")
        want = expected_sets(DEFAULT_CAPS | added)
        assert_sets(cap_sets(_proc_status(pid)), want)
        assert_sets(cap_sets(lab.isc("exec", "capadd", "cat", "/proc/self/status").stdout), want)
    finally:
        _rm(lab, "capadd")


def test_userns_host_runs_without_a_user_namespace(lab):
    """--userns host: the identity map of the machine's own user namespace
    (the default service, beside it, has the 0 -> uid_base map of its own
    namespace); the rest of the hardening holds all the same."""
    try:
        own = _run_d(lab, "uh-auto", "busybox", "sleep", "600")
        pid = _run_d(lab, "uh", "--userns", "host", "busybox", "sleep", "600")
        # this test runs in the machine's own user namespace (root, identity map)
        init_userns = os.readlink("/proc/self/ns/user")
        with open("/proc/self/uid_map") as f:
            assert f.read().split() == ["0", "0", "4294967295"]
        # the control: a user namespace of its own, a private range
        base = _inspect(lab, "uh-auto")["uid_base"]
        assert os.readlink("/proc/%d/ns/user" % own) != init_userns
        r = lab.isc("exec", "uh-auto", "cat", "/proc/self/uid_map", "/proc/self/gid_map")
        assert [l.split() for l in r.stdout.splitlines()] == [["0", str(base), "65536"]] * 2
        # --userns host
        info = _inspect(lab, "uh")
        assert info["plan"]["userns"] == "host"
        assert "user" not in {n["type"] for n in info["config"]["linux"]["namespaces"]}
        assert os.readlink("/proc/%d/ns/user" % pid) == init_userns
        r = lab.isc("exec", "uh", "cat", "/proc/self/uid_map", "/proc/self/gid_map")
        assert [l.split() for l in r.stdout.splitlines()] == [["0", "0", "4294967295"]] * 2
        # still: read-only root, no_new_privs, seccomp, the default capability sets, no mount
        probe = ("echo -n 'root:'; (touch /x) 2>&1 | grep -c 'Read-only'; "
                 "echo -n 'nnp:'; grep NoNewPrivs /proc/self/status | cut -f2; "
                 "echo -n 'seccomp:'; grep '^Seccomp:' /proc/self/status | cut -f2; "
                 "echo -n 'mount:'; (mount -t tmpfs none /mnt) 2>&1 | grep -c 'denied\\|not permitted'; "
                 "echo -n 'uid:'; id -u; touch /persist/mine")
        r = lab.isc("exec", "uh", "/bin/sh", "-c", probe)
        got = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
        assert got == {"root": "1", "nnp": "1", "seccomp": "2", "mount": "1", "uid": "0"}, r.stdout
        status = _proc_status(pid)
        assert re.search(r"^NoNewPrivs:\t1$", status, re.M) and re.search(r"^Seccomp:\t2$", status, re.M)
        assert_sets(cap_sets(status), expected_sets(DEFAULT_CAPS))
        # the container's root is the host's root: its files are owned by host uid 0
        st = os.stat(lab.path("containers", "uh", "persist", "mine"))
        assert (st.st_uid, st.st_gid) == (0, 0)
    finally:
        _rm(lab, "uh")
        _rm(lab, "uh-auto")


def _cgroup_mounts():
    """[(fstype, mount root, mount point, super options)] of cgroup file systems."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.rstrip("\n").split(" - ", 1)
            pf, qf = pre.split(), post.split()
            if qf[0] in ("cgroup", "cgroup2"):
                out.append((qf[0], pf[3], pf[4], set(qf[2].split(","))))
    return out


def cpu_cgroup(pid):
    """('v1', dir) for a cpu controller on a v1 hierarchy, else ('v2', dir)
    when the unified hierarchy has the cpu controller, else None."""
    with open("/proc/%d/cgroup" % pid) as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f]
    mounts = _cgroup_mounts()
    for hid, ctrls, path in lines:
        if hid != "0" and "cpu" in ctrls.split(","):
            for fstype, mroot, mp, opts in mounts:
                if fstype == "cgroup" and "cpu" in opts:
                    return "v1", os.path.join(mp, os.path.relpath(path, mroot))
    for hid, ctrls, path in lines:
        if hid == "0":
            for fstype, mroot, mp, opts in mounts:
                if fstype == "cgroup2":
                    d = os.path.join(mp, os.path.relpath(path, mroot))
                    with open(os.path.join(d, "cgroup.controllers")) as f:
                        if "cpu" in f.read().split():
                            return "v2", d
    return None


def _read(path):
    with open(path) as f:
        return f.read().strip()


def _cpu_limit(pid):
    """(quota, period) as the kernel holds it for the service's group;
    quota None for no limit."""
    found = cpu_cgroup(pid)
    if found is None:
        pytest.skip("the kernel has no cpu cgroup controller (neither v1 nor v2)")
    kind, d = found
    assert os.path.basename(d).startswith("isc-"), d  # the service's own group, not iscd's
    if kind == "v1":
        q = int(_read(os.path.join(d, "cpu.cfs_quota_us")))
        return (None if q == -1 else q), int(_read(os.path.join(d, "cpu.cfs_period_us")))
    q, p = _read(os.path.join(d, "cpu.max")).split()
    return (None if q == "max" else int(q)), int(p)


@pytest.mark.parametrize("cpus,quota", [("1.5", 150000), ("0.25", 25000)])
def test_cpus_sets_the_cpu_quota(lab, cpus, quota):
    """--cpus N: a quota of N * 100 ms per 100 ms period on the service's
    cpu cgroup (v1 cpu.cfs_quota_us or v2 cpu.max); without it, no quota."""
    try:
        pid = _run_d(lab, "cpu", "--cpus", cpus, "busybox", "sleep", "600")
        ctl = _run_d(lab, "cpu-none", "busybox", "sleep", "600")
        assert _cpu_limit(pid) == (quota, 100000)
        assert _cpu_limit(ctl)[0] is None
        assert cpu_cgroup(pid)[1] != cpu_cgroup(ctl)[1]
    finally:
        _rm(lab, "cpu")
        _rm(lab, "cpu-none")
