/*
 * vartrack-worker-s3: reads what the orchestrator writes into S3
 * (interop §3.4) over HTTP(S) with libcurl's SigV4 (workers/runtime/http.c;
 * the quirks of libcurl 7.88 in spec/backends-http-ha.md §1.2: the payload
 * hash header is added here, the path and the query are sent already
 * canonical, a session token goes in x-amz-security-token, signed).
 *
 * config.json (default): one HEAD per poll; its ETag equal to the last one
 * seen reuses the object parsed then. A new ETag: a GET with If-None-Match
 * (a 304 reuses the cache too), the flat JSON object parsed (jansson), and
 * its tags read once (GetObjectTagging: the marker).
 *
 * s3_one_file_per_key: ListObjectsV2 of {prefix}/ (1000 keys a page,
 * continuation tokens; XML parsed with libexpat) gives every object's
 * ETag; an object is fetched (and its tags read) only when its ETag is not
 * the one cached for that key, so an unchanged bucket costs its LISTs.
 *
 * Credentials: static (configured, environment, credentials file: all
 * resolved by the supervisor), or fetched here from the container
 * credentials endpoint or IMDSv2 and refreshed before their Expiration.
 * No secret is logged; an S3 error is shown as its Code and Message only
 * (a SignatureDoesNotMatch body echoes the string to sign).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curl_common.h"
#include "dsworker.h"
#include "http.h"
#include "kinds/s3.h"
#include "kvmap.h"
#include "log.h"
#include "s3_util.h"

#define S3_EMPTY_SHA256	\
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_MARKER_KEY		"app.kubernetes.io/managed-by"
#define S3_MARKER_VALUE		"vartrack"
#define S3_CONFIG_JSON		"config.json"
#define S3_LIST_PAGES_MAX	10000		/* 10 M keys */
#define S3_CRED_TIMEOUT_MS	2000L
#define S3_IMDS_TOKEN_TTL	"21600"
#define S3_CACHE_MAX		256

/* What one rule read last time: its object(s) by ETag. */
struct s3_cache {
	uint32_t	 rule_id;
	char		*bucket, *prefix;
	int		 per_key;
	/* config.json */
	char		*etag;		/* NULL: nothing cached */
	struct kvmap	*obj;		/* its pairs (parsed) */
	char		*raw;		/* or its body, when not an object */
	size_t		 rawlen;
	int		 tagged;
	/* per key: key -> tagged ('0'/'1') + ETag, key -> value */
	struct kvmap	*etags, *vals;
};

struct s3_ds {
	char			*endpoint;
	char			*sigv4;
	int			 path_style;
	enum ipc_s3_cred_source	 source;
	char			*container_url, *container_token, *imds;
	struct s3_creds		 creds;
	int			 have_creds;
	time_t			 refresh_at;
	struct http_client	*http, *cred_http;
	long			 timeout_ms;
	struct s3_cache		 caches[S3_CACHE_MAX];
	size_t			 ncaches;
	/* requests of the current poll, for the debug line */
	unsigned		 nhead, nlist, nget, ntag;
};

static void
xfree_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
cache_clear(struct s3_cache *c)
{
	free(c->etag);
	kvmap_free(c->obj);
	free(c->raw);
	kvmap_free(c->etags);
	kvmap_free(c->vals);
	c->etag = c->raw = NULL;
	c->obj = c->etags = c->vals = NULL;
	c->rawlen = 0;
	c->tagged = 0;
}

static struct s3_cache *
cache_for(struct s3_ds *d, uint32_t rule_id, const struct ipc_s3_scope *sc)
{
	struct s3_cache *c = NULL;
	size_t i;

	for (i = 0; i < d->ncaches; i++)
		if (d->caches[i].rule_id == rule_id) {
			c = &d->caches[i];
			break;
		}
	if (c == NULL) {
		if (d->ncaches == S3_CACHE_MAX) {
			/* more rules than slots: the oldest slot goes */
			c = &d->caches[0];
			cache_clear(c);
			free(c->bucket);
			free(c->prefix);
			memmove(&d->caches[0], &d->caches[1],
			    (S3_CACHE_MAX - 1) * sizeof(*c));
			c = &d->caches[S3_CACHE_MAX - 1];
		} else
			c = &d->caches[d->ncaches++];
		memset(c, 0, sizeof(*c));
		c->rule_id = rule_id;
	}
	if (c->bucket == NULL || strcmp(c->bucket, sc->bucket) != 0 ||
	    strcmp(c->prefix, sc->prefix) != 0 ||
	    c->per_key != sc->one_file_per_key) {
		cache_clear(c);
		free(c->bucket);
		free(c->prefix);
		c->bucket = ds_strdup(sc->bucket);
		c->prefix = ds_strdup(sc->prefix);
		c->per_key = sc->one_file_per_key;
	}
	return c;
}

static int
s3_init(void)
{
	char err[256];

	/* libcurl and OpenSSL's configuration before the sandbox */
	if (curlc_global_init(err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void
s3_fini(void)
{
	curlc_global_cleanup();
}

static void
s3_close(void *priv)
{
	struct s3_ds *d = priv;
	size_t i;

	for (i = 0; i < d->ncaches; i++) {
		cache_clear(&d->caches[i]);
		free(d->caches[i].bucket);
		free(d->caches[i].prefix);
	}
	http_client_free(d->http);
	http_client_free(d->cred_http);
	s3_creds_free(&d->creds);
	free(d->endpoint);
	free(d->sigv4);
	free(d->container_url);
	xfree_secret(d->container_token);
	free(d->imds);
	free(d);
}

static int
s3_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct ipc_s3_settings st;
	struct http_opts o;
	struct s3_ds *d;
	char *se;
	int rc = -1;

	if (ipc_s3_settings_unpack(&st, &c->settings, err, errlen) == -1) {
		ipc_s3_settings_release(&st);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	if ((se = strstr(st.endpoint, "://")) == NULL || se[3] == '\0' ||
	    *st.region == '\0') {
		snprintf(err, errlen, "endpoint or region missing");
		goto cleanup;
	}
	d->endpoint = ds_strdup(st.endpoint);
	if (asprintf(&d->sigv4, "aws:amz:%s:s3", st.region) == -1)
		fatal("asprintf");
	d->path_style = st.path_style;
	d->source = st.cred_source;
	d->timeout_ms = c->command_timeout_ms;
	switch (st.cred_source) {
	case IPC_S3_CRED_STATIC:
		if (*st.access_key_id == '\0' || *st.secret_access_key == '\0') {
			snprintf(err, errlen, "no credentials");
			goto cleanup;
		}
		d->creds.key = ds_strdup(st.access_key_id);
		d->creds.secret = ds_strdup(st.secret_access_key);
		if (*st.session_token != '\0')
			d->creds.token = ds_strdup(st.session_token);
		d->have_creds = 1;
		break;
	case IPC_S3_CRED_CONTAINER:
		d->container_url = ds_strdup(st.container_url);
		if (*st.container_token != '\0')
			d->container_token = ds_strdup(st.container_token);
		break;
	case IPC_S3_CRED_IMDS:
		d->imds = ds_strdup(st.imds_endpoint);
		break;
	}
	memset(&o, 0, sizeof(o));
	o.ca_file = *st.ca_file != '\0' ? st.ca_file : NULL;
	o.insecure_http = strncmp(st.endpoint, "http://", 7) == 0;
	o.connect_timeout_ms = c->connect_timeout_ms;
	o.timeout_ms = c->command_timeout_ms;
	o.max_body = (size_t)st.max_object_bytes;
	if (http_client_new(&d->http, &o, err, errlen) == -1)
		goto cleanup;
	if (st.cred_source != IPC_S3_CRED_STATIC) {
		memset(&o, 0, sizeof(o));
		o.insecure_http = 1;	/* 169.254.169.254, 169.254.170.2 */
		o.connect_timeout_ms = S3_CRED_TIMEOUT_MS;
		o.timeout_ms = S3_CRED_TIMEOUT_MS;
		o.max_body = 64 * 1024;
		if (http_client_new(&d->cred_http, &o, err, errlen) == -1)
			goto cleanup;
	}
	log_info("datasource %s: %s, %s, %s-style requests, credentials "
	    "from %s", c->name, st.endpoint, st.region, st.path_style ?
	    "path" : "virtual-hosted", *st.cred_origin ? st.cred_origin :
	    "the configuration");
	*priv = d;
	d = NULL;
	rc = 0;
 cleanup:
	if (d != NULL)
		s3_close(d);
	ipc_s3_settings_release(&st);
	return rc;
}

static char *
s3_url(const struct s3_ds *d, const char *bucket, const char *key,
    size_t keylen, const char *query)
{
	char *url;

	if ((url = s3_object_url(d->endpoint, d->path_style, bucket, key,
	    keylen, query)) == NULL)
		fatal("%s: out of memory", __func__);
	return url;
}

/* ---- credentials ---- */

static int
cred_get(struct s3_ds *d, enum http_method m, const char *url,
    const char *const *hdrs, struct http_resp *r, char *err, size_t errlen)
{
	struct http_req q;

	memset(&q, 0, sizeof(q));
	q.method = m;
	q.url = url;
	q.headers = hdrs;
	return http_request(r, d->cred_http, &q, err, errlen);
}

static int
creds_from_answer(struct s3_ds *d, struct http_resp *r, const char *what,
    char *err, size_t errlen)
{
	struct s3_creds nc;
	char why[160];

	if (r->status != 200) {
		snprintf(err, errlen, "credentials: %s answered HTTP %ld",
		    what, r->status);
		return -1;
	}
	if (s3_creds_json(&nc, r->body, r->body_len, why, sizeof(why)) ==
	    -1) {
		snprintf(err, errlen, "credentials: %s: %s", what, why);
		return -1;
	}
	s3_creds_free(&d->creds);
	d->creds = nc;
	d->have_creds = 1;
	d->refresh_at = s3_creds_refresh_at(time(NULL), nc.expiration);
	log_debug("credentials from %s, expiring %lld, refresh at %lld", what,
	    (long long)nc.expiration, (long long)d->refresh_at);
	return 0;
}

static int
creds_container(struct s3_ds *d, char *err, size_t errlen)
{
	struct http_resp r;
	const char *hdrs[3] = { "Accept: application/json", NULL, NULL };
	char *auth = NULL;
	int rc;

	if (d->container_token != NULL) {
		if (asprintf(&auth, "Authorization: %s", d->container_token) ==
		    -1)
			fatal("asprintf");
		hdrs[1] = auth;
	}
	rc = cred_get(d, HTTP_GET, d->container_url, hdrs, &r, err, errlen);
	xfree_secret(auth);
	if (rc == -1)
		return -1;
	rc = creds_from_answer(d, &r, "the container credentials endpoint",
	    err, errlen);
	http_resp_fini(&r);
	return rc;
}

static int
creds_imds(struct s3_ds *d, char *err, size_t errlen)
{
	struct http_resp r;
	const char *hdrs[2] = { NULL, NULL };
	char *url = NULL, *tokhdr = NULL, *role = NULL;
	size_t n;
	int rc = -1;

	/* IMDSv2: a session token first (403/404/405: IMDSv1 only) */
	if (asprintf(&url, "%s/latest/api/token", d->imds) == -1)
		fatal("asprintf");
	hdrs[0] = "x-aws-ec2-metadata-token-ttl-seconds: " S3_IMDS_TOKEN_TTL;
	if (cred_get(d, HTTP_PUT, url, hdrs, &r, err, errlen) == -1)
		goto cleanup;
	if (r.status == 200 && r.body_len > 0 && r.body_len < 4096 &&
	    strpbrk(r.body, "\r\n") == NULL) {
		if (asprintf(&tokhdr, "x-aws-ec2-metadata-token: %s", r.body) ==
		    -1)
			fatal("asprintf");
	} else if (r.status != 403 && r.status != 404 && r.status != 405) {
		snprintf(err, errlen, "credentials: instance metadata token: "
		    "HTTP %ld", r.status);
		http_resp_fini(&r);
		goto cleanup;
	}
	http_resp_fini(&r);
	hdrs[0] = tokhdr;
	free(url);
	if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/",
	    d->imds) == -1)
		fatal("asprintf");
	if (cred_get(d, HTTP_GET, url, hdrs, &r, err, errlen) == -1)
		goto cleanup;
	if (r.status != 200 || (n = strcspn(r.body, "\r\n")) == 0) {
		snprintf(err, errlen, "credentials: instance metadata has no "
		    "role (HTTP %ld)", r.status);
		http_resp_fini(&r);
		goto cleanup;
	}
	role = NULL;
	n = 0;
	if (s3_uri_encode(&role, &n, r.body, strcspn(r.body, "\r\n"), 0) ==
	    -1)
		fatal("%s: out of memory", __func__);
	http_resp_fini(&r);
	free(url);
	if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/%s",
	    d->imds, role) == -1)
		fatal("asprintf");
	if (cred_get(d, HTTP_GET, url, hdrs, &r, err, errlen) == -1)
		goto cleanup;
	rc = creds_from_answer(d, &r, "instance metadata", err, errlen);
	http_resp_fini(&r);
 cleanup:
	free(url);
	free(role);
	xfree_secret(tokhdr);
	return rc;
}

static int
creds_ensure(struct s3_ds *d, char *err, size_t errlen)
{
	time_t now = time(NULL);
	int rc;

	if (d->source == IPC_S3_CRED_STATIC ||
	    (d->have_creds && now < d->refresh_at))
		return 0;
	rc = d->source == IPC_S3_CRED_CONTAINER ?
	    creds_container(d, err, errlen) : creds_imds(d, err, errlen);
	if (rc == -1 && d->have_creds && (d->creds.expiration == 0 ||
	    now < d->creds.expiration)) {
		/* refresh failed; the old ones are still valid */
		log_warnx("%s (keeping the current credentials until they "
		    "expire)", err);
		return 0;
	}
	return rc;
}

/* ---- S3 requests ---- */

static int
s3_request(struct s3_ds *d, enum http_method m, const char *url,
    const char *extra, struct http_resp *r, char *err, size_t errlen)
{
	const char *hdrs[4];
	char *tok = NULL;
	struct http_req q;
	size_t n = 0;
	int rc;

	hdrs[n++] = "x-amz-content-sha256: " S3_EMPTY_SHA256;
	if (d->creds.token != NULL) {
		if (asprintf(&tok, "x-amz-security-token: %s",
		    d->creds.token) == -1)
			fatal("asprintf");
		hdrs[n++] = tok;
	}
	if (extra != NULL)
		hdrs[n++] = extra;
	hdrs[n] = NULL;
	memset(&q, 0, sizeof(q));
	q.method = m;
	q.url = url;
	q.headers = hdrs;
	q.aws_sigv4 = d->sigv4;
	q.username = d->creds.key;
	q.password = d->creds.secret;
	rc = http_request(r, d->http, &q, err, errlen);
	xfree_secret(tok);
	return rc;
}

/* The reason of a failed S3 answer (s3_error_reason). */
static void
s3_fail(const struct http_resp *r, const char *what, char *err,
    size_t errlen)
{
	s3_error_reason(err, errlen, what, r->status, r->body, r->body_len,
	    http_resp_header(r, "x-amz-bucket-region"));
}

/* GetObjectTagging: 1 when the object carries the marker tag, 0 when
 * not or unknown (logged). */
static int
s3_marker(struct s3_ds *d, const char *bucket, const char *key)
{
	struct http_resp r;
	char err[512], *url;
	int has = 0;

	url = s3_url(d, bucket, key, strlen(key), "tagging=");
	d->ntag++;
	if (s3_request(d, HTTP_GET, url, NULL, &r, err, sizeof(err)) == -1) {
		log_debug("tags of s3://%s/%s: %s", bucket, key, err);
		free(url);
		return 0;
	}
	if (r.status == 200)
		has = s3_tagging_has(r.body, r.body_len, S3_MARKER_KEY,
		    S3_MARKER_VALUE) == 1;
	else
		log_debug("tags of s3://%s/%s: HTTP %ld", bucket, key,
		    r.status);
	http_resp_fini(&r);
	free(url);
	return has;
}

/* ---- config.json ---- */

/* The object's key: {prefix}/name, or name at the top. malloc'd. */
static char *
object_key(const char *prefix, const char *name, size_t namelen)
{
	char *k;

	if (asprintf(&k, "%s%s%.*s", prefix, *prefix ? "/" : "",
	    (int)namelen, name) == -1)
		fatal("asprintf");
	return k;
}

static void
json_store(struct s3_ds *d, struct s3_cache *c, const struct http_resp *r,
    const char *key)
{
	const char *etag = http_resp_header(r, "ETag");
	char why[256];

	cache_clear(c);
	if ((c->obj = kvmap_new()) == NULL)
		fatal("kvmap_new");
	if (s3_json_flat(c->obj, r->body, r->body_len, why, sizeof(why)) ==
	    -1) {
		log_info("s3://%s/%s: %s: shown whole as drift", c->bucket,
		    key, why);
		kvmap_free(c->obj);
		c->obj = NULL;
		if ((c->raw = malloc(r->body_len + 1)) == NULL)
			fatal("malloc");
		memcpy(c->raw, r->body, r->body_len + 1);
		c->rawlen = r->body_len;
	}
	c->etag = ds_strdup(etag != NULL ? etag : "");
	c->tagged = s3_marker(d, c->bucket, key);
}

/* Fetch config.json into the cache unless its ETag is the cached one;
 * 0 (present), 1 (no such key: every key missing), -1 with err. */
static int
json_read(struct s3_ds *d, struct s3_cache *c, const char *key, char *err,
    size_t errlen)
{
	struct http_resp r;
	const char *etag;
	char *url, *inm = NULL, what[512];
	struct s3_error e;
	int rc = -1;

	url = s3_url(d, c->bucket, key, strlen(key), NULL);
	snprintf(what, sizeof(what), "HEAD s3://%s/%s", c->bucket, key);
	d->nhead++;
	if (s3_request(d, HTTP_HEAD, url, NULL, &r, err, errlen) == -1)
		goto cleanup;
	etag = http_resp_header(&r, "ETag");
	if (r.status == 200 && etag != NULL && c->etag != NULL &&
	    strcmp(etag, c->etag) == 0) {
		http_resp_fini(&r);
		rc = 0;		/* unchanged: one HEAD */
		goto cleanup;
	}
	http_resp_fini(&r);
	/* changed, new, or an error (a HEAD error has no body: the GET
	 * says which) */
	if (c->etag != NULL && *c->etag != '\0' &&
	    asprintf(&inm, "If-None-Match: %s", c->etag) == -1)
		fatal("asprintf");
	snprintf(what, sizeof(what), "GET s3://%s/%s", c->bucket, key);
	d->nget++;
	if (s3_request(d, HTTP_GET, url, inm, &r, err, errlen) == -1)
		goto cleanup;
	if (r.status == 304)
		rc = 0;
	else if (r.status == 200) {
		json_store(d, c, &r, key);
		rc = 0;
	} else if (r.status == 404 && (s3_error_parse(&e, r.body,
	    r.body_len) == -1 || strcmp(e.code, "NoSuchKey") == 0)) {
		cache_clear(c);
		rc = 1;
	} else
		s3_fail(&r, what, err, errlen);
	http_resp_fini(&r);
 cleanup:
	free(inm);
	free(url);
	return rc;
}

static int
poll_json(struct s3_ds *d, struct s3_cache *c, struct ds_poll *p,
    struct ds_reply *rb, char *err, size_t errlen)
{
	const struct kv_entry *e;
	struct kvmap *want = NULL;
	char *key;
	size_t i;
	int rc;

	key = object_key(c->prefix, S3_CONFIG_JSON, strlen(S3_CONFIG_JSON));
	rc = json_read(d, c, key, err, errlen);
	free(key);
	if (rc == -1)
		return -1;
	for (i = 0; i < p->nkeys; i++) {
		e = rc == 0 && c->obj != NULL ? kvmap_get(c->obj, p->keys[i],
		    p->keylens[i]) : NULL;
		ds_reply_add(rb, p->keys[i], p->keylens[i], e != NULL,
		    e ? e->val : NULL, e ? e->vallen : 0);
	}
	if (ds_reply_extras(rb) == -1) {
		snprintf(err, errlen, "cannot send the reply");
		return -1;
	}
	if (rc == 0 && p->detect_extra) {
		if (c->obj != NULL) {
			want = ds_poll_keyset(p);
			for (i = 0; i < c->obj->n; i++) {
				e = &c->obj->ents[i];
				if (kvmap_get(want, e->key, e->keylen) == NULL)
					ds_reply_add(rb, e->key, e->keylen, 1,
					    e->val, e->vallen);
			}
			kvmap_free(want);
		} else if (c->raw != NULL)
			/* not a flat JSON object: the body itself */
			ds_reply_add(rb, S3_CONFIG_JSON,
			    strlen(S3_CONFIG_JSON), 1, c->raw, c->rawlen);
	}
	rb->marker_present = rc == 0 && c->tagged;
	return 0;
}

/* ---- one object per key ---- */

/* Every object under {prefix}/ as rel key -> ETag into listed. */
static int
list_all(struct s3_ds *d, struct s3_cache *c, struct kvmap *listed,
    char *err, size_t errlen)
{
	struct s3_list_page pg;
	struct http_resp r;
	char *lp, *q, *url, *token = NULL, what[512], why[256];
	size_t i, pl, pages;
	int rc = -1;

	lp = object_key(c->prefix, "", 0);	/* "{prefix}/" or "" */
	pl = strlen(lp);
	snprintf(what, sizeof(what), "LIST s3://%s/%s", c->bucket, lp);
	for (pages = 0; pages < S3_LIST_PAGES_MAX; pages++) {
		if ((q = s3_list_query(lp, token)) == NULL)
			fatal("%s: out of memory", __func__);
		url = s3_url(d, c->bucket, NULL, 0, q);
		free(q);
		d->nlist++;
		rc = s3_request(d, HTTP_GET, url, NULL, &r, err, errlen);
		free(url);
		if (rc == -1)
			goto cleanup;
		rc = -1;
		if (r.status != 200) {
			s3_fail(&r, what, err, errlen);
			http_resp_fini(&r);
			goto cleanup;
		}
		if (s3_list_parse(&pg, r.body, r.body_len, why, sizeof(why)) ==
		    -1) {
			snprintf(err, errlen, "%s: %s", what, why);
			s3_list_page_free(&pg);
			http_resp_fini(&r);
			goto cleanup;
		}
		http_resp_fini(&r);
		for (i = 0; i < pg.nobjs; i++) {
			struct s3_object *o = &pg.objs[i];

			if (o->keylen <= pl || strncmp(o->key, lp, pl) != 0)
				continue;	/* "{prefix}/" itself */
			if (kvmap_put(listed, o->key + pl, o->keylen - pl,
			    o->etag ? o->etag : "", o->etag ?
			    strlen(o->etag) : 0) == -1)
				fatal("kvmap_put");
		}
		free(token);
		token = pg.truncated ? ds_strdup(pg.next_token) : NULL;
		s3_list_page_free(&pg);
		if (token == NULL) {
			rc = 0;
			goto cleanup;
		}
	}
	snprintf(err, errlen, "%s: more than %d pages", what,
	    S3_LIST_PAGES_MAX);
 cleanup:
	free(token);
	free(lp);
	return rc;
}

/* GET one object into the cache: 0, 1 when it went away, -1 with err. */
static int
fetch_one(struct s3_ds *d, struct s3_cache *c, const char *rel,
    size_t rellen, const char *listed_etag, char *err, size_t errlen)
{
	struct http_resp r;
	const char *etag;
	char *key, *url, *tagged, what[512];
	int rc = -1;

	key = object_key(c->prefix, rel, rellen);
	url = s3_url(d, c->bucket, key, strlen(key), NULL);
	snprintf(what, sizeof(what), "GET s3://%s/%s", c->bucket, key);
	d->nget++;
	if (s3_request(d, HTTP_GET, url, NULL, &r, err, errlen) == -1)
		goto cleanup;
	if (r.status == 404) {
		rc = 1;
	} else if (r.status != 200)
		s3_fail(&r, what, err, errlen);
	else {
		etag = http_resp_header(&r, "ETag");
		if (etag == NULL)
			etag = listed_etag;
		if (asprintf(&tagged, "%d%s", s3_marker(d, c->bucket, key),
		    etag) == -1)
			fatal("asprintf");
		if (kvmap_put(c->vals, rel, rellen, r.body, r.body_len) == -1 ||
		    kvmap_put(c->etags, rel, rellen, tagged, strlen(tagged)) ==
		    -1)
			fatal("kvmap_put");
		free(tagged);
		rc = 0;
	}
	http_resp_fini(&r);
 cleanup:
	free(url);
	free(key);
	return rc;
}

static int
poll_keys(struct s3_ds *d, struct s3_cache *c, struct ds_poll *p,
    struct ds_reply *rb, char *err, size_t errlen)
{
	struct kvmap *listed, *want;
	const struct kv_entry *e, *ce, *v;
	size_t i;
	int rc = -1, r, all_tagged = 1, any = 0;

	if ((listed = kvmap_new()) == NULL)
		fatal("kvmap_new");
	want = ds_poll_keyset(p);
	if (list_all(d, c, listed, err, errlen) == -1)
		goto cleanup;
	if (c->etags == NULL && ((c->etags = kvmap_new()) == NULL ||
	    (c->vals = kvmap_new()) == NULL))
		fatal("kvmap_new");
	/* forget what is no longer listed */
	for (i = 0; i < c->etags->n;) {
		e = &c->etags->ents[i];
		if (kvmap_get(listed, e->key, e->keylen) == NULL) {
			kvmap_del(c->vals, e->key, e->keylen);
			kvmap_del(c->etags, e->key, e->keylen);
		} else
			i++;
	}
	/* fetch what changed: requested keys, and extras */
	for (i = 0; i < listed->n; i++) {
		e = &listed->ents[i];
		if (!p->detect_extra && kvmap_get(want, e->key, e->keylen) ==
		    NULL)
			continue;
		ce = kvmap_get(c->etags, e->key, e->keylen);
		if (ce != NULL && ce->vallen == e->vallen + 1 &&
		    memcmp(ce->val + 1, e->val, e->vallen) == 0)
			continue;
		if ((r = fetch_one(d, c, e->key, e->keylen, e->val, err,
		    errlen)) == -1)
			goto cleanup;
		if (r == 1) {
			kvmap_del(c->vals, e->key, e->keylen);
			kvmap_del(c->etags, e->key, e->keylen);
		}
	}
	for (i = 0; i < p->nkeys; i++) {
		v = kvmap_get(c->vals, p->keys[i], p->keylens[i]);
		ds_reply_add(rb, p->keys[i], p->keylens[i], v != NULL,
		    v ? v->val : NULL, v ? v->vallen : 0);
		if (v != NULL) {
			ce = kvmap_get(c->etags, p->keys[i], p->keylens[i]);
			any = 1;
			if (ce == NULL || ce->val[0] != '1')
				all_tagged = 0;
		}
	}
	if (ds_reply_extras(rb) == -1) {
		snprintf(err, errlen, "cannot send the reply");
		goto cleanup;
	}
	if (p->detect_extra)
		for (i = 0; i < c->vals->n; i++) {
			v = &c->vals->ents[i];
			if (kvmap_get(want, v->key, v->keylen) == NULL)
				ds_reply_add(rb, v->key, v->keylen, 1, v->val,
				    v->vallen);
		}
	rb->marker_present = any && all_tagged;
	rc = 0;
 cleanup:
	kvmap_free(want);
	kvmap_free(listed);
	return rc;
}

static int
s3_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct s3_ds *d = priv;
	struct ipc_s3_scope sc;
	struct s3_cache *c;
	int rc = -1;

	d->nhead = d->nlist = d->nget = d->ntag = 0;
	if (ipc_s3_scope_unpack(&sc, &p->scope, err, errlen) == -1)
		goto cleanup;
	if (*sc.bucket == '\0') {
		snprintf(err, errlen, "no bucket");
		goto cleanup;
	}
	if (creds_ensure(d, err, errlen) == -1)
		goto cleanup;
	c = cache_for(d, p->rule_id, &sc);
	rc = sc.one_file_per_key ? poll_keys(d, c, p, rb, err, errlen) :
	    poll_json(d, c, p, rb, err, errlen);
	log_debug("rule %u: %u HEAD, %u LIST, %u GET, %u tagging requests",
	    p->rule_id, d->nhead, d->nlist, d->nget, d->ntag);
 cleanup:
	ipc_s3_scope_release(&sc);
	return rc;
}

static const struct dsw_kind s3_kind = {
	.name = "s3",
	.type = "s3",
	.init = s3_init,
	.fini = s3_fini,
	.open = s3_open,
	.close = s3_close,
	.poll = s3_poll,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&s3_kind, argc, argv);
}
