/* SPDX-License-Identifier: GPL-2.0-or-later
 * exec: parse flags, one libisc call (exec.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec.h"
#include "runtime.h"
#include "base/util.h"

static int usage_fail(const char *msg, const char *arg)
{
	fprintf(stderr, "isc-runtime exec: %s%s\n", msg, arg ? arg : "");
	verb_usage("exec", stderr);
	return 1;
}

static void strv_push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (nv == NULL)
		abort();
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
}

int verb_exec(struct global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	rt_verb_getopt("exec", &go);
	struct isc_exec_opts o = { 0 };
	cleanup_free char **env = NULL, **caps = NULL;
	size_t n_env = 0, n_caps = 0;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.process_file = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		case RT_OPT_PID:
			o.pid_file = optarg;
			break;
		case 't':
			o.tty = true;
			break;
		case RT_OPT_CONSOLE:
			o.console_socket = optarg;
			break;
		case RT_OPT_CWD:
			o.cwd = optarg;
			break;
		case 'e':
			strv_push(&env, &n_env, optarg);
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'c':
			strv_push(&caps, &n_caps, optarg);
			break;
		case RT_OPT_NNP:
			o.no_new_privs = true;
			break;
		case RT_OPT_PRESERVE: {
			uint64_t v = 0;
			if (isc_parse_u64(optarg, &v) < 0 || v > ISC_MAX_PRESERVE_FDS)
				return usage_fail("bad --preserve-fds ", optarg);
			o.preserve_fds = (int)v;
			break;
		}
		case RT_OPT_IGNORED:
		case RT_OPT_IGNORED_ARG:
			break;
		case 'h':
			verb_usage("exec", stdout);
			exit(0);
		/* env and caps are freed by their cleanup attribute, which the
		 * analyzer does not model */
		default:
			// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
			return usage_fail("unknown or incomplete option ", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_fail("a container ID is required", NULL);
	o.id = argv[optind++];
	if (o.process_file == NULL && optind >= argc)
		return usage_fail("a command or --process is required", NULL);
	if (o.process_file != NULL && optind < argc)
		return usage_fail("--process and a command exclude each other", NULL);
	o.argv = optind < argc ? argv + optind : NULL;
	o.env = env;
	o.caps = caps;

	struct isc_context ctx;
	make_context(g, &ctx);
	isc_error *err = NULL;
	int status = 0;
	if (isc_container_exec(&ctx, &o, &status, &err) < 0) {
		isc_log_error(err);
		isc_error_free(&err);
		return 255;
	}
	return status;
}
