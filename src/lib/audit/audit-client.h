/* SPDX-License-Identifier: GPL-2.0-or-later
 * Talking to isc-auditd, the machine's audit collector (docs/audit.md).
 *
 * The collector listens on RUN/collector.sock (RUN: /run/isc/audit, or
 * $ISC_AUDIT_RUN_DIR), a root-only SOCK_SEQPACKET socket: one JSON request,
 * one JSON reply.  It learns who is asking from the socket (SO_PEERCRED:
 * pid, uid; and the kernel's loginuid and session of that pid), so records
 * say who acted; what the client sends is only what and where.
 *
 * The session side: the transport and the records (admin, login, logout);
 * the host side (collector start, registration, ids) is collector.h.
 *
 * Every function here fails, never silently, when the collector is not
 * running: "isc-auditd is not running (RUN/collector.sock)". */
#ifndef ISC_AUDIT_CLIENT_H
#define ISC_AUDIT_CLIENT_H

#include <jansson.h>
#include <stdint.h>
#include "base/error.h"

#define ISC_AUDIT_RUN_DIR "/run/isc/audit"

/* $ISC_AUDIT_RUN_DIR or ISC_AUDIT_RUN_DIR */
const char *isc_audit_run_dir(void);

/* One request, one reply ({"ok":true,...} or the collector's error, which
 * is returned as an error). */
int isc_audit_request(json_t *req, json_t **reply, isc_error **err);

/* ---- records ---- */
/* An administrative action of an isc command that changes state:
 * `action` ("run", "stop", "image import"...), `object` (the container or
 * image name, or NULL), `args` (the command line, or NULL), `result` 0 for
 * success or the errno, `error` the message or NULL. */
int isc_audit_admin(const char *root, const char *action, const char *object, char *const *args, int result,
		    const char *error, isc_error **err);

/* A session (isc exec, isc-runtime exec): login before the process starts,
 * logout after it ended.  Give `root` (isc exec) or the container's audit id
 * (isc-runtime exec: audit_id != 0, root NULL); the collector routes by
 * either.  `session` (out) identifies the session in the logout. */
int isc_audit_login(const char *root, uint32_t audit_id, const char *container, char *const *argv, const char *tty,
		    char **session, isc_error **err);
int isc_audit_logout(const char *root, uint32_t audit_id, const char *container, const char *session, int status,
		     uint64_t duration_ms, isc_error **err);

#endif
