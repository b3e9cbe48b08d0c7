/* SPDX-License-Identifier: GPL-2.0-or-later
 * Capabilities (name table, isc_caps_apply in a forked child) and signal
 * names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/caps.h"
#include "base/signals.h"

#define BIT(c) (UINT64_C(1) << (c))

/* ---- capability names ---------------------------------------------------- */

static void test_cap_names(void **state)
{
	(void)state;
	assert_int_equal(isc_cap_last(), 40);
	for (int c = 0; c <= isc_cap_last(); c++) {
		const char *n = isc_cap_name(c);
		assert_non_null(n);
		assert_int_equal(isc_cap_from_name(n), c);
	}
	assert_int_equal(isc_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(isc_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(isc_cap_from_name("CAP_NET_BIND_SERVICE"), 10);
	assert_int_equal(isc_cap_from_name("CAP_BPF"), 39);
	assert_int_equal(isc_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_string_equal(isc_cap_name(CAP_AUDIT_READ), "CAP_AUDIT_READ");
	assert_int_equal(isc_cap_from_name("CAP_NOPE"), -1);
	assert_int_equal(isc_cap_from_name("cap_chown"), -1);
	assert_int_equal(isc_cap_from_name(""), -1);
	assert_int_equal(isc_cap_from_name(NULL), -1);
	assert_null(isc_cap_name(-1));
	assert_null(isc_cap_name(41));
}

static void test_cap_last_kernel(void **state)
{
	(void)state;
	int last = isc_cap_last_kernel();
	assert_true(last >= 36 && last < 64);
	assert_int_equal(isc_cap_last_kernel(), last); /* cached */
	/* the bounding set answers for every cap up to the last one */
	assert_true(prctl(PR_CAPBSET_READ, (unsigned long)last, 0, 0, 0) >= 0);
	assert_true(prctl(PR_CAPBSET_READ, (unsigned long)last + 1, 0, 0, 0) < 0);
}

/* ---- isc_caps_apply in a child --------------------------------------------- */

/* Run fn in a forked child; returns its exit code (or 128 + signal). */
static int run_child(int (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int read_caps(uint64_t *eff, uint64_t *perm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { { 0 }, { 0 } };
	if (syscall(SYS_capget, &hdr, d) < 0)
		return -1;
	*eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	*perm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	*inh = (uint64_t)d[1].inheritable << 32 | d[0].inheritable;
	return 0;
}

static bool have_full_caps(void)
{
	uint64_t e, p, i;
	return read_caps(&e, &p, &i) == 0 && (p & BIT(CAP_SETPCAP)) && (p & BIT(CAP_SYS_ADMIN)) &&
	       prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 1;
}

static int child_apply(void)
{
	const uint64_t keep = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
	struct isc_caps caps = {
		.bounding = keep | BIT(63), /* bits past the kernel's last cap are ignored */
		.effective = keep,
		.permitted = keep,
		.inheritable = BIT(CAP_NET_BIND_SERVICE),
		.ambient = BIT(CAP_NET_BIND_SERVICE),
		.present = true,
	};
	isc_error *err = NULL;
	if (isc_caps_apply(&caps, &err) < 0) {
		fprintf(stderr, "isc_caps_apply: %s\n", err->msg);
		return 10;
	}
	for (int c = 0; c <= isc_cap_last_kernel(); c++) {
		int want = (keep & BIT(c)) != 0;
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) != want)
			return 11;
	}
	uint64_t e, p, i;
	if (read_caps(&e, &p, &i) < 0)
		return 12;
	if (e != keep || p != keep || i != BIT(CAP_NET_BIND_SERVICE))
		return 13;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 1)
		return 14;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) != 0)
		return 15;
	return 0;
}

static void test_caps_apply(void **state)
{
	(void)state;
	if (!have_full_caps())
		skip();
	assert_int_equal(run_child(child_apply), 0);
}

/* After setresuid() to a non-root uid with PR_SET_KEEPCAPS the effective set
 * is empty; isc_caps_apply must still manage the bounding set. */
static int child_apply_after_setuid(void)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return 20;
	uint64_t e, p, i;
	if (read_caps(&e, &p, &i) < 0 || e != 0)
		return 21;
	struct isc_caps caps = {
		.bounding = BIT(CAP_NET_BIND_SERVICE),
		.effective = BIT(CAP_NET_BIND_SERVICE),
		.permitted = BIT(CAP_NET_BIND_SERVICE),
		.inheritable = BIT(CAP_NET_BIND_SERVICE),
		.ambient = BIT(CAP_NET_BIND_SERVICE),
		.present = true,
	};
	isc_error *err = NULL;
	if (isc_caps_apply(&caps, &err) < 0) {
		fprintf(stderr, "isc_caps_apply: %s\n", err->msg);
		return 22;
	}
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_NET_BIND_SERVICE, 0, 0, 0) != 1)
		return 23;
	if (read_caps(&e, &p, &i) < 0 || e != BIT(CAP_NET_BIND_SERVICE) || p != e)
		return 24;
	return 0;
}

static void test_caps_apply_after_setuid(void **state)
{
	(void)state;
	if (!have_full_caps() || getuid() != 0)
		skip();
	assert_int_equal(run_child(child_apply_after_setuid), 0);
}

/* An ambient cap that is not inheritable (or not permitted) cannot be
 * raised: it is skipped, as runc skips it (`runc spec`'s default has
 * ambient caps and no inheritable ones); one that is both is raised. */
static int child_apply_ambient_not_raisable(void)
{
	struct isc_caps caps = {
		.bounding = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE),
		.effective = BIT(CAP_CHOWN) | BIT(CAP_KILL),
		.permitted = BIT(CAP_CHOWN) | BIT(CAP_KILL),
		.inheritable = BIT(CAP_CHOWN),
		/* KILL: not inheritable; NET_BIND_SERVICE: not permitted */
		.ambient = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE),
		.present = true,
	};
	isc_error *err = NULL;
	if (isc_caps_apply(&caps, &err) < 0) {
		fprintf(stderr, "isc_caps_apply: %s\n", err->msg);
		isc_error_free(&err);
		return 30;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0) != 1)
		return 31;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0) != 0)
		return 32;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 0)
		return 33;
	uint64_t e, p, i;
	if (read_caps(&e, &p, &i) < 0 || e != (BIT(CAP_CHOWN) | BIT(CAP_KILL)) || i != BIT(CAP_CHOWN))
		return 34;
	return 0;
}

static void test_caps_apply_ambient_not_raisable(void **state)
{
	(void)state;
	if (!have_full_caps())
		skip();
	assert_int_equal(run_child(child_apply_ambient_not_raisable), 0);
}

/* effective must be a subset of permitted: the error names the culprit */
static int child_effective_error(void)
{
	struct isc_caps caps = {
		.bounding = BIT(CAP_CHOWN) | BIT(CAP_KILL),
		.effective = BIT(CAP_CHOWN) | BIT(CAP_KILL),
		.permitted = BIT(CAP_CHOWN),
		.present = true,
	};
	isc_error *err = NULL;
	if (isc_caps_apply(&caps, &err) == 0)
		return 50;
	int rc = strcmp(err->msg, "set capabilities: CAP_KILL is effective but not permitted") == 0 ? 0 : 51;
	if (rc)
		fprintf(stderr, "unexpected error: %s (%d)\n", err->msg, err->errnum);
	isc_error_free(&err);
	return rc;
}

static void test_caps_effective_error(void **state)
{
	(void)state;
	if (!have_full_caps())
		skip();
	assert_int_equal(run_child(child_effective_error), 0);
}

/* Without CAP_SETPCAP the bounding set cannot shrink: the error names the
 * first capability refused. */
static int child_bounding_error(void)
{
	/* drop CAP_SETPCAP from everything but keep the rest */
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { { 0 }, { 0 } };
	if (syscall(SYS_capget, &hdr, d) < 0)
		return 40;
	d[0].effective &= ~(1u << CAP_SETPCAP);
	d[0].permitted &= ~(1u << CAP_SETPCAP);
	if (syscall(SYS_capset, &hdr, d) < 0)
		return 41;
	struct isc_caps caps = { .bounding = BIT(CAP_SETPCAP) | BIT(CAP_KILL), .present = true };
	isc_error *err = NULL;
	if (isc_caps_apply(&caps, &err) == 0)
		return 42;
	int rc = strcmp(err->msg, "drop capability CAP_CHOWN from the bounding set") == 0 &&
			 err->errnum == EPERM ? 0 : 43;
	if (rc)
		fprintf(stderr, "unexpected error: %s (%d)\n", err->msg, err->errnum);
	isc_error_free(&err);
	return rc;
}

static void test_caps_bounding_error(void **state)
{
	(void)state;
	if (!have_full_caps())
		skip();
	assert_int_equal(run_child(child_bounding_error), 0);
}

/* ---- signals ------------------------------------------------------------- */

static void test_signal_parse(void **state)
{
	(void)state;
	assert_int_equal(isc_signal_parse("TERM"), SIGTERM);
	assert_int_equal(isc_signal_parse("SIGTERM"), SIGTERM);
	assert_int_equal(isc_signal_parse("term"), SIGTERM);
	assert_int_equal(isc_signal_parse("sigTerm"), SIGTERM);
	assert_int_equal(isc_signal_parse("15"), 15);
	assert_int_equal(isc_signal_parse("9"), SIGKILL);
	assert_int_equal(isc_signal_parse("KILL"), SIGKILL);
	assert_int_equal(isc_signal_parse("HUP"), SIGHUP);
	assert_int_equal(isc_signal_parse("USR1"), SIGUSR1);
	assert_int_equal(isc_signal_parse("SIGWINCH"), SIGWINCH);
	assert_int_equal(isc_signal_parse("IOT"), SIGABRT);
	assert_int_equal(isc_signal_parse("SIGCLD"), SIGCHLD);
	assert_int_equal(isc_signal_parse("POLL"), SIGIO);
	assert_int_equal(isc_signal_parse("1"), 1);
	assert_int_equal(isc_signal_parse("64"), 64);

	assert_int_equal(isc_signal_parse("RTMIN"), SIGRTMIN);
	assert_int_equal(isc_signal_parse("RTMIN+3"), SIGRTMIN + 3);
	assert_int_equal(isc_signal_parse("SIGRTMIN+1"), SIGRTMIN + 1);
	assert_int_equal(isc_signal_parse("rtmin+2"), SIGRTMIN + 2);
	assert_int_equal(isc_signal_parse("RTMAX"), SIGRTMAX);
	assert_int_equal(isc_signal_parse("RTMAX-2"), SIGRTMAX - 2);
	assert_int_equal(isc_signal_parse("SIGRTMAX-0"), SIGRTMAX);
	assert_int_equal(isc_signal_parse("RTMIN+30"), SIGRTMIN + 30 <= SIGRTMAX ? SIGRTMIN + 30 : -1);

	const char *bad[] = { "", "0", "65", "-1", "+15", "15x", "1000", "SIG", "FOO", "SIGFOO", "TERM ",
			      "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+99", "RTMAX-99", "RTMIN+x", "RTMIN3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (isc_signal_parse(bad[i]) != -1)
			fail_msg("\"%s\" parsed as %d", bad[i], isc_signal_parse(bad[i]));
	}
	assert_int_equal(isc_signal_parse(NULL), -1);
}

static void test_signal_name(void **state)
{
	(void)state;
	assert_string_equal(isc_signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(isc_signal_name(SIGKILL), "SIGKILL");
	assert_string_equal(isc_signal_name(SIGCHLD), "SIGCHLD");
	assert_string_equal(isc_signal_name(SIGABRT), "SIGABRT");
	assert_string_equal(isc_signal_name(SIGRTMIN), "SIGRTMIN");
	assert_string_equal(isc_signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
	assert_null(isc_signal_name(0));
	assert_null(isc_signal_name(-1));
	assert_null(isc_signal_name(65));
	/* every standard signal round-trips */
	for (int s = 1; s < 32; s++) {
		const char *n = isc_signal_name(s);
		assert_non_null(n);
		assert_int_equal(isc_signal_parse(n), s);
	}
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
		const char *n = isc_signal_name(s);
		assert_non_null(n);
		assert_int_equal(isc_signal_parse(n), s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_names),
		cmocka_unit_test(test_cap_last_kernel),
		cmocka_unit_test(test_caps_apply),
		cmocka_unit_test(test_caps_apply_after_setuid),
		cmocka_unit_test(test_caps_apply_ambient_not_raisable),
		cmocka_unit_test(test_caps_bounding_error),
		cmocka_unit_test(test_caps_effective_error),
		cmocka_unit_test(test_signal_parse),
		cmocka_unit_test(test_signal_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
