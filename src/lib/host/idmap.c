/* SPDX-License-Identifier: GPL-2.0-or-later
 * Idmapped mounts (kernel-notes §5): the image store is root-only and owned
 * by the image's own ids (0:0 mostly); a container whose root is host id
 * BASE sees the image through a clone of the store's mount that maps
 * on-disk 0..count-1 to BASE..BASE+count-1.  No copy, no chown.
 *
 * Steps: a user namespace with the wanted map (a helper child unshares
 * CLONE_NEWUSER, we write its maps and keep /proc/CHILD/ns/user open),
 * open_tree(CLONE) of the source, mount_setattr(IDMAP + the flags), then
 * move_mount to the destination. */
#include "host/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

/* Debian 12's glibc has the calls; define what an older header may lack. */
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#endif
#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static int write_map(pid_t pid, const char *which, uint32_t base, uint32_t count, isc_error **err)
{
	char path[64], line[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
	int n = snprintf(line, sizeof(line), "0 %u %u\n", base, count);
	if (isc_write_file(path, line, (size_t)n, err) < 0)
		return isc_error_wrap(err, "idmap: write \"0 %u %u\"", base, count);
	return 0;
}

/* A user-namespace fd with uid 0..count-1 -> uid_base.., gid likewise. */
static int userns_fd(uint32_t uid_base, uint32_t gid_base, uint32_t count, isc_error **err)
{
	int ready[2] = { -1, -1 }, hold[2] = { -1, -1 };
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0) {
		int e = errno;
		isc_closep(&ready[0]);
		isc_closep(&ready[1]);
		return isc_error_set(err, e, "idmap: pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		isc_closep(&ready[0]), isc_closep(&ready[1]), isc_closep(&hold[0]), isc_closep(&hold[1]);
		return isc_error_set(err, e, "idmap: fork");
	}
	if (pid == 0) {
		/* The helper only owns the user namespace; it never runs anything
		 * and has no privilege in the new namespace (no map yet), then
		 * exits as soon as the parent holds the namespace fd. */
		close(ready[0]);
		close(hold[1]); /* else our own copy would keep read() below from seeing EOF */
		char c = unshare(CLONE_NEWUSER) == 0 ? 0 : 1;
		(void)!write(ready[1], &c, 1);
		(void)!read(hold[0], &c, 1); /* EOF when the parent is done */
		_exit(0);
	}
	isc_closep(&ready[1]);
	isc_closep(&hold[0]);
	int fd = -1, ret = 0;
	char c = 1;
	if (isc_read_all(ready[0], &c, 1) != 1 || c != 0) {
		ret = isc_error_set(err, EPERM, "idmap: the helper could not unshare its user namespace");
		goto out;
	}
	/* We write the maps as root of the parent namespace: no setgroups
	 * "deny" is needed, and the ids may be any host ids. */
	if (write_map(pid, "uid_map", uid_base, count, err) < 0 ||
	    write_map(pid, "gid_map", gid_base, count, err) < 0) {
		ret = -1;
		goto out;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		ret = isc_error_set(err, errno, "idmap: open %s", path);
out:
	isc_closep(&ready[0]);
	isc_closep(&hold[1]); /* lets the helper exit */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return ret < 0 ? ret : fd;
}

int isc_idmap_mount(const char *src, const char *dst, uint32_t uid_base, uint32_t gid_base, uint32_t count,
		    bool readonly, isc_error **err)
{
	if (count == 0 || (uint64_t)uid_base + count > UINT32_MAX || (uint64_t)gid_base + count > UINT32_MAX)
		return isc_error_set(err, EINVAL, "idmap %s: range %u:%u+%u out of bounds", dst, uid_base, gid_base,
				     count);
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return isc_error_set(err, errno, "idmap: mkdir %s", dst);

	cleanup_close int nsfd = userns_fd(uid_base, gid_base, count, err);
	if (nsfd < 0)
		return isc_error_wrap(err, "idmapped mount of %s", src);

	/* A detached copy of the mount that holds src: changing its attributes
	 * changes nothing for anyone else's view of the store. */
	cleanup_close int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return isc_error_set(err, errno, "idmap: open_tree %s", src);
	struct mount_attr attr = {
		.attr_set =
			MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0),
		.userns_fd = (uint64_t)nsfd,
	};
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return isc_error_set(err, errno,
				     "idmap: mount_setattr(IDMAP%s) on %s (does its filesystem support "
				     "idmapped mounts?)",
				     readonly ? ", RDONLY" : "", src);
	if (move_mount(tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return isc_error_set(err, errno, "idmap: move_mount %s -> %s", src, dst);
	return 0;
}

int isc_idmap_umount(const char *dst, isc_error **err)
{
	if (umount2(dst, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return isc_error_set(err, errno, "umount %s", dst);
	return 0;
}
