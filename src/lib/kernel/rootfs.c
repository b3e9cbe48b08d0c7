/* SPDX-License-Identifier: GPL-2.0-or-later
 * The container's filesystem view, built by the init inside its new mount
 * namespace: rootfs bind, config mounts, /dev (dev.c), pivot_root, masked
 * and read-only paths, read-only root, and a fail-closed verification.
 *
 * Choices:
 * - Every destination is resolved inside the rootfs with openat2
 *   (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so a symlink in the image
 *   cannot send a mount outside it.  Mounts then target the resolved fd
 *   (move_mount T_EMPTY_PATH, or "/proc/self/fd/N" for mount(2)).
 * - Bind mounts use open_tree(CLONE) + mount_setattr + move_mount: the
 *   attributes are set on the detached copy before anything is visible, and
 *   mount_setattr changes only the attributes named, so the flags the
 *   kernel locked on a mount inherited from a more privileged user
 *   namespace (ro, nosuid, nodev, noexec, atime) are kept as they are
 *   instead of having to be restated, as MS_REMOUNT would require.  When
 *   the caller explicitly clears a locked flag ("rw" on a read-only source
 *   in a user namespace) the source's flags are restated (we stay
 *   read-only) rather than failing, as runc does.
 * - Filesystem mounts (proc, tmpfs, ...) are created detached (fsopen, one
 *   fsconfig per option, fsmount) and attached with move_mount: the fd
 *   fsmount gives is the new mount's root, so tmpcopyup copies into it and
 *   nothing after a mount resolves its destination again by name (a
 *   co-tenant swapping a directory of a shared volume for a symlink could
 *   redirect a name; review 3 R4).
 * - Every mount prepare makes (the rootfs bind, /dev, each config mount)
 *   is kept by fd with its destination (struct made_mount): a later
 *   destination may resolve to the root of one of them only when it names
 *   it (check_mount_root), so an image symlink /y -> /dev or /x -> / plus a
 *   volume at /y or /x cannot cover /dev or the root (R1); /dev is filled
 *   through the fd of its mount, /proc kept through the fd of its.
 * - Nothing reads /proc/self/mountinfo.
 * - Nothing may land inside a procfs but a proc on /proc: the destination
 *   string is checked (check_proc_destination) and so is where it resolved
 *   (check_resolved: one fstatfs of the resolved fd), since an image
 *   symlink /data -> /proc/sys/kernel sends a volume at "/data" there (runc
 *   CVE-2019-19921).  A destination inside sysfs stays allowed, as in runc
 *   (cgroup at /sys/fs/cgroup is one): nothing of the init or the runtime
 *   reads a sysfs path for a decision.  The init keeps an fd of the procfs
 *   it mounted at /proc (guard->proc_fd) and reaches /proc through it after
 *   pivot_root, never by the path "/proc", which a container could fake.
 * - Every step that changes the mount table checks first that it does not
 *   run in the runtime's caller's mount namespace (struct isc_rootfs_guard):
 *   create refuses a config without a new mount namespace, and this check
 *   makes the rootfs code fail closed should any path reach it without one. */
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

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

/* flags that mean something to mount(2) for a new filesystem */
#define MS_PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define MS_NOT_FS (MS_BIND | MS_MOVE | MS_REC | MS_REMOUNT | MS_PROPAGATION)
#define MOUNT_ATTR_FLAGS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | \
			  MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)

/* ---------------------------------------------------------------------- */
/* Paths inside the rootfs                                                */

int isc_rootfs_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

char *isc_rootfs_resolve(int rootfd, const char *path)
{
	char done[PATH_MAX] = "";  /* resolved so far, no symlink, relative to rootfd */
	char rest[PATH_MAX];       /* still to walk */
	if (snprintf(rest, sizeof rest, "%s", path) >= (int)sizeof rest)
		return errno = ENAMETOOLONG, NULL;
	int links = 0;
	bool exists = true;
	while (rest[0] != '\0') {
		const char *c = rest + strspn(rest, "/");
		size_t n = strcspn(c, "/");
		char name[NAME_MAX + 1];
		if (n == 0)
			break;
		if (n > NAME_MAX)
			return errno = ENAMETOOLONG, NULL;
		memcpy(name, c, n);
		name[n] = '\0';
		memmove(rest, c + n, strlen(c + n) + 1);
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			char *slash = strrchr(done, '/');
			*(slash ? slash : done) = '\0';
			continue;
		}
		size_t dl = strlen(done);
		if (dl + 1 + n + 1 > sizeof done)
			return errno = ENAMETOOLONG, NULL;
		snprintf(done + dl, sizeof done - dl, "%s%s", dl ? "/" : "", name);
		if (!exists)
			continue;
		char target[PATH_MAX];
		ssize_t tl = readlinkat(rootfd, done, target, sizeof target - 1);
		if (tl < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				exists = false; /* to be created: nothing below is a link */
			else if (errno != EINVAL)
				return NULL;
			continue;
		}
		if (++links > 40)
			return errno = ELOOP, NULL;
		target[tl] = '\0';
		done[dl] = '\0';
		if (target[0] == '/')
			done[0] = '\0';
		char joined[PATH_MAX];
		if (snprintf(joined, sizeof joined, "%s/%s", target, rest) >= (int)sizeof joined)
			return errno = ENAMETOOLONG, NULL;
		memcpy(rest, joined, sizeof rest);
	}
	return isc_xasprintf("/%s", done);
}

int isc_rootfs_mkpath(int rootfd, const char *path, enum isc_rootfs_create last)
{
	int fd = isc_rootfs_open(rootfd, path, O_PATH);
	if (fd >= 0 || errno != ENOENT || last == ISC_CREATE_NONE)
		return fd;

	/* slow path: the destination as the root's symlinks lead to it (a
	 * link that dangles inside the root leads to where it points, as in
	 * runc), then its prefixes walked, each resolved in root, creating
	 * what is missing with a plain name relative to the resolved parent */
	cleanup_free char *resolved = isc_rootfs_resolve(rootfd, path);
	if (resolved == NULL)
		return -1;
	size_t len = strlen(resolved);
	if (len >= PATH_MAX)
		return errno = ENAMETOOLONG, -1;
	char buf[PATH_MAX];
	memcpy(buf, resolved, len + 1);
	cleanup_close int parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (parent < 0)
		return -1;
	size_t i = 0;
	while (i < len) {
		while (i < len && buf[i] == '/')
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && buf[i] != '/')
			i++;
		char saved = buf[i];
		bool is_last = true;
		for (size_t j = i; j < len; j++)
			if (buf[j] != '/')
				is_last = false;
		buf[i] = '\0';
		int next = isc_rootfs_open(rootfd, buf, O_PATH);
		if (next < 0 && errno == ENOENT) {
			const char *name = buf + start;
			int r = (is_last && last == ISC_CREATE_FILE) ? mknodat(parent, name, S_IFREG | 0644, 0)
								      : mkdirat(parent, name, 0755);
			if (r < 0 && errno != EEXIST)
				return -1;
			next = isc_rootfs_open(rootfd, buf, O_PATH);
		}
		if (next < 0)
			return -1;
		buf[i] = saved;
		isc_closep(&parent);
		parent = next;
	}
	return steal_fd(&parent);
}

int isc_rootfs_open_parent(int rootfd, const char *path, const char **base)
{
	size_t len = strlen(path);
	while (len > 0 && path[len - 1] == '/')
		len--;
	size_t b = len;
	while (b > 0 && path[b - 1] != '/')
		b--;
	/* a name with trailing slashes has no usable last component */
	if (b == len || len != strlen(path))
		return errno = EINVAL, -1;
	const char *name = path + b;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return errno = EINVAL, -1;
	char dir[PATH_MAX];
	if (b >= sizeof dir)
		return errno = ENAMETOOLONG, -1;
	memcpy(dir, path, b);
	dir[b] = '\0';
	if (b == 0)
		strcpy(dir, "/");
	int fd = isc_rootfs_mkpath(rootfd, dir, ISC_CREATE_DIR);
	if (fd >= 0)
		*base = name;
	return fd;
}

const char *isc_rootfs_next_component(const char *p, size_t *n)
{
	for (;;) {
		while (*p == '/')
			p++;
		size_t k = strcspn(p, "/");
		if (k == 1 && p[0] == '.') {
			p++;
			continue;
		}
		*n = k;
		return p;
	}
}

bool isc_rootfs_path_eq(const char *a, const char *b)
{
	for (;;) {
		size_t na, nb;
		a = isc_rootfs_next_component(a, &na);
		b = isc_rootfs_next_component(b, &nb);
		if (na != nb || memcmp(a, b, na) != 0)
			return false;
		if (na == 0)
			return true;
		a += na;
		b += nb;
	}
}

bool isc_rootfs_has_mount(const struct isc_spec *spec, const char *dest)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].destination && isc_rootfs_path_eq(spec->mounts[i].destination, dest))
			return true;
	return false;
}

/* ---------------------------------------------------------------------- */
/* Mount attributes                                                       */

struct attr_map {
	unsigned long ms;    /* MS_* */
	unsigned long st;    /* ST_* from statvfs */
	uint64_t attr;       /* MOUNT_ATTR_* */
};

static const struct attr_map attr_table[] = {
	{ MS_RDONLY, ST_RDONLY, MOUNT_ATTR_RDONLY },
	{ MS_NOSUID, ST_NOSUID, MOUNT_ATTR_NOSUID },
	{ MS_NODEV, ST_NODEV, MOUNT_ATTR_NODEV },
	{ MS_NOEXEC, ST_NOEXEC, MOUNT_ATTR_NOEXEC },
	{ MS_NODIRATIME, ST_NODIRATIME, MOUNT_ATTR_NODIRATIME },
	{ MS_NOSYMFOLLOW, ST_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW },
};

/* the atime mode is one value, not independent bits */
static const struct attr_map atime_table[] = {
	{ MS_NOATIME, ST_NOATIME, MOUNT_ATTR_NOATIME },
	{ MS_STRICTATIME, 0, MOUNT_ATTR_STRICTATIME },
	{ MS_RELATIME, ST_RELATIME, MOUNT_ATTR_RELATIME },
};

static void ms_to_attr(unsigned long flags, unsigned long clear, struct mount_attr *a)
{
	for (size_t i = 0; i < ARRAY_SIZE(attr_table); i++) {
		if (flags & attr_table[i].ms)
			a->attr_set |= attr_table[i].attr;
		else if (clear & attr_table[i].ms)
			a->attr_clr |= attr_table[i].attr;
	}
	for (size_t i = 0; i < ARRAY_SIZE(atime_table); i++)
		if (flags & atime_table[i].ms) {
			a->attr_set |= atime_table[i].attr;
			a->attr_clr |= MOUNT_ATTR__ATIME;
			break;
		}
}

static uint64_t st_to_attr(unsigned long st)
{
	uint64_t attr = 0;
	for (size_t i = 0; i < ARRAY_SIZE(attr_table); i++)
		if (st & attr_table[i].st)
			attr |= attr_table[i].attr;
	return attr;
}

/* mount_setattr on the mount `fd` refers to; when the kernel refuses
 * (EPERM: a locked flag would be cleared or a locked atime changed),
 * restate the mount's current flags and try once more. */
static int set_attr(int fd, unsigned flags, struct mount_attr *a)
{
	if (a->attr_set == 0 && a->attr_clr == 0 && a->propagation == 0)
		return 0;
	if (mount_setattr(fd, "", AT_EMPTY_PATH | flags, a, sizeof *a) == 0)
		return 0;
	if (errno != EPERM || (a->attr_clr == 0))
		return -1;
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		return -1;
	struct mount_attr b = *a;
	b.attr_clr &= ~(st_to_attr(sv.f_flag) | MOUNT_ATTR__ATIME);
	b.attr_set &= ~MOUNT_ATTR__ATIME;
	return mount_setattr(fd, "", AT_EMPTY_PATH | flags, &b, sizeof b);
}

/* ---------------------------------------------------------------------- */
/* New filesystems, created detached                                      */

/* The superblock flags mount(2) takes as MS_* and fsconfig as a flag
 * parameter ("silent" and "iversion" have no fsconfig form: left out). */
static const struct {
	unsigned long ms;
	const char *name;
} sb_flags[] = {
	{ MS_RDONLY, "ro" },
	{ MS_SYNCHRONOUS, "sync" },
	{ MS_DIRSYNC, "dirsync" },
	{ MS_MANDLOCK, "mand" },
	{ MS_LAZYTIME, "lazytime" },
};

/* The last error the filesystem logged on its context, if any. */
static void fs_log(int fsfd, char *log, size_t size)
{
	char line[ISC_FSLOG_MAX + 8];
	ssize_t n;
	while ((n = read(fsfd, line, sizeof line - 1)) > 0) {
		while (n > 0 && line[n - 1] == '\n')
			n--;
		line[n] = '\0';
		if (n > 2 && line[0] == 'e' && line[1] == ' ')
			snprintf(log, size, "%s", line + 2);
	}
}

/* One "key" or "key=value" of the data string, as mount(2) would split it. */
static int fs_param(int fsfd, const char *opt)
{
	const char *eq = strchr(opt, '=');
	if (eq == NULL)
		return opt[0] ? fsconfig(fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0) : 0;
	if (eq == opt)
		return 0; /* mount(2) skips "=value" too */
	char key[256];
	size_t k = (size_t)(eq - opt);
	if (k >= sizeof key)
		return errno = EINVAL, -1;
	memcpy(key, opt, k);
	key[k] = '\0';
	return fsconfig(fsfd, FSCONFIG_SET_STRING, key, eq + 1, 0);
}

static int fs_configure(int fsfd, const char *source, unsigned long flags, const char *data)
{
	if (source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(sb_flags); i++)
		if ((flags & sb_flags[i].ms) && fsconfig(fsfd, FSCONFIG_SET_FLAG, sb_flags[i].name, NULL, 0) < 0)
			return -1;
	if (data != NULL) {
		cleanup_free char *copy = isc_xstrdup(data);
		char *rest = copy, *opt;
		while ((opt = strsep(&rest, ",")) != NULL)
			if (fs_param(fsfd, opt) < 0)
				return -1;
	}
	return fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
}

int isc_rootfs_fsmount(const char *type, const char *source, unsigned long flags, const char *data, char *log,
		       size_t logsize)
{
	log[0] = '\0';
	cleanup_close int fsfd = fsopen(type, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return -1;
	if (fs_configure(fsfd, source, flags, data) < 0) {
		int e = errno;
		fs_log(fsfd, log, logsize);
		return errno = e, -1;
	}
	/* the mount flags as mount(2) sets them for a new mount: relatime
	 * (0) unless an atime mode is named */
	struct mount_attr a = { 0 };
	ms_to_attr(flags, 0, &a);
	int fd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)a.attr_set);
	if (fd < 0) {
		int e = errno;
		fs_log(fsfd, log, logsize);
		return errno = e, -1;
	}
	return fd;
}

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
			cleanup_close int t = openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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

static int copyup(int from, int to, const char *data)
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
			covered = spec->mounts[j].destination && path_beneath(m->destination, spec->mounts[j].destination);
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
		bool in_img = in_image >= 0 && fstatat(in_image, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			      S_ISDIR(st.st_mode);
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
		fs_log(fsfd, log, sizeof log);
	if (umount2(rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		return isc_error_set(err, errno, "mount point layer: detach");
	if (r < 0)
		return isc_error_set(err, saved, "mount point layer: overlay%s%s", log[0] ? ": " : "", log);
	uint64_t attrs = st_to_attr(sv.f_flag) & (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						  MOUNT_ATTR_NOEXEC);
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
static int mount_points(const struct isc_spec *spec, const char *rootfs, int rootfd, const char *bundle,
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

/* ---------------------------------------------------------------------- */
/* Config mounts                                                          */

/* A mount prepare made (the rootfs bind, /dev, each config mount): its
 * root, held by fd from the moment it was created, and the destination it
 * was made for. */
struct made_mount {
	int fd;      /* O_PATH, the mount's root */
	uint64_t id; /* statx mount id */
	const char *dest;
	bool bind; /* a bind (of a host directory, perhaps), not a new filesystem */
};

struct mount_ctx {
	int rootfd;
	const char *rootfs;
	const char *bundle;
	bool in_userns;
	bool cgroupns; /* a cgroup namespace (new or joined): fresh cgroup mounts */
	struct made_mount *made;
	size_t n_made, max_made;
};

static int mount_id(int fd, uint64_t *id, bool *is_root)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return -1;
	if (!(sx.stx_mask & STATX_MNT_ID) || !(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return errno = ENOSYS, -1;
	*id = sx.stx_mnt_id;
	if (is_root)
		*is_root = (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	return 0;
}

/* Remember the mount whose root `fd` is (the fd is duplicated). */
static int made_record(struct mount_ctx *c, int fd, const char *dest, bool bind, isc_error **err)
{
	if (c->n_made == c->max_made)
		return isc_error_set(err, EOVERFLOW, "mount to %s: too many mounts", dest);
	struct made_mount *r = &c->made[c->n_made];
	if (mount_id(fd, &r->id, NULL) < 0)
		return isc_error_set(err, errno, "mount to %s: statx of the new mount", dest);
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (r->fd < 0)
		return isc_error_set(err, errno, "mount to %s: keep the new mount", dest);
	r->dest = dest;
	r->bind = bind;
	c->n_made++;
	return 0;
}

/* The last mount made for `dest`, or NULL. */
static const struct made_mount *made_last(const struct mount_ctx *c, const char *dest)
{
	for (size_t i = c->n_made; i-- > 0;)
		if (isc_rootfs_path_eq(c->made[i].dest, dest))
			return &c->made[i];
	return NULL;
}

static void made_close(struct mount_ctx *c)
{
	for (size_t i = 0; i < c->n_made; i++)
		isc_closep(&c->made[i].fd);
	free(c->made);
	c->made = NULL;
	c->n_made = 0;
}

static int mount_failed(isc_error **err, const struct isc_mount *m, const char *what)
{
	return isc_error_set(err, errno, "mount %s to %s", what ? what : "none", m->destination);
}

/* The files of /proc a config may replace (lxcfs). */
static const char *const proc_allowed[] = {
	"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
	"/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

/* a proc mount, or a bind of one (a container without its own pid
 * namespace in a user namespace binds the host's) */
static bool is_proc_mount(const struct isc_mount *m)
{
	struct statfs sf;
	return m->bind ? (m->source && statfs(m->source, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
		       : (m->type && strcmp(m->type, "proc") == 0);
}

static bool proc_file_allowed(const char *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(proc_allowed); i++)
		if (isc_rootfs_path_eq(d, proc_allowed[i]))
			return true;
	return false;
}

/* Where the destination resolved must not be inside a procfs (an image
 * symlink /data -> /proc/sys/kernel: runc CVE-2019-19921), except for the
 * destinations check_proc_destination let through by name: a proc (or a
 * bind of one) on /proc and the lxcfs-style files.  One fstatfs; the
 * resolved path is read only for the message.  Then check_mount_root. */
/* A destination may resolve to the root of a mount prepare made only when
 * it names that mount: an image symlink /y -> /dev (or /x -> /) and a
 * mount at /y would otherwise stack on the runtime's /dev (the runtime
 * would then make its device nodes in a host volume) or on the root. */
static int check_mount_root(const struct mount_ctx *c, const struct isc_mount *m, int target, isc_error **err)
{
	uint64_t id;
	bool is_root;
	if (mount_id(target, &id, &is_root) < 0)
		return isc_error_set(err, errno, "mount to %s: statx of the resolved destination", m->destination);
	if (!is_root)
		return 0;
	for (size_t i = c->n_made; i-- > 0;) {
		if (c->made[i].id != id)
			continue;
		if (isc_rootfs_path_eq(c->made[i].dest, m->destination))
			return 0;
		return isc_error_set(err, 0, "mount %s to %s: the destination resolves to the root of the mount at %s "
					     "(a symlink in the rootfs?): refused",
				     m->source ? m->source : (m->type ? m->type : "none"), m->destination,
				     c->made[i].dest);
	}
	return 0;
}

static int check_resolved(const struct mount_ctx *c, const struct isc_mount *m, int target, isc_error **err)
{
	struct statfs sf;
	if (fstatfs(target, &sf) < 0)
		return isc_error_set(err, errno, "mount to %s: statfs of the resolved destination", m->destination);
	if (sf.f_type != PROC_SUPER_MAGIC || proc_file_allowed(m->destination) ||
	    (isc_rootfs_path_eq(m->destination, "/proc") && is_proc_mount(m)))
		return check_mount_root(c, m, target, err);
	char p[ISC_FDPATH_MAX], path[PATH_MAX];
	ssize_t n = readlink(isc_fdpath(p, target, NULL), path, sizeof path - 1);
	path[n < 0 ? 0 : n] = '\0';
	size_t rl = strlen(c->rootfs);
	const char *shown = path;
	if (n > 0 && strncmp(path, c->rootfs, rl) == 0 && (path[rl] == '/' || path[rl] == '\0'))
		shown = path[rl] ? path + rl : "/";
	return isc_error_set(err, 0, "mount %s to %s: the destination resolves to %s, inside a proc filesystem "
				     "(a symlink in the rootfs?): refused",
			     m->source ? m->source : (m->type ? m->type : "none"), m->destination,
			     shown[0] ? shown : "(unknown)");
}

/* Attach the detached tree `tree` at the resolved `target`, then set the
 * propagation on the attached mount. */
static int attach(int tree, int target, unsigned long propagation)
{
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -1;
	if (propagation == 0)
		return 0;
	struct mount_attr a = { .propagation = propagation & MS_PROPAGATION };
	return set_attr(tree, (propagation & MS_REC) ? AT_RECURSIVE : 0, &a);
}

static int mount_bind(struct mount_ctx *c, const struct isc_mount *m, isc_error **err)
{
	if (m->source == NULL)
		return isc_error_set(err, EINVAL, "mount to %s: bind mount without source", m->destination);
	cleanup_free char *src = (m->source[0] == '/' || c->bundle == NULL)
					 ? isc_xstrdup(m->source)
					 : isc_xasprintf("%s/%s", c->bundle, m->source);
	unsigned tflags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->recursive ? AT_RECURSIVE : 0);
	cleanup_close int tree = open_tree(AT_FDCWD, src, tflags);
	if (tree < 0)
		return mount_failed(err, m, m->source);

	cleanup_close int target = isc_rootfs_open(c->rootfd, m->destination, O_PATH);
	if (target < 0 && errno == ENOENT) {
		struct stat st;
		if (fstat(tree, &st) < 0)
			return mount_failed(err, m, m->source);
		target = isc_rootfs_mkpath(c->rootfd, m->destination,
					   S_ISDIR(st.st_mode) ? ISC_CREATE_DIR : ISC_CREATE_FILE);
	}
	if (target < 0)
		return mount_failed(err, m, m->source);
	if (check_resolved(c, m, target, err) < 0)
		return -1;

	struct mount_attr a = { 0 };
	ms_to_attr(m->flags, m->clear_flags, &a);
	if (set_attr(tree, 0, &a) < 0)
		return mount_failed(err, m, m->source);
	if (m->rro) {
		struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
		if (set_attr(tree, AT_RECURSIVE, &ro) < 0)
			return mount_failed(err, m, m->source);
	}
	if (attach(tree, target, m->propagation) < 0)
		return mount_failed(err, m, m->source);
	return made_record(c, tree, m->destination, true, err);
}

/* A new filesystem at the resolved destination: created detached
 * (isc_rootfs_fsmount), so the fd it gives is the new mount's root; with
 * tmpcopyup the covered directory is copied into that root before the
 * mount is attached.  Nothing after the mount looks the destination up
 * again by name: a co-tenant swapping a directory of the path for a
 * symlink meanwhile could otherwise make the runtime copy into (and chmod)
 * a directory of its choosing. */
static int mount_fs(struct mount_ctx *c, const struct isc_mount *m, isc_error **err)
{
	const char *src = m->source ? m->source : m->type;
	cleanup_close int target = isc_rootfs_mkpath(c->rootfd, m->destination, ISC_CREATE_DIR);
	if (target < 0)
		return mount_failed(err, m, m->type);
	if (check_resolved(c, m, target, err) < 0)
		return -1;
	cleanup_close int from = -1;
	if (m->tmpcopyup) {
		from = openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (from < 0)
			return mount_failed(err, m, m->type);
	}
	/* a copied-up filesystem is made read-only after the copy, on the mount */
	unsigned long flags = m->flags & ~MS_NOT_FS;
	unsigned long ro_later = from >= 0 ? (flags & MS_RDONLY) : 0;
	char log[ISC_FSLOG_MAX];
	cleanup_close int mnt = isc_rootfs_fsmount(m->type, src, flags & ~ro_later, m->data, log, sizeof log);
	if (mnt < 0)
		return log[0] ? isc_error_set(err, errno, "mount %s to %s (%s)", m->type, m->destination, log)
			      : mount_failed(err, m, m->type);
	if (from >= 0) {
		cleanup_close int top = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (top < 0 || copyup(from, top, m->data) < 0)
			return isc_error_set(err, errno, "mount %s to %s: tmpcopyup", m->type, m->destination);
		struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
		if (ro_later && set_attr(mnt, 0, &ro) < 0)
			return mount_failed(err, m, m->type);
	}
	if (attach(mnt, target, m->propagation) < 0)
		return mount_failed(err, m, m->type);
	return made_record(c, mnt, m->destination, false, err);
}

/* sysfs cannot be mounted in a user namespace that does not own the
 * network namespace: fall back to a recursive read-only bind of the host's
 * /sys (what runc does for rootless containers). */
static int mount_sysfs(struct mount_ctx *c, const struct isc_mount *m, isc_error **err)
{
	cleanup_error isc_error *first = NULL;
	if (mount_fs(c, m, &first) == 0)
		return 0;
	if (!c->in_userns || first->errnum != EPERM) {
		isc_error_move(err, &first);
		return -1;
	}

	cleanup_close int tree = open_tree(AT_FDCWD, "/sys",
					   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return mount_failed(err, m, "/sys (bind)");
	cleanup_close int target = isc_rootfs_mkpath(c->rootfd, m->destination, ISC_CREATE_DIR);
	if (target < 0)
		return mount_failed(err, m, "/sys (bind)");
	if (check_resolved(c, m, target, err) < 0)
		return -1;
	struct mount_attr a = { 0 };
	ms_to_attr(m->flags | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, &a);
	if (set_attr(tree, AT_RECURSIVE, &a) < 0 || attach(tree, target, m->propagation) < 0)
		return mount_failed(err, m, "/sys (bind)");
	return made_record(c, tree, m->destination, true, err);
}

static int mount_cgroup(struct mount_ctx *c, const struct isc_mount *m, isc_error **err)
{
	cleanup_close int target = isc_rootfs_mkpath(c->rootfd, m->destination, ISC_CREATE_DIR);
	if (target < 0)
		return mount_failed(err, m, m->type);
	if (check_resolved(c, m, target, err) < 0)
		return -1;
	if (isc_cgroup_mount(target, m->destination, m->flags & ~MS_NOT_FS, c->cgroupns, err) < 0)
		return isc_error_wrap(err, "mount %s to %s", m->type, m->destination);
	return 0;
}

struct mount_kind {
	const char *type;
	int (*mount)(struct mount_ctx *c, const struct isc_mount *m, isc_error **err);
};

/* anything else is mount_fs */
static const struct mount_kind mount_kinds[] = {
	{ "bind", mount_bind },
	{ "sysfs", mount_sysfs },
	{ "cgroup", mount_cgroup },
	{ "cgroup2", mount_cgroup },
};

static int mount_one(struct mount_ctx *c, const struct isc_mount *m, isc_error **err)
{
	if (m->destination == NULL || m->destination[0] != '/')
		return isc_error_set(err, EINVAL, "mount %s: destination must be absolute",
				     m->destination ? m->destination : "(null)");
	if (m->bind)
		return mount_bind(c, m, err);
	if (m->type == NULL)
		return isc_error_set(err, EINVAL, "mount %s: no type", m->destination);
	for (size_t i = 0; i < ARRAY_SIZE(mount_kinds); i++)
		if (strcmp(m->type, mount_kinds[i].type) == 0)
			return mount_kinds[i].mount(c, m, err);
	return mount_fs(c, m, err);
}

/* ---------------------------------------------------------------------- */
/* Public steps                                                           */

/* The propagation "/" gets while we build: private, or slave when the
 * container asked for slave/shared (mounts from the host keep arriving,
 * none of ours leaves).  rootfsPropagation itself is set in finalize. */
static unsigned long prepare_propagation(const struct isc_spec *spec)
{
	if (spec->rootfs_propagation & (MS_SLAVE | MS_SHARED))
		return MS_REC | MS_SLAVE;
	return MS_REC | MS_PRIVATE;
}

/* Nothing but a proc filesystem goes on /proc, and nothing goes inside it
 * except the files that lxcfs-style tools replace: a bind over /proc (or
 * /proc/sys/...) would hide what masking and read-only paths protect.
 * Components are compared, so "/./proc/sys" is "/proc/sys". */
static int check_proc_destination(const struct isc_mount *m, isc_error **err)
{
	size_t n;
	const char *first = isc_rootfs_next_component(m->destination, &n);
	if (n != 4 || strncmp(first, "proc", 4) != 0)
		return 0;
	if (isc_rootfs_path_eq(m->destination, "/proc")) {
		if (is_proc_mount(m))
			return 0;
		return isc_error_set(err, 0, "mount %s to /proc: only a proc filesystem may be mounted there",
				     m->source ? m->source : "(none)");
	}
	if (proc_file_allowed(m->destination))
		return 0;
	return isc_error_set(err, 0, "mount %s to %s: destination is inside /proc",
			     m->source ? m->source : "(none)", m->destination);
}

/* ---------------------------------------------------------------------- */
/* The guard: never the caller's mount namespace                          */

static int mntns_id(dev_t *dev, ino_t *ino)
{
	struct stat st;
	if (stat("/proc/self/ns/mnt", &st) < 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int isc_rootfs_guard_record(struct isc_rootfs_guard *g, isc_error **err)
{
	memset(g, 0, sizeof(*g));
	g->proc_fd = -1;
	if (mntns_id(&g->caller_dev, &g->caller_ino) < 0)
		return isc_error_set(err, errno, "the runtime's own mount namespace: /proc/self/ns/mnt");
	g->recorded = true;
	return 0;
}

/* Fail closed: no record, no /proc to compare with, or the same namespace. */
static int guard_check(const struct isc_rootfs_guard *g, isc_error **err)
{
	dev_t dev;
	ino_t ino;
	if (g == NULL || !g->recorded)
		return isc_error_set(err, EPERM, "refusing to set up the root: the caller's mount namespace is unknown");
	if (mntns_id(&dev, &ino) < 0)
		return isc_error_set(err, errno, "refusing to set up the root: cannot tell which mount namespace this is "
						 "(/proc/self/ns/mnt)");
	if (dev == g->caller_dev && ino == g->caller_ino)
		return isc_error_set(err, EPERM, "refusing to set up the root in the caller's mount namespace "
						 "(isc-runtime never changes the caller's mount namespace)");
	return 0;
}

/* The procfs just mounted at /proc (the last one when several are): the
 * init's way to /proc from now on.  Taken from the mount itself, not by
 * the name "/proc". */
static int keep_proc_fd(struct isc_rootfs_guard *g, const struct mount_ctx *c, isc_error **err)
{
	const struct made_mount *made = made_last(c, "/proc");
	int mnt = made ? made->fd : -1;
	struct statfs sf;
	if (mnt < 0)
		return isc_error_set(err, 0, "mount proc to /proc: no new mount");
	if (fstatfs(mnt, &sf) < 0)
		return isc_error_set(err, errno, "mount proc to /proc: statfs of the new mount");
	if (sf.f_type != PROC_SUPER_MAGIC)
		return isc_error_set(err, 0, "mount proc to /proc: the mount at /proc is not a proc filesystem");
	int fd = fcntl(mnt, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return isc_error_set(err, errno, "mount proc to /proc: keep the new mount");
	if (g->proc_fd >= 0)
		close(g->proc_fd);
	g->proc_fd = fd;
	return 0;
}

int isc_rootfs_proc_fd(const struct isc_rootfs_guard *g, isc_error **err)
{
	if (g == NULL || g->proc_fd < 0)
		return isc_error_set(err, 0, "no proc filesystem mounted at /proc: the container's init needs one "
					     "(mounts: type \"proc\" at \"/proc\")");
	return g->proc_fd;
}

int isc_rootfs_prepare(struct isc_rootfs_guard *g, const struct isc_spec *spec, const char *rootfs,
		       const char *bundle, char *const *more_dirs, bool in_userns, isc_error **err)
{
	if (guard_check(g, err) < 0)
		return -1;
	if (mount(NULL, "/", NULL, prepare_propagation(spec), NULL) < 0)
		return isc_error_set(err, errno, "make / %s",
				     (prepare_propagation(spec) & MS_SLAVE) ? "rslave" : "rprivate");
	/* a mount point of its own, as pivot_root requires */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return isc_error_set(err, errno, "bind mount rootfs %s", rootfs);
	cleanup_close int image = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (image < 0)
		return isc_error_set(err, errno, "open rootfs %s", rootfs);
	cleanup_close int rootfd = mount_points(spec, rootfs, image, bundle, more_dirs, in_userns, err);
	if (rootfd < 0)
		return -1;

	/* device nodes and copied-up files get exactly the modes asked */
	mode_t old_umask = umask(0);
	struct mount_ctx c = { .rootfd = rootfd, .rootfs = rootfs, .bundle = bundle, .in_userns = in_userns,
			       .cgroupns = isc_spec_namespace(spec, CLONE_NEWCGROUP) != NULL,
			       .max_made = spec->n_mounts + 2 };
	c.made = isc_xmalloc0(c.max_made * sizeof *c.made);
	int r = made_record(&c, rootfd, "/", true, err);
	if (r == 0 && !isc_rootfs_has_mount(spec, "/dev")) {
		cleanup_close int dev = isc_rootfs_dev_mount(rootfd, err);
		r = dev < 0 ? -1 : made_record(&c, dev, "/dev", false, err);
	}
	for (size_t i = 0; r == 0 && i < spec->n_mounts; i++) {
		r = check_proc_destination(&spec->mounts[i], err);
		if (r == 0)
			r = mount_one(&c, &spec->mounts[i], err);
		if (r == 0 && isc_rootfs_path_eq(spec->mounts[i].destination, "/proc"))
			r = keep_proc_fd(g, &c, err);
	}
	const struct made_mount *dev = made_last(&c, "/dev");
	if (r == 0)
		r = isc_rootfs_dev_populate(spec, rootfd, dev ? dev->fd : -1, dev && dev->bind, in_userns, err);
	made_close(&c);
	umask(old_umask);
	return r;
}

int isc_rootfs_pivot(struct isc_rootfs_guard *g, const char *rootfs, isc_error **err)
{
	if (guard_check(g, err) < 0)
		return -1;
	g->verified = true; /* finalize runs in the new root, where /proc may not be */
	if (chdir(rootfs) < 0)
		return isc_error_set(err, errno, "chdir %s", rootfs);
	/* the old root ends up stacked on ".", the new root below it */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return isc_error_set(err, errno, "pivot_root %s", rootfs);
	/* no unmount event may propagate from the detach to the host.  "." is
	 * the new root here (mount(2) does not step onto the old root stacked
	 * on it), so rslave, not rprivate: rprivate would also cut the new
	 * root from the host, and rootfsPropagation rslave/rshared could then
	 * never receive the host's mounts. */
	if (mount(NULL, ".", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return isc_error_set(err, errno, "make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return isc_error_set(err, errno, "detach old root");
	if (chdir("/") < 0)
		return isc_error_set(err, errno, "chdir /");
	return 0;
}

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
	if (set_attr(tree, AT_RECURSIVE, &a) < 0 ||
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
		if (spec->mounts[j].destination && isc_rootfs_path_eq(spec->mounts[j].destination, spec->mounts[i].destination))
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
		return isc_error_set(err, 0, "masked and read-only paths: /proc is not the proc filesystem the runtime "
					     "mounted there (a mount over the root hides it): refused");
	return 0;
}

int isc_rootfs_finalize(const struct isc_rootfs_guard *g, const struct isc_spec *spec, isc_error **err)
{
	if (g == NULL || !g->verified)
		return isc_error_set(err, EPERM, "refusing to finalize the root: pivot_root did not run in a mount "
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
