/* SPDX-License-Identifier: GPL-2.0-or-later
 * User-namespace id ranges for services, and idmapped mounts of image
 * rootfs (the image store is root-only and owned by the image's own ids; a
 * container in a user namespace sees its image through an idmapped,
 * read-only mount: on-disk 0 -> uid_base). */
#ifndef ISC_IDMAP_H
#define ISC_IDMAP_H

#include <stdbool.h>
#include <stdint.h>
#include "base/error.h"

#define ISC_IDRANGE_SIZE 65536u

/* A range of ISC_IDRANGE_SIZE host ids for the service NAME of the host
 * ROOT, allocated machine-wide (labs and the real host never share a
 * range) and persistent: the same (root, name) gets the same base back
 * until it is freed. */
int isc_idrange_alloc(const char *root, const char *name, uint32_t *base, isc_error **err);
int isc_idrange_free(const char *root, const char *name, isc_error **err);
/* Free every range of ROOT (isc deinit). */
int isc_idrange_free_root(const char *root, isc_error **err);

/* An idmapped bind mount of the directory src at dst (created when
 * missing): ids 0..count-1 on disk appear as base..base+count-1; read-only
 * when asked; nosuid, nodev. */
int isc_idmap_mount(const char *src, const char *dst, uint32_t uid_base, uint32_t gid_base, uint32_t count,
		    bool readonly, isc_error **err);
/* Detach (lazy) the mount at dst; ENOENT/EINVAL (nothing mounted) is success. */
int isc_idmap_umount(const char *dst, isc_error **err);

#endif
