/* SPDX-License-Identifier: GPL-2.0-or-later
 * struct isc_plan <-> JSON, what iscd keeps as service.json.  Reading it
 * back applies the checks the command line applies (plan.c): a
 * service.json edited by hand is held to what the flags could give.
 */
#include "plan/plan.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "image/image.h"
#include "kernel/caps.h"
#include "kernel/landlock.h"
#include "kernel/scratch.h"
#include "spec/spec.h"
#include "plan/plan-internal.h"
#include "plan/volume.h"

static json_t *strv_to_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *isc_plan_to_json(const struct isc_plan *p)
{
	json_t *ports = json_array();
	for (size_t i = 0; i < p->n_ports; i++)
		json_array_append_new(ports, json_pack("{s:i, s:i, s:s}", "host_port", p->ports[i].host_port, "port",
						       p->ports[i].port, "proto",
						       p->ports[i].proto == IPPROTO_UDP ? "udp" : "tcp"));
	json_t *vols = json_array();
	for (size_t i = 0; i < p->n_volumes; i++) {
		json_t *v = json_pack("{s:s, s:s, s:b}", "src", p->volumes[i].src, "dst", p->volumes[i].dst, "ro",
				      p->volumes[i].ro);
		if (p->volumes[i].id.set)
			json_object_set_new(v, "identity", isc_volume_id_to_json(&p->volumes[i].id));
		json_array_append_new(vols, v);
	}
	json_t *j = json_object();
	json_object_set_new(j, "name", p->name ? json_string(p->name) : json_null());
	json_object_set_new(j, "image", p->image ? json_string(p->image) : json_null());
	json_object_set_new(j, "cmd", p->cmd ? strv_to_json(p->cmd) : json_null());
	json_object_set_new(j, "env", strv_to_json(p->env));
	json_object_set_new(j, "ports", ports);
	json_object_set_new(j, "volumes", vols);
	json_object_set_new(j, "memory", json_integer((json_int_t)p->memory));
	json_object_set_new(j, "cpu_quota", json_integer((json_int_t)p->cpu_quota));
	json_object_set_new(j, "pids_limit", json_integer((json_int_t)p->pids_limit));
	json_object_set_new(j, "user", p->user ? json_string(p->user) : json_null());
	json_object_set_new(j, "cap_add", strv_to_json(p->cap_add));
	json_object_set_new(j, "restart", json_string(isc_plan_restart_name(p->restart)));
	json_object_set_new(j, "userns", json_string(p->userns_host ? "host" : "auto"));
	json_object_set_new(j, "scratch_size", json_string(p->scratch_size ? p->scratch_size : DEFAULT_SCRATCH_SIZE));
	json_object_set_new(j, "persist_exec", json_boolean(p->persist_exec));
	json_object_set_new(j, "memfd_exec", json_boolean(p->memfd_exec));
	json_object_set_new(j, "tmpfs", strv_to_json(p->tmpfs));
	json_object_set_new(j, "workdir", p->workdir ? json_string(p->workdir) : json_null());
	json_object_set_new(j, "entrypoint", p->entrypoint ? strv_to_json(p->entrypoint) : json_null());
	json_object_set_new(j, "hostname", p->hostname ? json_string(p->hostname) : json_null());
	json_object_set_new(j, "rm", json_boolean(p->rm));
	return j;
}

static int json_strv(json_t *j, const char *key, bool nullable, char ***out, isc_error **err)
{
	json_t *a = json_object_get(j, key);
	*out = NULL;
	if (a == NULL || json_is_null(a)) {
		if (nullable)
			return 0;
		a = NULL;
	}
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MAX_LIST * 16)
		return isc_error_set(err, EINVAL, "plan: \"%s\" must be an array of strings", key);
	size_t i;
	json_t *v;
	char **res = isc_xmalloc0(sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			isc_strvfree(res);
			return isc_error_set(err, EINVAL, "plan: \"%s\"[%zu] must be a string", key, i);
		}
		isc_plan_strv_push(&res, json_string_value(v));
	}
	*out = res;
	return 0;
}

static int json_str(json_t *j, const char *key, bool required, char **out, isc_error **err)
{
	json_t *v = json_object_get(j, key);
	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return isc_error_set(err, EINVAL, "plan: \"%s\" is missing", key);
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return isc_error_set(err, EINVAL, "plan: \"%s\" must be a string", key);
	*out = isc_xstrdup(json_string_value(v));
	return 0;
}

static int json_u64(json_t *j, const char *key, uint64_t *out, isc_error **err)
{
	json_t *v = json_object_get(j, key);
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return isc_error_set(err, EINVAL, "plan: \"%s\" must be a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* A missing key is false: a plan written before the key existed gets the
 * protection (noexec /persist, no executable memfd) on its next start. */
static int json_flag(json_t *j, const char *key, bool *out, isc_error **err)
{
	json_t *v = json_object_get(j, key);
	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return isc_error_set(err, EINVAL, "plan: \"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int plan_from_json(json_t *j, struct isc_plan *p, isc_error **err)
{
	if (!json_is_object(j))
		return isc_error_set(err, EINVAL, "plan: not a JSON object");
	if (json_str(j, "name", true, &p->name, err) < 0 || json_str(j, "image", true, &p->image, err) < 0 ||
	    json_strv(j, "cmd", true, &p->cmd, err) < 0 || json_strv(j, "env", false, &p->env, err) < 0 ||
	    json_str(j, "user", false, &p->user, err) < 0 || json_strv(j, "cap_add", false, &p->cap_add, err) < 0 ||
	    json_str(j, "scratch_size", false, &p->scratch_size, err) < 0 ||
	    json_strv(j, "tmpfs", false, &p->tmpfs, err) < 0 || json_str(j, "workdir", false, &p->workdir, err) < 0 ||
	    json_strv(j, "entrypoint", true, &p->entrypoint, err) < 0 ||
	    json_str(j, "hostname", false, &p->hostname, err) < 0 || json_flag(j, "rm", &p->rm, err) < 0)
		return -1;
	if (p->cmd != NULL && p->cmd[0] == NULL)
		return isc_error_set(err, EINVAL, "plan: \"cmd\" is empty");
	uint64_t pids;
	if (json_u64(j, "memory", &p->memory, err) < 0 || json_u64(j, "cpu_quota", &p->cpu_quota, err) < 0 ||
	    json_u64(j, "pids_limit", &pids, err) < 0)
		return -1;
	if (pids > INT64_MAX / 2)
		return isc_error_set(err, EINVAL, "plan: \"pids_limit\" is too large");
	p->pids_limit = (int64_t)pids;
	if (json_flag(j, "persist_exec", &p->persist_exec, err) < 0 ||
	    json_flag(j, "memfd_exec", &p->memfd_exec, err) < 0)
		return -1;
	cleanup_free char *restart = NULL, *userns = NULL;
	if (json_str(j, "restart", false, &restart, err) < 0 || json_str(j, "userns", false, &userns, err) < 0)
		return -1;
	if (restart != NULL && isc_plan_restart_parse(restart, &p->restart, err) < 0)
		return -1;
	if (userns != NULL) {
		if (strcmp(userns, "host") == 0)
			p->userns_host = true;
		else if (strcmp(userns, "auto") != 0)
			return isc_error_set(err, EINVAL, "plan: \"userns\" must be auto or host");
	}
	json_t *ports = json_object_get(j, "ports");
	if (ports != NULL && !json_is_null(ports)) {
		if (!json_is_array(ports) || json_array_size(ports) > MAX_LIST)
			return isc_error_set(err, EINVAL, "plan: \"ports\" must be an array (at most %d)", MAX_LIST);
		p->ports = isc_xmalloc0((json_array_size(ports) + 1) * sizeof(*p->ports));
		size_t i;
		json_t *v;
		json_array_foreach(ports, i, v) {
			json_int_t hp = -1, cp = -1;
			const char *proto = NULL;
			if (json_unpack(v, "{s:I, s:I, s:s}", "host_port", &hp, "port", &cp, "proto", &proto) < 0 ||
			    hp < 1 || hp > 65535 || cp < 1 || cp > 65535 ||
			    (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
				return isc_error_set(err, EINVAL, "plan: bad port entry %zu", i);
			p->ports[p->n_ports++] =
				(struct isc_port){ (uint16_t)hp, (uint16_t)cp,
						   strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP };
		}
	}
	json_t *vols = json_object_get(j, "volumes");
	if (vols != NULL && !json_is_null(vols)) {
		if (!json_is_array(vols) || json_array_size(vols) > MAX_LIST)
			return isc_error_set(err, EINVAL, "plan: \"volumes\" must be an array (at most %d)", MAX_LIST);
		p->volumes = isc_xmalloc0((json_array_size(vols) + 1) * sizeof(*p->volumes));
		size_t i;
		json_t *v;
		json_array_foreach(vols, i, v) {
			const char *src = NULL, *dst = NULL;
			int ro = 0;
			if (json_unpack(v, "{s:s, s:s, s:b}", "src", &src, "dst", &dst, "ro", &ro) < 0)
				return isc_error_set(err, EINVAL, "plan: bad volume entry %zu", i);
			if (isc_plan_check_abs_path("-v", "source", src, err) < 0 ||
			    isc_plan_check_volume_dst(dst, err) < 0)
				return -1;
			struct isc_volume_id id = { 0 };
			json_t *ident = json_object_get(v, "identity");
			if (ident != NULL && !json_is_null(ident) && isc_volume_id_from_json(ident, &id, err) < 0)
				return isc_error_wrap(err, "volume %s", src);
			p->volumes[p->n_volumes++] =
				(struct isc_volume){ isc_xstrdup(src), isc_xstrdup(dst), ro != 0, id };
		}
	}
	return isc_plan_check(p, err);
}

int isc_plan_from_json(json_t *j, struct isc_plan *p, isc_error **err)
{
	isc_plan_clear(p);
	if (plan_from_json(j, p, err) < 0) {
		isc_plan_clear(p);
		return -1;
	}
	return 0;
}
