/* SPDX-License-Identifier: GPL-2.0-or-later
 * Start and teardown (iscd's supervisor).
 *
 * Design
 * ------
 * A start (svc_start) and its undoing (svc_teardown).  The phases, each
 * recorded in `undo` when it made something: the image check (refused when
 * its last full verification failed), the audit id, the volume targets and
 * binds (volumes.c), the rootfs (an idmapped view of the image, unless
 * --userns host), the network (only on a host with one), the generated
 * /etc files, the bundle config, then a forked starter (sv_run_in_child:
 * stdin /dev/null, stdout/stderr the FIFOs, create + start), the init's
 * pidfd from the runtime state, the exposed ports.  A failed phase undoes
 * the earlier ones in reverse (start_undo).  The runtime library runs in
 * forked children only: it may change the process (mounts, signal
 * dispositions, exit paths); its error text comes back through a pipe and
 * the child dies with iscd (PR_SET_PDEATHSIG).
 */
#include "iscd/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "audit/collector.h"
#include "base/util.h"
#include "host/idmap.h"
#include "image/image.h"
#include "net/net.h"
#include "plan/plan.h"
#include "runtime/container.h"
#include "runtime/state.h"

int sv_run_in_child(struct isc_supervisor *sv, struct svc *s, child_fn fn, void *arg, const char *what, isc_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return isc_error_set(err, errno, "%s: pipe", what);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]), close(p[1]);
		return isc_error_set(err, e, "%s: fork", what);
	}
	if (pid == 0) {
		close(p[0]);
		/* no helper goes on behind the next iscd's back */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1)
			_exit(1);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		isc_error *e = NULL;
		if (fn(sv, s, arg, &e) < 0) {
			char buf[2048];
			int errnum = e ? e->errnum : 0;
			const char *msg = e && e->msg ? e->msg : "failed";
			int n = snprintf(buf, sizeof(buf), "%d %s", errnum, msg);
			(void)isc_write_all(p[1], buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1));
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	char buf[2049];
	ssize_t n = isc_read_all(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n > 0) {
		buf[n] = '\0';
		char *sp = strchr(buf, ' ');
		int errnum = atoi(buf);
		return isc_error_set(err, errnum, "%s: %s", what, sp ? sp + 1 : buf);
	}
	return isc_error_set(err, 0, "%s: the helper failed (status 0x%x)", what, (unsigned)status);
}

static int child_delete(struct isc_supervisor *sv, struct svc *s, void *arg, isc_error **err)
{
	struct isc_context ctx = sv_runtime_ctx(sv);
	if (!isc_state_exists(ctx.root, s->name))
		return 0;
	return isc_container_delete(&ctx, s->name, true, err);
}

static int child_starter(struct isc_supervisor *sv, struct svc *s, void *arg, isc_error **err)
{
	/* The container's stdio: nothing to read, and the two FIFOs that iscd
	 * reads.  O_RDWR: a write never gets EPIPE, even while no iscd runs. */
	cleanup_free char *out = svc_path(s, "logs/stdout.fifo");
	cleanup_free char *errp = svc_path(s, "logs/stderr.fifo");
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int o = open(out, O_RDWR | O_CLOEXEC);
	int e = open(errp, O_RDWR | O_CLOEXEC);
	if (nul < 0 || o < 0 || e < 0)
		return isc_error_set(err, errno, "starter: open the stdio of %s", s->name);
	(void)fcntl(o, F_SETPIPE_SZ, FIFO_SIZE);
	(void)fcntl(e, F_SETPIPE_SZ, FIFO_SIZE);
	if (dup2(nul, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		return isc_error_set(err, errno, "starter: dup2");
	cleanup_free char *bundle = svc_path(s, "bundle");
	struct isc_context ctx = sv_runtime_ctx(sv);
	struct isc_create_opts opts = { .id = s->name, .bundle = bundle };
	if (isc_container_create(&ctx, &opts, err) < 0)
		return -1;
	if (isc_container_start(&ctx, s->name, err) < 0) {
		isc_error *ignored = NULL;
		isc_container_delete(&ctx, s->name, true, &ignored);
		isc_error_free(&ignored);
		return -1;
	}
	return 0;
}

/* Everything a start made, in reverse; what is not there is skipped. */
void svc_teardown(struct isc_supervisor *sv, struct svc *s, bool keep_addr)
{
	isc_error *err = NULL;
	if (sv_run_in_child(sv, s, child_delete, NULL, "delete", &err) < 0)
		svc_log_error(s, &err);
	if (s->rootfs_mount != NULL) {
		if (isc_idmap_umount(s->rootfs_mount, &err) < 0)
			svc_log_error(s, &err);
		free(s->rootfs_mount);
		s->rootfs_mount = NULL;
	}
	if (svc_volumes_release(s, &err) < 0)
		svc_log_error(s, &err);
	if (s->net_up) {
		for (size_t i = 0; i < s->plan.n_ports; i++)
			if (isc_net_unexpose(sv->root, s->name, &s->plan.ports[i], &err) < 0)
				isc_error_free(&err);
		if (isc_net_container_down(sv->root, s->name, keep_addr, &err) < 0) {
			if (err->errnum == ENOENT) /* a start killed before its network */
				isc_error_free(&err);
			else
				svc_log_error(s, &err);
		}
		s->net_up = false;
	}
}

bool sv_host_has_network(const char *root)
{
	cleanup_free char *path = isc_xasprintf("%s/host.json", root);
	json_t *j = json_load_file(path, 0, NULL);
	json_t *n = j ? json_object_get(j, "network") : NULL;
	bool yes = n != NULL && !json_is_null(n) && !json_is_false(n);
	json_decref(j);
	return yes;
}

/* A host registered with the audit collector has R/audit/range.json
 * (isc init); its services get an audit id each. */
bool sv_host_has_audit(const char *root)
{
	cleanup_free char *path = isc_xasprintf("%s/audit/range.json", root);
	return access(path, F_OK) == 0;
}

/* Refuse an image whose last full verification failed (loudly). */
static int image_check_verified(const char *root, const char *id, isc_error **err)
{
	struct isc_image_info *list = NULL;
	size_t n = 0;
	if (isc_image_list(root, &list, &n, err) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++)
		if (strcmp(list[i].id, id) == 0 && list[i].verified != 0 && !list[i].verify_ok)
			ret = isc_error_set(err, 0,
					    "refusing to start from image %s (%.12s): its last verification failed: %s",
					    list[i].name, id, list[i].verify_error ? list[i].verify_error : "?");
	for (size_t i = 0; i < n; i++)
		isc_image_info_clear(&list[i]);
	free(list);
	return ret;
}

int sv_pidfd_open(pid_t pid, uint64_t start_time)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	/* the pid may have been reused between reading it and pidfd_open */
	if (start_time == 0 || isc_proc_start_time(pid) != start_time) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}

/* The service's audit id, the one it has unless its host's block of ids
 * moved (a block from before the container range did, audit-id.h). */
static int audit_id_current(struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	if (s->audit_id == 0 || !sv_host_has_audit(sv->root))
		return 0;
	uint32_t id;
	if (isc_audit_id_assign(sv->root, s->name, &id, err) < 0)
		return -1;
	if (id == s->audit_id)
		return 0;
	isc_sv_log(LOG_NOTICE, "%s: audit id %u is outside the host's range: now %u", s->name, s->audit_id, id);
	s->audit_id = id;
	return svc_save_plan(s, err);
}

enum { UNDO_MOUNT = 1, UNDO_NET = 2, UNDO_RUNTIME = 4, UNDO_VOLUMES = 8 };

/* One start between its phases: what it made (undo) and what it holds. */
struct start {
	struct isc_supervisor *sv;
	struct svc *s;
	unsigned undo;
	char *store_rootfs; /* R/images/sha256/ID/rootfs */
	const char *rootfs; /* the bundle's root: store_rootfs or the idmapped view */
	struct isc_net_container net;
	char **volume_sources; /* the staged binds (volumes.c) */
};

/* The image's check, the audit id, the volumes' targets and sources: the
 * volumes' sources are the objects recorded at `isc run`, bound from their
 * opened fds; the runtime gets those binds, never the paths. */
static int start_checks_volumes(struct start *st, isc_error **err)
{
	struct isc_supervisor *sv = st->sv;
	struct svc *s = st->s;
	if (image_check_verified(sv->root, s->image_id, err) < 0)
		return -1;
	if (audit_id_current(sv, s, err) < 0 || svc_volumes_check_targets(sv, s, err) < 0)
		return -1;
	if (svc_volumes_stage(s, &st->volume_sources, err) < 0)
		return -1;
	st->undo |= UNDO_VOLUMES;
	return 0;
}

/* The image, read-only.  In a user namespace: an idmapped view (on-disk
 * 0 -> uid_base) at R/containers/NAME/rootfs; the mount point's mode under
 * umask 077 hides nothing: the mounted root directory has the image's own
 * mode, and the runtime checks the image (org.isc.image.root with
 * org.isc.image.store: this mount shows that store's image).  --userns
 * host: the store's rootfs itself, made read-only by the runtime
 * (root.readonly). */
static int start_rootfs(struct start *st, isc_error **err)
{
	struct svc *s = st->s;
	st->rootfs = st->store_rootfs;
	if (s->plan.userns_host)
		return 0;
	cleanup_free char *mnt = svc_path(s, "rootfs");
	if (isc_idmap_mount(st->store_rootfs, mnt, s->uid_base, s->uid_base, ISC_IDRANGE_SIZE, true, err) < 0)
		return -1;
	s->rootfs_mount = steal_pointer(&mnt);
	st->rootfs = s->rootfs_mount;
	st->undo |= UNDO_MOUNT;
	sv_test_point("start:mount");
	return 0;
}

/* The network exists only on a host initialised with one; never touch the
 * namespace iscd runs in otherwise. */
static int start_net(struct start *st, isc_error **err)
{
	if (!st->sv->network)
		return 0;
	if (isc_net_container_up(st->sv->root, st->s->name, &st->net, err) < 0)
		return -1;
	st->s->net_up = true;
	st->undo |= UNDO_NET;
	sv_test_point("start:net");
	return 0;
}

/* One generated /etc file (*gen: the network's copy, replaced by the path
 * of the service's copy, or NULL when the image has no such file). */
static int start_etc_file(struct start *st, const char *name, char **gen, isc_error **err)
{
	struct svc *s = st->s;
	cleanup_free char *source = steal_pointer(gen);
	cleanup_free char *target = isc_xasprintf("%s/etc/%s", st->store_rootfs, name);
	struct stat tst;
	if (lstat(target, &tst) < 0 || !S_ISREG(tst.st_mode)) {
		isc_sv_log(LOG_NOTICE, "%s: the image has no /etc/%s: the generated one is not mounted", s->name, name);
		return 0;
	}
	cleanup_free char *etcdir = svc_path(s, "etc");
	cleanup_free char *text = NULL;
	size_t len = 0;
	if (isc_mkdir_p(etcdir, 0711, err) < 0 || isc_read_file(source, &text, &len, 1 << 20, err) < 0)
		return -1;
	cleanup_close int efd = svc_dir_open(s, "etc", err);
	if (efd < 0)
		return -1;
	if (chmod(etcdir, 0711) < 0)
		return isc_error_set(err, errno, "%s", etcdir);
	if (isc_write_file_atomic(efd, name, text, len, 0644, err) < 0)
		return -1;
	*gen = isc_xasprintf("%s/%s", etcdir, name);
	/* readable in the container (iscd's umask is 077) */
	if (chmod(*gen, 0644) < 0)
		return isc_error_set(err, errno, "chmod %s", *gen);
	return 0;
}

/* The generated /etc files are bound over the image's own (on a read-only
 * root a missing mount point cannot be made), from copies in
 * R/containers/NAME/etc: the runtime mounts them as the container's root,
 * which may not pass through R/net. */
static int start_etc_files(struct start *st, isc_error **err)
{
	if (st->net.resolv_conf != NULL && start_etc_file(st, "resolv.conf", &st->net.resolv_conf, err) < 0)
		return -1;
	if (st->net.hosts != NULL && start_etc_file(st, "hosts", &st->net.hosts, err) < 0)
		return -1;
	return 0;
}

/* bundle/config.json from the plan and what the start made. */
static int start_bundle(struct start *st, isc_error **err)
{
	struct svc *s = st->s;
	cleanup_free char *store = isc_xasprintf("%s/images", st->sv->root);
	cleanup_free char *persist = svc_path(s, "persist");
	cleanup_free char *bundle = svc_path(s, "bundle");
	struct isc_bundle_inputs in = {
		.rootfs = st->rootfs,
		.image_id = s->image_id,
		.image_store = store,
		.persist_dir = persist,
		.netns_path = st->net.netns_path,
		.resolv_conf = st->net.resolv_conf,
		.hosts = st->net.hosts,
		.volume_sources = st->volume_sources,
		.uid_base = s->uid_base,
		.gid_base = s->uid_base,
		.audit_id = s->audit_id,
		.hostname = s->name,
		.image_config = s->image_config,
	};
	json_t *cfg = NULL;
	if (isc_plan_bundle_config(&s->plan, &in, &cfg, err) < 0)
		return -1;
	cleanup_free char *text = json_dumps(cfg, JSON_INDENT(2));
	json_decref(cfg);
	if (isc_mkdir_p(bundle, 0711, err) < 0)
		return -1;
	if (chmod(bundle, 0711) < 0)
		return isc_error_set(err, errno, "chmod %s", bundle);
	cleanup_close int bfd = svc_dir_open(s, "bundle", err);
	if (bfd < 0)
		return -1;
	return isc_write_file_atomic(bfd, "config.json", text, strlen(text), 0644, err);
}

/* The FIFOs, the forked starter (create + start), then the init's pid
 * from the runtime state: the init is ours now (subreaper). */
static int start_runtime(struct start *st, isc_error **err)
{
	struct isc_supervisor *sv = st->sv;
	struct svc *s = st->s;
	if (svc_open_fifos(sv, s, err) < 0)
		return -1;
	st->undo |= UNDO_RUNTIME;
	if (sv_run_in_child(sv, s, child_starter, NULL, "start", err) < 0)
		return -1;
	sv_test_point("start:runtime");
	struct isc_state_dir d = { .root_fd = -1, .dir_fd = -1 };
	struct isc_state state = { 0 };
	if (isc_state_dir_open(sv->runtime_root, s->name, false, &d, err) < 0)
		return -1;
	int r = isc_state_read(&d, &state, err);
	isc_state_dir_close(&d);
	if (r < 0)
		return -1;
	s->pid = state.pid;
	s->pid_start = state.pid_start_time;
	isc_state_clear(&state);
	for (size_t i = 0; s->net_up && i < s->plan.n_ports; i++)
		if (isc_net_expose(sv->root, s->name, &s->plan.ports[i], err) < 0)
			return -1;
	return 0;
}

/* Running: the pidfd watched, or, when the init is gone already (a
 * command that exits at once), its exit. */
static void start_running(struct isc_supervisor *sv, struct svc *s)
{
	free(s->started);
	s->started = isc_rfc3339_now();
	s->started_ns = isc_now_ns();
	s->state = SVC_RUNNING;
	s->restart_at_ns = 0;
	free(s->last_error);
	s->last_error = NULL;
	s->pidfd = sv_pidfd_open(s->pid, s->pid_start);
	if (s->pidfd < 0) {
		isc_sv_log(LOG_INFO, "%s: started (pid %d), exited at once", s->name, (int)s->pid);
		svc_save_status(s);
		svc_exited(sv, s, false, 0);
		return;
	}
	s->pidw = (struct watch){ W_PIDFD, s };
	sv_epoll_add(sv, s->pidfd, &s->pidw);
	isc_sv_log(LOG_INFO, "%s: started (pid %d)", s->name, (int)s->pid);
	svc_save_status(s);
}

/* What the failed start made, in reverse. */
static void start_undo(struct start *st)
{
	struct isc_supervisor *sv = st->sv;
	struct svc *s = st->s;
	isc_error *e2 = NULL;
	if ((st->undo & UNDO_RUNTIME) && sv_run_in_child(sv, s, child_delete, NULL, "delete", &e2) < 0)
		isc_error_free(&e2);
	if (st->undo & UNDO_NET) {
		for (size_t i = 0; i < s->plan.n_ports; i++)
			if (isc_net_unexpose(sv->root, s->name, &s->plan.ports[i], &e2) < 0)
				isc_error_free(&e2);
		if (isc_net_container_down(sv->root, s->name, true, &e2) < 0)
			isc_error_free(&e2);
		s->net_up = false;
	}
	if (st->undo & UNDO_MOUNT) {
		if (isc_idmap_umount(s->rootfs_mount, &e2) < 0)
			isc_error_free(&e2);
		free(s->rootfs_mount);
		s->rootfs_mount = NULL;
	}
	if ((st->undo & UNDO_VOLUMES) && svc_volumes_release(s, &e2) < 0)
		isc_error_free(&e2);
}

int svc_start(struct isc_supervisor *sv, struct svc *s, isc_error **err)
{
	struct start st = { .sv = sv, .s = s };
	st.store_rootfs = isc_xasprintf("%s/images/sha256/%s/rootfs", sv->root, s->image_id);
	int ret = 0;
	if (start_checks_volumes(&st, err) < 0 || start_rootfs(&st, err) < 0 || start_net(&st, err) < 0 ||
	    start_etc_files(&st, err) < 0 || start_bundle(&st, err) < 0 || start_runtime(&st, err) < 0) {
		start_undo(&st);
		isc_error_wrap(err, "start %s", s->name);
		svc_set_error(s, *err);
		ret = -1;
	} else {
		start_running(sv, s);
	}
	isc_net_container_clear(&st.net);
	isc_strvfree(st.volume_sources);
	free(st.store_rootfs);
	return ret;
}
