/* SPDX-License-Identifier: GPL-2.0-or-later
 * Image import, OCI image layouts (the design is atop import.c):
 * index.json -> (nested indexes) -> the image manifest -> its config and
 * its layers in order.  Every blob is opened once, not followed, and what
 * is used of it is read through that fd and checked against its digest. */
#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/util.h"
#include "image/import-internal.h"

/* ---- OCI image layout ----------------------------------------------------- */

#define cleanup_json __attribute__((cleanup(json_decrefp))) /* jansson's */

#define OCI_JSON_MAX (4 << 20) /* index, manifest, config */

/* A blob a descriptor names, open: blobs/sha256/<hex>, a regular file
 * (not followed if a symlink).  Everything read of it goes through this
 * one fd and is hashed (oci_blob_check). */
struct oci_blob {
	int fd;
	char *rel;
	char hex[65];
	json_int_t size;
};

static void oci_blob_clear(struct oci_blob *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(b->rel);
}
#define cleanup_blob __attribute__((cleanup(oci_blob_clear)))

static int oci_blob_open(int layoutfd, json_t *desc, struct oci_blob *b, isc_error **err)
{
	const char *digest = NULL;
	if (json_unpack(desc, "{s:s, s:I}", "digest", &digest, "size", &b->size) < 0)
		return isc_error_set(err, EINVAL, "descriptor without digest or size");
	static const char algo[] = "sha256:";
	const char *hex = digest + strlen(algo);
	bool ok = strncmp(digest, algo, strlen(algo)) == 0 && strlen(hex) == 64;
	for (size_t i = 0; ok && i < 64; i++)
		ok = (hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f');
	if (!ok)
		return isc_error_set(err, EINVAL, "digest \"%.80s\": only sha256:<64 hex> is supported", digest);
	memcpy(b->hex, hex, 65);
	b->rel = isc_xasprintf("blobs/sha256/%s", hex);
	b->fd = isc_import_open_regular_at(layoutfd, b->rel, O_NOFOLLOW, b->rel, err);
	return b->fd < 0 ? -1 : 0;
}

/* What was read of the blob (all of it) against its descriptor. */
static int oci_blob_check(const struct oci_blob *b, struct isc_sha256 *s, uint64_t total, isc_error **err)
{
	unsigned char d[32];
	char got[65];
	isc_sha256_final(s, d);
	isc_sha256_hex(d, got);
	if (strcmp(got, b->hex) != 0)
		return isc_error_set(err, 0, "blob %s: its content hashes to sha256:%s", b->rel, got);
	if ((json_int_t)total != b->size)
		return isc_error_set(err, 0, "blob %s: %llu bytes, the descriptor says %lld", b->rel,
				     (unsigned long long)total, (long long)b->size);
	return 0;
}

/* All of fd, at most max bytes, NUL-terminated. */
static int read_all(int fd, const char *name, size_t max, char **out, size_t *len, isc_error **err)
{
	size_t cap = 4096, used = 0;
	cleanup_free char *buf = isc_xmalloc0(cap + 1);
	for (;;) {
		if (used == cap) {
			if (cap > max)
				return isc_error_set(err, EFBIG, "%s: larger than %zu bytes", name, max);
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (nb == NULL)
				abort();
			buf = nb;
		}
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return isc_error_set(err, errno, "read %s", name);
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*out = steal_pointer(&buf);
	*len = used;
	return 0;
}

/* A JSON blob (manifest, index, config): read once, hashed, parsed from
 * the same bytes. */
static int oci_load_json(int layoutfd, json_t *desc, json_t **out, isc_error **err)
{
	cleanup_blob struct oci_blob b = { .fd = -1 };
	if (oci_blob_open(layoutfd, desc, &b, err) < 0)
		return -1;
	cleanup_free char *text = NULL;
	size_t len;
	if (read_all(b.fd, b.rel, OCI_JSON_MAX, &text, &len, err) < 0)
		return -1;
	struct isc_sha256 s;
	isc_sha256_init(&s);
	isc_sha256_update(&s, text, len);
	if (oci_blob_check(&b, &s, len, err) < 0)
		return -1;
	json_error_t je;
	*out = json_loadb(text, len, 0, &je);
	if (*out == NULL)
		return isc_error_set(err, EINVAL, "%s: line %d: %s", b.rel, je.line, je.text);
	return 0;
}

/* One pass over a layer, hashed as it is read; a blob that does not match
 * its descriptor fails the import (with what this pass did: nothing of an
 * import is kept when it fails), and that is the error reported, before
 * any the archive reader gave for the same bytes. */
static int oci_layer_pass(struct importer *im, const struct oci_blob *b, const char *name, enum tar_pass pass,
			  isc_error **err)
{
	if (lseek(b->fd, 0, SEEK_SET) < 0)
		return isc_error_set(err, errno, "seek %s", name);
	struct isc_sha256 s;
	isc_sha256_init(&s);
	cleanup_free unsigned char *buf = isc_xmalloc0(SOURCE_BUF);
	struct tar_source src = { .fd = b->fd, .name = name, .sha = &s, .buf = buf };
	cleanup_error isc_error *terr = NULL;
	int ret = isc_import_tar(im, &src, pass, &terr);
	if (isc_import_source_drain(&src, err) < 0 || oci_blob_check(b, &s, src.total, err) < 0)
		return -1;
	if (ret < 0)
		isc_error_move(err, &terr);
	return ret;
}

/* The one image manifest an index leads to (nested indexes followed). */
static int oci_find_manifest(int layoutfd, json_t *index, int depth, json_t **out, isc_error **err)
{
	json_t *manifests = json_object_get(index, "manifests");
	if (!json_is_array(manifests) || json_array_size(manifests) == 0)
		return isc_error_set(err, EINVAL, "index: no manifests");
	if (json_array_size(manifests) > 1)
		return isc_error_set(err, EINVAL,
				     "index: %zu manifests; an import takes a layout with exactly one image",
				     json_array_size(manifests));
	json_t *desc = json_array_get(manifests, 0);
	const char *mt = json_string_value(json_object_get(desc, "mediaType"));
	cleanup_json json_t *doc = NULL;
	if (oci_load_json(layoutfd, desc, &doc, err) < 0)
		return -1;
	if (json_object_get(doc, "manifests") != NULL ||
	    (mt && strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0)) {
		if (depth >= 4)
			return isc_error_set(err, ELOOP, "index: nested more than 4 deep");
		return oci_find_manifest(layoutfd, doc, depth + 1, out, err);
	}
	*out = steal_pointer(&doc);
	return 0;
}

/* The run settings of an OCI image config blob that isc uses: Entrypoint,
 * Cmd and Env (arrays of strings), WorkingDir and User (strings); any other
 * field, or one of another type, is left out.  NULL when none is set. */
static json_t *oci_run_config(json_t *blob)
{
	json_t *c = json_object_get(blob, "config");
	if (!json_is_object(c))
		return NULL;
	static const char *const arrays[] = { "Entrypoint", "Cmd", "Env" };
	static const char *const strings[] = { "WorkingDir", "User" };
	json_t *out = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(arrays); i++) {
		json_t *v = json_object_get(c, arrays[i]);
		bool ok = json_is_array(v);
		size_t k;
		json_t *e;
		json_array_foreach(v, k, e)
			ok = ok && json_is_string(e);
		if (ok)
			json_object_set(out, arrays[i], v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		json_t *v = json_object_get(c, strings[i]);
		if (json_is_string(v) && json_string_length(v) > 0)
			json_object_set(out, strings[i], v);
	}
	if (json_object_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

int isc_import_oci(struct importer *im, const char *dir, isc_error **err)
{
	cleanup_close int layoutfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (layoutfd < 0)
		return isc_error_set(err, errno, "open %s", dir);
	cleanup_close int ifd = isc_import_open_regular_at(layoutfd, "index.json", 0, "index.json", err);
	if (ifd < 0)
		return -1;
	cleanup_free char *text = NULL;
	size_t len;
	if (read_all(ifd, "index.json", OCI_JSON_MAX, &text, &len, err) < 0)
		return -1;
	json_error_t je;
	cleanup_json json_t *index = json_loadb(text, len, 0, &je);
	if (index == NULL)
		return isc_error_set(err, EINVAL, "index.json: line %d: %s", je.line, je.text);
	cleanup_json json_t *manifest = NULL;
	if (oci_find_manifest(layoutfd, index, 0, &manifest, err) < 0)
		return -1;
	json_t *layers = json_object_get(manifest, "layers");
	if (!json_is_array(layers))
		return isc_error_set(err, EINVAL, "image manifest: no layers");
	json_t *cdesc = json_object_get(manifest, "config");
	if (cdesc != NULL) {
		cleanup_json json_t *blob = NULL;
		if (oci_load_json(layoutfd, cdesc, &blob, err) < 0)
			return isc_error_wrap(err, "image config");
		im->config = oci_run_config(blob);
	}
	for (size_t i = 0; i < json_array_size(layers); i++) {
		cleanup_blob struct oci_blob b = { .fd = -1 };
		if (oci_blob_open(layoutfd, json_array_get(layers, i), &b, err) < 0)
			return isc_error_wrap(err, "layer %zu", i);
		cleanup_free char *path = isc_xasprintf("%s/%s", dir, b.rel);
		if (oci_layer_pass(im, &b, path, TAR_WHITEOUTS, err) < 0 ||
		    oci_layer_pass(im, &b, path, TAR_CONTENT, err) < 0)
			return isc_error_wrap(err, "layer %zu", i);
	}
	return 0;
}
