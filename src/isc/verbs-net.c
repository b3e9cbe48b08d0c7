/* SPDX-License-Identifier: GPL-2.0-or-later
 * The private network's verbs: expose, unexpose, allow, policy, packets.
 *
 * expose, unexpose, allow and policy are requests to iscd (ctl.h): iscd
 * runs in the ISC host's network namespace, owns the services and checks
 * the request against them before it changes a rule.  Nothing here knows
 * whether the host is a lab.  `packets` only reads R/log/packets.jsonl
 * (written by iscd's packet log). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iscd/protocol.h"
#include "net/firewall.h"
#include "base/escape.h"
#include "isc.h"
#include "net/pktlog.h"
#include "plan/plan.h"
#include "base/util.h"

static int usage_error(const char *verb, const char *usage)
{
	fprintf(stderr, "isc: %s: usage: isc %s %s\n", verb, verb, usage);
	return ISC_EXIT_USAGE;
}

static bool want_help(int argc, char **argv)
{
	return argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
}

/* Send req (consumed) to iscd; the reply in *reply when asked for. */
static int net_call(struct isc_global *g, json_t *req, json_t **reply)
{
	isc_error *err = NULL;
	json_t *r = NULL;
	int ret = isc_ctl_call(g->root, req, &r, &err);
	json_decref(req);
	if (ret < 0)
		return isc_report_ctl(&err);
	if (reply)
		*reply = r;
	else
		json_decref(r);
	return 0;
}

int verb_expose(struct isc_global *g, int argc, char **argv)
{
	static const char *u = "NAME HOSTPORT:PORT[/tcp|udp]";
	if (want_help(argc, argv)) {
		isc_verb_usage("expose", stdout);
		return 0;
	}
	if (argc != 3)
		return usage_error("expose", u);
	isc_error *err = NULL;
	struct isc_port p;
	/* checked here too: a bad spec needs no daemon to be refused */
	if (isc_fw_parse_port(argv[2], true, &p.host_port, &p.port, &p.proto, &err) < 0)
		return isc_report_input(&err);
	return net_call(g, json_pack("{s:s, s:s, s:s}", "op", "expose", "name", argv[1], "port", argv[2]), NULL);
}

int verb_unexpose(struct isc_global *g, int argc, char **argv)
{
	static const char *u = "NAME HOSTPORT[/tcp|udp]";
	if (want_help(argc, argv)) {
		isc_verb_usage("unexpose", stdout);
		return 0;
	}
	if (argc != 3)
		return usage_error("unexpose", u);
	isc_error *err = NULL;
	struct isc_port p;
	if (isc_fw_parse_port(argv[2], false, &p.host_port, &p.port, &p.proto, &err) < 0)
		return isc_report_input(&err);
	return net_call(g, json_pack("{s:s, s:s, s:s}", "op", "unexpose", "name", argv[1], "port", argv[2]), NULL);
}

int verb_allow(struct isc_global *g, int argc, char **argv)
{
	static const char *u = "[--remove] SRC DST:PORT[/tcp|udp]";
	bool remove = false;
	int i = 1;
	if (want_help(argc, argv)) {
		isc_verb_usage("allow", stdout);
		return 0;
	}
	if (i < argc && strcmp(argv[i], "--remove") == 0) {
		remove = true;
		i++;
	}
	if (argc - i != 2)
		return usage_error("allow", u);
	isc_error *err = NULL;
	cleanup_free char *dst = NULL;
	struct isc_port p = { 0 };
	if (isc_fw_parse_flow(argv[i + 1], &dst, &p.port, &p.proto, &err) < 0)
		return isc_report_input(&err);
	cleanup_free char *port = isc_xasprintf("%u/%s", p.port, isc_fw_proto_name(p.proto));
	return net_call(g,
			json_pack("{s:s, s:s, s:s, s:s, s:b}", "op", "allow", "src", argv[i], "dst", dst, "port", port,
				  "remove", remove),
			NULL);
}

int verb_policy(struct isc_global *g, int argc, char **argv)
{
	static const char *u = "[ls [--format json] | enable RULE | disable RULE]";
	if (want_help(argc, argv)) {
		isc_verb_usage("policy", stdout);
		return 0;
	}
	if (argc >= 3 && want_help(argc - 1, argv + 1) && isc_cli_find(isc_verb("policy")->sub, argv[1])) {
		char path[32];
		snprintf(path, sizeof(path), "policy %s", argv[1]);
		isc_verb_usage(path, stdout);
		return 0;
	}
	if (argc == 1 || strcmp(argv[1], "ls") == 0) {
		bool json = argc == 4 && strcmp(argv[2], "--format") == 0 && strcmp(argv[3], "json") == 0;
		if (argc > 2 && !json)
			return usage_error("policy", u);
		json_t *reply = NULL;
		int r = net_call(g, json_pack("{s:s, s:s}", "op", "policy", "action", "ls"), &reply);
		if (r != 0)
			return r;
		json_t *rules = json_object_get(reply, "rules");
		if (json) {
			json_dumpf(json_is_array(rules) ? rules : json_array(), stdout, JSON_INDENT(2));
			putchar('\n');
		} else {
			printf("%-12s %-9s %s\n", "RULE", "STATE", "DESCRIPTION");
			size_t i;
			json_t *v;
			json_array_foreach(rules, i, v)
				printf("%-12s %-9s %s\n", json_string_value(json_object_get(v, "name")) ?: "?",
				       json_is_true(json_object_get(v, "enabled")) ? "enabled" : "disabled",
				       json_string_value(json_object_get(v, "description")) ?: "");
		}
		json_decref(reply);
		return 0;
	}
	if (argc != 3 || (strcmp(argv[1], "enable") != 0 && strcmp(argv[1], "disable") != 0))
		return usage_error("policy", u);
	return net_call(g, json_pack("{s:s, s:s, s:s}", "op", "policy", "action", argv[1], "rule", argv[2]), NULL);
}

/* ---- packets ------------------------------------------------------------ */

static volatile sig_atomic_t packets_stop;
static void on_stop(int sig)
{
	packets_stop = 1;
}

/* A string field for the text view, escaped (escape.h): the packet log
 * names interfaces and containers, and a malformed header's description. */
static char *pk_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? isc_escape_n(json_string_value(v), json_string_length(v)) : isc_xstrdup("-");
}

static char *pk_endpoint(json_t *o, const char *addr, const char *port)
{
	cleanup_free char *a = pk_field(o, addr);
	json_t *p = json_object_get(o, port);
	return p ? isc_xasprintf("%s:%lld", a, (long long)json_integer_value(p)) : isc_xstrdup(a);
}

static void print_packet(json_t *o, bool json)
{
	if (json) {
		cleanup_free char *text = json_dumps(o, JSON_COMPACT);
		cleanup_free char *safe = isc_escape_json(text);
		if (safe)
			puts(safe);
		return;
	}
	cleanup_free char *t = pk_field(o, "time");
	if (json_object_get(o, "event") != NULL) {
		cleanup_free char *ev = pk_field(o, "event");
		json_t *rv = json_object_get(o, "reason");
		cleanup_free char *reason = json_is_string(rv) ? pk_field(o, "reason") : isc_xstrdup("");
		printf("%s %s %lld %s\n", t, ev, (long long)json_integer_value(json_object_get(o, "count")), reason);
		return;
	}
	cleanup_free char *src = pk_endpoint(o, "src", "sport");
	cleanup_free char *dst = pk_endpoint(o, "dst", "dport");
	cleanup_free char *prefix = pk_field(o, "prefix");
	cleanup_free char *container = pk_field(o, "container");
	cleanup_free char *proto = pk_field(o, "proto");
	cleanup_free char *in = pk_field(o, "in");
	cleanup_free char *out = pk_field(o, "out");
	bool physin = json_object_get(o, "physin") != NULL;
	cleanup_free char *phys = physin ? pk_field(o, "physin") : isc_xstrdup("");
	bool bad = json_is_string(json_object_get(o, "malformed"));
	cleanup_free char *why = bad ? pk_field(o, "malformed") : isc_xstrdup("");
	printf("%s %-16s %-12s %-5s %s -> %s in=%s%s%s out=%s%s%s\n", t, prefix, container, proto, src, dst, in,
	       physin ? "/" : "", phys, out, bad ? " malformed: " : "", why);
}

/* print the complete lines of buf[0..len), return how much was consumed */
static size_t print_lines(char *buf, size_t len, const char *container, bool json)
{
	size_t done = 0;
	for (;;) {
		char *nl = memchr(buf + done, '\n', len - done);
		if (nl == NULL)
			return done;
		*nl = '\0';
		json_t *o = json_loads(buf + done, 0, NULL);
		if (o != NULL) {
			const char *c = json_string_value(json_object_get(o, "container"));
			if (container == NULL || (c != NULL && strcmp(c, container) == 0))
				print_packet(o, json);
			json_decref(o);
		}
		done = (size_t)(nl - buf) + 1;
	}
}

int verb_packets(struct isc_global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	isc_verb_getopt("packets", &go);
	const char *container = NULL;
	bool follow = false, json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			container = optarg;
			break;
		case 'f':
			follow = true;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				fprintf(stderr, "isc: packets: --format %s: json or text\n", optarg);
				return ISC_EXIT_USAGE;
			}
			json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			isc_verb_usage("packets", stdout);
			return 0;
		default:
			fprintf(stderr, "isc: packets: unknown or incomplete option %s\n", argv[optind - 1]);
			return usage_error("packets", "[--container NAME] [--follow] [--format json]");
		}
	}
	if (optind != argc)
		return usage_error("packets", "[--container NAME] [--follow] [--format json]");
	cleanup_free char *path = isc_xasprintf("%s/" ISC_PKTLOG_FILE, g->root);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && !(errno == ENOENT && follow)) {
		if (errno == ENOENT)
			return 0; /* nothing logged yet */
		isc_error *err = NULL;
		isc_error_set(&err, errno, "packets: open %s", path);
		return isc_report(&err);
	}
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	size_t cap = 1 << 16, len = 0;
	cleanup_free char *buf = isc_xmalloc0(cap);
	while (!packets_stop) {
		if (fd < 0) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				struct timespec ts = { .tv_nsec = 200000000 };
				nanosleep(&ts, NULL);
				continue;
			}
		}
		if (len == cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (nb == NULL)
				abort();
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			len += (size_t)n;
			size_t used = print_lines(buf, len, container, json);
			memmove(buf, buf + used, len - used);
			len -= used;
			continue;
		}
		if (!follow)
			break;
		fflush(stdout);
		struct timespec ts = { .tv_nsec = 200000000 };
		nanosleep(&ts, NULL);
	}
	fflush(stdout);
	return 0;
}
