/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups: the container's view of its cgroups, mounted by the init
 * inside its mount namespace before pivot_root: a fresh cgroup mount in a
 * cgroup namespace, else a bind of the container's own group, never the
 * host's whole tree; every mount targets an fd.
 */
#include "kernel/cgroup-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* ---- mounts inside the container ----------------------------------- */

/* Our own group in hierarchy `ctrl` (canonical v1 controllers, or
 * ISC_CGROUP_V2_NAME) from the text of /proc/self/cgroup; NULL if not listed. */
static char *own_group(const char *proc_cgroup, const char *ctrl)
{
	bool v2 = strcmp(ctrl, ISC_CGROUP_V2_NAME) == 0;
	for (const char *line = proc_cgroup; line && *line;) {
		size_t n = strcspn(line, "\n");
		cleanup_free char *copy = isc_xasprintf("%.*s", (int)n, line);
		line += n + (line[n] == '\n');
		cleanup_free char *ctrls = NULL;
		char *path = NULL;
		if (isc_cgroup_parse_proc_cgroup_line(copy, &ctrls, &path) < 0)
			continue;
		cleanup_free char *canon = NULL;
		if (ctrls[0] != '\0')
			isc_cgroup_parse_controllers(ctrls, &canon);
		if (v2 ? ctrls[0] == '\0' && strncmp(copy, "0:", 2) == 0 : canon && strcmp(canon, ctrl) == 0)
			return path;
		free(path);
	}
	return NULL;
}

/* Every step below targets an fd: the destination resolved inside the
 * rootfs (an O_PATH fd), or a directory of the tmpfs made here, opened
 * from that tmpfs' root fd.  No path is walked again after the
 * resolution, so a rename inside the rootfs meanwhile (another container
 * sharing a volume) cannot send a mount elsewhere (runc CVE-2021-30465).
 * mount(2) of a fresh filesystem takes "/proc/self/fd/N": exactly what fd
 * N resolved to. */
static int attach_tree(int tree, int dir)
{
	return move_mount(tree, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* Without a cgroup namespace of its own, a fresh cgroup mount would show
 * the whole hierarchy: every other container's group, and the host's
 * figures at its root.  So, like runc, bind the container's own group of
 * that hierarchy (read-only when the mount asks): it sees that group and
 * nothing above it. */
static int bind_own_group(const char *hmount, const char *hroot, const char *ctrl, const char *proc_cgroup, int dir,
			  const char *name, unsigned long flags, isc_error **err)
{
	cleanup_free char *own = own_group(proc_cgroup, ctrl);
	cleanup_free char *src = own ? isc_cgroup_dir(hmount, hroot, own) : NULL;
	if (src == NULL)
		return isc_error_set(err, ENOENT, "cgroup %s: the container's own group is not visible", ctrl);
	cleanup_close int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return isc_error_set(err, errno, "bind %s on %s", src, name);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	if (flags & MS_RDONLY)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return isc_error_set(err, errno, "set the flags of %s", name);
	if (attach_tree(tree, dir) < 0)
		return isc_error_set(err, errno, "bind %s on %s", src, name);
	return 0;
}

/* One hierarchy at `dir` (`name` for messages): in a cgroup namespace
 * (`proc_cgroup` NULL) a fresh mount, whose root is the namespace's root
 * there (the container's group); else the bind of the container's own
 * group. */
static int mount_one(const char *fstype, const char *opts, const char *hmount, const char *hroot, const char *ctrl,
		     const char *proc_cgroup, int dir, const char *name, unsigned long flags, isc_error **err)
{
	if (proc_cgroup)
		return bind_own_group(hmount, hroot, ctrl, proc_cgroup, dir, name, flags, err);
	char p[32];
	snprintf(p, sizeof p, "/proc/self/fd/%d", dir);
	if (mount(fstype, p, fstype, flags, opts) < 0)
		return isc_error_set(err, errno, "mount %s%s%s on %s", fstype, opts ? " -o " : "", opts ? opts : "",
				     name);
	return 0;
}

/* The mount flags (MS_*) as fsmount's attributes. */
static unsigned ms_to_mount_attr(unsigned long f)
{
	unsigned a = 0;
	if (f & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (f & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (f & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (f & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (f & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	if (f & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	else if (f & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	return a;
}

/* A tmpfs (mode 755) attached at `target`; returns the fd of its root. */
static int attach_tmpfs(int target, const char *name, unsigned long mflags, isc_error **err)
{
	cleanup_close int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return isc_error_set(err, errno, "mount tmpfs on %s", name);
	cleanup_close int top = fsmount(fs, FSMOUNT_CLOEXEC, ms_to_mount_attr(mflags & ~(unsigned long)MS_RDONLY));
	if (top < 0 || attach_tree(top, target) < 0)
		return isc_error_set(err, errno, "mount tmpfs on %s", name);
	return steal_fd(&top);
}

/* Directory `base` of the tmpfs `top`, made and opened (O_PATH). */
static int tmpfs_dir(int top, const char *name, const char *base, isc_error **err)
{
	if (mkdirat(top, base, 0755) < 0 && errno != EEXIST)
		return isc_error_set(err, errno, "mkdir %s/%s", name, base);
	int fd = openat(top, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s/%s", name, base);
	return fd;
}

/* One v1 hierarchy in directory `base` of the tmpfs, with the links of its
 * co-mounted controllers ("cpu" -> "cpu,cpuacct" as on the host). */
static int mount_v1(int top, const char *name, const char *base, const struct isc_cgroup_hier *h, const char *pc,
		    unsigned long mflags, isc_error **err)
{
	cleanup_close int dir = tmpfs_dir(top, name, base, err);
	if (dir < 0)
		return -1;
	cleanup_free char *sub = isc_xasprintf("%s/%s", name, base);
	cleanup_error isc_error *e = NULL;
	if (mount_one("cgroup", h->controllers, h->mount, h->root, h->controllers, pc, dir, sub, mflags, &e) < 0) {
		if (h->mask != 0) {
			isc_error_move(err, &e);
			return -1;
		}
		(void)unlinkat(top, base, AT_REMOVEDIR); /* a named hierarchy: nothing depends on it */
		return 0;
	}
	for (unsigned bit = 1; bit <= ISC_CGROUP_DEBUG; bit <<= 1) {
		const char *ctrl = isc_cgroup_controller_name(bit, false);
		if (!(h->mask & bit) || strcmp(ctrl, base) == 0)
			continue;
		if (symlinkat(base, top, ctrl) < 0 && errno != EEXIST)
			return isc_error_set(err, errno, "symlink %s/%s", name, ctrl);
	}
	return 0;
}

int isc_cgroup_mount(int target, const char *name, unsigned long flags, bool own_ns, isc_error **err)
{
	const struct isc_cgroup_layout *l;
	if (isc_cgroup_layout_get(&l, err) < 0)
		return -1;
	unsigned long mflags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME |
					MS_STRICTATIME | MS_NODIRATIME);
	/* without our own namespace: bind our groups, read once from here */
	cleanup_free char *pc = NULL;
	if (!own_ns && isc_read_file("/proc/self/cgroup", &pc, NULL, 0, err) < 0)
		return -1;
	if (l->mode == ISC_CGROUP_V2)
		return mount_one("cgroup2", NULL, l->v2_mount, l->v2_root, ISC_CGROUP_V2_NAME, pc, target, name, mflags,
				 err);
	/* a tmpfs holding one directory per hierarchy, as on the host */
	cleanup_close int top = attach_tmpfs(target, name, mflags, err);
	if (top < 0)
		return -1;
	for (size_t i = 0; i < l->n_v1; i++) {
		const struct isc_cgroup_hier *h = &l->v1[i];
		const char *base = strrchr(h->mount, '/');
		base = base ? base + 1 : h->mount;
		if (*base == '\0' || strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
			continue;
		if (mount_v1(top, name, base, h, pc, mflags, err) < 0)
			return -1;
	}
	if (l->mode == ISC_CGROUP_HYBRID) {
		cleanup_close int dir = tmpfs_dir(top, name, "unified", err);
		cleanup_free char *sub = isc_xasprintf("%s/unified", name);
		if (dir < 0 || mount_one("cgroup2", NULL, l->v2_mount, l->v2_root, ISC_CGROUP_V2_NAME, pc, dir, sub,
					 mflags, err) < 0)
			return -1;
	}
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if ((flags & MS_RDONLY) && mount_setattr(top, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return isc_error_set(err, errno, "remount %s read-only", name);
	return 0;
}
