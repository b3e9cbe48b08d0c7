/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups, internal: the layout of the hierarchies (parsed once from
 * mountinfo and /proc/self/cgroup: cgroup-layout.c), the groups of one
 * container (cgroup.c), resources (cgroup-res.c) and the per-version
 * appliers (cgroup-v1.c, cgroup-v2.c), the walk, kill and removal
 * (cgroup-walk.c): what each of those files offers the others
 * (cgroup-mount.c offers only isc_cgroup_mount, in cgroup.h).  The parsers are
 * pure (text in, structs out) so that unit tests can feed them literal
 * mountinfo and /proc/self/cgroup contents for every layout. */
#ifndef ISC_CGROUP_INTERNAL_H
#define ISC_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "kernel/cgroup.h"

/* Controllers as bits, in the kernel's subsystem order. */
enum {
	ISC_CGROUP_CPUSET = 1u << 0,
	ISC_CGROUP_CPU = 1u << 1,
	ISC_CGROUP_CPUACCT = 1u << 2,
	ISC_CGROUP_BLKIO = 1u << 3, /* "io" on v2 */
	ISC_CGROUP_MEMORY = 1u << 4,
	ISC_CGROUP_DEVICES = 1u << 5,
	ISC_CGROUP_FREEZER = 1u << 6,
	ISC_CGROUP_NET_CLS = 1u << 7,
	ISC_CGROUP_PERF_EVENT = 1u << 8,
	ISC_CGROUP_NET_PRIO = 1u << 9,
	ISC_CGROUP_HUGETLB = 1u << 10,
	ISC_CGROUP_PIDS = 1u << 11,
	ISC_CGROUP_RDMA = 1u << 12,
	ISC_CGROUP_MISC = 1u << 13,
	ISC_CGROUP_DEBUG = 1u << 14,
};

/* v1 name ("blkio") or v2 name ("io"; NULL when v2 has no such controller). */
const char *isc_cgroup_controller_name(unsigned bit, bool v2);
/* Bit of a controller name (v1 or v2 spelling), 0 when unknown. */
unsigned isc_cgroup_controller_bit(const char *name);

/* One v1 hierarchy as mounted on the host. */
struct isc_cgroup_hier {
	char *mount;	   /* mount point, "/sys/fs/cgroup/cpu,cpuacct" */
	char *root;	   /* root of the mount inside the hierarchy, usually "/" */
	char *controllers; /* canonical: "cpu,cpuacct", "name=systemd", "cpu,name=x" */
	unsigned mask;	   /* controller bits; 0 for a named-only hierarchy */
	char *own;	   /* our own group there (/proc/self/cgroup), "/" if unknown */
};

struct isc_cgroup_layout {
	enum isc_cgroup_mode mode;
	struct isc_cgroup_hier *v1;
	size_t n_v1;
	char *v2_mount; /* the cgroup2 mount (v2, hybrid), else NULL */
	char *v2_root;	/* root of that mount inside the hierarchy */
	char *v2_own;	/* our own v2 group ("0::" line), "/" if unknown */
};

/* One group of a container. */
struct isc_cgroup_group {
	char *ctrl;    /* canonical v1 controllers, or "cgroup2" for the v2 group */
	unsigned mask; /* v1 controller bits (0 for v2 and named hierarchies) */
	bool v2;
	char *dir;     /* absolute directory of the leaf group */
	unsigned made; /* path components isc created, counting the leaf (0 = reused) */
};

struct isc_cgroup {
	enum isc_cgroup_mode mode;
	struct isc_cgroup_group *g;
	size_t n;
};

#define ISC_CGROUP_V2_NAME "cgroup2"

/* Split one mountinfo line.  Returns 0 and newly allocated strings
 * (mount point and root unescaped), -1 when the line is malformed. */
int isc_cgroup_parse_mountinfo_line(const char *line, char **mountpoint, char **root, char **fstype, char **super_opts);
/* Controllers named in a comma-separated list (cgroup super options, or
 * the middle field of /proc/self/cgroup); other options are ignored.
 * `canonical` (optional) receives "cpu,cpuacct[,name=X]" in kernel order. */
unsigned isc_cgroup_parse_controllers(const char *list, char **canonical);
/* Split one /proc/self/cgroup line "ID:controllers:path". */
int isc_cgroup_parse_proc_cgroup_line(const char *line, char **controllers, char **path);

/* Build the layout from the texts of /proc/self/mountinfo and
 * /proc/self/cgroup, for a mode detected by statfs. */
int isc_cgroup_layout_parse(enum isc_cgroup_mode mode, const char *mountinfo, const char *proc_cgroup,
			    struct isc_cgroup_layout **out, isc_error **err);
void isc_cgroup_layout_free(struct isc_cgroup_layout *l);
/* The layout of this machine, detected once and cached. */
int isc_cgroup_layout_get(const struct isc_cgroup_layout **out, isc_error **err);

/* Host directory of hierarchy path `path` for a mount at `mount` whose
 * root is `root`; NULL when the path is not visible through that mount. */
char *isc_cgroup_dir(const char *mount, const char *root, const char *path);

/* Controllers (bits) that `res` needs. */
unsigned isc_cgroup_res_mask(const struct isc_resources *res);

/* conversions for v2 */
uint64_t isc_cgroup_shares_to_weight(uint64_t shares);
uint64_t isc_cgroup_blkio_to_io_weight(uint64_t weight);
/* memory.swap.max from OCI memory/swap (swap = memory + swap); -1 = "max";
 * returns -1 with an error when the combination is invalid. */
int isc_cgroup_swap_v2(const struct isc_resources *res, bool *set, int64_t *out, isc_error **err);

/* small file helpers naming the file in errors */
int isc_cgroup_write(const char *dir, const char *file, const char *value, isc_error **err);
int isc_cgroup_read(const char *dir, const char *file, char **out, isc_error **err);
bool isc_cgroup_has_file(const char *dir, const char *file);
/* hugepage size "2MB" checked as [0-9]+[KMGTP]B, so it can name a file */
bool isc_cgroup_valid_pagesize(const char *s);

/* the appliers whose files v1 and v2 share: cpuset.cpus and .mems,
 * pids.max; the hugetlb limits, hugetlb.SIZE.<suffix> */
int isc_cgroup_set_cpuset(const char *dir, const struct isc_resources *res, isc_error **err);
int isc_cgroup_set_pids(const char *dir, const struct isc_resources *res, isc_error **err);
int isc_cgroup_set_hugetlb(const char *dir, const struct isc_resources *res, const char *suffix, isc_error **err);

/* cgroup-res.c: the controllers of `need` (from `res`) that the unified
 * group must serve (*v2mask); an error when the host has none for one. */
int isc_cgroup_v2_part(const struct isc_cgroup_layout *l, unsigned need, const struct isc_resources *res,
		       unsigned *v2mask, isc_error **err);
/* Write the resources into every group (create and update). */
int isc_cgroup_apply(const struct isc_cgroup *cg, const struct isc_cgroup_layout *l, const struct isc_resources *res,
		     isc_error **err);

/* cgroup.c: the container's group in the unified hierarchy, in the v1
 * hierarchy of controller `bit`, the one whose cgroup.procs (recursively)
 * lists the container, the one that pauses it; NULL when none. */
const struct isc_cgroup_group *isc_cgroup_find_v2(const struct isc_cgroup *cg);
const struct isc_cgroup_group *isc_cgroup_find_v1(const struct isc_cgroup *cg, unsigned bit);
const struct isc_cgroup_group *isc_cgroup_tracker(const struct isc_cgroup *cg);
const struct isc_cgroup_group *isc_cgroup_freezer(const struct isc_cgroup *cg);

/* cgroup-walk.c: remove the leaf `g` (with what the container made below
 * it, at any depth) and the intermediates isc made while they are empty;
 * EBUSY retried until `deadline` (isc_now_ns). */
int isc_cgroup_group_remove(const struct isc_cgroup_group *g, uint64_t deadline, isc_error **err);
int isc_cgroup_group_freeze(const struct isc_cgroup_group *g, bool frozen, isc_error **err);
bool isc_cgroup_group_frozen(const struct isc_cgroup_group *g);

/* cgroup-v1.c */
int isc_cgroup_v1_apply(const char *dir, unsigned mask, const struct isc_resources *res, isc_error **err);
/* Copy cpuset.cpus/cpuset.mems from the parent when empty (new groups). */
int isc_cgroup_v1_cpuset_fill(const char *dir, isc_error **err);
int isc_cgroup_v1_freeze(const char *dir, bool frozen, isc_error **err);
bool isc_cgroup_v1_is_frozen(const char *dir);

/* cgroup-v2.c */
int isc_cgroup_v2_apply(const char *dir, unsigned mask, const struct isc_resources *res, isc_error **err);
/* Enable `mask` and the controllers of the unified keys of `res` in the
 * cgroup.subtree_control of every ancestor of `dir` below `mount` (which
 * it never writes: a controller missing at the root is an error). */
int isc_cgroup_v2_enable(const char *mount, const char *dir, unsigned mask, const struct isc_resources *res,
			 isc_error **err);
int isc_cgroup_v2_freeze(const char *dir, bool frozen, isc_error **err);
bool isc_cgroup_v2_is_frozen(const char *dir);

#endif
