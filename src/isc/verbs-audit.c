/* SPDX-License-Identifier: GPL-2.0-or-later
 * STUB: replaced by its owner. */
#include <stdio.h>

#include "isc.h"

int verb_audit(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: audit: not implemented yet\n");
	return 1;
}

