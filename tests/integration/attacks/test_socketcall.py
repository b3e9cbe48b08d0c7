# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack: the socket family allowlist from a 32-bit x86 program (review3 R2).

The default profile admits i386 and x32 programs and allows `socket` only for
some families (test_socket_families.py).  libseccomp writes each such rule for
i386 also as a rule for the multiplexer socketcall(call, args), with the
family comparison replaced by "call == SYS_SOCKET": the family is in memory,
where a filter cannot read it.  socketcall(SYS_SOCKET, {AF_VSOCK, ...}) was
allowed: every family, every netlink protocol, from any 32-bit program.

This machine cannot run i386 code (no IA-32 emulation), so the verdicts are
read from the filter the runtime actually installed: the container's init is
stopped with ptrace from the host, its program read with
PTRACE_SECCOMP_GET_FILTER and run by a classic-BPF interpreter
(seccomp_bpf.py) on struct seccomp_data inputs.

Proves, for the default profile (`isc-runtime spec`):
- i386 socketcall is refused with ENOSYS (any call: SYS_SOCKET, SYS_SOCKETPAIR,
  SYS_CONNECT), so musl falls back to the direct socket syscalls;
- i386's and x32's direct socket(2) keep the allowlist: AF_VSOCK EPERM,
  AF_INET allowed; netlink KOBJECT_UEVENT EPROTONOSUPPORT (controls: the same
  verdicts as x86_64's);
- socketpair only for AF_UNIX (it creates, then drops, a socket of any other
  family), live on x86_64 with a control without the profile;
and for a profile given to the runtime (the OCI path: podman, docker): the
default profile without its own socketcall rule still gets socketcall
refused by the compiler, while a profile naming socketcall is compiled as
written (Docker's allows it).

Syscalls newer than the profile: syscalls the profile does not name and whose
number is above the highest it names answer ENOSYS (libc then falls back to
the older call the profile allows); fchmodat2 is allowed like fchmodat;
syscalls left out below that number are still EPERM.
"""
import json
import os
import shutil
import subprocess

import pytest

import helpers
import seccomp_bpf as sb
from operator_tty import default_seccomp

# isc's default profile and compiler
pytestmark = [pytest.mark.isc_only, pytest.mark.no_leak_check]

X64, I386, X32 = sb.AUDIT_ARCH_X86_64, sb.AUDIT_ARCH_I386, sb.X32_SYSCALL_BIT
AF_UNIX, AF_INET, AF_NETLINK, AF_VSOCK = 1, 2, 16, 40
SOCK_STREAM, SOCK_RAW = 1, 3
NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT = 0, 15
SYS_SOCKET, SYS_CONNECT, SYS_SOCKETPAIR = 1, 3, 8  # socketcall call numbers
NR_I386 = {"socketcall": 102, "socket": 359, "socketpair": 360, "mount": 21, "listmount": 458,
           "fchmodat2": 452}
NR_X64 = {"socket": 41, "socketpair": 53, "mount": 165, "pidfd_getfd": 438, "fchmodat2": 452,
          "listmount": 458}
ARGS_PTR = 0x10000  # socketcall's args: a pointer the filter cannot follow


def _seccomp_mode(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Seccomp:"):
                return line.split()[1]
    return None


def installed_filter(runtime, bundle, profile):
    """The program the container's init runs under (its only filter)."""
    b = bundle("sleep", "60")
    b.linux["seccomp"] = profile
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    # the filter is installed right before the exec of the payload
    helpers.wait_for(lambda: _seccomp_mode(pid) == "2", timeout=10, what="the container's filter")
    prog, count = sb.dump(pid)
    assert count == 1, "the container runs under %d filters" % count
    assert runtime.delete(b.id, force=True).returncode == 0
    return prog


def _i386_socketcall(prog, call):
    return sb.verdict(prog, I386, NR_I386["socketcall"], [call, ARGS_PTR])


def test_socketcall_refused_with_enosys(runtime, bundle):
    prog = installed_filter(runtime, bundle, default_seccomp(runtime.path))
    for call in (SYS_SOCKET, SYS_SOCKETPAIR, SYS_CONNECT):
        assert _i386_socketcall(prog, call) == "ERRNO(ENOSYS)", call


def test_direct_socket_keeps_the_allowlist_on_every_arch(runtime, bundle):
    prog = installed_filter(runtime, bundle, default_seccomp(runtime.path))
    for arch, nr in ((X64, NR_X64["socket"]), (I386, NR_I386["socket"]), (X64, NR_X64["socket"] | X32)):
        what = "arch 0x%x nr 0x%x" % (arch, nr)
        assert sb.verdict(prog, arch, nr, [AF_VSOCK, SOCK_STREAM, 0]) == "ERRNO(EPERM)", what
        assert sb.verdict(prog, arch, nr, [AF_INET, SOCK_STREAM, 0]) == "ALLOW", what
        assert sb.verdict(prog, arch, nr, [AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT]) == \
            "ERRNO(EPROTONOSUPPORT)", what
        assert sb.verdict(prog, arch, nr, [AF_NETLINK, SOCK_RAW, NETLINK_ROUTE]) == "ALLOW", what
    for arch, nr in ((X64, NR_X64["socketpair"]), (I386, NR_I386["socketpair"]),
                     (X64, NR_X64["socketpair"] | X32)):
        what = "arch 0x%x nr 0x%x" % (arch, nr)
        assert sb.verdict(prog, arch, nr, [AF_UNIX, SOCK_STREAM, 0]) == "ALLOW", what
        assert sb.verdict(prog, arch, nr, [AF_VSOCK, SOCK_STREAM, 0]) == "ERRNO(EPERM)", what


def test_default_profile_safe_in_runc(runtime, bundle, test_dir):
    """The default profile refuses socketcall itself: given to runc (which
    has no guard of its own: `isc-runtime spec` output is a valid runc
    bundle), socketcall is refused too."""
    runc = shutil.which("runc")  # scripts/install-deps.sh installs it
    assert runc, "runc not installed"
    b = bundle("sleep", "60")
    b.linux["seccomp"] = default_seccomp(runtime.path)
    b.write()
    root = os.path.join(test_dir, "runc-root")

    def rc(*args):
        with open(b.out_path, "ab") as out, open(b.err_path, "ab") as err:
            return subprocess.run([runc, "--root", root] + list(args), stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=err, timeout=30, start_new_session=True).returncode
    try:
        assert rc("run", "--detach", "--bundle", b.path, b.id) == 0, b.errors
        with open(os.path.join(test_dir, "runc-state.json"), "wb") as f:
            subprocess.run([runc, "--root", root, "state", b.id], stdout=f, check=True, timeout=30)
        with open(os.path.join(test_dir, "runc-state.json")) as f:
            pid = json.load(f)["pid"]
        helpers.wait_for(lambda: _seccomp_mode(pid) == "2", timeout=10, what="runc's container filter")
        prog, _count = sb.dump(pid)  # runc may stack its own filters: the newest is the profile
    finally:
        rc("delete", "--force", b.id)
    assert _i386_socketcall(prog, SYS_SOCKET) == "ERRNO(ENOSYS)"
    assert sb.verdict(prog, I386, NR_I386["socket"], [AF_VSOCK, SOCK_STREAM, 0]) == "ERRNO(EPERM)"
    assert sb.verdict(prog, I386, NR_I386["socket"], [AF_INET, SOCK_STREAM, 0]) == "ALLOW"


def test_user_profile_socket_rule_not_translated(runtime, bundle):
    """A profile given to the runtime (OCI path) that filters socket
    arguments and says nothing about socketcall: the compiler refuses
    socketcall itself; the direct call keeps the profile's comparisons."""
    profile = default_seccomp(runtime.path)
    profile["syscalls"] = [r for r in profile["syscalls"] if "socketcall" not in r["names"]]
    prog = installed_filter(runtime, bundle, profile)
    assert _i386_socketcall(prog, SYS_SOCKET) == "ERRNO(ENOSYS)"
    assert sb.verdict(prog, I386, NR_I386["socket"], [AF_VSOCK, SOCK_STREAM, 0]) == "ERRNO(EPERM)"
    assert sb.verdict(prog, I386, NR_I386["socket"], [AF_INET, SOCK_STREAM, 0]) == "ALLOW"


def test_profile_naming_socketcall_compiled_as_written(runtime, bundle):
    """The control: a profile that allows socketcall itself (Docker's and
    podman's do) gets it, as from runc."""
    profile = default_seccomp(runtime.path)
    for r in profile["syscalls"]:
        if r["names"] == ["socketcall"]:
            r["action"] = "SCMP_ACT_ALLOW"
            del r["errnoRet"]
    prog = installed_filter(runtime, bundle, profile)
    assert _i386_socketcall(prog, SYS_SOCKET) == "ALLOW"
    assert sb.verdict(prog, I386, NR_I386["socket"], [AF_VSOCK, SOCK_STREAM, 0]) == "ERRNO(EPERM)"


def test_conditional_socketcall_beside_socket_rules_refused(runtime, bundle):
    """Review 4 R4-2: a profile that allows socketcall only for one call
    (SYS_SOCKETPAIR) beside its socket family rules: libseccomp would add
    its translation of those rules (socketcall a0 == SYS_SOCKET allowed:
    every family), so the profile is refused, named; the control: the same
    profile with socketcall unconditional compiles (test above)."""
    profile = default_seccomp(runtime.path)
    for r in profile["syscalls"]:
        if r["names"] == ["socketcall"]:
            r["action"] = "SCMP_ACT_ALLOW"
            r.pop("errnoRet", None)
            r["args"] = [{"index": 0, "value": SYS_SOCKETPAIR, "op": "SCMP_CMP_EQ"}]
    b = bundle("true")
    b.linux["seccomp"] = profile
    r = runtime.create(b)
    assert r.returncode != 0
    err = open(b.err_path).read()
    assert "linux.seccomp: socketcall with argument conditions, beside rules that compare the arguments" in err, err
    assert "allow or refuse socketcall without conditions" in err, err


def test_newer_syscalls_enosys_older_unnamed_eperm(runtime, bundle):
    prog = installed_filter(runtime, bundle, default_seccomp(runtime.path))
    for arch, nrs in ((X64, NR_X64), (I386, NR_I386)):
        assert sb.verdict(prog, arch, nrs["listmount"]) == "ERRNO(ENOSYS)", arch
        assert sb.verdict(prog, arch, nrs["fchmodat2"]) == "ALLOW", arch
        assert sb.verdict(prog, arch, nrs["mount"]) == "ERRNO(EPERM)", arch
    assert sb.verdict(prog, X64, NR_X64["listmount"] | X32) == "ERRNO(ENOSYS)"
    assert sb.verdict(prog, X64, 546 | X32) == "ALLOW"  # x32's own preadv2: above the common range
    assert sb.verdict(prog, X64, NR_X64["pidfd_getfd"]) == "ERRNO(EPERM)"


def _probe(runtime, bundle, *args, profile=True):
    b = bundle("syscall", *[str(a) for a in args])
    if profile:
        b.linux["seccomp"] = default_seccomp(runtime.path)
    r = runtime.run(b)
    return r.stdout.strip() + (" (stderr: %s)" % r.stderr.strip() if r.stderr.strip() else "")


def test_socketpair_live(runtime, bundle):
    assert _probe(runtime, bundle, "socketpair", AF_UNIX) == "ok"
    # the control: the kernel creates the vsock socket, then refuses the pair
    assert _probe(runtime, bundle, "socketpair", AF_VSOCK, profile=False) == "errno EOPNOTSUPP"
    assert _probe(runtime, bundle, "socketpair", AF_VSOCK) == "errno EPERM"


def test_newer_syscalls_live(runtime, bundle):
    assert _probe(runtime, bundle, "fchmodat2", "/tmp/f") == "ok"
    # listmount(NULL, ...): the kernel answers EFAULT, the profile ENOSYS
    assert _probe(runtime, bundle, "nr", NR_X64["listmount"], profile=False) == "errno EFAULT"
    assert _probe(runtime, bundle, "nr", NR_X64["listmount"]) == "errno ENOSYS"
    # pidfd_getfd(-1, -1, 0): unnamed, older than the newest named: EPERM
    assert _probe(runtime, bundle, "nr", NR_X64["pidfd_getfd"], -1, -1, 0, profile=False) == "errno EBADF"
    assert _probe(runtime, bundle, "nr", NR_X64["pidfd_getfd"], -1, -1, 0) == "errno EPERM"
