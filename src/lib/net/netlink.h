/* SPDX-License-Identifier: GPL-2.0-or-later
 * rtnetlink (libmnl) and network namespaces: the few link, address and
 * route operations isc needs, each one request.  A handle is bound to the
 * network namespace it was opened in (the kernel binds a netlink socket at
 * socket()): isc_nl_open_in() opens one in another namespace without moving
 * the caller. */
#ifndef ISC_NETLINK_H
#define ISC_NETLINK_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include "base/error.h"

typedef struct isc_nl isc_nl;

int isc_nl_open(isc_nl **nl, isc_error **err);			/* the caller's netns */
int isc_nl_open_in(int netns_fd, isc_nl **nl, isc_error **err); /* another netns */
void isc_nl_close(isc_nl **nl);
static inline void isc_nl_closep(isc_nl **nl)
{
	isc_nl_close(nl);
}
#define cleanup_nl __attribute__((cleanup(isc_nl_closep)))

/* A veth pair: `name` here, `peer` created directly in peer_netns_fd (-1 =
 * here too); never moved afterwards (moving costs ~16 ms, creating in place
 * ~0.3 ms).  EEXIST when `name` exists. */
int isc_nl_veth_add(isc_nl *nl, const char *name, const char *peer, int peer_netns_fd, isc_error **err);
int isc_nl_bridge_add(isc_nl *nl, const char *name, isc_error **err);
int isc_nl_link_del(isc_nl *nl, const char *name, isc_error **err); /* ENODEV when absent */
int isc_nl_link_up(isc_nl *nl, const char *name, isc_error **err);
int isc_nl_link_set_master(isc_nl *nl, const char *name, const char *master, isc_error **err);
/* bridge port flags: isolated (no forwarding to other isolated ports), learning */
int isc_nl_bridge_port_isolated(isc_nl *nl, const char *name, bool on, isc_error **err);
int isc_nl_link_index(isc_nl *nl, const char *name, int *index, isc_error **err); /* ENODEV */
int isc_nl_link_set_mac(isc_nl *nl, const char *name, const uint8_t mac[6], isc_error **err);
int isc_nl_addr_add(isc_nl *nl, const char *name, struct in_addr addr, int prefixlen, isc_error **err);
int isc_nl_route_add_default(isc_nl *nl, struct in_addr gw, isc_error **err);

/* A new network namespace bound (nsfs bind mount) at `path` (a file that is
 * created); lo is set up.  EEXIST when path is already a namespace. */
int isc_netns_create(const char *path, isc_error **err);
/* The same, and before the bind mount: the sysctls kv ({key, value, ...,
 * NULL}, keys as for isc_netns_sysctl; NULL: none) are written inside the
 * new namespace, and *nl (when nl != NULL) gets an rtnetlink handle in it,
 * or NULL when it could not be opened there (the namespace was made by a
 * helper process: use isc_nl_open_in).  Cheaper than creating, then
 * entering it again.
 * meanwhile (may be NULL) runs on the calling thread, in its own
 * namespace, while a helper thread makes the new one: work that does not
 * need it overlaps (~1 ms of kernel time).  When it fails, the call fails
 * and the namespace is removed again; when only the namespace fails,
 * whatever meanwhile did is the caller's to undo. */
int isc_netns_create_ex(const char *path, const char *const *sysctls, isc_nl **nl,
			int (*meanwhile)(void *arg, isc_error **err), void *meanwhile_arg, isc_error **err);
/* Unmount and unlink; ENOENT when absent. */
int isc_netns_remove(const char *path, isc_error **err);
/* open(path, O_RDONLY|O_CLOEXEC) of a namespace file, checked to be a net namespace. */
int isc_netns_open(const char *path, isc_error **err);
/* Write a sysctl (e.g. "net/ipv4/ip_forward") inside the namespace netns_fd
 * (-1 = the caller's); the caller's own namespace never changes. */
int isc_netns_sysctl(int netns_fd, const char *key, const char *value, isc_error **err);

/* Receive packet steering: the receive processing of every queue of link
 * `ifname` in netns_fd (-1 = the caller's) runs on the CPUs of `mask` (as
 * /sys/class/net/IF/queues/rx-N/rps_cpus takes it, e.g. "3" or
 * "ff,ffffffff").  The link's sysfs is reached through a detached sysfs
 * mount made in that namespace: nothing is mounted anywhere, the caller's
 * namespaces never change.  ENOENT when the kernel has no RPS. */
int isc_nl_link_rps(int netns_fd, const char *ifname, const char *mask, isc_error **err);
/* `set` as a kernel CPU bitmap: hex, 32-bit groups separated by commas, the
 * highest first ("3", "1,00000000"); "0" for an empty set.  -1 (ENOSPC)
 * when buf is too small. */
int isc_cpumask_hex(const cpu_set_t *set, char *buf, size_t len);

#endif
