/* SPDX-License-Identifier: GPL-2.0-or-later
 * Capabilities: the five sets applied in the init with prctl(2) and a raw
 * capset(2) (no libcap).  The name table is the spec's (spec/names.c). */
#include "kernel/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

int isc_cap_last_kernel(void)
{
	/* Never read from a path: /proc/sys/kernel/cap_last_cap in the init or
	 * an exec stage is the container's /proc, which a container can fake
	 * (a "0" there left every other capability in the bounding set).  The
	 * bounding set answers EINVAL exactly past the kernel's last cap; any
	 * other failure (a seccomp errno) counts as known, so that the result
	 * can only be too high, which the callers tolerate (EINVAL ignored),
	 * never too low.  The runtime calls this before it clones or forks
	 * (runtime/create.c, exec.c), so the value is cached before any
	 * namespace or filter exists.  A racy double probe stores the same
	 * value, so no lock is needed. */
	static int cached = -1;
	if (cached >= 0)
		return cached;
	/* the largest cap in [0, 63] the bounding set knows, by bisection */
	int lo = 0, hi = 63;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;
		if (prctl(PR_CAPBSET_READ, (unsigned long)mid, 0, 0, 0) >= 0 || errno != EINVAL)
			lo = mid;
		else
			hi = mid - 1;
	}
	cached = lo;
	return lo;
}

static uint64_t caps_valid_mask(void)
{
	int last = isc_cap_last_kernel();
	return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	return (int)syscall(SYS_capget, &hdr, data);
}

static int caps_set(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)effective,
		  .permitted = (uint32_t)permitted,
		  .inheritable = (uint32_t)inheritable },
		{ .effective = (uint32_t)(effective >> 32),
		  .permitted = (uint32_t)(permitted >> 32),
		  .inheritable = (uint32_t)(inheritable >> 32) },
	};
	return (int)syscall(SYS_capset, &hdr, data);
}

/* Name a capability in an error message even when it is past the table. */
static const char *cap_label(int cap, char buf[32])
{
	const char *n = isc_cap_name(cap);
	if (n)
		return n;
	snprintf(buf, 32, "capability %d", cap);
	return buf;
}

/* The first capability in `wanted` that `have` lacks, or -1. */
static int caps_first_missing(uint64_t wanted, uint64_t have)
{
	uint64_t missing = wanted & ~have;
	return missing ? __builtin_ctzll(missing) : -1;
}

int isc_caps_apply(const struct isc_caps *caps, isc_error **err)
{
	const uint64_t valid = caps_valid_mask();
	const int last = isc_cap_last_kernel();
	char label[32];

	/* Bits for capabilities this kernel does not know are ignored: a
	 * profile written for a newer kernel must still start here. */
	const uint64_t bounding = caps->bounding & valid;
	const uint64_t effective = caps->effective & valid;
	const uint64_t permitted = caps->permitted & valid;
	const uint64_t inheritable = caps->inheritable & valid;
	const uint64_t ambient = caps->ambient & valid;

	/* Dropping from the bounding set needs CAP_SETPCAP in the effective
	 * set, which a setresuid() to a non-zero uid (with PR_SET_KEEPCAPS)
	 * has just emptied: first make everything still permitted effective
	 * again, which capset() always allows. */
	struct __user_cap_data_struct cur[2] = { { 0 }, { 0 } };
	if (caps_get(cur) < 0)
		return isc_error_set(err, errno, "read the current capabilities");
	uint64_t cur_permitted = (uint64_t)cur[1].permitted << 32 | cur[0].permitted;
	uint64_t cur_inheritable = (uint64_t)cur[1].inheritable << 32 | cur[0].inheritable;
	if (caps_set(cur_permitted, cur_permitted, cur_inheritable) < 0)
		return isc_error_set(err, errno, "raise the permitted capabilities to effective");

	/* Bounding set first: it limits what any later execve() can gain, and
	 * dropping needs CAP_SETPCAP, which the final capset may remove. */
	for (int cap = 0; cap <= last; cap++) {
		if (bounding & (UINT64_C(1) << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0 && errno != EINVAL)
			return isc_error_set(err, errno, "drop capability %s from the bounding set",
					     cap_label(cap, label));
	}

	if (caps_set(effective, permitted, inheritable) < 0) {
		int e = errno;
		/* Name the capability the kernel refused when we can tell. */
		int cap = caps_first_missing(permitted, cur_permitted);
		if (cap >= 0)
			return isc_error_set(err, e, "set capabilities: %s is not in the current permitted set",
					     cap_label(cap, label));
		cap = caps_first_missing(effective, permitted);
		if (cap >= 0)
			return isc_error_set(err, e, "set capabilities: %s is effective but not permitted",
					     cap_label(cap, label));
		return isc_error_set(err, e, "set capabilities");
	}

	/* Ambient capabilities survive execve() of an unprivileged program;
	 * the kernel raises only one that is both permitted and inheritable.
	 * Any other is skipped, as runc does (the caller warned before the
	 * container existed: isc_spec_check_host), so that a config such as
	 * `runc spec`'s (ambient without inheritable) runs. */
	const uint64_t raisable = ambient & permitted & inheritable;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (errno == EINVAL && raisable == 0)
			return 0; /* kernel without ambient capabilities */
		return isc_error_set(err, errno, "clear the ambient capabilities");
	}
	for (int cap = 0; cap <= last; cap++) {
		if (!(raisable & (UINT64_C(1) << cap)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0)
			return isc_error_set(err, errno, "raise ambient capability %s", cap_label(cap, label));
	}
	return 0;
}
