/* SPDX-License-Identifier: GPL-2.0-or-later
 * Volume sources (volume.h): the walk without symbolic links, the identity
 * comparison (same boot, a new boot, a replaced source, another mount) and
 * its JSON form in the plan. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "plan/plan.h"
#include "base/util.h"
#include "plan/volume.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/isc-test-volume-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	char p[128];
	snprintf(p, sizeof(p), "%s/dir", tmpdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/dir/sub", tmpdir);
	mkdir(p, 0755);
	char l[128];
	snprintf(l, sizeof(l), "%s/link", tmpdir);
	snprintf(p, sizeof(p), "%s/dir", tmpdir);
	return symlink(p, l);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_walk_and_steps(void **state)
{
	(void)state;
	char src[128];
	snprintf(src, sizeof(src), "%s/dir/sub", tmpdir);
	struct isc_volume_path p = { .fd = -1 };
	isc_error *e = NULL;
	assert_int_equal(isc_volume_open("-v x", src, false, &p, &e), 0);
	assert_true(S_ISDIR(p.mode));
	/* "/", tmp, the test dir, dir, sub */
	assert_int_equal(p.n_steps, 5);
	struct stat dir, sub;
	char d[128];
	snprintf(d, sizeof(d), "%s/dir", tmpdir);
	assert_int_equal(stat(d, &dir), 0);
	assert_int_equal(stat(src, &sub), 0);
	assert_true(isc_volume_path_has(&p, dir.st_dev, dir.st_ino, false));
	assert_false(isc_volume_path_has(&p, sub.st_dev, sub.st_ino, false));
	assert_true(isc_volume_path_has(&p, sub.st_dev, sub.st_ino, true));
	isc_volume_path_clear(&p);
	assert_int_equal(p.fd, -1);
}

static void test_symbolic_link_refused(void **state)
{
	(void)state;
	char src[128], link[128];
	snprintf(src, sizeof(src), "%s/link/sub", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	struct isc_volume_path p = { .fd = -1 };
	isc_error *e = NULL;
	assert_int_equal(isc_volume_open("-v x", src, false, &p, &e), -1);
	char want[256];
	snprintf(want, sizeof(want), "-v x: %s is a symbolic link; a volume source is never reached through one", link);
	assert_non_null(strstr(e->msg, want));
	isc_error_free(&e);
	assert_int_equal(isc_volume_open("volume x", src, true, &p, &e), -1);
	snprintf(want, sizeof(want), "volume x: %s is now a symbolic link (to %s/dir/sub)", link, tmpdir);
	assert_non_null(strstr(e->msg, want));
	assert_non_null(strstr(e->msg, "refusing to start"));
	isc_error_free(&e);
	/* the last component too */
	assert_int_equal(isc_volume_open("-v x", link, false, &p, &e), -1);
	assert_non_null(strstr(e->msg, "is a symbolic link"));
	isc_error_free(&e);
	/* missing: errno and the path */
	snprintf(src, sizeof(src), "%s/dir/none", tmpdir);
	assert_int_equal(isc_volume_open("-v x", src, false, &p, &e), -1);
	assert_int_equal(e->errnum, ENOENT);
	isc_error_free(&e);
}

static struct isc_volume_id id_of(const char *path)
{
	struct isc_volume_path p = { .fd = -1 };
	struct isc_volume_id id = { 0 };
	isc_error *e = NULL;
	assert_int_equal(isc_volume_open("-v", path, false, &p, &e), 0);
	assert_int_equal(isc_volume_identify(p.fd, &id, &e), 0);
	isc_volume_path_clear(&p);
	return id;
}

static void test_identity_check(void **state)
{
	(void)state;
	char a[128], b[128];
	snprintf(a, sizeof(a), "%s/dir", tmpdir);
	snprintf(b, sizeof(b), "%s/dir/sub", tmpdir);
	struct isc_volume_id ia = id_of(a), ib = id_of(b), now;
	assert_true(ia.set);
	isc_error *e = NULL;
	bool refresh = true;
	now = id_of(a);
	assert_int_equal(isc_volume_id_check(&ia, &now, a, "/d", &refresh, &e), 0);
	assert_false(refresh);
	/* another object */
	assert_int_equal(isc_volume_id_check(&ia, &ib, a, "/d", &refresh, &e), -1);
	assert_non_null(strstr(e->msg, "the source is not the one recorded at `isc run`"));
	isc_error_free(&e);
	/* the same object through another mount, in this boot */
	now = ia;
	now.mnt_id++;
	assert_int_equal(isc_volume_id_check(&ia, &now, a, "/d", &refresh, &e), -1);
	assert_non_null(strstr(e->msg, "reached through another mount"));
	isc_error_free(&e);
	/* after a reboot the mount id says nothing: refreshed */
	now.boot_id[0] = now.boot_id[0] == 'a' ? 'b' : 'a';
	assert_int_equal(isc_volume_id_check(&ia, &now, a, "/d", &refresh, &e), 0);
	assert_true(refresh);
	/* but a replaced object is refused after a reboot too */
	ib.boot_id[0] = now.boot_id[0];
	assert_int_equal(isc_volume_id_check(&ia, &ib, a, "/d", &refresh, &e), -1);
	isc_error_free(&e);
}

static void test_identity_json_in_the_plan(void **state)
{
	(void)state;
	char a[128];
	snprintf(a, sizeof(a), "%s/dir", tmpdir);
	struct isc_plan p;
	memset(&p, 0, sizeof(p));
	isc_plan_clear(&p);
	p.name = isc_xstrdup("web");
	p.image = isc_xstrdup("busybox");
	p.volumes = isc_xmalloc0(sizeof(*p.volumes));
	p.volumes[0] = (struct isc_volume){ isc_xstrdup(a), isc_xstrdup("/data"), false, id_of(a) };
	p.volumes[0].id.ino = 0xfedcba9876543210ull; /* 64-bit values survive */
	p.n_volumes = 1;
	json_t *j = isc_plan_to_json(&p);
	struct isc_plan q;
	memset(&q, 0, sizeof(q));
	isc_error *e = NULL;
	assert_int_equal(isc_plan_from_json(j, &q, &e), 0);
	assert_true(q.volumes[0].id.set);
	assert_true(q.volumes[0].id.ino == p.volumes[0].id.ino);
	assert_true(q.volumes[0].id.dev == p.volumes[0].id.dev);
	assert_true(q.volumes[0].id.mnt_id == p.volumes[0].id.mnt_id);
	assert_int_equal(q.volumes[0].id.mnt_unique, p.volumes[0].id.mnt_unique);
	assert_string_equal(q.volumes[0].id.boot_id, p.volumes[0].id.boot_id);
	isc_plan_clear(&q);
	/* a plan from before identities */
	json_object_del(json_array_get(json_object_get(j, "volumes"), 0), "identity");
	assert_int_equal(isc_plan_from_json(j, &q, &e), 0);
	assert_false(q.volumes[0].id.set);
	isc_plan_clear(&q);
	/* a malformed one is refused */
	json_object_set_new(json_array_get(json_object_get(j, "volumes"), 0), "identity",
			    json_pack("{s:s}", "dev", "x"));
	assert_int_equal(isc_plan_from_json(j, &q, &e), -1);
	assert_non_null(strstr(e->msg, "\"identity\" is malformed"));
	isc_error_free(&e);
	json_decref(j);
	isc_plan_clear(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_and_steps),
		cmocka_unit_test(test_symbolic_link_refused),
		cmocka_unit_test(test_identity_check),
		cmocka_unit_test(test_identity_json_in_the_plan),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
