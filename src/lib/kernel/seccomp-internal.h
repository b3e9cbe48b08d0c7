/* SPDX-License-Identifier: GPL-2.0-or-later
 * Between seccomp.c (the compiler) and seccomp-cache.c (its cache on disk)
 * only. */
#ifndef ISC_KERNEL_SECCOMP_INTERNAL_H
#define ISC_KERNEL_SECCOMP_INTERNAL_H

#include "kernel/seccomp.h"

/* The key of a compiled profile: everything the program depends on. */
void isc_seccomp_cache_key(const struct isc_seccomp *sc, unsigned char key[32]);
/* The cache directory, opened and checked (trusted owner, no group/other
 * write); -1 when it is not to be used. */
int isc_seccomp_cache_open_dir(const char *path);
/* 0 and *out on a hit; -1 on a miss of any kind. */
int isc_seccomp_cache_load(int dirfd, const char *name, const unsigned char key[32], struct isc_seccomp_filter **out);
/* Best effort: written atomically, trimmed to its size bound. */
void isc_seccomp_cache_store(int dirfd, const char *name, const unsigned char key[32],
			     const struct isc_seccomp_filter *f);

#endif
