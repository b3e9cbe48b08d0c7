/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroup v2: resource files of the unified group, enabling controllers in
 * the ancestors' cgroup.subtree_control, and cgroup.freeze.
 *
 * Not done on v2 (documented, no error): memory.swappiness and
 * disableOOMKiller have no v2 file; device rules need a
 * BPF_PROG_TYPE_CGROUP_DEVICE program, which isc does not load yet, so
 * linux.resources.devices is not enforced on v2 (a user namespace and the
 * capability set are what keep device nodes away there). */
#include "kernel/cgroup-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/util.h"

uint64_t isc_cgroup_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t isc_cgroup_blkio_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + ((weight - 10) * 9999) / 990;
}

/* OCI swap is memory+swap (the v1 memsw meaning); v2 memory.swap.max is
 * the swap alone.  *set says whether there is something to write, *out
 * what (-1 = "max"). */
int isc_cgroup_swap_v2(const struct isc_resources *res, bool *set, int64_t *out, isc_error **err)
{
	*set = false;
	if (!res->has_memory_swap || res->memory_swap == 0)
		return 0;
	if (res->memory_swap < 0) {
		*set = true;
		*out = -1;
		return 0;
	}
	if (!res->has_memory_limit || res->memory_limit <= 0)
		return isc_error_set(err, EINVAL,
				     "linux.resources.memory.swap: a swap limit needs a memory limit on cgroup v2");
	if (res->memory_swap < res->memory_limit)
		return isc_error_set(err, EINVAL,
				     "linux.resources.memory.swap: %" PRId64 " is less than memory.limit %" PRId64,
				     res->memory_swap, res->memory_limit);
	*set = true;
	*out = res->memory_swap - res->memory_limit;
	return 0;
}

static void fmt_max(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%" PRId64, v);
}

static int v2_memory(const char *dir, const struct isc_resources *res, isc_error **err)
{
	char v[32];
	int64_t swap = 0;
	bool has_swap;
	if (isc_cgroup_swap_v2(res, &has_swap, &swap, err) < 0)
		return -1;
	if (res->has_memory_limit && res->memory_limit != 0) {
		fmt_max(v, sizeof(v), res->memory_limit);
		if (isc_cgroup_write(dir, "memory.max", v, err) < 0)
			return -1;
	}
	if (has_swap) {
		fmt_max(v, sizeof(v), swap);
		/* no memory.swap.max: the kernel has no swap accounting; "max" is what it does anyway */
		if (swap >= 0 || isc_cgroup_has_file(dir, "memory.swap.max"))
			if (isc_cgroup_write(dir, "memory.swap.max", v, err) < 0)
				return -1;
	}
	if (res->has_memory_reservation && res->memory_reservation != 0) {
		fmt_max(v, sizeof(v), res->memory_reservation);
		if (isc_cgroup_write(dir, "memory.low", v, err) < 0)
			return -1;
	}
	return 0;
}

static int v2_cpu(const char *dir, const struct isc_resources *res, isc_error **err)
{
	char v[64];
	uint64_t w = res->has_cpu_shares ? isc_cgroup_shares_to_weight(res->cpu_shares) : 0;
	if (w != 0) {
		snprintf(v, sizeof(v), "%" PRIu64, w);
		if (isc_cgroup_write(dir, "cpu.weight", v, err) < 0)
			return -1;
	}
	bool quota = res->has_cpu_quota && res->cpu_quota != 0;
	bool period = res->has_cpu_period && res->cpu_period != 0;
	if (!quota && !period)
		return 0;
	char q[32] = "max";
	if (quota && res->cpu_quota > 0)
		snprintf(q, sizeof(q), "%" PRId64, res->cpu_quota);
	if (!quota) {
		/* period alone: keep the current quota */
		cleanup_free char *cur = NULL;
		if (isc_cgroup_read(dir, "cpu.max", &cur, err) < 0)
			return -1;
		cur[strcspn(cur, " \n")] = '\0';
		if (strlen(cur) < sizeof(q))
			strcpy(q, cur);
	}
	if (period)
		snprintf(v, sizeof(v), "%s %" PRIu64, q, res->cpu_period);
	else
		snprintf(v, sizeof(v), "%s", q);
	return isc_cgroup_write(dir, "cpu.max", v, err);
}

static int v2_io(const char *dir, const struct isc_resources *res, isc_error **err)
{
	if (!res->has_blkio_weight || res->blkio_weight == 0)
		return 0;
	char v[32];
	if (isc_cgroup_has_file(dir, "io.weight")) {
		snprintf(v, sizeof(v), "%" PRIu64, isc_cgroup_blkio_to_io_weight(res->blkio_weight));
		return isc_cgroup_write(dir, "io.weight", v, err);
	}
	if (isc_cgroup_has_file(dir, "io.bfq.weight")) { /* same 1..1000 range as blkio */
		snprintf(v, sizeof(v), "%u", (unsigned)res->blkio_weight);
		return isc_cgroup_write(dir, "io.bfq.weight", v, err);
	}
	return isc_error_set(err, ENOTSUP, "linux.resources.blockIO.weight: %s has neither io.weight nor io.bfq.weight",
			     dir);
}

static int v2_hugetlb(const char *dir, const struct isc_resources *res, isc_error **err)
{
	return isc_cgroup_set_hugetlb(dir, res, "max", err);
}

static bool valid_unified_key(const char *k)
{
	return k && *k && k[0] != '.' && strchr(k, '/') == NULL && strchr(k, '.') != NULL;
}

static int v2_unified(const char *dir, const struct isc_resources *res, isc_error **err)
{
	for (size_t i = 0; i < res->n_unified; i++) {
		const struct isc_kv *kv = &res->unified[i];
		if (!valid_unified_key(kv->key))
			return isc_error_set(err, EINVAL, "linux.resources.unified: bad key \"%s\"",
					     kv->key ? kv->key : "");
		if (isc_cgroup_write(dir, kv->key, kv->value ? kv->value : "", err) < 0)
			return isc_error_wrap(err, "linux.resources.unified[\"%s\"]", kv->key);
	}
	return 0;
}

int isc_cgroup_v2_apply(const char *dir, unsigned mask, const struct isc_resources *res, isc_error **err)
{
	static const struct {
		unsigned bit;
		int (*apply)(const char *, const struct isc_resources *, isc_error **);
	} appliers[] = {
		{ ISC_CGROUP_MEMORY, v2_memory },
		{ ISC_CGROUP_CPU, v2_cpu },
		{ ISC_CGROUP_CPUSET, isc_cgroup_set_cpuset },
		{ ISC_CGROUP_PIDS, isc_cgroup_set_pids },
		{ ISC_CGROUP_BLKIO, v2_io },
		{ ISC_CGROUP_HUGETLB, v2_hugetlb },
	};
	if (res == NULL)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(appliers); i++)
		if ((mask & appliers[i].bit) && appliers[i].apply(dir, res, err) < 0)
			return -1;
	/* unified keys last: they are meant to override */
	return v2_unified(dir, res, err);
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
		bool start = p == list || p[-1] == ' ' || p[-1] == '\n';
		bool end = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';
		if (start && end)
			return true;
	}
	return false;
}

#define MAX_WANTED 32

/* Controller names to enable: the mask, plus the prefix of each unified key ("memory.high" -> memory). */
static size_t wanted_names(unsigned mask, const struct isc_resources *res, char names[][32])
{
	size_t n = 0;
	for (unsigned bit = 1; bit && bit <= ISC_CGROUP_DEBUG; bit <<= 1) {
		const char *name = (mask & bit) ? isc_cgroup_controller_name(bit, true) : NULL;
		if (name && n < MAX_WANTED)
			snprintf(names[n++], 32, "%s", name);
	}
	for (size_t i = 0; res && i < res->n_unified && n < MAX_WANTED; i++) {
		const char *k = res->unified[i].key;
		const char *dot = k ? strchr(k, '.') : NULL;
		if (dot == NULL || dot - k >= 32)
			continue;
		char name[32];
		snprintf(name, sizeof(name), "%.*s", (int)(dot - k), k);
		if (strcmp(name, "cgroup") == 0 || isc_cgroup_controller_bit(name) == 0)
			continue; /* core files, or unknown: the write names the file */
		bool dup = false;
		for (size_t j = 0; j < n; j++)
			dup = dup || strcmp(names[j], name) == 0;
		if (!dup)
			snprintf(names[n++], 32, "%s", name);
	}
	return n;
}

int isc_cgroup_v2_enable(const char *mount, const char *dir, unsigned mask, const struct isc_resources *res,
			 isc_error **err)
{
	char names[MAX_WANTED][32];
	size_t n = wanted_names(mask, res, names);
	size_t ml = strlen(mount);
	if (n == 0)
		return 0;
	if (strncmp(dir, mount, ml) != 0 || dir[ml] != '/')
		return isc_error_set(err, EINVAL, "cgroup %s is not below %s", dir, mount);
	cleanup_free char *cur = isc_xstrdup(dir);
	/* walk the ancestors from the mount down to the leaf's parent */
	for (char *p = cur + ml; p != NULL; p = strchr(p + 1, '/')) {
		char saved = *p;
		*p = '\0';
		const char *anc = *cur ? cur : "/";
		cleanup_free char *enabled = NULL;
		cleanup_free char *avail = NULL;
		char add[MAX_WANTED * 34] = "";
		if (isc_cgroup_read(anc, "cgroup.subtree_control", &enabled, err) < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (has_word(enabled, names[i]))
				continue;
			if (p == cur + ml) {
				*p = saved;
				return isc_error_set(
					err, ENOTSUP,
					"cgroup controller %s is not enabled in %s/cgroup.subtree_control (the "
					"hierarchy root, which isc does not write)",
					names[i], anc);
			}
			if (avail == NULL && isc_cgroup_read(anc, "cgroup.controllers", &avail, err) < 0)
				return -1;
			if (!has_word(avail, names[i]))
				return isc_error_set(err, ENOTSUP,
						     "cgroup controller %s is not available in %s/cgroup.controllers",
						     names[i], anc);
			size_t l = strlen(add);
			snprintf(add + l, sizeof(add) - l, "%s+%s", l ? " " : "", names[i]);
		}
		if (add[0] && isc_cgroup_write(anc, "cgroup.subtree_control", add, err) < 0)
			return -1;
		*p = saved;
	}
	return 0;
}

bool isc_cgroup_v2_is_frozen(const char *dir)
{
	cleanup_free char *s = NULL;
	cleanup_error isc_error *e = NULL;
	if (isc_cgroup_read(dir, "cgroup.freeze", &s, &e) < 0)
		return false;
	return s[0] == '1';
}

int isc_cgroup_v2_freeze(const char *dir, bool frozen, isc_error **err)
{
	if (isc_cgroup_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	const char *want = frozen ? "frozen 1" : "frozen 0";
	uint64_t deadline = isc_now_ns() + 2000000000ull;
	long delay = 100;
	for (;;) {
		cleanup_free char *ev = NULL;
		if (isc_cgroup_read(dir, "cgroup.events", &ev, err) < 0)
			return -1;
		if (strstr(ev, want) != NULL)
			return 0;
		if (isc_now_ns() > deadline) {
			if (frozen) {
				cleanup_error isc_error *ignored = NULL;
				(void)isc_cgroup_write(dir, "cgroup.freeze", "0", &ignored);
			}
			return isc_error_set(err, ETIMEDOUT, "%s %s/cgroup.events: not \"%s\" after 2 s",
					     frozen ? "freeze" : "thaw", dir, want);
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = delay * 1000 };
		nanosleep(&ts, NULL);
		if (delay < 10000)
			delay *= 2;
	}
}
