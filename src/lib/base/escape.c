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

static size_t put_hex_byte(char *o, unsigned char c)
{
	o[0] = '\\', o[1] = 'x', o[2] = hex[c >> 4], o[3] = hex[c & 15];
	return 4;
}

/* Worst case 4 output bytes per input byte: "\xNN" for one byte,
 * "\u{0080}" for two, "\u{202e}" for three, "\u{e0001}" for four. */
char *isc_escape_n(const char *s, size_t len)
{
	if (s == NULL)
		return NULL;
	const unsigned char *u = (const unsigned char *)s;
	char *out = isc_xmalloc0(len * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		/* a tab cannot move the cursor back or to another line: kept,
		 * so /proc status files and tabular logs stay readable */
		if ((c >= 0x20 && c < 0x7f && c != '\\') || c == '\t') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c < 0x80) {
			const char *name = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
			if (name) {
				memcpy(out + o, name, 2);
				o += 2;
			} else {
				o += put_hex_byte(out + o, c);
			}
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (n == 0) {
			o += put_hex_byte(out + o, c);
			i++;
		} else if (unsafe_char(cp)) {
			o += (size_t)snprintf(out + o, len * 4 + 1 - o, "\\u{%04x}", (unsigned)cp);
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

/* Worst case 6 output bytes per input byte ("\u001b" for one byte). */
char *isc_escape_json_n(const char *json, size_t len)
{
	if (json == NULL)
		return NULL;
	const unsigned char *u = (const unsigned char *)json;
	char *out = isc_xmalloc0(len * 6 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c < 0x80) {
			o += put_json_u(out + o, c);
			i++;
			continue;
		}
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (n == 0) {
			o += put_json_u(out + o, 0xfffd);
			i++;
		} else if (unsafe_char(cp) && cp > 0xffff) {
			uint32_t v = cp - 0x10000;
			o += put_json_u(out + o, 0xd800 + (v >> 10));
			o += put_json_u(out + o, 0xdc00 + (v & 0x3ff));
			i += n;
		} else if (unsafe_char(cp)) {
			o += put_json_u(out + o, cp);
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

char *isc_escape_json(const char *json)
{
	return json ? isc_escape_json_n(json, strlen(json)) : NULL;
}
