/* SPDX-License-Identifier: GPL-2.0-or-later
 * The image's OCI config recorded at import (isc_image_config) and the
 * image check of a rootfs that is a mount of the store's rootfs elsewhere
 * (isc_image_check_root_at).  Imports need root (the store seals with
 * immutable flags): skipped otherwise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/idmap.h"
#include "image/image.h"
#include "base/sha256.h"
#include "base/util.h"

static char *tmpdir(void)
{
	char t[] = "/tmp/isc-test-imgcfg-XXXXXX";
	assert_non_null(mkdtemp(t));
	return isc_xstrdup(t);
}

static void rm_rf(const char *path)
{
	char *cmd = isc_xasprintf("chattr -R -i %s 2>/dev/null; rm -rf %s", path, path);
	(void)!system(cmd);
	free(cmd);
}

/* Write buf as blobs/sha256/<hex> of layout; the descriptor JSON. */
static json_t *blob(const char *layout, const char *media, const void *buf, size_t len)
{
	unsigned char d[32];
	char hex[65];
	isc_sha256(buf, len, d);
	isc_sha256_hex(d, hex);
	char *p = isc_xasprintf("%s/blobs/sha256/%s", layout, hex);
	FILE *f = fopen(p, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(p);
	char *digest = isc_xasprintf("sha256:%s", hex);
	json_t *j = json_pack("{s:s, s:s, s:I}", "mediaType", media, "digest", digest, "size", (json_int_t)len);
	free(digest);
	return j;
}

static json_t *json_blob(const char *layout, const char *media, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	json_t *d = blob(layout, media, text, strlen(text));
	free(text);
	json_decref(doc);
	return d;
}

/* A layer tarball with bin/hello, in memory. */
static json_t *layer(const char *layout)
{
	size_t cap = 1 << 16, used = 0;
	char *buf = isc_xmalloc0(cap);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "bin");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "bin/hello");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, 3);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "hi\n", 3), 3);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	json_t *d = blob(layout, "application/vnd.oci.image.layer.v1.tar", buf, used);
	free(buf);
	return d;
}

/* An OCI layout at dir with one image whose config is `cfg` (stolen; NULL:
 * a config blob without "config"). */
static void make_layout(const char *dir, json_t *cfg)
{
	char *blobs = isc_xasprintf("%s/blobs/sha256", dir);
	isc_error *e = NULL;
	assert_int_equal(isc_mkdir_p(blobs, 0755, &e), 0);
	free(blobs);
	json_t *config = json_pack("{s:s, s:s, s:{s:[]}}", "architecture", "amd64", "os", "linux", "rootfs",
				   "diff_ids");
	if (cfg)
		json_object_set_new(config, "config", cfg);
	json_t *manifest = json_pack("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType",
				     "application/vnd.oci.image.manifest.v1+json", "config",
				     json_blob(dir, "application/vnd.oci.image.config.v1+json", config), "layers",
				     layer(dir));
	json_t *index = json_pack("{s:i, s:[o]}", "schemaVersion", 2, "manifests",
				  json_blob(dir, "application/vnd.oci.image.manifest.v1+json", manifest));
	char *p = isc_xasprintf("%s/index.json", dir);
	assert_int_equal(json_dump_file(index, p, 0), 0);
	free(p);
	json_decref(index);
	p = isc_xasprintf("%s/oci-layout", dir);
	FILE *f = fopen(p, "we");
	fputs("{\"imageLayoutVersion\":\"1.0.0\"}", f);
	fclose(f);
	free(p);
}

static void config_recorded_per_name(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char *dir = tmpdir();
	char *root = isc_xasprintf("%s/root", dir), *oci = isc_xasprintf("%s/oci", dir),
	     *bare = isc_xasprintf("%s/bare", dir), *plain = isc_xasprintf("%s/plain", dir);
	make_layout(oci, json_pack("{s:[s], s:[s,s], s:[s], s:s, s:s, s:i, s:[i]}", "Entrypoint", "/bin/hello",
				   "Cmd", "-a", "b", "Env", "PATH=/bin", "WorkingDir", "/srv", "User", "1000:1000",
				   "StopSignal", 15, "Bogus", 1));
	make_layout(bare, NULL);
	isc_error *e = NULL;
	char id[65], id2[65], id3[65];
	char *notice = NULL; /* no device nodes here: stays NULL */
	assert_int_equal(isc_image_import(root, "web", oci, id, &notice, &e), 0);
	json_t *c = NULL;
	assert_int_equal(isc_image_config(root, "web", &c, &e), 0);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "Entrypoint"), 0)), "/bin/hello");
	assert_int_equal(json_array_size(json_object_get(c, "Cmd")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "Env"), 0)), "PATH=/bin");
	assert_string_equal(json_string_value(json_object_get(c, "WorkingDir")), "/srv");
	assert_string_equal(json_string_value(json_object_get(c, "User")), "1000:1000");
	/* only the run settings isc uses */
	assert_null(json_object_get(c, "StopSignal"));
	assert_int_equal(json_object_size(c), 5);
	json_decref(c);

	/* the same content without a config under another name: shared
	 * content, separate configs */
	assert_int_equal(isc_image_import(root, "bare", bare, id2, &notice, &e), 0);
	assert_string_equal(id, id2);
	c = (json_t *)1;
	assert_int_equal(isc_image_config(root, "bare", &c, &e), 0);
	assert_null(c);
	assert_int_equal(isc_image_config(root, "web", &c, &e), 0);
	assert_non_null(c);
	json_decref(c);

	/* the config survives a verification (which rewrites the state) */
	assert_int_equal(isc_image_verify(root, "web", &e), 0);
	assert_int_equal(isc_image_config(root, "web", &c, &e), 0);
	assert_non_null(c);
	json_decref(c);

	/* a directory import has none; re-importing "web" from it drops web's */
	char *pbin = isc_xasprintf("%s/bin", plain);
	assert_int_equal(isc_mkdir_p(pbin, 0755, &e), 0);
	free(pbin);
	assert_int_equal(isc_image_import(root, "web", plain, id3, &notice, &e), 0);
	assert_int_equal(isc_image_config(root, "web", &c, &e), 0);
	assert_null(c);
	/* the name moved: said, and the old content stays for "bare" */
	char *want = isc_xasprintf("image \"web\": now %.12s (was %.12s, still named bare)", id3, id);
	assert_non_null(notice);
	assert_string_equal(notice, want);
	free(want);
	free(notice);

	/* an unknown name is an error */
	assert_int_equal(isc_image_config(root, "nosuch", &c, &e), -1);
	assert_null(c);
	isc_error_free(&e);
	rm_rf(dir);
	free(root), free(oci), free(bare), free(plain), free(dir);
}

static void check_root_through_a_mount(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char *dir = tmpdir();
	char *root = isc_xasprintf("%s/root", dir), *src = isc_xasprintf("%s/src", dir),
	     *mnt = isc_xasprintf("%s/mnt", dir), *other = isc_xasprintf("%s/other", dir);
	char *srcbin = isc_xasprintf("%s/bin", src);
	isc_error *e = NULL;
	assert_int_equal(isc_mkdir_p(srcbin, 0755, &e), 0);
	assert_int_equal(isc_mkdir_p(other, 0755, &e), 0);
	char id[65];
	char *notice = NULL;
	assert_int_equal(isc_image_import(root, "img", src, id, &notice, &e), 0);
	char *store = isc_xasprintf("%s/images", root);
	char *store_rootfs = isc_xasprintf("%s/sha256/%s/rootfs", store, id);
	assert_int_equal(isc_idmap_mount(store_rootfs, mnt, 1u << 30, 1u << 30, 65536, true, &e), 0);

	/* the store's own rootfs and the idmapped view of it pass */
	assert_int_equal(isc_image_check_root_at(store_rootfs, id, store, &e), 0);
	assert_int_equal(isc_image_check_root_at(mnt, id, store, &e), 0);
	/* another directory is not the image */
	assert_int_equal(isc_image_check_root_at(other, id, store, &e), -1);
	assert_non_null(strstr(e->msg, "is not image"));
	isc_error_free(&e);
	/* another id, a bad id, a relative store */
	char wrong[65];
	memset(wrong, 'a', 64);
	wrong[64] = '\0';
	assert_int_equal(isc_image_check_root_at(mnt, wrong, store, &e), -1);
	isc_error_free(&e);
	assert_int_equal(isc_image_check_root_at(mnt, "xyz", store, &e), -1);
	assert_int_equal(e->errnum, EINVAL);
	isc_error_free(&e);
	assert_int_equal(isc_image_check_root_at(mnt, id, "images", &e), -1);
	assert_int_equal(e->errnum, EINVAL);
	isc_error_free(&e);
	/* the quick check runs: a failed verification refuses */
	char *statef = isc_xasprintf("%s/state/%s.json", store, id);
	char *text = NULL;
	size_t len;
	assert_int_equal(isc_read_file(statef, &text, &len, 0, &e), 0);
	char *bad = strstr(text, "\"verify\":\"ok\"");
	assert_non_null(bad);
	memcpy(bad, "\"verify\":\"no\"", 13);
	FILE *f = fopen(statef, "we");
	fputs(text, f);
	fclose(f);
	free(text);
	assert_int_equal(isc_image_check_root_at(mnt, id, store, &e), -1);
	assert_non_null(strstr(e->msg, "REFUSED"));
	isc_error_free(&e);

	assert_int_equal(isc_idmap_umount(mnt, &e), 0);
	rm_rf(dir);
	free(statef), free(store), free(store_rootfs), free(srcbin);
	free(root), free(src), free(mnt), free(other), free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_recorded_per_name),
		cmocka_unit_test(check_root_through_a_mount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
