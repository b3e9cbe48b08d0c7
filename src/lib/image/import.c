/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc_image_import: a rootfs directory, a tarball (libarchive reads it: any
 * compression it knows) or an OCI image layout (index.json -> manifest ->
 * layers in order, whiteouts applied) is written into <store>/tmp/<x>/rootfs,
 * then isc_image_store_commit() hashes what was written, seals it and moves
 * it to sha256/<id>; the content the name pointed to before goes when
 * nothing else keeps it (refs.c).  Nothing is half-imported: a failure removes tmp/<x>;
 * an import killed on the way leaves it, unlocked, and the next import
 * removes it (each holds an flock on its own).
 *
 * Every entry is created relative to the new rootfs: its parent is resolved
 * with openat2(RESOLVE_IN_ROOT), so a symlink in the image (or an earlier
 * layer) can never send a write outside it, and the last component is made
 * with the *at() calls, which do not follow it.  Policy (docs/images.md):
 * absolute paths and ".." are refused, so are paths over 4094 bytes or
 * entries more than 256 levels deep; device nodes and sockets are
 * dropped (the runtime makes /dev; a socket is only a name until something
 * binds it) with one summary line naming how many and the first few, as
 * every debootstrap rootfs has /dev/null and friends; owners, modes (set-id
 * bits included), symlinks, hardlinks and fifos are kept, as are mtimes of
 * non-directories; xattrs and ACLs are not imported.
 *
 * An OCI blob is opened once (not followed, a regular file) and all that is
 * used of it is read through that fd and hashed on the way: a JSON blob is
 * read into memory, checked, and parsed from those bytes; a layer is hashed
 * in each of its two passes and checked at the end of each, so a blob
 * replaced or rewritten after a check is never imported unchecked.
 *
 * This file: paths, the writer of entries into the new rootfs, the import
 * of a directory, and the import itself; tarballs and layers are read in
 * import-tar.c, OCI image layouts in import-oci.c (import-internal.h). */
#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/util.h"
#include "image/import-internal.h"

int isc_image_path_clean(const char *in, char **out, isc_error **err)
{
	if (in[0] == '/')
		return isc_error_set(err, EPERM, "%.*s%s: absolute path in an image", SHOW(in));
	size_t n = strlen(in);
	char *p = isc_xmalloc0(n + 1);
	size_t o = 0, depth = 0;
	const char *c = in;
	while (*c) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			free(p);
			return isc_error_set(err, EPERM, "%.*s%s: \"..\" in a path of an image", SHOW(in));
		}
		if (len > 0 && !(len == 1 && c[0] == '.')) {
			if (o > 0)
				p[o++] = '/';
			memcpy(p + o, c, len);
			o += len;
			depth++;
		}
		c += len;
		if (*c == '/')
			c++;
	}
	p[o] = '\0';
	if (o > ISC_IMAGE_PATH_MAX) {
		free(p);
		return isc_error_set(err, ENAMETOOLONG, "%.*s%s: a path of %zu bytes (an image allows %d)", SHOW(in), o,
				     ISC_IMAGE_PATH_MAX);
	}
	if (depth > ISC_IMAGE_DEPTH_MAX) {
		free(p);
		return isc_error_set(err, 0, "%.*s%s: a path %zu levels deep (an image allows %d)", SHOW(in), depth,
				     ISC_IMAGE_DEPTH_MAX);
	}
	*out = p;
	return 0;
}

static int resolve_in_root_how(int rootfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV | resolve,
	};
	long r = syscall(SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof(how));
	return r < 0 ? -1 : (int)r;
}

static int resolve_in_root(int rootfd, const char *path, int flags)
{
	return resolve_in_root_how(rootfd, path, flags, 0);
}

/* An fd of the directory holding `path` (created as 0755 root:root when
 * missing and `create`), and the last component in *base.  Missing
 * directories are made from the top down, each resolved from the rootfs
 * as a whole (a symlink on the way leads where it would in the container):
 * a loop, not a recursion, so a path thousands of levels deep costs no
 * stack. */
int isc_import_open_parent(struct importer *im, const char *path, bool create, const char **base, bool *via_symlink)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	*via_symlink = false;
	if (slash == NULL)
		return fcntl(im->rootfd, F_DUPFD_CLOEXEC, 3);
	size_t len = (size_t)(slash - path);
	if (len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char parent[PATH_MAX];
	memcpy(parent, path, len);
	parent[len] = '\0';
	/* the usual case, a parent that exists with no symlink on the way,
	 * is where the path says */
	int fd = resolve_in_root_how(im->rootfd, parent, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
	if (fd >= 0)
		return fd;
	*via_symlink = true; /* perhaps */
	fd = resolve_in_root(im->rootfd, parent, O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	cleanup_close int dfd = fcntl(im->rootfd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return -1;
	size_t end = 0; /* parent[0, end) is resolved as dfd */
	while (end < len) {
		const char *comp = parent + (end ? end + 1 : 0);
		const char *next = strchr(comp, '/');
		size_t stop = next ? (size_t)(next - parent) : len;
		parent[stop] = '\0';
		int sub = resolve_in_root(im->rootfd, parent, O_PATH | O_DIRECTORY);
		if (sub < 0 && errno == ENOENT) {
			if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST)
				return -1;
			sub = resolve_in_root(im->rootfd, parent, O_PATH | O_DIRECTORY);
		}
		if (stop < len)
			parent[stop] = '/';
		if (sub < 0)
			return -1;
		close(dfd);
		dfd = sub;
		end = stop;
	}
	return steal_fd(&dfd);
}

/* How many levels below the rootfs the directory `fd` is, counted up
 * through ".." (the tree is this process's own, in a root-only store);
 * ISC_IMAGE_DEPTH_MAX + 1 for anything deeper; -1 with EXDEV when the walk
 * reaches the top without passing the rootfs (the resolution above failed
 * to keep the parent inside: never, unless it is broken). */
static int dir_depth(struct importer *im, int fd)
{
	cleanup_close int cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	struct stat st, prev = { 0 };
	for (int depth = 0; cur >= 0 && depth <= ISC_IMAGE_DEPTH_MAX; depth++) {
		if (fstat(cur, &st) < 0)
			return -1;
		if (st.st_dev == im->root_dev && st.st_ino == im->root_ino)
			return depth;
		if (depth > 0 && st.st_dev == prev.st_dev && st.st_ino == prev.st_ino) {
			errno = EXDEV; /* ".." of the top is itself */
			return -1;
		}
		prev = st;
		int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(cur);
		cur = up;
	}
	return cur < 0 ? -1 : ISC_IMAGE_DEPTH_MAX + 1;
}

static int copy_data(struct importer *im, const struct src_entry *e, int fd)
{
	if (e->read == NULL)
		return 0;
	for (;;) {
		ssize_t n = e->read(e->cookie, im->buf, COPY_BUF);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		int r = isc_write_all(fd, im->buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

int isc_import_apply_entry(struct importer *im, const struct src_entry *e, isc_error **err)
{
	const char *p = e->path[0] ? e->path : "/";
	if (e->path[0] == '\0') {
		if (e->type != S_IFDIR)
			return isc_error_set(err, EPERM, "%s: the root of the image is not a directory", p);
		if (fchown(im->rootfd, e->uid, e->gid) < 0 || fchmod(im->rootfd, e->perm) < 0)
			return isc_error_set(err, errno, "%s: set owner and mode", p);
		return 0;
	}
	if (strlen(e->path) > ISC_IMAGE_PATH_MAX) /* a directory source's; a tarball's is checked when cleaned */
		return isc_error_set(err, ENAMETOOLONG, "%.*s%s: a path of %zu bytes (an image allows %d)", SHOW(p),
				     strlen(e->path), ISC_IMAGE_PATH_MAX);
	bool dropped =
		e->type != S_IFDIR && e->type != S_IFREG && e->type != S_IFLNK && e->type != S_IFIFO && !e->hardlink;
	const char *base;
	bool via_symlink;
	cleanup_close int pfd = isc_import_open_parent(im, e->path, true, &base, &via_symlink);
	if (pfd < 0)
		return isc_error_set(err, errno, "%.*s%s: its parent directory", SHOW(p));
	/* levels below the rootfs of the parent: those of the path, unless a
	 * symlink on the way leads elsewhere (deeper, perhaps) */
	int depth = 0;
	if (via_symlink)
		depth = dir_depth(im, pfd);
	else
		for (const char *c = e->path; (c = strchr(c, '/')) != NULL && depth <= ISC_IMAGE_DEPTH_MAX; c++)
			depth++;
	if (depth < 0)
		return isc_error_set(err, errno, "%.*s%s: its parent directory%s", SHOW(p),
				     errno == EXDEV ? " is outside the image" : "");
	if (depth >= ISC_IMAGE_DEPTH_MAX)
		return isc_error_set(err, 0, "%.*s%s: %s more than %d levels deep (an image allows %d)", SHOW(p),
				     via_symlink ? "through a symlink, lands" : "a path", ISC_IMAGE_DEPTH_MAX,
				     ISC_IMAGE_DEPTH_MAX);
	struct stat st;
	bool exists = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (exists && !(e->type == S_IFDIR && !e->hardlink && S_ISDIR(st.st_mode))) {
		/* a later entry (or layer) replaces an earlier one */
		if (isc_image_rm_tree_at(pfd, base, err) < 0)
			return isc_error_wrap(err, "%s: replace", p);
		exists = false;
	}
	if (dropped) {
		/* a device node or a socket: never made (the runtime makes
		 * /dev), counted for the summary; what it replaces is gone */
		if (im->ndropped < ARRAY_SIZE(im->dropped))
			im->dropped[im->ndropped] = isc_xstrdup(e->path);
		im->ndropped++;
		return 0;
	}
	if (e->hardlink) {
		const char *tbase;
		bool unused;
		cleanup_close int tfd = isc_import_open_parent(im, e->hardlink, false, &tbase, &unused);
		if (tfd < 0 || linkat(tfd, tbase, pfd, base, 0) < 0)
			return isc_error_set(err, errno, "%.*s%s: hard link to %.*s%s", SHOW(p), SHOW(e->hardlink));
		return 0;
	}
	switch (e->type) {
	case S_IFDIR: {
		if (!exists && mkdirat(pfd, base, 0700) < 0)
			return isc_error_set(err, errno, "mkdir %s", p);
		cleanup_close int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fchown(fd, e->uid, e->gid) < 0 || fchmod(fd, e->perm) < 0)
			return isc_error_set(err, errno, "%s: set owner and mode", p);
		return 0;
	}
	case S_IFREG: {
		cleanup_close int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return isc_error_set(err, errno, "create %s", p);
		int r = copy_data(im, e, fd);
		if (r < 0)
			return isc_error_set(err, -r, "write %s", p);
		/* chown first: it clears set-id bits */
		if (fchown(fd, e->uid, e->gid) < 0 || fchmod(fd, e->perm) < 0)
			return isc_error_set(err, errno, "%s: set owner and mode", p);
		if (e->has_mtime) {
			struct timespec ts[2] = { e->mtime, e->mtime };
			(void)futimens(fd, ts);
		}
		return 0;
	}
	case S_IFLNK:
		if (symlinkat(e->symlink, pfd, base) < 0)
			return isc_error_set(err, errno, "symlink %s", p);
		if (fchownat(pfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return isc_error_set(err, errno, "%s: set owner", p);
		if (e->has_mtime) {
			struct timespec ts[2] = { e->mtime, e->mtime };
			(void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
		}
		return 0;
	default: /* S_IFIFO */
		if (mknodat(pfd, base, S_IFIFO | 0600, 0) < 0)
			return isc_error_set(err, errno, "mkfifo %s", p);
		/* fchmodat follows symlinks, but this name is the fifo just made
		 * in a tree only this process writes */
		if (fchownat(pfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(pfd, base, e->perm, 0) < 0)
			return isc_error_set(err, errno, "%s: set owner and mode", p);
		return 0;
	}
}

/* ---- a directory ----------------------------------------------------------- */

static ssize_t fd_reader(void *cookie, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(*(int *)cookie, buf, len);
		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

static int import_dir_entries(struct importer *im, int dirfd, const char *rel, isc_error **err);

static int import_dir_entry(struct importer *im, int dirfd, const char *name, const char *rel, isc_error **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return isc_error_set(err, errno, "stat %s", rel);
	struct src_entry e = {
		.path = rel,
		.type = st.st_mode & S_IFMT,
		.perm = st.st_mode & 07777,
		.uid = st.st_uid,
		.gid = st.st_gid,
		.mtime = st.st_mtim,
		.has_mtime = true,
	};
	char target[4097];
	cleanup_close int fd = -1;
	switch (e.type) {
	case S_IFDIR:
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", rel);
		if (isc_import_apply_entry(im, &e, err) < 0)
			return -1;
		return import_dir_entries(im, fd, rel, err);
	case S_IFLNK: {
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target));
		if (n < 0 || (size_t)n >= sizeof(target))
			return isc_error_set(err, n < 0 ? errno : ENAMETOOLONG, "readlink %s", rel);
		target[n] = '\0';
		e.symlink = target;
		break;
	}
	case S_IFREG:
		if (st.st_nlink > 1) {
			for (size_t i = 0; i < im->nseen; i++) {
				if (im->seen[i].dev == st.st_dev && im->seen[i].ino == st.st_ino) {
					e.hardlink = im->seen[i].path;
					return isc_import_apply_entry(im, &e, err);
				}
			}
			struct seen_inode *grown = realloc(im->seen, (im->nseen + 1) * sizeof(*im->seen));
			if (grown == NULL)
				abort();
			im->seen = grown;
			im->seen[im->nseen++] = (struct seen_inode){ st.st_dev, st.st_ino, isc_xstrdup(rel) };
		}
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", rel);
		e.read = fd_reader;
		e.cookie = &fd;
		break;
	default:
		break; /* a fifo, or a device node or socket apply_entry drops */
	}
	return isc_import_apply_entry(im, &e, err);
}

static int import_dir_entries(struct importer *im, int fd, const char *rel, isc_error **err)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return isc_error_set(err, errno, "%s", rel);
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return isc_error_set(err, errno, "opendir %s", rel[0] ? rel : "/");
	}
	struct dirent *de;
	int ret = 0;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *child = rel[0] ? isc_xasprintf("%s/%s", rel, de->d_name) : isc_xstrdup(de->d_name);
		ret = import_dir_entry(im, dirfd(d), de->d_name, child, err);
	}
	closedir(d);
	return ret;
}

static int import_dir(struct importer *im, const char *dir, isc_error **err)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", dir);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "stat %s", dir);
	struct src_entry e = {
		.path = "", .type = S_IFDIR, .perm = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid
	};
	if (isc_import_apply_entry(im, &e, err) < 0)
		return -1;
	return import_dir_entries(im, fd, "", err);
}

/* ---- the import ------------------------------------------------------------ */

enum source_kind { SOURCE_DIR, SOURCE_OCI, SOURCE_TAR };

#define TMP_PREFIX "import-"

/* An import killed on the way (a crash, SIGKILL, a power cut) leaves its
 * tmp/import-* behind.  Every import holds an flock on its folder from the
 * moment it exists (made under the store lock), so a folder that can be
 * locked belongs to no running import and is removed.  Best effort: what
 * cannot be removed now is tried again by the next import. */
static void sweep_stale(int storefd)
{
	cleanup_close int tmpfd = openat(storefd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd < 0)
		return;
	int dfd = fcntl(tmpfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		cleanup_close int fd = openat(tmpfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		cleanup_error isc_error *e = NULL;
		(void)isc_image_rm_tree_at(tmpfd, de->d_name, &e);
	}
	closedir(d);
}

/* tmp/import-PID-RANDOM with rootfs/ in it, locked (the returned fd) */
static int make_tmp(int storefd, char **tmpname, isc_error **err)
{
	cleanup_close int lock = isc_image_store_lock(storefd, err);
	if (lock < 0)
		return -1;
	sweep_stale(storefd);
	unsigned char rnd[6];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return isc_error_set(err, errno, "getrandom");
	cleanup_free char *name = isc_xasprintf(TMP_PREFIX "%d-%02x%02x%02x%02x%02x%02x", (int)getpid(), rnd[0], rnd[1],
						rnd[2], rnd[3], rnd[4], rnd[5]);
	cleanup_free char *rel = isc_xasprintf("tmp/%s", name);
	cleanup_free char *rootrel = isc_xasprintf("%s/rootfs", rel);
	if (mkdirat(storefd, rel, 0700) < 0)
		return isc_error_set(err, errno, "create %s", rel);
	int fd = openat(storefd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 || mkdirat(storefd, rootrel, 0755) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		(void)unlinkat(storefd, rel, AT_REMOVEDIR);
		return isc_error_set(err, e, "create %s", rootrel);
	}
	*tmpname = steal_pointer(&name);
	return fd;
}

/* The summary line of what was dropped: how many, and the first few. */
static char *dropped_notice(const struct importer *im, const char *name)
{
	if (im->ndropped == 0)
		return NULL;
	char *list = isc_xstrdup("");
	size_t shown = im->ndropped < ARRAY_SIZE(im->dropped) ? im->ndropped : ARRAY_SIZE(im->dropped);
	for (size_t i = 0; i < shown; i++) {
		char *more = isc_xasprintf("%s%s/%.*s%s", list, i ? ", " : "", SHOW(im->dropped[i]));
		free(list);
		list = more;
	}
	char *n = isc_xasprintf("image \"%s\": dropped %zu device node%s and socket%s (the runtime makes /dev): %s%s",
				name, im->ndropped, im->ndropped == 1 ? "" : "s", im->ndropped == 1 ? "" : "s", list,
				im->ndropped > shown ? ", ..." : "");
	free(list);
	return n;
}

int isc_image_import(const char *root, const char *name, const char *source, char id[65], char **notice,
		     isc_error **err)
{
	*notice = NULL;
	if (isc_image_name_check(name, err) < 0)
		return -1;
	struct stat st;
	if (stat(source, &st) < 0)
		return isc_error_set(err, errno, "image \"%s\": source %s", name, source);
	enum source_kind kind;
	if (S_ISDIR(st.st_mode)) {
		cleanup_free char *marker = isc_xasprintf("%s/oci-layout", source);
		kind = access(marker, F_OK) == 0 ? SOURCE_OCI : SOURCE_DIR;
	} else if (S_ISREG(st.st_mode)) {
		kind = SOURCE_TAR;
	} else {
		return isc_error_set(err, EINVAL, "image \"%s\": source %s is neither a directory nor a file", name,
				     source);
	}
	cleanup_close int storefd = isc_image_store_open(root, true, err);
	if (storefd < 0)
		return isc_error_wrap(err, "image \"%s\"", name);
	cleanup_free char *tmpname = NULL;
	cleanup_close int tmplock = make_tmp(storefd, &tmpname, err);
	if (tmplock < 0)
		return isc_error_wrap(err, "image \"%s\"", name);
	cleanup_free char *tmprel = isc_xasprintf("tmp/%s", tmpname);
	cleanup_free char *rootrel = isc_xasprintf("%s/rootfs", tmprel);
	struct importer im = { .rootfd = -1, .source = source, .buf = malloc(COPY_BUF) };
	if (im.buf == NULL)
		abort();
	int ret = 0;
	struct stat rst;
	im.rootfd = openat(storefd, rootrel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (im.rootfd < 0 || fstat(im.rootfd, &rst) < 0) {
		ret = isc_error_set(err, errno, "open %s", rootrel);
	} else {
		im.root_dev = rst.st_dev;
		im.root_ino = rst.st_ino;
		static int (*const importers[])(struct importer *, const char *, isc_error **) = {
			[SOURCE_DIR] = import_dir,
			[SOURCE_OCI] = isc_import_oci,
			[SOURCE_TAR] = isc_import_tarball,
		};
		ret = importers[kind](&im, source, err);
	}
	if (im.rootfd >= 0)
		close(im.rootfd);
	free(im.buf);
	cleanup_free char *dropped = ret == 0 ? dropped_notice(&im, name) : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(im.dropped); i++)
		free(im.dropped[i]);
	for (size_t i = 0; i < im.nseen; i++)
		free(im.seen[i].path);
	free(im.seen);
	char old_id[65] = "";
	if (ret == 0)
		ret = isc_image_store_commit(storefd, tmpname, name, id, old_id, err);
	if (ret == 0) {
		/* the config belongs to the name (another name may share the
		 * content with another config, or none) */
		ret = isc_image_state_set_config(storefd, id, name, im.config, err);
		json_decref(im.config);
		if (ret < 0)
			return isc_error_wrap(err, "image \"%s\": record its config", name);
		/* the name pointed to other content: say so, and remove that
		 * content when nothing else keeps it (refs.c) */
		cleanup_free char *released = NULL;
		if (isc_image_release_old(root, name, old_id, id, &released, err) < 0)
			return isc_error_wrap(err, "image \"%s\": imported as %.12s; its old content %.12s", name, id,
					      old_id);
		if (dropped && released)
			*notice = isc_xasprintf("%s\n%s", dropped, released);
		else
			*notice = dropped ? steal_pointer(&dropped) : steal_pointer(&released);
		return 0;
	}
	json_decref(im.config);
	if (ret < 0) {
		cleanup_error isc_error *rmerr = NULL;
		if (isc_image_rm_tree_at(storefd, tmprel, &rmerr) < 0) {
			/* never silent: the next import tries again (sweep_stale) */
			char buf[512];
			cleanup_free char *msg = isc_xasprintf("%s (and removing %s failed: %s)", (*err)->msg, tmprel,
							       isc_error_text(rmerr, buf, sizeof(buf)));
			isc_error_set(err, (*err)->errnum, "%s", msg);
		}
		if (kind == SOURCE_TAR) /* the message starts with the tarball's path */
			return isc_error_wrap(err, "image \"%s\": import from tarball", name);
		return isc_error_wrap(err, "image \"%s\": import from %s %s", name,
				      kind == SOURCE_OCI ? "OCI layout" : "directory", source);
	}
	return 0;
}
