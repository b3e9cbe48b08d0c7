/* SPDX-License-Identifier: GPL-2.0-or-later
 * Terminals: a pty pair from the container's own devpts, the slave as the
 * process's controlling terminal and stdio, and the master handed to the
 * caller over its --console-socket (SCM_RIGHTS).
 *
 * The container process opens the pair (after pivot_root: /dev/ptmx is the
 * container's devpts) and passes the master to the runtime over a private
 * socketpair; the runtime, which can reach the console socket path, sends it
 * on.  The container never sees the caller's socket. */
#ifndef ISC_TERMINAL_H
#define ISC_TERMINAL_H

#include <sys/types.h>
#include "base/error.h"

/* In every container process, first thing (the init, an exec'd process):
 * a session of its own, so that the caller's terminal is not its
 * controlling terminal.  Without one, /dev/tty in the container opens the
 * caller's terminal and TIOCSTI pushes input into the caller's shell
 * (bubblewrap CVE-2017-5226); with one, /dev/tty opens nothing and TIOCSTI
 * on a terminal that is not our controlling terminal needs CAP_SYS_ADMIN in
 * the initial user namespace.  Fails only for a process group leader, which
 * a freshly cloned process never is. */
int isc_terminal_new_session(isc_error **err);

/* In the container process: open a pty pair from /dev/ptmx, make the slave
 * the controlling terminal (new session) and stdin/stdout/stderr, owned by
 * `uid`, sized rows x cols when both are non-zero.  *master is O_CLOEXEC. */
int isc_terminal_setup(unsigned rows, unsigned cols, uid_t uid, int *master, isc_error **err);

/* In the container's init, after pivot_root: bind the pty slave of
 * `master` onto /dev/console (created when missing; skipped when /dev is
 * read-only), as runc does. */
int isc_terminal_bind_console(int master, isc_error **err);

/* Send one fd with a small name payload (SCM_RIGHTS). */
int isc_terminal_send_fd(int sock, int fd, const char *name, isc_error **err);
/* Receive one fd; *fd = -1 when the peer closed the socket without sending one. */
int isc_terminal_recv_fd(int sock, int *fd, isc_error **err);
/* Connect to the unix socket at `path` and send it the master fd. */
int isc_terminal_send_console(const char *path, int master, isc_error **err);

#endif
