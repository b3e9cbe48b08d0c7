/* SPDX-License-Identifier: GPL-2.0-or-later
 * The tamper-evident audit trail (trail.h, docs/audit.md): an append-only
 * JSON-lines file, a SHA-256 hash chain over the records and forward-secure
 * sealing with a key that evolves every epoch.  This file writes it
 * (records, seals, rotation, the sealing state, create and open);
 * trail-verify.c reads and checks it. */
#include "audit/trail.h"
#include "audit/trail-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/util.h"

#define STATE_SIZE 1024
#define DEFAULT_EPOCH 900
#define DEFAULT_ROTATE (64ull << 20)
#define PENDING_MAX (64u << 20) /* bytes buffered while the disk refuses */

static const char evolve_label[] = "isc-trail evolve";
static const char keyid_label[] = "isc-trail key id";

void isc_hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t len, unsigned char out[32])
{
	unsigned char k[64] = { 0 }, pad[64], inner[32];
	struct isc_sha256 s;
	if (keylen > 64)
		isc_sha256(key, keylen, k);
	else
		memcpy(k, key, keylen);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	isc_sha256_init(&s);
	isc_sha256_update(&s, pad, 64);
	isc_sha256_update(&s, msg, len);
	isc_sha256_final(&s, inner);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	isc_sha256_init(&s);
	isc_sha256_update(&s, pad, 64);
	isc_sha256_update(&s, inner, 32);
	isc_sha256_final(&s, out);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
}

void isc_trail_key_evolve(unsigned char key[32])
{
	struct isc_sha256 s;
	isc_sha256_init(&s);
	isc_sha256_update(&s, evolve_label, sizeof(evolve_label) - 1);
	isc_sha256_update(&s, key, 32);
	isc_sha256_final(&s, key);
	explicit_bzero(&s, sizeof(s));
}

void isc_trail_key_id(const unsigned char k0[32], char out[17])
{
	unsigned char d[32];
	char hex[65];
	struct isc_sha256 s;
	isc_sha256_init(&s);
	isc_sha256_update(&s, keyid_label, sizeof(keyid_label) - 1);
	isc_sha256_update(&s, k0, 32);
	isc_sha256_final(&s, d);
	isc_sha256_hex(d, hex);
	memcpy(out, hex, 16);
	out[16] = 0;
}

int isc_trail_unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + j];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return s[2 * n] == 0 || s[2 * n] == '"' ? 0 : -1;
}

void isc_trail_chain(const unsigned char prev[32], const char *body, size_t bodylen, unsigned char out[32])
{
	struct isc_sha256 s;
	isc_sha256_init(&s);
	isc_sha256_update(&s, prev, 32);
	isc_sha256_update(&s, body, bodylen);
	isc_sha256_update(&s, "}", 1);
	isc_sha256_final(&s, out);
}

/* ---- the sealing state: one fixed-size block, overwritten in place so that
 * the old key is not left behind in a renamed-away file ---- */

static int state_write(int fd, const struct seal_state *st, isc_error **err)
{
	char key[65], hash[65], buf[STATE_SIZE];
	isc_sha256_hex(st->key, key);
	isc_sha256_hex(st->hash, hash);
	int n = snprintf(buf, sizeof(buf),
			 "{\"version\":1,\"epoch_seconds\":%u,\"t0\":%" PRId64 ",\"epoch\":%" PRIu64
			 ",\"key\":\"%s\",\"seq\":%" PRIu64 ",\"hash\":\"%s\",\"epoch_records\":%" PRIu64
			 ",\"rotate_bytes\":%" PRIu64 ",\"keep_files\":%u,\"file_first_seq\":%" PRIu64 "}",
			 st->epoch_seconds, st->t0, st->epoch, key, st->seq, hash, st->epoch_records, st->rotate_bytes,
			 st->keep_files, st->file_first_seq);
	explicit_bzero(key, sizeof(key));
	memset(buf + n, ' ', sizeof(buf) - (size_t)n - 1);
	buf[sizeof(buf) - 1] = '\n';
	ssize_t w = pwrite(fd, buf, sizeof(buf), 0);
	explicit_bzero(buf, sizeof(buf));
	if (w != (ssize_t)sizeof(buf))
		return isc_error_set(err, w < 0 ? errno : EIO, "write " STATE_NAME);
	if (fdatasync(fd) < 0)
		return isc_error_set(err, errno, "fdatasync " STATE_NAME);
	return 0;
}

int isc_trail_state_read(int fd, struct seal_state *st, isc_error **err)
{
	char buf[STATE_SIZE + 1];
	ssize_t r = pread(fd, buf, STATE_SIZE, 0);
	if (r < 0)
		return isc_error_set(err, errno, "read " STATE_NAME);
	buf[r] = 0;
	json_error_t je;
	json_t *j = json_loads(buf, JSON_DISABLE_EOF_CHECK, &je);
	explicit_bzero(buf, sizeof(buf));
	if (j == NULL)
		return isc_error_set(err, EINVAL, STATE_NAME ": %s", je.text);
	json_int_t es = 0, t0 = 0, ep = 0, seq = 0, er = 0, rb = 0, kf = 0, ffs = 0;
	const char *key = NULL, *hash = NULL;
	int u = json_unpack(j, "{s:I,s:I,s:I,s:s,s:I,s:s,s:I,s:I,s:I,s:I}", "epoch_seconds", &es, "t0", &t0, "epoch",
			    &ep, "key", &key, "seq", &seq, "hash", &hash, "epoch_records", &er, "rotate_bytes", &rb,
			    "keep_files", &kf, "file_first_seq", &ffs);
	int bad = u < 0 || es <= 0 || ep < 0 || seq < 0 || strlen(key) != 64 || strlen(hash) != 64 ||
		  isc_trail_unhex(key, st->key, 32) < 0 || isc_trail_unhex(hash, st->hash, 32) < 0;
	json_decref(j);
	if (bad)
		return isc_error_set(err, EINVAL, STATE_NAME ": malformed");
	st->epoch_seconds = (uint32_t)es;
	st->t0 = t0;
	st->epoch = (uint64_t)ep;
	st->seq = (uint64_t)seq;
	st->epoch_records = (uint64_t)er;
	st->rotate_bytes = (uint64_t)rb;
	st->keep_files = (uint32_t)kf;
	st->file_first_seq = (uint64_t)ffs;
	return 0;
}

/* ---- record formatting ---- */

static void time_now(char out[ISC_RFC3339_LEN])
{
	isc_rfc3339_format(out);
}

/* The line for `fields` with seq/epoch, hash and mac; updates `hash`. */
static char *format_line(json_t *fields, uint64_t seq, uint64_t epoch, const unsigned char key[32],
			 unsigned char hash[32], size_t *len)
{
	json_t *f = json_deep_copy(fields);
	json_object_del(f, "seq");
	json_object_del(f, "epoch");
	json_object_del(f, "hash");
	json_object_del(f, "mac");
	if (!json_is_string(json_object_get(f, "time"))) {
		char t[ISC_RFC3339_LEN];
		time_now(t);
		json_object_set_new(f, "time", json_string(t));
	}
	char *rest = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(f);
	if (rest == NULL)
		abort();
	/* rest is "{...}" with at least "time" inside */
	char *body = isc_xasprintf("{\"seq\":%" PRIu64 ",\"epoch\":%" PRIu64 ",%s", seq, epoch, rest + 1);
	free(rest);
	size_t bl = strlen(body) - 1; /* without the closing brace */
	unsigned char h[32], mac[32];
	isc_trail_chain(hash, body, bl, h);
	isc_hmac_sha256(key, 32, h, 32, mac);
	char hh[65], mh[65];
	isc_sha256_hex(h, hh);
	isc_sha256_hex(mac, mh);
	body[bl] = 0;
	char *line = isc_xasprintf("%s,\"hash\":\"%s\",\"mac\":\"%s\"}\n", body, hh, mh);
	free(body);
	memcpy(hash, h, 32);
	*len = strlen(line);
	return line;
}

/* ---- the writer ---- */

struct isc_trail {
	char *dir;
	int dirfd, state_fd, fd;
	struct seal_state st;	/* in memory: ahead of the disk while records are buffered */
	struct seal_state disk; /* what seal.state holds */
	char *buf;
	size_t len, cap, n_pending;
	uint64_t file_size;
	uint64_t dropped; /* records refused while the buffer was full */
	bool failing;	  /* the last flush failed */
	char *failing_what, *failing_since;
};

static uint64_t clock_epoch(const struct seal_state *st, time_t now)
{
	if (now <= st->t0)
		return 0;
	return (uint64_t)(now - st->t0) / st->epoch_seconds;
}

static void buf_add(struct isc_trail *t, const char *line, size_t len)
{
	if (t->len + len > t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 65536;
		while (nc < t->len + len)
			nc *= 2;
		char *nb = realloc(t->buf, nc);
		if (nb == NULL)
			abort();
		t->buf = nb;
		t->cap = nc;
	}
	memcpy(t->buf + t->len, line, len);
	t->len += len;
	t->n_pending++;
}

/* Chain and buffer one record (no epoch handling). */
static void add_record(struct isc_trail *t, json_t *fields)
{
	size_t len;
	char *line = format_line(fields, t->st.seq, t->st.epoch, t->st.key, t->st.hash, &len);
	buf_add(t, line, len);
	free(line);
	t->st.seq++;
	t->st.epoch_records++;
}

static void seal_until(struct isc_trail *t, uint64_t next)
{
	json_t *f = json_pack("{s:s,s:I,s:I,s:I}", "type", "seal", "sealed_epoch", (json_int_t)t->st.epoch, "next",
			      (json_int_t)next, "records", (json_int_t)t->st.epoch_records + 1);
	add_record(t, f);
	json_decref(f);
	/* Forward security: the key of the sealed epoch is replaced by the next
	 * one and forgotten; the disk copy is overwritten at the next flush. */
	for (uint64_t e = t->st.epoch; e < next; e++)
		isc_trail_key_evolve(t->st.key);
	t->st.epoch = next;
	t->st.epoch_records = 0;
}

int isc_trail_tick(struct isc_trail *t, time_t now, isc_error **err)
{
	uint64_t e = clock_epoch(&t->st, now);
	if (e > t->st.epoch)
		seal_until(t, e);
	return 0;
}

int isc_trail_append(struct isc_trail *t, json_t *fields, isc_error **err)
{
	if (!json_is_object(fields))
		return isc_error_set(err, EINVAL, "trail record: not an object");
	if (t->failing && t->len > PENDING_MAX) {
		t->dropped++;
		return isc_error_set(err, ENOSPC, "trail %s: record dropped, %zu bytes waiting for the disk", t->dir,
				     t->len);
	}
	isc_trail_tick(t, time(NULL), NULL);
	add_record(t, fields);
	return 0;
}

size_t isc_trail_pending(const struct isc_trail *t)
{
	return t->n_pending;
}

uint64_t isc_trail_next_seq(const struct isc_trail *t)
{
	return t->st.seq;
}

static int open_trail_file(struct isc_trail *t, isc_error **err)
{
	t->fd = openat(t->dirfd, TRAIL_NAME, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (t->fd < 0)
		return isc_error_set(err, errno, "open %s/" TRAIL_NAME, t->dir);
	struct stat sb;
	if (fstat(t->fd, &sb) < 0)
		return isc_error_set(err, errno, "stat %s/" TRAIL_NAME, t->dir);
	t->file_size = (uint64_t)sb.st_size;
	return 0;
}

static void retention(struct isc_trail *t)
{
	if (t->st.keep_files == 0)
		return;
	cleanup_strv char **files = NULL;
	if (isc_trail_files(t->dir, &files, NULL) < 0)
		return;
	size_t n = isc_strvlen(files);
	size_t rotated = n ? n - 1 : 0; /* the last one is trail.jsonl */
	for (size_t i = 0; rotated > t->st.keep_files && i < n - 1; i++, rotated--)
		(void)unlink(files[i]);
}

static int rotate(struct isc_trail *t, isc_error **err)
{
	char name[64];
	snprintf(name, sizeof(name), "trail-%" PRIu64 ".jsonl", t->st.file_first_seq);
	if (renameat(t->dirfd, TRAIL_NAME, t->dirfd, name) < 0)
		return isc_error_set(err, errno, "rotate %s/" TRAIL_NAME, t->dir);
	close(t->fd);
	t->fd = -1;
	if (open_trail_file(t, err) < 0)
		return -1;
	(void)fsync(t->dirfd);
	t->st.file_first_seq = t->st.seq;
	char ph[65];
	isc_sha256_hex(t->st.hash, ph);
	json_t *f = json_pack("{s:s,s:s,s:s}", "type", "rotate", "prev", ph, "prev_file", name);
	add_record(t, f);
	json_decref(f);
	retention(t);
	return 0;
}

static void disk_record(struct isc_trail *t, const char *state)
{
	char now[ISC_RFC3339_LEN];
	isc_rfc3339_format(now);
	json_t *f = json_pack("{s:s,s:s,s:s,s:I}", "type", "disk-full", "state", state, "problem",
			      t->failing_what ? t->failing_what : "write failed", "dropped", (json_int_t)t->dropped);
	if (t->failing_since)
		json_object_set_new(f, "since", json_string(t->failing_since));
	add_record(t, f);
	json_decref(f);
}

static bool seal_state_equal(const struct seal_state *a, const struct seal_state *b)
{
	return a->epoch_seconds == b->epoch_seconds && a->t0 == b->t0 && a->epoch == b->epoch &&
	       memcmp(a->key, b->key, sizeof(a->key)) == 0 && a->seq == b->seq &&
	       memcmp(a->hash, b->hash, sizeof(a->hash)) == 0 && a->epoch_records == b->epoch_records &&
	       a->rotate_bytes == b->rotate_bytes && a->keep_files == b->keep_files &&
	       a->file_first_seq == b->file_first_seq;
}

int isc_trail_flush(struct isc_trail *t, isc_error **err)
{
	if (t->len == 0 && seal_state_equal(&t->st, &t->disk))
		return 0;
	for (int pass = 0; pass < 3; pass++) {
		off_t before = (off_t)t->file_size;
		if (t->len > 0) {
			int r = isc_write_all(t->fd, t->buf, t->len);
			if (r == 0 && fdatasync(t->fd) < 0)
				r = -errno;
			if (r < 0) {
				/* never leave half a line behind: cut back to the last good record */
				if (ftruncate(t->fd, before) < 0) {
					/* nothing better to do; the next open cuts the partial line */
				}
				if (!t->failing) {
					/* loud, and in the trail itself: the record waits in
					 * the buffer with the others, in order */
					t->failing = true;
					free(t->failing_what);
					t->failing_what =
						isc_xasprintf("write %s/" TRAIL_NAME ": %s", t->dir, strerror(-r));
					char now[ISC_RFC3339_LEN];
					isc_rfc3339_format(now);
					free(t->failing_since);
					t->failing_since = isc_xstrdup(now);
					disk_record(t, "writing stopped");
				}
				return isc_error_set(err, -r, "write %s/" TRAIL_NAME " (%zu records waiting)", t->dir,
						     t->n_pending);
			}
			t->file_size += t->len;
			t->len = 0;
			t->n_pending = 0;
		}
		if (state_write(t->state_fd, &t->st, err) < 0)
			return isc_error_wrap(err, "trail %s", t->dir);
		t->disk = t->st;
		if (t->failing) {
			t->failing = false;
			disk_record(t, "writing resumed");
			t->dropped = 0;
			continue; /* write it */
		}
		if (t->file_size > t->st.rotate_bytes) {
			if (rotate(t, err) < 0)
				return -1;
			continue; /* write the rotate record */
		}
		break;
	}
	return 0;
}

/* ---- create / open ---- */

bool isc_trail_exists(const char *dir)
{
	cleanup_free char *p = isc_xasprintf("%s/" STATE_NAME, dir);
	return access(p, F_OK) == 0;
}

int isc_trail_create(const char *dir, const struct isc_trail_options *o, char key_hex[ISC_TRAIL_KEY_HEX],
		     isc_error **err)
{
	if (isc_mkdir_p(dir, 0700, err) < 0)
		return isc_error_wrap(err, "trail");
	cleanup_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return isc_error_set(err, errno, "open %s", dir);
	if (fchmod(dirfd, 0700) < 0)
		return isc_error_set(err, errno, "chmod %s", dir);
	cleanup_close int sfd = openat(dirfd, STATE_NAME, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sfd < 0)
		return isc_error_set(err, errno, "create trail %s/" STATE_NAME, dir);
	if (flock(sfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		unlinkat(dirfd, STATE_NAME, 0);
		return isc_error_set(err, e, "lock %s/" STATE_NAME, dir);
	}
	struct seal_state st = { 0 };
	unsigned char k0[32];
	if (getrandom(k0, sizeof(k0), 0) != sizeof(k0)) {
		int e = errno;
		unlinkat(dirfd, STATE_NAME, 0);
		return isc_error_set(err, e, "getrandom");
	}
	st.epoch_seconds = o && o->epoch_seconds ? o->epoch_seconds : DEFAULT_EPOCH;
	st.rotate_bytes = o && o->rotate_bytes ? o->rotate_bytes : DEFAULT_ROTATE;
	st.keep_files = o ? o->keep_files : 0;
	st.t0 = time(NULL);
	memcpy(st.key, k0, 32);
	char kid[17];
	isc_trail_key_id(k0, kid);
	json_t *f = json_pack("{s:s,s:I,s:I,s:s,s:I,s:i}", "type", "trail-start", "t0", (json_int_t)st.t0,
			      "epoch_seconds", (json_int_t)st.epoch_seconds, "key_id", kid, "rotate_bytes",
			      (json_int_t)st.rotate_bytes, "keep_files", (int)st.keep_files);
	size_t len;
	cleanup_free char *line = format_line(f, 0, 0, st.key, st.hash, &len);
	json_decref(f);
	st.seq = 1;
	st.epoch_records = 1;
	cleanup_close int fd =
		openat(dirfd, TRAIL_NAME, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r = fd < 0 ? -errno : isc_write_all(fd, line, len);
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r < 0 || state_write(sfd, &st, err) < 0) {
		if (r < 0)
			isc_error_set(err, -r, "create %s/" TRAIL_NAME, dir);
		unlinkat(dirfd, TRAIL_NAME, 0);
		unlinkat(dirfd, STATE_NAME, 0);
		explicit_bzero(k0, sizeof(k0));
		explicit_bzero(&st, sizeof(st));
		return -1;
	}
	(void)fsync(dirfd);
	isc_sha256_hex(k0, key_hex);
	explicit_bzero(k0, sizeof(k0));
	explicit_bzero(&st, sizeof(st));
	return 0;
}

/* After a crash: cut a partial last line; re-chain complete lines written
 * after the saved state.  Returns the number of records the file lacks
 * compared with the state (a cut tail), 0 normally. */
static int recover(struct isc_trail *t, uint64_t *missing, isc_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	*missing = 0;
	if (isc_read_file_at(t->dirfd, TRAIL_NAME, &data, &len, 1ull << 31, err) < 0)
		return isc_error_wrap(err, "trail %s", t->dir);
	size_t end = len;
	while (end > 0 && data[end - 1] != '\n')
		end--;
	if (end != len && ftruncate(t->fd, (off_t)end) < 0)
		return isc_error_set(err, errno, "cut the partial last line of %s/" TRAIL_NAME, t->dir);
	t->file_size = end;
	/* walk the lines; those with seq >= state.seq are newer than the state */
	uint64_t last_seq = UINT64_MAX;
	char *p = data;
	while (p < data + end) {
		char *nl = memchr(p, '\n', (size_t)(data + end - p));
		*nl = 0;
		size_t ll = (size_t)(nl - p);
		json_t *j = json_loads(p, 0, NULL);
		json_int_t seq = -1;
		if (j && json_unpack(j, "{s:I}", "seq", &seq) == 0 && seq >= 0) {
			last_seq = (uint64_t)seq;
			if ((uint64_t)seq == t->st.seq && ll > SUFFIX_LEN) {
				unsigned char h[32];
				isc_trail_chain(t->st.hash, p, ll - SUFFIX_LEN, h);
				memcpy(t->st.hash, h, 32);
				t->st.seq++;
				t->st.epoch_records++;
				const char *type = NULL;
				json_int_t next = 0;
				if (json_unpack(j, "{s:s,s:I}", "type", &type, "next", &next) == 0 &&
				    strcmp(type, "seal") == 0 && (uint64_t)next > t->st.epoch) {
					for (uint64_t e = t->st.epoch; e < (uint64_t)next; e++)
						isc_trail_key_evolve(t->st.key);
					t->st.epoch = (uint64_t)next;
					t->st.epoch_records = 0;
				}
			}
		}
		json_decref(j);
		p = nl + 1;
	}
	if (t->st.seq > t->st.file_first_seq && (last_seq == UINT64_MAX || last_seq + 1 < t->st.seq))
		*missing = t->st.seq - (last_seq == UINT64_MAX ? t->st.file_first_seq : last_seq + 1);
	return 0;
}

int isc_trail_open(const char *dir, struct isc_trail **out, isc_error **err)
{
	struct isc_trail *t = isc_xmalloc0(sizeof(*t));
	t->dir = isc_xstrdup(dir);
	t->state_fd = t->fd = -1;
	t->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0) {
		isc_error_set(err, errno, "open trail %s", dir);
		goto fail;
	}
	t->state_fd = openat(t->dirfd, STATE_NAME, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (t->state_fd < 0) {
		isc_error_set(err, errno, "open %s/" STATE_NAME, dir);
		goto fail;
	}
	/* one writer per trail */
	if (flock(t->state_fd, LOCK_EX | LOCK_NB) < 0) {
		isc_error_set(err, errno, "trail %s is open by another writer: lock " STATE_NAME, dir);
		goto fail;
	}
	if (isc_trail_state_read(t->state_fd, &t->st, err) < 0 || open_trail_file(t, err) < 0) {
		isc_error_wrap(err, "trail %s", dir);
		goto fail;
	}
	uint64_t missing = 0;
	if (recover(t, &missing, err) < 0)
		goto fail;
	t->disk = t->st;
	t->disk.seq = UINT64_MAX; /* force a state write at the first flush */
	if (missing > 0) {
		/* evidence stays in the trail: the writer carries on after the hole */
		json_t *f = json_pack("{s:s,s:I,s:s}", "type", "tamper", "missing", (json_int_t)missing, "problem",
				      "trail.jsonl ends before the sealing state: records were removed");
		add_record(t, f);
		json_decref(f);
	}
	*out = t;
	return 0;
fail:
	isc_trail_close(t);
	return -1;
}

void isc_trail_close(struct isc_trail *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0 && t->state_fd >= 0)
		(void)isc_trail_flush(t, NULL);
	if (t->fd >= 0)
		close(t->fd);
	if (t->state_fd >= 0)
		close(t->state_fd);
	if (t->dirfd >= 0)
		close(t->dirfd);
	explicit_bzero(&t->st, sizeof(t->st));
	explicit_bzero(&t->disk, sizeof(t->disk));
	free(t->buf);
	free(t->dir);
	free(t->failing_what);
	free(t->failing_since);
	free(t);
}
