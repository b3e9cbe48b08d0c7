/* SPDX-License-Identifier: GPL-2.0-or-later
 * seccomp: linux.seccomp compiled to a BPF program with libseccomp in the
 * runtime, cached on disk, and installed with a bare seccomp(2) in the init.
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
 * and machine, and the format version below. */
#include "kernel/seccomp.h"

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h> /* libseccomp (our kernel/seccomp.h is included with its folder) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"

#define CACHE_FORMAT "isc-seccomp-bpf-cache-2" /* 2: binary-tree programs */
#define CACHE_MAGIC "ISCBPF1" /* with its NUL: 8 bytes */

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

/* ---- libseccomp's operators (the names are the spec's: spec/names.c) ---- */

/* enum isc_seccomp_op -> libseccomp's enum scmp_compare */
static const enum scmp_compare op_to_scmp[] = {
	[ISC_SCMP_NE] = SCMP_CMP_NE,
	[ISC_SCMP_LT] = SCMP_CMP_LT,
	[ISC_SCMP_LE] = SCMP_CMP_LE,
	[ISC_SCMP_EQ] = SCMP_CMP_EQ,
	[ISC_SCMP_GE] = SCMP_CMP_GE,
	[ISC_SCMP_GT] = SCMP_CMP_GT,
	[ISC_SCMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/* ---- filter object ------------------------------------------------------ */

void isc_seccomp_filter_free(struct isc_seccomp_filter *f)
{
	if (f == NULL)
		return;
	free(f->insns);
	free(f);
}

static void filter_freep(struct isc_seccomp_filter **f)
{
	isc_seccomp_filter_free(*f);
}
#define cleanup_filter __attribute__((cleanup(filter_freep)))

/* ---- checks that need no libseccomp ------------------------------------- */

static int check_profile(const struct isc_seccomp *sc, unsigned int *flags, isc_error **err)
{
	if (sc->listener_path != NULL)
		return isc_error_set(err, ENOTSUP, "linux.seccomp.listenerPath: seccomp notification is not supported");
	if (sc->default_action == ISC_SCMP_NOTIFY)
		return isc_error_set(err, ENOTSUP, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported");
	if (sc->default_action < ISC_SCMP_KILL || sc->default_action > ISC_SCMP_NOTIFY)
		return isc_error_set(err, EINVAL, "linux.seccomp.defaultAction: invalid action %d", sc->default_action);
	if (sc->has_default_errno_ret && sc->default_errno_ret > 0xffff)
		return isc_error_set(err, EINVAL, "linux.seccomp.defaultErrnoRet: %u is out of range", sc->default_errno_ret);

	for (size_t i = 0; i < sc->n_rules; i++) {
		const struct isc_seccomp_rule *r = &sc->rules[i];
		if (r->action == ISC_SCMP_NOTIFY)
			return isc_error_set(err, ENOTSUP, "linux.seccomp.syscalls[%zu].action: SCMP_ACT_NOTIFY is not supported", i);
		if (r->action < ISC_SCMP_KILL || r->action > ISC_SCMP_NOTIFY)
			return isc_error_set(err, EINVAL, "linux.seccomp.syscalls[%zu].action: invalid action %d", i, r->action);
		if (r->has_errno_ret && r->errno_ret > 0xffff)
			return isc_error_set(err, EINVAL, "linux.seccomp.syscalls[%zu].errnoRet: %u is out of range", i, r->errno_ret);
		for (size_t k = 0; k < r->n_args; k++) {
			if (r->args[k].index > 5)
				return isc_error_set(err, EINVAL, "linux.seccomp.syscalls[%zu].args[%zu].index: %u is out of range (0..5)",
						     i, k, r->args[k].index);
			if (r->args[k].op < ISC_SCMP_NE || r->args[k].op > ISC_SCMP_MASKED_EQ)
				return isc_error_set(err, EINVAL, "linux.seccomp.syscalls[%zu].args[%zu].op: invalid operator %d",
						     i, k, r->args[k].op);
		}
	}

	for (size_t i = 0; sc->architectures && sc->architectures[i]; i++)
		if (!isc_seccomp_arch_known(sc->architectures[i]))
			return isc_error_set(err, EINVAL, "linux.seccomp.architectures: unknown architecture \"%s\"",
					     sc->architectures[i]);

	*flags = 0;
	for (size_t i = 0; sc->flags && sc->flags[i]; i++) {
		if (!isc_seccomp_flag_known(sc->flags[i]))
			return isc_error_set(err, EINVAL, "linux.seccomp.flags: unknown flag \"%s\"", sc->flags[i]);
		*flags |= isc_seccomp_flag_value(sc->flags[i]);
	}
	return 0;
}

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

static void cache_key(const struct isc_seccomp *sc, unsigned char key[32])
{
	struct isc_sha256 h;
	isc_sha256_init(&h);
	hash_str(&h, CACHE_FORMAT);

	const struct scmp_version *v = seccomp_version();
	hash_u64(&h, v ? v->major : 0);
	hash_u64(&h, v ? v->minor : 0);
	hash_u64(&h, v ? v->micro : 0);
	hash_u64(&h, (uint64_t)SCMP_VER_MAJOR << 32 | (uint64_t)SCMP_VER_MINOR << 16 | SCMP_VER_MICRO);

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
	char magic[8];         /* CACHE_MAGIC */
	unsigned char key[32]; /* the key this entry was written for */
	uint32_t flags;        /* SECCOMP_FILTER_FLAG_* */
	uint32_t count;        /* number of instructions that follow */
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
static int cache_open_dir(const char *path)
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
		isc_debug("seccomp cache: %s is not a directory owned by root and writable only by its owner, not using it",
			  path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Load and verify the entry `name`; 0 and *out on success, -1 on a miss. */
static int cache_load(int dirfd, const char *name, const unsigned char key[32], struct isc_seccomp_filter **out)
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
static void cache_store(int dirfd, const char *name, const unsigned char key[32], const struct isc_seccomp_filter *f)
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

/* ---- compilation ----------------------------------------------------------- */

static void scmp_ctx_release(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static uint32_t scmp_action(int action, bool has_errno_ret, unsigned errno_ret)
{
	unsigned ret = has_errno_ret ? errno_ret : EPERM;
	switch (action) {
	case ISC_SCMP_KILL:
		return SCMP_ACT_KILL_THREAD;
	case ISC_SCMP_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case ISC_SCMP_TRAP:
		return SCMP_ACT_TRAP;
	case ISC_SCMP_ERRNO:
		return SCMP_ACT_ERRNO(ret);
	case ISC_SCMP_TRACE:
		return SCMP_ACT_TRACE(ret);
	case ISC_SCMP_ALLOW:
		return SCMP_ACT_ALLOW;
	case ISC_SCMP_LOG:
		return SCMP_ACT_LOG;
	default:
		return SCMP_ACT_KILL_PROCESS; /* not reached: check_profile() */
	}
}

static int add_rule(scmp_filter_ctx ctx, const struct isc_seccomp_rule *r, size_t i, uint32_t action,
		    const char *name, int nr, isc_error **err)
{
	int ret;
	if (r->n_args == 0) {
		ret = seccomp_rule_add(ctx, action, nr, 0);
		if (ret < 0)
			return isc_error_set(err, -ret, "linux.seccomp.syscalls[%zu]: add rule for %s", i, name);
		return 0;
	}

	/* libseccomp ANDs the comparisons of one rule and refuses two of them
	 * on the same argument.  Like runc and crun, a rule that compares one
	 * argument more than once becomes one rule per comparison (so they
	 * are ORed: e.g. two SCMP_CMP_EQ on arg 0 match either value). */
	bool repeated = false;
	unsigned seen = 0;
	for (size_t k = 0; k < r->n_args; k++) {
		if (seen & (1u << r->args[k].index))
			repeated = true;
		seen |= 1u << r->args[k].index;
	}

	struct scmp_arg_cmp cmp[6];
	if (!repeated) {
		for (size_t k = 0; k < r->n_args; k++)
			cmp[k] = (struct scmp_arg_cmp){ .arg = r->args[k].index, .op = op_to_scmp[r->args[k].op],
							.datum_a = r->args[k].value, .datum_b = r->args[k].value_two };
		ret = seccomp_rule_add_array(ctx, action, nr, (unsigned)r->n_args, cmp);
		if (ret < 0)
			return isc_error_set(err, -ret, "linux.seccomp.syscalls[%zu]: add rule for %s", i, name);
		return 0;
	}
	for (size_t k = 0; k < r->n_args; k++) {
		cmp[0] = (struct scmp_arg_cmp){ .arg = r->args[k].index, .op = op_to_scmp[r->args[k].op],
						.datum_a = r->args[k].value, .datum_b = r->args[k].value_two };
		ret = seccomp_rule_add_array(ctx, action, nr, 1, cmp);
		if (ret < 0)
			return isc_error_set(err, -ret, "linux.seccomp.syscalls[%zu]: add rule for %s (args[%zu])",
					     i, name, k);
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct isc_seccomp_filter *f, isc_error **err)
{
	cleanup_close int fd = memfd_create("isc-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "seccomp: memfd_create");
	int ret = seccomp_export_bpf(ctx, fd);
	if (ret < 0)
		return isc_error_set(err, -ret, "seccomp: export the BPF program");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "seccomp: stat the BPF program");
	size_t size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
	    size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return isc_error_set(err, E2BIG, "seccomp: the BPF program has a bad size (%zu bytes, at most %d instructions)",
				     size, BPF_MAXINSNS);
	f->insns = isc_xmalloc0(size);
	f->len = size / sizeof(struct sock_filter);
	ssize_t n = pread(fd, f->insns, size, 0);
	if (n != (ssize_t)size)
		return isc_error_set(err, n < 0 ? errno : EIO, "seccomp: read the BPF program back");
	return 0;
}

static int compile(const struct isc_seccomp *sc, struct isc_seccomp_filter *f, isc_error **err)
{
	const uint32_t def = scmp_action(sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret);
	__attribute__((cleanup(scmp_ctx_release))) scmp_filter_ctx ctx = seccomp_init(def);
	if (ctx == NULL)
		return isc_error_set(err, EINVAL, "seccomp: cannot create a filter with default action %s",
				     isc_seccomp_action_name(sc->default_action));

	/* The init sets no_new_privs itself when process.noNewPrivileges asks,
	 * and is single-threaded when it installs the filter.  Both attributes
	 * only matter to seccomp_load(), which we never call (the flags come
	 * from linux.seccomp.flags): set them for clarity, and ignore a refusal
	 * (libseccomp answers EOPNOTSUPP for TSYNC where it cannot probe
	 * seccomp(2), e.g. under valgrind). */
	int ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (ret < 0)
		isc_debug("seccomp: cannot clear SCMP_FLTATR_CTL_NNP: %s", strerror(-ret));
	/* A binary tree of syscall numbers instead of a linear list: the kernel
	 * precomputes its per-syscall action cache by running the program for
	 * every syscall of every architecture at load time, so a long linear
	 * allowlist (podman's: ~1150 instructions) costs ~1 ms per start, and
	 * every syscall not in that cache pays the linear walk too. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (ret < 0)
		isc_debug("seccomp: binary-tree optimization unavailable: %s", strerror(-ret));
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0);
	if (ret < 0)
		isc_debug("seccomp: cannot clear SCMP_FLTATR_CTL_TSYNC: %s", strerror(-ret));

	/* The native architecture is always in a new filter.  Syscalls of an
	 * architecture left out hit the bad-architecture action (kill), so
	 * skipping one this libseccomp cannot handle fails closed. */
	for (size_t i = 0; sc->architectures && sc->architectures[i]; i++) {
		const char *arch = sc->architectures[i];
		uint32_t token = isc_seccomp_arch_token(arch);
		if (token == 0) {
			isc_debug("seccomp: libseccomp %d.%d.%d does not know %s, skipping it", SCMP_VER_MAJOR,
				  SCMP_VER_MINOR, SCMP_VER_MICRO, arch);
			continue;
		}
		ret = seccomp_arch_add(ctx, token);
		if (ret < 0 && ret != -EEXIST)
			isc_debug("seccomp: cannot add architecture %s (%s), skipping it", arch, strerror(-ret));
	}

	for (size_t i = 0; i < sc->n_rules; i++) {
		const struct isc_seccomp_rule *r = &sc->rules[i];
		const uint32_t action = scmp_action(r->action, r->has_errno_ret, r->errno_ret);
		/* libseccomp refuses a rule that does what the default does */
		if (action == def)
			continue;
		for (size_t j = 0; r->names && r->names[j]; j++) {
			int nr = seccomp_syscall_resolve_name(r->names[j]);
			if (nr == __NR_SCMP_ERROR) {
				/* profiles list syscalls newer than libseccomp */
				isc_debug("seccomp: unknown syscall %s skipped", r->names[j]);
				continue;
			}
			if (add_rule(ctx, r, i, action, r->names[j], nr, err) < 0)
				return -1;
		}
	}
	return export_bpf(ctx, f, err);
}

int isc_seccomp_prepare(const struct isc_seccomp *sc, const char *cache_dir, struct isc_seccomp_filter **out,
			isc_error **err)
{
	if (sc == NULL)
		return isc_error_set(err, EINVAL, "seccomp: no profile");
	unsigned int flags = 0;
	if (check_profile(sc, &flags, err) < 0)
		return -1;

	unsigned char key[32];
	char name[64 + sizeof(".bpf")];
	cleanup_close int dirfd = -1;
	if (cache_dir != NULL) {
		cache_key(sc, key);
		isc_sha256_hex(key, name);
		memcpy(name + 64, ".bpf", sizeof(".bpf"));
		dirfd = cache_open_dir(cache_dir);
		if (dirfd >= 0 && cache_load(dirfd, name, key, out) == 0) {
			if ((*out)->flags == flags)
				return 0;
			/* cannot happen: the flags are part of the key */
			isc_seccomp_filter_free(*out);
			*out = NULL;
		}
	}

	cleanup_filter struct isc_seccomp_filter *f = isc_xmalloc0(sizeof(*f));
	if (compile(sc, f, err) < 0)
		return isc_error_wrap(err, "compile the seccomp profile");
	f->flags = flags;
	f->from_cache = false;
	if (dirfd >= 0)
		cache_store(dirfd, name, key, f);
	*out = steal_pointer(&f);
	return 0;
}

/* ---- installation (in the init) --------------------------------------------- */

int isc_seccomp_install(const struct isc_seccomp_filter *f, isc_error **err)
{
	if (f == NULL || f->insns == NULL || f->len == 0 || f->len > BPF_MAXINSNS)
		return isc_error_set(err, EINVAL, "load seccomp filter: empty or oversized program");
	struct sock_fprog prog = { .len = (unsigned short)f->len, .filter = f->insns };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog) == 0)
		return 0;
	if (errno == ENOSYS && f->flags == 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
		return 0;
	return isc_error_set(err, errno, "load seccomp filter");
}
