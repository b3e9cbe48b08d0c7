# SPDX-License-Identifier: GPL-2.0-or-later
"""Fixtures of the attack tests (tests/integration/attacks).

The suite's own fixtures (runtime, bundle, busybox_bundle, payload, ...)
come from tests/integration/conftest.py, which pytest applies to this
directory too (rootdir tests/integration, pytest.ini there).  Added here:

  probe         the attacker's program (probe.c), compiled statically once
  interp        interp.c, an ELF interpreter that attacks the binary it runs in
  runtime_copy  factory: a private copy of a built binary in a temp dir, for
                the attacks that try to overwrite the runtime (never build/
                or /usr): runtime_copy(path) -> copy path
  mount_ns      a throwaway mount namespace (a `sleep` held by the test), so
                that a runtime that changed its caller's mount table would
                change only that namespace; .run(args) runs a command in it
"""
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _build(session_dir, name, flags):
    out = os.path.join(session_dir, "attack-" + name)
    if not os.path.exists(out):
        r = subprocess.run(["gcc", "-O2", "-static"] + flags + ["-o", out, os.path.join(HERE, name + ".c")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "cannot build the attack program %s: %s" % (name, r.stderr)
    return out


@pytest.fixture(scope="session")
def probe(session_dir):
    return _build(session_dir, "probe", [])


@pytest.fixture(scope="session")
def interp(session_dir):
    """interp.c: an ELF interpreter that attacks the binary it is loaded for."""
    return _build(session_dir, "interp", ["-nostdlib", "-ffreestanding", "-fno-builtin",
                                          "-fno-stack-protector", "-fno-pie", "-no-pie"])


def install(rootfs, src, name, mode=0o755):
    """Copy `src` into the bundle's rootfs as /bin/NAME."""
    dst = os.path.join(rootfs, "bin", name)
    shutil.copy(src, dst)
    os.chmod(dst, mode)
    return "/bin/" + name


@pytest.fixture
def runtime_copy(test_dir):
    made = []

    def make(path):
        d = tempfile.mkdtemp(prefix="isc-attack-bin-", dir=test_dir)
        os.chmod(d, 0o755)
        dst = os.path.join(d, os.path.basename(path))
        shutil.copy2(path, dst)
        os.chmod(dst, 0o755)
        made.append(dst)
        return dst
    yield make


class MountNS:
    """A mount namespace of its own, held open by a sleeping process.  Made
    private first (nothing propagates between it and the host's, either
    way: other tests' mounts do not show up in it), then recursively shared
    within itself, so that a runtime that changed its propagation would
    show it (the shared:N tags would go)."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--",
             "sh", "-c", "mount --make-rshared / && exec sleep 600"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        import helpers
        helpers.wait_for(self._ready, timeout=10, what="the throwaway mount namespace")

    def _ready(self):
        try:
            if os.readlink("/proc/%d/exe" % self.pid).rsplit("/", 1)[-1] != "sleep":
                return False
            with open("/proc/%d/mountinfo" % self.pid) as f:
                return all(" shared:" in ln for ln in f)
        except OSError:
            return False

    @property
    def path(self):
        return "/proc/%d/ns/mnt" % self.pid

    def snapshot(self):
        """What a runtime must not change in its caller's namespace: the
        root (device and inode, seen through the namespace's process), and
        every mount with its propagation (mountinfo's optional fields)."""
        st = os.stat("/proc/%d/root/" % self.pid)
        with open("/proc/%d/mountinfo" % self.pid) as f:
            mounts = sorted((ln.split()[4], " ".join(ln.split(" - ")[0].split()[6:]))
                            for ln in f)
        return {"root": (st.st_dev, st.st_ino), "mounts": mounts}

    @staticmethod
    def changes(before, after):
        """What differs between two snapshots, for a failure message: the
        root, the mounts (with propagation) that went and that came."""
        out = []
        if before["root"] != after["root"]:
            out.append("root %s -> %s" % (before["root"], after["root"]))
        b, a = set(before["mounts"]), set(after["mounts"])
        out += ["gone: %s %s" % m for m in sorted(b - a)]
        out += ["came: %s %s" % m for m in sorted(a - b)]
        if not out and before != after:
            out.append("the same mounts in a different number")
        return out

    @classmethod
    def compare(cls, before, after):
        """changes(), but for a mount gone because another process on the
        machine deleted its mount point meanwhile (the kernel then detaches
        it in every namespace: another test's state removed): the runtime
        under test deletes no host path."""
        kept = [m for m in before["mounts"] if m in after["mounts"] or os.path.lexists(m[0])]
        return cls.changes(dict(before, mounts=kept), after)

    def run(self, args, **kw):
        return subprocess.run(["nsenter", "-t", str(self.pid), "-m", "--"] + list(args), **kw)

    def close(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def mount_ns():
    ns = MountNS()
    yield ns
    ns.close()
