/* SPDX-License-Identifier: GPL-2.0-or-later
 * The manifest of a tree (isc_image_manifest_build): every entry walked by
 * fd from the root (openat O_NOFOLLOW, one directory open per level), each
 * file hashed through the fd it was opened with, the lines sorted by path.
 * The store seals and verifies with it (store.c); the format is
 * manifest.c's. */
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

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		abort();
	return q;
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
		.mode = st.st_mode & 07777,
		.uid = st.st_uid,
		.gid = st.st_gid,
		.digest = "-",
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
			.path = isc_xstrdup("/"),
			.type = 'd',
			.mode = st.st_mode & 07777,
			.uid = st.st_uid,
			.gid = st.st_gid,
			.digest = "-",
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
