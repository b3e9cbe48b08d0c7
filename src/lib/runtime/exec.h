/* SPDX-License-Identifier: GPL-2.0-or-later
 * exec: run one more process in a running container.  The process joins
 * every namespace of the container's init (one setns() through a pidfd),
 * its cgroups before it runs anything, and gets nothing the container was
 * not given: the container's bounding set (added capabilities must be in
 * it), no_new_privs, seccomp filter, rlimits (no higher), user setup. */
#ifndef ISC_EXEC_H
#define ISC_EXEC_H

#include <stdbool.h>
#include <sys/types.h>
#include "runtime/container.h"
#include "base/error.h"
#include "spec/spec.h"
#include "runtime/state.h"

/* --preserve-fds and LISTEN_FDS together: at most this many fds */
#define ISC_MAX_PRESERVE_FDS 256

struct isc_exec_opts {
	const char *id;
	const char *process_file; /* --process FILE (process.json); NULL = argv */
	char **argv;		  /* NULL-terminated; used when process_file is NULL */
	bool detach;
	const char *pid_file;
	bool tty;
	const char *console_socket;
	const char *cwd;  /* NULL = the container's */
	char **env;	  /* NULL-terminated KEY=VALUE added (may be NULL) */
	const char *user; /* "UID[:GID]" or NULL */
	char **caps;	  /* NULL-terminated names added (may be NULL) */
	bool no_new_privs;
	int preserve_fds;
	bool audit_required; /* org.isc.audit.id: fail when the login record cannot be
				     * written (isc exec); else warn (isc-runtime exec) */
	bool relay_all;	     /* every fd 0..2 relayed, never one of the caller's (isc exec;
				     * relay.h) */
};

/* Without detach: wait and store the exit status (128 + signal for a
 * signal).  With detach: return once the process has exec'd and the pid
 * file is written; *exit_status = 0. */
int isc_container_exec(const struct isc_context *ctx, const struct isc_exec_opts *o, int *exit_status, isc_error **err);

/* Before isc_container_exec in a process that forks first (isc exec -t):
 * when container `id` could write this program's binary, re-execute from a
 * sealed copy now (returns only on failure); else return 0. */
int isc_container_exec_seal(const struct isc_context *ctx, const char *id, isc_error **err);

/* ---- shared by create, the init and exec (not for other callers) ---- */
/* create and exec: run from a sealed copy of the binary before a process
 * enters a container that could write it (may re-execute the caller) */
int isc_container_protect_binary(const struct isc_context *ctx, const char *id, bool could_write, isc_error **err);
int isc_container_resolve_exec(const struct isc_process *p, char **out, isc_error **err);
struct isc_seccomp_filter;
int isc_container_process_setup(const struct isc_process *p, const struct isc_spec *spec,
				const struct isc_seccomp_filter *filter, int n_preserve, bool listen,
				char ***env_listen, char **exe, isc_error **err);
int isc_container_apply_rlimits(const struct isc_process *p, isc_error **err);
int isc_container_switch_user(const struct isc_process *p, isc_error **err);
int isc_container_become_ns_root(isc_error **err);
/* PR_SET_DUMPABLE 0, checked; again after every change of credentials */
int isc_container_nondumpable(isc_error **err);
int isc_container_write_pid_file(const char *path, pid_t pid, isc_error **err);
/* pidfd of st->pid, checked against its start time; -1 (errno) when gone */
int isc_container_pidfd_open(const struct isc_state *st);
/* clear FD_CLOEXEC on 3 .. 3+n-1 */
void isc_container_keep_fds(int n);
/* env without LISTEN_PID/LISTEN_FDS, plus LISTEN_FDS=n and LISTEN_PID=pid */
char **isc_container_env_listen(char **env, pid_t pid, int n);
/* fds 3 .. 3+n-1 are open and came from the caller (no FD_CLOEXEC) */
int isc_container_check_preserved(int n, isc_error **err);
/* LISTEN_FDS of the runtime's environment when it is meant for us, else 0 */
int isc_container_listen_fds(void);
/* SIGINT, SIGTERM, ... go to `pid` until it is reset to 0 */
void isc_container_forward_signals(pid_t pid);

#endif
