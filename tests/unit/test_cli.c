/* SPDX-License-Identifier: GPL-2.0-or-later
 * cli.c: the getopt arrays, the --help lines and the completion script
 * made from a verb and flag table.  Exact outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/cli.h"

enum { OPT_FORMAT = 256, OPT_PURGE };

static const struct isc_cli_flag flags[] = {
	{ "follow", 'f', NULL, "keep printing new lines", NULL },
	{ "format", OPT_FORMAT, "json", "print JSON", "json" },
	{ "time", 't', "SECONDS", "wait SECONDS", NULL },
	{ "purge", OPT_PURGE, NULL, NULL, NULL }, /* compatibility: not shown */
	{ "help", 'h', NULL, "print this help", NULL },
	{ NULL, 0, NULL, NULL, NULL },
};

static void getopt_arrays(void **state)
{
	(void)state;
	struct isc_cli_getopt g;
	isc_cli_getopt_init(&g, flags);
	assert_string_equal(g.shortopts, "+ft:h");
	const int has[] = { no_argument, required_argument, required_argument, no_argument, no_argument };
	const int val[] = { 'f', OPT_FORMAT, 't', OPT_PURGE, 'h' };
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(g.opts[i].name, flags[i].name);
		assert_int_equal(g.opts[i].has_arg, has[i]);
		assert_int_equal(g.opts[i].val, val[i]);
		assert_null(g.opts[i].flag);
	}
	assert_null(g.opts[5].name);
}

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void flags_help_fn(FILE *f, const void *arg)
{
	isc_cli_flags_help(f, arg);
}

static void help_lines(void **state)
{
	(void)state;
	char *got = capture(flags_help_fn, flags);
	assert_string_equal(got, "  -f, --follow             keep printing new lines\n"
				 "  --format json            print JSON\n"
				 "  -t, --time SECONDS       wait SECONDS\n"
				 "  -h, --help               print this help\n");
	free(got);
}

static const struct isc_cli_verb sub[] = {
	{ "ls", "p x ls", "list", NULL, flags, NULL, NULL, false, NULL },
	{ NULL },
};
static const struct isc_cli_verb verbs[] = {
	{ "x", "p x COMMAND", "the x verbs", NULL, NULL, sub, NULL, false, NULL },
	{ "logs", "p logs NAME", "show logs", NULL, flags, NULL, "@service", false, NULL },
	{ NULL },
};
static const struct isc_cli_kind kinds[] = { { "@service", "echo web db" }, { NULL, NULL } };
static const struct isc_cli_prog prog = { "p-q", flags, verbs, kinds };

static void bash_fn(FILE *f, const void *arg)
{
	isc_cli_bash_completion(f, arg);
}

static void completion_script(void **state)
{
	(void)state;
	char *got = capture(bash_fn, &prog);
	/* the function name of a program with a '-', the table rows of a
	 * sub-verb, the value rows, the name kinds, the registration */
	assert_non_null(strstr(got, "_p_q_table() {\n"));
	assert_non_null(strstr(got, "\t'x ls/flags') echo '-f --follow --format -t --time -h --help' ;;\n"));
	assert_non_null(strstr(got, "\t'x ls/argflags') echo '--format -t --time' ;;\n"));
	assert_non_null(strstr(got, "\t'/subs') echo 'x logs' ;;\n"));
	assert_non_null(strstr(got, "\t'logs/values') echo '@service' ;;\n"));
	assert_non_null(strstr(got, "\t'logs/--format') echo 'json' ;;\n"));
	assert_non_null(strstr(got, "\t'@service') echo web db ;;\n"));
	assert_null(strstr(got, "purge")); /* a flag without help is nowhere */
	const char *tail = "complete -F _p_q p-q\n";
	assert_string_equal(got + strlen(got) - strlen(tail), tail);
	free(got);
}

static void find(void **state)
{
	(void)state;
	assert_ptr_equal(isc_cli_find(verbs, "logs"), &verbs[1]);
	assert_null(isc_cli_find(verbs, "log"));
	assert_null(isc_cli_find(NULL, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(getopt_arrays),
		cmocka_unit_test(help_lines),
		cmocka_unit_test(completion_script),
		cmocka_unit_test(find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
