/* SPDX-License-Identifier: GPL-2.0-or-later
 * The supervisor's internals, shared by the files of src/lib/iscd that make
 * it (supervise.h is its interface to iscd).  The design: supervise.c's
 * note, and each file's own. */
#ifndef ISC_SUPERVISOR_H
#define ISC_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/error.h"
#include "iscd/supervise.h"
#include "plan/plan.h"
#include "runtime/container.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_NS (10ULL * 1000000000ULL)
#define FIFO_SIZE (1 << 20) /* the log FIFOs' capacity */
#define MS 1000000ULL

enum watch_kind { W_LISTEN, W_SIGNAL, W_PIDFD, W_STDOUT, W_STDERR };

struct watch {
	enum watch_kind kind;
	struct svc *svc;
};

struct logstream {
	int fd; /* the FIFO, O_RDWR | O_NONBLOCK */
	const char *name;
	size_t len;
	char buf[ISC_LOG_LINE_MAX];
	struct watch w;
};

enum svc_state { SVC_STOPPED, SVC_RUNNING, SVC_RESTARTING };

struct svc {
	struct svc *next;
	char *name;
	char *dir; /* R/containers/NAME */
	struct isc_plan plan;
	char image_id[65];
	uint32_t uid_base;    /* 0 with --userns host */
	uint32_t audit_id;    /* org.isc.audit.id; 0 on a host without an audit trail */
	json_t *image_config; /* the image's run settings (Cmd, Env...) at `run`, or NULL */
	bool desired_running;
	enum svc_state state;
	unsigned restarts, exits;
	json_t *last_exit; /* {"status": N | "unknown", "time": ...} or NULL */
	char *started, *finished, *last_error;
	char *created; /* service.json's "created" (RFC 3339), or NULL */
	char id[65];   /* service.json's "id": 64 random hex digits at `run` ("" before ids) */
	pid_t pid;
	uint64_t pid_start;
	int pidfd;
	struct watch pidw;
	uint64_t started_ns;
	uint64_t backoff_ms;
	uint64_t restart_at_ns; /* 0: no restart pending */
	uint64_t kill_at_ns;	/* a stop's SIGKILL deadline; 0: none */
	bool removing;		/* rm under way: a pending restart must not start it */
	bool paused;		/* SVC_RUNNING, its cgroups frozen (isc pause) */
	bool killed;		/* isc kill: this run's exit is not restarted */
	bool rm_hold;		/* --rm, attached run: its client removes it once it has the output (or releases it) */
	bool rm_due;		/* --rm: it ended for good; sv_rm_due removes it */
	char *rootfs_mount;	/* the idmapped rootfs mount point, when mounted */
	enum { JOP_NONE, JOP_STOP, JOP_RESTART } jop; /* a journalled stop/restart waits for the exit */
	bool net_up;
	struct logstream out, errs;
	int logfd; /* container.log, O_APPEND */
	uint64_t log_size;
};

/* A request answered later: "wait" at the service's next exit, "stop" and
 * "restart" once the container is gone (and, for restart, started again). */
enum waiter_kind { WAIT_EXIT, WAIT_STOP, WAIT_RESTART };

struct waiter {
	struct waiter *next;
	enum waiter_kind kind;
	int fd;
	char *name;
	unsigned exits; /* WAIT_EXIT: reply once the service's exits > this */
};

struct isc_supervisor {
	char *root;
	char *runtime_root;  /* R/runtime */
	char *seccomp_cache; /* R/runtime/.cache/seccomp: compiled filters, root-only */
	char *containers;    /* R/containers */
	int epfd, lfd, sfd;
	struct watch lw, sw;
	struct svc *svcs;
	struct waiter *waiters;
	bool quit;
	bool network;	  /* R/host.json has a "network" setting */
	int ssh_port;	  /* the host's SSH port (host.json): never exposed */
	pid_t pktlog_pid; /* the packet log's process, 0 when none runs */
	uint64_t pktlog_started_ns;
	uint64_t pktlog_backoff_ms;
	uint64_t pktlog_restart_at_ns; /* 0: no restart pending */
};

/* supervise.c: the loop, the epoll watches, a service by name */
void sv_epoll_add(struct isc_supervisor *sv, int fd, struct watch *w);
void sv_epoll_del(struct isc_supervisor *sv, int fd);
struct isc_context sv_runtime_ctx(const struct isc_supervisor *sv);
struct svc *svc_find(struct isc_supervisor *sv, const char *name);
char *svc_path(const struct svc *s, const char *rel);
/* iscd's log descriptor (the packet log's child keeps it alone) */
int sv_log_fd(void);

/* status.c: a service's record and its files (service.json, status.json), the journal, test points */
/* Record the op about to run on `name` (entry: stolen; NULL: just "op"). */
int sv_journal_begin(const struct isc_supervisor *sv, const char *name, const char *op, json_t *entry, isc_error **err);
/* The same for a stop or rm, which goes on (logged) when it cannot be journalled. */
void sv_journal_begin_or_log(const struct isc_supervisor *sv, const char *name, const char *op, json_t *entry);
void sv_journal_end(const struct isc_supervisor *sv, const char *name);
void svc_free(struct svc *s);
int svc_load(struct isc_supervisor *sv, const char *name, struct svc **out, isc_error **err);
struct svc *svc_new(struct isc_supervisor *sv, const char *name);
int svc_save_plan(const struct svc *s, isc_error **err);
int svc_save_service(struct svc *s, isc_error **err);
/* The service's folder (sub: a folder in it, or NULL), opened O_PATH. */
int svc_dir_open(const struct svc *s, const char *sub, isc_error **err);
void svc_save_status(struct svc *s);
/* *err in iscd's log as "NAME: message" (LOG_ERR), then freed. */
void svc_log_error(const struct svc *s, isc_error **err);
void svc_set_error(struct svc *s, const isc_error *e);
json_t *svc_status_json(const struct svc *s);
/* Test builds: SIGSTOP at the step ISCD_TEST_STOP_AT names. */
void sv_test_point(const char *step);

/* logs.c: the log FIFOs and container.log */
/* A bounded read of one FIFO into container.log; flush: all it holds now. */
void svc_log_drain(struct svc *s, struct logstream *ls, bool flush);
/* The two FIFOs made if need be, opened O_RDWR and watched. */
int svc_open_fifos(struct isc_supervisor *sv, struct svc *s, isc_error **err);

/* start.c: a start and its teardown */
bool sv_host_has_audit(const char *root);
bool sv_host_has_network(const char *root);
/* A pidfd of pid when it still has that start time, else -1 (errno). */
int sv_pidfd_open(pid_t pid, uint64_t start_time);
/* Run fn in a forked child (the runtime library may change the process:
 * mounts, signal dispositions, exit paths); its error text comes back
 * through a pipe, prefixed with `what`. */
typedef int (*child_fn)(struct isc_supervisor *sv, struct svc *s, void *arg, isc_error **err);
int sv_run_in_child(struct isc_supervisor *sv, struct svc *s, child_fn fn, void *arg, const char *what,
		    isc_error **err);
/* Start s from its plan; on failure everything it made is undone. */
int svc_start(struct isc_supervisor *sv, struct svc *s, isc_error **err);
/* Everything a start made, in reverse; what is not there is skipped. */
void svc_teardown(struct isc_supervisor *sv, struct svc *s, bool keep_addr);

/* volumes.c: the volumes' sources (checked at run, staged at start) */
int svc_volumes_check_targets(const struct isc_supervisor *sv, const struct svc *s, isc_error **err);
/* run: every source opened, checked against the writers, identified. */
int svc_volumes_record(struct isc_supervisor *sv, struct svc *s, isc_error **err);
int svc_volumes_release(const struct svc *s, isc_error **err);
/* Start: every volume source opened, checked and bound (sources: the binds). */
int svc_volumes_stage(struct svc *s, char ***sources, isc_error **err);

/* exit.c: exits, the restart policy, stops, the waiting requests */
bool sv_pidfd_wait(int fd, int ms);
uint64_t sv_realtime_ns(void);
void sv_restart_due(struct isc_supervisor *sv);
void sv_sigchld(struct isc_supervisor *sv);
void sv_stop_deadlines(struct isc_supervisor *sv);
void svc_close_pidfd(struct isc_supervisor *sv, struct svc *s);
/* s ended (known: wstatus is its status): logs, teardown, the policy, the waiters. */
void svc_exited(struct isc_supervisor *sv, struct svc *s, bool known, int wstatus);
/* rm -f: SIGKILL and wait for the end. */
void svc_kill_now(struct isc_supervisor *sv, struct svc *s);
void svc_reap(struct isc_supervisor *sv, struct svc *s);
/* SIGTERM now, SIGKILL at the deadline (timeout 0: SIGKILL now); op "stop" or
 * "restart" journals it.  True when s is stopped already, false when the exit answers. */
bool svc_stop_begin(struct isc_supervisor *sv, struct svc *s, int timeout, const char *op);
void sv_waiters_notify(struct isc_supervisor *sv, struct svc *s, bool removed);

/* ops.c: the service ops (run, ps, inspect, start, rm) */
int sv_op_inspect(struct isc_supervisor *sv, struct svc *s, json_t **reply);
int sv_op_ps(struct isc_supervisor *sv, json_t **reply);
int sv_op_rm(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err);
int sv_op_run(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err);
int sv_op_start(struct isc_supervisor *sv, struct svc *s, json_t **reply, isc_error **err);
/* The end of an rm once nothing runs (s off the list): teardown, ids, files. */
int svc_rm_finish(struct isc_supervisor *sv, struct svc *s, bool purge, isc_error **err);
/* --rm: the services that ended for good, removed (persist/ kept); from the loop */
void sv_rm_due(struct isc_supervisor *sv);
/* release: an attached --rm run's client lets go (Ctrl-C): iscd removes it at its end */
int sv_op_release(struct isc_supervisor *sv, struct svc *s, json_t **reply);
json_t *svc_summary(const struct svc *s);
void svc_unlink(struct isc_supervisor *sv, struct svc *s);

/* netops.c: the network ops (expose, unexpose, allow, policy) */
int sv_need_network(struct isc_supervisor *sv, isc_error **err);
int sv_op_allow(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err);
int sv_op_expose(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err);
int sv_op_policy(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err);
int sv_op_unexpose(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err);

/* svcctl.c: kill, pause, unpause, update, stats, top */
int sv_op_kill(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err);
int sv_op_pause(struct isc_supervisor *sv, struct svc *s, bool pause, json_t **reply, isc_error **err);
int sv_op_update(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err);
int sv_op_stats(struct isc_supervisor *sv, struct svc *s, json_t **reply, isc_error **err);
int sv_op_top(struct isc_supervisor *sv, struct svc *s, json_t **reply, isc_error **err);
/* A paused service thawed (for a stop or rm: a frozen task acts on no signal). */
void svc_thaw(struct isc_supervisor *sv, struct svc *s);

/* control.c: one request on the control socket */
void sv_handle_request(struct isc_supervisor *sv, int fd);

/* recover.c: re-adoption and recovery at start */
/* Load every service, re-adopt it, finish what a killed iscd left. */
void sv_readopt_all(struct isc_supervisor *sv);

/* hostnet.c: the host's network and the packet log */
void sv_net_host_up(struct isc_supervisor *sv);
void sv_pktlog_exited(struct isc_supervisor *sv, int ws);
void sv_pktlog_start(struct isc_supervisor *sv);
void sv_pktlog_stop_now(struct isc_supervisor *sv);

#endif
