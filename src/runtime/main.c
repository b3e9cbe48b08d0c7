/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-runtime: the OCI runtime command line.  A verb table; each verb (in
 * verbs.c) parses its flags, fills a context and makes one libisc call.
 * Only this program prints errors. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"
#include "spec/spec.h"

static const struct verb verbs[] = {
	{ "create", verb_create, "create a container (it waits for start)" },
	{ "start", verb_start, "start a created container" },
	{ "run", verb_run, "create and start a container" },
	{ "state", verb_state, "print the state of a container (JSON)" },
	{ "kill", verb_kill, "send a signal to the container's init" },
	{ "delete", verb_delete, "delete a container and everything it used" },
	{ "list", verb_list, "list containers" },
	{ "exec", verb_exec, "run another process in a running container" },
	{ "ps", verb_ps, "list the processes of a container" },
	{ "pause", verb_pause, "freeze every process of a container" },
	{ "resume", verb_resume, "thaw a paused container" },
	{ "update", verb_update, "change the resource limits of a container" },
	{ "spec", verb_spec, "write a hardened default config.json" },
	{ "features", verb_features, "print the features this runtime supports (JSON)" },
	{ "help", verb_help, "show help for a command" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: isc-runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"isc-runtime runs OCI bundles (runtime-spec 1.2) as hardened containers.\n"
		"\n"
		"Global options:\n"
		"  --root DIR            state directory (default " ISC_RUNTIME_DEFAULT_ROOT ")\n"
		"  --log FILE            write the log to FILE instead of stderr\n"
		"  --log-format FORMAT   text (default) or json (one object per line: msg, level, time)\n"
		"  --debug               log debug messages\n"
		"  --systemd-cgroup      use systemd to manage cgroups (refused: not supported)\n"
		"  --cgroup-manager M    cgroupfs (default), or disabled (no cgroups); systemd is refused\n"
		"  -v, --version         print the version\n"
		"  -h, --help            print this help\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\nRun 'isc-runtime help COMMAND' for a command's options. See isc-runtime(8).\n");
}

int verb_help(struct global *g, int argc, char **argv)
{
	(void)g;
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	return verb_usage(argv[1], stdout) == 0 ? 0 : 1;
}

static void print_version(void)
{
	printf("isc-runtime version %s\nspec: %s\n", ISC_VERSION, ISC_OCI_VERSION);
}

int main(int argc, char **argv)
{
	struct global g = { .root = ISC_RUNTIME_DEFAULT_ROOT };
	const char *log_path = NULL, *log_format = "text", *cgroup_manager = "cgroupfs";
	bool debug = false, systemd_cgroup = false;

	isc_json_init();
	/* a hook or a client that closes a pipe early must not kill us */
	signal(SIGPIPE, SIG_IGN);

	enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_CGMGR, OPT_CRIU, OPT_ROOTLESS };
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD },
		{ "cgroup-manager", required_argument, NULL, OPT_CGMGR },
		{ "criu", required_argument, NULL, OPT_CRIU },
		{ "rootless", required_argument, NULL, OPT_ROOTLESS },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT: g.root = optarg; break;
		case OPT_LOG: log_path = optarg; break;
		case OPT_LOG_FORMAT: log_format = optarg; break;
		case OPT_DEBUG: debug = true; break;
		case OPT_SYSTEMD: systemd_cgroup = true; break;
		case OPT_CGMGR: cgroup_manager = optarg; break;
		case OPT_CRIU: case OPT_ROOTLESS: break; /* accepted for compatibility */
		case 'v': print_version(); return 0;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "isc-runtime: unknown global option %s\n", argv[optind - 1]);
			usage(stderr);
			return 1;
		}
	}
	bool json = strcmp(log_format, "json") == 0;
	if (!json && strcmp(log_format, "text") != 0) {
		fprintf(stderr, "isc-runtime: --log-format: unknown format \"%s\" (text or json)\n", log_format);
		return 1;
	}
	isc_error *err = NULL;
	if (isc_log_init(log_path, json, debug, &err) < 0) {
		char buf[512];
		fprintf(stderr, "isc-runtime: %s\n", isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
		return 1;
	}
	if (systemd_cgroup || strcmp(cgroup_manager, "systemd") == 0) {
		if (access("/run/systemd/system", F_OK) < 0)
			isc_error_set(&err, 0, "--systemd-cgroup / --cgroup-manager systemd: systemd is not running on "
					       "this host (no /run/systemd/system); use --cgroup-manager cgroupfs");
		else
			isc_error_set(&err, ENOTSUP, "--systemd-cgroup / --cgroup-manager systemd: the systemd cgroup "
						     "manager is not supported; use --cgroup-manager cgroupfs");
		isc_log_error(err);
		isc_error_free(&err);
		return 1;
	}
	if (strcmp(cgroup_manager, "disabled") == 0)
		g.no_cgroups = true; /* podman --cgroups=disabled: no cgroups at all */
	else if (strcmp(cgroup_manager, "cgroupfs") != 0) {
		isc_error_set(&err, EINVAL, "--cgroup-manager: unsupported manager \"%s\" (cgroupfs or disabled)",
			      cgroup_manager);
		isc_log_error(err);
		isc_error_free(&err);
		return 1;
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	int vi = optind;
	const char *name = argv[vi];
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verbs[i].name, name) == 0) {
			optind = 0; /* reset getopt for the verb's own flags */
			return verbs[i].fn(&g, argc - vi, argv + vi);
		}
	}
	fprintf(stderr, "isc-runtime: unknown command \"%s\"\n", name);
	usage(stderr);
	return 1;
}
