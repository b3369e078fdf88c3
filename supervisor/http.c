/*
 * Admin HTTP server (libevent evhttp) on ADMIN_ADDR:
 *   GET /metrics            Prometheus text format 0.0.4
 *   GET /health/liveness    200 while the event loop runs (also /healthz)
 *   GET /health/readiness   200 when the config is loaded and every worker
 *                           is up and answering; 503 with a JSON reason
 *                           otherwise
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
	    code == 503 ? "Service Unavailable" : "Error", b);
	evbuffer_free(b);
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct sup *sup = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct jbuf b;
	const char *why;

	if (path == NULL)
		path = "/";
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
	evhttp_set_max_body_size(sup->http, 4096);
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
sup_http_stop(struct sup *sup)
{
	if (sup->http != NULL)
		evhttp_free(sup->http);
	sup->http = NULL;
}
