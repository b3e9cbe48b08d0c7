# SPDX-License-Identifier: GPL-2.0-or-later
"""containerd 1.6 (`ctr`, io.containerd.runc.v2 shim) drives isc-runtime
as it drives runc.

Proves, for isc-runtime and runc with `ctr run --runc-binary`: run --rm
output and exit status, a detached task with `task exec` (exit status and
output), `task ps`, `task kill` (the container's TERM handler runs),
`task delete`, and that a failed create shows the runtime's message; after
delete nothing is left (no mount naming the id, no cgroup of the task, no
state under the shim's --runc-root, no process).

Every `ctr run` passes --cgroup <parent>/<id> (Containerd.run_flags): the
task's groups are below this test's own group, in a parent of the daemon's
(clients.CgroupParent), never at ctr's default /<namespace>/<id> at the
hierarchy roots (test_cgroups_under_test_group); the fixture fails when a
group of the tasks or of the parent's ancestors is left anywhere or
appeared at a hierarchy root.

containerd is started by hand once per module in a temp dir (own config,
root, state, sockets; CRI plugin disabled) and killed by pid at teardown.
The image is the busybox rootfs, imported into podman and saved as an OCI
archive (so podman is needed too).  Skipped when containerd, ctr or
podman is missing.
"""
import os
import shutil
import uuid

import pytest

import clients
import helpers

pytestmark = [pytest.mark.skipif(
    any(shutil.which(b) is None for b in
        ("containerd", "ctr", "containerd-shim-runc-v2", "podman")),
    reason="containerd/ctr/podman not installed (scripts/install-deps.sh)"), pytest.mark.pass_normal]

TRAP_LOOP = 'trap "exit 3" TERM; while :; do sleep 0.1; done'


@pytest.fixture(scope="module")
def ctrd():
    if os.geteuid() != 0:
        pytest.skip("containerd tests need root")
    pm = clients.PodmanEnv()
    d = clients.Containerd()
    try:
        pm.import_image()
        archive = pm.save_oci_archive(os.path.join(d.dir, "busybox-oci.tar"))
        d.start()
        d.ok("images", "import", archive, timeout=120)
        d.image = pm.image
        yield d
    finally:
        try:
            ctrd_problems = d.stop()
        finally:
            problems = pm.close()
    assert not ctrd_problems, "containerd's cgroups or processes: %s" % ctrd_problems
    assert not problems, "podman's store, cgroups or processes: %s" % problems


class Case:
    def __init__(self, d, rt):
        self.d = d
        self.rt = rt
        self.kind = rt[0]
        self.ids = []

    def new_id(self):
        cid = "isc-%s-%s" % (self.kind, uuid.uuid4().hex[:10])
        self.ids.append(cid)
        return cid

    def run(self, *args, cmd=(), input=None, timeout=60):
        cid = self.new_id()
        r = self.d("run", "--runc-binary", self.rt[1], "--runc-root", self.d.runc_root,
                   *self.d.run_flags(cid), *args, self.d.image, cid, *cmd,
                   input=input, timeout=timeout)
        return cid, r

    def leftovers(self, cid):
        return clients.wait_clean(lambda: self.d.leftovers(cid))

    def assert_clean(self, cid):
        left = self.leftovers(cid)
        assert not left, "%s: left after ctr deleted %s: %s" % (self.kind, cid, left)

    def close(self):
        left = {}
        for cid in self.ids:
            self.d("task", "kill", "-s", "KILL", cid)
            self.d("task", "delete", "-f", cid)
            self.d("containers", "rm", cid)
            lo = self.leftovers(cid)
            if lo:
                left[cid] = lo
        assert not left, "left behind: %s" % left


@pytest.fixture(params=clients.runtime_params())
def ct(request, ctrd):
    rt = clients.require_runtime(request.param)
    case = Case(ctrd, rt)
    yield case
    case.close()


def test_run_rm_output_and_status(ct):
    cid, r = ct.run("--rm", cmd=("sh", "-c", "echo hello isc; exit 3"))
    assert r.returncode == 3, r.stderr
    assert r.stdout == "hello isc\n"
    assert ct.d("containers", "info", cid).returncode != 0  # --rm removed it
    ct.assert_clean(cid)


def test_run_zero(ct):
    cid, r = ct.run("--rm", cmd=("true",))
    assert r.returncode == 0, r.stderr
    ct.assert_clean(cid)


def test_detached_task_kill_delete(ct):
    cid, r = ct.run("-d", cmd=("sh", "-c", TRAP_LOOP))
    assert r.returncode == 0, r.stderr
    tasks = ct.d.ok("task", "ls").stdout
    assert any(l.split()[:1] == [cid] and "RUNNING" in l for l in tasks.splitlines()), tasks

    ps = ct.d.ok("task", "ps", cid).stdout.split("\n")[1:]
    pids = [int(l.split()[0]) for l in ps if l.strip()]
    assert pids, ps

    ct.d.ok("task", "kill", cid)  # SIGTERM by default
    clients.wait_clean(lambda: [l for l in ct.d.ok("task", "ls").stdout.splitlines()
                                if l.startswith(cid + " ") and "STOPPED" not in l])
    r = ct.d.ok("task", "delete", cid)
    assert r.returncode == 0
    ct.d.ok("containers", "rm", cid)
    ct.assert_clean(cid)


def test_task_exec(ct):
    cid, r = ct.run("-d", cmd=("sh", "-c", TRAP_LOOP))
    assert r.returncode == 0, r.stderr
    r = ct.d("task", "exec", "--exec-id", "e1", cid, "echo", "in", "exec")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "in exec\n"
    r = ct.d("task", "exec", "--exec-id", "e2", cid, "sh", "-c", "exit 5")
    assert r.returncode == 5, r.stderr


def test_task_ps_lists_init(ct):
    cid, r = ct.run("-d", cmd=("sh", "-c", TRAP_LOOP))
    assert r.returncode == 0, r.stderr
    ps = ct.d.ok("task", "ps", cid).stdout.split("\n")[1:]
    pids = {int(l.split()[0]) for l in ps if l.strip()}
    init = int(ct.d.ok("task", "ls").stdout.split(cid, 1)[1].split()[0])
    assert init in pids


def test_delete_force_running(ct):
    cid, r = ct.run("-d", cmd=("sleep", "1000"))
    assert r.returncode == 0, r.stderr
    ct.d.ok("task", "delete", "-f", cid)
    ct.d.ok("containers", "rm", cid)
    ct.assert_clean(cid)


def test_create_failure_message(ct):
    cid, r = ct.run("--rm", cmd=("nosuchcmd",))
    assert r.returncode != 0
    assert "OCI runtime create failed" in r.stderr
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.stderr, r.stderr
    ct.d("containers", "rm", cid)
    ct.assert_clean(cid)


# ---- the cgroups a container sees and is charged to (issue 13) ---------------

MIB = 1 << 20
V1_MEMORY = os.path.isfile("/sys/fs/cgroup/memory/memory.usage_in_bytes")
needs_v1 = pytest.mark.skipif(not V1_MEMORY, reason="no cgroup v1 memory hierarchy mounted")

# writes 34 MiB to the /dev/shm tmpfs, then says so
CHARGE_SH = ("dd if=/dev/zero of=/dev/shm/x bs=1M count=34 2>/dev/null; touch /dev/shm/done; "
             + TRAP_LOOP)


def _wait_file(ct, cid, path):
    helpers.wait_for(lambda: ct.d("task", "exec", "--exec-id", "w" + uuid.uuid4().hex[:8], cid,
                                  "test", "-f", path).returncode == 0,
                     timeout=30, interval=0.2, what=path)


def _metrics(ct, cid):
    """`ctr task metrics` (cgroup v1 table: METRIC VALUE) as a dict."""
    out = ct.d.ok("task", "metrics", cid).stdout
    kv = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            kv[parts[0]] = parts[1]
    return kv, out


def _usage(path):
    with open(path) as f:
        return int(f.read())


def _own_usage_file(ct, cid):
    """The task's memory group: <parent>/<id> (Containerd.run_flags)."""
    return os.path.join(ct.d.cgroup_dir("memory", cid), "memory.usage_in_bytes")


def _parent_usage(ct):
    """The daemon's cgroup parent's usage: it holds every task's group."""
    return _usage(os.path.join(ct.d.cgroup_dir("memory"), "memory.usage_in_bytes"))


def _below_parent(ct, read):
    """Wait until a reading taken by `read` is at most the parent group's
    usage read right after it.  The two are read one after the other while
    the container's usage moves (a page freed in between puts the parent's
    later figure below the child's earlier one), so a pair that disagrees
    is read again; a figure that is not the container's own (the host's, the
    caller's group's) never fits below its parent, and the wait fails."""
    def fits():
        v = read()
        parent = _parent_usage(ct)
        return (v, parent) if v <= parent else None
    return helpers.wait_for(fits, timeout=30, what="a usage at most its parent group's")


@needs_v1
def test_task_metrics_own_figures(ct):
    """ctr's config mounts no cgroup filesystem and asks no memory limit:
    the container is still in a memory group of its own (<parent>/<id>),
    the 34 MiB it writes are charged there, and `ctr task metrics` reports
    them, below the parent group's usage (not the caller's group's, which
    holds the parent and containerd too)."""
    cid, r = ct.run("-d", cmd=("sh", "-c", CHARGE_SH))
    assert r.returncode == 0, r.stderr
    _wait_file(ct, cid, "/dev/shm/done")
    own = _own_usage_file(ct, cid)
    assert os.path.isfile(own), "no memory group of its own: %s" % own
    with open(own) as f:
        assert int(f.read()) >= 32 * MIB
    kv, out = _metrics(ct, cid)
    assert int(kv["memory.usage_in_bytes"]) >= 32 * MIB, out
    _below_parent(ct, lambda: int(_metrics(ct, cid)[0]["memory.usage_in_bytes"]))


VIEW_SH = ("cd /sys/fs/cgroup || exit 9; "
           "echo subdirs=$(find memory pids freezer cpu -mindepth 1 -type d | wc -l) > /dev/shm/r; "
           "echo limit=$(cat memory/memory.limit_in_bytes) >> /dev/shm/r; "
           "echo pids_max=$(cat pids/pids.max) >> /dev/shm/r; "
           "echo before=$(cat memory/memory.usage_in_bytes) >> /dev/shm/r; "
           "dd if=/dev/zero of=/dev/shm/x bs=1M count=34 2>/dev/null; "
           "echo after=$(cat memory/memory.usage_in_bytes) >> /dev/shm/r; "
           "touch /dev/shm/done; " + TRAP_LOOP)


@needs_v1
def test_cgroup_mount_shows_own_groups(ct):
    """A cgroup mount (--mount type=cgroup), no cgroup namespace (ctr's
    default): the container sees its own groups, not the other task's, with
    the limit as set and its own usage."""
    sib, r = ct.run("-d", cmd=("sleep", "1000"))
    assert r.returncode == 0, r.stderr
    cid, r = ct.run("-d", "--memory-limit", str(96 * MIB),
                    "--mount", "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec",
                    cmd=("sh", "-c", VIEW_SH))
    assert r.returncode == 0, r.stderr
    _wait_file(ct, cid, "/dev/shm/done")
    out = ct.d.ok("task", "exec", "--exec-id", "r", cid, "cat", "/dev/shm/r").stdout
    kv = helpers.parse_kv(out)
    assert kv["subdirs"] == "0", out
    assert kv["limit"] == str(96 * MIB), out
    assert kv["pids_max"] == "max", out  # the container's own group (no limit asked)
    assert int(kv["after"]) - int(kv["before"]) >= 32 * MIB, out
    # the group the container sees (its limit, its rise) is inside the
    # parent group on the host
    own = _own_usage_file(ct, cid)
    _below_parent(ct, lambda: _usage(own))
    ls = ct.d.ok("task", "exec", "--exec-id", "l", cid, "ls", "/sys/fs/cgroup/memory").stdout
    assert sib not in ls and "memory.usage_in_bytes" in ls, ls


# ---- where the tasks' cgroups are (issue 13) ---------------------------------

# the hierarchies in which both runtimes put a container in a group of its own
ACCOUNTING = ["memory", "cpu", "cpuacct", "blkio", "pids", "devices", "freezer"]


def test_cgroups_under_test_group(ct):
    """The task's groups are <parent>/<id> in every accounting hierarchy,
    the parent below this test's own group; the task is in no group outside
    this test's own groups and none is at ctr's default /<namespace>/<id>."""
    cid, r = ct.run("-d", cmd=("sleep", "1000"))
    assert r.returncode == 0, r.stderr
    init = int(ct.d.ok("task", "ls").stdout.split(cid, 1)[1].split()[0])
    own = clients.proc_cgroups(os.getpid())
    task = clients.proc_cgroups(init)
    parent = ct.d.cgroup_parent
    assert set(task) == set(own), (task, own)
    for key in own:
        assert clients.path_under(parent, own[key]) and parent != own[key], (key, own, parent)
        assert clients.path_under(task[key], own[key]), (key, task[key], own[key])
        assert ct.d.ns not in task[key], (key, task[key])
    # v1: each accounting controller; a pure v2 machine: its one hierarchy
    for key in [k for k in ACCOUNTING if k in own] or [""]:
        assert task[key] == parent + "/" + cid, (key, task[key])
        assert os.path.isdir(ct.d.cgroup_dir(key, cid)), key
    assert not clients._cgroup_dirs(os.path.join(ct.d.ns, cid))
