# SPDX-License-Identifier: GPL-2.0-or-later
"""org.isc.landlock: writes only beneath the listed paths, TCP bind only to
the listed ports, for the init and for every exec'd process."""
import pytest

pytestmark = [pytest.mark.isc_only, pytest.mark.no_leak_check]

ANN = "org.isc.landlock"


def _bundle(busybox_bundle, script, value):
    b = busybox_bundle("/bin/sh", "-c", script)
    b.process["noNewPrivileges"] = True
    b.add_mount("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "size=1m"])
    b.add_mount("/mnt", "tmpfs", "tmpfs", ["nosuid", "nodev", "size=1m"])
    b.config.setdefault("annotations", {})[ANN] = value
    return b


def test_writes_only_beneath_rw_paths(runtime, busybox_bundle):
    b = _bundle(busybox_bundle,
                "touch /tmp/ok && echo tmp-ok; touch /mnt/no 2>&1; echo mnt=$?", "rw=/tmp:/dev")
    out = runtime.run_ok(b)
    assert "tmp-ok" in out
    # /mnt is a writable tmpfs, but not in the rw list
    assert "Permission denied" in out and "mnt=1" in out


def test_without_annotation_the_same_writes_work(runtime, busybox_bundle):
    b = _bundle(busybox_bundle, "touch /mnt/yes && echo mnt-ok", "rw=/tmp")
    del b.config["annotations"][ANN]
    assert "mnt-ok" in runtime.run_ok(b)


def test_bind_only_to_listed_ports(runtime, busybox_bundle):
    # nc -l on a refused port fails at once; on an allowed one it listens
    # until timeout kills it (exit 143) -- the bind itself succeeded
    b = _bundle(busybox_bundle,
                "nc -l -p 9090 2>&1; echo refused=$?; timeout 1 nc -l -p 8080; echo allowed=$?",
                "rw=/tmp,bind=8080")
    out = runtime.run_ok(b, timeout=20)
    assert "refused=1" in out and "Permission denied" in out
    assert "allowed=143" in out or "allowed=124" in out


def test_exec_process_is_restricted_too(runtime, busybox_bundle):
    b = _bundle(busybox_bundle, "sleep 30", "rw=/tmp")
    runtime.run(b, detach=True)
    r = runtime("exec", b.id, "/bin/sh", "-c", "touch /tmp/e && echo tmp-ok; touch /mnt/e 2>&1; echo mnt=$?")
    assert r.returncode == 0, r.stderr
    assert "tmp-ok" in r.stdout and "mnt=1" in r.stdout
    runtime.delete(b.id, force=True)


@pytest.mark.parametrize("value,text", [
    ("rw=tmp", 'rw path "tmp" is not absolute'),
    ("bind=0", 'bind port "0" is not 1..65535'),
    ("bind=80,bind=81", 'unknown or repeated item "bind=81" (rw=PATHS, bind=PORTS)'),
    ("write=/tmp", 'unknown or repeated item "write=/tmp" (rw=PATHS, bind=PORTS)'),
])
def test_bad_values_refused(runtime, busybox_bundle, value, text):
    b = _bundle(busybox_bundle, "true", value)
    r = runtime.run(b)
    assert (r.returncode, r.stderr) == (1, "isc-runtime: annotation org.isc.landlock: %s: Invalid argument\n" % text)


def test_needs_no_new_privileges(runtime, busybox_bundle):
    b = _bundle(busybox_bundle, "true", "rw=/tmp")
    b.process["noNewPrivileges"] = False
    r = runtime.run(b)
    assert (r.returncode, r.stderr) == (1, "isc-runtime: annotation org.isc.landlock: needs process.noNewPrivileges: "
                                        "Invalid argument\n")
