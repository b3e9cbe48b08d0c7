/* SPDX-License-Identifier: GPL-2.0-or-later
 * STUB: replaced by its owner. */
#include <stdio.h>

#include "isc.h"

int verb_expose(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: expose: not implemented yet\n");
	return 1;
}

int verb_unexpose(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: unexpose: not implemented yet\n");
	return 1;
}

int verb_allow(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: allow: not implemented yet\n");
	return 1;
}

int verb_policy(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: policy: not implemented yet\n");
	return 1;
}

int verb_packets(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: packets: not implemented yet\n");
	return 1;
}

