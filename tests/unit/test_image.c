/* SPDX-License-Identifier: GPL-2.0-or-later
 * Image manifests: the line format, its parser, the Merkle root (known
 * answers computed independently with Python's hashlib, RFC 6962 tree
 * hash), path cleaning, and a round trip through a real tree. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "base/sha256.h"
#include "base/util.h"

#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_A "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define L1 "/ d 0755 0 0 0 -\n"
#define L2 "/a f 0644 0 0 3 " SHA_ABC "\n"
#define L3 "/b l 0777 0 0 1 " SHA_A "\n"

static void test_line_format(void **state)
{
	(void)state;
	struct isc_image_entry e = { .path = (char *)"/a", .type = 'f', .mode = 04755, .uid = 1000, .gid = 7,
				     .size = 3, .digest = SHA_ABC };
	char *l = isc_image_manifest_line(&e);
	assert_string_equal(l, "/a f 4755 1000 7 3 " SHA_ABC);
	free(l);
	struct isc_image_entry d = { .path = (char *)"/a b\\c\n\x7f\xc3\xa9", .type = 'd', .mode = 0700, .digest = "-" };
	l = isc_image_manifest_line(&d);
	assert_string_equal(l, "/a\\x20b\\x5cc\\x0a\\x7f\xc3\xa9 d 0700 0 0 0 -");
	struct isc_image_entry back;
	isc_error *err = NULL;
	assert_int_equal(isc_image_manifest_parse_line(l, strlen(l), &back, &err), 0);
	assert_string_equal(back.path, d.path);
	assert_int_equal(back.type, 'd');
	assert_int_equal(back.mode, 0700);
	isc_image_entry_clear(&back);
	free(l);
}

static void test_line_parse_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"/a f 0644 0 0 3",                                  /* 6 fields */
		"/a f 0644 0 0 3 " SHA_ABC " x",                    /* 8 fields */
		"a f 0644 0 0 3 " SHA_ABC,                          /* relative */
		"/a/../b f 0644 0 0 3 " SHA_ABC,                    /* .. */
		"/a/ f 0644 0 0 3 " SHA_ABC,                        /* trailing / */
		"//a f 0644 0 0 3 " SHA_ABC,                        /* empty component */
		"/a x 0644 0 0 3 " SHA_ABC,                         /* type */
		"/a f 644 0 0 3 " SHA_ABC,                          /* mode digits */
		"/a f 0648 0 0 3 " SHA_ABC,                         /* not octal */
		"/a f 0644 01 0 3 " SHA_ABC,                        /* leading zero */
		"/a f 0644 0 0 -3 " SHA_ABC,                        /* sign */
		"/a f 0644 0 0 3 " SHA_ABC "0",                     /* digest length */
		"/a f 0644 0 0 3 BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
		"/a f 0644 0 0 3 -",                                /* file without digest */
		"/a d 0755 0 0 0 " SHA_ABC,                         /* dir with digest */
		"/a d 0755 0 0 4 -",                                /* dir with size */
		"/ f 0644 0 0 3 " SHA_ABC,                          /* root not a dir */
		"/a\\x41 d 0755 0 0 0 -",                           /* needless escape */
		"/a\\x0 d 0755 0 0 0 -",                            /* short escape */
		"/a\\x00 d 0755 0 0 0 -",                           /* NUL */
		"/a f 0644 4294967296 0 3 " SHA_ABC,                /* uid range */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct isc_image_entry e;
		isc_error *err = NULL;
		if (isc_image_manifest_parse_line(bad[i], strlen(bad[i]), &e, &err) == 0)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_non_null(err);
		isc_error_free(&err);
	}
}

static void root_of(const char *text, char hex[65])
{
	isc_error *err = NULL;
	assert_int_equal(isc_image_manifest_root(text, strlen(text), hex, &err), 0);
	assert_null(err);
}

static void test_merkle_known_answers(void **state)
{
	(void)state;
	char hex[65];
	root_of(L1, hex);
	assert_string_equal(hex, "92632e2b7ecfbf9e69fe7cc50ccdeea6cc18452bc47b3dd7b6c925a7ef51cf1e");
	root_of(L1 L2, hex);
	assert_string_equal(hex, "143ca412de9357312f6ffeee786e133ca1b00f83e652fa3b18f43831e44cae27");
	root_of(L1 L2 L3, hex);
	assert_string_equal(hex, "eb66f52adefd2ee497aff3de4f3d2c8cfe50e15a78d3d0104a146abd5092f84a");
	char text[4096] = L1;
	for (int i = 0; i < 6; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "/f%02d f 0644 0 0 0 " SHA_EMPTY "\n", i);
	root_of(text, hex);
	assert_string_equal(hex, "85351b579ea97c5df18bb062a071b67845514a2a41927bd0e7d56b9363ff6a4d");
	/* n == 0: SHA-256 of nothing */
	unsigned char out[32];
	isc_image_merkle_root(NULL, 0, out);
	isc_sha256_hex(out, hex);
	assert_string_equal(hex, SHA_EMPTY);
}

static void test_manifest_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",              /* no root line */
		L2,              /* first line not / */
		L1 L3 L2,        /* not sorted */
		L1 L2 L2,        /* duplicate */
		L1 "/a f 0644 0 0 3 " SHA_ABC, /* no final newline */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char hex[65];
		isc_error *err = NULL;
		assert_int_equal(isc_image_manifest_root(bad[i], strlen(bad[i]), hex, &err), -1);
		isc_error_free(&err);
	}
}

static void test_path_clean(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "./", "" }, { ".", "" }, { "", "" }, { "./bin/sh", "bin/sh" }, { "bin//sh/", "bin/sh" },
		{ "a/./b", "a/b" }, { "..a/b..", "..a/b.." }, { ".wh.x", ".wh.x" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char *out = NULL;
		isc_error *err = NULL;
		assert_int_equal(isc_image_path_clean(ok[i].in, &out, &err), 0);
		assert_string_equal(out, ok[i].out);
		free(out);
	}
	static const char *const bad[] = { "/etc/passwd", "../x", "a/../../x", "a/..", ".." };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *out = NULL;
		isc_error *err = NULL;
		assert_int_equal(isc_image_path_clean(bad[i], &out, &err), -1);
		isc_error_free(&err);
	}
}

static void test_name_check(void **state)
{
	(void)state;
	isc_error *err = NULL;
	assert_int_equal(isc_image_name_check("busybox:1.36_x-y.z", &err), 0);
	static const char *const bad[] = { "", ".x", "-x", "a/b", "a b", "..", "a\n" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(isc_image_name_check(bad[i], &err), -1);
		isc_error_free(&err);
	}
}

/* A real tree: the manifest built from disk is the one expected. */
static void test_manifest_build(void **state)
{
	(void)state;
	char dir[] = "/tmp/isc-test-image-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	char p[256];
	snprintf(p, sizeof(p), "%s/a", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(chmod(p, 0644), 0);
	snprintf(p, sizeof(p), "%s/b", dir);
	assert_int_equal(symlink("a", p), 0);
	bool root = geteuid() == 0;
	if (root) {
		snprintf(p, sizeof(p), "%s", dir);
		assert_int_equal(chown(p, 0, 0), 0);
	}
	int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	char *text = NULL;
	size_t len = 0;
	uint64_t bytes = 0;
	isc_error *err = NULL;
	assert_int_equal(isc_image_manifest_build(rootfd, &text, &len, &bytes, &err), 0);
	close(rootfd);
	assert_int_equal(bytes, 3);
	if (root)
		assert_string_equal(text, L1 L2 L3);
	char hex[65];
	root_of(text, hex);
	if (root)
		assert_string_equal(hex, "eb66f52adefd2ee497aff3de4f3d2c8cfe50e15a78d3d0104a146abd5092f84a");
	free(text);
	snprintf(p, sizeof(p), "%s/b", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/a", dir);
	unlink(p);
	rmdir(dir);
}

static void test_check_root_refuses(void **state)
{
	(void)state;
	isc_error *err = NULL;
	assert_int_equal(isc_image_check_root("/tmp", "zz", &err), -1);
	isc_error_free(&err);
	assert_int_equal(isc_image_check_root("/tmp", SHA_ABC, &err), -1);
	assert_non_null(strstr(err->msg, "not an image store rootfs"));
	isc_error_free(&err);
}

/* A real store: import a tiny tree, then the annotation check passes for
 * its id and refuses another id and a tampered store. */
static void test_check_root_store(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char dir[] = "/tmp/isc-test-store-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char src[256], root[256], p[1024];
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(root, sizeof(root), "%s/root", dir);
	assert_int_equal(mkdir(src, 0755), 0);
	snprintf(p, sizeof(p), "%s/a", src);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	isc_error *err = NULL;
	char id[65];
	char *notice = NULL;
	if (isc_image_import(root, "t", src, id, &notice, &err) < 0) {
		char buf[512];
		fail_msg("import: %s", isc_error_text(err, buf, sizeof(buf)));
	}
	char rootfs[512];
	snprintf(rootfs, sizeof(rootfs), "%s/images/sha256/%s/rootfs", root, id);
	assert_int_equal(isc_image_check_root(rootfs, id, &err), 0);
	assert_int_equal(isc_image_check_root(rootfs, SHA_ABC, &err), -1);
	assert_non_null(strstr(err->msg, "is not image"));
	isc_error_free(&err);
	/* chmod is refused on an immutable file: the store is sealed */
	snprintf(p, sizeof(p), "%s/a", rootfs);
	assert_int_equal(chmod(p, 0600), -1);
	assert_int_equal(isc_image_verify(root, "t", &err), 0);
	assert_int_equal(isc_image_remove(root, "t", false, &notice, &err), 0);
	assert_null(notice);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_line_parse_rejects),
		cmocka_unit_test(test_merkle_known_answers),
		cmocka_unit_test(test_manifest_rejects),
		cmocka_unit_test(test_path_clean),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_manifest_build),
		cmocka_unit_test(test_check_root_refuses),
		cmocka_unit_test(test_check_root_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
