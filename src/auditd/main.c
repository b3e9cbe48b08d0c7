/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-auditd: the machine's audit collector (docs/audit.md).
 *
 * One per machine.  It becomes the kernel's audit daemon where none is
 * registered (else it reads the multicast log group and only adds its own
 * rules), hands out audit-identity ranges to the hosts (state roots) that
 * register, and writes every record into the trail of the host whose range
 * holds the record's auid -- when its session is one isc-runtime opened for
 * that auid (sessions.c).  A dedicated thread only reads the netlink socket;
 * the main thread parses, routes, writes and syncs at least every 100 ms.
 *
 *   isc-auditd [--run-dir DIR] [--daemon] [--backlog-wait JIFFIES]
 *              [--epoch-seconds N] [--no-syslog]
 *   isc-auditd --stop | --status [--run-dir DIR] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit-client.h"
#include "audit/audit-id.h"
#include "audit/audit-record.h"
#include "auditd.h"
#include "audit/trail.h"
#include "base/util.h"

struct collector S = { .stop_client = -1,
		       .ctl_fd = -1,
		       .rec_fd = -1,
		       .listen_fd = -1,
		       .stop_efd = -1,
		       .queue_efd = -1,
		       .ready_fd = -1,
		       .qlock = PTHREAD_MUTEX_INITIALIZER };

void logmsg(const char *fmt, ...)
{
	char t[ISC_RFC3339_LEN];
	isc_rfc3339_format(t);
	va_list ap;
	va_start(ap, fmt);
	char *m = isc_xvasprintf(fmt, ap);
	va_end(ap);
	FILE *out = S.log ? S.log : stderr;
	fprintf(out, "time=%s level=info msg=\"%s\"\n", t, m);
	fflush(out);
	free(m);
}

void log_error(isc_error **e, const char *what)
{
	char b[1024];
	logmsg("%s: %s", what, isc_error_text(*e, b, sizeof(b)));
	isc_error_free(e);
}

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *run_path(const char *name)
{
	return isc_xasprintf("%s/%s", S.run_dir, name);
}

/* ---- start and stop ---- */

static int save_found_state(isc_error **err)
{
	cleanup_free char *p = run_path("found-state.json");
	cleanup_free char *old = NULL;
	if (isc_read_file(p, &old, NULL, 4096, NULL) == 0) {
		/* a previous collector died without restoring: what it found is
		 * what we must restore, not what it left behind */
		json_t *j = json_loads(old, 0, NULL);
		json_int_t en, fa, bl, bw;
		if (json_unpack(j, "{s:I,s:I,s:I,s:I}", "enabled", &en, "failure", &fa, "backlog_limit", &bl,
				"backlog_wait_time", &bw) == 0) {
			S.found.enabled = (uint32_t)en;
			S.found.failure = (uint32_t)fa;
			S.found.backlog_limit = (uint32_t)bl;
			S.found.backlog_wait_time = (uint32_t)bw;
			json_decref(j);
			logmsg("a previous collector did not stop cleanly: restoring what it found on stop");
			return 1;
		}
		json_decref(j);
	}
	cleanup_free char *s = isc_xasprintf("{\"enabled\": %u, \"failure\": %u, \"backlog_limit\": %u, "
					     "\"backlog_wait_time\": %u, \"pid\": %u}\n",
					     S.found.enabled, S.found.failure, S.found.backlog_limit,
					     S.found.backlog_wait_time, S.found.pid);
	cleanup_close int dfd = open(S.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", S.run_dir);
	return isc_write_file_durable(dfd, "found-state.json", s, strlen(s), 0600, err);
}

static int setup_kernel(isc_error **err)
{
	S.ctl_fd = isc_kaudit_open(false, err);
	if (S.ctl_fd < 0)
		return -1;
	struct audit_status cur;
	if (isc_kaudit_get(S.ctl_fd, &cur, err) < 0)
		return -1;
	S.found = cur;
	if (cur.enabled == 2)
		return isc_error_set(err, EPERM,
				     "the audit configuration is locked (enabled=2): rules cannot be added");
	int prev = save_found_state(err);
	if (prev < 0)
		return -1;
	S.last_lost = cur.lost;
	/* the daemon role where none is registered */
	S.rec_fd = isc_kaudit_open(false, err);
	if (S.rec_fd < 0)
		return -1;
	struct audit_status set = { .mask = AUDIT_STATUS_PID | AUDIT_STATUS_ENABLED,
				    .enabled = 1,
				    .pid = (uint32_t)getpid() };
	cleanup_error isc_error *e = NULL;
	if (isc_kaudit_set(S.rec_fd, &set, &e) == 0) {
		S.daemon_role = true;
		/* a large buffer, a bounded backlog and a short, deliberate wait:
		 * the default wait (60 s per record) would stall every audited
		 * exec on the machine if we ever fell behind */
		struct audit_status bl = { .mask = AUDIT_STATUS_BACKLOG_LIMIT | AUDIT_STATUS_BACKLOG_WAIT_TIME,
					   .backlog_limit = BACKLOG_LIMIT,
					   .backlog_wait_time = (uint32_t)S.backlog_wait };
		if (isc_kaudit_set(S.ctl_fd, &bl, err) < 0)
			return -1;
	} else if (e->errnum == EEXIST) {
		isc_error_free(&e);
		close(S.rec_fd);
		S.rec_fd = isc_kaudit_open(true, err);
		if (S.rec_fd < 0)
			return -1;
		if (!cur.enabled) {
			struct audit_status en = { .mask = AUDIT_STATUS_ENABLED, .enabled = 1 };
			if (isc_kaudit_set(S.ctl_fd, &en, err) < 0)
				return -1;
		}
		logmsg("another audit daemon (pid %u) is registered: reading the multicast group", cur.pid);
	} else {
		isc_error_move(err, &e);
		return isc_error_wrap(err, "become the audit daemon");
	}
	int sz = RCVBUF;
	if (setsockopt(S.rec_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0 &&
	    setsockopt(S.rec_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0)
		return isc_error_set(err, errno, "SO_RCVBUFFORCE on the audit socket");
	int fl = fcntl(S.rec_fd, F_GETFL);
	if (fl < 0 || fcntl(S.rec_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return isc_error_set(err, errno, "O_NONBLOCK on the audit socket");
	if (isc_kaudit_rules(S.ctl_fd, true, err) < 0)
		return -1;
	return 0;
}

static void restore_kernel(void)
{
	cleanup_error isc_error *e = NULL;
	if (S.ctl_fd < 0)
		return;
	if (isc_kaudit_rules(S.ctl_fd, false, &e) < 0)
		log_error(&e, "restore: delete the rules");
	struct audit_status st = { .mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_FAILURE,
				   .enabled = S.found.enabled,
				   .failure = S.found.failure };
	if (S.daemon_role) {
		st.mask |= AUDIT_STATUS_BACKLOG_LIMIT | AUDIT_STATUS_BACKLOG_WAIT_TIME;
		st.backlog_limit = S.found.backlog_limit;
		st.backlog_wait_time = S.found.backlog_wait_time;
	}
	if (isc_kaudit_set(S.ctl_fd, &st, &e) < 0)
		log_error(&e, "restore: the audit status");
	if (S.daemon_role) {
		struct audit_status p = { .mask = AUDIT_STATUS_PID, .pid = 0 };
		if (isc_kaudit_set(S.rec_fd, &p, &e) < 0)
			isc_error_free(&e); /* closing the socket unregisters too */
	}
	cleanup_free char *fp = run_path("found-state.json");
	unlink(fp);
}

static int setup_listen(isc_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/collector.sock", S.run_dir);
	if ((size_t)n >= sizeof(sa.sun_path))
		return isc_error_set(err, ENAMETOOLONG, "%s/collector.sock", S.run_dir);
	S.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (S.listen_fd < 0)
		return isc_error_set(err, errno, "socket");
	unlink(sa.sun_path);
	mode_t old = umask(0177);
	int r = bind(S.listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(S.listen_fd, 64) < 0)
		return isc_error_set(err, errno, "listen %s", sa.sun_path);
	return 0;
}

static void load_hosts(bool clean)
{
	cleanup_free char *p = run_path("ranges.json");
	json_t *j = json_load_file(p, 0, NULL);
	json_t *a = json_object_get(j, "ranges"), *v;
	size_t i;
	json_array_foreach(a, i, v) {
		const char *root = NULL;
		json_int_t base = 0, count = 0;
		if (json_unpack(v, "{s:s,s:I,s:I}", "root", &root, "base", &base, "count", &count) < 0)
			continue;
		if (!block_ok(base, count)) {
			/* a block from before the range moved (audit-id.h): a new
			 * one; the host's services get new ids at their next start */
			uint32_t nb = free_block();
			logmsg("%s had audit ids %lld-%lld, outside the container range %u-%u: %s %u-%u", root,
			       (long long)base, (long long)base + (long long)count - 1, ISC_AUDIT_ID_MIN,
			       ISC_AUDIT_ID_MAX, nb ? "now" : "no block free, given up; it was", nb,
			       nb + ISC_AUDIT_RANGE - 1);
			if (nb == 0)
				continue;
			base = nb;
			count = ISC_AUDIT_RANGE;
		}
		cleanup_error isc_error *e = NULL;
		if (open_host(root, (uint32_t)base, (uint32_t)count, false, NULL, &e) < 0) {
			log_error(&e, "reopen a registered host; its range is given up");
			continue;
		}
	}
	json_decref(j);
	/* a restart leaves a gap record: nothing was collected while no
	 * collector ran, and the kernel's lost counter says what it dropped */
	json_t *gap = json_pack("{s:s,s:s,s:I,s:s}", "type", "gap", "previous_stop", clean ? "clean" : "unclean",
				"kernel_lost", (json_int_t)S.found.lost, "reason",
				"collector started: records of execs while no collector ran are not in the trail");
	emit_all(gap);
	json_decref(gap);
	cleanup_error isc_error *e = NULL;
	if (save_ranges(&e) < 0)
		log_error(&e, "save ranges");
}

static void stop_all(void)
{
	uint64_t one = 1;
	if (write(S.stop_efd, &one, sizeof(one)) < 0) {
		/* the reader also stops when its socket closes */
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: isc-auditd [--run-dir DIR] [--daemon] [--backlog-wait JIFFIES] [--epoch-seconds N] "
		   "[--no-syslog]\n       isc-auditd --stop | --status [--run-dir DIR]\n"
		   "\n"
		   "The machine's audit collector: kernel audit records of containers to the trail of\n"
		   "the ISC host that owns them (isc init starts it; isc deinit of the last host stops it).\n"
		   "\n"
		   "  --run-dir DIR           machine-wide state and the client socket (default /run/isc/audit)\n"
		   "  --daemon                detach once the collector serves its socket\n"
		   "  --backlog-wait JIFFIES  the kernel's backlog_wait_time while collecting\n"
		   "  --epoch-seconds N       sealing epoch of trails created without one\n"
		   "  --no-syslog             do not copy records to syslog\n"
		   "  --stop                  stop the running collector (it restores the audit state)\n"
		   "  --status                print the collector's state as JSON\n"
		   "\n"
		   "See isc-auditd(8).\n");
}

struct options {
	bool daemonize, stop, status;
};

/* The command line into S and *o: -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "stop", no_argument, NULL, 's' },
		{ "status", no_argument, NULL, 'S' },
		{ "backlog-wait", required_argument, NULL, 'w' },
		{ "epoch-seconds", required_argument, NULL, 'e' },
		{ "no-syslog", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	S.use_syslog = true;
	S.backlog_wait = 10; /* jiffies: 40 ms at HZ=250 */
	S.epoch_seconds = 900;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case 'r':
			S.run_dir = optarg;
			break;
		case 'd':
			o->daemonize = true;
			break;
		case 's':
			o->stop = true;
			break;
		case 'S':
			o->status = true;
			break;
		case 'n':
			S.use_syslog = false;
			break;
		case 'w':
			if (isc_parse_u64(optarg, &v) < 0 || v > 60000) {
				fprintf(stderr, "isc-auditd: --backlog-wait %s: jiffies 0-60000 expected\n", optarg);
				return 2;
			}
			S.backlog_wait = (int)v;
			break;
		case 'e':
			if (isc_parse_u64(optarg, &v) < 0 || v == 0 || v > 86400 * 7) {
				fprintf(stderr, "isc-auditd: --epoch-seconds %s: 1-604800 expected\n", optarg);
				return 2;
			}
			S.epoch_seconds = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* --stop, --status: a request to the running collector; the exit code. */
static int request_main(bool stop, bool status)
{
	cleanup_error isc_error *err = NULL;
	char ebuf[1024];
	json_t *req = json_pack("{s:s}", "op", stop ? "stop" : "status"), *rep = NULL;
	int r = isc_audit_request(req, &rep, &err);
	json_decref(req);
	if (r < 0) {
		fprintf(stderr, "isc-auditd: %s\n", isc_error_text(err, ebuf, sizeof(ebuf)));
		return 1;
	}
	if (status) {
		json_dumpf(rep, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(rep);
	return 0;
}

/* --daemon: the parent waits until the collector serves its socket (or
 * says why not) and exits with the code returned here; -1 in the child,
 * which goes on in a session of its own. */
static int daemonize(void)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid > 0) {
		close(pfd[1]);
		char msg[1024];
		ssize_t n = read(pfd[0], msg, sizeof(msg) - 1);
		if (n == 1 && msg[0] == 0)
			return 0;
		if (n > 0) {
			msg[n] = 0;
			fprintf(stderr, "isc-auditd: %s\n", msg);
		} else {
			fprintf(stderr, "isc-auditd: the collector exited before it was ready (see %s/auditd.log)\n",
				S.run_dir);
		}
		return 1;
	}
	close(pfd[0]);
	S.ready_fd = pfd[1];
	setsid();
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		close(nul);
	}
	return -1;
}

/* One collector per machine (per run dir): *lockfd holds the lock (-1 when
 * another collector has it), then our pid file; *clean says whether the
 * last collector removed its own. */
static int take_run_dir(int *lockfd, bool *clean, isc_error **err)
{
	cleanup_free char *lockp = run_path("collector.lock");
	*lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lockfd < 0 || flock(*lockfd, LOCK_EX | LOCK_NB) < 0) {
		isc_error_set(err, errno, "another isc-auditd runs (lock %s)", lockp);
		close(steal_fd(lockfd)); /* its pid file is not ours to remove */
		return -1;
	}
	cleanup_free char *pidp = run_path("collector.pid");
	*clean = access(pidp, F_OK) != 0;
	cleanup_free char *pids = isc_xasprintf("%d\n", (int)getpid());
	if (S.run_dir == NULL)
		return isc_error_set(err, EINVAL, "no run directory");
	cleanup_close int dfd = open(S.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || isc_write_file_atomic(dfd, "collector.pid", pids, strlen(pids), 0600, err) < 0)
		return -1;
	return 0;
}

/* syslog, the signals (as a signalfd, *sfd), the eventfds, the assembler */
static int setup_process(int *sfd, isc_error **err)
{
	if (S.use_syslog) {
		struct stat sb;
		openlog("isc-auditd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
		if (stat("/dev/log", &sb) < 0 || !S_ISSOCK(sb.st_mode))
			logmsg("no syslog socket (/dev/log): audit records are not delivered to syslog");
	}
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	*sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	S.stop_efd = eventfd(0, EFD_CLOEXEC);
	S.queue_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	S.asm_ = isc_audit_asm_new();
	if (*sfd < 0 || S.stop_efd < 0 || S.queue_efd < 0)
		return isc_error_set(err, errno, "signalfd/eventfd");
	return 0;
}

/* The kernel, the hosts, the sessions, the socket, the reader thread; the
 * kernel's audit state is restored when one of them fails. */
static int start(bool clean, pthread_t *th, isc_error **err)
{
	if (setup_kernel(err) < 0) {
		restore_kernel();
		return -1;
	}
	load_hosts(clean);
	if (isc_sessions_init(S.run_dir, err) < 0) {
		restore_kernel();
		return -1;
	}
	flush_all();
	if (setup_listen(err) < 0) {
		restore_kernel();
		return -1;
	}
	if (pthread_create(th, NULL, reader, NULL) != 0) {
		isc_error_set(err, EAGAIN, "start the reader thread");
		restore_kernel();
		return -1;
	}
	logmsg("collecting as %s (pid %d); %zu hosts registered",
	       S.daemon_role ? "the audit daemon" : "a multicast reader", (int)getpid(), S.n_hosts);
	if (S.ready_fd >= 0) {
		char z = 0;
		if (write(S.ready_fd, &z, 1) < 0) {
			/* the parent is gone: nothing to tell */
		}
		close(S.ready_fd);
		S.ready_fd = -1;
	}
	return 0;
}

/* The main thread until a signal or a stop request: records from the
 * reader, the lost counter each second, a flush at least every FLUSH_MS,
 * the clients. */
static void serve(int sfd)
{
	uint64_t last_flush = now_ms(), last_lost = 0;
	while (!S.stopping) {
		struct pollfd p[3] = { { S.listen_fd, POLLIN, 0 }, { S.queue_efd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
		int r = poll(p, 3, FLUSH_MS / 5);
		if (r < 0 && errno != EINTR)
			break;
		if (p[2].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP)
				S.stopping = true;
		}
		if (p[1].revents) {
			uint64_t v;
			if (read(S.queue_efd, &v, sizeof(v)) < 0) {
				/* nonblocking: nothing to reset */
			}
		}
		drain_queue();
		uint64_t now = now_ms();
		size_t pending = 0;
		for (size_t i = 0; i < S.n_hosts; i++)
			pending += isc_trail_pending(S.hosts[i].trail);
		if (now - last_lost >= 1000) {
			check_lost();
			last_lost = now;
		}
		if (now - last_flush >= FLUSH_MS || pending >= FLUSH_RECORDS) {
			flush_all();
			isc_sessions_tick();
			last_flush = now;
		}
		if (p[0].revents)
			serve_client();
	}
}

/* The last records once the reader stopped: what is still in the socket,
 * in the queue, and in the assembler. */
static void drain_last(void)
{
	{
		/* what arrived after the reader stopped */
		static char buf[8970 + 64] __attribute__((aligned(8)));
		json_t *events = json_array();
		int type;
		char *text;
		ssize_t n;
		while ((n = isc_kaudit_recv(S.rec_fd, buf, sizeof(buf), &type, &text)) >= 0 || n == -ENOBUFS)
			if (n > 0 && type >= 1000)
				isc_audit_asm_add(S.asm_, type, text, (size_t)n, events);
		json_decref(events);
	}
	drain_queue();
	{
		json_t *events = json_array();
		isc_audit_asm_flush(S.asm_, 0, 0, events);
		size_t i;
		json_t *ev;
		json_array_foreach(events, i, ev)
			route(ev);
		json_decref(events);
	}
}

/* stop: the reader first, then the last records, then the kernel; the
 * run dir is free (lockfd closed) before a stop request is answered */
static void stop(pthread_t th, int lockfd)
{
	stop_all();
	pthread_join(th, NULL);
	usleep(50000);
	drain_last();
	check_lost();
	restore_kernel();
	json_t *bye = json_pack("{s:s}", "type", "collector-stop");
	emit_all(bye);
	json_decref(bye);
	flush_all();
	while (S.n_hosts > 0) {
		isc_trail_close(S.hosts[S.n_hosts - 1].trail);
		free(S.hosts[S.n_hosts - 1].root);
		json_decref(S.hosts[S.n_hosts - 1].names);
		S.n_hosts--;
	}
	cleanup_free char *sockp = run_path("collector.sock");
	cleanup_free char *pidp = run_path("collector.pid");
	unlink(sockp);
	unlink(pidp);
	close(S.rec_fd);
	close(S.ctl_fd);
	logmsg("stopped; the audit state found at start is restored");
	/* free the run dir for a next collector before saying we are done */
	close(lockfd);
	if (S.stop_client >= 0) {
		const char *ok = "{\"ok\":true}";
		(void)send(S.stop_client, ok, strlen(ok), MSG_NOSIGNAL);
		close(S.stop_client);
	}
	isc_audit_asm_free(S.asm_);
	isc_sessions_free();
}

/* A start that failed: the log, the waiting parent (or stderr), and our
 * pid file when the run dir was ours. */
static int start_failed(isc_error **err, int lockfd)
{
	char ebuf[1024];
	logmsg("cannot start: %s", isc_error_text(*err, ebuf, sizeof(ebuf)));
	if (S.ready_fd >= 0) {
		const char *m = isc_error_text(*err, ebuf, sizeof(ebuf));
		if (write(S.ready_fd, m, strlen(m)) < 0) {
			/* the parent is gone */
		}
	} else {
		fprintf(stderr, "isc-auditd: %s\n", isc_error_text(*err, ebuf, sizeof(ebuf)));
	}
	cleanup_free char *pp = run_path("collector.pid");
	if (lockfd >= 0)
		unlink(pp);
	return 1;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (S.run_dir == NULL)
		S.run_dir = isc_audit_run_dir();
	else
		setenv("ISC_AUDIT_RUN_DIR", S.run_dir, 1);
	if (o.stop || o.status)
		return request_main(o.stop, o.status);
	cleanup_error isc_error *err = NULL;
	char ebuf[1024];
	if (geteuid() != 0) {
		fprintf(stderr, "isc-auditd: must run as root\n");
		return 1;
	}
	if (isc_mkdir_p(S.run_dir, 0700, &err) < 0) {
		fprintf(stderr, "isc-auditd: %s\n", isc_error_text(err, ebuf, sizeof(ebuf)));
		return 1;
	}
	if (o.daemonize && (rc = daemonize()) >= 0)
		return rc;
	cleanup_free char *logp = run_path("auditd.log");
	S.log = fopen(logp, "ae");
	if (S.log && o.daemonize)
		dup2(fileno(S.log), 2);
	cleanup_close int lockfd = -1;
	bool clean = false;
	int sfd = -1;
	pthread_t th;
	if (take_run_dir(&lockfd, &clean, &err) < 0 || setup_process(&sfd, &err) < 0 || start(clean, &th, &err) < 0)
		return start_failed(&err, lockfd);
	serve(sfd);
	stop(th, steal_fd(&lockfd));
	return 0;
}
