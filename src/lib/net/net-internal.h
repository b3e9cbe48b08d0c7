/* SPDX-License-Identifier: GPL-2.0-or-later
 * The private network, internal: the state under R/net (paths, the lock,
 * the JSON files) and the helpers that net.c (the host side: bridge,
 * rules, commit-confirmed, policies) and net-container.c (the links,
 * files, exposed ports and allowed flows of each container) share.  Static
 * inline: each file keeps them its own. */
#ifndef ISC_NET_INTERNAL_H
#define ISC_NET_INTERNAL_H

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "net/firewall.h"

#define NET_STATE "state.json"
#define NET_POLICY "policy.json"
#define NET_LOCK "net.lock"
#define NET_ROLLBACK "rollback.nft"
#define NET_PENDING "confirm.pending"
#define NET_EXPIRED "confirm.expired"

/* ---- state ------------------------------------------------------------- */

static inline char *net_path(const char *root, const char *rel)
{
	return isc_xasprintf("%s/net%s%s", root, rel ? "/" : "", rel ? rel : "");
}

/* An exclusive lock of R/net for one operation; the fd, or -1. */
static inline int net_lock(const char *root, isc_error **err)
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

static inline int net_json_load(const char *root, const char *name, json_t **out, isc_error **err)
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

static inline int net_json_save(const char *root, const char *name, json_t *j, isc_error **err)
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

static inline void jdecref(json_t **j)
{
	if (*j != NULL)
		json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(jdecref)))

/* state.json arrays, created on demand */
static inline json_t *state_array(json_t *st, const char *key)
{
	json_t *a = json_object_get(st, key);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(st, key, a);
	}
	return a;
}

static inline unsigned policy_flags(json_t *pol)
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

static inline int apply_owned(char *cmds, isc_error **err)
{
	int r = isc_fw_apply(cmds, err);
	free(cmds);
	return r;
}

/* ---- sysctls --------------------------------------------------------------- */

/* /proc/sys/net/... resolves in the network namespace of the thread that
 * opens it: the caller's. */
static inline int sysctl_here(const char *key, const char *value, isc_error **err)
{
	cleanup_free char *p = isc_xasprintf("/proc/sys/%s", key);
	if (isc_write_file(p, value, strlen(value), err) < 0)
		return isc_error_wrap(err, "sysctl %s=%s", key, value);
	return 0;
}

/* ---- a container's files ------------------------------------------------------- */

static inline char *container_ns_path(const char *root, const char *name)
{
	return isc_xasprintf("%s/net/ns/%s", root, name);
}

static inline void remove_container_files(const char *root, const char *name)
{
	cleanup_free char *dir = isc_xasprintf("%s/net/c/%s", root, name);
	cleanup_free char *r = isc_xasprintf("%s/resolv.conf", dir);
	cleanup_free char *h = isc_xasprintf("%s/hosts", dir);
	unlink(r);
	unlink(h);
	rmdir(dir);
}

#endif
