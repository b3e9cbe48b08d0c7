/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "base/error.h"

#include <errno.h>
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

int (isc_error_set)(isc_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	isc_error_setv(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int (isc_error_wrap)(isc_error **err, const char *fmt, ...)
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

const char *isc_error_text(const isc_error *e, char *buf, unsigned long len)
{
	if (e == NULL)
		return "unknown error";
	if (e->errnum == 0) {
		snprintf(buf, len, "%s", e->msg);
	} else {
		char eb[128];
		snprintf(buf, len, "%s: %s", e->msg, strerror_r(e->errnum, eb, sizeof(eb)));
	}
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
