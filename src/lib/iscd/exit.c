/* SPDX-License-Identifier: GPL-2.0-or-later
 * Exits, restart policy, stops (iscd's supervisor).
 *
 * Design
 * ------
 * Death handling, the restart policy and stops.  An exit is seen through
 * the init's pidfd (or SIGCHLD for a child of ours): the status when the
 * init is our child (else "unknown", a failure), the logs flushed, the
 * teardown (start.c), then the policy (no / on-failure / always; an
 * explicit stop never restarts) with a backoff of BACKOFF_MIN_MS doubling
 * up to BACKOFF_MAX_MS, reset after BACKOFF_RESET_NS of running.  A stop is
 * SIGTERM now and SIGKILL at a deadline of the loop, both through the pidfd
 * (no pid reuse race; killing a pid namespace's init kills all of it); a
 * journalled stop or restart records its deadline first; a paused service
 * is thawed once signalled (svcctl.c).  The requests that wait (wait, stop,
 * restart) are answered here, at the exit.  An --rm service that ended for
 * good is removed from the loop (sv_rm_due, ops.c). */
#include "iscd/supervisor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "iscd/protocol.h"

static void waiter_reply(struct waiter *w, json_t *r)
{
	isc_error *e = NULL;
	if (isc_ctl_send(w->fd, r, &e) < 0)
		isc_error_free(&e);
	json_decref(r);
	close(w->fd);
	free(w->name);
	free(w);
}

/* Answer the requests that waited for s: at an exit (removed: the service
 * is gone).  The due waiters leave the list first: a restart's start may
 * end in an exit again, which calls this again. */
void sv_waiters_notify(struct isc_supervisor *sv, struct svc *s, bool removed)
{
	struct waiter *due = NULL;
	for (struct waiter **wp = &sv->waiters; *wp;) {
		struct waiter *w = *wp;
		if (strcmp(w->name, s->name) != 0 || (!removed && w->kind == WAIT_EXIT && s->exits <= w->exits)) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		w->next = due;
		due = w;
	}
	while (due) {
		struct waiter *w = due;
		due = w->next;
		isc_error *e = NULL;
		json_t *r = NULL;
		if (removed || (w->kind == WAIT_RESTART && s->removing)) {
			isc_error_set(&e, ENOENT, "service %s was removed", s->name);
		} else if (w->kind == WAIT_EXIT) {
			r = isc_ctl_ok_reply(json_pack("{s:O}", "exit", s->last_exit ? s->last_exit : json_null()));
		} else if (w->kind == WAIT_STOP) {
			r = isc_ctl_ok_reply(svc_summary(s));
		} else if (sv_op_start(sv, s, &r, &e) < 0) {
			r = NULL;
		}
		if (r == NULL) {
			r = isc_ctl_error_reply(e);
			isc_error_free(&e);
		}
		waiter_reply(w, r);
	}
}

void svc_close_pidfd(struct isc_supervisor *sv, struct svc *s)
{
	if (s->pidfd >= 0) {
		sv_epoll_del(sv, s->pidfd);
		isc_closep(&s->pidfd);
	}
}

/* The policy after an exit (failure: not status 0, or unknown): a restart
 * at the backoff's time, or stopped. */
static void exit_policy(struct isc_supervisor *sv, struct svc *s, bool failure)
{
	/* isc kill: as podman's, the policy does not apply to its exit */
	bool restart =
		s->desired_running && !s->killed &&
		(s->plan.restart == ISC_RESTART_ALWAYS || (s->plan.restart == ISC_RESTART_ON_FAILURE && failure));
	/* a journalled stop is done; a restart's stop goes on to its start (the
	 * waiting request's sv_op_start, or sv_restart_due after a recovery), whose
	 * journal entry replaces this one */
	if (s->jop == JOP_STOP)
		sv_journal_end(sv, s->name);
	if (s->jop == JOP_RESTART && !s->removing) {
		s->desired_running = true;
		restart = true;
		s->backoff_ms = 0;
	}
	s->jop = JOP_NONE;
	if (!restart) {
		s->state = SVC_STOPPED;
		s->desired_running = false;
		return;
	}
	uint64_t now = isc_now_ns();
	if (s->backoff_ms == 0 || now - s->started_ns >= BACKOFF_RESET_NS)
		s->backoff_ms = BACKOFF_MIN_MS;
	else
		s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
	s->restart_at_ns = now + s->backoff_ms * MS;
	s->state = SVC_RESTARTING;
	isc_sv_log(LOG_INFO, "%s: restart in %llu ms (policy %s)", s->name, (unsigned long long)s->backoff_ms,
		   s->plan.restart == ISC_RESTART_ALWAYS ? "always" : "on-failure");
}

void svc_exited(struct isc_supervisor *sv, struct svc *s, bool known, int wstatus)
{
	svc_close_pidfd(sv, s);
	s->kill_at_ns = 0;
	svc_log_drain(s, &s->out, true);
	svc_log_drain(s, &s->errs, true);
	char ts[ISC_RFC3339_LEN];
	isc_rfc3339_format(ts);
	free(s->finished);
	s->finished = isc_xstrdup(ts);
	int code = -1;
	if (known)
		code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	json_decref(s->last_exit);
	s->last_exit =
		json_pack("{s:o, s:s}", "status", known ? json_integer(code) : json_string("unknown"), "time", ts);
	s->exits++;
	isc_sv_log(LOG_INFO, "%s: exited (%s%d)", s->name, known ? "status " : "status unknown, pid ",
		   known ? code : (int)s->pid);
	svc_teardown(sv, s, true);
	s->pid = 0;
	s->pid_start = 0;
	exit_policy(sv, s, !known || code != 0);
	s->killed = false;
	s->paused = false;
	/* --rm: ended and not restarted (an exit, isc stop): removed by the
	 * loop once the waiters below have their answer; an attached run's
	 * client removes it itself, after its output */
	if (s->plan.rm && s->state == SVC_STOPPED && !s->removing && !s->rm_hold)
		s->rm_due = true;
	svc_save_status(s);
	sv_waiters_notify(sv, s, false);
}

void svc_reap(struct isc_supervisor *sv, struct svc *s)
{
	siginfo_t si = { 0 };
	if (waitid(P_PIDFD, (id_t)s->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0) {
		int ws = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
		svc_exited(sv, s, true, ws);
		return;
	}
	/* not our child (re-adopted): the status is lost */
	svc_exited(sv, s, false, 0);
}

void sv_sigchld(struct isc_supervisor *sv)
{
	for (;;) {
		int ws;
		pid_t pid = waitpid(-1, &ws, WNOHANG);
		if (pid <= 0)
			break;
		if (pid == sv->pktlog_pid) {
			sv_pktlog_exited(sv, ws);
			continue;
		}
		for (struct svc *s = sv->svcs; s; s = s->next)
			if (s->state == SVC_RUNNING && s->pid == pid) {
				svc_exited(sv, s, true, ws);
				break;
			}
	}
}

void sv_restart_due(struct isc_supervisor *sv)
{
	uint64_t now = isc_now_ns();
	if (sv->pktlog_restart_at_ns != 0 && sv->pktlog_restart_at_ns <= now && !sv->quit)
		sv_pktlog_start(sv);
	for (struct svc *s = sv->svcs; s; s = s->next) {
		if (s->state != SVC_RESTARTING || s->restart_at_ns == 0 || s->restart_at_ns > now)
			continue;
		s->restarts++;
		isc_error *err = NULL;
		int r = sv_journal_begin(sv, s->name, "start", NULL, &err);
		if (r == 0) {
			r = svc_start(sv, s, &err);
			sv_journal_end(sv, s->name);
		}
		if (r < 0) {
			char buf[1024];
			isc_sv_log(LOG_ERR, "%s: restart failed: %s", s->name, isc_error_text(err, buf, sizeof(buf)));
			isc_error_free(&err);
			s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
			s->restart_at_ns = isc_now_ns() + s->backoff_ms * MS;
			svc_save_status(s);
		}
	}
}

bool sv_pidfd_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t end = isc_now_ns() + (uint64_t)ms * MS;
	for (;;) {
		uint64_t now = isc_now_ns();
		int left = now >= end ? 0 : (int)((end - now) / MS);
		int r = poll(&p, 1, left);
		if (r > 0)
			return true;
		if (r == 0)
			return false;
		if (errno != EINTR)
			return false;
	}
}

/* Stop: SIGTERM now, SIGKILL at the deadline (sv_stop_deadlines), then the
 * exit path answers the waiting request.  Signals go through the pidfd:
 * no pid reuse race.  Killing the init of a pid namespace kills every
 * process in it.  Returns true when the service is already stopped (the
 * caller answers at once), false when the answer comes at the exit. */
uint64_t sv_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* op: "stop" or "restart" (journalled: the SIGKILL deadline is recorded
 * before the SIGTERM), NULL for rm's kill (rm has an entry of its own). */
bool svc_stop_begin(struct isc_supervisor *sv, struct svc *s, int timeout, const char *op)
{
	if (op != NULL && s->state == SVC_RUNNING && s->pidfd >= 0) {
		json_t *je =
			json_pack("{s:I, s:i}", "deadline",
				  (json_int_t)(sv_realtime_ns() + (uint64_t)timeout * 1000 * MS), "timeout", timeout);
		sv_journal_begin_or_log(sv, s->name, op, je);
		s->jop = strcmp(op, "restart") == 0 ? JOP_RESTART : JOP_STOP;
	}
	s->desired_running = false;
	if (s->state == SVC_RESTARTING) {
		s->state = SVC_STOPPED;
		s->restart_at_ns = 0;
	}
	if (s->state != SVC_RUNNING || s->pidfd < 0) {
		svc_save_status(s);
		return true;
	}
	svc_save_status(s); /* a re-adopting iscd must not restart it */
	if (s->kill_at_ns != 0 && timeout > 0)
		return false; /* a stop is under way: wait for the same exit */
	isc_sv_log(LOG_INFO, "%s: stop (timeout %d s)", s->name, timeout);
	if (timeout > 0) {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGTERM, NULL, 0);
		s->kill_at_ns = isc_now_ns() + (uint64_t)timeout * 1000 * MS;
		sv_test_point("stop:signalled");
	} else {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		s->kill_at_ns = isc_now_ns() + 10000 * MS; /* only a wake-up: nothing follows a SIGKILL */
	}
	svc_thaw(sv, s); /* a paused service: thawed, so that it acts on the signal */
	return false;
}

void sv_stop_deadlines(struct isc_supervisor *sv)
{
	uint64_t now = isc_now_ns();
	for (struct svc *s = sv->svcs; s; s = s->next)
		if (s->state == SVC_RUNNING && s->kill_at_ns != 0 && s->kill_at_ns <= now && s->pidfd >= 0) {
			isc_sv_log(LOG_INFO, "%s: stop timeout: SIGKILL", s->name);
			syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
			s->kill_at_ns = now + 10000 * MS;
			svc_thaw(sv, s); /* a v1 frozen task dies only once thawed */
		}
}

/* The synchronous form, for rm -f: SIGKILL and wait for the end. */
void svc_kill_now(struct isc_supervisor *sv, struct svc *s)
{
	if (!svc_stop_begin(sv, s, 0, NULL)) {
		sv_pidfd_wait(s->pidfd, 10000);
		svc_reap(sv, s);
	}
}
