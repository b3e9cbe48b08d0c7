/* SPDX-License-Identifier: GPL-2.0-or-later
 * Shared between the rootfs files (rootfs.c, rootfs-path.c, rootfs-layer.c,
 * rootfs-final.c) and dev.c only: safe path resolution inside the rootfs,
 * mount attributes, new filesystems and the /dev setup.  Helpers here
 * return -1 with errno set (the caller names the mount or device in the
 * isc_error), except those taking an isc_error **, which follow the
 * isc_error convention. */
#ifndef ISC_ROOTFS_INTERNAL_H
#define ISC_ROOTFS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "spec/spec.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

/* flags that mean something to mount(2) for a new filesystem */
#define MS_PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define MS_NOT_FS (MS_BIND | MS_MOVE | MS_REC | MS_REMOUNT | MS_PROPAGATION)
#define MOUNT_ATTR_FLAGS                                                                                        \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | \
	 MOUNT_ATTR_NOSYMFOLLOW)

/* "/proc/self/fd/N": a mount(2) target that is exactly what fd N resolved to. */
#define ISC_FDPATH_MAX 48
static inline const char *isc_fdpath(char *buf, int fd, const char *name)
{
	snprintf(buf, ISC_FDPATH_MAX, "/proc/self/fd/%d%s%s", fd, name ? "/" : "", name ? name : "");
	return buf;
}

/* What isc_rootfs_mkpath creates for a missing last component. */
enum isc_rootfs_create {
	ISC_CREATE_NONE, /* nothing: ENOENT */
	ISC_CREATE_DIR,
	ISC_CREATE_FILE, /* an empty regular file (bind target for a file) */
};

/* Open `path` (absolute inside the container) under `rootfd`, resolving
 * symlinks and ".." as if rootfd were "/" (openat2 RESOLVE_IN_ROOT) and
 * refusing magic links.  `flags` are open flags (O_CLOEXEC is added). */
int isc_rootfs_open(int rootfd, const char *path, int flags);
/* Same, creating missing directories on the way (mode 0755) and the last
 * component as `last`.  Returns an O_PATH fd. */
int isc_rootfs_mkpath(int rootfd, const char *path, enum isc_rootfs_create last);
/* Open (creating) the parent directory of `path`; *base points into `path`
 * at the last component (never empty, never "." or ".."). */
int isc_rootfs_open_parent(int rootfd, const char *path, const char **base);

/* The next component of a path: skips "/" runs and "." components; *n is
 * its length (0 at the end). */
const char *isc_rootfs_next_component(const char *p, size_t *n);
/* Compare two absolute paths, ignoring repeated and trailing slashes and
 * "." components ("/dev//pts/" equals "/dev/pts"). */
bool isc_rootfs_path_eq(const char *a, const char *b);
/* True when a config mount has `dest` as its destination. */
bool isc_rootfs_has_mount(const struct isc_spec *spec, const char *dest);

/* A new filesystem, created detached (fsopen, one fsconfig per option of
 * the comma-separated `data`, fsmount): what mount(2) would make of the
 * same arguments (`flags` are MS_* superblock and mount flags), but not
 * attached anywhere yet.  Returns an O_PATH fd of the new mount's root
 * (O_CLOEXEC), or -1 with errno set and `log` holding the filesystem's
 * message when it gave one (else ""). */
#define ISC_FSLOG_MAX 200
int isc_rootfs_fsmount(const char *type, const char *source, unsigned long flags, const char *data, char *log,
		       size_t logsize);

/* dev.c: the small tmpfs on ROOTFS/dev, mounted before the config mounts
 * when none of them targets /dev.  Returns the mount's root (O_PATH). */
int isc_rootfs_dev_mount(int rootfd, isc_error **err);
/* dev.c: device nodes (default set + linux.devices), the standard
 * symlinks, /dev/pts and /dev/shm when the config gives none, made in
 * `devfd`: the root of the mount prepare made for /dev (-1: none).  Fails
 * closed unless "/dev" in the rootfs leads to that mount and, when it is a
 * new filesystem (not the config's bind at "/dev": `dev_bind`), a tmpfs. */
int isc_rootfs_dev_populate(const struct isc_spec *spec, int rootfd, int devfd, bool dev_bind, bool in_userns,
			    isc_error **err);

/* rootfs.c: the statvfs flags (ST_*) of a mount as mount_setattr attributes. */
uint64_t isc_rootfs_st_to_attr(unsigned long st);
/* rootfs.c: mount_setattr on the mount `fd`; a flag the kernel locked
 * (EPERM when cleared) is restated from the mount's own flags. */
struct mount_attr;
int isc_rootfs_set_attr(int fd, unsigned flags, struct mount_attr *a);
/* rootfs.c: the last error the filesystem logged on its fsopen context. */
void isc_rootfs_fs_log(int fsfd, char *log, size_t size);

/* rootfs-layer.c: tmpcopyup: the directory `from` copied into the new
 * filesystem's root `to` (owners, modes, times; an entry is opened only if
 * it is still what was stat'ed); `to` takes from's owner, and its mode
 * unless `data` has mode=.  -1 with errno. */
int isc_rootfs_copyup(int from, int to, const char *data);
/* rootfs-layer.c: when the root lacks mount points the config needs (its
 * destinations, /dev, and `more`), a read-only overlay over the image at
 * `rootfs` whose top layer holds only them.  Returns the root to build on
 * (the overlay's, or a dup of rootfd when none is missing). */
int isc_rootfs_mount_points(const struct isc_spec *spec, const char *rootfs, int rootfd, const char *bundle,
			    char *const *more, bool in_userns, isc_error **err);

#endif
