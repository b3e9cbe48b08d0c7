/* SPDX-License-Identifier: GPL-2.0-or-later
 * Mount options of config.json ("nosuid", "rbind", "size=64k", ...) split
 * into the parts the kernel wants: MS_* flags to set or clear, propagation,
 * bind/rbind, the isc extensions (tmpcopyup, rro), and the filesystem data
 * string.  Pure parsing: no system calls. */
#include "spec/spec.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "base/util.h"

enum mountopt_kind {
	OPT_SET,	 /* flags |= flag */
	OPT_CLEAR,	 /* flags &= ~flag, remembered in clear_flags */
	OPT_PROPAGATION, /* propagation = flag */
	OPT_BIND,
	OPT_RBIND,
	OPT_TMPCOPYUP,
	OPT_RRO,
	OPT_IGNORED,  /* accepted, no effect */
	OPT_REJECTED, /* known but not supported: fail rather than ignore */
};

struct mountopt {
	const char *name;
	enum mountopt_kind kind;
	unsigned long flag;
};

static const struct mountopt mountopt_table[] = {
	{ "defaults", OPT_IGNORED, 0 },
	{ "ro", OPT_SET, MS_RDONLY },
	{ "rw", OPT_CLEAR, MS_RDONLY },
	{ "nosuid", OPT_SET, MS_NOSUID },
	{ "suid", OPT_CLEAR, MS_NOSUID },
	{ "nodev", OPT_SET, MS_NODEV },
	{ "dev", OPT_CLEAR, MS_NODEV },
	{ "noexec", OPT_SET, MS_NOEXEC },
	{ "exec", OPT_CLEAR, MS_NOEXEC },
	{ "sync", OPT_SET, MS_SYNCHRONOUS },
	{ "async", OPT_CLEAR, MS_SYNCHRONOUS },
	{ "dirsync", OPT_SET, MS_DIRSYNC },
	{ "remount", OPT_SET, MS_REMOUNT },
	{ "mand", OPT_SET, MS_MANDLOCK },
	{ "nomand", OPT_CLEAR, MS_MANDLOCK },
	{ "noatime", OPT_SET, MS_NOATIME },
	{ "atime", OPT_CLEAR, MS_NOATIME },
	{ "nodiratime", OPT_SET, MS_NODIRATIME },
	{ "diratime", OPT_CLEAR, MS_NODIRATIME },
	{ "relatime", OPT_SET, MS_RELATIME },
	{ "norelatime", OPT_CLEAR, MS_RELATIME },
	{ "strictatime", OPT_SET, MS_STRICTATIME },
	{ "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
	{ "nosymfollow", OPT_SET, MS_NOSYMFOLLOW },
	{ "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
	{ "lazytime", OPT_SET, MS_LAZYTIME },
	{ "nolazytime", OPT_CLEAR, MS_LAZYTIME },
	{ "iversion", OPT_SET, MS_I_VERSION },
	{ "noiversion", OPT_CLEAR, MS_I_VERSION },
	{ "silent", OPT_SET, MS_SILENT },
	{ "loud", OPT_CLEAR, MS_SILENT },
	{ "bind", OPT_BIND, 0 },
	{ "rbind", OPT_RBIND, 0 },
	{ "private", OPT_PROPAGATION, MS_PRIVATE },
	{ "rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC },
	{ "shared", OPT_PROPAGATION, MS_SHARED },
	{ "rshared", OPT_PROPAGATION, MS_SHARED | MS_REC },
	{ "slave", OPT_PROPAGATION, MS_SLAVE },
	{ "rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC },
	{ "unbindable", OPT_PROPAGATION, MS_UNBINDABLE },
	{ "runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC },
	{ "tmpcopyup", OPT_TMPCOPYUP, 0 },
	{ "rro", OPT_RRO, 0 },
	{ "idmap", OPT_IGNORED, 0 },
	{ "ridmap", OPT_IGNORED, 0 },
	/* Recursive attributes other than rro (mount_setattr) are not
	 * implemented.  On a bind mount the kernel ignores unknown data, so
	 * passing them through would silently drop e.g. "rnosuid". */
	{ "rrw", OPT_REJECTED, 0 },
	{ "rnosuid", OPT_REJECTED, 0 },
	{ "rsuid", OPT_REJECTED, 0 },
	{ "rnodev", OPT_REJECTED, 0 },
	{ "rdev", OPT_REJECTED, 0 },
	{ "rnoexec", OPT_REJECTED, 0 },
	{ "rexec", OPT_REJECTED, 0 },
	{ "rnodiratime", OPT_REJECTED, 0 },
	{ "rdiratime", OPT_REJECTED, 0 },
	{ "rrelatime", OPT_REJECTED, 0 },
	{ "rnorelatime", OPT_REJECTED, 0 },
	{ "rnoatime", OPT_REJECTED, 0 },
	{ "ratime", OPT_REJECTED, 0 },
	{ "rstrictatime", OPT_REJECTED, 0 },
	{ "rnostrictatime", OPT_REJECTED, 0 },
	{ "rnosymfollow", OPT_REJECTED, 0 },
	{ "rsymfollow", OPT_REJECTED, 0 },
};

static const struct mountopt *mountopt_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mountopt_table); i++)
		if (strcmp(mountopt_table[i].name, name) == 0)
			return &mountopt_table[i];
	return NULL;
}

int isc_mount_parse_options(char **options, struct isc_mount *m, isc_error **err)
{
	size_t datalen = 0;

	/* first pass: flags, and the size of the data string */
	for (size_t i = 0; options != NULL && options[i] != NULL; i++) {
		const char *o = options[i];
		if (o[0] == '\0')
			return isc_error_set(err, 0, "option %zu: empty mount option", i);
		if (strchr(o, ',') != NULL)
			return isc_error_set(err, 0, "option \"%s\": must not contain ','", o);

		const struct mountopt *mo = mountopt_lookup(o);
		if (mo == NULL) {
			datalen += strlen(o) + 1;
			continue;
		}
		switch (mo->kind) {
		case OPT_SET:
			m->flags |= mo->flag;
			m->clear_flags &= ~mo->flag;
			break;
		case OPT_CLEAR:
			m->flags &= ~mo->flag;
			m->clear_flags |= mo->flag;
			break;
		case OPT_PROPAGATION:
			m->propagation = mo->flag;
			break;
		case OPT_RBIND:
			m->recursive = true;
			m->bind = true;
			break;
		case OPT_BIND:
			m->bind = true;
			break;
		case OPT_TMPCOPYUP:
			m->tmpcopyup = true;
			break;
		case OPT_RRO:
			m->rro = true;
			break;
		case OPT_IGNORED:
			break;
		case OPT_REJECTED:
			return isc_error_set(err, 0, "option \"%s\": recursive mount attribute not supported", o);
		}
	}

	/* second pass: everything that is not a flag is filesystem data */
	free(m->data);
	m->data = NULL;
	if (datalen == 0)
		return 0;
	char *data = isc_xmalloc0(datalen);
	char *p = data;
	for (size_t i = 0; options[i] != NULL; i++) {
		if (mountopt_lookup(options[i]) != NULL)
			continue;
		size_t l = strlen(options[i]);
		if (p != data)
			*p++ = ',';
		memcpy(p, options[i], l);
		p += l;
	}
	*p = '\0';
	m->data = data;
	return 0;
}
