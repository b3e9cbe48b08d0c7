/* SPDX-License-Identifier: GPL-2.0-or-later
 * The program's own binary, out of a container's reach (runc CVE-2019-5736).
 *
 * A process that enters a container (create's init, exec's stage and its
 * child) runs this program's image until its execve.  Its /proc/PID/exe,
 * and the interpreter of a "#!/proc/self/exe" program the container asks it
 * to run, is this program's binary: the container then runs the host's
 * binary as one of its own (dumpable) processes and can reopen it for
 * writing through /proc/PID/exe once it exited -- the next run of the
 * runtime, as host root, runs what the container wrote.
 *
 * So, before such a process is made, the program re-executes itself from a
 * view of its binary that nobody can write:
 * - first choice, no copy: a private overlayfs whose only layers are the
 *   binary's directory and an empty directory of the runtime's state
 *   (overlayfs needs two lower layers to run without an upper one),
 *   created with fsopen/fsmount, read-only and attached nowhere.  A file
 *   of a filesystem without an upper layer cannot be written (EROFS), and
 *   the mount cannot be made writable: there is nothing to write to;
 * - else (no overlayfs, no state directory): a copy, a memfd holding the
 *   binary's bytes, sealed against writing, growing, shrinking and any
 *   further seal change (F_SEAL_EXEC too where the kernel has it): a write
 *   fails (EPERM) whoever opens it.  It costs a copy of the binary (about
 *   as much as the second execve itself, bench/: the overlay does not).
 * /proc/self/exe then names the view.  The command line comes back from
 * /proc/self/cmdline (the program never rewrites its argv), the
 * environment from environ; fds without FD_CLOEXEC (--preserve-fds,
 * LISTEN_FDS) stay as they are, everything else of the first run is
 * thrown away before anything of the container exists.
 *
 * Only where it is needed: the copy and the second execve cost time on
 * every create and exec.  A container with a user namespace in which the
 * binary's owner is not mapped and whose mode gives no write to group or
 * others cannot open the binary for writing: not as its owner, not with
 * CAP_DAC_OVERRIDE (a capability over an inode counts only when its owner
 * and group are mapped), not as "other".  There the copy is skipped.  In
 * the host's user namespace, or when the owner is mapped (a map of host
 * root), it is made.
 *
 * Why not a read-only bind mount of the binary: a process with
 * CAP_SYS_ADMIN in the host's user namespace can clone that mount and clear
 * its read-only flag; an overlay without an upper layer has nothing
 * writable below it, and the seals of a memfd cannot be removed by
 * anyone (runc 1.2 made the same two choices, in the same order). */
#include "kernel/exeseal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

#define BASE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define MAX_MAP_LINES 340 /* the kernel's limit for uid_map/gid_map */

extern char **environ;

bool isc_exe_sealed(void)
{
	cleanup_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0)
		return (seals & BASE_SEALS) == BASE_SEALS;
	/* the overlay view: overlayfs, read-only */
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC && (sf.f_flags & ST_RDONLY);
}

void isc_exe_restore_name(void)
{
	/* after an execveat of the memfd the task is named after it */
	(void)prctl(PR_SET_NAME, program_invocation_short_name, 0, 0, 0);
}

static bool mapped(const struct isc_idmap *m, size_t n, uint32_t host_id)
{
	for (size_t i = 0; i < n; i++)
		if (host_id >= m[i].host_id && host_id - m[i].host_id < m[i].size)
			return true;
	return false;
}

int isc_exe_container_could_write(const struct isc_idmap *uids, size_t n_uids, const struct isc_idmap *gids,
				  size_t n_gids, bool *could, isc_error **err)
{
	struct stat st;
	if (stat("/proc/self/exe", &st) < 0)
		return isc_error_set(err, errno, "stat /proc/self/exe");
	if (n_uids == 0 || n_gids == 0) {
		*could = true; /* the host's user namespace */
		return 0;
	}
	*could = (st.st_mode & S_IWOTH) || mapped(uids, n_uids, st.st_uid) ||
		 ((st.st_mode & S_IWGRP) && mapped(gids, n_gids, st.st_gid));
	return 0;
}

/* "ID HOST SIZE" lines, as /proc/PID/uid_map prints them. */
static int parse_map(const char *text, struct isc_idmap *m, size_t *n, isc_error **err)
{
	*n = 0;
	for (const char *p = text; p && *p;) {
		unsigned long a, b, c;
		int used = 0;
		if (sscanf(p, " %lu %lu %lu%n", &a, &b, &c, &used) != 3)
			break;
		if (*n == MAX_MAP_LINES || a > UINT32_MAX || b > UINT32_MAX || c > UINT32_MAX)
			return isc_error_set(err, EINVAL, "id map: unexpected line \"%.40s\"", p);
		m[(*n)++] = (struct isc_idmap){ (uint32_t)a, (uint32_t)b, (uint32_t)c };
		p += used;
	}
	return 0;
}

int isc_exe_container_could_write_text(const char *uid_map, const char *gid_map, bool *could, isc_error **err)
{
	struct isc_idmap u[MAX_MAP_LINES], g[MAX_MAP_LINES];
	size_t nu = 0, ng = 0;
	if (parse_map(uid_map, u, &nu, err) < 0 || parse_map(gid_map, g, &ng, err) < 0)
		return -1;
	/* the host's user namespace maps every id onto itself: the binary's
	 * owner is mapped there, which gives the right answer (yes) */
	return isc_exe_container_could_write(u, nu, g, ng, could, err);
}

/* The command line as the kernel keeps it: NUL-separated. */
static char **self_argv(isc_error **err)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_read_file("/proc/self/cmdline", &text, &len, 1u << 20, err) < 0)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			n++;
	if (n == 0 || text[len - 1] != '\0') {
		isc_error_set(err, EINVAL, "/proc/self/cmdline: no command line");
		return NULL;
	}
	char **v = isc_xmalloc0((n + 1) * sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < len; i += strlen(text + i) + 1)
		v[k++] = isc_xstrdup(text + i);
	return v;
}

static int copy_all(int in, int out, off_t size)
{
	off_t off = 0;
	while (off < size) {
		ssize_t k = sendfile(out, in, &off, (size_t)(size - off));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -1 : (errno = EIO, -1);
	}
	return 0;
}

/* A sealed memfd with the bytes of /proc/self/exe. */
static int sealed_copy(isc_error **err)
{
	cleanup_close int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0)
		return isc_error_set(err, errno, "sealed copy of the binary: open /proc/self/exe");
	/* MFD_EXEC: executable even where vm.memfd_noexec makes that opt-in;
	 * kernels before 6.3 do not know the flag */
	cleanup_close int fd = memfd_create("isc-sealed-exe", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("isc-sealed-exe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return isc_error_set(err, errno, "sealed copy of the binary: memfd_create");
	if (copy_all(src, fd, st.st_size) < 0)
		return isc_error_set(err, errno, "sealed copy of the binary: copy");
	if (fchmod(fd, 0555) < 0)
		return isc_error_set(err, errno, "sealed copy of the binary: chmod");
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC); /* Linux 6.3: the mode stays */
	if (fcntl(fd, F_ADD_SEALS, BASE_SEALS) < 0)
		return isc_error_set(err, errno, "sealed copy of the binary: seal");
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & BASE_SEALS) != BASE_SEALS)
		return isc_error_set(err, errno, "sealed copy of the binary: the seals did not hold");
	return steal_fd(&fd);
}

/* overlayfs options: one layer at a time ("lowerdir+", Linux 6.8), else
 * the classic list, ':' and '\\' escaped */
static int set_layers(int ctx, const char *top, const char *bottom)
{
	if (fsconfig(ctx, FSCONFIG_SET_STRING, "lowerdir+", top, 0) == 0 &&
	    fsconfig(ctx, FSCONFIG_SET_STRING, "lowerdir+", bottom, 0) == 0)
		return 0;
	char list[2 * (PATH_MAX + 1) * 2];
	size_t k = 0;
	for (const char *layer = top; layer; layer = layer == top ? bottom : NULL) {
		if (layer == bottom)
			list[k++] = ':';
		for (const char *c = layer; *c; c++) {
			if (*c == ':' || *c == '\\')
				list[k++] = '\\';
			list[k++] = *c;
		}
	}
	list[k] = '\0';
	return fsconfig(ctx, FSCONFIG_SET_STRING, "lowerdir", list, 0);
}

/* The binary through a private read-only overlay (an O_PATH fd), or -1
 * (errno) when the kernel or the state directory does not allow one. */
static int overlay_view(const char *state_dir)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || state_dir == NULL)
		return errno = ENOENT, -1;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (exe[0] != '/' || slash == NULL || strstr(exe, " (deleted)"))
		return errno = ENOENT, -1;
	*slash = '\0';
	const char *dir = slash == exe ? "/" : exe;
	cleanup_free char *empty = isc_xasprintf("%s/.exeseal", state_dir);
	if (mkdir(empty, 0700) < 0 && errno != EEXIST)
		return -1;
	cleanup_close int ctx = fsopen("overlay", FSOPEN_CLOEXEC);
	if (ctx < 0 || set_layers(ctx, dir, empty) < 0)
		return -1;
	(void)fsconfig(ctx, FSCONFIG_SET_STRING, "xino", "off", 0); /* no dmesg noise */
	if (fsconfig(ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	cleanup_close int mnt = fsmount(ctx, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
	if (mnt < 0)
		return -1;
	return openat(mnt, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int isc_exe_reexec_sealed(const char *state_dir, isc_error **err)
{
	cleanup_strv char **argv = self_argv(err);
	if (argv == NULL)
		return -1;
	cleanup_close int fd = overlay_view(state_dir);
	if (fd < 0)
		fd = sealed_copy(err);
	if (fd < 0)
		return -1;
	fflush(NULL);
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	return isc_error_set(err, errno, "execute the sealed copy of the binary");
}
