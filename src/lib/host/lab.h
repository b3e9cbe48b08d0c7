/* SPDX-License-Identifier: GPL-2.0-or-later
 * Labs: a complete ISC host inside network namespaces that isc creates, so
 * that anyone (and every test and the demo) can try isc without touching
 * the machine's own network.
 *
 * A lab NAME is two named network namespaces, bound at
 * /run/netns/isc-NAME-host (plays the ISC host) and /run/netns/isc-NAME-out
 * (plays the outside world), joined by one veth created in place:
 * "uplink0" (192.0.2.2/24, default route via .1) in the host namespace and
 * "ext0" (192.0.2.1/24) in the outside one.  The state root of the lab is
 * ISC_HOST_ROOT/labs/NAME.  Nothing is ever created in the namespace the
 * caller runs in. */
#ifndef ISC_LAB_H
#define ISC_LAB_H

#include <stdbool.h>
#include "base/error.h"

#define ISC_LAB_UPLINK "uplink0"
#define ISC_LAB_HOST_ADDR "192.0.2.2"
#define ISC_LAB_OUTSIDE_ADDR "192.0.2.1"
#define ISC_LAB_PREFIX 24

int isc_lab_name_check(const char *name, isc_error **err);
/* The state root of a lab (newly allocated). */
char *isc_lab_root(const char *name);
/* The namespace file of the lab's host (outside = false) or outside world:
 * /run/netns/isc-NAME-host or -out (newly allocated). */
char *isc_lab_netns_path(const char *name, bool outside);

/* Create the two namespaces and the uplink; an existing complete lab is
 * left as it is (0); a partial one is completed. */
int isc_lab_create(const char *name, isc_error **err);
/* Remove both namespaces (and with them every link in them). */
int isc_lab_destroy(const char *name, isc_error **err);
bool isc_lab_exists(const char *name);
/* Names of the labs (namespaces present or a state root present), NULL-terminated. */
int isc_lab_list(char ***names, isc_error **err);

/* Enter the lab's host (outside = false) or outside network namespace:
 * setns() of the calling (single-threaded) process. */
int isc_lab_enter(const char *name, bool outside, isc_error **err);

/* Run argv in the outside world with the caller's stdio; the exit status of
 * argv (128 + signal when killed) in *status. */
int isc_lab_exec_outside(const char *name, char *const argv[], int *status, isc_error **err);

#endif
