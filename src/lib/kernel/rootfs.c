/* SPDX-License-Identifier: GPL-2.0-or-later
 * The container's filesystem view, built by the init inside its new mount
 * namespace: rootfs bind, config mounts, /dev (dev.c), pivot_root, masked
 * and read-only paths, read-only root, and a fail-closed verification.
 * This file: mount attributes, new filesystems, the config mounts and their
 * checks, prepare and pivot; rootfs-path.c resolves paths inside the root,
 * rootfs-layer.c writes tmpcopyup copies and the mount point layer,
 * rootfs-final.c makes masks and read-only paths and verifies them.
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
 *   redirect a name).
 * - Every mount prepare makes (the rootfs bind, /dev, each config mount)
 *   is kept by fd with its destination (struct made_mount): a later
 *   destination may resolve to the root of one of them only when it names
 *   it (check_mount_root), so an image symlink /y -> /dev or /x -> / plus a
 *   volume at /y or /x cannot cover /dev or the root; /dev is filled
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

/* ---------------------------------------------------------------------- */
/* Mount attributes                                                       */

struct attr_map {
	unsigned long ms; /* MS_* */
	unsigned long st; /* ST_* from statvfs */
	uint64_t attr;	  /* MOUNT_ATTR_* */
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

uint64_t isc_rootfs_st_to_attr(unsigned long st)
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
int isc_rootfs_set_attr(int fd, unsigned flags, struct mount_attr *a)
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
	b.attr_clr &= ~(isc_rootfs_st_to_attr(sv.f_flag) | MOUNT_ATTR__ATIME);
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
	{ MS_RDONLY, "ro" },	 { MS_SYNCHRONOUS, "sync" },  { MS_DIRSYNC, "dirsync" },
	{ MS_MANDLOCK, "mand" }, { MS_LAZYTIME, "lazytime" },
};

/* The last error the filesystem logged on its context, if any. */
void isc_rootfs_fs_log(int fsfd, char *log, size_t size)
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
		isc_rootfs_fs_log(fsfd, log, logsize);
		return errno = e, -1;
	}
	/* the mount flags as mount(2) sets them for a new mount: relatime
	 * (0) unless an atime mode is named */
	struct mount_attr a = { 0 };
	ms_to_attr(flags, 0, &a);
	int fd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned)a.attr_set);
	if (fd < 0) {
		int e = errno;
		isc_rootfs_fs_log(fsfd, log, logsize);
		return errno = e, -1;
	}
	return fd;
}

/* ---------------------------------------------------------------------- */
/* Config mounts                                                          */

/* A mount prepare made (the rootfs bind, /dev, each config mount): its
 * root, held by fd from the moment it was created, and the destination it
 * was made for. */
struct made_mount {
	int fd;	     /* O_PATH, the mount's root */
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
	"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",    "/proc/swaps",
	"/proc/uptime",	 "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
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
		return isc_error_set(err, 0,
				     "mount %s to %s: the destination resolves to the root of the mount at %s "
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
	return isc_error_set(err, 0,
			     "mount %s to %s: the destination resolves to %s, inside a proc filesystem "
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
	return isc_rootfs_set_attr(tree, (propagation & MS_REC) ? AT_RECURSIVE : 0, &a);
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
	if (isc_rootfs_set_attr(tree, 0, &a) < 0)
		return mount_failed(err, m, m->source);
	if (m->rro) {
		struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
		if (isc_rootfs_set_attr(tree, AT_RECURSIVE, &ro) < 0)
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
		if (top < 0 || isc_rootfs_copyup(from, top, m->data) < 0)
			return isc_error_set(err, errno, "mount %s to %s: tmpcopyup", m->type, m->destination);
		struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
		if (ro_later && isc_rootfs_set_attr(mnt, 0, &ro) < 0)
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

	cleanup_close int tree = open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return mount_failed(err, m, "/sys (bind)");
	cleanup_close int target = isc_rootfs_mkpath(c->rootfd, m->destination, ISC_CREATE_DIR);
	if (target < 0)
		return mount_failed(err, m, "/sys (bind)");
	if (check_resolved(c, m, target, err) < 0)
		return -1;
	struct mount_attr a = { 0 };
	ms_to_attr(m->flags | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, &a);
	if (isc_rootfs_set_attr(tree, AT_RECURSIVE, &a) < 0 || attach(tree, target, m->propagation) < 0)
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
	return isc_error_set(err, 0, "mount %s to %s: destination is inside /proc", m->source ? m->source : "(none)",
			     m->destination);
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
		return isc_error_set(err, EPERM,
				     "refusing to set up the root: the caller's mount namespace is unknown");
	if (mntns_id(&dev, &ino) < 0)
		return isc_error_set(err, errno,
				     "refusing to set up the root: cannot tell which mount namespace this is "
				     "(/proc/self/ns/mnt)");
	if (dev == g->caller_dev && ino == g->caller_ino)
		return isc_error_set(err, EPERM,
				     "refusing to set up the root in the caller's mount namespace "
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
		return isc_error_set(err, 0,
				     "no proc filesystem mounted at /proc: the container's init needs one "
				     "(mounts: type \"proc\" at \"/proc\")");
	return g->proc_fd;
}

int isc_rootfs_prepare(struct isc_rootfs_guard *g, const struct isc_spec *spec, const char *rootfs, const char *bundle,
		       char *const *more_dirs, bool in_userns, isc_error **err)
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
	cleanup_close int rootfd = isc_rootfs_mount_points(spec, rootfs, image, bundle, more_dirs, in_userns, err);
	if (rootfd < 0)
		return -1;

	/* device nodes and copied-up files get exactly the modes asked */
	mode_t old_umask = umask(0);
	struct mount_ctx c = { .rootfd = rootfd,
			       .rootfs = rootfs,
			       .bundle = bundle,
			       .in_userns = in_userns,
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
