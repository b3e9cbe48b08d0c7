/* SPDX-License-Identifier: GPL-2.0-or-later
 * Volume sources (`isc run -v SRC:DST`): found without following a
 * symbolic link, identified at `isc run`, checked at every start and handed
 * to the runtime as a mount made from the opened source (docs/defaults.md,
 * "Volumes").
 *
 * Why: a source given by path and resolved again at every start could be
 * swapped between two starts by whoever can write one of its parents (a
 * service with a writable volume above it): the next start would mount what
 * the path then names, e.g. the host's /etc.  So:
 *   - the path is walked from / one component at a time (O_PATH|O_NOFOLLOW):
 *     a symbolic link anywhere on it is refused, and the walk yields the
 *     (dev, inode) of every directory on the way, for the "inside a path a
 *     service can write" check of iscd;
 *   - `isc run` records the source's identity: device, inode, and the id of
 *     the mount it is reached through (statx STATX_MNT_ID_UNIQUE, else
 *     STATX_MNT_ID), with the boot it was taken in (mount ids are per boot);
 *   - every start opens it the same way, compares, and refuses a mismatch;
 *   - the opened source is bound (open_tree from the fd + move_mount) at
 *     R/containers/NAME/volumes/N, a path only root can write, and the
 *     runtime binds that: the source's path is never resolved again. */
#ifndef ISC_VOLUME_H
#define ISC_VOLUME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

#define ISC_BOOT_ID_LEN 36

struct isc_volume_id {
	bool set;     /* recorded (a plan from before identities has none) */
	uint64_t dev; /* makedev(major, minor) */
	uint64_t ino;
	uint64_t mnt_id; /* the mount the source is reached through */
	bool mnt_unique; /* mnt_id is STATX_MNT_ID_UNIQUE (never reused within a boot) */
	char boot_id[ISC_BOOT_ID_LEN + 1];
};

/* One object on the way to a source: "/", each component, the source. */
struct isc_volume_step {
	uint64_t dev, ino;
};

struct isc_volume_path {
	int fd;	     /* O_PATH of the source, -1 when closed */
	mode_t mode; /* its type and mode */
	struct isc_volume_step *steps;
	size_t n_steps;
};

/* Walk the absolute path `src` (no "." or "..") from / without following a
 * symbolic link; `what` starts every message ("-v /srv/x").  ENOENT and the
 * like name the component; a symbolic link is refused with its name and
 * advice for `isc run`, or (at_start) for a source that was replaced. */
int isc_volume_open(const char *what, const char *src, bool at_start, struct isc_volume_path *out, isc_error **err);
void isc_volume_path_clear(struct isc_volume_path *p);

/* The identity of an open source (any fd). */
int isc_volume_identify(int fd, struct isc_volume_id *id, isc_error **err);

/* `now` against the `recorded` identity of the source `src` (for DST):
 * the same object through the same mount -> 0.  After a reboot the mount id
 * cannot be compared: device and inode must match and *refresh is set (the
 * caller records `now`).  Anything else -> -1 with an error that says what
 * changed and what the operator can do. */
int isc_volume_id_check(const struct isc_volume_id *recorded, const struct isc_volume_id *now, const char *src,
			const char *dst, bool *refresh, isc_error **err);

/* True when `id` (dev, ino) is one of path's steps before its last one
 * (a proper parent), or any step when `or_self`. */
bool isc_volume_path_has(const struct isc_volume_path *p, uint64_t dev, uint64_t ino, bool or_self);

/* Bind the open source `fd` (recursively, with its submounts) at `at`, made
 * first as an empty directory or file after the source's type; nosuid,
 * nodev, and read-only when `ro`. */
int isc_volume_stage(int fd, mode_t mode, bool ro, const char *at, isc_error **err);
/* Undo isc_volume_stage: unmount everything stacked at `at`, then remove
 * the mount point.  Nothing there is not an error. */
int isc_volume_unstage(const char *at, isc_error **err);

/* The identity as JSON ({"dev": "MAJ:MIN", "ino": "N", "mnt_id": "N",
 * "mnt_id_unique": bool, "boot_id": "..."}; numbers as strings: they are
 * 64-bit) and back. */
json_t *isc_volume_id_to_json(const struct isc_volume_id *id);
int isc_volume_id_from_json(json_t *j, struct isc_volume_id *id, isc_error **err);

/* This boot's id (/proc/sys/kernel/random/boot_id). */
int isc_boot_id(char out[ISC_BOOT_ID_LEN + 1], isc_error **err);

#endif
