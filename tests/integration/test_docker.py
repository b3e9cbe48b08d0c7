# SPDX-License-Identifier: GPL-2.0-or-later
"""Docker 20.10 (dockerd, its containerd, the io.containerd.runc.v2 shim)
drives isc-runtime as it drives runc.

Proves, for isc-runtime (`--add-runtime isc=...`, `docker run --runtime
isc`) and runc (Docker's default) side by side: run (output, exit
status), exec (output, exit status), exec -it through a pseudo-terminal
the test owns (a tty on stdin, the typed line read back), stop (the
container's TERM handler runs: exit 3), kill (137), pause/unpause (the
freezer group FROZEN then THAWED), update (memory, pids and cpu limits
written to the container's groups), OOM (exit 137, OOMKilled), --read-only
(EROFS, control: writable without), volumes (rw written through to the
host, ro refused with EROFS), --user (uid/gid, the owner of a file it
writes), --cap-drop (the effective set, control: Docker's default set),
--pids-limit (pids.max, and a fork past it fails).  After `docker rm`
nothing of the container is left: no mount naming it (in dockerd's mount
namespace), no <parent>/<id> group, no runtime state, no process.

dockerd runs once per module (clients.Dockerd): in a network namespace of
its own with every host-network feature off, a private mount namespace,
data-root, exec-root, socket, pidfile, daemon.json, key and containerd,
and --cgroup-parent under this process's own groups.  The machine's
ruleset, links, addresses, routes and forwarding are checked unchanged
while it runs and after it stopped; at teardown dockerd and everything it
started are stopped by pid and its dirs, groups and namespace removed.
isc-runtime registered in daemon.json's "runtimes" is listed and runs.
The image is the busybox rootfs (scripts/mkrootfs-busybox.sh), `docker
import`ed.  Skipped when docker.io is not installed.
"""
import json
import os
import pty
import select
import shutil
import subprocess
import time
import uuid

import pytest

import clients
import helpers

pytestmark = [pytest.mark.skipif(
    not all(os.access(p, os.X_OK) for p in (clients.DOCKERD, clients.DOCKER))
    or any(shutil.which(b) is None for b in
           ("containerd", "containerd-shim-runc-v2", "nsenter", "unshare", "ip")),
    reason="docker.io not installed (scripts/install-deps.sh)"), pytest.mark.pass_normal]

TRAP_LOOP = 'trap "exit 3" TERM; while :; do sleep 0.1; done'
# Docker's default capability set (14 capabilities)
DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def _netns_diff(before, after):
    return ["%s:\nbefore:\n%s\nafter:\n%s" % (k, before[k], after[k])
            for k in before if after[k] != before[k]]


@pytest.fixture(scope="module")
def dockerd():
    if os.geteuid() != 0:
        pytest.skip("docker tests need root")
    before = helpers.root_netns_snapshot()
    d = clients.Dockerd(clients.isc_path())
    d.netns_before = before
    problems = []
    try:
        d.start()
        d.import_image()
        yield d
    finally:
        problems = d.stop()
    assert not problems, "dockerd teardown: %s" % problems
    changed = _netns_diff(before, helpers.root_netns_snapshot())
    assert not changed, "the machine's network changed: %s" % changed


class Case:
    """One test's view of dockerd with one runtime; remembers every container
    it made, removes them at teardown and checks nothing is left."""

    def __init__(self, d, rt):
        self.d = d
        self.kind = rt[0]
        self.runtime = "isc" if self.kind == "isc" else "runc"
        self.cidfiles = []
        self.dirs = []

    def run(self, *args, input=None, timeout=60):
        cidfile = os.path.join(self.d.dir, "cid-" + uuid.uuid4().hex)
        self.cidfiles.append(cidfile)
        return self.d("run", "--cidfile", cidfile, "--network", "none",
                      "--runtime", self.runtime, *args, input=input, timeout=timeout)

    def run_d(self, *args):
        r = self.run("-d", *args)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

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

    def host_dir(self):
        """A directory on the host for a volume (removed at teardown)."""
        p = os.path.join(self.d.dir, "vol-" + uuid.uuid4().hex[:10])
        os.makedirs(p)
        os.chmod(p, 0o777)
        self.dirs.append(p)
        return p

    def group(self, cid, hierarchy):
        """The container's group in a cgroup v1 hierarchy (or the v2 one)."""
        dirs = self.d.cgroup_dirs(cid)
        for d in dirs:
            if d.startswith("/sys/fs/cgroup/%s/" % hierarchy):
                return d
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            return dirs[0] if dirs else None
        return None

    def status(self, cid):
        return self.d.ok("inspect", "-f", "{{.State.Status}}", cid).stdout.strip()

    def leftovers(self, cid):
        return clients.wait_clean(lambda: self.d.leftovers(cid))

    def assert_clean(self, cid):
        left = self.leftovers(cid)
        assert not left, "%s: left after docker removed %s: %s" % (self.kind, cid, left)

    def close(self):
        left = {}
        for cid in self.cids():
            self.d("rm", "-f", cid)
            lo = self.leftovers(cid)
            if lo:
                left[cid] = lo
        for p in self.dirs:
            shutil.rmtree(p, ignore_errors=True)
        assert not left, "left behind: %s" % left


@pytest.fixture(params=clients.runtime_params())
def dk(request, dockerd):
    rt = clients.require_runtime(request.param)
    case = Case(dockerd, rt)
    yield case
    case.close()


def _read(path):
    with open(path) as f:
        return f.read().strip()


# ---- the daemon's isolation --------------------------------------------------

def test_dockerd_in_its_own_network_namespace(dockerd):
    """dockerd and its containerd live in the test's namespace, not the
    machine's; the machine's network is as it was before dockerd started."""
    ns = os.stat("/run/netns/" + dockerd.netns).st_ino
    assert os.stat("/proc/%d/ns/net" % dockerd.proc.pid).st_ino == ns
    assert os.stat("/proc/self/ns/net").st_ino != ns
    assert os.stat("/proc/%d/ns/mnt" % dockerd.proc.pid).st_ino != os.stat("/proc/self/ns/mnt").st_ino
    ctrd = [p for p in clients._procs_with(dockerd.exec_root)
            if open("/proc/%d/comm" % p).read().strip() == "containerd"]
    assert len(ctrd) == 1, ctrd
    assert os.stat("/proc/%d/ns/net" % ctrd[0]).st_ino == ns
    changed = _netns_diff(dockerd.netns_before, helpers.root_netns_snapshot())
    assert not changed, "the machine's network changed: %s" % changed


def test_daemon_json_runtimes_entry(dockerd):
    """isc-runtime registered in daemon.json ("runtimes": {"isc-json":
    {"path": ...}}, as docs/kubernetes.md shows) is listed by `docker info`
    and is the binary the shim runs for `--runtime isc-json`."""
    r = dockerd.ok("info", "--format", "{{json .Runtimes}}")
    runtimes = json.loads(r.stdout)
    assert runtimes["isc-json"]["path"] == dockerd.isc
    assert runtimes["isc"]["path"] == dockerd.isc
    cidfile = os.path.join(dockerd.dir, "cid-" + uuid.uuid4().hex)
    r = dockerd("run", "-d", "--cidfile", cidfile, "--network", "none", "--runtime", "isc-json",
                dockerd.image, "sleep", "1000")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        opts = os.path.join(dockerd.exec_root, "containerd", "daemon",
                            "io.containerd.runtime.v2.task", "moby", cid, "options.json")
        with open(opts) as f:
            assert json.load(f)["binary_name"] == dockerd.isc
        assert helpers.state_leftovers(dockerd.state_root, cid)  # isc's state dir
        r = dockerd("exec", cid, "echo", "through isc")
        assert r.returncode == 0 and r.stdout == "through isc\n", r.stderr
    finally:
        dockerd("rm", "-f", cid)
    assert clients.wait_clean(lambda: dockerd.leftovers(cid)) == []


# ---- run, exec ---------------------------------------------------------------

def test_run_output_and_exit_status(dk):
    r = dk.run("--rm", dk.d.image, "sh", "-c", "echo hello isc; exit 7")
    assert r.returncode == 7, r.stderr
    assert r.stdout == "hello isc\n"
    dk.assert_clean(dk.cids()[0])


def test_exec(dk):
    cid = dk.run_d(dk.d.image, "sh", "-c", TRAP_LOOP)
    r = dk.d("exec", cid, "sh", "-c", "echo in exec; exit 5")
    assert r.returncode == 5, r.stderr
    assert r.stdout == "in exec\n"
    r = dk.d("exec", "-e", "ISC_X=42", "-w", "/tmp", cid, "sh", "-c", 'echo "$ISC_X $(pwd)"')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "42 /tmp\n"


def _read_until(fd, want, deadline):
    out = b""
    while want not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    return out


def test_exec_it_through_a_pty(dk):
    """`docker exec -it` on a terminal the test owns: the process sees a tty
    on stdin, reads the line typed on the terminal and its exit status is
    docker's."""
    cid = dk.run_d(dk.d.image, "sh", "-c", TRAP_LOOP)
    master, slave = pty.openpty()
    p = subprocess.Popen([clients.DOCKER, "-H", "unix://" + dk.d.sock, "exec", "-it", cid,
                          "sh", "-c", "tty; test -t 0 && echo stdin-is-a-tty; read line; "
                                      "echo got:$line; exit 6"],
                         stdin=slave, stdout=slave, stderr=slave, env=dk.d.env,
                         start_new_session=True)
    os.close(slave)
    try:
        deadline = time.monotonic() + 30
        out = _read_until(master, b"stdin-is-a-tty", deadline)
        assert b"stdin-is-a-tty" in out, out
        os.write(master, b"hello\n")
        out += _read_until(master, b"got:hello", deadline)
        assert p.wait(timeout=30) == 6
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    lines = out.decode(errors="replace").replace("\r", "").split("\n")
    assert lines[0].startswith("/dev/pts/"), lines
    assert "got:hello" in lines, lines


# ---- stop, kill, pause -------------------------------------------------------

def test_stop_runs_the_term_handler(dk):
    cid = dk.run_d(dk.d.image, "sh", "-c", TRAP_LOOP)
    r = dk.d("stop", "-t", "30", cid)
    assert r.returncode == 0, r.stderr
    assert dk.status(cid) == "exited"
    assert dk.d.ok("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip() == "3"
    dk.d.ok("rm", cid)
    dk.assert_clean(cid)


def test_kill(dk):
    cid = dk.run_d(dk.d.image, "sleep", "1000")
    dk.d.ok("kill", cid)
    helpers.wait_for(lambda: dk.status(cid) == "exited", timeout=30, what="exited")
    assert dk.d.ok("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip() == "137"
    dk.d.ok("rm", cid)
    dk.assert_clean(cid)


def test_pause_unpause(dk):
    cid = dk.run_d(dk.d.image, "sh", "-c", TRAP_LOOP)
    freezer = dk.group(cid, "freezer")
    dk.d.ok("pause", cid)
    assert dk.status(cid) == "paused"
    if freezer:
        assert _read(os.path.join(freezer, "freezer.state")) == "FROZEN"
    dk.d.ok("unpause", cid)
    assert dk.status(cid) == "running"
    if freezer:
        assert _read(os.path.join(freezer, "freezer.state")) == "THAWED"
    r = dk.d("exec", cid, "echo", "thawed")
    assert r.returncode == 0 and r.stdout == "thawed\n", r.stderr


# ---- resources ---------------------------------------------------------------

def test_update(dk):
    cid = dk.run_d("--memory", "64m", "--memory-swap", "64m", dk.d.image, "sh", "-c", TRAP_LOOP)
    mem = dk.group(cid, "memory")
    assert mem, dk.d.cgroup_dirs(cid)
    assert _read(os.path.join(mem, "memory.limit_in_bytes")) == str(64 << 20)
    r = dk.d("update", "--memory", "32m", "--memory-swap", "32m", "--pids-limit", "50",
             "--cpu-shares", "512", cid)
    assert r.returncode == 0, r.stderr
    assert _read(os.path.join(mem, "memory.limit_in_bytes")) == str(32 << 20)
    assert _read(os.path.join(dk.group(cid, "pids"), "pids.max")) == "50"
    cpu = dk.group(cid, "cpu")
    assert cpu, dk.d.cgroup_dirs(cid)
    assert _read(os.path.join(cpu, "cpu.shares")) == "512"
    assert dk.status(cid) == "running"


def test_oom_kill_is_137(dk):
    r = dk.run("--memory", "32m", "--memory-swap", "32m", dk.d.image,
               "sh", "-c", 'x=a; while :; do x="$x$x"; done', timeout=120)
    assert r.returncode == 137, r.stderr
    cid = dk.cids()[0]
    assert dk.d.ok("inspect", "-f", "{{.State.OOMKilled}}", cid).stdout.strip() == "true"
    dk.d.ok("rm", cid)
    dk.assert_clean(cid)


def test_pids_limit(dk):
    # the init does not fork: only the exec below runs into the limit
    cid = dk.run_d("--pids-limit", "10", dk.d.image, "sleep", "1000")
    assert _read(os.path.join(dk.group(cid, "pids"), "pids.max")) == "10"
    r = dk.d("exec", cid, "sh", "-c", "for i in $(seq 12); do sleep 30 & done; wait")
    assert r.returncode != 0
    assert "can't fork" in r.stderr, r.stderr


# ---- filesystem, user, capabilities ------------------------------------------

def test_read_only_root(dk):
    r = dk.run("--rm", "--read-only", dk.d.image, "touch", "/x")
    assert r.returncode == 1
    assert r.stderr == "touch: /x: Read-only file system\n"
    r = dk.run("--rm", dk.d.image, "touch", "/x")  # the control
    assert r.returncode == 0, r.stderr


def test_volumes(dk):
    rw, ro = dk.host_dir(), dk.host_dir()
    with open(os.path.join(ro, "given"), "w") as f:
        f.write("from the host\n")
    r = dk.run("--rm", "-v", rw + ":/data", "-v", ro + ":/given:ro", dk.d.image, "sh", "-c",
               "echo written > /data/out && cat /given/given && "
               "{ touch /given/x 2>&1; echo rc=$?; }")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from the host\ntouch: /given/x: Read-only file system\nrc=1\n"
    assert _read(os.path.join(rw, "out")) == "written"
    assert not os.path.exists(os.path.join(ro, "x"))


def test_user(dk):
    vol = dk.host_dir()
    r = dk.run("--rm", "--user", "1000:1001", "-v", vol + ":/data", dk.d.image, "sh", "-c",
               "id; touch /data/mine")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "uid=1000 gid=1001 groups=1001\n"
    st = os.stat(os.path.join(vol, "mine"))
    assert (st.st_uid, st.st_gid) == (1000, 1001)


def _caps(dk, *args):
    r = dk.run("--rm", *args, dk.d.image, "sh", "-c", "grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status")
    assert r.returncode == 0, r.stderr
    return dict(l.split(":\t") for l in r.stdout.splitlines())


def test_cap_drop(dk):
    default = helpers.cap_mask(DOCKER_DEFAULT_CAPS)
    assert _caps(dk) == {"CapEff": default, "CapBnd": default, "CapAmb": "0" * 16}  # control
    no_raw = helpers.cap_mask([c for c in DOCKER_DEFAULT_CAPS if c != "CAP_NET_RAW"])
    assert _caps(dk, "--cap-drop", "NET_RAW") == {"CapEff": no_raw, "CapBnd": no_raw,
                                                  "CapAmb": "0" * 16}
    assert _caps(dk, "--cap-drop", "ALL") == {"CapEff": "0" * 16, "CapBnd": "0" * 16,
                                              "CapAmb": "0" * 16}
