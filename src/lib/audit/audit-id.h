/* SPDX-License-Identifier: GPL-2.0-or-later
 * The container's audit identity (org.isc.audit.id, docs/audit.md).
 *
 * The container's first process gets a kernel loginuid from the range the
 * machine's audit collector reserved for containers; every exec it (and
 * anything it starts) makes is then recorded by the kernel with that auid,
 * which the collector maps back to the container's name and host.
 *
 * Order in the container's init (the loginuid can be set once without
 * privilege, later only with CAP_AUDIT_CONTROL in the initial user ns):
 *   1. isc_audit_set_loginuid(auid)   -- before entering the user namespace:
 *      inside it the value lies outside the uid map (EINVAL)
 *   2. drop CAP_AUDIT_CONTROL (bounding, effective, permitted)
 *   3. unshare/enter the user namespace, exec. */
#ifndef ISC_AUDIT_ID_H
#define ISC_AUDIT_ID_H

#include <stdint.h>
#include "base/error.h"

/* Container audit ids live in [ISC_AUDIT_ID_MIN, ISC_AUDIT_ID_MAX]; the
 * kernel rules of isc-auditd match exactly this range.  No login may have
 * an id there (a login's records would be filed as a container's): it lies
 * far above every range useradd, subordinate ids or the id ranges of isc's
 * user namespaces (idrange-internal.h, below 0x70000000) hand out, and
 * below 4294967294 ((uid_t)-2) and 4294967295 (unset).  `isc init` refuses
 * a machine whose users reach into it (isc_audit_users_check). */
#define ISC_AUDIT_ID_ANNOTATION "org.isc.audit.id"
#define ISC_AUDIT_ID_MIN 0xF0000000u /* 4026531840 */
#define ISC_AUDIT_ID_MAX 0xF0FFFFFFu /* 4043309055: 256 hosts of 65536 ids */
#define ISC_AUDIT_ID_UNSET 4294967295u
/* each registered host (state root) gets a block of this many ids */
#define ISC_AUDIT_RANGE 65536u
#define ISC_AUDIT_HOSTS ((ISC_AUDIT_ID_MAX - ISC_AUDIT_ID_MIN + 1u) / ISC_AUDIT_RANGE)

/* The machine-wide user-namespace id ranges of services, [FIRST, END): the
 * table is the host's (host/idrange-internal.h); isc-auditd accepts session
 * records from their roots, so the bounds live here, below both. */
#define ISC_IDRANGE_FIRST 0x40000000u
#define ISC_IDRANGE_END 0x70000000u

/* The annotation's value: a decimal auid in the container range, nothing
 * else (no sign, no spaces, no leading zeros). */
int isc_audit_id_parse(const char *value, uint32_t *auid, isc_error **err);

/* The loginuid of a container without org.isc.audit.id when its caller has
 * none either: the overflow uid "nobody", no login's and outside the
 * container range, so the collector's rules never match it. */
#define ISC_AUDIT_ID_NONE 65534u

/* Before a container without org.isc.audit.id gets its first process (or
 * an exec): make sure the loginuid it inherits from this process is set.
 * An unset loginuid can be set once by any task, without privilege: the
 * container could give itself an audit identity (another container's, when
 * its user namespace maps that id or it has none).  A set one is kept (the
 * caller's login); an unset one becomes ISC_AUDIT_ID_NONE, which only
 * CAP_AUDIT_CONTROL in the initial user namespace can change.  Nothing to
 * do on a kernel without audit (no /proc/self/loginuid). */
int isc_audit_lock_loginuid(isc_error **err);

/* Write the decimal auid to /proc/self/loginuid.  Fails with the kernel's
 * errno (EPERM: already set and no CAP_AUDIT_CONTROL; EINVAL: not mapped in
 * the caller's user namespace). */
int isc_audit_set_loginuid(uint32_t auid, isc_error **err);

/* The machine's users against the container range: the texts of
 * /etc/passwd, /etc/login.defs, /etc/subuid and /etc/subgid (NULL: file
 * absent).  -1 with an error naming the file, the entry and what to do when
 * one of them reaches into [ISC_AUDIT_ID_MIN, ISC_AUDIT_ID_MAX]:
 * a passwd uid, UID_MAX / SYS_UID_MAX / SUB_UID_MAX / SUB_GID_MAX of
 * login.defs, a subordinate range. */
int isc_audit_users_check_texts(const char *passwd, const char *login_defs, const char *subuid, const char *subgid,
				isc_error **err);
/* The same on this machine's files (`isc init`). */
int isc_audit_users_check(isc_error **err);

#endif
