/* SPDX-License-Identifier: GPL-2.0-or-later
 * org.isc.audit.id: parse the annotation and set the loginuid (audit-id.h). */
#include "audit-id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int isc_audit_id_parse(const char *value, uint32_t *auid, isc_error **err)
{
	uint64_t v;
	if (value == NULL || value[0] < '1' || value[0] > '9' || isc_parse_u64(value, &v) < 0)
		return isc_error_set(err, EINVAL, "org.isc.audit.id \"%s\": not a decimal number",
				     value ? value : "");
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
