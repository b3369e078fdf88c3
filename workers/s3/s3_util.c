/*
 * The s3 worker's pure helpers (see s3_util.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <expat.h>
#include <jansson.h>

#include "s3_util.h"

int
s3_uri_encode(char **buf, size_t *len, const char *s, size_t slen,
    int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, need = *len + slen * 3 + 1;
	unsigned char ch;
	char *nb, *p;

	if ((nb = realloc(*buf, need)) == NULL)
		return -1;
	*buf = nb;
	p = nb + *len;
	for (i = 0; i < slen; i++) {
		ch = (unsigned char)s[i];
		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~' || (keep_slash && ch == '/'))
			*p++ = (char)ch;
		else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	*len = (size_t)(p - nb);
	return 0;
}

static int
append(char **buf, size_t *len, const char *s)
{
	size_t sl = strlen(s);
	char *nb;

	if ((nb = realloc(*buf, *len + sl + 1)) == NULL)
		return -1;
	memcpy(nb + *len, s, sl + 1);
	*buf = nb;
	*len += sl;
	return 0;
}

char *
s3_list_query(const char *prefix, const char *token)
{
	char *q = NULL;
	size_t n = 0;

	if (token != NULL && (append(&q, &n, "continuation-token=") == -1 ||
	    s3_uri_encode(&q, &n, token, strlen(token), 0) == -1 ||
	    append(&q, &n, "&") == -1))
		goto oom;
	/* keys come back %-encoded where the server honours it (S3 does;
	 * XML 1.0 cannot carry every byte a key may hold) */
	if (append(&q, &n, "encoding-type=url&list-type=2&prefix=") == -1 ||
	    s3_uri_encode(&q, &n, prefix, strlen(prefix), 0) == -1)
		goto oom;
	return q;
 oom:
	free(q);
	return NULL;
}

char *
s3_object_url(const char *endpoint, int path_style, const char *bucket,
    const char *key, size_t keylen, const char *query)
{
	const char *host = strstr(endpoint, "://");
	char *path = NULL, *url;
	size_t n = 0;
	int rc;

	if (host == NULL || host[3] == '\0')
		return NULL;
	host += 3;
	if (key != NULL && s3_uri_encode(&path, &n, key, keylen, 1) == -1)
		return NULL;
	if (path_style)
		rc = asprintf(&url, "%s/%s%s%s%s%s", endpoint, bucket,
		    key != NULL ? "/" : "", key != NULL ? path : "",
		    query != NULL ? "?" : "", query != NULL ? query : "");
	else
		rc = asprintf(&url, "%.*s%s.%s/%s%s%s",
		    (int)(host - endpoint), endpoint, bucket, host,
		    key != NULL ? path : "", query != NULL ? "?" : "",
		    query != NULL ? query : "");
	free(path);
	return rc == -1 ? NULL : url;
}

/* ---- XML (libexpat): a path of element names and the text of leaves ---- */

#define XML_DEPTH_MAX	8
#define XML_TEXT_MAX	(64 * 1024)

struct xstate {
	const char	*path[XML_DEPTH_MAX];	/* local names */
	int		 depth, overflow;	/* overflow: deeper levels */
	char		*text;
	size_t		 tlen;
	int		 toolong, oom;
	void		*arg;
	/* called at the end of every element at depth d with its text */
	void		(*leaf)(struct xstate *, const char *name, int depth,
			    const char *text, size_t len);
	void		(*open)(struct xstate *, const char *name, int depth);
	const char	*root;		/* the document element expected */
	int		 bad_root;
};

static const char *
local_name(const char *n)
{
	const char *s = strrchr(n, ' ');	/* namespace separator */

	return s != NULL ? s + 1 : n;
}

static void XMLCALL
x_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xstate *x = ud;
	const char *ln = local_name(name);

	(void)attrs;
	if (x->depth == 0 && x->overflow == 0 && strcmp(ln, x->root) != 0)
		x->bad_root = 1;
	if (x->depth >= XML_DEPTH_MAX) {
		x->overflow++;
		return;
	}
	x->path[x->depth++] = strdup(ln);
	if (x->path[x->depth - 1] == NULL)
		x->oom = 1;
	x->tlen = 0;
	x->toolong = 0;
	if (x->open != NULL && x->path[x->depth - 1] != NULL)
		x->open(x, ln, x->depth);
}

static void XMLCALL
x_end(void *ud, const XML_Char *name)
{
	struct xstate *x = ud;

	(void)name;
	if (x->overflow > 0) {
		x->overflow--;
		return;
	}
	if (x->depth == 0)
		return;
	if (x->leaf != NULL && x->path[x->depth - 1] != NULL && !x->toolong)
		x->leaf(x, x->path[x->depth - 1], x->depth,
		    x->text != NULL ? x->text : "", x->tlen);
	free((void *)x->path[--x->depth]);
	x->tlen = 0;
}

static void XMLCALL
x_text(void *ud, const XML_Char *s, int len)
{
	struct xstate *x = ud;
	char *nt;

	if (len <= 0 || x->toolong)
		return;
	if (x->tlen + (size_t)len > XML_TEXT_MAX) {
		x->toolong = 1;
		return;
	}
	if ((nt = realloc(x->text, x->tlen + (size_t)len + 1)) == NULL) {
		x->oom = 1;
		return;
	}
	x->text = nt;
	memcpy(x->text + x->tlen, s, (size_t)len);
	x->tlen += (size_t)len;
	x->text[x->tlen] = '\0';
}

/* 0, or -1 with err */
static int
xml_run(struct xstate *x, const char *xml, size_t len, char *err,
    size_t errlen)
{
	XML_Parser p;
	int rc = -1;

	if ((p = XML_ParserCreateNS(NULL, ' ')) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	XML_SetUserData(p, x);
	XML_SetElementHandler(p, x_start, x_end);
	XML_SetCharacterDataHandler(p, x_text);
	if (len > INT32_MAX) {
		snprintf(err, errlen, "XML document too large");
		goto cleanup;
	}
	if (XML_Parse(p, xml, (int)len, 1) == XML_STATUS_ERROR) {
		snprintf(err, errlen, "malformed XML at line %lu: %s",
		    (unsigned long)XML_GetCurrentLineNumber(p),
		    XML_ErrorString(XML_GetErrorCode(p)));
		goto cleanup;
	}
	if (x->oom) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	if (x->bad_root) {
		snprintf(err, errlen, "not a %s document", x->root);
		goto cleanup;
	}
	rc = 0;
 cleanup:
	while (x->depth > 0)
		free((void *)x->path[--x->depth]);
	free(x->text);
	x->text = NULL;
	XML_ParserFree(p);
	return rc;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void
list_open(struct xstate *x, const char *name, int depth)
{
	struct s3_list_page *pg = x->arg;
	struct s3_object *no;

	if (depth != 2 || strcmp(name, "Contents") != 0)
		return;
	if (pg->nobjs == pg->cap) {
		if ((no = reallocarray(pg->objs, pg->cap ? pg->cap * 2 : 64,
		    sizeof(*no))) == NULL) {
			x->oom = 1;
			return;
		}
		pg->objs = no;
		pg->cap = pg->cap ? pg->cap * 2 : 64;
	}
	memset(&pg->objs[pg->nobjs++], 0, sizeof(*pg->objs));
}

static void
list_leaf(struct xstate *x, const char *name, int depth, const char *text,
    size_t len)
{
	struct s3_list_page *pg = x->arg;
	struct s3_object *o;
	char **slot;

	if (depth == 2) {
		if (strcmp(name, "IsTruncated") == 0)
			pg->truncated = len == 4 && memcmp(text, "true", 4) == 0;
		else if (strcmp(name, "EncodingType") == 0)
			pg->url_encoded = len == 3 && memcmp(text, "url", 3) == 0;
		else if (strcmp(name, "NextContinuationToken") == 0) {
			free(pg->next_token);
			if ((pg->next_token = xstrndup(text, len)) == NULL)
				x->oom = 1;
		}
		return;
	}
	if (depth != 3 || pg->nobjs == 0 ||
	    strcmp(x->path[1], "Contents") != 0)
		return;
	o = &pg->objs[pg->nobjs - 1];
	if (strcmp(name, "Key") == 0)
		slot = &o->key;
	else if (strcmp(name, "ETag") == 0)
		slot = &o->etag;
	else
		return;
	free(*slot);
	if ((*slot = xstrndup(text, len)) == NULL)
		x->oom = 1;
	else if (slot == &o->key)
		o->keylen = len;
}

void
s3_list_page_free(struct s3_list_page *pg)
{
	size_t i;

	for (i = 0; i < pg->nobjs; i++) {
		free(pg->objs[i].key);
		free(pg->objs[i].etag);
	}
	free(pg->objs);
	free(pg->next_token);
	memset(pg, 0, sizeof(*pg));
}

/* In place, with libcurl's decoder ("%XX" -> the byte; '+' stays). */
static int
pct_decode(char *s, size_t *len)
{
	char *d;
	int n;

	if (*len > INT32_MAX || (d = curl_easy_unescape(NULL, s, (int)*len,
	    &n)) == NULL)
		return -1;
	memcpy(s, d, (size_t)n);	/* never longer */
	s[n] = '\0';
	*len = (size_t)n;
	curl_free(d);
	return 0;
}

int
s3_list_parse(struct s3_list_page *out, const char *xml, size_t len,
    char *err, size_t errlen)
{
	struct xstate x;
	size_t i;

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	x.arg = out;
	x.open = list_open;
	x.leaf = list_leaf;
	x.root = "ListBucketResult";
	if (xml_run(&x, xml, len, err, errlen) == -1)
		return -1;
	for (i = 0; i < out->nobjs; i++) {
		if (out->objs[i].key == NULL) {
			snprintf(err, errlen, "a listed object without Key");
			return -1;
		}
		if (out->url_encoded && pct_decode(out->objs[i].key,
		    &out->objs[i].keylen) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (out->truncated && (out->next_token == NULL ||
	    *out->next_token == '\0')) {
		snprintf(err, errlen, "a truncated listing without "
		    "NextContinuationToken");
		return -1;
	}
	return 0;
}

static void
copy_cut(char *dst, size_t dstsz, const char *s, size_t len)
{
	size_t i, n = len < dstsz - 1 ? len : dstsz - 1;

	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' :
		    s[i];
	dst[n] = '\0';
}

static void
error_leaf(struct xstate *x, const char *name, int depth, const char *text,
    size_t len)
{
	struct s3_error *e = x->arg;

	if (depth != 2)
		return;
	if (strcmp(name, "Code") == 0)
		copy_cut(e->code, sizeof(e->code), text, len);
	else if (strcmp(name, "Message") == 0)
		copy_cut(e->message, sizeof(e->message), text, len);
	else if (strcmp(name, "Region") == 0)
		copy_cut(e->region, sizeof(e->region), text, len);
}

int
s3_error_parse(struct s3_error *out, const char *xml, size_t len)
{
	struct xstate x;
	char err[128];

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	x.arg = out;
	x.leaf = error_leaf;
	x.root = "Error";
	if (len == 0 || xml_run(&x, xml, len, err, sizeof(err)) == -1 ||
	    out->code[0] == '\0')
		return -1;
	return 0;
}

void
s3_error_reason(char *err, size_t errlen, const char *what, long status,
    const char *body, size_t len, const char *region)
{
	struct s3_error e;

	if (s3_error_parse(&e, body, len) == -1) {
		memset(&e, 0, sizeof(e));
		snprintf(e.code, sizeof(e.code), "%s", status == 404 ?
		    "NotFound" : status == 403 ? "Forbidden" : status == 301 ?
		    "PermanentRedirect" : status == 503 ? "SlowDown" : "");
	}
	if ((region == NULL || *region == '\0') && e.region[0] != '\0')
		region = e.region;
	if (region != NULL && *region == '\0')
		region = NULL;
	snprintf(err, errlen, "%s: HTTP %ld%s%s%s%s%s%s%s", what, status,
	    e.code[0] ? " " : "", e.code, e.message[0] ? " (" : "", e.message,
	    e.message[0] ? ")" : "", region != NULL ?
	    "; the bucket's region is " : "", region != NULL ? region : "");
}

struct tagq {
	const char	*key, *value;
	char		*k, *v;
	int		 found;
};

static void
tag_leaf(struct xstate *x, const char *name, int depth, const char *text,
    size_t len)
{
	struct tagq *q = x->arg;

	if (depth == 4 && strcmp(name, "Key") == 0) {
		free(q->k);
		q->k = xstrndup(text, len);
	} else if (depth == 4 && strcmp(name, "Value") == 0) {
		free(q->v);
		q->v = xstrndup(text, len);
	} else if (depth == 3 && strcmp(name, "Tag") == 0) {
		if (q->k != NULL && q->v != NULL &&
		    strcmp(q->k, q->key) == 0 && strcmp(q->v, q->value) == 0)
			q->found = 1;
		free(q->k);
		free(q->v);
		q->k = q->v = NULL;
	}
}

int
s3_tagging_has(const char *xml, size_t len, const char *key,
    const char *value)
{
	struct xstate x;
	struct tagq q;
	char err[128];
	int rc;

	memset(&q, 0, sizeof(q));
	q.key = key;
	q.value = value;
	memset(&x, 0, sizeof(x));
	x.arg = &q;
	x.leaf = tag_leaf;
	x.root = "Tagging";
	rc = xml_run(&x, xml, len, err, sizeof(err));
	free(q.k);
	free(q.v);
	return rc == -1 ? -1 : q.found;
}

/* ---- credentials ---- */

void
s3_creds_free(struct s3_creds *c)
{
	if (c->key != NULL)
		explicit_bzero(c->key, strlen(c->key));
	if (c->secret != NULL)
		explicit_bzero(c->secret, strlen(c->secret));
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->key);
	free(c->secret);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

time_t
s3_iso8601(const char *s)
{
	struct tm tm;
	const char *p;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return -1;
	p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

time_t
s3_creds_refresh_at(time_t fetched, time_t expiration)
{
	time_t life;

	if (expiration == 0)
		return fetched + S3_CRED_NOEXP_REFRESH_SEC;
	life = expiration - fetched;
	if (life <= 0)
		return fetched;
	if (life / 2 < S3_CRED_REFRESH_EARLY_SEC)
		return fetched + life / 2;
	return expiration - S3_CRED_REFRESH_EARLY_SEC;
}

static char *
json_dupstr(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return strdup(json_string_value(v));
}

int
s3_creds_json(struct s3_creds *out, const char *buf, size_t len, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *o, *e;

	memset(out, 0, sizeof(*out));
	if ((o = json_loadb(buf, len, 0, &je)) == NULL ||
	    !json_is_object(o)) {
		snprintf(err, errlen, "credentials answer is not a JSON "
		    "object");
		json_decref(o);
		return -1;
	}
	out->key = json_dupstr(o, "AccessKeyId");
	out->secret = json_dupstr(o, "SecretAccessKey");
	out->token = json_dupstr(o, "Token");
	if (out->key == NULL || out->secret == NULL) {
		snprintf(err, errlen, "credentials answer without "
		    "AccessKeyId and SecretAccessKey");
		goto fail;
	}
	if ((e = json_object_get(o, "Expiration")) != NULL &&
	    !json_is_null(e)) {
		if (!json_is_string(e) ||
		    (out->expiration = s3_iso8601(json_string_value(e))) ==
		    -1) {
			snprintf(err, errlen, "credentials answer: Expiration "
			    "is not an ISO 8601 UTC time");
			goto fail;
		}
	}
	json_decref(o);
	return 0;
 fail:
	json_decref(o);
	s3_creds_free(out);
	return -1;
}

/* ---- config.json ---- */

int
s3_json_flat(struct kvmap *out, const char *buf, size_t len, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *o, *v;
	const char *k;
	char *s;
	int rc = -1;

	if ((o = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_ANY,
	    &je)) == NULL) {
		snprintf(err, errlen, "not JSON (line %d, column %d: %s)",
		    je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a JSON object");
		goto cleanup;
	}
	json_object_foreach(o, k, v) {
		if (json_is_string(v)) {
			if (kvmap_put(out, k, strlen(k), json_string_value(v),
			    json_string_length(v)) == -1)
				goto oom;
			continue;
		}
		if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_ENSURE_ASCII)) == NULL)
			goto oom;
		if (kvmap_put(out, k, strlen(k), s, strlen(s)) == -1) {
			free(s);
			goto oom;
		}
		free(s);
	}
	rc = 0;
	goto cleanup;
 oom:
	snprintf(err, errlen, "out of memory");
 cleanup:
	json_decref(o);
	return rc;
}
