/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc image import|ls|verify|check|rm|prune: one libisc call each
 * (src/lib/image/image.h); what a call has to say beyond its result (a
 * notice) goes to stderr, escaped. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/escape.h"
#include "image/image.h"
#include "isc.h"
#include "base/util.h"

/* the functions of the sub-verbs of isc_verb("image") (table.c) */
struct image_verb {
	const char *name;
	int (*fn)(struct isc_global *g, int argc, char **argv);
};

static int image_import(struct isc_global *g, int argc, char **argv);
static int image_ls(struct isc_global *g, int argc, char **argv);
static int image_verify(struct isc_global *g, int argc, char **argv);
static int image_rm(struct isc_global *g, int argc, char **argv);
static int image_check(struct isc_global *g, int argc, char **argv);
static int image_prune(struct isc_global *g, int argc, char **argv);

static const struct image_verb image_verbs[] = {
	{ "import", image_import }, { "ls", image_ls }, { "verify", image_verify },
	{ "check", image_check },   { "rm", image_rm }, { "prune", image_prune },
};

/* The verb's own flags: only --help (and --format for ls). */
static int want_args(int argc, char **argv, int n, const char *verb)
{
	if (argc - 1 != n) {
		fprintf(stderr, "isc image %s: %d argument%s expected, %d given\n", verb, n, n == 1 ? "" : "s",
			argc - 1);
		return -1;
	}
	return 0;
}

static bool asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* A notice's lines on stderr: they may name paths of an image, whose
 * bytes are escaped. */
static void print_notice(const char *notice)
{
	if (notice == NULL)
		return;
	cleanup_free char *copy = isc_xstrdup(notice);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cleanup_free char *safe = isc_escape(line);
		fprintf(stderr, "isc: %s\n", safe);
	}
}

static int image_import(struct isc_global *g, int argc, char **argv)
{
	if (want_args(argc, argv, 2, "import") < 0)
		return ISC_EXIT_USAGE;
	isc_error *err = NULL;
	char id[65];
	cleanup_free char *notice = NULL;
	if (isc_image_import(g->root, argv[1], argv[2], id, &notice, &err) < 0)
		return isc_report(&err);
	print_notice(notice);
	printf("%s\n", id);
	return 0;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

static void fmt_size(uint64_t n, char *buf, size_t len)
{
	static const char units[] = "BKMGT";
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
}

static int image_ls(struct isc_global *g, int argc, char **argv)
{
	bool json = false;
	if (argc == 3 && strcmp(argv[1], "--format") == 0) {
		if (strcmp(argv[2], "json") == 0) {
			json = true;
		} else if (strcmp(argv[2], "table") != 0) {
			fprintf(stderr, "isc image ls: --format: unknown format \"%s\" (table or json)\n", argv[2]);
			return ISC_EXIT_USAGE;
		}
	} else if (argc == 2 && strcmp(argv[1], "--format=json") == 0) {
		json = true;
	} else if (argc != 1) {
		fprintf(stderr, "isc image ls: usage: isc image ls [--format json]\n");
		return ISC_EXIT_USAGE;
	}
	isc_error *err = NULL;
	struct isc_image_info *v = NULL;
	size_t n = 0;
	if (isc_image_list(g->root, &v, &n, &err) < 0)
		return isc_report(&err);
	char imported[32], verified[32], size[32];
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++) {
			fmt_time(v[i].imported, imported, sizeof(imported));
			fmt_time(v[i].verified, verified, sizeof(verified));
			json_t *o =
				json_pack("{s:o, s:s, s:I, s:I, s:s, s:s, s:s}", "name",
					  v[i].unnamed ? json_null() : json_string(v[i].name), "id", v[i].id, "size",
					  (json_int_t)v[i].size, "files", (json_int_t)v[i].files, "imported", imported,
					  "verified", verified, "verification", v[i].verify_ok ? "ok" : "failed");
			if (v[i].verify_error)
				json_object_set_new(o, "verification_error", json_string(v[i].verify_error));
			json_array_append_new(a, o);
		}
		cleanup_free char *text = json_dumps(a, JSON_INDENT(2));
		cleanup_free char *safe = text ? isc_escape_json(text) : NULL; /* the error may name a file */
		printf("%s\n", safe ? safe : "[]");
		json_decref(a);
	} else {
		printf("%-24s %-12s %8s  %-20s  %s\n", "NAME", "ID", "SIZE", "IMPORTED", "LAST VERIFICATION");
		for (size_t i = 0; i < n; i++) {
			fmt_time(v[i].imported, imported, sizeof(imported));
			fmt_time(v[i].verified, verified, sizeof(verified));
			fmt_size(v[i].size, size, sizeof(size));
			printf("%-24s %-12.12s %8s  %-20s  %s %s\n", v[i].name, v[i].id, size, imported,
			       v[i].verify_ok ? "ok" : "FAILED", verified);
			if (!v[i].verify_ok && v[i].verify_error) {
				/* it may name a file of the image: its bytes, escaped */
				cleanup_free char *e = isc_escape(v[i].verify_error);
				printf("%24s   %s\n", "", e);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		isc_image_info_clear(&v[i]);
	free(v);
	return 0;
}

static int image_verify(struct isc_global *g, int argc, char **argv)
{
	if (want_args(argc, argv, 1, "verify") < 0)
		return ISC_EXIT_USAGE;
	isc_error *err = NULL;
	if (isc_image_verify(g->root, argv[1], &err) < 0)
		return isc_report(&err);
	printf("image \"%s\": intact\n", argv[1]);
	return 0;
}

static int image_check(struct isc_global *g, int argc, char **argv)
{
	if (want_args(argc, argv, 1, "check") < 0)
		return ISC_EXIT_USAGE;
	isc_error *err = NULL;
	char id[65];
	if (isc_image_resolve(g->root, argv[1], id, &err) < 0)
		return isc_report(&err);
	cleanup_free char *dir = isc_xasprintf("%s/images/sha256/%s", g->root, id);
	if (isc_image_quick_check(dir, &err) < 0)
		return isc_report(&err);
	printf("image \"%s\": unchanged since import\n", argv[1]);
	return 0;
}

static int image_rm(struct isc_global *g, int argc, char **argv)
{
	bool force = argc > 1 && (strcmp(argv[1], "--force") == 0 || strcmp(argv[1], "-f") == 0);
	if (force) {
		argc--;
		argv++;
	}
	if (want_args(argc, argv, 1, "rm") < 0)
		return ISC_EXIT_USAGE;
	isc_error *err = NULL;
	cleanup_free char *notice = NULL;
	if (isc_image_remove(g->root, argv[1], force, &notice, &err) < 0)
		return isc_report(&err);
	print_notice(notice);
	return 0;
}

static int image_prune(struct isc_global *g, int argc, char **argv)
{
	if (want_args(argc, argv, 0, "prune") < 0)
		return ISC_EXIT_USAGE;
	isc_error *err = NULL;
	cleanup_strv char **removed = NULL;
	if (isc_image_prune(g->root, &removed, &err) < 0)
		return isc_report(&err);
	for (size_t i = 0; removed && removed[i]; i++)
		printf("%s\n", removed[i]);
	return 0;
}

int verb_image(struct isc_global *g, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		isc_verb_usage("image", argc < 2 ? stderr : stdout);
		return argc < 2 ? ISC_EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(image_verbs); i++) {
		if (strcmp(image_verbs[i].name, argv[1]) != 0)
			continue;
		if (asks_help(argc - 1, argv + 1)) {
			char path[32];
			snprintf(path, sizeof(path), "image %s", image_verbs[i].name);
			isc_verb_usage(path, stdout);
			return 0;
		}
		return image_verbs[i].fn(g, argc - 1, argv + 1);
	}
	fprintf(stderr, "isc image: unknown command \"%s\"\n", argv[1]);
	isc_verb_usage("image", stderr);
	return ISC_EXIT_USAGE;
}
