# SPDX-License-Identifier: GPL-2.0-or-later
"""podman 4.3 (through conmon) drives isc-runtime as it drives runc.

Proves, for isc-runtime and for runc (the reference) on the same
machine: `podman run --rm` output and exit status (propagated), --read-only,
-i stdin, -t, run -d + exec + exec -t + stop, kill, pause/unpause,
update --memory, rm -f; that failures (missing command, missing binary,
a mount the kernel refuses) show the runtime's own message through podman;
that the JSON log protocol works (runtime named `crun`, or listed in
containers.conf runtime_supports_json); and that once podman removed a
container nothing is left: no mount naming its id, no <parent>/libpod-<id>
cgroup, no state dir, no process.

Everything runs in a private podman store (--root/--runroot/--tmpdir in a
temp dir) with --network none, every container under a cgroup parent of
the store's own below this test's own group in every hierarchy
(clients.PodmanCgroupParent): the container's groups are
<parent>/libpod-<id>, conmon's <parent>/conmon, and no group of podman's
appears at a hierarchy root (PodmanEnv.close() checks, the fixture fails
on what it reports).  Skipped when podman is not installed.
"""
import os
import shutil
import uuid

import pytest

import clients
import helpers

pytestmark = [pytest.mark.skipif(shutil.which("podman") is None
                                or shutil.which("conmon") is None,
                                reason="podman/conmon not installed "
                                       "(scripts/install-deps.sh)"), pytest.mark.pass_normal]

TRAP_LOOP = 'trap "exit 3" TERM; while :; do sleep 0.1; done'
V1_MEMORY = os.path.isfile("/sys/fs/cgroup/memory/memory.usage_in_bytes")
V1_FREEZER = os.path.isfile("/sys/fs/cgroup/freezer/cgroup.procs")


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


class Case:
    """One test's view of podman with one runtime; remembers every container
    it made, removes them at teardown and checks nothing is left."""

    def __init__(self, env, rt):
        self.env = env
        self.rt = rt
        self.kind = rt[0]
        self.cidfiles = []

    def name(self):
        return "isc-%s-%s" % (self.kind, uuid.uuid4().hex[:10])

    def run(self, *args, input=None, timeout=60, env=None):
        cidfile = os.path.join(self.env.dir, "cid-" + uuid.uuid4().hex)
        self.cidfiles.append(cidfile)
        return self.env.run_ctr(self.rt, "--cidfile", cidfile, *args,
                                input=input, timeout=timeout, env=env)

    def run_d(self, *cmd):
        n = self.name()
        r = self.run("-d", "--name", n, self.env.image, *cmd)
        assert r.returncode == 0, r.stderr
        return n

    def cids(self):
        out = []
        for f in self.cidfiles:
            try:
                with open(f) as fh:
                    cid = fh.read().strip()
            except OSError:
                continue
            if cid:
                out.append(cid)
        return out

    def leftovers(self, cid):
        return clients.wait_clean(lambda: self.env.leftovers(cid, self.kind))

    def assert_clean(self, cid):
        left = self.leftovers(cid)
        assert not left, "%s: left after podman removed %s: %s" % (self.kind, cid, left)

    def close(self):
        left = {}
        for cid in self.cids():
            self.env("rm", "-f", "-t", "0", cid)
            lo = self.leftovers(cid)
            if lo:
                left[cid] = lo
        assert not left, "left behind: %s" % left


@pytest.fixture(params=clients.runtime_params())
def pm(request, podman_env):
    rt = clients.require_runtime(request.param)
    case = Case(podman_env, rt)
    yield case
    case.close()


# ---- run ---------------------------------------------------------------------

def test_run_rm_output(pm):
    r = pm.run("--rm", pm.env.image, "echo", "hello", "isc")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello isc\n"
    pm.assert_clean(pm.cids()[0])


def test_exit_code_propagates(pm):
    r = pm.run("--rm", pm.env.image, "sh", "-c", "exit 7")
    assert r.returncode == 7, r.stderr
    pm.assert_clean(pm.cids()[0])


def test_read_only_rootfs(pm):
    r = pm.run("--rm", "--read-only", pm.env.image, "sh", "-c",
               "touch /x 2>/dev/null && echo rootfs-writable; "
               "touch /tmp/y && echo tmp-writable; "
               "grep ' / ' /proc/mounts")
    assert r.returncode == 0, r.stderr
    assert "rootfs-writable" not in r.stdout
    assert "tmp-writable" in r.stdout
    root_line = [l for l in r.stdout.splitlines() if " / " in l][0]
    assert " ro," in root_line or " ro " in root_line, root_line


def test_run_stdin(pm):
    r = pm.run("--rm", "-i", pm.env.image, "cat", input="from the host\nline 2\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from the host\nline 2\n"


def test_run_tty(pm):
    r = pm.run("--rm", "-t", pm.env.image, "sh", "-c", "tty; stty size")
    assert r.returncode == 0, r.stderr
    assert "/dev/pts/" in r.stdout, r.stdout


def test_device(pm):
    """podman writes linux.devices[].fileMode with the file-type bits
    (0o20666 for a char device), as runc accepts."""
    r = pm.run("--rm", "--device", "/dev/null:/dev/xnull", pm.env.image,
               "sh", "-c", "test -c /dev/xnull && echo data >/dev/xnull && echo ok")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n"


def test_privileged(pm):
    r = pm.run("--rm", "--privileged", pm.env.image, "sh", "-c",
               "grep CapEff /proc/self/status")
    assert r.returncode == 0, r.stderr
    eff = int(r.stdout.split()[1], 16)
    assert eff & (1 << 21), r.stdout  # CAP_SYS_ADMIN (the host lacks SYS_RESOURCE)


def test_uidmap(pm):
    """A user namespace from --uidmap/--gidmap (with podman's cgroup mount)."""
    r = pm.run("--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536",
               pm.env.image, "cat", "/proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "100000", "65536"]


# ---- detached containers --------------------------------------------------------

def test_detached_exec_stop(pm):
    n = pm.run_d("sh", "-c", TRAP_LOOP)
    assert pm.env.status(n) == "running"
    r = pm.env("exec", n, "echo", "in", "exec")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "in exec\n"
    r = pm.env("exec", n, "sh", "-c", "exit 5")
    assert r.returncode == 5, r.stderr
    r = pm.env("exec", "-i", n, "cat", input="exec stdin\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "exec stdin\n"
    pm.env.ok("stop", "-t", "5", n)
    assert pm.env.status(n) == "exited"
    code = pm.env.ok("inspect", "-f", "{{.State.ExitCode}}", n).stdout.strip()
    assert code == "3"  # the TERM trap ran: stop sent SIGTERM, not SIGKILL
    cid = pm.env.cid(n)
    pm.env.ok("rm", n)
    pm.assert_clean(cid)


def test_exec_tty(pm):
    n = pm.run_d("sh", "-c", TRAP_LOOP)
    r = pm.env("exec", "-t", n, "sh", "-c", "tty; echo ok")
    assert r.returncode == 0, r.stderr
    assert "/dev/pts/" in r.stdout and "ok" in r.stdout, r.stdout


def test_kill_term(pm):
    n = pm.run_d("sh", "-c", TRAP_LOOP)
    pm.env.ok("kill", "-s", "TERM", n)
    r = pm.env.ok("wait", n, timeout=30)
    assert r.stdout.strip() == "3"
    cid = pm.env.cid(n)
    pm.env.ok("rm", n)
    pm.assert_clean(cid)


def test_kill_default_is_kill(pm):
    n = pm.run_d("sleep", "1000")  # pid 1 ignores TERM: only KILL ends it
    pm.env.ok("kill", n)
    r = pm.env.ok("wait", n, timeout=30)
    assert r.stdout.strip() == "137"


def test_pause_unpause(pm):
    n = pm.run_d("sh", "-c", TRAP_LOOP)
    pm.env.ok("pause", n)
    assert pm.env.status(n) == "paused"
    cid = pm.env.cid(n)
    group = pm.env.cgroup_dir("freezer", "libpod-" + cid)
    freezer = os.path.join(group, "freezer.state") if V1_FREEZER else None
    if freezer:
        with open(freezer) as f:
            assert f.read().strip() == "FROZEN"
    pm.env.ok("unpause", n)
    assert pm.env.status(n) == "running"
    if freezer:
        with open(freezer) as f:
            assert f.read().strip() == "THAWED"


def test_update_memory(pm):
    n = pm.run_d("sh", "-c", TRAP_LOOP)
    cid = pm.env.cid(n)
    pm.env.ok("update", "--memory", "64m", n)
    if V1_MEMORY:
        path = os.path.join(pm.env.cgroup_dir("memory", "libpod-" + cid), "memory.limit_in_bytes")
    else:
        path = os.path.join(pm.env.cgroup_dir("", "libpod-" + cid), "memory.max")
    with open(path) as f:
        assert f.read().strip() == str(64 << 20)


def test_rm_force(pm):
    n = pm.run_d("sleep", "1000")
    cid = pm.env.cid(n)
    pm.env.ok("rm", "-f", "-t", "0", n)
    pm.assert_clean(cid)
    r = pm.env("inspect", n)
    assert r.returncode != 0


# ---- failures show the runtime's message ------------------------------------

def test_command_not_found(pm):
    r = pm.run("--rm", pm.env.image, "nosuchcmd")
    assert r.returncode == 127, r.stderr
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.stderr
    pm.assert_clean(pm.cids()[0])


def test_missing_binary(pm):
    r = pm.run("--rm", pm.env.image, "/nonexistent/binary")
    assert r.returncode == 127, r.stderr
    assert 'exec: "/nonexistent/binary"' in r.stderr
    assert ("no such file or directory" in r.stderr.lower()), r.stderr
    pm.assert_clean(pm.cids()[0])


# the text each runtime gives for a bind mount of a file over a directory
DENIED_MOUNT_MSG = {"isc": "mount /etc/hostname to /bin",
                    "runc": 'error mounting "/etc/hostname" to rootfs at "/bin"'}


def test_denied_mount(pm):
    r = pm.run("--rm", "-v", "/etc/hostname:/bin", pm.env.image, "true")
    assert r.returncode == 126, r.stderr
    assert "OCI runtime error" in r.stderr
    assert DENIED_MOUNT_MSG[pm.kind] in r.stderr, r.stderr
    pm.assert_clean(pm.cids()[0])


def test_bind_over_proc_refused(pm):
    """A bind mount over /proc (or inside it) is refused before anything
    else is set up, with a message about that mount (runc: 'cannot be
    mounted because it is not of type proc' / 'is inside /proc')."""
    for dest in ("/proc", "/proc/sys/x"):
        r = pm.run("--rm", "-v", "/tmp:" + dest, pm.env.image, "true")
        assert r.returncode == 126, r.stderr
        assert dest in r.stderr and "mount" in r.stderr, r.stderr
        assert "ping_group_range" not in r.stderr, r.stderr


# ---- how podman talks to the runtime: JSON log or stderr ------------------------

def test_json_log_via_crun_name(pm, tmp_path):
    """A runtime basename podman knows (crun) gets --log-format=json --log F:
    podman then shows the `msg` of the runtime's JSON error lines."""
    link = tmp_path / "crun"
    link.symlink_to(pm.rt[1])
    r = pm.env.run_ctr(("crun", str(link)), "--rm", "--cidfile",
                       str(tmp_path / "cid"), pm.env.image, "nosuchcmd")
    pm.cidfiles.append(str(tmp_path / "cid"))
    assert r.returncode == 127, r.stderr
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.stderr
    # the message came from the JSON log, not from the runtime's stderr
    assert "isc-runtime: exec" not in r.stderr


def test_containers_conf_runtime(pm, tmp_path):
    """containers.conf selects the runtime by name; runtime_supports_json
    lists it so podman passes --log-format=json."""
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\nruntime = "isc"\n'
                    'runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "isc"]\n'
                    '[engine.runtimes]\nisc = ["%s"]\n' % pm.rt[1])
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    r = pm.env("info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}",
               env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["isc", pm.rt[1]]
    cid = str(tmp_path / "cid")
    pm.cidfiles.append(cid)
    base = pm.env.base + ["run", "--cidfile", cid] + pm.env.run_flags
    r = clients.run(base + ["--rm", pm.env.image, "echo", "via", "conf"], env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "via conf\n"
    cid2 = str(tmp_path / "cid2")
    pm.cidfiles.append(cid2)
    base = pm.env.base + ["run", "--cidfile", cid2] + pm.env.run_flags
    r = clients.run(base + ["--rm", pm.env.image, "nosuchcmd"], env=env)
    assert r.returncode == 127, r.stderr
    assert 'Error: isc: exec: "nosuchcmd"' in r.stderr or \
        'executable file not found' in r.stderr, r.stderr


# ---- where podman's cgroups are (issue 13) --------------------------------------

# the hierarchies in which both runtimes put a container in a group of its own
ACCOUNTING = ["memory", "cpu", "cpuacct", "blkio", "pids", "devices", "freezer"]


def test_cgroups_under_test_group(pm):
    """The container's groups are <parent>/libpod-<id> in every accounting
    hierarchy and conmon's <parent>/conmon in every v1 controller
    hierarchy, the parent below this test's own group; no group of either
    (nor of podman's /libpod_parent) is anywhere else."""
    n = pm.run_d("sleep", "1000")
    cid = pm.env.cid(n)
    pid, conmon = pm.env.ok("inspect", "-f", "{{.State.Pid}} {{.State.ConmonPid}}",
                            n).stdout.split()
    own = clients.proc_cgroups(os.getpid())
    ctr = clients.proc_cgroups(int(pid))
    mon = clients.proc_cgroups(int(conmon))
    parent = pm.env.cgroup_parent
    assert set(ctr) == set(own) == set(mon), (ctr, own, mon)
    for key in own:
        assert clients.path_under(parent, own[key]) and parent != own[key], (key, own, parent)
        assert clients.path_under(ctr[key], own[key]), (key, ctr[key], own[key])
        assert clients.path_under(mon[key], own[key]), (key, mon[key], own[key])
        assert "libpod_parent" not in ctr[key] + mon[key], (key, ctr[key], mon[key])
    for key in ACCOUNTING:
        if key in own:
            assert ctr[key] == parent + "/libpod-" + cid, (key, ctr[key])
            assert os.path.isdir(pm.env.cgroup_dir(key, "libpod-" + cid)), key
    for key in own:  # podman moves conmon in every v1 controller hierarchy
        if key and not key.startswith("name="):
            assert mon[key] == parent + "/conmon", (key, mon[key])
    assert not clients._cgroup_dirs("libpod_parent/libpod-" + cid)


# ---- the cgroups a container sees and is charged to (issue 13) ---------------

# Inside the container: how many sub-groups its cgroup view lists (another
# container's group would be one), its limits, and its memory usage before
# and after writing 34 MiB to the /dev/shm tmpfs.
CGROUP_VIEW_SH = (
    "cd /sys/fs/cgroup || exit 9; "
    "echo subdirs=$(find memory pids freezer cpu -mindepth 1 -type d | wc -l); "
    "echo limit=$(cat memory/memory.limit_in_bytes); "
    "echo pids_max=$(cat pids/pids.max); "
    "echo before=$(cat memory/memory.usage_in_bytes); "
    "dd if=/dev/zero of=/dev/shm/x bs=1M count=34 2>/dev/null; "
    "echo after=$(cat memory/memory.usage_in_bytes); "
    "echo ready; " + TRAP_LOOP)

MIB = 1 << 20


def _size(text):
    """podman's human size ("35.4MB", "1.2GB", "512kB", "0B") in bytes."""
    text = text.strip()
    for unit, mult in (("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * mult
    raise AssertionError("not a size: %r" % text)


@pytest.mark.skipif(not V1_MEMORY, reason="no cgroup v1 memory hierarchy mounted")
@pytest.mark.parametrize("cgroupns", ["host", "private"])
def test_cgroup_view_and_charge(pm, cgroupns):
    """podman's cgroup mount without a cgroup namespace (host: its default
    on cgroup v1) and with one (private): the container sees its own groups
    only (not the sibling's, nor its parent's other groups), the limits as
    set, its own memory usage rising by the 34 MiB it writes and staying
    below its parent's (the env's cgroup parent, which holds the sibling
    and conmon too); podman stats reports the same figures."""
    sibling = pm.env.cid(pm.run_d("sleep", "1000"))
    n = pm.name()
    r = pm.run("-d", "--name", n, "--cgroupns", cgroupns, "--memory", "96m", "--pids-limit", "33",
               pm.env.image, "sh", "-c", CGROUP_VIEW_SH)
    assert r.returncode == 0, r.stderr
    helpers.wait_for(lambda: "ready" in pm.env("logs", n).stdout, timeout=30,
                     what="the container's report")
    out = pm.env.ok("logs", n).stdout
    cid = pm.env.cid(n)
    pid = int(pm.env.ok("inspect", "-f", "{{.State.Pid}}", n).stdout)
    group = clients.proc_cgroups(pid)["memory"]  # the group it is charged to
    assert group == pm.env.cgroup_parent + "/libpod-" + cid, group
    with open(os.path.join(pm.env.cgroup_dir("memory"), "memory.usage_in_bytes")) as f:
        parent = int(f.read())
    kv = helpers.parse_kv(out)
    assert kv["subdirs"] == "0", out
    assert kv["limit"] == str(96 * MIB), out
    assert kv["pids_max"] == "33", out
    assert int(kv["after"]) - int(kv["before"]) >= 32 * MIB, out
    assert int(kv["after"]) <= parent, (out, parent)
    r = pm.env.ok("exec", n, "ls", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids")
    for name in ("libpod", "conmon", pm.env.name, sibling):
        assert name not in r.stdout, (name, r.stdout)
    assert "memory.usage_in_bytes" in r.stdout and "pids.max" in r.stdout, r.stdout
    usage, limit = pm.env.ok("stats", "--no-stream", "--format", "{{.MemUsage}}",
                             n).stdout.split("/")
    assert 32 * MIB <= _size(usage) <= parent, (usage, parent)
    assert abs(_size(limit) - 96 * MIB) < 0.1e6, limit
