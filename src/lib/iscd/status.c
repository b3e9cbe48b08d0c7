/* SPDX-License-Identifier: GPL-2.0-or-later
 * The service record and its files (iscd's supervisor).
 *
 * Design
 * ------
 * A service's record and the files iscd keeps for it: the struct svc made
 * and freed (svc_new, svc_free), loaded from service.json and status.json
 * at iscd's start (svc_load), and written back: status.json at every change
 * of state, service.json at `run` and when its plan or audit id changes.
 * Every write is durable (isc_write_file_durable, the folder fsynced) and
 * goes through the service's folder opened once (svc_dir_write).  The
 * journal's wrappers (journal.c: the op under way, for recovery.c) and the
 * test points of test builds are here too.
 */
#include "iscd/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/random.h>

#include "base/util.h"
#include "iscd/journal.h"
#include "plan/plan.h"
#include "runtime/state.h"

static const char *const state_names[] = { "stopped", "running", "restarting" };

/* The service's folder (sub: a folder in it, or NULL), opened O_PATH: the
 * files iscd keeps for a service are written through it. */
int svc_dir_open(const struct svc *s, const char *sub, isc_error **err)
{
	cleanup_free char *path = sub ? svc_path(s, sub) : isc_xstrdup(s->dir);
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", path);
	return fd;
}

/* j (stolen) as the service's file `name`, durably (0600). */
static int svc_write_json(const struct svc *s, const char *name, json_t *j, isc_error **err)
{
	cleanup_free char *text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (text == NULL)
		return isc_error_set(err, ENOMEM, "%s/%s", s->dir, name);
	cleanup_close int dfd = svc_dir_open(s, NULL, err);
	if (dfd < 0)
		return -1;
	return isc_write_file_durable(dfd, name, text, strlen(text), 0600, err);
}

/* The service's file `name` as an object; NULL (*err says why) when it
 * cannot be read or is no object. */
static json_t *svc_read_json(const struct svc *s, const char *name, isc_error **err)
{
	cleanup_free char *path = svc_path(s, name);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		isc_error_set(err, EINVAL, "%s: %s", path, j ? "not an object" : jerr.text);
		return NULL;
	}
	return j;
}

json_t *svc_status_json(const struct svc *s)
{
	json_t *j = json_object();
	json_object_set_new(j, "desired", json_string(s->desired_running ? "running" : "stopped"));
	/* a paused service runs (its init lives, frozen): "paused" to ps and inspect */
	json_object_set_new(j, "state",
			    json_string(s->state == SVC_RUNNING && s->paused ? "paused" : state_names[s->state]));
	json_object_set_new(j, "restarts", json_integer(s->restarts));
	json_object_set_new(j, "exits", json_integer(s->exits));
	json_object_set_new(j, "last_exit", s->last_exit ? json_incref(s->last_exit) : json_null());
	json_object_set_new(j, "started", s->started ? json_string(s->started) : json_null());
	json_object_set_new(j, "finished", s->finished ? json_string(s->finished) : json_null());
	json_object_set_new(j, "last_error", s->last_error ? json_string(s->last_error) : json_null());
	json_object_set_new(j, "pid", json_integer(s->state == SVC_RUNNING ? s->pid : 0));
	json_object_set_new(j, "pid_start_time",
			    json_integer((json_int_t)(s->state == SVC_RUNNING ? s->pid_start : 0)));
	json_object_set_new(j, "rootfs_mount", s->rootfs_mount ? json_string(s->rootfs_mount) : json_null());
	json_object_set_new(j, "network", json_boolean(s->net_up));
	return j;
}

void svc_save_status(struct svc *s)
{
	isc_error *err = NULL;
	if (svc_write_json(s, "status.json", svc_status_json(s), &err) < 0) {
		char buf[512];
		isc_sv_log(LOG_ERR, "%s: cannot write status.json: %s", s->name, isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	}
}

int svc_save_service(struct svc *s, isc_error **err)
{
	json_t *j = json_pack("{s:o, s:s, s:I, s:I}", "plan", isc_plan_to_json(&s->plan), "image_id", s->image_id,
			      "uid_base", (json_int_t)s->uid_base, "audit_id", (json_int_t)s->audit_id);
	free(s->created);
	s->created = isc_rfc3339_now();
	json_object_set_new(j, "created", json_string(s->created));
	if (s->id[0] == '\0') {
		/* the service's id, as podman's: 32 random bytes in hex */
		unsigned char r[32];
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return isc_error_set(err, errno, "getrandom (the service's id)");
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(s->id + 2 * i, 3, "%02x", r[i]);
	}
	json_object_set_new(j, "id", json_string(s->id));
	json_object_set_new(j, "image_config", s->image_config ? json_incref(s->image_config) : json_null());
	return svc_write_json(s, "service.json", j, err);
}

/* *err in iscd's log as "NAME: message" (LOG_ERR), then freed. */
void svc_log_error(const struct svc *s, isc_error **err)
{
	char buf[1024];
	isc_sv_log(LOG_ERR, "%s: %s", s->name, isc_error_text(*err, buf, sizeof(buf)));
	isc_error_free(err);
}

void svc_set_error(struct svc *s, const isc_error *e)
{
	char buf[1024];
	free(s->last_error);
	s->last_error = isc_xstrdup(isc_error_text(e, buf, sizeof(buf)));
}

/* Record the op about to run on `name` (entry: stolen; NULL: just "op"). */
int sv_journal_begin(const struct isc_supervisor *sv, const char *name, const char *op, json_t *entry, isc_error **err)
{
	if (entry == NULL)
		entry = json_object();
	json_object_set_new(entry, "op", json_string(op));
	int r = isc_journal_begin(sv->root, name, entry, err);
	json_decref(entry);
	return r;
}

/* A stop or rm goes on when it cannot be journalled (it frees, it makes
 * nothing); said in the log. */
void sv_journal_begin_or_log(const struct isc_supervisor *sv, const char *name, const char *op, json_t *entry)
{
	isc_error *err = NULL;
	if (sv_journal_begin(sv, name, op, entry, &err) < 0) {
		char buf[1024];
		isc_sv_log(LOG_WARNING, "%s: %s: going on unjournalled", name, isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	}
}

void sv_journal_end(const struct isc_supervisor *sv, const char *name)
{
	isc_error *err = NULL;
	if (isc_journal_end(sv->root, name, &err) < 0) {
		char buf[1024];
		isc_sv_log(LOG_ERR, "%s: %s", name, isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	}
}

/* Test builds: iscd stops itself (SIGSTOP) at the step ISCD_TEST_STOP_AT
 * names, once, so that a test can kill it exactly there. */
void sv_test_point(const char *step)
{
#ifdef ISC_TEST_HOOKS
	static bool done;
	const char *at = getenv("ISCD_TEST_STOP_AT");
	if (done || at == NULL || strcmp(at, step) != 0)
		return;
	done = true;
	isc_sv_log(LOG_NOTICE, "test point %s: SIGSTOP", step);
	raise(SIGSTOP);
#else
	(void)step;
#endif
}

void svc_free(struct svc *s)
{
	if (s == NULL)
		return;
	isc_closep(&s->out.fd);
	isc_closep(&s->errs.fd);
	isc_closep(&s->logfd);
	isc_closep(&s->pidfd);
	isc_plan_clear(&s->plan);
	json_decref(s->last_exit);
	json_decref(s->image_config);
	free(s->name), free(s->dir), free(s->started), free(s->finished), free(s->last_error), free(s->rootfs_mount);
	free(s->created);
	free(s);
}

struct svc *svc_new(struct isc_supervisor *sv, const char *name)
{
	struct svc *s = isc_xmalloc0(sizeof(*s));
	s->name = isc_xstrdup(name);
	s->dir = isc_xasprintf("%s/%s", sv->containers, name);
	s->pidfd = s->logfd = -1;
	s->out = (struct logstream){ .fd = -1, .name = "stdout" };
	s->errs = (struct logstream){ .fd = -1, .name = "stderr" };
	s->out.w = (struct watch){ W_STDOUT, s };
	s->errs.w = (struct watch){ W_STDERR, s };
	isc_plan_clear(&s->plan);
	return s;
}

/* The plan and the audit id in service.json again (its other fields as
 * they are): a restart and a restarted iscd build from it, and `isc
 * inspect` shows it. */
int svc_save_plan(const struct svc *s, isc_error **err)
{
	json_t *j = svc_read_json(s, "service.json", err);
	if (j == NULL)
		return -1;
	json_object_set_new(j, "plan", isc_plan_to_json(&s->plan));
	json_object_set_new(j, "audit_id", json_integer((json_int_t)s->audit_id));
	return svc_write_json(s, "service.json", j, err);
}

/* What status.json says of s (nothing when it cannot be read). */
static void svc_load_status(struct svc *s)
{
	json_t *st = svc_read_json(s, "status.json", NULL);
	if (st == NULL)
		return;
	const char *desired = json_string_value(json_object_get(st, "desired"));
	const char *state = json_string_value(json_object_get(st, "state"));
	s->desired_running = desired && strcmp(desired, "running") == 0;
	s->restarts = (unsigned)json_integer_value(json_object_get(st, "restarts"));
	s->exits = (unsigned)json_integer_value(json_object_get(st, "exits"));
	json_t *le = json_object_get(st, "last_exit");
	s->last_exit = json_is_object(le) ? json_incref(le) : NULL;
	const char *v;
	if ((v = json_string_value(json_object_get(st, "started"))))
		s->started = isc_xstrdup(v);
	if ((v = json_string_value(json_object_get(st, "finished"))))
		s->finished = isc_xstrdup(v);
	if ((v = json_string_value(json_object_get(st, "rootfs_mount"))))
		s->rootfs_mount = isc_xstrdup(v);
	s->net_up = json_is_true(json_object_get(st, "network"));
	if (state && (strcmp(state, "running") == 0 || strcmp(state, "paused") == 0)) {
		s->paused = strcmp(state, "paused") == 0;
		s->pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
		s->pid_start = (uint64_t)json_integer_value(json_object_get(st, "pid_start_time"));
	}
	json_decref(st);
}

int svc_load(struct isc_supervisor *sv, const char *name, struct svc **out, isc_error **err)
{
	*out = NULL;
	struct svc *s = svc_new(sv, name);
	json_t *j = svc_read_json(s, "service.json", err);
	if (j == NULL) {
		svc_free(s);
		return -1;
	}
	const char *id = json_string_value(json_object_get(j, "image_id"));
	json_t *base = json_object_get(j, "uid_base");
	if (id == NULL || strlen(id) != 64 || !json_is_integer(base) ||
	    isc_plan_from_json(json_object_get(j, "plan"), &s->plan, err) < 0) {
		json_decref(j);
		if (err && *err)
			isc_error_wrap(err, "%s/service.json", s->dir);
		else
			isc_error_set(err, EINVAL, "%s/service.json: no image_id or uid_base", s->dir);
		svc_free(s);
		return -1;
	}
	memcpy(s->image_id, id, 65);
	s->uid_base = (uint32_t)json_integer_value(base);
	s->audit_id = (uint32_t)json_integer_value(json_object_get(j, "audit_id"));
	json_t *ic = json_object_get(j, "image_config");
	s->image_config = json_is_object(ic) ? json_incref(ic) : NULL;
	const char *created = json_string_value(json_object_get(j, "created"));
	s->created = created ? isc_xstrdup(created) : NULL;
	const char *sid = json_string_value(json_object_get(j, "id"));
	if (sid && strlen(sid) == 64 && strspn(sid, "0123456789abcdef") == 64)
		memcpy(s->id, sid, 65);
	json_decref(j);
	svc_load_status(s);
	*out = s;
	return 0;
}
