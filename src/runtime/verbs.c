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

struct verb_usage {
	const char *name;
	const char *text;
};

static const struct verb_usage usages[] = {
	{ "create", "Usage: isc-runtime create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] ID\n"
		    "  -b, --bundle DIR        the bundle (default: the current directory)\n"
		    "  --pid-file FILE         write the container's init pid to FILE\n"
		    "  --console-socket PATH   unix socket to receive the terminal's master fd\n"
		    "  --preserve-fds N        keep fds 3 .. 3+N-1 open in the container process\n"
		    "  --no-pivot, --no-new-keyring   accepted for compatibility\n"
		    "With LISTEN_FDS set (for this process), those fds are kept too and the\n"
		    "container process gets LISTEN_FDS and LISTEN_PID.\n" },
	{ "start", "Usage: isc-runtime start ID\n" },
	{ "run", "Usage: isc-runtime run [--bundle DIR] [--pid-file FILE] [--console-socket PATH] [--detach] ID\n"
		 "  -b, --bundle DIR        the bundle (default: the current directory)\n"
		 "  --console-socket PATH   unix socket to receive the terminal's master fd\n"
		 "  --preserve-fds N        keep fds 3 .. 3+N-1 open in the container process\n"
		 "  --pid-file FILE         write the container's init pid to FILE\n"
		 "  -d, --detach            do not wait for the container to exit\n"
		 "Without --detach, the exit status is the container's (128+N for signal N).\n" },
	{ "state", "Usage: isc-runtime state ID\n" },
	{ "kill", "Usage: isc-runtime kill [--all] ID [SIGNAL]\n"
		  "  SIGNAL is a name (TERM, SIGTERM) or a number (15); default SIGTERM\n"
		  "  -a, --all               signal every process of the container\n" },
	{ "delete", "Usage: isc-runtime delete [--force] ID\n"
		    "  -f, --force             kill a running container first\n" },
	{ "list", "Usage: isc-runtime list [--format table|json] [--quiet]\n" },
	{ "exec", "Usage: isc-runtime exec [OPTIONS] ID [COMMAND [ARG...]]\n"
		  "  -p, --process FILE      the process to run, as a process.json (instead of COMMAND)\n"
		  "  -d, --detach            do not wait: exit once the process runs\n"
		  "  --pid-file FILE         write the process's host pid to FILE\n"
		  "  -t, --tty               give the process a terminal (with --console-socket)\n"
		  "  --console-socket PATH   unix socket to receive the terminal's master fd\n"
		  "  --cwd DIR               working directory\n"
		  "  -e, --env KEY=VALUE     add an environment variable (repeatable)\n"
		  "  -u, --user UID[:GID]    user and group in the container\n"
		  "  -c, --cap CAP           add a capability within the container's bounding set (repeatable)\n"
		  "  --no-new-privs          set no_new_privs\n"
		  "  --preserve-fds N        keep fds 3 .. 3+N-1 open in the process\n"
		  "The process joins every namespace, the cgroups, and the capability, seccomp,\n"
		  "no_new_privs, rlimit and user setup of the container. Without --detach the\n"
		  "exit status is the process's.\n" },
	{ "ps", "Usage: isc-runtime ps [--format table|json] ID\n"
		"  -f, --format FORMAT     json: an array of pids; table (default): PID and command line\n" },
	{ "pause", "Usage: isc-runtime pause ID\n" },
	{ "resume", "Usage: isc-runtime resume ID\n" },
	{ "update", "Usage: isc-runtime update [--resources FILE|-] [OPTIONS] ID\n"
		    "  -r, --resources FILE    linux.resources as JSON (- for stdin)\n"
		    "  --memory BYTES, --memory-reservation BYTES, --memory-swap BYTES\n"
		    "  --pids-limit N, --cpu-shares N (or --cpu-share), --cpu-quota N, --cpu-period N\n"
		    "  --cpuset-cpus LIST, --cpuset-mems LIST, --blkio-weight N\n"
		    "Sizes are bytes or take a k, m, g suffix (64m); -1 is unlimited. Flags override\n"
		    "the file. A limit for a controller the container has no group in yet creates\n"
		    "the group and moves the container's processes into it.\n" },
	{ "spec", "Usage: isc-runtime spec [--bundle DIR] [--rootless]\n"
		  "       isc-runtime spec --seccomp-only\n"
		  "  writes a hardened default config.json into the bundle (default: .)\n"
		  "  --rootless              map only the caller's uid and gid\n"
		  "  --seccomp-only          print only its seccomp profile (linux.seccomp) to\n"
		  "                          stdout, for podman or docker run --security-opt\n"
		  "                          seccomp=FILE; writes no config.json\n" },
	{ "features", "Usage: isc-runtime features\n" },
	{ "help", "Usage: isc-runtime help [COMMAND]\n" },
};

int verb_usage(const char *name, FILE *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(usages); i++) {
		if (strcmp(usages[i].name, name) == 0) {
			fputs(usages[i].text, f);
			return 0;
		}
	}
	fprintf(stderr, "isc-runtime: unknown command \"%s\"\n", name);
	return -1;
}

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
	enum { OPT_PID = 256, OPT_CONSOLE, OPT_NOPIVOT, OPT_NOKEYRING, OPT_PRESERVE };
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, OPT_PID },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "detach", no_argument, NULL, 'd' },
		{ "no-pivot", no_argument, NULL, OPT_NOPIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NOKEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool is_run = strcmp(verb, "run") == 0;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, is_run ? "+b:dh" : "+b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': o->bundle = optarg; break;
		case OPT_PID: o->pid_file = optarg; break;
		case OPT_CONSOLE: o->console_socket = optarg; break;
		case 'd':
			if (!is_run)
				return usage_error(verb, "unknown option %s", "--detach");
			o->detach = true;
			break;
		case OPT_NOPIVOT: case OPT_NOKEYRING: break;
		case OPT_PRESERVE: {
			uint64_t v = 0;
			if (isc_parse_u64(optarg, &v) < 0 || v > 256)
				return usage_error(verb, "bad --preserve-fds \"%s\"", optarg);
			o->preserve_fds = (int)v;
			break;
		}
		case 'h': verb_usage(verb, stdout); exit(0);
		default: return usage_error(verb, "unknown or incomplete option %s", argv[optind - 1]);
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
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
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
