/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc: the operator's command.  main.c holds the global flags and the verb
 * table; each verb parses its own flags and makes one libisc call. */
#ifndef ISC_ISC_H
#define ISC_ISC_H

#include <jansson.h>
#include <stdio.h>

#include "base/cli.h"
#include "base/error.h"
#include "base/util.h" /* ISC_RFC3339_LEN */

#include "host/host.h" /* ISC_HOST_ROOT */

struct isc_global {
	const char *root; /* state root: --root, or isc_host_root() */
	const char *lab;  /* --lab / ISC_LAB, NULL on the real host */
};

/* The state root: /var/lib/isc on the real host, /var/lib/isc/labs/LAB in
 * a lab (LAB: letters, digits, . _ -, not starting with '.'). */
int isc_host_root(const char *lab, char **out, isc_error **err);

/* Exit codes: 1 for a failure (isc_report), ISC_EXIT_USAGE when the command
 * line cannot be parsed (an unknown option, a missing or extra argument, an
 * option value of the wrong form); nothing was done then. */
#define ISC_EXIT_USAGE 2

/* Print "isc: <error>" to stderr and free it; returns 1 (the exit code). */
int isc_report(isc_error **err);
/* The same for a value of the command line that was refused: its EINVAL
 * adds nothing to the message that says why (no ": Invalid argument"). */
int isc_report_input(isc_error **err);
/* The same for iscd's answer to a request: "no service named NAME" says
 * it all (no ": No such file or directory"). */
int isc_report_ctl(isc_error **err);

/* The getopt values of the flags without a short form (table.c). */
enum isc_opt {
	OPT_ROOT = 256,
	OPT_LAB,
	OPT_FORMAT,
	OPT_PURGE,
	OPT_UPLINK,
	OPT_SUBNET,
	OPT_SSH,
	OPT_CONFIRM,
	OPT_AEPOCH,
	OPT_AROTATE,
	OPT_AKEEP,
	OPT_REMOVE,
	OPT_CONTAINER,
	OPT_TYPE,
	OPT_SINCE,
	OPT_FOLLOW,
	OPT_KEY,
	OPT_KEY_FILE,
	OPT_CPUS,
	OPT_PIDS,
	OPT_NO_STREAM,
	OPT_TAIL,
};

/* --since TIME (verbs-audit.c): an RFC 3339 UTC time or a prefix of one
 * (2026-11-28, 2026-11-28T14:00:00Z), or an age N[smhd]: the lower bound as
 * an RFC 3339 text to compare the records' times with (out: "Z" dropped). */
int isc_parse_since(const char *s, char out[ISC_RFC3339_LEN], isc_error **err);
/* getopt returned '?' for argv[optind - 1]: print which flag is at fault
 * (unknown, or its value missing) and the verb's usage; returns 2. */
int isc_bad_flag(const char *verb, char **argv, const char *shortopts);

/* table.c: the verb and flag table.  A path is a verb, or a verb and its
 * sub-verb ("image ls"); a path not in the table aborts. */
extern const struct isc_cli_verb isc_verbs[];
extern const struct isc_cli_prog isc_prog;
const struct isc_cli_verb *isc_verb(const char *path);
void isc_verb_getopt(const char *path, struct isc_cli_getopt *g);
void isc_verb_usage(const char *path, FILE *f);
const struct isc_cli_flag *isc_global_flags(void);
int verb_completion(struct isc_global *g, int argc, char **argv);

int verb_image(struct isc_global *g, int argc, char **argv);
/* verbs-host.c: the construction kit and sessions */
int verb_init(struct isc_global *g, int argc, char **argv);
int verb_deinit(struct isc_global *g, int argc, char **argv);
int verb_exec(struct isc_global *g, int argc, char **argv);
/* verbs-lab.c */
int verb_lab(struct isc_global *g, int argc, char **argv);
/* verbs-service.c: the service lifecycle, through iscd */
int verb_run(struct isc_global *g, int argc, char **argv);
int verb_ps(struct isc_global *g, int argc, char **argv);
int verb_stop(struct isc_global *g, int argc, char **argv);
int verb_start(struct isc_global *g, int argc, char **argv);
int verb_restart(struct isc_global *g, int argc, char **argv);
int verb_rm(struct isc_global *g, int argc, char **argv);
int verb_logs(struct isc_global *g, int argc, char **argv);
/* verbs-service.c: one request to iscd (1, reported, on failure); the
 * request proto once per NAME from argv[first], each NAME printed */
int isc_call(struct isc_global *g, json_t *req, json_t **reply);
int isc_each_name(struct isc_global *g, int argc, char **argv, int first, json_t *proto);
/* verbs-ctl.c: service control, through iscd */
int verb_kill(struct isc_global *g, int argc, char **argv);
int verb_pause(struct isc_global *g, int argc, char **argv);
int verb_unpause(struct isc_global *g, int argc, char **argv);
int verb_wait(struct isc_global *g, int argc, char **argv);
int verb_update(struct isc_global *g, int argc, char **argv);
int verb_stats(struct isc_global *g, int argc, char **argv);
int verb_top(struct isc_global *g, int argc, char **argv);
/* verbs-cp.c */
int verb_cp(struct isc_global *g, int argc, char **argv);
/* verbs-info.c: inspect, port, version, info */
int verb_inspect(struct isc_global *g, int argc, char **argv);
int verb_port(struct isc_global *g, int argc, char **argv);
int verb_version(struct isc_global *g, int argc, char **argv);
int verb_info(struct isc_global *g, int argc, char **argv);
/* verbs-net.c: the private network */
int verb_expose(struct isc_global *g, int argc, char **argv);
int verb_unexpose(struct isc_global *g, int argc, char **argv);
int verb_allow(struct isc_global *g, int argc, char **argv);
int verb_policy(struct isc_global *g, int argc, char **argv);
int verb_packets(struct isc_global *g, int argc, char **argv);
/* verbs-audit.c: the audit trail */
int verb_audit(struct isc_global *g, int argc, char **argv);
int verb_help(struct isc_global *g, int argc, char **argv);

#endif
