/* SPDX-License-Identifier: GPL-2.0-or-later
 * Capabilities: the name table and applying the five sets in the init. */
#ifndef ISC_CAPS_H
#define ISC_CAPS_H

#include <stdint.h>
#include "base/error.h"
#include "spec/names.h" /* the name table */
#include "spec/spec.h"

int isc_cap_last_kernel(void); /* the kernel's CAP_LAST_CAP (probed, never read from /proc), cached */

/* In the init, after the last privileged step: drop from the bounding set
 * everything not in caps->bounding, then set effective/permitted/inheritable
 * with capset() and raise the ambient set.  Called after setresuid() with
 * PR_SET_KEEPCAPS so that a non-zero uid keeps what was asked. */
int isc_caps_apply(const struct isc_caps *caps, isc_error **err);

#endif
