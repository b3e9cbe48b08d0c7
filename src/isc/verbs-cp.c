/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc cp NAME:PATH HOSTPATH | HOSTPATH NAME:PATH: the verb over libisc's
 * isc_cp_out/isc_cp_in (host/copy.c: where the copy runs, how the
 * container's paths resolve).  An argument is the container's when it
 * has a ':' before any '/' and what precedes it is a service name; a host
 * path with such a colon is written ./a:b. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "host/copy.h"
#include "isc.h"
#include "plan/plan.h"

/* "NAME:PATH" -> the name (allocated) and *path; NULL for a host path */
static char *container_arg(const char *arg, const char **path)
{
	const char *colon = strchr(arg, ':');
	const char *slash = strchr(arg, '/');
	if (colon == NULL || colon == arg || (slash != NULL && slash < colon))
		return NULL;
	char *name = isc_xasprintf("%.*s", (int)(colon - arg), arg);
	isc_error *err = NULL;
	if (isc_plan_parse_name(name, &err) < 0) {
		isc_error_free(&err);
		free(name);
		return NULL;
	}
	*path = colon + 1;
	return name;
}

static int usage_error(const char *why)
{
	fprintf(stderr, "isc cp: %s\n", why);
	isc_verb_usage("cp", stderr);
	return ISC_EXIT_USAGE;
}

int verb_cp(struct isc_global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	isc_verb_getopt("cp", &go);
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c == 'h') {
			isc_verb_usage("cp", stdout);
			return 0;
		}
		fprintf(stderr, "isc cp: unknown option %s\n", argv[optind - 1]);
		isc_verb_usage("cp", stderr);
		return ISC_EXIT_USAGE;
	}
	if (argc - optind != 2)
		return usage_error("a source and a destination are required, one of them NAME:PATH");
	const char *src = argv[optind], *dst = argv[optind + 1];
	if (strcmp(src, "-") == 0 || strcmp(dst, "-") == 0)
		return usage_error("\"-\" (a tar stream) is not supported: name a file or directory");
	const char *spath = NULL, *dpath = NULL;
	cleanup_free char *sname = container_arg(src, &spath);
	cleanup_free char *dname = container_arg(dst, &dpath);
	if ((sname == NULL) == (dname == NULL))
		return usage_error(sname ? "both paths are a container's: one must be the host's"
					 : "neither path is a container's: write one as NAME:PATH");
	struct isc_cp_stats st;
	isc_error *err = NULL;
	int r = sname ? isc_cp_out(g->root, sname, spath, dst, &st, &err)
		      : isc_cp_in(g->root, dname, src, dpath, &st, &err);
	if (r < 0)
		return isc_report(&err);
	if (st.skipped > 0)
		fprintf(stderr, "isc cp: %zu entries left out (fifos, sockets, devices, other mounts)\n", st.skipped);
	return 0;
}
