/* SPDX-License-Identifier: GPL-2.0-or-later
 * NETLINK_AUDIT without libaudit: status, rules, records
 * (shared/kernel-notes.md section 3). */
#include "auditd.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit/audit-id.h"
#include "base/util.h"

int isc_kaudit_open(bool multicast, isc_error **err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (fd < 0)
		return isc_error_set(err, errno, "socket NETLINK_AUDIT");
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (multicast)
		sa.nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return isc_error_set(err, e,
				     multicast ? "bind NETLINK_AUDIT multicast group readlog" : "bind NETLINK_AUDIT");
	}
	return fd;
}

static uint32_t seq_counter = 1;

static int send_msg(int fd, uint16_t type, const void *data, size_t len, uint32_t *seq)
{
	char buf[NLMSG_SPACE(sizeof(struct audit_rule_data) + 64)] __attribute__((aligned(4)));
	if (NLMSG_SPACE(len) > sizeof(buf))
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = *seq = seq_counter++;
	if (len > 0)
		memcpy(NLMSG_DATA(h), data, len);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (sendto(fd, buf, h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* Wait for the ACK (or the reply of `want`, copied into out) to `seq`.
 * Returns 0 or -errno from the kernel. */
static int wait_reply(int fd, uint32_t seq, uint16_t want, void *out, size_t outlen, bool *got)
{
	char buf[8192] __attribute__((aligned(4)));
	for (int i = 0; i < 64; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, 2000);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return -errno;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				if (want && got && !*got && e->error == 0)
					continue; /* the ACK may come before the reply */
				return e->error;
			}
			if (h->nlmsg_type == want && out) {
				size_t l = h->nlmsg_len - NLMSG_HDRLEN;
				memcpy(out, NLMSG_DATA(h), l < outlen ? l : outlen);
				*got = true;
				if (want != AUDIT_LIST_RULES)
					return 0;
			}
		}
	}
	return -EPROTO;
}

int isc_kaudit_get(int fd, struct audit_status *st, isc_error **err)
{
	uint32_t seq;
	int r = send_msg(fd, AUDIT_GET, NULL, 0, &seq);
	if (r < 0)
		return isc_error_set(err, -r, "audit: send AUDIT_GET");
	bool got = false;
	memset(st, 0, sizeof(*st));
	r = wait_reply(fd, seq, AUDIT_GET, st, sizeof(*st), &got);
	if (r < 0 || !got)
		return isc_error_set(err, r < 0 ? -r : EPROTO, "audit: AUDIT_GET");
	return 0;
}

int isc_kaudit_set(int fd, const struct audit_status *st, isc_error **err)
{
	uint32_t seq;
	int r = send_msg(fd, AUDIT_SET, st, sizeof(*st), &seq);
	if (r == 0)
		r = wait_reply(fd, seq, 0, NULL, 0, NULL);
	/* resetting the lost counter acks with -old_value: not an error */
	if (r < 0 && (st->mask & (AUDIT_STATUS_LOST | AUDIT_STATUS_BACKLOG_WAIT_TIME_ACTUAL)))
		r = 0;
	if (r < 0)
		return isc_error_set(err, -r, "audit: AUDIT_SET mask 0x%x", st->mask);
	return 0;
}

/* struct audit_rule_data ends in a flexible array (the key's bytes): the
 * rule and its key in one aligned buffer */
struct rule_buf {
	_Alignas(struct audit_rule_data) unsigned char bytes[sizeof(struct audit_rule_data) + sizeof(ISC_AUDITD_KEY)];
};

static struct audit_rule_data *rule_of(struct rule_buf *b)
{
	return (struct audit_rule_data *)(void *)b->bytes;
}

static void make_rule(struct rule_buf *b, bool i386)
{
	memset(b, 0, sizeof(*b));
	struct audit_rule_data *r = rule_of(b);
	r->flags = AUDIT_FILTER_EXIT;
	r->action = AUDIT_ALWAYS;
	int nrs[2] = { i386 ? 11 : 59, i386 ? 358 : 322 };
	for (int i = 0; i < 2; i++)
		r->mask[nrs[i] / 32] |= 1u << (nrs[i] % 32);
	unsigned f = 0;
	r->fields[f] = AUDIT_ARCH;
	r->fieldflags[f] = AUDIT_EQUAL;
	r->values[f++] = i386 ? 0x40000003u : AUDIT_ARCH_X86_64;
	r->fields[f] = AUDIT_LOGINUID;
	r->fieldflags[f] = AUDIT_GREATER_THAN_OR_EQUAL;
	r->values[f++] = ISC_AUDIT_ID_MIN;
	r->fields[f] = AUDIT_LOGINUID;
	r->fieldflags[f] = AUDIT_LESS_THAN_OR_EQUAL;
	r->values[f++] = ISC_AUDIT_ID_MAX;
	r->fields[f] = AUDIT_FILTERKEY;
	r->fieldflags[f] = AUDIT_EQUAL;
	r->values[f++] = sizeof(ISC_AUDITD_KEY) - 1;
	r->field_count = f;
	r->buflen = sizeof(ISC_AUDITD_KEY) - 1;
	memcpy(r->buf, ISC_AUDITD_KEY, sizeof(ISC_AUDITD_KEY) - 1);
}

int isc_kaudit_rules(int fd, bool add, isc_error **err)
{
	for (int i = 0; i < 2; i++) {
		struct rule_buf b;
		make_rule(&b, i == 1);
		uint32_t seq;
		size_t len = sizeof(struct audit_rule_data) + rule_of(&b)->buflen;
		int r = send_msg(fd, add ? AUDIT_ADD_RULE : AUDIT_DEL_RULE, &b, len, &seq);
		if (r == 0)
			r = wait_reply(fd, seq, 0, NULL, 0, NULL);
		if (r == -EEXIST && add)
			r = 0;
		if (r == -ENOENT && !add)
			r = 0;
		if (r < 0)
			return isc_error_set(err, -r, "audit: %s the %s exec rule", add ? "add" : "delete",
					     i ? "i386" : "x86_64");
	}
	return 0;
}

int isc_kaudit_count_rules(int fd, unsigned *n, isc_error **err)
{
	uint32_t seq;
	int r = send_msg(fd, AUDIT_LIST_RULES, NULL, 0, &seq);
	if (r < 0)
		return isc_error_set(err, -r, "audit: AUDIT_LIST_RULES");
	char buf[65536] __attribute__((aligned(4)));
	unsigned count = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 2000) <= 0)
			return isc_error_set(err, ETIMEDOUT, "audit: AUDIT_LIST_RULES");
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0)
			return isc_error_set(err, errno, "audit: AUDIT_LIST_RULES");
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				*n = count;
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error == 0)
					continue;
				return isc_error_set(err, -e->error, "audit: AUDIT_LIST_RULES");
			}
			if (h->nlmsg_type != AUDIT_LIST_RULES)
				continue;
			struct audit_rule_data *rd = NLMSG_DATA(h);
			size_t avail = h->nlmsg_len - NLMSG_HDRLEN;
			if (avail < sizeof(*rd) || avail < sizeof(*rd) + rd->buflen)
				continue;
			for (unsigned i = 0, off = 0; i < rd->field_count && i < AUDIT_MAX_FIELDS; i++) {
				if (rd->fields[i] == AUDIT_FILTERKEY) {
					if (rd->values[i] == sizeof(ISC_AUDITD_KEY) - 1 &&
					    off + rd->values[i] <= rd->buflen &&
					    memcmp(rd->buf + off, ISC_AUDITD_KEY, rd->values[i]) == 0)
						count++;
				}
				if (rd->fields[i] == AUDIT_FILTERKEY || rd->fields[i] == AUDIT_WATCH ||
				    rd->fields[i] == AUDIT_DIR || rd->fields[i] == AUDIT_EXE ||
				    (rd->fields[i] >= AUDIT_SUBJ_USER && rd->fields[i] <= AUDIT_OBJ_LEV_HIGH))
					off += rd->values[i];
			}
		}
	}
}

ssize_t isc_kaudit_recv(int fd, char *buf, size_t size, int *type, char **text)
{
	ssize_t n = recv(fd, buf, size - 1, 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < NLMSG_HDRLEN)
		return 0;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	/* Kernel quirk: in kernel->daemon records nlmsg_len is the payload
	 * length (no header); take the smaller of it and what arrived. */
	size_t avail = (size_t)n - NLMSG_HDRLEN;
	size_t len = h->nlmsg_len < avail ? h->nlmsg_len : avail;
	char *t = buf + NLMSG_HDRLEN;
	while (len > 0 && (t[len - 1] == 0 || t[len - 1] == '\n'))
		len--;
	t[len] = 0;
	*type = h->nlmsg_type;
	*text = t;
	return (ssize_t)len;
}
