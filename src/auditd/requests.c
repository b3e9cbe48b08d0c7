/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-auditd: the requests of its clients on RUN/collector.sock (register,
 * unregister, event, status, stop), root only (SO_PEERCRED). */
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
		json_array_append_new(hosts,
				      json_pack("{s:s,s:I,s:I}", "root", S.hosts[i].root, "base",
						(json_int_t)S.hosts[i].base, "count", (json_int_t)S.hosts[i].count));
	return json_pack("{s:b,s:s,s:i,s:o,s:I,s:I,s:I,s:I}", "ok", 1, "mode", S.daemon_role ? "daemon" : "multicast",
			 "pid", (int)getpid(), "hosts", hosts, "kernel_lost", (json_int_t)S.last_lost, "unrouted",
			 (json_int_t)S.unrouted, "unattributed", (json_int_t)S.unattributed, "sessions",
			 (json_int_t)isc_sessions_count());
}

void serve_client(void)
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
