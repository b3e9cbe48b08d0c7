/* SPDX-License-Identifier: GPL-2.0-or-later
 * The verb and flag table (cli.h): getopt arrays, --help text and the
 * bash completion script, all from the same table. */
#include "base/cli.h"

#include <stdlib.h>
#include <string.h>

void isc_cli_getopt_init(struct isc_cli_getopt *g, const struct isc_cli_flag *flags)
{
	size_t n = 0, s = 0;
	memset(g, 0, sizeof(*g));
	g->shortopts[s++] = '+';
	for (const struct isc_cli_flag *f = flags; f && f->name; f++) {
		if (n >= ISC_CLI_MAX_FLAGS)
			abort(); /* a table too large for the arrays: a programming error */
		g->opts[n++] = (struct option){ f->name, f->arg ? required_argument : no_argument, NULL, f->key };
		if (f->key > 0 && f->key < 256) {
			g->shortopts[s++] = (char)f->key;
			if (f->arg)
				g->shortopts[s++] = ':';
		}
	}
}

const struct isc_cli_verb *isc_cli_find(const struct isc_cli_verb *verbs, const char *name)
{
	for (const struct isc_cli_verb *v = verbs; v && v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

/* text from column 27, wrapped at 79 */
static void wrapped(FILE *f, const char *text)
{
	size_t col = 27;
	const char *p = text;
	while (*p) {
		size_t w = strcspn(p, " ");
		if (col > 27 && col + 1 + w > 79) {
			fprintf(f, "\n%27s", "");
			col = 27;
		} else if (col > 27) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, w, f);
		col += w;
		p += w;
		p += strspn(p, " ");
	}
	fputc('\n', f);
}

void isc_cli_flags_help(FILE *f, const struct isc_cli_flag *flags)
{
	for (const struct isc_cli_flag *fl = flags; fl && fl->name; fl++) {
		if (fl->help == NULL)
			continue;
		char head[80];
		if (fl->key > 0 && fl->key < 256)
			snprintf(head, sizeof(head), "-%c, --%s%s%s", fl->key, fl->name, fl->arg ? " " : "",
				 fl->arg ? fl->arg : "");
		else
			snprintf(head, sizeof(head), "--%s%s%s", fl->name, fl->arg ? " " : "", fl->arg ? fl->arg : "");
		if (strlen(head) > 24)
			fprintf(f, "  %s\n%27s", head, "");
		else
			fprintf(f, "  %-24s ", head);
		wrapped(f, fl->help);
	}
}

void isc_cli_verbs_help(FILE *f, const struct isc_cli_verb *verbs, int width)
{
	for (const struct isc_cli_verb *v = verbs; v && v->name; v++)
		if (!v->hidden)
			fprintf(f, "  %-*s %s\n", width, v->name, v->help);
}

void isc_cli_verb_help(FILE *f, const struct isc_cli_verb *v)
{
	fprintf(f, "Usage: %s\n\n%s%s\n", v->usage, v->text ? v->text : v->help, v->text ? "" : ".");
	if (v->flags && v->flags->name) {
		fputs("\nOptions:\n", f);
		isc_cli_flags_help(f, v->flags);
	}
	if (v->sub && v->sub->name) {
		/* each sub-verb with its arguments: its usage from its name on */
		fputs("\nCommands:\n", f);
		for (const struct isc_cli_verb *s = v->sub; s->name; s++) {
			size_t n = strlen(s->name);
			const char *at = s->usage;
			while ((at = strstr(at, s->name)) != NULL &&
			       !((at == s->usage || at[-1] == ' ') && (at[n] == ' ' || at[n] == '\0')))
				at += n;
			fprintf(f, "  %-30s %s\n", at ? at : s->name, s->help);
		}
	}
}

/* ---- bash completion --------------------------------------------------------------- */

/* Words of a flag table: every form, or only those that take a value. */
static void flag_words(FILE *f, const struct isc_cli_flag *flags, bool with_value_only)
{
	const char *sep = "";
	for (const struct isc_cli_flag *fl = flags; fl && fl->name; fl++) {
		if ((with_value_only && fl->arg == NULL) || fl->help == NULL)
			continue;
		if (fl->key > 0 && fl->key < 256) {
			fprintf(f, "%s-%c", sep, fl->key);
			sep = " ";
		}
		fprintf(f, "%s--%s", sep, fl->name);
		sep = " ";
	}
}

static void table_cases(FILE *f, const char *path, const struct isc_cli_flag *flags, const struct isc_cli_verb *sub,
			const char *values)
{
	fprintf(f, "\t'%s/subs') echo '", path);
	for (const struct isc_cli_verb *v = sub; v && v->name; v++)
		fprintf(f, "%s%s", v == sub ? "" : " ", v->name);
	fprintf(f, "' ;;\n\t'%s/flags') echo '", path);
	flag_words(f, flags, false);
	fprintf(f, "' ;;\n\t'%s/argflags') echo '", path);
	flag_words(f, flags, true);
	fprintf(f, "' ;;\n");
	if (values)
		fprintf(f, "\t'%s/values') echo '%s' ;;\n", path, values);
}

static void table_tree(FILE *f, const char *path, const struct isc_cli_verb *verbs)
{
	for (const struct isc_cli_verb *v = verbs; v && v->name; v++) {
		char sub[128];
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? " " : "", v->name);
		table_cases(f, sub, v->flags, v->sub, v->values);
		table_tree(f, sub, v->sub);
	}
}

static void value_cases(FILE *f, const char *path, const struct isc_cli_flag *flags)
{
	for (const struct isc_cli_flag *fl = flags; fl && fl->name; fl++) {
		if (fl->arg == NULL || fl->values == NULL || fl->help == NULL)
			continue;
		fprintf(f, "\t'%s/--%s'", path, fl->name);
		if (fl->key > 0 && fl->key < 256)
			fprintf(f, " | '%s/-%c'", path, fl->key);
		fprintf(f, ") echo '%s' ;;\n", fl->values);
	}
}

static void value_tree(FILE *f, const char *path, const struct isc_cli_verb *verbs)
{
	for (const struct isc_cli_verb *v = verbs; v && v->name; v++) {
		char sub[128];
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? " " : "", v->name);
		value_cases(f, sub, v->flags);
		value_tree(f, sub, v->sub);
	}
}

void isc_cli_bash_completion(FILE *f, const struct isc_cli_prog *p)
{
	char fn[64];
	snprintf(fn, sizeof(fn), "_%s", p->name);
	for (char *c = fn; *c; c++)
		if (*c == '-')
			*c = '_';
	fprintf(f,
		"# bash completion for %s: generated by `%s completion bash` from the\n"
		"# program's verb and flag table (src/lib/base/cli.h); do not edit.\n\n",
		p->name, p->name);
	/* the table: PATH/FIELD -> words */
	fprintf(f, "%s_table() {\n\tcase \"$1/$2\" in\n", fn);
	table_cases(f, "", p->global, p->verbs, NULL);
	table_tree(f, "", p->verbs);
	fprintf(f, "\tesac\n}\n\n");
	/* what a flag's value completes to */
	fprintf(f, "%s_value() {\n\tcase \"$1/$2\" in\n", fn);
	value_cases(f, "", p->global);
	value_tree(f, "", p->verbs);
	fprintf(f, "\tesac\n}\n\n");
	/* the name kinds: $1 the program as typed, $2 the kind */
	fprintf(f, "%s_names() {\n\tcase \"$2\" in\n", fn);
	for (const struct isc_cli_kind *k = p->kinds; k && k->name; k++)
		fprintf(f, "\t'%s') %s ;;\n", k->name, k->bash);
	fprintf(f, "\tesac 2>/dev/null\n}\n\n");
	fprintf(f,
		"%1$s_expand() { # VALUES PROGRAM CURRENT-WORD\n"
		"\tcase \"$1\" in\n"
		"\t@file) compopt -o filenames 2>/dev/null; compgen -f -- \"$3\" ;;\n"
		"\t@dir) compopt -o filenames 2>/dev/null; compgen -d -- \"$3\" ;;\n"
		"\t@*) compgen -W \"$(%1$s_names \"$2\" \"$1\")\" -- \"$3\" ;;\n"
		"\t*) compgen -W \"$1\" -- \"$3\" ;;\n"
		"\tesac\n"
		"}\n\n"
		"%1$s() {\n"
		"\tlocal cur=${COMP_WORDS[COMP_CWORD]} path='' flag='' w i\n"
		"\tlocal -a _g=()\n"
		"\tlocal gargs=\" $(%1$s_table '' argflags) \"\n"
		"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
		"\t\tw=${COMP_WORDS[i]}\n"
		"\t\tif [[ $w == -* && ( \"$gargs\" == *\" $w \"* || \" $(%1$s_table \"$path\" argflags) \" == *\" $w \"* ) ]]; then\n"
		"\t\t\t[[ \"$gargs\" == *\" $w \"* ]] && _g+=(\"$w\" \"${COMP_WORDS[i+1]}\")\n"
		"\t\t\t((i + 1 == COMP_CWORD)) && flag=$w\n"
		"\t\t\t((i++))\n"
		"\t\t\tcontinue\n"
		"\t\tfi\n"
		"\t\t[[ $w == -* ]] && continue\n"
		"\t\t[[ \" $(%1$s_table \"$path\" subs) \" == *\" $w \"* ]] && path=${path:+$path }$w\n"
		"\tdone\n"
		"\tlocal v\n"
		"\tif [[ -n $flag ]]; then\n"
		"\t\tv=$(%1$s_value \"$path\" \"$flag\")\n"
		"\t\t[[ -z $v ]] && v=$(%1$s_value '' \"$flag\")\n"
		"\t\t[[ -z $v ]] && return 0\n"
		"\telif [[ $cur == -* ]]; then\n"
		"\t\tv=$(%1$s_table \"$path\" flags)\n"
		"\telse\n"
		"\t\tv=$(%1$s_table \"$path\" subs)\n"
		"\t\t[[ -z $v ]] && v=$(%1$s_table \"$path\" values)\n"
		"\t\t[[ -z $v ]] && return 0\n"
		"\tfi\n"
		"\tmapfile -t COMPREPLY < <(%1$s_expand \"$v\" \"${COMP_WORDS[0]}\" \"$cur\")\n"
		"}\n\n"
		"complete -F %1$s %2$s\n",
		fn, p->name);
}

/* ---- the table as text, for the tests ------------------------------------------------ */

static void dump_flags(FILE *f, const char *path, const struct isc_cli_flag *flags)
{
	for (const struct isc_cli_flag *fl = flags; fl && fl->name; fl++)
		if (fl->help != NULL)
			fprintf(f, "flag\t%s\t--%s\t%s%c\t%s\n", path, fl->name,
				fl->key > 0 && fl->key < 256 ? "-" : "", fl->key > 0 && fl->key < 256 ? fl->key : ' ',
				fl->arg ? fl->arg : "");
}

static void dump_tree(FILE *f, const char *path, const struct isc_cli_verb *verbs)
{
	for (const struct isc_cli_verb *v = verbs; v && v->name; v++) {
		if (v->hidden)
			continue;
		char sub[128];
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? " " : "", v->name);
		fprintf(f, "verb\t%s\n", sub);
		dump_flags(f, sub, v->flags);
		dump_tree(f, sub, v->sub);
	}
}

void isc_cli_dump(FILE *f, const struct isc_cli_prog *p)
{
	dump_flags(f, "", p->global);
	dump_tree(f, "", p->verbs);
}
