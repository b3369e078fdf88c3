/*
 * Admin HTTP server (libevent evhttp) on ADMIN_ADDR:
 *   GET /metrics            Prometheus text format 0.0.4
 *   GET /health/liveness    200 while the event loop runs (also /healthz)
 *   GET /health/readiness   200 when the config is loaded and every worker
 *                           is up and answering; 503 with a JSON reason
 *                           otherwise
 *   POST /hooks/github, /hooks/gitlab, /hooks/gitea
 *                           push webhooks (webhook.h), each 404 unless
 *                           watcher.webhooks.<provider>.secret is given:
 *                           200 verified (its rules poll now), 401 not
 *                           verified, 400 malformed, 413 a body over
 *                           WEBHOOK_MAX_BODY_BYTES (refused by libevent
 *                           from its Content-Length, or as it grows,
 *                           before our callback runs). Logged with the
 *                           peer, never with the body or the signature.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "sup.h"
#include "webhook.h"

/* the body limit without webhooks: GETs carry none */
#define HTTP_MAX_BODY_BYTES	4096

_Static_assert((int)WH_GITHUB == (int)WEBHOOK_GITHUB &&
    (int)WH_GITLAB == (int)WEBHOOK_GITLAB &&
    (int)WH_GITEA == (int)WEBHOOK_GITEA && (int)WH__COUNT ==
    (int)WEBHOOK__COUNT, "enum webhook_provider");

static void
reply(struct evhttp_request *req, int code, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" :
	    code == 503 ? "Service Unavailable" : code == 400 ? "Bad Request" :
	    code == 401 ? "Unauthorized" : code == 413 ? "Payload Too Large" :
	    "Error", b);
	evbuffer_free(b);
}

/* The one refusal or outcome of a webhook request: counted, logged
 * (peer, provider, code, a fixed reason), answered with JSON. */
static void
hook_reply(struct sup *sup, struct evhttp_request *req,
    enum webhook_provider p, int code, const char *result, const char *why)
{
	const char *ml[] = { conf_webhook_name((enum conf_webhook_provider)p),
	    result };
	char *peer = NULL, body[160];
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer,
	    &port);
	metrics_inc(sup->metrics, METRIC_WEBHOOK_TOTAL, ml, 1);
	if (code == 200)
		log_info("webhook %s from %s: %s", ml[0], peer ? peer : "?",
		    why);
	else
		log_warnx("webhook %s from %s refused (%d): %s", ml[0],
		    peer ? peer : "?", code, why);
	snprintf(body, sizeof(body), "{\"status\":\"%s\"}\n", result);
	reply(req, code, "application/json", body, strlen(body));
}

/* POST /hooks/<provider>: the provider's secret is configured. */
static void
hook_cb(struct sup *sup, struct evhttp_request *req, enum webhook_provider p)
{
	const struct conf_secret *sec = &sup->conf->webhooks.secret[p];
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct webhook_push *push = NULL;
	const char *ev;
	char why[256];
	size_t len = evbuffer_get_length(in), n;
	unsigned char *body;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_send_error(req, 405, NULL);
		return;
	}
	if (len > WEBHOOK_MAX_BODY_BYTES) {	/* libevent's limit held it */
		hook_reply(sup, req, p, 413, "too_large", "body over 1 MiB");
		return;
	}
	/* contiguous, at most WEBHOOK_MAX_BODY_BYTES; "" for no body */
	if ((body = evbuffer_pullup(in, -1)) == NULL)
		body = (unsigned char *)"";
	if (!webhook_verify(p, sec->value, evhttp_find_header(h,
	    webhook_auth_header(p)), body, len)) {
		snprintf(why, sizeof(why), "%s %s", webhook_auth_header(p),
		    evhttp_find_header(h, webhook_auth_header(p)) == NULL ?
		    "missing" : "does not verify");
		hook_reply(sup, req, p, 401, "unauthorized", why);
		return;
	}
	ev = evhttp_find_header(h, webhook_event_header(p));
	if (ev != NULL && strcmp(ev, webhook_push_event(p)) != 0) {
		/* a ping, or an event we do not act on */
		hook_reply(sup, req, p, 200, "ignored", "not a push event");
		return;
	}
	if ((push = malloc(sizeof(*push))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (webhook_parse(push, p, body, len, why, sizeof(why)) == -1) {
		hook_reply(sup, req, p, 400, "bad_request", why);
		goto out;
	}
	if (push->branch[0] == '\0') {
		hook_reply(sup, req, p, 200, "ignored", "not a branch push");
		goto out;
	}
	n = sup_rules_push(sup, (const char (*)[REPO_URL_CANON_MAX])push->repos,
	    push->nrepos, push->branch);
	snprintf(why, sizeof(why), "push to %.120s branch %.100s: %zu rules "
	    "poll now", push->repos[0], push->branch, n);
	hook_reply(sup, req, p, 200, n > 0 ? "push" : "ignored", why);
 out:
	free(push);
}

/* /hooks/<provider> with its secret configured; -1 otherwise (404). */
static int
hook_provider(const struct sup *sup, const char *path)
{
	int i;

	if (strncmp(path, "/hooks/", 7) != 0)
		return -1;
	for (i = 0; i < WH__COUNT; i++)
		if (strcmp(path + 7, conf_webhook_name(
		    (enum conf_webhook_provider)i)) == 0)
			return sup->conf->webhooks.secret[i].src ==
			    SECRET_NONE ? -1 : i;
	return -1;
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct sup *sup = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct jbuf b;
	const char *why;
	int hook;

	if (path == NULL)
		path = "/";
	if ((hook = hook_provider(sup, path)) != -1) {
		hook_cb(sup, req, (enum webhook_provider)hook);
		return;
	}
	if (strncmp(path, "/hooks/", 7) == 0) {	/* off, or no such host */
		evhttp_send_error(req, 404, NULL);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, NULL);
		return;
	}
	jbuf_init(&b);
	if (strcmp(path, "/metrics") == 0) {
		if (metrics_format(sup->metrics, &b) == -1 || b.oom)
			evhttp_send_error(req, 500, NULL);
		else
			reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
			    b.p, b.len);
	} else if (strcmp(path, "/health/liveness") == 0 ||
	    strcmp(path, "/healthz") == 0) {
		reply(req, 200, "application/json", "{\"status\":\"ok\"}\n", 16);
	} else if (strcmp(path, "/health/readiness") == 0) {
		if (sup->stopping) {
			jbuf_cat(&b, "{\"status\":\"NOT_READY\",\"detail\":"
			    "\"server is terminating\"}\n");
			reply(req, 503, "application/json", b.p, b.len);
		} else if (!sup_workers_all_running(sup, &why)) {
			jbuf_printf(&b, "{\"status\":\"NOT_READY\",\"detail\":"
			    "\"worker %s is not running\"}\n", why);
			reply(req, 503, "application/json", b.p, b.len);
		} else if ((why = sup_workers_hung(sup)) != NULL) {
			jbuf_printf(&b, "{\"status\":\"NOT_READY\",\"detail\":"
			    "\"worker %s is not answering\"}\n", why);
			reply(req, 503, "application/json", b.p, b.len);
		} else if (sup->nself_heal > 0 && sup->orch_up != 1) {
			jbuf_printf(&b, "{\"status\":\"NOT_READY\",\"detail\":"
			    "\"orchestrator %s unreachable (Ping failed); "
			    "%zu rules need it for self-heal\"}\n",
			    sup->conf->orchestrator_addr, sup->nself_heal);
			reply(req, 503, "application/json", b.p, b.len);
		} else {
			jbuf_printf(&b, "{\"status\":\"READY\","
			    "\"active_watchers\":%zu}\n", sup->nrules);
			reply(req, 200, "application/json", b.p, b.len);
		}
	} else
		evhttp_send_error(req, 404, NULL);
	jbuf_free(&b);
}

int
sup_http_start(struct sup *sup, const char *addr, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	unsigned long port;
	char *end;

	if (colon == NULL) {
		snprintf(err, errlen, "admin address '%s': expected host:port",
		    addr);
		return -1;
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port > 65535 || colon[1] == '\0') {
		snprintf(err, errlen, "admin address '%s': bad port", addr);
		return -1;
	}
	if (colon == addr)
		snprintf(host, sizeof(host), "0.0.0.0");
	else if (addr[0] == '[' && colon[-1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr - 2),
		    addr + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if ((sup->http = evhttp_new(sup->base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		return -1;
	}
	evhttp_set_timeout(sup->http, 10);
	evhttp_set_max_headers_size(sup->http, 16384);
	sup_http_reconf(sup);
	evhttp_set_gencb(sup->http, http_cb, sup);
	errno = 0;	/* a name that does not resolve leaves it 0 */
	if (evhttp_bind_socket(sup->http, host, (ev_uint16_t)port) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		    errno != 0 ? strerror(errno) : "the host does not resolve "
		    "to a local address");
		evhttp_free(sup->http);
		sup->http = NULL;
		return -1;
	}
	log_info("admin HTTP listening on %s:%lu", host, port);
	return 0;
}

void
sup_http_reconf(struct sup *sup)
{
	size_t i, max = HTTP_MAX_BODY_BYTES;

	if (sup->http == NULL)
		return;
	for (i = 0; i < WEBHOOK__COUNT; i++)
		if (sup->conf->webhooks.secret[i].src != SECRET_NONE)
			max = WEBHOOK_MAX_BODY_BYTES;
	evhttp_set_max_body_size(sup->http, (ev_ssize_t)max);
}

void
sup_http_stop(struct sup *sup)
{
	if (sup->http != NULL)
		evhttp_free(sup->http);
	sup->http = NULL;
}
