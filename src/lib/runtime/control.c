/* SPDX-License-Identifier: GPL-2.0-or-later
 * ps, pause, resume, update, stats: operations on an existing container's
 * cgroups (see control.h). */
#include "runtime/control.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/cgroup.h"
#include "base/util.h"

/* One open, locked container with its state and groups. */
struct ctl {
	struct isc_state_handle h;
	struct isc_cgroup *cg;
};

static void ctl_close(struct ctl *c)
{
	isc_cgroup_free(c->cg);
	c->cg = NULL;
	isc_state_close(&c->h);
}

static int ctl_open(const struct isc_context *ctx, const char *id, bool exclusive, struct ctl *c, isc_error **err)
{
	c->cg = NULL;
	return isc_state_open(ctx->root, id, exclusive ? ISC_STATE_EXCLUSIVE : ISC_STATE_SHARED, &c->h, err);
}

static int ctl_cgroup(struct ctl *c, isc_error **err)
{
	if (c->h.st.cgroup == NULL)
		return isc_error_set(err, ENOENT, "container %s has no cgroups", c->h.d.id);
	if (isc_cgroup_deserialize(c->h.st.cgroup, &c->cg, err) < 0)
		return isc_error_wrap(err, "container %s", c->h.d.id);
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int isc_container_ps(const struct isc_context *ctx, const char *id, pid_t **pids, size_t *n, isc_error **err)
{
	struct ctl c;
	int r = ctl_open(ctx, id, false, &c, err);
	if (r == 0 && (c.h.status == ISC_STATUS_STOPPED || c.h.st.pid <= 0))
		r = isc_error_set(err, 0, "container %s is not running", id);
	if (r == 0)
		r = ctl_cgroup(&c, err);
	if (r == 0 && (r = isc_cgroup_pids(c.cg, pids, n, err)) < 0)
		isc_error_wrap(err, "ps %s", id);
	if (r == 0)
		qsort(*pids, *n, sizeof(**pids), cmp_pid);
	ctl_close(&c);
	return r;
}

int isc_container_pause(const struct isc_context *ctx, const char *id, isc_error **err)
{
	struct ctl c;
	int r = ctl_open(ctx, id, true, &c, err);
	/* runc pauses created and running containers */
	if (r == 0 && c.h.status == ISC_STATUS_PAUSED)
		r = isc_error_set(err, 0, "container %s is already paused", id);
	else if (r == 0 && c.h.status != ISC_STATUS_RUNNING && c.h.status != ISC_STATUS_CREATED)
		r = isc_error_set(err, 0, "container not running");
	if (r == 0)
		r = ctl_cgroup(&c, err);
	if (r == 0 && (r = isc_cgroup_freeze(c.cg, true, err)) < 0)
		isc_error_wrap(err, "pause %s", id);
	ctl_close(&c);
	return r;
}

int isc_container_resume(const struct isc_context *ctx, const char *id, isc_error **err)
{
	struct ctl c;
	int r = ctl_open(ctx, id, true, &c, err);
	if (r == 0 && c.h.status != ISC_STATUS_PAUSED)
		r = isc_error_set(err, 0, "container not paused");
	if (r == 0)
		r = ctl_cgroup(&c, err);
	if (r == 0 && (r = isc_cgroup_freeze(c.cg, false, err)) < 0)
		isc_error_wrap(err, "resume %s", id);
	ctl_close(&c);
	return r;
}

int isc_container_update(const struct isc_context *ctx, const char *id, const struct isc_resources *res,
			 isc_error **err)
{
	struct ctl c;
	int r = ctl_open(ctx, id, true, &c, err);
	if (r == 0 && c.h.status != ISC_STATUS_RUNNING && c.h.status != ISC_STATUS_CREATED &&
	    c.h.status != ISC_STATUS_PAUSED)
		r = isc_error_set(err, 0, "container not running");
	if (r == 0)
		r = ctl_cgroup(&c, err);
	if (r == 0) {
		bool added = false;
		r = isc_cgroup_add_missing(c.cg, res, &added, err);
		if (added) { /* recorded even after a failure, so that delete removes it */
			cleanup_error isc_error *e = NULL;
			free(c.h.st.cgroup);
			c.h.st.cgroup = isc_cgroup_serialize(c.cg);
			if (isc_state_write(&c.h.d, &c.h.st, &e) < 0 && r == 0) {
				isc_error_move(err, &e);
				r = -1;
			}
		}
	}
	if (r == 0)
		r = isc_cgroup_update(c.cg, res, err);
	if (r < 0)
		isc_error_wrap(err, "update %s", id);
	ctl_close(&c);
	return r;
}

int isc_container_stats(const struct isc_context *ctx, const char *id, struct isc_cgroup_stats *out, isc_error **err)
{
	struct ctl c;
	int r = ctl_open(ctx, id, false, &c, err);
	if (r == 0 && (c.h.status == ISC_STATUS_STOPPED || c.h.st.pid <= 0))
		r = isc_error_set(err, 0, "container %s is not running", id);
	if (r == 0)
		r = ctl_cgroup(&c, err);
	if (r == 0 && (r = isc_cgroup_stats(c.cg, out, err)) < 0)
		isc_error_wrap(err, "stats %s", id);
	ctl_close(&c);
	return r;
}

int isc_control_thaw_after_kill(const struct isc_state *st, int sig, isc_error **err)
{
	if (sig != SIGKILL || st->cgroup == NULL)
		return 0;
	struct isc_cgroup *cg = NULL;
	if (isc_cgroup_deserialize(st->cgroup, &cg, err) < 0)
		return -1;
	int r = 0;
	if (isc_cgroup_frozen(cg))
		r = isc_cgroup_freeze(cg, false, err);
	isc_cgroup_free(cg);
	return r;
}

static const struct {
	const char *suffix;
	unsigned shift;
} size_suffixes[] = {
	{ "", 0 },     { "b", 0 },  { "k", 10 },  { "kb", 10 },	 { "kib", 10 }, { "m", 20 },  { "mb", 20 },
	{ "mib", 20 }, { "g", 30 }, { "gb", 30 }, { "gib", 30 }, { "t", 40 },	{ "tb", 40 }, { "tib", 40 },
};

int isc_control_parse_size(const char *s, int64_t *out)
{
	if (s != NULL && strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	size_t d = s ? strspn(s, "0123456789") : 0;
	if (d == 0 || d > 20) {
		errno = EINVAL;
		return -1;
	}
	cleanup_free char *num = isc_xasprintf("%.*s", (int)d, s);
	uint64_t v;
	if (isc_parse_u64(num, &v) < 0) {
		errno = ERANGE;
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(size_suffixes); i++) {
		if (strcasecmp(s + d, size_suffixes[i].suffix) != 0)
			continue;
		unsigned sh = size_suffixes[i].shift;
		if (v > ((uint64_t)INT64_MAX >> sh)) {
			errno = ERANGE;
			return -1;
		}
		*out = (int64_t)(v << sh);
		return 0;
	}
	errno = EINVAL;
	return -1;
}
