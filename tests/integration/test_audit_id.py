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
    assert r.returncode != 0
    assert "EPERM" in r.stdout + r.stderr or "Operation not permitted" in r.stdout + r.stderr
    # even with every capability in its user namespace
    b = bundle("write", "/proc/self/loginuid", str(AUID + 1))
    helpers.set_caps(b.config, list(helpers.CAPS))
    b.config.setdefault("annotations", {})[ANN] = str(AUID)
    r = runtime.run(b)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert any(t in out for t in ("EPERM", "EINVAL", "Operation not permitted", "Invalid argument")), out


def test_refused_with_audit_control_and_no_user_namespace(runtime, bundle):
    b = bundle("true")
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]
    helpers.set_caps(b.config, ["CAP_AUDIT_CONTROL"])
    b.config.setdefault("annotations", {})[ANN] = str(AUID)
    r = runtime.run(b)
    assert r.returncode != 0
    assert ANN in r.stderr and "CAP_AUDIT_CONTROL" in r.stderr
    assert runtime("state", b.id).returncode != 0  # nothing half-created


@pytest.mark.parametrize("value", ["42", "abc", "04026531882", "4294967295", "",
                                   "1000042",       # the range before issue 11: real logins have such ids
                                   "4043309056"])   # above the range
def test_bad_values_refused(runtime, bundle, value):
    b = bundle("true")
    b.config.setdefault("annotations", {})[ANN] = value
    r = runtime.run(b)
    assert r.returncode != 0 and ANN in r.stderr
