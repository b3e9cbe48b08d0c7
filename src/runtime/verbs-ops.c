/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "runtime.h"

int verb_ps(struct global *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	fprintf(stderr, "isc-runtime: ps: not implemented yet\n");
	return 1;
}

int verb_pause(struct global *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	fprintf(stderr, "isc-runtime: pause: not implemented yet\n");
	return 1;
}

int verb_resume(struct global *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	fprintf(stderr, "isc-runtime: resume: not implemented yet\n");
	return 1;
}

int verb_update(struct global *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	fprintf(stderr, "isc-runtime: update: not implemented yet\n");
	return 1;
}
