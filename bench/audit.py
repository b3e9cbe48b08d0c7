#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Audit trail benchmark (docs/audit.md, bench/README.md "Audit").

1. Per-exec overhead: an exec-heavy loop (posix_spawn /bin/true + wait) in
   processes whose loginuid is a container audit id, with kernel audit off
   (no collector) and with isc-auditd collecting into a trail.  Rounds
   alternate; medians are reported.
2. Sustained rate: --rate execs per second for --seconds, paced over two
   workers; afterwards every exec must be in the trail and the kernel's lost
   counter must not have moved.

Holds the machine-wide audit lock and restores the kernel audit state
(isc-auditd --stop).  Run as root from the repository:
    bench/audit.py [--iterations 2000] [--rounds 5] [--rate 2000] [--seconds 10]"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import audit_kernel  # noqa: E402

AUDITD = os.path.join(REPO, "build", "src", "auditd", "isc-auditd")

WORKER = r"""
import os, sys, time
auid, n, rate, t0 = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
with open("/proc/self/loginuid", "w") as f:
    f.write(str(auid))
env = {"PATH": "/usr/bin:/bin"}
while time.time() < t0:
    time.sleep(0.001)
start = time.perf_counter()
for i in range(n):
    if rate > 0:
        due = start + i / rate
        d = due - time.perf_counter()
        if d > 0:
            time.sleep(d)
    pid = os.posix_spawn("/bin/true", ["/bin/true"], env)
    os.waitpid(pid, 0)
print(time.perf_counter() - start)
"""


def workers(auid, n_each, rate_each, count):
    t0 = time.time() + 0.3
    ps = [subprocess.Popen([sys.executable, "-c", WORKER, str(auid), str(n_each), str(rate_each), str(t0)],
                           stdout=subprocess.PIPE, text=True) for _ in range(count)]
    return [float(p.communicate()[0]) for p in ps]


def request(run_dir, obj):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(os.path.join(run_dir, "collector.sock"))
    s.send(json.dumps(obj).encode())
    r = json.loads(s.recv(65536))
    s.close()
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="isc-bench-audit-")
    run_dir, root = os.path.join(tmp, "run"), os.path.join(tmp, "root")
    os.makedirs(root)
    env = dict(os.environ, ISC_AUDIT_RUN_DIR=run_dir)
    with audit_kernel.Lock():
        before = audit_kernel.status()
        off, on = [], []

        def start():
            subprocess.run([AUDITD, "--daemon", "--run-dir", run_dir, "--no-syslog"], check=True, env=env)
            return request(run_dir, {"op": "register", "root": root})["base"] + 1

        def stop():
            subprocess.run([AUDITD, "--stop", "--run-dir", run_dir], check=True, env=env)
        try:
            for r in range(a.rounds):
                t = workers(1000001, a.iterations, 0, 1)[0]
                off.append(t / a.iterations * 1e6)
                auid = start()
                t = workers(auid, a.iterations, 0, 1)[0]
                on.append(t / a.iterations * 1e6)
                stop()
            # sustained rate
            auid = start()
            with open(os.path.join(root, "audit", "trail.jsonl")) as f:
                mark = sum(1 for _ in f)
            lost0 = audit_kernel.status()["lost"]
            n_each = a.rate * a.seconds // 2
            times = workers(auid, n_each, a.rate / 2, 2)
            time.sleep(1.5)
            lost1 = audit_kernel.status()["lost"]
            stop()
            n = 0
            lost_recs = 0
            with open(os.path.join(root, "audit", "trail.jsonl")) as f:
                for i, line in enumerate(f):
                    rec = json.loads(line)
                    if i >= mark and rec["type"] == "exec" and rec.get("auid") == auid and rec.get("argv") == ["/bin/true"]:
                        n += 1
                    if rec["type"] == "lost":
                        lost_recs += rec["count"] + rec.get("socket_overruns", 0)
            v = subprocess.run([os.path.join(REPO, "build", "src", "isc", "isc"), "--root", root, "audit",
                                "verify"], capture_output=True, text=True)
        finally:
            subprocess.run([AUDITD, "--stop", "--run-dir", run_dir], capture_output=True, env=env)
            after = audit_kernel.status()
            restored = all(after[k] == before[k] for k in audit_kernel.RESTORED)
        shutil.rmtree(tmp)
    mo, mn = statistics.median(off), statistics.median(on)
    print("exec loop, us per exec (median of %d rounds x %d): audit off %.1f, audit on %.1f, overhead %+.1f%%"
          % (a.rounds, a.iterations, mo, mn, (mn / mo - 1) * 100))
    print("  best round: audit off %.1f, audit on %.1f, overhead %+.1f%%" % (min(off), min(on),
                                                                          (min(on) / min(off) - 1) * 100))
    print("  rounds off: %s" % " ".join("%.0f" % x for x in off))
    print("  rounds on:  %s" % " ".join("%.0f" % x for x in on))
    want = n_each * 2
    print("sustained: %d execs at %d/s target in %.2f s (achieved %.0f/s); in the trail: %d; kernel lost %d; "
          "lost/overrun records %d; verify: %s" % (want, a.rate, max(times), want / max(times), n,
                                                   lost1 - lost0, lost_recs, v.stdout.strip() or v.stderr.strip()))
    print("audit state restored: %s" % restored)
    return 0 if n == want and lost1 == lost0 and restored else 1


if __name__ == "__main__":
    sys.exit(main())
