/* SPDX-License-Identifier: GPL-2.0-or-later
 * The private virtual network of an ISC host: a host-only bridge,
 * IPAM, one veth per container created in place, nftables tables that isc
 * owns alone (inet "isc" and bridge "isc_l2"), updated through sets and maps,
 * and the NFLOG packet log.  Everything acts on the network namespace of the
 * caller (iscd's): the real host's, or a lab's host namespace; nothing here
 * knows which.  Design notes: the top of net.c.
 *
 * Which namespace, when (iscd):
 * - every function below: the ISC host's namespace, entered (setns) before
 *   the call, on the calling thread; none of them creates a netlink or
 *   nftables socket before that (each call opens its own).
 * - isc_net_host_up(): at `isc init` (and at every iscd start: idempotent,
 *   it rebuilds the isc tables from R/net, elements included); then start
 *   isc_pktlog_run() (pktlog.h) in a thread or process of iscd, same
 *   namespace.  isc_net_confirm(): `isc init` after the operator confirmed.
 * - isc_net_container_up(): before creating the container; pass
 *   out->netns_path (joined by path), out->resolv_conf and out->hosts (bind
 *   read-only) to the bundle (struct isc_bundle_inputs); then
 *   isc_net_expose() for each plan port.  EEXIST when the container's
 *   namespace exists (still running, or iscd crashed: call
 *   isc_net_container_down(keep_addr = true) first if it is dead).
 * - isc_net_container_down(): after the container died; keep_addr = true on
 *   stop/restart (address, exposed ports and allowed flows stay), false on
 *   rm (they go too).
 * - isc_net_host_down(): at `isc deinit`, after every container stopped. */
#ifndef ISC_NET_H
#define ISC_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include "base/error.h"
#include "plan/plan.h"

#define ISC_NET_BRIDGE "isc0"

struct isc_net_host_cfg {
	const char *uplink; /* may be NULL: no outbound NAT, no inbound */
	const char *subnet; /* CIDR */
	int ssh_port;
	bool confirm; /* commit-confirmed: roll back unless isc_net_confirm() in time */
	int confirm_timeout;
};

/* Bridge, gateway address, sysctls and the base ruleset; idempotent. */
int isc_net_host_up(const char *root, const struct isc_net_host_cfg *cfg, isc_error **err);
int isc_net_confirm(const char *root, isc_error **err);
/* Remove isc's tables, the bridge and every container link; the host's
 * other rules and links stay untouched. */
int isc_net_host_down(const char *root, isc_error **err);

struct isc_net_container {
	char *netns_path; /* the container's network namespace (join by path) */
	struct in_addr addr;
	char *resolv_conf; /* generated files to bind read-only */
	char *hosts;
	char *host_if; /* the host side of the veth ("vc" + id) */
};
void isc_net_container_clear(struct isc_net_container *c);

/* Allocate an address (IPAM, persistent under R/net), create the namespace
 * and the veth in place, addresses and routes, and the anti-spoofing set
 * elements. */
int isc_net_container_up(const char *root, const char *name, struct isc_net_container *out, isc_error **err);
/* Undo all of it (release the address unless keep_addr). */
int isc_net_container_down(const char *root, const char *name, bool keep_addr, isc_error **err);

int isc_net_expose(const char *root, const char *name, const struct isc_port *p, isc_error **err);
int isc_net_unexpose(const char *root, const char *name, const struct isc_port *p, isc_error **err);
/* SRC may reach DST:PORT/proto (remove = close it again) */
int isc_net_allow(const char *root, const char *src, const char *dst, const struct isc_port *p, bool remove,
		  isc_error **err);

/* `isc policy`: the optional rules (firewall.h isc_fw_policies), state in
 * R/net/policy.json; set applies at once when the tables exist. */
int isc_net_policy_get(const char *root, unsigned *enabled, isc_error **err);
int isc_net_policy_set(const char *root, const char *rule, bool on, isc_error **err);

#endif
