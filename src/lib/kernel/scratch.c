/* SPDX-License-Identifier: GPL-2.0-or-later
 * org.isc.scratch (see scratch.h for the design and the grammar).
 *
 * Costs (kernel-notes.md section 1): copying the template's few data
 * extents into the unnamed image is cheaper than fork/exec of mkfs.ext4
 * (2.2 ms warm, 17 ms cold), which runs once per size and state root.  The
 * filesystem has no journal: scratch does not outlive its key, so there is
 * nothing to recover after a crash. */
#include "kernel/scratch.h"
#include "kernel/rootfs-internal.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <linux/fscrypt.h>
#include <linux/magic.h>
#include <linux/loop.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MKFS_EXT4 "/sbin/mkfs.ext4"
#define FS_BLOCK 4096
#define DATA_DIR "data"

/* ------------------------------------------------------------------ */
/* the annotation                                                     */

static int bad(isc_error **err, const char *item, const char *why)
{
	return isc_error_set(err, EINVAL, "annotation %s: \"%s\": %s", ISC_SCRATCH_ANNOTATION, item, why);
}

static int parse_size(const char *v, uint64_t *out)
{
	static const struct {
		char suffix;
		unsigned shift;
	} units[] = {
		{ 'k', 10 }, { 'K', 10 }, { 'm', 20 }, { 'M', 20 }, { 'g', 30 }, { 'G', 30 },
	};
	size_t n = strlen(v);
	unsigned shift = 0;
	for (size_t i = 0; n > 0 && i < ARRAY_SIZE(units); i++)
		if (v[n - 1] == units[i].suffix) {
			shift = units[i].shift;
			n--;
			break;
		}
	if (n == 0 || n > 20)
		return -1;
	char digits[24];
	memcpy(digits, v, n);
	digits[n] = '\0';
	uint64_t x;
	if (isc_parse_u64(digits, &x) < 0 || x > (ISC_SCRATCH_MAX_SIZE >> shift))
		return -1;
	*out = x << shift;
	return 0;
}

static bool path_ok(const char *p)
{
	if (p[0] != '/' || strlen(p) >= PATH_MAX)
		return false;
	/* no "." or ".." components, not "/" itself */
	bool any = false;
	for (const char *c = p; *c;) {
		while (*c == '/')
			c++;
		const char *e = strchrnul(c, '/');
		size_t n = (size_t)(e - c);
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (n > 0)
			any = true;
		c = e;
	}
	return any;
}

static bool under(const char *p, const char *dir)
{
	while (p[0] == '/' && p[1] == '/')
		p++;
	size_t n = strlen(dir);
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int isc_scratch_parse(const char *value, struct isc_scratch_opts *o, isc_error **err)
{
	memset(o, 0, sizeof(*o));
	o->size = ISC_SCRATCH_DEFAULT_SIZE;
	const char *unknown_item = NULL;
	if (value == NULL)
		value = "";
	bool seen_size = false, seen_path = false, seen_exec = false;
	cleanup_free char *copy = isc_xstrdup(value);
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (eq == NULL) {
			if (strcmp(item, "exec") != 0 && strcmp(item, "noexec") != 0) {
				unknown_item = item;
				goto unknown;
			}
			if (seen_exec)
				goto dup;
			seen_exec = true;
			o->exec = strcmp(item, "exec") == 0;
			continue;
		}
		*eq = '\0';
		const char *v = eq + 1;
		if (strcmp(item, "size") == 0) {
			if (seen_size)
				goto dup;
			seen_size = true;
			uint64_t sz;
			if (parse_size(v, &sz) < 0) {
				*eq = '=';
				isc_scratch_opts_clear(o);
				return bad(
					err, item,
					"size must be a number of bytes with an optional k, m or g suffix, at most 1024g");
			}
			if (sz < ISC_SCRATCH_MIN_SIZE) {
				*eq = '=';
				isc_scratch_opts_clear(o);
				return bad(err, item, "size must be at least 1m");
			}
			o->size = (sz + FS_BLOCK - 1) / FS_BLOCK * FS_BLOCK;
		} else if (strcmp(item, "path") == 0) {
			if (seen_path)
				goto dup;
			seen_path = true;
			if (!path_ok(v) || under(v, "/proc") || under(v, "/sys") || under(v, "/dev")) {
				*eq = '=';
				isc_scratch_opts_clear(o);
				return bad(
					err, item,
					"path must be absolute, without . or .. components, not / and not in /proc, /sys or /dev");
			}
			o->path = isc_xstrdup(v);
		} else {
			*eq = '=';
			unknown_item = item;
			goto unknown;
		}
	}
	if (o->path == NULL)
		o->path = isc_xstrdup("/scratch");
	return 0;
unknown:
	isc_scratch_opts_clear(o);
	return isc_error_set(err, EINVAL, "annotation %s: unknown item \"%s\" in \"%s\" (size=, path=, exec, noexec)",
			     ISC_SCRATCH_ANNOTATION, unknown_item, value);
dup:
	isc_scratch_opts_clear(o);
	return isc_error_set(err, EINVAL, "annotation %s: \"%s\": an item is given twice", ISC_SCRATCH_ANNOTATION,
			     value);
}

void isc_scratch_opts_clear(struct isc_scratch_opts *o)
{
	free(o->path);
	o->path = NULL;
}

int isc_scratch_map_id(const struct isc_idmap *maps, size_t n, uint32_t id, uint32_t *out)
{
	if (n == 0) {
		*out = id;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (id >= maps[i].container_id && id - maps[i].container_id < maps[i].size) {
			*out = maps[i].host_id + (id - maps[i].container_id);
			return 0;
		}
	return -1;
}

int isc_scratch_map_id_text(const char *text, uint32_t id, uint32_t *out)
{
	for (const char *l = text; l && *l;) {
		unsigned long a, b, c;
		if (sscanf(l, "%lu %lu %lu", &a, &b, &c) == 3 && id >= a && id - a < c) {
			*out = (uint32_t)(b + (id - a));
			return 0;
		}
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* the image                                                          */

static int run_mkfs(int fd, isc_error **err)
{
	/* fd 3 (or 4) in mkfs: dup2 to another number clears close-on-exec */
	int target = fd == 3 ? 4 : 3;
	char dev[ISC_FDPATH_MAX];
	isc_fdpath(dev, target, NULL);
	char *argv[] = { "mkfs.ext4", "-q",	   "-F", "-b", "4096", "-m", "0", "-O", "encrypt,^has_journal",
			 "-E",	      "nodiscard", dev,	 NULL };
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	/* its stderr kept: when it fails, its last line is the cause */
	cleanup_close int errfd = memfd_create("mkfs-stderr", MFD_CLOEXEC);
	if (errfd >= 0 && errfd != fd && errfd != target)
		posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, target);
	pid_t pid;
	int r = posix_spawn(&pid, MKFS_EXT4, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return isc_error_set(err, r, "run %s", MKFS_EXT4);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return isc_error_set(err, errno, "wait for %s", MKFS_EXT4);
	char said[512] = "";
	ssize_t n = errfd >= 0 ? pread(errfd, said, sizeof(said) - 1, 0) : -1;
	if (n > 0) {
		said[n] = '\0';
		while (n > 0 && (said[n - 1] == '\n' || said[n - 1] == ' '))
			said[--n] = '\0';
		char *last = strrchr(said, '\n');
		if (last)
			memmove(said, last + 1, strlen(last + 1) + 1);
	}
	if (WIFSIGNALED(status))
		return isc_error_set(err, 0, "%s killed by signal %d", MKFS_EXT4, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return isc_error_set(err, 0, "%s exited with status %d%s%s", MKFS_EXT4, WEXITSTATUS(status),
				     said[0] ? ": " : "", said);
	return 0;
}

/* A cached template must be root's, private, and exactly the size. */
static int open_template(int cache_fd, const char *name, uint64_t size)
{
	int fd = openat(cache_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) ||
	    (uint64_t)st.st_size != size) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* The template for `size` from the cache, made (and cached) when missing
 * or not trustworthy.  -1 with *err unset: no cache, mkfs directly. */
static int get_template(const char *cache_dir, uint64_t size, isc_error **err)
{
	if (cache_dir == NULL)
		return -1;
	cleanup_close int dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		cleanup_error isc_error *e = NULL;
		if (isc_mkdir_p(cache_dir, 0700, &e) < 0)
			return -1;
		dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	struct stat st;
	if (dfd < 0 || fstat(dfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022))
		return -1;
	char name[40];
	/* the format version names the mkfs options: bump it when they change */
	snprintf(name, sizeof(name), "v1-%llu.img", (unsigned long long)size);
	int fd = open_template(dfd, name, size);
	if (fd >= 0)
		return fd;
	/* make it under a private name, then rename over whatever was there */
	char tmp[64];
	snprintf(tmp, sizeof(tmp), ".%s.%d", name, (int)getpid());
	cleanup_close int w = openat(dfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w < 0)
		return -1;
	if (ftruncate(w, (off_t)size) < 0 || run_mkfs(w, err) < 0 || fsync(w) < 0 ||
	    renameat(dfd, tmp, dfd, name) < 0) {
		int saved = errno;
		unlinkat(dfd, tmp, 0);
		if (*err)
			return -2;
		errno = saved;
		return -1;
	}
	return open_template(dfd, name, size);
}

/* Copy the template's data extents; the rest stays a hole. */
static int copy_sparse(int from, int to, uint64_t size)
{
	char buf[65536];
	off_t off = 0;
	for (;;) {
		off_t d = lseek(from, off, SEEK_DATA);
		if (d < 0)
			return errno == ENXIO ? 0 : -1;
		off_t h = lseek(from, d, SEEK_HOLE);
		if (h < 0)
			return -1;
		for (off_t p = d; p < h;) {
			size_t n = (size_t)(h - p) < sizeof(buf) ? (size_t)(h - p) : sizeof(buf);
			ssize_t r = pread(from, buf, n, p);
			if (r <= 0)
				return r == 0 ? (errno = EIO, -1) : -1;
			ssize_t w = pwrite(to, buf, (size_t)r, p);
			if (w != r)
				return w < 0 ? -1 : (errno = EIO, -1);
			p += r;
		}
		off = h;
		if ((uint64_t)off >= size)
			return 0;
	}
}

/* The unnamed image, ready to attach. */
static int make_image(const struct isc_scratch_opts *o, const char *cache_dir, int dir_fd, isc_error **err)
{
	cleanup_close int img = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (img < 0)
		return isc_error_set(err, errno, "create the image (O_TMPFILE)");
	if (ftruncate(img, (off_t)o->size) < 0)
		return isc_error_set(err, errno, "size the image to %llu bytes", (unsigned long long)o->size);
	cleanup_close int tpl = get_template(cache_dir, o->size, err);
	if (tpl == -2)
		return -1;
	if (tpl >= 0) {
		if (copy_sparse(tpl, img, o->size) < 0)
			return isc_error_set(err, errno, "copy the image template");
	} else if (run_mkfs(img, err) < 0) {
		return -1;
	}
	return steal_fd(&img);
}

/* Attach on a free loop device that clears itself at the last close. */
static int attach_loop(int img, const char *id, char *name, size_t name_len, isc_error **err)
{
	cleanup_close int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return isc_error_set(err, errno, "open /dev/loop-control");
	for (int attempt = 0; attempt < 16; attempt++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return isc_error_set(err, errno, "LOOP_CTL_GET_FREE");
		snprintf(name, name_len, "/dev/loop%d", n);
		cleanup_close int lfd = open(name, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			return isc_error_set(err, errno, "open %s", name);
		struct loop_config cfg = { .fd = (uint32_t)img, .block_size = FS_BLOCK };
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "isc-scratch:%s", id);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
			return steal_fd(&lfd);
		if (errno != EBUSY)
			return isc_error_set(err, errno, "LOOP_CONFIGURE %s", name);
		/* another process took it between GET_FREE and CONFIGURE */
	}
	return isc_error_set(err, EBUSY, "no free loop device");
}

/* ------------------------------------------------------------------ */
/* setup                                                              */

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int add_key(int mnt_fd, uint8_t id_out[FSCRYPT_KEY_IDENTIFIER_SIZE], isc_error **err)
{
	/* the argument ends in a flexible array for the key bytes */
	_Alignas(struct fscrypt_add_key_arg) unsigned char
		buf[sizeof(struct fscrypt_add_key_arg) + FSCRYPT_MAX_KEY_SIZE];
	struct fscrypt_add_key_arg *a = (struct fscrypt_add_key_arg *)buf;
	memset(buf, 0, sizeof(buf));
	a->key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	a->raw_size = FSCRYPT_MAX_KEY_SIZE;
	int r = 0;
	if (getrandom(a->raw, FSCRYPT_MAX_KEY_SIZE, 0) != (ssize_t)FSCRYPT_MAX_KEY_SIZE)
		r = isc_error_set(err, errno ? errno : EIO, "getrandom for the key");
	else if (ioctl(mnt_fd, FS_IOC_ADD_ENCRYPTION_KEY, a) < 0)
		r = isc_error_set(err, errno, "FS_IOC_ADD_ENCRYPTION_KEY");
	else
		memcpy(id_out, a->key_spec.u.identifier, FSCRYPT_KEY_IDENTIFIER_SIZE);
	explicit_bzero(buf, sizeof(buf));
	return r;
}

int isc_scratch_setup(const struct isc_scratch_opts *o, const char *cache_dir, int image_dir_fd, const char *mnt,
		      uid_t uid, gid_t gid, const char *id, struct isc_scratch *s, isc_error **err)
{
	memset(s, 0, sizeof(*s));
	s->tree_fd = -1;
	s->mount = isc_xstrdup(mnt);
	if (mkdir(mnt, 0700) < 0)
		return isc_error_set(err, errno, "%s: mkdir %s", ISC_SCRATCH_ANNOTATION, mnt);

	cleanup_close int img = make_image(o, cache_dir, image_dir_fd, err);
	if (img < 0)
		return isc_error_wrap(err, "%s", ISC_SCRATCH_ANNOTATION);
	cleanup_close int loop = attach_loop(img, id, s->loop, sizeof(s->loop), err);
	if (loop < 0)
		return isc_error_wrap(err, "%s", ISC_SCRATCH_ANNOTATION);
	isc_closep(&img); /* the loop device holds it; it goes when the loop clears */

	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(s->loop, mnt, "ext4", flags, "") < 0)
		return isc_error_set(err, errno, "%s: mnt %s on %s", ISC_SCRATCH_ANNOTATION, s->loop, mnt);
	isc_closep(&loop); /* mounted: the last umount now clears the loop device */

	cleanup_close int mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mfd < 0)
		return isc_error_set(err, errno, "%s: open %s", ISC_SCRATCH_ANNOTATION, mnt);
	uint8_t key_id[FSCRYPT_KEY_IDENTIFIER_SIZE];
	if (add_key(mfd, key_id, err) < 0)
		return isc_error_wrap(err, "%s: %s", ISC_SCRATCH_ANNOTATION, mnt);
	hex(key_id, sizeof(key_id), s->key_id);

	if (mkdirat(mfd, DATA_DIR, 0700) < 0)
		return isc_error_set(err, errno, "%s: mkdir %s/" DATA_DIR, ISC_SCRATCH_ANNOTATION, mnt);
	cleanup_close int dfd = openat(mfd, DATA_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "%s: open %s/" DATA_DIR, ISC_SCRATCH_ANNOTATION, mnt);
	struct fscrypt_policy_v2 pol = {
		.version = FSCRYPT_POLICY_V2,
		.contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS,
		.filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS,
		.flags = FSCRYPT_POLICY_FLAGS_PAD_32,
	};
	memcpy(pol.master_key_identifier, key_id, sizeof(key_id));
	if (ioctl(dfd, FS_IOC_SET_ENCRYPTION_POLICY, &pol) < 0)
		return isc_error_set(err, errno, "%s: FS_IOC_SET_ENCRYPTION_POLICY on %s/" DATA_DIR,
				     ISC_SCRATCH_ANNOTATION, mnt);
	if (fchown(dfd, uid, gid) < 0)
		return isc_error_set(err, errno, "%s: chown %s/" DATA_DIR " to %u:%u", ISC_SCRATCH_ANNOTATION, mnt,
				     (unsigned)uid, (unsigned)gid);

	/* the container's view: a detached copy of data, its flags set here */
	s->tree_fd = open_tree(dfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (s->tree_fd < 0)
		return isc_error_set(err, errno, "%s: open_tree %s/" DATA_DIR, ISC_SCRATCH_ANNOTATION, mnt);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (o->exec ? 0 : MOUNT_ATTR_NOEXEC),
				.attr_clr = o->exec ? MOUNT_ATTR_NOEXEC : 0 };
	if (mount_setattr(s->tree_fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return isc_error_set(err, errno, "%s: mount_setattr", ISC_SCRATCH_ANNOTATION);
	return 0;
}

void isc_scratch_clear(struct isc_scratch *s)
{
	free(s->mount);
	s->mount = NULL;
	isc_closep(&s->tree_fd);
}

char *isc_scratch_record(const struct isc_scratch *s)
{
	json_t *o = json_object();
	if (s->mount)
		json_object_set_new(o, "mount", json_string(s->mount));
	if (s->loop[0])
		json_object_set_new(o, "loop", json_string(s->loop));
	if (s->key_id[0])
		json_object_set_new(o, "key", json_string(s->key_id));
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		abort();
	return text;
}

/* ------------------------------------------------------------------ */
/* the init                                                           */

int isc_scratch_attach(int tree_fd, const char *rootfs, const char *path, isc_error **err)
{
	cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return isc_error_set(err, errno, "%s: open rootfs %s", ISC_SCRATCH_ANNOTATION, rootfs);
	cleanup_close int target = isc_rootfs_mkpath(rootfd, path, ISC_CREATE_DIR);
	if (target < 0)
		return isc_error_set(err, errno, "%s: mount point %s", ISC_SCRATCH_ANNOTATION, path);
	struct statfs sf; /* an image symlink may point it into /proc (mount.c) */
	if (fstatfs(target, &sf) < 0)
		return isc_error_set(err, errno, "%s: mount point %s", ISC_SCRATCH_ANNOTATION, path);
	if (sf.f_type == PROC_SUPER_MAGIC)
		return isc_error_set(err, 0, "%s: mount point %s resolves inside a proc filesystem",
				     ISC_SCRATCH_ANNOTATION, path);
	if (move_mount(tree_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return isc_error_set(err, errno, "%s: mount to %s", ISC_SCRATCH_ANNOTATION, path);
	return 0;
}

/* ------------------------------------------------------------------ */
/* teardown                                                           */

/* The key identifier, read back from the policy of data. */
static bool policy_key(int mfd, uint8_t id[FSCRYPT_KEY_IDENTIFIER_SIZE])
{
	cleanup_close int dfd = openat(mfd, DATA_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return false;
	struct fscrypt_get_policy_ex_arg p = { .policy_size = sizeof(p.policy) };
	if (ioctl(dfd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &p) < 0 || p.policy.version != FSCRYPT_POLICY_V2)
		return false;
	memcpy(id, p.policy.v2.master_key_identifier, FSCRYPT_KEY_IDENTIFIER_SIZE);
	return true;
}

/* 0 when the key is gone; -1 with *err when it could not be removed; 0
 * with *busy when it stayed in use by open files (the filesystem, once
 * detached, takes it with its superblock). */
static int remove_key(int mfd, const uint8_t id[FSCRYPT_KEY_IDENTIFIER_SIZE], const char *mnt, isc_error **busy,
		      isc_error **err)
{
	for (int attempt = 0;; attempt++) {
		struct fscrypt_remove_key_arg k = { .key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER };
		memcpy(k.key_spec.u.identifier, id, FSCRYPT_KEY_IDENTIFIER_SIZE);
		if (ioctl(mfd, FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS, &k) < 0) {
			if (errno == ENOKEY)
				return 0; /* already gone */
			return isc_error_set(err, errno, "%s: FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS on %s",
					     ISC_SCRATCH_ANNOTATION, mnt);
		}
		if (!(k.removal_status_flags & FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY))
			return 0;
		if (attempt == 1)
			return isc_error_set(busy, EBUSY, "%s: key of %s removed incompletely: files still open",
					     ISC_SCRATCH_ANNOTATION, mnt),
			       0;
		/* files of processes that just died may still be closing */
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int isc_scratch_destroy(const char *mnt, isc_error **busy, isc_error **err)
{
	cleanup_close int mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mfd < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "%s: open %s", ISC_SCRATCH_ANNOTATION, mnt);
	}
	cleanup_free char *parent = isc_xasprintf("%s/..", mnt);
	struct stat ms, ps;
	if (fstat(mfd, &ms) < 0 || stat(parent, &ps) < 0)
		return isc_error_set(err, errno, "%s: stat %s", ISC_SCRATCH_ANNOTATION, mnt);
	if (ms.st_dev != ps.st_dev) {
		uint8_t id[FSCRYPT_KEY_IDENTIFIER_SIZE];
		if (policy_key(mfd, id) && remove_key(mfd, id, mnt, busy, err) < 0)
			return -1;
		isc_closep(&mfd);
		/* lazily when busy: the key is gone already, and the superblock
		 * (its keyring, the loop device, the image) goes with the last
		 * reference */
		if (umount2(mnt, UMOUNT_NOFOLLOW) < 0 && umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return isc_error_set(err, errno, "%s: unmount %s", ISC_SCRATCH_ANNOTATION, mnt);
	} else {
		isc_closep(&mfd);
	}
	if (rmdir(mnt) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "%s: remove %s", ISC_SCRATCH_ANNOTATION, mnt);
	return 0;
}
