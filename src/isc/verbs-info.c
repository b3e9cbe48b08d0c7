/* SPDX-License-Identifier: GPL-2.0-or-later
 * The read-only verbs that show what isc and iscd know: inspect (and its
 * --format), port, version, info.
 *
 * Design
 * ------
 * inspect --format TEMPLATE picks values out of the JSON that plain
 * `isc inspect` prints, one line per NAME.  A TEMPLATE is either a path
 * (".status.state") or text with paths in double braces
 * ("{{.name}} {{.status.state}}"), or "json" (the plain output).  A path is
 * "." and keys separated by "."; a key matches an object member exactly,
 * else case-insensitively ({{.Status.State}} reads .status.state; the
 * names are isc's, not podman's), a number indexes an array.  A string prints as its
 * text, anything else as compact JSON; both are container-controlled in
 * part and go through escape.h.  A path that leads nowhere is an error
 * naming it (exit 2).  No functions, no conditions: the JSON output with
 * jq is there for more.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/magic.h>

#include "base/escape.h"
#include "host/host.h"
#include "iscd/protocol.h"
#include "isc.h"

/* ---- inspect --format ----------------------------------------------------------------- */

/* The member of j a path step names: exact key, else the one key equal
 * ignoring case, else an array index.  NULL when none. */
static json_t *path_step(json_t *j, const char *key)
{
	if (json_is_object(j)) {
		json_t *v = json_object_get(j, key);
		if (v)
			return v;
		const char *k;
		json_object_foreach(j, k, v)
			if (strcasecmp(k, key) == 0)
				return v;
		return NULL;
	}
	uint64_t i;
	if (json_is_array(j) && isc_parse_u64(key, &i) == 0 && i < json_array_size(j))
		return json_array_get(j, (size_t)i);
	return NULL;
}

/* The value at path (".a.b.0", "." the whole), or NULL. */
static json_t *path_get(json_t *root, const char *path, size_t len)
{
	if (len == 0 || path[0] != '.')
		return NULL;
	cleanup_free char *copy = isc_xasprintf("%.*s", (int)len - 1, path + 1);
	json_t *j = root;
	char *save = NULL;
	if (copy[0] == '\0')
		return j;
	if (copy[strlen(copy) - 1] == '.' || strstr(copy, "..") || copy[0] == '.')
		return NULL;
	for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
		j = path_step(j, k);
	return j;
}

/* The value as template text (escaped). */
static char *value_text(json_t *v)
{
	if (json_is_string(v))
		return isc_escape(json_string_value(v));
	cleanup_free char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return isc_escape_json(text ? text : "null");
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t'))
		(*s)++, (*len)--;
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* TEMPLATE applied to j, newly allocated; NULL with *err naming the
 * part at fault.  check_only: the syntax alone (j unused). */
static char *format_apply(const char *tmpl, json_t *j, bool check_only, isc_error **err)
{
	if (strstr(tmpl, "{{") == NULL && strstr(tmpl, "}}") == NULL) {
		size_t len = strlen(tmpl);
		json_t *v = check_only ? NULL : path_get(j, tmpl, len);
		if (tmpl[0] != '.' || (!check_only && v == NULL)) {
			isc_error_set(err, EINVAL, "--format: no field %s (a path such as .status.state, or {{.PATH}})",
				      tmpl);
			return NULL;
		}
		return check_only ? isc_xstrdup("") : value_text(v);
	}
	char *out = isc_xstrdup("");
	for (const char *p = tmpl; *p;) {
		const char *open = strstr(p, "{{");
		const char *close = strstr(p, "}}");
		if (close && (open == NULL || close < open)) {
			isc_error_set(err, EINVAL, "--format: \"}}\" without \"{{\" in %s", tmpl);
			free(out);
			return NULL;
		}
		size_t lit = open ? (size_t)(open - p) : strlen(p);
		char *next = isc_xasprintf("%s%.*s", out, (int)lit, p);
		free(out);
		out = next;
		if (open == NULL)
			break;
		const char *path = open + 2;
		if (close == NULL) {
			isc_error_set(err, EINVAL, "--format: \"{{\" without \"}}\" in %s", tmpl);
			free(out);
			return NULL;
		}
		size_t plen = (size_t)(close - path);
		trim(&path, &plen);
		json_t *v = check_only ? NULL : path_get(j, path, plen);
		if ((check_only && (plen == 0 || path[0] != '.')) || (!check_only && v == NULL)) {
			isc_error_set(err, EINVAL, "--format: no field %.*s", (int)plen, path);
			free(out);
			return NULL;
		}
		cleanup_free char *val = check_only ? isc_xstrdup("") : value_text(v);
		next = isc_xasprintf("%s%s", out, val);
		free(out);
		out = next;
		p = close + 2;
	}
	return out;
}

static int inspect_one(struct isc_global *g, const char *name, json_t **out)
{
	isc_error *err = NULL;
	json_t *req = json_pack("{s:s, s:s}", "op", "inspect", "name", name);
	int r = isc_ctl_call(g->root, req, out, &err);
	json_decref(req);
	if (r < 0)
		return isc_report_ctl(&err);
	json_object_del(*out, "ok");
	return 0;
}

/* isc inspect [--format TEMPLATE] NAME... */
int verb_inspect(struct isc_global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	isc_verb_getopt("inspect", &go);
	const char *format = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts + 1, go.opts, NULL)) != -1) {
		if (c == 'h') {
			isc_verb_usage("inspect", stdout);
			return 0;
		} else if (c == 'f' || c == OPT_FORMAT)
			format = strcmp(optarg, "json") == 0 ? NULL : optarg;
		else
			return isc_bad_flag("inspect", argv, go.shortopts);
	}
	isc_error *err = NULL;
	cleanup_free char *checked = format ? format_apply(format, NULL, true, &err) : NULL;
	if (format && checked == NULL) {
		isc_error_wrap(&err, "inspect");
		isc_report_input(&err);
		return ISC_EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "isc: inspect: a NAME is required\n");
		isc_verb_usage("inspect", stderr);
		return ISC_EXIT_USAGE;
	}
	json_t *all = json_array();
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		json_t *reply = NULL;
		if (inspect_one(g, argv[i], &reply) != 0) {
			rc = 1;
			continue;
		}
		if (format == NULL) {
			json_array_append_new(all, reply);
			continue;
		}
		cleanup_free char *line = format_apply(format, reply, false, &err);
		json_decref(reply);
		if (line == NULL) {
			isc_error_wrap(&err, "inspect %s", argv[i]);
			isc_report_input(&err);
			rc = ISC_EXIT_USAGE;
			continue;
		}
		printf("%s\n", line);
	}
	if (json_array_size(all) > 0) {
		/* JSON: jansson escapes C0 controls; isc_escape_json the rest */
		cleanup_free char *text = json_dumps(all, JSON_INDENT(2));
		cleanup_free char *safe = isc_escape_json(text);
		printf("%s\n", safe ? safe : "[]");
	}
	json_decref(all);
	return rc;
}

/* ---- port ----------------------------------------------------------------------------- */

/* isc port NAME: "80/tcp -> 0.0.0.0:8080", one exposed port a line. */
int verb_port(struct isc_global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	isc_verb_getopt("port", &go);
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts + 1, go.opts, NULL)) != -1) {
		if (c != 'h')
			return isc_bad_flag("port", argv, go.shortopts);
		isc_verb_usage("port", stdout);
		return 0;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "isc: port: one NAME is required\n");
		isc_verb_usage("port", stderr);
		return ISC_EXIT_USAGE;
	}
	json_t *reply = NULL;
	if (inspect_one(g, argv[optind], &reply) != 0)
		return 1;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(json_object_get(reply, "plan"), "ports"), i, p) {
		const char *proto = json_string_value(json_object_get(p, "proto"));
		printf("%lld/%s -> 0.0.0.0:%lld\n", (long long)json_integer_value(json_object_get(p, "port")),
		       proto && strcmp(proto, "udp") == 0 ? "udp" : "tcp",
		       (long long)json_integer_value(json_object_get(p, "host_port")));
	}
	json_decref(reply);
	return 0;
}

/* ---- version, info -------------------------------------------------------------------- */

/* --format json or nothing; 1: JSON, 0: text, -1: refused (exit 2). */
static int json_flag(const char *verb, int argc, char **argv)
{
	struct isc_cli_getopt go;
	isc_verb_getopt(verb, &go);
	int c, as_json = 0;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c == 'h') {
			isc_verb_usage(verb, stdout);
			return 2;
		} else if (c == OPT_FORMAT && strcmp(optarg, "json") == 0)
			as_json = 1;
		else if (c == OPT_FORMAT) {
			fprintf(stderr, "isc: %s: --format: json expected, not %s\n", verb, optarg);
			return -1;
		} else {
			isc_bad_flag(verb, argv, go.shortopts);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "isc: %s: unexpected argument %s\n", verb, argv[optind]);
		return -1;
	}
	return as_json;
}

static void print_json(json_t *j)
{
	cleanup_free char *text = json_dumps(j, JSON_INDENT(2));
	cleanup_free char *safe = isc_escape_json(text);
	printf("%s\n", safe ? safe : "null");
}

/* iscd's ping, or NULL (it does not run). */
static json_t *iscd_ping(struct isc_global *g)
{
	isc_error *err = NULL;
	json_t *req = json_pack("{s:s}", "op", "ping"), *reply = NULL;
	int r = isc_ctl_call(g->root, req, &reply, &err);
	json_decref(req);
	isc_error_free(&err);
	return r < 0 ? NULL : reply;
}

/* isc version [--format json]: the client's and iscd's versions (iscd:
 * null when it does not run; exit 0 all the same, as podman's). */
int verb_version(struct isc_global *g, int argc, char **argv)
{
	int as_json = json_flag("version", argc, argv);
	if (as_json < 0)
		return ISC_EXIT_USAGE;
	if (as_json > 1)
		return 0;
	json_t *ping = iscd_ping(g);
	const char *dv = json_string_value(json_object_get(ping, "version"));
	struct utsname u;
	uname(&u);
	json_t *j = json_pack("{s:{s:s, s:s}, s:o}", "client", "version", ISC_VERSION, "os", u.sysname, "iscd",
			      dv ? json_pack("{s:s}", "version", dv) : json_null());
	if (as_json)
		print_json(j);
	else
		printf("Client:  %s\niscd:    %s\n", ISC_VERSION, dv ? dv : "(not running)");
	json_decref(j);
	json_decref(ping);
	return 0;
}

static const char *cgroup_mode(void)
{
	struct statfs fs;
	if (statfs("/sys/fs/cgroup", &fs) < 0)
		return "none";
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return "v2";
	if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
		return "hybrid";
	return "v1";
}

/* The host's facts isc knows without asking much: the state root, whether
 * isc init ran (its subnet and uplink), iscd and its services, the
 * kernel and cgroup mode, the audit trail. */
static json_t *host_info(struct isc_global *g)
{
	struct utsname u;
	uname(&u);
	struct isc_host_settings hs = { 0 };
	isc_error *err = NULL;
	bool initialised = isc_host_load(g->root, &hs, &err) == 0;
	isc_error_free(&err);
	json_t *ping = iscd_ping(g), *ps = NULL;
	json_t *req = json_pack("{s:s}", "op", "ps");
	if (ping == NULL || isc_ctl_call(g->root, req, &ps, &err) < 0)
		ps = NULL;
	json_decref(req);
	isc_error_free(&err);
	size_t running = 0, i;
	json_t *s;
	json_array_foreach(json_object_get(ps, "services"), i, s) {
		const char *st = json_string_value(json_object_get(s, "state"));
		running += st && strcmp(st, "running") == 0;
	}
	cleanup_free char *range = isc_xasprintf("%s/audit/range.json", g->root);
	json_t *j = json_pack("{s:s, s:s?, s:b, s:{s:s, s:s, s:s, s:s}}", "root", g->root, "lab", g->lab, "initialised",
			      initialised, "host", "kernel", u.release, "arch", u.machine, "hostname", u.nodename,
			      "cgroup", cgroup_mode());
	json_object_set_new(j, "network",
			    initialised ? json_pack("{s:s, s:s?}", "subnet", hs.subnet, "uplink", hs.uplink)
					: json_null());
	json_object_set_new(j, "iscd",
			    ping ? json_pack("{s:O, s:O}", "pid", json_object_get(ping, "pid"), "version",
					     json_object_get(ping, "version"))
				 : json_null());
	json_object_set_new(j, "services",
			    ps ? json_pack("{s:I, s:I}", "total",
					   (json_int_t)json_array_size(json_object_get(ps, "services")), "running",
					   (json_int_t)running)
			       : json_null());
	json_object_set_new(j, "audit", json_string(access(range, F_OK) == 0 ? "registered" : "off"));
	json_decref(ping);
	json_decref(ps);
	isc_host_settings_clear(&hs);
	return j;
}

/* isc info [--format json] */
int verb_info(struct isc_global *g, int argc, char **argv)
{
	int as_json = json_flag("info", argc, argv);
	if (as_json < 0)
		return ISC_EXIT_USAGE;
	if (as_json > 1)
		return 0;
	json_t *j = host_info(g);
	if (as_json) {
		print_json(j);
		json_decref(j);
		return 0;
	}
	json_t *h = json_object_get(j, "host"), *n = json_object_get(j, "network");
	json_t *d = json_object_get(j, "iscd"), *s = json_object_get(j, "services");
	n = json_is_object(n) ? n : NULL, d = json_is_object(d) ? d : NULL, s = json_is_object(s) ? s : NULL;
	cleanup_free char *uplink = isc_escape_or(json_string_value(json_object_get(n, "uplink")), "-");
	printf("root:        %s\n", g->root);
	printf("initialised: %s\n", json_is_true(json_object_get(j, "initialised")) ? "yes" : "no (isc init)");
	printf("kernel:      %s (%s)\n", json_string_value(json_object_get(h, "kernel")),
	       json_string_value(json_object_get(h, "arch")));
	printf("cgroup:      %s\n", json_string_value(json_object_get(h, "cgroup")));
	if (n)
		printf("network:     %s (uplink %s)\n", json_string_value(json_object_get(n, "subnet")), uplink);
	else
		printf("network:     -\n");
	if (d)
		printf("iscd:        pid %lld, version %s\n", (long long)json_integer_value(json_object_get(d, "pid")),
		       json_string_value(json_object_get(d, "version")));
	else
		printf("iscd:        not running\n");
	if (s)
		printf("services:    %lld (%lld running)\n", (long long)json_integer_value(json_object_get(s, "total")),
		       (long long)json_integer_value(json_object_get(s, "running")));
	else
		printf("services:    -\n");
	printf("audit:       %s\n", json_string_value(json_object_get(j, "audit")));
	json_decref(j);
	return 0;
}
