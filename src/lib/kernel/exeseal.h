/* SPDX-License-Identifier: GPL-2.0-or-later
 * The program's own binary, out of a container's reach (runc CVE-2019-5736):
 * re-execute from a sealed in-memory copy before a process of this program
 * enters a container that could otherwise write the binary (exeseal.c). */
#ifndef ISC_EXESEAL_H
#define ISC_EXESEAL_H

#include <stdbool.h>
#include <stddef.h>
#include "base/error.h"
#include "spec/spec.h"

/* This process runs from a view of its binary nobody can write: a memfd
 * with every write seal, or a read-only overlay. */
bool isc_exe_sealed(void);

/* The task's name (comm) back to the program's name once it runs from the
 * copy (the kernel named it after the memfd). */
void isc_exe_restore_name(void);

/* Could a process of a container open this program's binary for writing?
 * `uids`/`gids` are the maps of the container's user namespace (container
 * id -> host id); NULL (n 0) for a container in the host's user namespace,
 * where the answer is always yes. */
int isc_exe_container_could_write(const struct isc_idmap *uids, size_t n_uids, const struct isc_idmap *gids,
				  size_t n_gids, bool *could, isc_error **err);

/* The same, with the maps as /proc/PID/{uid,gid}_map print them. */
int isc_exe_container_could_write_text(const char *uid_map, const char *gid_map, bool *could, isc_error **err);

/* Re-execute this program, with the same command line (/proc/self/cmdline)
 * and environment, from a view of its binary nobody can write: a private
 * read-only overlay when the kernel allows one (`state_dir`, a root-owned
 * directory of the runtime, holds the empty layer it needs; NULL: none),
 * else a sealed memfd copy.  Returns only on failure. */
int isc_exe_reexec_sealed(const char *state_dir, isc_error **err);

#endif
