/* SPDX-License-Identifier: GPL-2.0-or-later
 * Service logs (iscd's supervisor).
 *
 * Design
 * ------
 * The service logs.  stdout and stderr of a container are two FIFOs,
 * R/containers/NAME/logs/{stdout,stderr}.fifo, made at `run` and removed at
 * `rm`; iscd holds them open O_RDWR (a write never gets EPIPE, and a
 * restarted iscd reopens them without losing what they hold).  Each line is
 * one JSON record of logs/container.log (time, stream, line; invalid UTF-8
 * as U+FFFD; a run of empty lines one record with "repeat"), rotated at
 * ISC_LOG_ROTATE_SIZE, ISC_LOG_KEEP files kept.  A wakeup reads a bounded
 * amount (svc_log_drain), so a flooding service cannot hold the loop.
 */
#include "iscd/supervisor.h"

#define LOG_DRAIN_BUDGET (64 * 1024) /* bytes read from one FIFO per wakeup */
#define LOG_DRAIN_RECORDS 1024	     /* records written for one FIFO per wakeup */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "base/util.h"

/* Invalid UTF-8 bytes become U+FFFD: jansson refuses invalid strings. */
static char *utf8_clean(const char *s, size_t len, size_t *outlen)
{
	char *o = isc_xmalloc0(len * 3 + 1);
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t need = c < 0x80		   ? 0
			      : (c & 0xe0) == 0xc0 ? 1
			      : (c & 0xf0) == 0xe0 ? 2
			      : (c & 0xf8) == 0xf0 ? 3
						   : 9;
		bool ok = need != 9 && i + need < len;
		for (size_t k = 1; ok && k <= need; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok && need == 1 && c < 0xc2)
			ok = false;
		if (ok && need == 2) {
			unsigned char c1 = (unsigned char)s[i + 1];
			ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
		}
		if (ok && need == 3) {
			unsigned char c1 = (unsigned char)s[i + 1];
			ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
		}
		if (!ok) {
			/* U+FFFD, the replacement character */
			o[n++] = (char)0xef;
			o[n++] = (char)0xbf;
			o[n++] = (char)0xbd;
			i++;
			continue;
		}
		memcpy(o + n, s + i, need + 1);
		n += need + 1;
		i += need + 1;
	}
	*outlen = n;
	return o;
}

static void log_open(struct svc *s)
{
	if (s->logfd >= 0)
		return;
	cleanup_free char *path = svc_path(s, "logs/container.log");
	s->logfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	struct stat st;
	s->log_size = s->logfd >= 0 && fstat(s->logfd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (s->logfd < 0)
		isc_sv_log(LOG_ERR, "%s: open %s: %s", s->name, path, strerror(errno));
}

static void log_rotate(struct svc *s)
{
	isc_closep(&s->logfd);
	for (int i = ISC_LOG_KEEP - 1; i >= 1; i--) {
		cleanup_free char *from = i == 1 ? svc_path(s, "logs/container.log")
						 : isc_xasprintf("%s/logs/container.log.%d", s->dir, i - 1);
		cleanup_free char *to = isc_xasprintf("%s/logs/container.log.%d", s->dir, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			isc_sv_log(LOG_ERR, "%s: rotate %s: %s", s->name, from, strerror(errno));
	}
	log_open(s);
}

/* One record; `repeat` > 1: a run of that many empty lines (a newline
 * flood costs one record, not one per byte). */
static void log_record(struct svc *s, const char *stream, const char *line, size_t len, size_t repeat)
{
	log_open(s);
	if (s->logfd < 0)
		return;
	char ts[ISC_RFC3339_LEN];
	isc_rfc3339_format(ts);
	size_t clen;
	cleanup_free char *clean = utf8_clean(line, len, &clen);
	json_t *j = json_pack("{s:s, s:s, s:s%}", "time", ts, "stream", stream, "line", clean, clen);
	if (j && repeat > 1)
		json_object_set_new(j, "repeat", json_integer((json_int_t)repeat));
	cleanup_free char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return;
	cleanup_free char *rec = isc_xasprintf("%s\n", text);
	size_t rlen = strlen(rec);
	if (isc_write_all(s->logfd, rec, rlen) < 0)
		isc_sv_log(LOG_ERR, "%s: write container.log: %s", s->name, strerror(errno));
	s->log_size += rlen;
	if (s->log_size >= ISC_LOG_ROTATE_SIZE)
		log_rotate(s);
}

/* The complete lines in ls->buf as records (a run of empty lines is one),
 * and 16 KiB without a newline as one; the partial rest stays.  Returns
 * the number of records written. */
static size_t log_lines(struct svc *s, struct logstream *ls)
{
	size_t start = 0, records = 0;
	for (;;) {
		char *nl = memchr(ls->buf + start, '\n', ls->len - start);
		if (nl == NULL)
			break;
		size_t end = (size_t)(nl - ls->buf), n = 1;
		if (end == start) {
			while (start + n < ls->len && ls->buf[start + n] == '\n')
				n++;
			log_record(s, ls->name, "", 0, n);
			start += n;
		} else {
			log_record(s, ls->name, ls->buf + start, end - start, 1);
			start = end + 1;
		}
		records++;
	}
	if (start == 0 && ls->len == sizeof(ls->buf)) {
		log_record(s, ls->name, ls->buf, ls->len, 1);
		start = ls->len;
		records++;
	}
	memmove(ls->buf, ls->buf + start, ls->len - start);
	ls->len -= start;
	return records;
}

/* Read from the FIFO, at most LOG_DRAIN_BUDGET bytes and LOG_DRAIN_RECORDS
 * records per wakeup (the epoll is level-triggered: the rest is read at a
 * later turn of the loop, after the other fds had theirs), so a service
 * that writes faster than iscd logs cannot hold the single-threaded loop,
 * neither with long lines nor with a flood of short ones.  The record
 * bound never leaves lines behind in the buffer: every record takes at
 * least one byte of what was just read, and a read asks for no more bytes
 * than records remain, so what the bound defers is still in the FIFO.
 * flush (the container ended): what the FIFO holds at this moment, and
 * the partial rest too. */
void svc_log_drain(struct svc *s, struct logstream *ls, bool flush)
{
	if (ls->fd < 0)
		return;
	size_t budget = LOG_DRAIN_BUDGET, records = LOG_DRAIN_RECORDS;
	int avail = 0;
	if (flush && ioctl(ls->fd, FIONREAD, &avail) == 0) {
		budget = (size_t)avail;
		records = SIZE_MAX;
	}
	while (budget > 0 && records > 0) {
		size_t want = sizeof(ls->buf) - ls->len;
		want = want < budget ? want : budget;
		want = want < records ? want : records;
		ssize_t r = read(ls->fd, ls->buf + ls->len, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		budget -= (size_t)r;
		ls->len += (size_t)r;
		size_t wrote = log_lines(s, ls);
		records -= wrote < records ? wrote : records;
	}
	if (flush && ls->len > 0) {
		log_record(s, ls->name, ls->buf, ls->len, 1);
		ls->len = 0;
	}
}

/* The FIFOs exist from `run` until `rm`; iscd holds them open O_RDWR. */
int svc_open_fifos(struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	struct logstream *streams[] = { &s->out, &s->errs };
	static const char *const files[] = { "logs/stdout.fifo", "logs/stderr.fifo" };
	for (size_t i = 0; i < 2; i++) {
		if (streams[i]->fd >= 0)
			continue;
		cleanup_free char *path = svc_path(s, files[i]);
		if (mkfifo(path, 0600) < 0 && errno != EEXIST)
			return isc_error_set(err, errno, "mkfifo %s", path);
		int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", path);
		(void)fcntl(fd, F_SETPIPE_SZ, FIFO_SIZE);
		streams[i]->fd = fd;
		sv_epoll_add(sv, fd, &streams[i]->w);
	}
	return 0;
}
