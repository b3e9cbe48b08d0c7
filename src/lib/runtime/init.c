/* SPDX-License-Identifier: GPL-2.0-or-later
 * The processes the runtime clones for a create (create.c clones them):
 *
 *   clone_child_start   both: non-dumpable, stdio, no inherited fd, death
 *                       with the runtime, then wait for the runtime's GO
 *                       (by then it wrote the id maps and attached the
 *                       cgroups)
 *   isc_container_stage_main   the staged path only: loginuid, join
 *                       namespaces by path, unshare the user namespace (the
 *                       runtime writes its maps), the others (the runtime
 *                       writes the time offsets), fork the init, report its
 *                       pid
 *   init_setup          the init: session, root of its user namespace,
 *                       cgroup namespace, names, rootfs, scratch, notify
 *                       dir, hooks, pivot_root, sysctls, read-only
 *                       checks, terminal, the process setup (process.c),
 *                       CREATED; then it blocks opening exec.fifo for
 *                       writing until `start` opens the other end
 *                       (start.c), and execs the container's program.
 *
 * Everything the init needs is in struct init_args, in the runtime's memory
 * that the clone copied.  Each step's error goes back to the runtime over
 * the sync socket (init_fail); after CREATED, stderr is all there is.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "audit/audit-id.h"
#include "base/sync.h"
#include "base/util.h"
#include "kernel/landlock.h"
#include "kernel/rootfs.h"
#include "kernel/rootfs-internal.h"
#include "kernel/scratch.h"
#include "kernel/terminal.h"
#include "runtime/container-internal.h"
#include "runtime/exec.h"
#include "runtime/hooks.h"
#include "runtime/relay.h"

/* NOTIFY_SOCKET: the detached, read-only tree of the state's notify
 * directory (notify.c) goes to a->notify_dir in the container's root. */
static int attach_notify_dir(struct init_args *a, isc_error **err)
{
	cleanup_close int rootfd = open(a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int target = rootfd < 0 ? -1 : isc_rootfs_mkpath(rootfd, a->notify_dir, ISC_CREATE_DIR);
	if (target < 0)
		return isc_error_set(err, errno, "NOTIFY_SOCKET: mount point %s", a->notify_dir);
	struct statfs sf; /* an image symlink may point it into /proc (mount.c) */
	if (fstatfs(target, &sf) < 0)
		return isc_error_set(err, errno, "NOTIFY_SOCKET: mount point %s", a->notify_dir);
	if (sf.f_type == PROC_SUPER_MAGIC)
		return isc_error_set(err, 0, "NOTIFY_SOCKET: mount point %s resolves inside a proc filesystem",
				     a->notify_dir);
	if (move_mount(a->notify_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return isc_error_set(err, errno, "NOTIFY_SOCKET: mount to %s", a->notify_dir);
	isc_closep(&a->notify_fd);
	return 0;
}

/* prestart and createRuntime hooks run in the runtime's namespaces (the
 * runtime runs them when asked); createContainer hooks here, in ours. */
static int create_hooks(const struct init_args *a, isc_error **err)
{
	const struct isc_spec *spec = a->spec;
	if (spec->n_hooks[ISC_HOOK_PRESTART] + spec->n_hooks[ISC_HOOK_CREATE_RUNTIME] > 0) {
		if (isc_sync_send(a->sync_fd, ISC_SYNC_HOOKS, 0, NULL, 0, err) < 0)
			return -1;
		if (isc_sync_recv(a->sync_fd, ISC_SYNC_HOOKS_DONE, NULL, err) < 0)
			return -1;
	}
	if (spec->n_hooks[ISC_HOOK_CREATE_CONTAINER] > 0) {
		cleanup_free char *st = NULL;
		struct isc_state s = { .id = (char *)a->id, .bundle = (char *)a->bundle, .pid = getpid() };
		st = isc_state_oci_json(&s, ISC_STATUS_CREATING);
		if (isc_hooks_run(spec, ISC_HOOK_CREATE_CONTAINER, st, err) < 0)
			return -1;
	}
	return 0;
}

/* process.terminal: a pty from the container's /dev/ptmx, its slave our
 * controlling terminal and stdio; the master goes back to the runtime. */
static int send_console(struct init_args *a, isc_error **err)
{
	const struct isc_process *proc = &a->spec->process;
	cleanup_close int master = -1;
	if (isc_terminal_setup(proc->console_height, proc->console_width, proc->uid, &master, err) < 0)
		return isc_error_wrap(err, "process.terminal");
	if (isc_terminal_bind_console(master, err) < 0)
		return isc_error_wrap(err, "process.terminal");
	if (isc_terminal_send_fd(a->console_fd, master, "/dev/ptmx", err) < 0)
		return -1;
	isc_closep(&a->console_fd);
	return 0;
}

/* The end of the init: CREATED, then wait for `start` on exec.fifo, the
 * startContainer hooks, and the execve of the container's program.
 * Returns only when CREATED could not be sent; afterwards the runtime is
 * gone and a failure goes to stderr. */
static void wait_start_and_exec(struct init_args *a, const char *exe, char **env, isc_error **err)
{
	const struct isc_spec *spec = a->spec;
	const struct isc_process *proc = &spec->process;

	/* the wait for start reopens the fifo through the procfs mounted at
	 * prepare: "/proc/self/fd/N" by name could be a file of the image's */
	int procfd = isc_rootfs_proc_fd(&a->guard, err);
	if (procfd < 0) {
		isc_error_wrap(err, "wait for start");
		return;
	}
	if (isc_sync_send(a->sync_fd, ISC_SYNC_CREATED, 0, NULL, 0, err) < 0)
		return;
	isc_closep(&a->sync_fd);

	/* Wait for start: opening the fifo for writing blocks until `start`
	 * opens it for reading. */
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "self/fd/%d", a->fifo_fd);
	int wfd = openat(procfd, fifo, O_WRONLY | O_CLOEXEC);
	if (wfd < 0 || write(wfd, "0", 1) != 1) {
		/* the runtime is gone: stderr is all we have */
		dprintf(2, "isc-runtime: container init: wait for start: %s\n", strerror(errno));
		_exit(127);
	}
	isc_closep(&a->fifo_fd);
	/* wfd stays open (O_CLOEXEC) through the startContainer hooks until
	 * the execve below: `start` waits for its end of the fifo to see EOF
	 * before it runs the poststart hooks, which the runtime spec orders
	 * after the user's program has been executed. */

	if (spec->n_hooks[ISC_HOOK_START_CONTAINER] > 0) {
		struct isc_state s = { .id = (char *)a->id, .bundle = (char *)a->bundle, .pid = getpid() };
		/* created: the user's program has not been executed yet */
		cleanup_free char *st = isc_state_oci_json(&s, ISC_STATUS_CREATED);
		cleanup_error isc_error *herr = NULL;
		if (isc_hooks_run(spec, ISC_HOOK_START_CONTAINER, st, &herr) < 0) {
			char buf[1024];
			dprintf(2, "isc-runtime: %s\n", isc_error_text(herr, buf, sizeof(buf)));
			_exit(127);
		}
	}

	execve(exe, proc->args, env);
	/* nothing to report to: the runtime is gone; stderr is the container's */
	dprintf(2, "isc-runtime: exec %s: %s\n", exe, strerror(errno));
	_exit(127);
}

/* The container's init, after it was released (maps written, cgroup
 * joined).  Each step's error goes back to the runtime over the sync socket. */
static int init_setup(struct init_args *a, isc_error **err)
{
	const struct isc_spec *spec = a->spec;
	const struct isc_process *proc = &spec->process;
	bool in_userns = a->in_userns;

	if (isc_terminal_new_session(err) < 0)
		return -1;
	if (a->ns->user_new && isc_container_become_ns_root(err) < 0)
		return -1;

	/* The cgroup namespace is created only now, after the runtime moved us
	 * into our groups, so that the groups are its root. */
	if ((a->ns->new_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return isc_error_set(err, errno, "create cgroup namespace");

	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return isc_error_set(err, errno, "hostname \"%s\"", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return isc_error_set(err, errno, "domainname \"%s\"", spec->domainname);

	char *more_dirs[3] = { NULL, NULL, NULL }, **more = more_dirs;
	if (a->scratch_fd >= 0)
		*more++ = (char *)a->scratch_path;
	if (a->notify_fd >= 0)
		*more++ = (char *)a->notify_dir;
	if (isc_rootfs_prepare(&a->guard, spec, a->rootfs, a->bundle, more_dirs, in_userns, err) < 0)
		return -1;
	/* after the config mounts, so that a tmpfs there can hold the mount point */
	if (a->scratch_fd >= 0) {
		if (isc_scratch_attach(a->scratch_fd, a->rootfs, a->scratch_path, err) < 0)
			return -1;
		isc_closep(&a->scratch_fd);
	}
	if (a->notify_fd >= 0 && attach_notify_dir(a, err) < 0)
		return -1;

	if (create_hooks(a, err) < 0)
		return -1;

	if (isc_rootfs_pivot(&a->guard, a->rootfs, err) < 0)
		return -1;
	if (isc_container_init_sysctls(&a->guard, spec, err) < 0)
		return -1;
	if (isc_rootfs_finalize(&a->guard, spec, err) < 0)
		return -1;

	if (a->console_fd >= 0 && send_console(a, err) < 0)
		return -1;
	cleanup_strv char **env_listen = NULL;
	cleanup_free char *exe = NULL;
	isc_landlock_allow_fd_write(a->fifo_fd); /* the wait for start below */
	if (isc_container_process_setup(proc, spec, a->filter, a->n_preserve, a->listen_fds, &env_listen, &exe, err) <
	    0)
		return -1;
	char **env = env_listen ? env_listen : proc->env;
	wait_start_and_exec(a, exe, env, err);
	return -1;
}

/* The new process inherited every fd of the runtime (O_CLOEXEC only acts at
 * exec).  Close all but stdio and what it needs now: a held state-dir fd
 * would keep the container's flock locked while the init waits for start
 * (a failure is reported, never ignored). */
static int close_inherited_fds(const struct init_args *a, isc_error **err)
{
	int keep[16 + ISC_MAX_PRESERVE_FDS];
	size_t n = 0;
	keep[n++] = a->sync_fd;
	keep[n++] = a->fifo_fd;
	if (a->console_fd >= 0)
		keep[n++] = a->console_fd;
	if (a->scratch_fd >= 0)
		keep[n++] = a->scratch_fd;
	if (a->notify_fd >= 0)
		keep[n++] = a->notify_fd;
	for (int i = 0; i < a->n_preserve && n < ARRAY_SIZE(keep); i++)
		keep[n++] = 3 + i;
	for (int i = 0; i < a->ns->n_join && n < ARRAY_SIZE(keep); i++)
		keep[n++] = a->ns->join_fds[i];
	if (isc_close_fds_except(keep, n) < 0)
		return isc_error_set(err, errno, "container init: close the runtime's fds: close_range");
	return 0;
}

static __attribute__((noreturn)) void init_fail(struct init_args *a, isc_error *e)
{
	isc_sync_send_error(a->sync_fd, e);
	_exit(1);
}

/* First thing in the new process: the caller's terminal is gone from 0..2. */
static void install_stdio(struct init_args *a)
{
	if (isc_relay_install(a->relay) < 0) {
		isc_error *err = NULL;
		isc_error_set(&err, errno, "container init: stdio");
		init_fail(a, err);
	}
}

/* The start of both processes the runtime clones (the init, or the stage
 * of the staged path): non-dumpable, stdio, no inherited fd, death with
 * the runtime, then the runtime's go.  Fails through init_fail. */
static void clone_child_start(struct init_args *a)
{
	cleanup_error isc_error *err = NULL;
	/* Nothing in the container may ptrace us or open our /proc files
	 * before we exec (execve makes the new image dumpable again). */
	int nd = isc_container_nondumpable(&err);
	install_stdio(a);
	if (nd == 0)
		nd = close_inherited_fds(a, &err);
	/* die with the runtime while it is still setting us up */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (nd < 0)
		init_fail(a, err);
	if (isc_sync_recv(a->sync_fd, ISC_SYNC_GO, NULL, &err) < 0) {
		/* told to the runtime, when it is still there to hear it */
		isc_error_wrap(&err, "container init: wait for the runtime");
		init_fail(a, err);
	}
}

__attribute__((noreturn)) void isc_container_init_main(struct init_args *a)
{
	cleanup_error isc_error *err = NULL;
	clone_child_start(a);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	init_setup(a, &err);
	init_fail(a, err);
}

/* The stage: the loginuid, then the namespaces joined by path, while we
 * are privileged in the host's user namespace (or in the joined one). */
static int stage_join(struct init_args *a, isc_error **err)
{
	const struct isc_ns_plan *ns = a->ns;
	/* org.isc.audit.id: the loginuid, while we are still in the host's user
	 * namespace (inside the container's the value would be unmapped); from
	 * here on every process of the container carries it, and none of them
	 * can change it: that needs CAP_AUDIT_CONTROL in the initial user
	 * namespace (refused at create when the container could have it). */
	if (a->audit_id && isc_audit_set_loginuid(a->audit_id, err) < 0)
		return isc_error_wrap(err, "annotation %s", ISC_AUDIT_ID_ANNOTATION);
	if (isc_ns_join(ns, true, err) < 0 || isc_container_nondumpable(err) < 0)
		return -1;
	if (ns->user_join && isc_container_become_ns_root(err) < 0)
		return -1;
	for (int i = 0; i < ns->n_join; i++) {
		if (ns->join_types[i] == CLONE_NEWUSER)
			continue;
		if (setns(ns->join_fds[i], ns->join_types[i]) < 0)
			return isc_error_set(err, errno, "join %s namespace",
					     isc_namespace_type_name(ns->join_types[i]));
	}
	return 0;
}

/* One step the runtime does for us from outside (STAGE_WANTS_*). */
static int stage_ask(const struct init_args *a, int want, isc_error **err)
{
	if (isc_sync_send(a->sync_fd, ISC_SYNC_USERNS_READY, want, NULL, 0, err) < 0 ||
	    isc_sync_recv(a->sync_fd, ISC_SYNC_USERNS_DONE, NULL, err) < 0)
		return -1;
	return 0;
}

/* The stage: the new namespaces, the user namespace first (the runtime
 * writes its maps), then the others. */
static int stage_unshare(struct init_args *a, isc_error **err)
{
	const struct isc_ns_plan *ns = a->ns;
	if (ns->user_new) {
		if (unshare(CLONE_NEWUSER) < 0 || isc_container_nondumpable(err) < 0) {
			if (*err == NULL)
				isc_error_set(err, errno, "create user namespace");
			return -1;
		}
		if (stage_ask(a, STAGE_WANTS_IDMAPS, err) < 0 || isc_container_become_ns_root(err) < 0)
			return -1;
	}
	int flags = ns->new_flags & ~(CLONE_NEWUSER | CLONE_NEWCGROUP);
	if (flags && unshare(flags) < 0)
		return isc_error_set(err, errno, "create namespaces");
	/* The offsets of the new time namespace are written by the runtime
	 * through /proc/PID/timens_offsets: we stay non-dumpable (our /proc
	 * files are the host root's, so we could not write it ourselves). */
	if (ns->time_new && stage_ask(a, STAGE_WANTS_TIME_OFFSETS, err) < 0)
		return -1;
	return 0;
}

/* The init, forked by the stage: everything was joined by the stage
 * already.  It waits for the end of `order` (the stage's exit) before it
 * may speak on the shared sync socket. */
static __attribute__((noreturn)) void staged_init(struct init_args *a, int order[2])
{
	cleanup_error isc_error *err = NULL;
	char c;
	close(order[1]);
	while (read(order[0], &c, 1) < 0 && errno == EINTR)
		;
	close(order[0]);
	struct isc_ns_plan none = *a->ns;
	none.n_join = 0;
	none.user_new = false;
	struct init_args child = *a;
	child.ns = &none;
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	init_setup(&child, &err);
	init_fail(&child, err);
}

/* The staged path: join namespaces by path, create the user namespace (the
 * runtime writes its maps), the other namespaces (the runtime writes the
 * time offsets), then fork the init and tell the runtime its pid. */
__attribute__((noreturn)) void isc_container_stage_main(struct init_args *a)
{
	cleanup_error isc_error *err = NULL;
	clone_child_start(a);
	if (stage_join(a, &err) < 0 || stage_unshare(a, &err) < 0)
		init_fail(a, err);
	/* The init shares the sync socket: it must not speak before we sent
	 * CHILD_PID, or the runtime could read its messages first.  It waits
	 * for the end of this pipe, which closes when we exit. */
	int order[2];
	if (pipe2(order, O_CLOEXEC) < 0) {
		isc_error_set(&err, errno, "pipe");
		init_fail(a, err);
	}
	pid_t pid = fork();
	if (pid < 0) {
		isc_error_set(&err, errno, "fork the container init");
		init_fail(a, err);
	}
	if (pid == 0)
		staged_init(a, order);
	if (isc_sync_send(a->sync_fd, ISC_SYNC_CHILD_PID, pid, NULL, 0, &err) < 0)
		_exit(1);
	_exit(0);
}
