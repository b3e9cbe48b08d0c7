/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-auditd: the kernel's records.  The reader thread only reads the
 * netlink socket into batches; the main thread assembles the events,
 * routes each to the trail of the host whose range holds its auid (when
 * its session is a container's: sessions.c), and flushes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
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

void route(json_t *ev)
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

void *reader(void *arg)
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

void drain_queue(void)
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

void check_lost(void)
{
	struct audit_status st;
	cleanup_error isc_error *e = NULL;
	if (isc_kaudit_get(S.ctl_fd, &st, &e) < 0) {
		log_error(&e, "read the kernel's lost counter");
		return;
	}
	uint64_t ov = __atomic_load_n(&S.overruns, __ATOMIC_RELAXED);
	if (st.lost != S.last_lost || ov != S.reported_overruns) {
		json_t *r = json_pack("{s:s,s:I,s:I,s:I}", "type", "lost", "count", (json_int_t)(st.lost - S.last_lost),
				      "kernel_lost", (json_int_t)st.lost, "socket_overruns",
				      (json_int_t)(ov - S.reported_overruns));
		logmsg("the kernel lost %u audit records (total %u), socket overruns %" PRIu64, st.lost - S.last_lost,
		       st.lost, ov - S.reported_overruns);
		emit_all(r);
		json_decref(r);
		S.last_lost = st.lost;
		S.reported_overruns = ov;
	}
}

void flush_all(void)
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
