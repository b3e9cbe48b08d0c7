/* SPDX-License-Identifier: GPL-2.0-or-later
 * config.json parser: a full round trip of every field, one test per class
 * of bad input (each error must name the field), the default spec, load. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/sha256.h"
#include "spec/spec.h"
#include "base/util.h"

#define CAP(n) (UINT64_C(1) << (n))

static const char full_config[] =
	"{\n"
	"  \"ociVersion\": \"1.2.0\",\n"
	"  \"process\": {\n"
	"    \"terminal\": true,\n"
	"    \"consoleSize\": {\"height\": 25, \"width\": 80},\n"
	"    \"user\": {\"uid\": 1000, \"gid\": 1001, \"umask\": 18, \"additionalGids\": [5, 6]},\n"
	"    \"args\": [\"/bin/sh\", \"-c\", \"echo hi\"],\n"
	"    \"env\": [\"PATH=/bin\", \"A=b=c\"],\n"
	"    \"cwd\": \"/srv\",\n"
	"    \"capabilities\": {\n"
	"      \"bounding\": [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
	"      \"effective\": [\"CAP_KILL\"],\n"
	"      \"inheritable\": [],\n"
	"      \"permitted\": [\"CAP_KILL\", \"CAP_SYS_ADMIN\"],\n"
	"      \"ambient\": [\"CAP_CHOWN\"]\n"
	"    },\n"
	"    \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 512, \"hard\": 1024},\n"
	"                {\"type\": \"RLIMIT_CORE\", \"soft\": 0, \"hard\": 0}],\n"
	"    \"noNewPrivileges\": true,\n"
	"    \"oomScoreAdj\": -500,\n"
	"    \"apparmorProfile\": \"ignored\"\n"
	"  },\n"
	"  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
	"  \"hostname\": \"box\",\n"
	"  \"domainname\": \"example.org\",\n"
	"  \"mounts\": [\n"
	"    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
	"    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	"     \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
	"    {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"/srv/data\",\n"
	"     \"options\": [\"rbind\", \"ro\", \"rprivate\", \"rro\"]},\n"
	"    {\"destination\": \"/cfg\", \"source\": \"cfg\", \"options\": [\"bind\", \"rw\", \"tmpcopyup\"]}\n"
	"  ],\n"
	"  \"annotations\": {\"org.example.key\": \"value\", \"other\": \"\"},\n"
	"  \"hooks\": {\n"
	"    \"prestart\": [{\"path\": \"/bin/pre\"}],\n"
	"    \"createRuntime\": [{\"path\": \"/bin/cr\", \"args\": [\"cr\", \"x\"], \"env\": [\"K=V\"], \"timeout\": 5}],\n"
	"    \"createContainer\": [{\"path\": \"/bin/cc\"}, {\"path\": \"/bin/cc2\"}],\n"
	"    \"startContainer\": [{\"path\": \"/bin/sc\"}],\n"
	"    \"poststart\": [{\"path\": \"/bin/ps\"}],\n"
	"    \"poststop\": [{\"path\": \"/bin/pst\", \"timeout\": 1}]\n"
	"  },\n"
	"  \"linux\": {\n"
	"    \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/proc/1/ns/net\"},\n"
	"                   {\"type\": \"mount\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"user\"},\n"
	"                   {\"type\": \"cgroup\"}, {\"type\": \"time\"}],\n"
	"    \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
	"    \"gidMappings\": [{\"containerID\": 0, \"hostID\": 200000, \"size\": 1000},\n"
	"                    {\"containerID\": 1000, \"hostID\": 300000, \"size\": 1}],\n"
	"    \"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229,\n"
	"                 \"fileMode\": 438, \"uid\": 0, \"gid\": 0},\n"
	"                {\"path\": \"/dev/fifo\", \"type\": \"p\"}],\n"
	"    \"cgroupsPath\": \"/isc/test\",\n"
	"    \"resources\": {\n"
	"      \"memory\": {\"limit\": 536870912, \"reservation\": 268435456, \"swap\": -1,\n"
	"                 \"swappiness\": 10, \"disableOOMKiller\": true},\n"
	"      \"cpu\": {\"shares\": 512, \"quota\": 50000, \"period\": 100000, \"cpus\": \"0-1\", \"mems\": \"0\"},\n"
	"      \"pids\": {\"limit\": 64},\n"
	"      \"devices\": [{\"allow\": false, \"access\": \"rwm\"},\n"
	"                  {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rw\"},\n"
	"                  {\"allow\": true, \"type\": \"b\", \"major\": 8, \"access\": \"m\"}],\n"
	"      \"blockIO\": {\"weight\": 500},\n"
	"      \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 209715200}],\n"
	"      \"unified\": {\"memory.high\": \"400000000\", \"io.weight\": \"default 100\"}\n"
	"    },\n"
	"    \"maskedPaths\": [\"/proc/kcore\", \"/sys/firmware\"],\n"
	"    \"readonlyPaths\": [\"/proc/sys\"],\n"
	"    \"sysctl\": {\"net.ipv4.ip_forward\": \"1\", \"kernel/msgmax\": \"8192\"},\n"
	"    \"seccomp\": {\n"
	"      \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
	"      \"defaultErrnoRet\": 1,\n"
	"      \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],\n"
	"      \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"],\n"
	"      \"listenerPath\": \"/run/listener.sock\",\n"
	"      \"syscalls\": [\n"
	"        {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
	"        {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
	"         \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"},\n"
	"                  {\"index\": 1, \"value\": 255, \"valueTwo\": 4, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},\n"
	"        {\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38}\n"
	"      ]\n"
	"    },\n"
	"    \"rootfsPropagation\": \"rslave\",\n"
	"    \"personality\": {\"domain\": \"LINUX32\", \"flags\": []},\n"
	"    \"timeOffsets\": {\"monotonic\": {\"secs\": -3600, \"nanosecs\": 5},\n"
	"                    \"boottime\": {\"secs\": 86400}},\n"
	"    \"mountLabel\": \"ignored\"\n"
	"  },\n"
	"  \"someFutureField\": {\"x\": [1, 2, 3]}\n"
	"}\n";

static struct isc_spec *parse_ok(const char *json)
{
	struct isc_spec *s = NULL;
	isc_error *err = NULL;
	int r = isc_spec_parse(json, strlen(json), &s, &err);
	if (r < 0)
		fail_msg("parse failed: %s", err ? err->msg : "(no error)");
	assert_null(err);
	assert_non_null(s);
	return s;
}

static void test_full_config(void **state)
{
	(void)state;
	struct isc_spec *s = parse_ok(full_config);

	assert_string_equal(s->oci_version, "1.2.0");
	const struct isc_process *p = &s->process;
	assert_true(p->terminal);
	assert_int_equal(p->console_height, 25);
	assert_int_equal(p->console_width, 80);
	assert_int_equal(p->uid, 1000);
	assert_int_equal(p->gid, 1001);
	assert_true(p->has_umask);
	assert_int_equal(p->umask, 022);
	assert_int_equal(p->n_additional_gids, 2);
	assert_int_equal(p->additional_gids[0], 5);
	assert_int_equal(p->additional_gids[1], 6);
	assert_int_equal(isc_strvlen(p->args), 3);
	assert_string_equal(p->args[2], "echo hi");
	assert_int_equal(isc_strvlen(p->env), 2);
	assert_string_equal(p->env[1], "A=b=c");
	assert_string_equal(p->cwd, "/srv");
	assert_true(p->caps.present);
	assert_int_equal(p->caps.bounding, CAP(5) | CAP(10));
	assert_int_equal(p->caps.effective, CAP(5));
	assert_int_equal(p->caps.inheritable, 0);
	assert_int_equal(p->caps.permitted, CAP(5) | CAP(21));
	assert_int_equal(p->caps.ambient, CAP(0));
	assert_int_equal(p->n_rlimits, 2);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p->rlimits[0].soft, 512);
	assert_int_equal(p->rlimits[0].hard, 1024);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_true(p->no_new_privileges);
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);

	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "box");
	assert_string_equal(s->domainname, "example.org");

	assert_int_equal(s->n_mounts, 4);
	assert_string_equal(s->mounts[0].destination, "/proc");
	assert_string_equal(s->mounts[0].type, "proc");
	assert_string_equal(s->mounts[0].source, "proc");
	assert_int_equal(s->mounts[0].flags, 0);
	assert_null(s->mounts[0].data);
	assert_int_equal(s->mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
	assert_string_equal(s->mounts[1].data, "mode=755,size=65536k");
	assert_false(s->mounts[1].bind);
	assert_true(s->mounts[2].bind);
	assert_true(s->mounts[2].recursive);
	assert_true(s->mounts[2].rro);
	assert_int_equal(s->mounts[2].flags, MS_RDONLY);
	assert_int_equal(s->mounts[2].propagation, MS_PRIVATE | MS_REC);
	assert_null(s->mounts[3].type);
	assert_true(s->mounts[3].bind);
	assert_false(s->mounts[3].recursive);
	assert_true(s->mounts[3].tmpcopyup);
	assert_int_equal(s->mounts[3].clear_flags, MS_RDONLY);

	assert_int_equal(s->n_annotations, 2);
	assert_string_equal(isc_spec_annotation(s, "org.example.key"), "value");
	assert_string_equal(isc_spec_annotation(s, "other"), "");
	assert_null(isc_spec_annotation(s, "missing"));

	assert_int_equal(s->n_hooks[ISC_HOOK_PRESTART], 1);
	assert_string_equal(s->hooks[ISC_HOOK_PRESTART][0].path, "/bin/pre");
	assert_null(s->hooks[ISC_HOOK_PRESTART][0].args);
	assert_int_equal(s->hooks[ISC_HOOK_PRESTART][0].timeout, 0);
	assert_int_equal(s->n_hooks[ISC_HOOK_CREATE_RUNTIME], 1);
	assert_string_equal(s->hooks[ISC_HOOK_CREATE_RUNTIME][0].args[1], "x");
	assert_string_equal(s->hooks[ISC_HOOK_CREATE_RUNTIME][0].env[0], "K=V");
	assert_int_equal(s->hooks[ISC_HOOK_CREATE_RUNTIME][0].timeout, 5);
	assert_int_equal(s->n_hooks[ISC_HOOK_CREATE_CONTAINER], 2);
	assert_string_equal(s->hooks[ISC_HOOK_CREATE_CONTAINER][1].path, "/bin/cc2");
	assert_int_equal(s->n_hooks[ISC_HOOK_START_CONTAINER], 1);
	assert_int_equal(s->n_hooks[ISC_HOOK_POSTSTART], 1);
	assert_int_equal(s->n_hooks[ISC_HOOK_POSTSTOP], 1);
	assert_int_equal(s->hooks[ISC_HOOK_POSTSTOP][0].timeout, 1);

	assert_int_equal(s->n_namespaces, 8);
	assert_int_equal(s->namespaces[0].type, CLONE_NEWPID);
	assert_null(s->namespaces[0].path);
	const struct isc_namespace *net = isc_spec_namespace(s, CLONE_NEWNET);
	assert_non_null(net);
	assert_string_equal(net->path, "/proc/1/ns/net");
	assert_non_null(isc_spec_namespace(s, CLONE_NEWTIME));
	assert_non_null(isc_spec_namespace(s, CLONE_NEWCGROUP));

	assert_int_equal(s->n_uid_mappings, 1);
	assert_int_equal(s->uid_mappings[0].container_id, 0);
	assert_int_equal(s->uid_mappings[0].host_id, 100000);
	assert_int_equal(s->uid_mappings[0].size, 65536);
	assert_int_equal(s->n_gid_mappings, 2);
	assert_int_equal(s->gid_mappings[1].container_id, 1000);
	assert_int_equal(s->gid_mappings[1].host_id, 300000);
	assert_int_equal(s->gid_mappings[1].size, 1);

	assert_int_equal(s->n_devices, 2);
	assert_string_equal(s->devices[0].path, "/dev/fuse");
	assert_int_equal(s->devices[0].type, 'c');
	assert_int_equal(s->devices[0].major, 10);
	assert_int_equal(s->devices[0].minor, 229);
	assert_true(s->devices[0].has_file_mode);
	assert_int_equal(s->devices[0].file_mode, 0666);
	assert_true(s->devices[0].has_uid);
	assert_true(s->devices[0].has_gid);
	assert_int_equal(s->devices[1].type, 'p');
	assert_false(s->devices[1].has_file_mode);

	assert_string_equal(s->cgroups_path, "/isc/test");
	assert_true(s->has_resources);
	const struct isc_resources *r = &s->resources;
	assert_true(r->has_memory_limit);
	assert_int_equal(r->memory_limit, 536870912);
	assert_true(r->has_memory_reservation);
	assert_int_equal(r->memory_reservation, 268435456);
	assert_true(r->has_memory_swap);
	assert_int_equal(r->memory_swap, -1);
	assert_true(r->has_memory_swappiness);
	assert_int_equal(r->memory_swappiness, 10);
	assert_true(r->disable_oom_killer);
	assert_true(r->has_cpu_shares);
	assert_int_equal(r->cpu_shares, 512);
	assert_true(r->has_cpu_quota);
	assert_int_equal(r->cpu_quota, 50000);
	assert_true(r->has_cpu_period);
	assert_int_equal(r->cpu_period, 100000);
	assert_string_equal(r->cpu_cpus, "0-1");
	assert_string_equal(r->cpu_mems, "0");
	assert_true(r->has_pids_limit);
	assert_int_equal(r->pids_limit, 64);
	assert_int_equal(r->n_devices, 3);
	assert_false(r->devices[0].allow);
	assert_int_equal(r->devices[0].type, 'a');
	assert_int_equal(r->devices[0].major, -1);
	assert_int_equal(r->devices[0].minor, -1);
	assert_string_equal(r->devices[0].access, "rwm");
	assert_true(r->devices[1].allow);
	assert_int_equal(r->devices[1].type, 'c');
	assert_int_equal(r->devices[1].major, 1);
	assert_int_equal(r->devices[1].minor, 3);
	assert_string_equal(r->devices[1].access, "rw");
	assert_int_equal(r->devices[2].type, 'b');
	assert_int_equal(r->devices[2].minor, -1);
	assert_string_equal(r->devices[2].access, "m");
	assert_true(r->has_blkio_weight);
	assert_int_equal(r->blkio_weight, 500);
	assert_int_equal(r->n_hugepage_limits, 1);
	assert_string_equal(r->hugepage_limits[0].key, "2MB");
	assert_string_equal(r->hugepage_limits[0].value, "209715200");
	assert_int_equal(r->n_unified, 2);
	assert_string_equal(r->unified[0].key, "memory.high");
	assert_string_equal(r->unified[1].value, "default 100");

	assert_int_equal(isc_strvlen(s->masked_paths), 2);
	assert_string_equal(s->masked_paths[1], "/sys/firmware");
	assert_int_equal(isc_strvlen(s->readonly_paths), 1);
	assert_int_equal(s->n_sysctl, 2);
	assert_string_equal(s->sysctl[0].key, "net.ipv4.ip_forward");
	assert_string_equal(s->sysctl[0].value, "1");

	const struct isc_seccomp *sc = s->seccomp;
	assert_non_null(sc);
	assert_int_equal(sc->default_action, ISC_SCMP_ERRNO);
	assert_true(sc->has_default_errno_ret);
	assert_int_equal(sc->default_errno_ret, 1);
	assert_int_equal(isc_strvlen(sc->architectures), 2);
	assert_string_equal(sc->architectures[1], "SCMP_ARCH_X86");
	assert_int_equal(isc_strvlen(sc->flags), 1);
	assert_string_equal(sc->listener_path, "/run/listener.sock");
	assert_int_equal(sc->n_rules, 3);
	assert_int_equal(isc_strvlen(sc->rules[0].names), 2);
	assert_int_equal(sc->rules[0].action, ISC_SCMP_ALLOW);
	assert_false(sc->rules[0].has_errno_ret);
	assert_int_equal(sc->rules[1].n_args, 2);
	assert_int_equal(sc->rules[1].args[0].index, 0);
	assert_int_equal(sc->rules[1].args[0].value, 8);
	assert_int_equal(sc->rules[1].args[0].op, ISC_SCMP_EQ);
	assert_int_equal(sc->rules[1].args[1].index, 1);
	assert_int_equal(sc->rules[1].args[1].value, 255);
	assert_int_equal(sc->rules[1].args[1].value_two, 4);
	assert_int_equal(sc->rules[1].args[1].op, ISC_SCMP_MASKED_EQ);
	assert_true(sc->rules[2].has_errno_ret);
	assert_int_equal(sc->rules[2].errno_ret, 38);

	assert_int_equal(s->rootfs_propagation, MS_SLAVE | MS_REC);
	assert_true(s->has_personality);
	assert_int_equal(s->personality, PER_LINUX32);
	assert_int_equal(s->n_time_offsets, 2);
	for (size_t i = 0; i < 2; i++) {
		if (s->time_offsets[i].clock == CLOCK_MONOTONIC) {
			assert_int_equal(s->time_offsets[i].secs, -3600);
			assert_int_equal(s->time_offsets[i].nanosecs, 5);
		} else {
			assert_int_equal(s->time_offsets[i].clock, CLOCK_BOOTTIME);
			assert_int_equal(s->time_offsets[i].secs, 86400);
			assert_int_equal(s->time_offsets[i].nanosecs, 0);
		}
	}
	isc_spec_free(s);
}

static void test_minimal(void **state)
{
	(void)state;
	struct isc_spec *s = parse_ok("{\"ociVersion\":\"1.0.2-dev\",\"root\":{\"path\":\"/var/rootfs\"},"
				      "\"process\":{\"args\":[\"true\"]},\"hooks\":null,\"linux\":{\"seccomp\":null}}");
	assert_string_equal(s->process.cwd, "/");
	assert_false(s->process.caps.present);
	assert_null(s->process.env);
	assert_false(s->root_readonly);
	assert_null(s->hostname);
	assert_null(s->seccomp);
	assert_null(s->cgroups_path);
	assert_false(s->has_resources);
	assert_false(s->has_personality);
	assert_int_equal(s->rootfs_propagation, 0);
	assert_null(isc_spec_namespace(s, CLONE_NEWPID));
	isc_spec_free(s);

	/* process is optional; cwd still defaults to "/" */
	s = parse_ok("{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"r\"}}");
	assert_null(s->process.args);
	assert_string_equal(s->process.cwd, "/");
	isc_spec_free(s);
}

/* ---- errors ---- */

#define BASE(x) "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"}," x "}"
#define PROC(x) BASE("\"process\":{\"args\":[\"sh\"]," x "}")
#define LNX(x) BASE("\"linux\":{" x "}")
#define RES(x) LNX("\"resources\":{" x "}")
#define SCMP(x) LNX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\"," x "}")

struct bad_case {
	const char *json;
	const char *expect; /* substring of the error message */
};

static const struct bad_case bad_cases[] = {
	/* malformed JSON and top level */
	{ "{\n  \"ociVersion\": \"1.2.0\",\n    x\n}", "config.json: line 3 column 5: " },
	{ "", "config.json: line " },
	{ "[1]", "config.json: expected a JSON object" },
	{ "{\"ociVersion\":\"1.2.0\",\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"}}", "duplicate" },
	{ "{\"root\":{\"path\":\"r\"}}", "ociVersion: required field is missing" },
	{ "{\"ociVersion\":1,\"root\":{\"path\":\"r\"}}", "ociVersion: expected a string" },
	{ "{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "ociVersion: unsupported version" },
	{ "{\"ociVersion\":\"1.2.0\"}", "root.path: required field is missing" },
	{ "{\"ociVersion\":\"1.2.0\",\"root\":{}}", "root.path: required field is missing" },
	{ "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":5}}", "root.path: expected a string" },
	{ "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"\"}}", "root.path: must not be empty" },
	{ "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\",\"readonly\":1}}", "root.readonly: expected a boolean" },
	{ BASE("\"hostname\":7"), "hostname: expected a string" },
	{ BASE("\"hostname\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""), "hostname: longer" },
	{ BASE("\"annotations\":[]"), "annotations: expected an object of strings" },
	{ BASE("\"annotations\":{\"a\":1}"), "annotations.a: expected a string" },
	/* process */
	{ BASE("\"process\":[]"), "process: expected an object" },
	{ BASE("\"process\":{}"), "process.args: required field is missing" },
	{ BASE("\"process\":{\"args\":\"sh\"}"), "process.args: expected an array of strings" },
	{ BASE("\"process\":{\"args\":[]}"), "process.args: must be a non-empty array of strings" },
	{ BASE("\"process\":{\"args\":[\"sh\",1]}"), "process.args[1]: expected a string" },
	{ BASE("\"process\":{\"args\":[\"\"]}"), "process.args[0]: must not be empty" },
	{ PROC("\"terminal\":\"yes\""), "process.terminal: expected a boolean" },
	{ PROC("\"consoleSize\":{\"height\":-1}"), "process.consoleSize.height: -1 is out of range" },
	{ PROC("\"env\":[\"NOEQUALS\"]"), "process.env[0]: \"NOEQUALS\" is not KEY=VALUE" },
	{ PROC("\"env\":[\"=x\"]"), "process.env[0]" },
	{ PROC("\"cwd\":\"relative\""), "process.cwd: \"relative\" is not an absolute path" },
	{ PROC("\"user\":{\"uid\":-1}"), "process.user.uid: -1 is out of range" },
	{ PROC("\"user\":{\"uid\":4294967295}"), "process.user.uid: 4294967295 is out of range" },
	{ PROC("\"user\":{\"gid\":4294967296}"), "process.user.gid: 4294967296 is out of range" },
	{ PROC("\"user\":{\"uid\":1.5}"), "process.user.uid: expected an integer" },
	{ PROC("\"user\":{\"uid\":\"0\"}"), "process.user.uid: expected an integer" },
	{ PROC("\"user\":{\"umask\":512}"), "process.user.umask: 512 is out of range" },
	{ PROC("\"user\":{\"additionalGids\":[1,-2]}"), "process.user.additionalGids[1]: -2 is out of range" },
	{ PROC("\"capabilities\":[]"), "process.capabilities: expected an object" },
	{ PROC("\"capabilities\":{\"bounding\":\"CAP_KILL\"}"), "process.capabilities.bounding: expected an array of strings" },
	{ PROC("\"capabilities\":{\"effective\":[\"CAP_KILL\",\"CAP_FLY\"]}"),
	  "process.capabilities.effective[1]: unknown capability \"CAP_FLY\"" },
	{ PROC("\"capabilities\":{\"ambient\":[3]}"), "process.capabilities.ambient[0]: expected a string" },
	{ PROC("\"rlimits\":{}"), "process.rlimits: expected an array" },
	{ PROC("\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]"),
	  "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"" },
	{ PROC("\"rlimits\":[{\"soft\":1,\"hard\":1}]"), "process.rlimits[0].type: required field is missing" },
	{ PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1}]"), "process.rlimits[0].soft: required" },
	{ PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":-1,\"hard\":1}]"), "process.rlimits[0].soft: -1 is out of range" },
	{ PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":1}]"),
	  "process.rlimits[0]: soft limit 2 exceeds hard limit 1" },
	{ PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1}]"),
	  "process.rlimits[1].type: duplicate rlimit" },
	{ PROC("\"noNewPrivileges\":1"), "process.noNewPrivileges: expected a boolean" },
	{ PROC("\"oomScoreAdj\":1001"), "process.oomScoreAdj: 1001 is out of range [-1000, 1000]" },
	{ PROC("\"oomScoreAdj\":-1001"), "process.oomScoreAdj: -1001 is out of range" },
	/* mounts */
	{ BASE("\"mounts\":{}"), "mounts: expected an array" },
	{ BASE("\"mounts\":[1]"), "mounts[0]: expected an object" },
	{ BASE("\"mounts\":[{\"type\":\"tmpfs\"}]"), "mounts[0].destination: required field is missing" },
	{ BASE("\"mounts\":[{\"destination\":\"tmp\",\"type\":\"tmpfs\"}]"),
	  "mounts[0].destination: \"tmp\" is not an absolute path" },
	{ BASE("\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\"},{\"destination\":\"/b\",\"type\":3}]"),
	  "mounts[1].type: expected a string" },
	{ BASE("\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\",\"options\":\"ro\"}]"),
	  "mounts[0].options: expected an array of strings" },
	{ BASE("\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\",\"options\":[\"rnosuid\"]}]"),
	  "mounts[0].options: option \"rnosuid\"" },
	{ BASE("\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\",\"options\":[\"\"]}]"),
	  "mounts[0].options: option 0: empty" },
	{ BASE("\"mounts\":[{\"destination\":\"/a\"}]"), "mounts[0].type: required unless" },
	{ BASE("\"mounts\":[{\"destination\":\"/a\",\"type\":\"bind\"}]"), "mounts[0].source: required for a bind mount" },
	/* hooks */
	{ BASE("\"hooks\":[]"), "hooks: expected an object" },
	{ BASE("\"hooks\":{\"prestart\":{}}"), "hooks.prestart: expected an array" },
	{ BASE("\"hooks\":{\"poststop\":[{\"path\":\"bin/x\"}]}"), "hooks.poststop[0].path: \"bin/x\" is not an absolute path" },
	{ BASE("\"hooks\":{\"createRuntime\":[{}]}"), "hooks.createRuntime[0].path: required field is missing" },
	{ BASE("\"hooks\":{\"startContainer\":[{\"path\":\"/x\",\"timeout\":0}]}"),
	  "hooks.startContainer[0].timeout: 0 is out of range" },
	{ BASE("\"hooks\":{\"poststart\":[{\"path\":\"/x\",\"timeout\":-5}]}"), "hooks.poststart[0].timeout" },
	{ BASE("\"hooks\":{\"createContainer\":[{\"path\":\"/x\",\"args\":[1]}]}"), "hooks.createContainer[0].args[0]: expected a string" },
	/* linux */
	{ BASE("\"linux\":[]"), "linux: expected an object" },
	{ LNX("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"foo\"}]"),
	  "linux.namespaces[1].type: unknown namespace type \"foo\"" },
	{ LNX("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]"),
	  "linux.namespaces[1].type: duplicate namespace type \"pid\"" },
	{ LNX("\"namespaces\":[{}]"), "linux.namespaces[0].type: required field is missing" },
	{ LNX("\"namespaces\":[{\"type\":\"net\"}]"), "linux.namespaces[0].type: unknown namespace type" },
	{ LNX("\"namespaces\":[{\"type\":\"network\",\"path\":\"ns/net\"}]"), "linux.namespaces[0].path: \"ns/net\" is not an absolute path" },
	{ LNX("\"uidMappings\":[{\"containerID\":0,\"hostID\":1000}]"), "linux.uidMappings[0].size: required field is missing" },
	{ LNX("\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":0}]"), "linux.uidMappings[0].size: 0 is out of range" },
	{ LNX("\"gidMappings\":[{\"containerID\":-1,\"hostID\":1000,\"size\":1}]"), "linux.gidMappings[0].containerID: -1 is out of range" },
	{ LNX("\"gidMappings\":[{\"containerID\":0,\"hostID\":4294967295,\"size\":1}]"), "linux.gidMappings[0].hostID: 4294967295 is out of range" },
	{ LNX("\"uidMappings\":[{\"containerID\":0,\"hostID\":4294967000,\"size\":1000}]"), "linux.uidMappings[0]: range exceeds" },
	{ LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"x\",\"major\":1,\"minor\":1}]"),
	  "linux.devices[0].type: unknown device type \"x\"" },
	{ LNX("\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1}]"), "linux.devices[0].path: \"dev/x\" is not an absolute path" },
	{ LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"minor\":1}]"), "linux.devices[0].major: required" },
	{ LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":-1}]"), "linux.devices[0].minor: -1 is out of range" },
	{ LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"fileMode\":65536}]"),
	  "linux.devices[0].fileMode" },
	{ LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1,\"uid\":-1}]"), "linux.devices[0].uid: -1" },
	{ LNX("\"cgroupsPath\":[]"), "linux.cgroupsPath: expected a string" },
	{ LNX("\"maskedPaths\":[\"proc/kcore\"]"), "linux.maskedPaths[0]: \"proc/kcore\" is not an absolute path" },
	{ LNX("\"readonlyPaths\":\"/proc\""), "linux.readonlyPaths: expected an array of strings" },
	{ LNX("\"sysctl\":{\"net.ipv4.ip_forward\":1}"), "linux.sysctl.net.ipv4.ip_forward: expected a string" },
	{ LNX("\"sysctl\":{\"../../etc/passwd\":\"x\"}"), "linux.sysctl: invalid sysctl name \"../../etc/passwd\"" },
	{ LNX("\"sysctl\":{\"\":\"x\"}"), "linux.sysctl: invalid sysctl name" },
	/* only the sysctls the container's own namespaces hold (runc's list) */
	{ LNX("\"namespaces\":[{\"type\":\"ipc\"},{\"type\":\"network\"},{\"type\":\"uts\"}],"
	      "\"sysctl\":{\"kernel.core_pattern\":\"|/tmp/x\"}"),
	  "linux.sysctl \"kernel.core_pattern\": not a namespaced sysctl: it would change the host's kernel" },
	{ LNX("\"namespaces\":[{\"type\":\"ipc\"}],\"sysctl\":{\"kernel.shm_rmid_forced_x\":\"1\"}"),
	  "linux.sysctl \"kernel.shm_rmid_forced_x\": not a namespaced sysctl" },
	{ LNX("\"namespaces\":[{\"type\":\"ipc\"}],\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}"),
	  "linux.sysctl \"net.ipv4.ip_forward\": no network namespace in linux.namespaces: without one it "
	  "would change the host's" },
	{ LNX("\"namespaces\":[{\"type\":\"network\"}],\"sysctl\":{\"kernel.shmmax\":\"1\"}"),
	  "linux.sysctl \"kernel.shmmax\": no ipc namespace in linux.namespaces" },
	{ LNX("\"sysctl\":{\"fs/mqueue/msg_max\":\"1\"}"), "linux.sysctl \"fs/mqueue/msg_max\": no ipc namespace" },
	{ LNX("\"sysctl\":{\"kernel.domainname\":\"x\"}"), "linux.sysctl \"kernel.domainname\": no uts namespace" },
	{ LNX("\"namespaces\":[{\"type\":\"ipc\"}],\"sysctl\":{\"vm.memfd_noexec\":\"2\"}"),
	  "linux.sysctl \"vm.memfd_noexec\": no pid namespace in linux.namespaces" },
	{ LNX("\"namespaces\":[{\"type\":\"uts\"}],\"sysctl\":{\"kernel.hostname\":\"x\"}"),
	  "linux.sysctl \"kernel.hostname\": set the hostname field instead" },
	{ LNX("\"rootfsPropagation\":\"sideways\""), "linux.rootfsPropagation: unknown propagation \"sideways\"" },
	{ LNX("\"rootfsPropagation\":1"), "linux.rootfsPropagation: expected a string" },
	{ LNX("\"personality\":{\"domain\":\"BSD\"}"), "linux.personality.domain: unknown domain \"BSD\"" },
	{ LNX("\"personality\":{}"), "linux.personality.domain: required field is missing" },
	{ LNX("\"personality\":{\"domain\":\"LINUX\",\"flags\":[\"X\"]}"), "linux.personality.flags" },
	{ LNX("\"timeOffsets\":{\"realtime\":{\"secs\":1}}"), "linux.timeOffsets.realtime: unknown clock" },
	{ LNX("\"timeOffsets\":{\"monotonic\":{\"nanosecs\":1000000000}}"), "linux.timeOffsets.monotonic.nanosecs: 1000000000 is out of range" },
	{ LNX("\"timeOffsets\":{\"boottime\":{\"secs\":\"1\"}}"), "linux.timeOffsets.boottime.secs: expected an integer" },
	/* resources */
	{ LNX("\"resources\":[]"), "linux.resources: expected an object" },
	{ RES("\"memory\":{\"limit\":-2}"), "linux.resources.memory.limit: -2 is out of range" },
	{ RES("\"memory\":{\"reservation\":\"1G\"}"), "linux.resources.memory.reservation: expected an integer" },
	{ RES("\"memory\":{\"swap\":-100}"), "linux.resources.memory.swap: -100 is out of range" },
	{ RES("\"memory\":{\"swappiness\":101}"), "linux.resources.memory.swappiness: 101 is out of range" },
	{ RES("\"memory\":{\"disableOOMKiller\":0}"), "linux.resources.memory.disableOOMKiller: expected a boolean" },
	{ RES("\"cpu\":{\"shares\":-1}"), "linux.resources.cpu.shares: -1 is out of range" },
	{ RES("\"cpu\":{\"quota\":-2}"), "linux.resources.cpu.quota: -2 is out of range" },
	{ RES("\"cpu\":{\"period\":1.0}"), "linux.resources.cpu.period: expected an integer" },
	{ RES("\"cpu\":{\"cpus\":\"0-3;rm\"}"), "linux.resources.cpu.cpus: invalid list" },
	{ RES("\"cpu\":{\"mems\":5}"), "linux.resources.cpu.mems: expected a string" },
	{ RES("\"pids\":{\"limit\":-5}"), "linux.resources.pids.limit: -5 is out of range" },
	{ RES("\"devices\":[{\"access\":\"rwm\"}]"), "linux.resources.devices[0].allow: required field is missing" },
	{ RES("\"devices\":[{\"allow\":true,\"type\":\"p\"}]"), "linux.resources.devices[0].type: unknown device type \"p\"" },
	{ RES("\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]"), "linux.resources.devices[0].access: invalid access \"rwx\"" },
	{ RES("\"devices\":[{\"allow\":true,\"access\":\"rr\"}]"), "linux.resources.devices[0].access: invalid access" },
	{ RES("\"devices\":[{\"allow\":true,\"major\":-2}]"), "linux.resources.devices[0].major: -2 is out of range" },
	{ RES("\"blockIO\":{\"weight\":5}"), "linux.resources.blockIO.weight: 5 is out of range [10, 1000]" },
	{ RES("\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":-1}]"), "linux.resources.hugepageLimits[0].limit: -1 is out of range" },
	{ RES("\"hugepageLimits\":[{\"limit\":1}]"), "linux.resources.hugepageLimits[0].pageSize: required field is missing" },
	{ RES("\"hugepageLimits\":[{\"pageSize\":\"../2MB\",\"limit\":1}]"), "linux.resources.hugepageLimits[0].pageSize: invalid cgroup file name" },
	{ RES("\"unified\":{\"memory.max\":1}"), "linux.resources.unified.memory.max: expected a string" },
	{ RES("\"unified\":{\"../cgroup.procs\":\"1\"}"), "linux.resources.unified.../cgroup.procs: invalid cgroup file name" },
	/* seccomp */
	{ LNX("\"seccomp\":{}"), "linux.seccomp.defaultAction: required field is missing" },
	{ LNX("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_EXPLODE\"}"), "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_EXPLODE\"" },
	{ SCMP("\"defaultErrnoRet\":-1"), "linux.seccomp.defaultErrnoRet: -1 is out of range" },
	{ SCMP("\"architectures\":[\"SCMP_ARCH_Z80\"]"), "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_Z80\"" },
	{ SCMP("\"flags\":[\"SECCOMP_FILTER_FLAG_BOGUS\"]"), "linux.seccomp.flags[0]: unknown seccomp flag" },
	{ SCMP("\"listenerPath\":\"rel.sock\""), "linux.seccomp.listenerPath: \"rel.sock\" is not an absolute path" },
	{ SCMP("\"syscalls\":{}"), "linux.seccomp.syscalls: expected an array" },
	{ SCMP("\"syscalls\":[{\"action\":\"SCMP_ACT_ALLOW\"}]"), "linux.seccomp.syscalls[0].names: required field is missing" },
	{ SCMP("\"syscalls\":[{\"names\":[],\"action\":\"SCMP_ACT_ALLOW\"}]"), "linux.seccomp.syscalls[0].names: must be a non-empty" },
	{ SCMP("\"syscalls\":[{\"names\":[\"read\"]}]"), "linux.seccomp.syscalls[0].action: required field is missing" },
	{ SCMP("\"syscalls\":[{\"names\":[\"read\"],\"action\":\"ALLOW\"}]"), "linux.seccomp.syscalls[0].action: unknown seccomp action \"ALLOW\"" },
	{ SCMP("\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":\"1\"}]"),
	  "linux.seccomp.syscalls[0].errnoRet: expected an integer" },
	{ SCMP("\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]"),
	  "linux.seccomp.syscalls[0].args[0].index: 6 is out of range" },
	{ SCMP("\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}]"),
	  "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_ABOUT\"" },
	{ SCMP("\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1}]}]"),
	  "linux.seccomp.syscalls[0].args[0].op: required field is missing" },
	{ SCMP("\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":-1,\"op\":\"SCMP_CMP_EQ\"}]}]"),
	  "linux.seccomp.syscalls[0].args[0].value: -1 is out of range" },
};

/* The namespaced sysctls are accepted with their namespace, a joined one
 * too (that it is not the runtime's own is checked at create, ns.c). */
static void test_sysctl_namespaced(void **state)
{
	(void)state;
	struct isc_spec *s = parse_ok(LNX("\"namespaces\":[{\"type\":\"ipc\"},{\"type\":\"uts\"},"
					  "{\"type\":\"network\",\"path\":\"/run/netns/x\"}],"
					  "\"sysctl\":{\"kernel.shmmax\":\"1\",\"kernel.msgmnb\":\"1\",\"kernel.sem\":\"1 2 3 4\","
					  "\"fs.mqueue.msg_max\":\"1\",\"net.core.somaxconn\":\"1\","
					  "\"net/ipv4/conf/eth0.100/rp_filter\":\"1\",\"kernel.domainname\":\"x\"}"));
	assert_int_equal(s->n_sysctl, 7);
	isc_spec_free(s);
	s = parse_ok(LNX("\"namespaces\":[{\"type\":\"pid\"}],\"sysctl\":{\"vm.memfd_noexec\":\"2\"}"));
	assert_int_equal(s->n_sysctl, 1);
	isc_spec_free(s);
	assert_int_equal(isc_sysctl_namespace("kernel.shm_rmid_forced"), CLONE_NEWIPC);
	assert_int_equal(isc_sysctl_namespace("kernel/sem"), CLONE_NEWIPC);
	assert_int_equal(isc_sysctl_namespace("fs.mqueue.queues_max"), CLONE_NEWIPC);
	assert_int_equal(isc_sysctl_namespace("net.ipv4.ip_forward"), CLONE_NEWNET);
	assert_int_equal(isc_sysctl_namespace("net/ipv4/conf/eth0.100/rp_filter"), CLONE_NEWNET);
	assert_int_equal(isc_sysctl_namespace("kernel.domainname"), CLONE_NEWUTS);
	assert_int_equal(isc_sysctl_namespace("kernel.core_pattern"), 0);
	assert_int_equal(isc_sysctl_namespace("kernel.shm_next_id"), 0);
	assert_int_equal(isc_sysctl_namespace("fs.mqueue"), 0);
	assert_int_equal(isc_sysctl_namespace("vm.overcommit_memory"), 0);
	assert_int_equal(isc_sysctl_namespace("vm.memfd_noexec"), CLONE_NEWPID);
	assert_int_equal(isc_sysctl_namespace("vm/memfd_noexec"), CLONE_NEWPID);
	assert_int_equal(isc_sysctl_namespace("vm.memfd_noexec_x"), 0);
	assert_int_equal(isc_sysctl_namespace("netfilter.x"), 0);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		struct isc_spec *s = NULL;
		isc_error *err = NULL;
		int r = isc_spec_parse(bad_cases[i].json, strlen(bad_cases[i].json), &s, &err);
		if (r >= 0)
			fail_msg("case %zu accepted: %s", i, bad_cases[i].json);
		assert_null(s);
		assert_non_null(err);
		if (strstr(err->msg, bad_cases[i].expect) == NULL)
			fail_msg("case %zu: error \"%s\" does not contain \"%s\"", i, err->msg, bad_cases[i].expect);
		isc_error_free(&err);
	}
}

/* Large values jansson can hold: a 32-bit id range up to the top. */
static void test_limits(void **state)
{
	(void)state;
	struct isc_spec *s = parse_ok(LNX("\"uidMappings\":[{\"containerID\":0,\"hostID\":4294901760,\"size\":65535}],"
					  "\"gidMappings\":[{\"containerID\":4294967294,\"hostID\":0,\"size\":1}]"));
	assert_int_equal(s->uid_mappings[0].host_id, 4294901760u);
	assert_int_equal(s->gid_mappings[0].container_id, 4294967294u);
	isc_spec_free(s);

	s = parse_ok(PROC("\"user\":{\"uid\":4294967294,\"gid\":0},\"oomScoreAdj\":1000,"
			  "\"rlimits\":[{\"type\":\"RLIMIT_STACK\",\"soft\":9223372036854775807,\"hard\":9223372036854775807}]"));
	assert_int_equal(s->process.uid, 4294967294u);
	assert_int_equal(s->process.rlimits[0].hard, INT64_MAX);
	isc_spec_free(s);
}

static void test_device_mode_with_type_bits(void **state)
{
	(void)state;
	/* podman writes S_IFCHR | 0666 */
	struct isc_spec *s = parse_ok(LNX("\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,"
					  "\"minor\":3,\"fileMode\":8630}]"));
	assert_int_equal(s->devices[0].file_mode, 0666);
	isc_spec_free(s);
}

static void check_default(bool rootless)
{
	char *json = isc_spec_default_json(rootless);
	assert_non_null(json);
	struct isc_spec *s = parse_ok(json);

	assert_string_equal(s->oci_version, "1.2.0");
	assert_false(s->process.terminal);
	assert_string_equal(s->process.args[0], "sh");
	assert_string_equal(s->process.cwd, "/");
	assert_true(s->process.no_new_privileges);
	assert_true(s->process.caps.present);
	uint64_t caps = CAP(29) | CAP(5) | CAP(10); /* AUDIT_WRITE, KILL, NET_BIND_SERVICE */
	assert_int_equal(s->process.caps.bounding, caps);
	assert_int_equal(s->process.caps.effective, caps);
	assert_int_equal(s->process.caps.permitted, caps);
	assert_int_equal(s->process.caps.inheritable, 0);
	assert_int_equal(s->process.caps.ambient, 0);
	assert_int_equal(s->process.n_rlimits, 1);
	assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s->process.rlimits[0].soft, 1024);
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "isc");

	static const int ns[] = { CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
				  CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUSER };
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
		assert_non_null(isc_spec_namespace(s, ns[i]));
	assert_int_equal(s->n_uid_mappings, 1);
	assert_int_equal(s->n_gid_mappings, 1);
	if (rootless) {
		assert_int_equal(s->uid_mappings[0].host_id, getuid());
		assert_int_equal(s->uid_mappings[0].size, 1);
		assert_int_equal(s->gid_mappings[0].host_id, getgid());
	} else {
		assert_int_equal(s->uid_mappings[0].host_id, 100000);
		assert_int_equal(s->uid_mappings[0].size, 65536);
	}

	bool saw_devpts = false, saw_sys = false, saw_cgroup = false;
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct isc_mount *m = &s->mounts[i];
		assert_true(m->flags & MS_NOSUID);
		if (strcmp(m->destination, "/dev/pts") == 0) {
			saw_devpts = true;
			assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC);
			assert_string_equal(m->data, rootless ? "newinstance,ptmxmode=0666,mode=0620"
							      : "newinstance,ptmxmode=0666,mode=0620,gid=5");
		} else if (strcmp(m->destination, "/sys") == 0) {
			saw_sys = true;
			assert_true(m->flags & MS_RDONLY);
		} else if (strcmp(m->destination, "/sys/fs/cgroup") == 0) {
			saw_cgroup = true;
			assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
		} else if (strcmp(m->destination, "/dev/shm") == 0) {
			assert_string_equal(m->data, "mode=1777,size=65536k");
		}
	}
	assert_true(saw_devpts && saw_sys && saw_cgroup);

	bool keys = false, fw = false;
	for (size_t i = 0; s->masked_paths[i]; i++) {
		keys |= strcmp(s->masked_paths[i], "/proc/keys") == 0;
		fw |= strcmp(s->masked_paths[i], "/sys/firmware") == 0;
	}
	assert_true(keys && fw);
	assert_int_equal(isc_strvlen(s->readonly_paths), 5);

	const struct isc_seccomp *sc = s->seccomp;
	assert_non_null(sc);
	assert_int_equal(sc->default_action, ISC_SCMP_ERRNO);
	assert_int_equal(sc->default_errno_ret, 1);
	assert_int_equal(isc_strvlen(sc->architectures), 3);
	bool clone3 = false;
	size_t n_ioctl = 0, n_clone = 0;
	for (size_t i = 0; i < sc->n_rules; i++) {
		for (size_t j = 0; sc->rules[i].names[j]; j++) {
			const char *n = sc->rules[i].names[j];
			static const char *const forbidden[] = { "mount", "umount2", "pivot_root", "unshare", "setns",
								 "keyctl", "bpf", "ptrace", "kexec_load", "init_module",
								 "open_by_handle_at", "fsopen", "move_mount", "reboot",
								 "userfaultfd", "syslog", "clock_settime" };
			for (size_t k = 0; k < ARRAY_SIZE(forbidden); k++)
				assert_string_not_equal(n, forbidden[k]);
			if (strcmp(n, "clone3") == 0) {
				clone3 = true;
				assert_int_equal(sc->rules[i].action, ISC_SCMP_ERRNO);
				assert_int_equal(sc->rules[i].errno_ret, ENOSYS);
			}
			if (strcmp(n, "personality") == 0) {
				assert_int_equal(sc->rules[i].n_args, 1);
				assert_int_equal(sc->rules[i].args[0].op, ISC_SCMP_EQ);
			}
			/* ioctl and clone only with their argument checks (an
			 * unconditional rule would win over them in libseccomp) */
			if (strcmp(n, "ioctl") == 0) {
				n_ioctl++;
				assert_int_equal(sc->rules[i].action, ISC_SCMP_ALLOW);
				assert_int_equal(sc->rules[i].n_args, 1);
				assert_int_equal(sc->rules[i].args[0].index, 1);
				assert_int_equal(sc->rules[i].args[0].op, ISC_SCMP_MASKED_EQ);
				assert_true(sc->rules[i].args[0].value <= 0xffffffffu); /* the low 32 bits only */
			}
			if (strcmp(n, "clone") == 0) {
				n_clone++;
				assert_int_equal(sc->rules[i].action, ISC_SCMP_ALLOW);
				assert_int_equal(sc->rules[i].n_args, 1);
				assert_int_equal(sc->rules[i].args[0].index, 0);
				assert_int_equal(sc->rules[i].args[0].op, ISC_SCMP_MASKED_EQ);
				assert_int_equal(sc->rules[i].args[0].value, 0x7e020000); /* CLONE_NEW* but NEWTIME */
				assert_int_equal(sc->rules[i].args[0].value_two, 0);
			}
		}
	}
	assert_true(clone3);
	assert_int_equal(n_ioctl, 38); /* the complement of TIOCSTI, TIOCLINUX and TIOCSETD, bit by bit */
	assert_int_equal(n_clone, 1);
	/* a fork bomb is bounded */
	assert_true(s->has_resources && s->resources.has_pids_limit);
	assert_int_equal(s->resources.pids_limit, ISC_SPEC_DEFAULT_PIDS_LIMIT);
	assert_int_equal(ISC_SPEC_DEFAULT_PIDS_LIMIT, 1024);
	isc_spec_free(s);
	free(json);
}

static void test_default_json(void **state)
{
	(void)state;
	check_default(false);
	check_default(true);
}

static void test_load(void **state)
{
	(void)state;
	struct isc_spec *s = NULL;
	isc_error *err = NULL;
	char buf[512];

	assert_int_equal(isc_spec_load("/nonexistent-isc-bundle", &s, &err), -1);
	assert_null(s);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(isc_error_text(err, buf, sizeof(buf)),
			    "open /nonexistent-isc-bundle/config.json: No such file or directory");
	isc_error_free(&err);

	char dir[] = "/tmp/isc-test-spec-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[600];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(full_config, f);
	fclose(f);
	assert_int_equal(isc_spec_load(dir, &s, &err), 0);
	assert_string_equal(s->hostname, "box");
	isc_spec_free(s);
	s = NULL;

	f = fopen(path, "we");
	assert_non_null(f);
	fputs("{\"ociVersion\": \"1.2.0\",\n\"root\": {\"path\": 1}}", f);
	fclose(f);
	assert_int_equal(isc_spec_load(dir, &s, &err), -1);
	assert_string_equal(err->msg, "root.path: expected a string");
	isc_error_free(&err);
	unlink(path);
	rmdir(dir);
}

static void test_sysctl_path(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward" },
		{ "net.ipv4.conf.eth0/1.rp_filter", "/proc/sys/net/ipv4/conf/eth0.1/rp_filter" },
		{ "net/ipv4/conf/eth0.1/rp_filter", "/proc/sys/net/ipv4/conf/eth0.1/rp_filter" },
		{ "kernel/msgmax", "/proc/sys/kernel/msgmax" },
		{ "kernel.msgmax", "/proc/sys/kernel/msgmax" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = isc_sysctl_path(cases[i][0]);
		assert_string_equal(p, cases[i][1]);
		free(p);
	}
	assert_int_equal(isc_sysctl_namespace("net/ipv4/conf/eth0.1/rp_filter"), CLONE_NEWNET);
	assert_int_equal(isc_sysctl_namespace("kernel/msgmax"), CLONE_NEWIPC);
}

static void test_tables(void **state)
{
	(void)state;
	assert_int_equal(isc_namespace_type_from_name("pid"), CLONE_NEWPID);
	assert_int_equal(isc_namespace_type_from_name("network"), CLONE_NEWNET);
	assert_int_equal(isc_namespace_type_from_name("mount"), CLONE_NEWNS);
	assert_int_equal(isc_namespace_type_from_name("ipc"), CLONE_NEWIPC);
	assert_int_equal(isc_namespace_type_from_name("uts"), CLONE_NEWUTS);
	assert_int_equal(isc_namespace_type_from_name("user"), CLONE_NEWUSER);
	assert_int_equal(isc_namespace_type_from_name("cgroup"), CLONE_NEWCGROUP);
	assert_int_equal(isc_namespace_type_from_name("time"), CLONE_NEWTIME);
	assert_int_equal(isc_namespace_type_from_name("net"), -1);
	assert_int_equal(isc_namespace_type_from_name(NULL), -1);
	assert_string_equal(isc_namespace_type_name(CLONE_NEWNS), "mount");
	assert_string_equal(isc_namespace_type_name(CLONE_NEWTIME), "time");
	assert_null(isc_namespace_type_name(0));
	assert_int_equal(isc_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	assert_int_equal(isc_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	assert_int_equal(isc_rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
	assert_int_equal(isc_rlimit_from_name("NOFILE"), -1);
	assert_int_equal(isc_rlimit_from_name(NULL), -1);
}

/* update --resources: linux.resources alone, errors named from "resources". */
static void test_parse_resources(void **state)
{
	(void)state;
	static const char good[] = "{\"memory\":{\"limit\":67108864,\"swap\":-1},\"cpu\":{\"shares\":512,"
				   "\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\"},\"pids\":{\"limit\":20},"
				   "\"blockIO\":{\"weight\":300},\"unified\":{\"memory.high\":\"max\"}}";
	struct isc_resources r;
	isc_error *err = NULL;
	assert_int_equal(isc_spec_parse_resources(good, strlen(good), &r, &err), 0);
	assert_null(err);
	assert_true(r.has_memory_limit);
	assert_int_equal(r.memory_limit, 67108864);
	assert_true(r.has_memory_swap);
	assert_int_equal(r.memory_swap, -1);
	assert_false(r.has_memory_reservation);
	assert_true(r.has_cpu_shares);
	assert_int_equal(r.cpu_shares, 512);
	assert_int_equal(r.cpu_quota, 50000);
	assert_int_equal(r.cpu_period, 100000);
	assert_string_equal(r.cpu_cpus, "0-1");
	assert_null(r.cpu_mems);
	assert_true(r.has_pids_limit);
	assert_int_equal(r.pids_limit, 20);
	assert_true(r.has_blkio_weight);
	assert_int_equal(r.blkio_weight, 300);
	assert_int_equal(r.n_unified, 1);
	assert_string_equal(r.unified[0].key, "memory.high");
	isc_resources_clear(&r);
	assert_null(r.cpu_cpus);

	/* empty object: nothing set */
	assert_int_equal(isc_spec_parse_resources("{}", 2, &r, &err), 0);
	assert_false(r.has_memory_limit || r.has_pids_limit || r.has_cpu_shares);
	isc_resources_clear(&r);

	static const struct {
		const char *json, *expect;
	} bad[] = {
		{ "[]", "resources: expected an object" },
		{ "{\"memory\":{\"limit\":-2}}", "resources.memory.limit: -2 is out of range" },
		{ "{\"memory\":{\"limit\":\"64m\"}}", "resources.memory.limit: expected an integer" },
		{ "{\"pids\":{\"limit\":\"x\"}}", "resources.pids.limit: expected an integer" },
		{ "{\"cpu\":{\"cpus\":\"a\"}}", "resources.cpu.cpus: invalid list" },
		{ "{\"blockIO\":{\"weight\":1}}", "resources.blockIO.weight: 1 is out of range" },
		{ "{\"devices\":[{\"allow\":true,\"type\":\"p\"}]}", "resources.devices[0].type: unknown device type \"p\"" },
		{ "{\"unified\":{\"../x\":\"1\"}}", "resources.unified.../x: invalid cgroup file name" },
		{ "{\"memory\":", "resources: line 1" },
		{ "{\"pids\":{\"limit\":1},\"pids\":{\"limit\":2}}", "resources: line 1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&r, 0x5a, sizeof(r));
		int rc = isc_spec_parse_resources(bad[i].json, strlen(bad[i].json), &r, &err);
		if (rc >= 0)
			fail_msg("case %zu accepted: %s", i, bad[i].json);
		assert_non_null(err);
		if (strstr(err->msg, bad[i].expect) == NULL)
			fail_msg("case %zu: error \"%s\" does not contain \"%s\"", i, err->msg, bad[i].expect);
		if (strstr(err->msg, "linux.") != NULL)
			fail_msg("case %zu: error \"%s\" names linux.resources", i, err->msg);
		isc_error_free(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_sysctl_namespaced),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_default_json),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_sysctl_path),
		cmocka_unit_test(test_parse_resources),
		cmocka_unit_test(test_device_mode_with_type_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
