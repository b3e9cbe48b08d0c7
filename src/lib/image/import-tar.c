/* SPDX-License-Identifier: GPL-2.0-or-later
 * Image import, tarballs and layers (the design is atop import.c):
 * libarchive reads one open file, hashed on the way for an OCI layer, and
 * every entry goes through the writer of import.c; an OCI layer takes two
 * passes, its whiteouts first, then its content. */
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

/* ---- tarballs and layers ----------------------------------------------- */

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
	cleanup_close int pfd = isc_import_open_parent(im, path, false, &base, &unused);
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
int isc_import_source_drain(struct tar_source *src, isc_error **err)
{
	for (;;) {
		ssize_t n = source_read(src);
		if (n < 0)
			return isc_error_set(err, errno, "read %s", src->name);
		if (n == 0)
			return 0;
	}
}

int isc_import_tar(struct importer *im, struct tar_source *src, enum tar_pass pass, isc_error **err)
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
		if (archive_entry_hardlink(ae) && isc_image_path_clean(archive_entry_hardlink(ae), &hardlink, err) < 0)
			return isc_error_wrap(err, "%s: %.*s%s: hard link target", file, SHOW(raw));
		const char *symlink = archive_entry_symlink(ae);
		mode_t type = archive_entry_filetype(ae);
		if (type == AE_IFLNK && symlink == NULL)
			return isc_error_set(err, EINVAL, "%s: %.*s%s: symlink without a target", file, SHOW(raw));
		struct src_entry e = {
			.path = path,
			.type = type,
			.perm = archive_entry_perm(ae) & 07777,
			.uid = (uid_t)archive_entry_uid(ae),
			.gid = (gid_t)archive_entry_gid(ae),
			.symlink = symlink,
			.hardlink = hardlink,
			.mtime = { archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) },
			.has_mtime = archive_entry_mtime_is_set(ae),
			.read = type == AE_IFREG ? archive_reader : NULL,
			.cookie = a,
		};
		if (archive_entry_uid(ae) < 0 || archive_entry_uid(ae) > UINT32_MAX - 1 || archive_entry_gid(ae) < 0 ||
		    archive_entry_gid(ae) > UINT32_MAX - 1)
			return isc_error_set(err, EINVAL, "%s: %.*s%s: uid or gid out of range", file, SHOW(raw));
		if (isc_import_apply_entry(im, &e, err) < 0)
			return isc_error_wrap(err, "%s", file);
	}
	return 0;
}

/* A regular file opened for reading: O_NONBLOCK, so that a fifo in its
 * place fails here instead of blocking the import forever. */
int isc_import_open_regular_at(int dirfd, const char *path, int flags, const char *name, isc_error **err)
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

int isc_import_tarball(struct importer *im, const char *file, isc_error **err)
{
	cleanup_close int fd = isc_import_open_regular_at(AT_FDCWD, file, 0, file, err);
	if (fd < 0)
		return -1;
	cleanup_free unsigned char *buf = isc_xmalloc0(SOURCE_BUF);
	struct tar_source src = { .fd = fd, .name = file, .buf = buf };
	return isc_import_tar(im, &src, TAR_PLAIN, err);
}
