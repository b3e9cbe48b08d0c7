# SPDX-License-Identifier: GPL-2.0-or-later
"""Robustness: races, crashes, error reporting and the less-used flags.

Proves: `kill` and `delete --force` racing on one container (as podman
sends them) leave nothing behind and each ends cleanly; of many concurrent
`create`s of one id exactly one wins and the others say "already exists";
a `create` killed in the middle of a createRuntime hook leaves a state that
`state` and `delete --force` understand; an error inside the container's
init reaches the caller with its errno text; `--log --log-format json`
writes JSON lines (and still prints on stderr) and a bogus format is
refused; `--pid-file` holds the init's host pid; a time namespace applies
linux.timeOffsets; user, pid and network namespaces of another container
are joined by path (the staged create); `list` in every format; `delete`
without --force and `start` refuse a running container.
"""
import json
import os
import re
import signal
import subprocess

import pytest

import helpers

# what a crash of the runtime itself looks like on stderr
CRASH_RX = re.compile(r"panic|goroutine|segmentation|sigsegv|core dumped|aborted|assert",
                      re.IGNORECASE)
RFC3339_RX = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# ---- helpers -------------------------------------------------------------------

class _Spawned:
    """A runtime command started in the background (its own session, output
    in files) so that several can run at once."""

    def __init__(self, runtime, args, tag):
        self.args = [str(a) for a in args]
        self.cmd = [runtime.path, "--root", runtime.root] + self.args
        self.out = os.path.join(runtime.workdir, "spawn-%s.out" % tag)
        self.err = os.path.join(runtime.workdir, "spawn-%s.err" % tag)
        with open(self.out, "wb") as fo, open(self.err, "wb") as fe:
            self.p = subprocess.Popen(self.cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                      cwd=runtime.workdir, start_new_session=True)
        self.pid = self.p.pid

    def finish(self, timeout=10):
        """Wait for the command; a hang is a test failure (the process group
        is killed first)."""
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except OSError:
                pass
            self.p.wait()
            raise AssertionError("hung for more than %ss: %s\nstderr: %s" % (
                timeout, " ".join(self.cmd), _read(self.err)))
        return subprocess.CompletedProcess(self.cmd, self.p.returncode, _read(self.out),
                                           _read(self.err))


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _assert_clean(r, ok_rx=None):
    """A command either succeeded or failed with a short message, not a
    crash: no death by signal, no stack trace."""
    what = "%s -> %d\nstderr: %s" % (" ".join(r.args), r.returncode, r.stderr)
    assert r.returncode >= 0, "killed by signal %d: %s" % (-r.returncode, what)
    assert not CRASH_RX.search(r.stderr), "crash: " + what
    if r.returncode != 0:
        assert r.returncode < 128, what
        assert r.stderr.strip(), "failed without a message: " + what
        if ok_rx:
            assert re.search(ok_rx, r.stderr, re.IGNORECASE), "unexpected message: " + what


def _assert_gone(runtime, b, pids=()):
    r = runtime.state(b.id, check=False)
    assert r.returncode == 1, "state %s still answers: %s" % (b.id, r.stdout)
    assert "does not exist" in r.stderr, r.stderr
    if runtime.is_isc:
        assert r.stderr == 'isc-runtime: container "%s" does not exist\n' % b.id
    assert helpers.state_leftovers(runtime.root, b.id) == []
    assert helpers.cgroup_leftovers(b.cgroup_name) == []
    assert helpers.mount_leftovers(b.path) == []
    for pid in pids:
        helpers.wait_for(lambda: not helpers.pid_alive(pid), timeout=5,
                         what="pid %d to be gone" % pid)


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _descendants(pid):
    """Every live process below `pid` (a scan of /proc)."""
    children = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            pp = _ppid(int(e))
            if pp:
                children.setdefault(pp, []).append(int(e))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _ns_map(text):
    out = {}
    for line in text.splitlines():
        name, link = line.split(" ", 1)
        out[name] = link
    return out


def _started(runtime, b):
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    st = runtime.state(b.id)
    assert st["status"] == "running", st
    return st["pid"]


# ---- 1. racing commands ----------------------------------------------------------

def test_kill_and_delete_force_race(runtime, bundle):
    for i in range(5):
        b = bundle("sleep", "60")
        pid = _started(runtime, b)
        kill = _Spawned(runtime, ["kill", b.id, "KILL"], "kill-%d" % i)
        delete = _Spawned(runtime, ["delete", "--force", b.id], "delete-%d" % i)
        rk, rd = kill.finish(), delete.finish()
        # whichever comes second finds the container stopped or gone
        _assert_clean(rk, r"does not exist|not running|stopped")
        _assert_clean(rd)
        assert rd.returncode == 0, "delete --force failed: %s" % rd.stderr
        _assert_gone(runtime, b, [pid])


@pytest.mark.runc_skip("runc 1.1 checks for the state dir, then MkdirAll()s it: racing "
                       "creates can both pass, and a loser's cleanup removes the winner's "
                       "state (seen: 'exec fifo ... already exists', cgroups left behind)")
def test_concurrent_create_same_id(runtime, bundle):
    b = bundle("sleep", "60")
    b.write()
    runtime.ids.append(b.id)
    procs = [_Spawned(runtime, ["create", "--bundle", b.path, b.id], "create-%d" % i)
             for i in range(6)]
    results = [p.finish(timeout=15) for p in procs]
    for r in results:
        _assert_clean(r, r"already exists")
    winners = [r for r in results if r.returncode == 0]
    assert len(winners) == 1, "%d creates succeeded:\n%s" % (
        len(winners), "\n".join(r.stderr for r in results))
    assert runtime.state(b.id)["status"] == "created"
    assert runtime.delete(b.id, force=True).returncode == 0
    _assert_gone(runtime, b)


# ---- 2. a create killed in the middle -------------------------------------------------

BLOCKING_HOOK = "#!/bin/sh\necho $$ > \"$1\"\nexec sleep 30\n"


@pytest.mark.runc_skip("runc 1.1 writes state.json only after the hooks: a create killed "
                       "during createRuntime leaves a directory `state`/`delete` do not know")
def test_create_killed_during_hook(runtime, bundle, test_dir):
    hook = os.path.join(test_dir, "block.sh")
    with open(hook, "w") as f:
        f.write(BLOCKING_HOOK)
    os.chmod(hook, 0o755)
    marker = os.path.join(test_dir, "hook.pid")
    b = bundle("sleep", "60")
    b.config["hooks"] = {"createRuntime": [{"path": hook, "args": ["block.sh", marker]}]}
    b.write()
    runtime.ids.append(b.id)
    create = _Spawned(runtime, ["create", "--bundle", b.path, b.id], "create")
    hook_pid = 0
    try:
        helpers.wait_for(lambda: _read(marker).strip(), timeout=10, what="the hook to run")
        hook_pid = int(_read(marker))
        # blocked in the hook: the container is being created
        st = runtime.state(b.id)
        assert st["status"] == "creating", st
        procs = [p for p in _descendants(create.pid) if p != hook_pid]
        assert procs, "create has no child besides the hook"
    finally:
        os.kill(create.pid, signal.SIGKILL)
        create.p.wait()
        if hook_pid:
            os.kill(hook_pid, signal.SIGKILL)

    r = runtime.state(b.id, check=False)
    _assert_clean(r)
    assert r.returncode == 0, "state after a crashed create: %s" % r.stderr
    st = json.loads(r.stdout)
    assert st["id"] == b.id
    assert st["status"] in ("stopped", "creating"), st
    if st.get("pid"):
        procs.append(st["pid"])

    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, "delete --force after a crashed create: %s" % r.stderr
    _assert_gone(runtime, b, procs)


# ---- 3. errors from the container's init -------------------------------------------

def _assert_failed_create(runtime, b, *needles, isc_says):
    """create fails with status 1, a message holding each needle (any
    runtime) and, from isc-runtime, exactly isc_says; nothing is left."""
    r = runtime.create(b)
    assert r.returncode == 1, "create: %d: %s" % (r.returncode, r.stderr)
    _assert_clean(r)
    low = r.stderr.lower()
    for n in needles:
        assert n.lower() in low, "%r not in: %s" % (n, r.stderr)
    if runtime.is_isc:
        assert r.stderr == "isc-runtime: %s\n" % isc_says, r.stderr
    _assert_gone(runtime, b)
    return r


@pytest.mark.isc_only  # runc creates a missing cwd
def test_init_error_cwd(runtime, bundle):
    b = bundle("true")
    b.process["cwd"] = "/nonexistent"
    _assert_failed_create(runtime, b, "No such file or directory",
                          isc_says='process.cwd "/nonexistent": No such file or directory')


def test_init_error_cwd_not_a_directory(runtime, bundle):
    b = bundle("true")
    b.process["cwd"] = "/bin/payload"
    _assert_failed_create(runtime, b, "/bin/payload", "not a directory",
                          isc_says='process.cwd "/bin/payload": Not a directory')


def test_init_error_bind_source_missing(runtime, bundle, test_dir):
    b = bundle("true")
    missing = os.path.join(test_dir, "no-such-source")
    b.add_mount("/mnt/data", missing)
    r = _assert_failed_create(runtime, b, "No such file or directory",
                              isc_says="mount %s to /mnt/data: No such file or directory" % missing)
    if not runtime.is_isc:  # runc 1.1 names the source only
        assert "/mnt/data" in r.stderr or missing in r.stderr, r.stderr


def test_init_error_unknown_sysctl(runtime, bundle):
    """An IPC-namespaced sysctl the kernel lacks passes the key check and
    fails in the init, whose error travels back."""
    b = bundle("true")
    b.linux["sysctl"] = {"fs.mqueue.doesnotexist": "1"}
    r = _assert_failed_create(runtime, b, isc_says='linux.sysctl "fs.mqueue.doesnotexist": open '
                              "/proc/sys/fs/mqueue/doesnotexist: No such file or directory")
    assert "fs.mqueue.doesnotexist" in r.stderr or "fs/mqueue/doesnotexist" in r.stderr, r.stderr


def test_init_error_unknown_net_sysctl(runtime, bundle):
    """A sysctl of a namespace the container has, that the kernel lacks: the
    write in the init fails with ENOENT."""
    b = bundle("true")
    b.linux["sysctl"] = {"net.ipv4.doesnotexist": "1"}
    r = _assert_failed_create(runtime, b, "No such file or directory", isc_says='linux.sysctl "net.ipv4.doesnotexist": '
                              "open /proc/sys/net/ipv4/doesnotexist: No such file or directory")
    assert "net.ipv4.doesnotexist" in r.stderr or "net/ipv4/doesnotexist" in r.stderr, r.stderr


# ---- 4. --log / --log-format ------------------------------------------------------

def test_log_json_on_failure(runtime, bundle, test_dir):
    log = os.path.join(test_dir, "runtime.log")
    b = bundle("true")
    b.add_mount("/mnt/data", os.path.join(test_dir, "no-such-source"))
    b.write()
    r = runtime("create", "--bundle", b.path, b.id,
                global_args=["--log", log, "--log-format", "json"])
    assert r.returncode == 1, r.stderr
    _assert_clean(r)
    assert r.stderr.strip(), "no message on stderr"
    lines = [ln for ln in _read(log).splitlines() if ln.strip()]
    assert lines, "nothing logged to %s" % log
    entries = [json.loads(ln) for ln in lines]  # every line is one JSON object
    for e in entries:
        assert isinstance(e, dict), e
        assert {"msg", "level", "time"} <= set(e), e
        assert RFC3339_RX.match(e["time"]), e["time"]
    errors = [e for e in entries if e["level"] == "error"]
    assert errors, entries
    # the message a client shows (podman: the last error's msg) is the one
    # printed on stderr too
    assert errors[-1]["msg"] in r.stderr, (errors[-1], r.stderr)
    # the errno text is logged (runc 1.1 logs it at level "fatal")
    assert any("no such file" in e["msg"].lower() for e in entries
               if e["level"] in ("error", "fatal")), entries
    if runtime.is_isc:
        assert any("/mnt/data" in e["msg"] and "No such file" in e["msg"]
                   for e in errors), errors
        assert r.stderr == ("isc-runtime: mount %s to /mnt/data: No such file or directory\n"
                            % os.path.join(test_dir, "no-such-source"))
    _assert_gone(runtime, b)


def test_log_format_bogus_rejected(runtime, bundle):
    b = bundle("true")
    b.write()
    r = runtime("create", "--bundle", b.path, b.id, global_args=["--log-format", "bogus"])
    assert r.returncode == 1, r.stderr
    _assert_clean(r)
    assert "bogus" in r.stderr, r.stderr
    if runtime.is_isc:
        assert r.stderr == 'isc-runtime: --log-format: unknown format "bogus" (text or json)\n'
    _assert_gone(runtime, b)


# ---- 5. --pid-file ----------------------------------------------------------------

@pytest.mark.parametrize("relative", [False, True])
def test_pid_file(runtime, bundle, relative):
    b = bundle("sleep", "60")
    pid_file = "init.pid" if relative else os.path.join(b.path, "init.pid")
    r = runtime.create(b, pid_file=pid_file)
    assert r.returncode == 0, r.stderr
    # relative to the runtime's working directory
    path = os.path.join(runtime.workdir, pid_file)
    text = _read(path)
    assert re.fullmatch(r"\d+\n?", text), repr(text)
    pid = int(text)
    assert pid == runtime.state(b.id)["pid"]
    assert os.path.isdir("/proc/%d" % pid)
    assert helpers.pid_alive(pid)
    # the host pid: not the pid 1 the container sees
    assert pid != 1
    assert runtime.delete(b.id, force=True).returncode == 0


# ---- 6. time namespace ---------------------------------------------------------------

def _host_uptime():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


@pytest.mark.isc_only  # runc 1.1 has no time namespace
def test_time_namespace_offsets(runtime, bundle):
    offsets = {"monotonic": {"secs": 86400, "nanosecs": 0},
               "boottime": {"secs": 86400, "nanosecs": 0}}
    b = bundle("cat", "/proc/uptime")
    b.linux["namespaces"].append({"type": "time"})
    b.linux["timeOffsets"] = offsets
    # the container's uptime (CLOCK_BOOTTIME) is the host's, read between
    # the two readings of the host's, plus the offset; /proc/uptime shows
    # hundredths, cut off
    before = _host_uptime()
    up = float(runtime.run_ok(b).split()[0])
    after = _host_uptime()
    assert before + 86400 - 0.01 <= up <= after + 86400 + 0.01, (before, up, after)

    b = bundle("ns")
    b.linux["namespaces"].append({"type": "time"})
    b.linux["timeOffsets"] = offsets
    ns = _ns_map(runtime.run_ok(b))
    host = os.readlink("/proc/self/ns/time")
    assert ns["time"] != host, ns
    assert ns["time_for_children"] == ns["time"], ns


@pytest.mark.parametrize("variant", [
    "plain",
    pytest.param("time", marks=pytest.mark.isc_only),  # runc 1.1: no time namespace
    "joined-netns",
])
def test_init_not_dumpable_before_start(runtime, bundle, netns, variant):
    """Until it execs the user process, the init holds the runtime's fds
    and must not be ptrace-able or have its /proc/PID/fd opened by
    processes of the container's host uid (CVE-2016-9962).  A non-dumpable
    task's /proc/PID files belong to the host's root; a dumpable one's to
    the container's root (host uid 100000)."""
    b = bundle("true")
    if variant == "time":  # the staged path, creating a time namespace
        b.linux["namespaces"].append({"type": "time"})
        b.linux["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0}}
    elif variant == "joined-netns":  # the staged path, joining by path
        _name, path = netns()
        helpers.set_namespace(b.config, "network", path=path)
        b.config["mounts"] = [m for m in b.config["mounts"] if m["type"] != "sysfs"]
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    pid = runtime.state(b.id)["pid"]
    with open("/proc/%d/status" % pid) as f:
        uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
    assert uids == [str(helpers.HOST_ID)] * 4, uids  # control: it runs as the mapped root
    owner = os.stat("/proc/%d/fd" % pid).st_uid
    assert owner == 0, "the waiting init is dumpable: /proc/%d/fd belongs to uid %d" % (
        pid, owner)
    assert runtime.delete(b.id, force=True).returncode == 0


# ---- 7. joining another container's namespaces -------------------------------------

def test_join_user_pid_net_namespaces(runtime, bundle):
    first = bundle("sleep", "60")
    pid1 = _started(runtime, first)
    want = {n: os.readlink("/proc/%d/ns/%s" % (pid1, n)) for n in ("user", "pid", "net")}
    # control: the first container's namespaces are not the host's
    for n, link in want.items():
        assert link != os.readlink("/proc/self/ns/" + n), n

    def joined(*args):
        b = bundle(*args)
        for oci in ("user", "pid", "network"):
            helpers.set_namespace(b.config, oci,
                                  path="/proc/%d/ns/%s" % (pid1, helpers.NS_PROC_NAME[oci]))
        return b

    ns = _ns_map(runtime.run_ok(joined("ns")))
    for n, link in want.items():
        assert ns[n] == link, "%s: %s != %s" % (n, ns[n], link)
    # the namespaces it did not join are its own
    assert ns["mnt"] != os.readlink("/proc/%d/ns/mnt" % pid1)
    assert ns["uts"] != os.readlink("/proc/%d/ns/uts" % pid1)

    # in the joined pid namespace the first container's init is pid 1
    procs = runtime.run_ok(joined("ls", "/proc")).split()
    assert "1" in procs, procs
    me = helpers.parse_kv(runtime.run_ok(joined("pid")))
    assert me["pid"] != "1", me
    # the first container is untouched
    assert runtime.state(first.id)["status"] == "running"
    assert helpers.pid_alive(pid1)


def test_join_pid_net_namespaces_without_userns(runtime, bundle):
    """The staged join without a user namespace: the second container runs
    in the host's user namespace and joins the first's pid and network
    namespaces (root on the host may mount its proc and sysfs)."""
    first = bundle("sleep", "60")
    pid1 = _started(runtime, first)
    want = {n: os.readlink("/proc/%d/ns/%s" % (pid1, n)) for n in ("pid", "net")}

    def joined(*args):
        b = bundle(*args)
        helpers.set_namespace(b.config, "user", present=False)
        del b.linux["uidMappings"], b.linux["gidMappings"]
        for oci in ("pid", "network"):
            helpers.set_namespace(b.config, oci,
                                  path="/proc/%d/ns/%s" % (pid1, helpers.NS_PROC_NAME[oci]))
        return b

    ns = _ns_map(runtime.run_ok(joined("ns")))
    for n, link in want.items():
        assert ns[n] == link, "%s: %s != %s" % (n, ns[n], link)
    assert ns["user"] == os.readlink("/proc/self/ns/user")
    procs = runtime.run_ok(joined("ls", "/proc")).split()
    assert "1" in procs, procs
    me = helpers.parse_kv(runtime.run_ok(joined("pid")))
    assert me["pid"] != "1", me
    assert runtime.state(first.id)["status"] == "running"


# ---- 8. list ----------------------------------------------------------------------

def test_list_formats(runtime, bundle):
    created = bundle("sleep", "60")
    running = bundle("sleep", "60")
    assert runtime.create(created).returncode == 0
    run_pid = _started(runtime, running)
    want = {created.id: "created", running.id: "running"}

    r = runtime("list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "PID", "STATUS"], lines[0]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:] if ln.strip()}
    assert set(rows) == set(want), rows
    for cid, status in want.items():
        assert rows[cid][2] == status, rows[cid]
    assert rows[running.id][1] == str(run_pid)

    r = runtime("list", "--format", "json")
    assert r.returncode == 0, r.stderr
    entries = {e["id"]: e for e in json.loads(r.stdout)}
    assert set(entries) == set(want)
    for cid, status in want.items():
        assert entries[cid]["status"] == status
        assert os.path.isabs(entries[cid]["bundle"])
    assert entries[running.id]["pid"] == run_pid

    r = runtime("list", "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == sorted(want), r.stdout
    assert len(r.stdout.splitlines()) == 2

    for cid in want:
        assert runtime.delete(cid, force=True).returncode == 0
    r = runtime("list", "-q")
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout


def test_list_empty_root(runtime):
    r = runtime("list", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout or "null") in (None, [])


# ---- 9. refusing commands on a running container ------------------------------------

def test_delete_running_refused_and_start_twice(runtime, bundle):
    b = bundle("sleep", "60")
    pid = _started(runtime, b)
    r = runtime.delete(b.id)
    assert r.returncode == 1, r.stderr
    _assert_clean(r)
    assert "not stopped" in r.stderr, r.stderr
    if runtime.is_isc:
        assert r.stderr == "isc-runtime: cannot delete container %s that is not stopped: running\n" % b.id
    assert runtime.state(b.id)["status"] == "running"
    assert helpers.pid_alive(pid)

    r = runtime.start(b.id)
    assert r.returncode == 1, r.stderr
    _assert_clean(r)
    assert "running" in r.stderr, r.stderr
    if runtime.is_isc:
        assert r.stderr == "isc-runtime: cannot start container %s: it is running, not created\n" % b.id
    st = runtime.state(b.id)
    assert st["status"] == "running" and st["pid"] == pid
    assert helpers.pid_alive(pid)
    assert runtime.delete(b.id, force=True).returncode == 0
    _assert_gone(runtime, b, [pid])
