# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 11 item 4, runc CVE-2019-5736: overwriting the runtime's binary.

A container asks the runtime to run a program whose first line is
"#!/proc/self/exe": the kernel runs the binary of the process doing the
execve -- the runtime's own -- inside the container, as one of the
container's (dumpable) processes.  The container keeps /proc/PID/exe of it
and, once that image is gone, reopens the binary for writing: the next
run of the runtime, as host root, runs what the container wrote.

isc re-executes from a view of its binary nobody can write before any of
its processes enters a container that could write it (no user namespace,
or one that maps the binary's owner): a private read-only overlay (a write
fails with EROFS) or a sealed memfd copy (EPERM, the seals), even with
CAP_DAC_OVERRIDE; /proc/PID/exe names the view.

The attacks run against a COPY of the binaries (runtime_copy), never
build/ or /usr.  isc-runtime is static: nothing of the container runs
inside it, so the runtime's image is held in the container by a FIFO it
logs into ("#!/proc/self/exe --log=FIFO") while the container's watcher
takes /proc/PID/exe.  `isc` (isc exec) and the sanitizer build of
isc-runtime are dynamically linked: the container's
/lib64/ld-linux-x86-64.so.2 (interp.c) runs inside them."""
import hashlib
import os
import struct
import subprocess

import pytest

import helpers
from conftest import install

pytestmark = pytest.mark.no_leak_check

FIFO = "/tmp/evil.fifo"
MARK = "ISC-CVE-2019-5736-MARKER"
EPERM, EACCES, EROFS = 1, 13, 30
SEALED = "/memfd:isc-sealed-exe (deleted)"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _dynamic(path):
    """The binary has an ELF interpreter (PT_INTERP): dynamically linked."""
    with open(path, "rb") as f:
        h = f.read(64)
        phoff, = struct.unpack_from("<Q", h, 32)
        phentsize, phnum = struct.unpack_from("<HH", h, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if struct.unpack("<I", f.read(4))[0] == 3:
                return True
    return False


def _install_interp(b, interp):
    lib64 = os.path.join(b.rootfs, "lib64")
    os.makedirs(lib64, exist_ok=True)
    install(b.rootfs, interp, "interp")
    os.rename(os.path.join(b.rootfs, "bin", "interp"), os.path.join(lib64, "ld-linux-x86-64.so.2"))


def _evil_bundle(bundle, probe, userns, script="#!/proc/self/exe --log=%s\n" % FIFO, interp=None):
    """A static runtime is held in the container by the FIFO it logs into
    (the watcher takes its /proc/PID/exe); a dynamic one (the ASan build,
    `isc`) runs the container's ELF interpreter (interp.c), which attacks
    from inside it."""
    b = bundle("sleep", "600")
    install(b.rootfs, probe, "probe")
    if interp:
        _install_interp(b, interp)
        script = "#!/proc/self/exe\n"
    evil = os.path.join(b.rootfs, "bin", "evil")
    with open(evil, "w") as f:
        f.write(script)
    os.chmod(evil, 0o755)
    # CAP_DAC_OVERRIDE: the file mode of the copy is no obstacle, the seal is
    helpers.set_caps(b.config, helpers.MINIMAL_CAPS + ["CAP_DAC_OVERRIDE"])
    if userns == "none":
        helpers.set_namespace(b.config, "user", present=False)
        del b.linux["uidMappings"], b.linux["gidMappings"]
    elif userns == "maps-root":
        # a user namespace that maps host root (the binary's owner) in
        for k in ("uidMappings", "gidMappings"):
            b.linux[k] = [{"containerID": 0, "hostID": 0, "size": 65536}]
    return b


def _lines(text, key):
    return [ln.split(" ", 1)[1] for ln in text.splitlines() if ln.startswith(key + " ")]


def _late_report(runtime, b):
    """What the probe's child wrote into the container's /tmp/write-fd.out
    after the exec'd process had exited (a relayed caller, isc exec or a
    foreground exec into a file, has stopped copying by then)."""
    r = runtime("exec", b.id, "/bin/payload", "cat", "/tmp/write-fd.out")
    return r.stdout if r.returncode == 0 else ""


def _with_late_report(text, late):
    keep = [ln for ln in text.splitlines() if not ln.startswith("WRITE")]
    return "\n".join(keep + late.splitlines()) + "\n"


def _judge(out, copy, digest, sealed):
    opened = _lines(out, "OPENED")
    # control: the container did get hold of the runtime's image
    assert opened, "the attack never reached the runtime's binary:\n" + out
    assert sha256(copy) == digest, "the container overwrote the runtime's binary:\n" + out
    if sealed:
        # the runtime's view of its binary: a private read-only overlay
        # (the path within it, EROFS), or, where none could be made (no
        # state directory yet: the first create), the sealed memfd (EPERM)
        view = (opened[0], _lines(out, "WRITE-ERR"))
        assert view in ((SEALED, [str(EPERM)]), ("/" + os.path.basename(copy), [str(EROFS)])), out
    else:
        # the copy was skipped: the binary itself, which the container's
        # ids cannot write (its owner is not mapped)
        assert opened[0] == copy, out
        assert _lines(out, "WRITE-ERR") == [str(EACCES)], out


@pytest.fixture
def attacked_runtime(runtime, bundle, runtime_copy):
    """The runtime fixture running a private copy of isc-runtime (set up
    after `bundle`, so that the original is back before its teardown
    deletes the containers)."""
    orig = runtime.path
    runtime.path = runtime_copy(orig)
    yield runtime, sha256(runtime.path)
    runtime.path = orig


@pytest.mark.isc_only
@pytest.mark.parametrize("userns", ["none", "maps-root", "unmapped-owner"])
def test_exec_cannot_overwrite_the_runtime(attacked_runtime, bundle, probe, interp, userns):
    runtime, digest = attacked_runtime
    dynamic = _dynamic(runtime.path)
    b = _evil_bundle(bundle, probe, userns, interp=interp if dynamic else None)
    if not dynamic:
        b.set_args("/bin/probe", "watch-exe", "evil", FIFO, MARK)
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    if dynamic:
        out = os.path.join(runtime.workdir, "evil.out")
        r = runtime("exec", b.id, "/bin/evil", timeout=60, out=out)
        late = helpers.wait_for(lambda: _late_report(runtime, b), timeout=40, what="the attacker's write")
        _judge(_with_late_report(helpers_read(out), late), runtime.path, digest,
               sealed=userns != "unmapped-owner")
        return
    helpers.wait_for(lambda: "READY" in b.output(), timeout=20, what="the watcher")
    r = runtime("exec", b.id, "/bin/evil", timeout=60)
    # the runtime's own binary ran in the container (and refused "/bin/evil")
    assert r.returncode == 1 and 'unknown command "/bin/evil"' in r.stderr, r
    helpers.wait_for(lambda: "WRITE" in b.output(), timeout=40, what="the watcher's write")
    _judge(b.output(), runtime.path, digest, sealed=userns != "unmapped-owner")


@pytest.mark.isc_only
def test_create_cannot_overwrite_the_runtime(attacked_runtime, bundle, probe, interp):
    """The init: the container's process.args is the "#!/proc/self/exe"
    program; a process exec'd into the created container watches (no pid
    namespace, so that the init's exit leaves it alive)."""
    runtime, digest = attacked_runtime
    dynamic = _dynamic(runtime.path)
    b = _evil_bundle(bundle, probe, "none", interp=interp if dynamic else None)
    b.set_args("/bin/evil")
    helpers.set_namespace(b.config, "pid", present=False)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    if dynamic:
        assert runtime.start(b.id).returncode == 0
        helpers.wait_for(lambda: "WRITE" in b.output(), timeout=40, what="the attacker's write")
        _judge(b.output(), runtime.path, digest, sealed=True)
        return
    watch = os.path.join(runtime.workdir, "watch.out")
    r = runtime("exec", "--detach", b.id, "/bin/probe", "watch-exe", "evil", FIFO, MARK,
                out=watch, timeout=30)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: "READY" in helpers_read(watch), timeout=20, what="the watcher")
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: "WRITE" in helpers_read(watch), timeout=40, what="the watcher's write")
    _judge(helpers_read(watch), runtime.path, digest, sealed=True)


def helpers_read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


@pytest.mark.isc_only
def test_isc_exec_cannot_overwrite_isc(runtime, bundle, probe, interp, runtime_copy, test_dir):
    """isc exec runs the dynamically linked `isc` itself: the container's
    ELF interpreter runs inside it, takes /proc/self/exe and hands it to
    the container's probe, which writes once the image is gone."""
    isc = runtime_copy(os.path.join(helpers.BUILD, "src", "isc", "isc"))
    digest = sha256(isc)
    root = os.path.join(test_dir, "isc-root")
    runtime.root = os.path.join(root, "runtime")
    os.makedirs(runtime.root)
    b = _evil_bundle(bundle, probe, "none", interp=interp)
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([isc, "--root", root, "exec", b.id, "/bin/evil"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    late = helpers.wait_for(lambda: _late_report(runtime, b), timeout=40, what="the attacker's write")
    _judge(_with_late_report(r.stdout, late), isc, digest, sealed=True)
