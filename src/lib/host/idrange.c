/* SPDX-License-Identifier: GPL-2.0-or-later
 * User-namespace id ranges: one machine-wide table, so that the real host,
 * every lab and every test root (whatever --root) draw from one pool and
 * two services never share host ids.  The table lives outside every state
 * root's own content (host deinit keeps it, see host.c) and is changed only
 * under an exclusive flock of its lock file.  Layout and region:
 * idrange-internal.h. */
#include "host/idrange-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit-id.h"
#include "base/util.h"

/* The container audit ids (loginuids) lie above every id a user namespace
 * of isc maps: a container's own ids are never mistaken for an audit id. */
_Static_assert(ISC_IDRANGE_END <= ISC_AUDIT_ID_MIN, "the id ranges reach into the container audit ids");

/* Not under a state root: ISC_HOST_ROOT itself is only the real host's
 * root, and its deinit leaves these two files (and labs/) in place. */
#define IDRANGE_DIR "/var/lib/isc"
#define IDRANGE_TABLE ".idranges.json"
#define IDRANGE_LOCK ".idranges.lock"

static bool entry_get(json_t *e, const char **root, const char **name, uint32_t *base)
{
	json_t *r = json_object_get(e, "root"), *n = json_object_get(e, "name"), *b = json_object_get(e, "base");
	if (!json_is_string(r) || !json_is_string(n) || !json_is_integer(b))
		return false;
	json_int_t v = json_integer_value(b);
	if (v < ISC_IDRANGE_FIRST || v >= ISC_IDRANGE_END || (v - ISC_IDRANGE_FIRST) % ISC_IDRANGE_SIZE != 0)
		return false;
	*root = json_string_value(r);
	*name = json_string_value(n);
	*base = (uint32_t)v;
	return true;
}

int isc_idrange_table_alloc(json_t *table, const char *root, const char *name, uint32_t *base, isc_error **err)
{
	if (!json_is_object(table))
		return isc_error_set(err, EINVAL, "id range table: not a JSON object");
	json_t *ranges = json_object_get(table, "ranges");
	if (ranges == NULL) {
		ranges = json_array();
		json_object_set_new(table, "ranges", ranges);
	}
	if (!json_is_array(ranges))
		return isc_error_set(err, EINVAL, "id range table: \"ranges\" is not an array");

	cleanup_free unsigned char *used = isc_xmalloc0(ISC_IDRANGE_SLOTS);
	size_t i;
	json_t *e;
	json_array_foreach(ranges, i, e) {
		const char *r, *n;
		uint32_t b;
		if (!entry_get(e, &r, &n, &b))
			return isc_error_set(err, EINVAL, "id range table: entry %zu is malformed", i);
		if (strcmp(r, root) == 0 && strcmp(n, name) == 0) {
			*base = b;
			return 0;
		}
		used[(b - ISC_IDRANGE_FIRST) / ISC_IDRANGE_SIZE] = 1;
	}
	for (uint32_t k = 0; k < ISC_IDRANGE_SLOTS; k++) {
		if (used[k])
			continue;
		uint32_t b = ISC_IDRANGE_FIRST + k * ISC_IDRANGE_SIZE;
		json_array_append_new(ranges,
				      json_pack("{s:s, s:s, s:I}", "root", root, "name", name, "base", (json_int_t)b));
		*base = b;
		return 0;
	}
	return isc_error_set(err, ENOSPC, "id range table: all %u ranges are taken", (unsigned)ISC_IDRANGE_SLOTS);
}

size_t isc_idrange_table_free(json_t *table, const char *root, const char *name)
{
	json_t *ranges = json_object_get(table, "ranges");
	if (!json_is_array(ranges))
		return 0;
	size_t removed = 0;
	for (size_t i = json_array_size(ranges); i-- > 0;) {
		json_t *e = json_array_get(ranges, i);
		json_t *r = json_object_get(e, "root"), *n = json_object_get(e, "name");
		if (!json_is_string(r) || strcmp(json_string_value(r), root) != 0)
			continue;
		if (name != NULL && (!json_is_string(n) || strcmp(json_string_value(n), name) != 0))
			continue;
		json_array_remove(ranges, i);
		removed++;
	}
	return removed;
}

/* The key of a root: its canonical path when it exists (so "/x/../y" and
 * "/y" agree), else the absolute form of what was given. */
static char *root_key(const char *root)
{
	char buf[PATH_MAX];
	if (realpath(root, buf) != NULL)
		return isc_xstrdup(buf);
	if (root[0] == '/')
		return isc_xstrdup(root);
	if (getcwd(buf, sizeof(buf)) == NULL)
		return isc_xstrdup(root);
	return isc_xasprintf("%s/%s", buf, root);
}

struct table {
	int dirfd;
	int lockfd;
	json_t *json;
};

static void table_close(struct table *t)
{
	json_decref(t->json);
	isc_closep(&t->lockfd); /* releases the flock */
	isc_closep(&t->dirfd);
}

static int table_open(struct table *t, isc_error **err)
{
	t->dirfd = t->lockfd = -1;
	t->json = NULL;
	/* 0711 like every state root: container user namespaces must traverse
	 * /var/lib/isc to reach their rootfs under labs/NAME. */
	if (isc_mkdir_p(IDRANGE_DIR, 0711, err) < 0)
		return -1;
	t->dirfd = open(IDRANGE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0)
		return isc_error_set(err, errno, "open %s", IDRANGE_DIR);
	t->lockfd = openat(t->dirfd, IDRANGE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (t->lockfd < 0)
		return isc_error_set(err, errno, "open %s/%s", IDRANGE_DIR, IDRANGE_LOCK);
	while (flock(t->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return isc_error_set(err, errno, "flock %s/%s", IDRANGE_DIR, IDRANGE_LOCK);
	}
	cleanup_free char *text = NULL;
	size_t len = 0;
	isc_error *rerr = NULL;
	if (isc_read_file_at(t->dirfd, IDRANGE_TABLE, &text, &len, 0, &rerr) < 0) {
		if (rerr->errnum != ENOENT) {
			isc_error_move(err, &rerr);
			return -1;
		}
		isc_error_free(&rerr);
		t->json = json_pack("{s:i, s:[]}", "version", 1, "ranges");
		return 0;
	}
	json_error_t jerr;
	t->json = json_loadb(text, len, 0, &jerr);
	if (t->json == NULL || !json_is_object(t->json))
		return isc_error_set(err, EINVAL, "%s/%s: not a JSON object (line %d: %s)", IDRANGE_DIR, IDRANGE_TABLE,
				     jerr.line, jerr.text);
	return 0;
}

static int table_save(struct table *t, isc_error **err)
{
	cleanup_free char *text = json_dumps(t->json, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (text == NULL)
		return isc_error_set(err, ENOMEM, "serialise %s/%s", IDRANGE_DIR, IDRANGE_TABLE);
	cleanup_free char *withnl = isc_xasprintf("%s\n", text);
	if (isc_write_file_durable(t->dirfd, IDRANGE_TABLE, withnl, strlen(withnl), 0600, err) < 0)
		return isc_error_wrap(err, "%s", IDRANGE_DIR);
	return 0;
}

int isc_idrange_alloc(const char *root, const char *name, uint32_t *base, isc_error **err)
{
	if (root == NULL || root[0] == '\0' || name == NULL || name[0] == '\0')
		return isc_error_set(err, EINVAL, "id range: empty root or name");
	cleanup_free char *key = root_key(root);
	struct table t;
	int r = table_open(&t, err);
	uint32_t b = 0;
	if (r == 0) {
		size_t before = json_array_size(json_object_get(t.json, "ranges"));
		r = isc_idrange_table_alloc(t.json, key, name, &b, err);
		if (r == 0 && json_array_size(json_object_get(t.json, "ranges")) != before)
			r = table_save(&t, err);
	}
	table_close(&t);
	if (r < 0)
		return isc_error_wrap(err, "allocate the id range of %s in %s", name, key);
	*base = b;
	return 0;
}

static int free_common(const char *root, const char *name, isc_error **err)
{
	cleanup_free char *key = root_key(root);
	struct table t;
	int r = table_open(&t, err);
	if (r == 0 && isc_idrange_table_free(t.json, key, name) > 0)
		r = table_save(&t, err);
	table_close(&t);
	if (r < 0)
		return isc_error_wrap(err, "free the id range%s%s of %s", name ? " of " : "s", name ? name : "", key);
	return 0;
}

int isc_idrange_free(const char *root, const char *name, isc_error **err)
{
	if (root == NULL || root[0] == '\0' || name == NULL || name[0] == '\0')
		return isc_error_set(err, EINVAL, "id range: empty root or name");
	return free_common(root, name, err);
}

int isc_idrange_free_root(const char *root, isc_error **err)
{
	if (root == NULL || root[0] == '\0')
		return isc_error_set(err, EINVAL, "id range: empty root");
	return free_common(root, NULL, err);
}
