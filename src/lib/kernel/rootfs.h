/* SPDX-License-Identifier: GPL-2.0-or-later
 * The container's filesystem view, built in the init inside its new mount
 * namespace (mount.c, dev.c).  Order in the init:
 *   isc_rootfs_prepare   (rootfs bind, config mounts, /dev, devices)
 *   -- createRuntime/createContainer hooks run here --
 *   isc_rootfs_pivot     (pivot_root, old root detached)
 *   isc_rootfs_finalize  (masked and read-only paths, read-only root,
 *                         rootfsPropagation, verification: fail closed) */
#ifndef ISC_ROOTFS_H
#define ISC_ROOTFS_H

#include <stdbool.h>
#include <sys/types.h>
#include "base/error.h"
#include "spec/spec.h"

/* These steps change the mount table of the mount namespace they run in,
 * "/" and its propagation included: they may run only in the namespace the
 * runtime created for the container, never in its caller's.  The guard is
 * the proof: the runtime records its own mount namespace before it clones
 * the init (isc_rootfs_guard_record); prepare and pivot refuse to run in
 * that namespace (or when they cannot tell), pivot marks the guard
 * verified, and finalize runs only after that. */
struct isc_rootfs_guard {
	dev_t caller_dev; /* the caller's mount namespace (nsfs device and inode) */
	ino_t caller_ino;
	bool recorded;
	bool verified; /* pivot ran in another namespace than the caller's */
	/* In the init: the procfs prepare mounted at /proc (fstatfs-checked),
	 * -1 when none; how the init reaches /proc after pivot_root, where the
	 * path "/proc" may lead elsewhere (a mount over the root).  O_CLOEXEC. */
	int proc_fd;
};

/* Runtime side, before the clone: the caller's mount namespace. */
int isc_rootfs_guard_record(struct isc_rootfs_guard *g, isc_error **err);

/* `rootfs` is an absolute host path; `bundle` resolves relative sources;
 * `in_userns` selects bind-mounting device nodes instead of mknod. */
/* more_dirs: directories mounted after prepare (the scratch, the notify
 * directory), NULL-terminated or NULL: their mount points are made too. */
int isc_rootfs_prepare(struct isc_rootfs_guard *g, const struct isc_spec *spec, const char *rootfs, const char *bundle,
		       char *const *more_dirs, bool in_userns, isc_error **err);
int isc_rootfs_pivot(struct isc_rootfs_guard *g, const char *rootfs, isc_error **err);
int isc_rootfs_finalize(const struct isc_rootfs_guard *g, const struct isc_spec *spec, isc_error **err);
/* Where `path` (absolute inside the root at `rootfd`) leads: the root's
 * symbolic links followed as openat2 RESOLVE_IN_ROOT follows them (an
 * absolute target starts again at the root, ".." stops there), the
 * missing components kept as they are (a link that dangles inside the root
 * leads to its target).  A malloc'd absolute path without symbolic links
 * on its existing part, or NULL with errno (ELOOP, ENAMETOOLONG, a read
 * error).  The plan checks -v and --tmpfs destinations with it against
 * the image; isc_rootfs_mkpath and the mount point layer create there. */
char *isc_rootfs_resolve(int rootfd, const char *path);

/* The init's procfs (guard->proc_fd), or an error when prepare mounted none
 * at /proc: nothing after pivot_root may trust the path "/proc". */
int isc_rootfs_proc_fd(const struct isc_rootfs_guard *g, isc_error **err);

#endif
