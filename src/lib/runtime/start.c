/* SPDX-License-Identifier: GPL-2.0-or-later
 * start: the link from `isc-runtime start` to the init's execve is
 * exec.fifo in the state directory.  create left the init blocked in
 * open(exec.fifo, O_WRONLY) (init.c, wait_start_and_exec), which a FIFO
 * completes only when a reader opens the other end.  start:
 *
 *   start_check       the container is `created` and its init is the
 *                     process the state names (pidfd)
 *   isc_notify_bind   NOTIFY_SOCKET: bound before the init is released
 *   wait_released     opens exec.fifo for reading: the init's open
 *                     returns, it writes one byte, which we read
 *   wait_exec         the init keeps its end open through the
 *                     startContainer hooks until its execve closes it
 *                     (O_CLOEXEC): EOF means the user's program runs
 *   unlink exec.fifo  from now on the status is `running` (state.c derives
 *                     it from the fifo being gone: no state rewrite)
 *   isc_notify_forward, poststart hooks (failures are warnings)
 *
 * Both waits are bounded (the init's steps, not its lifetime); the second
 * spans the startContainer hooks, the init's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "runtime/container-internal.h"
#include "runtime/exec.h"
#include "runtime/hooks.h"

static int start_check(const struct isc_state_handle *h, const char *id, isc_error **err)
{
	enum isc_status s = h->status;
	if (s == ISC_STATUS_CREATED)
		return 0;
	if (s == ISC_STATUS_STOPPED && isc_state_unseen_errno() != 0)
		return isc_error_set(err, isc_state_unseen_errno(),
				     "start container %s: read /proc/%d/stat of its init", id, (int)h->st.pid);
	if (s == ISC_STATUS_STOPPED)
		return isc_error_set(err, 0, "cannot start a container that has stopped");
	return isc_error_set(err, 0, "cannot start container %s: it is %s, not created", id, isc_status_name(s));
}

static int start_pidfd(const struct isc_state_handle *h, const char *id, isc_error **err)
{
	int pidfd = isc_container_pidfd_open(&h->st);
	if (pidfd >= 0)
		return pidfd;
	if (errno == ESRCH)
		return isc_error_set(err, 0, "cannot start a container that has stopped");
	return isc_error_set(err, errno, "start container %s: look at its init %d (pidfd_open, /proc/%d/stat)", id,
			     (int)h->st.pid, (int)h->st.pid);
}

/* The saved config (for its hooks); NULL without one or when it does not
 * parse (the container was created from it: nothing to report here). */
static struct isc_spec *saved_spec(const struct isc_state_handle *h)
{
	cleanup_error isc_error *e = NULL;
	cleanup_free char *text = NULL;
	struct isc_spec *spec = NULL;
	size_t len = 0;
	if (!h->st.hooks_saved || isc_read_file_at(h->d.dir_fd, "config.json", &text, &len, 0, &e) < 0 ||
	    isc_spec_parse(text, len, &spec, &e) < 0)
		return NULL;
	return spec;
}

/* Until the init has opened its end and written: it is released. */
static int wait_released(int fifo, int pidfd, int bound, const char *root, const char *id, isc_error **err)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = fifo, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		int pr = isc_poll_within(p, 2, bound);
		if (pr < 0)
			return isc_error_set(err, errno, "wait for the container init on %s/%s/exec.fifo", root, id);
		if (pr == 0)
			return isc_error_set(err, 0,
					     "wait for the container init on %s/%s/exec.fifo: nothing within %d s",
					     root, id, bound / 1000);
		if (p[0].revents & POLLIN) {
			char c;
			if (read(fifo, &c, 1) == 1)
				return 0;
		}
		if (p[1].revents & POLLIN)
			return isc_error_set(err, 0, "container init exited before start");
	}
}

/* Released.  The init keeps its end open until its execve (or its death)
 * closes it: EOF means the user's program runs. */
static int wait_exec(int fifo, int exec_bound, const char *root, const char *id, isc_error **err)
{
	uint64_t exec_deadline = isc_now_ns() + (uint64_t)exec_bound * 1000000ull;
	for (;;) {
		struct pollfd p = { .fd = fifo, .events = POLLIN };
		uint64_t now = isc_now_ns();
		int left = now >= exec_deadline ? 0 : (int)((exec_deadline - now) / 1000000ull) + 1;
		int pr = isc_poll_within(&p, 1, left);
		if (pr < 0)
			return isc_error_set(err, errno, "wait for the container init's exec (%s/%s/exec.fifo)", root,
					     id);
		if (pr == 0)
			return isc_error_set(
				err, 0, "wait for the container init's exec (%s/%s/exec.fifo): not done within %d s",
				root, id, exec_bound / 1000);
		char c;
		ssize_t n = read(fifo, &c, 1);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return isc_error_set(err, errno, "wait for the container init's exec");
	}
}

/* poststart hooks: a failure is a warning (isc_hooks_run logs it), the
 * container runs */
static void poststart(const struct isc_state_handle *h)
{
	cleanup_spec struct isc_spec *spec = saved_spec(h);
	if (spec == NULL || spec->n_hooks[ISC_HOOK_POSTSTART] == 0)
		return;
	cleanup_error isc_error *e = NULL;
	cleanup_free char *sj = isc_state_oci_json(&h->st, ISC_STATUS_RUNNING);
	(void)isc_hooks_run(spec, ISC_HOOK_POSTSTART, sj, &e);
}

int isc_container_start(const struct isc_context *ctx, const char *id, isc_error **err)
{
	cleanup_state_handle struct isc_state_handle h;
	if (isc_state_open(ctx->root, id, ISC_STATE_EXCLUSIVE, &h, err) < 0 || start_check(&h, id, err) < 0)
		return -1;
	cleanup_close int pidfd = start_pidfd(&h, id, err);
	if (pidfd < 0)
		return -1;
	/* NOTIFY_SOCKET: bound before the init is released, so nothing the
	 * service sends can be lost */
	cleanup_close int notify = -1;
	if (h.st.notify_socket && (notify = isc_notify_bind(&h.d, err)) < 0)
		return -1;
	cleanup_close int fifo = openat(h.d.dir_fd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0)
		return isc_error_set(err, errno, "open exec.fifo of %s", id);
	int bound = isc_wait_bound_ms(), exec_bound = bound;
	cleanup_spec struct isc_spec *spec = saved_spec(&h);
	if (spec)
		exec_bound = isc_hooks_bound_ms(spec, ISC_HOOK_START_CONTAINER);
	if (wait_released(fifo, pidfd, bound, ctx->root, id, err) < 0 ||
	    wait_exec(fifo, exec_bound, ctx->root, id, err) < 0)
		return -1;
	/* Running from now on: the status derives from the fifo being gone
	 * (isc_state_status), so the state file needs no rewrite. */
	if (unlinkat(h.d.dir_fd, "exec.fifo", 0) < 0)
		return isc_error_set(err, errno, "remove exec.fifo of %s", id);
	isc_container_mark("start: init released");
	if (notify >= 0)
		isc_notify_forward(notify, pidfd, h.st.pid, h.st.notify_socket);
	poststart(&h);
	return 0;
}
