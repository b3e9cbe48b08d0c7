# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack (issue 11, item 11): linux.sysctl keys the container does not
own.  /proc/sys is only partly namespaced: kernel.core_pattern is the
host's (a container without a user namespace that sets it has the host
kernel run its program as root at the next crash), and net.* without a
network namespace is the host's network.  On 51b9795 every key was written.

Now only the keys the container's own namespaces hold pass (runc's rule):
the IPC ones with an IPC namespace, net.* with a network namespace that is
not the runtime's own, kernel.domainname with a UTS namespace,
vm.memfd_noexec with a pid namespace that is not the runtime's own; every
refusal names the key.  Safety: every refused config here keeps its user
namespace and uses the host's current value, so that even a runtime
without the check (the sysctl-any-key mutant) changes nothing of the host:
the kernel refuses the write from the container's user namespace, with
another message, which the exact-message assertions catch."""
import pytest

pytestmark = [pytest.mark.isc_only, pytest.mark.no_leak_check]

def refusal(b, text):
    """The message of a key refused while config.json is parsed."""
    return "isc-runtime: %s: linux.sysctl %s" % (b.config_path, text)


def host_value(key):
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return f.read().strip()


def create_refused(runtime, b):
    b.write()
    r = runtime("create", "--bundle", b.path, b.id, out=b.out_path, err=b.err_path)
    assert r.returncode == 1, r.stdout
    assert runtime("state", b.id).returncode != 0, "a refused create left a container"
    return r.stderr.strip()


def without(b, ns_type):
    b.linux["namespaces"] = [n for n in b.linux["namespaces"] if n["type"] != ns_type]


def test_host_kernel_sysctl_is_refused(runtime, bundle):
    b = bundle("true")
    b.linux["sysctl"] = {"kernel.core_pattern": host_value("kernel.core_pattern")}
    assert create_refused(runtime, b) == refusal(
        b, '"kernel.core_pattern": not a namespaced sysctl: it would change the host\'s kernel')


def test_net_sysctl_without_a_network_namespace_is_refused(runtime, bundle):
    b = bundle("true")
    without(b, "network")
    key = "net.ipv4.ip_unprivileged_port_start"
    b.linux["sysctl"] = {key: host_value(key)}
    assert create_refused(runtime, b) == refusal(
        b, '"%s": no network namespace in linux.namespaces: without one it would change the host\'s' % key)


def test_ipc_sysctl_without_an_ipc_namespace_is_refused(runtime, bundle):
    b = bundle("true")
    without(b, "ipc")
    b.linux["sysctl"] = {"kernel.shmmax": host_value("kernel.shmmax")}
    assert create_refused(runtime, b) == refusal(
        b, '"kernel.shmmax": no ipc namespace in linux.namespaces: without one it would change the host\'s')


def test_net_sysctl_in_the_runtimes_own_network_namespace_is_refused(runtime, bundle):
    """Joining a network namespace by path is fine, but not the one the
    runtime runs in (the host's)."""
    b = bundle("true")
    without(b, "network")
    b.linux["namespaces"].append({"type": "network", "path": "/proc/self/ns/net"})
    key = "net.ipv4.ip_unprivileged_port_start"
    b.linux["sysctl"] = {key: host_value(key)}
    assert create_refused(runtime, b) == (
        'isc-runtime: linux.sysctl "%s": linux.namespaces[%d] joins the runtime\'s own network namespace '
        "(/proc/self/ns/net): the write would change the host's: Invalid argument"
        % (key, len(b.linux["namespaces"]) - 1))


def test_pid_sysctl_without_a_pid_namespace_is_refused(runtime, bundle):
    """vm.memfd_noexec is the pid namespace's: without one it is the host's."""
    b = bundle("true")
    without(b, "pid")
    b.linux["sysctl"] = {"vm.memfd_noexec": host_value("vm.memfd_noexec")}
    assert create_refused(runtime, b) == refusal(
        b, '"vm.memfd_noexec": no pid namespace in linux.namespaces: without one it would change the host\'s')


def test_pid_sysctl_in_the_runtimes_own_pid_namespace_is_refused(runtime, bundle):
    b = bundle("true")
    without(b, "pid")
    b.linux["namespaces"].append({"type": "pid", "path": "/proc/self/ns/pid"})
    b.linux["sysctl"] = {"vm.memfd_noexec": host_value("vm.memfd_noexec")}
    assert create_refused(runtime, b) == (
        'isc-runtime: linux.sysctl "vm.memfd_noexec": linux.namespaces[%d] joins the runtime\'s own pid '
        "namespace (/proc/self/ns/pid): the write would change the host's: Invalid argument"
        % (len(b.linux["namespaces"]) - 1))


# ---- positive controls: the namespaced ones work ---------------------------

@pytest.mark.parametrize("key,value", [("kernel.shmmax", "12345678"), ("fs.mqueue.msg_max", "17"),
                                       ("net.core.somaxconn", "77"), ("vm.memfd_noexec", "2")])
def test_namespaced_sysctls_are_set_in_the_container(runtime, bundle, key, value):
    before = host_value(key)
    assert before != value
    b = bundle("sysctl", key)
    b.linux["sysctl"] = {key: value}
    assert runtime.run_ok(b).strip() == value
    assert host_value(key) == before


def test_net_sysctl_in_a_joined_network_namespace(runtime, bundle, netns):
    """A namespace joined by path (a pod's) takes net.*: without a user
    namespace, so that the container's root may write the sysctls of a
    network namespace the host's user namespace owns."""
    name, path = netns()
    key = "net.core.somaxconn"
    before = host_value(key)
    b = bundle("sysctl", key)
    without(b, "network")
    without(b, "user")
    b.linux.pop("uidMappings")
    b.linux.pop("gidMappings")
    b.linux["namespaces"].append({"type": "network", "path": path})
    b.linux["sysctl"] = {key: "78"}
    assert runtime.run_ok(b).strip() == "78"
    assert host_value(key) == before
