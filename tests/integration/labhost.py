# SPDX-License-Identifier: GPL-2.0-or-later
"""A reusable "initialised lab" for integration tests: an ISC host built by
`isc --lab NAME init` (a unique NAME per use), optionally with the busybox
image imported, torn down by `isc --lab NAME deinit` even when the test
fails.  The teardown then fails the test when anything is left: the lab's
namespaces, its state root, a mount under it, or its iscd.

Use it from a test module:

    from labhost import lab_host, bare_lab  # noqa: F401  (pytest fixtures)

    def test_something(lab_host):
        lab_host.isc("run", "-d", "--name", "web", "busybox", "httpd", "-f")
        r = lab_host.isc("exec", "web", "true", check=False)

or, outside fixtures, `with initialised_lab() as lab: ...`.

Fixtures:
  lab_host   an initialised lab (default settings) with the image "busybox"
  bare_lab   a LabHost not initialised yet (the test runs init itself);
             deinit and the leftover check at teardown as for lab_host

A LabHost has: name, root (its state root), isc(*args, check=True,
input=None, timeout=60, env=None) -> CompletedProcess (text), init(*flags),
deinit(), import_busybox(name="busybox"), iscd_pid(), host_json(),
netns_paths(), leftovers() -> [problem, ...], and in_host(argv) /
in_outside(argv) to run a command in the lab's namespaces.

Environment: ISC_TEST_ISC (the isc binary, default build/src/isc/isc),
ISC_ISCD (the iscd that isc init starts; default next to isc in the build
tree).  Never runs isc init without --lab.
"""
import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

import audit_kernel
import helpers
from helpers import REPO
from helpers import pid_alive  # noqa: F401  (also used by importers)

ISC = os.path.abspath(os.environ.get("ISC_TEST_ISC", os.path.join(helpers.BUILD, "src", "isc", "isc")))
ISCD = os.path.abspath(os.environ.get("ISC_ISCD", os.path.join(helpers.BUILD, "src", "iscd", "iscd")))
MKROOTFS = os.path.join(REPO, "scripts", "mkrootfs-busybox.sh")
LABS_ROOT = "/var/lib/isc/labs"
AUDITD = os.path.join(helpers.BUILD, "src", "auditd", "isc-auditd")
NETNS_DIR = "/run/netns"

_busybox_dir = None


def busybox_rootfs():
    """A busybox rootfs directory built once per test process."""
    global _busybox_dir
    if _busybox_dir is None:
        d = tempfile.mkdtemp(prefix="isc-labhost-bb-")
        os.chmod(d, 0o755)  # containers in a user namespace run from it directly too
        atexit.register(shutil.rmtree, d, True)
        rootfs = os.path.join(d, "rootfs")
        r = subprocess.run(["sh", MKROOTFS, rootfs], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            pytest.skip("mkrootfs-busybox.sh failed: %s" % r.stderr.strip())
        _busybox_dir = rootfs
    return _busybox_dir


def unique_name(prefix="t"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def _env():
    env = dict(os.environ)
    env.pop("ISC_LAB", None)
    env["ISC_ISCD"] = ISCD
    return env


def mounts_under(path):
    """Mount points at or below path in this process's mount namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == path or mp.startswith(path.rstrip("/") + "/"):
                out.append(mp)
    return out


SEALED_EXE = "/memfd:isc-sealed-exe"  # iscd re-executed from a sealed copy (exeseal.c)


def pid_is_iscd(pid):
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv0 = f.read().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return False
    if exe.startswith(SEALED_EXE):
        return os.path.basename(argv0) == "iscd"
    return os.path.basename(exe.replace(" (deleted)", "")) == "iscd"


class LabHost:
    def __init__(self, name=None):
        self.name = name or unique_name()
        self.root = os.path.join(LABS_ROOT, self.name)
        self.initialised = False

    # ---- commands ----------------------------------------------------------
    def isc(self, *args, check=True, input=None, timeout=60, env=None, lab=True):
        argv = [ISC] + (["--lab", self.name] if lab else []) + [str(a) for a in args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                           env=env or _env(), stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
        return r

    def init(self, *flags, check=True):
        r = self.isc("init", *flags, check=check)
        if r.returncode == 0:
            self.initialised = True
        return r

    def deinit(self, check=True):
        r = self.isc("deinit", check=check, timeout=120)
        return r

    def import_busybox(self, name="busybox"):
        return self.isc("image", "import", name, busybox_rootfs(), timeout=120)

    def netns_paths(self):
        return ("%s/isc-%s-host" % (NETNS_DIR, self.name), "%s/isc-%s-out" % (NETNS_DIR, self.name))

    def in_host(self, argv, **kw):
        return subprocess.run(["ip", "netns", "exec", "isc-%s-host" % self.name] + list(argv), **kw)

    def in_outside(self, argv, **kw):
        return subprocess.run(["ip", "netns", "exec", "isc-%s-out" % self.name] + list(argv), **kw)

    def path(self, *rel):
        return os.path.join(self.root, *rel)

    def iscd_pid(self):
        try:
            with open(self.path("iscd.pid")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def host_json(self):
        with open(self.path("host.json")) as f:
            return json.load(f)

    # ---- teardown ------------------------------------------------------------
    def leftovers(self):
        problems = []
        for p in self.netns_paths():
            if os.path.lexists(p):
                problems.append("namespace %s" % p)
        if os.path.lexists(self.root):
            problems.append("state root %s" % self.root)
        for m in mounts_under(self.root):
            problems.append("mount %s" % m)
        return problems

    def force_cleanup(self):
        """Last resort after a failed deinit: nothing of the lab may stay."""
        pid = self.iscd_pid()
        if pid > 0 and pid_is_iscd(pid):
            os.kill(pid, signal.SIGKILL)
        for m in sorted(mounts_under(self.root), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        rt = self.path("runtime")
        if os.path.isdir(rt):
            runtime = os.path.join(REPO, "build", "src", "runtime", "isc-runtime")
            for cid in os.listdir(rt):
                subprocess.run([runtime, "--root", rt, "delete", "--force", cid], capture_output=True,
                               timeout=30)
        # the machine's audit collector (isc init started it): its stop
        # restores the kernel audit state it found
        subprocess.run([AUDITD, "--stop"], capture_output=True, timeout=60)
        if os.path.lexists(self.root):
            subprocess.run(["chattr", "-R", "-i", self.root], capture_output=True)
            shutil.rmtree(self.root, ignore_errors=True)
        for p in self.netns_paths():
            if os.path.lexists(p):
                subprocess.run(["ip", "netns", "delete", os.path.basename(p)], capture_output=True)

    def teardown(self):
        """deinit, then the leftover check; returns a failure text or None."""
        failure = None
        for attempt in range(3):
            try:
                r = self.deinit(check=False)
                failure = None
                if r.returncode != 0:
                    failure = "isc --lab %s deinit failed (%d): %s" % (self.name, r.returncode, r.stderr)
                break
            except subprocess.TimeoutExpired:
                failure = "isc --lab %s deinit timed out" % self.name
                break
            except OSError as e:  # the binary is being relinked by a parallel build
                failure = "isc --lab %s deinit: %s" % (self.name, e)
                time.sleep(2)
        left = self.leftovers()
        if left:
            failure = (failure + "; " if failure else "") + "left behind: " + ", ".join(left)
            self.force_cleanup()
        return failure


@contextlib.contextmanager
def audit_guard():
    """isc init starts the machine's audit collector (kernel audit is one
    per machine): a lab holds the audit test lock for its whole life, and
    after its deinit the kernel's audit state and rules must be what they
    were before."""
    with audit_kernel.Lock():
        before = audit_kernel.status()
        rules = audit_kernel.rules_with_key()
        yield
        after = audit_kernel.status()
        changed = {k: (before[k], after[k]) for k in audit_kernel.RESTORED if before[k] != after[k]}
        if changed or audit_kernel.rules_with_key() != rules:
            subprocess.run([AUDITD, "--stop"], capture_output=True, timeout=60)
            raise AssertionError("the kernel audit state was not restored: %s" % changed)


@contextlib.contextmanager
def initialised_lab(*init_flags, busybox=True, prefix="t"):
    with audit_guard():
        lab = LabHost(unique_name(prefix))
        try:
            lab.init(*init_flags)
            if busybox:
                lab.import_busybox()
            yield lab
        finally:
            failure = lab.teardown()
            if failure:
                raise AssertionError(failure)


@pytest.fixture
def lab_host():
    """An initialised lab with the busybox image; removed at teardown."""
    with initialised_lab() as lab:
        yield lab


@pytest.fixture
def bare_lab():
    """A lab name nobody uses yet; the test runs init.  Teardown: deinit
    and the leftover check (also when init was never run)."""
    with audit_guard():
        lab = LabHost(unique_name())
        yield lab
        failure = lab.teardown()
        if failure:
            pytest.fail(failure)
