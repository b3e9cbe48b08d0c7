/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime/state.h"
#include "kernel/cgroup.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const status_names[] = {
	[ISC_STATUS_CREATING] = "creating", [ISC_STATUS_CREATED] = "created", [ISC_STATUS_RUNNING] = "running",
	[ISC_STATUS_STOPPED] = "stopped",   [ISC_STATUS_PAUSED] = "paused",
};

const char *isc_status_name(enum isc_status s)
{
	return (unsigned)s < ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

int isc_state_check_id(const char *id, isc_error **err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0)
		return isc_error_set(err, EINVAL, "container id must not be empty");
	if (n > 1024)
		return isc_error_set(err, EINVAL, "container id is longer than 1024 characters");
	if (id[0] == '.')
		return isc_error_set(err, EINVAL, "invalid container id \"%s\": must not start with '.'", id);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			  c == '+' || c == '-' || c == '.';
		if (!ok)
			return isc_error_set(err, EINVAL,
					     "invalid container id \"%s\": only letters, digits and _+.- are allowed",
					     id);
	}
	return 0;
}

static int open_root(const char *root, bool create, isc_error **err)
{
	if (create) {
		if (mkdir(root, 0700) < 0 && errno != EEXIST) {
			if (errno == ENOENT && isc_mkdir_p(root, 0700, err) == 0)
				goto open;
			if (errno != ENOENT)
				return isc_error_set(err, errno, "create state directory %s", root);
			return isc_error_wrap(err, "create state directory %s", root);
		}
	}
open:;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open state directory %s", root);
	return fd;
}

/* Bounded: a process that keeps the lock (a hung command, an fd a child
 * inherited) makes this fail with its path instead of waiting for ever. */
static int lock_dir(int fd, bool exclusive, const char *root, const char *id, isc_error **err)
{
	int bound = isc_wait_bound_ms();
	if (isc_flock_within(fd, exclusive ? LOCK_EX : LOCK_SH, bound) < 0) {
		if (errno == EWOULDBLOCK)
			return isc_error_set(err, 0,
					     "lock container %s: %s/%s is still locked by another process "
					     "after %d s",
					     id, root, id, bound / 1000);
		return isc_error_set(err, errno, "lock container %s (%s/%s)", id, root, id);
	}
	/* a racing delete may have removed the directory while we waited */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return isc_error_set(err, errno, "stat container %s", id);
	if (st.st_nlink == 0)
		return isc_error_set(err, 0, "container \"%s\" does not exist", id);
	return 0;
}

int isc_state_dir_create(const char *root, const char *id, struct isc_state_dir *d, isc_error **err)
{
	d->root_fd = d->dir_fd = -1;
	d->root = d->id = NULL;
	if (isc_state_check_id(id, err) < 0)
		return -1;
	cleanup_close int rfd = open_root(root, true, err);
	if (rfd < 0)
		return -1;
	if (mkdirat(rfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return isc_error_set(err, EEXIST, "container with id \"%s\" already exists", id);
		return isc_error_set(err, errno, "create %s/%s", root, id);
	}
	int fd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		unlinkat(rfd, id, AT_REMOVEDIR);
		return isc_error_set(err, e, "open %s/%s", root, id);
	}
	if (isc_flock_within(fd, LOCK_EX, isc_wait_bound_ms()) < 0) {
		int e = errno;
		close(fd);
		unlinkat(rfd, id, AT_REMOVEDIR);
		return isc_error_set(err, e, "lock container %s (%s/%s)", id, root, id);
	}
	d->root_fd = steal_fd(&rfd);
	d->dir_fd = fd;
	d->root = isc_xstrdup(root);
	d->id = isc_xstrdup(id);
	return 0;
}

static int dir_open(const char *root, const char *id, enum isc_state_lock lock, struct isc_state_dir *d,
		    isc_error **err)
{
	d->root_fd = d->dir_fd = -1;
	d->root = d->id = NULL;
	if (isc_state_check_id(id, err) < 0)
		return -1;
	cleanup_close int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0) {
		if (errno == ENOENT)
			return isc_error_set(err, 0, "container \"%s\" does not exist", id);
		return isc_error_set(err, errno, "open state directory %s", root);
	}
	cleanup_close int fd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return isc_error_set(err, 0, "container \"%s\" does not exist", id);
		return isc_error_set(err, errno, "open container %s", id);
	}
	if (lock != ISC_STATE_UNLOCKED && lock_dir(fd, lock == ISC_STATE_EXCLUSIVE, root, id, err) < 0)
		return -1;
	d->root_fd = steal_fd(&rfd);
	d->dir_fd = steal_fd(&fd);
	d->root = isc_xstrdup(root);
	d->id = isc_xstrdup(id);
	return 0;
}

int isc_state_dir_open(const char *root, const char *id, bool exclusive, struct isc_state_dir *d, isc_error **err)
{
	return dir_open(root, id, exclusive ? ISC_STATE_EXCLUSIVE : ISC_STATE_SHARED, d, err);
}

int isc_state_open(const char *root, const char *id, enum isc_state_lock lock, struct isc_state_handle *h,
		   isc_error **err)
{
	memset(h, 0, sizeof(*h));
	h->d.root_fd = h->d.dir_fd = -1;
	if (dir_open(root, id, lock, &h->d, err) < 0)
		return -1;
	h->open = true;
	if (isc_state_read(&h->d, &h->st, err) < 0)
		return -1;
	h->read = true;
	h->status = isc_state_status(&h->d, &h->st);
	return 0;
}

void isc_state_release_dir(struct isc_state_handle *h)
{
	if (h->open)
		isc_state_dir_close(&h->d);
	h->open = false;
}

void isc_state_close(struct isc_state_handle *h)
{
	if (h->read)
		isc_state_clear(&h->st);
	h->read = false;
	isc_state_release_dir(h);
}

bool isc_state_exists(const char *root, const char *id)
{
	cleanup_free char *path = isc_xasprintf("%s/%s", root, id);
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void isc_state_dir_close(struct isc_state_dir *d)
{
	isc_closep(&d->dir_fd);
	isc_closep(&d->root_fd);
	free(d->root);
	free(d->id);
	d->root = d->id = NULL;
}

/* ------------------------------------------------------------------ */
/* removal                                                             */

/* A directory below `parent` for the removal: never through a symlink,
 * never into another mount (a scratch mount point that a failed teardown
 * left is not entered: its rmdir fails EBUSY and says so). */
static int open_below(int parent, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	return (int)syscall(SYS_openat2, parent, name, &how, sizeof(how));
}

/* One pass over the directory `fd`: unlink what is not a directory (but
 * `keep`), rmdir the empty directories.  0: it is empty now; 1: *child is
 * the first directory that is not (to be emptied first); -1: errno, and
 * *bad the entry that could not be removed. */
static int empty_pass(int fd, const char *keep, int *child, char **bad)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (dir == NULL) {
		isc_closep(&dfd);
		*bad = isc_xstrdup(".");
		return -1;
	}
	rewinddir(dir); /* the dup shares the offset of an earlier pass */
	int ret = 0;
	struct dirent *de;
	int e = 0;
	while (ret == 0 && (errno = 0, de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (keep && strcmp(de->d_name, keep) == 0))
			continue;
		struct stat st;
		bool is_dir = de->d_type == DT_DIR ||
			      (de->d_type == DT_UNKNOWN && fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			       S_ISDIR(st.st_mode));
		if (unlinkat(fd, de->d_name, is_dir ? AT_REMOVEDIR : 0) == 0 || errno == ENOENT)
			continue;
		if (is_dir && (errno == ENOTEMPTY || errno == EEXIST) && (*child = open_below(fd, de->d_name)) >= 0)
			ret = 1;
		else
			ret = -1;
		e = errno;
	}
	if (ret == 0)
		e = errno;	  /* 0, or why readdir failed */
	if (ret == 0 && e != 0) { /* readdir failed: "not empty" later would hide why */
		ret = -1;
		*bad = isc_xstrdup(".");
	} else if (ret != 0) {
		*bad = isc_xstrdup(de->d_name);
	}
	closedir(dir);
	errno = e;
	return ret;
}

struct walk_level {
	dev_t dev;
	ino_t ino;
	char *name; /* the directory below this one that the walk is in */
};

static int empty_failed(const struct walk_level *up, size_t depth, const char *path, const char *bad, isc_error **err)
{
	int e = errno;
	char *p = isc_xstrdup(path);
	for (size_t i = 0; i < depth; i++) {
		char *q = isc_xasprintf("%s/%s", p, up[i].name);
		free(p);
		p = q;
	}
	isc_error_set(err, e, "remove %s%s%s", p, bad ? "/" : "", bad ? bad : "");
	free(p);
	return -1;
}

/* Empty the directory `top` (but its entry `keep`), by fd, never
 * following a symlink nor entering another mount; `path` names it in
 * errors.  The walk holds one directory at a time, so that depth costs no
 * fds: down into the first directory that is not empty, back up through
 * "..", checked against the directory it came from. */
static int empty_tree(int top, const char *keep, const char *path, isc_error **err)
{
	int fd = fcntl(top, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return isc_error_set(err, errno, "remove %s", path);
	struct walk_level *up = NULL;
	size_t depth = 0, cap = 0;
	int ret = 0;
	for (;;) {
		int child = -1;
		char *bad = NULL;
		int r = empty_pass(fd, depth == 0 ? keep : NULL, &child, &bad);
		if (r < 0) {
			ret = empty_failed(up, depth, path, bad, err);
			free(bad);
			break;
		}
		if (r == 1) {
			struct stat here;
			if (depth == cap) {
				cap = cap ? 2 * cap : 16;
				struct walk_level *nu = realloc(up, cap * sizeof(*nu));
				if (nu == NULL)
					abort();
				up = nu;
			}
			if (fstat(fd, &here) < 0) {
				ret = empty_failed(up, depth, path, NULL, err);
				free(bad);
				isc_closep(&child);
				break;
			}
			up[depth++] = (struct walk_level){ .dev = here.st_dev, .ino = here.st_ino, .name = bad };
			isc_closep(&fd);
			fd = child;
			continue;
		}
		if (depth == 0)
			break;
		/* emptied: back up, where the next pass removes it */
		int parent_fd = isc_open_parent_checked(fd, up[depth - 1].dev, up[depth - 1].ino);
		if (parent_fd < 0) {
			ret = empty_failed(up, depth, path, "..", err);
			break;
		}
		isc_closep(&fd);
		fd = parent_fd;
		free(up[--depth].name);
	}
	isc_closep(&fd);
	for (size_t i = 0; i < depth; i++)
		free(up[i].name);
	free(up);
	return ret;
}

/* Everything in it goes, whatever the container or a crash left there
 * (a notify/ the container could once write, filled, would make every
 * delete fail ENOTEMPTY); only another mount (a scratch mount point) stops it, and
 * then state.json is still there for a `delete` to try again. */
int isc_state_dir_remove(struct isc_state_dir *d, isc_error **err)
{
	cleanup_free char *path = isc_xasprintf("%s/%s", d->root, d->id);
	int ret = empty_tree(d->dir_fd, "state.json", path, err);
	if (ret == 0 && unlinkat(d->dir_fd, "state.json", 0) < 0 && errno != ENOENT)
		ret = isc_error_set(err, errno, "remove %s/state.json", path);
	if (ret == 0 && unlinkat(d->root_fd, d->id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		ret = isc_error_set(err, errno, "remove %s", path);
	isc_state_dir_close(d);
	return ret;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

int isc_state_write(const struct isc_state_dir *d, const struct isc_state *st, isc_error **err)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", jstr(st->id));
	json_object_set_new(o, "bundle", jstr(st->bundle));
	json_object_set_new(o, "rootfs", jstr(st->rootfs));
	json_object_set_new(o, "pid", json_integer(st->pid));
	json_object_set_new(o, "pid_start_time", json_integer((json_int_t)st->pid_start_time));
	json_object_set_new(o, "creator_pid", json_integer(st->creator_pid));
	json_object_set_new(o, "creator_start_time", json_integer((json_int_t)st->creator_start_time));
	json_object_set_new(o, "created", jstr(st->created));
	json_object_set_new(o, "hooks_saved", json_boolean(st->hooks_saved));
	if (st->notify_socket)
		json_object_set_new(o, "notify_socket", json_string(st->notify_socket));
	json_object_set_new(o, "cgroup", jstr(st->cgroup));
	json_object_set_new(o, "owner", json_integer(st->owner));
	if (st->annotations_json) {
		json_t *a = json_loads(st->annotations_json, 0, NULL);
		json_object_set_new(o, "annotations", a ? a : json_object());
	}
	if (st->scratch) {
		json_t *sc = json_loads(st->scratch, 0, NULL);
		json_object_set_new(o, "scratch", sc ? sc : json_object());
	}
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return isc_error_set(err, ENOMEM, "serialize state of %s", d->id);
	int r = isc_write_file_atomic(d->dir_fd, "state.json", text, strlen(text), 0600, err);
	free(text);
	if (r < 0)
		return isc_error_wrap(err, "container %s", d->id);
	return 0;
}

static char *jdup(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? isc_xstrdup(s) : NULL;
}

int isc_state_read(const struct isc_state_dir *d, struct isc_state *st, isc_error **err)
{
	memset(st, 0, sizeof(*st));
	cleanup_free char *text = NULL;
	if (isc_read_file_at(d->dir_fd, "state.json", &text, NULL, 0, err) < 0) {
		if ((*err)->errnum == ENOENT) {
			/* a create that crashed before its first write */
			isc_error_free(err);
			st->id = isc_xstrdup(d->id);
			return 0;
		}
		return isc_error_wrap(err, "container %s", d->id);
	}
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return isc_error_set(err, EINVAL, "container %s: corrupt state.json: %s", d->id, je.text);
	}
	st->id = jdup(o, "id");
	if (st->id == NULL)
		st->id = isc_xstrdup(d->id);
	st->bundle = jdup(o, "bundle");
	st->rootfs = jdup(o, "rootfs");
	st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	st->pid_start_time = (uint64_t)json_integer_value(json_object_get(o, "pid_start_time"));
	st->creator_pid = (pid_t)json_integer_value(json_object_get(o, "creator_pid"));
	st->creator_start_time = (uint64_t)json_integer_value(json_object_get(o, "creator_start_time"));
	st->created = jdup(o, "created");
	st->hooks_saved = json_is_true(json_object_get(o, "hooks_saved"));
	st->notify_socket = jdup(o, "notify_socket");
	st->cgroup = jdup(o, "cgroup");
	st->owner = (uid_t)json_integer_value(json_object_get(o, "owner"));
	json_t *a = json_object_get(o, "annotations");
	if (json_is_object(a))
		st->annotations_json = json_dumps(a, JSON_COMPACT);
	json_t *sc = json_object_get(o, "scratch");
	if (json_is_object(sc))
		st->scratch = json_dumps(sc, JSON_COMPACT);
	json_decref(o);
	return 0;
}

void isc_state_clear(struct isc_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->cgroup);
	free(st->annotations_json);
	free(st->notify_socket);
	free(st->scratch);
	memset(st, 0, sizeof(*st));
}

/* Why the last proc_alive() said "not alive" when it could not look: the
 * errno of the failed open or read of /proc/PID/stat (0: it looked). */
static int unseen_errno;

int isc_state_unseen_errno(void)
{
	return unseen_errno;
}

/* Alive, not a zombie, and (when known) the same start time: one read of
 * /proc/PID/stat. */
static bool proc_alive(pid_t pid, uint64_t start_time)
{
	unseen_errno = 0;
	if (pid <= 0)
		return false;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		unseen_errno = errno == ENOENT || errno == ESRCH ? 0 : errno;
		return false;
	}
	ssize_t n = isc_read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		unseen_errno = n < 0 && errno != ESRCH ? errno : 0;
		return false;
	}
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return false;
	char state = p[2];
	if (state == 'Z' || state == 'X' || state == 'x')
		return false;
	if (start_time == 0)
		return true;
	/* p + 1 is the space before field 3; walk to the space before field 22 */
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p != NULL && strtoull(p + 1, NULL, 10) == start_time;
}

bool isc_state_pid_alive(const struct isc_state *st)
{
	return proc_alive(st->pid, st->pid_start_time);
}

/* Paused (like runc, for a created container too): the freezer says
 * frozen.  One small JSON parse and one file read. */
static bool cgroup_frozen(const struct isc_state *st)
{
	struct isc_cgroup *cg = NULL;
	cleanup_error isc_error *e = NULL;
	if (st->cgroup == NULL || isc_cgroup_deserialize(st->cgroup, &cg, &e) < 0)
		return false;
	bool frozen = isc_cgroup_frozen(cg);
	isc_cgroup_free(cg);
	return frozen;
}

enum isc_status isc_state_status(const struct isc_state_dir *d, const struct isc_state *st)
{
	if (st->pid <= 0) {
		if (proc_alive(st->creator_pid, st->creator_start_time))
			return ISC_STATUS_CREATING;
		return ISC_STATUS_STOPPED;
	}
	if (!isc_state_pid_alive(st))
		return ISC_STATUS_STOPPED;
	/* created until start opened the fifo (and removed it) */
	if (faccessat(d->dir_fd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (proc_alive(st->creator_pid, st->creator_start_time))
			return ISC_STATUS_CREATING;
		return cgroup_frozen(st) ? ISC_STATUS_PAUSED : ISC_STATUS_CREATED;
	}
	return cgroup_frozen(st) ? ISC_STATUS_PAUSED : ISC_STATUS_RUNNING;
}

char *isc_state_oci_json(const struct isc_state *st, enum isc_status status)
{
	json_t *o = json_object();
	json_object_set_new(o, "ociVersion", json_string(ISC_OCI_VERSION));
	json_object_set_new(o, "id", jstr(st->id));
	json_object_set_new(o, "status", json_string(isc_status_name(status)));
	if (status != ISC_STATUS_STOPPED && st->pid > 0)
		json_object_set_new(o, "pid", json_integer(st->pid));
	else
		json_object_set_new(o, "pid", json_integer(0));
	json_object_set_new(o, "bundle", jstr(st->bundle));
	json_object_set_new(o, "rootfs", jstr(st->rootfs));
	json_object_set_new(o, "created", jstr(st->created));
	json_t *a = st->annotations_json ? json_loads(st->annotations_json, 0, NULL) : NULL;
	json_object_set_new(o, "annotations", a ? a : json_object());
	json_object_set_new(o, "owner", json_string(st->owner == 0 ? "root" : ""));
	char *text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (text == NULL)
		abort();
	return text;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int isc_state_list(const char *root, char ***ids, isc_error **err)
{
	*ids = NULL;
	DIR *dir = opendir(root);
	if (dir == NULL) {
		if (errno == ENOENT) {
			*ids = isc_xmalloc0(sizeof(char *));
			return 0;
		}
		return isc_error_set(err, errno, "open state directory %s", root);
	}
	size_t n = 0, cap = 16;
	char **v = isc_xmalloc0(cap * sizeof(char *));
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			char **nv = realloc(v, cap * sizeof(char *));
			if (nv == NULL)
				abort();
			v = nv;
		}
		v[n++] = isc_xstrdup(de->d_name);
		v[n] = NULL;
	}
	closedir(dir);
	qsort(v, n, sizeof(char *), cmp_str);
	*ids = v;
	return 0;
}

char *isc_rfc3339_now(void)
{
	char buf[ISC_RFC3339_LEN];
	isc_rfc3339_format(buf);
	return isc_xstrdup(buf);
}
