/* SPDX-License-Identifier: GPL-2.0-or-later
 * What the trail's writer (trail.c) and its reader and verifier
 * (trail-verify.c) share: the file names, the line's sealed suffix, the
 * hash chain and the sealing state's form.  Not for other users. */
#ifndef ISC_AUDIT_TRAIL_INTERNAL_H
#define ISC_AUDIT_TRAIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define STATE_NAME "seal.state"
#define TRAIL_NAME "trail.jsonl"
/* ,"hash":"<64>","mac":"<64>"} */
#define SUFFIX_LEN (9 + 64 + 9 + 64 + 2)

/* the sealing state: one fixed-size block, overwritten in place */
struct seal_state {
	uint32_t epoch_seconds;
	int64_t t0;
	uint64_t epoch;
	unsigned char key[32];
	uint64_t seq; /* the next record's sequence number */
	unsigned char hash[32];
	uint64_t epoch_records;
	uint64_t rotate_bytes;
	uint32_t keep_files;
	uint64_t file_first_seq;
};

/* the first 16 hex digits of a hash of the first key: names the key */
void isc_trail_key_id(const unsigned char k0[32], char out[17]);
/* n bytes from 2n lowercase hex digits followed by NUL or '"'; -1 if not */
int isc_trail_unhex(const char *s, unsigned char *out, size_t n);
/* a record's hash: prev, the line up to its suffix, and the closing '}' */
void isc_trail_chain(const unsigned char prev[32], const char *body, size_t bodylen, unsigned char out[32]);
int isc_trail_state_read(int fd, struct seal_state *st, isc_error **err);

#endif
