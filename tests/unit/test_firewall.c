/* SPDX-License-Identifier: GPL-2.0-or-later
 * firewall.c: rule text generation and port specs (no nftables calls). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "net/firewall.h"
#include "net/pktlog.h"
#include "base/util.h"

static struct isc_fw_cfg cfg(const char *uplink, unsigned pol)
{
	struct isc_fw_cfg c = { .bridge = "isc0", .uplink = uplink, .subnet = "10.213.0.0/16", .ssh_port = 2222,
				.policies = pol };
	inet_pton(AF_INET, "10.213.0.1", &c.gateway);
	return c;
}

static void ruleset_text(void **state)
{
	(void)state;
	struct isc_fw_cfg c = cfg("uplink0", 0);
	char *r = isc_fw_ruleset(&c);
	/* only isc's tables, replaced by name; never the whole ruleset */
	assert_null(strstr(r, "flush ruleset"));
	assert_non_null(strstr(r, "add table inet isc\ndelete table inet isc\n"));
	assert_non_null(strstr(r, "add table bridge isc_l2\ndelete table bridge isc_l2\n"));
	assert_non_null(strstr(r, "tcp dport 2222 jump accept_new"));
	assert_null(strstr(r, "dport 22 "));
	assert_non_null(strstr(r, "iifname \"uplink0\" udp sport 67 udp dport 68 accept"));
	assert_non_null(strstr(r, "oifname \"uplink0\" ip saddr 10.213.0.0/16 masquerade"));
	assert_non_null(strstr(r, "oifname \"isc0\" ip saddr 10.213.0.0/16 ct status dnat masquerade"));
	assert_non_null(strstr(r, "dnat ip to meta l4proto . th dport map @expose"));
	/* the fast path is the forward chain's first rule; closed connections stop next */
	assert_non_null(strstr(r, "policy drop;\n    ct state established,related ct mark & 0x400000 == 0 accept\n"
				  "    ct mark & 0x400000 != 0 limit rate"));
	assert_non_null(strstr(r, "ct mark & 0x400000 != 0 drop\n"));
	assert_non_null(strstr(r, "tcp flags & (fin | syn | rst | ack) != syn drop\n"));
	assert_non_null(strstr(r, "ip saddr . ip daddr . udp dport @allow_udp jump accept_new"));
	assert_null(strstr(r, "exposed_"));
	/* every drop that is not policy has an explicit log rule before it */
	assert_non_null(strstr(r, "log group 213 prefix \"isc-in-drop \"\n    drop\n"));
	assert_non_null(strstr(r, "log group 213 prefix \"isc-fwd-drop \"\n    drop\n"));
	assert_non_null(strstr(r, "ether type ip iifname . ip saddr != @ip_ok drop"));
	assert_non_null(strstr(r, "policy accept;\n    ether type ip iifname . ether saddr . ip saddr @src_ok accept\n"
				  "    iifname != @ports accept\n"));
	assert_non_null(strstr(r, "ether type arp iifname . arp saddr ip != @ip_ok drop"));
	assert_non_null(strstr(r, "iifname . ether saddr != @mac_ok drop"));
	/* optional rules off: accept_new only accepts, no ping */
	assert_non_null(strstr(r, "add rule inet isc accept_new accept\n"));
	assert_null(strstr(r, "echo-request"));
	assert_null(strstr(r, "isc-accept"));
	free(r);
	/* no uplink: no NAT to it, no DHCP rule, no outbound forward */
	c = cfg(NULL, ISC_FW_POLICY_PING | ISC_FW_POLICY_LOG_ACCEPT);
	r = isc_fw_ruleset(&c);
	assert_null(strstr(r, "uplink"));
	assert_null(strstr(r, "sport 67"));
	assert_non_null(strstr(r, "add rule inet isc policy_in icmp type echo-request jump accept_new\n"));
	assert_non_null(strstr(r, "log group 213 prefix \"isc-accept \""));
	free(r);
}

static void policy_commands(void **state)
{
	(void)state;
	struct isc_fw_cfg c = cfg("uplink0", ISC_FW_POLICY_PING);
	char *p = isc_fw_policy_cmds(&c);
	assert_string_equal(p, "flush chain inet isc accept_new\n"
			       "flush chain inet isc policy_in\n"
			       "add rule inet isc accept_new accept\n"
			       "add rule inet isc policy_in icmp type echo-request jump accept_new\n");
	free(p);
	assert_int_equal(isc_fw_policy_flag("ping"), ISC_FW_POLICY_PING);
	assert_int_equal(isc_fw_policy_flag("log-accept"), ISC_FW_POLICY_LOG_ACCEPT);
	assert_int_equal(isc_fw_policy_flag("pong"), 0);
}

static void element_commands(void **state)
{
	(void)state;
	struct in_addr a, b;
	inet_pton(AF_INET, "10.213.0.2", &a);
	inet_pton(AF_INET, "10.213.0.3", &b);
	static const uint8_t mac[6] = { 0x02, 0x15, 10, 213, 0, 2 };
	char *s = isc_fw_container_cmds(true, "vc1", a, mac);
	assert_string_equal(s, "add element bridge isc_l2 ip_ok { \"vc1\" . 10.213.0.2 }\n"
			       "add element bridge isc_l2 mac_ok { \"vc1\" . 02:15:0a:d5:00:02 }\n"
			       "add element bridge isc_l2 src_ok { \"vc1\" . 02:15:0a:d5:00:02 . 10.213.0.2 }\n"
			       "add element bridge isc_l2 ports { \"vc1\" }\n");
	free(s);
	s = isc_fw_container_cmds(false, "vc1", a, mac);
	assert_non_null(strstr(s, "delete element bridge isc_l2 ports { \"vc1\" }\n"));
	free(s);
	s = isc_fw_expose_cmds(true, IPPROTO_UDP, 5353, a, 53);
	assert_string_equal(s, "add element inet isc expose { udp . 5353 : 10.213.0.2 . 53 }\n");
	free(s);
	s = isc_fw_expose_cmds(false, IPPROTO_TCP, 8080, a, 80);
	assert_string_equal(s, "delete element inet isc expose { tcp . 8080 }\n");
	free(s);
	s = isc_fw_allow_cmds(true, a, b, IPPROTO_TCP, 5432);
	assert_string_equal(s, "add element inet isc allow_tcp { 10.213.0.2 . 10.213.0.3 . 5432 }\n");
	free(s);
	assert_string_equal(isc_fw_delete_cmds(), "add table inet isc\ndelete table inet isc\n"
						  "add table bridge isc_l2\ndelete table bridge isc_l2\n");
}

static void port_specs(void **state)
{
	(void)state;
	isc_error *err = NULL;
	uint16_t hp, p;
	int proto;
	assert_int_equal(isc_fw_parse_port("8080:80", true, &hp, &p, &proto, &err), 0);
	assert_int_equal(hp, 8080);
	assert_int_equal(p, 80);
	assert_int_equal(proto, IPPROTO_TCP);
	assert_int_equal(isc_fw_parse_port("53:5353/udp", true, &hp, &p, &proto, &err), 0);
	assert_int_equal(proto, IPPROTO_UDP);
	assert_int_equal(isc_fw_parse_port("8080/tcp", false, &hp, &p, &proto, &err), 0);
	assert_int_equal(hp, 8080);
	assert_int_equal(p, 0);
	static const char *const bad_target[] = { "8080", "0:80", "8080:0", "65536:80", "8080:80/sctp", "a:b",
						  ":80", "8080:", "8080:80/", "-1:80", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_target); i++) {
		assert_int_equal(isc_fw_parse_port(bad_target[i], true, &hp, &p, &proto, &err), -1);
		assert_int_equal(err->errnum, EINVAL);
		isc_error_free(&err);
	}
	assert_int_equal(isc_fw_parse_port("8080:80", false, &hp, &p, &proto, &err), -1);
	isc_error_free(&err);
	char *dst = NULL;
	assert_int_equal(isc_fw_parse_flow("db:5432", &dst, &p, &proto, &err), 0);
	assert_string_equal(dst, "db");
	assert_int_equal(p, 5432);
	free(dst);
	assert_int_equal(isc_fw_parse_flow("dns:53/udp", &dst, &p, &proto, &err), 0);
	assert_int_equal(proto, IPPROTO_UDP);
	free(dst);
	static const char *const bad_flow[] = { "db", ":5432", "db:", "db:99999", "db:5432/icmp", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_flow); i++) {
		assert_int_equal(isc_fw_parse_flow(bad_flow[i], &dst, &p, &proto, &err), -1);
		assert_int_equal(err->errnum, EINVAL);
		isc_error_free(&err);
	}
}

static void packet_records(void **state)
{
	(void)state;
	/* IPv4 TCP 10.213.0.99:40000 -> 192.0.2.1:80 */
	static const uint8_t tcp[40] = { 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 213, 0, 99, 192, 0, 2, 1,
					 0x9c, 0x40, 0, 80 };
	json_t *o = isc_pktlog_record("T", "isc-spoof-ip ", "isc0", NULL, "vc1", NULL, "web", 0x0800, tcp, sizeof(tcp));
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"container\":\"web\",\"dport\":80,\"dst\":\"192.0.2.1\",\"in\":\"isc0\",\"physin\":"
			       "\"vc1\",\"prefix\":\"isc-spoof-ip\",\"proto\":\"tcp\",\"sport\":40000,\"src\":\"10.213.0.99\","
			       "\"time\":\"T\",\"verdict\":\"drop\"}");
	free(s);
	json_decref(o);
	/* ARP request: who has 10.213.0.1, tell 10.213.0.3 (from 02:15:0a:d5:00:02) */
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 2, 0x15, 10, 213, 0, 2, 10, 213, 0, 3,
					 0, 0, 0, 0, 0, 0, 10, 213, 0, 1 };
	o = isc_pktlog_record("T", "isc-spoof-arp ", "isc0", NULL, "vc1", NULL, NULL, 0x0806, arp, sizeof(arp));
	assert_string_equal(json_string_value(json_object_get(o, "src")), "10.213.0.3");
	assert_string_equal(json_string_value(json_object_get(o, "arp_sha")), "02:15:0a:d5:00:02");
	assert_string_equal(json_string_value(json_object_get(o, "proto")), "arp");
	assert_null(json_object_get(o, "container"));
	json_decref(o);
	/* truncated and accepted */
	o = isc_pktlog_record("T", "isc-accept ", NULL, NULL, NULL, NULL, NULL, 0x0800, tcp, 10);
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "accept");
	assert_null(json_object_get(o, "src"));
	assert_string_equal(json_string_value(json_object_get(o, "malformed")), "short ipv4 header");
	json_decref(o);
	/* what a container may put on the wire: a header length below 20 or past the end */
	uint8_t bad[40];
	memcpy(bad, tcp, sizeof(bad));
	bad[0] = 0x43;
	o = isc_pktlog_record("T", "isc-spoof-ip ", "isc0", NULL, "vc1", NULL, "web", 0x0800, bad, sizeof(bad));
	assert_string_equal(json_string_value(json_object_get(o, "malformed")), "ipv4 header length");
	assert_string_equal(json_string_value(json_object_get(o, "src")), "10.213.0.99");
	assert_int_equal(json_integer_value(json_object_get(o, "proto")), 6);
	assert_null(json_object_get(o, "sport"));
	json_decref(o);
	bad[0] = 0x4f; /* 60 bytes of header in a 40-byte packet */
	o = isc_pktlog_record("T", "isc-spoof-ip ", "isc0", NULL, "vc1", NULL, "web", 0x0800, bad, sizeof(bad));
	assert_string_equal(json_string_value(json_object_get(o, "malformed")), "ipv4 header length");
	json_decref(o);
	bad[0] = 0x65; /* not version 4 */
	o = isc_pktlog_record("T", "isc-spoof-ip ", "isc0", NULL, "vc1", NULL, "web", 0x0800, bad, sizeof(bad));
	assert_string_equal(json_string_value(json_object_get(o, "malformed")), "not ipv4");
	assert_null(json_object_get(o, "src"));
	json_decref(o);
	/* a well-formed header without ports (the tcp one cut after 22 bytes) */
	o = isc_pktlog_record("T", "isc-spoof-ip ", "isc0", NULL, "vc1", NULL, "web", 0x0800, tcp, 22);
	assert_null(json_object_get(o, "malformed"));
	assert_null(json_object_get(o, "sport"));
	assert_string_equal(json_string_value(json_object_get(o, "proto")), "tcp");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ruleset_text),
		cmocka_unit_test(policy_commands),
		cmocka_unit_test(element_commands),
		cmocka_unit_test(port_specs),
		cmocka_unit_test(packet_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
