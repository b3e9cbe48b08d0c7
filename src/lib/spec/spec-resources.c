/* SPDX-License-Identifier: GPL-2.0-or-later
 * config.json's "linux.resources" (also the object `update` reads): the
 * cgroup limits, checked for range and for cgroup file names that stay in
 * their group.  0 means "not set" where runc reads it so (want_limit).
 * Pure parsing, errors name the field (spec-internal.h). */
#include "spec/spec-internal.h"

/* "0-3,5" style lists (cpuset.cpus / cpuset.mems) */
static int check_cpu_list(const char *s, const char *field, isc_error **err)
{
	for (const char *p = s; *p; p++)
		if (strchr("0123456789-,", *p) == NULL)
			return bad(err, "%s: invalid list \"%s\"", field, s);
	return 0;
}

/* A cgroup file name: no path separators and no "..". */
static int check_cgroup_key(const char *key, const char *field, isc_error **err)
{
	if (key[0] == '\0' || key[0] == '.' || strchr(key, '/') != NULL || strstr(key, "..") != NULL)
		return bad(err, "%s: invalid cgroup file name \"%s\"", field, key);
	return 0;
}

static int parse_device_rules(const json_t *v, const char *pfx, struct isc_resources *r, isc_error **err)
{
	char f[FIELD_MAX];
	if (want_array(v, fld(f, "%s.devices", pfx), err) < 0)
		return -1;
	size_t n = json_array_size(v);
	r->devices = isc_xmalloc0(n * sizeof(*r->devices));
	r->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i), *t;
		struct isc_device_rule *d = &r->devices[i];
		if (want_object(e, fld(f, "%s.devices[%zu]", pfx, i), err) < 0)
			return -1;
		if ((t = jget(e, "allow")) == NULL)
			return bad(err, "%s.devices[%zu].allow: required field is missing", pfx, i);
		if (want_bool(t, fld(f, "%s.devices[%zu].allow", pfx, i), &d->allow, err) < 0)
			return -1;
		d->type = 'a';
		d->major = d->minor = -1;
		strcpy(d->access, "rwm");
		if ((t = jget(e, "type")) != NULL) {
			const char *ty = json_string_value(t);
			if (ty == NULL)
				return bad(err, "%s.devices[%zu].type: expected a string", pfx, i);
			if (strlen(ty) != 1 || strchr("acb", ty[0]) == NULL)
				return bad(err, "%s.devices[%zu].type: unknown device type \"%s\" (want a, c or b)",
					   pfx, i, ty);
			d->type = ty[0];
		}
		if ((t = jget(e, "major")) != NULL &&
		    want_int(t, fld(f, "%s.devices[%zu].major", pfx, i), -1, UINT32_MAX, &d->major, err) < 0)
			return -1;
		if ((t = jget(e, "minor")) != NULL &&
		    want_int(t, fld(f, "%s.devices[%zu].minor", pfx, i), -1, UINT32_MAX, &d->minor, err) < 0)
			return -1;
		if ((t = jget(e, "access")) != NULL) {
			const char *a = json_string_value(t);
			if (a == NULL)
				return bad(err, "%s.devices[%zu].access: expected a string", pfx, i);
			bool seen[3] = { false, false, false };
			for (const char *p = a; *p; p++) {
				const char *pos = strchr("rwm", *p);
				if (pos == NULL || seen[pos - "rwm"])
					return bad(
						err,
						"%s.devices[%zu].access: invalid access \"%s\" (want a subset of rwm)",
						pfx, i, a);
				seen[pos - "rwm"] = true;
			}
			snprintf(d->access, sizeof(d->access), "%s", a);
		}
	}
	return 0;
}

/* "memory": the limits (-1 unlimited, 0 not set), swappiness, the OOM killer */
static int parse_memory(const json_t *g, const char *pfx, struct isc_resources *r, isc_error **err)
{
	char f[FIELD_MAX];
	json_t *t;
	int64_t x = 0;
	static const struct {
		const char *name;
		size_t has, val;
	} mem[] = {
		{ "limit", offsetof(struct isc_resources, has_memory_limit),
		  offsetof(struct isc_resources, memory_limit) },
		{ "reservation", offsetof(struct isc_resources, has_memory_reservation),
		  offsetof(struct isc_resources, memory_reservation) },
		{ "swap", offsetof(struct isc_resources, has_memory_swap),
		  offsetof(struct isc_resources, memory_swap) },
	};
	if (want_object(g, fld(f, "%s.memory", pfx), err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(mem); i++) {
		if ((t = jget(g, mem[i].name)) == NULL)
			continue;
		/* -1 means unlimited, 0 not set; other negative sizes are errors */
		bool set = false;
		if (want_limit(t, fld(f, "%s.memory.%s", pfx, mem[i].name), -1, INT64_MAX, &x, &set, err) < 0)
			return -1;
		*(bool *)((char *)r + mem[i].has) = set;
		*(int64_t *)((char *)r + mem[i].val) = x;
	}
	if ((t = jget(g, "swappiness")) != NULL) {
		if (want_int(t, fld(f, "%s.memory.swappiness", pfx), 0, 100, &x, err) < 0)
			return -1;
		r->memory_swappiness = (uint64_t)x;
		r->has_memory_swappiness = true;
	}
	if ((t = jget(g, "disableOOMKiller")) != NULL &&
	    want_bool(t, fld(f, "%s.memory.disableOOMKiller", pfx), &r->disable_oom_killer, err) < 0)
		return -1;
	return 0;
}

/* "cpu": shares, quota, period (0 is not set), the cpuset lists */
static int parse_cpu(const json_t *g, const char *pfx, struct isc_resources *r, isc_error **err)
{
	char f[FIELD_MAX];
	json_t *t;
	int64_t x = 0;
	if (want_object(g, fld(f, "%s.cpu", pfx), err) < 0)
		return -1;
	/* shares, quota, period: 0 is not set */
	if ((t = jget(g, "shares")) != NULL) {
		if (want_limit(t, fld(f, "%s.cpu.shares", pfx), 1, INT64_MAX, &x, &r->has_cpu_shares, err) < 0)
			return -1;
		r->cpu_shares = (uint64_t)x;
	}
	if ((t = jget(g, "quota")) != NULL) {
		if (want_limit(t, fld(f, "%s.cpu.quota", pfx), -1, INT64_MAX, &x, &r->has_cpu_quota, err) < 0)
			return -1;
		r->cpu_quota = x;
	}
	if ((t = jget(g, "period")) != NULL) {
		if (want_limit(t, fld(f, "%s.cpu.period", pfx), 1, INT64_MAX, &x, &r->has_cpu_period, err) < 0)
			return -1;
		r->cpu_period = (uint64_t)x;
	}
	if ((t = jget(g, "cpus")) != NULL && (want_string(t, fld(f, "%s.cpu.cpus", pfx), &r->cpu_cpus, err) < 0 ||
					      check_cpu_list(r->cpu_cpus, fld(f, "%s.cpu.cpus", pfx), err) < 0))
		return -1;
	if ((t = jget(g, "mems")) != NULL && (want_string(t, fld(f, "%s.cpu.mems", pfx), &r->cpu_mems, err) < 0 ||
					      check_cpu_list(r->cpu_mems, fld(f, "%s.cpu.mems", pfx), err) < 0))
		return -1;
	return 0;
}

/* "hugepageLimits": [{"pageSize": "2MB", "limit": N}, ...] */
static int parse_hugepage_limits(const json_t *g, const char *pfx, struct isc_resources *r, isc_error **err)
{
	char f[FIELD_MAX];
	json_t *t;
	int64_t x = 0;
	if (want_array(g, fld(f, "%s.hugepageLimits", pfx), err) < 0)
		return -1;
	size_t n = json_array_size(g);
	r->hugepage_limits = isc_xmalloc0(n * sizeof(struct isc_kv));
	r->n_hugepage_limits = n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(g, i);
		struct isc_kv *kv = &r->hugepage_limits[i];
		if (want_object(e, fld(f, "%s.hugepageLimits[%zu]", pfx, i), err) < 0)
			return -1;
		if ((t = jget(e, "pageSize")) == NULL)
			return bad(err, "%s.hugepageLimits[%zu].pageSize: required field is missing", pfx, i);
		if (want_string(t, fld(f, "%s.hugepageLimits[%zu].pageSize", pfx, i), &kv->key, err) < 0 ||
		    check_cgroup_key(kv->key, f, err) < 0)
			return -1;
		if ((t = jget(e, "limit")) == NULL)
			return bad(err, "%s.hugepageLimits[%zu].limit: required field is missing", pfx, i);
		if (want_int(t, fld(f, "%s.hugepageLimits[%zu].limit", pfx, i), 0, INT64_MAX, &x, err) < 0)
			return -1;
		kv->value = isc_xasprintf("%lld", (long long)x);
	}
	return 0;
}

int isc_spec_resources_from_json(const json_t *v, const char *pfx, struct isc_resources *r, isc_error **err)
{
	char f[FIELD_MAX];
	json_t *g, *t;
	int64_t x = 0;
	if (want_object(v, pfx, err) < 0)
		return -1;

	if ((g = jget(v, "memory")) != NULL && parse_memory(g, pfx, r, err) < 0)
		return -1;

	if ((g = jget(v, "cpu")) != NULL && parse_cpu(g, pfx, r, err) < 0)
		return -1;

	if ((g = jget(v, "pids")) != NULL) {
		if (want_object(g, fld(f, "%s.pids", pfx), err) < 0)
			return -1;
		/* -1: unlimited; 0: not set */
		if ((t = jget(g, "limit")) != NULL && want_limit(t, fld(f, "%s.pids.limit", pfx), -1, INT64_MAX,
								 &r->pids_limit, &r->has_pids_limit, err) < 0)
			return -1;
	}

	if ((g = jget(v, "devices")) != NULL && parse_device_rules(g, pfx, r, err) < 0)
		return -1;

	if ((g = jget(v, "blockIO")) != NULL) {
		if (want_object(g, fld(f, "%s.blockIO", pfx), err) < 0)
			return -1;
		/* 0: not set (Docker writes it for "no --blkio-weight") */
		if ((t = jget(g, "weight")) != NULL) {
			if (want_limit(t, fld(f, "%s.blockIO.weight", pfx), 10, 1000, &x, &r->has_blkio_weight, err) <
			    0)
				return -1;
			r->blkio_weight = (uint16_t)x;
		}
	}

	if ((g = jget(v, "hugepageLimits")) != NULL && parse_hugepage_limits(g, pfx, r, err) < 0)
		return -1;

	if ((g = jget(v, "network")) != NULL) {
		if (want_object(g, fld(f, "%s.network", pfx), err) < 0)
			return -1;
		r->has_network = json_object_size(g) > 0;
	}

	if ((g = jget(v, "unified")) != NULL) {
		if (want_kv(g, fld(f, "%s.unified", pfx), &r->unified, &r->n_unified, err) < 0)
			return -1;
		for (size_t i = 0; i < r->n_unified; i++)
			if (check_cgroup_key(r->unified[i].key, fld(f, "%s.unified.%s", pfx, r->unified[i].key), err) <
			    0)
				return -1;
	}
	return 0;
}

int isc_spec_parse_resources(const char *json, size_t len, struct isc_resources *out, isc_error **err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return bad(err, "resources: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	struct isc_resources r = { 0 };
	int ret = isc_spec_resources_from_json(root, "resources", &r, err);
	json_decref(root);
	if (ret < 0) {
		isc_resources_clear(&r);
		return -1;
	}
	*out = r;
	return 0;
}
