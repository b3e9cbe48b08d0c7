/* SPDX-License-Identifier: GPL-2.0-or-later
 * Host network and packet log (iscd's supervisor).
 *
 * Design
 * ------
 * The host's network at iscd's start and the packet log.  With "network" in
 * R/host.json, iscd (in the ISC host's namespace) brings the bridge and the
 * tables up from host.json and R/net before any service starts
 * (idempotent: after a reboot nothing of it exists), never while `isc init`
 * waits for the operator's confirmation.  The packet log (isc_pktlog_run)
 * runs in a child process, restarted when it fails, stopped at exit.
 */
#include "iscd/supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "host/host.h"
#include "net/net.h"
#include "net/pktlog.h"

/* isc_pktlog_run() reads NFLOG, which is per network namespace: it runs in
 * a child process of iscd, in iscd's namespace (the ISC host's).  A process
 * rather than a thread: iscd forks its runtime helpers, and a reader thread
 * holding a lock (stdio, syslog) at a fork would leave the helper stuck on
 * it.  The child dies with iscd (PR_SET_PDEATHSIG, also after a SIGKILL) so
 * that the next iscd gets the NFLOG group; iscd restarts a failed reader
 * with a backoff (1 s doubling up to 30 s, reset after a minute of running). */
#define PKTLOG_BACKOFF_MIN_MS 1000
#define PKTLOG_BACKOFF_MAX_MS 30000
#define PKTLOG_BACKOFF_RESET_NS (60ULL * 1000000000ULL)
#define PKTLOG_STOP_MS 3000

static volatile sig_atomic_t pktlog_stop;

static void pktlog_on_signal(int sig)
{
	(void)sig;
	pktlog_stop = 1;
}

static _Noreturn void pktlog_child(const char *root, pid_t parent)
{
	struct sigaction sa = { .sa_handler = pktlog_on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* gone with iscd, whatever ends it */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != parent)
		_exit(0);
	(void)prctl(PR_SET_NAME, "iscd-pktlog", 0, 0, 0);
	/* iscd's descriptors (the pid-file lock, the control socket, the
	 * FIFOs) must not outlive it here; only its log stays */
	closelog();
	int log_fd = sv_log_fd();
	if (log_fd > 3)
		(void)close_range(3, (unsigned)log_fd - 1, 0);
	(void)close_range(log_fd >= 3 ? (unsigned)log_fd + 1 : 3, ~0U, 0);
	isc_error *err = NULL;
	if (isc_pktlog_run(root, &pktlog_stop, &err) < 0) {
		char buf[1024];
		isc_sv_log(LOG_ERR, "packet log: %s", isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
		_exit(1);
	}
	_exit(0);
}

void sv_pktlog_start(struct isc_supervisor *sv)
{
	sv->pktlog_restart_at_ns = 0;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		isc_sv_log(LOG_ERR, "packet log: fork: %s", strerror(errno));
		sv->pktlog_backoff_ms = sv->pktlog_backoff_ms ? sv->pktlog_backoff_ms : PKTLOG_BACKOFF_MIN_MS;
		sv->pktlog_restart_at_ns = isc_now_ns() + sv->pktlog_backoff_ms * MS;
		return;
	}
	if (pid == 0)
		pktlog_child(sv->root, parent);
	sv->pktlog_pid = pid;
	sv->pktlog_started_ns = isc_now_ns();
	isc_sv_log(LOG_INFO, "packet log started (pid %d, %s/" ISC_PKTLOG_FILE ")", (int)pid, sv->root);
}

/* The reader ended (reaped by sv_sigchld): restart it unless iscd quits. */
void sv_pktlog_exited(struct isc_supervisor *sv, int ws)
{
	pid_t pid = sv->pktlog_pid;
	sv->pktlog_pid = 0;
	if (WIFEXITED(ws))
		isc_sv_log(LOG_ERR, "packet log (pid %d) exited with status %d", (int)pid, WEXITSTATUS(ws));
	else
		isc_sv_log(LOG_ERR, "packet log (pid %d) killed by signal %d", (int)pid, WTERMSIG(ws));
	if (sv->quit)
		return;
	uint64_t now = isc_now_ns();
	if (sv->pktlog_backoff_ms == 0 || now - sv->pktlog_started_ns >= PKTLOG_BACKOFF_RESET_NS)
		sv->pktlog_backoff_ms = PKTLOG_BACKOFF_MIN_MS;
	else
		sv->pktlog_backoff_ms = sv->pktlog_backoff_ms * 2 > PKTLOG_BACKOFF_MAX_MS ? PKTLOG_BACKOFF_MAX_MS
											  : sv->pktlog_backoff_ms * 2;
	sv->pktlog_restart_at_ns = now + sv->pktlog_backoff_ms * MS;
	isc_sv_log(LOG_INFO, "packet log: restart in %llu ms", (unsigned long long)sv->pktlog_backoff_ms);
}

/* At iscd's exit: SIGTERM (the reader checks its flag every 200 ms), then
 * SIGKILL after PKTLOG_STOP_MS.  The child is ours and not reaped yet: its
 * pid cannot have been reused. */
void sv_pktlog_stop_now(struct isc_supervisor *sv)
{
	if (sv->pktlog_pid <= 0)
		return;
	pid_t pid = sv->pktlog_pid;
	sv->pktlog_pid = 0;
	sv->pktlog_restart_at_ns = 0;
	kill(pid, SIGTERM);
	uint64_t end = isc_now_ns() + PKTLOG_STOP_MS * MS;
	int ws = 0;
	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			break;
		if (isc_now_ns() >= end) {
			isc_sv_log(LOG_WARNING, "packet log (pid %d) did not stop: SIGKILL", (int)pid);
			kill(pid, SIGKILL);
			while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
				;
			break;
		}
		struct timespec ts = { .tv_nsec = 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	isc_sv_log(LOG_INFO, "packet log stopped");
}

/* The confirmation that `isc init` (real host, interactive) waits for (R/net/confirm.pending,
 * "PID START TIMEOUT", written by net.c): while its watcher lives, the
 * operator decides; an apply here without confirm would confirm it. */
static bool net_confirm_pending(const char *root)
{
	cleanup_free char *path = isc_xasprintf("%s/net/confirm.pending", root);
	cleanup_free char *text = NULL;
	size_t len = 0;
	isc_error *e = NULL;
	if (isc_read_file(path, &text, &len, 4096, &e) < 0) {
		isc_error_free(&e);
		return false;
	}
	int pid = 0;
	unsigned long long start = 0;
	return sscanf(text, "%d %llu", &pid, &start) == 2 && pid > 0 && start != 0 && isc_proc_start_time(pid) == start;
}

/* The bridge, sysctls and the isc tables from host.json and R/net: after a
 * reboot nothing of it exists; otherwise the same again (idempotent; the
 * tables are rebuilt with their elements).  Never with commit-confirmed:
 * `isc init` asked the operator already. */
void sv_net_host_up(struct isc_supervisor *sv)
{
	char buf[1024];
	isc_error *err = NULL;
	struct isc_host_settings hs;
	if (isc_host_load(sv->root, &hs, &err) < 0) {
		isc_sv_log(LOG_ERR, "network: %s", isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
		return;
	}
	sv->ssh_port = hs.ssh_port;
	cleanup_free char *expired = isc_xasprintf("%s/net/confirm.expired", sv->root);
	if (net_confirm_pending(sv->root)) {
		isc_sv_log(LOG_NOTICE, "network: a ruleset waits for confirmation (isc init): left as it is");
	} else if (access(expired, F_OK) == 0) {
		isc_sv_log(LOG_WARNING,
			   "network: the last ruleset was rolled back (not confirmed in time): not applied "
			   "again (run isc init again, interactively, to retry)");
	} else {
		struct isc_net_host_cfg cfg = { .uplink = hs.uplink, .subnet = hs.subnet, .ssh_port = hs.ssh_port };
		if (isc_net_host_up(sv->root, &cfg, &err) < 0) {
			isc_sv_log(LOG_ERR, "network: %s", isc_error_text(err, buf, sizeof(buf)));
			isc_error_free(&err);
		} else {
			isc_sv_log(LOG_INFO, "network: bridge and tables up (subnet %s, uplink %s)", hs.subnet,
				   hs.uplink ? hs.uplink : "none");
		}
	}
	isc_host_settings_clear(&hs);
}
