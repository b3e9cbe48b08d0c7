/* SPDX-License-Identifier: GPL-2.0-or-later
 * The stdio relay: see relay.h for why.
 *
 * prepare (runtime, before the process is forked): which of 0..2 to replace
 *   (relay.h: the mode); for each a pipe (foreground) or /dev/null
 *   (detached), moved above fd 2 so that a closed std fd cannot be taken by
 *   one of ours;
 * install (the new process, first thing): dup2 onto 0..2;
 * run (runtime, once the process has exec'd): one poll loop over the
 *   process's pidfd, the caller's stdin (only while nothing is buffered
 *   for the container) and the output pipes.  The stdin pipe is
 *   non-blocking, so a container that does not read can never stop the
 *   output from being copied; the caller's own fds stay as they are (they
 *   are shared with the caller's shell: never made non-blocking).  Once the
 *   process has exited, what it wrote is already in the pipes: read what
 *   they hold at that moment (FIONREAD, once) and stop.  Never "until
 *   EAGAIN": a child it left behind may keep the pipe open and full, and
 *   the relay would never end (nor report the exit status).
 * pty (isc exec -t): the same loop with the master as both pipes.  A pty
 *   hands what the process wrote to the master asynchronously (the kernel's
 *   flip buffer), so FIONREAD at the exit may miss the last bytes: copy
 *   until every slave is closed (EIO: the usual end), a 100 ms silence, or
 *   1 MiB / 1 s after the exit, whichever comes first (a
 *   child left behind that keeps writing does not hold the relay). */
#include "runtime/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define RELAY_PIPE_SIZE (1 << 20) /* output written before `run` starts copying */
#define PTY_DRAIN_BYTES (1 << 20) /* after the exit: at most this much more ... */
#define PTY_DRAIN_MS 1000	  /* ... for at most this long ... */
#define PTY_QUIET_MS 100	  /* ... and only while the master is not silent this long */

/* fd moved to 3 or above (O_CLOEXEC); -1 with errno on failure. */
static int above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	errno = e;
	return n;
}

static int relay_pipe(int *rd, int *wr, isc_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return isc_error_set(err, errno, "stdio relay: pipe");
	p[0] = above_stdio(p[0]);
	p[1] = above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0) {
		int e = errno;
		isc_closep(&p[0]);
		isc_closep(&p[1]);
		return isc_error_set(err, e, "stdio relay: pipe");
	}
	*rd = p[0];
	*wr = p[1];
	return 0;
}

/* One object (a terminal, a file, a pipe): one pipe for both, in order. */
static bool same_object(int a, int b)
{
	struct stat sa, sb;
	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return false;
	if (S_ISCHR(sa.st_mode) && S_ISCHR(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Something the process could reopen through /proc/self/fd/N as a host
 * object: everything but an anonymous pipe and a socket. */
static bool host_object(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || S_ISSOCK(st.st_mode))
		return false;
	if (S_ISFIFO(st.st_mode)) {
		struct statfs sf;
		return fstatfs(fd, &sf) < 0 || sf.f_type != PIPEFS_MAGIC; /* a named FIFO */
	}
	return true;
}

static bool to_replace(int fd, enum isc_relay_mode mode)
{
	if (fcntl(fd, F_GETFD) < 0)
		return false; /* closed: stays closed */
	switch (mode) {
	case ISC_RELAY_ALL:
		return true;
	case ISC_RELAY_FOREGROUND:
		return host_object(fd);
	case ISC_RELAY_DETACHED:
		break;
	}
	return isatty(fd) == 1;
}

/* A null device of its own for a detached process's stdio, never the
 * host's /dev/null: a container without a user namespace runs as root, the
 * owner of that inode, and could fchmod or fchown /proc/self/fd/0 for every
 * user of the host.  A character device 1:3 made in a tmpfs attached
 * nowhere (it goes with the last fd; nothing leads from the device back to
 * its directory).  Where it cannot be made (no CAP_SYS_ADMIN or CAP_MKNOD:
 * a rootless runtime, whose containers cannot own the host's node anyway),
 * the host's. */
static int private_null(void)
{
	cleanup_close int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);
	cleanup_close int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (mnt < 0 || mknodat(mnt, "null", S_IFCHR | 0666, makedev(1, 3)) < 0)
		return open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);
	return openat(mnt, "null", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
}

static int prepare_detached(struct isc_relay *r, const bool tty[3], isc_error **err)
{
	static const char *const names[] = { "stdin", "stdout", "stderr" };
	for (int i = 0; i < 3; i++) {
		if (!tty[i])
			continue;
		r->child[i] = above_stdio(private_null());
		if (r->child[i] < 0)
			return isc_error_set(err, errno, "stdio: open /dev/null for %s", names[i]);
		isc_warn("%s is a terminal: a detached container gets /dev/null in its place "
			 "(a container never holds the caller's terminal; use a console socket for one)",
			 names[i]);
	}
	return 0;
}

static int prepare_pipes(struct isc_relay *r, const bool tty[3], isc_error **err)
{
	if (tty[0]) {
		if (relay_pipe(&r->child[0], &r->to_child, err) < 0)
			return -1;
		if (fcntl(r->to_child, F_SETFL, O_NONBLOCK) < 0)
			return isc_error_set(err, errno, "stdio relay: O_NONBLOCK");
	}
	for (int i = 1; i < 3; i++) {
		if (!tty[i])
			continue;
		if (i == 2 && tty[1] && same_object(1, 2)) {
			/* one pipe for both: what the process wrote stays in order */
			r->child[2] = fcntl(r->child[1], F_DUPFD_CLOEXEC, 3);
			if (r->child[2] < 0)
				return isc_error_set(err, errno, "stdio relay: dup");
			continue;
		}
		if (relay_pipe(&r->from_child[i], &r->child[i], err) < 0)
			return -1;
		if (fcntl(r->from_child[i], F_SETFL, O_NONBLOCK) < 0)
			return isc_error_set(err, errno, "stdio relay: O_NONBLOCK");
		(void)fcntl(r->from_child[i], F_SETPIPE_SZ, RELAY_PIPE_SIZE); /* best effort */
	}
	r->active = true;
	return 0;
}

int isc_relay_prepare(struct isc_relay *r, enum isc_relay_mode mode, isc_error **err)
{
	*r = (struct isc_relay)ISC_RELAY_INIT;
	bool tty[3], any = false;
	for (int i = 0; i < 3; i++) {
		tty[i] = to_replace(i, mode);
		any |= tty[i];
	}
	if (!any)
		return 0; /* nothing to replace: passed as they are */
	int ret = mode != ISC_RELAY_DETACHED ? prepare_pipes(r, tty, err) : prepare_detached(r, tty, err);
	if (ret < 0)
		isc_relay_clear(r);
	return ret;
}

int isc_relay_install(const struct isc_relay *r)
{
	for (int i = 0; i < 3; i++)
		if (r->child[i] >= 0 && dup2(r->child[i], i) < 0)
			return -1;
	return 0;
}

void isc_relay_close_child(struct isc_relay *r)
{
	for (int i = 0; i < 3; i++)
		isc_closep(&r->child[i]);
}

int isc_relay_pty(struct isc_relay *r, int master, bool interactive, isc_error **err)
{
	*r = (struct isc_relay)ISC_RELAY_INIT;
	r->pty = master;
	/* ours alone: non-blocking, so that a CMD that does not read cannot stop its output */
	if (fcntl(master, F_SETFL, O_NONBLOCK) < 0 || (r->from_child[1] = fcntl(master, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (interactive && (r->to_child = fcntl(master, F_DUPFD_CLOEXEC, 3)) < 0)) {
		int e = errno;
		isc_relay_clear(r);
		return isc_error_set(err, e, "terminal relay: the pty master");
	}
	r->active = true;
	return 0;
}

void isc_relay_clear(struct isc_relay *r)
{
	isc_relay_close_child(r);
	isc_closep(&r->to_child);
	for (int i = 0; i < 3; i++)
		isc_closep(&r->from_child[i]);
	isc_closep(&r->pty);
	r->active = false;
}

/* The caller's input, on its way into the stdin pipe. */
struct in_buf {
	char data[4096];
	size_t off, len;
	bool open; /* the caller's stdin is still read */
};

/* The first failure that loses output, for isc_relay_run's result. */
static void lost(struct isc_relay *r, int e, const char *what)
{
	if (r->lost == 0) {
		r->lost = e;
		r->lost_what = what;
	}
}

/* Write to the caller's fd i.  A reader that went away (EPIPE: `| head`,
 * a closed terminal) ends the copy quietly, as a program's own write
 * would; any other failure (a full disk) loses output and says so. */
static bool to_caller(struct isc_relay *r, int i, const char *buf, size_t n, bool *caller_ok)
{
	if (caller_ok[i] && isc_write_all(i, buf, n) < 0) {
		caller_ok[i] = false;
		if (errno != EPIPE && errno != EIO)
			lost(r, errno,
			     i == 1 ? "write the container's stdout to the caller's stdout"
				    : "write the container's stderr to the caller's stderr");
		/* nobody reads on: close the container's side, so that its
		 * writer sees EPIPE (SIGPIPE) as it would without the relay
		 * (`isc exec NAME yes | head -2` ends) */
		isc_closep(&r->from_child[i]);
		return false;
	}
	return true;
}

/* One read of output pipe i, written to the caller's fd i; false at EOF,
 * when nothing was there, or when the caller's reader went. */
static bool copy_out(struct isc_relay *r, int i, bool *caller_ok)
{
	char buf[16384];
	ssize_t n = read(r->from_child[i], buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		if (n < 0 && !(r->pty >= 0 && errno == EIO)) /* a pty's EIO: every slave closed */
			lost(r, errno, i == 1 ? "read the container's stdout" : "read the container's stderr");
		isc_closep(&r->from_child[i]);
		return false;
	}
	if (n < 0)
		return false;
	return to_caller(r, i, buf, (size_t)n, caller_ok);
}

static void read_input(struct in_buf *in)
{
	ssize_t n = read(STDIN_FILENO, in->data, sizeof(in->data));
	if (n > 0) {
		in->off = 0;
		in->len = (size_t)n;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		in->open = false; /* EOF (or a hung-up terminal): the container sees EOF */
	}
}

static void write_input(struct isc_relay *r, struct in_buf *in, short revents)
{
	if (in->len > 0 && (revents & POLLOUT)) {
		ssize_t n = write(r->to_child, in->data + in->off, in->len);
		if (n > 0) {
			in->off += (size_t)n;
			in->len -= (size_t)n;
			return;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
	} else if (!(revents & (POLLERR | POLLHUP))) {
		return;
	}
	/* the container closed its stdin: stop taking the caller's input */
	in->open = false;
	in->len = 0;
	isc_closep(&r->to_child);
}

/* What pipe i holds now, copied to the caller; what is written after this
 * (by a child the process left behind) is not waited for. */
static void drain_out(struct isc_relay *r, int i, bool *caller_ok)
{
	int avail = 0;
	if (r->from_child[i] < 0 || ioctl(r->from_child[i], FIONREAD, &avail) < 0)
		return;
	char buf[16384];
	size_t left = (size_t)avail;
	while (left > 0) {
		ssize_t n = read(r->from_child[i], buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			lost(r, errno, i == 1 ? "read the container's stdout" : "read the container's stderr");
		if (n <= 0)
			break;
		left -= (size_t)n;
		if (!to_caller(r, i, buf, (size_t)n, caller_ok))
			break;
	}
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* After the exit, the master (see above): bounded in bytes and time. */
static void drain_pty(struct isc_relay *r, bool *caller_ok)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char buf[16384];
	size_t copied = 0;
	while (r->from_child[1] >= 0 && copied < PTY_DRAIN_BYTES) {
		long left = PTY_DRAIN_MS - ms_since(&t0);
		if (left <= 0)
			break;
		struct pollfd p = { .fd = r->from_child[1], .events = POLLIN };
		int k = poll(&p, 1, left < PTY_QUIET_MS ? (int)left : PTY_QUIET_MS);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* silence */
		size_t want = PTY_DRAIN_BYTES - copied;
		ssize_t n = read(r->from_child[1], buf, want < sizeof(buf) ? want : sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break; /* EIO: every slave closed */
		copied += (size_t)n;
		if (!to_caller(r, STDOUT_FILENO, buf, (size_t)n, caller_ok))
			break;
	}
}

/* The caller's window size onto the pty, now and at each SIGWINCH. */
static void copy_winsize(const struct isc_relay *r)
{
	struct winsize ws;
	int term = isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO;
	if (ioctl(term, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		(void)ioctl(r->pty, TIOCSWINSZ, &ws);
}

static int winch_fd(const struct isc_relay *r)
{
	if (r->pty < 0)
		return -1;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	copy_winsize(r);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void on_winch(const struct isc_relay *r, int sfd)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	copy_winsize(r);
}

int isc_relay_run(struct isc_relay *r, int pidfd, isc_error **err)
{
	if (!r->active)
		return 0;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	bool caller_ok[3] = { true, true, true };
	struct in_buf in = { .open = r->to_child >= 0 };
	cleanup_close int sfd = winch_fd(r);
	int ret = 0;
	for (;;) {
		if (!in.open && in.len == 0)
			isc_closep(&r->to_child); /* everything delivered: EOF */
		struct pollfd p[6];
		int n = 0, at_in = -1, at_to = -1, at_out[3] = { -1, -1, -1 }, at_winch = -1;
		p[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		if (sfd >= 0) {
			at_winch = n;
			p[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		}
		if (in.open && in.len == 0) {
			at_in = n;
			p[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		}
		if (r->to_child >= 0) {
			at_to = n; /* with no events: POLLERR once the container closed its end */
			p[n++] = (struct pollfd){ .fd = r->to_child, .events = in.len ? POLLOUT : 0 };
		}
		for (int i = 1; i < 3; i++) {
			if (r->from_child[i] >= 0) {
				at_out[i] = n;
				p[n++] = (struct pollfd){ .fd = r->from_child[i], .events = POLLIN };
			}
		}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue; /* a forwarded signal */
			ret = isc_error_set(err, errno, "stdio relay: poll");
			break;
		}
		for (int i = 1; i < 3; i++)
			if (at_out[i] >= 0 && p[at_out[i]].revents)
				copy_out(r, i, caller_ok);
		if (at_in >= 0 && p[at_in].revents)
			read_input(&in);
		if (at_to >= 0 && p[at_to].revents)
			write_input(r, &in, p[at_to].revents);
		if (at_winch >= 0 && p[at_winch].revents)
			on_winch(r, sfd);
		if (p[0].revents)
			break; /* the process exited */
	}
	/* what the process wrote before it exited, and no more */
	if (r->pty >= 0)
		drain_pty(r, caller_ok);
	for (int i = 1; i < 3; i++) {
		if (r->pty < 0)
			drain_out(r, i, caller_ok);
		isc_closep(&r->from_child[i]);
	}
	isc_closep(&r->to_child);
	sigaction(SIGPIPE, &old, NULL);
	if (ret == 0 && r->lost != 0)
		ret = isc_error_set(err, r->lost, "stdio relay: %s", r->lost_what);
	return ret;
}
