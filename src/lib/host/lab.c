/* SPDX-License-Identifier: GPL-2.0-or-later
 * Labs (lab.h): two named network namespaces and a veth between them.  All
 * netlink work goes through handles opened *in* the lab's namespaces
 * (isc_nl_open_in), so a bug here cannot touch the caller's network. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/host.h"
#include "host/lab.h"
#include "net/netlink.h"
#include "base/util.h"

#define NETNS_DIR "/run/netns"
#define LAB_OUTSIDE_LINK "ext0"
#define LAB_NAME_MAX 64

int isc_lab_name_check(const char *name, isc_error **err)
{
	size_t n = name ? strlen(name) : 0;
	bool ok = n >= 1 && n <= LAB_NAME_MAX && name[0] != '.';
	for (size_t i = 0; ok && i < n; i++) {
		char c = name[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		     c == '_' || c == '-';
	}
	if (!ok)
		return isc_error_set(
			err, EINVAL,
			"\"%s\" is not a lab name (letters, digits, . _ -, at most %d, not starting with '.')",
			name ? name : "", LAB_NAME_MAX);
	return 0;
}

char *isc_lab_root(const char *name)
{
	return isc_xasprintf(ISC_HOST_ROOT "/labs/%s", name);
}

char *isc_lab_netns_path(const char *name, bool outside)
{
	return isc_xasprintf(NETNS_DIR "/isc-%s-%s", name, outside ? "out" : "host");
}

/* /run/netns as iproute2 sets it up: a mount point of its own with shared
 * propagation, so that removing a namespace file here also removes the
 * copies that mount namespaces created later hold (else they would keep a
 * removed lab's namespace alive). */
static int netns_dir_prepare(isc_error **err)
{
	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return isc_error_set(err, errno, "create " NETNS_DIR);
	if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return isc_error_set(err, errno, "make " NETNS_DIR " a shared mount");
	/* Not a mount point yet: bind it onto itself first. */
	if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
		return isc_error_set(err, errno, "bind mount " NETNS_DIR " onto itself");
	if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
		return isc_error_set(err, errno, "make " NETNS_DIR " a shared mount");
	return 0;
}

/* Create a namespace file unless it exists; *created says which. */
static int lab_netns_ensure(const char *path, bool *created, isc_error **err)
{
	*created = false;
	cleanup_error isc_error *e = NULL;
	int fd = isc_netns_open(path, &e);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (isc_netns_create(path, err) < 0)
		return -1;
	*created = true;
	return 0;
}

static int ignore_eexist(int r, isc_error **err)
{
	if (r < 0 && *err && (*err)->errnum == EEXIST) {
		isc_error_free(err);
		return 0;
	}
	return r;
}

/* The uplink, its addresses and the default route, each step skipped when
 * already done (idempotent). */
static int lab_uplink_setup(isc_nl *host, isc_nl *out, int out_fd, isc_error **err)
{
	int idx;
	cleanup_error isc_error *e = NULL;
	if (isc_nl_link_index(host, ISC_LAB_UPLINK, &idx, &e) == 0 &&
	    isc_nl_link_index(out, LAB_OUTSIDE_LINK, &idx, &e) < 0) {
		/* A host end without its peer in the outside namespace (the
		 * outside namespace was replaced): start the pair afresh. */
		if (isc_nl_link_del(host, ISC_LAB_UPLINK, err) < 0)
			return -1;
	}
	if (ignore_eexist(isc_nl_veth_add(host, ISC_LAB_UPLINK, LAB_OUTSIDE_LINK, out_fd, err), err) < 0)
		return -1;
	struct in_addr haddr, oaddr;
	inet_pton(AF_INET, ISC_LAB_HOST_ADDR, &haddr);
	inet_pton(AF_INET, ISC_LAB_OUTSIDE_ADDR, &oaddr);
	if (isc_nl_link_up(host, "lo", err) < 0 || isc_nl_link_up(out, "lo", err) < 0)
		return -1;
	if (ignore_eexist(isc_nl_addr_add(host, ISC_LAB_UPLINK, haddr, ISC_LAB_PREFIX, err), err) < 0 ||
	    ignore_eexist(isc_nl_addr_add(out, LAB_OUTSIDE_LINK, oaddr, ISC_LAB_PREFIX, err), err) < 0)
		return -1;
	if (isc_nl_link_up(host, ISC_LAB_UPLINK, err) < 0 || isc_nl_link_up(out, LAB_OUTSIDE_LINK, err) < 0)
		return -1;
	/* The route needs the uplink up (its gateway must be reachable). */
	if (ignore_eexist(isc_nl_route_add_default(host, oaddr, err), err) < 0)
		return -1;
	return 0;
}

/* The uplink, set up through handles opened in the two namespaces. */
static int lab_wire(const char *hpath, const char *opath, isc_error **err)
{
	cleanup_close int hfd = isc_netns_open(hpath, err);
	if (hfd < 0)
		return -1;
	cleanup_close int ofd = isc_netns_open(opath, err);
	if (ofd < 0)
		return -1;
	cleanup_nl isc_nl *host = NULL;
	cleanup_nl isc_nl *outside = NULL;
	if (isc_nl_open_in(hfd, &host, err) < 0 || isc_nl_open_in(ofd, &outside, err) < 0)
		return -1;
	return lab_uplink_setup(host, outside, ofd, err);
}

int isc_lab_create(const char *name, isc_error **err)
{
	if (isc_lab_name_check(name, err) < 0)
		return -1;
	if (netns_dir_prepare(err) < 0)
		return isc_error_wrap(err, "create lab %s", name);
	cleanup_free char *hpath = isc_lab_netns_path(name, false);
	cleanup_free char *opath = isc_lab_netns_path(name, true);
	bool hcreated = false, ocreated = false;
	if (lab_netns_ensure(hpath, &hcreated, err) < 0 || lab_netns_ensure(opath, &ocreated, err) < 0 ||
	    lab_wire(hpath, opath, err) < 0) {
		/* Leave nothing this call created. */
		if (ocreated)
			(void)isc_netns_remove(opath, NULL);
		if (hcreated)
			(void)isc_netns_remove(hpath, NULL);
		return isc_error_wrap(err, "create lab %s", name);
	}
	return 0;
}

int isc_lab_destroy(const char *name, isc_error **err)
{
	if (isc_lab_name_check(name, err) < 0)
		return -1;
	int found = 0;
	for (int outside = 1; outside >= 0; outside--) {
		cleanup_free char *path = isc_lab_netns_path(name, outside);
		cleanup_error isc_error *e = NULL;
		if (isc_netns_remove(path, &e) == 0) {
			found++;
		} else if (e->errnum != ENOENT) {
			isc_error_move(err, &e);
			return isc_error_wrap(err, "remove lab %s", name);
		}
	}
	if (found == 0)
		return isc_error_set(err, ENOENT, "lab %s does not exist (no " NETNS_DIR "/isc-%s-host or -out)", name,
				     name);
	return 0;
}

bool isc_lab_exists(const char *name)
{
	if (isc_lab_name_check(name, NULL) < 0)
		return false;
	for (int outside = 0; outside <= 1; outside++) {
		cleanup_free char *path = isc_lab_netns_path(name, outside);
		int fd = isc_netns_open(path, NULL);
		if (fd < 0)
			return false;
		close(fd);
	}
	return true;
}

static void names_add(char ***v, size_t *n, const char *name)
{
	if (isc_lab_name_check(name, NULL) < 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], name) == 0)
			return;
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (nv == NULL)
		abort();
	nv[(*n)++] = isc_xstrdup(name);
	nv[*n] = NULL;
	*v = nv;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dir_closep(DIR **d)
{
	if (*d)
		closedir(*d);
}

int isc_lab_list(char ***names, isc_error **err)
{
	/* Both directories first: no failure once the list is being built. */
	__attribute__((cleanup(dir_closep))) DIR *ns = opendir(NETNS_DIR);
	if (ns == NULL && errno != ENOENT)
		return isc_error_set(err, errno, "list " NETNS_DIR);
	__attribute__((cleanup(dir_closep))) DIR *roots = opendir(ISC_HOST_ROOT "/labs");
	if (roots == NULL && errno != ENOENT)
		return isc_error_set(err, errno, "list " ISC_HOST_ROOT "/labs");
	char **v = isc_xmalloc0(sizeof(char *));
	size_t n = 0;
	for (struct dirent *de; ns && (de = readdir(ns)) != NULL;) {
		size_t len = strlen(de->d_name);
		if (len > 9 && strncmp(de->d_name, "isc-", 4) == 0 && strcmp(de->d_name + len - 5, "-host") == 0) {
			cleanup_free char *name = isc_xstrdup(de->d_name + 4);
			name[len - 9] = '\0';
			names_add(&v, &n, name);
		}
	}
	for (struct dirent *de; roots && (de = readdir(roots)) != NULL;) {
		struct stat st;
		if (de->d_name[0] != '.' && fstatat(dirfd(roots), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			names_add(&v, &n, de->d_name);
	}
	qsort(v, n, sizeof(char *), cmp_str);
	*names = v;
	return 0;
}

static int lab_open(const char *name, bool outside, isc_error **err)
{
	if (isc_lab_name_check(name, err) < 0)
		return -1;
	cleanup_free char *path = isc_lab_netns_path(name, outside);
	cleanup_error isc_error *e = NULL;
	int fd = isc_netns_open(path, &e);
	if (fd < 0) {
		if (e->errnum == ENOENT)
			return isc_error_set(err, ENOENT, "lab %s does not exist (no %s; isc --lab %s init creates it)",
					     name, path, name);
		isc_error_move(err, &e);
		return -1;
	}
	return fd;
}

int isc_lab_enter(const char *name, bool outside, isc_error **err)
{
	cleanup_close int fd = lab_open(name, outside, err);
	if (fd < 0)
		return -1;
	/* The caller moves into the lab for good: from here on, every socket
	 * it opens (netlink included) belongs to the lab's namespace. */
	if (setns(fd, CLONE_NEWNET) < 0)
		return isc_error_set(err, errno, "enter the %s namespace of lab %s", outside ? "outside" : "host",
				     name);
	return 0;
}

/* The child of isc_lab_exec_outside, forwarded to. */
static volatile sig_atomic_t exec_child_pid;

static void forward_signal(int sig, siginfo_t *si, void *ctx)
{
	/* A signal from the terminal (SI_KERNEL) reached the child too (same
	 * process group); one sent to us alone is passed on. */
	if (si->si_code != SI_KERNEL && exec_child_pid > 0)
		kill(exec_child_pid, sig);
}

int isc_lab_exec_outside(const char *name, char *const argv[], int *status, isc_error **err)
{
	if (argv == NULL || argv[0] == NULL)
		return isc_error_set(err, EINVAL, "lab exec: no command");
	cleanup_close int fd = lab_open(name, true, err);
	if (fd < 0)
		return -1;
	/* The child reports a failed setns/exec through this pipe; a
	 * successful exec closes it (O_CLOEXEC) and the parent reads EOF. */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return isc_error_set(err, errno, "lab exec: pipe");
	cleanup_close int rd = p[0];
	cleanup_close int wr = p[1];

	static const int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction old[ARRAY_SIZE(fwd)];
	struct sigaction sa = { .sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigset_t block, saved;
	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
		sigaddset(&block, fwd[i]);
	/* Blocked across fork so that no signal is lost or handled by the
	 * child with the parent's handler. */
	sigprocmask(SIG_BLOCK, &block, &saved);
	for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
		sigaction(fwd[i], &sa, &old[i]);

	pid_t pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
			signal(fwd[i], SIG_DFL);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		/* Only this child moves into the lab's outside world; the
		 * caller stays where it is. */
		int32_t stage = 1; /* 1: setns, 2: exec */
		if (setns(fd, CLONE_NEWNET) == 0) {
			stage = 2;
			execvp(argv[0], argv);
		}
		int32_t msg[2] = { stage, errno };
		(void)isc_write_all(wr, msg, sizeof(msg));
		_exit(127);
	}
	int fork_errno = errno;
	if (pid > 0)
		exec_child_pid = pid;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	isc_closep(&wr);
	if (pid < 0) {
		for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
			sigaction(fwd[i], &old[i], NULL);
		return isc_error_set(err, fork_errno, "lab exec: fork");
	}

	int32_t msg[2] = { 0, 0 };
	ssize_t n = isc_read_all(rd, msg, sizeof(msg));
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	exec_child_pid = 0;
	for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
		sigaction(fwd[i], &old[i], NULL);
	if (n == (ssize_t)sizeof(msg)) {
		if (msg[0] == 1)
			return isc_error_set(err, msg[1], "lab %s: enter the outside namespace", name);
		return isc_error_set(err, msg[1], "lab exec: %s", argv[0]);
	}
	if (WIFEXITED(st))
		*status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		*status = 128 + WTERMSIG(st);
	else
		*status = 255;
	return 0;
}
