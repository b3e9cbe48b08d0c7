/* SPDX-License-Identifier: GPL-2.0-or-later
 * Service control ops (iscd's supervisor): kill, pause, unpause, update,
 * stats, top.
 *
 * Design
 * ------
 * - kill {"signal": N}: N sent to the service's init through its pidfd
 *   (no pid reuse race), as podman kill sends it to the container's pid 1;
 *   an init ignores a signal it has no handler for, except SIGKILL.  As
 *   podman documents, the restart policy does not apply to the exit that
 *   follows an isc kill: the current run is marked (svc.killed) and its
 *   exit leaves the service stopped, whatever its policy.  A paused service
 *   is refused (a frozen init acts on nothing; podman refuses it too).
 * - pause / unpause: the runtime library freezes or thaws the container's
 *   cgroups (freezer v1, cgroup.freeze v2), in a forked child like every
 *   runtime call of iscd.  The service stays SVC_RUNNING with svc.paused
 *   (status.json, ps and inspect say "paused"); nothing of the supervisor
 *   times a running service, and a paused one does not exit, so neither
 *   the restart policy nor a backoff touches it.  A stop or rm of a paused
 *   service signals it, then thaws it (svc_thaw), so that the signal is
 *   acted on.
 * - update {"memory", "cpu_quota", "pids_limit"} (each optional): each
 *   value applied to the running container's cgroups on its own (the
 *   runtime's update), so that a value the kernel refuses is named by its
 *   flag; each one applied goes into the plan (service.json), which every
 *   later start builds its bundle from.  A stopped service only records.
 * - stats, top: read only, in iscd itself: the runtime state's cgroups
 *   (isc_container_stats, isc_container_ps) and /proc.
 */
#include "iscd/supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "iscd/protocol.h"
#include "kernel/cgroup.h"
#include "runtime/control.h"

#define CPU_PERIOD 100000ULL /* the plan's --cpus period and bound (plan.c) */
#define MAX_CPUS 1024

static int need_running(const struct svc *s, isc_error **err)
{
	if (s->state != SVC_RUNNING || s->pidfd < 0)
		return isc_error_set(err, 0, "service %s is not running", s->name);
	return 0;
}

int sv_op_kill(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err)
{
	json_t *jsig = json_object_get(req, "signal");
	if (!json_is_integer(jsig) || json_integer_value(jsig) < 1 || json_integer_value(jsig) >= SIGRTMIN)
		return isc_error_set(err, EINVAL, "kill: \"signal\" must be a signal number (1-%d)", SIGRTMIN - 1);
	int sig = (int)json_integer_value(jsig);
	if (need_running(s, err) < 0)
		return -1;
	if (s->paused)
		return isc_error_set(err, 0, "service %s is paused (isc unpause %s first)", s->name, s->name);
	if (syscall(SYS_pidfd_send_signal, s->pidfd, sig, NULL, 0) < 0)
		return isc_error_set(err, errno, "kill %s", s->name);
	s->killed = true;
	isc_sv_log(LOG_INFO, "%s: sent signal %d (isc kill: no restart at its exit)", s->name, sig);
	*reply = isc_ctl_ok_reply(svc_summary(s));
	(void)sv;
	return 0;
}

static int child_freeze(struct isc_supervisor *sv, struct svc *s, void *arg, isc_error **err)
{
	struct isc_context ctx = sv_runtime_ctx(sv);
	return *(bool *)arg ? isc_container_pause(&ctx, s->name, err) : isc_container_resume(&ctx, s->name, err);
}

int sv_op_pause(struct isc_supervisor *sv, struct svc *s, bool pause, json_t **reply, isc_error **err)
{
	if (need_running(s, err) < 0)
		return -1;
	if (s->paused == pause)
		return isc_error_set(err, 0, "service %s is %s", s->name, pause ? "already paused" : "not paused");
	if (pause && s->kill_at_ns != 0)
		return isc_error_set(err, EBUSY, "service %s is being stopped", s->name);
	if (sv_run_in_child(sv, s, child_freeze, &pause, pause ? "pause" : "unpause", err) < 0)
		return -1;
	s->paused = pause;
	svc_save_status(s);
	isc_sv_log(LOG_INFO, "%s: %s", s->name, pause ? "paused" : "unpaused");
	*reply = isc_ctl_ok_reply(svc_summary(s));
	return 0;
}

void svc_thaw(struct isc_supervisor *sv, struct svc *s)
{
	if (!s->paused)
		return;
	bool pause = false;
	isc_error *err = NULL;
	if (sv_run_in_child(sv, s, child_freeze, &pause, "unpause", &err) < 0)
		svc_log_error(s, &err);
	s->paused = false;
	svc_save_status(s);
}

/* ---- update ---------------------------------------------------------------------------- */

static int child_update(struct isc_supervisor *sv, struct svc *s, void *arg, isc_error **err)
{
	struct isc_context ctx = sv_runtime_ctx(sv);
	return isc_container_update(&ctx, s->name, arg, err);
}

/* One value: applied live when s runs (the error named by flag), then planned. */
static int update_one(struct isc_supervisor *sv, struct svc *s, const char *flag, const struct isc_resources *res,
		      isc_error **err)
{
	if (s->state == SVC_RUNNING && s->pidfd >= 0 &&
	    sv_run_in_child(sv, s, child_update, (void *)res, flag, err) < 0)
		return -1;
	return 0;
}

static bool req_u64(json_t *req, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(req, key);
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

int sv_op_update(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err)
{
	uint64_t mem = 0, quota = 0, pids = 0;
	bool has_mem = req_u64(req, "memory", &mem), has_cpu = req_u64(req, "cpu_quota", &quota),
	     has_pids = req_u64(req, "pids_limit", &pids);
	if (!has_mem && !has_cpu && !has_pids)
		return isc_error_set(err, EINVAL, "update: nothing to change (--memory, --cpus, --pids-limit)");
	if ((has_mem && mem > INT64_MAX) || (has_pids && pids > INT64_MAX) || (has_cpu && quota > INT64_MAX))
		return isc_error_set(err, EINVAL, "update: a value is too large");
	/* the bounds every plan is held to (a later start checks them again) */
	if (has_mem && mem < (4ULL << 20))
		return isc_error_set(err, EINVAL, "--memory: at least 4m");
	if (has_cpu && quota > MAX_CPUS * CPU_PERIOD)
		return isc_error_set(err, EINVAL, "--cpus: at most %d", MAX_CPUS);
	int r = 0;
	if (has_mem) {
		struct isc_resources res = { .has_memory_limit = true, .memory_limit = (int64_t)mem };
		if ((r = update_one(sv, s, "--memory", &res, err)) == 0)
			s->plan.memory = mem;
	}
	if (r == 0 && has_cpu) {
		struct isc_resources res = { .has_cpu_quota = true,
					     .cpu_quota = (int64_t)quota,
					     .has_cpu_period = true,
					     .cpu_period = CPU_PERIOD };
		if ((r = update_one(sv, s, "--cpus", &res, err)) == 0)
			s->plan.cpu_quota = quota;
	}
	if (r == 0 && has_pids) {
		struct isc_resources res = { .has_pids_limit = true, .pids_limit = (int64_t)pids };
		if ((r = update_one(sv, s, "--pids-limit", &res, err)) == 0)
			s->plan.pids_limit = (int64_t)pids;
	}
	/* what was applied is planned, even when a later value was refused */
	isc_error *e2 = NULL;
	if (svc_save_plan(s, &e2) < 0) {
		if (r == 0) {
			isc_error_move(err, &e2);
			return -1;
		}
		svc_log_error(s, &e2);
	}
	if (r < 0)
		return -1;
	isc_sv_log(LOG_INFO, "%s: updated (memory %llu, cpu quota %llu, pids %lld)", s->name,
		   (unsigned long long)s->plan.memory, (unsigned long long)s->plan.cpu_quota,
		   (long long)s->plan.pids_limit);
	*reply = isc_ctl_ok_reply(json_pack("{s:s, s:I, s:I, s:I}", "name", s->name, "memory",
					    (json_int_t)s->plan.memory, "cpu_quota", (json_int_t)s->plan.cpu_quota,
					    "pids_limit", (json_int_t)s->plan.pids_limit));
	return 0;
}

/* ---- stats, top ------------------------------------------------------------------------ */

/* How long the service's init has run, ns (its start time: clock ticks since boot). */
static uint64_t run_time_ns(const struct svc *s)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	uint64_t start = s->pid_start * (1000000000ULL / (uint64_t)hz);
	return now > start ? now - start : 0;
}

static json_t *num_or_null(bool has, json_int_t v)
{
	return has ? json_integer(v) : json_null();
}

int sv_op_stats(struct isc_supervisor *sv, struct svc *s, json_t **reply, isc_error **err)
{
	if (need_running(s, err) < 0)
		return -1;
	struct isc_context ctx = sv_runtime_ctx(sv);
	struct isc_cgroup_stats st;
	if (isc_container_stats(&ctx, s->name, &st, err) < 0)
		return -1;
	json_t *j = json_pack("{s:s, s:s, s:I}", "name", s->name, "state", s->paused ? "paused" : "running",
			      "run_time_ns", (json_int_t)run_time_ns(s));
	json_object_set_new(j, "cpu_ns", num_or_null(st.has_cpu, (json_int_t)st.cpu_ns));
	json_object_set_new(j, "memory_usage", num_or_null(st.has_memory, (json_int_t)st.memory_usage));
	json_object_set_new(j, "memory_limit", num_or_null(st.has_memory, st.memory_limit));
	json_object_set_new(j, "pids", num_or_null(st.has_pids, (json_int_t)st.pids));
	json_object_set_new(j, "pids_limit", num_or_null(st.has_pids, st.pids_limit));
	*reply = isc_ctl_ok_reply(j);
	return 0;
}

/* The last NSpid of /proc/PID/status: its pid in the container; 0 unknown. */
static long ns_pid(pid_t pid)
{
	cleanup_free char *path = isc_xasprintf("/proc/%d/status", (int)pid);
	cleanup_file FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		char *last = strrchr(line, '\t');
		return last ? strtol(last + 1, NULL, 10) : 0;
	}
	return 0;
}

/* /proc/PID/cmdline as an array (the container's bytes: escaped by isc). */
static json_t *cmdline(pid_t pid)
{
	cleanup_free char *path = isc_xasprintf("/proc/%d/cmdline", (int)pid);
	cleanup_free char *text = NULL;
	size_t len = 0;
	isc_error *e = NULL;
	json_t *a = json_array();
	if (isc_read_file(path, &text, &len, 1u << 16, &e) < 0) {
		isc_error_free(&e);
		return a;
	}
	for (size_t i = 0; i < len; i += strlen(text + i) + 1)
		json_array_append_new(a, json_stringn(text + i, strnlen(text + i, len - i)));
	return a;
}

int sv_op_top(struct isc_supervisor *sv, struct svc *s, json_t **reply, isc_error **err)
{
	if (need_running(s, err) < 0)
		return -1;
	struct isc_context ctx = sv_runtime_ctx(sv);
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;
	if (isc_container_ps(&ctx, s->name, &pids, &n, err) < 0)
		return -1;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:i, s:I, s:o}", "pid", (int)pids[i], "ns_pid",
						   (json_int_t)ns_pid(pids[i]), "args", cmdline(pids[i])));
	*reply = isc_ctl_ok_reply(json_pack("{s:s, s:o}", "name", s->name, "processes", a));
	return 0;
}
