/* SPDX-License-Identifier: GPL-2.0-or-later
 * The container lifecycle.
 *
 * create, in the runtime (parent):
 *   parse and validate the whole bundle       -- nothing exists yet
 *   open namespaces to join, prepare seccomp  -- still nothing exists
 *   state dir (locked), exec.fifo, cgroups    -- each registers its undo
 *   clone the init (fast path: one clone with every new namespace; staged
 *   path when a namespace is joined or a time namespace is new: a stage
 *   process joins, unshares and forks the init)
 *   write id maps, attach the cgroups, oom_score_adj, then release the init
 *   run prestart/createRuntime hooks when the init asks, wait for CREATED
 *   process.terminal: the init opened a pty from the container's devpts
 *   after pivot_root and passed the master back over a private socketpair;
 *   send it to --console-socket (the runtime can reach that path, the
 *   container cannot); without a terminal, a terminal on the runtime's
 *   stdio is replaced by a pipe (run) or /dev/null (create, run -d) before
 *   the new process does anything (relay.h)
 *   state "created", pid file
 * in the init (child), see init_main() for the ordered steps.
 * start opens exec.fifo: the init, blocked writing to it, goes on to exec.
 * exec (exec.c) reuses the init's user, rlimit and executable helpers.
 */
#include "runtime/container.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "kernel/caps.h"
#include "kernel/cgroup.h"
#include "runtime/control.h"
#include "kernel/exeseal.h"
#include "runtime/hooks.h"
#include "audit/audit-id.h"
#include "image/manifest.h"
#include "kernel/landlock.h"
#include "base/log.h"
#include "kernel/ns.h"
#include "runtime/relay.h"
#include "kernel/rootfs.h"
#include "kernel/rootfs-internal.h"
#include "kernel/scratch.h"
#include "kernel/seccomp.h"
#include "spec/spec.h"
#include "runtime/state.h"
#include "base/sync.h"
#include "kernel/terminal.h"
#include "runtime/exec.h"
#include "base/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Everything the init needs; lives in the runtime's memory, which the init
 * inherits as a copy at clone(). */
struct init_args {
	const struct isc_spec *spec;
	const char *rootfs;
	const char *bundle;
	const char *id;
	int sync_fd;
	int fifo_fd;
	struct isc_ns_plan *ns;
	struct isc_seccomp_filter *filter;
	bool in_userns; /* the container has a user namespace (new or joined) */
	int console_fd; /* process.terminal: the master goes back over this socket; else -1 */
	const struct isc_relay *relay; /* stdio in place of the caller's terminal */
	int n_preserve; /* fds 3 .. 3+n_preserve-1 stay open (--preserve-fds, LISTEN_FDS) */
	bool listen_fds; /* LISTEN_FDS was set: set LISTEN_PID in the process's env */
	int scratch_fd;  /* org.isc.scratch: detached tree to move to scratch_path; else -1 */
	const char *scratch_path;
	int notify_fd;   /* NOTIFY_SOCKET: detached tree of the notify dir for notify_dir; else -1 */
	const char *notify_dir;
	uint32_t audit_id; /* org.isc.audit.id: the stage sets it as loginuid; 0 = none */
	struct isc_rootfs_guard guard; /* the runtime's mount namespace, never to be touched */
};

/* Where the container finds the sd_notify socket that `start` proxies: on
 * the config's /run when it mounts one there, else on the /dev tmpfs (the
 * runtime's own, or the config's): a place where the mount point can be
 * made even with a read-only root */
#define ISC_NOTIFY_DIR_RUN "/run/isc-notify"
#define ISC_NOTIFY_DIR_DEV "/dev/.isc-notify"
#define ISC_NOTIFY_SOCK "notify.sock"

/* ------------------------------------------------------------------ */
/* the init                                                            */

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (char **e = env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* Find the executable as execvp would, in the container's view. */
int isc_container_resolve_exec(const struct isc_process *p, char **out, isc_error **err)
{
	const char *name = p->args[0];
	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0)
			return isc_error_set(err, errno, "exec: \"%s\"", name);
		struct stat st;
		if (stat(name, &st) == 0 && S_ISDIR(st.st_mode))
			return isc_error_set(err, EACCES, "exec: \"%s\": is a directory", name);
		*out = isc_xstrdup(name);
		return 0;
	}
	const char *path = env_get(p->env, "PATH");
	if (path == NULL)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int last = ENOENT;
	const char *s = path;
	for (;;) {
		const char *e = strchrnul(s, ':');
		cleanup_free char *cand = NULL;
		if (e == s)
			cand = isc_xasprintf("./%s", name);
		else
			cand = isc_xasprintf("%.*s/%s", (int)(e - s), s, name);
		struct stat st;
		if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			*out = steal_pointer(&cand);
			return 0;
		}
		if (errno == EACCES)
			last = EACCES;
		if (*e == '\0')
			break;
		s = e + 1;
	}
	if (last == EACCES)
		return isc_error_set(err, EACCES, "exec: \"%s\"", name);
	return isc_error_set(err, 0, "exec: \"%s\": executable file not found in $PATH", name);
}

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
 * runtime's (pid_sysctls below). */
static int apply_sysctls(const struct isc_rootfs_guard *g, const struct isc_spec *spec, isc_error **err)
{
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		if (isc_sysctl_namespace(spec->sysctl[i].key) == CLONE_NEWPID)
			continue;
		int proc = isc_rootfs_proc_fd(g, err);
		if (proc < 0)
			return isc_error_wrap(err, "linux.sysctl \"%s\"", spec->sysctl[i].key);
		cleanup_free char *path = isc_xasprintf("/proc/sys/%s", spec->sysctl[i].key);
		for (char *c = path + strlen("/proc/sys/"); *c; c++)
			if (*c == '.')
				*c = '/';
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
		cleanup_free char *path = isc_xasprintf("/proc/sys/%s", spec->sysctl[i].key);
		for (char *c = path + strlen("/proc/sys/"); *c; c++)
			if (*c == '.')
				*c = '/';
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
static int pid_sysctls(const struct isc_spec *spec, pid_t pid, isc_error **err)
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
		return isc_error_set(err, errno, "linux.sysctl: the init %d is not in a pid namespace below the "
						 "runtime's: the write would change the host's", (int)pid);
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

int isc_container_apply_rlimits(const struct isc_process *p, isc_error **err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return isc_error_set(err, errno, "process.rlimits[%zu]: setrlimit", i);
	}
	return 0;
}

int isc_container_switch_user(const struct isc_process *p, isc_error **err)
{
	if (setgroups(p->n_additional_gids, p->additional_gids) < 0) {
		/* EPERM when setgroups is denied in this user namespace and no groups were asked */
		if (!(errno == EPERM && p->n_additional_gids == 0))
			return isc_error_set(err, errno, "process.user.additionalGids: setgroups");
	}
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return isc_error_set(err, errno, "process.user.gid %u: setresgid", (unsigned)p->gid);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return isc_error_set(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return isc_error_set(err, errno, "process.user.uid %u: setresuid", (unsigned)p->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return isc_error_set(err, errno, "prctl(PR_SET_KEEPCAPS)");
	return 0;
}

int isc_container_nondumpable(isc_error **err)
{
	/* PR_SET_DUMPABLE 0: the process's /proc/PID files belong to the
	 * host's root and only CAP_SYS_PTRACE over the host's user namespace
	 * may ptrace it.  Every change of credentials resets dumpability to
	 * fs.suid_dumpable (1 on some machines): whoever changes them calls
	 * this again, up to the execve that makes the container's program
	 * dumpable. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return isc_error_set(err, errno, "prctl(PR_SET_DUMPABLE, 0)");
	int d = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (d != 0)
		return isc_error_set(err, d < 0 ? errno : 0, "the process is still dumpable (%d)", d);
	return 0;
}

int isc_container_become_ns_root(isc_error **err)
{
	/* In a new user namespace we start as the overflow id; become its root
	 * (mapped to an unprivileged host id) before creating anything. */
	if (setresgid(0, 0, 0) < 0)
		return isc_error_set(err, errno, "setresgid(0) in the user namespace");
	if (setresuid(0, 0, 0) < 0)
		return isc_error_set(err, errno, "setresuid(0) in the user namespace");
	return isc_container_nondumpable(err);
}

/* The container's program starts with every signal at its default action
 * and none blocked, whatever the caller had: an ignored disposition
 * survives execve, and isc-runtime ignores SIGPIPE (iscd SIGHUP), which a
 * service would otherwise inherit (`yes | head` printing "Broken pipe"). */
static void default_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* fails only for the kernel's reserved signals */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* What every process of a container goes through before execve, the init
 * and each exec alike: preserved fds and LISTEN_PID, personality, rlimits,
 * umask, cwd, then the privilege phase -- no_new_privs first, so nothing
 * below may gain privileges; seccomp early only without no_new_privs (the
 * filter then needs CAP_SYS_ADMIN, which we still have, and the rest of the
 * setup must pass it); user and groups; capabilities; the executable
 * resolved in the container's view; seccomp last otherwise, covering
 * everything from there on.  *env_listen is the environment with
 * LISTEN_PID when `listen`, else NULL. */
int isc_container_process_setup(const struct isc_process *p, const struct isc_spec *spec,
				const struct isc_seccomp_filter *filter, int n_preserve, bool listen,
				char ***env_listen, char **exe, isc_error **err)
{
	*env_listen = NULL;
	*exe = NULL;
	default_signals();
	if (n_preserve > 0)
		isc_container_keep_fds(n_preserve);
	if (listen)
		*env_listen = isc_container_env_listen(p->env, getpid(), n_preserve);

	if (spec->has_personality && personality(spec->personality) < 0)
		return isc_error_set(err, errno, "linux.personality");
	if (isc_container_apply_rlimits(p, err) < 0)
		return -1;
	if (p->has_umask)
		umask(p->umask);
	/* relative to the container's root, where pivot_root or the mount
	 * namespace join put us */
	const char *cwd = p->cwd ? p->cwd : "/";
	if (chdir("/") < 0 || chdir(cwd) < 0)
		return isc_error_set(err, errno, "process.cwd \"%s\"", cwd);

	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return isc_error_set(err, errno, "process.noNewPrivileges");
	if (filter && !p->no_new_privileges && isc_seccomp_install(filter, err) < 0)
		return isc_error_wrap(err, "linux.seccomp");
	/* new credentials reset dumpability: non-dumpable again each time */
	if (isc_container_switch_user(p, err) < 0 || isc_container_nondumpable(err) < 0)
		return -1;
	if (isc_caps_apply(&p->caps, err) < 0)
		return isc_error_wrap(err, "process.capabilities");
	if (isc_container_nondumpable(err) < 0)
		return -1;
	if (isc_container_resolve_exec(p, exe, err) < 0)
		return -1;
	/* Landlock after the last privileged step and before the filter that
	 * may not allow its syscalls; no_new_privs is set (checked at create) */
	const char *ll_value = isc_spec_annotation(spec, ISC_LANDLOCK_ANNOTATION);
	if (ll_value) {
		struct isc_landlock ll;
		if (isc_landlock_parse(ll_value, &ll, err) < 0)
			return -1;
		int r = p->no_new_privileges ? isc_landlock_apply(&ll, err)
					     : isc_error_set(err, EINVAL, "annotation %s: needs noNewPrivileges",
							     ISC_LANDLOCK_ANNOTATION);
		isc_landlock_clear(&ll);
		if (r < 0)
			return -1;
	}
	if (filter && p->no_new_privileges && isc_seccomp_install(filter, err) < 0)
		return isc_error_wrap(err, "linux.seccomp");
	return 0;
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

	if (isc_rootfs_prepare(&a->guard, spec, a->rootfs, a->bundle, in_userns, err) < 0)
		return -1;
	/* after the config mounts, so that a tmpfs there can hold the mount point */
	if (a->scratch_fd >= 0) {
		if (isc_scratch_attach(a->scratch_fd, a->rootfs, a->scratch_path, err) < 0)
			return -1;
		isc_closep(&a->scratch_fd);
	}
	if (a->notify_fd >= 0) {
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
	}

	/* prestart and createRuntime hooks run in the runtime's namespaces */
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

	if (isc_rootfs_pivot(&a->guard, a->rootfs, err) < 0)
		return -1;
	if (apply_sysctls(&a->guard, spec, err) < 0)
		return -1;
	if (isc_rootfs_finalize(&a->guard, spec, err) < 0)
		return -1;

	if (a->console_fd >= 0) {
		cleanup_close int master = -1;
		if (isc_terminal_setup(proc->console_height, proc->console_width, proc->uid, &master, err) < 0)
			return isc_error_wrap(err, "process.terminal");
		if (isc_terminal_bind_console(master, err) < 0)
			return isc_error_wrap(err, "process.terminal");
		if (isc_terminal_send_fd(a->console_fd, master, "/dev/ptmx", err) < 0)
			return -1;
		isc_closep(&a->console_fd);
	}
	cleanup_strv char **env_listen = NULL;
	cleanup_free char *exe = NULL;
	isc_landlock_allow_fd_write(a->fifo_fd); /* the wait for start below */
	if (isc_container_process_setup(proc, spec, a->filter, a->n_preserve, a->listen_fds, &env_listen, &exe,
					err) < 0)
		return -1;
	char **env = env_listen ? env_listen : proc->env;

	/* the wait for start reopens the fifo through the procfs mounted at
	 * prepare: "/proc/self/fd/N" by name could be a file of the image's */
	int procfd = isc_rootfs_proc_fd(&a->guard, err);
	if (procfd < 0)
		return isc_error_wrap(err, "wait for start");
	if (isc_sync_send(a->sync_fd, ISC_SYNC_CREATED, 0, NULL, 0, err) < 0)
		return -1;
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

static __attribute__((noreturn)) void init_main(struct init_args *a)
{
	cleanup_error isc_error *err = NULL;
	clone_child_start(a);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	init_setup(a, &err);
	init_fail(a, err);
}

/* What the stage asks the runtime to write for it (the value of
 * ISC_SYNC_USERNS_READY; the runtime answers ISC_SYNC_USERNS_DONE). */
#define STAGE_WANTS_IDMAPS 0       /* /proc/PID/{uid,gid}_map of the new user namespace */
#define STAGE_WANTS_TIME_OFFSETS 1 /* /proc/PID/timens_offsets of the new time namespace */

/* The staged path: join namespaces by path, create the user namespace (the
 * runtime writes its maps), the other namespaces (the runtime writes the
 * time offsets), then fork the init. */
static __attribute__((noreturn)) void stage_main(struct init_args *a)
{
	cleanup_error isc_error *err = NULL;
	struct isc_ns_plan *ns = a->ns;
	clone_child_start(a);

	/* org.isc.audit.id: the loginuid, while we are still in the host's user
	 * namespace (inside the container's the value would be unmapped); from
	 * here on every process of the container carries it, and none of them
	 * can change it: that needs CAP_AUDIT_CONTROL in the initial user
	 * namespace (refused at create when the container could have it). */
	if (a->audit_id && isc_audit_set_loginuid(a->audit_id, &err) < 0) {
		isc_error_wrap(&err, "annotation %s", ISC_AUDIT_ID_ANNOTATION);
		init_fail(a, err);
	}

	/* joined namespaces first, while we are privileged in the host's user
	 * namespace (or in the joined user namespace) */
	if (isc_ns_join(ns, true, &err) < 0 || isc_container_nondumpable(&err) < 0)
		init_fail(a, err);
	if (ns->user_join && isc_container_become_ns_root(&err) < 0)
		init_fail(a, err);
	for (int i = 0; i < ns->n_join; i++) {
		if (ns->join_types[i] == CLONE_NEWUSER)
			continue;
		if (setns(ns->join_fds[i], ns->join_types[i]) < 0) {
			isc_error_set(&err, errno, "join %s namespace", isc_namespace_type_name(ns->join_types[i]));
			init_fail(a, err);
		}
	}
	if (ns->user_new) {
		if (unshare(CLONE_NEWUSER) < 0 || isc_container_nondumpable(&err) < 0) {
			if (err == NULL)
				isc_error_set(&err, errno, "create user namespace");
			init_fail(a, err);
		}
		if (isc_sync_send(a->sync_fd, ISC_SYNC_USERNS_READY, STAGE_WANTS_IDMAPS, NULL, 0, &err) < 0 ||
		    isc_sync_recv(a->sync_fd, ISC_SYNC_USERNS_DONE, NULL, &err) < 0)
			init_fail(a, err);
		if (isc_container_become_ns_root(&err) < 0)
			init_fail(a, err);
	}
	int flags = ns->new_flags & ~(CLONE_NEWUSER | CLONE_NEWCGROUP);
	if (flags && unshare(flags) < 0) {
		isc_error_set(&err, errno, "create namespaces");
		init_fail(a, err);
	}
	/* The offsets of the new time namespace are written by the runtime
	 * through /proc/PID/timens_offsets: we stay non-dumpable (our /proc
	 * files are the host root's, so we could not write it ourselves). */
	if (ns->time_new &&
	    (isc_sync_send(a->sync_fd, ISC_SYNC_USERNS_READY, STAGE_WANTS_TIME_OFFSETS, NULL, 0, &err) < 0 ||
	     isc_sync_recv(a->sync_fd, ISC_SYNC_USERNS_DONE, NULL, &err) < 0))
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
	if (pid == 0) {
		/* the init: everything was joined by the stage already */
		char c;
		close(order[1]);
		while (read(order[0], &c, 1) < 0 && errno == EINTR)
			;
		close(order[0]);
		struct isc_ns_plan none = *ns;
		none.n_join = 0;
		none.user_new = false;
		struct init_args child = *a;
		child.ns = &none;
		prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
		init_setup(&child, &err);
		init_fail(&child, err);
	}
	if (isc_sync_send(a->sync_fd, ISC_SYNC_CHILD_PID, pid, NULL, 0, &err) < 0)
		_exit(1);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* the runtime side                                                    */

/* --debug: where the time goes, in ms since the first mark */
static void mark(const char *step)
{
	static uint64_t t0;
	if (!isc_log_debug_enabled())
		return;
	uint64_t now = isc_now_ns();
	if (t0 == 0)
		t0 = now;
	isc_debug("timing %8.3f ms  %s", (double)(now - t0) / 1e6, step);
}

/* The bound of a wait that spans the hooks of `kind`, which the
 * container's init runs meanwhile: the wait bound, plus each hook's
 * timeout (the wait bound for a hook without one). */
static int hooks_bound_ms(const struct isc_spec *spec, enum isc_hook_kind kind)
{
	int bound = isc_wait_bound_ms();
	long long total = bound;
	for (size_t i = 0; i < spec->n_hooks[kind]; i++)
		total += spec->hooks[kind][i].timeout > 0 ? spec->hooks[kind][i].timeout * 1000LL : bound;
	return total > INT_MAX ? INT_MAX : (int)total;
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

struct create_undo {
	struct isc_state_dir dir;
	bool have_dir;
	struct isc_cgroup *cg;
	pid_t pid;   /* init or stage to kill on failure */
	pid_t stage; /* stage process to reap */
	char *scratch_mount; /* org.isc.scratch mount point to tear down; NULL */
};

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
		if (isc_scratch_destroy(u->scratch_mount, &e) != 0) {
			isc_log_cleanup_error(e);
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

/* The devices cgroup: the config's rules, then the nodes every container
 * gets (null, zero, full, random, urandom, tty, ptmx, pts/N) and the
 * config's linux.devices.  Without rules in the config, everything else is
 * denied first: a minimal /dev is also a minimal set of devices. */
static struct isc_device_rule *device_rules(const struct isc_spec *spec, size_t *n)
{
	static const struct isc_device_rule defaults[] = {
		{ true, 'c', 1, 3, "rwm" },  /* null */
		{ true, 'c', 1, 5, "rwm" },  /* zero */
		{ true, 'c', 1, 7, "rwm" },  /* full */
		{ true, 'c', 1, 8, "rwm" },  /* random */
		{ true, 'c', 1, 9, "rwm" },  /* urandom */
		{ true, 'c', 5, 0, "rwm" },  /* tty */
		{ true, 'c', 5, 2, "rwm" },  /* ptmx */
		{ true, 'c', 136, -1, "rwm" }, /* pts/N */
	};
	const struct isc_resources *r = &spec->resources;
	size_t user = spec->has_resources ? r->n_devices : 0;
	size_t total = (user ? 0 : 1) + user + ARRAY_SIZE(defaults) + spec->n_devices;
	struct isc_device_rule *v = isc_xmalloc0(total * sizeof(*v));
	size_t k = 0;
	if (user == 0)
		v[k++] = (struct isc_device_rule){ false, 'a', -1, -1, "rwm" };
	for (size_t i = 0; i < user; i++)
		v[k++] = r->devices[i];
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		v[k++] = defaults[i];
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct isc_device *d = &spec->devices[i];
		if (d->type != 'c' && d->type != 'b' && d->type != 'u')
			continue;
		v[k++] = (struct isc_device_rule){ true, d->type == 'b' ? 'b' : 'c', d->major, d->minor, "rwm" };
	}
	*n = k;
	return v;
}

static pid_t raw_clone(unsigned long flags)
{
	/* fork-like: the child continues on a copy of our stack */
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

/* org.isc.scratch, before anything exists: the value, a mount namespace to
 * put it in, and the host ids that will own the data directory (the
 * process's user, through the user namespace's maps). */
static int scratch_prepare(const struct isc_spec *spec, const struct isc_ns_plan *ns, const char *value,
			   struct isc_scratch_opts *o, uint32_t *uid, uint32_t *gid, isc_error **err)
{
	if (isc_scratch_parse(value, o, err) < 0)
		return -1;
	const struct isc_namespace *mnt = isc_spec_namespace(spec, CLONE_NEWNS);
	if (mnt == NULL || mnt->path) {
		isc_scratch_opts_clear(o);
		return isc_error_set(err, EINVAL, "annotation %s: needs a new mount namespace", ISC_SCRATCH_ANNOTATION);
	}
	uint32_t cu = spec->process.uid, cg = spec->process.gid;
	int r = 0;
	if (ns->user_join && spec->n_uid_mappings == 0) {
		/* a joined user namespace: its maps, through /proc/PID/ns/user */
		const struct isc_namespace *u = isc_spec_namespace(spec, CLONE_NEWUSER);
		int pid = 0, end = 0;
		cleanup_free char *um = NULL, *gm = NULL;
		cleanup_error isc_error *e = NULL;
		if (u == NULL || u->path == NULL || sscanf(u->path, "/proc/%d/ns/user%n", &pid, &end) != 1 ||
		    u->path[end] != '\0') {
			r = isc_error_set(err, EINVAL, "annotation %s: cannot read the maps of user namespace %s",
					  ISC_SCRATCH_ANNOTATION, u && u->path ? u->path : "(none)");
		} else {
			cleanup_free char *up = isc_xasprintf("/proc/%d/uid_map", pid);
			cleanup_free char *gp = isc_xasprintf("/proc/%d/gid_map", pid);
			if (isc_read_file(up, &um, NULL, 0, &e) < 0 || isc_read_file(gp, &gm, NULL, 0, &e) < 0 ||
			    isc_scratch_map_id_text(um, cu, uid) < 0 || isc_scratch_map_id_text(gm, cg, gid) < 0)
				r = isc_error_set(err, EINVAL, "annotation %s: process.user %u:%u is not mapped in %s",
						  ISC_SCRATCH_ANNOTATION, cu, cg, u->path);
		}
	} else if (!ns->user_new && !ns->user_join) {
		*uid = cu;
		*gid = cg;
	} else if (isc_scratch_map_id(spec->uid_mappings, spec->n_uid_mappings, cu, uid) < 0 ||
		   isc_scratch_map_id(spec->gid_mappings, spec->n_gid_mappings, cg, gid) < 0) {
		r = isc_error_set(err, EINVAL, "annotation %s: process.user %u:%u is not mapped in the user namespace",
				  ISC_SCRATCH_ANNOTATION, cu, cg);
	}
	if (r < 0)
		isc_scratch_opts_clear(o);
	return r;
}

int isc_container_protect_binary(const struct isc_context *ctx, const char *id, bool could_write, isc_error **err)
{
	/* With a user namespace that maps neither the binary's owner nor (for a
	 * group-writable binary) its group, no process of the container can
	 * open it for writing: the copy is not needed (exeseal.c). */
	if (!could_write)
		return 0;
	if (isc_exe_sealed()) {
		isc_exe_restore_name();
		return 0;
	}
	if (!ctx->may_reexec)
		return isc_error_set(err, EPERM, "container %s could write this program's binary (no user namespace, "
						 "or one that maps its owner), and this process does not run from a "
						 "sealed copy of it", id);
	mark("re-exec from a sealed view of the binary");
	return isc_exe_reexec_sealed(ctx->root, err);
}

/* A look at the config's text before it is parsed: could it ask for a
 * user namespace?  Only a "user" that is the value of a key can be one
 * ("type": "user"); without any, there is none.  A spelling this misses
 * ("\u0075ser") only makes the re-exec happen early for a config that
 * might not have needed it. */
static bool may_ask_userns(const char *text)
{
	for (const char *p = strstr(text, "\"user\""); p; p = strstr(p + 1, "\"user\"")) {
		const char *q = p;
		while (q > text && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\n' || q[-1] == '\r'))
			q--;
		if (q > text && q[-1] == ':')
			return true;
	}
	return false;
}

static int check_mount_namespace(const struct isc_spec *spec, isc_error **err)
{
	const struct isc_namespace *mnt = isc_spec_namespace(spec, CLONE_NEWNS);
	if (mnt == NULL)
		return isc_error_set(err, 0, "linux.namespaces: a mount namespace is required "
						  "(isc-runtime never changes the caller's mount namespace)");
	if (mnt->path && mnt->path[0])
		return isc_error_set(err, 0, "linux.namespaces: mount namespace %s: joining a mount namespace "
						  "is not supported (isc-runtime builds the root only in a mount "
						  "namespace it creates)", mnt->path);
	return 0;
}

/* Everything but start: leaves a created container and its state.
 * `relay`: filled for a caller whose stdio is a terminal (pipes when
 * `foreground`, else /dev/null); the caller clears it. */
static int do_create(const struct isc_context *ctx, const struct isc_create_opts *o, bool foreground,
		     struct isc_relay *relay, pid_t *init_pid, isc_error **err)
{
	if (isc_state_check_id(o->id, err) < 0)
		return -1;
	mark("create: begin");

	char bundle[PATH_MAX];
	if (realpath(o->bundle ? o->bundle : ".", bundle) == NULL)
		return isc_error_set(err, errno, "bundle %s", o->bundle ? o->bundle : ".");
	cleanup_free char *config_text = NULL;
	size_t config_len = 0;
	cleanup_free char *config_path = isc_xasprintf("%s/config.json", bundle);
	if (isc_read_file(config_path, &config_text, &config_len, 0, err) < 0)
		return -1;
	/* A config without a user namespace: re-execute from a sealed copy of
	 * the binary now, before the parse that would then be done twice.  The
	 * others are decided once parsed (a map of the binary's owner). */
	if (!may_ask_userns(config_text) && isc_container_protect_binary(ctx, o->id, true, err) < 0)
		return -1;
	cleanup_spec struct isc_spec *spec = NULL;
	if (isc_spec_parse(config_text, config_len, &spec, err) < 0)
		return isc_error_wrap(err, "%s", config_path);
	if (isc_spec_check_host(spec, NULL, err) < 0)
		return -1;
	mark("config parsed");

	cleanup_free char *root_joined = spec->root_path[0] == '/' ? isc_xstrdup(spec->root_path)
								   : isc_xasprintf("%s/%s", bundle, spec->root_path);
	char rootfs[PATH_MAX];
	if (realpath(root_joined, rootfs) == NULL)
		return isc_error_set(err, errno, "root.path: rootfs %s", root_joined);
	struct stat rst;
	if (stat(rootfs, &rst) < 0)
		return isc_error_set(err, errno, "root.path: rootfs %s", rootfs);
	if (!S_ISDIR(rst.st_mode))
		return isc_error_set(err, ENOTDIR, "root.path: rootfs %s", rootfs);

	/* org.isc.image.root: the rootfs is an image of the store whose id is
	 * this Merkle root, and it still passes the quick check (refuse loudly
	 * otherwise, or when its last full verification failed) */
	const char *image_root = isc_spec_annotation(spec, ISC_IMAGE_ROOT_ANNOTATION);
	const char *image_store = isc_spec_annotation(spec, ISC_IMAGE_STORE_ANNOTATION);
	if (image_store && image_root == NULL)
		return isc_error_set(err, EINVAL, "annotation %s: needs %s", ISC_IMAGE_STORE_ANNOTATION,
				     ISC_IMAGE_ROOT_ANNOTATION);
	/* with a store: the rootfs is a mount (e.g. idmapped) of that store's
	 * image elsewhere; without: it is the store's path itself */
	if (image_root && (image_store ? isc_image_check_root_at(rootfs, image_root, image_store, err)
				       : isc_image_check_root(rootfs, image_root, err)) < 0)
		return isc_error_wrap(err, "refusing to start from image %s", image_root);
	mark("image checked");

	/* org.isc.landlock: checked now, applied by every process before exec */
	const char *ll_value = isc_spec_annotation(spec, ISC_LANDLOCK_ANNOTATION);
	if (ll_value) {
		struct isc_landlock ll;
		if (isc_landlock_parse(ll_value, &ll, err) < 0)
			return -1;
		bool bind = ll.restrict_bind;
		isc_landlock_clear(&ll);
		if (!spec->process.no_new_privileges)
			return isc_error_set(err, EINVAL, "annotation %s: needs process.noNewPrivileges",
					     ISC_LANDLOCK_ANNOTATION);
		int abi = isc_landlock_abi();
		if (abi < 1 || (bind && abi < 4))
			return isc_error_set(err, EOPNOTSUPP, "annotation %s: the kernel's Landlock ABI is %d%s",
					     ISC_LANDLOCK_ANNOTATION, abi, bind ? " (bind= needs 4)" : "");
	}

	if (spec->process.terminal && o->console_socket == NULL)
		return isc_error_set(err, EINVAL, "process.terminal is true but no --console-socket was given");
	int listen = isc_container_listen_fds();
	if (o->preserve_fds < 0 || listen + o->preserve_fds > ISC_MAX_PRESERVE_FDS)
		return isc_error_set(err, EINVAL, "--preserve-fds %d: at most %d fds", o->preserve_fds,
				     ISC_MAX_PRESERVE_FDS - listen);
	if (isc_container_check_preserved(listen + o->preserve_fds, err) < 0)
		return -1;

	if (spec->hostname && isc_spec_namespace(spec, CLONE_NEWUTS) == NULL)
		return isc_error_set(err, EINVAL, "hostname: cannot set a hostname without a UTS namespace");
	if (spec->domainname && isc_spec_namespace(spec, CLONE_NEWUTS) == NULL)
		return isc_error_set(err, EINVAL, "domainname: cannot set a domainname without a UTS namespace");

	struct isc_ns_plan ns;
	if (isc_ns_plan_make(spec, &ns, err) < 0)
		return -1;
	if (!ns.user_new && !ns.user_join && (spec->n_uid_mappings || spec->n_gid_mappings)) {
		isc_ns_plan_close(&ns);
		return isc_error_set(err, EINVAL, "linux.uidMappings given without a user namespace");
	}

	/* org.isc.audit.id: a container that holds CAP_AUDIT_CONTROL in the
	 * host's user namespace could change its loginuid: refused */
	uint32_t audit_id = 0;
	const char *audit_value = isc_spec_annotation(spec, ISC_AUDIT_ID_ANNOTATION);
	if (audit_value) {
		if (isc_audit_id_parse(audit_value, &audit_id, err) < 0) {
			isc_ns_plan_close(&ns);
			return isc_error_wrap(err, "annotation");
		}
		if (!ns.user_new && !ns.user_join && (spec->process.caps.bounding & (1ULL << CAP_AUDIT_CONTROL))) {
			isc_ns_plan_close(&ns);
			return isc_error_set(err, EINVAL, "annotation %s: the container would keep CAP_AUDIT_CONTROL "
							  "without a user namespace and could change its audit identity",
					     ISC_AUDIT_ID_ANNOTATION);
		}
	} else if (isc_audit_lock_loginuid(err) < 0) {
		/* no audit id: the init inherits ours, never an unset one */
		isc_ns_plan_close(&ns);
		return -1;
	}

	/* org.isc.scratch: validated before anything exists */
	const char *scratch_value = isc_spec_annotation(spec, ISC_SCRATCH_ANNOTATION);
	struct isc_scratch_opts sopt = { 0 };
	uint32_t scratch_uid = 0, scratch_gid = 0;
	if (scratch_value && scratch_prepare(spec, &ns, scratch_value, &sopt, &scratch_uid, &scratch_gid, err) < 0) {
		isc_ns_plan_close(&ns);
		return -1;
	}

	/* The root is built (pivot_root, propagation, mounts) only in a mount
	 * namespace made for the container: the caller's is never changed, and
	 * another one joined by path belongs to someone else. */
	if (check_mount_namespace(spec, err) < 0) {
		isc_ns_plan_close(&ns);
		isc_scratch_opts_clear(&sopt);
		return -1;
	}

	/* Nothing exists yet: the last moment to re-execute from a sealed copy
	 * of the binary, when the container could write it (exeseal.c). */
	bool could_write = true;
	if ((ns.user_new && isc_exe_container_could_write(spec->uid_mappings, spec->n_uid_mappings,
							  spec->gid_mappings, spec->n_gid_mappings, &could_write,
							  err) < 0) ||
	    isc_container_protect_binary(ctx, o->id, could_write, err) < 0) {
		isc_ns_plan_close(&ns);
		isc_scratch_opts_clear(&sopt);
		return -1;
	}

	struct isc_seccomp_filter *filter = NULL;
	if (spec->seccomp && isc_seccomp_prepare(spec->seccomp, ctx->seccomp_cache, &filter, err) < 0) {
		isc_ns_plan_close(&ns);
		isc_scratch_opts_clear(&sopt);
		return isc_error_wrap(err, "linux.seccomp");
	}
	isc_debug("seccomp: %s", filter ? (filter->from_cache ? "from cache" : "compiled") : "none");
	mark("seccomp ready");

	struct isc_resources res = spec->resources;
	size_t n_rules = 0;
	cleanup_free struct isc_device_rule *rules = device_rules(spec, &n_rules);
	res.devices = rules;
	res.n_devices = n_rules;

	struct create_undo u = { .pid = -1, .stage = -1 };
	int ret = -1;
	int sv[2] = { -1, -1 };
	int con[2] = { -1, -1 };
	int master = -1;
	int fifo_fd = -1;
	int notify_fd = -1;
	const char *notify_path = getenv("NOTIFY_SOCKET");
	if (notify_path && notify_path[0] != '/')
		notify_path = NULL; /* abstract or relative: not proxied */
	struct isc_state st = { 0 };
	struct isc_scratch scratch = { .tree_fd = -1 };

	if (isc_state_dir_create(ctx->root, o->id, &u.dir, err) < 0)
		goto out;
	u.have_dir = true;

	if (mkfifoat(u.dir.dir_fd, "exec.fifo", 0600) < 0) {
		isc_error_set(err, errno, "create %s/%s/exec.fifo", ctx->root, o->id);
		goto out;
	}
	/* The init, no longer root on the host, opens it through its fd: the
	 * 0700 state directory keeps everyone else out. */
	if (fchmodat(u.dir.dir_fd, "exec.fifo", 0622, 0) < 0) {
		isc_error_set(err, errno, "chmod exec.fifo");
		goto out;
	}
	fifo_fd = openat(u.dir.dir_fd, "exec.fifo", O_PATH | O_CLOEXEC);
	if (fifo_fd < 0) {
		isc_error_set(err, errno, "open exec.fifo");
		goto out;
	}
	/* The hooks that run after create and exec's defaults come from this
	 * copy, not from the bundle, which may have changed since. */
	bool save_hooks = spec->n_hooks[ISC_HOOK_POSTSTART] + spec->n_hooks[ISC_HOOK_POSTSTOP] > 0 ||
			  spec->n_hooks[ISC_HOOK_START_CONTAINER] > 0; /* start's wait bound counts them */
	if (isc_write_file_atomic(u.dir.dir_fd, "config.json", config_text, config_len, 0600, err) < 0)
		goto out;

	bool mounts_cgroups = false;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].type && strncmp(spec->mounts[i].type, "cgroup", 6) == 0)
			mounts_cgroups = true;

	st.id = isc_xstrdup(o->id);
	st.bundle = isc_xstrdup(bundle);
	st.rootfs = isc_xstrdup(rootfs);
	st.creator_pid = getpid();
	st.creator_start_time = isc_proc_start_time(getpid());
	st.created = isc_rfc3339_now();
	st.annotations_json = annotations_json(spec);
	st.owner = geteuid();
	st.notify_socket = notify_path ? isc_xstrdup(notify_path) : NULL;
	st.hooks_saved = save_hooks;
	/* The groups about to be made, recorded before the first mkdir: a
	 * create killed while making them leaves a state whose delete
	 * --force removes them (and a new create of this id says it exists). */
	if (!ctx->no_cgroups) {
		struct isc_cgroup *plan = NULL;
		if (isc_cgroup_plan(spec->cgroups_path, o->id, &res, mounts_cgroups, &plan, err) < 0) {
			isc_error_wrap(err, "cgroup");
			goto out;
		}
		st.cgroup = isc_cgroup_serialize(plan);
		isc_cgroup_free(plan);
		if (isc_state_write(&u.dir, &st, err) < 0)
			goto out;
	}
	if (ctx->no_cgroups) {
		/* --cgroup-manager disabled: the caller manages (or forgoes) cgroups */
		if (spec->has_resources && (spec->resources.has_memory_limit || spec->resources.has_pids_limit ||
					    spec->resources.has_cpu_quota || spec->resources.has_cpu_shares))
			isc_warn("--cgroup-manager disabled: linux.resources limits are not applied");
	} else if (isc_cgroup_create(spec->cgroups_path, o->id, &res, mounts_cgroups, &u.cg, err) < 0) {
		isc_error_wrap(err, "cgroup");
		goto out;
	}
	mark("cgroups created");

	free(st.cgroup);
	st.cgroup = u.cg ? isc_cgroup_serialize(u.cg) : NULL;
	if (scratch_value) {
		/* recorded before it exists: a delete after a crash finds it */
		u.scratch_mount = isc_xasprintf("%s/%s/scratch", ctx->root, o->id);
		scratch.mount = u.scratch_mount;
		st.scratch = isc_scratch_record(&scratch);
		scratch.mount = NULL;
	}
	if (isc_state_write(&u.dir, &st, err) < 0)
		goto out;
	if (scratch_value) {
		cleanup_free char *cache = isc_xasprintf("%s/.cache/scratch", ctx->root);
		if (isc_scratch_setup(&sopt, cache, u.dir.dir_fd, u.scratch_mount, scratch_uid, scratch_gid, o->id,
				      &scratch, err) < 0)
			goto out;
		free(st.scratch);
		st.scratch = isc_scratch_record(&scratch);
		mark("scratch ready");
	}

	/* NOTIFY_SOCKET (sd_notify): the container gets a directory of its own
	 * at ISC_NOTIFY_DIR, read-only to it; `start` binds the socket there
	 * and forwards what the service sends to the caller's socket until
	 * READY=1. */
	const char *notify_dir = ISC_NOTIFY_DIR_DEV;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (strcmp(spec->mounts[i].destination, "/run") == 0 && spec->mounts[i].type &&
		    strcmp(spec->mounts[i].type, "tmpfs") == 0)
			notify_dir = ISC_NOTIFY_DIR_RUN;
	if (notify_path) {
		if (mkdirat(u.dir.dir_fd, "notify", 0711) < 0 || fchmodat(u.dir.dir_fd, "notify", 0711, 0) < 0) {
			isc_error_set(err, errno, "NOTIFY_SOCKET: create %s/%s/notify", ctx->root, o->id);
			goto out;
		}
		notify_fd = open_tree(u.dir.dir_fd, "notify", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (notify_fd < 0) {
			isc_error_set(err, errno, "NOTIFY_SOCKET: open_tree");
			goto out;
		}
		/* Read-only for the container (N4): without a user namespace its
		 * root would own this host directory (in the runtime's state root,
		 * the host's /run by default) and could fill it, squat the
		 * socket's name before `start`, or leave what `delete` had to
		 * walk.  Sending to a socket needs no writable mount. */
		struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						     MOUNT_ATTR_NOEXEC };
		if (mount_setattr(notify_fd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0) {
			isc_error_set(err, errno, "NOTIFY_SOCKET: make the mount read-only");
			goto out;
		}
		struct isc_process *proc = &spec->process;
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

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		isc_error_set(err, errno, "socketpair");
		goto out;
	}

	if (spec->process.terminal && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, con) < 0) {
		isc_error_set(err, errno, "socketpair");
		goto out;
	}

	struct init_args args = {
		.spec = spec, .rootfs = rootfs, .bundle = bundle, .id = o->id,
		.sync_fd = sv[1], .fifo_fd = fifo_fd, .ns = &ns, .filter = filter,
		.in_userns = ns.user_new || ns.user_join,
		.console_fd = con[1], .relay = relay, .n_preserve = listen + o->preserve_fds,
		.listen_fds = listen > 0,
		.scratch_fd = scratch.tree_fd, .scratch_path = sopt.path, .notify_fd = notify_fd,
		.notify_dir = notify_dir, .audit_id = audit_id,
	};
	if (isc_rootfs_guard_record(&args.guard, err) < 0)
		goto out;
	(void)isc_cap_last_kernel(); /* cached here, before any namespace or filter */
	/* process.terminal: the init's stdio is its own terminal */
	if (!spec->process.terminal && isc_relay_prepare(relay, foreground ? ISC_RELAY_FOREGROUND : ISC_RELAY_DETACHED, err) < 0)
		goto out;
	/* staged when a namespace is joined, for a time namespace, and for an
	 * audit identity (set before the user namespace exists) */
	bool staged = ns.n_join > 0 || ns.time_new || audit_id != 0;
	/* The cgroup namespace is unshared by the init once it is in its groups. */
	unsigned long clone_flags = staged ? 0 : (unsigned long)(ns.new_flags & ~CLONE_NEWCGROUP);
	pid_t child = raw_clone(clone_flags);
	if (child < 0) {
		isc_error_set(err, errno, "clone the container init");
		goto out;
	}
	if (child == 0) {
		isc_closep(&sv[0]);
		isc_closep(&con[0]);
		if (staged)
			stage_main(&args);
		init_main(&args);
	}
	isc_closep(&sv[1]);
	isc_closep(&con[1]);
	isc_relay_close_child(relay);
	u.pid = child;
	mark("init cloned");
	if (staged)
		u.stage = child;

	/* Runtime-side setup of the new process, before it may go on. */
	if (ns.user_new && !staged && isc_ns_write_idmaps(child, spec, err) < 0)
		goto out;
	if (u.cg && isc_cgroup_attach(u.cg, child, err) < 0) {
		isc_error_wrap(err, "cgroup");
		goto out;
	}
	if (spec->process.has_oom_score_adj) {
		char path[64], val[16];
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)child);
		int n = snprintf(val, sizeof(val), "%d", spec->process.oom_score_adj);
		if (isc_write_file(path, val, (size_t)n, err) < 0) {
			isc_error_wrap(err, "process.oomScoreAdj %d", spec->process.oom_score_adj);
			goto out;
		}
	}
	if (sync_send_or_cause(sv[0], ISC_SYNC_GO, err) < 0)
		goto out;
	mark("init attached and released");

	if (staged) {
		for (int want = STAGE_WANTS_IDMAPS; want <= STAGE_WANTS_TIME_OFFSETS; want++) {
			if (want == STAGE_WANTS_IDMAPS ? !ns.user_new : !ns.time_new)
				continue;
			int32_t asked = -1;
			if (isc_sync_recv_within(sv[0], ISC_SYNC_USERNS_READY, &asked, isc_wait_bound_ms(),
						 "the stage's namespaces", err) < 0)
				goto out;
			if (asked != want) {
				isc_error_set(err, EPROTO, "sync socket: the stage asked for step %d, not %d", asked, want);
				goto out;
			}
			if ((want == STAGE_WANTS_IDMAPS ? isc_ns_write_idmaps(child, spec, err)
							: isc_ns_set_time_offsets(child, spec, err)) < 0)
				goto out;
			if (sync_send_or_cause(sv[0], ISC_SYNC_USERNS_DONE, err) < 0)
				goto out;
		}
		int32_t gpid = 0;
		if (isc_sync_recv_within(sv[0], ISC_SYNC_CHILD_PID, &gpid, isc_wait_bound_ms(), "the init's pid",
					 err) < 0)
			goto out;
		waitpid(child, NULL, 0);
		u.stage = -1;
		u.pid = gpid;
	}
	st.pid = u.pid;
	/* before CREATED: nothing of the container's has run yet */
	if (pid_sysctls(spec, u.pid, err) < 0)
		goto out;

	for (;;) {
		/* the init runs the createContainer hooks before it is created */
		int t = isc_sync_recv_within(sv[0], 0, NULL, hooks_bound_ms(spec, ISC_HOOK_CREATE_CONTAINER),
					     "the container init's setup", err);
		if (t < 0)
			goto out;
		if (t == ISC_SYNC_CREATED)
			break;
		if (t == ISC_SYNC_HOOKS) {
			/* prestart: `created` (runtime-spec lifecycle step 3, after
			 * step 2 "creating"); createRuntime: during create */
			cleanup_free char *pre = isc_state_oci_json(&st, ISC_STATUS_CREATED);
			cleanup_free char *sj = isc_state_oci_json(&st, ISC_STATUS_CREATING);
			if (isc_hooks_run(spec, ISC_HOOK_PRESTART, pre, err) < 0 ||
			    isc_hooks_run(spec, ISC_HOOK_CREATE_RUNTIME, sj, err) < 0)
				goto out;
			if (sync_send_or_cause(sv[0], ISC_SYNC_HOOKS_DONE, err) < 0)
				goto out;
			continue;
		}
		isc_error_set(err, EPROTO, "sync socket: unexpected message %d", t);
		goto out;
	}

	if (con[0] >= 0) {
		/* the init sent its pty master before CREATED */
		if (isc_terminal_recv_fd(con[0], &master, err) < 0)
			goto out;
		if (master < 0) {
			isc_error_set(err, EPROTO, "process.terminal: the init sent no terminal");
			goto out;
		}
		if (isc_terminal_send_console(o->console_socket, master, err) < 0)
			goto out;
	}
	st.pid_start_time = isc_proc_start_time(st.pid);
	mark("init reported created");
	st.creator_pid = 0; /* created: nobody is creating it any more */
	st.creator_start_time = 0;
	if (isc_state_write(&u.dir, &st, err) < 0)
		goto out;
	if (o->pid_file && isc_container_write_pid_file(o->pid_file, st.pid, err) < 0)
		goto out;
	*init_pid = st.pid;
	ret = 0;
	mark("create: done");
out:
	isc_closep(&sv[0]);
	isc_closep(&sv[1]);
	isc_closep(&con[0]);
	isc_closep(&con[1]);
	isc_closep(&master);
	isc_closep(&fifo_fd);
	isc_closep(&notify_fd);
	isc_scratch_clear(&scratch);
	isc_scratch_opts_clear(&sopt);
	isc_ns_plan_close(&ns);
	if (filter)
		isc_seccomp_filter_free(filter);
	if (ret < 0) {
		undo_create(&u);
	} else {
		if (u.cg)
			isc_cgroup_free(u.cg);
		free(u.scratch_mount);
		isc_state_dir_close(&u.dir);
	}
	isc_state_clear(&st);
	return ret;
}

int isc_container_create(const struct isc_context *ctx, const struct isc_create_opts *o, isc_error **err)
{
	pid_t pid;
	struct isc_relay relay = ISC_RELAY_INIT;
	int r = do_create(ctx, o, false, &relay, &pid, err);
	isc_relay_clear(&relay);
	return r;
}

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

/* The container's end of the sd_notify proxy: <state>/<id>/notify/notify.sock,
 * seen in the container as ISC_NOTIFY_DIR/ISC_NOTIFY_SOCK. */
static int notify_bind(const struct isc_state_dir *d, isc_error **err)
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
	 * never a chmod through a name (the container cannot write the folder
	 * since N4, but a chmod by name would follow a symlink) */
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
 * effort: a caller that went away does not fail start.  Bounded (issue 14):
 * 90 s (systemd's default start timeout) or ISC_RUNTIME_WAIT_SECONDS; then a
 * warning, and start ends (the container runs; the caller's timeout acts). */
static void notify_forward(int fd, int pidfd, pid_t mainpid, const char *to)
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
		int pr = isc_poll_within(p, pidfd >= 0 ? 2 : 1, now >= deadline ? 0 : (int)((deadline - now) / 1000000ull) + 1);
		if (pr == 0)
			isc_warn("start: NOTIFY_SOCKET: no READY=1 from the container within %d s: not forwarded (the container "
				 "runs)", bound / 1000);
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
						(void)sendto(out, msg, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&dst,
							     sizeof(dst));
					return;
				}
			continue;
		}
		if (p[1].revents & POLLIN)
			return; /* the service died before it was ready */
	}
}

int isc_container_start(const struct isc_context *ctx, const char *id, isc_error **err)
{
	struct isc_state_dir d;
	if (isc_state_dir_open(ctx->root, id, true, &d, err) < 0)
		return -1;
	struct isc_state st;
	int ret = -1;
	cleanup_close int pidfd = -1;
	cleanup_close int fifo = -1;
	cleanup_close int notify = -1;
	cleanup_free char *cfg = NULL;
	if (isc_state_read(&d, &st, err) < 0)
		goto out_dir;
	enum isc_status s = isc_state_status(&d, &st);
	if (s != ISC_STATUS_CREATED) {
		if (s == ISC_STATUS_STOPPED && isc_state_unseen_errno() != 0)
			isc_error_set(err, isc_state_unseen_errno(), "start container %s: read /proc/%d/stat of its init",
				      id, (int)st.pid);
		else if (s == ISC_STATUS_STOPPED)
			isc_error_set(err, 0, "cannot start a container that has stopped");
		else
			isc_error_set(err, 0, "cannot start container %s: it is %s, not created", id,
				      isc_status_name(s));
		goto out;
	}
	pidfd = isc_container_pidfd_open(&st);
	if (pidfd < 0) {
		if (errno == ESRCH)
			isc_error_set(err, 0, "cannot start a container that has stopped");
		else
			isc_error_set(err, errno, "start container %s: look at its init %d (pidfd_open, /proc/%d/stat)", id,
				      (int)st.pid, (int)st.pid);
		goto out;
	}
	/* NOTIFY_SOCKET: bound before the init is released, so nothing the
	 * service sends can be lost */
	if (st.notify_socket && (notify = notify_bind(&d, err)) < 0)
		goto out;
	fifo = openat(d.dir_fd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0) {
		isc_error_set(err, errno, "open exec.fifo of %s", id);
		goto out;
	}
	/* both waits below are bounded (the init's steps, not its lifetime);
	 * the second spans the startContainer hooks the init runs */
	int bound = isc_wait_bound_ms(), exec_bound = bound;
	if (st.hooks_saved) {
		cleanup_error isc_error *e = NULL;
		cleanup_spec struct isc_spec *spec = NULL;
		cleanup_free char *text = NULL;
		size_t len = 0;
		if (isc_read_file_at(d.dir_fd, "config.json", &text, &len, 0, &e) == 0 &&
		    isc_spec_parse(text, len, &spec, &e) == 0)
			exec_bound = hooks_bound_ms(spec, ISC_HOOK_START_CONTAINER);
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = fifo, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		int pr = isc_poll_within(p, 2, bound);
		if (pr <= 0) {
			if (pr < 0)
				isc_error_set(err, errno, "wait for the container init on %s/%s/exec.fifo", ctx->root, id);
			else
				isc_error_set(err, 0, "wait for the container init on %s/%s/exec.fifo: nothing within %d s",
					      ctx->root, id, bound / 1000);
			goto out;
		}
		if (p[0].revents & POLLIN) {
			char c;
			if (read(fifo, &c, 1) == 1)
				break;
		}
		if (p[1].revents & POLLIN) {
			isc_error_set(err, 0, "container init exited before start");
			goto out;
		}
	}
	/* Released.  The init keeps its end open until its execve (or its
	 * death) closes it: EOF means the user's program runs. */
	uint64_t exec_deadline = isc_now_ns() + (uint64_t)exec_bound * 1000000ull;
	for (;;) {
		struct pollfd p = { .fd = fifo, .events = POLLIN };
		uint64_t now = isc_now_ns();
		int left = now >= exec_deadline ? 0 : (int)((exec_deadline - now) / 1000000ull) + 1;
		int pr = isc_poll_within(&p, 1, left);
		if (pr <= 0) {
			if (pr < 0)
				isc_error_set(err, errno, "wait for the container init's exec (%s/%s/exec.fifo)", ctx->root, id);
			else
				isc_error_set(err, 0, "wait for the container init's exec (%s/%s/exec.fifo): not done within %d s",
					      ctx->root, id, exec_bound / 1000);
			goto out;
		}
		char c;
		ssize_t n = read(fifo, &c, 1);
		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			isc_error_set(err, errno, "wait for the container init's exec");
			goto out;
		}
	}
	/* Running from now on: the status derives from the fifo being gone
	 * (isc_state_status), so the state file needs no rewrite. */
	if (unlinkat(d.dir_fd, "exec.fifo", 0) < 0) {
		isc_error_set(err, errno, "remove exec.fifo of %s", id);
		goto out;
	}
	mark("start: init released");
	if (notify >= 0)
		notify_forward(notify, pidfd, st.pid, st.notify_socket);
	ret = 0;
	/* poststart hooks: a failure is a warning (isc_hooks_run logs it), the
	 * container runs */
	if (st.hooks_saved) {
		cleanup_error isc_error *e = NULL;
		cleanup_spec struct isc_spec *spec = NULL;
		size_t len = 0;
		if (isc_read_file_at(d.dir_fd, "config.json", &cfg, &len, 0, &e) == 0 &&
		    isc_spec_parse(cfg, len, &spec, &e) == 0 && spec->n_hooks[ISC_HOOK_POSTSTART] > 0) {
			cleanup_free char *sj = isc_state_oci_json(&st, ISC_STATUS_RUNNING);
			(void)isc_hooks_run(spec, ISC_HOOK_POSTSTART, sj, &e);
		}
	}
out:
	isc_state_clear(&st);
out_dir:
	isc_state_dir_close(&d);
	return ret;
}

int isc_container_state(const struct isc_context *ctx, const char *id, char **json, isc_error **err)
{
	struct isc_state_dir d;
	/* no lock: state.json is replaced atomically, and `state` must answer
	 * while another command holds the lock */
	if (isc_state_check_id(id, err) < 0)
		return -1;
	d.root = (char *)ctx->root;
	d.id = (char *)id;
	cleanup_close int rfd = open(ctx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return isc_error_set(err, 0, "container \"%s\" does not exist", id);
	cleanup_close int dfd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return isc_error_set(err, 0, "container \"%s\" does not exist", id);
	d.root_fd = rfd;
	d.dir_fd = dfd;
	struct isc_state st;
	if (isc_state_read(&d, &st, err) < 0)
		return -1;
	enum isc_status s = isc_state_status(&d, &st);
	*json = isc_state_oci_json(&st, s);
	isc_state_clear(&st);
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

int isc_container_kill(const struct isc_context *ctx, const char *id, int sig, bool all, isc_error **err)
{
	struct isc_state_dir d;
	if (isc_state_dir_open(ctx->root, id, true, &d, err) < 0)
		return -1;
	struct isc_state st;
	int ret = -1;
	cleanup_close int pidfd = -1;
	if (isc_state_read(&d, &st, err) < 0)
		goto out_dir;
	enum isc_status s = isc_state_status(&d, &st);
	if (s == ISC_STATUS_STOPPED || st.pid <= 0) {
		isc_error_set(err, 0, "container not running");
		goto out;
	}
	if (all && st.cgroup) {
		struct isc_cgroup *cg = NULL;
		if (isc_cgroup_deserialize(st.cgroup, &cg, err) < 0)
			goto out;
		int r = isc_cgroup_kill_all(cg, sig, err);
		isc_cgroup_free(cg);
		if (r < 0)
			goto out;
		ret = 0;
		goto out;
	}
	pidfd = isc_container_pidfd_open(&st);
	if (pidfd < 0) {
		isc_error_set(err, 0, "container not running");
		goto out;
	}
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
		isc_error_set(err, errno, "kill container %s with signal %d", id, sig);
		goto out;
	}
	/* a frozen (paused) init acts on SIGKILL only once thawed */
	if (isc_control_thaw_after_kill(&st, sig, err) < 0)
		goto out;
	ret = 0;
out:
	isc_state_clear(&st);
out_dir:
	isc_state_dir_close(&d);
	return ret;
}

static int destroy_locked(struct isc_state_dir *d, struct isc_state *st, bool force, isc_error **err)
{
	enum isc_status s = isc_state_status(d, st);
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
				return isc_error_set(err, ETIMEDOUT, "container %s: init did not exit after SIGKILL", d->id);
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
		int r = isc_scratch_destroy(mnt, err);
		if (r < 0)
			return isc_error_wrap(err, "container %s", d->id);
		if (r > 0) {
			isc_log_error(*err);
			isc_error_free(err);
		}
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
	struct isc_state_dir d;
	if (isc_state_dir_open(ctx->root, id, true, &d, err) < 0)
		return -1;
	struct isc_state st;
	if (isc_state_read(&d, &st, err) < 0) {
		isc_state_dir_close(&d);
		return -1;
	}
	int r = destroy_locked(&d, &st, force, err);
	if (d.dir_fd >= 0)
		isc_state_dir_close(&d);
	isc_state_clear(&st);
	return r;
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

void isc_container_keep_fds(int n)
{
	for (int fd = 3; fd < 3 + n; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && (fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	}
}

char **isc_container_env_listen(char **env, pid_t pid, int n)
{
	size_t len = 0;
	for (char **e = env; e && *e; e++)
		len++;
	char **v = isc_xmalloc0((len + 3) * sizeof(*v));
	size_t k = 0;
	for (char **e = env; e && *e; e++)
		if (strncmp(*e, "LISTEN_PID=", 11) != 0 && strncmp(*e, "LISTEN_FDS=", 11) != 0)
			v[k++] = isc_xstrdup(*e);
	v[k++] = isc_xasprintf("LISTEN_FDS=%d", n);
	v[k++] = isc_xasprintf("LISTEN_PID=%d", (int)pid);
	return v;
}

int isc_container_check_preserved(int n, isc_error **err)
{
	/* An fd the caller passed has no FD_CLOEXEC (it survived our execve);
	 * every fd the runtime opens has it: this keeps our own fds (state
	 * directory, log) out of the container when N is larger than what the
	 * caller really passed. */
	for (int fd = 3; fd < 3 + n; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl < 0 || (fl & FD_CLOEXEC))
			return isc_error_set(err, 0, "--preserve-fds/LISTEN_FDS: fd %d was not passed to isc-runtime", fd);
	}
	return 0;
}

int isc_container_listen_fds(void)
{
	const char *fds = getenv("LISTEN_FDS");
	if (fds == NULL || *fds == '\0')
		return 0;
	/* like sd_listen_fds(): only when meant for us (or no LISTEN_PID) */
	const char *lp = getenv("LISTEN_PID");
	uint64_t v = 0;
	if (lp && *lp && (isc_parse_u64(lp, &v) < 0 || v != (uint64_t)getpid()))
		return 0;
	if (isc_parse_u64(fds, &v) < 0 || v > ISC_MAX_PRESERVE_FDS)
		return 0;
	return (int)v;
}

int isc_container_run(const struct isc_context *ctx, const struct isc_create_opts *o, int *exit_status,
		      isc_error **err)
{
	/* the init of a staged create is our grandchild: become its reaper */
	if (!o->detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	pid_t pid = 0;
	__attribute__((cleanup(isc_relay_clear))) struct isc_relay relay = ISC_RELAY_INIT;
	if (do_create(ctx, o, !o->detach, &relay, &pid, err) < 0)
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
			isc_warn("%s: the container's output is not relayed from here on", isc_error_text(rerr, buf, sizeof(buf)));
		}
	}
	int status = 0;
	for (;;) {
		pid_t w = waitpid(-1, &status, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			isc_error_set(err, errno, "wait for container %s (it and its state are left: delete --force removes them)",
				      o->id);
			return -1;
		}
		if (w == pid)
			break;
	}
	forward_pid = 0;
	mark("run: container exited");
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (isc_container_delete(ctx, o->id, true, err) < 0)
		return isc_error_wrap(err, "container %s exited with status %d; its state is left for delete --force",
				      o->id, *exit_status);
	mark("run: deleted");
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
