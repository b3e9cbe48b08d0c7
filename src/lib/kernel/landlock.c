/* SPDX-License-Identifier: GPL-2.0-or-later
 * org.isc.landlock (landlock.h).  Debian 12's <linux/landlock.h> stops at
 * ABI 2/3; the later fields and flags are defined here, and the ruleset
 * attribute is sized by the running kernel's ABI. */
#include "kernel/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define ISC_LL_ACCESS_NET_BIND_TCP (1ULL << 0)
#define ISC_LL_RULE_NET_PORT 2
#define ISC_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define ISC_LL_SCOPE_SIGNAL (1ULL << 1)

/* the full attribute (ABI 6); older kernels get a prefix of it */
struct isc_ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

struct isc_ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

int isc_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return v < 0 ? 0 : (int)v;
}

void isc_landlock_clear(struct isc_landlock *ll)
{
	for (size_t i = 0; i < ll->n_rw; i++)
		free(ll->rw[i]);
	memset(ll, 0, sizeof(*ll));
}

static int parse_paths(const char *list, struct isc_landlock *ll, isc_error **err)
{
	cleanup_free char *copy = isc_xstrdup(list);
	char *save = NULL;
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (p[0] != '/')
			return isc_error_set(err, EINVAL, "annotation %s: rw path \"%s\" is not absolute",
					     ISC_LANDLOCK_ANNOTATION, p);
		if (ll->n_rw >= ISC_LANDLOCK_MAX)
			return isc_error_set(err, E2BIG, "annotation %s: more than %u rw paths",
					     ISC_LANDLOCK_ANNOTATION, ISC_LANDLOCK_MAX);
		ll->rw[ll->n_rw++] = isc_xstrdup(p);
	}
	return 0;
}

static int parse_ports(const char *list, struct isc_landlock *ll, isc_error **err)
{
	cleanup_free char *copy = isc_xstrdup(list);
	char *save = NULL;
	ll->restrict_bind = true;
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		uint64_t port;
		if (isc_parse_u64(p, &port) < 0 || port == 0 || port > 65535)
			return isc_error_set(err, EINVAL, "annotation %s: bind port \"%s\" is not 1..65535",
					     ISC_LANDLOCK_ANNOTATION, p);
		if (ll->n_bind >= ISC_LANDLOCK_MAX)
			return isc_error_set(err, E2BIG, "annotation %s: more than %u bind ports",
					     ISC_LANDLOCK_ANNOTATION, ISC_LANDLOCK_MAX);
		ll->bind[ll->n_bind++] = (uint16_t)port;
	}
	return 0;
}

int isc_landlock_parse(const char *value, struct isc_landlock *ll, isc_error **err)
{
	memset(ll, 0, sizeof(*ll));
	cleanup_free char *copy = isc_xstrdup(value);
	char *save = NULL;
	bool seen_rw = false;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		int r;
		if (strncmp(item, "rw=", 3) == 0 && !seen_rw) {
			seen_rw = true;
			r = parse_paths(item + 3, ll, err);
		} else if (strncmp(item, "bind=", 5) == 0 && !ll->restrict_bind) {
			r = parse_ports(item + 5, ll, err);
		} else {
			r = isc_error_set(err, EINVAL,
					  "annotation %s: unknown or repeated item \"%s\" (rw=PATHS, bind=PORTS)",
					  ISC_LANDLOCK_ANNOTATION, item);
		}
		if (r < 0) {
			isc_landlock_clear(ll);
			return -1;
		}
	}
	return 0;
}

static uint64_t fs_write_access(int abi)
{
	uint64_t a = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		     LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
		     LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		     LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		a |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		a |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return a;
}

static int extra_fds[4] = { -1, -1, -1, -1 };

void isc_landlock_allow_fd_write(int fd)
{
	for (size_t i = 0; i < ARRAY_SIZE(extra_fds); i++) {
		if (extra_fds[i] < 0) {
			extra_fds[i] = fd;
			return;
		}
	}
}

int isc_landlock_apply(const struct isc_landlock *ll, isc_error **err)
{
	int abi = isc_landlock_abi();
	if (abi < 1)
		return isc_error_set(err, EOPNOTSUPP, "annotation %s: this kernel has no Landlock",
				     ISC_LANDLOCK_ANNOTATION);
	if (ll->restrict_bind && abi < 4)
		return isc_error_set(err, EOPNOTSUPP, "annotation %s: bind= needs Landlock ABI 4 (the kernel has %d)",
				     ISC_LANDLOCK_ANNOTATION, abi);

	struct isc_ll_ruleset_attr attr = { .handled_access_fs = fs_write_access(abi) };
	size_t size = offsetof(struct isc_ll_ruleset_attr, handled_access_net);
	if (abi >= 4) {
		size = offsetof(struct isc_ll_ruleset_attr, scoped);
		if (ll->restrict_bind)
			attr.handled_access_net = ISC_LL_ACCESS_NET_BIND_TCP;
	}
	if (abi >= 6) {
		size = sizeof(attr);
		attr.scoped = ISC_LL_SCOPE_ABSTRACT_UNIX_SOCKET | ISC_LL_SCOPE_SIGNAL;
	}
	cleanup_close int rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rfd < 0)
		return isc_error_set(err, errno, "annotation %s: landlock_create_ruleset", ISC_LANDLOCK_ANNOTATION);

	for (size_t i = 0; i < ll->n_rw; i++) {
		cleanup_close int fd = open(ll->rw[i], O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* nothing there to write to */
			return isc_error_set(err, errno, "annotation %s: rw path %s", ISC_LANDLOCK_ANNOTATION,
					     ll->rw[i]);
		}
		struct landlock_path_beneath_attr pb = { .allowed_access = attr.handled_access_fs, .parent_fd = fd };
		if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
			/* a regular file (e.g. /dev/null) takes only file rights */
			pb.allowed_access &= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
			if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
				return isc_error_set(err, errno, "annotation %s: rule for %s", ISC_LANDLOCK_ANNOTATION,
						     ll->rw[i]);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(extra_fds) && extra_fds[i] >= 0; i++) {
		struct landlock_path_beneath_attr pb = { .allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE,
							 .parent_fd = extra_fds[i] };
		if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			return isc_error_set(err, errno, "annotation %s: rule for fd %d", ISC_LANDLOCK_ANNOTATION,
					     extra_fds[i]);
	}
	for (size_t i = 0; i < ll->n_bind; i++) {
		struct isc_ll_net_port_attr np = { .allowed_access = ISC_LL_ACCESS_NET_BIND_TCP, .port = ll->bind[i] };
		if (syscall(SYS_landlock_add_rule, rfd, ISC_LL_RULE_NET_PORT, &np, 0) < 0)
			return isc_error_set(err, errno, "annotation %s: rule for bind port %u",
					     ISC_LANDLOCK_ANNOTATION, ll->bind[i]);
	}
	/* From here on this process and everything it starts stays in the
	 * domain; it needs no_new_privs (checked by the caller at create). */
	if (syscall(SYS_landlock_restrict_self, rfd, 0) < 0)
		return isc_error_set(err, errno, "annotation %s: landlock_restrict_self", ISC_LANDLOCK_ANNOTATION);
	return 0;
}
