# SPDX-License-Identifier: GPL-2.0-or-later
"""The private network through iscd, in a lab: `isc expose|unexpose|allow|
policy` are requests to iscd (which runs in the lab's host namespace and
makes the net.h calls), exposures are part of the service's plan and
survive `isc restart` and a kill -9 + restart of iscd, iscd runs the packet
log (restarted when it dies, stopped with iscd), and bad input changes no
rule.

Traffic only between the lab's namespaces: the outside world (isc lab exec)
reaches the lab host's uplink address 192.0.2.2.  High ports only (ports
below 1024 may not be bindable in a container yet).
"""
import json
import os
import signal

import pytest

from labhost import initialised_lab, pid_alive
from helpers import wait_for

pytestmark = [pytest.mark.isc_only, pytest.mark.pass_sanitizers]

LAB_HOST_ADDR = "192.0.2.2"


@pytest.fixture(scope="module")
def lab():
    with initialised_lab(prefix="hn") as lab:
        yield lab


def curl_outside(lab, port):
    """GET / on the lab host's address from the outside world: the body, or None."""
    r = lab.isc("lab", "exec", "--", "curl", "-s", "-m", "3", "http://%s:%d/" % (LAB_HOST_ADDR, port),
                check=False, timeout=30)
    return r.stdout if r.returncode == 0 else None


def fetch_from(lab, name, addr, port):
    """An HTTP request from the container of NAME to addr:port (busybox nc)."""
    r = lab.isc("exec", name, "sh", "-c",
                "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 %s %d" % (addr, port), check=False, timeout=30)
    return r.stdout if r.returncode == 0 and "200 OK" in r.stdout else None


def nft_table(lab):
    r = lab.in_host(["nft", "list", "table", "inet", "isc"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def inspect(lab, name):
    return json.loads(lab.isc("inspect", name).stdout)[0]


def plan_ports(lab, name):
    return [(p["host_port"], p["port"], p["proto"]) for p in inspect(lab, name)["plan"]["ports"]]


def service_json_ports(lab, name):
    with open(lab.path("containers", name, "service.json")) as f:
        return [(p["host_port"], p["port"], p["proto"]) for p in json.load(f)["plan"]["ports"]]


def address_of(lab, name):
    with open(lab.path("net", "ipam.json")) as f:
        return json.load(f)["containers"][name]["addr"]


def run_httpd(lab, name, port, *extra):
    lab.isc("run", "-d", "--name", name, *extra, "busybox", "httpd", "-f", "-p", str(port), "-h", "/www")
    wait_for(lambda: inspect(lab, name)["status"]["state"] == "running", what="%s running" % name)


def pktlog_children(lab):
    """The packet log processes of the lab's iscd (children named iscd-pktlog)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if comm == "iscd-pktlog" and fields[0] != "Z" and int(fields[1]) == lab.iscd_pid():
            out.append(int(p))
    return out


def iscd_log(lab):
    with open(lab.path("log", "iscd.log")) as f:
        return f.read()


# ---- tests ----------------------------------------------------------------------------------

def test_expose_unexpose_survive_restart_and_iscd_kill9(lab):
    run_httpd(lab, "web", 8080, "--expose", "8080:8080")
    body = wait_for(lambda: curl_outside(lab, 8080), what="web answering on 8080")
    assert "isc busybox rootfs" in body

    # unexpose: closed at once, and gone from the plan
    lab.isc("unexpose", "web", "8080")
    assert curl_outside(lab, 8080) is None
    assert plan_ports(lab, "web") == []
    assert service_json_ports(lab, "web") == []

    # expose again on another host port
    r = lab.isc("expose", "web", "8081:8080")
    assert r.returncode == 0
    assert "isc busybox rootfs" in wait_for(lambda: curl_outside(lab, 8081), what="8081 open")
    assert plan_ports(lab, "web") == [(8081, 8080, "tcp")]
    assert service_json_ports(lab, "web") == [(8081, 8080, "tcp")]

    # a restart rebuilds the container from the plan: 8081 still open
    pid = inspect(lab, "web")["status"]["pid"]
    lab.isc("restart", "-t", "1", "web")  # httpd as pid 1 ignores SIGTERM
    assert inspect(lab, "web")["status"]["pid"] != pid
    assert "isc busybox rootfs" in wait_for(lambda: curl_outside(lab, 8081), what="8081 after restart")
    assert curl_outside(lab, 8080) is None

    # kill -9 of iscd, then `isc init` again (starts iscd, which rebuilds
    # the tables): the exposure is still there, 8080 still closed
    old = lab.iscd_pid()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not pid_alive(old), what="iscd gone")
    lab.init()
    assert lab.iscd_pid() != old
    assert "isc busybox rootfs" in wait_for(lambda: curl_outside(lab, 8081), what="8081 after iscd restart")
    assert curl_outside(lab, 8080) is None
    assert plan_ports(lab, "web") == [(8081, 8080, "tcp")]
    # the re-adopted service can be unexposed: the rule goes at once
    lab.isc("unexpose", "web", "8081/tcp")
    assert curl_outside(lab, 8081) is None
    lab.isc("expose", "web", "8081:8080")
    assert wait_for(lambda: curl_outside(lab, 8081), what="8081 open again")


def test_service_binds_a_low_port_of_its_own(lab):
    """Container root may bind port 80 of its own address (the network
    namespace belongs to the host's user namespace: the sysctl
    ip_unprivileged_port_start=0 there, not a capability, allows it)."""
    run_httpd(lab, "low", 80, "--expose", "8082:80")
    body = wait_for(lambda: curl_outside(lab, 8082), what="low answering on 8082")
    assert "isc busybox rootfs" in body
    lab.isc("rm", "-f", "--purge", "low")


def test_expose_a_stopped_service_applies_at_start(lab):
    run_httpd(lab, "quiet", 8090)
    lab.isc("stop", "-t", "1", "quiet")
    lab.isc("expose", "quiet", "8090:8090")
    assert plan_ports(lab, "quiet") == [(8090, 8090, "tcp")]
    assert curl_outside(lab, 8090) is None
    lab.isc("start", "quiet")
    assert wait_for(lambda: curl_outside(lab, 8090), what="quiet answering after start")
    lab.isc("stop", "-t", "1", "quiet")
    assert curl_outside(lab, 8090) is None
    # a stopped service's port is still its own
    r = lab.isc("expose", "web", "8090:8080", check=False)
    assert (r.returncode, r.stderr) == (1, "isc: expose web: port 8090/tcp is already exposed by service quiet: "
                                        "Address already in use\n")
    lab.isc("rm", "quiet")


def test_allow_between_services_and_packet_log(lab):
    if "web" not in [s["name"] for s in json.loads(lab.isc("ps", "-a", "--format", "json").stdout)]:
        run_httpd(lab, "web", 8080)
    run_httpd(lab, "db", 9090)
    db = address_of(lab, "db")

    # blocked by default, and the drop is in the packet log, named for web
    assert fetch_from(lab, "web", db, 9090) is None

    def drop_logged():
        r = lab.isc("packets", "--container", "web", "--format", "json")
        recs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        return [x for x in recs if x.get("verdict") == "drop" and x.get("dport") == 9090 and x.get("dst") == db]
    assert wait_for(drop_logged, what="the drop web -> db:9090 in the packet log")
    text = lab.isc("packets", "--container", "web").stdout
    assert "web" in text and "%s:9090" % db in text
    # another container's filter shows none of it
    assert "%s:9090" % db not in lab.isc("packets", "--container", "nosuch").stdout

    lab.isc("allow", "web", "db:9090")
    assert "isc busybox rootfs" in wait_for(lambda: fetch_from(lab, "web", db, 9090), what="allowed flow")
    # one direction only, one port only
    web = address_of(lab, "web")
    assert fetch_from(lab, "db", web, 8080) is None

    lab.isc("allow", "--remove", "web", "db:9090")
    assert fetch_from(lab, "web", db, 9090) is None
    r = lab.isc("allow", "--remove", "web", "db:9090", check=False)
    assert (r.returncode, r.stderr) == (1, "isc: allow --remove web db:9090/tcp: no such flow: "
                                        "No such file or directory\n")
    lab.isc("rm", "-f", "db")


def test_policy_through_iscd(lab):
    rules = json.loads(lab.isc("policy", "ls", "--format", "json").stdout)
    assert {r["name"]: r["enabled"] for r in rules} == {"ping": False, "log-accept": False}
    lab.isc("policy", "enable", "ping")
    rules = json.loads(lab.isc("policy", "ls", "--format", "json").stdout)
    assert {r["name"]: r["enabled"] for r in rules}["ping"] is True
    assert "ping" in lab.isc("policy").stdout
    lab.isc("policy", "disable", "ping")
    rules = json.loads(lab.isc("policy", "ls", "--format", "json").stdout)
    assert not any(r["enabled"] for r in rules)


@pytest.mark.parametrize("args,message", [
    (["expose", "nosuch", "9000:80"], "no service named nosuch"),
    (["expose", "other", "8081:8080"], "expose other: port 8081/tcp is already exposed by service web: "
                                       "Address already in use"),
    (["expose", "web", "8081:9999"], "expose web: port 8081/tcp is already exposed to its port 8080 "
                                     "(isc unexpose web 8081/tcp first): Address already in use"),
    (["expose", "web", "22:8080"], "expose web: port 22/tcp is the host's SSH port: Address already in use"),
    (["expose", "web", "0:8080"], '0:8080: bad port "0" (1..65535)'),
    (["expose", "web", "notaport"], "notaport: expected HOSTPORT:PORT[/tcp|udp]"),
    (["unexpose", "web", "9999"], "unexpose web: port 9999/tcp is not exposed to it: No such file or directory"),
    (["unexpose", "nosuch", "8081"], "no service named nosuch"),
    (["allow", "nosuch", "web:8080"], "allow: no service named nosuch"),
    (["allow", "web", "nosuch:8080"], "allow: no service named nosuch"),
    (["allow", "web", "web:8080"], "allow web -> web: a container reaches itself already: Invalid argument"),
    (["policy", "enable", "nosuch"], "policy nosuch: no such rule (isc policy ls): Invalid argument"),
])
def test_bad_input_changes_no_rule(lab, args, message):
    names = [s["name"] for s in json.loads(lab.isc("ps", "-a", "--format", "json").stdout)]
    if "web" not in names:
        run_httpd(lab, "web", 8080, "--expose", "8081:8080")
    if "other" not in names:
        run_httpd(lab, "other", 8082)
    before = nft_table(lab)
    ports_before = {n: service_json_ports(lab, n) for n in ("web", "other")}
    r = lab.isc(*args, check=False)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "isc: %s\n" % message)
    assert nft_table(lab) == before
    assert {n: service_json_ports(lab, n) for n in ("web", "other")} == ports_before


def _raw_request(lab, req):
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(lab.path("iscd.sock"))
        s.send(json.dumps(req).encode())
        return json.loads(s.recv(1 << 20).decode())
    finally:
        s.close()


def test_iscd_checks_requests_itself(lab):
    """iscd validates what the isc verbs check too (another client may
    send anything): nothing changes."""
    before = nft_table(lab)
    for req, message in (({"op": "expose", "name": "web", "port": "0:8080"}, 'bad port "0"'),
                         ({"op": "expose", "name": "web", "port": "8083"}, "HOSTPORT:PORT"),
                         ({"op": "expose", "name": "web"}, "port"),
                         ({"op": "unexpose", "name": "web", "port": "8081:8080"}, "HOSTPORT"),
                         ({"op": "allow", "src": "web", "port": "80"}, "dst"),
                         ({"op": "policy", "action": "frob"}, "unknown action")):
        r = _raw_request(lab, req)
        assert r["ok"] is False and message in r["error"], (req, r)
    assert nft_table(lab) == before


def test_packet_log_restarted_and_stopped_with_iscd(lab):
    kids = wait_for(lambda: pktlog_children(lab), what="the packet log process")
    assert len(kids) == 1
    os.kill(kids[0], signal.SIGKILL)
    new = wait_for(lambda: [p for p in pktlog_children(lab) if p != kids[0]], timeout=15,
                   what="the packet log restarted")
    assert len(new) == 1
    assert "packet log (pid %d) killed by signal 9" % kids[0] in iscd_log(lab)
    # SIGTERM of iscd stops it; the containers keep running
    pid = lab.iscd_pid()
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), what="iscd stopped")
    assert not pid_alive(new[0])
    assert "packet log stopped" in iscd_log(lab)
    lab.init()
    assert wait_for(lambda: pktlog_children(lab), what="the packet log after init")
    # it still logs: a blocked connection from outside to an unexposed port
    assert curl_outside(lab, 8099) is None


def test_net_admin_service_cannot_change_its_address(lab):
    """A service given CAP_NET_ADMIN gets nowhere by changing its address or MAC: its network
    namespace belongs to the host's user namespace, so the capability (held in the service's
    own user namespace) does not count there; and were it to succeed, the port's
    anti-spoofing would drop and log the traffic (test_net.py sends such packets)."""
    lab.isc("run", "-d", "--name", "na", "--cap-add", "CAP_NET_ADMIN", "busybox", "sleep", "1000")
    try:
        wait_for(lambda: inspect(lab, "na")["status"]["state"] == "running", what="na running")
        cap_eff = lab.isc("exec", "na", "sh", "-c", "grep CapEff /proc/self/status").stdout.split()[1]
        assert int(cap_eff, 16) & (1 << 12), "CAP_NET_ADMIN (12) is not in the service's effective set"
        for cmd, why in (("ip addr add 10.213.0.250/16 dev eth0", "RTNETLINK answers"),
                         ("ip link set dev eth0 address 02:15:0a:d5:00:fa", "socket"),
                         ("ip link set dev eth0 down", "SIOCSIFFLAGS"),
                         ("ip route del default", "RTNETLINK answers")):
            r = lab.isc("exec", "na", "sh", "-c", cmd, check=False)
            assert (r.returncode, r.stderr) == (2, "ip: %s: Operation not permitted\n" % why), cmd
        out = lab.isc("exec", "na", "ip", "-o", "addr", "show", "dev", "eth0").stdout
        assert address_of(lab, "na") + "/" in out and "10.213.0.250" not in out
    finally:
        lab.isc("rm", "-f", "na")


def test_port_and_ps_ports_column(lab):
    """isc port prints the exposed ports as podman does, ps's PORTS column the same mappings."""
    run_httpd(lab, "portsvc", 8085, "--expose", "8086:8085", "--expose", "8087:53/udp")
    try:
        r = lab.isc("port", "portsvc", check=False)
        assert (r.returncode, r.stdout, r.stderr) == (0, "8085/tcp -> 0.0.0.0:8086\n53/udp -> 0.0.0.0:8087\n", "")
        row = [l for l in lab.isc("ps").stdout.splitlines() if " portsvc " in l]
        assert len(row) == 1 and row[0].endswith(" 0.0.0.0:8086->8085/tcp, 0.0.0.0:8087->53/udp"), row
        r = lab.isc("port", "nosuch", check=False)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", "isc: no service named nosuch\n")
    finally:
        lab.isc("rm", "-f", "portsvc", check=False)
