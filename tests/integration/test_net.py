# SPDX-License-Identifier: GPL-2.0-or-later
"""The private network (issue 5) with real traffic, entirely in namespaces
that this module creates (and removes, even on failure):

  isc-t-<id>-host   plays the ISC host: uplink0 192.0.2.2/24, the bridge
                    isc0, the isc tables; the libisc calls run here through
                    the test driver build/tests/net/isc-net-test --netns
                    and the isc verbs through nsenter --net
  isc-t-<id>-out    plays the outside world: ext0 192.0.2.1/24
  R/net/ns/NAME     the containers' namespaces (isc_net_container_up)

The root namespace's ruleset, links and ip_forward are compared before and
after the module.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

import helpers
from helpers import REPO
from lines import Lines

# ISC_TEST_BUILD=build-asan runs the driver and isc of the sanitizer build
BUILD = os.path.join(REPO, os.environ.get("ISC_TEST_BUILD", "build"))
DRIVER = os.environ.get("ISC_TEST_NET_DRIVER", os.path.join(BUILD, "tests", "net", "isc-net-test"))
ISC = os.path.join(BUILD, "src", "isc", "isc")
HOST_ADDR = "192.0.2.2"
OUT_ADDR = "192.0.2.1"
SUBNET = "10.213.0.0/16"
GATEWAY = "10.213.0.1"

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
              pytest.mark.pass_sanitizers]

# A tiny TCP server: answers every connection with the peer's address.
PEER_SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
print("ready", flush=True)
while True:
    c, a = s.accept()
    try:
        c.recv(4096)
        body = a[0].encode()
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    finally:
        c.close()
"""

# A raw ARP request with any sender IP (a container with CAP_NET_RAW can do this).
ARP_SENDER = r"""
import socket, struct, sys
ifname, smac, sip, tip = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), \
    socket.inet_aton(sys.argv[3]), socket.inet_aton(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
eth = b'\xff' * 6 + smac + struct.pack('!H', 0x0806)
arp = struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + smac + sip + b'\x00' * 6 + tip
for _ in range(3):
    s.send(eth + arp)
"""


# An echo server: every line back, on long-lived connections.
ECHO_SERVER = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
print("ready", flush=True)
def serve(c):
    with c:
        f = c.makefile("rwb", buffering=0)
        for line in f:
            f.write(line)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
"""

# A client that keeps one connection: one line now, one more when told.
ECHO_CLIENT = r"""
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
c.sendall(b"one\n")
print(c.recv(100).decode().strip(), flush=True)
sys.stdin.readline()
c.settimeout(1.5)
try:
    c.sendall(b"two\n")
    print(c.recv(100).decode().strip() or "closed", flush=True)
except OSError as e:
    print("failed", flush=True)
"""


def run(*args, check=True, timeout=30, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (args, r.returncode, r.stdout, r.stderr))
    return r


def root_snapshot():
    """What must never change in the machine's own namespace."""
    rules = run("nft", "list", "ruleset").stdout
    links = run("ip", "-o", "link", "show").stdout
    # link statistics/flags that move by themselves are not part of the name list
    names = sorted(line.split(":")[1].strip() for line in links.splitlines())
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        fwd = f.read()
    with open("/proc/sys/net/bridge/bridge-nf-call-iptables") as f:
        brnf = f.read()
    return {"ruleset": rules, "links": names, "ip_forward": fwd, "bridge-nf-call-iptables": brnf}


class Net:
    def __init__(self, tag):
        self.id = "isc-t-%s-%s" % (tag, uuid.uuid4().hex[:6])
        self.host = self.id + "-host"
        self.out = self.id + "-out"
        self.host_path = "/run/netns/" + self.host
        self.root = tempfile.mkdtemp(prefix=self.id + "-root-")
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix=self.id + "-tmp-")
        with open(os.path.join(self.tmp, "peer.py"), "w") as f:
            f.write(PEER_SERVER)
        with open(os.path.join(self.tmp, "arp.py"), "w") as f:
            f.write(ARP_SENDER)
        with open(os.path.join(self.tmp, "echo.py"), "w") as f:
            f.write(ECHO_SERVER)
        with open(os.path.join(self.tmp, "client.py"), "w") as f:
            f.write(ECHO_CLIENT)

    # -- topology -----------------------------------------------------------
    def create(self):
        run("ip", "netns", "add", self.host)
        run("ip", "netns", "add", self.out)
        for ns in (self.host, self.out):
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.host, "link", "add", "uplink0", "type", "veth", "peer", "name", "ext0",
            "netns", self.out)
        run("ip", "-n", self.host, "addr", "add", HOST_ADDR + "/24", "dev", "uplink0")
        run("ip", "-n", self.out, "addr", "add", OUT_ADDR + "/24", "dev", "ext0")
        run("ip", "-n", self.host, "link", "set", "uplink0", "up")
        run("ip", "-n", self.out, "link", "set", "ext0", "up")
        run("ip", "-n", self.host, "route", "add", "default", "via", OUT_ADDR)

    def destroy(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if os.path.exists(self.host_path):
            run(DRIVER, "--netns", self.host_path, "host-down", self.root, check=False)
        # whatever host-down left (it should leave nothing): the namespaces
        nsdir = os.path.join(self.root, "net", "ns")
        if os.path.isdir(nsdir):
            for n in os.listdir(nsdir):
                p = os.path.join(nsdir, n)
                subprocess.run(["umount", "-l", p], capture_output=True)
                os.unlink(p)
        for ns in (self.host, self.out):
            run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- calls --------------------------------------------------------------
    def drv(self, *args, check=True):
        return run(DRIVER, "--netns", self.host_path, *args, check=check)

    def isc(self, *args, check=True):
        # isc expose|unexpose|allow|policy are requests to iscd, which checks
        # them against its services; this module runs no iscd (its
        # "containers" are bare isc_net_container_up() names): the driver
        # makes the same libisc calls with the same arguments
        if args and args[0] in ("expose", "unexpose", "allow", "policy"):
            return run(DRIVER, "--netns", self.host_path, "verb", self.root, *args, check=check)
        return run("nsenter", "--net=" + self.host_path, ISC, "--root", self.root, *args, check=check)

    def host_up(self, *extra, subnet=SUBNET, check=True):
        return self.drv("host-up", self.root, subnet, "uplink0", "22", *extra, check=check)

    def up(self, name):
        r = self.drv("up", self.root, name)
        return json.loads(r.stdout)

    def down(self, name, keep=False):
        return self.drv("down", self.root, name, *(["keep"] if keep else []))

    def ns_of(self, name):
        return os.path.join(self.root, "net", "ns", name)

    def in_ctr(self, name, *cmd, check=False, timeout=30):
        return run("nsenter", "--net=" + self.ns_of(name), *cmd, check=check, timeout=timeout)

    def in_out(self, *cmd, check=False, timeout=30):
        return run("ip", "netns", "exec", self.out, *cmd, check=check, timeout=timeout)

    def in_host(self, *cmd, check=False, timeout=30):
        return run("nsenter", "--net=" + self.host_path, *cmd, check=check, timeout=timeout)

    def tables(self):
        return self.drv("list").stdout

    # -- servers ------------------------------------------------------------
    def serve(self, netns_argv, port, script="peer.py"):
        """Start the peer server in a namespace; wait until it listens."""
        p = subprocess.Popen(netns_argv + [sys.executable, os.path.join(self.tmp, script), str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        line = Lines(p.stdout, script).readline(what="its ready line")
        if line.strip() != "ready":
            p.kill()
            p.wait()
            raise AssertionError("%s did not start: %r %s" % (script, line, p.stderr.read()))
        return p

    def serve_ctr(self, name, port):
        return self.serve(["nsenter", "--net=" + self.ns_of(name)], port)

    def serve_host(self, port):
        return self.serve(["nsenter", "--net=" + self.host_path], port)

    def serve_out(self, port):
        return self.serve(["ip", "netns", "exec", self.out], port)

    def packets(self):
        path = os.path.join(self.root, "log", "packets.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_packet(self, pred, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for p in self.packets():
                if pred(p):
                    return p
            time.sleep(0.05)
        raise AssertionError("no such packet log line; have: %s" % self.packets())


def curl(runner, url, timeout=2):
    """(ok, body) of an HTTP GET through `runner` (a namespace)."""
    r = runner("curl", "-s", "-m", str(timeout), url, timeout=timeout + 10)
    return r.returncode == 0, r.stdout


@pytest.fixture(scope="module")
def net():
    for tool in ("nft", "ip", "nsenter", "curl", "busybox"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed" % tool)
    if not os.path.exists(DRIVER) or not os.path.exists(ISC):
        pytest.skip("build first: ninja -C build")
    before = root_snapshot()
    n = Net("net")
    try:
        n.create()
        n.host_up()
        # the packet log reader, as iscd will run it
        p = subprocess.Popen([DRIVER, "--netns", n.host_path, "pktlog", n.root], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        n.procs.append(p)
        n.pktlog = p
        n.web = n.up("web")
        n.app = n.up("app")
        yield n
    finally:
        pk = getattr(n, "pktlog", None)
        pk_rc, pk_err = 0, ""
        if pk is not None and pk.poll() is None:
            pk.send_signal(signal.SIGTERM)  # the reader stops cleanly (and ASan finds no leak)
            pk_rc = pk.wait(timeout=10)
            pk_err = pk.stderr.read()
        n.destroy()
        after = root_snapshot()
        assert after == before, "the root network namespace changed"
        assert pk_rc == 0, pk_err


# ---- outbound, inbound, host ---------------------------------------------------

def test_container_reaches_outside_as_the_host(net):
    net.serve_out(80)
    ok, body = curl(lambda *c, **k: net.in_ctr("web", *c, **k), "http://%s/" % OUT_ADDR)
    assert ok
    assert body == HOST_ADDR  # masqueraded: the outside sees the host's address


def test_container_setup(net):
    assert net.web["addr"] == "10.213.0.2" and net.web["host_if"] == "vc1"
    r = net.in_ctr("web", "ip", "-o", "addr", "show", "dev", "eth0", check=True)
    assert "inet 10.213.0.2/16" in r.stdout
    assert "inet6" not in r.stdout  # IPv6 off in the container
    r = net.in_ctr("web", "ip", "link", "show", "eth0", check=True)
    assert "02:15:0a:d5:00:02" in r.stdout  # the fixed MAC that the anti-spoofing set knows
    r = net.in_ctr("web", "ip", "route", check=True)
    assert "default via %s dev eth0" % GATEWAY in r.stdout
    r = net.in_host("bridge", "-d", "link", "show", "dev", "vc1", check=True)
    assert "isolated on" in r.stdout and "master isc0" in r.stdout
    with open(net.web["hosts"]) as f:
        assert "10.213.0.2\tweb" in f.read()
    with open(net.web["resolv_conf"]) as f:
        for line in f:
            assert not line.startswith("nameserver 127.")
    r = net.in_host("sysctl", "-n", "net.ipv4.ip_forward", check=True)
    assert r.stdout.strip() == "1"


def rps_cpus(nsenter_net, ifname):
    """rps_cpus of IFNAME's first receive queue, read through a sysfs of that namespace"""
    r = run("nsenter", "--net=" + nsenter_net, "unshare", "--mount", "--propagation", "private", "sh", "-c",
            "mount -t sysfs sysfs /sys && cat /sys/class/net/%s/queues/rx-0/rps_cpus" % ifname, check=True)
    return int(r.stdout.strip().replace(",", ""), 16)


def test_container_link_receive_steering(net):
    """Both ends of a container's veth spread their receive work over the CPUs the caller
    (iscd; here the driver) may run on, so the container's own CPU does not also do the host's
    forwarding and NAT (bench/run-net.sh)."""
    cpus = os.sched_getaffinity(0)
    want = sum(1 << c for c in cpus) if len(cpus) > 1 else 0
    assert rps_cpus(net.host_path, net.web["host_if"]) == want
    assert rps_cpus(net.ns_of("web"), "eth0") == want
    # a narrower affinity gives a narrower mask (and one CPU: none at all)
    if len(cpus) > 1:
        one = min(cpus)
        r = run("taskset", "-c", str(one), DRIVER, "--netns", net.host_path, "up", net.root, "pinned", check=True)
        try:
            c = json.loads(r.stdout)
            assert rps_cpus(net.host_path, c["host_if"]) == 0
            assert rps_cpus(net.ns_of("pinned"), "eth0") == 0
        finally:
            net.down("pinned")


def test_exposed_port_answers_unexposed_does_not_unexpose_closes(net):
    net.serve_ctr("app", 8000)
    out = lambda *c, **k: net.in_out(*c, **k)
    ok, _ = curl(out, "http://%s:8080/" % HOST_ADDR)
    assert not ok  # not exposed yet
    net.isc("expose", "app", "8080:8000")
    ok, body = curl(out, "http://%s:8080/" % HOST_ADDR)
    assert ok and body == OUT_ADDR  # DNAT only: the container sees the real client
    ok, _ = curl(out, "http://%s:8081/" % HOST_ADDR)
    assert not ok  # another port is not exposed
    # exposed ports are reachable from other containers through the host address too
    ok, body = curl(lambda *c, **k: net.in_ctr("web", *c, **k), "http://%s:8080/" % HOST_ADDR)
    assert ok and body == GATEWAY  # hairpin: masqueraded to the gateway
    net.isc("unexpose", "app", "8080")
    ok, _ = curl(out, "http://%s:8080/" % HOST_ADDR, timeout=1)
    assert not ok
    st = json.load(open(os.path.join(net.root, "net", "state.json")))
    assert all(e["host_port"] != 8080 for e in st["exposes"])


def test_host_answers_ssh_only_and_logs_the_rest(net):
    net.serve_host(22)
    net.serve_host(23)  # listening, yet dropped by the firewall
    out = lambda *c, **k: net.in_out(*c, **k)
    ok, body = curl(out, "http://%s:22/" % HOST_ADDR)
    assert ok and body == OUT_ADDR
    ok, _ = curl(out, "http://%s:23/" % HOST_ADDR, timeout=1)
    assert not ok
    net.wait_packet(lambda p: p.get("prefix") == "isc-in-drop" and p.get("dport") == 23)
    # a container does not reach the host's services either (not even SSH)
    ok, _ = curl(lambda *c, **k: net.in_ctr("web", *c, **k), "http://%s:22/" % GATEWAY, timeout=1)
    assert not ok
    net.wait_packet(lambda p: p.get("prefix") == "isc-in-drop" and p.get("container") == "web"
                    and p.get("dport") == 22)


def test_policy_ping(net):
    ping = lambda: net.in_out("busybox", "ping", "-c", "1", "-W", "1", HOST_ADDR).returncode == 0
    assert not ping()
    r = net.isc("policy", "ls", "--format", "json")
    assert {p["name"]: p["enabled"] for p in json.loads(r.stdout)} == {"ping": False, "log-accept": False}
    net.isc("policy", "enable", "ping")
    assert ping()
    assert "ping" in net.isc("policy").stdout
    net.isc("policy", "disable", "ping")
    assert not ping()


def test_container_to_container_blocked_until_allow(net):
    net.serve_ctr("app", 9000)
    web = lambda *c, **k: net.in_ctr("web", *c, **k)
    url = "http://10.213.0.3:9000/"
    ok, _ = curl(web, url, timeout=1)
    assert not ok
    net.isc("allow", "web", "app:9000")
    ok, body = curl(web, url)
    assert ok and body == "10.213.0.2"  # routed through the host, not NATed
    net.isc("allow", "web", "app:9000")  # again: no change, no error
    # one flow only: not the other direction, not another port
    net.serve_ctr("web", 9000)
    ok, _ = curl(lambda *c, **k: net.in_ctr("app", *c, **k), "http://10.213.0.2:9000/", timeout=1)
    assert not ok
    net.isc("allow", "--remove", "web", "app:9000")
    ok, _ = curl(web, url, timeout=1)
    assert not ok
    net.wait_packet(lambda p: p.get("prefix") == "isc-fwd-drop" and p.get("dport") == 9000)


def test_spoofed_ip_and_arp_are_dropped_and_logged(net):
    net.serve_out(81)
    # a container (with CAP_NET_ADMIN) gives itself another address
    net.in_ctr("web", "ip", "addr", "add", "10.213.0.99/16", "dev", "eth0", check=True)
    try:
        r = net.in_ctr("web", "curl", "-s", "-m", "1", "--interface", "10.213.0.99", "http://%s:81/" % OUT_ADDR)
        assert r.returncode != 0
    finally:
        net.in_ctr("web", "ip", "addr", "del", "10.213.0.99/16", "dev", "eth0", check=True)
    p = net.wait_packet(lambda p: p.get("prefix") == "isc-spoof-ip" and p.get("src") == "10.213.0.99")
    assert p["container"] == "web" and p["verdict"] == "drop"
    # ARP claiming app's address from web's port
    net.in_ctr("web", sys.executable, os.path.join(net.tmp, "arp.py"), "eth0", "02:15:0a:d5:00:02", "10.213.0.3",
               GATEWAY, check=True)
    p = net.wait_packet(lambda p: p.get("prefix") == "isc-spoof-arp" and p.get("src") == "10.213.0.3")
    assert p["container"] == "web"
    neigh = net.in_host("ip", "neigh", "show", "10.213.0.3", check=True).stdout
    assert "02:15:0a:d5:00:02" not in neigh  # the host's neighbour table stays clean
    # another MAC
    net.in_ctr("web", "ip", "link", "set", "eth0", "address", "02:15:0a:d5:00:63", check=True)
    try:
        r = net.in_ctr("web", "curl", "-s", "-m", "1", "http://%s:81/" % OUT_ADDR)
        assert r.returncode != 0
    finally:
        net.in_ctr("web", "ip", "link", "set", "eth0", "address", "02:15:0a:d5:00:02", check=True)
    net.wait_packet(lambda p: p.get("prefix") == "isc-spoof-mac" and p.get("container") == "web")
    # and the verb shows them, filtered by container
    r = net.isc("packets", "--container", "web", "--format", "json")
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert lines and all(l.get("container") == "web" for l in lines)
    assert {"isc-spoof-ip", "isc-spoof-arp", "isc-spoof-mac"} <= {l.get("prefix") for l in lines}
    r = net.isc("packets", "--container", "web")
    assert "isc-spoof-arp" in r.stdout and "web" in r.stdout
    # the real address still works
    ok, body = curl(lambda *c, **k: net.in_ctr("web", *c, **k), "http://%s:81/" % OUT_ADDR)
    assert ok and body == HOST_ADDR


def test_bad_input_changes_no_rule(net):
    net.isc("expose", "web", "8443:443")
    net.isc("expose", "web", "8443:443")  # the same again: fine, no change
    before = net.tables()
    cases = [
        (("expose", "web", "8443:444"), "already exposed to web"),
        (("expose", "app", "8443:80"), "already exposed"),
        (("expose", "nobody", "8444:80"), "unknown container nobody"),
        (("expose", "web", "22:80"), "SSH"),
        (("expose", "web", "8444"), "HOSTPORT:PORT"),
        (("expose", "web", "8444:80/sctp"), "protocol"),
        (("expose", "web", "99999:80"), "port"),
        (("unexpose", "app", "8443"), "not exposed"),
        (("unexpose", "web", "8443/udp"), "not exposed"),
        (("allow", "web", "nobody:80"), "unknown container nobody"),
        (("allow", "web", "app"), "DST:PORT"),
        (("allow", "--remove", "web", "app:1234"), "no such flow"),
        (("policy", "enable", "pong"), "no such rule"),
    ]
    for args, msg in cases:
        r = net.isc(*args, check=False)
        assert r.returncode != 0, args
        assert msg in r.stderr, (args, r.stderr)
    # an overlapping subnet: the uplink's own
    r = net.host_up(subnet="192.0.2.0/24", check=False)
    assert r.returncode != 0 and "overlaps" in r.stderr
    r = net.host_up(subnet="10.213.0.1/16", check=False)
    assert r.returncode != 0 and "host bits" in r.stderr
    assert net.tables() == before
    net.isc("unexpose", "web", "8443")


def test_down_removes_everything_and_addresses_survive(net):
    c = net.up("tmp1")
    ifname = c["host_if"]
    assert ifname in net.tables()
    # down with keep_addr (a restart): the same address, the same port name
    net.down("tmp1", keep=True)
    assert not os.path.exists(c["netns"])
    c2 = net.up("tmp1")
    assert c2["addr"] == c["addr"] and c2["host_if"] == ifname
    net.isc("expose", "tmp1", "9443:443")
    net.isc("allow", "tmp1", "app:5432")
    net.down("tmp1")
    assert not os.path.exists(c["netns"])
    assert not os.path.exists(c["hosts"]) and not os.path.exists(c["resolv_conf"])
    tables = net.tables()
    assert ifname not in tables and c["addr"] not in tables and "9443" not in tables
    ipam = json.load(open(os.path.join(net.root, "net", "ipam.json")))
    assert "tmp1" not in ipam["containers"]
    st = json.load(open(os.path.join(net.root, "net", "state.json")))
    assert st["exposes"] == [] and all("tmp1" not in (a["src"], a["dst"]) for a in st["allows"])
    # the veth went with the namespace (asynchronously in the kernel: a busy
    # machine's namespace cleanup can take seconds)
    end = time.monotonic() + 30
    while time.monotonic() < end and net.in_host("ip", "link", "show", ifname).returncode == 0:
        time.sleep(0.05)
    assert net.in_host("ip", "link", "show", ifname).returncode != 0
    r = net.drv("down", net.root, "tmp1", check=False)
    assert r.returncode != 0 and "unknown container" in r.stderr


def test_host_up_again_rebuilds_the_same_tables(net):
    net.isc("expose", "web", "7070:7070/udp")
    net.isc("allow", "app", "web:7070/udp")
    before = net.tables()
    assert "udp . 7070 : 10.213.0.2 . 7070" in before and "10.213.0.3 . 10.213.0.2 . 7070" in before
    net.host_up()  # e.g. iscd restarted: everything comes back from R/net
    assert net.tables() == before
    net.isc("allow", "--remove", "app", "web:7070/udp")
    net.isc("unexpose", "web", "7070/udp")


def test_packets_follow(net):
    p = subprocess.Popen(["nsenter", "--net=" + net.host_path, ISC, "--root", net.root, "packets", "--follow",
                          "--format", "json", "--container", "app"], stdout=subprocess.PIPE, text=True)
    try:
        # (it reads the log from its start: nothing logged before it runs is missed)
        net.in_ctr("app", "curl", "-s", "-m", "1", "http://%s:4444/" % GATEWAY)
        out = Lines(p.stdout, "isc packets --follow")
        line = json.loads(out.until(lambda l: json.loads(l).get("dport") == 4444, what="the drop to port 4444"))
        assert line["container"] == "app" and line["prefix"] == "isc-in-drop"
    finally:
        p.terminate()
        p.wait(timeout=5)


def established_is_cut(net, client_argv, addr, port, close):
    """A connection that works, then `close()`, then the same connection fails."""
    c = subprocess.Popen(client_argv + [sys.executable, os.path.join(net.tmp, "client.py"), addr, str(port)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = Lines(c.stdout, "the echo client")
        first = out.readline(what="the first echo")
        if first.strip() != "one":
            c.kill()
            raise AssertionError("no first echo: %r %s" % (first, c.stderr.read()))
        close()
        c.stdin.write("go\n")
        c.stdin.flush()
        return out.readline(what="the second echo (or the client's failure)").strip()
    finally:
        c.kill()
        c.wait()


def test_unexpose_and_allow_remove_cut_established_connections(net):
    net.serve(["nsenter", "--net=" + net.ns_of("app")], 7000, script="echo.py")
    out = ["ip", "netns", "exec", net.out]
    # control: without closing, the second line comes back
    net.isc("expose", "app", "7000:7000")
    assert established_is_cut(net, out, HOST_ADDR, 7000, lambda: None) == "two"
    got = established_is_cut(net, out, HOST_ADDR, 7000, lambda: net.isc("unexpose", "app", "7000"))
    assert got == "failed"
    net.wait_packet(lambda p: p.get("prefix") == "isc-fwd-closed" and p.get("container") == "app")
    web = ["nsenter", "--net=" + net.ns_of("web")]
    net.isc("allow", "web", "app:7000")
    assert established_is_cut(net, web, "10.213.0.3", 7000, lambda: None) == "two"
    got = established_is_cut(net, web, "10.213.0.3", 7000,
                             lambda: net.isc("allow", "--remove", "web", "app:7000"))
    assert got == "failed"


def conntrack_marks(net, dport):
    """The conntrack marks of the host's TCP entries to dport (original direction)."""
    r = net.in_host("conntrack", "-L", "-p", "tcp", "--dport", str(dport), check=True)
    return [int(w.split("=")[1]) for line in r.stdout.splitlines() for w in line.split() if w.startswith("mark=")]


def test_closing_sets_only_its_mark_bit_and_a_removed_container_closes_its_connections(net):
    if shutil.which("conntrack") is None:
        pytest.skip("conntrack is not installed")
    closed = 0x400000  # ISC_FW_CT_CLOSED
    net.up("ct1")
    net.serve(["nsenter", "--net=" + net.ns_of("ct1")], 7100, script="echo.py")
    out = ["ip", "netns", "exec", net.out]
    net.isc("expose", "ct1", "7100:7100")
    net.isc("expose", "ct1", "7101:7100")

    def connect(port):
        c = subprocess.Popen(out + [sys.executable, os.path.join(net.tmp, "client.py"), HOST_ADDR, str(port)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = Lines(c.stdout, "the echo client").readline(what="the first echo")
        if first.strip() != "one":
            c.kill()
            c.wait()
            raise AssertionError("no first echo: %r %s" % (first, c.stderr.read()))
        return c

    # somebody else's bit of the mark, on the first connection: another table's rule sets it
    other = ("table inet isc_test_other {\n chain pre {\n  type filter hook prerouting priority -150;\n"
             "  tcp dport 7100 ct mark set ct mark | 1\n }\n}\n")
    run("nsenter", "--net=" + net.host_path, "nft", "-f", "-", input=other)
    try:
        c1 = connect(7100)
    finally:
        net.in_host("nft", "delete", "table", "inet", "isc_test_other", check=True)
    c2 = connect(7101)
    try:
        assert conntrack_marks(net, 7100) == [1]
        net.isc("unexpose", "ct1", "7100")
        assert conntrack_marks(net, 7100) == [closed | 1]  # ours added, theirs kept
        assert conntrack_marks(net, 7101) == [0]  # the other port's connection is not touched
        # a container that goes away takes the live connections of its ports with it
        net.down("ct1")
        assert conntrack_marks(net, 7101) == [closed]
    finally:
        for c in (c1, c2):
            c.kill()
            c.wait()
        if os.path.exists(net.ns_of("ct1")):
            net.down("ct1")


def test_packet_log_reader_is_alive(net):
    assert net.pktlog.poll() is None, net.pktlog.stderr.read() if net.pktlog.poll() is not None else ""


# ---- the packet log's overrun accounting --------------------------------------------

@pytest.fixture
def bare():
    n = Net("cc")
    try:
        n.create()
        yield n
    finally:
        n.destroy()


FLOOD = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(b"x", (sys.argv[1], int(sys.argv[3])))
"""

# the log rule's burst (ISC_FW_LOG_RATE: 100 packets), about 15 kB of NFLOG
# messages: several of the kernel's batches, where the smallest receive
# buffer holds one
BURST = 100


def _proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _nflog_socket(pid):
    """(Rmem, Drops) of the netfilter netlink socket of `pid`, as its own
    network namespace's /proc/net/netlink shows them: the bytes queued to
    it, and the messages the kernel could not queue (ENOBUFS)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    with open("/proc/%d/net/netlink" % pid) as f:
        head = f.readline().split()
        rows = [dict(zip(head, line.split())) for line in f]
    mine = [r for r in rows if r["Eth"] == "12" and r["Inode"] in inodes]  # 12: NETLINK_NETFILTER
    assert len(mine) == 1, (inodes, rows)
    return int(mine[0]["Rmem"]), int(mine[0]["Drops"])


def test_packet_log_counts_socket_overruns(bare):
    """Messages the kernel could not queue to a reader that fell behind (ENOBUFS) are
    counted in a "lost" line, not silently missing; what was queued is still read."""
    bare.host_up()
    # the reader with the smallest receive buffer the kernel allows
    p = subprocess.Popen([DRIVER, "--netns", bare.host_path, "pktlog", bare.root, "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    bare.procs.append(p)
    flood = os.path.join(bare.tmp, "flood.py")
    with open(flood, "w") as f:
        f.write(FLOOD)
    # it reads: a dropped datagram to the host's closed port is logged.  The
    # reader binds its NFLOG group some time after it started (the kernel
    # logs to no one before): one more datagram, to the next port, until the
    # last one sent is logged; then none waits in the kernel's batch
    sent = []

    def control_logged():
        if not sent or time.monotonic() >= sent[-1][1] + 0.5:
            port = 9000 + len(sent)
            bare.in_out(sys.executable, flood, HOST_ADDR, "1", str(port), check=True)
            sent.append((port, time.monotonic()))
        return [l for l in bare.packets() if l.get("prefix") == "isc-in-drop" and l.get("dport") == sent[-1][0]]
    helpers.wait_for(control_logged, timeout=60, what="the reader logging a dropped datagram")
    assert not [l for l in bare.packets() if l.get("event") == "lost"]
    assert _nflog_socket(p.pid)[1] == 0
    # it falls behind: stopped before the burst, so it reads nothing of it
    # until the kernel has refused some (the socket's drop count moves)
    os.kill(p.pid, signal.SIGSTOP)
    try:
        helpers.wait_for(lambda: _proc_state(p.pid) == "T", what="the reader stopped")
        bare.in_out(sys.executable, flood, HOST_ADDR, str(BURST), "9999", check=True)
        helpers.wait_for(lambda: _nflog_socket(p.pid)[1] > 0, timeout=30,
                         what="the kernel refusing NFLOG messages to the stopped reader")
        rmem, drops = _nflog_socket(p.pid)
        assert rmem > 0  # what did fit is queued
    finally:
        os.kill(p.pid, signal.SIGCONT)
    lost = bare.wait_packet(lambda l: l.get("event") == "lost", timeout=30)
    assert lost["count"] >= 1 and lost["reason"] == "socket overrun", lost
    # it read what was queued: once its socket is empty (the kernel queues
    # again), a marker datagram's line comes after every line of the burst
    helpers.wait_for(lambda: _nflog_socket(p.pid)[0] == 0, timeout=30, what="the reader emptying its socket")
    bare.in_out(sys.executable, flood, HOST_ADDR, "1", "9998", check=True)
    bare.wait_packet(lambda l: l.get("dport") == 9998, timeout=30)
    lines = bare.packets()
    burst = [l for l in lines if l.get("prefix") == "isc-in-drop" and l.get("dport") == 9999]
    assert 1 <= len(burst) < BURST, len(burst)  # some of the burst was read, some lost
    # the kernel reports one overrun (ENOBUFS) until the reader empties its socket again
    assert [l for l in lines if l.get("event") == "lost"] == [lost]
    assert not [l for l in lines if l.get("event") == "suppressed"]
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 0, p.stderr.read()


# ---- commit-confirmed --------------------------------------------------------------

CONFIRM = 2  # seconds: the confirm timeout of the changes below


def _start_time(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def test_commit_confirmed_rolls_back_unless_confirmed(bare):
    """A change with a confirm timeout is rolled back to the last confirmed
    isc tables unless confirmed in time.  While the test looks at a pending
    change, its watcher (the process that rolls back) is stopped: what the
    test sees does not depend on how fast the machine is; continued, it
    rolls back once its timeout has passed."""
    net_dir = os.path.join(bare.root, "net")
    held = []

    def tables_settled():
        """The isc tables; None while a rollback replaces them (a listing
        can meet a table that went away since it was named)."""
        r = bare.drv("list", check=False)
        return r.stdout if r.returncode == 0 else None

    def hold():
        """Stop the pending change's watcher, still waiting (confirm.pending is there)."""
        with open(os.path.join(net_dir, "confirm.pending")) as f:
            pid, start, timeout = (int(x) for x in f.read().split())
        assert timeout == CONFIRM
        try:
            assert _start_time(pid) == start
            os.kill(pid, signal.SIGSTOP)
        except (OSError, AssertionError):
            raise AssertionError("the watcher (pid %d) ended before the test could look: the machine took more "
                                 "than the %d s window between the watcher's start and host-up's return" %
                                 (pid, CONFIRM))
        held.append((pid, start))
        helpers.wait_for(lambda: _proc_state(pid) == "T", what="the watcher stopped")
        assert os.path.exists(os.path.join(net_dir, "confirm.pending")), "rolled back before the test looked"
        return pid

    try:
        # unconfirmed: after the timeout the previous state (no isc tables) is back
        bare.host_up(str(CONFIRM))
        w = hold()
        assert "table inet isc" in bare.tables()
        os.kill(w, signal.SIGCONT)
        helpers.wait_for(lambda: tables_settled() == "", timeout=CONFIRM + 30, what="the rollback to no isc tables")
        r = bare.drv("confirm", bare.root, check=False)
        assert r.returncode != 0 and "too late" in r.stderr
        # an unconfirmed change over an existing ruleset restores that ruleset
        bare.host_up()
        bare.up("c1")
        bare.isc("expose", "c1", "8080:80")
        good = bare.tables()
        bare.drv("host-up", bare.root, SUBNET, "uplink0", "2222", str(CONFIRM))  # another SSH port
        w = hold()
        assert bare.tables() != good and "dport 2222" in bare.tables()
        os.kill(w, signal.SIGCONT)
        helpers.wait_for(lambda: tables_settled() == good, timeout=CONFIRM + 30, what="the rollback to the ruleset before")
        # confirmed in time: it stays, and the watcher is gone at once
        bare.host_up(str(CONFIRM))
        window_end = time.monotonic() + CONFIRM
        w = hold()
        bare.drv("confirm", bare.root)
        new = bare.tables()
        helpers.wait_for(lambda: not helpers.pid_alive(w), what="the watcher killed by confirm")
        assert not os.path.exists(os.path.join(net_dir, "confirm.pending"))
        # what is checked here is that nothing changes once the window is over
        time.sleep(max(0.0, window_end - time.monotonic()) + 0.5)
        assert bare.tables() == new
        assert not os.path.exists(os.path.join(net_dir, "confirm.expired"))
        r = bare.drv("confirm", bare.root, check=False)
        assert r.returncode != 0 and "no ruleset waits" in r.stderr
        # a second unconfirmed change on top of an unconfirmed one rolls back to the last confirmed
        bare.drv("host-up", bare.root, SUBNET, "uplink0", "2222", str(CONFIRM))
        w1 = hold()
        bare.drv("host-up", bare.root, SUBNET, "uplink0", "2223", str(CONFIRM))
        # the second change ended the first one's watcher
        helpers.wait_for(lambda: not helpers.pid_alive(w1), what="the first watcher killed by the second change")
        w2 = hold()
        assert w2 != w1 and "dport 2223" in bare.tables()
        os.kill(w2, signal.SIGCONT)
        helpers.wait_for(lambda: tables_settled() == new, timeout=CONFIRM + 30,
                         what="the rollback to the last confirmed ruleset")
    finally:
        # a watcher stopped here and still there (a failed check) is ended
        for pid, start in held:
            try:
                if _start_time(pid) == start:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_host_down_leaves_nothing(bare):
    fwd = bare.in_host("sysctl", "-n", "net.ipv4.ip_forward", check=True).stdout
    bare.host_up()
    c1 = bare.up("c1")
    bare.up("c2")
    bare.isc("expose", "c1", "8080:80")
    bare.isc("allow", "c1", "c2:5432")
    assert bare.in_host("sysctl", "-n", "net.ipv4.ip_forward", check=True).stdout.strip() == "1"
    bare.drv("host-down", bare.root)
    assert bare.tables() == ""
    links = bare.in_host("ip", "-o", "link", "show", check=True).stdout
    end = time.monotonic() + 30
    while time.monotonic() < end and " vc" in links:  # the veths die with their namespaces
        time.sleep(0.05)
        links = bare.in_host("ip", "-o", "link", "show", check=True).stdout
    assert "isc0" not in links and " vc" not in links
    assert os.listdir(os.path.join(bare.root, "net", "ns")) == []
    assert not os.path.exists(c1["hosts"])
    assert bare.in_host("sysctl", "-n", "net.ipv4.ip_forward", check=True).stdout == fwd
    # the other tables of the namespace were never touched
    bare.in_host("nft", "add", "table", "inet", "other", check=True)
    bare.host_up()
    bare.drv("host-down", bare.root)
    assert "table inet other" in bare.in_host("nft", "list", "tables", check=True).stdout
