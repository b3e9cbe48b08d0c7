# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack: a nested user namespace through clone() (issue 11, item 3).

isc's default profile (`isc-runtime spec`; `isc run` uses the same) keeps
unshare and setns off its allowlist, but on 51b9795 allowed clone with any
flags: clone(CLONE_NEWUSER|CLONE_NEWNET) from a default container gave the
child a full capability set in a new user namespace over a new network
namespace -- the kernel surface (netfilter, new mounts, ...) the profile
otherwise keeps closed.

Proves, with the default profile:
- clone with each namespace flag, alone, together, and with bit 32 of the
  flags set, fails with EPERM; unshare too; clone3 fails with ENOSYS (its
  flags are in memory seccomp cannot read), so libc falls back to clone;
- the control, for each: without the profile the same call succeeds (the
  child of clone(CLONE_NEWUSER|CLONE_NEWNET) holds CAP_SYS_ADMIN: the attack
  is real here); a flag other than CLONE_NEWUSER alone needs CAP_SYS_ADMIN
  in the container's namespace before the kernel allows it, so each flag
  is also tried from a container given that capability;
- plain process creation still works: clone without namespace flags, a
  busybox shell pipeline with a subshell and a background job, and
  pthreads (glibc tries clone3 first, gets ENOSYS, uses clone).
"""
import pytest

import helpers
from operator_tty import default_seccomp

pytestmark = [pytest.mark.isc_only, pytest.mark.no_leak_check]  # isc's default profile

# what the container asks for (payload names; "high" sets bit 32 of the flags)
ATTACKS = ["user", "user,net", "user,net,high"]
# each namespace flag alone: refused by the kernel already unless the
# container holds CAP_SYS_ADMIN, so these run with it (in its namespace)
EACH_FLAG = ["ns", "uts", "ipc", "user", "pid", "net", "cgroup"]


def probe(runtime, bundle, *args, profile=True, sys_admin=False):
    b = bundle(*args)
    if profile:
        b.linux["seccomp"] = default_seccomp(runtime.path)
    if sys_admin:
        helpers.set_caps(b.config, helpers.MINIMAL_CAPS + ["CAP_SYS_ADMIN"])
    r = runtime.run(b)
    return r.stdout.strip() + (" (stderr: %s)" % r.stderr.strip() if r.stderr.strip() else "")


@pytest.mark.parametrize("flags", ATTACKS)
def test_clone_new_userns_refused(runtime, bundle, flags):
    # the control: the kernel allows it here, and the child holds CAP_SYS_ADMIN
    assert probe(runtime, bundle, "syscall", "clone", flags, profile=False) == "sys_admin=1 ok"
    assert probe(runtime, bundle, "syscall", "clone", flags) == "errno EPERM"


@pytest.mark.parametrize("flag", EACH_FLAG)
def test_clone_each_namespace_flag_refused(runtime, bundle, flag):
    assert probe(runtime, bundle, "syscall", "clone", flag, profile=False, sys_admin=True) == "sys_admin=1 ok"
    assert probe(runtime, bundle, "syscall", "clone", flag, sys_admin=True) == "errno EPERM"


@pytest.mark.parametrize("flag", ["user", "net"])
def test_unshare_refused(runtime, bundle, flag):
    assert probe(runtime, bundle, "syscall", "unshare", flag, profile=False, sys_admin=True) == "ok"
    assert probe(runtime, bundle, "syscall", "unshare", flag, sys_admin=True) == "errno EPERM"


@pytest.mark.parametrize("flags", ["0", "user,net"])
def test_clone3_enosys(runtime, bundle, flags):
    assert probe(runtime, bundle, "syscall", "clone3", flags, profile=False) == "ok"
    assert probe(runtime, bundle, "syscall", "clone3", flags) == "errno ENOSYS"


def test_plain_clone_and_threads_work(runtime, bundle):
    assert probe(runtime, bundle, "syscall", "clone", "0") == "sys_admin=0 ok"
    assert probe(runtime, bundle, "threads", "8") == "ok 8"


def test_shell_pipeline_works(runtime, busybox_bundle):
    b = busybox_bundle("/bin/sh", "-c", "echo one two | tr ' ' '\\n' | sort -r; (echo sub) & wait; "
                       "x=$(echo cmd); echo $x")
    b.linux["seccomp"] = default_seccomp(runtime.path)
    out = runtime.run_ok(b)
    assert out.split() == ["two", "one", "sub", "cmd"]
