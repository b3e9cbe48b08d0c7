# SPDX-License-Identifier: GPL-2.0-or-later
"""The `org.isc.*` annotations through podman (`podman run --annotation`),
with podman 4.3 and conmon driving isc-runtime exactly as in production.

Proves, with the real effect observed on the host:
- org.isc.scratch: /scratch is an ext4 mount in the container; what the
  container writes there reaches the backing store only encrypted (a
  plaintext control written beside it on the same filesystem is found by the
  same raw read); the fscrypt key is present while the container runs;
  `podman rm -f` (isc-runtime delete) removes the key, the mount, the loop
  device and the state; with a host process still holding the filesystem
  open, the key is nevertheless removed (the names turn to ciphertext).
- org.isc.landlock: with --security-opt no-new-privileges, a writable tmpfs
  at /mnt and the container's writable root cannot be written, /tmp can
  (runc, which ignores the annotation, writes all three: the control);
  without no-new-privileges podman's start fails naming the annotation.
- org.isc.audit.id: the container's init and a `podman exec -d` process
  carry the audit id as their loginuid on the host (runc: they do not), and
  the container cannot change it.
- org.isc.image.root: a value that names no isc image (podman's overlay is
  not an isc store) makes podman's start fail with the runtime's message
  naming the annotation; the command never ran and nothing is left.
- a bad value of each annotation: podman shows the runtime's message naming
  it (exit 126), the command never ran, create left no state.

Everything runs in one private podman store (clients.PodmanEnv) for the
module, with --network none, the containers under the store's cgroup parent
below this test's own group.  Skipped when podman is not installed.
"""
import json
import os
import shutil
import uuid

import pytest

import clients
import helpers
from clients import STATE_ROOTS

pytestmark = [pytest.mark.skipif(shutil.which("podman") is None
                                or shutil.which("conmon") is None,
                                reason="podman/conmon not installed "
                                       "(scripts/install-deps.sh)"), pytest.mark.pass_sanitizers]

ISC = ("isc", clients.isc_path())
RUNC = ("runc", clients.runc_path())
ISC_ROOT = STATE_ROOTS["isc"]


@pytest.fixture(scope="module")
def podman_env():
    if os.geteuid() != 0:
        pytest.skip("podman tests need root")
    env = clients.PodmanEnv()
    try:
        env.import_image()
        yield env
    finally:
        problems = env.close()
    assert not problems, "podman's store, cgroups or processes: %s" % problems


class Pod:
    """One test's containers under one runtime: `podman rm -f` at teardown
    (even when the test failed), then nothing of them may be left."""

    def __init__(self, env, rt):
        self.env = env
        self.rt = clients.require_runtime(rt)
        self.kind = rt[0]
        self.names = []

    def run(self, *args, timeout=60):
        """podman run --runtime RT --name N ARGS...: (name, result)."""
        name = "isc-ann-%s-%s" % (self.kind, uuid.uuid4().hex[:10])
        self.names.append(name)
        return name, self.env.run_ctr(self.rt, "--name", name, *args, timeout=timeout)

    def run_d(self, *args):
        name, r = self.run("-d", *args)
        assert r.returncode == 0, r.stderr
        return name

    def leftovers(self, cid):
        return clients.wait_clean(lambda: self.env.leftovers(cid, self.kind))

    def rm(self, name):
        """podman rm -f NAME; nothing of it may be left.  Returns its id."""
        cid = self.env.cid(name)
        self.env.ok("rm", "-f", "-t", "0", name)
        left = self.leftovers(cid)
        assert not left, "%s: left after podman rm -f %s: %s" % (self.kind, cid, left)
        return cid

    def close(self):
        left = {}
        for name in self.names:
            r = self.env("inspect", "-f", "{{.Id}}", name)
            if r.returncode != 0:
                continue  # never created, or already removed
            cid = r.stdout.strip()
            self.env("rm", "-f", "-t", "0", name)
            lo = self.leftovers(cid)
            if lo:
                left[cid] = lo
        assert not left, "left behind: %s" % left


@pytest.fixture
def isc(podman_env):
    pod = Pod(podman_env, ISC)
    yield pod
    pod.close()


@pytest.fixture(params=[pytest.param(ISC, id="isc"), pytest.param(RUNC, id="runc")])
def pod(request, podman_env):
    p = Pod(podman_env, request.param)
    yield p
    p.close()


def _pid(pod, name):
    pid = int(pod.env.ok("inspect", "-f", "{{.State.Pid}}", name).stdout.strip())
    assert pid > 0, "%s is not running" % name
    return pid


# ---- org.isc.scratch ----------------------------------------------------------

SCRATCH = "org.isc.scratch"

def _scratch_record(cid):
    with open(os.path.join(ISC_ROOT, cid, "state.json")) as f:
        rec = json.load(f).get("scratch")
    assert rec and rec.get("loop", "").startswith("/dev/loop"), rec
    assert rec["mount"] == os.path.join(ISC_ROOT, cid, "scratch"), rec
    assert len(rec["key"]) == 32, rec
    return rec


def _loop_ours(loop, cid):
    """True while /dev/loopN is still bound to an image in cid's state dir."""
    return (helpers.loop_backing(loop) or "").startswith(os.path.join(ISC_ROOT, cid) + "/")


def _loops_of(cid):
    return [d for d in os.listdir("/sys/block")
            if d.startswith("loop") and _loop_ours("/dev/" + d, cid)]


def _scratch_container(isc, marker, fname):
    """A running container with 16m of scratch at /scratch; the marker
    written to /scratch/<fname> by a `podman exec`."""
    name = isc.run_d("--annotation", SCRATCH + "=size=16m,path=/scratch",
                     isc.env.image, "sleep", "1000")
    r = isc.env("exec", name, "sh", "-c",
                "grep ' /scratch ' /proc/mounts && echo -n %s > /scratch/%s && "
                "cat /scratch/%s" % (marker, fname, fname))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    fields = lines[0].split()
    assert fields[1] == "/scratch" and fields[2] == "ext4", r.stdout
    assert {"rw", "nosuid", "nodev", "noexec"} <= set(fields[3].split(",")), r.stdout
    assert lines[1] == marker, r.stdout
    cid = isc.env.cid(name)
    rec = _scratch_record(cid)
    # the container's file is in this filesystem (the host's root sees it)
    with open(os.path.join(rec["mount"], "data", fname)) as f:
        assert f.read() == marker
    assert _loop_ours(rec["loop"], cid), (rec["loop"], helpers.loop_backing(rec["loop"]))
    return name, cid, rec


def test_scratch_encrypted_and_removed(isc):
    marker = "ISC-PODMAN-MARKER-" + uuid.uuid4().hex
    fname = "secret-" + uuid.uuid4().hex[:16]
    name, cid, rec = _scratch_container(isc, marker, fname)

    fd = os.open(rec["mount"], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        assert helpers.key_status(fd, rec["key"]) == "present"
    finally:
        os.close(fd)

    # control: plaintext beside the encrypted directory, same filesystem
    raw = helpers.assert_scratch_ciphertext(rec, marker, fname)
    assert len(raw) == 16 << 20

    isc.rm(name)  # kill, then isc-runtime delete --force
    assert not helpers.mount_leftovers(rec["mount"]), "scratch still mounted"
    # the key lived only in this filesystem's superblock, which is gone with
    # its last mount: the loop device (autoclear) lets go of the image
    helpers.wait_for(lambda: not _loop_ours(rec["loop"], cid), timeout=5,
                     what="%s to be released" % rec["loop"])
    assert not _loops_of(cid)
    assert not os.path.exists(os.path.join(ISC_ROOT, cid))


def test_scratch_key_removed_while_held_open(isc):
    """A host process holds the scratch filesystem open across `podman rm
    -f`: delete still removes the key (the names turn to ciphertext, the
    file cannot be opened), unmounts lazily, and the loop device goes at
    the last close."""
    marker = "ISC-PODMAN-HELD-" + uuid.uuid4().hex
    fname = "held-" + uuid.uuid4().hex[:16]
    name, cid, rec = _scratch_container(isc, marker, fname)
    fd = os.open(rec["mount"], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        assert helpers.key_status(fd, rec["key"]) == "present"
        isc.rm(name)
        assert helpers.key_status(fd, rec["key"]) == "absent"
        names = os.listdir("/proc/self/fd/%d/data" % fd)
        assert len(names) == 1 and names[0] != fname, names
        with pytest.raises(OSError):
            with open("/proc/self/fd/%d/data/%s" % (fd, names[0])) as f:
                f.read()
        assert not os.path.exists(os.path.join(ISC_ROOT, cid))
    finally:
        os.close(fd)
    helpers.wait_for(lambda: not _loops_of(cid), timeout=5,
                     what="the loop device of %s to be released" % cid)


# ---- org.isc.landlock ---------------------------------------------------------

LANDLOCK = "org.isc.landlock"
# (no 2>/dev/null: /dev is not beneath rw=, so opening it for writing fails too)
LANDLOCK_PROBE = ("for p in /mnt/a /tmp/b /c; do "
                  "if echo x > $p; then echo $p=ok; else echo $p=denied; fi; "
                  "done; cat /tmp/b")


def test_landlock(pod):
    _, r = pod.run("--rm", "--security-opt", "no-new-privileges",
                   "--tmpfs", "/mnt:rw,size=1m",
                   "--annotation", LANDLOCK + "=rw=/tmp", pod.env.image,
                   "sh", "-c", LANDLOCK_PROBE)
    kv = helpers.parse_kv(r.stdout)
    if pod.kind == "isc":
        assert r.returncode == 0, r.stdout + r.stderr
        assert kv == {"/mnt/a": "denied", "/tmp/b": "ok", "/c": "denied"}, r.stdout
        # EACCES from Landlock (not EROFS: /mnt and / are writable mounts)
        assert "can't create /mnt/a: Permission denied" in r.stderr, r.stderr
        assert "can't create /c: Permission denied" in r.stderr, r.stderr
    else:  # runc ignores the annotation: the same writes all succeed
        assert r.returncode == 0, r.stderr
        assert kv == {"/mnt/a": "ok", "/tmp/b": "ok", "/c": "ok"}, r.stdout
    assert r.stdout.splitlines()[-1] == "x", r.stdout  # /tmp/b was written


def test_landlock_needs_no_new_privileges(isc):
    name, r = isc.run("--annotation", LANDLOCK + "=rw=/tmp", isc.env.image,
                      "touch", "/tmp/ran")
    assert r.returncode == 126, r.stdout + r.stderr
    assert LANDLOCK in r.stderr and "noNewPrivileges" in r.stderr, r.stderr
    assert isc.env.status(name) != "running"
    isc.rm(name)


# ---- org.isc.audit.id -----------------------------------------------------------

AUDIT = "org.isc.audit.id"
AUID = 0xF0000000 + 77  # the container audit range (docs/audit.md)


def _loginuid(pid):
    with open("/proc/%d/loginuid" % pid) as f:
        return int(f.read())


def _ns(pid, ns="pid"):
    try:
        return os.readlink("/proc/%d/ns/%s" % (pid, ns))
    except OSError:
        return None


def _find_in_container(init_pid, argv):
    """pids in init_pid's pid namespace whose argv is exactly `argv`."""
    want_ns = _ns(init_pid)
    want = ("\0".join(argv) + "\0").encode()
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % e, "rb") as f:
                if f.read() != want:
                    continue
        except OSError:
            continue
        if _ns(int(e)) == want_ns:
            found.append(int(e))
    return found


def test_audit_id(pod):
    name = pod.run_d("--annotation", "%s=%d" % (AUDIT, AUID), pod.env.image,
                     "sleep", "1000")
    init = _pid(pod, name)
    mark = str(500000 + int(uuid.uuid4().hex[:5], 16))  # a unique sleep argument
    pod.env.ok("exec", "-d", name, "sleep", mark)
    execd = helpers.wait_for(lambda: _find_in_container(init, ["sleep", mark]),
                             timeout=10, what="the podman exec -d process")
    assert len(execd) == 1, execd
    ids = (_loginuid(init), _loginuid(execd[0]))
    if pod.kind == "isc":
        assert ids == (AUID, AUID), ids
        assert _loginuid(os.getpid()) != AUID  # ours is untouched
        # the container cannot change it
        r = pod.env("exec", name, "sh", "-c", "echo 0 > /proc/self/loginuid")
        # (the runtime may warn first that no audit collector runs)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert r.stderr.splitlines()[-1] == "sh: write error: Operation not permitted", r.stderr
        r = pod.env.ok("exec", name, "cat", "/proc/self/loginuid")
        assert r.stdout.strip() == str(AUID), r.stdout
    else:  # runc ignores the annotation: the caller's loginuid is inherited
        assert ids[0] != AUID and ids[1] != AUID, ids
    pod.rm(name)


# ---- org.isc.image.root ----------------------------------------------------------

IMAGE_ROOT = "org.isc.image.root"


def test_image_root_refuses_podman_rootfs(isc, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    name, r = isc.run("-v", "%s:/out" % out, "--annotation", IMAGE_ROOT + "=" + "0" * 64,
                      isc.env.image, "touch", "/out/ran")
    assert r.returncode == 126, r.stdout + r.stderr  # podman: the runtime failed
    assert "OCI runtime error" in r.stderr, r.stderr
    assert "refusing to start from image %s" % ("0" * 64) in r.stderr, r.stderr
    assert IMAGE_ROOT in r.stderr, r.stderr
    assert not (out / "ran").exists(), "the container's command ran"
    cid = isc.env.cid(name)
    assert not helpers.state_leftovers(ISC_ROOT, cid)  # create made nothing
    assert isc.env.status(name) != "running"
    isc.rm(name)


# ---- bad values: podman shows the runtime's message, create made nothing ---------

@pytest.mark.parametrize("ann,value", [
    (SCRATCH, "size=12x"),
    (SCRATCH, "path=/proc/x"),
    (LANDLOCK, "rw=relative"),
    (AUDIT, "5"),
    (IMAGE_ROOT, "not-an-id"),
])
def test_bad_value(isc, tmp_path, ann, value):
    out = tmp_path / "out"
    out.mkdir()
    name, r = isc.run("--security-opt", "no-new-privileges", "-v", "%s:/out" % out,
                      "--annotation", "%s=%s" % (ann, value), isc.env.image,
                      "touch", "/out/ran")
    assert r.returncode == 126, r.stdout + r.stderr
    assert "OCI runtime error" in r.stderr and ann in r.stderr, r.stderr
    assert not (out / "ran").exists(), "the container's command ran"
    cid = isc.env.cid(name)
    assert not helpers.state_leftovers(ISC_ROOT, cid)  # create made nothing
    isc.rm(name)
