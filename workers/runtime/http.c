/*
 * http: the workers' blocking HTTP(S) client on one libcurl easy handle.
 * See http.h for the contract; the libcurl set-up it shares with the gRPC
 * client is in ipc/curl_common.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "curl_common.h"
#include "http.h"

#define HTTP_TIMEOUT_MAX_MS	(3600L * 1000)
#define HTTP_BODY_INITIAL	4096
#define HTTP_BODY_LIMIT		((size_t)1 << 30)	/* max_body at most */
#define HTTP_URL_SHOWN		256	/* bytes of a redacted URL in errors */

#define seterr			curlc_seterr

struct http_client {
	CURL			*easy;
	struct curlc_tls	 tls;
	char			*proxy;
	char			*user_agent;
	int			 insecure_http;
	int			 insecure_tls;
	long			 connect_timeout_ms;
	long			 timeout_ms;
	size_t			 max_body;
	int			 curl_inited;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* Credentials of one request, to keep out of its error text. */
struct secrets {
	char	**v;
	size_t	  n, cap;
};

/* One transfer: what the callbacks build. */
struct xfer {
	struct http_client	*c;
	const struct http_req	*req;
	char			*body;
	size_t			 body_len, body_cap;
	int			 too_large;
	int			 oom;
	struct http_header	*hdrs;
	size_t			 nhdrs, hdr_bytes;
	int			 hdrs_truncated;
};

static const char *const http_method_names[] = {
	[HTTP_GET] = "GET",
	[HTTP_HEAD] = "HEAD",
	[HTTP_PUT] = "PUT",
	[HTTP_POST] = "POST",
	[HTTP_DELETE] = "DELETE",
};

const char *
http_method_name(enum http_method m)
{
	if ((unsigned)m >= sizeof(http_method_names) /
	    sizeof(http_method_names[0]))
		return "?";
	return http_method_names[m];
}

static char *
dupstr(const char *s)
{
	return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

static int
check_timeout(long ms)
{
	return ms >= 0 && ms <= HTTP_TIMEOUT_MAX_MS ? 0 : -1;
}

int
http_client_new(struct http_client **out, const struct http_opts *opts,
    char *err, size_t errlen)
{
	struct http_client *c = NULL;
	struct curlc_tls_src src;

	*out = NULL;
	if (opts == NULL) {
		seterr(err, errlen, "http_client_new: no options");
		return -1;
	}
	if (check_timeout(opts->connect_timeout_ms) == -1 ||
	    check_timeout(opts->timeout_ms) == -1) {
		seterr(err, errlen, "http: timeouts must be 0 (default) to "
		    "%ld ms", HTTP_TIMEOUT_MAX_MS);
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto oom;
	if (curlc_global_init(err, errlen) == -1)
		goto fail;
	c->curl_inited = 1;
	src.ca_file = opts->ca_file;
	src.cert_file = opts->cert_file;
	src.key_file = opts->key_file;
	src.ca_pem = opts->ca_pem;
	src.cert_pem = opts->cert_pem;
	src.key_pem = opts->key_pem;
	if (curlc_tls_init_src(&c->tls, CURLC_TLS_BLOBS, &src, "http", err,
	    errlen) == -1)
		goto fail;
	c->insecure_http = opts->insecure_http != 0;
	c->insecure_tls = opts->insecure_tls != 0;
	c->connect_timeout_ms = opts->connect_timeout_ms ?
	    opts->connect_timeout_ms : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = opts->timeout_ms ? opts->timeout_ms :
	    HTTP_DEFAULT_TIMEOUT_MS;
	c->max_body = opts->max_body ? opts->max_body : HTTP_DEFAULT_MAX_BODY;
	if (c->max_body > HTTP_BODY_LIMIT)
		c->max_body = HTTP_BODY_LIMIT;
	if ((opts->proxy != NULL && *opts->proxy != '\0' &&
	    (c->proxy = dupstr(opts->proxy)) == NULL) ||
	    (c->user_agent = strdup(opts->user_agent != NULL ?
	    opts->user_agent : HTTP_USER_AGENT_DEFAULT)) == NULL ||
	    (c->easy = curl_easy_init()) == NULL)
		goto oom;
	*out = c;
	return 0;

 oom:
	seterr(err, errlen, "http client: out of memory");
 fail:
	http_client_free(c);
	return -1;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curlc_tls_fini(&c->tls);
	free(c->proxy);
	free(c->user_agent);
	if (c->curl_inited)
		curlc_global_cleanup();
	free(c);
}

/* ---- response ---- */

static void
headers_free(struct http_header *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

void
http_resp_fini(struct http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	headers_free(r->headers, r->nheaders);
	memset(r, 0, sizeof(*r));
}

const char *
http_resp_header(const struct http_resp *r, const char *name)
{
	size_t i;

	if (r == NULL || name == NULL)
		return NULL;
	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb, max = x->c->max_body, ncap;
	char *nb;
	long status = 0;

	if (x->req->on_data != NULL) {
		if (x->req->abort_flag != NULL && atomic_load(x->req->abort_flag))
			return 0;
		curl_easy_getinfo(x->c->easy, CURLINFO_RESPONSE_CODE, &status);
		return x->req->on_data(status, ptr, n, x->req->on_data_arg);
	}
	if (n > max - x->body_len) {
		x->too_large = 1;
		return 0;	/* aborts the transfer */
	}
	if (x->body_len + n + 1 > x->body_cap) {
		ncap = x->body_cap ? x->body_cap : HTTP_BODY_INITIAL;
		while (ncap < x->body_len + n + 1)
			ncap = ncap > (max + 1) / 2 ? max + 1 : ncap * 2;
		if ((nb = realloc(x->body, ncap)) == NULL) {
			x->oom = 1;
			return 0;
		}
		x->body = nb;
		x->body_cap = ncap;
	}
	memcpy(x->body + x->body_len, ptr, n);
	x->body_len += n;
	return n;
}

/* a streamed request's abort flag, read by libcurl about once a second */
static int
xferinfo_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const struct xfer *x = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->req->abort_flag != NULL && atomic_load(x->req->abort_flag);
}

/* One header line per call; a status line starts a new response. */
static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nitems, nlen, vlen;
	struct http_header *h;
	const char *v;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		headers_free(x->hdrs, x->nhdrs);
		x->hdrs = NULL;
		x->nhdrs = x->hdr_bytes = 0;
		x->hdrs_truncated = 0;
		return n;
	}
	if (curlc_header_split(buf, n, &nlen, &v, &vlen) == -1)
		return n;	/* the blank line, or a folded line */
	if (x->nhdrs >= HTTP_HEADERS_COUNT ||
	    nlen + vlen > HTTP_HEADERS_MAX - x->hdr_bytes) {
		x->hdrs_truncated = 1;
		return n;
	}
	if (x->nhdrs % 16 == 0) {
		if ((h = reallocarray(x->hdrs, x->nhdrs + 16,
		    sizeof(*h))) == NULL) {
			x->oom = 1;
			return 0;
		}
		x->hdrs = h;
	}
	h = &x->hdrs[x->nhdrs];
	if ((h->name = strndup(buf, nlen)) == NULL ||
	    (h->value = strndup(v, vlen)) == NULL) {
		free(h->name);
		x->oom = 1;
		return 0;
	}
	x->nhdrs++;
	x->hdr_bytes += nlen + vlen;
	return n;
}

/* ---- secrets ---- */

static int
secrets_add(struct secrets *s, const char *v, size_t len)
{
	char **nv;

	if (len < 3)
		return 0;	/* curlc_scrub ignores those */
	if (s->n == s->cap) {
		if ((nv = reallocarray(s->v, s->cap + 8, sizeof(*nv))) ==
		    NULL)
			return -1;
		s->v = nv;
		s->cap += 8;
	}
	if ((s->v[s->n] = strndup(v, len)) == NULL)
		return -1;
	s->n++;
	return 0;
}

static void
secrets_free(struct secrets *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		explicit_bzero(s->v[i], strlen(s->v[i]));
		free(s->v[i]);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The query, then each value in it ("a=v1&b=v2"), both raw and decoded. */
static int
secrets_add_query(struct secrets *s, const char *q)
{
	const char *p, *amp, *eq;
	char *dec;
	int dlen;

	if (secrets_add(s, q, strlen(q)) == -1)
		return -1;
	for (p = q; *p != '\0'; p = *amp ? amp + 1 : amp) {
		amp = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			continue;
		if (secrets_add(s, eq + 1, (size_t)(amp - eq - 1)) == -1)
			return -1;
		dec = curl_easy_unescape(NULL, eq + 1, (int)(amp - eq - 1),
		    &dlen);
		if (dec == NULL)
			return -1;
		if (secrets_add(s, dec, (size_t)dlen) == -1) {
			curl_free(dec);
			return -1;
		}
		explicit_bzero(dec, (size_t)dlen);
		curl_free(dec);
	}
	return 0;
}

/* ---- request ---- */

static void
slist_free_wipe(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static int
header_line_ok(const char *h)
{
	const char *colon = strchr(h, ':');

	return colon != NULL && colon != h && strpbrk(h, "\r\n") == NULL;
}

/*
 * Checks the URL's scheme against the client's and collects its
 * credentials (userinfo, query) into s. 0, or -1 with err set.
 */
static int
check_url(struct http_client *c, const char *url, struct secrets *s,
    const char *shown, const char *mname, char *err, size_t errlen)
{
	CURLU *u;
	char *scheme = NULL, *user = NULL, *pass = NULL, *query = NULL;
	int rv = -1;

	if ((u = curl_url()) == NULL) {
		seterr(err, errlen, "http: out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		seterr(err, errlen, "%s %s: not a valid absolute URL", mname,
		    shown);
		goto cleanup;
	}
	if (strcmp(scheme, "https") != 0 &&
	    !(c->insecure_http && strcmp(scheme, "http") == 0)) {
		seterr(err, errlen, "%s %s: scheme \"%s\" refused: %s", mname,
		    shown, scheme, c->insecure_http ? "http or https only" :
		    "https only (the datasource does not set insecure_http)");
		goto cleanup;
	}
	(void)curl_url_get(u, CURLUPART_USER, &user, 0);
	(void)curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
	(void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
	if ((user != NULL && secrets_add(s, user, strlen(user)) == -1) ||
	    (pass != NULL && secrets_add(s, pass, strlen(pass)) == -1) ||
	    (query != NULL && secrets_add_query(s, query) == -1)) {
		seterr(err, errlen, "http: out of memory");
		goto cleanup;
	}
	rv = 0;
 cleanup:
	curl_free(scheme);
	if (user != NULL)
		explicit_bzero(user, strlen(user));
	if (pass != NULL)
		explicit_bzero(pass, strlen(pass));
	curl_free(user);
	curl_free(pass);
	curl_free(query);
	curl_url_cleanup(u);
	return rv;
}

/* Request headers (caller's, bearer token, default Content-Type) into *l,
 * their values into s. 0, or -1 (a bad line: *bad set; or OOM). */
static int
build_headers(const struct http_req *req, struct curl_slist **l,
    struct secrets *s, int *bad)
{
	struct curl_slist *n;
	const char *const *h;
	const char *v;
	char *line;
	size_t len;
	int has_ctype = 0;

	*l = NULL;
	*bad = 0;
	for (h = req->headers; h != NULL && *h != NULL; h++) {
		if (!header_line_ok(*h)) {
			*bad = 1;
			return -1;
		}
		if (strncasecmp(*h, "content-type:", 13) == 0)
			has_ctype = 1;
		v = strchr(*h, ':') + 1;
		v += strspn(v, " \t");
		if (secrets_add(s, v, strlen(v)) == -1 ||
		    (n = curl_slist_append(*l, *h)) == NULL)
			return -1;
		*l = n;
	}
	if (req->bearer_token != NULL) {
		if (strpbrk(req->bearer_token, "\r\n") != NULL ||
		    *req->bearer_token == '\0') {
			*bad = 1;
			return -1;
		}
		len = strlen(req->bearer_token) + sizeof("Authorization: "
		    "Bearer ");
		if (secrets_add(s, req->bearer_token,
		    strlen(req->bearer_token)) == -1 ||
		    (line = malloc(len)) == NULL)
			return -1;
		snprintf(line, len, "Authorization: Bearer %s",
		    req->bearer_token);
		n = curl_slist_append(*l, line);
		explicit_bzero(line, len);
		free(line);
		if (n == NULL)
			return -1;
		*l = n;
	}
	if ((req->method == HTTP_PUT || req->method == HTTP_POST) &&
	    !has_ctype) {
		if ((n = curl_slist_append(*l,
		    "Content-Type: application/octet-stream")) == NULL)
			return -1;
		*l = n;
	}
	return 0;
}

static int
set_method(CURL *e, const struct http_req *req)
{
	static const char nobody[] = "";
	const void *b = req->body != NULL ? req->body : nobody;
	int bad = 0;

	switch (req->method) {
	case HTTP_GET:
		bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
		break;
	case HTTP_HEAD:
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
		break;
	case HTTP_PUT:
	case HTTP_POST:
		/* POSTFIELDS for PUT too: it is what SigV4 hashes (7.88) */
		bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, b) != CURLE_OK;
		if (req->method == HTTP_PUT)
			bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
			    "PUT") != CURLE_OK;
		break;
	case HTTP_DELETE:
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE") !=
		    CURLE_OK;
		break;
	}
	return bad ? -1 : 0;
}

static int
set_options(struct http_client *c, const struct http_req *req,
    struct curl_slist *hdrs, struct xfer *x)
{
	CURL *e = c->easy;
	long tmo = req->timeout_ms ? req->timeout_ms : c->timeout_ms;
	int bad = 0;

	bad |= curlc_base_setopt(e, c->proxy, c->errbuf) == -1;
	bad |= curlc_tls_setopt(e, &c->tls) == -1;
	if (c->insecure_tls)
		bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) !=
		    CURLE_OK || curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
		    0L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->insecure_http ?
	    "http,https" : "https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	/* the path goes out as the caller encoded it (SigV4 signs it so) */
	bad |= curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    c->connect_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L) !=
	    CURLE_OK;
	/* refuses an announced oversize body at once; not on HEAD, whose
	 * Content-Length is the size of a body that does not come */
	if (req->abort_flag != NULL) {
		bad |= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION,
		    xferinfo_cb) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_XFERINFODATA, x) != CURLE_OK;
	}
	if (req->method != HTTP_HEAD && req->on_data == NULL)
		bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)c->max_body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK;
	if (hdrs != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs) !=
		    CURLE_OK;
	if (req->aws_sigv4 != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_AWS_SIGV4,
		    req->aws_sigv4) != CURLE_OK;
	if (req->username != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_USERNAME, req->username) !=
		    CURLE_OK;
	if (req->password != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_PASSWORD, req->password) !=
		    CURLE_OK;
	bad |= set_method(e, req) == -1;
	return bad ? -1 : 0;
}

int
http_request(struct http_resp *out, struct http_client *c,
    const struct http_req *req, char *err, size_t errlen)
{
	struct secrets s = { NULL, 0, 0 };
	struct curl_slist *hdrs = NULL;
	struct xfer x;
	char shown[HTTP_URL_SHOWN], why[CURL_ERROR_SIZE + 128];
	const char *mname;
	curl_off_t us = 0;
	CURLcode rc;
	int rv = -1, badhdr = 0, tls;

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.req = req;
	if (c == NULL || req == NULL || req->url == NULL) {
		seterr(err, errlen, "http_request: bad arguments");
		return -1;
	}
	mname = http_method_name(req->method);
	curlc_url_redact(shown, sizeof(shown), req->url);
	if (strcmp(mname, "?") == 0 || check_timeout(req->timeout_ms) == -1 ||
	    (req->body == NULL && req->body_len > 0) ||
	    ((req->body != NULL || req->body_len > 0) &&
	    req->method != HTTP_PUT && req->method != HTTP_POST)) {
		seterr(err, errlen, "%s %s: bad request (method, timeout or "
		    "body)", mname, shown);
		return -1;
	}
	if (check_url(c, req->url, &s, shown, mname, err, errlen) == -1)
		goto cleanup;
	if ((req->username != NULL && secrets_add(&s, req->username,
	    strlen(req->username)) == -1) ||
	    (req->password != NULL && secrets_add(&s, req->password,
	    strlen(req->password)) == -1) ||
	    build_headers(req, &hdrs, &s, &badhdr) == -1) {
		if (badhdr)
			seterr(err, errlen, "%s %s: bad request header (want "
			    "\"Name: value\" on one line)", mname, shown);
		else
			seterr(err, errlen, "%s %s: out of memory", mname,
			    shown);
		goto cleanup;
	}

	curl_easy_reset(c->easy);	/* keeps connections and caches */
	if (set_options(c, req, hdrs, &x) == -1) {
		seterr(err, errlen, "%s %s: curl_easy_setopt failed", mname,
		    shown);
		goto cleanup;
	}
	rc = curl_easy_perform(c->easy);
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS,
	    &out->new_connections);
	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &us);
	out->elapsed_ms = (long)(us / 1000);

	if (x.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		seterr(err, errlen, "%s %s: response body over %zu bytes",
		    mname, shown, c->max_body);
		goto cleanup;
	}
	if (x.oom) {
		seterr(err, errlen, "%s %s: out of memory", mname, shown);
		goto cleanup;
	}
	if (rc != CURLE_OK) {
		curlc_errtext(why, sizeof(why), rc, c->errbuf,
		    (const char *const *)s.v, s.n);
		tls = strncasecmp(req->url, "https:", 6) == 0;
		seterr(err, errlen, "%s %s: %s%s", mname, shown, why,
		    curlc_tls_hint(&c->tls, tls, rc, out->status));
		goto cleanup;
	}
	if (x.body == NULL && (x.body = malloc(1)) == NULL) {
		seterr(err, errlen, "%s %s: out of memory", mname, shown);
		goto cleanup;
	}
	x.body[x.body_len] = '\0';
	out->body = x.body;
	out->body_len = x.body_len;
	out->headers = x.hdrs;
	out->nheaders = x.nhdrs;
	out->headers_truncated = x.hdrs_truncated;
	x.body = NULL;
	x.hdrs = NULL;
	x.nhdrs = 0;
	rv = 0;

 cleanup:
	/* the handle must not keep pointers into this call's data */
	curl_easy_reset(c->easy);
	if (rv == -1) {
		free(x.body);
		headers_free(x.hdrs, x.nhdrs);
		memset(out, 0, sizeof(*out));
	}
	slist_free_wipe(hdrs);
	secrets_free(&s);
	return rv;
}
