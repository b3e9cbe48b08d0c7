/* SPDX-License-Identifier: GPL-2.0-or-later
 * The collector's clients, session side (audit-client.h): the transport and the
 * session records every program may write; the host side is collector.c. */
#include "audit/audit-client.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit/audit-id.h"
#include "base/util.h"

#define REPLY_MAX 65536

const char *isc_audit_run_dir(void)
{
	const char *e = getenv("ISC_AUDIT_RUN_DIR");
	return e && e[0] == '/' ? e : ISC_AUDIT_RUN_DIR;
}

int isc_audit_request(json_t *req, json_t **reply, isc_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/collector.sock", isc_audit_run_dir());
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return isc_error_set(err, ENAMETOOLONG, "audit collector socket %s/collector.sock",
				     isc_audit_run_dir());
	cleanup_close int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return isc_error_set(err, errno, "socket AF_UNIX");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return isc_error_set(err, errno, "isc-auditd is not running (connect %s)", sa.sun_path);
		return isc_error_set(err, errno, "connect %s", sa.sun_path);
	}
	cleanup_free char *s = json_dumps(req, JSON_COMPACT);
	if (s == NULL || strlen(s) >= REPLY_MAX)
		return isc_error_set(err, EMSGSIZE, "audit request too large");
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
		return isc_error_set(err, errno, "send to isc-auditd (%s)", sa.sun_path);
	struct pollfd p = { fd, POLLIN, 0 };
	int r = poll(&p, 1, 30000);
	if (r <= 0)
		return isc_error_set(err, r == 0 ? ETIMEDOUT : errno, "isc-auditd does not answer (%s)", sa.sun_path);
	cleanup_free char *buf = isc_xmalloc0(REPLY_MAX + 1);
	ssize_t got = recv(fd, buf, REPLY_MAX, 0);
	if (got < 0)
		return isc_error_set(err, errno, "receive from isc-auditd");
	if (got == 0)
		return isc_error_set(err, ECONNRESET, "isc-auditd closed the connection without an answer");
	json_t *j = json_loadb(buf, (size_t)got, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return isc_error_set(err, EPROTO, "isc-auditd: malformed answer");
	}
	if (!json_is_true(json_object_get(j, "ok"))) {
		const char *m = json_string_value(json_object_get(j, "error"));
		int e = (int)json_integer_value(json_object_get(j, "errno"));
		isc_error_set(err, e, "isc-auditd: %s", m ? m : "request refused");
		json_decref(j);
		return -1;
	}
	if (reply)
		*reply = j;
	else
		json_decref(j);
	return 0;
}

/* ---- records ---- */

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++) {
		json_t *s = json_string(v[i]);
		json_array_append_new(a, s ? s : json_string("(not UTF-8)"));
	}
	return a;
}

static int send_event(const char *root, uint32_t audit_id, json_t *rec, isc_error **err)
{
	const char *sudo = getenv("SUDO_USER");
	if (sudo && *sudo)
		json_object_set_new(rec, "sudo_user", json_string(sudo)); /* extra text, never the identity */
	json_t *req = json_pack("{s:s,s:o}", "op", "event", "record", rec);
	if (root) {
		char real[PATH_MAX];
		json_object_set_new(req, "root", json_string(realpath(root, real) ? real : root));
	} else {
		json_object_set_new(req, "audit_id", json_integer(audit_id));
	}
	int r = isc_audit_request(req, NULL, err);
	json_decref(req);
	return r;
}

int isc_audit_admin(const char *root, const char *action, const char *object, char *const *args, int result,
		    const char *error, isc_error **err)
{
	json_t *rec = json_pack("{s:s,s:s,s:s}", "type", "admin", "action", action, "result",
				result == 0 ? "success" : "failed");
	if (object)
		json_object_set_new(rec, "object", json_string(object));
	if (args)
		json_object_set_new(rec, "args", strv_json(args));
	if (result != 0) {
		json_object_set_new(rec, "errno", json_integer(result));
		if (error)
			json_object_set_new(rec, "error", json_string(error));
	}
	if (send_event(root, 0, rec, err) < 0)
		return isc_error_wrap(err, "audit record for %s", action);
	return 0;
}

int isc_audit_login(const char *root, uint32_t audit_id, const char *container, char *const *argv, const char *tty,
		    char **session, isc_error **err)
{
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return isc_error_set(err, errno, "getrandom");
	char id[17];
	for (int i = 0; i < 8; i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	json_t *rec = json_pack("{s:s,s:s,s:o}", "type", "login", "session", id, "argv", strv_json(argv));
	if (container)
		json_object_set_new(rec, "container", json_string(container));
	if (audit_id)
		json_object_set_new(rec, "audit_id", json_integer(audit_id));
	json_object_set_new(rec, "tty", tty ? json_string(tty) : json_null());
	if (send_event(root, audit_id, rec, err) < 0)
		return isc_error_wrap(err, "audit login record");
	*session = isc_xstrdup(id);
	return 0;
}

int isc_audit_logout(const char *root, uint32_t audit_id, const char *container, const char *session, int status,
		     uint64_t duration_ms, isc_error **err)
{
	json_t *rec = json_pack("{s:s,s:s,s:i,s:I}", "type", "logout", "session", session ? session : "", "status",
				status, "duration_ms", (json_int_t)duration_ms);
	if (container)
		json_object_set_new(rec, "container", json_string(container));
	if (audit_id)
		json_object_set_new(rec, "audit_id", json_integer(audit_id));
	if (send_event(root, audit_id, rec, err) < 0)
		return isc_error_wrap(err, "audit logout record");
	return 0;
}
