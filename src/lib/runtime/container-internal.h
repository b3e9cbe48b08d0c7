/* SPDX-License-Identifier: GPL-2.0-or-later
 * Shared by the files of the container lifecycle only (create-plan.c,
 * create.c, init.c, sysctl.c, notify.c, start.c, lifecycle.c): what the
 * runtime hands the processes it clones, the one create in progress, and
 * the steps one file calls in another.  Not part of the runtime's API
 * (container.h, exec.h).
 */
#ifndef ISC_CONTAINER_INTERNAL_H
#define ISC_CONTAINER_INTERNAL_H

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "kernel/cgroup.h"
#include "kernel/ns.h"
#include "kernel/rootfs.h"
#include "kernel/scratch.h"
#include "kernel/seccomp.h"
#include "runtime/container.h"
#include "runtime/relay.h"
#include "runtime/state.h"
#include "spec/spec.h"

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
	bool in_userns;		       /* the container has a user namespace (new or joined) */
	int console_fd;		       /* process.terminal: the master goes back over this socket; else -1 */
	const struct isc_relay *relay; /* stdio in place of the caller's terminal */
	int n_preserve;		       /* fds 3 .. 3+n_preserve-1 stay open (--preserve-fds, LISTEN_FDS) */
	bool listen_fds;	       /* LISTEN_FDS was set: set LISTEN_PID in the process's env */
	int scratch_fd;		       /* org.isc.scratch: detached tree to move to scratch_path; else -1 */
	const char *scratch_path;
	int notify_fd; /* NOTIFY_SOCKET: detached tree of the notify dir for notify_dir; else -1 */
	const char *notify_dir;
	uint32_t audit_id;	       /* org.isc.audit.id: the stage sets it as loginuid; 0 = none */
	struct isc_rootfs_guard guard; /* the runtime's mount namespace, never to be touched */
};

/* What the stage asks the runtime to write for it (the value of
 * ISC_SYNC_USERNS_READY; the runtime answers ISC_SYNC_USERNS_DONE). */
#define STAGE_WANTS_IDMAPS 0	   /* /proc/PID/{uid,gid}_map of the new user namespace */
#define STAGE_WANTS_TIME_OFFSETS 1 /* /proc/PID/timens_offsets of the new time namespace */

/* init.c: the two processes create clones; they never return. */
__attribute__((noreturn)) void isc_container_init_main(struct init_args *a);
__attribute__((noreturn)) void isc_container_stage_main(struct init_args *a);

/* sysctl.c: the init's keys, through its procfs (after pivot_root); the
 * pid namespace's keys, by a helper of the runtime in that namespace. */
int isc_container_init_sysctls(const struct isc_rootfs_guard *g, const struct isc_spec *spec, isc_error **err);
int isc_container_pid_sysctls(const struct isc_spec *spec, pid_t pid, isc_error **err);

/* What a create undoes when it fails, in this order: the processes, the
 * scratch, the cgroups, the state directory. */
struct create_undo {
	struct isc_state_dir dir;
	bool have_dir;
	struct isc_cgroup *cg;
	pid_t pid;	     /* init or stage to kill on failure */
	pid_t stage;	     /* stage process to reap */
	char *scratch_mount; /* org.isc.scratch mount point to tear down; NULL */
};

/* One create.  The plan (create-plan.c) fills the first half and makes
 * nothing on the system; the execution (create.c) makes the state, the
 * cgroups, the scratch and the init, each registering its undo.  The
 * struct owns every resource: create_clear() releases them and undoes what
 * exists unless the create finished (done). */
struct create {
	/* the caller's */
	const struct isc_context *ctx;
	const struct isc_create_opts *o;
	bool foreground;	 /* run without -d: the relay is pipes */
	struct isc_relay *relay; /* the caller clears it */

	/* the plan */
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	char *config_path;
	char *config_text; /* copied into the state directory as is */
	size_t config_len;
	struct isc_spec *spec;
	int listen; /* LISTEN_FDS */
	struct isc_ns_plan ns;
	uint32_t audit_id;	   /* org.isc.audit.id; 0 = none */
	const char *scratch_value; /* org.isc.scratch; NULL = none */
	struct isc_scratch_opts sopt;
	uint32_t scratch_uid, scratch_gid;
	struct isc_seccomp_filter *filter;
	struct isc_resources res; /* the config's, with the full device rules */
	struct isc_device_rule *rules;
	const char *notify_path; /* NOTIFY_SOCKET to proxy at start; NULL */
	const char *notify_dir;	 /* where the container finds the socket */

	/* the execution */
	struct create_undo u;
	struct isc_state st;
	struct isc_scratch scratch;
	int fifo_fd;
	int notify_fd;
	int sv[2];  /* sync socket: ours, the init's */
	int con[2]; /* process.terminal: the master comes over this */
	int master;
	bool staged;
	pid_t child; /* what we cloned: the init, or the stage */
	bool done;
};

/* create-plan.c: everything that is decided and checked before anything
 * exists; a failure leaves nothing behind. */
int isc_create_plan(struct create *c, isc_error **err);

/* create.c: plan, then execute; leaves a created container and its state.
 * `relay`: filled for a caller whose stdio is a terminal (pipes when
 * `foreground`, else /dev/null); the caller clears it. */
int isc_container_do_create(const struct isc_context *ctx, const struct isc_create_opts *o, bool foreground,
			    struct isc_relay *relay, pid_t *init_pid, isc_error **err);
/* --debug: where the time goes, in ms since the first mark */
void isc_container_mark(const char *step);

/* notify.c: the sd_notify proxy (NOTIFY_SOCKET). */
const char *isc_notify_dir(const struct isc_spec *spec);
int isc_notify_prepare(const struct isc_state_dir *d, struct isc_spec *spec, const char *notify_dir, int *tree_fd,
		       isc_error **err);
int isc_notify_bind(const struct isc_state_dir *d, isc_error **err);
void isc_notify_forward(int fd, int pidfd, pid_t mainpid, const char *to);

#endif
