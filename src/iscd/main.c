/* SPDX-License-Identifier: GPL-2.0-or-later
 * iscd: the daemon of an ISC host (iscd(8)).
 *
 *   iscd --root R [--foreground]
 *
 * One per state root (flock on R/iscd.pid).  Daemonizes unless
 * --foreground: the parent returns once the control socket listens (or
 * prints why it could not).  The supervision itself is src/lib/iscd
 * (supervise.c and its siblings). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "base/error.h"
#include "kernel/exeseal.h"
#include "iscd/supervise.h"
#include "base/util.h"

static void usage(FILE *f)
{
	fputs("Usage: iscd --root DIR [--foreground]\n"
	      "\n"
	      "The ISC host daemon: supervises the services of the state root DIR\n"
	      "through the control socket DIR/iscd.sock (root only).\n"
	      "\n"
	      "  --root DIR      state root (isc init starts iscd with it)\n"
	      "  --foreground    do not daemonize; log to stderr as well\n"
	      "  -h, --help      this help\n"
	      "  -v, --version   print the version\n"
	      "\nSee iscd(8).\n",
	      f);
}

static int report(isc_error **err)
{
	char buf[2048];
	fprintf(stderr, "iscd: %s\n", isc_error_text(*err, buf, sizeof(buf)));
	isc_error_free(err);
	return 1;
}

/* sd_notify(READY=1) when run by systemd (Type=notify). */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (path == NULL || path[0] == '\0')
		return;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		static const char msg[] = "READY=1\nSTATUS=supervising";
		if (sendto(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
			isc_sv_log(LOG_WARNING, "sd_notify READY=1: %s", strerror(errno));
		close(fd);
	}
	/* the containers' runtime must not talk to our supervisor */
	unsetenv("NOTIFY_SOCKET");
}

/* R/iscd.pid, locked for the life of the daemon. */
static int lock_pid_file(const char *root, isc_error **err)
{
	cleanup_free char *path = isc_xasprintf("%s/iscd.pid", root);
	cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			char buf[32] = "";
			ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			return isc_error_set(err, 0, "iscd is already running for %s (pid %s)", root,
					     buf[0] ? buf : "?");
		}
		return isc_error_set(err, errno, "lock %s", path);
	}
	return steal_fd(&fd);
}

static int write_pid(int fd, isc_error **err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return isc_error_set(err, errno, "write iscd.pid");
	return 0;
}

/* The command line: true to go on, with *root_arg and *foreground;
 * false to exit with *status (--help, --version, a usage error). */
static bool parse_args(int argc, char **argv, const char **root_arg, bool *foreground, int *status)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			*root_arg = optarg;
			break;
		case 'f':
			*foreground = true;
			break;
		case 'h':
			usage(stdout);
			*status = 0;
			return false;
		case 'v':
			printf("iscd %s\n", ISC_VERSION);
			*status = 0;
			return false;
		default:
			usage(stderr);
			*status = 2;
			return false;
		}
	}
	if (*root_arg == NULL || optind != argc) {
		usage(stderr);
		*status = 2;
		return false;
	}
	return true;
}

/* The parent's side of daemonize: the exit status, once the daemon
 * listens (it writes one NUL) or says why it could not. */
static int wait_ready(int fd)
{
	char buf[2048];
	ssize_t n = isc_read_all(fd, buf, sizeof(buf) - 1);
	if (n == 1 && buf[0] == '\0')
		return 0;
	buf[n > 0 ? n : 0] = '\0';
	fprintf(stderr, "iscd: %s\n", n > 0 ? buf : "the daemon exited before it was ready");
	return 1;
}

/* Forks the daemon.  The parent exits with wait_ready's status; the child
 * returns 0, in a session of its own, stdout and stderr on logfd, with
 * ready[1] the pipe its readiness (or its first error) goes to. */
static int daemonize(int logfd, int ready[2], isc_error **err)
{
	if (pipe2(ready, O_CLOEXEC) < 0)
		return isc_error_set(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		return isc_error_set(err, errno, "fork");
	if (pid > 0) {
		close(ready[1]);
		exit(wait_ready(ready[0]));
	}
	close(ready[0]);
	ready[0] = -1;
	if (setsid() < 0)
		_exit(1);
	umask(077);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(1);
	close(nul);
	if (chdir("/") < 0)
		_exit(1);
	return 0;
}

/* The daemon proper, its log set up: supervise root until told to stop.
 * A failure is logged and goes to the waiting parent (ready_fd) or to
 * stderr (--foreground). */
static int serve(const char *root, int pidfd, int ready_fd)
{
	isc_error *err = NULL;
	struct isc_supervisor *sv = NULL;
	if (write_pid(pidfd, &err) < 0 || isc_supervisor_open(root, &sv, &err) < 0)
		goto fail;
	isc_sv_log(LOG_INFO, "iscd %s started for %s", ISC_VERSION, root);
	if (ready_fd >= 0) {
		(void)isc_write_all(ready_fd, "", 1);
		close(ready_fd);
		ready_fd = -1;
	}
	notify_ready();
	int r = isc_supervisor_run(sv, &err);
	isc_supervisor_free(sv);
	if (r < 0)
		goto fail;
	isc_sv_log(LOG_INFO, "iscd stopped");
	if (ftruncate(pidfd, 0) < 0)
		isc_sv_log(LOG_WARNING, "truncate iscd.pid: %s", strerror(errno));
	return 0;
fail : {
	char buf[2048];
	const char *text = isc_error_text(err, buf, sizeof(buf));
	isc_sv_log(LOG_ERR, "%s", text);
	if (ready_fd >= 0) {
		(void)isc_write_all(ready_fd, text, strlen(text));
		close(ready_fd);
	} else {
		fprintf(stderr, "iscd: %s\n", text);
	}
	isc_error_free(&err);
	return 1;
}
}

int main(int argc, char **argv)
{
	const char *root_arg = NULL;
	bool foreground = false;
	int status;
	if (!parse_args(argc, argv, &root_arg, &foreground, &status))
		return status;
	isc_error *err = NULL;
	if (geteuid() != 0) {
		isc_error_set(&err, EPERM, "iscd must run as root");
		return report(&err);
	}
	/* The supervisor creates containers from this image, some of them
	 * without a user namespace (isc run --userns host): run from a sealed
	 * copy of the binary (exeseal.c), made once here, before anything. */
	if (!isc_exe_sealed() && isc_exe_reexec_sealed(NULL, &err) < 0)
		return report(&err);
	isc_exe_restore_name();
	char root[4096];
	if (realpath(root_arg, root) == NULL) {
		isc_error_set(&err, errno, "--root %s", root_arg);
		return report(&err);
	}
	cleanup_free char *logdir = isc_xasprintf("%s/log", root);
	if (isc_mkdir_p(logdir, 0700, &err) < 0)
		return report(&err);
	cleanup_close int pidfd = lock_pid_file(root, &err);
	if (pidfd < 0)
		return report(&err);
	cleanup_free char *logpath = isc_xasprintf("%s/iscd.log", logdir);
	cleanup_close int logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (logfd < 0) {
		isc_error_set(&err, errno, "open %s", logpath);
		return report(&err);
	}
	int ready[2] = { -1, -1 };
	if (foreground)
		umask(077);
	else if (daemonize(logfd, ready, &err) < 0)
		return report(&err);
	isc_sv_log_init(logfd, foreground);
	return serve(root, pidfd, ready[1]);
}
