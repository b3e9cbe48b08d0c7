# SPDX-License-Identifier: GPL-2.0-or-later
"""Device nodes and the device cgroup.

Proves: a linux.devices entry appears in the container's /dev with the
type, major:minor, mode, uid and gid of the config (mknod, no user
namespace); a FIFO entry too; in a user namespace the host's node of that
path is bound instead; bad entries are refused with the field named.  The
device cgroup is enforced: a device node the container can reach (bound
from the host, 0666) cannot be opened when linux.resources.devices does
not allow its major:minor (EPERM), can be opened when it does (read and
write separately), and a linux.devices entry is allowed without a rule.

The device used for the cgroup checks is 10:229 (/dev/fuse): opening it
only creates a fuse connection that closing drops; a node of it is made in
the test's own directory (the host's /dev is never touched).
"""
import errno
import os

import pytest

import helpers

pytestmark = pytest.mark.no_leak_check

FUSE = (10, 229)


def _no_userns(b):
    helpers.set_namespace(b.config, "user", present=False)
    del b.linux["uidMappings"], b.linux["gidMappings"]


def _stat(out):
    return helpers.parse_kv(out)


# ---- linux.devices ---------------------------------------------------------

def test_device_node_created_as_configured(runtime, bundle):
    b = bundle("stat", "/dev/isc-null")
    _no_userns(b)
    b.linux["devices"] = [{"path": "/dev/isc-null", "type": "c", "major": 1, "minor": 3,
                           "fileMode": 0o640, "uid": 1234, "gid": 5678}]
    kv = _stat(runtime.run_ok(b))
    assert kv == {"type": "chr", "mode": "0640", "uid": "1234", "gid": "5678", "size": "0",
                  "rdev": "1:3"}, kv


def test_device_node_in_subdirectory_and_fifo(runtime, busybox_bundle):
    b = busybox_bundle("/bin/sh", "-c",
                       "/bin/payload stat /dev/isc/blk; /bin/payload stat /dev/isc-fifo")
    _no_userns(b)
    b.linux["devices"] = [
        {"path": "/dev/isc/blk", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600},
        {"path": "/dev/isc-fifo", "type": "p", "fileMode": 0o620, "uid": 7, "gid": 8},
    ]
    blk, fifo = runtime.run_ok(b).splitlines()
    assert _stat(blk) == {"type": "blk", "mode": "0600", "uid": "0", "gid": "0", "size": "0",
                          "rdev": "7:200"}, blk
    assert _stat(fifo) == {"type": "fifo", "mode": "0620", "uid": "7", "gid": "8", "size": "0",
                           "rdev": "0:0"}, fifo


def test_device_node_in_userns_is_the_hosts(runtime, bundle):
    """A user namespace may not mknod: the host's node of that path is bound
    (its numbers; owned by an unmapped id, so nobody inside)."""
    st = os.stat("/dev/full")
    b = bundle("stat", "/dev/full")
    b.linux["devices"] = [{"path": "/dev/full", "type": "c", "major": 1, "minor": 7,
                           "fileMode": 0o666}]
    kv = _stat(runtime.run_ok(b))
    assert kv["type"] == "chr" and kv["rdev"] == "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    assert (kv["uid"], kv["gid"]) == ("65534", "65534"), kv


@pytest.mark.isc_only
@pytest.mark.parametrize("entry,message", [
    ({"path": "/dev/x", "type": "q", "major": 1, "minor": 3},
     'linux.devices[0].type: unknown device type "q" (want c, b, u or p)'),
    ({"path": "/dev/x", "type": "c", "minor": 3},
     "linux.devices[0].major: required for type c"),
    ({"path": "/dev/x", "type": "c", "major": 1},
     "linux.devices[0].minor: required for type c"),
    ({"path": "dev/x", "type": "c", "major": 1, "minor": 3},
     "linux.devices[0].path"),
    ({"type": "c", "major": 1, "minor": 3},
     "linux.devices[0].path: required field is missing"),
    ({"path": "/dev/x", "type": "c", "major": -1, "minor": 3},
     "linux.devices[0].major"),
    ({"path": "/dev/x", "type": "c", "major": 1, "minor": 3, "fileMode": 0o1000000},
     "linux.devices[0].fileMode"),
])
def test_bad_device_entry_refused(runtime, bundle, entry, message):
    b = bundle("true")
    b.linux["devices"] = [entry]
    r = runtime.run(b)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert b.output() == ""


# ---- the device cgroup --------------------------------------------------------

@pytest.fixture
def fuse_node(test_dir):
    """A 0666 node of 10:229 in the test's directory; skips when the kernel
    has no fuse device (opening the node on the host fails with ENODEV or
    ENXIO)."""
    path = os.path.join(test_dir, "isc-fuse-node")
    os.mknod(path, 0o666 | 0o020000, os.makedev(*FUSE))
    os.chmod(path, 0o666)
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as e:
        if e.errno in (errno.ENODEV, errno.ENXIO):
            pytest.skip("the kernel has no fuse character device (10:229)")
        raise
    return path


def _bound_fuse(bundle, node, *payload_args):
    """A container (default config: user namespace, devices deny-all) with
    the node bound at /dev/isc-fuse: it exists, but is not in linux.devices."""
    b = bundle(*payload_args)
    b.add_mount("/dev/isc-fuse", node, options=["bind"])
    return b


def _allow(b, access):
    b.linux["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": FUSE[0], "minor": FUSE[1], "access": access})


def test_device_cgroup_denies_unlisted_device(runtime, bundle, fuse_node):
    b = _bound_fuse(bundle, fuse_node, "open", "/dev/isc-fuse", "rw")
    r = runtime.run(b)
    assert (r.returncode, r.stdout) == (1, "errno EPERM\n"), r.stderr
    # the node is there: the denial is the cgroup's, not a missing file
    s = _bound_fuse(bundle, fuse_node, "stat", "/dev/isc-fuse")
    assert _stat(runtime.run_ok(s))["rdev"] == "10:229"


def test_device_cgroup_allows_listed_device(runtime, bundle, fuse_node):
    """Control: the same node opens once the rule allows it."""
    b = _bound_fuse(bundle, fuse_node, "open", "/dev/isc-fuse", "rw")
    _allow(b, "rw")
    assert runtime.run_ok(b) == "ok\n"


@pytest.mark.parametrize("mode,expect", [("r", "ok\n"), ("w", "errno EPERM\n")])
def test_device_cgroup_read_only_rule(runtime, bundle, fuse_node, mode, expect):
    b = _bound_fuse(bundle, fuse_node, "open", "/dev/isc-fuse", mode)
    _allow(b, "r")
    r = runtime.run(b)
    assert r.stdout == expect, r.stderr


def test_linux_devices_entry_is_allowed(runtime, bundle, fuse_node):
    """A linux.devices entry gets its cgroup rule without one in
    linux.resources.devices (mknod, no user namespace)."""
    b = bundle("open", "/dev/isc-fuse", "rw")
    _no_userns(b)
    b.linux["devices"] = [{"path": "/dev/isc-fuse", "type": "c", "major": FUSE[0],
                           "minor": FUSE[1], "fileMode": 0o600}]
    assert runtime.run_ok(b) == "ok\n"
