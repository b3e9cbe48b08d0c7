/* SPDX-License-Identifier: GPL-2.0-or-later
 * The names config.json gives kernel things (names.h): capabilities and the
 * seccomp actions, operators, architectures and flags; and the names of
 * the hook kinds (spec.h).  The spec parses
 * them; the Linux layer (kernel/caps.c, kernel/seccomp.c) applies the
 * values.  Only libseccomp's and the kernel's headers are used here (the
 * SCMP_ARCH_* tokens are macros): nothing of libseccomp is called. */
#include "spec/names.h"

#include <linux/seccomp.h>
#include <seccomp.h> /* libseccomp: SCMP_ARCH_* */
#include <string.h>

#include "base/util.h"
#include "spec/spec.h" /* ISC_SCMP_* */

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

/* ---- capabilities ---------------------------------------------------------- */

/* Indexed by capability number (include/uapi/linux/capability.h). */
static const char *const cap_names[] = {
	[0] = "CAP_CHOWN",
	[1] = "CAP_DAC_OVERRIDE",
	[2] = "CAP_DAC_READ_SEARCH",
	[3] = "CAP_FOWNER",
	[4] = "CAP_FSETID",
	[5] = "CAP_KILL",
	[6] = "CAP_SETGID",
	[7] = "CAP_SETUID",
	[8] = "CAP_SETPCAP",
	[9] = "CAP_LINUX_IMMUTABLE",
	[10] = "CAP_NET_BIND_SERVICE",
	[11] = "CAP_NET_BROADCAST",
	[12] = "CAP_NET_ADMIN",
	[13] = "CAP_NET_RAW",
	[14] = "CAP_IPC_LOCK",
	[15] = "CAP_IPC_OWNER",
	[16] = "CAP_SYS_MODULE",
	[17] = "CAP_SYS_RAWIO",
	[18] = "CAP_SYS_CHROOT",
	[19] = "CAP_SYS_PTRACE",
	[20] = "CAP_SYS_PACCT",
	[21] = "CAP_SYS_ADMIN",
	[22] = "CAP_SYS_BOOT",
	[23] = "CAP_SYS_NICE",
	[24] = "CAP_SYS_RESOURCE",
	[25] = "CAP_SYS_TIME",
	[26] = "CAP_SYS_TTY_CONFIG",
	[27] = "CAP_MKNOD",
	[28] = "CAP_LEASE",
	[29] = "CAP_AUDIT_WRITE",
	[30] = "CAP_AUDIT_CONTROL",
	[31] = "CAP_SETFCAP",
	[32] = "CAP_MAC_OVERRIDE",
	[33] = "CAP_MAC_ADMIN",
	[34] = "CAP_SYSLOG",
	[35] = "CAP_WAKE_ALARM",
	[36] = "CAP_BLOCK_SUSPEND",
	[37] = "CAP_AUDIT_READ",
	[38] = "CAP_PERFMON",
	[39] = "CAP_BPF",
	[40] = "CAP_CHECKPOINT_RESTORE",
};

int isc_cap_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcmp(cap_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *isc_cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

int isc_cap_last(void)
{
	return (int)ARRAY_SIZE(cap_names) - 1;
}

/* ---- seccomp ----------------------------------------------------------------- */

struct keyword {
	const char *name;
	int value;
};

static const struct keyword action_names[] = {
	{ "SCMP_ACT_KILL", ISC_SCMP_KILL },
	{ "SCMP_ACT_KILL_THREAD", ISC_SCMP_KILL },
	{ "SCMP_ACT_KILL_PROCESS", ISC_SCMP_KILL_PROCESS },
	{ "SCMP_ACT_TRAP", ISC_SCMP_TRAP },
	{ "SCMP_ACT_ERRNO", ISC_SCMP_ERRNO },
	{ "SCMP_ACT_TRACE", ISC_SCMP_TRACE },
	{ "SCMP_ACT_ALLOW", ISC_SCMP_ALLOW },
	{ "SCMP_ACT_LOG", ISC_SCMP_LOG },
	{ "SCMP_ACT_NOTIFY", ISC_SCMP_NOTIFY },
};

static const struct keyword op_names[] = {
	{ "SCMP_CMP_NE", ISC_SCMP_NE },
	{ "SCMP_CMP_LT", ISC_SCMP_LT },
	{ "SCMP_CMP_LE", ISC_SCMP_LE },
	{ "SCMP_CMP_EQ", ISC_SCMP_EQ },
	{ "SCMP_CMP_GE", ISC_SCMP_GE },
	{ "SCMP_CMP_GT", ISC_SCMP_GT },
	{ "SCMP_CMP_MASKED_EQ", ISC_SCMP_MASKED_EQ },
};

struct arch_name {
	const char *name;
	uint32_t token; /* 0: this libseccomp does not know the architecture */
};

#ifndef SCMP_ARCH_LOONGARCH64
#define SCMP_ARCH_LOONGARCH64 0
#endif
#ifndef SCMP_ARCH_M68K
#define SCMP_ARCH_M68K 0
#endif
#ifndef SCMP_ARCH_SH
#define SCMP_ARCH_SH 0
#endif
#ifndef SCMP_ARCH_SHEB
#define SCMP_ARCH_SHEB 0
#endif

/* Every SCMP_ARCH_* name of the runtime spec. */
static const struct arch_name arch_names[] = {
	{ "SCMP_ARCH_X86", SCMP_ARCH_X86 },
	{ "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_X32", SCMP_ARCH_X32 },
	{ "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
	{ "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },
	{ "SCMP_ARCH_MIPS", SCMP_ARCH_MIPS },
	{ "SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64 },
	{ "SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32 },
	{ "SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL },
	{ "SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64 },
	{ "SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32 },
	{ "SCMP_ARCH_PPC", SCMP_ARCH_PPC },
	{ "SCMP_ARCH_PPC64", SCMP_ARCH_PPC64 },
	{ "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
	{ "SCMP_ARCH_S390", SCMP_ARCH_S390 },
	{ "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
	{ "SCMP_ARCH_PARISC", SCMP_ARCH_PARISC },
	{ "SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64 },
	{ "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
	{ "SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64 },
	{ "SCMP_ARCH_M68K", SCMP_ARCH_M68K },
	{ "SCMP_ARCH_SH", SCMP_ARCH_SH },
	{ "SCMP_ARCH_SHEB", SCMP_ARCH_SHEB },
};

struct flag_name {
	const char *name;
	unsigned int flag;
};

static const struct flag_name flag_names[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

static int keyword_find(const struct keyword *t, size_t n, const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].value;
	return -1;
}

int isc_seccomp_action_from_name(const char *name)
{
	return keyword_find(action_names, ARRAY_SIZE(action_names), name);
}

int isc_seccomp_op_from_name(const char *name)
{
	return keyword_find(op_names, ARRAY_SIZE(op_names), name);
}

static const struct arch_name *arch_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++)
		if (strcmp(arch_names[i].name, name) == 0)
			return &arch_names[i];
	return NULL;
}

bool isc_seccomp_arch_known(const char *name)
{
	return arch_find(name) != NULL;
}

uint32_t isc_seccomp_arch_token(const char *name)
{
	const struct arch_name *a = arch_find(name);
	return a ? a->token : 0;
}

static const struct flag_name *flag_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (strcmp(flag_names[i].name, name) == 0)
			return &flag_names[i];
	return NULL;
}

bool isc_seccomp_flag_known(const char *name)
{
	return flag_find(name) != NULL;
}

unsigned int isc_seccomp_flag_value(const char *name)
{
	const struct flag_name *f = flag_find(name);
	return f ? f->flag : 0;
}

const char *isc_seccomp_action_name(int action)
{
	for (size_t i = 0; i < ARRAY_SIZE(action_names); i++)
		if (action_names[i].value == action)
			return action_names[i].name;
	return "unknown action";
}

/* ---- hooks ----------------------------------------------------------------- */

static const char *const hook_names[ISC_HOOK_KINDS] = {
	[ISC_HOOK_PRESTART] = "prestart",
	[ISC_HOOK_CREATE_RUNTIME] = "createRuntime",
	[ISC_HOOK_CREATE_CONTAINER] = "createContainer",
	[ISC_HOOK_START_CONTAINER] = "startContainer",
	[ISC_HOOK_POSTSTART] = "poststart",
	[ISC_HOOK_POSTSTOP] = "poststop",
};

const char *isc_hook_kind_name(enum isc_hook_kind kind)
{
	return (unsigned)kind < ISC_HOOK_KINDS ? hook_names[kind] : "unknown";
}
