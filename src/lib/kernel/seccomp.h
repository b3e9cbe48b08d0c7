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
#include "spec/names.h" /* the keyword tables */
#include "spec/spec.h"

struct isc_seccomp_filter {
	struct sock_filter *insns;
	size_t len;	    /* number of instructions */
	unsigned int flags; /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
	bool from_cache;
};

/* Compile `sc` (or load it from the cache in `cache_dir`, which must be a
 * root-owned directory not writable by group or others; NULL = no cache).
 * A cache entry is checked (owner, mode, key and a SHA-256 of the program)
 * before it is used; a bad entry is ignored and rewritten. */
int isc_seccomp_prepare(const struct isc_seccomp *sc, const char *cache_dir, struct isc_seccomp_filter **out,
			isc_error **err);

/* In the init: load the program (seccomp(2) with its flags). */
int isc_seccomp_install(const struct isc_seccomp_filter *f, isc_error **err);

void isc_seccomp_filter_free(struct isc_seccomp_filter *f);

#endif
