/*
 * vartrack-worker-vercel: reads a Vercel project's environment variables
 * (interop §3.7, spec/backends-http-ha.md §4) over HTTPS (workers/runtime/
 * http.c), bearer token, teamId/slug scope.
 *
 * One list call per poll: GET /v10/projects/{id}/env (a 404 tries /v9/,
 * which is then kept for the datasource). Git keys are matched by key and
 * target (the rule's targets). plain values are compared; an encrypted
 * variable is a type change (MISMATCH), its decrypted value fetched
 * (GET /v1/projects/{id}/env/{envId}) only when its updatedAt moved since
 * the last poll (cache by id); sensitive and secret values cannot be read:
 * UNVERIFIABLE, "changed outside Git (value unreadable)" when their
 * updatedAt moved. A wrong type or target is MISMATCH. VARTRACK_MANAGED_BY
 * and VARTRACK_META are metadata (the marker), never drift.
 *
 * 429: the poll is RATE_LIMITED until X-RateLimit-Reset / the body's
 * limit.reset / Retry-After, and no request is made before then. The token
 * is never logged; API errors show their code and message only.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "curl_common.h"
#include "dsworker.h"
#include "http.h"
#include "kinds/vercel.h"
#include "kvmap.h"
#include "log.h"
#include "vercel_parse.h"

#define VC_CACHE_MAX	256
#define VC_PAGES_MAX	100

struct vc_cache {
	uint32_t	 rule_id;
	struct kvmap	*ids;	/* envId -> "updatedAt\n" [decrypted value] */
};

struct vc_ds {
	char			*api, *token, *team_q;
	int			 v9;
	time_t			 rl_until;
	char			 rl_src[48];
	struct http_client	*http;
	struct vc_cache		 caches[VC_CACHE_MAX];
	size_t			 ncaches;
	unsigned		 nlist, nget;
};

static void
xfree_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int
vc_init(void)
{
	char err[256];

	if (curlc_global_init(err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void
vc_fini(void)
{
	curlc_global_cleanup();
}

static void
vc_close(void *priv)
{
	struct vc_ds *d = priv;
	size_t i;

	for (i = 0; i < d->ncaches; i++)
		kvmap_free(d->caches[i].ids);
	http_client_free(d->http);
	free(d->api);
	xfree_secret(d->token);
	free(d->team_q);
	free(d);
}

static int
vc_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct ipc_vercel_settings st;
	struct http_opts o;
	struct vc_ds *d;
	int rc = -1;

	if (ipc_vercel_settings_unpack(&st, &c->settings, err, errlen) == -1) {
		ipc_vercel_settings_release(&st);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	if (*st.api_url == '\0' || *st.token == '\0') {
		snprintf(err, errlen, "api_url or token missing");
		goto cleanup;
	}
	d->api = ds_strdup(st.api_url);
	d->token = ds_strdup(st.token);
	if (*st.team_id != '\0') {
		if (asprintf(&d->team_q, "teamId=%s", st.team_id) == -1)
			fatal("asprintf");
	} else if (*st.team_slug != '\0') {
		if (asprintf(&d->team_q, "slug=%s", st.team_slug) == -1)
			fatal("asprintf");
	}
	memset(&o, 0, sizeof(o));
	o.ca_file = *st.ca_file != '\0' ? st.ca_file : NULL;
	o.insecure_http = strncmp(st.api_url, "http://", 7) == 0;
	o.connect_timeout_ms = c->connect_timeout_ms;
	o.timeout_ms = c->command_timeout_ms;
	o.max_body = (size_t)st.max_response_bytes;
	if (http_client_new(&d->http, &o, err, errlen) == -1)
		goto cleanup;
	log_info("datasource %s: %s%s%s", c->name, st.api_url,
	    d->team_q ? ", " : "", d->team_q ? d->team_q : "");
	*priv = d;
	d = NULL;
	rc = 0;
 cleanup:
	if (d != NULL)
		vc_close(d);
	ipc_vercel_settings_release(&st);
	return rc;
}

static struct vc_cache *
cache_for(struct vc_ds *d, uint32_t rule_id)
{
	size_t i;

	for (i = 0; i < d->ncaches; i++)
		if (d->caches[i].rule_id == rule_id)
			return &d->caches[i];
	if (d->ncaches == VC_CACHE_MAX) {
		kvmap_free(d->caches[0].ids);
		memmove(&d->caches[0], &d->caches[1],
		    (VC_CACHE_MAX - 1) * sizeof(d->caches[0]));
		d->ncaches--;
	}
	memset(&d->caches[d->ncaches], 0, sizeof(d->caches[0]));
	d->caches[d->ncaches].rule_id = rule_id;
	return &d->caches[d->ncaches++];
}

static void
iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A 429: no request before its reset (vc_reset_at), then the message. */
static int
rate_limited(struct vc_ds *d, const struct http_resp *r, char *err,
    size_t errlen)
{
	const char *src;
	char ts[32];

	d->rl_until = vc_reset_at(http_resp_header(r, "X-RateLimit-Reset"),
	    http_resp_header(r, "Retry-After"), r->body, r->body_len,
	    time(NULL), &src);
	snprintf(d->rl_src, sizeof(d->rl_src), "%s", src);
	iso_time(d->rl_until, ts, sizeof(ts));
	snprintf(err, errlen, "rate limited until %s (%s)", ts, src);
	return DS_POLL_RATE_LIMITED;
}

/* A 200 with X-RateLimit-Remaining 0: no request before X-RateLimit-Reset
 * (the next one would be a 429). */
static void
rl_note(struct vc_ds *d, const struct http_resp *r)
{
	time_t now = time(NULL);
	long long rs;

	if (vc_num_value(http_resp_header(r, "X-RateLimit-Remaining")) != 0 ||
	    (rs = vc_num_value(http_resp_header(r, "X-RateLimit-Reset"))) <=
	    (long long)now)
		return;
	d->rl_until = rs > (long long)now + VC_RL_MAX_S ? now + VC_RL_MAX_S :
	    (time_t)rs;
	snprintf(d->rl_src, sizeof(d->rl_src), "X-RateLimit-Remaining 0");
}

static void
api_error(const struct http_resp *r, const char *what, char *err,
    size_t errlen)
{
	vc_api_error(r->status, r->body, r->body_len, what, err, errlen);
}

static int
vc_get(struct vc_ds *d, const char *url, struct http_resp *r, char *err,
    size_t errlen)
{
	const char *hdrs[] = { "Accept: application/json", NULL };
	struct http_req q;

	memset(&q, 0, sizeof(q));
	q.method = HTTP_GET;
	q.url = url;
	q.headers = hdrs;
	q.bearer_token = d->token;
	if (http_request(r, d->http, &q, err, errlen) == -1)
		return -1;
	if (r->status == 429) {	/* answered, but not now */
		int rc = rate_limited(d, r, err, errlen);

		http_resp_fini(r);
		return rc;
	}
	return 0;
}

/* Every env of the project into *docs (json, kept) and envs. */
static int
list_envs(struct vc_ds *d, const char *project, json_t *docs,
    struct vc_env **envs, size_t *nenvs, char *err, size_t errlen)
{
	struct http_resp r;
	char *url, what[512], next[32] = "", e2[400];
	size_t pages, cap = 0;
	long long nx;
	int rc;

	*envs = NULL;
	*nenvs = 0;
	for (pages = 0; pages < VC_PAGES_MAX; pages++) {
		if (asprintf(&url, "%s/v%d/projects/%s/env%s%s%s%s%s", d->api,
		    d->v9 ? 9 : 10, project, d->team_q || *next ? "?" : "",
		    d->team_q ? d->team_q : "", d->team_q && *next ? "&" : "",
		    *next ? "until=" : "", next) == -1)
			fatal("asprintf");
		snprintf(what, sizeof(what), "GET /v%d/projects/%s/env",
		    d->v9 ? 9 : 10, project);
		d->nlist++;
		rc = vc_get(d, url, &r, err, errlen);
		free(url);
		if (rc != 0)	/* -1, DS_POLL_RATE_LIMITED */
			return rc;
		if (r.status == 404 && !d->v9 && pages == 0) {
			/* v10 unknown here: the orchestrator's v9 */
			http_resp_fini(&r);
			d->v9 = 1;
			rc = list_envs(d, project, docs, envs, nenvs, err,
			    errlen);
			if (rc != 0)
				d->v9 = 0;
			return rc;
		}
		if (r.status != 200) {
			api_error(&r, what, err, errlen);
			if (r.status == 404) {
				snprintf(e2, sizeof(e2), "project '%s' not "
				    "found (%s)", project, err);
				snprintf(err, errlen, "%s", e2);
			}
			http_resp_fini(&r);
			return -1;
		}
		rl_note(d, &r);
		rc = vc_page_parse(r.body, r.body_len, docs, envs, nenvs, &cap,
		    &nx, e2, sizeof(e2));
		http_resp_fini(&r);
		if (rc == -1) {
			snprintf(err, errlen, "%s: %s", what, e2);
			return -1;
		}
		if (nx < 0)
			return 0;
		snprintf(next, sizeof(next), "%lld", nx);
	}
	snprintf(err, errlen, "GET /projects/%s/env: more than %d pages",
	    project, VC_PAGES_MAX);
	return -1;
}

/* The decrypted value of an encrypted variable: 0 with *val (malloc'd),
 * 1 when none comes back, -1 with err, DS_POLL_RATE_LIMITED. */
static int
decrypt(struct vc_ds *d, const char *project, const char *id, char **val,
    size_t *vallen, char *err, size_t errlen)
{
	struct http_resp r;
	char *url, what[512];
	int rc;

	*val = NULL;
	if (!vc_id_ok(id))
		return 1;
	if (asprintf(&url, "%s/v1/projects/%s/env/%s%s%s", d->api, project,
	    id, d->team_q ? "?" : "", d->team_q ? d->team_q : "") == -1)
		fatal("asprintf");
	snprintf(what, sizeof(what), "GET /v1/projects/%s/env/%s", project,
	    id);
	d->nget++;
	rc = vc_get(d, url, &r, err, errlen);
	free(url);
	if (rc != 0)	/* -1, DS_POLL_RATE_LIMITED */
		return rc;
	if (r.status != 200) {
		api_error(&r, what, err, errlen);
		http_resp_fini(&r);
		return r.status == 404 ? 1 : -1;
	}
	rl_note(d, &r);
	rc = vc_decrypted_value(r.body, r.body_len, val, vallen);
	http_resp_fini(&r);
	return rc;
}

static int
is_meta(const char *k, size_t n)
{
	return (n == 19 && memcmp(k, "VARTRACK_MANAGED_BY", 19) == 0) ||
	    (n == 13 && memcmp(k, "VARTRACK_META", 13) == 0);
}

static int
glob_any(const struct ipc_vercel_scope *sc, const char *key)
{
	size_t i;

	for (i = 0; i < sc->nsensitive; i++)
		if (fnmatch(sc->sensitive_keys[i], key, 0) == 0)
			return 1;
	return 0;
}

static int
vc_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct vc_ds *d = priv;
	struct ipc_vercel_scope sc;
	struct vc_cache *c;
	struct kvmap *ids = NULL, *want = NULL, *notes = NULL;
	struct vc_env *envs = NULL, *e;
	const struct kv_entry *ce;
	json_t *docs = json_array();
	unsigned tw = 0;
	size_t i, n = 0, k;
	char ts[32], tg[64], tw_s[64], note[IPC_NOTE_MAX_BYTES], ub[32];
	char *val;
	size_t vallen = 0;
	int rc = -1, r, sens;

	d->nlist = d->nget = 0;
	if (ipc_vercel_scope_unpack(&sc, &p->scope, err, errlen) == -1)
		goto cleanup;
	if (!vc_id_ok(sc.project_id)) {
		snprintf(err, errlen, "no valid project id");
		goto cleanup;
	}
	for (i = 0; i < sc.ntargets; i++)
		tw |= vc_target_bit(sc.targets[i]);
	if (tw == 0)
		tw = VC_T_PREV;
	vc_targets_str(tw, tw_s, sizeof(tw_s));
	if (d->rl_until > time(NULL)) {
		iso_time(d->rl_until, ts, sizeof(ts));
		snprintf(err, errlen, "rate limited until %s (%s); no request "
		    "before then", ts, d->rl_src);
		rc = DS_POLL_RATE_LIMITED;
		goto cleanup;
	}
	c = cache_for(d, p->rule_id);
	if ((r = list_envs(d, sc.project_id, docs, &envs, &n, err,
	    errlen)) != 0) {
		rc = r;
		goto cleanup;
	}
	vc_envs_sort(envs, n);	/* vc_find_env: a binary search per key */
	if ((ids = kvmap_new()) == NULL || (notes = kvmap_new()) == NULL)
		fatal("kvmap_new");
	want = ds_poll_keyset(p);
	/* first pass: decrypt what moved, into the new cache */
	for (i = 0; i < p->nkeys; i++) {
		e = vc_find_env(envs, n, p->keys[i], p->keylens[i], tw);
		if (e == NULL || e->id == NULL)
			continue;
		e->used = 1;
		snprintf(ub, sizeof(ub), "%lld\n", e->updated);
		ce = c->ids ? kvmap_gets(c->ids, e->id) : NULL;
		if (strcmp(e->type, "encrypted") == 0) {
			if (ce != NULL && ce->vallen >= strlen(ub) &&
			    memcmp(ce->val, ub, strlen(ub)) == 0 &&
			    e->updated >= 0) {
				if (kvmap_put(ids, e->id, strlen(e->id),
				    ce->val, ce->vallen) == -1)
					fatal("kvmap_put");
				continue;
			}
			r = decrypt(d, sc.project_id, e->id, &val, &vallen,
			    err, errlen);
			if (r == -1 || r == DS_POLL_RATE_LIMITED) {
				rc = r;
				goto cleanup;
			}
			if (r == 0) {
				char *s;

				if ((s = malloc(strlen(ub) + vallen + 1)) ==
				    NULL)
					fatal("malloc");
				memcpy(s, ub, strlen(ub));
				memcpy(s + strlen(ub), val, vallen);
				if (kvmap_put(ids, e->id, strlen(e->id), s,
				    strlen(ub) + vallen) == -1)
					fatal("kvmap_put");
				xfree_secret(val);
				free(s);
			}
		} else {
			if (ce != NULL && e->updated >= 0 &&
			    (ce->vallen < strlen(ub) ||
			    memcmp(ce->val, ub, strlen(ub)) != 0))
				kvmap_put(notes, e->id, strlen(e->id), "1", 1);
			if (kvmap_put(ids, e->id, strlen(e->id), ub,
			    strlen(ub)) == -1)
				fatal("kvmap_put");
		}
	}
	/* the reply: notes live in the notes map until the end */
	for (i = 0; i < p->nkeys; i++) {
		const char *v = NULL, *why = NULL;
		size_t vl = 0;
		int st = IPC_VALUE_READ;
		char *key0;

		e = vc_find_env(envs, n, p->keys[i], p->keylens[i], tw);
		if (e == NULL) {
			ds_reply_add(rb, p->keys[i], p->keylens[i], 0, NULL, 0);
			continue;
		}
		if ((key0 = malloc(p->keylens[i] + 1)) == NULL)
			fatal("malloc");
		memcpy(key0, p->keys[i], p->keylens[i]);
		key0[p->keylens[i]] = '\0';
		sens = glob_any(&sc, key0);
		free(key0);
		note[0] = '\0';
		vc_targets_str(e->targets, tg, sizeof(tg));
		if (strcmp(e->type, "plain") == 0) {
			v = e->value ? e->value : "";
			vl = e->value ? e->vallen : 0;
			if (sens)
				snprintf(note, sizeof(note), "type plain (Git "
				    "writes sensitive)");
		} else if (strcmp(e->type, "sensitive") == 0 ||
		    strcmp(e->type, "secret") == 0) {
			if (!sens)
				snprintf(note, sizeof(note), "type %s (Git "
				    "writes plain; value unreadable)", e->type);
			else if ((e->targets & tw) != tw)
				snprintf(note, sizeof(note), "value "
				    "unreadable");
			else {
				st = IPC_VALUE_UNVERIFIABLE;
				why = e->id != NULL &&
				    kvmap_gets(notes, e->id) != NULL ?
				    "changed outside Git (value unreadable)" :
				    "value unreadable";
			}
		} else if (strcmp(e->type, "encrypted") == 0) {
			ce = e->id ? kvmap_gets(ids, e->id) : NULL;
			if (ce != NULL) {
				v = (const char *)memchr(ce->val, '\n',
				    ce->vallen) + 1;
				vl = ce->vallen - (size_t)(v - ce->val);
			}
			snprintf(note, sizeof(note), "type encrypted (Git "
			    "writes %s)%s", sens ? "sensitive" : "plain",
			    ce ? "" : "; value not decryptable");
		} else
			snprintf(note, sizeof(note), "type %.32s (Git writes "
			    "%s)", e->type, sens ? "sensitive" : "plain");
		if ((e->targets & tw) != tw) {
			size_t l = strlen(note);

			snprintf(note + l, sizeof(note) - l, "%starget %s "
			    "(Git writes %s)", l ? "; " : "", tg, tw_s);
		}
		if (note[0] != '\0' && st == IPC_VALUE_READ) {
			st = IPC_VALUE_MISMATCH;
			why = ds_poll_store(p, note, strlen(note) + 1);
		}
		if (st == IPC_VALUE_READ)
			ds_reply_add(rb, p->keys[i], p->keylens[i], 1, v, vl);
		else
			ds_reply_add_status(rb, p->keys[i], p->keylens[i], st,
			    why, v ? v : "", vl);
	}
	if (ds_reply_extras(rb) == -1) {
		snprintf(err, errlen, "cannot send the reply");
		goto cleanup;
	}
	for (k = 0; k < n; k++) {
		e = &envs[k];
		if (is_meta(e->key, e->keylen)) {
			if (e->keylen == 19 && e->value != NULL &&
			    strcmp(e->value, "vartrack") == 0 &&
			    (e->targets & tw))
				rb->marker_present = 1;
			continue;
		}
		if (!p->detect_extra || e->used || !(e->targets & tw) ||
		    kvmap_get(want, e->key, e->keylen) != NULL)
			continue;
		ds_reply_add(rb, e->key, e->keylen, 1,
		    strcmp(e->type, "plain") == 0 && e->value ? e->value : "",
		    strcmp(e->type, "plain") == 0 && e->value ? e->vallen : 0);
	}
	/* a verified poll: its updatedAt marks are the new cache */
	kvmap_free(c->ids);
	c->ids = ids;
	ids = NULL;
	rc = 0;
	log_debug("rule %u: %u list, %u decrypt requests", p->rule_id,
	    d->nlist, d->nget);
 cleanup:
	if (rc != 0)
		log_debug("rule %u: %u list, %u decrypt requests", p->rule_id,
		    d->nlist, d->nget);
	/* values in rb point into docs and ids: end the reply first */
	ds_reply_end(rb, rc, err);
	kvmap_free(ids);
	kvmap_free(notes);
	kvmap_free(want);
	free(envs);
	json_decref(docs);
	ipc_vercel_scope_release(&sc);
	return rc;
}

static const struct dsw_kind vc_kind = {
	.name = "vercel",
	.type = "vercel",
	.init = vc_init,
	.fini = vc_fini,
	.open = vc_open,
	.close = vc_close,
	.poll = vc_poll,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&vc_kind, argc, argv);
}
