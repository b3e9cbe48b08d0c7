/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target for the plan (src/lib/plan/): iscd reads plans from
 * its control socket and from service.json.  The input is JSON for
 * isc_plan_from_json; a plan that it accepts must survive the round trip
 * to JSON and back unchanged, and must make a bundle config.  The same
 * bytes, split at NUL, also go through isc_plan_parse_args as argv: a plan
 * it accepts must survive the same round trip (as iscd stores it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plan/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, json_t *a, json_t *b)
{
	char *x = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *y = b ? json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	fprintf(stderr, "fuzz-plan: %s\n  %s\n  %s\n", what, x ? x : "", y ? y : "");
	abort();
}

static void fuzz_json(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return;
	struct isc_plan p, q;
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	isc_error *err = NULL;
	if (isc_plan_from_json(j, &p, &err) == 0) {
		json_t *a = isc_plan_to_json(&p);
		if (isc_plan_from_json(a, &q, &err) != 0)
			broken("a plan's own JSON is refused", a, NULL);
		json_t *b = isc_plan_to_json(&q);
		if (!json_equal(a, b))
			broken("a plan changes on the way through JSON", a, b);
		struct isc_bundle_inputs in = { .rootfs = "/r", .image_id = "0", .persist_dir = "/p", .uid_base = 1 };
		json_t *cfg = NULL;
		/* every plan makes a bundle config, but one whose --user is a name
		 * iscd has not resolved to numbers yet (plan/user.c) */
		if (isc_plan_bundle_config(&p, &in, &cfg, &err) != 0 &&
		    (p.user == NULL || strstr(err->msg, "is not resolved to UID[:GID] numbers") == NULL))
			broken("a plan that makes no bundle config", a, NULL);
		json_decref(cfg);
		json_decref(a);
		json_decref(b);
	}
	isc_error_free(&err);
	isc_plan_clear(&p);
	isc_plan_clear(&q);
	json_decref(j);
}

static void fuzz_args(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return;
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *argv[66];
	int argc = 0;
	argv[argc++] = (char *)"run";
	for (char *s = buf; s <= buf + size && argc < 65; s += strlen(s) + 1)
		argv[argc++] = s;
	argv[argc] = NULL;
	struct isc_plan p;
	memset(&p, 0, sizeof(p));
	isc_error *err = NULL;
	if (isc_plan_parse_args(argc, argv, &p, &err) == 0) {
		json_t *a = isc_plan_to_json(&p);
		struct isc_plan q;
		memset(&q, 0, sizeof(q));
		if (isc_plan_from_json(a, &q, &err) != 0)
			broken("a command line's plan is refused as JSON", a, NULL);
		json_t *b = isc_plan_to_json(&q);
		if (!json_equal(a, b)) /* the command line's plan survives the trip through service.json */
			broken("a command line's plan changes on the way through JSON", a, b);
		json_decref(b);
		isc_plan_clear(&q);
		json_decref(a);
	}
	isc_error_free(&err);
	isc_plan_clear(&p);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_json(data, size);
	fuzz_args(data, size);
	return 0;
}
