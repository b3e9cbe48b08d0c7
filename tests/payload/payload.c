/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-payload: a tiny static multi-call binary run inside test containers.
 *
 * Usage: payload COMMAND [ARGS...]   (or a symlink named like a command)
 *
 * Every probe prints one short, machine-checkable line.  A failed system
 * call prints "errno NAME" (EPERM, EROFS, ...) and the command exits 1;
 * usage errors exit 2.  No NSS, no locale: it must run in an empty rootfs
 * as any uid.  Written for the isc integration suite (tests/integration). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- output helpers ------------------------------------------------------ */

static const char *errno_name(int e)
{
    static char buf[32];
    const char *n = strerrorname_np(e);
    if (n != NULL)
        return n;
    snprintf(buf, sizeof(buf), "E%d", e);
    return buf;
}

/* Print "ok" or "errno NAME" for a syscall-style result; return the exit code. */
static int report(long ret)
{
    if (ret < 0) {
        printf("errno %s\n", errno_name(errno));
        return 1;
    }
    printf("ok\n");
    return 0;
}

static int report_errno(void)
{
    printf("errno %s\n", errno_name(errno));
    return 1;
}

static int usage(const char *what)
{
    fprintf(stderr, "payload: usage: %s\n", what);
    return 2;
}

static int copy_fd(int in, int out)
{
    char buf[8192];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            off += w;
        }
    }
}

static int cat_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return report_errno();
    fflush(stdout);
    int r = copy_fd(fd, STDOUT_FILENO);
    int saved = errno;
    close(fd);
    if (r < 0) {
        errno = saved;
        return report_errno();
    }
    return 0;
}

/* Read a small file into buf (NUL-terminated, trailing newline stripped). */
static int read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return -1;
    }
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return 0;
}

/* Find "FIELD:\tvalue" in /proc/self/status; copies the value to out. */
static int status_field(const char *field, char *out, size_t size)
{
    static char buf[16384];
    if (read_small("/proc/self/status", buf, sizeof(buf)) < 0)
        return -1;
    size_t flen = strlen(field);
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            const char *v = line + flen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            snprintf(out, size, "%s", v);
            return 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    errno = ENOENT;
    return -1;
}

/* ---- simple commands ----------------------------------------------------- */

static int cmd_true(int argc, char **argv) { return 0; }
static int cmd_false(int argc, char **argv) { return 1; }

static int cmd_exit(int argc, char **argv)
{
    if (argc < 2)
        return usage("exit N");
    return atoi(argv[1]) & 0xff;
}

static int cmd_echo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        printf("%s%s", i > 1 ? " " : "", argv[i]);
    printf("\n");
    return 0;
}

static int cmd_cat(int argc, char **argv)
{
    if (argc < 2)
        return usage("cat FILE");
    return cat_path(argv[1]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_ls(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    DIR *d = opendir(dir);
    if (d == NULL)
        return report_errno();
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **tmp = realloc(names, cap * sizeof(*names));
            if (tmp == NULL)
                abort();
            names = tmp;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL)
            abort();
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        printf("%s\n", names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}

static int cmd_id(int argc, char **argv)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    gid_t groups[256];
    if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
        return report_errno();
    int ng = getgroups((int)ARRAY_SIZE(groups), groups);
    if (ng < 0)
        return report_errno();
    printf("uid=%u gid=%u euid=%u egid=%u suid=%u sgid=%u groups=",
           (unsigned)ruid, (unsigned)rgid, (unsigned)euid, (unsigned)egid,
           (unsigned)suid, (unsigned)sgid);
    for (int i = 0; i < ng; i++)
        printf("%s%u", i ? "," : "", (unsigned)groups[i]);
    printf("\n");
    return 0;
}

static int cmd_caps(int argc, char **argv)
{
    static const char *const fields[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
    char v[128];
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        if (status_field(fields[i], v, sizeof(v)) < 0)
            return report_errno();
        printf("%s=%s\n", fields[i], v);
    }
    return 0;
}

static int cmd_status(int argc, char **argv)
{
    char v[4096];
    if (argc < 2)
        return usage("status FIELD");
    if (status_field(argv[1], v, sizeof(v)) < 0)
        return report_errno();
    printf("%s\n", v);
    return 0;
}

static int cmd_write(int argc, char **argv)
{
    if (argc < 3)
        return usage("write FILE TEXT");
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return report_errno();
    size_t len = strlen(argv[2]);
    ssize_t w = write(fd, argv[2], len);
    int saved = errno;
    if (close(fd) < 0 && w >= 0) {
        saved = errno;
        w = -1;
    }
    if (w < 0 || (size_t)w != len) {
        errno = w < 0 ? saved : EIO;
        return report_errno();
    }
    return report(0);
}

static int cmd_mkdir(int argc, char **argv)
{
    if (argc < 2)
        return usage("mkdir PATH");
    return report(mkdir(argv[1], 0755));
}

static int cmd_mount(int argc, char **argv)
{
    if (argc < 4)
        return usage("mount SRC DST FSTYPE");
    return report(mount(argv[1], argv[2], argv[3], 0, NULL));
}

static int cmd_hostname(int argc, char **argv)
{
    struct utsname u;
    if (uname(&u) < 0)
        return report_errno();
    printf("%s\n", u.nodename);
    return 0;
}

static int cmd_domainname(int argc, char **argv)
{
    struct utsname u;
    if (uname(&u) < 0)
        return report_errno();
    printf("%s\n", u.domainname);
    return 0;
}

struct rlimit_name {
    const char *name;
    int resource;
};

static const struct rlimit_name rlimit_names[] = {
    { "AS", RLIMIT_AS },           { "CORE", RLIMIT_CORE },
    { "CPU", RLIMIT_CPU },         { "DATA", RLIMIT_DATA },
    { "FSIZE", RLIMIT_FSIZE },     { "LOCKS", RLIMIT_LOCKS },
    { "MEMLOCK", RLIMIT_MEMLOCK }, { "MSGQUEUE", RLIMIT_MSGQUEUE },
    { "NICE", RLIMIT_NICE },       { "NOFILE", RLIMIT_NOFILE },
    { "NPROC", RLIMIT_NPROC },     { "RSS", RLIMIT_RSS },
    { "RTPRIO", RLIMIT_RTPRIO },   { "RTTIME", RLIMIT_RTTIME },
    { "SIGPENDING", RLIMIT_SIGPENDING }, { "STACK", RLIMIT_STACK },
};

static void print_rlim(rlim_t v)
{
    if (v == RLIM_INFINITY)
        printf("unlimited");
    else
        printf("%llu", (unsigned long long)v);
}

static int cmd_rlimit(int argc, char **argv)
{
    if (argc < 2)
        return usage("rlimit NAME");
    const char *name = argv[1];
    if (strncmp(name, "RLIMIT_", 7) == 0)
        name += 7;
    for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++) {
        if (strcasecmp(rlimit_names[i].name, name) != 0)
            continue;
        struct rlimit rl;
        if (getrlimit(rlimit_names[i].resource, &rl) < 0)
            return report_errno();
        print_rlim(rl.rlim_cur);
        printf(" ");
        print_rlim(rl.rlim_max);
        printf("\n");
        return 0;
    }
    return usage("rlimit NAME (unknown name)");
}

static int cmd_sysctl(int argc, char **argv)
{
    char path[PATH_MAX];
    if (argc < 2)
        return usage("sysctl NAME|PATH");
    if (argv[1][0] == '/') {
        snprintf(path, sizeof(path), "%s", argv[1]);
    } else {
        /* kernel.shmmax -> /proc/sys/kernel/shmmax */
        snprintf(path, sizeof(path), "/proc/sys/%s", argv[1]);
        for (char *p = path + strlen("/proc/sys/"); *p; p++)
            if (*p == '.')
                *p = '/';
    }
    char buf[4096];
    if (read_small(path, buf, sizeof(buf)) < 0)
        return report_errno();
    printf("%s\n", buf);
    return 0;
}

static int cmd_oom(int argc, char **argv)
{
    return cat_path("/proc/self/oom_score_adj");
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static int cmd_sleep(int argc, char **argv)
{
    if (argc < 2)
        return usage("sleep SECONDS");
    double secs = strtod(argv[1], NULL);
    struct timespec ts = { .tv_sec = (time_t)secs,
                           .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return 0;
}

/* One sd_notify datagram; FDSTORE=1 carries fds 0-2 and BARRIER=1 the write
 * end of a pipe, as sd_pid_notify_with_fds() and sd_notify_barrier() do. */
static int notify_send(int fd, const struct sockaddr_un *sa, const char *msg)
{
    int fds[3] = { 0, 1, 2 }, nfds = 0, pfd[2] = { -1, -1 };
    if (strstr(msg, "FDSTORE=1"))
        nfds = 3;
    else if (strstr(msg, "BARRIER=1") && pipe2(pfd, O_CLOEXEC) == 0)
        fds[0] = pfd[1], nfds = 1;
    struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
    union {
        char buf[CMSG_SPACE(sizeof(fds))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr mh = { .msg_name = (void *)sa, .msg_namelen = sizeof(*sa), .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds) {
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    int r = sendmsg(fd, &mh, 0) < 0 ? -1 : 0;
    if (pfd[0] >= 0) {
        close(pfd[0]);
        close(pfd[1]);
    }
    return r;
}

/* notify MSG [SECONDS [MSG...]]: send MSG to $NOTIFY_SOCKET (sd_notify),
 * after sleeping SECONDS if given, then each further MSG as a datagram of
 * its own; then sleep 30 s so that the service stays up */
static int cmd_notify(int argc, char **argv)
{
    if (argc < 2)
        return usage("notify MSG [DELAY [MSG...]]");
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        printf("no NOTIFY_SOCKET\n");
        return 1;
    }
    if (argc > 2) {
        double secs = strtod(argv[2], NULL);
        struct timespec ts = { .tv_sec = (time_t)secs,
                               .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    for (int i = 1; i < argc; i = i == 1 ? 3 : i + 1) {
        if (fd < 0 || notify_send(fd, &sa, argv[i]) < 0) {
            printf("errno %s\n", errno_name(errno));
            return 1;
        }
    }
    close(fd);
    struct timespec ts = { .tv_sec = 30 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return 0;
}

/* trap [SECONDS]: wait for a catchable signal (pid 1 of a pid namespace
 * ignores signals it has no handler for), print "signal N" and exit 128+N. */
static int cmd_trap(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 3600.0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP || s == SIGCHLD)
            continue;
        sigaction(s, &sa, NULL);
    }
    printf("ready\n");
    fflush(stdout);
    struct timespec ts = { .tv_sec = (time_t)secs, .tv_nsec = 0 };
    while (!got_signal) {
        if (nanosleep(&ts, &ts) == 0)
            break;
    }
    if (!got_signal) {
        printf("timeout\n");
        return 0;
    }
    printf("signal %d\n", (int)got_signal);
    fflush(stdout);
    return 128 + got_signal;
}

static int cmd_pid(int argc, char **argv)
{
    printf("pid=%d ppid=%d\n", (int)getpid(), (int)getppid());
    return 0;
}

static int cmd_ns(int argc, char **argv)
{
    static const char *const types[] = {
        "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
        "time", "time_for_children", "user", "uts",
    };
    int rc = 0;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        char path[64], target[128];
        snprintf(path, sizeof(path), "/proc/self/ns/%s", types[i]);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0) {
            printf("%s errno %s\n", types[i], errno_name(errno));
            rc = 1;
            continue;
        }
        target[n] = '\0';
        printf("%s %s\n", types[i], target);
    }
    return rc;
}

static int cmd_cgroup(int argc, char **argv)
{
    return cat_path("/proc/self/cgroup");
}

static int cmd_mountinfo(int argc, char **argv)
{
    return cat_path("/proc/self/mountinfo");
}

static int cmd_memhog(int argc, char **argv)
{
    if (argc < 2)
        return usage("memhog MB");
    long mb = atol(argv[1]);
    for (long i = 0; i < mb; i++) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("allocated %ld MB\n", i);
            return report_errno();
        }
        memset(p, 0x5a, 1 << 20);
    }
    printf("allocated %ld MB\n", mb);
    return 0;
}

/* forkbomb N: fork up to N children that just wait; report how many
 * succeeded and the errno of the first failure, then kill and reap them. */
static int cmd_forkbomb(int argc, char **argv)
{
    if (argc < 2)
        return usage("forkbomb N");
    long n = atol(argv[1]);
    if (n <= 0 || n > 100000)
        return usage("forkbomb N (1..100000)");
    pid_t *kids = calloc((size_t)n, sizeof(*kids));
    if (kids == NULL)
        abort();
    long ok = 0;
    int first_err = 0;
    fflush(stdout);
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            for (;;)
                pause();
        }
        if (p < 0) {
            if (first_err == 0)
                first_err = errno;
            continue;
        }
        kids[ok++] = p;
    }
    for (long i = 0; i < ok; i++)
        kill(kids[i], SIGKILL);
    for (long i = 0; i < ok; i++)
        while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
            ;
    free(kids);
    printf("forked=%ld failed=%ld errno=%s\n", ok, n - ok,
           first_err ? errno_name(first_err) : "none");
    return 0;
}

static int cmd_env(int argc, char **argv)
{
    for (char **e = environ; e && *e; e++)
        printf("%s\n", *e);
    return 0;
}

static int cmd_cwd(int argc, char **argv)
{
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof(buf)) == NULL)
        return report_errno();
    printf("%s\n", buf);
    return 0;
}

static int cmd_umask(int argc, char **argv)
{
    mode_t m = umask(0);
    umask(m);
    printf("%04o\n", (unsigned)m);
    return 0;
}

static int cmd_read_stdin(int argc, char **argv)
{
    fflush(stdout);
    if (copy_fd(STDIN_FILENO, STDOUT_FILENO) < 0)
        return report_errno();
    return 0;
}

static int cmd_errno(int argc, char **argv)
{
    if (argc < 2)
        return usage("errno NAME|NUMBER");
    char *end;
    long v = strtol(argv[1], &end, 10);
    if (*end == '\0') {
        printf("%s\n", errno_name((int)v));
        return 0;
    }
    for (int e = 1; e < 4096; e++) {
        const char *n = strerrorname_np(e);
        if (n && strcmp(n, argv[1]) == 0) {
            printf("%d\n", e);
            return 0;
        }
    }
    return usage("errno NAME|NUMBER (unknown name)");
}

static const char *file_type(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    case S_IFIFO: return "fifo";
    case S_IFLNK: return "link";
    case S_IFSOCK: return "sock";
    default: return "unknown";
    }
}

static int cmd_stat(int argc, char **argv)
{
    struct stat st;
    if (argc < 2)
        return usage("stat PATH");
    if (lstat(argv[1], &st) < 0)
        return report_errno();
    printf("type=%s mode=%04o uid=%u gid=%u size=%lld rdev=%u:%u\n", file_type(st.st_mode),
           (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid,
           (long long)st.st_size, major(st.st_rdev), minor(st.st_rdev));
    return 0;
}

/* fds: every open fd except the one reading /proc/self/fd, in numeric
 * order, one "N TARGET" line each (TARGET as readlink shows it). */
static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmd_fds(int argc, char **argv)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return report_errno();
    int self = dirfd(d), fds[1024];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < ARRAY_SIZE(fds)) {
        if (de->d_name[0] == '.')
            continue;
        int fd = atoi(de->d_name);
        if (fd != self)
            fds[n++] = fd;
    }
    qsort(fds, n, sizeof(fds[0]), cmp_int);
    for (size_t i = 0; i < n; i++) {
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
        ssize_t len = readlinkat(self, path + strlen("/proc/self/fd/"), target, sizeof(target) - 1);
        if (len < 0) {
            printf("%d errno %s\n", fds[i], errno_name(errno));
            continue;
        }
        target[len] = '\0';
        printf("%d %s\n", fds[i], target);
    }
    closedir(d);
    return 0;
}

/* open PATH r|w|rw: open (then close) the file; "ok" or "errno NAME". */
static int cmd_open(int argc, char **argv)
{
    if (argc < 3)
        return usage("open PATH r|w|rw");
    int flags = strcmp(argv[2], "r") == 0 ? O_RDONLY : strcmp(argv[2], "w") == 0 ? O_WRONLY
              : strcmp(argv[2], "rw") == 0 ? O_RDWR : -1;
    if (flags < 0)
        return usage("open PATH r|w|rw");
    int fd = open(argv[1], flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return report_errno();
    close(fd);
    return report(0);
}

/* exec PATH [ARGS...]: execv; on failure "errno NAME" (exit 1). */
static int cmd_exec(int argc, char **argv)
{
    if (argc < 2)
        return usage("exec PATH [ARGS...]");
    fflush(stdout);
    execv(argv[1], argv + 1);
    return report_errno();
}

/* bind SRC DST: a (non-recursive) bind mount, MS_BIND. */
static int cmd_bind(int argc, char **argv)
{
    if (argc < 3)
        return usage("bind SRC DST");
    return report(mount(argv[1], argv[2], NULL, MS_BIND, NULL));
}

/* ---- dangerous syscall probes -------------------------------------------
 * Each probe is harmless even where it succeeds: bad magic, nonexistent
 * paths, empty images.  It prints "ok" or "errno NAME". */

#define PROBE_KEYCTL_GET_KEYRING_ID 0
#define PROBE_KEY_SPEC_SESSION_KEYRING (-3)

static long probe_init_module(int argc, char **argv)
{
    static char image[64]; /* not an ELF: ENOEXEC where the call is allowed */
    return syscall(SYS_init_module, image, sizeof(image), "");
}

static long probe_finit_module(int argc, char **argv)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long r = syscall(SYS_finit_module, fd, "", 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

static long probe_delete_module(int argc, char **argv)
{
    return syscall(SYS_delete_module, "isc_no_such_module", O_NONBLOCK);
}

static long probe_kexec_load(int argc, char **argv)
{
    /* zero segments, unload-style flags: EPERM without CAP_SYS_BOOT */
    return syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL);
}

static long probe_kexec_file_load(int argc, char **argv)
{
    return syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0UL);
}

static long probe_open_by_handle_at(int argc, char **argv)
{
    const char *path = argc > 2 ? argv[2] : "/";
    struct {
        struct file_handle fh;
        unsigned char data[MAX_HANDLE_SZ];
    } h;
    int mount_id;
    memset(&h, 0, sizeof(h));
    h.fh.handle_bytes = MAX_HANDLE_SZ;
    if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0) {
        /* no handle support here: probe with a bogus one; the capability
         * check comes before the handle is decoded */
        h.fh.handle_bytes = 8;
        h.fh.handle_type = 1;
    }
    int mfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mfd < 0)
        return -1;
    long r = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC);
    int saved = errno;
    if (r >= 0)
        close((int)r);
    close(mfd);
    errno = saved;
    return r < 0 ? -1 : 0;
}

static long probe_ptrace(int argc, char **argv)
{
    if (argc < 3) {
        errno = EINVAL;
        return -1;
    }
    pid_t pid = (pid_t)atoi(argv[2]);
    long r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
    if (r == 0) {
        waitpid(pid, NULL, __WALL);
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
    }
    return r;
}

struct ns_flag {
    const char *name;
    int flag;
};

static const struct ns_flag ns_flags[] = {
    { "ns", CLONE_NEWNS },       { "mnt", CLONE_NEWNS },     { "net", CLONE_NEWNET },
    { "uts", CLONE_NEWUTS },     { "ipc", CLONE_NEWIPC },    { "pid", CLONE_NEWPID },
    { "user", CLONE_NEWUSER },   { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static long probe_unshare(int argc, char **argv)
{
    const char *name = argc > 2 ? argv[2] : "ns";
    for (size_t i = 0; i < ARRAY_SIZE(ns_flags); i++)
        if (strcmp(ns_flags[i].name, name) == 0)
            return unshare(ns_flags[i].flag);
    errno = EINVAL;
    return -1;
}

static long probe_setns(int argc, char **argv)
{
    const char *path = argc > 2 ? argv[2] : "/proc/self/ns/net";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long r = setns(fd, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

static long probe_keyctl(int argc, char **argv)
{
    return syscall(SYS_keyctl, PROBE_KEYCTL_GET_KEYRING_ID, PROBE_KEY_SPEC_SESSION_KEYRING, 0);
}

static long probe_bpf(int argc, char **argv)
{
    /* BPF_MAP_CREATE with an all-zero attribute: EINVAL when allowed */
    static unsigned char attr[128];
    return syscall(SYS_bpf, 0, attr, sizeof(attr));
}

static long probe_reboot(int argc, char **argv)
{
    /* both magics wrong: the capability check comes first, then EINVAL */
    return syscall(SYS_reboot, 0x1234, 0x5678, 0, NULL);
}

static long probe_swapon(int argc, char **argv)
{
    return swapon("/isc-no-such-swapfile", 0);
}

static long probe_pivot_root(int argc, char **argv)
{
    return syscall(SYS_pivot_root, "/isc-no-such-new-root", "/isc-no-such-put-old");
}

static long probe_umount2(int argc, char **argv)
{
    if (argc < 3) {
        errno = EINVAL;
        return -1;
    }
    return umount2(argv[2], 0);
}

static long probe_sethostname(int argc, char **argv)
{
    const char *name = argc > 2 ? argv[2] : "isc-probe";
    return sethostname(name, strlen(name));
}

static long probe_mkdir(int argc, char **argv)
{
    return mkdir(argc > 2 ? argv[2] : "/tmp/isc-probe-dir", 0755);
}

static long probe_chmod(int argc, char **argv)
{
    return chmod(argc > 2 ? argv[2] : "/", 0755);
}

static long probe_getpid(int argc, char **argv)
{
    return syscall(SYS_getpid);
}

/* ---- terminals and namespaces: attack probes -------------------------------
 * The operator's terminal (bubblewrap CVE-2017-5226, flatpak CVE-2019-10063)
 * and nested user namespaces through clone(). */

/* tty-info: this process's session and controlling terminal as the kernel
 * sees them in our pid namespace, and where every open fd points:
 *   pid=P sid=S pgid=G tty_nr=T
 *   fd N TARGET ... */
static int cmd_tty_info(int argc, char **argv)
{
    int tty_nr = -1;
    FILE *f = fopen("/proc/self/stat", "re");
    if (f != NULL) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        /* after the ")" closing comm: state ppid pgrp session tty_nr */
        char *p = strrchr(buf, ')');
        if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %d", &tty_nr) != 1)
            tty_nr = -1;
    }
    printf("pid=%d sid=%d pgid=%d tty_nr=%d\n", (int)getpid(), (int)getsid(0), (int)getpgid(0), tty_nr);
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return report_errno();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] == '.' || fd == dirfd(d))
            continue;
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        printf("fd %d %s\n", fd, target);
    }
    closedir(d);
    return 0;
}

/* The ioctl command with bit 32 set when `high`: the kernel reads only the
 * low 32 bits (flatpak's filter compared all 64, CVE-2019-10063). */
static unsigned long tty_cmd(unsigned long cmd, bool high)
{
    return high ? cmd | (1UL << 32) : cmd;
}

/* tiocsti TARGET TEXT [high]: push TEXT into the input of the terminal
 * TARGET (an fd number or a path such as /dev/tty), one byte at a time. */
static int cmd_tiocsti(int argc, char **argv)
{
    if (argc < 3)
        return usage("tiocsti FD|PATH TEXT [high]");
    bool high = argc > 3 && strcmp(argv[3], "high") == 0;
    int fd;
    if (argv[1][0] == '/') {
        fd = open(argv[1], O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
            return report_errno();
    } else {
        fd = atoi(argv[1]);
    }
    for (const char *c = argv[2]; *c; c++)
        if (syscall(SYS_ioctl, fd, tty_cmd(TIOCSTI, high), c) < 0)
            return report_errno();
    printf("ok\n");
    return 0;
}

/* own-pty-tiocsti [high]: a pty pair of our own, its slave as our
 * controlling terminal, TIOCSTI of "Z" into it; "ok injected=Z" when the
 * byte arrived (the control: TIOCSTI works here), else "STEP errno NAME"
 * for the step that failed. */
static int step_failed(const char *step)
{
    printf("%s errno %s\n", step, errno_name(errno));
    return 1;
}

static int cmd_own_pty_tiocsti(int argc, char **argv)
{
    bool high = argc > 1 && strcmp(argv[1], "high") == 0;
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return step_failed("open-ptmx");
    if (unlockpt(m) < 0)
        return step_failed("unlockpt");
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_CLOEXEC);
    if (s < 0)
        return step_failed("TIOCGPTPEER");
    (void)setsid(); /* EPERM when we lead a session already */
    if (ioctl(s, TIOCSCTTY, 0) < 0)
        return step_failed("TIOCSCTTY");
    struct termios t;
    if (tcgetattr(s, &t) < 0)
        return step_failed("TCGETS");
    cfmakeraw(&t);
    if (tcsetattr(s, TCSANOW, &t) < 0)
        return step_failed("TCSETS");
    char c = 'Z';
    if (syscall(SYS_ioctl, s, tty_cmd(TIOCSTI, high), &c) < 0)
        return step_failed("TIOCSTI");
    char got[8] = "";
    fcntl(s, F_SETFL, O_NONBLOCK);
    ssize_t n = read(s, got, sizeof(got) - 1);
    got[n > 0 ? n : 0] = '\0';
    printf("ok injected=%s\n", got);
    return 0;
}

/* tioclinux [FD] [high]: TIOCLINUX (subcode 6, read the shift state: harmless) */
static long probe_tioclinux(int argc, char **argv)
{
    int fd = argc > 2 ? atoi(argv[2]) : 0;
    bool high = argc > 3 && strcmp(argv[3], "high") == 0;
    char sub = 6;
    return syscall(SYS_ioctl, fd, tty_cmd(TIOCLINUX, high), &sub);
}

/* own-pty-tiocsetd [high]: a pty pair of our own; TIOCGWINSZ on its slave
 * (a harmless tty ioctl: the control that ioctl reaches the terminal),
 * then TIOCSETD N_TTY (the discipline it has: nothing changes) and
 * TIOCGETD.  "ok ldisc=0" when all worked, else "STEP errno NAME".  Any
 * other discipline number would make the kernel load its module
 * (dev.tty.ldisc_autoload): the attack the default profile refuses. */
static int cmd_own_pty_tiocsetd(int argc, char **argv)
{
    bool high = argc > 1 && strcmp(argv[1], "high") == 0;
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return step_failed("open-ptmx");
    if (unlockpt(m) < 0)
        return step_failed("unlockpt");
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0)
        return step_failed("TIOCGPTPEER");
    struct winsize ws;
    if (ioctl(s, TIOCGWINSZ, &ws) < 0)
        return step_failed("TIOCGWINSZ");
    int disc = N_TTY;
    if (syscall(SYS_ioctl, s, tty_cmd(TIOCSETD, high), &disc) < 0)
        return step_failed("TIOCSETD");
    disc = -1;
    if (ioctl(s, TIOCGETD, &disc) < 0)
        return step_failed("TIOCGETD");
    printf("ok ldisc=%d\n", disc);
    return 0;
}

/* "user,net" (names of ns_flags; "high" sets bit 32; "0": none) -> flags */
static bool parse_ns_flags(const char *list, unsigned long *out)
{
    unsigned long flags = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "0") == 0)
            continue;
        if (strcmp(tok, "high") == 0) {
            flags |= 1UL << 32;
            continue;
        }
        size_t i;
        for (i = 0; i < ARRAY_SIZE(ns_flags); i++)
            if (strcmp(ns_flags[i].name, tok) == 0)
                break;
        if (i == ARRAY_SIZE(ns_flags))
            return false;
        flags |= (unsigned long)ns_flags[i].flag;
    }
    *out = flags;
    return true;
}

static bool cap_effective(int cap)
{
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    if (syscall(SYS_capget, &h, d) < 0)
        return false;
    return (d[cap / 32].effective >> (cap % 32)) & 1;
}

/* The child of clone/clone3: exit 0 when it holds CAP_SYS_ADMIN (a new
 * user namespace gives the full set), 3 else. */
static int clone_child(void)
{
    return prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 1 && cap_effective(CAP_SYS_ADMIN) ? 0 : 3;
}

/* clone FLAGS: raw clone(2) with FLAGS | SIGCHLD; "ok sys_admin=0|1" */
static long probe_clone(int argc, char **argv)
{
    unsigned long flags = 0;
    if (argc < 3 || !parse_ns_flags(argv[2], &flags)) {
        errno = EINVAL;
        return -1;
    }
    fflush(stdout);
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(clone_child());
    int st = 0;
    waitpid((pid_t)pid, &st, 0);
    printf("sys_admin=%d ", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}

struct probe_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* clone3 FLAGS */
static long probe_clone3(int argc, char **argv)
{
    unsigned long flags = 0;
    if (argc > 2 && !parse_ns_flags(argv[2], &flags)) {
        errno = EINVAL;
        return -1;
    }
    struct probe_clone_args a = { .flags = flags, .exit_signal = SIGCHLD };
    fflush(stdout);
    long pid = syscall(SYS_clone3, &a, sizeof(a));
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(clone_child());
    waitpid((pid_t)pid, NULL, 0);
    return 0;
}

static void *thread_main(void *arg)
{
    return arg;
}

/* threads N: N pthreads created and joined (libc tries clone3, then clone) */
static int cmd_threads(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    pthread_t t[64];
    if (n < 1 || n > 64)
        return usage("threads N (1..64)");
    for (int i = 0; i < n; i++) {
        int e = pthread_create(&t[i], NULL, thread_main, NULL);
        if (e != 0) {
            errno = e;
            return report_errno();
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("ok %d\n", n);
    return 0;
}

struct probe {
    const char *name;
    long (*fn)(int argc, char **argv);
};

/* perf_event_open: a user-space-only software counter on ourselves (what
 * perf_event_paranoid 2 allows without a capability), closed at once */
static long probe_perf_event_open(int argc, char **argv)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof(a);
    a.config = PERF_COUNT_SW_TASK_CLOCK;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0UL);
    if (fd >= 0)
        close((int)fd);
    return fd;
}

/* io_uring_setup: a ring of one entry, closed at once */
static long probe_io_uring_setup(int argc, char **argv)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    long fd = syscall(SYS_io_uring_setup, 1, &p);
    if (fd >= 0)
        close((int)fd);
    return fd;
}

/* userfaultfd: user-mode faults only (allowed without CAP_SYS_PTRACE when
 * vm.unprivileged_userfaultfd is 0), closed at once */
static long probe_userfaultfd(int argc, char **argv)
{
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (fd >= 0)
        close((int)fd);
    return fd;
}

/* socket FAMILY [TYPE [PROTOCOL]]: a socket of that address family (a
 * number), type (default SOCK_STREAM) and protocol (default 0), closed at
 * once.  "ok" or the errno. */
static long probe_socket(int argc, char **argv)
{
    if (argc < 3) {
        errno = EINVAL;
        return -1;
    }
    long fd = syscall(SYS_socket, strtol(argv[2], NULL, 0),
                      argc > 3 ? strtol(argv[3], NULL, 0) : (long)SOCK_STREAM,
                      argc > 4 ? strtol(argv[4], NULL, 0) : 0L);
    if (fd >= 0)
        close((int)fd);
    return fd;
}

/* socketpair FAMILY [TYPE]: a pair of that family (default type
 * SOCK_STREAM), closed at once.  "ok" or the errno. */
static long probe_socketpair(int argc, char **argv)
{
    if (argc < 3) {
        errno = EINVAL;
        return -1;
    }
    int sv[2];
    long r = syscall(SYS_socketpair, strtol(argv[2], NULL, 0),
                     argc > 3 ? strtol(argv[3], NULL, 0) : (long)SOCK_STREAM, 0L, sv);
    if (r == 0) {
        close(sv[0]);
        close(sv[1]);
    }
    return r;
}

/* fchmodat2 PATH: creates PATH (0644) and calls fchmodat2 (by number: 452
 * on x86_64, newer than most libcs' headers) with AT_SYMLINK_NOFOLLOW,
 * what glibc's fchmodat(AT_SYMLINK_NOFOLLOW) does first. */
static long probe_fchmodat2(int argc, char **argv)
{
    if (argc < 3) {
        errno = EINVAL;
        return -1;
    }
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return syscall(452, AT_FDCWD, argv[2], 0600, AT_SYMLINK_NOFOLLOW);
}

/* nr NUMBER [ARGS...]: the raw syscall NUMBER with up to 6 numeric
 * arguments (default 0): "ok" or the errno. */
static long probe_nr(int argc, char **argv)
{
    if (argc < 3) {
        errno = EINVAL;
        return -1;
    }
    long a[6] = { 0 };
    for (int i = 0; i < 6 && 3 + i < argc; i++)
        a[i] = strtol(argv[3 + i], NULL, 0);
    return syscall(strtol(argv[2], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* timer: a POSIX timer (CLOCK_MONOTONIC, no signal) created, armed, read,
 * its overruns read, deleted: what timeout(1) does.  "ok" or the errno
 * of the first call that failed. */
static long probe_timer(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct sigevent sev = { .sigev_notify = SIGEV_NONE };
    int id = -1; /* the kernel's timer_t */
    if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) < 0)
        return -1;
    struct itimerspec its = { .it_value = { .tv_sec = 60 } }, cur;
    if (syscall(SYS_timer_settime, id, 0, &its, NULL) < 0 || syscall(SYS_timer_gettime, id, &cur) < 0 ||
        syscall(SYS_timer_getoverrun, id) < 0) {
        int e = errno;
        syscall(SYS_timer_delete, id);
        errno = e;
        return -1;
    }
    return syscall(SYS_timer_delete, id);
}

static const struct probe probes[] = {
    { "init_module", probe_init_module },
    { "finit_module", probe_finit_module },
    { "delete_module", probe_delete_module },
    { "kexec_load", probe_kexec_load },
    { "kexec_file_load", probe_kexec_file_load },
    { "open_by_handle_at", probe_open_by_handle_at },
    { "ptrace", probe_ptrace },
    { "unshare", probe_unshare },
    { "setns", probe_setns },
    { "keyctl", probe_keyctl },
    { "bpf", probe_bpf },
    { "reboot", probe_reboot },
    { "swapon", probe_swapon },
    { "pivot_root", probe_pivot_root },
    { "umount2", probe_umount2 },
    { "sethostname", probe_sethostname },
    { "mkdir", probe_mkdir },
    { "chmod", probe_chmod },
    { "getpid", probe_getpid },
    { "tioclinux", probe_tioclinux },
    { "clone", probe_clone },
    { "clone3", probe_clone3 },
    { "socket", probe_socket },
    { "socketpair", probe_socketpair },
    { "fchmodat2", probe_fchmodat2 },
    { "nr", probe_nr },
    { "perf_event_open", probe_perf_event_open },
    { "io_uring_setup", probe_io_uring_setup },
    { "userfaultfd", probe_userfaultfd },
    { "timer", probe_timer },
};

static int cmd_syscall(int argc, char **argv)
{
    if (argc < 2)
        return usage("syscall NAME [ARGS]");
    if (strcmp(argv[1], "personality") == 0) {
        unsigned long persona = argc > 2 ? strtoul(argv[2], NULL, 0) : 0xffffffffUL;
        int r = personality(persona);
        if (r < 0)
            return report_errno();
        printf("ok 0x%x\n", (unsigned)r);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
        if (strcmp(probes[i].name, argv[1]) == 0)
            return report(probes[i].fn(argc, argv));
    return usage("syscall NAME (unknown probe)");
}

/* ---- dispatch ------------------------------------------------------------ */

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
    { "true", cmd_true },           { "false", cmd_false },
    { "exit", cmd_exit },           { "echo", cmd_echo },
    { "cat", cmd_cat },             { "ls", cmd_ls },
    { "id", cmd_id },               { "caps", cmd_caps },
    { "status", cmd_status },       { "write", cmd_write },
    { "mkdir", cmd_mkdir },         { "mount", cmd_mount },
    { "syscall", cmd_syscall },     { "hostname", cmd_hostname },
    { "domainname", cmd_domainname }, { "rlimit", cmd_rlimit },
    { "sysctl", cmd_sysctl },       { "oom", cmd_oom },
    { "sleep", cmd_sleep },         { "trap", cmd_trap },
    { "notify", cmd_notify },
    { "pid", cmd_pid },             { "ns", cmd_ns },
    { "cgroup", cmd_cgroup },       { "memhog", cmd_memhog },
    { "forkbomb", cmd_forkbomb },   { "env", cmd_env },
    { "cwd", cmd_cwd },             { "umask", cmd_umask },
    { "read-stdin", cmd_read_stdin }, { "errno", cmd_errno },
    { "mountinfo", cmd_mountinfo }, { "stat", cmd_stat },
    { "fds", cmd_fds },             { "open", cmd_open },
    { "exec", cmd_exec },           { "bind", cmd_bind },
    { "tty-info", cmd_tty_info },   { "tiocsti", cmd_tiocsti },
    { "own-pty-tiocsti", cmd_own_pty_tiocsti }, { "threads", cmd_threads },
    { "own-pty-tiocsetd", cmd_own_pty_tiocsetd },
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : (argc > 0 ? argv[0] : "");
    const struct command *c = find_command(base);
    if (c != NULL)
        return c->fn(argc, argv);
    if (argc < 2) {
        fprintf(stderr, "payload: usage: payload COMMAND [ARGS...]\ncommands:");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
            fprintf(stderr, " %s", commands[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    c = find_command(argv[1]);
    if (c == NULL) {
        fprintf(stderr, "payload: unknown command '%s'\n", argv[1]);
        return 2;
    }
    int r = c->fn(argc - 1, argv + 1);
    fflush(stdout);
    return r;
}
