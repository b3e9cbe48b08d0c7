# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures of the fault-injection suite (tests/fault, faultlib.py)."""
import os
import shutil
import tempfile

import pytest

import faultlib


@pytest.fixture(scope="session")
def fault_env():
    if os.geteuid() != 0:
        pytest.skip("the fault suite makes namespaces, mounts and cgroups: run as root")
    if not os.access(faultlib.STRACE, os.X_OK):
        pytest.fail("strace is needed (scripts/install-deps.sh installs it)")
    rt = os.path.abspath(os.environ.get(
        "ISC_TEST_RUNTIME", os.path.join(faultlib.REPO, "build", "src", "runtime", "isc-runtime")))
    payload = os.path.abspath(os.environ.get(
        "ISC_TEST_PAYLOAD", os.path.join(faultlib.REPO, "build", "tests", "payload", "isc-payload")))
    for p in (rt, payload):
        if not os.access(p, os.X_OK):
            pytest.fail("not built: %s" % p)
    work = tempfile.mkdtemp(prefix="isc-fault-", dir="/tmp")
    os.chmod(work, 0o755)
    env = faultlib.Env(rt, payload, work)
    yield env
    for c in faultlib.CONFIGS:
        root = env.state_root(c)
        if os.path.isdir(root):
            for cid in os.listdir(root):
                if not cid.startswith("."):
                    faultlib.clean(root, cid, [])
    if not any(faultlib.helpers.mount_leftovers(work) for _ in [0]):
        shutil.rmtree(work, ignore_errors=True)
