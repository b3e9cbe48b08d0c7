# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack: the operator's terminal (bubblewrap CVE-2017-5226, flatpak
CVE-2019-10063; issue 11, item 2).

The test owns a pty that stands for the operator's terminal: `isc-runtime
exec` and a foreground `isc-runtime run` (no -t) run as a job of it, with
the pty as their controlling terminal and stdio.  A process in the
container then pushes a command into the terminal's input with TIOCSTI --
through its fds 0, 1, 2 and through /dev/tty -- which the operator's shell
would run as host root.  On 51b9795 the process was in the operator's
session with the pty on fds 0..2: the push landed.

Proves, with no seccomp profile (so that only the runtime's own defences
count):
- nothing reaches the terminal's input; TIOCSTI on fds 0..2 fails with
  ENOTTY (they are the relay's pipes), /dev/tty fails with ENXIO (no
  controlling terminal);
- the process leads a session of its own without a controlling terminal
  (sid = its pid, tty_nr 0) and no fd of it is the pty (only pipes);
- detached (create, exec --detach), the process gets /dev/null for the
  terminal, and the runtime says so;
and with isc's default profile (`isc-runtime spec`, also what `isc run`
uses): TIOCSTI into the process's own terminal, TIOCLINUX, and both with
bit 32 of the command set (the kernel ignores it; CVE-2019-10063) fail
with EPERM, where without the profile the same TIOCSTI lands (the control).
The probe itself is shown to work: run on the host under the same pty, it
pushes its bytes into the terminal's input.

The same through `isc exec -i` in a lab (the operator's own command; it runs
the library's exec in its own process, not through iscd), where the
service has isc's default profile: TIOCSTI is refused by the profile
(EPERM), /dev/tty opens nothing, the process leads its own session and has
only pipes.
"""
import os
import stat
import shutil
import tempfile

import pytest

import helpers
from labhost import ISC, ISCD, busybox_rootfs, lab_host  # noqa: F401  (fixture)
from operator_tty import OperatorTerminal, default_seccomp, probe_lines, tty_info

pytestmark = pytest.mark.isc_only  # runc hands the caller's stdio to the container

MARK = "id -u >/tmp/pwned\n"
FD_TARGETS = [("0", "errno ENOTTY"), ("1", "errno ENOTTY"), ("2", "errno ENOTTY"),
              ("/dev/tty", "errno ENXIO")]


@pytest.fixture
def term():
    t = OperatorTerminal()
    yield t
    t.close()


def rt(runtime, *args):
    return [runtime.path, "--root", runtime.root] + [str(a) for a in args]


def running(runtime, b):
    assert runtime.create(b).returncode == 0, b.errors()
    assert runtime.start(b.id).returncode == 0
    return runtime.state(b.id)["pid"]


def check_own_session(info, fds, pid):
    """A session of its own (sid = pid in its pid namespace), no controlling
    terminal, fds 0..2 the relay's pipes (1 and 2 one pipe: one terminal)."""
    assert info["sid"] == pid and info["pid"] == pid, info
    assert info["tty_nr"] == 0, info
    assert sorted(fds) == [0, 1, 2], fds
    assert all(fds[i].startswith("pipe:") for i in range(3)), fds
    assert fds[1] == fds[2] and fds[0] != fds[1], fds


def test_tiocsti_probe_lands_on_the_host(term, payload):
    """The control: the same probe outside any container, as a job of the
    terminal, pushes its bytes into the terminal's input."""
    for target in ("0", "/dev/tty"):
        rc, out = term.run([payload, "tiocsti", target, MARK])
        assert (rc, probe_lines(out)) == (0, ["ok"]), out
        assert term.injected() == MARK.encode()


def test_exec_cannot_reach_operator_terminal(runtime, bundle, term):
    b = bundle("sleep", "60")
    running(runtime, b)
    for target, want in FD_TARGETS:
        rc, out = term.run(rt(runtime, "exec", b.id, "/bin/payload", "tiocsti", target, MARK))
        assert term.injected() == b"", (target, out)  # what the operator's shell would run
        assert probe_lines(out) == [want], (target, out)
        assert rc == 1, (target, out)
    rc, out = term.run(rt(runtime, "exec", b.id, "/bin/payload", "tty-info"))
    assert rc == 0, out
    info, fds = tty_info(probe_lines(out))
    check_own_session(info, fds, info["pid"])
    assert info["pid"] != 1


def test_run_cannot_reach_operator_terminal(runtime, bundle, term):
    for target, want in FD_TARGETS:
        b = bundle("tiocsti", target, MARK)
        b.write()
        runtime.ids.append(b.id)
        rc, out = term.run(rt(runtime, "run", "--bundle", b.path, b.id))
        assert term.injected() == b"", (target, out)
        assert probe_lines(out) == [want], (target, out)
        assert rc == 1, (target, out)
    b = bundle("tty-info")
    b.write()
    runtime.ids.append(b.id)
    rc, out = term.run(rt(runtime, "run", "--bundle", b.path, b.id))
    assert rc == 0, out
    info, fds = tty_info(probe_lines(out))
    check_own_session(info, fds, 1)


def host_view(pid, tty_path):
    """(session leader?, tty_nr, fd targets) of a host pid; no fd may be the pty."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    sid, tty_nr = int(fields[3]), int(fields[4])
    fds = {int(n): os.readlink("/proc/%d/fd/%s" % (pid, n)) for n in os.listdir("/proc/%d/fd" % pid)}
    assert tty_path not in fds.values(), fds
    return sid == pid, tty_nr, fds


def check_private_null(pid, fds):
    """fds 0..2 of pid are a null device (1:3), but not the host's /dev/null
    inode: a container without a user namespace is root, that inode's owner,
    and could chmod or chown it for every user of the host."""
    host = os.stat("/dev/null")
    for i in range(3):
        st = os.stat("/proc/%d/fd/%d" % (pid, i))
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3), (i, fds)
        assert (st.st_dev, st.st_ino) != (host.st_dev, host.st_ino), (i, fds)


def test_detached_gets_dev_null(runtime, bundle, term):
    b = bundle("sleep", "60")
    b.write()
    runtime.ids.append(b.id)
    rc, out = term.run(rt(runtime, "create", "--bundle", b.path, b.id))
    assert rc == 0, out
    assert runtime.start(b.id).returncode == 0
    init = runtime.state(b.id)["pid"]
    leader, tty_nr, fds = host_view(init, term.path)
    assert leader and tty_nr == 0
    check_private_null(init, fds)
    text = out.decode(errors="replace")
    for name in ("stdin", "stdout", "stderr"):
        assert "%s is a terminal: a detached container gets /dev/null" % name in text, text

    pid_file = os.path.join(runtime.workdir, "exec.pid")
    rc, out = term.run(rt(runtime, "exec", "--detach", "--pid-file", pid_file, b.id,
                          "/bin/payload", "sleep", "60"))
    assert rc == 0, out
    with open(pid_file) as f:
        pid = int(f.read())
    leader, tty_nr, fds = host_view(pid, term.path)
    assert leader and tty_nr == 0
    check_private_null(pid, fds)


# ---- the default profile: TIOCSTI and TIOCLINUX refused ----------------------

@pytest.mark.parametrize("high", [False, True], ids=["cmd", "cmd-bit32"])
def test_default_profile_refuses_tiocsti(runtime, bundle, high):
    extra = ["high"] if high else []
    # the control: without the profile, TIOCSTI into the process's own
    # terminal lands, also with bit 32 set (the kernel reads 32 bits)
    b = bundle("own-pty-tiocsti", *extra)
    assert runtime.run_ok(b).strip() == "ok injected=Z"
    b = bundle("own-pty-tiocsti", *extra)
    b.linux["seccomp"] = default_seccomp(runtime.path)
    r = runtime.run(b)
    # every other step (ptmx, TIOCGPTPEER, TIOCSCTTY, TCGETS, TCSETS) passed
    assert r.stdout.strip() == "TIOCSTI errno EPERM", r.stdout + r.stderr
    assert r.returncode == 1


@pytest.mark.parametrize("high", [False, True], ids=["cmd", "cmd-bit32"])
def test_default_profile_refuses_tioclinux(runtime, bundle, high):
    extra = ["0", "high"] if high else ["0"]
    # the control: the kernel answers TIOCLINUX itself (/dev/null is no console)
    b = bundle("syscall", "tioclinux", *extra)
    assert runtime.run(b).stdout.strip() == "errno ENOTTY"
    b = bundle("syscall", "tioclinux", *extra)
    b.linux["seccomp"] = default_seccomp(runtime.path)
    assert runtime.run(b).stdout.strip() == "errno EPERM"


# ---- isc exec in a lab ---------------------------------------------------------

def test_isc_exec_cannot_reach_operator_terminal(lab_host, payload, term):
    lab = lab_host
    with tempfile.TemporaryDirectory(prefix="isc-attack-img-") as d:
        rootfs = os.path.join(d, "rootfs")
        shutil.copytree(busybox_rootfs(), rootfs, symlinks=True)
        shutil.copy(payload, os.path.join(rootfs, "bin", "payload"))
        lab.isc("image", "import", "probe", rootfs, timeout=120)
    lab.isc("run", "-d", "--name", "svc", "probe", "sleep", "1000", timeout=60)
    env = dict(os.environ, ISC_ISCD=ISCD)
    env.pop("ISC_LAB", None)
    isc_exec = [ISC, "--lab", lab.name, "exec", "-i", "svc", "/bin/payload"]
    # the service runs under isc's default profile: TIOCSTI is refused there
    # too; /dev/tty fails at open, before any ioctl
    for target, want in [("0", "errno EPERM"), ("1", "errno EPERM"), ("2", "errno EPERM"),
                         ("/dev/tty", "errno ENXIO")]:
        rc, out = term.run(isc_exec + ["tiocsti", target, MARK], env=env, timeout=60)
        assert term.injected() == b"", (target, out)
        assert probe_lines(out) == [want], (target, out)
        assert rc == 1, (target, out)
    rc, out = term.run(isc_exec + ["tty-info"], env=env, timeout=60)
    assert rc == 0, out
    info, fds = tty_info(probe_lines(out))
    check_own_session(info, fds, info["pid"])
