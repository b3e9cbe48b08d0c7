/* SPDX-License-Identifier: GPL-2.0-or-later
 * The collector's clients, host side (collector.h): start and stop the
 * collector, register a state root, hand out container audit ids.  isc and
 * iscd only; the runtime links the session side (audit-client.c) alone. */
#include "audit/collector.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit-client.h"
#include "audit/audit-id.h"
#include "audit/trail.h"
#include "base/util.h"

static char *sibling_auditd(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return NULL;
	*slash = 0;
	/* installed side by side, or in the build tree (build/src/isc -> build/src/auditd) */
	const char *cands[] = { "isc-auditd", "../auditd/isc-auditd" };
	for (size_t i = 0; i < ARRAY_SIZE(cands); i++) {
		char *p = isc_xasprintf("%s/%s", self, cands[i]);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

int isc_audit_collector_start(const char *auditd, isc_error **err)
{
	json_t *ping = json_pack("{s:s}", "op", "status");
	cleanup_error isc_error *e = NULL;
	int r = isc_audit_request(ping, NULL, &e);
	json_decref(ping);
	if (r == 0)
		return 0;
	cleanup_free char *found = auditd ? isc_xstrdup(auditd) : sibling_auditd();
	const char *prog = found ? found : "isc-auditd";
	pid_t pid = fork();
	if (pid < 0)
		return isc_error_set(err, errno, "fork");
	if (pid == 0) {
		/* --daemon: the child detaches and the parent exits once it serves */
		execlp(prog, prog, "--daemon", "--run-dir", isc_audit_run_dir(), (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return isc_error_set(err, 0, "start the audit collector %s: %s %d", prog,
				     WIFEXITED(st) ? "exit status" : "killed by signal",
				     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}

int isc_audit_host_register(const char *root, const struct isc_trail_options *o, char **verify_key, isc_error **err)
{
	char real[PATH_MAX];
	if (realpath(root, real) == NULL)
		return isc_error_set(err, errno, "audit: state root %s", root);
	struct isc_trail_options none = { 0 };
	if (o == NULL)
		o = &none;
	json_t *req = json_pack("{s:s,s:s,s:I,s:I,s:I}", "op", "register", "root", real, "epoch_seconds",
				(json_int_t)o->epoch_seconds, "rotate_bytes", (json_int_t)o->rotate_bytes, "keep_files",
				(json_int_t)o->keep_files);
	json_t *rep = NULL;
	int r = isc_audit_request(req, &rep, err);
	json_decref(req);
	if (r < 0)
		return isc_error_wrap(err, "register %s with the audit collector", real);
	const char *k = json_string_value(json_object_get(rep, "key"));
	if (verify_key)
		*verify_key = k && *k ? isc_xstrdup(k) : NULL;
	json_decref(rep);
	return 0;
}

int isc_audit_host_unregister(const char *root, unsigned *remaining, isc_error **err)
{
	char real[PATH_MAX];
	if (realpath(root, real) == NULL)
		snprintf(real, sizeof(real), "%s", root);
	json_t *req = json_pack("{s:s,s:s}", "op", "unregister", "root", real);
	json_t *rep = NULL;
	int r = isc_audit_request(req, &rep, err);
	json_decref(req);
	if (r < 0)
		return isc_error_wrap(err, "unregister %s from the audit collector", real);
	if (remaining)
		*remaining = (unsigned)json_integer_value(json_object_get(rep, "remaining"));
	json_decref(rep);
	return 0;
}

int isc_audit_collector_stop(isc_error **err)
{
	json_t *req = json_pack("{s:s}", "op", "stop");
	int r = isc_audit_request(req, NULL, err);
	json_decref(req);
	return r;
}

/* ---- ids ---- */

/* R/audit opened (*dfd) and its ids.lock held (*lfd: the lock goes with
 * it); hint follows the message of a folder that cannot be opened. */
static int ids_lock(const char *root, const char *hint, int *dfd, int *lfd, isc_error **err)
{
	cleanup_free char *dir = isc_xasprintf("%s/audit", root);
	*dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0)
		return isc_error_set(err, errno, "audit ids: open %s%s", dir, hint);
	*lfd = openat(*dfd, "ids.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lfd < 0 || flock(*lfd, LOCK_EX) < 0)
		return isc_error_set(err, errno, "audit ids: lock %s/ids.lock", dir);
	return 0;
}

/* ids.json ({"ID": "service name"}), or NULL when it cannot be read or is
 * no object. */
static json_t *ids_load(int dfd)
{
	cleanup_free char *is = NULL;
	if (isc_read_file_at(dfd, "ids.json", &is, NULL, 0, NULL) < 0)
		return NULL;
	json_t *ids = json_loads(is, 0, NULL);
	if (!json_is_object(ids)) {
		json_decref(ids);
		return NULL;
	}
	return ids;
}

static int ids_save(int dfd, const json_t *ids, isc_error **err)
{
	cleanup_free char *out = json_dumps(ids, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (isc_write_file_durable(dfd, "ids.json", out, strlen(out), 0600, err) < 0)
		return isc_error_wrap(err, "audit ids");
	return 0;
}

int isc_audit_id_assign(const char *root, const char *name, uint32_t *auid, isc_error **err)
{
	cleanup_close int dfd = -1, lfd = -1;
	if (ids_lock(root, " (is the host registered?)", &dfd, &lfd, err) < 0)
		return -1;
	cleanup_free char *rs = NULL;
	if (isc_read_file_at(dfd, "range.json", &rs, NULL, 4096, err) < 0)
		return isc_error_wrap(err, "audit ids: the host's range");
	json_t *range = json_loads(rs, 0, NULL);
	json_int_t base = 0, count = 0;
	int bad = json_unpack(range, "{s:I,s:I}", "base", &base, "count", &count) < 0 || base < ISC_AUDIT_ID_MIN ||
		  count <= 0 || base + count - 1 > ISC_AUDIT_ID_MAX;
	json_decref(range);
	if (bad)
		return isc_error_set(err, EINVAL, "audit ids: %s/audit/range.json is malformed", root);
	json_t *ids = ids_load(dfd);
	if (ids == NULL)
		ids = json_object();
	const char *k;
	json_t *v;
	void *tmp;
	uint32_t found = 0;
	bool stale = false;
	json_object_foreach_safe(ids, tmp, k, v) {
		uint64_t n;
		if (isc_parse_u64(k, &n) < 0 || n < (uint64_t)base || n >= (uint64_t)(base + count)) {
			/* an id of an earlier range of this host (it moved): the
			 * service gets one of the current range */
			json_object_del(ids, k);
			stale = true;
			continue;
		}
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			found = (uint32_t)n;
	}
	if (found == 0 || stale) {
		/* id 0 of the range stays unused: base itself is never handed out */
		for (json_int_t i = 1; i < count && found == 0; i++) {
			char key[16];
			snprintf(key, sizeof(key), "%u", (uint32_t)(base + i));
			if (json_object_get(ids, key) == NULL) {
				found = (uint32_t)(base + i);
				json_object_set_new(ids, key, json_string(name));
			}
		}
		if (found == 0) {
			json_decref(ids);
			return isc_error_set(err, ENOSPC, "audit ids: the range of %s is full", root);
		}
		if (ids_save(dfd, ids, err) < 0) {
			json_decref(ids);
			return -1;
		}
	}
	json_decref(ids);
	*auid = found;
	return 0;
}

int isc_audit_id_release(const char *root, const char *name, isc_error **err)
{
	cleanup_close int dfd = -1, lfd = -1;
	if (ids_lock(root, "", &dfd, &lfd, err) < 0)
		return -1;
	json_t *ids = ids_load(dfd);
	if (ids == NULL)
		return 0;
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(ids, tmp, k, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			json_object_del(ids, k);
	}
	int r = ids_save(dfd, ids, err);
	json_decref(ids);
	return r;
}
