/* SPDX-License-Identifier: GPL-2.0-or-later
 * The collector's clients, host side (isc init/deinit, iscd): the collector's
 * lifecycle, a state root's registration and its containers' audit ids.
 * Requests go through isc_audit_request (audit-client.h). */
#ifndef ISC_AUDIT_COLLECTOR_H
#define ISC_AUDIT_COLLECTOR_H

#include <stdint.h>
#include "base/error.h"

/* ---- host lifecycle: isc init / isc deinit ---- */
/* Start the collector unless it runs: `auditd` is the isc-auditd binary (NULL:
 * next to the running program, then PATH); returns once it answers. */
int isc_audit_collector_start(const char *auditd, isc_error **err);
/* Register a state root: it gets an audit-id range (R/audit/range.json) and
 * a trail (R/audit).  When the trail is new, *verify_key receives k_0 (64
 * hex digits) to print once; otherwise NULL.  Idempotent. */
struct isc_trail_options;
/* o: the new trail's epoch, rotation and retention (NULL or 0 fields: the
 * defaults); ignored when the trail exists. */
int isc_audit_host_register(const char *root, const struct isc_trail_options *o, char **verify_key, isc_error **err);
/* Give the range back (the trail stays until the root is removed);
 * *remaining: how many hosts are still registered. */
int isc_audit_host_unregister(const char *root, unsigned *remaining, isc_error **err);
/* Stop the collector; it restores the kernel audit state it found. */
int isc_audit_collector_stop(isc_error **err);

/* ---- container audit ids (iscd) ---- */
/* The id of container `name` of host `root`: the one it has, or the lowest
 * free one in the host's range (R/audit/ids.json, under a lock).  Ids
 * outside the host's current range (it moved, audit-id.h) are dropped. */
int isc_audit_id_assign(const char *root, const char *name, uint32_t *auid, isc_error **err);
int isc_audit_id_release(const char *root, const char *name, isc_error **err);

#endif
