/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-auditd: the machine's audit collector (docs/audit.md). */
#ifndef ISC_AUDITD_H
#define ISC_AUDITD_H

#include <linux/audit.h>
#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "audit/audit-record.h"
#include "audit/trail.h"
#include "base/error.h"

#define ISC_AUDITD_KEY "isc"

/* kernel.c: NETLINK_AUDIT control */
int isc_kaudit_open(bool multicast, isc_error **err);
int isc_kaudit_get(int fd, struct audit_status *st, isc_error **err);
/* AUDIT_SET with `mask` of *st; -errno in `*kerr` for a kernel refusal. */
int isc_kaudit_set(int fd, const struct audit_status *st, isc_error **err);
/* Our two rules (x86_64 execve/execveat, i386 execve/execveat), loginuid
 * in the container range [ISC_AUDIT_ID_MIN, ISC_AUDIT_ID_MAX]; add ignores
 * EEXIST, del ignores ENOENT. */
int isc_kaudit_rules(int fd, bool add, isc_error **err);
/* Count the rules carrying our key (for tests and --status). */
int isc_kaudit_count_rules(int fd, unsigned *n, isc_error **err);
/* One record: type and text (the kernel's nlmsg_len quirk handled). */
ssize_t isc_kaudit_recv(int fd, char *buf, size_t size, int *type, char **text);

/* sessions.c: the kernel audit sessions that are containers' */
/* Load RUN/sessions.json (this boot's) and adopt the live containers'. */
int isc_sessions_init(const char *run_dir, isc_error **err);
/* A raw LOGIN record (type 1006, "audit(...): pid= uid= ... auid= ... ses=
 * res="): true when it opened a container session. */
bool isc_sessions_from_login(const char *text, size_t len);
/* Is (ses, auid) a container's session? */
bool isc_sessions_has(uint32_t ses, uint32_t auid);
size_t isc_sessions_count(void);
/* The periodic sweep (every 30 s) and saving what changed. */
void isc_sessions_tick(void);
void isc_sessions_free(void);

/* main.c: the collector's state (one per process) and its log */
#define MAX_HOSTS 256
#define BACKLOG_LIMIT 8192
#define RCVBUF (64 << 20)
#define FLUSH_MS 100
#define FLUSH_RECORDS 4096

struct host {
	char *root;
	uint32_t base, count;
	struct isc_trail *trail;
	json_t *names;
	struct timespec names_mtime;
	uint64_t names_checked_ms;
	bool failing; /* the last flush failed */
	uint64_t fail_logged_ms;
};

/* Records travel from the reader to the main thread packed in batches: one
 * allocation per batch, not per record (and none freed across threads per
 * record). */
#define BATCH_BYTES (256u << 10)
struct rec_hdr {
	int type;
	uint32_t len; /* text bytes, NUL follows */
};
struct batch {
	struct batch *next;
	size_t used;
	char data[BATCH_BYTES];
};

struct collector {
	const char *run_dir;
	bool daemon_role; /* registered as the audit daemon (else multicast) */
	bool use_syslog;
	int backlog_wait;
	uint32_t epoch_seconds;
	uint64_t rotate_bytes; /* for the trail a register creates (0: default) */
	uint32_t keep_files;
	int ctl_fd, rec_fd, listen_fd, stop_efd, queue_efd;
	struct audit_status found;
	struct host hosts[MAX_HOSTS];
	size_t n_hosts;
	struct isc_audit_asm *asm_;
	FILE *log;
	uint32_t last_lost;
	uint64_t unrouted, unattributed, overruns, reported_overruns;
	pthread_mutex_t qlock;
	struct batch *qhead, *qtail;
	bool stopping;
	int ready_fd;	 /* --daemon: tells the parent we are up */
	int stop_client; /* answered once the state is restored */
};
extern struct collector S;

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(isc_error **e, const char *what);
uint64_t now_ms(void);

/* hosts.c: the registered hosts */
int save_ranges(isc_error **err);
struct host *host_by_root(const char *root);
uint32_t free_block(void);
bool block_ok(json_int_t base, json_int_t count);
struct host *host_by_auid(uint32_t auid);
void emit_to(struct host *h, json_t *rec);
void emit_all(json_t *rec);
int open_host(const char *root, uint32_t base, uint32_t count, bool create, char key[ISC_TRAIL_KEY_HEX],
	      isc_error **err);
void close_host(struct host *h);
const char *container_name(struct host *h, uint32_t auid);

/* records.c: the kernel records */
/* the reader thread */
void *reader(void *arg);
void route(json_t *ev);
void drain_queue(void);
void check_lost(void);
void flush_all(void);

/* requests.c: the clients' requests */
void serve_client(void);

#endif
