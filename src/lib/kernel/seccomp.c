/* SPDX-License-Identifier: GPL-2.0-or-later
 * seccomp: linux.seccomp compiled to a BPF program with libseccomp in the
 * runtime, cached on disk, and installed with a bare seccomp(2) in the init.
 * The cache of compiled programs on disk: seccomp-cache.c. */
#include "kernel/seccomp.h"
#include "kernel/seccomp-internal.h"

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <seccomp.h> /* libseccomp (our kernel/seccomp.h is included with its folder) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif

/* ---- libseccomp's operators (the names are the spec's: spec/names.c) ---- */

/* enum isc_seccomp_op -> libseccomp's enum scmp_compare */
static const enum scmp_compare op_to_scmp[] = {
	[ISC_SCMP_NE] = SCMP_CMP_NE,
	[ISC_SCMP_LT] = SCMP_CMP_LT,
	[ISC_SCMP_LE] = SCMP_CMP_LE,
	[ISC_SCMP_EQ] = SCMP_CMP_EQ,
	[ISC_SCMP_GE] = SCMP_CMP_GE,
	[ISC_SCMP_GT] = SCMP_CMP_GT,
	[ISC_SCMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/* ---- filter object ------------------------------------------------------ */

void isc_seccomp_filter_free(struct isc_seccomp_filter *f)
{
	if (f == NULL)
		return;
	free(f->insns);
	free(f);
}

static void filter_freep(struct isc_seccomp_filter **f)
{
	isc_seccomp_filter_free(*f);
}
#define cleanup_filter __attribute__((cleanup(filter_freep)))

/* ---- checks that need no libseccomp ------------------------------------- */

static int check_profile(const struct isc_seccomp *sc, unsigned int *flags, isc_error **err)
{
	if (sc->listener_path != NULL)
		return isc_error_set(err, ENOTSUP, "linux.seccomp.listenerPath: seccomp notification is not supported");
	if (sc->default_action == ISC_SCMP_NOTIFY)
		return isc_error_set(err, ENOTSUP, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported");
	if (sc->default_action < ISC_SCMP_KILL || sc->default_action > ISC_SCMP_NOTIFY)
		return isc_error_set(err, EINVAL, "linux.seccomp.defaultAction: invalid action %d", sc->default_action);
	if (sc->has_default_errno_ret && sc->default_errno_ret > 0xffff)
		return isc_error_set(err, EINVAL, "linux.seccomp.defaultErrnoRet: %u is out of range",
				     sc->default_errno_ret);

	for (size_t i = 0; i < sc->n_rules; i++) {
		const struct isc_seccomp_rule *r = &sc->rules[i];
		if (r->action == ISC_SCMP_NOTIFY)
			return isc_error_set(err, ENOTSUP,
					     "linux.seccomp.syscalls[%zu].action: SCMP_ACT_NOTIFY is not supported", i);
		if (r->action < ISC_SCMP_KILL || r->action > ISC_SCMP_NOTIFY)
			return isc_error_set(err, EINVAL, "linux.seccomp.syscalls[%zu].action: invalid action %d", i,
					     r->action);
		if (r->has_errno_ret && r->errno_ret > 0xffff)
			return isc_error_set(err, EINVAL, "linux.seccomp.syscalls[%zu].errnoRet: %u is out of range", i,
					     r->errno_ret);
		for (size_t k = 0; k < r->n_args; k++) {
			if (r->args[k].index > 5)
				return isc_error_set(
					err, EINVAL,
					"linux.seccomp.syscalls[%zu].args[%zu].index: %u is out of range (0..5)", i, k,
					r->args[k].index);
			if (r->args[k].op < ISC_SCMP_NE || r->args[k].op > ISC_SCMP_MASKED_EQ)
				return isc_error_set(err, EINVAL,
						     "linux.seccomp.syscalls[%zu].args[%zu].op: invalid operator %d", i,
						     k, r->args[k].op);
		}
	}

	for (size_t i = 0; sc->architectures && sc->architectures[i]; i++)
		if (!isc_seccomp_arch_known(sc->architectures[i]))
			return isc_error_set(err, EINVAL, "linux.seccomp.architectures: unknown architecture \"%s\"",
					     sc->architectures[i]);

	*flags = 0;
	for (size_t i = 0; sc->flags && sc->flags[i]; i++) {
		if (!isc_seccomp_flag_known(sc->flags[i]))
			return isc_error_set(err, EINVAL, "linux.seccomp.flags: unknown flag \"%s\"", sc->flags[i]);
		*flags |= isc_seccomp_flag_value(sc->flags[i]);
	}
	return 0;
}

/* ---- compilation ----------------------------------------------------------- */

static void scmp_ctx_release(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static uint32_t scmp_action(int action, bool has_errno_ret, unsigned errno_ret)
{
	unsigned ret = has_errno_ret ? errno_ret : EPERM;
	switch (action) {
	case ISC_SCMP_KILL:
		return SCMP_ACT_KILL_THREAD;
	case ISC_SCMP_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case ISC_SCMP_TRAP:
		return SCMP_ACT_TRAP;
	case ISC_SCMP_ERRNO:
		return SCMP_ACT_ERRNO(ret);
	case ISC_SCMP_TRACE:
		return SCMP_ACT_TRACE(ret);
	case ISC_SCMP_ALLOW:
		return SCMP_ACT_ALLOW;
	case ISC_SCMP_LOG:
		return SCMP_ACT_LOG;
	default:
		return SCMP_ACT_KILL_PROCESS; /* not reached: check_profile() */
	}
}

static int add_rule(scmp_filter_ctx ctx, const struct isc_seccomp_rule *r, size_t i, uint32_t action, const char *name,
		    int nr, isc_error **err)
{
	int ret;
	if (r->n_args == 0) {
		ret = seccomp_rule_add(ctx, action, nr, 0);
		if (ret < 0)
			return isc_error_set(err, -ret, "linux.seccomp.syscalls[%zu]: add rule for %s", i, name);
		return 0;
	}

	/* libseccomp ANDs the comparisons of one rule and refuses two of them
	 * on the same argument.  Like runc and crun, a rule that compares one
	 * argument more than once becomes one rule per comparison (so they
	 * are ORed: e.g. two SCMP_CMP_EQ on arg 0 match either value). */
	bool repeated = false;
	unsigned seen = 0;
	for (size_t k = 0; k < r->n_args; k++) {
		if (seen & (1u << r->args[k].index))
			repeated = true;
		seen |= 1u << r->args[k].index;
	}

	struct scmp_arg_cmp cmp[6];
	if (!repeated) {
		for (size_t k = 0; k < r->n_args; k++)
			cmp[k] = (struct scmp_arg_cmp){ .arg = r->args[k].index,
							.op = op_to_scmp[r->args[k].op],
							.datum_a = r->args[k].value,
							.datum_b = r->args[k].value_two };
		ret = seccomp_rule_add_array(ctx, action, nr, (unsigned)r->n_args, cmp);
		if (ret < 0)
			return isc_error_set(err, -ret, "linux.seccomp.syscalls[%zu]: add rule for %s", i, name);
		return 0;
	}
	for (size_t k = 0; k < r->n_args; k++) {
		cmp[0] = (struct scmp_arg_cmp){ .arg = r->args[k].index,
						.op = op_to_scmp[r->args[k].op],
						.datum_a = r->args[k].value,
						.datum_b = r->args[k].value_two };
		ret = seccomp_rule_add_array(ctx, action, nr, 1, cmp);
		if (ret < 0)
			return isc_error_set(err, -ret, "linux.seccomp.syscalls[%zu]: add rule for %s (args[%zu])", i,
					     name, k);
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct isc_seccomp_filter *f, isc_error **err)
{
	cleanup_close int fd = memfd_create("isc-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "seccomp: memfd_create");
	int ret = seccomp_export_bpf(ctx, fd);
	if (ret < 0)
		return isc_error_set(err, -ret, "seccomp: export the BPF program");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "seccomp: stat the BPF program");
	size_t size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0 || size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return isc_error_set(err, E2BIG,
				     "seccomp: the BPF program has a bad size (%zu bytes, at most %d instructions)",
				     size, BPF_MAXINSNS);
	f->insns = isc_xmalloc0(size);
	f->len = size / sizeof(struct sock_filter);
	ssize_t n = pread(fd, f->insns, size, 0);
	if (n != (ssize_t)size)
		return isc_error_set(err, n < 0 ? errno : EIO, "seccomp: read the BPF program back");
	return 0;
}

/* ---- multiplexers ----------------------------------------------------------- */

/* On x86 (and s390, ppc, mips o32) the socket calls can also be made
 * through socketcall(call, args) and the System V IPC calls through
 * ipc(call, ...).  libseccomp writes every rule for one of these calls as
 * two: the direct syscall with the rule's comparisons, and the multiplexer
 * with argument 0 replaced by "== call" and the other comparisons kept.
 * For socketcall the real arguments are in memory, where a filter cannot
 * read them, and for ipc they sit at other positions: the translated rule
 * checks nothing the profile meant.  `socket` allowed for a0 == AF_INET
 * became socketcall(a0 == SYS_SOCKET) allowed, for every family.
 * libseccomp has no way to add only the direct half
 * (seccomp_rule_add_exact() refuses a conditional socket rule on x86).
 *
 * So when a profile compares the arguments of such a call and does not
 * itself decide about the multiplexer, the multiplexer is refused as a
 * whole, by an unconditional rule added before all others: libseccomp
 * then drops the translated conditional rules (an unconditional rule for a
 * syscall is never narrowed), and the direct syscalls keep their checked
 * rules.  ENOSYS, as from a kernel without the multiplexer: musl tries the
 * direct call first and falls back to socketcall only on ENOSYS, so it
 * works unchanged; glibc built for kernels before 4.3 (Debian's i386
 * glibc) and Go's 386 runtime use socketcall only and get ENOSYS (a profile
 * that must support them allows socketcall explicitly, and with it every
 * socket family).  A profile that names the multiplexer in a rule of its
 * own (Docker's and podman's allow socketcall) is compiled as written. */
struct multiplexer {
	const char *name;
	const char *const *calls;
	size_t n_calls;
};

static const char *const socketcall_calls[] = {
	"socket",     "bind",	 "connect", "listen",  "accept",   "getsockname", "getpeername",
	"socketpair", "send",	 "recv",    "sendto",  "recvfrom", "shutdown",	  "setsockopt",
	"getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg",
};

static const char *const ipc_calls[] = {
	"semop",  "semget", "semctl", "semtimedop", "msgsnd", "msgrcv",
	"msgget", "msgctl", "shmat",  "shmdt",	    "shmget", "shmctl",
};

static const struct multiplexer multiplexers[] = {
	{ "socketcall", socketcall_calls, ARRAY_SIZE(socketcall_calls) },
	{ "ipc", ipc_calls, ARRAY_SIZE(ipc_calls) },
};

static bool name_in(const char *name, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, v[i]) == 0)
			return true;
	return false;
}

/* Whether a rule that compiles to something other than the default names
 * one of `names`, and (if `with_args`) compares arguments. */
static bool profile_names(const struct isc_seccomp *sc, uint32_t def, const char *const *names, size_t n,
			  bool with_args)
{
	for (size_t i = 0; i < sc->n_rules; i++) {
		const struct isc_seccomp_rule *r = &sc->rules[i];
		if (scmp_action(r->action, r->has_errno_ret, r->errno_ret) == def || (with_args && r->n_args == 0))
			continue;
		for (size_t j = 0; r->names && r->names[j]; j++)
			if (name_in(r->names[j], names, n))
				return true;
	}
	return false;
}

/* Whether a rule without argument conditions that compiles to something
 * other than the default names `name`. */
static bool names_unconditionally(const struct isc_seccomp *sc, uint32_t def, const char *name)
{
	for (size_t i = 0; i < sc->n_rules; i++) {
		const struct isc_seccomp_rule *r = &sc->rules[i];
		if (r->n_args != 0 || scmp_action(r->action, r->has_errno_ret, r->errno_ret) == def)
			continue;
		for (size_t j = 0; r->names && r->names[j]; j++)
			if (strcmp(r->names[j], name) == 0)
				return true;
	}
	return false;
}

static int guard_multiplexers(scmp_filter_ctx ctx, const struct isc_seccomp *sc, uint32_t def, isc_error **err)
{
	/* a different action than the default (libseccomp refuses a rule
	 * that does what the default does) */
	const uint32_t guard = def == SCMP_ACT_ERRNO(ENOSYS) ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ERRNO(ENOSYS);
	for (size_t m = 0; m < ARRAY_SIZE(multiplexers); m++) {
		const struct multiplexer *mx = &multiplexers[m];
		if (!profile_names(sc, def, mx->calls, mx->n_calls, true) || names_unconditionally(sc, def, mx->name))
			continue;
		/* the profile's own conditions on the multiplexer would stand
		 * beside libseccomp's translation of the calls' rules (socket
		 * a0 == AF_UNIX became socketcall a0 == SYS_SOCKET): what it
		 * asks cannot be compiled faithfully */
		if (profile_names(sc, def, &mx->name, 1, false))
			return isc_error_set(
				err, EINVAL,
				"linux.seccomp: %s with argument conditions, beside rules that compare the "
				"arguments of the calls it multiplexes: libseccomp would translate those "
				"rules into %s rules comparing the call number; allow or refuse %s "
				"without conditions",
				mx->name, mx->name, mx->name);
		int nr = seccomp_syscall_resolve_name(mx->name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp: never translated to */
		int ret = seccomp_rule_add(ctx, guard, nr, 0);
		if (ret < 0)
			return isc_error_set(err, -ret, "seccomp: refuse the multiplexer %s", mx->name);
		isc_debug("seccomp: %s refused (the profile checks the arguments of calls it multiplexes)", mx->name);
	}
	return 0;
}

/* ---- ENOSYS for syscalls newer than the profile --------------------------------- */

/* A syscall the profile does not name gets the default action, usually
 * EPERM.  For a syscall newer than everything the profile names, that is
 * the wrong answer: libc tries new syscalls first and falls back to the old
 * one only on ENOSYS (glibc's fchmodat(AT_SYMLINK_NOFOLLOW) uses fchmodat2,
 * its fstatat statx, ...), so EPERM breaks programs that would work with
 * the old call the profile allows.  Like runc, a stub before libseccomp's
 * program answers ENOSYS, per architecture, for every syscall number above
 * the highest one the profile names (what a kernel older than the profile
 * would answer); numbers below it keep the default action, so a syscall
 * left out of the profile on purpose is refused as before.  Not for a
 * default that allows (ALLOW, LOG, TRACE): ENOSYS there would refuse what
 * the profile lets through.  x32 (the x86_64 arch with bit 30 set) is
 * compared in its common range only (below its own 512..547 block, which
 * the profile's x32 variants name). */
#define X32_SYSCALL_BIT 0x40000000u
#define X32_FIRST_OWN 512u /* x32's own syscalls start here */

struct stub_arch {
	uint32_t audit;	  /* AUDIT_ARCH_* as in seccomp_data.arch */
	uint32_t max;	  /* highest syscall named */
	bool x86_64;	  /* x32 shares the arch: check bit 30 */
	bool has_x32;	  /* x32 is in the filter */
	uint32_t x32_max; /* highest x32 syscall named in the common range, with the bit */
};

static bool profile_has_name(const struct isc_seccomp *sc, const char *name)
{
	for (size_t i = 0; i < sc->n_rules; i++)
		for (size_t j = 0; sc->rules[i].names && sc->rules[i].names[j]; j++)
			if (strcmp(sc->rules[i].names[j], name) == 0)
				return true;
	return false;
}

static bool multiplexed_call(const char *name)
{
	for (size_t m = 0; m < ARRAY_SIZE(multiplexers); m++)
		if (name_in(name, multiplexers[m].calls, multiplexers[m].n_calls))
			return true;
	return false;
}

/* Highest number (>= 0) the profile names on `token`; -1 if none.  On an
 * arch with a multiplexer, libseccomp resolves the name of a multiplexed
 * call (socket on x86) to a pseudo number, though the call has a direct
 * syscall too (i386's socket is 359), which its rule also covers: those
 * are found by number, in a window above the highest number named (the
 * direct socket and ipc syscalls came late, close to the end of the table). */
#define MUX_DIRECT_WINDOW 1024

static int64_t profile_max(const struct isc_seccomp *sc, uint32_t token, bool x32_common)
{
	int64_t max = -1;
	bool multiplexed = false;
	for (size_t i = 0; i < sc->n_rules; i++)
		for (size_t j = 0; sc->rules[i].names && sc->rules[i].names[j]; j++) {
			int nr = seccomp_syscall_resolve_name_arch(token, sc->rules[i].names[j]);
			if (nr < 0) { /* unknown, or a multiplexed pseudo number */
				multiplexed = multiplexed ||
					      (nr != __NR_SCMP_ERROR && multiplexed_call(sc->rules[i].names[j]));
				continue;
			}
			if (x32_common && ((uint32_t)nr & ~X32_SYSCALL_BIT) >= X32_FIRST_OWN)
				continue;
			if (nr > max)
				max = nr;
		}
	if (!multiplexed || max < 0)
		return max;
	const int64_t from = max + 1;
	for (int64_t nr = from; nr < from + MUX_DIRECT_WINDOW; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(token, (int)nr);
		if (name != NULL && multiplexed_call(name) && profile_has_name(sc, name))
			max = nr;
		free(name);
	}
	return max;
}

static bool default_allows(uint32_t def)
{
	return def == SCMP_ACT_ALLOW || def == SCMP_ACT_LOG || (def & 0xffff0000u) == SCMP_ACT_TRACE(0);
}

/* The architectures in the filter with the highest syscall the profile
 * names on each; returns how many (at most `cap`). */
static size_t stub_arches(scmp_filter_ctx ctx, const struct isc_seccomp *sc, struct stub_arch *out, size_t cap)
{
	uint32_t tokens[32];
	size_t nt = 0;
	tokens[nt++] = seccomp_arch_native();
	for (size_t i = 0; sc->architectures && sc->architectures[i] && nt < ARRAY_SIZE(tokens); i++) {
		uint32_t t = isc_seccomp_arch_token(sc->architectures[i]);
		if (t != 0 && seccomp_arch_exist(ctx, t) == 0)
			tokens[nt++] = t;
	}
	bool x32 = false;
	size_t n = 0;
	for (size_t i = 0; i < nt; i++) {
		if (tokens[i] == SCMP_ARCH_X32) {
			x32 = true;
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup = dup || out[k].audit == tokens[i];
		int64_t max = profile_max(sc, tokens[i], false);
		if (dup || max < 0 || n == cap)
			continue;
		out[n++] = (struct stub_arch){ .audit = tokens[i],
					       .max = (uint32_t)max,
					       .x86_64 = tokens[i] == SCMP_ARCH_X86_64 };
	}
	int64_t x32_max = x32 ? profile_max(sc, SCMP_ARCH_X32, true) : -1;
	for (size_t k = 0; k < n; k++)
		if (out[k].x86_64 && x32_max >= 0) {
			out[k].has_x32 = true;
			out[k].x32_max = (uint32_t)x32_max;
		}
	return n;
}

#define STUB_INSN(c, t, f, v) ((struct sock_filter){ .code = (c), .jt = (t), .jf = (f), .k = (v) })

/* The stub, ending in front of the program it guards:
 *	ld [arch]
 *	per arch:  jeq AUDIT, 0, <next arch>
 *		   ld [nr]
 *		   (x86_64) jset X32_BIT, <x32>, 0    (no x32 in the filter: <main>)
 *		   jgt MAX, <enosys>, <main>
 *		   (x32)    jgt X32_MAX, 0, <main>
 *			    jge X32_BIT|512, <main>, <enosys>
 *	ja <main>
 *	enosys: ret ERRNO(ENOSYS)
 *	main:   (libseccomp's program) */
static size_t stub_len(const struct stub_arch *a)
{
	return 3 + (a->x86_64 ? 1 : 0) + (a->has_x32 ? 2 : 0);
}

static size_t build_stub(const struct stub_arch *arches, size_t n, struct sock_filter *out)
{
	size_t total = 1 + 2;
	for (size_t i = 0; i < n; i++)
		total += stub_len(&arches[i]);
	const size_t enosys = total - 1, main_at = total;
	size_t pc = 0;
	/* offsets are relative to the next instruction; the stub is a few
	 * dozen instructions, far below the 255 a conditional jump reaches */
#define REL(target) ((unsigned char)((target)-pc - 1))
	out[pc] = STUB_INSN(BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, arch));
	pc++;
	for (size_t i = 0; i < n; i++) {
		const struct stub_arch *a = &arches[i];
		const size_t next = pc + stub_len(a);
		out[pc] = STUB_INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, REL(next), a->audit);
		pc++;
		out[pc] = STUB_INSN(BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)offsetof(struct seccomp_data, nr));
		pc++;
		const size_t x32_at = pc + (a->x86_64 ? 2 : 1);
		if (a->x86_64) {
			out[pc] = STUB_INSN(BPF_JMP | BPF_JSET | BPF_K, a->has_x32 ? REL(x32_at) : REL(main_at), 0,
					    X32_SYSCALL_BIT);
			pc++;
		}
		out[pc] = STUB_INSN(BPF_JMP | BPF_JGT | BPF_K, REL(enosys), REL(main_at), a->max);
		pc++;
		if (a->has_x32) {
			out[pc] = STUB_INSN(BPF_JMP | BPF_JGT | BPF_K, 0, REL(main_at), a->x32_max);
			pc++;
			out[pc] = STUB_INSN(BPF_JMP | BPF_JGE | BPF_K, REL(main_at), REL(enosys),
					    X32_SYSCALL_BIT | X32_FIRST_OWN);
			pc++;
		}
	}
	out[pc] = STUB_INSN(BPF_JMP | BPF_JA, 0, 0, (uint32_t)(main_at - pc - 1));
	pc++;
	out[pc] = STUB_INSN(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS);
	pc++;
#undef REL
	return pc;
}

static int add_enosys_stub(scmp_filter_ctx ctx, const struct isc_seccomp *sc, uint32_t def,
			   struct isc_seccomp_filter *f, isc_error **err)
{
	if (default_allows(def) || def == SCMP_ACT_ERRNO(ENOSYS))
		return 0;
	struct stub_arch arches[16];
	size_t n = stub_arches(ctx, sc, arches, ARRAY_SIZE(arches));
	if (n == 0)
		return 0;
	struct sock_filter stub[3 + ARRAY_SIZE(arches) * 6];
	size_t len = build_stub(arches, n, stub);
	if (f->len + len > BPF_MAXINSNS)
		return isc_error_set(err, E2BIG, "seccomp: the BPF program is too long (%zu instructions, at most %d)",
				     f->len + len, BPF_MAXINSNS);
	struct sock_filter *insns = isc_xmalloc0((f->len + len) * sizeof(*insns));
	memcpy(insns, stub, len * sizeof(*insns));
	memcpy(insns + len, f->insns, f->len * sizeof(*insns));
	free(f->insns);
	f->insns = insns;
	f->len += len;
	return 0;
}

/* ---- compilation (continued) ------------------------------------------------------ */

static int compile(const struct isc_seccomp *sc, struct isc_seccomp_filter *f, isc_error **err)
{
	const uint32_t def = scmp_action(sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret);
	__attribute__((cleanup(scmp_ctx_release))) scmp_filter_ctx ctx = seccomp_init(def);
	if (ctx == NULL)
		return isc_error_set(err, EINVAL, "seccomp: cannot create a filter with default action %s",
				     isc_seccomp_action_name(sc->default_action));

	/* The init sets no_new_privs itself when process.noNewPrivileges asks,
	 * and is single-threaded when it installs the filter.  Both attributes
	 * only matter to seccomp_load(), which we never call (the flags come
	 * from linux.seccomp.flags): set them for clarity, and ignore a refusal
	 * (libseccomp answers EOPNOTSUPP for TSYNC where it cannot probe
	 * seccomp(2), e.g. under valgrind). */
	int ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (ret < 0)
		isc_debug("seccomp: cannot clear SCMP_FLTATR_CTL_NNP: %s", strerror(-ret));
	/* A binary tree of syscall numbers instead of a linear list: the kernel
	 * precomputes its per-syscall action cache by running the program for
	 * every syscall of every architecture at load time, so a long linear
	 * allowlist (podman's: ~1150 instructions) costs ~1 ms per start, and
	 * every syscall not in that cache pays the linear walk too. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (ret < 0)
		isc_debug("seccomp: binary-tree optimization unavailable: %s", strerror(-ret));
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0);
	if (ret < 0)
		isc_debug("seccomp: cannot clear SCMP_FLTATR_CTL_TSYNC: %s", strerror(-ret));

	/* The native architecture is always in a new filter.  Syscalls of an
	 * architecture left out hit the bad-architecture action (kill), so
	 * skipping one this libseccomp cannot handle fails closed. */
	for (size_t i = 0; sc->architectures && sc->architectures[i]; i++) {
		const char *arch = sc->architectures[i];
		uint32_t token = isc_seccomp_arch_token(arch);
		if (token == 0) {
			isc_debug("seccomp: libseccomp %d.%d.%d does not know %s, skipping it", SCMP_VER_MAJOR,
				  SCMP_VER_MINOR, SCMP_VER_MICRO, arch);
			continue;
		}
		ret = seccomp_arch_add(ctx, token);
		if (ret < 0 && ret != -EEXIST)
			isc_debug("seccomp: cannot add architecture %s (%s), skipping it", arch, strerror(-ret));
	}

	/* before every other rule: see guard_multiplexers() */
	if (guard_multiplexers(ctx, sc, def, err) < 0)
		return -1;

	for (size_t i = 0; i < sc->n_rules; i++) {
		const struct isc_seccomp_rule *r = &sc->rules[i];
		const uint32_t action = scmp_action(r->action, r->has_errno_ret, r->errno_ret);
		/* libseccomp refuses a rule that does what the default does */
		if (action == def)
			continue;
		for (size_t j = 0; r->names && r->names[j]; j++) {
			int nr = seccomp_syscall_resolve_name(r->names[j]);
			if (nr == __NR_SCMP_ERROR) {
				/* profiles list syscalls newer than libseccomp */
				isc_debug("seccomp: unknown syscall %s skipped", r->names[j]);
				continue;
			}
			if (add_rule(ctx, r, i, action, r->names[j], nr, err) < 0)
				return -1;
		}
	}
	if (export_bpf(ctx, f, err) < 0)
		return -1;
	return add_enosys_stub(ctx, sc, def, f, err);
}

int isc_seccomp_prepare(const struct isc_seccomp *sc, const char *cache_dir, struct isc_seccomp_filter **out,
			isc_error **err)
{
	if (sc == NULL)
		return isc_error_set(err, EINVAL, "seccomp: no profile");
	unsigned int flags = 0;
	if (check_profile(sc, &flags, err) < 0)
		return -1;

	unsigned char key[32];
	char name[64 + sizeof(".bpf")];
	cleanup_close int dirfd = -1;
	if (cache_dir != NULL) {
		isc_seccomp_cache_key(sc, key);
		isc_sha256_hex(key, name);
		memcpy(name + 64, ".bpf", sizeof(".bpf"));
		dirfd = isc_seccomp_cache_open_dir(cache_dir);
		if (dirfd >= 0 && isc_seccomp_cache_load(dirfd, name, key, out) == 0) {
			if ((*out)->flags == flags)
				return 0;
			/* cannot happen: the flags are part of the key */
			isc_seccomp_filter_free(*out);
			*out = NULL;
		}
	}

	cleanup_filter struct isc_seccomp_filter *f = isc_xmalloc0(sizeof(*f));
	if (compile(sc, f, err) < 0)
		return isc_error_wrap(err, "compile the seccomp profile");
	f->flags = flags;
	f->from_cache = false;
	if (dirfd >= 0)
		isc_seccomp_cache_store(dirfd, name, key, f);
	*out = steal_pointer(&f);
	return 0;
}

/* ---- installation (in the init) --------------------------------------------- */

int isc_seccomp_install(const struct isc_seccomp_filter *f, isc_error **err)
{
	if (f == NULL || f->insns == NULL || f->len == 0 || f->len > BPF_MAXINSNS)
		return isc_error_set(err, EINVAL, "load seccomp filter: empty or oversized program");
	struct sock_fprog prog = { .len = (unsigned short)f->len, .filter = f->insns };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog) == 0)
		return 0;
	if (errno == ENOSYS && f->flags == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
		return 0;
	return isc_error_set(err, errno, "load seccomp filter");
}
