/* SPDX-License-Identifier: GPL-2.0-or-later
 * rtnetlink with libmnl: one request and its ACK per operation (a lookup of
 * an interface index is one more), and network namespaces bound to files.
 *
 * Every request carries NLM_F_ACK; the error of an operation is the errno of
 * the kernel's ACK (with its extended-ACK text when the kernel gives one),
 * reported with the link's name. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/neighbour.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "net/netlink.h"
#include "base/sync.h"
#include "base/util.h"

/* Replies to RTM_GETLINK carry statistics and every attribute of the link:
 * a few KiB; the buffer holds several. */
#define NL_BUF_SIZE (32 * 1024)
/* A request: a header and a few attributes. */
#define NL_REQ_SIZE 1024

struct isc_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
};

/* ---- handles ---------------------------------------------------------- */

static int nl_open_here(isc_nl **out, isc_error **err)
{
	struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (sock == NULL)
		return isc_error_set(err, errno, "rtnetlink: socket");
	int one = 1;
	/* Extended ACKs: the kernel says which attribute it refused.  Best
	 * effort (old kernels lack it); NETLINK_CAP_ACK keeps ACKs small. */
	(void)mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(sock);
		return isc_error_set(err, e, "rtnetlink: bind");
	}
	isc_nl *nl = isc_xmalloc0(sizeof(*nl));
	nl->sock = sock;
	nl->portid = mnl_socket_get_portid(sock);
	nl->seq = (unsigned int)isc_now_ns();
	*out = nl;
	return 0;
}

int isc_nl_open(isc_nl **nl, isc_error **err)
{
	return nl_open_here(nl, err);
}

/* Run fn on this thread inside the network namespace netns_fd (-1: where
 * it is), then bring the thread back.  What fn makes meanwhile stays bound
 * to that namespace: the kernel binds a netlink socket at socket(), and a
 * sysfs superblock at its creation.  Needs CAP_SYS_ADMIN (setns); the
 * thread returns to its namespace before anything else runs in it. */
static int in_netns(int netns_fd, int (*fn)(void *arg, isc_error **err), void *arg, isc_error **err)
{
	if (netns_fd < 0)
		return fn(arg, err);
	cleanup_close int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return isc_error_set(err, errno, "open /proc/thread-self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return isc_error_set(err, errno, "setns into the network namespace (fd %d)", netns_fd);
	int r = fn(arg, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Running on in the wrong network namespace could configure the
		 * wrong host: this must never continue. */
		abort();
	}
	return r;
}

static int nl_open_fn(void *arg, isc_error **err)
{
	return nl_open_here(arg, err);
}

int isc_nl_open_in(int netns_fd, isc_nl **nl, isc_error **err)
{
	return in_netns(netns_fd, nl_open_fn, nl, err);
}

void isc_nl_close(isc_nl **nl)
{
	if (*nl == NULL)
		return;
	mnl_socket_close((*nl)->sock);
	free(*nl);
	*nl = NULL;
}

/* ---- one request, one ACK --------------------------------------------- */

struct nl_reply {
	int (*cb)(const struct nlmsghdr *nlh, void *data); /* for non-ACK messages, may be NULL */
	void *data;
	char ext_msg[256]; /* the kernel's extended ACK text, if any */
};

static void nl_parse_extack(const struct nlmsghdr *nlh, struct nl_reply *rep)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_get_payload_len(nlh) <= off)
		return;
	const struct nlattr *attr;
	mnl_attr_for_each_payload((const void *)((const char *)e + off), mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(rep->ext_msg, sizeof(rep->ext_msg), "%s", mnl_attr_get_str(attr));
			return;
		}
	}
}

/* Send nlh and read until its ACK.  Returns 0, or -errno of the ACK (or of
 * the socket).  A callback's failure (negative) is returned as is, after the
 * ACK is read. */
static int nl_transact(isc_nl *nl, struct nlmsghdr *nlh, struct nl_reply *rep)
{
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	rep->ext_msg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	cleanup_free char *buf = isc_xmalloc0(NL_BUF_SIZE);
	int cb_result = 0;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, NL_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		int len = (int)n;
		for (const struct nlmsghdr *m = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_seq != nl->seq || m->nlmsg_pid != nl->portid)
				continue; /* not ours (a stale reply) */
			if (m->nlmsg_type == NLMSG_ERROR) {
				if (mnl_nlmsg_get_payload_len(m) < sizeof(struct nlmsgerr))
					return -EBADMSG;
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
				if (e->error < 0) {
					nl_parse_extack(m, rep);
					return e->error;
				}
				return cb_result; /* the ACK */
			}
			if (m->nlmsg_type == NLMSG_DONE)
				return cb_result;
			if (rep->cb && cb_result == 0)
				cb_result = rep->cb(m, rep->data);
		}
	}
}

/* Raise the error of a failed transaction: "what: extended text" + errno. */
static int nl_fail(isc_error **err, int r, const struct nl_reply *rep, const char *what)
{
	if (rep->ext_msg[0])
		return isc_error_set(err, -r, "%s (%s)", what, rep->ext_msg);
	return isc_error_set(err, -r, "%s", what);
}

static struct nlmsghdr *nl_link_msg(char *buf, uint16_t type, uint16_t flags, int family, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = (unsigned char)family;
	ifi->ifi_index = index;
	return nlh;
}

static int check_name(const char *name, isc_error **err)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' '))
		return isc_error_set(err, EINVAL, "\"%s\" is not a network interface name (1..%d characters)",
				     name ? name : "", IFNAMSIZ - 1);
	return 0;
}

/* ---- links -------------------------------------------------------------- */

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return -EBADMSG;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	*(int *)data = ifi->ifi_index;
	return 0;
}

int isc_nl_link_index(isc_nl *nl, const char *name, int *index, isc_error **err)
{
	if (check_name(name, err) < 0)
		return -1;
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_GETLINK, 0, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* Only the header and the name matter: skip the statistics. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	int idx = 0;
	struct nl_reply rep = { .cb = link_index_cb, .data = &idx };
	int r = nl_transact(nl, nlh, &rep);
	if (r < 0) {
		cleanup_free char *what = isc_xasprintf("link %s", name);
		return nl_fail(err, r, &rep, what);
	}
	if (idx <= 0)
		return isc_error_set(err, ENODEV, "link %s: no index in the kernel's reply", name);
	*index = idx;
	return 0;
}

int isc_nl_veth_add(isc_nl *nl, const char *name, const char *peer, int peer_netns_fd, isc_error **err)
{
	if (check_name(name, err) < 0 || check_name(peer, err) < 0)
		return -1;
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peerinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of its own. */
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peerinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	struct nl_reply rep = { 0 };
	int r = nl_transact(nl, nlh, &rep);
	if (r < 0) {
		cleanup_free char *what = isc_xasprintf("create veth %s (peer %s%s)", name, peer,
							peer_netns_fd >= 0 ? " in another network namespace" : "");
		return nl_fail(err, r, &rep, what);
	}
	return 0;
}

int isc_nl_bridge_add(isc_nl *nl, const char *name, isc_error **err)
{
	if (check_name(name, err) < 0)
		return -1;
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, linkinfo);
	struct nl_reply rep = { 0 };
	int r = nl_transact(nl, nlh, &rep);
	if (r < 0) {
		cleanup_free char *what = isc_xasprintf("create bridge %s", name);
		return nl_fail(err, r, &rep, what);
	}
	return 0;
}

/* A request that names the link by IFLA_IFNAME and carries nothing else but
 * what `fill` adds. */
static int link_by_name(isc_nl *nl, const char *name, uint16_t type, unsigned int flags, unsigned int change,
			const char *what, void (*fill)(struct nlmsghdr *, const void *), const void *arg,
			isc_error **err)
{
	if (check_name(name, err) < 0)
		return -1;
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = nl_link_msg(buf, type, 0, AF_UNSPEC, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (fill)
		fill(nlh, arg);
	struct nl_reply rep = { 0 };
	int r = nl_transact(nl, nlh, &rep);
	if (r < 0) {
		cleanup_free char *msg = isc_xasprintf("%s %s", what, name);
		return nl_fail(err, r, &rep, msg);
	}
	return 0;
}

int isc_nl_link_del(isc_nl *nl, const char *name, isc_error **err)
{
	return link_by_name(nl, name, RTM_DELLINK, 0, 0, "delete link", NULL, NULL, err);
}

int isc_nl_link_up(isc_nl *nl, const char *name, isc_error **err)
{
	return link_by_name(nl, name, RTM_SETLINK, IFF_UP, IFF_UP, "set up link", NULL, NULL, err);
}

static void fill_master(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) * (const int *)arg);
}

int isc_nl_link_set_master(isc_nl *nl, const char *name, const char *master, isc_error **err)
{
	int mindex;
	if (isc_nl_link_index(nl, master, &mindex, err) < 0)
		return isc_error_wrap(err, "attach %s", name);
	cleanup_free char *what = isc_xasprintf("attach to %s: link", master);
	return link_by_name(nl, name, RTM_SETLINK, 0, 0, what, fill_master, &mindex, err);
}

static void fill_mac(struct nlmsghdr *nlh, const void *arg)
{
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, arg);
}

int isc_nl_link_set_mac(isc_nl *nl, const char *name, const uint8_t mac[6], isc_error **err)
{
	return link_by_name(nl, name, RTM_SETLINK, 0, 0, "set MAC address of link", fill_mac, mac, err);
}

int isc_nl_bridge_port_isolated(isc_nl *nl, const char *name, bool on, isc_error **err)
{
	int index;
	if (isc_nl_link_index(nl, name, &index, err) < 0)
		return isc_error_wrap(err, "bridge port isolation");
	/* AF_BRIDGE RTM_SETLINK goes to the bridge driver (br_setlink), which
	 * finds the port by index and reads IFLA_PROTINFO: nested attributes
	 * only when NLA_F_NESTED is set (else it is the old one-byte state). */
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = nl_link_msg(buf, RTM_SETLINK, 0, AF_BRIDGE, index);
	struct nlattr *prot = mnl_attr_nest_start(nlh, IFLA_PROTINFO | NLA_F_NESTED);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, on ? 1 : 0);
	mnl_attr_nest_end(nlh, prot);
	struct nl_reply rep = { 0 };
	int r = nl_transact(nl, nlh, &rep);
	if (r < 0) {
		cleanup_free char *what = isc_xasprintf("set bridge port %s isolated %s", name, on ? "on" : "off");
		return nl_fail(err, r, &rep, what);
	}
	return 0;
}

/* ---- addresses and routes --------------------------------------------- */

int isc_nl_addr_add(isc_nl *nl, const char *name, struct in_addr addr, int prefixlen, isc_error **err)
{
	char abuf[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &addr, abuf, sizeof(abuf));
	if (prefixlen < 0 || prefixlen > 32)
		return isc_error_set(err, EINVAL, "address %s/%d on %s: bad prefix length", abuf, prefixlen, name);
	int index;
	if (isc_nl_link_index(nl, name, &index, err) < 0)
		return isc_error_wrap(err, "add address %s/%d", abuf, prefixlen);
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)index;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr), &addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr), &addr);
	struct nl_reply rep = { 0 };
	int r = nl_transact(nl, nlh, &rep);
	if (r < 0) {
		cleanup_free char *what = isc_xasprintf("add address %s/%d to %s", abuf, prefixlen, name);
		return nl_fail(err, r, &rep, what);
	}
	return 0;
}

int isc_nl_route_add_default(isc_nl *nl, struct in_addr gw, isc_error **err)
{
	char gbuf[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &gw, gbuf, sizeof(gbuf));
	char buf[NL_REQ_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, sizeof(gw), &gw);
	struct nl_reply rep = { 0 };
	int r = nl_transact(nl, nlh, &rep);
	if (r < 0) {
		cleanup_free char *what = isc_xasprintf("add default route via %s", gbuf);
		return nl_fail(err, r, &rep, what);
	}
	return 0;
}

/* ---- network namespaces bound to files --------------------------------- */

/* Wait for a helper child; 0 when it exited 0. */
static int wait_child(pid_t pid, int *status)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	*status = st;
	return 0;
}

/* Run fn(arg) in a forked child (which may change its namespaces without
 * affecting the caller); its error comes back over a socket. */
static int run_in_child(int (*fn)(void *arg, isc_error **err), void *arg, const char *what, isc_error **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return isc_error_set(err, errno, "%s: socketpair", what);
	cleanup_close int parent_end = sv[0];
	cleanup_close int child_end = sv[1];
	pid_t pid = fork();
	if (pid < 0)
		return isc_error_set(err, errno, "%s: fork", what);
	if (pid == 0) {
		isc_error *cerr = NULL;
		/* The default dispositions: a caller's handler must not run here. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (fn(arg, &cerr) < 0) {
			isc_sync_send_error(child_end, cerr);
			_exit(1);
		}
		_exit(0);
	}
	isc_closep(&child_end);
	int st = 0;
	int r = wait_child(pid, &st);
	if (r < 0)
		return isc_error_set(err, -r, "%s: waitpid", what);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1) {
		int32_t v;
		if (isc_sync_recv(parent_end, ISC_SYNC_ERROR, &v, err) < 0)
			return isc_error_wrap(err, "%s", what);
	}
	if (WIFSIGNALED(st))
		return isc_error_set(err, EIO, "%s: helper process killed by signal %d", what, WTERMSIG(st));
	return isc_error_set(err, EIO, "%s: helper process failed (status %d)", what, st);
}

static bool is_netns_fd(int fd)
{
	struct statfs sfs;
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
		return false;
	return ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;
}

int isc_netns_open(const char *path, isc_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open network namespace %s", path);
	if (!is_netns_fd(fd))
		return isc_error_set(err, EINVAL, "%s is not a network namespace", path);
	return steal_fd(&fd);
}

struct netns_new {
	const char *path;
	const char *const *sysctls; /* NULL or {key, value, ..., NULL} */
	isc_nl **nl;		    /* NULL or where the handle goes */
	const char *self;	    /* this thread's or process's ns file in /proc */
	isc_error *err;
	int r;
};

static int write_sysctl_here(const char *key, const char *value, isc_error **err)
{
	cleanup_free char *path = isc_xasprintf("/proc/sys/%s", key);
	if (isc_write_file(path, value, strlen(value), err) < 0)
		return isc_error_wrap(err, "sysctl %s=%s", key, value);
	return 0;
}

/* The new namespace, entered by the calling thread (a helper thread or a
 * forked child, never the caller itself): lo up, the sysctls, then bound to
 * the file. */
static int netns_create_here(struct netns_new *a, isc_error **err)
{
	/* A fresh network namespace for this thread/child only: the caller's
	 * stays as it is.  The bind mount keeps the namespace alive after the
	 * thread or child exits. */
	if (unshare(CLONE_NEWNET) < 0)
		return isc_error_set(err, errno, "unshare(CLONE_NEWNET)");
	cleanup_nl isc_nl *nl = NULL;
	if (isc_nl_open(&nl, err) < 0 || isc_nl_link_up(nl, "lo", err) < 0)
		return -1;
	for (size_t i = 0; a->sysctls != NULL && a->sysctls[i] != NULL; i += 2)
		if (write_sysctl_here(a->sysctls[i], a->sysctls[i + 1], err) < 0)
			return -1;
	if (mount(a->self, a->path, NULL, MS_BIND, NULL) < 0)
		return isc_error_set(err, errno, "bind mount the namespace on %s", a->path);
	/* the socket stays bound to the new namespace after this thread leaves */
	if (a->nl != NULL)
		*a->nl = steal_pointer(&nl);
	return 0;
}

static int netns_create_child(void *arg, isc_error **err)
{
	struct netns_new a = *(struct netns_new *)arg;
	a.self = "/proc/self/ns/net";
	a.nl = NULL; /* a handle cannot leave a child */
	return netns_create_here(&a, err);
}

static void *netns_create_thread(void *arg)
{
	struct netns_new *a = arg;
	/* Only this short-lived thread changes its network namespace
	 * (unshare(CLONE_NEWNET) is per thread); it exits right after, so no
	 * other code ever runs in the new namespace on it.  Cheaper than a
	 * fork of a large process (~1 ms here). */
	a->self = "/proc/thread-self/ns/net";
	a->r = netns_create_here(a, &a->err);
	return NULL;
}

/* Starts the helper thread; false when none could be started. */
static bool netns_thread_start(struct netns_new *a, pthread_t *th)
{
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0)
		return false;
	/* small stack: the thread only makes a few syscalls */
	(void)pthread_attr_setstacksize(&attr, 64 * 1024);
	int e = pthread_create(th, &attr, netns_create_thread, a);
	pthread_attr_destroy(&attr);
	return e == 0;
}

/* Waits for it: 0, or -1 with *err set. */
static int netns_thread_join(struct netns_new *a, pthread_t th, isc_error **err)
{
	if (pthread_join(th, NULL) != 0)
		abort(); /* a joinable thread of ours: cannot fail */
	if (a->r < 0) {
		*err = a->err;
		return isc_error_wrap(err, "create network namespace");
	}
	return 0;
}

int isc_netns_create(const char *path, isc_error **err)
{
	return isc_netns_create_ex(path, NULL, NULL, NULL, NULL, err);
}

int isc_netns_create_ex(const char *path, const char *const *sysctls, isc_nl **nl,
			int (*meanwhile)(void *arg, isc_error **err), void *meanwhile_arg, isc_error **err)
{
	if (nl != NULL)
		*nl = NULL;
	for (size_t i = 0; sysctls != NULL && sysctls[i] != NULL; i += 2)
		if (sysctls[i][0] == '\0' || sysctls[i][0] == '/' || strstr(sysctls[i], "..") != NULL)
			return isc_error_set(err, EINVAL, "sysctl \"%s\": not a sysctl name", sysctls[i]);
	cleanup_close int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0 && errno == EEXIST) {
		cleanup_close int old = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct stat st;
		if (old >= 0 && is_netns_fd(old))
			return isc_error_set(err, EEXIST, "network namespace %s exists", path);
		/* An empty regular file is what a creation that was killed
		 * halfway leaves behind: take it over. */
		if (old < 0 || fstat(old, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != 0)
			return isc_error_set(err, EEXIST, "%s exists and is not a network namespace", path);
		if (unlink(path) < 0)
			return isc_error_set(err, errno, "remove the leftover %s", path);
		fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	}
	if (fd < 0)
		return isc_error_set(err, errno, "create %s", path);
	isc_closep(&fd);
	struct netns_new a = { .path = path, .sysctls = sysctls, .nl = nl };
	pthread_t th;
	int r = 0, rm = 0;
	isc_error *merr = NULL;
	if (netns_thread_start(&a, &th)) {
		if (meanwhile != NULL)
			rm = meanwhile(meanwhile_arg, &merr);
		r = netns_thread_join(&a, th, err);
	} else {
		/* no thread (resource limits): a forked helper instead */
		if (meanwhile != NULL)
			rm = meanwhile(meanwhile_arg, &merr);
		r = run_in_child(netns_create_child, &a, "create network namespace", err);
	}
	if (r == 0 && rm < 0) {
		/* the namespace is made, but the caller's work failed: undo it */
		cleanup_error isc_error *e2 = NULL;
		if (nl != NULL)
			isc_nl_close(nl);
		(void)isc_netns_remove(path, &e2);
		*err = merr;
		return -1;
	}
	isc_error_free(&merr);
	if (r < 0) {
		/* The helper failed before or at the bind mount: nothing is
		 * mounted; a failed mount() leaves no trace either. */
		(void)umount2(path, MNT_DETACH);
		(void)unlink(path);
		return isc_error_wrap(err, "%s", path);
	}
	return 0;
}

int isc_netns_remove(const char *path, isc_error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return isc_error_set(err, errno, "remove network namespace %s", path);
	/* Lazy: a process still inside keeps the namespace alive, but the name
	 * goes now. */
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
		return isc_error_set(err, errno, "unmount network namespace %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "remove %s", path);
	return 0;
}

struct sysctl_args {
	int netns_fd;
	const char *key;
	const char *value;
};

static int sysctl_child(void *arg, isc_error **err)
{
	const struct sysctl_args *a = arg;
	/* /proc/sys/net shows the namespace of the task that opens the file:
	 * enter the namespace first, then open. */
	if (a->netns_fd >= 0 && setns(a->netns_fd, CLONE_NEWNET) < 0)
		return isc_error_set(err, errno, "setns into the network namespace");
	cleanup_free char *path = isc_xasprintf("/proc/sys/%s", a->key);
	return isc_write_file(path, a->value, strlen(a->value), err);
}

int isc_netns_sysctl(int netns_fd, const char *key, const char *value, isc_error **err)
{
	if (key[0] == '\0' || key[0] == '/' || strstr(key, "..") != NULL)
		return isc_error_set(err, EINVAL, "sysctl \"%s\": not a sysctl name", key);
	struct sysctl_args a = { .netns_fd = netns_fd, .key = key, .value = value };
	cleanup_free char *what = isc_xasprintf("sysctl %s=%s", key, value);
	return run_in_child(sysctl_child, &a, what, err);
}

/* ---- receive packet steering ------------------------------------------ */

int isc_cpumask_hex(const cpu_set_t *set, char *buf, size_t len)
{
	int top = -1;
	for (int c = CPU_SETSIZE - 1; c >= 0; c--)
		if (CPU_ISSET(c, set)) {
			top = c;
			break;
		}
	size_t off = 0;
	for (int g = top < 0 ? 0 : top / 32; g >= 0; g--) {
		uint32_t word = 0;
		for (int b = 0; b < 32; b++)
			if (top >= 0 && CPU_ISSET(g * 32 + b, set))
				word |= UINT32_C(1) << b;
		bool first = off == 0;
		int n = snprintf(buf + off, len - off, first ? "%" PRIx32 : ",%08" PRIx32, word);
		if (n < 0 || (size_t)n >= len - off) {
			errno = ENOSPC;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* A detached sysfs mount of this thread's network namespace (*(int *)arg):
 * sysfs shows the links of the namespace its mounter was in when the
 * superblock was made. */
static int sysfs_open_fn(void *arg, isc_error **err)
{
	cleanup_close int fs = fsopen("sysfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return isc_error_set(err, errno, "mount sysfs of the network namespace");
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return isc_error_set(err, errno, "mount sysfs of the network namespace");
	*(int *)arg = mnt;
	return 0;
}

int isc_nl_link_rps(int netns_fd, const char *ifname, const char *mask, isc_error **err)
{
	if (ifname[0] == '\0' || strchr(ifname, '/') != NULL || strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return isc_error_set(err, EINVAL, "receive steering: \"%s\" is not a link name", ifname);
	cleanup_close int mnt = -1;
	if (in_netns(netns_fd, sysfs_open_fn, &mnt, err) < 0)
		return isc_error_wrap(err, "receive steering of %s", ifname);
	cleanup_free char *qpath = isc_xasprintf("class/net/%s/queues", ifname);
	int qfd = openat(mnt, qpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qfd < 0)
		return isc_error_set(err, errno, "receive steering of %s: open /sys/%s", ifname, qpath);
	DIR *d = fdopendir(qfd);
	if (d == NULL) {
		int e = errno;
		close(qfd);
		return isc_error_set(err, e, "receive steering of %s: read /sys/%s", ifname, qpath);
	}
	int r = 0;
	unsigned n = 0;
	for (struct dirent *de; r == 0 && (de = readdir(d)) != NULL;) {
		if (strncmp(de->d_name, "rx-", 3) != 0)
			continue;
		cleanup_free char *f = isc_xasprintf("%s/rps_cpus", de->d_name);
		r = isc_write_file_at(dirfd(d), f, mask, strlen(mask), err);
		n++;
	}
	closedir(d);
	if (r < 0)
		return isc_error_wrap(err, "receive steering of %s", ifname);
	if (n == 0)
		return isc_error_set(err, ENOENT, "receive steering of %s: no receive queue in /sys/%s", ifname, qpath);
	return 0;
}
