/* SPDX-License-Identifier: GPL-2.0-or-later
 * rtnetlink and namespace files (netlink.h), and lab names (lab.h).
 *
 * The name rules are pure.  The netlink operations run in two scratch
 * network namespaces bound under /tmp (never in the caller's: the test
 * checks that its own namespace's links are unchanged); they need root and
 * are skipped without it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "host/lab.h"
#include "net/netlink.h"
#include "base/util.h"

static void lab_names(void **state)
{
	(void)state;
	static const char *good[] = { "demo", "a", "A-b_c.d", "t0123456789", "x.y",
				      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" /* 64 */ };
	static const char *bad[] = { "", ".hidden", "a/b", "a b", "a;b", "..", "\xc3\xa9",
				     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" /* 65 */ };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(isc_lab_name_check(good[i], NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		isc_error *e = NULL;
		assert_int_equal(isc_lab_name_check(bad[i], &e), -1);
		assert_int_equal(e->errnum, EINVAL);
		assert_non_null(strstr(e->msg, "lab name"));
		isc_error_free(&e);
	}
	assert_int_equal(isc_lab_name_check(NULL, NULL), -1);
	char *root = isc_lab_root("demo");
	assert_string_equal(root, "/var/lib/isc/labs/demo");
	free(root);
}

/* ---- in scratch namespaces ------------------------------------------------ */

struct scratch {
	char dir[64];
	char a[96], b[96];
	int fa, fb;
	isc_nl *na, *nb;
};

static char *own_links(void)
{
	/* the caller's links by /sys/class/net: names only, sorted by readdir order */
	FILE *p = popen("ls /sys/class/net", "r");
	assert_non_null(p);
	char *buf = isc_xmalloc0(8192);
	size_t n = fread(buf, 1, 8191, p);
	buf[n] = '\0';
	pclose(p);
	return buf;
}

static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	struct scratch *s = isc_xmalloc0(sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/isc-test-netlink-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->a, sizeof(s->a), "%s/a", s->dir);
	snprintf(s->b, sizeof(s->b), "%s/b", s->dir);
	isc_error *e = NULL;
	assert_int_equal(isc_netns_create(s->a, &e), 0);
	assert_int_equal(isc_netns_create(s->b, &e), 0);
	s->fa = isc_netns_open(s->a, &e);
	s->fb = isc_netns_open(s->b, &e);
	assert_true(s->fa >= 0 && s->fb >= 0);
	assert_int_equal(isc_nl_open_in(s->fa, &s->na, &e), 0);
	assert_int_equal(isc_nl_open_in(s->fb, &s->nb, &e), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *s = *state;
	if (s == NULL)
		return 0;
	isc_nl_close(&s->na);
	isc_nl_close(&s->nb);
	close(s->fa);
	close(s->fb);
	isc_error *e = NULL;
	int r = isc_netns_remove(s->a, &e) | isc_netns_remove(s->b, &e);
	isc_error_free(&e);
	rmdir(s->dir);
	free(s);
	return r == 0 ? 0 : -1;
}

#define ROOT_OR_SKIP(s)                 \
	do {                            \
		if (geteuid() != 0)     \
			skip();         \
		(s) = *state;           \
		assert_non_null(s);     \
	} while (0)

static void expect_errno(int r, isc_error **e, int errnum, const char *in_msg)
{
	assert_int_equal(r, -1);
	assert_non_null(*e);
	if ((*e)->errnum != errnum)
		fail_msg("errno %d, expected %d: %s", (*e)->errnum, errnum, (*e)->msg);
	if (in_msg && strstr((*e)->msg, in_msg) == NULL)
		fail_msg("\"%s\" not in \"%s\"", in_msg, (*e)->msg);
	isc_error_free(e);
}

static void namespace_files(void **state)
{
	struct scratch *s;
	ROOT_OR_SKIP(s);
	isc_error *e = NULL;
	expect_errno(isc_netns_create(s->a, &e), &e, EEXIST, s->a);
	expect_errno(isc_netns_open("/etc/hostname", &e), &e, EINVAL, "not a network namespace");
	struct stat st_self, st_a;
	assert_int_equal(stat("/proc/self/ns/net", &st_self), 0);
	assert_int_equal(stat(s->a, &st_a), 0);
	assert_true(st_self.st_ino != st_a.st_ino);
	/* a leftover empty file (a creation killed halfway) is taken over */
	char c[128];
	snprintf(c, sizeof(c), "%s/c", s->dir);
	int fd = open(c, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
	close(fd);
	assert_int_equal(isc_netns_create(c, &e), 0);
	assert_int_equal(isc_netns_remove(c, &e), 0);
	expect_errno(isc_netns_remove(c, &e), &e, ENOENT, c);
	/* a file with content is not */
	fd = open(c, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	expect_errno(isc_netns_create(c, &e), &e, EEXIST, "not a network namespace");
	unlink(c);
}

static void links_addresses_routes(void **state)
{
	struct scratch *s;
	ROOT_OR_SKIP(s);
	char *before = own_links();
	isc_error *e = NULL;
	assert_int_equal(isc_nl_veth_add(s->na, "up0", "ext0", s->fb, &e), 0);
	expect_errno(isc_nl_veth_add(s->na, "up0", "ext9", s->fb, &e), &e, EEXIST, "up0");
	int idx = 0;
	assert_int_equal(isc_nl_link_index(s->nb, "ext0", &idx, &e), 0); /* in b, not in a */
	assert_true(idx > 0);
	expect_errno(isc_nl_link_index(s->na, "ext0", &idx, &e), &e, ENODEV, "ext0");
	assert_int_equal(isc_nl_link_up(s->na, "up0", &e), 0);
	assert_int_equal(isc_nl_link_up(s->nb, "ext0", &e), 0);
	struct in_addr a, g;
	inet_pton(AF_INET, "192.0.2.2", &a);
	inet_pton(AF_INET, "192.0.2.1", &g);
	assert_int_equal(isc_nl_addr_add(s->na, "up0", a, 24, &e), 0);
	expect_errno(isc_nl_addr_add(s->na, "up0", a, 24, &e), &e, EEXIST, "192.0.2.2/24");
	expect_errno(isc_nl_addr_add(s->na, "up0", a, 33, &e), &e, EINVAL, "prefix");
	expect_errno(isc_nl_addr_add(s->na, "nosuch", a, 24, &e), &e, ENODEV, "nosuch");
	assert_int_equal(isc_nl_addr_add(s->nb, "ext0", g, 24, &e), 0);
	assert_int_equal(isc_nl_route_add_default(s->na, g, &e), 0);
	expect_errno(isc_nl_route_add_default(s->na, g, &e), &e, EEXIST, "192.0.2.1");
	/* an unreachable gateway: the kernel says why (extended ACK or errno) */
	struct in_addr far;
	inet_pton(AF_INET, "198.51.100.1", &far);
	assert_int_equal(isc_nl_route_add_default(s->nb, far, &e), -1);
	assert_non_null(strstr(e->msg, "198.51.100.1"));
	isc_error_free(&e);

	assert_int_equal(isc_nl_bridge_add(s->na, "br0", &e), 0);
	assert_int_equal(isc_nl_veth_add(s->na, "v1", "v1p", -1, &e), 0);
	assert_int_equal(isc_nl_link_set_master(s->na, "v1", "br0", &e), 0);
	expect_errno(isc_nl_link_set_master(s->na, "v1", "nobr", &e), &e, ENODEV, "nobr");
	assert_int_equal(isc_nl_bridge_port_isolated(s->na, "v1", true, &e), 0);
	assert_int_equal(isc_nl_bridge_port_isolated(s->na, "v1", false, &e), 0);
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	assert_int_equal(isc_nl_link_set_mac(s->na, "v1p", mac, &e), 0);
	expect_errno(isc_nl_link_up(s->na, "a-name-far-too-long", &e), &e, EINVAL, "interface name");
	expect_errno(isc_nl_link_del(s->na, "nosuch", &e), &e, ENODEV, "nosuch");
	assert_int_equal(isc_nl_link_del(s->na, "v1", &e), 0); /* and v1p with it */
	expect_errno(isc_nl_link_index(s->na, "v1p", &idx, &e), &e, ENODEV, NULL);
	assert_int_equal(isc_nl_link_del(s->na, "br0", &e), 0);
	/* deleting one end of the uplink removes the other, across namespaces */
	assert_int_equal(isc_nl_link_del(s->na, "up0", &e), 0);
	expect_errno(isc_nl_link_index(s->nb, "ext0", &idx, &e), &e, ENODEV, NULL);

	char *after = own_links();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void sysctl_in_namespace(void **state)
{
	struct scratch *s;
	ROOT_OR_SKIP(s);
	char *own = NULL;
	isc_error *e = NULL;
	assert_int_equal(isc_read_file("/proc/sys/net/ipv4/ip_forward", &own, NULL, 0, &e), 0);
	const char *flip = own[0] == '1' ? "0" : "1";
	assert_int_equal(isc_netns_sysctl(s->fa, "net/ipv4/ip_forward", flip, &e), 0);
	char *now = NULL;
	assert_int_equal(isc_read_file("/proc/sys/net/ipv4/ip_forward", &now, NULL, 0, &e), 0);
	assert_string_equal(own, now); /* the caller's namespace is untouched */
	free(now);
	/* and the namespace's own value changed: read it from inside */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *v = NULL;
		if (setns(s->fa, CLONE_NEWNET) < 0 || isc_read_file("/proc/sys/net/ipv4/ip_forward", &v, NULL, 0, NULL) < 0)
			_exit(99);
		_exit(v[0] - '0');
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), flip[0] - '0');
	free(own);
	expect_errno(isc_netns_sysctl(s->fa, "net/ipv4/no_such_key", "1", &e), &e, ENOENT, "no_such_key");
	expect_errno(isc_netns_sysctl(s->fa, "../etc/passwd", "1", &e), &e, EINVAL, NULL);
	expect_errno(isc_netns_sysctl(s->fa, "/net/ipv4/ip_forward", "1", &e), &e, EINVAL, NULL);
}

static void cpumask_hex(void **state)
{
	(void)state;
	cpu_set_t set;
	char buf[64];
	CPU_ZERO(&set);
	assert_int_equal(isc_cpumask_hex(&set, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0");
	CPU_SET(0, &set);
	CPU_SET(1, &set);
	assert_int_equal(isc_cpumask_hex(&set, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "3");
	CPU_SET(31, &set);
	assert_int_equal(isc_cpumask_hex(&set, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "80000003");
	CPU_SET(32, &set); /* a second group, the lower one zero-padded */
	assert_int_equal(isc_cpumask_hex(&set, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1,80000003");
	CPU_ZERO(&set);
	CPU_SET(64, &set);
	CPU_SET(4, &set);
	assert_int_equal(isc_cpumask_hex(&set, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1,00000000,00000010");
	CPU_ZERO(&set);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &set);
	char big[CPU_SETSIZE / 4 + CPU_SETSIZE / 32 + 1];
	assert_int_equal(isc_cpumask_hex(&set, big, sizeof(big)), 0);
	assert_int_equal(strlen(big), CPU_SETSIZE / 4 + CPU_SETSIZE / 32 - 1);
	assert_int_equal(isc_cpumask_hex(&set, big, strlen(big) + 1), 0); /* exactly */
	assert_int_equal(isc_cpumask_hex(&set, big, strlen(big)), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(isc_cpumask_hex(&set, buf, 2), -1);
}

/* the value of rps_cpus of IF's first queue, read in namespace fd (a fork) */
static unsigned long read_rps(int nsfd, const char *ifn)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char path[128], *v = NULL;
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-0/rps_cpus", ifn);
		if (setns(nsfd, CLONE_NEWNET) < 0 || unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 || mount("sysfs", "/sys", "sysfs", 0, NULL) < 0 ||
		    isc_read_file(path, &v, NULL, 0, NULL) < 0)
			_exit(99);
		unsigned long m = strtoul(v, NULL, 16);
		_exit(write(p[1], &m, sizeof(m)) == sizeof(m) ? 0 : 98);
	}
	close(p[1]);
	unsigned long m = 0;
	int st;
	assert_int_equal(read(p[0], &m, sizeof(m)), sizeof(m));
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return m;
}

static void receive_steering(void **state)
{
	struct scratch *s;
	ROOT_OR_SKIP(s);
	isc_error *e = NULL;
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0);
	/* a veth between a and b; the end in b is steered from here (in neither) */
	assert_int_equal(isc_nl_veth_add(s->na, "st0", "st1", s->fb, &e), 0);
	assert_int_equal(isc_nl_link_rps(s->fa, "st0", "1", &e), 0);
	assert_int_equal(isc_nl_link_rps(s->fb, "st1", "3", &e), 0);
	assert_int_equal(read_rps(s->fa, "st0"), 1);
	assert_int_equal(read_rps(s->fb, "st1"), 3);
	/* the caller is still in its own namespace */
	struct stat a, b;
	assert_int_equal(fstat(self, &a), 0);
	assert_int_equal(stat("/proc/thread-self/ns/net", &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	expect_errno(isc_nl_link_rps(s->fa, "nosuch0", "1", &e), &e, ENOENT, "nosuch0");
	close(self);
	expect_errno(isc_nl_link_rps(s->fa, "../st0", "1", &e), &e, EINVAL, "not a link name");
	expect_errno(isc_nl_link_rps(s->fa, "..", "1", &e), &e, EINVAL, NULL);
	expect_errno(isc_nl_link_rps(s->fa, "st0", "zz", &e), &e, EINVAL, "rps_cpus");
	assert_int_equal(isc_nl_link_del(s->na, "st0", &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lab_names),
		cmocka_unit_test_setup_teardown(namespace_files, setup, teardown),
		cmocka_unit_test_setup_teardown(links_addresses_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(sysctl_in_namespace, setup, teardown),
		cmocka_unit_test(cpumask_hex),
		cmocka_unit_test_setup_teardown(receive_steering, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
