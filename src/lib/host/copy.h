/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc cp: files between the host and a running service's container
 * (copy.c has the design note: where the copy runs, how paths resolve). */
#ifndef ISC_HOST_COPY_H
#define ISC_HOST_COPY_H

#include <stddef.h>

#include "base/error.h"

/* What a copy did: entries copied, and the special files (fifos, sockets,
 * devices) of a tree that were left out. */
struct isc_cp_stats {
	size_t files, dirs, links, skipped;
};

/* Copy NAME:cpath (a file, a symbolic link or a directory tree of the
 * container, resolved inside it) to hostpath: into it when it is an
 * existing directory, else as that name.  `root` is the state root. */
int isc_cp_out(const char *root, const char *name, const char *cpath, const char *hostpath, struct isc_cp_stats *st,
	       isc_error **err);

/* Copy hostpath into NAME:cpath, which must lie where the container can
 * write (/persist, /tmp, /run, /scratch, a read-write volume, a --tmpfs);
 * what is made there belongs to the container's root. */
int isc_cp_in(const char *root, const char *name, const char *hostpath, const char *cpath, struct isc_cp_stats *st,
	      isc_error **err);

#endif
