/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target for the kernel audit record parser
 * (src/lib/audit-record.c): the text of an exec record is whatever a
 * container ran.  Each input line is one record: a decimal type, a space,
 * the record text ("1300 audit(1.2:3): ...").  Every event must serialise. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		char *f = isc_audit_field(rec, len - i, "exe");
		free(f);
		json_t *argv = isc_audit_execve_argv(rec, len - i);
		json_decref(argv);
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
