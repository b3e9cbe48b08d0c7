/* SPDX-License-Identifier: GPL-2.0-or-later
 * The sync socket between the runtime and the container's init.
 * Messages are fixed headers plus an optional payload; an error raised in
 * the init travels as ISC_SYNC_ERROR {errnum, message} and is re-created in
 * the runtime by isc_sync_recv(). */
#ifndef ISC_SYNC_H
#define ISC_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include "base/error.h"

enum isc_sync_type {
	ISC_SYNC_ERROR = 1,    /* payload: message; errnum in `value` */
	ISC_SYNC_USERNS_READY, /* init -> runtime: write my id maps */
	ISC_SYNC_USERNS_DONE,  /* runtime -> init: maps written */
	ISC_SYNC_CHILD_PID,    /* stage -> runtime: value = pid of the init (double fork) */
	ISC_SYNC_GO,	       /* runtime -> init: continue */
	ISC_SYNC_HOOKS,	       /* init -> runtime: run createRuntime hooks now */
	ISC_SYNC_HOOKS_DONE,   /* runtime -> init */
	ISC_SYNC_CREATED,      /* init -> runtime: ready, waiting for start */
};

struct isc_sync_msg {
	uint32_t type;
	int32_t value;
	uint32_t len; /* payload length */
};

/* Send a message (payload may be NULL). */
int isc_sync_send(int fd, enum isc_sync_type type, int32_t value, const void *payload, size_t len, isc_error **err);
/* Send an error message (used by the init before it exits). */
void isc_sync_send_error(int fd, const isc_error *e);
/* Receive the next message; when it is ISC_SYNC_ERROR, create that error in
 * *err and return -1.  A closed socket is an error ("container init exited
 * before ..." is added by the caller).  `expect` 0 accepts any type. */
int isc_sync_recv(int fd, enum isc_sync_type expect, int32_t *value, isc_error **err);
/* isc_sync_recv, for the runtime's side: when no message came within
 * timeout_ms, an error "sync socket: no message from the container init
 * within N s (waited for `what`)". */
int isc_sync_recv_within(int fd, enum isc_sync_type expect, int32_t *value, int timeout_ms, const char *what,
			 isc_error **err);

#endif
