/* spawnbench: interleaved start-time driver for bench/start.py.
 *
 * Built by bench/start.py with gcc (not part of the meson build):
 *   gcc -O2 -static -o spawnbench spawnbench.c
 *
 * Usage: spawnbench [-r rounds] [-w warmup] [-b burst] [-s sleep_ms] [-p id_prefix]
 *                   [-m mode_label] [-l logdir] [-H] [-C calib_n] [-t timeout_s] PLAN
 *
 * PLAN holds one line per runner, fields separated by TAB:
 *   run  NAME  OPTS  ARG0  ARG1 ...
 *   post NAME  -     ARG0  ARG1 ...     (untimed command run after each run of NAME)
 * OPTS is "-" or a comma list of:
 *   mntns            setns() into the private mount namespace made by -H before exec
 *   tmpl=PATH        config template; "@ID@" is substituted and the result is
 *   cfg=PATH         ... written to PATH before every run (outside the timed region)
 *   fd=N:PATH        open PATH and place it at fd N in the child (e.g. bwrap --seccomp N)
 * "@ID@" in arguments is replaced by a unique id per run: PREFIX-NAME-MODE-ROUND.
 *
 * -H: make a private mount namespace (held open by fd) in which
 *     /sys/fs/cgroup/unified is covered by an empty tmpfs, so that crun 1.8 sees a pure v1
 *     host. Nothing is mounted in the caller's namespace.
 *
 * Each run: t0 = CLOCK_MONOTONIC; vfork; setpgid; [setns; open fds]; execve; wait4; t1.
 * A run still going after -t seconds (default 30) has its process group killed (status 137).
 * Output (stdout), one CSV line per timed run:
 *   mode,round,name,wall_ns,status,maxrss_kb,utime_us,stime_us
 * ru_maxrss is that of the direct child only (the runtime process itself, which includes
 * the high-water RSS of the driver's address space it started from, see README.md);
 * processes the runtime forks are not included.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNNERS 32
#define MAX_ARGS 64
#define MAX_FDS 4

struct runner {
	char *name;
	char *argv[MAX_ARGS];
	int argc;
	char *post[MAX_ARGS];
	int postc;
	int mntns;
	char *tmpl;     /* template contents */
	char *cfg;      /* where to write it */
	int fdnum[MAX_FDS];
	char *fdpath[MAX_FDS];
	int nfds;
};

static struct runner runners[MAX_RUNNERS];
static int nrunners;
static int mntns_fd = -1;
static char cwd[4096];
static int devnull = -1;
static int outfd = -1;
static int logfd = 2;
static int run_timeout = 30;
static volatile pid_t running_pgid;

/* A hung runtime must not hang the benchmark: kill the run's whole process group. */
static void on_alarm(int sig)
{
	(void)sig;
	if (running_pgid > 0)
		kill(-running_pgid, SIGKILL);
}

static void die(const char *what)
{
	fprintf(stderr, "spawnbench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static char *read_all(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0)
			die(path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(fd);
	return buf;
}

/* Replace every "@ID@" in s by id; returns malloc'd string. */
static char *subst(const char *s, const char *id)
{
	size_t idl = strlen(id), n = 0;
	for (const char *p = s; (p = strstr(p, "@ID@")); p += 4)
		n++;
	char *out = malloc(strlen(s) + n * idl + 1), *o = out;
	const char *p = s, *q;
	while ((q = strstr(p, "@ID@"))) {
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, id, idl);
		o += idl;
		p = q + 4;
	}
	strcpy(o, p);
	return out;
}

static struct runner *find_runner(const char *name)
{
	for (int i = 0; i < nrunners; i++)
		if (!strcmp(runners[i].name, name))
			return &runners[i];
	return NULL;
}

static void parse_plan(const char *path)
{
	char *plan = read_all(path);
	char *save = NULL;
	for (char *line = strtok_r(plan, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[MAX_ARGS + 3];
		int nf = 0;
		char *s2 = NULL;
		for (char *t = strtok_r(line, "\t", &s2); t && nf < MAX_ARGS + 3; t = strtok_r(NULL, "\t", &s2))
			f[nf++] = t;
		if (nf < 4 || f[0][0] == '#')
			continue;
		if (!strcmp(f[0], "post")) {
			struct runner *r = find_runner(f[1]);
			if (!r) {
				fprintf(stderr, "spawnbench: post for unknown runner %s\n", f[1]);
				exit(2);
			}
			for (int i = 3; i < nf; i++)
				r->post[r->postc++] = f[i];
			r->post[r->postc] = NULL;
			continue;
		}
		if (nrunners == MAX_RUNNERS)
			exit(2);
		struct runner *r = &runners[nrunners++];
		r->name = f[1];
		if (strcmp(f[2], "-")) {
			char *s3 = NULL;
			for (char *o = strtok_r(f[2], ",", &s3); o; o = strtok_r(NULL, ",", &s3)) {
				if (!strcmp(o, "mntns"))
					r->mntns = 1;
				else if (!strncmp(o, "tmpl=", 5))
					r->tmpl = read_all(o + 5);
				else if (!strncmp(o, "cfg=", 4))
					r->cfg = o + 4;
				else if (!strncmp(o, "fd=", 3) && r->nfds < MAX_FDS) {
					char *colon = strchr(o + 3, ':');
					if (!colon)
						exit(2);
					*colon = 0;
					r->fdnum[r->nfds] = atoi(o + 3);
					r->fdpath[r->nfds++] = colon + 1;
				} else {
					fprintf(stderr, "spawnbench: unknown option %s\n", o);
					exit(2);
				}
			}
		}
		for (int i = 3; i < nf; i++)
			r->argv[r->argc++] = f[i];
		r->argv[r->argc] = NULL;
	}
}

static void make_mntns(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char c = 'x';
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("none", "/sys/fs/cgroup/unified", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
			c = 'e';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char c = 0;
	if (read(p[0], &c, 1) != 1 || c != 'x') {
		errno = EPERM;
		die("private mount namespace for crun");
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	mntns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mntns_fd < 0)
		die(path);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_cfg(struct runner *r, const char *id)
{
	if (!r->tmpl || !r->cfg)
		return;
	char *c = subst(r->tmpl, id);
	int fd = open(r->cfg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(r->cfg);
	size_t len = strlen(c);
	if (write(fd, c, len) != (ssize_t)len)
		die(r->cfg);
	close(fd);
	free(c);
}

/* Run argv (with @ID@ substituted); returns wait status, fills ru and wall. */
static int spawn(struct runner *r, char **tmplargv, const char *id, int timed_setup,
		 struct rusage *ru, long long *wall)
{
	char *argv[MAX_ARGS];
	int i;
	for (i = 0; tmplargv[i]; i++)
		argv[i] = subst(tmplargv[i], id);
	argv[i] = NULL;
	extern char **environ;
	long long t0 = now_ns();
	pid_t pid = vfork();
	if (pid < 0)
		die("vfork");
	if (pid == 0) {
		setpgid(0, 0);
		if (r->mntns) {
			if (setns(mntns_fd, CLONE_NEWNS) < 0 || chdir(cwd) < 0)
				_exit(126);
		}
		if (timed_setup) {
			for (int k = 0; k < r->nfds; k++) {
				int fd = open(r->fdpath[k], O_RDONLY);
				if (fd < 0 || (fd != r->fdnum[k] && dup2(fd, r->fdnum[k]) < 0))
					_exit(126);
			}
		}
		/* stdio: an empty pipe and a file, never /dev/null: crun 1.8
		 * fchown()s its stdio to the container's root in a user
		 * namespace, and on /dev/null that changes the host's node */
		dup2(devnull, 0);
		dup2(outfd, 1);
		dup2(logfd, 2);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	int st = 0;
	running_pgid = pid;
	alarm((unsigned)run_timeout);
	while (wait4(pid, &st, 0, ru) < 0) {
		if (errno != EINTR)
			die("wait4");
	}
	*wall = now_ns() - t0;
	alarm(0);
	running_pgid = 0;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	return st;
}

static long long __attribute__((noinline)) vfork_exit(int do_setns)
{
	long long t0 = now_ns();
	pid_t pid = vfork();
	if (pid == 0) {
		if (do_setns && setns(mntns_fd, CLONE_NEWNS) < 0)
			_exit(1);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return now_ns() - t0;
}

static void calibrate(int n)
{
	/* Cost of the crun-only setns() into the private mount namespace, measured as
	 * vfork+[setns]+_exit+wait pairs. */
	long long base = 0, with = 0;
	for (int i = 0; i < n; i++) {
		base += vfork_exit(0);
		with += vfork_exit(1);
	}
	printf("#calib,setns_mnt_overhead_ns,%lld\n", (with - base) / n);
}

int main(int argc, char **argv)
{
	int rounds = 10, warmup = 0, sleep_ms = 0, hide = 0, calib = 0, burst = 1, opt;
	const char *prefix = "bench", *mode = "hot", *logdir = NULL;
	while ((opt = getopt(argc, argv, "r:w:s:p:m:l:HC:t:b:")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 'b': burst = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 's': sleep_ms = atoi(optarg); break;
		case 'p': prefix = optarg; break;
		case 'm': mode = optarg; break;
		case 'l': logdir = optarg; break;
		case 'H': hide = 1; break;
		case 'C': calib = atoi(optarg); break;
		case 't': run_timeout = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: spawnbench [-r N] [-w N] [-s ms] [-p prefix] [-m mode] [-l logdir] [-H] [-C n] PLAN\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "spawnbench: need a PLAN file\n");
		return 2;
	}
	if (!getcwd(cwd, sizeof cwd))
		die("getcwd");
	/* "devnull" is the read end of an empty pipe whose write end is closed */
	int pp[2];
	if (pipe2(pp, O_CLOEXEC) < 0)
		die("pipe");
	close(pp[1]);
	devnull = pp[0];
	char outp[4096];
	snprintf(outp, sizeof outp, "%s/stdout.log", logdir ? logdir : "/tmp");
	outfd = open(outp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (outfd < 0)
		die(outp);
	if (logdir) {
		char p[4096];
		snprintf(p, sizeof p, "%s/stderr-%s.log", logdir, mode);
		logfd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (logfd < 0)
			die(p);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	parse_plan(argv[optind]);
	if (hide)
		make_mntns();
	if (calib && mntns_fd >= 0)
		calibrate(calib);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (int round = -warmup; round < rounds; round++) {
		for (int j = 0; j < nrunners; j++) {
			/* rotate the order each round so no runner always follows the same one */
			struct runner *r = &runners[(j + (round + warmup)) % nrunners];
			/* hot mode: a burst of back-to-back runs of the same runner;
			 * only the last one of the burst is recorded */
			for (int b = 0; b < burst; b++) {
			char id[256];
			snprintf(id, sizeof id, "%s-%s-%s%d-%d", prefix, r->name, mode, round + warmup, b);
			write_cfg(r, id);
			if (sleep_ms > 0) {
				struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000L };
				while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
					;
			}
			struct rusage ru;
			long long wall;
			if (logfd != 2)
				dprintf(logfd, "== %s %s\n", r->name, id);
			int st = spawn(r, r->argv, id, 1, &ru, &wall);
			if (round >= 0 && b == burst - 1)
				printf("%s,%d,%s,%lld,%d,%ld,%ld,%ld\n", mode, round, r->name, wall,
				       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), ru.ru_maxrss,
				       (long)(ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec),
				       (long)(ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec));
			if (r->postc) {
				struct rusage ru2;
				long long w2;
				spawn(r, r->post, id, 0, &ru2, &w2);
			}
			}
		}
	}
	return 0;
}
