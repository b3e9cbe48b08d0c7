/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/cgroup-internal.h"
#include "base/util.h"

/* ---- resolve ------------------------------------------------------- */

static void check_resolve(const char *own, const char *path, const char *id, const char *want)
{
	char *got = isc_cgroup_resolve(own, path, id);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("resolve(%s, %s, %s) = %s, want NULL", own, path, id, got);
		assert_int_equal(errno, EINVAL);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_resolve(void **state)
{
	(void)state;
	check_resolve("/", NULL, "abc", "/isc-abc");
	check_resolve("/process_api/7b09", NULL, "abc", "/process_api/7b09/isc-abc");
	check_resolve("/a/b/", "x/y", "id", "/a/b/x/y");
	check_resolve("/a/b", "/libpod_parent/libpod-C", "id", "/libpod_parent/libpod-C");
	check_resolve("/a", "//x//y/", "id", "/x/y");
	check_resolve(NULL, "rel", NULL, "/rel");
	check_resolve("/a", "sys.slice:docker:x", NULL, "/a/sys.slice:docker:x");
	check_resolve("/a", "../x", "id", NULL);
	check_resolve("/a", "/x/../y", "id", NULL);
	check_resolve("/a", "x/./y", "id", NULL);
	check_resolve("/a", "x/..", "id", NULL);
	check_resolve("/a", "/", "id", NULL);
	check_resolve("/a", "///", "id", NULL);
	check_resolve("/a", "", "id", NULL);
	check_resolve("/a", NULL, NULL, NULL);
	check_resolve("/a", NULL, "", NULL);
}

static void test_dir(void **state)
{
	(void)state;
	char *d = isc_cgroup_dir("/sys/fs/cgroup/pids", "/", "/isc-x");
	assert_string_equal(d, "/sys/fs/cgroup/pids/isc-x");
	free(d);
	d = isc_cgroup_dir("/sys/fs/cgroup/memory", "/docker/c1", "/docker/c1/isc-x");
	assert_string_equal(d, "/sys/fs/cgroup/memory/isc-x");
	free(d);
	assert_null(isc_cgroup_dir("/m", "/docker/c1", "/docker/c10/isc-x"));
	assert_null(isc_cgroup_dir("/m", "/docker", "/other"));
}

/* ---- parsers ------------------------------------------------------- */

static void test_controllers(void **state)
{
	(void)state;
	char *c = NULL;
	assert_int_equal(isc_cgroup_parse_controllers("rw,cpuacct,cpu", &c), ISC_CGROUP_CPU | ISC_CGROUP_CPUACCT);
	assert_string_equal(c, "cpu,cpuacct");
	free(c);
	assert_int_equal(isc_cgroup_parse_controllers("rw,xattr,release_agent=/lib/systemd/x,name=systemd", &c), 0);
	assert_string_equal(c, "name=systemd");
	free(c);
	assert_int_equal(isc_cgroup_parse_controllers("net_prio,net_cls", &c), ISC_CGROUP_NET_CLS | ISC_CGROUP_NET_PRIO);
	assert_string_equal(c, "net_cls,net_prio");
	free(c);
	assert_int_equal(isc_cgroup_parse_controllers("rw,nsdelegate", &c), 0);
	assert_string_equal(c, "");
	free(c);
	assert_int_equal(isc_cgroup_controller_bit("io"), ISC_CGROUP_BLKIO);
	assert_int_equal(isc_cgroup_controller_bit("blkio"), ISC_CGROUP_BLKIO);
	assert_int_equal(isc_cgroup_controller_bit("nope"), 0);
	assert_string_equal(isc_cgroup_controller_name(ISC_CGROUP_BLKIO, true), "io");
	assert_null(isc_cgroup_controller_name(ISC_CGROUP_DEVICES, true));
}

static void test_mountinfo_line(void **state)
{
	(void)state;
	char *mnt, *root, *fs, *opts;
	assert_int_equal(isc_cgroup_parse_mountinfo_line(
				 "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct",
				 &mnt, &root, &fs, &opts),
			 0);
	assert_string_equal(mnt, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(root, "/");
	assert_string_equal(fs, "cgroup");
	assert_string_equal(opts, "rw,cpu,cpuacct");
	free(mnt), free(root), free(fs), free(opts);
	/* no optional fields, escaped space */
	assert_int_equal(isc_cgroup_parse_mountinfo_line("41 31 0:38 /a\\040b /mnt/x\\040y rw - cgroup2 cgroup2 rw\n",
							 &mnt, &root, &fs, &opts),
			 0);
	assert_string_equal(mnt, "/mnt/x y");
	assert_string_equal(root, "/a b");
	assert_string_equal(fs, "cgroup2");
	assert_string_equal(opts, "rw");
	free(mnt), free(root), free(fs), free(opts);
	assert_int_equal(isc_cgroup_parse_mountinfo_line("41 31 0:38 / /x rw cgroup2", &mnt, &root, &fs, &opts), -1);
	assert_int_equal(isc_cgroup_parse_mountinfo_line("", &mnt, &root, &fs, &opts), -1);
}

static void test_proc_cgroup_line(void **state)
{
	(void)state;
	char *c, *p;
	assert_int_equal(isc_cgroup_parse_proc_cgroup_line("4:memory:/process_api/7b09\n", &c, &p), 0);
	assert_string_equal(c, "memory");
	assert_string_equal(p, "/process_api/7b09");
	free(c), free(p);
	assert_int_equal(isc_cgroup_parse_proc_cgroup_line("0::/user.slice/a:b", &c, &p), 0);
	assert_string_equal(c, "");
	assert_string_equal(p, "/user.slice/a:b");
	free(c), free(p);
	assert_int_equal(isc_cgroup_parse_proc_cgroup_line("garbage", &c, &p), -1);
	assert_int_equal(isc_cgroup_parse_proc_cgroup_line("1:cpu:", &c, &p), -1);
}

static const struct isc_cgroup_hier *hier(const struct isc_cgroup_layout *l, const char *ctrl)
{
	for (size_t i = 0; i < l->n_v1; i++)
		if (strcmp(l->v1[i].controllers, ctrl) == 0)
			return &l->v1[i];
	fail_msg("no hierarchy %s", ctrl);
	return NULL;
}

/* this machine */
static const char hybrid_mi[] = "23 1 8:0 / / rw - ext4 /dev/vda rw\n"
				"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
				"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
				"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
				"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
				"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
				"36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
				"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
				"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
				"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
				"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
				"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_pc[] = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
				"4:memory:/process_api/7b09\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

static void test_layout_hybrid(void **state)
{
	(void)state;
	struct isc_cgroup_layout *l = NULL;
	isc_error *err = NULL;
	assert_int_equal(isc_cgroup_layout_parse(ISC_CGROUP_HYBRID, hybrid_mi, hybrid_pc, &l, &err), 0);
	assert_int_equal(l->n_v1, 9);
	assert_string_equal(l->v2_mount, "/sys/fs/cgroup/unified");
	assert_string_equal(l->v2_own, "/");
	assert_string_equal(hier(l, "memory")->own, "/process_api/7b09");
	assert_string_equal(hier(l, "memory")->mount, "/sys/fs/cgroup/memory");
	assert_string_equal(hier(l, "pids")->own, "/");
	assert_int_equal(hier(l, "name=systemd")->mask, 0);
	assert_string_equal(hier(l, "name=systemd")->mount, "/sys/fs/cgroup/systemd");
	isc_cgroup_layout_free(l);
}

/* systemd-style v1: co-mounted controllers, a second (bind) mount of a subtree */
static const char v1_mi[] =
	"25 20 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup "
	"rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
	"29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:13 - cgroup cgroup rw,cpuacct,cpu\n"
	"30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw shared:14 - cgroup cgroup rw,net_cls,net_prio\n"
	"31 25 0:28 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
	"32 25 0:29 / /sys/fs/cgroup/pids rw shared:16 - cgroup cgroup rw,pids\n"
	"90 80 0:28 /docker/abc /mnt/mem rw - cgroup cgroup rw,memory\n";
static const char v1_pc[] = "12:pids:/user.slice/user-0.slice/session-1.scope\n"
			    "4:memory:/user.slice\n"
			    "3:net_cls,net_prio:/\n"
			    "2:cpu,cpuacct:/user.slice\n"
			    "1:name=systemd:/user.slice/user-0.slice/session-1.scope\n";

static void test_layout_v1_comounted(void **state)
{
	(void)state;
	struct isc_cgroup_layout *l = NULL;
	isc_error *err = NULL;
	assert_int_equal(isc_cgroup_layout_parse(ISC_CGROUP_V1, v1_mi, v1_pc, &l, &err), 0);
	assert_int_equal(l->n_v1, 5);
	assert_null(l->v2_mount);
	const struct isc_cgroup_hier *h = hier(l, "cpu,cpuacct");
	assert_string_equal(h->mount, "/sys/fs/cgroup/cpu,cpuacct");
	assert_int_equal(h->mask, ISC_CGROUP_CPU | ISC_CGROUP_CPUACCT);
	assert_string_equal(h->own, "/user.slice");
	assert_string_equal(hier(l, "net_cls,net_prio")->own, "/");
	assert_string_equal(hier(l, "memory")->mount, "/sys/fs/cgroup/memory"); /* not the subtree bind */
	assert_string_equal(hier(l, "memory")->root, "/");
	assert_string_equal(hier(l, "pids")->own, "/user.slice/user-0.slice/session-1.scope");
	assert_string_equal(hier(l, "name=systemd")->own, "/user.slice/user-0.slice/session-1.scope");
	isc_cgroup_layout_free(l);
}

static void test_layout_v2(void **state)
{
	(void)state;
	struct isc_cgroup_layout *l = NULL;
	isc_error *err = NULL;
	const char mi[] = "25 20 0:22 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
			  "26 20 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";
	const char pc[] = "0::/user.slice/user-1000.slice/session-2.scope\n";
	assert_int_equal(isc_cgroup_layout_parse(ISC_CGROUP_V2, mi, pc, &l, &err), 0);
	assert_int_equal(l->n_v1, 0);
	assert_string_equal(l->v2_mount, "/sys/fs/cgroup");
	assert_string_equal(l->v2_own, "/user.slice/user-1000.slice/session-2.scope");
	isc_cgroup_layout_free(l);
	/* v2 mode without a cgroup2 mount */
	assert_int_equal(isc_cgroup_layout_parse(ISC_CGROUP_V2, "1 0 0:1 / / rw - ext4 x rw\n", pc, &l, &err), -1);
	assert_non_null(err);
	isc_error_free(&err);
}

/* ---- conversions --------------------------------------------------- */

static void test_conversions(void **state)
{
	(void)state;
	assert_int_equal(isc_cgroup_shares_to_weight(0), 0);
	assert_int_equal(isc_cgroup_shares_to_weight(2), 1);
	assert_int_equal(isc_cgroup_shares_to_weight(1024), 39);
	assert_int_equal(isc_cgroup_shares_to_weight(262144), 10000);
	assert_int_equal(isc_cgroup_shares_to_weight(1u << 30), 10000);
	assert_int_equal(isc_cgroup_blkio_to_io_weight(10), 1);
	assert_int_equal(isc_cgroup_blkio_to_io_weight(500), 4950);
	assert_int_equal(isc_cgroup_blkio_to_io_weight(1000), 10000);

	struct isc_resources r = { 0 };
	int64_t out = 0;
	bool set = true;
	isc_error *err = NULL;
	assert_int_equal(isc_cgroup_swap_v2(&r, &set, &out, &err), 0);
	assert_false(set);
	r.has_memory_swap = true;
	r.memory_swap = -1;
	assert_int_equal(isc_cgroup_swap_v2(&r, &set, &out, &err), 0);
	assert_true(set);
	assert_int_equal(out, -1);
	r.memory_swap = 300;
	assert_int_equal(isc_cgroup_swap_v2(&r, &set, &out, &err), -1); /* no memory limit */
	assert_non_null(strstr(err->msg, "memory.swap"));
	isc_error_free(&err);
	r.has_memory_limit = true;
	r.memory_limit = 100;
	assert_int_equal(isc_cgroup_swap_v2(&r, &set, &out, &err), 0);
	assert_true(set);
	assert_int_equal(out, 200);
	r.memory_limit = 400;
	assert_int_equal(isc_cgroup_swap_v2(&r, &set, &out, &err), -1);
	isc_error_free(&err);

	assert_true(isc_cgroup_valid_pagesize("2MB"));
	assert_true(isc_cgroup_valid_pagesize("1GB"));
	assert_false(isc_cgroup_valid_pagesize("MB"));
	assert_false(isc_cgroup_valid_pagesize("2MB/../x"));
	assert_false(isc_cgroup_valid_pagesize("2mb"));
	assert_false(isc_cgroup_valid_pagesize(NULL));

	struct isc_resources m = { 0 };
	assert_int_equal(isc_cgroup_res_mask(&m), 0);
	m.has_pids_limit = true;
	m.cpu_cpus = (char *)"0";
	assert_int_equal(isc_cgroup_res_mask(&m), ISC_CGROUP_PIDS | ISC_CGROUP_CPUSET);
	assert_int_equal(isc_cgroup_res_mask(NULL), 0);
}

/* ---- state form ---------------------------------------------------- */

static void test_serialize(void **state)
{
	(void)state;
	const char *text = "{\"mode\":\"hybrid\",\"groups\":[[\"cpu,cpuacct\",\"/sys/fs/cgroup/cpu,cpuacct/isc-x\",1],"
			   "[\"name=systemd\",\"/sys/fs/cgroup/systemd/a b/isc-x\",2],"
			   "[\"cgroup2\",\"/sys/fs/cgroup/unified/isc-x\",1]]}";
	struct isc_cgroup *cg = NULL;
	isc_error *err = NULL;
	assert_int_equal(isc_cgroup_deserialize(text, &cg, &err), 0);
	assert_int_equal(cg->mode, ISC_CGROUP_HYBRID);
	assert_int_equal(cg->n, 3);
	assert_int_equal(cg->g[0].mask, ISC_CGROUP_CPU | ISC_CGROUP_CPUACCT);
	assert_false(cg->g[0].v2);
	assert_int_equal(cg->g[1].made, 2);
	assert_true(cg->g[2].v2);
	char *s = isc_cgroup_serialize(cg);
	assert_string_equal(s, text);
	assert_null(strchr(s, '\n'));
	struct isc_cgroup *cg2 = NULL;
	assert_int_equal(isc_cgroup_deserialize(s, &cg2, &err), 0);
	char *s2 = isc_cgroup_serialize(cg2);
	assert_string_equal(s, s2);
	free(s), free(s2);
	isc_cgroup_free(cg);
	isc_cgroup_free(cg2);

	const char *bad[] = {
		"",
		"[]",
		"{\"mode\":\"v3\",\"groups\":[]}",
		"{\"mode\":\"v2\",\"groups\":[[\"cgroup2\",\"relative\",1]]}",
		"{\"mode\":\"v2\",\"groups\":[[\"cgroup2\",\"/sys/fs/cgroup/../etc\",1]]}",
		"{\"mode\":\"v2\",\"groups\":[[\"cgroup2\",\"/x\",-1]]}",
		"{\"mode\":\"v2\",\"groups\":{}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cg = NULL;
		if (isc_cgroup_deserialize(bad[i], &cg, &err) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(err);
		isc_error_free(&err);
	}
}

/* ---- real groups (root only) --------------------------------------- */

static bool gone(const struct isc_cgroup *cg)
{
	struct stat st;
	for (size_t i = 0; i < cg->n; i++)
		if (stat(cg->g[i].dir, &st) == 0)
			return false;
	return true;
}

static void test_real_pids(void **state)
{
	(void)state;
	enum isc_cgroup_mode mode;
	isc_error *err = NULL;
	if (geteuid() != 0 || isc_cgroup_mode(&mode, &err) < 0) {
		isc_error_free(&err);
		skip();
	}
	char id[64];
	snprintf(id, sizeof(id), "test-%d", (int)getpid());
	struct isc_device_rule rules[] = {
		{ .allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm" },
		{ .allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm" },
		{ .allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rw" },
	};
	struct isc_resources res = {
		.has_pids_limit = true,
		.pids_limit = 5,
		.has_memory_limit = true,
		.memory_limit = 64 << 20,
		.has_memory_swap = true,
		.memory_swap = 64 << 20,
		.has_cpu_shares = true,
		.cpu_shares = 512,
		.has_cpu_quota = true,
		.cpu_quota = 50000,
		.has_cpu_period = true,
		.cpu_period = 100000,
		.cpu_cpus = (char *)"0",
		.devices = rules,
		.n_devices = sizeof(rules) / sizeof(rules[0]),
	};
	struct isc_cgroup *cg = NULL;
	if (isc_cgroup_create(NULL, id, &res, true, &cg, &err) < 0)
		fail_msg("create: %s (%d)", err->msg, err->errnum);
	assert_non_null(cg);

	/* the limit is in place */
	const struct isc_cgroup_group *pg = NULL;
	for (size_t i = 0; i < cg->n; i++)
		if ((cg->g[i].mask & ISC_CGROUP_PIDS) || (cg->g[i].v2 && mode == ISC_CGROUP_V2))
			pg = &cg->g[i];
	assert_non_null(pg);
	char *v = NULL;
	assert_int_equal(isc_cgroup_read(pg->dir, "pids.max", &v, &err), 0);
	assert_string_equal(v, "5\n");
	free(v);

	/* a forked child tries to fork 10 more */
	int go[2], report[2];
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(report, O_CLOEXEC), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(100);
		int ok = 0;
		for (int i = 0; i < 10; i++) {
			pid_t p = fork();
			if (p == 0) {
				pause();
				_exit(0);
			}
			if (p > 0)
				ok++;
		}
		unsigned char n = (unsigned char)ok;
		if (write(report[1], &n, 1) != 1)
			_exit(101);
		pause();
		_exit(0);
	}
	if (isc_cgroup_attach(cg, child, &err) < 0)
		fail_msg("attach: %s (%d)", err->msg, err->errnum);
	assert_int_equal(write(go[1], "x", 1), 1);
	unsigned char forked = 0;
	assert_int_equal(read(report[0], &forked, 1), 1);
	assert_int_equal(forked, 4); /* the child itself + 4 = pids.max */

	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(isc_cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 5);
	free(pids);

	/* pause and resume */
	if (isc_cgroup_freeze(cg, true, &err) < 0)
		fail_msg("freeze: %s (%d)", err->msg, err->errnum);
	if (isc_cgroup_freeze(cg, false, &err) < 0)
		fail_msg("thaw: %s (%d)", err->msg, err->errnum);

	/* update, then the state form round trip drives destroy */
	struct isc_resources upd = { .has_pids_limit = true, .pids_limit = 0 };
	if (isc_cgroup_update(cg, &upd, &err) < 0)
		fail_msg("update: %s (%d)", err->msg, err->errnum);
	assert_int_equal(isc_cgroup_read(pg->dir, "pids.max", &v, &err), 0);
	assert_string_equal(v, "max\n");
	free(v);

	char *s = isc_cgroup_serialize(cg);
	struct isc_cgroup *cg2 = NULL;
	assert_int_equal(isc_cgroup_deserialize(s, &cg2, &err), 0);
	free(s);
	if (isc_cgroup_destroy(cg2, &err) < 0)
		fail_msg("destroy: %s (%d)", err->msg, err->errnum);
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(gone(cg));
	/* destroy is idempotent */
	assert_int_equal(isc_cgroup_destroy(cg2, &err), 0);
	isc_cgroup_free(cg2);
	isc_cgroup_free(cg);
	close(go[0]), close(go[1]), close(report[0]), close(report[1]);
}

/* A failure half-way leaves nothing: a bad value in the last controller. */
static void test_real_rollback(void **state)
{
	(void)state;
	enum isc_cgroup_mode mode;
	isc_error *err = NULL;
	if (geteuid() != 0 || isc_cgroup_mode(&mode, &err) < 0) {
		isc_error_free(&err);
		skip();
	}
	char path[64];
	snprintf(path, sizeof(path), "isc-test-%d/nested/leaf", (int)getpid());
	struct isc_resources res = { .has_pids_limit = true, .pids_limit = 5, .cpu_mems = (char *)"999" };
	struct isc_cgroup *cg = NULL;
	assert_int_equal(isc_cgroup_create(path, "x", &res, true, &cg, &err), -1);
	assert_null(cg);
	assert_non_null(strstr(err->msg, "cpuset.mems"));
	isc_error_free(&err);
	/* nothing is left in any hierarchy */
	const struct isc_cgroup_layout *l;
	assert_int_equal(isc_cgroup_layout_get(&l, &err), 0);
	for (size_t i = 0; i < l->n_v1; i++) {
		char *rel = isc_cgroup_resolve(l->v1[i].own, path, "x");
		char *dir = isc_cgroup_dir(l->v1[i].mount, l->v1[i].root, rel);
		char *top = strstr(dir, "/isc-test-");
		top[strcspn(top + 1, "/") + 1] = '\0';
		struct stat st;
		if (stat(dir, &st) == 0)
			fail_msg("%s left behind", dir);
		free(rel), free(dir);
	}

	if (mode == ISC_CGROUP_HYBRID) {
		/* hugetlb lives in the unified hierarchy here; the root does not delegate it */
		char *ctl = NULL;
		assert_int_equal(isc_cgroup_read(l->v2_mount, "cgroup.subtree_control", &ctl, &err), 0);
		bool delegated = strstr(ctl, "hugetlb") != NULL;
		free(ctl);
		struct isc_kv hp = { .key = (char *)"2MB", .value = (char *)"0" };
		struct isc_resources h = { .hugepage_limits = &hp, .n_hugepage_limits = 1 };
		if (!delegated && strcmp(l->v2_own, "/") == 0) {
			char id[64];
			snprintf(id, sizeof(id), "test-hp-%d", (int)getpid());
			assert_int_equal(isc_cgroup_create(NULL, id, &h, true, &cg, &err), -1);
			assert_non_null(strstr(err->msg, "cgroup.subtree_control"));
			isc_error_free(&err);
		}
	}
}

/* No directory below `dir` (no other group is visible). */
static bool no_subdirs(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return false;
	bool none = true;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			none = false;
	closedir(d);
	return none;
}

/* The container's view: fresh cgroup mounts in new cgroup + mount
 * namespaces (own_ns), or binds of its own groups without a cgroup
 * namespace, show the container's own group as the root. */
static int mount_child(const char *target, const struct isc_cgroup_layout *l, bool own_ns)
{
	isc_error *err = NULL;
	if (unshare(CLONE_NEWNS | (own_ns ? CLONE_NEWCGROUP : 0)) < 0)
		return 10;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 11;
	int tfd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return 19;
	if (isc_cgroup_mount(tfd, target, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, own_ns, &err) < 0) {
		fprintf(stderr, "isc_cgroup_mount: %s (%d)\n", err->msg, err->errnum);
		return 12;
	}
	char *v = NULL;
	char *dir = isc_xasprintf("%s/%s", target, l->mode == ISC_CGROUP_V2 ? "" : "pids");
	if (isc_cgroup_read(dir, "pids.max", &v, &err) < 0 || strcmp(v, "7\n") != 0)
		return 13;
	free(v);
	free(dir);
	if (l->mode == ISC_CGROUP_V1 || l->mode == ISC_CGROUP_HYBRID) {
		char *x = isc_xasprintf("%s/newdir", target);
		if (mkdir(x, 0755) == 0 || errno != EROFS)
			return 14;
		free(x);
		/* no sub-groups visible: we are the root of the view */
		char *procs = NULL;
		dir = isc_xasprintf("%s/freezer", target);
		if (isc_cgroup_read(dir, "cgroup.procs", &procs, &err) < 0)
			return 15;
		free(procs);
		if (isc_cgroup_has_file(dir, "freezer.state") == false) /* non-root groups have it */
			return 16;
		free(dir);
		dir = isc_xasprintf("%s/memory", target);
		if (!isc_cgroup_has_file(dir, "memory.usage_in_bytes") || !no_subdirs(dir))
			return 18;
		free(dir);
	}
	if (l->mode == ISC_CGROUP_HYBRID) {
		dir = isc_xasprintf("%s/unified", target);
		if (!isc_cgroup_has_file(dir, "cgroup.procs"))
			return 17;
		free(dir);
	}
	return 0;
}

static void real_mount(bool own_ns)
{
	enum isc_cgroup_mode mode;
	isc_error *err = NULL;
	if (geteuid() != 0 || isc_cgroup_mode(&mode, &err) < 0) {
		isc_error_free(&err);
		skip();
	}
	const struct isc_cgroup_layout *l;
	assert_int_equal(isc_cgroup_layout_get(&l, &err), 0);
	char id[64];
	snprintf(id, sizeof(id), "test-mnt-%d", (int)getpid());
	struct isc_resources res = { .has_pids_limit = true, .pids_limit = 7 };
	struct isc_cgroup *cg = NULL;
	if (isc_cgroup_create(NULL, id, &res, true, &cg, &err) < 0)
		fail_msg("create: %s (%d)", err->msg, err->errnum);
	char target[] = "/tmp/isc-test-cgmnt-XXXXXX";
	assert_non_null(mkdtemp(target));
	int go[2];
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(100);
		_exit(mount_child(target, l, own_ns));
	}
	if (isc_cgroup_attach(cg, child, &err) < 0)
		fail_msg("attach: %s (%d)", err->msg, err->errnum);
	assert_int_equal(write(go[1], "x", 1), 1);
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	close(go[0]), close(go[1]);
	rmdir(target);
	assert_int_equal(isc_cgroup_destroy(cg, &err), 0);
	assert_true(gone(cg));
	isc_cgroup_free(cg);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_real_mount(void **state)
{
	(void)state;
	real_mount(true);
}

static void test_real_mount_bind(void **state)
{
	(void)state;
	real_mount(false);
}

/* The v2 paths (cgroup.freeze, cgroup.events, cgroup.kill) on a group of
 * the unified hierarchy, driven through a "v2" state line. */
static void test_real_v2_core(void **state)
{
	(void)state;
	enum isc_cgroup_mode mode;
	isc_error *err = NULL;
	if (geteuid() != 0 || isc_cgroup_mode(&mode, &err) < 0 || mode == ISC_CGROUP_V1) {
		isc_error_free(&err);
		skip();
	}
	const struct isc_cgroup_layout *l;
	assert_int_equal(isc_cgroup_layout_get(&l, &err), 0);
	char *rel = isc_xasprintf("%s/isc-test-v2-%d", strcmp(l->v2_own, "/") ? l->v2_own : "", (int)getpid());
	char *dir = isc_cgroup_dir(l->v2_mount, l->v2_root, rel);
	assert_non_null(dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	char *text = isc_xasprintf("{\"mode\":\"v2\",\"groups\":[[\"cgroup2\",\"%s\",1]]}", dir);
	struct isc_cgroup *cg = NULL;
	assert_int_equal(isc_cgroup_deserialize(text, &cg, &err), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		for (;;)
			pause();
	}
	if (isc_cgroup_attach(cg, child, &err) < 0)
		fail_msg("attach: %s", err->msg);
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(isc_cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], child);
	free(pids);
	if (isc_cgroup_freeze(cg, true, &err) < 0)
		fail_msg("freeze: %s", err->msg);
	assert_true(isc_cgroup_v2_is_frozen(dir));
	if (isc_cgroup_freeze(cg, false, &err) < 0)
		fail_msg("thaw: %s", err->msg);
	assert_false(isc_cgroup_v2_is_frozen(dir));
	assert_int_equal(isc_cgroup_kill_all(cg, SIGTERM, &err), 0);
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	/* a v2 controller the root does not delegate is an error naming the file */
	if (strcmp(l->v2_own, "/") == 0) {
		char *ctl = NULL;
		assert_int_equal(isc_cgroup_read(l->v2_mount, "cgroup.subtree_control", &ctl, &err), 0);
		if (strstr(ctl, "pids") == NULL) {
			assert_int_equal(isc_cgroup_v2_enable(l->v2_mount, dir, ISC_CGROUP_PIDS, NULL, &err), -1);
			assert_non_null(strstr(err->msg, "cgroup.subtree_control"));
			isc_error_free(&err);
		}
		free(ctl);
	}
	assert_int_equal(isc_cgroup_destroy(cg, &err), 0);
	assert_true(gone(cg));
	isc_cgroup_free(cg);
	free(text), free(dir), free(rel);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_controllers),
		cmocka_unit_test(test_mountinfo_line),
		cmocka_unit_test(test_proc_cgroup_line),
		cmocka_unit_test(test_layout_hybrid),
		cmocka_unit_test(test_layout_v1_comounted),
		cmocka_unit_test(test_layout_v2),
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_serialize),
		cmocka_unit_test(test_real_pids),
		cmocka_unit_test(test_real_rollback),
		cmocka_unit_test(test_real_mount),
		cmocka_unit_test(test_real_mount_bind),
		cmocka_unit_test(test_real_v2_core),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
