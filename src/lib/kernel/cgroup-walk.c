/* SPDX-License-Identifier: GPL-2.0-or-later
 * cgroups: the processes of a container and the end of its groups: the
 * pids listing (ps, kill --all), the freezer (pause, resume), kill --all,
 * and destroy (kill what is left, wait for the groups to empty, remove
 * them with whatever sub-groups the container made, at any depth: the
 * walk by fd below).
 */
#include "kernel/cgroup-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

/* ---- walking a group's sub-groups by fd ------------------------------ */

/* A container that can write its cgroup (an rw cgroup mount, a delegated
 * v2 group) makes sub-groups at will, to any depth: a chain "a/a/a/..."
 * 2000 levels deep has a host path longer than PATH_MAX, and a walk by
 * path fails on it (every delete, for good).  So the groups
 * below a container's group are walked by fd, never by path: each level
 * opened relative to its parent (no symlink, no other mount), one
 * directory fd held at a time whatever the depth, back up through "..",
 * checked against the directory the walk came down from (as the state
 * dir's removal in runtime/state.c), iterative: depth costs neither stack
 * nor fds.  Each level keeps the names of its sub-groups, read at once
 * when the walk enters it (its directory closed before going down), and
 * the next one to visit: memory grows with the groups that exist, which
 * the kernel holds anyway.  Errors name the container's group, the depth
 * and the sub-group's name cut to 64 bytes: never the whole path. */

struct cg_level {
	dev_t dev;
	ino_t ino;
	char **names; /* its sub-groups, read when the walk entered it */
	size_t n, next;
};

struct cg_walk {
	const char *top;     /* the container's group (for messages) */
	struct cg_level *lv; /* lv[0]: top; lv[depth - 1]: where the walk is */
	size_t depth, cap;
	/* at each group below top and top itself, before its sub-groups */
	int (*enter)(struct cg_walk *w, int fd, isc_error **err);
	/* after sub-group `name` of `parent` and everything below it */
	int (*leave)(struct cg_walk *w, int parent, const char *name, isc_error **err);
	void *arg;
};

#define CG_NAME_MAX 64 /* bytes of a sub-group's name in a message */

/* `depth`: of the group `name` (1: a sub-group of top) */
static int walk_failed(const struct cg_walk *w, int e, const char *what, const char *name, size_t depth,
		       isc_error **err)
{
	return isc_error_set(err, e, "cgroup %s: %s sub-group \"%.*s\"%s at depth %zu", w->top, what, CG_NAME_MAX, name,
			     strlen(name) > CG_NAME_MAX ? "..." : "", depth);
}

/* A group below `parent`: never through a symlink, never into another
 * mount. */
static int open_sub(int parent, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	return (int)syscall(SYS_openat2, parent, name, &how, sizeof(how));
}

static void level_clear(struct cg_level *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

/* Enter the group `fd` (a new deepest level): its identity and the names
 * of its sub-groups. */
static int walk_push(struct cg_walk *w, int fd, const char *name, isc_error **err)
{
	struct stat st;
	if (w->depth == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 16;
		struct cg_level *nl = realloc(w->lv, w->cap * sizeof(*nl));
		if (nl == NULL)
			abort();
		w->lv = nl;
	}
	struct cg_level *l = &w->lv[w->depth];
	*l = (struct cg_level){ 0 };
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dfd >= 0 && fstat(fd, &st) == 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		int e = errno;
		isc_closep(&dfd);
		return walk_failed(w, e, "read", name, w->depth, err);
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	struct dirent *de;
	size_t cap = 0;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat cs;
		if (de->d_type != DT_DIR &&
		    (de->d_type != DT_UNKNOWN || fstatat(fd, de->d_name, &cs, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISDIR(cs.st_mode)))
			continue;
		if (l->n == cap) {
			cap = cap ? 2 * cap : 8;
			char **nn = realloc(l->names, cap * sizeof(*nn));
			if (nn == NULL)
				abort();
			l->names = nn;
		}
		l->names[l->n++] = isc_xstrdup(de->d_name);
	}
	int e = errno;
	closedir(d);
	if (e != 0) { /* readdir failed: a removal after would hide why */
		level_clear(l);
		return walk_failed(w, e, "read", name, w->depth, err);
	}
	w->depth++;
	return w->enter ? w->enter(w, fd, err) : 0;
}

/* ".." of `fd`, if it is still the group the walk came down from */
static int walk_up(const struct cg_walk *w, int fd)
{
	const struct cg_level *l = &w->lv[w->depth - 2];
	return isc_open_parent_checked(fd, l->dev, l->ino);
}

/* Visit the group `w->top` and everything below it: enter before the
 * sub-groups, leave after.  A group that is gone (removed meanwhile) is
 * skipped; `top` gone is an empty walk. */
static int cg_walk(struct cg_walk *w, isc_error **err)
{
	int fd = open(w->top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "open %s", w->top);
	int r = walk_push(w, fd, ".", err);
	while (r == 0) {
		struct cg_level *l = &w->lv[w->depth - 1];
		if (l->next < l->n) {
			const char *name = l->names[l->next++];
			int child = open_sub(fd, name);
			if (child < 0 && errno == ENOENT)
				continue;
			if (child < 0) {
				r = walk_failed(w, errno, "open", name, w->depth, err);
				break;
			}
			isc_closep(&fd);
			fd = child;
			r = walk_push(w, fd, name, err);
			continue;
		}
		if (w->depth == 1)
			break;
		const struct cg_level *up = &w->lv[w->depth - 2];
		const char *name = up->names[up->next - 1];
		int parent = walk_up(w, fd);
		if (parent < 0) {
			r = walk_failed(w, errno, "go up from", name, w->depth - 1, err);
			break;
		}
		isc_closep(&fd);
		fd = parent;
		level_clear(&w->lv[--w->depth]);
		if (w->leave)
			r = w->leave(w, fd, name, err);
	}
	isc_closep(&fd);
	while (w->depth > 0)
		level_clear(&w->lv[--w->depth]);
	free(w->lv);
	w->lv = NULL;
	w->cap = 0;
	return r;
}

/* rmdir(2) of a group: EBUSY while its last processes leave (the kernel
 * removes them from the group some time after their death).  The group
 * itself by its path with rmdir(2), as the first attempt (group_remove):
 * one syscall for the step, whichever attempt, as a trace or an injected
 * failure sees it; sub-groups relative to their parent's fd. */
static int rmdir_retry_at(int parent, const char *name, uint64_t deadline)
{
	long delay = 200;
	for (;;) {
		int r = parent == AT_FDCWD ? rmdir(name) : unlinkat(parent, name, AT_REMOVEDIR);
		if (r == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || isc_now_ns() > deadline)
			return -errno;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = delay * 1000 };
		nanosleep(&ts, NULL);
		if (delay < 20000)
			delay *= 2;
	}
}

static int rmdir_retry(const char *dir, uint64_t deadline)
{
	return rmdir_retry_at(AT_FDCWD, dir, deadline);
}

static int remove_leave(struct cg_walk *w, int parent, const char *name, isc_error **err)
{
	int r = rmdir_retry_at(parent, name, *(const uint64_t *)w->arg);
	return r < 0 ? walk_failed(w, -r, "rmdir", name, w->depth, err) : 0;
}

/* Sub-groups the container made inside its group, deepest first. */
static int rmdir_children(const char *dir, uint64_t deadline, isc_error **err)
{
	struct cg_walk w = { .top = dir, .leave = remove_leave, .arg = &deadline };
	return cg_walk(&w, err);
}

/* Remove the leaf (and what the container made below it), then the
 * intermediates isc made, while they are empty. */
int isc_cgroup_group_remove(const struct isc_cgroup_group *g, uint64_t deadline, isc_error **err)
{
	if (g->made == 0)
		return 0;
	int r = rmdir(g->dir) == 0 || errno == ENOENT ? 0 : -errno;
	if (r < 0 && r != -EBUSY && r != -ENOTEMPTY)
		return isc_error_set(err, -r, "rmdir %s", g->dir);
	if (r < 0 && rmdir_children(g->dir, deadline, err) < 0) /* sub-groups, or processes leaving */
		return -1;
	if (r < 0)
		r = rmdir_retry(g->dir, deadline);
	if (r < 0)
		return isc_error_set(err, -r, "rmdir %s", g->dir);
	cleanup_free char *p = isc_xstrdup(g->dir);
	for (unsigned k = 1; k < g->made; k++) {
		char *slash = strrchr(p, '/');
		if (slash == NULL || slash == p)
			break;
		*slash = '\0';
		if (rmdir(p) < 0)
			break; /* ENOTEMPTY/EBUSY: another container uses it now */
	}
	return 0;
}

/* Undo a partial group_make: the directories made, deepest first. */

/* ---- processes ------------------------------------------------------- */

struct pidset {
	pid_t *v;
	size_t n, cap;
};

static int collect_enter(struct cg_walk *w, int fd, isc_error **err)
{
	struct pidset *s = w->arg;
	cleanup_free char *procs = NULL;
	cleanup_error isc_error *e = NULL;
	if (isc_read_file_at(fd, "cgroup.procs", &procs, NULL, 1u << 20, &e) < 0) {
		if (e->errnum == ENOENT || e->errnum == ENODEV)
			return 0; /* removed meanwhile: empty */
		return isc_error_set(err, e->errnum, "cgroup %s: read the processes of a sub-group at depth %zu",
				     w->top, w->depth - 1);
	}
	char *save = NULL;
	for (char *t = strtok_r(procs, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		uint64_t v;
		if (isc_parse_u64(t, &v) < 0 || v == 0 || v > INT32_MAX)
			continue;
		bool dup = false;
		for (size_t i = 0; i < s->n && !dup; i++)
			dup = s->v[i] == (pid_t)v;
		if (dup)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 16;
			pid_t *nv = realloc(s->v, s->cap * sizeof(*nv));
			if (nv == NULL)
				abort();
			s->v = nv;
		}
		s->v[s->n++] = (pid_t)v;
	}
	return 0;
}

/* The processes in `dir` and every group below it. */
static int collect(const char *dir, struct pidset *s, isc_error **err)
{
	struct cg_walk w = { .top = dir, .enter = collect_enter, .arg = s };
	return cg_walk(&w, err);
}

int isc_cgroup_pids(struct isc_cgroup *cg, pid_t **pids, size_t *n, isc_error **err)
{
	const struct isc_cgroup_group *t = isc_cgroup_tracker(cg);
	struct pidset s = { 0 };
	if (t == NULL)
		return isc_error_set(err, ENOENT, "the container has no tracking cgroup");
	if (collect(t->dir, &s, err) < 0) {
		free(s.v);
		return -1;
	}
	*pids = s.v;
	*n = s.n;
	return 0;
}

int isc_cgroup_group_freeze(const struct isc_cgroup_group *g, bool frozen, isc_error **err)
{
	return g->v2 ? isc_cgroup_v2_freeze(g->dir, frozen, err) : isc_cgroup_v1_freeze(g->dir, frozen, err);
}

bool isc_cgroup_group_frozen(const struct isc_cgroup_group *g)
{
	return g->v2 ? isc_cgroup_v2_is_frozen(g->dir) : isc_cgroup_v1_is_frozen(g->dir);
}

int isc_cgroup_freeze(struct isc_cgroup *cg, bool frozen, isc_error **err)
{
	const struct isc_cgroup_group *g = isc_cgroup_freezer(cg);
	if (g == NULL)
		return isc_error_set(err, ENOTSUP, "the container has no freezer cgroup");
	return isc_cgroup_group_freeze(g, frozen, err);
}

bool isc_cgroup_frozen(const struct isc_cgroup *cg)
{
	const struct isc_cgroup_group *g = isc_cgroup_freezer(cg);
	return g != NULL && isc_cgroup_group_frozen(g);
}

/* Frozen, no process can fork, so one pass over cgroup.procs reaches
 * everyone; the signal is delivered at thaw (v1 tasks even die only then). */
int isc_cgroup_kill_all(struct isc_cgroup *cg, int sig, isc_error **err)
{
	const struct isc_cgroup_group *v2 = isc_cgroup_find_v2(cg);
	if (sig == SIGKILL && v2 && isc_cgroup_has_file(v2->dir, "cgroup.kill")) {
		if (isc_cgroup_write(v2->dir, "cgroup.kill", "1", err) < 0)
			return -1;
		if (cg->mode == ISC_CGROUP_V2)
			return 0;
	}
	const struct isc_cgroup_group *f = isc_cgroup_freezer(cg);
	bool was_frozen = f && isc_cgroup_group_frozen(f);
	bool froze = false;
	if (f && !was_frozen) {
		cleanup_error isc_error *ignored = NULL;
		froze = isc_cgroup_group_freeze(f, true, &ignored) == 0;
	}
	pid_t *pids = NULL;
	size_t n = 0;
	int r = isc_cgroup_pids(cg, &pids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			r = isc_error_set(err, errno, "kill %d (signal %d)", (int)pids[i], sig);
	free(pids);
	if (froze || (was_frozen && sig == SIGKILL)) {
		cleanup_error isc_error *e = NULL;
		if (isc_cgroup_group_freeze(f, false, &e) < 0 && r == 0) {
			isc_error_move(err, &e);
			r = -1;
		}
	}
	return r;
}

/* Processes in the tracking group (every process of the container is in
 * it; one left in another group only makes that group's rmdir wait). */
static size_t count_procs(const struct isc_cgroup *cg)
{
	const struct isc_cgroup_group *t = isc_cgroup_tracker(cg);
	struct pidset s = { 0 };
	cleanup_error isc_error *e = NULL;
	if (t == NULL || collect(t->dir, &s, &e) < 0) {
		free(s.v);
		return 0;
	}
	free(s.v);
	return s.n;
}

int isc_cgroup_destroy(struct isc_cgroup *cg, isc_error **err)
{
	cleanup_error isc_error *first = NULL;
	uint64_t start = isc_now_ns(), deadline = start + 2000000000ull, last_kill = start;
	/* an empty group needs no freeze/kill/thaw round, nor a second look */
	bool busy = count_procs(cg) > 0;
	if (busy)
		(void)isc_cgroup_kill_all(cg, SIGKILL, &first);
	long delay = 200;
	while (busy && count_procs(cg) > 0) {
		uint64_t now = isc_now_ns();
		if (now > deadline) {
			if (first == NULL)
				isc_error_set(&first, EBUSY, "cgroup %s: processes left after SIGKILL and 2 s",
					      isc_cgroup_tracker(cg) ? isc_cgroup_tracker(cg)->dir : "?");
			break;
		}
		if (now - last_kill > 100000000ull) { /* new forks, or a thaw that raced */
			cleanup_error isc_error *ignored = NULL;
			(void)isc_cgroup_kill_all(cg, SIGKILL, &ignored);
			last_kill = now;
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = delay * 1000 };
		nanosleep(&ts, NULL);
		if (delay < 20000)
			delay *= 2;
	}
	deadline = isc_now_ns() + 2000000000ull;
	int r = 0;
	for (size_t i = cg->n; i-- > 0;) {
		cleanup_error isc_error *e = NULL;
		if (isc_cgroup_group_remove(&cg->g[i], deadline, &e) < 0 && r == 0) {
			r = -1;
			if (first == NULL)
				isc_error_move(&first, &e);
		}
	}
	if (r < 0) {
		isc_error_move(err, &first);
		return -1;
	}
	return 0;
}
