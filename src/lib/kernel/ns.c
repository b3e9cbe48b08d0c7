/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "kernel/ns.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* linux.sysctl into a namespace joined by path (spec.c allows the keys a
 * joined namespace holds): never the runtime's own namespace or the
 * machine's (pid 1's), or the write would change the host's.  runc checks
 * the runtime's own network namespace; this checks IPC and pid too. */
static int check_joined_sysctls(const struct isc_spec *spec, size_t i, int type, int fd, isc_error **err)
{
	const char *key = NULL;
	for (size_t k = 0; k < spec->n_sysctl && key == NULL; k++)
		if (isc_sysctl_namespace(spec->sysctl[k].key) == type)
			key = spec->sysctl[k].key;
	struct stat st;
	if (key == NULL || fstat(fd, &st) < 0)
		return 0;
	const char *name = type == CLONE_NEWNET	  ? "net"
			   : type == CLONE_NEWIPC ? "ipc"
			   : type == CLONE_NEWPID ? "pid"
						  : "uts";
	static const char *const owners[] = { "/proc/self/ns/", "/proc/1/ns/" };
	for (size_t o = 0; o < ARRAY_SIZE(owners); o++) {
		char path[64];
		struct stat host;
		snprintf(path, sizeof(path), "%s%s", owners[o], name);
		if (stat(path, &host) == 0 && host.st_dev == st.st_dev && host.st_ino == st.st_ino)
			return isc_error_set(err, EINVAL,
					     "linux.sysctl \"%s\": linux.namespaces[%zu] joins the %s's own %s "
					     "namespace (%s): the write would change the host's",
					     key, i, o == 0 ? "runtime" : "machine", isc_namespace_type_name(type),
					     spec->namespaces[i].path);
	}
	return 0;
}

int isc_ns_plan_make(const struct isc_spec *spec, struct isc_ns_plan *plan, isc_error **err)
{
	memset(plan, 0, sizeof(*plan));
	for (int i = 0; i < 8; i++)
		plan->join_fds[i] = -1;
	/* user namespace first so that the others are joined with its privileges */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < spec->n_namespaces; i++) {
			const struct isc_namespace *ns = &spec->namespaces[i];
			bool is_user = ns->type == CLONE_NEWUSER;
			if ((pass == 0) != is_user)
				continue;
			if (ns->path == NULL || ns->path[0] == '\0') {
				plan->new_flags |= ns->type;
				continue;
			}
			int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				int e = errno;
				isc_ns_plan_close(plan);
				return isc_error_set(err, e, "linux.namespaces[%zu] (%s): open %s", i,
						     isc_namespace_type_name(ns->type), ns->path);
			}
			int t = ioctl(fd, NS_GET_NSTYPE);
			if (t < 0 || t != ns->type) {
				int e = t < 0 ? errno : EINVAL;
				close(fd);
				isc_ns_plan_close(plan);
				if (t < 0)
					return isc_error_set(err, e,
							     "linux.namespaces[%zu] (%s): %s is not a namespace", i,
							     isc_namespace_type_name(ns->type), ns->path);
				return isc_error_set(err, EINVAL, "linux.namespaces[%zu] (%s): %s is a %s namespace", i,
						     isc_namespace_type_name(ns->type), ns->path,
						     isc_namespace_type_name(t));
			}
			if (check_joined_sysctls(spec, i, t, fd, err) < 0) {
				close(fd);
				isc_ns_plan_close(plan);
				return -1;
			}
			plan->join_fds[plan->n_join] = fd;
			plan->join_types[plan->n_join] = ns->type;
			plan->n_join++;
		}
	}
	plan->user_new = plan->new_flags & CLONE_NEWUSER;
	plan->pid_new = plan->new_flags & CLONE_NEWPID;
	plan->time_new = plan->new_flags & CLONE_NEWTIME;
	for (int i = 0; i < plan->n_join; i++) {
		if (plan->join_types[i] == CLONE_NEWUSER)
			plan->user_join = true;
		if (plan->join_types[i] == CLONE_NEWPID)
			plan->pid_join = true;
	}
	return 0;
}

void isc_ns_plan_close(struct isc_ns_plan *plan)
{
	for (int i = 0; i < 8; i++)
		isc_closep(&plan->join_fds[i]);
	plan->n_join = 0;
}

static int write_map(pid_t pid, const char *file, const struct isc_idmap *m, size_t n, isc_error **err)
{
	char buf[4096];
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", m[i].container_id, m[i].host_id,
				 m[i].size);
		if (w < 0 || (size_t)w >= sizeof(buf) - off)
			return isc_error_set(err, E2BIG, "%s: too many mappings", file);
		off += (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (isc_write_file(path, buf, off, err) < 0)
		return isc_error_wrap(err, "linux.%s", strcmp(file, "uid_map") == 0 ? "uidMappings" : "gidMappings");
	return 0;
}

int isc_ns_write_idmaps(pid_t pid, const struct isc_spec *spec, isc_error **err)
{
	if (spec->n_uid_mappings == 0 || spec->n_gid_mappings == 0)
		return isc_error_set(err, EINVAL, "a new user namespace needs linux.uidMappings and linux.gidMappings");
	if (write_map(pid, "uid_map", spec->uid_mappings, spec->n_uid_mappings, err) < 0)
		return -1;
	if (write_map(pid, "gid_map", spec->gid_mappings, spec->n_gid_mappings, err) < 0)
		return -1;
	return 0;
}

int isc_ns_join(const struct isc_ns_plan *plan, bool user_only, isc_error **err)
{
	for (int i = 0; i < plan->n_join; i++) {
		if (user_only != (plan->join_types[i] == CLONE_NEWUSER))
			continue;
		if (setns(plan->join_fds[i], plan->join_types[i]) < 0)
			return isc_error_set(err, errno, "join %s namespace",
					     isc_namespace_type_name(plan->join_types[i]));
	}
	return 0;
}

int isc_ns_set_time_offsets(pid_t pid, const struct isc_spec *spec, isc_error **err)
{
	if (spec->n_time_offsets == 0)
		return 0;
	char buf[256];
	size_t off = 0;
	for (size_t i = 0; i < spec->n_time_offsets; i++) {
		const struct isc_time_offset *t = &spec->time_offsets[i];
		int w = snprintf(buf + off, sizeof(buf) - off, "%s %lld %u\n",
				 t->clock == CLOCK_BOOTTIME ? "boottime" : "monotonic", (long long)t->secs,
				 t->nanosecs);
		if (w < 0 || (size_t)w >= sizeof(buf) - off)
			return isc_error_set(err, E2BIG, "linux.timeOffsets: too long");
		off += (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", (int)pid);
	if (isc_write_file(path, buf, off, err) < 0)
		return isc_error_wrap(err, "linux.timeOffsets");
	return 0;
}
