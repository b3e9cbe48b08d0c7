/* SPDX-License-Identifier: GPL-2.0-or-later
 * Service operations (iscd's supervisor).
 *
 * Design
 * ------
 * The service ops of the control socket: run (a new service: its folder,
 * id range, audit id, persist/, service.json, the FIFOs, then a start),
 * ps, inspect, start, rm (refused for a running service without force; a
 * SIGKILL and the end with it; persist/ kept unless purge; the id range,
 * the audit id and the address freed).  run, start and rm are journalled
 * (status.c) before their first step; each step that made something is
 * undone when a later one fails.  --rm: a service that ended for good
 * (exit.c) is removed here, from the loop, as rm does (persist/ kept);
 * an attached run holds it until its client has read the output and
 * sends the rm itself (or "release" when it lets go).
 */
#include "iscd/supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "audit/audit-id.h" /* ISC_IDRANGE_FIRST, ISC_IDRANGE_END */
#include "audit/collector.h"
#include "base/util.h"
#include "host/idmap.h"
#include "image/image.h"
#include "iscd/protocol.h"
#include "net/net.h"
#include "plan/plan.h"

void svc_unlink(struct isc_supervisor *sv, struct svc *s)
{
	for (struct svc **sp = &sv->svcs; *sp; sp = &(*sp)->next)
		if (*sp == s) {
			*sp = s->next;
			break;
		}
	sv_epoll_del(sv, s->out.fd);
	sv_epoll_del(sv, s->errs.fd);
	svc_close_pidfd(sv, s);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path, isc_error **err)
{
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return isc_error_set(err, errno, "remove %s", path);
	return 0;
}

/* Remove R/containers/NAME except persist/ (kept unless purge).  The
 * volumes' binds go first: a removal never walks into a source. */
static int svc_remove_files(struct svc *s, bool purge, isc_error **err)
{
	if (svc_volumes_release(s, err) < 0)
		return isc_error_wrap(err, "refusing to remove %s", s->dir);
	if (purge)
		return rm_rf(s->dir, err);
	DIR *d = opendir(s->dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "open %s", s->dir);
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || strcmp(de->d_name, "persist") == 0)
			continue;
		cleanup_free char *p = svc_path(s, de->d_name);
		if (strcmp(de->d_name, "rootfs") == 0)
			(void)umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW); /* never recurse into a mounted image */
		if (rm_rf(p, err) < 0)
			ret = -1;
	}
	closedir(d);
	return ret;
}

/* A kept persist/ (from an earlier service of the name) whose id range
 * changed: the ids inside the old range move to the new one, offset for
 * offset; every other id stays.  No setuid or setgid bit survives the
 * move (what a service made in its namespace must not become a program
 * of the new owner's; lchown clears them on executables only). */
static uint32_t chown_old_base, chown_new_base;
static uint32_t shift_id(uint32_t id)
{
	return id >= chown_old_base && id - chown_old_base < ISC_IDRANGE_SIZE ? id - chown_old_base + chown_new_base
									      : id;
}

static int chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag, (void)ftw;
	if (lchown(path, shift_id(st->st_uid), shift_id(st->st_gid)) < 0)
		return -1;
	if (!S_ISLNK(st->st_mode) && (st->st_mode & 06000) && chmod(path, st->st_mode & 01777) < 0)
		return -1;
	return 0;
}

/* The range an id lies in: the ranges are aligned slots (idrange), so the
 * owner of persist/ (the service's user, whatever its offset) names it;
 * below them: the host's own ids (--userns host, base 0). */
static uint32_t range_of(uint32_t id)
{
	if (id >= ISC_IDRANGE_FIRST && id < ISC_IDRANGE_END)
		return id - (id - ISC_IDRANGE_FIRST) % ISC_IDRANGE_SIZE;
	return 0;
}

/* persist/: new, it belongs to the service's user (mapped), 0700; kept,
 * nothing in it changes owner unless the id range did (see shift_id). */
static int persist_prepare(struct svc *s, isc_error **err)
{
	cleanup_free char *p = svc_path(s, "persist");
	uint32_t uid, gid;
	if (isc_plan_service_ids(&s->plan, s->image_config, &uid, &gid, err) < 0)
		return -1;
	if (mkdir(p, 0700) == 0) {
		if (chown(p, s->uid_base + uid, s->uid_base + gid) < 0 || chmod(p, 0700) < 0)
			return isc_error_set(err, errno, "chown %s to the service's user", p);
		return 0;
	}
	if (errno != EEXIST)
		return isc_error_set(err, errno, "mkdir %s", p);
	struct stat st;
	if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		return isc_error_set(err, errno ?: ENOTDIR, "%s", p);
	chown_old_base = range_of(st.st_uid);
	chown_new_base = s->uid_base;
	if (chown_old_base == chown_new_base)
		return 0;
	/* into the host's own ids (--userns host): the service's root would
	 * become host root, its users host users */
	if (chown_new_base == 0)
		return isc_error_set(
			err, EPERM,
			"the kept /persist of %s was made in a user namespace (ids from %u): with --userns host "
			"its files would belong to the host's own users; remove it first (isc rm --purge %s) "
			"or run %s without --userns host",
			s->name, chown_old_base, s->name, s->name);
	if (nftw(p, chown_entry, 16, FTW_PHYS | FTW_MOUNT) < 0)
		return isc_error_set(err, errno, "chown %s to the service's ids", p);
	return 0;
}

json_t *svc_summary(const struct svc *s)
{
	json_t *st = svc_status_json(s);
	json_object_set_new(st, "name", json_string(s->name));
	json_object_set_new(st, "image", json_string(s->plan.image));
	json_object_set_new(st, "image_id", json_string(s->image_id));
	json_object_set_new(st, "id", json_string(s->id));
	json_object_set_new(st, "created", s->created ? json_string(s->created) : json_null());
	json_t *plan = isc_plan_to_json(&s->plan);
	json_object_set(st, "ports", json_object_get(plan, "ports") ?: json_null());
	json_decref(plan);
	return st;
}

/* --user with names: numbers from the image (user.c), kept in the plan. */
static int run_user(const struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	if (s->plan.user == NULL)
		return 0;
	cleanup_free char *rootfs = isc_xasprintf("%s/images/sha256/%s/rootfs", sv->root, s->image_id);
	cleanup_close int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", rootfs);
	char *numeric;
	if (isc_plan_user_resolve(fd, s->plan.user, &numeric, err) < 0)
		return -1;
	free(s->plan.user);
	s->plan.user = numeric;
	return 0;
}

/* run: the new service from the request's plan, not made yet (its name
 * free, its image resolved, its volumes' sources checked and identified). */
static struct svc *run_plan(struct isc_supervisor *sv, json_t *req, isc_error **err)
{
	struct isc_plan plan;
	memset(&plan, 0, sizeof(plan));
	if (isc_plan_from_json(json_object_get(req, "plan"), &plan, err) < 0)
		return NULL;
	char id[65];
	json_t *image_config = NULL;
	if (svc_find(sv, plan.name) != NULL) {
		isc_error_set(err, EEXIST, "the name %s is taken (isc rm %s first)", plan.name, plan.name);
		isc_plan_clear(&plan);
		return NULL;
	}
	if (isc_image_resolve(sv->root, plan.image, id, err) < 0 ||
	    isc_image_config(sv->root, plan.image, &image_config, err) < 0) {
		isc_plan_clear(&plan);
		return NULL;
	}
	struct svc *s = svc_new(sv, plan.name);
	s->plan = plan;
	s->image_config = image_config;
	memcpy(s->image_id, id, sizeof(id));
	if (run_user(sv, s, err) < 0) {
		svc_free(s);
		return NULL;
	}
	cleanup_free char *svcjson = svc_path(s, "service.json");
	if (access(svcjson, F_OK) == 0) {
		isc_error_set(err, EEXIST, "the name %s is taken (%s exists)", s->name, svcjson);
		svc_free(s);
		return NULL;
	}
	/* the volumes' sources: no symbolic link, nothing a service can write
	 * above them, and their identities (checked at every start) */
	if (svc_volumes_check_targets(sv, s, err) < 0 || svc_volumes_record(sv, s, err) < 0) {
		svc_free(s);
		return NULL;
	}
	return s;
}

/* What a run made before its start, for its undoing. */
struct run_made {
	bool dir, range, audit;
};

/* The service's folder (0711: iscd runs with umask 077, and the
 * container's root, uid_base, must pass through to its bundle while the
 * runtime sets it up). */
static int run_dir(struct isc_supervisor *sv, struct svc *s, struct run_made *m, isc_error **err)
{
	if (isc_mkdir_p(sv->containers, 0711, err) < 0)
		return -1;
	if (mkdir(s->dir, 0711) == 0)
		m->dir = true;
	else if (errno != EEXIST)
		return isc_error_set(err, errno, "mkdir %s", s->dir);
	if (chmod(sv->containers, 0711) < 0 || chmod(s->dir, 0711) < 0)
		return isc_error_set(err, errno, "chmod %s", s->dir);
	sv_test_point("run:dir");
	return 0;
}

/* Everything of a new service but its start: the folder, the id range, the
 * audit id (org.isc.audit.id, on a host with an audit trail), logs/,
 * persist/, service.json, the FIFOs. */
static int run_make(struct isc_supervisor *sv, struct svc *s, struct run_made *m, isc_error **err)
{
	if (run_dir(sv, s, m, err) < 0)
		return -1;
	if (!s->plan.userns_host) {
		if (isc_idrange_alloc(sv->root, s->name, &s->uid_base, err) < 0)
			return -1;
		m->range = true;
	}
	if (sv_host_has_audit(sv->root)) {
		if (isc_audit_id_assign(sv->root, s->name, &s->audit_id, err) < 0)
			return -1;
		m->audit = true;
	}
	cleanup_free char *logs = svc_path(s, "logs");
	if (isc_mkdir_p(logs, 0700, err) < 0 || persist_prepare(s, err) < 0 || svc_save_service(s, err) < 0)
		return -1;
	sv_test_point("run:service");
	return svc_open_fifos(sv, s, err);
}

/* Leave nothing of a failed run: the folder it made (a kept persist/
 * stays), never walking into a volume's source; the ids. */
static void run_undo(struct isc_supervisor *sv, struct svc *s, const struct run_made *m)
{
	sv_epoll_del(sv, s->out.fd);
	sv_epoll_del(sv, s->errs.fd);
	isc_error *e2 = NULL;
	if (svc_volumes_release(s, &e2) < 0)
		isc_error_free(&e2);
	else if (m->dir ? rm_rf(s->dir, &e2) < 0 : svc_remove_files(s, false, &e2) < 0)
		isc_error_free(&e2);
	if (m->range && isc_idrange_free(sv->root, s->name, &e2) < 0)
		isc_error_free(&e2);
	if (m->audit && isc_audit_id_release(sv->root, s->name, &e2) < 0)
		isc_error_free(&e2);
}

int sv_op_run(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err)
{
	struct svc *s = run_plan(sv, req, err);
	if (s == NULL)
		return -1;
	/* before anything is made: whether the folder is new (a kept persist/
	 * of an earlier service of the name is not this run's to remove) */
	if (sv_journal_begin(sv, s->name, "run", json_pack("{s:b}", "new_dir", access(s->dir, F_OK) != 0), err) < 0) {
		svc_free(s);
		return -1;
	}
	struct run_made made = { 0 };
	s->desired_running = true;
	s->rm_hold = s->plan.rm && json_is_true(json_object_get(req, "attach"));
	if (run_make(sv, s, &made, err) < 0 || svc_start(sv, s, err) < 0) {
		run_undo(sv, s, &made);
		sv_journal_end(sv, s->name);
		svc_free(s);
		return -1;
	}
	s->next = sv->svcs;
	sv->svcs = s;
	sv_journal_end(sv, s->name);
	isc_sv_log(LOG_INFO, "%s: created from image %s (%.12s), uid base %u", s->name, s->plan.image, s->image_id,
		   s->uid_base);
	*reply = isc_ctl_ok_reply(svc_summary(s));
	return 0;
}

int sv_op_ps(struct isc_supervisor *sv, json_t **reply)
{
	json_t *a = json_array();
	for (struct svc *s = sv->svcs; s; s = s->next)
		json_array_append_new(a, svc_summary(s));
	*reply = isc_ctl_ok_reply(json_pack("{s:o}", "services", a));
	return 0;
}

int sv_op_inspect(struct isc_supervisor *sv, struct svc *s, json_t **reply)
{
	cleanup_free char *cfgpath = svc_path(s, "bundle/config.json");
	json_t *cfg = json_load_file(cfgpath, 0, NULL);
	json_t *j = json_pack("{s:s, s:o, s:s, s:I, s:s, s:o, s:o}", "name", s->name, "plan",
			      isc_plan_to_json(&s->plan), "image_id", s->image_id, "uid_base", (json_int_t)s->uid_base,
			      "userns", s->plan.userns_host ? "host" : "auto", "config", cfg ? cfg : json_null(),
			      "status", svc_status_json(s));
	json_object_set_new(j, "dir", json_string(s->dir));
	json_object_set_new(j, "id", json_string(s->id));
	json_object_set_new(j, "created", s->created ? json_string(s->created) : json_null());
	*reply = isc_ctl_ok_reply(j);
	return 0;
}

int sv_op_start(struct isc_supervisor *sv, struct svc *s, json_t **reply, isc_error **err)
{
	if (s->state == SVC_RUNNING)
		return isc_error_set(err, EALREADY, "service %s is running", s->name);
	if (sv_journal_begin(sv, s->name, "start", NULL, err) < 0)
		return -1;
	s->desired_running = true;
	s->backoff_ms = 0;
	s->restart_at_ns = 0;
	int r = svc_start(sv, s, err);
	sv_journal_end(sv, s->name);
	if (r < 0) {
		s->desired_running = false;
		s->state = SVC_STOPPED;
		svc_save_status(s);
		return -1;
	}
	*reply = isc_ctl_ok_reply(svc_summary(s));
	return 0;
}

int sv_op_rm(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err)
{
	bool force = json_is_true(json_object_get(req, "force"));
	bool purge = json_is_true(json_object_get(req, "purge"));
	if (s->state == SVC_RUNNING && !force)
		return isc_error_set(err, EBUSY, "service %s is running (isc stop %s, or isc rm -f)", s->name, s->name);
	sv_journal_begin_or_log(sv, s->name, "rm", json_pack("{s:b}", "purge", purge));
	s->removing = true;
	svc_kill_now(sv, s);
	s->removing = false;
	if (s->state == SVC_RUNNING) {
		sv_journal_end(sv, s->name);
		return isc_error_set(err, EBUSY, "service %s did not stop", s->name);
	}
	sv_test_point("rm:killed");
	svc_unlink(sv, s);
	int r = svc_rm_finish(sv, s, purge, err);
	sv_waiters_notify(sv, s, true);
	svc_free(s);
	if (r < 0)
		return -1;
	*reply = isc_ctl_ok_reply(NULL);
	return 0;
}

void sv_rm_due(struct isc_supervisor *sv)
{
	for (;;) {
		struct svc *s = sv->svcs;
		while (s != NULL && !(s->rm_due && s->state == SVC_STOPPED))
			s = s->next;
		if (s == NULL)
			return;
		sv_journal_begin_or_log(sv, s->name, "rm", json_pack("{s:b}", "purge", false));
		svc_unlink(sv, s);
		isc_error *e = NULL;
		if (svc_rm_finish(sv, s, false, &e) < 0)
			svc_log_error(s, &e);
		isc_sv_log(LOG_INFO, "%s: removed at its end (--rm)", s->name);
		sv_waiters_notify(sv, s, true);
		svc_free(s);
	}
}

int sv_op_release(struct isc_supervisor *sv, struct svc *s, json_t **reply)
{
	(void)sv;
	s->rm_hold = false;
	if (s->plan.rm && s->state == SVC_STOPPED && s->exits > 0)
		s->rm_due = true;
	*reply = isc_ctl_ok_reply(NULL);
	return 0;
}

/* The end of an rm, once nothing runs (s is off the list): teardown, the
 * address, the id range, the audit id, the files; the journal entry goes. */
int svc_rm_finish(struct isc_supervisor *sv, struct svc *s, bool purge, isc_error **err)
{
	svc_teardown(sv, s, false);
	sv_test_point("rm:teardown");
	if (sv->network) {
		isc_error *e2 = NULL;
		if (isc_net_container_down(sv->root, s->name, false, &e2) < 0) /* release the address */
			isc_error_free(&e2);
	}
	if (!s->plan.userns_host && isc_idrange_free(sv->root, s->name, err) < 0)
		svc_log_error(s, err);
	if ((s->audit_id != 0 || sv_host_has_audit(sv->root)) && isc_audit_id_release(sv->root, s->name, err) < 0)
		svc_log_error(s, err);
	int r = svc_remove_files(s, purge, err);
	isc_sv_log(LOG_INFO, "%s: removed%s", s->name, purge ? " (persist purged)" : "");
	if (r == 0)
		sv_journal_end(sv, s->name);
	return r;
}
