/* SPDX-License-Identifier: GPL-2.0-or-later
 * STUB: replaced by its owner. */
#include <stdio.h>

#include "isc.h"

int verb_run(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: run: not implemented yet\n");
	return 1;
}

int verb_ps(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: ps: not implemented yet\n");
	return 1;
}

int verb_inspect(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: inspect: not implemented yet\n");
	return 1;
}

int verb_stop(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: stop: not implemented yet\n");
	return 1;
}

int verb_start(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: start: not implemented yet\n");
	return 1;
}

int verb_restart(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: restart: not implemented yet\n");
	return 1;
}

int verb_rm(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: rm: not implemented yet\n");
	return 1;
}

int verb_logs(struct isc_global *g, int argc, char **argv)
{
	fprintf(stderr, "isc: logs: not implemented yet\n");
	return 1;
}

