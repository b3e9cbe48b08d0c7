/* SPDX-License-Identifier: GPL-2.0-or-later
 * SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"

static void check_hex(const void *data, size_t len, const char *expect)
{
	unsigned char d[32];
	char hex[65];
	isc_sha256(data, len, d);
	isc_sha256_hex(d, hex);
	assert_string_equal(hex, expect);
}

static void test_empty(void **state)
{
	(void)state;
	check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_abc(void **state)
{
	(void)state;
	check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_448_bits(void **state)
{
	(void)state;
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check_hex(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_896_bits(void **state)
{
	(void)state;
	const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
			"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	check_hex(m, strlen(m), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
	(void)state;
	char *m = malloc(1000000);
	assert_non_null(m);
	memset(m, 'a', 1000000);
	check_hex(m, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	/* the same fed in odd-sized pieces */
	struct isc_sha256 s;
	unsigned char d[32];
	char hex[65];
	isc_sha256_init(&s);
	size_t off = 0, step = 1;
	while (off < 1000000) {
		size_t n = step;
		if (n > 1000000 - off)
			n = 1000000 - off;
		isc_sha256_update(&s, m + off, n);
		off += n;
		step = step * 7 % 191 + 1; /* 1..191, crossing block boundaries at odd places */
	}
	isc_sha256_final(&s, d);
	isc_sha256_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}

/* Every length 0..200 hashed at once and byte by byte must agree: covers the
 * padding edge cases (55, 56, 63, 64 bytes). */
static void test_pieces_agree(void **state)
{
	(void)state;
	unsigned char data[200], a[32], b[32];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31 + 7);
	for (size_t len = 0; len <= sizeof(data); len++) {
		isc_sha256(data, len, a);
		struct isc_sha256 s;
		isc_sha256_init(&s);
		for (size_t i = 0; i < len; i++)
			isc_sha256_update(&s, data + i, 1);
		isc_sha256_update(&s, data, 0);
		isc_sha256_final(&s, b);
		assert_memory_equal(a, b, 32);
	}
}

static void test_two_pieces(void **state)
{
	(void)state;
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	size_t len = strlen(m);
	for (size_t cut = 0; cut <= len; cut++) {
		struct isc_sha256 s;
		unsigned char d[32];
		char hex[65];
		isc_sha256_init(&s);
		isc_sha256_update(&s, m, cut);
		isc_sha256_update(&s, m + cut, len - cut);
		isc_sha256_final(&s, d);
		isc_sha256_hex(d, hex);
		assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_abc),
		cmocka_unit_test(test_448_bits),
		cmocka_unit_test(test_896_bits),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_pieces_agree),
		cmocka_unit_test(test_two_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
