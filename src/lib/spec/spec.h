/* SPDX-License-Identifier: GPL-2.0-or-later
 * config.json (OCI runtime-spec 1.2, Linux) parsed into a plan.
 *
 * isc_spec_parse() validates everything it can without touching the system
 * (types, names, values) so that a bad bundle fails before anything is
 * created.  The rest of libisc executes the plan and never looks at JSON.
 * Unknown fields are ignored, as the spec asks. */
#ifndef ISC_SPEC_H
#define ISC_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct isc_kv {
	char *key;
	char *value;
};

struct isc_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

/* capability sets as bit masks (bit n = capability n) */
struct isc_caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
	bool present; /* process.capabilities was given */
};

struct isc_process {
	bool terminal;
	char **args; /* NULL-terminated, at least one element */
	char **env;  /* NULL-terminated, may be empty */
	char *cwd;   /* absolute */
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	bool has_umask;
	mode_t umask;
	struct isc_caps caps;
	struct isc_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	unsigned console_height, console_width;
	/* Linux security modules: refused by isc_spec_check_host when set */
	char *apparmor_profile; /* NULL or "" = not set */
	char *selinux_label;
};

/* mount flags split the way the kernel needs them */
struct isc_mount {
	char *destination;	   /* absolute, inside the container */
	char *type;		   /* may be NULL for bind mounts */
	char *source;		   /* may be NULL */
	unsigned long flags;	   /* MS_* applied at mount / remount (RDONLY, NOSUID, NODEV, NOEXEC, ...) */
	unsigned long clear_flags; /* flags explicitly cleared ("rw", "suid", ...) */
	unsigned long propagation; /* one of MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC), or 0 */
	bool bind;		   /* bind or rbind */
	bool recursive;		   /* rbind */
	bool tmpcopyup;		   /* copy the image's content into the tmpfs */
	bool rro;		   /* recursive read-only (mount_setattr) */
	char *data;		   /* remaining filesystem options joined by ',' (may be NULL) */
};

struct isc_namespace {
	int type;   /* CLONE_NEWNS, CLONE_NEWPID, ... , CLONE_NEWTIME */
	char *path; /* join this one; NULL = create a new one */
};

struct isc_idmap {
	uint32_t container_id, host_id, size;
};

struct isc_device {
	char *path; /* absolute, inside the container */
	char type;  /* 'c', 'b', 'u' or 'p' */
	int64_t major, minor;
	bool has_file_mode;
	mode_t file_mode;
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
};

struct isc_device_rule {
	bool allow;
	char type;	      /* 'a', 'c' or 'b' */
	int64_t major, minor; /* -1 = wildcard */
	char access[4];	      /* subset of "rwm" */
};

struct isc_resources {
	/* memory (bytes; has_* tells what was given) */
	bool has_memory_limit, has_memory_reservation, has_memory_swap, has_memory_swappiness;
	int64_t memory_limit, memory_reservation, memory_swap;
	uint64_t memory_swappiness;
	bool disable_oom_killer;
	/* cpu */
	bool has_cpu_shares, has_cpu_quota, has_cpu_period;
	uint64_t cpu_shares;
	int64_t cpu_quota;
	uint64_t cpu_period;
	char *cpu_cpus, *cpu_mems;
	/* pids */
	bool has_pids_limit;
	int64_t pids_limit; /* -1 or 0 = unlimited */
	/* devices cgroup rules, in order */
	struct isc_device_rule *devices;
	size_t n_devices;
	/* blockIO */
	bool has_blkio_weight;
	uint16_t blkio_weight;
	/* hugepage limits: pagesize string ("2MB") and limit */
	struct isc_kv *hugepage_limits; /* value is the decimal limit */
	size_t n_hugepage_limits;
	/* unified (cgroup v2 key/value pairs) */
	struct isc_kv *unified;
	size_t n_unified;
	/* network (net_cls classID, net_prio priorities): not applied, a warning */
	bool has_network;
};

enum isc_hook_kind {
	ISC_HOOK_PRESTART,
	ISC_HOOK_CREATE_RUNTIME,
	ISC_HOOK_CREATE_CONTAINER,
	ISC_HOOK_START_CONTAINER,
	ISC_HOOK_POSTSTART,
	ISC_HOOK_POSTSTOP,
	ISC_HOOK_KINDS
};
/* The hook kind's name in config.json ("prestart" ...), from the one table
 * of them (names.c) that the parser, the runner's messages and `features`
 * use; "unknown" out of range. */
const char *isc_hook_kind_name(enum isc_hook_kind kind);

struct isc_hook {
	char *path;
	char **args; /* NULL-terminated; may be NULL */
	char **env;  /* NULL-terminated; may be NULL */
	int timeout; /* seconds; 0 = none */
};

struct isc_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	int op; /* enum isc_seccomp_op */
};

enum isc_seccomp_op {
	ISC_SCMP_NE = 1,
	ISC_SCMP_LT,
	ISC_SCMP_LE,
	ISC_SCMP_EQ,
	ISC_SCMP_GE,
	ISC_SCMP_GT,
	ISC_SCMP_MASKED_EQ
};

enum isc_seccomp_action {
	ISC_SCMP_KILL = 1, /* SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD */
	ISC_SCMP_KILL_PROCESS,
	ISC_SCMP_TRAP,
	ISC_SCMP_ERRNO,
	ISC_SCMP_TRACE,
	ISC_SCMP_ALLOW,
	ISC_SCMP_LOG,
	ISC_SCMP_NOTIFY,
};

struct isc_seccomp_rule {
	char **names; /* NULL-terminated */
	int action;   /* enum isc_seccomp_action */
	bool has_errno_ret;
	unsigned errno_ret;
	struct isc_seccomp_arg *args;
	size_t n_args;
};

struct isc_seccomp {
	int default_action;
	bool has_default_errno_ret;
	unsigned default_errno_ret;
	char **architectures; /* NULL-terminated: "SCMP_ARCH_X86_64", ... */
	char **flags;	      /* NULL-terminated: "SECCOMP_FILTER_FLAG_LOG", ... */
	struct isc_seccomp_rule *rules;
	size_t n_rules;
	char *listener_path;
};

struct isc_time_offset {
	int clock; /* CLOCK_MONOTONIC or CLOCK_BOOTTIME */
	int64_t secs;
	uint32_t nanosecs;
};

struct isc_spec {
	char *oci_version;
	struct isc_process process;
	char *root_path; /* as written (may be relative to the bundle) */
	bool root_readonly;
	char *hostname; /* NULL when not given */
	char *domainname;
	struct isc_mount *mounts;
	size_t n_mounts;
	struct isc_kv *annotations;
	size_t n_annotations;
	struct isc_hook *hooks[ISC_HOOK_KINDS];
	size_t n_hooks[ISC_HOOK_KINDS];

	/* linux */
	struct isc_namespace *namespaces;
	size_t n_namespaces;
	struct isc_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct isc_device *devices;
	size_t n_devices;
	char *cgroups_path; /* NULL when not given */
	bool has_resources;
	struct isc_resources resources;
	char **masked_paths; /* NULL-terminated (may be NULL) */
	char **readonly_paths;
	struct isc_kv *sysctl;
	size_t n_sysctl;
	struct isc_seccomp *seccomp;	  /* NULL = no filter */
	unsigned long rootfs_propagation; /* MS_* propagation | MS_REC, 0 = default (private) */
	bool has_personality;
	unsigned long personality; /* PER_LINUX or PER_LINUX32 | flags */
	struct isc_time_offset *time_offsets;
	size_t n_time_offsets;
	char *mount_label; /* linux.mountLabel (SELinux); NULL or "" = not set */
};

/* Seed JSON hashing from AT_RANDOM; call once at program start, before any
 * JSON object exists. */
void isc_json_init(void);

/* Parse config.json text.  Errors name the field: "process.args: must be a
 * non-empty array of strings", "linux.namespaces[2].type: unknown namespace
 * type \"foo\"". */
int isc_spec_parse(const char *json, size_t len, struct isc_spec **out, isc_error **err);
/* Read and parse BUNDLE/config.json. */
int isc_spec_load(const char *bundle, struct isc_spec **out, isc_error **err);
/* Parse a runtime-spec linux.resources object alone (update --resources).
 * Errors name the field from "resources": "resources.memory.limit: ...".
 * Free with isc_resources_clear(). */
int isc_spec_parse_resources(const char *json, size_t len, struct isc_resources *out, isc_error **err);
void isc_resources_clear(struct isc_resources *r);
/* Parse a runtime-spec process object alone (exec --process).  Errors name
 * the field from "process".  cwd stays NULL when not given.  Free with
 * isc_process_clear(). */
int isc_spec_parse_process(const char *json, size_t len, struct isc_process *out, isc_error **err);
void isc_process_clear(struct isc_process *p);

/* What the parser cannot tell alone: the settings this machine (or
 * isc-runtime) cannot apply.  A non-empty process.apparmorProfile,
 * process.selinuxLabel or linux.mountLabel is refused, the message naming
 * the field and why (the module is not enabled here; isc-runtime applies no
 * AppArmor profile or SELinux label).  Warnings (the log), not errors:
 * linux.resources.network (no net_cls/net_prio), and ambient capabilities
 * that are not both permitted and inheritable (the kernel refuses to raise
 * them; like runc, the container runs without them).  `spec` may be NULL
 * to check a process alone (exec). */
int isc_spec_check_host(const struct isc_spec *spec, const struct isc_process *p, isc_error **err);
void isc_spec_free(struct isc_spec *spec);
static inline void isc_spec_freep(struct isc_spec **s)
{
	if (*s)
		isc_spec_free(*s);
}
#define cleanup_spec __attribute__((cleanup(isc_spec_freep)))

/* Lookups */
const struct isc_namespace *isc_spec_namespace(const struct isc_spec *spec, int type);
const char *isc_spec_annotation(const struct isc_spec *spec, const char *key);

/* The pids limit of `isc-runtime spec`: a fork bomb stops at this many
 * processes and threads (docs/defaults.md). */
#define ISC_SPEC_DEFAULT_PIDS_LIMIT 1024

/* The default config.json printed by `isc-runtime spec` (hardened: read-only
 * root, every namespace including user and cgroup, minimal capabilities, a
 * pids limit).
 * `rootless` selects the user-namespace mapping for a non-root caller.
 * Returns a newly allocated string. */
char *isc_spec_default_json(bool rootless);
/* linux.seccomp of that config alone: the format podman and Docker take in
 * `--security-opt seccomp=FILE` (`isc-runtime spec --seccomp-only`). */
char *isc_spec_default_seccomp_json(void);

/* Keyword tables (data, not strcmp chains).  Return -1 when unknown. */
int isc_namespace_type_from_name(const char *name); /* "pid" -> CLONE_NEWPID */
/* The namespace that holds a sysctl key ("net.ipv4.x" or "net/ipv4/x" ->
 * CLONE_NEWNET; the IPC ones -> CLONE_NEWIPC; kernel.domainname and
 * kernel.hostname -> CLONE_NEWUTS), 0 when it is not namespaced. */
int isc_sysctl_namespace(const char *key);
/* "/proc/sys/..." for a linux.sysctl key in the dotted or the slash form
 * (malloc'ed). */
char *isc_sysctl_path(const char *key);
const char *isc_namespace_type_name(int type);
int isc_rlimit_from_name(const char *name); /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE */

/* Parse one mount option list into flags (mountopt.c; exposed for unit tests). */
int isc_mount_parse_options(char **options, struct isc_mount *m, isc_error **err);

#endif
