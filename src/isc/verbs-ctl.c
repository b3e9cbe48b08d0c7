/* SPDX-License-Identifier: GPL-2.0-or-later
 * The service-control verbs: kill, pause, unpause, wait, update, stats,
 * top.  Each parses its flags, checks what it can here and asks iscd
 * (protocol.h) once per NAME; stats asks again at every refresh.  The
 * text that comes from the container (top's command lines) is escaped. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "iscd/protocol.h"
#include "base/escape.h"
#include "isc.h"
#include "plan/plan.h"
#include "base/util.h"

#define STATS_REFRESH_S 2 /* stats without --no-stream: a refresh every 2 s */

/* -h/--help before "--": the verb's help printed. */
static int help_asked(int argc, char **argv, const char *verb)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			isc_verb_usage(verb, stdout);
			return 1;
		}
	return 0;
}

static int usage_error(const char *verb)
{
	isc_verb_usage(verb, stderr);
	return ISC_EXIT_USAGE;
}

/* getopt for a verb whose only flag is --help: no other option. */
static int plain_names(struct isc_global *g, int argc, char **argv, const char *op)
{
	if (help_asked(argc, argv, op))
		return 0;
	int first = 1;
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	else if (first < argc && argv[first][0] == '-') {
		fprintf(stderr, "isc: %s: unknown option %s\n", op, argv[first]);
		return usage_error(op);
	}
	return isc_each_name(g, argc, argv, first, json_pack("{s:s}", "op", op));
}

/* ---- kill ------------------------------------------------------------------------------ */

/* "KILL", "SIGKILL", "kill", "9" -> 9; -1 when not a signal. */
static int parse_signal(const char *s)
{
	uint64_t n;
	if (isc_parse_u64(s, &n) == 0)
		return n >= 1 && n < (uint64_t)SIGRTMIN ? (int)n : -1;
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && strcasecmp(abbrev, name) == 0)
			return sig;
	}
	return -1;
}

int verb_kill(struct isc_global *g, int argc, char **argv)
{
	if (help_asked(argc, argv, "kill"))
		return 0;
	struct isc_cli_getopt go;
	isc_verb_getopt("kill", &go);
	int sig = SIGKILL, c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c == 's' && (sig = parse_signal(optarg)) < 0) {
			fprintf(stderr,
				"isc: kill: --signal: \"%s\" is not a signal (a name like TERM or SIGTERM, or a "
				"number 1-%d)\n",
				optarg, SIGRTMIN - 1);
			return ISC_EXIT_USAGE;
		}
		if (c != 's')
			return usage_error("kill");
	}
	return isc_each_name(g, argc, argv, optind, json_pack("{s:s, s:i}", "op", "kill", "signal", sig));
}

int verb_pause(struct isc_global *g, int argc, char **argv)
{
	return plain_names(g, argc, argv, "pause");
}

int verb_unpause(struct isc_global *g, int argc, char **argv)
{
	return plain_names(g, argc, argv, "unpause");
}

/* ---- wait ------------------------------------------------------------------------------ */

/* Each NAME's exit status on a line of its own (-1 when it is unknown:
 * the init was not iscd's child); bounded only by the service's run. */
int verb_wait(struct isc_global *g, int argc, char **argv)
{
	if (help_asked(argc, argv, "wait"))
		return 0;
	int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
	if (first == 1 && argc > 1 && argv[1][0] == '-') {
		fprintf(stderr, "isc: wait: unknown option %s\n", argv[1]);
		return usage_error("wait");
	}
	if (first >= argc) {
		fprintf(stderr, "isc: wait: a NAME is required\n");
		return ISC_EXIT_USAGE;
	}
	int rc = 0;
	for (int i = first; i < argc; i++) {
		isc_error *err = NULL;
		json_t *req = json_pack("{s:s, s:s, s:b}", "op", "wait", "name", argv[i], "current", true);
		int fd = isc_ctl_send_request(g->root, req, &err);
		json_decref(req);
		json_t *reply = NULL;
		if (fd < 0 || isc_ctl_finish(fd, &reply, &err) < 0) {
			if (fd >= 0)
				close(fd);
			rc = isc_report_ctl(&err);
			continue;
		}
		close(fd);
		json_t *st = json_object_get(json_object_get(reply, "exit"), "status");
		printf("%lld\n", json_is_integer(st) ? (long long)json_integer_value(st) : -1LL);
		fflush(stdout);
		json_decref(reply);
	}
	return rc;
}

/* ---- update ---------------------------------------------------------------------------- */

int verb_update(struct isc_global *g, int argc, char **argv)
{
	if (help_asked(argc, argv, "update"))
		return 0;
	struct isc_cli_getopt go;
	isc_verb_getopt("update", &go);
	json_t *proto = json_pack("{s:s}", "op", "update");
	isc_error *err = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		uint64_t v = 0;
		int64_t pids = 0;
		if (c == 'm') {
			if (isc_plan_parse_size(optarg, &v, &err) < 0 || v < (4ULL << 20)) {
				if (err == NULL)
					fprintf(stderr, "isc: update: --memory: %s is less than 4m\n", optarg);
				else
					isc_error_wrap(&err, "update: --memory"), isc_report_input(&err);
				json_decref(proto);
				return ISC_EXIT_USAGE;
			}
			json_object_set_new(proto, "memory", json_integer((json_int_t)v));
		} else if (c == OPT_CPUS) {
			if (isc_plan_parse_cpus(optarg, &v, &err) < 0) {
				isc_error_wrap(&err, "update");
				isc_report_input(&err);
				json_decref(proto);
				return ISC_EXIT_USAGE;
			}
			json_object_set_new(proto, "cpu_quota", json_integer((json_int_t)v));
		} else if (c == OPT_PIDS) {
			if (isc_parse_i64(optarg, &pids) < 0 || pids <= 0) {
				fprintf(stderr, "isc: update: --pids-limit: \"%s\" is not a positive number\n", optarg);
				json_decref(proto);
				return ISC_EXIT_USAGE;
			}
			json_object_set_new(proto, "pids_limit", json_integer((json_int_t)pids));
		} else {
			json_decref(proto);
			return usage_error("update");
		}
	}
	if (json_object_size(proto) == 1) {
		fprintf(stderr, "isc: update: nothing to change: give --memory, --cpus or --pids-limit\n");
		json_decref(proto);
		return ISC_EXIT_USAGE;
	}
	return isc_each_name(g, argc, argv, optind, proto);
}

/* ---- stats ----------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_stats;
static void on_int(int sig)
{
	(void)sig;
	stop_stats = 1;
}

static char *human(json_t *v)
{
	if (!json_is_integer(v))
		return isc_xstrdup("--");
	json_int_t b = json_integer_value(v);
	if (b < 0)
		return isc_xstrdup("unlimited");
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)b;
	size_t u = 0;
	while (d >= 1024 && u + 1 < ARRAY_SIZE(units))
		d /= 1024, u++;
	return isc_xasprintf(u == 0 ? "%.0f%s" : "%.1f%s", d, units[u]);
}

/* One sample per name: the reply plus the client's clock. */
struct sample {
	json_t *reply;
	uint64_t at_ns;
};

/* CPU %: the time used since the previous sample over the time passed; the
 * first sample: over the run so far (podman's one-shot figure). */
static double cpu_percent(const struct sample *prev, const struct sample *cur)
{
	json_t *c = json_object_get(cur->reply, "cpu_ns");
	if (!json_is_integer(c))
		return -1;
	double used = (double)json_integer_value(c), span;
	json_t *p = prev && prev->reply ? json_object_get(prev->reply, "cpu_ns") : NULL;
	if (json_is_integer(p)) {
		used -= (double)json_integer_value(p);
		span = (double)(cur->at_ns - prev->at_ns);
	} else {
		span = (double)json_integer_value(json_object_get(cur->reply, "run_time_ns"));
	}
	return span > 0 ? used * 100.0 / span : 0;
}

static void stats_print(struct sample *prev, struct sample *cur, size_t n, bool as_json)
{
	json_t *all = json_array();
	if (!as_json)
		printf("%-20s %-8s %8s %22s %14s\n", "NAME", "STATE", "CPU %", "MEM USAGE / LIMIT", "PIDS");
	for (size_t i = 0; i < n; i++) {
		if (cur[i].reply == NULL)
			continue;
		double cpu = cpu_percent(prev ? &prev[i] : NULL, &cur[i]);
		json_t *r = cur[i].reply;
		if (as_json) {
			json_t *o = json_deep_copy(r);
			json_object_del(o, "ok");
			json_object_set_new(o, "cpu_percent", cpu < 0 ? json_null() : json_real(cpu));
			json_array_append_new(all, o);
			continue;
		}
		cleanup_free char *use = human(json_object_get(r, "memory_usage"));
		cleanup_free char *lim = human(json_object_get(r, "memory_limit"));
		cleanup_free char *mem = isc_xasprintf("%s / %s", use, lim);
		json_t *np = json_object_get(r, "pids"), *pl = json_object_get(r, "pids_limit");
		cleanup_free char *plim = json_integer_value(pl) < 0
						  ? isc_xstrdup("unlimited")
						  : isc_xasprintf("%lld", (long long)json_integer_value(pl));
		cleanup_free char *pids = json_is_integer(np)
						  ? isc_xasprintf("%lld / %s", (long long)json_integer_value(np), plim)
						  : isc_xstrdup("--");
		cleanup_free char *cpus = cpu < 0 ? isc_xstrdup("--") : isc_xasprintf("%.2f%%", cpu);
		printf("%-20s %-8s %8s %22s %14s\n", json_string_value(json_object_get(r, "name")),
		       json_string_value(json_object_get(r, "state")), cpus, mem, pids);
	}
	if (as_json) {
		cleanup_free char *text = json_dumps(all, JSON_INDENT(2) | JSON_REAL_PRECISION(4));
		printf("%s\n", text ? text : "[]");
	}
	json_decref(all);
	fflush(stdout);
}

/* The services to sample: the names given, or every running one. */
static int stats_names(struct isc_global *g, int argc, char **argv, int first, char ***names, size_t *n)
{
	*n = 0;
	*names = NULL;
	if (first < argc) {
		*names = isc_xmalloc0((size_t)(argc - first) * sizeof(char *));
		for (int i = first; i < argc; i++)
			(*names)[(*n)++] = isc_xstrdup(argv[i]);
		return 0;
	}
	json_t *reply = NULL;
	if (isc_call(g, json_pack("{s:s}", "op", "ps"), &reply) != 0)
		return -1;
	json_t *list = json_object_get(reply, "services"), *s;
	size_t i;
	*names = isc_xmalloc0((json_array_size(list) + 1) * sizeof(char *));
	json_array_foreach(list, i, s) {
		const char *st = json_string_value(json_object_get(s, "state"));
		if (st && (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0))
			(*names)[(*n)++] = isc_xstrdup(json_string_value(json_object_get(s, "name")));
	}
	json_decref(reply);
	return 0;
}

int verb_stats(struct isc_global *g, int argc, char **argv)
{
	if (help_asked(argc, argv, "stats"))
		return 0;
	struct isc_cli_getopt go;
	isc_verb_getopt("stats", &go);
	bool stream = true, as_json = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c == OPT_NO_STREAM)
			stream = false;
		else if (c == OPT_FORMAT && strcmp(optarg, "json") == 0)
			as_json = true;
		else if (c == OPT_FORMAT) {
			fprintf(stderr, "isc: stats: --format: \"%s\": only json\n", optarg);
			return ISC_EXIT_USAGE;
		} else
			return usage_error("stats");
	}
	char **names = NULL;
	size_t n = 0;
	if (stats_names(g, argc, argv, optind, &names, &n) < 0)
		return 1;
	struct sample *prev = isc_xmalloc0((n + 1) * sizeof(*prev)), *cur = isc_xmalloc0((n + 1) * sizeof(*cur));
	int rc = 0;
	signal(SIGINT, on_int);
	signal(SIGTERM, on_int);
	for (bool first = true; !stop_stats; first = false) {
		for (size_t i = 0; i < n; i++) {
			json_decref(prev[i].reply);
			prev[i] = cur[i];
			cur[i].reply = NULL;
			cur[i].at_ns = isc_now_ns();
			if (isc_call(g, json_pack("{s:s, s:s}", "op", "stats", "name", names[i]), &cur[i].reply) != 0)
				rc = 1;
		}
		if (stream && isatty(STDOUT_FILENO))
			fputs("\033[H\033[J", stdout);
		stats_print(first ? NULL : prev, cur, n, as_json);
		if (!stream || (first && rc != 0))
			break;
		sleep(STATS_REFRESH_S);
	}
	for (size_t i = 0; i < n; i++) {
		json_decref(prev[i].reply);
		json_decref(cur[i].reply);
		free(names[i]);
	}
	free(prev);
	free(cur);
	free(names);
	return rc;
}

/* ---- top ------------------------------------------------------------------------------- */

int verb_top(struct isc_global *g, int argc, char **argv)
{
	if (help_asked(argc, argv, "top"))
		return 0;
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "isc: top: one NAME expected\n");
		return usage_error("top");
	}
	json_t *reply = NULL;
	if (isc_call(g, json_pack("{s:s, s:s}", "op", "top", "name", argv[1]), &reply) != 0)
		return 1;
	printf("%-8s %-8s %s\n", "PID", "CPID", "COMMAND");
	json_t *p;
	size_t i;
	json_array_foreach(json_object_get(reply, "processes"), i, p) {
		json_t *args = json_object_get(p, "args"), *a;
		size_t k;
		printf("%-8lld %-8lld", (long long)json_integer_value(json_object_get(p, "pid")),
		       (long long)json_integer_value(json_object_get(p, "ns_pid")));
		json_array_foreach(args, k, a) {
			cleanup_free char *safe = isc_escape(json_string_value(a));
			printf(" %s", safe ? safe : "");
		}
		printf("\n");
	}
	json_decref(reply);
	return 0;
}
