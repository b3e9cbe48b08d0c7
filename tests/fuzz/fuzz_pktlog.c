/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target for the packet log's header parser (isc_pktlog_record,
 * src/lib/pktlog.c): the bridge-family rules of isc_l2 log frames exactly
 * as a container sent them, before the kernel has checked their IPv4
 * header, so the bytes are the container's.  The first input byte picks
 * the ethertype (IPv4, ARP, IPv6 or the next two bytes), the rest is the
 * L3 payload.  Every record must serialise, and:
 *  - the line is valid JSON that reads back equal, all of it printable
 *    ASCII (it goes to a file and to syslog);
 *  - what it says about the frame is what the frame holds, read here again
 *    from the header's fields: addresses only when the header that holds
 *    them is inside the frame, and then the bytes at their offsets; ports
 *    (and ICMP type/code) only from a first fragment whose IPv4 header
 *    length is sane and whose L4 header starts inside the frame, and then
 *    the bytes at IHL*4; "malformed" exactly when the IPv4 header is short,
 *    of another version or of a bad length, and never together with ports. */
#include <arpa/inet.h>
#include <jansson.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/pktlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *line)
{
	fprintf(stderr, "fuzz-pktlog: %s\n  %s\n", what, line);
	abort();
}

static void want_str(json_t *o, const char *key, const char *want, const char *line)
{
	const char *have = json_string_value(json_object_get(o, key));
	if (want == NULL ? json_object_get(o, key) != NULL : (have == NULL || strcmp(have, want) != 0)) {
		char what[128];
		snprintf(what, sizeof(what), "\"%s\" should be %s", key, want ? want : "absent");
		broken(what, line);
	}
}

static void want_int(json_t *o, const char *key, long long want, bool present, const char *line)
{
	json_t *v = json_object_get(o, key);
	if (present ? (!json_is_integer(v) || json_integer_value(v) != want) : v != NULL) {
		char what[128];
		snprintf(what, sizeof(what), "\"%s\" should be %s%lld", key, present ? "" : "absent, not ",
			 present ? want : (long long)json_integer_value(v));
		broken(what, line);
	}
}

static const char *addr(const uint8_t *p, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, p, buf, INET_ADDRSTRLEN);
}

/* the frame read again, by the header's own rules */
static void check_ipv4(json_t *o, const uint8_t *p, size_t len, const char *line)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	if (len < 20 || p[0] >> 4 != 4) {
		want_str(o, "malformed", len < 20 ? "short ipv4 header" : "not ipv4", line);
		want_str(o, "src", NULL, line);
		want_str(o, "dst", NULL, line);
		want_int(o, "sport", 0, false, line);
		return;
	}
	want_str(o, "src", addr(p + 12, a), line);
	want_str(o, "dst", addr(p + 16, b), line);
	size_t ihl = (size_t)(p[0] & 15) * 4;
	bool sane = ihl >= 20 && ihl <= len;
	want_str(o, "malformed", sane ? NULL : "ipv4 header length", line);
	bool first = (p[6] & 0x1f) == 0 && p[7] == 0;
	bool ports = sane && first && (p[9] == IPPROTO_TCP || p[9] == IPPROTO_UDP) && len - ihl >= 4;
	want_int(o, "sport", ports ? p[ihl] << 8 | p[ihl + 1] : 0, ports, line);
	want_int(o, "dport", ports ? p[ihl + 2] << 8 | p[ihl + 3] : 0, ports, line);
	bool icmp = sane && first && p[9] == IPPROTO_ICMP && len - ihl >= 2;
	want_int(o, "icmp_type", icmp ? p[ihl] : 0, icmp, line);
	want_int(o, "icmp_code", icmp ? p[ihl + 1] : 0, icmp, line);
}

static void check_arp(json_t *o, const uint8_t *p, size_t len, const char *line)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	bool whole = len >= 28 && p[4] == 6 && p[5] == 4;
	want_str(o, "proto", "arp", line);
	want_str(o, "src", whole ? addr(p + 14, a) : NULL, line);
	want_str(o, "dst", whole ? addr(p + 24, b) : NULL, line);
	want_int(o, "arp_op", whole ? p[6] << 8 | p[7] : 0, whole, line);
	char mac[18];
	if (whole)
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", p[8], p[9], p[10], p[11], p[12], p[13]);
	want_str(o, "arp_sha", whole ? mac : NULL, line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint16_t proto;
	size_t off = 1;
	switch (data[0] & 3) {
	case 0: proto = ETH_P_IP; break;
	case 1: proto = ETH_P_ARP; break;
	case 2: proto = ETH_P_IPV6; break;
	default:
		if (size < 3)
			return 0;
		proto = (uint16_t)(data[1] << 8 | data[2]);
		off = 3;
	}
	/* an exact-size copy: reading past it is an ASan error */
	size_t len = size - off;
	uint8_t *payload = malloc(len ? len : 1);
	memcpy(payload, data + off, len);
	static const char *const prefixes[] = { "isc-spoof-ip ", "isc-fwd-accept ", "", NULL };
	json_t *o = isc_pktlog_record("2026-11-28T00:00:00Z", prefixes[data[0] >> 2 & 3], "isc0", NULL, "vc1", NULL,
				      (data[0] & 0x10) ? "web" : NULL, proto, payload, len);
	char *s = json_dumps(o, JSON_COMPACT);
	if (s == NULL)
		abort();
	for (const char *c = s; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			broken("a byte that is not printable ASCII", s);
	json_t *back = json_loads(s, 0, NULL);
	if (back == NULL || !json_equal(back, o))
		broken("the line does not read back", s);
	json_decref(back);
	if (proto == ETH_P_IP)
		check_ipv4(o, payload, len, s);
	else if (proto == ETH_P_ARP)
		check_arp(o, payload, len, s);
	else if (proto == ETH_P_IPV6)
		want_str(o, "proto", "ipv6", s);
	else {
		char et[8];
		snprintf(et, sizeof(et), "0x%04x", proto);
		want_str(o, "ethertype", et, s);
		want_str(o, "proto", NULL, s);
	}
	if (proto != ETH_P_IP)
		want_int(o, "sport", 0, false, s);
	if (json_object_get(o, "malformed") && json_object_get(o, "sport"))
		broken("ports of a malformed header", s);
	free(s);
	json_decref(o);
	free(payload);
	return 0;
}
