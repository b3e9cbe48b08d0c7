/* SPDX-License-Identifier: GPL-2.0-or-later
 * An image as the runtime reads it (docs/images.md): the manifest format, the
 * image id (the Merkle root of the manifest lines), the state record and
 * the snapshot the store writes at import (image.h), and the quick check
 * before a start with the org.isc.image.root annotations.  The cut: this
 * library only reads an image directory and never changes the store, so
 * isc-runtime links it and none of the store (import, verify, list,
 * remove: image.h). */
#ifndef ISC_IMAGE_MANIFEST_H
#define ISC_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define ISC_IMAGE_ID_LEN 64 /* hex digits of an image id */

/* One manifest line: "PATH TYPE MODE UID GID SIZE DIGEST".  PATH starts
 * with '/', bytes <= 0x20, 0x7f and '\' escaped as \xHH; TYPE d f l p;
 * MODE 4 octal digits (st_mode & 07777); SIZE bytes of content (f) or of
 * the target (l), 0 otherwise; DIGEST SHA-256 hex of content (f) or target
 * (l), "-" otherwise. */
struct isc_image_entry {
	char *path; /* raw (unescaped), "/" for the root directory */
	char type;
	unsigned mode;
	uint64_t uid, gid, size;
	char digest[65];
};

/* The line for `e` (without newline); never fails (aborts on OOM). */
char *isc_image_manifest_line(const struct isc_image_entry *e);
/* Parse one line (len bytes, no newline) into *e (e->path allocated). */
int isc_image_manifest_parse_line(const char *line, size_t len, struct isc_image_entry *e, isc_error **err);
void isc_image_entry_clear(struct isc_image_entry *e);

/* RFC 6962 Merkle tree hash over n leaf data hashes: leaf = SHA-256(0x00 ||
 * line), node = SHA-256(0x01 || left || right), split at the largest power
 * of two below n; n == 0 gives SHA-256 of nothing.  `leaves` holds the
 * SHA-256(0x00 || line) values. */
void isc_image_merkle_root(const unsigned char (*leaves)[32], size_t n, unsigned char out[32]);
/* The id of a manifest text (lines ending in '\n'): checks that every line
 * parses and that lines are in strictly increasing path order. */
int isc_image_manifest_root(const char *manifest, size_t len, char hex[65], isc_error **err);

/* ---- shared with the store (store.c) ---- */
/* s holds exactly n lowercase hex digits and n == 64 */
bool isc_image_is_hex64(const char *s, size_t n);
/* Parse a whole manifest: entries in order, checked sorted; *leaves_out the
 * leaf hashes of the lines. */
int isc_image_manifest_parse(const char *text, size_t len, struct isc_image_entry **out, size_t *nout,
			     unsigned char (**leaves_out)[32], isc_error **err);
void isc_image_entries_free(struct isc_image_entry *v, size_t n);

/* <store>/state/<id>.json: import time, size, last verification */
struct isc_image_info {
	char *name;
	char id[65];
	uint64_t size;	  /* bytes of regular-file content */
	uint64_t files;	  /* manifest lines */
	int64_t imported; /* unix time */
	int64_t verified; /* unix time of the last full verification */
	bool verify_ok;
	char *verify_error; /* NULL when ok */
	bool unnamed;	    /* content no name points to (name: ISC_IMAGE_UNNAMED) */
};
#define ISC_IMAGE_UNNAMED "<none>" /* never a name: '<' is not allowed in one */
void isc_image_info_clear(struct isc_image_info *i);
/* Read the state record of image id (storefd: <root>/images). */
int isc_image_state_read(int storefd, const char *id, struct isc_image_info *i, isc_error **err);

/* The snapshot's first line; entries of these types carry the immutable flag */
#define ISC_IMAGE_SNAPSHOT_MAGIC "isc-snapshot 1"
bool isc_image_type_has_flags(char type);

/* The cheap check before a start (image_dir = <root>/images/sha256/<id>):
 * manifest matches the id, every file's inode, ctime, nlink, type, mode,
 * owner, size and immutable flag match the snapshot taken at import, and
 * the last full verification did not fail. */
int isc_image_quick_check(const char *image_dir, isc_error **err);

#define ISC_IMAGE_ROOT_ANNOTATION "org.isc.image.root"

/* For the org.isc.image.root annotation: rootfs_path must be
 * <store>/sha256/<expected>/rootfs and pass isc_image_quick_check. */
int isc_image_check_root(const char *rootfs_path, const char *expected_root_hex, isc_error **err);

#define ISC_IMAGE_STORE_ANNOTATION "org.isc.image.store"

/* For org.isc.image.root with org.isc.image.store=STORE: rootfs_path is a
 * mount of STORE/sha256/<expected>/rootfs elsewhere (an idmapped view): the
 * same inode on the same filesystem (statx: inode and st_dev; the mount id
 * differs), and that image passes isc_image_quick_check. */
int isc_image_check_root_at(const char *rootfs_path, const char *expected_root_hex, const char *store, isc_error **err);

#endif
