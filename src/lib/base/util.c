/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void isc_closep(int *fd)
{
	if (fd != NULL && *fd >= 0) {
		int saved = errno;
		(void)close(*fd); /* never retried: the fd is gone on Linux even on EINTR */
		errno = saved;
		*fd = -1;
	}
}

void isc_strvfree(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void isc_strvfreep(char ***v)
{
	isc_strvfree(*v);
	*v = NULL;
}

void isc_fclosep(void *f)
{
	FILE **fp = f;
	if (*fp)
		fclose(*fp);
}

void isc_closedirp(void *d)
{
	DIR **dp = d;
	if (*dp)
		closedir(*dp);
}

size_t isc_strvlen(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void *isc_xmalloc0(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

char *isc_xstrdup(const char *s)
{
	if (s == NULL)
		return NULL;
	char *p = strdup(s);
	if (p == NULL)
		abort();
	return p;
}

char *isc_xvasprintf(const char *fmt, va_list ap)
{
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0)
		abort();
	return p;
}

char *isc_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = isc_xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

int isc_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t isc_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int isc_read_file_at(int dirfd, const char *path, char **out, size_t *len, size_t max, isc_error **err)
{
	cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", path);
	if (max == 0)
		max = 16u << 20;
	size_t cap = max < 4096 ? max : 4096, used = 0;
	char *buf = malloc(cap + 1);
	if (buf == NULL)
		return isc_error_set(err, ENOMEM, "read %s", path);
	for (;;) {
		if (used == cap) {
			if (cap >= max) {
				char extra;
				ssize_t more = read(fd, &extra, 1);
				if (more == 0)
					break; /* exactly max bytes */
				free(buf);
				return isc_error_set(err, EFBIG, "read %s: larger than %zu bytes", path, max);
			}
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				return isc_error_set(err, ENOMEM, "read %s", path);
			}
			buf = nb;
		}
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			return isc_error_set(err, e, "read %s", path);
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*out = buf;
	if (len)
		*len = used;
	return 0;
}

int isc_read_file(const char *path, char **out, size_t *len, size_t max, isc_error **err)
{
	return isc_read_file_at(AT_FDCWD, path, out, len, max, err);
}

int isc_write_file_at(int dirfd, const char *path, const char *buf, size_t len, isc_error **err)
{
	cleanup_close int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", path);
	int r = isc_write_all(fd, buf, len);
	if (r < 0)
		return isc_error_set(err, -r, "write %s", path);
	return 0;
}

int isc_write_file(const char *path, const char *buf, size_t len, isc_error **err)
{
	return isc_write_file_at(AT_FDCWD, path, buf, len, err);
}

/* The temporary file of an atomic write, in the target's directory:
 * ".NAME.<64 random bits>.tmp", created with O_EXCL and O_NOFOLLOW, so that
 * it is always a new file of ours.  A predictable name (the old
 * ".NAME.tmp.PID") let anyone who can write the directory create it first,
 * or as a symlink, and own what root then renamed into place.  A name
 * taken by chance is retried with new bits.  Returns the fd or -errno. */
static int atomic_tmp_create(int dirfd, const char *name, mode_t mode, char *tmp, size_t size)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		uint64_t r;
		ssize_t n;
		while ((n = getrandom(&r, sizeof(r), 0)) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)sizeof(r))
			return n < 0 ? -errno : -EIO;
		if (snprintf(tmp, size, ".%s.%016" PRIx64 ".tmp", name, r) >= (int)size)
			return -ENAMETOOLONG;
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int write_atomic(int dirfd, const char *name, const char *buf, size_t len, mode_t mode, bool durable,
			isc_error **err)
{
	char tmp[NAME_MAX + 1];
	cleanup_close int fd = atomic_tmp_create(dirfd, name, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return isc_error_set(err, -fd, "write %s: create its temporary file", name);
	int r = isc_write_all(fd, buf, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return isc_error_set(err, -r, "write %s", name);
	}
	if (durable) {
		/* the rename itself: the directory's entry (dirfd may be O_PATH) */
		cleanup_close int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d < 0 || fsync(d) < 0)
			return isc_error_set(err, errno, "write %s: fsync its directory", name);
	}
	return 0;
}

int isc_write_file_atomic(int dirfd, const char *name, const char *buf, size_t len, mode_t mode, isc_error **err)
{
	return write_atomic(dirfd, name, buf, len, mode, false, err);
}

int isc_write_file_durable(int dirfd, const char *name, const char *buf, size_t len, mode_t mode, isc_error **err)
{
	return write_atomic(dirfd, name, buf, len, mode, true, err);
}

int isc_open_parent_checked(int fd, dev_t dev, ino_t ino)
{
	int p = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p < 0)
		return -1;
	struct stat st;
	if (fstat(p, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		return p;
	close(p);
	errno = ESTALE;
	return -1;
}

int isc_mkdir_p(const char *path, mode_t mode, isc_error **err)
{
	char *p = isc_xstrdup(path);
	size_t n = strlen(p);
	int ret = 0;
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			ret = isc_error_set(err, errno, "mkdir %s", p);
			break;
		}
		p[i] = c;
	}
	free(p);
	return ret;
}

int isc_parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int isc_parse_i64(const char *s, int64_t *out)
{
	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

uint64_t isc_proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = isc_read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may contain spaces and parentheses: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	p++;
	/* after ')' comes field 3 (state); start time is field 22 */
	/* p is at the space before field 3; walk to the space before field 22 */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p == NULL)
		return 0;
	return strtoull(p + 1, NULL, 10);
}

int isc_close_fds_except(int *keep, size_t n)
{
	/* sort the small list (insertion sort), then close the gaps */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned int from = 3;
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 3 || (unsigned int)keep[i] < from)
			continue;
		if ((unsigned int)keep[i] > from && syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0) < 0)
			return -1;
		from = (unsigned int)keep[i] + 1;
	}
	return syscall(SYS_close_range, from, ~0U, 0) < 0 ? -1 : 0;
}

int isc_wait_bound_ms(void)
{
	const char *v = getenv("ISC_RUNTIME_WAIT_SECONDS");
	char *end = NULL;
	long s = v && *v ? strtol(v, &end, 10) : 0;
	if (end == NULL || *end != '\0' || s < 1 || s > 86400)
		s = 60;
	return (int)s * 1000;
}

int isc_poll_within(struct pollfd *p, nfds_t n, int timeout_ms)
{
	uint64_t deadline = isc_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		uint64_t now = isc_now_ns();
		int left = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
		int r = poll(p, n, left);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

int isc_flock_within(int fd, int op, int timeout_ms)
{
	uint64_t deadline = isc_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	long delay_us = 1000;
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (isc_now_ns() >= deadline) {
			errno = EWOULDBLOCK;
			return -1;
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = delay_us * 1000 };
		nanosleep(&ts, NULL);
		if (delay_us < 8000) /* at most ~8 ms late once the holder let go */
			delay_us *= 2;
	}
}

void isc_rfc3339_format(char buf[ISC_RFC3339_LEN])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, ISC_RFC3339_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

uint64_t isc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
