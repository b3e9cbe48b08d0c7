/* SPDX-License-Identifier: GPL-2.0-or-later
 * Pure helpers: number parsing, file I/O, atomic writes, ids, state JSON. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "runtime/state.h"
#include "base/util.h"

static void parse_numbers(void **state)
{
	(void)state;
	uint64_t u;
	int64_t i;
	assert_int_equal(isc_parse_u64("0", &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(isc_parse_u64("18446744073709551615", &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(isc_parse_u64("18446744073709551616", &u), -1);
	assert_int_equal(isc_parse_u64("-1", &u), -1);
	assert_int_equal(isc_parse_u64("12a", &u), -1);
	assert_int_equal(isc_parse_u64("", &u), -1);
	assert_int_equal(isc_parse_u64(" 1", &u), -1);
	assert_int_equal(isc_parse_i64("-42", &i), 0);
	assert_int_equal(i, -42);
	assert_int_equal(isc_parse_i64("x", &i), -1);
}

static void files_roundtrip_and_atomic_write(void **state)
{
	(void)state;
	char dir[] = "/tmp/isc-test-util-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	isc_error *e = NULL;
	assert_int_equal(isc_write_file_atomic(dfd, "state.json", "{\"a\":1}", 7, 0600, &e), 0);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(isc_read_file_at(dfd, "state.json", &text, &len, 0, &e), 0);
	assert_int_equal(len, 7);
	assert_string_equal(text, "{\"a\":1}");
	free(text);
	struct stat st;
	assert_int_equal(fstatat(dfd, "state.json", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no temporary file is left */
	assert_int_equal(faccessat(dfd, ".state.json.tmp", F_OK, 0), -1);
	/* a size cap is an error that names the file */
	assert_int_equal(isc_read_file_at(dfd, "state.json", &text, &len, 3, &e), -1);
	assert_int_equal(e->errnum, EFBIG);
	isc_error_free(&e);
	assert_int_equal(isc_read_file_at(dfd, "missing", &text, &len, 0, &e), -1);
	assert_int_equal(e->errnum, ENOENT);
	assert_string_equal(e->msg, "open missing");
	isc_error_free(&e);
	unlinkat(dfd, "state.json", 0);
	close(dfd);
	cleanup_free char *deep = isc_xasprintf("%s/a/b/c", dir);
	assert_int_equal(isc_mkdir_p(deep, 0700, &e), 0);
	assert_int_equal(stat(deep, &st), 0);
	cleanup_free char *cmd = isc_xasprintf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Entries of the directory other than . and .., sorted, space-separated. */
static char *dir_entries(const char *dir)
{
	cleanup_free char *cmd = isc_xasprintf("LC_ALL=C ls -A %s | tr '\\n' ' '", dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char buf[4096] = "";
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = 0;
	pclose(p);
	return isc_xstrdup(buf);
}

/* The temporary name is never one somebody else could have made first:
 * the old predictable names, pre-created (a file, a symlink to a victim),
 * are left as they were; the target is a new regular file of ours; a
 * symlink at the target is replaced, its own target untouched; nothing is
 * left behind, on success or failure. */
static void atomic_write_never_uses_a_planted_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/isc-test-atomic-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	isc_error *e = NULL;
	/* the names the old code used: .NAME.tmp.PID */
	cleanup_free char *planted = isc_xasprintf(".pid.tmp.%d", (int)getpid());
	int pf = openat(dfd, planted, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	assert_true(pf >= 0);
	assert_int_equal(write(pf, "planted", 7), 7);
	close(pf);
	assert_int_equal(openat(dfd, "victim", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) >= 0, 1);
	cleanup_free char *planted2 = isc_xasprintf(".state.tmp.%d", (int)getpid());
	assert_int_equal(symlinkat("victim", dfd, planted2), 0);
	assert_int_equal(symlinkat("victim", dfd, "state"), 0); /* the target itself */

	assert_int_equal(isc_write_file_atomic(dfd, "pid", "1234", 4, 0644, &e), 0);
	assert_int_equal(isc_write_file_durable(dfd, "state", "{}", 2, 0600, &e), 0);

	char *text = NULL;
	assert_int_equal(isc_read_file_at(dfd, "pid", &text, NULL, 0, &e), 0);
	assert_string_equal(text, "1234");
	free(text);
	assert_int_equal(isc_read_file_at(dfd, planted, &text, NULL, 0, &e), 0);
	assert_string_equal(text, "planted");
	free(text);
	struct stat st, pst;
	assert_int_equal(fstatat(dfd, "pid", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(fstatat(dfd, planted, &pst, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_ino != pst.st_ino && st.st_nlink == 1);
	assert_int_equal(fstatat(dfd, "state", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fstatat(dfd, "victim", &st, 0), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(readlinkat(dfd, planted2, (char[16]){ 0 }, 16), 6);

	/* a failing rename (a directory is in the way) leaves no temporary */
	assert_int_equal(mkdirat(dfd, "busy", 0700), 0);
	assert_int_equal(mknodat(dfd, "busy/x", S_IFREG | 0600, 0), 0);
	assert_int_equal(isc_write_file_atomic(dfd, "busy", "x", 1, 0600, &e), -1);
	assert_true(e->errnum == EISDIR || e->errnum == ENOTEMPTY);
	assert_string_equal(e->msg, "write busy");
	isc_error_free(&e);

	cleanup_free char *got = dir_entries(dir);
	cleanup_free char *want = isc_xasprintf("%s %s busy pid state victim ", planted, planted2);
	assert_string_equal(got, want);
	close(dfd);
	cleanup_free char *cmd = isc_xasprintf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void container_ids(void **state)
{
	(void)state;
	isc_error *e = NULL;
	assert_int_equal(isc_state_check_id("abc-DEF_1.2+3", &e), 0);
	const char *bad[] = { "", "a/b", "..", ".hidden", "a b", "a\nb", "é" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(isc_state_check_id(bad[i], &e), -1);
		isc_error_free(&e);
	}
	char longid[1100];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(isc_state_check_id(longid, &e), -1);
	isc_error_free(&e);
}

static void oci_state_json(void **state)
{
	(void)state;
	struct isc_state st = { .id = "c1", .bundle = "/b", .pid = 42, .annotations_json = "{\"k\":\"v\"}" };
	cleanup_free char *j = isc_state_oci_json(&st, ISC_STATUS_RUNNING);
	assert_non_null(strstr(j, "\"status\": \"running\""));
	assert_non_null(strstr(j, "\"pid\": 42"));
	assert_non_null(strstr(j, "\"ociVersion\": \"1.2.0\""));
	assert_non_null(strstr(j, "\"k\": \"v\""));
	cleanup_free char *s = isc_state_oci_json(&st, ISC_STATUS_STOPPED);
	assert_non_null(strstr(s, "\"pid\": 0"));
	assert_string_equal(isc_status_name(ISC_STATUS_CREATED), "created");
	cleanup_free char *t = isc_rfc3339_now();
	assert_int_equal(strlen(t), strlen("2026-11-28T14:20:02.123456789Z"));
	assert_int_equal(t[strlen(t) - 1], 'Z');
}

static void proc_start_time(void **state)
{
	(void)state;
	uint64_t t = isc_proc_start_time(getpid());
	assert_true(t > 0);
	/* field 22 of /proc/self/stat, counted independently */
	FILE *f = fopen("/proc/self/stat", "r");
	assert_non_null(f);
	char buf[1024];
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	char *p = strrchr(buf, ')') + 2;
	unsigned long long v = 0;
	for (int field = 3; field <= 22; field++) {
		if (field == 22)
			v = strtoull(p, NULL, 10);
		p = strchr(p, ' ') + 1;
	}
	assert_true(t == v);
	assert_true(isc_proc_start_time(0x7ffffff0) == 0);
}

static void close_fds_except_keeps_exactly(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fds[6];
		for (int i = 0; i < 6; i++)
			fds[i] = open("/dev/null", O_RDONLY);
		/* unsorted, a duplicate and a negative entry */
		int keep[] = { fds[4], -1, fds[1], fds[4] };
		if (isc_close_fds_except(keep, 4) != 0)
			_exit(9);
		for (int i = 0; i < 6; i++) {
			bool open_now = fcntl(fds[i], F_GETFD) >= 0;
			if (open_now != (i == 1 || i == 4))
				_exit(10 + i);
		}
		/* stdio untouched */
		if (fcntl(0, F_GETFD) < 0 || fcntl(2, F_GETFD) < 0)
			_exit(2);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The bounded lock: held by another open file description, it gives up
 * with EWOULDBLOCK after the bound; free, it is taken at once. */
static void flock_within_is_bounded(void **state)
{
	(void)state;
	char path[] = "/tmp/isc-test-flock-XXXXXX";
	int a = mkstemp(path);
	assert_true(a >= 0);
	int b = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(b >= 0);
	unlink(path);
	assert_int_equal(isc_flock_within(a, LOCK_EX, 1000), 0);
	uint64_t t0 = isc_now_ns();
	errno = 0;
	assert_int_equal(isc_flock_within(b, LOCK_SH, 200), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	uint64_t ms = (isc_now_ns() - t0) / 1000000;
	assert_true(ms >= 200);
	assert_int_equal(flock(a, LOCK_UN), 0);
	assert_int_equal(isc_flock_within(b, LOCK_SH, 200), 0);
	close(a);
	close(b);
}

static void wait_bound_from_env(void **state)
{
	(void)state;
	unsetenv("ISC_RUNTIME_WAIT_SECONDS");
	assert_int_equal(isc_wait_bound_ms(), 60000);
	setenv("ISC_RUNTIME_WAIT_SECONDS", "3", 1);
	assert_int_equal(isc_wait_bound_ms(), 3000);
	const char *bad[] = { "", "0", "-1", "3s", "86401", "x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("ISC_RUNTIME_WAIT_SECONDS", bad[i], 1);
		assert_int_equal(isc_wait_bound_ms(), 60000);
	}
	unsetenv("ISC_RUNTIME_WAIT_SECONDS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_numbers),
		cmocka_unit_test(files_roundtrip_and_atomic_write),
		cmocka_unit_test(atomic_write_never_uses_a_planted_file),
		cmocka_unit_test(container_ids),
		cmocka_unit_test(oci_state_json),
		cmocka_unit_test(proc_start_time),
		cmocka_unit_test(close_fds_except_keeps_exactly),
		cmocka_unit_test(flock_within_is_bounded),
		cmocka_unit_test(wait_bound_from_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
