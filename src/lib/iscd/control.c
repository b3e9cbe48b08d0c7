/* SPDX-License-Identifier: GPL-2.0-or-later
 * Control requests (iscd's supervisor).
 *
 * Design
 * ------
 * The control protocol's requests (protocol.h: R/iscd.sock, SOCK_SEQPACKET,
 * 0600, uid 0 only, one JSON request per connection).  A request is read
 * with a bound (5 s), its "op" looked up in one table (the ops that name a
 * service get it found first), and answered; those that wait (wait, a stop
 * or restart of a running service) stay open as waiters and are answered
 * from the exit path (exit.c).  A refused request is logged.
 */
#include "iscd/supervisor.h"

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "base/util.h"
#include "iscd/protocol.h"

static struct svc *op_service(struct isc_supervisor *sv, json_t *req, isc_error **err)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	if (name == NULL) {
		isc_error_set(err, EINVAL, "request without \"name\"");
		return NULL;
	}
	struct svc *s = svc_find(sv, name);
	if (s == NULL)
		isc_error_set(err, ENOENT, "no service named %s", name);
	return s;
}

static int timeout_of(json_t *req)
{
	json_t *t = json_object_get(req, "timeout");
	if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > 3600)
		return ISC_STOP_TIMEOUT_DEFAULT;
	return (int)json_integer_value(t);
}

static void waiter_add(struct isc_supervisor *sv, int fd, const struct svc *s, enum waiter_kind kind, unsigned exits)
{
	struct waiter *w = isc_xmalloc0(sizeof(*w));
	w->kind = kind;
	w->fd = fd;
	w->name = isc_xstrdup(s->name);
	w->exits = exits;
	w->next = sv->waiters;
	sv->waiters = w;
}

/* One request under way: a handler sets reply, or waiting (the request is
 * answered at an exit: its fd stays open as a waiter). */
struct request {
	struct isc_supervisor *sv;
	int fd;
	json_t *req;
	struct svc *s; /* the service it names (ops with need_service) */
	json_t *reply;
	bool waiting;
};

static int req_ping(struct request *rq, isc_error **err)
{
	rq->reply = isc_ctl_ok_reply(
		json_pack("{s:s, s:i, s:s}", "root", rq->sv->root, "pid", (int)getpid(), "version", ISC_VERSION));
	return 0;
}

static int req_shutdown(struct request *rq, isc_error **err)
{
	rq->sv->quit = true;
	rq->reply = isc_ctl_ok_reply(NULL);
	return 0;
}

static int req_run(struct request *rq, isc_error **err)
{
	return sv_op_run(rq->sv, rq->req, &rq->reply, err);
}

static int req_release(struct request *rq, isc_error **err)
{
	(void)err;
	return sv_op_release(rq->sv, rq->s, &rq->reply);
}

static int req_ps(struct request *rq, isc_error **err)
{
	return sv_op_ps(rq->sv, &rq->reply);
}

static int req_allow(struct request *rq, isc_error **err)
{
	return sv_op_allow(rq->sv, rq->req, &rq->reply, err);
}

static int req_policy(struct request *rq, isc_error **err)
{
	return sv_op_policy(rq->sv, rq->req, &rq->reply, err);
}

static int req_inspect(struct request *rq, isc_error **err)
{
	return sv_op_inspect(rq->sv, rq->s, &rq->reply);
}

static int req_expose(struct request *rq, isc_error **err)
{
	return sv_op_expose(rq->sv, rq->s, rq->req, &rq->reply, err);
}

static int req_unexpose(struct request *rq, isc_error **err)
{
	return sv_op_unexpose(rq->sv, rq->s, rq->req, &rq->reply, err);
}

static int req_start(struct request *rq, isc_error **err)
{
	return sv_op_start(rq->sv, rq->s, &rq->reply, err);
}

static int req_rm(struct request *rq, isc_error **err)
{
	return sv_op_rm(rq->sv, rq->s, rq->req, &rq->reply, err);
}

/* stop, restart: answered now when nothing runs, else at the exit. */
static int req_stop_restart(struct request *rq, bool restart, isc_error **err)
{
	if (!svc_stop_begin(rq->sv, rq->s, timeout_of(rq->req), restart ? "restart" : "stop")) {
		waiter_add(rq->sv, rq->fd, rq->s, restart ? WAIT_RESTART : WAIT_STOP, 0);
		rq->waiting = true;
		return 0;
	}
	if (restart)
		return sv_op_start(rq->sv, rq->s, &rq->reply, err);
	rq->reply = isc_ctl_ok_reply(svc_summary(rq->s));
	return 0;
}

static int req_stop(struct request *rq, isc_error **err)
{
	return req_stop_restart(rq, false, err);
}

static int req_restart(struct request *rq, isc_error **err)
{
	return req_stop_restart(rq, true, err);
}

/* wait {"exits": N}: the last exit once the service has more than N;
 * {"current": true} (isc wait): the exit of the run under way, or the last
 * exit at once when none is (stopped, or between a restart's runs). */
static int req_wait(struct request *rq, isc_error **err)
{
	struct svc *s = rq->s;
	json_t *e = json_object_get(rq->req, "exits");
	unsigned after = json_is_integer(e) && json_integer_value(e) >= 0 ? (unsigned)json_integer_value(e) : 0;
	if (json_is_true(json_object_get(rq->req, "current")))
		after = s->state == SVC_RUNNING ? s->exits : 0;
	if (s->exits > after || (after == 0 && s->state != SVC_RUNNING)) {
		rq->reply = isc_ctl_ok_reply(json_pack("{s:O}", "exit", s->last_exit ? s->last_exit : json_null()));
		return 0;
	}
	waiter_add(rq->sv, rq->fd, s, WAIT_EXIT, after);
	rq->waiting = true;
	return 0;
}

static int req_kill(struct request *rq, isc_error **err)
{
	return sv_op_kill(rq->sv, rq->s, rq->req, &rq->reply, err);
}

static int req_pause(struct request *rq, isc_error **err)
{
	return sv_op_pause(rq->sv, rq->s, true, &rq->reply, err);
}

static int req_unpause(struct request *rq, isc_error **err)
{
	return sv_op_pause(rq->sv, rq->s, false, &rq->reply, err);
}

static int req_update(struct request *rq, isc_error **err)
{
	return sv_op_update(rq->sv, rq->s, rq->req, &rq->reply, err);
}

static int req_stats(struct request *rq, isc_error **err)
{
	return sv_op_stats(rq->sv, rq->s, &rq->reply, err);
}

static int req_top(struct request *rq, isc_error **err)
{
	return sv_op_top(rq->sv, rq->s, &rq->reply, err);
}

static const struct {
	const char *op;
	bool need_network; /* refused on a host without a network */
	bool need_service; /* "name" names a service */
	int (*fn)(struct request *rq, isc_error **err);
} request_ops[] = {
	{ "ping", false, false, req_ping },	 { "run", false, false, req_run },
	{ "ps", false, false, req_ps },		 { "shutdown", false, false, req_shutdown },
	{ "allow", true, false, req_allow },	 { "policy", true, false, req_policy },
	{ "inspect", false, true, req_inspect }, { "stop", false, true, req_stop },
	{ "start", false, true, req_start },	 { "restart", false, true, req_restart },
	{ "rm", false, true, req_rm },		 { "wait", false, true, req_wait },
	{ "expose", true, true, req_expose },	 { "unexpose", true, true, req_unexpose },
	{ "kill", false, true, req_kill },	 { "pause", false, true, req_pause },
	{ "unpause", false, true, req_unpause }, { "update", false, true, req_update },
	{ "stats", false, true, req_stats },	 { "top", false, true, req_top },
	{ "release", false, true, req_release },
};

/* The request's op, found in request_ops and run. */
static int request_dispatch(struct request *rq, isc_error **err)
{
	const char *op = json_string_value(json_object_get(rq->req, "op"));
	if (op == NULL)
		return isc_error_set(err, EINVAL, "request without \"op\"");
	for (size_t i = 0; i < ARRAY_SIZE(request_ops); i++) {
		if (strcmp(op, request_ops[i].op) != 0)
			continue;
		if (request_ops[i].need_network && sv_need_network(rq->sv, err) < 0)
			return -1;
		if (request_ops[i].need_service && (rq->s = op_service(rq->sv, rq->req, err)) == NULL)
			return -1;
		return request_ops[i].fn(rq, err);
	}
	return isc_error_set(err, EINVAL, "unknown op \"%s\"", op);
}

void sv_handle_request(struct isc_supervisor *sv, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 5000) <= 0) {
		close(fd);
		return;
	}
	isc_error *err = NULL;
	struct request rq = { .sv = sv, .fd = fd };
	int r = -1;
	if (isc_ctl_recv(fd, &rq.req, &err) < 0 || rq.req == NULL) {
		if (rq.req == NULL && err == NULL)
			isc_error_set(&err, EPROTO, "empty request");
	} else {
		r = request_dispatch(&rq, &err);
	}
	if (rq.waiting) {
		json_decref(rq.req);
		return; /* answered at the exit */
	}
	if (r < 0) {
		if (err == NULL)
			isc_error_set(&err, EIO, "request failed");
		rq.reply = isc_ctl_error_reply(err);
		char buf[1024];
		isc_sv_log(LOG_NOTICE, "request %s refused: %s",
			   rq.req ? (json_string_value(json_object_get(rq.req, "op")) ?: "?") : "?",
			   isc_error_text(err, buf, sizeof(buf)));
	}
	isc_error_free(&err);
	if (rq.reply != NULL && isc_ctl_send(fd, rq.reply, &err) < 0)
		isc_error_free(&err);
	json_decref(rq.reply);
	json_decref(rq.req);
	close(fd);
}
