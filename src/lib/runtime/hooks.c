/* SPDX-License-Identifier: GPL-2.0-or-later
 * OCI hooks (hooks.h): each runs as a child with the state on stdin, fed
 * without blocking, and is killed at its timeout; the kinds' names come
 * from the spec's one table (isc_hook_kind_name).
 */
#include "runtime/hooks.h"
#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int isc_hooks_bound_ms(const struct isc_spec *spec, enum isc_hook_kind kind)
{
	int bound = isc_wait_bound_ms();
	long long total = bound;
	for (size_t i = 0; i < spec->n_hooks[kind]; i++)
		total += spec->hooks[kind][i].timeout > 0 ? spec->hooks[kind][i].timeout * 1000LL : bound;
	return total > INT_MAX ? INT_MAX : (int)total;
}

static int run_one(const struct isc_hook *h, const char *state_json, isc_error **err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return isc_error_set(err, errno, "pipe");
	cleanup_close int rd = pipefd[0];
	cleanup_close int wr = pipefd[1];

	pid_t pid = fork();
	if (pid < 0)
		return isc_error_set(err, errno, "fork");
	if (pid == 0) {
		/* the hook: state on stdin, our stdout/stderr */
		if (dup2(rd, 0) < 0)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		char *const default_argv[] = { h->path, NULL };
		char *const empty_env[] = { NULL };
		execve(h->path, h->args && h->args[0] ? h->args : default_argv, h->env ? h->env : empty_env);
		_exit(127);
	}
	isc_closep(&rd);
	cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	/* Feed the state without ever blocking on a hook that does not read. */
	fcntl(wr, F_SETFL, O_NONBLOCK);
	const char *p = state_json;
	size_t left = strlen(state_json);
	uint64_t deadline = h->timeout > 0 ? isc_now_ns() + (uint64_t)h->timeout * 1000000000ull : 0;
	bool timed_out = false;
	for (;;) {
		while (left > 0 && wr >= 0) {
			ssize_t n = write(wr, p, left);
			if (n > 0) {
				p += n;
				left -= (size_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			left = 0; /* EPIPE: the hook did not want it */
		}
		if (left == 0)
			isc_closep(&wr);
		struct pollfd pfd[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = wr, .events = POLLOUT } };
		int timeout_ms = -1;
		if (deadline) {
			uint64_t now = isc_now_ns();
			if (now >= deadline) {
				timed_out = true;
				break;
			}
			timeout_ms = (int)((deadline - now) / 1000000ull) + 1;
		}
		if (pidfd < 0) {
			/* no pidfd (old kernel): plain wait, timeout not enforced */
			break;
		}
		int r = poll(pfd, wr >= 0 ? 2 : 1, timeout_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			break;
	}
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return isc_error_set(err, errno, "wait for hook %s", h->path);
	}
	if (timed_out)
		return isc_error_set(err, ETIMEDOUT, "hook %s timed out after %d s", h->path, h->timeout);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return isc_error_set(err, 0, "hook %s: could not be executed (exit status 127)", h->path);
	if (WIFEXITED(status))
		return isc_error_set(err, 0, "hook %s: exited with status %d", h->path, WEXITSTATUS(status));
	return isc_error_set(err, 0, "hook %s: killed by signal %d", h->path, WTERMSIG(status));
}

/* runtime-spec 1.2, lifecycle steps 9 and 13: a failing poststart or
 * poststop hook is a warning; the remaining hooks and the lifecycle go on
 * as if it had succeeded.  Every other kind fails its operation. */
static bool failure_is_warning(enum isc_hook_kind kind)
{
	return kind == ISC_HOOK_POSTSTART || kind == ISC_HOOK_POSTSTOP;
}

int isc_hooks_run(const struct isc_spec *spec, enum isc_hook_kind kind, const char *state_json, isc_error **err)
{
	for (size_t i = 0; i < spec->n_hooks[kind]; i++) {
		cleanup_error isc_error *e = NULL;
		if (run_one(&spec->hooks[kind][i], state_json, &e) == 0)
			continue;
		if (!failure_is_warning(kind)) {
			isc_error_move(err, &e);
			return isc_error_wrap(err, "%s hook %zu", isc_hook_kind_name(kind), i);
		}
		char buf[1024];
		isc_warn("%s hook %zu failed, going on: %s", isc_hook_kind_name(kind), i,
			 isc_error_text(e, buf, sizeof(buf)));
	}
	return 0;
}
