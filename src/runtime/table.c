/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc-runtime's verb and flag table (base/cli.h): the one list of its
 * verbs and flags, from which main.c dispatches, the verbs build their
 * getopt arrays (rt_verb_getopt), --help is printed (verb_usage) and
 * `isc-runtime completion bash` prints the completion script.  A flag
 * without help is accepted for compatibility (runc's) and shown nowhere. */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "spec/spec.h"

#define FN(f) ((void (*)(void))(f))

static const struct isc_cli_flag global_flags[] = {
	{ "root", RT_OPT_ROOT, "DIR", "state directory (default " ISC_RUNTIME_DEFAULT_ROOT ")", "@dir" },
	{ "log", RT_OPT_LOG, "FILE", "write the log to FILE instead of stderr", "@file" },
	{ "log-format", RT_OPT_LOG_FORMAT, "FORMAT", "text (default) or json (one object per line: msg, level, time)",
	  "text json" },
	{ "debug", RT_OPT_DEBUG, NULL, "log debug messages", NULL },
	{ "systemd-cgroup", RT_OPT_SYSTEMD, NULL, "use systemd to manage cgroups (refused: not supported)", NULL },
	{ "cgroup-manager", RT_OPT_CGMGR, "M", "cgroupfs (default), or disabled (no cgroups); systemd is refused",
	  "cgroupfs disabled" },
	{ "criu", RT_OPT_CRIU, "PATH", NULL, NULL },
	{ "rootless", RT_OPT_ROOTLESS, "VALUE", NULL, NULL },
	{ "version", 'v', NULL, "print the version", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag help_only[] = { ISC_CLI_HELP, ISC_CLI_END };

static const struct isc_cli_flag create_flags[] = {
	{ "bundle", 'b', "DIR", "the bundle (default: the current directory)", "@dir" },
	{ "pid-file", RT_OPT_PID, "FILE", "write the container's init pid to FILE", "@file" },
	{ "console-socket", RT_OPT_CONSOLE, "PATH", "unix socket to receive the terminal's master fd", "@file" },
	{ "preserve-fds", RT_OPT_PRESERVE, "N", "keep fds 3 .. 3+N-1 open in the container process", NULL },
	{ "no-pivot", RT_OPT_NOPIVOT, NULL, "accepted for compatibility", NULL },
	{ "no-new-keyring", RT_OPT_NOKEYRING, NULL, "accepted for compatibility", NULL },
	{ "detach", RT_OPT_DETACH, NULL, NULL, NULL }, /* refused: "unknown option --detach" */
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag run_flags[] = {
	{ "bundle", 'b', "DIR", "the bundle (default: the current directory)", "@dir" },
	{ "pid-file", RT_OPT_PID, "FILE", "write the container's init pid to FILE", "@file" },
	{ "console-socket", RT_OPT_CONSOLE, "PATH", "unix socket to receive the terminal's master fd", "@file" },
	{ "preserve-fds", RT_OPT_PRESERVE, "N", "keep fds 3 .. 3+N-1 open in the container process", NULL },
	{ "detach", 'd', NULL, "do not wait for the container to exit", NULL },
	{ "no-pivot", RT_OPT_NOPIVOT, NULL, "accepted for compatibility", NULL },
	{ "no-new-keyring", RT_OPT_NOKEYRING, NULL, "accepted for compatibility", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag kill_flags[] = {
	{ "all", 'a', NULL, "signal every process of the container", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag delete_flags[] = {
	{ "force", 'f', NULL, "kill a running container first", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag list_flags[] = {
	{ "format", 'f', "FORMAT", "table (default) or json", "table json" },
	{ "quiet", 'q', NULL, "print the container ids only", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag exec_flags[] = {
	{ "process", 'p', "FILE", "the process to run, as a process.json (instead of COMMAND)", "@file" },
	{ "detach", 'd', NULL, "do not wait: exit once the process runs", NULL },
	{ "pid-file", RT_OPT_PID, "FILE", "write the process's host pid to FILE", "@file" },
	{ "tty", 't', NULL, "give the process a terminal (with --console-socket)", NULL },
	{ "console-socket", RT_OPT_CONSOLE, "PATH", "unix socket to receive the terminal's master fd", "@file" },
	{ "cwd", RT_OPT_CWD, "DIR", "working directory", NULL },
	{ "env", 'e', "KEY=VALUE", "add an environment variable (repeatable)", NULL },
	{ "user", 'u', "UID[:GID]", "user and group in the container", NULL },
	{ "cap", 'c', "CAP", "add a capability within the container's bounding set (repeatable)", NULL },
	{ "no-new-privs", RT_OPT_NNP, NULL, "set no_new_privs", NULL },
	{ "preserve-fds", RT_OPT_PRESERVE, "N", "keep fds 3 .. 3+N-1 open in the process", NULL },
	/* runc flags that carry nothing for us */
	{ "apparmor", RT_OPT_IGNORED_ARG, "PROFILE", NULL, NULL },
	{ "process-label", RT_OPT_IGNORED_ARG, "LABEL", NULL, NULL },
	{ "ignore-paused", RT_OPT_IGNORED, NULL, NULL, NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag ps_flags[] = {
	{ "format", 'f', "FORMAT", "json: an array of pids; table (default): PID and command line", "table json" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag update_flags[] = {
	{ "resources", 'r', "FILE", "linux.resources as JSON (- for stdin)", "@file" },
	{ "memory", RT_OPT_MEMORY, "BYTES", "memory limit", NULL },
	{ "memory-reservation", RT_OPT_MEMRES, "BYTES", "memory soft limit", NULL },
	{ "memory-swap", RT_OPT_MEMSWAP, "BYTES", "memory plus swap limit", NULL },
	{ "pids-limit", RT_OPT_PIDS, "N", "process limit", NULL },
	{ "cpu-shares", RT_OPT_SHARES, "N", "CPU weight (2-262144)", NULL },
	{ "cpu-share", RT_OPT_SHARES, "N", NULL, NULL }, /* runc's spelling */
	{ "cpu-quota", RT_OPT_QUOTA, "N", "CPU time per period, in microseconds", NULL },
	{ "cpu-period", RT_OPT_PERIOD, "N", "the CPU period, in microseconds (1000-1000000)", NULL },
	{ "cpuset-cpus", RT_OPT_CPUS, "LIST", "the CPUs allowed (0-3,5)", NULL },
	{ "cpuset-mems", RT_OPT_MEMS, "LIST", "the memory nodes allowed", NULL },
	{ "blkio-weight", RT_OPT_BLKIO, "N", "block I/O weight (10-1000)", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag spec_flags[] = {
	{ "bundle", 'b', "DIR", "the bundle to write config.json into (default: .)", "@dir" },
	{ "rootless", RT_OPT_ROOTLESS, NULL, "map only the caller's uid and gid", NULL },
	{ "seccomp-only", RT_OPT_SECCOMP_ONLY, NULL,
	  "print only its seccomp profile (linux.seccomp) to stdout, for podman or docker run --security-opt "
	  "seccomp=FILE; writes no config.json",
	  NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_verb completion_sub[] = {
	{ "bash", "isc-runtime completion bash", "print the bash completion script", NULL, help_only, NULL, NULL, false,
	  NULL },
	{ NULL },
};

#define ID "@container"

const struct isc_cli_verb rt_verbs[] = {
	{ "create", "isc-runtime create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] ID",
	  "create a container (it waits for start)",
	  "Create a container; its process waits for isc-runtime start.  With LISTEN_FDS\n"
	  "set (for this process), those fds are kept too and the container process gets\n"
	  "LISTEN_FDS and LISTEN_PID.",
	  create_flags, NULL, NULL, false, FN(verb_create) },
	{ "start", "isc-runtime start ID", "start a created container", NULL, help_only, NULL, ID, false,
	  FN(verb_start) },
	{ "run", "isc-runtime run [--bundle DIR] [--pid-file FILE] [--console-socket PATH] [--detach] ID",
	  "create and start a container",
	  "Create and start a container.  Without --detach, the exit status is the\n"
	  "container's (128+N for signal N).",
	  run_flags, NULL, NULL, false, FN(verb_run) },
	{ "state", "isc-runtime state ID", "print the state of a container (JSON)", NULL, help_only, NULL, ID, false,
	  FN(verb_state) },
	{ "kill", "isc-runtime kill [--all] ID [SIGNAL]", "send a signal to the container's init",
	  "Send SIGNAL, a name (TERM, SIGTERM) or a number (15), to the container's init;\n"
	  "default SIGTERM.",
	  kill_flags, NULL, ID, false, FN(verb_kill) },
	{ "delete", "isc-runtime delete [--force] ID", "delete a container and everything it used", NULL, delete_flags,
	  NULL, ID, false, FN(verb_delete) },
	{ "list", "isc-runtime list [--format table|json] [--quiet]", "list containers", NULL, list_flags, NULL, NULL,
	  false, FN(verb_list) },
	{ "exec", "isc-runtime exec [OPTIONS] ID [COMMAND [ARG...]]", "run another process in a running container",
	  "The process joins every namespace, the cgroups, and the capability, seccomp,\n"
	  "no_new_privs, rlimit and user setup of the container. Without --detach the\n"
	  "exit status is the process's.",
	  exec_flags, NULL, ID, false, FN(verb_exec) },
	{ "ps", "isc-runtime ps [--format table|json] ID", "list the processes of a container", NULL, ps_flags, NULL,
	  ID, false, FN(verb_ps) },
	{ "pause", "isc-runtime pause ID", "freeze every process of a container", NULL, help_only, NULL, ID, false,
	  FN(verb_pause) },
	{ "resume", "isc-runtime resume ID", "thaw a paused container", NULL, help_only, NULL, ID, false,
	  FN(verb_resume) },
	{ "update", "isc-runtime update [--resources FILE|-] [OPTIONS] ID", "change the resource limits of a container",
	  "Sizes are bytes or take a k, m, g suffix (64m); -1 is unlimited. Flags override\n"
	  "the file. A limit for a controller the container has no group in yet creates\n"
	  "the group and moves the container's processes into it.",
	  update_flags, NULL, ID, false, FN(verb_update) },
	{ "spec", "isc-runtime spec [--bundle DIR] [--rootless]\n       isc-runtime spec --seccomp-only",
	  "write a hardened default config.json", "Write a hardened default config.json into the bundle (default: .).",
	  spec_flags, NULL, NULL, false, FN(verb_spec) },
	{ "features", "isc-runtime features", "print the features this runtime supports (JSON)", NULL, help_only, NULL,
	  NULL, false, FN(verb_features) },
	{ "help", "isc-runtime help [COMMAND]", "show help for a command", NULL, help_only, NULL,
	  "create start run state kill delete list exec ps pause resume update spec features", false, FN(verb_help) },
	{ "completion", "isc-runtime completion bash", "print a shell completion script", NULL, help_only,
	  completion_sub, NULL, true, FN(verb_completion) },
	{ NULL },
};

static const struct isc_cli_kind kinds[] = {
	{ "@container", "\"$1\" \"${_g[@]}\" list --quiet" },
	{ NULL, NULL },
};

const struct isc_cli_prog rt_prog = { "isc-runtime", global_flags, rt_verbs, kinds };

const struct isc_cli_flag *rt_global_flags(void)
{
	return global_flags;
}

void rt_verb_getopt(const char *verb, struct isc_cli_getopt *g)
{
	const struct isc_cli_verb *v = isc_cli_find(rt_verbs, verb);
	if (v == NULL)
		abort(); /* a verb not in the table: a programming error */
	isc_cli_getopt_init(g, v->flags);
}

int verb_usage(const char *name, FILE *f)
{
	const struct isc_cli_verb *v = isc_cli_find(rt_verbs, name);
	if (v == NULL) {
		fprintf(stderr, "isc-runtime: unknown command \"%s\"\n", name);
		return -1;
	}
	isc_cli_verb_help(f, v);
	return 0;
}

int verb_completion(struct global *g, int argc, char **argv)
{
	(void)g;
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		verb_usage("completion", stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "table") == 0) { /* for the tests */
		isc_cli_dump(stdout, &rt_prog);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "bash") != 0) {
		fprintf(stderr, "isc-runtime completion: usage: isc-runtime completion bash\n");
		return 1;
	}
	isc_cli_bash_completion(stdout, &rt_prog);
	return 0;
}
