/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target: config.json parser (untrusted input).  Every input must
 * either parse into a plan or fail with an error; both are freed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct isc_spec *spec = NULL;
	isc_error *err = NULL;

	if (isc_spec_parse((const char *)data, size, &spec, &err) == 0) {
		if (spec == NULL || err != NULL)
			abort(); /* success must give a plan and no error */
		isc_spec_free(spec);
	} else {
		if (spec != NULL || err == NULL || err->msg == NULL)
			abort(); /* failure must give an error and no plan */
		isc_error_free(&err);
	}
	return 0;
}
