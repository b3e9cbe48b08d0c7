/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups: which controllers a config's resources need, and where: on a
 * v1 hierarchy when the host has one for the controller, else in the
 * unified group (hybrid; v2); their values written into the container's
 * groups by the appliers of cgroup-v1.c and cgroup-v2.c, for create and
 * update.  Plus the small file helpers every cgroup file uses: files are
 * written only for the fields that were given.
 */
#include "kernel/cgroup-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

/* ---- small file helpers --------------------------------------------- */

int isc_cgroup_write(const char *dir, const char *file, const char *value, isc_error **err)
{
	cleanup_free char *path = isc_xasprintf("%s/%s", dir, file);
	return isc_write_file(path, value, strlen(value), err);
}

int isc_cgroup_read(const char *dir, const char *file, char **out, isc_error **err)
{
	cleanup_free char *path = isc_xasprintf("%s/%s", dir, file);
	return isc_read_file(path, out, NULL, 1u << 20, err);
}

bool isc_cgroup_has_file(const char *dir, const char *file)
{
	cleanup_free char *path = isc_xasprintf("%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

bool isc_cgroup_valid_pagesize(const char *s)
{
	size_t d = s ? strspn(s, "0123456789") : 0;
	return d > 0 && s[d] && strchr("KMGTP", s[d]) && s[d + 1] == 'B' && s[d + 2] == '\0';
}

/* ---- the appliers v1 and v2 share ------------------------------------- */

int isc_cgroup_set_cpuset(const char *dir, const struct isc_resources *res, isc_error **err)
{
	if (res->cpu_cpus && *res->cpu_cpus && isc_cgroup_write(dir, "cpuset.cpus", res->cpu_cpus, err) < 0)
		return -1;
	if (res->cpu_mems && *res->cpu_mems && isc_cgroup_write(dir, "cpuset.mems", res->cpu_mems, err) < 0)
		return -1;
	return 0;
}

int isc_cgroup_set_pids(const char *dir, const struct isc_resources *res, isc_error **err)
{
	if (!res->has_pids_limit)
		return 0;
	char v[32] = "max";
	if (res->pids_limit > 0)
		snprintf(v, sizeof(v), "%" PRId64, res->pids_limit);
	return isc_cgroup_write(dir, "pids.max", v, err);
}

int isc_cgroup_set_hugetlb(const char *dir, const struct isc_resources *res, const char *suffix, isc_error **err)
{
	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const struct isc_kv *kv = &res->hugepage_limits[i];
		if (!isc_cgroup_valid_pagesize(kv->key))
			return isc_error_set(err, EINVAL,
					     "linux.resources.hugepageLimits[%zu].pageSize: bad size \"%s\"", i,
					     kv->key);
		cleanup_free char *file = isc_xasprintf("hugetlb.%s.%s", kv->key, suffix);
		if (isc_cgroup_write(dir, file, kv->value, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- resources ------------------------------------------------------- */

unsigned isc_cgroup_res_mask(const struct isc_resources *r)
{
	unsigned m = 0;
	if (r == NULL)
		return 0;
	if (r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap || r->has_memory_swappiness ||
	    r->disable_oom_killer)
		m |= ISC_CGROUP_MEMORY;
	if (r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period)
		m |= ISC_CGROUP_CPU;
	if ((r->cpu_cpus && *r->cpu_cpus) || (r->cpu_mems && *r->cpu_mems))
		m |= ISC_CGROUP_CPUSET;
	if (r->has_pids_limit)
		m |= ISC_CGROUP_PIDS;
	if (r->n_devices)
		m |= ISC_CGROUP_DEVICES;
	if (r->has_blkio_weight)
		m |= ISC_CGROUP_BLKIO;
	if (r->n_hugepage_limits)
		m |= ISC_CGROUP_HUGETLB;
	return m;
}

static unsigned layout_v1_mask(const struct isc_cgroup_layout *l)
{
	unsigned m = 0;
	for (size_t i = 0; i < l->n_v1; i++)
		m |= l->v1[i].mask;
	return m;
}

/* Controllers of `need` that must be served by the unified group. */
int isc_cgroup_v2_part(const struct isc_cgroup_layout *l, unsigned need, const struct isc_resources *res,
		       unsigned *v2mask, isc_error **err)
{
	unsigned v1 = l->mode == ISC_CGROUP_V2 ? 0 : layout_v1_mask(l);
	unsigned rest = need & ~v1;
	/* device rules on v2 need an eBPF program, which isc does not load (see cgroup-v2.c) */
	rest &= ~(unsigned)ISC_CGROUP_DEVICES;
	if (l->mode == ISC_CGROUP_V1) {
		if (need & ISC_CGROUP_DEVICES & ~v1)
			rest |= ISC_CGROUP_DEVICES;
		for (unsigned bit = 1; bit <= ISC_CGROUP_DEBUG; bit <<= 1)
			if (rest & bit)
				return isc_error_set(
					err, ENOTSUP,
					"linux.resources: cgroup controller %s is not mounted on this host",
					isc_cgroup_controller_name(bit, false));
		if (res && res->n_unified)
			return isc_error_set(
				err, ENOTSUP,
				"linux.resources.unified[\"%s\"]: needs cgroup v2, this host has only cgroup v1",
				res->unified[0].key ? res->unified[0].key : "");
	}
	*v2mask = rest;
	return 0;
}

/* Write the resources into every group (create and update). */
int isc_cgroup_apply(const struct isc_cgroup *cg, const struct isc_cgroup_layout *l, const struct isc_resources *res,
		     isc_error **err)
{
	unsigned need = isc_cgroup_res_mask(res), v2mask = 0;
	if (res == NULL)
		return 0;
	if (isc_cgroup_v2_part(l, need, res, &v2mask, err) < 0)
		return -1;
	unsigned v1need = need & ~v2mask;
	if (l->mode != ISC_CGROUP_V2) {
		for (unsigned bit = 1; bit <= ISC_CGROUP_DEBUG; bit <<= 1)
			if ((v1need & bit & layout_v1_mask(l)) && isc_cgroup_find_v1(cg, bit) == NULL)
				return isc_error_set(err, ENOENT, "linux.resources: the container has no %s cgroup",
						     isc_cgroup_controller_name(bit, false));
		for (size_t i = 0; i < cg->n; i++)
			if (!cg->g[i].v2 && isc_cgroup_v1_apply(cg->g[i].dir, cg->g[i].mask & v1need, res, err) < 0)
				return -1;
	}
	if (v2mask || res->n_unified) {
		const struct isc_cgroup_group *g = isc_cgroup_find_v2(cg);
		if (g == NULL)
			return isc_error_set(err, ENOENT, "linux.resources: the container has no cgroup v2 group");
		if (isc_cgroup_v2_enable(l->v2_mount, g->dir, v2mask, res, err) < 0 ||
		    isc_cgroup_v2_apply(g->dir, v2mask, res, err) < 0)
			return -1;
	}
	return 0;
}
