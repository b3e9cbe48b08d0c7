/* SPDX-License-Identifier: GPL-2.0-or-later
 * The cache of compiled seccomp programs (seccomp.c compiles).
 *
 * The cache.  Compiling a large profile (Docker's default: ~400 syscalls)
 * takes milliseconds; a cache hit is a few file operations and a SHA-256,
 * with no libseccomp call at all.  An entry is a trusted input to the
 * kernel: whoever can write it decides which syscalls the container may
 * make, so a writable cache is a seccomp bypass.  The SHA-256 in an entry
 * only detects corruption (anyone able to change the program can recompute
 * it); the protection is that nobody but root (or the user running isc,
 * for whom the cache holds nothing they could not do themselves) can write
 * the directory or its entries:
 *   - the directory is opened with O_NOFOLLOW and checked through that fd
 *     (directory, owned by root or by us, no group/other write); the entry
 *     is opened relative to the same fd, so nothing can be swapped between
 *     the check and the use;
 *   - the entry is opened with O_NOFOLLOW|O_NONBLOCK and checked through its
 *     fd: regular file, same owner rule, no group/other write, one link,
 *     size consistent with its header;
 *   - its header names the key it was written for (a renamed entry is not
 *     used) and carries the SHA-256 of key, flags and program.
 * Any failed check means "miss": compile, and rewrite the entry atomically
 * (temporary file + rename, mode 0600).  An untrusted directory is not used
 * at all, neither read nor written.
 *
 * The key covers what the program depends on: the parsed profile (every
 * field the compiler reads, hashed from the plan: cheaper than serializing
 * the JSON again, and exact by construction), the libseccomp version (which
 * changes the code generated and the syscall table), the kernel release
 * and machine, the format version below, and the identity of the running
 * executable (device, inode, size, modification time: one stat): the
 * compiler is part of isc, and an isc with a corrected compiler must not
 * be served the program an older one cached (the socketcall guard below
 * came that way), nor a test build another build's program. */
#include "kernel/seccomp.h"
#include "kernel/seccomp-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <seccomp.h> /* libseccomp (our kernel/seccomp.h is included with its folder) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"

#define CACHE_FORMAT "isc-seccomp-bpf-cache-3" /* 2: binary-tree programs; 3: multiplexer guard, ENOSYS stub */
#define CACHE_MAGIC "ISCBPF1"		       /* with its NUL: 8 bytes */

/* ---- cache key ----------------------------------------------------------- */

static void hash_u64(struct isc_sha256 *h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	isc_sha256_update(h, b, sizeof(b));
}

static void hash_str(struct isc_sha256 *h, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	hash_u64(h, s ? n : UINT64_MAX);
	isc_sha256_update(h, s ? s : "", n);
}

static void hash_strv(struct isc_sha256 *h, char *const *v)
{
	size_t n = isc_strvlen(v);
	hash_u64(h, n);
	for (size_t i = 0; i < n; i++)
		hash_str(h, v[i]);
}

void isc_seccomp_cache_key(const struct isc_seccomp *sc, unsigned char key[32])
{
	struct isc_sha256 h;
	isc_sha256_init(&h);
	hash_str(&h, CACHE_FORMAT);

	const struct scmp_version *v = seccomp_version();
	hash_u64(&h, v ? v->major : 0);
	hash_u64(&h, v ? v->minor : 0);
	hash_u64(&h, v ? v->micro : 0);
	hash_u64(&h, (uint64_t)SCMP_VER_MAJOR << 32 | (uint64_t)SCMP_VER_MINOR << 16 | SCMP_VER_MICRO);

	struct stat exe;
	if (stat("/proc/self/exe", &exe) == 0) {
		hash_u64(&h, (uint64_t)exe.st_dev);
		hash_u64(&h, (uint64_t)exe.st_ino);
		hash_u64(&h, (uint64_t)exe.st_size);
		hash_u64(&h, (uint64_t)exe.st_mtim.tv_sec);
		hash_u64(&h, (uint64_t)exe.st_mtim.tv_nsec);
	} else {
		hash_u64(&h, UINT64_MAX);
	}

	struct utsname u;
	if (uname(&u) == 0) {
		hash_str(&h, u.release);
		hash_str(&h, u.machine);
	} else {
		hash_str(&h, NULL);
	}

	/* The parsed profile itself, everything the compiler reads. */
	hash_u64(&h, (uint64_t)sc->default_action);
	hash_u64(&h, sc->has_default_errno_ret ? sc->default_errno_ret : UINT64_MAX);
	hash_strv(&h, sc->architectures);
	hash_strv(&h, sc->flags);
	hash_u64(&h, sc->n_rules);
	for (size_t i = 0; i < sc->n_rules; i++) {
		const struct isc_seccomp_rule *r = &sc->rules[i];
		hash_u64(&h, (uint64_t)r->action);
		hash_u64(&h, r->has_errno_ret ? r->errno_ret : UINT64_MAX);
		hash_strv(&h, r->names);
		hash_u64(&h, r->n_args);
		for (size_t k = 0; k < r->n_args; k++) {
			hash_u64(&h, r->args[k].index);
			hash_u64(&h, (uint64_t)r->args[k].op);
			hash_u64(&h, r->args[k].value);
			hash_u64(&h, r->args[k].value_two);
		}
	}
	isc_sha256_final(&h, key);
}

/* ---- cache entries -------------------------------------------------------- */

struct cache_header {
	char magic[8];	       /* CACHE_MAGIC */
	unsigned char key[32]; /* the key this entry was written for */
	uint32_t flags;	       /* SECCOMP_FILTER_FLAG_* */
	uint32_t count;	       /* number of instructions that follow */
	unsigned char sum[32]; /* SHA-256 of key, flags, count and the instructions */
};
_Static_assert(sizeof(struct cache_header) == 80, "cache header layout");
_Static_assert(sizeof(struct sock_filter) == 8, "sock_filter layout");

static void cache_sum(const struct cache_header *hdr, const struct sock_filter *insns, unsigned char out[32])
{
	struct isc_sha256 h;
	isc_sha256_init(&h);
	isc_sha256_update(&h, hdr->key, sizeof(hdr->key));
	isc_sha256_update(&h, &hdr->flags, sizeof(hdr->flags));
	isc_sha256_update(&h, &hdr->count, sizeof(hdr->count));
	isc_sha256_update(&h, insns, (size_t)hdr->count * sizeof(*insns));
	isc_sha256_final(&h, out);
}

/* Owned by root or by the user running isc, and writable by nobody else. */
static bool cache_trusted_owner(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* The cache directory as an fd, or -1 when it cannot be used (why is
 * logged at debug level; a cache problem never fails a container). */
int isc_seccomp_cache_open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		isc_error *e = NULL;
		if (isc_mkdir_p(path, 0700, &e) < 0) {
			isc_debug("seccomp cache: cannot create %s (%s), not using it", path, e->msg);
			isc_error_free(&e);
			return -1;
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		isc_debug("seccomp cache: cannot open %s (%s), not using it", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || !cache_trusted_owner(&st)) {
		isc_debug(
			"seccomp cache: %s is not a directory owned by root and writable only by its owner, not using it",
			path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Load and verify the entry `name`; 0 and *out on success, -1 on a miss. */
int isc_seccomp_cache_load(int dirfd, const char *name, const unsigned char key[32], struct isc_seccomp_filter **out)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno != ENOENT)
			isc_debug("seccomp cache: open %s: %s", name, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !cache_trusted_owner(&st) || st.st_nlink != 1) {
		isc_debug("seccomp cache: %s is not a private regular file, ignoring it", name);
		return -1;
	}
	const off_t max_size = (off_t)(sizeof(struct cache_header) + BPF_MAXINSNS * sizeof(struct sock_filter));
	if (st.st_size <= (off_t)sizeof(struct cache_header) || st.st_size > max_size ||
	    (st.st_size - (off_t)sizeof(struct cache_header)) % (off_t)sizeof(struct sock_filter) != 0) {
		isc_debug("seccomp cache: %s has a bad size, ignoring it", name);
		return -1;
	}

	struct cache_header hdr;
	size_t n_insns = ((size_t)st.st_size - sizeof(hdr)) / sizeof(struct sock_filter);
	cleanup_free struct sock_filter *insns = isc_xmalloc0(n_insns * sizeof(*insns));
	if (isc_read_all(fd, &hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    isc_read_all(fd, insns, n_insns * sizeof(*insns)) != (ssize_t)(n_insns * sizeof(*insns))) {
		isc_debug("seccomp cache: %s: short read, ignoring it", name);
		return -1;
	}

	unsigned char sum[32];
	if (memcmp(hdr.magic, CACHE_MAGIC, sizeof(hdr.magic)) != 0 || memcmp(hdr.key, key, 32) != 0 ||
	    hdr.count != n_insns) {
		isc_debug("seccomp cache: %s: bad header, ignoring it", name);
		return -1;
	}
	cache_sum(&hdr, insns, sum);
	if (memcmp(sum, hdr.sum, sizeof(sum)) != 0) {
		isc_debug("seccomp cache: %s: checksum mismatch, ignoring it", name);
		return -1;
	}

	struct isc_seccomp_filter *f = isc_xmalloc0(sizeof(*f));
	f->insns = steal_pointer(&insns);
	f->len = n_insns;
	f->flags = hdr.flags;
	f->from_cache = true;
	*out = f;
	return 0;
}

/* The cache is bounded: past CACHE_MAX_ENTRIES, the entries written longest
 * ago go (a store happens only on a miss, so this costs nothing on a hit). */
#define CACHE_MAX_ENTRIES 256

struct cache_entry_age {
	char name[80];
	struct timespec mtime;
};

static int older_first(const void *a, const void *b)
{
	const struct cache_entry_age *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void cache_trim(int dirfd)
{
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (dir == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	size_t n = 0, cap = 0;
	struct cache_entry_age *v = NULL;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 5 || len >= sizeof(v->name) || strcmp(de->d_name + len - 4, ".bpf") != 0)
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct cache_entry_age *nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		memcpy(v[n].name, de->d_name, len + 1);
		v[n].mtime = st.st_mtim;
		n++;
	}
	closedir(dir);
	if (n > CACHE_MAX_ENTRIES) {
		qsort(v, n, sizeof(*v), older_first);
		for (size_t i = 0; i < n - CACHE_MAX_ENTRIES; i++)
			(void)unlinkat(dirfd, v[i].name, 0);
	}
	free(v);
}

/* Best effort: a failure only costs a compilation next time. */
void isc_seccomp_cache_store(int dirfd, const char *name, const unsigned char key[32],
			     const struct isc_seccomp_filter *f)
{
	struct cache_header hdr;
	memset(&hdr, 0, sizeof(hdr));
	memcpy(hdr.magic, CACHE_MAGIC, sizeof(hdr.magic));
	memcpy(hdr.key, key, sizeof(hdr.key));
	hdr.flags = f->flags;
	hdr.count = (uint32_t)f->len;
	cache_sum(&hdr, f->insns, hdr.sum);

	size_t size = sizeof(hdr) + f->len * sizeof(*f->insns);
	cleanup_free char *buf = isc_xmalloc0(size);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), f->insns, f->len * sizeof(*f->insns));

	isc_error *e = NULL;
	if (isc_write_file_atomic(dirfd, name, buf, size, 0600, &e) < 0) {
		isc_debug("seccomp cache: cannot write %s: %s", name, e->msg);
		isc_error_free(&e);
		return;
	}
	cache_trim(dirfd);
}
