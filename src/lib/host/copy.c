/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc cp: files between the host and a running service's container.
 *
 * Design
 * ------
 * Dependencies: base; plan (the service's volumes and --tmpfs: where the
 * container may write); runtime/state.h (its init's pid and start time).
 * - Where the copy runs: in `isc` itself, root on the host.  It never
 *   enters the container's namespaces, never chroots, never runs or loads
 *   anything of the container's (docker cp's helper, chrooted in the
 *   container, loaded its NSS libraries: CVE-2019-14271); owners are
 *   numbers, never looked up by name.  The container holds no fd of isc's
 *   and, in its own user namespace, cannot ptrace a host root process.
 * - The container's files: its init's /proc/PID/root, opened O_PATH once
 *   (the pid pinned by a pidfd, its start time checked before, the pidfd
 *   alive after), is the container's "/" with its mounts.  A path of the
 *   command line is resolved from that fd by one openat2(RESOLVE_IN_ROOT |
 *   RESOLVE_NO_MAGICLINKS): symbolic links and ".." resolve as in the
 *   container, never above its root, and no /proc magic link is followed.
 *   From then on everything is by fd (docker cp resolved a path, then used
 *   the string, so a link swapped in between escaped: CVE-2018-15664): a
 *   tree is walked one entry at a time, openat2(RESOLVE_BENEATH |
 *   RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV) from its directory's fd, so it
 *   never crosses into another mount (left out, counted) nor follows a
 *   link; a link is copied as a link.  Nothing in /proc, /sys or another
 *   kernel filesystem is read.
 * - Only regular files, directories and symbolic links are copied: a fifo,
 *   socket or device is refused when named and left out of a tree
 *   (counted); a file is opened for reading by reopening the O_PATH fd
 *   whose type was checked (the same inode: a fifo swapped in is never
 *   opened) and at most the size it had then is copied.  setuid and
 *   setgid bits are dropped; depth and entries are bounded.
 * - Into the container only where it can write: the directory that
 *   receives the copy must be on the mount of /persist, /tmp, /run,
 *   /scratch, a read-write volume or a --tmpfs (mount ids) and writable;
 *   its root is read-only, and the error says where to copy.  A file is
 *   written under a fresh temporary name (O_EXCL | O_NOFOLLOW) and renamed
 *   over the name (a link put there is replaced, never followed).  Entries
 *   are made with the container root's fsuid and fsgid (uid 0 and gid 0 of
 *   its maps): they belong to it, never to host root, and a directory its
 *   root could not write is refused; a service without a user namespace is
 *   refused.
 * - Out to the host: the same walk; the files belong to the caller.
 */
#include "host/copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "base/util.h"
#include "plan/plan.h"
#include "runtime/state.h"

#define CP_MAX_DEPTH 128
#define CP_MAX_ENTRIES (1u << 20)
#define CP_MAX_MOUNTS 64

/* a path of the command line, inside the container */
#define IN_CTR (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
/* one entry of a tree, from its directory's fd */
#define STEP_CTR (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
#define STEP_HOST (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

struct ctr {
	int root;  /* O_PATH: the container's "/" */
	uid_t uid; /* the host ids of the container's root */
	gid_t gid;
	uint64_t wmnt[CP_MAX_MOUNTS]; /* mount ids the container writes */
	size_t n_wmnt;
};

static void ctr_clear(struct ctr *c)
{
	isc_closep(&c->root);
}
#define cleanup_ctr __attribute__((cleanup(ctr_clear)))

struct copy {
	uint64_t src_step, dst_step;
	uid_t uid; /* (uid_t)-1: the caller's */
	gid_t gid;
	struct isc_cp_stats *st;
	size_t entries;
};

static int open2(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC, .resolve = resolve };
	long r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	return r < 0 ? -1 : (int)r;
}

/* A path of the command line or of the plan, inside the container: from
 * its root's fd, relative ("/" is the root itself), RESOLVE_IN_ROOT. */
static int open_in(const struct ctr *c, const char *path, int flags)
{
	while (*path == '/')
		path++;
	return open2(c->root, *path ? path : ".", flags, IN_CTR);
}

/* The inode an O_PATH fd holds, opened for I/O (whatever its name is now). */
static int reopen(int fd, int flags)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return open(p, flags | O_CLOEXEC | O_NOCTTY);
}

static int mnt_id(int fd, uint64_t *id)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return -1;
	if (!(sx.stx_mask & STATX_MNT_ID)) {
		errno = ENOSYS;
		return -1;
	}
	*id = sx.stx_mnt_id;
	return 0;
}

static bool kernel_fs(int fd)
{
	struct statfs s;
	if (fstatfs(fd, &s) < 0)
		return true;
	switch ((unsigned long)s.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case SECURITYFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case BPF_FS_MAGIC:
		return true;
	default:
		return false;
	}
}

static const char *kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a fifo";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	return "a special file";
}

static bool copyable(mode_t m)
{
	return S_ISREG(m) || S_ISDIR(m) || S_ISLNK(m);
}

/* The last component of p ("a/b/" -> "b"); NULL for "/", "", "." and "..". */
static char *last_name(const char *p)
{
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	size_t s = n;
	while (s > 0 && p[s - 1] != '/')
		s--;
	char *name = isc_xasprintf("%.*s", (int)(n - s), p + s);
	if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		free(name);
		return NULL;
	}
	return name;
}

/* p without its last component ("/a/b" -> "/a", "b" -> ".", "/b" -> "/"). */
static char *parent_of(const char *p)
{
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	while (n > 0 && p[n - 1] != '/')
		n--;
	while (n > 1 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return isc_xstrdup(".");
	return isc_xasprintf("%.*s", (int)n, p);
}

/* ---- the container ------------------------------------------------------------------ */

/* "0 BASE COUNT": the host id of the container's 0; 0 when there is none
 * (no user namespace: its root is the host's). */
static unsigned long map_zero(int procdir, const char *file)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	isc_error *e = NULL;
	if (isc_read_file_at(procdir, file, &text, &len, 4096, &e) < 0) {
		isc_error_free(&e);
		return 0;
	}
	unsigned long in, out, count;
	if (sscanf(text, "%lu %lu %lu", &in, &out, &count) != 3 || in != 0 || count == 0)
		return 0;
	return out;
}

static int ctr_root(const char *root, const char *name, struct ctr *c, isc_error **err)
{
	if (isc_plan_parse_name(name, err) < 0)
		return -1;
	cleanup_free char *rt = isc_xasprintf("%s/runtime", root);
	cleanup_state_handle struct isc_state_handle h = { 0 };
	h.d.root_fd = h.d.dir_fd = -1;
	if (!isc_state_exists(rt, name))
		return isc_error_set(err, 0, "no running service named %s (isc ps lists them)", name);
	if (isc_state_open(rt, name, ISC_STATE_SHARED, &h, err) < 0)
		return isc_error_wrap(err, "%s", name);
	isc_state_release_dir(&h);
	if (h.status != ISC_STATUS_RUNNING && h.status != ISC_STATUS_PAUSED)
		return isc_error_set(err, 0, "%s is %s: isc cp reaches its files through its running container", name,
				     isc_status_name(h.status));
	cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, h.st.pid, 0);
	if (pidfd < 0 || !isc_state_pid_alive(&h.st))
		return isc_error_set(err, 0, "%s: its container ended", name);
	cleanup_free char *pp = isc_xasprintf("/proc/%d", (int)h.st.pid);
	cleanup_close int procdir = open(pp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procdir < 0)
		return isc_error_set(err, errno, "%s: %s", name, pp);
	cleanup_close int rootfd = openat(procdir, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return isc_error_set(err, errno, "%s: %s/root", name, pp);
	unsigned long uid = map_zero(procdir, "uid_map"), gid = map_zero(procdir, "gid_map");
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return isc_error_set(err, 0, "%s: its container ended", name);
	c->uid = (uid_t)uid;
	c->gid = (gid_t)gid;
	c->root = steal_fd(&rootfd);
	return 0;
}

static void add_wmnt(struct ctr *c, const char *dst, uint64_t root_id)
{
	cleanup_close int fd = open_in(c, dst, O_PATH | O_DIRECTORY);
	uint64_t id;
	/* a destination that is not a mount of its own is the read-only root */
	if (fd >= 0 && mnt_id(fd, &id) == 0 && id != root_id && c->n_wmnt < CP_MAX_MOUNTS)
		c->wmnt[c->n_wmnt++] = id;
}

/* The mounts the container writes: /persist, /tmp, /run, /scratch, its
 * read-write volumes and --tmpfs (service.json's plan). */
static int ctr_writable_mounts(const char *root, const char *name, struct ctr *c, isc_error **err)
{
	uint64_t root_id;
	if (mnt_id(c->root, &root_id) < 0)
		return isc_error_set(err, errno, "%s: the mount id of its root (statx)", name);
	static const char *const always[] = { "/persist", "/tmp", "/run", "/scratch" };
	for (size_t i = 0; i < ARRAY_SIZE(always); i++)
		add_wmnt(c, always[i], root_id);
	cleanup_free char *path = isc_xasprintf("%s/containers/%s/service.json", root, name);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (j == NULL)
		return isc_error_set(err, 0, "%s: %s", path, je.text);
	struct isc_plan plan;
	memset(&plan, 0, sizeof(plan));
	int r = isc_plan_from_json(json_object_get(j, "plan"), &plan, err);
	json_decref(j);
	if (r < 0)
		return isc_error_wrap(err, "%s", path);
	for (size_t k = 0; k < plan.n_volumes; k++)
		if (!plan.volumes[k].ro)
			add_wmnt(c, plan.volumes[k].dst, root_id);
	for (size_t k = 0; plan.tmpfs && plan.tmpfs[k]; k++) {
		struct isc_tmpfs t;
		if (isc_plan_parse_tmpfs(plan.tmpfs[k], &t, NULL) == 0) {
			add_wmnt(c, t.dst, root_id);
			free(t.dst);
		}
	}
	isc_plan_clear(&plan);
	return 0;
}

static bool ctr_writes(const struct ctr *c, int fd)
{
	uint64_t id;
	struct statvfs v;
	if (mnt_id(fd, &id) < 0 || fstatvfs(fd, &v) < 0 || (v.f_flag & ST_RDONLY) || kernel_fs(fd))
		return false;
	for (size_t i = 0; i < c->n_wmnt; i++)
		if (c->wmnt[i] == id)
			return true;
	return false;
}

/* ---- the copy ------------------------------------------------------------------------ */

static int copy_node(struct copy *cp, int src, const struct stat *sst, int ddir, const char *dname, const char *spath,
		     int depth, isc_error **err);

/* A random temporary name; its maker (O_EXCL, symlinkat) fails on a
 * name the container put there already, and the next name is tried. */
static int tmp_name(char out[32])
{
	uint32_t r;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return -1;
	snprintf(out, 32, ".isc-cp.%08x", r);
	return 0;
}

/* Entries are made in the container as its root (fsuid and fsgid): a
 * tmpfs of its user namespace takes no owner outside it (EOVERFLOW), and
 * the directory's permissions are checked as for the container's root.
 * On the host (uid -1) as the caller. */
static void make_as_owner(const struct copy *cp, bool on)
{
	if (cp->uid == (uid_t)-1)
		return;
	setfsgid(on ? cp->gid : 0);
	setfsuid(on ? cp->uid : 0);
}

static int copy_bytes(int in, int out, off_t size)
{
	char buf[65536];
	while (size > 0) {
		ssize_t n = read(in, buf, (size_t)size < sizeof(buf) ? (size_t)size : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break; /* shrunk meanwhile: what there was */
		int w = isc_write_all(out, buf, (size_t)n);
		if (w < 0) {
			errno = -w;
			return -1;
		}
		size -= n;
	}
	return 0;
}

/* The destination's side of a file: a temporary name, the bytes, the
 * mode and times, the rename (as the owner: make_as_owner). */
static int write_new(struct copy *cp, int in, const struct stat *sst, int ddir, const char *dname, isc_error **err)
{
	char tmp[32];
	cleanup_close int out = -1;
	for (int i = 0; i < 8 && out < 0; i++) {
		if (tmp_name(tmp) < 0)
			return isc_error_set(err, errno, "getrandom");
		out = openat(ddir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0 && errno != EEXIST)
			break;
	}
	if (out < 0)
		return isc_error_set(err, errno, "%s: create", dname);
	struct timespec ts[2] = { sst->st_atim, sst->st_mtim };
	const char *step = "write";
	if (copy_bytes(in, out, sst->st_size) < 0 || (step = "chmod", fchmod(out, sst->st_mode & 0777) < 0) ||
	    (step = "utimens", futimens(out, ts) < 0) || (step = "rename", renameat(ddir, tmp, ddir, dname) < 0)) {
		int e = errno;
		unlinkat(ddir, tmp, 0);
		return isc_error_set(err, e, "%s: %s", dname, step);
	}
	cp->st->files++;
	return 0;
}

static int copy_file(struct copy *cp, int src, const struct stat *sst, int ddir, const char *dname, const char *spath,
		     isc_error **err)
{
	cleanup_close int in = reopen(src, O_RDONLY | O_NONBLOCK);
	if (in < 0)
		return isc_error_set(err, errno, "%s: open", spath);
	make_as_owner(cp, true);
	int r = write_new(cp, in, sst, ddir, dname, err);
	make_as_owner(cp, false);
	return r;
}

static int link_new(struct copy *cp, const char *target, int ddir, const char *dname, isc_error **err)
{
	char tmp[32];
	int r = -1;
	for (int i = 0; i < 8 && r < 0; i++) {
		if (tmp_name(tmp) < 0)
			return isc_error_set(err, errno, "getrandom");
		r = symlinkat(target, ddir, tmp);
		if (r < 0 && errno != EEXIST)
			break;
	}
	if (r < 0)
		return isc_error_set(err, errno, "%s: symlink", dname);
	if (renameat(ddir, tmp, ddir, dname) < 0) {
		int e = errno;
		unlinkat(ddir, tmp, 0);
		return isc_error_set(err, e, "%s: rename", dname);
	}
	cp->st->links++;
	return 0;
}

static int copy_link(struct copy *cp, int src, int ddir, const char *dname, const char *spath, isc_error **err)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(src, "", target, sizeof(target));
	if (n < 0)
		return isc_error_set(err, errno, "%s: readlink", spath);
	if ((size_t)n >= sizeof(target))
		return isc_error_set(err, ENAMETOOLONG, "%s: readlink", spath);
	target[n] = '\0';
	make_as_owner(cp, true);
	int r = link_new(cp, target, ddir, dname, err);
	make_as_owner(cp, false);
	return r;
}

static int copy_entries(struct copy *cp, DIR *dir, int dd, const char *spath, int depth, isc_error **err)
{
	struct dirent *de;
	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++cp->entries > CP_MAX_ENTRIES)
			return isc_error_set(err, EFBIG, "%s: more than %u entries", spath, CP_MAX_ENTRIES);
		cleanup_free char *cpath = isc_xasprintf("%s/%s", spath, de->d_name);
		cleanup_close int c = open2(dirfd(dir), de->d_name, O_PATH | O_NOFOLLOW, cp->src_step);
		if (c < 0 && (errno == EXDEV || errno == ENOENT)) {
			if (errno == EXDEV) /* another mount: not part of the tree */
				cp->st->skipped++;
			continue;
		}
		struct stat cs;
		if (c < 0 || fstat(c, &cs) < 0)
			return isc_error_set(err, errno, "%s", cpath);
		if (copy_node(cp, c, &cs, dd, de->d_name, cpath, depth + 1, err) < 0)
			return -1;
	}
	if (errno != 0)
		return isc_error_set(err, errno, "%s: readdir", spath);
	return 0;
}

static int copy_dir(struct copy *cp, int src, const struct stat *sst, int ddir, const char *dname, const char *spath,
		    int depth, isc_error **err)
{
	if (depth >= CP_MAX_DEPTH)
		return isc_error_set(err, ELOOP, "%s: deeper than %d levels", spath, CP_MAX_DEPTH);
	int d = reopen(src, O_RDONLY | O_DIRECTORY);
	if (d < 0)
		return isc_error_set(err, errno, "%s: open", spath);
	cleanup_dir DIR *dir = fdopendir(d);
	if (dir == NULL) {
		int e = errno;
		close(d);
		return isc_error_set(err, e, "%s: fdopendir", spath);
	}
	make_as_owner(cp, true);
	bool made = mkdirat(ddir, dname, 0700) == 0;
	bool there = made || errno == EEXIST;
	/* made, or there already: a directory of this mount, never a link */
	int fd = there ? open2(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, cp->dst_step) : -1;
	int e = errno;
	make_as_owner(cp, false);
	cleanup_close int dd = fd;
	if (dd < 0)
		return isc_error_set(err, e, "%s: %s", dname, there ? "not a directory of this mount" : "mkdir");
	if (copy_entries(cp, dir, dd, spath, depth, err) < 0)
		return -1;
	struct timespec ts[2] = { sst->st_atim, sst->st_mtim };
	make_as_owner(cp, true);
	int r = made ? fchmod(dd, sst->st_mode & 01777) < 0 || futimens(dd, ts) < 0 ? -1 : 0 : 0;
	e = errno;
	make_as_owner(cp, false);
	if (r < 0)
		return isc_error_set(err, e, "%s: chmod", dname);
	cp->st->dirs++;
	return 0;
}

static int copy_node(struct copy *cp, int src, const struct stat *sst, int ddir, const char *dname, const char *spath,
		     int depth, isc_error **err)
{
	if (S_ISREG(sst->st_mode))
		return copy_file(cp, src, sst, ddir, dname, spath, err);
	if (S_ISDIR(sst->st_mode))
		return copy_dir(cp, src, sst, ddir, dname, spath, depth, err);
	if (S_ISLNK(sst->st_mode))
		return copy_link(cp, src, ddir, dname, spath, err);
	cp->st->skipped++; /* fifo, socket, device: never copied */
	return 0;
}

/* ---- the two directions --------------------------------------------------------------- */

int isc_cp_out(const char *root, const char *name, const char *cpath, const char *hostpath, struct isc_cp_stats *st,
	       isc_error **err)
{
	memset(st, 0, sizeof(*st));
	if (cpath[0] != '/')
		return isc_error_set(err, 0, "%s:%s: the container's path must be absolute", name, cpath);
	cleanup_ctr struct ctr c = { .root = -1 };
	if (ctr_root(root, name, &c, err) < 0)
		return -1;
	cleanup_close int src = open_in(&c, cpath, O_PATH | O_NOFOLLOW);
	struct stat sst;
	if (src < 0 || fstat(src, &sst) < 0)
		return isc_error_set(err, errno, "%s:%s", name, cpath);
	if (kernel_fs(src))
		return isc_error_set(err, 0, "%s:%s: in /proc, /sys or another kernel filesystem: not copied", name,
				     cpath);
	if (!copyable(sst.st_mode))
		return isc_error_set(err, 0, "%s:%s: %s: isc cp copies files, directories and symbolic links", name,
				     cpath, kind(sst.st_mode));
	cleanup_free char *dname = NULL;
	cleanup_close int ddir = open(hostpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ddir >= 0) {
		dname = last_name(cpath);
		if (dname == NULL)
			return isc_error_set(err, 0, "%s:%s: name a file or directory below /", name, cpath);
	} else {
		if (errno != ENOENT && errno != ENOTDIR)
			return isc_error_set(err, errno, "%s", hostpath);
		cleanup_free char *parent = parent_of(hostpath);
		dname = last_name(hostpath);
		ddir = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dname == NULL || ddir < 0)
			return isc_error_set(err, dname ? errno : EINVAL, "%s", hostpath);
	}
	struct copy cp = { .src_step = STEP_CTR, .dst_step = STEP_HOST, .uid = (uid_t)-1, .gid = (gid_t)-1, .st = st };
	cleanup_free char *spath = isc_xasprintf("%s:%s", name, cpath);
	return copy_node(&cp, src, &sst, ddir, dname, spath, 0, err);
}

int isc_cp_in(const char *root, const char *name, const char *hostpath, const char *cpath, struct isc_cp_stats *st,
	      isc_error **err)
{
	memset(st, 0, sizeof(*st));
	if (cpath[0] != '/')
		return isc_error_set(err, 0, "%s:%s: the container's path must be absolute", name, cpath);
	cleanup_close int src = open(hostpath, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat sst;
	if (src < 0 || fstat(src, &sst) < 0)
		return isc_error_set(err, errno, "%s", hostpath);
	if (!copyable(sst.st_mode))
		return isc_error_set(err, 0, "%s: %s: isc cp copies files, directories and symbolic links", hostpath,
				     kind(sst.st_mode));
	cleanup_ctr struct ctr c = { .root = -1 };
	if (ctr_root(root, name, &c, err) < 0)
		return -1;
	if (c.uid == 0 || c.gid == 0)
		return isc_error_set(err, 0,
				     "%s has no user namespace (--userns host): isc cp will not make files owned by "
				     "the host's root in it",
				     name);
	if (ctr_writable_mounts(root, name, &c, err) < 0)
		return -1;
	cleanup_free char *dname = NULL;
	cleanup_close int dp = open_in(&c, cpath, O_PATH | O_DIRECTORY);
	if (dp >= 0) {
		dname = last_name(hostpath);
		if (dname == NULL)
			return isc_error_set(err, 0, "%s: name a file or directory", hostpath);
	} else {
		if (errno != ENOENT && errno != ENOTDIR)
			return isc_error_set(err, errno, "%s:%s", name, cpath);
		cleanup_free char *parent = parent_of(cpath);
		dname = last_name(cpath);
		dp = open_in(&c, parent, O_PATH | O_DIRECTORY);
		if (dname == NULL || dp < 0)
			return isc_error_set(err, dname ? errno : EINVAL, "%s:%s", name, dname ? parent : cpath);
	}
	if (!ctr_writes(&c, dp))
		return isc_error_set(err, EROFS,
				     "%s:%s: the container cannot write there (its root is read-only): copy into "
				     "/persist, /tmp, /run, a read-write volume or a --tmpfs",
				     name, cpath);
	cleanup_close int ddir = reopen(dp, O_RDONLY | O_DIRECTORY);
	if (ddir < 0)
		return isc_error_set(err, errno, "%s:%s", name, cpath);
	struct copy cp = { .src_step = STEP_HOST, .dst_step = STEP_CTR, .uid = c.uid, .gid = c.gid, .st = st };
	return copy_node(&cp, src, &sst, ddir, dname, hostpath, 0, err);
}
