/* SPDX-License-Identifier: GPL-2.0-or-later
 * linux.sysctl, in two halves.  The keys of the container's network, IPC
 * and UTS namespaces are written by its init through the procfs it mounted
 * (isc_container_init_sysctls, after pivot_root).  The keys held by a pid
 * namespace (vm.memfd_noexec) only the host's root may write, from inside
 * that namespace: a helper of the runtime enters it before the container's
 * program runs (isc_container_pid_sysctls).  Every write goes to a file of
 * a procfs, opened without following a symlink.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/sync.h"
#include "base/util.h"
#include "kernel/rootfs.h"
#include "runtime/container-internal.h"
#include "runtime/exec.h"

/* One sysctl, into the container's procfs and nowhere else: the file is
 * opened without following a symlink and must be on procfs (a bind over
 * /proc/sys/... would take the write elsewhere: runc CVE-2025-52881).
 * `path` is "/proc/sys/..."; with a procfs fd `proc` it is opened relative
 * to that procfs (the init's own, not whatever "/proc" names now). */
static int write_sysctl(int proc, const char *path, const char *v, isc_error **err)
{
	const char *rel = proc == AT_FDCWD ? path : path + strlen("/proc/");
	cleanup_close int fd = openat(proc, rel, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", path);
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return isc_error_set(err, errno, "statfs %s", path);
	if (sf.f_type != PROC_SUPER_MAGIC)
		return isc_error_set(err, 0, "%s is not a file of the container's procfs", path);
	ssize_t n = write(fd, v, strlen(v));
	if (n != (ssize_t)strlen(v))
		return isc_error_set(err, n < 0 ? errno : EIO, "write %s", path);
	return 0;
}

/* The init's part of linux.sysctl: the keys of its network, IPC and UTS
 * namespaces, through its own procfs.  The pid namespace's keys are the
 * runtime's (isc_container_pid_sysctls below). */
int isc_container_init_sysctls(const struct isc_rootfs_guard *g, const struct isc_spec *spec, isc_error **err)
{
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		if (isc_sysctl_namespace(spec->sysctl[i].key) == CLONE_NEWPID)
			continue;
		int proc = isc_rootfs_proc_fd(g, err);
		if (proc < 0)
			return isc_error_wrap(err, "linux.sysctl \"%s\"", spec->sysctl[i].key);
		cleanup_free char *path = isc_sysctl_path(spec->sysctl[i].key);
		const char *v = spec->sysctl[i].value;
		if (write_sysctl(proc, path, v, err) < 0)
			return isc_error_wrap(err, "linux.sysctl \"%s\"", spec->sysctl[i].key);
	}
	return 0;
}

static bool has_pid_sysctls(const struct isc_spec *spec)
{
	for (size_t i = 0; i < spec->n_sysctl; i++)
		if (isc_sysctl_namespace(spec->sysctl[i].key) == CLONE_NEWPID)
			return true;
	return false;
}

/* In the helper, inside the container's pid namespace: write its keys. */
static int write_pid_sysctls(const struct isc_spec *spec, isc_error **err)
{
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		if (isc_sysctl_namespace(spec->sysctl[i].key) != CLONE_NEWPID)
			continue;
		cleanup_free char *path = isc_sysctl_path(spec->sysctl[i].key);
		if (write_sysctl(AT_FDCWD, path, spec->sysctl[i].value, err) < 0)
			return isc_error_wrap(err, "linux.sysctl \"%s\"", spec->sysctl[i].key);
	}
	return 0;
}

static int wait_status(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* Runtime side, before the container's program runs: the linux.sysctl keys
 * held by the pid namespace of the init `pid` (vm.memfd_noexec).  The
 * kernel applies such a write to the pid namespace of the task that makes
 * it, and lets only the host's root make it (the file is root's 0644, with
 * no namespace's permission hook as net.* has): the container's root, an
 * unprivileged host id, can neither set nor lower it.  So a helper of the
 * runtime enters the namespace (setns, then fork: only children enter)
 * and writes it there through the runtime's procfs.  Only into a pid
 * namespace below the runtime's, never its own or the machine's (a pid
 * reused after the init died): that write would change the host's. */
int isc_container_pid_sysctls(const struct isc_spec *spec, pid_t pid, isc_error **err)
{
	if (!has_pid_sysctls(spec))
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	cleanup_close int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return isc_error_set(err, errno, "linux.sysctl: the init's pid namespace (%s)", path);
	/* NS_GET_PARENT answers only for a namespace strictly below ours
	 * (EPERM for ours and the ones above it) */
	cleanup_close int parent = ioctl(nsfd, NS_GET_PARENT);
	if (parent < 0)
		return isc_error_set(err, errno,
				     "linux.sysctl: the init %d is not in a pid namespace below the "
				     "runtime's: the write would change the host's",
				     (int)pid);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return isc_error_set(err, errno, "linux.sysctl: socketpair");
	cleanup_close int parent_end = sv[0];
	cleanup_close int child_end = sv[1];
	pid_t helper = fork();
	if (helper < 0)
		return isc_error_set(err, errno, "linux.sysctl: fork");
	if (helper == 0) {
		isc_error *e = NULL;
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		pid_t writer = -1;
		if (isc_container_nondumpable(&e) < 0)
			writer = -1;
		else if (setns(nsfd, CLONE_NEWPID) < 0)
			isc_error_set(&e, errno, "linux.sysctl: enter %s", path);
		else if ((writer = fork()) < 0) /* the child is in the container's pid namespace */
			isc_error_set(&e, errno, "linux.sysctl: fork in the pid namespace");
		if (writer < 0) {
			isc_sync_send_error(child_end, e);
			_exit(1);
		}
		if (writer == 0) {
			if (isc_container_nondumpable(&e) < 0 || write_pid_sysctls(spec, &e) < 0) {
				isc_sync_send_error(child_end, e);
				_exit(1);
			}
			_exit(0);
		}
		int st = wait_status(writer);
		_exit(st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 2);
	}
	isc_closep(&child_end);
	int st = wait_status(helper);
	if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
	    isc_sync_recv(parent_end, ISC_SYNC_ERROR, NULL, err) < 0)
		return -1;
	return isc_error_set(err, EIO, "linux.sysctl: the helper in the pid namespace failed (status %d)", st);
}
