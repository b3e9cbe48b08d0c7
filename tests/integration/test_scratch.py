# SPDX-License-Identifier: GPL-2.0-or-later
"""isc only: org.isc.scratch, the encrypted per-container scratch directory.

Proves: what the container writes there never reaches the backing store in
plaintext (file content and name), while a file written outside the
encrypted directory on the same filesystem is found by the same read (the
control); files belong to the container's root; each container gets its own
key; `delete` (and `run`'s own delete) leaves no mount, no loop device, no
state; a bad value fails create naming the annotation and leaves nothing;
a create that failed after the scratch was made cleans it up.
"""
import json
import os
import re
import subprocess
import time
import uuid

import pytest

import helpers

pytestmark = [
    pytest.mark.isc_only,
    pytest.mark.skipif(not os.path.exists("/dev/loop-control"),
                       reason="no /dev/loop-control: loop devices are not available"),
    pytest.mark.skipif(not os.path.exists("/sbin/mkfs.ext4"),
                       reason="no /sbin/mkfs.ext4 (e2fsprogs)"),
]

ANN = "org.isc.scratch"


def _record(runtime, cid):
    with open(os.path.join(runtime.root, cid, "state.json")) as f:
        return json.load(f).get("scratch")


def _assert_gone(runtime, cid, rec, state_dir_gone=True):
    mnt = rec["mount"]
    assert not helpers.mount_leftovers(mnt), "scratch still mounted: %s" % mnt
    if "loop" in rec:
        # the loop device clears itself at the last umount (maybe another
        # container's now: then its backing file is not ours)
        state_dir = os.path.join(runtime.root, cid)
        helpers.wait_for(lambda: not (helpers.loop_backing(rec["loop"]) or "").startswith(state_dir + "/"),
                         timeout=5, what="%s to be released" % rec["loop"])
    if state_dir_gone:
        assert not os.path.exists(os.path.join(runtime.root, cid))


def _start_writer(runtime, busybox_bundle, ann, path, marker, fname):
    b = busybox_bundle("/bin/sh", "-c",
                       "echo -n %s > %s/%s && cat %s/%s && echo && ls -ln %s && exec sleep 30"
                       % (marker, path, fname, path, fname, path))
    b.config["annotations"] = {ANN: ann}
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: fname in b.output(), timeout=10, what="the container's write")
    return b


def test_plaintext_never_reaches_the_backing_store(runtime, busybox_bundle):
    marker = "ISC-MARKER-" + uuid.uuid4().hex
    fname = "secret-" + uuid.uuid4().hex[:16]
    b = _start_writer(runtime, busybox_bundle, "size=16m,path=/tmp/scratch", "/tmp/scratch", marker, fname)
    out = b.output()
    assert marker in out, out
    # owned by the container's root (100000 on the host, 0 inside)
    assert re.search(r"\s0\s+0\s.*%s" % fname, out), out
    rec = _record(runtime, b.id)
    assert rec and rec["mount"] == os.path.join(runtime.root, b.id, "scratch"), rec
    assert re.fullmatch(r"[0-9a-f]{32}", rec["key"]), rec
    assert rec["loop"].startswith("/dev/loop")
    st = os.stat(os.path.join(rec["mount"], "data", fname))
    assert (st.st_uid, st.st_gid) == (helpers.HOST_ID, helpers.HOST_ID)
    assert st.st_size == len(marker)

    # control: plaintext outside the encrypted directory, same filesystem
    raw = helpers.assert_scratch_ciphertext(rec, marker, fname)
    assert len(raw) == 16 << 20

    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    _assert_gone(runtime, b.id, rec)


def test_default_path_and_owner(runtime, bundle):
    b = bundle("stat", "/scratch")
    os.makedirs(os.path.join(b.rootfs, "scratch"))
    b.config["annotations"] = {ANN: ""}
    r = runtime.run(b)
    assert r.returncode == 0, r.stdout + r.stderr
    kv = helpers.parse_kv(r.stdout)
    assert kv["type"] == "dir" and kv["uid"] == "0" and kv["gid"] == "0", r.stdout
    # run's own delete removed everything
    assert not os.path.exists(os.path.join(runtime.root, b.id))
    assert not helpers.mount_leftovers(runtime.root)


def test_owned_by_the_process_user(runtime, bundle):
    """A non-root process.user owns the directory (mapped to the host)."""
    b = bundle("write", "/tmp/s/f", "x")
    b.process["user"] = {"uid": 1000, "gid": 1001}
    b.config["annotations"] = {ANN: "size=2m,path=/tmp/s"}
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    rec = _record(runtime, b.id)
    st = os.stat(os.path.join(rec["mount"], "data"))
    assert (st.st_uid, st.st_gid) == (helpers.HOST_ID + 1000, helpers.HOST_ID + 1001)
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert b.output().strip() == "ok", b.output()
    st = os.stat(os.path.join(rec["mount"], "data", "f"))
    assert st.st_uid == helpers.HOST_ID + 1000
    assert runtime.delete(b.id).returncode == 0
    _assert_gone(runtime, b.id, rec)


def test_staged_create(runtime, bundle):
    """The staged path (a new time namespace: a stage process forks the
    init) hands the scratch over too."""
    b = bundle("stat", "/tmp/s")
    helpers.set_namespace(b.config, "time")
    b.config["annotations"] = {ANN: "size=2m,path=/tmp/s"}
    kv = helpers.parse_kv(runtime.run_ok(b))
    assert kv["type"] == "dir" and kv["uid"] == "0", kv


def test_mount_flags(runtime, bundle):
    b = bundle("mountinfo")
    b.config["annotations"] = {ANN: "path=/tmp/s"}
    out = runtime.run_ok(b)
    line = [l for l in out.splitlines() if " /tmp/s " in l]
    assert line, out
    opts = line[0].split()[5].split(",")
    for o in ("rw", "nosuid", "nodev", "noexec"):
        assert o in opts, line[0]


def test_exec_item_allows_exec(runtime, bundle):
    b = bundle("mountinfo")
    b.config["annotations"] = {ANN: "exec,path=/tmp/s,size=2m"}
    out = runtime.run_ok(b)
    line = [l for l in out.splitlines() if " /tmp/s " in l]
    assert line and "noexec" not in line[0].split()[5], out


def test_two_containers_two_keys(runtime, busybox_bundle):
    recs = []
    for _ in range(2):
        b = busybox_bundle("/bin/sleep", "30")
        b.config["annotations"] = {ANN: "size=4m,path=/tmp/scratch"}
        r = runtime.create(b)
        assert r.returncode == 0, r.stderr
        recs.append((b.id, _record(runtime, b.id)))
    (id1, r1), (id2, r2) = recs
    assert r1["key"] != r2["key"] and r1["loop"] != r2["loop"], recs
    for cid, rec in recs:
        r = runtime.delete(cid, force=True)
        assert r.returncode == 0, r.stderr
        _assert_gone(runtime, cid, rec)


SIZE_FORM = "size must be a number of bytes with an optional k, m or g suffix, at most 1024g"
PATH_FORM = "path must be absolute, without . or .. components, not / and not in /proc, /sys or /dev"


@pytest.mark.parametrize("value,why", [
    ("size=", '"size=": ' + SIZE_FORM), ("size=12x", '"size=12x": ' + SIZE_FORM),
    ("size=0", '"size=0": size must be at least 1m'), ("size=100k", '"size=100k": size must be at least 1m'),
    ("size=2000g", '"size=2000g": ' + SIZE_FORM),
    ("path=relative", '"path=relative": ' + PATH_FORM), ("path=/", '"path=/": ' + PATH_FORM),
    ("path=/a/../b", '"path=/a/../b": ' + PATH_FORM), ("path=/proc/x", '"path=/proc/x": ' + PATH_FORM),
    ("colour=blue", 'unknown item "colour=blue" in "colour=blue" (size=, path=, exec, noexec)'),
    ("size=4m,size=8m", '"size=4m,size=8m": an item is given twice'),
    ("bogus", 'unknown item "bogus" in "bogus" (size=, path=, exec, noexec)'),
])
def test_bad_values(runtime, bundle, value, why):
    b = bundle("true")
    b.config["annotations"] = {ANN: value}
    r = runtime.create(b)
    assert (r.returncode, r.stderr) == (1, "isc-runtime: annotation org.isc.scratch: %s: Invalid argument\n" % why)
    assert not os.path.exists(os.path.join(runtime.root, b.id))


def test_needs_a_mount_namespace(runtime, bundle):
    b = bundle("true")
    helpers.set_namespace(b.config, "mount", present=False)
    b.config["annotations"] = {ANN: "path=/tmp/s"}
    r = runtime.create(b)
    assert (r.returncode, r.stderr) == (1, "isc-runtime: annotation org.isc.scratch: needs a new mount namespace: "
                                        "Invalid argument\n")
    assert not os.path.exists(os.path.join(runtime.root, b.id))


def test_delete_with_files_held_open(runtime, busybox_bundle):
    """A host process holds a file in the scratch open: delete removes the
    key as far as it can, warns, detaches the filesystem and succeeds; the
    loop device goes when the file is closed."""
    b = busybox_bundle("/bin/sh", "-c", "echo x > /tmp/scratch/f && exec sleep 30")
    b.config["annotations"] = {ANN: "size=4m,path=/tmp/scratch"}
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    rec = _record(runtime, b.id)
    f = os.path.join(rec["mount"], "data", "f")
    helpers.wait_for(lambda: os.path.exists(f), what="the container's file")
    fd = os.open(f, os.O_RDONLY)
    try:
        r = runtime.delete(b.id, force=True)
        assert r.returncode == 0, r.stderr
        assert "incompletely" in r.stderr, r.stderr
        assert not helpers.mount_leftovers(rec["mount"])
        assert not os.path.exists(os.path.join(runtime.root, b.id))
    finally:
        os.close(fd)
    _assert_gone(runtime, b.id, rec)


def test_failed_create_undoes_scratch(runtime, bundle):
    """The scratch is made before the init, which then fails (no such
    executable): nothing may stay."""
    b = bundle("true")
    b.set_args("/no/such/program")
    b.config["annotations"] = {ANN: "size=4m,path=/tmp/s"}
    before = set(os.listdir("/sys/block"))
    r = runtime.create(b)
    assert (r.returncode, r.stderr) == (1, 'isc-runtime: exec: "/no/such/program": No such file or directory\n')
    assert not os.path.exists(os.path.join(runtime.root, b.id))
    assert not helpers.mount_leftovers(runtime.root)
    for dev in set(os.listdir("/sys/block")) | before:
        if dev.startswith("loop"):
            bf = helpers.loop_backing("/dev/" + dev) or ""
            assert not bf.startswith(runtime.root + "/"), (dev, bf)


def test_delete_of_stopped_container(runtime, busybox_bundle):
    b = busybox_bundle("/bin/sh", "-c", "echo x > /tmp/scratch/f")
    b.config["annotations"] = {ANN: "size=4m,path=/tmp/scratch"}
    assert runtime.create(b).returncode == 0
    rec = _record(runtime, b.id)
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    _assert_gone(runtime, b.id, rec)


def test_timing(runtime, bundle, capsys):
    """Create-time cost with and without the annotation (--debug timing)."""
    def create_ms(ann):
        b = bundle("true")
        if ann is not None:
            b.config["annotations"] = {ANN: ann}
        b.write()
        r = runtime("--debug", "create", "--bundle", b.path, b.id)
        assert r.returncode == 0, r.stderr
        marks = dict((m.group(2), float(m.group(1))) for m in
                     re.finditer(r"timing\s+([0-9.]+) ms\s+(.*)", r.stderr))
        t = time.perf_counter()
        assert runtime.delete(b.id, force=True).returncode == 0
        marks["delete"] = (time.perf_counter() - t) * 1000
        return marks
    plain = [create_ms(None) for _ in range(3)]
    cold = create_ms("size=64m,path=/tmp/s")
    warm = [create_ms("size=64m,path=/tmp/s") for _ in range(3)]
    assert "scratch ready" in warm[0], warm[0]
    step = lambda m: m["scratch ready"] - m["cgroups created"]
    with capsys.disabled():
        print("\nscratch: create total plain %.2f ms, with scratch %.2f ms; scratch step cold %.2f warm %.2f ms;"
              " delete --force (wall, with exec) plain %.2f ms, with scratch %.2f ms"
              % (min(p["create: done"] for p in plain), min(w["create: done"] for w in warm),
                 step(cold), min(step(w) for w in warm),
                 min(p["delete"] for p in plain), min(w["delete"] for w in warm)))


def test_delete_after_crashed_create(runtime, busybox_bundle):
    """The runtime dies (SIGKILL) while a createRuntime hook runs, after the
    scratch filesystem was mounted and unlocked: `delete` finds it through
    the state and removes key, mount, loop device and state."""
    b = busybox_bundle("/bin/true")
    b.config["annotations"] = {ANN: "size=4m,path=/tmp/scratch"}
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"]}]}
    b.write()
    runtime.ids.append(b.id)
    cmd = [runtime.path, "--root", runtime.root, "create", "--bundle", b.path, b.id]
    with open(b.err_path, "ab") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    mnt = os.path.join(runtime.root, b.id, "scratch")
    try:
        helpers.wait_for(lambda: helpers.mount_leftovers(mnt), timeout=10, what="the scratch mount")
        # the hook runs once the init asked for it: scratch is complete by then
        helpers.wait_for(lambda: subprocess.run(["pgrep", "-s", str(p.pid), "-x", "sleep"],
                                                capture_output=True).returncode == 0,
                         timeout=10, what="the createRuntime hook")
    finally:
        os.killpg(p.pid, 9)
        p.wait()
    rec = _record(runtime, b.id)
    assert rec == {"mount": mnt}, rec  # recorded before it was made
    assert helpers.mount_leftovers(mnt)
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    _assert_gone(runtime, b.id, rec)
    for dev in os.listdir("/sys/block"):
        if dev.startswith("loop"):
            bf = helpers.loop_backing("/dev/" + dev) or ""
            assert not bf.startswith(runtime.root + "/"), (dev, bf)


@pytest.fixture(scope="module")
def podman_env():
    import shutil
    import clients
    if shutil.which("podman") is None or shutil.which("conmon") is None:
        pytest.skip("podman/conmon not installed (scripts/install-deps.sh)")
    if not os.access(clients.isc_path(), os.X_OK):
        pytest.skip("isc-runtime not built")
    env = clients.PodmanEnv()
    try:
        env.import_image()
        yield env
    finally:
        problems = env.close()
    assert not problems, "podman's store, cgroups or processes: %s" % problems


def test_podman_annotation(podman_env):
    """podman --annotation reaches isc-runtime; `podman run --rm` removes
    the container, and with it mount, loop device and state."""
    import clients
    name = "isc-scratch-" + uuid.uuid4().hex[:10]
    r = podman_env.run_ctr(("isc", clients.isc_path()), "--rm", "--name", name,
                           "--annotation", ANN + "=size=8m,path=/scratch", podman_env.image,
                           "sh", "-c", "echo hello > /scratch/f && cat /scratch/f && "
                           "stat -c '%u %a' /scratch && grep ' /scratch ' /proc/self/mountinfo")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "hello" and lines[1] == "0 700", r.stdout
    assert "nosuid" in lines[2] and "noexec" in lines[2], r.stdout
    assert not [m for m in clients._mounts_with("/scratch") if "isc-runtime" in m]
    for dev in os.listdir("/sys/block"):
        if dev.startswith("loop"):
            bf = helpers.loop_backing("/dev/" + dev) or ""
            assert not bf.startswith(clients.STATE_ROOTS["isc"] + "/"), (dev, bf)
