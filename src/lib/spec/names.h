/* SPDX-License-Identifier: GPL-2.0-or-later
 * The names config.json gives kernel things (names.c), below the Linux layer
 * that applies them: kernel/caps.h and kernel/seccomp.h include this. */
#ifndef ISC_SPEC_NAMES_H
#define ISC_SPEC_NAMES_H

#include <stdbool.h>
#include <stdint.h>

/* "CAP_SYS_ADMIN" -> 21; -1 when unknown.  The table covers every
 * capability Linux defines (up to CAP_CHECKPOINT_RESTORE = 40). */
int isc_cap_from_name(const char *name);
const char *isc_cap_name(int cap); /* NULL when out of range */
int isc_cap_last(void);		   /* last capability of the table */

/* Keyword lookups of linux.seccomp; -1 / false when unknown. */
int isc_seccomp_action_from_name(const char *name); /* "SCMP_ACT_ERRNO" */
int isc_seccomp_op_from_name(const char *name);	    /* "SCMP_CMP_EQ" */
bool isc_seccomp_arch_known(const char *name);	    /* "SCMP_ARCH_X86_64" */
bool isc_seccomp_flag_known(const char *name);	    /* "SECCOMP_FILTER_FLAG_LOG" */
/* The name of an ISC_SCMP_* action ("unknown action" when none). */
const char *isc_seccomp_action_name(int action);
/* libseccomp's token of a known architecture; 0 when this libseccomp does
 * not know it (or the name is unknown). */
uint32_t isc_seccomp_arch_token(const char *name);
/* The SECCOMP_FILTER_FLAG_* value of a known flag name; 0 when unknown. */
unsigned int isc_seccomp_flag_value(const char *name);

#endif
