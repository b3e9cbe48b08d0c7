/* SPDX-License-Identifier: GPL-2.0-or-later
 * nftables rules of the private network (firewall.h).
 *
 * The host (table inet isc):
 *   input:   lo, established/related, SSH (not from the bridge), DHCP
 *            replies on the uplink, IPv6 neighbour discovery (a real host
 *            must not lose its v6 neighbours), the enabled optional rules;
 *            everything else logged (rate-limited) and dropped.
 *   forward: first, packets of connections that are no longer allowed
 *            (an unexposed port: its DNAT flows, checked against
 *            @exposed_tcp/udp; a removed flow between containers, against
 *            @allow_tcp/udp), on the conntrack's original tuple, so that
 *            closing takes effect at once, for established connections
 *            too; then established/related, DNATed (exposed) traffic to the
 *            bridge, bridge -> uplink, the allowed container flows;
 *            everything else logged and dropped.
 *   nat:     exposed ports (map @expose) for every local address of the host
 *            (fib daddr type local: the uplink's address, whatever DHCP
 *            gives, and the gateway for containers), masquerade to the
 *            uplink, and masquerade of hairpinned DNAT back into the bridge
 *            (so that the reply comes back through the host).
 *   output:  no ICMP redirects into the bridge (the host routes between
 *            isolated ports of the same bridge on purpose).
 * Accepted new connections jump to chain accept_new, which logs them when
 * the "log-accept" policy is on.
 *
 * The container ports (table bridge isc_l2, prerouting): a frame from a
 * registered port (@ports) must carry its MAC (@mac_ok) as Ethernet and ARP
 * sender, its IPv4 address (@ip_ok) as IP and ARP sender, and be IPv4 or
 * ARP; anything else is logged and dropped.  The bridge family has no
 * conntrack on this kernel: these rules are stateless. */
#include "firewall.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const struct isc_fw_policy_info isc_fw_policies[] = {
	{ "ping", ISC_FW_POLICY_PING, "accept ICMP echo requests to the host" },
	{ "log-accept", ISC_FW_POLICY_LOG_ACCEPT, "log accepted new connections to the packet log" },
};
const unsigned isc_fw_n_policies = ARRAY_SIZE(isc_fw_policies);

unsigned isc_fw_policy_flag(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(isc_fw_policies); i++)
		if (strcmp(isc_fw_policies[i].name, name) == 0)
			return isc_fw_policies[i].flag;
	return 0;
}

/* ---- a growing string ---------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (s == NULL)
			abort();
		b->s = s;
		b->cap = cap;
	}
}

/* "COND limit log ..." then "COND drop": the limit only decides whether a
 * line is logged, never whether the packet is dropped. */
static void sb_log_drop(struct sbuf *b, const char *cond, const char *prefix)
{
	sb_printf(b, "    %s%s" ISC_FW_LOG_RATE " log group %d prefix \"%s \"\n", cond, *cond ? " " : "",
		  ISC_FW_LOG_GROUP, prefix);
	sb_printf(b, "    %s%sdrop\n", cond, *cond ? " " : "");
}

static void policy_chain_bodies(struct sbuf *b, const struct isc_fw_cfg *cfg)
{
	if (cfg->policies & ISC_FW_POLICY_LOG_ACCEPT)
		sb_printf(b, "add rule inet " ISC_FW_TABLE " accept_new " ISC_FW_LOG_RATE
			  " log group %d prefix \"isc-accept \"\n", ISC_FW_LOG_GROUP);
	sb_printf(b, "add rule inet " ISC_FW_TABLE " accept_new accept\n");
	if (cfg->policies & ISC_FW_POLICY_PING)
		sb_printf(b, "add rule inet " ISC_FW_TABLE " policy_in icmp type echo-request jump accept_new\n");
}

char *isc_fw_ruleset(const struct isc_fw_cfg *cfg)
{
	struct sbuf b = { 0 };
	const char *br = cfg->bridge;
	char gw[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &cfg->gateway, gw, sizeof(gw));
	sb_printf(&b, "%s", isc_fw_delete_cmds());
	sb_printf(&b,
		  "table inet " ISC_FW_TABLE " {\n"
		  "  map expose { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
		  "  set exposed_tcp { type inet_service; }\n"
		  "  set exposed_udp { type inet_service; }\n"
		  "  set allow_tcp { type ipv4_addr . ipv4_addr . inet_service; }\n"
		  "  set allow_udp { type ipv4_addr . ipv4_addr . inet_service; }\n"
		  "  chain accept_new { }\n"
		  "  chain policy_in { }\n"
		  "  chain input {\n"
		  "    type filter hook input priority filter; policy drop;\n"
		  "    iif lo accept\n"
		  "    ct state established,related accept\n"
		  "    ct state invalid drop\n"
		  "    iifname != \"%s\" tcp dport %d jump accept_new\n",
		  br, cfg->ssh_port);
	if (cfg->uplink != NULL)
		sb_printf(&b, "    iifname \"%s\" udp sport 67 udp dport 68 accept\n", cfg->uplink);
	sb_printf(&b,
		  "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept\n"
		  "    jump policy_in\n");
	sb_log_drop(&b, "", "isc-in-drop");
	sb_printf(&b,
		  "  }\n"
		  "  chain forward {\n"
		  "    type filter hook forward priority filter; policy drop;\n");
	/* Closed at once: a connection of an unexposed port or a removed
	 * flow stops here, established or not (checked on the conntrack's
	 * original tuple, so both directions). */
	static const char *const protos[] = { "tcp", "udp" };
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		char cond[256];
		snprintf(cond, sizeof(cond), "meta l4proto %s ct status dnat ct original proto-dst != @exposed_%s",
			 protos[i], protos[i]);
		sb_log_drop(&b, cond, "isc-fwd-closed");
		snprintf(cond, sizeof(cond),
			 "iifname \"%s\" oifname \"%s\" meta l4proto %s ct status & dnat == 0 "
			 "ct original ip saddr . ct original ip daddr . ct original proto-dst != @allow_%s",
			 br, br, protos[i], protos[i]);
		sb_log_drop(&b, cond, "isc-fwd-drop");
	}
	sb_printf(&b, "    ct state established,related accept\n");
	sb_log_drop(&b, "ct state invalid", "isc-fwd-invalid");
	sb_printf(&b, "    oifname \"%s\" ct status dnat jump accept_new\n", br);
	if (cfg->uplink != NULL)
		sb_printf(&b, "    iifname \"%s\" oifname \"%s\" jump accept_new\n", br, cfg->uplink);
	/* what is left of tcp/udp between containers is an allowed flow */
	sb_printf(&b, "    iifname \"%s\" oifname \"%s\" meta l4proto { tcp, udp } jump accept_new\n", br, br);
	sb_log_drop(&b, "", "isc-fwd-drop");
	sb_printf(&b,
		  "  }\n"
		  "  chain output {\n"
		  "    type filter hook output priority filter; policy accept;\n"
		  "    oifname \"%s\" icmp type redirect drop\n"
		  "  }\n"
		  "  chain prerouting {\n"
		  "    type nat hook prerouting priority dstnat; policy accept;\n"
		  "    fib daddr type local dnat ip to meta l4proto . th dport map @expose\n"
		  "  }\n"
		  "  chain postrouting {\n"
		  "    type nat hook postrouting priority srcnat; policy accept;\n",
		  br);
	if (cfg->uplink != NULL)
		sb_printf(&b, "    oifname \"%s\" ip saddr %s masquerade\n", cfg->uplink, cfg->subnet);
	sb_printf(&b,
		  "    oifname \"%s\" ip saddr %s ct status dnat masquerade\n"
		  "  }\n"
		  "}\n",
		  br, cfg->subnet);
	sb_printf(&b,
		  "table bridge " ISC_FW_L2_TABLE " {\n"
		  "  set ports { type ifname; }\n"
		  "  set ip_ok { type ifname . ipv4_addr; }\n"
		  "  set mac_ok { type ifname . ether_addr; }\n"
		  "  chain prerouting {\n"
		  "    type filter hook prerouting priority filter; policy accept;\n"
		  "    iifname != @ports accept\n");
	sb_log_drop(&b, "iifname . ether saddr != @mac_ok", "isc-spoof-mac");
	sb_log_drop(&b, "ether type arp iifname . arp saddr ether != @mac_ok", "isc-spoof-arp");
	sb_log_drop(&b, "ether type arp iifname . arp saddr ip != @ip_ok", "isc-spoof-arp");
	sb_log_drop(&b, "ether type ip iifname . ip saddr != @ip_ok", "isc-spoof-ip");
	sb_log_drop(&b, "ether type != { ip, arp }", "isc-spoof-proto");
	sb_printf(&b, "  }\n}\n");
	policy_chain_bodies(&b, cfg);
	return b.s;
}

char *isc_fw_policy_cmds(const struct isc_fw_cfg *cfg)
{
	struct sbuf b = { 0 };
	sb_printf(&b, "flush chain inet " ISC_FW_TABLE " accept_new\n"
		      "flush chain inet " ISC_FW_TABLE " policy_in\n");
	policy_chain_bodies(&b, cfg);
	return b.s;
}

const char *isc_fw_delete_cmds(void)
{
	/* "add" first makes "delete" succeed when a table is absent; both in
	 * the same transaction, so nothing is ever half-deleted. */
	return "add table inet " ISC_FW_TABLE "\n"
	       "delete table inet " ISC_FW_TABLE "\n"
	       "add table bridge " ISC_FW_L2_TABLE "\n"
	       "delete table bridge " ISC_FW_L2_TABLE "\n";
}

char *isc_fw_container_cmds(bool add, const char *ifname, struct in_addr addr, const uint8_t mac[6])
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	const char *op = add ? "add" : "delete";
	return isc_xasprintf("%s element bridge " ISC_FW_L2_TABLE " ip_ok { \"%s\" . %s }\n"
			     "%s element bridge " ISC_FW_L2_TABLE " mac_ok { \"%s\" . %02x:%02x:%02x:%02x:%02x:%02x }\n"
			     "%s element bridge " ISC_FW_L2_TABLE " ports { \"%s\" }\n",
			     op, ifname, a, op, ifname, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], op, ifname);
}

const char *isc_fw_proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

char *isc_fw_expose_cmds(bool add, int proto, uint16_t host_port, struct in_addr addr, uint16_t port)
{
	const char *pn = isc_fw_proto_name(proto);
	if (!add)
		return isc_xasprintf("delete element inet " ISC_FW_TABLE " expose { %s . %u }\n"
				     "delete element inet " ISC_FW_TABLE " exposed_%s { %u }\n",
				     pn, host_port, pn, host_port);
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	return isc_xasprintf("add element inet " ISC_FW_TABLE " expose { %s . %u : %s . %u }\n"
			     "add element inet " ISC_FW_TABLE " exposed_%s { %u }\n",
			     pn, host_port, a, port, pn, host_port);
}

char *isc_fw_allow_cmds(bool add, struct in_addr src, struct in_addr dst, int proto, uint16_t port)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &src, s, sizeof(s));
	inet_ntop(AF_INET, &dst, d, sizeof(d));
	return isc_xasprintf("%s element inet " ISC_FW_TABLE " allow_%s { %s . %s . %u }\n", add ? "add" : "delete",
			     isc_fw_proto_name(proto), s, d, port);
}

/* ---- port specs ------------------------------------------------------------ */

static int parse_one_port(const char *s, const char *spec, uint16_t *out, isc_error **err)
{
	uint64_t v;
	if (isc_parse_u64(s, &v) < 0 || v < 1 || v > 65535)
		return isc_error_set(err, EINVAL, "%s: bad port \"%s\" (1..65535)", spec, s);
	*out = (uint16_t)v;
	return 0;
}

/* split off "/tcp" or "/udp" (default tcp): returns a copy without it */
static char *split_proto(const char *spec, int *proto, isc_error **err)
{
	char *s = isc_xstrdup(spec);
	char *slash = strchr(s, '/');
	*proto = IPPROTO_TCP;
	if (slash != NULL) {
		*slash = '\0';
		if (strcmp(slash + 1, "udp") == 0)
			*proto = IPPROTO_UDP;
		else if (strcmp(slash + 1, "tcp") != 0) {
			isc_error_set(err, EINVAL, "%s: bad protocol \"%s\" (tcp or udp)", spec, slash + 1);
			free(s);
			return NULL;
		}
	}
	return s;
}

int isc_fw_parse_port(const char *spec, bool need_target, uint16_t *host_port, uint16_t *port, int *proto,
		      isc_error **err)
{
	if (spec == NULL || *spec == '\0')
		return isc_error_set(err, EINVAL, "missing port spec");
	cleanup_free char *s = split_proto(spec, proto, err);
	if (s == NULL)
		return -1;
	char *colon = strchr(s, ':');
	if (need_target != (colon != NULL))
		return isc_error_set(err, EINVAL, "%s: expected %s", spec,
				     need_target ? "HOSTPORT:PORT[/tcp|udp]" : "HOSTPORT[/tcp|udp]");
	if (colon != NULL)
		*colon = '\0';
	if (parse_one_port(s, spec, host_port, err) < 0)
		return -1;
	if (colon != NULL)
		return parse_one_port(colon + 1, spec, port, err);
	if (port != NULL)
		*port = 0;
	return 0;
}

int isc_fw_parse_flow(const char *spec, char **dst, uint16_t *port, int *proto, isc_error **err)
{
	if (spec == NULL || *spec == '\0')
		return isc_error_set(err, EINVAL, "missing DST:PORT[/tcp|udp]");
	cleanup_free char *s = split_proto(spec, proto, err);
	if (s == NULL)
		return -1;
	char *colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		return isc_error_set(err, EINVAL, "%s: expected DST:PORT[/tcp|udp]", spec);
	*colon = '\0';
	if (parse_one_port(colon + 1, spec, port, err) < 0)
		return -1;
	*dst = isc_xstrdup(s);
	return 0;
}

/* ---- libnftables ------------------------------------------------------------ */

static void nft_ctx_freep(struct nft_ctx **c)
{
	if (*c != NULL)
		nft_ctx_free(*c);
}

/* A fresh context: it binds to the caller's network namespace now, and
 * remembers nothing (no stale defines) from an earlier run. */
static int fw_run(const char *cmds, char **output, isc_error **err)
{
	__attribute__((cleanup(nft_ctx_freep))) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (ctx == NULL)
		return isc_error_set(err, ENOMEM, "nftables: nft_ctx_new");
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
		return isc_error_set(err, ENOMEM, "nftables: buffers");
	if (nft_run_cmd_from_buffer(ctx, cmds) != 0) {
		const char *e = nft_ctx_get_error_buffer(ctx);
		cleanup_free char *msg = isc_xstrdup(e && *e ? e : "unknown error");
		size_t n = strlen(msg);
		while (n > 0 && msg[n - 1] == '\n')
			msg[--n] = '\0';
		return isc_error_set(err, 0, "nftables: %s", msg);
	}
	if (output != NULL)
		*output = isc_xstrdup(nft_ctx_get_output_buffer(ctx));
	return 0;
}

int isc_fw_apply(const char *cmds, isc_error **err)
{
	return fw_run(cmds, NULL, err);
}

int isc_fw_list(char **out, isc_error **err)
{
	cleanup_free char *tables = NULL;
	*out = NULL;
	if (fw_run("list tables", &tables, err) < 0)
		return -1;
	struct sbuf b = { 0 };
	sb_printf(&b, "%s", "");
	static const char *const mine[] = { "table inet " ISC_FW_TABLE, "table bridge " ISC_FW_L2_TABLE };
	for (size_t i = 0; i < ARRAY_SIZE(mine); i++) {
		/* whole-line match */
		bool present = false;
		for (char *line = tables; line && *line;) {
			char *nl = strchr(line, '\n');
			size_t n = nl ? (size_t)(nl - line) : strlen(line);
			if (n == strlen(mine[i]) && strncmp(line, mine[i], n) == 0)
				present = true;
			line = nl ? nl + 1 : NULL;
		}
		if (!present)
			continue;
		cleanup_free char *cmd = isc_xasprintf("list %s", mine[i]);
		cleanup_free char *text = NULL;
		if (fw_run(cmd, &text, err) < 0) {
			free(b.s);
			return -1;
		}
		sb_printf(&b, "%s", text);
	}
	*out = b.s;
	return 0;
}
