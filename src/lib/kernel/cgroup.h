/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups: v2, v1 and hybrid, detected once.  A container's groups are
 * created by the runtime before the init runs, the init's pid is attached
 * before it is released, and delete removes them. */
#ifndef ISC_CGROUP_H
#define ISC_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "base/error.h"
#include "spec/spec.h"

enum isc_cgroup_mode {
	ISC_CGROUP_V1 = 1,
	ISC_CGROUP_V2,
	ISC_CGROUP_HYBRID, /* v1 controllers + a v2 hierarchy at /sys/fs/cgroup/unified */
};

/* Detected once per process (mountinfo), cached. */
int isc_cgroup_mode(enum isc_cgroup_mode *mode, isc_error **err);

struct isc_cgroup; /* the groups of one container */

/* Create the groups for `cgroups_path` (relative: under the caller's own
 * group, per hierarchy; absolute: as given; NULL: a relative
 * "isc-<id>") and apply `res` (may be NULL).  A group in every hierarchy
 * that accounts or limits (memory, cpu, cpuacct, blkio, pids, devices,
 * freezer, and what `res` needs); `every_hierarchy`: in every hierarchy
 * (the container mounts cgroup filesystems, so each must show its own
 * group).  A leaf that exists already and is empty (left by an earlier
 * container) is removed and made again, with a warning.  On failure
 * nothing is left. */
int isc_cgroup_create(const char *cgroups_path, const char *id, const struct isc_resources *res, bool every_hierarchy,
		      struct isc_cgroup **out, isc_error **err);
/* The groups isc_cgroup_create would make for the same arguments, none
 * made: each directory, and as its count of made components those that do
 * not exist yet.  Recorded before the create, it lets isc_cgroup_destroy
 * undo a create that was killed half-way. */
int isc_cgroup_plan(const char *cgroups_path, const char *id, const struct isc_resources *res, bool every_hierarchy,
		    struct isc_cgroup **out, isc_error **err);
/* Move `pid` into every group. */
int isc_cgroup_attach(struct isc_cgroup *cg, pid_t pid, isc_error **err);
/* Apply new resource values (update). */
int isc_cgroup_update(struct isc_cgroup *cg, const struct isc_resources *res, isc_error **err);
/* For update: a group in each hierarchy that `res` needs and the container
 * is not in yet (it was created without such limits and without cgroup
 * mounts), made at the container's path there, and every process of the
 * container moved into it while the container is frozen.  *added tells
 * that cg changed (serialize it again). */
int isc_cgroup_add_missing(struct isc_cgroup *cg, const struct isc_resources *res, bool *added, isc_error **err);
/* Send `sig` to every process in the groups. */
int isc_cgroup_kill_all(struct isc_cgroup *cg, int sig, isc_error **err);
/* Pids in the container (from the tracking hierarchy). */
int isc_cgroup_pids(struct isc_cgroup *cg, pid_t **pids, size_t *n, isc_error **err);
/* Kill what is left, wait for the groups to empty, remove them. */
int isc_cgroup_destroy(struct isc_cgroup *cg, isc_error **err);
/* Freeze / thaw (freezer v1, cgroup.freeze v2). */
int isc_cgroup_freeze(struct isc_cgroup *cg, bool frozen, isc_error **err);

/* True when the freezer group reports frozen (v1 freezer.state FROZEN,
 * v2 cgroup.freeze 1). */
bool isc_cgroup_frozen(const struct isc_cgroup *cg);

/* A container's usage (cgroup-stats.c); has_* false: no group accounts
 * it.  Limits: -1 when none. */
struct isc_cgroup_stats {
	bool has_cpu, has_memory, has_pids;
	uint64_t cpu_ns;       /* CPU time used, all processes, ns */
	uint64_t memory_usage; /* bytes (page cache included, as the kernel counts it) */
	int64_t memory_limit;
	uint64_t pids;
	int64_t pids_limit;
};
int isc_cgroup_stats(const struct isc_cgroup *cg, struct isc_cgroup_stats *out, isc_error **err);

/* Serialize to one line of text (for the state file) and back. */
char *isc_cgroup_serialize(const struct isc_cgroup *cg);
int isc_cgroup_deserialize(const char *text, struct isc_cgroup **out, isc_error **err);
void isc_cgroup_free(struct isc_cgroup *cg);

/* In the init, inside its mount namespace, before pivot_root: the
 * container's view of its cgroups at `target` (an fd of the destination,
 * resolved inside the rootfs; `name` names it in messages): a tmpfs with
 * one directory per v1 hierarchy, or the v2 hierarchy, with `flags`
 * (MS_RDONLY etc.).  Every mount targets an fd, never a path.  In a
 * cgroup namespace (`own_ns`) fresh cgroup mounts, whose roots are the
 * namespace's (the container's groups); without one, binds of the
 * container's own group in each hierarchy: never the host's whole tree. */
int isc_cgroup_mount(int target, const char *name, unsigned long flags, bool own_ns, isc_error **err);

/* Pure helper exposed for unit tests: resolve the directory for one
 * hierarchy given the caller's own path there ("/a/b") and cgroups_path.
 * Returns the path inside the hierarchy ("/a/b/isc-<id>"), or NULL with
 * errno EINVAL for "." or ".." components, an empty path or the root. */
char *isc_cgroup_resolve(const char *own, const char *cgroups_path, const char *id);

#endif
