/* SPDX-License-Identifier: GPL-2.0-or-later
 * The container's /dev: a small tmpfs with the default device set, the
 * devices of linux.devices, the standard symlinks, a private devpts
 * instance and /dev/shm.  Kept minimal on purpose: nothing else appears.
 *
 * Device nodes are created with mknod when we may (real root, no user
 * namespace); inside a user namespace mknod is refused by the kernel, so the
 * host's node is bind-mounted onto an empty file instead (the kernel checks
 * device access against the host node, which is what we want).
 *
 * Everything is made through the fd of the mount prepare made at /dev,
 * never through the name "/dev", and only once that name is checked to
 * lead to it (an image symlink could stack a host volume on
 * /dev, and the nodes went into the volume). */
#include "kernel/rootfs-internal.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct dev_node {
	const char *name;
	unsigned major, minor;
};

/* The device set every container gets (OCI "Default Devices"). */
static const struct dev_node default_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

struct dev_link {
	const char *name, *target;
};

/* /dev/core -> /proc/kcore is deliberately absent. */
static const struct dev_link default_links[] = {
	{ "fd", "/proc/self/fd" },	 { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },
};

/* Small: device nodes, symlinks and directories use no data pages; the
 * limit only stops the container from filling memory through /dev. */
#define DEV_TMPFS_DATA "mode=755,size=64k"
#define DEV_TMPFS_FLAGS (MS_NOSUID | MS_NOEXEC | MS_STRICTATIME)
#define PTS_DATA "newinstance,ptmxmode=0666,mode=0620"
#define SHM_DATA "mode=1777,size=65536k"

int isc_rootfs_dev_mount(int rootfd, isc_error **err)
{
	char log[ISC_FSLOG_MAX];
	cleanup_close int target = isc_rootfs_mkpath(rootfd, "/dev", ISC_CREATE_DIR);
	if (target < 0)
		return isc_error_set(err, errno, "mount tmpfs to /dev");
	cleanup_close int mnt = isc_rootfs_fsmount("tmpfs", "tmpfs", DEV_TMPFS_FLAGS, DEV_TMPFS_DATA, log, sizeof log);
	if (mnt < 0 || move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return isc_error_set(err, errno, "mount tmpfs to /dev%s%s", log[0] ? ": " : "", log);
	return steal_fd(&mnt);
}

/* Bind `host` onto a new empty file `name` in dirfd. */
static int bind_node(int dirfd, const char *name, const char *host)
{
	char p[ISC_FDPATH_MAX + 256];
	if (strlen(name) > 255)
		return errno = ENAMETOOLONG, -1;
	if (mknodat(dirfd, name, S_IFREG, 0) < 0 && errno != EEXIST)
		return -1;
	snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dirfd, name);
	return mount(host, p, NULL, MS_BIND, NULL);
}

/* mknod (returns 0), or a bind of the host node (returns 1) when in a
 * userns or when mknod is refused (EPERM). */
static int make_node(int dirfd, const char *name, const char *host, mode_t mode, dev_t rdev, bool in_userns)
{
	if (!in_userns || S_ISFIFO(mode)) {
		if (mknodat(dirfd, name, mode, rdev) == 0)
			return 0;
		if (errno != EPERM || S_ISFIFO(mode))
			return -1;
	}
	return bind_node(dirfd, name, host) < 0 ? -1 : 1;
}

static int device_mode(const struct isc_device *d, mode_t *mode)
{
	mode_t perm = d->has_file_mode ? (d->file_mode & 07777) : 0666;
	switch (d->type) {
	case 'c':
	case 'u':
		*mode = S_IFCHR | perm;
		return 0;
	case 'b':
		*mode = S_IFBLK | perm;
		return 0;
	case 'p':
		*mode = S_IFIFO | perm;
		return 0;
	default:
		return -1;
	}
}

/* The directory a device goes in: a path under /dev is resolved in the
 * /dev mount itself (devfd as its root), not by the name "/dev". */
static int device_parent(int rootfd, int devfd, const char *path, const char **base)
{
	size_t n;
	const char *first = isc_rootfs_next_component(path, &n);
	if (n == 3 && strncmp(first, "dev", 3) == 0 && first[3] == '/')
		return isc_rootfs_open_parent(devfd, first + 3, base);
	return isc_rootfs_open_parent(rootfd, path, base);
}

static int create_device(int rootfd, int devfd, const struct isc_device *d, bool in_userns, isc_error **err)
{
	mode_t mode;
	if (device_mode(d, &mode) < 0)
		return isc_error_set(err, EINVAL, "device %s: unknown type '%c'", d->path, d->type);
	const char *base = NULL;
	cleanup_close int dirfd = device_parent(rootfd, devfd, d->path, &base);
	if (dirfd < 0)
		return isc_error_set(err, errno, "device %s", d->path);
	dev_t rdev = makedev((unsigned)d->major, (unsigned)d->minor);
	int r = make_node(dirfd, base, d->path, mode, rdev, in_userns);
	if (r < 0 && errno == EEXIST) {
		/* the image (or a bind of the host /dev) already has it: replace */
		if (unlinkat(dirfd, base, 0) < 0)
			return isc_error_set(err, errno, "device %s: remove existing", d->path);
		r = make_node(dirfd, base, d->path, mode, rdev, in_userns);
	}
	if (r < 0)
		return isc_error_set(err, errno, "device %s", d->path);
	/* never on a bind: that would change the host's node */
	if (r == 0 && (d->has_uid || d->has_gid) &&
	    fchownat(dirfd, base, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return isc_error_set(err, errno, "device %s: chown", d->path);
	return 0;
}

static bool spec_has_device(const struct isc_spec *spec, const char *dev_path)
{
	for (size_t i = 0; i < spec->n_devices; i++)
		if (isc_rootfs_path_eq(spec->devices[i].path, dev_path))
			return true;
	return false;
}

static int mount_in_dev(int devfd, const char *name, mode_t mode, const char *type, unsigned long flags,
			const char *data, isc_error **err)
{
	char p[ISC_FDPATH_MAX];
	if (mkdirat(devfd, name, mode) < 0 && errno != EEXIST)
		return isc_error_set(err, errno, "mount %s to /dev/%s", type, name);
	snprintf(p, sizeof p, "/proc/self/fd/%d/%s", devfd, name);
	if (mount(type, p, type, flags, data) < 0)
		return isc_error_set(err, errno, "mount %s to /dev/%s", type, name);
	return 0;
}

/* The container's /dev must be the mount prepare made for it (its own
 * tmpfs or the config's mount), and the name "/dev" must lead there: an
 * image symlink /y -> /dev with a volume at /y would otherwise have the
 * runtime make its device nodes in the volume's host directory. */
static int check_dev(int rootfd, int devfd, isc_error **err)
{
	if (devfd < 0)
		return isc_error_set(err, 0, "/dev: no mount was made there: refused");
	cleanup_close int seen = isc_rootfs_open(rootfd, "/dev", O_PATH | O_DIRECTORY);
	struct statx a, b;
	if (seen < 0 || statx(devfd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &a) < 0 ||
	    statx(seen, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &b) < 0)
		return isc_error_set(err, errno, "/dev: statx");
	if (a.stx_mnt_id != b.stx_mnt_id || a.stx_ino != b.stx_ino || a.stx_dev_major != b.stx_dev_major ||
	    a.stx_dev_minor != b.stx_dev_minor)
		return isc_error_set(err, 0,
				     "/dev is not the mount the runtime made there (a mount over it, or a "
				     "symlink in the rootfs?): refused");
	return 0;
}

static int check_dev_tmpfs(int devfd, isc_error **err)
{
	struct statfs sf;
	if (fstatfs(devfd, &sf) < 0)
		return isc_error_set(err, errno, "/dev: statfs");
	if (sf.f_type != TMPFS_MAGIC)
		return isc_error_set(err, 0,
				     "/dev: the filesystem mounted at /dev is not a tmpfs (the runtime makes "
				     "device nodes only in a tmpfs): refused");
	return 0;
}

int isc_rootfs_dev_populate(const struct isc_spec *spec, int rootfd, int devfd, bool dev_bind, bool in_userns,
			    isc_error **err)
{
	if (check_dev(rootfd, devfd, err) < 0)
		return -1;
	/* a config's bind at "/dev" is filled as it always was (the console
	 * and masked-path tests share such a /dev); anything new must be a tmpfs */
	if (!dev_bind && check_dev_tmpfs(devfd, err) < 0)
		return -1;

	/* linux.devices first: they win over a default node of the same path */
	for (size_t i = 0; i < spec->n_devices; i++)
		if (create_device(rootfd, devfd, &spec->devices[i], in_userns, err) < 0)
			return -1;

	for (size_t i = 0; i < ARRAY_SIZE(default_nodes); i++) {
		const struct dev_node *n = &default_nodes[i];
		char host[32];
		snprintf(host, sizeof host, "/dev/%s", n->name);
		if (spec_has_device(spec, host))
			continue;
		if (make_node(devfd, n->name, host, S_IFCHR | 0666, makedev(n->major, n->minor), in_userns) < 0 &&
		    errno != EEXIST)
			return isc_error_set(err, errno, "device %s", host);
	}

	for (size_t i = 0; i < ARRAY_SIZE(default_links); i++)
		if (symlinkat(default_links[i].target, devfd, default_links[i].name) < 0 && errno != EEXIST)
			return isc_error_set(err, errno, "symlink /dev/%s", default_links[i].name);

	/* a private devpts instance: the host's ptys stay invisible */
	if (!isc_rootfs_has_mount(spec, "/dev/pts") &&
	    mount_in_dev(devfd, "pts", 0755, "devpts", MS_NOSUID | MS_NOEXEC, PTS_DATA, err) < 0)
		return -1;
	if (!isc_rootfs_has_mount(spec, "/dev/shm") &&
	    mount_in_dev(devfd, "shm", 01777, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, SHM_DATA, err) < 0)
		return -1;
	return 0;
}
