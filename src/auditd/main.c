/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-auditd: the machine's audit collector (docs/audit.md).
 *
 * One per machine.  It becomes the kernel's audit daemon where none is
 * registered (else it reads the multicast log group and only adds its own
 * rules), hands out audit-identity ranges to the hosts (state roots) that
 * register, and writes every record into the trail of the host whose range
 * holds the record's auid -- when its session is one isc-runtime opened for
 * that auid (sessions.c).  A dedicated thread only reads the netlink socket;
 * the main thread parses, routes, writes and syncs at least every 100 ms.
 *
 *   isc-auditd [--run-dir DIR] [--daemon] [--backlog-wait JIFFIES]
 *              [--epoch-seconds N] [--no-syslog]
 *   isc-auditd --stop | --status [--run-dir DIR] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit-client.h"
#include "audit/audit-id.h"
#include "audit/audit-record.h"
#include "auditd.h"
#include "audit/trail.h"
#include "base/util.h"

#define MAX_HOSTS 256
#define BACKLOG_LIMIT 8192
#define RCVBUF (64 << 20)
#define FLUSH_MS 100
#define FLUSH_RECORDS 4096

struct host {
	char *root;
	uint32_t base, count;
	struct isc_trail *trail;
	json_t *names;
	struct timespec names_mtime;
	uint64_t names_checked_ms;
	bool failing;            /* the last flush failed */
	uint64_t fail_logged_ms;
};

/* Records travel from the reader to the main thread packed in batches: one
 * allocation per batch, not per record (and none freed across threads per
 * record). */
#define BATCH_BYTES (256u << 10)
struct rec_hdr {
	int type;
	uint32_t len; /* text bytes, NUL follows */
};
struct batch {
	struct batch *next;
	size_t used;
	char data[BATCH_BYTES];
};

static struct {
	const char *run_dir;
	bool daemon_role;      /* registered as the audit daemon (else multicast) */
	bool use_syslog;
	int backlog_wait;
	uint32_t epoch_seconds;
	uint64_t rotate_bytes; /* for the trail a register creates (0: default) */
	uint32_t keep_files;
	int ctl_fd, rec_fd, listen_fd, stop_efd, queue_efd;
	struct audit_status found;
	struct host hosts[MAX_HOSTS];
	size_t n_hosts;
	struct isc_audit_asm *asm_;
	FILE *log;
	uint32_t last_lost;
	uint64_t unrouted, unattributed, overruns, reported_overruns;
	pthread_mutex_t qlock;
	struct batch *qhead, *qtail;
	bool stopping;
	int ready_fd; /* --daemon: tells the parent we are up */
	int stop_client; /* answered once the state is restored */
} S = { .stop_client = -1, .ctl_fd = -1, .rec_fd = -1, .listen_fd = -1, .stop_efd = -1, .queue_efd = -1, .ready_fd = -1,
	.qlock = PTHREAD_MUTEX_INITIALIZER };

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	char t[ISC_RFC3339_LEN];
	isc_rfc3339_format(t);
	va_list ap;
	va_start(ap, fmt);
	char *m = isc_xvasprintf(fmt, ap);
	va_end(ap);
	FILE *out = S.log ? S.log : stderr;
	fprintf(out, "time=%s level=info msg=\"%s\"\n", t, m);
	fflush(out);
	free(m);
}

static void log_error(isc_error **e, const char *what)
{
	char b[1024];
	logmsg("%s: %s", what, isc_error_text(*e, b, sizeof(b)));
	isc_error_free(e);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *run_path(const char *name)
{
	return isc_xasprintf("%s/%s", S.run_dir, name);
}

/* ---- hosts and their ranges ---- */

static int save_ranges(isc_error **err)
{
	json_t *a = json_array();
	for (size_t i = 0; i < S.n_hosts; i++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:I}", "root", S.hosts[i].root, "base",
						   (json_int_t)S.hosts[i].base, "count", (json_int_t)S.hosts[i].count));
	json_t *j = json_pack("{s:o}", "ranges", a);
	cleanup_free char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	cleanup_close int dfd = open(S.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", S.run_dir);
	return isc_write_file_durable(dfd, "ranges.json", s, strlen(s), 0600, err);
}

static struct host *host_by_root(const char *root)
{
	for (size_t i = 0; i < S.n_hosts; i++)
		if (strcmp(S.hosts[i].root, root) == 0)
			return &S.hosts[i];
	return NULL;
}

/* The lowest free block of ISC_AUDIT_RANGE ids in the container range;
 * 0 when none is. */
static uint32_t free_block(void)
{
	for (uint32_t k = 0; k < ISC_AUDIT_HOSTS; k++) {
		uint32_t base = ISC_AUDIT_ID_MIN + k * ISC_AUDIT_RANGE;
		bool used = false;
		for (size_t i = 0; i < S.n_hosts && !used; i++)
			used = S.hosts[i].base == base;
		if (!used)
			return base;
	}
	return 0;
}

static bool block_ok(json_int_t base, json_int_t count)
{
	return base >= ISC_AUDIT_ID_MIN && base <= ISC_AUDIT_ID_MAX && (base - ISC_AUDIT_ID_MIN) % ISC_AUDIT_RANGE == 0 &&
	       count == ISC_AUDIT_RANGE;
}

static struct host *host_by_auid(uint32_t auid)
{
	for (size_t i = 0; i < S.n_hosts; i++)
		if (auid >= S.hosts[i].base && auid - S.hosts[i].base < S.hosts[i].count)
			return &S.hosts[i];
	return NULL;
}

static void emit_to(struct host *h, json_t *rec)
{
	cleanup_error isc_error *e = NULL;
	if (isc_trail_append(h->trail, rec, &e) < 0)
		log_error(&e, "trail append");
	if (S.use_syslog) {
		char *s = json_dumps(rec, JSON_COMPACT);
		if (s)
			syslog(LOG_INFO, "root=%s %s", h->root, s);
		free(s);
	}
}

static void emit_all(json_t *rec)
{
	for (size_t i = 0; i < S.n_hosts; i++)
		emit_to(&S.hosts[i], rec);
}

static int open_host(const char *root, uint32_t base, uint32_t count, bool create, char key[ISC_TRAIL_KEY_HEX],
		     isc_error **err)
{
	if (S.n_hosts == MAX_HOSTS)
		return isc_error_set(err, ENOSPC, "register %s: %d hosts registered already", root, MAX_HOSTS);
	cleanup_free char *dir = isc_xasprintf("%s/audit", root);
	if (key)
		key[0] = 0;
	if (!isc_trail_exists(dir)) {
		if (!create)
			return isc_error_set(err, ENOENT, "trail %s is gone", dir);
		struct isc_trail_options o = { .epoch_seconds = S.epoch_seconds, .rotate_bytes = S.rotate_bytes,
						 .keep_files = S.keep_files };
		if (isc_trail_create(dir, &o, key, err) < 0)
			return -1;
	}
	struct isc_trail *t = NULL;
	if (isc_trail_open(dir, &t, err) < 0)
		return -1;
	/* the host's own copy of its range: iscd picks container ids from it */
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *r = isc_xasprintf("{\"base\": %u, \"count\": %u}\n", base, count);
	if (dfd < 0 || isc_write_file_durable(dfd, "range.json", r, strlen(r), 0600, err) < 0) {
		isc_trail_close(t);
		return dfd < 0 ? isc_error_set(err, errno, "open %s", dir) : -1;
	}
	struct host *h = &S.hosts[S.n_hosts++];
	memset(h, 0, sizeof(*h));
	h->root = isc_xstrdup(root);
	h->base = base;
	h->count = count;
	h->trail = t;
	return 0;
}

static void close_host(struct host *h)
{
	isc_trail_close(h->trail);
	json_decref(h->names);
	free(h->root);
	size_t i = (size_t)(h - S.hosts);
	memmove(&S.hosts[i], &S.hosts[i + 1], (S.n_hosts - i - 1) * sizeof(*h));
	S.n_hosts--;
}

static const char *container_name(struct host *h, uint32_t auid)
{
	const char *n = h->names ? isc_audit_names_lookup(h->names, auid) : NULL;
	uint64_t now = now_ms();
	/* ids.json is looked at (stat) at most every 100 ms, and every second
	 * for a name it already has */
	if (now - h->names_checked_ms < (n ? 1000u : 100u))
		return n;
	h->names_checked_ms = now;
	cleanup_free char *p = isc_xasprintf("%s/audit/ids.json", h->root);
	struct stat sb;
	if (stat(p, &sb) < 0)
		return n;
	if (h->names == NULL || sb.st_mtim.tv_sec != h->names_mtime.tv_sec ||
	    sb.st_mtim.tv_nsec != h->names_mtime.tv_nsec) {
		json_t *j = json_load_file(p, 0, NULL);
		if (json_is_object(j)) {
			json_decref(h->names);
			h->names = j;
			h->names_mtime = sb.st_mtim;
		} else {
			json_decref(j);
		}
	}
	return h->names ? isc_audit_names_lookup(h->names, auid) : NULL;
}

/* ---- kernel records ---- */

/* The session a kernel event belongs to: a refused loginuid change leaves
 * the task in its old one. */
static uint32_t event_session(json_t *ev, const char *type)
{
	const char *result = json_string_value(json_object_get(ev, "result"));
	bool refused = strcmp(type, "loginuid") == 0 && result != NULL && strcmp(result, "failed") == 0;
	json_t *v = json_object_get(ev, refused ? "old_ses" : "ses");
	json_int_t n = json_integer_value(v);
	return json_is_integer(v) && n > 0 && n < (json_int_t)ISC_AUDIT_ID_UNSET ? (uint32_t)n : 0;
}

static void route(json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (type == NULL || (strcmp(type, "exec") != 0 && strcmp(type, "loginuid") != 0))
		return; /* not ours: other rules, other daemons */
	uint32_t auid = isc_audit_event_auid(ev);
	struct host *h = auid == ISC_AUDIT_ID_UNSET ? NULL : host_by_auid(auid);
	if (h == NULL) {
		if (auid >= ISC_AUDIT_ID_MIN && auid <= ISC_AUDIT_ID_MAX && S.unrouted++ % 1000 == 0)
			logmsg("records for audit id %u belong to no registered host (%" PRIu64 " so far): not kept",
			       auid, S.unrouted);
		return;
	}
	/* the audit id says which container; the session says whether the
	 * record can have come from it at all (sessions.c) */
	uint32_t ses = event_session(ev, type);
	if (!isc_sessions_has(ses, auid)) {
		if (S.unattributed++ % 1000 == 0)
			logmsg("records with audit id %u of session %u (pid %" PRId64 ") come from no container: the "
			       "session was not opened by isc-runtime; not kept (%" PRIu64 " so far)",
			       auid, ses, (int64_t)json_integer_value(json_object_get(ev, "pid")), S.unattributed);
		return;
	}
	const char *name = container_name(h, auid);
	json_object_set_new(ev, "container", name ? json_string(name) : json_null());
	emit_to(h, ev);
}

static void push_batch(struct batch *b)
{
	pthread_mutex_lock(&S.qlock);
	if (S.qtail)
		S.qtail->next = b;
	else
		S.qhead = b;
	S.qtail = b;
	pthread_mutex_unlock(&S.qlock);
}

static void *reader(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	static char buf[8970 + 64] __attribute__((aligned(8)));
	size_t queued = 0;
	struct batch *cur = NULL;
	for (;;) {
		struct pollfd p[2] = { { S.rec_fd, POLLIN, 0 }, { S.stop_efd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		for (int burst = 0; burst < 4096; burst++) {
			int type;
			char *text;
			ssize_t n = isc_kaudit_recv(S.rec_fd, buf, sizeof(buf), &type, &text);
			if (n == -EAGAIN)
				break;
			if (n == -ENOBUFS) {
				__atomic_add_fetch(&S.overruns, 1, __ATOMIC_RELAXED);
				continue;
			}
			if (n < 0)
				break;
			if (type < 1000 || n == 0)
				continue; /* netlink control traffic */
			size_t need = (sizeof(struct rec_hdr) + (size_t)n + 1 + 7) & ~(size_t)7;
			if (cur && cur->used + need > BATCH_BYTES) {
				push_batch(cur);
				cur = NULL;
			}
			if (cur == NULL) {
				cur = malloc(sizeof(*cur));
				if (cur == NULL)
					abort();
				cur->next = NULL;
				cur->used = 0;
			}
			struct rec_hdr h = { type, (uint32_t)n };
			memcpy(cur->data + cur->used, &h, sizeof(h));
			memcpy(cur->data + cur->used + sizeof(h), text, (size_t)n + 1);
			cur->used += need;
			queued++;
		}
		if (cur) {
			push_batch(cur);
			cur = NULL;
		}
		/* Batch: a wakeup per record (8 per exec) costs more than the
		 * record; the socket buffer holds what arrives meanwhile.  The
		 * main thread is woken early only for a large queue. */
		if (queued >= 4096) {
			uint64_t one = 1;
			if (write(S.queue_efd, &one, sizeof(one)) < 0) {
				/* the counter only saturates; the main loop polls anyway */
			}
			queued = 0;
		}
		struct timespec nap = { 0, 2 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static void drain_queue(void)
{
	pthread_mutex_lock(&S.qlock);
	struct batch *b = S.qhead;
	S.qhead = S.qtail = NULL;
	pthread_mutex_unlock(&S.qlock);
	json_t *events = json_array();
	while (b) {
		struct batch *next = b->next;
		for (size_t off = 0; off < b->used;) {
			struct rec_hdr h;
			memcpy(&h, b->data + off, sizeof(h));
			/* sessions are opened in the kernel's order, before any
			 * event of this drain is routed */
			if (h.type == ISC_AUDIT_LOGIN)
				(void)isc_sessions_from_login(b->data + off + sizeof(h), h.len);
			isc_audit_asm_add(S.asm_, h.type, b->data + off + sizeof(h), h.len, events);
			off += (sizeof(h) + h.len + 1 + 7) & ~(size_t)7;
		}
		free(b);
		b = next;
	}
	isc_audit_asm_flush(S.asm_, now_ms(), 500, events);
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev)
		route(ev);
	json_decref(events);
}

static void check_lost(void)
{
	struct audit_status st;
	cleanup_error isc_error *e = NULL;
	if (isc_kaudit_get(S.ctl_fd, &st, &e) < 0) {
		log_error(&e, "read the kernel's lost counter");
		return;
	}
	uint64_t ov = __atomic_load_n(&S.overruns, __ATOMIC_RELAXED);
	if (st.lost != S.last_lost || ov != S.reported_overruns) {
		json_t *r = json_pack("{s:s,s:I,s:I,s:I}", "type", "lost", "count",
				      (json_int_t)(st.lost - S.last_lost), "kernel_lost", (json_int_t)st.lost,
				      "socket_overruns", (json_int_t)(ov - S.reported_overruns));
		logmsg("the kernel lost %u audit records (total %u), socket overruns %" PRIu64, st.lost - S.last_lost,
		       st.lost, ov - S.reported_overruns);
		emit_all(r);
		json_decref(r);
		S.last_lost = st.lost;
		S.reported_overruns = ov;
	}
}

static void flush_all(void)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < S.n_hosts; i++) {
		cleanup_error isc_error *e = NULL;
		isc_trail_tick(S.hosts[i].trail, now, NULL);
		struct host *h = &S.hosts[i];
		if (isc_trail_flush(h->trail, &e) < 0) {
			char b[1024];
			const char *m = isc_error_text(e, b, sizeof(b));
			/* a full disk is loud: own log and syslog (LOG_CRIT) at once,
			 * then every 10 s while it lasts; the trail records it too */
			uint64_t now_m = now_ms();
			if (!h->failing || now_m - h->fail_logged_ms >= 10000) {
				logmsg("TRAIL WRITE FAILED for %s: %s", h->root, m);
				syslog(LOG_CRIT, "isc audit trail of %s cannot be written: %s", h->root, m);
				h->fail_logged_ms = now_m;
			}
			h->failing = true;
		} else if (h->failing) {
			h->failing = false;
			logmsg("trail of %s is written again", h->root);
			syslog(LOG_CRIT, "isc audit trail of %s is written again", h->root);
		}
	}
}

/* ---- client requests ---- */

static json_t *fail_reply(int e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *fail_reply(int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = isc_xvasprintf(fmt, ap);
	va_end(ap);
	json_t *r = json_pack("{s:b,s:s,s:i}", "ok", 0, "error", m, "errno", e);
	free(m);
	return r;
}

static json_t *error_reply(isc_error **e)
{
	json_t *r = json_pack("{s:b,s:s,s:i}", "ok", 0, "error", (*e)->msg, "errno", (*e)->errnum);
	isc_error_free(e);
	return r;
}

static uint32_t read_proc_u32(pid_t pid, const char *what)
{
	cleanup_free char *p = isc_xasprintf("/proc/%d/%s", pid, what);
	cleanup_free char *s = NULL;
	uint64_t v;
	if (isc_read_file(p, &s, NULL, 64, NULL) < 0 || isc_parse_u64(s, &v) < 0)
		return ISC_AUDIT_ID_UNSET;
	return (uint32_t)v;
}

static json_t *op_register(json_t *req)
{
	const char *root = json_string_value(json_object_get(req, "root"));
	if (root == NULL || root[0] != '/')
		return fail_reply(EINVAL, "register: \"root\" must be an absolute path");
	struct host *h = host_by_root(root);
	if (h)
		return json_pack("{s:b,s:I,s:I,s:s}", "ok", 1, "base", (json_int_t)h->base, "count",
				 (json_int_t)h->count, "key", "");
	uint32_t base = free_block();
	if (base == 0)
		return fail_reply(ENOSPC, "register: all %u blocks of audit ids are taken", ISC_AUDIT_HOSTS);
	json_int_t es = json_integer_value(json_object_get(req, "epoch_seconds"));
	json_int_t rb = json_integer_value(json_object_get(req, "rotate_bytes"));
	json_int_t kf = json_integer_value(json_object_get(req, "keep_files"));
	if (es < 0 || es > 86400 || rb < 0 || kf < 0 || kf > 100000)
		return fail_reply(EINVAL, "register: epoch_seconds, rotate_bytes or keep_files out of range");
	uint32_t saved = S.epoch_seconds;
	if (es > 0)
		S.epoch_seconds = (uint32_t)es;
	S.rotate_bytes = (uint64_t)rb;
	S.keep_files = (uint32_t)kf;
	char key[ISC_TRAIL_KEY_HEX];
	cleanup_error isc_error *e = NULL;
	int r = open_host(root, base, ISC_AUDIT_RANGE, true, key, &e);
	S.epoch_seconds = saved;
	S.rotate_bytes = 0;
	S.keep_files = 0;
	if (r < 0)
		return error_reply(&e);
	h = host_by_root(root);
	json_t *rec = json_pack("{s:s,s:I,s:I}", "type", "register", "base", (json_int_t)base, "count",
				(json_int_t)ISC_AUDIT_RANGE);
	emit_to(h, rec);
	json_decref(rec);
	if (save_ranges(&e) < 0)
		log_error(&e, "save ranges");
	logmsg("registered %s: audit ids %u-%u", root, base, base + ISC_AUDIT_RANGE - 1);
	json_t *rep = json_pack("{s:b,s:I,s:I,s:s}", "ok", 1, "base", (json_int_t)base, "count",
				(json_int_t)ISC_AUDIT_RANGE, "key", key);
	explicit_bzero(key, sizeof(key));
	return rep;
}

static json_t *op_unregister(json_t *req)
{
	const char *root = json_string_value(json_object_get(req, "root"));
	struct host *h = root ? host_by_root(root) : NULL;
	if (h) {
		json_t *rec = json_pack("{s:s}", "type", "unregister");
		emit_to(h, rec);
		json_decref(rec);
		close_host(h); /* flushes */
		cleanup_error isc_error *e = NULL;
		if (save_ranges(&e) < 0)
			log_error(&e, "save ranges");
		logmsg("unregistered %s", root);
	}
	return json_pack("{s:b,s:I}", "ok", 1, "remaining", (json_int_t)S.n_hosts);
}

static json_t *op_event(json_t *req, const struct ucred *cr)
{
	json_t *rec = json_object_get(req, "record");
	const char *type = json_string_value(json_object_get(rec, "type"));
	if (!json_is_object(rec) || type == NULL ||
	    (strcmp(type, "admin") != 0 && strcmp(type, "login") != 0 && strcmp(type, "logout") != 0))
		return fail_reply(EINVAL, "event: \"record\" must be an admin, login or logout record");
	struct host *h = NULL;
	const char *root = json_string_value(json_object_get(req, "root"));
	if (root)
		h = host_by_root(root);
	else if (json_is_integer(json_object_get(req, "audit_id")))
		h = host_by_auid((uint32_t)json_integer_value(json_object_get(req, "audit_id")));
	if (h == NULL)
		return fail_reply(ENOENT, "event: %s %s is not registered with the collector",
				  root ? "host" : "audit id", root ? root : "of the container");
	json_t *r = json_deep_copy(rec);
	/* who: from the kernel, never from the request */
	json_object_set_new(r, "caller",
			    json_pack("{s:i,s:i,s:i,s:I,s:I}", "pid", (int)cr->pid, "uid", (int)cr->uid, "gid",
				      (int)cr->gid, "auid", (json_int_t)read_proc_u32(cr->pid, "loginuid"), "ses",
				      (json_int_t)read_proc_u32(cr->pid, "sessionid")));
	/* the container's name comes from its audit id, as for its exec
	 * records; what the caller called it (podman's or containerd's id) is
	 * kept as runtime_id when it differs */
	if (json_is_integer(json_object_get(r, "audit_id"))) {
		const char *n = container_name(h, (uint32_t)json_integer_value(json_object_get(r, "audit_id")));
		const char *given = json_string_value(json_object_get(r, "container"));
		if (n && given && strcmp(n, given) != 0)
			json_object_set_new(r, "runtime_id", json_string(given));
		if (n)
			json_object_set_new(r, "container", json_string(n));
	}
	emit_to(h, r);
	json_decref(r);
	cleanup_error isc_error *e = NULL;
	if (isc_trail_flush(h->trail, &e) < 0)
		return error_reply(&e); /* the caller learns the record is not on disk */
	return json_pack("{s:b,s:I}", "ok", 1, "seq", (json_int_t)isc_trail_next_seq(h->trail) - 1);
}

static json_t *op_status(void)
{
	json_t *hosts = json_array();
	for (size_t i = 0; i < S.n_hosts; i++)
		json_array_append_new(hosts, json_pack("{s:s,s:I,s:I}", "root", S.hosts[i].root, "base",
						       (json_int_t)S.hosts[i].base, "count",
						       (json_int_t)S.hosts[i].count));
	return json_pack("{s:b,s:s,s:i,s:o,s:I,s:I,s:I,s:I}", "ok", 1, "mode", S.daemon_role ? "daemon" : "multicast",
			 "pid", (int)getpid(), "hosts", hosts, "kernel_lost", (json_int_t)S.last_lost, "unrouted",
			 (json_int_t)S.unrouted, "unattributed", (json_int_t)S.unattributed, "sessions",
			 (json_int_t)isc_sessions_count());
}

static void serve_client(void)
{
	cleanup_close int fd = accept4(S.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
		return;
	json_t *rep = NULL;
	static char buf[65536];
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n = poll(&p, 1, 1000) == 1 ? recv(fd, buf, sizeof(buf), 0) : -1;
	json_t *req = n > 0 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
	const char *op = json_string_value(json_object_get(req, "op"));
	if (cr.uid != 0)
		rep = fail_reply(EACCES, "only root may talk to the audit collector");
	else if (op == NULL)
		rep = fail_reply(EINVAL, "malformed request");
	else if (strcmp(op, "register") == 0)
		rep = op_register(req);
	else if (strcmp(op, "unregister") == 0)
		rep = op_unregister(req);
	else if (strcmp(op, "event") == 0)
		rep = op_event(req, &cr);
	else if (strcmp(op, "status") == 0)
		rep = op_status();
	else if (strcmp(op, "stop") == 0) {
		S.stopping = true;
		/* answered after the state is restored: keep the connection */
		json_decref(req);
		S.stop_client = steal_fd(&fd);
		return;
	} else
		rep = fail_reply(EINVAL, "unknown op \"%s\"", op);
	json_decref(req);
	char *s = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	if (s)
		(void)send(fd, s, strlen(s), MSG_NOSIGNAL);
	free(s);
}


/* ---- start and stop ---- */

static int save_found_state(isc_error **err)
{
	cleanup_free char *p = run_path("found-state.json");
	cleanup_free char *old = NULL;
	if (isc_read_file(p, &old, NULL, 4096, NULL) == 0) {
		/* a previous collector died without restoring: what it found is
		 * what we must restore, not what it left behind */
		json_t *j = json_loads(old, 0, NULL);
		json_int_t en, fa, bl, bw;
		if (json_unpack(j, "{s:I,s:I,s:I,s:I}", "enabled", &en, "failure", &fa, "backlog_limit", &bl,
				"backlog_wait_time", &bw) == 0) {
			S.found.enabled = (uint32_t)en;
			S.found.failure = (uint32_t)fa;
			S.found.backlog_limit = (uint32_t)bl;
			S.found.backlog_wait_time = (uint32_t)bw;
			json_decref(j);
			logmsg("a previous collector did not stop cleanly: restoring what it found on stop");
			return 1;
		}
		json_decref(j);
	}
	cleanup_free char *s = isc_xasprintf("{\"enabled\": %u, \"failure\": %u, \"backlog_limit\": %u, "
					     "\"backlog_wait_time\": %u, \"pid\": %u}\n",
					     S.found.enabled, S.found.failure, S.found.backlog_limit,
					     S.found.backlog_wait_time, S.found.pid);
	cleanup_close int dfd = open(S.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", S.run_dir);
	return isc_write_file_durable(dfd, "found-state.json", s, strlen(s), 0600, err);
}

static int setup_kernel(isc_error **err)
{
	S.ctl_fd = isc_kaudit_open(false, err);
	if (S.ctl_fd < 0)
		return -1;
	struct audit_status cur;
	if (isc_kaudit_get(S.ctl_fd, &cur, err) < 0)
		return -1;
	S.found = cur;
	if (cur.enabled == 2)
		return isc_error_set(err, EPERM, "the audit configuration is locked (enabled=2): rules cannot be added");
	int prev = save_found_state(err);
	if (prev < 0)
		return -1;
	S.last_lost = cur.lost;
	/* the daemon role where none is registered */
	S.rec_fd = isc_kaudit_open(false, err);
	if (S.rec_fd < 0)
		return -1;
	struct audit_status set = { .mask = AUDIT_STATUS_PID | AUDIT_STATUS_ENABLED, .enabled = 1,
				    .pid = (uint32_t)getpid() };
	cleanup_error isc_error *e = NULL;
	if (isc_kaudit_set(S.rec_fd, &set, &e) == 0) {
		S.daemon_role = true;
		/* a large buffer, a bounded backlog and a short, deliberate wait:
		 * the default wait (60 s per record) would stall every audited
		 * exec on the machine if we ever fell behind */
		struct audit_status bl = { .mask = AUDIT_STATUS_BACKLOG_LIMIT | AUDIT_STATUS_BACKLOG_WAIT_TIME,
					   .backlog_limit = BACKLOG_LIMIT,
					   .backlog_wait_time = (uint32_t)S.backlog_wait };
		if (isc_kaudit_set(S.ctl_fd, &bl, err) < 0)
			return -1;
	} else if (e->errnum == EEXIST) {
		isc_error_free(&e);
		close(S.rec_fd);
		S.rec_fd = isc_kaudit_open(true, err);
		if (S.rec_fd < 0)
			return -1;
		if (!cur.enabled) {
			struct audit_status en = { .mask = AUDIT_STATUS_ENABLED, .enabled = 1 };
			if (isc_kaudit_set(S.ctl_fd, &en, err) < 0)
				return -1;
		}
		logmsg("another audit daemon (pid %u) is registered: reading the multicast group", cur.pid);
	} else {
		isc_error_move(err, &e);
		return isc_error_wrap(err, "become the audit daemon");
	}
	int sz = RCVBUF;
	if (setsockopt(S.rec_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0 &&
	    setsockopt(S.rec_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0)
		return isc_error_set(err, errno, "SO_RCVBUFFORCE on the audit socket");
	int fl = fcntl(S.rec_fd, F_GETFL);
	if (fl < 0 || fcntl(S.rec_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return isc_error_set(err, errno, "O_NONBLOCK on the audit socket");
	if (isc_kaudit_rules(S.ctl_fd, true, err) < 0)
		return -1;
	return 0;
}

static void restore_kernel(void)
{
	cleanup_error isc_error *e = NULL;
	if (S.ctl_fd < 0)
		return;
	if (isc_kaudit_rules(S.ctl_fd, false, &e) < 0)
		log_error(&e, "restore: delete the rules");
	struct audit_status st = { .mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_FAILURE, .enabled = S.found.enabled,
				   .failure = S.found.failure };
	if (S.daemon_role) {
		st.mask |= AUDIT_STATUS_BACKLOG_LIMIT | AUDIT_STATUS_BACKLOG_WAIT_TIME;
		st.backlog_limit = S.found.backlog_limit;
		st.backlog_wait_time = S.found.backlog_wait_time;
	}
	if (isc_kaudit_set(S.ctl_fd, &st, &e) < 0)
		log_error(&e, "restore: the audit status");
	if (S.daemon_role) {
		struct audit_status p = { .mask = AUDIT_STATUS_PID, .pid = 0 };
		if (isc_kaudit_set(S.rec_fd, &p, &e) < 0)
			isc_error_free(&e); /* closing the socket unregisters too */
	}
	cleanup_free char *fp = run_path("found-state.json");
	unlink(fp);
}

static int setup_listen(isc_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/collector.sock", S.run_dir);
	if ((size_t)n >= sizeof(sa.sun_path))
		return isc_error_set(err, ENAMETOOLONG, "%s/collector.sock", S.run_dir);
	S.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (S.listen_fd < 0)
		return isc_error_set(err, errno, "socket");
	unlink(sa.sun_path);
	mode_t old = umask(0177);
	int r = bind(S.listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(S.listen_fd, 64) < 0)
		return isc_error_set(err, errno, "listen %s", sa.sun_path);
	return 0;
}

static void load_hosts(bool clean)
{
	cleanup_free char *p = run_path("ranges.json");
	json_t *j = json_load_file(p, 0, NULL);
	json_t *a = json_object_get(j, "ranges"), *v;
	size_t i;
	json_array_foreach(a, i, v) {
		const char *root = NULL;
		json_int_t base = 0, count = 0;
		if (json_unpack(v, "{s:s,s:I,s:I}", "root", &root, "base", &base, "count", &count) < 0)
			continue;
		if (!block_ok(base, count)) {
			/* a block from before the range moved (audit-id.h): a new
			 * one; the host's services get new ids at their next start */
			uint32_t nb = free_block();
			logmsg("%s had audit ids %lld-%lld, outside the container range %u-%u: %s %u-%u", root,
			       (long long)base, (long long)base + (long long)count - 1, ISC_AUDIT_ID_MIN, ISC_AUDIT_ID_MAX,
			       nb ? "now" : "no block free, given up; it was", nb, nb + ISC_AUDIT_RANGE - 1);
			if (nb == 0)
				continue;
			base = nb;
			count = ISC_AUDIT_RANGE;
		}
		cleanup_error isc_error *e = NULL;
		if (open_host(root, (uint32_t)base, (uint32_t)count, false, NULL, &e) < 0) {
			log_error(&e, "reopen a registered host; its range is given up");
			continue;
		}
	}
	json_decref(j);
	/* a restart leaves a gap record: nothing was collected while no
	 * collector ran, and the kernel's lost counter says what it dropped */
	json_t *gap = json_pack("{s:s,s:s,s:I,s:s}", "type", "gap", "previous_stop", clean ? "clean" : "unclean",
				"kernel_lost", (json_int_t)S.found.lost, "reason",
				"collector started: records of execs while no collector ran are not in the trail");
	emit_all(gap);
	json_decref(gap);
	cleanup_error isc_error *e = NULL;
	if (save_ranges(&e) < 0)
		log_error(&e, "save ranges");
}

static void stop_all(void)
{
	uint64_t one = 1;
	if (write(S.stop_efd, &one, sizeof(one)) < 0) {
		/* the reader also stops when its socket closes */
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: isc-auditd [--run-dir DIR] [--daemon] [--backlog-wait JIFFIES] [--epoch-seconds N] "
		   "[--no-syslog]\n       isc-auditd --stop | --status [--run-dir DIR]\n"
		   "\n"
		   "The machine's audit collector: kernel audit records of containers to the trail of\n"
		   "the ISC host that owns them (isc init starts it; isc deinit of the last host stops it).\n"
		   "\n"
		   "  --run-dir DIR           machine-wide state and the client socket (default /run/isc/audit)\n"
		   "  --daemon                detach once the collector serves its socket\n"
		   "  --backlog-wait JIFFIES  the kernel's backlog_wait_time while collecting\n"
		   "  --epoch-seconds N       sealing epoch of trails created without one\n"
		   "  --no-syslog             do not copy records to syslog\n"
		   "  --stop                  stop the running collector (it restores the audit state)\n"
		   "  --status                print the collector's state as JSON\n"
		   "\n"
		   "See isc-auditd(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },   { "daemon", no_argument, NULL, 'd' },
		{ "stop", no_argument, NULL, 's' },            { "status", no_argument, NULL, 'S' },
		{ "backlog-wait", required_argument, NULL, 'w' }, { "epoch-seconds", required_argument, NULL, 'e' },
		{ "no-syslog", no_argument, NULL, 'n' },       { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool daemonize = false, stop = false, status = false;
	S.use_syslog = true;
	S.backlog_wait = 10; /* jiffies: 40 ms at HZ=250 */
	S.epoch_seconds = 900;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case 'r':
			S.run_dir = optarg;
			break;
		case 'd':
			daemonize = true;
			break;
		case 's':
			stop = true;
			break;
		case 'S':
			status = true;
			break;
		case 'n':
			S.use_syslog = false;
			break;
		case 'w':
			if (isc_parse_u64(optarg, &v) < 0 || v > 60000) {
				fprintf(stderr, "isc-auditd: --backlog-wait %s: jiffies 0-60000 expected\n", optarg);
				return 2;
			}
			S.backlog_wait = (int)v;
			break;
		case 'e':
			if (isc_parse_u64(optarg, &v) < 0 || v == 0 || v > 86400 * 7) {
				fprintf(stderr, "isc-auditd: --epoch-seconds %s: 1-604800 expected\n", optarg);
				return 2;
			}
			S.epoch_seconds = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (S.run_dir == NULL)
		S.run_dir = isc_audit_run_dir();
	else
		setenv("ISC_AUDIT_RUN_DIR", S.run_dir, 1);
	cleanup_error isc_error *err = NULL;
	cleanup_free char *pidp = NULL, *pids = NULL, *sockp = NULL;
	pthread_t th;
	char ebuf[1024];
	if (stop || status) {
		json_t *req = json_pack("{s:s}", "op", stop ? "stop" : "status"), *rep = NULL;
		int r = isc_audit_request(req, &rep, &err);
		json_decref(req);
		if (r < 0) {
			fprintf(stderr, "isc-auditd: %s\n", isc_error_text(err, ebuf, sizeof(ebuf)));
			return 1;
		}
		if (status) {
			json_dumpf(rep, stdout, JSON_INDENT(2));
			putchar('\n');
		}
		json_decref(rep);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "isc-auditd: must run as root\n");
		return 1;
	}
	if (isc_mkdir_p(S.run_dir, 0700, &err) < 0) {
		fprintf(stderr, "isc-auditd: %s\n", isc_error_text(err, ebuf, sizeof(ebuf)));
		return 1;
	}
	if (daemonize) {
		int pfd[2];
		if (pipe2(pfd, O_CLOEXEC) < 0)
			return 1;
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0) {
			close(pfd[1]);
			char msg[1024];
			ssize_t n = read(pfd[0], msg, sizeof(msg) - 1);
			if (n == 1 && msg[0] == 0)
				return 0;
			if (n > 0) {
				msg[n] = 0;
				fprintf(stderr, "isc-auditd: %s\n", msg);
			} else {
				fprintf(stderr, "isc-auditd: the collector exited before it was ready (see %s/auditd.log)\n",
					S.run_dir);
			}
			return 1;
		}
		close(pfd[0]);
		S.ready_fd = pfd[1];
		setsid();
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			close(nul);
		}
	}
	cleanup_free char *logp = run_path("auditd.log");
	S.log = fopen(logp, "ae");
	if (S.log && daemonize)
		dup2(fileno(S.log), 2);
	/* one collector per machine (per run dir) */
	cleanup_free char *lockp = run_path("collector.lock");
	cleanup_close int lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		isc_error_set(&err, errno, "another isc-auditd runs (lock %s)", lockp);
		close(steal_fd(&lockfd)); /* its pid file is not ours to remove */
		goto fail;
	}
	pidp = run_path("collector.pid");
	bool clean = access(pidp, F_OK) != 0;
	pids = isc_xasprintf("%d\n", (int)getpid());
	{
		if (S.run_dir == NULL) {
			isc_error_set(&err, EINVAL, "no run directory");
			goto fail;
		}
		cleanup_close int dfd = open(S.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || isc_write_file_atomic(dfd, "collector.pid", pids, strlen(pids), 0600, &err) < 0)
			goto fail;
	}
	if (S.use_syslog) {
		struct stat sb;
		openlog("isc-auditd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
		if (stat("/dev/log", &sb) < 0 || !S_ISSOCK(sb.st_mode))
			logmsg("no syslog socket (/dev/log): audit records are not delivered to syslog");
	}
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	S.stop_efd = eventfd(0, EFD_CLOEXEC);
	S.queue_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	S.asm_ = isc_audit_asm_new();
	if (sfd < 0 || S.stop_efd < 0 || S.queue_efd < 0) {
		isc_error_set(&err, errno, "signalfd/eventfd");
		goto fail;
	}
	if (setup_kernel(&err) < 0) {
		restore_kernel();
		goto fail;
	}
	load_hosts(clean);
	if (isc_sessions_init(S.run_dir, &err) < 0) {
		restore_kernel();
		goto fail;
	}
	flush_all();
	if (setup_listen(&err) < 0) {
		restore_kernel();
		goto fail;
	}
	if (pthread_create(&th, NULL, reader, NULL) != 0) {
		isc_error_set(&err, EAGAIN, "start the reader thread");
		restore_kernel();
		goto fail;
	}
	logmsg("collecting as %s (pid %d); %zu hosts registered", S.daemon_role ? "the audit daemon" : "a multicast reader",
	       (int)getpid(), S.n_hosts);
	if (S.ready_fd >= 0) {
		char z = 0;
		if (write(S.ready_fd, &z, 1) < 0) {
			/* the parent is gone: nothing to tell */
		}
		close(S.ready_fd);
		S.ready_fd = -1;
	}
	uint64_t last_flush = now_ms(), last_lost = 0;
	while (!S.stopping) {
		struct pollfd p[3] = { { S.listen_fd, POLLIN, 0 }, { S.queue_efd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		int r = poll(p, 3, FLUSH_MS / 5);
		if (r < 0 && errno != EINTR)
			break;
		if (p[2].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP)
				S.stopping = true;
		}
		if (p[1].revents) {
			uint64_t v;
			if (read(S.queue_efd, &v, sizeof(v)) < 0) {
				/* nonblocking: nothing to reset */
			}
		}
		drain_queue();
		uint64_t now = now_ms();
		size_t pending = 0;
		for (size_t i = 0; i < S.n_hosts; i++)
			pending += isc_trail_pending(S.hosts[i].trail);
		if (now - last_lost >= 1000) {
			check_lost();
			last_lost = now;
		}
		if (now - last_flush >= FLUSH_MS || pending >= FLUSH_RECORDS) {
			flush_all();
			isc_sessions_tick();
			last_flush = now;
		}
		if (p[0].revents)
			serve_client();
	}
	/* stop: the reader first, then the last records, then the kernel */
	stop_all();
	pthread_join(th, NULL);
	usleep(50000);
	{
		/* what arrived after the reader stopped */
		static char buf[8970 + 64] __attribute__((aligned(8)));
		json_t *events = json_array();
		int type;
		char *text;
		ssize_t n;
		while ((n = isc_kaudit_recv(S.rec_fd, buf, sizeof(buf), &type, &text)) >= 0 || n == -ENOBUFS)
			if (n > 0 && type >= 1000)
				isc_audit_asm_add(S.asm_, type, text, (size_t)n, events);
		json_decref(events);
	}
	drain_queue();
	{
		json_t *events = json_array();
		isc_audit_asm_flush(S.asm_, 0, 0, events);
		size_t i;
		json_t *ev;
		json_array_foreach(events, i, ev)
			route(ev);
		json_decref(events);
	}
	check_lost();
	restore_kernel();
	json_t *bye = json_pack("{s:s}", "type", "collector-stop");
	emit_all(bye);
	json_decref(bye);
	flush_all();
	while (S.n_hosts > 0) {
		isc_trail_close(S.hosts[S.n_hosts - 1].trail);
		free(S.hosts[S.n_hosts - 1].root);
		json_decref(S.hosts[S.n_hosts - 1].names);
		S.n_hosts--;
	}
	sockp = run_path("collector.sock");
	unlink(sockp);
	unlink(pidp);
	close(S.rec_fd);
	close(S.ctl_fd);
	logmsg("stopped; the audit state found at start is restored");
	/* free the run dir for a next collector before saying we are done */
	close(steal_fd(&lockfd));
	if (S.stop_client >= 0) {
		const char *ok = "{\"ok\":true}";
		(void)send(S.stop_client, ok, strlen(ok), MSG_NOSIGNAL);
		close(S.stop_client);
	}
	isc_audit_asm_free(S.asm_);
	isc_sessions_free();
	return 0;
fail:
	logmsg("cannot start: %s", isc_error_text(err, ebuf, sizeof(ebuf)));
	if (S.ready_fd >= 0) {
		const char *m = isc_error_text(err, ebuf, sizeof(ebuf));
		if (write(S.ready_fd, m, strlen(m)) < 0) {
			/* the parent is gone */
		}
	} else {
		fprintf(stderr, "isc-auditd: %s\n", isc_error_text(err, ebuf, sizeof(ebuf)));
	}
	{
		cleanup_free char *pp = run_path("collector.pid");
		if (lockfd >= 0)
			unlink(pp);
	}
	return 1;
}
