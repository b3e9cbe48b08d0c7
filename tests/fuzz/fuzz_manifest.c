/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target for the image manifest parser (src/lib/image.c): a
 * manifest comes from the store's disk, which the quick check and verify
 * read.  Whole manifests go through isc_image_manifest_root; every line
 * that parses must print back to exactly the same bytes (one spelling per
 * entry, so one id per tree). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char hex[65];
	isc_error *err = NULL;
	(void)isc_image_manifest_root(text, size, hex, &err);
	isc_error_free(&err);

	size_t pos = 0;
	while (pos <= size) {
		const char *nl = memchr(text + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos;
		struct isc_image_entry e;
		if (isc_image_manifest_parse_line(text + pos, len, &e, &err) == 0) {
			char *line = isc_image_manifest_line(&e);
			if (strlen(line) != len || memcmp(line, text + pos, len) != 0)
				abort();
			free(line);
			isc_image_entry_clear(&e);
		}
		isc_error_free(&err);
		if (nl == NULL)
			break;
		pos += len + 1;
	}
	return 0;
}
