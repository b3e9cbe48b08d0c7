/* SPDX-License-Identifier: GPL-2.0-or-later
 * The stdio relay: see relay.h for why.
 *
 * prepare (runtime, before the process is forked): isatty() on 0..2; for
 *   each terminal a pipe (foreground) or /dev/null (detached), moved above
 *   fd 2 so that a closed std fd cannot be taken by one of ours;
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
 *   the relay would never end (nor report the exit status). */
#include "runtime/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define RELAY_PIPE_SIZE (1 << 20) /* output written before `run` starts copying */

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

static bool same_terminal(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && S_ISCHR(sa.st_mode) && S_ISCHR(sb.st_mode) &&
	       sa.st_rdev == sb.st_rdev;
}

static int prepare_detached(struct isc_relay *r, const bool tty[3], isc_error **err)
{
	static const char *const names[] = { "stdin", "stdout", "stderr" };
	for (int i = 0; i < 3; i++) {
		if (!tty[i])
			continue;
		r->child[i] = above_stdio(open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC));
		if (r->child[i] < 0)
			return isc_error_set(err, errno, "stdio: open /dev/null for %s", names[i]);
		isc_warn("%s is a terminal: a detached container gets /dev/null in its place "
			 "(a container never holds the caller's terminal; use a console socket for one)", names[i]);
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
		if (i == 2 && tty[1] && same_terminal(1, 2)) {
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

int isc_relay_prepare(struct isc_relay *r, bool foreground, isc_error **err)
{
	*r = (struct isc_relay)ISC_RELAY_INIT;
	bool tty[3], any = false;
	for (int i = 0; i < 3; i++) {
		tty[i] = isatty(i) == 1;
		any |= tty[i];
	}
	if (!any)
		return 0; /* pipes and files: passed as they are */
	int ret = foreground ? prepare_pipes(r, tty, err) : prepare_detached(r, tty, err);
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

void isc_relay_clear(struct isc_relay *r)
{
	isc_relay_close_child(r);
	isc_closep(&r->to_child);
	for (int i = 0; i < 3; i++)
		isc_closep(&r->from_child[i]);
	r->active = false;
}

/* The caller's input, on its way into the stdin pipe. */
struct in_buf {
	char data[4096];
	size_t off, len;
	bool open; /* the caller's stdin is still read */
};

/* One read of output pipe i, written to the caller's fd i; false at EOF or
 * when nothing was there. */
static bool copy_out(struct isc_relay *r, int i, bool *caller_ok)
{
	char buf[16384];
	ssize_t n = read(r->from_child[i], buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		isc_closep(&r->from_child[i]);
		return false;
	}
	if (n < 0)
		return false;
	/* a caller's terminal that went away: keep reading, drop the output */
	if (caller_ok[i] && isc_write_all(i, buf, (size_t)n) < 0)
		caller_ok[i] = false;
	return true;
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
		if (n <= 0)
			break;
		left -= (size_t)n;
		if (caller_ok[i] && isc_write_all(i, buf, (size_t)n) < 0)
			caller_ok[i] = false;
	}
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
	int ret = 0;
	for (;;) {
		if (!in.open && in.len == 0)
			isc_closep(&r->to_child); /* everything delivered: EOF */
		struct pollfd p[5];
		int n = 0, at_in = -1, at_to = -1, at_out[3] = { -1, -1, -1 };
		p[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
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
		if (p[0].revents)
			break; /* the process exited */
	}
	/* what the process wrote before it exited, and no more */
	for (int i = 1; i < 3; i++) {
		drain_out(r, i, caller_ok);
		isc_closep(&r->from_child[i]);
	}
	isc_closep(&r->to_child);
	sigaction(SIGPIPE, &old, NULL);
	return ret;
}
