/* SPDX-License-Identifier: GPL-2.0-or-later
 * `isc run`: flags (plan-args.c) -> a validated plan (struct isc_plan) ->
 * JSON (plan-json.c: what iscd keeps as service.json) -> the bundle's
 * config.json with the ISC defaults (bundle.c, docs/defaults.md).  Every
 * value is checked before anything is created; errors name the flag (or
 * the JSON key).  Here: the plan's values one by one, the checks of the
 * whole plan, and the check of the volume targets against the image.
 */
#include "plan/plan.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "image/image.h"
#include "kernel/caps.h"
#include "kernel/landlock.h"
#include "kernel/rootfs.h"
#include "kernel/scratch.h"
#include "plan/plan-internal.h"
#include "spec/spec.h"

static const struct {
	const char *name;
	enum isc_restart value;
} restart_names[] = {
	{ "no", ISC_RESTART_NO },
	{ "on-failure", ISC_RESTART_ON_FAILURE },
	{ "always", ISC_RESTART_ALWAYS },
};

const char *isc_plan_restart_name(enum isc_restart r)
{
	for (size_t i = 0; i < ARRAY_SIZE(restart_names); i++)
		if (restart_names[i].value == r)
			return restart_names[i].name;
	return "on-failure";
}

int isc_plan_restart_parse(const char *s, enum isc_restart *out, isc_error **err)
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
	isc_strvfree(p->tmpfs);
	free(p->workdir);
	isc_strvfree(p->entrypoint);
	free(p->hostname);
	memset(p, 0, sizeof(*p));
	p->restart = ISC_RESTART_ON_FAILURE;
}

void isc_plan_strv_push(char ***v, const char *s)
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
			return isc_error_set(err, EINVAL,
					     "--name: \"%s\": only letters, digits, '_', '.' and '-' are allowed", s);
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
		case 'k':
			mult = 1ULL << 10;
			break;
		case 'm':
			mult = 1ULL << 20;
			break;
		case 'g':
			mult = 1ULL << 30;
			break;
		case 't':
			mult = 1ULL << 40;
			break;
		default:
			break;
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

int isc_plan_check_abs_path(const char *flag, const char *what, const char *p, isc_error **err)
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

/* A -v or --tmpfs destination: absolute, no . or .., not /, and not in a
 * place ISC mounts itself (flag names the flag in the message). */
int isc_plan_check_dst(const char *flag, const char *dst, isc_error **err)
{
	if (isc_plan_check_abs_path(flag, "destination", dst, err) < 0)
		return -1;
	static const char *const reserved[] = { "/proc", "/sys", "/dev", "/persist", "/scratch" };
	if (strspn(dst, "/") == strlen(dst))
		return isc_error_set(err, EINVAL, "%s: destination may not be /", flag);
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (path_under(dst, reserved[i]))
			return isc_error_set(err, EINVAL, "%s: destination %s is reserved (%s)", flag, dst,
					     reserved[i]);
	return 0;
}

int isc_plan_check_volume_dst(const char *dst, isc_error **err)
{
	return isc_plan_check_dst("-v", dst, err);
}

/* PATH[:size=N,mode=M]: N as --memory takes it (64m, 1g), M octal up to
 * 07777.  Refused: an unknown or repeated option, a size outside
 * 4k..1024g. */
int isc_plan_parse_tmpfs(const char *s, struct isc_tmpfs *out, isc_error **err)
{
	*out = (struct isc_tmpfs){ .mode = -1 };
	cleanup_free char *copy = isc_xstrdup(s);
	char *opts = strchr(copy, ':');
	if (opts != NULL)
		*opts++ = '\0';
	if (isc_plan_check_dst("--tmpfs", copy, err) < 0)
		return -1;
	bool have_size = false;
	for (char *save = NULL, *o = opts ? strtok_r(opts, ",", &save) : NULL; o; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "size=", 5) == 0 && !have_size) {
			if (isc_plan_parse_size(o + 5, &out->size, err) < 0)
				return isc_error_wrap(err, "--tmpfs %s", s);
			if (out->size < 4096 || out->size > (1024ULL << 30))
				return isc_error_set(err, EINVAL, "--tmpfs %s: size %s is outside 4k..1024g", s, o + 5);
			have_size = true;
		} else if (strncmp(o, "mode=", 5) == 0 && out->mode < 0) {
			char *end = NULL;
			errno = 0;
			long m = strtol(o + 5, &end, 8);
			if (errno != 0 || end == o + 5 || *end != '\0' || m < 0 || m > 07777)
				return isc_error_set(err, EINVAL, "--tmpfs %s: mode \"%s\" is not octal 0..7777", s,
						     o + 5);
			out->mode = (int)m;
		} else {
			return isc_error_set(err, EINVAL, "--tmpfs %s: \"%s\" is not size=N or mode=M (each once)", s,
					     o);
		}
	}
	out->dst = isc_xstrdup(copy);
	return 0;
}

/* Where `dst` leads inside the image at `rootfd`, as the runtime will
 * resolve it (isc_rootfs_resolve: the same code).  The image store is
 * immutable, so what this reads is what the runtime will meet. */
static char *resolve_in_image(int rootfd, const char *dst)
{
	return isc_rootfs_resolve(rootfd, dst);
}

/* -w: a directory of the image, or in a place a mount gives (the
 * defaults', a -v's, a --tmpfs's): the root is read-only, nothing can
 * make it (podman would).  Checked here, at `isc run`, the message naming
 * -w: the runtime's own failure at the start would race its other steps. */
static int check_workdir_target(const struct isc_plan *p, int rootfd, isc_error **err)
{
	cleanup_free char *to = resolve_in_image(rootfd, p->workdir);
	if (to == NULL)
		return isc_error_set(err, errno, "-w %s: resolving it in the image", p->workdir);
	static const char *const mounted[] = { "/proc", "/sys", "/dev", "/persist", "/scratch", "/tmp", "/run" };
	for (size_t i = 0; i < ARRAY_SIZE(mounted); i++)
		if (path_under(to, mounted[i]))
			return 0;
	for (size_t i = 0; i < p->n_volumes; i++)
		if (path_under(to, p->volumes[i].dst))
			return 0;
	for (size_t i = 0; p->tmpfs && p->tmpfs[i]; i++) {
		struct isc_tmpfs t;
		if (isc_plan_parse_tmpfs(p->tmpfs[i], &t, err) < 0)
			return -1;
		bool under = path_under(to, t.dst);
		free(t.dst);
		if (under)
			return 0;
	}
	/* `to` has no symbolic link on its existing part */
	cleanup_close int fd = openat(rootfd, to[1] ? to + 1 : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, 0,
				     "-w %s: not a directory in the image (its root is read-only: give the directory "
				     "with -v or --tmpfs)",
				     p->workdir);
	return 0;
}

int isc_plan_check_volume_targets(const struct isc_plan *p, int rootfd, isc_error **err)
{
	if (p->workdir != NULL && check_workdir_target(p, rootfd, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_volumes; i++) {
		const struct isc_volume *v = &p->volumes[i];
		cleanup_free char *to = resolve_in_image(rootfd, v->dst);
		if (to == NULL)
			return isc_error_set(err, errno, "-v %s:%s: resolving %s in the image", v->src, v->dst, v->dst);
		cleanup_error isc_error *why = NULL;
		if (isc_plan_check_volume_dst(to, &why) < 0)
			return isc_error_set(err, 0, "-v %s:%s: %s resolves to %s in the image, which is reserved",
					     v->src, v->dst, v->dst, to);
	}
	for (size_t i = 0; p->tmpfs && p->tmpfs[i]; i++) {
		struct isc_tmpfs t;
		if (isc_plan_parse_tmpfs(p->tmpfs[i], &t, err) < 0)
			return -1;
		cleanup_free char *dst = t.dst;
		cleanup_free char *to = resolve_in_image(rootfd, dst);
		if (to == NULL)
			return isc_error_set(err, errno, "--tmpfs %s: resolving %s in the image", p->tmpfs[i], dst);
		cleanup_error isc_error *why = NULL;
		if (isc_plan_check_dst("--tmpfs", to, &why) < 0)
			return isc_error_set(err, 0, "--tmpfs %s: %s resolves to %s in the image, which is reserved",
					     p->tmpfs[i], dst, to);
	}
	return 0;
}

/* SRC:DST[:ro|:rw]; the source must exist without a symbolic link on its
 * way (checked by the side that can see the host: parse_args, and iscd at
 * `isc run` and every start, volume.h). */
int isc_plan_parse_volume(const char *s, struct isc_volume *v, isc_error **err)
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
	if (isc_plan_check_abs_path("-v", "source", copy, err) < 0 || isc_plan_check_volume_dst(dst, err) < 0)
		return -1;
	v->src = isc_xstrdup(copy);
	v->dst = isc_xstrdup(dst);
	v->ro = ro;
	return 0;
}

int isc_plan_check_env(const char *s, isc_error **err)
{
	const char *eq = strchr(s, '=');
	if (eq == NULL || eq == s)
		return isc_error_set(err, EINVAL, "-e: \"%s\" is not KEY=VALUE", s);
	return 0;
}

/* A number 0-65535, or a name (resolved by iscd in the image). */
static bool user_part_ok(const char *s)
{
	uint64_t v;
	if (s[0] >= '0' && s[0] <= '9')
		return isc_parse_u64(s, &v) == 0 && v <= 65535;
	return isc_plan_check_user_name(s) == 0;
}

int isc_plan_check_user(const char *s, isc_error **err)
{
	cleanup_free char *copy = isc_xstrdup(s);
	char *colon = strchr(copy, ':');
	if (colon != NULL)
		*colon++ = '\0';
	if (!user_part_ok(copy) || (colon != NULL && !user_part_ok(colon)))
		return isc_error_set(err, EINVAL, "--user: \"%s\" is not USER[:GROUP] (names, or numbers 0-65535)", s);
	return 0;
}

int isc_plan_check_cap(const char *s, isc_error **err)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s%s", strncasecmp(s, "CAP_", 4) == 0 ? "" : "CAP_", s);
	for (char *c = buf; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (strlen(s) > 40 || isc_cap_from_name(buf) < 0)
		return isc_error_set(err, EINVAL, "--cap-add: unknown capability \"%s\"", s);
	return 0;
}

char *isc_plan_cap_canonical(const char *s)
{
	char *c = isc_xasprintf("%s%s", strncasecmp(s, "CAP_", 4) == 0 ? "" : "CAP_", s);
	for (char *p = c; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return c;
}

int isc_plan_check_scratch_size(const char *s, isc_error **err)
{
	uint64_t v;
	if (isc_plan_parse_size(s, &v, err) < 0)
		return isc_error_wrap(err, "--scratch-size");
	if (v < ISC_SCRATCH_MIN_SIZE || v > ISC_SCRATCH_MAX_SIZE)
		return isc_error_set(err, EINVAL, "--scratch-size: %s is outside 1m..1024g", s);
	return 0;
}

int isc_plan_parse_cpus(const char *s, uint64_t *quota, isc_error **err)
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

/* The UTS namespace's name: RFC 1123 labels (letters, digits, '-', not
 * at a label's ends) joined by dots, at most 64 bytes (the kernel's). */
int isc_plan_check_hostname(const char *s, isc_error **err)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return isc_error_set(err, EINVAL, "--hostname: \"%s\" must be 1 to 64 characters", s);
	for (const char *l = s; *l;) {
		size_t len = strcspn(l, ".");
		if (len == 0 || len > 63 || l[0] == '-' || l[len - 1] == '-')
			return isc_error_set(err, EINVAL,
					     "--hostname: \"%s\" is not a host name (labels of 1 to 63 letters, digits "
					     "or '-', not starting or ending with '-', joined by '.')",
					     s);
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)l[i]) && l[i] != '-')
				return isc_error_set(
					err, EINVAL,
					"--hostname: \"%s\": only letters, digits, '-' and '.' are allowed", s);
		l += len;
		if (*l == '.' && *++l == '\0')
			return isc_error_set(err, EINVAL, "--hostname: \"%s\" ends with '.'", s);
	}
	return 0;
}

int isc_plan_parse_entrypoint(const char *s, char ***out, isc_error **err)
{
	*out = isc_xmalloc0(sizeof(char *));
	if (s[0] != '[') {
		if (s[0] != '\0')
			isc_plan_strv_push(out, s);
		return 0;
	}
	json_error_t jerr;
	json_t *a = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
	size_t i;
	json_t *v;
	bool ok = json_is_array(a) && json_array_size(a) <= MAX_LIST;
	if (ok)
		json_array_foreach(a, i, v) {
			if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
				ok = false;
				break;
			}
			isc_plan_strv_push(out, json_string_value(v));
		}
	json_decref(a);
	if (!ok) {
		isc_strvfree(*out);
		*out = NULL;
		return isc_error_set(err, EINVAL, "--entrypoint: \"%s\" is not a JSON array of strings", s);
	}
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

/* -w: absolute, no . or .., no control character */
static int check_workdir(const char *w, isc_error **err)
{
	if (!utf8_ok(w))
		return isc_error_set(err, EILSEQ, "-w: the directory is not valid UTF-8");
	if (strlen(w) >= PATH_MAX)
		return isc_error_set(err, ENAMETOOLONG, "-w: the directory is longer than %d bytes", PATH_MAX - 1);
	return isc_plan_check_abs_path("-w", "directory", w, err);
}

/* every --tmpfs parses; no destination twice, nor one a -v also has */
static int check_tmpfs(const struct isc_plan *p, isc_error **err)
{
	if (check_strv_utf8("--tmpfs", p->tmpfs, err) < 0)
		return -1;
	for (size_t i = 0; p->tmpfs && p->tmpfs[i]; i++) {
		struct isc_tmpfs t;
		if (isc_plan_parse_tmpfs(p->tmpfs[i], &t, err) < 0)
			return -1;
		cleanup_free char *dst = t.dst;
		for (size_t k = 0; k < p->n_volumes; k++)
			if ((path_under(dst, p->volumes[k].dst) && path_under(p->volumes[k].dst, dst)))
				return isc_error_set(err, EINVAL, "--tmpfs %s: -v also mounts %s", p->tmpfs[i], dst);
		for (size_t k = 0; k < i; k++) {
			struct isc_tmpfs o;
			if (isc_plan_parse_tmpfs(p->tmpfs[k], &o, err) < 0)
				return -1;
			bool same = path_under(dst, o.dst) && path_under(o.dst, dst);
			free(o.dst);
			if (same)
				return isc_error_set(err, EINVAL, "--tmpfs: destination %s given twice", dst);
		}
	}
	return 0;
}

/* Checks every field of a plan that does not need the host. */
int isc_plan_check(const struct isc_plan *p, isc_error **err)
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
		if (isc_plan_check_env(p->env[i], err) < 0)
			return -1;
	if (p->user != NULL && isc_plan_check_user(p->user, err) < 0)
		return -1;
	for (size_t i = 0; p->cap_add && p->cap_add[i]; i++)
		if (isc_plan_check_cap(p->cap_add[i], err) < 0)
			return -1;
	if (p->scratch_size != NULL && isc_plan_check_scratch_size(p->scratch_size, err) < 0)
		return -1;
	if (p->pids_limit < 0)
		return isc_error_set(err, EINVAL, "--pids-limit: must be positive");
	if (p->workdir != NULL && check_workdir(p->workdir, err) < 0)
		return -1;
	if (check_strv_utf8("--entrypoint", p->entrypoint, err) < 0)
		return -1;
	if (isc_strvlen(p->entrypoint) > MAX_LIST)
		return isc_error_set(err, E2BIG, "--entrypoint: more than %d words", MAX_LIST);
	if (p->hostname != NULL && isc_plan_check_hostname(p->hostname, err) < 0)
		return -1;
	if (p->rm && p->restart != ISC_RESTART_NO)
		return isc_error_set(err, EINVAL,
				     "--rm: conflicts with --restart %s (an --rm service is never restarted)",
				     isc_plan_restart_name(p->restart));
	if (p->memory != 0 && p->memory < (4ULL << 20))
		return isc_error_set(err, EINVAL, "--memory: at least 4m");
	if (p->cpu_quota > MAX_CPUS * CPU_PERIOD)
		return isc_error_set(err, EINVAL, "--cpus: at most %d", MAX_CPUS);
	for (size_t i = 0; i < p->n_ports; i++)
		for (size_t j = 0; j < i; j++)
			if (p->ports[i].host_port == p->ports[j].host_port && p->ports[i].proto == p->ports[j].proto)
				return isc_error_set(err, EINVAL, "--expose: host port %u/%s given twice",
						     p->ports[i].host_port,
						     p->ports[i].proto == IPPROTO_UDP ? "udp" : "tcp");
	for (size_t i = 0; i < p->n_volumes; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->volumes[i].dst, p->volumes[j].dst) == 0)
				return isc_error_set(err, EINVAL, "-v: destination %s given twice", p->volumes[i].dst);
	if (p->n_ports > MAX_LIST || p->n_volumes > MAX_LIST || isc_strvlen(p->env) > MAX_LIST ||
	    isc_strvlen(p->cap_add) > MAX_LIST || isc_strvlen(p->tmpfs) > MAX_LIST)
		return isc_error_set(err, E2BIG, "too many --expose, -v, -e, --cap-add or --tmpfs (at most %d each)",
				     MAX_LIST);
	return check_tmpfs(p, err);
}
