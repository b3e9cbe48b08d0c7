/* SPDX-License-Identifier: GPL-2.0-or-later
 * SHA-256 (FIPS 180-4), written for isc: used for the seccomp cache key and
 * content check and for image manifests. */
#ifndef ISC_SHA256_H
#define ISC_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct isc_sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	unsigned char buf[64];
	size_t buflen;
};

void isc_sha256_init(struct isc_sha256 *s);
void isc_sha256_update(struct isc_sha256 *s, const void *data, size_t len);
void isc_sha256_final(struct isc_sha256 *s, unsigned char out[32]);
void isc_sha256(const void *data, size_t len, unsigned char out[32]);
/* 64 lowercase hex digits + NUL */
void isc_sha256_hex(const unsigned char digest[32], char out[65]);

#endif
