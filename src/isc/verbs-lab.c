/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc lab ls|info|exec|create|rm: labs (src/lib/lab.h), one libisc call
 * each.  The lab is the global one (--lab NAME or ISC_LAB). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/host.h"
#include "isc.h"
#include "host/lab.h"
#include "base/util.h"

/* the functions of the sub-verbs of isc_verb("lab") (table.c) */
struct lab_verb {
	const char *name;
	int (*fn)(struct isc_global *g, int argc, char **argv);
};

static int lab_ls(struct isc_global *g, int argc, char **argv);
static int lab_info(struct isc_global *g, int argc, char **argv);
static int lab_exec(struct isc_global *g, int argc, char **argv);
static int lab_create(struct isc_global *g, int argc, char **argv);
static int lab_rm(struct isc_global *g, int argc, char **argv);

static const struct lab_verb lab_verbs[] = {
	{ "ls", lab_ls }, { "info", lab_info }, { "exec", lab_exec }, { "create", lab_create }, { "rm", lab_rm },
};

/* Parse "[--format json|table]" (also --format=json); -1 after a message. */
static int parse_format(const char *verb, int argc, char **argv, bool *json)
{
	*json = false;
	const char *fmt = NULL;
	if (argc == 3 && strcmp(argv[1], "--format") == 0)
		fmt = argv[2];
	else if (argc == 2 && strncmp(argv[1], "--format=", 9) == 0)
		fmt = argv[1] + 9;
	else if (argc != 1) {
		fprintf(stderr, "isc lab %s: usage: isc lab %s [--format json]\n", verb, verb);
		return -1;
	}
	if (fmt == NULL || strcmp(fmt, "table") == 0)
		return 0;
	if (strcmp(fmt, "json") == 0) {
		*json = true;
		return 0;
	}
	fprintf(stderr, "isc lab %s: --format: unknown format \"%s\" (table or json)\n", verb, fmt);
	return -1;
}

/* The lab this command acts on; NULL after a message. */
static const char *need_lab(struct isc_global *g, const char *verb)
{
	if (g->lab == NULL) {
		fprintf(stderr, "isc lab %s: no lab given: use isc --lab NAME lab %s, or set ISC_LAB\n", verb, verb);
		return NULL;
	}
	isc_error *err = NULL;
	if (isc_lab_name_check(g->lab, &err) < 0) {
		isc_report(&err);
		return NULL;
	}
	return g->lab;
}

static bool lab_initialised(const char *name)
{
	cleanup_free char *root = isc_lab_root(name);
	cleanup_free char *hj = isc_xasprintf("%s/host.json", root);
	return access(hj, F_OK) == 0;
}

static int lab_ls(struct isc_global *g, int argc, char **argv)
{
	bool json;
	if (parse_format("ls", argc, argv, &json) < 0)
		return ISC_EXIT_USAGE;
	isc_error *err = NULL;
	cleanup_strv char **names = NULL;
	if (isc_lab_list(&names, &err) < 0)
		return isc_report(&err);
	json_t *a = json ? json_array() : NULL;
	if (!json)
		printf("%-24s %-10s %-11s %s\n", "NAME", "NAMESPACES", "INITIALISED", "ROOT");
	for (size_t i = 0; names[i]; i++) {
		cleanup_free char *root = isc_lab_root(names[i]);
		bool ns = isc_lab_exists(names[i]);
		bool init = lab_initialised(names[i]);
		if (json)
			json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:b}", "name", names[i], "root", root,
							   "namespaces", ns, "initialised", init));
		else
			printf("%-24s %-10s %-11s %s\n", names[i], ns ? "yes" : "no", init ? "yes" : "no", root);
	}
	if (json) {
		char *text = json_dumps(a, JSON_INDENT(2));
		printf("%s\n", text ? text : "[]");
		free(text);
		json_decref(a);
	}
	return 0;
}

static int lab_info(struct isc_global *g, int argc, char **argv)
{
	bool json;
	if (parse_format("info", argc, argv, &json) < 0)
		return ISC_EXIT_USAGE;
	const char *name = need_lab(g, "info");
	if (name == NULL)
		return ISC_EXIT_USAGE;
	if (!isc_lab_exists(name)) {
		fprintf(stderr, "isc lab info: lab %s does not exist (isc --lab %s init creates it)\n", name, name);
		return 1;
	}
	cleanup_free char *root = isc_lab_root(name);
	cleanup_free char *hns = isc_lab_netns_path(name, false);
	cleanup_free char *ons = isc_lab_netns_path(name, true);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:b}", "name", name, "host",
				      ISC_LAB_HOST_ADDR, "outside", ISC_LAB_OUTSIDE_ADDR, "uplink", ISC_LAB_UPLINK,
				      "prefix", ISC_LAB_PREFIX, "host_netns", hns, "outside_netns", ons, "root", root,
				      "initialised", lab_initialised(name));
		char *text = json_dumps(o, JSON_INDENT(2));
		printf("%s\n", text ? text : "{}");
		free(text);
		json_decref(o);
		return 0;
	}
	printf("name:          %s\n"
	       "host:          %s/%d on %s (namespace %s)\n"
	       "outside:       %s/%d on ext0 (namespace %s)\n"
	       "state root:    %s%s\n",
	       name, ISC_LAB_HOST_ADDR, ISC_LAB_PREFIX, ISC_LAB_UPLINK, hns, ISC_LAB_OUTSIDE_ADDR, ISC_LAB_PREFIX, ons,
	       root, lab_initialised(name) ? "" : " (isc init has not run)");
	return 0;
}

static int lab_exec(struct isc_global *g, int argc, char **argv)
{
	int first = 1;
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	else if (first < argc && argv[first][0] == '-') {
		fprintf(stderr, "isc lab exec: unknown option %s (put the command after --)\n", argv[first]);
		return ISC_EXIT_USAGE;
	}
	if (first >= argc) {
		fprintf(stderr, "isc lab exec: no command: isc --lab NAME lab exec -- CMD [ARG...]\n");
		return ISC_EXIT_USAGE;
	}
	const char *name = need_lab(g, "exec");
	if (name == NULL)
		return ISC_EXIT_USAGE;
	if (!isc_lab_exists(name)) {
		fprintf(stderr, "isc lab exec: lab %s does not exist (isc --lab %s init creates it)\n", name, name);
		return 1;
	}
	isc_error *err = NULL;
	int status = 0;
	fflush(stdout);
	if (isc_lab_exec_outside(name, argv + first, &status, &err) < 0) {
		/* the shell's convention: 127 not found, 126 not executable */
		int code = err && err->errnum == ENOENT ? 127 : 126;
		isc_report(&err);
		return code;
	}
	return status;
}

static int no_args(const char *verb, int argc)
{
	if (argc != 1) {
		fprintf(stderr, "isc lab %s: no arguments expected (the lab: --lab NAME or ISC_LAB)\n", verb);
		return -1;
	}
	return 0;
}

static int lab_create(struct isc_global *g, int argc, char **argv)
{
	if (no_args("create", argc) < 0)
		return ISC_EXIT_USAGE;
	const char *name = need_lab(g, "create");
	if (name == NULL)
		return ISC_EXIT_USAGE;
	isc_error *err = NULL;
	if (isc_lab_create(name, &err) < 0)
		return isc_report(&err);
	return 0;
}

static int lab_rm(struct isc_global *g, int argc, char **argv)
{
	if (no_args("rm", argc) < 0)
		return ISC_EXIT_USAGE;
	const char *name = need_lab(g, "rm");
	if (name == NULL)
		return ISC_EXIT_USAGE;
	if (lab_initialised(name)) {
		cleanup_free char *root = isc_lab_root(name);
		fprintf(stderr,
			"isc lab rm: lab %s is an ISC host (%s/host.json exists): isc --lab %s deinit removes it\n",
			name, root, name);
		return 1;
	}
	isc_error *err = NULL;
	if (isc_lab_destroy(name, &err) < 0)
		return isc_report(&err);
	return 0;
}

int verb_lab(struct isc_global *g, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		isc_verb_usage("lab", argc < 2 ? stderr : stdout);
		return argc < 2 ? ISC_EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(lab_verbs); i++) {
		if (strcmp(lab_verbs[i].name, argv[1]) != 0)
			continue;
		/* --help before "--" (exec's CMD may take its own --help) */
		for (int j = 2; j < argc && strcmp(argv[j], "--") != 0; j++) {
			if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
				char path[32];
				snprintf(path, sizeof(path), "lab %s", lab_verbs[i].name);
				isc_verb_usage(path, stdout);
				return 0;
			}
		}
		return lab_verbs[i].fn(g, argc - 1, argv + 1);
	}
	fprintf(stderr, "isc lab: unknown command \"%s\"\n", argv[1]);
	isc_verb_usage("lab", stderr);
	return ISC_EXIT_USAGE;
}
