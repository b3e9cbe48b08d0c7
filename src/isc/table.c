/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc's verb and flag table (base/cli.h): the one list of its verbs,
 * sub-verbs and flags, from which main.c dispatches, the verbs build their
 * getopt arrays (isc_verb_getopt), --help is printed (isc_verb_usage) and
 * `isc completion bash` prints the completion script.  `run`'s flags are
 * libisc's (isc_plan_run_flags, plan/plan-args.c), which parses them. */
#include <stdlib.h>
#include <string.h>

#include "isc.h"
#include "base/util.h"
#include "host/lab.h"
#include "plan/plan.h"

#define FN(f) ((void (*)(void))(f))

static const struct isc_cli_flag global_flags[] = {
	{ "lab", OPT_LAB, "NAME",
	  "work in the lab NAME (state under " ISC_HOST_ROOT "/labs/NAME); also from ISC_LAB; may also follow the "
	  "command (for run and exec: right after it)",
	  "@lab" },
	{ "root", OPT_ROOT, "DIR", "state root (default " ISC_HOST_ROOT "); overrides --lab", "@dir" },
	{ "version", 'v', NULL, "print the version", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag help_only[] = { ISC_CLI_HELP, ISC_CLI_END };

static const struct isc_cli_flag init_flags[] = {
	{ "uplink", OPT_UPLINK, "IF", "interface facing the world (a lab: " ISC_LAB_UPLINK ")", "@netdev" },
	{ "subnet", OPT_SUBNET, "CIDR", "private container network (default " ISC_DEFAULT_SUBNET ")", NULL },
	{ "ssh-port", OPT_SSH, "N", "the host's SSH port, always accepted (default 22)", NULL },
	{ "confirm-timeout", OPT_CONFIRM, "S",
	  "roll the new ruleset back after S seconds unless confirmed (real host, interactive; default 60)", NULL },
	{ "audit-epoch", OPT_AEPOCH, "S", "seal the audit trail every S seconds (default 900)", NULL },
	{ "audit-rotate", OPT_AROTATE, "SIZE", "start a new trail file beyond SIZE (default 64m)", NULL },
	{ "audit-keep", OPT_AKEEP, "N", "rotated trail files kept (default 0: all)", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag format_json[] = {
	{ "format", OPT_FORMAT, "json", "print JSON", "json" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag format_table_json[] = {
	{ "format", OPT_FORMAT, "table|json", "a table (default) or JSON", "table json" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag stop_flags[] = {
	{ "time", 't', "SECONDS", "SIGKILL after SECONDS (default 10)", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag rm_flags[] = {
	{ "force", 'f', NULL, "stop it first (SIGKILL) when it runs", NULL },
	{ "purge", OPT_PURGE, NULL, "remove /persist too", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag logs_flags[] = {
	{ "follow", 'f', NULL, "keep printing new lines until the service stops", NULL },
	{ "tail", OPT_TAIL, "N", "only the last N lines", NULL },
	{ "since", OPT_SINCE, "TIME", "only lines from TIME: RFC 3339 UTC (2026-11-28T14:00:00Z) or an age (10m)",
	  NULL },
	{ "timestamps", 't', NULL, "each line after its time", NULL },
	{ "format", OPT_FORMAT, "json", "print the JSON records ({\"time\", \"stream\", \"line\"})", "json" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag ps_flags[] = {
	{ "all", 'a', NULL, "the stopped services too", NULL },
	{ "quiet", 'q', NULL, "their names only", NULL },
	{ "format", OPT_FORMAT, "json", "print JSON", "json" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag inspect_flags[] = {
	{ "format", 'f', "TEMPLATE", "a path (.status.state) or text with {{.PATH}} in it, per NAME", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag exec_flags[] = {
	{ "interactive", 'i', NULL, "pass stdin (otherwise CMD reads an empty pipe)", NULL },
	{ "tty", 't', NULL, "give CMD a terminal", NULL },
	{ "user", 'u', "UID[:GID]", "run as this user of the container", NULL },
	{ "env", 'e', "K=V", "add to the environment", NULL },
	{ "workdir", 'w', "DIR", "working directory in the container", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag allow_flags[] = {
	{ "remove", OPT_REMOVE, NULL, "close that flow again", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag packets_flags[] = {
	{ "container", 'c', "NAME", "only this service's packets", "@service" },
	{ "follow", 'f', NULL, "keep printing new records", NULL },
	{ "format", OPT_FORMAT, "json|text", "JSON lines, or text (default)", "json text" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag audit_flags[] = {
	{ "container", OPT_CONTAINER, "NAME", "only this service's records", "@service" },
	{ "type", OPT_TYPE, "TYPE", "only records of this type: exec, login, logout, admin, lost, gap, seal, loginuid",
	  "exec login logout admin lost gap seal loginuid register unregister collector-stop disk-full tamper rotate "
	  "trail-start" },
	{ "since", OPT_SINCE, "TIME",
	  "only records from TIME: RFC 3339 UTC (2026-11-28T14:00:00Z) or an age (30s, "
	  "10m, 2h, 1d)",
	  NULL },
	{ "follow", OPT_FOLLOW, NULL, "keep printing new records", NULL },
	{ "format", OPT_FORMAT, "json|text", "the trail's JSON lines, or text (default)", "json text" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag kill_flags[] = {
	{ "signal", 's', "SIGNAL", "the signal: a name (TERM, SIGTERM) or a number (default KILL)", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag update_flags[] = {
	{ "memory", 'm', "SIZE", "memory limit (e.g. 256m; at least 4m)", NULL },
	{ "cpus", OPT_CPUS, "N", "CPU limit (e.g. 0.5)", NULL },
	{ "pids-limit", OPT_PIDS, "N", "the most processes and threads", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag stats_flags[] = {
	{ "no-stream", OPT_NO_STREAM, NULL, "print once and exit", NULL },
	{ "format", OPT_FORMAT, "json", "print JSON", "json" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag audit_verify_flags[] = {
	{ "key", OPT_KEY, "HEX", "the verification key printed by isc init: check every seal too", NULL },
	{ "key-file", OPT_KEY_FILE, "FILE", "read the key from FILE", "@file" },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_flag image_rm_flags[] = {
	{ "force", 'f', NULL, "remove the name even while a service uses it (the services keep the content)", NULL },
	ISC_CLI_HELP,
	ISC_CLI_END,
};

static const struct isc_cli_verb audit_sub[] = {
	{ "verify", "isc [GLOBAL OPTIONS] audit verify [--key HEX | --key-file FILE]",
	  "verify the trail's chain (and, with the key, its seals)",
	  "Exit 0 when the trail is intact, 1 naming the first bad record otherwise;\n"
	  "with the verification key printed by `isc init` it also checks every seal.",
	  audit_verify_flags, NULL, NULL, false, NULL },
	{ NULL },
};

static const struct isc_cli_verb image_sub[] = {
	{ "import", "isc image import NAME SOURCE", "import a rootfs directory, a tarball or an OCI layout",
	  "Import SOURCE (a rootfs directory, a tarball in any compression, or an OCI image\n"
	  "layout directory) as NAME; print the image id.  Device nodes and sockets are\n"
	  "dropped (one line on stderr says how many).",
	  help_only, NULL, "@file", false, NULL },
	{ "ls", "isc image ls [--format json]", "list images",
	  "List images: name, id, size, import time, last verification; content no name\n"
	  "points to is listed as <none>.",
	  format_table_json, NULL, NULL, false, NULL },
	{ "verify", "isc image verify NAME", "rehash every file of an image against its manifest",
	  "Rehash every file against the manifest; exit 1 naming the first differing path.", help_only, NULL, "@image",
	  false, NULL },
	{ "check", "isc image check NAME", "the quick check a container start makes",
	  "The quick check a start makes: inodes, ctimes and immutable flags as at import,\n"
	  "and the last verification passed.",
	  help_only, NULL, "@image", false, NULL },
	{ "rm", "isc image rm [--force] NAME", "remove an image name (and its content when unused)",
	  "Remove NAME, and its content when no other name and no service uses it; refused\n"
	  "while a service uses it, unless --force: then only the name goes.",
	  image_rm_flags, NULL, "@image", false, NULL },
	{ "prune", "isc image prune", "remove content no name and no service uses",
	  "Remove the content no name points to and no service uses; print the ids removed.", help_only, NULL, NULL,
	  false, NULL },
	{ NULL },
};

static const struct isc_cli_verb lab_sub[] = {
	{ "ls", "isc [--lab NAME] lab ls [--format table|json]", "list the labs",
	  "List the labs: name, state root, whether the namespaces exist and whether\nisc init ran in it.",
	  format_table_json, NULL, NULL, false, NULL },
	{ "info", "isc [--lab NAME] lab info [--format table|json]", "the lab's addresses, uplink, namespaces and root",
	  NULL, format_table_json, NULL, NULL, false, NULL },
	{ "exec", "isc [--lab NAME] lab exec -- CMD [ARG...]", "run CMD in the lab's outside world",
	  "Run CMD in the lab's outside world (stdin, stdout and stderr passed through);\n"
	  "exit with CMD's status (128+N when killed by N).",
	  help_only, NULL, NULL, false, NULL },
	{ "create", "isc [--lab NAME] lab create", "create the lab's namespaces and uplink only",
	  "Create the lab's namespaces and uplink only (isc --lab NAME init does this and\n"
	  "turns the lab into an ISC host).",
	  help_only, NULL, NULL, false, NULL },
	{ "rm", "isc [--lab NAME] lab rm", "remove the lab's namespaces",
	  "Remove the lab's namespaces (refused once isc init ran in it: then\nisc --lab NAME deinit removes everything).",
	  help_only, NULL, NULL, false, NULL },
	{ NULL },
};

static const struct isc_cli_verb policy_sub[] = {
	{ "ls", "isc policy ls [--format json]", "list the rules and their state", NULL, format_json, NULL, NULL, false,
	  NULL },
	{ "enable", "isc policy enable RULE", "enable a rule", NULL, help_only, NULL, "@rule", false, NULL },
	{ "disable", "isc policy disable RULE", "disable a rule", NULL, help_only, NULL, "@rule", false, NULL },
	{ NULL },
};

static const struct isc_cli_verb completion_sub[] = {
	{ "bash", "isc completion bash", "print the bash completion script", NULL, help_only, NULL, NULL, false, NULL },
	{ NULL },
};

const struct isc_cli_verb isc_verbs[] = {
	{ "init",
	  "isc [--lab NAME] init [--uplink IF] [--subnet CIDR] [--ssh-port N] [--confirm-timeout S]\n"
	  "                             [--audit-epoch S] [--audit-rotate SIZE] [--audit-keep N]",
	  "turn this host (or a lab) into an ISC host",
	  "Turn this host (or, with --lab NAME, a lab) into an ISC host: state and log\n"
	  "folders, the encrypted-scratch check, the private network, the audit\n"
	  "registration and the daemon iscd.  Idempotent: a second init with the same\n"
	  "settings only repairs what is missing; other settings are refused.",
	  init_flags, NULL, NULL, false, FN(verb_init) },
	{ "deinit", "isc [--lab NAME] deinit", "undo isc init: stop everything, remove isc's state (and a lab)",
	  "Undo isc init: remove every service, stop iscd, remove the network and\n"
	  "audit baselines and the state root (images and /persist folders too); with\n"
	  "--lab NAME, remove the lab's namespaces as well.",
	  help_only, NULL, NULL, false, FN(verb_deinit) },
	{ "run", "isc run [-d] --name NAME [OPTIONS] IMAGE [CMD...]", "deploy a service into a new hardened container",
	  "Deploy a service into a new hardened container (docs/defaults.md).", isc_plan_run_flags, NULL, "@image",
	  false, FN(verb_run) },
	{ "ps", "isc ps [-a] [-q] [--format json]", "list the services",
	  "The running services (and those restarting by their policy); -a: all.\n"
	  "IMAGE is the image's id once its name points to other content or is gone.",
	  ps_flags, NULL, NULL, false, FN(verb_ps) },
	{ "inspect", "isc inspect [-f|--format TEMPLATE] NAME...", "show a service's settings, defaults and state",
	  "Show a service's plan, its full container config (the ISC defaults\n"
	  "applied, docs/defaults.md) and its status, as JSON.  --format: one line per\n"
	  "NAME: a path (.status.state; keys match ignoring case, numbers index arrays)\n"
	  "or text with {{.PATH}} in it; a path that leads nowhere is an error (exit 2).",
	  inspect_flags, NULL, "@service", false, FN(verb_inspect) },
	{ "port", "isc port NAME", "list a service's exposed ports",
	  "One line per port: PORT/PROTO -> 0.0.0.0:HOSTPORT.", help_only, NULL, "@service", false, FN(verb_port) },
	{ "version", "isc version [--format json]", "show isc's and iscd's versions", NULL, format_json, NULL, NULL,
	  false, FN(verb_version) },
	{ "info", "isc info [--format json]", "show the host: root, kernel, cgroups, network, iscd, audit", NULL,
	  format_json, NULL, NULL, false, FN(verb_info) },
	{ "stop", "isc stop [-t SECONDS] NAME...", "stop a service",
	  "Stop a service: SIGTERM, then SIGKILL after SECONDS (default 10).\nIt is not restarted until isc start.",
	  stop_flags, NULL, "@service", false, FN(verb_stop) },
	{ "start", "isc start NAME...", "start a stopped service", NULL, help_only, NULL, "@service", false,
	  FN(verb_start) },
	{ "restart", "isc restart [-t SECONDS] NAME...", "restart a service from its pristine image",
	  "Stop a service (as isc stop) and start it again from its pristine image.", stop_flags, NULL, "@service",
	  false, FN(verb_restart) },
	{ "rm", "isc rm [-f] [--purge] NAME...", "remove a service (--purge: and its /persist)",
	  "Remove a service.  Its /persist folder is kept unless --purge.", rm_flags, NULL, "@service", false,
	  FN(verb_rm) },
	{ "logs", "isc logs [-f] [--tail N] [--since TIME] [-t] [--format json] NAME", "show a service's output",
	  "Print a service's output (stdout to stdout, stderr to stderr); the flags may\n"
	  "also follow NAME.  -f ends when the service stops (and does not restart).\n"
	  "TIME: RFC 3339 UTC (2026-11-28T14:00:00Z, or a prefix: 2026-11-28) or an age:\n"
	  "30s, 10m, 2h, 1d.",
	  logs_flags, NULL, "@service", false, FN(verb_logs) },
	{ "cp", "isc cp NAME:PATH HOSTPATH | HOSTPATH NAME:PATH",
	  "copy files between a service's container and the host",
	  "Copy a file, a symbolic link or a directory tree out of the running service\n"
	  "NAME, or into it where it writes (/persist, /tmp, /run, a volume, a --tmpfs).\n"
	  "Paths resolve inside its root; fifos, sockets and devices are left out;\n"
	  "what is copied in belongs to its root.  A host path with a colon: ./a:b.",
	  help_only, NULL, "@service", false, FN(verb_cp) },
	{ "exec", "isc [--lab NAME] exec [-i] [-t] [-u UID[:GID]] [-e K=V]... [-w DIR] NAME CMD [ARG...]",
	  "run a command in a service's container (a login session)",
	  "Run CMD in the container of the service NAME; exits with CMD's status\n"
	  "(128+N when killed by signal N; 127 when CMD is not found, 126 when it\n"
	  "cannot be run).",
	  exec_flags, NULL, "@service", false, FN(verb_exec) },
	{ "kill", "isc kill [-s SIGNAL] NAME...", "send a signal to a service (default KILL)",
	  "Send SIGNAL to the service's init (pid 1 of its container; an init ignores a\n"
	  "signal it has no handler for, except KILL).  As podman's, the restart policy\n"
	  "does not apply to the exit that follows: the service stays stopped (isc start).",
	  kill_flags, NULL, "@service", false, FN(verb_kill) },
	{ "pause", "isc pause NAME...", "freeze every process of a service",
	  "Freeze the service's processes (cgroup freezer); ps and inspect say \"paused\".\n"
	  "A paused service is not timed, killed nor restarted; isc stop and rm thaw it.",
	  help_only, NULL, "@service", false, FN(verb_pause) },
	{ "unpause", "isc unpause NAME...", "thaw a paused service", NULL, help_only, NULL, "@service", false,
	  FN(verb_unpause) },
	{ "wait", "isc wait NAME...", "wait for a service's run to end; print its exit status",
	  "Block until the service's current run exits and print its exit status (the last\n"
	  "one at once when it does not run; -1 when unknown).  No time limit.",
	  help_only, NULL, "@service", false, FN(verb_wait) },
	{ "update", "isc update [--memory SIZE] [--cpus N] [--pids-limit N] NAME...",
	  "change a service's limits, live and for its next starts",
	  "Apply the limits to the running container's cgroups and record them in the\n"
	  "service's plan, which every later start uses.  A value the kernel refuses\n"
	  "(a memory limit below what cannot be reclaimed) is an error naming its flag.",
	  update_flags, NULL, "@service", false, FN(verb_update) },
	{ "stats", "isc stats [--no-stream] [--format json] [NAME...]", "show services' CPU, memory and pids use",
	  "From the services' cgroups: CPU % (over the run so far, then between refreshes\n"
	  "every 2 s), memory usage and limit, pids and their limit.  Without NAME: every\n"
	  "running service.",
	  stats_flags, NULL, "@service", false, FN(verb_stats) },
	{ "top", "isc top NAME", "list a service's processes",
	  "The service's processes: their pid on the host, in the container (CPID) and\n"
	  "their command line.",
	  help_only, NULL, "@service", false, FN(verb_top) },
	{ "expose", "isc expose NAME HOSTPORT:PORT[/tcp|udp]", "forward a host port to a service",
	  "Forward HOSTPORT of the host's addresses to PORT of the service NAME.", help_only, NULL, "@service", false,
	  FN(verb_expose) },
	{ "unexpose", "isc unexpose NAME HOSTPORT[/tcp|udp]", "stop forwarding a host port",
	  "Stop forwarding HOSTPORT to the service NAME (new connections at once).", help_only, NULL, "@service", false,
	  FN(verb_unexpose) },
	{ "allow", "isc allow [--remove] SRC DST:PORT[/tcp|udp]", "open one flow between two services",
	  "Let service SRC open connections to PORT of service DST (--remove: close that\n"
	  "flow again).  Everything else between services stays blocked.",
	  allow_flags, NULL, "@service", false, FN(verb_allow) },
	{ "policy", "isc policy [ls [--format json] | enable RULE | disable RULE]",
	  "list and toggle the host's optional firewall rules",
	  "The host's optional firewall rules, all disabled by default.", help_only, policy_sub, NULL, false,
	  FN(verb_policy) },
	{ "packets", "isc packets [-c|--container NAME] [-f|--follow] [--format json|text]", "show the packet log",
	  "The packet log: dropped packets (and accepted new connections with\n"
	  "`isc policy enable log-accept`), with the container they came from or went to.",
	  packets_flags, NULL, NULL, false, FN(verb_packets) },
	{ "audit",
	  "isc [GLOBAL OPTIONS] audit [--container NAME] [--type TYPE] [--since TIME] [--follow]\n"
	  "                                  [--format json]\n"
	  "       isc [GLOBAL OPTIONS] audit verify [--key HEX | --key-file FILE]",
	  "show and verify the audit trail",
	  "TYPE: exec, login, logout, admin, lost (also gap, seal, loginuid).\n"
	  "TIME: RFC 3339 UTC (2026-11-28T14:00:00Z) or an age: 30s, 10m, 2h, 1d.\n"
	  "verify exits 0 when the trail is intact, 1 naming the first bad record otherwise;\n"
	  "with the verification key printed by `isc init` it also checks every seal.",
	  audit_flags, audit_sub, NULL, false, FN(verb_audit) },
	{ "image", "isc [GLOBAL OPTIONS] image COMMAND [ARGS]", "import, list, verify and remove images",
	  "Images live in ROOT/images (ROOT: --root, or " ISC_HOST_ROOT ", or " ISC_HOST_ROOT "/labs/LAB).\n"
	  "See isc(1) and docs/images.md.",
	  help_only, image_sub, NULL, false, FN(verb_image) },
	{ "lab", "isc [--lab NAME] lab COMMAND [ARGS]",
	  "labs: create, rm, ls, info, exec a command in the outside world",
	  "A lab is an ISC host inside two network namespaces: /run/netns/isc-NAME-host plays the\n"
	  "host (" ISC_LAB_UPLINK " " ISC_LAB_HOST_ADDR "/24, default route via " ISC_LAB_OUTSIDE_ADDR
	  "), /run/netns/isc-NAME-out the\n"
	  "outside world (ext0 " ISC_LAB_OUTSIDE_ADDR "/24).  Its state root is " ISC_HOST_ROOT "/labs/NAME.\n"
	  "Every command except ls needs a lab: --lab NAME or ISC_LAB.  See isc(1).",
	  help_only, lab_sub, NULL, false, FN(verb_lab) },
	{ "help", "isc help [COMMAND]", "show this help, or a command's", NULL, help_only, NULL,
	  "init deinit run ps inspect port version info stop start restart rm logs cp exec kill pause unpause wait "
	  "update stats top expose unexpose allow policy packets audit image lab",
	  false, FN(verb_help) },
	{ "completion", "isc completion bash", "print a shell completion script", NULL, help_only, completion_sub, NULL,
	  true, FN(verb_completion) },
	{ NULL },
};

/* The names completion offers: read from isc's own JSON listings (names
 * are [A-Za-z0-9_.-], so a plain pattern reads them). */
#define JSON_NAMES "sed -n 's/^    \"name\": \"\\([^\"]*\\)\",\\{0,1\\}$/\\1/p'"
static const struct isc_cli_kind kinds[] = {
	{ "@service", "\"$1\" \"${_g[@]}\" ps -a --format json | " JSON_NAMES },
	{ "@image", "\"$1\" \"${_g[@]}\" image ls --format json | " JSON_NAMES },
	{ "@lab", "\"$1\" lab ls --format json | " JSON_NAMES },
	{ "@rule", "\"$1\" \"${_g[@]}\" policy ls --format json | " JSON_NAMES },
	{ "@netdev", "ls /sys/class/net" },
	{ NULL, NULL },
};

const struct isc_cli_prog isc_prog = { "isc", global_flags, isc_verbs, kinds };

const struct isc_cli_verb *isc_verb(const char *path)
{
	/* "image ls": a verb, then its sub-verb */
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	const struct isc_cli_verb *v = NULL, *list = isc_verbs;
	for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		v = isc_cli_find(list, w);
		if (v == NULL)
			abort(); /* a path not in the table: a programming error */
		list = v->sub;
	}
	return v;
}

void isc_verb_getopt(const char *path, struct isc_cli_getopt *g)
{
	isc_cli_getopt_init(g, isc_verb(path)->flags);
}

void isc_verb_usage(const char *path, FILE *f)
{
	isc_cli_verb_help(f, isc_verb(path));
}

const struct isc_cli_flag *isc_global_flags(void)
{
	return global_flags;
}

int verb_completion(struct isc_global *g, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		isc_verb_usage("completion", stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "table") == 0) { /* for the tests */
		isc_cli_dump(stdout, &isc_prog);
		return 0;
	}
	if (argc != 2 || strcmp(argv[1], "bash") != 0) {
		fprintf(stderr, "isc completion: usage: isc completion bash\n");
		return ISC_EXIT_USAGE;
	}
	isc_cli_bash_completion(stdout, &isc_prog);
	return 0;
}
