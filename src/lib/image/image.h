/* SPDX-License-Identifier: GPL-2.0-or-later
 * The image store (docs/images.md): content-addressed, read-only root
 * filesystems shared by every container of an image.
 *
 *   <root>/images/sha256/<id>/rootfs     the files (immutable flag set)
 *   <root>/images/sha256/<id>/manifest   one line per file, sorted
 *   <root>/images/sha256/<id>/snapshot   inode/ctime per manifest line
 *   <root>/images/state/<id>.json        import time, size, last verification
 *   <root>/images/names/NAME -> ../sha256/<id>
 *
 * The id is the Merkle root (RFC 6962 tree hash) of the manifest lines.
 * image.c has everything but import and needs no libarchive (isc-runtime
 * can call isc_image_check_root); image-import.c (libisc_image) imports. */
#ifndef ISC_IMAGE_H
#define ISC_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/error.h"

#define ISC_IMAGE_ID_LEN 64 /* hex digits of an image id */
#define ISC_IMAGE_NAME_MAX 128

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

/* Walk the tree under rootfd and build its sorted manifest text (regular
 * files hashed).  Device nodes and sockets are an error naming the path. */
int isc_image_manifest_build(int rootfd, char **manifest, size_t *len, uint64_t *bytes, isc_error **err);

/* NAME: [A-Za-z0-9][A-Za-z0-9._:-]*, at most ISC_IMAGE_NAME_MAX bytes. */
int isc_image_name_check(const char *name, isc_error **err);

/* Image id of NAME (from the name index). */
int isc_image_resolve(const char *root, const char *name, char id[65], isc_error **err);

struct isc_image_info {
	char *name;
	char id[65];
	uint64_t size;      /* bytes of regular-file content */
	uint64_t files;     /* manifest lines */
	int64_t imported;   /* unix time */
	int64_t verified;   /* unix time of the last full verification */
	bool verify_ok;
	char *verify_error; /* NULL when ok */
};
void isc_image_info_clear(struct isc_image_info *i);
int isc_image_list(const char *root, struct isc_image_info **out, size_t *n, isc_error **err);

/* Full rehash of NAME against its manifest and id; records the result.
 * On a difference: -1 (errnum 0) with a message naming the first
 * differing path. */
int isc_image_verify(const char *root, const char *name, isc_error **err);

/* Remove NAME, and the content when no other name points to it. */
int isc_image_remove(const char *root, const char *name, isc_error **err);

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
int isc_image_check_root_at(const char *rootfs_path, const char *expected_root_hex, const char *store,
			    isc_error **err);

/* The run settings of NAME's image config (OCI: Entrypoint, Cmd, Env,
 * WorkingDir, User), recorded at import from an OCI layout; *config is NULL
 * when NAME has none (imported from a directory or a tarball). */
int isc_image_config(const char *root, const char *name, json_t **config, isc_error **err);

/* Import SOURCE (a directory, a tarball, or an OCI image layout directory)
 * as NAME; *id gets the image id.  In image-import.c (libarchive). */
int isc_image_import(const char *root, const char *name, const char *source, char id[65], isc_error **err);
/* An archive entry's path made relative and canonical ("" for the root):
 * "./" and "." components and repeated '/' dropped; an absolute path or a
 * ".." component is refused.  In image-import.c. */
int isc_image_path_clean(const char *in, char **out, isc_error **err);

/* ---- shared by image.c and image-import.c ---- */
/* <root>/images with its subdirectories, 0700; returns an O_PATH fd. */
int isc_image_store_open(const char *root, bool create, isc_error **err);
/* flock LOCK_EX on <store>/.lock; returns the fd. */
int isc_image_store_lock(int storefd, isc_error **err);
/* Finish an import: tmpdir (in <store>/tmp, holding rootfs/) gets its
 * manifest, immutable flags and snapshot, moves to sha256/<id> (or is
 * removed when that id exists) and NAME points to it. */
int isc_image_store_commit(int storefd, const char *tmpname, const char *name, char id[65], isc_error **err);
/* Record (config non-NULL) or drop the config of NAME in the state of
 * image id (<store>/state/<id>.json, "configs": {NAME: config}). */
int isc_image_state_set_config(int storefd, const char *id, const char *name, json_t *config, isc_error **err);
/* rm -rf NAME under dirfd, clearing immutable flags on the way. */
int isc_image_rm_tree_at(int dirfd, const char *name, isc_error **err);

#endif
