/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target for the packet log's header parser (isc_pktlog_record,
 * src/lib/pktlog.c): the bridge-family rules of isc_l2 log frames exactly
 * as a container sent them, before the kernel has checked their IPv4
 * header, so the bytes are the container's.  The first input byte picks
 * the ethertype (IPv4, ARP, IPv6 or the next two bytes), the rest is the
 * L3 payload.  Every record must serialise. */
#include <jansson.h>
#include <linux/if_ether.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pktlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint16_t proto;
	size_t off = 1;
	switch (data[0] & 3) {
	case 0: proto = ETH_P_IP; break;
	case 1: proto = ETH_P_ARP; break;
	case 2: proto = ETH_P_IPV6; break;
	default:
		if (size < 3)
			return 0;
		proto = (uint16_t)(data[1] << 8 | data[2]);
		off = 3;
	}
	/* an exact-size copy: reading past it is an ASan error */
	size_t len = size - off;
	uint8_t *payload = malloc(len ? len : 1);
	memcpy(payload, data + off, len);
	static const char *const prefixes[] = { "isc-spoof-ip ", "isc-fwd-accept ", "", NULL };
	json_t *o = isc_pktlog_record("2026-11-28T00:00:00Z", prefixes[data[0] >> 2 & 3], "isc0", NULL, "vc1", NULL,
				      (data[0] & 0x10) ? "web" : NULL, proto, payload, len);
	char *s = json_dumps(o, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	json_decref(o);
	free(payload);
	return 0;
}
