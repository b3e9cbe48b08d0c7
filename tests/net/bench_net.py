#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Costs of the private network, in namespaces this script creates (and
removes): isc_net_container_up/down through the test driver, and TCP
throughput (iperf3) container -> outside through the isc bridge, the
firewall and the masquerade, against a plain veth pair between two
namespaces.  Prints one JSON object.

  sudo /usr/bin/python3 tests/net/bench_net.py [N] [SECONDS] [ROUNDS]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(REPO, os.environ.get("ISC_TEST_BUILD", "build"), "tests", "net", "isc-net-test")


def sh(*a, **kw):
    return subprocess.run(list(a), check=True, capture_output=True, text=True, **kw)


def iperf(server_ns_argv, client_ns_argv, addr, seconds):
    srv = subprocess.Popen(server_ns_argv + ["iperf3", "-s", "-1", "-B", addr], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            time.sleep(0.05)
            r = subprocess.run(client_ns_argv + ["iperf3", "-c", addr, "-t", str(seconds), "-J"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
        raise RuntimeError("iperf3 failed: " + r.stderr)
    finally:
        srv.kill()
        srv.wait()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    tag = "isc-t-bench-" + uuid.uuid4().hex[:6]
    host, out, a, b = tag + "-host", tag + "-out", tag + "-a", tag + "-b"
    root = tempfile.mkdtemp(prefix=tag + "-")
    made = []
    result = {}
    try:
        for ns in (host, out, a, b):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", host, "link", "add", "uplink0", "type", "veth", "peer", "name", "ext0", "netns", out)
        sh("ip", "-n", host, "addr", "add", "192.0.2.2/24", "dev", "uplink0")
        sh("ip", "-n", out, "addr", "add", "192.0.2.1/24", "dev", "ext0")
        sh("ip", "-n", host, "link", "set", "uplink0", "up")
        sh("ip", "-n", out, "link", "set", "ext0", "up")
        sh("ip", "-n", host, "route", "add", "default", "via", "192.0.2.1")
        hp = "/run/netns/" + host
        sh(DRIVER, "--netns", hp, "host-up", root, "10.213.0.0/16", "uplink0", "22")
        # warm up, then measure
        sh(DRIVER, "--netns", hp, "bench", root, "5")
        result["container_up_down"] = json.loads(sh(DRIVER, "--netns", hp, "bench", root, str(n)).stdout)
        c = json.loads(sh(DRIVER, "--netns", hp, "up", root, "iperf").stdout)
        # the reference: one plain veth pair
        sh("ip", "-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b)
        sh("ip", "-n", a, "addr", "add", "198.51.100.1/24", "dev", "va")
        sh("ip", "-n", b, "addr", "add", "198.51.100.2/24", "dev", "vb")
        sh("ip", "-n", a, "link", "set", "va", "up")
        sh("ip", "-n", b, "link", "set", "vb", "up")
        # alternate the two, median of each: the machine is shared and noisy
        nat, veth = [], []
        for _ in range(rounds):
            nat.append(iperf(["ip", "netns", "exec", out], ["nsenter", "--net=" + c["netns"]], "192.0.2.1", secs))
            veth.append(iperf(["ip", "netns", "exec", a], ["ip", "netns", "exec", b], "198.51.100.1", secs))
        result["nat_gbps"] = sorted(nat)[len(nat) // 2]
        result["veth_gbps"] = sorted(veth)[len(veth) // 2]
        result["nat_runs"] = [round(x, 2) for x in nat]
        result["veth_runs"] = [round(x, 2) for x in veth]
        result["nat_vs_veth"] = round(result["nat_gbps"] / result["veth_gbps"], 3)
    finally:
        if host in made:
            subprocess.run([DRIVER, "--netns", "/run/netns/" + host, "host-down", root], capture_output=True)
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
