/* SPDX-License-Identifier: GPL-2.0-or-later
 * The plan of a create: everything that is read, decided and checked
 * before anything exists on the system, in this order (isc_create_plan):
 *
 *   plan_config       the bundle, config.json read and parsed (a config
 *                     without a user namespace re-executes from a sealed
 *                     copy of the binary first)
 *   plan_rootfs       root.path, and org.isc.image.root's quick check
 *   plan_landlock     org.isc.landlock against the kernel's ABI
 *   plan_process      terminal, --preserve-fds/LISTEN_FDS, hostname
 *   plan_namespaces   the namespaces to join, opened and type-checked
 *   plan_audit        org.isc.audit.id
 *   scratch_prepare   org.isc.scratch and the ids that will own it
 *   check_mount_namespace  a new mount namespace, always
 *   plan_binary       the last moment to re-execute from a sealed binary
 *   plan_seccomp      the filter compiled (or loaded from the cache), the
 *                     device rules, NOTIFY_SOCKET
 *
 * A failure returns with nothing made; what the plan holds (the parsed
 * spec, namespace fds, the filter) the struct create owns (create.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit-id.h"
#include "base/log.h"
#include "base/util.h"
#include "image/manifest.h"
#include "kernel/exeseal.h"
#include "kernel/landlock.h"
#include "runtime/container-internal.h"
#include "runtime/exec.h"

/* The devices cgroup: the config's rules, then the nodes every container
 * gets (null, zero, full, random, urandom, tty, ptmx, pts/N) and the
 * config's linux.devices.  Without rules in the config, everything else is
 * denied first: a minimal /dev is also a minimal set of devices. */
static struct isc_device_rule *device_rules(const struct isc_spec *spec, size_t *n)
{
	static const struct isc_device_rule defaults[] = {
		{ true, 'c', 1, 3, "rwm" },    /* null */
		{ true, 'c', 1, 5, "rwm" },    /* zero */
		{ true, 'c', 1, 7, "rwm" },    /* full */
		{ true, 'c', 1, 8, "rwm" },    /* random */
		{ true, 'c', 1, 9, "rwm" },    /* urandom */
		{ true, 'c', 5, 0, "rwm" },    /* tty */
		{ true, 'c', 5, 2, "rwm" },    /* ptmx */
		{ true, 'c', 136, -1, "rwm" }, /* pts/N */
	};
	const struct isc_resources *r = &spec->resources;
	size_t user = spec->has_resources ? r->n_devices : 0;
	size_t total = (user ? 0 : 1) + user + ARRAY_SIZE(defaults) + spec->n_devices;
	struct isc_device_rule *v = isc_xmalloc0(total * sizeof(*v));
	size_t k = 0;
	if (user == 0)
		v[k++] = (struct isc_device_rule){ false, 'a', -1, -1, "rwm" };
	for (size_t i = 0; i < user; i++)
		v[k++] = r->devices[i];
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		v[k++] = defaults[i];
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct isc_device *d = &spec->devices[i];
		if (d->type != 'c' && d->type != 'b' && d->type != 'u')
			continue;
		v[k++] = (struct isc_device_rule){ true, d->type == 'b' ? 'b' : 'c', d->major, d->minor, "rwm" };
	}
	*n = k;
	return v;
}

/* org.isc.scratch, before anything exists: the value, a mount namespace to
 * put it in, and the host ids that will own the data directory (the
 * process's user, through the user namespace's maps). */
static int scratch_prepare(const struct isc_spec *spec, const struct isc_ns_plan *ns, const char *value,
			   struct isc_scratch_opts *o, uint32_t *uid, uint32_t *gid, isc_error **err)
{
	if (isc_scratch_parse(value, o, err) < 0)
		return -1;
	const struct isc_namespace *mnt = isc_spec_namespace(spec, CLONE_NEWNS);
	if (mnt == NULL || mnt->path) {
		isc_scratch_opts_clear(o);
		return isc_error_set(err, EINVAL, "annotation %s: needs a new mount namespace", ISC_SCRATCH_ANNOTATION);
	}
	uint32_t cu = spec->process.uid, cg = spec->process.gid;
	int r = 0;
	if (ns->user_join && spec->n_uid_mappings == 0) {
		/* a joined user namespace: its maps, through /proc/PID/ns/user */
		const struct isc_namespace *u = isc_spec_namespace(spec, CLONE_NEWUSER);
		int pid = 0, end = 0;
		cleanup_free char *um = NULL, *gm = NULL;
		cleanup_error isc_error *e = NULL;
		if (u == NULL || u->path == NULL || sscanf(u->path, "/proc/%d/ns/user%n", &pid, &end) != 1 ||
		    u->path[end] != '\0') {
			r = isc_error_set(err, EINVAL, "annotation %s: cannot read the maps of user namespace %s",
					  ISC_SCRATCH_ANNOTATION, u && u->path ? u->path : "(none)");
		} else {
			cleanup_free char *up = isc_xasprintf("/proc/%d/uid_map", pid);
			cleanup_free char *gp = isc_xasprintf("/proc/%d/gid_map", pid);
			if (isc_read_file(up, &um, NULL, 0, &e) < 0 || isc_read_file(gp, &gm, NULL, 0, &e) < 0 ||
			    isc_scratch_map_id_text(um, cu, uid) < 0 || isc_scratch_map_id_text(gm, cg, gid) < 0)
				r = isc_error_set(err, EINVAL, "annotation %s: process.user %u:%u is not mapped in %s",
						  ISC_SCRATCH_ANNOTATION, cu, cg, u->path);
		}
	} else if (!ns->user_new && !ns->user_join) {
		*uid = cu;
		*gid = cg;
	} else if (isc_scratch_map_id(spec->uid_mappings, spec->n_uid_mappings, cu, uid) < 0 ||
		   isc_scratch_map_id(spec->gid_mappings, spec->n_gid_mappings, cg, gid) < 0) {
		r = isc_error_set(err, EINVAL, "annotation %s: process.user %u:%u is not mapped in the user namespace",
				  ISC_SCRATCH_ANNOTATION, cu, cg);
	}
	if (r < 0)
		isc_scratch_opts_clear(o);
	return r;
}

int isc_container_protect_binary(const struct isc_context *ctx, const char *id, bool could_write, isc_error **err)
{
	/* With a user namespace that maps neither the binary's owner nor (for a
	 * group-writable binary) its group, no process of the container can
	 * open it for writing: the copy is not needed (exeseal.c). */
	if (!could_write)
		return 0;
	if (isc_exe_sealed()) {
		isc_exe_restore_name();
		return 0;
	}
	if (!ctx->may_reexec)
		return isc_error_set(err, EPERM,
				     "container %s could write this program's binary (no user namespace, "
				     "or one that maps its owner), and this process does not run from a "
				     "sealed copy of it",
				     id);
	isc_container_mark("re-exec from a sealed view of the binary");
	return isc_exe_reexec_sealed(ctx->root, err);
}

/* A look at the config's text before it is parsed: could it ask for a
 * user namespace?  Only a "user" that is the value of a key can be one
 * ("type": "user"); without any, there is none.  A spelling this misses
 * ("\u0075ser") only makes the re-exec happen early for a config that
 * might not have needed it. */
static bool may_ask_userns(const char *text)
{
	for (const char *p = strstr(text, "\"user\""); p; p = strstr(p + 1, "\"user\"")) {
		const char *q = p;
		while (q > text && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\n' || q[-1] == '\r'))
			q--;
		if (q > text && q[-1] == ':')
			return true;
	}
	return false;
}

static int check_mount_namespace(const struct isc_spec *spec, isc_error **err)
{
	const struct isc_namespace *mnt = isc_spec_namespace(spec, CLONE_NEWNS);
	if (mnt == NULL)
		return isc_error_set(err, 0,
				     "linux.namespaces: a mount namespace is required "
				     "(isc-runtime never changes the caller's mount namespace)");
	if (mnt->path && mnt->path[0])
		return isc_error_set(err, 0,
				     "linux.namespaces: mount namespace %s: joining a mount namespace "
				     "is not supported (isc-runtime builds the root only in a mount "
				     "namespace it creates)",
				     mnt->path);
	return 0;
}

/* The bundle and its config.json, read and parsed.  A config without a
 * user namespace re-executes from a sealed copy of the binary now, before
 * the parse that would then be done twice; the others are decided once
 * parsed (a map of the binary's owner, plan_binary). */
static int plan_config(struct create *c, isc_error **err)
{
	const struct isc_create_opts *o = c->o;
	if (realpath(o->bundle ? o->bundle : ".", c->bundle) == NULL)
		return isc_error_set(err, errno, "bundle %s", o->bundle ? o->bundle : ".");
	c->config_path = isc_xasprintf("%s/config.json", c->bundle);
	if (isc_read_file(c->config_path, &c->config_text, &c->config_len, 0, err) < 0)
		return -1;
	if (!may_ask_userns(c->config_text) && isc_container_protect_binary(c->ctx, o->id, true, err) < 0)
		return -1;
	if (isc_spec_parse(c->config_text, c->config_len, &c->spec, err) < 0)
		return isc_error_wrap(err, "%s", c->config_path);
	if (isc_spec_check_host(c->spec, NULL, err) < 0)
		return -1;
	isc_container_mark("config parsed");
	return 0;
}

/* root.path, a directory; org.isc.image.root: the rootfs is an image of
 * the store whose id is this Merkle root, and it still passes the quick
 * check (refuse loudly otherwise, or when its last full verification
 * failed). */
static int plan_rootfs(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	cleanup_free char *root_joined = spec->root_path[0] == '/' ? isc_xstrdup(spec->root_path)
								   : isc_xasprintf("%s/%s", c->bundle, spec->root_path);
	if (realpath(root_joined, c->rootfs) == NULL)
		return isc_error_set(err, errno, "root.path: rootfs %s", root_joined);
	struct stat rst;
	if (stat(c->rootfs, &rst) < 0)
		return isc_error_set(err, errno, "root.path: rootfs %s", c->rootfs);
	if (!S_ISDIR(rst.st_mode))
		return isc_error_set(err, ENOTDIR, "root.path: rootfs %s", c->rootfs);

	const char *image_root = isc_spec_annotation(spec, ISC_IMAGE_ROOT_ANNOTATION);
	const char *image_store = isc_spec_annotation(spec, ISC_IMAGE_STORE_ANNOTATION);
	if (image_store && image_root == NULL)
		return isc_error_set(err, EINVAL, "annotation %s: needs %s", ISC_IMAGE_STORE_ANNOTATION,
				     ISC_IMAGE_ROOT_ANNOTATION);
	/* with a store: the rootfs is a mount (e.g. idmapped) of that store's
	 * image elsewhere; without: it is the store's path itself */
	if (image_root && (image_store ? isc_image_check_root_at(c->rootfs, image_root, image_store, err)
				       : isc_image_check_root(c->rootfs, image_root, err)) < 0)
		return isc_error_wrap(err, "refusing to start from image %s", image_root);
	isc_container_mark("image checked");
	return 0;
}

/* org.isc.landlock: checked now, applied by every process before exec */
static int plan_landlock(const struct isc_spec *spec, isc_error **err)
{
	const char *ll_value = isc_spec_annotation(spec, ISC_LANDLOCK_ANNOTATION);
	if (ll_value == NULL)
		return 0;
	struct isc_landlock ll;
	if (isc_landlock_parse(ll_value, &ll, err) < 0)
		return -1;
	bool bind = ll.restrict_bind;
	isc_landlock_clear(&ll);
	if (!spec->process.no_new_privileges)
		return isc_error_set(err, EINVAL, "annotation %s: needs process.noNewPrivileges",
				     ISC_LANDLOCK_ANNOTATION);
	int abi = isc_landlock_abi();
	if (abi < 1 || (bind && abi < 4))
		return isc_error_set(err, EOPNOTSUPP, "annotation %s: the kernel's Landlock ABI is %d%s",
				     ISC_LANDLOCK_ANNOTATION, abi, bind ? " (bind= needs 4)" : "");
	return 0;
}

/* The terminal, the fds the caller passes, the names of the UTS namespace. */
static int plan_process(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	const struct isc_create_opts *o = c->o;
	if (spec->process.terminal && o->console_socket == NULL)
		return isc_error_set(err, EINVAL, "process.terminal is true but no --console-socket was given");
	c->listen = isc_container_listen_fds();
	if (o->preserve_fds < 0 || c->listen + o->preserve_fds > ISC_MAX_PRESERVE_FDS)
		return isc_error_set(err, EINVAL, "--preserve-fds %d: at most %d fds", o->preserve_fds,
				     ISC_MAX_PRESERVE_FDS - c->listen);
	if (isc_container_check_preserved(c->listen + o->preserve_fds, err) < 0)
		return -1;

	if (spec->hostname && isc_spec_namespace(spec, CLONE_NEWUTS) == NULL)
		return isc_error_set(err, EINVAL, "hostname: cannot set a hostname without a UTS namespace");
	if (spec->domainname && isc_spec_namespace(spec, CLONE_NEWUTS) == NULL)
		return isc_error_set(err, EINVAL, "domainname: cannot set a domainname without a UTS namespace");
	return 0;
}

static int plan_namespaces(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	if (isc_ns_plan_make(spec, &c->ns, err) < 0)
		return -1;
	if (!c->ns.user_new && !c->ns.user_join && (spec->n_uid_mappings || spec->n_gid_mappings))
		return isc_error_set(err, EINVAL, "linux.uidMappings given without a user namespace");
	return 0;
}

/* org.isc.audit.id: a container that holds CAP_AUDIT_CONTROL in the host's
 * user namespace could change its loginuid: refused */
static int plan_audit(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	const char *audit_value = isc_spec_annotation(spec, ISC_AUDIT_ID_ANNOTATION);
	if (audit_value == NULL) /* no audit id: the init inherits ours, never an unset one */
		return isc_audit_lock_loginuid(err);
	if (isc_audit_id_parse(audit_value, &c->audit_id, err) < 0)
		return isc_error_wrap(err, "annotation");
	if (!c->ns.user_new && !c->ns.user_join && (spec->process.caps.bounding & (1ULL << CAP_AUDIT_CONTROL)))
		return isc_error_set(err, EINVAL,
				     "annotation %s: the container would keep CAP_AUDIT_CONTROL "
				     "without a user namespace and could change its audit identity",
				     ISC_AUDIT_ID_ANNOTATION);
	return 0;
}

/* Nothing exists yet: the last moment to re-execute from a sealed copy of
 * the binary, when the container could write it (exeseal.c). */
static int plan_binary(struct create *c, isc_error **err)
{
	const struct isc_spec *spec = c->spec;
	bool could_write = true;
	if (c->ns.user_new &&
	    isc_exe_container_could_write(spec->uid_mappings, spec->n_uid_mappings, spec->gid_mappings,
					  spec->n_gid_mappings, &could_write, err) < 0)
		return -1;
	return isc_container_protect_binary(c->ctx, c->o->id, could_write, err);
}

/* The seccomp filter, the device rules, NOTIFY_SOCKET: the last of the
 * plan, all in memory. */
static int plan_seccomp(struct create *c, isc_error **err)
{
	struct isc_spec *spec = c->spec;
	if (spec->seccomp && isc_seccomp_prepare(spec->seccomp, c->ctx->seccomp_cache, &c->filter, err) < 0)
		return isc_error_wrap(err, "linux.seccomp");
	isc_debug("seccomp: %s", c->filter ? (c->filter->from_cache ? "from cache" : "compiled") : "none");
	isc_container_mark("seccomp ready");

	size_t n_rules = 0;
	c->res = spec->resources;
	c->rules = device_rules(spec, &n_rules);
	c->res.devices = c->rules;
	c->res.n_devices = n_rules;
	c->notify_path = getenv("NOTIFY_SOCKET");
	if (c->notify_path && c->notify_path[0] != '/')
		c->notify_path = NULL; /* abstract or relative: not proxied */
	c->notify_dir = isc_notify_dir(spec);
	return 0;
}

int isc_create_plan(struct create *c, isc_error **err)
{
	if (isc_state_check_id(c->o->id, err) < 0)
		return -1;
	isc_container_mark("create: begin");
	if (plan_config(c, err) < 0 || plan_rootfs(c, err) < 0 || plan_landlock(c->spec, err) < 0 ||
	    plan_process(c, err) < 0 || plan_namespaces(c, err) < 0 || plan_audit(c, err) < 0)
		return -1;
	c->scratch_value = isc_spec_annotation(c->spec, ISC_SCRATCH_ANNOTATION);
	if (c->scratch_value &&
	    scratch_prepare(c->spec, &c->ns, c->scratch_value, &c->sopt, &c->scratch_uid, &c->scratch_gid, err) < 0)
		return -1;
	/* The root is built (pivot_root, propagation, mounts) only in a mount
	 * namespace made for the container: the caller's is never changed, and
	 * another one joined by path belongs to someone else. */
	if (check_mount_namespace(c->spec, err) < 0)
		return -1;
	if (plan_binary(c, err) < 0 || plan_seccomp(c, err) < 0)
		return -1;
	return 0;
}
