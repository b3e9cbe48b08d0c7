# SPDX-License-Identifier: GPL-2.0-or-later
"""Namespaces and per-container kernel settings.

Proves: each namespace asked for is new (its /proc/self/ns inode differs
from the host's) and one left out is shared (control); a namespace given by
path is joined (a netns made with `ip netns add`); uid/gid maps apply;
hostname and domainname are set; sysctls are written in the container's
namespaces only; rlimits, oom_score_adj, env, cwd and umask are applied.
"""
import os

import pytest

import helpers

pytestmark = pytest.mark.no_leak_check


def _ns_map(text):
    out = {}
    for line in text.splitlines():
        name, link = line.split(" ", 1)
        out[name] = link
    return out


def _host_ns(name):
    return os.readlink("/proc/self/ns/" + name)


def test_all_namespaces_new(runtime, bundle):
    ns = _ns_map(runtime.run_ok(bundle("ns")))
    for oci, proc in helpers.NS_PROC_NAME.items():
        assert ns[proc] != _host_ns(proc), "%s namespace is the host's" % oci


@pytest.mark.parametrize("oci", ["network", "ipc", "uts", "cgroup"])
def test_namespace_left_out_is_shared(runtime, bundle, oci):
    """Control: without the entry the container shares the host's namespace,
    so the comparison above can fail."""
    b = bundle("ns")
    helpers.set_namespace(b.config, oci, present=False)
    if oci == "network":  # sysfs of a netns we do not own cannot be mounted
        b.config["mounts"] = [m for m in b.config["mounts"] if m["type"] != "sysfs"]
    if oci == "ipc":  # nor mqueue of an ipc ns we do not own
        b.config["mounts"] = [m for m in b.config["mounts"] if m["type"] != "mqueue"]
    if oci == "uts":  # a hostname needs a private uts ns
        del b.config["hostname"]
    ns = _ns_map(runtime.run_ok(b))
    proc = helpers.NS_PROC_NAME[oci]
    assert ns[proc] == _host_ns(proc)


def test_join_netns_by_path(runtime, bundle, netns):
    name, path = netns()
    b = bundle("ns")
    helpers.set_namespace(b.config, "network", path=path)
    b.config["mounts"] = [m for m in b.config["mounts"] if m["type"] != "sysfs"]
    ns = _ns_map(runtime.run_ok(b))
    assert ns["net"] == "net:[%d]" % os.stat(path).st_ino
    assert ns["net"] != _host_ns("net")


def test_uid_gid_maps(runtime, bundle):
    out = runtime.run_ok(bundle("cat", "/proc/self/uid_map"))
    assert out.split() == ["0", str(helpers.HOST_ID), str(helpers.MAP_SIZE)]
    out = runtime.run_ok(bundle("cat", "/proc/self/gid_map"))
    assert out.split() == ["0", str(helpers.HOST_ID), str(helpers.MAP_SIZE)]


def test_custom_maps(runtime, bundle):
    b = bundle("cat", "/proc/self/uid_map")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 1000},
                              {"containerID": 1000, "hostID": 300000, "size": 10}]
    rows = [ln.split() for ln in runtime.run_ok(b).splitlines()]
    assert rows == [["0", "200000", "1000"], ["1000", "300000", "10"]]


def test_files_created_map_to_host_id(runtime, bundle, test_dir):
    shared = os.path.join(test_dir, "shared")
    os.makedirs(shared)
    os.chmod(shared, 0o777)
    b = bundle("write", "/mnt/file", "x")
    b.add_mount("/mnt", shared)
    assert runtime.run_ok(b).strip() == "ok"
    st = os.stat(os.path.join(shared, "file"))
    assert (st.st_uid, st.st_gid) == (helpers.HOST_ID, helpers.HOST_ID)


def test_hostname(runtime, bundle):
    b = bundle("hostname")
    b.config["hostname"] = "isc-host-x"
    assert runtime.run_ok(b).strip() == "isc-host-x"
    assert os.uname().nodename != "isc-host-x"


@pytest.mark.runc_skip("runc 1.1 ignores domainname")
def test_domainname(runtime, bundle):
    b = bundle("domainname")
    b.config["domainname"] = "isc.example"
    assert runtime.run_ok(b).strip() == "isc.example"


@pytest.mark.parametrize("key,value", [
    ("net.ipv4.ip_unprivileged_port_start", "1000"),
    ("kernel.shmmax", "12345678"),
])
def test_sysctl(runtime, bundle, key, value):
    host_path = "/proc/sys/" + key.replace(".", "/")
    with open(host_path) as f:
        host_before = f.read().strip()
    b = bundle("sysctl", key)
    b.linux["sysctl"] = {key: value}
    assert runtime.run_ok(b).strip() == value
    with open(host_path) as f:
        assert f.read().strip() == host_before, "sysctl leaked to the host"


def test_sysctl_default_in_new_netns(runtime, bundle):
    """Control: without the setting the container sees the new netns default."""
    assert runtime.run_ok(bundle("sysctl", "net.ipv4.ip_unprivileged_port_start")).strip() == "1024"


def test_rlimit_nofile(runtime, bundle):
    b = bundle("rlimit", "NOFILE")
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1234, "hard": 4321}]
    assert runtime.run_ok(b).strip() == "1234 4321"


def test_rlimit_several(runtime, bundle):
    b = bundle("rlimit", "CORE")
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 2000, "hard": 20000},
                            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    assert runtime.run_ok(b).strip() == "0 0"


def test_oom_score_adj(runtime, bundle):
    b = bundle("oom")
    b.process["oomScoreAdj"] = 500
    assert runtime.run_ok(b).strip() == "500"


def test_env_cwd_umask(runtime, bundle):
    b = bundle("env")
    b.process["env"] = ["PATH=/bin", "ISC_TEST=hello world"]
    env = runtime.run_ok(b).splitlines()
    assert "ISC_TEST=hello world" in env and "PATH=/bin" in env
    b = bundle("cwd")
    b.process["cwd"] = "/tmp"
    assert runtime.run_ok(b).strip() == "/tmp"
    b = bundle("umask")
    b.process["user"]["umask"] = 0o027
    assert runtime.run_ok(b).strip() == "0027"


def test_pid_is_one(runtime, bundle):
    kv = helpers.parse_kv(runtime.run_ok(bundle("pid")))
    assert kv["pid"] == "1" and kv["ppid"] == "0"


def test_cgroup_ns_root(runtime, bundle):
    out = runtime.run_ok(bundle("cgroup"))
    for line in out.splitlines():
        assert line.split(":", 2)[2] == "/", line
