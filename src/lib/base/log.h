/* SPDX-License-Identifier: GPL-2.0-or-later
 * The runtime's own log: --log FILE (default stderr), --log-format
 * text|json (json: one object per line with "msg", "level", "time", as
 * podman and containerd read it), --debug. */
#ifndef ISC_LOG_H
#define ISC_LOG_H

#include <stdbool.h>
#include "base/error.h"

enum isc_log_level { ISC_LOG_ERROR, ISC_LOG_WARNING, ISC_LOG_INFO, ISC_LOG_DEBUG };

int isc_log_init(const char *path, bool json, bool debug, isc_error **err);
void isc_log(enum isc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool isc_log_debug_enabled(void);
/* Log an error at error level and, when the log is a file, also print it to
 * stderr (the CLI's one place that prints). */
void isc_log_error(const isc_error *e);
/* A failure while undoing a failed step: logged after the error that made
 * the undo necessary (the next isc_log_error, or at exit), so that the
 * first line printed is always the first failure (docs/errors.md). */
void isc_log_cleanup_error(const isc_error *e);

#define isc_debug(...)                                       \
	do {                                                 \
		if (isc_log_debug_enabled())                 \
			isc_log(ISC_LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define isc_warn(...) isc_log(ISC_LOG_WARNING, __VA_ARGS__)

#endif
