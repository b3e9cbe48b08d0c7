/* SPDX-License-Identifier: GPL-2.0-or-later
 * nftables rules of the private network (firewall.h).
 *
 * The host (table inet isc):
 *   input:   lo, established/related, SSH (not from the bridge), DHCP
 *            replies on the uplink, IPv6 neighbour discovery (a real host
 *            must not lose its v6 neighbours), the enabled optional rules;
 *            everything else logged (rate-limited) and dropped.
 *   forward: first the fast path, one rule for every packet of a live
 *            connection: established/related and not closed.  A connection
 *            is closed at once by unexpose / allow --remove / the
 *            container's removal, which set ISC_FW_CT_CLOSED in its
 *            conntrack mark through ctnetlink (isc_fw_ct_close): its next
 *            packets fail the first rule and are logged and dropped by the
 *            second ("isc-fwd-closed").  Checking every packet against the
 *            sets instead cost 8 rules per packet.  Then, for new
 *            connections only: invalid, a TCP "new" that is not a SYN (the
 *            middle of a connection conntrack forgot: loose pickup must not
 *            revive it), DNATed (exposed: DNAT exists only through @expose)
 *            traffic to the bridge, bridge -> uplink, the allowed container
 *            flows (@allow_tcp/udp); everything else logged and dropped.
 *   nat:     exposed ports (map @expose) for every local address of the host
 *            (fib daddr type local: the uplink's address, whatever DHCP
 *            gives, and the gateway for containers), masquerade to the
 *            uplink, and masquerade of hairpinned DNAT back into the bridge
 *            (so that the reply comes back through the host).  Only the
 *            first packet of a connection passes the nat chains.
 *   output:  no ICMP redirects into the bridge (the host routes between
 *            isolated ports of the same bridge on purpose).
 * Accepted new connections jump to chain accept_new, which logs them when
 * the "log-accept" policy is on.
 *
 * The container ports (table bridge isc_l2, prerouting): a frame from a
 * registered port (@ports) must carry its MAC (@mac_ok) as Ethernet and ARP
 * sender, its IPv4 address (@ip_ok) as IP and ARP sender, and be IPv4 or
 * ARP; anything else is logged and dropped.  The common case, an IPv4 frame
 * whose port, MAC and address belong together, is a single lookup in
 * @src_ok (ifname . MAC . IPv4) and accepted at once; the other sets only
 * serve the rarer frames and say what was wrong.  The bridge family has no
 * conntrack on this kernel: these rules are stateless. */
#include "net/firewall.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

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
		sb_printf(b,
			  "add rule inet " ISC_FW_TABLE " accept_new " ISC_FW_LOG_RATE
			  " log group %d prefix \"isc-accept \"\n",
			  ISC_FW_LOG_GROUP);
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
	sb_printf(
		&b,
		"    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept\n"
		"    jump policy_in\n");
	sb_log_drop(&b, "", "isc-in-drop");
	/* The fast path first: one rule for every packet of a live
	 * connection.  A connection that was closed (unexpose, allow
	 * --remove) carries ISC_FW_CT_CLOSED in its conntrack mark
	 * (isc_fw_ct_close), so it fails that rule and stops at the next. */
	sb_printf(&b,
		  "  }\n"
		  "  chain forward {\n"
		  "    type filter hook forward priority filter; policy drop;\n"
		  "    ct state established,related ct mark & 0x%x == 0 accept\n",
		  ISC_FW_CT_CLOSED);
	char cond[256];
	snprintf(cond, sizeof(cond), "ct mark & 0x%x != 0", ISC_FW_CT_CLOSED);
	sb_log_drop(&b, cond, "isc-fwd-closed");
	sb_log_drop(&b, "ct state invalid", "isc-fwd-invalid");
	/* Only new connections from here on.  A TCP "new" that is not a SYN is
	 * the middle of a connection that conntrack no longer knows (nf
	 * conntrack's loose pickup would otherwise adopt it). */
	sb_log_drop(&b, "tcp flags & (fin | syn | rst | ack) != syn", "isc-fwd-closed");
	/* DNAT exists only through @expose: a new DNATed connection is one of
	 * an exposed port at this moment */
	sb_printf(&b, "    oifname \"%s\" ct status dnat jump accept_new\n", br);
	if (cfg->uplink != NULL)
		sb_printf(&b, "    iifname \"%s\" oifname \"%s\" jump accept_new\n", br, cfg->uplink);
	/* between containers: only the allowed flows */
	sb_printf(&b,
		  "    iifname \"%s\" oifname \"%s\" ip saddr . ip daddr . tcp dport @allow_tcp jump accept_new\n"
		  "    iifname \"%s\" oifname \"%s\" ip saddr . ip daddr . udp dport @allow_udp jump accept_new\n",
		  br, br, br, br);
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
	/* The fast path first: an IPv4 frame whose port, MAC and address
	 * belong together is one lookup in @src_ok.  The rest (ARP, frames
	 * of other ports, spoofed frames) goes through the checks that say
	 * what was wrong. */
	sb_printf(&b, "table bridge " ISC_FW_L2_TABLE " {\n"
		      "  set ports { type ifname; }\n"
		      "  set src_ok { type ifname . ether_addr . ipv4_addr; }\n"
		      "  set ip_ok { type ifname . ipv4_addr; }\n"
		      "  set mac_ok { type ifname . ether_addr; }\n"
		      "  chain prerouting {\n"
		      "    type filter hook prerouting priority filter; policy accept;\n"
		      "    ether type ip iifname . ether saddr . ip saddr @src_ok accept\n"
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
	char a[INET_ADDRSTRLEN], m[18];
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	const char *op = add ? "add" : "delete";
	return isc_xasprintf("%s element bridge " ISC_FW_L2_TABLE " ip_ok { \"%s\" . %s }\n"
			     "%s element bridge " ISC_FW_L2_TABLE " mac_ok { \"%s\" . %s }\n"
			     "%s element bridge " ISC_FW_L2_TABLE " src_ok { \"%s\" . %s . %s }\n"
			     "%s element bridge " ISC_FW_L2_TABLE " ports { \"%s\" }\n",
			     op, ifname, a, op, ifname, m, op, ifname, m, a, op, ifname);
}

const char *isc_fw_proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

char *isc_fw_expose_cmds(bool add, int proto, uint16_t host_port, struct in_addr addr, uint16_t port)
{
	const char *pn = isc_fw_proto_name(proto);
	if (!add)
		return isc_xasprintf("delete element inet " ISC_FW_TABLE " expose { %s . %u }\n", pn, host_port);
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	return isc_xasprintf("add element inet " ISC_FW_TABLE " expose { %s . %u : %s . %u }\n", pn, host_port, a,
			     port);
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

/* ---- closing live connections (ctnetlink) ------------------------------------ */

/* a dump batch of the kernel: up to 32 KiB of entries */
#define CT_BUF_SIZE (32 * 1024)

struct ct_tuple {
	uint32_t src, dst;     /* network order */
	uint16_t sport, dport; /* network order */
	uint8_t proto;
};

struct ct_entry {
	struct ct_tuple orig, reply;
	uint32_t status;
	uint16_t zone; /* network order */
	bool has_zone;
};

struct ct_dump {
	const struct isc_fw_ct_match *m;
	struct ct_entry *found;
	size_t n, cap;
};

static int ct_tuple_parse(const struct nlattr *nest, struct ct_tuple *t)
{
	const struct nlattr *a, *b;
	memset(t, 0, sizeof(*t));
	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_IP:
			mnl_attr_for_each_nested(b, a) {
				if (mnl_attr_get_type(b) == CTA_IP_V4_SRC && mnl_attr_get_payload_len(b) == 4)
					t->src = mnl_attr_get_u32(b);
				else if (mnl_attr_get_type(b) == CTA_IP_V4_DST && mnl_attr_get_payload_len(b) == 4)
					t->dst = mnl_attr_get_u32(b);
			}
			break;
		case CTA_TUPLE_PROTO:
			mnl_attr_for_each_nested(b, a) {
				if (mnl_attr_get_type(b) == CTA_PROTO_NUM && mnl_attr_get_payload_len(b) >= 1)
					t->proto = mnl_attr_get_u8(b);
				else if (mnl_attr_get_type(b) == CTA_PROTO_SRC_PORT && mnl_attr_get_payload_len(b) == 2)
					t->sport = mnl_attr_get_u16(b);
				else if (mnl_attr_get_type(b) == CTA_PROTO_DST_PORT && mnl_attr_get_payload_len(b) == 2)
					t->dport = mnl_attr_get_u16(b);
			}
			break;
		}
	}
	return 0;
}

static bool ct_matches(const struct isc_fw_ct_match *m, const struct ct_entry *e)
{
	if (m->any)
		return e->orig.src == m->dst.s_addr || e->orig.dst == m->dst.s_addr || e->reply.src == m->dst.s_addr;
	if (e->orig.proto != m->proto || e->orig.dport != htons(m->dport))
		return false;
	bool dnat = (e->status & IPS_DST_NAT) != 0;
	if (dnat != m->dnat)
		return false;
	if (m->dnat) /* the reply comes from the container's port */
		return e->reply.src == m->dst.s_addr && e->reply.sport == htons(m->port);
	return e->orig.src == m->src.s_addr && e->orig.dst == m->dst.s_addr;
}

static int ct_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_dump *d = data;
	struct ct_entry e = { 0 };
	bool orig = false, reply = false;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			orig = ct_tuple_parse(a, &e.orig) == 0;
			break;
		case CTA_TUPLE_REPLY:
			reply = ct_tuple_parse(a, &e.reply) == 0;
			break;
		case CTA_STATUS:
			if (mnl_attr_get_payload_len(a) == 4)
				e.status = ntohl(mnl_attr_get_u32(a));
			break;
		case CTA_ZONE:
			if (mnl_attr_get_payload_len(a) == 2) {
				e.zone = mnl_attr_get_u16(a);
				e.has_zone = true;
			}
			break;
		}
	}
	if (!orig || !reply || !ct_matches(d->m, &e))
		return MNL_CB_OK;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct ct_entry *f = realloc(d->found, cap * sizeof(*f));
		if (f == NULL)
			abort();
		d->found = f;
		d->cap = cap;
	}
	d->found[d->n++] = e;
	return MNL_CB_OK;
}

static void ct_put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct ct_tuple *t)
{
	struct nlattr *tn = mnl_attr_nest_start(nlh, type);
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, t->src);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, t->dst);
	mnl_attr_nest_end(nlh, ip);
	struct nlattr *pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, t->sport);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, t->dport);
	mnl_attr_nest_end(nlh, pr);
	mnl_attr_nest_end(nlh, tn);
}

static struct nlmsghdr *ct_msg(char *buf, uint8_t msg, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_INET;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

static void mnl_socket_closep(struct mnl_socket **s)
{
	if (*s != NULL)
		mnl_socket_close(*s);
}

int isc_fw_ct_close(const struct isc_fw_ct_match *m, unsigned *closed, isc_error **err)
{
	*closed = 0;
	__attribute__((cleanup(mnl_socket_closep))) struct mnl_socket *sock =
		mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (sock == NULL)
		return isc_error_set(err, errno, "conntrack: netlink socket");
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0)
		return isc_error_set(err, errno, "conntrack: bind");
	unsigned portid = mnl_socket_get_portid(sock);
	uint32_t seq = (uint32_t)isc_now_ns();
	cleanup_free char *buf = isc_xmalloc0(CT_BUF_SIZE);
	struct ct_dump d = { .m = m };
	cleanup_free struct ct_entry *found = NULL;

	/* 1. the matching entries: a dump of the namespace's table, filtered here */
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq);
	if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
		return isc_error_set(err, errno, "conntrack: dump request");
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(sock, buf, CT_BUF_SIZE);
		if (n < 0) {
			free(d.found);
			return isc_error_set(err, errno, "conntrack: dump");
		}
		int r = mnl_cb_run(buf, (size_t)n, seq, portid, ct_dump_cb, &d);
		if (r < 0) {
			free(d.found);
			return isc_error_set(err, errno, "conntrack: dump");
		}
		if (r == MNL_CB_STOP)
			break;
	}
	found = d.found;

	/* 2. each one marked closed: an update of an existing entry (no
	 * NLM_F_CREATE), only our bit of the mark (CTA_MARK_MASK) */
	for (size_t i = 0; i < d.n; i++) {
		nlh = ct_msg(buf, IPCTNL_MSG_CT_NEW, NLM_F_ACK, ++seq);
		ct_put_tuple(nlh, CTA_TUPLE_ORIG, &found[i].orig);
		if (found[i].has_zone)
			mnl_attr_put_u16(nlh, CTA_ZONE, found[i].zone);
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(ISC_FW_CT_CLOSED));
		mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(ISC_FW_CT_CLOSED));
		if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
			return isc_error_set(err, errno, "conntrack: update request");
		ssize_t n = mnl_socket_recvfrom(sock, buf, CT_BUF_SIZE);
		if (n < 0)
			return isc_error_set(err, errno, "conntrack: update");
		if (mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0) {
			if (errno == ENOENT) /* it ended meanwhile */
				continue;
			return isc_error_set(err, errno, "conntrack: mark a closed connection");
		}
		(*closed)++;
	}
	return 0;
}
