/* SPDX-License-Identifier: GPL-2.0-or-later
 * libFuzzer target: config.json parser (untrusted input).  Every input must
 * either parse into a plan or fail with an error; both are freed.  And:
 *  - the parse is a function of the input: a second parse of the same bytes
 *    gives the same outcome and the same message (no state kept between
 *    parses, no uninitialised value deciding it);
 *  - it is a function of the JSON value, not of its spelling: the same
 *    document printed again (keys sorted, other whitespace) is accepted or
 *    refused alike;
 *  - a plan it accepts keeps the contract the rest of libisc relies on
 *    without looking at JSON again (spec.h): args non-empty when there is a
 *    process, paths that must be absolute are, every enum-like field within
 *    its values, masks within the capabilities isc knows. */
#include <jansson.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/caps.h"
#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz-spec: an accepted plan breaks the contract: %s\n", what);
	abort();
}

static void want_abs(const char *p, const char *what)
{
	if (p != NULL && p[0] != '/')
		broken(what);
}

static void want_abs_strv(char **v, const char *what)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		want_abs(v[i], what);
}

static void check_plan(const struct isc_spec *s)
{
	const struct isc_process *p = &s->process;
	if (p->args != NULL && (p->args[0] == NULL || p->args[0][0] == '\0'))
		broken("process.args empty"); /* NULL: no process (OCI: optional until start) */
	want_abs(p->cwd, "process.cwd relative");
	uint64_t known = isc_cap_last() >= 63 ? ~0ull : (1ull << (isc_cap_last() + 1)) - 1;
	if ((p->caps.bounding | p->caps.effective | p->caps.inheritable | p->caps.permitted | p->caps.ambient) & ~known)
		broken("a capability beyond the table");
	if (p->n_rlimits > 0 && p->rlimits == NULL)
		broken("rlimits");
	for (size_t i = 0; i < s->n_mounts; i++) {
		if (s->mounts[i].destination == NULL)
			broken("a mount without a destination");
		want_abs(s->mounts[i].destination, "mounts[].destination relative");
	}
	for (int k = 0; k < ISC_HOOK_KINDS; k++)
		for (size_t i = 0; i < s->n_hooks[k]; i++)
			if (s->hooks[k][i].path == NULL || s->hooks[k][i].path[0] != '/')
				broken("hooks[].path relative");
	for (size_t i = 0; i < s->n_namespaces; i++) {
		if (isc_namespace_type_name(s->namespaces[i].type) == NULL)
			broken("linux.namespaces[].type unknown");
		want_abs(s->namespaces[i].path, "linux.namespaces[].path relative");
	}
	for (size_t i = 0; i < s->n_devices; i++) {
		if (s->devices[i].path == NULL || s->devices[i].path[0] != '/')
			broken("linux.devices[].path relative");
		if (s->devices[i].type == 0 || strchr("cbup", s->devices[i].type) == NULL)
			broken("linux.devices[].type");
	}
	for (size_t i = 0; s->has_resources && i < s->resources.n_devices; i++) {
		const struct isc_device_rule *r = &s->resources.devices[i];
		if (r->type == 0 || strchr("acb", r->type) == NULL)
			broken("linux.resources.devices[].type");
		if (memchr(r->access, '\0', sizeof(r->access)) == NULL ||
		    strspn(r->access, "rwm") != strlen(r->access))
			broken("linux.resources.devices[].access");
	}
	want_abs_strv(s->masked_paths, "linux.maskedPaths relative");
	want_abs_strv(s->readonly_paths, "linux.readonlyPaths relative");
	if (s->seccomp != NULL) {
		const struct isc_seccomp *sc = s->seccomp;
		if (sc->default_action < ISC_SCMP_KILL || sc->default_action > ISC_SCMP_NOTIFY)
			broken("linux.seccomp.defaultAction");
		want_abs(sc->listener_path, "linux.seccomp.listenerPath relative");
		for (size_t i = 0; i < sc->n_rules; i++) {
			const struct isc_seccomp_rule *r = &sc->rules[i];
			if (r->names == NULL || r->action < ISC_SCMP_KILL || r->action > ISC_SCMP_NOTIFY)
				broken("linux.seccomp.syscalls[]");
			for (size_t a = 0; a < r->n_args; a++)
				if (r->args[a].op < ISC_SCMP_NE || r->args[a].op > ISC_SCMP_MASKED_EQ || r->args[a].index > 5)
					broken("linux.seccomp.syscalls[].args[]");
		}
	}
	for (size_t i = 0; i < s->n_time_offsets; i++) {
		const struct isc_time_offset *t = &s->time_offsets[i];
		if ((t->clock != CLOCK_MONOTONIC && t->clock != CLOCK_BOOTTIME) || t->nanosecs > 999999999)
			broken("linux.timeOffsets");
	}
	if (s->root_path == NULL && s->root_readonly)
		broken("root.readonly without root.path");
}

/* 0 or -1, and the message (allocated) */
static int parse(const char *text, size_t len, char **msg, struct isc_spec **out)
{
	struct isc_spec *spec = NULL;
	isc_error *err = NULL;
	int r = isc_spec_parse(text, len, &spec, &err);
	if (r == 0) {
		if (spec == NULL || err != NULL)
			abort(); /* success must give a plan and no error */
		*msg = NULL;
	} else {
		if (spec != NULL || err == NULL || err->msg == NULL)
			abort(); /* failure must give an error and no plan */
		*msg = strdup(err->msg);
		isc_error_free(&err);
	}
	*out = spec;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool inited;
	if (!inited) {
		isc_json_init();
		inited = true;
	}
	const char *text = (const char *)data;
	char *m1, *m2;
	struct isc_spec *s1, *s2;
	int r1 = parse(text, size, &m1, &s1);
	int r2 = parse(text, size, &m2, &s2);
	if (r1 != r2 || (m1 && strcmp(m1, m2) != 0)) {
		fprintf(stderr, "fuzz-spec: two parses differ: \"%s\" / \"%s\"\n", m1 ? m1 : "ok", m2 ? m2 : "ok");
		abort();
	}
	if (r1 == 0)
		check_plan(s1);
	if (s1)
		isc_spec_free(s1);
	if (s2)
		isc_spec_free(s2);
	free(m1);
	free(m2);

	/* the same value, spelt differently */
	json_t *j = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return 0;
	char *again = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1) | JSON_ENCODE_ANY);
	json_decref(j);
	if (again == NULL)
		return 0;
	char *m3;
	struct isc_spec *s3;
	int r3 = parse(again, strlen(again), &m3, &s3);
	if (r3 != r1) {
		fprintf(stderr, "fuzz-spec: the same document printed again is %s: %s\n", r3 == 0 ? "accepted" : "refused",
			m3 ? m3 : "");
		abort();
	}
	if (s3)
		isc_spec_free(s3);
	free(m3);
	free(again);
	return 0;
}
