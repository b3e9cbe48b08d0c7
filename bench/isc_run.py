#!/usr/bin/python3
"""`isc run -d` against `podman run -d --read-only`: the time from the command to the service
process running, hot (back to back) and after idle, on the same busybox image, in one run.

Entry point: bench/run-isc-run.sh [--quick] [--rounds N] [--idle SECONDS].

isc: a lab host (`isc --lab <tmp> init`; the lab is removed at the end) with the busybox image
imported; each round `isc run -d --name sN --restart no busybox /bin/sleep 600` is timed until
the command returns (iscd has created and started the container: the process runs), then the
service is removed untimed.  The isc default includes everything an ISC gets: user namespace,
encrypted scratch (a fresh fscrypt image and key), idmapped read-only image root, Landlock,
seccomp, cgroups, and the private network when the host has one.

podman: `podman run -d --read-only --network none IMAGE /bin/sleep 600` in a private storage
root, with runc (crun 1.8 refuses this machine's hybrid cgroups) and with isc-runtime as its
OCI runtime; `podman rm -f` untimed.  podman's bridge network is not measured here: it would
configure the machine's own network namespace (kernel-notes measured ~300 ms for it).

Reported: median and p90 per runner and phase, and the ratios isc/podman.
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
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
ISC = os.environ.get("ISC", os.path.join(TOP, "build", "src", "isc", "isc"))
RUNTIME = os.environ.get("ISC_RUNTIME", os.path.join(TOP, "build", "src", "runtime", "isc-runtime"))
MKROOTFS = os.path.join(TOP, "scripts", "mkrootfs-busybox.sh")
PODMAN_FLAGS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]


def sh(*cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = (time.perf_counter() - t0) * 1000.0
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return dt


class IscRunner:
    name = "isc run -d"

    def __init__(self, work, rootfs):
        self.lab = "bench" + uuid.uuid4().hex[:6]
        self.base = [ISC, "--lab", self.lab]
        sh(*self.base, "init")
        sh(*self.base, "image", "import", "busybox", rootfs)
        self.n = 0

    def once(self):
        self.n += 1
        name = "s%d" % self.n
        dt = timed(self.base + ["run", "-d", "--name", name, "--restart", "no",
                                "busybox", "/bin/sleep", "600"])
        ps = sh(*self.base, "ps", "--format", "json").stdout
        if name not in ps:
            raise RuntimeError("isc ps does not list %s after run -d" % name)
        sh(*self.base, "rm", "-f", name)
        return dt

    def close(self):
        sh(*self.base, "deinit", check=False)


class PodmanRunner:
    def __init__(self, work, rootfs, runtime, label):
        self.name = "podman run -d --read-only (%s)" % label
        self.root = os.path.join(work, "podman-" + label)
        self.runroot = os.path.join(work, "podman-run-" + label)
        self.base = ["podman", "--root", self.root, "--runroot", self.runroot,
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--runtime", runtime]
        tar = os.path.join(work, "rootfs.tar")
        if not os.path.exists(tar):
            sh("tar", "-C", rootfs, "-cf", tar, ".")
        sh(*self.base, "import", tar, "localhost/isc-bench-busybox:latest")
        self.n = 0

    def once(self):
        self.n += 1
        name = "bench-%s-%d" % (uuid.uuid4().hex[:6], self.n)
        dt = timed(self.base + ["run", "-d", "--read-only", "--network", "none", "--name", name]
                   + PODMAN_FLAGS + ["localhost/isc-bench-busybox:latest", "/bin/sleep", "600"])
        sh(*self.base, "rm", "-f", "-t", "0", name)
        return dt

    def close(self):
        sh(*self.base, "rm", "-a", "-f", "-t", "0", check=False)
        sh(*self.base, "system", "reset", "-f", check=False)


def stats(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--idle-rounds", type=int, default=8)
    ap.add_argument("--idle", type=float, default=2.0)
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.idle_rounds = 5, 3
    if os.geteuid() != 0:
        sys.exit("bench: must run as root")
    work = tempfile.mkdtemp(prefix="isc-bench-run.")
    runners = []
    try:
        rootfs = os.path.join(work, "rootfs")
        sh(MKROOTFS, rootfs)
        runners.append(IscRunner(work, rootfs))
        if shutil.which("podman"):
            runners.append(PodmanRunner(work, rootfs, "/usr/sbin/runc", "runc"))
            runners.append(PodmanRunner(work, rootfs, RUNTIME, "isc-runtime"))
        res = {r.name: {"hot": [], "idle": []} for r in runners}
        for r in runners:  # warm-up
            r.once()
        for _ in range(args.rounds):
            for r in runners:
                res[r.name]["hot"].append(r.once())
        for _ in range(args.idle_rounds):
            for r in runners:
                time.sleep(args.idle)
                res[r.name]["idle"].append(r.once())
    finally:
        for r in runners:
            r.close()
        shutil.rmtree(work, ignore_errors=True)

    cg2 = [l.split()[3] for l in open("/proc/mounts") if l.split()[2] == "cgroup2"]
    lines = ["# `isc run -d` vs `podman run -d --read-only` (%s)" % datetime.datetime.now().isoformat(timespec="seconds"),
             "", "rounds: %d hot, %d after %.1f s idle; cgroup2 mount options: %s" % (
                 args.rounds, args.idle_rounds, args.idle, ",".join(cg2) or "-"), "",
             "| runner | hot median ms | hot p90 ms | idle median ms | idle p90 ms |",
             "|---|---|---|---|---|"]
    for name, d in res.items():
        hm, hp = stats(d["hot"])
        im, ip = stats(d["idle"])
        lines.append("| %s | %.1f | %.1f | %.1f | %.1f |" % (name, hm, hp, im, ip))
    isc = res[runners[0].name]
    for r in runners[1:]:
        o = res[r.name]
        lines.append("")
        lines.append("isc / %s: hot %.2f, idle %.2f" % (
            r.name, stats(isc["hot"])[0] / stats(o["hot"])[0], stats(isc["idle"])[0] / stats(o["idle"])[0]))
    report = "\n".join(lines) + "\n"
    print(report)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "isc-run-%s.md" % datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        f.write(report)


if __name__ == "__main__":
    main()
