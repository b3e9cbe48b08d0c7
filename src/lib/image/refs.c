/* SPDX-License-Identifier: GPL-2.0-or-later
 * What keeps an image's content in the store: the names that point to it
 * (names/NAME -> ../sha256/<id>) and the services that use it (their
 * R/containers/NAME/service.json records the image id iscd starts them
 * from, at every start and restart).  Content is never removed while
 * either remains: `isc image rm` of an image a service uses is refused
 * (or, forced, removes only the name), re-importing a name removes the
 * old content only when nothing keeps it and says so, and `isc image
 * prune` removes what nothing keeps any more.  Every decision is made
 * under the store lock (store.c); the services are read from their
 * records, which iscd writes at `isc run` before the first start, so a
 * service created between the check and the removal is the one window
 * (its start then fails loudly on the missing image, never silently). */
#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

static void strv_add(char ***v, size_t *n, const char *s)
{
	char **grown = realloc(*v, (*n + 2) * sizeof(char *));
	if (grown == NULL)
		abort();
	grown[(*n)++] = isc_xstrdup(s);
	grown[*n] = NULL;
	*v = grown;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a, b, c" */
static char *join(char *const *v)
{
	char *out = isc_xstrdup("");
	for (size_t i = 0; v && v[i]; i++) {
		char *more = isc_xasprintf("%s%s%s", out, i ? ", " : "", v[i]);
		free(out);
		out = more;
	}
	return out;
}

/* A directory's entries, "." and ".." left out (ENOENT: none). */
static int dir_names(int atfd, const char *path, char ***out, isc_error **err)
{
	*out = NULL;
	size_t n = 0;
	int fd = openat(atfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "open %s", path);
	cleanup_dir DIR *d = fdopendir(fd); /* owns fd from here */
	if (d == NULL) {
		int e = errno;
		close(fd);
		return isc_error_set(err, e, "open %s", path);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			strv_add(out, &n, de->d_name);
	if (n)
		qsort(*out, n, sizeof(char *), strp_cmp);
	return 0;
}

int isc_image_services_using(const char *root, const char *id, char ***services, isc_error **err)
{
	*services = NULL;
	size_t n = 0;
	cleanup_free char *dir = isc_xasprintf("%s/containers", root);
	cleanup_strv char **names = NULL;
	if (dir_names(AT_FDCWD, dir, &names, err) < 0)
		return -1;
	for (size_t i = 0; names && names[i]; i++) {
		/* a folder without a readable record is no service iscd can
		 * start (or one being created: see the design note) */
		cleanup_free char *rel = isc_xasprintf("%s/%s/service.json", dir, names[i]);
		cleanup_free char *text = NULL;
		size_t len = 0;
		cleanup_error isc_error *e2 = NULL;
		if (isc_read_file_at(AT_FDCWD, rel, &text, &len, 1 << 20, &e2) < 0)
			continue;
		json_t *j = json_loadb(text, len, 0, NULL);
		const char *used = json_string_value(json_object_get(j, "image_id"));
		if (used && strcmp(used, id) == 0)
			strv_add(services, &n, names[i]);
		json_decref(j);
	}
	return 0;
}

/* The names (sorted) that point to content `id`, but `except`. */
static int names_of(int storefd, const char *id, const char *except, char ***out, isc_error **err)
{
	*out = NULL;
	size_t n = 0;
	cleanup_strv char **names = NULL;
	if (dir_names(storefd, "names", &names, err) < 0)
		return -1;
	for (size_t i = 0; names && names[i]; i++) {
		char other[65];
		cleanup_error isc_error *e2 = NULL;
		if (names[i][0] == '.' || (except && strcmp(names[i], except) == 0) ||
		    isc_image_name_read(storefd, names[i], other, &e2) < 0 || strcmp(other, id) != 0)
			continue;
		strv_add(out, &n, names[i]);
	}
	return 0;
}

int isc_image_remove(const char *root, const char *name, bool force, char **notice, isc_error **err)
{
	*notice = NULL;
	if (isc_image_name_check(name, err) < 0)
		return -1;
	cleanup_close int storefd = isc_image_store_open(root, false, err);
	if (storefd < 0)
		return -1;
	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0)
		return -1;
	char id[65];
	if (isc_image_name_read(storefd, name, id, err) < 0)
		return -1;
	cleanup_strv char **users = NULL;
	if (isc_image_services_using(root, id, &users, err) < 0)
		return isc_error_wrap(err, "image \"%s\": its services", name);
	cleanup_free char *who = join(users);
	size_t nusers = users ? isc_strvlen(users) : 0;
	if (nusers && !force)
		return isc_error_set(
			err, EBUSY,
			"image \"%s\" is used by service%s %s: isc rm %s first (or isc image rm --force %s: "
			"the name goes, the content stays while a service uses it)",
			name, nusers == 1 ? "" : "s", who, nusers == 1 ? "it" : "them", name);
	cleanup_free char *rel = isc_xasprintf("names/%s", name);
	if (unlinkat(storefd, rel, 0) < 0)
		return isc_error_set(err, errno, "image \"%s\": remove its name", name);
	cleanup_strv char **others = NULL;
	if (names_of(storefd, id, NULL, &others, err) < 0)
		return isc_error_wrap(err, "image \"%s\"", name);
	if (others)
		return 0; /* other names of the same content keep it */
	if (nusers) {
		*notice = isc_xasprintf("image \"%s\": removed; its content (%.12s) stays for service%s %s "
					"(isc image prune removes it once no service uses it)",
					name, id, nusers == 1 ? "" : "s", who);
		return 0;
	}
	if (isc_image_content_remove(storefd, id, err) < 0)
		return isc_error_wrap(err, "image \"%s\"", name);
	return 0;
}

int isc_image_prune(const char *root, char ***removed, isc_error **err)
{
	*removed = NULL;
	size_t n = 0;
	cleanup_close int storefd = isc_image_store_open(root, false, err);
	if (storefd < 0) {
		if ((*err)->errnum == ENOENT) {
			isc_error_free(err);
			return 0;
		}
		return -1;
	}
	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0)
		return -1;
	cleanup_strv char **ids = NULL;
	if (dir_names(storefd, "sha256", &ids, err) < 0)
		return -1;
	for (size_t i = 0; ids && ids[i]; i++) {
		if (!isc_image_is_hex64(ids[i], strlen(ids[i])))
			continue;
		cleanup_strv char **names = NULL;
		cleanup_strv char **users = NULL;
		if (names_of(storefd, ids[i], NULL, &names, err) < 0 ||
		    isc_image_services_using(root, ids[i], &users, err) < 0)
			return -1;
		if (names || users)
			continue;
		if (isc_image_content_remove(storefd, ids[i], err) < 0)
			return -1;
		strv_add(removed, &n, ids[i]);
	}
	return 0;
}

/* What keeps content `id` now, as the end of a notice; NULL when nothing
 * does. */
static char *kept_by(const char *root, int storefd, const char *id, isc_error **err, bool *failed)
{
	*failed = false;
	char **names = NULL, **users = NULL;
	char *what = NULL;
	if (names_of(storefd, id, NULL, &names, err) < 0 || isc_image_services_using(root, id, &users, err) < 0) {
		*failed = true;
	} else if (names) {
		char *list = join(names);
		what = isc_xasprintf("still named %s", list);
		free(list);
	} else if (users) {
		char *list = join(users);
		bool one = isc_strvlen(users) == 1;
		what = isc_xasprintf("kept for service%s %s until %s removed: isc image prune removes it then",
				     one ? "" : "s", list, one ? "it is" : "they are");
		free(list);
	}
	isc_strvfree(names);
	isc_strvfree(users);
	return what;
}

int isc_image_release_old(const char *root, const char *name, const char *old_id, const char *new_id, char **notice,
			  isc_error **err)
{
	*notice = NULL;
	if (old_id[0] == '\0' || strcmp(old_id, new_id) == 0)
		return 0;
	cleanup_close int storefd = isc_image_store_open(root, false, err);
	if (storefd < 0)
		return -1;
	cleanup_close int lockfd = isc_image_store_lock(storefd, err);
	if (lockfd < 0)
		return -1;
	bool failed;
	cleanup_free char *kept = kept_by(root, storefd, old_id, err, &failed);
	if (failed)
		return -1;
	if (kept == NULL && isc_image_content_remove(storefd, old_id, err) < 0)
		return -1;
	*notice = isc_xasprintf("image \"%s\": now %.12s (was %.12s, %s)", name, new_id, old_id,
				kept ? kept : "removed: nothing else used it");
	return 0;
}
