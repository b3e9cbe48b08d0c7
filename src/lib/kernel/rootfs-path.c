/* SPDX-License-Identifier: GPL-2.0-or-later
 * Paths inside the rootfs (rootfs-internal.h): every destination is
 * resolved inside it with openat2 (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
 * missing components made on the way (isc_rootfs_mkpath follows the path
 * as resolved, so a destination through a symlink that dangles inside the
 * root is made where it points), and paths compared component by
 * component. */
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
	char done[PATH_MAX] = ""; /* resolved so far, no symlink, relative to rootfd */
	char rest[PATH_MAX];	  /* still to walk */
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
