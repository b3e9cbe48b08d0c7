/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "base/error.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static isc_error oom_error = { ENOMEM, (char *)"out of memory" };

int isc_error_setv(isc_error **err, int errnum, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -1;
	isc_error_free(err);
	isc_error *e = calloc(1, sizeof(*e));
	if (e == NULL || vasprintf(&e->msg, fmt, ap) < 0) {
		free(e);
		*err = &oom_error;
		return -1;
	}
	e->errnum = errnum;
	*err = e;
	return -1;
}

int(isc_error_set)(isc_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	isc_error_setv(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int(isc_error_wrap)(isc_error **err, const char *fmt, ...)
{
	char *ctx = NULL, *joined = NULL;
	va_list ap;

	if (err == NULL)
		return -1;
	if (*err == NULL)
		return isc_error_set(err, EIO, "internal error: failure without an error");
	if (*err == &oom_error)
		return -1;
	va_start(ap, fmt);
	int r = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	if (asprintf(&joined, "%s: %s", ctx, (*err)->msg) < 0) {
		free(ctx);
		return -1;
	}
	free(ctx);
	free((*err)->msg);
	(*err)->msg = joined;
	return -1;
}

static bool utf8_cont(char c)
{
	return ((unsigned char)c & 0xC0) == 0x80;
}

char *isc_text_fit(char *out, size_t size, const char *s, size_t len)
{
	if (size == 0)
		return out;
	if (len < size) {
		memcpy(out, s, len);
		out[len] = '\0';
		return out;
	}
	char marker[64];
	int m = snprintf(marker, sizeof(marker), " [... %zu bytes cut ...] ", len);
	if (m < 0 || (size_t)m + 16 >= size) {
		/* no room for a marker: the head, at a character boundary */
		size_t h = size - 1;
		while (h > 0 && utf8_cont(s[h]))
			h--;
		memcpy(out, s, h);
		out[h] = '\0';
		return out;
	}
	size_t room = size - 1 - (size_t)m;
	size_t head = room / 3, tail_start = len - (room - head);
	while (head > 0 && utf8_cont(s[head]))
		head--; /* s[head] starts a character: the head ends before it */
	while (tail_start < len && utf8_cont(s[tail_start]))
		tail_start++;
	/* the marker counts what is really cut */
	m = snprintf(marker, sizeof(marker), " [... %zu bytes cut ...] ", tail_start - head);
	size_t n = 0;
	memcpy(out, s, head);
	n += head;
	memcpy(out + n, marker, (size_t)m);
	n += (size_t)m;
	memcpy(out + n, s + tail_start, len - tail_start);
	n += len - tail_start;
	out[n] = '\0';
	return out;
}

const char *isc_error_text(const isc_error *e, char *buf, unsigned long len)
{
	if (e == NULL)
		return "unknown error";
	char eb[128];
	const char *why = e->errnum != 0 ? strerror_r(e->errnum, eb, sizeof(eb)) : NULL;
	int n = why ? snprintf(buf, len, "%s: %s", e->msg, why) : snprintf(buf, len, "%s", e->msg);
	if (n < 0 || (unsigned long)n < len)
		return buf;
	/* too long for buf: cut in the middle, the errno text stays */
	char *full = NULL;
	if ((why ? asprintf(&full, "%s: %s", e->msg, why) : asprintf(&full, "%s", e->msg)) < 0)
		return buf;
	isc_text_fit(buf, len, full, strlen(full));
	free(full);
	return buf;
}

void isc_error_free(isc_error **err)
{
	if (err == NULL || *err == NULL)
		return;
	if (*err != &oom_error) {
		free((*err)->msg);
		free(*err);
	}
	*err = NULL;
}

void isc_error_move(isc_error **to, isc_error **from)
{
	isc_error_free(to);
	*to = *from;
	*from = NULL;
}
