# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the real-client tests (test_podman.py, test_containerd.py,
test_docker.py).

The clients drive a runc-compatible runtime exactly as they do in
production: podman 4.3 through conmon, containerd 1.6 through its
io.containerd.runc.v2 shim.  Every test runs once per runtime in
RUNTIMES (isc-runtime and runc, the reference); a runtime whose binary
is missing is skipped.

Everything lives in private temp folders: podman gets --root, --runroot
and --tmpdir of its own, containerd its own config, root, state, sockets
and shim --runc-root.  Nothing touches the machine's network: podman runs
with --network none only.  podman's cgroups (its containers' and
conmon's) and containerd's containers' live under this process's own
groups, each client in a parent of its own (CgroupParent), never in
podman's default /libpod_parent or ctr's default /<namespace> at the
hierarchy roots.

  PodmanEnv      a private podman store with the busybox image imported,
                 its containers under a cgroup parent of its own
  CgroupParent   that parent: one absolute path below this process's own
                 group in every hierarchy, removed again by close()/stop()
                 (PodmanCgroupParent is the same class, its older name)
  Containerd     a containerd daemon started by hand (stopped by pid), its
                 containers under a cgroup parent of its own
  Dockerd        a dockerd started by hand in a network namespace of its
                 own (stopped by pid, everything it made removed)
  podman_leftovers(cid, state_root, parent)  what a removed podman
                 container left (parent: its env's cgroup parent)
  ctr_leftovers(ns, cid, state_root, parent)  what a deleted containerd
                 task left (parent: its daemon's CgroupParent)
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

import helpers
from helpers import REPO

MKROOTFS = os.path.join(REPO, "scripts", "mkrootfs-busybox.sh")
ISC_DEFAULT = os.path.join(REPO, "build", "src", "runtime", "isc-runtime")

# Where each runtime keeps its state when the client passes no --root
# (podman/conmon do not pass one).
STATE_ROOTS = {"isc": "/run/isc-runtime", "runc": "/run/runc"}

# podman on this machine: root lacks CAP_SYS_RESOURCE and its hard NOFILE
# is 20000, while podman's default rlimits ask for more.  A test's podman
# run/create passes PodmanEnv.run_flags (these and its --cgroup-parent),
# never these alone: podman would put the container at the hierarchy roots.
PODMAN_RUN_FLAGS = ["--network", "none",
                    "--ulimit", "nofile=20000:20000",
                    "--ulimit", "nproc=32768:32768"]

IMAGE = "localhost/isc-busybox:latest"

# podman's parent with --cgroup-manager=cgroupfs when none is given: a group
# at the root of every hierarchy.  The tests never let it be used.
PODMAN_DEFAULT_PARENT = "libpod_parent"


def isc_path():
    """isc-runtime under test: ISC_TEST_RUNTIME when it names isc-runtime,
    else the build tree's binary."""
    env = os.environ.get("ISC_TEST_RUNTIME")
    if env and "isc" in os.path.basename(env):
        return os.path.abspath(env)
    return ISC_DEFAULT


def runc_path():
    return shutil.which("runc") or "/usr/sbin/runc"


def runtime_params():
    """pytest params [isc, runc]: (kind, absolute path)."""
    return [pytest.param(("isc", isc_path()), id="isc"),
            pytest.param(("runc", runc_path()), id="runc")]


def require_runtime(rt):
    kind, path = rt
    if not os.access(path, os.X_OK):
        pytest.skip("%s not found: %s" % (kind, path))
    return kind, path


def run(argv, timeout=60, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(argv, timeout=timeout, **kw)


def make_rootfs(dest):
    r = run(["sh", MKROOTFS, dest], timeout=120)
    if r.returncode != 0:
        pytest.skip("mkrootfs-busybox.sh failed: %s" % r.stderr.strip())
    return dest


def umount_below(path):
    """Last resort: lazily unmount whatever is still mounted under path."""
    for mp in sorted(helpers.mount_leftovers(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


# ---- leftovers -------------------------------------------------------------

def _cgroup_dirs(rel):
    """Cgroup directories /sys/fs/cgroup/<hierarchy>/<rel> (and the v2 root)."""
    base = "/sys/fs/cgroup"
    found = []
    cands = [os.path.join(base, rel)]
    try:
        cands += [os.path.join(base, h, rel) for h in os.listdir(base)]
    except OSError:
        pass
    for c in cands:
        if os.path.isdir(c):
            found.append(c)
    return found


def _procs_with(text):
    """pids whose command line or cgroup mentions `text` (not ourselves)."""
    found = []
    me = os.getpid()
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == me:
            continue
        pid = int(e)
        blob = b""
        for name in ("cmdline", "cgroup"):
            try:
                with open("/proc/%d/%s" % (pid, name), "rb") as f:
                    blob += f.read()
            except OSError:
                pass
        if text.encode() in blob and helpers.pid_alive(pid):
            found.append(pid)
    return found


def _mounts_with(text):
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if text in line:
                found.append(line.split()[4])
    return found


def _leftovers(cid, cgroup_rel, state_root):
    left = []
    left += ["mount " + m for m in _mounts_with(cid)]
    left += ["cgroup " + d for d in _cgroup_dirs(cgroup_rel)]
    left += ["state " + s for s in helpers.state_leftovers(state_root, cid)]
    left += ["process %d" % p for p in _procs_with(cid)]
    return left


def podman_leftovers(cid, state_root, parent):
    """What podman left of container `cid`: its group under `parent` (the
    env's cgroup parent, PodmanEnv.cgroup_parent) or under podman's default
    /libpod_parent, a mount or a process naming it, its state dir."""
    left = _leftovers(cid, parent.strip("/") + "/libpod-" + cid, state_root)
    left += ["cgroup " + d for d in _cgroup_dirs(PODMAN_DEFAULT_PARENT + "/libpod-" + cid)]
    return left


def ctr_leftovers(ns, cid, state_root, parent):
    """What containerd left of task `cid` in namespace `ns`: its group
    under `parent` (the daemon's CgroupParent, Containerd.parent) or at
    ctr's default /<ns>/<cid> at the hierarchy roots, a mount or a process
    naming it, its state dir."""
    left = _leftovers(cid, os.path.join(ns, cid), state_root)
    left += ["cgroup " + d for d in parent.dirs(cid)]
    return left


def wait_clean(fn, timeout=10.0):
    """Wait until fn() (a leftover list) is empty; return what is left."""
    deadline = time.monotonic() + timeout
    while True:
        left = fn()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


# ---- the clients' cgroup parent -----------------------------------------------

class Hierarchy:
    """One mounted cgroup hierarchy: its mount point under /sys/fs/cgroup,
    the group mounted there (mountinfo's root, "/" but in a cgroup
    namespace) and this process's own group in it (/proc/self/cgroup)."""

    def __init__(self, mount, root, own):
        self.mount = mount
        self.root = root
        self.own = own

    def dir(self, path):
        """The directory of group `path` ("/a/b"), or None when the mount
        does not show it."""
        path = "/" + path.strip("/")
        root = self.root.rstrip("/")
        if root and path != root and not path.startswith(root + "/"):
            return None
        return os.path.join(self.mount, path[len(root):].lstrip("/")).rstrip("/")

    def __repr__(self):
        return "%s (own group %s)" % (self.mount, self.own)


def cgroup_hierarchies():
    """Every cgroup hierarchy (v1 and v2) mounted under /sys/fs/cgroup,
    once each, with this process's own group in it."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _hid, ctrls, path = line.rstrip("\n").split(":", 2)
            own[frozenset(ctrls.split(",")) if ctrls else frozenset()] = path
    found, seen = [], set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            root, mount = fields[3], fields[4]
            fstype, opts = fields[sep + 1], set(fields[sep + 3].split(","))
            if mount != "/sys/fs/cgroup" and not mount.startswith("/sys/fs/cgroup/"):
                continue
            if fstype == "cgroup2":
                key = frozenset()
            elif fstype == "cgroup":
                keys = [k for k in own if k and k <= opts]
                if len(keys) != 1:
                    continue
                key = keys[0]
            else:
                continue
            if key in seen or key not in own:
                continue
            seen.add(key)
            found.append(Hierarchy(mount, root, own[key]))
    return found


def proc_cgroups(pid):
    """{controllers ("memory", "cpu,cpuacct", "name=systemd", "" for v2):
    group path} of process pid."""
    out = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _hid, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls] = path
    return out


def _depth(path):
    return len([c for c in path.split("/") if c])


def path_under(path, anc):
    """path is anc or below it ("/a/b" is under "/" and "/a")."""
    anc = anc.rstrip("/")
    return not anc or path == anc or path.startswith(anc + "/")


def hierarchy_tops():
    """{mount point: names of the groups directly below its root}."""
    tops = {}
    for h in cgroup_hierarchies():
        try:
            tops[h.mount] = {e for e in os.listdir(h.mount)
                             if os.path.isdir(os.path.join(h.mount, e))}
        except OSError:
            tops[h.mount] = set()
    return tops


def _podman_trace(d):
    """Paths below (and including) d whose name podman gives its groups:
    libpod_parent, libpod-<id>, conmon."""
    return sorted(root for root, _dirs, _files in os.walk(d)
                  if os.path.basename(root).startswith("libpod")
                  or os.path.basename(root) == "conmon")


def root_additions(tops_before, parent, trace):
    """Groups that appeared directly at a hierarchy root since `tops_before`
    (hierarchy_tops()) and are the client's (`trace(d)`: the paths below
    and including d named as the client names its groups) or `parent`'s
    ancestors; what others running meanwhile make there is not counted,
    nor the way to the parent of another client still open."""
    live = [d for p in _LIVE_PARENTS for d in p.made]
    ours = set(_ANCESTORS_MADE) | set(parent.made)
    found = []
    for mount, names in hierarchy_tops().items():
        for name in sorted(names - tops_before.get(mount, set())):
            d = os.path.join(mount, name)
            if any(path_under(n, d) for n in live):
                continue  # on the way to the parent of a client still open
            if any(path_under(o, d) for o in ours):
                found.append(d)
            else:
                found += trace(d)
    return found


# ancestors of a CgroupParent path that this process saw missing (and a
# client or the runtime then made), {directory}; removed by the last
# CgroupParent of this process that lies below them
_ANCESTORS_MADE = set()
_LIVE_PARENTS = []


class CgroupParent:
    """The cgroup parent P under which one client (a PodmanEnv, a
    Containerd) puts every container: a uniquely named group below this
    process's own group in every hierarchy.  The client is given one
    absolute path, used in every hierarchy:

    - podman 4.3 with cgroupfs (--cgroup-parent P): the containers' groups
      are P/libpod-<id> (the runtime makes them), conmon's is P/conmon
      (podman makes it, in each v1 controller it manages, and never
      removes it).  A relative parent does not work: podman joins it to
      each hierarchy's root itself (conmon's group, podman stats), while
      the runtime joins the config's relative cgroupsPath to its own
      group (conmon's).
    - containerd 1.6 (ctr run --cgroup P/<id>): ctr puts P/<id> in the
      config's cgroupsPath (its default is /<namespace>/<id>, at the
      hierarchy roots), the runtime makes the groups; containerd and its
      shims stay in this process's own groups.

    P = <the deepest of this process's own groups>/NAME.  It is below the
    own group of every hierarchy when the own groups are nested (each an
    ancestor of the deepest; on a hybrid machine whose test process sits in
    memory:/process_api/<id> and "/" everywhere else, they are).  When they
    are not nested, no single absolute path lies under all of them and the
    constructor fails the test with a message naming them (the tests do not
    fall back to podman's /libpod_parent).

    The groups between an own group and P (pids:/process_api/<id> on that
    machine) are recorded when missing and removed again by remove() once
    no other CgroupParent of this process lies below them; P itself,
    with everything left below it, is removed in every hierarchy."""

    def __init__(self, name):
        self.hierarchies = cgroup_hierarchies()
        if not self.hierarchies:
            pytest.fail("no cgroup hierarchy mounted under /sys/fs/cgroup")
        deepest = max((h.own for h in self.hierarchies), key=_depth)
        apart = [h for h in self.hierarchies if not path_under(deepest, h.own)]
        if apart:
            pytest.fail("the clients take one absolute cgroup parent for every hierarchy, but "
                        "this process's own groups are not nested: %s is not below %s; no "
                        "parent lies under all of them" % (deepest, apart))
        self.path = deepest.rstrip("/") + "/" + name
        self.made = []  # P's directory in each hierarchy (removed with all below)
        self.ancestors = []  # the directories on the way that were missing
        for h in self.hierarchies:
            own_depth = _depth(h.own)
            comps = [c for c in self.path.split("/") if c]
            for i in range(own_depth + 1, len(comps)):
                d = h.dir("/" + "/".join(comps[:i]))
                if d and not os.path.isdir(d):
                    self.ancestors.append(d)
                    _ANCESTORS_MADE.add(d)
            d = h.dir(self.path)
            if d:
                self.made.append(d)
        _LIVE_PARENTS.append(self)

    def dirs(self, rel=""):
        """The existing directories of group P/rel, one per hierarchy."""
        out = []
        for h in self.hierarchies:
            d = h.dir(self.path + ("/" + rel if rel else ""))
            if d and os.path.isdir(d):
                out.append(d)
        return out

    def dir(self, mount, rel=""):
        """The directory of P/rel in the hierarchy mounted at `mount`."""
        for h in self.hierarchies:
            if h.mount == mount:
                return h.dir(self.path + ("/" + rel if rel else ""))
        return None

    def remove(self):
        """Remove P (and all below it) in every hierarchy, then the
        ancestors recorded missing that no live parent needs; returns what
        had to be killed or could not be removed."""
        problems = []
        alldirs = []
        for d in self.made:
            for root, _dirs, _files in os.walk(d):
                alldirs.append(root)
        pids = set()
        for d in alldirs:
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    pids |= {int(x) for x in f.read().split()}
            except OSError:
                pass
        for pid in sorted(pids):  # the client's (conmon, a container)
            problems.append("process %d left in %s" % (pid, self.path))
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for d in sorted(alldirs, key=len, reverse=True):
            problems += _rmdir(d)
        if self in _LIVE_PARENTS:
            _LIVE_PARENTS.remove(self)
        needed = [d for p in _LIVE_PARENTS for d in p.made]
        for d in sorted(_ANCESTORS_MADE, key=len, reverse=True):
            if any(path_under(n, d) for n in needed):
                continue  # another client of this process still lives below it
            problems += _rmdir(d)
            _ANCESTORS_MADE.discard(d)
        return problems

    def left(self):
        """P's directories and the ancestors this parent saw missing that
        still exist, but for those a live parent of this process needs."""
        needed = [d for p in _LIVE_PARENTS for d in p.made]
        return [d for d in self.made + self.ancestors
                if os.path.isdir(d) and not any(path_under(n, d) for n in needed)]


# its name when podman alone used it
PodmanCgroupParent = CgroupParent


def _rmdir(d, timeout=5.0):
    """rmdir a cgroup directory, retrying while it is busy (its last
    process is still exiting); [] or a problem."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(d)
            return []
        except FileNotFoundError:
            return []
        except OSError as e:
            if time.monotonic() > deadline:
                return ["cgroup %s not removed: %s" % (d, e)]
            time.sleep(0.05)


# ---- podman ------------------------------------------------------------------

class PodmanEnv:
    """A private podman store: podman --root/--runroot/--tmpdir in a temp
    dir, --cgroup-manager=cgroupfs, every container under a cgroup parent of
    its own (self.cgroup_parent, a CgroupParent path: below this
    process's own group in every hierarchy).

    Every podman run/create of the tests passes self.run_flags (run_ctr
    does): PODMAN_RUN_FLAGS and --cgroup-parent.  close() removes the
    containers and images, waits for conmon, removes the store, the parent
    and the groups made on the way to it, and returns the problems: what it
    had to kill or could not remove, and every group that appeared directly
    at a hierarchy root since the env was made and is podman's
    (libpod_parent, libpod-*, conmon, or holding such a group) or one of
    the parent's ancestors, and each of the parent's directories and of
    the ancestors it saw missing that still exists."""

    def __init__(self):
        self.name = "isc-podman-" + uuid.uuid4().hex[:10]
        self.tops_before = hierarchy_tops()
        self.parent = CgroupParent(self.name)
        self.cgroup_parent = self.parent.path
        self.run_flags = PODMAN_RUN_FLAGS + ["--cgroup-parent", self.cgroup_parent]
        self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.base = ["podman",
                     "--root", os.path.join(self.dir, "root"),
                     "--runroot", os.path.join(self.dir, "runroot"),
                     "--tmpdir", os.path.join(self.dir, "tmp"),
                     "--cgroup-manager=cgroupfs", "--events-backend=file"]
        self.image = IMAGE

    def __call__(self, *args, input=None, timeout=60, env=None):
        return run(self.base + list(args), input=input, timeout=timeout, env=env)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, "podman %s: rc=%d\n%s" % (
            " ".join(args), r.returncode, r.stderr)
        return r

    def import_image(self):
        rootfs = make_rootfs(os.path.join(self.dir, "rootfs"))
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        r = subprocess.run(self.base + ["import", "-", self.image], stdin=tar.stdout,
                           capture_output=True, text=True, timeout=120)
        tar.stdout.close()
        tar.wait()
        if r.returncode != 0:
            pytest.skip("podman import failed: %s" % r.stderr.strip())

    def save_oci_archive(self, dest):
        self.ok("save", "--format", "oci-archive", "-o", dest, self.image)
        return dest

    def run_ctr(self, rt, *args, input=None, timeout=60, env=None):
        """podman run --runtime <rt path> <run_flags> ARGS..."""
        return self("run", "--runtime", rt[1], *self.run_flags, *args,
                    input=input, timeout=timeout, env=env)

    def cid(self, name):
        r = self.ok("inspect", "-f", "{{.Id}}", name)
        return r.stdout.strip()

    def status(self, name):
        return self.ok("inspect", "-f", "{{.State.Status}}", name).stdout.strip()

    def leftovers(self, cid, kind):
        """What podman left of container `cid` run by runtime `kind`."""
        return podman_leftovers(cid, STATE_ROOTS[kind], self.cgroup_parent)

    def cgroup_dir(self, hierarchy, rel=""):
        """The directory of <parent>/rel in /sys/fs/cgroup/<hierarchy>
        ("" for a pure v2 machine's /sys/fs/cgroup)."""
        return self.parent.dir(os.path.join("/sys/fs/cgroup", hierarchy).rstrip("/"), rel)

    def root_additions(self):
        """Groups that appeared directly at a hierarchy root since the env
        was made and are podman's or the parent's ancestors (what others
        running meanwhile make there is not counted)."""
        return root_additions(self.tops_before, self.parent, _podman_trace)

    def close(self):
        """Remove everything; returns the problems (see the class)."""
        problems = []
        self("rm", "-a", "-f", "-t", "0", timeout=120)
        self("rmi", "-a", "-f", timeout=120)
        # conmon (its command line names the store) and anything in the
        # parent's groups (their paths name it)
        for pid in wait_clean(lambda: _procs_with(self.name), timeout=10):
            problems.append("process %d left (names %s)" % (pid, self.name))
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        # podman mounts its overlay store privately under --root
        umount_below(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        problems += self.parent.remove()
        for d in self.parent.left():
            problems.append("cgroup left: %s" % d)
        for d in self.root_additions():
            problems.append("cgroup at a hierarchy root: %s" % d)
        return problems


# ---- containerd --------------------------------------------------------------

CONTAINERD_CONFIG = """\
version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri",
                    "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{d}/containerd.sock"

[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[debug]
  address = "{d}/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"""


def _ctr_trace(ns):
    """trace for root_additions: paths below (and including) d named
    `ns`, ctr's default parent /<ns> of a task's group /<ns>/<id>."""
    def trace(d):
        return sorted(root for root, _dirs, _files in os.walk(d)
                      if os.path.basename(root) == ns)
    return trace


class Containerd:
    """containerd started by hand in a temp dir; stop() kills it by pid.

    Every task runs in a group of its own below a cgroup parent of the
    daemon's (self.parent, a CgroupParent): the tests' `ctr run` passes
    run_flags(cid), --cgroup <parent>/<id>, never ctr's default cgroupsPath
    /<namespace>/<id> at the hierarchy roots.  stop() removes the tasks,
    the daemon, its temp dir, the parent and the groups made on the way to
    it, and returns the problems: what it had to kill or could not remove,
    each of the parent's directories (and of the ancestors it saw missing)
    that still exists, and every group that appeared at a hierarchy root
    since the daemon was made and is the parent's ancestor or named as
    ctr's default (/<namespace>)."""

    def __init__(self):
        self.name = "isc-ctrd-" + uuid.uuid4().hex[:10]
        self.tops_before = hierarchy_tops()
        self.parent = CgroupParent(self.name)
        self.cgroup_parent = self.parent.path
        self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "containerd.sock")
        self.runc_root = os.path.join(self.dir, "runc-root")
        self.ns = "isc-test-%d" % os.getpid()
        self.config = os.path.join(self.dir, "config.toml")
        with open(self.config, "w") as f:
            f.write(CONTAINERD_CONFIG.format(d=self.dir))
        self.log = open(os.path.join(self.dir, "containerd.log"), "w")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["containerd", "--config", self.config],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("containerd exited with %s; see %s"
                                   % (self.proc.returncode, self.log.name))
            if os.path.exists(self.sock) and self("version").returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("containerd socket did not appear")
            time.sleep(0.05)

    def __call__(self, *args, input=None, timeout=60):
        return run(["ctr", "-a", self.sock, "-n", self.ns] + list(args),
                   input=input, timeout=timeout)

    def run_flags(self, cid):
        """What every `ctr run` of task `cid` passes: its group
        <parent>/<cid> (ctr puts it in the config's cgroupsPath)."""
        return ["--cgroup", self.cgroup_parent + "/" + cid]

    def cgroup_dir(self, hierarchy, rel=""):
        """The directory of <parent>/rel in /sys/fs/cgroup/<hierarchy>
        ("" for a pure v2 machine's /sys/fs/cgroup)."""
        return self.parent.dir(os.path.join("/sys/fs/cgroup", hierarchy).rstrip("/"), rel)

    def leftovers(self, cid):
        """What containerd left of task `cid` (see ctr_leftovers)."""
        return ctr_leftovers(self.ns, cid, os.path.join(self.runc_root, self.ns), self.parent)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, "ctr %s: rc=%d\n%s" % (
            " ".join(args), r.returncode, r.stderr)
        return r

    def shim_log(self, cid):
        p = os.path.join(self.dir, "state", "io.containerd.runtime.v2.task",
                         self.ns, cid, "log.json")
        try:
            with open(p) as f:
                return f.read()
        except OSError:
            return ""

    def cleanup_containers(self):
        r = self("containers", "ls", "-q")
        for cid in r.stdout.split():
            self("task", "kill", "-s", "KILL", cid)
            self("task", "delete", "-f", cid)
            self("containers", "rm", cid)

    def stop(self):
        """Stop everything; returns the problems (see the class)."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.cleanup_containers()
            except Exception:  # noqa: BLE001 - teardown must go on
                pass
            # shims exit once their tasks are deleted; wait for them so that
            # none outlives the daemon
            wait_clean(lambda: _procs_with(self.sock), timeout=10)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        for pid in _procs_with(self.sock):  # a shim this daemon started
            problems.append("process %d left (names %s)" % (pid, self.sock))
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        umount_below(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        # ctr's default groups /<ns>/<id> at the roots: a run without
        # run_flags made them
        for d in _cgroup_dirs(self.ns):
            problems.append("cgroup at a hierarchy root: %s" % d)
            for root, _dirs, _files in sorted(os.walk(d), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(root)
                except OSError:
                    pass
        problems += self.parent.remove()
        for d in self.parent.left():
            problems.append("cgroup left: %s" % d)
        for d in root_additions(self.tops_before, self.parent, _ctr_trace(self.ns)):
            problems.append("cgroup at a hierarchy root: %s" % d)
        return problems


# ---- docker ------------------------------------------------------------------

DOCKERD = "/usr/sbin/dockerd"  # Debian's docker.io (20.10)
DOCKER = "/usr/bin/docker"     # its client, whatever else is on PATH
DOCKER_IMAGE = "isc-busybox:latest"


class Dockerd:
    """dockerd started by hand, as isolated as it allows:

    - in a network namespace of its own (`ip netns add`, removed by stop())
      with --iptables=false --ip6tables=false --ip-forward=false
      --ip-masq=false --bridge=none --userland-proxy=false: it touches no
      ruleset, link or sysctl of the machine's; containers run with
      --network none;
    - in a private mount namespace (unshare --propagation private): its
      overlay mounts and the containers' mounts never reach the machine's
      mount table and go away with it;
    - a private --data-root, --exec-root, -H unix:// socket, --pidfile,
      --config-file and key (daemon.json "deprecated-key-path", else
      /etc/docker/key.json) in a temp dir, the client's config there too
      (DOCKER_CONFIG); its own containerd, which dockerd starts and stops
      (socket and state under --exec-root, content under --data-root);
    - --cgroup-parent NAME, relative: the runtimes put each container at
      <this process's own group>/NAME/<id> in every hierarchy.

    isc-runtime is registered with --add-runtime isc=PATH (and as isc-json
    in daemon.json's "runtimes"); runc is Docker's default "runc".  stop() removes the containers, SIGTERMs dockerd (its
    pid: nsenter and unshare exec it), SIGKILLs by pid whatever it started
    that is still there (containerd, shims: their command line names the
    temp dir; container processes: in NAME's groups), removes the groups,
    the namespace and the temp dir, and returns what it had to clean up."""

    def __init__(self, isc):
        self.name = "isc-docker-" + uuid.uuid4().hex[:10]
        self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.netns = self.name
        self.cgroup_parent = self.name
        self.sock = os.path.join(self.dir, "docker.sock")
        self.exec_root = os.path.join(self.dir, "exec")
        self.pidfile = os.path.join(self.dir, "dockerd.pid")
        # where the shim's runtime (isc or runc) keeps its state: Docker
        # 20.10 gives every runc-v2 runtime --root <exec-root>/runtime-runc
        self.state_root = os.path.join(self.exec_root, "runtime-runc", "moby")
        self.isc = isc
        self.image = DOCKER_IMAGE
        self.env = dict(os.environ, DOCKER_CONFIG=os.path.join(self.dir, "cli"))
        # isc-runtime a second time, as an administrator registers it
        # (docs/kubernetes.md): "runtimes" in daemon.json, named isc-json
        with open(os.path.join(self.dir, "daemon.json"), "w") as f:
            json.dump({"deprecated-key-path": os.path.join(self.dir, "key.json"),
                       "runtimes": {"isc-json": {"path": isc}}}, f)
        self.log = open(os.path.join(self.dir, "dockerd.log"), "w")
        self.proc = None
        self.netns_added = False

    def argv(self):
        return ["nsenter", "--net=/run/netns/" + self.netns, "--",
                "unshare", "--mount", "--propagation", "private", "--",
                DOCKERD,
                "--config-file", os.path.join(self.dir, "daemon.json"),
                "--data-root", os.path.join(self.dir, "data"),
                "--exec-root", self.exec_root,
                "-H", "unix://" + self.sock,
                "--pidfile", self.pidfile,
                "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                "--ip-masq=false", "--bridge=none", "--userland-proxy=false",
                "--cgroup-parent", self.cgroup_parent,
                "--add-runtime", "isc=" + self.isc]

    def start(self):
        r = run(["ip", "netns", "add", self.netns])
        if r.returncode != 0:
            raise RuntimeError("ip netns add %s: %s" % (self.netns, r.stderr.strip()))
        self.netns_added = True
        run(["ip", "-n", self.netns, "link", "set", "lo", "up"])
        self.proc = subprocess.Popen(self.argv(), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("dockerd exited with %s; see %s"
                                   % (self.proc.returncode, self.log.name))
            if os.path.exists(self.sock) and self("version").returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("dockerd did not answer on %s" % self.sock)
            time.sleep(0.1)
        with open(self.pidfile) as f:
            pid = int(f.read())
        if pid != self.proc.pid:
            raise RuntimeError("dockerd's pidfile says %d, we started %d" % (pid, self.proc.pid))

    def __call__(self, *args, input=None, timeout=60, **kw):
        return run([DOCKER, "-H", "unix://" + self.sock] + list(args), input=input,
                   timeout=timeout, env=self.env, **kw)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, "docker %s: rc=%d\n%s" % (" ".join(args), r.returncode, r.stderr)
        return r

    def import_image(self):
        rootfs = make_rootfs(os.path.join(self.dir, "rootfs"))
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        r = self("import", "-", self.image, stdin=tar.stdout, timeout=120)
        tar.stdout.close()
        tar.wait()
        if r.returncode != 0:
            raise RuntimeError("docker import failed: %s" % r.stderr.strip())

    def mounts_with(self, text):
        """Mount points naming `text` in dockerd's (private) mount namespace."""
        found = []
        try:
            with open("/proc/%d/mountinfo" % self.proc.pid) as f:
                for line in f:
                    if text in line:
                        found.append(line.split()[4])
        except (OSError, AttributeError):
            pass
        return found

    def cgroup_dirs(self, cid=None):
        rel = self.cgroup_parent + ("/" + cid if cid else "")
        return helpers.cgroup_leftovers(rel)

    def leftovers(self, cid):
        left = ["mount " + m for m in self.mounts_with(cid)]
        left += ["cgroup " + d for d in self.cgroup_dirs(cid)]
        left += ["state " + s for s in helpers.state_leftovers(self.state_root, cid)]
        left += ["process %d" % p for p in _procs_with(cid)]
        return left

    def stop(self):
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            try:
                ids = self("ps", "-aq", timeout=30).stdout.split()
                if ids:
                    self("rm", "-f", *ids, timeout=120)
            except Exception as e:  # noqa: BLE001 - teardown must go on
                problems.append("docker rm: %s" % e)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                problems.append("dockerd ignored SIGTERM")
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        # containerd and shims name the temp dir; container processes sit in
        # the parent group's children: all were started by this dockerd
        for pid in wait_clean(lambda: _procs_with(self.name), timeout=10):
            problems.append("process %d left" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        dirs = self.cgroup_dirs()
        if dirs:
            helpers.kill_cgroups(dirs)
            left = self.cgroup_dirs()
            if left:
                problems.append("cgroups left: %s" % left)
        if self.netns_added:
            r = run(["ip", "netns", "del", self.netns])
            if r.returncode != 0:
                problems.append("ip netns del %s: %s" % (self.netns, r.stderr.strip()))
        mounts = helpers.mount_leftovers(self.dir)
        if mounts:
            problems.append("mounts on the machine: %s" % mounts)
            umount_below(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        if os.path.exists(self.dir):
            problems.append("%s not removed" % self.dir)
        return problems
