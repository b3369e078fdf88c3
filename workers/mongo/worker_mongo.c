/*
 * vartrack-worker-mongo: reads what the varTrack orchestrator wrote into
 * MongoDB (interop §3.1), with libmongoc, only what Git declares:
 *   DOCUMENT one document per key {_vt_tenant, _vt_datasource, _vt_env,
 *            key, value}: one find with key: {$in: [keys]} (per batch of
 *            MONGO_BATCH_KEYS keys); extras: count_documents of the same
 *            filter without the $in, and only when it exceeds what was
 *            found a keys-only find, then the values of the other keys
 *   FILE     one document per (tenant, datasource, env, file) whose `data`
 *            sub-document has field names with literal dots
 *            ("database.host"): one find with _vt_file: {$in: files},
 *            merged in the order of the files (later files win); the
 *            fields Git does not declare are extras
 * The collection (the request's target) was resolved by the supervisor
 * (destination_template / env_as_collection / collection).
 *
 * Values: the orchestrator writes strings, compared as they are. Anything
 * else (someone's `{$set: {value: 5}}`) is reported as present with its
 * relaxed extended JSON ("5", "5.5", "true", "null", ...) so the diff
 * shows expected "50", actual "5". A document without a `value` field is
 * present with the value "null". Two documents for one key: the first one
 * the server returns wins.
 *
 * One mongoc_client_t per datasource, made at the first poll and reused;
 * any error destroys it (the next poll reconnects, without the
 * single-threaded client's 5 s cooldown after a failed connection).
 * The URI may carry a password: it is never logged; messages quote only
 * the host list, and every libmongoc message is scrubbed of the URI's
 * credentials before it is logged or sent.
 *
 * Only tested against the Mongo-wire fake (tests/mongo-fake): no real
 * mongod is available on the test machine, and the fake has no auth, TLS
 * or replica sets. Those paths (credentials in the URI, tls/tlsCAFile/
 * tlsAllowInvalidCertificates, replica-set URIs) are plain libmongoc URI
 * options, untested here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mongoc/mongoc.h>
#include <seccomp.h>

#include "dsworker.h"
#include "kinds/mongo.h"
#include "kvmap.h"
#include "log.h"
#include "mongo_value.h"
#include "worker.h"

/*
 * Keys per find ($in). Any size up to ~100 000 short keys stays under the
 * 16 MB command limit; 1000 because the Mongo-wire fake evaluates $in in
 * time growing faster than linearly with its length (10 000 keys in one
 * find: 33 s; in batches of 1000: 3.8 s), while a real mongod pays one
 * more round trip and one more scan of the (tenant, datasource, env)
 * index range per batch, a few milliseconds.
 */
#define MONGO_BATCH_KEYS	1000
#define MONGO_MAX_EXTRAS	IPC_MAX_EXTRAS
#define MONGO_MAX_SECRETS	4
#define MONGO_ERR_BYTES		512

struct mongo_ds {
	char		*name, *uri, *database, *tls_ca_file;
	int		 tls, tls_insecure;
	uint32_t	 select_ms, connect_ms, socket_ms;
	char		*hosts;		/* for messages: "h1:27017,h2:27017" */
	char		*secrets[MONGO_MAX_SECRETS];
	mongoc_client_t	*client;
};

/* the poll being served */
struct mongo_req {
	const struct ds_poll	*p;
	struct ipc_mongo_scope	 sc;
};

/* Every credential of every datasource, for scrubbing libmongoc's log. */
static size_t
all_secrets(const char **out, size_t max)
{
	const struct ds_table *t = ds_worker_table();
	const struct mongo_ds *d;
	size_t i, j, n = 0;

	for (i = 0; i < t->n; i++) {
		d = t->ents[i].priv;
		for (j = 0; j < MONGO_MAX_SECRETS; j++)
			if (d->secrets[j] != NULL && n < max)
				out[n++] = d->secrets[j];
	}
	return n;
}

static void
scrub_err(const struct mongo_ds *d, char *err, size_t errlen, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* Format into err, with d's credentials replaced by "***". */
static void
scrub_err(const struct mongo_ds *d, char *err, size_t errlen, const char *fmt,
    ...)
{
	char raw[MONGO_ERR_BYTES * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	mongo_scrub(err, errlen, raw, (const char *const *)d->secrets,
	    MONGO_MAX_SECRETS);
}

static void
mongo_log(mongoc_log_level_t level, const char *domain, const char *message,
    void *arg)
{
	const char *sec[DS_MAX_DATASOURCES * MONGO_MAX_SECRETS];
	char buf[1024];
	size_t n;

	(void)arg;
	if (level > MONGOC_LOG_LEVEL_WARNING)
		return;		/* info, debug, trace: nothing for us */
	n = all_secrets(sec, sizeof(sec) / sizeof(sec[0]));
	mongo_scrub(buf, sizeof(buf), message, sec, n);
	/* failures reach us as bson_error_t and are reported with the poll;
	 * its warnings ("Couldn't send endSessions" when a client is dropped
	 * after a failure) are only debugging material */
	if (level == MONGOC_LOG_LEVEL_WARNING)
		log_debug("libmongoc %s: %s", domain, buf);
	else
		log_warnx("libmongoc %s: %s", domain, buf);
}

static void
mongo_close(void *priv)
{
	struct mongo_ds *d = priv;
	size_t j;

	if (d->client != NULL)
		mongoc_client_destroy(d->client);
	free(d->name);
	if (d->uri != NULL)
		explicit_bzero(d->uri, strlen(d->uri));
	free(d->uri);
	free(d->database);
	free(d->tls_ca_file);
	free(d->hosts);
	for (j = 0; j < MONGO_MAX_SECRETS; j++) {
		if (d->secrets[j] != NULL)
			explicit_bzero(d->secrets[j], strlen(d->secrets[j]));
		free(d->secrets[j]);
	}
	free(d);
}

/* The host list of a URI, for messages (never the URI itself). */
static char *
uri_hosts(const mongoc_uri_t *u)
{
	const mongoc_host_list_t *h;
	char *s = NULL;
	size_t len = 0, l;

	if (mongoc_uri_get_srv_hostname(u) != NULL)
		return ds_strdup(mongoc_uri_get_srv_hostname(u));
	for (h = mongoc_uri_get_hosts(u); h != NULL; h = h->next) {
		l = strlen(h->host_and_port);
		if ((s = realloc(s, len + l + 2)) == NULL)
			fatal("realloc");
		if (len > 0)
			s[len++] = ',';
		memcpy(s + len, h->host_and_port, l + 1);
		len += l;
	}
	return s != NULL ? s : ds_strdup("?");
}

static int
mongo_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct ipc_mongo_settings st;
	struct mongo_ds *d;
	mongoc_uri_t *u;
	bson_error_t e;
	char *ui, *colon;
	size_t k = 0;

	if (ipc_mongo_settings_unpack(&st, &c->settings, err, errlen) == -1) {
		ipc_mongo_settings_release(&st);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	d->name = ds_strdup(c->name);
	d->uri = ds_strdup(st.uri[0] ? st.uri : "mongodb://localhost:27017");
	d->database = ds_strdup(st.database[0] ? st.database : "vartrack");
	d->tls = st.tls;
	d->tls_insecure = st.tls_insecure;
	d->tls_ca_file = st.tls_ca_file[0] ? ds_strdup(st.tls_ca_file) : NULL;
	d->select_ms = st.server_selection_timeout_ms;
	ipc_mongo_settings_release(&st);
	d->connect_ms = c->connect_timeout_ms;
	d->socket_ms = c->command_timeout_ms;
	/* what to scrub from messages: the URI, its user:password part, the
	 * password as written and as decoded */
	d->secrets[k++] = ds_strdup(d->uri);
	if ((ui = mongo_uri_userinfo(d->uri)) != NULL) {
		if ((colon = strchr(ui, ':')) != NULL && colon[1] != '\0')
			d->secrets[k++] = ds_strdup(colon + 1);
		d->secrets[k++] = ui;
	}
	if ((u = mongoc_uri_new_with_error(d->uri, &e)) != NULL) {
		if (mongoc_uri_get_password(u) != NULL &&
		    mongoc_uri_get_password(u)[0] != '\0' &&
		    k < MONGO_MAX_SECRETS)
			d->secrets[k++] = ds_strdup(mongoc_uri_get_password(u));
		d->hosts = uri_hosts(u);
		mongoc_uri_destroy(u);
	} else
		d->hosts = ds_strdup("(invalid uri)");
	log_debug("datasource %s: hosts %s, database %s", d->name, d->hosts,
	    d->database);
	*priv = d;
	return 0;
}

static void
ds_disconnect(struct mongo_ds *d)
{
	if (d->client != NULL)
		mongoc_client_destroy(d->client);
	d->client = NULL;
}

static void
uri_default_int32(mongoc_uri_t *u, const char *opt, uint32_t v)
{
	/* an option written in the URI wins over the config's default */
	if (v > 0 && v <= INT32_MAX && !mongoc_uri_has_option(u, opt))
		mongoc_uri_set_option_as_int32(u, opt, (int32_t)v);
}

/* The datasource's client, made once and reused. NULL with err. */
static mongoc_client_t *
ds_client(struct mongo_ds *d, char *err, size_t errlen)
{
	mongoc_uri_t *u;
	bson_error_t e;

	if (d->client != NULL)
		return d->client;
	if ((u = mongoc_uri_new_with_error(d->uri, &e)) == NULL) {
		scrub_err(d, err, errlen, "invalid uri: %s", e.message);
		return NULL;
	}
	uri_default_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
	    d->select_ms);
	uri_default_int32(u, MONGOC_URI_CONNECTTIMEOUTMS, d->connect_ms);
	uri_default_int32(u, MONGOC_URI_SOCKETTIMEOUTMS, d->socket_ms);
	if (!mongoc_uri_has_option(u, MONGOC_URI_APPNAME))
		mongoc_uri_set_appname(u, "vartrack-watcher");
	/*
	 * TLS (untested: the fake cannot do it). The client applies these
	 * URI options itself (mongoc_ssl_opt_t from the URI). The CA file is
	 * read when connecting, i.e. inside the sandbox: it must be readable
	 * by the sandbox user.
	 */
	if (d->tls || d->tls_ca_file != NULL)
		mongoc_uri_set_option_as_bool(u, MONGOC_URI_TLS, true);
	if (d->tls_ca_file != NULL)
		mongoc_uri_set_option_as_utf8(u, MONGOC_URI_TLSCAFILE,
		    d->tls_ca_file);
	if (d->tls_insecure)
		mongoc_uri_set_option_as_bool(u,
		    MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, true);
	d->client = mongoc_client_new_from_uri_with_error(u, &e);
	mongoc_uri_destroy(u);
	if (d->client == NULL) {
		scrub_err(d, err, errlen, "%s: %s", d->hosts, e.message);
		return NULL;
	}
	mongoc_client_set_error_api(d->client, MONGOC_ERROR_API_VERSION_2);
	log_debug("datasource %s: client for %s", d->name, d->hosts);
	return d->client;
}

/* {_vt_tenant, _vt_datasource, _vt_env} of the request */
static void
base_filter(bson_t *f, const struct mongo_req *q)
{
	bson_init(f);
	BSON_APPEND_UTF8(f, "_vt_tenant", q->sc.tenant);
	BSON_APPEND_UTF8(f, "_vt_datasource", q->sc.label);
	BSON_APPEND_UTF8(f, "_vt_env", q->sc.env);
}

/* base filter + field: {$in: [strs]} */
static void
in_filter(bson_t *f, const struct mongo_req *q, const char *field,
    const char *const *strs,
    const size_t *lens, size_t n)
{
	bson_t in, arr;
	char ibuf[16];
	const char *ikey;
	size_t i;

	base_filter(f, q);
	bson_append_document_begin(f, field, -1, &in);
	bson_append_array_begin(&in, "$in", 3, &arr);
	for (i = 0; i < n; i++) {
		bson_uint32_to_string((uint32_t)i, &ikey, ibuf, sizeof(ibuf));
		bson_append_utf8(&arr, ikey, -1, strs[i],
		    lens != NULL ? (int)lens[i] : -1);
	}
	bson_append_array_end(&in, &arr);
	bson_append_document_end(f, &in);
}

/* Report a failed cursor; 1 when it failed. */
static int
cursor_failed(struct mongo_ds *d, mongoc_cursor_t *c, const char *what,
    char *err, size_t errlen)
{
	bson_error_t e;

	if (!mongoc_cursor_error(c, &e))
		return 0;
	scrub_err(d, err, errlen, "%s on %s: %s", what, d->hosts, e.message);
	return 1;
}

/*
 * DOCUMENT: find the documents of keys[0..n) (batches of MONGO_BATCH_KEYS)
 * and put key -> value into found (first document of a key wins). *ndocs
 * counts the documents returned.
 */
static int
doc_find(struct mongo_ds *d, const struct mongo_req *q,
    mongoc_collection_t *coll, char *const *keys,
    const size_t *keylens, size_t n, struct kvmap *found, size_t *ndocs,
    char *err, size_t errlen)
{
	bson_t filter, *opts;
	const bson_t *doc;
	mongoc_cursor_t *c;
	bson_iter_t ki, vi;
	const char *k, *v;
	char *owned;
	size_t base, nb, vl;
	uint32_t kl;
	int failed;

	opts = BCON_NEW("projection", "{", "key", BCON_INT32(1), "value",
	    BCON_INT32(1), "_id", BCON_INT32(0), "}");
	for (base = 0; base < n; base += nb) {
		nb = n - base < MONGO_BATCH_KEYS ? n - base : MONGO_BATCH_KEYS;
		in_filter(&filter, q, "key", (const char *const *)keys + base,
		    keylens + base, nb);
		c = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
		while (mongoc_cursor_next(c, &doc)) {
			(*ndocs)++;
			if (!bson_iter_init_find(&ki, doc, "key") ||
			    !BSON_ITER_HOLDS_UTF8(&ki))
				continue;
			k = bson_iter_utf8(&ki, &kl);
			if (kvmap_get(found, k, kl) != NULL)
				continue;	/* duplicate: first wins */
			mongo_value_str(bson_iter_init_find(&vi, doc, "value") ?
			    &vi : NULL, &v, &vl, &owned);
			if (kvmap_put(found, k, kl, v, vl) == -1)
				fatal("kvmap_put");
			free(owned);
		}
		failed = cursor_failed(d, c, "find", err, errlen);
		mongoc_cursor_destroy(c);
		bson_destroy(&filter);
		if (failed) {
			bson_destroy(opts);
			return -1;
		}
	}
	bson_destroy(opts);
	return 0;
}

/* Send map entries as values (in map order). */
static int
send_map(struct ds_reply *rb, const struct kvmap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (ds_reply_add(rb, m->ents[i].key, m->ents[i].keylen, 1,
		    m->ents[i].val, m->ents[i].vallen) == 1 &&
		    ds_reply_flush(rb) == -1)
			return -1;
	return 0;
}

/* Send one value per requested key, in request order, from found. */
static int
send_requested(const struct ds_poll *p, struct ds_reply *rb,
    const struct kvmap *found)
{
	const struct kv_entry *e;
	size_t i;

	for (i = 0; i < p->nkeys; i++) {
		e = kvmap_get(found, p->keys[i], p->keylens[i]);
		if (ds_reply_add(rb, p->keys[i], p->keylens[i], e != NULL,
		    e ? e->val : NULL, e ? e->vallen : 0) == 1 &&
		    ds_reply_flush(rb) == -1)
			return -1;
	}
	return 0;
}

/* DOCUMENT extras: documents of the filter whose key Git does not have. */
static int
doc_extras(struct mongo_ds *d, const struct mongo_req *q,
    mongoc_collection_t *coll, size_t ndocs,
    struct kvmap *extras, char *err, size_t errlen)
{
	bson_t filter, *opts;
	bson_error_t e;
	const bson_t *doc;
	mongoc_cursor_t *c;
	bson_iter_t ki;
	struct kvmap *req, *names;
	const char *k;
	char **ek = NULL;
	size_t *ekl = NULL, i, nfound = 0;
	uint32_t kl;
	int64_t count;
	int rc = -1;

	base_filter(&filter, q);
	count = mongoc_collection_count_documents(coll, &filter, NULL, NULL,
	    NULL, &e);
	if (count < 0) {
		scrub_err(d, err, errlen, "count_documents on %s: %s",
		    d->hosts, e.message);
		bson_destroy(&filter);
		return -1;
	}
	if ((uint64_t)count <= ndocs) {
		bson_destroy(&filter);
		return 0;	/* the common case: nothing else there */
	}
	/* keys only, then the values of those Git does not declare */
	req = ds_poll_keyset(q->p);
	if ((names = kvmap_new()) == NULL)
		fatal("kvmap_new");
	opts = BCON_NEW("projection", "{", "key", BCON_INT32(1), "_id",
	    BCON_INT32(0), "}");
	c = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
	while (mongoc_cursor_next(c, &doc)) {
		if (!bson_iter_init_find(&ki, doc, "key") ||
		    !BSON_ITER_HOLDS_UTF8(&ki))
			continue;	/* not something the orchestrator wrote */
		k = bson_iter_utf8(&ki, &kl);
		if (kvmap_get(req, k, kl) != NULL ||
		    kvmap_get(names, k, kl) != NULL)
			continue;
		if (kvmap_count(names) >= MONGO_MAX_EXTRAS)
			break;
		if (kvmap_put(names, k, kl, "", 0) == -1)
			fatal("kvmap_put");
	}
	if (cursor_failed(d, c, "find (keys)", err, errlen))
		goto out;
	if (kvmap_count(names) > 0) {
		ek = calloc(kvmap_count(names), sizeof(*ek));
		ekl = calloc(kvmap_count(names), sizeof(*ekl));
		if (ek == NULL || ekl == NULL)
			fatal("calloc");
		for (i = 0; i < kvmap_count(names); i++) {
			ek[i] = names->ents[i].key;
			ekl[i] = names->ents[i].keylen;
		}
		if (doc_find(d, q, coll, ek, ekl, kvmap_count(names), extras,
		    &nfound, err, errlen) == -1)
			goto out;
	}
	rc = 0;
 out:
	mongoc_cursor_destroy(c);
	bson_destroy(opts);
	bson_destroy(&filter);
	kvmap_free(req);
	kvmap_free(names);
	free(ek);
	free(ekl);
	return rc;
}

static int
read_document(struct mongo_ds *d, const struct mongo_req *q,
    mongoc_collection_t *coll,
    struct ds_reply *rb, char *err, size_t errlen)
{
	struct kvmap *found, *extras = NULL;
	size_t ndocs = 0;
	int rc = -1;

	if ((found = kvmap_new()) == NULL)
		fatal("kvmap_new");
	if (doc_find(d, q, coll, q->p->keys, q->p->keylens, q->p->nkeys, found,
	    &ndocs,
	    err, errlen) == -1)
		goto out;
	if (q->p->detect_extra) {
		if ((extras = kvmap_new()) == NULL)
			fatal("kvmap_new");
		if (doc_extras(d, q, coll, ndocs, extras, err, errlen) == -1)
			goto out;
	}
	if (send_requested(q->p, rb, found) == -1)
		goto out;
	if (extras != NULL && kvmap_count(extras) > 0) {
		if (ds_reply_extras(rb) == -1 || send_map(rb, extras) == -1)
			goto out;
	}
	/* values point into the maps: flush before freeing them */
	if (ds_reply_flush(rb) == -1)
		goto out;
	rc = 0;
 out:
	if (rc == -1 && err[0] == '\0')
		snprintf(err, errlen, "sending the reply failed");
	kvmap_free(found);
	kvmap_free(extras);
	return rc;
}

/* "a string", "an array"...: what a BSON field holds, for messages */
static const char *
bson_type_phrase(bson_type_t t)
{
	switch (t) {
	case BSON_TYPE_UTF8:
		return "a string";
	case BSON_TYPE_ARRAY:
		return "an array";
	case BSON_TYPE_DOUBLE:
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DECIMAL128:
		return "a number";
	case BSON_TYPE_BOOL:
		return "a boolean";
	case BSON_TYPE_NULL:
		return "null";
	case BSON_TYPE_BINARY:
		return "binary data";
	default:
		return "a value of another type";
	}
}

/*
 * FILE: merge the `data` sub-documents of the files, in file order. A
 * file's document whose `data` is not a document (somebody replaced it by
 * a string) is a data error: the rule is unknown, naming the document, and
 * the datasource is not down.
 */
static int
read_file(struct mongo_ds *d, const struct mongo_req *q,
    mongoc_collection_t *coll, struct ds_reply *rb, char *err, size_t errlen)
{
	bson_t filter, *opts, **fdocs;
	const bson_t *doc;
	mongoc_cursor_t *c;
	bson_iter_t it, di;
	struct kvmap *merged, *req = NULL, *extras = NULL;
	const char *f, *v;
	char *owned;
	size_t i, vl;
	uint32_t fl;
	int rc = -1, failed;

	if ((fdocs = calloc(q->sc.nfiles + 1, sizeof(*fdocs))) == NULL ||
	    (merged = kvmap_new()) == NULL)
		fatal("calloc");
	in_filter(&filter, q, "_vt_file", q->sc.files, NULL, q->sc.nfiles);
	opts = BCON_NEW("projection", "{", "_vt_file", BCON_INT32(1), "data",
	    BCON_INT32(1), "_id", BCON_INT32(0), "}");
	c = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
	while (mongoc_cursor_next(c, &doc)) {
		if (!bson_iter_init_find(&it, doc, "_vt_file") ||
		    !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		f = bson_iter_utf8(&it, &fl);
		for (i = 0; i < q->sc.nfiles; i++)
			if (strlen(q->sc.files[i]) == fl &&
			    memcmp(q->sc.files[i], f, fl) == 0)
				break;
		if (i < q->sc.nfiles && fdocs[i] == NULL)	/* first wins */
			fdocs[i] = bson_copy(doc);
	}
	failed = cursor_failed(d, c, "find", err, errlen);
	mongoc_cursor_destroy(c);
	bson_destroy(&filter);
	bson_destroy(opts);
	if (failed)
		goto out;
	for (i = 0; i < q->sc.nfiles; i++) {
		if (fdocs[i] != NULL &&
		    bson_iter_init_find(&it, fdocs[i], "data") &&
		    !BSON_ITER_HOLDS_DOCUMENT(&it)) {
			snprintf(err, errlen, "the document of file %s in %s: "
			    "data holds %s, rule expects a document",
			    q->sc.files[i], q->p->target,
			    bson_type_phrase(bson_iter_type(&it)));
			rc = DS_POLL_DATA_ERROR;
			goto out;
		}
		if (fdocs[i] == NULL ||
		    !bson_iter_init_find(&it, fdocs[i], "data") ||
		    !bson_iter_recurse(&it, &di))
			continue;
		/* field names hold literal dots: iterate, never look up a
		 * dotted path */
		while (bson_iter_next(&di)) {
			mongo_value_str(&di, &v, &vl, &owned);
			if (kvmap_put(merged, bson_iter_key(&di),
			    bson_iter_key_len(&di), v, vl) == -1)
				fatal("kvmap_put");
			free(owned);
		}
	}
	if (send_requested(q->p, rb, merged) == -1)
		goto sendfail;
	if (q->p->detect_extra) {
		req = ds_poll_keyset(q->p);
		if ((extras = kvmap_new()) == NULL)
			fatal("kvmap_new");
		for (i = 0; i < merged->n &&
		    kvmap_count(extras) < MONGO_MAX_EXTRAS; i++) {
			const struct kv_entry *e = &merged->ents[i];

			if (kvmap_get(req, e->key, e->keylen) == NULL &&
			    kvmap_put(extras, e->key, e->keylen, e->val,
			    e->vallen) == -1)
				fatal("kvmap_put");
		}
		if (kvmap_count(extras) > 0 &&
		    (ds_reply_extras(rb) == -1 || send_map(rb, extras) == -1))
			goto sendfail;
	}
	if (ds_reply_flush(rb) == -1)
		goto sendfail;
	rc = 0;
	goto out;
 sendfail:
	snprintf(err, errlen, "sending the reply failed");
 out:
	for (i = 0; i < q->sc.nfiles; i++)
		if (fdocs[i] != NULL)
			bson_destroy(fdocs[i]);
	free(fdocs);
	kvmap_free(merged);
	kvmap_free(req);
	kvmap_free(extras);
	return rc;
}

static int
mongo_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct mongo_ds *d = priv;
	struct mongo_req q;
	mongoc_client_t *cl;
	mongoc_collection_t *coll;
	int rc = -1;

	q.p = p;
	if (ipc_mongo_scope_unpack(&q.sc, &p->scope, err, errlen) == -1)
		goto done;
	if (p->target[0] == '\0') {
		snprintf(err, errlen, "no collection name");
		goto done;
	}
	if ((cl = ds_client(d, err, errlen)) == NULL)
		goto done;
	/* a rule's own database (rule_config "database") wins */
	coll = mongoc_client_get_collection(cl, q.sc.database[0] ?
	    q.sc.database : d->database, p->target);
	if (q.sc.strategy == IPC_MONGO_DOCUMENT)
		rc = read_document(d, &q, coll, rb, err, errlen);
	else
		rc = read_file(d, &q, coll, rb, err, errlen);
	mongoc_collection_destroy(coll);
	if (rc == -1)
		ds_disconnect(d);	/* the next poll starts afresh */
 done:
	ipc_mongo_scope_release(&q.sc);
	return rc;
}

static int
mongo_init(void)
{
	/* before the sandbox: OpenSSL, the handshake's OS metadata */
	mongoc_init();
	mongoc_log_set_handler(mongo_log, NULL);
	mongoc_log_trace_disable();
	return 0;
}

static void
mongo_fini(void)
{
	mongoc_cleanup();
}

/*
 * Beyond the base allowlist (sandbox_seccomp.c): nothing. Checked with
 * VTW_TEST_SECCOMP_TRAP=1 over both layouts, host names (getaddrinfo),
 * failed connections and reconnects: libmongoc's single-threaded client
 * needs socket/connect/poll/sendmsg/recvfrom/setsockopt/getsockopt,
 * getrandom and clock_gettime, all in the base list. (Its shm_unlink at
 * exit is avoided in main(); TLS, untestable here, adds only file reads.)
 */
static const struct dsw_kind mongo_kind = {
	.name = "mongo",
	.type = "mongo",
	.init = mongo_init,
	.fini = mongo_fini,
	.open = mongo_open,
	.close = mongo_close,
	.poll = mongo_poll,
};

int
main(int argc, char **argv)
{
	char shm[32], self[4096];
	ssize_t n;

	/*
	 * Debian's libmongoc initialises itself from a library constructor
	 * (automatic globals), which puts its performance counters in
	 * /dev/shm/mongoc-PID, and its destructor calls shm_unlink() at exit,
	 * inside the sandbox (unlink is not allowed: SIGSYS). Nobody reads
	 * the counters: remove the segment and start again with them in
	 * plain memory (MONGOC_DISABLE_SHM, read by the constructor).
	 */
	if (getenv("MONGOC_DISABLE_SHM") == NULL) {
		snprintf(shm, sizeof(shm), "/mongoc-%u", (unsigned)getpid());
		(void)shm_unlink(shm);
		if (setenv("MONGOC_DISABLE_SHM", "1", 1) == -1)
			fatal("setenv");
		/* the path, not /proc/self/exe itself: under valgrind that
		 * is the tool, while readlink() of it is virtualised */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			fatal("readlink /proc/self/exe");
		self[n] = '\0';
		execv(self, argv);
		fatal("re-exec with MONGOC_DISABLE_SHM");
	}
	return ds_worker_main(&mongo_kind, argc, argv);
}
