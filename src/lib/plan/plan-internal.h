/* SPDX-License-Identifier: GPL-2.0-or-later
 * Shared by the files of `isc run`'s plan only (plan.c, plan-args.c,
 * plan-json.c, bundle.c): the bounds, and the checks that the command line
 * and the JSON form both apply, so that a plan read back from service.json
 * is held to what the flags were.
 */
#ifndef ISC_PLAN_INTERNAL_H
#define ISC_PLAN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "plan/plan.h"

#define DEFAULT_SCRATCH_SIZE "64m"
#define CPU_PERIOD 100000ULL
#define MAX_CPUS 1024
#define MAX_LIST 256 /* ports, volumes, env entries, capabilities: each at most */

const char *isc_plan_restart_name(enum isc_restart r);
int isc_plan_restart_parse(const char *s, enum isc_restart *out, isc_error **err);
void isc_plan_strv_push(char ***v, const char *s);

/* The checks of one value; each error names the flag. */
int isc_plan_check_abs_path(const char *flag, const char *what, const char *p, isc_error **err);
int isc_plan_check_dst(const char *flag, const char *dst, isc_error **err); /* -v, --tmpfs */
int isc_plan_check_volume_dst(const char *dst, isc_error **err);
int isc_plan_parse_volume(const char *s, struct isc_volume *v, isc_error **err);
int isc_plan_check_env(const char *s, isc_error **err);
int isc_plan_check_user(const char *s, isc_error **err);
int isc_plan_check_user_name(const char *s); /* user.c: a user or group name's syntax, -1 if not */
int isc_plan_check_cap(const char *s, isc_error **err);
char *isc_plan_cap_canonical(const char *s); /* "net_admin" -> "CAP_NET_ADMIN" */
int isc_plan_check_scratch_size(const char *s, isc_error **err);
/* The whole plan, whichever way it was made. */
int isc_plan_check(const struct isc_plan *p, isc_error **err);

#endif
