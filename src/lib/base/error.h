/* SPDX-License-Identifier: GPL-2.0-or-later
 * The isc error convention (docs/errors.md).
 *
 * Every fallible libisc function takes `isc_error **err` as its last
 * argument and returns a negative value on failure, after storing an error
 * (errno + message) in *err.  Callers add context on the way up with
 * isc_error_wrap(); only the programs' main() print.  An error raised in the
 * container's init after clone() is sent to the caller over the sync socket
 * (isc_sync_send_error) and re-created there unchanged. */
#ifndef ISC_ERROR_H
#define ISC_ERROR_H

#include <stdarg.h>
#include <stddef.h>

typedef struct isc_error {
	int errnum; /* an errno value, or 0 when the message says it all */
	char *msg;  /* what failed, without the errno text */
} isc_error;

/* Store a new error (freeing any error already in *err) and return -1.
 * `errnum` 0 means no errno text is appended when printed. */
int isc_error_set(isc_error **err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int isc_error_setv(isc_error **err, int errnum, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Prefix context to the message in *err ("ctx: old message"), keep errnum,
 * and return -1.  When *err is NULL (a callee broke the convention) an
 * error with EIO is created so that no failure is ever silent. */
int isc_error_wrap(isc_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The two raising functions always return -1; these macros say so where the
 * compiler and the static analyzers can see it, so that `return
 * isc_error_set(...)` is known to fail on every path. */
#define isc_error_set(err, errnum, ...)                    \
	({                                                 \
		(isc_error_set)(err, errnum, __VA_ARGS__); \
		-1;                                        \
	})
#define isc_error_wrap(err, ...)                    \
	({                                          \
		(isc_error_wrap)(err, __VA_ARGS__); \
		-1;                                 \
	})

/* "message: strerror(errnum)" (or just the message); never NULL.  A text
 * longer than the buffer is cut in its middle (isc_text_fit): its start
 * (what was being done) and its end (the first failure's step, path and
 * errno text) are kept. */
const char *isc_error_text(const isc_error *e, char *buf, unsigned long len);

/* Copy the len bytes of s into out (size bytes, NUL-terminated).  When they
 * do not fit: the head and the tail of s around the marker
 * " [... N bytes cut ...] ", each cut at a UTF-8 character boundary (never
 * inside a character); the tail gets two thirds.  Returns out. */
char *isc_text_fit(char *out, size_t size, const char *s, size_t len);

void isc_error_free(isc_error **err);

/* Move an error out of *from into *to (freeing what *to held). */
void isc_error_move(isc_error **to, isc_error **from);

static inline void isc_error_cleanup(isc_error **e)
{
	isc_error_free(e);
}
#define cleanup_error __attribute__((cleanup(isc_error_cleanup)))

#endif
