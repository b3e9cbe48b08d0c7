/* SPDX-License-Identifier: GPL-2.0-or-later
 * `isc run --user NAME[:GROUP]`: names resolved from the image's own
 * /etc/passwd and /etc/group, once, by iscd at `isc run`; the plan keeps
 * the numbers (service.json), so no later start reads the image for them.
 *
 * Design
 * ------
 * The image is the attacker's: its two files are opened by fd inside its
 * root (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: a symbolic link,
 * absolute or "..", is followed inside the image only; /proc is not
 * there), must be regular files of at most USERS_FILE_MAX bytes (a FIFO
 * never blocks: the open is O_NONBLOCK and the type is checked before any
 * read), and are parsed here, never by NSS.  Only the line of the wanted name counts; it
 * must have all its fields and an id inside the container's range
 * (0-65535), else the error names the file and the line.  Other lines,
 * malformed or not, are not looked at beyond their name.
 */
#include "plan/plan-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

#define USERS_FILE_MAX (1u << 20)
#define USER_NAME_MAX 32
#define ID_MAX 65535

static int open_in_root(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* The text of the image's `path` ("/etc/passwd"), NUL-terminated. */
static int read_image_file(int rootfd, const char *path, char **out, isc_error **err)
{
	cleanup_close int fd = open_in_root(rootfd, path);
	if (fd < 0)
		return isc_error_set(err, errno, "--user: the image's %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "--user: the image's %s", path);
	if (!S_ISREG(st.st_mode))
		return isc_error_set(err, EINVAL, "--user: the image's %s is not a regular file", path);
	if (st.st_size > USERS_FILE_MAX)
		return isc_error_set(err, EFBIG, "--user: the image's %s is larger than %u bytes", path,
				     USERS_FILE_MAX);
	size_t size = (size_t)st.st_size;
	cleanup_free char *buf = isc_xmalloc0(size + 2);
	ssize_t n = isc_read_all(fd, buf, size + 1);
	if (n < 0)
		return isc_error_set(err, (int)-n, "--user: read the image's %s", path);
	if ((size_t)n != size || memchr(buf, '\0', size) != NULL)
		return isc_error_set(err, EINVAL, "--user: the image's %s changed size or holds a NUL byte", path);
	*out = steal_pointer(&buf);
	return 0;
}

/* Split line (modified) at ':' into exactly n fields. */
static bool split_fields(char *line, char **f, size_t n)
{
	size_t k = 0;
	for (char *p = line;; p++) {
		if (k == n)
			return false;
		f[k++] = p;
		p = strchr(p, ':');
		if (p == NULL)
			return k == n;
		*p = '\0';
	}
}

static bool parse_id(const char *s, uint32_t *id)
{
	uint64_t v;
	if (isc_parse_u64(s, &v) < 0 || v > ID_MAX)
		return false;
	*id = (uint32_t)v;
	return true;
}

/* In text (the image's `path`, nfields fields a line, the name first):
 * the line of `name`, its id field `idx` (and `idx2` if >= 0). */
static int lookup(char *text, const char *path, size_t nfields, const char *name, size_t idx, int idx2, uint32_t *id,
		  uint32_t *id2, isc_error **err)
{
	size_t lineno = 0;
	for (char *save = NULL, *line = text; line != NULL; line = save) {
		lineno++;
		save = strchr(line, '\n');
		if (save != NULL)
			*save++ = '\0';
		size_t nl = strlen(name);
		if (strncmp(line, name, nl) != 0 || line[nl] != ':')
			continue;
		char *f[7];
		if (!split_fields(line, f, nfields) || !parse_id(f[idx], id) || (idx2 >= 0 && !parse_id(f[idx2], id2)))
			return isc_error_set(err, EINVAL,
					     "--user: the image's %s, line %zu (%s): not %zu fields with ids 0-%u",
					     path, lineno, name, nfields, ID_MAX);
		return 0;
	}
	return isc_error_set(err, 0, "--user: no %s %s in the image's %s (give a number, or add it to the image)",
			     nfields == 7 ? "user" : "group", name, path);
}

static bool is_number(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

int isc_plan_check_user_name(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= USER_NAME_MAX && strchr("-+", s[0]) == NULL &&
			       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$") == n
		       ? 0
		       : -1;
}

/* The user part: a number as it is (gid NULL: the group is the uid, as
 * today), a name from /etc/passwd (with its group). */
static int resolve_uid(int rootfd, const char *u, uint32_t *uid, uint32_t *gid, bool *has_gid, isc_error **err)
{
	if (is_number(u))
		return parse_id(u, uid) ? 0 : isc_error_set(err, EINVAL, "--user: %s is not 0-%u", u, ID_MAX);
	cleanup_free char *text = NULL;
	if (read_image_file(rootfd, "/etc/passwd", &text, err) < 0 ||
	    lookup(text, "/etc/passwd", 7, u, 2, 3, uid, gid, err) < 0)
		return -1;
	*has_gid = true;
	return 0;
}

static int resolve_gid(int rootfd, const char *g, uint32_t *gid, isc_error **err)
{
	if (is_number(g))
		return parse_id(g, gid) ? 0 : isc_error_set(err, EINVAL, "--user: %s is not 0-%u", g, ID_MAX);
	cleanup_free char *text = NULL;
	if (read_image_file(rootfd, "/etc/group", &text, err) < 0)
		return -1;
	return lookup(text, "/etc/group", 4, g, 2, -1, gid, NULL, err);
}

int isc_plan_user_resolve(int rootfd, const char *spec, char **numeric, isc_error **err)
{
	cleanup_free char *copy = isc_xstrdup(spec);
	char *colon = strchr(copy, ':');
	if (colon != NULL)
		*colon++ = '\0';
	uint32_t uid = 0, gid = 0;
	bool has_gid = colon != NULL;
	if (resolve_uid(rootfd, copy, &uid, &gid, &has_gid, err) < 0 ||
	    (colon != NULL && resolve_gid(rootfd, colon, &gid, err) < 0))
		return -1;
	*numeric = has_gid ? isc_xasprintf("%u:%u", uid, gid) : isc_xasprintf("%u", uid);
	return 0;
}
