# SPDX-License-Identifier: GPL-2.0-or-later
"""org.isc.audit.id: the container's processes (the init and every exec)
carry the audit identity as their loginuid, and cannot change it.  Only the
loginuid is set here; kernel audit itself is not touched (test_audit.py)."""
import os
import time

import pytest

import helpers

pytestmark = pytest.mark.isc_only

ANN = "org.isc.audit.id"
AUID = 0xF0000000 + 42  # the container range (docs/audit.md)


def _loginuid(pid):
    with open("/proc/%d/loginuid" % pid) as f:
        return int(f.read())


def _running(runtime, b):
    b.config.setdefault("annotations", {})[ANN] = str(AUID)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    return runtime.state(b.id)["pid"]


def test_init_and_exec_carry_the_audit_id(runtime, bundle):
    pid = _running(runtime, bundle("sleep", "60"))
    assert _loginuid(pid) == AUID
    # the caller's own loginuid is untouched
    assert _loginuid(os.getpid()) == _loginuid(os.getppid())
    pid_file = os.path.join(runtime.workdir, "exec-%d.pid" % time.monotonic_ns())
    b_id = runtime.ids[-1]
    r = runtime("exec", "--detach", "--pid-file", pid_file, b_id, "/bin/payload", "sleep", "60")
    assert r.returncode == 0, r.stderr
    with open(pid_file) as f:
        assert _loginuid(int(f.read())) == AUID


def test_container_root_cannot_change_it(runtime, bundle):
    b = bundle("write", "/proc/self/loginuid", "4294967295")
    b.config.setdefault("annotations", {})[ANN] = str(AUID)
    r = runtime.run(b)
    assert (r.returncode, r.stdout, r.stderr) == (1, "errno EPERM\n", "")
    # even with every capability in its user namespace, and a value that
    # maps into it (an unmapped one would fail with EINVAL before the
    # permission check: kernel/audit.c)
    b = bundle("write", "/proc/self/loginuid", "1000")
    helpers.set_caps(b.config, list(helpers.CAPS))
    b.config.setdefault("annotations", {})[ANN] = str(AUID)
    r = runtime.run(b)
    assert (r.returncode, r.stdout, r.stderr) == (1, "errno EPERM\n", "")


def test_refused_with_audit_control_and_no_user_namespace(runtime, bundle):
    b = bundle("true")
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]
    helpers.set_caps(b.config, ["CAP_AUDIT_CONTROL"])
    b.config.setdefault("annotations", {})[ANN] = str(AUID)
    r = runtime.run(b)
    assert (r.returncode, r.stderr) == (1, "isc-runtime: annotation org.isc.audit.id: the container would keep "
                                        "CAP_AUDIT_CONTROL without a user namespace and could change its audit "
                                        "identity: Invalid argument\n")
    r = runtime("state", b.id)  # nothing half-created
    assert (r.returncode, r.stderr) == (1, 'isc-runtime: container "%s" does not exist\n' % b.id)


@pytest.mark.parametrize("value,why", [
    ("42", "42: outside the container range 4026531840-4043309055: Numerical result out of range"),
    ("abc", '"abc": not a decimal number: Invalid argument'),
    ("04026531882", '"04026531882": not a decimal number: Invalid argument'),
    ("4294967295", "4294967295: outside the container range 4026531840-4043309055: Numerical result out of range"),
    ("", '"": not a decimal number: Invalid argument'),
    # the range before issue 11: real logins have such ids
    ("1000042", "1000042: outside the container range 4026531840-4043309055: Numerical result out of range"),
    # above the range
    ("4043309056", "4043309056: outside the container range 4026531840-4043309055: Numerical result out of range"),
])
def test_bad_values_refused(runtime, bundle, value, why):
    b = bundle("true")
    b.config.setdefault("annotations", {})[ANN] = value
    r = runtime.run(b)
    assert (r.returncode, r.stderr) == (1, "isc-runtime: annotation: org.isc.audit.id %s\n" % why)
