/* SPDX-License-Identifier: GPL-2.0-or-later
 * The supervisor of iscd.
 *
 * Design
 * ------
 * - One iscd per state root R (flock on R/iscd.pid, iscd/main.c), started
 *   inside the network namespace it manages, PR_SET_CHILD_SUBREAPER, so the
 *   init of every container it starts becomes its child when the starter
 *   exits.  SIGTERM: iscd exits WITHOUT stopping containers; the next iscd
 *   re-adopts them.
 * - Control socket R/iscd.sock (ctl.h): SOCK_SEQPACKET, 0600, uid 0 only,
 *   one JSON request per connection.  Ops: ping, run, ps, inspect, stop,
 *   start, restart, rm, wait, shutdown, expose, unexpose, allow, policy.  One thread, one epoll loop that
 *   takes one event per wait (a handler may free a service).  Requests
 *   that wait (wait, stop, restart) are answered from the exit path; the
 *   loop never blocks on a container, except rm -f (SIGKILL, then the end).
 * - State per service, R/containers/NAME/:
 *     service.json   {"plan": plan JSON, "image_id", "image_config", "uid_base",
 *                    "audit_id", "created"}: what every restart is built from
 *     status.json    desired state, state, restarts, exits, last exit,
 *                    started/finished, pid + its start time, the rootfs mount
 *     bundle/config.json   the OCI config (isc_plan_bundle_config)
 *     persist/       owned by the container's root (uid_base), 0700
 *     rootfs/        the idmapped read-only view of the image (userns auto)
 *     logs/stdout.fifo logs/stderr.fifo   the container's stdout/stderr
 *     logs/container.log (.1 .2)          JSON lines, rotated at 10 MiB
 *   The runtime state is R/runtime/NAME (the runtime id is NAME).
 * - Start (svc_start): image check (refused when its last full verification
 *   failed), id range, rootfs mount, network (only when R/host.json has a
 *   "network" setting), bundle config, then a forked starter: stdin
 *   /dev/null, stdout/stderr the FIFOs (opened O_RDWR: no EPIPE ever, and a
 *   restarted iscd reopens them without losing what they hold), create +
 *   start, error text back through a pipe.  Then a pidfd of the init from
 *   the runtime state.  Every step that made something is undone, in
 *   reverse, when a later step fails.
 * - Exit (pidfd readable or SIGCHLD): the status when the init is our child
 *   (else "unknown", counted as a failure), then delete --force in a forked
 *   child (scratch key, cgroups, runtime state), unmount the rootfs, network
 *   down (address kept), then the restart policy (no / on-failure / always;
 *   an explicit stop never restarts) with a backoff of 100 ms doubling up to
 *   30 s, reset after 10 s of running.  Each restart is a new create from
 *   the same (pristine) image id with a fresh scratch key.
 * - Re-adoption (isc_supervisor_open): a service whose init (pid + start
 *   time) still runs gets a pidfd and its FIFOs back; one that died
 *   meanwhile is cleaned up and restarted by its policy (status unknown).
 * - stop: SIGTERM, SIGKILL after the timeout (a deadline of the loop),
 *   both through the pidfd (no pid reuse race; killing a pid namespace's
 *   init kills all of it), then the exit path.  rm: refuses a running service without force; keeps
 *   persist/ unless purge; frees the id range, the audit id, the address.
 * - Audit: on a host with R/audit/range.json each service gets an audit id
 *   (isc_audit_id_assign) passed as org.isc.audit.id.
 * - Network (only with "network" in R/host.json; net.h): at start,
 *   isc_net_host_up() from host.json (idempotent; after a reboot it rebuilds
 *   the bridge and the tables; never with commit-confirmed, and not while
 *   `isc init` on a real host waits for the operator), then the packet log
 *   (isc_pktlog_run) in a child process, restarted when it fails, stopped at
 *   exit.  Ops expose / unexpose / allow / policy: iscd checks them (the
 *   service exists, no other service has the host port, not the SSH port)
 *   and makes the net.h call itself.  An exposed port is part of the
 *   service's plan (service.json "plan"."ports"): every start exposes the
 *   plan's ports, every exit unexposes them.  Allowed flows and policies
 *   live in R/net (net.c).
 * - Crash consistency: run, start (also a policy restart), stop,
 *   restart and rm each write a journal entry (journal.c: R/journal/NAME,
 *   fsynced) before their first step and remove it after their last;
 *   status.json and service.json are written durably too.  iscd at its start
 *   (readopt_all) finishes or undoes each op a killed predecessor left, and
 *   logs it ("recovery: ..."):
 *     run, start   finished: what the start made is undone (rootfs mount,
 *                  network, runtime container, volume binds), then the
 *                  service starts again (desired running); a run killed
 *                  before service.json existed is undone whole (id range,
 *                  audit id, network address, its folder);
 *     stop         finished: SIGTERM again, SIGKILL at the recorded deadline,
 *                  then stopped (desired stopped); supervision goes on;
 *     restart      the same stop, then a start;
 *     rm           finished (SIGKILL, teardown, ids, files; persist/ as asked).
 *   A child that runs the runtime for iscd (run_in_child) dies with iscd
 *   (PR_SET_PDEATHSIG): no starter goes on behind the next iscd's back.
 *   Test builds stop iscd (SIGSTOP) at a named step when ISCD_TEST_STOP_AT
 *   names it (test_point), so that a test can kill it exactly there.
 */
#include "iscd/supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/collector.h"
#include "runtime/container.h"
#include "iscd/journal.h"
#include "iscd/protocol.h"
#include "net/firewall.h"
#include "host/host.h"
#include "host/idmap.h"
#include "image/image.h"
#include "net/net.h"
#include "net/pktlog.h"
#include "plan/plan.h"
#include "runtime/state.h"
#include "base/util.h"
#include "plan/volume.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_NS (10ULL * 1000000000ULL)
#define FIFO_SIZE (1 << 20)
#define LOG_DRAIN_BUDGET (64 * 1024) /* bytes read from one FIFO per wakeup */
#define LOG_DRAIN_RECORDS 1024       /* records written for one FIFO per wakeup */
#define MS 1000000ULL

/* ---- iscd's own log -------------------------------------------------------------- */

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

/* ---- services -------------------------------------------------------------------- */

enum watch_kind { W_LISTEN, W_SIGNAL, W_PIDFD, W_STDOUT, W_STDERR };

struct watch {
	enum watch_kind kind;
	struct svc *svc;
};

struct logstream {
	int fd; /* the FIFO, O_RDWR | O_NONBLOCK */
	const char *name;
	size_t len;
	char buf[ISC_LOG_LINE_MAX];
	struct watch w;
};

enum svc_state { SVC_STOPPED, SVC_RUNNING, SVC_RESTARTING };
static const char *const state_names[] = { "stopped", "running", "restarting" };

struct svc {
	struct svc *next;
	char *name;
	char *dir;         /* R/containers/NAME */
	struct isc_plan plan;
	char image_id[65];
	uint32_t uid_base; /* 0 with --userns host */
	uint32_t audit_id; /* org.isc.audit.id; 0 on a host without an audit trail */
	json_t *image_config; /* the image's run settings (Cmd, Env...) at `run`, or NULL */
	bool desired_running;
	enum svc_state state;
	unsigned restarts, exits;
	json_t *last_exit; /* {"status": N | "unknown", "time": ...} or NULL */
	char *started, *finished, *last_error;
	pid_t pid;
	uint64_t pid_start;
	int pidfd;
	struct watch pidw;
	uint64_t started_ns;
	uint64_t backoff_ms;
	uint64_t restart_at_ns; /* 0: no restart pending */
	uint64_t kill_at_ns;    /* a stop's SIGKILL deadline; 0: none */
	bool removing;          /* rm under way: a pending restart must not start it */
	char *rootfs_mount;    /* the idmapped rootfs mount point, when mounted */
	enum { JOP_NONE, JOP_STOP, JOP_RESTART } jop; /* a journalled stop/restart waits for the exit */
	bool net_up;
	struct logstream out, errs;
	int logfd; /* container.log, O_APPEND */
	uint64_t log_size;
};

/* A request answered later: "wait" at the service's next exit, "stop" and
 * "restart" once the container is gone (and, for restart, started again). */
enum waiter_kind { WAIT_EXIT, WAIT_STOP, WAIT_RESTART };

struct waiter {
	struct waiter *next;
	enum waiter_kind kind;
	int fd;
	char *name;
	unsigned exits; /* WAIT_EXIT: reply once the service's exits > this */
};

struct isc_supervisor {
	char *root;
	char *runtime_root; /* R/runtime */
	char *seccomp_cache; /* R/runtime/.cache/seccomp: compiled filters, root-only */
	char *containers;   /* R/containers */
	int epfd, lfd, sfd;
	struct watch lw, sw;
	struct svc *svcs;
	struct waiter *waiters;
	bool quit;
	bool network; /* R/host.json has a "network" setting */
	int ssh_port; /* the host's SSH port (host.json): never exposed */
	pid_t pktlog_pid; /* the packet log's process, 0 when none runs */
	uint64_t pktlog_started_ns;
	uint64_t pktlog_backoff_ms;
	uint64_t pktlog_restart_at_ns; /* 0: no restart pending */
};

static char *svc_path(const struct svc *s, const char *rel)
{
	return isc_xasprintf("%s/%s", s->dir, rel);
}

static struct svc *svc_find(struct isc_supervisor *sv, const char *name)
{
	for (struct svc *s = sv->svcs; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void epoll_add(struct isc_supervisor *sv, int fd, struct watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		isc_sv_log(LOG_ERR, "epoll_ctl ADD fd %d: %s", fd, strerror(errno));
}

static void epoll_del(struct isc_supervisor *sv, int fd)
{
	if (fd >= 0)
		epoll_ctl(sv->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static struct isc_context runtime_ctx(const struct isc_supervisor *sv)
{
	return (struct isc_context){ .root = sv->runtime_root, .seccomp_cache = sv->seccomp_cache, .no_cgroups = false };
}

/* ---- status.json / service.json ---------------------------------------------------- */

static json_t *svc_status_json(const struct svc *s)
{
	json_t *j = json_object();
	json_object_set_new(j, "desired", json_string(s->desired_running ? "running" : "stopped"));
	json_object_set_new(j, "state", json_string(state_names[s->state]));
	json_object_set_new(j, "restarts", json_integer(s->restarts));
	json_object_set_new(j, "exits", json_integer(s->exits));
	json_object_set_new(j, "last_exit", s->last_exit ? json_incref(s->last_exit) : json_null());
	json_object_set_new(j, "started", s->started ? json_string(s->started) : json_null());
	json_object_set_new(j, "finished", s->finished ? json_string(s->finished) : json_null());
	json_object_set_new(j, "last_error", s->last_error ? json_string(s->last_error) : json_null());
	json_object_set_new(j, "pid", json_integer(s->state == SVC_RUNNING ? s->pid : 0));
	json_object_set_new(j, "pid_start_time", json_integer((json_int_t)(s->state == SVC_RUNNING ? s->pid_start : 0)));
	json_object_set_new(j, "rootfs_mount", s->rootfs_mount ? json_string(s->rootfs_mount) : json_null());
	json_object_set_new(j, "network", json_boolean(s->net_up));
	return j;
}

static void svc_save_status(struct svc *s)
{
	json_t *j = svc_status_json(s);
	cleanup_free char *text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	cleanup_close int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	isc_error *err = NULL;
	if (dfd < 0 || text == NULL || isc_write_file_durable(dfd, "status.json", text, strlen(text), 0600, &err) < 0) {
		char buf[512];
		isc_sv_log(LOG_ERR, "%s: cannot write status.json: %s", s->name,
			   err ? isc_error_text(err, buf, sizeof(buf)) : strerror(errno));
		isc_error_free(&err);
	}
}

static int svc_save_service(const struct svc *s, isc_error **err)
{
	json_t *j = json_pack("{s:o, s:s, s:I, s:I}", "plan", isc_plan_to_json(&s->plan), "image_id", s->image_id,
			      "uid_base", (json_int_t)s->uid_base, "audit_id", (json_int_t)s->audit_id);
	cleanup_free char *now = isc_rfc3339_now();
	json_object_set_new(j, "created", json_string(now));
	json_object_set_new(j, "image_config", s->image_config ? json_incref(s->image_config) : json_null());
	cleanup_free char *text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	cleanup_close int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", s->dir);
	return isc_write_file_durable(dfd, "service.json", text, strlen(text), 0600, err);
}

static void svc_set_error(struct svc *s, const isc_error *e)
{
	char buf[1024];
	free(s->last_error);
	s->last_error = isc_xstrdup(isc_error_text(e, buf, sizeof(buf)));
}

/* ---- the journal (journal.c) and the test points ------------------------------------- */

/* Record the op about to run on `name` (entry: stolen; NULL: just "op"). */
static int journal_begin(const struct isc_supervisor *sv, const char *name, const char *op, json_t *entry,
			 isc_error **err)
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
static void journal_begin_or_log(const struct isc_supervisor *sv, const char *name, const char *op, json_t *entry)
{
	isc_error *err = NULL;
	if (journal_begin(sv, name, op, entry, &err) < 0) {
		char buf[1024];
		isc_sv_log(LOG_WARNING, "%s: %s: going on unjournalled", name, isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	}
}

static void journal_end(const struct isc_supervisor *sv, const char *name)
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
static void test_point(const char *step)
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

/* ---- logs --------------------------------------------------------------------------- */

/* Invalid UTF-8 bytes become U+FFFD: jansson refuses invalid strings. */
static char *utf8_clean(const char *s, size_t len, size_t *outlen)
{
	char *o = isc_xmalloc0(len * 3 + 1);
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t need = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
		bool ok = need != 9 && i + need < len;
		for (size_t k = 1; ok && k <= need; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok && need == 1 && c < 0xc2)
			ok = false;
		if (ok && need == 2) {
			unsigned char c1 = (unsigned char)s[i + 1];
			ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
		}
		if (ok && need == 3) {
			unsigned char c1 = (unsigned char)s[i + 1];
			ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
		}
		if (!ok) {
			/* U+FFFD, the replacement character */
			o[n++] = (char)0xef;
			o[n++] = (char)0xbf;
			o[n++] = (char)0xbd;
			i++;
			continue;
		}
		memcpy(o + n, s + i, need + 1);
		n += need + 1;
		i += need + 1;
	}
	*outlen = n;
	return o;
}

static void log_open(struct svc *s)
{
	if (s->logfd >= 0)
		return;
	cleanup_free char *path = svc_path(s, "logs/container.log");
	s->logfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	struct stat st;
	s->log_size = s->logfd >= 0 && fstat(s->logfd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (s->logfd < 0)
		isc_sv_log(LOG_ERR, "%s: open %s: %s", s->name, path, strerror(errno));
}

static void log_rotate(struct svc *s)
{
	isc_closep(&s->logfd);
	for (int i = ISC_LOG_KEEP - 1; i >= 1; i--) {
		cleanup_free char *from = i == 1 ? svc_path(s, "logs/container.log")
						 : isc_xasprintf("%s/logs/container.log.%d", s->dir, i - 1);
		cleanup_free char *to = isc_xasprintf("%s/logs/container.log.%d", s->dir, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			isc_sv_log(LOG_ERR, "%s: rotate %s: %s", s->name, from, strerror(errno));
	}
	log_open(s);
}

/* One record; `repeat` > 1: a run of that many empty lines (a newline
 * flood costs one record, not one per byte). */
static void log_record(struct svc *s, const char *stream, const char *line, size_t len, size_t repeat)
{
	log_open(s);
	if (s->logfd < 0)
		return;
	char ts[ISC_RFC3339_LEN];
	isc_rfc3339_format(ts);
	size_t clen;
	cleanup_free char *clean = utf8_clean(line, len, &clen);
	json_t *j = json_pack("{s:s, s:s, s:s%}", "time", ts, "stream", stream, "line", clean, clen);
	if (j && repeat > 1)
		json_object_set_new(j, "repeat", json_integer((json_int_t)repeat));
	cleanup_free char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return;
	cleanup_free char *rec = isc_xasprintf("%s\n", text);
	size_t rlen = strlen(rec);
	if (isc_write_all(s->logfd, rec, rlen) < 0)
		isc_sv_log(LOG_ERR, "%s: write container.log: %s", s->name, strerror(errno));
	s->log_size += rlen;
	if (s->log_size >= ISC_LOG_ROTATE_SIZE)
		log_rotate(s);
}

/* The complete lines in ls->buf as records (a run of empty lines is one),
 * and 16 KiB without a newline as one; the partial rest stays.  Returns
 * the number of records written. */
static size_t log_lines(struct svc *s, struct logstream *ls)
{
	size_t start = 0, records = 0;
	for (;;) {
		char *nl = memchr(ls->buf + start, '\n', ls->len - start);
		if (nl == NULL)
			break;
		size_t end = (size_t)(nl - ls->buf), n = 1;
		if (end == start) {
			while (start + n < ls->len && ls->buf[start + n] == '\n')
				n++;
			log_record(s, ls->name, "", 0, n);
			start += n;
		} else {
			log_record(s, ls->name, ls->buf + start, end - start, 1);
			start = end + 1;
		}
		records++;
	}
	if (start == 0 && ls->len == sizeof(ls->buf)) {
		log_record(s, ls->name, ls->buf, ls->len, 1);
		start = ls->len;
		records++;
	}
	memmove(ls->buf, ls->buf + start, ls->len - start);
	ls->len -= start;
	return records;
}

/* Read from the FIFO, at most LOG_DRAIN_BUDGET bytes and LOG_DRAIN_RECORDS
 * records per wakeup (the epoll is level-triggered: the rest is read at a
 * later turn of the loop, after the other fds had theirs), so a service
 * that writes faster than iscd logs cannot hold the single-threaded loop,
 * neither with long lines nor with a flood of short ones.  The record
 * bound never leaves lines behind in the buffer: every record takes at
 * least one byte of what was just read, and a read asks for no more bytes
 * than records remain, so what the bound defers is still in the FIFO.
 * flush (the container ended): what the FIFO holds at this moment, and
 * the partial rest too. */
static void log_drain(struct svc *s, struct logstream *ls, bool flush)
{
	if (ls->fd < 0)
		return;
	size_t budget = LOG_DRAIN_BUDGET, records = LOG_DRAIN_RECORDS;
	int avail = 0;
	if (flush && ioctl(ls->fd, FIONREAD, &avail) == 0) {
		budget = (size_t)avail;
		records = SIZE_MAX;
	}
	while (budget > 0 && records > 0) {
		size_t want = sizeof(ls->buf) - ls->len;
		want = want < budget ? want : budget;
		want = want < records ? want : records;
		ssize_t r = read(ls->fd, ls->buf + ls->len, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		budget -= (size_t)r;
		ls->len += (size_t)r;
		size_t wrote = log_lines(s, ls);
		records -= wrote < records ? wrote : records;
	}
	if (flush && ls->len > 0) {
		log_record(s, ls->name, ls->buf, ls->len, 1);
		ls->len = 0;
	}
}

/* The FIFOs exist from `run` until `rm`; iscd holds them open O_RDWR. */
static int svc_open_fifos(struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	struct logstream *streams[] = { &s->out, &s->errs };
	static const char *const files[] = { "logs/stdout.fifo", "logs/stderr.fifo" };
	for (size_t i = 0; i < 2; i++) {
		if (streams[i]->fd >= 0)
			continue;
		cleanup_free char *path = svc_path(s, files[i]);
		if (mkfifo(path, 0600) < 0 && errno != EEXIST)
			return isc_error_set(err, errno, "mkfifo %s", path);
		int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", path);
		(void)fcntl(fd, F_SETPIPE_SZ, FIFO_SIZE);
		streams[i]->fd = fd;
		epoll_add(sv, fd, &streams[i]->w);
	}
	return 0;
}

/* ---- helpers in forked children ------------------------------------------------------ */

/* Run fn in a forked child (the runtime library may change the process:
 * mounts, signal dispositions, exit paths); its error text comes back
 * through a pipe. */
typedef int (*child_fn)(struct isc_supervisor *sv, struct svc *s, void *arg, isc_error **err);

static int run_in_child(struct isc_supervisor *sv, struct svc *s, child_fn fn, void *arg, const char *what,
			isc_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return isc_error_set(err, errno, "%s: pipe", what);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]), close(p[1]);
		return isc_error_set(err, e, "%s: fork", what);
	}
	if (pid == 0) {
		close(p[0]);
		/* no helper goes on behind the next iscd's back */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1)
			_exit(1);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		isc_error *e = NULL;
		if (fn(sv, s, arg, &e) < 0) {
			char buf[2048];
			int errnum = e ? e->errnum : 0;
			const char *msg = e && e->msg ? e->msg : "failed";
			int n = snprintf(buf, sizeof(buf), "%d %s", errnum, msg);
			(void)isc_write_all(p[1], buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1));
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	char buf[2049];
	ssize_t n = isc_read_all(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n > 0) {
		buf[n] = '\0';
		char *sp = strchr(buf, ' ');
		int errnum = atoi(buf);
		return isc_error_set(err, errnum, "%s: %s", what, sp ? sp + 1 : buf);
	}
	return isc_error_set(err, 0, "%s: the helper failed (status 0x%x)", what, (unsigned)status);
}

static int child_delete(struct isc_supervisor *sv, struct svc *s, void *arg, isc_error **err)
{
	struct isc_context ctx = runtime_ctx(sv);
	if (!isc_state_exists(ctx.root, s->name))
		return 0;
	return isc_container_delete(&ctx, s->name, true, err);
}

static int child_starter(struct isc_supervisor *sv, struct svc *s, void *arg, isc_error **err)
{
	/* The container's stdio: nothing to read, and the two FIFOs that iscd
	 * reads.  O_RDWR: a write never gets EPIPE, even while no iscd runs. */
	cleanup_free char *out = svc_path(s, "logs/stdout.fifo");
	cleanup_free char *errp = svc_path(s, "logs/stderr.fifo");
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int o = open(out, O_RDWR | O_CLOEXEC);
	int e = open(errp, O_RDWR | O_CLOEXEC);
	if (nul < 0 || o < 0 || e < 0)
		return isc_error_set(err, errno, "starter: open the stdio of %s", s->name);
	(void)fcntl(o, F_SETPIPE_SZ, FIFO_SIZE);
	(void)fcntl(e, F_SETPIPE_SZ, FIFO_SIZE);
	if (dup2(nul, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		return isc_error_set(err, errno, "starter: dup2");
	cleanup_free char *bundle = svc_path(s, "bundle");
	struct isc_context ctx = runtime_ctx(sv);
	struct isc_create_opts opts = { .id = s->name, .bundle = bundle };
	if (isc_container_create(&ctx, &opts, err) < 0)
		return -1;
	if (isc_container_start(&ctx, s->name, err) < 0) {
		isc_error *ignored = NULL;
		isc_container_delete(&ctx, s->name, true, &ignored);
		isc_error_free(&ignored);
		return -1;
	}
	return 0;
}

/* ---- teardown ------------------------------------------------------------------------ */

static int volumes_release(const struct svc *s, isc_error **err);

/* Everything a start made, in reverse; what is not there is skipped. */
static void svc_teardown(struct isc_supervisor *sv, struct svc *s, bool keep_addr)
{
	isc_error *err = NULL;
	char buf[1024];
	if (run_in_child(sv, s, child_delete, NULL, "delete", &err) < 0) {
		isc_sv_log(LOG_ERR, "%s: %s", s->name, isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	}
	if (s->rootfs_mount != NULL) {
		if (isc_idmap_umount(s->rootfs_mount, &err) < 0) {
			isc_sv_log(LOG_ERR, "%s: %s", s->name, isc_error_text(err, buf, sizeof(buf)));
			isc_error_free(&err);
		}
		free(s->rootfs_mount);
		s->rootfs_mount = NULL;
	}
	if (volumes_release(s, &err) < 0) {
		isc_sv_log(LOG_ERR, "%s: %s", s->name, isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	}
	if (s->net_up) {
		for (size_t i = 0; i < s->plan.n_ports; i++)
			if (isc_net_unexpose(sv->root, s->name, &s->plan.ports[i], &err) < 0)
				isc_error_free(&err);
		if (isc_net_container_down(sv->root, s->name, keep_addr, &err) < 0) {
			if (err->errnum != ENOENT) /* a start killed before its network */
				isc_sv_log(LOG_ERR, "%s: %s", s->name, isc_error_text(err, buf, sizeof(buf)));
			isc_error_free(&err);
		}
		s->net_up = false;
	}
}

/* ---- start ---------------------------------------------------------------------------- */

static bool host_has_network(const char *root)
{
	cleanup_free char *path = isc_xasprintf("%s/host.json", root);
	json_t *j = json_load_file(path, 0, NULL);
	json_t *n = j ? json_object_get(j, "network") : NULL;
	bool yes = n != NULL && !json_is_null(n) && !json_is_false(n);
	json_decref(j);
	return yes;
}

/* A host registered with the audit collector has R/audit/range.json
 * (isc init); its services get an audit id each. */
static bool host_has_audit(const char *root)
{
	cleanup_free char *path = isc_xasprintf("%s/audit/range.json", root);
	return access(path, F_OK) == 0;
}

/* Refuse an image whose last full verification failed (loudly). */
static int image_check_verified(const char *root, const char *id, isc_error **err)
{
	struct isc_image_info *list = NULL;
	size_t n = 0;
	if (isc_image_list(root, &list, &n, err) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++)
		if (strcmp(list[i].id, id) == 0 && list[i].verified != 0 && !list[i].verify_ok)
			ret = isc_error_set(err, 0, "refusing to start from image %s (%.12s): its last verification failed: %s",
					    list[i].name, id, list[i].verify_error ? list[i].verify_error : "?");
	for (size_t i = 0; i < n; i++)
		isc_image_info_clear(&list[i]);
	free(list);
	return ret;
}

static int pidfd_open_checked(pid_t pid, uint64_t start_time)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	/* the pid may have been reused between reading it and pidfd_open */
	if (start_time == 0 || isc_proc_start_time(pid) != start_time) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}


/* ---- volume sources (volume.h) ------------------------------------------------------------ */

static int svc_save_plan(const struct svc *s, isc_error **err);

/* R/containers/NAME/volumes/N: where volume N's opened source is bound for
 * the runtime (root's only: nothing a service can write is on the way). */
static char *volume_stage_path(const struct svc *s, size_t i)
{
	return isc_xasprintf("%s/volumes/%zu", s->dir, i);
}

static void volume_last(const struct isc_volume_path *p, uint64_t *dev, uint64_t *ino)
{
	*dev = p->steps[p->n_steps - 1].dev;
	*ino = p->steps[p->n_steps - 1].ino;
}

/* A new volume `v` of service `s` (opened as `vp`) against one volume `u` of
 * service `t`: refused when one of them could replace the other's source. */
static int volume_check_pair(const struct svc *s, const struct isc_volume *v, const struct isc_volume_path *vp,
			     const struct svc *t, const struct isc_volume *u, isc_error **err)
{
	struct isc_volume_path up = { .fd = -1 };
	isc_error *ignored = NULL;
	if (isc_volume_open("-v", u->src, false, &up, &ignored) < 0) {
		isc_error_free(&ignored); /* gone: its own start refuses it */
		return 0;
	}
	uint64_t udev, uino, vdev, vino;
	volume_last(&up, &udev, &uino);
	volume_last(vp, &vdev, &vino);
	int ret = 0;
	if (!u->ro && isc_volume_path_has(vp, udev, uino, false))
		ret = isc_error_set(err, 0,
				    "-v %s: the source is inside %s, which service %s can write (its volume %s:%s): "
				    "it could replace the source between two starts; choose a source outside every "
				    "path a service can write",
				    v->src, u->src, t->name, u->src, u->dst);
	else if (!v->ro && isc_volume_path_has(&up, vdev, vino, false))
		ret = isc_error_set(err, 0,
				    "-v %s:%s: service %s could write %s, a parent of %s, the source of a volume of "
				    "service %s: it could replace that source; mount it read-only (:ro) or choose a "
				    "source that holds no other volume's source",
				    v->src, v->dst, s->name, v->src, u->src, t->name);
	isc_volume_path_clear(&up);
	return ret;
}

/* `isc run`: a volume source may not lie inside anything a service can
 * write (the state root with every service's folder and /persist, every
 * writable volume), and a writable volume may not hold another volume's
 * source or the state root.  Compared by (dev, inode) of every directory
 * on the way, so a second path to the same place (a bind mount) is no way
 * around it. */
static int volume_check_writers(struct isc_supervisor *sv, const struct svc *s, size_t vi,
				const struct isc_volume_path *vp, isc_error **err)
{
	const struct isc_volume *v = &s->plan.volumes[vi];
	char real[PATH_MAX];
	if (realpath(sv->root, real) == NULL)
		return isc_error_set(err, errno, "the state root %s", sv->root);
	struct isc_volume_path rp = { .fd = -1 };
	if (isc_volume_open("the state root", real, false, &rp, err) < 0)
		return -1;
	uint64_t rdev, rino, vdev, vino;
	volume_last(&rp, &rdev, &rino);
	volume_last(vp, &vdev, &vino);
	bool inside = isc_volume_path_has(vp, rdev, rino, true);
	bool holds = !v->ro && isc_volume_path_has(&rp, vdev, vino, true);
	isc_volume_path_clear(&rp);
	if (inside)
		return isc_error_set(err, 0,
				     "-v %s: the source is inside the state root %s, which holds every service's "
				     "folder and /persist: choose a source outside it",
				     v->src, sv->root);
	if (holds)
		return isc_error_set(err, 0,
				     "-v %s:%s: the source holds the state root %s: service %s could write every "
				     "service's folder; mount it read-only (:ro) or choose another source",
				     v->src, v->dst, sv->root, s->name);
	for (size_t k = 0; k < s->plan.n_volumes; k++)
		if (k != vi && volume_check_pair(s, v, vp, s, &s->plan.volumes[k], err) < 0)
			return -1;
	for (const struct svc *t = sv->svcs; t; t = t->next)
		for (size_t k = 0; k < t->plan.n_volumes; k++)
			if (t != s && volume_check_pair(s, v, vp, t, &t->plan.volumes[k], err) < 0)
				return -1;
	return 0;
}

/* `isc run`: every source opened without a symbolic link, checked against
 * the writers, and its identity recorded in the plan (service.json). */
static int volumes_record(struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	for (size_t i = 0; i < s->plan.n_volumes; i++) {
		struct isc_volume *v = &s->plan.volumes[i];
		struct isc_volume_path vp = { .fd = -1 };
		cleanup_free char *what = isc_xasprintf("-v %s", v->src);
		if (isc_volume_open(what, v->src, false, &vp, err) < 0)
			return -1;
		int r = volume_check_writers(sv, s, i, &vp, err);
		if (r == 0 && isc_volume_identify(vp.fd, &v->id, err) < 0)
			r = isc_error_wrap(err, "%s", what);
		isc_volume_path_clear(&vp);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Every -v destination resolved through the image's symbolic links: none
 * may land in a reserved place (/data -> /persist in the image). */
static int volumes_check_targets(const struct isc_supervisor *sv, const struct svc *s, isc_error **err)
{
	if (s->plan.n_volumes == 0)
		return 0;
	cleanup_free char *rootfs = isc_xasprintf("%s/images/sha256/%s/rootfs", sv->root, s->image_id);
	cleanup_close int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", rootfs);
	return isc_plan_check_volume_targets(&s->plan, fd, err);
}

/* Unbind every staged source of s and remove R/containers/NAME/volumes;
 * never descends into a source (rmdir/unlink only). */
static int volumes_release(const struct svc *s, isc_error **err)
{
	cleanup_free char *dir = svc_path(s, "volumes");
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "open %s", dir);
	int ret = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *at = isc_xasprintf("%s/%s", dir, de->d_name);
		if (ret == 0 && isc_volume_unstage(at, err) < 0)
			ret = -1;
	}
	closedir(d);
	if (ret == 0 && rmdir(dir) < 0 && errno != ENOENT)
		ret = isc_error_set(err, errno, "remove %s", dir);
	return ret;
}

/* One volume at start: opened as at `isc run`, the same object through the
 * same mount, bound for the runtime.  *changed when its recorded identity
 * was (re)written: a plan from before identities, or a new boot. */
static int volume_stage_one(struct svc *s, size_t i, char **at_out, bool *changed, isc_error **err)
{
	struct isc_volume *v = &s->plan.volumes[i];
	struct isc_volume_path vp = { .fd = -1 };
	struct isc_volume_id now;
	cleanup_free char *what = isc_xasprintf("volume %s -> %s", v->src, v->dst);
	if (isc_volume_open(what, v->src, true, &vp, err) < 0)
		return -1;
	int r = isc_volume_identify(vp.fd, &now, err);
	if (r < 0)
		isc_error_wrap(err, "%s", what);
	bool refresh = false;
	if (r == 0 && !v->id.set) {
		isc_sv_log(LOG_NOTICE, "%s: volume %s: no identity recorded (a service from before they were): "
				       "recording this one", s->name, v->src);
		refresh = true;
	} else if (r == 0) {
		r = isc_volume_id_check(&v->id, &now, v->src, v->dst, &refresh, err);
	}
	cleanup_free char *at = volume_stage_path(s, i);
	if (r == 0)
		r = isc_volume_stage(vp.fd, vp.mode, v->ro, at, err);
	isc_volume_path_clear(&vp);
	if (r < 0)
		return -1;
	if (refresh) {
		v->id = now;
		*changed = true;
	}
	*at_out = steal_pointer(&at);
	return 0;
}

/* Start: every volume staged (sources[i] its staged path), or none. */
static int volumes_stage(struct svc *s, char ***sources, isc_error **err)
{
	*sources = NULL;
	if (s->plan.n_volumes == 0)
		return 0;
	cleanup_free char *dir = svc_path(s, "volumes");
	/* the runtime, as the container's root, passes through to its binds */
	if (isc_mkdir_p(dir, 0711, err) < 0)
		return -1;
	if (chmod(dir, 0711) < 0)
		return isc_error_set(err, errno, "chmod %s", dir);
	char **v = isc_xmalloc0((s->plan.n_volumes + 1) * sizeof(char *));
	bool changed = false;
	for (size_t i = 0; i < s->plan.n_volumes; i++) {
		if (volume_stage_one(s, i, &v[i], &changed, err) < 0) {
			isc_strvfree(v);
			isc_error *e2 = NULL;
			if (volumes_release(s, &e2) < 0)
				isc_error_free(&e2);
			return -1;
		}
	}
	if (changed && svc_save_plan(s, err) < 0) {
		isc_strvfree(v);
		isc_error *e2 = NULL;
		if (volumes_release(s, &e2) < 0)
			isc_error_free(&e2);
		return -1;
	}
	*sources = v;
	return 0;
}

/* The service's audit id, the one it has unless its host's block of ids
 * moved (a block from before the container range did, audit-id.h). */
static int audit_id_current(struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	if (s->audit_id == 0 || !host_has_audit(sv->root))
		return 0;
	uint32_t id;
	if (isc_audit_id_assign(sv->root, s->name, &id, err) < 0)
		return -1;
	if (id == s->audit_id)
		return 0;
	isc_sv_log(LOG_NOTICE, "%s: audit id %u is outside the host's range: now %u", s->name, s->audit_id, id);
	s->audit_id = id;
	return svc_save_plan(s, err);
}

static void svc_exited(struct isc_supervisor *sv, struct svc *s, bool known, int wstatus);

enum { UNDO_MOUNT = 1, UNDO_NET = 2, UNDO_RUNTIME = 4, UNDO_VOLUMES = 8 };

static int svc_start(struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	unsigned undo = 0;
	cleanup_free char *store_rootfs = isc_xasprintf("%s/images/sha256/%s/rootfs", sv->root, s->image_id);
	cleanup_free char *store = isc_xasprintf("%s/images", sv->root);
	cleanup_free char *persist = svc_path(s, "persist");
	cleanup_free char *bundle = svc_path(s, "bundle");
	json_t *cfg = NULL;
	struct isc_net_container net = { 0 };
	const char *rootfs = store_rootfs;
	cleanup_strv char **volume_sources = NULL;
	int ret = -1;

	if (image_check_verified(sv->root, s->image_id, err) < 0)
		goto fail;
	if (audit_id_current(sv, s, err) < 0 || volumes_check_targets(sv, s, err) < 0)
		goto fail;
	/* the volumes' sources: the objects recorded at `isc run`, bound from
	 * their opened fds; the runtime gets those binds, never the paths */
	if (volumes_stage(s, &volume_sources, err) < 0)
		goto fail;
	undo |= UNDO_VOLUMES;
	/* The image, read-only.  In a user namespace: an idmapped view (on-disk
	 * 0 -> uid_base) at R/containers/NAME/rootfs.  --userns host: the
	 * store's rootfs itself, made read-only by the runtime (root.readonly). */
	if (!s->plan.userns_host) {
		cleanup_free char *mnt = svc_path(s, "rootfs");
		if (isc_idmap_mount(store_rootfs, mnt, s->uid_base, s->uid_base, ISC_IDRANGE_SIZE, true, err) < 0)
			goto fail;
		s->rootfs_mount = steal_pointer(&mnt);
		rootfs = s->rootfs_mount;
		undo |= UNDO_MOUNT;
		test_point("start:mount");
		/* the mount point's mode under umask 077 hides nothing: the
		 * mounted root directory has the image's own mode */
		/* the runtime checks the image (org.isc.image.root with
		 * org.isc.image.store: this mount shows that store's image) */
	}
	/* The network exists only on a host initialised with one; never touch
	 * the namespace iscd runs in otherwise. */
	if (sv->network) {
		if (isc_net_container_up(sv->root, s->name, &net, err) < 0)
			goto fail;
		s->net_up = true;
		undo |= UNDO_NET;
		test_point("start:net");
	}
	/* The generated /etc files are bound over the image's own (on a
	 * read-only root a missing mount point cannot be made), from copies in
	 * R/containers/NAME/etc: the runtime mounts them as the container's
	 * root, which may not pass through R/net. */
	static const char *const etc_files[] = { "resolv.conf", "hosts" };
	char **gen[] = { &net.resolv_conf, &net.hosts };
	for (size_t i = 0; i < ARRAY_SIZE(etc_files); i++) {
		if (*gen[i] == NULL)
			continue;
		cleanup_free char *source = steal_pointer(gen[i]);
		cleanup_free char *target = isc_xasprintf("%s/etc/%s", store_rootfs, etc_files[i]);
		struct stat tst;
		if (lstat(target, &tst) < 0 || !S_ISREG(tst.st_mode)) {
			isc_sv_log(LOG_NOTICE, "%s: the image has no /etc/%s: the generated one is not mounted", s->name,
				   etc_files[i]);
			continue;
		}
		cleanup_free char *etcdir = svc_path(s, "etc");
		cleanup_free char *text = NULL;
		size_t len = 0;
		if (isc_mkdir_p(etcdir, 0711, err) < 0 || isc_read_file(source, &text, &len, 1 << 20, err) < 0)
			goto fail;
		cleanup_close int efd = open(etcdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (efd < 0 || chmod(etcdir, 0711) < 0) {
			isc_error_set(err, errno, "%s", etcdir);
			goto fail;
		}
		if (isc_write_file_atomic(efd, etc_files[i], text, len, 0644, err) < 0)
			goto fail;
		*gen[i] = isc_xasprintf("%s/%s", etcdir, etc_files[i]);
		/* readable in the container (iscd's umask is 077) */
		if (chmod(*gen[i], 0644) < 0) {
			isc_error_set(err, errno, "chmod %s", *gen[i]);
			goto fail;
		}
	}
	struct isc_bundle_inputs in = {
		.rootfs = rootfs,
		.image_id = s->image_id,
		.image_store = store,
		.persist_dir = persist,
		.netns_path = net.netns_path,
		.resolv_conf = net.resolv_conf,
		.hosts = net.hosts,
		.volume_sources = volume_sources,
		.uid_base = s->uid_base,
		.gid_base = s->uid_base,
		.audit_id = s->audit_id,
		.hostname = s->name,
		.image_config = s->image_config,
	};
	if (isc_plan_bundle_config(&s->plan, &in, &cfg, err) < 0)
		goto fail;
	if (isc_mkdir_p(bundle, 0711, err) < 0)
		goto fail;
	if (chmod(bundle, 0711) < 0) {
		isc_error_set(err, errno, "chmod %s", bundle);
		goto fail;
	}
	{
		cleanup_free char *text = json_dumps(cfg, JSON_INDENT(2));
		cleanup_close int bfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (bfd < 0) {
			isc_error_set(err, errno, "open %s", bundle);
			goto fail;
		}
		if (isc_write_file_atomic(bfd, "config.json", text, strlen(text), 0644, err) < 0)
			goto fail;
	}
	if (svc_open_fifos(sv, s, err) < 0)
		goto fail;
	undo |= UNDO_RUNTIME;
	if (run_in_child(sv, s, child_starter, NULL, "start", err) < 0)
		goto fail;
	test_point("start:runtime");

	/* The init is ours now (subreaper): a pidfd from the runtime state. */
	{
		struct isc_state_dir d = { .root_fd = -1, .dir_fd = -1 };
		struct isc_state st = { 0 };
		if (isc_state_dir_open(sv->runtime_root, s->name, false, &d, err) < 0)
			goto fail;
		int r = isc_state_read(&d, &st, err);
		isc_state_dir_close(&d);
		if (r < 0)
			goto fail;
		s->pid = st.pid;
		s->pid_start = st.pid_start_time;
		isc_state_clear(&st);
	}
	for (size_t i = 0; s->net_up && i < s->plan.n_ports; i++)
		if (isc_net_expose(sv->root, s->name, &s->plan.ports[i], err) < 0)
			goto fail;
	free(s->started);
	s->started = isc_rfc3339_now();
	s->started_ns = isc_now_ns();
	s->state = SVC_RUNNING;
	s->restart_at_ns = 0;
	free(s->last_error);
	s->last_error = NULL;
	s->pidfd = pidfd_open_checked(s->pid, s->pid_start);
	if (s->pidfd < 0) {
		/* gone already (a command that exits at once): as an exit */
		isc_sv_log(LOG_INFO, "%s: started (pid %d), exited at once", s->name, (int)s->pid);
		svc_save_status(s);
		svc_exited(sv, s, false, 0);
	} else {
		s->pidw = (struct watch){ W_PIDFD, s };
		epoll_add(sv, s->pidfd, &s->pidw);
		isc_sv_log(LOG_INFO, "%s: started (pid %d)", s->name, (int)s->pid);
		svc_save_status(s);
	}
	ret = 0;
	goto out;
fail:
	/* undo in reverse */
	if (undo & UNDO_RUNTIME) {
		isc_error *e2 = NULL;
		if (run_in_child(sv, s, child_delete, NULL, "delete", &e2) < 0)
			isc_error_free(&e2);
	}
	if (undo & UNDO_NET) {
		isc_error *e2 = NULL;
		for (size_t i = 0; i < s->plan.n_ports; i++)
			if (isc_net_unexpose(sv->root, s->name, &s->plan.ports[i], &e2) < 0)
				isc_error_free(&e2);
		if (isc_net_container_down(sv->root, s->name, true, &e2) < 0)
			isc_error_free(&e2);
		s->net_up = false;
	}
	if (undo & UNDO_MOUNT) {
		isc_error *e2 = NULL;
		if (isc_idmap_umount(s->rootfs_mount, &e2) < 0)
			isc_error_free(&e2);
		free(s->rootfs_mount);
		s->rootfs_mount = NULL;
	}
	if (undo & UNDO_VOLUMES) {
		isc_error *e2 = NULL;
		if (volumes_release(s, &e2) < 0)
			isc_error_free(&e2);
	}
	isc_error_wrap(err, "start %s", s->name);
	svc_set_error(s, *err);
out:
	isc_net_container_clear(&net);
	json_decref(cfg);
	return ret;
}

/* ---- exit, policy, waiters --------------------------------------------------------------- */

static json_t *svc_summary(const struct svc *s);
static int op_start(struct isc_supervisor *sv, struct svc *s, json_t **reply, isc_error **err);

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
static void waiters_notify(struct isc_supervisor *sv, struct svc *s, bool removed)
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
		} else if (op_start(sv, s, &r, &e) < 0) {
			r = NULL;
		}
		if (r == NULL) {
			r = isc_ctl_error_reply(e);
			isc_error_free(&e);
		}
		waiter_reply(w, r);
	}
}

static void svc_close_pidfd(struct isc_supervisor *sv, struct svc *s)
{
	if (s->pidfd >= 0) {
		epoll_del(sv, s->pidfd);
		isc_closep(&s->pidfd);
	}
}

static void svc_exited(struct isc_supervisor *sv, struct svc *s, bool known, int wstatus)
{
	svc_close_pidfd(sv, s);
	s->kill_at_ns = 0;
	log_drain(s, &s->out, true);
	log_drain(s, &s->errs, true);
	char ts[ISC_RFC3339_LEN];
	isc_rfc3339_format(ts);
	free(s->finished);
	s->finished = isc_xstrdup(ts);
	int code = -1;
	if (known)
		code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	json_decref(s->last_exit);
	s->last_exit = json_pack("{s:o, s:s}", "status", known ? json_integer(code) : json_string("unknown"), "time", ts);
	s->exits++;
	isc_sv_log(LOG_INFO, "%s: exited (%s%d)", s->name, known ? "status " : "status unknown, pid ", known ? code : (int)s->pid);
	svc_teardown(sv, s, true);
	s->pid = 0;
	s->pid_start = 0;

	bool failure = !known || code != 0;
	bool restart = s->desired_running &&
		       (s->plan.restart == ISC_RESTART_ALWAYS || (s->plan.restart == ISC_RESTART_ON_FAILURE && failure));
	/* a journalled stop is done; a restart's stop goes on to its start (the
	 * waiting request's op_start, or restart_due after a recovery), whose
	 * journal entry replaces this one */
	if (s->jop == JOP_STOP)
		journal_end(sv, s->name);
	if (s->jop == JOP_RESTART && !s->removing) {
		s->desired_running = true;
		restart = true;
		s->backoff_ms = 0;
	}
	s->jop = JOP_NONE;
	if (restart) {
		uint64_t now = isc_now_ns();
		if (s->backoff_ms == 0 || now - s->started_ns >= BACKOFF_RESET_NS)
			s->backoff_ms = BACKOFF_MIN_MS;
		else
			s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
		s->restart_at_ns = now + s->backoff_ms * MS;
		s->state = SVC_RESTARTING;
		isc_sv_log(LOG_INFO, "%s: restart in %llu ms (policy %s)", s->name, (unsigned long long)s->backoff_ms,
			   s->plan.restart == ISC_RESTART_ALWAYS ? "always" : "on-failure");
	} else {
		s->state = SVC_STOPPED;
		s->desired_running = false;
	}
	svc_save_status(s);
	waiters_notify(sv, s, false);
}

static void svc_reap(struct isc_supervisor *sv, struct svc *s)
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

static void pktlog_exited(struct isc_supervisor *sv, int ws);

static void sigchld(struct isc_supervisor *sv)
{
	for (;;) {
		int ws;
		pid_t pid = waitpid(-1, &ws, WNOHANG);
		if (pid <= 0)
			break;
		if (pid == sv->pktlog_pid) {
			pktlog_exited(sv, ws);
			continue;
		}
		for (struct svc *s = sv->svcs; s; s = s->next)
			if (s->state == SVC_RUNNING && s->pid == pid) {
				svc_exited(sv, s, true, ws);
				break;
			}
	}
}

static void pktlog_start(struct isc_supervisor *sv);

static void restart_due(struct isc_supervisor *sv)
{
	uint64_t now = isc_now_ns();
	if (sv->pktlog_restart_at_ns != 0 && sv->pktlog_restart_at_ns <= now && !sv->quit)
		pktlog_start(sv);
	for (struct svc *s = sv->svcs; s; s = s->next) {
		if (s->state != SVC_RESTARTING || s->restart_at_ns == 0 || s->restart_at_ns > now)
			continue;
		s->restarts++;
		isc_error *err = NULL;
		int r = journal_begin(sv, s->name, "start", NULL, &err);
		if (r == 0) {
			r = svc_start(sv, s, &err);
			journal_end(sv, s->name);
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

/* ---- stop ---------------------------------------------------------------------------------- */

static bool pidfd_wait(int fd, int ms)
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

/* Stop: SIGTERM now, SIGKILL at the deadline (stop_deadlines), then the
 * exit path answers the waiting request.  Signals go through the pidfd:
 * no pid reuse race.  Killing the init of a pid namespace kills every
 * process in it.  Returns true when the service is already stopped (the
 * caller answers at once), false when the answer comes at the exit. */
static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* op: "stop" or "restart" (journalled: the SIGKILL deadline is recorded
 * before the SIGTERM), NULL for rm's kill (rm has an entry of its own). */
static bool svc_stop_begin(struct isc_supervisor *sv, struct svc *s, int timeout, const char *op)
{
	if (op != NULL && s->state == SVC_RUNNING && s->pidfd >= 0) {
		json_t *je = json_pack("{s:I, s:i}", "deadline", (json_int_t)(realtime_ns() + (uint64_t)timeout * 1000 * MS),
				       "timeout", timeout);
		journal_begin_or_log(sv, s->name, op, je);
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
		test_point("stop:signalled");
	} else {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		s->kill_at_ns = isc_now_ns() + 10000 * MS; /* only a wake-up: nothing follows a SIGKILL */
	}
	return false;
}

static void stop_deadlines(struct isc_supervisor *sv)
{
	uint64_t now = isc_now_ns();
	for (struct svc *s = sv->svcs; s; s = s->next)
		if (s->state == SVC_RUNNING && s->kill_at_ns != 0 && s->kill_at_ns <= now && s->pidfd >= 0) {
			isc_sv_log(LOG_INFO, "%s: stop timeout: SIGKILL", s->name);
			syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
			s->kill_at_ns = now + 10000 * MS;
		}
}

/* The synchronous form, for rm -f: SIGKILL and wait for the end. */
static void svc_kill_now(struct isc_supervisor *sv, struct svc *s)
{
	if (!svc_stop_begin(sv, s, 0, NULL)) {
		pidfd_wait(s->pidfd, 10000);
		svc_reap(sv, s);
	}
}

/* ---- create / remove ---------------------------------------------------------------------- */

static void svc_free(struct svc *s)
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
	free(s);
}

static struct svc *svc_new(struct isc_supervisor *sv, const char *name)
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

static void svc_unlink(struct isc_supervisor *sv, struct svc *s)
{
	for (struct svc **sp = &sv->svcs; *sp; sp = &(*sp)->next)
		if (*sp == s) {
			*sp = s->next;
			break;
		}
	epoll_del(sv, s->out.fd);
	epoll_del(sv, s->errs.fd);
	svc_close_pidfd(sv, s);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path, isc_error **err)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "remove %s", path);
	return 0;
}

/* Remove R/containers/NAME except persist/ (kept unless purge).  The
 * volumes' binds go first: a removal never walks into a source. */
static int svc_remove_files(struct svc *s, bool purge, isc_error **err)
{
	if (volumes_release(s, err) < 0)
		return isc_error_wrap(err, "refusing to remove %s", s->dir);
	if (purge)
		return rm_rf(s->dir, err);
	DIR *d = opendir(s->dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "open %s", s->dir);
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, "persist") == 0)
			continue;
		cleanup_free char *p = svc_path(s, de->d_name);
		if (strcmp(de->d_name, "rootfs") == 0)
			(void)umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW); /* never recurse into a mounted image */
		if (rm_rf(p, err) < 0)
			ret = -1;
	}
	closedir(d);
	return ret;
}

/* persist/ kept from an earlier service of the same name: shift its owners
 * to the new range (their offsets inside the old range are kept). */
static uint32_t chown_old_base, chown_new_base;
static int chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag, (void)ftw;
	uid_t u = st->st_uid >= chown_old_base && st->st_uid - chown_old_base < ISC_IDRANGE_SIZE
			  ? st->st_uid - chown_old_base + chown_new_base : st->st_uid;
	gid_t g = st->st_gid >= chown_old_base && st->st_gid - chown_old_base < ISC_IDRANGE_SIZE
			  ? st->st_gid - chown_old_base + chown_new_base : st->st_gid;
	if (lchown(path, u, g) < 0)
		return -1;
	if (!S_ISLNK(st->st_mode) && (st->st_mode & 06000))
		(void)chmod(path, st->st_mode & 07777); /* chown clears setuid/setgid */
	return 0;
}

static int persist_prepare(struct svc *s, isc_error **err)
{
	cleanup_free char *p = svc_path(s, "persist");
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return isc_error_set(err, errno, "mkdir %s", p);
	struct stat st;
	if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		return isc_error_set(err, errno ?: ENOTDIR, "%s", p);
	if (st.st_uid != s->uid_base) {
		chown_old_base = st.st_uid;
		chown_new_base = s->uid_base;
		if (nftw(p, chown_entry, 16, FTW_PHYS | FTW_MOUNT) < 0)
			return isc_error_set(err, errno, "chown %s to the service's ids", p);
	}
	if (chmod(p, 0700) < 0)
		return isc_error_set(err, errno, "chmod %s", p);
	return 0;
}

/* ---- control ops ---------------------------------------------------------------------------- */

static json_t *svc_summary(const struct svc *s)
{
	json_t *st = svc_status_json(s);
	json_object_set_new(st, "name", json_string(s->name));
	json_object_set_new(st, "image", json_string(s->plan.image));
	json_object_set_new(st, "image_id", json_string(s->image_id));
	return st;
}

static struct svc *op_service(struct isc_supervisor *sv, json_t *req, isc_error **err)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	if (name == NULL) {
		isc_error_set(err, EINVAL, "request without \"name\"");
		return NULL;
	}
	struct svc *s = svc_find(sv, name);
	if (s == NULL)
		isc_error_set(err, ENOENT, "no service named %s", name);
	return s;
}

static int op_run(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err)
{
	struct isc_plan plan;
	memset(&plan, 0, sizeof(plan));
	if (isc_plan_from_json(json_object_get(req, "plan"), &plan, err) < 0)
		return -1;
	if (svc_find(sv, plan.name) != NULL) {
		isc_error_set(err, EEXIST, "the name %s is taken (isc rm %s first)", plan.name, plan.name);
		isc_plan_clear(&plan);
		return -1;
	}
	char id[65];
	if (isc_image_resolve(sv->root, plan.image, id, err) < 0) {
		isc_plan_clear(&plan);
		return -1;
	}
	json_t *image_config = NULL;
	if (isc_image_config(sv->root, plan.image, &image_config, err) < 0) {
		isc_plan_clear(&plan);
		return -1;
	}
	struct svc *s = svc_new(sv, plan.name);
	s->plan = plan;
	s->image_config = image_config;
	memcpy(s->image_id, id, sizeof(id));
	cleanup_free char *svcjson = svc_path(s, "service.json");
	if (access(svcjson, F_OK) == 0) {
		svc_free(s);
		return isc_error_set(err, EEXIST, "the name %s is taken (%s exists)", plan.name, svcjson);
	}
	/* the volumes' sources: no symbolic link, nothing a service can write
	 * above them, and their identities (checked at every start) */
	if (volumes_check_targets(sv, s, err) < 0 || volumes_record(sv, s, err) < 0) {
		svc_free(s);
		return -1;
	}
	/* before anything is made: whether the folder is new (a kept persist/
	 * of an earlier service of the name is not this run's to remove) */
	if (journal_begin(sv, s->name, "run", json_pack("{s:b}", "new_dir", access(s->dir, F_OK) != 0), err) < 0) {
		svc_free(s);
		return -1;
	}
	bool made_dir = false, range = false, audit = false;
	cleanup_free char *logs = svc_path(s, "logs");
	if (isc_mkdir_p(sv->containers, 0711, err) < 0)
		goto fail;
	if (mkdir(s->dir, 0711) == 0)
		made_dir = true;
	else if (errno != EEXIST) {
		isc_error_set(err, errno, "mkdir %s", s->dir);
		goto fail;
	}
	/* iscd runs with umask 077; the container's root (uid_base) must be
	 * able to pass through to its bundle while the runtime sets it up */
	if (chmod(sv->containers, 0711) < 0 || chmod(s->dir, 0711) < 0) {
		isc_error_set(err, errno, "chmod %s", s->dir);
		goto fail;
	}
	test_point("run:dir");
	if (!s->plan.userns_host) {
		if (isc_idrange_alloc(sv->root, s->name, &s->uid_base, err) < 0)
			goto fail;
		range = true;
	}
	/* the audit identity (org.isc.audit.id) on a host with an audit trail */
	if (host_has_audit(sv->root)) {
		if (isc_audit_id_assign(sv->root, s->name, &s->audit_id, err) < 0)
			goto fail;
		audit = true;
	}
	if (isc_mkdir_p(logs, 0700, err) < 0 || persist_prepare(s, err) < 0 || svc_save_service(s, err) < 0)
		goto fail;
	test_point("run:service");
	if (svc_open_fifos(sv, s, err) < 0)
		goto fail;
	s->desired_running = true;
	if (svc_start(sv, s, err) < 0)
		goto fail;
	s->next = sv->svcs;
	sv->svcs = s;
	journal_end(sv, s->name);
	isc_sv_log(LOG_INFO, "%s: created from image %s (%.12s), uid base %u", s->name, s->plan.image, s->image_id,
		   s->uid_base);
	*reply = isc_ctl_ok_reply(svc_summary(s));
	return 0;
fail:
	epoll_del(sv, s->out.fd);
	epoll_del(sv, s->errs.fd);
	{
		isc_error *e2 = NULL;
		/* leave nothing: the folder we made (a kept persist/ stays);
		 * never walk into a volume's source */
		if (volumes_release(s, &e2) < 0)
			isc_error_free(&e2);
		else if (made_dir ? rm_rf(s->dir, &e2) < 0 : svc_remove_files(s, false, &e2) < 0)
			isc_error_free(&e2);
		if (range && isc_idrange_free(sv->root, s->name, &e2) < 0)
			isc_error_free(&e2);
		if (audit && isc_audit_id_release(sv->root, s->name, &e2) < 0)
			isc_error_free(&e2);
	}
	journal_end(sv, s->name);
	svc_free(s);
	return -1;
}

static int op_ps(struct isc_supervisor *sv, json_t **reply)
{
	json_t *a = json_array();
	for (struct svc *s = sv->svcs; s; s = s->next)
		json_array_append_new(a, svc_summary(s));
	*reply = isc_ctl_ok_reply(json_pack("{s:o}", "services", a));
	return 0;
}

static int op_inspect(struct isc_supervisor *sv, struct svc *s, json_t **reply)
{
	cleanup_free char *cfgpath = svc_path(s, "bundle/config.json");
	json_t *cfg = json_load_file(cfgpath, 0, NULL);
	json_t *j = json_pack("{s:s, s:o, s:s, s:I, s:s, s:o, s:o}", "name", s->name, "plan", isc_plan_to_json(&s->plan),
			      "image_id", s->image_id, "uid_base", (json_int_t)s->uid_base, "userns",
			      s->plan.userns_host ? "host" : "auto", "config", cfg ? cfg : json_null(), "status",
			      svc_status_json(s));
	json_object_set_new(j, "dir", json_string(s->dir));
	*reply = isc_ctl_ok_reply(j);
	return 0;
}

static int timeout_of(json_t *req)
{
	json_t *t = json_object_get(req, "timeout");
	if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > 3600)
		return ISC_STOP_TIMEOUT_DEFAULT;
	return (int)json_integer_value(t);
}

static int op_start(struct isc_supervisor *sv, struct svc *s, json_t **reply, isc_error **err)
{
	if (s->state == SVC_RUNNING)
		return isc_error_set(err, EALREADY, "service %s is running", s->name);
	if (journal_begin(sv, s->name, "start", NULL, err) < 0)
		return -1;
	s->desired_running = true;
	s->backoff_ms = 0;
	s->restart_at_ns = 0;
	int r = svc_start(sv, s, err);
	journal_end(sv, s->name);
	if (r < 0) {
		s->desired_running = false;
		s->state = SVC_STOPPED;
		svc_save_status(s);
		return -1;
	}
	*reply = isc_ctl_ok_reply(svc_summary(s));
	return 0;
}

static int svc_rm_finish(struct isc_supervisor *sv, struct svc *s, bool purge, isc_error **err);

static int op_rm(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err)
{
	bool force = json_is_true(json_object_get(req, "force"));
	bool purge = json_is_true(json_object_get(req, "purge"));
	if (s->state == SVC_RUNNING && !force)
		return isc_error_set(err, EBUSY, "service %s is running (isc stop %s, or isc rm -f)", s->name, s->name);
	journal_begin_or_log(sv, s->name, "rm", json_pack("{s:b}", "purge", purge));
	s->removing = true;
	svc_kill_now(sv, s);
	s->removing = false;
	if (s->state == SVC_RUNNING) {
		journal_end(sv, s->name);
		return isc_error_set(err, EBUSY, "service %s did not stop", s->name);
	}
	test_point("rm:killed");
	svc_unlink(sv, s);
	int r = svc_rm_finish(sv, s, purge, err);
	waiters_notify(sv, s, true);
	svc_free(s);
	if (r < 0)
		return -1;
	*reply = isc_ctl_ok_reply(NULL);
	return 0;
}

/* The end of an rm, once nothing runs (s is off the list): teardown, the
 * address, the id range, the audit id, the files; the journal entry goes. */
static int svc_rm_finish(struct isc_supervisor *sv, struct svc *s, bool purge, isc_error **err)
{
	svc_teardown(sv, s, false);
	test_point("rm:teardown");
	if (sv->network) {
		isc_error *e2 = NULL;
		if (isc_net_container_down(sv->root, s->name, false, &e2) < 0) /* release the address */
			isc_error_free(&e2);
	}
	if (!s->plan.userns_host && isc_idrange_free(sv->root, s->name, err) < 0) {
		char buf[512];
		isc_sv_log(LOG_ERR, "%s: %s", s->name, isc_error_text(*err, buf, sizeof(buf)));
		isc_error_free(err);
	}
	if ((s->audit_id != 0 || host_has_audit(sv->root)) && isc_audit_id_release(sv->root, s->name, err) < 0) {
		char buf[512];
		isc_sv_log(LOG_ERR, "%s: %s", s->name, isc_error_text(*err, buf, sizeof(buf)));
		isc_error_free(err);
	}
	int r = svc_remove_files(s, purge, err);
	isc_sv_log(LOG_INFO, "%s: removed%s", s->name, purge ? " (persist purged)" : "");
	if (r == 0)
		journal_end(sv, s->name);
	return r;
}

/* ---- the network ops: expose, unexpose, allow, policy --------------------------------------- */

/* iscd is the one process in the ISC host's network namespace that owns
 * the services: the isc verbs ask it, and it makes the net.h calls here. */
static int need_network(struct isc_supervisor *sv, isc_error **err)
{
	if (sv->network)
		return 0;
	return isc_error_set(err, EOPNOTSUPP, "this host has no network (isc init sets it up; %s/host.json has no "
					      "\"network\")", sv->root);
}

static const char *req_port_spec(json_t *req, isc_error **err)
{
	const char *spec = json_string_value(json_object_get(req, "port"));
	if (spec == NULL)
		isc_error_set(err, EINVAL, "request without \"port\"");
	return spec;
}

/* The plan and the audit id in service.json again (its other fields as
 * they are): a restart and a restarted iscd build from it, and `isc
 * inspect` shows it. */
static int svc_save_plan(const struct svc *s, isc_error **err)
{
	cleanup_free char *path = svc_path(s, "service.json");
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return isc_error_set(err, EINVAL, "%s: %s", path, jerr.text);
	}
	json_object_set_new(j, "plan", isc_plan_to_json(&s->plan));
	json_object_set_new(j, "audit_id", json_integer((json_int_t)s->audit_id));
	cleanup_free char *text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	cleanup_close int dfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", s->dir);
	if (text == NULL)
		return isc_error_set(err, ENOMEM, "%s", path);
	return isc_write_file_durable(dfd, "service.json", text, strlen(text), 0600, err);
}

static bool svc_net_live(const struct svc *s)
{
	return s->state == SVC_RUNNING && s->net_up;
}

static json_t *ports_json(const struct svc *s)
{
	json_t *j = isc_plan_to_json(&s->plan);
	json_t *ports = json_incref(json_object_get(j, "ports"));
	json_decref(j);
	return ports ? ports : json_array();
}

static int op_expose(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err)
{
	const char *spec = req_port_spec(req, err);
	if (spec == NULL)
		return -1;
	struct isc_port p;
	if (isc_fw_parse_port(spec, true, &p.host_port, &p.port, &p.proto, err) < 0)
		return -1;
	const char *pn = isc_fw_proto_name(p.proto);
	if (p.proto == IPPROTO_TCP && sv->ssh_port > 0 && p.host_port == sv->ssh_port)
		return isc_error_set(err, EADDRINUSE, "expose %s: port %u/tcp is the host's SSH port", s->name,
				     p.host_port);
	/* every service's plan, running or not: a stopped one gets its ports
	 * back at its next start */
	for (struct svc *o = sv->svcs; o; o = o->next)
		for (size_t i = 0; i < o->plan.n_ports; i++) {
			const struct isc_port *q = &o->plan.ports[i];
			if (q->proto != p.proto || q->host_port != p.host_port)
				continue;
			if (o == s && q->port == p.port) {
				*reply = isc_ctl_ok_reply(json_pack("{s:s, s:o}", "name", s->name, "ports", ports_json(s)));
				return 0; /* exposed like that already */
			}
			if (o == s)
				return isc_error_set(err, EADDRINUSE,
						     "expose %s: port %u/%s is already exposed to its port %u (isc unexpose "
						     "%s %u/%s first)",
						     s->name, p.host_port, pn, q->port, s->name, p.host_port, pn);
			return isc_error_set(err, EADDRINUSE, "expose %s: port %u/%s is already exposed by service %s",
					     s->name, p.host_port, pn, o->name);
		}
	bool applied = false;
	if (svc_net_live(s)) {
		if (isc_net_expose(sv->root, s->name, &p, err) < 0)
			return -1;
		applied = true;
	}
	struct isc_port *np = realloc(s->plan.ports, (s->plan.n_ports + 1) * sizeof(*np));
	if (np == NULL) {
		isc_error_set(err, ENOMEM, "expose %s", s->name);
		goto undo;
	}
	s->plan.ports = np;
	s->plan.ports[s->plan.n_ports++] = p;
	if (svc_save_plan(s, err) < 0) {
		s->plan.n_ports--;
		goto undo;
	}
	isc_sv_log(LOG_INFO, "%s: exposed %u:%u/%s%s", s->name, p.host_port, p.port, pn,
		   applied ? "" : " (from its next start)");
	*reply = isc_ctl_ok_reply(json_pack("{s:s, s:o}", "name", s->name, "ports", ports_json(s)));
	return 0;
undo:
	if (applied) {
		isc_error *e2 = NULL;
		if (isc_net_unexpose(sv->root, s->name, &p, &e2) < 0)
			isc_error_free(&e2);
	}
	return isc_error_wrap(err, "expose %s %s", s->name, spec);
}

static int op_unexpose(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err)
{
	const char *spec = req_port_spec(req, err);
	if (spec == NULL)
		return -1;
	struct isc_port p;
	if (isc_fw_parse_port(spec, false, &p.host_port, NULL, &p.proto, err) < 0)
		return -1;
	const char *pn = isc_fw_proto_name(p.proto);
	size_t at = SIZE_MAX;
	for (size_t i = 0; i < s->plan.n_ports && at == SIZE_MAX; i++)
		if (s->plan.ports[i].proto == p.proto && s->plan.ports[i].host_port == p.host_port)
			at = i;
	if (at == SIZE_MAX)
		return isc_error_set(err, ENOENT, "unexpose %s: port %u/%s is not exposed to it", s->name, p.host_port,
				     pn);
	struct isc_port old = s->plan.ports[at];
	bool applied = false;
	if (svc_net_live(s)) {
		isc_error *e2 = NULL;
		if (isc_net_unexpose(sv->root, s->name, &old, &e2) < 0) {
			if (e2->errnum != ENOENT) { /* ENOENT: not forwarded anyway */
				isc_error_move(err, &e2);
				return -1;
			}
			isc_error_free(&e2);
		} else {
			applied = true;
		}
	}
	memmove(&s->plan.ports[at], &s->plan.ports[at + 1], (s->plan.n_ports - at - 1) * sizeof(*s->plan.ports));
	s->plan.n_ports--;
	if (svc_save_plan(s, err) < 0) {
		/* back as it was */
		memmove(&s->plan.ports[at + 1], &s->plan.ports[at], (s->plan.n_ports - at) * sizeof(*s->plan.ports));
		s->plan.ports[at] = old;
		s->plan.n_ports++;
		isc_error *e2 = NULL;
		if (applied && isc_net_expose(sv->root, s->name, &old, &e2) < 0)
			isc_error_free(&e2);
		return isc_error_wrap(err, "unexpose %s %s", s->name, spec);
	}
	isc_sv_log(LOG_INFO, "%s: unexposed %u/%s", s->name, p.host_port, pn);
	*reply = isc_ctl_ok_reply(json_pack("{s:s, s:o}", "name", s->name, "ports", ports_json(s)));
	return 0;
}

/* {"src", "dst", "port": "PORT[/tcp|udp]", "remove"}: the flows live in the
 * network's own state (R/net) and stay until --remove or `isc rm`. */
static int op_allow(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err)
{
	const char *src = json_string_value(json_object_get(req, "src"));
	const char *dst = json_string_value(json_object_get(req, "dst"));
	const char *spec = req_port_spec(req, err);
	bool remove = json_is_true(json_object_get(req, "remove"));
	if (spec == NULL)
		return -1;
	if (src == NULL || dst == NULL)
		return isc_error_set(err, EINVAL, "request without \"src\" or \"dst\"");
	if (svc_find(sv, src) == NULL)
		return isc_error_set(err, ENOENT, "allow: no service named %s", src);
	if (svc_find(sv, dst) == NULL)
		return isc_error_set(err, ENOENT, "allow: no service named %s", dst);
	struct isc_port p = { 0 };
	if (isc_fw_parse_port(spec, false, &p.port, NULL, &p.proto, err) < 0)
		return -1;
	if (isc_net_allow(sv->root, src, dst, &p, remove, err) < 0)
		return -1;
	isc_sv_log(LOG_INFO, "%s %s -> %s:%u/%s", remove ? "closed" : "allowed", src, dst, p.port,
		   isc_fw_proto_name(p.proto));
	*reply = isc_ctl_ok_reply(NULL);
	return 0;
}

/* {"action": "ls" | "enable" | "disable", "rule"} */
static int op_policy(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err)
{
	const char *action = json_string_value(json_object_get(req, "action"));
	const char *rule = json_string_value(json_object_get(req, "rule"));
	if (action == NULL || strcmp(action, "ls") == 0) {
		unsigned on = 0;
		if (isc_net_policy_get(sv->root, &on, err) < 0)
			return -1;
		json_t *arr = json_array();
		for (unsigned i = 0; i < isc_fw_n_policies; i++)
			json_array_append_new(arr, json_pack("{s:s, s:b, s:s}", "name", isc_fw_policies[i].name, "enabled",
							     (on & isc_fw_policies[i].flag) != 0, "description",
							     isc_fw_policies[i].help));
		*reply = isc_ctl_ok_reply(json_pack("{s:o}", "rules", arr));
		return 0;
	}
	bool on = strcmp(action, "enable") == 0;
	if (!on && strcmp(action, "disable") != 0)
		return isc_error_set(err, EINVAL, "policy: unknown action \"%s\" (ls, enable, disable)", action);
	if (rule == NULL)
		return isc_error_set(err, EINVAL, "policy %s: request without \"rule\"", action);
	if (isc_net_policy_set(sv->root, rule, on, err) < 0)
		return -1;
	isc_sv_log(LOG_INFO, "policy %s %s", action, rule);
	*reply = isc_ctl_ok_reply(NULL);
	return 0;
}

static void waiter_add(struct isc_supervisor *sv, int fd, const struct svc *s, enum waiter_kind kind, unsigned exits)
{
	struct waiter *w = isc_xmalloc0(sizeof(*w));
	w->kind = kind;
	w->fd = fd;
	w->name = isc_xstrdup(s->name);
	w->exits = exits;
	w->next = sv->waiters;
	sv->waiters = w;
}

static void handle_request(struct isc_supervisor *sv, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 5000) <= 0) {
		close(fd);
		return;
	}
	isc_error *err = NULL;
	json_t *req = NULL, *reply = NULL;
	int r = -1;
	if (isc_ctl_recv(fd, &req, &err) < 0 || req == NULL) {
		if (req == NULL && err == NULL)
			isc_error_set(&err, EPROTO, "empty request");
		goto done;
	}
	const char *op = json_string_value(json_object_get(req, "op"));
	if (op == NULL) {
		isc_error_set(&err, EINVAL, "request without \"op\"");
		goto done;
	}
	if (strcmp(op, "ping") == 0) {
		reply = isc_ctl_ok_reply(json_pack("{s:s, s:i}", "root", sv->root, "pid", (int)getpid()));
		r = 0;
	} else if (strcmp(op, "run") == 0) {
		r = op_run(sv, req, &reply, &err);
	} else if (strcmp(op, "ps") == 0) {
		r = op_ps(sv, &reply);
	} else if (strcmp(op, "shutdown") == 0) {
		sv->quit = true;
		reply = isc_ctl_ok_reply(NULL);
		r = 0;
	} else if (strcmp(op, "allow") == 0 || strcmp(op, "policy") == 0) {
		if (need_network(sv, &err) < 0)
			goto done;
		r = op[0] == 'a' ? op_allow(sv, req, &reply, &err) : op_policy(sv, req, &reply, &err);
	} else {
		static const char *const service_ops[] = { "inspect", "stop",	 "start",   "restart",
							   "rm",      "wait",	 "expose", "unexpose" };
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(service_ops); i++)
			known = known || strcmp(op, service_ops[i]) == 0;
		if (!known) {
			isc_error_set(&err, EINVAL, "unknown op \"%s\"", op);
			goto done;
		}
		bool net_op = strcmp(op, "expose") == 0 || strcmp(op, "unexpose") == 0;
		if (net_op && need_network(sv, &err) < 0)
			goto done;
		struct svc *s = op_service(sv, req, &err);
		if (s == NULL)
			goto done;
		if (strcmp(op, "expose") == 0) {
			r = op_expose(sv, s, req, &reply, &err);
		} else if (strcmp(op, "unexpose") == 0) {
			r = op_unexpose(sv, s, req, &reply, &err);
		} else if (strcmp(op, "inspect") == 0) {
			r = op_inspect(sv, s, &reply);
		} else if (strcmp(op, "stop") == 0 || strcmp(op, "restart") == 0) {
			bool restart = strcmp(op, "restart") == 0;
			if (!svc_stop_begin(sv, s, timeout_of(req), op)) {
				waiter_add(sv, fd, s, restart ? WAIT_RESTART : WAIT_STOP, 0);
				json_decref(req);
				return; /* answered at the exit */
			}
			if (restart) {
				r = op_start(sv, s, &reply, &err);
			} else {
				reply = isc_ctl_ok_reply(svc_summary(s));
				r = 0;
			}
		} else if (strcmp(op, "start") == 0) {
			r = op_start(sv, s, &reply, &err);
		} else if (strcmp(op, "rm") == 0) {
			r = op_rm(sv, s, req, &reply, &err);
		} else if (strcmp(op, "wait") == 0) {
			json_t *e = json_object_get(req, "exits");
			unsigned after = json_is_integer(e) && json_integer_value(e) >= 0 ? (unsigned)json_integer_value(e) : 0;
			if (s->exits > after) {
				reply = isc_ctl_ok_reply(json_pack("{s:O}", "exit", s->last_exit ? s->last_exit : json_null()));
				r = 0;
			} else {
				waiter_add(sv, fd, s, WAIT_EXIT, after);
				json_decref(req);
				return; /* answered at the exit */
			}
		} else {
			isc_error_set(&err, EINVAL, "unknown op \"%s\"", op);
		}
	}
done:
	if (r < 0) {
		if (err == NULL)
			isc_error_set(&err, EIO, "request failed");
		reply = isc_ctl_error_reply(err);
		char buf[1024];
		isc_sv_log(LOG_NOTICE, "request %s refused: %s",
			   req ? (json_string_value(json_object_get(req, "op")) ?: "?") : "?",
			   isc_error_text(err, buf, sizeof(buf)));
	}
	isc_error_free(&err);
	if (reply != NULL && isc_ctl_send(fd, reply, &err) < 0)
		isc_error_free(&err);
	json_decref(reply);
	json_decref(req);
	close(fd);
}

/* ---- re-adoption ---------------------------------------------------------------------------- */

static int svc_load(struct isc_supervisor *sv, const char *name, struct svc **out, isc_error **err)
{
	*out = NULL;
	struct svc *s = svc_new(sv, name);
	cleanup_free char *path = svc_path(s, "service.json");
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (j == NULL) {
		svc_free(s);
		return isc_error_set(err, EINVAL, "%s: %s", path, jerr.text);
	}
	const char *id = json_string_value(json_object_get(j, "image_id"));
	json_t *base = json_object_get(j, "uid_base");
	if (id == NULL || strlen(id) != 64 || !json_is_integer(base) ||
	    isc_plan_from_json(json_object_get(j, "plan"), &s->plan, err) < 0) {
		json_decref(j);
		svc_free(s);
		if (err && *err)
			isc_error_wrap(err, "%s", path);
		else
			isc_error_set(err, EINVAL, "%s: no image_id or uid_base", path);
		return -1;
	}
	memcpy(s->image_id, id, 65);
	s->uid_base = (uint32_t)json_integer_value(base);
	s->audit_id = (uint32_t)json_integer_value(json_object_get(j, "audit_id"));
	json_t *ic = json_object_get(j, "image_config");
	s->image_config = json_is_object(ic) ? json_incref(ic) : NULL;
	json_decref(j);

	cleanup_free char *spath = svc_path(s, "status.json");
	json_t *st = json_load_file(spath, 0, NULL);
	if (st != NULL) {
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
		if (state && strcmp(state, "running") == 0) {
			s->pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
			s->pid_start = (uint64_t)json_integer_value(json_object_get(st, "pid_start_time"));
		}
		json_decref(st);
	}
	*out = s;
	return 0;
}

static void svc_readopt(struct isc_supervisor *sv, struct svc *s)
{
	isc_error *err = NULL;
	char buf[1024];
	if (svc_open_fifos(sv, s, &err) < 0) {
		isc_sv_log(LOG_ERR, "%s: %s", s->name, isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	}
	if (s->pid > 0) {
		s->pidfd = pidfd_open_checked(s->pid, s->pid_start);
		if (s->pidfd >= 0 && isc_state_exists(sv->runtime_root, s->name)) {
			s->state = SVC_RUNNING;
			s->started_ns = isc_now_ns();
			s->pidw = (struct watch){ W_PIDFD, s };
			epoll_add(sv, s->pidfd, &s->pidw);
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

/* ---- recovery: the ops a killed iscd left (journal.c) ---------------------------------------- */

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
		journal_end(sv, name);
	}
	return je;
}

/* rm: finished.  s is on the list; it goes (freed). */
static void recover_rm(struct isc_supervisor *sv, struct svc *s, bool purge)
{
	svc_unlink(sv, s);
	recover_marks(sv, s);
	int fd = s->pid > 0 ? pidfd_open_checked(s->pid, s->pid_start) : -1;
	if (fd >= 0) {
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		(void)pidfd_wait(fd, 10000);
		close(fd);
	}
	isc_error *err = NULL;
	if (svc_rm_finish(sv, s, purge, &err) < 0) {
		char buf[1024];
		isc_sv_log(LOG_ERR, "%s: recovery: the rm is not finished: %s", s->name, isc_error_text(err, buf, sizeof(buf)));
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
		uint64_t now = realtime_ns();
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
		journal_end(sv, s->name);
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
	journal_end(sv, s->name);
	isc_sv_log(LOG_NOTICE, "%s: recovery: the interrupted %s is finished: %s", s->name, op,
		   s->state == SVC_RUNNING ? "its container runs (re-adopted)"
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
		journal_end(sv, name);
		return;
	}
	bool purge = strcmp(op, "rm") == 0 ? json_is_true(json_object_get(je, "purge"))
					   : json_is_true(json_object_get(je, "new_dir"));
	isc_sv_log(LOG_NOTICE, "%s: recovery: the %s begun at %s was interrupted before the service was recorded", name,
		   op, json_string_value(json_object_get(je, "time")) ?: "?");
	struct svc *s = svc_new(sv, name);
	recover_marks(sv, s);
	if (svc_rm_finish(sv, s, purge, &err) < 0) {
		isc_sv_log(LOG_ERR, "%s: recovery: the %s is not undone: %s", name, op, isc_error_text(err, buf, sizeof(buf)));
		isc_error_free(&err);
	} else {
		isc_sv_log(LOG_NOTICE, "%s: recovery: the interrupted %s is %s: nothing of the service is left", name, op,
			   strcmp(op, "rm") == 0 ? "finished" : "undone");
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

static void readopt_all(struct isc_supervisor *sv)
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
			isc_sv_log(LOG_ERR, "cannot load service %s: %s", de->d_name, isc_error_text(err, buf, sizeof(buf)));
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

/* ---- the packet log --------------------------------------------------------------------------- */

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

static void pktlog_start(struct isc_supervisor *sv)
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

/* The reader ended (reaped by sigchld): restart it unless iscd quits. */
static void pktlog_exited(struct isc_supervisor *sv, int ws)
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
static void pktlog_stop_now(struct isc_supervisor *sv)
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

/* ---- the host's network at start -------------------------------------------------------------- */

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
	return sscanf(text, "%d %llu", &pid, &start) == 2 && pid > 0 && start != 0 &&
	       isc_proc_start_time(pid) == start;
}

/* The bridge, sysctls and the isc tables from host.json and R/net: after a
 * reboot nothing of it exists; otherwise the same again (idempotent; the
 * tables are rebuilt with their elements).  Never with commit-confirmed:
 * `isc init` asked the operator already. */
static void net_host_up_at_start(struct isc_supervisor *sv)
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
		isc_sv_log(LOG_WARNING, "network: the last ruleset was rolled back (not confirmed in time): not applied "
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

/* ---- the loop --------------------------------------------------------------------------------- */

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
	sv->network = host_has_network(root);
	sv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sv->epfd < 0) {
		isc_error_set(err, errno, "epoll_create1");
		goto fail;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sv->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sv->sfd < 0) {
		isc_error_set(err, errno, "signalfd");
		goto fail;
	}
	sv->sw = (struct watch){ W_SIGNAL, NULL };
	epoll_add(sv, sv->sfd, &sv->sw);
	/* in this (the ISC host's) network namespace, before any service
	 * starts: after a reboot the bridge and the tables are gone */
	if (sv->network) {
		net_host_up_at_start(sv);
		pktlog_start(sv);
	}
	readopt_all(sv);
	sv->lfd = isc_ctl_listen(root, err);
	if (sv->lfd < 0)
		goto fail;
	sv->lw = (struct watch){ W_LISTEN, NULL };
	epoll_add(sv, sv->lfd, &sv->lw);
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

int isc_supervisor_run(struct isc_supervisor *sv, isc_error **err)
{
	while (!sv->quit) {
		struct epoll_event ev;
		/* one event per wait: a handler may free a service that a
		 * second event of the same batch would point to */
		int n = epoll_wait(sv->epfd, &ev, 1, next_timeout_ms(sv));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return isc_error_set(err, errno, "epoll_wait");
		}
		if (n == 0) {
			stop_deadlines(sv);
			restart_due(sv);
			continue;
		}
		struct watch *w = ev.data.ptr;
		switch (w->kind) {
		case W_LISTEN: {
			isc_error *e = NULL;
			int fd = isc_ctl_accept(sv->lfd, &e);
			if (fd < 0) {
				char buf[512];
				isc_sv_log(LOG_WARNING, "%s", isc_error_text(e, buf, sizeof(buf)));
				isc_error_free(&e);
				break;
			}
			handle_request(sv, fd);
			break;
		}
		case W_SIGNAL: {
			struct signalfd_siginfo si;
			while (read(sv->sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					sigchld(sv);
				} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
					isc_sv_log(LOG_INFO, "signal %d: exiting, the containers keep running", (int)si.ssi_signo);
					sv->quit = true;
				}
			}
			break;
		}
		case W_PIDFD:
			svc_reap(sv, w->svc);
			break;
		case W_STDOUT:
			log_drain(w->svc, &w->svc->out, false);
			break;
		case W_STDERR:
			log_drain(w->svc, &w->svc->errs, false);
			break;
		}
		stop_deadlines(sv);
		restart_due(sv);
	}
	pktlog_stop_now(sv);
	return 0;
}

void isc_supervisor_free(struct isc_supervisor *sv)
{
	if (sv == NULL)
		return;
	pktlog_stop_now(sv);
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
		log_drain(s, &s->out, true);
		log_drain(s, &s->errs, true);
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
