/* SPDX-License-Identifier: GPL-2.0-or-later
 * The verbs of isc-runtime: parse flags, fill a context, call libisc once,
 * print.  Messages and exit codes follow runc and crun. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/escape.h"
#include "runtime.h"
#include "base/signals.h"
#include "spec/spec.h"
#include "base/util.h"

#define SECCOMP_CACHE_DIR "/run/isc-runtime/.cache/seccomp"

static int fail(isc_error *err)
{
	isc_log_error(err);
	isc_error_free(&err);
	return 1;
}

static int usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "isc-runtime %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	verb_usage(verb, stderr);
	return 1;
}

void make_context(struct global *g, struct isc_context *ctx)
{
	ctx->root = g->root;
	ctx->no_cgroups = g->no_cgroups;
	/* every verb runs in isc-runtime's own process, nothing forked yet */
	ctx->may_reexec = true;
	ctx->seccomp_cache = NULL;
	const char *env = getenv("ISC_SECCOMP_CACHE");
	if (env != NULL) {
		ctx->seccomp_cache = *env ? env : NULL; /* empty: no cache */
	} else if (geteuid() == 0) {
		cleanup_error isc_error *e = NULL;
		if (isc_mkdir_p("/run/isc-runtime/.cache", 0700, &e) == 0)
			ctx->seccomp_cache = SECCOMP_CACHE_DIR;
	}
}

/* Flags shared by create and run. */
static int parse_create(const char *verb, int argc, char **argv, struct isc_create_opts *o)
{
	struct isc_cli_getopt go;
	rt_verb_getopt(verb, &go);
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bundle = optarg;
			break;
		case RT_OPT_PID:
			o->pid_file = optarg;
			break;
		case RT_OPT_CONSOLE:
			o->console_socket = optarg;
			break;
		case RT_OPT_DETACH:
			return usage_error(verb, "unknown option %s", "--detach"); /* create */
		case 'd':
			o->detach = true;
			break; /* run */
		case RT_OPT_NOPIVOT:
		case RT_OPT_NOKEYRING:
			break;
		case RT_OPT_PRESERVE: {
			uint64_t v = 0;
			if (isc_parse_u64(optarg, &v) < 0 || v > 256)
				return usage_error(verb, "bad --preserve-fds \"%s\"", optarg);
			o->preserve_fds = (int)v;
			break;
		}
		case 'h':
			verb_usage(verb, stdout);
			exit(0);
		default:
			return usage_error(verb, "unknown or incomplete option %s", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error(verb, "%s", optind >= argc ? "a container ID is required" : "too many arguments");
	o->id = argv[optind];
	return 0;
}

int verb_create(struct global *g, int argc, char **argv)
{
	struct isc_create_opts o = { 0 };
	if (parse_create("create", argc, argv, &o) != 0)
		return 1;
	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	if (isc_container_create(&ctx, &o, &err) < 0)
		return fail(err);
	return 0;
}

int verb_run(struct global *g, int argc, char **argv)
{
	struct isc_create_opts o = { 0 };
	if (parse_create("run", argc, argv, &o) != 0)
		return 1;
	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	int status = 0;
	if (isc_container_run(&ctx, &o, &status, &err) < 0)
		return fail(err);
	return status;
}

/* Verbs that take exactly one ID and maybe one more argument. */
static int one_id(const char *verb, int argc, char **argv, int max_extra)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			verb_usage(verb, stdout);
			exit(0);
		}
		i++;
	}
	if (i >= argc)
		return usage_error(verb, "%s", "a container ID is required");
	if (argc - i - 1 > max_extra)
		return usage_error(verb, "%s", "too many arguments");
	return 0;
}

int verb_start(struct global *g, int argc, char **argv)
{
	if (one_id("start", argc, argv, 0) != 0)
		return 1;
	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	if (isc_container_start(&ctx, argv[argc - 1], &err) < 0)
		return fail(err);
	return 0;
}

int verb_state(struct global *g, int argc, char **argv)
{
	if (one_id("state", argc, argv, 0) != 0)
		return 1;
	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	char *json = NULL;
	if (isc_container_state(&ctx, argv[argc - 1], &json, &err) < 0)
		return fail(err);
	printf("%s\n", json);
	free(json);
	return 0;
}

int verb_kill(struct global *g, int argc, char **argv)
{
	bool all = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-a") == 0 || strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return verb_usage("kill", stdout), 0;
		else
			return usage_error("kill", "unknown option %s", argv[i]);
	}
	if (i >= argc)
		return usage_error("kill", "%s", "a container ID is required");
	if (argc - i > 2)
		return usage_error("kill", "%s", "too many arguments");
	const char *id = argv[i];
	int sig = 15;
	if (i + 1 < argc) {
		sig = isc_signal_parse(argv[i + 1]);
		if (sig < 0) {
			isc_error *err = NULL;
			isc_error_set(&err, EINVAL, "kill: unknown signal \"%s\"", argv[i + 1]);
			return fail(err);
		}
	}
	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	if (isc_container_kill(&ctx, id, sig, all, &err) < 0)
		return fail(err);
	return 0;
}

int verb_delete(struct global *g, int argc, char **argv)
{
	bool force = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return verb_usage("delete", stdout), 0;
		else
			return usage_error("delete", "unknown option %s", argv[i]);
	}
	if (i != argc - 1)
		return usage_error("delete", "%s", i >= argc ? "a container ID is required" : "too many arguments");
	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	/* podman and containerd's shim clean up with `delete --force` after a
	 * failed create: for them, a container that is already gone is done */
	if (force && isc_state_check_id(argv[i], &err) == 0 && !isc_state_exists(ctx.root, argv[i]))
		return 0;
	isc_error_free(&err);
	if (isc_container_delete(&ctx, argv[i], force, &err) < 0)
		return fail(err);
	return 0;
}

int verb_list(struct global *g, int argc, char **argv)
{
	bool json = false, quiet = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			return verb_usage("list", stdout), 0;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			quiet = true;
		} else if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
			if (i + 1 >= argc)
				return usage_error("list", "%s", "--format needs a value");
			const char *v = argv[++i];
			if (strcmp(v, "json") == 0)
				json = true;
			else if (strcmp(v, "table") != 0)
				return usage_error("list", "--format: unknown format \"%s\"", v);
		} else if (strcmp(a, "--format=json") == 0) {
			json = true;
		} else if (strcmp(a, "--format=table") == 0) {
			json = false;
		} else {
			return usage_error("list", "unknown option %s", a);
		}
	}
	isc_error *err = NULL;
	if (quiet) {
		char **ids = NULL;
		if (isc_state_list(g->root, &ids, &err) < 0)
			return fail(err);
		for (char **p = ids; *p; p++)
			printf("%s\n", *p);
		isc_strvfree(ids);
		return 0;
	}
	struct isc_context ctx;
	make_context(g, &ctx);
	cleanup_free char *out = NULL;
	if (isc_container_list(&ctx, json, &out, &err) < 0)
		return fail(err);
	if (json) {
		cleanup_free char *safe = isc_escape_json(out);
		printf("%s\n", safe);
		return 0;
	}
	/* the table: a line per container, each escaped (a bundle path is
	 * the caller's, but it is printed on a terminal all the same) */
	for (char *line = out, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL) {
			isc_fputs_escaped(line, strlen(line), stdout);
			break;
		}
		isc_fputs_escaped(line, (size_t)(nl - line), stdout);
		fputc('\n', stdout);
	}
	return 0;
}

/* spec --seccomp-only: the profile alone, on stdout.  It writes no file,
 * so --bundle would mean nothing, nor would --rootless (the profile is the
 * same for both mappings): both are refused rather than ignored. */
static int spec_seccomp_only(bool bundle, bool rootless)
{
	if (bundle || rootless)
		return usage_error("spec", "--seccomp-only prints the profile to stdout: %s has no meaning with it",
				   bundle ? "--bundle" : "--rootless");
	cleanup_free char *text = isc_spec_default_seccomp_json();
	if (puts(text) == EOF || fflush(stdout) != 0) {
		isc_error *err = NULL;
		isc_error_set(&err, errno, "spec: write the profile to stdout");
		return fail(err);
	}
	return 0;
}

int verb_spec(struct global *g, int argc, char **argv)
{
	(void)g;
	const char *bundle = NULL;
	bool rootless = false, seccomp_only = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return verb_usage("spec", stdout), 0;
		if (strcmp(argv[i], "--rootless") == 0)
			rootless = true;
		else if (strcmp(argv[i], "--seccomp-only") == 0)
			seccomp_only = true;
		else if ((strcmp(argv[i], "--bundle") == 0 || strcmp(argv[i], "-b") == 0) && i + 1 < argc)
			bundle = argv[++i];
		else if (strncmp(argv[i], "--bundle=", 9) == 0)
			bundle = argv[i] + 9;
		else
			return usage_error("spec", "unknown option %s", argv[i]);
	}
	if (seccomp_only)
		return spec_seccomp_only(bundle != NULL, rootless);
	if (bundle == NULL)
		bundle = ".";
	isc_error *err = NULL;
	cleanup_free char *path = isc_xasprintf("%s/config.json", bundle);
	cleanup_free char *text = isc_spec_default_json(rootless);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			isc_error_set(&err, EEXIST, "spec: %s already exists; not overwriting it", path);
		else
			isc_error_set(&err, errno, "spec: create %s", path);
		return fail(err);
	}
	int r = isc_write_all(fd, text, strlen(text));
	if (r == 0)
		r = isc_write_all(fd, "\n", 1);
	close(fd);
	if (r < 0) {
		isc_error_set(&err, -r, "spec: write %s", path);
		return fail(err);
	}
	return 0;
}
