/* SPDX-License-Identifier: GPL-2.0-or-later
 * The collector's client (audit-client.h) against a fake collector: what
 * login, logout and admin send, and the error when no collector runs. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "audit/audit-client.h"
#include "base/util.h"

static char run_dir[64];
static int listen_fd = -1;
static json_t *last_request;

static void *serve_one(void *arg)
{
	(void)arg;
	int fd = accept(listen_fd, NULL, NULL);
	char buf[65536];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	last_request = json_loadb(buf, (size_t)n, 0, NULL);
	const char *ok = "{\"ok\":true,\"seq\":7}";
	send(fd, ok, strlen(ok), 0);
	close(fd);
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	snprintf(run_dir, sizeof(run_dir), "/tmp/isc-test-aclient-XXXXXX");
	assert_non_null(mkdtemp(run_dir));
	setenv("ISC_AUDIT_RUN_DIR", run_dir, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", run_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void no_collector_is_an_error(void **state)
{
	(void)state;
	isc_error *e = NULL;
	char *sid = NULL;
	char *argv[] = { "/bin/sh", NULL };
	assert_int_equal(isc_audit_login(NULL, 1000001, "web", argv, NULL, &sid, &e), -1);
	assert_non_null(strstr(e->msg, "isc-auditd is not running"));
	assert_null(sid);
	isc_error_free(&e);
	assert_int_equal(isc_audit_admin("/var/lib/isc", "run", "web", NULL, 0, NULL, &e), -1);
	assert_non_null(strstr(e->msg, "isc-auditd is not running"));
	isc_error_free(&e);
}

static json_t *one_request(int (*call)(void *), void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/collector.sock", run_dir);
	unlink(sa.sun_path);
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(listen_fd, 1), 0);
	pthread_t th;
	pthread_create(&th, NULL, serve_one, NULL);
	assert_int_equal(call(arg), 0);
	pthread_join(th, NULL);
	close(listen_fd);
	json_t *r = last_request;
	last_request = NULL;
	return r;
}

static char *session;

static int do_login(void *arg)
{
	(void)arg;
	isc_error *e = NULL;
	char *argv[] = { "/bin/sh", "-c", "echo hi", NULL };
	return isc_audit_login(NULL, 1000007, "web", argv, "/dev/pts/3", &session, &e);
}

static int do_logout(void *arg)
{
	(void)arg;
	isc_error *e = NULL;
	return isc_audit_logout("/", 0, "web", session, 3, 1500, &e);
}

static int do_admin(void *arg)
{
	(void)arg;
	isc_error *e = NULL;
	char *args[] = { "isc", "rm", "web", NULL };
	return isc_audit_admin("/", "rm", "web", args, ENOENT, "container \"web\" does not exist", &e);
}

static void login_logout_admin(void **state)
{
	(void)state;
	setenv("SUDO_USER", "alice", 1);
	json_t *r = one_request(do_login, NULL);
	assert_string_equal(json_string_value(json_object_get(r, "op")), "event");
	assert_int_equal(json_integer_value(json_object_get(r, "audit_id")), 1000007);
	json_t *rec = json_object_get(r, "record");
	assert_string_equal(json_string_value(json_object_get(rec, "type")), "login");
	assert_string_equal(json_string_value(json_object_get(rec, "container")), "web");
	assert_string_equal(json_string_value(json_object_get(rec, "tty")), "/dev/pts/3");
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "argv"), 2)), "echo hi");
	assert_string_equal(json_string_value(json_object_get(rec, "sudo_user")), "alice");
	assert_null(json_object_get(rec, "caller")); /* the collector says who, not the client */
	assert_non_null(session);
	assert_string_equal(json_string_value(json_object_get(rec, "session")), session);
	json_decref(r);
	unsetenv("SUDO_USER");

	r = one_request(do_logout, NULL);
	assert_string_equal(json_string_value(json_object_get(r, "root")), "/");
	rec = json_object_get(r, "record");
	assert_string_equal(json_string_value(json_object_get(rec, "type")), "logout");
	assert_string_equal(json_string_value(json_object_get(rec, "session")), session);
	assert_int_equal(json_integer_value(json_object_get(rec, "status")), 3);
	assert_int_equal(json_integer_value(json_object_get(rec, "duration_ms")), 1500);
	json_decref(r);
	free(session);

	r = one_request(do_admin, NULL);
	rec = json_object_get(r, "record");
	assert_string_equal(json_string_value(json_object_get(rec, "type")), "admin");
	assert_string_equal(json_string_value(json_object_get(rec, "action")), "rm");
	assert_string_equal(json_string_value(json_object_get(rec, "result")), "failed");
	assert_int_equal(json_integer_value(json_object_get(rec, "errno")), ENOENT);
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "args"), 1)), "rm");
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_collector_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(login_logout_admin, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
