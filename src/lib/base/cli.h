/* SPDX-License-Identifier: GPL-2.0-or-later
 * A program's verb and flag table, the one source of its getopt arrays,
 * its --help text and its bash completion (isc, isc-runtime).
 *
 * A flag's key is what getopt_long returns for it: a key below 256 is
 * also its short form (-f), a key from 256 up names a long-only flag.
 * Only the table is edited: the getopt arrays are built from it
 * (isc_cli_getopt_init), --help prints it (isc_cli_verb_help) and
 * `PROG completion bash` prints a completion script from it
 * (isc_cli_bash_completion).  tests/integration/test_completion.py checks
 * every verb and flag against --help, the man page and the script. */
#ifndef ISC_BASE_CLI_H
#define ISC_BASE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#define ISC_CLI_MAX_FLAGS 24

/* The entries every flag table has: --help, and the end. */
#define ISC_CLI_HELP                                       \
	{                                                  \
		"help", 'h', NULL, "print this help", NULL \
	}
#define ISC_CLI_END                       \
	{                                 \
		NULL, 0, NULL, NULL, NULL \
	}

/* What a flag's value or a verb's positional argument completes to: NULL
 * (nothing), "@file", "@dir", a name kind of the program ("@service",
 * "@image": isc_cli_prog.kinds), or a space-separated list of words. */
struct isc_cli_flag {
	const char *name; /* long form, without "--" */
	int key;	  /* getopt_long's value; < 256: also the short form */
	const char *arg;  /* the value's name in --help; NULL: takes no value */
	const char *help; /* one line; NULL: accepted for compatibility, not shown */
	const char *values;
};

struct isc_cli_verb {
	const char *name;
	const char *usage;		  /* the synopsis after "Usage: " */
	const char *help;		  /* one line, in the program's verb list */
	const char *text;		  /* more --help text (may be NULL) */
	const struct isc_cli_flag *flags; /* ends with { NULL }; may be NULL */
	const struct isc_cli_verb *sub;	  /* sub-verbs, ends with { NULL } */
	const char *values;		  /* what the positional arguments complete to */
	bool hidden;			  /* not in --help nor the man page (completion) */
	/* the program's own function for the verb, cast back by its caller
	 * to the program's verb type (NULL for a sub-verb) */
	void (*fn)(void);
};

/* A name kind for completion: `bash` is a shell pipeline that prints the
 * names, one a line; it may use "$1" (the program as typed) and
 * "${_g[@]}" (the global flags typed so far). */
struct isc_cli_kind {
	const char *name; /* "@service" */
	const char *bash;
};

struct isc_cli_prog {
	const char *name;
	const struct isc_cli_flag *global;
	const struct isc_cli_verb *verbs;
	const struct isc_cli_kind *kinds; /* ends with { NULL } */
};

/* getopt_long's arrays for a flag table, "+" first (the first operand ends
 * the flags); aborts on a table of more than ISC_CLI_MAX_FLAGS flags. */
struct isc_cli_getopt {
	struct option opts[ISC_CLI_MAX_FLAGS + 1];
	char shortopts[3 * ISC_CLI_MAX_FLAGS + 2];
};
void isc_cli_getopt_init(struct isc_cli_getopt *g, const struct isc_cli_flag *flags);

/* The verb `name` of a table ending with { NULL }; NULL when absent. */
const struct isc_cli_verb *isc_cli_find(const struct isc_cli_verb *verbs, const char *name);

/* The flag lines of --help: "  -f, --follow VALUE   help". */
void isc_cli_flags_help(FILE *f, const struct isc_cli_flag *flags);

/* A verb's --help: usage, text, options, sub-verbs. */
void isc_cli_verb_help(FILE *f, const struct isc_cli_verb *v);

/* The verb list of a program's --help: "  name     help". */
void isc_cli_verbs_help(FILE *f, const struct isc_cli_verb *verbs, int width);

/* The bash completion script of a program (complete -F _PROG PROG). */
void isc_cli_bash_completion(FILE *f, const struct isc_cli_prog *p);

/* The table as lines, for tests/integration/test_completion.py:
 * "verb\tPATH" and "flag\tPATH\t--LONG\t-S\tARG" (PATH "" for the
 * global flags; -S and ARG may be blank); hidden verbs and flags left out. */
void isc_cli_dump(FILE *f, const struct isc_cli_prog *p);

#endif
