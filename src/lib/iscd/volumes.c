/* SPDX-License-Identifier: GPL-2.0-or-later
 * Volume sources (iscd's supervisor).
 *
 * Design
 * ------
 * The volumes' sources (plan/volume.h).  At `isc run` every source is
 * opened without a symbolic link, checked against everything a service can
 * write (the state root, every writable volume of every service), and its
 * identity (dev, inode of each directory on the way) recorded in the plan.
 * At every start each source is opened again, compared with that identity
 * and bound from the opened fd under R/containers/NAME/volumes/N: the
 * runtime gets those binds, never the paths.  The binds go at the teardown
 * and before any removal (a removal never walks into a source).
 */
#include "iscd/supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "base/util.h"
#include "plan/plan.h"
#include "plan/volume.h"

/* R/containers/NAME/volumes/N: where volume N's opened source is bound for
 * the runtime (root's only: nothing a service can write is on the way). */
static char *volume_stage_path(const struct svc *s, size_t i)
{
	return isc_xasprintf("%s/volumes/%zu", s->dir, i);
}

static void volume_last(const struct isc_volume_path *p, uint64_t *dev, uint64_t *ino)
{
	*dev = p->steps[p->n_steps - 1].dev;
	*ino = p->steps[p->n_steps - 1].ino;
}

/* A new volume `v` of service `s` (opened as `vp`) against one volume `u` of
 * service `t`: refused when one of them could replace the other's source. */
static int volume_check_pair(const struct svc *s, const struct isc_volume *v, const struct isc_volume_path *vp,
			     const struct svc *t, const struct isc_volume *u, isc_error **err)
{
	struct isc_volume_path up = { .fd = -1 };
	isc_error *ignored = NULL;
	if (isc_volume_open("-v", u->src, false, &up, &ignored) < 0) {
		isc_error_free(&ignored); /* gone: its own start refuses it */
		return 0;
	}
	uint64_t udev, uino, vdev, vino;
	volume_last(&up, &udev, &uino);
	volume_last(vp, &vdev, &vino);
	int ret = 0;
	if (!u->ro && isc_volume_path_has(vp, udev, uino, false))
		ret = isc_error_set(err, 0,
				    "-v %s: the source is inside %s, which service %s can write (its volume %s:%s): "
				    "it could replace the source between two starts; choose a source outside every "
				    "path a service can write",
				    v->src, u->src, t->name, u->src, u->dst);
	else if (!v->ro && isc_volume_path_has(&up, vdev, vino, false))
		ret = isc_error_set(err, 0,
				    "-v %s:%s: service %s could write %s, a parent of %s, the source of a volume of "
				    "service %s: it could replace that source; mount it read-only (:ro) or choose a "
				    "source that holds no other volume's source",
				    v->src, v->dst, s->name, v->src, u->src, t->name);
	isc_volume_path_clear(&up);
	return ret;
}

/* `isc run`: a volume source may not lie inside anything a service can
 * write (the state root with every service's folder and /persist, every
 * writable volume), and a writable volume may not hold another volume's
 * source or the state root.  Compared by (dev, inode) of every directory
 * on the way, so a second path to the same place (a bind mount) is no way
 * around it. */
static int volume_check_writers(struct isc_supervisor *sv, const struct svc *s, size_t vi,
				const struct isc_volume_path *vp, isc_error **err)
{
	const struct isc_volume *v = &s->plan.volumes[vi];
	char real[PATH_MAX];
	if (realpath(sv->root, real) == NULL)
		return isc_error_set(err, errno, "the state root %s", sv->root);
	struct isc_volume_path rp = { .fd = -1 };
	if (isc_volume_open("the state root", real, false, &rp, err) < 0)
		return -1;
	uint64_t rdev, rino, vdev, vino;
	volume_last(&rp, &rdev, &rino);
	volume_last(vp, &vdev, &vino);
	bool inside = isc_volume_path_has(vp, rdev, rino, true);
	bool holds = !v->ro && isc_volume_path_has(&rp, vdev, vino, true);
	isc_volume_path_clear(&rp);
	if (inside)
		return isc_error_set(err, 0,
				     "-v %s: the source is inside the state root %s, which holds every service's "
				     "folder and /persist: choose a source outside it",
				     v->src, sv->root);
	if (holds)
		return isc_error_set(err, 0,
				     "-v %s:%s: the source holds the state root %s: service %s could write every "
				     "service's folder; mount it read-only (:ro) or choose another source",
				     v->src, v->dst, sv->root, s->name);
	for (size_t k = 0; k < s->plan.n_volumes; k++)
		if (k != vi && volume_check_pair(s, v, vp, s, &s->plan.volumes[k], err) < 0)
			return -1;
	for (const struct svc *t = sv->svcs; t; t = t->next)
		for (size_t k = 0; k < t->plan.n_volumes; k++)
			if (t != s && volume_check_pair(s, v, vp, t, &t->plan.volumes[k], err) < 0)
				return -1;
	return 0;
}

/* `isc run`: every source opened without a symbolic link, checked against
 * the writers, and its identity recorded in the plan (service.json). */
int svc_volumes_record(struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	for (size_t i = 0; i < s->plan.n_volumes; i++) {
		struct isc_volume *v = &s->plan.volumes[i];
		struct isc_volume_path vp = { .fd = -1 };
		cleanup_free char *what = isc_xasprintf("-v %s", v->src);
		if (isc_volume_open(what, v->src, false, &vp, err) < 0)
			return -1;
		int r = volume_check_writers(sv, s, i, &vp, err);
		if (r == 0 && isc_volume_identify(vp.fd, &v->id, err) < 0)
			r = isc_error_wrap(err, "%s", what);
		isc_volume_path_clear(&vp);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Every -v and --tmpfs destination resolved through the image's symbolic
 * links: none may land in a reserved place (/data -> /persist in the
 * image). */
int svc_volumes_check_targets(const struct isc_supervisor *sv, const struct svc *s, isc_error **err)
{
	if (s->plan.n_volumes == 0 && s->plan.tmpfs == NULL && s->plan.workdir == NULL)
		return 0;
	cleanup_free char *rootfs = isc_xasprintf("%s/images/sha256/%s/rootfs", sv->root, s->image_id);
	cleanup_close int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", rootfs);
	return isc_plan_check_volume_targets(&s->plan, fd, err);
}

/* Unbind every staged source of s and remove R/containers/NAME/volumes;
 * never descends into a source (rmdir/unlink only). */
int svc_volumes_release(const struct svc *s, isc_error **err)
{
	cleanup_free char *dir = svc_path(s, "volumes");
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "open %s", dir);
	int ret = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		cleanup_free char *at = isc_xasprintf("%s/%s", dir, de->d_name);
		if (ret == 0 && isc_volume_unstage(at, err) < 0)
			ret = -1;
	}
	closedir(d);
	if (ret == 0 && rmdir(dir) < 0 && errno != ENOENT)
		ret = isc_error_set(err, errno, "remove %s", dir);
	return ret;
}

/* One volume at start: opened as at `isc run`, the same object through the
 * same mount, bound for the runtime.  *changed when its recorded identity
 * was (re)written: a plan from before identities, or a new boot. */
static int volume_stage_one(struct svc *s, size_t i, char **at_out, bool *changed, isc_error **err)
{
	struct isc_volume *v = &s->plan.volumes[i];
	struct isc_volume_path vp = { .fd = -1 };
	struct isc_volume_id now;
	cleanup_free char *what = isc_xasprintf("volume %s -> %s", v->src, v->dst);
	if (isc_volume_open(what, v->src, true, &vp, err) < 0)
		return -1;
	int r = isc_volume_identify(vp.fd, &now, err);
	if (r < 0)
		isc_error_wrap(err, "%s", what);
	bool refresh = false;
	if (r == 0 && !v->id.set) {
		isc_sv_log(LOG_NOTICE,
			   "%s: volume %s: no identity recorded (a service from before they were): "
			   "recording this one",
			   s->name, v->src);
		refresh = true;
	} else if (r == 0) {
		r = isc_volume_id_check(&v->id, &now, v->src, v->dst, &refresh, err);
	}
	cleanup_free char *at = volume_stage_path(s, i);
	if (r == 0)
		r = isc_volume_stage(vp.fd, vp.mode, v->ro, at, err);
	isc_volume_path_clear(&vp);
	if (r < 0)
		return -1;
	if (refresh) {
		v->id = now;
		*changed = true;
	}
	*at_out = steal_pointer(&at);
	return 0;
}

/* Start: every volume staged (sources[i] its staged path), or none. */
int svc_volumes_stage(struct svc *s, char ***sources, isc_error **err)
{
	*sources = NULL;
	if (s->plan.n_volumes == 0)
		return 0;
	cleanup_free char *dir = svc_path(s, "volumes");
	/* the runtime, as the container's root, passes through to its binds */
	if (isc_mkdir_p(dir, 0711, err) < 0)
		return -1;
	if (chmod(dir, 0711) < 0)
		return isc_error_set(err, errno, "chmod %s", dir);
	char **v = isc_xmalloc0((s->plan.n_volumes + 1) * sizeof(char *));
	bool changed = false;
	int r = 0;
	for (size_t i = 0; i < s->plan.n_volumes && r == 0; i++)
		r = volume_stage_one(s, i, &v[i], &changed, err);
	if (r == 0 && changed)
		r = svc_save_plan(s, err);
	if (r < 0) {
		isc_strvfree(v);
		isc_error *e2 = NULL;
		if (svc_volumes_release(s, &e2) < 0)
			isc_error_free(&e2);
		return -1;
	}
	*sources = v;
	return 0;
}
