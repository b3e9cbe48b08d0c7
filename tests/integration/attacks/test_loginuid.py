# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack (issue 11, item 11): a container without org.isc.audit.id started
with the loginuid of its caller, and a caller without one (a daemon, this
test) left it unset: the kernel lets any task set an unset loginuid once,
without privilege.  The container could give itself an audit identity -
another container's (1000042) when it has no user namespace, any id of its
own map when it has one.  On 51b9795 both writes succeeded.

Now the runtime never lets a container (or an exec into one) start with an
unset loginuid: the caller's own is inherited when it has one; else the
runtime sets its own to 65534 (ISC_AUDIT_ID_NONE: nobody, outside the
container range) before the first process of the container exists.
Changing either needs CAP_AUDIT_CONTROL in the initial user namespace.
Only loginuids are set here; kernel audit is not touched."""
import os
import subprocess
import time

import pytest

import helpers

pytestmark = pytest.mark.isc_only

NONE = 65534
UNSET = 4294967295


def loginuid(pid):
    with open("/proc/%d/loginuid" % pid) as f:
        return int(f.read())


@pytest.fixture(autouse=True)
def caller_is_unset():
    """The attack needs a caller without a loginuid (this test process)."""
    if loginuid(os.getpid()) != UNSET:
        pytest.skip("the test runs with a loginuid set (%d): no unset loginuid to inherit"
                    % loginuid(os.getpid()))


def no_userns(b):
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]


@pytest.mark.parametrize("userns,value", [(True, "0"), (False, "1000042")])
def test_container_cannot_set_its_loginuid(runtime, bundle, userns, value):
    b = bundle("write", "/proc/self/loginuid", value)
    if not userns:
        no_userns(b)
    r = runtime.run(b)
    assert (r.returncode, r.stdout.strip()) == (1, "errno EPERM"), (r.stdout, r.stderr)


def test_exec_cannot_set_its_loginuid(runtime, bundle):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0, b.errors()
    assert runtime.start(b.id).returncode == 0
    r = runtime("exec", b.id, "/bin/payload", "write", "/proc/self/loginuid", "0")
    assert (r.returncode, r.stdout.strip()) == (1, "errno EPERM"), (r.stdout, r.stderr)
    pid_file = os.path.join(runtime.workdir, "exec-%d.pid" % time.monotonic_ns())
    r = runtime("exec", "--detach", "--pid-file", pid_file, b.id, "/bin/payload", "sleep", "60")
    assert r.returncode == 0, r.stderr
    with open(pid_file) as f:
        assert loginuid(int(f.read())) == NONE


def test_init_gets_nobody_or_the_callers_loginuid(runtime, bundle):
    b = bundle("sleep", "60")
    assert runtime.create(b).returncode == 0, b.errors()
    assert loginuid(runtime.state(b.id)["pid"]) == NONE
    # a caller with a loginuid of its own (set here once, as the kernel
    # allows for an unset one: the write the container no longer gets)
    # passes it on unchanged
    b2 = bundle("sleep", "60")
    b2.write()
    runtime.ids.append(b2.id)
    cmd = [runtime.path, "--root", runtime.root, "create", "--bundle", b2.path, b2.id]
    with open(b2.out_path, "ab") as out, open(b2.err_path, "ab") as err:  # files: the init keeps them
        r = subprocess.run(["sh", "-c", 'echo 1234 > /proc/self/loginuid && exec "$0" "$@"'] + cmd,
                           stdout=out, stderr=err, timeout=30, stdin=subprocess.DEVNULL,
                           start_new_session=True)
    assert r.returncode == 0, b2.errors()
    assert loginuid(runtime.state(b2.id)["pid"]) == 1234
    assert loginuid(os.getpid()) == UNSET  # the test's own is untouched
