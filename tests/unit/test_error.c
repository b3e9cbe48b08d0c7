/* SPDX-License-Identifier: GPL-2.0-or-later
 * The error convention: set, wrap, text, move. */
#include <errno.h>
#include <stdbool.h>
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

/* true when s is well-formed UTF-8 (no cut character) */
static bool utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		int n = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1 : (*u & 0xF0) == 0xE0 ? 2 : (*u & 0xF8) == 0xF0 ? 3 : -1;
		if (n < 0)
			return false;
		u++;
		for (int i = 0; i < n; i++, u++)
			if ((*u & 0xC0) != 0x80)
				return false;
	}
	return true;
}

/* issue 14: a long message is cut in its middle, at character boundaries,
 * with a marker; the start, the first failure's step/path and the errno
 * text stay */
static void long_text_is_cut_in_the_middle(void **state)
{
	(void)state;
	/* "é" is two bytes, "€" three: every cut position is tried */
	for (int shift = 0; shift < 3; shift++) {
		char path[6000] = "/";
		for (size_t i = 1 + (size_t)shift; i + 4 < sizeof(path); i += 5)
			memcpy(path + i - shift, i % 2 ? "\xc3\xa9\xe2\x82\xac" : "\xe2\x82\xac\xc3\xa9", 5);
		path[sizeof(path) - 1 - shift] = '\0';
		isc_error *e = NULL;
		isc_error_set(&e, EACCES, "mount %s", path);
		isc_error_wrap(&e, "create container c1");
		char buf[4096];
		const char *t = isc_error_text(e, buf, sizeof(buf));
		assert_true(strlen(t) < sizeof(buf));
		assert_true(strlen(t) > sizeof(buf) - 64);
		assert_true(utf8_valid(t));
		assert_true(strncmp(t, "create container c1: mount /", 28) == 0);
		assert_non_null(strstr(t, " bytes cut ...] "));
		const char *end = ": Permission denied";
		assert_string_equal(t + strlen(t) - strlen(end), end);
		isc_error_free(&e);
	}
	/* what fits is untouched; an exact fit too */
	char small[8];
	assert_string_equal(isc_text_fit(small, sizeof(small), "1234567", 7), "1234567");
	/* no room for a marker: the head, never half a character */
	assert_string_equal(isc_text_fit(small, sizeof(small), "abcdef\xc3\xa9z", 9), "abcdef");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_returns_minus_one_and_keeps_errno),
		cmocka_unit_test(wrap_adds_context_and_keeps_errno),
		cmocka_unit_test(wrap_without_error_is_never_silent),
		cmocka_unit_test(errnum_zero_prints_message_only),
		cmocka_unit_test(move_transfers_ownership),
		cmocka_unit_test(long_text_is_cut_in_the_middle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
