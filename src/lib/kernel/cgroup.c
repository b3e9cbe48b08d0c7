/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups: a container's groups: which (below), made (create, plan),
 * joined (attach; update adding a hierarchy later), and their state-file
 * form.  The other concerns have their own files: cgroup-layout.c (the
 * modes, the hierarchies, paths), cgroup-res.c (resources: which
 * controllers, where, written), cgroup-v1.c and cgroup-v2.c (the values of
 * each version), cgroup-walk.c (processes, freeze, kill, destroy, the walk
 * of the sub-groups), cgroup-mount.c (the cgroup mounts inside the
 * container).
 *
 * Which groups a container gets (v1 and hybrid).  Every container is in a
 * group of its own in every hierarchy that accounts or limits: memory,
 * cpu, cpuacct, blkio, pids, devices, freezer (and cpuset, hugetlb, the
 * unified group when its limits ask for them).  Otherwise its memory would
 * be charged to the caller's group and its cpu and io to the root, and
 * `ctr task metrics` or `podman stats` would report the host's figures:
 *   - tracking (pids, kill_all, destroy) uses pids, else freezer, memory,
 *     any; pause needs the freezer from the start;
 *   - `update` may set any limit later (podman update), which needs the
 *     process to be in that hierarchy's group already;
 *   - the container's cgroup namespace root is its group in each
 *     hierarchy: a hierarchy it was not moved into would show the host's
 *     whole tree through the container's own cgroup mounts.
 * pids, freezer, the tracking hierarchy and what the limits need are
 * required (an error when they cannot be made); the other accounting
 * hierarchies are skipped when not writable (EROFS, EACCES, EPERM: a
 * runtime inside a container).  The rest (net_cls, perf_event, named
 * hierarchies such as name=systemd, the hybrid unified group without
 * limits) only when the config mounts cgroup filesystems (every_hierarchy),
 * so that each shows the container's own group; name=systemd is joined
 * then like runc does, and systemd inside the container sees its subtree.
 * Cost, measured on the project machine: the first cgroup.procs write
 * after idle costs 5-7 ms whatever we do; each further hierarchy adds
 * ~0.05 ms (mkdir) + ~0.02 ms (attach) + ~0.02 ms (rmdir).  So a leaf is
 * made with one mkdir (mkdir -p only when that fails with ENOENT), delete
 * counts processes in the tracking group only and tries the rmdir before
 * looking for sub-groups, and resource files are written only for the
 * fields that were given.  Measured (2026-12-07, 7 groups instead of 3
 * for a config without cgroup mounts): create +0.2 ms, attach +0.2 ms,
 * delete -0.1 ms; bench/run.sh --reference: isc/isc-ref 1.02 (hot).
 *
 * Ownership.  Every created directory is counted (the leaf and the
 * intermediates below the first existing ancestor); destroy removes
 * descendants the container made, the leaf, then those intermediates if
 * they are empty.  An existing leaf is reused (and removed at destroy) only
 * when no process is in it.
 *
 * State form: one line of JSON,
 *   {"mode":"hybrid","groups":[["pids","/sys/fs/cgroup/pids/isc-x",1],...]}
 * with the controllers of the hierarchy ("cgroup2" for the unified group),
 * the leaf directory and the number of directories isc made. */
#include "kernel/cgroup-internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* ---- groups ---------------------------------------------------------- */

static void group_clear(struct isc_cgroup_group *g)
{
	free(g->ctrl);
	free(g->dir);
}

void isc_cgroup_free(struct isc_cgroup *cg)
{
	if (cg == NULL)
		return;
	for (size_t i = 0; i < cg->n; i++)
		group_clear(&cg->g[i]);
	free(cg->g);
	free(cg);
}

static void cgroup_freep(struct isc_cgroup **cg)
{
	isc_cgroup_free(*cg);
}

static struct isc_cgroup_group *add_group(struct isc_cgroup *cg)
{
	struct isc_cgroup_group *ng = realloc(cg->g, (cg->n + 1) * sizeof(*ng));
	if (ng == NULL)
		abort();
	cg->g = ng;
	memset(&cg->g[cg->n], 0, sizeof(*ng));
	return &cg->g[cg->n++];
}

const struct isc_cgroup_group *isc_cgroup_find_v2(const struct isc_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->g[i].v2)
			return &cg->g[i];
	return NULL;
}

const struct isc_cgroup_group *isc_cgroup_find_v1(const struct isc_cgroup *cg, unsigned bit)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->g[i].v2 && (cg->g[i].mask & bit))
			return &cg->g[i];
	return NULL;
}

/* The group whose cgroup.procs (recursively) lists the container. */
const struct isc_cgroup_group *isc_cgroup_tracker(const struct isc_cgroup *cg)
{
	static const unsigned pref[] = { ISC_CGROUP_PIDS, ISC_CGROUP_FREEZER, ISC_CGROUP_MEMORY, ~0u };
	if (cg->mode == ISC_CGROUP_V2)
		return isc_cgroup_find_v2(cg);
	for (size_t i = 0; i < ARRAY_SIZE(pref); i++) {
		const struct isc_cgroup_group *g = isc_cgroup_find_v1(cg, pref[i]);
		if (g)
			return g;
	}
	return isc_cgroup_find_v2(cg);
}

/* The group that pauses the container: the v1 freezer, else the v2 group. */
const struct isc_cgroup_group *isc_cgroup_freezer(const struct isc_cgroup *cg)
{
	const struct isc_cgroup_group *g =
		cg->mode == ISC_CGROUP_V2 ? NULL : isc_cgroup_find_v1(cg, ISC_CGROUP_FREEZER);
	return g ? g : isc_cgroup_find_v2(cg);
}

static void unmake(const char *dir, const size_t *lens, unsigned n)
{
	while (n-- > 0) {
		cleanup_free char *p = isc_xasprintf("%.*s", (int)lens[n], dir);
		(void)rmdir(p);
	}
}

/* mkdir -p from `mount` down to `dir`, counting what was made (new v1
 * cpuset groups get the parent's cpus and mems).  On failure nothing made
 * is left. */
static int group_make(const char *mount, const char *dir, bool cpuset, unsigned *made, isc_error **err)
{
	size_t ml = strlen(mount), dl = strlen(dir);
	size_t lens[128];
	unsigned n = 0;
	if (dl <= ml + 1 || dir[ml] != '/')
		return isc_error_set(err, EINVAL, "cgroup %s is not below %s", dir, mount);
	*made = 0;
	/* the usual case: the parent exists, one mkdir */
	if (mkdir(dir, 0755) == 0) {
		if (cpuset && isc_cgroup_v1_cpuset_fill(dir, err) < 0) {
			(void)rmdir(dir);
			return -1;
		}
		*made = 1;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return isc_error_set(err, errno, "mkdir %s", dir);
	for (int attempt = 0;; attempt++) {
		bool again = false;
		for (size_t end = ml + 1; end <= dl && !again; end++) {
			if (end < dl && dir[end] != '/')
				continue;
			cleanup_free char *p = isc_xasprintf("%.*s", (int)end, dir);
			if (mkdir(p, 0755) == 0) {
				if (n == ARRAY_SIZE(lens)) {
					unmake(dir, lens, n);
					return isc_error_set(err, ENAMETOOLONG, "mkdir %s: too deep", dir);
				}
				lens[n++] = end;
				if (cpuset && isc_cgroup_v1_cpuset_fill(p, err) < 0) {
					unmake(dir, lens, n);
					return -1;
				}
			} else if (errno == ENOENT && n == 0 && attempt < 3) {
				again = true; /* an intermediate was removed by another container's destroy */
			} else if (errno != EEXIST) {
				int e = errno;
				unmake(dir, lens, n);
				return isc_error_set(err, e, "mkdir %s", p);
			}
		}
		if (!again)
			break;
	}
	*made = n;
	return 0;
}

/* The leaf existed: reuse it only when nobody is in it. */
static int check_empty(const char *dir, isc_error **err)
{
	cleanup_free char *procs = NULL;
	if (isc_cgroup_read(dir, "cgroup.procs", &procs, err) < 0)
		return -1;
	if (procs[strspn(procs, " \n")] != '\0')
		return isc_error_set(err, EBUSY, "cgroup %s already exists and has processes", dir);
	return 0;
}

static void rollback(struct isc_cgroup *cg)
{
	uint64_t deadline = isc_now_ns() + 500000000ull;
	for (size_t i = cg->n; i-- > 0;) {
		cleanup_error isc_error *ignored = NULL;
		(void)isc_cgroup_group_remove(&cg->g[i], deadline, &ignored);
	}
}

/* The hierarchies every container has a group in (see the top). */
#define ACCOUNTING                                                                                      \
	(ISC_CGROUP_MEMORY | ISC_CGROUP_CPU | ISC_CGROUP_CPUACCT | ISC_CGROUP_BLKIO | ISC_CGROUP_PIDS | \
	 ISC_CGROUP_DEVICES | ISC_CGROUP_FREEZER)

static bool optional_skip(int e)
{
	return e == EROFS || e == EACCES || e == EPERM;
}

/* How many components of `dir` below `mount` do not exist yet (the
 * leaf counts even when it exists: it will be the container's). */
static unsigned missing_components(const char *mount, const char *dir)
{
	size_t ml = strlen(mount);
	cleanup_free char *p = isc_xstrdup(dir);
	unsigned n = 1;
	for (char *slash = strrchr(p, '/'); slash && (size_t)(slash - p) > ml; slash = strrchr(p, '/')) {
		*slash = '\0';
		if (access(p, F_OK) == 0 || errno != ENOENT)
			break;
		n++;
	}
	return n;
}

/* The leaf existed and is empty: a group left by an earlier container of
 * this path (its limits and sub-groups are not ours).  Removed and made
 * again, with a warning; one that cannot be removed is refused. */
static int renew_leaf(const char *dir, bool cpuset, isc_error **err)
{
	if (check_empty(dir, err) < 0)
		return -1;
	if (rmdir(dir) < 0)
		return isc_error_set(err, errno, "cgroup %s exists already (left by an earlier container?): rmdir",
				     dir);
	isc_warn("cgroup %s existed already (left by an earlier container?): removed and made again", dir);
	if (mkdir(dir, 0755) < 0)
		return isc_error_set(err, errno, "mkdir %s", dir);
	if (cpuset && isc_cgroup_v1_cpuset_fill(dir, err) < 0) {
		(void)rmdir(dir);
		return -1;
	}
	return 0;
}

/* One group: made (`plan` false), or only named with the count of the
 * components that would be made (`plan`: isc_cgroup_plan). */
static int plan_one(struct isc_cgroup *cg, const char *mount, const char *root, const char *own, const char *ctrl,
		    unsigned mask, bool v2, bool required, const char *cgroups_path, const char *id, bool plan,
		    isc_error **err)
{
	cleanup_free char *rel = isc_cgroup_resolve(own, cgroups_path, id);
	if (rel == NULL)
		return isc_error_set(err, EINVAL, "linux.cgroupsPath: \"%s\" is not a valid cgroup path",
				     cgroups_path ? cgroups_path : "");
	cleanup_free char *dir = isc_cgroup_dir(mount, root, rel);
	if (dir == NULL)
		return isc_error_set(err, EINVAL, "cgroup %s is not visible through the mount %s (root %s)", rel, mount,
				     root);
	unsigned made = 0;
	cleanup_error isc_error *e = NULL;
	if (plan) {
		made = missing_components(mount, dir);
	} else if (group_make(mount, dir, !v2 && (mask & ISC_CGROUP_CPUSET), &made, &e) < 0) {
		if (!required && optional_skip(e->errnum))
			return 0;
		isc_error_move(err, &e);
		return -1;
	}
	if (made == 0) {
		if (renew_leaf(dir, !v2 && (mask & ISC_CGROUP_CPUSET), err) < 0)
			return -1;
		made = 1;
	}
	struct isc_cgroup_group *g = add_group(cg);
	g->ctrl = isc_xstrdup(ctrl);
	g->mask = mask;
	g->v2 = v2;
	g->dir = steal_pointer(&dir);
	g->made = made;
	return 0;
}

static int create_or_plan(const char *cgroups_path, const char *id, const struct isc_resources *res,
			  bool every_hierarchy, bool plan, struct isc_cgroup **out, isc_error **err)
{
	const struct isc_cgroup_layout *l;
	if (isc_cgroup_layout_get(&l, err) < 0)
		return -1;
	unsigned need = isc_cgroup_res_mask(res), v2mask = 0;
	if (isc_cgroup_v2_part(l, need, res, &v2mask, err) < 0)
		return -1;
	__attribute__((cleanup(cgroup_freep))) struct isc_cgroup *cg = isc_xmalloc0(sizeof(*cg));
	cg->mode = l->mode;
	int r = 0;
	if (l->mode != ISC_CGROUP_V2) {
		static const unsigned pref[] = { ISC_CGROUP_PIDS, ISC_CGROUP_FREEZER, ISC_CGROUP_MEMORY };
		size_t track = SIZE_MAX;
		for (size_t p = 0; p < ARRAY_SIZE(pref) && track == SIZE_MAX; p++)
			for (size_t i = 0; i < l->n_v1 && track == SIZE_MAX; i++)
				if (l->v1[i].mask & pref[p])
					track = i;
		for (size_t i = 0; i < l->n_v1 && track == SIZE_MAX; i++)
			if (l->v1[i].mask)
				track = i;
		for (size_t i = 0; r == 0 && i < l->n_v1; i++) {
			const struct isc_cgroup_hier *h = &l->v1[i];
			bool required = i == track || (h->mask & (ISC_CGROUP_PIDS | ISC_CGROUP_FREEZER | need));
			if (!required && !(h->mask & ACCOUNTING) && !every_hierarchy)
				continue;
			r = plan_one(cg, h->mount, h->root, h->own, h->controllers, h->mask, false, required,
				     cgroups_path, id, plan, err);
		}
	}
	if (r == 0 && l->mode != ISC_CGROUP_V1) {
		bool required = l->mode == ISC_CGROUP_V2 || v2mask || (res && res->n_unified);
		if (required || every_hierarchy)
			r = plan_one(cg, l->v2_mount, l->v2_root, l->v2_own, ISC_CGROUP_V2_NAME, 0, true, required,
				     cgroups_path, id, plan, err);
	}
	if (r == 0 && isc_cgroup_tracker(cg) == NULL)
		r = isc_error_set(err, ENOENT, "no cgroup could be created for the container");
	if (r == 0 && !plan)
		r = isc_cgroup_apply(cg, l, res, err);
	if (r < 0) {
		if (!plan)
			rollback(cg);
		return -1;
	}
	*out = steal_pointer(&cg);
	return 0;
}

int isc_cgroup_plan(const char *cgroups_path, const char *id, const struct isc_resources *res, bool every_hierarchy,
		    struct isc_cgroup **out, isc_error **err)
{
	return create_or_plan(cgroups_path, id, res, every_hierarchy, true, out, err);
}

int isc_cgroup_create(const char *cgroups_path, const char *id, const struct isc_resources *res, bool every_hierarchy,
		      struct isc_cgroup **out, isc_error **err)
{
	return create_or_plan(cgroups_path, id, res, every_hierarchy, false, out, err);
}

int isc_cgroup_attach(struct isc_cgroup *cg, pid_t pid, isc_error **err)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++)
		if (isc_cgroup_write(cg->g[i].dir, "cgroup.procs", buf, err) < 0)
			return -1;
	return 0;
}

int isc_cgroup_update(struct isc_cgroup *cg, const struct isc_resources *res, isc_error **err)
{
	const struct isc_cgroup_layout *l;
	if (isc_cgroup_layout_get(&l, err) < 0)
		return -1;
	return isc_cgroup_apply(cg, l, res, err);
}

/* ---- update: joining a hierarchy later ---------------------------- */

/* The hierarchy of one of the container's v1 groups, or NULL. */
static const struct isc_cgroup_hier *hier_of(const struct isc_cgroup_layout *l, const struct isc_cgroup_group *g)
{
	for (size_t i = 0; i < l->n_v1; i++)
		if (strcmp(l->v1[i].controllers, g->ctrl) == 0)
			return &l->v1[i];
	return NULL;
}

/* The container's path inside a hierarchy it is not in yet, from its
 * tracking group: the same path below our own group there as the tracking
 * group has below ours (a relative cgroupsPath, as create resolved it when
 * the runtime runs in the same groups), else the same absolute path. */
static char *missing_path(const struct isc_cgroup_layout *l, const struct isc_cgroup *cg, const char *own)
{
	const struct isc_cgroup_group *t = isc_cgroup_tracker(cg);
	const char *mount = NULL, *root = NULL, *town = NULL;
	if (t == NULL)
		return NULL;
	if (t->v2) {
		mount = l->v2_mount, root = l->v2_root, town = l->v2_own;
	} else {
		const struct isc_cgroup_hier *h = hier_of(l, t);
		if (h == NULL)
			return NULL;
		mount = h->mount, root = h->root, town = h->own;
	}
	size_t ml = strlen(mount);
	if (strncmp(t->dir, mount, ml) != 0 || (t->dir[ml] != '/' && t->dir[ml] != '\0'))
		return NULL;
	/* the hierarchy path of the tracking group */
	cleanup_free char *rel = isc_xasprintf("%s%s", strcmp(root, "/") == 0 ? "" : root, t->dir + ml);
	size_t ol = strcmp(town, "/") == 0 ? 0 : strlen(town);
	if (ol > 0 && strncmp(rel, town, ol) == 0 && rel[ol] == '/')
		return isc_cgroup_resolve(own, rel + ol + 1, NULL);
	if (ol == 0)
		return isc_cgroup_resolve(own, rel + 1, NULL);
	return isc_xstrdup(rel);
}

/* Move every process of the container into `dir` (the container is frozen). */
static int move_all(struct isc_cgroup *cg, const char *dir, isc_error **err)
{
	pid_t *pids = NULL;
	size_t n = 0;
	if (isc_cgroup_pids(cg, &pids, &n, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		char buf[32];
		cleanup_error isc_error *e = NULL;
		snprintf(buf, sizeof(buf), "%d", (int)pids[i]);
		if (isc_cgroup_write(dir, "cgroup.procs", buf, &e) < 0 && e->errnum != ESRCH) {
			isc_error_move(err, &e);
			r = -1;
		}
	}
	free(pids);
	return r;
}

int isc_cgroup_add_missing(struct isc_cgroup *cg, const struct isc_resources *res, bool *added, isc_error **err)
{
	const struct isc_cgroup_layout *l;
	*added = false;
	if (isc_cgroup_layout_get(&l, err) < 0)
		return -1;
	unsigned need = isc_cgroup_res_mask(res), v2mask = 0;
	if (isc_cgroup_v2_part(l, need, res, &v2mask, err) < 0)
		return -1;
	/* which hierarchies: v1 ones carrying a needed controller, and the unified one */
	const struct isc_cgroup_hier *want[64];
	size_t n_want = 0;
	bool want_v2 = false;
	if (l->mode != ISC_CGROUP_V2)
		for (size_t i = 0; i < l->n_v1 && n_want < ARRAY_SIZE(want); i++)
			if ((l->v1[i].mask & need & ~v2mask) &&
			    isc_cgroup_find_v1(cg, l->v1[i].mask & need & ~v2mask) == NULL)
				want[n_want++] = &l->v1[i];
	if (l->mode != ISC_CGROUP_V1 && (v2mask || (res && res->n_unified)) && isc_cgroup_find_v2(cg) == NULL)
		want_v2 = true;
	if (n_want == 0 && !want_v2)
		return 0;
	const struct isc_cgroup_group *f = isc_cgroup_freezer(cg);
	if (f == NULL)
		return isc_error_set(err, ENOTSUP, "the container has no freezer cgroup to move its processes safely");
	bool was_frozen = isc_cgroup_group_frozen(f);
	if (!was_frozen && isc_cgroup_group_freeze(f, true, err) < 0)
		return -1;
	int r = 0;
	for (size_t k = 0; r == 0 && k < n_want + (want_v2 ? 1 : 0); k++) {
		bool v2 = k == n_want;
		const char *mount = v2 ? l->v2_mount : want[k]->mount;
		const char *root = v2 ? l->v2_root : want[k]->root;
		const char *own = v2 ? l->v2_own : want[k]->own;
		unsigned mask = v2 ? 0 : want[k]->mask;
		cleanup_free char *rel = missing_path(l, cg, own);
		cleanup_free char *dir = rel ? isc_cgroup_dir(mount, root, rel) : NULL;
		if (dir == NULL) {
			r = isc_error_set(err, EINVAL, "cannot place the container in the %s hierarchy",
					  v2 ? ISC_CGROUP_V2_NAME : want[k]->controllers);
			break;
		}
		unsigned made = 0;
		if (group_make(mount, dir, !v2 && (mask & ISC_CGROUP_CPUSET), &made, err) < 0) {
			r = -1;
			break;
		}
		if (made == 0) {
			if (check_empty(dir, err) < 0 ||
			    (!v2 && (mask & ISC_CGROUP_CPUSET) && isc_cgroup_v1_cpuset_fill(dir, err) < 0)) {
				r = -1;
				break;
			}
			made = 1;
		}
		struct isc_cgroup_group *g = add_group(cg);
		g->ctrl = isc_xstrdup(v2 ? ISC_CGROUP_V2_NAME : want[k]->controllers);
		g->mask = mask;
		g->v2 = v2;
		g->dir = isc_xstrdup(dir);
		g->made = made;
		*added = true; /* recorded even if the move fails: destroy removes it */
		if (v2 && isc_cgroup_v2_enable(l->v2_mount, dir, v2mask, res, err) < 0) {
			r = -1;
			break;
		}
		r = move_all(cg, dir, err);
		f = isc_cgroup_freezer(cg); /* add_group moved the array */
	}
	if (!was_frozen) {
		cleanup_error isc_error *e = NULL;
		if (isc_cgroup_group_freeze(f, false, &e) < 0 && r == 0) {
			isc_error_move(err, &e);
			r = -1;
		}
	}
	return r;
}

/* ---- state form ------------------------------------------------------ */

static const char *const mode_names[] = {
	[ISC_CGROUP_V1] = "v1",
	[ISC_CGROUP_V2] = "v2",
	[ISC_CGROUP_HYBRID] = "hybrid",
};

char *isc_cgroup_serialize(const struct isc_cgroup *cg)
{
	json_t *groups = json_array();
	for (size_t i = 0; i < cg->n; i++)
		json_array_append_new(groups, json_pack("[ssi]", cg->g[i].ctrl, cg->g[i].dir, (int)cg->g[i].made));
	json_t *o = json_pack("{s:s,s:o}", "mode", mode_names[cg->mode], "groups", groups);
	if (o == NULL)
		abort();
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

static bool valid_dir(const char *d)
{
	if (d == NULL || d[0] != '/' || strchr(d, '\n'))
		return false;
	cleanup_free char *copy = isc_xstrdup(d);
	char *save = NULL;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
		if (strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
			return false;
	return true;
}

int isc_cgroup_deserialize(const char *text, struct isc_cgroup **out, isc_error **err)
{
	json_error_t je;
	json_t *o = json_loads(text ? text : "", 0, &je);
	const char *mode = NULL;
	json_t *groups = NULL;
	if (o == NULL || json_unpack(o, "{s:s,s:o}", "mode", &mode, "groups", &groups) < 0 || !json_is_array(groups)) {
		json_decref(o);
		return isc_error_set(err, EINVAL, "cgroup state: not {\"mode\":...,\"groups\":[...]}");
	}
	__attribute__((cleanup(cgroup_freep))) struct isc_cgroup *cg = isc_xmalloc0(sizeof(*cg));
	for (size_t i = 1; i < ARRAY_SIZE(mode_names); i++)
		if (strcmp(mode, mode_names[i]) == 0)
			cg->mode = (enum isc_cgroup_mode)i;
	int r = cg->mode ? 0 : isc_error_set(err, EINVAL, "cgroup state: unknown mode \"%s\"", mode);
	size_t i;
	json_t *v;
	json_array_foreach(groups, i, v) {
		const char *ctrl = NULL, *dir = NULL;
		int made = 0;
		if (r < 0)
			break;
		if (json_unpack(v, "[ssi]", &ctrl, &dir, &made) < 0 || made < 0 || made > 4096 || !valid_dir(dir)) {
			r = isc_error_set(err, EINVAL, "cgroup state: bad group %zu", i);
			break;
		}
		struct isc_cgroup_group *g = add_group(cg);
		g->v2 = strcmp(ctrl, ISC_CGROUP_V2_NAME) == 0;
		g->ctrl = isc_xstrdup(ctrl);
		g->mask = g->v2 ? 0 : isc_cgroup_parse_controllers(ctrl, NULL);
		g->dir = isc_xstrdup(dir);
		g->made = (unsigned)made;
	}
	json_decref(o);
	if (r < 0)
		return -1;
	*out = steal_pointer(&cg);
	return 0;
}
