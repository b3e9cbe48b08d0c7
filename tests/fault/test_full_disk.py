# SPDX-License-Identifier: GPL-2.0-or-later
"""A full disk under the state root (issue 14): a size-limited tmpfs, never
the machine's own disk, filled to ENOSPC.

  - `isc-runtime run` on a full state root fails with a message that names
    the step and says "No space left on device"; `delete --force` then
    leaves nothing; with space again the same run works (the control);
  - `isc run` in a lab whose state root is full fails the same way, leaves
    no service, journal entry, runtime state, mount or network namespace,
    and the lab's audit trail still verifies as intact; with space again
    the same `isc run` works;
  - `isc stop` and `isc rm` on a full lab go ahead unjournalled (they make
    nothing), while `isc start` refuses at its journal entry.
"""
import contextlib
import errno
import os
import subprocess
import sys
import uuid

import pytest

import faultlib

sys.path.insert(0, os.path.join(faultlib.REPO, "tests", "integration"))
import labhost  # noqa: E402
from labhost import audit_guard  # noqa: E402

ENOSPC_TEXT = os.strerror(errno.ENOSPC)


@contextlib.contextmanager
def small_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0711" % size, "isc-fault-full", path], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)
        try:
            os.rmdir(path)
        except OSError:
            pass


def fill(path):
    """Write a filler file until the filesystem is full; returns its path."""
    filler = os.path.join(path, ".filler")
    with open(filler, "wb") as f:
        chunk = b"\0" * 65536
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    # what a partly filled block leaves: byte by byte to the end
    with open(filler, "ab", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return filler


def _first_line_keeps_the_rule(prog, stderr):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "no message"
    first = lines[0]
    assert first.startswith(prog + ": "), first
    assert first.endswith(": " + ENOSPC_TEXT), first
    # names the step: more than the errno text
    assert len(first[len(prog) + 2:-len(ENOSPC_TEXT)].strip(": ")) >= 4, first
    return first


def test_runtime_run_on_a_full_state_root(fault_env):
    root = os.path.join(fault_env.work, "state-full")
    with small_tmpfs(root, "1m"):
        filler = fill(root)
        cid = "full-" + uuid.uuid4().hex[:8]
        r = subprocess.run([fault_env.runtime, "--root", root, "run", cid], cwd=fault_env.bundles["plain"],
                           capture_output=True, text=True, timeout=faultlib.HANG_SECONDS, env=fault_env.env(),
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 1
        _first_line_keeps_the_rule("isc-runtime", r.stderr)
        d = subprocess.run([fault_env.runtime, "--root", root, "delete", "--force", cid], capture_output=True,
                           text=True, timeout=faultlib.HANG_SECONDS, env=fault_env.env())
        assert d.returncode == 0 or "does not exist" in d.stderr, d.stderr
        left = faultlib.leftovers(root, fault_env.bundles["plain"], cid, [])
        assert not left, left
        # the control: with space again the same run works
        os.unlink(filler)
        r = subprocess.run([fault_env.runtime, "--root", root, "run", cid], cwd=fault_env.bundles["plain"],
                           capture_output=True, text=True, timeout=faultlib.HANG_SECONDS, env=fault_env.env(),
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and "fault-ok" in r.stdout, r.stderr
        assert not faultlib.leftovers(root, fault_env.bundles["plain"], cid, [])


@pytest.fixture
def full_lab(fault_env):
    """An initialised lab whose state root is a 64 MiB tmpfs."""
    with audit_guard():
        lab = labhost.LabHost(labhost.unique_name("full"))
        with small_tmpfs(lab.root, "64m"):
            failure = None
            try:
                lab.init()
                r = lab.import_busybox()
                assert r.returncode == 0, r.stderr
                yield lab
            finally:
                r = lab.deinit(check=False)
                if r.returncode != 0 and "Device or resource busy" not in r.stderr:
                    failure = "deinit: %s" % r.stderr
        left = lab.leftovers()
        if left:
            lab.force_cleanup()
        assert not left and failure is None, (failure, left)


def test_isc_run_on_a_full_lab(full_lab):
    lab = full_lab
    filler = fill(lab.root)
    before = lab.isc("audit", "verify", check=False)
    r = lab.isc("run", "-d", "--name", "full", "busybox", "sleep", "1000", check=False)
    assert r.returncode == 1
    first = _first_line_keeps_the_rule("isc", r.stderr)
    assert first == "isc: run full: record it in %s/journal first: write full: %s" % (lab.root, ENOSPC_TEXT), first
    assert not os.path.exists(lab.path("containers", "full"))
    assert not os.path.exists(lab.path("journal", "full"))
    assert not os.path.exists(lab.path("runtime", "full"))
    assert not os.path.exists(lab.path("net", "ns", "full"))
    assert not labhost.mounts_under(lab.path("containers"))
    assert "full" not in lab.isc("ps", "-a").stdout
    # the trail is intact (what could not be written is not a record)
    os.unlink(filler)
    v = lab.isc("audit", "verify", check=False)
    assert v.returncode == 0 and " intact: " in v.stdout, (before.stdout, before.stderr, v.stdout, v.stderr)
    # the control: with space again the same run works
    lab.isc("run", "-d", "--name", "full", "busybox", "sleep", "1000")
    lab.isc("rm", "-f", "--purge", "full")
    assert not os.path.exists(lab.path("containers", "full"))


def test_stop_and_rm_go_ahead_on_a_full_lab_start_refuses(full_lab):
    """stop and rm free and make nothing: they go ahead when their journal
    entry cannot be written (iscd logs it: to syslog; its own log is on the
    full filesystem too); start makes a container and refuses, naming the
    journal and the errno."""
    lab = full_lab
    lab.isc("run", "-d", "--name", "svc", "busybox", "sleep", "1000")
    filler = fill(lab.root)
    r = lab.isc("stop", "-t", "1", "svc", check=False)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(lab.path("runtime", "svc"))
    assert not os.path.exists(lab.path("journal", "svc"))
    fill(lab.root)  # what the stop freed (the container's state) filled again
    r = lab.isc("start", "svc", check=False)
    assert r.returncode == 1
    first = _first_line_keeps_the_rule("isc", r.stderr)
    assert first == "isc: start svc: record it in %s/journal first: write svc: %s" % (lab.root, ENOSPC_TEXT), first
    assert not os.path.exists(lab.path("runtime", "svc"))
    fill(lab.root)
    r = lab.isc("rm", "--purge", "svc", check=False)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(lab.path("containers", "svc"))
    assert not os.path.exists(lab.path("journal", "svc"))
    assert not os.path.exists(lab.path("net", "ns", "svc"))
    assert not labhost.mounts_under(lab.path("containers"))
    assert "svc" not in lab.isc("ps", "-a").stdout
    os.unlink(filler)
