/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc: the operator's command.  Global flags, then a verb from
 * the table; only this program prints errors. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isc.h"
#include "audit/audit-client.h"
#include "base/escape.h"
#include "host/lab.h"
#include "base/util.h"

typedef int verb_fn(struct isc_global *g, int argc, char **argv);

static void usage(FILE *f)
{
	fprintf(f, "Usage: isc [GLOBAL OPTIONS] COMMAND [ARGS]\n"
		   "\n"
		   "isc manages immutable service containers and their images.\n"
		   "\n"
		   "Global options:\n");
	isc_cli_flags_help(f, isc_global_flags());
	fprintf(f, "\nCommands:\n");
	isc_cli_verbs_help(f, isc_verbs, 8);
	fprintf(f, "\nImage commands (isc image --help):\n");
	for (const struct isc_cli_verb *v = isc_verb("image")->sub; v->name; v++)
		fprintf(f, "  image %-8s %s\n", v->name, v->help);
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 a command line refused before anything was done.\n"
		   "See isc(1).\n");
}

int verb_help(struct isc_global *g, int argc, char **argv)
{
	const struct isc_cli_verb *v = argc >= 2 ? isc_cli_find(isc_verbs, argv[1]) : NULL;
	if (v && strcmp(v->name, "help") != 0) {
		char *args[] = { argv[1], (char *)"--help", NULL };
		optind = 0;
		return ((verb_fn *)v->fn)(g, 2, args);
	}
	usage(stdout);
	return 0;
}

/* The administrative actions: every command that changes the host's state
 * leaves an admin record in the host's audit trail, with who (the
 * collector takes it from this process's credentials and loginuid), what
 * (the command line) and the result (the exit status).  NULL: not one. */
static const char *admin_action(int argc, char **argv)
{
	static const char *const whole[] = { "init",   "deinit",   "run",   "stop", "start", "restart", "rm",
					     "expose", "unexpose", "allow", "kill", "pause", "unpause", "update" };
	/* a request for help changes nothing (before "--" and before a
	 * command's own arguments: run and exec stop at their NAME/IMAGE) */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return NULL;
		if (argv[i][0] != '-' && (strcmp(argv[0], "run") == 0 || strcmp(argv[0], "exec") == 0))
			break;
	}
	for (size_t i = 0; i < ARRAY_SIZE(whole); i++)
		if (strcmp(argv[0], whole[i]) == 0)
			return whole[i];
	if (strcmp(argv[0], "cp") == 0) /* either way: files in or out of a service */
		return "cp";
	if (argc < 2)
		return NULL;
	if (strcmp(argv[0], "image") == 0 && (strcmp(argv[1], "import") == 0 || strcmp(argv[1], "rm") == 0))
		return strcmp(argv[1], "import") == 0 ? "image import" : "image rm";
	if (strcmp(argv[0], "policy") == 0 && (strcmp(argv[1], "enable") == 0 || strcmp(argv[1], "disable") == 0))
		return strcmp(argv[1], "enable") == 0 ? "policy enable" : "policy disable";
	return NULL;
}

static void admin_record(const char *root, const char *action, char **argv, int rc)
{
	/* only a host registered with the audit collector (isc init) has a trail */
	cleanup_free char *range = isc_xasprintf("%s/audit/range.json", root);
	if (access(range, F_OK) < 0)
		return;
	cleanup_error isc_error *err = NULL;
	if (isc_audit_admin(root, action, NULL, argv, rc, NULL, &err) < 0) {
		char buf[1024];
		fprintf(stderr, "isc: warning: no audit record of this %s: %s\n", action,
			isc_error_text(err, buf, sizeof(buf)));
	}
}

int isc_report(isc_error **err)
{
	char buf[2048];
	/* a message may quote what a container or an image chose (an entry
	 * name, a path): escaped like every text view */
	cleanup_free char *text = isc_escape(isc_error_text(*err, buf, sizeof(buf)));
	fprintf(stderr, "isc: %s\n", text);
	isc_error_free(err);
	return 1;
}

int isc_report_input(isc_error **err)
{
	if (*err && (*err)->errnum == EINVAL)
		(*err)->errnum = 0;
	return isc_report(err);
}

int isc_report_ctl(isc_error **err)
{
	if (*err && (*err)->errnum == ENOENT && (*err)->msg && strstr((*err)->msg, "no service named "))
		(*err)->errnum = 0;
	return isc_report(err);
}

int isc_host_root(const char *lab, char **out, isc_error **err)
{
	if (lab == NULL) {
		*out = isc_xstrdup(ISC_HOST_ROOT);
		return 0;
	}
	if (isc_lab_name_check(lab, err) < 0)
		return isc_error_wrap(err, "--lab / ISC_LAB");
	*out = isc_lab_root(lab);
	return 0;
}

int main(int argc, char **argv)
{
	struct isc_global g = { .lab = getenv("ISC_LAB") };
	const char *root = NULL;
	signal(SIGPIPE, SIG_IGN);
	if (g.lab && g.lab[0] == '\0')
		g.lab = NULL;

	struct isc_cli_getopt go;
	isc_cli_getopt_init(&go, isc_global_flags());
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, go.shortopts, go.opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			root = optarg;
			break;
		case OPT_LAB:
			g.lab = optarg;
			break;
		case 'v':
			printf("isc version %s\n", ISC_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "isc: unknown global option %s\n", argv[optind - 1]);
			usage(stderr);
			return ISC_EXIT_USAGE;
		}
	}
	isc_error *err = NULL;
	cleanup_free char *hostroot = NULL;
	cleanup_free char *labroot = NULL;
	const char *root_given = root;
	if (root == NULL) {
		if (isc_host_root(g.lab, &hostroot, &err) < 0)
			return isc_report_input(&err);
		root = hostroot;
	} else if (root[0] == '\0') {
		fprintf(stderr, "isc: --root: empty directory name\n");
		return ISC_EXIT_USAGE;
	}
	g.root = root;
	if (optind >= argc) {
		usage(stderr);
		return ISC_EXIT_USAGE;
	}
	int vi = optind;
	/* --lab NAME may also follow the verb: anywhere before "--" for most
	 * verbs; for run and exec (whose command line ends in the container's
	 * own arguments) only right after the verb. */
	bool tail_cmd = strcmp(argv[vi], "run") == 0 || strcmp(argv[vi], "exec") == 0;
	for (int i = vi + 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		const char *lab = NULL;
		int take = 0;
		if (strcmp(argv[i], "--lab") == 0 && i + 1 < argc) {
			lab = argv[i + 1];
			take = 2;
		} else if (strncmp(argv[i], "--lab=", 6) == 0) {
			lab = argv[i] + 6;
			take = 1;
		}
		if (take == 0) {
			if (tail_cmd)
				break;
			continue;
		}
		if (root_given == NULL) {
			free(labroot);
			labroot = NULL;
			if (isc_host_root(lab, &labroot, &err) < 0)
				return isc_report_input(&err);
			g.root = labroot;
		}
		g.lab = lab;
		memmove(&argv[i], &argv[i + take], (size_t)(argc - i - take + 1) * sizeof(char *));
		argc -= take;
		i--;
	}
	const struct isc_cli_verb *v = isc_cli_find(isc_verbs, argv[vi]);
	if (v != NULL) {
		optind = 0; /* reset getopt for the verb's own flags */
		const char *action = admin_action(argc - vi, argv + vi);
		/* deinit removes the host's registration: its record first */
		if (action && strcmp(action, "deinit") == 0)
			admin_record(g.root, action, argv + vi, 0);
		int rc = ((verb_fn *)v->fn)(&g, argc - vi, argv + vi);
		if (action && strcmp(action, "deinit") != 0)
			admin_record(g.root, action, argv + vi, rc);
		return rc;
	}
	fprintf(stderr, "isc: unknown command \"%s\"\n", argv[vi]);
	usage(stderr);
	return ISC_EXIT_USAGE;
}
