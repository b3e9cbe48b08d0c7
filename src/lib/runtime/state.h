/* SPDX-License-Identifier: GPL-2.0-or-later
 * Runtime state: one directory per container under the runtime root
 * (default /run/isc-runtime), locked with flock() by every command that
 * changes it, with state.json replaced atomically (rename), so that racing
 * commands (podman's kill and delete) and a runtime that crashes mid-command
 * leave a state that the next command understands. */
#ifndef ISC_STATE_H
#define ISC_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "base/error.h"

#define ISC_RUNTIME_DEFAULT_ROOT "/run/isc-runtime"
#define ISC_OCI_VERSION "1.2.0"

enum isc_status { ISC_STATUS_CREATING, ISC_STATUS_CREATED, ISC_STATUS_RUNNING, ISC_STATUS_STOPPED, ISC_STATUS_PAUSED };
const char *isc_status_name(enum isc_status s);

struct isc_state {
	char *id;
	char *bundle;
	char *rootfs;
	pid_t pid;		 /* the container's init on the host; 0 before it exists */
	uint64_t pid_start_time; /* to detect pid reuse */
	pid_t creator_pid;	 /* the runtime process that is creating it */
	uint64_t creator_start_time;
	char *created;		/* RFC 3339 UTC */
	bool hooks_saved;	/* config.json copied into the state dir for poststart/poststop hooks */
	char *cgroup;		/* isc_cgroup_serialize() text; may be NULL */
	char *annotations_json; /* JSON object text; may be NULL */
	char *notify_socket;	/* the caller's NOTIFY_SOCKET that start forwards to; NULL */
	char *scratch;		/* org.isc.scratch record (JSON object text, isc_scratch_record());
				   * NULL without the annotation */
	uid_t owner;
};

/* The container directory, open and locked. */
struct isc_state_dir {
	int root_fd;
	int dir_fd;
	char *root;
	char *id;
};

/* Check an id: 1..1024 characters of [A-Za-z0-9_+.-], not starting with '.'. */
int isc_state_check_id(const char *id, isc_error **err);

/* Create <root>/<id> (EEXIST -> "container with id ... already exists"), locked. */
int isc_state_dir_create(const char *root, const char *id, struct isc_state_dir *d, isc_error **err);
/* Open and lock an existing container directory ("container ... does not exist"). */
int isc_state_dir_open(const char *root, const char *id, bool exclusive, struct isc_state_dir *d, isc_error **err);
/* How a command holds a container's directory while it uses the state:
 * `state` reads without a lock (state.json is replaced atomically, and it
 * must answer while another command holds the lock), exec and ps share
 * it, start/kill/delete/pause/update hold it alone. */
enum isc_state_lock { ISC_STATE_UNLOCKED, ISC_STATE_SHARED, ISC_STATE_EXCLUSIVE };

/* A container's state opened by id: the one way the runtime's commands
 * open it.  Its directory (locked as asked), its state.json read, the
 * status derived from both.  isc_state_open() fills `h` and returns -1
 * with h as far as it got; isc_state_close() releases whatever it holds
 * (safe after a failed open). */
struct isc_state_handle {
	struct isc_state_dir d;
	struct isc_state st;
	enum isc_status status;
	bool open, read;
};
int isc_state_open(const char *root, const char *id, enum isc_state_lock lock, struct isc_state_handle *h,
		   isc_error **err);
/* The directory closed (its lock dropped); the state read stays. */
void isc_state_release_dir(struct isc_state_handle *h);
void isc_state_close(struct isc_state_handle *h);
#define cleanup_state_handle __attribute__((cleanup(isc_state_close)))

/* Whether <root>/<id> exists (no lock). */
bool isc_state_exists(const char *root, const char *id);
/* Remove the directory and everything in it; closes d. */
int isc_state_dir_remove(struct isc_state_dir *d, isc_error **err);
void isc_state_dir_close(struct isc_state_dir *d);

int isc_state_write(const struct isc_state_dir *d, const struct isc_state *st, isc_error **err);
int isc_state_read(const struct isc_state_dir *d, struct isc_state *st, isc_error **err);
void isc_state_clear(struct isc_state *st);

/* The status now: creating / created / running / paused / stopped, from the
 * state and the processes. */
enum isc_status isc_state_status(const struct isc_state_dir *d, const struct isc_state *st);
/* After isc_state_status() said stopped: the errno of a failed look at the
 * process in /proc (the status is then a guess), else 0. */
int isc_state_unseen_errno(void);
/* True when st->pid is still the container's init (alive, not a zombie, same start time). */
bool isc_state_pid_alive(const struct isc_state *st);

/* The OCI state JSON ("ociVersion", "id", "status", "pid", "bundle", "annotations"). */
char *isc_state_oci_json(const struct isc_state *st, enum isc_status status);

/* List container ids under root (sorted). */
int isc_state_list(const char *root, char ***ids, isc_error **err);

/* RFC 3339 UTC with nanoseconds, now. */
char *isc_rfc3339_now(void);

#endif
