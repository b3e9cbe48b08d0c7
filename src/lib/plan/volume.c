/* SPDX-License-Identifier: GPL-2.0-or-later
 * Volume sources: the walk without symbolic links, the identity, the
 * mount made from the opened source (volume.h says why). */
#include "plan/volume.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/util.h"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

#define UNSTAGE_MAX 64 /* mounts stacked at one staging point, at most */

void isc_volume_path_clear(struct isc_volume_path *p)
{
	isc_closep(&p->fd);
	free(p->steps);
	p->steps = NULL;
	p->n_steps = 0;
}

static void push_step(struct isc_volume_path *p, const struct stat *st)
{
	struct isc_volume_step *n = realloc(p->steps, (p->n_steps + 1) * sizeof(*n));
	if (n == NULL)
		abort();
	p->steps = n;
	p->steps[p->n_steps++] = (struct isc_volume_step){ (uint64_t)st->st_dev, (uint64_t)st->st_ino };
}

/* One component below `dirfd` (an O_PATH directory), never followed. */
static int step_open(int dirfd, const char *name, struct stat *st)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The message for a symbolic link met on the way to a source. */
static int link_refused(const char *what, const char *src, const char *link, bool at_start, isc_error **err)
{
	char real[PATH_MAX];
	bool resolved = realpath(src, real) != NULL;
	if (at_start)
		return isc_error_set(
			err, 0,
			"%s: %s is now a symbolic link%s%s%s; it was none at `isc run`: something replaced "
			"it; refusing to start. Find out who can write its parent folders; to accept the new "
			"source, remove the service and run it again",
			what, link, resolved ? " (to " : "", resolved ? real : "", resolved ? ")" : "");
	return isc_error_set(err, 0,
			     "%s: %s is a symbolic link; a volume source is never reached through one (give the path "
			     "without links%s%s)",
			     what, link, resolved ? ": " : "", resolved ? real : "");
}

int isc_volume_open(const char *what, const char *src, bool at_start, struct isc_volume_path *out, isc_error **err)
{
	struct isc_volume_path p = { .fd = -1 };
	if (src[0] != '/')
		return isc_error_set(err, EINVAL, "%s: %s is not an absolute path", what, src);
	struct stat st;
	p.fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p.fd < 0 || fstat(p.fd, &st) < 0) {
		isc_error_set(err, errno, "%s: open /", what);
		isc_volume_path_clear(&p);
		return -1;
	}
	push_step(&p, &st);
	cleanup_free char *copy = isc_xstrdup(src);
	for (char *c = copy; *c;) {
		while (*c == '/')
			c++;
		if (*c == '\0')
			break;
		size_t l = strcspn(c, "/");
		char save = c[l];
		c[l] = '\0';
		int ret = 0;
		if (!S_ISDIR(st.st_mode)) {
			ret = isc_error_set(err, ENOTDIR, "%s: %.*s", what, (int)(c - 1 - copy), copy);
		} else {
			int fd = step_open(p.fd, c, &st);
			if (fd < 0) {
				ret = strcmp(copy, src) == 0 ? isc_error_set(err, errno, "%s", what)
							     : isc_error_set(err, errno, "%s: %s", what, copy);
			} else {
				close(p.fd);
				p.fd = fd;
				if (S_ISLNK(st.st_mode))
					ret = link_refused(what, src, copy, at_start, err);
			}
		}
		if (ret < 0) {
			isc_volume_path_clear(&p);
			return -1;
		}
		push_step(&p, &st);
		c[l] = save;
		c += l;
	}
	p.mode = st.st_mode;
	*out = p;
	return 0;
}

int isc_volume_identify(int fd, struct isc_volume_id *id, isc_error **err)
{
	struct isc_volume_id v = { .set = true };
	struct statx sx;
	memset(&sx, 0, sizeof(sx));
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_INO | STATX_MNT_ID_UNIQUE, &sx) < 0)
		return isc_error_set(err, errno, "statx");
	if (!(sx.stx_mask & STATX_MNT_ID_UNIQUE)) {
		/* kernels before 6.8: the reusable mount id */
		if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_INO | STATX_MNT_ID, &sx) < 0)
			return isc_error_set(err, errno, "statx");
		if (!(sx.stx_mask & STATX_MNT_ID))
			return isc_error_set(err, ENOSYS, "statx: this kernel reports no mount id (STATX_MNT_ID, 5.8)");
	} else {
		v.mnt_unique = true;
	}
	v.dev = (uint64_t)makedev(sx.stx_dev_major, sx.stx_dev_minor);
	v.ino = sx.stx_ino;
	v.mnt_id = sx.stx_mnt_id;
	if (isc_boot_id(v.boot_id, err) < 0)
		return -1;
	*id = v;
	return 0;
}

int isc_volume_id_check(const struct isc_volume_id *recorded, const struct isc_volume_id *now, const char *src,
			const char *dst, bool *refresh, isc_error **err)
{
	*refresh = false;
	if (recorded->dev != now->dev || recorded->ino != now->ino)
		return isc_error_set(
			err, 0,
			"volume %s -> %s: the source is not the one recorded at `isc run` (device %u:%u "
			"inode %llu then, device %u:%u inode %llu now): something replaced it; refusing to "
			"start. Find out who can write its parent folders; to accept the new source, "
			"remove the service and run it again",
			src, dst, major((dev_t)recorded->dev), minor((dev_t)recorded->dev),
			(unsigned long long)recorded->ino, major((dev_t)now->dev), minor((dev_t)now->dev),
			(unsigned long long)now->ino);
	bool same_boot = strcmp(recorded->boot_id, now->boot_id) == 0;
	if (same_boot && recorded->mnt_unique == now->mnt_unique && recorded->mnt_id != now->mnt_id)
		return isc_error_set(err, 0,
				     "volume %s -> %s: the source is reached through another mount than at `isc run` "
				     "(mount id %llu then, %llu now): something was mounted over it or its parents; "
				     "refusing to start. Undo that mount, or remove the service and run it again to "
				     "accept it",
				     src, dst, (unsigned long long)recorded->mnt_id, (unsigned long long)now->mnt_id);
	*refresh = !same_boot || recorded->mnt_unique != now->mnt_unique;
	return 0;
}

bool isc_volume_path_has(const struct isc_volume_path *p, uint64_t dev, uint64_t ino, bool or_self)
{
	size_t n = or_self ? p->n_steps : (p->n_steps ? p->n_steps - 1 : 0);
	for (size_t i = 0; i < n; i++)
		if (p->steps[i].dev == dev && p->steps[i].ino == ino)
			return true;
	return false;
}

/* The empty mount point: a directory for a directory, a file otherwise. */
static int make_mountpoint(const char *at, bool dir, isc_error **err)
{
	struct stat st;
	if (lstat(at, &st) == 0) {
		if ((S_ISDIR(st.st_mode) && dir) || (S_ISREG(st.st_mode) && !dir))
			return 0;
		return isc_error_set(err, EEXIST, "volume mount point %s exists and is of another type", at);
	}
	if (errno != ENOENT)
		return isc_error_set(err, errno, "volume mount point %s", at);
	if (dir) {
		if (mkdir(at, 0700) < 0)
			return isc_error_set(err, errno, "mkdir %s", at);
		return 0;
	}
	int fd = open(at, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return isc_error_set(err, errno, "create %s", at);
	close(fd);
	return 0;
}

int isc_volume_stage(int fd, mode_t mode, bool ro, const char *at, isc_error **err)
{
	if (isc_volume_unstage(at, err) < 0)
		return -1;
	if (make_mountpoint(at, S_ISDIR(mode), err) < 0)
		return -1;
	/* a detached copy of the opened source and what is mounted below it */
	cleanup_close int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return isc_error_set(err, errno, "volume: open_tree of the opened source for %s", at);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (ro ? MOUNT_ATTR_RDONLY : 0) };
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return isc_error_set(err, errno, "volume: mount_setattr on the copy for %s", at);
	cleanup_close int target = open(at, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return isc_error_set(err, errno, "volume: open %s", at);
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return isc_error_set(err, errno, "volume: move_mount to %s", at);
	return 0;
}

int isc_volume_unstage(const char *at, isc_error **err)
{
	struct stat st;
	if (lstat(at, &st) < 0)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "volume mount point %s", at);
	for (int i = 0;; i++) {
		if (umount2(at, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
			if (errno == EINVAL)
				break; /* nothing (more) mounted there */
			return isc_error_set(err, errno, "umount %s", at);
		}
		if (i == UNSTAGE_MAX)
			return isc_error_set(err, EBUSY, "umount %s: still mounted after %d unmounts", at, UNSTAGE_MAX);
	}
	/* rmdir and unlink never descend: a mount point still in use fails */
	if ((S_ISDIR(st.st_mode) ? rmdir(at) : unlink(at)) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "remove %s", at);
	return 0;
}

json_t *isc_volume_id_to_json(const struct isc_volume_id *id)
{
	json_t *j = json_object();
	json_object_set_new(j, "dev", json_sprintf("%u:%u", major((dev_t)id->dev), minor((dev_t)id->dev)));
	json_object_set_new(j, "ino", json_sprintf("%llu", (unsigned long long)id->ino));
	json_object_set_new(j, "mnt_id", json_sprintf("%llu", (unsigned long long)id->mnt_id));
	json_object_set_new(j, "mnt_id_unique", json_boolean(id->mnt_unique));
	json_object_set_new(j, "boot_id", json_string(id->boot_id));
	return j;
}

static int u64_member(json_t *j, const char *key, uint64_t *out)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s != NULL && isc_parse_u64(s, out) == 0 ? 0 : -1;
}

int isc_volume_id_from_json(json_t *j, struct isc_volume_id *id, isc_error **err)
{
	struct isc_volume_id v = { .set = true };
	const char *dev = json_string_value(json_object_get(j, "dev"));
	const char *boot = json_string_value(json_object_get(j, "boot_id"));
	json_t *uniq = json_object_get(j, "mnt_id_unique");
	unsigned maj = 0, min = 0;
	int used = 0;
	if (!json_is_object(j) || dev == NULL || sscanf(dev, "%u:%u%n", &maj, &min, &used) != 2 || dev[used] != '\0' ||
	    u64_member(j, "ino", &v.ino) < 0 || u64_member(j, "mnt_id", &v.mnt_id) < 0 || !json_is_boolean(uniq) ||
	    boot == NULL || strlen(boot) != ISC_BOOT_ID_LEN)
		return isc_error_set(err, EINVAL, "plan: a volume's \"identity\" is malformed");
	v.dev = (uint64_t)makedev(maj, min);
	v.mnt_unique = json_is_true(uniq);
	memcpy(v.boot_id, boot, ISC_BOOT_ID_LEN + 1);
	*id = v;
	return 0;
}

int isc_boot_id(char out[ISC_BOOT_ID_LEN + 1], isc_error **err)
{
	cleanup_free char *s = NULL;
	size_t len = 0;
	if (isc_read_file("/proc/sys/kernel/random/boot_id", &s, &len, 64, err) < 0)
		return isc_error_wrap(err, "the boot id");
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	if (len != ISC_BOOT_ID_LEN)
		return isc_error_set(err, EINVAL, "the boot id \"%s\" is malformed", s);
	memcpy(out, s, ISC_BOOT_ID_LEN + 1);
	return 0;
}
