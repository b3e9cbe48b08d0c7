/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-auditd: the machine's audit collector (docs/audit.md). */
#ifndef ISC_AUDITD_H
#define ISC_AUDITD_H

#include <linux/audit.h>
#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

#define ISC_AUDITD_KEY "isc"

/* kernel.c: NETLINK_AUDIT control */
int isc_kaudit_open(bool multicast, isc_error **err);
int isc_kaudit_get(int fd, struct audit_status *st, isc_error **err);
/* AUDIT_SET with `mask` of *st; -errno in `*kerr` for a kernel refusal. */
int isc_kaudit_set(int fd, const struct audit_status *st, isc_error **err);
/* Our two rules (x86_64 execve/execveat, i386 execve/execveat), loginuid
 * in the container range [ISC_AUDIT_ID_MIN, ISC_AUDIT_ID_MAX]; add ignores
 * EEXIST, del ignores ENOENT. */
int isc_kaudit_rules(int fd, bool add, isc_error **err);
/* Count the rules carrying our key (for tests and --status). */
int isc_kaudit_count_rules(int fd, unsigned *n, isc_error **err);
/* One record: type and text (the kernel's nlmsg_len quirk handled). */
ssize_t isc_kaudit_recv(int fd, char *buf, size_t size, int *type, char **text);

/* sessions.c: the kernel audit sessions that are containers' */
/* Load RUN/sessions.json (this boot's) and adopt the live containers'. */
int isc_sessions_init(const char *run_dir, isc_error **err);
/* A raw LOGIN record (type 1006, "audit(...): pid= uid= ... auid= ... ses=
 * res="): true when it opened a container session. */
bool isc_sessions_from_login(const char *text, size_t len);
/* Is (ses, auid) a container's session? */
bool isc_sessions_has(uint32_t ses, uint32_t auid);
size_t isc_sessions_count(void);
/* The periodic sweep (every 30 s) and saving what changed. */
void isc_sessions_tick(void);
void isc_sessions_free(void);

#endif
