/* SPDX-License-Identifier: GPL-2.0-or-later
 * `isc run`'s command line -> struct isc_plan: getopt_long over the run
 * options, each value checked as it is read (plan.c), then the whole plan
 * (isc_plan_check).  A failure clears the plan.
 */
#include "plan/plan.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "image/image.h"
#include "kernel/caps.h"
#include "kernel/landlock.h"
#include "kernel/scratch.h"
#include "spec/spec.h"
#include "plan/plan-internal.h"

enum {
	OPT_NAME = 256,
	OPT_EXPOSE,
	OPT_MEMORY,
	OPT_CPUS,
	OPT_PIDS,
	OPT_CAP_ADD,
	OPT_RESTART,
	OPT_USERNS,
	OPT_SCRATCH,
	OPT_PERSIST_EXEC,
	OPT_MEMFD_EXEC,
	OPT_TMPFS,
};

static const struct option run_options[] = {
	{ "detach", no_argument, NULL, 'd' },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "expose", required_argument, NULL, OPT_EXPOSE },
	{ "publish", required_argument, NULL, 'p' },
	{ "volume", required_argument, NULL, 'v' },
	{ "env", required_argument, NULL, 'e' },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "pids-limit", required_argument, NULL, OPT_PIDS },
	{ "user", required_argument, NULL, 'u' },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "restart", required_argument, NULL, OPT_RESTART },
	{ "userns", required_argument, NULL, OPT_USERNS },
	{ "scratch-size", required_argument, NULL, OPT_SCRATCH },
	{ "persist-exec", no_argument, NULL, OPT_PERSIST_EXEC },
	{ "memfd-exec", no_argument, NULL, OPT_MEMFD_EXEC },
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },
	{ NULL, 0, NULL, 0 },
};

static int parse_one(int c, const char *arg, struct isc_plan *p, isc_error **err)
{
	switch (c) {
	case 'd':
		p->detach = true;
		return 0;
	case OPT_NAME:
		free(p->name);
		p->name = isc_xstrdup(arg);
		return isc_plan_parse_name(arg, err);
	case OPT_EXPOSE:
	case 'p': {
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
	case 'v': {
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
	case OPT_CPUS:
		return isc_plan_parse_cpus(arg, &p->cpu_quota, err);
	case OPT_PIDS: {
		int64_t v;
		if (isc_parse_i64(arg, &v) < 0 || v <= 0)
			return isc_error_set(err, EINVAL, "--pids-limit: \"%s\" is not a positive number", arg);
		p->pids_limit = v;
		return 0;
	}
	case 'u':
		if (isc_plan_check_user(arg, err) < 0)
			return -1;
		free(p->user);
		p->user = isc_xstrdup(arg);
		return 0;
	case OPT_CAP_ADD:
		if (isc_plan_check_cap(arg, err) < 0)
			return -1;
		{
			cleanup_free char *name = isc_plan_cap_canonical(arg);
			isc_plan_strv_push(&p->cap_add, name);
		}
		return 0;
	case OPT_RESTART:
		return isc_plan_restart_parse(arg, &p->restart, err);
	case OPT_USERNS:
		if (strcmp(arg, "auto") == 0)
			p->userns_host = false;
		else if (strcmp(arg, "host") == 0)
			p->userns_host = true;
		else
			return isc_error_set(err, EINVAL, "--userns: \"%s\" is not auto or host", arg);
		return 0;
	case OPT_SCRATCH:
		if (isc_plan_check_scratch_size(arg, err) < 0)
			return -1;
		free(p->scratch_size);
		p->scratch_size = isc_xstrdup(arg);
		return 0;
	case OPT_PERSIST_EXEC:
		p->persist_exec = true;
		return 0;
	case OPT_MEMFD_EXEC:
		p->memfd_exec = true;
		return 0;
	case OPT_TMPFS: {
		struct isc_tmpfs t;
		if (isc_plan_parse_tmpfs(arg, &t, err) < 0)
			return -1;
		free(t.dst);
		isc_plan_strv_push(&p->tmpfs, arg);
		return 0;
	}
	default:
		return isc_error_set(err, EINVAL, "unknown option (see isc run --help)");
	}
}

int isc_plan_parse_args(int argc, char **argv, struct isc_plan *p, isc_error **err)
{
	isc_plan_clear(p);
	int ret = 0;
	int saved_opterr = opterr;
	opterr = 0;
	optind = 0; /* full reset (GNU) */
	int c;
	while ((c = getopt_long(argc, argv, "+dp:v:e:m:u:", run_options, NULL)) != -1) {
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			ret = optopt && c == ':'
				      ? isc_error_set(err, EINVAL, "option %s needs a value", bad)
				      : isc_error_set(err, EINVAL, "unknown option %s (see isc run --help)", bad);
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
