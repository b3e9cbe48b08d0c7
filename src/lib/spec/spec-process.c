/* SPDX-License-Identifier: GPL-2.0-or-later
 * config.json's "process" (also the object of `exec --process`): the
 * arguments, environment, user, capabilities and rlimits of a container's
 * process.  Pure parsing, errors name the field (spec-internal.h). */
#include "spec/spec-internal.h"

#include <limits.h>
#include <sys/resource.h>

#include "spec/names.h"

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

int isc_rlimit_from_name(const char *name)
{
	long v;
	if (name == NULL || table_lookup(rlimit_names, ARRAY_SIZE(rlimit_names), name, &v) < 0)
		return -1;
	return (int)v;
}

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
			if (want_int(json_array_get(t, i), fld(f, "process.user.additionalGids[%zu]", i), 0, ID_MAX, &x,
				     err) < 0)
				return -1;
			p->additional_gids[i] = (gid_t)x;
		}
	}
	return 0;
}

int isc_spec_process_from_json(const json_t *v, struct isc_process *p, isc_error **err)
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

int isc_spec_parse_process(const char *json, size_t len, struct isc_process *out, isc_error **err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return bad(err, "process: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	struct isc_process p = { 0 };
	int ret = isc_spec_process_from_json(root, &p, err);
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
