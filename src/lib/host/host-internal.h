/* SPDX-License-Identifier: GPL-2.0-or-later
 * Between host.c (isc init and deinit) and host-iscd.c (iscd as they see
 * it) only. */
#ifndef ISC_HOST_INTERNAL_H
#define ISC_HOST_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "host/host.h"

/* The iscd program to start: ISC_ISCD, the settings, next to the running
 * program, the usual sbin directories, then PATH
 * (malloc'ed); NULL when none is executable. */
char *isc_host_iscd_find(const struct isc_host_settings *s);
/* Whether an iscd answers on ROOT's control socket. */
bool isc_host_iscd_answers(const char *root);
/* Start iscd for ROOT, detached, and wait until it answers. */
int isc_host_iscd_start(const char *root, const struct isc_host_settings *s, isc_error **err);
/* The pid ROOT's iscd pid file names, or -1. */
pid_t isc_host_iscd_pid(const char *root);
/* Whether pid is an iscd (its /proc entry says so). */
bool isc_host_pid_is_iscd(pid_t pid);
/* Wait up to ms for pid (started at `start`) to be gone. */
void isc_host_wait_gone(pid_t pid, uint64_t start, int ms);
/* Ask every iscd of ROOT to stop, and wait for it. */
void isc_host_iscd_stop_all(const char *root);
/* An iscd of ROOT left running (pid file, checked start time): killed. */
void isc_host_iscd_kill_leftover(const char *root);

#endif
