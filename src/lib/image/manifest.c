/* SPDX-License-Identifier: GPL-2.0-or-later
 * An image as the runtime reads it (manifest.h): manifest lines, the Merkle
 * root (the image id), the image's state record and snapshot, the quick
 * check before a start and the org.isc.image.root checks.  Linked into
 * isc-runtime; everything that writes the store is store.c. */
#include "image/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/util.h"

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		abort();
	return q;
}

/* ---- manifest lines ------------------------------------------------------ */

static bool path_byte_escaped(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '\\';
}

char *isc_image_manifest_line(const struct isc_image_entry *e)
{
	size_t n = strlen(e->path);
	cleanup_free char *p = isc_xmalloc0(n * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e->path[i];
		if (path_byte_escaped(c))
			o += (size_t)sprintf(p + o, "\\x%02x", c);
		else
			p[o++] = (char)c;
	}
	p[o] = '\0';
	return isc_xasprintf("%s %c %04o %llu %llu %llu %s", p, e->type, e->mode & 07777, (unsigned long long)e->uid,
			     (unsigned long long)e->gid, (unsigned long long)e->size, e->digest);
}

void isc_image_entry_clear(struct isc_image_entry *e)
{
	free(e->path);
	memset(e, 0, sizeof(*e));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool isc_image_is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

/* canonical: "/" or "/a/b" with no empty, "." or ".." component */
static bool path_canonical(const char *p)
{
	if (p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	const char *c = p + 1;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

static int parse_dec(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	char buf[21];
	memcpy(buf, s, n);
	buf[n] = '\0';
	return isc_parse_u64(buf, out);
}

int isc_image_manifest_parse_line(const char *line, size_t len, struct isc_image_entry *e, isc_error **err)
{
	const char *f[7] = { 0 };
	size_t fl[7] = { 0 };
	size_t nf = 0, start = 0;
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] == '\0')
			return isc_error_set(err, EINVAL, "manifest line: NUL byte");
		if (i == len || line[i] == ' ') {
			if (nf == 7)
				return isc_error_set(err, EINVAL, "manifest line: more than 7 fields");
			f[nf] = line + start;
			fl[nf++] = i - start;
			start = i + 1;
		}
	}
	if (nf != 7)
		return isc_error_set(err, EINVAL, "manifest line: %zu fields, 7 expected", nf);
	/* path */
	cleanup_free char *path = isc_xmalloc0(fl[0] + 1);
	size_t o = 0;
	for (size_t i = 0; i < fl[0]; i++) {
		char c = f[0][i];
		if (path_byte_escaped((unsigned char)c)) {
			if (c != '\\' || i + 3 >= fl[0] || f[0][i + 1] != 'x')
				return isc_error_set(err, EINVAL, "manifest line: bad escape in path");
			int hi = hexval(f[0][i + 2]), lo = hexval(f[0][i + 3]);
			if (hi < 0 || lo < 0)
				return isc_error_set(err, EINVAL, "manifest line: bad escape in path");
			unsigned char v = (unsigned char)(hi * 16 + lo);
			if (v == 0 || !path_byte_escaped(v))
				return isc_error_set(err, EINVAL, "manifest line: needless escape in path");
			path[o++] = (char)v;
			i += 3;
		} else {
			path[o++] = c;
		}
	}
	path[o] = '\0';
	if (!path_canonical(path))
		return isc_error_set(err, EINVAL, "manifest line: path is not canonical");
	/* type */
	if (fl[1] != 1 || strchr("dflp", f[1][0]) == NULL || f[1][0] == '\0')
		return isc_error_set(err, EINVAL, "manifest line: bad type");
	e->type = f[1][0];
	/* mode: exactly 4 octal digits */
	if (fl[2] != 4)
		return isc_error_set(err, EINVAL, "manifest line: bad mode");
	unsigned mode = 0;
	for (size_t i = 0; i < 4; i++) {
		if (f[2][i] < '0' || f[2][i] > '7')
			return isc_error_set(err, EINVAL, "manifest line: bad mode");
		mode = mode * 8 + (unsigned)(f[2][i] - '0');
	}
	e->mode = mode;
	if (parse_dec(f[3], fl[3], &e->uid) < 0 || e->uid > UINT32_MAX)
		return isc_error_set(err, EINVAL, "manifest line: bad uid");
	if (parse_dec(f[4], fl[4], &e->gid) < 0 || e->gid > UINT32_MAX)
		return isc_error_set(err, EINVAL, "manifest line: bad gid");
	if (parse_dec(f[5], fl[5], &e->size) < 0)
		return isc_error_set(err, EINVAL, "manifest line: bad size");
	bool hashed = e->type == 'f' || e->type == 'l';
	if (hashed) {
		if (!isc_image_is_hex64(f[6], fl[6]))
			return isc_error_set(err, EINVAL, "manifest line: bad digest");
		memcpy(e->digest, f[6], 64);
		e->digest[64] = '\0';
	} else {
		if (fl[6] != 1 || f[6][0] != '-' || e->size != 0)
			return isc_error_set(err, EINVAL, "manifest line: %c entry with a size or digest", e->type);
		strcpy(e->digest, "-");
	}
	if (strcmp(path, "/") == 0 && e->type != 'd')
		return isc_error_set(err, EINVAL, "manifest line: / is not a directory");
	e->path = steal_pointer(&path);
	return 0;
}

/* ---- Merkle root -------------------------------------------------------- */

static void merkle_range(const unsigned char (*leaves)[32], size_t n, unsigned char out[32])
{
	if (n == 1) {
		memcpy(out, leaves[0], 32);
		return;
	}
	size_t k = 1;
	while (k * 2 < n)
		k *= 2;
	unsigned char buf[65];
	buf[0] = 0x01;
	merkle_range(leaves, k, buf + 1);
	merkle_range(leaves + k, n - k, buf + 33);
	isc_sha256(buf, sizeof(buf), out);
}

void isc_image_merkle_root(const unsigned char (*leaves)[32], size_t n, unsigned char out[32])
{
	if (n == 0) {
		isc_sha256("", 0, out);
		return;
	}
	merkle_range(leaves, n, out);
}

static void leaf_hash(const char *line, size_t len, unsigned char out[32])
{
	struct isc_sha256 s;
	unsigned char zero = 0;
	isc_sha256_init(&s);
	isc_sha256_update(&s, &zero, 1);
	isc_sha256_update(&s, line, len);
	isc_sha256_final(&s, out);
}

/* Parse a whole manifest: entries in order, checked sorted. */
int isc_image_manifest_parse(const char *text, size_t len, struct isc_image_entry **out, size_t *nout,
			     unsigned char (**leaves_out)[32], isc_error **err)
{
	size_t n = 0, cap = 0;
	struct isc_image_entry *v = NULL;
	unsigned char(*leaves)[32] = NULL;
	size_t pos = 0, lineno = 0;
	int ret = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		lineno++;
		if (nl == NULL) {
			ret = isc_error_set(err, EINVAL, "manifest line %zu: no newline at the end", lineno);
			break;
		}
		size_t l = (size_t)(nl - (text + pos));
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = xrealloc(v, cap * sizeof(*v));
			leaves = xrealloc(leaves, cap * sizeof(*leaves));
		}
		if (isc_image_manifest_parse_line(text + pos, l, &v[n], err) < 0) {
			ret = isc_error_wrap(err, "manifest line %zu", lineno);
			break;
		}
		leaf_hash(text + pos, l, leaves[n]);
		n++;
		if (n > 1 && strcmp(v[n - 2].path, v[n - 1].path) >= 0) {
			ret = isc_error_set(err, EINVAL, "manifest line %zu: paths not in strictly increasing order",
					    lineno);
			break;
		}
		pos += l + 1;
	}
	if (ret == 0 && (n == 0 || strcmp(v[0].path, "/") != 0))
		ret = isc_error_set(err, EINVAL, "manifest: the first line must be the root directory /");
	if (ret < 0) {
		for (size_t i = 0; i < n; i++)
			isc_image_entry_clear(&v[i]);
		free(v);
		free(leaves);
		return ret;
	}
	*out = v;
	*nout = n;
	if (leaves_out)
		*leaves_out = leaves;
	else
		free(leaves);
	return 0;
}

void isc_image_entries_free(struct isc_image_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		isc_image_entry_clear(&v[i]);
	free(v);
}

int isc_image_manifest_root(const char *manifest, size_t len, char hex[65], isc_error **err)
{
	struct isc_image_entry *v = NULL;
	unsigned char(*leaves)[32] = NULL;
	size_t n = 0;
	if (isc_image_manifest_parse(manifest, len, &v, &n, &leaves, err) < 0)
		return -1;
	unsigned char root[32];
	isc_image_merkle_root((const unsigned char(*)[32])leaves, n, root);
	isc_sha256_hex(root, hex);
	isc_image_entries_free(v, n);
	free(leaves);
	return 0;
}

/* ---- the state record and the snapshot ------------------------------------ */

bool isc_image_type_has_flags(char type)
{
	return type == 'd' || type == 'f';
}

int isc_image_state_read(int storefd, const char *id, struct isc_image_info *i, isc_error **err)
{
	cleanup_free char *rel = isc_xasprintf("state/%s.json", id);
	cleanup_free char *text = NULL;
	size_t len;
	if (isc_read_file_at(storefd, rel, &text, &len, 1 << 20, err) < 0)
		return isc_error_wrap(err, "image %s: state", id);
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	if (o == NULL)
		return isc_error_set(err, EINVAL, "image %s: state: %s", id, je.text);
	json_int_t size = 0, files = 0, imported = 0, verified = 0;
	const char *verify = NULL, *verr = NULL;
	int r = json_unpack(o, "{s:I, s:I, s:I, s:I, s:s, s?s}", "size", &size, "files", &files, "imported", &imported,
			    "verified", &verified, "verify", &verify, "verify_error", &verr);
	if (r < 0) {
		json_decref(o);
		return isc_error_set(err, EINVAL, "image %s: state: missing field", id);
	}
	memcpy(i->id, id, 65);
	i->size = (uint64_t)size;
	i->files = (uint64_t)files;
	i->imported = imported;
	i->verified = verified;
	i->verify_ok = strcmp(verify, "ok") == 0;
	i->verify_error = verr ? isc_xstrdup(verr) : (i->verify_ok ? NULL : isc_xstrdup("failed"));
	json_decref(o);
	return 0;
}

void isc_image_info_clear(struct isc_image_info *i)
{
	free(i->name);
	free(i->verify_error);
	memset(i, 0, sizeof(*i));
}

/* ---- quick check ------------------------------------------------------------ */

/* What of an entry changed since import (NULL: nothing): `sx` is the
 * entry now, ino..cnsec its snapshot line. */
static const char *entry_changed(const struct isc_image_entry *e, const struct statx *sx, unsigned long long ino,
				 unsigned nlink, unsigned long long csec, unsigned cnsec, int immutable)
{
	static const struct {
		char type;
		mode_t fmt;
	} types[] = { { 'd', S_IFDIR }, { 'f', S_IFREG }, { 'l', S_IFLNK }, { 'p', S_IFIFO } };
	mode_t fmt = 0;
	for (size_t t = 0; t < ARRAY_SIZE(types); t++)
		if (types[t].type == e->type)
			fmt = types[t].fmt;
	const char *what = NULL;
	if ((sx->stx_mode & S_IFMT) != fmt)
		what = "type";
	else if ((sx->stx_mode & 07777) != e->mode)
		what = "mode";
	else if (sx->stx_uid != e->uid || sx->stx_gid != e->gid)
		what = "owner";
	else if (e->type != 'd' && sx->stx_size != e->size)
		what = "size";
	else if (sx->stx_ino != ino || sx->stx_nlink != nlink)
		what = "inode";
	else if ((unsigned long long)sx->stx_ctime.tv_sec != csec || sx->stx_ctime.tv_nsec != cnsec)
		what = "ctime";
	else if (immutable && isc_image_type_has_flags(e->type) && !(sx->stx_attributes & STATX_ATTR_IMMUTABLE))
		what = "immutable flag";
	return what;
}

int isc_image_quick_check(const char *image_dir, isc_error **err)
{
	const char *slash = strrchr(image_dir, '/');
	const char *id = slash ? slash + 1 : image_dir;
	cleanup_close int rootfd = -1;
	if (!isc_image_is_hex64(id, strlen(id)))
		return isc_error_set(err, EINVAL, "%s: not an image directory (<store>/sha256/<id>)", image_dir);
	cleanup_close int imgfd = open(image_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (imgfd < 0)
		return isc_error_set(err, errno, "image %s", image_dir);
	cleanup_close int storefd = openat(imgfd, "../..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (storefd < 0)
		return isc_error_set(err, errno, "image %s: its store", image_dir);

	/* 1. the last full verification must not have failed */
	struct isc_image_info info = { 0 };
	if (isc_image_state_read(storefd, id, &info, err) < 0)
		return isc_error_wrap(err, "image %.12s", id);
	if (!info.verify_ok) {
		int r = isc_error_set(err, 0,
				      "image %.12s: REFUSED: its last full verification failed (%s); run "
				      "'isc image verify' after repairing or re-importing it",
				      id, info.verify_error ? info.verify_error : "?");
		isc_image_info_clear(&info);
		return r;
	}
	isc_image_info_clear(&info);

	/* 2. the manifest is the id's */
	cleanup_free char *manifest = NULL, *snap = NULL;
	size_t mlen = 0, slen = 0;
	if (isc_read_file_at(imgfd, "manifest", &manifest, &mlen, 1 << 30, err) < 0 ||
	    isc_read_file_at(imgfd, "snapshot", &snap, &slen, 1 << 30, err) < 0)
		return isc_error_wrap(err, "image %.12s", id);
	struct isc_image_entry *v = NULL;
	unsigned char(*leaves)[32] = NULL;
	size_t n = 0;
	if (isc_image_manifest_parse(manifest, mlen, &v, &n, &leaves, err) < 0)
		return isc_error_wrap(err, "image %.12s: manifest", id);
	unsigned char rootd[32];
	char hex[65];
	isc_image_merkle_root((const unsigned char(*)[32])leaves, n, rootd);
	free(leaves);
	isc_sha256_hex(rootd, hex);
	int ret = 0;
	if (strcmp(hex, id) != 0) {
		ret = isc_error_set(err, 0, "image %.12s: REFUSED: manifest does not match the id", id);
		goto out;
	}

	/* 3. every entry as at import: the inode, its ctime (set by the kernel
	 * on any change, including clearing the immutable flag), the flag */
	const char *sp = snap, *se = snap + slen;
	int immutable = -1;
	const char *nl = memchr(sp, '\n', (size_t)(se - sp));
	if (nl == NULL || sscanf(sp, ISC_IMAGE_SNAPSHOT_MAGIC " immutable=%d", &immutable) != 1) {
		ret = isc_error_set(err, 0, "image %.12s: REFUSED: snapshot header", id);
		goto out;
	}
	sp = nl + 1;
	rootfd = openat(imgfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		ret = isc_error_set(err, errno, "image %.12s: rootfs", id);
		goto out;
	}
	struct statx sx;
	if (immutable) {
		static const char *const own[] = { ".", "manifest", "snapshot" };
		for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
			if (statx(imgfd, own[i], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0 ||
			    !(sx.stx_attributes & STATX_ATTR_IMMUTABLE)) {
				ret = isc_error_set(err, 0, "image %.12s: REFUSED: %s is not immutable", id, own[i]);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		nl = sp < se ? memchr(sp, '\n', (size_t)(se - sp)) : NULL;
		unsigned long long ino, csec;
		unsigned nlink, cnsec;
		if (nl == NULL || sscanf(sp, "%llu %u %llu %u", &ino, &nlink, &csec, &cnsec) != 4) {
			ret = isc_error_set(err, 0, "image %.12s: REFUSED: snapshot line %zu", id, i + 2);
			goto out;
		}
		sp = nl + 1;
		const struct isc_image_entry *e = &v[i];
		const char *rel = e->path[1] ? e->path + 1 : ".";
		if (statx(rootfd, rel, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0) {
			ret = isc_error_set(err, errno, "image %.12s: REFUSED: %s", id, e->path);
			goto out;
		}
		const char *what = entry_changed(e, &sx, ino, nlink, csec, cnsec, immutable);
		if (what) {
			ret = isc_error_set(
				err, 0, "image %.12s: REFUSED: %s changed since import (%s); run 'isc image verify'",
				id, e->path, what);
			goto out;
		}
	}
	if (sp != se)
		ret = isc_error_set(err, 0, "image %.12s: REFUSED: snapshot longer than the manifest", id);
out:
	isc_image_entries_free(v, n);
	return ret;
}

int isc_image_check_root(const char *rootfs_path, const char *expected_root_hex, isc_error **err)
{
	if (!isc_image_is_hex64(expected_root_hex, strlen(expected_root_hex)))
		return isc_error_set(err, EINVAL, "org.isc.image.root: \"%s\" is not 64 lowercase hex digits",
				     expected_root_hex);
	char real[PATH_MAX];
	if (realpath(rootfs_path, real) == NULL)
		return isc_error_set(err, errno, "org.isc.image.root: rootfs %s", rootfs_path);
	size_t l = strlen(real);
	static const char suffix[] = "/rootfs";
	if (l < sizeof(suffix) || strcmp(real + l - (sizeof(suffix) - 1), suffix) != 0)
		return isc_error_set(err, EINVAL, "org.isc.image.root: rootfs %s is not an image store rootfs",
				     rootfs_path);
	real[l - (sizeof(suffix) - 1)] = '\0';
	const char *slash = strrchr(real, '/');
	if (slash == NULL || strcmp(slash + 1, expected_root_hex) != 0 || slash - real < 7 ||
	    strncmp(slash - 7, "/sha256", 7) != 0)
		return isc_error_set(err, 0, "org.isc.image.root: rootfs %s is not image %s", rootfs_path,
				     expected_root_hex);
	if (isc_image_quick_check(real, err) < 0)
		return isc_error_wrap(err, "org.isc.image.root");
	return 0;
}

int isc_image_check_root_at(const char *rootfs_path, const char *expected_root_hex, const char *store, isc_error **err)
{
	if (!isc_image_is_hex64(expected_root_hex, strlen(expected_root_hex)))
		return isc_error_set(err, EINVAL, "org.isc.image.root: \"%s\" is not 64 lowercase hex digits",
				     expected_root_hex);
	if (store == NULL || store[0] != '/')
		return isc_error_set(err, EINVAL, ISC_IMAGE_STORE_ANNOTATION ": \"%s\" is not an absolute path",
				     store ? store : "");
	cleanup_free char *image_dir = isc_xasprintf("%s/sha256/%s", store, expected_root_hex);
	cleanup_free char *store_rootfs = isc_xasprintf("%s/rootfs", image_dir);
	struct statx a, b;
	unsigned mask = STATX_TYPE | STATX_INO;
	if (statx(AT_FDCWD, rootfs_path, 0, mask, &a) < 0)
		return isc_error_set(err, errno, "org.isc.image.root: rootfs %s", rootfs_path);
	if (statx(AT_FDCWD, store_rootfs, AT_SYMLINK_NOFOLLOW, mask, &b) < 0)
		return isc_error_set(err, errno, "org.isc.image.root: image %.12s in the store %s", expected_root_hex,
				     store);
	/* an idmapped (or any bind) mount shows the same inode of the same
	 * superblock; only the mount differs */
	if (!S_ISDIR(a.stx_mode) || !S_ISDIR(b.stx_mode) || a.stx_ino != b.stx_ino ||
	    a.stx_dev_major != b.stx_dev_major || a.stx_dev_minor != b.stx_dev_minor)
		return isc_error_set(err, 0, "org.isc.image.root: rootfs %s is not image %s of the store %s",
				     rootfs_path, expected_root_hex, store);
	if (isc_image_quick_check(image_dir, err) < 0)
		return isc_error_wrap(err, "org.isc.image.root");
	return 0;
}
