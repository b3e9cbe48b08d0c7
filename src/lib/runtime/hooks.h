/* SPDX-License-Identifier: GPL-2.0-or-later
 * OCI hooks: each hook gets the container state JSON on stdin; a hook that
 * exits without reading it is fine (EPIPE is not an error of ours); a
 * timeout kills it. */
#ifndef ISC_HOOKS_H
#define ISC_HOOKS_H

#include <stddef.h>
#include "base/error.h"
#include "spec/spec.h"

/* Run the hooks of one kind in order.  prestart, createRuntime,
 * createContainer, startContainer: stop at the first failure and return it.
 * poststart, poststop: a failure is logged as a warning naming the hook
 * and why, the remaining hooks run, and the call succeeds (runtime-spec
 * 1.2).  The state each kind gets: prestart and startContainer `created`,
 * createRuntime and createContainer `creating`, poststart `running`,
 * poststop `stopped` (the callers build it). */
int isc_hooks_run(const struct isc_spec *spec, enum isc_hook_kind kind, const char *state_json, isc_error **err);

/* The bound of a wait that spans the hooks of `kind`, which another
 * process (the container's init) runs meanwhile: the wait bound, plus each
 * hook's timeout (the wait bound for a hook without one). */
int isc_hooks_bound_ms(const struct isc_spec *spec, enum isc_hook_kind kind);

#endif
