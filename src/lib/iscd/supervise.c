/* SPDX-License-Identifier: GPL-2.0-or-later
 * The supervisor of iscd: its loop.
 *
 * Design
 * ------
 * - One iscd per state root R (flock on R/iscd.pid, iscd/main.c), started
 *   inside the network namespace it manages, PR_SET_CHILD_SUBREAPER, so the
 *   init of every container it starts becomes its child when the starter
 *   exits.  SIGTERM: iscd exits WITHOUT stopping containers; the next iscd
 *   re-adopts them.
 * - One thread, one epoll loop that takes one event per wait (a handler may
 *   free a service): the control socket (control.c), the signalfd (SIGCHLD,
 *   SIGTERM, SIGINT), a pidfd per running init (exit.c), the two log FIFOs
 *   of each service (logs.c).  Timers (a restart's backoff, a stop's
 *   SIGKILL, the packet log's restart) are the wait's timeout.  The loop
 *   never blocks on a container, except rm -f (SIGKILL, then the end).
 * - State per service, R/containers/NAME/ (status.c):
 *     service.json   {"plan": plan JSON, "image_id", "image_config", "uid_base",
 *                    "audit_id", "created"}: what every restart is built from
 *     status.json    desired state, state, restarts, exits, last exit,
 *                    started/finished, pid + its start time, the rootfs mount
 *     bundle/config.json   the OCI config (isc_plan_bundle_config)
 *     persist/       owned by the service's user (uid_base + uid) when made, 0700; its owners never rewritten (ops.c)
 *     rootfs/        the idmapped read-only view of the image (userns auto)
 *     volumes/N      the volumes' sources, bound from their opened fds
 *     logs/stdout.fifo logs/stderr.fifo   the container's stdout/stderr
 *     logs/container.log (.1 .2)          JSON lines, rotated at 10 MiB
 *   The runtime state is R/runtime/NAME (the runtime id is NAME).
 * - The files, by concern (each with its design note):
 *     supervise.c  this loop, iscd's own log
 *     control.c    the control protocol's requests
 *     ops.c        run, ps, inspect, start, rm        netops.c  expose, unexpose, allow, policy
 *     start.c      a start and its teardown           volumes.c the volumes' sources
 *     exit.c       exits, the restart policy, stops, the waiting requests
 *     svcctl.c     kill, pause, unpause, update, stats, top
 *     logs.c       the log FIFOs and container.log
 *     status.c     service.json, status.json, the journal's wrappers, test points
 *     recover.c    re-adoption and recovery at start  hostnet.c the host's network, packet log
 *     journal.c    the journal (R/journal/NAME)
 * - Audit: on a host with R/audit/range.json each service gets an audit id
 *   (isc_audit_id_assign) passed as org.isc.audit.id.
 * - Crash consistency: run, start (also a policy restart), stop, restart
 *   and rm each write a journal entry (journal.c: R/journal/NAME, fsynced)
 *   before their first step and remove it after their last; status.json and
 *   service.json are written durably too.  iscd at its start finishes or
 *   undoes each op a killed predecessor left (recover.c).  A child that runs
 *   the runtime for iscd dies with iscd (PR_SET_PDEATHSIG): no starter goes
 *   on behind the next iscd's back.  Test builds stop iscd (SIGSTOP) at a
 *   named step when ISCD_TEST_STOP_AT names it (sv_test_point), so that a
 *   test can kill it exactly there.
 */
#include "iscd/supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <unistd.h>

#include "base/util.h"
#include "iscd/protocol.h"

static int log_fd = -1;
static bool log_echo;
static bool log_syslog;

void isc_sv_log_init(int fd, bool echo)
{
	log_fd = fd;
	log_echo = echo;
	openlog("iscd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = access("/dev/log", F_OK) == 0;
	if (!log_syslog)
		isc_sv_log(LOG_NOTICE, "no /dev/log on this machine: messages go to this file only, not to syslog");
}

void isc_sv_log(int prio, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char ts[ISC_RFC3339_LEN];
	isc_rfc3339_format(ts);
	static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
	cleanup_free char *line = isc_xasprintf("%s iscd[%d]: %s: %s\n", ts, (int)getpid(), names[prio & 7], msg);
	if (log_fd >= 0)
		(void)isc_write_all(log_fd, line, strlen(line));
	if (log_echo && log_fd != STDERR_FILENO)
		(void)isc_write_all(STDERR_FILENO, line, strlen(line));
	if (log_syslog)
		syslog(prio, "%s", msg);
}

int sv_log_fd(void)
{
	return log_fd;
}

char *svc_path(const struct svc *s, const char *rel)
{
	return isc_xasprintf("%s/%s", s->dir, rel);
}

struct svc *svc_find(struct isc_supervisor *sv, const char *name)
{
	for (struct svc *s = sv->svcs; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

void sv_epoll_add(struct isc_supervisor *sv, int fd, struct watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		isc_sv_log(LOG_ERR, "epoll_ctl ADD fd %d: %s", fd, strerror(errno));
}

void sv_epoll_del(struct isc_supervisor *sv, int fd)
{
	if (fd >= 0)
		epoll_ctl(sv->epfd, EPOLL_CTL_DEL, fd, NULL);
}

struct isc_context sv_runtime_ctx(const struct isc_supervisor *sv)
{
	return (struct isc_context){ .root = sv->runtime_root,
				     .seccomp_cache = sv->seccomp_cache,
				     .no_cgroups = false };
}

/* SIGTERM, SIGINT, SIGCHLD and SIGHUP blocked, read from the loop's
 * signalfd; SIGPIPE ignored. */
static int open_signals(struct isc_supervisor *sv, isc_error **err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sv->sfd < 0)
		return isc_error_set(err, errno, "signalfd");
	sv->sw = (struct watch){ W_SIGNAL, NULL };
	sv_epoll_add(sv, sv->sfd, &sv->sw);
	return 0;
}

int isc_supervisor_open(const char *root, struct isc_supervisor **out, isc_error **err)
{
	struct isc_supervisor *sv = isc_xmalloc0(sizeof(*sv));
	sv->root = isc_xstrdup(root);
	sv->runtime_root = isc_xasprintf("%s/runtime", root);
	sv->containers = isc_xasprintf("%s/containers", root);
	sv->seccomp_cache = isc_xasprintf("%s/runtime/.cache/seccomp", root);
	sv->epfd = sv->lfd = sv->sfd = -1;
	*out = NULL;
	/* Container inits become our children when their starter exits, so
	 * that we can reap them and read their exit status. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		isc_error_set(err, errno, "PR_SET_CHILD_SUBREAPER");
		goto fail;
	}
	if (isc_mkdir_p(sv->runtime_root, 0711, err) < 0 || isc_mkdir_p(sv->containers, 0711, err) < 0)
		goto fail;
	sv->network = sv_host_has_network(root);
	sv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sv->epfd < 0) {
		isc_error_set(err, errno, "epoll_create1");
		goto fail;
	}
	if (open_signals(sv, err) < 0)
		goto fail;
	/* in this (the ISC host's) network namespace, before any service
	 * starts: after a reboot the bridge and the tables are gone */
	if (sv->network) {
		sv_net_host_up(sv);
		sv_pktlog_start(sv);
	}
	sv_readopt_all(sv);
	sv->lfd = isc_ctl_listen(root, err);
	if (sv->lfd < 0)
		goto fail;
	sv->lw = (struct watch){ W_LISTEN, NULL };
	sv_epoll_add(sv, sv->lfd, &sv->lw);
	isc_sv_log(LOG_INFO, "serving %s (%s network)", root, sv->network ? "with" : "without");
	*out = sv;
	return 0;
fail:
	isc_supervisor_free(sv);
	return -1;
}

static int next_timeout_ms(struct isc_supervisor *sv)
{
	uint64_t next = 0;
	for (struct svc *s = sv->svcs; s; s = s->next) {
		if (s->state == SVC_RESTARTING && s->restart_at_ns != 0 && (next == 0 || s->restart_at_ns < next))
			next = s->restart_at_ns;
		if (s->state == SVC_RUNNING && s->kill_at_ns != 0 && (next == 0 || s->kill_at_ns < next))
			next = s->kill_at_ns;
	}
	if (sv->pktlog_restart_at_ns != 0 && (next == 0 || sv->pktlog_restart_at_ns < next))
		next = sv->pktlog_restart_at_ns;
	if (next == 0)
		return -1;
	uint64_t now = isc_now_ns();
	return next <= now ? 0 : (int)((next - now) / MS + 1);
}

static void on_listen(struct isc_supervisor *sv)
{
	isc_error *e = NULL;
	int fd = isc_ctl_accept(sv->lfd, &e);
	if (fd < 0) {
		char buf[512];
		isc_sv_log(LOG_WARNING, "%s", isc_error_text(e, buf, sizeof(buf)));
		isc_error_free(&e);
		return;
	}
	sv_handle_request(sv, fd);
}

static void on_signal(struct isc_supervisor *sv)
{
	struct signalfd_siginfo si;
	while (read(sv->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			sv_sigchld(sv);
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			isc_sv_log(LOG_INFO, "signal %d: exiting, the containers keep running", (int)si.ssi_signo);
			sv->quit = true;
		}
	}
}

static void on_event(struct isc_supervisor *sv, struct watch *w)
{
	switch (w->kind) {
	case W_LISTEN:
		on_listen(sv);
		break;
	case W_SIGNAL:
		on_signal(sv);
		break;
	case W_PIDFD:
		svc_reap(sv, w->svc);
		break;
	case W_STDOUT:
		svc_log_drain(w->svc, &w->svc->out, false);
		break;
	case W_STDERR:
		svc_log_drain(w->svc, &w->svc->errs, false);
		break;
	}
}

int isc_supervisor_run(struct isc_supervisor *sv, isc_error **err)
{
	while (!sv->quit) {
		struct epoll_event ev;
		/* one event per wait: a handler may free a service that a
		 * second event of the same batch would point to */
		int n = epoll_wait(sv->epfd, &ev, 1, next_timeout_ms(sv));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return isc_error_set(err, errno, "epoll_wait");
		if (n > 0)
			on_event(sv, ev.data.ptr);
		sv_stop_deadlines(sv);
		sv_restart_due(sv);
		sv_rm_due(sv);
	}
	sv_pktlog_stop_now(sv);
	return 0;
}

void isc_supervisor_free(struct isc_supervisor *sv)
{
	if (sv == NULL)
		return;
	sv_pktlog_stop_now(sv);
	while (sv->waiters) {
		struct waiter *w = sv->waiters;
		sv->waiters = w->next;
		close(w->fd);
		free(w->name);
		free(w);
	}
	while (sv->svcs) {
		struct svc *s = sv->svcs;
		sv->svcs = s->next;
		svc_log_drain(s, &s->out, true);
		svc_log_drain(s, &s->errs, true);
		svc_free(s);
	}
	if (sv->lfd >= 0) {
		cleanup_free char *sock = isc_xasprintf("%s/%s", sv->root, ISC_CTL_SOCKET);
		unlink(sock);
	}
	isc_closep(&sv->lfd);
	isc_closep(&sv->sfd);
	isc_closep(&sv->epfd);
	free(sv->root), free(sv->runtime_root), free(sv->containers), free(sv->seccomp_cache);
	free(sv);
}
