/* SPDX-License-Identifier: GPL-2.0-or-later
 * `isc-runtime features`: what this runtime implements, as the runtime-spec
 * features document (features.md) describes. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/caps.h"
#include "spec/spec.h"
#include "runtime.h"

static json_t *strings(const char *const *v)
{
	json_t *a = json_array();
	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static const char *const mount_options[] = {
	"async",   "atime",	"bind",	       "defaults",   "dev",	"diratime", "dirsync",	   "exec",
	"mand",	   "noatime",	"nodev",       "nodiratime", "noexec",	"nomand",   "norelatime",  "nostrictatime",
	"nosuid",  "private",	"rbind",       "relatime",   "remount", "ro",	    "rprivate",	   "rro",
	"rshared", "rslave",	"runbindable", "rw",	     "shared",	"slave",    "strictatime", "suid",
	"sync",	   "tmpcopyup", "unbindable",  NULL
};
static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts", NULL };
static const char *const actions[] = { "SCMP_ACT_ALLOW",	"SCMP_ACT_ERRNO",	"SCMP_ACT_KILL",
				       "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
				       "SCMP_ACT_TRACE",	"SCMP_ACT_TRAP",	NULL };
static const char *const operators[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE",	      "SCMP_CMP_GT", "SCMP_CMP_LE",
					 "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL };
static const char *const archs[] = { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",    "SCMP_ARCH_X32",
				     "SCMP_ARCH_X86",	  "SCMP_ARCH_X86_64", NULL };
static const char *const seccomp_flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
					     "SECCOMP_FILTER_FLAG_TSYNC", NULL };

int verb_features(struct global *g, int argc, char **argv)
{
	(void)g;
	/* other arguments are ignored, as runc does */
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return verb_usage("features", stdout), 0;
	json_t *hooks = json_array();
	for (int k = 0; k < ISC_HOOK_KINDS; k++)
		json_array_append_new(hooks, json_string(isc_hook_kind_name((enum isc_hook_kind)k)));
	json_t *caps = json_array();
	for (int c = 0; c <= isc_cap_last(); c++)
		if (isc_cap_name(c))
			json_array_append_new(caps, json_string(isc_cap_name(c)));
	json_t *o = json_pack(
		"{s:s, s:s, s:o, s:o, s:{s:o, s:o, s:{s:b, s:b, s:b, s:b}, s:{s:b, s:o, s:o, s:o, s:o, s:o}, "
		"s:{s:b}, s:{s:b}, s:{s:b}, s:{s:{s:b}}}, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", "1.2.0", "hooks", hooks, "mountOptions",
		strings(mount_options), "linux", "namespaces", strings(namespaces), "capabilities", caps, "cgroup",
		"v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "seccomp", "enabled", 1, "actions", strings(actions),
		"operators", strings(operators), "archs", strings(archs), "knownFlags", strings(seccomp_flags),
		"supportedFlags", strings(seccomp_flags), "apparmor", "enabled", 0, "selinux", "enabled", 0, "intelRdt",
		"enabled", 0, "mountExtensions", "idmap", "enabled", 0, "annotations", "org.isc.runtime.version",
		ISC_VERSION, "org.isc.seccomp.cache", "sha256-keyed, root-only", "org.isc.scratch",
		"size=N[k|m|g],path=/abs,exec|noexec: encrypted per-container scratch (docs/annotations.md)",
		"org.isc.image.root",
		"<64 hex>: refuse to start unless the rootfs is that image of an isc store and passes its check",
		"org.isc.image.store", "<dir>: the store whose image the rootfs is a mount of (idmapped view)",
		"org.isc.landlock", "rw=PATHS,bind=PORTS: a Landlock domain for every process of the container",
		"org.isc.audit.id", "<decimal>: the container's audit identity (loginuid before the user namespace)",
		"org.isc.runtime.mount-namespace",
		"required: a new one (the caller's is never changed; joining one by path is refused)",
		"org.isc.runtime.exe-seal",
		"overlay or memfd: re-executed from a read-only view of the binary before entering a container that could write it");
	if (o == NULL) {
		fprintf(stderr, "isc-runtime: features: internal error\n");
		return 1;
	}
	char *s = json_dumps(o, JSON_INDENT(2));
	printf("%s\n", s);
	free(s);
	json_decref(o);
	return 0;
}
