/* SPDX-License-Identifier: GPL-2.0-or-later
 * org.isc.scratch: the annotation's grammar and the id mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kernel/scratch.h"
#include "base/util.h"

static void test_defaults(void **state)
{
	(void)state;
	struct isc_scratch_opts o;
	isc_error *err = NULL;
	const char *empty[] = { "", ",", NULL };
	for (size_t i = 0; i < ARRAY_SIZE(empty); i++) {
		assert_int_equal(isc_scratch_parse(empty[i], &o, &err), 0);
		assert_int_equal(o.size, 64ULL << 20);
		assert_string_equal(o.path, "/scratch");
		assert_false(o.exec);
		isc_scratch_opts_clear(&o);
	}
}

static void test_values(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		uint64_t size;
		const char *path;
		bool exec;
	} cases[] = {
		{ "size=64M,path=/scratch", 64ULL << 20, "/scratch", false },
		{ "path=/var/tmp/x,size=1g", 1ULL << 30, "/var/tmp/x", false },
		{ "size=2048k", 2ULL << 20, "/scratch", false },
		{ "size=1048577", (1ULL << 20) + 4096, "/scratch", false }, /* rounded up to 4 KiB */
		{ "size=1024G", 1ULL << 40, "/scratch", false },
		{ "exec", 64ULL << 20, "/scratch", true },
		{ "noexec,path=//data//", 64ULL << 20, "//data//", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct isc_scratch_opts o;
		isc_error *err = NULL;
		assert_int_equal(isc_scratch_parse(cases[i].in, &o, &err), 0);
		assert_int_equal(o.size, cases[i].size);
		assert_string_equal(o.path, cases[i].path);
		assert_int_equal(o.exec, cases[i].exec);
		isc_scratch_opts_clear(&o);
	}
}

static void test_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"size=", "size=k", "size=12x", "size=-1", "size=0", "size=1023k", "size=1025g",
		"size=99999999999999999999999", "path=", "path=rel", "path=/", "path=/a/./b", "path=/a/..",
		"path=/proc", "path=/proc/x", "path=/sys/fs", "path=/dev/shm", "colour=blue", "bogus",
		"size=4m,size=8m", "path=/a,path=/b", "exec,noexec", "=4m",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct isc_scratch_opts o;
		isc_error *err = NULL;
		assert_int_equal(isc_scratch_parse(bad[i], &o, &err), -1);
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "org.isc.scratch"));
		assert_null(o.path);
		isc_error_free(&err);
	}
	/* /procfoo is not /proc */
	struct isc_scratch_opts o;
	isc_error *err = NULL;
	assert_int_equal(isc_scratch_parse("path=/procfoo", &o, &err), 0);
	isc_scratch_opts_clear(&o);
}

static void test_map_id(void **state)
{
	(void)state;
	const struct isc_idmap maps[] = { { 0, 100000, 1000 }, { 1000, 200000, 10 } };
	uint32_t out = 0;
	assert_int_equal(isc_scratch_map_id(maps, 2, 0, &out), 0);
	assert_int_equal(out, 100000);
	assert_int_equal(isc_scratch_map_id(maps, 2, 999, &out), 0);
	assert_int_equal(out, 100999);
	assert_int_equal(isc_scratch_map_id(maps, 2, 1005, &out), 0);
	assert_int_equal(out, 200005);
	assert_int_equal(isc_scratch_map_id(maps, 2, 1010, &out), -1);
	assert_int_equal(isc_scratch_map_id(NULL, 0, 42, &out), 0);
	assert_int_equal(out, 42);

	const char *text = "         0     100000      65536\n     65536     300000          1\n";
	assert_int_equal(isc_scratch_map_id_text(text, 0, &out), 0);
	assert_int_equal(out, 100000);
	assert_int_equal(isc_scratch_map_id_text(text, 65536, &out), 0);
	assert_int_equal(out, 300000);
	assert_int_equal(isc_scratch_map_id_text(text, 65537, &out), -1);
	assert_int_equal(isc_scratch_map_id_text("", 0, &out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_map_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
