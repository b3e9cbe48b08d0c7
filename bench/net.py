#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Costs of the private network (bench/README.md, "network"), measured in
network namespaces that this script creates and removes (never the
machine's own):

1. the extra time the network adds to a container start:
   isc_net_container_up / isc_net_container_down, N times each, through the
   test driver build/tests/net/isc-net-test (median, mean, min, max);
2. TCP throughput (iperf3) from a container to a server outside, through
   the isc bridge, the inet isc / bridge isc_l2 rules, conntrack and the
   masquerade, against one plain veth pair between two namespaces.  The two
   are interleaved (NAT, veth, NAT, veth, ...) because the machine is shared
   and its speed drifts; the report is the median of each, the ratio of the
   medians, and the ratio of each adjacent pair (its spread);
3. the same for the way in: a client outside sends to a port exposed by the
   container (DNAT from the host's address), against the same veth pair.

  bench/run-net.sh [--quick] [--rounds R] [--seconds S] [--n N] [--control] [--unsteered] [--json]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(REPO, os.environ.get("ISC_TEST_BUILD", "build"), "tests", "net", "isc-net-test")


def sh(*a):
    return subprocess.run(list(a), check=True, capture_output=True, text=True)


def iperf(server_argv, client_argv, addr, seconds, bind=None, port=5201):
    """One iperf3 run of SECONDS; the receiver's rate in Gbit/s.  The server binds BIND (default:
    ADDR, the address the client connects to) on PORT."""
    srv = subprocess.Popen(server_argv + ["iperf3", "-s", "-1", "-p", str(port), "-B", bind or addr],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = None
        for _ in range(100):
            time.sleep(0.05)
            r = subprocess.run(client_argv + ["iperf3", "-c", addr, "-p", str(port), "-t", str(seconds), "-J"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
        raise RuntimeError("iperf3 failed: " + (r.stderr if r else ""))
    finally:
        srv.kill()
        srv.wait()


def set_rps(netns_path, ifname, mask):
    """rps_cpus of IFNAME's receive queues in the namespace at NETNS_PATH (through a private sysfs)"""
    sh("nsenter", "--net=" + netns_path, "unshare", "--mount", "--propagation", "private", "sh", "-c",
       "mount -t sysfs sysfs /sys && for q in /sys/class/net/%s/queues/rx-*; do echo %s > $q/rps_cpus; done"
       % (ifname, mask))


def get_rps(netns_path, ifname):
    return sh("nsenter", "--net=" + netns_path, "unshare", "--mount", "--propagation", "private", "sh", "-c",
              "mount -t sysfs sysfs /sys && cat /sys/class/net/%s/queues/rx-0/rps_cpus" % ifname).stdout.strip()


def summary(runs, veth):
    pairs = sorted(n / v for n, v in zip(runs, veth))
    return {"gbps_median": round(statistics.median(runs), 2),
            "vs_veth": round(statistics.median(runs) / statistics.median(veth), 3),
            "pair_ratio_median": round(statistics.median(pairs), 3),
            "pair_ratio_min": round(pairs[0], 3), "pair_ratio_max": round(pairs[-1], 3),
            "runs": [round(x, 2) for x in runs]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds of 2 s, 50 containers")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved NAT/veth iperf3 pairs (default 7)")
    ap.add_argument("--seconds", type=int, default=5, help="length of one iperf3 run (default 5)")
    ap.add_argument("--n", type=int, default=200, help="container up/down cycles (default 200)")
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    ap.add_argument("--no-throughput", action="store_true", help="only the container up/down timings")
    ap.add_argument("--control", action="store_true",
                    help="also measure, in every round, the same path with the isc tables replaced by a bare "
                         "masquerade (conntrack + NAT, no filter): what the topology itself costs")
    ap.add_argument("--unsteered", action="store_true",
                    help="also measure, in every round, the isc path with receive steering (RPS) switched off "
                         "on both ends of the container's veth")
    ap.add_argument("--baseline-build", metavar="DIR",
                    help="another build directory (e.g. of an older commit): its isc-net-test is timed too, "
                         "and its rules (host-up) measured in every round against the current ones")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.n = 3, 2, 50
    if os.geteuid() != 0:
        sys.exit("bench/net.py: needs root (it creates network namespaces)")
    if not os.access(DRIVER, os.X_OK):
        sys.exit("bench/net.py: %s missing: build first (ninja -C build)" % DRIVER)

    tag = "isc-bench-net-" + uuid.uuid4().hex[:6]
    host, out, a, b = tag + "-host", tag + "-out", tag + "-a", tag + "-b"
    root = tempfile.mkdtemp(prefix=tag + "-")
    made = []
    result = {"machine": {"cpus": os.cpu_count(), "kernel": os.uname().release}}
    try:
        for ns in (host, out, a, b):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        # the lab's "outside world": a namespace behind the host's uplink
        sh("ip", "-n", host, "link", "add", "uplink0", "type", "veth", "peer", "name", "ext0", "netns", out)
        sh("ip", "-n", host, "addr", "add", "192.0.2.2/24", "dev", "uplink0")
        sh("ip", "-n", out, "addr", "add", "192.0.2.1/24", "dev", "ext0")
        sh("ip", "-n", host, "link", "set", "uplink0", "up")
        sh("ip", "-n", out, "link", "set", "ext0", "up")
        sh("ip", "-n", host, "route", "add", "default", "via", "192.0.2.1")
        hp = "/run/netns/" + host
        sh(DRIVER, "--netns", hp, "host-up", root, "10.213.0.0/16", "uplink0", "22")
        sh(DRIVER, "--netns", hp, "bench", root, "10")  # warm up
        base = os.path.join(args.baseline_build, "tests", "net", "isc-net-test") if args.baseline_build else None
        if base:
            # alternate the two drivers in slices, so that both see the same machine load
            cur, old = [], []
            for _ in range(5):
                cur.append(json.loads(sh(DRIVER, "--netns", hp, "bench", root, str(max(args.n // 5, 1))).stdout))
                old.append(json.loads(sh(base, "--netns", hp, "bench", root, str(max(args.n // 5, 1))).stdout))
            result["container_up_down"] = {
                "n": sum(x["n"] for x in cur),
                **{k: round(statistics.median([x[k] for x in cur]), 3) for k in cur[0] if k != "n"}}
            result["baseline_container_up_down"] = {
                "n": sum(x["n"] for x in old),
                **{k: round(statistics.median([x[k] for x in old]), 3) for k in old[0] if k != "n"}}
        else:
            result["container_up_down"] = json.loads(sh(DRIVER, "--netns", hp, "bench", root, str(args.n)).stdout)
        if not args.no_throughput:
            c = json.loads(sh(DRIVER, "--netns", hp, "up", root, "iperf").stdout)
            # the reference: one plain veth pair between two namespaces
            sh("ip", "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b)
            sh("ip", "-n", a, "addr", "add", "198.51.100.1/24", "dev", "va")
            sh("ip", "-n", b, "addr", "add", "198.51.100.2/24", "dev", "vb")
            sh("ip", "-n", a, "link", "set", "va", "up")
            sh("ip", "-n", b, "link", "set", "vb", "up")
            nat, veth, nat_base, nat_ctl, inbound, unsteered = [], [], [], [], [], []
            # the way in: the container's port 5202 exposed as the host's 5202
            sh(DRIVER, "--netns", hp, "verb", root, "expose", "iperf", "5202:5202/tcp")
            steer = (get_rps(hp, c["host_if"]), get_rps(c["netns"], "eth0"))
            bare = ("add table inet isc\ndelete table inet isc\nadd table bridge isc_l2\n"
                    "delete table bridge isc_l2\ntable inet isc_bench_ctl {\n chain post {\n"
                    "  type nat hook postrouting priority srcnat; policy accept;\n"
                    "  oifname \"uplink0\" ip saddr 10.213.0.0/16 masquerade\n }\n}\n")
            for _ in range(args.rounds):
                if args.control:
                    subprocess.run(["ip", "netns", "exec", host, "nft", "-f", "-"], input=bare, text=True,
                                   check=True)
                    nat_ctl.append(iperf(["ip", "netns", "exec", out], ["nsenter", "--net=" + c["netns"]],
                                         "192.0.2.1", args.seconds))
                    sh("ip", "netns", "exec", host, "nft", "delete", "table", "inet", "isc_bench_ctl")
                    sh(DRIVER, "--netns", hp, "host-up", root, "10.213.0.0/16", "uplink0", "22")
                if base:
                    # the baseline's tables, rebuilt from the same state; then the current ones again
                    sh(base, "--netns", hp, "host-up", root, "10.213.0.0/16", "uplink0", "22")
                    nat_base.append(iperf(["ip", "netns", "exec", out], ["nsenter", "--net=" + c["netns"]],
                                          "192.0.2.1", args.seconds))
                    sh(DRIVER, "--netns", hp, "host-up", root, "10.213.0.0/16", "uplink0", "22")
                if args.unsteered:
                    set_rps(hp, c["host_if"], "0")
                    set_rps(c["netns"], "eth0", "0")
                    unsteered.append(iperf(["ip", "netns", "exec", out], ["nsenter", "--net=" + c["netns"]],
                                           "192.0.2.1", args.seconds))
                    set_rps(hp, c["host_if"], steer[0])
                    set_rps(c["netns"], "eth0", steer[1])
                nat.append(iperf(["ip", "netns", "exec", out], ["nsenter", "--net=" + c["netns"]], "192.0.2.1",
                                 args.seconds))
                inbound.append(iperf(["nsenter", "--net=" + c["netns"]], ["ip", "netns", "exec", out], "192.0.2.2",
                                     args.seconds, bind="0.0.0.0", port=5202))
                veth.append(iperf(["ip", "netns", "exec", a], ["ip", "netns", "exec", b], "198.51.100.1",
                                  args.seconds))
            pairs = sorted(n / v for n, v in zip(nat, veth))
            result["throughput"] = {
                "rounds": args.rounds, "seconds": args.seconds,
                "nat_gbps_median": round(statistics.median(nat), 2),
                "veth_gbps_median": round(statistics.median(veth), 2),
                "nat_vs_veth": round(statistics.median(nat) / statistics.median(veth), 3),
                "pair_ratio_median": round(statistics.median(pairs), 3),
                "pair_ratio_min": round(pairs[0], 3), "pair_ratio_max": round(pairs[-1], 3),
                "nat_runs": [round(x, 2) for x in nat], "veth_runs": [round(x, 2) for x in veth],
                "steering": {"host_side": steer[0], "container_side": steer[1]},
                "inbound": summary(inbound, veth),
            }
            if args.unsteered:
                result["throughput"]["unsteered"] = summary(unsteered, veth)
            if args.control:
                cp = sorted(n / v for n, v in zip(nat_ctl, veth))
                result["throughput"].update({
                    "control_nat_gbps_median": round(statistics.median(nat_ctl), 2),
                    "control_nat_vs_veth": round(statistics.median(nat_ctl) / statistics.median(veth), 3),
                    "control_pair_ratio_median": round(statistics.median(cp), 3),
                    "control_nat_runs": [round(x, 2) for x in nat_ctl]})
            if base:
                bp = sorted(n / v for n, v in zip(nat_base, veth))
                result["throughput"].update({
                    "baseline_nat_gbps_median": round(statistics.median(nat_base), 2),
                    "baseline_nat_vs_veth": round(statistics.median(nat_base) / statistics.median(veth), 3),
                    "baseline_pair_ratio_median": round(statistics.median(bp), 3),
                    "baseline_nat_runs": [round(x, 2) for x in nat_base]})
    finally:
        if host in made:
            subprocess.run([DRIVER, "--netns", "/run/netns/" + host, "host-down", root], capture_output=True)
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return
    u = result["container_up_down"]
    print("container network up:   median %.2f ms  mean %.2f  min %.2f  max %.2f  (n=%d)"
          % (u["up_median_ms"], u["up_ms"], u["up_min_ms"], u["up_max_ms"], u["n"]))
    print("container network down: median %.2f ms  mean %.2f  min %.2f  max %.2f"
          % (u["down_median_ms"], u["down_ms"], u["down_min_ms"], u["down_max_ms"]))
    if "baseline_container_up_down" in result:
        b = result["baseline_container_up_down"]
        print("baseline build:         up median %.2f ms, down median %.2f ms"
              % (b["up_median_ms"], b["down_median_ms"]))
    t = result.get("throughput")
    if t:
        print("TCP via NAT: %.2f Gbit/s, plain veth: %.2f Gbit/s (medians of %d x %d s)"
              % (t["nat_gbps_median"], t["veth_gbps_median"], t["rounds"], t["seconds"]))
        print("NAT / veth: %.3f (ratio of medians); adjacent pairs: median %.3f, range %.3f-%.3f"
              % (t["nat_vs_veth"], t["pair_ratio_median"], t["pair_ratio_min"], t["pair_ratio_max"]))
        i = t["inbound"]
        print("inbound to an exposed port (DNAT): %.2f Gbit/s, / veth %.3f (pairs: median %.3f, range %.3f-%.3f)"
              % (i["gbps_median"], i["vs_veth"], i["pair_ratio_median"], i["pair_ratio_min"], i["pair_ratio_max"]))
        print("receive steering (rps_cpus): host side %s, container side %s"
              % (t["steering"]["host_side"], t["steering"]["container_side"]))
        if "unsteered" in t:
            u2 = t["unsteered"]
            print("without receive steering: NAT %.2f Gbit/s, NAT / veth %.3f (pairs: median %.3f)"
                  % (u2["gbps_median"], u2["vs_veth"], u2["pair_ratio_median"]))
        if "control_nat_vs_veth" in t:
            print("control (bare masquerade, no isc tables): NAT %.2f Gbit/s, NAT / veth %.3f (pairs: median %.3f)"
                  % (t["control_nat_gbps_median"], t["control_nat_vs_veth"], t["control_pair_ratio_median"]))
        if "baseline_nat_vs_veth" in t:
            print("baseline rules: NAT %.2f Gbit/s, NAT / veth %.3f (pairs: median %.3f)"
                  % (t["baseline_nat_gbps_median"], t["baseline_nat_vs_veth"], t["baseline_pair_ratio_median"]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
