/* SPDX-License-Identifier: GPL-2.0-or-later
 * The ISC host (host.h): `isc init` and `isc deinit` of one state root.
 *
 * init, as a flat list of steps (each idempotent, so that a second init
 * with the same settings repairs what is missing):
 *   1. check the settings and the machine's users against the container
 *      audit ids (nothing exists yet when one is bad)
 *   2. compare with R/host.json when it exists: other settings -> EEXIST
 *   3. the layout of host.h with its modes
 *   4. probe the encrypted-scratch backing store on R/runtime's filesystem
 *   5. R/host.json
 *   6. the network baseline (net.h), then "network": true in host.json
 *   7. registration with the audit collector            (call site)
 *   8. a systemd unit, only where systemd runs and only for ISC_HOST_ROOT
 *   9. iscd, started unless it answers, then waited for
 * A first init that fails after step 3 undoes itself (isc_host_deinit).
 *
 * deinit (host-deinit.c) undoes it.
 *
 * Killed: each records its intent in R/.host-op (host-intent.c) after
 * step 3 and before its first step outside R's folders; the next init or
 * deinit finishes it (same settings) or undoes it (a first init whose
 * settings differ; a deinit, before the init that follows) and says so. */
#include "host/host.h"
#include "host/host-internal.h"

#include "audit/collector.h"
#include "audit/audit-id.h"
#include "audit/trail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/container.h"
#include "iscd/protocol.h"
#include "host/idmap.h"
#include "image/image.h"
#include "net/ipam.h"
#include "net/net.h"
#include "base/util.h"

#define HOST_JSON "host.json"
#define DEFAULT_SSH_PORT 22
#define DEFAULT_CONFIRM_TIMEOUT 60
#define DEFAULT_AUDIT_EPOCH 900
#define DEFAULT_AUDIT_ROTATE (64ull << 20)
#define SYSTEMD_RUN_DIR "/run/systemd/system"
#define MKFS_EXT4 "/sbin/mkfs.ext4"

/* The unit of the real host's iscd (Type=notify: iscd sends READY=1 once
 * its control socket listens).  KillMode=process: stopping iscd must not
 * kill the containers it supervises; the next iscd re-adopts them. */
static const char systemd_unit[] = "# Installed by isc init; removed by isc deinit.\n"
				   "[Unit]\n"
				   "Description=ISC host daemon (immutable service containers)\n"
				   "After=network-online.target\n"
				   "\n"
				   "[Service]\n"
				   "Type=notify\n"
				   "ExecStart=%s --root " ISC_HOST_ROOT " --foreground\n"
				   "KillMode=process\n"
				   "Restart=on-failure\n"
				   "\n"
				   "[Install]\n"
				   "WantedBy=multi-user.target\n";

void isc_host_settings_clear(struct isc_host_settings *s)
{
	free(s->uplink);
	free(s->subnet);
	free(s->iscd_path);
	memset(s, 0, sizeof(*s));
}

char *isc_host_path(const char *root, const char *rel)
{
	return isc_xasprintf("%s/%s", root, rel);
}

/* ---- settings ------------------------------------------------------------ */

int isc_host_settings_check(const struct isc_host_settings *s, isc_error **err)
{
	/* a login with an id in the container range would be filed as a
	 * container (audit-id.h): refused before anything else */
	if (isc_audit_users_check(err) < 0)
		return -1;
	if (s->uplink != NULL) {
		size_t n = strlen(s->uplink);
		if (n == 0 || n >= IFNAMSIZ || strchr(s->uplink, '/') || strchr(s->uplink, ' '))
			return isc_error_set(err, EINVAL, "--uplink \"%s\": not an interface name", s->uplink);
	}
	if (s->subnet != NULL) {
		struct isc_subnet sn;
		if (isc_subnet_parse(s->subnet, &sn, err) < 0)
			return isc_error_wrap(err, "--subnet");
	}
	if (s->ssh_port != 0 && (s->ssh_port < 1 || s->ssh_port > 65535))
		return isc_error_set(err, EINVAL, "--ssh-port %d: must be 1..65535", s->ssh_port);
	if (s->confirm_timeout != 0 && (s->confirm_timeout < 5 || s->confirm_timeout > 3600))
		return isc_error_set(err, EINVAL, "--confirm-timeout %d: must be 5..3600 seconds", s->confirm_timeout);
	if (s->audit_epoch != 0 && (s->audit_epoch < 10 || s->audit_epoch > 86400))
		return isc_error_set(err, EINVAL, "--audit-epoch %d: must be 10..86400 seconds", s->audit_epoch);
	if (s->audit_rotate != 0 && (s->audit_rotate < (1u << 20) || s->audit_rotate > (64ull << 30)))
		return isc_error_set(err, EINVAL, "--audit-rotate %llu: must be 1m..64g",
				     (unsigned long long)s->audit_rotate);
	if (s->audit_keep < 0 || s->audit_keep > 100000)
		return isc_error_set(err, EINVAL, "--audit-keep %d: must be 0..100000", s->audit_keep);
	return 0;
}

/* s with its defaults filled in (a copy the caller clears) */
static void settings_effective(const struct isc_host_settings *s, struct isc_host_settings *out)
{
	out->uplink = isc_xstrdup(s->uplink);
	out->iscd_path = isc_xstrdup(s->iscd_path);
	if (s->subnet) {
		/* canonical form: "10.1.0.0/16" however it was written */
		struct isc_subnet sn;
		char buf[32];
		if (isc_subnet_parse(s->subnet, &sn, NULL) == 0) {
			isc_subnet_format(&sn, buf, sizeof(buf));
			out->subnet = isc_xstrdup(buf);
		} else {
			out->subnet = isc_xstrdup(s->subnet);
		}
	} else {
		out->subnet = isc_xstrdup(ISC_DEFAULT_SUBNET);
	}
	out->ssh_port = s->ssh_port ? s->ssh_port : DEFAULT_SSH_PORT;
	out->confirm = s->confirm;
	out->confirm_timeout = s->confirm_timeout ? s->confirm_timeout : DEFAULT_CONFIRM_TIMEOUT;
	out->audit_epoch = s->audit_epoch ? s->audit_epoch : DEFAULT_AUDIT_EPOCH;
	out->audit_rotate = s->audit_rotate ? s->audit_rotate : DEFAULT_AUDIT_ROTATE;
	out->audit_keep = s->audit_keep;
}

static json_t *settings_to_json(const struct isc_host_settings *s)
{
	char now[ISC_RFC3339_LEN];
	isc_rfc3339_format(now);
	json_t *j = json_pack("{s:o, s:s, s:i, s:b, s:i, s:s, s:s}", "uplink",
			      s->uplink ? json_string(s->uplink) : json_null(), "subnet", s->subnet, "ssh_port",
			      s->ssh_port, "confirm", s->confirm, "confirm_timeout", s->confirm_timeout, "created", now,
			      "version", ISC_VERSION);
	if (j == NULL)
		abort();
	json_object_set_new(j, "audit",
			    json_pack("{s:i, s:I, s:i}", "epoch_seconds", s->audit_epoch, "rotate_bytes",
				      (json_int_t)s->audit_rotate, "keep_files", s->audit_keep));
	return j;
}

static int load_json(const char *root, json_t **out, isc_error **err)
{
	cleanup_free char *path = isc_host_path(root, HOST_JSON);
	cleanup_free char *text = NULL;
	size_t len = 0;
	isc_error *e = NULL;
	if (isc_read_file(path, &text, &len, 1 << 20, &e) < 0) {
		if (e->errnum == ENOENT) {
			isc_error_free(&e);
			return isc_error_set(err, ENOENT, "isc init was not run for %s", root);
		}
		isc_error_move(err, &e);
		return -1;
	}
	json_error_t je;
	json_t *j = json_loadb(text, len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return isc_error_set(err, EINVAL, "%s: not a JSON object (line %d: %s)", path, je.line, je.text);
	}
	*out = j;
	return 0;
}

int isc_host_load(const char *root, struct isc_host_settings *s, isc_error **err)
{
	json_t *j = NULL;
	if (load_json(root, &j, err) < 0)
		return -1;
	const char *uplink = NULL, *subnet = NULL;
	int ssh = 0, confirm = 0, timeout = 0;
	if (json_unpack(j, "{s?s, s:s, s:i, s?b, s?i}", "uplink", &uplink, "subnet", &subnet, "ssh_port", &ssh,
			"confirm", &confirm, "confirm_timeout", &timeout) < 0) {
		json_decref(j);
		return isc_error_set(err, EINVAL, "%s/" HOST_JSON ": missing or mistyped setting", root);
	}
	memset(s, 0, sizeof(*s));
	s->uplink = isc_xstrdup(uplink);
	s->subnet = isc_xstrdup(subnet);
	s->ssh_port = ssh;
	s->confirm = confirm;
	s->confirm_timeout = timeout ? timeout : DEFAULT_CONFIRM_TIMEOUT;
	/* recorded since the audit settings exist; the defaults before */
	json_int_t epoch = 0, rotate = 0, keep = 0;
	(void)json_unpack(json_object_get(j, "audit"), "{s?I, s?I, s?I}", "epoch_seconds", &epoch, "rotate_bytes",
			  &rotate, "keep_files", &keep);
	s->audit_epoch = epoch > 0 ? (int)epoch : DEFAULT_AUDIT_EPOCH;
	s->audit_rotate = rotate > 0 ? (uint64_t)rotate : DEFAULT_AUDIT_ROTATE;
	s->audit_keep = keep > 0 ? (int)keep : 0;
	json_decref(j);
	return 0;
}

/* NULL when a and b are the same settings, else the name of the first that differs */
static const char *settings_diff(const struct isc_host_settings *a, const struct isc_host_settings *b, char *buf,
				 size_t len)
{
	if ((a->uplink == NULL) != (b->uplink == NULL) || (a->uplink && strcmp(a->uplink, b->uplink) != 0)) {
		snprintf(buf, len, "--uplink (recorded: %s, asked: %s)", a->uplink ? a->uplink : "none",
			 b->uplink ? b->uplink : "none");
		return buf;
	}
	if (strcmp(a->subnet, b->subnet) != 0) {
		snprintf(buf, len, "--subnet (recorded: %s, asked: %s)", a->subnet, b->subnet);
		return buf;
	}
	if (a->ssh_port != b->ssh_port) {
		snprintf(buf, len, "--ssh-port (recorded: %d, asked: %d)", a->ssh_port, b->ssh_port);
		return buf;
	}
	if (a->audit_epoch != b->audit_epoch) {
		snprintf(buf, len, "--audit-epoch (recorded: %d, asked: %d)", a->audit_epoch, b->audit_epoch);
		return buf;
	}
	if (a->audit_rotate != b->audit_rotate) {
		snprintf(buf, len, "--audit-rotate (recorded: %llu, asked: %llu)", (unsigned long long)a->audit_rotate,
			 (unsigned long long)b->audit_rotate);
		return buf;
	}
	if (a->audit_keep != b->audit_keep) {
		snprintf(buf, len, "--audit-keep (recorded: %d, asked: %d)", a->audit_keep, b->audit_keep);
		return buf;
	}
	if (a->confirm_timeout != b->confirm_timeout) {
		snprintf(buf, len, "--confirm-timeout (recorded: %d, asked: %d)", a->confirm_timeout,
			 b->confirm_timeout);
		return buf;
	}
	return NULL;
}

static int write_json(const char *root, json_t *j, isc_error **err)
{
	cleanup_free char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL)
		abort();
	cleanup_free char *withnl = isc_xasprintf("%s\n", text);
	cleanup_close int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open %s", root);
	if (isc_write_file_durable(dfd, HOST_JSON, withnl, strlen(withnl), 0600, err) < 0)
		return isc_error_wrap(err, "%s", root);
	return 0;
}

bool isc_host_network_made(const char *root)
{
	json_t *j = NULL;
	bool made = load_json(root, &j, NULL) == 0 && json_is_true(json_object_get(j, "network"));
	json_decref(j);
	return made;
}

/* ---- layout ---------------------------------------------------------------- */

static const struct {
	const char *rel;
	mode_t mode;
} layout[] = {
	/* 0711: the user namespaces of containers must traverse R and
	 * R/containers to reach their rootfs mount; they can list neither. */
	{ "", 0711 }, { "containers", 0711 }, { "runtime", 0700 }, { "log", 0700 }, { "net", 0700 }, { "audit", 0700 },
};

static int make_dir(const char *path, mode_t mode, isc_error **err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return isc_error_set(err, errno, "mkdir %s", path);
	struct stat st;
	if (lstat(path, &st) < 0)
		return isc_error_set(err, errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return isc_error_set(err, ENOTDIR, "%s exists and is not a directory", path);
	if (st.st_uid != 0 && geteuid() == 0)
		return isc_error_set(err, EPERM, "%s is owned by uid %u, not root", path, (unsigned)st.st_uid);
	/* the mode, whatever the umask or an earlier hand did */
	if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		return isc_error_set(err, errno, "chmod %o %s", (unsigned)mode, path);
	return 0;
}

static int make_layout(const char *root, isc_error **err)
{
	/* missing parents traversable too (ISC_HOST_ROOT/labs for a lab) */
	cleanup_free char *parent = isc_xstrdup(root);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		struct stat st;
		if (stat(parent, &st) < 0 && isc_mkdir_p(parent, 0711, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(layout); i++) {
		cleanup_free char *p = layout[i].rel[0] ? isc_host_path(root, layout[i].rel) : isc_xstrdup(root);
		if (make_dir(p, layout[i].mode, err) < 0)
			return -1;
	}
	/* R/images and its subdirectories, 0700 (image.h) */
	cleanup_close int store = isc_image_store_open(root, true, err);
	if (store < 0)
		return -1;
	return 0;
}

/* The encrypted scratch (scratch.h) puts one unnamed ext4 image per
 * container in its runtime state directory (O_TMPFILE), formats it with
 * mkfs.ext4 -O encrypt and attaches it to a loop device.  Check every
 * piece now rather than at the first `isc run`. */
static int scratch_probe(const char *root, isc_error **err)
{
	cleanup_free char *dir = isc_host_path(root, "runtime");
	cleanup_close int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return isc_error_set(err, errno,
				     "encrypted scratch: the filesystem of %s cannot hold unnamed images (O_TMPFILE)",
				     dir);
	if (ftruncate(fd, 1 << 20) < 0)
		return isc_error_set(err, errno, "encrypted scratch: a 1 MiB image in %s", dir);
	int r = posix_fallocate(fd, 0, 1 << 20);
	if (r != 0 && r != EOPNOTSUPP && r != EINVAL)
		return isc_error_set(err, r, "encrypted scratch: allocate 1 MiB in %s", dir);
	if (access(MKFS_EXT4, X_OK) < 0)
		return isc_error_set(err, errno, "encrypted scratch: " MKFS_EXT4 " (install e2fsprogs)");
	cleanup_close int loop = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (loop < 0)
		return isc_error_set(err, errno, "encrypted scratch: /dev/loop-control (the loop driver)");
	if (access("/sys/fs/ext4/features/encryption", F_OK) < 0)
		return isc_error_set(err, errno,
				     "encrypted scratch: the kernel's ext4 has no encryption (no "
				     "/sys/fs/ext4/features/encryption)");
	return 0;
}

/* ---- init ------------------------------------------------------------------ */

static int install_unit(const char *root, const struct isc_host_settings *s, isc_error **err)
{
	char real[PATH_MAX];
	if (access(SYSTEMD_RUN_DIR, F_OK) < 0 || realpath(root, real) == NULL || strcmp(real, ISC_HOST_ROOT) != 0)
		return 0; /* no systemd, or a lab / test root: iscd runs without a unit */
	cleanup_free char *iscd = isc_host_iscd_find(s);
	if (iscd == NULL)
		return isc_error_set(err, ENOENT, "iscd: not found (for the systemd unit)");
	cleanup_free char *text = isc_xasprintf(systemd_unit, iscd);
	cleanup_close int dfd = open("/etc/systemd/system", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return isc_error_set(err, errno, "open /etc/systemd/system");
	if (isc_write_file_atomic(dfd, "iscd.service", text, strlen(text), 0644, err) < 0)
		return isc_error_wrap(err, "install the systemd unit");
	return 0;
}

static int init_steps(const char *root, const struct isc_host_settings *eff, bool fresh, char **verify_key,
		      isc_error **err)
{
	if (make_layout(root, err) < 0)
		return isc_error_wrap(err, "isc init %s: layout", root);
	if (isc_host_intent_write(root, fresh ? ISC_HOST_OP_INIT_FRESH : ISC_HOST_OP_INIT, err) < 0)
		return isc_error_wrap(err, "isc init");
	isc_host_test_point("init:layout");
	if (scratch_probe(root, err) < 0)
		return isc_error_wrap(err, "isc init %s", root);

	json_t *j = NULL;
	if (load_json(root, &j, NULL) < 0) {
		j = settings_to_json(eff);
		if (write_json(root, j, err) < 0) {
			json_decref(j);
			return -1;
		}
	}
	struct isc_net_host_cfg cfg = {
		.uplink = eff->uplink,
		.subnet = eff->subnet,
		.ssh_port = eff->ssh_port,
		.confirm = eff->confirm,
		.confirm_timeout = eff->confirm_timeout,
	};
	if (isc_net_host_up(root, &cfg, err) < 0) {
		json_decref(j);
		return isc_error_wrap(err, "isc init %s: network", root);
	}
	isc_host_test_point("init:network");
	/* iscd sets up container networking only once the baseline is up */
	if (!json_is_true(json_object_get(j, "network"))) {
		json_object_set_new(j, "network", json_true());
		if (write_json(root, j, err) < 0) {
			json_decref(j);
			return -1;
		}
	}
	json_decref(j);

	/* The audit trail: one collector per machine (started when none runs;
	 * it holds the kernel's audit daemon role), this root registered with
	 * it (an audit-id range, R/audit/); registered before iscd starts, so
	 * that every service gets an audit identity. */
	if (isc_audit_collector_start(NULL, err) < 0)
		return isc_error_wrap(err, "isc init %s: the audit collector", root);
	struct isc_trail_options topt = { .epoch_seconds = (uint32_t)eff->audit_epoch,
					  .rotate_bytes = eff->audit_rotate,
					  .keep_files = (uint32_t)eff->audit_keep };
	if (isc_audit_host_register(root, &topt, verify_key, err) < 0)
		return isc_error_wrap(err, "isc init %s: register with the audit collector", root);
	isc_host_test_point("init:audit");

	if (install_unit(root, eff, err) < 0)
		return -1;
	if (isc_host_iscd_start(root, eff, err) < 0)
		return isc_error_wrap(err, "isc init %s", root);
	isc_host_test_point("init:iscd");
	return 0;
}

/* A killed init or deinit of root (its intent): a deinit is finished, a
 * first init with other settings undone (both before this init, which is
 * then a first one: *fresh); any other init is finished by this one. */
static int resume(const char *root, const struct isc_host_settings *eff, bool *fresh, isc_error **err)
{
	enum isc_host_op op = isc_host_intent_read(root);
	bool undo = op == ISC_HOST_OP_DEINIT;
	struct isc_host_settings old = { 0 };
	if (op == ISC_HOST_OP_INIT_FRESH && isc_host_load(root, &old, NULL) == 0) {
		char buf[256];
		undo = settings_diff(&old, eff, buf, sizeof(buf)) != NULL;
		isc_host_settings_clear(&old);
	}
	isc_host_intent_say(root, "isc init", op, undo && op != ISC_HOST_OP_DEINIT);
	*fresh = op == ISC_HOST_OP_INIT_FRESH || undo;
	if (undo && isc_host_deinit_steps(root, err) < 0)
		return isc_error_wrap(err, "isc init");
	return 0;
}

int isc_host_init(const char *root, const struct isc_host_settings *s, char **verify_key, isc_error **err)
{
	*verify_key = NULL;
	if (root == NULL || root[0] != '/')
		return isc_error_set(err, EINVAL, "isc init: the state root \"%s\" is not an absolute path",
				     root ? root : "");
	if (isc_host_settings_check(s, err) < 0)
		return -1;
	struct isc_host_settings eff = { 0 };
	settings_effective(s, &eff);
	if (eff.uplink && if_nametoindex(eff.uplink) == 0) {
		int r = isc_error_set(err, ENODEV, "--uplink %s: no such interface", eff.uplink);
		isc_host_settings_clear(&eff);
		return r;
	}

	struct isc_host_settings old = { 0 };
	isc_error *lerr = NULL;
	bool fresh = false;
	if (resume(root, &eff, &fresh, err) < 0) {
		isc_host_settings_clear(&eff);
		return -1;
	}
	if (isc_host_load(root, &old, &lerr) < 0) {
		if (lerr->errnum != ENOENT) {
			isc_error_move(err, &lerr);
			isc_host_settings_clear(&eff);
			return isc_error_wrap(err, "isc init");
		}
		isc_error_free(&lerr);
		struct stat st;
		fresh = fresh || stat(root, &st) < 0;
	} else {
		char buf[256];
		const char *diff = settings_diff(&old, &eff, buf, sizeof(buf));
		if (diff) {
			int r = isc_error_set(err, EEXIST,
					      "isc init: %s is already an ISC host with other settings: %s; nothing "
					      "changed (isc deinit first to change it)",
					      root, diff);
			isc_host_settings_clear(&old);
			isc_host_settings_clear(&eff);
			return r;
		}
		isc_host_settings_clear(&old);
	}

	int r = init_steps(root, &eff, fresh, verify_key, err);
	isc_host_settings_clear(&eff);
	if (r < 0 && fresh) {
		/* a first init leaves nothing behind */
		cleanup_error isc_error *derr = NULL;
		(void)isc_host_deinit_steps(root, &derr);
		return r;
	}
	/* done, or a repair that failed (the next init repairs again) */
	cleanup_error isc_error *cerr = NULL;
	if (isc_host_intent_clear(root, &cerr) < 0 && r == 0) {
		isc_error_move(err, &cerr);
		return isc_error_wrap(err, "isc init");
	}
	return r;
}
