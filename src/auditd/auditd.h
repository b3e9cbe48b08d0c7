/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-auditd: the machine's audit collector (docs/audit.md). */
#ifndef ISC_AUDITD_H
#define ISC_AUDITD_H

#include <linux/audit.h>
#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define ISC_AUDITD_KEY "isc"

/* kernel.c: NETLINK_AUDIT control */
int isc_kaudit_open(bool multicast, isc_error **err);
int isc_kaudit_get(int fd, struct audit_status *st, isc_error **err);
/* AUDIT_SET with `mask` of *st; -errno in `*kerr` for a kernel refusal. */
int isc_kaudit_set(int fd, const struct audit_status *st, isc_error **err);
/* Our two rules (x86_64 execve/execveat, i386 execve/execveat), loginuid
 * in the container range; add ignores EEXIST, del ignores ENOENT. */
int isc_kaudit_rules(int fd, bool add, isc_error **err);
/* Count the rules carrying our key (for tests and --status). */
int isc_kaudit_count_rules(int fd, unsigned *n, isc_error **err);
/* One record: type and text (the kernel's nlmsg_len quirk handled). */
ssize_t isc_kaudit_recv(int fd, char *buf, size_t size, int *type, char **text);

#endif
