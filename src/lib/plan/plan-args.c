/* SPDX-License-Identifier: GPL-2.0-or-later
 * `isc run`'s command line -> struct isc_plan: getopt_long over the run
 * flags (isc_plan_run_flags, also isc's --help and completion), each value
 * checked as it is read (plan.c), then the whole plan (isc_plan_check).  A
 * failure clears the plan.
 */
#include "plan/plan.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "base/util.h"
#include "image/image.h"
#include "kernel/caps.h"
#include "kernel/landlock.h"
#include "kernel/scratch.h"
#include "spec/spec.h"
#include "plan/plan-internal.h"

enum {
	RUN_NAME = 256,
	RUN_EXPOSE,
	RUN_CPUS,
	RUN_PIDS,
	RUN_CAP_ADD,
	RUN_RESTART,
	RUN_USERNS,
	RUN_SCRATCH,
	RUN_PERSIST_EXEC,
	RUN_MEMFD_EXEC,
	RUN_TMPFS,
	RUN_ENTRYPOINT,
	RUN_HOSTNAME,
	RUN_RM,
};

/* isc run's flags: the one list of them, for getopt (below) and for
 * isc's --help and completion (its flag table, src/isc/table.c) */
const struct isc_cli_flag isc_plan_run_flags[] = {
	{ "detach", 'd', NULL,
	  "return once it runs: its start is watched for 1 s (ISC_RUN_WATCH_MS); if it exits in that time, its exit status and the last "
	  "lines of its log are shown and isc exits 1 (else: show its output until its first exit and return its "
	  "exit status)",
	  NULL },
	{ "name", RUN_NAME, "NAME", "the service's name (required)", NULL },
	{ "rm", RUN_RM, NULL,
	  "remove the service (as isc rm: /persist is kept) once it ends and is not restarted; implies --restart no",
	  NULL },
	{ "expose", RUN_EXPOSE, "HOSTPORT:PORT[/tcp|udp]", "forward a host port", NULL },
	{ "publish", 'p', "HOSTPORT:PORT[/tcp|udp]", "the same as --expose", NULL },
	{ "volume", 'v', "SRC:DST[:ro]", "bind a host folder", "@file" },
	{ "tmpfs", RUN_TMPFS, "PATH[:size=N,mode=M]",
	  "a tmpfs at PATH (nosuid,nodev,noexec; default 64m), starting with the image's content there (repeatable)",
	  NULL },
	{ "env", 'e', "KEY=VALUE", "set an environment variable", NULL },
	{ "memory", 'm', "SIZE", "memory limit (e.g. 256m)", NULL },
	{ "cpus", RUN_CPUS, "N", "CPU limit (e.g. 0.5)", NULL },
	{ "pids-limit", RUN_PIDS, "N", "process limit", NULL },
	{ "user", 'u', "USER[:GROUP]",
	  "run as this user: names from the image's /etc/passwd and /etc/group, or numbers (default: the container's root)",
	  NULL },
	{ "cap-add", RUN_CAP_ADD, "CAP", "add a capability to the minimal set", NULL },
	{ "workdir", 'w', "DIR", "the process's working directory (absolute; default: the image's, else /)", NULL },
	{ "entrypoint", RUN_ENTRYPOINT, "CMD",
	  "replace the image's entrypoint (one word, or a JSON array); the image's command is dropped too, CMD "
	  "follows it; \"\" for none",
	  NULL },
	{ "hostname", RUN_HOSTNAME, "NAME", "the container's host name (default: the service's name)", NULL },
	{ "restart", RUN_RESTART, "POLICY",
	  "restart policy: no, on-failure or always (default: on-failure with -d, else no)", "no on-failure always" },
	{ "userns", RUN_USERNS, "MODE", "user namespace: auto (default: a private id range) or host", "auto host" },
	{ "scratch-size", RUN_SCRATCH, "SIZE", "size of the encrypted /scratch (default 64m)", NULL },
	{ "persist-exec", RUN_PERSIST_EXEC, NULL, "allow running programs from /persist (default: noexec)", NULL },
	{ "memfd-exec", RUN_MEMFD_EXEC, NULL, "allow running code from a memfd (default: refused, vm.memfd_noexec=2)",
	  NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static int add_port(struct isc_plan *p, const char *arg, isc_error **err)
{
	struct isc_port port;
	if (isc_plan_parse_port(arg, &port, err) < 0)
		return -1;
	struct isc_port *np = realloc(p->ports, (p->n_ports + 1) * sizeof(*np));
	if (np == NULL)
		abort();
	p->ports = np;
	p->ports[p->n_ports++] = port;
	return 0;
}

static int add_volume(struct isc_plan *p, const char *arg, isc_error **err)
{
	struct isc_volume v = { 0 };
	if (isc_plan_parse_volume(arg, &v, err) < 0)
		return -1;
	/* never through a symbolic link (volume.h); iscd checks again */
	struct isc_volume_path vp = { .fd = -1 };
	cleanup_free char *what = isc_xasprintf("-v %s", v.src);
	if (isc_volume_open(what, v.src, false, &vp, err) < 0) {
		free(v.src), free(v.dst);
		return -1;
	}
	isc_volume_path_clear(&vp);
	struct isc_volume *nv = realloc(p->volumes, (p->n_volumes + 1) * sizeof(*nv));
	if (nv == NULL)
		abort();
	p->volumes = nv;
	p->volumes[p->n_volumes++] = v;
	return 0;
}

static int add_cap(struct isc_plan *p, const char *arg, isc_error **err)
{
	if (isc_plan_check_cap(arg, err) < 0)
		return -1;
	cleanup_free char *name = isc_plan_cap_canonical(arg);
	isc_plan_strv_push(&p->cap_add, name);
	return 0;
}

static int add_tmpfs(struct isc_plan *p, const char *arg, isc_error **err)
{
	struct isc_tmpfs t;
	if (isc_plan_parse_tmpfs(arg, &t, err) < 0)
		return -1;
	free(t.dst);
	isc_plan_strv_push(&p->tmpfs, arg);
	return 0;
}

/* one flag's value into the plan, checked (the keys: isc_plan_run_flags) */
static int parse_one(int c, const char *arg, struct isc_plan *p, isc_error **err)
{
	switch (c) {
	case 'd':
		p->detach = true;
		return 0;
	case RUN_NAME:
		free(p->name);
		p->name = isc_xstrdup(arg);
		return isc_plan_parse_name(arg, err);
	case RUN_EXPOSE:
	case 'p':
		return add_port(p, arg, err);
	case 'v':
		return add_volume(p, arg, err);
	case 'e':
		if (isc_plan_check_env(arg, err) < 0)
			return -1;
		isc_plan_strv_push(&p->env, arg);
		return 0;
	case 'm':
		if (isc_plan_parse_size(arg, &p->memory, err) < 0)
			return isc_error_wrap(err, "--memory");
		if (p->memory < (4ULL << 20))
			return isc_error_set(err, EINVAL, "--memory: %s is less than 4m", arg);
		return 0;
	case RUN_CPUS:
		return isc_plan_parse_cpus(arg, &p->cpu_quota, err);
	case RUN_PIDS:
		if (isc_parse_i64(arg, &p->pids_limit) < 0 || p->pids_limit <= 0)
			return isc_error_set(err, EINVAL, "--pids-limit: \"%s\" is not a positive number", arg);
		return 0;
	case 'u':
		if (isc_plan_check_user(arg, err) < 0)
			return -1;
		free(p->user);
		p->user = isc_xstrdup(arg);
		return 0;
	case RUN_CAP_ADD:
		return add_cap(p, arg, err);
	case RUN_RESTART:
		p->restart_set = true;
		return isc_plan_restart_parse(arg, &p->restart, err);
	case 'w':
		free(p->workdir);
		p->workdir = isc_xstrdup(arg);
		return isc_plan_check_abs_path("-w", "directory", arg, err);
	case RUN_ENTRYPOINT:
		isc_strvfree(p->entrypoint);
		return isc_plan_parse_entrypoint(arg, &p->entrypoint, err);
	case RUN_HOSTNAME:
		free(p->hostname);
		p->hostname = isc_xstrdup(arg);
		return isc_plan_check_hostname(arg, err);
	case RUN_RM:
		p->rm = true;
		return 0;
	case RUN_USERNS:
		if (strcmp(arg, "auto") != 0 && strcmp(arg, "host") != 0)
			return isc_error_set(err, EINVAL, "--userns: \"%s\" is not auto or host", arg);
		p->userns_host = strcmp(arg, "host") == 0;
		return 0;
	case RUN_SCRATCH:
		if (isc_plan_check_scratch_size(arg, err) < 0)
			return -1;
		free(p->scratch_size);
		p->scratch_size = isc_xstrdup(arg);
		return 0;
	case RUN_PERSIST_EXEC:
		p->persist_exec = true;
		return 0;
	case RUN_MEMFD_EXEC:
		p->memfd_exec = true;
		return 0;
	case RUN_TMPFS:
		return add_tmpfs(p, arg, err);
	default:
		return isc_error_set(err, EINVAL, "unknown option (see isc run --help)");
	}
}

/* -i, -t: a terminal through iscd needs a design (issue 16); until then
 * the way to one is isc exec -it */
static int no_terminal(const char *flag, isc_error **err)
{
	return isc_error_set(err, EINVAL,
			     "option %s is not supported yet (no terminal through iscd): run it with -d, then isc exec "
			     "-it NAME CMD",
			     flag);
}

/* getopt's '?' for `word`: an unknown option, a known one without its
 * value, or a long one given a value it does not take ("--detach=1": GNU
 * getopt takes "=VALUE" for the others).  optopt (GNU) is 0 for an unknown
 * long option, else the key; a short one is named by its letter, not by
 * the word it came in ("-it", "-dx"). */
static int bad_option(const char *word, const char *shortopts, isc_error **err)
{
	if (strncmp(word, "--", 2) == 0) {
		const char *eq = strchr(word, '=');
		if (optopt != 0 && eq != NULL)
			return isc_error_set(err, EINVAL, "option %.*s takes no value", (int)(eq - word), word);
		if (optopt != 0)
			return isc_error_set(err, EINVAL, "option %s needs a value", word);
		if (strcmp(word, "--interactive") == 0 || strcmp(word, "--tty") == 0)
			return no_terminal(word, err);
		return isc_error_set(err, EINVAL, "unknown option %s (see isc run --help)", word);
	}
	char letter[3] = { '-', (char)optopt, '\0' };
	if (optopt == 'i' || optopt == 't')
		return no_terminal(letter, err);
	if (optopt > 0 && optopt < 256 && strchr(shortopts + 1, optopt) != NULL)
		return isc_error_set(err, EINVAL, "option %s needs a value", letter);
	return isc_error_set(err, EINVAL, "unknown option %s (see isc run --help)", letter);
}

int isc_plan_parse_args(int argc, char **argv, struct isc_plan *p, isc_error **err)
{
	isc_plan_clear(p);
	int ret = 0;
	int saved_opterr = opterr;
	opterr = 0;
	optind = 0; /* full reset (GNU) */
	struct isc_cli_getopt g;
	isc_cli_getopt_init(&g, isc_plan_run_flags);
	int c;
	while ((c = getopt_long(argc, argv, g.shortopts, g.opts, NULL)) != -1) {
		if (c == '?') {
			ret = bad_option(argv[optind - 1], g.shortopts, err);
			goto out;
		}
		if (parse_one(c, optarg, p, err) < 0) {
			ret = -1;
			goto out;
		}
	}
	if (optind >= argc) {
		ret = isc_error_set(err, EINVAL, "an IMAGE is required (isc run [OPTIONS] --name NAME IMAGE [CMD...])");
		goto out;
	}
	/* podman's defaults: attached, the run is the service's one run; -d
	 * (a service) restarts on failure; --rm is never restarted */
	if (!p->restart_set && (!p->detach || p->rm))
		p->restart = ISC_RESTART_NO;
	p->image = isc_xstrdup(argv[optind++]);
	for (; optind < argc; optind++)
		isc_plan_strv_push(&p->cmd, argv[optind]);
	ret = isc_plan_check(p, err);
out:
	opterr = saved_opterr;
	optind = 0;
	if (ret < 0)
		isc_plan_clear(p);
	return ret;
}
