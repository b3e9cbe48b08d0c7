/* SPDX-License-Identifier: GPL-2.0-or-later
 * org.isc.scratch: an encrypted scratch directory per container.
 *
 * One ext4 filesystem per container (fscrypt keys belong to a superblock),
 * in an image that never has a name (O_TMPFILE in the container's state
 * directory, a copy of a pristine template kept in <root>/.cache/scratch),
 * on a loop device with LO_FLAGS_AUTOCLEAR.  The runtime mounts it at
 * <root>/<id>/scratch in its own mount namespace, adds a fresh random key
 * (never written anywhere) and makes `data`, a directory with an fscrypt v2
 * policy, owned by the container's user.  A detached clone of `data` goes
 * to the init, which moves it to the annotation's path in the rootfs.
 *
 * Teardown (delete, or a failed create) needs only the mount point: the key
 * identifier is read back from the policy of `data`, the key is removed for
 * all users, the filesystem unmounted (the loop device clears itself, the
 * unnamed image is freed with it) and the mount point removed.
 *
 * Annotation grammar (see docs/annotations.md):
 *   value   = "" | item *( "," item )
 *   item    = "size=" NUMBER [ "k" | "m" | "g" ]   (binary units; default 64m)
 *           | "path=" ABSOLUTE-PATH                (default /scratch)
 *           | "exec" | "noexec"                     (default noexec)
 * Keys may appear once each. */
#ifndef ISC_SCRATCH_H
#define ISC_SCRATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "spec/spec.h"

#define ISC_SCRATCH_ANNOTATION "org.isc.scratch"
#define ISC_SCRATCH_DEFAULT_SIZE (64ULL << 20)
#define ISC_SCRATCH_MIN_SIZE (1ULL << 20)
#define ISC_SCRATCH_MAX_SIZE (1ULL << 40)

struct isc_scratch_opts {
	uint64_t size; /* bytes, a multiple of 4096 */
	char *path;    /* absolute, inside the container */
	bool exec;
};

/* Parse the annotation's value.  Errors name the annotation and the item. */
int isc_scratch_parse(const char *value, struct isc_scratch_opts *o, isc_error **err);
void isc_scratch_opts_clear(struct isc_scratch_opts *o);

/* The host id of container id `id` through `maps` (n == 0: identity).
 * -1 when unmapped. */
int isc_scratch_map_id(const struct isc_idmap *maps, size_t n, uint32_t id, uint32_t *out);
/* The same through /proc/PID/uid_map text ("ns-id host-id size" lines). */
int isc_scratch_map_id_text(const char *text, uint32_t id, uint32_t *out);

/* What setup made (runtime side). */
struct isc_scratch {
	char *mount;	 /* mount point in the runtime's mount namespace */
	char loop[32];	 /* /dev/loopN */
	char key_id[33]; /* hex of the 16-byte key identifier */
	int tree_fd;	 /* detached clone of <mount>/data for the init; -1 */
};

/* Make, attach, mount and unlock the scratch filesystem at `mount` (an
 * empty-to-be directory path; created here), the image unnamed in
 * `image_dir_fd`'s filesystem, the template cached in `cache_dir` (NULL:
 * mkfs every time).  On failure call isc_scratch_destroy(mount) — it also
 * cleans up what a crashed create left. */
int isc_scratch_setup(const struct isc_scratch_opts *o, const char *cache_dir, int image_dir_fd, const char *mnt,
		      uid_t uid, gid_t gid, const char *id, struct isc_scratch *s, isc_error **err);
void isc_scratch_clear(struct isc_scratch *s);
/* The state record: {"mount": ..., "loop": ..., "key": ...}; only the
 * fields that are known. */
char *isc_scratch_record(const struct isc_scratch *s);

/* In the container's init, after the config mounts: move the detached
 * tree to `path` under `rootfs` (created if missing). */
int isc_scratch_attach(int tree_fd, const char *rootfs, const char *path, isc_error **err);

/* Remove the key, unmount, remove the mount point.  Nothing mounted (or no
 * such directory) is fine.  0 or -1 (*err); when the key stayed in use by
 * open files after a retry, 0 and *busy says so (the filesystem was
 * detached and the key goes with its superblock): a warning to log. */
int isc_scratch_destroy(const char *mnt, isc_error **busy, isc_error **err);

#endif
