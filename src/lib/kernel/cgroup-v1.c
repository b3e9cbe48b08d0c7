/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroup v1: resource files of one hierarchy's group, cpuset inheritance
 * for new groups, and the freezer.  Only fields that were given are
 * written; every error names the file. */
#include "kernel/cgroup-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/util.h"

static void fmt_i64(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%" PRId64, v);
}

/* memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at every
 * step, so the order of the two writes depends on the current values: try
 * limit first, and on EINVAL the other way round. */
static int v1_memory(const char *dir, const struct isc_resources *res, isc_error **err)
{
	char lim[32], sw[32];
	/* 0 means "not set", as in runc: a 0-byte limit would only OOM the init */
	bool limit = res->has_memory_limit && res->memory_limit != 0;
	bool swap = res->has_memory_swap && res->memory_swap != 0 &&
		    isc_cgroup_has_file(dir, "memory.memsw.limit_in_bytes");
	fmt_i64(lim, sizeof(lim), res->memory_limit);
	fmt_i64(sw, sizeof(sw), res->memory_swap);
	if (limit && swap) {
		cleanup_error isc_error *first = NULL;
		if (isc_cgroup_write(dir, "memory.limit_in_bytes", lim, &first) < 0) {
			if (first->errnum != EINVAL && first->errnum != EBUSY) {
				isc_error_move(err, &first);
				return -1;
			}
			if (isc_cgroup_write(dir, "memory.memsw.limit_in_bytes", sw, err) < 0 ||
			    isc_cgroup_write(dir, "memory.limit_in_bytes", lim, err) < 0)
				return -1;
		} else if (isc_cgroup_write(dir, "memory.memsw.limit_in_bytes", sw, err) < 0) {
			return -1;
		}
	} else if (limit) {
		if (isc_cgroup_write(dir, "memory.limit_in_bytes", lim, err) < 0)
			return -1;
	} else if (swap) {
		if (isc_cgroup_write(dir, "memory.memsw.limit_in_bytes", sw, err) < 0)
			return -1;
	}
	if (res->has_memory_reservation) {
		char v[32];
		fmt_i64(v, sizeof(v), res->memory_reservation);
		if (isc_cgroup_write(dir, "memory.soft_limit_in_bytes", v, err) < 0)
			return -1;
	}
	if (res->has_memory_swappiness) {
		if (res->memory_swappiness > 100)
			return isc_error_set(err, EINVAL,
					     "linux.resources.memory.swappiness: %" PRIu64 " is not in 0..100",
					     res->memory_swappiness);
		char v[32];
		snprintf(v, sizeof(v), "%" PRIu64, res->memory_swappiness);
		if (isc_cgroup_write(dir, "memory.swappiness", v, err) < 0)
			return -1;
	}
	if (res->disable_oom_killer && isc_cgroup_write(dir, "memory.oom_control", "1", err) < 0)
		return -1;
	return 0;
}

static int v1_cpu(const char *dir, const struct isc_resources *res, isc_error **err)
{
	char v[32];
	if (res->has_cpu_shares && res->cpu_shares != 0) {
		snprintf(v, sizeof(v), "%" PRIu64, res->cpu_shares);
		if (isc_cgroup_write(dir, "cpu.shares", v, err) < 0)
			return -1;
	}
	/* the period first: a quota is checked against the current period */
	if (res->has_cpu_period && res->cpu_period != 0) {
		snprintf(v, sizeof(v), "%" PRIu64, res->cpu_period);
		if (isc_cgroup_write(dir, "cpu.cfs_period_us", v, err) < 0)
			return -1;
	}
	if (res->has_cpu_quota && res->cpu_quota != 0) {
		fmt_i64(v, sizeof(v), res->cpu_quota < 0 ? -1 : res->cpu_quota);
		if (isc_cgroup_write(dir, "cpu.cfs_quota_us", v, err) < 0)
			return -1;
	}
	return 0;
}

static void devnum(char *buf, size_t len, int64_t n)
{
	if (n < 0)
		snprintf(buf, len, "*");
	else
		fmt_i64(buf, len, n);
}

/* Rules are written in order, each to devices.allow or devices.deny, as
 * "type major:minor access" with * for a wildcard. */
static int v1_devices(const char *dir, const struct isc_resources *res, isc_error **err)
{
	for (size_t i = 0; i < res->n_devices; i++) {
		const struct isc_device_rule *r = &res->devices[i];
		char maj[24], min[24], line[80];
		devnum(maj, sizeof(maj), r->major);
		devnum(min, sizeof(min), r->minor);
		snprintf(line, sizeof(line), "%c %s:%s %s", r->type ? r->type : 'a', maj, min,
			 r->access[0] ? r->access : "rwm");
		if (isc_cgroup_write(dir, r->allow ? "devices.allow" : "devices.deny", line, err) < 0)
			return isc_error_wrap(err, "linux.resources.devices[%zu]", i);
	}
	return 0;
}

static int v1_blkio(const char *dir, const struct isc_resources *res, isc_error **err)
{
	static const char *const files[] = { "blkio.weight", "blkio.bfq.weight" };
	if (!res->has_blkio_weight || res->blkio_weight == 0)
		return 0;
	char v[16];
	snprintf(v, sizeof(v), "%u", (unsigned)res->blkio_weight);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (isc_cgroup_has_file(dir, files[i]))
			return isc_cgroup_write(dir, files[i], v, err);
	return isc_error_set(err, ENOTSUP,
			     "linux.resources.blockIO.weight: %s has neither blkio.weight nor blkio.bfq.weight", dir);
}

static int v1_hugetlb(const char *dir, const struct isc_resources *res, isc_error **err)
{
	return isc_cgroup_set_hugetlb(dir, res, "limit_in_bytes", err);
}

int isc_cgroup_v1_apply(const char *dir, unsigned mask, const struct isc_resources *res, isc_error **err)
{
	static const struct {
		unsigned bit;
		int (*apply)(const char *, const struct isc_resources *, isc_error **);
	} appliers[] = {
		{ ISC_CGROUP_MEMORY, v1_memory },
		{ ISC_CGROUP_CPU, v1_cpu },
		{ ISC_CGROUP_CPUSET, isc_cgroup_set_cpuset },
		{ ISC_CGROUP_PIDS, isc_cgroup_set_pids },
		{ ISC_CGROUP_DEVICES, v1_devices },
		{ ISC_CGROUP_BLKIO, v1_blkio },
		{ ISC_CGROUP_HUGETLB, v1_hugetlb },
	};
	if (res == NULL)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(appliers); i++)
		if ((mask & appliers[i].bit) && appliers[i].apply(dir, res, err) < 0)
			return -1;
	return 0;
}

static bool blank(const char *s)
{
	return s[strspn(s, " \t\n")] == '\0';
}

/* A new v1 cpuset group starts with empty cpus and mems, and attaching a
 * task to it fails with ENOSPC: copy them down from the parent.  (The
 * parent's cgroup.clone_children would do it, but it may be the root.) */
int isc_cgroup_v1_cpuset_fill(const char *dir, isc_error **err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	cleanup_free char *parent = isc_xstrdup(dir);
	char *slash = strrchr(parent, '/');
	if (slash == NULL || slash == parent)
		return isc_error_set(err, EINVAL, "cpuset group %s has no parent", dir);
	*slash = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		cleanup_free char *cur = NULL;
		cleanup_free char *up = NULL;
		if (isc_cgroup_read(dir, files[i], &cur, err) < 0)
			return -1;
		if (!blank(cur))
			continue;
		if (isc_cgroup_read(parent, files[i], &up, err) < 0)
			return -1;
		up[strcspn(up, "\n")] = '\0';
		if (blank(up))
			continue; /* nothing to copy: the parent is empty too */
		if (isc_cgroup_write(dir, files[i], up, err) < 0)
			return -1;
	}
	return 0;
}

bool isc_cgroup_v1_is_frozen(const char *dir)
{
	cleanup_free char *s = NULL;
	cleanup_error isc_error *e = NULL;
	if (isc_cgroup_read(dir, "freezer.state", &s, &e) < 0)
		return false;
	return strncmp(s, "FROZEN", 6) == 0;
}

static void nap(long usec)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = usec * 1000 };
	nanosleep(&ts, NULL);
}

/* Write the state and wait until freezer.state reports it; "FREEZING"
 * can last while tasks sit in uninterruptible sleep, so FROZEN is written
 * again now and then.  Bounded at about 2 s; a freeze that does not settle
 * is undone. */
int isc_cgroup_v1_freeze(const char *dir, bool frozen, isc_error **err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	uint64_t deadline = isc_now_ns() + 2000000000ull;
	long delay = 100;
	for (unsigned round = 0;; round++) {
		if ((round % 10) == 0 && isc_cgroup_write(dir, "freezer.state", want, err) < 0)
			return -1;
		cleanup_free char *s = NULL;
		if (isc_cgroup_read(dir, "freezer.state", &s, err) < 0)
			return -1;
		s[strcspn(s, "\n")] = '\0';
		if (strcmp(s, want) == 0)
			return 0;
		if (isc_now_ns() > deadline) {
			if (frozen) {
				cleanup_error isc_error *ignored = NULL;
				(void)isc_cgroup_write(dir, "freezer.state", "THAWED", &ignored);
			}
			return isc_error_set(err, ETIMEDOUT, "%s %s/freezer.state: still %s",
					     frozen ? "freeze" : "thaw", dir, s);
		}
		nap(delay);
		if (delay < 10000)
			delay *= 2;
	}
}
