/* SPDX-License-Identifier: GPL-2.0-or-later
 * seccomp: compile linux.seccomp to BPF once, in the runtime, with a cache
 * keyed by the profile digest, the libseccomp version and the kernel
 * release; install the ready program in the init right before exec. */
#ifndef ISC_SECCOMP_H
#define ISC_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include "base/error.h"
#include "spec/spec.h"

struct isc_seccomp_filter {
	struct sock_filter *insns;
	size_t len;           /* number of instructions */
	unsigned int flags;   /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
	bool from_cache;
};

/* Compile `sc` (or load it from the cache in `cache_dir`, which must be a
 * root-owned directory not writable by group or others; NULL = no cache).
 * A cache entry is checked (owner, mode, key and a SHA-256 of the program)
 * before it is used; a bad entry is ignored and rewritten. */
int isc_seccomp_prepare(const struct isc_seccomp *sc, const char *cache_dir,
			struct isc_seccomp_filter **out, isc_error **err);

/* In the init: load the program (seccomp(2) with its flags). */
int isc_seccomp_install(const struct isc_seccomp_filter *f, isc_error **err);

void isc_seccomp_filter_free(struct isc_seccomp_filter *f);

/* Keyword tables used by the parser: -1 when unknown. */
int isc_seccomp_action_from_name(const char *name); /* "SCMP_ACT_ERRNO" */
int isc_seccomp_op_from_name(const char *name);     /* "SCMP_CMP_EQ" */
bool isc_seccomp_arch_known(const char *name);      /* "SCMP_ARCH_X86_64" */
bool isc_seccomp_flag_known(const char *name);      /* "SECCOMP_FILTER_FLAG_LOG" */

#endif
