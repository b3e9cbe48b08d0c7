/* SPDX-License-Identifier: GPL-2.0-or-later
 * The container after create: state, kill, delete, run (create + start +
 * wait + delete, with the stdio relay and the signals forwarded), list.
 * Each opens the state by id with isc_state_open (state.c); a signal goes
 * through a pidfd checked against the init's start time, so a reused pid
 * is never signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "runtime/container-internal.h"
#include "runtime/control.h"
#include "runtime/exec.h"
#include "runtime/hooks.h"

int isc_container_pidfd_open(const struct isc_state *st)
{
	int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (fd < 0)
		return -1;
	/* the pid may have been reused between reading the state and pidfd_open */
	if (!isc_state_pid_alive(st)) {
		close(fd);
		errno = isc_state_unseen_errno() ? isc_state_unseen_errno() : ESRCH;
		return -1;
	}
	return fd;
}

int isc_container_state(const struct isc_context *ctx, const char *id, char **json, isc_error **err)
{
	/* no lock: state.json is replaced atomically, and `state` must answer
	 * while another command holds the lock */
	cleanup_state_handle struct isc_state_handle h;
	if (isc_state_open(ctx->root, id, ISC_STATE_UNLOCKED, &h, err) < 0)
		return -1;
	*json = isc_state_oci_json(&h.st, h.status);
	return 0;
}

static int wait_pidfd(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0 ? 0 : -1;
	}
}

/* kill --all: every process of the container's cgroups */
static int kill_all(const struct isc_state *st, int sig, isc_error **err)
{
	struct isc_cgroup *cg = NULL;
	if (isc_cgroup_deserialize(st->cgroup, &cg, err) < 0)
		return -1;
	int r = isc_cgroup_kill_all(cg, sig, err);
	isc_cgroup_free(cg);
	return r;
}

int isc_container_kill(const struct isc_context *ctx, const char *id, int sig, bool all, isc_error **err)
{
	cleanup_state_handle struct isc_state_handle h;
	if (isc_state_open(ctx->root, id, ISC_STATE_EXCLUSIVE, &h, err) < 0)
		return -1;
	if (h.status == ISC_STATUS_STOPPED || h.st.pid <= 0)
		return isc_error_set(err, 0, "container not running");
	if (all && h.st.cgroup)
		return kill_all(&h.st, sig, err);
	cleanup_close int pidfd = isc_container_pidfd_open(&h.st);
	if (pidfd < 0)
		return isc_error_set(err, 0, "container not running");
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return isc_error_set(err, errno, "kill container %s with signal %d", id, sig);
	/* a frozen (paused) init acts on SIGKILL only once thawed */
	return isc_control_thaw_after_kill(&h.st, sig, err);
}

static int destroy_locked(struct isc_state_handle *h, bool force, isc_error **err)
{
	struct isc_state_dir *d = &h->d;
	struct isc_state *st = &h->st;
	enum isc_status s = h->status;
	if ((s == ISC_STATUS_RUNNING || s == ISC_STATUS_PAUSED || s == ISC_STATUS_CREATING) && !force)
		return isc_error_set(err, 0, "cannot delete container %s that is not stopped: %s", d->id,
				     isc_status_name(s));
	if (s != ISC_STATUS_STOPPED && st->pid > 0) {
		cleanup_close int pidfd = isc_container_pidfd_open(st);
		if (pidfd >= 0) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			cleanup_error isc_error *te = NULL;
			if (isc_control_thaw_after_kill(st, SIGKILL, &te) < 0)
				isc_log_error(te);
			if (wait_pidfd(pidfd, 10000) < 0)
				return isc_error_set(err, ETIMEDOUT, "container %s: init did not exit after SIGKILL",
						     d->id);
		}
	}
	int ret = 0;
	if (st->cgroup) {
		struct isc_cgroup *cg = NULL;
		if (isc_cgroup_deserialize(st->cgroup, &cg, err) == 0) {
			if (isc_cgroup_destroy(cg, err) < 0)
				ret = isc_error_wrap(err, "container %s: cgroup", d->id);
			isc_cgroup_free(cg);
		} else {
			ret = -1;
		}
	}
	if (ret < 0)
		return ret;
	/* org.isc.scratch: the processes are gone, their files closed */
	if (st->scratch) {
		cleanup_free char *mnt = isc_xasprintf("%s/%s/scratch", d->root, d->id);
		cleanup_error isc_error *busy = NULL;
		if (isc_scratch_destroy(mnt, &busy, err) < 0)
			return isc_error_wrap(err, "container %s", d->id);
		if (busy)
			isc_log_error(busy);
	}
	/* poststop hooks: failures are warnings, the container is gone anyway */
	cleanup_free char *cfg = NULL;
	size_t len = 0;
	cleanup_error isc_error *e = NULL;
	if (st->hooks_saved && isc_read_file_at(d->dir_fd, "config.json", &cfg, &len, 0, &e) == 0) {
		cleanup_spec struct isc_spec *spec = NULL;
		if (isc_spec_parse(cfg, len, &spec, &e) == 0) {
			cleanup_free char *sj = isc_state_oci_json(st, ISC_STATUS_STOPPED);
			(void)isc_hooks_run(spec, ISC_HOOK_POSTSTOP, sj, &e);
		}
	}
	return isc_state_dir_remove(d, err);
}

int isc_container_delete(const struct isc_context *ctx, const char *id, bool force, isc_error **err)
{
	cleanup_state_handle struct isc_state_handle h;
	if (isc_state_open(ctx->root, id, ISC_STATE_EXCLUSIVE, &h, err) < 0)
		return -1;
	return destroy_locked(&h, force, err);
}

static volatile sig_atomic_t forward_pid;

static void forward_signal(int sig)
{
	if (forward_pid > 0)
		kill(forward_pid, sig);
}

void isc_container_forward_signals(pid_t pid)
{
	forward_pid = pid;
	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction sa = { .sa_handler = pid > 0 ? forward_signal : SIG_DFL };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
		sigaction(fwd[i], &sa, NULL);
}

int isc_container_run(const struct isc_context *ctx, const struct isc_create_opts *o, int *exit_status, isc_error **err)
{
	/* the init of a staged create is our grandchild: become its reaper */
	if (!o->detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	pid_t pid = 0;
	__attribute__((cleanup(isc_relay_clear))) struct isc_relay relay = ISC_RELAY_INIT;
	if (isc_container_do_create(ctx, o, !o->detach, &relay, &pid, err) < 0)
		return -1;
	if (isc_container_start(ctx, o->id, err) < 0) {
		cleanup_error isc_error *e = NULL;
		if (isc_container_delete(ctx, o->id, true, &e) < 0)
			isc_log_cleanup_error(e);
		return -1;
	}
	if (o->detach) {
		*exit_status = 0;
		return 0;
	}
	isc_container_forward_signals(pid);
	/* a relay that failed: the container runs on to its exit, but what it
	 * wrote may be lost, so the run fails (after the wait and the delete) */
	cleanup_error isc_error *rerr = NULL;
	if (relay.active) {
		/* the init has exec'd (start saw the fifo close) */
		cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0)
			isc_error_set(&rerr, errno, "stdio relay: pidfd_open %d", (int)pid);
		if (pidfd < 0 || isc_relay_run(&relay, pidfd, &rerr) < 0) {
			char buf[512];
			isc_warn("%s: the container's output is not relayed from here on",
				 isc_error_text(rerr, buf, sizeof(buf)));
		}
	}
	int status = 0;
	for (;;) {
		pid_t w = waitpid(-1, &status, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			isc_error_set(err, errno,
				      "wait for container %s (it and its state are left: delete --force removes them)",
				      o->id);
			return -1;
		}
		if (w == pid)
			break;
	}
	forward_pid = 0;
	isc_container_mark("run: container exited");
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (isc_container_delete(ctx, o->id, true, err) < 0)
		return isc_error_wrap(err, "container %s exited with status %d; its state is left for delete --force",
				      o->id, *exit_status);
	isc_container_mark("run: deleted");
	if (rerr != NULL) {
		isc_error_move(err, &rerr);
		return isc_error_wrap(err, "container %s exited with status %d, but its output was not all relayed",
				      o->id, *exit_status);
	}
	return 0;
}

int isc_container_list(const struct isc_context *ctx, bool json, char **out, isc_error **err)
{
	cleanup_strv char **ids = NULL;
	if (isc_state_list(ctx->root, &ids, err) < 0)
		return -1;
	json_t *arr = json_array();
	char *table = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&table, &tlen);
	if (f == NULL)
		abort();
	fprintf(f, "%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (char **id = ids; *id; id++) {
		cleanup_free char *sj = NULL;
		cleanup_error isc_error *e = NULL;
		if (isc_container_state(ctx, *id, &sj, &e) < 0)
			continue;
		json_t *o = json_loads(sj, 0, NULL);
		if (o == NULL)
			continue;
		fprintf(f, "%-20s %-8lld %-10s %-40s %-30s %s\n", *id,
			(long long)json_integer_value(json_object_get(o, "pid")),
			json_string_value(json_object_get(o, "status")),
			json_string_value(json_object_get(o, "bundle")) ?: "",
			json_string_value(json_object_get(o, "created")) ?: "",
			json_string_value(json_object_get(o, "owner")) ?: "");
		json_array_append_new(arr, o);
	}
	fclose(f);
	if (json) {
		free(table);
		*out = json_dumps(arr, JSON_INDENT(2));
	} else {
		*out = table;
	}
	json_decref(arr);
	return 0;
}
