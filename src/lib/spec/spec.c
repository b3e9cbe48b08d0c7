/* SPDX-License-Identifier: GPL-2.0-or-later
 * config.json (OCI runtime-spec 1.2, Linux) -> struct isc_spec.
 *
 * Everything that can be checked without touching the system is checked
 * here, and every error names the field ("linux.namespaces[2].type: ...").
 * The parser has no side effects: it reads JSON text and allocates memory.
 * JSON null is treated like an absent field; unknown fields are ignored.
 * isc_spec_check_host (at the end) is the one part that looks at the
 * machine: the settings it cannot apply. */
#include "spec/spec.h"

#include <errno.h>
#include <jansson.h>
#include <sys/auxv.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "spec/names.h"
#include "base/sha256.h"
#include "base/util.h"

#define FIELD_MAX 256
#define ID_MAX 4294967294LL /* uid/gid: fits uint32, is not (uint32_t)-1 */

/* ---- keyword tables ---- */

struct name_value {
	const char *name;
	long value;
};

static const struct name_value namespace_types[] = {
	{ "pid", CLONE_NEWPID },
	{ "network", CLONE_NEWNET },
	{ "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },
	{ "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP },
	{ "time", CLONE_NEWTIME },
};

static const struct name_value rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

static const struct name_value propagation_names[] = {
	{ "private", MS_PRIVATE },
	{ "rprivate", MS_PRIVATE | MS_REC },
	{ "slave", MS_SLAVE },
	{ "rslave", MS_SLAVE | MS_REC },
	{ "shared", MS_SHARED },
	{ "rshared", MS_SHARED | MS_REC },
	{ "unbindable", MS_UNBINDABLE },
	{ "runbindable", MS_UNBINDABLE | MS_REC },
};

static const struct name_value personality_domains[] = {
	{ "LINUX", PER_LINUX },
	{ "LINUX32", PER_LINUX32 },
};

static const struct name_value time_clocks[] = {
	{ "monotonic", CLOCK_MONOTONIC },
	{ "boottime", CLOCK_BOOTTIME },
};

static const char *const hook_names[ISC_HOOK_KINDS] = {
	[ISC_HOOK_PRESTART] = "prestart",
	[ISC_HOOK_CREATE_RUNTIME] = "createRuntime",
	[ISC_HOOK_CREATE_CONTAINER] = "createContainer",
	[ISC_HOOK_START_CONTAINER] = "startContainer",
	[ISC_HOOK_POSTSTART] = "poststart",
	[ISC_HOOK_POSTSTOP] = "poststop",
};

struct cap_set_field {
	const char *name;
	size_t offset;
};

static const struct cap_set_field cap_sets[] = {
	{ "bounding", offsetof(struct isc_caps, bounding) },
	{ "effective", offsetof(struct isc_caps, effective) },
	{ "inheritable", offsetof(struct isc_caps, inheritable) },
	{ "permitted", offsetof(struct isc_caps, permitted) },
	{ "ambient", offsetof(struct isc_caps, ambient) },
};

static int table_lookup(const struct name_value *t, size_t n, const char *name, long *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, name) == 0) {
			*out = t[i].value;
			return 0;
		}
	}
	return -1;
}

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

int isc_rlimit_from_name(const char *name)
{
	long v;
	if (name == NULL || table_lookup(rlimit_names, ARRAY_SIZE(rlimit_names), name, &v) < 0)
		return -1;
	return (int)v;
}

/* ---- JSON helpers: each names the field it checks ---- */

static int bad(isc_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(isc_error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	isc_error_setv(err, 0, fmt, ap);
	va_end(ap);
	return -1;
}

/* Format a field name into buf (truncated if absurdly long). */
static const char *fld(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *fld(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, FIELD_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

/* A member of an object; JSON null counts as absent. */
static json_t *jget(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static int want_object(const json_t *v, const char *field, isc_error **err)
{
	if (!json_is_object(v))
		return bad(err, "%s: expected an object", field);
	return 0;
}

static int want_array(const json_t *v, const char *field, isc_error **err)
{
	if (!json_is_array(v))
		return bad(err, "%s: expected an array", field);
	return 0;
}

static int want_bool(const json_t *v, const char *field, bool *out, isc_error **err)
{
	if (!json_is_boolean(v))
		return bad(err, "%s: expected a boolean", field);
	*out = json_is_true(v);
	return 0;
}

static int want_string(const json_t *v, const char *field, char **out, isc_error **err)
{
	if (!json_is_string(v))
		return bad(err, "%s: expected a string", field);
	free(*out);
	*out = isc_xstrdup(json_string_value(v));
	return 0;
}

static int want_abs_path(const json_t *v, const char *field, char **out, isc_error **err)
{
	if (want_string(v, field, out, err) < 0)
		return -1;
	if ((*out)[0] != '/')
		return bad(err, "%s: \"%s\" is not an absolute path", field, *out);
	return 0;
}

static int want_int(const json_t *v, const char *field, int64_t min, int64_t max, int64_t *out, isc_error **err)
{
	if (!json_is_integer(v))
		return bad(err, "%s: expected an integer", field);
	json_int_t x = json_integer_value(v);
	if (x < min || x > max)
		return bad(err, "%s: %lld is out of range [%lld, %lld]", field, (long long)x,
			   (long long)min, (long long)max);
	*out = x;
	return 0;
}

/* A resource limit where 0 means "not set", as runc reads it (Docker writes 0
 * for every limit it was not given): *set is false for 0, else the value
 * must lie in [min, max]. */
static int want_limit(const json_t *v, const char *field, int64_t min, int64_t max, int64_t *out, bool *set,
		      isc_error **err)
{
	if (json_is_integer(v) && json_integer_value(v) == 0) {
		*out = 0;
		*set = false;
		return 0;
	}
	if (want_int(v, field, min, max, out, err) < 0)
		return -1;
	*set = true;
	return 0;
}

static int want_strv(const json_t *v, const char *field, bool nonempty, char ***out, isc_error **err)
{
	if (!json_is_array(v))
		return bad(err, "%s: expected an array of strings", field);
	size_t n = json_array_size(v);
	if (nonempty && n == 0)
		return bad(err, "%s: must be a non-empty array of strings", field);
	cleanup_strv char **sv = isc_xmalloc0((n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e))
			return bad(err, "%s[%zu]: expected a string", field, i);
		sv[i] = isc_xstrdup(json_string_value(e));
	}
	isc_strvfree(*out);
	*out = steal_pointer(&sv);
	return 0;
}

static int want_abs_strv(const json_t *v, const char *field, char ***out, isc_error **err)
{
	if (want_strv(v, field, false, out, err) < 0)
		return -1;
	for (size_t i = 0; (*out)[i] != NULL; i++)
		if ((*out)[i][0] != '/')
			return bad(err, "%s[%zu]: \"%s\" is not an absolute path", field, i, (*out)[i]);
	return 0;
}

/* An object whose values are all strings -> key/value array. */
static int want_kv(const json_t *v, const char *field, struct isc_kv **out, size_t *n_out, isc_error **err)
{
	if (!json_is_object(v))
		return bad(err, "%s: expected an object of strings", field);
	size_t n = json_object_size(v), i = 0;
	struct isc_kv *kv = isc_xmalloc0(n * sizeof(*kv));
	*out = kv;
	*n_out = 0;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)v, key, val) {
		if (!json_is_string(val))
			return bad(err, "%s.%s: expected a string", field, key);
		kv[i].key = isc_xstrdup(key);
		kv[i].value = isc_xstrdup(json_string_value(val));
		*n_out = ++i;
	}
	return 0;
}

/* ---- process ---- */

static int parse_caps(const json_t *v, struct isc_caps *caps, isc_error **err)
{
	char f[FIELD_MAX];
	if (want_object(v, "process.capabilities", err) < 0)
		return -1;
	caps->present = true;
	for (size_t s = 0; s < ARRAY_SIZE(cap_sets); s++) {
		json_t *a = jget(v, cap_sets[s].name);
		if (a == NULL)
			continue;
		fld(f, "process.capabilities.%s", cap_sets[s].name);
		if (!json_is_array(a))
			return bad(err, "%s: expected an array of strings", f);
		uint64_t mask = 0;
		for (size_t i = 0; i < json_array_size(a); i++) {
			json_t *e = json_array_get(a, i);
			if (!json_is_string(e))
				return bad(err, "%s[%zu]: expected a string", f, i);
			int cap = isc_cap_from_name(json_string_value(e));
			if (cap < 0 || cap > 63)
				return bad(err, "%s[%zu]: unknown capability \"%s\"", f, i, json_string_value(e));
			mask |= UINT64_C(1) << cap;
		}
		*(uint64_t *)((char *)caps + cap_sets[s].offset) = mask;
	}
	return 0;
}

static int parse_rlimits(const json_t *v, struct isc_process *p, isc_error **err)
{
	char f[FIELD_MAX];
	int64_t x = 0;
	if (want_array(v, "process.rlimits", err) < 0)
		return -1;
	size_t n = json_array_size(v);
	p->rlimits = isc_xmalloc0(n * sizeof(*p->rlimits));
	p->n_rlimits = n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i), *t;
		struct isc_rlimit *rl = &p->rlimits[i];
		if (want_object(e, fld(f, "process.rlimits[%zu]", i), err) < 0)
			return -1;
		if ((t = jget(e, "type")) == NULL)
			return bad(err, "process.rlimits[%zu].type: required field is missing", i);
		if (!json_is_string(t))
			return bad(err, "process.rlimits[%zu].type: expected a string", i);
		rl->resource = isc_rlimit_from_name(json_string_value(t));
		if (rl->resource < 0)
			return bad(err, "process.rlimits[%zu].type: unknown rlimit \"%s\"", i, json_string_value(t));
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == rl->resource)
				return bad(err, "process.rlimits[%zu].type: duplicate rlimit \"%s\"", i,
					   json_string_value(t));
		if ((t = jget(e, "soft")) == NULL)
			return bad(err, "process.rlimits[%zu].soft: required field is missing", i);
		if (want_int(t, fld(f, "process.rlimits[%zu].soft", i), 0, INT64_MAX, &x, err) < 0)
			return -1;
		rl->soft = (uint64_t)x;
		if ((t = jget(e, "hard")) == NULL)
			return bad(err, "process.rlimits[%zu].hard: required field is missing", i);
		if (want_int(t, fld(f, "process.rlimits[%zu].hard", i), 0, INT64_MAX, &x, err) < 0)
			return -1;
		rl->hard = (uint64_t)x;
		if (rl->soft > rl->hard)
			return bad(err, "process.rlimits[%zu]: soft limit %llu exceeds hard limit %llu", i,
				   (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	}
	return 0;
}

static int parse_user(const json_t *v, struct isc_process *p, isc_error **err)
{
	char f[FIELD_MAX];
	json_t *t;
	int64_t x = 0;
	if (want_object(v, "process.user", err) < 0)
		return -1;
	if ((t = jget(v, "uid")) != NULL) {
		if (want_int(t, "process.user.uid", 0, ID_MAX, &x, err) < 0)
			return -1;
		p->uid = (uid_t)x;
	}
	if ((t = jget(v, "gid")) != NULL) {
		if (want_int(t, "process.user.gid", 0, ID_MAX, &x, err) < 0)
			return -1;
		p->gid = (gid_t)x;
	}
	if ((t = jget(v, "umask")) != NULL) {
		if (want_int(t, "process.user.umask", 0, 0777, &x, err) < 0)
			return -1;
		p->umask = (mode_t)x;
		p->has_umask = true;
	}
	if ((t = jget(v, "additionalGids")) != NULL) {
		if (want_array(t, "process.user.additionalGids", err) < 0)
			return -1;
		size_t n = json_array_size(t);
		if (n > NGROUPS_MAX)
			return bad(err, "process.user.additionalGids: more than %d groups", NGROUPS_MAX);
		p->additional_gids = isc_xmalloc0(n * sizeof(gid_t));
		p->n_additional_gids = n;
		for (size_t i = 0; i < n; i++) {
			if (want_int(json_array_get(t, i), fld(f, "process.user.additionalGids[%zu]", i), 0,
				     ID_MAX, &x, err) < 0)
				return -1;
			p->additional_gids[i] = (gid_t)x;
		}
	}
	return 0;
}

static int parse_process(const json_t *v, struct isc_process *p, isc_error **err)
{
	json_t *t;
	int64_t x = 0;
	if (want_object(v, "process", err) < 0)
		return -1;
	if ((t = jget(v, "terminal")) != NULL && want_bool(t, "process.terminal", &p->terminal, err) < 0)
		return -1;
	if ((t = jget(v, "consoleSize")) != NULL) {
		json_t *h, *w;
		if (want_object(t, "process.consoleSize", err) < 0)
			return -1;
		if ((h = jget(t, "height")) != NULL) {
			if (want_int(h, "process.consoleSize.height", 0, USHRT_MAX, &x, err) < 0)
				return -1;
			p->console_height = (unsigned)x;
		}
		if ((w = jget(t, "width")) != NULL) {
			if (want_int(w, "process.consoleSize.width", 0, USHRT_MAX, &x, err) < 0)
				return -1;
			p->console_width = (unsigned)x;
		}
	}
	if ((t = jget(v, "user")) != NULL && parse_user(t, p, err) < 0)
		return -1;
	if ((t = jget(v, "args")) == NULL)
		return bad(err, "process.args: required field is missing");
	if (want_strv(t, "process.args", true, &p->args, err) < 0)
		return -1;
	if (p->args[0][0] == '\0')
		return bad(err, "process.args[0]: must not be empty");
	if ((t = jget(v, "env")) != NULL) {
		if (want_strv(t, "process.env", false, &p->env, err) < 0)
			return -1;
		for (size_t i = 0; p->env[i] != NULL; i++) {
			const char *eq = strchr(p->env[i], '=');
			if (eq == NULL || eq == p->env[i])
				return bad(err, "process.env[%zu]: \"%s\" is not KEY=VALUE", i, p->env[i]);
		}
	}
	if ((t = jget(v, "cwd")) != NULL) {
		if (want_abs_path(t, "process.cwd", &p->cwd, err) < 0)
			return -1;
	}
	if ((t = jget(v, "capabilities")) != NULL && parse_caps(t, &p->caps, err) < 0)
		return -1;
	if ((t = jget(v, "rlimits")) != NULL && parse_rlimits(t, p, err) < 0)
		return -1;
	if ((t = jget(v, "noNewPrivileges")) != NULL &&
	    want_bool(t, "process.noNewPrivileges", &p->no_new_privileges, err) < 0)
		return -1;
	if ((t = jget(v, "oomScoreAdj")) != NULL) {
		if (want_int(t, "process.oomScoreAdj", -1000, 1000, &x, err) < 0)
			return -1;
		p->oom_score_adj = (int)x;
		p->has_oom_score_adj = true;
	}
	if ((t = jget(v, "apparmorProfile")) != NULL &&
	    want_string(t, "process.apparmorProfile", &p->apparmor_profile, err) < 0)
		return -1;
	if ((t = jget(v, "selinuxLabel")) != NULL && want_string(t, "process.selinuxLabel", &p->selinux_label, err) < 0)
		return -1;
	return 0;
}

/* ---- root, mounts, hooks ---- */

static int parse_root(const json_t *v, struct isc_spec *s, isc_error **err)
{
	json_t *t;
	if (want_object(v, "root", err) < 0)
		return -1;
	if ((t = jget(v, "path")) == NULL)
		return bad(err, "root.path: required field is missing");
	if (want_string(t, "root.path", &s->root_path, err) < 0)
		return -1;
	if (s->root_path[0] == '\0')
		return bad(err, "root.path: must not be empty");
	if ((t = jget(v, "readonly")) != NULL && want_bool(t, "root.readonly", &s->root_readonly, err) < 0)
		return -1;
	return 0;
}

static int parse_mount(const json_t *v, size_t i, struct isc_mount *m, isc_error **err)
{
	char f[FIELD_MAX];
	json_t *t;
	if (want_object(v, fld(f, "mounts[%zu]", i), err) < 0)
		return -1;
	if ((t = jget(v, "destination")) == NULL)
		return bad(err, "mounts[%zu].destination: required field is missing", i);
	if (want_abs_path(t, fld(f, "mounts[%zu].destination", i), &m->destination, err) < 0)
		return -1;
	if ((t = jget(v, "type")) != NULL && want_string(t, fld(f, "mounts[%zu].type", i), &m->type, err) < 0)
		return -1;
	if ((t = jget(v, "source")) != NULL && want_string(t, fld(f, "mounts[%zu].source", i), &m->source, err) < 0)
		return -1;
	if ((t = jget(v, "options")) != NULL) {
		cleanup_strv char **opts = NULL;
		if (want_strv(t, fld(f, "mounts[%zu].options", i), false, &opts, err) < 0)
			return -1;
		if (isc_mount_parse_options(opts, m, err) < 0)
			return isc_error_wrap(err, "mounts[%zu].options", i);
	}
	if (m->type != NULL && strcmp(m->type, "bind") == 0)
		m->bind = true;
	if (m->type == NULL && !m->bind)
		return bad(err, "mounts[%zu].type: required unless the mount is a bind mount", i);
	if (m->bind && m->source == NULL)
		return bad(err, "mounts[%zu].source: required for a bind mount", i);
	return 0;
}

static int parse_mounts(const json_t *v, struct isc_spec *s, isc_error **err)
{
	if (want_array(v, "mounts", err) < 0)
		return -1;
	size_t n = json_array_size(v);
	s->mounts = isc_xmalloc0(n * sizeof(*s->mounts));
	s->n_mounts = n;
	for (size_t i = 0; i < n; i++)
		if (parse_mount(json_array_get(v, i), i, &s->mounts[i], err) < 0)
			return -1;
	return 0;
}

static int parse_hooks(const json_t *v, struct isc_spec *s, isc_error **err)
{
	char f[FIELD_MAX];
	if (want_object(v, "hooks", err) < 0)
		return -1;
	for (int k = 0; k < ISC_HOOK_KINDS; k++) {
		json_t *a = jget(v, hook_names[k]), *t;
		if (a == NULL)
			continue;
		if (want_array(a, fld(f, "hooks.%s", hook_names[k]), err) < 0)
			return -1;
		size_t n = json_array_size(a);
		s->hooks[k] = isc_xmalloc0(n * sizeof(struct isc_hook));
		s->n_hooks[k] = n;
		for (size_t i = 0; i < n; i++) {
			json_t *h = json_array_get(a, i);
			struct isc_hook *hk = &s->hooks[k][i];
			int64_t x = 0;
			if (want_object(h, fld(f, "hooks.%s[%zu]", hook_names[k], i), err) < 0)
				return -1;
			if ((t = jget(h, "path")) == NULL)
				return bad(err, "hooks.%s[%zu].path: required field is missing", hook_names[k], i);
			if (want_abs_path(t, fld(f, "hooks.%s[%zu].path", hook_names[k], i), &hk->path, err) < 0)
				return -1;
			if ((t = jget(h, "args")) != NULL &&
			    want_strv(t, fld(f, "hooks.%s[%zu].args", hook_names[k], i), false, &hk->args, err) < 0)
				return -1;
			if ((t = jget(h, "env")) != NULL &&
			    want_strv(t, fld(f, "hooks.%s[%zu].env", hook_names[k], i), false, &hk->env, err) < 0)
				return -1;
			if ((t = jget(h, "timeout")) != NULL) {
				if (want_int(t, fld(f, "hooks.%s[%zu].timeout", hook_names[k], i), 1, INT_MAX, &x,
					     err) < 0)
					return -1;
				hk->timeout = (int)x;
			}
		}
	}
	return 0;
}

/* ---- linux ---- */

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
			return bad(err, "linux.devices[%zu].type: unknown device type \"%s\" (want c, b, u or p)", i, type);
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

/* "0-3,5" style lists (cpuset.cpus / cpuset.mems) */
static int check_cpu_list(const char *s, const char *field, isc_error **err)
{
	for (const char *p = s; *p; p++)
		if (strchr("0123456789-,", *p) == NULL)
			return bad(err, "%s: invalid list \"%s\"", field, s);
	return 0;
}

/* A cgroup file name: no path separators and no "..". */
static int check_cgroup_key(const char *key, const char *field, isc_error **err)
{
	if (key[0] == '\0' || key[0] == '.' || strchr(key, '/') != NULL || strstr(key, "..") != NULL)
		return bad(err, "%s: invalid cgroup file name \"%s\"", field, key);
	return 0;
}

static int parse_device_rules(const json_t *v, const char *pfx, struct isc_resources *r, isc_error **err)
{
	char f[FIELD_MAX];
	if (want_array(v, fld(f, "%s.devices", pfx), err) < 0)
		return -1;
	size_t n = json_array_size(v);
	r->devices = isc_xmalloc0(n * sizeof(*r->devices));
	r->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i), *t;
		struct isc_device_rule *d = &r->devices[i];
		if (want_object(e, fld(f, "%s.devices[%zu]", pfx, i), err) < 0)
			return -1;
		if ((t = jget(e, "allow")) == NULL)
			return bad(err, "%s.devices[%zu].allow: required field is missing", pfx, i);
		if (want_bool(t, fld(f, "%s.devices[%zu].allow", pfx, i), &d->allow, err) < 0)
			return -1;
		d->type = 'a';
		d->major = d->minor = -1;
		strcpy(d->access, "rwm");
		if ((t = jget(e, "type")) != NULL) {
			const char *ty = json_string_value(t);
			if (ty == NULL)
				return bad(err, "%s.devices[%zu].type: expected a string", pfx, i);
			if (strlen(ty) != 1 || strchr("acb", ty[0]) == NULL)
				return bad(err, "%s.devices[%zu].type: unknown device type \"%s\" (want a, c or b)",
					   pfx, i, ty);
			d->type = ty[0];
		}
		if ((t = jget(e, "major")) != NULL &&
		    want_int(t, fld(f, "%s.devices[%zu].major", pfx, i), -1, UINT32_MAX, &d->major, err) < 0)
			return -1;
		if ((t = jget(e, "minor")) != NULL &&
		    want_int(t, fld(f, "%s.devices[%zu].minor", pfx, i), -1, UINT32_MAX, &d->minor, err) < 0)
			return -1;
		if ((t = jget(e, "access")) != NULL) {
			const char *a = json_string_value(t);
			if (a == NULL)
				return bad(err, "%s.devices[%zu].access: expected a string", pfx, i);
			bool seen[3] = { false, false, false };
			for (const char *p = a; *p; p++) {
				const char *pos = strchr("rwm", *p);
				if (pos == NULL || seen[pos - "rwm"])
					return bad(err, "%s.devices[%zu].access: invalid access \"%s\" (want a subset of rwm)",
						   pfx, i, a);
				seen[pos - "rwm"] = true;
			}
			snprintf(d->access, sizeof(d->access), "%s", a);
		}
	}
	return 0;
}

/* `pfx` names the object in errors: "linux.resources" in config.json,
 * "resources" for update. */
static int parse_resources(const json_t *v, const char *pfx, struct isc_resources *r, isc_error **err)
{
	char f[FIELD_MAX];
	json_t *g, *t;
	int64_t x = 0;
	if (want_object(v, pfx, err) < 0)
		return -1;

	if ((g = jget(v, "memory")) != NULL) {
		static const struct {
			const char *name;
			size_t has, val;
		} mem[] = {
			{ "limit", offsetof(struct isc_resources, has_memory_limit), offsetof(struct isc_resources, memory_limit) },
			{ "reservation", offsetof(struct isc_resources, has_memory_reservation),
			  offsetof(struct isc_resources, memory_reservation) },
			{ "swap", offsetof(struct isc_resources, has_memory_swap), offsetof(struct isc_resources, memory_swap) },
		};
		if (want_object(g, fld(f, "%s.memory", pfx), err) < 0)
			return -1;
		for (size_t i = 0; i < ARRAY_SIZE(mem); i++) {
			if ((t = jget(g, mem[i].name)) == NULL)
				continue;
			/* -1 means unlimited, 0 not set; other negative sizes are errors */
			bool set = false;
			if (want_limit(t, fld(f, "%s.memory.%s", pfx, mem[i].name), -1, INT64_MAX, &x, &set, err) < 0)
				return -1;
			*(bool *)((char *)r + mem[i].has) = set;
			*(int64_t *)((char *)r + mem[i].val) = x;
		}
		if ((t = jget(g, "swappiness")) != NULL) {
			if (want_int(t, fld(f, "%s.memory.swappiness", pfx), 0, 100, &x, err) < 0)
				return -1;
			r->memory_swappiness = (uint64_t)x;
			r->has_memory_swappiness = true;
		}
		if ((t = jget(g, "disableOOMKiller")) != NULL &&
		    want_bool(t, fld(f, "%s.memory.disableOOMKiller", pfx), &r->disable_oom_killer, err) < 0)
			return -1;
	}

	if ((g = jget(v, "cpu")) != NULL) {
		if (want_object(g, fld(f, "%s.cpu", pfx), err) < 0)
			return -1;
		/* shares, quota, period: 0 is not set */
		if ((t = jget(g, "shares")) != NULL) {
			if (want_limit(t, fld(f, "%s.cpu.shares", pfx), 1, INT64_MAX, &x, &r->has_cpu_shares, err) < 0)
				return -1;
			r->cpu_shares = (uint64_t)x;
		}
		if ((t = jget(g, "quota")) != NULL) {
			if (want_limit(t, fld(f, "%s.cpu.quota", pfx), -1, INT64_MAX, &x, &r->has_cpu_quota, err) < 0)
				return -1;
			r->cpu_quota = x;
		}
		if ((t = jget(g, "period")) != NULL) {
			if (want_limit(t, fld(f, "%s.cpu.period", pfx), 1, INT64_MAX, &x, &r->has_cpu_period, err) < 0)
				return -1;
			r->cpu_period = (uint64_t)x;
		}
		if ((t = jget(g, "cpus")) != NULL &&
		    (want_string(t, fld(f, "%s.cpu.cpus", pfx), &r->cpu_cpus, err) < 0 ||
		     check_cpu_list(r->cpu_cpus, fld(f, "%s.cpu.cpus", pfx), err) < 0))
			return -1;
		if ((t = jget(g, "mems")) != NULL &&
		    (want_string(t, fld(f, "%s.cpu.mems", pfx), &r->cpu_mems, err) < 0 ||
		     check_cpu_list(r->cpu_mems, fld(f, "%s.cpu.mems", pfx), err) < 0))
			return -1;
	}

	if ((g = jget(v, "pids")) != NULL) {
		if (want_object(g, fld(f, "%s.pids", pfx), err) < 0)
			return -1;
		/* -1: unlimited; 0: not set */
		if ((t = jget(g, "limit")) != NULL &&
		    want_limit(t, fld(f, "%s.pids.limit", pfx), -1, INT64_MAX, &r->pids_limit, &r->has_pids_limit,
			       err) < 0)
			return -1;
	}

	if ((g = jget(v, "devices")) != NULL && parse_device_rules(g, pfx, r, err) < 0)
		return -1;

	if ((g = jget(v, "blockIO")) != NULL) {
		if (want_object(g, fld(f, "%s.blockIO", pfx), err) < 0)
			return -1;
		/* 0: not set (Docker writes it for "no --blkio-weight") */
		if ((t = jget(g, "weight")) != NULL) {
			if (want_limit(t, fld(f, "%s.blockIO.weight", pfx), 10, 1000, &x, &r->has_blkio_weight, err) < 0)
				return -1;
			r->blkio_weight = (uint16_t)x;
		}
	}

	if ((g = jget(v, "hugepageLimits")) != NULL) {
		if (want_array(g, fld(f, "%s.hugepageLimits", pfx), err) < 0)
			return -1;
		size_t n = json_array_size(g);
		r->hugepage_limits = isc_xmalloc0(n * sizeof(struct isc_kv));
		r->n_hugepage_limits = n;
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_array_get(g, i);
			struct isc_kv *kv = &r->hugepage_limits[i];
			if (want_object(e, fld(f, "%s.hugepageLimits[%zu]", pfx, i), err) < 0)
				return -1;
			if ((t = jget(e, "pageSize")) == NULL)
				return bad(err, "%s.hugepageLimits[%zu].pageSize: required field is missing", pfx, i);
			if (want_string(t, fld(f, "%s.hugepageLimits[%zu].pageSize", pfx, i), &kv->key, err) < 0 ||
			    check_cgroup_key(kv->key, f, err) < 0)
				return -1;
			if ((t = jget(e, "limit")) == NULL)
				return bad(err, "%s.hugepageLimits[%zu].limit: required field is missing", pfx, i);
			if (want_int(t, fld(f, "%s.hugepageLimits[%zu].limit", pfx, i), 0, INT64_MAX, &x, err) < 0)
				return -1;
			kv->value = isc_xasprintf("%lld", (long long)x);
		}
	}

	if ((g = jget(v, "network")) != NULL) {
		if (want_object(g, fld(f, "%s.network", pfx), err) < 0)
			return -1;
		r->has_network = json_object_size(g) > 0;
	}

	if ((g = jget(v, "unified")) != NULL) {
		if (want_kv(g, fld(f, "%s.unified", pfx), &r->unified, &r->n_unified, err) < 0)
			return -1;
		for (size_t i = 0; i < r->n_unified; i++)
			if (check_cgroup_key(r->unified[i].key, fld(f, "%s.unified.%s", pfx, r->unified[i].key),
					     err) < 0)
				return -1;
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
				return bad(err, "linux.seccomp.syscalls[%zu].args[%zu].index: required field is missing", i, j);
			if (want_int(u, fld(f, "linux.seccomp.syscalls[%zu].args[%zu].index", i, j), 0, 5, &x, err) < 0)
				return -1;
			arg->index = (unsigned)x;
			if ((u = jget(a, "value")) == NULL)
				return bad(err, "linux.seccomp.syscalls[%zu].args[%zu].value: required field is missing", i, j);
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
				return bad(err, "linux.seccomp.syscalls[%zu].args[%zu].op: required field is missing", i, j);
			if (!json_is_string(u))
				return bad(err, "linux.seccomp.syscalls[%zu].args[%zu].op: expected a string", i, j);
			arg->op = isc_seccomp_op_from_name(json_string_value(u));
			if (arg->op < 0)
				return bad(err, "linux.seccomp.syscalls[%zu].args[%zu].op: unknown seccomp operator \"%s\"",
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
				return bad(err, "linux.seccomp.flags[%zu]: unknown seccomp flag \"%s\"", i, sc->flags[i]);
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
	 * (container.c). */
	if (strcmp(k, "vm.memfd_noexec") == 0)
		return CLONE_NEWPID;
	return 0;
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
		return bad(err, "linux.sysctl \"%s\": no %s namespace in linux.namespaces: without one it would "
				"change the host's", k, isc_namespace_type_name(type));
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

static int parse_linux(const json_t *v, struct isc_spec *s, isc_error **err)
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
		if (parse_resources(t, "linux.resources", &s->resources, err) < 0)
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

/* ---- top level ---- */

static int parse_top(const json_t *root, struct isc_spec *s, isc_error **err)
{
	json_t *t;
	if (!json_is_object(root))
		return bad(err, "config.json: expected a JSON object");
	if ((t = jget(root, "ociVersion")) == NULL)
		return bad(err, "ociVersion: required field is missing");
	if (want_string(t, "ociVersion", &s->oci_version, err) < 0)
		return -1;
	if (strncmp(s->oci_version, "1.", 2) != 0)
		return bad(err, "ociVersion: unsupported version \"%s\" (want 1.x)", s->oci_version);
	if ((t = jget(root, "process")) != NULL && parse_process(t, &s->process, err) < 0)
		return -1;
	if (s->process.cwd == NULL)
		s->process.cwd = isc_xstrdup("/");
	if ((t = jget(root, "root")) == NULL)
		return bad(err, "root.path: required field is missing");
	if (parse_root(t, s, err) < 0)
		return -1;
	if ((t = jget(root, "hostname")) != NULL) {
		if (want_string(t, "hostname", &s->hostname, err) < 0)
			return -1;
		if (strlen(s->hostname) > 64)
			return bad(err, "hostname: longer than 64 characters");
	}
	if ((t = jget(root, "domainname")) != NULL) {
		if (want_string(t, "domainname", &s->domainname, err) < 0)
			return -1;
		if (strlen(s->domainname) > 64)
			return bad(err, "domainname: longer than 64 characters");
	}
	if ((t = jget(root, "mounts")) != NULL && parse_mounts(t, s, err) < 0)
		return -1;
	if ((t = jget(root, "annotations")) != NULL &&
	    want_kv(t, "annotations", &s->annotations, &s->n_annotations, err) < 0)
		return -1;
	if ((t = jget(root, "hooks")) != NULL && parse_hooks(t, s, err) < 0)
		return -1;
	if ((t = jget(root, "linux")) != NULL && parse_linux(t, s, err) < 0)
		return -1;
	return 0;
}

void isc_json_init(void)
{
	/* jansson seeds its hash function from /dev/urandom (three system
	 * calls) at the first object unless told: the kernel's AT_RANDOM bytes
	 * are already in our memory */
	/* getauxval() hands the address back as an integer */
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM); // NOLINT(performance-no-int-to-ptr)
	size_t seed = 0;
	if (r != NULL)
		memcpy(&seed, r + 8, sizeof(seed));
	if (seed != 0)
		json_object_seed(seed);
}

int isc_spec_parse(const char *json, size_t len, struct isc_spec **out, isc_error **err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return bad(err, "config.json: line %d column %d: %s", jerr.line, jerr.column, jerr.text);

	struct isc_spec *s = isc_xmalloc0(sizeof(*s));
	int r = parse_top(root, s, err);
	json_decref(root);
	if (r < 0) {
		isc_spec_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int isc_spec_parse_resources(const char *json, size_t len, struct isc_resources *out, isc_error **err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return bad(err, "resources: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	struct isc_resources r = { 0 };
	int ret = parse_resources(root, "resources", &r, err);
	json_decref(root);
	if (ret < 0) {
		isc_resources_clear(&r);
		return -1;
	}
	*out = r;
	return 0;
}

int isc_spec_parse_process(const char *json, size_t len, struct isc_process *out, isc_error **err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return bad(err, "process: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	struct isc_process p = { 0 };
	int ret = parse_process(root, &p, err);
	json_decref(root);
	if (ret < 0) {
		isc_process_clear(&p);
		return -1;
	}
	*out = p;
	return 0;
}

void isc_process_clear(struct isc_process *p)
{
	isc_strvfree(p->args);
	isc_strvfree(p->env);
	free(p->cwd);
	free(p->additional_gids);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof(*p));
}

/* ---- what this machine can apply ---- */

static bool apparmor_enabled(void)
{
	char buf[8] = "";
	FILE *f = fopen("/sys/module/apparmor/parameters/enabled", "re");
	if (f == NULL)
		return false;
	bool yes = fgets(buf, sizeof(buf), f) != NULL && buf[0] == 'Y';
	fclose(f);
	return yes;
}

static bool selinux_enabled(void)
{
	/* selinuxfs is mounted there whenever SELinux is enabled */
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

static int refuse_label(const char *field, const char *value, const char *module, bool enabled, isc_error **err)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	if (!enabled)
		return isc_error_set(err, 0, "%s: cannot apply \"%s\": %s is not enabled on this machine", field,
				     value, module);
	return isc_error_set(err, 0, "%s: cannot apply \"%s\": isc-runtime does not support %s", field, value,
			     module);
}

int isc_spec_check_host(const struct isc_spec *spec, const struct isc_process *p, isc_error **err)
{
	if (spec != NULL && p == NULL)
		p = &spec->process;
	if (refuse_label("process.apparmorProfile", p->apparmor_profile, "AppArmor", apparmor_enabled(), err) < 0 ||
	    refuse_label("process.selinuxLabel", p->selinux_label, "SELinux", selinux_enabled(), err) < 0 ||
	    (spec && refuse_label("linux.mountLabel", spec->mount_label, "SELinux", selinux_enabled(), err) < 0))
		return -1;
	if (spec && spec->resources.has_network)
		isc_warn("linux.resources.network: not applied (isc-runtime sets no net_cls classID or "
			 "net_prio priorities)");
	uint64_t lost = p->caps.ambient & ~(p->caps.permitted & p->caps.inheritable);
	for (int cap = 0; cap < 64; cap++) {
		if (!(lost & (UINT64_C(1) << cap)))
			continue;
		char label[32];
		const char *name = isc_cap_name(cap);
		if (name == NULL)
			snprintf(label, sizeof(label), "capability %d", cap);
		isc_warn("process.capabilities.ambient: %s is not both permitted and inheritable: not raised",
			 name ? name : label);
	}
	return 0;
}

int isc_spec_load(const char *bundle, struct isc_spec **out, isc_error **err)
{
	cleanup_free char *path = isc_xasprintf("%s/config.json", bundle);
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_read_file(path, &text, &len, 0, err) < 0)
		return -1;
	return isc_spec_parse(text, len, out, err);
}

/* ---- lookups ---- */

const struct isc_namespace *isc_spec_namespace(const struct isc_spec *spec, int type)
{
	for (size_t i = 0; i < spec->n_namespaces; i++)
		if (spec->namespaces[i].type == type)
			return &spec->namespaces[i];
	return NULL;
}

const char *isc_spec_annotation(const struct isc_spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->n_annotations; i++)
		if (strcmp(spec->annotations[i].key, key) == 0)
			return spec->annotations[i].value;
	return NULL;
}

/* ---- free ---- */

static void kv_free(struct isc_kv *kv, size_t n)
{
	for (size_t i = 0; kv != NULL && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void seccomp_free(struct isc_seccomp *sc)
{
	if (sc == NULL)
		return;
	isc_strvfree(sc->architectures);
	isc_strvfree(sc->flags);
	for (size_t i = 0; i < sc->n_rules; i++) {
		isc_strvfree(sc->rules[i].names);
		free(sc->rules[i].args);
	}
	free(sc->rules);
	free(sc->listener_path);
	free(sc);
}

void isc_resources_clear(struct isc_resources *r)
{
	free(r->cpu_cpus);
	free(r->cpu_mems);
	free(r->devices);
	kv_free(r->hugepage_limits, r->n_hugepage_limits);
	kv_free(r->unified, r->n_unified);
	memset(r, 0, sizeof(*r));
}

void isc_spec_free(struct isc_spec *s)
{
	if (s == NULL)
		return;
	free(s->oci_version);
	struct isc_process *p = &s->process;
	isc_strvfree(p->args);
	isc_strvfree(p->env);
	free(p->cwd);
	free(p->additional_gids);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(s->mount_label);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	kv_free(s->annotations, s->n_annotations);
	for (int k = 0; k < ISC_HOOK_KINDS; k++) {
		for (size_t i = 0; i < s->n_hooks[k]; i++) {
			free(s->hooks[k][i].path);
			isc_strvfree(s->hooks[k][i].args);
			isc_strvfree(s->hooks[k][i].env);
		}
		free(s->hooks[k]);
	}
	for (size_t i = 0; i < s->n_namespaces; i++)
		free(s->namespaces[i].path);
	free(s->namespaces);
	free(s->uid_mappings);
	free(s->gid_mappings);
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	free(s->cgroups_path);
	isc_resources_clear(&s->resources);
	isc_strvfree(s->masked_paths);
	isc_strvfree(s->readonly_paths);
	kv_free(s->sysctl, s->n_sysctl);
	seccomp_free(s->seccomp);
	free(s->time_offsets);
	free(s);
}
