/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc_image_import: a rootfs directory, a tarball (libarchive reads it: any
 * compression it knows) or an OCI image layout (index.json -> manifest ->
 * layers in order, whiteouts applied) is written into <store>/tmp/<x>/rootfs,
 * then isc_image_store_commit() hashes what was written, seals it and moves
 * it to sha256/<id>.  Nothing is half-imported: a failure removes tmp/<x>;
 * an import killed on the way leaves it, unlocked, and the next import
 * removes it (each holds an flock on its own).
 *
 * Every entry is created relative to the new rootfs: its parent is resolved
 * with openat2(RESOLVE_IN_ROOT), so a symlink in the image (or an earlier
 * layer) can never send a write outside it, and the last component is made
 * with the *at() calls, which do not follow it.  Policy (docs/images.md):
 * absolute paths and ".." are refused, so are paths over 4094 bytes or
 * entries more than 256 levels deep, device nodes and sockets are
 * refused (the runtime makes /dev), owners, modes (set-id bits included),
 * symlinks, hardlinks and fifos are kept, as are mtimes of non-directories;
 * xattrs and ACLs are not imported.
 *
 * An OCI blob is opened once (not followed, a regular file) and all that is
 * used of it is read through that fd and hashed on the way: a JSON blob is
 * read into memory, checked, and parsed from those bytes; a layer is hashed
 * in each of its two passes and checked at the end of each, so a blob
 * replaced or rewritten after a check is never imported unchecked. */
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

#define COPY_BUF (256 * 1024)

/* The limits of an imported tree (docs/images.md): a path of at most
 * ISC_IMAGE_PATH_MAX bytes (so that "/PATH" fits PATH_MAX: the seal and the
 * checks open entries by name), and no entry more than ISC_IMAGE_DEPTH_MAX
 * levels below the root where it really lands (a symlink in its parent
 * counts where it leads): the walks of a tree (manifest, removal) take a
 * stack frame and two fds per level. */
#define ISC_IMAGE_PATH_MAX 4094
#define ISC_IMAGE_DEPTH_MAX 256

/* An entry's path in a message: a path can be 4 KB long (or more, in a pax
 * header), so only its start, and "..." when it goes on. */
#define NAME_SHOWN 100
#define SHOW(p) NAME_SHOWN, (p), strlen(p) > NAME_SHOWN ? "..." : ""

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

struct importer {
	int rootfd;          /* the new rootfs, O_RDONLY|O_DIRECTORY */
	dev_t root_dev;      /* ... and its identity, for dir_depth() */
	ino_t root_ino;
	const char *source;  /* for messages */
	unsigned char *buf;
	struct seen_inode {
		dev_t dev;
		ino_t ino;
		char *path;
	} *seen;            /* directory import: hardlinks by inode */
	size_t nseen;
	json_t *config;      /* OCI layout: the image's config (isc_image_config) */
};

struct src_entry {
	const char *path; /* cleaned, "" for the root */
	mode_t type;      /* S_IFDIR, S_IFREG, S_IFLNK, S_IFIFO, or another (refused) */
	mode_t perm;
	uid_t uid;
	gid_t gid;
	const char *symlink;  /* S_IFLNK target */
	const char *hardlink; /* cleaned path of an entry already imported */
	struct timespec mtime;
	bool has_mtime;
	ssize_t (*read)(void *cookie, void *buf, size_t len);
	void *cookie;
};

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
static int open_parent(struct importer *im, const char *path, bool create, const char **base, bool *via_symlink)
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

static int apply_entry(struct importer *im, const struct src_entry *e, isc_error **err)
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
	if (e->type != S_IFDIR && e->type != S_IFREG && e->type != S_IFLNK && e->type != S_IFIFO && !e->hardlink)
		return isc_error_set(err, EPERM, "%s: device nodes and sockets are not allowed in an image "
						 "(the runtime makes /dev)", p);
	const char *base;
	bool via_symlink;
	cleanup_close int pfd = open_parent(im, e->path, true, &base, &via_symlink);
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
	if (e->hardlink) {
		const char *tbase;
		bool unused;
		cleanup_close int tfd = open_parent(im, e->hardlink, false, &tbase, &unused);
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

/* ---- tarballs and layers ----------------------------------------------- */

enum tar_pass {
	TAR_PLAIN,     /* a tarball: every entry as it is */
	TAR_WHITEOUTS, /* an OCI layer, first pass: only the whiteouts */
	TAR_CONTENT,   /* an OCI layer, second pass: all but the whiteouts */
};

static ssize_t archive_reader(void *cookie, void *buf, size_t len)
{
	la_ssize_t n = archive_read_data(cookie, buf, len);
	return n < 0 ? -EIO : (ssize_t)n;
}

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"

/* A whiteout removes what lower layers put there: applied before the
 * layer's own entries, so that it never hits them. */
static int apply_whiteout(struct importer *im, const char *path, isc_error **err)
{
	const char *base;
	bool unused;
	cleanup_close int pfd = open_parent(im, path, false, &base, &unused);
	if (pfd < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "whiteout %s: its directory", path);
	}
	if (strcmp(base, OPAQUE) == 0) {
		int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return isc_error_set(err, errno, "opaque whiteout %s", path);
		DIR *d = fdopendir(dfd); /* owns dfd from here */
		if (d == NULL) {
			int e = errno;
			close(dfd);
			return isc_error_set(err, e, "opaque whiteout %s", path);
		}
		struct dirent *de;
		int ret = 0;
		while (ret == 0 && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				ret = isc_image_rm_tree_at(dirfd(d), de->d_name, err);
		}
		closedir(d);
		return ret;
	}
	const char *victim = base + strlen(WHITEOUT);
	if (victim[0] == '\0' || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
		return isc_error_set(err, EPERM, "whiteout %s: names nothing", path);
	if (isc_image_rm_tree_at(pfd, victim, err) < 0)
		return isc_error_wrap(err, "whiteout %s", path);
	return 0;
}

/* What libarchive reads: read(2) from one open file, and for an OCI layer
 * hashed on the way, so that the bytes imported are the bytes checked
 * against the digest (a second open of the blob by its path, or a second
 * read of a file its owner rewrote in between, would not be). */
struct tar_source {
	int fd;
	const char *name;       /* for messages */
	struct isc_sha256 *sha; /* NULL: not hashed */
	uint64_t total;         /* bytes read */
	unsigned char *buf;     /* SOURCE_BUF bytes */
};

#define SOURCE_BUF (64 * 1024)

static ssize_t source_read(struct tar_source *src)
{
	for (;;) {
		ssize_t n = read(src->fd, src->buf, SOURCE_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			if (src->sha)
				isc_sha256_update(src->sha, src->buf, (size_t)n);
			src->total += (uint64_t)n;
		}
		return n;
	}
}

static la_ssize_t source_archive_read(struct archive *a, void *cookie, const void **out)
{
	struct tar_source *src = cookie;
	ssize_t n = source_read(src);
	if (n < 0) {
		archive_set_error(a, errno, "read: %s", strerror(errno));
		return ARCHIVE_FATAL;
	}
	*out = src->buf;
	return n;
}

/* The rest of the file, hashed: a digest covers the whole blob, not just
 * what the archive reader wanted of it. */
static int source_drain(struct tar_source *src, isc_error **err)
{
	for (;;) {
		ssize_t n = source_read(src);
		if (n < 0)
			return isc_error_set(err, errno, "read %s", src->name);
		if (n == 0)
			return 0;
	}
}

static int import_tar(struct importer *im, struct tar_source *src, enum tar_pass pass, isc_error **err)
{
	const char *file = src->name;
	__attribute__((cleanup(archive_freep))) struct archive *a = archive_read_new();
	if (a == NULL)
		abort();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open(a, src, NULL, source_archive_read, NULL) != ARCHIVE_OK)
		return isc_error_set(err, EINVAL, "%s: %s", file, archive_error_string(a));
	for (;;) {
		struct archive_entry *ae;
		int r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return isc_error_set(err, EINVAL, "%s: %s", file, archive_error_string(a));
		const char *raw = archive_entry_pathname(ae);
		if (raw == NULL)
			return isc_error_set(err, EINVAL, "%s: an entry without a path", file);
		cleanup_free char *path = NULL;
		if (isc_image_path_clean(raw, &path, err) < 0)
			return isc_error_wrap(err, "%s", file);
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		bool whiteout = pass != TAR_PLAIN && strncmp(base, WHITEOUT, strlen(WHITEOUT)) == 0;
		if (pass == TAR_WHITEOUTS) {
			if (whiteout && apply_whiteout(im, path, err) < 0)
				return isc_error_wrap(err, "%s", file);
			continue;
		}
		if (whiteout)
			continue;
		cleanup_free char *hardlink = NULL;
		if (archive_entry_hardlink(ae) &&
		    isc_image_path_clean(archive_entry_hardlink(ae), &hardlink, err) < 0)
			return isc_error_wrap(err, "%s: %.*s%s: hard link target", file, SHOW(raw));
		const char *symlink = archive_entry_symlink(ae);
		mode_t type = archive_entry_filetype(ae);
		if (type == AE_IFLNK && symlink == NULL)
			return isc_error_set(err, EINVAL, "%s: %.*s%s: symlink without a target", file, SHOW(raw));
		struct src_entry e = {
			.path = path, .type = type, .perm = archive_entry_perm(ae) & 07777,
			.uid = (uid_t)archive_entry_uid(ae), .gid = (gid_t)archive_entry_gid(ae),
			.symlink = symlink, .hardlink = hardlink,
			.mtime = { archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) },
			.has_mtime = archive_entry_mtime_is_set(ae),
			.read = type == AE_IFREG ? archive_reader : NULL, .cookie = a,
		};
		if (archive_entry_uid(ae) < 0 || archive_entry_uid(ae) > UINT32_MAX - 1 || archive_entry_gid(ae) < 0 ||
		    archive_entry_gid(ae) > UINT32_MAX - 1)
			return isc_error_set(err, EINVAL, "%s: %.*s%s: uid or gid out of range", file, SHOW(raw));
		if (apply_entry(im, &e, err) < 0)
			return isc_error_wrap(err, "%s", file);
	}
	return 0;
}

/* A regular file opened for reading: O_NONBLOCK, so that a fifo in its
 * place fails here instead of blocking the import forever. */
static int open_regular_at(int dirfd, const char *path, int flags, const char *name, isc_error **err)
{
	cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", name);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "stat %s", name);
	if (!S_ISREG(st.st_mode))
		return isc_error_set(err, EINVAL, "%s: not a regular file", name);
	return steal_fd(&fd);
}

static int import_tarball(struct importer *im, const char *file, isc_error **err)
{
	cleanup_close int fd = open_regular_at(AT_FDCWD, file, 0, file, err);
	if (fd < 0)
		return -1;
	cleanup_free unsigned char *buf = isc_xmalloc0(SOURCE_BUF);
	struct tar_source src = { .fd = fd, .name = file, .buf = buf };
	return import_tar(im, &src, TAR_PLAIN, err);
}

/* ---- OCI image layout ----------------------------------------------------- */

#define cleanup_json __attribute__((cleanup(json_decrefp))) /* jansson's */

#define OCI_JSON_MAX (4 << 20) /* index, manifest, config */

/* A blob a descriptor names, open: blobs/sha256/<hex>, a regular file
 * (not followed if a symlink).  Everything read of it goes through this
 * one fd and is hashed (oci_blob_check). */
struct oci_blob {
	int fd;
	char *rel;
	char hex[65];
	json_int_t size;
};

static void oci_blob_clear(struct oci_blob *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(b->rel);
}
#define cleanup_blob __attribute__((cleanup(oci_blob_clear)))

static int oci_blob_open(int layoutfd, json_t *desc, struct oci_blob *b, isc_error **err)
{
	const char *digest = NULL;
	if (json_unpack(desc, "{s:s, s:I}", "digest", &digest, "size", &b->size) < 0)
		return isc_error_set(err, EINVAL, "descriptor without digest or size");
	static const char algo[] = "sha256:";
	const char *hex = digest + strlen(algo);
	bool ok = strncmp(digest, algo, strlen(algo)) == 0 && strlen(hex) == 64;
	for (size_t i = 0; ok && i < 64; i++)
		ok = (hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f');
	if (!ok)
		return isc_error_set(err, EINVAL, "digest \"%.80s\": only sha256:<64 hex> is supported", digest);
	memcpy(b->hex, hex, 65);
	b->rel = isc_xasprintf("blobs/sha256/%s", hex);
	b->fd = open_regular_at(layoutfd, b->rel, O_NOFOLLOW, b->rel, err);
	return b->fd < 0 ? -1 : 0;
}

/* What was read of the blob (all of it) against its descriptor. */
static int oci_blob_check(const struct oci_blob *b, struct isc_sha256 *s, uint64_t total, isc_error **err)
{
	unsigned char d[32];
	char got[65];
	isc_sha256_final(s, d);
	isc_sha256_hex(d, got);
	if (strcmp(got, b->hex) != 0)
		return isc_error_set(err, 0, "blob %s: its content hashes to sha256:%s", b->rel, got);
	if ((json_int_t)total != b->size)
		return isc_error_set(err, 0, "blob %s: %llu bytes, the descriptor says %lld", b->rel,
				     (unsigned long long)total, (long long)b->size);
	return 0;
}

/* All of fd, at most max bytes, NUL-terminated. */
static int read_all(int fd, const char *name, size_t max, char **out, size_t *len, isc_error **err)
{
	size_t cap = 4096, used = 0;
	cleanup_free char *buf = isc_xmalloc0(cap + 1);
	for (;;) {
		if (used == cap) {
			if (cap > max)
				return isc_error_set(err, EFBIG, "%s: larger than %zu bytes", name, max);
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (nb == NULL)
				abort();
			buf = nb;
		}
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return isc_error_set(err, errno, "read %s", name);
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*out = steal_pointer(&buf);
	*len = used;
	return 0;
}

/* A JSON blob (manifest, index, config): read once, hashed, parsed from
 * the same bytes. */
static int oci_load_json(int layoutfd, json_t *desc, json_t **out, isc_error **err)
{
	cleanup_blob struct oci_blob b = { .fd = -1 };
	if (oci_blob_open(layoutfd, desc, &b, err) < 0)
		return -1;
	cleanup_free char *text = NULL;
	size_t len;
	if (read_all(b.fd, b.rel, OCI_JSON_MAX, &text, &len, err) < 0)
		return -1;
	struct isc_sha256 s;
	isc_sha256_init(&s);
	isc_sha256_update(&s, text, len);
	if (oci_blob_check(&b, &s, len, err) < 0)
		return -1;
	json_error_t je;
	*out = json_loadb(text, len, 0, &je);
	if (*out == NULL)
		return isc_error_set(err, EINVAL, "%s: line %d: %s", b.rel, je.line, je.text);
	return 0;
}

/* One pass over a layer, hashed as it is read; a blob that does not match
 * its descriptor fails the import (with what this pass did: nothing of an
 * import is kept when it fails), and that is the error reported, before
 * any the archive reader gave for the same bytes. */
static int oci_layer_pass(struct importer *im, const struct oci_blob *b, const char *name, enum tar_pass pass,
			  isc_error **err)
{
	if (lseek(b->fd, 0, SEEK_SET) < 0)
		return isc_error_set(err, errno, "seek %s", name);
	struct isc_sha256 s;
	isc_sha256_init(&s);
	cleanup_free unsigned char *buf = isc_xmalloc0(SOURCE_BUF);
	struct tar_source src = { .fd = b->fd, .name = name, .sha = &s, .buf = buf };
	cleanup_error isc_error *terr = NULL;
	int ret = import_tar(im, &src, pass, &terr);
	if (source_drain(&src, err) < 0 || oci_blob_check(b, &s, src.total, err) < 0)
		return -1;
	if (ret < 0)
		isc_error_move(err, &terr);
	return ret;
}

/* The one image manifest an index leads to (nested indexes followed). */
static int oci_find_manifest(int layoutfd, json_t *index, int depth, json_t **out, isc_error **err)
{
	json_t *manifests = json_object_get(index, "manifests");
	if (!json_is_array(manifests) || json_array_size(manifests) == 0)
		return isc_error_set(err, EINVAL, "index: no manifests");
	if (json_array_size(manifests) > 1)
		return isc_error_set(err, EINVAL, "index: %zu manifests; an import takes a layout with exactly one image",
				     json_array_size(manifests));
	json_t *desc = json_array_get(manifests, 0);
	const char *mt = json_string_value(json_object_get(desc, "mediaType"));
	cleanup_json json_t *doc = NULL;
	if (oci_load_json(layoutfd, desc, &doc, err) < 0)
		return -1;
	if (json_object_get(doc, "manifests") != NULL ||
	    (mt && strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0)) {
		if (depth >= 4)
			return isc_error_set(err, ELOOP, "index: nested more than 4 deep");
		return oci_find_manifest(layoutfd, doc, depth + 1, out, err);
	}
	*out = steal_pointer(&doc);
	return 0;
}

/* The run settings of an OCI image config blob that isc uses: Entrypoint,
 * Cmd and Env (arrays of strings), WorkingDir and User (strings); any other
 * field, or one of another type, is left out.  NULL when none is set. */
static json_t *oci_run_config(json_t *blob)
{
	json_t *c = json_object_get(blob, "config");
	if (!json_is_object(c))
		return NULL;
	static const char *const arrays[] = { "Entrypoint", "Cmd", "Env" };
	static const char *const strings[] = { "WorkingDir", "User" };
	json_t *out = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(arrays); i++) {
		json_t *v = json_object_get(c, arrays[i]);
		bool ok = json_is_array(v);
		size_t k;
		json_t *e;
		json_array_foreach (v, k, e)
			ok = ok && json_is_string(e);
		if (ok)
			json_object_set(out, arrays[i], v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		json_t *v = json_object_get(c, strings[i]);
		if (json_is_string(v) && json_string_length(v) > 0)
			json_object_set(out, strings[i], v);
	}
	if (json_object_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static int import_oci(struct importer *im, const char *dir, isc_error **err)
{
	cleanup_close int layoutfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (layoutfd < 0)
		return isc_error_set(err, errno, "open %s", dir);
	cleanup_close int ifd = open_regular_at(layoutfd, "index.json", 0, "index.json", err);
	if (ifd < 0)
		return -1;
	cleanup_free char *text = NULL;
	size_t len;
	if (read_all(ifd, "index.json", OCI_JSON_MAX, &text, &len, err) < 0)
		return -1;
	json_error_t je;
	cleanup_json json_t *index = json_loadb(text, len, 0, &je);
	if (index == NULL)
		return isc_error_set(err, EINVAL, "index.json: line %d: %s", je.line, je.text);
	cleanup_json json_t *manifest = NULL;
	if (oci_find_manifest(layoutfd, index, 0, &manifest, err) < 0)
		return -1;
	json_t *layers = json_object_get(manifest, "layers");
	if (!json_is_array(layers))
		return isc_error_set(err, EINVAL, "image manifest: no layers");
	json_t *cdesc = json_object_get(manifest, "config");
	if (cdesc != NULL) {
		cleanup_json json_t *blob = NULL;
		if (oci_load_json(layoutfd, cdesc, &blob, err) < 0)
			return isc_error_wrap(err, "image config");
		im->config = oci_run_config(blob);
	}
	for (size_t i = 0; i < json_array_size(layers); i++) {
		cleanup_blob struct oci_blob b = { .fd = -1 };
		if (oci_blob_open(layoutfd, json_array_get(layers, i), &b, err) < 0)
			return isc_error_wrap(err, "layer %zu", i);
		cleanup_free char *path = isc_xasprintf("%s/%s", dir, b.rel);
		if (oci_layer_pass(im, &b, path, TAR_WHITEOUTS, err) < 0 || oci_layer_pass(im, &b, path, TAR_CONTENT, err) < 0)
			return isc_error_wrap(err, "layer %zu", i);
	}
	return 0;
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
		.path = rel, .type = st.st_mode & S_IFMT, .perm = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid,
		.mtime = st.st_mtim, .has_mtime = true,
	};
	char target[4097];
	cleanup_close int fd = -1;
	switch (e.type) {
	case S_IFDIR:
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", rel);
		if (apply_entry(im, &e, err) < 0)
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
					return apply_entry(im, &e, err);
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
		break; /* fifo, or refused by apply_entry */
	}
	return apply_entry(im, &e, err);
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
	struct src_entry e = { .path = "", .type = S_IFDIR, .perm = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid };
	if (apply_entry(im, &e, err) < 0)
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
	cleanup_free char *name = isc_xasprintf(TMP_PREFIX "%d-%02x%02x%02x%02x%02x%02x", (int)getpid(), rnd[0],
						rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
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

int isc_image_import(const char *root, const char *name, const char *source, char id[65], isc_error **err)
{
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
		return isc_error_set(err, EINVAL, "image \"%s\": source %s is neither a directory nor a file", name, source);
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
			[SOURCE_OCI] = import_oci,
			[SOURCE_TAR] = import_tarball,
		};
		ret = importers[kind](&im, source, err);
	}
	if (im.rootfd >= 0)
		close(im.rootfd);
	free(im.buf);
	for (size_t i = 0; i < im.nseen; i++)
		free(im.seen[i].path);
	free(im.seen);
	if (ret == 0)
		ret = isc_image_store_commit(storefd, tmpname, name, id, err);
	if (ret == 0) {
		/* the config belongs to the name (another name may share the
		 * content with another config, or none) */
		ret = isc_image_state_set_config(storefd, id, name, im.config, err);
		json_decref(im.config);
		return ret < 0 ? isc_error_wrap(err, "image \"%s\": record its config", name) : 0;
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
