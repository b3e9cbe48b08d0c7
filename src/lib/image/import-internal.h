/* SPDX-License-Identifier: GPL-2.0-or-later
 * Image import, internal: the importer, the entries its sources hand to
 * the writer (import.c), and the readers of tarballs and layers
 * (import-tar.c) and of OCI image layouts (import-oci.c). */
#ifndef ISC_IMPORT_INTERNAL_H
#define ISC_IMPORT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "base/error.h"
#include "base/sha256.h"

#define COPY_BUF (256 * 1024)

/* The limits of an imported tree (docs/images.md): a path of at most
 * ISC_IMAGE_PATH_MAX bytes (so that "/PATH" fits PATH_MAX: the seal and the
 * checks open entries by name), and no entry more than ISC_IMAGE_DEPTH_MAX
 * levels below the root where it really lands (a symlink in its parent
 * counts where it leads): the walks of a tree (manifest, removal) take a
 * stack frame and two fds per level. */
#define ISC_IMAGE_PATH_MAX 4094
#define ISC_IMAGE_DEPTH_MAX 256

/* An entry's path in a message: a path can be 4 KB long (or more, in a pax
 * header), so only its start, and "..." when it goes on. */
#define NAME_SHOWN 100
#define SHOW(p) NAME_SHOWN, (p), strlen(p) > NAME_SHOWN ? "..." : ""

struct importer {
	int rootfd;	/* the new rootfs, O_RDONLY|O_DIRECTORY */
	dev_t root_dev; /* ... and its identity, for dir_depth() */
	ino_t root_ino;
	const char *source; /* for messages */
	unsigned char *buf;
	struct seen_inode {
		dev_t dev;
		ino_t ino;
		char *path;
	} * seen; /* directory import: hardlinks by inode */
	size_t nseen;
	json_t *config;	  /* OCI layout: the image's config (isc_image_config) */
	size_t ndropped;  /* device nodes and sockets not imported ... */
	char *dropped[3]; /* ... and the paths of the first ones */
};

struct src_entry {
	const char *path; /* cleaned, "" for the root */
	mode_t type;	  /* S_IFDIR, S_IFREG, S_IFLNK, S_IFIFO, or another (dropped) */
	mode_t perm;
	uid_t uid;
	gid_t gid;
	const char *symlink;  /* S_IFLNK target */
	const char *hardlink; /* cleaned path of an entry already imported */
	struct timespec mtime;
	bool has_mtime;
	ssize_t (*read)(void *cookie, void *buf, size_t len);
	void *cookie;
};

enum tar_pass {
	TAR_PLAIN,     /* a tarball: every entry as it is */
	TAR_WHITEOUTS, /* an OCI layer, first pass: only the whiteouts */
	TAR_CONTENT,   /* an OCI layer, second pass: all but the whiteouts */
};

/* What libarchive reads: read(2) from one open file, and for an OCI layer
 * hashed on the way, so that the bytes imported are the bytes checked
 * against the digest (a second open of the blob by its path, or a second
 * read of a file its owner rewrote in between, would not be). */
struct tar_source {
	int fd;
	const char *name;	/* for messages */
	struct isc_sha256 *sha; /* NULL: not hashed */
	uint64_t total;		/* bytes read */
	unsigned char *buf;	/* SOURCE_BUF bytes */
};

#define SOURCE_BUF (64 * 1024)

/* import.c: the writer, a directory */
/* An fd of the directory holding `path` (created as 0755 root:root when
 * missing and `create`), and the last component in *base.  Missing
 * directories are made from the top down, each resolved from the rootfs
 * as a whole (a symlink on the way leads where it would in the container):
 * a loop, not a recursion, so a path thousands of levels deep costs no
 * stack. */
int isc_import_open_parent(struct importer *im, const char *path, bool create, const char **base, bool *via_symlink);
int isc_import_apply_entry(struct importer *im, const struct src_entry *e, isc_error **err);

/* import-tar.c: tarballs and layers */
/* The rest of the file, hashed: a digest covers the whole blob, not just
 * what the archive reader wanted of it. */
/* A tarball (any compression libarchive knows) into the rootfs. */
int isc_import_tarball(struct importer *im, const char *file, isc_error **err);
int isc_import_source_drain(struct tar_source *src, isc_error **err);
int isc_import_tar(struct importer *im, struct tar_source *src, enum tar_pass pass, isc_error **err);
/* A regular file opened for reading: O_NONBLOCK, so that a fifo in its
 * place fails here instead of blocking the import forever. */
int isc_import_open_regular_at(int dirfd, const char *path, int flags, const char *name, isc_error **err);

/* import-oci.c: OCI image layouts */
/* The layout at `dir`: its image's layers in order, its config in im->config. */
int isc_import_oci(struct importer *im, const char *dir, isc_error **err);

#endif
