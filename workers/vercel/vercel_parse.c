/*
 * The Vercel worker's response parsers (vercel_parse.h). Nothing here
 * sends a request or keeps state: every input is what a remote server
 * said, and is fuzzed (tests/fuzz/fuzz_vercel.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "vercel_parse.h"

unsigned
vc_target_bit(const char *s)
{
	return strcmp(s, "production") == 0 ? VC_T_PROD :
	    strcmp(s, "preview") == 0 ? VC_T_PREV :
	    strcmp(s, "development") == 0 ? VC_T_DEV : 0;
}

void
vc_targets_str(unsigned t, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", t & VC_T_PROD ? "production" : "",
	    (t & VC_T_PROD) && (t & (VC_T_PREV | VC_T_DEV)) ? "," : "",
	    t & VC_T_PREV ? "preview" : "",
	    (t & VC_T_PREV) && (t & VC_T_DEV) ? "," : "",
	    t & VC_T_DEV ? "development" : "");
	if ((t & (VC_T_PROD | VC_T_PREV | VC_T_DEV)) == 0)
		snprintf(buf, len, "none");
}

int
vc_id_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 256)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.'))
			return 0;
	return 1;
}

long long
vc_num_value(const char *s)
{
	char *end;
	long long v;

	if (s == NULL)
		return -1;
	v = strtoll(s, &end, 10);
	return end != s && *end == '\0' && v >= 0 ? v : -1;
}

/* One env object into e (borrowed from the JSON); -1 when not one. */
static int
env_from(json_t *o, struct vc_env *e)
{
	json_t *k, *t, *v, *tg, *x;
	size_t i;

	memset(e, 0, sizeof(*e));
	k = json_object_get(o, "key");
	t = json_object_get(o, "type");
	if (!json_is_string(k) || !json_is_string(t))
		return -1;
	e->key = json_string_value(k);
	e->keylen = json_string_length(k);
	e->type = json_string_value(t);
	if (json_is_string(v = json_object_get(o, "value"))) {
		e->value = json_string_value(v);
		e->vallen = json_string_length(v);
	}
	if (json_is_string(x = json_object_get(o, "id")))
		e->id = json_string_value(x);
	if (json_is_string(x = json_object_get(o, "gitBranch")))
		e->branch = json_string_value(x);
	e->updated = json_is_integer(x = json_object_get(o, "updatedAt")) ?
	    json_integer_value(x) : -1;
	tg = json_object_get(o, "target");
	if (json_is_string(tg))
		e->targets = vc_target_bit(json_string_value(tg));
	else if (json_is_array(tg))
		for (i = 0; i < json_array_size(tg); i++)
			if (json_is_string(json_array_get(tg, i)))
				e->targets |= vc_target_bit(json_string_value(
				    json_array_get(tg, i)));
	return 0;
}

int
vc_page_parse(const char *body, size_t len, json_t *docs,
    struct vc_env **envs, size_t *n, size_t *cap, long long *next,
    char *err, size_t errlen)
{
	json_t *o, *arr, *nx;
	size_t i;

	*next = -1;
	if ((o = json_loadb(body, len, JSON_ALLOW_NUL, NULL)) == NULL ||
	    !json_is_object(o)) {
		snprintf(err, errlen, "the answer is not a JSON object (%zu "
		    "bytes)", len);
		json_decref(o);
		return -1;
	}
	if (json_array_append_new(docs, o) == -1)
		fatal("json_array_append_new");
	if ((arr = json_object_get(o, "envs")) == NULL &&
	    json_is_string(json_object_get(o, "key"))) {
		/* oneOf (1): a single env object */
		if ((arr = json_array()) == NULL ||
		    json_array_append(arr, o) == -1 ||
		    json_array_append_new(docs, arr) == -1)
			fatal("json_array");
	}
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "no \"envs\" list in the answer");
		return -1;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			if ((*envs = reallocarray(*envs, *cap,
			    sizeof(**envs))) == NULL)
				fatal("reallocarray");
		}
		if (env_from(json_array_get(arr, i), &(*envs)[*n]) == -1) {
			snprintf(err, errlen, "envs[%zu] has no string key "
			    "and type", i);
			return -1;
		}
		(*envs)[*n].idx = *n;
		(*n)++;
	}
	nx = json_object_get(json_object_get(o, "pagination"), "next");
	if (json_is_integer(nx) && json_integer_value(nx) >= 0)
		*next = json_integer_value(nx);
	return 0;
}

static int
env_cmp(const void *a, const void *b)
{
	const struct vc_env *x = a, *y = b;
	int c;

	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	if ((c = memcmp(x->key, y->key, x->keylen)) != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void
vc_envs_sort(struct vc_env *envs, size_t n)
{
	if (n > 1)
		qsort(envs, n, sizeof(*envs), env_cmp);
}

struct vc_env *
vc_find_env(struct vc_env *envs, size_t n, const char *key, size_t keylen,
    unsigned want)
{
	struct vc_env probe, *best = NULL;
	int bs = 0, s;
	size_t lo = 0, hi = n, i;

	memset(&probe, 0, sizeof(probe));
	probe.key = key;
	probe.keylen = keylen;
	while (lo < hi) {	/* the first of that key */
		i = lo + (hi - lo) / 2;
		if (env_cmp(&envs[i], &probe) < 0)
			lo = i + 1;
		else
			hi = i;
	}
	for (i = lo; i < n && envs[i].keylen == keylen &&
	    memcmp(envs[i].key, key, keylen) == 0; i++) {
		s = (envs[i].targets & want) == want ?
		    (envs[i].branch == NULL ? 4 : 3) :
		    (envs[i].targets & want) ? 2 : 1;
		if (s > bs) {
			bs = s;
			best = &envs[i];
		}
	}
	return best;
}

int
vc_decrypted_value(const char *body, size_t len, char **val, size_t *vallen)
{
	json_t *o, *v;
	int rc = 1;

	*val = NULL;
	*vallen = 0;
	if ((o = json_loadb(body, len, JSON_ALLOW_NUL, NULL)) != NULL &&
	    json_is_string(v = json_object_get(o, "value")) &&
	    !json_is_false(json_object_get(o, "decrypted"))) {
		*vallen = json_string_length(v);
		if ((*val = malloc(*vallen + 1)) == NULL)
			fatal("malloc");
		memcpy(*val, json_string_value(v), *vallen + 1);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

time_t
vc_reset_at(const char *x_reset, const char *retry_after, const char *body,
    size_t len, time_t now, const char **src)
{
	time_t until = 0;
	long long v;
	json_t *o, *r;

	*src = NULL;
	if ((v = vc_num_value(x_reset)) > 0 && v < (long long)now +
	    10 * VC_RL_MAX_S) {
		until = (time_t)v;
		*src = "X-RateLimit-Reset";
	}
	if (body != NULL && (o = json_loadb(body, len, JSON_ALLOW_NUL,
	    NULL)) != NULL) {
		r = json_object_get(json_object_get(json_object_get(o,
		    "error"), "limit"), "reset");
		if (json_is_integer(r) && json_integer_value(r) > until &&
		    json_integer_value(r) < (json_int_t)now +
		    10 * VC_RL_MAX_S) {
			until = (time_t)json_integer_value(r);
			*src = "limit.reset";
		}
		json_decref(o);
	}
	if (until == 0 && retry_after != NULL) {
		/* delay-seconds or an HTTP-date (RFC 9110 10.2.3) */
		if ((v = vc_num_value(retry_after)) >= 0)
			until = now + (time_t)(v > VC_RL_MAX_S ? VC_RL_MAX_S :
			    v);
		else if ((until = curl_getdate(retry_after, NULL)) == -1)
			until = 0;
		if (until != 0)
			*src = "Retry-After";
	}
	if (until <= now) {
		until = now + (until == 0 ? VC_RL_DEFAULT_S : 1);
		if (*src == NULL)
			*src = "no reset given";
	}
	if (until > now + VC_RL_MAX_S)
		until = now + VC_RL_MAX_S;
	return until;
}

void
vc_api_error(long status, const char *body, size_t len, const char *what,
    char *err, size_t errlen)
{
	json_t *o, *e;
	const char *code = NULL, *msg = NULL;

	o = NULL;
	if (body != NULL && (o = json_loadb(body, len, JSON_ALLOW_NUL,
	    NULL)) != NULL) {
		e = json_object_get(o, "error");
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
	}
	if (code != NULL)
		snprintf(err, errlen, "%s: HTTP %ld %.64s: %.200s", what,
		    status, code, msg ? msg : "");
	else
		snprintf(err, errlen, "%s: HTTP %ld (not a Vercel error body)",
		    what, status);
	json_decref(o);
}
