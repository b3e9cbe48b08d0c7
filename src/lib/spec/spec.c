/* SPDX-License-Identifier: GPL-2.0-or-later
 * config.json (OCI runtime-spec 1.2, Linux) -> struct isc_spec.
 *
 * Everything that can be checked without touching the system is checked
 * here, and every error names the field ("linux.namespaces[2].type: ...").
 * The parser has no side effects: it reads JSON text and allocates memory.
 * JSON null is treated like an absent field; unknown fields are ignored.
 * isc_spec_check_host (at the end) is the one part that looks at the
 * machine: the settings it cannot apply.
 *
 * This file: the top level, root, mounts and hooks, the entry points, the
 * host check and freeing; the sections "process", "linux" and
 * "linux.resources" have files of their own (spec-process.c, spec-linux.c,
 * spec-resources.c), the JSON helpers they share are in spec-internal.h. */
#include "spec/spec-internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "base/log.h"
#include "spec/names.h"

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
		const char *name = isc_hook_kind_name((enum isc_hook_kind)k);
		json_t *a = jget(v, name), *t;
		if (a == NULL)
			continue;
		if (want_array(a, fld(f, "hooks.%s", name), err) < 0)
			return -1;
		size_t n = json_array_size(a);
		s->hooks[k] = isc_xmalloc0(n * sizeof(struct isc_hook));
		s->n_hooks[k] = n;
		for (size_t i = 0; i < n; i++) {
			json_t *h = json_array_get(a, i);
			struct isc_hook *hk = &s->hooks[k][i];
			int64_t x = 0;
			if (want_object(h, fld(f, "hooks.%s[%zu]", name, i), err) < 0)
				return -1;
			if ((t = jget(h, "path")) == NULL)
				return bad(err, "hooks.%s[%zu].path: required field is missing", name, i);
			if (want_abs_path(t, fld(f, "hooks.%s[%zu].path", name, i), &hk->path, err) < 0)
				return -1;
			if ((t = jget(h, "args")) != NULL &&
			    want_strv(t, fld(f, "hooks.%s[%zu].args", name, i), false, &hk->args, err) < 0)
				return -1;
			if ((t = jget(h, "env")) != NULL &&
			    want_strv(t, fld(f, "hooks.%s[%zu].env", name, i), false, &hk->env, err) < 0)
				return -1;
			if ((t = jget(h, "timeout")) != NULL) {
				if (want_int(t, fld(f, "hooks.%s[%zu].timeout", name, i), 1, INT_MAX, &x, err) < 0)
					return -1;
				hk->timeout = (int)x;
			}
		}
	}
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
	if ((t = jget(root, "process")) != NULL && isc_spec_process_from_json(t, &s->process, err) < 0)
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
	if ((t = jget(root, "linux")) != NULL && isc_spec_linux_from_json(t, s, err) < 0)
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
		return isc_error_set(err, 0, "%s: cannot apply \"%s\": %s is not enabled on this machine", field, value,
				     module);
	return isc_error_set(err, 0, "%s: cannot apply \"%s\": isc-runtime does not support %s", field, value, module);
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
