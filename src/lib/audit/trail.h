/* SPDX-License-Identifier: GPL-2.0-or-later
 * The tamper-evident audit trail of one host (docs/audit.md).
 *
 * A directory (R/audit, 0700) holding
 *   trail.jsonl          the current file: one JSON object per line, append only
 *   trail-SEQ.jsonl      rotated files (SEQ: the first record's sequence number)
 *   seal.state           0600: the current sealing key, epoch, next seq, last hash
 *
 * Every line is `{"seq":N,"epoch":E,"time":...,"type":...,...,"hash":H,"mac":M}`:
 *   H = SHA-256(H_prev || body), body = the line without the "hash" and "mac"
 *       members (the bytes up to them, plus "}"); H_prev of seq 0 is 32 zero bytes
 *   M = HMAC-SHA-256(k_E, H), k_E the sealing key of epoch E.
 * Epochs are wall-clock slices of `epoch_seconds` from the trail's t0.  At
 * the end of an epoch the writer appends a "seal" record (MAC'd with the old
 * key) naming the next epoch, replaces the key by k_{E+1} = SHA-256("isc-trail
 * evolve" || k_E) and overwrites the old key on disk and in memory.  k_0 (the
 * verification key) is returned once by isc_trail_create() and never stored. */
#ifndef ISC_TRAIL_H
#define ISC_TRAIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/error.h"

#define ISC_TRAIL_KEY_HEX 65 /* 64 hex digits + NUL */

struct isc_trail_options {
	uint32_t epoch_seconds; /* 0 = 900 (15 minutes) */
	uint64_t rotate_bytes;	/* rotate trail.jsonl beyond this size; 0 = 64 MiB */
	uint32_t keep_files;	/* rotated files kept; 0 = all */
};

/* HMAC-SHA-256 (RFC 2104). */
void isc_hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t len, unsigned char out[32]);
/* k_{i+1} from k_i (in place). */
void isc_trail_key_evolve(unsigned char key[32]);

/* Create a new trail in `dir` (made 0700 if missing; fails with EEXIST when a
 * trail is already there): a fresh random k_0, the "trail-start" record,
 * seal.state.  `key_hex` receives k_0 for the operator. */
int isc_trail_create(const char *dir, const struct isc_trail_options *o, char key_hex[ISC_TRAIL_KEY_HEX],
		     isc_error **err);
bool isc_trail_exists(const char *dir);

struct isc_trail;

/* Open for appending (one writer: an exclusive flock on the directory's
 * seal.state).  A line cut by a crash is removed; lines written after the
 * last saved state are re-chained into it. */
int isc_trail_open(const char *dir, struct isc_trail **out, isc_error **err);
/* Flush what is buffered (best effort), then free.  NULL is fine. */
void isc_trail_close(struct isc_trail *t);

/* Add a record: `fields` (an object; "time" is added when missing; "seq",
 * "epoch", "hash", "mac" are reserved and replaced) is buffered; seals the
 * epochs that ended first.  Nothing reaches the disk before
 * isc_trail_flush(). */
int isc_trail_append(struct isc_trail *t, json_t *fields, isc_error **err);
/* Seal every epoch that ended before `now` (called from a timer too, so
 * that idle epochs are sealed). */
int isc_trail_tick(struct isc_trail *t, time_t now, isc_error **err);
/* Write the buffered records, fdatasync, save the state, rotate.  On
 * failure (ENOSPC...) the file is cut back to where it was, the records stay
 * buffered (up to a bound; beyond it they are dropped and counted) and a
 * "disk-full" record says so once writing works again. */
int isc_trail_flush(struct isc_trail *t, isc_error **err);
size_t isc_trail_pending(const struct isc_trail *t);
uint64_t isc_trail_next_seq(const struct isc_trail *t);

/* Verification: every file in order, the chain, the sequence, the epochs
 * and seals, and with `key_hex` (k_0) every MAC. */
struct isc_trail_report {
	bool intact;
	uint64_t records;	/* records checked */
	uint64_t first_bad_seq; /* when !intact: the first record that is wrong or missing */
	char *problem;		/* when !intact */
	bool macs_checked;
	uint64_t seals;	    /* seal records seen */
	uint64_t first_seq; /* where the checked chain starts (after retention) */
	char *note;	    /* a warning that does not make the trail bad, or NULL */
};
void isc_trail_report_clear(struct isc_trail_report *r);
/* Returns 0 when the check ran (see r->intact), negative when the trail
 * cannot be read at all or the key is malformed. */
int isc_trail_verify(const char *dir, const char *key_hex, struct isc_trail_report *r, isc_error **err);

/* Read every record in order; stops when `cb` returns non-zero (returned).
 * Lines that do not parse are passed as NULL with their line text. */
typedef int (*isc_trail_record_cb)(json_t *rec, const char *line, void *data);
int isc_trail_read(const char *dir, isc_trail_record_cb cb, void *data, isc_error **err);

/* The files of a trail in order (rotated ones, then trail.jsonl), as full
 * paths; for `isc audit --follow` and verify. */
int isc_trail_files(const char *dir, char ***out, isc_error **err);

#endif
