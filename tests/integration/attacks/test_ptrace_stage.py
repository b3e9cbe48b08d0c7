# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 11 item 9 and runc CVE-2016-9962: the runtime's processes seen
from inside the container.

Between entering the container's namespaces and its execve, an exec's
stage and its child run the runtime's image, with the runtime's memory,
its fds (the caller's stdio, the sync socket) and, until the capabilities
are dropped, every capability.  A process of the container that may ptrace
them or open their /proc/PID/{exe,fd} takes all of that.  They are
non-dumpable from the fork to the execve, and again after every change of
credentials (which resets dumpability to fs.suid_dumpable): then only
CAP_SYS_PTRACE over the host's user namespace reaches them.

The probe (the container's init) scans every pid of the container while
`exec` runs again and again, and tries PTRACE_SEIZE, /proc/PID/exe and
/proc/PID/fd on every process that is not one of the container's programs
(the exec child shows in the container as pid N named after the runtime).
It must get none.  Positive controls: it attaches to a child of its own
(ptrace works under this profile), and it did see the runtime's processes
in the container while it scanned.

Not covered, because no runtime can: a container in the host's user
namespace that holds CAP_SYS_PTRACE may ptrace any process of its pid
namespace, dumpable or not (docs/attacks.md)."""
import pytest

import helpers
from conftest import install

pytestmark = pytest.mark.no_leak_check

ROUNDS = 40           # exec runs while the probe scans
SCAN_LIMIT = 10 ** 7  # the probe's own bound (scans); it stops at /tmp/stop


def _ptrace_bundle(bundle, probe, variant):
    b = bundle("true")
    install(b.rootfs, probe, "probe")
    b.set_args("/bin/probe", "ptrace-scan", str(SCAN_LIMIT), "/tmp/stop")
    # a profile that allows ptrace (podman's does); everything else too
    b.linux["seccomp"] = helpers.seccomp_profile(default_action="SCMP_ACT_ALLOW")
    if variant.startswith("userns"):
        # CAP_SYS_PTRACE over the container's own user namespace
        helpers.set_caps(b.config, helpers.MINIMAL_CAPS + ["CAP_SYS_PTRACE"])
    else:
        # CVE-2016-9962: the container's root (host uid 0, no capability to
        # ptrace) against the runtime's processes of the same uid
        helpers.set_namespace(b.config, "user", present=False)
        del b.linux["uidMappings"], b.linux["gidMappings"]
    return b


def _scan_while_exec(runtime, b, exec_args):
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: "READY" in b.output(), timeout=20, what="the probe to start")
    for i in range(ROUNDS):
        r = runtime("exec", *exec_args, b.id, "/bin/payload", "true")
        assert r.returncode == 0, "exec %d: %s" % (i, r.stderr)
    r = runtime("exec", b.id, "/bin/payload", "write", "/tmp/stop", "1")
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: "SCANS" in b.output(), timeout=30, what="the probe's summary")
    return b.output()


@pytest.mark.isc_only
@pytest.mark.pass_normal  # a race (ROUNDS execs against a scanning probe): at the shipped build's speed, once
@pytest.mark.parametrize("variant", ["userns", "userns-detach", "host-userns"])
def test_exec_stage_not_reachable_by_ptrace(runtime, bundle, probe, variant):
    b = _ptrace_bundle(bundle, probe, variant)
    out = _scan_while_exec(runtime, b, ["--detach"] if variant.endswith("detach") else [])
    assert "CONTROL-ATTACH" in out, "ptrace does not work in this container at all:\n" + out
    summary = [ln for ln in out.splitlines() if ln.startswith("SCANS")][0].split()
    assert int(summary[1]) > 0 and int(summary[3]) > 0, \
        "the probe never saw a runtime process in the container: %s" % summary
    bad = [ln for ln in out.splitlines() if ln.split(" ", 1)[0] in ("ATTACH", "EXE", "FD")]
    assert bad == [], "the probe reached the runtime:\n" + "\n".join(bad[:20])


@pytest.mark.isc_only
def test_waiting_init_not_reachable(runtime, bundle, probe):
    """The init between create and start (it holds exec.fifo and the
    runtime's fds until its execve): a process exec'd into the created
    container, of the same uid, cannot ptrace it or open its fds."""
    b = bundle("sleep", "60")
    install(b.rootfs, probe, "probe")
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]
    helpers.set_namespace(b.config, "pid", present=False)  # the init's host pid is its pid here
    b.linux["seccomp"] = helpers.seccomp_profile(default_action="SCMP_ACT_ALLOW")
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    # control: the init is there, waiting, under the runtime's name
    with open("/proc/%d/comm" % pid) as f:
        comm = f.read().strip()
    assert comm not in ("payload", "probe"), comm
    r = runtime("exec", b.id, "/bin/probe", "hold-exe", str(pid), "/dev/null")
    assert r.stdout.startswith("OPEN-ERR 13\n"), r.stdout  # EACCES: non-dumpable
