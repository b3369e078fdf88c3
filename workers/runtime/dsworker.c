/*
 * The datasource table, poll request reassembly and chunked poll replies,
 * shared by the datasource workers (see dsworker.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsworker.h"
#include "log.h"
#include "worker.h"

#define KEY_BLOCK_BYTES	(256u * 1024)

char *
ds_strdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (p == NULL)
		fatal("strdup");
	return p;
}

void
ds_poll_reset(struct ds_poll *p)
{
	size_t i;

	for (i = 0; i < p->nblocks; i++)
		free(p->blocks[i]);
	free(p->blocks);
	free(p->keys);
	free(p->keylens);
	free(p->rule);
	free(p->datasource);
	free(p->target);
	free(p->marker);
	free((char *)(uintptr_t)p->scope.p);
	memset(p, 0, sizeof(*p));
}

char *
ds_poll_store(struct ds_poll *p, const void *src, size_t len)
{
	char **nb, *dst;
	size_t sz;

	if (p->nblocks == 0 || p->block_used + len > p->block_size) {
		sz = len > KEY_BLOCK_BYTES ? len : KEY_BLOCK_BYTES;
		nb = realloc(p->blocks, (p->nblocks + 1) * sizeof(*nb));
		if (nb == NULL)
			fatal("realloc");
		p->blocks = nb;
		if ((nb[p->nblocks] = malloc(sz)) == NULL)
			fatal("malloc");
		p->nblocks++;
		p->block_used = 0;
		p->block_size = sz;
	}
	dst = p->blocks[p->nblocks - 1] + p->block_used;
	p->block_used += len;
	if (src != NULL)
		memcpy(dst, src, len);
	return dst;
}

int
ds_poll_collect(struct ds_poll *p, const struct ipc_msg *m)
{
	const struct ipc_poll_request *r = &m->u.poll_request;
	size_t i;
	char *buf;

	if (m->type != IPC_POLL_REQUEST)
		return -1;
	if (!p->active || p->rule_id != r->rule_id) {
		ds_poll_reset(p);
		p->active = 1;
		p->rule_id = r->rule_id;
		p->rule = ds_strdup(r->rule);
		p->detect_extra = r->detect_extra;
		p->datasource = ds_strdup(r->datasource);
		p->target = ds_strdup(r->target);
		p->marker = ds_strdup(r->marker);
		if ((buf = malloc(r->scope.len + 1)) == NULL)
			fatal("malloc");
		if (r->scope.len > 0)
			memcpy(buf, r->scope.p, r->scope.len);
		p->scope.p = buf;
		p->scope.len = r->scope.len;
	}
	if (p->nkeys + r->nkeys > p->cap) {
		size_t ncap = (p->nkeys + r->nkeys) * 2;

		p->keys = realloc(p->keys, ncap * sizeof(*p->keys));
		p->keylens = realloc(p->keylens, ncap * sizeof(*p->keylens));
		if (p->keys == NULL || p->keylens == NULL)
			fatal("realloc");
		p->cap = ncap;
	}
	for (i = 0; i < r->nkeys; i++) {
		/* the decoded bytes are not NUL-terminated: copy len, add it */
		char *k = ds_poll_store(p, NULL, r->keys[i].len + 1);

		if (r->keys[i].len > 0)
			memcpy(k, r->keys[i].p, r->keys[i].len);
		k[r->keys[i].len] = '\0';
		p->keys[p->nkeys] = k;
		p->keylens[p->nkeys++] = r->keys[i].len;
	}
	return r->last ? 1 : 0;
}

struct kvmap *
ds_poll_keyset(const struct ds_poll *p)
{
	struct kvmap *s = kvmap_new();
	size_t i;

	if (s == NULL)
		fatal("kvmap_new");
	for (i = 0; i < p->nkeys; i++)
		if (kvmap_put(s, p->keys[i], p->keylens[i], "", 0) == -1)
			fatal("kvmap_put");
	return s;
}

void
ds_reply_init(struct ds_reply *rb, struct ipc_chan *chan, uint32_t rule_id)
{
	memset(rb, 0, sizeof(*rb));
	rb->chan = chan;
	rb->rule_id = rule_id;
}

static int
send_chunk(struct ds_reply *rb, int last, enum ipc_poll_status st,
    const char *error)
{
	struct ipc_msg m;
	char safe[1024];

	memset(&m, 0, sizeof(m));
	m.type = IPC_POLL_REPLY;
	m.u.poll_reply.rule_id = rb->rule_id;
	m.u.poll_reply.status = st;
	if (error != NULL) {
		/* it may quote a server: make it pass the supervisor's
		 * UTF-8 check */
		snprintf(safe, sizeof(safe), "%s", error);
		ipc_utf8_scrub(safe);
		error = safe;
	}
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

int
ds_reply_add(struct ds_reply *rb, const char *key, size_t keylen,
    int present, const char *val, size_t vallen)
{
	struct ipc_value *v;

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
			vtw_digest(val, vallen, v->digest);
		}
	}
	rb->cost += ipc_value_cost(keylen, v->val.len) +
	    (v->truncated ? VTW_DIGEST_LEN : 0);
	return rb->cost >= IPC_CHUNK_BYTES;
}

int
ds_reply_add_status(struct ds_reply *rb, const char *key, size_t keylen,
    int status, const char *note, const char *val, size_t vallen)
{
	struct ipc_value *v;
	int rc;

	rc = ds_reply_add(rb, key, keylen, 1, val, vallen);
	v = &rb->vals[rb->nvals - 1];
	v->status = status;
	if (note != NULL && *note != '\0') {
		v->note = note;
		rb->cost += strlen(note);
	}
	return rc || rb->cost >= IPC_CHUNK_BYTES;
}

int
ds_reply_flush(struct ds_reply *rb)
{
	if (rb->nvals == 0)
		return rb->failed ? -1 : 0;
	return send_chunk(rb, 0, IPC_POLL_OK, NULL);
}

int
ds_reply_extras(struct ds_reply *rb)
{
	if (!rb->extras_mode && ds_reply_flush(rb) == -1)
		return -1;
	rb->extras_mode = 1;
	return 0;
}

int
ds_reply_finish(struct ds_reply *rb)
{
	int rc = send_chunk(rb, 1, IPC_POLL_OK, NULL);

	free(rb->vals);
	rb->vals = NULL;
	rb->nvals = rb->cap = 0;
	return rc;
}

static int
reply_error(struct ds_reply *rb, enum ipc_poll_status st, const char *err)
{
	int rc;

	rb->nvals = 0;
	rb->extras_mode = 0;
	rc = send_chunk(rb, 1, st, err);
	free(rb->vals);
	rb->vals = NULL;
	rb->cap = 0;
	return rc;
}

int
ds_reply_unknown(struct ds_reply *rb, const char *err)
{
	return reply_error(rb, IPC_POLL_UNKNOWN, err);
}

int
ds_reply_data_error(struct ds_reply *rb, const char *err)
{
	return reply_error(rb, IPC_POLL_DATA_ERROR, err);
}

void
ds_reply_end(struct ds_reply *rb, int rc, const char *err)
{
	if (rb->ended)
		return;
	rb->ended = 1;
	if (rc == DS_POLL_DATA_ERROR && !rb->failed) {
		log_warnx("rule %s: data error: %s", DS_RULE_NAME(rb->rule),
		    err);
		ds_reply_data_error(rb, err);
	} else if (rc == DS_POLL_RATE_LIMITED && !rb->failed) {
		log_warnx("rule %s: %s", DS_RULE_NAME(rb->rule), err);
		reply_error(rb, IPC_POLL_RATE_LIMITED, err);
	} else if (rc == -1 && !rb->failed) {
		log_warnx("rule %s: read failed: %s", DS_RULE_NAME(rb->rule),
		    err);
		ds_reply_unknown(rb, err);
	} else
		ds_reply_finish(rb);
}

/* ---- the datasource table ---- */

void
ds_table_init(struct ds_table *t, const struct dsw_kind *k)
{
	memset(t, 0, sizeof(*t));
	t->kind = k;
}

struct ds_entry *
ds_table_find(struct ds_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->ents[i].name, name) == 0)
			return &t->ents[i];
	return NULL;
}

int
ds_table_conf(struct ds_table *t, const struct ipc_conf_datasource *c,
    char *err, size_t errlen)
{
	struct ds_entry *e;
	void *priv = NULL;

	if (strcmp(c->type, t->kind->type) != 0) {
		snprintf(err, errlen, "datasource %s is of type '%s', not %s",
		    c->name, c->type, t->kind->type);
		return -1;
	}
	if ((e = ds_table_find(t, c->name)) == NULL &&
	    t->n == DS_MAX_DATASOURCES) {
		snprintf(err, errlen, "datasource %s: more than %d datasources",
		    c->name, DS_MAX_DATASOURCES);
		return -1;
	}
	if (t->kind->open(c, &priv, err, errlen) == -1)
		return -1;
	if (e != NULL)
		t->kind->close(e->priv);
	else {
		e = &t->ents[t->n++];
		e->name = ds_strdup(c->name);
	}
	e->connect_timeout_ms = c->connect_timeout_ms;
	e->command_timeout_ms = c->command_timeout_ms;
	e->priv = priv;
	return 0;
}

void
ds_table_clear(struct ds_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		t->kind->close(t->ents[i].priv);
		free(t->ents[i].name);
	}
	memset(t->ents, 0, sizeof(t->ents));
	t->n = 0;
}

/* ---- the worker ---- */

static struct ds_table	 ds_tab;
static struct ds_poll	 ds_pp;

const struct ds_table *
ds_worker_table(void)
{
	return &ds_tab;
}

static int
ds_worker_conf(const struct ipc_msg *m)
{
	char err[512];

	if (m->type != IPC_CONF_DATASOURCE)
		return -1;
	if (ds_table_conf(&ds_tab, &m->u.conf_datasource, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void
ds_worker_poll(struct ipc_chan *chan)
{
	struct ds_reply rb;
	struct ds_entry *e;
	char err[1024] = "";
	int rc = -1;

	ds_reply_init(&rb, chan, ds_pp.rule_id);
	rb.rule = ds_pp.rule;
	if ((e = ds_table_find(&ds_tab, ds_pp.datasource)) == NULL)
		snprintf(err, sizeof(err), "unknown datasource '%s'",
		    ds_pp.datasource);
	else
		rc = ds_tab.kind->poll(e->priv, &ds_pp, &rb, err, sizeof(err));
	ds_reply_end(&rb, rc, err);
}

static int
ds_worker_handle(struct ipc_chan *chan, const struct ipc_msg *m)
{
	switch (ds_poll_collect(&ds_pp, m)) {
	case -1:
		return -1;
	case 1:
		ds_worker_poll(chan);
		ds_poll_reset(&ds_pp);
		break;
	}
	return 0;
}

static void
ds_worker_fini(void)
{
	ds_poll_reset(&ds_pp);
	ds_table_clear(&ds_tab);
	if (ds_tab.kind->fini != NULL)
		ds_tab.kind->fini();
}

int
ds_worker_main(const struct dsw_kind *k, int argc, char **argv)
{
	struct worker_ops ops;

	ds_table_init(&ds_tab, k);
	memset(&ops, 0, sizeof(ops));
	ops.name = k->name;
	ops.init = k->init;
	ops.conf = ds_worker_conf;
	ops.handle = ds_worker_handle;
	ops.fini = ds_worker_fini;
	ops.event_fd = k->event_fd;
	ops.event = k->event;
	return worker_main(&ops, argc, argv);
}
