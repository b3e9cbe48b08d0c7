/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc init / deinit (the construction kit, host.h; labs, lab.h) and
 * isc exec (a session in a service's container, exec.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/container.h"
#include "runtime/exec.h"
#include "host/host.h"
#include "isc.h"
#include "host/lab.h"
#include "net/net.h"
#include "plan/plan.h"
#include "runtime/relay.h"
#include "kernel/terminal.h"
#include "base/util.h"

static char *absolute(const char *root)
{
	if (root[0] == '/')
		return isc_xstrdup(root);
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return isc_xstrdup(root);
	return isc_xasprintf("%s/%s", cwd, root);
}

static int parse_int_flag(const char *flag, const char *v, int lo, int hi, int *out)
{
	uint64_t n = 0;
	if (isc_parse_u64(v, &n) < 0 || n < (uint64_t)lo || n > (uint64_t)hi) {
		fprintf(stderr, "isc init: %s \"%s\": must be a number %d..%d\n", flag, v, lo, hi);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* ---- init ------------------------------------------------------------------ */

int verb_init(struct isc_global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	isc_verb_getopt("init", &go);
	struct isc_host_settings s = { 0 };
	const char *uplink = NULL, *subnet = NULL;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		switch (c) {
		case OPT_UPLINK:
			uplink = optarg;
			break;
		case OPT_SUBNET:
			subnet = optarg;
			break;
		case OPT_SSH:
			if (parse_int_flag("--ssh-port", optarg, 1, 65535, &s.ssh_port) < 0)
				return 1;
			break;
		case OPT_CONFIRM:
			if (parse_int_flag("--confirm-timeout", optarg, 5, 3600, &s.confirm_timeout) < 0)
				return 1;
			break;
		case OPT_AEPOCH:
			if (parse_int_flag("--audit-epoch", optarg, 10, 86400, &s.audit_epoch) < 0)
				return 1;
			break;
		case OPT_AROTATE: {
			isc_error *e = NULL;
			if (isc_plan_parse_size(optarg, &s.audit_rotate, &e) < 0) {
				isc_error_wrap(&e, "isc init: --audit-rotate");
				return isc_report_input(&e);
			}
			break;
		}
		case OPT_AKEEP:
			if (parse_int_flag("--audit-keep", optarg, 0, 100000, &s.audit_keep) < 0)
				return 1;
			break;
		case 'h':
			isc_verb_usage("init", stdout);
			return 0;
		default:
			fprintf(stderr, "isc init: unknown or incomplete option %s\n", argv[optind - 1]);
			isc_verb_usage("init", stderr);
			return ISC_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "isc init: unexpected argument \"%s\"\n", argv[optind]);
		isc_verb_usage("init", stderr);
		return ISC_EXIT_USAGE;
	}
	if (g->lab && uplink && strcmp(uplink, ISC_LAB_UPLINK) != 0) {
		fprintf(stderr, "isc init: --uplink %s: a lab's uplink is " ISC_LAB_UPLINK "\n", uplink);
		return 1;
	}
	s.uplink = (char *)(g->lab ? ISC_LAB_UPLINK : uplink);
	s.subnet = (char *)subnet;
	/* commit-confirmed only where someone can be locked out and can answer:
	 * the real host with a terminal.  A lab's host is reached through its
	 * namespace, never through its own firewall. */
	s.confirm = g->lab == NULL && isatty(STDIN_FILENO);
	isc_error *err = NULL;
	/* everything checked before anything (the lab included) is created */
	if (isc_host_settings_check(&s, &err) < 0)
		return isc_report_input(&err);
	cleanup_free char *root = absolute(g->root);

	bool lab_made = false;
	cleanup_free char *verify_key = NULL;
	if (g->lab) {
		bool existed = isc_lab_exists(g->lab);
		if (isc_lab_create(g->lab, &err) < 0)
			return isc_report(&err);
		lab_made = !existed;
		/* From here on this process lives in the lab's host network
		 * namespace: isc_host_init below is the real host's code path. */
		if (isc_lab_enter(g->lab, false, &err) < 0)
			goto fail;
	}
	if (isc_host_init(root, &s, &verify_key, &err) < 0)
		goto fail;
	if (verify_key)
		printf("isc: the audit trail's first verification key -- keep it off this host, it is shown only once;\n"
		       "     check the trail with: isc audit verify --key %s\n",
		       verify_key);
	if (s.confirm) {
		/* Real host, interactive: keep the new ruleset only when the
		 * operator can still answer (net.h: rolled back otherwise). */
		printf("The network baseline is applied. Type \"yes\" within %d seconds to keep it: ",
		       s.confirm_timeout ? s.confirm_timeout : 60);
		fflush(stdout);
		char line[16] = "";
		if (fgets(line, sizeof(line), stdin) != NULL && strncmp(line, "yes", 3) == 0) {
			if (isc_net_confirm(root, &err) < 0)
				return isc_report(&err);
			printf("confirmed\n");
		} else {
			printf("not confirmed: the ruleset rolls back at the timeout\n");
		}
	}
	printf("isc: %s is an ISC host (state root %s)\n", g->lab ? g->lab : "this host", root);
	return 0;
fail:
	if (lab_made) {
		/* a lab this call created goes again: nothing half-created */
		cleanup_error isc_error *e = NULL;
		(void)isc_lab_destroy(g->lab, &e);
	}
	return isc_report(&err);
}

/* ---- deinit ---------------------------------------------------------------- */

int verb_deinit(struct isc_global *g, int argc, char **argv)
{
	if (argc > 1) {
		if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
			isc_verb_usage("deinit", stdout);
			return 0;
		}
		fprintf(stderr, "isc deinit: unexpected argument \"%s\"\n", argv[1]);
		isc_verb_usage("deinit", stderr);
		return ISC_EXIT_USAGE;
	}
	isc_error *err = NULL;
	cleanup_free char *root = absolute(g->root);
	if (g->lab) {
		/* deinit tears the network down in the namespace it runs in: that
		 * must be the lab's host namespace, so a lab whose namespaces are
		 * gone gets them back (empty) first rather than deinit running
		 * in the machine's own namespace. */
		if (isc_lab_name_check(g->lab, &err) < 0)
			return isc_report(&err);
		if (isc_lab_create(g->lab, &err) < 0 || isc_lab_enter(g->lab, false, &err) < 0)
			return isc_report(&err);
	}
	if (isc_host_deinit(root, &err) < 0)
		return isc_report(&err);
	if (g->lab) {
		if (isc_lab_destroy(g->lab, &err) < 0 && err->errnum != ENOENT)
			return isc_report(&err);
		isc_error_free(&err);
	}
	return 0;
}

/* ---- exec ------------------------------------------------------------------ */

static bool user_ok(const char *u)
{
	/* "UID" or "UID:GID", numeric: names would be resolved in the
	 * container's /etc, which the host must not parse */
	const char *colon = strchr(u, ':');
	uint64_t v;
	cleanup_free char *a = isc_xstrdup(u);
	if (colon)
		a[colon - u] = '\0';
	return isc_parse_u64(a, &v) == 0 && v <= UINT32_MAX &&
	       (colon == NULL || (isc_parse_u64(colon + 1, &v) == 0 && v <= UINT32_MAX));
}

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The caller's terminal in raw mode until restored. */
struct raw_tty {
	int fd;
	bool saved;
	struct termios old;
};

static void tty_raw(struct raw_tty *t, int fd)
{
	t->fd = fd;
	t->saved = false;
	if (!isatty(fd) || tcgetattr(fd, &t->old) < 0)
		return;
	struct termios raw = t->old;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSADRAIN, &raw) == 0)
		t->saved = true;
}

static void tty_restore(struct raw_tty *t)
{
	if (t->saved)
		(void)tcsetattr(t->fd, TCSADRAIN, &t->old);
	t->saved = false;
}

/* A signal that would end isc while the terminal is raw restores it first:
 * every signal whose default action terminates (a SIGTERM, SIGUSR1 or
 * SIGALRM from another terminal left the operator's terminal raw).  A
 * signal the process ignores stays ignored (the relay ignores SIGPIPE). */
static const int fatal_signals[] = { SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,   SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM,
				     SIGPROF, SIGXCPU, SIGXFSZ, SIGIO,	   SIGPWR,  SIGPIPE, SIGABRT, SIGBUS,
				     SIGFPE,  SIGILL,  SIGSEGV, SIGSTKFLT, SIGSYS,  SIGTRAP };
#define N_FATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct raw_tty *raw_now;

static void restore_and_die(int sig)
{
	if (raw_now && raw_now->saved)
		(void)tcsetattr(raw_now->fd, TCSANOW, &raw_now->old);
	raise(sig); /* SA_RESETHAND: the default action once this returns */
}

static void fatal_restore(struct raw_tty *t, struct sigaction old[N_FATAL], bool set[N_FATAL])
{
	struct sigaction sa = { .sa_handler = restore_and_die, .sa_flags = SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	raw_now = t;
	for (size_t i = 0; i < N_FATAL; i++) {
		set[i] = sigaction(fatal_signals[i], NULL, &old[i]) == 0 && old[i].sa_handler == SIG_DFL &&
			 sigaction(fatal_signals[i], &sa, NULL) == 0;
	}
}

static void fatal_restore_off(const struct sigaction old[N_FATAL], const bool set[N_FATAL])
{
	for (size_t i = 0; i < N_FATAL; i++)
		if (set[i])
			sigaction(fatal_signals[i], &old[i], NULL);
	raw_now = NULL;
}

/* Relay between the caller's stdin/stdout and the pty master until the
 * exec'ing child (which waits for CMD) is gone, then what the master still
 * holds, bounded (relay.c: the same loop as without -t). */
static void relay_tty(int master, int child_pidfd, bool interactive)
{
	struct raw_tty t = { .saved = false };
	struct sigaction old[N_FATAL];
	bool set[N_FATAL];
	fatal_restore(&t, old, set);
	if (interactive)
		tty_raw(&t, STDIN_FILENO);
	struct isc_relay r = ISC_RELAY_INIT;
	cleanup_error isc_error *err = NULL;
	if (child_pidfd < 0) {
		isc_error_set(&err, errno, "exec -t: pidfd_open");
		close(master);
	} else if (isc_relay_pty(&r, master, interactive, &err) == 0) { /* takes master */
		(void)isc_relay_run(&r, child_pidfd, &err);
	}
	isc_relay_clear(&r);
	tty_restore(&t);
	fatal_restore_off(old, set);
	if (err) {
		char buf[512];
		fprintf(stderr, "isc exec: %s\n", isc_error_text(err, buf, sizeof(buf)));
	}
}

/* exec -t: isc_container_exec hands the pty master to a console socket and
 * then waits for CMD, so it runs in a child while this process receives the
 * master and relays. */
static int exec_tty(const struct isc_context *ctx, struct isc_exec_opts *o, bool interactive, int *status,
		    isc_error **err)
{
	char dir[] = "/tmp/isc-exec-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return isc_error_set(err, errno, "exec -t: console socket directory");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console.sock", dir);
	int ret = -1;
	cleanup_close int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cleanup_close int cfd = -1, master = -1, child_fd = -1;
	pid_t child = -1;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
		isc_error_set(err, errno, "exec -t: console socket %s", sa.sun_path);
		goto out;
	}
	o->console_socket = sa.sun_path;
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	fflush(NULL);
	child = fork();
	if (child < 0) {
		isc_error_set(err, errno, "exec -t: fork");
		goto out;
	}
	if (child == 0) {
		isc_closep(&lfd);
		isc_error *e = NULL;
		int st = 0;
		if (isc_container_exec(ctx, o, &st, &e) < 0) {
			isc_report(&e);
			_exit(255);
		}
		_exit(st);
	}
	sigprocmask(SIG_BLOCK, &mask, &old);
	child_fd = pidfd_of(child);
	/* the master, unless the exec fails before it sends one */
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = child_fd, .events = POLLIN } };
	while (poll(p, child_fd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR)
		;
	if (p[0].revents & POLLIN) {
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd >= 0 && isc_terminal_recv_fd(cfd, &master, err) < 0)
			master = -1;
		isc_error_free(err);
	}
	unlink(sa.sun_path);
	rmdir(dir);
	dir[0] = '\0';
	if (master >= 0) {
		relay_tty(master, child_fd, interactive);
		master = -1; /* the relay's */
	}
	int ws = 0;
	while (waitpid(child, &ws, 0) < 0 && errno == EINTR)
		;
	child = -1;
	sigprocmask(SIG_SETMASK, &old, NULL);
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	ret = 0;
out:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (dir[0]) {
		unlink(sa.sun_path);
		rmdir(dir);
	}
	o->console_socket = NULL; /* it pointed into this frame */
	return ret;
}

/* The exit status of an exec that failed, as a shell and podman give it:
 * 127 when CMD is not found, 126 when it is found but cannot be run (not
 * executable, a directory, not a program), 255 for any other failure.  The
 * runtime names CMD in its message as exec: "CMD" (runtime/process.c). */
static int exec_failure_status(const isc_error *err)
{
	if (err == NULL || err->msg == NULL || strstr(err->msg, "exec: \"") == NULL)
		return 255;
	if (err->errnum == ENOENT || (err->errnum == 0 && strstr(err->msg, "not found in $PATH")))
		return 127;
	if (err->errnum == EACCES || err->errnum == ENOEXEC || err->errnum == EISDIR || err->errnum == ENOTDIR)
		return 126;
	return 255;
}

/* The analyzer does not follow the cleanup attribute of `env` through the
 * early returns; it is freed on every path. */
/* NOLINTBEGIN(clang-analyzer-unix.Malloc) */
int verb_exec(struct isc_global *g, int argc, char **argv)
{
	struct isc_cli_getopt go;
	isc_verb_getopt("exec", &go);
	struct isc_exec_opts o = { 0 };
	/* at most one -e per argument: one allocation, NULL-terminated */
	cleanup_free char **env = calloc((size_t)argc + 1, sizeof(char *));
	size_t n_env = 0;
	if (env == NULL)
		abort();
	bool interactive = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			interactive = true;
			break;
		case 't':
			o.tty = true;
			break;
		case 'u':
			if (!user_ok(optarg)) {
				fprintf(stderr, "isc exec: -u \"%s\": a numeric UID[:GID] of the container\n", optarg);
				return ISC_EXIT_USAGE;
			}
			o.user = optarg;
			break;
		case 'e':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=') {
				fprintf(stderr, "isc exec: -e \"%s\": K=V expected\n", optarg);
				return ISC_EXIT_USAGE;
			}
			env[n_env++] = optarg;
			break;
		case 'w':
			if (optarg[0] != '/') {
				fprintf(stderr, "isc exec: -w \"%s\": an absolute path expected\n", optarg);
				return ISC_EXIT_USAGE;
			}
			o.cwd = optarg;
			break;
		case 'h':
			isc_verb_usage("exec", stdout);
			return 0;
		default:
			fprintf(stderr, "isc exec: unknown or incomplete option %s\n", argv[optind - 1]);
			isc_verb_usage("exec", stderr);
			return ISC_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "isc exec: a service NAME and a CMD are required\n");
		isc_verb_usage("exec", stderr);
		return ISC_EXIT_USAGE;
	}
	o.id = argv[optind];
	o.argv = argv + optind + 1;
	o.env = env;

	isc_error *err = NULL;
	cleanup_free char *root = absolute(g->root);
	cleanup_free char *rt = isc_xasprintf("%s/runtime", root);
	struct stat st;
	if (stat(rt, &st) < 0) {
		fprintf(stderr, "isc exec: %s is not an ISC host (isc%s%s init)\n", root, g->lab ? " --lab " : "",
			g->lab ? g->lab : "");
		return 1;
	}
	cleanup_free char *sdir = isc_xasprintf("%s/%s", rt, o.id);
	if (strchr(o.id, '/') || o.id[0] == '.' || stat(sdir, &st) < 0) {
		fprintf(stderr, "isc exec: no running service \"%s\" (isc ps lists them)\n", o.id);
		return 1;
	}
	if (!interactive) {
		/* without -i CMD reads nothing */
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul < 0 || dup2(nul, STDIN_FILENO) < 0) {
			fprintf(stderr, "isc exec: /dev/null: %s\n", strerror(errno));
			return 1;
		}
		close(nul);
	}

	/* A session: the login and logout records are written by the exec
	 * itself (exec.c) for a container with an audit identity; isc exec
	 * fails closed when the login record cannot be written. */
	o.audit_required = true;
	/* isc's own client: the container gets pipes this process copies
	 * through, never one of the operator's fds (a file behind `>> log`
	 * could be reopened, rewritten, chmod'ed; relay.h) */
	o.relay_all = true;

	/* A container that could write our binary (no user namespace: --userns
	 * host) is entered from a sealed copy of it: re-executed now, before
	 * -t forks (a re-exec there would restart only the child). */
	struct isc_context ctx = { .root = rt, .may_reexec = true };
	if (isc_container_exec_seal(&ctx, o.id, &err) < 0) {
		isc_error_wrap(&err, "exec %s", o.id);
		isc_report(&err);
		return 255;
	}
	int status = 0, r;
	if (o.tty)
		r = exec_tty(&ctx, &o, interactive, &status, &err);
	else
		r = isc_container_exec(&ctx, &o, &status, &err);

	if (r < 0) {
		int code = exec_failure_status(err);
		isc_error_wrap(&err, "exec %s", o.id);
		isc_report(&err);
		return code;
	}
	return status;
}
/* NOLINTEND(clang-analyzer-unix.Malloc) */
