#!/usr/bin/python3
"""podman start-time benchmark: `podman run --rm --network none IMAGE /bin/true` with
isc-runtime, runc and crun as podman's OCI runtime, interleaved, hot (back to back) and after
200 ms idle, in one run.

Entry point: bench/run-podman.sh [--quick] (passes its arguments here). See the section
"podman run" in bench/README.md. Reuses the timing driver (spawnbench.c) and the statistics of
start.py. Builds nothing of the project; expects build/src/runtime/isc-runtime (or
$ISC_RUNTIME). Must run as root.

Runners (same image, same private podman store, same podman flags):
  isc, runc          podman in the host's mount namespace
  crun               podman (and so conmon and crun) in a private mount namespace where
                     /sys/fs/cgroup/unified is covered by an empty tmpfs (crun 1.8 refuses
                     hybrid cgroups); made once by spawnbench -H and entered by setns()
  isc-h, runc-h      controls: isc and runc in that same namespace, so that isc/crun can also
                     be read with both sides in identical surroundings (--no-controls drops them)
"""

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import start as harness  # noqa: E402  (build_driver, summarize, ratio, fmt, run_killable ...)

MKROOTFS = os.path.join(TOP, "scripts", "mkrootfs-busybox.sh")
IMAGE = "localhost/isc-bench-busybox:latest"
# the podman flags every runner gets (tests/integration/clients.py: root lacks
# CAP_SYS_RESOURCE here and its hard NOFILE is 20000)
RUN_FLAGS = ["--rm", "--network", "none",
             "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]
HIDE_SH = 'mount -t tmpfs -o mode=755 none /sys/fs/cgroup/unified && exec "$@"'
PREFLIGHT_SH = (
    'echo "pid1=$$ uid=$(id -u)"; '
    "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t ' ' '; "
    'echo "netdevs=$(($(wc -l < /proc/net/dev) - 2))"; '
    "exit 7"
)
STATE_ROOTS = {"isc": "/run/isc-runtime", "runc": "/run/runc", "crun": "/run/crun"}

# Wrapper used only in the untimed RSS pass: podman is given WORK/rss/<rt>/<basename> (same
# basename, so podman passes the same flags), which forks, execs the real runtime, waits for
# it and appends "<verb> <ru_maxrss KiB> <status>" to LOG.
RSSWRAP_C = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	const char *verb = "?";
	(void)argc;
	for (int i = 1; argv[i]; i++) {
		if (argv[i][0] != '-') { verb = argv[i]; break; }
		if (!strcmp(argv[i], "--log") || !strcmp(argv[i], "--root") || !strcmp(argv[i], "--log-format"))
			i++;
	}
	pid_t pid = fork();
	if (pid < 0)
		return 125;
	if (pid == 0) {
		if (getenv("ISC_RSSWRAP_FLOOR"))
			_exit(0);
		argv[0] = (char *)REAL;
		execv(REAL, argv);
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return 125;
	int fd = open(LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dprintf(fd, "%s %ld %d\n", verb, ru.ru_maxrss, st);
		close(fd);
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}
"""

log = harness.log
sh = harness.sh
fmt = harness.fmt


class Podman:
    """A private podman store (--root/--runroot/--tmpdir) under the work directory."""

    def __init__(self, work):
        self.dir = os.path.join(work, "store")
        os.makedirs(self.dir, mode=0o755)
        self.base = [shutil.which("podman") or "/usr/bin/podman",
                     "--root", os.path.join(self.dir, "root"),
                     "--runroot", os.path.join(self.dir, "runroot"),
                     "--tmpdir", os.path.join(self.dir, "tmp"),
                     "--cgroup-manager=cgroupfs", "--events-backend=file"]

    def run_argv(self, runtime, name, cmd):
        return self.base + ["run", "--runtime", runtime, "--name", name] + RUN_FLAGS + [IMAGE] + cmd

    def __call__(self, *args, timeout=120):
        return harness.run_killable(self.base + list(args), timeout) or \
            subprocess.CompletedProcess(args, 137, "", "timeout")

    def import_image(self, work):
        rootfs = os.path.join(work, "rootfs")
        p = sh(["sh", MKROOTFS, rootfs])
        if p.returncode:
            sys.exit("mkrootfs-busybox.sh failed: " + p.stderr)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        p = subprocess.run(self.base + ["import", "-", IMAGE], stdin=tar.stdout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        tar.stdout.close()
        tar.wait()
        if p.returncode:
            sys.exit("podman import failed: " + p.stderr)
        shutil.rmtree(rootfs, ignore_errors=True)


class Runner:
    def __init__(self, name, kind, exe, hidden):
        self.name, self.kind, self.exe, self.hidden = name, kind, exe, hidden

    def wrap(self, argv):
        """argv as run outside spawnbench: inside a fresh hidden namespace if needed."""
        if self.hidden:
            return ["unshare", "-m", "--propagation", "private", "sh", "-c", HIDE_SH, "sh"] + argv
        return argv


# ---------------------------------------------------------------- leftovers

def libpod_cgroups():
    """Every libpod-* cgroup directory in every hierarchy."""
    found = set()
    for h in os.listdir("/sys/fs/cgroup"):
        base = os.path.join("/sys/fs/cgroup", h)
        if not os.path.isdir(base) or os.path.islink(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            for d in list(dirnames):
                if d.startswith("libpod-"):
                    found.add(os.path.join(dirpath, d))
                    dirnames.remove(d)
            if dirpath.count("/") > 6:
                dirnames[:] = []
    return found


def libpod_parents():
    return {os.path.join("/sys/fs/cgroup", h, "libpod_parent") for h in os.listdir("/sys/fs/cgroup")
            if os.path.isdir(os.path.join("/sys/fs/cgroup", h, "libpod_parent"))}


def mounts_with(text):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if text in line:
                out.append(line.split()[4])
    return out


def procs_with(text):
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % e, "rb") as f:
                if text.encode() in f.read():
                    out.append(int(e))
        except OSError:
            pass
    return out


def state_entries(prefix):
    out = []
    for rt, d in STATE_ROOTS.items():
        if os.path.isdir(d):
            out += [os.path.join(d, e) for e in os.listdir(d)]
    return set(out)


def hygiene(podman, work, cg_before, state_before):
    """What the runs left behind: containers, libpod-* cgroups, mounts, state, processes."""
    res = {}
    p = podman("ps", "-a", "-q")
    res["containers"] = p.stdout.split() if p.returncode == 0 else ["(podman ps failed: %s)" % p.stderr.strip()]
    res["cgroups"] = sorted(libpod_cgroups() - cg_before)
    res["mounts"] = mounts_with(work)
    res["state"] = sorted(state_entries(None) - state_before)
    res["processes"] = ["%d %s" % (pid, open("/proc/%d/cmdline" % pid, "rb").read().replace(b"\0", b" ")[:80].decode())
                        for pid in procs_with(work) if os.path.exists("/proc/%d" % pid)]
    return res


# ---------------------------------------------------------------- steps

def preflight(podman, r, pid):
    name = "iscpod-%d-pre-%s" % (pid, r.name)
    argv = r.wrap(podman.run_argv(r.exe, name, ["/bin/sh", "-c", PREFLIGHT_SH]))
    p = harness.run_killable(argv, 60)
    if p is None:
        return False, "timeout after 60 s (process group killed)", ""
    out = " | ".join(p.stdout.strip().splitlines())
    ok = p.returncode == 7 and "pid1=1 " in p.stdout and "Seccomp: 2" in p.stdout and "netdevs=1" in p.stdout
    return ok, "exit %d; %s" % (p.returncode, out), p.stderr.strip()[-400:]


def run_driver(driver, work, podman, runners, mode, rounds, warmup, sleep_ms, burst, prefix):
    plan = os.path.join(work, "plan-%s.tsv" % mode)
    with open(plan, "w") as f:
        for r in runners:
            argv = podman.run_argv(r.exe, "@ID@", ["/bin/true"])
            for a in argv:
                assert "\t" not in a and "\n" not in a, a
            f.write("\t".join(["run", r.name, "mntns" if r.hidden else "-"] + argv) + "\n")
    cmd = [driver, "-r", str(rounds), "-w", str(warmup), "-b", str(burst), "-s", str(sleep_ms),
           "-p", prefix, "-m", mode, "-l", work, "-C", "200", "-t", "60", plan]
    if any(r.hidden for r in runners):
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
        rows.append({"mode": m, "round": int(rnd), "name": name, "wall_ns": int(wall), "status": int(st),
                     "maxrss_kb": int(rss), "utime_us": int(ut), "stime_us": int(stime)})
    return rows, calib


def rss_pass(work, podman, runners, n, pid):
    """Untimed: each runtime through a fork/wait4 wrapper; median ru_maxrss per verb."""
    out = {}
    for r in runners:
        if r.name in out or r.kind in [x.kind for x in runners if x.name in out]:
            continue
        d = os.path.join(work, "rss", r.kind)
        os.makedirs(d, exist_ok=True)
        wrapper = os.path.join(d, os.path.basename(r.exe))
        logf = os.path.join(d, "log")
        src = os.path.join(d, "wrap.c")
        with open(src, "w") as f:
            f.write(RSSWRAP_C)
        p = sh(["gcc", "-std=gnu11", "-O2", "-static", "-Wall", "-Wextra", "-Werror",
                '-DREAL="%s"' % r.exe, '-DLOG="%s"' % logf, "-o", wrapper, src])
        if p.returncode:
            out[r.name] = "wrapper build failed: " + p.stderr[-200:]
            continue
        fails = 0
        for i in range(n):
            argv = r.wrap(podman.run_argv(wrapper, "iscpod-%d-rss-%s-%d" % (pid, r.kind, i), ["/bin/true"]))
            q = harness.run_killable(argv, 60)
            if q is None or q.returncode:
                fails += 1
        # the measurement floor: the wrapper's forked child exits at once (no exec)
        sh([wrapper, "floor"], env=dict(os.environ, ISC_RSSWRAP_FLOOR="1"))
        by = {}
        try:
            for line in open(logf):
                verb, kb, st = line.split()
                by.setdefault(verb, []).append((int(kb), int(st)))
        except OSError:
            pass
        out[r.name] = {"fails": fails, "verbs": {v: (statistics.median(k for k, _ in x), max(k for k, _ in x), len(x))
                                                 for v, x in by.items()}}
    return out


def versions(tools):
    v = {}
    for k, cmd in [("podman", ["podman", "--version"]), ("conmon", ["conmon", "--version"]),
                   ("crun", [tools["crun"], "--version"]), ("runc", [tools["runc"], "--version"]),
                   ("isc", [tools["isc"], "--version"])]:
        if cmd[0]:
            lines = sh(cmd).stdout.strip().splitlines()
            v[k] = lines[0] if lines else "(no --version output)"
    return v


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="few rounds (hot 8, idle 4, RSS 2)")
    ap.add_argument("--hot", type=int, default=30, help="hot rounds (default 30)")
    ap.add_argument("--idle", type=int, default=15, help="idle rounds (default 15)")
    ap.add_argument("--idle-ms", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--burst", type=int, default=harness.HOT_BURST, help="hot: runs back to back per turn, last measured")
    ap.add_argument("--rss-runs", type=int, default=5, help="untimed runs per runtime for the RSS pass (0: skip)")
    ap.add_argument("--only", default="", help="comma list of runners to keep (isc,runc,crun,isc-h,runc-h)")
    ap.add_argument("--no-controls", action="store_true", help="drop isc-h and runc-h")
    ap.add_argument("--store", default="/dev/shm", help="parent directory of the private podman store (default /dev/shm)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    o = ap.parse_args()
    if o.quick:
        o.hot, o.idle, o.warmup, o.rss_runs = 8, 4, 2, 2
    if os.geteuid() != 0:
        sys.exit("must run as root")
    pid = os.getpid()
    prefix = "iscpod-%d" % pid
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    resdir = os.path.join(HERE, "results")
    os.makedirs(resdir, exist_ok=True)
    results_base = os.path.join(resdir, stamp + "-podman")

    isc = os.environ.get("ISC_RUNTIME") or os.path.join(TOP, "build/src/runtime/isc-runtime")
    tools = {"isc": os.path.abspath(isc) if os.access(isc, os.X_OK) else None,
             "runc": shutil.which("runc"), "crun": shutil.which("crun")}
    if not shutil.which("podman"):
        sys.exit("podman not found")
    runners = []
    for name, kind, hidden in [("isc", "isc", False), ("runc", "runc", False), ("crun", "crun", True),
                               ("isc-h", "isc", True), ("runc-h", "runc", True)]:
        if tools[kind] and not (o.no_controls and name.endswith("-h")):
            runners.append(Runner(name, kind, tools[kind], hidden))
    if o.only:
        keep = set(o.only.split(","))
        runners = [r for r in runners if r.name in keep]
    unavailable = {k: "not found" for k, v in tools.items() if not v}

    work = tempfile.mkdtemp(prefix="isc-podbench.", dir=o.store)
    os.chmod(work, 0o755)
    cg_before, state_before = libpod_cgroups(), state_entries(None)
    parents_before = libpod_parents()
    vers = versions(tools)
    fdm_line, fdm = harness.favordynmods_state()
    load0 = open("/proc/loadavg").read().split()[:3]
    podman = Podman(work)
    rows, calibs, pre_report, rss, hyg = [], {}, [], {}, {}
    t_start = time.monotonic()
    try:
        log("importing the busybox image into %s" % podman.dir)
        podman.import_image(work)
        driver = harness.build_driver(work)
        good = []
        for r in runners:
            ok, what, err = preflight(podman, r, pid)
            pre_report.append((r.name, ok, what, err))
            log("preflight %-6s %s %s %s" % (r.name, "ok" if ok else "FAILED", what, err))
            if ok:
                good.append(r)
            else:
                unavailable[r.name] = "preflight failed: %s %s" % (what, err)
        for mode, rounds, sleep_ms, warm, burst in [("hot", o.hot, 0, o.warmup, o.burst),
                                                    ("idle", o.idle, o.idle_ms, 1, 1)]:
            if not good or rounds <= 0:
                continue
            log("measuring %s: %d rounds x %s" % (mode, rounds, " ".join(r.name for r in good)))
            rr, calib = run_driver(driver, work, podman, good, mode, rounds, warm, sleep_ms, burst, prefix)
            rows += rr
            calibs.update(calib)
        if o.rss_runs > 0 and good:
            log("RSS pass: %d untimed runs per runtime" % o.rss_runs)
            rss = rss_pass(work, podman, good, o.rss_runs, pid)
        # conmon may still be finishing the last --rm cleanup
        deadline = time.monotonic() + 10
        while True:
            hyg = hygiene(podman, work, cg_before, state_before)
            if not any(hyg.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        podman("rm", "-a", "-f", "-t", "0")
        podman("rmi", "-a", "-f")
        for mp in sorted(mounts_with(work), key=len, reverse=True):
            sh(["umount", "-l", mp])
        if not o.keep:
            shutil.rmtree(work, ignore_errors=True)
        # libpod_parent (and its conmon child) are podman's; remove them only if this run made them
        for par in sorted(libpod_parents() - parents_before):
            for sub in ["conmon", ""]:
                try:
                    os.rmdir(os.path.join(par, sub) if sub else par)
                except OSError:
                    pass
    elapsed = time.monotonic() - t_start

    # ------------------------------------------------------------ report
    names = [r.name for r in good]
    md = ["# podman run start-time benchmark, %s\n" % stamp]
    md.append("- Machine: %s, %d CPUs, kernel %s" % (os.uname().nodename, os.cpu_count(), os.uname().release))
    md.append("- Load average at start %s, at end %s; %.0f s in all" %
              (" ".join(load0), " ".join(open("/proc/loadavg").read().split()[:3]), elapsed))
    md.append("- cgroup2 mount: `%s` → favordynmods **%s**" % (fdm_line, "ON" if fdm else "off"))
    md.append("- Command (timed, whole `podman` process): `podman --root S/root --runroot S/runroot --tmpdir S/tmp "
              "--cgroup-manager=cgroupfs --events-backend=file run --runtime RT --name ID %s %s /bin/true`; "
              "store S on %s" % (" ".join(RUN_FLAGS), IMAGE, o.store))
    md.append("- Rounds: hot %d (warm-up %d), idle %d (sleep %d ms before every run); order rotated each round; "
              "hot: each runner runs %d times back to back in its turn, the last measured" %
              (o.hot, o.warmup, o.idle, o.idle_ms, o.burst))
    if "setns_mnt_overhead_ns" in calibs:
        md.append("- crun, isc-h, runc-h: podman runs in a private mount namespace with /sys/fs/cgroup/unified "
                  "hidden (setns() before exec, measured cost %.3f ms)" % (calibs["setns_mnt_overhead_ns"] / 1e6))
    for k, v in vers.items():
        md.append("- %s: %s" % (k, v))
    for k, v in unavailable.items():
        md.append("- **%s unavailable**: %s" % (k, v))
    md.append("")
    if rows:
        md.append("## Wall time of `podman run --rm` (ms)\n")
        md.append("| runner | mode | n ok | fail | median | p90 | min | podman CPU ms | podman ru_maxrss KiB |")
        md.append("|---|---|---|---|---|---|---|---|---|")
        for mode in ["hot", "idle"]:
            s = harness.summarize([r for r in rows if r["mode"] == mode], names)
            for n in names:
                x = s[n]
                md.append("| %s | %s | %d | %d | %s | %s | %s | %s | %s |" % (
                    n, mode, x["n"], x["fail"], fmt(x["median"]), fmt(x["p90"]), fmt(x["min"]),
                    fmt(x["cpu"]), fmt(x["rss"], 0)))
        md.append("")
        md.append("Medians of per-round ratios (wall time):\n")
        md.append("| ratio | hot | idle |")
        md.append("|---|---|---|")
        for a, b in [("isc", "runc"), ("isc", "crun"), ("isc-h", "crun"), ("crun", "runc"),
                     ("isc-h", "isc"), ("runc-h", "runc")]:
            if a in names and b in names:
                md.append("| %s/%s | %s | %s |" % (
                    a, b, fmt(harness.ratio([r for r in rows if r["mode"] == "hot"], a, b)),
                    fmt(harness.ratio([r for r in rows if r["mode"] == "idle"], a, b))))
        md.append("")
        hot = [r for r in rows if r["mode"] == "hot"]
        if "isc" in names:
            parts = []
            for a, b in [("isc", "runc"), ("isc", "crun"), ("isc-h", "crun")]:
                if a in names and b in names:
                    x = harness.ratio(hot, a, b)
                    parts.append("%s/%s %s: **%s**" % (a, b, fmt(x), "faster" if x is not None and x < 1 else "not faster"))
            md.append("Goal (hot): podman with isc measurably faster, not slower: " + "; ".join(parts) + "\n")
    if rss:
        md.append("## Peak RSS of the OCI runtime process (untimed pass, fork/wait4 wrapper)\n")
        md.append("`floor` is the wrapper's own forked child exiting without exec: every figure is at least that.\n")
        md.append("| runtime | verb | calls | median ru_maxrss KiB | max KiB |")
        md.append("|---|---|---|---|---|")
        for n, v in rss.items():
            if isinstance(v, str):
                md.append("| %s | – | – | %s | |" % (n, v))
                continue
            for verb in ["create", "start", "delete"] + sorted(set(v["verbs"]) - {"create", "start", "delete", "floor"}) + ["floor"]:
                if verb in v["verbs"]:
                    med, mx, c = v["verbs"][verb]
                    md.append("| %s | %s | %d | %s | %s |" % (n, verb, c, fmt(med, 0), fmt(mx, 0)))
            if v["fails"]:
                md.append("| %s | (failed runs) | %d | | |" % (n, v["fails"]))
        md.append("")
    md.append("## Preflight (`podman run --rm ... IMAGE /bin/sh -c ...`, exit 7 expected)\n")
    md.append("| runner | ok | output |")
    md.append("|---|---|---|")
    for n, ok, what, err in pre_report:
        md.append("| %s | %s | `%s` |" % (n, "yes" if ok else "**no**",
                                        (what + (" stderr: " + err if err and not ok else "")).replace("|", "/")))
    md.append("")
    md.append("## Hygiene (after all runs, before the store is removed)\n")
    for k in ["containers", "cgroups", "mounts", "state", "processes"]:
        v = hyg.get(k, ["(not checked)"])
        md.append("- %s left: %s" % (k, "none" if not v else "%d: %s" % (len(v), ", ".join(v[:5]))))
    text = "\n".join(md) + "\n"
    print(text)
    with open(results_base + ".md", "w") as f:
        f.write(text)
    with open(results_base + ".csv", "w") as f:
        f.write("mode,round,name,wall_ns,status,maxrss_kb,utime_us,stime_us\n")
        for r in rows:
            f.write("%(mode)s,%(round)d,%(name)s,%(wall_ns)d,%(status)d,%(maxrss_kb)d,%(utime_us)d,%(stime_us)d\n" % r)
    log("results: %s.md (.csv)" % results_base)


if __name__ == "__main__":
    main()
