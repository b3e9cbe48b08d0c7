/* SPDX-License-Identifier: GPL-2.0-or-later
 * ps, pause, resume, update: parse flags, one libisc call (control.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/control.h"
#include "base/escape.h"
#include "runtime.h"
#include "spec/spec.h"
#include "base/util.h"

static int fail(isc_error *err)
{
	isc_log_error(err);
	isc_error_free(&err);
	return 1;
}

static int usage_fail(const char *verb, const char *msg, const char *arg)
{
	fprintf(stderr, "isc-runtime %s: %s%s\n", verb, msg, arg ? arg : "");
	verb_usage(verb, stderr);
	return 1;
}

/* The process's command line, NULs as spaces; "[comm]" for kernel-less
 * (empty) command lines; "?" when it is gone.  The container chose both:
 * escaped for the terminal (escape.h). */
static char *cmdline_of(pid_t pid)
{
	cleanup_free char *path = isc_xasprintf("/proc/%d/cmdline", (int)pid);
	cleanup_free char *text = NULL;
	size_t len = 0;
	cleanup_error isc_error *e = NULL;
	if (isc_read_file(path, &text, &len, 4096, &e) < 0)
		return isc_xstrdup("?");
	while (len > 0 && text[len - 1] == '\0')
		len--;
	if (len == 0) {
		cleanup_free char *cpath = isc_xasprintf("/proc/%d/comm", (int)pid);
		cleanup_free char *comm = NULL;
		cleanup_error isc_error *e2 = NULL;
		if (isc_read_file(cpath, &comm, NULL, 256, &e2) < 0)
			return isc_xstrdup("?");
		comm[strcspn(comm, "\n")] = '\0';
		cleanup_free char *ecomm = isc_escape(comm);
		return isc_xasprintf("[%s]", ecomm);
	}
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	return isc_escape_n(text, len);
}

/* `ps [--format table|json] ID`: json is the array of pids containerd's
 * shim reads ([1234,1235]); table is "PID CMD" from /proc (not runc's
 * `ps -ef` passthrough; extra ps(1) arguments are refused). */
int verb_ps(struct global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	rt_verb_getopt("ps", &go);
	bool json = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") == 0)
				json = false;
			else
				return usage_fail("ps", "--format: unknown format ", optarg);
			break;
		case 'h':
			verb_usage("ps", stdout);
			return 0;
		default:
			return usage_fail("ps", "unknown or incomplete option ", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_fail("ps", "a container ID is required", NULL);
	if (argc - optind > 1)
		return usage_fail("ps", "too many arguments (ps(1) options are not supported)", NULL);
	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	if (isc_container_ps(&ctx, argv[optind], &pids, &n, &err) < 0)
		return fail(err);
	if (json) {
		fputc('[', stdout);
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		fputs("]\n", stdout);
	} else {
		printf("%-8s %s\n", "PID", "CMD");
		for (size_t i = 0; i < n; i++) {
			cleanup_free char *cmd = cmdline_of(pids[i]);
			printf("%-8d %s\n", (int)pids[i], cmd);
		}
	}
	free(pids);
	return 0;
}

/* pause / resume: exactly one ID. */
static int one_id_verb(struct global *g, const char *verb, int argc, char **argv,
		       int (*fn)(const struct isc_context *, const char *, isc_error **))
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return verb_usage(verb, stdout), 0;
		return usage_fail(verb, "unknown option ", argv[i]);
	}
	if (i != argc - 1)
		return usage_fail(verb, i >= argc ? "a container ID is required" : "too many arguments", NULL);
	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	if (fn(&ctx, argv[i], &err) < 0)
		return fail(err);
	return 0;
}

int verb_pause(struct global *g, int argc, char **argv)
{
	return one_id_verb(g, "pause", argc, argv, isc_container_pause);
}

int verb_resume(struct global *g, int argc, char **argv)
{
	return one_id_verb(g, "resume", argc, argv, isc_container_resume);
}

/* ---- update ---------------------------------------------------------- */

enum upd_kind { UPD_SIZE, UPD_INT, UPD_LIST };

/* One value flag: its kind, range and where it lands. */
static const struct upd_flag {
	int opt;
	const char *name;
	enum upd_kind kind;
	int64_t min, max;
} upd_flags[] = {
	{ RT_OPT_MEMORY, "memory", UPD_SIZE, -1, INT64_MAX },
	{ RT_OPT_MEMRES, "memory-reservation", UPD_SIZE, -1, INT64_MAX },
	{ RT_OPT_MEMSWAP, "memory-swap", UPD_SIZE, -1, INT64_MAX },
	{ RT_OPT_PIDS, "pids-limit", UPD_INT, -1, INT64_MAX },
	{ RT_OPT_SHARES, "cpu-shares", UPD_INT, 2, 262144 },
	{ RT_OPT_QUOTA, "cpu-quota", UPD_INT, -1, INT64_MAX },
	{ RT_OPT_PERIOD, "cpu-period", UPD_INT, 1000, 1000000 },
	{ RT_OPT_CPUS, "cpuset-cpus", UPD_LIST, 0, 0 },
	{ RT_OPT_MEMS, "cpuset-mems", UPD_LIST, 0, 0 },
	{ RT_OPT_BLKIO, "blkio-weight", UPD_INT, 10, 1000 },
};

static void set_flag(struct isc_resources *r, int opt, int64_t v, const char *s)
{
	switch (opt) {
	case RT_OPT_MEMORY:
		r->has_memory_limit = true, r->memory_limit = v;
		break;
	case RT_OPT_MEMRES:
		r->has_memory_reservation = true, r->memory_reservation = v;
		break;
	case RT_OPT_MEMSWAP:
		r->has_memory_swap = true, r->memory_swap = v;
		break;
	case RT_OPT_PIDS:
		r->has_pids_limit = true, r->pids_limit = v;
		break;
	case RT_OPT_SHARES:
		r->has_cpu_shares = true, r->cpu_shares = (uint64_t)v;
		break;
	case RT_OPT_QUOTA:
		r->has_cpu_quota = true, r->cpu_quota = v;
		break;
	case RT_OPT_PERIOD:
		r->has_cpu_period = true, r->cpu_period = (uint64_t)v;
		break;
	case RT_OPT_CPUS:
		free(r->cpu_cpus), r->cpu_cpus = isc_xstrdup(s);
		break;
	case RT_OPT_MEMS:
		free(r->cpu_mems), r->cpu_mems = isc_xstrdup(s);
		break;
	case RT_OPT_BLKIO:
		r->has_blkio_weight = true, r->blkio_weight = (uint16_t)v;
		break;
	default:
		break;
	}
}

static int parse_flag_value(const struct upd_flag *f, const char *s, int64_t *v, isc_error **err)
{
	if (f->kind == UPD_LIST) {
		if (*s == '\0' || s[strspn(s, "0123456789-,")] != '\0')
			return isc_error_set(err, 0, "update --%s: invalid list \"%s\" (want e.g. 0-2,4)", f->name, s);
		return 0;
	}
	if (f->kind == UPD_SIZE) {
		if (isc_control_parse_size(s, v) < 0)
			return isc_error_set(err, 0, "update --%s: invalid size \"%s\" (bytes, or with k, m, g suffix)",
					     f->name, s);
	} else if (isc_parse_i64(s, v) < 0) {
		return isc_error_set(err, 0, "update --%s: invalid number \"%s\"", f->name, s);
	}
	if (*v < f->min || *v > f->max)
		return isc_error_set(err, 0, "update --%s: %s is out of range [%lld, %lld]", f->name, s,
				     (long long)f->min, (long long)f->max);
	return 0;
}

static int read_resources(const char *file, struct isc_resources *r, isc_error **err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (strcmp(file, "-") == 0) {
		if (isc_read_file("/dev/stdin", &text, &len, 1u << 20, err) < 0)
			return isc_error_wrap(err, "update --resources -");
	} else if (isc_read_file(file, &text, &len, 1u << 20, err) < 0) {
		return isc_error_wrap(err, "update --resources");
	}
	if (isc_spec_parse_resources(text, len, r, err) < 0)
		return isc_error_wrap(err, "update --resources %s", file);
	return 0;
}

static bool any_resource(const struct isc_resources *r)
{
	return r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap || r->has_memory_swappiness ||
	       r->disable_oom_killer || r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period || r->cpu_cpus ||
	       r->cpu_mems || r->has_pids_limit || r->n_devices || r->has_blkio_weight || r->n_hugepage_limits ||
	       r->n_unified;
}

int verb_update(struct global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	rt_verb_getopt("update", &go);
	/* flags override the file: remember them and apply after it */
	struct {
		const struct upd_flag *f;
		int64_t v;
		const char *s;
	} given[32];
	size_t n_given = 0;
	const char *file = NULL;
	isc_error *err = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c == 'r') {
			file = optarg;
			continue;
		}
		if (c == 'h')
			return verb_usage("update", stdout), 0;
		const struct upd_flag *f = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(upd_flags); i++)
			if (upd_flags[i].opt == c)
				f = &upd_flags[i];
		if (f == NULL)
			return usage_fail("update", "unknown or incomplete option ", argv[optind - 1]);
		if (n_given == ARRAY_SIZE(given))
			return usage_fail("update", "too many options", NULL);
		int64_t v = 0;
		if (parse_flag_value(f, optarg, &v, &err) < 0)
			return fail(err);
		given[n_given].f = f;
		given[n_given].v = v;
		given[n_given++].s = optarg;
	}
	if (optind >= argc)
		return usage_fail("update", "a container ID is required", NULL);
	if (argc - optind > 1)
		return usage_fail("update", "too many arguments", NULL);
	struct isc_resources res = { 0 };
	if (file && read_resources(file, &res, &err) < 0)
		return fail(err);
	for (size_t i = 0; i < n_given; i++)
		set_flag(&res, given[i].f->opt, given[i].v, given[i].s);
	int rc = 0;
	if (!any_resource(&res)) {
		rc = usage_fail("update", "nothing to update: give --resources or a limit flag", NULL);
	} else {
		struct isc_context ctx;
		make_context(g, &ctx);
		if (isc_container_update(&ctx, argv[optind], &res, &err) < 0)
			rc = fail(err);
	}
	isc_resources_clear(&res);
	return rc;
}
