/* SPDX-License-Identifier: GPL-2.0-or-later
 * Between host.c (isc init), host-deinit.c (isc deinit), host-iscd.c (iscd
 * as they see it) and host-intent.c (what a killed init or deinit was
 * doing) only. */
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

/* Whether R/host.json says init made the network baseline (host.c). */
bool isc_host_network_made(const char *root);
/* deinit's steps once R exists (host-deinit.c): also init's undo. */
int isc_host_deinit_steps(const char *root, isc_error **err);

/* The operation a killed init or deinit left in R/.host-op (host-intent.c). */
enum isc_host_op { ISC_HOST_OP_NONE, ISC_HOST_OP_INIT, ISC_HOST_OP_INIT_FRESH, ISC_HOST_OP_DEINIT };
/* What R/.host-op records; ISC_HOST_OP_NONE when there is none. */
enum isc_host_op isc_host_intent_read(const char *root);
/* Record op in R/.host-op, durably, before its first step. */
int isc_host_intent_write(const char *root, enum isc_host_op op, isc_error **err);
/* Remove R/.host-op (done), durably; 0 when there is none. */
int isc_host_intent_clear(const char *root, isc_error **err);
/* Print "VERB: finishing (undoing) the unfinished isc init|deinit of
 * ROOT" (nothing for ISC_HOST_OP_NONE). */
void isc_host_intent_say(const char *root, const char *verb, enum isc_host_op op, bool undo);
/* Whether an entry of R is the intent file (removed last by deinit). */
bool isc_host_intent_is_file(const char *name);
/* Test builds: SIGKILL at the step ISC_TEST_KILL_AT names; nothing else. */
void isc_host_test_point(const char *step);

#endif
