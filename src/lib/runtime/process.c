/* SPDX-License-Identifier: GPL-2.0-or-later
 * What every process of a container goes through before its execve, the
 * init (init.c) and each exec (exec.c) alike: the executable resolved in
 * the container's view, rlimits, user and groups, non-dumpable after every
 * change of credentials, the signal dispositions reset, the fds the caller
 * passed (--preserve-fds, LISTEN_FDS) and the privilege phase in its order
 * (isc_container_process_setup).  Nothing here knows about the state
 * directory or the sync socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <grp.h>
#include <unistd.h>

#include "base/util.h"
#include "kernel/caps.h"
#include "kernel/landlock.h"
#include "kernel/seccomp.h"
#include "runtime/exec.h"

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
			return isc_error_set(err, 0, "--preserve-fds/LISTEN_FDS: fd %d was not passed to isc-runtime",
					     fd);
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
