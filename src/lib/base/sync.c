/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "base/sync.h"
#include "base/util.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define ISC_SYNC_MAX_PAYLOAD 4096

int isc_sync_send(int fd, enum isc_sync_type type, int32_t value, const void *payload, size_t len, isc_error **err)
{
	if (len > ISC_SYNC_MAX_PAYLOAD)
		len = ISC_SYNC_MAX_PAYLOAD;
	char buf[sizeof(struct isc_sync_msg) + ISC_SYNC_MAX_PAYLOAD];
	struct isc_sync_msg h = { .type = type, .value = value, .len = (uint32_t)len };
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	/* SOCK_SEQPACKET: one message, one send */
	for (;;) {
		ssize_t n = send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return isc_error_set(err, errno, "sync socket: send");
	}
}

void isc_sync_send_error(int fd, const isc_error *e)
{
	const char *msg = e && e->msg ? e->msg : "unknown error";
	/* a message longer than one datagram: cut in its middle at character
	 * boundaries with a marker (isc_text_fit), so that its end (the first
	 * failure's step and path) arrives; the errno travels in `value` */
	char fit[ISC_SYNC_MAX_PAYLOAD + 1];
	isc_text_fit(fit, sizeof(fit), msg, strlen(msg));
	(void)isc_sync_send(fd, ISC_SYNC_ERROR, e ? e->errnum : 0, fit, strlen(fit), NULL);
}

int isc_sync_recv(int fd, enum isc_sync_type expect, int32_t *value, isc_error **err)
{
	char buf[sizeof(struct isc_sync_msg) + ISC_SYNC_MAX_PAYLOAD + 1];
	ssize_t n;
	int resets = 0;
	/* ECONNRESET: the peer exited with a message of ours unread; what it
	 * sent before it went (its error) is still queued behind that report */
	do
		n = recv(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ == 0)));
	if (n < 0)
		return isc_error_set(err, errno, "sync socket: receive");
	if (n == 0)
		return isc_error_set(err, 0, "container init exited unexpectedly");
	if ((size_t)n < sizeof(struct isc_sync_msg))
		return isc_error_set(err, EPROTO, "sync socket: short message");
	struct isc_sync_msg h;
	memcpy(&h, buf, sizeof(h));
	if (h.len > (size_t)n - sizeof(h))
		return isc_error_set(err, EPROTO, "sync socket: truncated message");
	if (h.type == ISC_SYNC_ERROR) {
		buf[sizeof(h) + h.len] = '\0';
		return isc_error_set(err, h.value, "%s", buf + sizeof(h));
	}
	if (expect != 0 && h.type != (uint32_t)expect)
		return isc_error_set(err, EPROTO, "sync socket: unexpected message %u (wanted %u)", h.type,
				     (unsigned)expect);
	if (value)
		*value = h.value;
	return (int)h.type;
}

int isc_sync_recv_within(int fd, enum isc_sync_type expect, int32_t *value, int timeout_ms, const char *what,
			 isc_error **err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = isc_poll_within(&p, 1, timeout_ms);
	if (r < 0)
		return isc_error_set(err, errno, "sync socket: wait for %s", what);
	if (r == 0)
		return isc_error_set(err, 0,
				     "sync socket: no message from the container init within %d s (waited for %s)",
				     (timeout_ms + 999) / 1000, what);
	return isc_sync_recv(fd, expect, value, err);
}
