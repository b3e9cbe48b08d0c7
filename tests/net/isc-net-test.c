/* SPDX-License-Identifier: GPL-2.0-or-later
 * Test driver of the private network (tests/integration/test_net.py): the
 * libisc network calls, one per invocation, in the network namespace given
 * by --netns (entered with setns only: no new mount namespace, so that the
 * namespace files that isc_net_container_up() binds stay visible), until
 * iscd serves them.
 *
 *   isc-net-test [--netns PATH] host-up ROOT SUBNET UPLINK|- SSH_PORT [CONFIRM_SECONDS]
 *   isc-net-test [--netns PATH] host-down ROOT | confirm ROOT | list
 *   isc-net-test [--netns PATH] up ROOT NAME           (prints JSON)
 *   isc-net-test [--netns PATH] down ROOT NAME [keep]
 *   isc-net-test [--netns PATH] pktlog ROOT [RCVBUF]   (until SIGTERM; RCVBUF:
 *                                  the NFLOG socket's receive buffer, bytes)
 *   isc-net-test [--netns PATH] bench ROOT N           (prints JSON timings:
 *                                  median, mean, min, max of up and down)
 *   isc-net-test [--netns PATH] verb ROOT expose NAME HOSTPORT:PORT[/proto]
 *                                    | unexpose NAME HOSTPORT[/proto]
 *                                    | allow [--remove] SRC DST:PORT[/proto]
 *                                    | policy [ls [--format json] | enable R | disable R]
 *       the libisc calls behind `isc expose|unexpose|allow|policy`, which
 *       iscd makes for the isc verbs (iscd checks the services first; here
 *       the "containers" are only isc_net_container_up() names) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "net/firewall.h"
#include "net/net.h"
#include "net/pktlog.h"
#include "base/util.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = 1; }

static int fail(isc_error **err)
{
	char buf[1024];
	fprintf(stderr, "isc-net-test: %s\n", isc_error_text(*err, buf, sizeof(buf)));
	isc_error_free(err);
	return 1;
}

/* The net.h calls of iscd's network ops, with the isc verbs' arguments. */
static int net_verb(const char *root, char **a, int n)
{
	isc_error *err = NULL;
	struct isc_port p = { 0 };
	if (n < 1)
		return 2;
	if (strcmp(a[0], "expose") == 0 && n == 3) {
		if (isc_fw_parse_port(a[2], true, &p.host_port, &p.port, &p.proto, &err) < 0 ||
		    isc_net_expose(root, a[1], &p, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (strcmp(a[0], "unexpose") == 0 && n == 3) {
		if (isc_fw_parse_port(a[2], false, &p.host_port, &p.port, &p.proto, &err) < 0 ||
		    isc_net_unexpose(root, a[1], &p, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (strcmp(a[0], "allow") == 0 && n >= 3) {
		bool remove = strcmp(a[1], "--remove") == 0;
		if (n != 3 + remove)
			return 2;
		cleanup_free char *dst = NULL;
		if (isc_fw_parse_flow(a[2 + remove], &dst, &p.port, &p.proto, &err) < 0 ||
		    isc_net_allow(root, a[1 + remove], dst, &p, remove, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (strcmp(a[0], "policy") == 0 && (n == 1 || strcmp(a[1], "ls") == 0)) {
		bool json = n == 4 && strcmp(a[2], "--format") == 0 && strcmp(a[3], "json") == 0;
		unsigned on;
		if (isc_net_policy_get(root, &on, &err) < 0)
			return fail(&err);
		json_t *arr = json_array();
		for (unsigned i = 0; i < isc_fw_n_policies; i++) {
			bool en = (on & isc_fw_policies[i].flag) != 0;
			if (!json)
				printf("%s %s\n", isc_fw_policies[i].name, en ? "enabled" : "disabled");
			json_array_append_new(arr, json_pack("{s:s, s:b}", "name", isc_fw_policies[i].name, "enabled", en));
		}
		if (json) {
			json_dumpf(arr, stdout, JSON_COMPACT);
			putchar('\n');
		}
		json_decref(arr);
		return 0;
	}
	if (strcmp(a[0], "policy") == 0 && n == 3 && (strcmp(a[1], "enable") == 0 || strcmp(a[1], "disable") == 0))
		return isc_net_policy_set(root, a[2], a[1][0] == 'e', &err) < 0 ? fail(&err) : 0;
	return 2;
}

static double ms_since(uint64_t t0)
{
	return (double)(isc_now_ns() - t0) / 1e6;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

/* median, mean, min, max of v[0..n) (sorts v) */
static void stats(double *v, int n, double *med, double *mean, double *min, double *max)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*mean = sum / n;
	*min = v[0];
	*max = v[n - 1];
}

int main(int argc, char **argv)
{
	isc_error *err = NULL;
	int i = 1;
	if (argc > 2 && strcmp(argv[1], "--netns") == 0) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		/* why: everything below must act on the test's host namespace,
		 * never on the namespace the test runner lives in */
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			perror(argv[2]);
			return 1;
		}
		close(fd);
		i = 3;
	}
	if (argc - i < 1) {
		fprintf(stderr, "usage: isc-net-test [--netns PATH] COMMAND ...\n");
		return 2;
	}
	const char *cmd = argv[i];
	char **a = argv + i + 1;
	int n = argc - i - 1;
	if (strcmp(cmd, "list") == 0) {
		char *out = NULL;
		if (isc_fw_list(&out, &err) < 0)
			return fail(&err);
		fputs(out, stdout);
		free(out);
		return 0;
	}
	if (n < 1)
		return 2;
	const char *root = a[0];
	if (strcmp(cmd, "host-up") == 0 && n >= 4) {
		struct isc_net_host_cfg c = { .subnet = a[1], .uplink = strcmp(a[2], "-") ? a[2] : NULL,
					      .ssh_port = atoi(a[3]) };
		if (n >= 5) {
			c.confirm = true;
			c.confirm_timeout = atoi(a[4]);
		}
		return isc_net_host_up(root, &c, &err) < 0 ? fail(&err) : 0;
	}
	if (strcmp(cmd, "host-down") == 0)
		return isc_net_host_down(root, &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "confirm") == 0)
		return isc_net_confirm(root, &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "up") == 0 && n >= 2) {
		struct isc_net_container c;
		uint64_t t0 = isc_now_ns();
		if (isc_net_container_up(root, a[1], &c, &err) < 0)
			return fail(&err);
		double ms = ms_since(t0);
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &c.addr, addr, sizeof(addr));
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f}", "netns", c.netns_path, "addr", addr, "host_if",
				      c.host_if, "resolv_conf", c.resolv_conf, "hosts", c.hosts, "ms", ms);
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
		isc_net_container_clear(&c);
		return 0;
	}
	if (strcmp(cmd, "down") == 0 && n >= 2)
		return isc_net_container_down(root, a[1], n >= 3 && strcmp(a[2], "keep") == 0, &err) < 0 ? fail(&err) : 0;
	if (strcmp(cmd, "pktlog") == 0) {
		struct sigaction sa = { .sa_handler = on_signal };
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		int rcvbuf = n >= 2 ? atoi(a[1]) : 0;
		return isc_pktlog_run_with(root, rcvbuf, &stop, &err) < 0 ? fail(&err) : 0;
	}
	if (strcmp(cmd, "verb") == 0)
		return net_verb(root, a + 1, n - 1);
	if (strcmp(cmd, "bench") == 0 && n >= 2) {
		int count = atoi(a[1]);
		if (count < 1)
			return 2;
		cleanup_free double *up = calloc((size_t)count, sizeof(double));
		cleanup_free double *down = calloc((size_t)count, sizeof(double));
		if (up == NULL || down == NULL)
			return 1;
		for (int k = 0; k < count; k++) {
			char name[32];
			snprintf(name, sizeof(name), "bench%d", k);
			struct isc_net_container c;
			uint64_t t0 = isc_now_ns();
			if (isc_net_container_up(root, name, &c, &err) < 0)
				return fail(&err);
			up[k] = ms_since(t0);
			isc_net_container_clear(&c);
			t0 = isc_now_ns();
			if (isc_net_container_down(root, name, false, &err) < 0)
				return fail(&err);
			down[k] = ms_since(t0);
		}
		double um, ua, umin, umax, dm, da, dmin, dmax;
		stats(up, count, &um, &ua, &umin, &umax);
		stats(down, count, &dm, &da, &dmin, &dmax);
		printf("{\"n\": %d, \"up_median_ms\": %.3f, \"up_ms\": %.3f, \"up_min_ms\": %.3f, \"up_max_ms\": %.3f, "
		       "\"down_median_ms\": %.3f, \"down_ms\": %.3f, \"down_min_ms\": %.3f, \"down_max_ms\": %.3f}\n",
		       count, um, ua, umin, umax, dm, da, dmin, dmax);
		return 0;
	}
	fprintf(stderr, "isc-net-test: bad command %s\n", cmd);
	return 2;
}
