/* SPDX-License-Identifier: GPL-2.0-or-later
 * The machine-wide id-range table (idrange.c), split out as pure functions
 * on its JSON form so that the allocation rules have unit tests.
 *
 * Table: {"version": 1, "ranges": [{"root": R, "name": N, "base": B}, ...]}
 * Bases: ISC_IDRANGE_FIRST + k * ISC_IDRANGE_SIZE for 0 <= k < ISC_IDRANGE_SLOTS,
 * i.e. [2^30, 0x70000000): above every subordinate id range shadow's
 * useradd hands out (SUB_UID_MAX defaults to 600100000 < 2^30), below
 * systemd's unused/"foreign" area at 0x70000000 and well below 2^31, where
 * tools that keep ids in signed ints break.  12288 ranges of 65536 ids.
 * The container audit ids (audit-id.h, from 0xF0000000) lie above. */
#ifndef ISC_IDRANGE_INTERNAL_H
#define ISC_IDRANGE_INTERNAL_H

#include <jansson.h>
#include <stdint.h>
#include "audit/audit-id.h" /* ISC_IDRANGE_FIRST, ISC_IDRANGE_END */
#include "base/error.h"
#include "host/idmap.h"

#define ISC_IDRANGE_SLOTS ((ISC_IDRANGE_END - ISC_IDRANGE_FIRST) / ISC_IDRANGE_SIZE)

/* The range of (root, name) in table (an object as above; "ranges" is
 * created when missing): the recorded one, else the lowest free slot, which
 * is added.  EINVAL for a malformed table, ENOSPC when every slot is taken. */
int isc_idrange_table_alloc(json_t *table, const char *root, const char *name, uint32_t *base, isc_error **err);
/* Remove the range of (root, name), or with name NULL every range of root;
 * the number removed. */
size_t isc_idrange_table_free(json_t *table, const char *root, const char *name);

#endif
