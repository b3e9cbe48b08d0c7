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

static void usage(FILE *f)
{
	fprintf(f, "Usage: isc-runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
		   "\n"
		   "isc-runtime runs OCI bundles (runtime-spec 1.2) as hardened containers.\n"
		   "\n"
		   "Global options:\n");
	isc_cli_flags_help(f, rt_global_flags());
	fprintf(f, "\nCommands:\n");
	isc_cli_verbs_help(f, rt_verbs, 10);
	fprintf(f, "\nRun 'isc-runtime help COMMAND' for a command's options. See isc-runtime(8).\n");
}

int verb_help(struct global *g, int argc, char **argv)
{
	(void)g;
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return verb_usage("help", stdout), 0;
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

	struct isc_cli_getopt go;
	isc_cli_getopt_init(&go, rt_global_flags());
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		switch (c) {
		case RT_OPT_ROOT:
			g.root = optarg;
			break;
		case RT_OPT_LOG:
			log_path = optarg;
			break;
		case RT_OPT_LOG_FORMAT:
			log_format = optarg;
			break;
		case RT_OPT_DEBUG:
			debug = true;
			break;
		case RT_OPT_SYSTEMD:
			systemd_cgroup = true;
			break;
		case RT_OPT_CGMGR:
			cgroup_manager = optarg;
			break;
		case RT_OPT_CRIU:
		case RT_OPT_ROOTLESS:
			break; /* accepted for compatibility */
		case 'v':
			print_version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
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
			isc_error_set(&err, 0,
				      "--systemd-cgroup / --cgroup-manager systemd: systemd is not running on "
				      "this host (no /run/systemd/system); use --cgroup-manager cgroupfs");
		else
			isc_error_set(&err, ENOTSUP,
				      "--systemd-cgroup / --cgroup-manager systemd: the systemd cgroup "
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
	const struct isc_cli_verb *v = isc_cli_find(rt_verbs, name);
	if (v != NULL) {
		optind = 0; /* reset getopt for the verb's own flags */
		return ((verb_fn *)v->fn)(&g, argc - vi, argv + vi);
	}
	fprintf(stderr, "isc-runtime: unknown command \"%s\"\n", name);
	usage(stderr);
	return 1;
}
