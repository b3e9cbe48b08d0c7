/* SPDX-License-Identifier: GPL-2.0-or-later
 * Small helpers used everywhere: cleanup attributes, ownership transfer,
 * whole-file I/O.  Every fd this code opens is O_CLOEXEC and starts at -1. */
#ifndef ISC_UTIL_H
#define ISC_UTIL_H

#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "base/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ISC_UNUSED __attribute__((unused))
#define ISC_EXPORT __attribute__((visibility("default")))

static inline void isc_freep(void *p)
{
	free(*(void **)p);
}
void isc_closep(int *fd);      /* close if >= 0; never retried on EINTR */
void isc_strvfreep(char ***v); /* free a NULL-terminated string vector */
void isc_fclosep(void *f);
void isc_closedirp(void *d); /* closedir if not NULL */

#define cleanup_free __attribute__((cleanup(isc_freep)))
#define cleanup_close __attribute__((cleanup(isc_closep)))
#define cleanup_strv __attribute__((cleanup(isc_strvfreep)))
#define cleanup_file __attribute__((cleanup(isc_fclosep)))
#define cleanup_dir __attribute__((cleanup(isc_closedirp)))

/* Ownership transfer: return the value and reset the variable. */
#define steal_pointer(pp)                     \
	({                                    \
		__typeof__(*(pp)) _p = *(pp); \
		*(pp) = NULL;                 \
		_p;                           \
	})
#define steal_fd(fdp)             \
	({                        \
		int _fd = *(fdp); \
		*(fdp) = -1;      \
		_fd;              \
	})

void *isc_xmalloc0(size_t n); /* aborts on OOM: allocations are tiny */
char *isc_xstrdup(const char *s);
char *isc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *isc_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void isc_strvfree(char **v);
size_t isc_strvlen(char *const *v);

/* Read a whole file (at most `max` bytes; 0 means 16 MiB) into a NUL-terminated buffer. */
int isc_read_file(const char *path, char **out, size_t *len, size_t max, isc_error **err);
int isc_read_file_at(int dirfd, const char *path, char **out, size_t *len, size_t max, isc_error **err);
/* Write `len` bytes to an existing file (O_WRONLY, no create). */
int isc_write_file(const char *path, const char *buf, size_t len, isc_error **err);
int isc_write_file_at(int dirfd, const char *path, const char *buf, size_t len, isc_error **err);
/* Write a file atomically against crashes of the process: a temporary file
 * in the same directory (an unpredictable name, created with O_EXCL and
 * O_NOFOLLOW: safe in a directory others can write, such as a --pid-file's),
 * then rename() over `name` (a symlink there is replaced, not followed).
 * `mode` as for open(2) (the umask applies).  No fsync: runtime state lives
 * in /run, which does not survive a reboot anyway. */
int isc_write_file_atomic(int dirfd, const char *name, const char *buf, size_t len, mode_t mode, isc_error **err);
/* The same, durable against a crash of the machine: the file is fsynced
 * before the rename and the directory after it.  For state that outlives a
 * reboot and must never come back empty or old (id ranges, addresses,
 * audit ids, host.json). */
int isc_write_file_durable(int dirfd, const char *name, const char *buf, size_t len, mode_t mode, isc_error **err);

int isc_write_all(int fd, const void *buf, size_t len); /* -errno on failure */
ssize_t isc_read_all(int fd, void *buf, size_t len);	/* short only at EOF; -errno */

/* ".." of the directory `fd`, if it is still the directory (dev, ino) that
 * a walk by fd came down from: a new O_CLOEXEC fd, or -1 with errno
 * (ESTALE: moved while the walk was below it). */
int isc_open_parent_checked(int fd, dev_t dev, ino_t ino);

/* mkdir -p with `mode` for created components. */
int isc_mkdir_p(const char *path, mode_t mode, isc_error **err);

/* Parse a decimal unsigned/signed integer; the whole string must match. */
int isc_parse_u64(const char *s, uint64_t *out);
int isc_parse_i64(const char *s, int64_t *out);

/* Start time of a process (field 22 of /proc/PID/stat), to tell a pid apart
 * from a later process that reuses it.  0 when the process does not exist. */
uint64_t isc_proc_start_time(pid_t pid);

/* Close every fd from 3 up except those in keep[] (any order; negative
 * entries and duplicates ignored), with as few close_range() calls as there
 * are gaps.  For a child that inherited the runtime's fds: O_CLOEXEC only
 * acts at exec.  -1 with errno when a close_range() failed (an fd may be
 * left open: a held state-directory fd keeps the container's lock). */
int isc_close_fds_except(int *keep, size_t n);

/* The bound, in ms, of every wait of the runtime on another process's
 * step: a handshake, a lock, a FIFO (never the container's own lifetime).
 * ISC_RUNTIME_WAIT_SECONDS (1..86400) when set, else 60 s. */
int isc_wait_bound_ms(void);
/* poll() for at most timeout_ms in all (EINTR goes on with the time left):
 * > 0 ready, 0 timed out, -1 with errno. */
int isc_poll_within(struct pollfd *p, nfds_t n, int timeout_ms);
/* flock(fd, op) for at most timeout_ms: 0, or -1 with errno (EWOULDBLOCK
 * when the lock was still held at the end). */
int isc_flock_within(int fd, int op, int timeout_ms);

/* The time now as RFC 3339 UTC with nanoseconds ("2026-11-28T14:20:02.123456789Z"),
 * formatted by hand: strftime() would load the time zone database. */
#define ISC_RFC3339_LEN 64
void isc_rfc3339_format(char buf[ISC_RFC3339_LEN]);

/* Monotonic clock in nanoseconds. */
uint64_t isc_now_ns(void);

#endif
