#!/usr/bin/python3
"""isc start-time and memory benchmark: isc-runtime vs crun, runc, bubblewrap and an
`unshare` floor, interleaved, hot (back to back) and after 200 ms idle.

Entry point: bench/run.sh [--quick] (passes its arguments here). See bench/README.md.
Builds nothing of the project; expects build/src/runtime/isc-runtime (or $ISC_RUNTIME).
Must run as root with /usr/bin/python3 (python3-seccomp is used for bwrap's BPF).
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import seccomp_profile  # noqa: E402

PODMAN_PROFILE = "/usr/share/containers/seccomp.json"
# The small capability set granted to the container (bounding = effective = permitted).
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_NET_BIND_SERVICE",
        "CAP_SETGID", "CAP_SETUID"]
HOSTNAME = "isc-bench"
USERNS_MAP = {"containerID": 0, "hostID": 100000, "size": 65536}
BUSYBOX_APPLETS = ["sh", "cat", "grep", "hostname", "id", "touch", "echo", "true", "false", "wc", "ls"]
# Printed by the preflight run inside each container (busybox sh); exit 7 proves it ran.
PREFLIGHT_SH = (
    'echo "pid1=$$ host=$(hostname) uid=$(id -u)"; '
    "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status | tr -s '\\t ' ' '; "
    'echo "uid_map=$(cat /proc/self/uid_map | tr -s \' \' \' \')"; '
    "touch /probe 2>/dev/null && echo rootfs=rw || echo rootfs=ro; "
    'echo "netdevs=$(($(wc -l < /proc/net/dev) - 2))"; '
    "exit 7"
)
VARIANTS = {
    "ns": "pid, mount, ipc, uts, net, cgroup namespaces (no user namespace)",
    "userns": "the same plus a user namespace (0 -> 100000, 65536 ids)",
    "ns-noseccomp": "as ns but without seccomp (diagnostic: the cost of the seccomp profile)",
    "userns-noseccomp": "as userns but without seccomp (diagnostic)",
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    except OSError as e:
        return subprocess.CompletedProcess(cmd, 127, "", "cannot run: %s" % e)


# ---------------------------------------------------------------- environment

def find_payload():
    p = os.path.join(TOP, "build/tests/payload/isc-payload")
    if os.access(p, os.X_OK):
        return p, ["/bin/isc-payload", "true"], "build/tests/payload/isc-payload (static), invoked as `isc-payload true`"
    return "/bin/busybox", ["/bin/busybox", "true"], "busybox-static `busybox true`"


def make_rootfs(root, payload_host):
    for d in ["bin", "proc", "dev", "sys", "tmp", "run", "etc"]:
        os.makedirs(os.path.join(root, d), mode=0o755, exist_ok=True)
    shutil.copy2("/bin/busybox", os.path.join(root, "bin/busybox"))
    for a in BUSYBOX_APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    if payload_host != "/bin/busybox":
        shutil.copy2(payload_host, os.path.join(root, "bin/isc-payload"))
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write(HOSTNAME + "\n")
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/:/bin/sh\n")


def oci_config(rootfs, args, seccomp, userns, cgroups_path):
    ns = [{"type": t} for t in ["pid", "mount", "ipc", "uts", "network", "cgroup"]]
    if userns:
        ns.append({"type": "user"})
    cfg = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin", "HOME=/"],
            "cwd": "/",
            "capabilities": {k: list(CAPS) for k in ["bounding", "effective", "permitted"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": True},
        "hostname": HOSTNAME,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
        ],
        "linux": {
            "namespaces": ns,
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}], "pids": {"limit": 100}},
            "seccomp": seccomp,
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                            "/sys/fs/selinux", "/sys/dev/block"],
            "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    if seccomp is None:
        del cfg["linux"]["seccomp"]
    if userns:
        cfg["linux"]["uidMappings"] = [dict(USERNS_MAP)]
        cfg["linux"]["gidMappings"] = [dict(USERNS_MAP)]
    return cfg


def bwrap_argv(bwrap, rootfs, args, userns, seccomp_fd):
    a = [bwrap]
    if userns:
        a += ["--unshare-all", "--unshare-user", "--uid", "0", "--gid", "0"]
    else:
        a += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup"]
    a += ["--hostname", HOSTNAME, "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev",
          "--mqueue", "/dev/mqueue", "--tmpfs", "/tmp", "--chdir", "/", "--as-pid-1", "--clearenv", "--setenv", "PATH", "/bin",
          "--cap-drop", "ALL"]
    for c in CAPS:
        a += ["--cap-add", c]
    if seccomp_fd is not None:
        a += ["--seccomp", str(seccomp_fd)]
    return a + args


class Runner:
    def __init__(self, name, argv, opts=None, post=None, tmpl=None, cfg=None):
        self.name, self.argv, self.opts, self.post = name, argv, opts or [], post
        self.tmpl, self.cfg = tmpl, cfg
        self.ok, self.note, self.userns = True, "", False


def build_runners(work, variant, tools, payload_args, seccomp, bpf_path):
    userns = variant.startswith("userns")
    if variant.endswith("-noseccomp"):
        seccomp, bpf_path = None, None
    rootfs = os.path.join(work, "rootfs")
    runners = []
    for rt in OCI_RUNNERS:
        exe = tools.get(rt)
        if not exe:
            continue
        bundle = os.path.join(work, "bundles", variant, rt)
        state = os.path.join(work, "state", variant, rt)
        os.makedirs(bundle, exist_ok=True)
        os.makedirs(state, exist_ok=True)
        cfg = oci_config(rootfs, payload_args, seccomp, userns, "@ID@")
        tmpl = os.path.join(bundle, "config.json.tmpl")
        with open(tmpl, "w") as f:
            json.dump(cfg, f, indent=1)
        opts = ["tmpl=" + tmpl, "cfg=" + os.path.join(bundle, "config.json")]
        if rt == "crun":
            opts.append("mntns")
        r = Runner(rt, [exe, "--root", state, "run", "--bundle", bundle, "@ID@"], opts, tmpl=tmpl,
                   cfg=os.path.join(bundle, "config.json"))
        r.state, r.bundle, r.userns = state, bundle, userns
        if rt in ("isc", "isc-ref") and os.environ.get("ISC_BENCH_POST_DELETE"):
            # untimed `delete --force` after each run, for a runtime whose `run` keeps state
            r.post = [exe, "--root", state, "delete", "--force", "@ID@"]
        runners.append(r)
    if tools.get("bwrap"):
        r = Runner("bwrap", bwrap_argv(tools["bwrap"], rootfs, payload_args, userns, 10 if bpf_path else None),
                   ["fd=10:" + bpf_path] if bpf_path else [])
        r.userns = userns
        runners.append(r)
    floor_payload = os.path.join(rootfs, payload_args[0].lstrip("/"))
    fl = [tools["unshare"]] + (["-U"] if userns else []) + ["-m", "-p", "-n", "-i", "-u", "-f",
                                                             floor_payload] + payload_args[1:]
    r = Runner("floor", fl)
    r.userns = userns
    runners.append(r)
    # reference: the payload exec'd directly by the driver (no isolation); its ru_maxrss is
    # the measurement floor (the driver's own RSS at vfork counts in every child's peak)
    runners.append(Runner("exec", [floor_payload] + payload_args[1:]))
    for r in runners:
        r.seccomp = seccomp
        r.bpf = bpf_path
    return runners


# ---------------------------------------------------------------- preflight

def run_killable(argv, timeout, **kw):
    """subprocess.run in its own process group; on timeout the whole group is killed
    (before the leader is reaped, so the group id cannot have been reused). None on timeout.
    stdin is an empty pipe unless given: never /dev/null, which crun would chown."""
    kw.setdefault("stdin", subprocess.PIPE)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.communicate()
        return None
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def preflight(work, runner, seccomp, bpf_path):
    """Run the container once with busybox sh printing its view; exit 7 expected."""
    args = ["/bin/busybox", "sh", "-c", PREFLIGHT_SH]
    rid = "%s-pre-%s-%s" % (PREFIX, runner.name, "u" if runner.userns else "n")
    if runner.name in OCI_RUNNERS:
        cfg = oci_config(os.path.join(work, "rootfs"), args, seccomp, runner.userns, rid)
        with open(runner.cfg, "w") as f:
            json.dump(cfg, f, indent=1)
        argv = [a.replace("@ID@", rid) for a in runner.argv]
        if runner.name == "crun":
            argv = ["unshare", "-m", "sh", "-c",
                    'mount -t tmpfs none /sys/fs/cgroup/unified && exec "$@"', "sh"] + argv
        pass_fds = ()
        stdin = subprocess.PIPE  # not /dev/null: crun chowns its stdio (see spawnbench.c)
    elif runner.name == "bwrap":
        argv = runner.argv[: len(runner.argv) - len(PAYLOAD_ARGS)] + args
        stdin = subprocess.PIPE
        pass_fds = ()
        if bpf_path:
            fd = os.open(bpf_path, os.O_RDONLY)
            if fd != 10:
                os.dup2(fd, 10, inheritable=True)
                os.close(fd)
            pass_fds = (10,)
    else:
        p = sh(runner.argv)
        return p.returncode == 0, "exit %d" % p.returncode, p.stderr.strip()[-300:]
    try:
        p = run_killable(argv, stdin=stdin, pass_fds=pass_fds, timeout=30)
        if p is None:
            return False, "timeout after 30 s (process group killed)", ""
    except OSError as e:
        return False, "cannot run: %s" % e, ""
    finally:
        if runner.name == "bwrap" and bpf_path:
            os.close(10)
    out = " | ".join(l for l in p.stdout.strip().splitlines())
    ok = p.returncode == 7 and "pid1=1 " in p.stdout and "host=%s" % HOSTNAME in p.stdout \
        and "rootfs=ro" in p.stdout and "NoNewPrivs: 1" in p.stdout \
        and (seccomp is None or "Seccomp: 2" in p.stdout)
    return ok, "exit %d; %s" % (p.returncode, out), p.stderr.strip()[-400:]


# ---------------------------------------------------------------- measurement

def build_driver(work):
    exe = os.path.join(work, "spawnbench")
    src = os.path.join(HERE, "spawnbench.c")
    cmd = ["gcc", "-D_GNU_SOURCE", "-std=gnu11", "-O2", "-static", "-Wall", "-Wextra", "-Wshadow",
           "-Wmissing-prototypes", "-Wstrict-prototypes", "-Werror", "-o", exe, src]
    p = sh(cmd)
    if p.returncode:
        sys.exit("building spawnbench failed:\n" + p.stderr)
    return exe


HOT_BURST = 3


def run_driver(driver, work, runners, mode, rounds, warmup, sleep_ms, variant):
    plan = os.path.join(work, "plan-%s-%s.tsv" % (variant, mode))
    with open(plan, "w") as f:
        for r in runners:
            for a in r.argv:
                assert "\t" not in a and "\n" not in a, a
            f.write("\t".join(["run", r.name, ",".join(r.opts) or "-"] + r.argv) + "\n")
            if r.post:
                f.write("\t".join(["post", r.name, "-"] + r.post) + "\n")
    # hot means back to back: each runner runs HOT_BURST times in a row in its
    # turn and the last run is measured (runners that join cgroups would
    # otherwise pay the after-idle attach stall of the one before them)
    burst = HOT_BURST if mode == "hot" else 1
    cmd = [driver, "-r", str(rounds), "-w", str(warmup), "-b", str(burst), "-s", str(sleep_ms),
           "-p", PREFIX + "-" + variant, "-m", mode, "-l", work, "-C", "200", plan]
    if any("mntns" in r.opts for r in runners):
        cmd.insert(1, "-H")
    p = sh(cmd)
    if p.returncode:
        sys.exit("spawnbench failed: %s\n%s" % (p.returncode, p.stderr))
    rows, calib = [], {}
    for line in p.stdout.splitlines():
        if line.startswith("#calib,"):
            _, k, v = line.split(",")
            calib[k] = int(v)
            continue
        m, rnd, name, wall, st, rss, ut, stime = line.split(",")
        rows.append({"variant": variant, "mode": m, "round": int(rnd), "name": name, "wall_ns": int(wall),
                     "status": int(st), "maxrss_kb": int(rss), "utime_us": int(ut), "stime_us": int(stime)})
    return rows, calib


def pct(vals, q):
    v = sorted(vals)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summarize(rows, names):
    out = {}
    for n in names:
        rr = [r for r in rows if r["name"] == n]
        ok = [r for r in rr if r["status"] == 0]
        w = [r["wall_ns"] / 1e6 for r in ok]
        out[n] = {
            "n": len(ok), "fail": len(rr) - len(ok),
            "median": statistics.median(w) if w else float("nan"), "p90": pct(w, 0.9),
            "min": min(w) if w else float("nan"),
            "rss": statistics.median([r["maxrss_kb"] for r in ok]) if ok else float("nan"),
            "cpu": statistics.median([(r["utime_us"] + r["stime_us"]) / 1000 for r in ok]) if ok else float("nan"),
        }
    return out


def ratio(rows, a, b):
    by = {}
    for r in rows:
        if r["status"] == 0:
            by.setdefault(r["round"], {})[r["name"]] = r["wall_ns"]
    rs = [v[a] / v[b] for v in by.values() if a in v and b in v]
    return statistics.median(rs) if rs else None


# ---------------------------------------------------------------- profiling hook

def profile(work, runners, results_base):
    """Where the time goes: one strace'd run of each OCI runtime (ns variant).

    Hook for the lead: if isc-runtime prints its own phase timings (ISC_BENCH_DEBUG_ARGS,
    default "--debug", given before the verb), its stderr is saved as well."""
    out = []
    for r in runners:
        if r.name not in ("isc", "crun", "runc", "bwrap", "floor"):
            continue  # (isc-ref: the reference build is profiled in its own commit's runs)
        if r.name in ("bwrap", "floor"):
            sfile = results_base + "-strace-%s.txt" % r.name
            pass_fds = ()
            if r.name == "bwrap" and r.bpf:
                fd = os.open(r.bpf, os.O_RDONLY)
                if fd != 10:
                    os.dup2(fd, 10, inheritable=True)
                    os.close(fd)
                pass_fds = (10,)
            p = run_killable(["strace", "-f", "-ttt", "-T", "-o", sfile] + r.argv, 60, pass_fds=pass_fds) or \
                subprocess.CompletedProcess([], 137, "", "timeout")
            if pass_fds:
                os.close(10)
            out.append((r.name, "strace -f -ttt -T -> %s (exit %d)" % (os.path.basename(sfile), p.returncode),
                        strace_phases(sfile)))
            continue
        rid = "%s-prof-%s" % (PREFIX, r.name)
        with open(r.tmpl) as f:
            cfgtext = f.read().replace("@ID@", rid)
        with open(r.cfg, "w") as f:
            f.write(cfgtext)
        argv = [a.replace("@ID@", rid) for a in r.argv]
        pre = []
        if r.name == "crun":
            pre = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs none /sys/fs/cgroup/unified && exec "$@"', "sh"]
        sfile = results_base + "-strace-%s.txt" % r.name
        p = run_killable(pre + ["strace", "-f", "-ttt", "-T", "-o", sfile] + argv, 60) or \
            subprocess.CompletedProcess([], 137, "", "timeout")
        out.append((r.name, "strace -f -ttt -T -> %s (exit %d)" % (os.path.basename(sfile), p.returncode),
                    strace_phases(sfile)))
        if r.name == "isc":
            dbg = os.environ.get("ISC_BENCH_DEBUG_ARGS", "--debug").split()
            rid2 = rid + "-dbg"
            with open(r.cfg, "w") as f:
                f.write(cfgtext.replace(rid, rid2))
            argv2 = [argv[0]] + dbg + [a.replace(rid, rid2) for a in argv[1:]]
            p = run_killable(argv2, 60) or subprocess.CompletedProcess([], 137, "", "timeout")
            dfile = results_base + "-isc-debug.txt"
            with open(dfile, "w") as f:
                f.write("$ %s\nexit %d\n%s" % (" ".join(argv2), p.returncode, p.stderr))
            out.append(("isc", "debug output -> %s" % os.path.basename(dfile), []))
    return out


def strace_phases(path):
    """Coarse timeline from an strace -f -ttt log: first line, each clone/unshare/exec/
    pivot_root/mount count, payload exec, last line."""
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return []
    if not lines:
        return []

    def ts(l):
        try:
            return float(l.split()[1])
        except (IndexError, ValueError):
            return None
    t0 = ts(lines[0])
    marks, mounts, syscalls = [], 0, 0
    for l in lines:
        t = ts(l)
        if t is None:
            continue
        syscalls += 1
        body = l.split(None, 2)[2] if len(l.split(None, 2)) > 2 else ""
        if body.startswith("mount(") or body.startswith("mount_setattr(") or body.startswith("move_mount("):
            mounts += 1
        interesting = (
            body.startswith(("execve(", "unshare(", "setns(", "pivot_root(", "exit_group("))
            or (body.startswith(("clone(", "clone3(")) and "CLONE_THREAD" not in body)
            or (body.startswith("seccomp(SECCOMP_SET_MODE_FILTER") and "len=" in body)
            or ("cgroup.procs" in body and body.startswith(("openat(", "write(")))
        )
        if interesting:
            marks.append("+%.2f ms pid %s %s" % ((t - t0) * 1e3, l.split()[0], body[:100]))
    marks.append("total %.2f ms under strace, %d syscalls, %d mount-family calls" %
                 ((ts(lines[-1]) - t0) * 1e3, syscalls, mounts))
    return marks


# ---------------------------------------------------------------- main

def cleanup_cgroups(prefix):
    left = []
    for base in ["/sys/fs/cgroup/" + d for d in os.listdir("/sys/fs/cgroup")]:
        if not os.path.isdir(base):
            continue
        for dirpath, dirnames, _ in os.walk(base, topdown=False):
            for d in dirnames:
                if d.startswith(prefix):
                    full = os.path.join(dirpath, d)
                    try:
                        os.rmdir(full)
                        left.append(full)
                    except OSError:
                        left.append(full + " (could not remove)")
    return left


def favordynmods_state():
    for l in open("/proc/mounts"):
        if " cgroup2 " in l:
            return l.strip(), "favordynmods" in l.split()[3].split(",")
    return "(no cgroup2 mount)", False


def fmt(x, nd=2):
    if x is None or x != x:
        return "–"
    return ("%." + str(nd) + "f") % x


def main():
    global PREFIX, PAYLOAD_ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="few rounds (hot 8, idle 4)")
    ap.add_argument("--hot", type=int, default=30, help="hot rounds (default 30)")
    ap.add_argument("--idle", type=int, default=15, help="idle rounds (default 15)")
    ap.add_argument("--idle-ms", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--variants", default="ns,userns")
    ap.add_argument("--only", default="", help="comma list of runners to keep (isc,crun,runc,bwrap,floor)")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--reference", nargs="?", const="", default=None, metavar="COMMIT",
                    help="also time isc-runtime built at COMMIT (default: bench/reference-commit), "
                         "side by side, and report new/reference ratios")
    o = ap.parse_args()
    if o.quick:
        o.hot, o.idle, o.warmup = 8, 4, 2
    if os.geteuid() != 0:
        sys.exit("must run as root")
    PREFIX = "isc-bench-%d" % os.getpid()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    resdir = os.path.join(HERE, "results")
    os.makedirs(resdir, exist_ok=True)
    results_base = os.path.join(resdir, stamp)

    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    work = tempfile.mkdtemp(prefix="isc-bench.", dir=base)
    os.chmod(work, 0o755)
    tools = {"crun": shutil.which("crun"), "runc": shutil.which("runc"), "bwrap": shutil.which("bwrap"),
             "unshare": shutil.which("unshare")}
    isc = os.environ.get("ISC_RUNTIME") or os.path.join(TOP, "build/src/runtime/isc-runtime")
    tools["isc"] = isc if os.access(isc, os.X_OK) else None
    ref_sha = None
    if o.reference is not None:
        ref_sha, tools["isc-ref"] = reference_runtime(o.reference or default_reference())
    keep = set(o.only.split(",")) if o.only else None
    if keep and "isc" in keep:
        keep.add("isc-ref")  # --reference is asked for on its own
    unavailable = {}
    if not tools["isc"]:
        unavailable["isc"] = "not built (%s)" % isc
    if keep:
        for k in list(tools):
            if k not in keep and k != "unshare":
                tools[k] = None
    versions = {}
    for k, cmd in [("crun", ["crun", "--version"]), ("runc", ["runc", "--version"]), ("bwrap", ["bwrap", "--version"]),
                   ("unshare", ["unshare", "--version"])]:
        if tools.get(k):
            versions[k] = sh(cmd).stdout.splitlines()[0]
    for k in ("isc", "isc-ref"):
        if tools.get(k):
            versions[k] = (sh([tools[k], "--version"]).stdout.strip().splitlines() or ["(no --version output)"])[0]
    if ref_sha:
        versions["isc-ref"] += " (reference build of commit %s)" % ref_sha

    payload_host, PAYLOAD_ARGS, payload_desc = find_payload()
    make_rootfs(os.path.join(work, "rootfs"), payload_host)
    prof = json.load(open(PODMAN_PROFILE))
    seccomp = seccomp_profile.docker_to_oci(prof, CAPS)
    bpf_path = os.path.join(work, "seccomp.bpf")
    try:
        added, skipped = seccomp_profile.oci_to_bpf(seccomp, bpf_path)
        bpf_note = "%d syscall rules compiled by libseccomp, %d skipped" % (added, skipped)
    except Exception as e:  # python3-seccomp missing
        bpf_path, bpf_note = None, "not compiled (%s): bwrap runs without seccomp" % e
    driver = build_driver(work)
    fdm_line, fdm = favordynmods_state()
    load0 = open("/proc/loadavg").read().split()[:3]

    all_rows, calibs, pre_report, prof_out = [], {}, [], []
    try:
        for variant in o.variants.split(","):
            runners = build_runners(work, variant, tools, PAYLOAD_ARGS, seccomp, bpf_path)
            good = []
            for r in runners:
                ok, what, err = preflight(work, r, r.seccomp, r.bpf)
                pre_report.append((variant, r.name, ok, what, err))
                log("preflight %-6s %-5s %s %s %s" % (variant, r.name, "ok" if ok else "FAILED", what, err))
                if ok:
                    good.append(r)
                else:
                    unavailable.setdefault(r.name if variant == "ns" else r.name + "/" + variant,
                                           "preflight failed: %s %s" % (what, err))
            if not good:
                continue
            for mode, rounds, sleep_ms, warm in [("hot", o.hot, 0, o.warmup), ("idle", o.idle, o.idle_ms, 1)]:
                log("measuring %s/%s: %d rounds x %s" % (variant, mode, rounds, " ".join(r.name for r in good)))
                rows, calib = run_driver(driver, work, good, mode, rounds, warm, sleep_ms, variant)
                all_rows += rows
                calibs.update(calib)
            if variant == "ns" and not o.no_profile:
                prof_out = profile(work, good, results_base)
    finally:
        leftovers = cleanup_cgroups(PREFIX)
        leaked_state = []
        for dirpath, dirnames, _ in os.walk(os.path.join(work, "state")):
            for d in dirnames:
                if d.startswith(PREFIX):
                    leaked_state.append(os.path.join(dirpath, d))
        if not o.keep:
            shutil.rmtree(work, ignore_errors=True)

    # ------------------------------------------------------------ report
    md = []
    md.append("# isc start-time benchmark, %s\n" % stamp)
    md.append("- Machine: %s, %d CPUs, kernel %s" % (os.uname().nodename, os.cpu_count(), os.uname().release))
    md.append("- Load average at start %s, at end %s (other work on the machine widens p90)" %
              (" ".join(load0), " ".join(open("/proc/loadavg").read().split()[:3])))
    md.append("- cgroup2 mount: `%s` → favordynmods **%s**" % (fdm_line, "ON" if fdm else "off"))
    md.append("- Payload: %s; rootfs on tmpfs (/dev/shm), read-only" % payload_desc)
    md.append("- Seccomp: %s converted for amd64 with caps %s → %d rule groups; bwrap BPF: %s" %
              (PODMAN_PROFILE, ",".join(c[4:] for c in CAPS), len(seccomp["syscalls"]), bpf_note))
    md.append("- Rounds: hot %d (warm-up %d), idle %d (sleep %d ms before every run); order rotated each round; hot: each runner runs %d times back to back in its turn, the last measured" %
              (o.hot, o.warmup, o.idle, o.idle_ms, HOT_BURST))
    if "setns_mnt_overhead_ns" in calibs:
        md.append("- crun runs setns() into a private mount namespace with /sys/fs/cgroup/unified hidden; "
                  "measured setns cost included in crun's time: %.3f ms" % (calibs["setns_mnt_overhead_ns"] / 1e6))
    for k, v in versions.items():
        md.append("- %s: %s" % (k, v))
    for k, v in unavailable.items():
        md.append("- **%s unavailable**: %s" % (k, v))
    md.append("")
    for variant in o.variants.split(","):
        vrows = [r for r in all_rows if r["variant"] == variant]
        if not vrows:
            continue
        names = []
        for r in vrows:
            if r["name"] not in names:
                names.append(r["name"])
        md.append("## Variant `%s`: %s\n" % (variant, VARIANTS.get(variant, variant)))
        md.append("| runner | mode | n ok | fail | median ms | p90 ms | min ms | child CPU ms | ru_maxrss KiB |")
        md.append("|---|---|---|---|---|---|---|---|---|")
        for mode in ["hot", "idle"]:
            mrows = [r for r in vrows if r["mode"] == mode]
            s = summarize(mrows, names)
            for n in names:
                x = s[n]
                md.append("| %s | %s | %d | %d | %s | %s | %s | %s | %s |" % (
                    n, mode, x["n"], x["fail"], fmt(x["median"]), fmt(x["p90"]), fmt(x["min"]), fmt(x["cpu"]),
                    fmt(x["rss"], 0)))
        md.append("")
        md.append("Medians of per-round ratios (wall time):\n")
        md.append("| ratio | hot | idle |")
        md.append("|---|---|---|")
        pairs = [("isc", b) for b in ["isc-ref", "bwrap", "crun", "runc", "floor"]] + \
                [(a, "floor") for a in ["crun", "runc", "bwrap"]] + [("crun", "bwrap"), ("runc", "crun")]
        for a, b in pairs:
            if a in names and b in names:
                md.append("| %s/%s | %s | %s |" % (a, b, fmt(ratio([r for r in vrows if r["mode"] == "hot"], a, b)),
                                                   fmt(ratio([r for r in vrows if r["mode"] == "idle"], a, b))))
        if "isc" in names:
            hot = [r for r in vrows if r["mode"] == "hot"]
            rb, rc = ratio(hot, "isc", "bwrap"), ratio(hot, "isc", "crun")
            rss = summarize(hot, ["isc"])["isc"]["rss"]
            md.append("")
            rr = ratio(hot, "isc", "isc-ref")
            if rr is not None:
                md.append("Against the reference (hot): isc/isc-ref = **%s**, budget ≤ 1.05: **%s**" % (
                    fmt(rr), "met" if rr <= 1.05 else "not met"))
            md.append("Goals (hot): isc/bwrap ≤ 1: **%s** (%s); isc/crun ≤ 0.33: **%s** (%s); isc peak RSS ≤ 2048 KiB: **%s** (%s)" % (
                "met" if rb is not None and rb <= 1 else "not met", fmt(rb),
                "met" if rc is not None and rc <= 1 / 3 else "not met", fmt(rc),
                "met" if rss <= 2048 else "not met", fmt(rss, 0)))
        else:
            md.append("\nisc: pending (not measured in this run)")
        md.append("")
    md.append("## Preflight (one run per runner, busybox sh inside the container)\n")
    md.append("| variant | runner | ok | output |")
    md.append("|---|---|---|---|")
    for variant, n, ok, what, err in pre_report:
        md.append("| %s | %s | %s | `%s` |" % (variant, n, "yes" if ok else "**no**",
                                             (what + (" stderr: " + err if err and not ok else "")).replace("|", "/")))
    md.append("")
    if prof_out:
        md.append("## Where the time goes (one strace'd run each, variant ns; strace inflates times)\n")
        for name, what, marks in prof_out:
            md.append("### %s: %s\n" % (name, what))
            if marks:
                md.append("```")
                md += marks
                md.append("```")
            md.append("")
    md.append("## Hygiene\n")
    md.append("- cgroups left by runtimes and removed by the harness: %s" % (
        "none" if not leftovers else "%d, e.g. %s" % (len(leftovers), ", ".join(leftovers[:3]))))
    md.append("- runtime state left in --root dirs: %s" % (", ".join(leaked_state) or "none"))
    text = "\n".join(md) + "\n"
    print(text)
    with open(results_base + ".md", "w") as f:
        f.write(text)
    with open(results_base + ".csv", "w") as f:
        f.write("variant,mode,round,name,wall_ns,status,maxrss_kb,utime_us,stime_us\n")
        for r in all_rows:
            f.write("%(variant)s,%(mode)s,%(round)d,%(name)s,%(wall_ns)d,%(status)d,%(maxrss_kb)d,%(utime_us)d,%(stime_us)d\n" % r)
    log("results: %s.md (.csv)" % results_base)


PREFIX = "isc-bench"
PAYLOAD_ARGS = []
# the OCI runtimes measured (isc-ref: a reference build of isc-runtime, --reference)
OCI_RUNNERS = ["isc", "isc-ref", "crun", "runc"]
REF_CACHE = "/var/cache/isc-bench"


def reference_runtime(spec):
    """Build isc-runtime at commit SPEC (normal build) once into REF_CACHE/<sha>/ and return
    its path.  The tree is taken with `git archive`, so the working tree is never touched."""
    p = sh(["git", "-C", TOP, "rev-parse", "--verify", spec + "^{commit}"])
    if p.returncode:
        sys.exit("--reference %s: not a commit of this repository: %s" % (spec, p.stderr.strip()))
    sha = p.stdout.strip()
    base = os.path.join(REF_CACHE, sha)
    exe = os.path.join(base, "build", "src", "runtime", "isc-runtime")
    if os.access(exe, os.X_OK):
        return sha, exe
    log("building the reference isc-runtime at %s into %s" % (sha[:12], base))
    shutil.rmtree(base, ignore_errors=True)
    src = os.path.join(base, "src")
    os.makedirs(src)
    p = subprocess.run("git -C '%s' archive '%s' | tar -x -C '%s'" % (TOP, sha, src), shell=True,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode:
        sys.exit("--reference: git archive %s failed: %s" % (sha, p.stderr.strip()))
    for cmd in (["meson", "setup", os.path.join(base, "build"), src],
                ["ninja", "-C", os.path.join(base, "build"), "src/runtime/isc-runtime"]):
        p = sh(cmd)
        if p.returncode:
            shutil.rmtree(base, ignore_errors=True)
            sys.exit("--reference: %s failed:\n%s%s" % (" ".join(cmd[:2]), p.stdout[-2000:], p.stderr[-2000:]))
    return sha, exe


def default_reference():
    with open(os.path.join(HERE, "reference-commit")) as f:
        return f.read().split()[0]

if __name__ == "__main__":
    main()
