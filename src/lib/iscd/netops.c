/* SPDX-License-Identifier: GPL-2.0-or-later
 * Network operations (iscd's supervisor).
 *
 * Design
 * ------
 * The network ops: expose, unexpose, allow, policy.  iscd is the one
 * process in the ISC host's network namespace that owns the services: the
 * isc verbs ask it, it checks them (the service exists, no other service
 * has the host port, not the SSH port) and makes the net.h calls itself.
 * An exposed port is part of the service's plan (service.json): every
 * start exposes the plan's ports, every exit unexposes them.  Allowed flows
 * and policies live in R/net (net.c).
 */
#include "iscd/supervisor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "iscd/protocol.h"
#include "net/firewall.h"
#include "net/net.h"
#include "plan/plan.h"

/* iscd is the one process in the ISC host's network namespace that owns
 * the services: the isc verbs ask it, and it makes the net.h calls here. */
int sv_need_network(struct isc_supervisor *sv, isc_error **err)
{
	if (sv->network)
		return 0;
	return isc_error_set(err, EOPNOTSUPP,
			     "this host has no network (isc init sets it up; %s/host.json has no "
			     "\"network\")",
			     sv->root);
}

static const char *req_port_spec(json_t *req, isc_error **err)
{
	const char *spec = json_string_value(json_object_get(req, "port"));
	if (spec == NULL)
		isc_error_set(err, EINVAL, "request without \"port\"");
	return spec;
}

static bool svc_net_live(const struct svc *s)
{
	return s->state == SVC_RUNNING && s->net_up;
}

static json_t *ports_json(const struct svc *s)
{
	json_t *j = isc_plan_to_json(&s->plan);
	json_t *ports = json_incref(json_object_get(j, "ports"));
	json_decref(j);
	return ports ? ports : json_array();
}

/* The reply of expose and unexpose: the service's ports now. */
static json_t *ports_reply(const struct svc *s)
{
	return isc_ctl_ok_reply(json_pack("{s:s, s:o}", "name", s->name, "ports", ports_json(s)));
}

/* Whether the host port of p is free to expose to s, in every service's
 * plan, running or not (a stopped one gets its ports back at its next
 * start): -1 when another port or service has it (*err says which); 0
 * otherwise, *same when s has it exposed exactly as p already. */
static int expose_free(struct isc_supervisor *sv, const struct svc *s, const struct isc_port *p, bool *same,
		       isc_error **err)
{
	const char *pn = isc_fw_proto_name(p->proto);
	*same = false;
	for (struct svc *o = sv->svcs; o; o = o->next)
		for (size_t i = 0; i < o->plan.n_ports; i++) {
			const struct isc_port *q = &o->plan.ports[i];
			if (q->proto != p->proto || q->host_port != p->host_port)
				continue;
			if (o == s && q->port == p->port) {
				*same = true;
				return 0;
			}
			if (o == s)
				return isc_error_set(
					err, EADDRINUSE,
					"expose %s: port %u/%s is already exposed to its port %u (isc unexpose "
					"%s %u/%s first)",
					s->name, p->host_port, pn, q->port, s->name, p->host_port, pn);
			return isc_error_set(err, EADDRINUSE, "expose %s: port %u/%s is already exposed by service %s",
					     s->name, p->host_port, pn, o->name);
		}
	return 0;
}

int sv_op_expose(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err)
{
	const char *spec = req_port_spec(req, err);
	if (spec == NULL)
		return -1;
	struct isc_port p;
	if (isc_fw_parse_port(spec, true, &p.host_port, &p.port, &p.proto, err) < 0)
		return -1;
	const char *pn = isc_fw_proto_name(p.proto);
	if (p.proto == IPPROTO_TCP && sv->ssh_port > 0 && p.host_port == sv->ssh_port)
		return isc_error_set(err, EADDRINUSE, "expose %s: port %u/tcp is the host's SSH port", s->name,
				     p.host_port);
	bool same;
	if (expose_free(sv, s, &p, &same, err) < 0)
		return -1;
	if (same) {
		*reply = ports_reply(s); /* exposed like that already */
		return 0;
	}
	bool applied = false;
	if (svc_net_live(s)) {
		if (isc_net_expose(sv->root, s->name, &p, err) < 0)
			return -1;
		applied = true;
	}
	struct isc_port *np = realloc(s->plan.ports, (s->plan.n_ports + 1) * sizeof(*np));
	if (np == NULL) {
		isc_error_set(err, ENOMEM, "expose %s", s->name);
		goto undo;
	}
	s->plan.ports = np;
	s->plan.ports[s->plan.n_ports++] = p;
	if (svc_save_plan(s, err) < 0) {
		s->plan.n_ports--;
		goto undo;
	}
	isc_sv_log(LOG_INFO, "%s: exposed %u:%u/%s%s", s->name, p.host_port, p.port, pn,
		   applied ? "" : " (from its next start)");
	*reply = ports_reply(s);
	return 0;
undo:
	if (applied) {
		isc_error *e2 = NULL;
		if (isc_net_unexpose(sv->root, s->name, &p, &e2) < 0)
			isc_error_free(&e2);
	}
	return isc_error_wrap(err, "expose %s %s", s->name, spec);
}

int sv_op_unexpose(struct isc_supervisor *sv, struct svc *s, json_t *req, json_t **reply, isc_error **err)
{
	const char *spec = req_port_spec(req, err);
	if (spec == NULL)
		return -1;
	struct isc_port p;
	if (isc_fw_parse_port(spec, false, &p.host_port, NULL, &p.proto, err) < 0)
		return -1;
	const char *pn = isc_fw_proto_name(p.proto);
	size_t at = SIZE_MAX;
	for (size_t i = 0; i < s->plan.n_ports && at == SIZE_MAX; i++)
		if (s->plan.ports[i].proto == p.proto && s->plan.ports[i].host_port == p.host_port)
			at = i;
	if (at == SIZE_MAX)
		return isc_error_set(err, ENOENT, "unexpose %s: port %u/%s is not exposed to it", s->name, p.host_port,
				     pn);
	struct isc_port old = s->plan.ports[at];
	bool applied = false;
	if (svc_net_live(s)) {
		isc_error *e2 = NULL;
		if (isc_net_unexpose(sv->root, s->name, &old, &e2) < 0) {
			if (e2->errnum != ENOENT) { /* ENOENT: not forwarded anyway */
				isc_error_move(err, &e2);
				return -1;
			}
			isc_error_free(&e2);
		} else {
			applied = true;
		}
	}
	memmove(&s->plan.ports[at], &s->plan.ports[at + 1], (s->plan.n_ports - at - 1) * sizeof(*s->plan.ports));
	s->plan.n_ports--;
	if (svc_save_plan(s, err) < 0) {
		/* back as it was */
		memmove(&s->plan.ports[at + 1], &s->plan.ports[at], (s->plan.n_ports - at) * sizeof(*s->plan.ports));
		s->plan.ports[at] = old;
		s->plan.n_ports++;
		isc_error *e2 = NULL;
		if (applied && isc_net_expose(sv->root, s->name, &old, &e2) < 0)
			isc_error_free(&e2);
		return isc_error_wrap(err, "unexpose %s %s", s->name, spec);
	}
	isc_sv_log(LOG_INFO, "%s: unexposed %u/%s", s->name, p.host_port, pn);
	*reply = ports_reply(s);
	return 0;
}

/* {"src", "dst", "port": "PORT[/tcp|udp]", "remove"}: the flows live in the
 * network's own state (R/net) and stay until --remove or `isc rm`. */
int sv_op_allow(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err)
{
	const char *src = json_string_value(json_object_get(req, "src"));
	const char *dst = json_string_value(json_object_get(req, "dst"));
	const char *spec = req_port_spec(req, err);
	bool remove = json_is_true(json_object_get(req, "remove"));
	if (spec == NULL)
		return -1;
	if (src == NULL || dst == NULL)
		return isc_error_set(err, EINVAL, "request without \"src\" or \"dst\"");
	if (svc_find(sv, src) == NULL)
		return isc_error_set(err, ENOENT, "allow: no service named %s", src);
	if (svc_find(sv, dst) == NULL)
		return isc_error_set(err, ENOENT, "allow: no service named %s", dst);
	struct isc_port p = { 0 };
	if (isc_fw_parse_port(spec, false, &p.port, NULL, &p.proto, err) < 0)
		return -1;
	if (isc_net_allow(sv->root, src, dst, &p, remove, err) < 0)
		return -1;
	isc_sv_log(LOG_INFO, "%s %s -> %s:%u/%s", remove ? "closed" : "allowed", src, dst, p.port,
		   isc_fw_proto_name(p.proto));
	*reply = isc_ctl_ok_reply(NULL);
	return 0;
}

/* {"action": "ls" | "enable" | "disable", "rule"} */
int sv_op_policy(struct isc_supervisor *sv, json_t *req, json_t **reply, isc_error **err)
{
	const char *action = json_string_value(json_object_get(req, "action"));
	const char *rule = json_string_value(json_object_get(req, "rule"));
	if (action == NULL || strcmp(action, "ls") == 0) {
		unsigned on = 0;
		if (isc_net_policy_get(sv->root, &on, err) < 0)
			return -1;
		json_t *arr = json_array();
		for (unsigned i = 0; i < isc_fw_n_policies; i++)
			json_array_append_new(arr, json_pack("{s:s, s:b, s:s}", "name", isc_fw_policies[i].name,
							     "enabled", (on & isc_fw_policies[i].flag) != 0,
							     "description", isc_fw_policies[i].help));
		*reply = isc_ctl_ok_reply(json_pack("{s:o}", "rules", arr));
		return 0;
	}
	bool on = strcmp(action, "enable") == 0;
	if (!on && strcmp(action, "disable") != 0)
		return isc_error_set(err, EINVAL, "policy: unknown action \"%s\" (ls, enable, disable)", action);
	if (rule == NULL)
		return isc_error_set(err, EINVAL, "policy %s: request without \"rule\"", action);
	if (isc_net_policy_set(sv->root, rule, on, err) < 0)
		return -1;
	isc_sv_log(LOG_INFO, "policy %s %s", action, rule);
	*reply = isc_ctl_ok_reply(NULL);
	return 0;
}
