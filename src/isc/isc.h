/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc: the operator's command.  main.c holds the global flags and the verb
 * table; each verb parses its own flags and makes one libisc call. */
#ifndef ISC_ISC_H
#define ISC_ISC_H

#include <stdio.h>

#include "error.h"

#define ISC_HOST_ROOT "/var/lib/isc"

struct isc_global {
	const char *root; /* state root: --root, or isc_host_root() */
	const char *lab;  /* --lab / ISC_LAB, NULL on the real host */
};

/* The state root: /var/lib/isc on the real host, /var/lib/isc/labs/LAB in
 * a lab (LAB: letters, digits, . _ -, not starting with '.'). */
int isc_host_root(const char *lab, char **out, isc_error **err);

/* Print "isc: <error>" to stderr and free it; returns 1 (the exit code). */
int isc_report(isc_error **err);

int verb_image(struct isc_global *g, int argc, char **argv);
int verb_help(struct isc_global *g, int argc, char **argv);

#endif
