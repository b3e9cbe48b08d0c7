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
 *   isc-net-test [--netns PATH] pktlog ROOT            (until SIGTERM)
 *   isc-net-test [--netns PATH] bench ROOT N           (prints JSON timings) */
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

#include "error.h"
#include "firewall.h"
#include "net.h"
#include "pktlog.h"
#include "util.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = 1; }

static int fail(isc_error **err)
{
	char buf[1024];
	fprintf(stderr, "isc-net-test: %s\n", isc_error_text(*err, buf, sizeof(buf)));
	isc_error_free(err);
	return 1;
}

static double ms_since(uint64_t t0)
{
	return (double)(isc_now_ns() - t0) / 1e6;
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
		return isc_pktlog_run(root, &stop, &err) < 0 ? fail(&err) : 0;
	}
	if (strcmp(cmd, "bench") == 0 && n >= 2) {
		int count = atoi(a[1]);
		double up = 0, down = 0, up_max = 0, down_max = 0;
		for (int k = 0; k < count; k++) {
			char name[32];
			snprintf(name, sizeof(name), "bench%d", k);
			struct isc_net_container c;
			uint64_t t0 = isc_now_ns();
			if (isc_net_container_up(root, name, &c, &err) < 0)
				return fail(&err);
			double u = ms_since(t0);
			isc_net_container_clear(&c);
			t0 = isc_now_ns();
			if (isc_net_container_down(root, name, false, &err) < 0)
				return fail(&err);
			double d = ms_since(t0);
			up += u;
			down += d;
			up_max = u > up_max ? u : up_max;
			down_max = d > down_max ? d : down_max;
		}
		printf("{\"n\": %d, \"up_ms\": %.3f, \"up_max_ms\": %.3f, \"down_ms\": %.3f, \"down_max_ms\": %.3f}\n", count,
		       up / count, up_max, down / count, down_max);
		return 0;
	}
	fprintf(stderr, "isc-net-test: bad command %s\n", cmd);
	return 2;
}
