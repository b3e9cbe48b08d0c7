/* SPDX-License-Identifier: GPL-2.0-or-later
 * The sync socket: messages and errors cross a process boundary intact. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/sync.h"
#include "base/util.h"

static void error_crosses_fork(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		isc_error *e = NULL;
		isc_sync_send(sv[1], ISC_SYNC_CHILD_PID, 1234, NULL, 0, &e);
		isc_error_set(&e, EACCES, "mount %s", "/data");
		isc_sync_send_error(sv[1], e);
		_exit(0);
	}
	close(sv[1]);
	isc_error *e = NULL;
	int32_t v = 0;
	assert_int_equal(isc_sync_recv(sv[0], ISC_SYNC_CHILD_PID, &v, &e), ISC_SYNC_CHILD_PID);
	assert_int_equal(v, 1234);
	assert_int_equal(isc_sync_recv(sv[0], ISC_SYNC_CREATED, NULL, &e), -1);
	char buf[128];
	assert_string_equal(isc_error_text(e, buf, sizeof(buf)), "mount /data: Permission denied");
	isc_error_free(&e);
	/* the peer is gone: a clear error, not a hang */
	waitpid(pid, NULL, 0);
	assert_int_equal(isc_sync_recv(sv[0], 0, NULL, &e), -1);
	assert_string_equal(e->msg, "container init exited unexpectedly");
	isc_error_free(&e);
	close(sv[0]);
}

static void unexpected_type_is_an_error(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	isc_error *e = NULL;
	assert_int_equal(isc_sync_send(sv[1], ISC_SYNC_GO, 0, "payload", 7, &e), 0);
	assert_int_equal(isc_sync_recv(sv[0], ISC_SYNC_CREATED, NULL, &e), -1);
	assert_int_equal(e->errnum, EPROTO);
	isc_error_free(&e);
	/* a short datagram is rejected */
	assert_int_equal(send(sv[1], "x", 1, 0), 1);
	assert_int_equal(isc_sync_recv(sv[0], 0, NULL, &e), -1);
	assert_int_equal(e->errnum, EPROTO);
	isc_error_free(&e);
	close(sv[0]);
	close(sv[1]);
}

/* issue 14: an error longer than a datagram arrives cut in its middle, at
 * a character boundary, with a marker; its end and errno arrive */
static void long_error_keeps_its_end(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	char path[9000];
	size_t n = 0;
	while (n + 3 < sizeof(path) - 32) {
		memcpy(path + n, "\xe2\x82\xac", 3); /* "€": a cut at 4096 falls inside one */
		n += 3;
	}
	strcpy(path + n, "/the-last-step");
	isc_error *e = NULL;
	isc_error_set(&e, ENOENT, "mount source %s", path);
	isc_sync_send_error(sv[1], e);
	isc_error_free(&e);
	assert_int_equal(isc_sync_recv(sv[0], 0, NULL, &e), -1);
	assert_int_equal(e->errnum, ENOENT);
	assert_true(strlen(e->msg) <= 4096);
	assert_true(strncmp(e->msg, "mount source \xe2\x82\xac", 16) == 0);
	assert_non_null(strstr(e->msg, " bytes cut ...] \xe2\x82\xac"));
	const char *end = "\xe2\x82\xac/the-last-step";
	assert_string_equal(e->msg + strlen(e->msg) - strlen(end), end);
	/* whole characters only: the byte before the marker ends a "€" */
	const char *m = strstr(e->msg, " [... ");
	assert_non_null(m);
	assert_int_equal((unsigned char)m[-1], 0xac);
	isc_error_free(&e);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error_crosses_fork),
		cmocka_unit_test(unexpected_type_is_an_error),
		cmocka_unit_test(long_error_keeps_its_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
