/* SPDX-License-Identifier: GPL-2.0-or-later
 * The control protocol (ctl.h): both sides. */
#include "iscd/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/util.h"

static int socket_addr(const char *root, struct sockaddr_un *sa, isc_error **err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", root, ISC_CTL_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return isc_error_set(err, ENAMETOOLONG, "control socket path %s/%s is too long", root, ISC_CTL_SOCKET);
	return 0;
}

int isc_ctl_send(int fd, json_t *msg, isc_error **err)
{
	cleanup_free char *text = json_dumps(msg, JSON_COMPACT);
	if (text == NULL)
		return isc_error_set(err, ENOMEM, "control message: cannot encode");
	size_t len = strlen(text);
	if (len > ISC_CTL_MAX_MSG)
		return isc_error_set(err, EMSGSIZE, "control message of %zu bytes is over the limit", len);
	ssize_t w;
	do
		w = send(fd, text, len, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return isc_error_set(err, errno, "control socket: send");
	return 0;
}

int isc_ctl_recv(int fd, json_t **msg, isc_error **err)
{
	*msg = NULL;
	cleanup_free char *buf = malloc(ISC_CTL_MAX_MSG + 1);
	if (buf == NULL)
		return isc_error_set(err, ENOMEM, "control socket: receive buffer");
	struct iovec iov = { .iov_base = buf, .iov_len = ISC_CTL_MAX_MSG + 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;
	do
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return isc_error_set(err, errno, "control socket: receive");
	if (r == 0)
		return 0;
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)r > ISC_CTL_MAX_MSG)
		return isc_error_set(err, EMSGSIZE, "control message over %u bytes", ISC_CTL_MAX_MSG);
	json_error_t jerr;
	json_t *j = json_loadb(buf, (size_t)r, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return isc_error_set(err, EPROTO, "control message is not JSON: %s", jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return isc_error_set(err, EPROTO, "control message is not a JSON object");
	}
	*msg = j;
	return 0;
}

int isc_ctl_send_request(const char *root, json_t *req, isc_error **err)
{
	struct sockaddr_un sa;
	if (socket_addr(root, &sa, err) < 0)
		return -1;
	cleanup_close int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return isc_error_set(err, errno, "control socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ECONNREFUSED || errno == ENOENT)
			return isc_error_set(err, errno, "iscd is not running for %s (isc init)", root);
		return isc_error_set(err, errno, "connect to %s", sa.sun_path);
	}
	if (isc_ctl_send(fd, req, err) < 0)
		return -1;
	return steal_fd(&fd);
}

int isc_ctl_finish(int fd, json_t **reply, isc_error **err)
{
	*reply = NULL;
	json_t *r = NULL;
	if (isc_ctl_recv(fd, &r, err) < 0)
		return isc_error_wrap(err, "iscd");
	if (r == NULL)
		return isc_error_set(err, ECONNRESET, "iscd closed the connection without a reply");
	json_t *ok = json_object_get(r, "ok");
	if (!json_is_true(ok)) {
		json_t *e = json_object_get(r, "errno");
		json_t *m = json_object_get(r, "error");
		int errnum = json_is_integer(e) ? (int)json_integer_value(e) : 0;
		isc_error_set(err, errnum, "%s", json_is_string(m) ? json_string_value(m) : "iscd refused the request");
		json_decref(r);
		return -1;
	}
	*reply = r;
	return 0;
}

int isc_ctl_call(const char *root, json_t *req, json_t **reply, isc_error **err)
{
	cleanup_close int fd = isc_ctl_send_request(root, req, err);
	if (fd < 0)
		return -1;
	return isc_ctl_finish(fd, reply, err);
}

/* ---- server side ---------------------------------------------------------------- */

int isc_ctl_listen(const char *root, isc_error **err)
{
	struct sockaddr_un sa;
	if (socket_addr(root, &sa, err) < 0)
		return -1;
	cleanup_close int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return isc_error_set(err, errno, "control socket");
	if (unlink(sa.sun_path) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "remove the stale %s", sa.sun_path);
	/* The socket is created 0600 from the start (umask while binding), so
	 * there is no window in which another user could connect. */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (r < 0)
		return isc_error_set(err, e, "bind %s", sa.sun_path);
	if (chmod(sa.sun_path, 0600) < 0)
		return isc_error_set(err, errno, "chmod %s", sa.sun_path);
	if (listen(fd, 64) < 0)
		return isc_error_set(err, errno, "listen on %s", sa.sun_path);
	return steal_fd(&fd);
}

json_t *isc_ctl_error_reply(const isc_error *e)
{
	return json_pack("{s:b, s:i, s:s}", "ok", 0, "errno", e ? e->errnum : EIO, "error",
			 e && e->msg ? e->msg : "unknown error");
}

json_t *isc_ctl_ok_reply(json_t *extra)
{
	json_t *r = extra ? extra : json_object();
	json_object_set_new(r, "ok", json_true());
	return r;
}

int isc_ctl_accept(int lfd, isc_error **err)
{
	cleanup_close int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "control socket: accept");
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return isc_error_set(err, errno, "control socket: SO_PEERCRED");
	/* Only root may drive iscd: every op starts or changes containers. */
	if (cred.uid != 0) {
		isc_error_set(err, EPERM, "control socket: refused uid %u (pid %d): only root may use iscd",
			      (unsigned)cred.uid, (int)cred.pid);
		/* read (and drop) the request first, so that the peer gets the
		 * refusal rather than a reset connection */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char drop[256];
		if (poll(&p, 1, 1000) > 0)
			(void)!recv(fd, drop, sizeof(drop), MSG_DONTWAIT | MSG_TRUNC);
		json_t *r = isc_ctl_error_reply(*err);
		isc_error *ignored = NULL;
		isc_ctl_send(fd, r, &ignored);
		isc_error_free(&ignored);
		json_decref(r);
		return -1;
	}
	return steal_fd(&fd);
}
