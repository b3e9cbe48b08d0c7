/* SPDX-License-Identifier: GPL-2.0-or-later
 * Namespaces: which to create and which to join, user-namespace id maps,
 * time-namespace offsets. */
#ifndef ISC_NS_H
#define ISC_NS_H

#include <stdbool.h>
#include <sys/types.h>
#include "base/error.h"
#include "spec/spec.h"

struct isc_ns_plan {
	int new_flags;	 /* CLONE_NEW* to create */
	int join_fds[8]; /* open nsfs fds to join, in join order (user first) */
	int join_types[8];
	int n_join;
	bool user_new, user_join, pid_new, pid_join, time_new;
};

/* Open and check every namespace path (type verified with NS_GET_NSTYPE). */
int isc_ns_plan_make(const struct isc_spec *spec, struct isc_ns_plan *plan, isc_error **err);
void isc_ns_plan_close(struct isc_ns_plan *plan);

/* Runtime side: write /proc/PID/{uid_map,gid_map} (and setgroups when needed). */
int isc_ns_write_idmaps(pid_t pid, const struct isc_spec *spec, isc_error **err);

/* Init side: setns() every namespace to join (user first). */
int isc_ns_join(const struct isc_ns_plan *plan, bool user_only, isc_error **err);

/* Runtime side: the offsets of the time namespace that process `pid`
 * created for its children (/proc/PID/timens_offsets), before any process
 * entered it.  The runtime writes them so that the stage never has to be
 * dumpable (its /proc files belong to the host's root). */
int isc_ns_set_time_offsets(pid_t pid, const struct isc_spec *spec, isc_error **err);

#endif
