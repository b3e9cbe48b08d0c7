/* SPDX-License-Identifier: GPL-2.0-or-later
 * org.isc.audit.id: parse the annotation and set the loginuid; the check of
 * the machine's users against the container range (audit-id.h). */
#include "audit/audit-id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

int isc_audit_id_parse(const char *value, uint32_t *auid, isc_error **err)
{
	uint64_t v;
	if (value == NULL || value[0] < '1' || value[0] > '9' || isc_parse_u64(value, &v) < 0)
		return isc_error_set(err, EINVAL, "org.isc.audit.id \"%s\": not a decimal number", value ? value : "");
	if (v < ISC_AUDIT_ID_MIN || v > ISC_AUDIT_ID_MAX)
		return isc_error_set(err, ERANGE, "org.isc.audit.id %s: outside the container range %u-%u", value,
				     ISC_AUDIT_ID_MIN, ISC_AUDIT_ID_MAX);
	*auid = (uint32_t)v;
	return 0;
}

int isc_audit_set_loginuid(uint32_t auid, isc_error **err)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", auid);
	/* Why this is allowed without privilege: the kernel lets any task set
	 * its loginuid once while it is unset; changing it later needs
	 * CAP_AUDIT_CONTROL, which the caller drops right after. */
	cleanup_close int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return isc_error_set(err, errno, "open /proc/self/loginuid");
	ssize_t w = write(fd, buf, (size_t)n);
	if (w < 0)
		return isc_error_set(err, errno, "set loginuid %u: write /proc/self/loginuid", auid);
	if (w != n)
		return isc_error_set(err, EIO, "set loginuid %u: short write to /proc/self/loginuid", auid);
	return 0;
}

/* ---- the machine's users against the container range ---- */

static bool in_range(uint64_t first, uint64_t last)
{
	return first <= ISC_AUDIT_ID_MAX && last >= ISC_AUDIT_ID_MIN;
}

/* Field `n` (from 0) of a colon-separated line as a number; false when
 * missing or not a number. */
static bool colon_field(const char *line, size_t len, int n, uint64_t *out)
{
	const char *p = line, *end = line + len;
	for (int i = 0; i < n; i++) {
		p = memchr(p, ':', (size_t)(end - p));
		if (p == NULL)
			return false;
		p++;
	}
	const char *q = memchr(p, ':', (size_t)(end - p));
	size_t l = (size_t)((q ? q : end) - p);
	char buf[24];
	if (l == 0 || l >= sizeof(buf))
		return false;
	memcpy(buf, p, l);
	buf[l] = '\0';
	return isc_parse_u64(buf, out) == 0;
}

/* Calls fn for every line (without its newline) until it fails. */
static int each_line(const char *text, int (*fn)(const char *line, size_t len, const char *what, isc_error **err),
		     const char *what, isc_error **err)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 0 && p[0] != '#' && fn(p, len, what, err) < 0)
			return -1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static int passwd_line(const char *line, size_t len, const char *what, isc_error **err)
{
	uint64_t uid;
	if (!colon_field(line, len, 2, &uid) || !in_range(uid, uid))
		return 0;
	size_t nl = strcspn(line, ":");
	return isc_error_set(err, EEXIST,
			     "%s: user %.*s has uid %llu, inside the audit ids of isc's containers (%u-%u): its "
			     "logins would be recorded as a container's; give it a uid below %u",
			     what, (int)(nl < len ? nl : len), line, (unsigned long long)uid, ISC_AUDIT_ID_MIN,
			     ISC_AUDIT_ID_MAX, ISC_AUDIT_ID_MIN);
}

static int subid_line(const char *line, size_t len, const char *what, isc_error **err)
{
	uint64_t start, count;
	if (!colon_field(line, len, 1, &start) || !colon_field(line, len, 2, &count) || count == 0 ||
	    !in_range(start, start + count - 1))
		return 0;
	return isc_error_set(err, EEXIST,
			     "%s: the range \"%.*s\" reaches into the audit ids of isc's containers (%u-%u): make it "
			     "end below %u",
			     what, (int)len, line, ISC_AUDIT_ID_MIN, ISC_AUDIT_ID_MAX, ISC_AUDIT_ID_MIN);
}

static int login_defs_line(const char *line, size_t len, const char *what, isc_error **err)
{
	static const char *const keys[] = { "UID_MAX", "SYS_UID_MAX", "SUB_UID_MAX", "SUB_GID_MAX" };
	size_t sp = strspn(line, " \t");
	const char *k = line + sp;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t kl = strlen(keys[i]);
		if (len < sp + kl + 1 || strncmp(k, keys[i], kl) != 0 || (k[kl] != ' ' && k[kl] != '\t'))
			continue;
		const char *v = k + kl + strspn(k + kl, " \t");
		size_t vl = (size_t)(line + len - v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
			vl--;
		char buf[24];
		uint64_t n;
		if (vl == 0 || vl >= sizeof(buf))
			return 0;
		memcpy(buf, v, vl);
		buf[vl] = '\0';
		if (isc_parse_u64(buf, &n) == 0 && n >= ISC_AUDIT_ID_MIN)
			return isc_error_set(err, EEXIST,
					     "%s: %s is %llu: new users or subordinate ids could get ids inside the "
					     "audit ids of isc's containers (%u-%u); set it below %u",
					     what, keys[i], (unsigned long long)n, ISC_AUDIT_ID_MIN, ISC_AUDIT_ID_MAX,
					     ISC_AUDIT_ID_MIN);
	}
	return 0;
}

int isc_audit_users_check_texts(const char *passwd, const char *login_defs, const char *subuid, const char *subgid,
				isc_error **err)
{
	if (each_line(passwd, passwd_line, "/etc/passwd", err) < 0 ||
	    each_line(login_defs, login_defs_line, "/etc/login.defs", err) < 0 ||
	    each_line(subuid, subid_line, "/etc/subuid", err) < 0 ||
	    each_line(subgid, subid_line, "/etc/subgid", err) < 0)
		return isc_error_wrap(err, "isc init: the machine's users overlap the container audit ids");
	return 0;
}

int isc_audit_users_check(isc_error **err)
{
	static const char *const files[] = { "/etc/passwd", "/etc/login.defs", "/etc/subuid", "/etc/subgid" };
	char *text[4] = { NULL, NULL, NULL, NULL };
	int ret = 0;
	for (size_t i = 0; i < 4 && ret == 0; i++) {
		isc_error *e = NULL;
		if (isc_read_file(files[i], &text[i], NULL, 64u << 20, &e) < 0) {
			if (e->errnum != ENOENT)
				ret = isc_error_set(err, e->errnum,
						    "isc init: read %s (the machine's users are checked "
						    "against the container audit ids)",
						    files[i]);
			isc_error_free(&e);
		}
	}
	if (ret == 0)
		ret = isc_audit_users_check_texts(text[0], text[1], text[2], text[3], err);
	for (size_t i = 0; i < 4; i++)
		free(text[i]);
	return ret;
}

int isc_audit_lock_loginuid(isc_error **err)
{
	char buf[16] = "";
	cleanup_close int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* no audit in this kernel: no loginuid to set */
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return isc_error_set(err, errno, "lock the loginuid: read /proc/self/loginuid");
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	uint64_t v;
	if (isc_parse_u64(buf, &v) < 0)
		return isc_error_set(err, EINVAL, "lock the loginuid: /proc/self/loginuid holds \"%s\"", buf);
	if (v != ISC_AUDIT_ID_UNSET)
		return 0; /* the caller's own, inherited: already locked */
	if (isc_audit_set_loginuid(ISC_AUDIT_ID_NONE, err) < 0)
		return isc_error_wrap(err, "lock the loginuid of a container without %s", ISC_AUDIT_ID_ANNOTATION);
	return 0;
}
