/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "runtime.h"

int verb_exec(struct global *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	fprintf(stderr, "isc-runtime: exec: not implemented yet\n");
	return 1;
}
