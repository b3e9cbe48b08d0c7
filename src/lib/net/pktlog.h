/* SPDX-License-Identifier: GPL-2.0-or-later
 * The packet log: a reader of NFLOG group ISC_FW_LOG_GROUP (every isc log
 * rule, firewall.h) that writes one JSON object per line to
 * R/log/packets.jsonl and to syslog:
 *   {"time": "2026-11-28T17:00:00.123456789Z", "prefix": "isc-spoof-ip",
 *    "verdict": "drop", "container": "web", "in": "isc0", "physin": "vc1",
 *    "proto": "tcp", "src": "10.213.0.99", "dst": "192.0.2.1",
 *    "sport": 40000, "dport": 80}
 * At ISC_PKTLOG_MAX_SIZE the file becomes packets.jsonl.1 (one old
 * generation) and a new one starts.
 * A frame whose IPv4 header is malformed gets "malformed": "short ipv4
 * header" | "not ipv4" | "ipv4 header length" and no ports.
 * "container" names the container whose port (host-side veth "vcN", mapped
 * through the IPAM file) the packet came from, else the one it was going to.
 * Lines are capped at ISC_PKTLOG_MAX_PER_SEC (the kernel rules are
 * rate-limited too); lines over the cap and messages lost to socket
 * overruns (ENOBUFS) are counted and reported as their own lines:
 *   {"time": ..., "event": "suppressed", "count": 12}
 *   {"time": ..., "event": "lost", "count": 3, "reason": "socket overrun"}
 *
 * nfnetlink_log is per network namespace: run it in the namespace whose
 * rules log (iscd's, the ISC host's). */
#ifndef ISC_PKTLOG_H
#define ISC_PKTLOG_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "base/error.h"

#define ISC_PKTLOG_FILE "log/packets.jsonl" /* under the state root */
#define ISC_PKTLOG_MAX_PER_SEC 200
#define ISC_PKTLOG_MAX_SIZE (16 << 20) /* then packets.jsonl -> packets.jsonl.1 */

/* The JSON record of one logged packet (pure; for tests and the reader).
 * payload starts at the L3 header; hw_protocol is the ethertype (host
 * order).  Device names may be NULL.  container may be NULL. */
json_t *isc_pktlog_record(const char *time, const char *prefix, const char *in, const char *out, const char *physin,
			  const char *physout, const char *container, uint16_t hw_protocol, const uint8_t *payload,
			  size_t len);

/* Read NFLOG until *stop becomes non-zero (checked at least every 200 ms);
 * the caller's network namespace.  Fails at start when the group is taken
 * (another reader) or the socket cannot be opened. */
int isc_pktlog_run(const char *root, volatile sig_atomic_t *stop, isc_error **err);
/* The same with the NFLOG socket's receive buffer at rcvbuf bytes (the
 * kernel's minimum when smaller; 0: ISC_PKTLOG_RCVBUF).  A small one lets
 * the tests see the overrun accounting. */
#define ISC_PKTLOG_RCVBUF (4 << 20)
int isc_pktlog_run_with(const char *root, int rcvbuf, volatile sig_atomic_t *stop, isc_error **err);

#endif
