/* SPDX-License-Identifier: GPL-2.0-or-later
 * IPAM: subnet parsing, overlaps, addresses, the allocation file. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/ipam.h"
#include "base/util.h"

static void subnet_parse(void **state)
{
	(void)state;
	isc_error *err = NULL;
	struct isc_subnet s;
	assert_int_equal(isc_subnet_parse("10.213.0.0/16", &s, &err), 0);
	assert_int_equal(s.net, 0x0ad50000);
	assert_int_equal(s.prefix, 16);
	char buf[32];
	isc_subnet_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "10.213.0.0/16");
	static const char *const bad[] = { "10.213.0.1/16", "10.213.0.0", "10.213.0.0/", "10.213.0.0/7",
					   "10.213.0.0/30", "10.213.0.0/16x", "300.1.1.0/24", "/24", "", "10.0.0.0/-1" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(isc_subnet_parse(bad[i], &s, &err), -1);
		assert_int_equal(err->errnum, EINVAL);
		assert_non_null(strstr(err->msg, "subnet"));
		isc_error_free(&err);
	}
}

static void subnet_math(void **state)
{
	(void)state;
	isc_error *err = NULL;
	struct isc_subnet a, b, c;
	assert_int_equal(isc_subnet_parse("10.213.0.0/16", &a, &err), 0);
	assert_int_equal(isc_subnet_parse("10.213.7.0/24", &b, &err), 0);
	assert_int_equal(isc_subnet_parse("192.0.2.0/24", &c, &err), 0);
	assert_true(isc_subnet_overlaps(&a, &b));
	assert_true(isc_subnet_overlaps(&b, &a));
	assert_false(isc_subnet_overlaps(&a, &c));
	assert_int_equal(isc_subnet_capacity(&a), 65533);
	assert_int_equal(isc_subnet_capacity(&b), 253);
	char t[INET_ADDRSTRLEN];
	struct in_addr g = isc_subnet_gateway(&a);
	assert_string_equal(inet_ntop(AF_INET, &g, t, sizeof(t)), "10.213.0.1");
	struct in_addr x = isc_subnet_addr(&a, 1);
	assert_string_equal(inet_ntop(AF_INET, &x, t, sizeof(t)), "10.213.0.2");
	x = isc_subnet_addr(&a, 65533); /* the last: broadcast minus one */
	assert_string_equal(inet_ntop(AF_INET, &x, t, sizeof(t)), "10.213.255.254");
	assert_true(isc_subnet_contains(&a, x));
	assert_false(isc_subnet_contains(&b, x));
	uint8_t mac[6];
	isc_ipam_mac(x, mac);
	static const uint8_t want[6] = { 0x02, 0x15, 10, 213, 255, 254 };
	assert_memory_equal(mac, want, 6);
	char ifn[16];
	isc_ipam_ifname(65533, ifn, sizeof(ifn));
	assert_string_equal(ifn, "vc65533");
}

static char *tmpdir(void)
{
	char t[] = "/tmp/isc-test-ipam-XXXXXX";
	assert_non_null(mkdtemp(t));
	return isc_xasprintf("%s/net", t);
}

static void rmtree(const char *dir)
{
	char *parent = isc_xstrdup(dir);
	*strrchr(parent, '/') = '\0';
	char *cmd = isc_xasprintf("rm -rf '%s'", parent);
	free(parent);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void alloc_persist_release(void **state)
{
	(void)state;
	isc_error *err = NULL;
	char *dir = tmpdir();
	struct isc_ipam_entry e;
	bool created;
	/* not set up yet */
	assert_int_equal(isc_ipam_alloc(dir, "web", &e, &created, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	isc_error_free(&err);
	assert_int_equal(isc_ipam_setup(dir, "10.213.0.0/29", &err), 0); /* 5 ids */
	assert_int_equal(isc_ipam_setup(dir, "10.213.0.0/29", &err), 0); /* idempotent */
	assert_int_equal(isc_ipam_alloc(dir, "web", &e, &created, &err), 0);
	assert_true(created);
	assert_int_equal(e.id, 1);
	free(e.name);
	/* the same name: the same address, not a new one */
	assert_int_equal(isc_ipam_alloc(dir, "web", &e, &created, &err), 0);
	assert_false(created);
	assert_int_equal(e.id, 1);
	free(e.name);
	/* a different subnet while containers have addresses: refused */
	assert_int_equal(isc_ipam_setup(dir, "10.214.0.0/16", &err), -1);
	assert_int_equal(err->errnum, EEXIST);
	isc_error_free(&err);
	const char *names[] = { "a", "b", "c", "d" };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(isc_ipam_alloc(dir, names[i], &e, &created, &err), 0);
		assert_int_equal(e.id, i + 2);
		free(e.name);
	}
	assert_int_equal(isc_ipam_alloc(dir, "full", &e, &created, &err), -1);
	assert_int_equal(err->errnum, ENOSPC);
	isc_error_free(&err);
	/* release, then next-fit: "b"'s id 3 is free, but the cursor wraps to it only */
	assert_int_equal(isc_ipam_release(dir, "b", &err), 0);
	assert_int_equal(isc_ipam_release(dir, "b", &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	isc_error_free(&err);
	assert_int_equal(isc_ipam_lookup(dir, "b", &e, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	assert_non_null(strstr(err->msg, "unknown container b"));
	isc_error_free(&err);
	assert_int_equal(isc_ipam_alloc(dir, "e", &e, &created, &err), 0);
	assert_int_equal(e.id, 3);
	free(e.name);
	/* a "restart": a new reader sees the same allocations */
	struct isc_ipam_entry *all;
	size_t n;
	assert_int_equal(isc_ipam_list(dir, &all, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_string_equal(all[0].name, "web");
	assert_string_equal(all[2].name, "e");
	isc_ipam_entries_free(all, n);
	assert_int_equal(isc_ipam_lookup(dir, "d", &e, &err), 0);
	char t[INET_ADDRSTRLEN];
	assert_string_equal(inet_ntop(AF_INET, &e.addr, t, sizeof(t)), "10.213.0.6");
	free(e.name);
	rmtree(dir);
	free(dir);
}

static void concurrent_allocations_are_distinct(void **state)
{
	(void)state;
	isc_error *err = NULL;
	char *dir = tmpdir();
	assert_int_equal(isc_ipam_setup(dir, "10.213.0.0/16", &err), 0);
	enum { KIDS = 4, EACH = 25 };
	for (int k = 0; k < KIDS; k++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			for (int i = 0; i < EACH; i++) {
				char name[32];
				snprintf(name, sizeof(name), "k%d-%d", k, i);
				struct isc_ipam_entry e;
				if (isc_ipam_alloc(dir, name, &e, NULL, &err) < 0)
					_exit(1);
				free(e.name);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		int st;
		assert_true(wait(&st) > 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct isc_ipam_entry *all;
	size_t n;
	assert_int_equal(isc_ipam_list(dir, &all, &n, &err), 0);
	assert_int_equal(n, KIDS * EACH);
	for (size_t i = 1; i < n; i++)
		assert_true(all[i].id > all[i - 1].id); /* sorted and distinct */
	isc_ipam_entries_free(all, n);
	rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(subnet_parse),
		cmocka_unit_test(subnet_math),
		cmocka_unit_test(alloc_persist_release),
		cmocka_unit_test(concurrent_allocations_are_distinct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
