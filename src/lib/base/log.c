/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "base/log.h"

#include "base/escape.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static bool log_json;
static bool log_debug;
static bool log_is_file;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int isc_log_init(const char *path, bool json, bool debug, isc_error **err)
{
	log_json = json;
	log_debug = debug;
	if (path && *path) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0)
			return isc_error_set(err, errno, "open log file %s (--log)", path);
		log_fd = fd;
		log_is_file = true;
	}
	return 0;
}

bool isc_log_debug_enabled(void)
{
	return log_debug;
}

static void emit(int fd, bool json, enum isc_log_level level, const char *msg)
{
	char tbuf[ISC_RFC3339_LEN];
	isc_rfc3339_format(tbuf);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "msg", msg, "level", level_names[level], "time", tbuf);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (line) {
			size_t len = strlen(line);
			line[len] = '\n'; /* json_dumps leaves room for the NUL only: rewrite below */
			(void)isc_write_all(fd, line, len + 1);
			free(line);
		}
		json_decref(o);
		return;
	}
	char *line = NULL;
	int len;
	/* the text forms quote paths and names a config or a container chose */
	cleanup_free char *esc = isc_escape(msg);
	msg = esc;
	if (fd == 2) {
		/* a terminal or a client reading stderr: a plain sentence */
		if (level == ISC_LOG_ERROR)
			len = asprintf(&line, "isc-runtime: %s\n", msg);
		else
			len = asprintf(&line, "isc-runtime: %s: %s\n", level_names[level], msg);
	} else {
		len = asprintf(&line, "time=\"%s\" level=%s msg=\"%s\"\n", tbuf, level_names[level], msg);
	}
	if (len > 0)
		(void)isc_write_all(fd, line, (size_t)len);
	free(line);
}

void isc_log(enum isc_log_level level, const char *fmt, ...)
{
	if (level == ISC_LOG_DEBUG && !log_debug)
		return;
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	int saved = errno;
	emit(log_fd, log_json, level, msg);
	errno = saved;
	free(msg);
}

static char *later[8];
static size_t n_later;

static void log_text(const char *text)
{
	emit(log_fd, log_json, ISC_LOG_ERROR, text);
	if (log_is_file)
		emit(2, false, ISC_LOG_ERROR, text);
}

static void flush_later(void)
{
	for (size_t i = 0; i < n_later; i++) {
		log_text(later[i]);
		free(later[i]);
	}
	n_later = 0;
}

void isc_log_error(const isc_error *e)
{
	char buf[4096];
	log_text(isc_error_text(e, buf, sizeof(buf)));
	flush_later();
}

void isc_log_cleanup_error(const isc_error *e)
{
	static bool registered;
	char buf[4096];
	const char *text = isc_error_text(e, buf, sizeof(buf));
	if (n_later == ARRAY_SIZE(later)) {
		log_text(text);
		return;
	}
	if (!registered && atexit(flush_later) == 0)
		registered = true;
	later[n_later++] = isc_xasprintf("cleanup: %s", text);
}
