/* SPDX-License-Identifier: GPL-2.0-or-later
 * iscd: placeholder until the daemon lands. */
#include <stdio.h>

int main(void)
{
	fputs("iscd: not implemented yet\n", stderr);
	return 1;
}
