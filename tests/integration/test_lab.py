# SPDX-License-Identifier: GPL-2.0-or-later
"""Labs: `isc --lab NAME lab create|rm|ls|info|exec` (src/lib/host/lab.h).

Each test works in a lab of its own, with a unique name, removed at
teardown even when the test fails.  Checked: the two namespaces at
/run/netns/isc-NAME-{host,out}, the uplink's addresses, link states and
default route, traffic between the host and the outside world, exec's
stdio, exit status, signal forwarding and namespace, idempotent creation
and completion of a partial lab, bad names and missing labs refused with
nothing created, `rm` refused on an initialised lab, and the machine's own
network namespace left exactly as it was.
"""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

import helpers

from helpers import REPO
from lines import Lines

ISC = os.path.abspath(os.environ.get("ISC_TEST_ISC", os.path.join(helpers.BUILD, "src", "isc", "isc")))
NETNS_DIR = "/run/netns"
LABS_ROOT = "/var/lib/isc/labs"
NSFS_MAGIC = 0x6E736673


def env_without_lab():
    env = dict(os.environ)
    env.pop("ISC_LAB", None)
    return env


def isc(*args, lab=None, check=True, input=None, timeout=60):
    argv = [ISC] + (["--lab", lab] if lab else []) + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                       env=env_without_lab())
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r


def ip_json(ns, *args):
    r = subprocess.run(["ip", "-n", ns, "-j"] + list(args), capture_output=True, text=True,
                       timeout=30, check=True)
    return json.loads(r.stdout or "[]")


def root_links():
    """(ifindex, name, kind of link) of every link in the caller's namespace."""
    r = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, timeout=30, check=True)
    return sorted((l["ifindex"], l["ifname"], l.get("link_type")) for l in json.loads(r.stdout))


def ns_paths(name):
    return ("%s/isc-%s-host" % (NETNS_DIR, name), "%s/isc-%s-out" % (NETNS_DIR, name))


def is_netns(path):
    """path is a namespace file (nsfs); os.statvfs has no f_type: ask stat(1)."""
    r = subprocess.run(["stat", "-f", "-c", "%t", path], capture_output=True, text=True, timeout=10)
    return r.returncode == 0 and int(r.stdout.strip(), 16) == NSFS_MAGIC


def force_remove(name):
    """Remove a lab's namespace files whatever state the test left them in."""
    for p in ns_paths(name):
        subprocess.run(["umount", "-l", p], capture_output=True, timeout=30)
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def new_name():
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def lab():
    name = new_name()
    before = root_links()
    isc("lab", "create", lab=name)
    try:
        yield name
    finally:
        r = isc("lab", "rm", lab=name, check=False)
        force_remove(name)
        assert r.returncode == 0, r.stderr
        assert root_links() == before, "the machine's own links changed"


@pytest.fixture
def spare_name():
    """A lab name for a test that creates (or fails to create) it itself."""
    name = new_name()
    try:
        yield name
    finally:
        force_remove(name)


# ---- creation --------------------------------------------------------------

def test_namespaces_exist(lab):
    host, out = ns_paths(lab)
    assert is_netns(host) and is_netns(out)
    assert os.stat(host).st_ino != os.stat(out).st_ino
    own = os.stat("/proc/self/ns/net").st_ino
    assert own not in (os.stat(host).st_ino, os.stat(out).st_ino)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
    assert "isc-%s-host" % lab in listed and "isc-%s-out" % lab in listed


def addrs(ns, dev):
    (link,) = ip_json(ns, "addr", "show", "dev", dev)
    return link, ["%s/%d" % (a["local"], a["prefixlen"]) for a in link["addr_info"] if a["family"] == "inet"]


def test_uplink_addresses_and_route(lab):
    host, out = "isc-%s-host" % lab, "isc-%s-out" % lab
    link, a = addrs(host, "uplink0")
    assert a == ["192.0.2.2/24"]
    assert "UP" in link["flags"] and link["operstate"] == "UP"
    link, a = addrs(out, "ext0")
    assert a == ["192.0.2.1/24"]
    assert "UP" in link["flags"] and link["operstate"] == "UP"
    # both ends are one veth pair, the peer created in the outside namespace
    (d,) = ip_json(out, "-d", "link", "show", "dev", "ext0")
    assert d["linkinfo"]["info_kind"] == "veth"
    for ns in (host, out):
        lo, a = addrs(ns, "lo")
        assert "UP" in lo["flags"] and a == ["127.0.0.1/8"]
        # nothing else in the lab's namespaces
        assert sorted(l["ifname"] for l in ip_json(ns, "link")) == sorted(["lo", "uplink0" if ns == host else "ext0"])
    routes = ip_json(host, "route", "show", "default")
    assert [(r["gateway"], r["dev"]) for r in routes] == [("192.0.2.1", "uplink0")]
    assert ip_json(out, "route", "show", "default") == []


def test_outside_reaches_host(lab):
    r = isc("lab", "exec", "--", "busybox", "ping", "-c1", "-W2", "192.0.2.2", lab=lab, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 packets received" in r.stdout
    # an address nobody has: ping fails, and exec passes the failure on
    r = isc("lab", "exec", "--", "busybox", "ping", "-c1", "-W1", "192.0.2.77", lab=lab, check=False)
    assert r.returncode == 1 and "1 packets transmitted, 0 packets received" in r.stdout, r.stdout + r.stderr
    # and the host reaches the outside world through its default route
    r = subprocess.run(["ip", "netns", "exec", "isc-%s-host" % lab, "busybox", "ping", "-c1", "-W2",
                        "192.0.2.1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


def test_create_is_idempotent(lab):
    host = "isc-%s-host" % lab
    before = ip_json(host, "link", "show", "dev", "uplink0")[0]
    ino = [os.stat(p).st_ino for p in ns_paths(lab)]
    isc("lab", "create", lab=lab)
    after = ip_json(host, "link", "show", "dev", "uplink0")[0]
    assert (before["ifindex"], before["address"]) == (after["ifindex"], after["address"])
    assert [os.stat(p).st_ino for p in ns_paths(lab)] == ino
    assert addrs(host, "uplink0")[1] == ["192.0.2.2/24"]
    assert len(ip_json(host, "route", "show", "default")) == 1


def test_partial_lab_is_completed(lab):
    host = "isc-%s-host" % lab
    # the outside world vanishes (and the uplink's pair with it)
    subprocess.run(["ip", "netns", "delete", "isc-%s-out" % lab], check=True, timeout=30)
    assert not os.path.exists(ns_paths(lab)[1])
    # (the kernel dismantles the old namespace asynchronously: uplink0 may
    # still be there for a moment, its peer in a dying namespace)
    # and the host's lo goes down
    subprocess.run(["ip", "-n", host, "link", "set", "lo", "down"], check=True, timeout=30)
    isc("lab", "create", lab=lab)
    assert addrs(host, "uplink0")[1] == ["192.0.2.2/24"]
    assert "UP" in addrs(host, "lo")[0]["flags"]
    assert addrs("isc-%s-out" % lab, "ext0")[1] == ["192.0.2.1/24"]
    r = isc("lab", "exec", "--", "busybox", "ping", "-c1", "-W2", "192.0.2.2", lab=lab, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_failed_create_leaves_nothing(spare_name):
    host, out = ns_paths(spare_name)
    os.makedirs(NETNS_DIR, exist_ok=True)
    with open(out, "w") as f:
        f.write("not a namespace\n")
    try:
        r = isc("lab", "create", lab=spare_name, check=False)
        assert (r.returncode, r.stderr) == (1, "isc: create lab %s: %s exists and is not a network namespace: "
                                            "File exists\n" % (spare_name, out))
        assert not os.path.exists(host), "the host namespace of a failed lab was left behind"
        with open(out) as f:
            assert f.read() == "not a namespace\n"
    finally:
        os.unlink(out)


def test_root_namespace_unchanged(spare_name):
    before = root_links()
    own = os.stat("/proc/self/ns/net").st_ino
    isc("lab", "create", lab=spare_name)
    assert root_links() == before
    assert all(n not in ("uplink0", "ext0") for _, n, _ in before)
    isc("lab", "rm", lab=spare_name)
    assert root_links() == before
    assert os.stat("/proc/self/ns/net").st_ino == own


# ---- rm --------------------------------------------------------------------

def test_rm_removes_namespaces(spare_name):
    isc("lab", "create", lab=spare_name)
    assert all(is_netns(p) for p in ns_paths(spare_name))
    isc("lab", "rm", lab=spare_name)
    assert not any(os.path.exists(p) for p in ns_paths(spare_name))
    r = isc("lab", "rm", lab=spare_name, check=False)
    assert (r.returncode, r.stderr) == (1, "isc: lab %s does not exist (no /run/netns/isc-%s-host or -out): "
                                        "No such file or directory\n" % (spare_name, spare_name))


def test_rm_refuses_initialised_lab(lab):
    root = os.path.join(LABS_ROOT, lab)
    os.makedirs(root)
    try:
        with open(os.path.join(root, "host.json"), "w") as f:
            f.write("{}\n")
        r = isc("lab", "rm", lab=lab, check=False)
        assert (r.returncode, r.stderr) == (1, "isc lab rm: lab %s is an ISC host (%s/host.json exists): "
                                            "isc --lab %s deinit removes it\n" % (lab, root, lab))
        assert all(is_netns(p) for p in ns_paths(lab))
        # ls shows it initialised
        (entry,) = [e for e in json.loads(isc("lab", "ls", "--format", "json").stdout) if e["name"] == lab]
        assert entry["initialised"] is True
    finally:
        os.unlink(os.path.join(root, "host.json"))
        os.rmdir(root)


# ---- ls and info -------------------------------------------------------------

def test_ls(lab):
    r = isc("lab", "ls")
    (line,) = [l for l in r.stdout.splitlines() if l.split()[:1] == [lab]]
    assert line.split()[1:] == ["yes", "no", os.path.join(LABS_ROOT, lab)]
    entries = json.loads(isc("lab", "ls", "--format", "json").stdout)
    (entry,) = [e for e in entries if e["name"] == lab]
    assert entry == {"name": lab, "root": os.path.join(LABS_ROOT, lab), "namespaces": True,
                     "initialised": False}
    # --lab does not restrict the list, and a removed lab disappears
    assert lab in isc("lab", "ls", lab=lab).stdout
    isc("lab", "rm", lab=lab)
    assert lab not in isc("lab", "ls").stdout
    isc("lab", "create", lab=lab)


def test_info(lab):
    info = json.loads(isc("lab", "info", "--format", "json", lab=lab).stdout)
    assert info["host"] == "192.0.2.2" and info["outside"] == "192.0.2.1"
    assert info["name"] == lab and info["uplink"] == "uplink0"
    assert (info["host_netns"], info["outside_netns"]) == ns_paths(lab)
    assert info["root"] == os.path.join(LABS_ROOT, lab)
    text = isc("lab", "info", lab=lab).stdout
    assert "192.0.2.2/24" in text and "192.0.2.1/24" in text
    # ISC_LAB works as --lab does
    env = env_without_lab()
    env["ISC_LAB"] = lab
    r = subprocess.run([ISC, "lab", "info", "--format=json"], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0 and json.loads(r.stdout)["name"] == lab
    r = isc("lab", "info", "--format", "yaml", lab=lab, check=False)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", 'isc lab info: --format: unknown format "yaml" '
                                                  "(table or json)\n")


def test_info_and_exec_need_an_existing_lab(spare_name):
    for args in (["lab", "info"], ["lab", "exec", "--", "true"]):
        r = isc(*args, lab=spare_name, check=False)
        assert (r.returncode, r.stderr) == (1, "isc lab %s: lab %s does not exist (isc --lab %s init creates it)\n"
                                            % (args[1], spare_name, spare_name))
        r = isc(*args, check=False)
        assert (r.returncode, r.stderr) == (2, "isc lab %s: no lab given: use isc --lab NAME lab %s, or set ISC_LAB\n"
                                            % (args[1], args[1]))
    assert not any(os.path.exists(p) for p in ns_paths(spare_name))


# ---- exec ---------------------------------------------------------------------

def test_exec_status_and_stdio(lab):
    r = isc("lab", "exec", "--", "sh", "-c", "cat; echo err >&2; exit 7", lab=lab, check=False,
            input="hello from stdin\n")
    assert r.returncode == 7
    assert r.stdout == "hello from stdin\n"
    assert r.stderr == "err\n"
    assert isc("lab", "exec", "--", "true", lab=lab).returncode == 0
    # without "--" too, as long as CMD does not look like an option
    assert isc("lab", "exec", "sh", "-c", "exit 3", lab=lab, check=False).returncode == 3


def test_exec_runs_in_outside_namespace(lab):
    out_ino = os.stat(ns_paths(lab)[1]).st_ino
    r = isc("lab", "exec", "--", "stat", "-L", "-c", "%i", "/proc/self/ns/net", lab=lab)
    assert int(r.stdout) == out_ino
    r = isc("lab", "exec", "--", "cat", "/proc/net/dev", lab=lab)
    assert "ext0" in r.stdout and "uplink0" not in r.stdout


def test_exec_killed_by_signal(lab):
    r = isc("lab", "exec", "--", "sh", "-c", "kill -KILL $$", lab=lab, check=False)
    assert r.returncode == 128 + signal.SIGKILL


def test_exec_forwards_sigterm(lab):
    p = subprocess.Popen([ISC, "--lab", lab, "lab", "exec", "--", "sh", "-c",
                          "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done"],
                         stdout=subprocess.PIPE, text=True, env=env_without_lab())
    try:
        out = Lines(p.stdout, "isc lab exec")
        assert out.readline(what="the ready line") == "ready\n"
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
        assert out.read_all(what="the trap's output") == "got-term\n"
        assert rc == 42
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_exec_command_not_found(lab):
    r = isc("lab", "exec", "--", "no-such-command-xyz", lab=lab, check=False)
    assert r.returncode == 127
    assert "no-such-command-xyz" in r.stderr
    r = isc("lab", "exec", lab=lab, check=False)
    assert (r.returncode, r.stderr) == (2, "isc lab exec: no command: isc --lab NAME lab exec -- CMD [ARG...]\n")
    r = isc("lab", "exec", "--bogus", lab=lab, check=False)
    assert (r.returncode, r.stderr) == (2, "isc lab exec: unknown option --bogus (put the command after --)\n")


# ---- bad input ----------------------------------------------------------------

@pytest.mark.parametrize("bad", [".hidden", "a/b", "x" * 65, "sp ace", "semi;colon", "ünï"])
def test_bad_names(bad):
    # what the name would have made (other tests make labs meanwhile: only these are checked)
    first = bad.split("/")[0]
    made = [os.path.join(NETNS_DIR, "isc-%s-host" % bad), os.path.join(NETNS_DIR, "isc-%s-out" % bad),
            os.path.join(NETNS_DIR, "isc-" + first), os.path.join(LABS_ROOT, first)]
    assert not any(os.path.lexists(p) for p in made)
    for args in (["lab", "create"], ["lab", "info"], ["lab", "exec", "--", "true"], ["lab", "rm"]):
        r = isc(*args, lab=bad, check=False)
        assert (r.returncode, r.stdout) == (1, ""), (args, r.returncode, r.stderr)
        assert r.stderr == ('isc: --lab / ISC_LAB: "%s" is not a lab name (letters, digits, . _ -, at most 64, '
                            "not starting with '.')\n" % bad), r.stderr
    assert [p for p in made if os.path.lexists(p)] == []


def test_longest_name(spare_name):
    name = spare_name + "x" * (64 - len(spare_name))
    try:
        isc("lab", "create", lab=name)
        assert all(is_netns(p) for p in ns_paths(name))
    finally:
        isc("lab", "rm", lab=name, check=False)
        force_remove(name)


def test_help():
    r = isc("lab", "--help")
    for verb in ("ls", "info", "exec", "create", "rm"):
        assert "\n  %s " % verb in r.stdout
        r2 = isc("lab", verb, "--help")
        assert r2.stdout.startswith("Usage: isc [--lab NAME] lab %s" % verb)
    r = isc("lab", check=False)
    assert (r.returncode, r.stdout) == (2, "") and r.stderr.startswith("Usage: isc [--lab NAME] lab COMMAND [ARGS]\n")
    r = isc("lab", "frobnicate", check=False)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith('isc lab: unknown command "frobnicate"\nUsage: isc [--lab NAME] lab COMMAND [ARGS]\n')
