/* SPDX-License-Identifier: GPL-2.0-or-later
 * The error convention: set, wrap, text, move. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base/error.h"

static void set_returns_minus_one_and_keeps_errno(void **state)
{
	(void)state;
	isc_error *e = NULL;
	assert_int_equal(isc_error_set(&e, EACCES, "mount %s", "/data"), -1);
	assert_non_null(e);
	assert_int_equal(e->errnum, EACCES);
	assert_string_equal(e->msg, "mount /data");
	char buf[256];
	assert_string_equal(isc_error_text(e, buf, sizeof(buf)), "mount /data: Permission denied");
	isc_error_free(&e);
	assert_null(e);
}

static void wrap_adds_context_and_keeps_errno(void **state)
{
	(void)state;
	isc_error *e = NULL;
	isc_error_set(&e, ENOENT, "open %s", "/x");
	assert_int_equal(isc_error_wrap(&e, "cgroup %s", "pids"), -1);
	assert_int_equal(isc_error_wrap(&e, "create"), -1);
	char buf[256];
	assert_string_equal(isc_error_text(e, buf, sizeof(buf)), "create: cgroup pids: open /x: No such file or directory");
	isc_error_free(&e);
}

static void wrap_without_error_is_never_silent(void **state)
{
	(void)state;
	isc_error *e = NULL;
	assert_int_equal(isc_error_wrap(&e, "context"), -1);
	assert_non_null(e);
	assert_int_equal(e->errnum, EIO);
	isc_error_free(&e);
}

static void errnum_zero_prints_message_only(void **state)
{
	(void)state;
	isc_error *e = NULL;
	isc_error_set(&e, 0, "container not running");
	char buf[64];
	assert_string_equal(isc_error_text(e, buf, sizeof(buf)), "container not running");
	/* a second set replaces the first without leaking */
	isc_error_set(&e, EPERM, "again");
	assert_string_equal(isc_error_text(e, buf, sizeof(buf)), "again: Operation not permitted");
	isc_error_free(&e);
}

static void move_transfers_ownership(void **state)
{
	(void)state;
	isc_error *a = NULL, *b = NULL;
	isc_error_set(&a, EINVAL, "a");
	isc_error_set(&b, EPERM, "b");
	isc_error_move(&b, &a);
	assert_null(a);
	assert_string_equal(b->msg, "a");
	isc_error_free(&b);
	char buf[16];
	assert_string_equal(isc_error_text(NULL, buf, sizeof(buf)), "unknown error");
	/* NULL err pointer: callers that do not care */
	assert_int_equal(isc_error_set(NULL, EPERM, "x"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_returns_minus_one_and_keeps_errno),
		cmocka_unit_test(wrap_adds_context_and_keeps_errno),
		cmocka_unit_test(wrap_without_error_is_never_silent),
		cmocka_unit_test(errnum_zero_prints_message_only),
		cmocka_unit_test(move_transfers_ownership),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
