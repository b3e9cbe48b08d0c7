/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups: a container's usage, for `isc stats` (cgroup.h).
 *
 * Design
 * ------
 * Read only.  Each figure comes from the v1 hierarchy of its controller
 * when the container has a group there (v1, and the v1 controllers of a
 * hybrid host), else from its unified group: CPU time (cpuacct.usage,
 * ns; cpu.stat usage_usec), memory (memory.usage_in_bytes and
 * memory.limit_in_bytes; memory.current and memory.max), pids
 * (pids.current and pids.max, the same files in both).  A figure the
 * container has no group for stays unknown (has_* false); a limit of
 * "max" (or v1's page-rounded LONG_MAX) is -1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/cgroup-internal.h"
#include "base/util.h"

/* The group that serves controller `bit`: its v1 group, else the unified one. */
static const struct isc_cgroup_group *group_for(const struct isc_cgroup *cg, unsigned bit)
{
	const struct isc_cgroup_group *g = cg->mode == ISC_CGROUP_V2 ? NULL : isc_cgroup_find_v1(cg, bit);
	return g ? g : isc_cgroup_find_v2(cg);
}

/* A file holding one number ("max": -1); false when absent or malformed. */
static bool read_num(const char *dir, const char *file, int64_t *out)
{
	cleanup_free char *text = NULL;
	isc_error *e = NULL;
	if (isc_cgroup_read(dir, file, &text, &e) < 0) {
		isc_error_free(&e);
		return false;
	}
	text[strcspn(text, "\n")] = '\0';
	if (strcmp(text, "max") == 0) {
		*out = -1;
		return true;
	}
	uint64_t v;
	if (isc_parse_u64(text, &v) < 0)
		return false;
	/* v1's "no limit" is LONG_MAX rounded down to a page */
	*out = v >= (uint64_t)INT64_MAX - (1u << 20) ? -1 : (int64_t)v;
	return true;
}

/* v2 cpu.stat's usage_usec, in ns */
static bool read_usage_usec(const char *dir, uint64_t *ns)
{
	cleanup_free char *text = NULL;
	isc_error *e = NULL;
	if (isc_cgroup_read(dir, "cpu.stat", &text, &e) < 0) {
		isc_error_free(&e);
		return false;
	}
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		uint64_t v;
		if (strncmp(l, "usage_usec ", 11) == 0 && isc_parse_u64(l + 11, &v) == 0) {
			*ns = v * 1000;
			return true;
		}
	}
	return false;
}

int isc_cgroup_stats(const struct isc_cgroup *cg, struct isc_cgroup_stats *out, isc_error **err)
{
	memset(out, 0, sizeof(*out));
	out->memory_limit = out->pids_limit = -1;
	const struct isc_cgroup_group *g = group_for(cg, ISC_CGROUP_CPUACCT);
	int64_t v;
	if (g && !g->v2 && read_num(g->dir, "cpuacct.usage", &v) && v >= 0) {
		out->cpu_ns = (uint64_t)v;
		out->has_cpu = true;
	} else if (g && g->v2) {
		out->has_cpu = read_usage_usec(g->dir, &out->cpu_ns);
	}
	g = group_for(cg, ISC_CGROUP_MEMORY);
	if (g && read_num(g->dir, g->v2 ? "memory.current" : "memory.usage_in_bytes", &v) && v >= 0) {
		out->memory_usage = (uint64_t)v;
		out->has_memory = true;
		if (!read_num(g->dir, g->v2 ? "memory.max" : "memory.limit_in_bytes", &out->memory_limit))
			out->memory_limit = -1;
	}
	g = group_for(cg, ISC_CGROUP_PIDS);
	if (g && read_num(g->dir, "pids.current", &v) && v >= 0) {
		out->pids = (uint64_t)v;
		out->has_pids = true;
		if (!read_num(g->dir, "pids.max", &out->pids_limit))
			out->pids_limit = -1;
	}
	if (!out->has_cpu && !out->has_memory && !out->has_pids)
		return isc_error_set(err, ENOENT, "no cpu, memory or pids accounting in the container's cgroups");
	return 0;
}
