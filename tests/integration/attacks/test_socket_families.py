# SPDX-License-Identifier: GPL-2.0-or-later
"""Attack: sockets the container's network namespace does not confine.

An attacker review of the issue 11 hardening found that the default profile
allowed `socket` with any address family.  AF_VSOCK sockets are not in any
network namespace: a default container could bind (squat) the machine's
vsock ports, shared with the hypervisor's agents, and reach the hypervisor
past isc's firewall and packet log.  The default profile now allows socket
only for unix, IPv4, IPv6, netlink and packet sockets (docs/defaults.md).

Proves, with the default profile (`isc-runtime spec`, which `isc run` uses):
- socket(AF_VSOCK), socket(AF_ALG) and a family with bit 32 set fail with
  EPERM; the control: without the profile the kernel creates them here (or
  answers with its own errno, not the filter's EPERM, where the family's
  module is missing);
- the families services use still work: AF_UNIX, AF_INET, AF_INET6,
  AF_NETLINK (NETLINK_ROUTE datagram).

Netlink (review2, minor note): only the protocols services use (ROUTE for
`ip`, SOCK_DIAG for `ss`, GENERIC, NETFILTER).  NETLINK_KOBJECT_UEVENT (a
container without a user namespace receives the host's device events) and
NETLINK_AUDIT (with CAP_AUDIT_WRITE: user records in the host's kernel
audit) fail with EPROTONOSUPPORT, what a kernel without them answers.
"""
import pytest

from operator_tty import default_seccomp

pytestmark = [pytest.mark.isc_only, pytest.mark.no_leak_check]  # isc's default profile

AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_ALG, AF_VSOCK = 1, 2, 10, 16, 38, 40
SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW = 1, 2, 5, 3


def probe(runtime, bundle, family, stype, profile=True, protocol=0):
    b = bundle("syscall", "socket", str(family), str(stype), str(protocol))
    if profile:
        b.linux["seccomp"] = default_seccomp(runtime.path)
    r = runtime.run(b)
    return r.stdout.strip() + (" (stderr: %s)" % r.stderr.strip() if r.stderr.strip() else "")


@pytest.mark.parametrize("family,stype", [(AF_VSOCK, SOCK_STREAM), (AF_VSOCK, SOCK_DGRAM),
                                          (AF_ALG, SOCK_SEQPACKET), (AF_INET | (1 << 32), SOCK_STREAM)])
def test_unconfined_families_refused(runtime, bundle, family, stype):
    # the control: the kernel itself does not refuse with EPERM (ok, or
    # its own errno where a transport is missing: no vsock datagrams here)
    control = probe(runtime, bundle, family, stype, profile=False)
    assert control == "ok" or (control.startswith("errno ") and control != "errno EPERM"), control
    assert probe(runtime, bundle, family, stype) == "errno EPERM"


def test_vsock_stream_is_real_here(runtime, bundle):
    """The attack's precondition on this kind of machine (a VM with a vsock
    transport): without the profile the container gets its vsock socket."""
    assert probe(runtime, bundle, AF_VSOCK, SOCK_STREAM, profile=False) == "ok"


@pytest.mark.parametrize("family,stype", [(AF_UNIX, SOCK_STREAM), (AF_UNIX, SOCK_DGRAM), (AF_INET, SOCK_STREAM),
                                          (AF_INET, SOCK_DGRAM), (AF_INET6, SOCK_STREAM), (AF_NETLINK, SOCK_RAW)])
def test_service_families_work(runtime, bundle, family, stype):
    assert probe(runtime, bundle, family, stype) == "ok"


NETLINK_ROUTE, NETLINK_SOCK_DIAG, NETLINK_AUDIT, NETLINK_KOBJECT_UEVENT, NETLINK_GENERIC = 0, 4, 9, 15, 16


@pytest.mark.parametrize("protocol", [NETLINK_KOBJECT_UEVENT, NETLINK_AUDIT, NETLINK_ROUTE | (1 << 32)])
def test_netlink_protocols_refused(runtime, bundle, protocol):
    # the control: the kernel gives this container the socket without the profile
    assert probe(runtime, bundle, AF_NETLINK, SOCK_RAW, profile=False, protocol=protocol) == "ok"
    assert probe(runtime, bundle, AF_NETLINK, SOCK_RAW, protocol=protocol) == "errno EPROTONOSUPPORT"


@pytest.mark.parametrize("protocol,stype", [(NETLINK_ROUTE, SOCK_RAW), (NETLINK_ROUTE, SOCK_DGRAM),
                                            (NETLINK_SOCK_DIAG, SOCK_RAW), (NETLINK_GENERIC, SOCK_RAW)])
def test_netlink_protocols_services_use(runtime, bundle, protocol, stype):
    assert probe(runtime, bundle, AF_NETLINK, stype, protocol=protocol) == "ok"
