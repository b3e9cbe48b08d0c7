# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 11 item 1: the runtime never changes its caller's mount namespace.

On 51b9795 a config without a mount namespace made `create` remount "/"
recursively private and pivot_root in the caller's own namespace (an OCI
validation program lost its file system view; run from the machine's
namespace this pivots the host's root).  Now create refuses such a config,
and one that joins an existing mount namespace by path, before anything
exists.

The runtime runs here inside a throwaway mount namespace (a slave of the
host's, held by a `sleep` of the test): whatever a broken runtime does to
its caller's namespace lands there, and the test compares that
namespace's root and mount table (with propagation) before and after."""
import os
import subprocess

import pytest

import helpers

NEED_MNTNS = ("linux.namespaces: a mount namespace is required "
              "(isc-runtime never changes the caller's mount namespace)")


def _create_in(mount_ns, runtime, b):
    """create, run from the throwaway namespace; a runtime that hangs
    (51b9795 does once it has pivoted its caller) is killed after 30 s and
    reported as returncode None."""
    b.write()
    try:
        return mount_ns.run([runtime.path, "--root", runtime.root, "create", "--bundle", b.path, b.id],
                            capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, None, e.stdout, e.stderr)


def _run_in(mount_ns, runtime, b):
    b.write()
    return mount_ns.run([runtime.path, "--root", runtime.root, "run", "--bundle", b.path, b.id],
                        capture_output=True, text=True, timeout=30)


def _no_userns(b):
    """In the host's user namespace the runtime may change any mount of its
    caller's namespace (in a user namespace of its own the kernel refuses
    that, which would hide the attack)."""
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]


def _nothing_made(runtime, b):
    assert not os.path.exists(os.path.join(runtime.root, b.id)), "a state dir was made"
    assert helpers.cgroup_leftovers(b.cgroup_name) == [], "a cgroup was made"


@pytest.mark.isc_only
@pytest.mark.parametrize("userns", [False, True], ids=["host-userns", "userns"])
def test_no_mount_namespace_is_refused(runtime, bundle, mount_ns, userns):
    b = bundle("true")
    runtime.ids.append(b.id)
    if not userns:
        _no_userns(b)
    helpers.set_namespace(b.config, "mount", present=False)
    before = mount_ns.snapshot()
    r = _create_in(mount_ns, runtime, b)
    after = mount_ns.snapshot()
    assert mount_ns.compare(before, after) == [], "the caller's mount namespace changed"
    assert r.returncode == 1, r
    assert r.stderr == "isc-runtime: %s\n" % NEED_MNTNS, r.stderr
    _nothing_made(runtime, b)


@pytest.mark.isc_only
def test_joined_mount_namespace_is_refused(runtime, bundle, mount_ns):
    """Joining by path would build the root in a namespace someone else
    uses (here: the caller's own, named by path)."""
    b = bundle("true")
    runtime.ids.append(b.id)
    _no_userns(b)
    helpers.set_namespace(b.config, "mount", path=mount_ns.path)
    before = mount_ns.snapshot()
    r = _create_in(mount_ns, runtime, b)
    after = mount_ns.snapshot()
    assert mount_ns.compare(before, after) == [], "the joined mount namespace changed"
    assert r.returncode == 1, r
    assert r.stderr == ("isc-runtime: linux.namespaces: mount namespace %s: joining a mount namespace is "
                        "not supported (isc-runtime builds the root only in a mount namespace it "
                        "creates)\n" % mount_ns.path), r.stderr
    _nothing_made(runtime, b)


def test_new_mount_namespace_leaves_the_caller_alone(runtime, bundle, mount_ns):
    """Control: the same bundle with its own mount namespace runs, from the
    same caller's namespace, and that namespace is unchanged after it."""
    b = bundle("echo", "ran")
    runtime.ids.append(b.id)
    _no_userns(b)
    before = mount_ns.snapshot()
    r = _run_in(mount_ns, runtime, b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ran\n"
    after = mount_ns.snapshot()
    assert mount_ns.compare(before, after) == [], "the caller's mount namespace changed"
