# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack (review finding F7): a service keeps and runs programs of its own.

An `isc run` service restarts from its pristine image, but on 5ec6f87 it
could write a program where it may write and run it: /persist was only
nosuid,nodev (kept across restarts: the program survives them), /dev was a
tmpfs without noexec, and memfd_create + execveat(AT_EMPTY_PATH) (or
fexecve) runs code that never touches a file system at all.

What must hold now (docs/threat-model.md, "written code"):
  - every place a service can write is noexec: a copy of a program there
    neither executes (EACCES) nor maps PROT_EXEC (EPERM, what a loader
    does); the program in the image still runs (positive control);
  - vm.memfd_noexec=2 in the service's pid namespace: memfd_create(MFD_EXEC)
    is refused (EACCES), a plain memfd is created 0666 with F_SEAL_EXEC
    (fchmod refused), execveat and fexecve of it fail with EACCES; a PROT_EXEC
    map of it still works (a JIT's double map); the service cannot write the
    sysctl (EACCES), and the host's value does not change;
  - `--persist-exec` and `--memfd-exec` lift exactly their own protection
    (positive controls) and survive a restart (they are in the plan).
The same sysctl through isc-runtime alone (linux.sysctl vm.memfd_noexec),
on the fast path and the staged one (a time namespace), with a control
without it.

The attacker is tests/integration/attacks/probe.c ("exec", "memfd")."""
import json
import os
import re
import shutil
import signal
import tempfile

import pytest

from conftest import install
from helpers import wait_for
from labhost import busybox_rootfs, initialised_lab

pytestmark = pytest.mark.isc_only

EACCES, EPERM = 13, 1
SYSCTL = "/proc/sys/vm/memfd_noexec"

# what a copy in a noexec place gets: no PROT_EXEC map, no execve
NOEXEC = ["MMAP-EXEC-ERR %d" % EPERM, "EXEC-ERR %d" % EACCES]
RUNS = ["MMAP-EXEC ok", "SAY EXEC-RAN"]
# what code in a memfd gets with vm.memfd_noexec=2
MEMFD_REFUSED = ["MFD_EXEC-ERR %d" % EACCES, "PLAIN mode=666 seals=20", "FCHMOD-ERR %d" % EPERM,
                 "MMAP-EXEC ok", "EXECVEAT-ERR %d" % EACCES, "FEXECVE-ERR %d" % EACCES, "SYSCTL 2"]


def host_sysctl():
    with open(SYSCTL) as f:
        return f.read().strip()


def memfd_runs(host_value):
    """The memfd probe's lines where memfd code may run (the host's value 0)."""
    return ["MFD_EXEC <fd>", "PLAIN mode=777 seals=1", "FCHMOD ok", "MMAP-EXEC ok", "SAY EXECVEAT-RAN",
            "SAY FEXECVE-RAN", "SYSCTL %s" % host_value]


def lines(out):
    """The probe's lines, the fd number of MFD_EXEC replaced by <fd>."""
    return [re.sub(r"^MFD_EXEC \d+$", "MFD_EXEC <fd>", ln) for ln in out.strip().splitlines()]


@pytest.fixture
def host_value():
    v = host_sysctl()
    if v != "0":
        pytest.skip("the host's vm.memfd_noexec is %s: memfd code cannot run anywhere here "
                    "(no positive control)" % v)
    yield v
    assert host_sysctl() == v, "the host's vm.memfd_noexec changed"


# ---- isc-runtime: linux.sysctl vm.memfd_noexec ------------------------------------

def _memfd_bundle(bundle, probe, sysctl, time_ns=False):
    b = bundle()
    install(b.rootfs, probe, "probe")
    b.process["args"] = ["/bin/probe", "memfd"]
    if sysctl is not None:
        b.linux["sysctl"] = {"vm.memfd_noexec": sysctl}
    if time_ns:  # the staged path: a stage process creates the namespaces and forks the init
        b.linux["namespaces"].append({"type": "time"})
    return b


@pytest.mark.parametrize("time_ns", [False, True], ids=["fast-path", "staged"])
def test_runtime_memfd_noexec_refuses_memfd_code(runtime, bundle, probe, host_value, time_ns):
    out = runtime.run_ok(_memfd_bundle(bundle, probe, "2", time_ns))
    assert lines(out) == MEMFD_REFUSED + ["SYSCTL-WRITE-ERR %d" % EACCES], out


def test_runtime_without_the_sysctl_memfd_code_runs(runtime, bundle, probe, host_value):
    """Positive control: the probe's memfd code runs without the sysctl."""
    out = runtime.run_ok(_memfd_bundle(bundle, probe, None))
    assert lines(out) == memfd_runs(host_value) + ["SYSCTL-WRITE-ERR %d" % EACCES], out


def test_runtime_memfd_noexec_holds_for_exec(runtime, bundle, probe, host_value):
    """A process that joins the container later (isc-runtime exec) is in
    the same pid namespace: the same refusal."""
    b = _memfd_bundle(bundle, probe, "2")
    b.process["args"] = ["/bin/payload", "sleep", "600"]
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    r = runtime("exec", b.id, "/bin/probe", "memfd")
    assert r.returncode == 0, r.stderr
    assert lines(r.stdout) == MEMFD_REFUSED + ["SYSCTL-WRITE-ERR %d" % EACCES], r.stdout


# ---- isc run --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def probe_lab(probe):
    """A lab with the image "probe": busybox plus /bin/probe."""
    with initialised_lab(busybox=False) as lab:
        d = tempfile.mkdtemp(prefix="isc-written-code-")
        try:
            os.chmod(d, 0o755)
            rootfs = os.path.join(d, "rootfs")
            shutil.copytree(busybox_rootfs(), rootfs, symlinks=True)
            install(rootfs, probe, "probe")
            lab.isc("image", "import", "probe", rootfs, timeout=120)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        yield lab


def _inspect(lab, name):
    return json.loads(lab.isc("inspect", name).stdout)[0]


def _running_pid(lab, name):
    st = _inspect(lab, name)["status"]
    return st["pid"] if st["state"] == "running" else 0


def _service(lab, name, *flags):
    lab.isc("run", "-d", "--name", name, *flags, "probe", "sleep", "600")
    return wait_for(lambda: _running_pid(lab, name), what="%s running" % name)


def _restart(lab, name):
    """Kill the service's process: the restart policy brings it back."""
    pid = _running_pid(lab, name)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _running_pid(lab, name) not in (0, pid), timeout=30, what="%s restarted" % name)


def _exec(lab, name, *argv):
    r = lab.isc("exec", name, *argv, check=False)
    assert r.returncode == 0, "isc exec %s %s: %d %s%s" % (name, " ".join(argv), r.returncode, r.stdout, r.stderr)
    return r.stdout


def _exec_written(lab, name, path):
    return lines(_exec(lab, name, "/bin/probe", "exec", path))


WRITABLE = ["/persist/p", "/dev/p", "/dev/shm/p", "/tmp/p", "/run/p", "/scratch/p"]


def _check_default(lab, name):
    assert lines(_exec(lab, name, "/bin/probe", "say", "image")) == ["SAY image"]  # the image's program runs
    for path in WRITABLE:
        assert _exec_written(lab, name, path) == NOEXEC, path
    assert lines(_exec(lab, name, "/bin/probe", "memfd")) == MEMFD_REFUSED + ["SYSCTL-WRITE-ERR %d" % EACCES]


def test_service_written_code_does_not_run(probe_lab, host_value):
    lab = probe_lab
    try:
        _service(lab, "wc-default")
        plan = _inspect(lab, "wc-default")["plan"]
        assert plan["persist_exec"] is False and plan["memfd_exec"] is False
        _check_default(lab, "wc-default")
        # /persist keeps the copy across the restart, and it still does not run
        _restart(lab, "wc-default")
        assert os.path.exists(lab.path("containers", "wc-default", "persist", "p"))
        _check_default(lab, "wc-default")
    finally:
        lab.isc("rm", "-f", "--purge", "wc-default", check=False)


def test_service_persist_exec_lifts_only_persist(probe_lab, host_value):
    """Positive control of /persist: --persist-exec, kept across a restart."""
    lab = probe_lab
    try:
        _service(lab, "wc-persist", "--persist-exec")
        for _ in range(2):
            assert _inspect(lab, "wc-persist")["plan"]["persist_exec"] is True
            assert _exec_written(lab, "wc-persist", "/persist/p") == RUNS
            assert _exec_written(lab, "wc-persist", "/dev/p") == NOEXEC
            assert _exec_written(lab, "wc-persist", "/tmp/p") == NOEXEC
            assert lines(_exec(lab, "wc-persist", "/bin/probe", "memfd")) == \
                MEMFD_REFUSED + ["SYSCTL-WRITE-ERR %d" % EACCES]
            _restart(lab, "wc-persist")
    finally:
        lab.isc("rm", "-f", "--purge", "wc-persist", check=False)


def test_service_memfd_exec_lifts_only_memfd(probe_lab, host_value):
    """Positive control of the memfd case: --memfd-exec, kept across a restart."""
    lab = probe_lab
    try:
        _service(lab, "wc-memfd", "--memfd-exec")
        for _ in range(2):
            assert _inspect(lab, "wc-memfd")["plan"]["memfd_exec"] is True
            assert lines(_exec(lab, "wc-memfd", "/bin/probe", "memfd")) == \
                memfd_runs(host_value) + ["SYSCTL-WRITE-ERR %d" % EACCES]
            assert _exec_written(lab, "wc-memfd", "/persist/p") == NOEXEC
            _restart(lab, "wc-memfd")
    finally:
        lab.isc("rm", "-f", "--purge", "wc-memfd", check=False)
