/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups: mode detection (once), the layout of the hierarchies, a
 * container's groups (create, attach, update, kill, freeze, destroy), the
 * state-file form, and the fresh cgroup mounts inside the container.
 *
 * Modes.  statfs(/sys/fs/cgroup): cgroup2 -> v2; a tmpfs whose "unified"
 * is cgroup2 -> hybrid; anything else -> v1.  The v1 hierarchies (mount
 * point and controllers, from the super options) come from
 * /proc/self/mountinfo, our own group in each from /proc/self/cgroup.  In
 * hybrid mode a controller lives where the kernel bound it: on its v1
 * hierarchy if it has one, else on the unified one (here: hugetlb).
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
 * Paths.  A relative cgroupsPath lands under our own group in each
 * hierarchy, an absolute one under each hierarchy's root; NULL means a
 * relative "isc-<id>".  Components ".." and "." are refused, as is the
 * root itself.  isc never writes a hierarchy root's files: on v2 a
 * controller missing from the root's cgroup.subtree_control is an error.
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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CGROUP_ROOT "/sys/fs/cgroup"

/* ---- controllers ---------------------------------------------------- */

static const struct {
	unsigned bit;
	const char *v1, *v2;
} controllers[] = {
	{ ISC_CG_CPUSET, "cpuset", "cpuset" },
	{ ISC_CG_CPU, "cpu", "cpu" },
	{ ISC_CG_CPUACCT, "cpuacct", NULL },
	{ ISC_CG_BLKIO, "blkio", "io" },
	{ ISC_CG_MEMORY, "memory", "memory" },
	{ ISC_CG_DEVICES, "devices", NULL },
	{ ISC_CG_FREEZER, "freezer", NULL },
	{ ISC_CG_NET_CLS, "net_cls", NULL },
	{ ISC_CG_PERF_EVENT, "perf_event", "perf_event" },
	{ ISC_CG_NET_PRIO, "net_prio", NULL },
	{ ISC_CG_HUGETLB, "hugetlb", "hugetlb" },
	{ ISC_CG_PIDS, "pids", "pids" },
	{ ISC_CG_RDMA, "rdma", "rdma" },
	{ ISC_CG_MISC, "misc", "misc" },
	{ ISC_CG_DEBUG, "debug", "debug" },
};

const char *isc_cg_controller_name(unsigned bit, bool v2)
{
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if (controllers[i].bit == bit)
			return v2 ? controllers[i].v2 : controllers[i].v1;
	return NULL;
}

unsigned isc_cg_controller_bit(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if (strcmp(controllers[i].v1, name) == 0 || (controllers[i].v2 && strcmp(controllers[i].v2, name) == 0))
			return controllers[i].bit;
	return 0;
}

unsigned isc_cg_parse_controllers(const char *list, char **canonical)
{
	unsigned mask = 0;
	cleanup_free char *name = NULL;
	cleanup_free char *copy = isc_xstrdup(list ? list : "");
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strncmp(t, "name=", 5) == 0 && t[5]) {
			free(name);
			name = isc_xstrdup(t);
			continue;
		}
		unsigned bit = 0;
		for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
			if (strcmp(controllers[i].v1, t) == 0)
				bit = controllers[i].bit;
		mask |= bit; /* other super options (rw, xattr, release_agent=...) are ignored */
	}
	if (canonical) {
		char buf[512] = "";
		for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
			if (!(mask & controllers[i].bit))
				continue;
			size_t l = strlen(buf);
			snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? "," : "", controllers[i].v1);
		}
		if (name) {
			size_t l = strlen(buf);
			snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? "," : "", name);
		}
		*canonical = isc_xstrdup(buf);
	}
	return mask;
}

/* ---- small file helpers --------------------------------------------- */

int isc_cg_write(const char *dir, const char *file, const char *value, isc_error **err)
{
	cleanup_free char *path = isc_xasprintf("%s/%s", dir, file);
	return isc_write_file(path, value, strlen(value), err);
}

int isc_cg_read(const char *dir, const char *file, char **out, isc_error **err)
{
	cleanup_free char *path = isc_xasprintf("%s/%s", dir, file);
	return isc_read_file(path, out, NULL, 1u << 20, err);
}

bool isc_cg_has_file(const char *dir, const char *file)
{
	cleanup_free char *path = isc_xasprintf("%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

bool isc_cg_valid_pagesize(const char *s)
{
	size_t d = s ? strspn(s, "0123456789") : 0;
	return d > 0 && s[d] && strchr("KMGTP", s[d]) && s[d + 1] == 'B' && s[d + 2] == '\0';
}

/* ---- parsing --------------------------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static char *unescape(const char *s, size_t n)
{
	char *out = isc_xmalloc0(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
int isc_cg_parse_mountinfo_line(const char *line, char **mountpoint, char **root, char **fstype,
				char **super_opts)
{
	const char *f[6];
	size_t len[6];
	const char *p = line;
	/* fields 1-5: id, parent, major:minor, root, mount point */
	for (int i = 0; i < 5; i++) {
		p += strspn(p, " ");
		f[i] = p;
		len[i] = strcspn(p, " \n");
		if (len[i] == 0)
			return -1;
		p += len[i];
	}
	const char *sep = strstr(p, " - ");
	if (sep == NULL)
		return -1;
	p = sep + 3;
	const char *fs = p;
	size_t fsl = strcspn(p, " \n");
	p += fsl;
	p += strspn(p, " ");
	p += strcspn(p, " \n"); /* source */
	p += strspn(p, " ");
	size_t sol = strcspn(p, " \n");
	if (fsl == 0)
		return -1;
	*root = unescape(f[3], len[3]);
	*mountpoint = unescape(f[4], len[4]);
	*fstype = unescape(fs, fsl);
	*super_opts = unescape(p, sol);
	return 0;
}

int isc_cg_parse_proc_cgroup_line(const char *line, char **ctrls, char **path)
{
	const char *c1 = strchr(line, ':');
	if (c1 == NULL || c1 == line)
		return -1;
	const char *c2 = strchr(c1 + 1, ':');
	if (c2 == NULL)
		return -1;
	size_t pl = strcspn(c2 + 1, "\n");
	if (pl == 0 || c2[1] != '/')
		return -1;
	*ctrls = isc_xasprintf("%.*s", (int)(c2 - c1 - 1), c1 + 1);
	*path = isc_xasprintf("%.*s", (int)pl, c2 + 1);
	return 0;
}

void isc_cg_layout_free(struct isc_cg_layout *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n_v1; i++) {
		free(l->v1[i].mount);
		free(l->v1[i].root);
		free(l->v1[i].controllers);
		free(l->v1[i].own);
	}
	free(l->v1);
	free(l->v2_mount);
	free(l->v2_root);
	free(l->v2_own);
	free(l);
}

static void layout_freep(struct isc_cg_layout **l)
{
	isc_cg_layout_free(*l);
}

static bool under_cgroup_root(const char *mnt)
{
	return strncmp(mnt, CGROUP_ROOT "/", sizeof(CGROUP_ROOT)) == 0;
}

static void add_v1(struct isc_cg_layout *l, char *mnt, char *root, char *canon, unsigned mask)
{
	for (size_t i = 0; i < l->n_v1; i++) {
		struct isc_cg_hier *h = &l->v1[i];
		if (strcmp(h->controllers, canon) != 0)
			continue;
		/* the same hierarchy mounted twice: prefer the full one, under /sys/fs/cgroup */
		bool better = (strcmp(root, "/") == 0 && strcmp(h->root, "/") != 0) ||
			      (strcmp(root, h->root) == 0 && under_cgroup_root(mnt) && !under_cgroup_root(h->mount));
		if (better) {
			free(h->mount);
			free(h->root);
			h->mount = mnt;
			h->root = root;
		} else {
			free(mnt);
			free(root);
		}
		free(canon);
		return;
	}
	struct isc_cg_hier *nv = realloc(l->v1, (l->n_v1 + 1) * sizeof(*nv));
	if (nv == NULL)
		abort();
	l->v1 = nv;
	l->v1[l->n_v1++] = (struct isc_cg_hier){ .mount = mnt, .root = root, .controllers = canon, .mask = mask };
}

int isc_cg_layout_parse(enum isc_cgroup_mode mode, const char *mountinfo, const char *proc_cgroup,
			struct isc_cg_layout **out, isc_error **err)
{
	__attribute__((cleanup(layout_freep))) struct isc_cg_layout *l = isc_xmalloc0(sizeof(*l));
	const char *want_v2 = mode == ISC_CGROUP_V2 ? CGROUP_ROOT : CGROUP_ROOT "/unified";
	l->mode = mode;
	for (const char *line = mountinfo; line && *line;) {
		size_t n = strcspn(line, "\n");
		cleanup_free char *copy = isc_xasprintf("%.*s", (int)n, line);
		line += n + (line[n] == '\n');
		char *mnt = NULL, *root = NULL, *fs = NULL, *opts = NULL;
		if (isc_cg_parse_mountinfo_line(copy, &mnt, &root, &fs, &opts) < 0)
			continue;
		if (strcmp(fs, "cgroup") == 0 && mode != ISC_CGROUP_V2) {
			char *canon = NULL;
			unsigned mask = isc_cg_parse_controllers(opts, &canon);
			if (canon[0]) {
				add_v1(l, mnt, root, canon, mask);
				mnt = root = NULL;
			} else {
				free(canon);
			}
		} else if (strcmp(fs, "cgroup2") == 0 && mode != ISC_CGROUP_V1) {
			if (l->v2_mount == NULL || (strcmp(mnt, want_v2) == 0 && strcmp(l->v2_mount, want_v2) != 0)) {
				free(l->v2_mount);
				free(l->v2_root);
				l->v2_mount = mnt;
				l->v2_root = root;
				mnt = root = NULL;
			}
		}
		free(mnt);
		free(root);
		free(fs);
		free(opts);
	}
	if (mode != ISC_CGROUP_V1 && l->v2_mount == NULL)
		return isc_error_set(err, ENOENT, "cgroup2 is not mounted (no cgroup2 line in /proc/self/mountinfo)");
	if (mode != ISC_CGROUP_V2 && l->n_v1 == 0)
		return isc_error_set(err, ENOENT, "no cgroup v1 hierarchy is mounted (/proc/self/mountinfo)");
	for (const char *line = proc_cgroup; line && *line;) {
		size_t n = strcspn(line, "\n");
		cleanup_free char *copy = isc_xasprintf("%.*s", (int)n, line);
		line += n + (line[n] == '\n');
		cleanup_free char *ctrls = NULL;
		cleanup_free char *path = NULL;
		if (isc_cg_parse_proc_cgroup_line(copy, &ctrls, &path) < 0)
			continue;
		if (ctrls[0] == '\0') {
			if (strncmp(copy, "0:", 2) == 0) {
				free(l->v2_own);
				l->v2_own = steal_pointer(&path);
			}
			continue;
		}
		cleanup_free char *canon = NULL;
		isc_cg_parse_controllers(ctrls, &canon);
		for (size_t i = 0; i < l->n_v1; i++)
			if (strcmp(l->v1[i].controllers, canon) == 0 && l->v1[i].own == NULL)
				l->v1[i].own = isc_xstrdup(path);
	}
	for (size_t i = 0; i < l->n_v1; i++)
		if (l->v1[i].own == NULL)
			l->v1[i].own = isc_xstrdup("/");
	if (l->v2_own == NULL)
		l->v2_own = isc_xstrdup("/");
	*out = steal_pointer(&l);
	return 0;
}

static struct isc_cg_layout *cached_layout;

int isc_cg_layout_get(const struct isc_cg_layout **out, isc_error **err)
{
	if (cached_layout) {
		*out = cached_layout;
		return 0;
	}
	struct statfs sf;
	enum isc_cgroup_mode mode;
	if (statfs(CGROUP_ROOT, &sf) < 0)
		return isc_error_set(err, errno, "statfs %s", CGROUP_ROOT);
	if ((unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
		mode = ISC_CGROUP_V2;
	else if (statfs(CGROUP_ROOT "/unified", &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
		mode = ISC_CGROUP_HYBRID;
	else
		mode = ISC_CGROUP_V1;
	cleanup_free char *mi = NULL;
	cleanup_free char *pc = NULL;
	if (isc_read_file("/proc/self/mountinfo", &mi, NULL, 0, err) < 0 ||
	    isc_read_file("/proc/self/cgroup", &pc, NULL, 0, err) < 0)
		return -1;
	if (isc_cg_layout_parse(mode, mi, pc, &cached_layout, err) < 0)
		return -1;
	*out = cached_layout;
	return 0;
}

int isc_cgroup_mode(enum isc_cgroup_mode *mode, isc_error **err)
{
	const struct isc_cg_layout *l;
	if (isc_cg_layout_get(&l, err) < 0)
		return -1;
	*mode = l->mode;
	return 0;
}

/* ---- paths ----------------------------------------------------------- */

char *isc_cgroup_resolve(const char *own, const char *cgroups_path, const char *id)
{
	cleanup_free char *def = NULL;
	const char *p = cgroups_path;
	if (p == NULL) {
		if (id == NULL || *id == '\0') {
			errno = EINVAL;
			return NULL;
		}
		def = isc_xasprintf("isc-%s", id);
		p = def;
	}
	if (*p == '\0') {
		errno = EINVAL;
		return NULL;
	}
	size_t cap = (own ? strlen(own) : 0) + strlen(p) + 2;
	char *out = isc_xmalloc0(cap);
	size_t o = 0;
	const char *parts[2] = { *p == '/' ? "" : (own ? own : ""), p };
	for (int k = 0; k < 2; k++) {
		for (const char *s = parts[k]; *s;) {
			s += strspn(s, "/");
			size_t n = strcspn(s, "/");
			if (n == 0)
				break;
			if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
				free(out);
				errno = EINVAL;
				return NULL;
			}
			out[o++] = '/';
			memcpy(out + o, s, n);
			o += n;
			s += n;
		}
	}
	out[o] = '\0';
	if (o == 0) { /* the hierarchy root itself */
		free(out);
		errno = EINVAL;
		return NULL;
	}
	return out;
}

char *isc_cg_dir(const char *mount, const char *root, const char *path)
{
	size_t rl = strlen(root);
	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
		return NULL;
	return isc_xasprintf("%s%s", mount, path + rl);
}

/* ---- resources ------------------------------------------------------- */

unsigned isc_cg_res_mask(const struct isc_resources *r)
{
	unsigned m = 0;
	if (r == NULL)
		return 0;
	if (r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap || r->has_memory_swappiness ||
	    r->disable_oom_killer)
		m |= ISC_CG_MEMORY;
	if (r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period)
		m |= ISC_CG_CPU;
	if ((r->cpu_cpus && *r->cpu_cpus) || (r->cpu_mems && *r->cpu_mems))
		m |= ISC_CG_CPUSET;
	if (r->has_pids_limit)
		m |= ISC_CG_PIDS;
	if (r->n_devices)
		m |= ISC_CG_DEVICES;
	if (r->has_blkio_weight)
		m |= ISC_CG_BLKIO;
	if (r->n_hugepage_limits)
		m |= ISC_CG_HUGETLB;
	return m;
}

static unsigned layout_v1_mask(const struct isc_cg_layout *l)
{
	unsigned m = 0;
	for (size_t i = 0; i < l->n_v1; i++)
		m |= l->v1[i].mask;
	return m;
}

/* Controllers of `need` that must be served by the unified group. */
static int v2_part(const struct isc_cg_layout *l, unsigned need, const struct isc_resources *res, unsigned *v2mask,
		   isc_error **err)
{
	unsigned v1 = l->mode == ISC_CGROUP_V2 ? 0 : layout_v1_mask(l);
	unsigned rest = need & ~v1;
	/* device rules on v2 need an eBPF program, which isc does not load (see cgroup-v2.c) */
	rest &= ~(unsigned)ISC_CG_DEVICES;
	if (l->mode == ISC_CGROUP_V1) {
		if (need & ISC_CG_DEVICES & ~v1)
			rest |= ISC_CG_DEVICES;
		for (unsigned bit = 1; bit <= ISC_CG_DEBUG; bit <<= 1)
			if (rest & bit)
				return isc_error_set(err, ENOTSUP,
						     "linux.resources: cgroup controller %s is not mounted on this host",
						     isc_cg_controller_name(bit, false));
		if (res && res->n_unified)
			return isc_error_set(err, ENOTSUP,
					     "linux.resources.unified[\"%s\"]: needs cgroup v2, this host has only cgroup v1",
					     res->unified[0].key ? res->unified[0].key : "");
	}
	*v2mask = rest;
	return 0;
}

/* ---- groups ---------------------------------------------------------- */

static void group_clear(struct isc_cg_group *g)
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

static struct isc_cg_group *add_group(struct isc_cgroup *cg)
{
	struct isc_cg_group *ng = realloc(cg->g, (cg->n + 1) * sizeof(*ng));
	if (ng == NULL)
		abort();
	cg->g = ng;
	memset(&cg->g[cg->n], 0, sizeof(*ng));
	return &cg->g[cg->n++];
}

static const struct isc_cg_group *find_v2(const struct isc_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->g[i].v2)
			return &cg->g[i];
	return NULL;
}

static const struct isc_cg_group *find_v1(const struct isc_cgroup *cg, unsigned bit)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->g[i].v2 && (cg->g[i].mask & bit))
			return &cg->g[i];
	return NULL;
}

/* The group whose cgroup.procs (recursively) lists the container. */
static const struct isc_cg_group *tracker(const struct isc_cgroup *cg)
{
	static const unsigned pref[] = { ISC_CG_PIDS, ISC_CG_FREEZER, ISC_CG_MEMORY, ~0u };
	if (cg->mode == ISC_CGROUP_V2)
		return find_v2(cg);
	for (size_t i = 0; i < ARRAY_SIZE(pref); i++) {
		const struct isc_cg_group *g = find_v1(cg, pref[i]);
		if (g)
			return g;
	}
	return find_v2(cg);
}

/* ---- walking a group's sub-groups by fd ------------------------------ */

/* A container that can write its cgroup (an rw cgroup mount, a delegated
 * v2 group) makes sub-groups at will, to any depth: a chain "a/a/a/..."
 * 2000 levels deep has a host path longer than PATH_MAX, and a walk by
 * path fails on it (every delete, for good: review 3, R3).  So the groups
 * below a container's group are walked by fd, never by path: each level
 * opened relative to its parent (no symlink, no other mount), one
 * directory fd held at a time whatever the depth, back up through "..",
 * checked against the directory the walk came down from (as the state
 * dir's removal in runtime/state.c), iterative: depth costs neither stack
 * nor fds.  Each level keeps the names of its sub-groups, read at once
 * when the walk enters it (its directory closed before going down), and
 * the next one to visit: memory grows with the groups that exist, which
 * the kernel holds anyway.  Errors name the container's group, the depth
 * and the sub-group's name cut to 64 bytes: never the whole path. */

struct cg_level {
	dev_t dev;
	ino_t ino;
	char **names; /* its sub-groups, read when the walk entered it */
	size_t n, next;
};

struct cg_walk {
	const char *top;      /* the container's group (for messages) */
	struct cg_level *lv;  /* lv[0]: top; lv[depth - 1]: where the walk is */
	size_t depth, cap;
	/* at each group below top and top itself, before its sub-groups */
	int (*enter)(struct cg_walk *w, int fd, isc_error **err);
	/* after sub-group `name` of `parent` and everything below it */
	int (*leave)(struct cg_walk *w, int parent, const char *name, isc_error **err);
	void *arg;
};

#define CG_NAME_MAX 64 /* bytes of a sub-group's name in a message */

/* `depth`: of the group `name` (1: a sub-group of top) */
static int walk_failed(const struct cg_walk *w, int e, const char *what, const char *name, size_t depth,
		       isc_error **err)
{
	return isc_error_set(err, e, "cgroup %s: %s sub-group \"%.*s\"%s at depth %zu", w->top, what, CG_NAME_MAX,
			     name, strlen(name) > CG_NAME_MAX ? "..." : "", depth);
}

/* A group below `parent`: never through a symlink, never into another
 * mount. */
static int open_sub(int parent, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	return (int)syscall(SYS_openat2, parent, name, &how, sizeof(how));
}

static void level_clear(struct cg_level *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

/* Enter the group `fd` (a new deepest level): its identity and the names
 * of its sub-groups. */
static int walk_push(struct cg_walk *w, int fd, const char *name, isc_error **err)
{
	struct stat st;
	if (w->depth == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		struct cg_level *nl = realloc(w->lv, w->cap * sizeof(*nl));
		if (nl == NULL)
			abort();
		w->lv = nl;
	}
	struct cg_level *l = &w->lv[w->depth];
	*l = (struct cg_level){ 0 };
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dfd >= 0 && fstat(fd, &st) == 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		int e = errno;
		isc_closep(&dfd);
		return walk_failed(w, e, "read", name, w->depth, err);
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	struct dirent *de;
	size_t cap = 0;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat cs;
		if (de->d_type != DT_DIR &&
		    (de->d_type != DT_UNKNOWN || fstatat(fd, de->d_name, &cs, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISDIR(cs.st_mode)))
			continue;
		if (l->n == cap) {
			cap = cap ? 2 * cap : 8;
			char **nn = realloc(l->names, cap * sizeof(*nn));
			if (nn == NULL)
				abort();
			l->names = nn;
		}
		l->names[l->n++] = isc_xstrdup(de->d_name);
	}
	int e = errno;
	closedir(d);
	if (e != 0) { /* readdir failed: a removal after would hide why */
		level_clear(l);
		return walk_failed(w, e, "read", name, w->depth, err);
	}
	w->depth++;
	return w->enter ? w->enter(w, fd, err) : 0;
}

/* ".." of `fd`, if it is still the group the walk came down from */
static int walk_up(const struct cg_walk *w, int fd)
{
	const struct cg_level *l = &w->lv[w->depth - 2];
	int p = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p < 0)
		return -1;
	struct stat st;
	if (fstat(p, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		return p;
	close(p);
	errno = ESTALE; /* moved while we walked it */
	return -1;
}

/* Visit the group `w->top` and everything below it: enter before the
 * sub-groups, leave after.  A group that is gone (removed meanwhile) is
 * skipped; `top` gone is an empty walk. */
static int cg_walk(struct cg_walk *w, isc_error **err)
{
	int fd = open(w->top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "open %s", w->top);
	int r = walk_push(w, fd, ".", err);
	while (r == 0) {
		struct cg_level *l = &w->lv[w->depth - 1];
		if (l->next < l->n) {
			const char *name = l->names[l->next++];
			int child = open_sub(fd, name);
			if (child < 0 && errno == ENOENT)
				continue;
			if (child < 0) {
				r = walk_failed(w, errno, "open", name, w->depth, err);
				break;
			}
			isc_closep(&fd);
			fd = child;
			r = walk_push(w, fd, name, err);
			continue;
		}
		if (w->depth == 1)
			break;
		const struct cg_level *up = &w->lv[w->depth - 2];
		const char *name = up->names[up->next - 1];
		int parent = walk_up(w, fd);
		if (parent < 0) {
			r = walk_failed(w, errno, "go up from", name, w->depth - 1, err);
			break;
		}
		isc_closep(&fd);
		fd = parent;
		level_clear(&w->lv[--w->depth]);
		if (w->leave)
			r = w->leave(w, fd, name, err);
	}
	isc_closep(&fd);
	while (w->depth > 0)
		level_clear(&w->lv[--w->depth]);
	free(w->lv);
	w->lv = NULL;
	w->cap = 0;
	return r;
}

/* rmdir(2) of a group: EBUSY while its last processes leave (the kernel
 * removes them from the group some time after their death) */
static int rmdir_retry_at(int parent, const char *name, uint64_t deadline)
{
	long delay = 200;
	for (;;) {
		if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || isc_now_ns() > deadline)
			return -errno;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = delay * 1000 };
		nanosleep(&ts, NULL);
		if (delay < 20000)
			delay *= 2;
	}
}

static int rmdir_retry(const char *dir, uint64_t deadline)
{
	return rmdir_retry_at(AT_FDCWD, dir, deadline);
}

static int remove_leave(struct cg_walk *w, int parent, const char *name, isc_error **err)
{
	int r = rmdir_retry_at(parent, name, *(const uint64_t *)w->arg);
	return r < 0 ? walk_failed(w, -r, "rmdir", name, w->depth, err) : 0;
}

/* Sub-groups the container made inside its group, deepest first. */
static int rmdir_children(const char *dir, uint64_t deadline, isc_error **err)
{
	struct cg_walk w = { .top = dir, .leave = remove_leave, .arg = &deadline };
	return cg_walk(&w, err);
}

/* Remove the leaf (and what the container made below it), then the
 * intermediates isc made, while they are empty. */
static int group_remove(const struct isc_cg_group *g, uint64_t deadline, isc_error **err)
{
	if (g->made == 0)
		return 0;
	int r = rmdir(g->dir) == 0 || errno == ENOENT ? 0 : -errno;
	if (r < 0 && r != -EBUSY && r != -ENOTEMPTY)
		return isc_error_set(err, -r, "rmdir %s", g->dir);
	if (r < 0 && rmdir_children(g->dir, deadline, err) < 0) /* sub-groups, or processes leaving */
		return -1;
	if (r < 0)
		r = rmdir_retry(g->dir, deadline);
	if (r < 0)
		return isc_error_set(err, -r, "rmdir %s", g->dir);
	cleanup_free char *p = isc_xstrdup(g->dir);
	for (unsigned k = 1; k < g->made; k++) {
		char *slash = strrchr(p, '/');
		if (slash == NULL || slash == p)
			break;
		*slash = '\0';
		if (rmdir(p) < 0)
			break; /* ENOTEMPTY/EBUSY: another container uses it now */
	}
	return 0;
}

/* Undo a partial group_make: the directories made, deepest first. */
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
		if (cpuset && isc_cg_v1_cpuset_fill(dir, err) < 0) {
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
				if (cpuset && isc_cg_v1_cpuset_fill(p, err) < 0) {
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
	if (isc_cg_read(dir, "cgroup.procs", &procs, err) < 0)
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
		(void)group_remove(&cg->g[i], deadline, &ignored);
	}
}

/* Write the resources into every group (create and update). */
static int apply(const struct isc_cgroup *cg, const struct isc_cg_layout *l, const struct isc_resources *res,
		 isc_error **err)
{
	unsigned need = isc_cg_res_mask(res), v2mask = 0;
	if (res == NULL)
		return 0;
	if (v2_part(l, need, res, &v2mask, err) < 0)
		return -1;
	unsigned v1need = need & ~v2mask;
	if (l->mode != ISC_CGROUP_V2) {
		for (unsigned bit = 1; bit <= ISC_CG_DEBUG; bit <<= 1)
			if ((v1need & bit & layout_v1_mask(l)) && find_v1(cg, bit) == NULL)
				return isc_error_set(err, ENOENT, "linux.resources: the container has no %s cgroup",
						     isc_cg_controller_name(bit, false));
		for (size_t i = 0; i < cg->n; i++)
			if (!cg->g[i].v2 && isc_cg_v1_apply(cg->g[i].dir, cg->g[i].mask & v1need, res, err) < 0)
				return -1;
	}
	if (v2mask || res->n_unified) {
		const struct isc_cg_group *g = find_v2(cg);
		if (g == NULL)
			return isc_error_set(err, ENOENT, "linux.resources: the container has no cgroup v2 group");
		if (isc_cg_v2_enable(l->v2_mount, g->dir, v2mask, res, err) < 0 ||
		    isc_cg_v2_apply(g->dir, v2mask, res, err) < 0)
			return -1;
	}
	return 0;
}

/* The hierarchies every container has a group in (see the top). */
#define ACCOUNTING                                                                                              \
	(ISC_CG_MEMORY | ISC_CG_CPU | ISC_CG_CPUACCT | ISC_CG_BLKIO | ISC_CG_PIDS | ISC_CG_DEVICES | ISC_CG_FREEZER)

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
	if (cpuset && isc_cg_v1_cpuset_fill(dir, err) < 0) {
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
	cleanup_free char *dir = isc_cg_dir(mount, root, rel);
	if (dir == NULL)
		return isc_error_set(err, EINVAL, "cgroup %s is not visible through the mount %s (root %s)", rel, mount,
				     root);
	unsigned made = 0;
	cleanup_error isc_error *e = NULL;
	if (plan) {
		made = missing_components(mount, dir);
	} else if (group_make(mount, dir, !v2 && (mask & ISC_CG_CPUSET), &made, &e) < 0) {
		if (!required && optional_skip(e->errnum))
			return 0;
		isc_error_move(err, &e);
		return -1;
	}
	if (made == 0) {
		if (renew_leaf(dir, !v2 && (mask & ISC_CG_CPUSET), err) < 0)
			return -1;
		made = 1;
	}
	struct isc_cg_group *g = add_group(cg);
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
	const struct isc_cg_layout *l;
	if (isc_cg_layout_get(&l, err) < 0)
		return -1;
	unsigned need = isc_cg_res_mask(res), v2mask = 0;
	if (v2_part(l, need, res, &v2mask, err) < 0)
		return -1;
	__attribute__((cleanup(cgroup_freep))) struct isc_cgroup *cg = isc_xmalloc0(sizeof(*cg));
	cg->mode = l->mode;
	int r = 0;
	if (l->mode != ISC_CGROUP_V2) {
		static const unsigned pref[] = { ISC_CG_PIDS, ISC_CG_FREEZER, ISC_CG_MEMORY };
		size_t track = SIZE_MAX;
		for (size_t p = 0; p < ARRAY_SIZE(pref) && track == SIZE_MAX; p++)
			for (size_t i = 0; i < l->n_v1 && track == SIZE_MAX; i++)
				if (l->v1[i].mask & pref[p])
					track = i;
		for (size_t i = 0; i < l->n_v1 && track == SIZE_MAX; i++)
			if (l->v1[i].mask)
				track = i;
		for (size_t i = 0; r == 0 && i < l->n_v1; i++) {
			const struct isc_cg_hier *h = &l->v1[i];
			bool required = i == track || (h->mask & (ISC_CG_PIDS | ISC_CG_FREEZER | need));
			if (!required && !(h->mask & ACCOUNTING) && !every_hierarchy)
				continue;
			r = plan_one(cg, h->mount, h->root, h->own, h->controllers, h->mask, false, required,
				     cgroups_path, id, plan, err);
		}
	}
	if (r == 0 && l->mode != ISC_CGROUP_V1) {
		bool required = l->mode == ISC_CGROUP_V2 || v2mask || (res && res->n_unified);
		if (required || every_hierarchy)
			r = plan_one(cg, l->v2_mount, l->v2_root, l->v2_own, ISC_CG_V2_NAME, 0, true, required, cgroups_path, id,
			     plan, err);
	}
	if (r == 0 && tracker(cg) == NULL)
		r = isc_error_set(err, ENOENT, "no cgroup could be created for the container");
	if (r == 0 && !plan)
		r = apply(cg, l, res, err);
	if (r < 0) {
		if (!plan)
			rollback(cg);
		return -1;
	}
	*out = steal_pointer(&cg);
	return 0;
}

int isc_cgroup_plan(const char *cgroups_path, const char *id, const struct isc_resources *res,
		    bool every_hierarchy, struct isc_cgroup **out, isc_error **err)
{
	return create_or_plan(cgroups_path, id, res, every_hierarchy, true, out, err);
}

int isc_cgroup_create(const char *cgroups_path, const char *id, const struct isc_resources *res,
		      bool every_hierarchy, struct isc_cgroup **out, isc_error **err)
{
	return create_or_plan(cgroups_path, id, res, every_hierarchy, false, out, err);
}

int isc_cgroup_attach(struct isc_cgroup *cg, pid_t pid, isc_error **err)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++)
		if (isc_cg_write(cg->g[i].dir, "cgroup.procs", buf, err) < 0)
			return -1;
	return 0;
}

int isc_cgroup_update(struct isc_cgroup *cg, const struct isc_resources *res, isc_error **err)
{
	const struct isc_cg_layout *l;
	if (isc_cg_layout_get(&l, err) < 0)
		return -1;
	return apply(cg, l, res, err);
}

/* ---- processes ------------------------------------------------------- */

struct pidset {
	pid_t *v;
	size_t n, cap;
};

static int collect_enter(struct cg_walk *w, int fd, isc_error **err)
{
	struct pidset *s = w->arg;
	cleanup_free char *procs = NULL;
	cleanup_error isc_error *e = NULL;
	if (isc_read_file_at(fd, "cgroup.procs", &procs, NULL, 1u << 20, &e) < 0) {
		if (e->errnum == ENOENT || e->errnum == ENODEV)
			return 0; /* removed meanwhile: empty */
		return isc_error_set(err, e->errnum, "cgroup %s: read the processes of a sub-group at depth %zu", w->top,
				     w->depth - 1);
	}
	char *save = NULL;
	for (char *t = strtok_r(procs, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		uint64_t v;
		if (isc_parse_u64(t, &v) < 0 || v == 0 || v > INT32_MAX)
			continue;
		bool dup = false;
		for (size_t i = 0; i < s->n && !dup; i++)
			dup = s->v[i] == (pid_t)v;
		if (dup)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 16;
			pid_t *nv = realloc(s->v, s->cap * sizeof(*nv));
			if (nv == NULL)
				abort();
			s->v = nv;
		}
		s->v[s->n++] = (pid_t)v;
	}
	return 0;
}

/* The processes in `dir` and every group below it. */
static int collect(const char *dir, struct pidset *s, isc_error **err)
{
	struct cg_walk w = { .top = dir, .enter = collect_enter, .arg = s };
	return cg_walk(&w, err);
}

int isc_cgroup_pids(struct isc_cgroup *cg, pid_t **pids, size_t *n, isc_error **err)
{
	const struct isc_cg_group *t = tracker(cg);
	struct pidset s = { 0 };
	if (t == NULL)
		return isc_error_set(err, ENOENT, "the container has no tracking cgroup");
	if (collect(t->dir, &s, err) < 0) {
		free(s.v);
		return -1;
	}
	*pids = s.v;
	*n = s.n;
	return 0;
}

static const struct isc_cg_group *freezer(const struct isc_cgroup *cg)
{
	const struct isc_cg_group *g = cg->mode == ISC_CGROUP_V2 ? NULL : find_v1(cg, ISC_CG_FREEZER);
	return g ? g : find_v2(cg);
}

static int freeze_group(const struct isc_cg_group *g, bool frozen, isc_error **err)
{
	return g->v2 ? isc_cg_v2_freeze(g->dir, frozen, err) : isc_cg_v1_freeze(g->dir, frozen, err);
}

static bool group_frozen(const struct isc_cg_group *g)
{
	return g->v2 ? isc_cg_v2_is_frozen(g->dir) : isc_cg_v1_is_frozen(g->dir);
}

int isc_cgroup_freeze(struct isc_cgroup *cg, bool frozen, isc_error **err)
{
	const struct isc_cg_group *g = freezer(cg);
	if (g == NULL)
		return isc_error_set(err, ENOTSUP, "the container has no freezer cgroup");
	return freeze_group(g, frozen, err);
}

bool isc_cgroup_frozen(const struct isc_cgroup *cg)
{
	const struct isc_cg_group *g = freezer(cg);
	return g != NULL && group_frozen(g);
}

/* Frozen, no process can fork, so one pass over cgroup.procs reaches
 * everyone; the signal is delivered at thaw (v1 tasks even die only then). */
int isc_cgroup_kill_all(struct isc_cgroup *cg, int sig, isc_error **err)
{
	const struct isc_cg_group *v2 = find_v2(cg);
	if (sig == SIGKILL && v2 && isc_cg_has_file(v2->dir, "cgroup.kill")) {
		if (isc_cg_write(v2->dir, "cgroup.kill", "1", err) < 0)
			return -1;
		if (cg->mode == ISC_CGROUP_V2)
			return 0;
	}
	const struct isc_cg_group *f = freezer(cg);
	bool was_frozen = f && group_frozen(f);
	bool froze = false;
	if (f && !was_frozen) {
		cleanup_error isc_error *ignored = NULL;
		froze = freeze_group(f, true, &ignored) == 0;
	}
	pid_t *pids = NULL;
	size_t n = 0;
	int r = isc_cgroup_pids(cg, &pids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			r = isc_error_set(err, errno, "kill %d (signal %d)", (int)pids[i], sig);
	free(pids);
	if (froze || (was_frozen && sig == SIGKILL)) {
		cleanup_error isc_error *e = NULL;
		if (freeze_group(f, false, &e) < 0 && r == 0) {
			isc_error_move(err, &e);
			r = -1;
		}
	}
	return r;
}

/* Processes in the tracking group (every process of the container is in
 * it; one left in another group only makes that group's rmdir wait). */
static size_t count_procs(const struct isc_cgroup *cg)
{
	const struct isc_cg_group *t = tracker(cg);
	struct pidset s = { 0 };
	cleanup_error isc_error *e = NULL;
	if (t == NULL || collect(t->dir, &s, &e) < 0) {
		free(s.v);
		return 0;
	}
	free(s.v);
	return s.n;
}

int isc_cgroup_destroy(struct isc_cgroup *cg, isc_error **err)
{
	cleanup_error isc_error *first = NULL;
	uint64_t start = isc_now_ns(), deadline = start + 2000000000ull, last_kill = start;
	/* an empty group needs no freeze/kill/thaw round, nor a second look */
	bool busy = count_procs(cg) > 0;
	if (busy)
		(void)isc_cgroup_kill_all(cg, SIGKILL, &first);
	long delay = 200;
	while (busy && count_procs(cg) > 0) {
		uint64_t now = isc_now_ns();
		if (now > deadline) {
			if (first == NULL)
				isc_error_set(&first, EBUSY, "cgroup %s: processes left after SIGKILL and 2 s",
					      tracker(cg) ? tracker(cg)->dir : "?");
			break;
		}
		if (now - last_kill > 100000000ull) { /* new forks, or a thaw that raced */
			cleanup_error isc_error *ignored = NULL;
			(void)isc_cgroup_kill_all(cg, SIGKILL, &ignored);
			last_kill = now;
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = delay * 1000 };
		nanosleep(&ts, NULL);
		if (delay < 20000)
			delay *= 2;
	}
	deadline = isc_now_ns() + 2000000000ull;
	int r = 0;
	for (size_t i = cg->n; i-- > 0;) {
		cleanup_error isc_error *e = NULL;
		if (group_remove(&cg->g[i], deadline, &e) < 0 && r == 0) {
			r = -1;
			if (first == NULL)
				isc_error_move(&first, &e);
		}
	}
	if (r < 0) {
		isc_error_move(err, &first);
		return -1;
	}
	return 0;
}

/* ---- update: joining a hierarchy later ---------------------------- */

/* The hierarchy of one of the container's v1 groups, or NULL. */
static const struct isc_cg_hier *hier_of(const struct isc_cg_layout *l, const struct isc_cg_group *g)
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
static char *missing_path(const struct isc_cg_layout *l, const struct isc_cgroup *cg, const char *own)
{
	const struct isc_cg_group *t = tracker(cg);
	const char *mount = NULL, *root = NULL, *town = NULL;
	if (t == NULL)
		return NULL;
	if (t->v2) {
		mount = l->v2_mount, root = l->v2_root, town = l->v2_own;
	} else {
		const struct isc_cg_hier *h = hier_of(l, t);
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
		if (isc_cg_write(dir, "cgroup.procs", buf, &e) < 0 && e->errnum != ESRCH) {
			isc_error_move(err, &e);
			r = -1;
		}
	}
	free(pids);
	return r;
}

int isc_cgroup_add_missing(struct isc_cgroup *cg, const struct isc_resources *res, bool *added, isc_error **err)
{
	const struct isc_cg_layout *l;
	*added = false;
	if (isc_cg_layout_get(&l, err) < 0)
		return -1;
	unsigned need = isc_cg_res_mask(res), v2mask = 0;
	if (v2_part(l, need, res, &v2mask, err) < 0)
		return -1;
	/* which hierarchies: v1 ones carrying a needed controller, and the unified one */
	const struct isc_cg_hier *want[64];
	size_t n_want = 0;
	bool want_v2 = false;
	if (l->mode != ISC_CGROUP_V2)
		for (size_t i = 0; i < l->n_v1 && n_want < ARRAY_SIZE(want); i++)
			if ((l->v1[i].mask & need & ~v2mask) && find_v1(cg, l->v1[i].mask & need & ~v2mask) == NULL)
				want[n_want++] = &l->v1[i];
	if (l->mode != ISC_CGROUP_V1 && (v2mask || (res && res->n_unified)) && find_v2(cg) == NULL)
		want_v2 = true;
	if (n_want == 0 && !want_v2)
		return 0;
	const struct isc_cg_group *f = freezer(cg);
	if (f == NULL)
		return isc_error_set(err, ENOTSUP, "the container has no freezer cgroup to move its processes safely");
	bool was_frozen = group_frozen(f);
	if (!was_frozen && freeze_group(f, true, err) < 0)
		return -1;
	int r = 0;
	for (size_t k = 0; r == 0 && k < n_want + (want_v2 ? 1 : 0); k++) {
		bool v2 = k == n_want;
		const char *mount = v2 ? l->v2_mount : want[k]->mount;
		const char *root = v2 ? l->v2_root : want[k]->root;
		const char *own = v2 ? l->v2_own : want[k]->own;
		unsigned mask = v2 ? 0 : want[k]->mask;
		cleanup_free char *rel = missing_path(l, cg, own);
		cleanup_free char *dir = rel ? isc_cg_dir(mount, root, rel) : NULL;
		if (dir == NULL) {
			r = isc_error_set(err, EINVAL, "cannot place the container in the %s hierarchy",
					  v2 ? ISC_CG_V2_NAME : want[k]->controllers);
			break;
		}
		unsigned made = 0;
		if (group_make(mount, dir, !v2 && (mask & ISC_CG_CPUSET), &made, err) < 0) {
			r = -1;
			break;
		}
		if (made == 0) {
			if (check_empty(dir, err) < 0 ||
			    (!v2 && (mask & ISC_CG_CPUSET) && isc_cg_v1_cpuset_fill(dir, err) < 0)) {
				r = -1;
				break;
			}
			made = 1;
		}
		struct isc_cg_group *g = add_group(cg);
		g->ctrl = isc_xstrdup(v2 ? ISC_CG_V2_NAME : want[k]->controllers);
		g->mask = mask;
		g->v2 = v2;
		g->dir = isc_xstrdup(dir);
		g->made = made;
		*added = true; /* recorded even if the move fails: destroy removes it */
		if (v2 && isc_cg_v2_enable(l->v2_mount, dir, v2mask, res, err) < 0) {
			r = -1;
			break;
		}
		r = move_all(cg, dir, err);
		f = freezer(cg); /* add_group moved the array */
	}
	if (!was_frozen) {
		cleanup_error isc_error *e = NULL;
		if (freeze_group(f, false, &e) < 0 && r == 0) {
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
	json_array_foreach(groups, i, v)
	{
		const char *ctrl = NULL, *dir = NULL;
		int made = 0;
		if (r < 0)
			break;
		if (json_unpack(v, "[ssi]", &ctrl, &dir, &made) < 0 || made < 0 || made > 4096 || !valid_dir(dir)) {
			r = isc_error_set(err, EINVAL, "cgroup state: bad group %zu", i);
			break;
		}
		struct isc_cg_group *g = add_group(cg);
		g->v2 = strcmp(ctrl, ISC_CG_V2_NAME) == 0;
		g->ctrl = isc_xstrdup(ctrl);
		g->mask = g->v2 ? 0 : isc_cg_parse_controllers(ctrl, NULL);
		g->dir = isc_xstrdup(dir);
		g->made = (unsigned)made;
	}
	json_decref(o);
	if (r < 0)
		return -1;
	*out = steal_pointer(&cg);
	return 0;
}

/* ---- mounts inside the container ----------------------------------- */

/* Our own group in hierarchy `ctrl` (canonical v1 controllers, or
 * ISC_CG_V2_NAME) from the text of /proc/self/cgroup; NULL if not listed. */
static char *own_group(const char *proc_cgroup, const char *ctrl)
{
	bool v2 = strcmp(ctrl, ISC_CG_V2_NAME) == 0;
	for (const char *line = proc_cgroup; line && *line;) {
		size_t n = strcspn(line, "\n");
		cleanup_free char *copy = isc_xasprintf("%.*s", (int)n, line);
		line += n + (line[n] == '\n');
		cleanup_free char *ctrls = NULL;
		char *path = NULL;
		if (isc_cg_parse_proc_cgroup_line(copy, &ctrls, &path) < 0)
			continue;
		cleanup_free char *canon = NULL;
		if (ctrls[0] != '\0')
			isc_cg_parse_controllers(ctrls, &canon);
		if (v2 ? ctrls[0] == '\0' && strncmp(copy, "0:", 2) == 0 : canon && strcmp(canon, ctrl) == 0)
			return path;
		free(path);
	}
	return NULL;
}

/* Every step below targets an fd: the destination resolved inside the
 * rootfs (an O_PATH fd), or a directory of the tmpfs made here, opened
 * from that tmpfs' root fd.  No path is walked again after the
 * resolution, so a rename inside the rootfs meanwhile (another container
 * sharing a volume) cannot send a mount elsewhere (runc CVE-2021-30465).
 * mount(2) of a fresh filesystem takes "/proc/self/fd/N": exactly what fd
 * N resolved to. */
static int attach_tree(int tree, int dir)
{
	return move_mount(tree, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* Without a cgroup namespace of its own, a fresh cgroup mount would show
 * the whole hierarchy: every other container's group, and the host's
 * figures at its root.  So, like runc, bind the container's own group of
 * that hierarchy (read-only when the mount asks): it sees that group and
 * nothing above it. */
static int bind_own_group(const char *hmount, const char *hroot, const char *ctrl, const char *proc_cgroup,
			  int dir, const char *name, unsigned long flags, isc_error **err)
{
	cleanup_free char *own = own_group(proc_cgroup, ctrl);
	cleanup_free char *src = own ? isc_cg_dir(hmount, hroot, own) : NULL;
	if (src == NULL)
		return isc_error_set(err, ENOENT, "cgroup %s: the container's own group is not visible", ctrl);
	cleanup_close int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return isc_error_set(err, errno, "bind %s on %s", src, name);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	if (flags & MS_RDONLY)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return isc_error_set(err, errno, "set the flags of %s", name);
	if (attach_tree(tree, dir) < 0)
		return isc_error_set(err, errno, "bind %s on %s", src, name);
	return 0;
}

/* One hierarchy at `dir` (`name` for messages): in a cgroup namespace
 * (`proc_cgroup` NULL) a fresh mount, whose root is the namespace's root
 * there (the container's group); else the bind of the container's own
 * group. */
static int mount_one(const char *fstype, const char *opts, const char *hmount, const char *hroot, const char *ctrl,
		     const char *proc_cgroup, int dir, const char *name, unsigned long flags, isc_error **err)
{
	if (proc_cgroup)
		return bind_own_group(hmount, hroot, ctrl, proc_cgroup, dir, name, flags, err);
	char p[32];
	snprintf(p, sizeof p, "/proc/self/fd/%d", dir);
	if (mount(fstype, p, fstype, flags, opts) < 0)
		return isc_error_set(err, errno, "mount %s%s%s on %s", fstype, opts ? " -o " : "", opts ? opts : "",
				     name);
	return 0;
}

/* The mount flags (MS_*) as fsmount's attributes. */
static unsigned ms_to_mount_attr(unsigned long f)
{
	unsigned a = 0;
	if (f & MS_RDONLY)
		a |= MOUNT_ATTR_RDONLY;
	if (f & MS_NOSUID)
		a |= MOUNT_ATTR_NOSUID;
	if (f & MS_NODEV)
		a |= MOUNT_ATTR_NODEV;
	if (f & MS_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	if (f & MS_NODIRATIME)
		a |= MOUNT_ATTR_NODIRATIME;
	if (f & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	else if (f & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	return a;
}

/* A tmpfs (mode 755) attached at `target`; returns the fd of its root. */
static int attach_tmpfs(int target, const char *name, unsigned long mflags, isc_error **err)
{
	cleanup_close int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return isc_error_set(err, errno, "mount tmpfs on %s", name);
	cleanup_close int top = fsmount(fs, FSMOUNT_CLOEXEC, ms_to_mount_attr(mflags & ~(unsigned long)MS_RDONLY));
	if (top < 0 || attach_tree(top, target) < 0)
		return isc_error_set(err, errno, "mount tmpfs on %s", name);
	return steal_fd(&top);
}

/* Directory `base` of the tmpfs `top`, made and opened (O_PATH). */
static int tmpfs_dir(int top, const char *name, const char *base, isc_error **err)
{
	if (mkdirat(top, base, 0755) < 0 && errno != EEXIST)
		return isc_error_set(err, errno, "mkdir %s/%s", name, base);
	int fd = openat(top, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s/%s", name, base);
	return fd;
}

/* One v1 hierarchy in directory `base` of the tmpfs, with the links of its
 * co-mounted controllers ("cpu" -> "cpu,cpuacct" as on the host). */
static int mount_v1(int top, const char *name, const char *base, const struct isc_cg_hier *h, const char *pc,
		    unsigned long mflags, isc_error **err)
{
	cleanup_close int dir = tmpfs_dir(top, name, base, err);
	if (dir < 0)
		return -1;
	cleanup_free char *sub = isc_xasprintf("%s/%s", name, base);
	cleanup_error isc_error *e = NULL;
	if (mount_one("cgroup", h->controllers, h->mount, h->root, h->controllers, pc, dir, sub, mflags, &e) < 0) {
		if (h->mask != 0) {
			isc_error_move(err, &e);
			return -1;
		}
		(void)unlinkat(top, base, AT_REMOVEDIR); /* a named hierarchy: nothing depends on it */
		return 0;
	}
	for (size_t c = 0; c < ARRAY_SIZE(controllers); c++) {
		if (!(h->mask & controllers[c].bit) || strcmp(controllers[c].v1, base) == 0)
			continue;
		if (symlinkat(base, top, controllers[c].v1) < 0 && errno != EEXIST)
			return isc_error_set(err, errno, "symlink %s/%s", name, controllers[c].v1);
	}
	return 0;
}

int isc_cgroup_mount(int target, const char *name, unsigned long flags, bool own_ns, isc_error **err)
{
	const struct isc_cg_layout *l;
	if (isc_cg_layout_get(&l, err) < 0)
		return -1;
	unsigned long mflags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME | MS_NOATIME |
					MS_STRICTATIME | MS_NODIRATIME);
	/* without our own namespace: bind our groups, read once from here */
	cleanup_free char *pc = NULL;
	if (!own_ns && isc_read_file("/proc/self/cgroup", &pc, NULL, 0, err) < 0)
		return -1;
	if (l->mode == ISC_CGROUP_V2)
		return mount_one("cgroup2", NULL, l->v2_mount, l->v2_root, ISC_CG_V2_NAME, pc, target, name, mflags,
				 err);
	/* a tmpfs holding one directory per hierarchy, as on the host */
	cleanup_close int top = attach_tmpfs(target, name, mflags, err);
	if (top < 0)
		return -1;
	for (size_t i = 0; i < l->n_v1; i++) {
		const struct isc_cg_hier *h = &l->v1[i];
		const char *base = strrchr(h->mount, '/');
		base = base ? base + 1 : h->mount;
		if (*base == '\0' || strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
			continue;
		if (mount_v1(top, name, base, h, pc, mflags, err) < 0)
			return -1;
	}
	if (l->mode == ISC_CGROUP_HYBRID) {
		cleanup_close int dir = tmpfs_dir(top, name, "unified", err);
		cleanup_free char *sub = isc_xasprintf("%s/unified", name);
		if (dir < 0 ||
		    mount_one("cgroup2", NULL, l->v2_mount, l->v2_root, ISC_CG_V2_NAME, pc, dir, sub, mflags, err) < 0)
			return -1;
	}
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if ((flags & MS_RDONLY) && mount_setattr(top, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return isc_error_set(err, errno, "remount %s read-only", name);
	return 0;
}
