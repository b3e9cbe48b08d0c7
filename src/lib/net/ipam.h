/* SPDX-License-Identifier: GPL-2.0-or-later
 * IPAM of the private network: pure (no network calls).
 *
 * A subnet S (CIDR, e.g. 10.213.0.0/16) gives: the gateway S+1 (the host's
 * address on the bridge), and container ids 1..capacity, id N having the
 * address S+1+N, the MAC 02:15:<the four address bytes> (locally
 * administered, so known in advance for the anti-spoofing set) and the host
 * side veth "vc<N>".
 *
 * The allocations live in DIR/ipam.json (DIR is R/net), rewritten
 * atomically under an exclusive flock of DIR/ipam.lock, so that they
 * survive daemon restarts and two writers never interleave:
 *   {"subnet": "10.213.0.0/16", "next": 3,
 *    "containers": {"web": {"id": 1, "addr": "10.213.0.2"}, ...}}
 * Ids are allocated next-fit (the lowest free one at or after "next",
 * wrapping), so that a released address is not reused at once while the
 * conntrack entries of its last owner may still live. */
#ifndef ISC_IPAM_H
#define ISC_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include "base/error.h"

struct isc_subnet {
	uint32_t net; /* network address, host byte order */
	int prefix;   /* 8..29 */
};

/* "A.B.C.D/P" with no host bits set; EINVAL with a message naming s. */
int isc_subnet_parse(const char *s, struct isc_subnet *out, isc_error **err);
/* "A.B.C.D/P" into buf (at least 19 bytes) */
void isc_subnet_format(const struct isc_subnet *s, char *buf, size_t len);
bool isc_subnet_overlaps(const struct isc_subnet *a, const struct isc_subnet *b);
bool isc_subnet_contains(const struct isc_subnet *s, struct in_addr a);
struct in_addr isc_subnet_gateway(const struct isc_subnet *s);
/* number of container ids (addresses minus network, gateway, broadcast) */
uint32_t isc_subnet_capacity(const struct isc_subnet *s);
/* the address of id (1..capacity) */
struct in_addr isc_subnet_addr(const struct isc_subnet *s, uint32_t id);
/* 02:15:a:b:c:d for the address a.b.c.d */
void isc_ipam_mac(struct in_addr a, uint8_t mac[6]);
/* "vc<id>" into buf (IFNAMSIZ) */
void isc_ipam_ifname(uint32_t id, char *buf, size_t len);

struct isc_ipam_entry {
	char *name;
	uint32_t id;
	struct in_addr addr;
};
void isc_ipam_entries_free(struct isc_ipam_entry *e, size_t n);

/* Create DIR/ipam.json for `subnet`, or check that the existing one has the
 * same subnet (EEXIST naming both when not, unless it holds no allocation,
 * then the subnet is replaced). */
int isc_ipam_setup(const char *dir, const char *subnet, isc_error **err);
/* The subnet of DIR/ipam.json (ENOENT: "the network is not set up"). */
int isc_ipam_subnet(const char *dir, struct isc_subnet *out, isc_error **err);
/* Allocate (or return the existing allocation of) `name`. ENOSPC when full. */
int isc_ipam_alloc(const char *dir, const char *name, struct isc_ipam_entry *out, bool *created, isc_error **err);
/* ENOENT (with "unknown container NAME") when `name` has no address. */
int isc_ipam_lookup(const char *dir, const char *name, struct isc_ipam_entry *out, isc_error **err);
/* Release `name`'s address; ENOENT when it had none. */
int isc_ipam_release(const char *dir, const char *name, isc_error **err);
/* Every allocation, sorted by id. */
int isc_ipam_list(const char *dir, struct isc_ipam_entry **out, size_t *n, isc_error **err);

#endif
