/* SPDX-License-Identifier: GPL-2.0-or-later
 * `isc run`: flags + the ISC defaults -> a validated plan -> an OCI bundle.
 * The plan is parsed completely (and every value checked) before anything
 * is created; it travels to iscd as JSON and is kept as
 * R/containers/NAME/service.json, so that a restart rebuilds the same
 * container from the pristine image. */
#ifndef ISC_PLAN_H
#define ISC_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "base/cli.h"
#include "base/error.h"
#include "plan/volume.h"

enum isc_restart { ISC_RESTART_NO, ISC_RESTART_ON_FAILURE, ISC_RESTART_ALWAYS };

struct isc_port {
	uint16_t host_port; /* on the host's address */
	uint16_t port;	    /* in the container */
	int proto;	    /* IPPROTO_TCP or IPPROTO_UDP */
};

struct isc_volume {
	char *src; /* absolute host path without symbolic links, must exist */
	char *dst; /* absolute container path */
	bool ro;
	struct isc_volume_id id; /* the source's identity, recorded by iscd at `isc run` (volume.h) */
};

/* The processes (and threads) a service may have when --pids-limit is not
 * given: a fork bomb stops there.  podman's default; threads count too, so
 * a service with large thread pools asks for more (docs/defaults.md). */
#define ISC_PLAN_PIDS_LIMIT 2048
/* process.user.umask of a service and of its isc exec sessions */
#define ISC_SERVICE_UMASK 0022

struct isc_plan {
	char *name;  /* the service's name: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62} */
	char *image; /* image name in the store */
	char **cmd;  /* NULL = the image's default, else /bin/sh */
	char **env;  /* K=V, NULL-terminated */
	struct isc_port *ports;
	size_t n_ports;
	struct isc_volume *volumes;
	size_t n_volumes;
	uint64_t memory;	  /* bytes, 0 = no limit */
	uint64_t cpu_quota;	  /* --cpus N as quota per 100000 us period, 0 = no limit */
	int64_t pids_limit;	  /* 0 = the default, ISC_PLAN_PIDS_LIMIT */
	char *user;		  /* "USER[:GROUP]" (names or numbers) from the flag; numbers once iscd took
				   * it (isc_plan_user_resolve), or NULL (container root) */
	char **cap_add;		  /* capability names ("NET_ADMIN" or "CAP_NET_ADMIN") */
	enum isc_restart restart; /* default: ISC_RESTART_NO attached, ISC_RESTART_ON_FAILURE with -d */
	bool restart_set;	  /* --restart given (client side only: picks the default) */
	bool userns_host;	  /* --userns host: no user namespace */
	bool detach;		  /* -d (client side only) */
	char *scratch_size;	  /* --scratch-size, default "64m" */
	bool persist_exec;	  /* --persist-exec: /persist without noexec */
	bool memfd_exec;	  /* --memfd-exec: no vm.memfd_noexec=2 in the service's pid namespace */
	char **tmpfs;		  /* --tmpfs PATH[:size=N,mode=M] as given, NULL-terminated */
	char *workdir;		  /* -w: the process's cwd (absolute), NULL = the image's, else / */
	char **entrypoint;	  /* --entrypoint: NULL = the image's; set (even empty): the image's
				   * Entrypoint and Cmd are both replaced (podman) */
	char *hostname;		  /* --hostname: the UTS hostname, NULL = the name */
	bool rm;		  /* --rm: removed (as isc rm, /persist kept) once it ends for good */
};
/* The checks of --hostname (RFC 1123 labels) and --entrypoint's form. */
int isc_plan_check_hostname(const char *s, isc_error **err);
/* --entrypoint's value: a JSON array of strings (podman's form), else one
 * word; "" = no entrypoint.  *out is a NULL-terminated list. */
int isc_plan_parse_entrypoint(const char *s, char ***out, isc_error **err);

/* One --tmpfs, parsed: a tmpfs at dst (nosuid, nodev, noexec) that starts
 * with the image's content at dst (tmpcopyup). */
struct isc_tmpfs {
	char *dst;     /* absolute container path */
	uint64_t size; /* bytes; 0 = ISC_TMPFS_DEFAULT_SIZE */
	int mode;      /* -1 = the image's directory's mode (0755 when the runtime creates it) */
};
#define ISC_TMPFS_DEFAULT_SIZE (64ULL << 20)
int isc_plan_parse_tmpfs(const char *s, struct isc_tmpfs *out, isc_error **err);

void isc_plan_clear(struct isc_plan *p);

/* `isc run`'s flags (base/cli.h): getopt's, and isc's --help and completion */
extern const struct isc_cli_flag isc_plan_run_flags[];
/* `isc run` arguments (argv[0] is "run"); usage errors name the flag. */
int isc_plan_parse_args(int argc, char **argv, struct isc_plan *p, isc_error **err);
/* Single-value parsers, also for other verbs (isc expose): */
int isc_plan_parse_port(const char *s, struct isc_port *out, isc_error **err); /* HOSTPORT:PORT[/tcp|udp] */
int isc_plan_parse_size(const char *s, uint64_t *out, isc_error **err);	       /* 64m, 1g, 512k, bytes */
int isc_plan_parse_name(const char *s, isc_error **err);
int isc_plan_parse_cpus(const char *s, uint64_t *quota, isc_error **err); /* --cpus N -> quota per 100 ms */

json_t *isc_plan_to_json(const struct isc_plan *p);
int isc_plan_from_json(json_t *j, struct isc_plan *p, isc_error **err);
/* Every -v destination as the image's symbolic links resolve it (inside
 * the image at `rootfd`, as the runtime resolves it): refused when that
 * lands in a reserved place (/proc, /persist, ...) or on "/"; the message
 * names the -v value and where it resolved to.  Also -w: a directory of
 * the image unless a mount gives it. */
int isc_plan_check_volume_targets(const struct isc_plan *p, int rootfd, isc_error **err);

/* What the host adds to a plan to make a bundle. */
struct isc_bundle_inputs {
	const char *rootfs;	     /* the container's rootfs path (idmapped mount of the image) */
	const char *image_id;	     /* the image's Merkle root (org.isc.image.root) */
	const char *image_store;     /* R/images (org.isc.image.store) */
	const char *persist_dir;     /* R/containers/NAME/persist -> /persist */
	const char *netns_path;	     /* joined network namespace, NULL = a new empty one */
	const char *resolv_conf;     /* bind-mounted read-only at /etc/resolv.conf, NULL = none */
	const char *hosts;	     /* bind-mounted read-only at /etc/hosts, NULL = none */
	char *const *volume_sources; /* per volume, what the runtime binds (iscd: the source bound from
				      * its opened fd, volume.h); NULL = the plan's sources */
	uint32_t uid_base, gid_base; /* container 0 -> base, 65536 ids (unless userns_host) */
	uint32_t audit_id;	     /* org.isc.audit.id, 0 = none */
	const char *hostname;	     /* default: the name */
	json_t *image_config;	     /* the image's OCI config (Cmd, Env, WorkingDir, User) or NULL */
};

/* The ids the service runs as (process.user): --user (numbers: iscd
 * resolved any name at `isc run`), else the image's numeric User, else 0:0. */
int isc_plan_service_ids(const struct isc_plan *p, json_t *image_config, uint32_t *uid, uint32_t *gid, isc_error **err);
/* --user NAME[:GROUP] (or numbers) as UID[:GID] numbers (*numeric,
 * malloc'd), names from the image's /etc/passwd and /etc/group read inside
 * rootfd (the image's root), ids 0-65535 (user.c).  A numeric UID alone
 * stays alone (its group is the same number). */
int isc_plan_user_resolve(int rootfd, const char *spec, char **numeric, isc_error **err);

/* The config.json of the bundle (ISC defaults + the plan), newly allocated. */
int isc_plan_bundle_config(const struct isc_plan *p, const struct isc_bundle_inputs *in, json_t **out, isc_error **err);

#endif
