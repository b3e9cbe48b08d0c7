/* SPDX-License-Identifier: GPL-2.0-or-later
 * Operations on an existing container through its cgroups: ps, pause,
 * resume, update, stats.  Each opens and locks the container's state directory,
 * reads the state, checks the status and acts on the groups recorded in
 * it.  Messages follow runc ("container not running", "container not
 * paused"). */
#ifndef ISC_CONTROL_H
#define ISC_CONTROL_H

#include <stdint.h>
#include <sys/types.h>

#include "runtime/container.h"
#include "base/error.h"
#include "spec/spec.h"
#include "runtime/state.h"

/* Pids of every process of the container (created, running or paused),
 * sorted; free *pids. */
int isc_container_ps(const struct isc_context *ctx, const char *id, pid_t **pids, size_t *n, isc_error **err);
/* Freeze a created or running container. */
int isc_container_pause(const struct isc_context *ctx, const char *id, isc_error **err);
/* Thaw a paused container. */
int isc_container_resume(const struct isc_context *ctx, const char *id, isc_error **err);
/* Apply new resource values.  A limit for a hierarchy the container is not
 * in yet (created without such limits and without cgroup mounts) makes
 * the group there and moves every process of the container into it, with
 * the container frozen meanwhile; the state records the new group. */
int isc_container_update(const struct isc_context *ctx, const char *id, const struct isc_resources *res,
			 isc_error **err);

/* The usage of a created, running or paused container (stats). */
struct isc_cgroup_stats;
int isc_container_stats(const struct isc_context *ctx, const char *id, struct isc_cgroup_stats *out, isc_error **err);

/* For kill and delete (lifecycle.c): after a SIGKILL, thaw a frozen
 * container, so that the signal is acted on (cgroup v1 freezer tasks die
 * only when thawed).  A container without a freezer or not frozen: no-op. */
int isc_control_thaw_after_kill(const struct isc_state *st, int sig, isc_error **err);

/* "64m", "1G", "512k", "100" -> bytes (k, m, g, t; either case, an
 * optional trailing "b"); "-1" -> -1 (unlimited).  -1 with errno EINVAL
 * or ERANGE. */
int isc_control_parse_size(const char *s, int64_t *out);

#endif
