/* SPDX-License-Identifier: GPL-2.0-or-later
 * iscd as isc init and deinit see it: found next to isc or on the
 * settings' path, started (detached, its readiness awaited), asked whether
 * it answers, stopped through its control socket, and a leftover whose pid
 * file names an iscd killed by pid (checked by its /proc entry and start
 * time, never a reused pid). */
#include "host/host.h"
#include "host/host-internal.h"

#include "audit/collector.h"
#include "audit/audit-id.h"
#include "audit/trail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/container.h"
#include "iscd/protocol.h"
#include "host/idmap.h"
#include "image/image.h"
#include "net/ipam.h"
#include "net/net.h"
#include "base/util.h"

#define ISCD_WAIT_MS 5000

/* ---- iscd ---------------------------------------------------------------- */

static bool executable(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* ISC_ISCD, the settings, next to the running program (the build tree:
 * src/isc/isc -> src/iscd/iscd; installed: bin/isc -> sbin/iscd), the usual
 * sbin directories, then PATH. */
char *isc_host_iscd_find(const struct isc_host_settings *s)
{
	const char *env = getenv("ISC_ISCD");
	if (env && env[0])
		return isc_xstrdup(env);
	if (s->iscd_path)
		return isc_xstrdup(s->iscd_path);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			static const char *const rel[] = { "../iscd/iscd", "../sbin/iscd", "iscd" };
			for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
				char *p = isc_xasprintf("%s/%s", self, rel[i]);
				if (executable(p))
					return p;
				free(p);
			}
		}
	}
	static const char *const fixed[] = { "/usr/local/sbin/iscd", "/usr/sbin/iscd" };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (executable(fixed[i]))
			return isc_xstrdup(fixed[i]);
	const char *path = getenv("PATH");
	cleanup_free char *copy = isc_xstrdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = isc_xasprintf("%s/iscd", d);
		if (d[0] == '/' && executable(p))
			return p;
		free(p);
	}
	return NULL;
}

bool isc_host_iscd_answers(const char *root)
{
	json_t *req = json_pack("{s:s}", "op", "ping");
	json_t *reply = NULL;
	cleanup_error isc_error *e = NULL;
	int r = isc_ctl_call(root, req, &reply, &e);
	json_decref(req);
	json_decref(reply);
	return r == 0;
}

int isc_host_iscd_start(const char *root, const struct isc_host_settings *s, isc_error **err)
{
	if (isc_host_iscd_answers(root))
		return 0;
	cleanup_free char *path = isc_host_iscd_find(s);
	if (path == NULL)
		return isc_error_set(err, ENOENT,
				     "iscd: not found next to isc, in /usr/local/sbin, /usr/sbin or PATH "
				     "(set ISC_ISCD)");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return isc_error_set(err, errno, "iscd: fork");
	if (pid == 0) {
		/* iscd runs as root in the caller's namespaces (in a lab: the
		 * lab's host network namespace, entered before) and daemonizes
		 * itself: its first process exits once the socket listens. */
		char *argv[] = { "iscd", "--root", (char *)root, NULL };
		execv(path, argv);
		fprintf(stderr, "isc: exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return isc_error_set(err, errno, "iscd: wait for %s", path);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return isc_error_set(err, 0, "iscd (%s --root %s) failed to start (exit %d; see %s/log/iscd.log)", path,
				     root, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), root);
	for (int waited = 0; waited < ISCD_WAIT_MS; waited += 20) {
		if (isc_host_iscd_answers(root))
			return 0;
		usleep(20 * 1000);
	}
	return isc_error_set(err, ETIMEDOUT, "iscd: %s/" ISC_CTL_SOCKET " did not answer within %d s", root,
			     ISCD_WAIT_MS / 1000);
}

pid_t isc_host_iscd_pid(const char *root)
{
	cleanup_free char *path = isc_host_path(root, "iscd.pid");
	cleanup_free char *text = NULL;
	size_t len;
	if (isc_read_file(path, &text, &len, 64, NULL) < 0)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	uint64_t v = 0;
	if (isc_parse_u64(text, &v) < 0 || v == 0 || v > INT32_MAX)
		return 0;
	return (pid_t)v;
}

/* pid runs an iscd binary (its /proc/PID/exe is named iscd) */
bool isc_host_pid_is_iscd(pid_t pid)
{
	char link[64], exe[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	static const char deleted[] = " (deleted)";
	size_t l = (size_t)n;
	if (l > sizeof(deleted) - 1 && strcmp(exe + l - (sizeof(deleted) - 1), deleted) == 0)
		exe[l - (sizeof(deleted) - 1)] = '\0';
	const char *base = strrchr(exe, '/');
	return base && strcmp(base + 1, "iscd") == 0;
}

void isc_host_wait_gone(pid_t pid, uint64_t start, int ms)
{
	for (int w = 0; w < ms; w += 20) {
		if (isc_proc_start_time(pid) != start)
			return;
		usleep(20 * 1000);
	}
}

/* Ask iscd to remove every service and to shut down. */
void isc_host_iscd_stop_all(const char *root)
{
	json_t *req = json_pack("{s:s}", "op", "ps");
	json_t *reply = NULL;
	cleanup_error isc_error *e = NULL;
	if (isc_ctl_call(root, req, &reply, &e) == 0) {
		size_t i;
		json_t *svc;
		json_array_foreach(json_object_get(reply, "services"), i, svc) {
			const char *name = json_string_value(json_object_get(svc, "name"));
			if (name == NULL)
				continue;
			json_t *rm = json_pack("{s:s, s:s, s:b}", "op", "rm", "name", name, "force", 1);
			json_t *rr = NULL;
			cleanup_error isc_error *re = NULL;
			(void)isc_ctl_call(root, rm, &rr, &re); /* what is left is cleaned below */
			json_decref(rm);
			json_decref(rr);
		}
	}
	json_decref(req);
	json_decref(reply);
	req = json_pack("{s:s}", "op", "shutdown");
	reply = NULL;
	cleanup_error isc_error *se = NULL;
	(void)isc_ctl_call(root, req, &reply, &se);
	json_decref(req);
	json_decref(reply);
}

/* A leftover iscd of this root: terminated, but only when the pid in
 * R/iscd.pid really is an iscd (a stale pid file may name anything). */
void isc_host_iscd_kill_leftover(const char *root)
{
	pid_t pid = isc_host_iscd_pid(root);
	if (pid <= 0 || !isc_host_pid_is_iscd(pid))
		return;
	uint64_t start = isc_proc_start_time(pid);
	isc_host_wait_gone(pid, start, 2000); /* a shutdown in progress */
	if (isc_proc_start_time(pid) != start || !isc_host_pid_is_iscd(pid))
		return;
	kill(pid, SIGTERM);
	isc_host_wait_gone(pid, start, 3000);
	if (isc_proc_start_time(pid) == start && isc_host_pid_is_iscd(pid)) {
		kill(pid, SIGKILL);
		isc_host_wait_gone(pid, start, 2000);
	}
}
