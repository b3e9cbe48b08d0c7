/* SPDX-License-Identifier: GPL-2.0-or-later
 * The config.json printed by `isc-runtime spec`: a hardened default.
 *
 * Read-only root, every namespace including user and cgroup, three
 * capabilities, no_new_privs, masked /proc and /sys paths, and a seccomp
 * allowlist (default action: EPERM) covering what an ordinary service
 * needs.  Kernel-wide or namespace-escaping calls (mount, unshare, setns,
 * bpf, keyctl, ptrace, module loading, ...) are left out on purpose; clone
 * is allowed without namespace flags, ioctl without TIOCSTI, TIOCLINUX and
 * TIOCSETD (docs/defaults.md).
 *
 * Conditional rules only: libseccomp (and so runc and crun, given this
 * profile) drops a conditional rule for a syscall that also has an
 * unconditional one, so "ioctl allowed, but not TIOCSTI" cannot be an
 * allow plus a refusal under this default-deny profile.  It is written as
 * the complement instead: allow rules whose masked comparisons together
 * cover every other command. */
#include "spec/spec.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <unistd.h>

#include "base/util.h"

static const char *const default_caps[] = {
	"CAP_AUDIT_WRITE",
	"CAP_KILL",
	"CAP_NET_BIND_SERVICE",
};

static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"TERM=xterm",
};

static const char *const default_namespaces[] = {
	"pid", "network", "ipc", "uts", "mount", "cgroup", "user",
};

static const char *const default_masked_paths[] = {
	"/proc/acpi",
	"/proc/asound",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
};

static const char *const default_readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

struct default_mount {
	const char *destination, *type, *source;
	const char *options[8]; /* NULL-terminated */
	bool rootful_only_last; /* drop the last option when rootless ("gid=5" is not mapped) */
};

static const struct default_mount default_mounts[] = {
	{ "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" }, false },
	/* noexec, beyond runc's and podman's default: nothing runs from /dev,
	 * and a program a container writes there must not run either */
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "noexec", "strictatime", "mode=755", "size=65536k" }, false },
	{ "/dev/pts",
	  "devpts",
	  "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" },
	  true },
	{ "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" }, false },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" }, false },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" }, false },
	{ "/sys/fs/cgroup", "cgroup", "cgroup", { "nosuid", "noexec", "nodev", "relatime", "ro" }, false },
	{ "/tmp", "tmpfs", "tmpfs", { "nosuid", "nodev", "noexec", "mode=1777", "size=65536k" }, false },
	{ "/run", "tmpfs", "tmpfs", { "nosuid", "nodev", "noexec", "mode=755", "size=16384k" }, false },
};

/* Allowed without argument checks.  Names unknown on an architecture are
 * skipped by the seccomp compiler, so 32-bit variants are listed too. */
static const char *const seccomp_allowed[] = {
	/* file I/O */
	"read",
	"write",
	"open",
	"openat",
	"openat2",
	"creat",
	"close",
	"close_range",
	"pread64",
	"pwrite64",
	"readv",
	"writev",
	"preadv",
	"pwritev",
	"preadv2",
	"pwritev2",
	"lseek",
	"_llseek",
	"sendfile",
	"sendfile64",
	"splice",
	"tee",
	"copy_file_range",
	"fadvise64",
	"fadvise64_64",
	"readahead",
	"fallocate",
	"fsync",
	"fdatasync",
	"sync",
	"syncfs",
	"sync_file_range",
	"truncate",
	"truncate64",
	"ftruncate",
	"ftruncate64",
	"fcntl",
	"fcntl64",
	"flock",
	"dup",
	"dup2",
	"dup3", /* ioctl: ioctl_rules() */
	"pipe",
	"pipe2",
	"memfd_create",
	/* metadata and directories */
	"stat",
	"fstat",
	"lstat",
	"stat64",
	"fstat64",
	"lstat64",
	"newfstatat",
	"fstatat64",
	"statx",
	"statfs",
	"fstatfs",
	"statfs64",
	"fstatfs64",
	"access",
	"faccessat",
	"faccessat2",
	"getdents",
	"getdents64",
	"getcwd",
	"chdir",
	"fchdir",
	"rename",
	"renameat",
	"renameat2",
	"mkdir",
	"mkdirat",
	"rmdir",
	"link",
	"linkat",
	"unlink",
	"unlinkat",
	"symlink",
	"symlinkat",
	"readlink",
	"readlinkat",
	"chmod",
	"fchmod",
	"fchmodat",
	"fchmodat2",
	"chown",
	"fchown",
	"lchown",
	"fchownat",
	"chown32",
	"fchown32",
	"lchown32",
	"umask",
	"utime",
	"utimes",
	"utimensat",
	"futimesat",
	"getxattr",
	"lgetxattr",
	"fgetxattr",
	"listxattr",
	"llistxattr",
	"flistxattr",
	/* memory */
	"mmap",
	"mmap2",
	"mprotect",
	"munmap",
	"brk",
	"mremap",
	"msync",
	"madvise",
	"mlock",
	"munlock",
	"mincore",
	"membarrier",
	/* polling and events */
	"select",
	"_newselect",
	"pselect6",
	"poll",
	"ppoll",
	"epoll_create",
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"eventfd",
	"eventfd2",
	"signalfd",
	"signalfd4",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"inotify_init",
	"inotify_init1",
	"inotify_add_watch",
	"inotify_rm_watch",
	/* signals */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"rt_sigsuspend",
	"rt_sigpending",
	"rt_sigtimedwait",
	"rt_sigqueueinfo",
	"rt_tgsigqueueinfo",
	"sigreturn",
	"sigaltstack",
	"kill",
	"tkill",
	"tgkill",
	"pause",
	"alarm",
	"getitimer",
	"setitimer",
	/* time */
	"nanosleep",
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"gettimeofday",
	"time",
	"times",
	/* POSIX timers (timeout(1), glibc's timer_create; podman allows
	 * them): a timer signals its own process or thread only */
	"timer_create",
	"timer_settime",
	"timer_gettime",
	"timer_getoverrun",
	"timer_delete",
	"timer_settime64",
	"timer_gettime64",
	/* sockets */
	/* socket, socketpair, socketcall: socket_rules() */
	"connect",
	"accept",
	"accept4",
	"bind",
	"listen",
	"shutdown",
	"sendto",
	"recvfrom",
	"sendmsg",
	"recvmsg",
	"sendmmsg",
	"recvmmsg",
	"getsockname",
	"getpeername",
	"setsockopt",
	"getsockopt",
	/* processes */
	"fork",
	"vfork",
	"execve",
	/* clone: clone_rule() */ "execveat",
	"exit",
	"exit_group",
	"wait4",
	"waitid",
	"waitpid",
	"getpid",
	"getppid",
	"gettid",
	"getpgrp",
	"setsid",
	"setpgid",
	"getpgid",
	"getsid",
	"set_tid_address",
	"set_robust_list",
	"get_robust_list",
	"restart_syscall",
	"rseq",
	"futex",
	"sched_yield",
	"sched_getaffinity",
	"sched_setaffinity",
	"sched_getparam",
	"sched_getscheduler",
	"sched_get_priority_max",
	"sched_get_priority_min",
	"getpriority",
	"setpriority",
	"prctl",
	"arch_prctl",
	"set_thread_area",
	"get_thread_area",
	"pidfd_open",
	"pidfd_send_signal",
	"getcpu",
	/* credentials (inside the user namespace) */
	"getuid",
	"getgid",
	"geteuid",
	"getegid",
	"setuid",
	"setgid",
	"setreuid",
	"setregid",
	"setresuid",
	"setresgid",
	"getresuid",
	"getresgid",
	"setgroups",
	"getgroups",
	"getuid32",
	"getgid32",
	"geteuid32",
	"getegid32",
	"setuid32",
	"setgid32",
	"setreuid32",
	"setregid32",
	"setresuid32",
	"setresgid32",
	"getresuid32",
	"getresgid32",
	"setgroups32",
	"getgroups32",
	"setfsuid",
	"setfsgid",
	"capget",
	"capset",
	/* resources and system information */
	"getrlimit",
	"ugetrlimit",
	"setrlimit",
	"prlimit64",
	"getrusage",
	"sysinfo",
	"uname",
	"getrandom",
	/* System V and POSIX IPC (private to the ipc namespace) */
	"shmget",
	"shmat",
	"shmdt",
	"shmctl",
	"msgget",
	"msgsnd",
	"msgrcv",
	"msgctl",
	"semget",
	"semop",
	"semtimedop",
	"semctl",
	"ipc",
	"mq_open",
	"mq_unlink",
	"mq_timedsend",
	"mq_timedreceive",
	"mq_notify",
	"mq_getsetattr",
};

/* personality(2) is allowed only with these arguments (like Docker):
 * PER_LINUX, PER_LINUX32 and the query value 0xffffffff. */
static const json_int_t personality_allowed[] = { 0x0, 0x8, 0xffffffff };

static json_t *strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

#define STRV_JSON(v) strv_json((v), ARRAY_SIZE(v))

static json_t *default_process(void)
{
	json_t *caps = json_object();
	json_object_set_new(caps, "bounding", STRV_JSON(default_caps));
	json_object_set_new(caps, "effective", STRV_JSON(default_caps));
	json_object_set_new(caps, "inheritable", json_array());
	json_object_set_new(caps, "permitted", STRV_JSON(default_caps));
	json_object_set_new(caps, "ambient", json_array());

	return json_pack("{s:b, s:{s:i, s:i}, s:[s], s:o, s:s, s:o, s:[{s:s, s:i, s:i}], s:b}", "terminal", 0, "user",
			 "uid", 0, "gid", 0, "args", "sh", "env", STRV_JSON(default_env), "cwd", "/", "capabilities",
			 caps, "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1);
}

static json_t *default_mounts_json(bool rootless)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
		const struct default_mount *m = &default_mounts[i];
		size_t n = 0;
		while (n < ARRAY_SIZE(m->options) && m->options[n] != NULL)
			n++;
		if (rootless && m->rootful_only_last)
			n--;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o}", "destination", m->destination, "type",
						   m->type, "source", m->source, "options", strv_json(m->options, n)));
	}
	return a;
}

/* ioctl commands refused.  TIOCSTI pushes input into a terminal: a
 * process holding the operator's terminal makes the operator's shell run
 * commands (bubblewrap CVE-2017-5226); TIOCLINUX reads and pastes a
 * console's selection, the same thing on a virtual console.  TIOCSETD sets
 * a terminal's line discipline, on any terminal the process holds (its own
 * pty included): the kernel loads the discipline's module on demand
 * (dev.tty.ldisc_autoload), kernel code a container must not be able to
 * bring in (n_hdlc: CVE-2017-2636, n_gsm: CVE-2023-6546). */
static const uint64_t ioctl_refused[] = { TIOCSTI, TIOCLINUX, TIOCSETD };

/* The kernel takes the command as an unsigned int: the high half of the
 * register is ignored, so only the low 32 bits are compared (a filter that
 * compared all 64 let TIOCSTI | 1 << 32 through: flatpak CVE-2019-10063). */
#define IOCTL_CMD_BITS 32

static bool ioctl_refused_under(uint64_t mask, uint64_t value)
{
	for (size_t i = 0; i < ARRAY_SIZE(ioctl_refused); i++)
		if ((ioctl_refused[i] & mask) == value)
			return true;
	return false;
}

/* Allow every command that agrees with `value` on `mask` (the bits above
 * `bit`) and is not refused: one rule when no refused command is among
 * them, else both halves of the next bit.  From the top this gives one rule
 * per bit on the way to each refused command (38 for the three). */
static void ioctl_rules(json_t *rules, int bit, uint64_t mask, uint64_t value)
{
	if (!ioctl_refused_under(mask, value)) {
		json_array_append_new(rules,
				      json_pack("{s:[s], s:s, s:[{s:i, s:I, s:I, s:s}]}", "names", "ioctl", "action",
						"SCMP_ACT_ALLOW", "args", "index", 1, "value", (json_int_t)mask,
						"valueTwo", (json_int_t)value, "op", "SCMP_CMP_MASKED_EQ"));
		return;
	}
	if (bit < 0)
		return; /* exactly a refused command: the default action */
	uint64_t b = (uint64_t)1 << bit;
	ioctl_rules(rules, bit - 1, mask | b, value);
	ioctl_rules(rules, bit - 1, mask | b, value | b);
}

/* clone without a namespace flag: a new user namespace gives a full
 * capability set over new network, mount, ... namespaces, the kernel
 * surface the profile otherwise keeps closed (unshare and setns are not
 * allowed at all).  CLONE_NEWTIME (0x80) is not in the mask: in clone()'s
 * flags that bit is part of the exit signal (CSIGNAL), and only clone3 and
 * unshare can ask for a time namespace.  The flags are the low 32 bits, as
 * the kernel reads them. */
#define CLONE_NS_FLAGS \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

static json_t *clone_rule(void)
{
	return json_pack("{s:[s], s:s, s:[{s:i, s:I, s:I, s:s}]}", "names", "clone", "action", "SCMP_ACT_ALLOW", "args",
			 "index", 0, "value", (json_int_t)CLONE_NS_FLAGS, "valueTwo", (json_int_t)0, "op",
			 "SCMP_CMP_MASKED_EQ");
}

/* socket for the families a service uses and the container's network
 * namespace confines: unix, IPv4, IPv6, netlink (some protocols: below),
 * packet (raw sockets still need CAP_NET_RAW).  Not AF_VSOCK (its ports are the machine's, shared
 * with the hypervisor's agents, in no network namespace), nor the rest of
 * the kernel's families (AF_ALG, AF_BLUETOOTH, AF_RDS, ...: attack surface
 * no service needs).  The whole 64-bit argument is compared: a family with
 * high bits set is refused, though the kernel would read only the int. */
static const json_int_t socket_families[] = { AF_UNIX, AF_INET, AF_INET6, AF_PACKET };

/* netlink only for the protocols of the container's own network namespace
 * that services use (measured: `ip` opens NETLINK_ROUTE, `ss`
 * NETLINK_SOCK_DIAG = NETLINK_INET_DIAG; genetlink and nfnetlink for
 * ethtool/nft).  Not NETLINK_KOBJECT_UEVENT: a container without a user
 * namespace of its own would receive the host's device events (the kernel
 * limits uevents only by the namespace's owning user namespace), nor
 * NETLINK_AUDIT: with CAP_AUDIT_WRITE it writes user records into the
 * host's kernel audit.  Those and the rest (XFRM, connector, ...) fail
 * with EPROTONOSUPPORT, what a kernel without that protocol answers:
 * libaudit then takes audit as absent instead of failing. */
static const json_int_t netlink_protocols[] = { NETLINK_ROUTE, NETLINK_SOCK_DIAG, NETLINK_NETFILTER, NETLINK_GENERIC };

static bool netlink_allowed(json_int_t protocol)
{
	for (size_t i = 0; i < ARRAY_SIZE(netlink_protocols); i++)
		if (netlink_protocols[i] == protocol)
			return true;
	return false;
}

/* socket(AF_NETLINK, *, protocol OP value): allowed, or EPROTONOSUPPORT */
static json_t *netlink_rule(bool allow, const char *op, json_int_t value)
{
	json_t *r = json_pack("{s:[s], s:s, s:[{s:i, s:I, s:s}, {s:i, s:I, s:s}]}", "names", "socket", "action",
			      allow ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO", "args", "index", 0, "value",
			      (json_int_t)AF_NETLINK, "op", "SCMP_CMP_EQ", "index", 2, "value", value, "op", op);
	if (!allow)
		json_object_set_new(r, "errnoRet", json_integer(EPROTONOSUPPORT));
	return r;
}

/* socketcall, the 32-bit x86 multiplexer of the socket calls, passes the
 * family in memory, where a filter cannot read it; and libseccomp writes
 * each `socket` rule below for x86 also as "socketcall(call == SYS_SOCKET)"
 * with the family comparison dropped: any family.
 * So socketcall is refused, unconditionally (libseccomp keeps no
 * conditional rule next to an unconditional one, whichever comes first: the
 * translated rules are dropped), with ENOSYS:
 * musl tries the direct socket syscalls (x86 has them since Linux 4.3)
 * first and falls back to socketcall only on ENOSYS.  glibc built for
 * older kernels (Debian's i386 glibc) and Go's 386 runtime call socketcall
 * only: their sockets fail with ENOSYS in this profile.  isc's compiler
 * adds the same refusal to any profile that filters socket arguments
 * without naming socketcall; stating it here keeps the profile safe in
 * runc and crun too.  (x32 has no multiplexer: its socket is checked like
 * x86_64's.)  socketpair creates sockets of the family it names (and loads
 * the family's module) before it fails for every family but AF_UNIX: only
 * AF_UNIX, the one whose pairs exist. */
static void socket_rules(json_t *rules)
{
	json_array_append_new(rules, json_pack("{s:[s], s:s, s:i}", "names", "socketcall", "action", "SCMP_ACT_ERRNO",
					       "errnoRet", ENOSYS));
	json_array_append_new(rules, json_pack("{s:[s], s:s, s:[{s:i, s:I, s:s}]}", "names", "socketpair", "action",
					       "SCMP_ACT_ALLOW", "args", "index", 0, "value", (json_int_t)AF_UNIX, "op",
					       "SCMP_CMP_EQ"));
	for (size_t i = 0; i < ARRAY_SIZE(socket_families); i++)
		json_array_append_new(rules, json_pack("{s:[s], s:s, s:[{s:i, s:I, s:s}]}", "names", "socket", "action",
						       "SCMP_ACT_ALLOW", "args", "index", 0, "value",
						       socket_families[i], "op", "SCMP_CMP_EQ"));
	/* libseccomp refuses overlapping rules of different actions: every
	 * protocol up to the highest allowed one gets its own rule, anything
	 * above (as a 64-bit unsigned value) the last one */
	json_int_t top = 0;
	for (size_t i = 0; i < ARRAY_SIZE(netlink_protocols); i++)
		top = netlink_protocols[i] > top ? netlink_protocols[i] : top;
	for (json_int_t p = 0; p <= top; p++)
		json_array_append_new(rules, netlink_rule(netlink_allowed(p), "SCMP_CMP_EQ", p));
	json_array_append_new(rules, netlink_rule(false, "SCMP_CMP_GT", top));
}

static json_t *default_seccomp(void)
{
	json_t *rules = json_array();
	json_array_append_new(rules,
			      json_pack("{s:o, s:s}", "names", STRV_JSON(seccomp_allowed), "action", "SCMP_ACT_ALLOW"));
	for (size_t i = 0; i < ARRAY_SIZE(personality_allowed); i++)
		json_array_append_new(rules, json_pack("{s:[s], s:s, s:[{s:i, s:I, s:s}]}", "names", "personality",
						       "action", "SCMP_ACT_ALLOW", "args", "index", 0, "value",
						       personality_allowed[i], "op", "SCMP_CMP_EQ"));
	ioctl_rules(rules, IOCTL_CMD_BITS - 1, 0, 0);
	json_array_append_new(rules, clone_rule());
	socket_rules(rules);
	/* clone3 takes its flags in a struct seccomp cannot inspect: make
	 * libc fall back to clone(), whose flags are checked above. */
	json_array_append_new(rules, json_pack("{s:[s], s:s, s:i}", "names", "clone3", "action", "SCMP_ACT_ERRNO",
					       "errnoRet", 38 /* ENOSYS */));

	return json_pack("{s:s, s:i, s:[s, s, s], s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
			 1 /* EPERM */, "architectures", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
			 "syscalls", rules);
}

static json_t *idmap_json(json_int_t container_id, json_int_t host_id, json_int_t size)
{
	return json_pack("[{s:I, s:I, s:I}]", "containerID", container_id, "hostID", host_id, "size", size);
}

char *isc_spec_default_json(bool rootless)
{
	json_t *ns = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(default_namespaces); i++)
		json_array_append_new(ns, json_pack("{s:s}", "type", default_namespaces[i]));

	/* rootful: a block of 65536 ids at 100000; rootless: only the caller */
	json_t *uidmap = rootless ? idmap_json(0, (json_int_t)getuid(), 1) : idmap_json(0, 100000, 65536);
	json_t *gidmap = rootless ? idmap_json(0, (json_int_t)getgid(), 1) : idmap_json(0, 100000, 65536);

	/* a pids limit: without one a fork bomb in the container runs until
	 * the host's pid space is gone */
	json_t *linux_obj =
		json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:{s:{s:I}}}", "namespaces", ns, "uidMappings", uidmap,
			  "gidMappings", gidmap, "maskedPaths", STRV_JSON(default_masked_paths), "readonlyPaths",
			  STRV_JSON(default_readonly_paths), "seccomp", default_seccomp(), "rootfsPropagation",
			  "rprivate", "resources", "pids", "limit", (json_int_t)ISC_SPEC_DEFAULT_PIDS_LIMIT);

	json_t *root = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.2.0", "process",
				 default_process(), "root", "path", "rootfs", "readonly", 1, "hostname", "isc",
				 "mounts", default_mounts_json(rootless), "linux", linux_obj);
	if (root == NULL)
		abort(); /* a bug in the format strings above, or out of memory */
	char *text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (text == NULL)
		abort();
	return text;
}

char *isc_spec_default_seccomp_json(void)
{
	json_t *sc = default_seccomp();
	if (sc == NULL)
		abort(); /* a bug in the format strings, or out of memory */
	char *text = json_dumps(sc, JSON_INDENT(2));
	json_decref(sc);
	if (text == NULL)
		abort();
	return text;
}
