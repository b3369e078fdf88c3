/*
 * vartrack-worker-redis: reads what the varTrack orchestrator wrote into
 * Redis (interop §3.2), only the keys Git declares:
 *   HASH   HMGET {prefix}:{hash_key} <fields> (pipelined batches); extras
 *          from the hash's other fields, looked for only when HLEN says
 *          there are more fields than declared ones found
 *   STRING MGET {prefix}:{key} ... (pipelined batches); extras only with
 *          detect_extra, via SCAN {prefix}:* (never KEYS)
 *   JSON   GET {prefix}:json, a flat JSON object
 * The {prefix}:__vartrack__ marker hash is never data; its presence is
 * reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "dsworker.h"
#include "kinds/redis.h"
#include "kvmap.h"
#include "log.h"

#define REDIS_BATCH_KEYS	1000
#define REDIS_SCAN_COUNT	1000
#define REDIS_MAX_JSON_BYTES	(64u * 1024 * 1024)
#define REDIS_MAX_EXTRAS	IPC_MAX_EXTRAS

struct redis_ds {
	char		*host, *password;
	int		 port, db;
	struct timeval	 conn_tv, cmd_tv;
	uint32_t	 cmd_ms;
	redisContext	*ctx;
	int		 wrongtype;	/* the last read met a WRONGTYPE reply */
	char		 errbuf[64];
};

static void
ms_to_tv(uint32_t ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static int
redis_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct ipc_redis_settings st;
	struct redis_ds *d;
	int rc = -1;

	if (ipc_redis_settings_unpack(&st, &c->settings, err, errlen) == -1)
		goto cleanup;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	d->host = ds_strdup(st.host);
	d->password = st.password[0] ? ds_strdup(st.password) : NULL;
	d->port = (int)st.port;
	d->db = (int)st.db;
	ms_to_tv(c->connect_timeout_ms ? c->connect_timeout_ms : 5000,
	    &d->conn_tv);
	d->cmd_ms = c->command_timeout_ms ? c->command_timeout_ms : 5000;
	ms_to_tv(d->cmd_ms, &d->cmd_tv);
	*priv = d;
	rc = 0;
 cleanup:
	ipc_redis_settings_release(&st);
	return rc;
}

static void
ds_disconnect(struct redis_ds *d)
{
	if (d->ctx != NULL)
		redisFree(d->ctx);
	d->ctx = NULL;
}

static void
redis_close(void *priv)
{
	struct redis_ds *d = priv;

	ds_disconnect(d);
	free(d->host);
	free(d->password);
	free(d);
}

/* The context's error; hiredis reports a read timeout as EAGAIN's text. */
static const char *
ctx_err(struct redis_ds *d)
{
	if (d->ctx->err == REDIS_ERR_IO &&
	    strcmp(d->ctx->errstr, strerror(EAGAIN)) == 0) {
		snprintf(d->errbuf, sizeof(d->errbuf), "timeout after %lu ms",
		    (unsigned long)d->cmd_ms);
		return d->errbuf;
	}
	return d->ctx->errstr;
}

/* Connect (once; reused across polls): connected once the server has
 * answered a PING (a stopped server still accepts TCP in the kernel's
 * backlog). -1 with err on failure. */
static int
ds_connect(struct redis_ds *d, char *err, size_t errlen)
{
	redisReply *r;

	if (d->ctx != NULL && d->ctx->err == 0)
		return 0;
	ds_disconnect(d);
	d->ctx = redisConnectWithTimeout(d->host, d->port, d->conn_tv);
	if (d->ctx == NULL) {
		snprintf(err, errlen, "connect %s:%d: out of memory", d->host,
		    d->port);
		return -1;
	}
	if (d->ctx->err) {
		snprintf(err, errlen, "connect %s:%d: %s", d->host, d->port,
		    d->ctx->errstr);
		goto fail;
	}
	if (redisSetTimeout(d->ctx, d->cmd_tv) != REDIS_OK) {
		snprintf(err, errlen, "set timeout: %s", ctx_err(d));
		goto fail;
	}
	if (d->password != NULL) {
		r = redisCommand(d->ctx, "AUTH %s", d->password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			/* the server's message never contains the password */
			snprintf(err, errlen, "AUTH failed: %s",
			    r ? r->str : ctx_err(d));
			if (r)
				freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (d->db != 0) {
		r = redisCommand(d->ctx, "SELECT %d", d->db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "SELECT %d failed: %s", d->db,
			    r ? r->str : ctx_err(d));
			if (r)
				freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	r = redisCommand(d->ctx, "PING");
	if (r == NULL || r->type != REDIS_REPLY_STATUS) {
		snprintf(err, errlen, "connect %s:%d: PING: %s", d->host,
		    d->port, r == NULL ? ctx_err(d) : r->type ==
		    REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		if (r)
			freeReplyObject(r);
		goto fail;
	}
	freeReplyObject(r);
	log_info("connected to %s:%d db %d", d->host, d->port, d->db);
	return 0;
 fail:
	ds_disconnect(d);
	return -1;
}




static int
reply_is_value(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS;
}

/*
 * Pipelined multi-key read: cmd is "HMGET" (with target as first argument)
 * or "MGET". Adds one value per key to rb, in order. Returns 0, or -1 with
 * err (connection or protocol failure: the poll is unknown).
 */
static int
read_batched(struct redis_ds *d, struct ds_reply *rb, const char *cmd,
    const char *target, char **keys, size_t *keylens, size_t nkeys,
    size_t *npresent, char *err, size_t errlen)
{
	const char **argv = NULL;
	size_t *argvlen = NULL, i, j, nb, base, n, start;
	redisReply **replies = NULL;
	void *rp;
	int rc = -1, extra = target ? 2 : 1, bad = 0;

	nb = (nkeys + REDIS_BATCH_KEYS - 1) / REDIS_BATCH_KEYS;
	argv = calloc(REDIS_BATCH_KEYS + 2, sizeof(*argv));
	argvlen = calloc(REDIS_BATCH_KEYS + 2, sizeof(*argvlen));
	replies = calloc(nb ? nb : 1, sizeof(*replies));
	if (argv == NULL || argvlen == NULL || replies == NULL)
		fatal("calloc");
	for (i = 0; i < nb; i++) {
		base = i * REDIS_BATCH_KEYS;
		n = nkeys - base < REDIS_BATCH_KEYS ? nkeys - base :
		    REDIS_BATCH_KEYS;
		argv[0] = cmd;
		argvlen[0] = strlen(cmd);
		if (target) {
			argv[1] = target;
			argvlen[1] = strlen(target);
		}
		for (j = 0; j < n; j++) {
			argv[extra + j] = keys[base + j];
			argvlen[extra + j] = keylens[base + j];
		}
		if (redisAppendCommandArgv(d->ctx, (int)(n + extra), argv,
		    argvlen) != REDIS_OK) {
			snprintf(err, errlen, "%s: %s", cmd, ctx_err(d));
			goto out;
		}
	}
	d->wrongtype = 0;
	for (i = 0; i < nb; i++) {
		if (redisGetReply(d->ctx, &rp) != REDIS_OK) {
			snprintf(err, errlen, "%s: %s", cmd, ctx_err(d));
			goto out;
		}
		replies[i] = rp;
		if (bad)
			continue;	/* failed: read the rest, keep in step */
		if (replies[i]->type == REDIS_REPLY_ERROR) {
			/* the server answered: WRONGTYPE is the rule's data */
			if (strncmp(replies[i]->str, "WRONGTYPE", 9) == 0)
				d->wrongtype = 1;
			snprintf(err, errlen, "%s: %s", cmd, replies[i]->str);
			bad = 1;
			continue;
		}
		n = nkeys - i * REDIS_BATCH_KEYS < REDIS_BATCH_KEYS ?
		    nkeys - i * REDIS_BATCH_KEYS : REDIS_BATCH_KEYS;
		if (replies[i]->type != REDIS_REPLY_ARRAY ||
		    replies[i]->elements != n) {
			snprintf(err, errlen, "%s: unexpected reply", cmd);
			bad = 1;
		}
	}
	if (bad)
		goto out;
	/* hand values over, flushing chunks while the replies are alive */
	start = 0;
	for (i = 0; i < nb; i++) {
		base = i * REDIS_BATCH_KEYS;
		for (j = 0; j < replies[i]->elements; j++) {
			redisReply *e = replies[i]->element[j];
			int present = reply_is_value(e);

			if (present && npresent != NULL)
				(*npresent)++;
			if (ds_reply_add(rb, keys[base + j], keylens[base + j],
			    present, present ? e->str : NULL,
			    present ? e->len : 0) == 1) {
				if (ds_reply_flush(rb) == -1)
					goto out;
				/* replies before this one are no longer needed */
				for (; start < i; start++) {
					freeReplyObject(replies[start]);
					replies[start] = NULL;
				}
			}
		}
	}
	rc = 0;
 out:
	if (rc == 0 && rb->nvals > 0) {
		/* values still point into replies: flush before freeing */
		if (ds_reply_flush(rb) == -1)
			rc = -1;
	}
	for (i = 0; i < nb; i++)
		if (replies[i] != NULL)
			freeReplyObject(replies[i]);
	free(replies);
	free(argv);
	free(argvlen);
	return rc;
}

static int
exists(struct redis_ds *d, const char *key, int *out, char *err, size_t errlen)
{
	redisReply *r = redisCommand(d->ctx, "EXISTS %s", key);

	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		snprintf(err, errlen, "EXISTS: %s",
		    r ? (r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply") : ctx_err(d));
		if (r)
			freeReplyObject(r);
		return -1;
	}
	*out = r->integer > 0;
	freeReplyObject(r);
	return 0;
}


/* Other fields of the hash, with values (HASH extras). */
static int
hash_extras(struct redis_ds *d, const struct ds_poll *p, struct ds_reply *rb,
    size_t found, char *err, size_t errlen)
{
	redisReply *r;
	struct kvmap *req;
	char **ek = NULL;
	size_t *ekl = NULL, nek = 0, i;
	int rc = -1;

	r = redisCommand(d->ctx, "HLEN %s", p->target);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		snprintf(err, errlen, "HLEN: %s", r ? "unexpected reply" :
		    ctx_err(d));
		if (r)
			freeReplyObject(r);
		return -1;
	}
	if ((size_t)r->integer <= found) {
		freeReplyObject(r);
		return 0;	/* cheap common case: nothing extra */
	}
	freeReplyObject(r);
	r = redisCommand(d->ctx, "HKEYS %s", p->target);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "HKEYS: %s", r ? "unexpected reply" :
		    ctx_err(d));
		if (r)
			freeReplyObject(r);
		return -1;
	}
	req = ds_poll_keyset(p);
	ek = calloc(r->elements + 1, sizeof(*ek));
	ekl = calloc(r->elements + 1, sizeof(*ekl));
	if (ek == NULL || ekl == NULL)
		fatal("calloc");
	for (i = 0; i < r->elements && nek < REDIS_MAX_EXTRAS; i++) {
		redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_STRING)
			continue;
		if (kvmap_get(req, e->str, e->len) != NULL)
			continue;
		ek[nek] = e->str;
		ekl[nek++] = e->len;
	}
	(void)ds_reply_extras(rb);	/* a failed send shows in rb->failed */
	rc = nek ? read_batched(d, rb, "HMGET", p->target, ek, ekl, nek, NULL,
	    err, errlen) : 0;
	kvmap_free(req);
	free(ek);
	free(ekl);
	freeReplyObject(r);
	return rc;
}

/* glob-escape a prefix for SCAN MATCH */
static char *
glob_escape(const char *s)
{
	size_t n = strlen(s), i, j = 0;
	char *o = malloc(n * 2 + 3);

	if (o == NULL)
		fatal("malloc");
	for (i = 0; i < n; i++) {
		if (strchr("*?[]\\", s[i]) != NULL)
			o[j++] = '\\';
		o[j++] = s[i];
	}
	o[j++] = ':';
	o[j++] = '*';
	o[j] = '\0';
	return o;
}

static int
ends_with_marker(const char *k, size_t len)
{
	static const char mk[] = "__vartrack__";

	return len >= sizeof(mk) - 1 &&
	    memcmp(k + len - (sizeof(mk) - 1), mk, sizeof(mk) - 1) == 0;
}

/* STRING extras: SCAN {prefix}:* minus requested keys and the marker. */
static int
string_extras(struct redis_ds *d, const struct ds_poll *p,
    struct ds_reply *rb, char *err, size_t errlen)
{
	struct kvmap *req = ds_poll_keyset(p), *found = kvmap_new();
	char *pat = glob_escape(p->target), cursor[32] = "0", **ek = NULL;
	size_t *ekl = NULL, i;
	redisReply *r;
	int rc = -1;

	if (found == NULL)
		fatal("kvmap_new");
	do {
		r = redisCommand(d->ctx, "SCAN %s MATCH %s COUNT %d", cursor,
		    pat, REDIS_SCAN_COUNT);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY ||
		    r->element[0]->len >= sizeof(cursor)) {
			snprintf(err, errlen, "SCAN: %s", r ? "unexpected reply"
			    : ctx_err(d));
			if (r)
				freeReplyObject(r);
			goto out;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		for (i = 0; i < r->element[1]->elements; i++) {
			redisReply *e = r->element[1]->element[i];

			if (e->type != REDIS_REPLY_STRING ||
			    ends_with_marker(e->str, e->len) ||
			    kvmap_get(req, e->str, e->len) != NULL)
				continue;
			if (kvmap_count(found) >= REDIS_MAX_EXTRAS)
				break;
			if (kvmap_put(found, e->str, e->len, "", 0) == -1)
				fatal("kvmap_put");
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 &&
	    kvmap_count(found) < REDIS_MAX_EXTRAS);
	if (kvmap_count(found) > 0) {
		ek = calloc(kvmap_count(found), sizeof(*ek));
		ekl = calloc(kvmap_count(found), sizeof(*ekl));
		if (ek == NULL || ekl == NULL)
			fatal("calloc");
		for (i = 0; i < kvmap_count(found); i++) {
			ek[i] = found->ents[i].key;
			ekl[i] = found->ents[i].keylen;
		}
		(void)ds_reply_extras(rb);	/* a failed send shows in rb->failed */
		rc = read_batched(d, rb, "MGET", NULL, ek, ekl,
		    kvmap_count(found), NULL, err, errlen);
	} else
		rc = 0;
 out:
	free(ek);
	free(ekl);
	free(pat);
	kvmap_free(req);
	kvmap_free(found);
	return rc;
}

/* JSON layout: one GET, a flat JSON object of strings. */
static int
read_json(struct redis_ds *d, const struct ds_poll *p, struct ds_reply *rb,
    char *err, size_t errlen)
{
	redisReply *r;
	json_t *root = NULL, *v;
	json_error_t jerr;
	struct kvmap *req;
	const char *k;
	char **dumps = NULL;
	size_t i, ndumps = 0, cap;
	int rc = -1;

	r = redisCommand(d->ctx, "STRLEN %s", p->target);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		/* WRONGTYPE: somebody replaced the key; not our JSON */
		if (r != NULL) {
			snprintf(err, errlen, "STRLEN %s: %s", p->target,
			    r->str);
			freeReplyObject(r);
			/* report every key missing: the value is not ours */
			goto missing;
		}
		snprintf(err, errlen, "STRLEN: %s", ctx_err(d));
		return -1;
	}
	if (r->type == REDIS_REPLY_INTEGER &&
	    (unsigned long long)r->integer > REDIS_MAX_JSON_BYTES) {
		snprintf(err, errlen, "%s holds %lld bytes, over the %u limit",
		    p->target, r->integer, REDIS_MAX_JSON_BYTES);
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	r = redisCommand(d->ctx, "GET %s", p->target);
	if (r == NULL) {
		snprintf(err, errlen, "GET: %s", ctx_err(d));
		return -1;
	}
	if (r->type == REDIS_REPLY_STRING)
		root = json_loadb(r->str, r->len, 0, &jerr);
	freeReplyObject(r);
	if (root == NULL || !json_is_object(root)) {
		if (root != NULL)
			json_decref(root);
 missing:
		for (i = 0; i < p->nkeys; i++)
			if (ds_reply_add(rb, p->keys[i], p->keylens[i], 0, NULL, 0))
				if (ds_reply_flush(rb) == -1)
					return -1;
		return 0;
	}
	cap = p->nkeys + json_object_size(root);
	if ((dumps = calloc(cap + 1, sizeof(*dumps))) == NULL)
		fatal("calloc");
	for (i = 0; i < p->nkeys; i++) {
		v = json_object_getn(root, p->keys[i], p->keylens[i]);
		if (v == NULL)
			ds_reply_add(rb, p->keys[i], p->keylens[i], 0, NULL, 0);
		else if (json_is_string(v))
			ds_reply_add(rb, p->keys[i], p->keylens[i], 1,
			    json_string_value(v), json_string_length(v));
		else {
			/* not what the orchestrator writes: show its JSON */
			dumps[ndumps] = json_dumps(v, JSON_ENCODE_ANY |
			    JSON_COMPACT);
			ds_reply_add(rb, p->keys[i], p->keylens[i], 1,
			    dumps[ndumps] ? dumps[ndumps] : "",
			    dumps[ndumps] ? strlen(dumps[ndumps]) : 0);
			ndumps++;
		}
		if (rb->cost >= IPC_CHUNK_BYTES &&
		    ds_reply_flush(rb) == -1)
			goto out;
	}
	if (rb->nvals && ds_reply_flush(rb) == -1)
		goto out;
	req = ds_poll_keyset(p);
	(void)ds_reply_extras(rb);	/* a failed send shows in rb->failed */
	json_object_foreach(root, k, v) {
		size_t kl = strlen(k);

		if (kvmap_get(req, k, kl) != NULL)
			continue;
		if (json_is_string(v))
			ds_reply_add(rb, k, kl, 1, json_string_value(v),
			    json_string_length(v));
		else {
			dumps[ndumps] = json_dumps(v, JSON_ENCODE_ANY |
			    JSON_COMPACT);
			ds_reply_add(rb, k, kl, 1, dumps[ndumps] ? dumps[ndumps] : "",
			    dumps[ndumps] ? strlen(dumps[ndumps]) : 0);
			ndumps++;
		}
		if (rb->cost >= IPC_CHUNK_BYTES &&
		    ds_reply_flush(rb) == -1)
			break;
	}
	kvmap_free(req);
	if (rb->nvals && ds_reply_flush(rb) == -1)
		goto out;
	rc = 0;
 out:
	for (i = 0; i < ndumps; i++)
		free(dumps[i]);
	free(dumps);
	json_decref(root);
	return rc;
}

/*
 * A rule's key holds another type than the rule's structure (somebody
 * replaced the hash by a string): Redis answered, so this is the rule's
 * data, not an outage. The rule is unknown with the key and both types;
 * its values are not reported missing key by key, because the
 * orchestrator's own HSET fails on that key too (a self-heal cannot repair
 * it). Returns DS_POLL_DATA_ERROR, or -1 when TYPE itself fails.
 */
static int
wrongtype_error(struct redis_ds *d, const char *key, const char *expects,
    char *err, size_t errlen)
{
	redisReply *r = redisCommand(d->ctx, "TYPE %s", key);

	d->wrongtype = 0;
	if (r == NULL || r->type != REDIS_REPLY_STATUS) {
		snprintf(err, errlen, "TYPE: %s", r ? (r->type ==
		    REDIS_REPLY_ERROR ? r->str : "unexpected reply") :
		    ctx_err(d));
		if (r)
			freeReplyObject(r);
		return -1;
	}
	snprintf(err, errlen, "key %s holds a %s, rule expects a %s", key,
	    r->str, expects);
	freeReplyObject(r);
	return DS_POLL_DATA_ERROR;
}

static int
redis_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct redis_ds *d = priv;
	struct ipc_redis_scope sc;
	size_t found = 0;
	int rc = -1, marker = 0;

	if (ipc_redis_scope_unpack(&sc, &p->scope, err, errlen) == -1)
		goto done;
	if (ds_connect(d, err, errlen) == -1)
		goto done;
	if (exists(d, p->marker, &marker, err, errlen) == -1)
		goto fail;
	rb->marker_present = marker;
	switch (sc.structure) {
	case IPC_REDIS_HASH:
		if (read_batched(d, rb, "HMGET", p->target, p->keys,
		    p->keylens, p->nkeys, &found, err, errlen) == -1)
			goto fail;
		if (hash_extras(d, p, rb, found, err, errlen) == -1)
			goto fail;
		break;
	case IPC_REDIS_STRING:
		if (read_batched(d, rb, "MGET", NULL, p->keys, p->keylens,
		    p->nkeys, NULL, err, errlen) == -1)
			goto fail;
		if (p->detect_extra &&
		    string_extras(d, p, rb, err, errlen) == -1)
			goto fail;
		break;
	case IPC_REDIS_JSON:
		if (read_json(d, p, rb, err, errlen) == -1)
			goto fail;
		break;
	}
	rc = 0;
	goto done;
 fail:
	if (d->ctx != NULL && d->ctx->err == 0 && d->wrongtype)
		rc = wrongtype_error(d, p->target, "hash", err, errlen);
	if (d->ctx != NULL && d->ctx->err)
		ds_disconnect(d);
 done:
	ipc_redis_scope_release(&sc);
	return rc;
}

static const struct dsw_kind redis_kind = {
	.name = "redis",
	.type = "redis",
	.open = redis_open,
	.close = redis_close,
	.poll = redis_poll,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&redis_kind, argc, argv);
}
