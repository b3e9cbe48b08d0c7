/* SPDX-License-Identifier: GPL-2.0-or-later
 * The packet log (pktlog.h): NFLOG -> JSON lines + syslog. */
#include "net/pktlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "net/firewall.h"
#include "net/ipam.h"
#include "base/util.h"

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_set_new(o, k, json_string(v));
}

static void set_addr(json_t *o, const char *k, const void *a4)
{
	char s[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, a4, s, sizeof(s));
	json_object_set_new(o, k, json_string(s));
}

/* The bridge rules log frames as the container sent them, before the
 * kernel checked the IPv4 header: a header that is not one is named, not
 * guessed at. */
static void record_ipv4(json_t *o, const uint8_t *p, size_t len)
{
	if (len < 20 || (p[0] >> 4) != 4) {
		json_object_set_new(o, "malformed", json_string(len < 20 ? "short ipv4 header" : "not ipv4"));
		return;
	}
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	uint8_t proto = p[9];
	set_addr(o, "src", p + 12);
	set_addr(o, "dst", p + 16);
	if (ihl < 20 || ihl > len) {
		json_object_set_new(o, "proto", json_integer(proto));
		json_object_set_new(o, "malformed", json_string("ipv4 header length"));
		return;
	}
	bool first_fragment = ((p[6] & 0x1f) | p[7]) == 0;
	const uint8_t *l4 = p + ihl;
	size_t l4len = len - ihl;
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		json_object_set_new(o, "proto", json_string(proto == IPPROTO_TCP ? "tcp" : "udp"));
		if (first_fragment && l4len >= 4) {
			json_object_set_new(o, "sport", json_integer((l4[0] << 8) | l4[1]));
			json_object_set_new(o, "dport", json_integer((l4[2] << 8) | l4[3]));
		}
		break;
	case IPPROTO_ICMP:
		json_object_set_new(o, "proto", json_string("icmp"));
		if (first_fragment && l4len >= 2) {
			json_object_set_new(o, "icmp_type", json_integer(l4[0]));
			json_object_set_new(o, "icmp_code", json_integer(l4[1]));
		}
		break;
	default:
		json_object_set_new(o, "proto", json_integer(proto));
	}
}

static void record_arp(json_t *o, const uint8_t *p, size_t len)
{
	json_object_set_new(o, "proto", json_string("arp"));
	/* Ethernet/IPv4 ARP: htype 1, ptype 0x0800, hlen 6, plen 4 */
	if (len < 28 || p[4] != 6 || p[5] != 4)
		return;
	json_object_set_new(o, "arp_op", json_integer((p[6] << 8) | p[7]));
	char mac[18];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", p[8], p[9], p[10], p[11], p[12], p[13]);
	json_object_set_new(o, "arp_sha", json_string(mac));
	set_addr(o, "src", p + 14);
	set_addr(o, "dst", p + 24);
}

json_t *isc_pktlog_record(const char *time, const char *prefix, const char *in, const char *out, const char *physin,
			  const char *physout, const char *container, uint16_t hw_protocol, const uint8_t *payload,
			  size_t len)
{
	json_t *o = json_object();
	set_str(o, "time", time);
	/* the prefixes end with a space, "isc-fwd-drop " */
	char pfx[64] = "";
	if (prefix != NULL) {
		snprintf(pfx, sizeof(pfx), "%s", prefix);
		size_t n = strlen(pfx);
		while (n > 0 && pfx[n - 1] == ' ')
			pfx[--n] = '\0';
	}
	set_str(o, "prefix", pfx);
	json_object_set_new(o, "verdict", json_string(strstr(pfx, "accept") ? "accept" : "drop"));
	set_str(o, "container", container);
	set_str(o, "in", in);
	set_str(o, "out", out);
	set_str(o, "physin", physin);
	set_str(o, "physout", physout);
	if (hw_protocol == ETH_P_IP)
		record_ipv4(o, payload, len);
	else if (hw_protocol == ETH_P_ARP)
		record_arp(o, payload, len);
	else if (hw_protocol == ETH_P_IPV6)
		json_object_set_new(o, "proto", json_string("ipv6"));
	else {
		char et[8];
		snprintf(et, sizeof(et), "0x%04x", hw_protocol);
		json_object_set_new(o, "ethertype", json_string(et));
	}
	return o;
}

/* ---- the reader ------------------------------------------------------------ */

struct reader {
	const char *root;
	char *net_dir;
	int out_fd;
	const char *path;
	struct isc_ipam_entry *ports; /* vcN -> name */
	size_t n_ports;
	uint64_t ports_loaded_ns;
	uint64_t window_start_ns;
	unsigned window_lines;
	uint64_t suppressed;
	uint64_t lost;
};

static void reader_reload_ports(struct reader *r)
{
	uint64_t now = isc_now_ns();
	if (r->ports != NULL && now - r->ports_loaded_ns < 1000000000ull)
		return;
	cleanup_error isc_error *err = NULL;
	struct isc_ipam_entry *e = NULL;
	size_t n = 0;
	if (isc_ipam_list(r->net_dir, &e, &n, &err) < 0)
		return; /* keep the old map */
	isc_ipam_entries_free(r->ports, r->n_ports);
	r->ports = e;
	r->n_ports = n;
	r->ports_loaded_ns = now;
}

static const char *reader_container(struct reader *r, const char *ifname)
{
	if (ifname == NULL || strncmp(ifname, "vc", 2) != 0)
		return NULL;
	uint64_t id;
	if (isc_parse_u64(ifname + 2, &id) < 0)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->n_ports; i++)
			if (r->ports[i].id == id)
				return r->ports[i].name;
		if (pass == 0)
			reader_reload_ports(r); /* a new container since the last load */
	}
	return NULL;
}

/* By address: the inet hooks see container traffic as routed traffic of
 * the bridge (no physin), and the anti-spoofing rules guarantee the source
 * address of a container's packet. */
static const char *reader_container_by_addr(struct reader *r, const char *addr)
{
	struct in_addr a;
	if (addr == NULL || inet_pton(AF_INET, addr, &a) != 1)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->n_ports; i++)
			if (r->ports[i].addr.s_addr == a.s_addr)
				return r->ports[i].name;
		if (pass == 0)
			reader_reload_ports(r);
	}
	return NULL;
}

static void reader_write(struct reader *r, json_t *o)
{
	cleanup_free char *line = json_dumps(o, JSON_COMPACT);
	if (line == NULL)
		return;
	/* no openlog(): the ident and facility are the hosting program's (iscd) */
	syslog(LOG_NOTICE, "packet %s", line);
	size_t n = strlen(line);
	line[n] = '\n';
	/* one write of a whole line with O_APPEND: lines never interleave */
	if (write(r->out_fd, line, n + 1) < 0)
		syslog(LOG_ERR, "packet log: write: %m");
	line[n] = '\0';
	/* one old generation: the log never grows without bound */
	struct stat st;
	if (fstat(r->out_fd, &st) == 0 && st.st_size >= ISC_PKTLOG_MAX_SIZE) {
		cleanup_free char *old = isc_xasprintf("%s.1", r->path);
		int fd = -1;
		if (rename(r->path, old) == 0)
			fd = open(r->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			close(r->out_fd);
			r->out_fd = fd;
		}
	}
}

static void reader_event(struct reader *r, const char *event, uint64_t count, const char *reason)
{
	char t[ISC_RFC3339_LEN];
	isc_rfc3339_format(t);
	json_t *o = json_pack("{s:s, s:s, s:I}", "time", t, "event", event, "count", (json_int_t)count);
	if (reason != NULL)
		json_object_set_new(o, "reason", json_string(reason));
	reader_write(r, o);
	json_decref(o);
}

/* the per-second cap; the count of suppressed lines goes out when a new
 * window starts (or at the end) */
static bool reader_admit(struct reader *r)
{
	uint64_t now = isc_now_ns();
	if (now - r->window_start_ns >= 1000000000ull) {
		if (r->suppressed > 0)
			reader_event(r, "suppressed", r->suppressed, NULL);
		r->suppressed = 0;
		r->window_start_ns = now;
		r->window_lines = 0;
	}
	if (r->window_lines >= ISC_PKTLOG_MAX_PER_SEC) {
		r->suppressed++;
		return false;
	}
	r->window_lines++;
	return true;
}

static const char *dev_name(uint32_t index, char buf[IF_NAMESIZE])
{
	if (index == 0 || if_indextoname(index, buf) == NULL)
		return NULL;
	return buf;
}

static int on_packet(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg, struct nflog_data *nfa, void *data)
{
	struct reader *r = data;
	if (!reader_admit(r))
		return 0;
	char in[IF_NAMESIZE], out[IF_NAMESIZE], pin[IF_NAMESIZE], pout[IF_NAMESIZE];
	const char *i = dev_name(nflog_get_indev(nfa), in);
	const char *o = dev_name(nflog_get_outdev(nfa), out);
	const char *pi = dev_name(nflog_get_physindev(nfa), pin);
	const char *po = dev_name(nflog_get_physoutdev(nfa), pout);
	const char *container = reader_container(r, pi ? pi : i);
	if (container == NULL)
		container = reader_container(r, po ? po : o);
	struct nfulnl_msg_packet_hdr *ph = nflog_get_msg_packet_hdr(nfa);
	uint16_t hw = ph ? ntohs(ph->hw_protocol) : 0;
	char *payload = NULL;
	int len = nflog_get_payload(nfa, &payload);
	char t[ISC_RFC3339_LEN];
	isc_rfc3339_format(t);
	json_t *rec = isc_pktlog_record(t, nflog_get_prefix(nfa), i, o, pi, po, container, hw, (const uint8_t *)payload,
					len > 0 ? (size_t)len : 0);
	if (container == NULL) {
		container = reader_container_by_addr(r, json_string_value(json_object_get(rec, "src")));
		if (container == NULL)
			container = reader_container_by_addr(r, json_string_value(json_object_get(rec, "dst")));
		if (container != NULL)
			json_object_set_new(rec, "container", json_string(container));
	}
	struct nfulnl_msg_packet_hw *mac = nflog_get_packet_hw(nfa);
	if (mac != NULL && ntohs(mac->hw_addrlen) == 6) {
		char m[18];
		const uint8_t *a = mac->hw_addr;
		snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
		json_object_set_new(rec, "mac", json_string(m));
	}
	reader_write(r, rec);
	json_decref(rec);
	return 0;
}

static void reader_close(struct reader *r)
{
	isc_closep(&r->out_fd);
	isc_ipam_entries_free(r->ports, r->n_ports);
	r->ports = NULL;
}

static void nflog_closep(struct nflog_handle **h)
{
	if (*h != NULL)
		nflog_close(*h);
}

int isc_pktlog_run(const char *root, volatile sig_atomic_t *stop, isc_error **err)
{
	return isc_pktlog_run_with(root, 0, stop, err);
}

int isc_pktlog_run_with(const char *root, int rcvbuf, volatile sig_atomic_t *stop, isc_error **err)
{
	__attribute__((cleanup(reader_close))) struct reader r = { .root = root, .out_fd = -1 };
	cleanup_free char *net_dir = isc_xasprintf("%s/net", root);
	cleanup_free char *log_dir = isc_xasprintf("%s/log", root);
	cleanup_free char *path = isc_xasprintf("%s/" ISC_PKTLOG_FILE, root);
	r.net_dir = net_dir;
	if (isc_mkdir_p(log_dir, 0700, err) < 0)
		return isc_error_wrap(err, "packet log");
	cleanup_close int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return isc_error_set(err, errno, "packet log: open %s", path);
	r.out_fd = steal_fd(&fd);
	r.path = path;

	/* nfnetlink_log is per netns: this socket serves the caller's namespace */
	__attribute__((cleanup(nflog_closep))) struct nflog_handle *h = nflog_open();
	if (h == NULL)
		return isc_error_set(err, errno, "packet log: nflog_open");
	/* a no-op on current kernels, needed by old ones */
	nflog_bind_pf(h, AF_INET);
	nflog_bind_pf(h, AF_BRIDGE);
	struct nflog_g_handle *gh = nflog_bind_group(h, ISC_FW_LOG_GROUP);
	if (gh == NULL)
		return isc_error_set(err, errno, "packet log: bind NFLOG group %d (another reader?)", ISC_FW_LOG_GROUP);
	/* headers are enough: L3 + L4 ports */
	if (nflog_set_mode(gh, NFULNL_COPY_PACKET, 128) < 0)
		return isc_error_set(err, errno, "packet log: nflog_set_mode");
	nflog_set_timeout(gh, 10); /* flush the kernel's batch after 100 ms */
	nflog_callback_register(gh, on_packet, &r);
	int nfd = nflog_fd(h);
	int big = rcvbuf > 0 ? rcvbuf : ISC_PKTLOG_RCVBUF;
	/* SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by rmem_max */
	if (setsockopt(nfd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(nfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	r.window_start_ns = isc_now_ns();

	char buf[65536] __attribute__((aligned));
	int ret = 0;
	while (!*stop) {
		struct pollfd p = { .fd = nfd, .events = POLLIN };
		int n = poll(&p, 1, 200);
		if (n < 0 && errno != EINTR) {
			ret = isc_error_set(err, errno, "packet log: poll");
			break;
		}
		if (n <= 0) {
			reader_admit(&r); /* flush the suppressed count of an old window */
			continue;
		}
		ssize_t len = recv(nfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0) {
			if (errno == ENOBUFS) {
				/* the kernel dropped messages: say so, never hide it */
				r.lost++;
				reader_event(&r, "lost", 1, "socket overrun");
				continue;
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ret = isc_error_set(err, errno, "packet log: recv");
			break;
		}
		nflog_handle_packet(h, buf, (int)len);
	}
	if (r.suppressed > 0)
		reader_event(&r, "suppressed", r.suppressed, NULL);
	nflog_unbind_group(gh);
	return ret;
}
