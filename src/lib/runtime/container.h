/* SPDX-License-Identifier: GPL-2.0-or-later
 * The container lifecycle: create, start, run, state, kill, delete, list.
 * Each verb of isc-runtime fills a context and makes one call here. */
#ifndef ISC_CONTAINER_H
#define ISC_CONTAINER_H

#include <stdbool.h>
#include "base/error.h"

struct isc_context {
	const char *root;	   /* state root (--root) */
	const char *seccomp_cache; /* compiled seccomp cache directory, NULL = none */
	bool no_cgroups;	   /* --cgroup-manager disabled */
	/* The calling process may re-execute itself from its start, with the
	 * same command line, to run from a sealed copy of its binary before
	 * it enters a container that could write that binary (exeseal.c).
	 * Without it, create and exec refuse such a container unless the
	 * process already runs sealed (iscd seals itself when it starts). */
	bool may_reexec;
};

struct isc_create_opts {
	const char *id;
	const char *bundle;	    /* NULL = current directory */
	const char *pid_file;	    /* may be NULL */
	const char *console_socket; /* may be NULL */
	bool detach;		    /* run only */
	int preserve_fds;	    /* keep fds 3 .. 3+N-1 open in the container process */
};

int isc_container_create(const struct isc_context *ctx, const struct isc_create_opts *o, isc_error **err);
int isc_container_start(const struct isc_context *ctx, const char *id, isc_error **err);
/* create + start; without detach, wait, delete and store the exit status
 * (128 + signal for a signal) in *exit_status. */
int isc_container_run(const struct isc_context *ctx, const struct isc_create_opts *o, int *exit_status,
		      isc_error **err);
/* The OCI state JSON, newly allocated. */
int isc_container_state(const struct isc_context *ctx, const char *id, char **json, isc_error **err);
int isc_container_kill(const struct isc_context *ctx, const char *id, int sig, bool all, isc_error **err);
int isc_container_delete(const struct isc_context *ctx, const char *id, bool force, isc_error **err);
/* JSON array (json = true) or a table. */
int isc_container_list(const struct isc_context *ctx, bool json, char **out, isc_error **err);

#endif
