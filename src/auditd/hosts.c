/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-auditd: the hosts (state roots) registered with the collector, their
 * audit-id ranges (RUN/ranges.json), their trails and container names. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit-client.h"
#include "audit/audit-id.h"
#include "audit/audit-record.h"
#include "auditd.h"
#include "audit/trail.h"
#include "base/util.h"

/* ---- hosts and their ranges ---- */

int save_ranges(isc_error **err)
{
	json_t *a = json_array();
	for (size_t i = 0; i < S.n_hosts; i++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:I}", "root", S.hosts[i].root, "base",
						   (json_int_t)S.hosts[i].base, "count", (json_int_t)S.hosts[i].count));
	json_t *j = json_pack("{s:o}", "ranges", a);
	cleanup_free char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	cleanup_close int dfd = open(S.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", S.run_dir);
	return isc_write_file_durable(dfd, "ranges.json", s, strlen(s), 0600, err);
}

struct host *host_by_root(const char *root)
{
	for (size_t i = 0; i < S.n_hosts; i++)
		if (strcmp(S.hosts[i].root, root) == 0)
			return &S.hosts[i];
	return NULL;
}

/* The lowest free block of ISC_AUDIT_RANGE ids in the container range;
 * 0 when none is. */
uint32_t free_block(void)
{
	for (uint32_t k = 0; k < ISC_AUDIT_HOSTS; k++) {
		uint32_t base = ISC_AUDIT_ID_MIN + k * ISC_AUDIT_RANGE;
		bool used = false;
		for (size_t i = 0; i < S.n_hosts && !used; i++)
			used = S.hosts[i].base == base;
		if (!used)
			return base;
	}
	return 0;
}

bool block_ok(json_int_t base, json_int_t count)
{
	return base >= ISC_AUDIT_ID_MIN && base <= ISC_AUDIT_ID_MAX &&
	       (base - ISC_AUDIT_ID_MIN) % ISC_AUDIT_RANGE == 0 && count == ISC_AUDIT_RANGE;
}

struct host *host_by_auid(uint32_t auid)
{
	for (size_t i = 0; i < S.n_hosts; i++)
		if (auid >= S.hosts[i].base && auid - S.hosts[i].base < S.hosts[i].count)
			return &S.hosts[i];
	return NULL;
}

void emit_to(struct host *h, json_t *rec)
{
	cleanup_error isc_error *e = NULL;
	if (isc_trail_append(h->trail, rec, &e) < 0)
		log_error(&e, "trail append");
	if (S.use_syslog) {
		char *s = json_dumps(rec, JSON_COMPACT);
		if (s)
			syslog(LOG_INFO, "root=%s %s", h->root, s);
		free(s);
	}
}

void emit_all(json_t *rec)
{
	for (size_t i = 0; i < S.n_hosts; i++)
		emit_to(&S.hosts[i], rec);
}

int open_host(const char *root, uint32_t base, uint32_t count, bool create, char key[ISC_TRAIL_KEY_HEX],
	      isc_error **err)
{
	if (S.n_hosts == MAX_HOSTS)
		return isc_error_set(err, ENOSPC, "register %s: %d hosts registered already", root, MAX_HOSTS);
	cleanup_free char *dir = isc_xasprintf("%s/audit", root);
	if (key)
		key[0] = 0;
	if (!isc_trail_exists(dir)) {
		if (!create)
			return isc_error_set(err, ENOENT, "trail %s is gone", dir);
		struct isc_trail_options o = { .epoch_seconds = S.epoch_seconds,
					       .rotate_bytes = S.rotate_bytes,
					       .keep_files = S.keep_files };
		if (isc_trail_create(dir, &o, key, err) < 0)
			return -1;
	}
	struct isc_trail *t = NULL;
	if (isc_trail_open(dir, &t, err) < 0)
		return -1;
	/* the host's own copy of its range: iscd picks container ids from it */
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *r = isc_xasprintf("{\"base\": %u, \"count\": %u}\n", base, count);
	if (dfd < 0 || isc_write_file_durable(dfd, "range.json", r, strlen(r), 0600, err) < 0) {
		isc_trail_close(t);
		return dfd < 0 ? isc_error_set(err, errno, "open %s", dir) : -1;
	}
	struct host *h = &S.hosts[S.n_hosts++];
	memset(h, 0, sizeof(*h));
	h->root = isc_xstrdup(root);
	h->base = base;
	h->count = count;
	h->trail = t;
	return 0;
}

void close_host(struct host *h)
{
	isc_trail_close(h->trail);
	json_decref(h->names);
	free(h->root);
	size_t i = (size_t)(h - S.hosts);
	memmove(&S.hosts[i], &S.hosts[i + 1], (S.n_hosts - i - 1) * sizeof(*h));
	S.n_hosts--;
}

const char *container_name(struct host *h, uint32_t auid)
{
	const char *n = h->names ? isc_audit_names_lookup(h->names, auid) : NULL;
	uint64_t now = now_ms();
	/* ids.json is looked at (stat) at most every 100 ms, and every second
	 * for a name it already has */
	if (now - h->names_checked_ms < (n ? 1000u : 100u))
		return n;
	h->names_checked_ms = now;
	cleanup_free char *p = isc_xasprintf("%s/audit/ids.json", h->root);
	struct stat sb;
	if (stat(p, &sb) < 0)
		return n;
	if (h->names == NULL || sb.st_mtim.tv_sec != h->names_mtime.tv_sec ||
	    sb.st_mtim.tv_nsec != h->names_mtime.tv_nsec) {
		json_t *j = json_load_file(p, 0, NULL);
		if (json_is_object(j)) {
			json_decref(h->names);
			h->names = j;
			h->names_mtime = sb.st_mtim;
		} else {
			json_decref(j);
		}
	}
	return h->names ? isc_audit_names_lookup(h->names, auid) : NULL;
}
