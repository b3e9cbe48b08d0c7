/* SPDX-License-Identifier: GPL-2.0-or-later
 * exec: one more process in a running container.
 *
 * runtime: state (shared lock), the container's saved config.json, the
 *   process (process.json or argv over the container's process), checks
 *   that it asks for nothing the container was not given, seccomp ready,
 *   a pidfd of the init and the namespaces that differ from ours;
 * stage (forked): non-dumpable, waits for GO (the runtime moved it into the
 *   container's cgroups), setns(pidfd, every namespace) in one call, becomes
 *   root of a joined user namespace, clone(CLONE_PARENT) -- a pid namespace
 *   applies to children only -- and reports the pid;
 * process: a session of its own, terminal, rlimits, umask, cwd,
 *   no_new_privs, user, capabilities, seccomp, execve.  The sync socket is
 *   O_CLOEXEC: the runtime learns that execve succeeded when the socket
 *   closes without an error message.
 * The caller's terminal never reaches the process (relay.h): without
 *   --tty, a terminal on the runtime's stdio is replaced by a pipe the
 *   runtime copies through (or /dev/null with --detach), before the stage
 *   runs anything; so is a host object (a file, a device) in the
 *   foreground, and for isc exec (relay_all) every fd.
 */
#include "runtime/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit-client.h"
#include "audit/audit-id.h"
#include "kernel/caps.h"
#include "kernel/cgroup.h"
#include "kernel/exeseal.h"
#include "base/log.h"
#include "runtime/relay.h"
#include "kernel/seccomp.h"
#include "base/sync.h"
#include "kernel/terminal.h"
#include "base/util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct exec_args {
	const struct isc_spec *cspec; /* the container's config */
	const struct isc_process *proc;
	struct isc_seccomp_filter *filter;
	int pidfd;
	int ns_flags;
	bool join_user;
	int sync_fd;
	int console_fd;
	const struct isc_relay *relay; /* stdio in place of the caller's terminal */
	int n_preserve;
	bool listen;
	uint32_t audit_id; /* org.isc.audit.id of the container, 0 = none */
};

static const struct {
	const char *name;
	int type;
} ns_types[] = {
	{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID },
	{ "net", CLONE_NEWNET }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

/* The namespaces of `pid` that are not ours. */
static int ns_to_join(pid_t pid, int *flags, isc_error **err)
{
	*flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ns_types); i++) {
		char path[64];
		struct stat theirs, ours;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_types[i].name);
		if (stat(path, &theirs) < 0) {
			if (errno == ENOENT)
				continue; /* not supported by this kernel */
			return isc_error_set(err, errno, "%s", path);
		}
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_types[i].name);
		if (stat(path, &ours) < 0)
			return isc_error_set(err, errno, "%s", path);
		if (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)
			*flags |= ns_types[i].type;
	}
	return 0;
}

/* Could the container of init `pid` write our binary (exeseal.c)?  Its
 * user namespace's maps say; the host's maps every id onto itself. */
static int protect_binary(const struct isc_context *ctx, const char *id, pid_t pid, isc_error **err)
{
	char up[64], gp[64];
	snprintf(up, sizeof(up), "/proc/%d/uid_map", (int)pid);
	snprintf(gp, sizeof(gp), "/proc/%d/gid_map", (int)pid);
	cleanup_free char *um = NULL, *gm = NULL;
	bool could = true;
	if (isc_read_file(up, &um, NULL, 0, err) < 0 || isc_read_file(gp, &gm, NULL, 0, err) < 0 ||
	    isc_exe_container_could_write_text(um, gm, &could, err) < 0)
		return isc_error_wrap(err, "container %s: its user namespace", id);
	return isc_container_protect_binary(ctx, id, could, err);
}

int isc_container_exec_seal(const struct isc_context *ctx, const char *id, isc_error **err)
{
	cleanup_state_handle struct isc_state_handle h;
	if (isc_state_open(ctx->root, id, ISC_STATE_SHARED, &h, err) < 0)
		return -1;
	if (!isc_state_pid_alive(&h.st))
		return isc_error_set(err, 0, "container %s is not running: stopped", id);
	/* unlocked before a re-execution from the sealed binary */
	isc_state_release_dir(&h);
	return protect_binary(ctx, id, h.st.pid, err);
}

/* ------------------------------------------------------------------ */
/* in the container                                                    */

static int exec_setup(struct exec_args *a, isc_error **err)
{
	const struct isc_process *p = a->proc;
	const struct isc_spec *cs = a->cspec;

	if (isc_terminal_new_session(err) < 0)
		return isc_error_wrap(err, "exec");
	if (a->console_fd >= 0) {
		cleanup_close int master = -1;
		if (isc_terminal_setup(p->console_height, p->console_width, p->uid, &master, err) < 0)
			return isc_error_wrap(err, "exec: terminal");
		if (isc_terminal_send_fd(a->console_fd, master, "/dev/ptmx", err) < 0)
			return -1;
		isc_closep(&a->console_fd);
	}
	cleanup_strv char **env_listen = NULL;
	cleanup_free char *exe = NULL;
	if (isc_container_process_setup(p, cs, a->filter, a->n_preserve, a->listen, &env_listen, &exe, err) < 0)
		return -1;
	char **env = env_listen ? env_listen : p->env;

	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	execve(exe, p->args, env);
	return isc_error_set(err, errno, "exec: \"%s\"", exe);
}

static int close_fds_but(const int *keep_in, size_t n_in, int n_preserve)
{
	int keep[8 + ISC_MAX_PRESERVE_FDS];
	size_t n = 0;
	for (size_t i = 0; i < n_in; i++)
		if (keep_in[i] >= 0)
			keep[n++] = keep_in[i];
	for (int i = 0; i < n_preserve; i++)
		keep[n++] = 3 + i;
	return isc_close_fds_except(keep, n);
}

static __attribute__((noreturn)) void exec_fail(struct exec_args *a, isc_error *e)
{
	isc_sync_send_error(a->sync_fd, e);
	_exit(1);
}

static __attribute__((noreturn)) void stage_main(struct exec_args *a)
{
	cleanup_error isc_error *err = NULL;
	/* nothing in the container may ptrace us or open our /proc/PID/exe or
	 * fds: non-dumpable from the fork to the execve (runc CVE-2016-9962),
	 * again after every change of credentials, which resets it */
	int nd = isc_container_nondumpable(&err);
	/* before anything else: the caller's terminal is gone from 0..2 */
	if (nd == 0 && isc_relay_install(a->relay) < 0) {
		isc_error_set(&err, errno, "exec: stdio");
		exec_fail(a, err);
	}
	int keep[] = { a->sync_fd, a->console_fd, a->pidfd };
	if (nd == 0 && close_fds_but(keep, ARRAY_SIZE(keep), a->n_preserve) < 0)
		nd = isc_error_set(&err, errno, "exec: close the runtime's fds: close_range");
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (nd < 0)
		exec_fail(a, err);
	if (isc_sync_recv(a->sync_fd, ISC_SYNC_GO, NULL, &err) < 0) {
		/* told to the runtime, when it is still there to hear it */
		isc_error_wrap(&err, "exec: wait for the runtime");
		exec_fail(a, err);
	}
	/* the container's audit identity, before its user namespace (where the
	 * value is unmapped); the caller's own loginuid goes to the login
	 * record.  Changing a set loginuid needs CAP_AUDIT_CONTROL, which the
	 * runtime (host root) has and the container does not. */
	if (a->audit_id && isc_audit_set_loginuid(a->audit_id, &err) < 0) {
		isc_error_wrap(&err, "annotation %s", ISC_AUDIT_ID_ANNOTATION);
		exec_fail(a, err);
	}
	if (a->ns_flags && setns(a->pidfd, a->ns_flags) < 0) {
		isc_error_set(&err, errno, "join the namespaces of the container");
		exec_fail(a, err);
	}
	if (isc_container_nondumpable(&err) < 0)
		exec_fail(a, err);
	isc_closep(&a->pidfd);
	if (a->join_user && isc_container_become_ns_root(&err) < 0)
		exec_fail(a, err);
	/* a pid namespace applies to children: the process is a child of the
	 * runtime (CLONE_PARENT), which waits for it */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0) {
		isc_error_set(&err, errno, "fork the exec process");
		exec_fail(a, err);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		exec_setup(a, &err);
		exec_fail(a, err);
	}
	if (isc_sync_send(a->sync_fd, ISC_SYNC_CHILD_PID, pid, NULL, 0, &err) < 0)
		_exit(1);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* the runtime side                                                    */

static char **strv_dup(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **r = isc_xmalloc0((n + 1) * sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = isc_xstrdup(v[i]);
	return r;
}

/* Set KEY=VALUE in *env, replacing KEY. */
static void env_set(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	size_t n = 0;
	for (char **e = *env; e && *e; e++, n++) {
		if (strncmp(*e, kv, klen) == 0 && (*e)[klen] == '=') {
			free(*e);
			*e = isc_xstrdup(kv);
			return;
		}
	}
	char **v = realloc(*env, (n + 2) * sizeof(*v));
	if (v == NULL)
		abort();
	v[n] = isc_xstrdup(kv);
	v[n + 1] = NULL;
	*env = v;
}

static int parse_user(const char *s, struct isc_process *p, isc_error **err)
{
	cleanup_free char *copy = isc_xstrdup(s);
	char *colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	uint64_t uid = 0, gid = 0;
	if (isc_parse_u64(copy, &uid) < 0 || uid > 0xfffffffeULL ||
	    (colon && (isc_parse_u64(colon + 1, &gid) < 0 || gid > 0xfffffffeULL)))
		return isc_error_set(err, EINVAL, "--user \"%s\": expected UID[:GID] (numbers)", s);
	p->uid = (uid_t)uid;
	p->gid = (gid_t)gid;
	free(p->additional_gids);
	p->additional_gids = NULL;
	p->n_additional_gids = 0;
	return 0;
}

/* The process to run: process.json or argv over the container's process,
 * then the command-line overrides. */
static int build_process(const struct isc_exec_opts *o, const struct isc_process *c, struct isc_process *p,
			 isc_error **err)
{
	if (o->process_file) {
		cleanup_free char *text = NULL;
		size_t len = 0;
		if (isc_read_file(o->process_file, &text, &len, 0, err) < 0)
			return isc_error_wrap(err, "--process");
		if (isc_spec_parse_process(text, len, p, err) < 0 || isc_spec_check_host(NULL, p, err) < 0)
			return isc_error_wrap(err, "--process %s", o->process_file);
		if (p->cwd == NULL)
			p->cwd = isc_xstrdup(c->cwd ? c->cwd : "/");
		if (p->env == NULL)
			p->env = isc_xmalloc0(sizeof(char *));
		if (!p->caps.present)
			p->caps = c->caps;
	} else {
		if (o->argv == NULL || o->argv[0] == NULL)
			return isc_error_set(err, EINVAL, "exec: a command or --process is required");
		p->args = strv_dup(o->argv);
		p->env = strv_dup(c->env);
		p->cwd = isc_xstrdup(c->cwd ? c->cwd : "/");
		p->uid = c->uid;
		p->gid = c->gid;
		if (c->n_additional_gids) {
			p->additional_gids = isc_xmalloc0(c->n_additional_gids * sizeof(gid_t));
			memcpy(p->additional_gids, c->additional_gids, c->n_additional_gids * sizeof(gid_t));
			p->n_additional_gids = c->n_additional_gids;
		}
		p->has_umask = c->has_umask;
		p->umask = c->umask;
		p->caps = c->caps;
		p->no_new_privileges = c->no_new_privileges;
		p->has_oom_score_adj = c->has_oom_score_adj;
		p->oom_score_adj = c->oom_score_adj;
	}
	if (o->cwd) {
		if (o->cwd[0] != '/')
			return isc_error_set(err, EINVAL, "--cwd \"%s\": must be an absolute path", o->cwd);
		free(p->cwd);
		p->cwd = isc_xstrdup(o->cwd);
	}
	for (char **e = o->env; e && *e; e++) {
		if (strchr(*e, '=') == NULL || **e == '=')
			return isc_error_set(err, EINVAL, "--env \"%s\": expected KEY=VALUE", *e);
		env_set(&p->env, *e);
	}
	if (o->user && parse_user(o->user, p, err) < 0)
		return -1;
	for (char **cn = o->caps; cn && *cn; cn++) {
		int cap = isc_cap_from_name(*cn);
		if (cap < 0) {
			cleanup_free char *pre = isc_xasprintf("CAP_%s", *cn);
			cap = isc_cap_from_name(pre);
		}
		if (cap < 0)
			return isc_error_set(err, EINVAL, "--cap %s: unknown capability", *cn);
		uint64_t bit = 1ULL << cap;
		p->caps.bounding |= bit;
		p->caps.effective |= bit;
		p->caps.permitted |= bit;
		p->caps.inheritable |= bit;
		p->caps.ambient |= bit;
	}
	if (o->tty)
		p->terminal = true;
	if (o->no_new_privs)
		p->no_new_privileges = true;

	/* nothing beyond what the container was given */
	uint64_t allowed = c->caps.bounding;
	uint64_t asked = p->caps.bounding | p->caps.effective | p->caps.permitted | p->caps.inheritable |
			 p->caps.ambient;
	if (asked & ~allowed) {
		int cap = __builtin_ctzll(asked & ~allowed);
		const char *name = isc_cap_name(cap);
		return isc_error_set(err, 0, "capability %s is not in the container's bounding set",
				     name ? name : "?");
	}
	p->caps.bounding = allowed;
	if (c->no_new_privileges)
		p->no_new_privileges = true;
	if (c->has_oom_score_adj && (!p->has_oom_score_adj || p->oom_score_adj < c->oom_score_adj)) {
		p->has_oom_score_adj = true;
		p->oom_score_adj = c->oom_score_adj;
	}
	/* rlimits: the container's, overridden by the process's but never above
	 * a hard limit the container has */
	size_t n = c->n_rlimits + p->n_rlimits;
	struct isc_rlimit *rl = isc_xmalloc0((n ? n : 1) * sizeof(*rl));
	size_t k = 0;
	for (size_t i = 0; i < c->n_rlimits; i++)
		rl[k++] = c->rlimits[i];
	for (size_t i = 0; i < p->n_rlimits; i++) {
		size_t j;
		for (j = 0; j < k; j++)
			if (rl[j].resource == p->rlimits[i].resource)
				break;
		if (j < k && p->rlimits[i].hard > rl[j].hard) {
			free(rl);
			return isc_error_set(err, 0, "process.rlimits[%zu]: hard limit above the container's", i);
		}
		rl[j] = p->rlimits[i];
		if (j == k)
			k++;
	}
	free(p->rlimits);
	p->rlimits = rl;
	p->n_rlimits = k;
	return 0;
}

/* Whether the next message on the sync socket (waited for, within the
 * wait bound: the receive that follows reports a timeout) is an error. */
static bool next_is_error(int sync_fd)
{
	struct isc_sync_msg h;
	ssize_t n;
	struct pollfd p = { .fd = sync_fd, .events = POLLIN };
	if (isc_poll_within(&p, 1, isc_wait_bound_ms()) <= 0)
		return false;
	do
		n = recv(sync_fd, &h, sizeof(h), MSG_PEEK);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(h) && h.type == ISC_SYNC_ERROR;
}

static int wait_exec(int sync_fd, isc_error **err)
{
	char c;
	ssize_t n;
	struct pollfd p = { .fd = sync_fd, .events = POLLIN };
	int bound = isc_wait_bound_ms();
	int r = isc_poll_within(&p, 1, bound);
	if (r < 0)
		return isc_error_set(err, errno, "sync socket: wait for the process's execve");
	if (r == 0)
		return isc_error_set(err, 0, "sync socket: the process did not execve within %d s", bound / 1000);
	do
		n = recv(sync_fd, &c, 1, MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0; /* closed at execve */
	if (n < 0)
		return isc_error_set(err, errno, "sync socket: receive");
	if (isc_sync_recv(sync_fd, 0, NULL, err) < 0)
		return -1;
	return isc_error_set(err, EPROTO, "sync socket: unexpected message");
}

static void kill_wait(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		*pid = -1;
	}
}

/* A session of a container with an audit identity: the login record
 * before the process exists, the logout record when it is gone. */
struct audit_session {
	uint32_t audit_id;
	const char *container;
	char *session; /* NULL: no login record was written */
	uint64_t start_ns;
};

static int session_login(struct audit_session *s, const struct isc_exec_opts *o, const struct isc_process *p,
			 isc_error **err)
{
	cleanup_error isc_error *lerr = NULL;
	s->start_ns = isc_now_ns();
	if (isc_audit_login(NULL, s->audit_id, s->container, p->args, p->terminal ? "pty" : NULL, &s->session,
			    &lerr) == 0)
		return 0;
	if (o->audit_required) {
		isc_error_move(err, &lerr);
		return isc_error_wrap(err, "exec into %s: the login record", s->container);
	}
	char buf[512];
	isc_warn("exec into %s: no login record: %s", s->container, isc_error_text(lerr, buf, sizeof(buf)));
	return 0;
}

static void session_logout(struct audit_session *s, int status)
{
	if (s->session == NULL)
		return;
	cleanup_error isc_error *lerr = NULL;
	uint64_t ms = (isc_now_ns() - s->start_ns) / 1000000u;
	if (isc_audit_logout(NULL, s->audit_id, s->container, s->session, status, ms, &lerr) < 0) {
		char buf[512];
		isc_warn("exec into %s: no logout record: %s", s->container, isc_error_text(lerr, buf, sizeof(buf)));
	}
	free(s->session);
	s->session = NULL;
}

/* --detach: nobody waits for the process; a small watcher (detached from
 * the caller's session and stdio) writes the logout record when it is gone.
 * Its exit status is unknown to a non-parent: recorded as -1. */
static void session_watch_detached(struct audit_session *s, pid_t pid)
{
	if (s->session == NULL)
		return;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		session_logout(s, -1);
		return;
	}
	pid_t w = fork();
	if (w == 0) {
		if (fork() != 0)
			_exit(0);
		setsid();
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		int keep[] = { pfd };
		/* it outlives this command: a state-dir fd kept would hold the
		 * container's lock for the process's lifetime */
		if (isc_close_fds_except(keep, 1) < 0)
			for (int fd = 3; fd < getdtablesize(); fd++)
				if (fd != pfd)
					(void)close(fd);
		struct pollfd pl = { .fd = pfd, .events = POLLIN };
		while (poll(&pl, 1, -1) < 0 && errno == EINTR)
			;
		session_logout(s, -1);
		_exit(0);
	}
	if (w > 0)
		waitpid(w, NULL, 0);
	close(pfd);
	free(s->session);
	s->session = NULL;
}

int isc_container_exec(const struct isc_context *ctx, const struct isc_exec_opts *o, int *exit_status,
		       isc_error **err)
{
	struct audit_session sess = { .container = o->id };
	struct isc_state_handle h;
	if (isc_state_open(ctx->root, o->id, ISC_STATE_SHARED, &h, err) < 0) {
		isc_state_close(&h);
		return -1;
	}
	cleanup_spec struct isc_spec *cs = NULL;
	struct isc_process p = { 0 };
	struct isc_seccomp_filter *filter = NULL;
	struct isc_cgroup *cg = NULL;
	cleanup_free char *cfg = NULL;
	cleanup_close int pidfd = -1;
	cleanup_close int master = -1;
	int sv[2] = { -1, -1 }, con[2] = { -1, -1 };
	struct isc_relay relay = ISC_RELAY_INIT;
	cleanup_close int child_fd = -1;
	cleanup_error isc_error *rerr = NULL; /* a relay that failed */
	pid_t stage = -1, child = -1;
	int ret = -1;

	enum isc_status s = h.status;
	if (s != ISC_STATUS_RUNNING && s != ISC_STATUS_CREATED) {
		isc_error_set(err, 0, "container %s is not running: %s", o->id, isc_status_name(s));
		goto out;
	}
	/* from a sealed copy of our binary when the container could write it:
	 * may re-execute this process, so first (nothing of the exec exists) */
	if (protect_binary(ctx, o->id, h.st.pid, err) < 0)
		goto out;
	size_t len = 0;
	if (isc_read_file_at(h.d.dir_fd, "config.json", &cfg, &len, 0, err) < 0) {
		isc_error_wrap(err, "container %s: saved config", o->id);
		goto out;
	}
	if (isc_spec_parse(cfg, len, &cs, err) < 0) {
		isc_error_wrap(err, "container %s: saved config", o->id);
		goto out;
	}
	if (build_process(o, &cs->process, &p, err) < 0)
		goto out;
	if (p.terminal && o->console_socket == NULL) {
		isc_error_set(err, EINVAL, "exec: --tty (process.terminal) needs --console-socket");
		goto out;
	}
	int listen = isc_container_listen_fds();
	if (o->preserve_fds < 0 || listen + o->preserve_fds > ISC_MAX_PRESERVE_FDS) {
		isc_error_set(err, EINVAL, "--preserve-fds %d: at most %d fds", o->preserve_fds,
			      ISC_MAX_PRESERVE_FDS - listen);
		goto out;
	}
	if (isc_container_check_preserved(listen + o->preserve_fds, err) < 0)
		goto out;
	if (cs->seccomp && isc_seccomp_prepare(cs->seccomp, ctx->seccomp_cache, &filter, err) < 0) {
		isc_error_wrap(err, "linux.seccomp");
		goto out;
	}
	if (h.st.cgroup && isc_cgroup_deserialize(h.st.cgroup, &cg, err) < 0)
		goto out;

	pidfd = isc_container_pidfd_open(&h.st);
	if (pidfd < 0) {
		isc_error_set(err, 0, "container %s is not running: stopped", o->id);
		goto out;
	}
	int ns_flags = 0;
	if (ns_to_join(h.st.pid, &ns_flags, err) < 0)
		goto out;
	/* the init may have gone between pidfd_open and reading its /proc */
	if (!isc_state_pid_alive(&h.st)) {
		isc_error_set(err, 0, "container %s is not running: stopped", o->id);
		goto out;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    (p.terminal && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, con) < 0)) {
		isc_error_set(err, errno, "socketpair");
		goto out;
	}
	struct exec_args a = {
		.cspec = cs, .proc = &p, .filter = filter, .pidfd = pidfd, .ns_flags = ns_flags,
		.join_user = (ns_flags & CLONE_NEWUSER) != 0, .sync_fd = sv[1], .console_fd = con[1],
		.relay = &relay, .n_preserve = listen + o->preserve_fds, .listen = listen > 0,
	};
	const char *audit_value = isc_spec_annotation(cs, ISC_AUDIT_ID_ANNOTATION);
	if (audit_value && isc_audit_id_parse(audit_value, &a.audit_id, err) < 0) {
		isc_error_wrap(err, "annotation");
		goto out;
	}
	sess.audit_id = a.audit_id;
	if (!a.audit_id && isc_audit_lock_loginuid(err) < 0) /* the process inherits ours: never unset */
		goto out;
	if (a.audit_id && session_login(&sess, o, &p, err) < 0)
		goto out;
	/* with --tty the process's stdio is its own terminal */
	enum isc_relay_mode mode = o->detach ? ISC_RELAY_DETACHED : o->relay_all ? ISC_RELAY_ALL : ISC_RELAY_FOREGROUND;
	if (!p.terminal && isc_relay_prepare(&relay, mode, err) < 0)
		goto out;
	(void)isc_cap_last_kernel(); /* cached before the stage joins anything */
	/* own stdio stays; the state lock is not inherited (closed in the stage) */
	fflush(NULL);
	stage = fork();
	if (stage < 0) {
		isc_error_set(err, errno, "fork");
		goto out;
	}
	if (stage == 0) {
		isc_closep(&sv[0]);
		isc_closep(&con[0]);
		stage_main(&a);
	}
	isc_closep(&sv[1]);
	isc_closep(&con[1]);
	isc_relay_close_child(&relay);

	/* into the container's cgroups before it runs anything of the container */
	if (cg && isc_cgroup_attach(cg, stage, err) < 0) {
		isc_error_wrap(err, "cgroup");
		goto out;
	}
	if (p.has_oom_score_adj) {
		char path[64], val[16];
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)stage);
		int n = snprintf(val, sizeof(val), "%d", p.oom_score_adj);
		if (isc_write_file(path, val, (size_t)n, err) < 0) {
			isc_error_wrap(err, "process.oomScoreAdj %d", p.oom_score_adj);
			goto out;
		}
	}
	if (isc_sync_send(sv[0], ISC_SYNC_GO, 0, NULL, 0, err) < 0)
		goto out;
	int32_t gpid = 0;
	/* the process may report its failure before the stage reports its
	 * pid: its message is the whole story (not wrapped twice) */
	bool from_process = next_is_error(sv[0]);
	if (isc_sync_recv_within(sv[0], ISC_SYNC_CHILD_PID, &gpid, isc_wait_bound_ms(), "the exec's pid", err) < 0) {
		if (!from_process)
			isc_error_wrap(err, "exec");
		goto out;
	}
	child = gpid;
	waitpid(stage, NULL, 0);
	stage = -1;

	if (con[0] >= 0) {
		struct pollfd pc = { .fd = con[0], .events = POLLIN };
		int pr = isc_poll_within(&pc, 1, isc_wait_bound_ms());
		if (pr <= 0) {
			isc_error_set(err, pr < 0 ? errno : 0, "process.terminal: %s", pr < 0 ? "wait for the terminal"
				      : "the process sent no terminal within the wait bound");
			goto out;
		}
		if (isc_terminal_recv_fd(con[0], &master, err) < 0)
			goto out;
		if (master < 0) {
			/* it failed before: its error is on the sync socket */
			if (wait_exec(sv[0], err) == 0)
				isc_error_set(err, EPROTO, "exec: the process sent no terminal");
			goto out;
		}
		if (isc_terminal_send_console(o->console_socket, master, err) < 0)
			goto out;
		isc_closep(&master);
	}
	if (wait_exec(sv[0], err) < 0)
		goto out;
	/* exec'd: the container owns it now; free the state for delete */
	isc_state_release_dir(&h);
	if (o->pid_file && isc_container_write_pid_file(o->pid_file, child, err) < 0)
		goto out;

	if (o->detach) {
		*exit_status = 0;
		session_watch_detached(&sess, child);
		child = -1;
		ret = 0;
		goto out;
	}
	isc_container_forward_signals(child);
	/* a relay that failed: the process runs on to its exit, but what it
	 * wrote may be lost, so the exec fails (after the wait) */
	if (relay.active) {
		child_fd = (int)syscall(SYS_pidfd_open, child, 0);
		if (child_fd < 0)
			isc_error_set(&rerr, errno, "stdio relay: pidfd_open %d", (int)child);
		if (child_fd < 0 || isc_relay_run(&relay, child_fd, &rerr) < 0) {
			char buf[512];
			isc_warn("%s: the process's output is not relayed from here on", isc_error_text(rerr, buf, sizeof(buf)));
		}
	}
	int status = 0;
	for (;;) {
		pid_t w = waitpid(child, &status, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			isc_container_forward_signals(0);
			isc_error_set(err, errno, "wait for the exec process");
			goto out;
		}
		break;
	}
	isc_container_forward_signals(0);
	child = -1;
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	session_logout(&sess, *exit_status);
	ret = 0;
	if (rerr != NULL) {
		isc_error_move(err, &rerr);
		ret = isc_error_wrap(err, "the exec process exited with status %d, but its output was not all relayed",
				     *exit_status);
	}
out:
	kill_wait(&child);
	kill_wait(&stage);
	session_logout(&sess, -1); /* failed after the login record */
	isc_closep(&sv[0]);
	isc_closep(&sv[1]);
	isc_closep(&con[0]);
	isc_closep(&con[1]);
	isc_relay_clear(&relay);
	if (filter)
		isc_seccomp_filter_free(filter);
	if (cg)
		isc_cgroup_free(cg);
	isc_process_clear(&p);
	isc_state_close(&h);
	return ret;
}
