/* SPDX-License-Identifier: GPL-2.0-or-later
 * config.json's "linux": namespaces, id mappings, devices, seccomp,
 * sysctls (only the namespaced ones), personality, time offsets, rootfs
 * propagation; "linux.resources" has a file of its own (spec-resources.c).
 * Pure parsing, errors name the field (spec-internal.h). */
#include "spec/spec-internal.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <time.h>

#include "spec/names.h"

static const struct name_value namespace_types[] = {
	{ "pid", CLONE_NEWPID }, { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },	     { "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS }, { "user", CLONE_NEWUSER },   { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static const struct name_value propagation_names[] = {
	{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
	{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
	{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static const struct name_value personality_domains[] = {
	{ "LINUX", PER_LINUX },
	{ "LINUX32", PER_LINUX32 },
};

static const struct name_value time_clocks[] = {
	{ "monotonic", CLOCK_MONOTONIC },
	{ "boottime", CLOCK_BOOTTIME },
};

int isc_namespace_type_from_name(const char *name)
{
	long v;
	if (name == NULL || table_lookup(namespace_types, ARRAY_SIZE(namespace_types), name, &v) < 0)
		return -1;
	return (int)v;
}

const char *isc_namespace_type_name(int type)
{
	for (size_t i = 0; i < ARRAY_SIZE(namespace_types); i++)
		if (namespace_types[i].value == type)
			return namespace_types[i].name;
	return NULL;
}

static int parse_namespaces(const json_t *v, struct isc_spec *s, isc_error **err)
{
	char f[FIELD_MAX];
	if (want_array(v, "linux.namespaces", err) < 0)
		return -1;
	size_t n = json_array_size(v);
	s->namespaces = isc_xmalloc0(n * sizeof(*s->namespaces));
	s->n_namespaces = n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i), *t;
		struct isc_namespace *ns = &s->namespaces[i];
		if (want_object(e, fld(f, "linux.namespaces[%zu]", i), err) < 0)
			return -1;
		if ((t = jget(e, "type")) == NULL)
			return bad(err, "linux.namespaces[%zu].type: required field is missing", i);
		if (!json_is_string(t))
			return bad(err, "linux.namespaces[%zu].type: expected a string", i);
		ns->type = isc_namespace_type_from_name(json_string_value(t));
		if (ns->type < 0)
			return bad(err, "linux.namespaces[%zu].type: unknown namespace type \"%s\"", i,
				   json_string_value(t));
		for (size_t j = 0; j < i; j++)
			if (s->namespaces[j].type == ns->type)
				return bad(err, "linux.namespaces[%zu].type: duplicate namespace type \"%s\"", i,
					   json_string_value(t));
		if ((t = jget(e, "path")) != NULL &&
		    want_abs_path(t, fld(f, "linux.namespaces[%zu].path", i), &ns->path, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_idmaps(const json_t *v, const char *field, struct isc_idmap **out, size_t *n_out, isc_error **err)
{
	char f[FIELD_MAX];
	static const char *const keys[] = { "containerID", "hostID", "size" };
	if (want_array(v, field, err) < 0)
		return -1;
	size_t n = json_array_size(v);
	*out = isc_xmalloc0(n * sizeof(**out));
	*n_out = n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		int64_t x[3];
		if (want_object(e, fld(f, "%s[%zu]", field, i), err) < 0)
			return -1;
		for (size_t k = 0; k < 3; k++) {
			json_t *t = jget(e, keys[k]);
			if (t == NULL)
				return bad(err, "%s[%zu].%s: required field is missing", field, i, keys[k]);
			if (want_int(t, fld(f, "%s[%zu].%s", field, i, keys[k]), k == 2 ? 1 : 0,
				     k == 2 ? (int64_t)UINT32_MAX : ID_MAX, &x[k], err) < 0)
				return -1;
		}
		if (x[0] + x[2] > (int64_t)UINT32_MAX || x[1] + x[2] > (int64_t)UINT32_MAX)
			return bad(err, "%s[%zu]: range exceeds the 32-bit id space", field, i);
		(*out)[i].container_id = (uint32_t)x[0];
		(*out)[i].host_id = (uint32_t)x[1];
		(*out)[i].size = (uint32_t)x[2];
	}
	return 0;
}

static int parse_devices(const json_t *v, struct isc_spec *s, isc_error **err)
{
	char f[FIELD_MAX];
	if (want_array(v, "linux.devices", err) < 0)
		return -1;
	size_t n = json_array_size(v);
	s->devices = isc_xmalloc0(n * sizeof(*s->devices));
	s->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i), *t;
		struct isc_device *d = &s->devices[i];
		cleanup_free char *type = NULL;
		int64_t x = 0;
		if (want_object(e, fld(f, "linux.devices[%zu]", i), err) < 0)
			return -1;
		if ((t = jget(e, "path")) == NULL)
			return bad(err, "linux.devices[%zu].path: required field is missing", i);
		if (want_abs_path(t, fld(f, "linux.devices[%zu].path", i), &d->path, err) < 0)
			return -1;
		if ((t = jget(e, "type")) == NULL)
			return bad(err, "linux.devices[%zu].type: required field is missing", i);
		if (want_string(t, fld(f, "linux.devices[%zu].type", i), &type, err) < 0)
			return -1;
		if (strlen(type) != 1 || strchr("cbup", type[0]) == NULL)
			return bad(err, "linux.devices[%zu].type: unknown device type \"%s\" (want c, b, u or p)", i,
				   type);
		d->type = type[0];
		bool need_numbers = d->type != 'p';
		if ((t = jget(e, "major")) != NULL) {
			if (want_int(t, fld(f, "linux.devices[%zu].major", i), 0, UINT32_MAX, &d->major, err) < 0)
				return -1;
		} else if (need_numbers) {
			return bad(err, "linux.devices[%zu].major: required for type %c", i, d->type);
		}
		if ((t = jget(e, "minor")) != NULL) {
			if (want_int(t, fld(f, "linux.devices[%zu].minor", i), 0, UINT32_MAX, &d->minor, err) < 0)
				return -1;
		} else if (need_numbers) {
			return bad(err, "linux.devices[%zu].minor: required for type %c", i, d->type);
		}
		if ((t = jget(e, "fileMode")) != NULL) {
			/* podman and others write the file type bits too (0020666):
			 * accept any mode_t and keep the permission bits */
			if (want_int(t, fld(f, "linux.devices[%zu].fileMode", i), 0, 0177777, &x, err) < 0)
				return -1;
			d->file_mode = (mode_t)x & 07777;
			d->has_file_mode = true;
		}
		if ((t = jget(e, "uid")) != NULL) {
			if (want_int(t, fld(f, "linux.devices[%zu].uid", i), 0, ID_MAX, &x, err) < 0)
				return -1;
			d->uid = (uid_t)x;
			d->has_uid = true;
		}
		if ((t = jget(e, "gid")) != NULL) {
			if (want_int(t, fld(f, "linux.devices[%zu].gid", i), 0, ID_MAX, &x, err) < 0)
				return -1;
			d->gid = (gid_t)x;
			d->has_gid = true;
		}
	}
	return 0;
}

static int parse_seccomp_rule(const json_t *e, size_t i, struct isc_seccomp_rule *rule, isc_error **err)
{
	char f[FIELD_MAX];
	json_t *t;
	int64_t x = 0;
	if (want_object(e, fld(f, "linux.seccomp.syscalls[%zu]", i), err) < 0)
		return -1;
	if ((t = jget(e, "names")) == NULL)
		return bad(err, "linux.seccomp.syscalls[%zu].names: required field is missing", i);
	if (want_strv(t, fld(f, "linux.seccomp.syscalls[%zu].names", i), true, &rule->names, err) < 0)
		return -1;
	for (size_t j = 0; rule->names[j] != NULL; j++)
		if (rule->names[j][0] == '\0')
			return bad(err, "linux.seccomp.syscalls[%zu].names[%zu]: must not be empty", i, j);
	if ((t = jget(e, "action")) == NULL)
		return bad(err, "linux.seccomp.syscalls[%zu].action: required field is missing", i);
	if (!json_is_string(t))
		return bad(err, "linux.seccomp.syscalls[%zu].action: expected a string", i);
	rule->action = isc_seccomp_action_from_name(json_string_value(t));
	if (rule->action < 0)
		return bad(err, "linux.seccomp.syscalls[%zu].action: unknown seccomp action \"%s\"", i,
			   json_string_value(t));
	if ((t = jget(e, "errnoRet")) != NULL) {
		if (want_int(t, fld(f, "linux.seccomp.syscalls[%zu].errnoRet", i), 0, 65535, &x, err) < 0)
			return -1;
		rule->errno_ret = (unsigned)x;
		rule->has_errno_ret = true;
	}
	if ((t = jget(e, "args")) != NULL) {
		if (want_array(t, fld(f, "linux.seccomp.syscalls[%zu].args", i), err) < 0)
			return -1;
		size_t n = json_array_size(t);
		rule->args = isc_xmalloc0(n * sizeof(*rule->args));
		rule->n_args = n;
		for (size_t j = 0; j < n; j++) {
			json_t *a = json_array_get(t, j), *u;
			struct isc_seccomp_arg *arg = &rule->args[j];
			if (want_object(a, fld(f, "linux.seccomp.syscalls[%zu].args[%zu]", i, j), err) < 0)
				return -1;
			if ((u = jget(a, "index")) == NULL)
				return bad(err,
					   "linux.seccomp.syscalls[%zu].args[%zu].index: required field is missing", i,
					   j);
			if (want_int(u, fld(f, "linux.seccomp.syscalls[%zu].args[%zu].index", i, j), 0, 5, &x, err) < 0)
				return -1;
			arg->index = (unsigned)x;
			if ((u = jget(a, "value")) == NULL)
				return bad(err,
					   "linux.seccomp.syscalls[%zu].args[%zu].value: required field is missing", i,
					   j);
			if (want_int(u, fld(f, "linux.seccomp.syscalls[%zu].args[%zu].value", i, j), 0, INT64_MAX, &x,
				     err) < 0)
				return -1;
			arg->value = (uint64_t)x;
			if ((u = jget(a, "valueTwo")) != NULL) {
				if (want_int(u, fld(f, "linux.seccomp.syscalls[%zu].args[%zu].valueTwo", i, j), 0,
					     INT64_MAX, &x, err) < 0)
					return -1;
				arg->value_two = (uint64_t)x;
			}
			if ((u = jget(a, "op")) == NULL)
				return bad(err, "linux.seccomp.syscalls[%zu].args[%zu].op: required field is missing",
					   i, j);
			if (!json_is_string(u))
				return bad(err, "linux.seccomp.syscalls[%zu].args[%zu].op: expected a string", i, j);
			arg->op = isc_seccomp_op_from_name(json_string_value(u));
			if (arg->op < 0)
				return bad(err,
					   "linux.seccomp.syscalls[%zu].args[%zu].op: unknown seccomp operator \"%s\"",
					   i, j, json_string_value(u));
		}
	}
	return 0;
}

static int parse_seccomp(const json_t *v, struct isc_seccomp *sc, isc_error **err)
{
	json_t *t;
	int64_t x = 0;
	if (want_object(v, "linux.seccomp", err) < 0)
		return -1;
	if ((t = jget(v, "defaultAction")) == NULL)
		return bad(err, "linux.seccomp.defaultAction: required field is missing");
	if (!json_is_string(t))
		return bad(err, "linux.seccomp.defaultAction: expected a string");
	sc->default_action = isc_seccomp_action_from_name(json_string_value(t));
	if (sc->default_action < 0)
		return bad(err, "linux.seccomp.defaultAction: unknown seccomp action \"%s\"", json_string_value(t));
	if ((t = jget(v, "defaultErrnoRet")) != NULL) {
		if (want_int(t, "linux.seccomp.defaultErrnoRet", 0, 65535, &x, err) < 0)
			return -1;
		sc->default_errno_ret = (unsigned)x;
		sc->has_default_errno_ret = true;
	}
	if ((t = jget(v, "architectures")) != NULL) {
		if (want_strv(t, "linux.seccomp.architectures", false, &sc->architectures, err) < 0)
			return -1;
		for (size_t i = 0; sc->architectures[i] != NULL; i++)
			if (!isc_seccomp_arch_known(sc->architectures[i]))
				return bad(err, "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"", i,
					   sc->architectures[i]);
	}
	if ((t = jget(v, "flags")) != NULL) {
		if (want_strv(t, "linux.seccomp.flags", false, &sc->flags, err) < 0)
			return -1;
		for (size_t i = 0; sc->flags[i] != NULL; i++)
			if (!isc_seccomp_flag_known(sc->flags[i]))
				return bad(err, "linux.seccomp.flags[%zu]: unknown seccomp flag \"%s\"", i,
					   sc->flags[i]);
	}
	if ((t = jget(v, "listenerPath")) != NULL &&
	    want_abs_path(t, "linux.seccomp.listenerPath", &sc->listener_path, err) < 0)
		return -1;
	if ((t = jget(v, "syscalls")) != NULL) {
		if (want_array(t, "linux.seccomp.syscalls", err) < 0)
			return -1;
		size_t n = json_array_size(t);
		sc->rules = isc_xmalloc0(n * sizeof(*sc->rules));
		sc->n_rules = n;
		for (size_t i = 0; i < n; i++)
			if (parse_seccomp_rule(json_array_get(t, i), i, &sc->rules[i], err) < 0)
				return -1;
	}
	return 0;
}

/* The namespaced sysctls (runc's list): what a container may set because
 * its own namespace holds it. */
static const char *const ipc_sysctls[] = {
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

int isc_sysctl_namespace(const char *key)
{
	/* "net/ipv4/conf/eth0.1/rp_filter" is the same key as
	 * "net.ipv4.conf.eth0/1.rp_filter": compare in the dotted form */
	char k[256];
	snprintf(k, sizeof(k), "%s", key);
	size_t first = strcspn(k, "./");
	if (k[first] == '/')
		for (char *p = k; *p; p++)
			*p = *p == '/' ? '.' : *p == '.' ? '/' : *p;
	for (size_t i = 0; i < ARRAY_SIZE(ipc_sysctls); i++)
		if (strcmp(k, ipc_sysctls[i]) == 0)
			return CLONE_NEWIPC;
	if (strncmp(k, "fs.mqueue.", 10) == 0)
		return CLONE_NEWIPC;
	if (strncmp(k, "net.", 4) == 0)
		return CLONE_NEWNET;
	if (strcmp(k, "kernel.domainname") == 0 || strcmp(k, "kernel.hostname") == 0)
		return CLONE_NEWUTS;
	/* Held by the pid namespace (kernel/pid_sysctl.h): the value applies to
	 * the processes of that namespace and the ones below it, and may not be
	 * lower than the parent's.  Not in runc's list; written by the runtime
	 * from the host's side, as the kernel wants the host's root for it
	 * (runtime/sysctl.c). */
	if (strcmp(k, "vm.memfd_noexec") == 0)
		return CLONE_NEWPID;
	return 0;
}

/* The file of a sysctl key under /proc/sys: the dotted form
 * ("net.ipv4.conf.eth0/1.rp_filter") has '.' between components and '/'
 * for a '.' inside one; the slash form ("net/ipv4/conf/eth0.1/rp_filter")
 * is the path itself.  The first separator tells them apart, as for
 * isc_sysctl_namespace.  Keys holding ".." are refused by the parser. */
char *isc_sysctl_path(const char *key)
{
	char *path = isc_xasprintf("/proc/sys/%s", key);
	char *k = path + strlen("/proc/sys/");
	if (k[strcspn(k, "./")] == '/')
		return path;
	for (char *c = k; *c; c++)
		*c = *c == '.' ? '/' : *c == '/' ? '.' : *c;
	return path;
}

/* linux.sysctl: a key the container's own namespaces do not hold would be
 * written into the host's kernel (kernel.core_pattern by a container
 * without a user namespace: code run as root on the next crash).  Refused
 * as runc and crun refuse it: only the IPC sysctls with an IPC namespace,
 * net.* with a network namespace, kernel.domainname with a UTS namespace
 * (kernel.hostname has the hostname field), vm.memfd_noexec with a pid
 * namespace.  A namespace joined by path
 * must not be the runtime's own: checked when it is opened (ns.c). */
static int check_sysctl_key(const struct isc_spec *s, const char *k, isc_error **err)
{
	int type = isc_sysctl_namespace(k);
	if (type == 0)
		return bad(err, "linux.sysctl \"%s\": not a namespaced sysctl: it would change the host's kernel", k);
	if (type == CLONE_NEWUTS && strcmp(k + 7, "hostname") == 0)
		return bad(err, "linux.sysctl \"%s\": set the hostname field instead", k);
	if (isc_spec_namespace(s, type) == NULL)
		return bad(err,
			   "linux.sysctl \"%s\": no %s namespace in linux.namespaces: without one it would "
			   "change the host's",
			   k, isc_namespace_type_name(type));
	return 0;
}

static int parse_sysctl(const json_t *v, struct isc_spec *s, isc_error **err)
{
	if (want_kv(v, "linux.sysctl", &s->sysctl, &s->n_sysctl, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_sysctl; i++) {
		const char *k = s->sysctl[i].key;
		/* becomes a path under /proc/sys: keep it there */
		bool ok = k[0] != '\0' && k[0] != '.' && k[0] != '/' && strstr(k, "..") == NULL &&
			  strstr(k, "//") == NULL && strlen(k) < 256;
		for (const char *p = k; ok && *p; p++)
			if (*p <= ' ' || *p == 0x7f)
				ok = false;
		if (!ok)
			return bad(err, "linux.sysctl: invalid sysctl name \"%s\"", k);
		if (check_sysctl_key(s, k, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_personality(const json_t *v, struct isc_spec *s, isc_error **err)
{
	json_t *t;
	long dom;
	if (want_object(v, "linux.personality", err) < 0)
		return -1;
	if ((t = jget(v, "domain")) == NULL)
		return bad(err, "linux.personality.domain: required field is missing");
	if (!json_is_string(t))
		return bad(err, "linux.personality.domain: expected a string");
	if (table_lookup(personality_domains, ARRAY_SIZE(personality_domains), json_string_value(t), &dom) < 0)
		return bad(err, "linux.personality.domain: unknown domain \"%s\" (want LINUX or LINUX32)",
			   json_string_value(t));
	if ((t = jget(v, "flags")) != NULL) {
		if (!json_is_array(t))
			return bad(err, "linux.personality.flags: expected an array of strings");
		if (json_array_size(t) > 0)
			return bad(err, "linux.personality.flags: personality flags are not supported");
	}
	s->personality = (unsigned long)dom;
	s->has_personality = true;
	return 0;
}

static int parse_time_offsets(const json_t *v, struct isc_spec *s, isc_error **err)
{
	char f[FIELD_MAX];
	const char *key;
	json_t *val;
	if (want_object(v, "linux.timeOffsets", err) < 0)
		return -1;
	size_t n = json_object_size(v), i = 0;
	s->time_offsets = isc_xmalloc0(n * sizeof(*s->time_offsets));
	s->n_time_offsets = 0;
	json_object_foreach((json_t *)v, key, val) {
		struct isc_time_offset *to = &s->time_offsets[i];
		json_t *t;
		long clk;
		int64_t x = 0;
		if (table_lookup(time_clocks, ARRAY_SIZE(time_clocks), key, &clk) < 0)
			return bad(err, "linux.timeOffsets.%s: unknown clock (want monotonic or boottime)", key);
		if (want_object(val, fld(f, "linux.timeOffsets.%s", key), err) < 0)
			return -1;
		to->clock = (int)clk;
		if ((t = jget(val, "secs")) != NULL &&
		    want_int(t, fld(f, "linux.timeOffsets.%s.secs", key), INT64_MIN, INT64_MAX, &to->secs, err) < 0)
			return -1;
		if ((t = jget(val, "nanosecs")) != NULL) {
			if (want_int(t, fld(f, "linux.timeOffsets.%s.nanosecs", key), 0, 999999999, &x, err) < 0)
				return -1;
			to->nanosecs = (uint32_t)x;
		}
		s->n_time_offsets = ++i;
	}
	return 0;
}

int isc_spec_linux_from_json(const json_t *v, struct isc_spec *s, isc_error **err)
{
	json_t *t;
	if (want_object(v, "linux", err) < 0)
		return -1;
	if ((t = jget(v, "namespaces")) != NULL && parse_namespaces(t, s, err) < 0)
		return -1;
	if ((t = jget(v, "uidMappings")) != NULL &&
	    parse_idmaps(t, "linux.uidMappings", &s->uid_mappings, &s->n_uid_mappings, err) < 0)
		return -1;
	if ((t = jget(v, "gidMappings")) != NULL &&
	    parse_idmaps(t, "linux.gidMappings", &s->gid_mappings, &s->n_gid_mappings, err) < 0)
		return -1;
	if ((t = jget(v, "devices")) != NULL && parse_devices(t, s, err) < 0)
		return -1;
	if ((t = jget(v, "cgroupsPath")) != NULL && want_string(t, "linux.cgroupsPath", &s->cgroups_path, err) < 0)
		return -1;
	if ((t = jget(v, "resources")) != NULL) {
		if (isc_spec_resources_from_json(t, "linux.resources", &s->resources, err) < 0)
			return -1;
		s->has_resources = true;
	}
	if ((t = jget(v, "maskedPaths")) != NULL && want_abs_strv(t, "linux.maskedPaths", &s->masked_paths, err) < 0)
		return -1;
	if ((t = jget(v, "readonlyPaths")) != NULL &&
	    want_abs_strv(t, "linux.readonlyPaths", &s->readonly_paths, err) < 0)
		return -1;
	if ((t = jget(v, "sysctl")) != NULL && parse_sysctl(t, s, err) < 0)
		return -1;
	if ((t = jget(v, "seccomp")) != NULL) {
		s->seccomp = isc_xmalloc0(sizeof(*s->seccomp));
		if (parse_seccomp(t, s->seccomp, err) < 0)
			return -1;
	}
	if ((t = jget(v, "rootfsPropagation")) != NULL) {
		long prop;
		if (!json_is_string(t))
			return bad(err, "linux.rootfsPropagation: expected a string");
		if (table_lookup(propagation_names, ARRAY_SIZE(propagation_names), json_string_value(t), &prop) < 0)
			return bad(err, "linux.rootfsPropagation: unknown propagation \"%s\"", json_string_value(t));
		s->rootfs_propagation = (unsigned long)prop;
	}
	if ((t = jget(v, "personality")) != NULL && parse_personality(t, s, err) < 0)
		return -1;
	if ((t = jget(v, "timeOffsets")) != NULL && parse_time_offsets(t, s, err) < 0)
		return -1;
	if ((t = jget(v, "mountLabel")) != NULL && want_string(t, "linux.mountLabel", &s->mount_label, err) < 0)
		return -1;
	return 0;
}
