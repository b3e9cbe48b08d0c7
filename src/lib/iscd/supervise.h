/* SPDX-License-Identifier: GPL-2.0-or-later
 * The supervisor that iscd runs: services under R/containers, the control
 * socket, log capture, restart policy, re-adoption.  Design: the comment at
 * the top of supervise.c (the files of src/lib/iscd, each by concern). */
#ifndef ISC_SUPERVISE_H
#define ISC_SUPERVISE_H

#include <stdbool.h>
#include "base/error.h"

#define ISC_LOG_ROTATE_SIZE (10u << 20) /* container.log rotates at 10 MiB */
#define ISC_LOG_KEEP 3			/* container.log, .1, .2 */
#define ISC_LOG_LINE_MAX (16u << 10)	/* a partial line is flushed at 16 KiB */
#define ISC_STOP_TIMEOUT_DEFAULT 10	/* seconds between SIGTERM and SIGKILL */

/* iscd's own log: timestamped lines to log_fd (R/log/iscd.log), to stderr
 * as well when echo is set, and to syslog when /dev/log exists (said once
 * in the log when it does not). */
void isc_sv_log_init(int log_fd, bool echo);
void isc_sv_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct isc_supervisor;

/* Listen on R/iscd.sock and re-adopt every service of R/containers (the
 * caller holds the pid-file lock).  SIGTERM/SIGINT/SIGCHLD get blocked
 * for the loop's signalfd. */
int isc_supervisor_open(const char *root, struct isc_supervisor **out, isc_error **err);
/* Serve until SIGTERM/SIGINT or the "shutdown" op; containers keep running. */
int isc_supervisor_run(struct isc_supervisor *sv, isc_error **err);
void isc_supervisor_free(struct isc_supervisor *sv);

#endif
