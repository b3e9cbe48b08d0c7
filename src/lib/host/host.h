/* SPDX-License-Identifier: GPL-2.0-or-later
 * The ISC host: one state root per host (the real one: /var/lib/isc; a lab:
 * /var/lib/isc/labs/NAME).  `isc init` converts a host, `isc deinit` undoes
 * it; neither knows whether it runs in a lab (the lab code only makes the
 * namespaces and the uplink, then calls isc_host_init() inside the host
 * namespace with the uplink and the root as parameters).
 *
 * Layout of a state root R (docs/ARCHITECTURE.md):
 *   R/host.json                 the settings of `isc init` (idempotency check)
 *   R/images/                   the image store (image.h)
 *   R/runtime/                  libisc container state (what isc-runtime --root holds)
 *   R/containers/NAME/          one per service: service.json (the plan),
 *                               bundle/config.json, persist/, logs/
 *   R/iscd.sock R/iscd.pid      the daemon's control socket (0600) and pid file
 *   R/log/iscd.log              the daemon's own log
 *   R/net/                      IPAM and network state (net.h)
 *   R/audit/                    the audit trail of this host (audit.h) */
#ifndef ISC_HOST_H
#define ISC_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include "base/error.h"

#define ISC_HOST_ROOT "/var/lib/isc"
#define ISC_DEFAULT_SUBNET "10.213.0.0/16"

struct isc_host_settings {
	char *uplink;	     /* interface facing the world ("eth0"; "uplink0" in a lab); NULL = none */
	char *subnet;	     /* private container network, CIDR; default ISC_DEFAULT_SUBNET */
	int ssh_port;	     /* the host's SSH port, always accepted; default 22 */
	bool confirm;	     /* real hosts: roll the new ruleset back unless confirmed */
	int confirm_timeout; /* seconds, default 60 */
	char *iscd_path;     /* the iscd binary to start; NULL = next to the running program, then PATH */
	/* the audit trail (only for a new trail): seal epoch, rotation, retention */
	int audit_epoch;       /* seconds, default 900 */
	uint64_t audit_rotate; /* bytes, default 64 MiB */
	int audit_keep;	       /* rotated files kept, 0 (default) = all */
};

void isc_host_settings_clear(struct isc_host_settings *s);
/* Check the values (not whether the uplink exists); nothing is created, so
 * a lab can check its flags before it makes its namespaces.  0 values and
 * a NULL subnet mean the defaults.  First of all, the machine's users must
 * leave the container audit ids alone (isc_audit_users_check). */
int isc_host_settings_check(const struct isc_host_settings *s, isc_error **err);

/* Idempotent: with the same settings as the recorded ones, make sure every
 * part exists (folders, network baseline, iscd running) and return 0; with
 * other settings, fail with EEXIST naming the difference and change
 * nothing.  *verify_key: the first verification key of a new audit trail
 * (print it once; NULL when the trail existed). */
int isc_host_init(const char *root, const struct isc_host_settings *s, char **verify_key, isc_error **err);
/* Stop every container and iscd, remove the network and audit baselines,
 * the runtime state and the state root (images and persist folders too). */
int isc_host_deinit(const char *root, isc_error **err);
/* The recorded settings; ENOENT (with "isc init was not run for ROOT") when
 * the host was never initialised. */
int isc_host_load(const char *root, struct isc_host_settings *s, isc_error **err);

/* "R/rel", newly allocated */
char *isc_host_path(const char *root, const char *rel);

#endif
