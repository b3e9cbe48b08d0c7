/* SPDX-License-Identifier: GPL-2.0-or-later
 * STUB until issue 5's network lands: every call succeeds and does nothing;
 * containers get a new, empty network namespace. */
#include "net.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

int isc_net_host_up(const char *root, const struct isc_net_host_cfg *cfg, isc_error **err) { return 0; }
int isc_net_confirm(const char *root, isc_error **err) { return 0; }
int isc_net_host_down(const char *root, isc_error **err) { return 0; }
void isc_net_container_clear(struct isc_net_container *c)
{
	free(c->netns_path);
	free(c->resolv_conf);
	free(c->hosts);
	free(c->host_if);
	memset(c, 0, sizeof(*c));
}
int isc_net_container_up(const char *root, const char *name, struct isc_net_container *out, isc_error **err)
{
	memset(out, 0, sizeof(*out));
	return 0;
}
int isc_net_container_down(const char *root, const char *name, bool keep_addr, isc_error **err) { return 0; }
int isc_net_expose(const char *root, const char *name, const struct isc_port *p, isc_error **err) { return 0; }
int isc_net_unexpose(const char *root, const char *name, const struct isc_port *p, isc_error **err) { return 0; }
int isc_net_allow(const char *root, const char *src, const char *dst, const struct isc_port *p, bool remove,
		  isc_error **err)
{
	return 0;
}
