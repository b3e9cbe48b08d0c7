/* SPDX-License-Identifier: GPL-2.0-or-later
 * Reading and verifying the audit trail (trail.h, docs/audit.md): the
 * files in order (rotated ones by number, then the live one), each line a
 * record; verification walks the hash chain, the epochs and their seals,
 * the MACs with the key evolved epoch by epoch, and compares the end with
 * the sealing state (a cut tail).  An unterminated last line is a record
 * being written: not checked, but said. */
#include "audit/trail.h"
#include "audit/trail-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

/* ---- reading and verification ---- */

static int cmp_rotated(const void *a, const void *b)
{
	uint64_t x = strtoull(strrchr(*(char *const *)a, '-') + 1, NULL, 10);
	uint64_t y = strtoull(strrchr(*(char *const *)b, '-') + 1, NULL, 10);
	return x < y ? -1 : x > y;
}

int isc_trail_files(const char *dir, char ***out, isc_error **err)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return isc_error_set(err, errno, "open trail %s", dir);
	size_t n = 0, cap = 8;
	char **v = isc_xmalloc0(cap * sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t seq;
		size_t l = strlen(de->d_name);
		if (strncmp(de->d_name, "trail-", 6) != 0 || l < 13 || strcmp(de->d_name + l - 6, ".jsonl") != 0)
			continue;
		char num[32];
		if (l - 12 >= sizeof(num))
			continue;
		memcpy(num, de->d_name + 6, l - 12);
		num[l - 12] = 0;
		if (isc_parse_u64(num, &seq) < 0)
			continue;
		if (n + 2 >= cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(char *));
			if (v == NULL)
				abort();
		}
		v[n++] = isc_xasprintf("%s/trail-%s", dir, de->d_name + 6);
	}
	closedir(d);
	/* trail-N.jsonl sorted by N: cmp_rotated reads N after the last '-' */
	for (size_t i = 0; i < n; i++)
		*strrchr(v[i], '.') = 0;
	qsort(v, n, sizeof(char *), cmp_rotated);
	for (size_t i = 0; i < n; i++) {
		char *p = isc_xasprintf("%s.jsonl", v[i]);
		free(v[i]);
		v[i] = p;
	}
	v[n++] = isc_xasprintf("%s/" TRAIL_NAME, dir);
	v[n] = NULL;
	*out = v;
	return 0;
}

typedef int (*line_cb)(char *line, size_t len, void *data);

/* *fragment (when not NULL): the bytes of an unterminated last line, and
 * its file in *fragment_file (freed by the caller). */
static int each_line(const char *dir, line_cb cb, void *data, size_t *fragment, char **fragment_file, isc_error **err)
{
	cleanup_strv char **files = NULL;
	if (isc_trail_files(dir, &files, err) < 0)
		return -1;
	for (char **f = files; *f; f++) {
		cleanup_file FILE *fp = fopen(*f, "re");
		if (fp == NULL) {
			if (errno == ENOENT)
				continue;
			return isc_error_set(err, errno, "open %s", *f);
		}
		cleanup_free char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, fp)) > 0) {
			/* a last line without its newline is being written (or
			 * was cut by a crash): not a record yet */
			if (line[n - 1] != '\n' && f[1] == NULL) {
				if (fragment != NULL) {
					*fragment = (size_t)n;
					*fragment_file = isc_xstrdup(*f);
				}
				break;
			}
			if (line[n - 1] == '\n')
				line[--n] = 0;
			int r = cb(line, (size_t)n, data);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

struct read_ctx {
	isc_trail_record_cb cb;
	void *data;
};

static int read_line(char *line, size_t len, void *data)
{
	struct read_ctx *c = data;
	json_t *j = json_loadb(line, len, 0, NULL);
	int r = c->cb(json_is_object(j) ? j : NULL, line, c->data);
	json_decref(j);
	return r;
}

int isc_trail_read(const char *dir, isc_trail_record_cb cb, void *data, isc_error **err)
{
	struct read_ctx c = { cb, data };
	return each_line(dir, read_line, &c, NULL, NULL, err);
}

void isc_trail_report_clear(struct isc_trail_report *r)
{
	free(r->problem);
	free(r->note);
	memset(r, 0, sizeof(*r));
}

struct verify_ctx {
	struct isc_trail_report *r;
	bool have_key, started, after_seal;
	unsigned char k0[32], key[32];
	uint64_t key_epoch;
	uint64_t seq, epoch, seal_next;
	unsigned char prev[32];
};

static int bad(struct verify_ctx *c, uint64_t seq, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct verify_ctx *c, uint64_t seq, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = isc_xvasprintf(fmt, ap);
	va_end(ap);
	c->r->intact = false;
	c->r->first_bad_seq = seq;
	c->r->problem = m;
	return 1;
}

/* The first record read: seq 0 must be the trail-start record (and name
 * the key given); a later seq must be a rotate record (the files before
 * it were removed by retention), whose "prev" anchors the chain. */
static int verify_first(struct verify_ctx *c, json_t *j, uint64_t seq, uint64_t epoch, const char *type)
{
	c->started = true;
	c->r->first_seq = seq;
	c->epoch = epoch;
	c->seq = seq;
	if (seq != 0) {
		const char *prev = NULL;
		if (strcmp(type, "rotate") != 0 || json_unpack(j, "{s:s}", "prev", &prev) < 0 || strlen(prev) != 64 ||
		    isc_trail_unhex(prev, c->prev, 32) < 0)
			return bad(c, seq, "the oldest file does not start at seq 0 or with a rotate record");
		c->r->note = isc_xasprintf("records before seq %" PRIu64 " were removed by retention; the chain is "
					   "checked from there",
					   seq);
		return 0;
	}
	if (strcmp(type, "trail-start") != 0)
		return bad(c, 0, "record 0 is not the trail-start record");
	if (!c->have_key)
		return 0;
	const char *kid = NULL;
	char mine[17];
	isc_trail_key_id(c->k0, mine);
	if (json_unpack(j, "{s:s}", "key_id", &kid) < 0 || strcmp(kid, mine) != 0)
		return bad(c, 0, "the verification key does not belong to this trail (key id %s, trail's %s)", mine,
			   kid ? kid : "none");
	return 0;
}

/* A record's epoch: the same as the one before, or the next one a seal
 * announced; and its MAC under that epoch's key. */
static int verify_epoch(struct verify_ctx *c, uint64_t want, uint64_t epoch, const unsigned char h[32],
			const unsigned char mac[32])
{
	if (epoch != c->epoch) {
		if (!c->after_seal || epoch != c->seal_next)
			return bad(c, want,
				   "record %" PRIu64 ": epoch %" PRIu64 " follows epoch %" PRIu64 " without a seal",
				   want, epoch, c->epoch);
		c->epoch = epoch;
	} else if (c->after_seal) {
		return bad(c, want, "record %" PRIu64 " follows the seal of its own epoch %" PRIu64, want, c->epoch);
	}
	if (!c->have_key)
		return 0;
	while (c->key_epoch < c->epoch) {
		isc_trail_key_evolve(c->key);
		c->key_epoch++;
	}
	unsigned char m[32];
	isc_hmac_sha256(c->key, 32, h, 32, m);
	if (memcmp(m, mac, 32) != 0)
		return bad(c, want, "record %" PRIu64 ": the seal (MAC) of epoch %" PRIu64 " does not match", want,
			   c->epoch);
	return 0;
}

/* The checks of one record after its form: order, chain, epoch and MAC,
 * and a seal's announcement of the next epoch. */
static int verify_record(struct verify_ctx *c, json_t *j, const char *line, size_t len, const unsigned char hash[32],
			 const unsigned char mac[32])
{
	json_int_t seq = -1, epoch = -1;
	const char *type = NULL;
	uint64_t want = c->started ? c->seq : 0;
	if (json_unpack(j, "{s:I,s:I,s:s}", "seq", &seq, "epoch", &epoch, "type", &type) < 0 || seq < 0 || epoch < 0)
		return bad(c, want, "record %" PRIu64 " does not parse", want);
	int r;
	if (!c->started && (r = verify_first(c, j, (uint64_t)seq, (uint64_t)epoch, type)) != 0)
		return r;
	want = c->seq;
	if ((uint64_t)seq != want)
		return bad(c, want,
			   (uint64_t)seq > want ? "record %" PRIu64 " is missing (found seq %" PRIu64 " in its place)"
						: "record %" PRIu64 " is out of order (found seq %" PRIu64
						  " in its place)",
			   want, (uint64_t)seq);
	unsigned char h[32];
	isc_trail_chain(c->prev, line, len - SUFFIX_LEN, h);
	if (memcmp(h, hash, 32) != 0)
		return bad(c, want, "record %" PRIu64 ": content or chain does not match its hash", want);
	if ((r = verify_epoch(c, want, (uint64_t)epoch, h, mac)) != 0)
		return r;
	c->after_seal = false;
	if (strcmp(type, "seal") == 0) {
		json_int_t next = -1;
		if (json_unpack(j, "{s:I}", "next", &next) < 0 || (uint64_t)next <= c->epoch)
			return bad(c, want, "record %" PRIu64 ": malformed seal", want);
		c->after_seal = true;
		c->seal_next = (uint64_t)next;
		c->r->seals++;
	}
	memcpy(c->prev, h, 32);
	c->seq++;
	c->r->records++;
	return 0;
}

/* One line: the sealed suffix's form, then the record's checks. */
static int verify_line(char *line, size_t len, void *data)
{
	struct verify_ctx *c = data;
	uint64_t want = c->started ? c->seq : 0;
	if (len == 0)
		return bad(c, want, "empty line where record %" PRIu64 " should be", want);
	if (len <= SUFFIX_LEN || memcmp(line + len - SUFFIX_LEN, ",\"hash\":\"", 9) != 0 ||
	    memcmp(line + len - SUFFIX_LEN + 9 + 64, "\",\"mac\":\"", 9) != 0 || memcmp(line + len - 2, "\"}", 2) != 0)
		return bad(c, want, "record %" PRIu64 " is not a sealed trail line", want);
	unsigned char hash[32], mac[32];
	if (isc_trail_unhex(line + len - SUFFIX_LEN + 9, hash, 32) < 0 || isc_trail_unhex(line + len - 66, mac, 32) < 0)
		return bad(c, want, "record %" PRIu64 ": malformed hash or mac", want);
	json_t *j = json_loadb(line, len, 0, NULL);
	if (j == NULL)
		return bad(c, want, "record %" PRIu64 " does not parse", want);
	int ret = verify_record(c, j, line, len, hash, mac);
	json_decref(j);
	return ret;
}

int isc_trail_verify(const char *dir, const char *key_hex, struct isc_trail_report *r, isc_error **err)
{
	struct verify_ctx c = { .r = r };
	memset(r, 0, sizeof(*r));
	r->intact = true;
	if (key_hex) {
		if (strlen(key_hex) != 64 || isc_trail_unhex(key_hex, c.k0, 32) < 0)
			return isc_error_set(err, EINVAL, "verification key: 64 lowercase hex digits expected");
		memcpy(c.key, c.k0, 32);
		c.have_key = true;
		r->macs_checked = true;
	}
	/* the state, read before the files: a writer may append meanwhile */
	struct seal_state st;
	bool have_state = false;
	{
		cleanup_free char *p = isc_xasprintf("%s/" STATE_NAME, dir);
		cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		have_state = fd >= 0 && isc_trail_state_read(fd, &st, NULL) == 0;
	}
	size_t fragment = 0;
	cleanup_free char *fragment_file = NULL;
	int rc = each_line(dir, verify_line, &c, &fragment, &fragment_file, err);
	explicit_bzero(c.key, sizeof(c.key));
	explicit_bzero(c.k0, sizeof(c.k0));
	if (rc < 0)
		return -1;
	if (fragment > 0) {
		/* said in the summary, never dropped without a word */
		char *n =
			isc_xasprintf("%s%sthe last line of %s (%zu bytes) has no newline: a record being written, or "
				      "cut by a crash; not checked",
				      r->note ? r->note : "", r->note ? "; " : "", fragment_file, fragment);
		free(r->note);
		r->note = n;
	}
	if (!r->intact)
		goto done;
	if (!c.started) {
		if (have_state) { /* a trail begins with its trail-start record */
			bad(&c, 0,
			    "the trail has no records, but the sealing state counts %" PRIu64 ": they were removed",
			    st.seq);
			goto done;
		}
		explicit_bzero(&st, sizeof(st));
		return isc_error_set(err, 0, "trail %s: empty: no records to verify yet", dir);
	}
	if (have_state && st.seq > c.seq) {
		bad(&c, c.seq,
		    "the trail ends before record %" PRIu64 ", but the sealing state counts %" PRIu64
		    " records: the tail was cut",
		    c.seq, st.seq);
		goto done;
	}
	if (have_state && st.seq == c.seq && memcmp(st.hash, c.prev, 32) != 0) {
		bad(&c, c.seq - 1, "record %" PRIu64 " differs from the one the sealing state recorded", c.seq - 1);
		goto done;
	}
	if (!have_state && r->note == NULL)
		r->note = isc_xasprintf("no sealing state (%s/" STATE_NAME "): a cut tail cannot be told", dir);
done:
	explicit_bzero(&st, sizeof(st));
	return 0;
}
