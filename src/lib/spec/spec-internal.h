/* SPDX-License-Identifier: GPL-2.0-or-later
 * The parser of config.json, internal: the JSON helpers that name the field
 * they check (every error says where: "linux.namespaces[2].type: ..."), the
 * keyword table lookup, and the sections that spec.c (the top level),
 * spec-process.c, spec-linux.c and spec-resources.c parse for each other.
 * The helpers are static inline so that each file keeps them its own. */
#ifndef ISC_SPEC_INTERNAL_H
#define ISC_SPEC_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "spec/spec.h"

#define FIELD_MAX 256
#define ID_MAX 4294967294LL /* uid/gid: fits uint32, is not (uint32_t)-1 */

/* ---- keyword tables ---- */

struct name_value {
	const char *name;
	long value;
};

static inline int table_lookup(const struct name_value *t, size_t n, const char *name, long *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, name) == 0) {
			*out = t[i].value;
			return 0;
		}
	}
	return -1;
}

/* ---- JSON helpers: each names the field it checks ---- */

static inline void bad_field(isc_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void bad_field(isc_error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	isc_error_setv(err, 0, fmt, ap);
	va_end(ap);
}

/* The error (a message naming the field), and -1: a macro, so that the
 * static analyzer, which does not follow a variadic call, sees the -1. */
#define bad(err, ...) (bad_field((err), __VA_ARGS__), -1)

/* Format a field name into buf (truncated if absurdly long). */
static inline const char *fld(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline const char *fld(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, FIELD_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

/* A member of an object; JSON null counts as absent. */
static inline json_t *jget(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static inline int want_object(const json_t *v, const char *field, isc_error **err)
{
	if (!json_is_object(v))
		return bad(err, "%s: expected an object", field);
	return 0;
}

static inline int want_array(const json_t *v, const char *field, isc_error **err)
{
	if (!json_is_array(v))
		return bad(err, "%s: expected an array", field);
	return 0;
}

static inline int want_bool(const json_t *v, const char *field, bool *out, isc_error **err)
{
	if (!json_is_boolean(v))
		return bad(err, "%s: expected a boolean", field);
	*out = json_is_true(v);
	return 0;
}

static inline int want_string(const json_t *v, const char *field, char **out, isc_error **err)
{
	if (!json_is_string(v))
		return bad(err, "%s: expected a string", field);
	free(*out);
	*out = isc_xstrdup(json_string_value(v));
	return 0;
}

static inline int want_abs_path(const json_t *v, const char *field, char **out, isc_error **err)
{
	if (want_string(v, field, out, err) < 0)
		return -1;
	if ((*out)[0] != '/')
		return bad(err, "%s: \"%s\" is not an absolute path", field, *out);
	return 0;
}

static inline int want_int(const json_t *v, const char *field, int64_t min, int64_t max, int64_t *out, isc_error **err)
{
	if (!json_is_integer(v))
		return bad(err, "%s: expected an integer", field);
	json_int_t x = json_integer_value(v);
	if (x < min || x > max)
		return bad(err, "%s: %lld is out of range [%lld, %lld]", field, (long long)x, (long long)min,
			   (long long)max);
	*out = x;
	return 0;
}

/* A resource limit where 0 means "not set", as runc reads it (Docker writes 0
 * for every limit it was not given): *set is false for 0, else the value
 * must lie in [min, max]. */
static inline int want_limit(const json_t *v, const char *field, int64_t min, int64_t max, int64_t *out, bool *set,
			     isc_error **err)
{
	if (json_is_integer(v) && json_integer_value(v) == 0) {
		*out = 0;
		*set = false;
		return 0;
	}
	if (want_int(v, field, min, max, out, err) < 0)
		return -1;
	*set = true;
	return 0;
}

static inline int want_strv(const json_t *v, const char *field, bool nonempty, char ***out, isc_error **err)
{
	if (!json_is_array(v))
		return bad(err, "%s: expected an array of strings", field);
	size_t n = json_array_size(v);
	if (nonempty && n == 0)
		return bad(err, "%s: must be a non-empty array of strings", field);
	cleanup_strv char **sv = isc_xmalloc0((n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e))
			return bad(err, "%s[%zu]: expected a string", field, i);
		sv[i] = isc_xstrdup(json_string_value(e));
	}
	isc_strvfree(*out);
	*out = steal_pointer(&sv);
	return 0;
}

static inline int want_abs_strv(const json_t *v, const char *field, char ***out, isc_error **err)
{
	if (want_strv(v, field, false, out, err) < 0)
		return -1;
	for (size_t i = 0; (*out)[i] != NULL; i++)
		if ((*out)[i][0] != '/')
			return bad(err, "%s[%zu]: \"%s\" is not an absolute path", field, i, (*out)[i]);
	return 0;
}

/* An object whose values are all strings -> key/value array. */
static inline int want_kv(const json_t *v, const char *field, struct isc_kv **out, size_t *n_out, isc_error **err)
{
	if (!json_is_object(v))
		return bad(err, "%s: expected an object of strings", field);
	size_t n = json_object_size(v), i = 0;
	struct isc_kv *kv = isc_xmalloc0(n * sizeof(*kv));
	*out = kv;
	*n_out = 0;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)v, key, val) {
		if (!json_is_string(val))
			return bad(err, "%s.%s: expected a string", field, key);
		kv[i].key = isc_xstrdup(key);
		kv[i].value = isc_xstrdup(json_string_value(val));
		*n_out = ++i;
	}
	return 0;
}

/* ---- the sections, each parsed by its own file ---- */

/* "process" (spec-process.c); also isc_spec_parse_process's object */
int isc_spec_process_from_json(const json_t *v, struct isc_process *p, isc_error **err);
/* "linux" (spec-linux.c) */
int isc_spec_linux_from_json(const json_t *v, struct isc_spec *s, isc_error **err);
/* "linux.resources" (spec-resources.c); `pfx` names the object in errors:
 * "linux.resources" in config.json, "resources" for update. */
int isc_spec_resources_from_json(const json_t *v, const char *pfx, struct isc_resources *r, isc_error **err);

#endif
