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
#include "error.h"
#include "spec.h"

/* `rootfs` is an absolute host path; `bundle` resolves relative sources;
 * `in_userns` selects bind-mounting device nodes instead of mknod. */
int isc_rootfs_prepare(const struct isc_spec *spec, const char *rootfs, const char *bundle,
		       bool in_userns, isc_error **err);
int isc_rootfs_pivot(const char *rootfs, isc_error **err);
int isc_rootfs_finalize(const struct isc_spec *spec, isc_error **err);

/* Parse one mount option list into flags (exposed for unit tests). */
int isc_mount_parse_options(char **options, struct isc_mount *m, isc_error **err);

#endif
