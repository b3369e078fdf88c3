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

#include "kvmap.h"
#include "log.h"
#include "worker.h"

#define REDIS_BATCH_KEYS	1000
#define REDIS_SCAN_COUNT	1000
#define REDIS_MAX_JSON_BYTES	(64u * 1024 * 1024)
#define REDIS_MAX_EXTRAS	100000
#define REDIS_MAX_DATASOURCES	64

struct redis_ds {
	char		*name, *host, *password;
	int		 port, db;
	struct timeval	 conn_tv, cmd_tv;
	redisContext	*ctx;
};

/* a poll request being received in chunks */
struct pending_poll {
	uint32_t	 rule_id;
	char		*datasource, *target, *marker;
	enum ipc_structure structure;
	int		 detect_extra;
	char		**keys;		/* point into blocks */
	size_t		*keylens;
	size_t		 nkeys, cap;
	char		**blocks;	/* key storage: no malloc per key */
	size_t		 nblocks, block_used, block_size;
	int		 active;
};

#define KEY_BLOCK_BYTES	(256u * 1024)

static struct redis_ds	 dss[REDIS_MAX_DATASOURCES];
static size_t		 ndss;
static struct pending_poll pp;

/* reply being built, sent in chunks under IPC_CHUNK_BYTES */
struct reply_buf {
	struct ipc_chan	*chan;
	uint32_t	 rule_id;
	struct ipc_value *vals;
	size_t		 nvals, cap, cost;
	int		 extras_mode;
	int		 marker_present;
	int		 failed;
};

static struct redis_ds *
ds_byname(const char *name)
{
	size_t i;

	for (i = 0; i < ndss; i++)
		if (strcmp(dss[i].name, name) == 0)
			return &dss[i];
	return NULL;
}

static void
ms_to_tv(uint32_t ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static int
redis_conf(const struct ipc_msg *m)
{
	const struct ipc_conf_datasource *c = &m->u.conf_datasource;
	struct redis_ds *d;

	if (m->type != IPC_CONF_DATASOURCE || strcmp(c->type, "redis") != 0)
		return -1;
	if ((d = ds_byname(c->name)) == NULL) {
		if (ndss == REDIS_MAX_DATASOURCES)
			return -1;
		d = &dss[ndss++];
	} else {
		free(d->name);
		free(d->host);
		free(d->password);
		if (d->ctx != NULL)
			redisFree(d->ctx);
	}
	memset(d, 0, sizeof(*d));
	d->name = strdup(c->name);
	d->host = strdup(c->host);
	d->password = c->password[0] ? strdup(c->password) : NULL;
	if (d->name == NULL || d->host == NULL ||
	    (c->password[0] && d->password == NULL))
		fatal("strdup");
	d->port = (int)c->port;
	d->db = (int)c->db;
	ms_to_tv(c->connect_timeout_ms ? c->connect_timeout_ms : 5000,
	    &d->conn_tv);
	ms_to_tv(c->command_timeout_ms ? c->command_timeout_ms : 5000,
	    &d->cmd_tv);
	return 0;
}

static void
ds_disconnect(struct redis_ds *d)
{
	if (d->ctx != NULL)
		redisFree(d->ctx);
	d->ctx = NULL;
}

/* Connect (once; reused across polls). -1 with err on failure. */
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
		snprintf(err, errlen, "set timeout: %s", d->ctx->errstr);
		goto fail;
	}
	if (d->password != NULL) {
		r = redisCommand(d->ctx, "AUTH %s", d->password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			/* the server's message never contains the password */
			snprintf(err, errlen, "AUTH failed: %s",
			    r ? r->str : d->ctx->errstr);
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
			    r ? r->str : d->ctx->errstr);
			if (r)
				freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	log_info("connected to %s:%d db %d", d->host, d->port, d->db);
	return 0;
 fail:
	ds_disconnect(d);
	return -1;
}

static void
pp_reset(void)
{
	size_t i;

	for (i = 0; i < pp.nblocks; i++)
		free(pp.blocks[i]);
	free(pp.blocks);
	free(pp.keys);
	free(pp.keylens);
	free(pp.datasource);
	free(pp.target);
	free(pp.marker);
	memset(&pp, 0, sizeof(pp));
}

static int
rb_flush(struct reply_buf *rb, int last, enum ipc_poll_status st,
    const char *error)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_POLL_REPLY;
	m.u.poll_reply.rule_id = rb->rule_id;
	m.u.poll_reply.status = st;
	m.u.poll_reply.error = error;
	if (rb->extras_mode) {
		m.u.poll_reply.extras = rb->vals;
		m.u.poll_reply.nextras = rb->nvals;
	} else {
		m.u.poll_reply.values = rb->vals;
		m.u.poll_reply.nvalues = rb->nvals;
	}
	m.u.poll_reply.marker_present = rb->marker_present;
	m.u.poll_reply.last = last;
	if (ipc_chan_send(rb->chan, &m, 1) == -1) {
		rb->failed = 1;
		return -1;
	}
	rb->nvals = 0;
	rb->cost = 0;
	return 0;
}

/* Add one value; the reply must outlive the buffer until flushed, so
 * callers flush before freeing replies (rb_add copies nothing). */
static int
rb_add(struct reply_buf *rb, const char *key, size_t keylen, int present,
    const char *val, size_t vallen)
{
	struct ipc_value *v;
	size_t cost;

	if (rb->nvals == rb->cap) {
		size_t ncap = rb->cap ? rb->cap * 2 : 1024;
		struct ipc_value *nv = realloc(rb->vals, ncap * sizeof(*nv));

		if (nv == NULL)
			fatal("realloc");
		rb->vals = nv;
		rb->cap = ncap;
	}
	v = &rb->vals[rb->nvals++];
	memset(v, 0, sizeof(*v));
	v->key.p = key;
	v->key.len = keylen;
	v->present = present;
	if (present) {
		v->val.p = val;
		v->val.len = vallen;
		v->full_len = vallen;
		if (vallen > IPC_MAX_VALUE_BYTES) {
			v->val.len = IPC_MAX_VALUE_BYTES;
			v->truncated = 1;
			v->digest = kv_fnv1a64(val, vallen);
		}
	}
	cost = ipc_value_cost(keylen, v->val.len);
	rb->cost += cost;
	return rb->cost >= IPC_CHUNK_BYTES;	/* 1: flush before freeing */
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
read_batched(struct redis_ds *d, struct reply_buf *rb, const char *cmd,
    const char *target, char **keys, size_t *keylens, size_t nkeys,
    size_t *npresent, char *err, size_t errlen)
{
	const char **argv = NULL;
	size_t *argvlen = NULL, i, j, nb, base, n, start;
	redisReply **replies = NULL;
	void *rp;
	int rc = -1, extra = target ? 2 : 1;

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
			snprintf(err, errlen, "%s: %s", cmd, d->ctx->errstr);
			goto out;
		}
	}
	for (i = 0; i < nb; i++) {
		if (redisGetReply(d->ctx, &rp) != REDIS_OK) {
			snprintf(err, errlen, "%s: %s", cmd, d->ctx->errstr);
			goto out;
		}
		replies[i] = rp;
		if (replies[i]->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "%s: %s", cmd, replies[i]->str);
			goto out;
		}
		n = nkeys - i * REDIS_BATCH_KEYS < REDIS_BATCH_KEYS ?
		    nkeys - i * REDIS_BATCH_KEYS : REDIS_BATCH_KEYS;
		if (replies[i]->type != REDIS_REPLY_ARRAY ||
		    replies[i]->elements != n) {
			snprintf(err, errlen, "%s: unexpected reply", cmd);
			goto out;
		}
	}
	/* hand values over, flushing chunks while the replies are alive */
	start = 0;
	for (i = 0; i < nb; i++) {
		base = i * REDIS_BATCH_KEYS;
		for (j = 0; j < replies[i]->elements; j++) {
			redisReply *e = replies[i]->element[j];
			int present = reply_is_value(e);

			if (present && npresent != NULL)
				(*npresent)++;
			if (rb_add(rb, keys[base + j], keylens[base + j],
			    present, present ? e->str : NULL,
			    present ? e->len : 0) == 1) {
				if (rb_flush(rb, 0, IPC_POLL_OK, NULL) == -1)
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
		if (rb_flush(rb, 0, IPC_POLL_OK, NULL) == -1)
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
		    "unexpected reply") : d->ctx->errstr);
		if (r)
			freeReplyObject(r);
		return -1;
	}
	*out = r->integer > 0;
	freeReplyObject(r);
	return 0;
}

/* A set of requested keys, to recognise extras. */
static struct kvmap *
requested_set(void)
{
	struct kvmap *s = kvmap_new();
	size_t i;

	if (s == NULL)
		fatal("kvmap_new");
	for (i = 0; i < pp.nkeys; i++)
		if (kvmap_put(s, pp.keys[i], pp.keylens[i], "", 0) == -1)
			fatal("kvmap_put");
	return s;
}

/* Other fields of the hash, with values (HASH extras). */
static int
hash_extras(struct redis_ds *d, struct reply_buf *rb, size_t found,
    char *err, size_t errlen)
{
	redisReply *r;
	struct kvmap *req;
	char **ek = NULL;
	size_t *ekl = NULL, nek = 0, i;
	int rc = -1;

	r = redisCommand(d->ctx, "HLEN %s", pp.target);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		snprintf(err, errlen, "HLEN: %s", r ? "unexpected reply" :
		    d->ctx->errstr);
		if (r)
			freeReplyObject(r);
		return -1;
	}
	if ((size_t)r->integer <= found) {
		freeReplyObject(r);
		return 0;	/* cheap common case: nothing extra */
	}
	freeReplyObject(r);
	r = redisCommand(d->ctx, "HKEYS %s", pp.target);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "HKEYS: %s", r ? "unexpected reply" :
		    d->ctx->errstr);
		if (r)
			freeReplyObject(r);
		return -1;
	}
	req = requested_set();
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
	rb->extras_mode = 1;
	rc = nek ? read_batched(d, rb, "HMGET", pp.target, ek, ekl, nek, NULL,
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
string_extras(struct redis_ds *d, struct reply_buf *rb, char *err,
    size_t errlen)
{
	struct kvmap *req = requested_set(), *found = kvmap_new();
	char *pat = glob_escape(pp.target), cursor[32] = "0", **ek = NULL;
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
			    : d->ctx->errstr);
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
		rb->extras_mode = 1;
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
read_json(struct redis_ds *d, struct reply_buf *rb, char *err, size_t errlen)
{
	redisReply *r;
	json_t *root = NULL, *v;
	json_error_t jerr;
	struct kvmap *req;
	const char *k;
	char **dumps = NULL;
	size_t i, ndumps = 0, cap;
	int rc = -1;

	r = redisCommand(d->ctx, "STRLEN %s", pp.target);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		/* WRONGTYPE: somebody replaced the key; not our JSON */
		if (r != NULL) {
			snprintf(err, errlen, "STRLEN %s: %s", pp.target,
			    r->str);
			freeReplyObject(r);
			/* report every key missing: the value is not ours */
			goto missing;
		}
		snprintf(err, errlen, "STRLEN: %s", d->ctx->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_INTEGER &&
	    (unsigned long long)r->integer > REDIS_MAX_JSON_BYTES) {
		snprintf(err, errlen, "%s holds %lld bytes, over the %u limit",
		    pp.target, r->integer, REDIS_MAX_JSON_BYTES);
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	r = redisCommand(d->ctx, "GET %s", pp.target);
	if (r == NULL) {
		snprintf(err, errlen, "GET: %s", d->ctx->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_STRING)
		root = json_loadb(r->str, r->len, 0, &jerr);
	freeReplyObject(r);
	if (root == NULL || !json_is_object(root)) {
		if (root != NULL)
			json_decref(root);
 missing:
		for (i = 0; i < pp.nkeys; i++)
			if (rb_add(rb, pp.keys[i], pp.keylens[i], 0, NULL, 0))
				if (rb_flush(rb, 0, IPC_POLL_OK, NULL) == -1)
					return -1;
		return 0;
	}
	cap = pp.nkeys + json_object_size(root);
	if ((dumps = calloc(cap + 1, sizeof(*dumps))) == NULL)
		fatal("calloc");
	for (i = 0; i < pp.nkeys; i++) {
		v = json_object_getn(root, pp.keys[i], pp.keylens[i]);
		if (v == NULL)
			rb_add(rb, pp.keys[i], pp.keylens[i], 0, NULL, 0);
		else if (json_is_string(v))
			rb_add(rb, pp.keys[i], pp.keylens[i], 1,
			    json_string_value(v), json_string_length(v));
		else {
			/* not what the orchestrator writes: show its JSON */
			dumps[ndumps] = json_dumps(v, JSON_ENCODE_ANY |
			    JSON_COMPACT);
			rb_add(rb, pp.keys[i], pp.keylens[i], 1,
			    dumps[ndumps] ? dumps[ndumps] : "",
			    dumps[ndumps] ? strlen(dumps[ndumps]) : 0);
			ndumps++;
		}
		if (rb->cost >= IPC_CHUNK_BYTES &&
		    rb_flush(rb, 0, IPC_POLL_OK, NULL) == -1)
			goto out;
	}
	if (rb->nvals && rb_flush(rb, 0, IPC_POLL_OK, NULL) == -1)
		goto out;
	req = requested_set();
	rb->extras_mode = 1;
	json_object_foreach(root, k, v) {
		size_t kl = strlen(k);

		if (kvmap_get(req, k, kl) != NULL)
			continue;
		if (json_is_string(v))
			rb_add(rb, k, kl, 1, json_string_value(v),
			    json_string_length(v));
		else {
			dumps[ndumps] = json_dumps(v, JSON_ENCODE_ANY |
			    JSON_COMPACT);
			rb_add(rb, k, kl, 1, dumps[ndumps] ? dumps[ndumps] : "",
			    dumps[ndumps] ? strlen(dumps[ndumps]) : 0);
			ndumps++;
		}
		if (rb->cost >= IPC_CHUNK_BYTES &&
		    rb_flush(rb, 0, IPC_POLL_OK, NULL) == -1)
			break;
	}
	kvmap_free(req);
	if (rb->nvals && rb_flush(rb, 0, IPC_POLL_OK, NULL) == -1)
		goto out;
	rc = 0;
 out:
	for (i = 0; i < ndumps; i++)
		free(dumps[i]);
	free(dumps);
	json_decref(root);
	return rc;
}

static void
do_poll(struct ipc_chan *chan)
{
	struct reply_buf rb;
	struct redis_ds *d;
	char err[512] = "";
	size_t found = 0;
	int rc = -1, marker = 0;

	memset(&rb, 0, sizeof(rb));
	rb.chan = chan;
	rb.rule_id = pp.rule_id;
	if ((d = ds_byname(pp.datasource)) == NULL) {
		snprintf(err, sizeof(err), "unknown datasource '%s'",
		    pp.datasource);
		goto done;
	}
	if (ds_connect(d, err, sizeof(err)) == -1)
		goto done;
	if (exists(d, pp.marker, &marker, err, sizeof(err)) == -1)
		goto fail;
	rb.marker_present = marker;
	switch (pp.structure) {
	case IPC_ST_HASH:
		if (read_batched(d, &rb, "HMGET", pp.target, pp.keys,
		    pp.keylens, pp.nkeys, &found, err, sizeof(err)) == -1)
			goto fail;
		if (hash_extras(d, &rb, found, err, sizeof(err)) == -1)
			goto fail;
		break;
	case IPC_ST_STRING:
		if (read_batched(d, &rb, "MGET", NULL, pp.keys, pp.keylens,
		    pp.nkeys, NULL, err, sizeof(err)) == -1)
			goto fail;
		if (pp.detect_extra &&
		    string_extras(d, &rb, err, sizeof(err)) == -1)
			goto fail;
		break;
	case IPC_ST_JSON:
		if (read_json(d, &rb, err, sizeof(err)) == -1)
			goto fail;
		break;
	}
	rc = 0;
	goto done;
 fail:
	if (d->ctx != NULL && d->ctx->err)
		ds_disconnect(d);
 done:
	if (rc == -1) {
		log_warnx("rule %u: read failed: %s", pp.rule_id, err);
		rb.nvals = 0;
		rb.extras_mode = 0;
		rb_flush(&rb, 1, IPC_POLL_UNKNOWN, err);
	} else
		rb_flush(&rb, 1, IPC_POLL_OK, NULL);
	free(rb.vals);
}

/* len bytes of key storage that stay put until pp_reset() */
static char *
key_store(size_t len)
{
	char **nb;
	size_t sz;

	if (pp.nblocks == 0 || pp.block_used + len > pp.block_size) {
		sz = len > KEY_BLOCK_BYTES ? len : KEY_BLOCK_BYTES;
		nb = realloc(pp.blocks, (pp.nblocks + 1) * sizeof(*nb));
		if (nb == NULL || (nb[pp.nblocks] = malloc(sz)) == NULL)
			fatal("malloc");
		pp.blocks = nb;
		pp.nblocks++;
		pp.block_used = 0;
		pp.block_size = sz;
	}
	pp.block_used += len;
	return pp.blocks[pp.nblocks - 1] + pp.block_used - len;
}

static int
redis_handle(struct ipc_chan *chan, const struct ipc_msg *m)
{
	const struct ipc_poll_request *r = &m->u.poll_request;
	size_t i;

	if (m->type != IPC_POLL_REQUEST)
		return -1;
	if (!pp.active || pp.rule_id != r->rule_id) {
		pp_reset();
		pp.active = 1;
		pp.rule_id = r->rule_id;
		pp.structure = r->structure;
		pp.detect_extra = r->detect_extra;
		if ((pp.datasource = strdup(r->datasource)) == NULL ||
		    (pp.target = strdup(r->target)) == NULL ||
		    (pp.marker = strdup(r->marker)) == NULL)
			fatal("strdup");
	}
	if (pp.nkeys + r->nkeys > pp.cap) {
		size_t ncap = (pp.nkeys + r->nkeys) * 2;

		pp.keys = realloc(pp.keys, ncap * sizeof(*pp.keys));
		pp.keylens = realloc(pp.keylens, ncap * sizeof(*pp.keylens));
		if (pp.keys == NULL || pp.keylens == NULL)
			fatal("realloc");
		pp.cap = ncap;
	}
	for (i = 0; i < r->nkeys; i++) {
		pp.keys[pp.nkeys] = key_store(r->keys[i].len + 1);
		memcpy(pp.keys[pp.nkeys], r->keys[i].p, r->keys[i].len);
		pp.keys[pp.nkeys][r->keys[i].len] = '\0';
		pp.keylens[pp.nkeys++] = r->keys[i].len;
	}
	if (r->last) {
		do_poll(chan);
		pp_reset();
	}
	return 0;
}

static void
redis_fini(void)
{
	size_t i;

	pp_reset();
	for (i = 0; i < ndss; i++) {
		ds_disconnect(&dss[i]);
		free(dss[i].name);
		free(dss[i].host);
		free(dss[i].password);
	}
	ndss = 0;
}

static const int redis_syscalls[] = { -1 };

static const struct worker_ops redis_ops = {
	.name = "redis",
	.syscalls = redis_syscalls,
	.conf = redis_conf,
	.handle = redis_handle,
	.fini = redis_fini,
};

int
main(int argc, char **argv)
{
	return worker_main(&redis_ops, argc, argv);
}
