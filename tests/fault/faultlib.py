# SPDX-License-Identifier: GPL-2.0-or-later
"""The fault-injection sweep of isc-runtime (issue 14), runtime side.

The points come from an `strace -f` of a real hardened `isc-runtime run`
(helpers.default_config: every namespace, a user namespace, read-only root,
masks, seccomp-free minimal capabilities), with and without the
org.isc.scratch annotation.  A point is (syscall, N): strace counts
invocations per syscall and per process ("per tracee"), so `when=N` hits the
N-th call of that syscall in every process of the runtime that makes that
many; the list is the union over the processes of the runtime (the stage,
the init until its execve of the container's program; never the program's
own calls).  Left out, with the reason: the calls of the dynamic loader and
libc's startup, memory management (an allocation failure aborts by design:
isc_xmalloc), signal-disposition calls whose result is ignored by design
(default_signals), exit_group.

For each point, two faults: the syscall fails (EIO, and the errno that
matters for that syscall: ERRNO_THAT_MATTERS), and the runtime is killed at
it (signal=SIGKILL, delivered at the call's entry).  After each:
  - a run that failed printed, as its first line, a message naming the step
    that carries the injected errno's text (docs/errors.md, "Messages");
    a run that went on (a best-effort step, a retried call) is fine, if the
    container ran;
  - `delete --force` of the id then leaves nothing: no state directory, no
    cgroup directory isc-<id>, no mount under the state root or the bundle,
    no loop device backed by a file of the state root (the scratch image;
    its fscrypt key lives in that filesystem's keyring and goes with it), no
    process of the run alive.
A run that does not end within HANG_SECONDS is a hang.  The waits of the
runtime are bounded by ISC_RUNTIME_WAIT_SECONDS, set low here so that a
bounded wait shows as an error, never as a hang.
"""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import helpers  # noqa: E402

EXPECTED = os.path.join(HERE, "expected-points.json")
STRACE = shutil.which("strace") or "/usr/bin/strace"
HANG_SECONDS = 30
WAIT_SECONDS = "5"

# never injected: see the module's text
IGNORED = {
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "arch_prctl", "set_tid_address",
    "set_robust_list", "rseq", "prlimit64_startup", "rt_sigaction", "rt_sigprocmask", "exit_group",
    "exit", "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
    "restart_syscall",
}
# the errno that matters at that syscall, besides EIO
ERRNO_THAT_MATTERS = {
    "openat": "EACCES", "openat2": "EACCES", "open_tree": "EPERM", "mkdir": "ENOSPC",
    "mkdirat": "ENOSPC", "mknodat": "EPERM", "write": "ENOSPC", "read": "EINTR",
    "mount": "EPERM", "move_mount": "EPERM", "mount_setattr": "EPERM", "umount2": "EBUSY",
    "pivot_root": "EINVAL", "unshare": "EPERM", "setns": "EPERM", "clone": "EAGAIN",
    "clone3": "EAGAIN", "socketpair": "EMFILE", "close_range": "EINVAL", "prctl": "EINVAL",
    "capset": "EPERM", "sethostname": "EPERM", "setresuid": "EPERM", "setresgid": "EPERM",
    "setgroups": "EPERM", "flock": "EWOULDBLOCK", "rmdir": "EBUSY", "unlinkat": "EBUSY",
    "renameat": "ENOSPC", "ioctl": "ENOTTY", "wait4": "EINTR",
    "poll": "EINTR", "sendto": "EPIPE", "recvfrom": "ECONNRESET", "execve": "EACCES",
    # ESRCH is the process being gone: "has stopped" is its meaning
    "pidfd_open": "EMFILE",
    "seccomp": "EINVAL", "fchmodat": "EPERM", "symlinkat": "ENOSPC", "landlock_restrict_self": "EPERM",
}
CONFIGS = ("plain", "scratch")

LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. )?([a-z_0-9]+)(\(| resumed>)")


class Env:
    """One runtime binary, one payload, one work directory; bundles and
    state roots under it (one state root per configuration, so that the
    scratch template is made once)."""

    def __init__(self, runtime, payload, work):
        self.runtime = runtime
        self.payload = payload
        self.work = work
        os.makedirs(work, exist_ok=True)
        os.chmod(work, 0o755)
        self.bundles = {c: self._bundle(c) for c in CONFIGS}

    def _bundle(self, config):
        d = os.path.join(self.work, "bundle-" + config)
        root = os.path.join(d, "rootfs")
        os.makedirs(root, exist_ok=True)
        os.chmod(d, 0o755)
        os.chmod(root, 0o755)
        for x in ("bin", "proc", "sys", "dev", "tmp", "etc", "run", "root", "mnt"):
            os.makedirs(os.path.join(root, x), exist_ok=True)
            os.chmod(os.path.join(root, x), 0o755)
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        shutil.copy(self.payload, os.path.join(root, "bin", "payload"))
        os.chmod(os.path.join(root, "bin", "payload"), 0o755)
        c = helpers.default_config(["/bin/payload", "echo", "fault-ok"], None)
        # the default group isc-<id>: each run's cgroup is named by its id
        del c["linux"]["cgroupsPath"]
        if config == "scratch":
            c["annotations"] = {"org.isc.scratch": "size=4m,path=/tmp/scratch"}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f, indent=1)
        return d

    def state_root(self, config):
        return os.path.join(self.work, "state-" + config)

    def runtime_cmd(self, config, *args):
        return [self.runtime, "--root", self.state_root(config)] + list(args)

    def env(self):
        # LeakSanitizer cannot run under ptrace (an ASan+UBSan runtime)
        asan = os.environ.get("ASAN_OPTIONS")
        return dict(os.environ, ISC_RUNTIME_WAIT_SECONDS=WAIT_SECONDS,
                    ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")

    # ---- the point list ---------------------------------------------------

    def trace(self, config):
        """strace -f of one real run; returns {(syscall, n)} and the run."""
        cid = "fault-trace-" + uuid.uuid4().hex[:8]
        # warm: the scratch template exists after the first run of a root
        warm = self.run_plain(config, "fault-warm-" + uuid.uuid4().hex[:8])
        assert warm.returncode == 0 and "fault-ok" in warm.stdout, warm
        log = os.path.join(self.work, "trace-%s.txt" % config)
        r = subprocess.run([STRACE, "-f", "-qq", "-o", log] + self.runtime_cmd(config, "run", cid),
                           cwd=self.bundles[config], capture_output=True, text=True,
                           timeout=HANG_SECONDS, env=self.env())
        assert r.returncode == 0 and "fault-ok" in r.stdout, "traced run failed: %s" % r.stderr
        with open(log) as f:
            return parse_trace(f.read()), r

    def run_plain(self, config, cid):
        return subprocess.run(self.runtime_cmd(config, "run", cid), cwd=self.bundles[config],
                              capture_output=True, text=True, timeout=HANG_SECONDS, env=self.env())

    # ---- one point ----------------------------------------------------------

    def fault(self, config, syscall, n, action):
        """Run with one injected fault; `action` "EIO"-like errno name or
        "KILL".  Returns a dict with the outcome and every problem found."""
        cid = "fault-%s-%s" % (config[0], uuid.uuid4().hex[:10])
        log = os.path.join(self.work, "inject-%s.txt" % cid)
        spec = "%s:%s:when=%d" % (syscall, "signal=SIGKILL" if action == "KILL" else "error=" + action, n)
        # the runtime's own execve (strace starts it) is not a point: the
        # container program's is picked by its path
        only = ["-P", "/bin/payload"] if syscall == "execve" else []
        traced = syscall if syscall == "execve" else syscall + ",execve"
        cmd = [STRACE, "-f", "-q", "-o", log, "-e", "trace=" + traced, "-e", "inject=" + spec] + only + \
            self.runtime_cmd(config, "run", cid)
        res = {"config": config, "syscall": syscall, "n": n, "action": action, "id": cid,
               "problems": [], "hang": False, "leak": False, "message": False}
        t0 = time.monotonic()
        # files, not pipes: a run killed after create leaves a created
        # container whose init holds the run's stdio until delete --force
        outp, errp = log + ".out", log + ".err"
        with open(outp, "w") as fo, open(errp, "w") as fe:
            p = subprocess.Popen(cmd, cwd=self.bundles[config], stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                 env=self.env(), start_new_session=True)
        # the runtime is strace's child; strace -f ends with the last
        # tracee, and a run killed after create leaves a created container
        # (waiting for start: its own lifetime, not a hang of the runtime)
        main = None
        while p.poll() is None:
            if main is None:
                main = _child_of(p.pid)
                if main is None and time.monotonic() - t0 > 2:
                    break  # gone before it was seen
            elif not _pid_alive(main):
                break
            if time.monotonic() - t0 > HANG_SECONDS:
                res["hang"] = True
                res["problems"].append("hang: the runtime did not end within %d s" % HANG_SECONDS)
                break
            time.sleep(0.01)
        with open(outp, errors="replace") as fo, open(errp, errors="replace") as fe:
            out, err = fo.read(), fe.read()
        rc = p.poll()
        # strace logs the runtime's end a moment after it
        deadline = time.monotonic() + 2
        while rc is None and main is not None and time.monotonic() < deadline:
            rc = _exit_status_from_log(log, main)
            if rc is None:
                time.sleep(0.02)
        res["seconds"] = round(time.monotonic() - t0, 2)
        res["rc"] = rc
        res["stderr"] = err
        # undo: delete --force, then nothing may be left
        d = subprocess.run(self.runtime_cmd(config, "delete", "--force", cid), capture_output=True, text=True,
                           timeout=HANG_SECONDS, env=self.env())
        if d.returncode != 0 and "does not exist" not in d.stderr:
            res["problems"].append("delete --force: rc %d: %s" % (d.returncode, d.stderr.strip()))
            res["leak"] = True
        # what strace still traced is gone with the container: strace ends
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            res["problems"].append("strace still waits for a process after delete --force")
            res["leak"] = True
            p.kill()
            p.wait()
        try:
            with open(log) as f:
                tr = f.read()
        except OSError:
            tr = ""
        res["injected"] = "INJECTED" in tr or (action == "KILL" and "+++ killed by SIGKILL" in tr)
        pids = {int(m.group(1)) for m in re.finditer(r"^(\d+) ", tr, re.M)}
        # a fault that hit only the container's program (the same process
        # as the init, after its execve) is the program's to report
        res["program_only"] = program_only(tr)
        if action != "KILL" and res["injected"] and not res["hang"] and not res["program_only"] and rc is not None:
            msg = message_problem(rc, out, err, action)
            if msg:
                res["message"] = True
                res["problems"].append(msg)
        left = leftovers(self.state_root(config), self.bundles[config], cid, pids)
        if left:
            res["leak"] = True
            res["problems"].append("left after delete --force: %s" % "; ".join(left))
            clean(self.state_root(config), cid, left)
        for f in (log, outp, errp):
            try:
                os.unlink(f)
            except OSError:
                pass
        return res


def _pid_alive(pid):
    """helpers.pid_alive, for a process that may end while it is read
    (the read then fails with ESRCH)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _child_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
    except OSError:
        return None
    for k in kids:
        # strace forks a short-lived helper of its own first
        try:
            with open("/proc/%s/comm" % k) as f:
                if f.read().strip() != "strace":
                    return int(k)
        except OSError:
            pass
    return None


def _exit_status_from_log(log, pid):
    """The runtime's end as strace logged it (strace itself still runs)."""
    try:
        with open(log) as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"^%d +\+\+\+ (exited with (\d+)|killed by SIG(\w+))" % pid, text, re.M)
    if not m:
        return None
    if m.group(2) is not None:
        return int(m.group(2))
    return -getattr(signal, "SIG" + m.group(3), 0)


def parse_trace(text):
    """{(syscall, n)}: for every process, its k-th call of each syscall
    (k = 1..count), up to the execve of the container's program."""
    counts = {}
    done = set()  # pids that exec'd the container's program
    points = set()
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        pid, name, kind = int(m.group(1)), m.group(2), m.group(3)
        if kind != "(" or pid in done:
            continue  # "resumed": counted at its start
        if name == "execve":
            # the program's execve is a point, counted among the calls on
            # its path (-P); the runtime's own start is not
            if "/bin/payload" in line:
                k = counts.get((pid, "execve-payload"), 0) + 1
                counts[(pid, "execve-payload")] = k
                points.add((name, k))
                done.add(pid)
            continue
        if name in IGNORED:
            continue
        k = counts.get((pid, name), 0) + 1
        counts[(pid, name)] = k
        points.add((name, k))
    return points


def program_only(trace):
    """True when every injected call was made by the container's program."""
    program, hits = set(), []
    for line in trace.splitlines():
        m = re.match(r"^(\d+) ", line)
        if not m:
            continue
        pid = int(m.group(1))
        if "INJECTED" in line:
            hits.append(pid in program)
        elif re.match(r"^\d+ +(<\.\.\. )?execve", line) and ("/bin/payload" in line or "resumed>" in line) \
                and "= 0" in line:
            program.add(pid)
    return bool(hits) and all(hits)


def summarize(points):
    per = {}
    for name, k in points:
        per[name] = max(per.get(name, 0), k)
    return per


ERRNO_TEXT = {name: os.strerror(getattr(errno, name)) for name in
              {"EIO"} | set(ERRNO_THAT_MATTERS.values())}


def message_problem(rc, out, err, action):
    """None when the outcome keeps the rule, else what breaks it."""
    lines = [l for l in err.splitlines() if l.strip()]
    if rc == 0:
        # went on: the step was best effort or retried; the container ran
        if "fault-ok" not in out:
            return "rc 0 but the container's output is missing: %r" % out[-200:]
        return None
    if not lines:
        return "rc %s and no message" % rc
    first = lines[0]
    if rc < 0:
        return "killed by signal %d: %s" % (-rc, first)
    want = ERRNO_TEXT[action]
    if want not in first:
        return "first message lacks %r: %s" % (want, first)
    if not first.startswith("isc-runtime: "):
        return "first message is not the runtime's: %s" % first
    # names the step: more than the errno text alone
    if len(first[len("isc-runtime: "):].replace(want, "").strip(": ")) < 4:
        return "message names no step: %s" % first
    return None


def _loops_of(state_root):
    found = []
    try:
        names = os.listdir("/sys/block")
    except OSError:
        return found
    for b in names:
        if not b.startswith("loop"):
            continue
        bf = helpers.loop_backing("/dev/" + b)
        if bf and bf.startswith(state_root + "/"):
            found.append("/dev/%s (%s)" % (b, bf))
    return found


def _alive(pids):
    out = []
    for pid in pids:
        if not _pid_alive(pid):
            continue
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            exe = "?"
        if "isc-runtime" in exe or "payload" in exe or "memfd" in exe:
            out.append("pid %d (%s)" % (pid, exe))
    return out


def leftovers(state_root, bundle, cid, pids):
    left = []
    if os.path.exists(os.path.join(state_root, cid)):
        left.append("state %s/%s" % (state_root, cid))
    left += ["cgroup " + c for c in helpers.cgroup_leftovers("isc-" + cid)]
    left += ["mount " + m for m in helpers.mount_leftovers(os.path.join(state_root, cid))]
    left += ["mount " + m for m in helpers.mount_leftovers(bundle)]
    # a loop device clears itself a moment after its last close (the kernel
    # does it from a work queue)
    deadline = time.monotonic() + 5
    while _loops_of(os.path.join(state_root, cid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left += ["loop " + x for x in _loops_of(os.path.join(state_root, cid))]
    # the processes may take a moment to be reaped by pid 1
    deadline = time.monotonic() + 5
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left += ["process " + x for x in _alive(pids)]
    return left


def clean(state_root, cid, left):
    """Remove what a leak left, so that later points start clean."""
    for x in left:
        if x.startswith("process pid "):
            try:
                os.kill(int(x.split()[2]), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    for x in left:
        if x.startswith("mount "):
            subprocess.run(["umount", "-l", x[6:]], capture_output=True)
    helpers.kill_cgroups(helpers.cgroup_leftovers("isc-" + cid))
    shutil.rmtree(os.path.join(state_root, cid), ignore_errors=True)


# close(2) and close_range(2) release the descriptors even when they fail;
# an injected failure leaves them open, which the kernel never does (a held
# state-directory fd then holds the container's lock): only the kill
KILL_ONLY = {"close"}


def actions_for(syscall):
    if syscall in KILL_ONLY:
        return ["KILL"]
    a = ["EIO"]
    if syscall in ERRNO_THAT_MATTERS and ERRNO_THAT_MATTERS[syscall] != "EIO":
        a.append(ERRNO_THAT_MATTERS[syscall])
    return a + ["KILL"]


def load_expected():
    with open(EXPECTED) as f:
        return json.load(f)


def sample(points, per_syscall, seed):
    """`per_syscall` points of each syscall, chosen by `seed`."""
    import random
    rnd = random.Random(seed)
    by = {}
    for name, k in sorted(points):
        by.setdefault(name, []).append(k)
    out = []
    for name, ks in sorted(by.items()):
        out += [(name, k) for k in sorted(rnd.sample(ks, min(per_syscall, len(ks))))]
    return out
