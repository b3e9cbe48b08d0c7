/* SPDX-License-Identifier: GPL-2.0-or-later
 * Kernel audit record text -> events: headers, quoting, hex-encoded and
 * split arguments, grouping by serial. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "audit/collector.h"
#include "audit/audit-id.h"
#include "audit/audit-record.h"
#include "base/util.h"

static void header(void **state)
{
	(void)state;
	uint64_t sec, serial;
	uint32_t ms;
	const char *t = "audit(1700000000.123:456): argc=1 a0=\"x\"";
	int off = isc_audit_record_header(t, strlen(t), &sec, &ms, &serial);
	assert_int_equal(off, 27);
	assert_int_equal(sec, 1700000000);
	assert_int_equal(ms, 123);
	assert_int_equal(serial, 456);
	assert_int_equal(isc_audit_record_header("audit(1.2)", 10, &sec, &ms, &serial), -1);
	assert_int_equal(isc_audit_record_header("bogus", 5, &sec, &ms, &serial), -1);
	assert_int_equal(isc_audit_record_header("audit(", 6, &sec, &ms, &serial), -1);
	assert_int_equal(isc_audit_record_header("audit(1.2:", 10, &sec, &ms, &serial), -1);
	char tm[64];
	isc_audit_time_format(1700000000, 123, tm);
	assert_string_equal(tm, "2023-11-14T22:13:20.123Z");
}

static void fields(void **state)
{
	(void)state;
	const char *b = "arch=c000003e syscall=59 success=yes exit=0 comm=\"echo\" exe=2F746D702F6120622F656368 "
			"key=(null) old-auid=4294967295 auid=1000042";
	size_t l = strlen(b);
	char *v = isc_audit_field(b, l, "comm");
	assert_string_equal(v, "echo");
	free(v);
	v = isc_audit_field(b, l, "exe");
	assert_string_equal(v, "/tmp/a b/ech");
	free(v);
	v = isc_audit_field(b, l, "auid"); /* not old-auid */
	assert_string_equal(v, "1000042");
	free(v);
	v = isc_audit_field(b, l, "key");
	assert_string_equal(v, "(null)");
	free(v);
	v = isc_audit_field(b, l, "syscall"); /* numbers are never hex-decoded */
	assert_string_equal(v, "59");
	free(v);
	assert_null(isc_audit_field(b, l, "nope"));
	assert_null(isc_audit_unhex("ABC", 3, NULL));
	assert_null(isc_audit_unhex("ZZ", 2, NULL));
}

static void argv_plain_hex_split(void **state)
{
	(void)state;
	/* a1 has a space (hex), a2 is split in chunks, a3 is empty */
	const char *b = "argc=4 a0=\"/bin/echo\" a1=6869207468657265 a2_len=6 a2[0]=616263 a2[1]=\"def\" a3=\"\"";
	json_t *a = isc_audit_execve_argv(b, strlen(b));
	assert_non_null(a);
	assert_int_equal(json_array_size(a), 4);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "/bin/echo");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "hi there");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "abcdef");
	assert_string_equal(json_string_value(json_array_get(a, 3)), "");
	json_decref(a);
	/* an argument that is not UTF-8 stays readable */
	const char *c = "argc=1 a0=FF41";
	a = isc_audit_execve_argv(c, strlen(c));
	assert_string_equal(json_string_value(json_array_get(a, 0)), "\\xffA");
	json_decref(a);
	/* malformed */
	assert_null(isc_audit_execve_argv("a0=\"x\"", 6));
	assert_null(isc_audit_execve_argv("argc=99999999 a0=x", 18));
	/* an argument index beyond argc is ignored */
	const char *d = "argc=1 a0=\"x\" a7=\"y\"";
	a = isc_audit_execve_argv(d, strlen(d));
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
}

static void add(struct isc_audit_asm *a, int type, const char *text, json_t *out)
{
	assert_int_equal(isc_audit_asm_add(a, type, text, strlen(text), out), 0);
}

static void assemble_exec(void **state)
{
	(void)state;
	struct isc_audit_asm *a = isc_audit_asm_new();
	json_t *out = json_array();
	add(a, 1300, "audit(1700000000.100:77): arch=c000003e syscall=59 success=yes exit=0 a0=55 ppid=10 pid=11 "
		     "auid=1000042 uid=0 gid=0 euid=0 ses=2 tty=(none) comm=\"echo\" exe=\"/usr/bin/echo\" key=\"isc\"",
	    out);
	add(a, 1309, "audit(1700000000.100:77): argc=3 a0=\"/bin/echo\" a1=\"hello\"", out);
	add(a, 1309, "audit(1700000000.100:77): a2=\"world\"", out);
	add(a, 1307, "audit(1700000000.100:77): cwd=\"/srv\"", out);
	add(a, 1302, "audit(1700000000.100:77): item=0 name=\"/bin/echo\"", out);
	/* another serial interleaved */
	add(a, 1300, "audit(1700000000.101:78): arch=40000003 syscall=11 success=no exit=-2 pid=12 auid=1000043 "
		     "uid=0 comm=\"sh\" exe=\"/bin/sh\"",
	    out);
	assert_int_equal(json_array_size(out), 0);
	add(a, 1320, "audit(1700000000.100:77): ", out);
	assert_int_equal(json_array_size(out), 1);
	json_t *ev = json_array_get(out, 0);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "exec");
	assert_string_equal(json_string_value(json_object_get(ev, "syscall")), "execve");
	assert_string_equal(json_string_value(json_object_get(ev, "arch")), "x86_64");
	assert_string_equal(json_string_value(json_object_get(ev, "exe")), "/usr/bin/echo");
	assert_string_equal(json_string_value(json_object_get(ev, "cwd")), "/srv");
	assert_string_equal(json_string_value(json_object_get(ev, "result")), "success");
	assert_string_equal(json_string_value(json_object_get(ev, "time")), "2023-11-14T22:13:20.100Z");
	assert_int_equal(json_integer_value(json_object_get(ev, "pid")), 11);
	assert_int_equal(json_integer_value(json_object_get(ev, "ppid")), 10);
	assert_int_equal(isc_audit_event_auid(ev), 1000042);
	json_t *argv = json_object_get(ev, "argv");
	assert_int_equal(json_array_size(argv), 3);
	assert_string_equal(json_string_value(json_array_get(argv, 2)), "world");
	/* the i386 one has no EOE: a flush emits it */
	isc_audit_asm_flush(a, 1700000000101ull + 500, 500, out);
	assert_int_equal(json_array_size(out), 2);
	ev = json_array_get(out, 1);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "exec");
	assert_string_equal(json_string_value(json_object_get(ev, "arch")), "i386");
	assert_string_equal(json_string_value(json_object_get(ev, "result")), "failed");
	assert_int_equal(json_integer_value(json_object_get(ev, "exit")), -2);
	json_decref(out);
	isc_audit_asm_free(a);
}

static void login_and_user(void **state)
{
	(void)state;
	struct isc_audit_asm *a = isc_audit_asm_new();
	json_t *out = json_array();
	add(a, 1006, "audit(1700000001.000:90): pid=5 uid=0 old-auid=4294967295 auid=1000042 tty=(none) "
		     "old-ses=4294967295 ses=3 res=1",
	    out);
	add(a, 1112, "audit(1700000001.001:91): pid=6 uid=0 auid=0 ses=1 msg='op=login acct=\"root\" res=success'",
	    out);
	assert_int_equal(json_array_size(out), 1); /* the user message is complete at once */
	json_t *ev = json_array_get(out, 0);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "user");
	assert_string_equal(json_string_value(json_object_get(ev, "msg")), "op=login acct=\"root\" res=success");
	isc_audit_asm_flush(a, 0, 0, out);
	assert_int_equal(json_array_size(out), 2);
	ev = json_array_get(out, 1);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "loginuid");
	assert_int_equal(json_integer_value(json_object_get(ev, "auid")), 1000042);
	assert_int_equal(json_integer_value(json_object_get(ev, "old_auid")), 4294967295ll);
	assert_string_equal(json_string_value(json_object_get(ev, "result")), "success");
	json_decref(out);
	/* a refused change (with the write's SYSCALL record): the task keeps its old auid */
	out = json_array();
	add(a, 1006, "audit(1700000001.500:92): pid=7 uid=0 old-auid=1000042 auid=0 tty=(none) old-ses=3 ses=3 res=0",
	    out);
	add(a, 1300, "audit(1700000001.500:92): arch=c000003e syscall=1 success=no exit=-1 pid=7 auid=1000042 "
		     "comm=\"sh\" exe=\"/bin/busybox\"",
	    out);
	add(a, 1320, "audit(1700000001.500:92): ", out);
	assert_int_equal(json_array_size(out), 1);
	ev = json_array_get(out, 0);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "loginuid");
	assert_string_equal(json_string_value(json_object_get(ev, "result")), "failed");
	assert_int_equal(isc_audit_event_auid(ev), 1000042);
	assert_int_equal(json_integer_value(json_object_get(ev, "requested_auid")), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "exe")), "/bin/busybox");
	json_decref(out);
	/* garbage is counted, never fatal */
	out = json_array();
	assert_int_equal(isc_audit_asm_add(a, 1300, "garbage", 7, out), -1);
	assert_int_equal(isc_audit_asm_malformed(a), 1);
	/* more serials than slots: the oldest are pushed out, nothing is lost */
	for (int i = 0; i < 200; i++) {
		char t[128];
		snprintf(t, sizeof(t), "audit(1700000002.000:%d): arch=c000003e syscall=59 success=yes auid=1000001", 1000 + i);
		add(a, 1300, t, out);
	}
	isc_audit_asm_flush(a, 0, 0, out);
	assert_int_equal(json_array_size(out), 200);
	json_decref(out);
	isc_audit_asm_free(a);
}

static void names(void **state)
{
	(void)state;
	json_t *n = json_pack("{s:s}", "1000001", "web");
	assert_string_equal(isc_audit_names_lookup(n, 1000001), "web");
	assert_null(isc_audit_names_lookup(n, 1000002));
	json_decref(n);
}

/* container ids from the host's range, stable per name (audit-client.h) */
static void id_assign(void **state)
{
	(void)state;
	char d[] = "/tmp/isc-test-ids-XXXXXX";
	assert_non_null(mkdtemp(d));
	char *ad = isc_xasprintf("%s/audit", d);
	isc_error *e = NULL;
	uint32_t a, b, c;
	/* not registered: a clear error */
	assert_int_equal(isc_audit_id_assign(d, "web", &a, &e), -1);
	isc_error_free(&e);
	assert_int_equal(isc_mkdir_p(ad, 0700, &e), 0);
	char *rp = isc_xasprintf("%s/range.json", ad);
	FILE *f = fopen(rp, "w");
	fprintf(f, "{\"base\": 4026597376, \"count\": 3}\n"); /* the second block */
	fclose(f);
	/* an id from before the range moved is dropped (the service gets one
	 * of the current range) */
	char *ip = isc_xasprintf("%s/ids.json", ad);
	f = fopen(ip, "w");
	fprintf(f, "{\"1065537\": \"web\"}\n");
	fclose(f);
	free(ip);
	assert_int_equal(isc_audit_id_assign(d, "web", &a, &e), 0);
	assert_int_equal(a, 4026597377u);
	assert_int_equal(isc_audit_id_assign(d, "db", &b, &e), 0);
	assert_int_equal(b, 4026597378u);
	assert_int_equal(isc_audit_id_assign(d, "web", &c, &e), 0);
	assert_int_equal(c, a);
	/* the range (base excluded) is full */
	assert_int_equal(isc_audit_id_assign(d, "third", &c, &e), -1);
	assert_int_equal(e->errnum, ENOSPC);
	isc_error_free(&e);
	assert_int_equal(isc_audit_id_release(d, "web", &e), 0);
	assert_int_equal(isc_audit_id_assign(d, "third", &c, &e), 0);
	assert_int_equal(c, 4026597377u);
	/* a range.json outside the container range is refused */
	f = fopen(rp, "w");
	fprintf(f, "{\"base\": 1065536, \"count\": 3}\n");
	fclose(f);
	assert_int_equal(isc_audit_id_assign(d, "web", &a, &e), -1);
	assert_non_null(strstr(e->msg, "range.json is malformed"));
	isc_error_free(&e);
	/* the annotation's value: the container range only */
	uint32_t v;
	assert_int_equal(isc_audit_id_parse("4026531841", &v, &e), 0);
	assert_int_equal(v, 4026531841u);
	assert_int_equal(isc_audit_id_parse("4043309055", &v, &e), 0);
	assert_int_equal(isc_audit_id_parse("1000042", &v, &e), -1); /* the old range: a login's */
	assert_int_equal(e->errnum, ERANGE);
	isc_error_free(&e);
	assert_int_equal(isc_audit_id_parse("4043309056", &v, &e), -1);
	isc_error_free(&e);
	assert_int_equal(isc_audit_id_parse("4294967294", &v, &e), -1);
	isc_error_free(&e);
	assert_int_equal(isc_audit_id_parse("04026531841", &v, &e), -1);
	isc_error_free(&e);
	char *cmd = isc_xasprintf("rm -rf %s", d);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(rp);
	free(ad);
}

/* isc init: the machine's users against the container range */
static void users_check(void **state)
{
	(void)state;
	isc_error *e = NULL;
	const char *passwd = "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000042:1000:,,,:/home/a:/bin/sh\n";
	const char *defs = "# login.defs\nUID_MAX\t\t\t60000\nSUB_UID_MAX\t\t600100000\nSUB_GID_MAX 600100000\n";
	const char *sub = "alice:100000:65536\ncontainers:2147483647:1879048192\n";
	/* a large site's logins and podman's range that ends right below: fine */
	assert_int_equal(isc_audit_users_check_texts(passwd, defs, sub, sub, &e), 0);
	assert_int_equal(isc_audit_users_check_texts(NULL, NULL, NULL, NULL, &e), 0);
	/* a user inside */
	assert_int_equal(isc_audit_users_check_texts("bob:x:4026531900:100::/:/bin/sh\n", defs, NULL, NULL, &e), -1);
	assert_non_null(strstr(e->msg, "/etc/passwd: user bob has uid 4026531900, inside the audit ids of isc's "
					"containers (4026531840-4043309055)"));
	isc_error_free(&e);
	/* useradd could hand out such uids */
	assert_int_equal(isc_audit_users_check_texts(passwd, "UID_MAX 4100000000\n", NULL, NULL, &e), -1);
	assert_non_null(strstr(e->msg, "/etc/login.defs: UID_MAX is 4100000000"));
	isc_error_free(&e);
	assert_int_equal(isc_audit_users_check_texts(passwd, "  SUB_GID_MAX   4294967294\r\n", NULL, NULL, &e), -1);
	assert_non_null(strstr(e->msg, "SUB_GID_MAX is 4294967294"));
	isc_error_free(&e);
	/* a commented key and another key are no match */
	assert_int_equal(isc_audit_users_check_texts(passwd, "#UID_MAX 4100000000\nGID_MAX 4100000000\n", NULL, NULL, &e),
			 0);
	/* podman's recommended range for auto user namespaces reaches in */
	assert_int_equal(isc_audit_users_check_texts(passwd, defs, "containers:2147483647:2147483648\n", NULL, &e), -1);
	assert_non_null(strstr(e->msg, "/etc/subuid: the range \"containers:2147483647:2147483648\" reaches into"));
	isc_error_free(&e);
	assert_int_equal(isc_audit_users_check_texts(passwd, defs, NULL, "x:4043309055:1\n", &e), -1);
	assert_non_null(strstr(e->msg, "/etc/subgid"));
	isc_error_free(&e);
	/* ranges that end right before it or start right after it */
	assert_int_equal(isc_audit_users_check_texts(passwd, defs, "a:4026531839:1\nb:4043309056:10\n", NULL, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(users_check),
		cmocka_unit_test(header),
		cmocka_unit_test(fields),
		cmocka_unit_test(argv_plain_hex_split),
		cmocka_unit_test(assemble_exec),
		cmocka_unit_test(login_and_user),
		cmocka_unit_test(names),
		cmocka_unit_test(id_assign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
