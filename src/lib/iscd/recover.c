/* SPDX-License-Identifier: GPL-2.0-or-later
 * Re-adoption and recovery (iscd's supervisor).
 *
 * Design
 * ------
 * Re-adoption and recovery at iscd's start (isc_supervisor_open).  Every
 * service of R/containers is loaded (status.c); one whose init (pid and
 * start time) still runs gets a pidfd and its FIFOs back; one that died
 * meanwhile is cleaned up and restarted by its policy (status unknown).
 * Then the ops a killed iscd left (their journal entries, journal.c) are
 * finished or undone, and logged ("recovery: ..."):
 *   run, start   what the start made is undone, then the service starts
 *                again; a run killed before service.json existed is undone
 *                whole (id range, audit id, address, its folder);
 *   stop         SIGTERM again, SIGKILL at the recorded deadline, stopped;
 *   restart      the same stop, then a start;
 *   rm           finished (SIGKILL, teardown, ids, files).
 */
#include "iscd/supervisor.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "base/util.h"
#include "iscd/journal.h"
#include "plan/plan.h"
#include "runtime/state.h"

static void svc_readopt(struct isc_supervisor *sv, struct svc *s)
{
	isc_error *err = NULL;
	if (svc_open_fifos(sv, s, &err) < 0)
		svc_log_error(s, &err);
	if (s->pid > 0) {
		s->pidfd = sv_pidfd_open(s->pid, s->pid_start);
		if (s->pidfd >= 0 && isc_state_exists(sv->runtime_root, s->name)) {
			s->state = SVC_RUNNING;
			s->started_ns = isc_now_ns();
			s->pidw = (struct watch){ W_PIDFD, s };
			sv_epoll_add(sv, s->pidfd, &s->pidw);
			isc_sv_log(LOG_INFO, "%s: re-adopted (pid %d)", s->name, (int)s->pid);
			svc_save_status(s);
			return;
		}
		isc_closep(&s->pidfd);
		/* died while no iscd watched: clean up, then the policy */
		s->state = SVC_RUNNING;
		isc_sv_log(LOG_NOTICE, "%s: its init (pid %d) ended while iscd was away", s->name, (int)s->pid);
		svc_exited(sv, s, false, 0);
		return;
	}
	/* not running: leftovers of a start or an exit iscd did not finish */
	svc_teardown(sv, s, true);
	if (s->desired_running) {
		s->state = SVC_RESTARTING;
		s->restart_at_ns = isc_now_ns();
		s->backoff_ms = BACKOFF_MIN_MS;
	} else {
		s->state = SVC_STOPPED;
	}
	svc_save_status(s);
}

/* A start may have made its pieces without recording them in status.json:
 * the teardown is told to try all of them (each skips what is not there). */
static void recover_marks(const struct isc_supervisor *sv, struct svc *s)
{
	if (!s->plan.userns_host && s->rootfs_mount == NULL)
		s->rootfs_mount = svc_path(s, "rootfs");
	if (sv->network)
		s->net_up = true;
}

/* The journal entry of `name`, or NULL; a broken one is logged and goes. */
static json_t *journal_entry(const struct isc_supervisor *sv, const char *name)
{
	isc_error *err = NULL;
	json_t *je = isc_journal_read(sv->root, name, &err);
	if (err != NULL) {
		char buf[1024];
		isc_sv_log(LOG_ERR, "recovery: %s: ignored", isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
		sv_journal_end(sv, name);
	}
	return je;
}

/* rm: finished.  s is on the list; it goes (freed). */
static void recover_rm(struct isc_supervisor *sv, struct svc *s, bool purge)
{
	svc_unlink(sv, s);
	recover_marks(sv, s);
	int fd = s->pid > 0 ? sv_pidfd_open(s->pid, s->pid_start) : -1;
	if (fd >= 0) {
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		(void)sv_pidfd_wait(fd, 10000);
		close(fd);
	}
	isc_error *err = NULL;
	if (svc_rm_finish(sv, s, purge, &err) < 0) {
		char buf[1024];
		isc_sv_log(LOG_ERR, "%s: recovery: the rm is not finished: %s", s->name,
			   isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	} else {
		isc_sv_log(LOG_NOTICE, "%s: recovery: the interrupted rm is finished: the service is removed", s->name);
	}
	svc_free(s);
}

/* stop, restart: the stop goes on to its deadline (SIGTERM again: the
 * first may not have been sent), or is done when nothing runs. */
static void recover_stop(struct isc_supervisor *sv, struct svc *s, json_t *je)
{
	const char *op = s->jop == JOP_RESTART ? "restart" : "stop";
	if (s->state == SVC_RUNNING && s->pidfd >= 0) {
		uint64_t deadline = (uint64_t)json_integer_value(json_object_get(je, "deadline"));
		uint64_t now = sv_realtime_ns();
		uint64_t left = deadline > now ? deadline - now : 0;
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGTERM, NULL, 0);
		s->kill_at_ns = isc_now_ns() + (left > 0 ? left : 1);
		svc_save_status(s);
		isc_sv_log(LOG_NOTICE, "%s: recovery: the interrupted %s goes on: SIGTERM again, SIGKILL in %llu ms",
			   s->name, op, (unsigned long long)(left / MS));
		return;
	}
	/* ended while no iscd ran (svc_readopt saw it) */
	if (s->jop == JOP_STOP)
		sv_journal_end(sv, s->name);
	if (s->jop == JOP_RESTART && s->state == SVC_STOPPED) {
		s->desired_running = true;
		s->state = SVC_RESTARTING;
		s->restart_at_ns = isc_now_ns();
		s->backoff_ms = BACKOFF_MIN_MS;
		svc_save_status(s);
	}
	s->jop = JOP_NONE;
	isc_sv_log(LOG_NOTICE, "%s: recovery: the interrupted %s is finished: %s", s->name, op,
		   s->state == SVC_STOPPED ? "stopped" : "stopped, starting again");
}

/* Finish the op a killed iscd left on s (its journal entry je), re-adopting
 * s on the way. */
static void svc_recover(struct isc_supervisor *sv, struct svc *s, json_t *je)
{
	const char *op = json_string_value(json_object_get(je, "op"));
	const char *since = json_string_value(json_object_get(je, "time"));
	isc_sv_log(LOG_NOTICE, "%s: recovery: the %s begun at %s was interrupted (iscd ended during it)", s->name, op,
		   since ? since : "?");
	if (strcmp(op, "rm") == 0) {
		recover_rm(sv, s, json_is_true(json_object_get(je, "purge")));
		return;
	}
	if (strcmp(op, "stop") == 0 || strcmp(op, "restart") == 0) {
		s->desired_running = false;
		s->jop = op[0] == 's' ? JOP_STOP : JOP_RESTART;
		svc_readopt(sv, s);
		recover_stop(sv, s, je);
		return;
	}
	/* run, start: asked to run; what the start made goes first */
	recover_marks(sv, s);
	s->desired_running = true;
	svc_readopt(sv, s);
	sv_journal_end(sv, s->name);
	isc_sv_log(LOG_NOTICE, "%s: recovery: the interrupted %s is finished: %s", s->name, op,
		   s->state == SVC_RUNNING	? "its container runs (re-adopted)"
		   : s->state == SVC_RESTARTING ? "its pieces undone, starting it again"
						: "its container has exited");
}

/* An entry without a service: a run killed before service.json was written
 * (undone whole), or an rm that removed it (finished). */
static void recover_orphan(struct isc_supervisor *sv, const char *name, json_t *je)
{
	const char *op = json_string_value(json_object_get(je, "op"));
	cleanup_free char *sj = isc_xasprintf("%s/%s/service.json", sv->containers, name);
	isc_error *err = NULL;
	char buf[1024];
	if (isc_plan_parse_name(name, &err) < 0 || access(sj, F_OK) == 0) {
		/* a bad name, or a service that did not load (logged): not ours to remove */
		isc_sv_log(LOG_ERR, "recovery: the interrupted %s of %s is left as it is%s%s", op, name,
			   err ? ": " : "", err ? isc_error_text(err, buf, sizeof(buf)) : "");
		isc_error_free(&err);
		sv_journal_end(sv, name);
		return;
	}
	bool purge = strcmp(op, "rm") == 0 ? json_is_true(json_object_get(je, "purge"))
					   : json_is_true(json_object_get(je, "new_dir"));
	isc_sv_log(LOG_NOTICE, "%s: recovery: the %s begun at %s was interrupted before the service was recorded", name,
		   op, json_string_value(json_object_get(je, "time")) ?: "?");
	struct svc *s = svc_new(sv, name);
	recover_marks(sv, s);
	if (svc_rm_finish(sv, s, purge, &err) < 0) {
		isc_sv_log(LOG_ERR, "%s: recovery: the %s is not undone: %s", name, op,
			   isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	} else {
		isc_sv_log(LOG_NOTICE, "%s: recovery: the interrupted %s is %s: nothing of the service is left", name,
			   op, strcmp(op, "rm") == 0 ? "finished" : "undone");
	}
	svc_free(s);
}

static void recover_orphans(struct isc_supervisor *sv)
{
	cleanup_strv char **names = isc_journal_names(sv->root);
	for (char **n = names; *n; n++) {
		if (svc_find(sv, *n) != NULL)
			continue; /* its entry is a new op's (recovery restarted it) */
		json_t *je = journal_entry(sv, *n);
		if (je != NULL)
			recover_orphan(sv, *n, je);
		json_decref(je);
	}
}

void sv_readopt_all(struct isc_supervisor *sv)
{
	DIR *d = opendir(sv->containers);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_free char *sj = isc_xasprintf("%s/%s/service.json", sv->containers, de->d_name);
		if (access(sj, F_OK) < 0)
			continue; /* a kept persist/ of a removed service */
		struct svc *s = NULL;
		isc_error *err = NULL;
		if (svc_load(sv, de->d_name, &s, &err) < 0) {
			char buf[1024];
			isc_sv_log(LOG_ERR, "cannot load service %s: %s", de->d_name,
				   isc_error_text(err, buf, sizeof(buf)));
			isc_error_free(&err);
			continue;
		}
		s->next = sv->svcs;
		sv->svcs = s;
		json_t *je = journal_entry(sv, s->name);
		if (je != NULL)
			svc_recover(sv, s, je);
		else
			svc_readopt(sv, s);
		json_decref(je);
	}
	closedir(d);
	recover_orphans(sv);
}
