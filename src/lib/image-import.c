/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc_image_import: a rootfs directory, a tarball (libarchive reads it: any
 * compression it knows) or an OCI image layout (index.json -> manifest ->
 * layers in order, whiteouts applied) is written into <store>/tmp/<x>/rootfs,
 * then isc_image_store_commit() hashes what was written, seals it and moves
 * it to sha256/<id>.  Nothing is half-imported: a failure removes tmp/<x>.
 *
 * Every entry is created relative to the new rootfs: its parent is resolved
 * with openat2(RESOLVE_IN_ROOT), so a symlink in the image (or an earlier
 * layer) can never send a write outside it, and the last component is made
 * with the *at() calls, which do not follow it.  Policy (docs/images.md):
 * absolute paths and ".." are refused, device nodes and sockets are
 * refused (the runtime makes /dev), owners, modes (set-id bits included),
 * symlinks, hardlinks and fifos are kept, as are mtimes of non-directories;
 * xattrs and ACLs are not imported. */
#include "image.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sha256.h"
#include "util.h"

#define COPY_BUF (256 * 1024)

int isc_image_path_clean(const char *in, char **out, isc_error **err)
{
	if (in[0] == '/')
		return isc_error_set(err, EPERM, "%s: absolute path in an image", in);
	size_t n = strlen(in);
	char *p = isc_xmalloc0(n + 1);
	size_t o = 0;
	const char *c = in;
	while (*c) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			free(p);
			return isc_error_set(err, EPERM, "%s: \"..\" in a path of an image", in);
		}
		if (len > 0 && !(len == 1 && c[0] == '.')) {
			if (o > 0)
				p[o++] = '/';
			memcpy(p + o, c, len);
			o += len;
		}
		c += len;
		if (*c == '/')
			c++;
	}
	p[o] = '\0';
	*out = p;
	return 0;
}

struct importer {
	int rootfd;          /* the new rootfs, O_RDONLY|O_DIRECTORY */
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

static int resolve_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long r = syscall(SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof(how));
	return r < 0 ? -1 : (int)r;
}

/* An fd of the directory holding `path` (created as 0755 root:root when
 * missing and `create`), and the last component in *base. */
static int open_parent(struct importer *im, const char *path, bool create, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (slash == NULL)
		return fcntl(im->rootfd, F_DUPFD_CLOEXEC, 3);
	char parent[4096];
	size_t len = (size_t)(slash - path);
	if (len >= sizeof(parent)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(parent, path, len);
	parent[len] = '\0';
	int fd = resolve_in_root(im->rootfd, parent, O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	const char *pbase;
	cleanup_close int gfd = open_parent(im, parent, true, &pbase);
	if (gfd < 0)
		return -1;
	if (mkdirat(gfd, pbase, 0755) < 0 && errno != EEXIST)
		return -1;
	return resolve_in_root(im->rootfd, parent, O_PATH | O_DIRECTORY);
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
	if (e->type != S_IFDIR && e->type != S_IFREG && e->type != S_IFLNK && e->type != S_IFIFO && !e->hardlink)
		return isc_error_set(err, EPERM, "%s: device nodes and sockets are not allowed in an image "
						 "(the runtime makes /dev)", p);
	const char *base;
	cleanup_close int pfd = open_parent(im, e->path, true, &base);
	if (pfd < 0)
		return isc_error_set(err, errno, "%s: its parent directory", p);
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
		cleanup_close int tfd = open_parent(im, e->hardlink, false, &tbase);
		if (tfd < 0 || linkat(tfd, tbase, pfd, base, 0) < 0)
			return isc_error_set(err, errno, "%s: hard link to %s", p, e->hardlink);
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
	cleanup_close int pfd = open_parent(im, path, false, &base);
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

static int import_tar(struct importer *im, const char *file, enum tar_pass pass, isc_error **err)
{
	cleanup_close int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", file);
	__attribute__((cleanup(archive_freep))) struct archive *a = archive_read_new();
	if (a == NULL)
		abort();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
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
			return isc_error_wrap(err, "%s: %s: hard link target", file, raw);
		const char *symlink = archive_entry_symlink(ae);
		mode_t type = archive_entry_filetype(ae);
		if (type == AE_IFLNK && symlink == NULL)
			return isc_error_set(err, EINVAL, "%s: %s: symlink without a target", file, raw);
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
			return isc_error_set(err, EINVAL, "%s: %s: uid or gid out of range", file, raw);
		if (apply_entry(im, &e, err) < 0)
			return isc_error_wrap(err, "%s", file);
	}
	return 0;
}

/* ---- OCI image layout ----------------------------------------------------- */

#define cleanup_json __attribute__((cleanup(json_decrefp))) /* jansson's */

/* blobs/sha256/<hex> of a descriptor, its size and digest checked. */
static int oci_blob(struct importer *im, int layoutfd, json_t *desc, char **relpath, isc_error **err)
{
	const char *digest = NULL;
	json_int_t size = -1;
	if (json_unpack(desc, "{s:s, s:I}", "digest", &digest, "size", &size) < 0)
		return isc_error_set(err, EINVAL, "descriptor without digest or size");
	static const char algo[] = "sha256:";
	const char *hex = digest + strlen(algo);
	bool ok = strncmp(digest, algo, strlen(algo)) == 0 && strlen(hex) == 64;
	for (size_t i = 0; ok && i < 64; i++)
		ok = (hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f');
	if (!ok)
		return isc_error_set(err, EINVAL, "digest \"%s\": only sha256:<64 hex> is supported", digest);
	cleanup_free char *rel = isc_xasprintf("blobs/sha256/%s", hex);
	cleanup_close int fd = openat(layoutfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return isc_error_set(err, errno, "blob %s", rel);
	struct isc_sha256 s;
	isc_sha256_init(&s);
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, im->buf, COPY_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return isc_error_set(err, errno, "read blob %s", rel);
		}
		if (n == 0)
			break;
		isc_sha256_update(&s, im->buf, (size_t)n);
		total += (uint64_t)n;
	}
	unsigned char d[32];
	char got[65];
	isc_sha256_final(&s, d);
	isc_sha256_hex(d, got);
	if (strcmp(got, hex) != 0)
		return isc_error_set(err, 0, "blob %s: its content hashes to sha256:%s", rel, got);
	if ((json_int_t)total != size)
		return isc_error_set(err, 0, "blob %s: %llu bytes, the descriptor says %lld", rel,
				     (unsigned long long)total, (long long)size);
	*relpath = steal_pointer(&rel);
	return 0;
}

static int oci_load_json(struct importer *im, int layoutfd, json_t *desc, json_t **out, isc_error **err)
{
	cleanup_free char *rel = NULL;
	if (oci_blob(im, layoutfd, desc, &rel, err) < 0)
		return -1;
	cleanup_free char *text = NULL;
	size_t len;
	if (isc_read_file_at(layoutfd, rel, &text, &len, 4 << 20, err) < 0)
		return -1;
	json_error_t je;
	*out = json_loadb(text, len, 0, &je);
	if (*out == NULL)
		return isc_error_set(err, EINVAL, "%s: line %d: %s", rel, je.line, je.text);
	return 0;
}

/* The one image manifest an index leads to (nested indexes followed). */
static int oci_find_manifest(struct importer *im, int layoutfd, json_t *index, int depth, json_t **out, isc_error **err)
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
	if (oci_load_json(im, layoutfd, desc, &doc, err) < 0)
		return -1;
	if (json_object_get(doc, "manifests") != NULL ||
	    (mt && strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0)) {
		if (depth >= 4)
			return isc_error_set(err, ELOOP, "index: nested more than 4 deep");
		return oci_find_manifest(im, layoutfd, doc, depth + 1, out, err);
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
	cleanup_free char *text = NULL;
	size_t len;
	if (isc_read_file_at(layoutfd, "index.json", &text, &len, 4 << 20, err) < 0)
		return -1;
	json_error_t je;
	cleanup_json json_t *index = json_loadb(text, len, 0, &je);
	if (index == NULL)
		return isc_error_set(err, EINVAL, "index.json: line %d: %s", je.line, je.text);
	cleanup_json json_t *manifest = NULL;
	if (oci_find_manifest(im, layoutfd, index, 0, &manifest, err) < 0)
		return -1;
	json_t *layers = json_object_get(manifest, "layers");
	if (!json_is_array(layers))
		return isc_error_set(err, EINVAL, "image manifest: no layers");
	json_t *cdesc = json_object_get(manifest, "config");
	if (cdesc != NULL) {
		cleanup_json json_t *blob = NULL;
		if (oci_load_json(im, layoutfd, cdesc, &blob, err) < 0)
			return isc_error_wrap(err, "image config");
		im->config = oci_run_config(blob);
	}
	for (size_t i = 0; i < json_array_size(layers); i++) {
		cleanup_free char *rel = NULL;
		if (oci_blob(im, layoutfd, json_array_get(layers, i), &rel, err) < 0)
			return isc_error_wrap(err, "layer %zu", i);
		cleanup_free char *path = isc_xasprintf("%s/%s", dir, rel);
		if (import_tar(im, path, TAR_WHITEOUTS, err) < 0 || import_tar(im, path, TAR_CONTENT, err) < 0)
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
	unsigned char rnd[6];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return isc_error_set(err, errno, "getrandom");
	cleanup_free char *tmpname = isc_xasprintf("import-%d-%02x%02x%02x%02x%02x%02x", (int)getpid(), rnd[0], rnd[1],
						   rnd[2], rnd[3], rnd[4], rnd[5]);
	cleanup_free char *tmprel = isc_xasprintf("tmp/%s", tmpname);
	cleanup_free char *rootrel = isc_xasprintf("%s/rootfs", tmprel);
	if (mkdirat(storefd, tmprel, 0700) < 0 || mkdirat(storefd, rootrel, 0755) < 0) {
		int e = errno;
		(void)unlinkat(storefd, tmprel, AT_REMOVEDIR);
		return isc_error_set(err, e, "image \"%s\": create %s", name, tmprel);
	}
	struct importer im = { .rootfd = -1, .source = source, .buf = malloc(COPY_BUF) };
	if (im.buf == NULL)
		abort();
	int ret = 0;
	im.rootfd = openat(storefd, rootrel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (im.rootfd < 0) {
		ret = isc_error_set(err, errno, "open %s", rootrel);
	} else {
		static int (*const importers[])(struct importer *, const char *, isc_error **) = {
			[SOURCE_DIR] = import_dir,
			[SOURCE_OCI] = import_oci,
		};
		if (kind == SOURCE_TAR)
			ret = import_tar(&im, source, TAR_PLAIN, err);
		else
			ret = importers[kind](&im, source, err);
		close(im.rootfd);
	}
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
		(void)isc_image_rm_tree_at(storefd, tmprel, &rmerr);
		if (kind == SOURCE_TAR) /* the message starts with the tarball's path */
			return isc_error_wrap(err, "image \"%s\": import from tarball", name);
		return isc_error_wrap(err, "image \"%s\": import from %s %s", name,
				      kind == SOURCE_OCI ? "OCI layout" : "directory", source);
	}
	return 0;
}
