/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef ISC_RUNTIME_H
#define ISC_RUNTIME_H

#include <stdbool.h>
#include <stdio.h>

#include "runtime/container.h"
#include "base/error.h"
#include "base/log.h"
#include "runtime/state.h"

struct global {
	const char *root;
	bool no_cgroups; /* --cgroup-manager disabled */
};

struct verb {
	const char *name;
	int (*fn)(struct global *g, int argc, char **argv);
	const char *help;
};

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
