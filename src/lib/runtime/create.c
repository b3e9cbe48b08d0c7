/* SPDX-License-Identifier: GPL-2.0-or-later
 * create, in the runtime: plan, then execute.  isc_container_do_create()
 * reads as the list of its steps; one struct create owns every resource
 * (create_clear), and each step that makes something registers its undo
 * (struct create_undo), so a failure anywhere unwinds everything.
 *
 *   isc_create_plan      create-plan.c: parse, check, open namespaces to
 *                        join, prepare seccomp -- nothing exists yet
 *   create_state_dir     <root>/<id> (flock), exec.fifo, config.json
 *   create_cgroups       recorded in state.json before the first mkdir
 *   create_scratch       org.isc.scratch, recorded before it exists
 *   isc_notify_prepare   notify.c: NOTIFY_SOCKET's directory
 *   create_clone         the sync socket, the terminal's socket, the
 *                        relay, clone: the init (fast path: one clone with
 *                        every new namespace) or the stage (staged path,
 *                        when a namespace is joined, for a time namespace
 *                        or an audit id), which runs init.c
 *   create_release       id maps, cgroup attach, oom_score_adj, then GO
 *   create_stage_steps   staged: the stage's maps and time offsets, then
 *                        the init's pid from it
 *   isc_container_pid_sysctls  sysctl.c: the pid namespace's keys
 *   create_wait_created  prestart/createRuntime hooks when the init asks,
 *                        until CREATED
 *   create_console       process.terminal: the init's pty master to
 *                        --console-socket (the runtime can reach that
 *                        path, the container cannot)
 *   create_finish        state "created", --pid-file
 *
 * Without a terminal, a terminal on the runtime's stdio is replaced by a
 * pipe (run) or /dev/null (create, run -d) before the new process does
 * anything (relay.h).  `start` (start.c) then opens exec.fifo: the init,
 * blocked writing to it, goes on to exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sync.h"
#include "base/util.h"
#include "kernel/caps.h"
#include "kernel/terminal.h"
#include "runtime/container-internal.h"
#include "runtime/exec.h"
#include "runtime/hooks.h"

/* --debug: where the time goes, in ms since the first mark */
void isc_container_mark(const char *step)
{
	static uint64_t t0;
	if (!isc_log_debug_enabled())
		return;
	uint64_t now = isc_now_ns();
	if (t0 == 0)
		t0 = now;
	isc_debug("timing %8.3f ms  %s", (double)(now - t0) / 1e6, step);
}

/* A message to the init that could not be sent (EPIPE: it is gone): what
 * the init said before it went is the cause, when it said anything. */
static int sync_send_or_cause(int fd, enum isc_sync_type type, isc_error **err)
{
	if (isc_sync_send(fd, type, 0, NULL, 0, err) == 0)
		return 0;
	struct isc_sync_msg h;
	ssize_t n;
	int resets = 0;
	do /* ECONNRESET once: the init exited with a message of ours unread */
		n = recv(fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ == 0)));
	if (n == (ssize_t)sizeof(h) && h.type == ISC_SYNC_ERROR) {
		isc_error_free(err);
		(void)isc_sync_recv(fd, ISC_SYNC_ERROR, NULL, err);
	} else if (n < 0 && errno != EAGAIN) {
		/* the cause may be waiting there: say it could not be read */
		int e = errno;
		char buf[512];
		cleanup_free char *sent = isc_xstrdup(isc_error_text(*err, buf, sizeof(buf)));
		isc_error_set(err, e, "%s; what the container init said before it went could not be read", sent);
	}
	return -1;
}

static void undo_create(struct create_undo *u)
{
	cleanup_error isc_error *e = NULL;
	bool left = false; /* an undo failed: the state stays, for delete --force */
	if (u->pid > 0) {
		kill(u->pid, SIGKILL);
		waitpid(u->pid, NULL, 0);
	}
	if (u->stage > 0 && u->stage != u->pid) {
		kill(u->stage, SIGKILL);
		waitpid(u->stage, NULL, 0);
	}
	if (u->scratch_mount) {
		/* after the processes: their open files would keep the key */
		cleanup_error isc_error *busy = NULL;
		if (isc_scratch_destroy(u->scratch_mount, &busy, &e) < 0 || busy) {
			isc_log_cleanup_error(e ? e : busy);
			left = true;
			isc_error_free(&e);
		}
		free(u->scratch_mount);
		u->scratch_mount = NULL;
	}
	if (u->cg) {
		if (isc_cgroup_destroy(u->cg, &e) < 0) {
			isc_log_cleanup_error(e);
			left = true;
			isc_error_free(&e);
		}
		isc_cgroup_free(u->cg);
		u->cg = NULL;
	}
	if (u->have_dir && left) {
		isc_error_set(&e, 0, "the state %s/%s is kept: delete --force %s removes what is left", u->dir.root,
			      u->dir.id, u->dir.id);
		isc_log_cleanup_error(e);
		isc_state_dir_close(&u->dir);
	} else if (u->have_dir && isc_state_dir_remove(&u->dir, &e) < 0) {
		isc_log_cleanup_error(e);
	}
	u->have_dir = false;
}

static char *annotations_json(const struct isc_spec *spec)
{
	json_t *o = json_object();
	for (size_t i = 0; i < spec->n_annotations; i++)
		json_object_set_new(o, spec->annotations[i].key, json_string(spec->annotations[i].value));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

int isc_container_write_pid_file(const char *path, pid_t pid, isc_error **err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	cleanup_free char *copy = isc_xstrdup(path);
	char *slash = strrchr(copy, '/');
	const char *dir = ".", *name = copy;
	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
		name = slash + 1;
	}
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "--pid-file %s", path);
	if (isc_write_file_atomic(dfd, name, buf, (size_t)n, 0644, err) < 0)
		return isc_error_wrap(err, "--pid-file %s", path);
	return 0;
}

static pid_t raw_clone(unsigned long flags)
{
	/* fork-like: the child continues on a copy of our stack */
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/* Releases what the create holds; undoes what it made unless it finished. */
static void create_clear(struct create *c)
{
	isc_closep(&c->sv[0]);
	isc_closep(&c->sv[1]);
	isc_closep(&c->con[0]);
	isc_closep(&c->con[1]);
	isc_closep(&c->master);
	isc_closep(&c->fifo_fd);
	isc_closep(&c->notify_fd);
	isc_scratch_clear(&c->scratch);
	isc_scratch_opts_clear(&c->sopt);
	isc_ns_plan_close(&c->ns);
	if (c->filter)
		isc_seccomp_filter_free(c->filter);
	c->filter = NULL;
	if (!c->done) {
		undo_create(&c->u);
	} else {
		if (c->u.cg)
			isc_cgroup_free(c->u.cg);
		free(c->u.scratch_mount);
		isc_state_dir_close(&c->u.dir);
	}
	isc_state_clear(&c->st);
	free(c->rules);
	if (c->spec)
		isc_spec_free(c->spec);
	free(c->config_text);
	free(c->config_path);
}

/* <root>/<id>, locked; exec.fifo; the copy of config.json. */
static int create_state_dir(struct create *c, isc_error **err)
{
	const char *root = c->ctx->root, *id = c->o->id;
	if (isc_state_dir_create(root, id, &c->u.dir, err) < 0)
		return -1;
	c->u.have_dir = true;

	if (mkfifoat(c->u.dir.dir_fd, "exec.fifo", 0600) < 0)
		return isc_error_set(err, errno, "create %s/%s/exec.fifo", root, id);
	/* The init, no longer root on the host, opens it through its fd: the
	 * 0700 state directory keeps everyone else out. */
	if (fchmodat(c->u.dir.dir_fd, "exec.fifo", 0622, 0) < 0)
		return isc_error_set(err, errno, "chmod exec.fifo");
	c->fifo_fd = openat(c->u.dir.dir_fd, "exec.fifo", O_PATH | O_CLOEXEC);
	if (c->fifo_fd < 0)
		return isc_error_set(err, errno, "open exec.fifo");
	/* The hooks that run after create and exec's defaults come from this
	 * copy, not from the bundle, which may have changed since. */
	return isc_write_file_atomic(c->u.dir.dir_fd, "config.json", c->config_text, c->config_len, 0600, err);
}

/* The state as known before the init exists. */
static void create_state_record(struct create *c)
{
	const struct isc_spec *spec = c->spec;
	struct isc_state *st = &c->st;
	st->id = isc_xstrdup(c->o->id);
	st->bundle = isc_xstrdup(c->bundle);
	st->rootfs = isc_xstrdup(c->rootfs);
	st->creator_pid = getpid();
	st->creator_start_time = isc_proc_start_time(getpid());
	st->created = isc_rfc3339_now();
	st->annotations_json = annotations_json(spec);
	st->owner = geteuid();
	st->notify_socket = c->notify_path ? isc_xstrdup(c->notify_path) : NULL;
	st->hooks_saved = spec->n_hooks[ISC_HOOK_POSTSTART] + spec->n_hooks[ISC_HOOK_POSTSTOP] > 0 ||
			  spec->n_hooks[ISC_HOOK_START_CONTAINER] > 0; /* start's wait bound counts them */
}

/* The groups about to be made are recorded before the first mkdir: a
 * create killed while making them leaves a state whose delete --force
 * removes them (and a new create of this id says it exists). */
static int create_cgroups(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	bool mounts_cgroups = false;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].type && strncmp(spec->mounts[i].type, "cgroup", 6) == 0)
			mounts_cgroups = true;
	create_state_record(c);
	if (c->ctx->no_cgroups) {
		/* --cgroup-manager disabled: the caller manages (or forgoes) cgroups */
		if (spec->has_resources && (spec->resources.has_memory_limit || spec->resources.has_pids_limit ||
					    spec->resources.has_cpu_quota || spec->resources.has_cpu_shares))
			isc_warn("--cgroup-manager disabled: linux.resources limits are not applied");
		isc_container_mark("cgroups created");
		return 0;
	}
	struct isc_cgroup *plan = NULL;
	if (isc_cgroup_plan(spec->cgroups_path, c->o->id, &c->res, mounts_cgroups, &plan, err) < 0)
		return isc_error_wrap(err, "cgroup");
	c->st.cgroup = isc_cgroup_serialize(plan);
	isc_cgroup_free(plan);
	if (isc_state_write(&c->u.dir, &c->st, err) < 0)
		return -1;
	if (isc_cgroup_create(spec->cgroups_path, c->o->id, &c->res, mounts_cgroups, &c->u.cg, err) < 0)
		return isc_error_wrap(err, "cgroup");
	isc_container_mark("cgroups created");
	return 0;
}

/* The cgroups as made and, for org.isc.scratch, its mount point recorded
 * before it exists (a delete after a crash finds it); then the scratch. */
static int create_scratch(struct create *c, isc_error **err)
{
	free(c->st.cgroup);
	c->st.cgroup = c->u.cg ? isc_cgroup_serialize(c->u.cg) : NULL;
	if (c->scratch_value) {
		c->u.scratch_mount = isc_xasprintf("%s/%s/scratch", c->ctx->root, c->o->id);
		c->scratch.mount = c->u.scratch_mount;
		c->st.scratch = isc_scratch_record(&c->scratch);
		c->scratch.mount = NULL;
	}
	if (isc_state_write(&c->u.dir, &c->st, err) < 0)
		return -1;
	if (c->scratch_value == NULL)
		return 0;
	cleanup_free char *cache = isc_xasprintf("%s/.cache/scratch", c->ctx->root);
	if (isc_scratch_setup(&c->sopt, cache, c->u.dir.dir_fd, c->u.scratch_mount, c->scratch_uid, c->scratch_gid,
			      c->o->id, &c->scratch, err) < 0)
		return -1;
	free(c->st.scratch);
	c->st.scratch = isc_scratch_record(&c->scratch);
	isc_container_mark("scratch ready");
	return 0;
}

/* The sockets, the relay, then clone: the init, or the stage that forks it.
 * The child never returns from here. */
static int create_clone(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sv) < 0)
		return isc_error_set(err, errno, "socketpair");
	if (spec->process.terminal && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->con) < 0)
		return isc_error_set(err, errno, "socketpair");

	struct init_args args = {
		.spec = spec,
		.rootfs = c->rootfs,
		.bundle = c->bundle,
		.id = c->o->id,
		.sync_fd = c->sv[1],
		.fifo_fd = c->fifo_fd,
		.ns = &c->ns,
		.filter = c->filter,
		.in_userns = c->ns.user_new || c->ns.user_join,
		.console_fd = c->con[1],
		.relay = c->relay,
		.n_preserve = c->listen + c->o->preserve_fds,
		.listen_fds = c->listen > 0,
		.scratch_fd = c->scratch.tree_fd,
		.scratch_path = c->sopt.path,
		.notify_fd = c->notify_fd,
		.notify_dir = c->notify_dir,
		.audit_id = c->audit_id,
	};
	if (isc_rootfs_guard_record(&args.guard, err) < 0)
		return -1;
	(void)isc_cap_last_kernel(); /* cached here, before any namespace or filter */
	/* process.terminal: the init's stdio is its own terminal */
	if (!spec->process.terminal &&
	    isc_relay_prepare(c->relay, c->foreground ? ISC_RELAY_FOREGROUND : ISC_RELAY_DETACHED, err) < 0)
		return -1;
	/* staged when a namespace is joined, for a time namespace, and for an
	 * audit identity (set before the user namespace exists) */
	c->staged = c->ns.n_join > 0 || c->ns.time_new || c->audit_id != 0;
	/* The cgroup namespace is unshared by the init once it is in its groups. */
	unsigned long clone_flags = c->staged ? 0 : (unsigned long)(c->ns.new_flags & ~CLONE_NEWCGROUP);
	pid_t child = raw_clone(clone_flags);
	if (child < 0)
		return isc_error_set(err, errno, "clone the container init");
	if (child == 0) {
		isc_closep(&c->sv[0]);
		isc_closep(&c->con[0]);
		if (c->staged)
			isc_container_stage_main(&args);
		isc_container_init_main(&args);
	}
	isc_closep(&c->sv[1]);
	isc_closep(&c->con[1]);
	isc_relay_close_child(c->relay);
	c->child = child;
	c->u.pid = child;
	isc_container_mark("init cloned");
	if (c->staged)
		c->u.stage = child;
	return 0;
}

/* Runtime-side setup of the new process, before it may go on. */
static int create_release(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	if (c->ns.user_new && !c->staged && isc_ns_write_idmaps(c->child, spec, err) < 0)
		return -1;
	if (c->u.cg && isc_cgroup_attach(c->u.cg, c->child, err) < 0)
		return isc_error_wrap(err, "cgroup");
	if (spec->process.has_oom_score_adj) {
		char path[64], val[16];
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)c->child);
		int n = snprintf(val, sizeof(val), "%d", spec->process.oom_score_adj);
		if (isc_write_file(path, val, (size_t)n, err) < 0)
			return isc_error_wrap(err, "process.oomScoreAdj %d", spec->process.oom_score_adj);
	}
	if (sync_send_or_cause(c->sv[0], ISC_SYNC_GO, err) < 0)
		return -1;
	isc_container_mark("init attached and released");
	return 0;
}

/* Staged: what the stage asks for (the maps of its new user namespace,
 * the offsets of its new time namespace), then the pid of the init it
 * forked; the stage is reaped. */
static int create_stage_steps(struct create *c, isc_error **err)
{
	int fd = c->sv[0];
	for (int want = STAGE_WANTS_IDMAPS; want <= STAGE_WANTS_TIME_OFFSETS; want++) {
		if (want == STAGE_WANTS_IDMAPS ? !c->ns.user_new : !c->ns.time_new)
			continue;
		int32_t asked = -1;
		if (isc_sync_recv_within(fd, ISC_SYNC_USERNS_READY, &asked, isc_wait_bound_ms(),
					 "the stage's namespaces", err) < 0)
			return -1;
		if (asked != want)
			return isc_error_set(err, EPROTO, "sync socket: the stage asked for step %d, not %d", asked,
					     want);
		if ((want == STAGE_WANTS_IDMAPS ? isc_ns_write_idmaps(c->child, c->spec, err)
						: isc_ns_set_time_offsets(c->child, c->spec, err)) < 0)
			return -1;
		if (sync_send_or_cause(fd, ISC_SYNC_USERNS_DONE, err) < 0)
			return -1;
	}
	int32_t gpid = 0;
	if (isc_sync_recv_within(fd, ISC_SYNC_CHILD_PID, &gpid, isc_wait_bound_ms(), "the init's pid", err) < 0)
		return -1;
	waitpid(c->child, NULL, 0);
	c->u.stage = -1;
	c->u.pid = gpid;
	return 0;
}

/* Until the init reports CREATED; it runs the createContainer hooks
 * before, and asks for the prestart and createRuntime hooks, which run
 * here, in the runtime's namespaces. */
static int create_wait_created(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	for (;;) {
		int t = isc_sync_recv_within(c->sv[0], 0, NULL, isc_hooks_bound_ms(spec, ISC_HOOK_CREATE_CONTAINER),
					     "the container init's setup", err);
		if (t < 0)
			return -1;
		if (t == ISC_SYNC_CREATED)
			return 0;
		if (t != ISC_SYNC_HOOKS)
			return isc_error_set(err, EPROTO, "sync socket: unexpected message %d", t);
		/* prestart: `created` (runtime-spec lifecycle step 3, after step
		 * 2 "creating"); createRuntime: during create */
		cleanup_free char *pre = isc_state_oci_json(&c->st, ISC_STATUS_CREATED);
		cleanup_free char *sj = isc_state_oci_json(&c->st, ISC_STATUS_CREATING);
		if (isc_hooks_run(spec, ISC_HOOK_PRESTART, pre, err) < 0 ||
		    isc_hooks_run(spec, ISC_HOOK_CREATE_RUNTIME, sj, err) < 0)
			return -1;
		if (sync_send_or_cause(c->sv[0], ISC_SYNC_HOOKS_DONE, err) < 0)
			return -1;
	}
}

/* process.terminal: the init sent its pty master before CREATED. */
static int create_console(struct create *c, isc_error **err)
{
	if (c->con[0] < 0)
		return 0;
	if (isc_terminal_recv_fd(c->con[0], &c->master, err) < 0)
		return -1;
	if (c->master < 0)
		return isc_error_set(err, EPROTO, "process.terminal: the init sent no terminal");
	return isc_terminal_send_console(c->o->console_socket, c->master, err);
}

/* The state of a created container: nobody is creating it any more. */
static int create_finish(struct create *c, isc_error **err)
{
	c->st.pid_start_time = isc_proc_start_time(c->st.pid);
	isc_container_mark("init reported created");
	c->st.creator_pid = 0;
	c->st.creator_start_time = 0;
	if (isc_state_write(&c->u.dir, &c->st, err) < 0)
		return -1;
	if (c->o->pid_file && isc_container_write_pid_file(c->o->pid_file, c->st.pid, err) < 0)
		return -1;
	return 0;
}

int isc_container_do_create(const struct isc_context *ctx, const struct isc_create_opts *o, bool foreground,
			    struct isc_relay *relay, pid_t *init_pid, isc_error **err)
{
	__attribute__((cleanup(create_clear))) struct create c = {
		.ctx = ctx,
		.o = o,
		.foreground = foreground,
		.relay = relay,
		.ns = { .join_fds = { -1, -1, -1, -1, -1, -1, -1, -1 } },
		.u = { .dir = { .root_fd = -1, .dir_fd = -1 }, .pid = -1, .stage = -1 },
		.scratch = { .tree_fd = -1 },
		.fifo_fd = -1,
		.notify_fd = -1,
		.sv = { -1, -1 },
		.con = { -1, -1 },
		.master = -1,
		.child = -1,
	};
	if (isc_create_plan(&c, err) < 0)
		return -1;
	if (create_state_dir(&c, err) < 0 || create_cgroups(&c, err) < 0 || create_scratch(&c, err) < 0)
		return -1;
	if (c.notify_path && isc_notify_prepare(&c.u.dir, c.spec, c.notify_dir, &c.notify_fd, err) < 0)
		return -1;
	if (create_clone(&c, err) < 0 || create_release(&c, err) < 0)
		return -1;
	if (c.staged && create_stage_steps(&c, err) < 0)
		return -1;
	c.st.pid = c.u.pid;
	/* before CREATED: nothing of the container's has run yet */
	if (isc_container_pid_sysctls(c.spec, c.u.pid, err) < 0)
		return -1;
	if (create_wait_created(&c, err) < 0 || create_console(&c, err) < 0 || create_finish(&c, err) < 0)
		return -1;
	*init_pid = c.st.pid;
	c.done = true;
	isc_container_mark("create: done");
	return 0;
}

int isc_container_create(const struct isc_context *ctx, const struct isc_create_opts *o, isc_error **err)
{
	pid_t pid;
	struct isc_relay relay = ISC_RELAY_INIT;
	int r = isc_container_do_create(ctx, o, false, &relay, &pid, err);
	isc_relay_clear(&relay);
	return r;
}
