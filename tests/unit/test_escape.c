/* SPDX-License-Identifier: GPL-2.0-or-later
 * escape.c: what the text views print of bytes a service chose.  Exact
 * outputs: every control byte and invalid byte visible, valid UTF-8 text
 * kept, the JSON form still JSON with the same value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "base/escape.h"

static void check(const char *in, size_t len, const char *want)
{
	char *got = isc_escape_n(in, len);
	assert_non_null(got);
	assert_string_equal(got, want);
	/* never a control byte (but tab, which only moves forward) or DEL in the result */
	for (const char *p = got; *p; p++)
		assert_true(((unsigned char)*p >= 0x20 || *p == '\t') && (unsigned char)*p != 0x7f);
	free(got);
}

#define CHECK(lit, want) check(lit, sizeof(lit) - 1, want)

static void printable_text_is_kept(void **state)
{
	(void)state;
	CHECK("", "");
	CHECK("/usr/bin/env -i PATH=/bin sh -c 'echo hi'", "/usr/bin/env -i PATH=/bin sh -c 'echo hi'");
	/* valid UTF-8 stays readable: Latin, CJK, an emoji (4 bytes) */
	CHECK("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
}

static void controls_are_escaped(void **state)
{
	(void)state;
	/* the forgery of the issue: clear the screen, return, a forged line */
	CHECK("x\x1b[2J\r\n1 fake exec", "x\\x1b[2J\\r\\n1 fake exec");
	CHECK("a\tb", "a\tb"); /* a tab is kept: it moves only forward */
	CHECK("\x07\x08\x7f", "\\x07\\x08\\x7f");
	/* a NUL inside the counted bytes is shown, not a terminator */
	CHECK("a\0b", "a\\x00b");
	/* the backslash itself: "\x1b" typed by the service is not an ESC */
	CHECK("\\x1b", "\\\\x1b");
	CHECK("\\", "\\\\");
}

static void invalid_utf8_is_escaped_bytewise(void **state)
{
	(void)state;
	CHECK("\xff\xfe", "\\xff\\xfe");
	CHECK("\x80", "\\x80");                  /* lone continuation byte */
	CHECK("\xc0\xaf", "\\xc0\\xaf");         /* overlong '/' */
	CHECK("\xe0\x80\xaf", "\\xe0\\x80\\xaf"); /* overlong, 3 bytes */
	CHECK("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a UTF-16 surrogate */
	CHECK("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
	CHECK("ok\xe2\x82", "ok\\xe2\\x82");     /* cut at the end */
	CHECK("\xc3(", "\\xc3(");                /* cut by ASCII */
}

static void invisible_characters_are_escaped(void **state)
{
	(void)state;
	CHECK("\xc2\x9b" "2J", "\\u{009b}2J");             /* C1 CSI */
	CHECK("\xc2\x85", "\\u{0085}");                    /* NEL */
	CHECK("abc\xe2\x80\xaetxt.exe", "abc\\u{202e}txt.exe"); /* RLO */
	CHECK("\xe2\x80\xa8", "\\u{2028}");                /* line separator */
	CHECK("\xe2\x81\xa6x\xe2\x81\xa9", "\\u{2066}x\\u{2069}"); /* isolates */
	CHECK("a\xe2\x80\x8b" "b", "a\\u{200b}b");         /* zero-width space */
	CHECK("\xef\xbb\xbf", "\\u{feff}");
	CHECK("\xf3\xa0\x80\x81", "\\u{e0001}");           /* a tag character */
	CHECK("\xc2\xa0", "\xc2\xa0");                     /* NBSP is printable */
}

static void null_and_default(void **state)
{
	(void)state;
	assert_null(isc_escape(NULL));
	char *d = isc_escape_or(NULL, "-");
	assert_string_equal(d, "-");
	free(d);
	char *e = isc_escape_or("a\nb", "-");
	assert_string_equal(e, "a\\nb");
	free(e);
}

/* worst cases fill the buffer exactly: no overflow (ASan would see it) */
static void worst_case_sizes(void **state)
{
	(void)state;
	char in[64];
	memset(in, 0x1b, sizeof(in));
	char *e = isc_escape_n(in, sizeof(in));
	assert_int_equal(strlen(e), sizeof(in) * 4);
	free(e);
	for (size_t i = 0; i < sizeof(in); i += 2)
		in[i] = (char)0xc2, in[i + 1] = (char)0x80;
	e = isc_escape_n(in, sizeof(in));
	assert_int_equal(strlen(e), sizeof(in) * 4);
	free(e);
	memset(in, 0x01, sizeof(in));
	e = isc_escape_json_n(in, sizeof(in));
	assert_int_equal(strlen(e), sizeof(in) * 6);
	free(e);
}

static void json_stays_json(void **state)
{
	(void)state;
	/* a string as jansson writes it: C0 escaped, DEL, C1, RLO and a tag raw */
	const char *raw = "arg\x7f-\xc2\x9b-\xe2\x80\xae-\xf3\xa0\x80\x81-\xc3\xa9";
	json_t *v = json_pack("{s:s}", "a", raw);
	assert_non_null(v);
	char *text = json_dumps(v, JSON_COMPACT);
	char *safe = isc_escape_json(text);
	assert_string_equal(safe, "{\"a\":\"arg\\u007f-\\u009b-\\u202e-\\udb40\\udc01-\xc3\xa9\"}");
	/* the same value once parsed */
	json_t *back = json_loads(safe, 0, NULL);
	assert_non_null(back);
	assert_string_equal(json_string_value(json_object_get(back, "a")), raw);
	json_decref(back);
	json_decref(v);
	free(text);
	free(safe);
	/* indented JSON keeps its newlines and tabs; raw ESC or CR (a corrupt
	 * line) and invalid UTF-8 never pass */
	char *s2 = isc_escape_json("{\n\t\"a\": 1}\x1b\r\xff");
	assert_string_equal(s2, "{\n\t\"a\": 1}\\u001b\\u000d\\ufffd");
	free(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(printable_text_is_kept),
		cmocka_unit_test(controls_are_escaped),
		cmocka_unit_test(invalid_utf8_is_escaped_bytewise),
		cmocka_unit_test(invisible_characters_are_escaped),
		cmocka_unit_test(null_and_default),
		cmocka_unit_test(worst_case_sizes),
		cmocka_unit_test(json_stays_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
