/* SPDX-License-Identifier: GPL-2.0-or-later
 * The caller's terminal never reaches a container.
 *
 * A process that holds an fd of a terminal can read what is typed into it,
 * write escape sequences to it, and -- when that terminal is its controlling
 * terminal -- push input into it with TIOCSTI, which the caller's shell then
 * runs (bubblewrap CVE-2017-5226).  So when the runtime's stdin, stdout or
 * stderr is a terminal and the process asked for no terminal of its own,
 * the container gets something else in its place:
 *   - in the foreground (run, exec): a pipe.  The runtime copies between the
 *     pipes and its own fds until the container's process exits (what
 *     conmon does for podman): the caller's input goes into the stdin pipe
 *     (EOF closes it), the output comes back from the stdout/stderr pipes
 *     (one pipe when both are the same terminal, so their order is kept);
 *   - detached (create, run -d, exec -d): /dev/null, since nobody would be
 *     left to copy.
 * Not only a terminal: any fd that names a host object -- a regular file, a
 * directory, a device, a named FIFO -- lets the process reopen that object
 * through /proc/self/fd/N (a magic link: no mount-namespace boundary) with
 * its own credentials: read the whole file behind `>> log`, write anywhere in
 * it, chmod it, and keep it after the runtime returned.  So:
 *   - isc's own client (isc exec: ISC_RELAY_ALL) relays every open fd 0..2,
 *     whatever it is, as conmon does: the container never holds an fd of
 *     the operator's (a pipe shared with later commands of a script, too);
 *   - an OCI caller in the foreground (isc-runtime run, exec:
 *     ISC_RELAY_FOREGROUND) gets terminals and host objects relayed; its
 *     anonymous pipes and sockets (what podman, containerd, systemd pass:
 *     their own, made for this process) are passed as they are, so the
 *     common path copies nothing;
 *   - detached (ISC_RELAY_DETACHED), nobody is left to copy: a terminal is
 *     replaced (/dev/null), anything else is passed as the caller asked
 *     (runc does the same; docs/attacks.md).
 * A closed fd stays closed.
 *
 * The new session (isc_terminal_new_session, terminal.h) is the second,
 * independent layer: without a controlling terminal, /dev/tty opens nothing
 * and TIOCSTI on any terminal fd needs CAP_SYS_ADMIN in the initial user
 * namespace. */
#ifndef ISC_RELAY_H
#define ISC_RELAY_H

#include <stdbool.h>
#include <sys/types.h>
#include "base/error.h"

struct isc_relay {
	int child[3];	       /* what the container gets as fd 0, 1, 2; -1: the caller's fd as it is */
	int to_child;	       /* relay: the caller's input is written here (stdin pipe), else -1 */
	int from_child[3];     /* relay: the container's output is read here (1, 2), else -1 */
	int pty;	       /* isc_relay_pty: the master (window size), else -1 */
	bool active;	       /* anything to copy at all */
	int lost;	       /* errno of the first failure that lost output (0: none) */
	const char *lost_what; /* what failed then */
};

#define ISC_RELAY_INIT                                                                           \
	{                                                                                        \
		.child = { -1, -1, -1 }, .to_child = -1, .from_child = { -1, -1, -1 }, .pty = -1 \
	}

enum isc_relay_mode {
	ISC_RELAY_DETACHED,   /* terminals: /dev/null; the rest passed */
	ISC_RELAY_FOREGROUND, /* terminals and host objects: pipes; anonymous pipes, sockets passed */
	ISC_RELAY_ALL,	      /* every open fd: a pipe */
};

/* Look at fds 0..2 and prepare what the container gets (see above).  All
 * fds are O_CLOEXEC. */
int isc_relay_prepare(struct isc_relay *r, enum isc_relay_mode mode, isc_error **err);

/* The same loop for a process with a terminal of its own (isc exec -t):
 * the caller's stdin (when `interactive`) goes to the pty master, the
 * master's output to the caller's stdout, and the caller's window size
 * follows SIGWINCH (which the caller must have blocked).  Takes `master`. */
int isc_relay_pty(struct isc_relay *r, int master, bool interactive, isc_error **err);

/* In the new process, before anything closes its inherited fds: put the
 * prepared fds on 0..2 (async-signal-safe).  -1 with errno on failure. */
int isc_relay_install(const struct isc_relay *r);

/* In the runtime once the process exists: close the container's ends. */
void isc_relay_close_child(struct isc_relay *r);

/* Copy until `pidfd` (the container's process) is readable, then what is
 * left in the output pipes (a pty: bounded, see relay.c), and close the
 * stdin pipe.  SIGPIPE is ignored
 * meanwhile (the process must have exec'd: dispositions are inherited).
 * A caller fd that fails (a hung-up terminal) is dropped; the container's
 * output is still read so that it never blocks. */
int isc_relay_run(struct isc_relay *r, int pidfd, isc_error **err);

void isc_relay_clear(struct isc_relay *r);

#endif
