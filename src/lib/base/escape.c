/* SPDX-License-Identifier: GPL-2.0-or-later
 * Text for the operator's terminal from bytes someone else chose (escape.h).
 *
 * One decoder (strict UTF-8: no overlong forms, no surrogates, nothing
 * above U+10FFFF, no cut sequence) and one list of the characters that are
 * valid but must not reach a terminal as they are; the text form and the
 * JSON form only differ in how they write an escape. */
#include "base/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"

/* The length of the valid UTF-8 sequence at s (1..4) and its code point,
 * or 0 when s[0] does not start one. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1fu, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0fu, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07u, min = 0x10000;
	} else {
		return 0; /* a continuation byte, an overlong lead (c0, c1) or f5..ff */
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Valid characters that control a terminal or hide or reorder text. */
static bool unsafe_char(uint32_t c)
{
	static const struct {
		uint32_t lo, hi;
	} ranges[] = {
		{ 0x0080, 0x009f },   /* C1 controls (U+009B is CSI on some terminals) */
		{ 0x00ad, 0x00ad },   /* soft hyphen */
		{ 0x061c, 0x061c },   /* Arabic letter mark */
		{ 0x180e, 0x180e },   /* Mongolian vowel separator */
		{ 0x200b, 0x200f },   /* zero-width space, (non-)joiner, LRM, RLM */
		{ 0x2028, 0x202e },   /* line and paragraph separators, bidi embeddings and overrides */
		{ 0x2060, 0x206f },   /* word joiner, invisible operators, bidi isolates */
		{ 0xfeff, 0xfeff },   /* BOM, zero-width no-break space */
		{ 0xfff9, 0xfffb },   /* interlinear annotation controls */
		{ 0xe0000, 0xe007f }, /* tag characters */
	};
	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++)
		if (c >= ranges[i].lo && c <= ranges[i].hi)
			return true;
	return false;
}

static const char hex[] = "0123456789abcdef";

/* How a form writes what it escapes (each returns the bytes written): an
 * ASCII byte (kept or escaped), a byte that starts no valid sequence, a
 * valid but unsafe character. */
struct escape_form {
	size_t width; /* the most output bytes one input byte can take */
	size_t (*ascii)(char *o, unsigned char c);
	size_t (*invalid)(char *o, unsigned char c);
	size_t (*unsafe)(char *o, uint32_t cp);
};

/* The one walk of both forms: valid, safe characters are copied. */
static char *escape_walk(const char *s, size_t len, const struct escape_form *f)
{
	if (s == NULL)
		return NULL;
	const unsigned char *u = (const unsigned char *)s;
	char *out = isc_xmalloc0(len * f->width + 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		uint32_t cp;
		size_t n = c < 0x80 ? 0 : utf8_decode(u + i, len - i, &cp);
		if (c < 0x80) {
			o += f->ascii(out + o, c);
			i++;
		} else if (n == 0) {
			o += f->invalid(out + o, c);
			i++;
		} else if (unsafe_char(cp)) {
			o += f->unsafe(out + o, cp);
			i += n;
		} else {
			memcpy(out + o, u + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	return out;
}

static size_t put_hex_byte(char *o, unsigned char c)
{
	o[0] = '\\', o[1] = 'x', o[2] = hex[c >> 4], o[3] = hex[c & 15];
	return 4;
}

/* A tab cannot move the cursor back or to another line: kept, so /proc
 * status files and tabular logs stay readable. */
static size_t text_ascii(char *o, unsigned char c)
{
	if ((c >= 0x20 && c < 0x7f && c != '\\') || c == '\t') {
		o[0] = (char)c;
		return 1;
	}
	const char *name = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
	if (name == NULL)
		return put_hex_byte(o, c);
	memcpy(o, name, 2);
	return 2;
}

static size_t text_unsafe(char *o, uint32_t cp)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "\\u{%04x}", (unsigned)cp);
	memcpy(o, buf, (size_t)n);
	return (size_t)n;
}

/* Worst case 4 output bytes per input byte: "\xNN" for one byte,
 * "\u{0080}" for two, "\u{202e}" for three, "\u{e0001}" for four. */
static const struct escape_form text_form = { 4, text_ascii, put_hex_byte, text_unsafe };

char *isc_escape_n(const char *s, size_t len)
{
	return escape_walk(s, len, &text_form);
}

char *isc_escape(const char *s)
{
	return s ? isc_escape_n(s, strlen(s)) : NULL;
}

char *isc_escape_or(const char *s, const char *dflt)
{
	return s ? isc_escape(s) : isc_xstrdup(dflt);
}

void isc_fputs_escaped(const char *s, size_t len, FILE *f)
{
	cleanup_free char *e = isc_escape_n(s, len);
	if (e)
		fputs(e, f);
}

static size_t put_json_u(char *o, uint32_t v)
{
	o[0] = '\\', o[1] = 'u';
	for (int k = 0; k < 4; k++)
		o[2 + k] = hex[(v >> (12 - 4 * k)) & 15];
	return 6;
}

static size_t json_ascii(char *o, unsigned char c)
{
	if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t') {
		o[0] = (char)c;
		return 1;
	}
	return put_json_u(o, c);
}

static size_t json_invalid(char *o, unsigned char c)
{
	(void)c;
	return put_json_u(o, 0xfffd);
}

/* Above U+FFFF: a surrogate pair. */
static size_t json_unsafe(char *o, uint32_t cp)
{
	if (cp <= 0xffff)
		return put_json_u(o, cp);
	uint32_t v = cp - 0x10000;
	size_t n = put_json_u(o, 0xd800 + (v >> 10));
	return n + put_json_u(o + n, 0xdc00 + (v & 0x3ff));
}

/* Worst case 6 output bytes per input byte ("\u001b" for one byte). */
static const struct escape_form json_form = { 6, json_ascii, json_invalid, json_unsafe };

char *isc_escape_json_n(const char *json, size_t len)
{
	return escape_walk(json, len, &json_form);
}

char *isc_escape_json(const char *json)
{
	return json ? isc_escape_json_n(json, strlen(json)) : NULL;
}
