/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target for image import (isc_image_import, src/lib/image-import.c):
 * a tarball or an OCI layout is the largest untrusted input isc reads, and
 * the import writes as root.  Needs root (owners are kept; the store must be
 * root's).
 *
 * The input's first byte picks the source:
 *   & 3 == 0  the rest is the tarball file as it is (plain, gzip, anything);
 *   & 3 == 1  the rest is a script (below) written as a tarball,
 *   & 3 == 2  ... as a gzip'd tarball (bits 2-3 pick pax, pax_restricted,
 *             gnutar, ustar for both);
 *   & 3 == 3  ... as an OCI image layout.
 * A script is lines:
 *   T[@MODE[@UID]] PATH [ARG]   an entry: T is f (file, ARG its content),
 *                               d, l (symlink to ARG), h (hard link to ARG),
 *                               p (fifo), c, b (devices), s (socket)
 *   L | Lz                      OCI: a new layer (plain | gzip); entries
 *                               before the first go to a gzip'd layer 0
 *   config TEXT | manifest TEXT | index TEXT
 *                               OCI: that document instead of the default;
 *                               @layers@ @config@ @manifest@ @layerN@
 *                               @blob:NAME@ become descriptors, @hex:NAME@
 *                               and @size:NAME@ a blob's digest and size
 *   blob NAME TEXT              OCI: one more blob (made after the manifest)
 *   raw PATH TEXT | rawlink PATH TARGET | rawfifo PATH | rawdir PATH
 *                               OCI: written into the layout as it is (last)
 *   nolayout                    OCI: no oci-layout file (a directory source)
 * In PATH and ARG, %XX is a byte, %T the absolute path of this process's
 * temp folder (where an escape would land), %*N(TEXT) TEXT N times.
 *
 * Invariants, checked after every input:
 *  - nothing outside the store root changes: the temp folder T holds the
 *    source and a/b/root (the store root: ".." from the new rootfs climbs
 *    through T); a listing of T without the store root (names, types,
 *    inodes, sizes, file mtimes) is the same before and after.  Beyond T the
 *    import runs in a Landlock domain that lets it write only beneath T (and
 *    the artifact folder, for libFuzzer's crash files): an attempt shows as
 *    EACCES or EXDEV, which no import inside T can get as root, and fails;
 *  - the store holds exactly images/{sha256,names,state,tmp} (+ .lock);
 *    tmp/ is empty after any import; a failed import leaves sha256/, names/
 *    and state/ empty; a successful one leaves exactly its id, its name and
 *    its state, and the image passes isc_image_verify and the quick check. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "image/image.h"
#include "kernel/landlock.h"
#include "base/sha256.h"
#include "base/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_MAX (128 * 1024) /* a decoded PATH or ARG */
#define REPEAT_MAX 5000

/* ---- a growable buffer ------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* ---- the process's temp folder ---------------------------------------------- */

static char tdir[256];      /* T */
static char storeroot[300]; /* T/a/b/root */
static char srcpath[300];   /* T/src: the tarball, or the layout folder */

/* ---- script decoding -------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* PATH or ARG with its escapes applied; false when it grows too long */
static bool decode(const char *s, size_t n, struct buf *out)
{
	out->len = 0;
	buf_add(out, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (out->len > FIELD_MAX)
			return false;
		if (s[i] != '%' || i + 1 >= n) {
			buf_add(out, &s[i], 1);
			continue;
		}
		char c = s[i + 1];
		if (c == 'T') {
			buf_str(out, tdir);
			i++;
		} else if (c == '*') {
			size_t j = i + 2, count = 0;
			while (j < n && s[j] >= '0' && s[j] <= '9' && count <= REPEAT_MAX)
				count = count * 10 + (size_t)(s[j++] - '0');
			const char *close = j < n && s[j] == '(' ? memchr(s + j, ')', n - j) : NULL;
			if (close == NULL || count > REPEAT_MAX) {
				buf_add(out, &s[i], 1);
				continue;
			}
			size_t tlen = (size_t)(close - (s + j + 1));
			for (size_t k = 0; k < count && out->len <= FIELD_MAX; k++)
				buf_add(out, s + j + 1, tlen);
			i = (size_t)(close - s);
		} else if (i + 2 < n && hexval(c) >= 0 && hexval(s[i + 2]) >= 0) {
			char byte = (char)(hexval(c) << 4 | hexval(s[i + 2]));
			buf_add(out, &byte, 1);
			i += 2;
		} else {
			buf_add(out, &s[i], 1);
		}
	}
	return out->len <= FIELD_MAX;
}

struct line {
	const char *s; /* not NUL-terminated */
	size_t n;
};

/* the first word of a line and the rest after one space */
static void split(struct line l, struct line *word, struct line *rest)
{
	const char *sp = memchr(l.s, ' ', l.n);
	word->s = l.s;
	word->n = sp ? (size_t)(sp - l.s) : l.n;
	rest->s = sp ? sp + 1 : l.s + l.n;
	rest->n = sp ? l.n - word->n - 1 : 0;
}

static bool word_is(struct line w, const char *s)
{
	return w.n == strlen(s) && memcmp(w.s, s, w.n) == 0;
}

/* ---- tarballs ------------------------------------------------------------- */

static la_ssize_t tar_write(struct archive *a, void *cookie, const void *data, size_t n)
{
	(void)a;
	buf_add(cookie, data, n);
	return (la_ssize_t)n;
}

/* One entry line into the archive; false when it is no entry line. */
static bool tar_entry(struct archive *a, struct line l)
{
	struct line head, rest, path, arg;
	split(l, &head, &rest);
	split(rest, &path, &arg);
	if (head.n == 0 || strchr("fdlhpcbs", head.s[0]) == NULL)
		return false;
	if (head.n > 1 && head.s[1] != '@')
		return false;
	unsigned mode = head.s[0] == 'd' ? 0755 : head.s[0] == 'l' ? 0777 : 0644;
	unsigned long uid = 0;
	char tmp[32];
	size_t tl = head.n < sizeof(tmp) ? head.n : sizeof(tmp) - 1;
	memcpy(tmp, head.s, tl);
	tmp[tl] = '\0';
	char *at = strchr(tmp, '@');
	if (at) {
		mode = (unsigned)strtoul(at + 1, &at, 8) & 07777;
		if (*at == '@')
			uid = strtoul(at + 1, NULL, 10);
	}
	struct buf p = { 0 }, v = { 0 };
	if (!decode(path.s, path.n, &p) || !decode(arg.s, arg.n, &v)) {
		free(p.p);
		free(v.p);
		return true;
	}
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, p.p);
	archive_entry_set_uid(e, (la_int64_t)uid);
	archive_entry_set_gid(e, (la_int64_t)uid);
	archive_entry_set_mtime(e, 1000000000, 0);
	archive_entry_set_perm(e, mode);
	static const struct {
		char c;
		unsigned type;
	} types[] = { { 'f', AE_IFREG }, { 'd', AE_IFDIR }, { 'l', AE_IFLNK }, { 'h', AE_IFREG },
		      { 'p', AE_IFIFO }, { 'c', AE_IFCHR }, { 'b', AE_IFBLK }, { 's', AE_IFSOCK } };
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].c == head.s[0])
			archive_entry_set_filetype(e, types[i].type);
	if (head.s[0] == 'l')
		archive_entry_set_symlink(e, v.p);
	if (head.s[0] == 'h')
		archive_entry_set_hardlink(e, v.p);
	if (head.s[0] == 'c' || head.s[0] == 'b')
		archive_entry_set_rdev(e, makedev(1, 3));
	if (head.s[0] == 'f')
		archive_entry_set_size(e, (la_int64_t)v.len);
	if (archive_write_header(a, e) == ARCHIVE_OK && head.s[0] == 'f')
		archive_write_data(a, v.p, v.len);
	archive_entry_free(e);
	free(p.p);
	free(v.p);
	return true;
}

/* A tarball of the entry lines among `lines` into *out. */
static void tar_build(const struct line *lines, size_t n, bool gzip, int format, struct buf *out)
{
	struct archive *a = archive_write_new();
	if (gzip)
		archive_write_add_filter_gzip(a);
	switch (format & 3) {
	case 0: archive_write_set_format_pax(a); break;
	case 1: archive_write_set_format_pax_restricted(a); break;
	case 2: archive_write_set_format_gnutar(a); break;
	default: archive_write_set_format_ustar(a); break;
	}
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open(a, out, NULL, tar_write, NULL) != ARCHIVE_OK)
		abort();
	for (size_t i = 0; i < n; i++)
		(void)tar_entry(a, lines[i]);
	archive_write_close(a);
	archive_write_free(a);
}

/* ---- OCI layouts ------------------------------------------------------------- */

#define BLOBS_MAX 64

struct blob {
	char name[64];
	char hex[65];
	size_t size;
	const char *media;
};

struct layout {
	struct blob b[BLOBS_MAX];
	size_t n;
	int dirfd; /* T/src */
};

static const struct blob *blob_find(const struct layout *o, const char *name, size_t len)
{
	for (size_t i = 0; i < o->n; i++)
		if (strlen(o->b[i].name) == len && memcmp(o->b[i].name, name, len) == 0)
			return &o->b[i];
	return NULL;
}

static void desc(struct buf *out, const struct blob *b)
{
	char s[256];
	snprintf(s, sizeof(s), "{\"mediaType\":\"%s\",\"digest\":\"sha256:%s\",\"size\":%zu}", b->media, b->hex,
		 b->size);
	buf_str(out, s);
}

/* TEXT with @...@ replaced by what the layout has so far */
static void expand(const struct layout *o, const char *s, size_t n, struct buf *out)
{
	out->len = 0;
	buf_add(out, "", 0);
	for (size_t i = 0; i < n; i++) {
		const char *end = s[i] == '@' ? memchr(s + i + 1, '@', n - i - 1) : NULL;
		if (end == NULL) {
			buf_add(out, &s[i], 1);
			continue;
		}
		const char *k = s + i + 1;
		size_t kl = (size_t)(end - k);
		const struct blob *b = NULL;
		if (kl == 6 && memcmp(k, "layers", 6) == 0) {
			for (size_t j = 0, first = 1; j < o->n; j++) {
				if (strncmp(o->b[j].name, "layer", 5) != 0)
					continue;
				if (!first)
					buf_str(out, ",");
				first = 0;
				desc(out, &o->b[j]);
			}
		} else if (kl > 4 && memcmp(k, "hex:", 4) == 0 && (b = blob_find(o, k + 4, kl - 4)) != NULL) {
			buf_str(out, b->hex);
		} else if (kl > 5 && memcmp(k, "size:", 5) == 0 && (b = blob_find(o, k + 5, kl - 5)) != NULL) {
			char num[32];
			snprintf(num, sizeof(num), "%zu", b->size);
			buf_str(out, num);
		} else if (kl > 5 && memcmp(k, "blob:", 5) == 0 && (b = blob_find(o, k + 5, kl - 5)) != NULL) {
			desc(out, b);
		} else if ((b = blob_find(o, k, kl)) != NULL) {
			desc(out, b);
		} else {
			buf_add(out, &s[i], 1);
			continue;
		}
		i = (size_t)(end - s);
	}
}

/* A relative path in the layout whose parents are real directories (made
 * when missing): the harness writes unconfined, so a symlink the script
 * made earlier must never lead its writes (or removals) elsewhere.  False
 * when it is none. */
static bool layout_path(int dirfd, const char *p)
{
	if (p[0] == '\0' || p[0] == '/' || strlen(p) > 255)
		return false;
	char tmp[256];
	strcpy(tmp, p);
	for (char *c = tmp;; c++) {
		char *s = strchr(c, '/');
		if (s)
			*s = '\0';
		bool dots = strcmp(c, "..") == 0 || strcmp(c, ".") == 0 || c[0] == '\0';
		if (s == NULL)
			return !dots;
		struct stat st;
		if (dots || (mkdirat(dirfd, tmp, 0755) < 0 && errno != EEXIST) ||
		    fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			return false;
		*s = '/';
		c = s;
	}
}

static void write_at(int dirfd, const char *path, const void *data, size_t n)
{
	(void)unlinkat(dirfd, path, 0);
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (isc_write_all(fd, data, n) < 0)
		abort();
	close(fd);
}

static void blob_add(struct layout *o, const char *name, const void *data, size_t n, const char *media)
{
	if (o->n == BLOBS_MAX)
		return;
	struct blob *b = &o->b[o->n++];
	snprintf(b->name, sizeof(b->name), "%s", name);
	unsigned char d[32];
	isc_sha256(data, n, d);
	isc_sha256_hex(d, b->hex);
	b->size = n;
	b->media = media;
	char rel[128];
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", b->hex);
	write_at(o->dirfd, rel, data, n);
}

#define MT_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"

static void layout_build(const struct line *lines, size_t n, int format)
{
	if (mkdir(srcpath, 0755) < 0)
		abort();
	struct layout o = { .dirfd = open(srcpath, O_PATH | O_DIRECTORY | O_CLOEXEC) };
	if (o.dirfd < 0 || mkdirat(o.dirfd, "blobs", 0755) < 0 || mkdirat(o.dirfd, "blobs/sha256", 0755) < 0)
		abort();
	/* the layers: runs of entry lines, each after an L or Lz */
	size_t start = 0, nlayers = 0;
	bool gzip = true;
	for (size_t i = 0; i <= n; i++) {
		struct line w, rest;
		if (i < n)
			split(lines[i], &w, &rest);
		bool mark = i < n && (word_is(w, "L") || word_is(w, "Lz"));
		if (i == n || mark) {
			if (i > start || (i == n && nlayers == 0)) {
				struct buf t = { 0 };
				tar_build(lines + start, i - start, gzip, format, &t);
				char name[32];
				snprintf(name, sizeof(name), "layer%zu", nlayers++);
				blob_add(&o, name, t.p, t.len, gzip ? MT_LAYER_GZ : MT_LAYER);
				free(t.p);
			}
			if (mark)
				gzip = word_is(w, "Lz");
			start = i + 1;
		}
	}
	/* config, manifest, further blobs, index, as given or the defaults */
	struct line config = { "{\"config\":{\"Cmd\":[\"/bin/sh\"],\"Env\":[\"A=b\"]}}", 0 };
	struct line manifest = { "{\"schemaVersion\":2,\"config\":@config@,\"layers\":[@layers@]}", 0 };
	struct line index = { "{\"schemaVersion\":2,\"manifests\":[@manifest@]}", 0 };
	config.n = strlen(config.s);
	manifest.n = strlen(manifest.s);
	index.n = strlen(index.s);
	bool marker = true;
	for (size_t i = 0; i < n; i++) {
		struct line w, rest;
		split(lines[i], &w, &rest);
		if (word_is(w, "config"))
			config = rest;
		else if (word_is(w, "manifest"))
			manifest = rest;
		else if (word_is(w, "index"))
			index = rest;
		else if (word_is(w, "nolayout"))
			marker = false;
	}
	struct buf t = { 0 };
	expand(&o, config.s, config.n, &t);
	blob_add(&o, "config", t.p, t.len, MT_CONFIG);
	expand(&o, manifest.s, manifest.n, &t);
	blob_add(&o, "manifest", t.p, t.len, MT_MANIFEST);
	for (size_t i = 0; i < n; i++) {
		struct line w, rest, name, text;
		split(lines[i], &w, &rest);
		if (!word_is(w, "blob"))
			continue;
		split(rest, &name, &text);
		char nm[64];
		snprintf(nm, sizeof(nm), "%.*s", (int)(name.n < 63 ? name.n : 63), name.s);
		expand(&o, text.s, text.n, &t);
		blob_add(&o, nm, t.p, t.len, strncmp(nm, "index", 5) == 0 ? MT_INDEX : MT_MANIFEST);
	}
	expand(&o, index.s, index.n, &t);
	write_at(o.dirfd, "index.json", t.p, t.len);
	if (marker)
		write_at(o.dirfd, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	/* what the script writes into the layout as it is */
	struct buf p = { 0 }, v = { 0 };
	for (size_t i = 0; i < n; i++) {
		struct line w, rest, path, arg;
		split(lines[i], &w, &rest);
		if (w.n < 3 || memcmp(w.s, "raw", 3) != 0)
			continue;
		split(rest, &path, &arg);
		expand(&o, path.s, path.n, &t);
		if (!decode(t.p, t.len, &p) || strlen(p.p) != p.len || !layout_path(o.dirfd, p.p))
			continue;
		expand(&o, arg.s, arg.n, &t);
		if (!decode(t.p, t.len, &v))
			continue;
		(void)isc_image_rm_tree_at(o.dirfd, p.p, NULL);
		if (word_is(w, "raw"))
			write_at(o.dirfd, p.p, v.p, v.len);
		else if (word_is(w, "rawlink") && strlen(v.p) == v.len)
			(void)symlinkat(v.p, o.dirfd, p.p);
		else if (word_is(w, "rawfifo"))
			(void)mkfifoat(o.dirfd, p.p, 0644);
		else if (word_is(w, "rawdir"))
			(void)mkdirat(o.dirfd, p.p, 0755);
	}
	free(p.p);
	free(v.p);
	free(t.p);
	close(o.dirfd);
}

/* ---- the invariants ------------------------------------------------------------ */

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A listing of the tree at dirfd/name (not followed), without the store
 * root: what an escape would change. */
static void listing(int atfd, const char *name, const char *rel, struct buf *out)
{
	struct stat st;
	if (fstatat(atfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		abort();
	if (strcmp(rel, "/a/b/root") == 0)
		return;
	char line[512];
	snprintf(line, sizeof(line), "%s %o %lu %lld %lld\n", rel, st.st_mode, (unsigned long)st.st_ino,
		 S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size,
		 S_ISREG(st.st_mode) ? (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec : 0LL);
	buf_str(out, line);
	if (!S_ISDIR(st.st_mode))
		return;
	int fd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL)
		abort();
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = isc_xstrdup(de->d_name);
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), names_cmp);
	for (size_t i = 0; i < n; i++) {
		char *child = isc_xasprintf("%s/%s", rel, names[i]);
		listing(dirfd(d), names[i], child, out);
		free(child);
		free(names[i]);
	}
	free(names);
	closedir(d);
}

/* The names in dir, sorted and joined with spaces ("" when empty). */
static char *dir_names(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "fuzz-image-import: %s: %s\n", dir, strerror(errno));
		abort();
	}
	char *v[64];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == ARRAY_SIZE(v)) {
			fprintf(stderr, "fuzz-image-import: %s: more than %zu entries\n", dir, n);
			abort();
		}
		v[n++] = isc_xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), names_cmp);
	struct buf b = { 0 };
	buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_str(&b, " ");
		buf_str(&b, v[i]);
		free(v[i]);
	}
	return b.p;
}

static void expect_names(const char *rel, const char *want)
{
	char *dir = isc_xasprintf("%s/%s", storeroot, rel);
	char *have = dir_names(dir);
	if (strcmp(have, want) != 0) {
		fprintf(stderr, "fuzz-image-import: %s holds \"%s\", expected \"%s\"\n", dir, have, want);
		abort();
	}
	free(have);
	free(dir);
}

static void check_store(int ret, const isc_error *err, const char id[65])
{
	expect_names("", "images");
	expect_names("images", ".lock names sha256 state tmp");
	expect_names("images/tmp", "");
	if (ret < 0) {
		expect_names("images/sha256", "");
		expect_names("images/names", "");
		expect_names("images/state", "");
		if (err == NULL || err->msg == NULL)
			abort();
		return;
	}
	char *json = isc_xasprintf("%s.json", id);
	expect_names("images/sha256", id);
	expect_names("images/names", "fuzz");
	expect_names("images/state", json);
	free(json);
	isc_error *e = NULL;
	char *img = isc_xasprintf("%s/images/sha256/%s", storeroot, id);
	if (isc_image_verify(storeroot, "fuzz", &e) < 0 || isc_image_quick_check(img, &e) < 0) {
		fprintf(stderr, "fuzz-image-import: the imported image does not check: %s\n", e->msg);
		abort();
	}
	free(img);
}

/* ---- the import, in a thread that may write only beneath T ----------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool job_ready, job_done;
static int job_ret;
static isc_error *job_err;
static char job_id[65];
static char *sandbox_rw; /* "rw=T:ARTIFACTS" */

static void *worker(void *arg)
{
	(void)arg;
	struct isc_landlock ll;
	isc_error *err = NULL;
	if (isc_landlock_parse(sandbox_rw, &ll, &err) < 0 || isc_landlock_apply(&ll, &err) < 0) {
		fprintf(stderr, "fuzz-image-import: landlock: %s\n", err->msg);
		abort();
	}
	isc_landlock_clear(&ll);
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!job_ready)
			pthread_cond_wait(&cv, &mu);
		job_ready = false;
		pthread_mutex_unlock(&mu);
		isc_error *e = NULL;
		char id[65] = "";
		char *notice = NULL;
		int r = isc_image_import(storeroot, "fuzz", srcpath, id, &notice, &e);
		free(notice);
		pthread_mutex_lock(&mu);
		job_ret = r;
		job_err = e;
		memcpy(job_id, id, sizeof(id));
		job_done = true;
		pthread_cond_broadcast(&cv);
	}
	return NULL;
}

static int run_import(isc_error **err, char id[65])
{
	pthread_mutex_lock(&mu);
	job_ready = true;
	job_done = false;
	pthread_cond_broadcast(&cv);
	while (!job_done)
		pthread_cond_wait(&cv, &mu);
	int r = job_ret;
	*err = job_err;
	memcpy(id, job_id, 65);
	pthread_mutex_unlock(&mu);
	return r;
}

static void remove_tdir(void);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (geteuid() != 0) {
		fprintf(stderr, "fuzz-image-import: run as root (an import keeps owners; the store is root's)\n");
		exit(1);
	}
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tdir, sizeof(tdir), "%s/isc-fuzz-import-XXXXXX", tmp);
	if (mkdtemp(tdir) == NULL) {
		perror("fuzz-image-import: mkdtemp");
		exit(1);
	}
	snprintf(storeroot, sizeof(storeroot), "%s/a/b/root", tdir);
	snprintf(srcpath, sizeof(srcpath), "%s/src", tdir);
	char *a = isc_xasprintf("%s/a", tdir), *ab = isc_xasprintf("%s/a/b", tdir);
	if (mkdir(a, 0755) < 0 || mkdir(ab, 0755) < 0)
		abort();
	free(a);
	free(ab);
	/* the artifact folder stays writable for the crash files */
	char artifacts[4096] = ".";
	for (int i = 1; i < *argc; i++) {
		const char *v = (*argv)[i];
		const char *eq = strncmp(v, "-artifact_prefix=", 17) == 0	    ? v + 17
				 : strncmp(v, "-exact_artifact_path=", 21) == 0 ? v + 21
										: NULL;
		if (eq == NULL)
			continue;
		snprintf(artifacts, sizeof(artifacts), "%s", eq);
		char *slash = strrchr(artifacts, '/');
		if (slash == NULL)
			strcpy(artifacts, ".");
		else if (slash == artifacts)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	char *art = realpath(artifacts, NULL);
	if (art == NULL || strpbrk(art, ":,") || strpbrk(tdir, ":,")) {
		fprintf(stderr, "fuzz-image-import: artifact folder %s unusable\n", artifacts);
		exit(1);
	}
	sandbox_rw = isc_xasprintf("rw=%s:%s", tdir, art);
	free(art);
	if (isc_landlock_abi() < 1) {
		fprintf(stderr, "fuzz-image-import: this kernel has no Landlock: an escape beyond %s would not be "
				"stopped, only one into it seen\n", tdir);
		free(sandbox_rw);
		sandbox_rw = isc_xstrdup("");
	}
	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		abort();
	atexit(remove_tdir);
	fprintf(stderr, "fuzz-image-import: working in %s (removed at exit)\n", tdir);
	return 0;
}

static void cleanup(void)
{
	int bfd = -1;
	char *ab = isc_xasprintf("%s/a/b", tdir);
	bfd = open(ab, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int tfd = open(tdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	isc_error *e = NULL;
	if (bfd < 0 || tfd < 0 || isc_image_rm_tree_at(bfd, "root", &e) < 0 || isc_image_rm_tree_at(tfd, "src", &e) < 0) {
		fprintf(stderr, "fuzz-image-import: cannot clean %s: %s\n", tdir, e ? e->msg : strerror(errno));
		abort();
	}
	close(bfd);
	close(tfd);
	free(ab);
}

static void remove_tdir(void)
{
	int fd = open(tdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *slash = strrchr(tdir, '/');
	char parent[256];
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - tdir), tdir);
	int pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && pfd >= 0)
		(void)isc_image_rm_tree_at(pfd, slash + 1, NULL);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	if ((mode & 3) == 0) {
		int fd = open(srcpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || isc_write_all(fd, text, len) < 0)
			abort();
		close(fd);
	} else {
		struct line *lines = NULL;
		size_t n = 0;
		for (size_t pos = 0; pos < len;) {
			const char *nl = memchr(text + pos, '\n', len - pos);
			size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
			lines = realloc(lines, (n + 1) * sizeof(*lines));
			lines[n++] = (struct line){ text + pos, l };
			pos += l + 1;
		}
		if ((mode & 3) == 3) {
			layout_build(lines, n, mode >> 2);
		} else {
			struct buf t = { 0 };
			tar_build(lines, n, (mode & 3) == 2, mode >> 2, &t);
			int fd = open(srcpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0 || isc_write_all(fd, t.p ? t.p : "", t.len) < 0)
				abort();
			close(fd);
			free(t.p);
		}
		free(lines);
	}

	int tfd = open(tdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct buf before = { 0 }, after = { 0 };
	listing(tfd, ".", "", &before);
	isc_error *err = NULL;
	char id[65];
	int ret = run_import(&err, id);
	if (getenv("ISC_FUZZ_VERBOSE")) /* what each input did, for writing seeds */
		fprintf(stderr, "import: %s\n", ret == 0 ? id : err->msg);
	if (ret < 0 && err && (err->errnum == EACCES || err->errnum == EXDEV)) {
		fprintf(stderr, "fuzz-image-import: the import tried to write outside %s: %s\n", tdir, err->msg);
		abort();
	}
	listing(tfd, ".", "", &after);
	if (strcmp(before.p, after.p) != 0) {
		fprintf(stderr, "fuzz-image-import: the import changed %s outside its store:\n--- before\n%s--- after\n%s",
			tdir, before.p, after.p);
		abort();
	}
	check_store(ret, err, id);
	isc_error_free(&err);
	free(before.p);
	free(after.p);
	close(tfd);
	cleanup();
	return 0;
}
