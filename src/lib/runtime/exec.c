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
	{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },  { "pid", CLONE_NEWPID },	   { "net", CLONE_NEWNET },
	{ "ipc", CLONE_NEWIPC },   { "uts", CLONE_NEWUTS }, { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
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
	uint64_t asked =
		p->caps.bounding | p->caps.effective | p->caps.permitted | p->caps.inheritable | p->caps.ambient;
	if (asked & ~allowed) {
		int cap = __builtin_ctzll(asked & ~allowed);
		const char *name = isc_cap_name(cap);
		return isc_error_set(err, 0, "capability %s is not in the container's bounding set", name ? name : "?");
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
	if (isc_audit_login(NULL, s->audit_id, s->container, p->args, p->terminal ? "pty" : NULL, &s->session, &lerr) ==
	    0)
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

/* One exec, from the caller's side: what it loads, makes and must undo.
 * isc_container_exec runs the steps below in order; exec_run_clear
 * undoes whatever a failed step left. */
struct exec_run {
	const struct isc_context *ctx;
	const struct isc_exec_opts *o;
	struct isc_state_handle h;
	struct audit_session sess;
	struct isc_spec *cs;
	struct isc_process p;
	struct isc_seccomp_filter *filter;
	struct isc_cgroup *cg;
	int listen; /* LISTEN_FDS passed on */
	int pidfd;  /* the container's init */
	int ns_flags;
	int sv[2];  /* sync socket: [0] ours, [1] the stage's */
	int con[2]; /* the terminal's socket (process.terminal) */
	struct isc_relay relay;
	pid_t stage, child;
};

static void exec_run_clear(struct exec_run *r)
{
	kill_wait(&r->child);
	kill_wait(&r->stage);
	session_logout(&r->sess, -1); /* failed after the login record */
	for (int i = 0; i < 2; i++) {
		isc_closep(&r->sv[i]);
		isc_closep(&r->con[i]);
	}
	isc_closep(&r->pidfd);
	isc_relay_clear(&r->relay);
	if (r->filter)
		isc_seccomp_filter_free(r->filter);
	if (r->cg)
		isc_cgroup_free(r->cg);
	if (r->cs)
		isc_spec_free(r->cs);
	isc_process_clear(&r->p);
	isc_state_close(&r->h);
}

/* The saved config, the process to run and what it needs prepared before
 * anything of the container is joined. */
static int exec_load(struct exec_run *r, isc_error **err)
{
	const struct isc_exec_opts *o = r->o;
	enum isc_status s = r->h.status;
	if (s != ISC_STATUS_RUNNING && s != ISC_STATUS_CREATED)
		return isc_error_set(err, 0, "container %s is not running: %s", o->id, isc_status_name(s));
	/* from a sealed copy of our binary when the container could write it:
	 * may re-execute this process, so first (nothing of the exec exists) */
	if (protect_binary(r->ctx, o->id, r->h.st.pid, err) < 0)
		return -1;
	cleanup_free char *cfg = NULL;
	size_t len = 0;
	if (isc_read_file_at(r->h.d.dir_fd, "config.json", &cfg, &len, 0, err) < 0 ||
	    isc_spec_parse(cfg, len, &r->cs, err) < 0)
		return isc_error_wrap(err, "container %s: saved config", o->id);
	if (build_process(o, &r->cs->process, &r->p, err) < 0)
		return -1;
	if (r->p.terminal && o->console_socket == NULL)
		return isc_error_set(err, EINVAL, "exec: --tty (process.terminal) needs --console-socket");
	r->listen = isc_container_listen_fds();
	if (o->preserve_fds < 0 || r->listen + o->preserve_fds > ISC_MAX_PRESERVE_FDS)
		return isc_error_set(err, EINVAL, "--preserve-fds %d: at most %d fds", o->preserve_fds,
				     ISC_MAX_PRESERVE_FDS - r->listen);
	if (isc_container_check_preserved(r->listen + o->preserve_fds, err) < 0)
		return -1;
	if (r->cs->seccomp && isc_seccomp_prepare(r->cs->seccomp, r->ctx->seccomp_cache, &r->filter, err) < 0)
		return isc_error_wrap(err, "linux.seccomp");
	if (r->h.st.cgroup && isc_cgroup_deserialize(r->h.st.cgroup, &r->cg, err) < 0)
		return -1;
	return 0;
}

/* The init, held by a pidfd, and the namespaces to join from it. */
static int exec_find_init(struct exec_run *r, isc_error **err)
{
	r->pidfd = isc_container_pidfd_open(&r->h.st);
	if (r->pidfd < 0)
		return isc_error_set(err, 0, "container %s is not running: stopped", r->o->id);
	if (ns_to_join(r->h.st.pid, &r->ns_flags, err) < 0)
		return -1;
	/* the init may have gone between pidfd_open and reading its /proc */
	if (!isc_state_pid_alive(&r->h.st))
		return isc_error_set(err, 0, "container %s is not running: stopped", r->o->id);
	return 0;
}

/* The login record (or the loginuid locked), the stdio relay, then the
 * stage forked: it waits for our go on the sync socket. */
static int exec_fork_stage(struct exec_run *r, isc_error **err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->sv) < 0 ||
	    (r->p.terminal && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->con) < 0))
		return isc_error_set(err, errno, "socketpair");
	struct exec_args a = {
		.cspec = r->cs,
		.proc = &r->p,
		.filter = r->filter,
		.pidfd = r->pidfd,
		.ns_flags = r->ns_flags,
		.join_user = (r->ns_flags & CLONE_NEWUSER) != 0,
		.sync_fd = r->sv[1],
		.console_fd = r->con[1],
		.relay = &r->relay,
		.n_preserve = r->listen + r->o->preserve_fds,
		.listen = r->listen > 0,
	};
	const char *audit_value = isc_spec_annotation(r->cs, ISC_AUDIT_ID_ANNOTATION);
	if (audit_value && isc_audit_id_parse(audit_value, &a.audit_id, err) < 0)
		return isc_error_wrap(err, "annotation");
	r->sess.audit_id = a.audit_id;
	if (!a.audit_id && isc_audit_lock_loginuid(err) < 0) /* the process inherits ours: never unset */
		return -1;
	if (a.audit_id && session_login(&r->sess, r->o, &r->p, err) < 0)
		return -1;
	/* with --tty the process's stdio is its own terminal */
	enum isc_relay_mode mode = r->o->detach	     ? ISC_RELAY_DETACHED
				   : r->o->relay_all ? ISC_RELAY_ALL
						     : ISC_RELAY_FOREGROUND;
	if (!r->p.terminal && isc_relay_prepare(&r->relay, mode, err) < 0)
		return -1;
	(void)isc_cap_last_kernel(); /* cached before the stage joins anything */
	/* own stdio stays; the state lock is not inherited (closed in the stage) */
	fflush(NULL);
	r->stage = fork();
	if (r->stage < 0)
		return isc_error_set(err, errno, "fork");
	if (r->stage == 0) {
		isc_closep(&r->sv[0]);
		isc_closep(&r->con[0]);
		stage_main(&a);
	}
	isc_closep(&r->sv[1]);
	isc_closep(&r->con[1]);
	isc_relay_close_child(&r->relay);
	return 0;
}

/* The stage into the container's cgroups and its oom score, before it
 * runs anything of the container; then its go, and the process's pid. */
static int exec_release_stage(struct exec_run *r, isc_error **err)
{
	if (r->cg && isc_cgroup_attach(r->cg, r->stage, err) < 0)
		return isc_error_wrap(err, "cgroup");
	if (r->p.has_oom_score_adj) {
		char path[64], val[16];
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)r->stage);
		int n = snprintf(val, sizeof(val), "%d", r->p.oom_score_adj);
		if (isc_write_file(path, val, (size_t)n, err) < 0)
			return isc_error_wrap(err, "process.oomScoreAdj %d", r->p.oom_score_adj);
	}
	if (isc_sync_send(r->sv[0], ISC_SYNC_GO, 0, NULL, 0, err) < 0)
		return -1;
	int32_t gpid = 0;
	/* the process may report its failure before the stage reports its
	 * pid: its message is the whole story (not wrapped twice) */
	bool from_process = next_is_error(r->sv[0]);
	if (isc_sync_recv_within(r->sv[0], ISC_SYNC_CHILD_PID, &gpid, isc_wait_bound_ms(), "the exec's pid", err) < 0)
		return from_process ? -1 : isc_error_wrap(err, "exec");
	r->child = gpid;
	waitpid(r->stage, NULL, 0);
	r->stage = -1;
	return 0;
}

/* process.terminal: the pty master the process sent, handed to the
 * caller's console socket. */
static int exec_pass_terminal(struct exec_run *r, isc_error **err)
{
	struct pollfd pc = { .fd = r->con[0], .events = POLLIN };
	int pr = isc_poll_within(&pc, 1, isc_wait_bound_ms());
	if (pr <= 0)
		return isc_error_set(err, pr < 0 ? errno : 0, "process.terminal: %s",
				     pr < 0 ? "wait for the terminal"
					    : "the process sent no terminal within the wait bound");
	cleanup_close int master = -1;
	if (isc_terminal_recv_fd(r->con[0], &master, err) < 0)
		return -1;
	if (master < 0) {
		/* it failed before: its error is on the sync socket */
		if (wait_exec(r->sv[0], err) == 0)
			isc_error_set(err, EPROTO, "exec: the process sent no terminal");
		return -1;
	}
	return isc_terminal_send_console(r->o->console_socket, master, err);
}

/* Foreground: relay stdio, forward signals, wait for the process; its
 * status, and the logout record.  A relay that failed: the process runs
 * on to its exit, but what it wrote may be lost, so the exec fails (after
 * the wait). */
static int exec_wait(struct exec_run *r, int *exit_status, isc_error **err)
{
	cleanup_error isc_error *rerr = NULL;
	isc_container_forward_signals(r->child);
	if (r->relay.active) {
		cleanup_close int child_fd = (int)syscall(SYS_pidfd_open, r->child, 0);
		if (child_fd < 0)
			isc_error_set(&rerr, errno, "stdio relay: pidfd_open %d", (int)r->child);
		if (child_fd < 0 || isc_relay_run(&r->relay, child_fd, &rerr) < 0) {
			char buf[512];
			isc_warn("%s: the process's output is not relayed from here on",
				 isc_error_text(rerr, buf, sizeof(buf)));
		}
	}
	int status = 0;
	pid_t w;
	while ((w = waitpid(r->child, &status, 0)) < 0 && errno == EINTR)
		;
	isc_container_forward_signals(0);
	if (w < 0)
		return isc_error_set(err, errno, "wait for the exec process");
	r->child = -1;
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	session_logout(&r->sess, *exit_status);
	if (rerr == NULL)
		return 0;
	isc_error_move(err, &rerr);
	return isc_error_wrap(err, "the exec process exited with status %d, but its output was not all relayed",
			      *exit_status);
}

int isc_container_exec(const struct isc_context *ctx, const struct isc_exec_opts *o, int *exit_status, isc_error **err)
{
	struct exec_run r = {
		.ctx = ctx,
		.o = o,
		.sess = { .container = o->id },
		.pidfd = -1,
		.sv = { -1, -1 },
		.con = { -1, -1 },
		.relay = ISC_RELAY_INIT,
		.stage = -1,
		.child = -1,
	};
	int ret = -1;
	if (isc_state_open(ctx->root, o->id, ISC_STATE_SHARED, &r.h, err) < 0)
		goto out;
	if (exec_load(&r, err) < 0 || exec_find_init(&r, err) < 0 || exec_fork_stage(&r, err) < 0 ||
	    exec_release_stage(&r, err) < 0 || (r.con[0] >= 0 && exec_pass_terminal(&r, err) < 0) ||
	    wait_exec(r.sv[0], err) < 0)
		goto out;
	/* exec'd: the container owns it now; free the state for delete */
	isc_state_release_dir(&r.h);
	if (o->pid_file && isc_container_write_pid_file(o->pid_file, r.child, err) < 0)
		goto out;
	if (o->detach) {
		*exit_status = 0;
		session_watch_detached(&r.sess, r.child);
		r.child = -1;
		ret = 0;
		goto out;
	}
	ret = exec_wait(&r, exit_status, err);
out:
	exec_run_clear(&r);
	return ret;
}
