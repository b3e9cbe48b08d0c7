/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target for the kernel audit record parser
 * (src/lib/audit-record.c): the text of an exec record is whatever a
 * container ran.  Each input line is one record: a decimal type, a space,
 * the record text ("1300 audit(1.2:3): ...").  Every event must serialise,
 * and what the parser takes out of a record is in it:
 *  - the header's end is within the record, after "audit(", and the
 *    seconds and serial it read are digits written there;
 *  - a field's value (isc_audit_field) is a token of the record: right
 *    after "KEY=" (or KEY=" / KEY='), ending where the record says (a space,
 *    the quote, the end); or, decoded from hex, the hex digits right after
 *    "KEY=";
 *  - an argv element not split in chunks is such a token (of aN=);
 *  - isc_audit_unhex round-trips: it accepts exactly even-length hex, and
 *    its bytes printed as hex are the input (any case). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *rec, size_t len, const char *value)
{
	fprintf(stderr, "fuzz-audit-record: %s\n  record: %.*s\n  value: %s\n", what, (int)len, rec,
		value ? value : "(none)");
	abort();
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Does `needle` occur in rec (case-insensitive when `nocase`), followed by
 * one of `ends` (or the end of rec; "" accepts anything after it)? */
static bool token_in(const char *rec, size_t len, const char *needle, size_t nl, bool nocase, const char *ends)
{
	for (size_t i = 0; nl <= len && i + nl <= len; i++) {
		if ((nocase ? strncasecmp(rec + i, needle, nl) : memcmp(rec + i, needle, nl)) != 0)
			continue;
		if (ends[0] == '\0' || i + nl == len || memchr(ends, rec[i + nl], strlen(ends) + 1 /* NUL too */))
			return true;
	}
	return false;
}

static char *hex(const char *s, size_t n)
{
	char *h = malloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++)
		snprintf(h + 2 * i, 3, "%02x", (unsigned char)s[i]);
	h[n * 2] = '\0';
	return h;
}

/* `value` of KEY came out of rec: "KEY=value" + space/end, KEY="value" or
 * KEY='value' + the quote/end, or "KEY=" + its hex (a prefix when the
 * decoded bytes hold a NUL: the value is a C string). */
static bool value_in(const char *rec, size_t len, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);
	char *t = malloc(kl + 2 + vl * 2 + 1);
	bool ok = false;
	static const char *const forms[][2] = { { "=", " " }, { "=\"", "\"" }, { "='", "'" } };
	for (size_t f = 0; !ok && f < 3; f++) {
		size_t n = (size_t)sprintf(t, "%s%s", key, forms[f][0]);
		memcpy(t + n, value, vl);
		ok = token_in(rec, len, t, n + vl, false, forms[f][1]);
	}
	if (!ok) {
		char *h = hex(value, vl);
		size_t n = (size_t)sprintf(t, "%s=%s", key, h);
		ok = token_in(rec, len, t, n, true, "");
		free(h);
	}
	free(t);
	return ok;
}

static void check_unhex(const char *s, size_t n)
{
	size_t ol = 0;
	char *d = isc_audit_unhex(s, n, &ol);
	bool all_hex = n % 2 == 0;
	for (size_t i = 0; all_hex && i < n; i++)
		all_hex = is_hex(s[i]);
	if ((d != NULL) != all_hex)
		broken(d ? "unhex accepted what is not hex" : "unhex refused hex", s, n, NULL);
	if (d == NULL)
		return;
	char *h = hex(d, ol);
	if (ol != n / 2 || d[ol] != '\0' || strncasecmp(h, s, n) != 0)
		broken("unhex does not round-trip", s, n, h);
	free(h);
	free(d);
}

static void check_record(const char *rec, size_t len)
{
	uint64_t sec = 0, serial = 0;
	uint32_t msec = 0;
	int off = isc_audit_record_header(rec, len, &sec, &msec, &serial);
	if (off >= 0) {
		char num[32];
		if ((size_t)off > len || off < 6 || memcmp(rec, "audit(", 6) != 0)
			broken("header end outside the record", rec, len, NULL);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)sec);
		if (!token_in(rec, (size_t)off, num, strlen(num), false, "."))
			broken("header seconds not in the record", rec, len, num);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)serial);
		if (!token_in(rec, (size_t)off, num, strlen(num), false, ")"))
			broken("header serial not in the record", rec, len, num);
	}
	static const char *const keys[] = { "exe", "comm", "cwd", "a0", "a1", "argc", "key", "name", "auid", "msg" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *v = isc_audit_field(rec, len, keys[i]);
		if (v != NULL && !value_in(rec, len, keys[i], v))
			broken("a field value that is not in the record", rec, len, v);
		free(v);
	}
	json_t *argv = isc_audit_execve_argv(rec, len);
	if (argv != NULL && memchr(rec, '[', len) == NULL) {
		size_t i;
		json_t *e;
		json_array_foreach (argv, i, e) {
			const char *s = json_string_value(e);
			/* "" for an argument that is not there; \xNN for bytes that are
			 * not UTF-8; the key may be spelt a01 (any key, then) */
			if (s == NULL || (s[0] != '\0' && strstr(s, "\\x") == NULL && !value_in(rec, len, "", s)))
				broken("an argv element that is not in the record", rec, len, s);
		}
	}
	json_decref(argv);
	check_unhex(rec, len);
	const char *eq = memchr(rec, '=', len);
	if (eq != NULL)
		check_unhex(eq + 1, len - (size_t)(eq + 1 - rec));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct isc_audit_asm *a = isc_audit_asm_new();
	json_t *out = json_array();
	size_t pos = 0;
	while (pos < size) {
		const char *nl = memchr(text + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos;
		int type = 0;
		size_t i = 0;
		while (i < len && i < 5 && text[pos + i] >= '0' && text[pos + i] <= '9')
			type = type * 10 + (text[pos + i++] - '0');
		if (i < len && text[pos + i] == ' ')
			i++;
		/* a copy of exactly the record: no NUL after it, as from the kernel */
		char *rec = malloc(len - i + 1);
		memcpy(rec, text + pos + i, len - i);
		isc_audit_asm_add(a, type, rec, len - i, out);
		check_record(rec, len - i);
		free(rec);
		pos += len + 1;
	}
	isc_audit_asm_flush(a, 0, 0, out);
	char *s = json_dumps(out, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	json_decref(out);
	isc_audit_asm_free(a);
	return 0;
}
