/* SPDX-License-Identifier: GPL-2.0-or-later
 * Mount option parsing: flags, clears, propagation, bind, data string. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "spec/spec.h"
#include "base/util.h"

static int parse(const char *const *opts, struct isc_mount *m, isc_error **err)
{
	memset(m, 0, sizeof(*m));
	return isc_mount_parse_options((char **)opts, m, err);
}

static void test_flags(void **state)
{
	(void)state;
	struct isc_mount m;
	isc_error *err = NULL;
	static const struct {
		const char *opt;
		unsigned long set, clear;
	} cases[] = {
		{ "ro", MS_RDONLY, 0 },          { "rw", 0, MS_RDONLY },
		{ "nosuid", MS_NOSUID, 0 },      { "suid", 0, MS_NOSUID },
		{ "nodev", MS_NODEV, 0 },        { "dev", 0, MS_NODEV },
		{ "noexec", MS_NOEXEC, 0 },      { "exec", 0, MS_NOEXEC },
		{ "sync", MS_SYNCHRONOUS, 0 },   { "async", 0, MS_SYNCHRONOUS },
		{ "dirsync", MS_DIRSYNC, 0 },    { "remount", MS_REMOUNT, 0 },
		{ "mand", MS_MANDLOCK, 0 },      { "nomand", 0, MS_MANDLOCK },
		{ "noatime", MS_NOATIME, 0 },    { "atime", 0, MS_NOATIME },
		{ "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
		{ "relatime", MS_RELATIME, 0 },  { "norelatime", 0, MS_RELATIME },
		{ "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
		{ "nosymfollow", MS_NOSYMFOLLOW, 0 }, { "defaults", 0, 0 },
		{ "idmap", 0, 0 },               { "ridmap", 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *opts[] = { cases[i].opt, NULL };
		assert_int_equal(parse(opts, &m, &err), 0);
		assert_int_equal(m.flags, cases[i].set);
		assert_int_equal(m.clear_flags, cases[i].clear);
		assert_int_equal(m.propagation, 0);
		assert_false(m.bind);
		assert_null(m.data);
	}
}

static void test_last_wins(void **state)
{
	(void)state;
	struct isc_mount m;
	isc_error *err = NULL;
	const char *a[] = { "ro", "rw", NULL };
	assert_int_equal(parse(a, &m, &err), 0);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.clear_flags, MS_RDONLY);
	const char *b[] = { "rw", "ro", "nosuid", "nodev", "noexec", NULL };
	assert_int_equal(parse(b, &m, &err), 0);
	assert_int_equal(m.flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	assert_int_equal(m.clear_flags, 0);
	const char *c[] = { "shared", "rslave", NULL };
	assert_int_equal(parse(c, &m, &err), 0);
	assert_int_equal(m.propagation, MS_SLAVE | MS_REC);
}

static void test_propagation(void **state)
{
	(void)state;
	static const struct {
		const char *opt;
		unsigned long prop;
	} cases[] = {
		{ "private", MS_PRIVATE },         { "rprivate", MS_PRIVATE | MS_REC },
		{ "shared", MS_SHARED },           { "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },             { "rslave", MS_SLAVE | MS_REC },
		{ "unbindable", MS_UNBINDABLE },   { "runbindable", MS_UNBINDABLE | MS_REC },
	};
	struct isc_mount m;
	isc_error *err = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *opts[] = { cases[i].opt, NULL };
		assert_int_equal(parse(opts, &m, &err), 0);
		assert_int_equal(m.propagation, cases[i].prop);
		assert_int_equal(m.flags, 0);
	}
}

static void test_bind_and_extensions(void **state)
{
	(void)state;
	struct isc_mount m;
	isc_error *err = NULL;
	const char *a[] = { "bind", NULL };
	assert_int_equal(parse(a, &m, &err), 0);
	assert_true(m.bind);
	assert_false(m.recursive);
	const char *b[] = { "rbind", "ro", "rro", NULL };
	assert_int_equal(parse(b, &m, &err), 0);
	assert_true(m.bind);
	assert_true(m.recursive);
	assert_true(m.rro);
	assert_int_equal(m.flags, MS_RDONLY);
	const char *c[] = { "tmpcopyup", "mode=755", NULL };
	assert_int_equal(parse(c, &m, &err), 0);
	assert_true(m.tmpcopyup);
	assert_string_equal(m.data, "mode=755");
	free(m.data);
}

static void test_data(void **state)
{
	(void)state;
	struct isc_mount m;
	isc_error *err = NULL;
	const char *a[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	assert_int_equal(parse(a, &m, &err), 0);
	assert_int_equal(m.flags, MS_NOSUID | MS_STRICTATIME);
	assert_string_equal(m.data, "mode=755,size=65536k");
	free(m.data);

	const char *b[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL };
	assert_int_equal(parse(b, &m, &err), 0);
	assert_int_equal(m.flags, MS_NOSUID | MS_NOEXEC);
	assert_string_equal(m.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");

	/* a second parse replaces the data string */
	const char *c[] = { "ro", NULL };
	assert_int_equal(isc_mount_parse_options((char **)c, &m, &err), 0);
	assert_null(m.data);

	/* no options at all */
	memset(&m, 0, sizeof(m));
	assert_int_equal(isc_mount_parse_options(NULL, &m, &err), 0);
	assert_int_equal(m.flags, 0);
	assert_null(m.data);
	const char *d[] = { NULL };
	assert_int_equal(parse(d, &m, &err), 0);
	assert_null(m.data);
}

static void test_errors(void **state)
{
	(void)state;
	struct isc_mount m;
	isc_error *err = NULL;
	const char *a[] = { "ro", "", NULL };
	assert_int_equal(parse(a, &m, &err), -1);
	assert_string_equal(err->msg, "option 1: empty mount option");
	isc_error_free(&err);

	const char *b[] = { "size=1k,mode=0", NULL };
	assert_int_equal(parse(b, &m, &err), -1);
	assert_non_null(strstr(err->msg, "\"size=1k,mode=0\""));
	isc_error_free(&err);

	static const char *const rejected[] = { "rnosuid", "rrw", "rnodev", "rnoexec", "rnoatime", "rnosymfollow" };
	for (size_t i = 0; i < ARRAY_SIZE(rejected); i++) {
		const char *c[] = { rejected[i], NULL };
		assert_int_equal(parse(c, &m, &err), -1);
		assert_non_null(strstr(err->msg, rejected[i]));
		assert_null(m.data);
		isc_error_free(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_last_wins),
		cmocka_unit_test(test_propagation),
		cmocka_unit_test(test_bind_and_extensions),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
