/* SPDX-License-Identifier: GPL-2.0-or-later
 * The private virtual network of an ISC host (net.h).
 *
 * Every function acts on the network namespace of the calling thread (the
 * ISC host's: iscd's, or a lab's host namespace that the caller entered
 * with setns).  Nothing here ever joins another namespace: a container's
 * namespace is created, its IPv6 sysctls written and its rtnetlink socket
 * opened by a short-lived helper thread (isc_netns_create_ex); only when no
 * thread can be started does the socket come from isc_nl_open_in(), which
 * enters the namespace for a few microseconds on the calling thread.
 *
 * Design:
 * - Host: bridge isc0 with the gateway (first address of the subnet), no
 *   physical port.  ip_forward=1; bridge-nf-call-iptables=0, explicitly
 *   (see bridge_up: with it, hairpinned DNAT between isolated ports
 *   breaks); IPv6 off on isc0 and the container links.  The inet hooks see
 *   container traffic as routed traffic of isc0, so the NFLOG lines of the
 *   inet table carry no physin; the packet log names the container by its
 *   source (else destination) address, which the anti-spoofing rules make
 *   trustworthy.
 * - Container N: a namespace bound at R/net/ns/NAME, veth "vcN" on the host
 *   (a port of isc0, `isolated on`) with its peer "eth0" created directly in
 *   the container namespace, MAC 02:15:<ip bytes>, the address with the
 *   subnet's prefix and a default route via the gateway.
 * - Containers never talk to each other at L2: every port is isolated, so a
 *   frame from one container port reaches only the bridge (the host), never
 *   another port.  An allowed flow (isc allow) is routed through the host:
 *   isc0 has proxy_arp_pvlan on (RFC 3069 private VLAN proxy ARP) with
 *   proxy_delay 0, so the host answers a container's ARP for another
 *   container with its own MAC, the packet comes up to the host and is
 *   forwarded back into isc0, where the inet forward chain accepts only the
 *   flows in set @allow (ICMP redirects into isc0 are dropped, so the
 *   container keeps using the host).  The containers keep a plain /prefix
 *   address and default route; no per-container routes are needed.
 * - Rules: firewall.h; per container only set elements change (anti-spoof
 *   IP and MAC, exposed ports, allowed flows).  unexpose, allow --remove and
 *   the removal of a container with exposed ports or allowed flows then
 *   mark the live connections concerned closed (isc_fw_ct_close), after
 *   the elements are gone, so that no new one can start meanwhile.
 * - resolv.conf: the host's own nameservers (copied from the host's
 *   /etc/resolv.conf, minus loopback ones that a container cannot reach;
 *   the host runs no resolver, so the gateway is never a nameserver);
 *   hosts: localhost and the container's own name and address.
 * - State under R/net: ipam.json (ipam.h), state.json (the host settings,
 *   exposed ports, allowed flows), policy.json (the enabled optional
 *   rules), NAME/{resolv.conf,hosts}, ns/NAME, and for commit-confirmed
 *   rollback.nft + confirm.pending.  Every change runs under an exclusive
 *   flock of R/net/net.lock.
 * - Commit-confirmed (cfg->confirm): the isc tables as they were before are
 *   saved in rollback.nft; after the apply a detached watcher process (a
 *   double fork, in the same network namespace) sleeps confirm_timeout
 *   seconds and then, unless isc_net_confirm() removed confirm.pending,
 *   renames it to confirm.expired and replaces the isc tables with the
 *   saved ones.  rename/unlink of the one file decide atomically who won.
 *
 * This file: the host side (bridge, sysctls, the ruleset, commit-confirmed,
 * policies); the containers' links, files, exposed ports and allowed flows
 * are in net-container.c, the state helpers both use in net-internal.h. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/firewall.h"
#include "net/ipam.h"
#include "net/netlink.h"
#include "net/net-internal.h"

/* ---- sysctls --------------------------------------------------------------- */

static int sysctl_read_here(const char *key, char *buf, size_t len)
{
	cleanup_free char *p = isc_xasprintf("/proc/sys/%s", key);
	cleanup_free char *v = NULL;
	cleanup_error isc_error *err = NULL;
	if (isc_read_file(p, &v, NULL, 64, &err) < 0)
		return -1;
	v[strcspn(v, "\n")] = '\0';
	snprintf(buf, len, "%s", v);
	return 0;
}

/* ---- host ------------------------------------------------------------------ */

/* The subnet must not overlap any IPv4 address of this namespace (but the
 * bridge's own). */
static int check_overlap(const struct isc_subnet *sn, isc_error **err)
{
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return isc_error_set(err, errno, "getifaddrs");
	int r = 0;
	char want[32];
	isc_subnet_format(sn, want, sizeof(want));
	for (struct ifaddrs *i = ifa; i != NULL && r == 0; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET || i->ifa_netmask == NULL ||
		    strcmp(i->ifa_name, ISC_NET_BRIDGE) == 0 || strcmp(i->ifa_name, "lo") == 0)
			continue;
		uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		uint32_t m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
		struct isc_subnet other = { .net = a & m, .prefix = __builtin_popcount(m) };
		if (isc_subnet_overlaps(sn, &other)) {
			char o[32];
			isc_subnet_format(&other, o, sizeof(o));
			r = isc_error_set(err, EINVAL, "subnet %s overlaps %s on %s", want, o, i->ifa_name);
		}
	}
	freeifaddrs(ifa);
	return r;
}

static void fw_cfg_of(json_t *host, unsigned policies, const struct isc_subnet *sn, char *subnet_buf, size_t len,
		      struct isc_fw_cfg *c)
{
	isc_subnet_format(sn, subnet_buf, len);
	*c = (struct isc_fw_cfg){
		.bridge = ISC_NET_BRIDGE,
		.uplink = json_string_value(json_object_get(host, "uplink")),
		.subnet = subnet_buf,
		.gateway = isc_subnet_gateway(sn),
		.ssh_port = (int)json_integer_value(json_object_get(host, "ssh_port")),
		.policies = policies,
	};
}

/* Elements for everything the state knows: running container ports (their
 * vcN exists), exposed ports, allowed flows. */
static char *state_elements(const char *root, json_t *st, isc_error **err)
{
	cleanup_free char *dir = net_path(root, NULL);
	struct isc_ipam_entry *e = NULL;
	size_t n = 0;
	if (isc_ipam_list(dir, &e, &n, err) < 0)
		return NULL;
	char *out = isc_xstrdup("");
	for (size_t i = 0; i < n; i++) {
		char ifn[IF_NAMESIZE];
		isc_ipam_ifname(e[i].id, ifn, sizeof(ifn));
		if (if_nametoindex(ifn) == 0)
			continue;
		uint8_t mac[6];
		isc_ipam_mac(e[i].addr, mac);
		cleanup_free char *c = isc_fw_container_cmds(true, ifn, e[i].addr, mac);
		char *t = isc_xasprintf("%s%s", out, c);
		free(out);
		out = t;
	}
	size_t k;
	json_t *v;
	json_array_foreach(state_array(st, "exposes"), k, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		for (size_t i = 0; name && i < n; i++) {
			if (strcmp(e[i].name, name) != 0)
				continue;
			cleanup_free char *c =
				isc_fw_expose_cmds(true, (int)json_integer_value(json_object_get(v, "proto")),
						   (uint16_t)json_integer_value(json_object_get(v, "host_port")),
						   e[i].addr, (uint16_t)json_integer_value(json_object_get(v, "port")));
			char *t = isc_xasprintf("%s%s", out, c);
			free(out);
			out = t;
		}
	}
	json_array_foreach(state_array(st, "allows"), k, v) {
		const char *s = json_string_value(json_object_get(v, "src"));
		const char *d = json_string_value(json_object_get(v, "dst"));
		struct isc_ipam_entry *se = NULL, *de = NULL;
		for (size_t i = 0; i < n; i++) {
			if (s && strcmp(e[i].name, s) == 0)
				se = &e[i];
			if (d && strcmp(e[i].name, d) == 0)
				de = &e[i];
		}
		if (se == NULL || de == NULL)
			continue;
		cleanup_free char *c = isc_fw_allow_cmds(true, se->addr, de->addr,
							 (int)json_integer_value(json_object_get(v, "proto")),
							 (uint16_t)json_integer_value(json_object_get(v, "port")));
		char *t = isc_xasprintf("%s%s", out, c);
		free(out);
		out = t;
	}
	isc_ipam_entries_free(e, n);
	return out;
}

/* The bridge isc0 with the gateway address and a fixed MAC, its sysctls
 * and ip_forward, br_netfilter off; up. */
static int bridge_up(const struct isc_subnet *sn, isc_error **err)
{
	cleanup_nl isc_nl *nl = NULL;
	if (isc_nl_open(&nl, err) < 0)
		return -1;
	if (isc_nl_bridge_add(nl, ISC_NET_BRIDGE, err) < 0) {
		if ((*err)->errnum != EEXIST)
			return -1;
		isc_error_free(err);
	}
	if (isc_nl_addr_add(nl, ISC_NET_BRIDGE, isc_subnet_gateway(sn), sn->prefix, err) < 0) {
		if ((*err)->errnum != EEXIST)
			return -1;
		isc_error_free(err);
	}
	/* a fixed MAC: a bridge without one takes the lowest of its ports',
	 * which would change under the containers' ARP caches */
	uint8_t brmac[6];
	isc_ipam_mac(isc_subnet_gateway(sn), brmac);
	if (isc_nl_link_set_mac(nl, ISC_NET_BRIDGE, brmac, err) < 0)
		return -1;
	static const char *const sysctls[] = {
		"net/ipv6/conf/" ISC_NET_BRIDGE "/disable_ipv6",
		"1",
		/* answer ARP for other containers with the host's MAC: the
		 * ports are isolated, allowed flows are routed (see the top) */
		"net/ipv4/conf/" ISC_NET_BRIDGE "/proxy_arp_pvlan",
		"1",
		"net/ipv4/neigh/" ISC_NET_BRIDGE "/proxy_delay",
		"0",
		"net/ipv4/ip_forward",
		"1",
		NULL,
	};
	for (size_t i = 0; sysctls[i] != NULL; i += 2)
		if (sysctl_here(sysctls[i], sysctls[i + 1], err) < 0)
			return -1;
	/* br_netfilter OFF, explicitly (it is per netns and defaults to 1):
	 * with it, a DNATed packet whose new destination sits behind the same
	 * bridge is switched at L2 ("bridged DNAT") instead of routed, which
	 * the isolated ports refuse: exposed ports would not answer other
	 * containers (hairpin; measured).  Without it every container packet
	 * reaches the inet hooks as routed traffic of isc0 (the ports cannot
	 * talk to each other), and the bridge-family anti-spoofing rules work
	 * regardless of it. */
	if (sysctl_here("net/bridge/bridge-nf-call-iptables", "0", err) < 0) {
		if ((*err)->errnum != ENOENT)
			return -1;
		isc_error_free(err);
	}
	if (isc_nl_link_up(nl, ISC_NET_BRIDGE, err) < 0)
		return -1;
	return 0;
}

static int start_confirm_watcher(const char *root, int timeout, isc_error **err);
static pid_t pending_watcher(const char *root, uint64_t *start);
static void kill_watcher(pid_t pid, uint64_t start);

int isc_net_host_up(const char *root, const struct isc_net_host_cfg *cfg, isc_error **err)
{
	struct isc_subnet sn;
	if (isc_subnet_parse(cfg->subnet, &sn, err) < 0)
		return -1;
	if (cfg->ssh_port < 1 || cfg->ssh_port > 65535)
		return isc_error_set(err, EINVAL, "SSH port %d: must be 1..65535", cfg->ssh_port);
	if (cfg->uplink != NULL && if_nametoindex(cfg->uplink) == 0)
		return isc_error_set(err, ENODEV, "uplink %s: no such interface", cfg->uplink);
	if (check_overlap(&sn, err) < 0)
		return -1;
	cleanup_close int lock = net_lock(root, err);
	if (lock < 0)
		return -1;
	cleanup_free char *dir = net_path(root, NULL);
	if (isc_ipam_setup(dir, cfg->subnet, err) < 0)
		return -1;
	cleanup_json json_t *st = NULL;
	cleanup_json json_t *pol = NULL;
	if (net_json_load(root, NET_STATE, &st, err) < 0 || net_json_load(root, NET_POLICY, &pol, err) < 0)
		return -1;
	json_t *host = json_object_get(st, "host");
	char fwd_before[16] = "0";
	if (host != NULL && json_is_string(json_object_get(host, "ip_forward_before")))
		snprintf(fwd_before, sizeof(fwd_before), "%s",
			 json_string_value(json_object_get(host, "ip_forward_before")));
	else
		sysctl_read_here("net/ipv4/ip_forward", fwd_before, sizeof(fwd_before));
	char canon[32];
	isc_subnet_format(&sn, canon, sizeof(canon));
	host = json_pack("{s:s?, s:s, s:i, s:s}", "uplink", cfg->uplink, "subnet", canon, "ssh_port", cfg->ssh_port,
			 "ip_forward_before", fwd_before);
	json_object_set_new(st, "host", host);

	/* the bridge and the gateway */
	if (bridge_up(&sn, err) < 0)
		return -1;

	/* the rules: the tables as a whole, with the elements of the state */
	struct isc_fw_cfg fc;
	char subnet_buf[32];
	fw_cfg_of(host, policy_flags(pol), &sn, subnet_buf, sizeof(subnet_buf), &fc);
	fc.ssh_port = cfg->ssh_port;
	cleanup_free char *rules = isc_fw_ruleset(&fc);
	cleanup_free char *elems = state_elements(root, st, err);
	if (elems == NULL)
		return -1;
	cleanup_free char *all = isc_xasprintf("%s%s", rules, elems);
	/* A change that still waits for confirmation: its watcher stops here.
	 * With confirm, the saved ruleset stays the one from before that
	 * change (the last confirmed one); without, this apply confirms.
	 * The watcher takes the lock held here before it acts, so it cannot
	 * fire in the middle; the old one is stopped only once this apply
	 * succeeded (else it still restores the last confirmed ruleset). */
	uint64_t wstart = 0;
	pid_t wpid = pending_watcher(root, &wstart);
	cleanup_free char *pending = net_path(root, NET_PENDING);
	if (cfg->confirm && wpid == 0) {
		cleanup_free char *saved = NULL;
		if (isc_fw_list(&saved, err) < 0)
			return isc_error_wrap(err, "save the isc tables for commit-confirmed");
		cleanup_free char *rb = isc_xasprintf("%s%s", isc_fw_delete_cmds(), saved);
		cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return isc_error_set(err, errno, "open %s", dir);
		if (isc_write_file_atomic(dfd, NET_ROLLBACK, rb, strlen(rb), 0600, err) < 0)
			return -1;
	}
	if (isc_fw_apply(all, err) < 0)
		return isc_error_wrap(err, "apply the ruleset");
	if (wpid > 0 && unlink(pending) == 0)
		kill_watcher(wpid, wstart);
	if (net_json_save(root, NET_STATE, st, err) < 0)
		return -1;
	if (cfg->confirm && start_confirm_watcher(root, cfg->confirm_timeout, err) < 0)
		return -1;
	return 0;
}

/* ---- commit-confirmed ---------------------------------------------------------- */

static void watcher_main(const char *root, int timeout)
{
	cleanup_free char *pending = net_path(root, NET_PENDING);
	cleanup_free char *expired = net_path(root, NET_EXPIRED);
	cleanup_free char *rb = net_path(root, NET_ROLLBACK);
	struct timespec ts = { .tv_sec = timeout };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	/* never in the middle of another change of the network (held until exit) */
	cleanup_free char *lock = net_path(root, NET_LOCK);
	int lfd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (lfd >= 0)
		flock(lfd, LOCK_EX);
	/* the one rename decides: confirmed (ENOENT) or rolled back */
	if (rename(pending, expired) < 0)
		_exit(0);
	cleanup_error isc_error *err = NULL;
	cleanup_free char *text = NULL;
	if (isc_read_file(rb, &text, NULL, 0, &err) < 0 || isc_fw_apply(text, &err) < 0) {
		char buf[512];
		FILE *f = fopen(expired, "we");
		if (f) {
			fprintf(f, "rollback failed: %s\n", isc_error_text(err, buf, sizeof(buf)));
			fclose(f);
		}
		_exit(1);
	}
	_exit(0);
}

/* The watcher of a pending confirmation, from confirm.pending ("PID
 * STARTTIME TIMEOUT"); 0 when none. */
static pid_t pending_watcher(const char *root, uint64_t *start)
{
	cleanup_free char *pending = net_path(root, NET_PENDING);
	cleanup_free char *buf = NULL;
	cleanup_error isc_error *err = NULL;
	int pid = 0;
	unsigned long long st = 0;
	if (isc_read_file(pending, &buf, NULL, 256, &err) < 0 || sscanf(buf, "%d %llu", &pid, &st) != 2 || pid <= 0)
		return 0;
	*start = st;
	return pid;
}

/* Stop a watcher that lost (confirmed, or replaced): only the process that
 * was recorded, never a later one that reuses its pid. */
static void kill_watcher(pid_t pid, uint64_t start)
{
	if (pid > 0 && start != 0 && isc_proc_start_time(pid) == start)
		kill(pid, SIGKILL);
}

static int start_confirm_watcher(const char *root, int timeout, isc_error **err)
{
	if (timeout <= 0)
		return isc_error_set(err, EINVAL, "confirm timeout %d: must be positive", timeout);
	cleanup_free char *expired = net_path(root, NET_EXPIRED);
	unlink(expired);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return isc_error_set(err, errno, "commit-confirmed: pipe");
	cleanup_close int rd = pfd[0];
	cleanup_close int wr = pfd[1];
	pid_t pid = fork();
	if (pid < 0)
		return isc_error_set(err, errno, "commit-confirmed: fork");
	if (pid == 0) {
		/* a detached grandchild: it must outlive the caller (a crashed
		 * iscd must still roll back) and must not be its zombie */
		setsid();
		pid_t g = fork();
		if (g != 0) {
			if (g > 0 && write(wr, &g, sizeof(g)) != sizeof(g))
				_exit(1);
			_exit(g < 0);
		}
		/* no inherited stdio either: a caller waiting for its pipes
		 * to close must not wait for the watcher */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		isc_close_fds_except(NULL, 0);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		watcher_main(root, timeout);
		_exit(0);
	}
	isc_closep(&wr);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	pid_t g = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || read(rd, &g, sizeof(g)) != sizeof(g) || g <= 0)
		return isc_error_set(err, EIO, "commit-confirmed: the watcher did not start");
	/* it looks for the file only after its timeout: writing it now is in time */
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%d %llu %d\n", (int)g, (unsigned long long)isc_proc_start_time(g), timeout);
	cleanup_free char *dir = net_path(root, NULL);
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", dir);
	if (isc_write_file_atomic(dfd, NET_PENDING, buf, (size_t)n, 0600, err) < 0) {
		kill(g, SIGKILL);
		return -1;
	}
	return 0;
}

int isc_net_confirm(const char *root, isc_error **err)
{
	cleanup_free char *pending = net_path(root, NET_PENDING);
	cleanup_free char *expired = net_path(root, NET_EXPIRED);
	uint64_t start = 0;
	pid_t pid = pending_watcher(root, &start);
	if (unlink(pending) == 0) {
		kill_watcher(pid, start); /* it has nothing left to do */
		return 0;
	}
	if (errno != ENOENT)
		return isc_error_set(err, errno, "confirm: remove %s", pending);
	if (access(expired, F_OK) == 0)
		return isc_error_set(err, ETIMEDOUT, "confirm: too late, the previous ruleset was restored");
	return isc_error_set(err, ENOENT, "confirm: no ruleset waits for confirmation");
}

/* ---- the host down ------------------------------------------------------------- */

int isc_net_host_down(const char *root, isc_error **err)
{
	cleanup_close int lock = net_lock(root, err);
	if (lock < 0)
		return -1;
	cleanup_free char *dir = net_path(root, NULL);
	/* first the rules: nothing forwards any more */
	if (isc_fw_apply((char *)isc_fw_delete_cmds(), err) < 0)
		return isc_error_wrap(err, "remove the isc tables");
	struct isc_ipam_entry *e = NULL;
	size_t n = 0;
	cleanup_error isc_error *lerr = NULL;
	if (isc_ipam_list(dir, &e, &n, &lerr) == 0) {
		for (size_t i = 0; i < n; i++) {
			cleanup_free char *p = container_ns_path(root, e[i].name);
			cleanup_error isc_error *e2 = NULL;
			if (access(p, F_OK) == 0 && isc_netns_remove(p, &e2) < 0) {
				isc_error_move(err, &e2);
				isc_ipam_entries_free(e, n);
				return -1;
			}
			remove_container_files(root, e[i].name);
		}
		isc_ipam_entries_free(e, n);
	}
	cleanup_nl isc_nl *nl = NULL;
	if (isc_nl_open(&nl, err) < 0)
		return -1;
	if (isc_nl_link_del(nl, ISC_NET_BRIDGE, err) < 0) {
		if ((*err)->errnum != ENODEV)
			return -1;
		isc_error_free(err);
	}
	cleanup_json json_t *st = NULL;
	if (net_json_load(root, NET_STATE, &st, err) < 0)
		return -1;
	const char *fwd = json_string_value(json_object_get(json_object_get(st, "host"), "ip_forward_before"));
	if (fwd != NULL && sysctl_here("net/ipv4/ip_forward", fwd, err) < 0)
		return -1;
	cleanup_free char *pending = net_path(root, NET_PENDING);
	uint64_t wstart = 0;
	pid_t wpid = pending_watcher(root, &wstart);
	if (unlink(pending) == 0) /* a pending rollback has nothing left to restore */
		kill_watcher(wpid, wstart);
	return 0;
}

/* ---- policies ------------------------------------------------------------------ */

int isc_net_policy_get(const char *root, unsigned *enabled, isc_error **err)
{
	cleanup_json json_t *pol = NULL;
	if (net_json_load(root, NET_POLICY, &pol, err) < 0)
		return -1;
	*enabled = policy_flags(pol);
	return 0;
}

int isc_net_policy_set(const char *root, const char *rule, bool on, isc_error **err)
{
	unsigned flag = isc_fw_policy_flag(rule);
	if (flag == 0)
		return isc_error_set(err, EINVAL, "policy %s: no such rule (isc policy ls)", rule);
	cleanup_close int lock = net_lock(root, err);
	if (lock < 0)
		return -1;
	cleanup_json json_t *pol = NULL;
	if (net_json_load(root, NET_POLICY, &pol, err) < 0)
		return -1;
	unsigned flags = policy_flags(pol);
	flags = on ? flags | flag : flags & ~flag;
	struct isc_fw_cfg c = { .policies = flags };
	if (apply_owned(isc_fw_policy_cmds(&c), err) < 0)
		return isc_error_wrap(err, "policy %s %s (is the network up?)", on ? "enable" : "disable", rule);
	json_t *arr = json_array();
	for (unsigned i = 0; i < isc_fw_n_policies; i++)
		if (flags & isc_fw_policies[i].flag)
			json_array_append_new(arr, json_string(isc_fw_policies[i].name));
	json_object_set_new(pol, "enabled", arr);
	return net_json_save(root, NET_POLICY, pol, err);
}
