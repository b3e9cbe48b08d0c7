/* SPDX-License-Identifier: GPL-2.0-or-later
 * The plan -> the bundle's config.json: the image's config (entrypoint,
 * cmd, env, user, workdir) under the plan's flags, with the ISC defaults
 * (docs/defaults.md): the default capabilities, a read-only root, noexec
 * on /dev and the scratch, the resources and the org.isc.* annotations.
 */
#include "plan/plan.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include "base/util.h"
#include "image/image.h"
#include "kernel/caps.h"
#include "kernel/landlock.h"
#include "kernel/scratch.h"
#include "plan/plan-internal.h"
#include "spec/spec.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The capabilities every service gets (bounding = effective = permitted;
 * no inheritable, no ambient).  podman's default set without SETFCAP (file
 * capabilities) and SYS_CHROOT; NET_RAW, MKNOD and AUDIT_WRITE are not in it
 * either.  docs/defaults.md says why. */
static const char *const isc_default_caps[] = {
	"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER",	 "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
	"CAP_SETGID", "CAP_SETUID",	  "CAP_SETPCAP",
};

/* Replace "KEY=..." in env (a JSON array) or append. */
static void env_set(json_t *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);
		if (s != NULL && strncmp(s, kv, klen) == 0 && s[klen] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static json_t *image_cfg(json_t *image_config)
{
	if (!json_is_object(image_config))
		return NULL;
	json_t *c = json_object_get(image_config, "config");
	return json_is_object(c) ? c : image_config;
}

static void append_strings(json_t *dst, json_t *src)
{
	size_t i;
	json_t *v;
	json_array_foreach(src, i, v)
		if (json_is_string(v))
			json_array_append_new(dst, json_string(json_string_value(v)));
}

static json_t *process_args(const struct isc_plan *p, json_t *icfg)
{
	json_t *args = json_array();
	json_t *entry = icfg ? json_object_get(icfg, "Entrypoint") : NULL;
	json_t *cmd = icfg ? json_object_get(icfg, "Cmd") : NULL;
	if (p->entrypoint != NULL) { /* podman: --entrypoint drops the image's Cmd too */
		entry = NULL;
		cmd = NULL;
		for (size_t i = 0; p->entrypoint[i]; i++)
			json_array_append_new(args, json_string(p->entrypoint[i]));
	}
	if (json_is_array(entry))
		append_strings(args, entry);
	if (p->cmd != NULL) {
		for (size_t i = 0; p->cmd[i]; i++)
			json_array_append_new(args, json_string(p->cmd[i]));
	} else if (json_is_array(cmd)) {
		append_strings(args, cmd);
	}
	if (json_array_size(args) == 0)
		json_array_append_new(args, json_string("/bin/sh"));
	return args;
}

static int parse_user(const char *s, uint32_t *uid, uint32_t *gid)
{
	uint64_t u, g;
	cleanup_free char *copy = isc_xstrdup(s);
	char *colon = strchr(copy, ':');
	if (colon != NULL)
		*colon = '\0';
	if (isc_parse_u64(copy, &u) < 0 || u > 65535)
		return -1;
	g = u;
	if (colon != NULL && (isc_parse_u64(colon + 1, &g) < 0 || g > 65535))
		return -1;
	*uid = (uint32_t)u;
	*gid = (uint32_t)g;
	return 0;
}

int isc_plan_service_ids(const struct isc_plan *p, json_t *image_config, uint32_t *uid, uint32_t *gid, isc_error **err)
{
	json_t *icfg = image_cfg(image_config);
	json_t *iuser = icfg ? json_object_get(icfg, "User") : NULL;
	*uid = *gid = 0;
	if (p->user != NULL) {
		if (parse_user(p->user, uid, gid) < 0)
			return isc_error_set(err, EINVAL, "--user: \"%s\" is not resolved to UID[:GID] numbers",
					     p->user);
	} else if (json_is_string(iuser) && json_string_value(iuser)[0] != '\0' &&
		   parse_user(json_string_value(iuser), uid, gid) < 0) {
		*uid = *gid = 0; /* the image's User as a name: not resolved, stay root */
	}
	return 0;
}

static json_t *caps_json(const struct isc_plan *p)
{
	json_t *set = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(isc_default_caps); i++)
		json_array_append_new(set, json_string(isc_default_caps[i]));
	for (size_t i = 0; p->cap_add && p->cap_add[i]; i++) {
		cleanup_free char *c = isc_plan_cap_canonical(p->cap_add[i]);
		bool have = false;
		size_t k;
		json_t *v;
		json_array_foreach(set, k, v)
			have = have || strcmp(json_string_value(v), c) == 0;
		if (!have)
			json_array_append_new(set, json_string(c));
	}
	json_t *caps = json_pack("{s:O, s:O, s:[], s:O, s:[]}", "bounding", set, "effective", set, "inheritable",
				 "permitted", set, "ambient");
	json_decref(set);
	if (caps == NULL)
		abort(); /* a bug in the format string */
	return caps;
}

static json_t *bind_mount(const char *src, const char *dst, bool ro)
{
	return json_pack("{s:s, s:s, s:s, s:[s, s, s, s, s]}", "destination", dst, "type", "bind", "source", src,
			 "options", "rbind", "nosuid", "nodev", ro ? "ro" : "rw", "rprivate");
}

/* "noexec" added to a mount's options (once). */
static void add_noexec(json_t *mount)
{
	json_t *opts = json_object_get(mount, "options");
	size_t i;
	json_t *v;
	json_array_foreach(opts, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), "noexec") == 0)
			return;
	json_array_append_new(opts, json_string("noexec"));
}

/* Written code does not run (docs/threat-model.md, "written code"): every
 * place a service can write is noexec -- /tmp, /run, /scratch, /dev/shm
 * are already; /dev (a tmpfs the service's root can write) and /persist
 * (unless --persist-exec) are made so here.  Read-write volumes stay as
 * the operator made them. */
static void mounts_noexec(json_t *mounts, bool persist_exec)
{
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) {
		const char *dst = json_string_value(json_object_get(m, "destination"));
		if (dst != NULL && (strcmp(dst, "/dev") == 0 || (strcmp(dst, "/persist") == 0 && !persist_exec)))
			add_noexec(m);
	}
}

/* process: the image's command under the plan's, the environment (the
 * image's, then -e), the working directory, the user, the capabilities */
static void bundle_process(json_t *cfg, const struct isc_plan *p, json_t *icfg, uint32_t uid, uint32_t gid)
{
	json_t *proc = json_object_get(cfg, "process");
	json_object_set_new(proc, "args", process_args(p, icfg));
	json_t *env = json_array();
	json_array_append_new(env, json_string(DEFAULT_PATH));
	json_t *ienv = icfg ? json_object_get(icfg, "Env") : NULL;
	size_t i;
	json_t *v;
	if (json_is_array(ienv))
		json_array_foreach(ienv, i, v)
			if (json_is_string(v) && strchr(json_string_value(v), '=') != NULL)
				env_set(env, json_string_value(v));
	for (size_t k = 0; p->env && p->env[k]; k++)
		env_set(env, p->env[k]);
	json_object_set_new(proc, "env", env);
	json_t *wd = icfg ? json_object_get(icfg, "WorkingDir") : NULL;
	const char *cwd = json_is_string(wd) && json_string_value(wd)[0] == '/' ? json_string_value(wd) : "/";
	json_object_set_new(proc, "cwd", json_string(p->workdir ? p->workdir : cwd));
	/* umask 022, as a login shell or systemd gives a service: never
	 * iscd's own 077 (nginx's logs came out 0600); isc exec sessions
	 * take it from here too */
	json_object_set_new(proc, "user",
			    json_pack("{s:I, s:I, s:i}", "uid", (json_int_t)uid, "gid", (json_int_t)gid, "umask",
				      ISC_SERVICE_UMASK));
	json_object_set_new(proc, "capabilities", caps_json(p));
	json_object_set_new(proc, "noNewPrivileges", json_true());
}

/* --tmpfs: nosuid, nodev, noexec, starting with the image's content at
 * the destination (tmpcopyup, as podman does) */
static json_t *tmpfs_mount(const struct isc_tmpfs *t)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination", t->dst, "type", "tmpfs", "source",
			      "tmpfs", "options", "nosuid", "nodev", "noexec", "tmpcopyup");
	json_t *opts = json_object_get(m, "options");
	json_array_append_new(
		opts, json_sprintf("size=%llu", (unsigned long long)(t->size ? t->size : ISC_TMPFS_DEFAULT_SIZE)));
	if (t->mode >= 0)
		json_array_append_new(opts, json_sprintf("mode=%04o", (unsigned)t->mode));
	return m;
}

/* The default /run starts with the image's /run (PostgreSQL's
 * /run/postgresql was hidden by an empty tmpfs). */
static void run_copyup(json_t *mounts)
{
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) {
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *type = json_string_value(json_object_get(m, "type"));
		if (dst != NULL && type != NULL && strcmp(dst, "/run") == 0 && strcmp(type, "tmpfs") == 0)
			json_array_append_new(json_object_get(m, "options"), json_string("tmpcopyup"));
	}
}

/* mounts: the defaults (proc, a minimal /dev, ro /sys, small /tmp and
 * /run with the image's content), then /persist, the volumes, the
 * --tmpfs mounts, resolv.conf and hosts */
static void bundle_mounts(json_t *cfg, const struct isc_plan *p, const struct isc_bundle_inputs *in)
{
	json_t *mounts = json_object_get(cfg, "mounts");
	run_copyup(mounts);
	json_array_append_new(mounts, bind_mount(in->persist_dir, "/persist", false));
	for (size_t k = 0; k < p->n_volumes; k++)
		json_array_append_new(mounts, bind_mount(in->volume_sources ? in->volume_sources[k] : p->volumes[k].src,
							 p->volumes[k].dst, p->volumes[k].ro));
	for (size_t k = 0; p->tmpfs && p->tmpfs[k]; k++) {
		struct isc_tmpfs t;
		if (isc_plan_parse_tmpfs(p->tmpfs[k], &t, NULL) < 0)
			continue; /* cannot happen: the plan was checked */
		json_array_append_new(mounts, tmpfs_mount(&t));
		free(t.dst);
	}
	if (in->resolv_conf != NULL)
		json_array_append_new(mounts, bind_mount(in->resolv_conf, "/etc/resolv.conf", true));
	if (in->hosts != NULL)
		json_array_append_new(mounts, bind_mount(in->hosts, "/etc/hosts", true));
	mounts_noexec(mounts, p->persist_exec);
}

/* linux: the namespaces (the network one joined by path when iscd made
 * it; no user namespace with --userns=host), vm.memfd_noexec, the id maps */
static void bundle_namespaces(json_t *lx, const struct isc_plan *p, const struct isc_bundle_inputs *in)
{
	json_t *ns = json_array();
	static const char *const nss[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", "user" };
	for (size_t k = 0; k < ARRAY_SIZE(nss); k++) {
		if (strcmp(nss[k], "user") == 0 && p->userns_host)
			continue;
		if (strcmp(nss[k], "network") == 0 && in->netns_path != NULL)
			json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "network", "path", in->netns_path));
		else
			json_array_append_new(ns, json_pack("{s:s}", "type", nss[k]));
	}
	json_object_set_new(lx, "namespaces", ns);
	/* vm.memfd_noexec=2 in the service's own pid namespace: every memfd is
	 * created non-executable and sealed so, MFD_EXEC is refused (EACCES),
	 * so a service cannot run code it wrote into a memfd either (fexecve,
	 * execveat AT_EMPTY_PATH).  The value holds for the namespaces below
	 * it; the service cannot lower it (it is not root on the host).
	 * isc-runtime writes it from the host's side (runtime/sysctl.c). */
	if (!p->memfd_exec) {
		json_t *sysctl = json_object_get(lx, "sysctl");
		if (!json_is_object(sysctl)) {
			sysctl = json_object();
			json_object_set_new(lx, "sysctl", sysctl);
		}
		json_object_set_new(sysctl, "vm.memfd_noexec", json_string("2"));
	}
	if (p->userns_host) {
		json_object_del(lx, "uidMappings");
		json_object_del(lx, "gidMappings");
	} else {
		json_object_set_new(lx, "uidMappings",
				    json_pack("[{s:i, s:I, s:I}]", "containerID", 0, "hostID", (json_int_t)in->uid_base,
					      "size", (json_int_t)65536));
		json_object_set_new(lx, "gidMappings",
				    json_pack("[{s:i, s:I, s:I}]", "containerID", 0, "hostID", (json_int_t)in->gid_base,
					      "size", (json_int_t)65536));
	}
}

/* linux: the resources, and a cgroupsPath of the service's own */
static int bundle_resources(json_t *lx, const struct isc_plan *p, isc_error **err)
{
	json_t *res = json_object();
	if (p->memory)
		json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)p->memory));
	if (p->cpu_quota)
		json_object_set_new(
			res, "cpu",
			json_pack("{s:I, s:I}", "quota", (json_int_t)p->cpu_quota, "period", (json_int_t)CPU_PERIOD));
	/* the one limit set without being asked: a fork bomb stops here */
	json_object_set_new(
		res, "pids",
		json_pack("{s:I}", "limit", (json_int_t)(p->pids_limit ? p->pids_limit : ISC_PLAN_PIDS_LIMIT)));
	json_object_set_new(lx, "resources", res);
	unsigned char rnd[4] = { 0 };
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return isc_error_set(err, errno, "bundle: getrandom");
	json_object_set_new(lx, "cgroupsPath",
			    json_sprintf("isc-%s-%02x%02x%02x%02x", p->name, rnd[0], rnd[1], rnd[2], rnd[3]));
	return 0;
}

/* the ISC features that live in the container's setup */
static json_t *bundle_annotations(const struct isc_plan *p, const struct isc_bundle_inputs *in)
{
	json_t *ann = json_object();
	cleanup_free char *scratch =
		isc_xasprintf("size=%s,path=/scratch", p->scratch_size ? p->scratch_size : DEFAULT_SCRATCH_SIZE);
	json_object_set_new(ann, ISC_SCRATCH_ANNOTATION, json_string(scratch));
	json_object_set_new(ann, ISC_IMAGE_ROOT_ANNOTATION, json_string(in->image_id));
	if (in->image_store != NULL)
		json_object_set_new(ann, "org.isc.image.store", json_string(in->image_store));
	if (in->audit_id != 0)
		json_object_set_new(ann, "org.isc.audit.id", json_sprintf("%u", in->audit_id));
	json_object_set_new(ann, "org.isc.service", json_string(p->name));
	/* Landlock: writes only where the service was given somewhere to
	 * write (defence in depth over the read-only mounts).  TCP bind is not
	 * restricted: a service reached through `isc allow` binds ports that
	 * are not exposed. */
	cleanup_free char *ll = isc_xstrdup("rw=/tmp:/run:/dev:/scratch:/persist");
	for (size_t vi = 0; vi < p->n_volumes; vi++) {
		if (p->volumes[vi].ro || strchr(p->volumes[vi].dst, ':') || strchr(p->volumes[vi].dst, ','))
			continue;
		char *more = isc_xasprintf("%s:%s", ll, p->volumes[vi].dst);
		free(ll);
		ll = more;
	}
	for (size_t k = 0; p->tmpfs && p->tmpfs[k]; k++) {
		struct isc_tmpfs t;
		if (isc_plan_parse_tmpfs(p->tmpfs[k], &t, NULL) < 0)
			continue;
		if (strchr(t.dst, ':') == NULL && strchr(t.dst, ',') == NULL) {
			char *more = isc_xasprintf("%s:%s", ll, t.dst);
			free(ll);
			ll = more;
		}
		free(t.dst);
	}
	json_object_set_new(ann, ISC_LANDLOCK_ANNOTATION, json_string(ll));
	return ann;
}

int isc_plan_bundle_config(const struct isc_plan *p, const struct isc_bundle_inputs *in, json_t **out, isc_error **err)
{
	*out = NULL;
	if (in->rootfs == NULL || in->image_id == NULL || in->persist_dir == NULL)
		return isc_error_set(err, EINVAL, "bundle: rootfs, image id and persist folder are required");
	cleanup_free char *text = isc_spec_default_json(false);
	json_error_t jerr;
	json_t *cfg = json_loads(text, 0, &jerr);
	if (cfg == NULL)
		return isc_error_set(err, EINVAL, "bundle: the default spec does not parse: %s", jerr.text);
	uint32_t uid, gid;
	if (isc_plan_service_ids(p, in->image_config, &uid, &gid, err) < 0) {
		json_decref(cfg);
		return -1;
	}
	bundle_process(cfg, p, image_cfg(in->image_config), uid, gid);
	json_object_set_new(cfg, "root", json_pack("{s:s, s:b}", "path", in->rootfs, "readonly", 1));
	const char *hostname = in->hostname ? in->hostname : p->name;
	json_object_set_new(cfg, "hostname", json_string(p->hostname ? p->hostname : hostname));
	bundle_mounts(cfg, p, in);
	json_t *lx = json_object_get(cfg, "linux");
	bundle_namespaces(lx, p, in);
	if (bundle_resources(lx, p, err) < 0) {
		json_decref(cfg);
		return -1;
	}
	json_object_set_new(cfg, "annotations", bundle_annotations(p, in));
	*out = cfg;
	return 0;
}
