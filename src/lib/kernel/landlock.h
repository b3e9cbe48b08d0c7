/* SPDX-License-Identifier: GPL-2.0-or-later
 * org.isc.landlock: a Landlock domain for every process of a container, on
 * top of the read-only mounts and the seccomp filter.  What it adds:
 *  - writes (create, remove, rename, truncate, write-open) only beneath the
 *    listed paths, whatever a mount's flags say (defence in depth against a
 *    writable bind mount that should not be);
 *  - TCP bind only to the listed ports (a compromised service cannot open a
 *    listener of its own for a flow that `isc allow` or a later expose would
 *    let in);
 *  - scoped signals and abstract unix sockets (no reaching outside the
 *    container's own Landlock domain).
 * Value: "rw=/tmp:/run:/scratch,bind=80:443" (items optional; no rw= means
 * no write anywhere; no bind= means bind is not restricted). */
#ifndef ISC_LANDLOCK_H
#define ISC_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"

#define ISC_LANDLOCK_ANNOTATION "org.isc.landlock"
#define ISC_LANDLOCK_MAX 64u

struct isc_landlock {
	char *rw[ISC_LANDLOCK_MAX];
	size_t n_rw;
	uint16_t bind[ISC_LANDLOCK_MAX];
	size_t n_bind;
	bool restrict_bind;
};

int isc_landlock_parse(const char *value, struct isc_landlock *ll, isc_error **err);
void isc_landlock_clear(struct isc_landlock *ll);
/* The running kernel's Landlock ABI (0 when unsupported). */
int isc_landlock_abi(void);
/* Also let the process write to this open file after it restricted itself
 * (the init's exec.fifo, which lives outside the container's view). */
void isc_landlock_allow_fd_write(int fd);
/* Restrict the calling process (needs no_new_privs).  Paths are resolved
 * in the caller's view (the container's, after pivot_root); a missing
 * path is skipped.  A kernel without Landlock is an error: the operator
 * asked for it. */
int isc_landlock_apply(const struct isc_landlock *ll, isc_error **err);

#endif
