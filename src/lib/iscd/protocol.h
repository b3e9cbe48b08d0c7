/* SPDX-License-Identifier: GPL-2.0-or-later
 * The control protocol between isc and iscd.
 *
 * R/iscd.sock: AF_UNIX SOCK_SEQPACKET, mode 0600, peer credentials checked
 * (uid 0 only).  One JSON object per message (at most ISC_CTL_MAX_MSG
 * bytes).  Request {"op": "...", ...}; reply {"ok": true, ...} or
 * {"ok": false, "errno": N, "error": "message"}.  One request per
 * connection.  Ops: ping, run, ps, inspect, stop, start, restart, rm,
 * wait, shutdown; kill {"signal"}, pause, unpause, update {"memory",
 * "cpu_quota", "pids_limit"}, stats, top (svcctl.c); release ({"op":
 * "run", "attach": true} of an --rm plan: its client removes the service
 * at its end itself, or sends {"op": "release", "name"} to leave that to
 * iscd); and the network's (hosts with one).  ping replies {"root", "pid",
 * "version"}; ps {"services": [summary...]}, a summary being the status
 * (status.c) plus "name", "id" (64 hex digits, "" for a service made before
 * ids), "image", "image_id", "created", "ports".  The network's ops:
 *   {"op": "expose", "name", "port": "HOSTPORT:PORT[/tcp|udp]"}
 *   {"op": "unexpose", "name", "port": "HOSTPORT[/tcp|udp]"}
 *       both reply {"name", "ports": [{"host_port", "port", "proto"}...]}
 *   {"op": "allow", "src", "dst", "port": "PORT[/tcp|udp]", "remove": bool}
 *   {"op": "policy", "action": "ls" | "enable" | "disable", "rule"}
 *       ls replies {"rules": [{"name", "enabled", "description"}...]}
 * (control.c). */
#ifndef ISC_CTL_H
#define ISC_CTL_H

#include <jansson.h>
#include "base/error.h"

#define ISC_CTL_MAX_MSG (1u << 20)
#define ISC_CTL_SOCKET "iscd.sock"

/* Connect to iscd of ROOT, send req, wait for the reply.  An error reply
 * becomes an isc_error with its errno and message; an iscd that does not
 * run gives "iscd is not running for ROOT (isc init)". */
int isc_ctl_call(const char *root, json_t *req, json_t **reply, isc_error **err);
/* The same in two halves, for a reply that comes later (wait): connect +
 * send returns the fd; isc_ctl_finish reads and decodes the reply. */
int isc_ctl_send_request(const char *root, json_t *req, isc_error **err);
int isc_ctl_finish(int fd, json_t **reply, isc_error **err);

/* ---- server side ---- */
/* Bind and listen on R/iscd.sock (a stale socket is replaced: the caller
 * holds the pid-file lock), mode 0600; returns the fd (non-blocking). */
int isc_ctl_listen(const char *root, isc_error **err);
/* Accept one connection (non-blocking, CLOEXEC) and check its peer is
 * root: EPERM otherwise (the connection gets a refusal and is closed). */
int isc_ctl_accept(int lfd, isc_error **err);
/* One message; 0 with *msg NULL at EOF. */
int isc_ctl_recv(int fd, json_t **msg, isc_error **err);
int isc_ctl_send(int fd, json_t *msg, isc_error **err);
/* {"ok": false, "errno": N, "error": text}, newly allocated */
json_t *isc_ctl_error_reply(const isc_error *e);
/* {"ok": true} plus the fields of extra (stolen; may be NULL) */
json_t *isc_ctl_ok_reply(json_t *extra);

#endif
