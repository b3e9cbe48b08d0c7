/* SPDX-License-Identifier: GPL-2.0-or-later
 * `isc run`: flags -> a validated plan (struct isc_plan) -> JSON (what iscd
 * keeps as service.json) -> the bundle's config.json with the ISC defaults
 * (docs/defaults.md).  Every value is checked here, before anything is
 * created; errors name the flag (or the JSON key). */
#include "plan/plan.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include "kernel/caps.h"
#include "image/image.h"
#include "kernel/landlock.h"
#include "kernel/scratch.h"
#include "spec/spec.h"
#include "base/util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SCRATCH_SIZE "64m"
#define CPU_PERIOD 100000ULL
#define MAX_CPUS 1024
#define MAX_LIST 256 /* ports, volumes, env entries, capabilities: each at most */

/* The capabilities every service gets (bounding = effective = permitted;
 * no inheritable, no ambient).  podman's default set without SETFCAP (file
 * capabilities) and SYS_CHROOT; NET_RAW, MKNOD and AUDIT_WRITE are not in it
 * either.  docs/defaults.md says why. */
static const char *const isc_default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
};

static const struct {
	const char *name;
	enum isc_restart value;
} restart_names[] = {
	{ "no", ISC_RESTART_NO },
	{ "on-failure", ISC_RESTART_ON_FAILURE },
	{ "always", ISC_RESTART_ALWAYS },
};

static const char *restart_name(enum isc_restart r)
{
	for (size_t i = 0; i < ARRAY_SIZE(restart_names); i++)
		if (restart_names[i].value == r)
			return restart_names[i].name;
	return "on-failure";
}

static int restart_parse(const char *s, enum isc_restart *out, isc_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(restart_names); i++)
		if (strcmp(restart_names[i].name, s) == 0) {
			*out = restart_names[i].value;
			return 0;
		}
	return isc_error_set(err, EINVAL, "--restart: \"%s\" is not one of no, on-failure, always", s);
}

void isc_plan_clear(struct isc_plan *p)
{
	free(p->name);
	free(p->image);
	isc_strvfree(p->cmd);
	isc_strvfree(p->env);
	free(p->ports);
	for (size_t i = 0; i < p->n_volumes; i++) {
		free(p->volumes[i].src);
		free(p->volumes[i].dst);
	}
	free(p->volumes);
	free(p->user);
	isc_strvfree(p->cap_add);
	free(p->scratch_size);
	memset(p, 0, sizeof(*p));
	p->restart = ISC_RESTART_ON_FAILURE;
}

static void strv_push(char ***v, const char *s)
{
	size_t n = isc_strvlen(*v);
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (nv == NULL)
		abort();
	nv[n] = isc_xstrdup(s);
	nv[n + 1] = NULL;
	*v = nv;
}

/* ---- single values ------------------------------------------------------------ */

int isc_plan_parse_name(const char *s, isc_error **err)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return isc_error_set(err, EINVAL, "--name: \"%s\" must be 1 to 63 characters", s);
	if (!isalnum((unsigned char)s[0]))
		return isc_error_set(err, EINVAL, "--name: \"%s\" must start with a letter or a digit", s);
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return isc_error_set(err, EINVAL, "--name: \"%s\": only letters, digits, '_', '.' and '-' are allowed",
					     s);
	}
	return 0;
}

static int parse_port_number(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	uint64_t v;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (isc_parse_u64(buf, &v) < 0 || v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int isc_plan_parse_port(const char *s, struct isc_port *out, isc_error **err)
{
	const char *colon = strchr(s, ':');
	if (colon == NULL)
		return isc_error_set(err, EINVAL, "--expose: \"%s\" is not HOSTPORT:PORT[/tcp|udp]", s);
	const char *slash = strchr(colon + 1, '/');
	struct isc_port p = { .proto = IPPROTO_TCP };
	if (slash != NULL) {
		if (strcmp(slash + 1, "tcp") == 0)
			p.proto = IPPROTO_TCP;
		else if (strcmp(slash + 1, "udp") == 0)
			p.proto = IPPROTO_UDP;
		else
			return isc_error_set(err, EINVAL, "--expose: \"%s\": protocol must be tcp or udp", s);
	}
	size_t port_len = slash != NULL ? (size_t)(slash - colon - 1) : strlen(colon + 1);
	if (parse_port_number(s, (size_t)(colon - s), &p.host_port) < 0)
		return isc_error_set(err, EINVAL, "--expose: \"%s\": bad host port (1-65535)", s);
	if (parse_port_number(colon + 1, port_len, &p.port) < 0)
		return isc_error_set(err, EINVAL, "--expose: \"%s\": bad container port (1-65535)", s);
	*out = p;
	return 0;
}

int isc_plan_parse_size(const char *s, uint64_t *out, isc_error **err)
{
	size_t n = strlen(s);
	uint64_t mult = 1;
	if (n > 0 && strchr("bBkKmMgGtT", s[n - 1]) != NULL) {
		switch (tolower((unsigned char)s[n - 1])) {
		case 'k': mult = 1ULL << 10; break;
		case 'm': mult = 1ULL << 20; break;
		case 'g': mult = 1ULL << 30; break;
		case 't': mult = 1ULL << 40; break;
		default: break;
		}
		n--;
	}
	char buf[32];
	uint64_t v;
	if (n == 0 || n >= sizeof(buf))
		return isc_error_set(err, EINVAL, "bad size \"%s\" (a number with an optional k, m, g or t)", s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (isc_parse_u64(buf, &v) < 0 || (v != 0 && UINT64_MAX / v < mult))
		return isc_error_set(err, EINVAL, "bad size \"%s\" (a number with an optional k, m, g or t)", s);
	*out = v * mult;
	return 0;
}

static int check_abs_path(const char *flag, const char *what, const char *p, isc_error **err)
{
	if (p[0] != '/')
		return isc_error_set(err, EINVAL, "%s: %s \"%s\" must be an absolute path", flag, what, p);
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20)
			return isc_error_set(err, EINVAL, "%s: %s \"%s\" has a control character", flag, what, p);
	/* no "." or ".." components */
	for (const char *c = p; *c;) {
		while (*c == '/')
			c++;
		size_t l = strcspn(c, "/");
		if ((l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return isc_error_set(err, EINVAL, "%s: %s \"%s\" may not contain . or ..", flag, what, p);
		c += l;
	}
	return 0;
}

/* p is dir or beneath it, component by component: "//persist/x" and
 * "/persist//x/" are under "/persist" as the kernel resolves them. */
static bool path_under(const char *p, const char *dir)
{
	for (;;) {
		p += strspn(p, "/");
		dir += strspn(dir, "/");
		if (*dir == '\0')
			return true;
		size_t lp = strcspn(p, "/"), ld = strcspn(dir, "/");
		if (lp != ld || strncmp(p, dir, ld) != 0)
			return false;
		p += lp;
		dir += ld;
	}
}

static int check_volume_dst(const char *dst, isc_error **err)
{
	if (check_abs_path("-v", "destination", dst, err) < 0)
		return -1;
	static const char *const reserved[] = { "/proc", "/sys", "/dev", "/persist", "/scratch" };
	if (strspn(dst, "/") == strlen(dst))
		return isc_error_set(err, EINVAL, "-v: destination may not be /");
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (path_under(dst, reserved[i]))
			return isc_error_set(err, EINVAL, "-v: destination %s is reserved (%s)", dst, reserved[i]);
	return 0;
}

/* Where `dst` leads inside the image at `rootfd`: the symbolic links of
 * the image followed as the runtime follows them (openat2 RESOLVE_IN_ROOT:
 * an absolute target starts again at the image's root, ".." stops there),
 * missing components kept as they are.  The image store is immutable, so
 * what this reads is what the runtime will meet.  A malloc'd path, or
 * NULL with errno (ELOOP, ENAMETOOLONG, or a read error). */
static char *resolve_in_image(int rootfd, const char *dst)
{
	char done[PATH_MAX] = "";  /* resolved so far, no symlink, relative to rootfd */
	char rest[PATH_MAX];       /* still to walk */
	if (snprintf(rest, sizeof rest, "%s", dst) >= (int)sizeof rest)
		return errno = ENAMETOOLONG, NULL;
	int links = 0;
	bool exists = true;
	while (rest[0] != '\0') {
		const char *c = rest + strspn(rest, "/");
		size_t n = strcspn(c, "/");
		char name[NAME_MAX + 1];
		if (n == 0)
			break;
		if (n > NAME_MAX)
			return errno = ENAMETOOLONG, NULL;
		memcpy(name, c, n);
		name[n] = '\0';
		memmove(rest, c + n, strlen(c + n) + 1);
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			char *slash = strrchr(done, '/');
			*(slash ? slash : done) = '\0';
			continue;
		}
		size_t dl = strlen(done);
		if (dl + 1 + n + 1 > sizeof done)
			return errno = ENAMETOOLONG, NULL;
		snprintf(done + dl, sizeof done - dl, "%s%s", dl ? "/" : "", name);
		if (!exists)
			continue;
		char target[PATH_MAX];
		ssize_t tl = readlinkat(rootfd, done, target, sizeof target - 1);
		if (tl < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				exists = false; /* made by the runtime: nothing below is a link */
			else if (errno != EINVAL)
				return NULL;
			continue;
		}
		if (++links > 40)
			return errno = ELOOP, NULL;
		target[tl] = '\0';
		done[dl] = '\0';
		if (target[0] == '/')
			done[0] = '\0';
		char joined[PATH_MAX];
		if (snprintf(joined, sizeof joined, "%s/%s", target, rest) >= (int)sizeof joined)
			return errno = ENAMETOOLONG, NULL;
		memcpy(rest, joined, sizeof rest);
	}
	return isc_xasprintf("/%s", done);
}

int isc_plan_check_volume_targets(const struct isc_plan *p, int rootfd, isc_error **err)
{
	for (size_t i = 0; i < p->n_volumes; i++) {
		const struct isc_volume *v = &p->volumes[i];
		cleanup_free char *to = resolve_in_image(rootfd, v->dst);
		if (to == NULL)
			return isc_error_set(err, errno, "-v %s:%s: resolving %s in the image", v->src, v->dst,
					     v->dst);
		cleanup_error isc_error *why = NULL;
		if (check_volume_dst(to, &why) < 0)
			return isc_error_set(err, EINVAL, "-v %s:%s: %s resolves to %s in the image, which is reserved",
					     v->src, v->dst, v->dst, to);
	}
	return 0;
}

/* SRC:DST[:ro|:rw]; the source must exist without a symbolic link on its
 * way (checked by the side that can see the host: parse_args, and iscd at
 * `isc run` and every start, volume.h). */
static int parse_volume(const char *s, struct isc_volume *v, isc_error **err)
{
	cleanup_free char *copy = isc_xstrdup(s);
	char *colon = strchr(copy, ':');
	if (colon == NULL)
		return isc_error_set(err, EINVAL, "-v: \"%s\" is not SRC:DST[:ro]", s);
	*colon = '\0';
	char *dst = colon + 1;
	bool ro = false;
	char *mode = strchr(dst, ':');
	if (mode != NULL) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") == 0)
			ro = true;
		else if (strcmp(mode, "rw") != 0)
			return isc_error_set(err, EINVAL, "-v: \"%s\": mode must be ro or rw", s);
	}
	if (check_abs_path("-v", "source", copy, err) < 0 || check_volume_dst(dst, err) < 0)
		return -1;
	v->src = isc_xstrdup(copy);
	v->dst = isc_xstrdup(dst);
	v->ro = ro;
	return 0;
}

static int check_env(const char *s, isc_error **err)
{
	const char *eq = strchr(s, '=');
	if (eq == NULL || eq == s)
		return isc_error_set(err, EINVAL, "-e: \"%s\" is not KEY=VALUE", s);
	return 0;
}

static int check_user(const char *s, isc_error **err)
{
	cleanup_free char *copy = isc_xstrdup(s);
	char *colon = strchr(copy, ':');
	uint64_t v;
	if (colon != NULL)
		*colon = '\0';
	if (isc_parse_u64(copy, &v) < 0 || v > 65535 ||
	    (colon != NULL && (isc_parse_u64(colon + 1, &v) < 0 || v > 65535)))
		return isc_error_set(err, EINVAL, "--user: \"%s\" is not UID[:GID] (numbers 0-65535)", s);
	return 0;
}

static int check_cap(const char *s, isc_error **err)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s%s", strncasecmp(s, "CAP_", 4) == 0 ? "" : "CAP_", s);
	for (char *c = buf; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (strlen(s) > 40 || isc_cap_from_name(buf) < 0)
		return isc_error_set(err, EINVAL, "--cap-add: unknown capability \"%s\"", s);
	return 0;
}

static char *cap_canonical(const char *s)
{
	char *c = isc_xasprintf("%s%s", strncasecmp(s, "CAP_", 4) == 0 ? "" : "CAP_", s);
	for (char *p = c; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return c;
}

static int check_scratch_size(const char *s, isc_error **err)
{
	uint64_t v;
	if (isc_plan_parse_size(s, &v, err) < 0)
		return isc_error_wrap(err, "--scratch-size");
	if (v < ISC_SCRATCH_MIN_SIZE || v > ISC_SCRATCH_MAX_SIZE)
		return isc_error_set(err, EINVAL, "--scratch-size: %s is outside 1m..1024g", s);
	return 0;
}

static int parse_cpus(const char *s, uint64_t *quota, isc_error **err)
{
	char *end = NULL;
	errno = 0;
	double d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(d) || d <= 0 || d > MAX_CPUS)
		return isc_error_set(err, EINVAL, "--cpus: \"%s\" is not a number of CPUs (0.01 to %d)", s, MAX_CPUS);
	uint64_t q = (uint64_t)(d * (double)CPU_PERIOD + 0.5);
	if (q < 1000)
		return isc_error_set(err, EINVAL, "--cpus: \"%s\" is less than 0.01", s);
	*quota = q;
	return 0;
}

/* The plan travels as JSON, which holds UTF-8 only. */
static bool utf8_ok(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

static int check_strv_utf8(const char *what, char *const *v, isc_error **err)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!utf8_ok(v[i]))
			return isc_error_set(err, EILSEQ, "%s: argument %zu is not valid UTF-8", what, i + 1);
	return 0;
}

/* Checks every field of a plan that does not need the host. */
static int plan_check(const struct isc_plan *p, isc_error **err)
{
	if (check_strv_utf8("CMD", p->cmd, err) < 0 || check_strv_utf8("-e", p->env, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_volumes; i++)
		if (!utf8_ok(p->volumes[i].src) || !utf8_ok(p->volumes[i].dst))
			return isc_error_set(err, EILSEQ, "-v: %s is not valid UTF-8", p->volumes[i].src);
	if (p->name == NULL)
		return isc_error_set(err, EINVAL, "--name is required");
	if (isc_plan_parse_name(p->name, err) < 0)
		return -1;
	if (p->image == NULL)
		return isc_error_set(err, EINVAL, "an IMAGE is required");
	if (isc_image_name_check(p->image, err) < 0)
		return isc_error_wrap(err, "IMAGE");
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (check_env(p->env[i], err) < 0)
			return -1;
	if (p->user != NULL && check_user(p->user, err) < 0)
		return -1;
	for (size_t i = 0; p->cap_add && p->cap_add[i]; i++)
		if (check_cap(p->cap_add[i], err) < 0)
			return -1;
	if (p->scratch_size != NULL && check_scratch_size(p->scratch_size, err) < 0)
		return -1;
	if (p->pids_limit < 0)
		return isc_error_set(err, EINVAL, "--pids-limit: must be positive");
	if (p->memory != 0 && p->memory < (4ULL << 20))
		return isc_error_set(err, EINVAL, "--memory: at least 4m");
	if (p->cpu_quota > MAX_CPUS * CPU_PERIOD)
		return isc_error_set(err, EINVAL, "--cpus: at most %d", MAX_CPUS);
	for (size_t i = 0; i < p->n_ports; i++)
		for (size_t j = 0; j < i; j++)
			if (p->ports[i].host_port == p->ports[j].host_port && p->ports[i].proto == p->ports[j].proto)
				return isc_error_set(err, EINVAL, "--expose: host port %u/%s given twice",
						     p->ports[i].host_port, p->ports[i].proto == IPPROTO_UDP ? "udp" : "tcp");
	for (size_t i = 0; i < p->n_volumes; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->volumes[i].dst, p->volumes[j].dst) == 0)
				return isc_error_set(err, EINVAL, "-v: destination %s given twice", p->volumes[i].dst);
	if (p->n_ports > MAX_LIST || p->n_volumes > MAX_LIST || isc_strvlen(p->env) > MAX_LIST ||
	    isc_strvlen(p->cap_add) > MAX_LIST)
		return isc_error_set(err, E2BIG, "too many --expose, -v, -e or --cap-add (at most %d each)", MAX_LIST);
	return 0;
}

/* ---- command line ------------------------------------------------------------- */

enum {
	OPT_NAME = 256, OPT_EXPOSE, OPT_MEMORY, OPT_CPUS, OPT_PIDS, OPT_CAP_ADD, OPT_RESTART, OPT_USERNS,
	OPT_SCRATCH, OPT_PERSIST_EXEC, OPT_MEMFD_EXEC,
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
		if (parse_volume(arg, &v, err) < 0)
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
		if (check_env(arg, err) < 0)
			return -1;
		strv_push(&p->env, arg);
		return 0;
	case 'm':
		if (isc_plan_parse_size(arg, &p->memory, err) < 0)
			return isc_error_wrap(err, "--memory");
		if (p->memory < (4ULL << 20))
			return isc_error_set(err, EINVAL, "--memory: %s is less than 4m", arg);
		return 0;
	case OPT_CPUS:
		return parse_cpus(arg, &p->cpu_quota, err);
	case OPT_PIDS: {
		int64_t v;
		if (isc_parse_i64(arg, &v) < 0 || v <= 0)
			return isc_error_set(err, EINVAL, "--pids-limit: \"%s\" is not a positive number", arg);
		p->pids_limit = v;
		return 0;
	}
	case 'u':
		if (check_user(arg, err) < 0)
			return -1;
		free(p->user);
		p->user = isc_xstrdup(arg);
		return 0;
	case OPT_CAP_ADD:
		if (check_cap(arg, err) < 0)
			return -1;
		{
			cleanup_free char *name = cap_canonical(arg);
			strv_push(&p->cap_add, name);
		}
		return 0;
	case OPT_RESTART:
		return restart_parse(arg, &p->restart, err);
	case OPT_USERNS:
		if (strcmp(arg, "auto") == 0)
			p->userns_host = false;
		else if (strcmp(arg, "host") == 0)
			p->userns_host = true;
		else
			return isc_error_set(err, EINVAL, "--userns: \"%s\" is not auto or host", arg);
		return 0;
	case OPT_SCRATCH:
		if (check_scratch_size(arg, err) < 0)
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
			ret = optopt && c == ':' ? isc_error_set(err, EINVAL, "option %s needs a value", bad)
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
		strv_push(&p->cmd, argv[optind]);
	ret = plan_check(p, err);
out:
	opterr = saved_opterr;
	optind = 0;
	if (ret < 0)
		isc_plan_clear(p);
	return ret;
}

/* ---- JSON --------------------------------------------------------------------- */

static json_t *strv_to_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *isc_plan_to_json(const struct isc_plan *p)
{
	json_t *ports = json_array();
	for (size_t i = 0; i < p->n_ports; i++)
		json_array_append_new(ports, json_pack("{s:i, s:i, s:s}", "host_port", p->ports[i].host_port, "port",
						       p->ports[i].port, "proto",
						       p->ports[i].proto == IPPROTO_UDP ? "udp" : "tcp"));
	json_t *vols = json_array();
	for (size_t i = 0; i < p->n_volumes; i++) {
		json_t *v = json_pack("{s:s, s:s, s:b}", "src", p->volumes[i].src, "dst", p->volumes[i].dst, "ro",
				      p->volumes[i].ro);
		if (p->volumes[i].id.set)
			json_object_set_new(v, "identity", isc_volume_id_to_json(&p->volumes[i].id));
		json_array_append_new(vols, v);
	}
	json_t *j = json_object();
	json_object_set_new(j, "name", p->name ? json_string(p->name) : json_null());
	json_object_set_new(j, "image", p->image ? json_string(p->image) : json_null());
	json_object_set_new(j, "cmd", p->cmd ? strv_to_json(p->cmd) : json_null());
	json_object_set_new(j, "env", strv_to_json(p->env));
	json_object_set_new(j, "ports", ports);
	json_object_set_new(j, "volumes", vols);
	json_object_set_new(j, "memory", json_integer((json_int_t)p->memory));
	json_object_set_new(j, "cpu_quota", json_integer((json_int_t)p->cpu_quota));
	json_object_set_new(j, "pids_limit", json_integer((json_int_t)p->pids_limit));
	json_object_set_new(j, "user", p->user ? json_string(p->user) : json_null());
	json_object_set_new(j, "cap_add", strv_to_json(p->cap_add));
	json_object_set_new(j, "restart", json_string(restart_name(p->restart)));
	json_object_set_new(j, "userns", json_string(p->userns_host ? "host" : "auto"));
	json_object_set_new(j, "scratch_size", json_string(p->scratch_size ? p->scratch_size : DEFAULT_SCRATCH_SIZE));
	json_object_set_new(j, "persist_exec", json_boolean(p->persist_exec));
	json_object_set_new(j, "memfd_exec", json_boolean(p->memfd_exec));
	return j;
}

static int json_strv(json_t *j, const char *key, bool nullable, char ***out, isc_error **err)
{
	json_t *a = json_object_get(j, key);
	*out = NULL;
	if (a == NULL || json_is_null(a)) {
		if (nullable)
			return 0;
		a = NULL;
	}
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MAX_LIST * 16)
		return isc_error_set(err, EINVAL, "plan: \"%s\" must be an array of strings", key);
	size_t i;
	json_t *v;
	char **res = isc_xmalloc0(sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			isc_strvfree(res);
			return isc_error_set(err, EINVAL, "plan: \"%s\"[%zu] must be a string", key, i);
		}
		strv_push(&res, json_string_value(v));
	}
	*out = res;
	return 0;
}

static int json_str(json_t *j, const char *key, bool required, char **out, isc_error **err)
{
	json_t *v = json_object_get(j, key);
	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return isc_error_set(err, EINVAL, "plan: \"%s\" is missing", key);
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return isc_error_set(err, EINVAL, "plan: \"%s\" must be a string", key);
	*out = isc_xstrdup(json_string_value(v));
	return 0;
}

static int json_u64(json_t *j, const char *key, uint64_t *out, isc_error **err)
{
	json_t *v = json_object_get(j, key);
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return isc_error_set(err, EINVAL, "plan: \"%s\" must be a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* A missing key is false: a plan written before the key existed gets the
 * protection (noexec /persist, no executable memfd) on its next start. */
static int json_flag(json_t *j, const char *key, bool *out, isc_error **err)
{
	json_t *v = json_object_get(j, key);
	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return isc_error_set(err, EINVAL, "plan: \"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int plan_from_json(json_t *j, struct isc_plan *p, isc_error **err)
{
	if (!json_is_object(j))
		return isc_error_set(err, EINVAL, "plan: not a JSON object");
	if (json_str(j, "name", true, &p->name, err) < 0 || json_str(j, "image", true, &p->image, err) < 0 ||
	    json_strv(j, "cmd", true, &p->cmd, err) < 0 || json_strv(j, "env", false, &p->env, err) < 0 ||
	    json_str(j, "user", false, &p->user, err) < 0 || json_strv(j, "cap_add", false, &p->cap_add, err) < 0 ||
	    json_str(j, "scratch_size", false, &p->scratch_size, err) < 0)
		return -1;
	if (p->cmd != NULL && p->cmd[0] == NULL)
		return isc_error_set(err, EINVAL, "plan: \"cmd\" is empty");
	uint64_t pids;
	if (json_u64(j, "memory", &p->memory, err) < 0 || json_u64(j, "cpu_quota", &p->cpu_quota, err) < 0 ||
	    json_u64(j, "pids_limit", &pids, err) < 0)
		return -1;
	if (pids > INT64_MAX / 2)
		return isc_error_set(err, EINVAL, "plan: \"pids_limit\" is too large");
	p->pids_limit = (int64_t)pids;
	if (json_flag(j, "persist_exec", &p->persist_exec, err) < 0 ||
	    json_flag(j, "memfd_exec", &p->memfd_exec, err) < 0)
		return -1;
	cleanup_free char *restart = NULL, *userns = NULL;
	if (json_str(j, "restart", false, &restart, err) < 0 || json_str(j, "userns", false, &userns, err) < 0)
		return -1;
	if (restart != NULL && restart_parse(restart, &p->restart, err) < 0)
		return -1;
	if (userns != NULL) {
		if (strcmp(userns, "host") == 0)
			p->userns_host = true;
		else if (strcmp(userns, "auto") != 0)
			return isc_error_set(err, EINVAL, "plan: \"userns\" must be auto or host");
	}
	json_t *ports = json_object_get(j, "ports");
	if (ports != NULL && !json_is_null(ports)) {
		if (!json_is_array(ports) || json_array_size(ports) > MAX_LIST)
			return isc_error_set(err, EINVAL, "plan: \"ports\" must be an array (at most %d)", MAX_LIST);
		p->ports = isc_xmalloc0((json_array_size(ports) + 1) * sizeof(*p->ports));
		size_t i;
		json_t *v;
		json_array_foreach(ports, i, v) {
			json_int_t hp = -1, cp = -1;
			const char *proto = NULL;
			if (json_unpack(v, "{s:I, s:I, s:s}", "host_port", &hp, "port", &cp, "proto", &proto) < 0 ||
			    hp < 1 || hp > 65535 || cp < 1 || cp > 65535 ||
			    (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
				return isc_error_set(err, EINVAL, "plan: bad port entry %zu", i);
			p->ports[p->n_ports++] = (struct isc_port){ (uint16_t)hp, (uint16_t)cp,
								    strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP };
		}
	}
	json_t *vols = json_object_get(j, "volumes");
	if (vols != NULL && !json_is_null(vols)) {
		if (!json_is_array(vols) || json_array_size(vols) > MAX_LIST)
			return isc_error_set(err, EINVAL, "plan: \"volumes\" must be an array (at most %d)", MAX_LIST);
		p->volumes = isc_xmalloc0((json_array_size(vols) + 1) * sizeof(*p->volumes));
		size_t i;
		json_t *v;
		json_array_foreach(vols, i, v) {
			const char *src = NULL, *dst = NULL;
			int ro = 0;
			if (json_unpack(v, "{s:s, s:s, s:b}", "src", &src, "dst", &dst, "ro", &ro) < 0)
				return isc_error_set(err, EINVAL, "plan: bad volume entry %zu", i);
			if (check_abs_path("-v", "source", src, err) < 0 || check_volume_dst(dst, err) < 0)
				return -1;
			struct isc_volume_id id = { 0 };
			json_t *ident = json_object_get(v, "identity");
			if (ident != NULL && !json_is_null(ident) && isc_volume_id_from_json(ident, &id, err) < 0)
				return isc_error_wrap(err, "volume %s", src);
			p->volumes[p->n_volumes++] = (struct isc_volume){ isc_xstrdup(src), isc_xstrdup(dst), ro != 0, id };
		}
	}
	return plan_check(p, err);
}

int isc_plan_from_json(json_t *j, struct isc_plan *p, isc_error **err)
{
	isc_plan_clear(p);
	if (plan_from_json(j, p, err) < 0) {
		isc_plan_clear(p);
		return -1;
	}
	return 0;
}

/* ---- the bundle --------------------------------------------------------------- */

/* Replace "KEY=..." in env (a JSON array) or append. */
static void env_set(json_t *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);
		if (s != NULL && strncmp(s, kv, klen) == 0 && s[klen] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static json_t *image_cfg(json_t *image_config)
{
	if (!json_is_object(image_config))
		return NULL;
	json_t *c = json_object_get(image_config, "config");
	return json_is_object(c) ? c : image_config;
}

static void append_strings(json_t *dst, json_t *src)
{
	size_t i;
	json_t *v;
	json_array_foreach(src, i, v)
		if (json_is_string(v))
			json_array_append_new(dst, json_string(json_string_value(v)));
}

static json_t *process_args(const struct isc_plan *p, json_t *icfg)
{
	json_t *args = json_array();
	json_t *entry = icfg ? json_object_get(icfg, "Entrypoint") : NULL;
	json_t *cmd = icfg ? json_object_get(icfg, "Cmd") : NULL;
	if (json_is_array(entry))
		append_strings(args, entry);
	if (p->cmd != NULL) {
		for (size_t i = 0; p->cmd[i]; i++)
			json_array_append_new(args, json_string(p->cmd[i]));
	} else if (json_is_array(cmd)) {
		append_strings(args, cmd);
	}
	if (json_array_size(args) == 0)
		json_array_append_new(args, json_string("/bin/sh"));
	return args;
}

static int parse_user(const char *s, json_int_t *uid, json_int_t *gid)
{
	uint64_t u, g;
	cleanup_free char *copy = isc_xstrdup(s);
	char *colon = strchr(copy, ':');
	if (colon != NULL)
		*colon = '\0';
	if (isc_parse_u64(copy, &u) < 0 || u > 65535)
		return -1;
	g = u;
	if (colon != NULL && (isc_parse_u64(colon + 1, &g) < 0 || g > 65535))
		return -1;
	*uid = (json_int_t)u;
	*gid = (json_int_t)g;
	return 0;
}

static json_t *caps_json(const struct isc_plan *p)
{
	json_t *set = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(isc_default_caps); i++)
		json_array_append_new(set, json_string(isc_default_caps[i]));
	for (size_t i = 0; p->cap_add && p->cap_add[i]; i++) {
		cleanup_free char *c = cap_canonical(p->cap_add[i]);
		bool have = false;
		size_t k;
		json_t *v;
		json_array_foreach(set, k, v)
			have = have || strcmp(json_string_value(v), c) == 0;
		if (!have)
			json_array_append_new(set, json_string(c));
	}
	json_t *caps = json_pack("{s:O, s:O, s:[], s:O, s:[]}", "bounding", set, "effective", set, "inheritable",
				 "permitted", set, "ambient");
	json_decref(set);
	if (caps == NULL)
		abort(); /* a bug in the format string */
	return caps;
}

static json_t *bind_mount(const char *src, const char *dst, bool ro)
{
	return json_pack("{s:s, s:s, s:s, s:[s, s, s, s, s]}", "destination", dst, "type", "bind", "source", src,
			 "options", "rbind", "nosuid", "nodev", ro ? "ro" : "rw", "rprivate");
}

/* "noexec" added to a mount's options (once). */
static void add_noexec(json_t *mount)
{
	json_t *opts = json_object_get(mount, "options");
	size_t i;
	json_t *v;
	json_array_foreach(opts, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), "noexec") == 0)
			return;
	json_array_append_new(opts, json_string("noexec"));
}

/* Written code does not run (docs/threat-model.md, "written code"): every
 * place a service can write is noexec -- /tmp, /run, /scratch, /dev/shm
 * are already; /dev (a tmpfs the service's root can write) and /persist
 * (unless --persist-exec) are made so here.  Read-write volumes stay as
 * the operator made them. */
static void mounts_noexec(json_t *mounts, bool persist_exec)
{
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m) {
		const char *dst = json_string_value(json_object_get(m, "destination"));
		if (dst != NULL && (strcmp(dst, "/dev") == 0 || (strcmp(dst, "/persist") == 0 && !persist_exec)))
			add_noexec(m);
	}
}

int isc_plan_bundle_config(const struct isc_plan *p, const struct isc_bundle_inputs *in, json_t **out,
			   isc_error **err)
{
	*out = NULL;
	if (in->rootfs == NULL || in->image_id == NULL || in->persist_dir == NULL)
		return isc_error_set(err, EINVAL, "bundle: rootfs, image id and persist folder are required");
	cleanup_free char *text = isc_spec_default_json(false);
	json_error_t jerr;
	json_t *cfg = json_loads(text, 0, &jerr);
	if (cfg == NULL)
		return isc_error_set(err, EINVAL, "bundle: the default spec does not parse: %s", jerr.text);
	json_t *icfg = image_cfg(in->image_config);

	/* process */
	json_t *proc = json_object_get(cfg, "process");
	json_object_set_new(proc, "args", process_args(p, icfg));
	json_t *env = json_array();
	json_array_append_new(env, json_string(DEFAULT_PATH));
	json_t *ienv = icfg ? json_object_get(icfg, "Env") : NULL;
	size_t i;
	json_t *v;
	if (json_is_array(ienv))
		json_array_foreach(ienv, i, v)
			if (json_is_string(v) && strchr(json_string_value(v), '=') != NULL)
				env_set(env, json_string_value(v));
	for (size_t k = 0; p->env && p->env[k]; k++)
		env_set(env, p->env[k]);
	json_object_set_new(proc, "env", env);
	json_t *wd = icfg ? json_object_get(icfg, "WorkingDir") : NULL;
	json_object_set_new(proc, "cwd", json_string(json_is_string(wd) && json_string_value(wd)[0] == '/' ?
							     json_string_value(wd) : "/"));
	json_int_t uid = 0, gid = 0;
	json_t *iuser = icfg ? json_object_get(icfg, "User") : NULL;
	if (p->user != NULL)
		parse_user(p->user, &uid, &gid);
	else if (json_is_string(iuser) && json_string_value(iuser)[0] != '\0' &&
		 parse_user(json_string_value(iuser), &uid, &gid) < 0)
		uid = gid = 0; /* a user name needs /etc/passwd resolution: not supported, stay root */
	/* umask 022, as a login shell or systemd gives a service: never
	 * iscd's own 077 (nginx's logs came out 0600); isc exec sessions
	 * take it from here too */
	json_object_set_new(proc, "user", json_pack("{s:I, s:I, s:i}", "uid", uid, "gid", gid, "umask",
						   ISC_SERVICE_UMASK));
	json_object_set_new(proc, "capabilities", caps_json(p));
	json_object_set_new(proc, "noNewPrivileges", json_true());

	/* root, hostname */
	json_object_set_new(cfg, "root", json_pack("{s:s, s:b}", "path", in->rootfs, "readonly", 1));
	json_object_set_new(cfg, "hostname", json_string(in->hostname ? in->hostname : p->name));

	/* mounts: the defaults (proc, a minimal /dev, ro /sys, small /tmp and
	 * /run), then /persist, the volumes, resolv.conf and hosts */
	json_t *mounts = json_object_get(cfg, "mounts");
	json_array_append_new(mounts, bind_mount(in->persist_dir, "/persist", false));
	for (size_t k = 0; k < p->n_volumes; k++)
		json_array_append_new(mounts, bind_mount(in->volume_sources ? in->volume_sources[k] : p->volumes[k].src,
							 p->volumes[k].dst, p->volumes[k].ro));
	if (in->resolv_conf != NULL)
		json_array_append_new(mounts, bind_mount(in->resolv_conf, "/etc/resolv.conf", true));
	if (in->hosts != NULL)
		json_array_append_new(mounts, bind_mount(in->hosts, "/etc/hosts", true));
	mounts_noexec(mounts, p->persist_exec);

	/* linux */
	json_t *lx = json_object_get(cfg, "linux");
	json_t *ns = json_array();
	static const char *const nss[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", "user" };
	for (size_t k = 0; k < ARRAY_SIZE(nss); k++) {
		if (strcmp(nss[k], "user") == 0 && p->userns_host)
			continue;
		if (strcmp(nss[k], "network") == 0 && in->netns_path != NULL)
			json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "network", "path", in->netns_path));
		else
			json_array_append_new(ns, json_pack("{s:s}", "type", nss[k]));
	}
	json_object_set_new(lx, "namespaces", ns);
	/* vm.memfd_noexec=2 in the service's own pid namespace: every memfd is
	 * created non-executable and sealed so, MFD_EXEC is refused (EACCES),
	 * so a service cannot run code it wrote into a memfd either (fexecve,
	 * execveat AT_EMPTY_PATH).  The value holds for the namespaces below
	 * it; the service cannot lower it (it is not root on the host).
	 * isc-runtime writes it from the host's side (container.c). */
	if (!p->memfd_exec) {
		json_t *sysctl = json_object_get(lx, "sysctl");
		if (!json_is_object(sysctl)) {
			sysctl = json_object();
			json_object_set_new(lx, "sysctl", sysctl);
		}
		json_object_set_new(sysctl, "vm.memfd_noexec", json_string("2"));
	}
	if (p->userns_host) {
		json_object_del(lx, "uidMappings");
		json_object_del(lx, "gidMappings");
	} else {
		json_object_set_new(lx, "uidMappings", json_pack("[{s:i, s:I, s:I}]", "containerID", 0, "hostID",
								  (json_int_t)in->uid_base, "size", (json_int_t)65536));
		json_object_set_new(lx, "gidMappings", json_pack("[{s:i, s:I, s:I}]", "containerID", 0, "hostID",
								  (json_int_t)in->gid_base, "size", (json_int_t)65536));
	}
	json_t *res = json_object();
	if (p->memory)
		json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)p->memory));
	if (p->cpu_quota)
		json_object_set_new(res, "cpu", json_pack("{s:I, s:I}", "quota", (json_int_t)p->cpu_quota, "period",
							  (json_int_t)CPU_PERIOD));
	/* the one limit set without being asked: a fork bomb stops here */
	json_object_set_new(res, "pids", json_pack("{s:I}", "limit",
						   (json_int_t)(p->pids_limit ? p->pids_limit : ISC_PLAN_PIDS_LIMIT)));
	json_object_set_new(lx, "resources", res);
	unsigned char rnd[4] = { 0 };
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		json_decref(cfg);
		return isc_error_set(err, errno, "bundle: getrandom");
	}
	json_object_set_new(lx, "cgroupsPath", json_sprintf("isc-%s-%02x%02x%02x%02x", p->name, rnd[0], rnd[1], rnd[2],
							     rnd[3]));

	/* the ISC features that live in the container's setup */
	json_t *ann = json_object();
	cleanup_free char *scratch = isc_xasprintf("size=%s,path=/scratch",
						   p->scratch_size ? p->scratch_size : DEFAULT_SCRATCH_SIZE);
	json_object_set_new(ann, ISC_SCRATCH_ANNOTATION, json_string(scratch));
	json_object_set_new(ann, ISC_IMAGE_ROOT_ANNOTATION, json_string(in->image_id));
	if (in->image_store != NULL)
		json_object_set_new(ann, "org.isc.image.store", json_string(in->image_store));
	if (in->audit_id != 0)
		json_object_set_new(ann, "org.isc.audit.id", json_sprintf("%u", in->audit_id));
	json_object_set_new(ann, "org.isc.service", json_string(p->name));
	/* Landlock: writes only where the service was given somewhere to
	 * write (defence in depth over the read-only mounts).  TCP bind is not
	 * restricted: a service reached through `isc allow` binds ports that
	 * are not exposed. */
	cleanup_free char *ll = isc_xstrdup("rw=/tmp:/run:/dev:/scratch:/persist");
	for (size_t vi = 0; vi < p->n_volumes; vi++) {
		if (p->volumes[vi].ro || strchr(p->volumes[vi].dst, ':') || strchr(p->volumes[vi].dst, ','))
			continue;
		char *more = isc_xasprintf("%s:%s", ll, p->volumes[vi].dst);
		free(ll);
		ll = more;
	}
	json_object_set_new(ann, ISC_LANDLOCK_ANNOTATION, json_string(ll));
	json_object_set_new(cfg, "annotations", ann);
	*out = cfg;
	return 0;
}
