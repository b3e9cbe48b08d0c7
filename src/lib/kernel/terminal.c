/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "kernel/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "base/util.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int isc_terminal_new_session(isc_error **err)
{
	if (setsid() < 0)
		return isc_error_set(err, errno, "setsid: a session of its own for the container's process");
	return 0;
}

int isc_terminal_setup(unsigned rows, unsigned cols, uid_t uid, int *master, isc_error **err)
{
	cleanup_close int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return isc_error_set(err, errno, "terminal: open /dev/ptmx");
	if (unlockpt(m) < 0)
		return isc_error_set(err, errno, "terminal: unlockpt");
	/* the peer through the master: no path lookup in the container's /dev */
	cleanup_close int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return isc_error_set(err, errno, "terminal: open the pty slave");
	if (fchown(s, uid, (gid_t)-1) < 0 && errno != EINVAL)
		return isc_error_set(err, errno, "terminal: chown the pty slave to %u", (unsigned)uid);
	if (rows && cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		if (ioctl(s, TIOCSWINSZ, &ws) < 0)
			return isc_error_set(err, errno, "process.consoleSize: TIOCSWINSZ");
	}
	if (setsid() < 0 && errno != EPERM)
		return isc_error_set(err, errno, "terminal: setsid");
	if (ioctl(s, TIOCSCTTY, 0) < 0)
		return isc_error_set(err, errno, "terminal: TIOCSCTTY");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(s, fd) < 0)
			return isc_error_set(err, errno, "terminal: dup2 the pty slave to fd %d", fd);
	*master = steal_fd(&m);
	return 0;
}

int isc_terminal_send_fd(int sock, int fd, const char *name, isc_error **err)
{
	char payload[256];
	size_t n = strlen(name);
	if (n >= sizeof(payload))
		n = sizeof(payload) - 1;
	memcpy(payload, name, n);
	payload[n] = '\0';
	struct iovec iov = { .iov_base = payload, .iov_len = n ? n : 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return isc_error_set(err, errno, "send the terminal's master fd");
	}
}

int isc_terminal_recv_fd(int sock, int *fd, isc_error **err)
{
	char payload[256];
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return isc_error_set(err, errno, "receive the terminal's master fd");
	*fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

int isc_terminal_send_console(const char *path, int master, isc_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return isc_error_set(err, ENAMETOOLONG, "--console-socket %s", path);
	strcpy(sa.sun_path, path);
	cleanup_close int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return isc_error_set(err, errno, "--console-socket %s: socket", path);
	int r;
	do
		r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return isc_error_set(err, errno, "--console-socket %s: connect", path);
	if (isc_terminal_send_fd(s, master, "/dev/ptmx", err) < 0)
		return isc_error_wrap(err, "--console-socket %s", path);
	return 0;
}

int isc_terminal_bind_console(int master, isc_error **err)
{
	unsigned int n = 0;
	if (ioctl(master, TIOCGPTN, &n) < 0)
		return isc_error_set(err, errno, "terminal: TIOCGPTN");
	char pts[32];
	snprintf(pts, sizeof(pts), "/dev/pts/%u", n);
	/* never follow a symlink the image may have put there */
	cleanup_close int fd = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		int c = open("/dev/console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (c < 0) {
			if (errno == EROFS || errno == EACCES || errno == EPERM)
				return 0; /* a read-only /dev from the image: no console to bind */
			return isc_error_set(err, errno, "terminal: create /dev/console");
		}
		close(c);
		fd = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return isc_error_set(err, errno, "terminal: open /dev/console");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "terminal: stat /dev/console");
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return isc_error_set(err, EINVAL, "terminal: /dev/console is neither a file nor a device");
	/* onto the fd itself: "/proc/self/fd/N" after pivot_root could be a
	 * file of the image's */
	cleanup_close int tree = open_tree(AT_FDCWD, pts, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0 || move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return isc_error_set(err, errno, "terminal: bind %s to /dev/console", pts);
	return 0;
}
