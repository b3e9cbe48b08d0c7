/* SPDX-License-Identifier: GPL-2.0-or-later
 * What the rootfs code writes into new filesystems: tmpcopyup's copy of a
 * covered directory into the new tmpfs (through the fsmount fd, entry by
 * entry, opening only what it stat'ed), and the layer of mount points the
 * image lacks (a read-only overlay over the image whose top layer holds
 * only the missing directories and files: docs/images.md). */
#include "kernel/rootfs.h"
#include "kernel/cgroup.h"
#include "kernel/rootfs-internal.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* tmpcopyup: copy the image's directory into the fresh tmpfs             */

#define COPYUP_MAX_DEPTH 128

static int copy_data(int in, int out, off_t size)
{
	while (size > 0) {
		ssize_t n = sendfile(out, in, NULL, (size_t)size > 0x7ffff000 ? 0x7ffff000 : (size_t)size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break; /* the file shrank */
		size -= n;
	}
	return 0;
}

/* owner, mode and times of dst/name from `st`; unmapped ids are kept as
 * the kernel's overflow id */
static int copy_meta(int dirfd, const char *name, const struct stat *st)
{
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
		return -1;
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		return -1;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	return utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* src/name opened only if it is still what fstatat saw (`st`: same type,
 * device and inode): whoever can write the covered directory (a volume
 * shared with another tenant) may swap the name in between, e.g. for a
 * fifo, whose open would wait for a writer forever.  Never blocks
 * (O_NONBLOCK: a fifo or a device opens at once), never follows a link;
 * a swapped entry fails the copy with ESTALE. */
static int open_same(int src, const char *name, int flags, const struct stat *st)
{
	int fd = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | flags);
	if (fd < 0)
		return -1;
	struct stat now;
	if (fstat(fd, &now) < 0 || (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT) || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino) {
		close(fd);
		return errno = ESTALE, -1;
	}
	/* a regular file's reads need no O_NONBLOCK, and sendfile wants none */
	if (!(flags & O_DIRECTORY) && fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int copy_tree(int src, int dst, int depth)
{
	if (depth > COPYUP_MAX_DEPTH)
		return errno = ELOOP, -1;
	int dfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		isc_closep(&dfd);
		return -1;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dst, n, 0700) < 0) {
				r = -1;
				break;
			}
			cleanup_close int s = open_same(src, n, O_DIRECTORY, &st);
			cleanup_close int t = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || t < 0 || copy_tree(s, t, depth + 1) < 0)
				r = -1;
		} else if (S_ISREG(st.st_mode)) {
			cleanup_close int s = open_same(src, n, 0, &st);
			cleanup_close int t =
				openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (s < 0 || t < 0 || copy_data(s, t, st.st_size) < 0)
				r = -1;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t k = readlinkat(src, n, target, sizeof target - 1);
			if (k < 0) {
				r = -1;
				break;
			}
			target[k] = '\0';
			if (symlinkat(target, dst, n) < 0)
				r = -1;
		} else if (mknodat(dst, n, st.st_mode, st.st_rdev) < 0) {
			if (errno == EPERM)
				continue; /* a device node in a user namespace: left out */
			r = -1;
		}
		if (r == 0 && copy_meta(dst, n, &st) < 0)
			r = -1;
	}
	int saved = errno;
	closedir(d);
	errno = saved;
	return r == 0 && errno != 0 ? -1 : r;
}

int isc_rootfs_copyup(int from, int to, const char *data)
{
	if (copy_tree(from, to, 0) < 0)
		return -1;
	/* the tmpfs root takes the directory's owner (and mode unless given) */
	struct stat st;
	if (fstat(from, &st) < 0)
		return -1;
	if (fchown(to, st.st_uid, st.st_gid) < 0 && errno != EINVAL)
		return -1;
	if ((data == NULL || strstr(data, "mode=") == NULL) && fchmod(to, st.st_mode & 07777) < 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Mount points a read-only root lacks: the mount point layer             */

/* A destination is beneath another: component by component. */
static bool path_beneath(const char *p, const char *dir)
{
	for (;;) {
		size_t np, nd;
		p = isc_rootfs_next_component(p, &np);
		dir = isc_rootfs_next_component(dir, &nd);
		if (nd == 0)
			return np != 0;
		if (np != nd || memcmp(p, dir, nd) != 0)
			return false;
		p += np;
		dir += nd;
	}
}

struct mount_point {
	const char *dest;
	bool dir; /* else an empty file (the bind of a file) */
};

/* Does the root at `rootfd` lack `dest` (resolved in root)? */
static bool lacks(int rootfd, const char *dest)
{
	int fd = isc_rootfs_open(rootfd, dest, O_PATH);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ENOENT;
}

/* A bind of a file needs a file to cover; anything else a directory. */
static bool wants_dir(const struct isc_mount *m, const char *bundle)
{
	if (!m->bind || m->source == NULL)
		return true;
	cleanup_free char *src = (m->source[0] == '/' || bundle == NULL) ? isc_xstrdup(m->source)
									 : isc_xasprintf("%s/%s", bundle, m->source);
	struct stat st;
	return stat(src, &st) < 0 || S_ISDIR(st.st_mode);
}

/* The mount points the root lacks, in the order they are mounted: each
 * config mount's destination unless an earlier mount covers it (/dev/pts
 * goes into the /dev tmpfs, a path under a volume into the volume, as
 * before), then `more` (the scratch, the notify directory). */
static size_t missing_points(int rootfd, const struct isc_spec *spec, const char *bundle, char *const *more,
			     struct mount_point *out)
{
	size_t n = 0;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct isc_mount *m = &spec->mounts[i];
		bool covered = m->destination == NULL || m->destination[0] != '/';
		for (size_t j = 0; j < i && !covered; j++)
			covered = spec->mounts[j].destination &&
				  path_beneath(m->destination, spec->mounts[j].destination);
		if (!covered && lacks(rootfd, m->destination))
			out[n++] = (struct mount_point){ m->destination, wants_dir(m, bundle) };
	}
	/* the /dev prepare mounts itself when the config has none */
	if (!isc_rootfs_has_mount(spec, "/dev") && lacks(rootfd, "/dev"))
		out[n++] = (struct mount_point){ "/dev", true };
	for (size_t k = 0; more && more[k]; k++) {
		bool covered = more[k][0] != '/';
		for (size_t j = 0; j < spec->n_mounts && !covered; j++)
			covered = spec->mounts[j].destination && path_beneath(more[k], spec->mounts[j].destination);
		if (!covered && lacks(rootfd, more[k]))
			out[n++] = (struct mount_point){ more[k], true };
	}
	return n;
}

/* Make `resolved` (a symlink-free path of the image) in the layer at
 * `layer`: each directory the image has gets its owner, mode and times
 * (the layer's directory is what the merged view shows), each missing one
 * 0755, the last an empty file 0644 unless `dir`. */
static int layer_mkpath(int imagefd, int layer, const char *resolved, bool dir)
{
	cleanup_close int in_image = fcntl(imagefd, F_DUPFD_CLOEXEC, 3);
	cleanup_close int cur = fcntl(layer, F_DUPFD_CLOEXEC, 3);
	if (in_image < 0 || cur < 0)
		return -1;
	const char *p = resolved;
	for (;;) {
		size_t n;
		p = isc_rootfs_next_component(p, &n);
		if (n == 0)
			return 0;
		char name[NAME_MAX + 1];
		if (n > NAME_MAX)
			return errno = ENAMETOOLONG, -1;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		size_t rest;
		isc_rootfs_next_component(p, &rest);
		bool is_last = rest == 0;
		struct stat st;
		bool in_img =
			in_image >= 0 && fstatat(in_image, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		int r = (is_last && !dir) ? mknodat(cur, name, S_IFREG | 0644, 0) : mkdirat(cur, name, 0755);
		if (r < 0 && errno != EEXIST)
			return -1;
		if (r == 0 && in_img && copy_meta(cur, name, &st) < 0)
			return -1;
		if (is_last)
			return 0;
		int next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return -1;
		isc_closep(&cur);
		cur = next;
		int inext = in_img ? openat(in_image, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		isc_closep(&in_image);
		in_image = inext;
	}
}

/* The layer: a small tmpfs holding only the missing mount points, its
 * root with the image root's owner, mode and times. */
static int layer_make(int rootfd, const struct mount_point *pts, size_t n, isc_error **err)
{
	char log[ISC_FSLOG_MAX];
	cleanup_close int mnt = isc_rootfs_fsmount("tmpfs", "isc-mountpoints", MS_NOSUID | MS_NODEV | MS_NOEXEC,
						   "size=1m,nr_inodes=4096,mode=0755", log, sizeof log);
	if (mnt < 0)
		return isc_error_set(err, errno, "mount point layer: tmpfs%s%s", log[0] ? ": " : "", log);
	cleanup_close int top = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (top < 0 || fstat(rootfd, &st) < 0 || (fchown(top, st.st_uid, st.st_gid) < 0 && errno != EINVAL) ||
	    fchmod(top, st.st_mode & 07777) < 0)
		return isc_error_set(err, errno, "mount point layer: its root");
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *resolved = isc_rootfs_resolve(rootfd, pts[i].dest);
		if (resolved == NULL || layer_mkpath(rootfd, top, resolved, pts[i].dir) < 0)
			return isc_error_set(err, errno, "mount point %s (in the mount point layer)", pts[i].dest);
	}
	return steal_fd(&mnt);
}

/* The read-only overlay: the layer over the image (both lower layers, no
 * upper: nothing can be written through it), with the image mount's
 * nosuid/nodev/noexec/ro.  Overlayfs takes private clones of its layers,
 * so the layer is attached at `rootfs` only while the overlay is made. */
static int overlay_make(const char *rootfs, int rootfd, int layer, bool in_userns, isc_error **err)
{
	struct statvfs sv;
	if (fstatvfs(rootfd, &sv) < 0)
		return isc_error_set(err, errno, "mount point layer: statvfs %s", rootfs);
	if (move_mount(layer, "", AT_FDCWD, rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return isc_error_set(err, errno, "mount point layer: attach");
	char lpath[ISC_FDPATH_MAX], rpath[ISC_FDPATH_MAX], log[ISC_FSLOG_MAX] = "";
	cleanup_close int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	int r = fsfd < 0 ? -1 : 0;
	if (r == 0)
		r = fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", isc_fdpath(lpath, layer, NULL), 0);
	if (r == 0)
		r = fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", isc_fdpath(rpath, rootfd, NULL), 0);
	if (r == 0 && in_userns)
		r = fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
	/* the image's own xattrs never redirect a directory (the store
	 * imports none; this holds whatever it imports later) */
	if (r == 0)
		r = fsconfig(fsfd, FSCONFIG_SET_STRING, "redirect_dir", "nofollow", 0);
	if (r == 0)
		r = fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
	int saved = errno;
	if (r < 0 && fsfd >= 0)
		isc_rootfs_fs_log(fsfd, log, sizeof log);
	if (umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		return isc_error_set(err, errno, "mount point layer: detach");
	if (r < 0)
		return isc_error_set(err, saved, "mount point layer: overlay%s%s", log[0] ? ": " : "", log);
	uint64_t attrs = isc_rootfs_st_to_attr(sv.f_flag) &
			 (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	cleanup_close int ovl = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)attrs);
	if (ovl < 0 || move_mount(ovl, "", AT_FDCWD, rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return isc_error_set(err, errno, "mount point layer: overlay");
	return 0;
}

/* The mount points a container needs exist without the image carrying
 * them, the image untouched: when the root is read-only and lacks some, a
 * read-only overlay of a layer holding just those over the image replaces
 * the root bind (docs/images.md, "Mount points the image lacks"); so too
 * for an image of the store (org.isc.image.root) on a writable mount.  A
 * writable root gets them created in place at mount time, as runc does.  Returns the root to
 * build on (a new fd when the overlay was made, else a dup of rootfd). */
int isc_rootfs_mount_points(const struct isc_spec *spec, const char *rootfs, int rootfd, const char *bundle,
			    char *const *more, bool in_userns, isc_error **err)
{
	struct statvfs sv;
	if (fstatvfs(rootfd, &sv) < 0)
		return isc_error_set(err, errno, "statvfs %s", rootfs);
	size_t max = spec->n_mounts + isc_strvlen(more) + 2;
	cleanup_free struct mount_point *pts = isc_xmalloc0(max * sizeof *pts);
	/* an image of the store is never written, even where its mount is
	 * not read-only (--userns host: the store's own rootfs) */
	bool image = isc_spec_annotation(spec, "org.isc.image.root") != NULL; /* image/manifest.h */
	size_t n = ((sv.f_flag & ST_RDONLY) || image) ? missing_points(rootfd, spec, bundle, more, pts) : 0;
	if (n == 0) {
		int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? isc_error_set(err, errno, "dup the root") : fd;
	}
	cleanup_close int layer = layer_make(rootfd, pts, n, err);
	if (layer < 0 || overlay_make(rootfs, rootfd, layer, in_userns, err) < 0)
		return -1;
	int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? isc_error_set(err, errno, "open rootfs %s", rootfs) : fd;
}
