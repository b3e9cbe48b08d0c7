/* SPDX-License-Identifier: GPL-2.0-or-later
 * isc run's plan: flag parsing and validation, the JSON round trip, and
 * the ISC defaults in the bundle config. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan/plan.h"
#include "base/util.h"

static int parse(struct isc_plan *p, isc_error **err, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	va_start(ap, err);
	argv[argc++] = (char *)"run";
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	memset(p, 0, sizeof(*p));
	return isc_plan_parse_args(argc, argv, p, err);
}

#define PARSE_FAILS(substr, ...)                                                                      \
	do {                                                                                          \
		struct isc_plan p_;                                                                   \
		isc_error *e_ = NULL;                                                                 \
		assert_int_equal(parse(&p_, &e_, __VA_ARGS__, NULL), -1);                              \
		assert_non_null(e_);                                                                  \
		if (strstr(e_->msg, substr) == NULL)                                                  \
			fail_msg("error \"%s\" does not name \"%s\"", e_->msg, substr);                 \
		isc_error_free(&e_);                                                                  \
		isc_plan_clear(&p_);                                                                  \
	} while (0)

static void parse_full(void **state)
{
	(void)state;
	struct isc_plan p;
	isc_error *err = NULL;
	assert_int_equal(parse(&p, &err, "-d", "--name", "web", "--expose", "8080:80", "--expose", "53:53/udp", "-v",
			       "/tmp:/data:ro", "-e", "A=1", "--memory", "256m", "--cpus", "0.5", "--pids-limit", "100",
			       "--user", "1000:1000", "--cap-add", "net_admin", "--restart", "always", "--userns", "host",
			       "--scratch-size", "128m", "busybox", "httpd", "-f", NULL),
			 0);
	assert_null(err);
	assert_true(p.detach);
	assert_string_equal(p.name, "web");
	assert_string_equal(p.image, "busybox");
	assert_string_equal(p.cmd[0], "httpd");
	assert_string_equal(p.cmd[1], "-f"); /* options after IMAGE belong to CMD */
	assert_int_equal(p.n_ports, 2);
	assert_int_equal(p.ports[0].host_port, 8080);
	assert_int_equal(p.ports[0].port, 80);
	assert_int_equal(p.ports[0].proto, IPPROTO_TCP);
	assert_int_equal(p.ports[1].proto, IPPROTO_UDP);
	assert_int_equal(p.n_volumes, 1);
	assert_true(p.volumes[0].ro);
	assert_string_equal(p.volumes[0].dst, "/data");
	assert_true(p.memory == 256ULL << 20);
	assert_true(p.cpu_quota == 50000);
	assert_int_equal(p.pids_limit, 100);
	assert_string_equal(p.cap_add[0], "CAP_NET_ADMIN");
	assert_int_equal(p.restart, ISC_RESTART_ALWAYS);
	assert_true(p.userns_host);
	isc_plan_clear(&p);

	assert_int_equal(parse(&p, &err, "--name", "a", "img", NULL), 0);
	assert_null(p.cmd);
	assert_int_equal(p.restart, ISC_RESTART_NO); /* attached: one run, as podman */
	assert_false(p.userns_host);
	isc_plan_clear(&p);
	assert_int_equal(parse(&p, &err, "-d", "--name", "a", "img", NULL), 0);
	assert_int_equal(p.restart, ISC_RESTART_ON_FAILURE); /* a service: fail in place */
	isc_plan_clear(&p);
}

static void parse_errors_name_the_flag(void **state)
{
	(void)state;
	PARSE_FAILS("--name is required", "busybox");
	PARSE_FAILS("IMAGE", "--name", "x");
	PARSE_FAILS("--name", "--name", "b@d", "busybox");
	PARSE_FAILS("--name", "--name", "-x", "busybox");
	PARSE_FAILS("--expose", "--name", "x", "--expose", "70000:80", "busybox");
	PARSE_FAILS("--expose", "--name", "x", "--expose", "80", "busybox");
	PARSE_FAILS("--expose", "--name", "x", "--expose", "1:0", "busybox");
	PARSE_FAILS("--expose", "--name", "x", "--expose", "1:2/sctp", "busybox");
	PARSE_FAILS("--expose", "--name", "x", "--expose", "1:2", "--expose", "1:3", "busybox");
	PARSE_FAILS("--memory", "--name", "x", "--memory", "12q", "busybox");
	PARSE_FAILS("--memory", "--name", "x", "--memory", "1k", "busybox");
	PARSE_FAILS("--scratch-size", "--name", "x", "--scratch-size", "4k", "busybox");
	PARSE_FAILS("--cpus", "--name", "x", "--cpus", "-1", "busybox");
	PARSE_FAILS("--cpus", "--name", "x", "--cpus", "nan", "busybox");
	PARSE_FAILS("--pids-limit", "--name", "x", "--pids-limit", "0", "busybox");
	PARSE_FAILS("--user", "--name", "x", "--user", "70000", "busybox");
	PARSE_FAILS("--user", "--name", "x", "--user", "a:b:c", "busybox");
	PARSE_FAILS("--user", "--name", "x", "--user", "no/slash", "busybox");
	PARSE_FAILS("--user", "--name", "x", "--user", "-dash", "busybox");
	PARSE_FAILS("--cap-add", "--name", "x", "--cap-add", "NOT_A_CAP", "busybox");
	PARSE_FAILS("--restart", "--name", "x", "--restart", "sometimes", "busybox");
	PARSE_FAILS("--userns", "--name", "x", "--userns", "keep-id", "busybox");
	PARSE_FAILS("-v", "--name", "x", "-v", "/nonexistent-isc-test:/d", "busybox");
	PARSE_FAILS("-v", "--name", "x", "-v", "relative:/d", "busybox");
	PARSE_FAILS("-v", "--name", "x", "-v", "/tmp:/proc/x", "busybox");
	/* repeated slashes resolve to the same place (attacker review F3) */
	PARSE_FAILS("is reserved (/persist)", "--name", "x", "-v", "/tmp://persist/x", "busybox");
	PARSE_FAILS("is reserved (/dev)", "--name", "x", "-v", "/tmp:/dev//x", "busybox");
	PARSE_FAILS("is reserved (/scratch)", "--name", "x", "-v", "/tmp:///scratch/", "busybox");
	PARSE_FAILS("-v", "--name", "x", "-v", "/tmp:/a/../b", "busybox");
	PARSE_FAILS("-v", "--name", "x", "-v", "/tmp:/d:rx", "busybox");
	PARSE_FAILS("-e", "--name", "x", "-e", "=v", "busybox");
	PARSE_FAILS("unknown option", "--name", "x", "--bogus", "busybox");
}

static void sizes_and_ports(void **state)
{
	(void)state;
	uint64_t v;
	isc_error *err = NULL;
	assert_int_equal(isc_plan_parse_size("512k", &v, &err), 0);
	assert_true(v == 512 << 10);
	assert_int_equal(isc_plan_parse_size("1G", &v, &err), 0);
	assert_true(v == 1ULL << 30);
	assert_int_equal(isc_plan_parse_size("100", &v, &err), 0);
	assert_true(v == 100);
	assert_int_equal(isc_plan_parse_size("99999999999999999999", &v, &err), -1);
	isc_error_free(&err);
	assert_int_equal(isc_plan_parse_size("16777216t", &v, &err), -1); /* overflow */
	isc_error_free(&err);
	assert_int_equal(isc_plan_parse_size("m", &v, &err), -1);
	isc_error_free(&err);
	struct isc_port port;
	assert_int_equal(isc_plan_parse_port("65535:1/udp", &port, &err), 0);
	assert_int_equal(port.host_port, 65535);
	assert_int_equal(isc_plan_parse_port(":80", &port, &err), -1);
	isc_error_free(&err);
}

static void json_round_trip(void **state)
{
	(void)state;
	struct isc_plan p, q;
	isc_error *err = NULL;
	assert_int_equal(parse(&p, &err, "--name", "svc", "--expose", "8080:80/udp", "-v", "/tmp:/data", "-e", "K=V",
			       "--cap-add", "SYS_PTRACE", "--restart", "no", "--memory", "64m", "img", "a", "b", NULL),
			 0);
	json_t *j = isc_plan_to_json(&p);
	memset(&q, 0, sizeof(q));
	assert_int_equal(isc_plan_from_json(j, &q, &err), 0);
	json_t *k = isc_plan_to_json(&q);
	assert_true(json_equal(j, k));
	assert_int_equal(q.restart, ISC_RESTART_NO);
	assert_int_equal(q.ports[0].proto, IPPROTO_UDP);
	json_decref(k);

	/* bad JSON plans are refused, naming the key */
	json_object_set_new(j, "restart", json_string("maybe"));
	assert_int_equal(isc_plan_from_json(j, &q, &err), -1);
	isc_error_free(&err);
	json_object_set_new(j, "restart", json_string("no"));
	json_object_set_new(j, "ports", json_pack("[{s:i, s:i, s:s}]", "host_port", 0, "port", 1, "proto", "tcp"));
	assert_int_equal(isc_plan_from_json(j, &q, &err), -1);
	isc_error_free(&err);
	json_object_set_new(j, "ports", json_array());
	json_object_set_new(j, "name", json_integer(3));
	assert_int_equal(isc_plan_from_json(j, &q, &err), -1);
	assert_non_null(strstr(err->msg, "name"));
	isc_error_free(&err);
	assert_int_equal(isc_plan_from_json(NULL, &q, &err), -1);
	isc_error_free(&err);
	json_decref(j);
	isc_plan_clear(&p);
	isc_plan_clear(&q);
}

/* -w, --entrypoint, --hostname, --rm and the restart defaults: parsing,
 * the refusals (naming the flag), the JSON form (an older service.json
 * without the keys still loads) and the bundle */
static void podman_flags(void **state)
{
	(void)state;
	struct isc_plan p, q;
	isc_error *err = NULL;
	assert_int_equal(parse(&p, &err, "--name", "w", "-w", "/srv/app", "--entrypoint", "/bin/echo", "--hostname",
			       "box-1.example", "--rm", "img", "hi", NULL),
			 0);
	assert_string_equal(p.workdir, "/srv/app");
	assert_int_equal(isc_strvlen(p.entrypoint), 1);
	assert_string_equal(p.entrypoint[0], "/bin/echo");
	assert_string_equal(p.hostname, "box-1.example");
	assert_true(p.rm);
	assert_int_equal(p.restart, ISC_RESTART_NO);
	json_t *j = isc_plan_to_json(&p);
	memset(&q, 0, sizeof(q));
	assert_int_equal(isc_plan_from_json(j, &q, &err), 0);
	json_t *k = isc_plan_to_json(&q);
	assert_true(json_equal(j, k));
	json_decref(k);
	isc_plan_clear(&q);
	/* an older service.json: none of the keys, the defaults */
	json_object_del(j, "workdir");
	json_object_del(j, "entrypoint");
	json_object_del(j, "hostname");
	json_object_del(j, "rm");
	assert_int_equal(isc_plan_from_json(j, &q, &err), 0);
	assert_null(q.workdir);
	assert_null(q.entrypoint);
	assert_null(q.hostname);
	assert_false(q.rm);
	isc_plan_clear(&q);
	/* a hand-edited one is held to the flags' checks */
	json_object_set_new(j, "hostname", json_string("-bad"));
	assert_int_equal(isc_plan_from_json(j, &q, &err), -1);
	assert_non_null(strstr(err->msg, "--hostname"));
	isc_error_free(&err);
	json_object_set_new(j, "hostname", json_null());
	json_object_set_new(j, "workdir", json_string("rel"));
	assert_int_equal(isc_plan_from_json(j, &q, &err), -1);
	assert_non_null(strstr(err->msg, "-w"));
	isc_error_free(&err);
	json_object_set_new(j, "workdir", json_null());
	json_object_set_new(j, "rm", json_true());
	json_object_set_new(j, "restart", json_string("always"));
	assert_int_equal(isc_plan_from_json(j, &q, &err), -1);
	assert_non_null(strstr(err->msg, "--rm"));
	isc_error_free(&err);
	json_decref(j);
	isc_plan_clear(&p);

	/* --entrypoint as podman's JSON array; "" is none; -d --rm is not restarted */
	assert_int_equal(parse(&p, &err, "-d", "--rm", "--name", "w", "--entrypoint", "[\"/bin/sh\", \"-c\"]", "img", NULL),
			 0);
	assert_int_equal(isc_strvlen(p.entrypoint), 2);
	assert_string_equal(p.entrypoint[1], "-c");
	assert_int_equal(p.restart, ISC_RESTART_NO);
	isc_plan_clear(&p);
	assert_int_equal(parse(&p, &err, "--name", "w", "--entrypoint", "", "--restart", "always", "img", NULL), 0);
	assert_non_null(p.entrypoint);
	assert_int_equal(isc_strvlen(p.entrypoint), 0);
	assert_int_equal(p.restart, ISC_RESTART_ALWAYS); /* asked for: kept attached too */
	isc_plan_clear(&p);

	PARSE_FAILS("-w: directory \"srv\" must be an absolute path", "--name", "x", "-w", "srv", "img");
	PARSE_FAILS("-w: directory \"/a/../b\" may not contain . or ..", "--name", "x", "-w", "/a/../b", "img");
	PARSE_FAILS("--hostname: \"-box\" is not a host name", "--name", "x", "--hostname", "-box", "img");
	PARSE_FAILS("--hostname: \"a..b\" is not a host name", "--name", "x", "--hostname", "a..b", "img");
	PARSE_FAILS("--hostname: \"a_b\": only letters", "--name", "x", "--hostname", "a_b", "img");
	PARSE_FAILS("--hostname: \"a.\" ends with", "--name", "x", "--hostname", "a.", "img");
	PARSE_FAILS("--hostname: \"\" must be 1 to 64", "--name", "x", "--hostname", "", "img");
	PARSE_FAILS("must be 1 to 64", "--name", "x", "--hostname",
		    "a1234567890123456789012345678901234567890.b12345678901234567890123", "img");
	PARSE_FAILS("--entrypoint: \"[1]\" is not a JSON array of strings", "--name", "x", "--entrypoint", "[1]",
		    "img");
	PARSE_FAILS("--entrypoint: \"[\"a\"\" is not a JSON array", "--name", "x", "--entrypoint", "[\"a\"", "img");
	PARSE_FAILS("--rm: conflicts with --restart on-failure", "--name", "x", "--rm", "--restart", "on-failure", "img");
	PARSE_FAILS("--rm: conflicts with --restart always", "-d", "--rm", "--restart", "always", "--name", "x", "img");
	PARSE_FAILS("option -t is not supported yet", "--name", "x", "-t", "img");
	PARSE_FAILS("option -i is not supported yet", "-it", "--name", "x", "img");
	PARSE_FAILS("option --tty is not supported yet", "--tty", "--name", "x", "img");
	PARSE_FAILS("option --interactive is not supported yet", "--interactive", "--name", "x", "img");
	PARSE_FAILS("option --rm takes no value", "--rm=1", "--name", "x", "img");

	/* the bundle: the entrypoint replaces the image's Entrypoint and Cmd;
	 * -w the image's WorkingDir; --hostname the name */
	json_t *icfg = json_pack("{s:{s:[s], s:[s], s:s}}", "config", "Entrypoint", "/init", "Cmd", "serve",
				 "WorkingDir", "/srv");
	struct isc_bundle_inputs in = {
		.rootfs = "/r", .image_id = "ab", .persist_dir = "/p", .hostname = "w", .image_config = icfg,
	};
	json_t *cfg = NULL;
	assert_int_equal(parse(&p, &err, "--name", "w", "img", "x", NULL), 0);
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	json_t *args = json_object_get(json_object_get(cfg, "process"), "args");
	assert_int_equal(json_array_size(args), 2); /* the image's entrypoint, then CMD */
	assert_string_equal(json_string_value(json_array_get(args, 0)), "/init");
	assert_string_equal(json_string_value(json_array_get(args, 1)), "x");
	assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "process"), "cwd")), "/srv");
	assert_string_equal(json_string_value(json_object_get(cfg, "hostname")), "w");
	json_decref(cfg);
	isc_plan_clear(&p);
	assert_int_equal(parse(&p, &err, "--name", "w", "--entrypoint", "/bin/echo", "-w", "/tmp", "--hostname", "h2",
			       "img", NULL),
			 0);
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	args = json_object_get(json_object_get(cfg, "process"), "args");
	assert_int_equal(json_array_size(args), 1); /* the image's Cmd ("serve") is dropped */
	assert_string_equal(json_string_value(json_array_get(args, 0)), "/bin/echo");
	assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "process"), "cwd")), "/tmp");
	assert_string_equal(json_string_value(json_object_get(cfg, "hostname")), "h2");
	json_decref(cfg);
	isc_plan_clear(&p);
	assert_int_equal(parse(&p, &err, "--name", "w", "--entrypoint", "", "img", "/bin/true", "a", NULL), 0);
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	args = json_object_get(json_object_get(cfg, "process"), "args");
	assert_int_equal(json_array_size(args), 2); /* no entrypoint: CMD alone */
	assert_string_equal(json_string_value(json_array_get(args, 0)), "/bin/true");
	json_decref(cfg);
	isc_plan_clear(&p);
	json_decref(icfg);
}

static bool array_has(json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static json_t *find_mount(json_t *cfg, const char *dst)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(cfg, "mounts"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
			return m;
	return NULL;
}

static void bundle_defaults(void **state)
{
	(void)state;
	struct isc_plan p;
	isc_error *err = NULL;
	assert_int_equal(parse(&p, &err, "--name", "web", "-v", "/tmp:/data:ro", "-e", "PATH=/x", "--cap-add", "NET_ADMIN",
			       "--memory", "64m", "--pids-limit", "10", "img", NULL),
			 0);
	json_t *icfg = json_pack("{s:{s:[s], s:[s], s:s}}", "config", "Cmd", "/bin/httpd", "Env", "FOO=bar",
				 "WorkingDir", "/srv");
	struct isc_bundle_inputs in = {
		.rootfs = "/r/containers/web/rootfs", .image_id = "ab", .image_store = "/r/images",
		.persist_dir = "/r/containers/web/persist", .uid_base = 200000, .gid_base = 200000,
		.image_config = icfg,
	};
	json_t *cfg = NULL;
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	json_t *proc = json_object_get(cfg, "process");
	assert_string_equal(json_string_value(json_array_get(json_object_get(proc, "args"), 0)), "/bin/httpd");
	assert_true(array_has(json_object_get(proc, "env"), "FOO=bar"));
	assert_true(array_has(json_object_get(proc, "env"), "PATH=/x"));
	assert_string_equal(json_string_value(json_object_get(proc, "cwd")), "/srv");
	assert_true(json_is_true(json_object_get(proc, "noNewPrivileges")));
	json_t *caps = json_object_get(proc, "capabilities");
	assert_true(array_has(json_object_get(caps, "bounding"), "CAP_NET_ADMIN"));
	assert_false(array_has(json_object_get(caps, "bounding"), "CAP_NET_RAW"));
	assert_false(array_has(json_object_get(caps, "bounding"), "CAP_MKNOD"));
	assert_int_equal(json_array_size(json_object_get(caps, "ambient")), 0);
	assert_true(json_is_true(json_object_get(json_object_get(cfg, "root"), "readonly")));
	assert_string_equal(json_string_value(json_object_get(cfg, "hostname")), "web");
	assert_true(array_has(json_object_get(find_mount(cfg, "/tmp"), "options"), "noexec"));
	assert_true(array_has(json_object_get(find_mount(cfg, "/run"), "options"), "nosuid"));
	assert_true(array_has(json_object_get(find_mount(cfg, "/sys"), "options"), "ro"));
	assert_true(array_has(json_object_get(find_mount(cfg, "/data"), "options"), "ro"));
	assert_true(array_has(json_object_get(find_mount(cfg, "/persist"), "options"), "rw"));
	json_t *lx = json_object_get(cfg, "linux");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(lx, "uidMappings"), 0),
							    "hostID")),
			 200000);
	assert_int_equal(json_array_size(json_object_get(lx, "namespaces")), 7);
	assert_non_null(json_object_get(lx, "seccomp"));
	assert_true(json_array_size(json_object_get(lx, "maskedPaths")) > 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(lx, "resources"), "memory"),
							    "limit")),
			 64 << 20);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(lx, "resources"), "pids"),
							    "limit")),
			 10);
	assert_non_null(strstr(json_string_value(json_object_get(lx, "cgroupsPath")), "isc-web-"));
	json_t *ann = json_object_get(cfg, "annotations");
	assert_string_equal(json_string_value(json_object_get(ann, "org.isc.scratch")), "size=64m,path=/scratch");
	assert_string_equal(json_string_value(json_object_get(ann, "org.isc.image.root")), "ab");
	assert_string_equal(json_string_value(json_object_get(ann, "org.isc.image.store")), "/r/images");
	json_decref(cfg);

	/* --userns host: no user namespace, no maps; a joined netns by path */
	p.userns_host = true;
	in.netns_path = "/run/netns/x";
	in.image_config = NULL;
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	lx = json_object_get(cfg, "linux");
	assert_null(json_object_get(lx, "uidMappings"));
	assert_int_equal(json_array_size(json_object_get(lx, "namespaces")), 6);
	size_t i;
	json_t *ns;
	bool joined = false;
	json_array_foreach(json_object_get(lx, "namespaces"), i, ns)
		joined = joined || json_object_get(ns, "path") != NULL;
	assert_true(joined);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(cfg, "process"), "args"), 0)),
			    "/bin/sh");
	json_decref(cfg);

	/* no --pids-limit: the default one, no other limit */
	p.pids_limit = 0;
	p.memory = 0;
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	json_t *res = json_object_get(json_object_get(cfg, "linux"), "resources");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")), ISC_PLAN_PIDS_LIMIT);
	assert_int_equal(ISC_PLAN_PIDS_LIMIT, 2048);
	assert_int_equal(json_object_size(res), 1);
	json_decref(cfg);
	json_decref(icfg);
	isc_plan_clear(&p);
}

/* Written code does not run: /persist and /dev noexec, vm.memfd_noexec=2;
 * --persist-exec and --memfd-exec lift one each, and the plan keeps them. */
static void bundle_written_code(void **state)
{
	(void)state;
	struct isc_plan p;
	isc_error *err = NULL;
	struct isc_bundle_inputs in = {
		.rootfs = "/r/containers/web/rootfs", .image_id = "ab", .persist_dir = "/r/containers/web/persist",
		.uid_base = 200000, .gid_base = 200000,
	};
	json_t *cfg = NULL;
	assert_int_equal(parse(&p, &err, "--name", "web", "-v", "/tmp:/data", "img", NULL), 0);
	assert_false(p.persist_exec);
	assert_false(p.memfd_exec);
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	assert_true(array_has(json_object_get(find_mount(cfg, "/persist"), "options"), "noexec"));
	assert_true(array_has(json_object_get(find_mount(cfg, "/dev"), "options"), "noexec"));
	assert_false(array_has(json_object_get(find_mount(cfg, "/data"), "options"), "noexec"));
	json_t *sysctl = json_object_get(json_object_get(cfg, "linux"), "sysctl");
	assert_string_equal(json_string_value(json_object_get(sysctl, "vm.memfd_noexec")), "2");
	assert_int_equal(json_object_size(sysctl), 1);
	json_decref(cfg);
	isc_plan_clear(&p);

	assert_int_equal(parse(&p, &err, "--name", "web", "--persist-exec", "img", NULL), 0);
	assert_true(p.persist_exec);
	assert_false(p.memfd_exec);
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	assert_false(array_has(json_object_get(find_mount(cfg, "/persist"), "options"), "noexec"));
	assert_true(array_has(json_object_get(find_mount(cfg, "/dev"), "options"), "noexec"));
	sysctl = json_object_get(json_object_get(cfg, "linux"), "sysctl");
	assert_string_equal(json_string_value(json_object_get(sysctl, "vm.memfd_noexec")), "2");
	json_decref(cfg);
	isc_plan_clear(&p);

	assert_int_equal(parse(&p, &err, "--name", "web", "--memfd-exec", "img", NULL), 0);
	assert_false(p.persist_exec);
	assert_true(p.memfd_exec);
	assert_int_equal(isc_plan_bundle_config(&p, &in, &cfg, &err), 0);
	assert_true(array_has(json_object_get(find_mount(cfg, "/persist"), "options"), "noexec"));
	assert_null(json_object_get(json_object_get(cfg, "linux"), "sysctl"));
	json_decref(cfg);

	/* the plan (service.json) keeps them; one written before they existed
	 * gets the protections; a value that is not a boolean is refused */
	p.persist_exec = true;
	json_t *j = isc_plan_to_json(&p);
	assert_true(json_is_true(json_object_get(j, "persist_exec")));
	assert_true(json_is_true(json_object_get(j, "memfd_exec")));
	struct isc_plan q;
	memset(&q, 0, sizeof(q));
	assert_int_equal(isc_plan_from_json(j, &q, &err), 0);
	assert_true(q.persist_exec);
	assert_true(q.memfd_exec);
	json_object_del(j, "persist_exec");
	json_object_del(j, "memfd_exec");
	assert_int_equal(isc_plan_from_json(j, &q, &err), 0);
	assert_false(q.persist_exec);
	assert_false(q.memfd_exec);
	json_object_set_new(j, "persist_exec", json_string("yes"));
	assert_int_equal(isc_plan_from_json(j, &q, &err), -1);
	assert_non_null(strstr(err->msg, "\"persist_exec\""));
	isc_error_free(&err);
	json_object_set_new(j, "persist_exec", json_false());
	json_object_set_new(j, "memfd_exec", json_integer(1));
	assert_int_equal(isc_plan_from_json(j, &q, &err), -1);
	assert_non_null(strstr(err->msg, "\"memfd_exec\""));
	isc_error_free(&err);
	json_decref(j);
	isc_plan_clear(&p);
	isc_plan_clear(&q);

	/* flags without a value */
	PARSE_FAILS("option --persist-exec takes no value", "--name", "x", "--persist-exec=1", "img");
	PARSE_FAILS("option --name needs a value", "--name");
	PARSE_FAILS("unknown option -x (see", "--name", "x", "-dx", "img"); /* named by its letter */
	PARSE_FAILS("option -v needs a value", "--name", "x", "-v");
}

static void resolves(int rootfd, const char *spec, const char *want)
{
	char *got = NULL;
	isc_error *e = NULL;
	if (isc_plan_user_resolve(rootfd, spec, &got, &e) < 0)
		fail_msg("%s: %s", spec, e->msg);
	assert_string_equal(got, want);
	free(got);
}

static void refused(int rootfd, const char *spec, const char *want, int errnum)
{
	char *got = NULL;
	isc_error *e = NULL;
	assert_int_equal(isc_plan_user_resolve(rootfd, spec, &got, &e), -1);
	assert_null(got);
	if (strstr(e->msg, want) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", spec, e->msg, want);
	assert_int_equal(e->errnum, errnum);
	isc_error_free(&e);
}

/* --user names from the image's files (user.c): strict lines, ids in the
 * container's range, the file and line named. */
static void user_names_resolved(void **state)
{
	(void)state;
	char dir[] = "/tmp/isc-test-users-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	assert_int_equal(mkdirat(rootfd, "etc", 0755), 0);
	int etcfd = openat(rootfd, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(etcfd >= 0);
	static const char passwd[] = "# c\n\nbad\npg:x:100:102:PG:/:/bin/sh\nbig:x:65536:1::/:/bin/sh\n"
				     "six:x:1:1::/\npgx:x:7:7::/:/bin/sh";
	static const char group[] = "root:x:0:\npgroup:x:102:\nother:x:103:pg,x\nbadg:x:y:\n";
	isc_error *e = NULL;
	assert_int_equal(isc_write_file_atomic(etcfd, "passwd", passwd, sizeof(passwd) - 1, 0644, &e), 0);
	refused(rootfd, "pg:other", "--user: the image's /etc/group", ENOENT);
	assert_int_equal(isc_write_file_atomic(etcfd, "group", group, sizeof(group) - 1, 0644, &e), 0);
	resolves(rootfd, "pg", "100:102");
	resolves(rootfd, "pgx", "7:7");
	resolves(rootfd, "pg:other", "100:103");
	resolves(rootfd, "5:other", "5:103");
	resolves(rootfd, "5", "5");
	resolves(rootfd, "5:6", "5:6");
	refused(rootfd, "nosuch", "--user: no user nosuch in the image's /etc/passwd", 0);
	refused(rootfd, "pg:nosuch", "no group nosuch in the image's /etc/group", 0);
	refused(rootfd, "big", "the image's /etc/passwd, line 5 (big): not 7 fields with ids 0-65535", EINVAL);
	refused(rootfd, "six", "line 6 (six)", EINVAL);
	refused(rootfd, "0:badg", "the image's /etc/group, line 4 (badg)", EINVAL);
	assert_int_equal(unlinkat(rootfd, "etc/passwd", 0), 0);
	assert_int_equal(symlinkat("../../../../../etc/passwd", rootfd, "etc/passwd"), 0);
	refused(rootfd, "root", "the image's /etc/passwd", ELOOP); /* itself, never the host's */
	assert_int_equal(unlinkat(rootfd, "etc/passwd", 0), 0);
	assert_int_equal(symlinkat("../../../etc/group", rootfd, "etc/passwd"), 0);
	refused(rootfd, "root", "the image's /etc/passwd, line 1 (root)", EINVAL); /* the image's group file */
	assert_int_equal(unlinkat(rootfd, "etc/passwd", 0), 0);
	assert_int_equal(mkfifoat(rootfd, "etc/passwd", 0600), 0);
	refused(rootfd, "pg", "the image's /etc/passwd is not a regular file", EINVAL);
	assert_int_equal(unlinkat(rootfd, "etc/passwd", 0), 0);
	assert_int_equal(unlinkat(rootfd, "etc/group", 0), 0);
	assert_int_equal(unlinkat(rootfd, "etc", AT_REMOVEDIR), 0);
	close(etcfd);
	close(rootfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_full),
		cmocka_unit_test(parse_errors_name_the_flag),
		cmocka_unit_test(user_names_resolved),
		cmocka_unit_test(sizes_and_ports),
		cmocka_unit_test(json_round_trip),
		cmocka_unit_test(podman_flags),
		cmocka_unit_test(bundle_defaults),
		cmocka_unit_test(bundle_written_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
