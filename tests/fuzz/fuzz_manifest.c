/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target for the image manifest parser (src/lib/image.c): a
 * manifest comes from the store's disk, which the quick check and verify
 * read.  Every line that parses must print back to exactly the same bytes
 * (one spelling per entry, so one id per tree).  Whole manifests go through
 * isc_image_manifest_root, which must accept exactly the manifests whose
 * lines all parse, end in a newline, start with "/" and go in strictly
 * increasing path order; and the id it gives must be the RFC 6962 tree
 * hash computed here another way (bottom-up, the odd node carried up)
 * from SHA-256(0x00 || line). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "base/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void merkle_bottom_up(unsigned char (*h)[32], size_t n, char hex[65])
{
	unsigned char d[32];
	if (n == 0) {
		isc_sha256("", 0, d);
		isc_sha256_hex(d, hex);
		return;
	}
	while (n > 1) {
		size_t m = 0;
		for (size_t i = 0; i + 1 < n; i += 2) {
			unsigned char buf[65];
			buf[0] = 0x01;
			memcpy(buf + 1, h[i], 32);
			memcpy(buf + 33, h[i + 1], 32);
			isc_sha256(buf, sizeof(buf), h[m++]);
		}
		if (n % 2)
			memcpy(h[m++], h[n - 1], 32);
		n = m;
	}
	isc_sha256_hex(h[0], hex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	unsigned char (*leaves)[32] = malloc((size + 1) * sizeof(*leaves));
	size_t n = 0;
	bool valid = size > 0 && text[size - 1] == '\n';
	char *prev = NULL;
	isc_error *err = NULL;

	size_t pos = 0;
	while (pos <= size) {
		const char *nl = memchr(text + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos;
		if (nl == NULL && len == 0)
			break; /* the end, after a newline */
		struct isc_image_entry e;
		if (isc_image_manifest_parse_line(text + pos, len, &e, &err) == 0) {
			char *line = isc_image_manifest_line(&e);
			if (strlen(line) != len || memcmp(line, text + pos, len) != 0)
				abort();
			free(line);
			if (n == 0 && strcmp(e.path, "/") != 0)
				valid = false;
			if (prev != NULL && strcmp(prev, e.path) >= 0)
				valid = false;
			free(prev);
			prev = e.path;
			e.path = NULL;
			isc_image_entry_clear(&e);
		} else {
			valid = false;
		}
		isc_error_free(&err);
		unsigned char zero = 0;
		struct isc_sha256 s;
		isc_sha256_init(&s);
		isc_sha256_update(&s, &zero, 1);
		isc_sha256_update(&s, text + pos, len);
		isc_sha256_final(&s, leaves[n++]);
		if (nl == NULL)
			break;
		pos += len + 1;
	}
	free(prev);

	char hex[65];
	int r = isc_image_manifest_root(text, size, hex, &err);
	if ((r == 0) != valid) {
		fprintf(stderr, "fuzz-manifest: isc_image_manifest_root %s a manifest that is %s (%s)\n",
			r == 0 ? "accepted" : "refused", valid ? "valid" : "not", err ? err->msg : "");
		abort();
	}
	isc_error_free(&err);
	if (r == 0) {
		char want[65];
		merkle_bottom_up(leaves, n, want);
		if (strcmp(want, hex) != 0) {
			fprintf(stderr, "fuzz-manifest: id %s, the tree hash is %s\n", hex, want);
			abort();
		}
	}
	free(leaves);
	return 0;
}
