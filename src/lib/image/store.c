/* SPDX-License-Identifier: GPL-2.0-or-later
 * The image store: manifest lines, the Merkle root (the image id), the
 * store layout, seal (immutable flags + snapshot), verify, quick check,
 * list and remove.  Import is in image-import.c.  docs/images.md has the
 * reasoning. */
#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/util.h"

#define SNAPSHOT_MAGIC "isc-snapshot 1"

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		abort();
	return q;
}

/* ---- manifest lines ------------------------------------------------------ */

static bool path_byte_escaped(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '\\';
}

char *isc_image_manifest_line(const struct isc_image_entry *e)
{
	size_t n = strlen(e->path);
	cleanup_free char *p = isc_xmalloc0(n * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e->path[i];
		if (path_byte_escaped(c))
			o += (size_t)sprintf(p + o, "\\x%02x", c);
		else
			p[o++] = (char)c;
	}
	p[o] = '\0';
	return isc_xasprintf("%s %c %04o %llu %llu %llu %s", p, e->type, e->mode & 07777,
			     (unsigned long long)e->uid, (unsigned long long)e->gid,
			     (unsigned long long)e->size, e->digest);
}

void isc_image_entry_clear(struct isc_image_entry *e)
{
	free(e->path);
	memset(e, 0, sizeof(*e));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

/* canonical: "/" or "/a/b" with no empty, "." or ".." component */
static bool path_canonical(const char *p)
{
	if (p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	const char *c = p + 1;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

static int parse_dec(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	char buf[21];
	memcpy(buf, s, n);
	buf[n] = '\0';
	return isc_parse_u64(buf, out);
}

int isc_image_manifest_parse_line(const char *line, size_t len, struct isc_image_entry *e, isc_error **err)
{
	const char *f[7] = { 0 };
	size_t fl[7] = { 0 };
	size_t nf = 0, start = 0;
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] == '\0')
			return isc_error_set(err, EINVAL, "manifest line: NUL byte");
		if (i == len || line[i] == ' ') {
			if (nf == 7)
				return isc_error_set(err, EINVAL, "manifest line: more than 7 fields");
			f[nf] = line + start;
			fl[nf++] = i - start;
			start = i + 1;
		}
	}
	if (nf != 7)
		return isc_error_set(err, EINVAL, "manifest line: %zu fields, 7 expected", nf);
	/* path */
	cleanup_free char *path = isc_xmalloc0(fl[0] + 1);
	size_t o = 0;
	for (size_t i = 0; i < fl[0]; i++) {
		char c = f[0][i];
		if (path_byte_escaped((unsigned char)c)) {
			if (c != '\\' || i + 3 >= fl[0] || f[0][i + 1] != 'x')
				return isc_error_set(err, EINVAL, "manifest line: bad escape in path");
			int hi = hexval(f[0][i + 2]), lo = hexval(f[0][i + 3]);
			if (hi < 0 || lo < 0)
				return isc_error_set(err, EINVAL, "manifest line: bad escape in path");
			unsigned char v = (unsigned char)(hi * 16 + lo);
			if (v == 0 || !path_byte_escaped(v))
				return isc_error_set(err, EINVAL, "manifest line: needless escape in path");
			path[o++] = (char)v;
			i += 3;
		} else {
			path[o++] = c;
		}
	}
	path[o] = '\0';
	if (!path_canonical(path))
		return isc_error_set(err, EINVAL, "manifest line: path is not canonical");
	/* type */
	if (fl[1] != 1 || strchr("dflp", f[1][0]) == NULL || f[1][0] == '\0')
		return isc_error_set(err, EINVAL, "manifest line: bad type");
	e->type = f[1][0];
	/* mode: exactly 4 octal digits */
	if (fl[2] != 4)
		return isc_error_set(err, EINVAL, "manifest line: bad mode");
	unsigned mode = 0;
	for (size_t i = 0; i < 4; i++) {
		if (f[2][i] < '0' || f[2][i] > '7')
			return isc_error_set(err, EINVAL, "manifest line: bad mode");
		mode = mode * 8 + (unsigned)(f[2][i] - '0');
	}
	e->mode = mode;
	if (parse_dec(f[3], fl[3], &e->uid) < 0 || e->uid > UINT32_MAX)
		return isc_error_set(err, EINVAL, "manifest line: bad uid");
	if (parse_dec(f[4], fl[4], &e->gid) < 0 || e->gid > UINT32_MAX)
		return isc_error_set(err, EINVAL, "manifest line: bad gid");
	if (parse_dec(f[5], fl[5], &e->size) < 0)
		return isc_error_set(err, EINVAL, "manifest line: bad size");
	bool hashed = e->type == 'f' || e->type == 'l';
	if (hashed) {
		if (!is_hex64(f[6], fl[6]))
			return isc_error_set(err, EINVAL, "manifest line: bad digest");
		memcpy(e->digest, f[6], 64);
		e->digest[64] = '\0';
	} else {
		if (fl[6] != 1 || f[6][0] != '-' || e->size != 0)
			return isc_error_set(err, EINVAL, "manifest line: %c entry with a size or digest", e->type);
		strcpy(e->digest, "-");
	}
	if (strcmp(path, "/") == 0 && e->type != 'd')
		return isc_error_set(err, EINVAL, "manifest line: / is not a directory");
	e->path = steal_pointer(&path);
	return 0;
}

/* ---- Merkle root -------------------------------------------------------- */

static void merkle_range(const unsigned char (*leaves)[32], size_t n, unsigned char out[32])
{
	if (n == 1) {
		memcpy(out, leaves[0], 32);
		return;
	}
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	unsigned char buf[65];
	buf[0] = 0x01;
	merkle_range(leaves, k, buf + 1);
	merkle_range(leaves + k, n - k, buf + 33);
	isc_sha256(buf, sizeof(buf), out);
}

void isc_image_merkle_root(const unsigned char (*leaves)[32], size_t n, unsigned char out[32])
{
	if (n == 0) {
		isc_sha256("", 0, out);
		return;
	}
	merkle_range(leaves, n, out);
}

static void leaf_hash(const char *line, size_t len, unsigned char out[32])
{
	struct isc_sha256 s;
	unsigned char zero = 0;
	isc_sha256_init(&s);
	isc_sha256_update(&s, &zero, 1);
	isc_sha256_update(&s, line, len);
	isc_sha256_final(&s, out);
}

/* Parse a whole manifest: entries in order, checked sorted. */
static int manifest_parse(const char *text, size_t len, struct isc_image_entry **out, size_t *nout,
			  unsigned char (**leaves_out)[32], isc_error **err)
{
	size_t n = 0, cap = 0;
	struct isc_image_entry *v = NULL;
	unsigned char (*leaves)[32] = NULL;
	size_t pos = 0, lineno = 0;
	int ret = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		lineno++;
		if (nl == NULL) {
			ret = isc_error_set(err, EINVAL, "manifest line %zu: no newline at the end", lineno);
			break;
		}
		size_t l = (size_t)(nl - (text + pos));
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = xrealloc(v, cap * sizeof(*v));
			leaves = xrealloc(leaves, cap * sizeof(*leaves));
		}
		if (isc_image_manifest_parse_line(text + pos, l, &v[n], err) < 0) {
			ret = isc_error_wrap(err, "manifest line %zu", lineno);
			break;
		}
		leaf_hash(text + pos, l, leaves[n]);
		n++;
		if (n > 1 && strcmp(v[n - 2].path, v[n - 1].path) >= 0) {
			ret = isc_error_set(err, EINVAL, "manifest line %zu: paths not in strictly increasing order", lineno);
			break;
		}
		pos += l + 1;
	}
	if (ret == 0 && (n == 0 || strcmp(v[0].path, "/") != 0))
		ret = isc_error_set(err, EINVAL, "manifest: the first line must be the root directory /");
	if (ret < 0) {
		for (size_t i = 0; i < n; i++)
			isc_image_entry_clear(&v[i]);
		free(v);
		free(leaves);
		return ret;
	}
	*out = v;
	*nout = n;
	if (leaves_out)
		*leaves_out = leaves;
	else
		free(leaves);
	return 0;
}

static void entries_free(struct isc_image_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		isc_image_entry_clear(&v[i]);
	free(v);
}

int isc_image_manifest_root(const char *manifest, size_t len, char hex[65], isc_error **err)
{
	struct isc_image_entry *v = NULL;
	unsigned char (*leaves)[32] = NULL;
	size_t n = 0;
	if (manifest_parse(manifest, len, &v, &n, &leaves, err) < 0)
		return -1;
	unsigned char root[32];
	isc_image_merkle_root((const unsigned char (*)[32])leaves, n, root);
	isc_sha256_hex(root, hex);
	entries_free(v, n);
	free(leaves);
	return 0;
}

/* ---- building a manifest from a tree ------------------------------------ */

struct walk_line {
	char *path;
	char *line;
};

struct walk {
	struct walk_line *v;
	size_t n, cap;
	uint64_t bytes;
	unsigned char *buf;
};

#define WALK_BUF (256 * 1024)

static void walk_add(struct walk *w, struct isc_image_entry *e)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 512;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n].line = isc_image_manifest_line(e);
	w->v[w->n].path = steal_pointer(&e->path);
	w->n++;
}

static int hash_fd(struct walk *w, int fd, uint64_t *size, char hex[65])
{
	struct isc_sha256 s;
	unsigned char d[32];
	uint64_t total = 0;
	isc_sha256_init(&s);
	for (;;) {
		ssize_t r = read(fd, w->buf, WALK_BUF);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		isc_sha256_update(&s, w->buf, (size_t)r);
		total += (uint64_t)r;
	}
	isc_sha256_final(&s, d);
	isc_sha256_hex(d, hex);
	*size = total;
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define cleanup_dir __attribute__((cleanup(closedirp)))

static int walk_entry(struct walk *w, int dirfd, const char *name, const char *path, isc_error **err);

static int walk_dir(struct walk *w, int fd, const char *path, isc_error **err)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return isc_error_set(err, errno, "%s", path);
	cleanup_dir DIR *d = fdopendir(dfd);
	if (d == NULL) {
		int e = errno;
		close(dfd);
		return isc_error_set(err, e, "opendir %s", path);
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *child = isc_xasprintf("%s/%s", strcmp(path, "/") == 0 ? "" : path, de->d_name);
		if (walk_entry(w, dirfd(d), de->d_name, child, err) < 0)
			return -1;
		errno = 0;
	}
	if (errno != 0)
		return isc_error_set(err, errno, "readdir %s", path);
	return 0;
}

static int walk_entry(struct walk *w, int dirfd, const char *name, const char *path, isc_error **err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return isc_error_set(err, errno, "stat %s", path);
	struct isc_image_entry e = {
		.mode = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid, .digest = "-",
	};
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: {
		cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", path);
		e.type = 'd';
		e.path = isc_xstrdup(path);
		walk_add(w, &e);
		return walk_dir(w, fd, path, err);
	}
	case S_IFREG: {
		cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", path);
		struct stat st2;
		if (fstat(fd, &st2) < 0 || st2.st_ino != st.st_ino || !S_ISREG(st2.st_mode))
			return isc_error_set(err, EAGAIN, "%s changed while it was read", path);
		int r = hash_fd(w, fd, &e.size, e.digest);
		if (r < 0)
			return isc_error_set(err, -r, "read %s", path);
		e.type = 'f';
		w->bytes += e.size;
		break;
	}
	case S_IFLNK: {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target));
		if (n < 0)
			return isc_error_set(err, errno, "readlink %s", path);
		if ((size_t)n >= sizeof(target))
			return isc_error_set(err, ENAMETOOLONG, "readlink %s", path);
		unsigned char d[32];
		isc_sha256(target, (size_t)n, d);
		isc_sha256_hex(d, e.digest);
		e.size = (uint64_t)n;
		e.type = 'l';
		break;
	}
	case S_IFIFO:
		e.type = 'p';
		break;
	default:
		return isc_error_set(err, EPERM, "%s: device nodes and sockets are not allowed in an image", path);
	}
	e.path = isc_xstrdup(path);
	walk_add(w, &e);
	return 0;
}

static int walk_line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct walk_line *)a)->path, ((const struct walk_line *)b)->path);
}

int isc_image_manifest_build(int rootfd, char **manifest, size_t *len, uint64_t *bytes, isc_error **err)
{
	struct walk w = { .buf = malloc(WALK_BUF) };
	if (w.buf == NULL)
		abort();
	struct stat st;
	int ret = 0;
	if (fstat(rootfd, &st) < 0) {
		ret = isc_error_set(err, errno, "stat /");
	} else if (!S_ISDIR(st.st_mode)) {
		ret = isc_error_set(err, ENOTDIR, "/ is not a directory");
	} else {
		struct isc_image_entry e = {
			.path = isc_xstrdup("/"), .type = 'd', .mode = st.st_mode & 07777,
			.uid = st.st_uid, .gid = st.st_gid, .digest = "-",
		};
		walk_add(&w, &e);
		ret = walk_dir(&w, rootfd, "/", err);
	}
	if (ret == 0) {
		qsort(w.v, w.n, sizeof(*w.v), walk_line_cmp);
		size_t total = 0;
		for (size_t i = 0; i < w.n; i++)
			total += strlen(w.v[i].line) + 1;
		char *text = isc_xmalloc0(total + 1), *p = text;
		for (size_t i = 0; i < w.n; i++) {
			size_t l = strlen(w.v[i].line);
			memcpy(p, w.v[i].line, l);
			p[l] = '\n';
			p += l + 1;
		}
		*manifest = text;
		*len = total;
		if (bytes)
			*bytes = w.bytes;
	}
	for (size_t i = 0; i < w.n; i++) {
		free(w.v[i].path);
		free(w.v[i].line);
	}
	free(w.v);
	free(w.buf);
	return ret;
}

/* ---- the store ------------------------------------------------------------ */

int isc_image_name_check(const char *name, isc_error **err)
{
	size_t n = strlen(name);
	if (n == 0 || n > ISC_IMAGE_NAME_MAX)
		return isc_error_set(err, EINVAL, "image name \"%s\": 1 to %d characters", name, ISC_IMAGE_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || strchr("._:-", c) == NULL || c == '\0'))
			return isc_error_set(err, EINVAL,
					     "image name \"%s\": letters, digits and . _ : - only, starting with a letter or digit",
					     name);
	}
	return 0;
}

static const char *const store_subdirs[] = { "sha256", "names", "state", "tmp" };

int isc_image_store_open(const char *root, bool create, isc_error **err)
{
	cleanup_free char *store = isc_xasprintf("%s/images", root);
	if (create) {
		if (isc_mkdir_p(store, 0700, err) < 0)
			return isc_error_wrap(err, "image store %s", store);
	}
	cleanup_close int fd = open(store, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "image store %s", store);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "image store %s", store);
	/* root-only: the store holds what containers run */
	if (st.st_uid != 0 || (st.st_mode & 077) != 0)
		return isc_error_set(err, EPERM, "image store %s: must be owned by root with mode 0700 (is %04o uid %u)",
				     store, st.st_mode & 07777, st.st_uid);
	for (size_t i = 0; create && i < ARRAY_SIZE(store_subdirs); i++)
		if (mkdirat(fd, store_subdirs[i], 0700) < 0 && errno != EEXIST)
			return isc_error_set(err, errno, "mkdir %s/%s", store, store_subdirs[i]);
	return steal_fd(&fd);
}

int isc_image_store_lock(int storefd, isc_error **err)
{
	cleanup_close int fd = openat(storefd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return isc_error_set(err, errno, "image store lock");
	if (flock(fd, LOCK_EX) < 0)
		return isc_error_set(err, errno, "lock the image store");
	return steal_fd(&fd);
}

/* names/NAME -> ../sha256/<id> */
static int read_name(int storefd, const char *name, char id[65], isc_error **err)
{
	cleanup_free char *rel = isc_xasprintf("names/%s", name);
	char target[256];
	ssize_t n = readlinkat(storefd, rel, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT)
			return isc_error_set(err, ENOENT, "image \"%s\" does not exist", name);
		return isc_error_set(err, errno, "image \"%s\": read its name link", name);
	}
	target[n] = '\0';
	static const char prefix[] = "../sha256/";
	if (strncmp(target, prefix, sizeof(prefix) - 1) != 0 ||
	    !is_hex64(target + sizeof(prefix) - 1, strlen(target + sizeof(prefix) - 1)))
		return isc_error_set(err, EINVAL, "image \"%s\": name link points to \"%s\", not an image id", name, target);
	memcpy(id, target + sizeof(prefix) - 1, 65);
	return 0;
}

int isc_image_resolve(const char *root, const char *name, char id[65], isc_error **err)
{
	if (isc_image_name_check(name, err) < 0)
		return -1;
	cleanup_close int store = isc_image_store_open(root, false, err);
	if (store < 0)
		return -1;
	return read_name(store, name, id, err);
}

static int write_name(int storefd, const char *name, const char *id, isc_error **err)
{
	cleanup_free char *target = isc_xasprintf("../sha256/%s", id);
	cleanup_free char *tmp = isc_xasprintf("names/.%s.tmp.%d", name, (int)getpid());
	cleanup_free char *rel = isc_xasprintf("names/%s", name);
	(void)unlinkat(storefd, tmp, 0);
	if (symlinkat(target, storefd, tmp) < 0)
		return isc_error_set(err, errno, "image \"%s\": create its name link", name);
	if (renameat(storefd, tmp, storefd, rel) < 0) {
		int e = errno;
		(void)unlinkat(storefd, tmp, 0);
		return isc_error_set(err, e, "image \"%s\": replace its name link", name);
	}
	return 0;
}

/* ---- immutable flags -------------------------------------------------------- */

/* 0, or -errno (ENOTTY / EOPNOTSUPP: the file system has no such flag) */
static int set_immutable_fd(int fd, bool on)
{
	int flags;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return -errno;
	int nflags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
	if (nflags != flags && ioctl(fd, FS_IOC_SETFLAGS, &nflags) < 0)
		return -errno;
	return 0;
}

static int set_immutable_at(int dirfd, const char *name, bool on)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	return set_immutable_fd(fd, on);
}

static int open_beneath(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *rel = path[1] ? path + 1 : ".";
	long r = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	return r < 0 ? -1 : (int)r;
}

int isc_image_rm_tree_at(int atfd, const char *name, isc_error **err)
{
	struct stat st;
	if (fstatat(atfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "remove %s", name);
	}
	if (S_ISDIR(st.st_mode)) {
		cleanup_close int fd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return isc_error_set(err, errno, "remove %s", name);
		(void)set_immutable_fd(fd, false);
		int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dfd < 0)
			return isc_error_set(err, errno, "remove %s", name);
		cleanup_dir DIR *d = fdopendir(dfd);
		if (d == NULL) {
			close(dfd);
			return isc_error_set(err, errno, "remove %s", name);
		}
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (isc_image_rm_tree_at(dirfd(d), de->d_name, err) < 0)
				return isc_error_wrap(err, "%s", name);
		}
		if (unlinkat(atfd, name, AT_REMOVEDIR) < 0)
			return isc_error_set(err, errno, "remove %s", name);
		return 0;
	}
	if (unlinkat(atfd, name, 0) == 0)
		return 0;
	if (errno == EPERM && S_ISREG(st.st_mode) && set_immutable_at(atfd, name, false) == 0 &&
	    unlinkat(atfd, name, 0) == 0)
		return 0;
	return isc_error_set(err, errno, "remove %s", name);
}

/* ---- seal: immutable flags + snapshot --------------------------------------- */

static bool type_has_flags(char type)
{
	return type == 'd' || type == 'f';
}

/* imgfd: the image directory (holding rootfs/ and manifest).  Sets the
 * immutable flag on every directory and regular file of the rootfs and on
 * the manifest, then records inode, nlink and ctime of every entry in
 * `snapshot` (written atomically, then made immutable too). */
static int seal(int imgfd, const struct isc_image_entry *v, size_t n, isc_error **err)
{
	cleanup_close int rootfd = openat(imgfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return isc_error_set(err, errno, "open rootfs");
	bool immutable = true;
	int r = set_immutable_at(imgfd, "manifest", true);
	if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
		immutable = false; /* documented: the ctime snapshot still holds */
	else if (r < 0)
		return isc_error_set(err, -r, "set the immutable flag on manifest");
	for (size_t i = 0; immutable && i < n; i++) {
		if (!type_has_flags(v[i].type))
			continue;
		cleanup_close int fd = open_beneath(rootfd, v[i].path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", v[i].path);
		r = set_immutable_fd(fd, true);
		if (r < 0)
			return isc_error_set(err, -r, "set the immutable flag on %s", v[i].path);
	}
	/* ctime is taken after the flags: setting a flag changes it */
	size_t cap = 64 + n * 64, used = 0;
	cleanup_free char *snap = isc_xmalloc0(cap);
	used += (size_t)snprintf(snap, cap, SNAPSHOT_MAGIC " immutable=%d\n", immutable ? 1 : 0);
	for (size_t i = 0; i < n; i++) {
		struct statx sx;
		const char *rel = v[i].path[1] ? v[i].path + 1 : ".";
		if (statx(rootfd, rel, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
			return isc_error_set(err, errno, "stat %s", v[i].path);
		used += (size_t)snprintf(snap + used, cap - used, "%llu %u %lld %u\n", (unsigned long long)sx.stx_ino,
					 sx.stx_nlink, (long long)sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec);
	}
	(void)set_immutable_at(imgfd, "snapshot", false);
	if (isc_write_file_atomic(imgfd, "snapshot", snap, used, 0400, err) < 0)
		return -1;
	if (immutable && (r = set_immutable_at(imgfd, "snapshot", true)) < 0)
		return isc_error_set(err, -r, "set the immutable flag on snapshot");
	return 0;
}

/* ---- state: import time, size, last verification ---------------------------- */

static int state_write(int storefd, const struct isc_image_info *i, isc_error **err)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "id", i->id, "size", (json_int_t)i->size,
			      "files", (json_int_t)i->files, "imported", (json_int_t)i->imported,
			      "verified", (json_int_t)i->verified, "verify", i->verify_ok ? "ok" : "failed");
	if (o == NULL)
		abort();
	if (i->verify_error)
		json_object_set_new(o, "verify_error", json_string(i->verify_error));
	cleanup_close int sfd = openat(storefd, "state", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		json_decref(o);
		return isc_error_set(err, errno, "image store state directory");
	}
	cleanup_free char *fname = isc_xasprintf("%s.json", i->id);
	/* the configs of the names (isc_image_state_set_config) stay */
	cleanup_free char *oldtext = NULL;
	size_t oldlen = 0;
	if (isc_read_file_at(sfd, fname, &oldtext, &oldlen, 1 << 20, NULL) == 0) {
		json_t *old = json_loadb(oldtext, oldlen, 0, NULL);
		json_t *configs = json_object_get(old, "configs");
		if (json_is_object(configs))
			json_object_set(o, "configs", configs);
		json_decref(old);
	}
	cleanup_free char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		abort();
	return isc_write_file_atomic(sfd, fname, text, strlen(text), 0600, err);
}

static int state_read(int storefd, const char *id, struct isc_image_info *i, isc_error **err)
{
	cleanup_free char *rel = isc_xasprintf("state/%s.json", id);
	cleanup_free char *text = NULL;
	size_t len;
	if (isc_read_file_at(storefd, rel, &text, &len, 1 << 20, err) < 0)
		return isc_error_wrap(err, "image %s: state", id);
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	if (o == NULL)
		return isc_error_set(err, EINVAL, "image %s: state: %s", id, je.text);
	json_int_t size = 0, files = 0, imported = 0, verified = 0;
	const char *verify = NULL, *verr = NULL;
	int r = json_unpack(o, "{s:I, s:I, s:I, s:I, s:s, s?s}", "size", &size, "files", &files, "imported", &imported,
			    "verified", &verified, "verify", &verify, "verify_error", &verr);
	if (r < 0) {
		json_decref(o);
		return isc_error_set(err, EINVAL, "image %s: state: missing field", id);
	}
	memcpy(i->id, id, 65);
	i->size = (uint64_t)size;
	i->files = (uint64_t)files;
	i->imported = imported;
	i->verified = verified;
	i->verify_ok = strcmp(verify, "ok") == 0;
	i->verify_error = verr ? isc_xstrdup(verr) : (i->verify_ok ? NULL : isc_xstrdup("failed"));
	json_decref(o);
	return 0;
}

void isc_image_info_clear(struct isc_image_info *i)
{
	free(i->name);
	free(i->verify_error);
	memset(i, 0, sizeof(*i));
}

/* ---- commit an import ---------------------------------------------------- */

int isc_image_store_commit(int storefd, const char *tmpname, const char *name, char id[65], isc_error **err)
{
	cleanup_free char *tmprel = isc_xasprintf("tmp/%s", tmpname);
	cleanup_close int imgfd = openat(storefd, tmprel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (imgfd < 0)
		return isc_error_set(err, errno, "open %s", tmprel);
	cleanup_close int rootfd = openat(imgfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return isc_error_set(err, errno, "open %s/rootfs", tmprel);
	/* The id is computed from what was written, read back from the disk. */
	cleanup_free char *manifest = NULL;
	size_t mlen = 0;
	uint64_t bytes = 0;
	if (isc_image_manifest_build(rootfd, &manifest, &mlen, &bytes, err) < 0)
		return isc_error_wrap(err, "manifest");
	struct isc_image_entry *v = NULL;
	unsigned char (*leaves)[32] = NULL;
	size_t n = 0;
	if (manifest_parse(manifest, mlen, &v, &n, &leaves, err) < 0)
		return isc_error_wrap(err, "manifest just built");
	unsigned char rootd[32];
	isc_image_merkle_root((const unsigned char (*)[32])leaves, n, rootd);
	free(leaves);
	isc_sha256_hex(rootd, id);

	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0) {
		entries_free(v, n);
		return -1;
	}
	cleanup_free char *final = isc_xasprintf("sha256/%s", id);
	struct stat st;
	if (fstatat(storefd, final, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* the same content is already stored: share it */
		entries_free(v, n);
		if (isc_image_rm_tree_at(storefd, tmprel, err) < 0)
			return -1;
		return write_name(storefd, name, id, err);
	}
	int ret = isc_write_file_atomic(imgfd, "manifest", manifest, mlen, 0400, err);
	if (ret == 0)
		ret = seal(imgfd, v, n, err);
	entries_free(v, n);
	if (ret < 0)
		return isc_error_wrap(err, "seal the image");
	if (renameat(storefd, tmprel, storefd, final) < 0)
		return isc_error_set(err, errno, "move %s to %s", tmprel, final);
	int r = set_immutable_at(storefd, final, true);
	if (r < 0 && r != -ENOTTY && r != -EOPNOTSUPP && r != -EINVAL)
		return isc_error_set(err, -r, "set the immutable flag on %s", final);
	struct isc_image_info info = {
		.size = bytes, .files = n, .imported = time(NULL), .verified = time(NULL), .verify_ok = true,
	};
	memcpy(info.id, id, 65);
	if (state_write(storefd, &info, err) < 0)
		return -1;
	return write_name(storefd, name, id, err);
}

/* ---- verify ---------------------------------------------------------------- */

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* Compare two sorted manifests; on the first difference, a message naming
 * the path. */
static int manifest_compare(const char *want, size_t wlen, const char *have, size_t hlen, isc_error **err)
{
	const char *w = want, *we = want + wlen, *h = have, *he = have + hlen;
	while (w < we || h < he) {
		const char *wl = w < we ? line_end(w, we) : we, *hl = h < he ? line_end(h, he) : he;
		if (w < we && h < he && wl - w == hl - h && memcmp(w, h, (size_t)(wl - w)) == 0) {
			w = wl + 1;
			h = hl + 1;
			continue;
		}
		struct isc_image_entry a = { 0 }, b = { 0 };
		cleanup_error isc_error *ignored = NULL;
		bool wa = w < we && isc_image_manifest_parse_line(w, (size_t)(wl - w), &a, &ignored) == 0;
		bool hb = h < he && isc_image_manifest_parse_line(h, (size_t)(hl - h), &b, &ignored) == 0;
		int ret;
		if (wa && hb && strcmp(a.path, b.path) == 0) {
			const char *what = a.type != b.type ? "type"
					   : strcmp(a.digest, b.digest) != 0 || a.size != b.size ? "content"
					   : a.mode != b.mode ? "mode"
							      : "owner";
			ret = isc_error_set(err, 0, "%s: %s differs from the manifest", a.path, what);
		} else if (wa && (!hb || strcmp(a.path, b.path) < 0)) {
			ret = isc_error_set(err, 0, "%s: missing", a.path);
		} else if (hb) {
			ret = isc_error_set(err, 0, "%s: not in the manifest", b.path);
		} else {
			ret = isc_error_set(err, 0, "the manifest does not parse");
		}
		isc_image_entry_clear(&a);
		isc_image_entry_clear(&b);
		return ret;
	}
	return 0;
}

static int record_verification(int storefd, const char *id, bool ok, const char *msg, isc_error **err)
{
	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0)
		return -1;
	struct isc_image_info info = { 0 };
	if (state_read(storefd, id, &info, err) < 0)
		return -1;
	info.verified = time(NULL);
	info.verify_ok = ok;
	free(info.verify_error);
	info.verify_error = ok ? NULL : isc_xstrdup(msg);
	int r = state_write(storefd, &info, err);
	isc_image_info_clear(&info);
	return r;
}

/* The full check of one image directory: the manifest's root is the id,
 * and the tree hashes to the manifest. */
static int verify_dir(int imgfd, const char *id, isc_error **err)
{
	cleanup_free char *manifest = NULL;
	size_t mlen = 0;
	if (isc_read_file_at(imgfd, "manifest", &manifest, &mlen, 1 << 30, err) < 0)
		return -1;
	char root[65];
	if (isc_image_manifest_root(manifest, mlen, root, err) < 0)
		return isc_error_wrap(err, "manifest");
	if (strcmp(root, id) != 0)
		return isc_error_set(err, 0, "manifest: its Merkle root is %s, not the image id", root);
	cleanup_close int rootfd = openat(imgfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return isc_error_set(err, errno, "open rootfs");
	cleanup_free char *have = NULL;
	size_t hlen = 0;
	if (isc_image_manifest_build(rootfd, &have, &hlen, NULL, err) < 0) {
		(*err)->errnum = 0;
		return -1;
	}
	return manifest_compare(manifest, mlen, have, hlen, err);
}

int isc_image_verify(const char *root, const char *name, isc_error **err)
{
	if (isc_image_name_check(name, err) < 0)
		return -1;
	cleanup_close int storefd = isc_image_store_open(root, false, err);
	if (storefd < 0)
		return -1;
	char id[65];
	if (read_name(storefd, name, id, err) < 0)
		return -1;
	cleanup_free char *rel = isc_xasprintf("sha256/%s", id);
	cleanup_close int imgfd = openat(storefd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (imgfd < 0)
		return isc_error_set(err, errno, "image \"%s\": open %s", name, rel);
	if (verify_dir(imgfd, id, err) < 0) {
		char buf[1024];
		isc_error_text(*err, buf, sizeof(buf));
		cleanup_error isc_error *rerr = NULL;
		(void)record_verification(storefd, id, false, buf, &rerr);
		return isc_error_wrap(err, "image \"%s\" (%.12s) is damaged", name, id);
	}
	/* intact: re-seal, so that a quick check passes again after an
	 * operator repaired flags or an earlier failure was recorded */
	cleanup_free char *manifest = NULL;
	size_t mlen = 0;
	struct isc_image_entry *v = NULL;
	size_t n = 0;
	if (isc_read_file_at(imgfd, "manifest", &manifest, &mlen, 1 << 30, err) < 0 ||
	    manifest_parse(manifest, mlen, &v, &n, NULL, err) < 0)
		return isc_error_wrap(err, "image \"%s\"", name);
	cleanup_close int wfd = openat(storefd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wfd < 0) {
		entries_free(v, n);
		return isc_error_set(err, errno, "image \"%s\": open %s", name, rel);
	}
	(void)set_immutable_fd(wfd, false);
	int r = seal(imgfd, v, n, err);
	entries_free(v, n);
	(void)set_immutable_fd(wfd, true);
	if (r < 0)
		return isc_error_wrap(err, "image \"%s\": re-seal", name);
	return record_verification(storefd, id, true, NULL, err);
}

/* ---- quick check ------------------------------------------------------------ */

int isc_image_quick_check(const char *image_dir, isc_error **err)
{
	const char *slash = strrchr(image_dir, '/');
	const char *id = slash ? slash + 1 : image_dir;
	cleanup_close int rootfd = -1;
	if (!is_hex64(id, strlen(id)))
		return isc_error_set(err, EINVAL, "%s: not an image directory (<store>/sha256/<id>)", image_dir);
	cleanup_close int imgfd = open(image_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (imgfd < 0)
		return isc_error_set(err, errno, "image %s", image_dir);
	cleanup_close int storefd = openat(imgfd, "../..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (storefd < 0)
		return isc_error_set(err, errno, "image %s: its store", image_dir);

	/* 1. the last full verification must not have failed */
	struct isc_image_info info = { 0 };
	if (state_read(storefd, id, &info, err) < 0)
		return isc_error_wrap(err, "image %.12s", id);
	if (!info.verify_ok) {
		int r = isc_error_set(err, 0,
				      "image %.12s: REFUSED: its last full verification failed (%s); run "
				      "'isc image verify' after repairing or re-importing it",
				      id, info.verify_error ? info.verify_error : "?");
		isc_image_info_clear(&info);
		return r;
	}
	isc_image_info_clear(&info);

	/* 2. the manifest is the id's */
	cleanup_free char *manifest = NULL, *snap = NULL;
	size_t mlen = 0, slen = 0;
	if (isc_read_file_at(imgfd, "manifest", &manifest, &mlen, 1 << 30, err) < 0 ||
	    isc_read_file_at(imgfd, "snapshot", &snap, &slen, 1 << 30, err) < 0)
		return isc_error_wrap(err, "image %.12s", id);
	struct isc_image_entry *v = NULL;
	unsigned char (*leaves)[32] = NULL;
	size_t n = 0;
	if (manifest_parse(manifest, mlen, &v, &n, &leaves, err) < 0)
		return isc_error_wrap(err, "image %.12s: manifest", id);
	unsigned char rootd[32];
	char hex[65];
	isc_image_merkle_root((const unsigned char (*)[32])leaves, n, rootd);
	free(leaves);
	isc_sha256_hex(rootd, hex);
	int ret = 0;
	if (strcmp(hex, id) != 0) {
		ret = isc_error_set(err, 0, "image %.12s: REFUSED: manifest does not match the id", id);
		goto out;
	}

	/* 3. every entry as at import: the inode, its ctime (set by the kernel
	 * on any change, including clearing the immutable flag), the flag */
	const char *sp = snap, *se = snap + slen;
	int immutable = -1;
	const char *nl = memchr(sp, '\n', (size_t)(se - sp));
	if (nl == NULL || sscanf(sp, SNAPSHOT_MAGIC " immutable=%d", &immutable) != 1) {
		ret = isc_error_set(err, 0, "image %.12s: REFUSED: snapshot header", id);
		goto out;
	}
	sp = nl + 1;
	rootfd = openat(imgfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		ret = isc_error_set(err, errno, "image %.12s: rootfs", id);
		goto out;
	}
	struct statx sx;
	if (immutable) {
		static const char *const own[] = { ".", "manifest", "snapshot" };
		for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
			if (statx(imgfd, own[i], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0 ||
			    !(sx.stx_attributes & STATX_ATTR_IMMUTABLE)) {
				ret = isc_error_set(err, 0, "image %.12s: REFUSED: %s is not immutable", id, own[i]);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		nl = sp < se ? memchr(sp, '\n', (size_t)(se - sp)) : NULL;
		unsigned long long ino, csec;
		unsigned nlink, cnsec;
		if (nl == NULL || sscanf(sp, "%llu %u %llu %u", &ino, &nlink, &csec, &cnsec) != 4) {
			ret = isc_error_set(err, 0, "image %.12s: REFUSED: snapshot line %zu", id, i + 2);
			goto out;
		}
		sp = nl + 1;
		const struct isc_image_entry *e = &v[i];
		const char *rel = e->path[1] ? e->path + 1 : ".";
		if (statx(rootfd, rel, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0) {
			ret = isc_error_set(err, errno, "image %.12s: REFUSED: %s", id, e->path);
			goto out;
		}
		static const struct {
			char type;
			mode_t fmt;
		} types[] = { { 'd', S_IFDIR }, { 'f', S_IFREG }, { 'l', S_IFLNK }, { 'p', S_IFIFO } };
		mode_t fmt = 0;
		for (size_t t = 0; t < ARRAY_SIZE(types); t++)
			if (types[t].type == e->type)
				fmt = types[t].fmt;
		const char *what = NULL;
		if ((sx.stx_mode & S_IFMT) != fmt)
			what = "type";
		else if ((sx.stx_mode & 07777) != e->mode)
			what = "mode";
		else if (sx.stx_uid != e->uid || sx.stx_gid != e->gid)
			what = "owner";
		else if (e->type != 'd' && sx.stx_size != e->size)
			what = "size";
		else if (sx.stx_ino != ino || sx.stx_nlink != nlink)
			what = "inode";
		else if ((unsigned long long)sx.stx_ctime.tv_sec != csec || sx.stx_ctime.tv_nsec != cnsec)
			what = "ctime";
		else if (immutable && type_has_flags(e->type) && !(sx.stx_attributes & STATX_ATTR_IMMUTABLE))
			what = "immutable flag";
		if (what) {
			ret = isc_error_set(err, 0,
					    "image %.12s: REFUSED: %s changed since import (%s); run 'isc image verify'",
					    id, e->path, what);
			goto out;
		}
	}
	if (sp != se)
		ret = isc_error_set(err, 0, "image %.12s: REFUSED: snapshot longer than the manifest", id);
out:
	entries_free(v, n);
	return ret;
}

int isc_image_check_root(const char *rootfs_path, const char *expected_root_hex, isc_error **err)
{
	if (!is_hex64(expected_root_hex, strlen(expected_root_hex)))
		return isc_error_set(err, EINVAL, "org.isc.image.root: \"%s\" is not 64 lowercase hex digits",
				     expected_root_hex);
	char real[PATH_MAX];
	if (realpath(rootfs_path, real) == NULL)
		return isc_error_set(err, errno, "org.isc.image.root: rootfs %s", rootfs_path);
	size_t l = strlen(real);
	static const char suffix[] = "/rootfs";
	if (l < sizeof(suffix) || strcmp(real + l - (sizeof(suffix) - 1), suffix) != 0)
		return isc_error_set(err, EINVAL, "org.isc.image.root: rootfs %s is not an image store rootfs", rootfs_path);
	real[l - (sizeof(suffix) - 1)] = '\0';
	const char *slash = strrchr(real, '/');
	if (slash == NULL || strcmp(slash + 1, expected_root_hex) != 0 || slash - real < 7 ||
	    strncmp(slash - 7, "/sha256", 7) != 0)
		return isc_error_set(err, 0, "org.isc.image.root: rootfs %s is not image %s", rootfs_path,
				     expected_root_hex);
	if (isc_image_quick_check(real, err) < 0)
		return isc_error_wrap(err, "org.isc.image.root");
	return 0;
}

int isc_image_check_root_at(const char *rootfs_path, const char *expected_root_hex, const char *store,
			    isc_error **err)
{
	if (!is_hex64(expected_root_hex, strlen(expected_root_hex)))
		return isc_error_set(err, EINVAL, "org.isc.image.root: \"%s\" is not 64 lowercase hex digits",
				     expected_root_hex);
	if (store == NULL || store[0] != '/')
		return isc_error_set(err, EINVAL, ISC_IMAGE_STORE_ANNOTATION ": \"%s\" is not an absolute path",
				     store ? store : "");
	cleanup_free char *image_dir = isc_xasprintf("%s/sha256/%s", store, expected_root_hex);
	cleanup_free char *store_rootfs = isc_xasprintf("%s/rootfs", image_dir);
	struct statx a, b;
	unsigned mask = STATX_TYPE | STATX_INO;
	if (statx(AT_FDCWD, rootfs_path, 0, mask, &a) < 0)
		return isc_error_set(err, errno, "org.isc.image.root: rootfs %s", rootfs_path);
	if (statx(AT_FDCWD, store_rootfs, AT_SYMLINK_NOFOLLOW, mask, &b) < 0)
		return isc_error_set(err, errno, "org.isc.image.root: image %.12s in the store %s", expected_root_hex,
				     store);
	/* an idmapped (or any bind) mount shows the same inode of the same
	 * superblock; only the mount differs */
	if (!S_ISDIR(a.stx_mode) || !S_ISDIR(b.stx_mode) || a.stx_ino != b.stx_ino ||
	    a.stx_dev_major != b.stx_dev_major || a.stx_dev_minor != b.stx_dev_minor)
		return isc_error_set(err, 0, "org.isc.image.root: rootfs %s is not image %s of the store %s",
				     rootfs_path, expected_root_hex, store);
	if (isc_image_quick_check(image_dir, err) < 0)
		return isc_error_wrap(err, "org.isc.image.root");
	return 0;
}

int isc_image_state_set_config(int storefd, const char *id, const char *name, json_t *config, isc_error **err)
{
	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0)
		return -1;
	cleanup_close int sfd = openat(storefd, "state", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return isc_error_set(err, errno, "image store state directory");
	cleanup_free char *fname = isc_xasprintf("%s.json", id);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_read_file_at(sfd, fname, &text, &len, 1 << 20, err) < 0)
		return isc_error_wrap(err, "image %.12s: state", id);
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return isc_error_set(err, EINVAL, "image %.12s: state: %s", id, je.text);
	}
	json_t *configs = json_object_get(o, "configs");
	if (!json_is_object(configs)) {
		configs = json_object();
		json_object_set_new(o, "configs", configs);
	}
	if (config)
		json_object_set(configs, name, config);
	else
		json_object_del(configs, name);
	if (json_object_size(configs) == 0)
		json_object_del(o, "configs");
	cleanup_free char *out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (out == NULL)
		abort();
	return isc_write_file_atomic(sfd, fname, out, strlen(out), 0600, err);
}

int isc_image_config(const char *root, const char *name, json_t **config, isc_error **err)
{
	*config = NULL;
	char id[65];
	if (isc_image_resolve(root, name, id, err) < 0)
		return -1;
	cleanup_free char *path = isc_xasprintf("%s/images/state/%s.json", root, id);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_read_file(path, &text, &len, 1 << 20, err) < 0)
		return isc_error_wrap(err, "image \"%s\": state", name);
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return isc_error_set(err, EINVAL, "image \"%s\": state %s: %s", name, path, je.text);
	}
	json_t *c = json_object_get(json_object_get(o, "configs"), name);
	if (json_is_object(c))
		*config = json_incref(c);
	json_decref(o);
	return 0;
}

/* ---- list and remove ---------------------------------------------------------- */

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct isc_image_info *)a)->name, ((const struct isc_image_info *)b)->name);
}

int isc_image_list(const char *root, struct isc_image_info **out, size_t *nout, isc_error **err)
{
	*out = NULL;
	*nout = 0;
	cleanup_close int storefd = isc_image_store_open(root, false, err);
	if (storefd < 0) {
		if ((*err)->errnum == ENOENT) {
			isc_error_free(err);
			return 0;
		}
		return -1;
	}
	int nfd = openat(storefd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "image store names");
	}
	cleanup_dir DIR *d = fdopendir(nfd); /* owns nfd from here */
	if (d == NULL) {
		int e = errno;
		close(nfd);
		return isc_error_set(err, e, "image store names");
	}
	struct isc_image_info *v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_error isc_error *e2 = NULL;
		struct isc_image_info info = { 0 };
		if (isc_image_name_check(de->d_name, &e2) < 0 || read_name(storefd, de->d_name, info.id, &e2) < 0)
			continue;
		if (state_read(storefd, info.id, &info, &e2) < 0)
			info.verify_error = isc_xstrdup("no state record");
		info.name = isc_xstrdup(de->d_name);
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = info;
	}
	if (n)
		qsort(v, n, sizeof(*v), info_cmp);
	*out = v;
	*nout = n;
	return 0;
}

int isc_image_remove(const char *root, const char *name, isc_error **err)
{
	if (isc_image_name_check(name, err) < 0)
		return -1;
	cleanup_close int storefd = isc_image_store_open(root, false, err);
	if (storefd < 0)
		return -1;
	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0)
		return -1;
	char id[65];
	if (read_name(storefd, name, id, err) < 0)
		return -1;
	cleanup_free char *rel = isc_xasprintf("names/%s", name);
	if (unlinkat(storefd, rel, 0) < 0)
		return isc_error_set(err, errno, "image \"%s\": remove its name", name);
	/* other names of the same content keep it */
	int nfd = openat(storefd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0)
		return isc_error_set(err, errno, "image store names");
	cleanup_dir DIR *d = fdopendir(nfd); /* owns nfd from here */
	if (d == NULL) {
		int e = errno;
		close(nfd);
		return isc_error_set(err, e, "image store names");
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char other[65];
		cleanup_error isc_error *e2 = NULL;
		if (de->d_name[0] != '.' && read_name(storefd, de->d_name, other, &e2) == 0 && strcmp(other, id) == 0)
			return 0;
	}
	/* move it out of sha256/ first, so that no half-removed image is ever
	 * found under its id */
	cleanup_free char *final = isc_xasprintf("sha256/%s", id);
	cleanup_free char *trash = isc_xasprintf("tmp/rm-%s-%d", id, (int)getpid());
	(void)set_immutable_at(storefd, final, false);
	if (renameat(storefd, final, storefd, trash) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "image \"%s\": move %s away", name, final);
	if (isc_image_rm_tree_at(storefd, trash, err) < 0)
		return isc_error_wrap(err, "image \"%s\": remove its content", name);
	cleanup_free char *state = isc_xasprintf("state/%s.json", id);
	if (unlinkat(storefd, state, 0) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "image \"%s\": remove %s", name, state);
	return 0;
}
