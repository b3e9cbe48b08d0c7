/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups: the layout of this machine's hierarchies, detected once, and
 * where a container's group lies in each.  The parsers are pure (text in,
 * structs out: the unit tests feed them literal mountinfo and
 * /proc/self/cgroup contents).
 *
 * Modes.  statfs(/sys/fs/cgroup): cgroup2 -> v2; a tmpfs whose "unified"
 * is cgroup2 -> hybrid; anything else -> v1.  The v1 hierarchies (mount
 * point and controllers, from the super options) come from
 * /proc/self/mountinfo, our own group in each from /proc/self/cgroup.  In
 * hybrid mode a controller lives where the kernel bound it: on its v1
 * hierarchy if it has one, else on the unified one (here: hugetlb).
 *
 * Paths.  A relative cgroupsPath lands under our own group in each
 * hierarchy, an absolute one under each hierarchy's root; NULL means a
 * relative "isc-<id>".  Components ".." and "." are refused, as is the
 * root itself.  isc never writes a hierarchy root's files: on v2 a
 * controller missing from the root's cgroup.subtree_control is an error. */
#include "kernel/cgroup-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

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
	{ ISC_CGROUP_CPUSET, "cpuset", "cpuset" },
	{ ISC_CGROUP_CPU, "cpu", "cpu" },
	{ ISC_CGROUP_CPUACCT, "cpuacct", NULL },
	{ ISC_CGROUP_BLKIO, "blkio", "io" },
	{ ISC_CGROUP_MEMORY, "memory", "memory" },
	{ ISC_CGROUP_DEVICES, "devices", NULL },
	{ ISC_CGROUP_FREEZER, "freezer", NULL },
	{ ISC_CGROUP_NET_CLS, "net_cls", NULL },
	{ ISC_CGROUP_PERF_EVENT, "perf_event", "perf_event" },
	{ ISC_CGROUP_NET_PRIO, "net_prio", NULL },
	{ ISC_CGROUP_HUGETLB, "hugetlb", "hugetlb" },
	{ ISC_CGROUP_PIDS, "pids", "pids" },
	{ ISC_CGROUP_RDMA, "rdma", "rdma" },
	{ ISC_CGROUP_MISC, "misc", "misc" },
	{ ISC_CGROUP_DEBUG, "debug", "debug" },
};

const char *isc_cgroup_controller_name(unsigned bit, bool v2)
{
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if (controllers[i].bit == bit)
			return v2 ? controllers[i].v2 : controllers[i].v1;
	return NULL;
}

unsigned isc_cgroup_controller_bit(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if (strcmp(controllers[i].v1, name) == 0 || (controllers[i].v2 && strcmp(controllers[i].v2, name) == 0))
			return controllers[i].bit;
	return 0;
}

unsigned isc_cgroup_parse_controllers(const char *list, char **canonical)
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

/* ---- parsing --------------------------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static char *unescape(const char *s, size_t n)
{
	char *out = isc_xmalloc0(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
		    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
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
int isc_cgroup_parse_mountinfo_line(const char *line, char **mountpoint, char **root, char **fstype, char **super_opts)
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

int isc_cgroup_parse_proc_cgroup_line(const char *line, char **ctrls, char **path)
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

void isc_cgroup_layout_free(struct isc_cgroup_layout *l)
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

static void layout_freep(struct isc_cgroup_layout **l)
{
	isc_cgroup_layout_free(*l);
}

static bool under_cgroup_root(const char *mnt)
{
	return strncmp(mnt, CGROUP_ROOT "/", sizeof(CGROUP_ROOT)) == 0;
}

static void add_v1(struct isc_cgroup_layout *l, char *mnt, char *root, char *canon, unsigned mask)
{
	for (size_t i = 0; i < l->n_v1; i++) {
		struct isc_cgroup_hier *h = &l->v1[i];
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
	struct isc_cgroup_hier *nv = realloc(l->v1, (l->n_v1 + 1) * sizeof(*nv));
	if (nv == NULL)
		abort();
	l->v1 = nv;
	l->v1[l->n_v1++] = (struct isc_cgroup_hier){ .mount = mnt, .root = root, .controllers = canon, .mask = mask };
}

int isc_cgroup_layout_parse(enum isc_cgroup_mode mode, const char *mountinfo, const char *proc_cgroup,
			    struct isc_cgroup_layout **out, isc_error **err)
{
	__attribute__((cleanup(layout_freep))) struct isc_cgroup_layout *l = isc_xmalloc0(sizeof(*l));
	const char *want_v2 = mode == ISC_CGROUP_V2 ? CGROUP_ROOT : CGROUP_ROOT "/unified";
	l->mode = mode;
	for (const char *line = mountinfo; line && *line;) {
		size_t n = strcspn(line, "\n");
		cleanup_free char *copy = isc_xasprintf("%.*s", (int)n, line);
		line += n + (line[n] == '\n');
		char *mnt = NULL, *root = NULL, *fs = NULL, *opts = NULL;
		if (isc_cgroup_parse_mountinfo_line(copy, &mnt, &root, &fs, &opts) < 0)
			continue;
		if (strcmp(fs, "cgroup") == 0 && mode != ISC_CGROUP_V2) {
			char *canon = NULL;
			unsigned mask = isc_cgroup_parse_controllers(opts, &canon);
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
		if (isc_cgroup_parse_proc_cgroup_line(copy, &ctrls, &path) < 0)
			continue;
		if (ctrls[0] == '\0') {
			if (strncmp(copy, "0:", 2) == 0) {
				free(l->v2_own);
				l->v2_own = steal_pointer(&path);
			}
			continue;
		}
		cleanup_free char *canon = NULL;
		isc_cgroup_parse_controllers(ctrls, &canon);
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

static struct isc_cgroup_layout *cached_layout;

int isc_cgroup_layout_get(const struct isc_cgroup_layout **out, isc_error **err)
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
	if (isc_cgroup_layout_parse(mode, mi, pc, &cached_layout, err) < 0)
		return -1;
	*out = cached_layout;
	return 0;
}

int isc_cgroup_mode(enum isc_cgroup_mode *mode, isc_error **err)
{
	const struct isc_cgroup_layout *l;
	if (isc_cgroup_layout_get(&l, err) < 0)
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

char *isc_cgroup_dir(const char *mount, const char *root, const char *path)
{
	size_t rl = strlen(root);
	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
		return NULL;
	return isc_xasprintf("%s%s", mount, path + rl);
}
