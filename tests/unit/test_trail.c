/* SPDX-License-Identifier: GPL-2.0-or-later
 * The audit trail: HMAC vectors, the chain, seals, and every kind of
 * tampering isc audit verify must name (docs/audit.md). */
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/sha256.h"
#include "audit/trail.h"
#include "base/util.h"

static char dir[256];
static char key[ISC_TRAIL_KEY_HEX];

static void hex_of(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void hmac_rfc4231(void **state)
{
	(void)state;
	/* RFC 4231 test case 2 */
	unsigned char out[32];
	char hex[65];
	isc_hmac_sha256((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, out);
	hex_of(out, 32, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* test case 1: key = 20 x 0x0b, "Hi There" */
	unsigned char k[20];
	memset(k, 0x0b, sizeof(k));
	isc_hmac_sha256(k, 20, "Hi There", 8, out);
	hex_of(out, 32, hex);
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* test case 6: a key longer than the block */
	unsigned char big[131];
	memset(big, 0xaa, sizeof(big));
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	isc_hmac_sha256(big, sizeof(big), m, strlen(m), out);
	hex_of(out, 32, hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* A fresh trail: 3 records in epoch 0, seal, 3 in the next epoch, seal, 3 more (open epoch). */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/isc-test-trail-XXXXXX");
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/audit");
	isc_error *e = NULL;
	struct isc_trail_options o = { .epoch_seconds = 3600 };
	assert_int_equal(isc_trail_create(dir, &o, key, &e), 0);
	struct isc_trail *t = NULL;
	assert_int_equal(isc_trail_open(dir, &t, &e), 0);
	time_t now = time(NULL);
	for (int ep = 0; ep < 3; ep++) {
		for (int i = 0; i < 3; i++) {
			json_t *r = json_pack("{s:s,s:[s,s,i],s:s}", "type", "exec", "argv", "/bin/echo", "hello", i,
					      "container", "web");
			assert_int_equal(isc_trail_append(t, r, &e), 0);
			json_decref(r);
		}
		if (ep < 2)
			assert_int_equal(isc_trail_tick(t, now + 3600 * (ep + 1) + 5, &e), 0);
		assert_int_equal(isc_trail_flush(t, &e), 0);
	}
	isc_trail_close(t);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	*strrchr(dir, '/') = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static char *trail_path(void)
{
	return isc_xasprintf("%s/trail.jsonl", dir);
}

/* the file's lines */
static char **lines(size_t *n)
{
	cleanup_free char *p = trail_path();
	char *data = NULL;
	size_t len;
	assert_int_equal(isc_read_file(p, &data, &len, 0, NULL), 0);
	char **v = isc_xmalloc0(sizeof(char *) * 64);
	*n = 0;
	for (char *s = data, *nl; (nl = strchr(s, '\n')); s = nl + 1)
		v[(*n)++] = strndup(s, (size_t)(nl - s));
	free(data);
	return v;
}

static void put_lines(char **v, size_t n)
{
	cleanup_free char *p = trail_path();
	FILE *f = fopen(p, "we");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", v[i]);
	fclose(f);
}

static void verify_expect(const char *k, bool intact, uint64_t bad)
{
	struct isc_trail_report r;
	isc_error *e = NULL;
	assert_int_equal(isc_trail_verify(dir, k, &r, &e), 0);
	if (r.intact != intact || (!intact && r.first_bad_seq != bad))
		fprintf(stderr, "verify: intact=%d bad=%llu problem=%s\n", r.intact,
			(unsigned long long)r.first_bad_seq, r.problem ? r.problem : "");
	assert_int_equal(r.intact, intact);
	if (!intact)
		assert_int_equal(r.first_bad_seq, bad);
	isc_trail_report_clear(&r);
}

static void untouched_verifies(void **state)
{
	(void)state;
	struct isc_trail_report r;
	isc_error *e = NULL;
	assert_int_equal(isc_trail_verify(dir, key, &r, &e), 0);
	assert_true(r.intact);
	assert_true(r.macs_checked);
	/* trail-start + 9 records + 2 seals */
	assert_int_equal(r.records, 12);
	assert_int_equal(r.seals, 2);
	isc_trail_report_clear(&r);
	verify_expect(NULL, true, 0);
}

static void wrong_key_is_named(void **state)
{
	(void)state;
	char other[65];
	memset(other, 'a', 64);
	other[64] = 0;
	verify_expect(other, false, 0);
	struct isc_trail_report r;
	isc_error *e = NULL;
	assert_int_equal(isc_trail_verify(dir, "xyz", &r, &e), -1);
	isc_error_free(&e);
}

static void byte_changed(void **state)
{
	(void)state;
	size_t n;
	char **v = lines(&n);
	/* record 5: "hello" -> "hellp" */
	char *p = strstr(v[5], "hello");
	assert_non_null(p);
	p[4] = 'p';
	put_lines(v, n);
	verify_expect(key, false, 5);
	verify_expect(NULL, false, 5);
	isc_strvfree(v);
}

static void record_deleted(void **state)
{
	(void)state;
	size_t n;
	char **v = lines(&n);
	free(v[3]);
	memmove(&v[3], &v[4], (n - 4 + 1) * sizeof(char *));
	put_lines(v, n - 1);
	verify_expect(key, false, 3);
	isc_strvfree(v);
}

static void records_swapped(void **state)
{
	(void)state;
	size_t n;
	char **v = lines(&n);
	char *t = v[6];
	v[6] = v[7];
	v[7] = t;
	put_lines(v, n);
	verify_expect(key, false, 6);
	verify_expect(NULL, false, 6);
	isc_strvfree(v);
}

static void tail_cut(void **state)
{
	(void)state;
	size_t n;
	char **v = lines(&n);
	put_lines(v, n - 2); /* the last two records of the open epoch */
	verify_expect(key, false, n - 2);
	verify_expect(NULL, false, n - 2);
	isc_strvfree(v);
}

static void reopen_after_cut_keeps_evidence(void **state)
{
	(void)state;
	size_t n;
	char **v = lines(&n);
	put_lines(v, n - 2);
	isc_error *e = NULL;
	struct isc_trail *t = NULL;
	assert_int_equal(isc_trail_open(dir, &t, &e), 0);
	assert_int_equal(isc_trail_flush(t, &e), 0);
	isc_trail_close(t);
	/* the hole stays a hole: the writer carried on after it */
	verify_expect(key, false, n - 2);
	size_t m;
	char **w = lines(&m);
	assert_non_null(strstr(w[m - 1], "\"type\":\"tamper\""));
	isc_strvfree(w);
	isc_strvfree(v);
}

static void partial_line_is_cut_on_open(void **state)
{
	(void)state;
	cleanup_free char *p = trail_path();
	int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"seq\":12,\"epo", 14), 14);
	close(fd);
	isc_error *e = NULL;
	struct isc_trail *t = NULL;
	assert_int_equal(isc_trail_open(dir, &t, &e), 0);
	json_t *r = json_pack("{s:s}", "type", "admin");
	assert_int_equal(isc_trail_append(t, r, &e), 0);
	json_decref(r);
	assert_int_equal(isc_trail_flush(t, &e), 0);
	isc_trail_close(t);
	verify_expect(key, true, 0);
}

/* a line being appended while verify reads is not a bad record */
static void line_in_flight_is_not_tampering(void **state)
{
	(void)state;
	cleanup_free char *p = trail_path();
	int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"seq\":12,\"epo", 14), 14);
	close(fd);
	verify_expect(key, true, 0);
	/* ... and the summary says it was left out (issue 14) */
	struct isc_trail_report r;
	isc_error *e = NULL;
	assert_int_equal(isc_trail_verify(dir, key, &r, &e), 0);
	assert_non_null(r.note);
	cleanup_free char *want = isc_xasprintf("the last line of %s (14 bytes) has no newline: a record being written, "
						"or cut by a crash; not checked", p);
	assert_string_equal(r.note, want);
	isc_trail_report_clear(&r);
}

/* issue 14: an empty trail is named as such, with no errno text; emptied
 * under a sealing state, it is a bad trail */
static void empty_trail_is_named(void **state)
{
	(void)state;
	cleanup_free char *p = trail_path();
	int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	struct isc_trail_report r;
	isc_error *e = NULL;
	assert_int_equal(isc_trail_verify(dir, key, &r, &e), 0);
	assert_false(r.intact);
	assert_int_equal(r.first_bad_seq, 0);
	assert_non_null(strstr(r.problem, "the trail has no records, but the sealing state counts 12: they were removed"));
	isc_trail_report_clear(&r);
	/* no sealing state either: nothing to verify yet */
	cleanup_free char *st = isc_xasprintf("%s/seal.state", dir);
	assert_int_equal(unlink(st), 0);
	assert_int_equal(isc_trail_verify(dir, key, &r, &e), -1);
	char buf[512];
	cleanup_free char *want = isc_xasprintf("trail %s: empty: no records to verify yet", dir);
	assert_string_equal(isc_error_text(e, buf, sizeof(buf)), want);
	isc_error_free(&e);
	isc_trail_report_clear(&r);
}

/* The attacker has root now: he holds the current key (seal.state) and
 * rewrites a record of a sealed epoch, recomputing the chain from there on
 * and every MAC he can compute: with the current key. */
static void sealed_epoch_rewritten(void **state)
{
	(void)state;
	size_t n;
	char **v = lines(&n);
	cleanup_free char *sp = isc_xasprintf("%s/seal.state", dir);
	json_t *st = json_load_file(sp, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(st);
	unsigned char cur[32];
	const char *kh = json_string_value(json_object_get(st, "key"));
	for (int i = 0; i < 32; i++)
		sscanf(kh + 2 * i, "%2hhx", &cur[i]);
	json_decref(st);
	/* record 2 is in epoch 0 (sealed) */
	char *p = strstr(v[2], "hello");
	assert_non_null(p);
	memcpy(p, "HELLO", 5);
	unsigned char prev[32];
	/* hash of record 1 as written */
	char *h1 = strstr(v[1], ",\"hash\":\"") + 9;
	for (int i = 0; i < 32; i++)
		sscanf(h1 + 2 * i, "%2hhx", &prev[i]);
	for (size_t i = 2; i < n; i++) {
		size_t len = strlen(v[i]);
		size_t blen = len - (9 + 64 + 9 + 64 + 2);
		struct isc_sha256 s;
		isc_sha256_init(&s);
		isc_sha256_update(&s, prev, 32);
		isc_sha256_update(&s, v[i], blen);
		isc_sha256_update(&s, "}", 1);
		isc_sha256_final(&s, prev);
		unsigned char mac[32];
		isc_hmac_sha256(cur, 32, prev, 32, mac);
		char hh[65], mh[65];
		hex_of(prev, 32, hh);
		hex_of(mac, 32, mh);
		v[i][blen] = 0;
		char *nl = isc_xasprintf("%s,\"hash\":\"%s\",\"mac\":\"%s\"}", v[i], hh, mh);
		free(v[i]);
		v[i] = nl;
	}
	put_lines(v, n);
	/* patch the state's hash too, as a thorough attacker would */
	{
		char hh[65];
		hex_of(prev, 32, hh);
		char *data = NULL;
		size_t len;
		assert_int_equal(isc_read_file(sp, &data, &len, 0, NULL), 0);
		char *hp = strstr(data, "\"hash\":\"") + 8;
		memcpy(hp, hh, 64);
		assert_int_equal(isc_write_file(sp, data, len, NULL), 0);
		free(data);
	}
	/* the chain alone cannot tell ... */
	verify_expect(NULL, true, 0);
	/* ... the seals of the past epochs can */
	verify_expect(key, false, 2);
	isc_strvfree(v);
}

static void rotation_and_retention(void **state)
{
	(void)state;
	char d[64];
	snprintf(d, sizeof(d), "/tmp/isc-test-rot-XXXXXX");
	assert_non_null(mkdtemp(d));
	cleanup_free char *td = isc_xasprintf("%s/audit", d);
	char k[ISC_TRAIL_KEY_HEX];
	isc_error *e = NULL;
	struct isc_trail_options o = { .epoch_seconds = 3600, .rotate_bytes = 2000, .keep_files = 2 };
	assert_int_equal(isc_trail_create(td, &o, k, &e), 0);
	struct isc_trail *t = NULL;
	assert_int_equal(isc_trail_open(td, &t, &e), 0);
	for (int i = 0; i < 60; i++) {
		json_t *r = json_pack("{s:s,s:i}", "type", "exec", "i", i);
		assert_int_equal(isc_trail_append(t, r, &e), 0);
		json_decref(r);
		if (i % 5 == 4)
			assert_int_equal(isc_trail_flush(t, &e), 0);
	}
	isc_trail_close(t);
	char **files = NULL;
	assert_int_equal(isc_trail_files(td, &files, &e), 0);
	assert_int_equal(isc_strvlen(files), 3); /* 2 kept + trail.jsonl */
	isc_strvfree(files);
	struct isc_trail_report r;
	assert_int_equal(isc_trail_verify(td, k, &r, &e), 0);
	assert_true(r.intact);
	assert_true(r.first_seq > 0);
	assert_non_null(r.note);
	isc_trail_report_clear(&r);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
	assert_int_equal(system(cmd), 0);
}

static void create_twice_fails(void **state)
{
	(void)state;
	char k[ISC_TRAIL_KEY_HEX];
	isc_error *e = NULL;
	assert_int_equal(isc_trail_create(dir, NULL, k, &e), -1);
	assert_int_equal(e->errnum, EEXIST);
	isc_error_free(&e);
	struct stat sb;
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hmac_rfc4231),
		cmocka_unit_test_setup_teardown(untouched_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_key_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(byte_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(record_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(records_swapped, setup, teardown),
		cmocka_unit_test_setup_teardown(tail_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_after_cut_keeps_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(partial_line_is_cut_on_open, setup, teardown),
		cmocka_unit_test_setup_teardown(line_in_flight_is_not_tampering, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_trail_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(sealed_epoch_rewritten, setup, teardown),
		cmocka_unit_test_setup_teardown(create_twice_fails, setup, teardown),
		cmocka_unit_test(rotation_and_retention),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
