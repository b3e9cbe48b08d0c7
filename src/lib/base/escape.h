/* SPDX-License-Identifier: GPL-2.0-or-later
 * Text for the operator's terminal from bytes someone else chose.
 *
 * A service controls much of what the text views show (its command lines
 * and working directories in `isc audit`, its output in `isc logs`, its
 * process titles in `isc-runtime ps`).  Printed as they are, an ESC starts
 * a terminal control sequence (clear the screen, move the cursor, set the
 * title, on some terminals answer back into the input), a CR or NL lets it
 * hide a line or forge one, and bidi controls reorder what is read.  Every
 * text view passes such strings through isc_escape() first; every new view
 * must too.
 *
 * isc_escape(): printable ASCII, tab and valid UTF-8 stay as they are
 * (readable names and messages stay readable; a tab moves only forward on
 * its line, so it cannot hide or forge text); everything else becomes a visible
 * escape that cannot be confused with plain text, because a backslash is
 * always escaped itself:
 *   \\  a backslash            \n \r  newline, carriage return
 *   \xNN  any other C0 control byte, DEL, and every byte that is not part
 *         of a valid UTF-8 sequence (overlong, surrogate, > U+10FFFF, cut)
 *   \u{XXXX}  a valid character that is a control or invisible format
 *         character: C1 controls (U+0080..U+009F, a CSI on some terminals),
 *         line and paragraph separators, bidi embeddings, overrides and
 *         isolates, zero-width characters, the BOM, tag characters.
 * The result never holds a byte below 0x20 or DEL, and holds only valid
 * UTF-8.
 *
 * isc_escape_json(): the same protection for JSON text (a JSON view stays
 * JSON with the same value): the characters above become \uXXXX escapes
 * (a surrogate pair above U+FFFF), a raw control byte other than NL and
 * TAB (JSON whitespace) becomes \u00XX, a byte that is not valid UTF-8
 * becomes \ufffd.  jansson already escapes C0 controls in strings; it
 * leaves DEL, C1 and the format characters as they are. */
#ifndef ISC_ESCAPE_H
#define ISC_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* A new NUL-terminated string (abort on OOM); s == NULL gives NULL.  len
 * counts bytes, so embedded NULs are shown as \x00. */
char *isc_escape_n(const char *s, size_t len);
char *isc_escape(const char *s);
/* s or, when s is NULL, `dflt` (not escaped: the caller's own text). */
char *isc_escape_or(const char *s, const char *dflt);
/* fputs of the escaped bytes. */
void isc_fputs_escaped(const char *s, size_t len, FILE *f);

/* JSON text made safe for a terminal (see above); a new string. */
char *isc_escape_json_n(const char *json, size_t len);
char *isc_escape_json(const char *json);

#endif
