/* SPDX-License-Identifier: GPL-2.0-or-later
 * iscd's journal.
 *
 * Design
 * ------
 * - One file per service under R/journal: NAME, a JSON object
 *   {"op": "run" | "start" | "stop" | "restart" | "rm", "time": RFC 3339,
 *   and what that op needs to be finished or undone (recover.c)}.  At most
 *   one op runs on a service at a time (iscd has one thread), so the file
 *   names the one op under way; a later op replaces it.
 * - Written before the op's first step, with write + fsync + rename + fsync
 *   of the folder (isc_write_file_durable): after a power loss the entry is
 *   either there whole or not at all, and it is there before anything the op
 *   makes.  Removed (unlink + fsync of the folder) after the op's last step.
 * - iscd at its start reads every entry left by a killed predecessor and
 *   finishes or undoes that op (recover.c, "recovery"), then removes it.
 *   An entry that cannot be parsed is logged and removed by the caller: the
 *   service's own state decides then.
 */
#include "iscd/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "runtime/state.h"

static char *journal_dir(const char *root)
{
	return isc_xasprintf("%s/journal", root);
}

static int open_dir(const char *root, bool create, isc_error **err)
{
	cleanup_free char *dir = journal_dir(root);
	if (create && isc_mkdir_p(dir, 0700, err) < 0)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && (create || errno != ENOENT))
		return isc_error_set(err, errno, "journal: open %s", dir);
	return fd;
}

int isc_journal_begin(const char *root, const char *name, json_t *entry, isc_error **err)
{
	cleanup_close int dfd = open_dir(root, true, err);
	if (dfd < 0)
		return -1;
	cleanup_free char *now = isc_rfc3339_now();
	json_object_set_new(entry, "time", json_string(now));
	cleanup_free char *text = json_dumps(entry, JSON_COMPACT);
	if (text == NULL)
		return isc_error_set(err, ENOMEM, "journal: %s: encode the entry", name);
	if (isc_write_file_durable(dfd, name, text, strlen(text), 0600, err) < 0)
		return isc_error_wrap(err, "%s %s: record it in %s/journal first",
				      json_string_value(json_object_get(entry, "op")), name, root);
	return 0;
}

int isc_journal_end(const char *root, const char *name, isc_error **err)
{
	cleanup_close int dfd = open_dir(root, false, err);
	if (dfd < 0)
		return err && *err ? -1 : 0;
	if (unlinkat(dfd, name, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		return isc_error_set(err, errno, "journal: remove %s/journal/%s", root, name);
	}
	if (fsync(dfd) < 0)
		return isc_error_set(err, errno, "journal: fsync %s/journal", root);
	return 0;
}

json_t *isc_journal_read(const char *root, const char *name, isc_error **err)
{
	cleanup_close int dfd = open_dir(root, false, err);
	if (dfd < 0)
		return NULL;
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_read_file_at(dfd, name, &text, &len, 1 << 16, NULL) < 0)
		return NULL; /* none (or unreadable: as none; the state decides) */
	json_error_t jerr;
	json_t *j = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(j) || !json_is_string(json_object_get(j, "op"))) {
		json_decref(j);
		isc_error_set(err, EINVAL, "journal: %s/journal/%s: not an entry (%s)", root, name,
			      j ? "no \"op\"" : jerr.text);
		return NULL;
	}
	return j;
}

char **isc_journal_names(const char *root)
{
	cleanup_free char *dir = journal_dir(root);
	size_t n = 0;
	char **v = isc_xmalloc0(sizeof(*v));
	DIR *d = opendir(dir);
	if (d == NULL)
		return v;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (de->d_name[0] == '.')
			continue; /* ., .., and the temporary files of a write */
		char **w = isc_xmalloc0((n + 2) * sizeof(*w));
		memcpy(w, v, n * sizeof(*v));
		free(v);
		v = w;
		v[n++] = isc_xstrdup(de->d_name);
	}
	closedir(d);
	return v;
}
