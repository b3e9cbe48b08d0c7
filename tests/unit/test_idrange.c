/* SPDX-License-Identifier: GPL-2.0-or-later
 * Id ranges: the allocation rules of the machine-wide table (pure), and an
 * idmapped mount of a scratch directory (when run as root). */
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

#include "host/idmap.h"
#include "host/idrange-internal.h"
#include "base/util.h"

static void alloc_is_stable_and_unique(void **state)
{
	(void)state;
	json_t *t = json_object();
	isc_error *e = NULL;
	uint32_t a, b, c, a2;
	assert_int_equal(isc_idrange_table_alloc(t, "/r1", "web", &a, &e), 0);
	assert_int_equal(a, ISC_IDRANGE_FIRST);
	/* same name, other root: another range (labs never share) */
	assert_int_equal(isc_idrange_table_alloc(t, "/r2", "web", &b, &e), 0);
	assert_int_equal(b, ISC_IDRANGE_FIRST + ISC_IDRANGE_SIZE);
	assert_int_equal(isc_idrange_table_alloc(t, "/r1", "db", &c, &e), 0);
	assert_int_equal(c, ISC_IDRANGE_FIRST + 2 * ISC_IDRANGE_SIZE);
	/* the same (root, name) gets its base back, nothing added */
	assert_int_equal(isc_idrange_table_alloc(t, "/r1", "web", &a2, &e), 0);
	assert_int_equal(a2, a);
	assert_int_equal(json_array_size(json_object_get(t, "ranges")), 3);
	/* a freed slot is reused by the next allocation */
	assert_int_equal(isc_idrange_table_free(t, "/r2", "web"), 1);
	assert_int_equal(isc_idrange_table_free(t, "/r2", "web"), 0);
	uint32_t d;
	assert_int_equal(isc_idrange_table_alloc(t, "/r3", "x", &d, &e), 0);
	assert_int_equal(d, b);
	/* free every range of a root */
	assert_int_equal(isc_idrange_table_free(t, "/r1", NULL), 2);
	assert_int_equal(json_array_size(json_object_get(t, "ranges")), 1);
	json_decref(t);
}

static void region_bounds(void **state)
{
	(void)state;
	/* above shadow's default SUB_UID_MAX, below 2^31 */
	assert_true(ISC_IDRANGE_FIRST > 600100000u);
	assert_true(ISC_IDRANGE_END <= 0x80000000u);
	assert_int_equal((ISC_IDRANGE_END - ISC_IDRANGE_FIRST) % ISC_IDRANGE_SIZE, 0);
}

static void table_full_and_malformed(void **state)
{
	(void)state;
	isc_error *e = NULL;
	uint32_t b;
	json_t *t = json_object();
	json_t *ranges = json_array();
	for (uint32_t k = 0; k < ISC_IDRANGE_SLOTS; k++)
		json_array_append_new(ranges, json_pack("{s:s, s:s, s:I}", "root", "/r", "name", "n", "base",
							(json_int_t)(ISC_IDRANGE_FIRST + k * ISC_IDRANGE_SIZE)));
	json_object_set_new(t, "ranges", ranges);
	assert_int_equal(isc_idrange_table_alloc(t, "/r", "new", &b, &e), -1);
	assert_int_equal(e->errnum, ENOSPC);
	isc_error_free(&e);
	json_decref(t);

	static const char *const bad[] = {
		"{\"ranges\": {}}",
		"{\"ranges\": [{\"root\": \"/r\", \"name\": \"n\"}]}",
		"{\"ranges\": [{\"root\": \"/r\", \"name\": \"n\", \"base\": 5}]}",
		"{\"ranges\": [{\"root\": \"/r\", \"name\": \"n\", \"base\": 1073741825}]}",
		"{\"ranges\": [{\"root\": 1, \"name\": \"n\", \"base\": 1073741824}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = json_loads(bad[i], 0, NULL);
		assert_non_null(t);
		assert_int_equal(isc_idrange_table_alloc(t, "/r", "x", &b, &e), -1);
		assert_int_equal(e->errnum, EINVAL);
		isc_error_free(&e);
		json_decref(t);
	}
	t = json_array();
	assert_int_equal(isc_idrange_table_alloc(t, "/r", "x", &b, &e), -1);
	isc_error_free(&e);
	json_decref(t);
}

/* The machine-wide table itself (root only: it lives in /var/lib/isc). */
static void machine_table(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char r1[] = "/tmp/isc-test-idrange-XXXXXX", r2[] = "/tmp/isc-test-idrange-XXXXXX";
	assert_non_null(mkdtemp(r1));
	assert_non_null(mkdtemp(r2));
	isc_error *e = NULL;
	uint32_t a, b, c, a2;
	assert_int_equal(isc_idrange_alloc(r1, "web", &a, &e), 0);
	assert_int_equal(isc_idrange_alloc(r2, "web", &b, &e), 0);
	assert_int_equal(isc_idrange_alloc(r1, "db", &c, &e), 0);
	assert_true(a != b && a != c && b != c);
	assert_true(a >= ISC_IDRANGE_FIRST && a < ISC_IDRANGE_END && (a - ISC_IDRANGE_FIRST) % ISC_IDRANGE_SIZE == 0);
	/* the same (root, name) gets the same base, also by another spelling of the root */
	char *alias = isc_xasprintf("%s/../%s", r1, strrchr(r1, '/') + 1);
	assert_int_equal(isc_idrange_alloc(alias, "web", &a2, &e), 0);
	assert_int_equal(a2, a);
	assert_int_equal(isc_idrange_free(r1, "web", &e), 0);
	assert_int_equal(isc_idrange_free(r1, "web", &e), 0); /* idempotent */
	assert_int_equal(isc_idrange_free_root(r1, &e), 0);
	assert_int_equal(isc_idrange_free_root(r2, &e), 0);
	/* nothing of either root is left in the table */
	char *text = NULL;
	size_t len;
	assert_int_equal(isc_read_file("/var/lib/isc/.idranges.json", &text, &len, 0, &e), 0);
	assert_null(strstr(text, r1));
	assert_null(strstr(text, r2));
	struct stat st;
	assert_int_equal(stat("/var/lib/isc/.idranges.json", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(isc_idrange_alloc("", "x", &a, &e), -1);
	assert_int_equal(e->errnum, EINVAL);
	isc_error_free(&e);
	free(text);
	free(alias);
	rmdir(r1);
	rmdir(r2);
}

static void idmapped_mount(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char dir[] = "/tmp/isc-test-idmap-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *src = isc_xasprintf("%s/src", dir), *dst = isc_xasprintf("%s/dst", dir);
	char *f = isc_xasprintf("%s/file", src), *g = isc_xasprintf("%s/file", dst);
	assert_int_equal(mkdir(src, 0755), 0);
	int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chown(f, 0, 0), 0);
	isc_error *e = NULL;
	uint32_t base = ISC_IDRANGE_FIRST + 7 * ISC_IDRANGE_SIZE;
	assert_int_equal(isc_idmap_mount(src, dst, base, base + 1, ISC_IDRANGE_SIZE, true, &e), 0);
	struct stat st;
	assert_int_equal(stat(g, &st), 0);
	assert_int_equal(st.st_uid, base);
	assert_int_equal(st.st_gid, base + 1);
	/* read-only: nothing can be created through it */
	char *h = isc_xasprintf("%s/new", dst);
	assert_int_equal(open(h, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);
	/* the source is unchanged */
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(isc_idmap_umount(dst, &e), 0);
	assert_int_equal(stat(g, &st), -1);
	/* nothing mounted any more: still success */
	assert_int_equal(isc_idmap_umount(dst, &e), 0);
	/* a bad range is refused before anything is created */
	assert_int_equal(isc_idmap_mount(src, dst, UINT32_MAX - 5, 0, 65536, true, &e), -1);
	assert_int_equal(e->errnum, EINVAL);
	isc_error_free(&e);
	unlink(f);
	rmdir(src);
	rmdir(dst);
	rmdir(dir);
	free(src), free(dst), free(f), free(g), free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alloc_is_stable_and_unique),
		cmocka_unit_test(region_bounds),
		cmocka_unit_test(table_full_and_malformed),
		cmocka_unit_test(machine_table),
		cmocka_unit_test(idmapped_mount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
