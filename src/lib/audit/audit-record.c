/* SPDX-License-Identifier: GPL-2.0-or-later
 * Kernel audit record text -> JSON events (audit-record.h).  Everything here
 * reads untrusted text (what a container ran): bounds checked, no system
 * calls, fuzzed. */
#include "audit/audit-record.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit-id.h"
#include "base/util.h"

#define ASM_SLOTS 64
#define ASM_MAX_RECORDS 32
#define ASM_MAX_BYTES (1u << 20)

int isc_audit_record_header(const char *text, size_t len, uint64_t *sec, uint32_t *msec, uint64_t *serial)
{
	size_t i = 0;
	if (len < 6 || memcmp(text, "audit(", 6) != 0)
		return -1;
	i = 6;
	uint64_t s = 0, m = 0, n = 0;
	int digits = 0;
	while (i < len && text[i] >= '0' && text[i] <= '9' && digits < 19)
		s = s * 10 + (uint64_t)(text[i++] - '0'), digits++;
	if (digits == 0 || i >= len || text[i++] != '.')
		return -1;
	digits = 0;
	while (i < len && text[i] >= '0' && text[i] <= '9' && digits < 9)
		m = m * 10 + (uint64_t)(text[i++] - '0'), digits++;
	if (digits == 0 || i >= len || text[i++] != ':')
		return -1;
	digits = 0;
	while (i < len && text[i] >= '0' && text[i] <= '9' && digits < 19)
		n = n * 10 + (uint64_t)(text[i++] - '0'), digits++;
	if (digits == 0 || i + 1 >= len + 1 || i >= len || text[i++] != ')')
		return -1;
	if (i < len && text[i] == ':')
		i++;
	while (i < len && text[i] == ' ')
		i++;
	*sec = s;
	*msec = (uint32_t)(m % 1000);
	*serial = n;
	return (int)i;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *isc_audit_unhex(const char *s, size_t len, size_t *outlen)
{
	if (len % 2 != 0)
		return NULL;
	char *o = isc_xmalloc0(len / 2 + 1);
	for (size_t i = 0; i < len; i += 2) {
		int a = hexval(s[i]), b = hexval(s[i + 1]);
		if (a < 0 || b < 0) {
			free(o);
			return NULL;
		}
		o[i / 2] = (char)(a << 4 | b);
	}
	if (outlen)
		*outlen = len / 2;
	return o;
}

/* Fields whose values the kernel logs as untrusted strings: quoted when
 * plain, hex-encoded otherwise. */
static bool string_field(const char *key, size_t kl)
{
	static const char *const names[] = { "comm", "exe", "cwd",  "name", "proctitle",
					     "key",  "cmd", "acct", "exe",  "data" };
	if (kl >= 2 && key[0] == 'a' && key[1] >= '0' && key[1] <= '9')
		return true; /* a0, a1[2] */
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == kl && memcmp(names[i], key, kl) == 0)
			return true;
	return false;
}

typedef bool (*kv_cb)(const char *k, size_t kl, const char *v, size_t vl, bool quoted, void *data);

/* Walk key=value pairs; stops when cb returns false. */
static void kv_walk(const char *b, size_t len, kv_cb cb, void *data)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && b[i] == ' ')
			i++;
		size_t k = i;
		while (i < len && b[i] != '=' && b[i] != ' ')
			i++;
		if (i >= len || b[i] != '=') {
			continue;
		}
		size_t kl = i - k;
		i++;
		size_t v, vl;
		bool quoted = false;
		if (i < len && (b[i] == '"' || b[i] == '\'')) {
			char q = b[i++];
			v = i;
			while (i < len && b[i] != q)
				i++;
			vl = i - v;
			if (i < len)
				i++;
			quoted = true;
		} else {
			v = i;
			while (i < len && b[i] != ' ')
				i++;
			vl = i - v;
		}
		if (kl > 0 && !cb(b + k, kl, b + v, vl, quoted, data))
			return;
	}
}

static char *decode_value(const char *k, size_t kl, const char *v, size_t vl, bool quoted)
{
	if (!quoted && string_field(k, kl) && vl > 0 && !(vl == 6 && memcmp(v, "(null)", 6) == 0)) {
		char *d = isc_audit_unhex(v, vl, NULL);
		if (d)
			return d;
	}
	return strndup(v, vl) ?: (abort(), NULL);
}

struct find_ctx {
	const char *key;
	size_t kl;
	char *out;
};

static bool find_cb(const char *k, size_t kl, const char *v, size_t vl, bool quoted, void *data)
{
	struct find_ctx *c = data;
	if (kl != c->kl || memcmp(k, c->key, kl) != 0)
		return true;
	c->out = decode_value(k, kl, v, vl, quoted);
	return false;
}

char *isc_audit_field(const char *body, size_t len, const char *key)
{
	struct find_ctx c = { key, strlen(key), NULL };
	kv_walk(body, len, find_cb, &c);
	return c.out;
}

struct argv_ctx {
	long argc;
	char **args; /* argc slots */
	size_t *lens;
	bool bad;
};

static bool argv_cb(const char *k, size_t kl, const char *v, size_t vl, bool quoted, void *data)
{
	struct argv_ctx *c = data;
	if (kl == 4 && memcmp(k, "argc", 4) == 0)
		return true;
	if (kl < 2 || k[0] != 'a')
		return true;
	/* aN, aN_len, aN[i] */
	size_t i = 1;
	uint64_t n = 0;
	while (i < kl && k[i] >= '0' && k[i] <= '9' && n < 1u << 24)
		n = n * 10 + (uint64_t)(k[i++] - '0');
	if (i == 1 || (long)n >= c->argc)
		return true;
	if (i < kl && k[i] == '_')
		return true; /* aN_len: the chunks say it all */
	bool chunk = i < kl && k[i] == '[';
	if (!chunk && i != kl)
		return true;
	size_t dl = 0;
	char *d;
	if (!quoted && vl > 0) {
		d = isc_audit_unhex(v, vl, &dl);
		if (d == NULL) {
			d = strndup(v, vl);
			dl = d ? strlen(d) : 0;
		}
	} else {
		d = strndup(v, vl);
		dl = d ? strlen(d) : 0; /* the text may hold a NUL */
	}
	if (d == NULL)
		abort();
	if (chunk && c->args[n]) {
		if (c->lens[n] + dl > ASM_MAX_BYTES) {
			free(d);
			return true;
		}
		char *m = realloc(c->args[n], c->lens[n] + dl + 1);
		if (m == NULL)
			abort();
		memcpy(m + c->lens[n], d, dl + 1);
		c->args[n] = m;
		c->lens[n] += dl;
		free(d);
	} else {
		free(c->args[n]);
		c->args[n] = d;
		c->lens[n] = dl;
	}
	return true;
}

/* A JSON string from l bytes: as they are when they are UTF-8, else every
 * byte outside printable ASCII as \xNN (kept readable). */
static json_t *jstr_n(const char *s, size_t l)
{
	json_t *j = json_stringn(s, l);
	if (j)
		return j;
	char *esc = isc_xmalloc0(l * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < l; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch < 0x7f)
			esc[o++] = (char)ch;
		else
			o += (size_t)sprintf(esc + o, "\\x%02x", ch);
	}
	j = json_stringn(esc, o);
	free(esc);
	return j ? j : json_string("");
}

json_t *isc_audit_execve_argv(const char *body, size_t len)
{
	cleanup_free char *argc_s = isc_audit_field(body, len, "argc");
	uint64_t argc;
	if (argc_s == NULL || isc_parse_u64(argc_s, &argc) < 0 || argc > 65536)
		return NULL;
	struct argv_ctx c = { (long)argc, isc_xmalloc0((argc + 1) * sizeof(char *)),
			      isc_xmalloc0((argc + 1) * sizeof(size_t)), false };
	kv_walk(body, len, argv_cb, &c);
	json_t *a = json_array();
	for (uint64_t i = 0; i < argc; i++) {
		/* arguments are bytes: invalid UTF-8 is kept readable as \xNN */
		const char *s = c.args[i] ? c.args[i] : "";
		size_t l = c.args[i] ? c.lens[i] : 0;
		json_array_append_new(a, jstr_n(s, l));
		free(c.args[i]);
	}
	free(c.args);
	free(c.lens);
	return a;
}

void isc_audit_time_format(uint64_t sec, uint32_t msec, char out[64])
{
	struct tm tm;
	time_t t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, msec % 1000);
}

/* ---- events ---- */

/* A JSON string from bytes that may not be UTF-8. */
static json_t *jstr(const char *s)
{
	return jstr_n(s, strlen(s));
}

static void set_num(json_t *ev, const char *name, const char *body, size_t len, const char *key)
{
	cleanup_free char *v = isc_audit_field(body, len, key);
	int64_t n;
	if (v && isc_parse_i64(v, &n) == 0)
		json_object_set_new(ev, name, json_integer(n));
}

static void set_str(json_t *ev, const char *name, const char *body, size_t len, const char *key)
{
	cleanup_free char *v = isc_audit_field(body, len, key);
	if (v && strcmp(v, "(null)") != 0)
		json_object_set_new(ev, name, jstr(v));
}

struct rec {
	int type;
	char *body;
	size_t len;
};

struct slot {
	bool used;
	uint64_t serial, sec;
	uint32_t msec;
	size_t n;
	size_t bytes;
	struct rec r[ASM_MAX_RECORDS];
};

struct isc_audit_asm {
	struct slot s[ASM_SLOTS];
	uint64_t malformed;
};

struct isc_audit_asm *isc_audit_asm_new(void)
{
	return isc_xmalloc0(sizeof(struct isc_audit_asm));
}

static void slot_clear(struct slot *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->r[i].body);
	memset(s, 0, sizeof(*s));
}

void isc_audit_asm_free(struct isc_audit_asm *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < ASM_SLOTS; i++)
		slot_clear(&a->s[i]);
	free(a);
}

uint64_t isc_audit_asm_malformed(const struct isc_audit_asm *a)
{
	return a->malformed;
}

static const char *arch_name(const char *hex)
{
	if (hex == NULL)
		return NULL;
	if (strcmp(hex, "c000003e") == 0)
		return "x86_64";
	if (strcmp(hex, "40000003") == 0)
		return "i386";
	return hex;
}

static json_t *build_event(struct slot *s)
{
	char t[64];
	isc_audit_time_format(s->sec, s->msec, t);
	json_t *ev = json_object();
	json_object_set_new(ev, "time", json_string(t));
	json_object_set_new(ev, "serial", json_integer((json_int_t)s->serial));
	struct rec *sys = NULL, *login = NULL, *cwd = NULL, *user = NULL;
	size_t execve_len = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct rec *r = &s->r[i];
		if (r->type == ISC_AUDIT_SYSCALL && !sys)
			sys = r;
		else if (r->type == ISC_AUDIT_LOGIN && !login)
			login = r;
		else if (r->type == ISC_AUDIT_CWD && !cwd)
			cwd = r;
		else if (r->type == ISC_AUDIT_EXECVE)
			execve_len += r->len + 1;
		else if (((r->type >= ISC_AUDIT_FIRST_USER_MSG && r->type <= ISC_AUDIT_LAST_USER_MSG) ||
			  (r->type >= ISC_AUDIT_FIRST_USER_MSG2 && r->type <= ISC_AUDIT_LAST_USER_MSG2)) &&
			 !user)
			user = r;
	}
	bool sys_exec = false;
	if (sys) {
		cleanup_free char *sc0 = isc_audit_field(sys->body, sys->len, "syscall");
		sys_exec =
			sc0 && (!strcmp(sc0, "59") || !strcmp(sc0, "322") || !strcmp(sc0, "11") || !strcmp(sc0, "358"));
	}
	if (login && !sys_exec) {
		/* a loginuid written (or refused): the task keeps old-auid when
		 * refused, so that is where the event belongs */
		json_object_set_new(ev, "type", json_string("loginuid"));
		set_num(ev, "pid", login->body, login->len, "pid");
		set_num(ev, "uid", login->body, login->len, "uid");
		set_num(ev, "old_auid", login->body, login->len, "old-auid");
		set_num(ev, "requested_auid", login->body, login->len, "auid");
		set_num(ev, "ses", login->body, login->len, "ses");
		set_num(ev, "old_ses", login->body, login->len, "old-ses");
		cleanup_free char *res = isc_audit_field(login->body, login->len, "res");
		bool ok = res && strcmp(res, "1") == 0;
		json_object_set_new(ev, "result", json_string(ok ? "success" : "failed"));
		set_num(ev, "auid", login->body, login->len, ok ? "auid" : "old-auid");
		if (sys) {
			set_str(ev, "comm", sys->body, sys->len, "comm");
			set_str(ev, "exe", sys->body, sys->len, "exe");
		}
	} else if (sys) {
		cleanup_free char *sc = isc_audit_field(sys->body, sys->len, "syscall");
		cleanup_free char *arch = isc_audit_field(sys->body, sys->len, "arch");
		const char *an = arch_name(arch);
		bool exec = sc && ((strcmp(sc, "59") == 0 || strcmp(sc, "322") == 0) && an && !strcmp(an, "x86_64"));
		exec = exec || (sc && (strcmp(sc, "11") == 0 || strcmp(sc, "358") == 0) && an && !strcmp(an, "i386"));
		json_object_set_new(ev, "type", json_string(exec ? "exec" : "syscall"));
		if (exec)
			json_object_set_new(
				ev, "syscall",
				json_string(strcmp(sc, "59") == 0 || strcmp(sc, "11") == 0 ? "execve" : "execveat"));
		else if (sc)
			json_object_set_new(ev, "syscall", json_string(sc));
		if (an)
			json_object_set_new(ev, "arch", json_string(an));
		set_num(ev, "auid", sys->body, sys->len, "auid");
		set_num(ev, "ses", sys->body, sys->len, "ses");
		set_num(ev, "pid", sys->body, sys->len, "pid");
		set_num(ev, "ppid", sys->body, sys->len, "ppid");
		set_num(ev, "uid", sys->body, sys->len, "uid");
		set_num(ev, "euid", sys->body, sys->len, "euid");
		set_num(ev, "gid", sys->body, sys->len, "gid");
		set_str(ev, "tty", sys->body, sys->len, "tty");
		set_str(ev, "comm", sys->body, sys->len, "comm");
		set_str(ev, "exe", sys->body, sys->len, "exe");
		set_str(ev, "key", sys->body, sys->len, "key");
		cleanup_free char *succ = isc_audit_field(sys->body, sys->len, "success");
		if (succ)
			json_object_set_new(ev, "result", json_string(strcmp(succ, "yes") == 0 ? "success" : "failed"));
		set_num(ev, "exit", sys->body, sys->len, "exit");
	} else if (user) {
		json_object_set_new(ev, "type", json_string("user"));
		json_object_set_new(ev, "kernel_type", json_integer(user->type));
		set_num(ev, "pid", user->body, user->len, "pid");
		set_num(ev, "uid", user->body, user->len, "uid");
		set_num(ev, "auid", user->body, user->len, "auid");
		set_num(ev, "ses", user->body, user->len, "ses");
		set_str(ev, "msg", user->body, user->len, "msg");
	} else {
		json_object_set_new(ev, "type", json_string("other"));
		json_object_set_new(ev, "kernel_type", json_integer(s->n ? s->r[0].type : 0));
	}
	if (login && sys)
		json_object_set_new(ev, "loginuid_set", json_true());
	if (execve_len > 0 && execve_len < ASM_MAX_BYTES) {
		char *all = isc_xmalloc0(execve_len + 1);
		size_t o = 0;
		for (size_t i = 0; i < s->n; i++)
			if (s->r[i].type == ISC_AUDIT_EXECVE) {
				memcpy(all + o, s->r[i].body, s->r[i].len);
				o += s->r[i].len;
				all[o++] = ' ';
			}
		json_t *argv = isc_audit_execve_argv(all, o);
		free(all);
		if (argv)
			json_object_set_new(ev, "argv", argv);
	}
	if (cwd)
		set_str(ev, "cwd", cwd->body, cwd->len, "cwd");
	return ev;
}

static void emit(struct slot *s, json_t *out)
{
	json_array_append_new(out, build_event(s));
	slot_clear(s);
}

static bool standalone(int type)
{
	return (type >= ISC_AUDIT_FIRST_USER_MSG && type <= ISC_AUDIT_LAST_USER_MSG) ||
	       (type >= ISC_AUDIT_FIRST_USER_MSG2 && type <= ISC_AUDIT_LAST_USER_MSG2);
}

int isc_audit_asm_add(struct isc_audit_asm *a, int type, const char *text, size_t len, json_t *out)
{
	uint64_t sec, serial;
	uint32_t msec;
	int off = isc_audit_record_header(text, len, &sec, &msec, &serial);
	if (off < 0) {
		a->malformed++;
		return -1;
	}
	struct slot *s = NULL, *oldest = NULL, *free_slot = NULL;
	for (size_t i = 0; i < ASM_SLOTS; i++) {
		struct slot *c = &a->s[i];
		if (!c->used) {
			if (!free_slot)
				free_slot = c;
			continue;
		}
		if (c->serial == serial && c->sec == sec) {
			s = c;
			break;
		}
		if (!oldest || c->serial < oldest->serial)
			oldest = c;
	}
	if (type == ISC_AUDIT_EOE) {
		if (s)
			emit(s, out);
		return 0;
	}
	if (s == NULL) {
		if (free_slot == NULL) {
			emit(oldest, out); /* pushed out: emitted as it is */
			free_slot = oldest;
		}
		s = free_slot;
		s->used = true;
		s->serial = serial;
		s->sec = sec;
		s->msec = msec;
	}
	if (s->n < ASM_MAX_RECORDS && s->bytes + len <= ASM_MAX_BYTES) {
		s->r[s->n].type = type;
		s->r[s->n].len = len - (size_t)off;
		s->r[s->n].body = isc_xmalloc0(s->r[s->n].len + 1);
		memcpy(s->r[s->n].body, text + off, s->r[s->n].len);
		s->bytes += len;
		s->n++;
	}
	if (standalone(type))
		emit(s, out);
	return 0;
}

void isc_audit_asm_flush(struct isc_audit_asm *a, uint64_t now_ms, uint64_t age_ms, json_t *out)
{
	for (size_t i = 0; i < ASM_SLOTS; i++) {
		struct slot *s = &a->s[i];
		if (s->used && (age_ms == 0 || s->sec * 1000 + s->msec + age_ms <= now_ms))
			emit(s, out);
	}
}

uint32_t isc_audit_event_auid(json_t *ev)
{
	json_t *a = json_object_get(ev, "auid");
	if (!json_is_integer(a) || json_integer_value(a) < 0 || json_integer_value(a) > (json_int_t)UINT32_MAX)
		return ISC_AUDIT_ID_UNSET;
	return (uint32_t)json_integer_value(a);
}

const char *isc_audit_names_lookup(json_t *names, uint32_t auid)
{
	char k[16];
	snprintf(k, sizeof(k), "%u", auid);
	json_t *v = json_object_get(names, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}
