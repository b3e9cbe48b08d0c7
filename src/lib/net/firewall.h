/* SPDX-License-Identifier: GPL-2.0-or-later
 * nftables for the private network, through libnftables.
 *
 * isc owns two tables and nothing else: `inet isc` (host filter, NAT,
 * exposed ports, allowed flows) and `bridge isc_l2` (anti-spoofing on the
 * container ports).  They are created, replaced and deleted by name (never
 * `flush ruleset`); day-to-day changes are element additions and deletions
 * in their sets and maps:
 *   inet isc    map expose { inet_proto . inet_service : ipv4_addr . inet_service }
 *               set allow_tcp, allow_udp { ipv4_addr . ipv4_addr . inet_service }
 *   bridge isc_l2  set ports { ifname }, set ip_ok { ifname . ipv4_addr },
 *                  set mac_ok { ifname . ether_addr },
 *                  set src_ok { ifname . ether_addr . ipv4_addr } (fast path)
 * Live connections of a port or flow that goes away are closed through
 * their conntrack mark (isc_fw_ct_close), not by per-packet lookups.
 * The text generators are pure (unit-tested); isc_fw_apply() and
 * isc_fw_list() act on the network namespace of the calling thread at the
 * time of the call (a libnftables context binds its netlink socket to the
 * namespace at nft_ctx_new, so each call makes a fresh one). */
#ifndef ISC_FIREWALL_H
#define ISC_FIREWALL_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include "base/error.h"

#define ISC_FW_TABLE "isc"	 /* inet */
#define ISC_FW_L2_TABLE "isc_l2" /* bridge */
#define ISC_FW_LOG_GROUP 213	 /* NFLOG group of every isc log rule */
/* kernel-side rate limit of every log rule (the packet log also caps lines) */
#define ISC_FW_LOG_RATE "limit rate 50/second burst 100 packets"

/* Optional rules (`isc policy`), disabled by default. */
enum isc_fw_policy {
	ISC_FW_POLICY_PING = 1 << 0,	   /* accept ICMP echo requests to the host */
	ISC_FW_POLICY_LOG_ACCEPT = 1 << 1, /* log accepted new connections */
};
struct isc_fw_policy_info {
	const char *name;
	unsigned flag;
	const char *help;
};
extern const struct isc_fw_policy_info isc_fw_policies[];
extern const unsigned isc_fw_n_policies;
/* the flag of a policy name, 0 when unknown */
unsigned isc_fw_policy_flag(const char *name);

struct isc_fw_cfg {
	const char *bridge; /* ISC_NET_BRIDGE */
	const char *uplink; /* NULL: no NAT, no inbound */
	const char *subnet; /* canonical CIDR */
	struct in_addr gateway;
	int ssh_port;
	unsigned policies; /* enum isc_fw_policy */
};

/* The complete tables as one transaction: any existing isc tables are
 * replaced ("add table; delete table; table { ... }"), nothing else is
 * touched.  Newly allocated. */
char *isc_fw_ruleset(const struct isc_fw_cfg *cfg);
/* Replace the bodies of the optional-rule chains. */
char *isc_fw_policy_cmds(const struct isc_fw_cfg *cfg);
/* Delete both tables; no error when they are absent. */
const char *isc_fw_delete_cmds(void);

/* Element commands (add or delete), newly allocated, one line each. */
char *isc_fw_container_cmds(bool add, const char *ifname, struct in_addr addr, const uint8_t mac[6]);
char *isc_fw_expose_cmds(bool add, int proto, uint16_t host_port, struct in_addr addr, uint16_t port);
char *isc_fw_allow_cmds(bool add, struct in_addr src, struct in_addr dst, int proto, uint16_t port);

/* Port specs: "HOSTPORT:PORT[/tcp|udp]" (need_target) or "PORT[/tcp|udp]";
 * ports 1..65535, default tcp.  EINVAL naming the spec. */
int isc_fw_parse_port(const char *spec, bool need_target, uint16_t *host_port, uint16_t *port, int *proto,
		      isc_error **err);
/* "DST:PORT[/tcp|udp]" for isc allow: *dst newly allocated. */
int isc_fw_parse_flow(const char *spec, char **dst, uint16_t *port, int *proto, isc_error **err);
const char *isc_fw_proto_name(int proto); /* "tcp", "udp" */

/* The bit of the conntrack mark that isc sets on a connection it closed
 * (isc_fw_ct_close); the forward chain drops every packet that carries it.
 * Only this bit is ever written: other users of the mark keep theirs. */
#define ISC_FW_CT_CLOSED 0x00400000u

/* Which live connections to close. */
struct isc_fw_ct_match {
	bool any;	    /* every connection from or to dst (a container that goes away) */
	int proto;	    /* IPPROTO_TCP or IPPROTO_UDP */
	bool dnat;	    /* true: of an exposed port; false: a flow between containers */
	struct in_addr src; /* !dnat: the original source (the client container) */
	struct in_addr dst; /* dnat: the container behind the port; !dnat: the original destination */
	uint16_t dport;	    /* the original destination port (dnat: the host port) */
	uint16_t port;	    /* dnat: the container's port */
};
/* Close, at once, the live connections that match: every matching entry of
 * the caller's network namespace's conntrack table gets ISC_FW_CT_CLOSED in
 * its mark (ctnetlink), so that the forward chain's first rule stops
 * accepting their packets without a per-packet set lookup.  *closed: how
 * many.  Call it after the rule change that stops new ones. */
int isc_fw_ct_close(const struct isc_fw_ct_match *m, unsigned *closed, isc_error **err);

/* Run commands in one transaction (all or nothing) in the caller's netns;
 * the error names nft's message. */
int isc_fw_apply(const char *cmds, isc_error **err);
/* `list table` of both isc tables (absent tables are skipped); *out is
 * re-appliable text ("" when neither exists). */
int isc_fw_list(char **out, isc_error **err);

#endif
