/* SPDX-License-Identifier: GPL-2.0-or-later
 * The image store: the store layout, seal (immutable flags + snapshot),
 * verify, list and remove; the manifest of a tree is built by tree.c.  The format as the
 * runtime reads it (manifest lines, the Merkle root, the quick check) is
 * manifest.c; import is import.c.  docs/images.md has the reasoning. */
#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
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

/* ---- the store ------------------------------------------------------------ */

int isc_image_name_check(const char *name, isc_error **err)
{
	size_t n = strlen(name);
	if (n == 0 || n > ISC_IMAGE_NAME_MAX)
		return isc_error_set(err, EINVAL, "image name \"%s\": 1 to %d characters", name, ISC_IMAGE_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || strchr("._:-", c) == NULL || c == '\0'))
			return isc_error_set(
				err, EINVAL,
				"image name \"%s\": letters, digits and . _ : - only, starting with a letter or digit",
				name);
	}
	return 0;
}

static const char *const store_subdirs[] = { "sha256", "names", "state", "tmp" };

int isc_image_store_open(const char *root, bool create, isc_error **err)
{
	cleanup_free char *store = isc_xasprintf("%s/images", root);
	if (create) {
		if (isc_mkdir_p(store, 0700, err) < 0)
			return isc_error_wrap(err, "image store %s", store);
	}
	cleanup_close int fd = open(store, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "image store %s", store);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "image store %s", store);
	/* root-only: the store holds what containers run */
	if (st.st_uid != 0 || (st.st_mode & 077) != 0)
		return isc_error_set(err, EPERM,
				     "image store %s: must be owned by root with mode 0700 (is %04o uid %u)", store,
				     st.st_mode & 07777, st.st_uid);
	for (size_t i = 0; create && i < ARRAY_SIZE(store_subdirs); i++)
		if (mkdirat(fd, store_subdirs[i], 0700) < 0 && errno != EEXIST)
			return isc_error_set(err, errno, "mkdir %s/%s", store, store_subdirs[i]);
	return steal_fd(&fd);
}

int isc_image_store_lock(int storefd, isc_error **err)
{
	cleanup_close int fd = openat(storefd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return isc_error_set(err, errno, "image store lock");
	if (flock(fd, LOCK_EX) < 0)
		return isc_error_set(err, errno, "lock the image store");
	return steal_fd(&fd);
}

/* names/NAME -> ../sha256/<id> */
int isc_image_name_read(int storefd, const char *name, char id[65], isc_error **err)
{
	cleanup_free char *rel = isc_xasprintf("names/%s", name);
	char target[256];
	ssize_t n = readlinkat(storefd, rel, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT)
			return isc_error_set(err, ENOENT, "image \"%s\" does not exist", name);
		return isc_error_set(err, errno, "image \"%s\": read its name link", name);
	}
	target[n] = '\0';
	static const char prefix[] = "../sha256/";
	if (strncmp(target, prefix, sizeof(prefix) - 1) != 0 ||
	    !isc_image_is_hex64(target + sizeof(prefix) - 1, strlen(target + sizeof(prefix) - 1)))
		return isc_error_set(err, EINVAL, "image \"%s\": name link points to \"%s\", not an image id", name,
				     target);
	memcpy(id, target + sizeof(prefix) - 1, 65);
	return 0;
}

int isc_image_resolve(const char *root, const char *name, char id[65], isc_error **err)
{
	if (isc_image_name_check(name, err) < 0)
		return -1;
	cleanup_close int store = isc_image_store_open(root, false, err);
	if (store < 0)
		return -1;
	return isc_image_name_read(store, name, id, err);
}

static int write_name(int storefd, const char *name, const char *id, isc_error **err)
{
	cleanup_free char *target = isc_xasprintf("../sha256/%s", id);
	cleanup_free char *tmp = isc_xasprintf("names/.%s.tmp.%d", name, (int)getpid());
	cleanup_free char *rel = isc_xasprintf("names/%s", name);
	(void)unlinkat(storefd, tmp, 0);
	if (symlinkat(target, storefd, tmp) < 0)
		return isc_error_set(err, errno, "image \"%s\": create its name link", name);
	if (renameat(storefd, tmp, storefd, rel) < 0) {
		int e = errno;
		(void)unlinkat(storefd, tmp, 0);
		return isc_error_set(err, e, "image \"%s\": replace its name link", name);
	}
	return 0;
}

/* ---- immutable flags -------------------------------------------------------- */

/* 0, or -errno (ENOTTY / EOPNOTSUPP: the file system has no such flag) */
static int set_immutable_fd(int fd, bool on)
{
	int flags;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return -errno;
	int nflags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
	if (nflags != flags && ioctl(fd, FS_IOC_SETFLAGS, &nflags) < 0)
		return -errno;
	return 0;
}

static int set_immutable_at(int dirfd, const char *name, bool on)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	return set_immutable_fd(fd, on);
}

static int open_beneath(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *rel = path[1] ? path + 1 : ".";
	long r = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	return r < 0 ? -1 : (int)r;
}

int isc_image_rm_tree_at(int atfd, const char *name, isc_error **err)
{
	struct stat st;
	if (fstatat(atfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "remove %s", name);
	}
	if (S_ISDIR(st.st_mode)) {
		cleanup_close int fd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return isc_error_set(err, errno, "remove %s", name);
		(void)set_immutable_fd(fd, false);
		int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dfd < 0)
			return isc_error_set(err, errno, "remove %s", name);
		cleanup_dir DIR *d = fdopendir(dfd);
		if (d == NULL) {
			close(dfd);
			return isc_error_set(err, errno, "remove %s", name);
		}
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (isc_image_rm_tree_at(dirfd(d), de->d_name, err) < 0)
				return isc_error_wrap(err, "%s", name);
		}
		if (unlinkat(atfd, name, AT_REMOVEDIR) < 0)
			return isc_error_set(err, errno, "remove %s", name);
		return 0;
	}
	if (unlinkat(atfd, name, 0) == 0)
		return 0;
	if (errno == EPERM && S_ISREG(st.st_mode) && set_immutable_at(atfd, name, false) == 0 &&
	    unlinkat(atfd, name, 0) == 0)
		return 0;
	return isc_error_set(err, errno, "remove %s", name);
}

/* ---- seal: immutable flags + snapshot --------------------------------------- */

/* imgfd: the image directory (holding rootfs/ and manifest).  Sets the
 * immutable flag on every directory and regular file of the rootfs and on
 * the manifest, then records inode, nlink and ctime of every entry in
 * `snapshot` (written atomically, then made immutable too). */
static int seal(int imgfd, const struct isc_image_entry *v, size_t n, isc_error **err)
{
	cleanup_close int rootfd = openat(imgfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return isc_error_set(err, errno, "open rootfs");
	bool immutable = true;
	int r = set_immutable_at(imgfd, "manifest", true);
	if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
		immutable = false; /* documented: the ctime snapshot still holds */
	else if (r < 0)
		return isc_error_set(err, -r, "set the immutable flag on manifest");
	for (size_t i = 0; immutable && i < n; i++) {
		if (!isc_image_type_has_flags(v[i].type))
			continue;
		cleanup_close int fd = open_beneath(rootfd, v[i].path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return isc_error_set(err, errno, "open %s", v[i].path);
		r = set_immutable_fd(fd, true);
		if (r < 0)
			return isc_error_set(err, -r, "set the immutable flag on %s", v[i].path);
	}
	/* ctime is taken after the flags: setting a flag changes it */
	size_t cap = 64 + n * 64, used = 0;
	cleanup_free char *snap = isc_xmalloc0(cap);
	used += (size_t)snprintf(snap, cap, ISC_IMAGE_SNAPSHOT_MAGIC " immutable=%d\n", immutable ? 1 : 0);
	for (size_t i = 0; i < n; i++) {
		struct statx sx;
		const char *rel = v[i].path[1] ? v[i].path + 1 : ".";
		if (statx(rootfd, rel, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
			return isc_error_set(err, errno, "stat %s", v[i].path);
		used += (size_t)snprintf(snap + used, cap - used, "%llu %u %lld %u\n", (unsigned long long)sx.stx_ino,
					 sx.stx_nlink, (long long)sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec);
	}
	(void)set_immutable_at(imgfd, "snapshot", false);
	if (isc_write_file_atomic(imgfd, "snapshot", snap, used, 0400, err) < 0)
		return -1;
	if (immutable && (r = set_immutable_at(imgfd, "snapshot", true)) < 0)
		return isc_error_set(err, -r, "set the immutable flag on snapshot");
	return 0;
}

/* ---- state: import time, size, last verification ---------------------------- */

static int state_write(int storefd, const struct isc_image_info *i, isc_error **err)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "id", i->id, "size", (json_int_t)i->size, "files",
			      (json_int_t)i->files, "imported", (json_int_t)i->imported, "verified",
			      (json_int_t)i->verified, "verify", i->verify_ok ? "ok" : "failed");
	if (o == NULL)
		abort();
	if (i->verify_error)
		json_object_set_new(o, "verify_error", json_string(i->verify_error));
	cleanup_close int sfd = openat(storefd, "state", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		json_decref(o);
		return isc_error_set(err, errno, "image store state directory");
	}
	cleanup_free char *fname = isc_xasprintf("%s.json", i->id);
	/* the configs of the names (isc_image_state_set_config) stay */
	cleanup_free char *oldtext = NULL;
	size_t oldlen = 0;
	if (isc_read_file_at(sfd, fname, &oldtext, &oldlen, 1 << 20, NULL) == 0) {
		json_t *old = json_loadb(oldtext, oldlen, 0, NULL);
		json_t *configs = json_object_get(old, "configs");
		if (json_is_object(configs))
			json_object_set(o, "configs", configs);
		json_decref(old);
	}
	cleanup_free char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		abort();
	return isc_write_file_atomic(sfd, fname, text, strlen(text), 0600, err);
}

/* ---- commit an import ---------------------------------------------------- */

int isc_image_store_commit(int storefd, const char *tmpname, const char *name, char id[65], char old_id[65],
			   isc_error **err)
{
	old_id[0] = '\0';
	cleanup_free char *tmprel = isc_xasprintf("tmp/%s", tmpname);
	cleanup_close int imgfd = openat(storefd, tmprel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (imgfd < 0)
		return isc_error_set(err, errno, "open %s", tmprel);
	cleanup_close int rootfd = openat(imgfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return isc_error_set(err, errno, "open %s/rootfs", tmprel);
	/* The id is computed from what was written, read back from the disk. */
	cleanup_free char *manifest = NULL;
	size_t mlen = 0;
	uint64_t bytes = 0;
	if (isc_image_manifest_build(rootfd, &manifest, &mlen, &bytes, err) < 0)
		return isc_error_wrap(err, "manifest");
	struct isc_image_entry *v = NULL;
	unsigned char(*leaves)[32] = NULL;
	size_t n = 0;
	if (isc_image_manifest_parse(manifest, mlen, &v, &n, &leaves, err) < 0)
		return isc_error_wrap(err, "manifest just built");
	unsigned char rootd[32];
	isc_image_merkle_root((const unsigned char(*)[32])leaves, n, rootd);
	free(leaves);
	isc_sha256_hex(rootd, id);

	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0) {
		isc_image_entries_free(v, n);
		return -1;
	}
	cleanup_error isc_error *noname = NULL;
	if (isc_image_name_read(storefd, name, old_id, &noname) < 0)
		old_id[0] = '\0'; /* a new name (or a broken link, replaced) */
	cleanup_free char *final = isc_xasprintf("sha256/%s", id);
	struct stat st;
	if (fstatat(storefd, final, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* the same content is already stored: share it */
		isc_image_entries_free(v, n);
		if (isc_image_rm_tree_at(storefd, tmprel, err) < 0)
			return -1;
		return write_name(storefd, name, id, err);
	}
	int ret = isc_write_file_atomic(imgfd, "manifest", manifest, mlen, 0400, err);
	if (ret == 0)
		ret = seal(imgfd, v, n, err);
	isc_image_entries_free(v, n);
	if (ret < 0)
		return isc_error_wrap(err, "seal the image");
	if (renameat(storefd, tmprel, storefd, final) < 0)
		return isc_error_set(err, errno, "move %s to %s", tmprel, final);
	int r = set_immutable_at(storefd, final, true);
	if (r < 0 && r != -ENOTTY && r != -EOPNOTSUPP && r != -EINVAL)
		return isc_error_set(err, -r, "set the immutable flag on %s", final);
	struct isc_image_info info = {
		.size = bytes,
		.files = n,
		.imported = time(NULL),
		.verified = time(NULL),
		.verify_ok = true,
	};
	memcpy(info.id, id, 65);
	if (state_write(storefd, &info, err) < 0)
		return -1;
	return write_name(storefd, name, id, err);
}

/* ---- verify ---------------------------------------------------------------- */

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

/* Compare two sorted manifests; on the first difference, a message naming
 * the path. */
static int manifest_compare(const char *want, size_t wlen, const char *have, size_t hlen, isc_error **err)
{
	const char *w = want, *we = want + wlen, *h = have, *he = have + hlen;
	while (w < we || h < he) {
		const char *wl = w < we ? line_end(w, we) : we, *hl = h < he ? line_end(h, he) : he;
		if (w < we && h < he && wl - w == hl - h && memcmp(w, h, (size_t)(wl - w)) == 0) {
			w = wl + 1;
			h = hl + 1;
			continue;
		}
		struct isc_image_entry a = { 0 }, b = { 0 };
		cleanup_error isc_error *ignored = NULL;
		bool wa = w < we && isc_image_manifest_parse_line(w, (size_t)(wl - w), &a, &ignored) == 0;
		bool hb = h < he && isc_image_manifest_parse_line(h, (size_t)(hl - h), &b, &ignored) == 0;
		int ret;
		if (wa && hb && strcmp(a.path, b.path) == 0) {
			const char *what = a.type != b.type					 ? "type"
					   : strcmp(a.digest, b.digest) != 0 || a.size != b.size ? "content"
					   : a.mode != b.mode					 ? "mode"
												 : "owner";
			ret = isc_error_set(err, 0, "%s: %s differs from the manifest", a.path, what);
		} else if (wa && (!hb || strcmp(a.path, b.path) < 0)) {
			ret = isc_error_set(err, 0, "%s: missing", a.path);
		} else if (hb) {
			ret = isc_error_set(err, 0, "%s: not in the manifest", b.path);
		} else {
			ret = isc_error_set(err, 0, "the manifest does not parse");
		}
		isc_image_entry_clear(&a);
		isc_image_entry_clear(&b);
		return ret;
	}
	return 0;
}

static int record_verification(int storefd, const char *id, bool ok, const char *msg, isc_error **err)
{
	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0)
		return -1;
	struct isc_image_info info = { 0 };
	if (isc_image_state_read(storefd, id, &info, err) < 0)
		return -1;
	info.verified = time(NULL);
	info.verify_ok = ok;
	free(info.verify_error);
	info.verify_error = ok ? NULL : isc_xstrdup(msg);
	int r = state_write(storefd, &info, err);
	isc_image_info_clear(&info);
	return r;
}

/* The full check of one image directory: the manifest's root is the id,
 * and the tree hashes to the manifest. */
static int verify_dir(int imgfd, const char *id, isc_error **err)
{
	cleanup_free char *manifest = NULL;
	size_t mlen = 0;
	if (isc_read_file_at(imgfd, "manifest", &manifest, &mlen, 1 << 30, err) < 0)
		return -1;
	char root[65];
	if (isc_image_manifest_root(manifest, mlen, root, err) < 0)
		return isc_error_wrap(err, "manifest");
	if (strcmp(root, id) != 0)
		return isc_error_set(err, 0, "manifest: its Merkle root is %s, not the image id", root);
	cleanup_close int rootfd = openat(imgfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return isc_error_set(err, errno, "open rootfs");
	cleanup_free char *have = NULL;
	size_t hlen = 0;
	if (isc_image_manifest_build(rootfd, &have, &hlen, NULL, err) < 0) {
		(*err)->errnum = 0;
		return -1;
	}
	return manifest_compare(manifest, mlen, have, hlen, err);
}

int isc_image_verify(const char *root, const char *name, isc_error **err)
{
	if (isc_image_name_check(name, err) < 0)
		return -1;
	cleanup_close int storefd = isc_image_store_open(root, false, err);
	if (storefd < 0)
		return -1;
	char id[65];
	if (isc_image_name_read(storefd, name, id, err) < 0)
		return -1;
	cleanup_free char *rel = isc_xasprintf("sha256/%s", id);
	cleanup_close int imgfd = openat(storefd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (imgfd < 0)
		return isc_error_set(err, errno, "image \"%s\": open %s", name, rel);
	if (verify_dir(imgfd, id, err) < 0) {
		char buf[1024];
		isc_error_text(*err, buf, sizeof(buf));
		cleanup_error isc_error *rerr = NULL;
		(void)record_verification(storefd, id, false, buf, &rerr);
		return isc_error_wrap(err, "image \"%s\" (%.12s) is damaged", name, id);
	}
	/* intact: re-seal, so that a quick check passes again after an
	 * operator repaired flags or an earlier failure was recorded */
	cleanup_free char *manifest = NULL;
	size_t mlen = 0;
	struct isc_image_entry *v = NULL;
	size_t n = 0;
	if (isc_read_file_at(imgfd, "manifest", &manifest, &mlen, 1 << 30, err) < 0 ||
	    isc_image_manifest_parse(manifest, mlen, &v, &n, NULL, err) < 0)
		return isc_error_wrap(err, "image \"%s\"", name);
	cleanup_close int wfd = openat(storefd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wfd < 0) {
		isc_image_entries_free(v, n);
		return isc_error_set(err, errno, "image \"%s\": open %s", name, rel);
	}
	(void)set_immutable_fd(wfd, false);
	int r = seal(imgfd, v, n, err);
	isc_image_entries_free(v, n);
	(void)set_immutable_fd(wfd, true);
	if (r < 0)
		return isc_error_wrap(err, "image \"%s\": re-seal", name);
	return record_verification(storefd, id, true, NULL, err);
}

int isc_image_state_set_config(int storefd, const char *id, const char *name, json_t *config, isc_error **err)
{
	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0)
		return -1;
	cleanup_close int sfd = openat(storefd, "state", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return isc_error_set(err, errno, "image store state directory");
	cleanup_free char *fname = isc_xasprintf("%s.json", id);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_read_file_at(sfd, fname, &text, &len, 1 << 20, err) < 0)
		return isc_error_wrap(err, "image %.12s: state", id);
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return isc_error_set(err, EINVAL, "image %.12s: state: %s", id, je.text);
	}
	json_t *configs = json_object_get(o, "configs");
	if (!json_is_object(configs)) {
		configs = json_object();
		json_object_set_new(o, "configs", configs);
	}
	if (config)
		json_object_set(configs, name, config);
	else
		json_object_del(configs, name);
	if (json_object_size(configs) == 0)
		json_object_del(o, "configs");
	cleanup_free char *out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (out == NULL)
		abort();
	return isc_write_file_atomic(sfd, fname, out, strlen(out), 0600, err);
}

int isc_image_config(const char *root, const char *name, json_t **config, isc_error **err)
{
	*config = NULL;
	char id[65];
	if (isc_image_resolve(root, name, id, err) < 0)
		return -1;
	cleanup_free char *path = isc_xasprintf("%s/images/state/%s.json", root, id);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_read_file(path, &text, &len, 1 << 20, err) < 0)
		return isc_error_wrap(err, "image \"%s\": state", name);
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return isc_error_set(err, EINVAL, "image \"%s\": state %s: %s", name, path, je.text);
	}
	json_t *c = json_object_get(json_object_get(o, "configs"), name);
	if (json_is_object(c))
		*config = json_incref(c);
	json_decref(o);
	return 0;
}

/* ---- list and remove ---------------------------------------------------------- */

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct isc_image_info *)a)->name, ((const struct isc_image_info *)b)->name);
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct isc_image_info *)a)->id, ((const struct isc_image_info *)b)->id);
}

int isc_image_list(const char *root, struct isc_image_info **out, size_t *nout, isc_error **err)
{
	*out = NULL;
	*nout = 0;
	cleanup_close int storefd = isc_image_store_open(root, false, err);
	if (storefd < 0) {
		if ((*err)->errnum == ENOENT) {
			isc_error_free(err);
			return 0;
		}
		return -1;
	}
	int nfd = openat(storefd, "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "image store names");
	}
	cleanup_dir DIR *d = fdopendir(nfd); /* owns nfd from here */
	if (d == NULL) {
		int e = errno;
		close(nfd);
		return isc_error_set(err, e, "image store names");
	}
	struct isc_image_info *v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_error isc_error *e2 = NULL;
		struct isc_image_info info = { 0 };
		if (isc_image_name_check(de->d_name, &e2) < 0 ||
		    isc_image_name_read(storefd, de->d_name, info.id, &e2) < 0)
			continue;
		if (isc_image_state_read(storefd, info.id, &info, &e2) < 0)
			info.verify_error = isc_xstrdup("no state record");
		info.name = isc_xstrdup(de->d_name);
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = info;
	}
	if (n)
		qsort(v, n, sizeof(*v), info_cmp);
	size_t named = n;
	/* then the content no name points to (a name re-imported or removed
	 * with --force while a service used it): "<none>", never a name */
	int sfd = openat(storefd, "sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_dir DIR *sd = sfd < 0 ? NULL : fdopendir(sfd);
	if (sfd >= 0 && sd == NULL)
		close(sfd);
	while (sd != NULL && (de = readdir(sd)) != NULL) {
		if (!isc_image_is_hex64(de->d_name, strlen(de->d_name)))
			continue;
		bool seen = false;
		for (size_t i = 0; i < named && !seen; i++)
			seen = strcmp(v[i].id, de->d_name) == 0;
		if (seen)
			continue;
		cleanup_error isc_error *e2 = NULL;
		struct isc_image_info info = { 0 };
		memcpy(info.id, de->d_name, 65);
		if (isc_image_state_read(storefd, info.id, &info, &e2) < 0)
			info.verify_error = isc_xstrdup("no state record");
		info.name = isc_xstrdup(ISC_IMAGE_UNNAMED);
		info.unnamed = true;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = info;
	}
	if (n > named)
		qsort(v + named, n - named, sizeof(*v), id_cmp);
	*out = v;
	*nout = n;
	return 0;
}

int isc_image_content_remove(int storefd, const char *id, isc_error **err)
{
	/* move it out of sha256/ first, so that no half-removed image is ever
	 * found under its id */
	cleanup_free char *final = isc_xasprintf("sha256/%s", id);
	cleanup_free char *trash = isc_xasprintf("tmp/rm-%s-%d", id, (int)getpid());
	(void)set_immutable_at(storefd, final, false);
	if (renameat(storefd, final, storefd, trash) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "move %s away", final);
	if (isc_image_rm_tree_at(storefd, trash, err) < 0)
		return isc_error_wrap(err, "remove the content %.12s", id);
	cleanup_free char *state = isc_xasprintf("state/%s.json", id);
	if (unlinkat(storefd, state, 0) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "remove %s", state);
	return 0;
}
