/* SPDX-License-Identifier: GPL-2.0-or-later
 * The service verbs: run, ps, inspect, stop, start, restart, rm, logs.
 * Each parses its flags, checks what it can here (the whole plan for run)
 * and makes one request to iscd (ctl.h); logs reads the log files
 * directly (root only). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "iscd/protocol.h"
#include "base/escape.h"
#include "isc.h"
#include "plan/plan.h"
#include "base/util.h"

static int want_help(int argc, char **argv, const char *verb)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			isc_verb_usage(verb, stdout);
			return 1;
		}
	}
	return 0;
}

static int call(struct isc_global *g, json_t *req, json_t **reply)
{
	isc_error *err = NULL;
	int r = isc_ctl_call(g->root, req, reply, &err);
	json_decref(req);
	if (r < 0)
		return isc_report_ctl(&err);
	return 0;
}

/* ---- logs ------------------------------------------------------------------------- */

struct tail {
	char *dir; /* R/containers/NAME/logs */
	FILE *f;
	ino_t ino;
	bool json;
};

/* A line of the service's output: its bytes are the service's, so the
 * text form escapes them (escape.h); the JSON form is the record.  A run
 * of empty lines is one record with "repeat": N (iscd writes at most a
 * FIFO buffer's worth, 16 KiB, per record). */
static void print_record(const char *line, bool as_json)
{
	if (as_json) {
		cleanup_free char *safe = isc_escape_json(line);
		fputs(safe, stdout);
		return;
	}
	json_t *j = json_loads(line, 0, NULL);
	const char *stream = json_string_value(json_object_get(j, "stream"));
	json_t *l = json_object_get(j, "line");
	if (json_is_string(l)) {
		FILE *out = stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;
		json_int_t repeat = json_integer_value(json_object_get(j, "repeat"));
		isc_fputs_escaped(json_string_value(l), json_string_length(l), out);
		fputc('\n', out);
		for (json_int_t i = 1; i < repeat && i < 16384; i++)
			fputc('\n', out);
		fflush(out);
	}
	json_decref(j);
}

static void dump_file(const char *path, bool as_json)
{
	cleanup_file FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0)
		print_record(line, as_json);
	free(line);
}

/* Print the rotated files, oldest first, then open container.log. */
static void tail_start(struct tail *t)
{
	for (int i = 2; i >= 1; i--) {
		cleanup_free char *p = isc_xasprintf("%s/container.log.%d", t->dir, i);
		dump_file(p, t->json);
	}
}

/* Print what container.log holds past where we are; follow a rotation. */
static void tail_poll(struct tail *t)
{
	cleanup_free char *path = isc_xasprintf("%s/container.log", t->dir);
	for (int round = 0; round < 2; round++) {
		if (t->f == NULL) {
			t->f = fopen(path, "re");
			if (t->f == NULL)
				return;
			struct stat st;
			t->ino = fstat(fileno(t->f), &st) == 0 ? st.st_ino : 0;
		}
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, t->f)) > 0) {
			if (line[n - 1] != '\n') { /* being written: read it again later */
				fseek(t->f, -n, SEEK_CUR);
				break;
			}
			print_record(line, t->json);
		}
		free(line);
		clearerr(t->f);
		struct stat st;
		if (stat(path, &st) == 0 && st.st_ino == t->ino)
			return;
		/* rotated: finish the old file (done above), go on with the new one */
		fclose(t->f);
		t->f = NULL;
	}
}

static char *logs_dir(struct isc_global *g, const char *name)
{
	return isc_xasprintf("%s/containers/%s/logs", g->root, name);
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int verb_logs(struct isc_global *g, int argc, char **argv)
{
	if (want_help(argc, argv, "logs"))
		return 0;
	struct isc_cli_getopt go;
	isc_verb_getopt("logs", &go);
	bool follow = false, as_json = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c == 'f')
			follow = true;
		else if (c == OPT_FORMAT && strcmp(optarg, "json") == 0)
			as_json = true;
		else {
			isc_verb_usage("logs", stderr);
			return ISC_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		isc_verb_usage("logs", stderr);
		return ISC_EXIT_USAGE;
	}
	const char *name = argv[optind];
	isc_error *err = NULL;
	if (isc_plan_parse_name(name, &err) < 0)
		return isc_report_input(&err);
	cleanup_free char *dir = logs_dir(g, name);
	struct stat st;
	if (stat(dir, &st) < 0) {
		/* the message says it: no ": No such file or directory" */
		isc_error_set(&err, errno == ENOENT ? 0 : errno, "no service named %s (%s)", name, dir);
		return isc_report(&err);
	}
	struct tail t = { .dir = dir, .json = as_json };
	tail_start(&t);
	tail_poll(&t);
	if (follow) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		while (!interrupted && stat(dir, &st) == 0) {
			usleep(100 * 1000);
			tail_poll(&t);
		}
	}
	if (t.f)
		fclose(t.f);
	fflush(stdout);
	return 0;
}

/* ---- run --------------------------------------------------------------------------- */

/* How long `isc run -d` watches a service after its start (the process
 * runs: iscd answers `run` once the runtime started it) for an exit that
 * says it crashed at once.  Documented in --help, isc(1). */
#define RUN_CONFIRM_MS 1000
#define RUN_LAST_LINES 10

/* The last RUN_LAST_LINES lines of the service's current log, to stderr,
 * escaped (they are the service's bytes). */
static void print_last_lines(const char *dir)
{
	cleanup_free char *path = isc_xasprintf("%s/container.log", dir);
	cleanup_file FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	char *ring[RUN_LAST_LINES] = { NULL };
	size_t n = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		json_t *l = json_object_get(j, "line");
		json_int_t repeat = json_integer_value(json_object_get(j, "repeat")); /* a run of empty lines */
		for (json_int_t k = 0; json_is_string(l) && k < (repeat > 1 ? repeat : 1) && k < RUN_LAST_LINES; k++) {
			free(ring[n % RUN_LAST_LINES]);
			ring[n % RUN_LAST_LINES] = isc_escape(json_string_value(l));
			n++;
		}
		json_decref(j);
	}
	free(line);
	for (size_t i = n > RUN_LAST_LINES ? n - RUN_LAST_LINES : 0; i < n; i++)
		fprintf(stderr, "  %s\n", ring[i % RUN_LAST_LINES]);
	for (size_t i = 0; i < RUN_LAST_LINES; i++)
		free(ring[i]);
}

/* --rm: iscd holds the service for this client (the run's "attach"),
 * which sends "rm" once it has shown the output, or "release" when it
 * returns before the end (iscd removes it then). */
static int rm_send(struct isc_global *g, const char *op, const char *name)
{
	json_t *reply = NULL;
	if (call(g, json_pack("{s:s, s:s}", "op", op, "name", name), &reply) != 0)
		return 1;
	json_decref(reply);
	return 0;
}

/* `isc run -d`: the service started; wait up to RUN_CONFIRM_MS for its
 * first exit.  0 when it still runs then (its name printed), 1 with its
 * exit status and last log lines when it exited (--rm: then removed). */
static int run_confirm(struct isc_global *g, const char *name, bool rm)
{
	isc_error *err = NULL;
	/* a new service: its first exit is its exit number 1 */
	json_t *wait = json_pack("{s:s, s:s, s:I}", "op", "wait", "name", name, "exits", (json_int_t)0);
	int fd = isc_ctl_send_request(g->root, wait, &err);
	json_decref(wait);
	if (fd < 0)
		return isc_report(&err);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, RUN_CONFIRM_MS)) < 0 && errno == EINTR)
		;
	if (r == 0) {
		close(fd);
		if (rm && rm_send(g, "release", name) != 0)
			return 1;
		printf("%s\n", name);
		return 0;
	}
	json_t *reply = NULL;
	int f = isc_ctl_finish(fd, &reply, &err);
	close(fd);
	if (f < 0)
		return isc_report(&err);
	json_t *st = json_object_get(json_object_get(reply, "exit"), "status");
	cleanup_free char *status = json_is_integer(st)
					    ? isc_xasprintf("status %lld", (long long)json_integer_value(st))
					    : isc_xstrdup("status unknown");
	json_decref(reply);
	if (rm)
		fprintf(stderr, "isc: run: %s exited within %d ms of its start (%s); removed (--rm); its last lines:\n",
			name, RUN_CONFIRM_MS, status);
	else
		fprintf(stderr,
			"isc: run: %s exited within %d ms of its start (%s); it stays (isc ps, isc logs %s, "
			"isc rm %s); the last lines of its log:\n",
			name, RUN_CONFIRM_MS, status, name, name);
	cleanup_free char *dir = logs_dir(g, name);
	print_last_lines(dir);
	if (rm)
		rm_send(g, "rm", name);
	return 1;
}

int verb_run(struct isc_global *g, int argc, char **argv)
{
	/* --help only before IMAGE: after it, everything belongs to CMD */
	for (int i = 1; i < argc && argv[i][0] == '-'; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			isc_verb_usage("run", stdout);
			return 0;
		}
	struct isc_plan plan;
	memset(&plan, 0, sizeof(plan));
	isc_error *err = NULL;
	if (isc_plan_parse_args(argc, argv, &plan, &err) < 0) {
		isc_error_wrap(&err, "run");
		isc_report_input(&err);
		return ISC_EXIT_USAGE; /* refused before anything was asked of iscd */
	}
	bool detach = plan.detach, rm = plan.rm;
	cleanup_free char *name = isc_xstrdup(plan.name);
	json_t *req = json_pack("{s:s, s:o, s:b}", "op", "run", "plan", isc_plan_to_json(&plan), "attach", rm);
	isc_plan_clear(&plan);
	json_t *reply = NULL;
	if (call(g, req, &reply) != 0)
		return 1;
	json_decref(reply);
	if (detach)
		return run_confirm(g, name, rm);
	/* attached: the output until the first exit (a new service: its
	 * exit number 1, even when it came before this request) */
	json_t *wait = json_pack("{s:s, s:s, s:I}", "op", "wait", "name", name, "exits", (json_int_t)0);
	int fd = isc_ctl_send_request(g->root, wait, &err);
	json_decref(wait);
	if (fd < 0)
		return isc_report(&err);
	cleanup_free char *dir = logs_dir(g, name);
	struct tail t = { .dir = dir };
	signal(SIGINT, on_signal);
	int rc = 0;
	for (;;) {
		tail_poll(&t);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 100);
		if (interrupted) {
			fprintf(stderr, "isc: run: detached; %s keeps running (isc logs -f %s)%s\n", name, name,
				rm ? "; removed at its end (--rm)" : "");
			if (rm)
				rm_send(g, "release", name);
			break;
		}
		if (r > 0) {
			if (isc_ctl_finish(fd, &reply, &err) < 0) {
				rc = isc_report(&err);
				break;
			}
			tail_poll(&t);
			json_t *st = json_object_get(json_object_get(reply, "exit"), "status");
			rc = json_is_integer(st) ? (int)json_integer_value(st) : 255;
			json_decref(reply);
			if (rm && rm_send(g, "rm", name) != 0)
				rc = rc != 0 ? rc : 1; /* said why; the service's failure stays its own */
			break;
		}
	}
	close(fd);
	if (t.f)
		fclose(t.f);
	fflush(stdout);
	return rc;
}

/* ---- ps, inspect --------------------------------------------------------------------- */

int verb_ps(struct isc_global *g, int argc, char **argv)
{
	if (want_help(argc, argv, "ps"))
		return 0;
	bool as_json = false;
	if (argc == 3 && strcmp(argv[1], "--format") == 0 && strcmp(argv[2], "json") == 0)
		as_json = true;
	else if (argc == 2 && strcmp(argv[1], "--format=json") == 0)
		as_json = true;
	else if (argc != 1) {
		isc_verb_usage("ps", stderr);
		return ISC_EXIT_USAGE;
	}
	json_t *reply = NULL;
	if (call(g, json_pack("{s:s}", "op", "ps"), &reply) != 0)
		return 1;
	json_t *list = json_object_get(reply, "services");
	if (as_json) {
		cleanup_free char *text = json_dumps(list, JSON_INDENT(2));
		cleanup_free char *safe = isc_escape_json(text);
		printf("%s\n", safe ? safe : "null");
	} else {
		printf("%-20s %-20s %-11s %-8s %-8s %s\n", "NAME", "IMAGE", "STATE", "PID", "RESTARTS", "LAST EXIT");
		size_t i;
		json_t *s;
		json_array_foreach(list, i, s) {
			json_t *le = json_object_get(json_object_get(s, "last_exit"), "status");
			cleanup_free char *last = json_is_integer(le)
							  ? isc_xasprintf("%lld", (long long)json_integer_value(le))
							  : isc_escape_or(json_string_value(le), "-");
			cleanup_free char *name = isc_escape_or(json_string_value(json_object_get(s, "name")), "?");
			cleanup_free char *image = isc_escape_or(json_string_value(json_object_get(s, "image")), "?");
			cleanup_free char *st = isc_escape_or(json_string_value(json_object_get(s, "state")), "?");
			printf("%-20s %-20s %-11s %-8lld %-8lld %s\n", name, image, st,
			       (long long)json_integer_value(json_object_get(s, "pid")),
			       (long long)json_integer_value(json_object_get(s, "restarts")), last);
		}
	}
	json_decref(reply);
	return 0;
}

int verb_inspect(struct isc_global *g, int argc, char **argv)
{
	if (want_help(argc, argv, "inspect"))
		return 0;
	if (argc < 2) {
		isc_verb_usage("inspect", stderr);
		return ISC_EXIT_USAGE;
	}
	json_t *all = json_array();
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		json_t *reply = NULL;
		if (call(g, json_pack("{s:s, s:s}", "op", "inspect", "name", argv[i]), &reply) != 0) {
			rc = 1;
			continue;
		}
		json_object_del(reply, "ok");
		json_array_append_new(all, reply);
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

/* ---- stop, start, restart, rm -------------------------------------------------------- */

static int parse_timeout(const char *s, json_int_t *out)
{
	uint64_t v;
	if (isc_parse_u64(s, &v) < 0 || v > 3600) {
		fprintf(stderr, "isc: -t: \"%s\" is not a number of seconds (0-3600)\n", s);
		return -1;
	}
	*out = (json_int_t)v;
	return 0;
}

static int each_name(struct isc_global *g, int argc, char **argv, int first, json_t *proto)
{
	int rc = 0;
	if (first >= argc) {
		fprintf(stderr, "isc: %s: a NAME is required\n", argv[0]);
		json_decref(proto);
		return ISC_EXIT_USAGE;
	}
	for (int i = first; i < argc; i++) {
		json_t *req = json_deep_copy(proto);
		json_object_set_new(req, "name", json_string(argv[i]));
		json_t *reply = NULL;
		if (call(g, req, &reply) != 0) {
			rc = 1;
			continue;
		}
		printf("%s\n", argv[i]);
		json_decref(reply);
	}
	json_decref(proto);
	return rc;
}

static int stop_like(struct isc_global *g, int argc, char **argv, const char *op)
{
	if (want_help(argc, argv, op))
		return 0;
	json_int_t timeout = 10;
	int c;
	optind = 0;
	opterr = 0;
	struct isc_cli_getopt go;
	isc_verb_getopt(op, &go);
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c != 't' || parse_timeout(optarg, &timeout) < 0) {
			isc_verb_usage(op, stderr);
			return ISC_EXIT_USAGE;
		}
	}
	return each_name(g, argc, argv, optind, json_pack("{s:s, s:I}", "op", op, "timeout", timeout));
}

int verb_stop(struct isc_global *g, int argc, char **argv)
{
	return stop_like(g, argc, argv, "stop");
}

int verb_restart(struct isc_global *g, int argc, char **argv)
{
	return stop_like(g, argc, argv, "restart");
}

int verb_start(struct isc_global *g, int argc, char **argv)
{
	if (want_help(argc, argv, "start"))
		return 0;
	if (argc > 1 && argv[1][0] == '-') {
		isc_verb_usage("start", stderr);
		return ISC_EXIT_USAGE;
	}
	return each_name(g, argc, argv, 1, json_pack("{s:s}", "op", "start"));
}

int verb_rm(struct isc_global *g, int argc, char **argv)
{
	if (want_help(argc, argv, "rm"))
		return 0;
	struct isc_cli_getopt go;
	isc_verb_getopt("rm", &go);
	bool force = false, purge = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == OPT_PURGE)
			purge = true;
		else {
			isc_verb_usage("rm", stderr);
			return ISC_EXIT_USAGE;
		}
	}
	return each_name(g, argc, argv, optind,
			 json_pack("{s:s, s:b, s:b}", "op", "rm", "force", force, "purge", purge));
}
