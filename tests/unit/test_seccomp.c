/* SPDX-License-Identifier: GPL-2.0-or-later
 * seccomp: keyword tables, compilation, installation in a forked child, the
 * compiled-filter cache (hit, miss, tampering, untrusted directory), and the
 * default profile's argument rules (ioctl, clone) in a real filter. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/seccomp.h"
#include "spec/spec.h"
#include "base/util.h"

/* ---- building profiles by hand ---------------------------------------------- */

static char *getppid_names[] = { "getppid", NULL };
static char *personality_names[] = { "personality", NULL };
static char *mixed_names[] = { "no_such_syscall_isc", "getppid", NULL };
static char *read_names[] = { "read", NULL };


/* default ALLOW; getppid -> ERRNO(errno_ret) */
static void profile_getppid(struct isc_seccomp *sc, struct isc_seccomp_rule *rule, bool has_ret, unsigned ret)
{
	memset(sc, 0, sizeof(*sc));
	memset(rule, 0, sizeof(*rule));
	rule->names = getppid_names;
	rule->action = ISC_SCMP_ERRNO;
	rule->has_errno_ret = has_ret;
	rule->errno_ret = ret;
	sc->default_action = ISC_SCMP_ALLOW;
	sc->rules = rule;
	sc->n_rules = 1;
}

static struct isc_seccomp_filter *prepare_ok(const struct isc_seccomp *sc, const char *cache)
{
	struct isc_seccomp_filter *f = NULL;
	isc_error *err = NULL;
	int r = isc_seccomp_prepare(sc, cache, &f, &err);
	if (r < 0)
		fail_msg("isc_seccomp_prepare: %s (%d)", err->msg, err->errnum);
	assert_non_null(f);
	assert_non_null(f->insns);
	assert_true(f->len > 0);
	return f;
}

/* ---- children ---------------------------------------------------------------- */

static const struct isc_seccomp_filter *child_filter;

static int run_child(int (*fn)(void), const struct isc_seccomp_filter *f)
{
	child_filter = f;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(100);
		isc_error *err = NULL;
		if (isc_seccomp_install(child_filter, &err) < 0) {
			fprintf(stderr, "install: %s (%d)\n", err->msg, err->errnum);
			_exit(101);
		}
		_exit(fn());
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int expect_errno;

static int child_getppid(void)
{
	errno = 0;
	long r = syscall(SYS_getppid);
	if (r != -1 || errno != expect_errno)
		return 1;
	if (syscall(SYS_getpid) != getpid())
		return 2;
	return 0;
}

/* ---- tests: tables ---------------------------------------------------------- */

static void test_tables(void **state)
{
	(void)state;
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_KILL"), ISC_SCMP_KILL);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_KILL_THREAD"), ISC_SCMP_KILL);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_KILL_PROCESS"), ISC_SCMP_KILL_PROCESS);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_TRAP"), ISC_SCMP_TRAP);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_ERRNO"), ISC_SCMP_ERRNO);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_TRACE"), ISC_SCMP_TRACE);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_ALLOW"), ISC_SCMP_ALLOW);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_LOG"), ISC_SCMP_LOG);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_NOTIFY"), ISC_SCMP_NOTIFY);
	assert_int_equal(isc_seccomp_action_from_name("SCMP_ACT_NOPE"), -1);
	assert_int_equal(isc_seccomp_action_from_name("scmp_act_allow"), -1);
	assert_int_equal(isc_seccomp_action_from_name(NULL), -1);

	assert_int_equal(isc_seccomp_op_from_name("SCMP_CMP_NE"), ISC_SCMP_NE);
	assert_int_equal(isc_seccomp_op_from_name("SCMP_CMP_LT"), ISC_SCMP_LT);
	assert_int_equal(isc_seccomp_op_from_name("SCMP_CMP_LE"), ISC_SCMP_LE);
	assert_int_equal(isc_seccomp_op_from_name("SCMP_CMP_EQ"), ISC_SCMP_EQ);
	assert_int_equal(isc_seccomp_op_from_name("SCMP_CMP_GE"), ISC_SCMP_GE);
	assert_int_equal(isc_seccomp_op_from_name("SCMP_CMP_GT"), ISC_SCMP_GT);
	assert_int_equal(isc_seccomp_op_from_name("SCMP_CMP_MASKED_EQ"), ISC_SCMP_MASKED_EQ);
	assert_int_equal(isc_seccomp_op_from_name("SCMP_CMP_XX"), -1);

	const char *arches[] = { "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
				 "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
				 "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
				 "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
				 "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64" };
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		assert_true(isc_seccomp_arch_known(arches[i]));
	assert_false(isc_seccomp_arch_known("SCMP_ARCH_VAX"));
	assert_false(isc_seccomp_arch_known("x86_64"));
	assert_false(isc_seccomp_arch_known(NULL));

	assert_true(isc_seccomp_flag_known("SECCOMP_FILTER_FLAG_TSYNC"));
	assert_true(isc_seccomp_flag_known("SECCOMP_FILTER_FLAG_LOG"));
	assert_true(isc_seccomp_flag_known("SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
	assert_true(isc_seccomp_flag_known("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
	assert_false(isc_seccomp_flag_known("SECCOMP_FILTER_FLAG_NEW_LISTENER"));
	assert_false(isc_seccomp_flag_known(""));
}

/* ---- tests: compile and install --------------------------------------------- */

static void test_errno_rule(void **state)
{
	(void)state;
	struct isc_seccomp sc;
	struct isc_seccomp_rule rule;
	profile_getppid(&sc, &rule, true, 99);
	struct isc_seccomp_filter *f = prepare_ok(&sc, NULL);
	assert_false(f->from_cache);
	assert_int_equal(f->flags, 0);
	expect_errno = 99;
	assert_int_equal(run_child(child_getppid, f), 0);
	isc_seccomp_filter_free(f);

	/* ERRNO without errnoRet is EPERM; an unknown syscall name is skipped */
	profile_getppid(&sc, &rule, false, 0);
	rule.names = mixed_names;
	f = prepare_ok(&sc, NULL);
	expect_errno = EPERM;
	assert_int_equal(run_child(child_getppid, f), 0);
	isc_seccomp_filter_free(f);
}

static int child_personality_ne(void)
{
	errno = 0;
	if (personality(0xffffffff) == -1)
		return 1;
	errno = 0;
	if (personality(PER_LINUX32) != -1 || errno != 98)
		return 2;
	return 0;
}

static int child_personality_or(void)
{
	errno = 0;
	if (personality(0xffffffff) == -1)
		return 1;
	errno = 0;
	if (personality(0x1234) != -1 || errno != 97)
		return 2;
	errno = 0;
	if (personality(0x5678) != -1 || errno != 97)
		return 3;
	return 0;
}

static void test_arg_rules(void **state)
{
	(void)state;
	/* personality(2) allowed only to query (arg0 == 0xffffffff) */
	struct isc_seccomp_arg ne = { .index = 0, .value = 0xffffffff, .op = ISC_SCMP_NE };
	struct isc_seccomp_rule rule = { .names = personality_names, .action = ISC_SCMP_ERRNO,
					 .has_errno_ret = true, .errno_ret = 98, .args = &ne, .n_args = 1 };
	struct isc_seccomp sc = { .default_action = ISC_SCMP_ALLOW, .rules = &rule, .n_rules = 1 };
	struct isc_seccomp_filter *f = prepare_ok(&sc, NULL);
	assert_int_equal(run_child(child_personality_ne, f), 0);
	isc_seccomp_filter_free(f);

	/* two comparisons on the same argument: one rule each, so either matches */
	struct isc_seccomp_arg two[] = {
		{ .index = 0, .value = 0x1234, .op = ISC_SCMP_EQ },
		{ .index = 0, .value = 0x5678, .op = ISC_SCMP_EQ },
	};
	rule.args = two;
	rule.n_args = 2;
	rule.errno_ret = 97;
	f = prepare_ok(&sc, NULL);
	assert_int_equal(run_child(child_personality_or, f), 0);
	isc_seccomp_filter_free(f);

	/* MASKED_EQ: value is the mask, valueTwo the expected value */
	struct isc_seccomp_arg masked = { .index = 0, .value = 0xffff, .value_two = 0x1234, .op = ISC_SCMP_MASKED_EQ };
	struct isc_seccomp_arg masked2 = { .index = 0, .value = 0xffff, .value_two = 0x5678, .op = ISC_SCMP_MASKED_EQ };
	struct isc_seccomp_rule rules[2] = {
		{ .names = personality_names, .action = ISC_SCMP_ERRNO, .has_errno_ret = true, .errno_ret = 97,
		  .args = &masked, .n_args = 1 },
		{ .names = personality_names, .action = ISC_SCMP_ERRNO, .has_errno_ret = true, .errno_ret = 97,
		  .args = &masked2, .n_args = 1 },
	};
	sc.rules = rules;
	sc.n_rules = 2;
	f = prepare_ok(&sc, NULL);
	assert_int_equal(run_child(child_personality_or, f), 0);
	isc_seccomp_filter_free(f);
}

static void test_rule_like_default_skipped(void **state)
{
	(void)state;
	struct isc_seccomp_rule rules[2] = {
		{ .names = read_names, .action = ISC_SCMP_ALLOW }, /* same as the default */
		{ .names = getppid_names, .action = ISC_SCMP_ERRNO, .has_errno_ret = true, .errno_ret = 42 },
	};
	struct isc_seccomp sc = { .default_action = ISC_SCMP_ALLOW, .rules = rules, .n_rules = 2 };
	struct isc_seccomp_filter *f = prepare_ok(&sc, NULL);
	expect_errno = 42;
	assert_int_equal(run_child(child_getppid, f), 0);
	isc_seccomp_filter_free(f);
}

static void test_flags(void **state)
{
	(void)state;
	char *flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL };
	struct isc_seccomp sc;
	struct isc_seccomp_rule rule;
	profile_getppid(&sc, &rule, true, 99);
	sc.flags = flags;
	struct isc_seccomp_filter *f = prepare_ok(&sc, NULL);
	assert_int_equal(f->flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	expect_errno = 99;
	assert_int_equal(run_child(child_getppid, f), 0);
	isc_seccomp_filter_free(f);

	char *bad[] = { "SECCOMP_FILTER_FLAG_BOGUS", NULL };
	sc.flags = bad;
	struct isc_seccomp_filter *g = NULL;
	isc_error *err = NULL;
	assert_int_equal(isc_seccomp_prepare(&sc, NULL, &g, &err), -1);
	assert_non_null(strstr(err->msg, "SECCOMP_FILTER_FLAG_BOGUS"));
	isc_error_free(&err);
}

static void test_notify_unsupported(void **state)
{
	(void)state;
	struct isc_seccomp sc;
	struct isc_seccomp_rule rule;
	struct isc_seccomp_filter *f = NULL;
	isc_error *err = NULL;

	profile_getppid(&sc, &rule, false, 0);
	rule.action = ISC_SCMP_NOTIFY;
	assert_int_equal(isc_seccomp_prepare(&sc, NULL, &f, &err), -1);
	assert_null(f);
	assert_non_null(strstr(err->msg, "not supported"));
	assert_int_equal(err->errnum, ENOTSUP);
	isc_error_free(&err);

	profile_getppid(&sc, &rule, false, 0);
	sc.listener_path = "/run/listener.sock";
	assert_int_equal(isc_seccomp_prepare(&sc, NULL, &f, &err), -1);
	assert_non_null(strstr(err->msg, "not supported"));
	isc_error_free(&err);
}

static void test_arches(void **state)
{
	(void)state;
	struct isc_seccomp sc;
	struct isc_seccomp_rule rule;
	profile_getppid(&sc, &rule, true, 99);
	struct isc_seccomp_filter *one = prepare_ok(&sc, NULL);

	char *arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
	sc.architectures = arches;
	struct isc_seccomp_filter *multi = prepare_ok(&sc, NULL);
	assert_true(multi->len > one->len);
	expect_errno = 99;
	assert_int_equal(run_child(child_getppid, multi), 0);
	isc_seccomp_filter_free(multi);

	/* an architecture libseccomp 2.5 does not know is skipped */
	char *newer[] = { "SCMP_ARCH_X86", "SCMP_ARCH_LOONGARCH64", NULL };
	sc.architectures = newer;
	multi = prepare_ok(&sc, NULL);
	assert_true(multi->len > one->len);
	isc_seccomp_filter_free(multi);

	char *bogus[] = { "SCMP_ARCH_VAX", NULL };
	sc.architectures = bogus;
	struct isc_seccomp_filter *f = NULL;
	isc_error *err = NULL;
	assert_int_equal(isc_seccomp_prepare(&sc, NULL, &f, &err), -1);
	assert_non_null(strstr(err->msg, "SCMP_ARCH_VAX"));
	isc_error_free(&err);
	isc_seccomp_filter_free(one);
}

static void test_install_error(void **state)
{
	(void)state;
	/* an invalid opcode: the kernel refuses the program */
	struct sock_filter bad[] = { { .code = 0xffff, .jt = 0, .jf = 0, .k = 0 } };
	struct isc_seccomp_filter f = { .insns = bad, .len = 1 };
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		isc_error *err = NULL;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(2);
		if (isc_seccomp_install(&f, &err) == 0)
			_exit(3);
		_exit(strcmp(err->msg, "load seccomp filter") == 0 && err->errnum == EINVAL ? 0 : 4);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	isc_error *err = NULL;
	struct isc_seccomp_filter empty = { 0 };
	assert_int_equal(isc_seccomp_install(&empty, &err), -1);
	isc_error_free(&err);
}

/* ---- tests: the default profile --------------------------------------------------- */

/* One call that must fail with `want`; a clone that succeeded ends its child. */
static bool fails_with(long r, int want)
{
	if (r == 0)
		_exit(0); /* a child of a clone that should not have happened */
	if (r > 0) {
		waitpid((pid_t)r, NULL, 0);
		return false;
	}
	return errno == want;
}

static int child_default_profile(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	char c = 'x';
	static const unsigned long refused[] = { TIOCSTI, TIOCLINUX, TIOCSETD };
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		/* refused by the filter (EPERM) before the kernel sees that
		 * /dev/null is no terminal (ENOTTY) */
		if (!fails_with(syscall(SYS_ioctl, fd, refused[i], &c), EPERM))
			return 10 + (int)i;
		/* the kernel reads 32 bits: the high half changes nothing */
		if (!fails_with(syscall(SYS_ioctl, fd, refused[i] | 1UL << 32, &c), EPERM))
			return 20 + (int)i;
	}
	/* every other command reaches the kernel, next to the refused ones too */
	static const unsigned long allowed[] = { TCGETS, TIOCSTI - 1, TIOCSTI + 1, TIOCLINUX + 1, TIOCSTI | 0x100,
						 TIOCSTI << 16, TIOCGETD, TIOCSETD - 1, TIOCSETD | 0x100 };
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if (!fails_with(syscall(SYS_ioctl, fd, allowed[i], &c), ENOTTY))
			return 30 + (int)i;
	/* clone: no namespace flag, also not with bit 32 set */
	static const unsigned long ns[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
					    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
					    CLONE_NEWUSER | CLONE_NEWNET | 1UL << 32 };
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
		if (!fails_with(syscall(SYS_clone, ns[i] | SIGCHLD, 0, 0, 0, 0), EPERM))
			return 40 + (int)i;
	/* clone3: ENOSYS, so that libc falls back to clone */
	uint64_t args[8] = { CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0 };
	if (!fails_with(syscall(SYS_clone3, args, sizeof(args)), ENOSYS))
		return 50;
	/* the control: a plain clone (fork) works */
	long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(7);
	int st = 0;
	if (pid < 0 || waitpid((pid_t)pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		return 60;
	return 0;
}

static void test_default_profile_rules(void **state)
{
	(void)state;
	char *json = isc_spec_default_json(false);
	struct isc_spec *spec = NULL;
	isc_error *err = NULL;
	if (isc_spec_parse(json, strlen(json), &spec, &err) < 0)
		fail_msg("the default spec: %s", err->msg);
	struct isc_seccomp_filter *f = prepare_ok(spec->seccomp, NULL);
	assert_int_equal(run_child(child_default_profile, f), 0);
	isc_seccomp_filter_free(f);
	isc_spec_free(spec);
	free(json);
}

/* ---- tests: cache -------------------------------------------------------------- */

struct tmpdir {
	char path[48];
	char cache[128];
};

static char last_tmp[48]; /* removed by the teardown even when a test fails */

static void tmpdir_make(struct tmpdir *t)
{
	strcpy(t->path, "/tmp/isc-test-seccomp-XXXXXX");
	assert_non_null(mkdtemp(t->path));
	snprintf(t->cache, sizeof(t->cache), "%s/cache", t->path);
	strcpy(last_tmp, t->path);
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char *sub = isc_xasprintf("%s/%s", path, de->d_name);
			if (de->d_type == DT_DIR)
				rm_rf(sub);
			else
				unlink(sub);
			free(sub);
		}
		closedir(d);
		rmdir(path);
	}
}

/* The single entry of the cache directory (full path), or "" if none. */
static int cache_entries(const char *dir, char *entry, size_t len)
{
	int n = 0;
	entry[0] = '\0';
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		size_t dl = strlen(dir), nl = strlen(de->d_name);
		assert_true(dl + 1 + nl < len);
		memcpy(entry, dir, dl);
		entry[dl] = '/';
		memcpy(entry + dl + 1, de->d_name, nl + 1);
	}
	closedir(d);
	return n;
}

static int tmpdir_teardown(void **state)
{
	(void)state;
	if (last_tmp[0]) {
		chmod(last_tmp, 0700);
		rm_rf(last_tmp);
		last_tmp[0] = '\0';
	}
	return 0;
}

static bool same_program(const struct isc_seccomp_filter *a, const struct isc_seccomp_filter *b)
{
	return a->len == b->len && a->flags == b->flags &&
	       memcmp(a->insns, b->insns, a->len * sizeof(*a->insns)) == 0;
}

static void test_cache_hit(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	struct isc_seccomp sc;
	struct isc_seccomp_rule rule;
	profile_getppid(&sc, &rule, true, 99);
	char *flags[] = { "SECCOMP_FILTER_FLAG_LOG", NULL };
	sc.flags = flags;

	struct isc_seccomp_filter *a = prepare_ok(&sc, t.cache); /* creates the directory */
	assert_false(a->from_cache);
	struct stat st;
	assert_int_equal(stat(t.cache, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	char entry[256];
	assert_int_equal(cache_entries(t.cache, entry, sizeof(entry)), 1);
	assert_int_equal(strlen(strrchr(entry, '/') + 1), 64 + 4);
	assert_non_null(strstr(entry, ".bpf"));
	assert_int_equal(stat(entry, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 80 + (off_t)(a->len * sizeof(struct sock_filter)));

	struct isc_seccomp_filter *b = prepare_ok(&sc, t.cache);
	assert_true(b->from_cache);
	assert_true(same_program(a, b));
	assert_int_equal(b->flags, SECCOMP_FILTER_FLAG_LOG);
	expect_errno = 99;
	assert_int_equal(run_child(child_getppid, b), 0);

	/* another profile gets its own entry */
	struct isc_seccomp sc2;
	struct isc_seccomp_rule rule2;
	profile_getppid(&sc2, &rule2, true, 77);
	struct isc_seccomp_filter *c = prepare_ok(&sc2, t.cache);
	assert_false(c->from_cache);
	assert_false(same_program(a, c));
	assert_int_equal(cache_entries(t.cache, entry, sizeof(entry)), 2);
	isc_seccomp_filter_free(c);
	c = prepare_ok(&sc2, t.cache);
	assert_true(c->from_cache);
	expect_errno = 77;
	assert_int_equal(run_child(child_getppid, c), 0);

	isc_seccomp_filter_free(a);
	isc_seccomp_filter_free(b);
	isc_seccomp_filter_free(c);
	rm_rf(t.path);
}

static void flip_byte(const char *path, off_t where)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, where), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, where), 1);
	close(fd);
}

static void test_cache_tampered(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	struct isc_seccomp sc;
	struct isc_seccomp_rule rule;
	profile_getppid(&sc, &rule, true, 99);
	struct isc_seccomp_filter *fresh = prepare_ok(&sc, t.cache);
	char entry[256];
	assert_int_equal(cache_entries(t.cache, entry, sizeof(entry)), 1);

	/* a byte of the program, of the checksum, of the key, of the magic */
	off_t where[] = { 80 + 8 * ((off_t)fresh->len - 1) + 4, 60, 10, 0 };
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		flip_byte(entry, where[i]);
		struct isc_seccomp_filter *f = prepare_ok(&sc, t.cache);
		assert_false(f->from_cache);
		assert_true(same_program(fresh, f));
		isc_seccomp_filter_free(f);
		/* rewritten: the next one is a hit again */
		f = prepare_ok(&sc, t.cache);
		assert_true(f->from_cache);
		assert_true(same_program(fresh, f));
		isc_seccomp_filter_free(f);
	}

	/* truncated */
	assert_int_equal(truncate(entry, 80 + 8), 0);
	struct isc_seccomp_filter *f = prepare_ok(&sc, t.cache);
	assert_false(f->from_cache);
	assert_true(same_program(fresh, f));
	isc_seccomp_filter_free(f);

	/* writable by others: not used (and replaced by a private one) */
	assert_int_equal(chmod(entry, 0666), 0);
	f = prepare_ok(&sc, t.cache);
	assert_false(f->from_cache);
	isc_seccomp_filter_free(f);
	struct stat st;
	assert_int_equal(stat(entry, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* a symbolic link to a valid entry: not followed */
	char moved[300];
	snprintf(moved, sizeof(moved), "%s/elsewhere", t.path);
	assert_int_equal(rename(entry, moved), 0);
	assert_int_equal(symlink(moved, entry), 0);
	f = prepare_ok(&sc, t.cache);
	assert_false(f->from_cache);
	assert_true(same_program(fresh, f));
	isc_seccomp_filter_free(f);
	assert_int_equal(lstat(entry, &st), 0);
	assert_true(S_ISREG(st.st_mode)); /* the link was replaced */

	/* a hard link: not used */
	unlink(moved);
	assert_int_equal(link(entry, moved), 0);
	f = prepare_ok(&sc, t.cache);
	assert_false(f->from_cache);
	isc_seccomp_filter_free(f);

	isc_seccomp_filter_free(fresh);
	rm_rf(t.path);
}

static void test_cache_untrusted_dir(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	assert_int_equal(mkdir(t.cache, 0700), 0);
	assert_int_equal(chmod(t.cache, 0777), 0);
	struct isc_seccomp sc;
	struct isc_seccomp_rule rule;
	profile_getppid(&sc, &rule, true, 99);

	struct isc_seccomp_filter *a = prepare_ok(&sc, t.cache);
	assert_false(a->from_cache);
	char entry[256];
	assert_int_equal(cache_entries(t.cache, entry, sizeof(entry)), 0); /* not written */

	/* an entry in a directory that has become writable is not used */
	assert_int_equal(chmod(t.cache, 0700), 0);
	struct isc_seccomp_filter *b = prepare_ok(&sc, t.cache);
	assert_false(b->from_cache);
	assert_int_equal(cache_entries(t.cache, entry, sizeof(entry)), 1);
	assert_int_equal(chmod(t.cache, 0777), 0);
	struct isc_seccomp_filter *c = prepare_ok(&sc, t.cache);
	assert_false(c->from_cache);
	assert_true(same_program(a, c));

	/* group-writable is just as bad */
	assert_int_equal(chmod(t.cache, 0770), 0);
	isc_seccomp_filter_free(c);
	c = prepare_ok(&sc, t.cache);
	assert_false(c->from_cache);

	/* a symbolic link as the cache directory is not followed */
	assert_int_equal(chmod(t.cache, 0700), 0);
	char link_path[128];
	snprintf(link_path, sizeof(link_path), "%s/link", t.path);
	assert_int_equal(symlink(t.cache, link_path), 0);
	isc_seccomp_filter_free(c);
	c = prepare_ok(&sc, link_path);
	assert_false(c->from_cache);

	isc_seccomp_filter_free(a);
	isc_seccomp_filter_free(b);
	isc_seccomp_filter_free(c);
	rm_rf(t.path);
}

/* The compilation is the slow part; a hit must be much cheaper. */
/* The cache keeps at most 256 entries: the oldest go first. */
static void test_cache_bounded(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	assert_int_equal(mkdir(t.cache, 0700), 0);
	/* 300 old entries, the first one the oldest */
	for (int i = 0; i < 300; i++) {
		char *p = isc_xasprintf("%s/%064d.bpf", t.cache, i);
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
		struct timespec ts[2] = { { 1000000 + i, 0 }, { 1000000 + i, 0 } };
		assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
		free(p);
	}
	struct isc_seccomp sc;
	struct isc_seccomp_rule rule;
	profile_getppid(&sc, &rule, true, 55);
	struct isc_seccomp_filter *f = prepare_ok(&sc, t.cache);
	assert_false(f->from_cache);
	char entry[256];
	assert_int_equal(cache_entries(t.cache, entry, sizeof(entry)), 256);
	/* the oldest are gone, the newest old one and the new entry stay */
	char *oldest = isc_xasprintf("%s/%064d.bpf", t.cache, 0);
	char *newest = isc_xasprintf("%s/%064d.bpf", t.cache, 299);
	assert_int_equal(access(oldest, F_OK), -1);
	assert_int_equal(access(newest, F_OK), 0);
	free(oldest);
	free(newest);
	isc_seccomp_filter_free(f);
	struct isc_seccomp_filter *g = prepare_ok(&sc, t.cache);
	assert_true(g->from_cache);
	isc_seccomp_filter_free(g);
}

/* ---- tests: verdicts of a compiled program, for any architecture ------------------------ */

/* The program run on one struct seccomp_data, as the kernel would: the
 * verdicts for i386 (which this machine may not be able to execute) are
 * checked on the very program the runtime installs.  Only what libseccomp
 * and the stub emit is interpreted; anything else fails the test. */
static uint32_t verdict(const struct isc_seccomp_filter *f, uint32_t arch, uint32_t nr, const uint64_t *args)
{
	struct seccomp_data d;
	memset(&d, 0, sizeof(d));
	d.nr = (int)nr;
	d.arch = arch;
	for (int i = 0; i < 6 && args; i++)
		d.args[i] = args[i];
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	for (size_t pc = 0, steps = 0; pc < f->len && steps <= f->len; pc++, steps++) {
		const struct sock_filter *i = &f->insns[pc];
		uint32_t src = (i->code & BPF_X) ? x : i->k;
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(i->k + 4 <= sizeof(d) && i->k % 4 == 0);
			memcpy(&a, (const char *)&d + i->k, 4);
			continue;
		case BPF_LD | BPF_IMM:
			a = i->k;
			continue;
		case BPF_LD | BPF_MEM:
			a = mem[i->k % BPF_MEMWORDS];
			continue;
		case BPF_LDX | BPF_IMM:
			x = i->k;
			continue;
		case BPF_ST:
			mem[i->k % BPF_MEMWORDS] = a;
			continue;
		case BPF_ALU | BPF_AND | BPF_K:
		case BPF_ALU | BPF_AND | BPF_X:
			a &= src;
			continue;
		case BPF_JMP | BPF_JA:
			pc += i->k;
			continue;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JEQ | BPF_X:
			pc += a == src ? i->jt : i->jf;
			continue;
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_X:
			pc += a > src ? i->jt : i->jf;
			continue;
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_X:
			pc += a >= src ? i->jt : i->jf;
			continue;
		case BPF_JMP | BPF_JSET | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_X:
			pc += (a & src) ? i->jt : i->jf;
			continue;
		case BPF_RET | BPF_K:
			return i->k;
		case BPF_RET | BPF_A:
			return a;
		default:
			fail_msg("instruction 0x%x at %zu not interpreted", i->code, pc);
		}
	}
	fail_msg("the program ran off its end");
	return 0;
}

#define AUDIT_I386 0x40000003u
#define AUDIT_X86_64 0xc000003eu
#define X32_BIT 0x40000000u
#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (e))
#define I386_SOCKETCALL 102u
#define I386_SOCKET 359u
#define I386_SOCKETPAIR 360u
#define I386_IPC 117u

static uint32_t verdict3(const struct isc_seccomp_filter *f, uint32_t arch, uint32_t nr, uint64_t a0, uint64_t a1,
			 uint64_t a2)
{
	const uint64_t args[6] = { a0, a1, a2, 0, 0, 0 };
	return verdict(f, arch, nr, args);
}

static char *x86_arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
static char *socket_names[] = { "socket", NULL };
static char *socketcall_names[] = { "socketcall", NULL };
static char *shmctl_names[] = { "shmctl", NULL };
static char *basic_names[] = { "read", "write", "getpid", NULL };

static struct isc_seccomp_filter *socket_profile(int def_errno, bool name_socketcall)
{
	static struct isc_seccomp_arg inet = { .index = 0, .op = ISC_SCMP_EQ, .value = AF_INET };
	static struct isc_seccomp_arg shm = { .index = 1, .op = ISC_SCMP_EQ, .value = 2 /* IPC_STAT */ };
	struct isc_seccomp_rule rules[] = {
		{ .names = basic_names, .action = ISC_SCMP_ALLOW },
		{ .names = socket_names, .action = ISC_SCMP_ALLOW, .args = &inet, .n_args = 1 },
		{ .names = shmctl_names, .action = ISC_SCMP_ALLOW, .args = &shm, .n_args = 1 },
		{ .names = socketcall_names, .action = ISC_SCMP_ALLOW },
	};
	struct isc_seccomp sc = { .default_action = ISC_SCMP_ERRNO, .has_default_errno_ret = true,
				  .default_errno_ret = (unsigned)def_errno, .architectures = x86_arches,
				  .rules = rules, .n_rules = name_socketcall ? 4 : 3 };
	return prepare_ok(&sc, NULL);
}

/* A socket rule with an argument check is not turned into a permissive
 * socketcall rule (review3 R2); nor an ipc call's into an ipc rule. */
static void test_multiplexer_guard(void **state)
{
	(void)state;
	struct isc_seccomp_filter *f = socket_profile(EPERM, false);
	assert_int_equal(verdict3(f, AUDIT_I386, I386_SOCKETCALL, 1 /* SYS_SOCKET */, 0x1000, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(verdict3(f, AUDIT_I386, I386_SOCKET, AF_INET, SOCK_STREAM, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict3(f, AUDIT_I386, I386_SOCKET, AF_VSOCK, SOCK_STREAM, 0), RET_ERRNO(EPERM));
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_socket, AF_INET, SOCK_STREAM, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_socket, AF_VSOCK, SOCK_STREAM, 0), RET_ERRNO(EPERM));
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_socket | X32_BIT, AF_VSOCK, SOCK_STREAM, 0), RET_ERRNO(EPERM));
	assert_int_equal(verdict3(f, AUDIT_I386, I386_IPC, 24 /* SHMCTL */, 2, 0), RET_ERRNO(ENOSYS));
	isc_seccomp_filter_free(f);

	/* a default of ENOSYS: the multiplexer is refused with EPERM, an
	 * action libseccomp accepts next to the default */
	f = socket_profile(ENOSYS, false);
	assert_int_equal(verdict3(f, AUDIT_I386, I386_SOCKETCALL, 1, 0x1000, 0), RET_ERRNO(EPERM));
	assert_int_equal(verdict3(f, AUDIT_I386, I386_SOCKET, AF_INET, SOCK_STREAM, 0), SECCOMP_RET_ALLOW);
	isc_seccomp_filter_free(f);

	/* the control: a profile that names socketcall is compiled as written */
	f = socket_profile(EPERM, true);
	assert_int_equal(verdict3(f, AUDIT_I386, I386_SOCKETCALL, 1, 0x1000, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict3(f, AUDIT_I386, I386_SOCKET, AF_VSOCK, SOCK_STREAM, 0), RET_ERRNO(EPERM));
	isc_seccomp_filter_free(f);
}

/* Above the highest syscall the profile names: ENOSYS; below: the default. */
static void test_enosys_above_newest(void **state)
{
	(void)state;
	struct isc_seccomp_rule rule = { .names = basic_names, .action = ISC_SCMP_ALLOW }; /* up to getpid (39) */
	struct isc_seccomp sc = { .default_action = ISC_SCMP_ERRNO, .architectures = x86_arches,
				  .rules = &rule, .n_rules = 1 };
	struct isc_seccomp_filter *f = prepare_ok(&sc, NULL);
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_getpid + 1, 0, 0, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_mount, 0, 0, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_open, 0, 0, 0), RET_ERRNO(EPERM)); /* 2: below */
	/* i386: getpid is 20 */
	assert_int_equal(verdict3(f, AUDIT_I386, 20, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict3(f, AUDIT_I386, 21, 0, 0, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(verdict3(f, AUDIT_I386, 5, 0, 0, 0), RET_ERRNO(EPERM));
	/* x32: the same numbers with bit 30 */
	assert_int_equal(verdict3(f, AUDIT_X86_64, X32_BIT | SYS_getpid, 0, 0, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict3(f, AUDIT_X86_64, X32_BIT | (SYS_getpid + 1), 0, 0, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(verdict3(f, AUDIT_X86_64, X32_BIT | SYS_open, 0, 0, 0), RET_ERRNO(EPERM));
	/* x32's own block (512..) is not "newer": the default */
	assert_int_equal(verdict3(f, AUDIT_X86_64, X32_BIT | 520, 0, 0, 0), RET_ERRNO(EPERM));
	isc_seccomp_filter_free(f);

	/* without x32 in the filter, an x32 call stays a bad architecture */
	char *no_x32[] = { "SCMP_ARCH_X86_64", NULL };
	sc.architectures = no_x32;
	f = prepare_ok(&sc, NULL);
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_mount, 0, 0, 0), RET_ERRNO(ENOSYS));
	assert_int_not_equal(verdict3(f, AUDIT_X86_64, X32_BIT | SYS_mount, 0, 0, 0) & SECCOMP_RET_ACTION_FULL,
			     SECCOMP_RET_ERRNO);
	isc_seccomp_filter_free(f);

	/* a default that allows: no stub (ENOSYS would refuse what it allows) */
	static char *keyctl_names[] = { "keyctl", NULL };
	struct isc_seccomp_rule deny = { .names = keyctl_names, .action = ISC_SCMP_ERRNO };
	struct isc_seccomp allow = { .default_action = ISC_SCMP_ALLOW, .architectures = x86_arches,
				     .rules = &deny, .n_rules = 1 };
	f = prepare_ok(&allow, NULL);
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_keyctl, 0, 0, 0), RET_ERRNO(EPERM));
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_keyctl + 100, 0, 0, 0), SECCOMP_RET_ALLOW);
	isc_seccomp_filter_free(f);
}

/* The default profile, for every architecture it admits. */
static void test_default_profile_arches(void **state)
{
	(void)state;
	char *json = isc_spec_default_json(false);
	struct isc_spec *spec = NULL;
	isc_error *err = NULL;
	if (isc_spec_parse(json, strlen(json), &spec, &err) < 0)
		fail_msg("the default spec: %s", err->msg);
	struct isc_seccomp_filter *f = prepare_ok(spec->seccomp, NULL);
	for (uint64_t call = 1; call <= 20; call++) /* every socketcall call */
		assert_int_equal(verdict3(f, AUDIT_I386, I386_SOCKETCALL, call, 0x1000, 0), RET_ERRNO(ENOSYS));
	const struct {
		uint32_t arch, socket, socketpair;
	} arches[] = { { AUDIT_X86_64, SYS_socket, SYS_socketpair }, { AUDIT_I386, I386_SOCKET, I386_SOCKETPAIR },
		       { AUDIT_X86_64, X32_BIT | SYS_socket, X32_BIT | SYS_socketpair } };
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++) {
		uint32_t a = arches[i].arch, s = arches[i].socket, p = arches[i].socketpair;
		assert_int_equal(verdict3(f, a, s, AF_INET, SOCK_STREAM, 0), SECCOMP_RET_ALLOW);
		assert_int_equal(verdict3(f, a, s, AF_UNIX, SOCK_STREAM, 0), SECCOMP_RET_ALLOW);
		assert_int_equal(verdict3(f, a, s, AF_VSOCK, SOCK_STREAM, 0), RET_ERRNO(EPERM));
		assert_int_equal(verdict3(f, a, s, AF_NETLINK, SOCK_RAW, 15 /* KOBJECT_UEVENT */),
				 RET_ERRNO(EPROTONOSUPPORT));
		assert_int_equal(verdict3(f, a, p, AF_UNIX, SOCK_STREAM, 0), SECCOMP_RET_ALLOW);
		assert_int_equal(verdict3(f, a, p, AF_VSOCK, SOCK_STREAM, 0), RET_ERRNO(EPERM));
	}
	/* fchmodat2 (452 on both) allowed if this libseccomp knows it, never
	 * EPERM; listmount (458) newer than the profile: ENOSYS */
	assert_int_not_equal(verdict3(f, AUDIT_X86_64, 452, 0, 0, 0), RET_ERRNO(EPERM));
	assert_int_equal(verdict3(f, AUDIT_X86_64, 458, 0, 0, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(verdict3(f, AUDIT_I386, 458, 0, 0, 0), RET_ERRNO(ENOSYS));
	assert_int_equal(verdict3(f, AUDIT_X86_64, SYS_mount, 0, 0, 0), RET_ERRNO(EPERM));
	isc_seccomp_filter_free(f);
	isc_spec_free(spec);
	free(json);
}

static void test_cache_speed(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	static char *many[] = { "read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek",
				"mmap", "mprotect", "munmap", "brk", "ioctl", "pread64", "pwrite64", "readv",
				"writev", "access", "pipe", "select", "sched_yield", "mremap", "msync",
				"mincore", "madvise", "shmget", "shmat", "shmctl", "dup", "dup2", "pause",
				"nanosleep", "getitimer", "alarm", "setitimer", "getpid", "sendfile", "socket",
				"connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
				"bind", "listen", "getsockname", "getpeername", "socketpair", "setsockopt",
				"getsockopt", "clone", "fork", "vfork", "execve", "exit", "wait4", "kill",
				"uname", "exit_group", "getppid", "personality", "futex", "openat", NULL };
	struct isc_seccomp_rule rule = { .names = many, .action = ISC_SCMP_ALLOW };
	char *arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
	struct isc_seccomp sc = { .default_action = ISC_SCMP_ERRNO, .architectures = arches,
				  .rules = &rule, .n_rules = 1 };

	uint64_t t0 = isc_now_ns();
	struct isc_seccomp_filter *a = prepare_ok(&sc, t.cache);
	uint64_t t1 = isc_now_ns();
	struct isc_seccomp_filter *b = prepare_ok(&sc, t.cache);
	uint64_t t2 = isc_now_ns();
	assert_false(a->from_cache);
	assert_true(b->from_cache);
	assert_true(same_program(a, b));
	print_message("compile %.1f us (%zu insns), cache hit %.1f us\n", (double)(t1 - t0) / 1e3, a->len,
		      (double)(t2 - t1) / 1e3);
	isc_seccomp_filter_free(a);
	isc_seccomp_filter_free(b);
	rm_rf(t.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_errno_rule),
		cmocka_unit_test(test_arg_rules),
		cmocka_unit_test(test_rule_like_default_skipped),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_notify_unsupported),
		cmocka_unit_test(test_arches),
		cmocka_unit_test(test_install_error),
		cmocka_unit_test(test_default_profile_rules),
		cmocka_unit_test(test_multiplexer_guard),
		cmocka_unit_test(test_enosys_above_newest),
		cmocka_unit_test(test_default_profile_arches),
		cmocka_unit_test_teardown(test_cache_hit, tmpdir_teardown),
		cmocka_unit_test_teardown(test_cache_tampered, tmpdir_teardown),
		cmocka_unit_test_teardown(test_cache_untrusted_dir, tmpdir_teardown),
		cmocka_unit_test_teardown(test_cache_speed, tmpdir_teardown),
		cmocka_unit_test_teardown(test_cache_bounded, tmpdir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
