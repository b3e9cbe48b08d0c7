/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ISC_RUNTIME_H
#define ISC_RUNTIME_H

#include <stdbool.h>
#include <stdio.h>

#include "base/cli.h"
#include "runtime/container.h"
#include "base/error.h"
#include "base/log.h"
#include "runtime/state.h"

struct global {
	const char *root;
	bool no_cgroups; /* --cgroup-manager disabled */
};

typedef int verb_fn(struct global *g, int argc, char **argv);

/* The getopt values of the flags without a short form (table.c). */
enum rt_opt {
	RT_OPT_ROOT = 256,
	RT_OPT_LOG,
	RT_OPT_LOG_FORMAT,
	RT_OPT_DEBUG,
	RT_OPT_SYSTEMD,
	RT_OPT_CGMGR,
	RT_OPT_CRIU,
	RT_OPT_ROOTLESS,
	RT_OPT_PID,
	RT_OPT_CONSOLE,
	RT_OPT_NOPIVOT,
	RT_OPT_NOKEYRING,
	RT_OPT_PRESERVE,
	RT_OPT_DETACH,
	RT_OPT_CWD,
	RT_OPT_NNP,
	RT_OPT_IGNORED,
	RT_OPT_IGNORED_ARG,
	RT_OPT_MEMORY,
	RT_OPT_MEMRES,
	RT_OPT_MEMSWAP,
	RT_OPT_PIDS,
	RT_OPT_SHARES,
	RT_OPT_QUOTA,
	RT_OPT_PERIOD,
	RT_OPT_CPUS,
	RT_OPT_MEMS,
	RT_OPT_BLKIO,
	RT_OPT_SECCOMP_ONLY,
};

/* table.c: the verb and flag table */
extern const struct isc_cli_verb rt_verbs[];
extern const struct isc_cli_prog rt_prog;
const struct isc_cli_flag *rt_global_flags(void);
/* the getopt arrays of a verb of the table (a verb not in it aborts) */
void rt_verb_getopt(const char *verb, struct isc_cli_getopt *g);
int verb_completion(struct global *g, int argc, char **argv);

int verb_create(struct global *g, int argc, char **argv);
int verb_start(struct global *g, int argc, char **argv);
int verb_run(struct global *g, int argc, char **argv);
int verb_state(struct global *g, int argc, char **argv);
int verb_kill(struct global *g, int argc, char **argv);
int verb_delete(struct global *g, int argc, char **argv);
int verb_list(struct global *g, int argc, char **argv);
int verb_spec(struct global *g, int argc, char **argv);
int verb_features(struct global *g, int argc, char **argv);
int verb_help(struct global *g, int argc, char **argv);
/* verbs-exec.c */
int verb_exec(struct global *g, int argc, char **argv);
/* verbs-ops.c */
int verb_ps(struct global *g, int argc, char **argv);
int verb_pause(struct global *g, int argc, char **argv);
int verb_resume(struct global *g, int argc, char **argv);
int verb_update(struct global *g, int argc, char **argv);
/* the seccomp cache and state root from the global flags */
void make_context(struct global *g, struct isc_context *ctx);
/* print a verb's usage; -1 when the verb is unknown */
int verb_usage(const char *name, FILE *f);

#endif
