/* SPDX-License-Identifier: GPL-2.0-or-later
 * iscd's journal: the multi-step operation under way on a service, written
 * before its first step (R/journal/NAME), removed after its last.  Design:
 * the comment at the top of journal.c. */
#ifndef ISC_JOURNAL_H
#define ISC_JOURNAL_H

#include <jansson.h>

#include "base/error.h"

/* Record `entry` (an object with "op") as the op under way on `name`:
 * written, fsynced, renamed into place, the folder fsynced.  Replaces the
 * entry of an earlier op on the same service. */
int isc_journal_begin(const char *root, const char *name, json_t *entry, isc_error **err);
/* The op on `name` is done: its entry goes (the folder fsynced). */
int isc_journal_end(const char *root, const char *name, isc_error **err);
/* The entry of `name` (a new reference), or NULL when there is none or it
 * cannot be read (*err says why; NULL without an error: none). */
json_t *isc_journal_read(const char *root, const char *name, isc_error **err);
/* The names that have an entry (a NULL-terminated vector, isc_strvfree). */
char **isc_journal_names(const char *root);

#endif
