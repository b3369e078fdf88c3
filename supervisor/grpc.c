/*
 * grpc: non-blocking unary gRPC client on libcurl's multi interface, driven
 * by libevent (the hiperfifo pattern). See grpc.h for the contract.
 *
 * This is the only file that includes the generated watcher.pb-c.h.
 *
 * Flow of one call: grpc_call() builds an easy handle and adds it to the
 * multi handle; curl asks for a timeout through grpc_curl_timer_cb() and
 * for socket events through grpc_curl_sock_cb(); our events call
 * curl_multi_socket_action() and then grpc_check_done(), which runs the
 * callbacks of finished transfers (grpc_req_finish()).
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "curl_common.h"
#include "grpc.h"
#include "log.h"	/* utf8_seq */
#include "vartrack/v1/watcher.pb-c.h"

#ifndef VTW_VERSION
#define VTW_VERSION	"0"
#endif

#define GRPC_USER_AGENT		"vartrack-watcher/" VTW_VERSION
#define GRPC_METHOD_MAX		256
#define GRPC_ADDR_MAX		255
#define GRPC_TIMEOUT_MAX_MS	(24ull * 3600 * 1000)
#define GRPC_BODY_INITIAL	256

/* One socket curl asked us to watch. */
struct grpc_sock {
	LIST_ENTRY(grpc_sock)	 entry;
	struct event		*ev;
};

/* One call in flight. */
struct grpc_req {
	TAILQ_ENTRY(grpc_req)	 entry;
	struct grpc_client	*c;
	CURL			*easy;
	struct curl_slist	*hdrs;
	char			*method;
	char			*url;
	unsigned char		*reqbuf;
	size_t			 reqlen;

	struct grpc_resp	 resp;	/* headers, body, trailers */
	int			 expect_empty;

	uint64_t		 timeout_ms;
	struct timespec		 start;
	grpc_done_fn		 cb;
	void			*arg;
	char			 curlerr[CURL_ERROR_SIZE];
	char			 message[GRPC_MESSAGE_MAX];
	/* fits any status line with a whole message */
	char			 errtext[GRPC_MESSAGE_MAX + 160];
};

struct grpc_client {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	char			*addr;
	char			*baseurl;
	char			*instance_hdr;	/* NULL: no such metadata */
	struct curlc_tls	 tlsm;		/* TLS files, read per connect */
	int			 tls;
	int			 no_reuse;	/* a connection per call */
	size_t			 max_response;
	TAILQ_HEAD(, grpc_req)	 reqs;
	LIST_HEAD(, grpc_sock)	 socks;
	size_t			 ninflight;
	int			 dispatching;	/* inside grpc_check_done() */
	int			 free_pending;	/* freed from a callback */
	int			 closing;	/* being destroyed */
	int			 curl_inited;
};

static const char *const grpc_status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

static void	grpc_client_destroy(struct grpc_client *);

#define seterr	curlc_seterr

const char *
grpc_status_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(grpc_status_names) /
	    sizeof(grpc_status_names[0]))
		return "?";
	return grpc_status_names[code];
}

/* ---- pure helpers ---- */

size_t
grpc_frame_encode(void *out, size_t outlen, const void *msg, size_t len)
{
	unsigned char *p = out;

	if (len > UINT32_MAX || outlen < len ||
	    outlen - len < GRPC_FRAME_PREFIX_LEN)
		return 0;
	p[0] = 0;
	p[1] = (len >> 24) & 0xff;
	p[2] = (len >> 16) & 0xff;
	p[3] = (len >> 8) & 0xff;
	p[4] = len & 0xff;
	if (len > 0)
		memcpy(p + GRPC_FRAME_PREFIX_LEN, msg, len);
	return len + GRPC_FRAME_PREFIX_LEN;
}

int
grpc_frame_decode(const void *buf, size_t len, size_t max, const void **msg,
    size_t *msglen, char *err, size_t errlen)
{
	const unsigned char *p = buf;
	uint32_t mlen;
	size_t have;

	*msg = NULL;
	*msglen = 0;
	if (len == 0) {
		seterr(err, errlen, "no response message");
		return -1;
	}
	if (len < GRPC_FRAME_PREFIX_LEN) {
		seterr(err, errlen, "truncated message prefix (%zu of 5 bytes)",
		    len);
		return -1;
	}
	if (p[0] == 1) {
		seterr(err, errlen, "compressed response message, but no "
		    "compression was negotiated");
		return -1;
	}
	if (p[0] != 0) {
		seterr(err, errlen, "invalid message flag byte 0x%02x", p[0]);
		return -1;
	}
	mlen = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 8 | (uint32_t)p[4];
	if (mlen > max) {
		seterr(err, errlen, "response message of %" PRIu32 " bytes "
		    "exceeds the limit of %zu bytes", mlen, max);
		return -1;
	}
	have = len - GRPC_FRAME_PREFIX_LEN;
	if (have < mlen) {
		seterr(err, errlen, "truncated response message (%zu of %"
		    PRIu32 " bytes)", have, mlen);
		return -1;
	}
	if (have > mlen) {
		seterr(err, errlen, "%zu bytes after the response message (a "
		    "unary response is exactly one message)", have - mlen);
		return -1;
	}
	*msg = p + GRPC_FRAME_PREFIX_LEN;
	*msglen = mlen;
	return 0;
}

static int
hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The byte at in[*i]: a %XX escape or a literal; advances *i. */
static unsigned char
pct_next(const char *in, size_t inlen, size_t *i)
{
	unsigned char ch = (unsigned char)in[*i];
	int hi, lo;

	if (ch == '%' && inlen - *i >= 3 &&
	    (hi = hexval((unsigned char)in[*i + 1])) >= 0 &&
	    (lo = hexval((unsigned char)in[*i + 2])) >= 0) {
		*i += 3;
		return (unsigned char)(hi << 4 | lo);
	}
	*i += 1;
	return ch;
}

size_t
grpc_percent_decode(char *out, size_t outlen, const char *in, size_t inlen)
{
	unsigned char b[4];
	size_t end[4], i = 0, j, n, k, sl, o = 0;

	if (outlen == 0)
		return 0;
	while (i < inlen) {
		/* look ahead at up to 4 decoded bytes */
		for (n = 0, j = i; n < 4 && j < inlen; n++) {
			b[n] = pct_next(in, inlen, &j);
			end[n] = j;
		}
		if (b[0] < 0x80) {
			i = end[0];
			if (b[0] == '\t' || b[0] == '\r' || b[0] == '\n')
				b[0] = ' ';
			else if (b[0] < 0x20 || b[0] == 0x7f)
				continue;
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)b[0];
			continue;
		}
		if ((sl = utf8_seq(b, n)) == 0) {
			i = end[0];
			if (o + 1 >= outlen)
				break;
			out[o++] = '?';
			continue;
		}
		i = end[sl - 1];
		if (sl == 2 && b[0] == 0xc2 && b[1] < 0xa0)
			continue;	/* C1 control */
		if (o + sl >= outlen)
			break;
		for (k = 0; k < sl; k++)
			out[o++] = (char)b[k];
	}
	out[o] = '\0';
	return o;
}

int
grpc_timeout_format(char *out, size_t outlen, uint64_t ms)
{
	static const struct {
		char		 unit;
		uint64_t	 div;
	} units[] = {
		{ 'm', 1 },
		{ 'S', 1000 },
		{ 'M', 60 * 1000 },
		{ 'H', 3600 * 1000 },
	};
	size_t i;
	uint64_t v;
	int n;

	if (ms == 0 || outlen == 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		v = ms / units[i].div + (ms % units[i].div != 0);
		if (v <= 99999999 || i == sizeof(units) / sizeof(units[0]) - 1)
			break;
	}
	if (v > 99999999)
		v = 99999999;
	n = snprintf(out, outlen, "%" PRIu64 "%c", v, units[i].unit);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

/* ---- libevent <-> libcurl glue ---- */

static void	grpc_check_done(struct grpc_client *);

static void
grpc_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct grpc_client *c = arg;
	int action = 0, running = 0;

	if (kind & EV_READ)
		action |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, fd, action, &running);
	if (running <= 0)
		evtimer_del(c->timer);
	grpc_check_done(c);	/* may free c: the last thing here */
}

static void
grpc_timer_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct grpc_client *c = arg;
	int running = 0;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	grpc_check_done(c);	/* may free c: the last thing here */
}

/* CURLMOPT_TIMERFUNCTION: never calls curl back, only (re)arms our timer */
static int
grpc_curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct grpc_client *c = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

static void
grpc_sock_free(struct grpc_sock *gs)
{
	LIST_REMOVE(gs, entry);
	if (gs->ev != NULL)
		event_free(gs->ev);
	free(gs);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants. */
static int
grpc_curl_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct grpc_client *c = userp;
	struct grpc_sock *gs = socketp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (gs != NULL)
			grpc_sock_free(gs);
		return 0;
	}
	if (gs == NULL) {
		if ((gs = calloc(1, sizeof(*gs))) == NULL)
			return -1;
		LIST_INSERT_HEAD(&c->socks, gs, entry);
		if (curl_multi_assign(c->multi, s, gs) != CURLM_OK) {
			grpc_sock_free(gs);
			return -1;
		}
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (gs->ev != NULL) {
		event_free(gs->ev);
		gs->ev = NULL;
	}
	if ((gs->ev = event_new(c->base, s, kind, grpc_event_cb, c)) == NULL)
		return -1;
	if (event_add(gs->ev, NULL) == -1)
		return -1;
	return 0;
}

/* ---- one call ---- */

static void
grpc_req_free(struct grpc_req *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->method);
	free(r->url);
	free(r->reqbuf);
	grpc_resp_free(&r->resp);
	free(r);
}

/* ---- the response, as it arrives (pure: see grpc.h) ---- */

int
grpc_resp_body(struct grpc_resp *rp, const void *buf, size_t n, size_t max)
{
	size_t limit = max + GRPC_FRAME_PREFIX_LEN, ncap;
	const unsigned char *p;
	uint32_t mlen;
	unsigned char *nb;

	if (n > limit - rp->bodylen) {
		rp->too_large = 1;
		return -1;
	}
	if (rp->bodylen + n > rp->bodycap) {
		ncap = rp->bodycap ? rp->bodycap : GRPC_BODY_INITIAL;
		while (ncap < rp->bodylen + n)
			ncap = ncap > limit / 2 ? limit : ncap * 2;
		if ((nb = realloc(rp->body, ncap)) == NULL)
			return -1;
		rp->body = nb;
		rp->bodycap = ncap;
	}
	memcpy(rp->body + rp->bodylen, buf, n);
	rp->bodylen += n;
	if (rp->bodylen >= GRPC_FRAME_PREFIX_LEN) {
		/* refuse an announced oversize message early */
		p = rp->body;
		mlen = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[3] << 8 | (uint32_t)p[4];
		if (mlen > max) {
			rp->too_large = 1;
			return -1;
		}
	}
	return 0;
}

static int
ctype_is_grpc(const char *v)
{
	static const char base[] = "application/grpc";
	size_t n = sizeof(base) - 1;

	if (strncasecmp(v, base, n) != 0)
		return 0;
	return v[n] == '\0' || v[n] == '+' || v[n] == ';';
}

void
grpc_resp_header(struct grpc_resp *rp, const char *buf, size_t n)
{
	size_t nlen, vlen, i;
	const char *v;
	int st;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response header block */
		rp->have_status = rp->bad_status = rp->grpc_status = 0;
		rp->have_ctype = rp->ctype_ok = 0;
		rp->ctype[0] = '\0';
		rp->rawmsglen = 0;
		return;
	}
	if (curlc_header_split(buf, n, &nlen, &v, &vlen) == -1)
		return;

	if (nlen == 11 && strncasecmp(buf, "grpc-status", nlen) == 0) {
		rp->have_status = 1;
		rp->bad_status = 0;
		st = 0;
		if (vlen == 0 || vlen > 9)
			rp->bad_status = 1;
		for (i = 0; i < vlen && !rp->bad_status; i++) {
			if (v[i] < '0' || v[i] > '9')
				rp->bad_status = 1;
			else
				st = st * 10 + (v[i] - '0');
		}
		rp->grpc_status = rp->bad_status ? GRPC_STATUS_UNKNOWN : st;
	} else if (nlen == 12 && strncasecmp(buf, "grpc-message", nlen) == 0) {
		if (vlen > sizeof(rp->rawmsg))
			vlen = sizeof(rp->rawmsg);
		memcpy(rp->rawmsg, v, vlen);
		rp->rawmsglen = vlen;
	} else if (nlen == 12 && strncasecmp(buf, "content-type", nlen) == 0) {
		rp->have_ctype = 1;
		if (vlen >= sizeof(rp->ctype))
			vlen = sizeof(rp->ctype) - 1;
		memcpy(rp->ctype, v, vlen);
		rp->ctype[vlen] = '\0';
		rp->ctype_ok = ctype_is_grpc(rp->ctype);
	}
}

void
grpc_resp_free(struct grpc_resp *rp)
{
	free(rp->body);
	rp->body = NULL;
	rp->bodylen = rp->bodycap = 0;
}

static int	http_to_grpc(long);

int
grpc_resp_check(const struct grpc_resp *rp, long http, int http2,
    size_t max, int expect_empty, const char *message, const void **msg,
    size_t *msglen, int *transport, char *err, size_t errlen)
{
	char derr[256];

	*msg = NULL;
	*msglen = 0;
	*transport = 1;
	if (http != 200) {
		seterr(err, errlen, "HTTP status %ld (not a gRPC response)",
		    http);
		return http_to_grpc(http);
	}
	if (!http2) {
		seterr(err, errlen, "server did not speak HTTP/2");
		return GRPC_STATUS_INTERNAL;
	}
	if (!rp->ctype_ok && !(rp->have_status && !rp->have_ctype &&
	    rp->grpc_status != GRPC_STATUS_OK)) {
		seterr(err, errlen, "unexpected content-type \"%s\" (want "
		    "application/grpc)", rp->have_ctype ? rp->ctype : "");
		return GRPC_STATUS_UNKNOWN;
	}
	if (!rp->have_status) {
		seterr(err, errlen, "no grpc-status in the response");
		return GRPC_STATUS_INTERNAL;
	}
	if (rp->bad_status) {
		seterr(err, errlen, "invalid grpc-status in the response");
		return GRPC_STATUS_INTERNAL;
	}
	if (rp->grpc_status != GRPC_STATUS_OK) {
		*transport = 0;
		seterr(err, errlen, "%s (%d)%s%s",
		    grpc_status_name(rp->grpc_status), rp->grpc_status,
		    message[0] ? ": " : "", message);
		return rp->grpc_status;
	}
	if (grpc_frame_decode(rp->body, rp->bodylen, max, msg, msglen, derr,
	    sizeof(derr)) == -1) {
		seterr(err, errlen, "bad response: %s", derr);
		return GRPC_STATUS_INTERNAL;
	}
	if (expect_empty && *msglen != 0) {
		seterr(err, errlen, "bad response: not an empty message (%zu "
		    "bytes)", *msglen);
		*msg = NULL;
		*msglen = 0;
		return GRPC_STATUS_INTERNAL;
	}
	*transport = 0;
	return GRPC_STATUS_OK;
}

/* ---- curl's callbacks ---- */

static size_t
grpc_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct grpc_req *r = userdata;
	size_t n = size * nmemb;

	if (grpc_resp_body(&r->resp, ptr, n, r->c->max_response) == -1)
		return 0;	/* aborts the transfer */
	return n;
}

/* Headers, then (after the blank line) trailers: one line per call. */
static size_t
grpc_header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct grpc_req *r = userdata;
	size_t n = size * nitems;

	grpc_resp_header(&r->resp, buf, n);
	return n;
}

static int
http_to_grpc(long http)
{
	switch (http) {
	case 400:
		return GRPC_STATUS_INTERNAL;
	case 401:
		return GRPC_STATUS_UNAUTHENTICATED;
	case 403:
		return GRPC_STATUS_PERMISSION_DENIED;
	case 404:
		return GRPC_STATUS_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_STATUS_UNAVAILABLE;
	default:
		return GRPC_STATUS_UNKNOWN;
	}
}

static uint64_t
elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
	return ms < 0 ? 0 : (uint64_t)ms;
}

/*
 * A plaintext call that got no HTTP response, only a connection that ended
 * or bytes nghttp2 could not frame, is what a TLS port answers (an alert,
 * 0x15 0x03, or a handshake record, 0x16 0x03, then the close): say so.
 * The close can also come while curl is still writing the preface or the
 * request (EPIPE, a send error): the same answer, seen a little earlier.
 */
static const char *
grpc_plaintext_hint(int tls, CURLcode rc, long http_status)
{
	if (tls || http_status != 0)
		return "";
	switch (rc) {
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_WEIRD_SERVER_REPLY:
		return " (the server may want TLS: set watcher.tls.ca_file or "
		    "TLS_CA_FILE)";
	default:
		return "";
	}
}

/* Fills res from a finished transfer (rc = curl's result). */
static void
grpc_req_result(struct grpc_req *r, CURLcode rc, struct grpc_result *res)
{
	char terr[CURL_ERROR_SIZE + 128];
	const char *hint;
	long http = 0, httpver = 0;
	const void *msg;
	size_t msglen;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
	curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &httpver);
	res->http_status = http;
	res->transport = 1;
	res->error = r->errtext;
	grpc_percent_decode(r->message, sizeof(r->message), r->resp.rawmsg,
	    r->resp.rawmsglen);

	if (r->resp.too_large) {
		res->grpc_status = GRPC_STATUS_RESOURCE_EXHAUSTED;
		snprintf(r->errtext, sizeof(r->errtext), "response larger "
		    "than the limit of %zu bytes: transfer aborted",
		    r->c->max_response);
	} else if (rc != CURLE_OK && !(r->resp.have_status &&
	    !r->resp.bad_status && r->resp.grpc_status != GRPC_STATUS_OK &&
	    http == 200)) {
		/* a failure status the server did send wins over a reset
		 * that followed it */
		if (rc == CURLE_OPERATION_TIMEDOUT) {
			res->grpc_status = GRPC_STATUS_DEADLINE_EXCEEDED;
			snprintf(r->errtext, sizeof(r->errtext), "deadline "
			    "exceeded: no complete response within %" PRIu64
			    " ms (%s)", r->timeout_ms, r->curlerr[0] ?
			    r->curlerr : curl_easy_strerror(rc));
		} else {
			hint = curlc_tls_hint(&r->c->tlsm, r->c->tls, rc,
			    http);
			if (*hint == '\0')
				hint = grpc_plaintext_hint(r->c->tls, rc, http);
			res->grpc_status = GRPC_STATUS_UNAVAILABLE;
			snprintf(r->errtext, sizeof(r->errtext), "transport "
			    "error: %s%s", curlc_errtext(terr, sizeof(terr),
			    rc, r->curlerr, NULL, 0), hint);
		}
	} else {
		res->grpc_status = grpc_resp_check(&r->resp, http,
		    httpver == CURL_HTTP_VERSION_2_0, r->c->max_response,
		    r->expect_empty, r->message, &msg, &msglen,
		    &res->transport, r->errtext, sizeof(r->errtext));
		if (res->grpc_status == GRPC_STATUS_OK) {
			res->error = NULL;
			res->msg = msg;
			res->msg_len = msglen;
		}
	}
}

/*
 * Takes r off the client, runs its callback with the outcome (rc, or a
 * cancellation when cancel is set) and frees it.
 */
static void
grpc_req_finish(struct grpc_req *r, CURLcode rc, int cancel)
{
	struct grpc_client *c = r->c;
	struct grpc_result res;

	TAILQ_REMOVE(&c->reqs, r, entry);
	c->ninflight--;
	memset(&res, 0, sizeof(res));
	res.method = r->method;
	res.grpc_message = r->message;
	if (cancel) {
		r->message[0] = '\0';
		res.grpc_status = GRPC_STATUS_CANCELLED;
		res.transport = 1;
		snprintf(r->errtext, sizeof(r->errtext), "cancelled: gRPC "
		    "client shut down");
		res.error = r->errtext;
	} else
		grpc_req_result(r, rc, &res);
	curl_multi_remove_handle(c->multi, r->easy);
	res.elapsed_ms = elapsed_ms(&r->start);
	r->cb(&res, r->arg);
	grpc_req_free(r);
}

static void
grpc_check_done(struct grpc_client *c)
{
	CURLMsg *m;
	CURL *easy;
	CURLcode rc;
	char *priv;
	int left;

	c->dispatching++;
	while (!c->free_pending &&
	    (m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		rc = m->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		if (priv == NULL)
			continue;
		grpc_req_finish((struct grpc_req *)(void *)priv, rc, 0);
	}
	c->dispatching--;
	if (c->dispatching == 0 && c->free_pending)
		grpc_client_destroy(c);
}

/* ---- client ---- */

static int
check_addr(const char *addr, char *err, size_t errlen)
{
	const char *colon, *p;
	size_t len;
	long port;

	if (addr == NULL || *addr == '\0') {
		seterr(err, errlen, "gRPC address is empty");
		return -1;
	}
	len = strlen(addr);
	if (len > GRPC_ADDR_MAX) {
		seterr(err, errlen, "gRPC address is too long");
		return -1;
	}
	for (p = addr; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("/@?#\\%\"'<>`{}|^", *p) != NULL) {
			seterr(err, errlen, "gRPC address \"%s\": want "
			    "host:port", addr);
			return -1;
		}
	}
	if ((colon = strrchr(addr, ':')) == NULL || colon == addr ||
	    colon[1] == '\0' || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    (port = strtol(colon + 1, NULL, 10)) < 1 || port > 65535 ||
	    (addr[0] == '[' && colon[-1] != ']') ||
	    (addr[0] != '[' && strchr(addr, ':') != colon)) {
		seterr(err, errlen, "gRPC address \"%s\": want host:port",
		    addr);
		return -1;
	}
	return 0;
}

struct grpc_client *
grpc_client_new(struct event_base *base, const struct grpc_opts *opts,
    char *err, size_t errlen)
{
	struct grpc_client *c = NULL;
	struct curlc_tls tlsm;
	int have_ca, have_cert;
	size_t len;

	if (base == NULL || opts == NULL) {
		seterr(err, errlen, "grpc_client_new: no event base or options");
		return NULL;
	}
	if (check_addr(opts->addr, err, errlen) == -1)
		return NULL;
	if (opts->instance != NULL && (strlen(opts->instance) == 0 ||
	    strlen(opts->instance) > 200 ||
	    strspn(opts->instance, "!#$%&'*+-.^_`|~0123456789:@/"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
	    strlen(opts->instance))) {
		seterr(err, errlen, "instance id: 1 to 200 letters, digits or "
		    "!#$%%&'*+-.^_`|~:@/");
		return NULL;
	}
	have_ca = opts->ca_file != NULL && *opts->ca_file != '\0';
	have_cert = opts->cert_file != NULL && *opts->cert_file != '\0';
	if (curlc_tls_init(&tlsm, CURLC_TLS_FILES, opts->ca_file,
	    opts->cert_file, opts->key_file, "gRPC", err, errlen) == -1)
		return NULL;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		curlc_tls_fini(&tlsm);
		goto oom;
	}
	c->tlsm = tlsm;
	TAILQ_INIT(&c->reqs);
	LIST_INIT(&c->socks);
	c->base = base;
	c->tls = have_ca || have_cert;
	/*
	 * libcurl before 8.0.0 (Debian 12 has 7.88.1) breaks a reused h2c
	 * prior-knowledge connection: the second call on it fails with "Error
	 * in the HTTP2 framing layer" (curl issue 10634, fixed by PR 10643).
	 * There, each h2c call gets its own connection; TLS (ALPN h2) reuses
	 * and multiplexes fine.
	 */
	c->no_reuse = !c->tls &&
	    curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
	c->max_response = opts->max_response_bytes ?
	    opts->max_response_bytes : GRPC_DEFAULT_MAX_RESPONSE;
	if (c->max_response > UINT32_MAX)
		c->max_response = UINT32_MAX;
	len = strlen(opts->addr) + sizeof("https://");
	if (opts->instance != NULL) {
		size_t hl = strlen(opts->instance) +
		    sizeof("x-vartrack-watcher-instance: ");

		if ((c->instance_hdr = malloc(hl)) == NULL)
			goto oom;
		snprintf(c->instance_hdr, hl, "x-vartrack-watcher-instance: %s",
		    opts->instance);
	}
	if ((c->addr = strdup(opts->addr)) == NULL ||
	    (c->baseurl = malloc(len)) == NULL)
		goto oom;
	snprintf(c->baseurl, len, "%s://%s", c->tls ? "https" : "http",
	    opts->addr);

	if (curlc_global_init(err, errlen) == -1)
		goto fail;
	c->curl_inited = 1;
	if ((c->timer = evtimer_new(base, grpc_timer_event_cb, c)) == NULL ||
	    (c->multi = curl_multi_init()) == NULL)
		goto oom;
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION,
	    grpc_curl_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION,
	    grpc_curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX) != CURLM_OK) {
		seterr(err, errlen, "curl_multi_setopt failed");
		goto fail;
	}
	return c;

 oom:
	seterr(err, errlen, "gRPC client: out of memory");
 fail:
	if (c != NULL)
		grpc_client_destroy(c);
	return NULL;
}

size_t
grpc_client_inflight(const struct grpc_client *c)
{
	return c != NULL ? c->ninflight : 0;
}

static void
grpc_client_destroy(struct grpc_client *c)
{
	struct grpc_req *r;
	struct grpc_sock *gs;

	c->closing = 1;
	while ((r = TAILQ_FIRST(&c->reqs)) != NULL)
		grpc_req_finish(r, CURLE_OK, 1);
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	while ((gs = LIST_FIRST(&c->socks)) != NULL)
		grpc_sock_free(gs);
	if (c->timer != NULL)
		event_free(c->timer);
	free(c->addr);
	free(c->instance_hdr);
	free(c->baseurl);
	curlc_tls_fini(&c->tlsm);
	if (c->curl_inited)
		curlc_global_cleanup();
	free(c);
}

void
grpc_client_free(struct grpc_client *c)
{
	if (c == NULL || c->closing)
		return;
	if (c->dispatching > 0) {
		c->free_pending = 1;
		return;
	}
	grpc_client_destroy(c);
}

static int
check_method(const char *m)
{
	const char *p;

	if (m == NULL || m[0] != '/' || strlen(m) > GRPC_METHOD_MAX)
		return -1;
	for (p = m + 1; *p != '\0'; p++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-/", *p) == NULL)
			return -1;
	return 0;
}

static int
grpc_call_flags(struct grpc_client *c, const char *method, const void *msg,
    size_t len, uint64_t timeout_ms, int expect_empty, grpc_done_fn cb,
    void *arg, char *err, size_t errlen)
{
	struct grpc_req *r = NULL;
	struct curl_slist *h;
	char tmo[32], hdr[64];
	size_t ulen;
	CURL *e;
	int bad = 0;

	if (c == NULL || cb == NULL || (msg == NULL && len > 0)) {
		seterr(err, errlen, "grpc_call: bad arguments");
		return -1;
	}
	if (check_method(method) == -1) {
		seterr(err, errlen, "grpc_call: bad method path");
		return -1;
	}
	if (timeout_ms == 0 || timeout_ms > GRPC_TIMEOUT_MAX_MS ||
	    grpc_timeout_format(tmo, sizeof(tmo), timeout_ms) == -1) {
		seterr(err, errlen, "grpc_call: timeout must be 1 ms to 24 h");
		return -1;
	}
	if (len > UINT32_MAX - GRPC_FRAME_PREFIX_LEN) {
		seterr(err, errlen, "grpc_call: message too large");
		return -1;
	}
	if (c->closing || c->free_pending) {
		seterr(err, errlen, "grpc_call: client is shutting down");
		return -1;
	}
	if (c->ninflight >= GRPC_MAX_INFLIGHT) {
		seterr(err, errlen, "grpc_call: %d calls already in flight",
		    GRPC_MAX_INFLIGHT);
		return -1;
	}

	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto oom;
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	r->timeout_ms = timeout_ms;
	r->expect_empty = expect_empty;
	r->reqlen = len + GRPC_FRAME_PREFIX_LEN;
	ulen = strlen(c->baseurl) + strlen(method) + 1;
	if ((r->method = strdup(method)) == NULL ||
	    (r->url = malloc(ulen)) == NULL ||
	    (r->reqbuf = malloc(r->reqlen)) == NULL)
		goto oom;
	snprintf(r->url, ulen, "%s%s", c->baseurl, method);
	grpc_frame_encode(r->reqbuf, r->reqlen, msg, len);

	snprintf(hdr, sizeof(hdr), "grpc-timeout: %s", tmo);
	if ((h = curl_slist_append(NULL, "content-type: application/grpc")) ==
	    NULL)
		goto oom;
	r->hdrs = h;
	if ((h = curl_slist_append(r->hdrs, "te: trailers")) == NULL ||
	    (h = curl_slist_append(r->hdrs, hdr)) == NULL ||
	    (h = curl_slist_append(r->hdrs, "grpc-accept-encoding: identity"))
	    == NULL ||
	    (h = curl_slist_append(r->hdrs, "Accept:")) == NULL ||
	    (h = curl_slist_append(r->hdrs, "Expect:")) == NULL)
		goto oom;
	if (c->instance_hdr != NULL &&
	    (h = curl_slist_append(r->hdrs, c->instance_hdr)) == NULL)
		goto oom;

	if ((e = r->easy = curl_easy_init()) == NULL)
		goto oom;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
	    c->tls ? "https" : "http") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, c->tls ?
	    (long)CURL_HTTP_VERSION_2TLS :
	    (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE) != CURLE_OK;
	if (c->no_reuse) {
		bad |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) !=
		    CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) !=
		    CURLE_OK;
	} else
		bad |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L) != CURLE_OK;
	bad |= curlc_base_setopt(e, NULL, r->curlerr) == -1;
	bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->reqbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->reqlen) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, GRPC_USER_AGENT) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)(timeout_ms + GRPC_TIMEOUT_SLACK_MS)) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, grpc_write_cb) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, grpc_header_cb) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	if (c->tls)
		bad |= curlc_tls_setopt(e, &c->tlsm) == -1;
	if (bad) {
		seterr(err, errlen, "grpc_call: curl_easy_setopt failed");
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		seterr(err, errlen, "grpc_call: curl_multi_add_handle failed");
		goto fail;
	}
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	c->ninflight++;
	return 0;

 oom:
	seterr(err, errlen, "grpc_call: out of memory");
 fail:
	grpc_req_free(r);
	return -1;
}

int
grpc_call(struct grpc_client *c, const char *method, const void *msg,
    size_t len, uint64_t timeout_ms, grpc_done_fn cb, void *arg, char *err,
    size_t errlen)
{
	return grpc_call_flags(c, method, msg, len, timeout_ms, 0, cb, arg,
	    err, errlen);
}

int
grpc_ping(struct grpc_client *c, uint64_t timeout_ms, grpc_done_fn cb,
    void *arg, char *err, size_t errlen)
{
	return grpc_call_flags(c, GRPC_PATH_PING, NULL, 0, timeout_ms, 1, cb,
	    arg, err, errlen);
}

/* ---- vartrack.v1.Watcher messages ---- */

/* 0 if s is valid UTF-8 without control characters (ctl: reject them). */
static int
check_utf8(const char *s, size_t len, int ctl)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if (ctl && (p[i] < 0x20 || p[i] == 0x7f))
			return -1;
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return -1;
		i += n;
	}
	return 0;
}

static int
sync_field(const char **out, const char *name, const char *v, char *err,
    size_t errlen)
{
	size_t len;

	*out = v != NULL ? v : "";
	len = strlen(*out);
	if (len > GRPC_SYNC_FIELD_MAX) {
		seterr(err, errlen, "SyncDatasource: %s longer than %d bytes",
		    name, GRPC_SYNC_FIELD_MAX);
		return -1;
	}
	if (check_utf8(*out, len, 0) == -1) {
		seterr(err, errlen, "SyncDatasource: %s is not valid UTF-8",
		    name);
		return -1;
	}
	return 0;
}

int
grpc_sync_datasource(struct grpc_client *c, const struct grpc_sync_req *req,
    uint64_t timeout_ms, grpc_done_fn cb, void *arg, char *err, size_t errlen)
{
	Vartrack__V1__SyncDatasourceRequest m =
	    VARTRACK__V1__SYNC_DATASOURCE_REQUEST__INIT;
	const char *ds, *pf, *tn, *en, *rs;
	uint8_t *buf = NULL;
	size_t len;
	int rv = -1;

	if (req == NULL) {
		seterr(err, errlen, "SyncDatasource: no request");
		return -1;
	}
	if (sync_field(&ds, "datasource", req->datasource, err, errlen) == -1 ||
	    sync_field(&pf, "platform", req->platform, err, errlen) == -1 ||
	    sync_field(&tn, "tenant", req->tenant, err, errlen) == -1 ||
	    sync_field(&en, "env", req->env, err, errlen) == -1 ||
	    sync_field(&rs, "reason", req->reason, err, errlen) == -1)
		return -1;
	if (*ds == '\0') {
		seterr(err, errlen, "SyncDatasource: datasource is required");
		return -1;
	}
	/* protobuf-c does not write through these */
	m.datasource = (char *)(uintptr_t)ds;
	m.platform = (char *)(uintptr_t)pf;
	m.tenant = (char *)(uintptr_t)tn;
	m.env = (char *)(uintptr_t)en;
	m.reason = (char *)(uintptr_t)rs;
	len = vartrack__v1__sync_datasource_request__get_packed_size(&m);
	if ((buf = malloc(len ? len : 1)) == NULL) {
		seterr(err, errlen, "SyncDatasource: out of memory");
		goto cleanup;
	}
	if (vartrack__v1__sync_datasource_request__pack(&m, buf) != len) {
		seterr(err, errlen, "SyncDatasource: encoding failed");
		goto cleanup;
	}
	rv = grpc_call_flags(c, GRPC_PATH_SYNC_DATASOURCE, buf, len,
	    timeout_ms, 0, cb, arg, err, errlen);
 cleanup:
	free(buf);
	return rv;
}

static int
reply_field(char *dst, size_t dstlen, const char *name, const char *v,
    char *err, size_t errlen)
{
	size_t len = v != NULL ? strlen(v) : 0;

	if (len >= dstlen || len > GRPC_SYNC_TASK_ID_MAX) {
		seterr(err, errlen, "SyncDatasourceResponse: %s too long "
		    "(%zu bytes)", name, len);
		return -1;
	}
	if (check_utf8(v != NULL ? v : "", len, 1) == -1) {
		seterr(err, errlen, "SyncDatasourceResponse: %s is not "
		    "printable UTF-8", name);
		return -1;
	}
	if (len > 0)
		memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

int
grpc_sync_decode(const struct grpc_result *res, char *task_id,
    size_t task_id_len, char *status, size_t status_len, char *err,
    size_t errlen)
{
	Vartrack__V1__SyncDatasourceResponse *m = NULL;
	int rv = -1;

	if (task_id == NULL || task_id_len == 0 || status == NULL ||
	    status_len == 0) {
		seterr(err, errlen, "grpc_sync_decode: no output buffers");
		return -1;
	}
	task_id[0] = status[0] = '\0';
	if (res == NULL || res->error != NULL) {
		seterr(err, errlen, "%s", res != NULL ? res->error :
		    "no result");
		return -1;
	}
	m = vartrack__v1__sync_datasource_response__unpack(NULL, res->msg_len,
	    res->msg);
	if (m == NULL) {
		seterr(err, errlen, "SyncDatasourceResponse: cannot decode "
		    "%zu bytes", res->msg_len);
		goto cleanup;
	}
	if (reply_field(task_id, task_id_len, "task_id", m->task_id, err,
	    errlen) == -1 ||
	    reply_field(status, status_len, "status", m->status, err,
	    errlen) == -1)
		goto cleanup;
	if (task_id[0] == '\0') {
		seterr(err, errlen, "SyncDatasourceResponse: empty task_id");
		goto cleanup;
	}
	rv = 0;
 cleanup:
	if (rv == -1)
		task_id[0] = status[0] = '\0';
	if (m != NULL)
		vartrack__v1__sync_datasource_response__free_unpacked(m, NULL);
	return rv;
}

const struct grpc_api vtw_grpc_api = {
	.version = GRPC_API_VERSION,
	.client_new = grpc_client_new,
	.client_free = grpc_client_free,
	.sync_datasource = grpc_sync_datasource,
	.sync_decode = grpc_sync_decode,
	.ping = grpc_ping,
	.status_name = grpc_status_name,
};
