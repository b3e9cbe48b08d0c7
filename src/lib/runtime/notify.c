/* SPDX-License-Identifier: GPL-2.0-or-later
 * NOTIFY_SOCKET (sd_notify): the container gets a directory of its own,
 * read-only to it, at ISC_NOTIFY_DIR_RUN (on the config's /run tmpfs) or
 * ISC_NOTIFY_DIR_DEV (on the /dev tmpfs): a place where the mount point can
 * be made even with a read-only root.  create makes <state>/<id>/notify
 * and a detached read-only tree of it that the init mounts there
 * (isc_notify_prepare, init.c); start binds the socket in it before it
 * releases the init (isc_notify_bind) and forwards to the caller's socket,
 * not what the service wrote, but the runtime's own READY=1 and MAINPID
 * once the service said READY=1 (isc_notify_forward).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "runtime/container-internal.h"

#define ISC_NOTIFY_DIR_RUN "/run/isc-notify"
#define ISC_NOTIFY_DIR_DEV "/dev/.isc-notify"
#define ISC_NOTIFY_SOCK "notify.sock"

/* Where the container finds the socket: on the config's /run when it
 * mounts a tmpfs there, else on the /dev tmpfs. */
const char *isc_notify_dir(const struct isc_spec *spec)
{
	const char *notify_dir = ISC_NOTIFY_DIR_DEV;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (strcmp(spec->mounts[i].destination, "/run") == 0 && spec->mounts[i].type &&
		    strcmp(spec->mounts[i].type, "tmpfs") == 0)
			notify_dir = ISC_NOTIFY_DIR_RUN;
	return notify_dir;
}

/* The container's NOTIFY_SOCKET names the socket in its own view. */
static void notify_env(struct isc_process *proc, const char *notify_dir)
{
	size_t n = isc_strvlen(proc->env);
	char **env = isc_xmalloc0((n + 2) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(proc->env[i], "NOTIFY_SOCKET=", 14) == 0)
			free(proc->env[i]);
		else
			env[k++] = proc->env[i];
	}
	env[k++] = isc_xasprintf("NOTIFY_SOCKET=%s/%s", notify_dir, ISC_NOTIFY_SOCK);
	free(proc->env);
	proc->env = env;
}

/* create: <state>/<id>/notify and a detached, read-only tree of it for the
 * init to mount at notify_dir (*tree_fd); the process's environment names
 * the socket there. */
int isc_notify_prepare(const struct isc_state_dir *d, struct isc_spec *spec, const char *notify_dir, int *tree_fd,
		       isc_error **err)
{
	if (mkdirat(d->dir_fd, "notify", 0711) < 0 || fchmodat(d->dir_fd, "notify", 0711, 0) < 0)
		return isc_error_set(err, errno, "NOTIFY_SOCKET: create %s/%s/notify", d->root, d->id);
	*tree_fd = open_tree(d->dir_fd, "notify", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (*tree_fd < 0)
		return isc_error_set(err, errno, "NOTIFY_SOCKET: open_tree");
	/* Read-only for the container: without a user namespace its root
	 * would own this host directory (in the runtime's state root, the
	 * host's /run by default) and could fill it, squat the socket's name
	 * before `start`, or leave what `delete` had to walk.  Sending to a
	 * socket needs no writable mount. */
	struct mount_attr ro = { .attr_set =
					 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	if (mount_setattr(*tree_fd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return isc_error_set(err, errno, "NOTIFY_SOCKET: make the mount read-only");
	notify_env(&spec->process, notify_dir);
	return 0;
}

/* The container's end of the sd_notify proxy: <state>/<id>/notify/notify.sock,
 * seen in the container as ISC_NOTIFY_DIR/ISC_NOTIFY_SOCK. */
int isc_notify_bind(const struct isc_state_dir *d, isc_error **err)
{
	cleanup_close int dfd = openat(d->dir_fd, "notify", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return isc_error_set(err, errno, "NOTIFY_SOCKET: open %s/%s/notify", d->root, d->id);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return isc_error_set(err, errno, "NOTIFY_SOCKET: socket");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	/* bind through /proc/self/fd: the state path may be longer than sun_path */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, ISC_NOTIFY_SOCK);
	unlinkat(dfd, ISC_NOTIFY_SOCK, 0);
	/* mode 0777 (the container's root is not ours) from the bind itself:
	 * never a chmod through a name (the folder is read-only to the
	 * container, but a chmod by name would follow a symlink) */
	mode_t old_umask = umask(0);
	int b = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (b < 0) {
		int e = errno;
		close(fd);
		return isc_error_set(err, e, "NOTIFY_SOCKET: bind %s/%s/notify/%s", d->root, d->id, ISC_NOTIFY_SOCK);
	}
	return fd;
}

/* The sd_notify proxy.  It runs as root and the caller's socket trusts what
 * it is told (systemd: MAINPID= picks the process it watches and kills,
 * EXTEND_TIMEOUT_USEC= holds off its timeouts, FDSTORE= keeps fds): nothing
 * the container wrote is forwarded.  Its datagrams are read (fds sent with
 * them are closed by the kernel: recv() takes no control data) until one
 * holds a line READY=1, or the init exits; then the runtime sends its own
 * "READY=1\nMAINPID=<init pid>\n" (runc sends the same two lines).  Best
 * effort: a caller that went away does not fail start.  Bounded: 90 s
 * (systemd's default start timeout) or ISC_RUNTIME_WAIT_SECONDS; then a
 * warning, and start ends (the container runs; the caller's timeout acts). */
void isc_notify_forward(int fd, int pidfd, pid_t mainpid, const char *to)
{
	int bound = getenv("ISC_RUNTIME_WAIT_SECONDS") ? isc_wait_bound_ms() : 90 * 1000;
	uint64_t deadline = isc_now_ns() + (uint64_t)bound * 1000000ull;
	struct sockaddr_un dst = { .sun_family = AF_UNIX };
	if (strlen(to) >= sizeof(dst.sun_path))
		return;
	memcpy(dst.sun_path, to, strlen(to) + 1);
	char buf[4096 + 1];
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		uint64_t now = isc_now_ns();
		int pr = isc_poll_within(p, pidfd >= 0 ? 2 : 1,
					 now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1);
		if (pr == 0)
			isc_warn(
				"start: NOTIFY_SOCKET: no READY=1 from the container within %d s: not forwarded (the container "
				"runs)",
				bound / 1000);
		if (pr <= 0)
			return;
		if (p[0].revents & POLLIN) {
			ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
			if (n <= 0)
				continue;
			buf[n] = '\0';
			/* READY=1 on a line of its own */
			for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
				if (strncmp(l, "READY=1", 7) == 0 && (l[7] == '\n' || l[7] == '\0')) {
					char msg[64];
					int len = snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d\n", (int)mainpid);
					cleanup_close int out = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
					if (out >= 0)
						(void)sendto(out, msg, (size_t)len, MSG_NOSIGNAL,
							     (struct sockaddr *)&dst, sizeof(dst));
					return;
				}
			continue;
		}
		if (p[1].revents & POLLIN)
			return; /* the service died before it was ready */
	}
}
