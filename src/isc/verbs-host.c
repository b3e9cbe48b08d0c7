/* SPDX-License-Identifier: GPL-2.0-or-later
 * STUB: replaced by its owner. */
#include <stdio.h>

#include "isc.h"

int verb_init(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: init: not implemented yet\n");
	return 1;
}

int verb_deinit(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: deinit: not implemented yet\n");
	return 1;
}

int verb_exec(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: exec: not implemented yet\n");
	return 1;
}

