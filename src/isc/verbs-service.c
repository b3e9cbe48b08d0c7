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

#include "image/image.h"
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

/* getopt refused argv[optind - 1] ('?'): say which flag, exit 2. */
int isc_bad_flag(const char *verb, char **argv, const char *shortopts)
{
	const char *word = argv[optind - 1];
	const char *eq = strchr(word, '=');
	if (strncmp(word, "--", 2) == 0 && eq && optopt != 0)
		fprintf(stderr, "isc: %s: %.*s takes no value\n", verb, (int)(eq - word), word);
	else if (strncmp(word, "--", 2) == 0 && optopt != 0)
		fprintf(stderr, "isc: %s: %s: a value is required\n", verb, word);
	else if (strncmp(word, "--", 2) == 0)
		fprintf(stderr, "isc: %s: unknown option %s\n", verb, word);
	else if (optopt > 0 && optopt < 256 && optopt != ':' && strchr(shortopts + 1, optopt))
		fprintf(stderr, "isc: %s: -%c: a value is required\n", verb, optopt);
	else
		fprintf(stderr, "isc: %s: unknown option -%c\n", verb, optopt);
	isc_verb_usage(verb, stderr);
	return ISC_EXIT_USAGE;
}

int isc_call(struct isc_global *g, json_t *req, json_t **reply)
{
	isc_error *err = NULL;
	int r = isc_ctl_call(g->root, req, reply, &err);
	json_decref(req);
	if (r < 0)
		return isc_report_ctl(&err);
	return 0;
}

/* ---- logs ------------------------------------------------------------------------- */

/* What `isc logs` prints of the records: from --since on (an RFC 3339
 * prefix, compared as text: the records' times are UTC), after skipping
 * `skip` lines (--tail), with their times (-t), or the records as JSON. */
struct logview {
	bool json, timestamps;
	char since[ISC_RFC3339_LEN]; /* "" = all */
	uint64_t skip;
};

struct tail {
	char *dir; /* R/containers/NAME/logs */
	FILE *f;
	ino_t ino;
	struct logview *v;
};

/* The lines a record stands for under v (0: before --since). */
static uint64_t record_lines(json_t *j, const struct logview *v)
{
	if (!json_is_string(json_object_get(j, "line")))
		return 0;
	const char *t = json_string_value(json_object_get(j, "time"));
	if (v->since[0] && (t == NULL || strncmp(t, v->since, strlen(v->since)) < 0))
		return 0;
	json_int_t repeat = json_integer_value(json_object_get(j, "repeat"));
	return repeat > 1 && repeat <= 16384 ? (uint64_t)repeat : 1;
}

/* A line of the service's output: its bytes are the service's, so the
 * text form escapes them (escape.h); the JSON form is the record.  A run
 * of empty lines is one record with "repeat": N (iscd writes at most a
 * FIFO buffer's worth, 16 KiB, per record). */
static void print_record(const char *line, struct logview *v)
{
	json_t *j = json_loads(line, 0, NULL);
	uint64_t n = record_lines(j, v);
	if (n == 0 || v->skip >= n) {
		v->skip -= n < v->skip ? n : v->skip;
		json_decref(j);
		return;
	}
	n -= v->skip;
	v->skip = 0;
	if (v->json) {
		cleanup_free char *safe = isc_escape_json(line);
		fputs(safe, stdout);
		json_decref(j);
		return;
	}
	const char *stream = json_string_value(json_object_get(j, "stream"));
	json_t *l = json_object_get(j, "line");
	cleanup_free char *time = isc_escape_or(json_string_value(json_object_get(j, "time")), "-");
	FILE *out = stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;
	for (uint64_t i = 0; i < n; i++) {
		if (v->timestamps)
			fprintf(out, "%s ", time);
		isc_fputs_escaped(json_string_value(l), json_string_length(l), out);
		fputc('\n', out);
	}
	fflush(out);
	json_decref(j);
}

static void dump_file(const char *path, struct logview *v)
{
	cleanup_file FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0)
		print_record(line, v);
	free(line);
}

/* The lines all the log files hold now under v's --since (for --tail). */
static uint64_t count_lines(const char *dir, const struct logview *v)
{
	uint64_t n = 0;
	for (int i = 2; i >= 0; i--) {
		cleanup_free char *p =
			i ? isc_xasprintf("%s/container.log.%d", dir, i) : isc_xasprintf("%s/container.log", dir);
		cleanup_file FILE *f = fopen(p, "re");
		char *line = NULL;
		size_t cap = 0;
		while (f && getline(&line, &cap, f) > 0) {
			json_t *j = json_loads(line, 0, NULL);
			n += record_lines(j, v);
			json_decref(j);
		}
		free(line);
	}
	return n;
}

/* Print the rotated files, oldest first, then open container.log. */
static void tail_start(struct tail *t)
{
	for (int i = 2; i >= 1; i--) {
		cleanup_free char *p = isc_xasprintf("%s/container.log.%d", t->dir, i);
		dump_file(p, t->v);
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
			print_record(line, t->v);
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

/* The service's state and exit count from iscd; -1 when iscd cannot say
 * (not running, the service gone). */
static int service_state(struct isc_global *g, const char *name, bool *runs, json_int_t *exits)
{
	isc_error *err = NULL;
	json_t *req = json_pack("{s:s, s:s}", "op", "inspect", "name", name), *reply = NULL;
	int r = isc_ctl_call(g->root, req, &reply, &err);
	json_decref(req);
	isc_error_free(&err);
	if (r < 0)
		return -1;
	json_t *st = json_object_get(reply, "status");
	const char *state = json_string_value(json_object_get(st, "state"));
	*runs = state && strcmp(state, "stopped") != 0; /* running, or restarting by its policy */
	*exits = json_integer_value(json_object_get(st, "exits"));
	json_decref(reply);
	return 0;
}

/* logs -f: print new lines until the service stops (an exit after which
 * it does not restart), is removed, or SIGINT/SIGTERM.  Without iscd:
 * until the service's folder goes. */
static void follow_logs(struct isc_global *g, const char *name, struct tail *t)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	bool runs = true;
	json_int_t exits = 0;
	bool with_iscd = service_state(g, name, &runs, &exits) == 0;
	int fd = -1;
	struct stat st;
	while (!interrupted && runs && stat(t->dir, &st) == 0) {
		if (with_iscd && fd < 0) {
			isc_error *err = NULL;
			json_t *w = json_pack("{s:s, s:s, s:I}", "op", "wait", "name", name, "exits", exits);
			fd = isc_ctl_send_request(g->root, w, &err);
			json_decref(w);
			isc_error_free(&err);
			if (fd < 0)
				break;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, fd >= 0 ? 1 : 0, 100);
		tail_poll(t);
		if (r > 0) { /* an exit (or the service was removed) */
			json_t *reply = NULL;
			isc_error *err = NULL;
			int f = isc_ctl_finish(fd, &reply, &err);
			json_decref(reply);
			isc_error_free(&err);
			isc_closep(&fd);
			if (f < 0 || service_state(g, name, &runs, &exits) < 0)
				break;
		}
	}
	isc_closep(&fd);
	tail_poll(t);
}

static int logs_bad(const char *msg, const char *arg)
{
	fprintf(stderr, "isc: logs: %s%s\n", msg, arg ? arg : "");
	return ISC_EXIT_USAGE;
}

/* isc logs [-f] [--tail N] [--since TIME] [-t] [--format json] NAME; the
 * flags may follow NAME (as podman's). */
int verb_logs(struct isc_global *g, int argc, char **argv)
{
	if (want_help(argc, argv, "logs"))
		return 0;
	struct isc_cli_getopt go;
	isc_verb_getopt("logs", &go);
	bool follow = false, tail = false;
	uint64_t tail_n = 0;
	struct logview v = { 0 };
	isc_error *err = NULL;
	int c;
	optind = 0;
	opterr = 0;
	/* without the leading "+": flags after NAME too */
	while ((c = getopt_long(argc, argv, go.shortopts + 1, go.opts, NULL)) != -1) {
		if (c == 'f')
			follow = true;
		else if (c == 't')
			v.timestamps = true;
		else if (c == OPT_FORMAT && strcmp(optarg, "json") == 0)
			v.json = true;
		else if (c == OPT_FORMAT)
			return logs_bad("--format: json expected, not ", optarg);
		else if (c == OPT_TAIL && isc_parse_u64(optarg, &tail_n) == 0)
			tail = true;
		else if (c == OPT_TAIL)
			return logs_bad("--tail: a number of lines expected, not ", optarg);
		else if (c == OPT_SINCE && isc_parse_since(optarg, v.since, &err) < 0) {
			isc_error_wrap(&err, "logs");
			isc_report_input(&err);
			return ISC_EXIT_USAGE;
		} else if (c == '?')
			return isc_bad_flag("logs", argv, go.shortopts);
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "isc: logs: one NAME is required\n");
		isc_verb_usage("logs", stderr);
		return ISC_EXIT_USAGE;
	}
	const char *name = argv[optind];
	if (isc_plan_parse_name(name, &err) < 0) {
		isc_report_input(&err);
		return ISC_EXIT_USAGE;
	}
	cleanup_free char *dir = logs_dir(g, name);
	struct stat st;
	if (stat(dir, &st) < 0) {
		/* the message says it: no ": No such file or directory" */
		isc_error_set(&err, errno == ENOENT ? 0 : errno, "no service named %s (%s)", name, dir);
		return isc_report(&err);
	}
	if (tail) {
		uint64_t all = count_lines(dir, &v);
		v.skip = all > tail_n ? all - tail_n : 0;
	}
	struct tail t = { .dir = dir, .v = &v };
	tail_start(&t);
	tail_poll(&t);
	if (follow)
		follow_logs(g, name, &t);
	if (t.f)
		fclose(t.f);
	fflush(stdout);
	return 0;
}

/* ---- run --------------------------------------------------------------------------- */

/* How long `isc run -d` watches a service after its start (the process
 * runs: iscd answers `run` once the runtime started it) for an exit that
 * says it crashed at once: ISC_RUN_WATCH_MS, else RUN_CONFIRM_MS.
 * Documented in --help, isc(1). */
#define RUN_CONFIRM_MS 1000
#define RUN_WATCH_MAX_MS 600000

/* ISC_RUN_WATCH_MS (0 to RUN_WATCH_MAX_MS) or the default; -1 with an
 * error for a bad value. */
static int run_watch_ms(isc_error **err)
{
	const char *v = getenv("ISC_RUN_WATCH_MS");
	uint64_t ms;
	if (v == NULL || v[0] == '\0')
		return RUN_CONFIRM_MS;
	if (isc_parse_u64(v, &ms) < 0 || ms > RUN_WATCH_MAX_MS)
		return isc_error_set(err, EINVAL, "ISC_RUN_WATCH_MS: \"%s\" is not a number of ms from 0 to %d", v,
				     RUN_WATCH_MAX_MS);
	return (int)ms;
}
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
	if (isc_call(g, json_pack("{s:s, s:s}", "op", op, "name", name), &reply) != 0)
		return 1;
	json_decref(reply);
	return 0;
}

/* `isc run -d`: the service started; wait up to watch_ms for its first
 * exit.  0 when it still runs then (its name printed), 1 with its exit
 * status and last log lines when it exited (--rm: then removed). */
static int run_confirm(struct isc_global *g, const char *name, bool rm, int watch_ms)
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
	while ((r = poll(&p, 1, watch_ms)) < 0 && errno == EINTR)
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
			name, watch_ms, status);
	else
		fprintf(stderr,
			"isc: run: %s exited within %d ms of its start (%s); it stays (isc ps, isc logs %s, "
			"isc rm %s); the last lines of its log:\n",
			name, watch_ms, status, name, name);
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
	int watch_ms = plan.detach ? run_watch_ms(&err) : 0;
	if (watch_ms < 0) {
		isc_plan_clear(&plan);
		isc_error_wrap(&err, "run");
		isc_report_input(&err);
		return ISC_EXIT_USAGE;
	}
	bool detach = plan.detach, rm = plan.rm;
	cleanup_free char *name = isc_xstrdup(plan.name);
	json_t *req = json_pack("{s:s, s:o, s:b}", "op", "run", "plan", isc_plan_to_json(&plan), "attach", rm);
	isc_plan_clear(&plan);
	json_t *reply = NULL;
	if (isc_call(g, req, &reply) != 0)
		return 1;
	json_decref(reply);
	if (detach)
		return run_confirm(g, name, rm, watch_ms);
	/* attached: the output until the first exit (a new service: its
	 * exit number 1, even when it came before this request) */
	json_t *wait = json_pack("{s:s, s:s, s:I}", "op", "wait", "name", name, "exits", (json_int_t)0);
	int fd = isc_ctl_send_request(g->root, wait, &err);
	json_decref(wait);
	if (fd < 0)
		return isc_report(&err);
	cleanup_free char *dir = logs_dir(g, name);
	struct logview v = { 0 };
	struct tail t = { .dir = dir, .v = &v };
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

/* "0.0.0.0:8080->80/tcp, ..." (podman's PORTS) of a summary's "ports"; "-"
 * for none. */
static char *ports_text(json_t *ports)
{
	char *out = isc_xstrdup("");
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p) {
		const char *proto = json_string_value(json_object_get(p, "proto"));
		char *next = isc_xasprintf("%s%s0.0.0.0:%lld->%lld/%s", out, i ? ", " : "",
					   (long long)json_integer_value(json_object_get(p, "host_port")),
					   (long long)json_integer_value(json_object_get(p, "port")),
					   proto && strcmp(proto, "udp") == 0 ? "udp" : "tcp");
		free(out);
		out = next;
	}
	if (out[0] == '\0') {
		free(out);
		out = isc_xstrdup("-");
	}
	return out;
}

/* The image column: its name while the name still points to the content
 * the service runs, else the content's id (12 digits). */
static char *image_text(struct isc_global *g, json_t *s)
{
	const char *name = json_string_value(json_object_get(s, "image"));
	const char *id = json_string_value(json_object_get(s, "image_id"));
	char now[65];
	isc_error *err = NULL;
	if (name && id && isc_image_resolve(g->root, name, now, &err) == 0 && strcmp(now, id) == 0)
		return isc_escape(name);
	isc_error_free(&err);
	return id ? isc_xasprintf("%.12s", id) : isc_escape_or(name, "?");
}

static void ps_table(struct isc_global *g, json_t *list)
{
	printf("%-12s %-20s %-20s %-11s %-20s %-8s %-8s %-9s %s\n", "ID", "NAME", "IMAGE", "STATE", "CREATED", "PID",
	       "RESTARTS", "LAST EXIT", "PORTS");
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s) {
		json_t *le = json_object_get(json_object_get(s, "last_exit"), "status");
		cleanup_free char *last = json_is_integer(le) ? isc_xasprintf("%lld", (long long)json_integer_value(le))
							      : isc_escape_or(json_string_value(le), "-");
		cleanup_free char *name = isc_escape_or(json_string_value(json_object_get(s, "name")), "?");
		cleanup_free char *image = image_text(g, s);
		cleanup_free char *st = isc_escape_or(json_string_value(json_object_get(s, "state")), "?");
		cleanup_free char *created = isc_escape_or(json_string_value(json_object_get(s, "created")), "-");
		cleanup_free char *ports = ports_text(json_object_get(s, "ports"));
		const char *id = json_string_value(json_object_get(s, "id"));
		printf("%-12.12s %-20s %-20s %-11s %-20s %-8lld %-8lld %-9s %s\n", id && id[0] ? id : "-", name, image,
		       st, created, (long long)json_integer_value(json_object_get(s, "pid")),
		       (long long)json_integer_value(json_object_get(s, "restarts")), last, ports);
	}
}

/* isc ps [-a] [-q] [--format json]: the services that run (or restart by
 * their policy); -a: the stopped ones too; -q: their names only. */
int verb_ps(struct isc_global *g, int argc, char **argv)
{
	if (want_help(argc, argv, "ps"))
		return 0;
	struct isc_cli_getopt go;
	isc_verb_getopt("ps", &go);
	bool as_json = false, all = false, quiet = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'q')
			quiet = true;
		else if (c == OPT_FORMAT && strcmp(optarg, "json") == 0)
			as_json = true;
		else if (c == OPT_FORMAT) {
			fprintf(stderr, "isc: ps: --format: json expected, not %s\n", optarg);
			return ISC_EXIT_USAGE;
		} else
			return isc_bad_flag("ps", argv, go.shortopts);
	}
	if (optind != argc) {
		fprintf(stderr, "isc: ps: unexpected argument %s\n", argv[optind]);
		isc_verb_usage("ps", stderr);
		return ISC_EXIT_USAGE;
	}
	json_t *reply = NULL;
	if (isc_call(g, json_pack("{s:s}", "op", "ps"), &reply) != 0)
		return 1;
	json_t *list = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(reply, "services"), i, s) {
		const char *st = json_string_value(json_object_get(s, "state"));
		if (all || (st && strcmp(st, "stopped") != 0))
			json_array_append(list, s);
	}
	if (quiet) {
		json_array_foreach(list, i, s) {
			cleanup_free char *name = isc_escape_or(json_string_value(json_object_get(s, "name")), "?");
			printf("%s\n", name);
		}
	} else if (as_json) {
		cleanup_free char *text = json_dumps(list, JSON_INDENT(2));
		cleanup_free char *safe = isc_escape_json(text);
		printf("%s\n", safe ? safe : "null");
	} else {
		ps_table(g, list);
	}
	json_decref(list);
	json_decref(reply);
	return 0;
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

int isc_each_name(struct isc_global *g, int argc, char **argv, int first, json_t *proto)
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
		if (isc_call(g, req, &reply) != 0) {
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
	return isc_each_name(g, argc, argv, optind, json_pack("{s:s, s:I}", "op", op, "timeout", timeout));
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
	return isc_each_name(g, argc, argv, 1, json_pack("{s:s}", "op", "start"));
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
	return isc_each_name(g, argc, argv, optind,
			     json_pack("{s:s, s:b, s:b}", "op", "rm", "force", force, "purge", purge));
}
