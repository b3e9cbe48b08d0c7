/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc audit [--container N] [--type T] [--since TIME] [--follow] [--format json]
 * isc audit verify [--key HEX | --key-file FILE]
 * The trail of the host: ROOT/audit (src/lib/trail.h, docs/audit.md). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/escape.h"
#include "isc.h"
#include "audit/trail.h"
#include "base/util.h"

struct audit_filter {
	const char *container;
	const char *type;
	char since[ISC_RFC3339_LEN]; /* "" = all */
	bool json;
};

static const char *const audit_types[] = { "exec",     "login",	     "logout",	       "admin",
					   "lost",     "gap",	     "seal",	       "loginuid",
					   "register", "unregister", "collector-stop", "disk-full",
					   "tamper",   "rotate",     "trail-start" };

static void audit_usage(FILE *f)
{
	isc_verb_usage("audit", f);
}

/* RFC 3339 prefix, or an age N[smhd]: the lower bound as an RFC 3339 string */
int isc_parse_since(const char *s, char out[ISC_RFC3339_LEN], isc_error **err)
{
	size_t l = strlen(s);
	if (l >= 2 && strchr("smhd", s[l - 1]) && s[0] >= '0' && s[0] <= '9') {
		char num[32];
		uint64_t n;
		if (l - 1 >= sizeof(num))
			return isc_error_set(err, EINVAL, "--since %s: too long", s);
		memcpy(num, s, l - 1);
		num[l - 1] = 0;
		if (isc_parse_u64(num, &n) < 0 || n > 100000000)
			return isc_error_set(err, EINVAL, "--since %s: a number with s, m, h or d expected", s);
		uint64_t mult = s[l - 1] == 's' ? 1 : s[l - 1] == 'm' ? 60 : s[l - 1] == 'h' ? 3600 : 86400;
		time_t t = time(NULL) - (time_t)(n * mult);
		struct tm tm;
		gmtime_r(&t, &tm);
		snprintf(out, ISC_RFC3339_LEN, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		return 0;
	}
	int y, mo, d, h = 0, mi = 0, se = 0;
	if (l < 10 || l >= ISC_RFC3339_LEN || sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) != 3 || s[4] != '-' ||
	    (l > 10 && (s[10] != 'T' || sscanf(s + 11, "%2d:%2d:%2d", &h, &mi, &se) < 2)) || mo < 1 || mo > 12 ||
	    d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return isc_error_set(err, EINVAL,
				     "--since %s: RFC 3339 UTC time (2026-11-28T14:00:00Z) or an age "
				     "(30s, 10m, 2h, 1d) expected",
				     s);
	snprintf(out, ISC_RFC3339_LEN, "%s", s);
	if (out[l - 1] == 'Z')
		out[l - 1] = 0;
	return 0;
}

static bool matches(const struct audit_filter *f, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	if (f->type && (type == NULL || strcmp(type, f->type) != 0))
		return false;
	if (f->container) {
		const char *c = json_string_value(json_object_get(rec, "container"));
		if (c == NULL || strcmp(c, f->container) != 0)
			return false;
	}
	if (f->since[0]) {
		const char *t = json_string_value(json_object_get(rec, "time"));
		if (t == NULL || strncmp(t, f->since, strlen(f->since)) < 0)
			return false;
	}
	return true;
}

/* Each argument escaped (escape.h); in double quotes, with \" for a
 * quote, when it is empty or holds a space or a quote. */
static void print_str_array(json_t *a)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL)
			continue;
		cleanup_free char *e = isc_escape_n(s, json_string_length(v));
		if (e[0] && strpbrk(e, " \"'") == NULL) {
			printf(" %s", e);
			continue;
		}
		fputs(" \"", stdout);
		for (const char *p = e; *p; p++) {
			if (*p == '"')
				putchar('\\');
			putchar(*p);
		}
		putchar('"');
	}
}

/* A string field of the record for the text view: escaped (the container
 * chose many of them), or `dflt` when it is missing. */
static char *field(json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? isc_escape_n(json_string_value(v), json_string_length(v)) : isc_xstrdup(dflt);
}

/* The text view: every string of the record passes through isc_escape()
 * (escape.h), numbers are printed as numbers. */
static void print_text(json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	cleanup_free char *type_s = field(rec, "type", "?");
	cleanup_free char *time_s = field(rec, "time", "-");
	cleanup_free char *c = field(rec, "container", "-");
	printf("%6" JSON_INTEGER_FORMAT " %s %-7s %s", json_integer_value(json_object_get(rec, "seq")), time_s, type_s,
	       c);
	if (type && strcmp(type, "exec") == 0) {
		cleanup_free char *result = field(rec, "result", "?");
		printf(" pid=%" JSON_INTEGER_FORMAT " uid=%" JSON_INTEGER_FORMAT " %s:",
		       json_integer_value(json_object_get(rec, "pid")), json_integer_value(json_object_get(rec, "uid")),
		       result);
		print_str_array(json_object_get(rec, "argv"));
		if (json_is_string(json_object_get(rec, "cwd"))) {
			cleanup_free char *cwd = field(rec, "cwd", "");
			printf(" (cwd %s)", cwd);
		}
	} else if (type && (strcmp(type, "login") == 0 || strcmp(type, "logout") == 0 || strcmp(type, "admin") == 0)) {
		json_t *caller = json_object_get(rec, "caller");
		printf(" by uid=%" JSON_INTEGER_FORMAT " auid=%" JSON_INTEGER_FORMAT " pid=%" JSON_INTEGER_FORMAT,
		       json_integer_value(json_object_get(caller, "uid")),
		       json_integer_value(json_object_get(caller, "auid")),
		       json_integer_value(json_object_get(caller, "pid")));
		cleanup_free char *session = field(rec, "session", "?");
		if (strcmp(type, "admin") == 0) {
			cleanup_free char *action = field(rec, "action", "?");
			cleanup_free char *obj = field(rec, "object", "");
			cleanup_free char *result = field(rec, "result", "?");
			printf(" %s%s%s: %s", action, obj[0] ? " " : "", obj, result);
		} else if (strcmp(type, "login") == 0) {
			printf(" session=%s:", session);
			print_str_array(json_object_get(rec, "argv"));
		} else {
			printf(" session=%s status=%" JSON_INTEGER_FORMAT " duration=%" JSON_INTEGER_FORMAT "ms",
			       session, json_integer_value(json_object_get(rec, "status")),
			       json_integer_value(json_object_get(rec, "duration_ms")));
		}
	} else if (type && strcmp(type, "lost") == 0) {
		printf(" count=%" JSON_INTEGER_FORMAT " kernel_lost=%" JSON_INTEGER_FORMAT,
		       json_integer_value(json_object_get(rec, "count")),
		       json_integer_value(json_object_get(rec, "kernel_lost")));
	} else if (type && strcmp(type, "gap") == 0) {
		cleanup_free char *prev = field(rec, "previous_stop", "?");
		printf(" previous stop %s, kernel_lost=%" JSON_INTEGER_FORMAT, prev,
		       json_integer_value(json_object_get(rec, "kernel_lost")));
	}
	putchar('\n');
}

static int show(json_t *rec, const char *line, void *data)
{
	struct audit_filter *f = data;
	if (rec == NULL) {
		fprintf(stderr, "isc: audit: a line of the trail does not parse (run isc audit verify)\n");
		return 0;
	}
	if (!matches(f, rec))
		return 0;
	if (f->json) {
		/* the trail's own line: JSON already, made safe for a terminal */
		cleanup_free char *safe = isc_escape_json(line);
		printf("%s\n", safe);
	} else
		print_text(rec);
	return 0;
}

/* --follow: new lines of trail.jsonl, reopened when it is rotated */
static int follow(const char *dir, struct audit_filter *f)
{
	cleanup_free char *path = isc_xasprintf("%s/trail.jsonl", dir);
	FILE *fp = fopen(path, "re");
	if (fp == NULL) {
		fprintf(stderr, "isc: audit: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	fseek(fp, 0, SEEK_END);
	struct stat st0;
	fstat(fileno(fp), &st0);
	char *line = NULL;
	size_t cap = 0;
	for (;;) {
		fflush(stdout);
		ssize_t n;
		while ((n = getline(&line, &cap, fp)) > 0) {
			if (line[n - 1] != '\n') {
				/* a line still being written: read it again whole */
				fseek(fp, -n, SEEK_CUR);
				break;
			}
			line[n - 1] = 0;
			json_t *j = json_loads(line, 0, NULL);
			show(json_is_object(j) ? j : NULL, line, f);
			json_decref(j);
		}
		clearerr(fp);
		struct stat st;
		if (stat(path, &st) == 0 && st.st_ino != st0.st_ino) {
			FILE *nf = fopen(path, "re");
			if (nf) {
				fclose(fp);
				fp = nf;
				st0 = st;
				continue;
			}
		}
		poll(NULL, 0, 200);
	}
}

static int audit_verify(struct isc_global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	isc_verb_getopt("audit verify", &go);
	cleanup_free char *key = NULL;
	int c;
	isc_error *err = NULL;
	/* go.shortopts + 1: without "+" (GNU permutation, as always) */
	while ((c = getopt_long(argc, argv, go.shortopts + 1, go.opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEY:
			free(key);
			key = isc_xstrdup(optarg);
			break;
		case OPT_KEY_FILE: {
			free(key);
			key = NULL;
			if (isc_read_file(optarg, &key, NULL, 4096, &err) < 0) {
				isc_error_wrap(&err, "--key-file");
				return isc_report(&err);
			}
			key[strcspn(key, " \t\r\n")] = 0;
			break;
		}
		case 'h':
			isc_verb_usage("audit verify", stdout);
			return 0;
		default:
			isc_verb_usage("audit verify", stderr);
			return ISC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "isc: audit verify: unexpected argument %s\n", argv[optind]);
		return ISC_EXIT_USAGE;
	}
	cleanup_free char *dir = isc_xasprintf("%s/audit", g->root);
	struct isc_trail_report r;
	if (isc_trail_verify(dir, key, &r, &err) < 0) {
		isc_error_wrap(&err, "audit verify");
		return isc_report(&err);
	}
	int rc = 0;
	if (r.intact) {
		printf("trail %s: intact: %" PRIu64 " records from seq %" PRIu64 ", %" PRIu64 " sealed epochs, %s\n",
		       dir, r.records, r.first_seq, r.seals,
		       r.macs_checked ? "every seal checked" : "seals NOT checked (give --key to check them)");
	} else {
		fprintf(stderr, "isc: audit verify: first bad record: seq %" PRIu64 ": %s\n", r.first_bad_seq,
			r.problem);
		rc = 1;
	}
	if (r.note)
		fprintf(stderr, "isc: audit verify: note: %s\n", r.note);
	isc_trail_report_clear(&r);
	return rc;
}

int verb_audit(struct isc_global *g, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return audit_verify(g, argc - 1, argv + 1);
	struct isc_cli_getopt go;
	isc_verb_getopt("audit", &go);
	struct audit_filter f = { 0 };
	bool follow_flag = false;
	isc_error *err = NULL;
	int c;
	while ((c = getopt_long(argc, argv, go.shortopts + 1, go.opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONTAINER:
			f.container = optarg;
			break;
		case OPT_TYPE: {
			bool ok = false;
			for (size_t i = 0; i < ARRAY_SIZE(audit_types); i++)
				ok = ok || strcmp(optarg, audit_types[i]) == 0;
			if (!ok) {
				fprintf(stderr,
					"isc: audit: --type %s: one of exec, login, logout, admin, lost, gap, "
					"seal, loginuid expected\n",
					optarg);
				return ISC_EXIT_USAGE;
			}
			f.type = optarg;
			break;
		}
		case OPT_SINCE:
			if (isc_parse_since(optarg, f.since, &err) < 0)
				return isc_report_input(&err);
			break;
		case OPT_FOLLOW:
			follow_flag = true;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				fprintf(stderr, "isc: audit: --format %s: json or text expected\n", optarg);
				return ISC_EXIT_USAGE;
			}
			f.json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			audit_usage(stdout);
			return 0;
		default:
			audit_usage(stderr);
			return ISC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "isc: audit: unexpected argument %s\n", argv[optind]);
		return ISC_EXIT_USAGE;
	}
	cleanup_free char *dir = isc_xasprintf("%s/audit", g->root);
	if (isc_trail_read(dir, show, &f, &err) < 0) {
		isc_error_wrap(&err, "audit");
		return isc_report(&err);
	}
	if (follow_flag)
		return follow(dir, &f);
	return 0;
}
