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
 * The format as the runtime reads it (manifest lines, ids, the quick check)
 * is manifest.h, a library of its own that isc-runtime links; this header
 * is the store (store.c) and import (import.c, libarchive): isc and iscd. */
#ifndef ISC_IMAGE_H
#define ISC_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/error.h"
#include "image/manifest.h"

#define ISC_IMAGE_NAME_MAX 128

/* Walk the tree under rootfd and build its sorted manifest text (regular
 * files hashed).  Device nodes and sockets are an error naming the path. */
int isc_image_manifest_build(int rootfd, char **manifest, size_t *len, uint64_t *bytes, isc_error **err);

/* NAME: [A-Za-z0-9][A-Za-z0-9._:-]*, at most ISC_IMAGE_NAME_MAX bytes. */
int isc_image_name_check(const char *name, isc_error **err);

/* Image id of NAME (from the name index). */
int isc_image_resolve(const char *root, const char *name, char id[65], isc_error **err);

/* The names, sorted, then the content no name points to (name
 * ISC_IMAGE_UNNAMED, .unnamed), sorted by id. */
int isc_image_list(const char *root, struct isc_image_info **out, size_t *n, isc_error **err);

/* Full rehash of NAME against its manifest and id; records the result.
 * On a difference: -1 (errnum 0) with a message naming the first
 * differing path. */
int isc_image_verify(const char *root, const char *name, isc_error **err);

/* ---- references (refs.c) ----
 * Content is kept while a name points to it or a service uses it (its
 * R/containers/NAME/service.json records the image id): never removed
 * under a service, whose every start needs it. */

/* The services (sorted, NULL-terminated) whose image is content `id`. */
int isc_image_services_using(const char *root, const char *id, char ***services, isc_error **err);

/* Remove NAME.  Refused (EBUSY, naming them) while a service uses its
 * content, unless `force`: then the name goes and the content stays until
 * no service uses it (isc_image_prune).  The content goes with the name
 * when nothing else keeps it.  *notice: NULL, or what was kept and why. */
int isc_image_remove(const char *root, const char *name, bool force, char **notice, isc_error **err);

/* Remove every content no name points to and no service uses; *removed
 * gets their ids (NULL-terminated, maybe empty). */
int isc_image_prune(const char *root, char ***removed, isc_error **err);

/* After NAME was pointed from content old_id to other content: remove
 * old_id when nothing keeps it; *notice says what happened to it. */
int isc_image_release_old(const char *root, const char *name, const char *old_id, const char *new_id, char **notice,
			  isc_error **err);

/* The run settings of NAME's image config (OCI: Entrypoint, Cmd, Env,
 * WorkingDir, User), recorded at import from an OCI layout; *config is NULL
 * when NAME has none (imported from a directory or a tarball). */
int isc_image_config(const char *root, const char *name, json_t **config, isc_error **err);

/* Import SOURCE (a directory, a tarball, or an OCI image layout directory)
 * as NAME; *id gets the image id.  *notice: NULL, or lines (malloc'd, for
 * the operator, bytes of the image's paths in it: escape them) saying what
 * the import did beyond the plain import: device nodes and sockets dropped,
 * NAME moved from other content (and what became of that). 
 * In import.c (libarchive). */
int isc_image_import(const char *root, const char *name, const char *source, char id[65], char **notice,
		     isc_error **err);
/* An archive entry's path made relative and canonical ("" for the root):
 * "./" and "." components and repeated '/' dropped; an absolute path or a
 * ".." component is refused.  In import.c. */
int isc_image_path_clean(const char *in, char **out, isc_error **err);

/* ---- shared by store.c and import.c ---- */
/* <root>/images with its subdirectories, 0700; returns an O_PATH fd. */
int isc_image_store_open(const char *root, bool create, isc_error **err);
/* flock LOCK_EX on <store>/.lock; returns the fd. */
int isc_image_store_lock(int storefd, isc_error **err);
/* Finish an import: tmpdir (in <store>/tmp, holding rootfs/) gets its
 * manifest, immutable flags and snapshot, moves to sha256/<id> (or is
 * removed when that id exists) and NAME points to it; *old_id: the content
 * NAME pointed to before, "" when none. */
int isc_image_store_commit(int storefd, const char *tmpname, const char *name, char id[65], char old_id[65],
			   isc_error **err);
/* names/NAME -> ../sha256/<id> */
int isc_image_name_read(int storefd, const char *name, char id[65], isc_error **err);
/* Remove sha256/<id> and its state record (the caller holds the lock and
 * knows nothing keeps it). */
int isc_image_content_remove(int storefd, const char *id, isc_error **err);
/* Record (config non-NULL) or drop the config of NAME in the state of
 * image id (<store>/state/<id>.json, "configs": {NAME: config}). */
int isc_image_state_set_config(int storefd, const char *id, const char *name, json_t *config, isc_error **err);
/* rm -rf NAME under dirfd, clearing immutable flags on the way. */
int isc_image_rm_tree_at(int dirfd, const char *name, isc_error **err);

#endif
