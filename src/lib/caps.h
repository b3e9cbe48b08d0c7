/* SPDX-License-Identifier: GPL-2.0-or-later
 * Capabilities: the name table and applying the five sets in the init. */
#ifndef ISC_CAPS_H
#define ISC_CAPS_H

#include <stdint.h>
#include "error.h"
#include "spec.h"

/* "CAP_SYS_ADMIN" -> 21; -1 when unknown.  The table covers every
 * capability Linux defines (up to CAP_CHECKPOINT_RESTORE = 40). */
int isc_cap_from_name(const char *name);
const char *isc_cap_name(int cap); /* NULL when out of range */
int isc_cap_last(void);            /* last capability of the table */
int isc_cap_last_kernel(void);     /* the kernel's CAP_LAST_CAP (probed, never read from /proc), cached */

/* In the init, after the last privileged step: drop from the bounding set
 * everything not in caps->bounding, then set effective/permitted/inheritable
 * with capset() and raise the ambient set.  Called after setresuid() with
 * PR_SET_KEEPCAPS so that a non-zero uid keeps what was asked. */
int isc_caps_apply(const struct isc_caps *caps, isc_error **err);

#endif
