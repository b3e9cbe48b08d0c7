/* SPDX-License-Identifier: GPL-2.0-or-later
 * Which kernel audit sessions are containers' (docs/audit.md, "Whose
 * records are these").
 *
 * An audit id (loginuid) alone does not say a record came from a
 * container: any task whose loginuid is unset may set it once, to any
 * value, without privilege.  The kernel starts a new session (a number it
 * assigns, never reused within a boot) whenever a loginuid is set, every
 * descendant inherits it, and it reports the change in a LOGIN record that
 * carries the real uid of the task that made it.  isc-runtime sets a
 * container's loginuid in its stage, as root in the initial user namespace,
 * before the container exists (audit-id.h); every `exec` into it does the
 * same.  So:
 *   - a LOGIN record that set a loginuid in the container range, made by
 *     uid 0, opens a container session (ses -> auid);
 *   - a record is a container's only when its (ses, auid) is such a
 *     session; the collector drops the rest (counted, logged).
 * A task that is not root cannot open one.  Root can (it can also enter a
 * container or talk to the collector); that is outside what the trail
 * protects against.
 *
 * LOGIN records are taken from the raw stream as they arrive, before the
 * assembler: the kernel emits them before any record of the session, while
 * the assembler emits a LOGIN event only after it aged.
 *
 * The table lives in RUN/sessions.json (with the boot id: session numbers
 * restart at every boot), so a restarted collector keeps it.  Sessions the
 * collector could not see open (it was not running) are adopted at start
 * from the live processes: a task with a loginuid in the range, in a pid
 * namespace below the initial one, whose real uid is 0 or in isc's user
 * namespace ranges (audit-id.h) -- ids no unprivileged user has.
 * Every 30 s the live sessions are looked up in /proc; a session none of
 * whose tasks has been seen for 60 s is forgotten (its last records were
 * routed long before). */
#include "auditd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit-id.h"
#include "audit/audit-record.h"
#include "base/util.h"

#define BOOT_ID_LEN 36
#define SWEEP_MS 30000u
#define FORGET_MS 60000u
#define MAX_SESSIONS 1000000u

struct session {
	uint32_t ses, auid;
	uint64_t seen_ms; /* a task of it was last seen alive (or it opened) */
};

static struct {
	const char *run_dir;
	char boot_id[BOOT_ID_LEN + 1];
	struct session *v; /* sorted by ses */
	size_t n, cap;
	bool dirty;
	uint64_t swept_ms;
} T;

static uint64_t mono_ms(void)
{
	return isc_now_ns() / 1000000u;
}

static size_t find(uint32_t ses, bool *found)
{
	size_t lo = 0, hi = T.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (T.v[mid].ses < ses)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < T.n && T.v[lo].ses == ses;
	return lo;
}

static void add(uint32_t ses, uint32_t auid, uint64_t now)
{
	bool found;
	size_t i = find(ses, &found);
	if (found) {
		T.v[i].auid = auid;
		T.v[i].seen_ms = now;
		T.dirty = true;
		return;
	}
	if (T.n >= MAX_SESSIONS)
		return;
	if (T.n == T.cap) {
		T.cap = T.cap ? T.cap * 2 : 64;
		struct session *nv = realloc(T.v, T.cap * sizeof(*nv));
		if (nv == NULL)
			abort();
		T.v = nv;
	}
	memmove(&T.v[i + 1], &T.v[i], (T.n - i) * sizeof(*T.v));
	T.v[i] = (struct session){ ses, auid, now };
	T.n++;
	T.dirty = true;
}

static bool container_auid(uint64_t auid)
{
	return auid >= ISC_AUDIT_ID_MIN && auid <= ISC_AUDIT_ID_MAX;
}

bool isc_sessions_has(uint32_t ses, uint32_t auid)
{
	bool found;
	size_t i = find(ses, &found);
	return found && T.v[i].auid == auid;
}

size_t isc_sessions_count(void)
{
	return T.n;
}

static bool field_u64(const char *body, size_t len, const char *key, uint64_t *out)
{
	cleanup_free char *v = isc_audit_field(body, len, key);
	return v != NULL && isc_parse_u64(v, out) == 0;
}

bool isc_sessions_from_login(const char *text, size_t len)
{
	uint64_t sec, serial, uid, auid, ses, res;
	uint32_t msec;
	int off = isc_audit_record_header(text, len, &sec, &msec, &serial);
	if (off < 0)
		return false;
	const char *body = text + off;
	size_t blen = len - (size_t)off;
	if (!field_u64(body, blen, "res", &res) || res != 1 || !field_u64(body, blen, "uid", &uid) ||
	    !field_u64(body, blen, "auid", &auid) || !field_u64(body, blen, "ses", &ses))
		return false;
	if (!container_auid(auid) || ses >= ISC_AUDIT_ID_UNSET)
		return false;
	if (uid != 0)
		return false; /* only root (isc-runtime's stage) opens a container's session */
	add((uint32_t)ses, (uint32_t)auid, mono_ms());
	return true;
}

/* ---- /proc ---- */

static bool proc_u64(const char *pid, const char *what, uint64_t *out)
{
	char p[64], buf[32];
	snprintf(p, sizeof(p), "/proc/%s/%s", pid, what);
	cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return isc_parse_u64(buf, out) == 0;
}

/* The real uid and whether the task is in a pid namespace below the
 * initial one (NSpid has more than one number). */
static bool proc_status(const char *pid, uint64_t *uid, bool *nested)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%s/status", pid);
	cleanup_free char *s = NULL;
	if (isc_read_file(p, &s, NULL, 1 << 16, NULL) < 0)
		return false;
	const char *u = strstr(s, "\nUid:");
	const char *ns = strstr(s, "\nNSpid:");
	if (u == NULL || ns == NULL)
		return false;
	char *end = NULL;
	*uid = strtoull(u + 5, &end, 10);
	if (end == u + 5)
		return false;
	const char *line_end = strchr(ns + 1, '\n');
	size_t l = line_end ? (size_t)(line_end - ns) : strlen(ns);
	unsigned numbers = 0;
	for (size_t i = 7; i < l; i++)
		if (ns[i] >= '0' && ns[i] <= '9' && (ns[i - 1] == '\t' || ns[i - 1] == ' '))
			numbers++;
	*nested = numbers > 1;
	return true;
}

static bool is_pid(const char *name)
{
	if (name[0] == '\0')
		return false;
	for (const char *c = name; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

/* Every live task: fn(pid, its session, its auid). */
static void each_task(void (*fn)(const char *pid, uint64_t ses, uint64_t auid, uint64_t now), uint64_t now)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		uint64_t ses, auid;
		if (!is_pid(de->d_name) || !proc_u64(de->d_name, "sessionid", &ses) ||
		    !proc_u64(de->d_name, "loginuid", &auid))
			continue;
		fn(de->d_name, ses, auid, now);
	}
	closedir(d);
}

static void mark_alive(const char *pid, uint64_t ses, uint64_t auid, uint64_t now)
{
	(void)pid;
	bool found;
	size_t i = find((uint32_t)ses, &found);
	if (found && ses < ISC_AUDIT_ID_UNSET && T.v[i].auid == auid)
		T.v[i].seen_ms = now;
}

static void adopt(const char *pid, uint64_t ses, uint64_t auid, uint64_t now)
{
	uint64_t uid;
	bool nested;
	if (!container_auid(auid) || ses >= ISC_AUDIT_ID_UNSET || isc_sessions_has((uint32_t)ses, (uint32_t)auid))
		return;
	if (!proc_status(pid, &uid, &nested) || !nested ||
	    !(uid == 0 || (uid >= ISC_IDRANGE_FIRST && uid < ISC_IDRANGE_END)))
		return;
	add((uint32_t)ses, (uint32_t)auid, now);
}

/* ---- the file ---- */

static void save(void)
{
	json_t *a = json_array();
	for (size_t i = 0; i < T.n; i++)
		json_array_append_new(a, json_pack("[I,I]", (json_int_t)T.v[i].ses, (json_int_t)T.v[i].auid));
	json_t *j = json_pack("{s:s,s:o}", "boot_id", T.boot_id, "sessions", a);
	cleanup_free char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	cleanup_close int dfd = open(T.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_error isc_error *e = NULL;
	if (s != NULL && dfd >= 0 && isc_write_file_atomic(dfd, "sessions.json", s, strlen(s), 0600, &e) == 0)
		T.dirty = false;
}

static void load(uint64_t now)
{
	cleanup_free char *p = isc_xasprintf("%s/sessions.json", T.run_dir);
	json_t *j = json_load_file(p, 0, NULL);
	const char *boot = json_string_value(json_object_get(j, "boot_id"));
	json_t *a = json_object_get(j, "sessions"), *v;
	size_t i;
	if (boot != NULL && strcmp(boot, T.boot_id) == 0 && json_is_array(a)) {
		json_array_foreach(a, i, v) {
			json_int_t ses = json_integer_value(json_array_get(v, 0));
			json_int_t auid = json_integer_value(json_array_get(v, 1));
			if (ses > 0 && ses < (json_int_t)ISC_AUDIT_ID_UNSET && container_auid((uint64_t)auid))
				add((uint32_t)ses, (uint32_t)auid, now);
		}
	}
	json_decref(j);
}

static int read_boot_id(isc_error **err)
{
	cleanup_free char *s = NULL;
	size_t len = 0;
	if (isc_read_file("/proc/sys/kernel/random/boot_id", &s, &len, 64, err) < 0)
		return isc_error_wrap(err, "the boot id");
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	if (len != BOOT_ID_LEN)
		return isc_error_set(err, EINVAL, "the boot id \"%s\" is malformed", s);
	memcpy(T.boot_id, s, BOOT_ID_LEN + 1);
	return 0;
}

int isc_sessions_init(const char *run_dir, isc_error **err)
{
	T.run_dir = run_dir;
	if (read_boot_id(err) < 0)
		return -1;
	uint64_t now = mono_ms();
	load(now);
	each_task(adopt, now);
	T.swept_ms = now;
	save();
	return 0;
}

void isc_sessions_tick(void)
{
	uint64_t now = mono_ms();
	if (now - T.swept_ms >= SWEEP_MS) {
		T.swept_ms = now;
		each_task(mark_alive, now);
		size_t k = 0;
		for (size_t i = 0; i < T.n; i++)
			if (now - T.v[i].seen_ms < FORGET_MS)
				T.v[k++] = T.v[i];
		if (k != T.n) {
			T.n = k;
			T.dirty = true;
		}
	}
	if (T.dirty)
		save();
}

void isc_sessions_free(void)
{
	free(T.v);
	memset(&T, 0, sizeof(T));
}
