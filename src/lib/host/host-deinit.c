/* SPDX-License-Identifier: GPL-2.0-or-later
 * `isc deinit` of one state root (host.h): services and iscd, whatever the
 * runtime still holds, the network baseline (only where init made one),
 * the audit registration, the systemd unit, the id ranges of R, the mounts
 * under R, then R itself (the intent file R/.host-op last: a deinit killed
 * anywhere is finished by the next; host-intent.c). */
#include "host/host.h"
#include "host/host-internal.h"

#include "audit/collector.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/container.h"
#include "host/idmap.h"
#include "image/image.h"
#include "net/net.h"
#include "base/util.h"

#define SYSTEMD_UNIT_PATH "/etc/systemd/system/iscd.service"

/* ---- mounts under R ------------------------------------------------------ */

/* Mount points at or under root, deepest first (NULL-terminated). */
static char **mounts_under(const char *root)
{
	size_t cap = 8, n = 0;
	char **v = isc_xmalloc0(cap * sizeof(char *));
	cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return v;
	size_t rl = strlen(root);
	cleanup_free char *line = NULL;
	size_t lcap = 0;
	while (getline(&line, &lcap, f) > 0) {
		/* id parent major:minor root MOUNTPOINT ... */
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (tok == NULL)
			continue;
		/* unescape \NNN (octal) */
		char *w = tok;
		for (char *r = tok; *r; r++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
			    r[3] <= '7') {
				*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
				r += 3;
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
		if (strncmp(tok, root, rl) != 0 || (tok[rl] != '\0' && tok[rl] != '/'))
			continue;
		if (n + 2 > cap) {
			cap *= 2;
			char **nv = realloc(v, cap * sizeof(char *));
			if (nv == NULL)
				abort();
			v = nv;
		}
		v[n++] = isc_xstrdup(tok);
		v[n] = NULL;
	}
	/* deepest (longest) first */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strlen(v[j]) > strlen(v[j - 1]); j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v;
}

static int umount_all_under(const char *root, isc_error **err)
{
	for (int pass = 0; pass < 8; pass++) {
		cleanup_strv char **m = mounts_under(root);
		if (m[0] == NULL)
			return 0;
		for (char **p = m; *p; p++)
			(void)umount2(*p, MNT_DETACH | UMOUNT_NOFOLLOW);
	}
	cleanup_strv char **left = mounts_under(root);
	if (left[0] != NULL)
		return isc_error_set(err, EBUSY, "%s is still mounted: refusing to remove %s", left[0], root);
	return 0;
}

/* ---- deinit ---------------------------------------------------------------- */

static void runtime_delete_all(const char *root)
{
	cleanup_free char *rt = isc_host_path(root, "runtime");
	DIR *d = opendir(rt);
	if (d == NULL)
		return;
	struct isc_context ctx = { .root = rt };
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		cleanup_error isc_error *e = NULL;
		(void)isc_container_delete(&ctx, de->d_name, true, &e);
	}
	closedir(d);
}

/* The real host's root keeps what is not its own: the labs and the
 * machine-wide id-range table (idrange.c); and its audit trail, which is
 * evidence (a lab's goes with the lab). */
static bool keep_entry(bool host_root, const char *name)
{
	return host_root && (strcmp(name, "labs") == 0 || strcmp(name, "audit") == 0 ||
			     strncmp(name, ".idranges", 9) == 0 || strncmp(name, "..idranges", 10) == 0);
}

static int remove_root(const char *root, isc_error **err)
{
	char real[PATH_MAX];
	if (realpath(root, real) == NULL)
		return errno == ENOENT ? 0 : isc_error_set(err, errno, "%s", root);
	if (strcmp(real, "/") == 0)
		return isc_error_set(err, EINVAL, "refusing to remove /");
	bool host_root = strcmp(real, ISC_HOST_ROOT) == 0;
	cleanup_close int fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open %s", real);
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		return isc_error_set(err, errno, "list %s", real);
	}
	int ret = 0;
	bool kept = false;
	for (struct dirent *de; ret == 0 && (de = readdir(d)) != NULL;) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (keep_entry(host_root, de->d_name)) {
			kept = true;
			continue;
		}
		if (isc_host_intent_is_file(de->d_name))
			continue; /* last: a deinit killed before it is finished by the next */
		/* clears the immutable flags of the image store on the way */
		if (isc_image_rm_tree_at(fd, de->d_name, err) < 0)
			ret = isc_error_wrap(err, "remove %s", real);
	}
	closedir(d);
	if (ret == 0) {
		isc_host_test_point("deinit:remove");
		ret = isc_host_intent_clear(real, err);
	}
	if (ret == 0 && !kept && rmdir(real) < 0 && errno != ENOENT)
		ret = isc_error_set(err, errno, "remove %s", real);
	return ret;
}

int isc_host_deinit(const char *root, isc_error **err)
{
	if (root == NULL || root[0] != '/')
		return isc_error_set(err, EINVAL, "isc deinit: the state root \"%s\" is not an absolute path",
				     root ? root : "");
	struct stat st;
	if (stat(root, &st) < 0) {
		if (errno != ENOENT)
			return isc_error_set(err, errno, "isc deinit: %s", root);
		/* nothing here; only the id ranges may remain */
		return isc_idrange_free_root(root, err);
	}
	enum isc_host_op op = isc_host_intent_read(root);
	isc_host_intent_say(root, "isc deinit", op, op != ISC_HOST_OP_DEINIT);
	return isc_host_deinit_steps(root, err);
}

int isc_host_deinit_steps(const char *root, isc_error **err)
{
	/* a deinit that cannot record itself (a full disk) goes ahead: what
	 * it leaves, the next deinit removes as well */
	cleanup_error isc_error *ierr = NULL;
	if (isc_host_intent_write(root, ISC_HOST_OP_DEINIT, &ierr) < 0) {
		char buf[512];
		fprintf(stderr, "isc deinit: %s (going on)\n", isc_error_text(ierr, buf, sizeof(buf)));
	}

	/* 1. services and iscd (its pid read first: it empties the pid file
	 * as it exits, and R must not go while it still runs) */
	pid_t pid = isc_host_iscd_pid(root);
	uint64_t start = pid > 0 && isc_host_pid_is_iscd(pid) ? isc_proc_start_time(pid) : 0;
	if (isc_host_iscd_answers(root))
		isc_host_iscd_stop_all(root);
	if (start != 0)
		isc_host_wait_gone(pid, start, 5000);
	isc_host_iscd_kill_leftover(root);
	/* 2. whatever the runtime still holds (iscd was not running, or failed) */
	runtime_delete_all(root);
	isc_host_test_point("deinit:iscd");

	/* 3. the network baseline, only where init made one */
	if (isc_host_network_made(root) && isc_net_host_down(root, err) < 0)
		return isc_error_wrap(err, "isc deinit %s: network", root);
	isc_host_test_point("deinit:network");

	/* The audit-id range goes back; the last host stops the collector,
	 * which restores the kernel's audit state as it found it.  A collector
	 * that is not running has nothing to give back. */
	{
		cleanup_error isc_error *aerr = NULL;
		unsigned remaining = 1;
		if (isc_audit_host_unregister(root, &remaining, &aerr) == 0) {
			if (remaining == 0 && isc_audit_collector_stop(err) < 0)
				return isc_error_wrap(err, "isc deinit %s: stop the audit collector", root);
		} else if (aerr->errnum != ENOENT && aerr->errnum != ECONNREFUSED) {
			isc_error_move(err, &aerr);
			return isc_error_wrap(err, "isc deinit %s: unregister from the audit collector", root);
		}
	}

	isc_host_test_point("deinit:audit");

	/* 4. the systemd unit of the real host */
	char real[PATH_MAX];
	if (realpath(root, real) != NULL && strcmp(real, ISC_HOST_ROOT) == 0 && unlink(SYSTEMD_UNIT_PATH) < 0 &&
	    errno != ENOENT)
		return isc_error_set(err, errno, "isc deinit: remove " SYSTEMD_UNIT_PATH);

	/* 5. the id ranges (keyed by the canonical root: before it goes) */
	if (isc_idrange_free_root(root, err) < 0)
		return isc_error_wrap(err, "isc deinit");

	/* 6. nothing may be mounted below R when it is removed: a removal
	 * must never walk into a mounted image, volume or host directory */
	if (umount_all_under(root, err) < 0)
		return isc_error_wrap(err, "isc deinit");
	if (remove_root(root, err) < 0)
		return isc_error_wrap(err, "isc deinit");
	return 0;
}
