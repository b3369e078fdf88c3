/*
 * k8s_client: see k8s_client.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "curl_common.h"
#include "http.h"
#include "k8s_client.h"
#include "log.h"

struct k8s_client {
	struct http_client	*http;
	char			*api_server;
	char			*token;		/* NULL: none */
	char			*token_file;	/* NULL: none */
	char			*what;
	time_t			 token_read_at;	/* monotonic s */
	int			 token_warned;
	time_t			 throttled_until;
};

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s != NULL ? s : "")) == NULL)
		fatal("strdup");
	return p;
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
copy_cut(char *dst, size_t dstlen, const char *src)
{
	snprintf(dst, dstlen, "%s", src != NULL ? src : "");
}

int
k8s_status_parse(struct k8s_status *out, const json_t *j)
{
	const json_t *d;
	const char *kind;
	json_int_t n;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j) || (kind = json_string_value(json_object_get(j,
	    "kind"))) == NULL || strcmp(kind, "Status") != 0)
		return -1;
	copy_cut(out->reason, sizeof(out->reason),
	    json_string_value(json_object_get(j, "reason")));
	copy_cut(out->message, sizeof(out->message),
	    json_string_value(json_object_get(j, "message")));
	if (json_is_integer(json_object_get(j, "code")))
		out->code = (long)json_integer_value(json_object_get(j,
		    "code"));
	if (json_is_object(d = json_object_get(j, "details"))) {
		copy_cut(out->details_kind, sizeof(out->details_kind),
		    json_string_value(json_object_get(d, "kind")));
		if (json_is_integer(json_object_get(d, "retryAfterSeconds"))) {
			n = json_integer_value(json_object_get(d,
			    "retryAfterSeconds"));
			out->retry_after = n > 0 && n <= K8S_RETRY_AFTER_MAX_SEC ?
			    (long)n : n > 0 ? K8S_RETRY_AFTER_MAX_SEC : 0;
		}
	}
	return 0;
}

long
k8s_retry_after_parse(const char *s)
{
	long v = 0;

	if (s == NULL)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (*s - '0');
		if (v > 1000000)
			v = 1000000;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\0' ? v : -1;
}

/* Re-read the token file (trimmed); 0 when the token changed, 1 when
 * unchanged, -1 when it could not be read (the token kept). */
static int
token_reread(struct k8s_client *c)
{
	char buf[K8S_TOKEN_MAX_BYTES + 1];
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1, saved;

	c->token_read_at = mono_now();
	if ((fd = open(c->token_file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) ==
	    -1)
		goto fail;
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	saved = errno;
	close(fd);
	errno = saved;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (len == 0 || len == sizeof(buf) - 1 || strlen(buf) != len) {
		errno = EINVAL;
		goto fail;
	}
	c->token_warned = 0;
	if (c->token != NULL && strcmp(c->token, buf) == 0)
		rc = 1;
	else {
		wipe_free(c->token);
		c->token = xstrdup(buf);
		rc = 0;
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
 fail:
	explicit_bzero(buf, sizeof(buf));
	if (!c->token_warned)
		log_warnx("%s: cannot re-read token_file %s (%s): keeping the "
		    "token read before", c->what, c->token_file,
		    errno == EINVAL ? "empty, too long or holding a NUL byte" :
		    strerror(errno));
	c->token_warned = 1;
	return -1;
}

int
k8s_client_new(struct k8s_client **out, const struct k8s_opts *o, char *err,
    size_t errlen)
{
	struct k8s_client *c;
	struct http_opts ho;

	*out = NULL;
	if (o->api_server == NULL || *o->api_server == '\0') {
		curlc_seterr(err, errlen, "no api_server");
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	c->api_server = xstrdup(o->api_server);
	c->what = xstrdup(o->what != NULL ? o->what : "kubernetes");
	if (o->token != NULL && *o->token != '\0')
		c->token = xstrdup(o->token);
	if (o->token_file != NULL && *o->token_file != '\0') {
		c->token_file = xstrdup(o->token_file);
		c->token_read_at = mono_now();
	}
	memset(&ho, 0, sizeof(ho));
	ho.ca_pem = o->ca_pem;
	ho.cert_pem = o->cert_pem;
	ho.key_pem = o->key_pem;
	ho.insecure_http = strncmp(o->api_server, "http://", 7) == 0;
	ho.insecure_tls = o->insecure_skip_tls_verify;
	ho.connect_timeout_ms = o->connect_timeout_ms;
	ho.timeout_ms = o->timeout_ms;
	ho.max_body = o->max_body;
	if (http_client_new(&c->http, &ho, err, errlen) == -1) {
		k8s_client_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void
k8s_client_free(struct k8s_client *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	free(c->api_server);
	wipe_free(c->token);
	free(c->token_file);
	free(c->what);
	free(c);
}

void
k8s_resp_fini(struct k8s_resp *r)
{
	if (r->json != NULL)
		json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static int
get_once(struct k8s_client *c, const char *url, struct k8s_resp *out,
    char *err, size_t errlen)
{
	static const char *const hdrs[] = { "Accept: application/json", NULL };
	struct http_req req;
	struct http_resp r;
	json_error_t je;

	memset(&req, 0, sizeof(req));
	req.method = HTTP_GET;
	req.url = url;
	req.headers = hdrs;
	req.bearer_token = c->token;
	if (http_request(&r, c->http, &req, err, errlen) == -1)
		return -1;
	memset(out, 0, sizeof(*out));
	out->status = r.status;
	out->elapsed_ms = r.elapsed_ms;
	out->json = json_loadb(r.body, r.body_len, JSON_ALLOW_NUL, &je);
	out->is_status = out->json != NULL &&
	    k8s_status_parse(&out->st, out->json) == 0;
	if (out->is_status)
		curlc_scrub(out->st.message, sizeof(out->st.message), c->token);
	if (r.status == 429) {
		long ra = k8s_retry_after_parse(http_resp_header(&r,
		    "Retry-After"));

		if (ra <= 0)
			ra = out->is_status && out->st.retry_after > 0 ?
			    out->st.retry_after : K8S_RETRY_AFTER_DEFAULT_SEC;
		if (ra > K8S_RETRY_AFTER_MAX_SEC)
			ra = K8S_RETRY_AFTER_MAX_SEC;
		out->st.retry_after = ra;
		c->throttled_until = mono_now() + ra;
	}
	http_resp_fini(&r);
	return 0;
}

int
k8s_get(struct k8s_client *c, const char *path, struct k8s_resp *out,
    char *err, size_t errlen)
{
	char *url;
	time_t now = mono_now();
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->throttled_until > now) {
		curlc_seterr(err, errlen, "GET %s: throttled by the API server "
		    "(429 TooManyRequests): next request in %lld s", path,
		    (long long)(c->throttled_until - now));
		return -1;
	}
	if (c->token_file != NULL &&
	    now - c->token_read_at >= K8S_TOKEN_REREAD_SEC)
		(void)token_reread(c);
	if (asprintf(&url, "%s%s", c->api_server, path) == -1)
		fatal("asprintf");
	rc = get_once(c, url, out, err, errlen);
	/* a rotated token: read the file again and retry once */
	if (rc == 0 && out->status == 401 && c->token_file != NULL &&
	    token_reread(c) == 0) {
		log_info("%s: 401 with the token read before; token_file "
		    "changed, retrying", c->what);
		k8s_resp_fini(out);
		rc = get_once(c, url, out, err, errlen);
	}
	free(url);
	return rc;
}

void
k8s_resp_error(const struct k8s_client *c, const char *path,
    const struct k8s_resp *r, char *out, size_t outlen)
{
	if (r->is_status)
		snprintf(out, outlen, "GET %s: %ld %s: %s", path, r->status,
		    *r->st.reason != '\0' ? r->st.reason : "(no reason)",
		    *r->st.message != '\0' ? r->st.message : "(no message)");
	else
		snprintf(out, outlen, "GET %s: HTTP %ld (not a Kubernetes "
		    "Status)", path, r->status);
	if (r->status == 429)
		snprintf(out + strlen(out), outlen - strlen(out),
		    "; backing off %ld s", r->st.retry_after);
	curlc_scrub(out, outlen, c->token);
}

/* ---- watches ---- */

size_t
k8s_wstream_feed(struct k8s_wstream *w, long status, const char *p, size_t n)
{
	const char *nl;
	json_error_t je;
	json_t *ev;
	size_t i, take;

	w->status = status;
	for (i = 0; i < n; i += take) {
		nl = memchr(p + i, '\n', n - i);
		take = nl != NULL ? (size_t)(nl - (p + i)) + 1 : n - i;
		if (w->len + take > K8S_WATCH_LINE_MAX) {
			w->too_long = 1;
			return 0;
		}
		if (w->len + take + 1 > w->cap) {
			w->cap = w->len + take + 1 < 4096 ? 4096 :
			    (w->len + take + 1) * 2;
			if ((w->buf = realloc(w->buf, w->cap)) == NULL)
				fatal("realloc");
		}
		memcpy(w->buf + w->len, p + i, take);
		w->len += take;
		if (nl == NULL || status != 200)
			continue;	/* a Status is read whole at the end */
		ev = json_loadb(w->buf, w->len, 0, &je);
		w->len = 0;
		if (ev == NULL)
			continue;	/* a blank or broken line: skipped */
		if (w->on_event(ev, w->arg) == -1) {
			json_decref(ev);
			w->stopped = 1;
			return 0;
		}
		json_decref(ev);
	}
	return n;
}

void
k8s_wstream_fini(struct k8s_wstream *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static size_t
watch_data(long status, const char *p, size_t n, void *arg)
{
	return k8s_wstream_feed(arg, status, p, n);
}

int
k8s_event_parse(struct k8s_event *out, const json_t *ev)
{
	static const struct {
		const char		*name;
		enum k8s_ev_type	 type;
	} types[] = {
		{ "ADDED", K8S_EV_ADDED },
		{ "MODIFIED", K8S_EV_MODIFIED },
		{ "DELETED", K8S_EV_DELETED },
		{ "BOOKMARK", K8S_EV_BOOKMARK },
		{ "ERROR", K8S_EV_ERROR },
	};
	const json_t *obj;
	const char *type, *rv;
	size_t i;

	memset(out, 0, sizeof(*out));
	if ((type = json_string_value(json_object_get(ev, "type"))) == NULL)
		return -1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i].name) == 0)
			out->type = types[i].type;
	obj = json_object_get(ev, "object");
	if (out->type == K8S_EV_ERROR) {
		if (k8s_status_parse(&out->st, obj) == -1 &&
		    json_is_integer(json_object_get(obj, "code")))
			out->st.code = (long)json_integer_value(
			    json_object_get(obj, "code"));
		return 0;
	}
	rv = json_string_value(json_object_get(json_object_get(obj,
	    "metadata"), "resourceVersion"));
	if (rv != NULL && *rv != '\0' && strlen(rv) < sizeof(out->rv) &&
	    strspn(rv, "0123456789") == strlen(rv))
		memcpy(out->rv, rv, strlen(rv) + 1);
	return 0;
}

int
k8s_watch(struct k8s_client *c, const char *path, long timeout_ms,
    int (*on_event)(json_t *, void *), void *arg, const atomic_int *abort,
    long *status, struct k8s_status *st, char *err, size_t errlen)
{
	static const char *const hdrs[] = { "Accept: application/json", NULL };
	struct http_req req;
	struct http_resp r;
	struct k8s_wstream w;
	json_error_t je;
	json_t *j;
	char *url;
	int rc;

	memset(st, 0, sizeof(*st));
	memset(&w, 0, sizeof(w));
	*status = 0;
	if (c->token_file != NULL &&
	    mono_now() - c->token_read_at >= K8S_TOKEN_REREAD_SEC)
		(void)token_reread(c);
	if (asprintf(&url, "%s%s", c->api_server, path) == -1)
		fatal("asprintf");
	w.on_event = on_event;
	w.arg = arg;
	memset(&req, 0, sizeof(req));
	req.method = HTTP_GET;
	req.url = url;
	req.headers = hdrs;
	req.bearer_token = c->token;
	req.timeout_ms = timeout_ms;
	req.on_data = watch_data;
	req.on_data_arg = &w;
	req.abort_flag = abort;
	rc = http_request(&r, c->http, &req, err, errlen);
	if (rc == 0) {
		*status = r.status;
		http_resp_fini(&r);
	} else if (w.stopped && !w.too_long) {
		rc = 0;		/* on_event ended it */
		*status = w.status;
	} else if (w.too_long)
		curlc_seterr(err, errlen, "watch %s: an event over %u bytes",
		    path, K8S_WATCH_LINE_MAX);
	if (rc == 0 && *status != 200 && w.len > 0 &&
	    (j = json_loadb(w.buf, w.len, 0, &je)) != NULL) {
		if (k8s_status_parse(st, j) == 0)
			curlc_scrub(st->message, sizeof(st->message), c->token);
		json_decref(j);
	}
	if (rc == 0 && *status == 401 && c->token_file != NULL)
		(void)token_reread(c);
	k8s_wstream_fini(&w);
	free(url);
	return rc;
}
