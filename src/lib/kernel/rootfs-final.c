/* SPDX-License-Identifier: GPL-2.0-or-later
 * After pivot_root: read-only and masked paths (the null device opened once
 * and bound by fd), and the fail-closed verification that the root, the
 * read-only paths and the masks are what the config asked, /proc reached
 * through the procfs the init mounted (isc_rootfs_finalize). */
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

static bool path_in(char **list, const char *path)
{
	for (size_t i = 0; list && list[i]; i++)
		if (isc_rootfs_path_eq(list[i], path))
			return true;
	return false;
}

static int readonly_path(const char *path, isc_error **err)
{
	cleanup_close int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "readonly path %s", path);
	}
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	if (isc_rootfs_set_attr(tree, AT_RECURSIVE, &a) < 0 ||
	    move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
		return isc_error_set(err, errno, "readonly path %s", path);
	return 0;
}

/* Files get the null device, directories an empty read-only tmpfs.  The
 * source is the null device opened and checked once (null_fd) and bound
 * by fd: a /dev/null swapped for a symlink meanwhile changes nothing (runc
 * CVE-2025-31133 bound whatever the name pointed to at each mount). */
static int masked_path(int null_fd, const char *path, isc_error **err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "masked path %s", path);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
			return isc_error_set(err, errno, "masked path %s", path);
		return 0;
	}
	cleanup_close int tree = open_tree(null_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0 || move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
		return isc_error_set(err, errno, "masked path %s", path);
	return 0;
}

/* The container's /dev/null, once, not following a symlink: it must be
 * the null device itself. */
static int open_null(isc_error **err)
{
	int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "masked paths: /dev/null");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return isc_error_set(err, e, "masked paths: stat /dev/null");
	}
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		return isc_error_set(err, 0, "masked paths: /dev/null is not the null device");
	}
	return fd;
}

static int verify_readonly(const char *path, bool must_exist, isc_error **err)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0) {
		if (errno == ENOENT && !must_exist)
			return 0; /* hidden by a later mount or mask: nothing to write to */
		return isc_error_set(err, errno, "verify read-only %s", path);
	}
	if (!(sv.f_flag & ST_RDONLY))
		return isc_error_set(err, 0, "verify read-only %s: mount is writable", path);
	return 0;
}

static bool mount_overmounted(const struct isc_spec *spec, size_t i)
{
	for (size_t j = i + 1; j < spec->n_mounts; j++)
		if (spec->mounts[j].destination &&
		    isc_rootfs_path_eq(spec->mounts[j].destination, spec->mounts[i].destination))
			return true;
	return false;
}

/* Fail closed: everything asked read-only must be read-only now. */
static int verify(const struct isc_spec *spec, isc_error **err)
{
	if (spec->root_readonly) {
		if (verify_readonly("/", true, err) < 0)
			return -1;
		/* the permission check the container's writes will meet: it must
		 * refuse.  EACCES comes before EROFS when "/" belongs to an id the
		 * user namespace does not map; statvfs above proved the mount flag. */
		if (faccessat(AT_FDCWD, "/", W_OK, AT_EACCESS) == 0)
			return isc_error_set(err, 0, "verify read-only /: write access is not refused");
		/* EPERM: an immutable root (an image of the isc store) */
		if (errno != EROFS && errno != EACCES && errno != EPERM)
			return isc_error_set(err, errno, "verify read-only /");
	}
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct isc_mount *m = &spec->mounts[i];
		if (!((m->flags & MS_RDONLY) || m->rro) || mount_overmounted(spec, i) ||
		    path_in(spec->masked_paths, m->destination))
			continue;
		if (verify_readonly(m->destination, false, err) < 0)
			return -1;
	}
	for (size_t i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++) {
		const char *p = spec->readonly_paths[i];
		if (!path_in(spec->masked_paths, p) && verify_readonly(p, false, err) < 0)
			return -1;
	}
	return 0;
}

static bool any_under_proc(char **list)
{
	for (size_t i = 0; list && list[i]; i++) {
		size_t n;
		const char *first = isc_rootfs_next_component(list[i], &n);
		if (n == 4 && strncmp(first, "proc", 4) == 0)
			return true;
	}
	return false;
}

/* The masked and read-only paths below are reached by name: "/proc" must
 * lead to the procfs prepare mounted, not to what a config mount over the
 * root (an image symlink /x -> / and a volume at /x) put in its place. */
static int verify_proc_path(const struct isc_rootfs_guard *g, const struct isc_spec *spec, isc_error **err)
{
	if (!any_under_proc(spec->masked_paths) && !any_under_proc(spec->readonly_paths))
		return 0;
	if (isc_rootfs_proc_fd(g, err) < 0)
		return isc_error_wrap(err, "masked and read-only paths under /proc");
	struct statx ours, seen;
	if (statx(g->proc_fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &ours) < 0 ||
	    statx(AT_FDCWD, "/proc", 0, STATX_INO | STATX_MNT_ID, &seen) < 0)
		return isc_error_set(err, errno, "masked and read-only paths: stat /proc");
	if (ours.stx_mnt_id != seen.stx_mnt_id || ours.stx_ino != seen.stx_ino ||
	    ours.stx_dev_major != seen.stx_dev_major || ours.stx_dev_minor != seen.stx_dev_minor)
		return isc_error_set(err, 0,
				     "masked and read-only paths: /proc is not the proc filesystem the runtime "
				     "mounted there (a mount over the root hides it): refused");
	return 0;
}

int isc_rootfs_finalize(const struct isc_rootfs_guard *g, const struct isc_spec *spec, isc_error **err)
{
	if (g == NULL || !g->verified)
		return isc_error_set(err, EPERM,
				     "refusing to finalize the root: pivot_root did not run in a mount "
				     "namespace of the container's");
	if (verify_proc_path(g, spec, err) < 0)
		return -1;
	/* read-only first, masks on top (a masked path below a read-only one
	 * must stay masked) */
	for (size_t i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++)
		if (readonly_path(spec->readonly_paths[i], err) < 0)
			return -1;

	if (spec->masked_paths && spec->masked_paths[0]) {
		/* a mask must never show content: the source is the null device */
		cleanup_close int null_fd = open_null(err);
		if (null_fd < 0)
			return -1;
		for (size_t i = 0; spec->masked_paths[i]; i++)
			if (masked_path(null_fd, spec->masked_paths[i], err) < 0)
				return -1;
	}

	if (spec->root_readonly) {
		/* only the root mount (not /proc, /tmp, ... below it); the flags
		 * not named, locked ones included, are left as they are */
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(AT_FDCWD, "/", 0, &a, sizeof a) < 0)
			return isc_error_set(err, errno, "remount / read-only");
	}
	if (spec->rootfs_propagation && mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
		return isc_error_set(err, errno, "rootfsPropagation");
	return verify(spec, err);
}
