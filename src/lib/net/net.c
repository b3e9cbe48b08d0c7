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
 *   (see isc_net_host_up: with it, hairpinned DNAT between isolated ports
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
 *   saved ones.  rename/unlink of the one file decide atomically who won. */
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
#include "base/util.h"

#define NET_STATE "state.json"
#define NET_POLICY "policy.json"
#define NET_LOCK "net.lock"
#define NET_ROLLBACK "rollback.nft"
#define NET_PENDING "confirm.pending"
#define NET_EXPIRED "confirm.expired"

void isc_net_container_clear(struct isc_net_container *c)
{
	free(c->netns_path);
	free(c->resolv_conf);
	free(c->hosts);
	free(c->host_if);
	memset(c, 0, sizeof(*c));
}

/* ---- state ------------------------------------------------------------- */

static char *net_path(const char *root, const char *rel)
{
	return isc_xasprintf("%s/net%s%s", root, rel ? "/" : "", rel ? rel : "");
}

/* An exclusive lock of R/net for one operation; the fd, or -1. */
static int net_lock(const char *root, isc_error **err)
{
	cleanup_free char *dir = net_path(root, NULL);
	if (isc_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_free char *p = net_path(root, NET_LOCK);
	cleanup_close int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", p);
	if (flock(fd, LOCK_EX) < 0)
		return isc_error_set(err, errno, "flock %s", p);
	return steal_fd(&fd);
}

static int net_json_load(const char *root, const char *name, json_t **out, isc_error **err)
{
	cleanup_free char *p = net_path(root, name);
	cleanup_free char *buf = NULL;
	*out = NULL;
	if (isc_read_file(p, &buf, NULL, 0, err) < 0) {
		if ((*err)->errnum != ENOENT)
			return -1;
		isc_error_free(err);
		*out = json_object();
		return 0;
	}
	json_error_t je;
	*out = json_loads(buf, 0, &je);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return isc_error_set(err, EINVAL, "%s: corrupt (%s)", p, je.text);
	}
	return 0;
}

static int net_json_save(const char *root, const char *name, json_t *j, isc_error **err)
{
	cleanup_free char *dir = net_path(root, NULL);
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", dir);
	cleanup_free char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (s == NULL)
		return isc_error_set(err, ENOMEM, "serialise %s", name);
	return isc_write_file_atomic(dfd, name, s, strlen(s), 0600, err);
}

static void jdecref(json_t **j)
{
	if (*j != NULL)
		json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(jdecref)))

/* state.json arrays, created on demand */
static json_t *state_array(json_t *st, const char *key)
{
	json_t *a = json_object_get(st, key);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(st, key, a);
	}
	return a;
}

static unsigned policy_flags(json_t *pol)
{
	unsigned f = 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(pol, "enabled"), i, v) {
		if (json_is_string(v))
			f |= isc_fw_policy_flag(json_string_value(v));
	}
	return f;
}

static int apply_owned(char *cmds, isc_error **err)
{
	int r = isc_fw_apply(cmds, err);
	free(cmds);
	return r;
}

/* ---- sysctls --------------------------------------------------------------- */

/* /proc/sys/net/... resolves in the network namespace of the thread that
 * opens it: the caller's. */
static int sysctl_here(const char *key, const char *value, isc_error **err)
{
	cleanup_free char *p = isc_xasprintf("/proc/sys/%s", key);
	if (isc_write_file(p, value, strlen(value), err) < 0)
		return isc_error_wrap(err, "sysctl %s=%s", key, value);
	return 0;
}

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
			cleanup_free char *c = isc_fw_expose_cmds(
				true, (int)json_integer_value(json_object_get(v, "proto")),
				(uint16_t)json_integer_value(json_object_get(v, "host_port")), e[i].addr,
				(uint16_t)json_integer_value(json_object_get(v, "port")));
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
		snprintf(fwd_before, sizeof(fwd_before), "%s", json_string_value(json_object_get(host, "ip_forward_before")));
	else
		sysctl_read_here("net/ipv4/ip_forward", fwd_before, sizeof(fwd_before));
	char canon[32];
	isc_subnet_format(&sn, canon, sizeof(canon));
	host = json_pack("{s:s?, s:s, s:i, s:s}", "uplink", cfg->uplink, "subnet", canon, "ssh_port", cfg->ssh_port,
			 "ip_forward_before", fwd_before);
	json_object_set_new(st, "host", host);

	/* the bridge and the gateway */
	cleanup_nl isc_nl *nl = NULL;
	if (isc_nl_open(&nl, err) < 0)
		return -1;
	if (isc_nl_bridge_add(nl, ISC_NET_BRIDGE, err) < 0) {
		if ((*err)->errnum != EEXIST)
			return -1;
		isc_error_free(err);
	}
	if (isc_nl_addr_add(nl, ISC_NET_BRIDGE, isc_subnet_gateway(&sn), sn.prefix, err) < 0) {
		if ((*err)->errnum != EEXIST)
			return -1;
		isc_error_free(err);
	}
	/* a fixed MAC: a bridge without one takes the lowest of its ports',
	 * which would change under the containers' ARP caches */
	uint8_t brmac[6];
	isc_ipam_mac(isc_subnet_gateway(&sn), brmac);
	if (isc_nl_link_set_mac(nl, ISC_NET_BRIDGE, brmac, err) < 0)
		return -1;
	static const char *const sysctls[] = {
		"net/ipv6/conf/" ISC_NET_BRIDGE "/disable_ipv6", "1",
		/* answer ARP for other containers with the host's MAC: the
		 * ports are isolated, allowed flows are routed (see the top) */
		"net/ipv4/conf/" ISC_NET_BRIDGE "/proxy_arp_pvlan", "1",
		"net/ipv4/neigh/" ISC_NET_BRIDGE "/proxy_delay", "0",
		"net/ipv4/ip_forward", "1",
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

/* ---- containers ---------------------------------------------------------------- */

static char *container_ns_path(const char *root, const char *name)
{
	return isc_xasprintf("%s/net/ns/%s", root, name);
}

/* nameservers of the host's resolv.conf that a container can reach */
static char *resolv_conf_text(void)
{
	cleanup_free char *host = NULL;
	cleanup_error isc_error *err = NULL;
	char *out = isc_xstrdup("# generated by isc: the host's nameservers\n");
	if (isc_read_file("/etc/resolv.conf", &host, NULL, 65536, &err) < 0)
		return out;
	int n = 0;
	for (char *save = NULL, *line = strtok_r(host, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char ns[64];
		if (sscanf(line, " nameserver %63s", ns) != 1)
			continue;
		struct in_addr a;
		if (inet_pton(AF_INET, ns, &a) != 1 || (ntohl(a.s_addr) >> 24) == 127)
			continue; /* loopback (a local stub resolver) or IPv6: unreachable from a container */
		char *t = isc_xasprintf("%snameserver %s\n", out, ns);
		free(out);
		out = t;
		n++;
	}
	if (n == 0) {
		char *t = isc_xasprintf("%s# (none usable: the host has only local or IPv6 resolvers)\n", out);
		free(out);
		out = t;
	}
	return out;
}

static int write_container_files(const char *root, const char *name, struct in_addr addr, char **resolv,
				 char **hosts, isc_error **err)
{
	cleanup_free char *dir = isc_xasprintf("%s/net/c/%s", root, name);
	if (isc_mkdir_p(dir, 0755, err) < 0)
		return -1;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", dir);
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	cleanup_free char *r = resolv_conf_text();
	cleanup_free char *h = isc_xasprintf("127.0.0.1\tlocalhost\n%s\t%s\n", a, name);
	if (isc_write_file_atomic(dfd, "resolv.conf", r, strlen(r), 0644, err) < 0 ||
	    isc_write_file_atomic(dfd, "hosts", h, strlen(h), 0644, err) < 0)
		return -1;
	*resolv = isc_xasprintf("%s/resolv.conf", dir);
	*hosts = isc_xasprintf("%s/hosts", dir);
	return 0;
}

static void remove_container_files(const char *root, const char *name)
{
	cleanup_free char *dir = isc_xasprintf("%s/net/c/%s", root, name);
	cleanup_free char *r = isc_xasprintf("%s/resolv.conf", dir);
	cleanup_free char *h = isc_xasprintf("%s/hosts", dir);
	unlink(r);
	unlink(h);
	rmdir(dir);
}

/* Element deletions that succeed when an element is already gone: each
 * "delete" is preceded by the matching "add" in the same transaction. */
static char *idempotent_delete(char *(*gen)(bool, const void *), const void *arg)
{
	cleanup_free char *add = gen(true, arg);
	cleanup_free char *del = gen(false, arg);
	return isc_xasprintf("%s%s", add, del);
}

struct port_elems {
	const char *ifname;
	struct in_addr addr;
	uint8_t mac[6];
};

static char *gen_port(bool add, const void *arg)
{
	const struct port_elems *p = arg;
	return isc_fw_container_cmds(add, p->ifname, p->addr, p->mac);
}

/* The host-side veth of an earlier incarnation is deleted by the kernel
 * asynchronously after its namespace went away: wait for it a little, then
 * delete it ourselves (the name is ours: vc + our IPAM id). */
static int veth_add_retry(isc_nl *nl, const char *ifn, int nsfd, isc_error **err)
{
	for (int i = 0;; i++) {
		if (isc_nl_veth_add(nl, ifn, "eth0", nsfd, err) == 0)
			return 0;
		if ((*err)->errnum != EEXIST || i >= 200)
			return -1;
		isc_error_free(err);
		if (i == 100 && isc_nl_link_del(nl, ifn, err) < 0) {
			if ((*err)->errnum != ENODEV)
				return -1;
			isc_error_free(err);
		}
		struct timespec ts = { .tv_nsec = 2000000 };
		nanosleep(&ts, NULL);
	}
}

struct elems_job {
	const char *cmds;
	bool *added;
};

/* Receive packet steering on both ends of a container's veth, over the
 * CPUs this process (iscd) may run on.  Without it, everything the host
 * does with a container's packets (bridge, filter, conntrack, NAT,
 * routing, and the receiving end's TCP) runs in the softirq of the CPU
 * that sent them: the container's own CPU, which then sends less.  With
 * it, the sender's CPU only queues the packet.  Measured with one TCP
 * stream through NAT (bench/run-net.sh, ratio of medians to a plain veth
 * pair): 0.81-0.84 without, 0.86-0.99 with.  A tuning, not a guard: when
 * the kernel has no RPS (or there is one CPU), the container runs without
 * it. */
static void steer_container_link(const char *ifn, int nsfd)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
		return;
	char mask[CPU_SETSIZE / 4 + CPU_SETSIZE / 32 + 1];
	if (isc_cpumask_hex(&set, mask, sizeof(mask)) < 0)
		return;
	cleanup_error isc_error *e1 = NULL;
	cleanup_error isc_error *e2 = NULL;
	(void)isc_nl_link_rps(-1, ifn, mask, &e1);
	(void)isc_nl_link_rps(nsfd, "eth0", mask, &e2);
}

static int add_elems(void *arg, isc_error **err)
{
	struct elems_job *j = arg;
	if (isc_fw_apply(j->cmds, err) < 0)
		return -1;
	*j->added = true;
	return 0;
}

int isc_net_container_up(const char *root, const char *name, struct isc_net_container *out, isc_error **err)
{
	memset(out, 0, sizeof(*out));
	/* the name becomes a path component under R/net */
	if (isc_plan_parse_name(name, err) < 0)
		return isc_error_wrap(err, "network of container");
	cleanup_close int lock = net_lock(root, err);
	if (lock < 0)
		return -1;
	cleanup_free char *dir = net_path(root, NULL);
	struct isc_subnet sn;
	if (isc_ipam_subnet(dir, &sn, err) < 0)
		return -1;
	struct isc_ipam_entry e = { 0 };
	bool created = false;
	if (isc_ipam_alloc(dir, name, &e, &created, err) < 0)
		return -1;
	ISC_UNUSED cleanup_free char *ename = e.name; /* owns e.name: freed on every return */
	char ifn[IF_NAMESIZE];
	isc_ipam_ifname(e.id, ifn, sizeof(ifn));
	struct port_elems pe = { .ifname = ifn, .addr = e.addr };
	isc_ipam_mac(e.addr, pe.mac);
	cleanup_free char *nsdir = net_path(root, "ns");
	cleanup_free char *nspath = container_ns_path(root, name);
	bool ns_made = false, elems_added = false;
	cleanup_free char *add = NULL;
	cleanup_free char *v6 = NULL;
	cleanup_close int nsfd = -1;
	cleanup_nl isc_nl *hnl = NULL;
	cleanup_nl isc_nl *cnl = NULL;
	struct in_addr gw = isc_subnet_gateway(&sn);
	/* ip_unprivileged_port_start=0: the namespace belongs to the host's
	 * user namespace, so the container's CAP_NET_BIND_SERVICE (held in its
	 * own user namespace) does not count for it; ports below 1024 of the
	 * container's own address are the container's to use */
	static const char *const c_sysctls[] = {
		"net/ipv6/conf/all/disable_ipv6", "1",
		"net/ipv6/conf/default/disable_ipv6", "1",
		"net/ipv4/ip_unprivileged_port_start", "0",
		NULL,
	};

	if (isc_mkdir_p(nsdir, 0700, err) < 0)
		goto fail;
	/* The anti-spoofing elements before the port can forward anything:
	 * they name the port, which need not exist yet, so they are added
	 * while the helper thread makes the namespace (both cost ~1 ms).  In
	 * the namespace: IPv6 off before eth0 exists (no link-local address,
	 * no DAD/RS), and the container-side rtnetlink handle. */
	add = isc_fw_container_cmds(true, ifn, e.addr, pe.mac);
	struct elems_job job = { add, &elems_added };
	if (isc_netns_create_ex(nspath, c_sysctls, &cnl, add_elems, &job, err) < 0)
		goto fail;
	ns_made = true;
	nsfd = isc_netns_open(nspath, err);
	if (nsfd < 0)
		goto fail;
	if (isc_nl_open(&hnl, err) < 0 || (cnl == NULL && isc_nl_open_in(nsfd, &cnl, err) < 0))
		goto fail;
	if (veth_add_retry(hnl, ifn, nsfd, err) < 0)
		goto fail;
	steer_container_link(ifn, nsfd);
	v6 = isc_xasprintf("net/ipv6/conf/%s/disable_ipv6", ifn);
	if (sysctl_here(v6, "1", err) < 0 || isc_nl_link_set_master(hnl, ifn, ISC_NET_BRIDGE, err) < 0 ||
	    isc_nl_bridge_port_isolated(hnl, ifn, true, err) < 0 || isc_nl_link_up(hnl, ifn, err) < 0)
		goto fail;
	if (isc_nl_link_set_mac(cnl, "eth0", pe.mac, err) < 0 || isc_nl_addr_add(cnl, "eth0", e.addr, sn.prefix, err) < 0 ||
	    isc_nl_link_up(cnl, "eth0", err) < 0 || isc_nl_route_add_default(cnl, gw, err) < 0)
		goto fail;
	if (write_container_files(root, name, e.addr, &out->resolv_conf, &out->hosts, err) < 0)
		goto fail;
	out->netns_path = steal_pointer(&nspath);
	out->addr = e.addr;
	out->host_if = isc_xstrdup(ifn);
	return 0;

fail:
	isc_error_wrap(err, "network of container %s", name);
	{
		cleanup_error isc_error *e2 = NULL;
		if (elems_added)
			(void)apply_owned(idempotent_delete(gen_port, &pe), &e2);
		if (ns_made) /* the veth goes with the namespace */
			(void)isc_netns_remove(nspath, &e2);
		if (created)
			(void)isc_ipam_release(dir, name, &e2);
		remove_container_files(root, name);
		isc_net_container_clear(out);
	}
	return -1;
}

/* a map element: the idempotent delete must add it with its own value */
struct expose_elem {
	int proto;
	uint16_t host_port;
	struct in_addr addr;
	uint16_t port;
};

static char *gen_expose(bool add, const void *arg)
{
	const struct expose_elem *x = arg;
	return isc_fw_expose_cmds(add, x->proto, x->host_port, x->addr, x->port);
}

struct allow_elem {
	struct in_addr src, dst;
	int proto;
	uint16_t port;
};

static char *gen_allow(bool add, const void *arg)
{
	const struct allow_elem *a = arg;
	return isc_fw_allow_cmds(add, a->src, a->dst, a->proto, a->port);
}

static struct in_addr lookup_addr(struct isc_ipam_entry *e, size_t n, const char *name, bool *found)
{
	for (size_t i = 0; i < n; i++)
		if (name && strcmp(e[i].name, name) == 0) {
			*found = true;
			return e[i].addr;
		}
	*found = false;
	return (struct in_addr){ 0 };
}

int isc_net_container_down(const char *root, const char *name, bool keep_addr, isc_error **err)
{
	if (isc_plan_parse_name(name, err) < 0)
		return isc_error_wrap(err, "network of container");
	cleanup_close int lock = net_lock(root, err);
	if (lock < 0)
		return -1;
	cleanup_free char *dir = net_path(root, NULL);
	cleanup_free char *nspath = container_ns_path(root, name);
	struct isc_ipam_entry *all = NULL;
	size_t n = 0;
	if (isc_ipam_list(dir, &all, &n, err) < 0)
		return -1;
	struct isc_ipam_entry *me = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0)
			me = &all[i];
	bool have_ns = access(nspath, F_OK) == 0;
	if (me == NULL && !have_ns) {
		isc_ipam_entries_free(all, n);
		return isc_error_set(err, ENOENT, "unknown container %s (it has no network)", name);
	}
	cleanup_free char *cmds = isc_xstrdup("");
	cleanup_json json_t *st = NULL;
	if (net_json_load(root, NET_STATE, &st, err) < 0) {
		isc_ipam_entries_free(all, n);
		return -1;
	}
	/* With keep_addr the port's anti-spoofing elements stay: they name a
	 * vcN that no longer exists (so they match nothing) and that only this
	 * container gets again, with the same address and MAC; deleting set
	 * elements costs ~12 ms of kernel commit here, a restart should not
	 * pay it. */
	if (me != NULL && !keep_addr) {
		char ifn[IF_NAMESIZE];
		isc_ipam_ifname(me->id, ifn, sizeof(ifn));
		struct port_elems pe = { .ifname = ifn, .addr = me->addr };
		isc_ipam_mac(me->addr, pe.mac);
		free(cmds);
		cmds = idempotent_delete(gen_port, &pe);
	}
	bool had_flows = false;
	if (!keep_addr && me != NULL) {
		/* forget its exposed ports and allowed flows with the address */
		json_t *ex = state_array(st, "exposes");
		for (size_t i = json_array_size(ex); i-- > 0;) {
			json_t *v = json_array_get(ex, i);
			if (strcmp(json_string_value(json_object_get(v, "name")) ?: "", name) != 0)
				continue;
			struct expose_elem x = { (int)json_integer_value(json_object_get(v, "proto")),
						 (uint16_t)json_integer_value(json_object_get(v, "host_port")), me->addr,
						 (uint16_t)json_integer_value(json_object_get(v, "port")) };
			cleanup_free char *c = idempotent_delete(gen_expose, &x);
			had_flows = true;
			char *t = isc_xasprintf("%s%s", cmds, c);
			free(cmds);
			cmds = t;
			json_array_remove(ex, i);
		}
		json_t *al = state_array(st, "allows");
		for (size_t i = json_array_size(al); i-- > 0;) {
			json_t *v = json_array_get(al, i);
			const char *s = json_string_value(json_object_get(v, "src"));
			const char *d = json_string_value(json_object_get(v, "dst"));
			if (strcmp(s ?: "", name) != 0 && strcmp(d ?: "", name) != 0)
				continue;
			bool fs, fd;
			struct allow_elem a = { lookup_addr(all, n, s, &fs), lookup_addr(all, n, d, &fd),
						(int)json_integer_value(json_object_get(v, "proto")),
						(uint16_t)json_integer_value(json_object_get(v, "port")) };
			had_flows = true;
			if (fs && fd) {
				cleanup_free char *c = idempotent_delete(gen_allow, &a);
				char *t = isc_xasprintf("%s%s", cmds, c);
				free(cmds);
				cmds = t;
			}
			json_array_remove(al, i);
		}
	}
	struct isc_fw_ct_match gone = { .any = true, .dst = me != NULL ? me->addr : (struct in_addr){ 0 } };
	isc_ipam_entries_free(all, n);
	/* the rules first: without its elements the port forwards nothing */
	if (*cmds && isc_fw_apply(cmds, err) < 0)
		return isc_error_wrap(err, "network of container %s", name);
	if (have_ns && isc_netns_remove(nspath, err) < 0)
		return isc_error_wrap(err, "network of container %s", name);
	remove_container_files(root, name);
	if (!keep_addr && me != NULL) {
		if (net_json_save(root, NET_STATE, st, err) < 0 || isc_ipam_release(dir, name, err) < 0)
			return isc_error_wrap(err, "network of container %s", name);
	}
	/* and the live connections of its exposed ports and allowed flows
	 * end, as with unexpose and allow --remove: its address goes to another
	 * container one day, which must not inherit them.  (A conntrack dump
	 * walks the kernel's global table, ~7 ms here: only when needed.) */
	unsigned closed;
	if (had_flows && isc_fw_ct_close(&gone, &closed, err) < 0)
		return isc_error_wrap(err, "network of container %s: removed, but its live connections not closed", name);
	return 0;
}

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

/* ---- exposed ports, allowed flows, policies ------------------------------------ */

/* What expose and unexpose start with: the network lock (held until the
 * caller closes *lock), the container's address, the network state. */
static int port_op_begin(const char *root, const char *name, const char *what, int *lock, struct in_addr *addr,
			 json_t **st, isc_error **err)
{
	*lock = net_lock(root, err);
	if (*lock < 0)
		return -1;
	cleanup_free char *dir = net_path(root, NULL);
	struct isc_ipam_entry e = { 0 };
	if (isc_ipam_lookup(dir, name, &e, err) < 0)
		return isc_error_wrap(err, "%s", what);
	free(e.name);
	*addr = e.addr;
	return net_json_load(root, NET_STATE, st, err);
}

int isc_net_expose(const char *root, const char *name, const struct isc_port *p, isc_error **err)
{
	if (p->host_port == 0 || p->port == 0 || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return isc_error_set(err, EINVAL, "expose %s: bad port", name);
	cleanup_close int lock = -1;
	struct isc_ipam_entry e = { 0 };
	cleanup_json json_t *st = NULL;
	if (port_op_begin(root, name, "expose", &lock, &e.addr, &st, err) < 0)
		return -1;
	int ssh = (int)json_integer_value(json_object_get(json_object_get(st, "host"), "ssh_port"));
	const char *pn = isc_fw_proto_name(p->proto);
	if (p->proto == IPPROTO_TCP && p->host_port == ssh)
		return isc_error_set(err, EADDRINUSE, "expose %s: port %u/tcp is the host's SSH port", name, p->host_port);
	size_t i;
	json_t *v;
	json_array_foreach(state_array(st, "exposes"), i, v) {
		if (json_integer_value(json_object_get(v, "proto")) != p->proto ||
		    json_integer_value(json_object_get(v, "host_port")) != p->host_port)
			continue;
		const char *owner = json_string_value(json_object_get(v, "name"));
		/* the same again (a restart re-exposing its plan's ports): no change */
		if (owner != NULL && strcmp(owner, name) == 0 && json_integer_value(json_object_get(v, "port")) == p->port)
			return apply_owned(isc_fw_expose_cmds(true, p->proto, p->host_port, e.addr, p->port), err);
		return isc_error_set(err, EADDRINUSE, "expose %s: port %u/%s is already exposed to %s", name, p->host_port,
				     pn, owner ? owner : "?");
	}
	if (apply_owned(isc_fw_expose_cmds(true, p->proto, p->host_port, e.addr, p->port), err) < 0)
		return isc_error_wrap(err, "expose %s %u:%u/%s", name, p->host_port, p->port, pn);
	json_array_append_new(state_array(st, "exposes"),
			      json_pack("{s:s, s:i, s:i, s:i}", "name", name, "proto", p->proto, "host_port",
					(int)p->host_port, "port", (int)p->port));
	if (net_json_save(root, NET_STATE, st, err) < 0) {
		struct expose_elem x = { p->proto, p->host_port, e.addr, p->port };
		cleanup_error isc_error *e2 = NULL;
		(void)apply_owned(idempotent_delete(gen_expose, &x), &e2);
		return -1;
	}
	return 0;
}

int isc_net_unexpose(const char *root, const char *name, const struct isc_port *p, isc_error **err)
{
	cleanup_close int lock = -1;
	struct isc_ipam_entry e = { 0 };
	cleanup_json json_t *st = NULL;
	if (port_op_begin(root, name, "unexpose", &lock, &e.addr, &st, err) < 0)
		return -1;
	json_t *ex = state_array(st, "exposes");
	size_t i;
	json_t *v;
	json_array_foreach(ex, i, v) {
		if (json_integer_value(json_object_get(v, "proto")) != p->proto ||
		    json_integer_value(json_object_get(v, "host_port")) != p->host_port ||
		    strcmp(json_string_value(json_object_get(v, "name")) ?: "", name) != 0)
			continue;
		struct expose_elem x = { p->proto, p->host_port, e.addr,
					 (uint16_t)json_integer_value(json_object_get(v, "port")) };
		if (apply_owned(idempotent_delete(gen_expose, &x), err) < 0)
			return isc_error_wrap(err, "unexpose %s %u/%s", name, p->host_port, isc_fw_proto_name(p->proto));
		json_array_remove(ex, i);
		if (net_json_save(root, NET_STATE, st, err) < 0)
			return -1;
		/* no new connection reaches the port now; the live ones end here */
		struct isc_fw_ct_match m = { .proto = p->proto, .dnat = true, .dst = e.addr, .dport = p->host_port,
					     .port = x.port };
		unsigned closed;
		if (isc_fw_ct_close(&m, &closed, err) < 0)
			return isc_error_wrap(err, "unexpose %s %u/%s: the port is closed, its live connections not",
					      name, p->host_port, isc_fw_proto_name(p->proto));
		return 0;
	}
	return isc_error_set(err, ENOENT, "unexpose %s: port %u/%s is not exposed to it", name, p->host_port,
			     isc_fw_proto_name(p->proto));
}

int isc_net_allow(const char *root, const char *src, const char *dst, const struct isc_port *p, bool remove,
		  isc_error **err)
{
	if (p->port == 0 || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return isc_error_set(err, EINVAL, "allow %s -> %s: bad port", src, dst);
	if (strcmp(src, dst) == 0)
		return isc_error_set(err, EINVAL, "allow %s -> %s: a container reaches itself already", src, dst);
	cleanup_close int lock = net_lock(root, err);
	if (lock < 0)
		return -1;
	cleanup_free char *dir = net_path(root, NULL);
	struct isc_ipam_entry se = { 0 }, de = { 0 };
	if (isc_ipam_lookup(dir, src, &se, err) < 0)
		return isc_error_wrap(err, "allow");
	free(se.name);
	if (isc_ipam_lookup(dir, dst, &de, err) < 0)
		return isc_error_wrap(err, "allow");
	free(de.name);
	cleanup_json json_t *st = NULL;
	if (net_json_load(root, NET_STATE, &st, err) < 0)
		return -1;
	json_t *al = state_array(st, "allows");
	size_t i, found = (size_t)-1;
	json_t *v;
	json_array_foreach(al, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "src")) ?: "", src) == 0 &&
		    strcmp(json_string_value(json_object_get(v, "dst")) ?: "", dst) == 0 &&
		    json_integer_value(json_object_get(v, "proto")) == p->proto &&
		    json_integer_value(json_object_get(v, "port")) == p->port)
			found = i;
	}
	const char *pn = isc_fw_proto_name(p->proto);
	struct allow_elem a = { se.addr, de.addr, p->proto, p->port };
	if (remove) {
		if (found == (size_t)-1)
			return isc_error_set(err, ENOENT, "allow --remove %s %s:%u/%s: no such flow", src, dst, p->port, pn);
		if (apply_owned(idempotent_delete(gen_allow, &a), err) < 0)
			return isc_error_wrap(err, "allow --remove %s %s:%u/%s", src, dst, p->port, pn);
		json_array_remove(al, found);
		if (net_json_save(root, NET_STATE, st, err) < 0)
			return -1;
		/* no new connection of the flow now; the live ones end here */
		struct isc_fw_ct_match m = { .proto = p->proto, .src = se.addr, .dst = de.addr, .dport = p->port };
		unsigned closed;
		if (isc_fw_ct_close(&m, &closed, err) < 0)
			return isc_error_wrap(err, "allow --remove %s %s:%u/%s: the flow is closed, its live connections not",
					      src, dst, p->port, pn);
		return 0;
	}
	if (found != (size_t)-1)
		return 0; /* already open */
	if (apply_owned(gen_allow(true, &a), err) < 0)
		return isc_error_wrap(err, "allow %s %s:%u/%s", src, dst, p->port, pn);
	json_array_append_new(al, json_pack("{s:s, s:s, s:i, s:i}", "src", src, "dst", dst, "proto", p->proto, "port",
					    (int)p->port));
	if (net_json_save(root, NET_STATE, st, err) < 0) {
		cleanup_error isc_error *e2 = NULL;
		(void)apply_owned(idempotent_delete(gen_allow, &a), &e2);
		return -1;
	}
	return 0;
}

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
