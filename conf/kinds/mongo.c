/*
 * The mongo kind (interop §3.1): a URI (or hosts), database and collection;
 * strategies document (one document per key under the rule's _vt_* filter)
 * and file (one document per Git file, its values in "data").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_keys.h"
#include "kinds.h"
#include "kinds/mongo.h"
#include "mongo_conf.h"

#define D(f)	offsetof(struct conf_mongo_ds, f)
#define R(f)	offsetof(struct conf_mongo_rule, f)

/* Mongo URIs: userinfo ("user:pw@") or a password option is a credential. */
int
conf_uri_has_credentials(const char *uri)
{
	return strchr(uri, '@') != NULL || strcasestr(uri, "password") != NULL;
}

/* The URI with its credentials cut out, still a mongodb:// URI: the
 * userinfo becomes "<redacted>", a query naming a password is dropped. */
char *
conf_uri_redacted(const char *uri)
{
	const char *host, *at, *q, *pw;
	char *out;
	size_t slen, hlen, len;

	if ((host = strstr(uri, "://")) == NULL)
		return conf_xstrdup("<redacted>");
	host += 3;
	slen = (size_t)(host - uri);
	if ((at = strrchr(host, '@')) != NULL)
		host = at + 1;
	hlen = strlen(host);
	q = strchr(host, '?');
	if ((pw = strcasestr(host, "password")) != NULL)
		hlen = q != NULL && pw > q ? (size_t)(q - host) : 0;
	len = slen + hlen + 32;
	out = conf_xcalloc(1, len);
	snprintf(out, len, "%.*s%s%.*s%s", (int)slen, uri,
	    at != NULL ? "<redacted>@" : "", (int)hlen, host,
	    pw == NULL ? "" : hlen > 0 ? "?<redacted>" : "<redacted>");
	return out;
}

static int
mongo_scheme_ok(const char *uri)
{
	return strncmp(uri, "mongodb://", 10) == 0 ||
	    strncmp(uri, "mongodb+srv://", 14) == 0;
}

/*
 * kd->off: struct conf_secret. A mongo URI: a secret when it carries
 * credentials. A literal without them is plain configuration (no
 * warning). The URI itself is never shown in a message: it may hold a
 * password.
 */
static void
h_uri(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_secret *sec = FIELD(obj, kd->off, struct conf_secret);
	size_t nerr = c->errs->n;

	if (v->type != YN_SCALAR) {
		/* {env: NAME} or {file: PATH} */
		h_secret(c, obj, kd, k, v);
		if (c->errs->n == nerr && sec->value != NULL &&
		    !mongo_scheme_ok(sec->value))
			conf_error_at(c, v->mark, "%s: must start with "
			    "mongodb:// or mongodb+srv://", kd->name);
		return;
	}
	if (strlen(v->str) != v->len) {
		conf_error_at(c, v->mark, "%s: contains a NUL byte", kd->name);
		return;
	}
	if (!mongo_scheme_ok(v->str)) {
		conf_error_at(c, v->mark, "%s: must start with mongodb:// or "
		    "mongodb+srv://", kd->name);
		return;
	}
	conf_secret_free(sec);
	sec->src = SECRET_LITERAL;
	sec->value = conf_xstrdup(v->str);
	if (conf_uri_has_credentials(v->str))
		conf_warning_at(c, v->mark, "literal secret in '%s' "
		    "(credentials in the URI); use {env: NAME} or {file: PATH}",
		    kd->name);
}

#define DUR(k, f, min) { k, h_duration, D(f), 0, \
	    (const void *)(uintptr_t)(min) }

static const struct keydef ds_keys[] = {
	{ "collection", h_nonempty, D(collection), 0, NULL },
	{ "database", h_nonempty, D(database), 0, NULL },
	{ "hosts", h_hosts, D(hosts), D(nhosts), NULL },
	DUR("server_selection_timeout", server_selection_timeout_ms, 1),
	{ "tls", h_bool, D(tls), 0, NULL },
	{ "tls_ca_file", h_nonempty, D(tls_ca_file), 0, NULL },
	{ "tls_insecure", h_bool, D(tls_insecure), 0, NULL },
	{ "uri", h_uri, D(uri), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};
#define GIVEN(key)	GIVEN_IN(&ds_tab, given, (key))
#define GIVEN_K(key)	(conf_given(&ds_tab, given, (key))->k)

static void
h_strategy(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	static const char *const st[] = { "document", "file" };
	const char *s;
	char sb[128];
	size_t i;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	for (i = 0; i < NITEMS(st); i++)
		if (strcasecmp(s, st[i]) == 0) {
			set_str(FIELD(obj, kd->off, char *), st[i]);
			return;
		}
	conf_error_at(c, v->mark, "%s: unknown strategy '%s' (document, "
	    "file)", kd->name, SHOW(v, sb));
}

static const struct keydef rule_keys[] = {
	{ "collection", h_nonempty, R(collection), 0, NULL },
	{ "database", h_nonempty, R(database), 0, NULL },
	{ "env_as_collection", h_bool, R(env_as_collection), 0, NULL },
	{ "mongo_strategy", h_strategy, R(mongo_strategy), 0, NULL },
	{ "mongo_tls", h_rule_conn, 0, 0, NULL },
	{ "mongo_tls_ca_file", h_rule_conn, 0, 0, NULL },
	{ "mongo_tls_insecure", h_rule_conn, 0, 0, NULL },
	{ "mongo_uri", h_rule_conn, 0, 0, NULL },
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

static const char *const key_formats[] = { "dot", NULL };

static void
mongo_ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given, struct conf_mark node)
{
	struct conf_mongo_ds *d = ds->kconf;
	size_t i, len, off;

	if (GIVEN("hosts") && c->ds_nhosts_given == 0)
		conf_error_at(c, c->ds_hosts, "hosts: expected at least one "
		    "\"host:port\" for mongo, got 0");
	if (GIVEN("uri") && GIVEN("hosts"))
		conf_error_at(c, GIVEN_K("uri"), "uri: give either uri or "
		    "hosts, not both");
	if (!GIVEN("uri")) {
		conf_secret_free(&d->uri);
		d->uri.src = SECRET_LITERAL;
		d->uri_derived = 1;
		if (d->nhosts == 0)
			d->uri.value = conf_xstrdup(CONF_DEFAULT_MONGO_URI);
		else {
			len = strlen("mongodb://") + 2;
			for (i = 0; i < d->nhosts; i++)
				len += strlen(d->hosts[i]) + 1;
			d->uri.value = conf_xcalloc(1, len);
			off = (size_t)snprintf(d->uri.value, len,
			    "mongodb://");
			for (i = 0; i < d->nhosts; i++)
				off += (size_t)snprintf(d->uri.value + off,
				    len - off, "%s%s", i ? "," : "",
				    d->hosts[i]);
			snprintf(d->uri.value + off, len - off, "/");
		}
	}
	if (d->database == NULL)
		d->database = conf_xstrdup(CONF_DEFAULT_MONGO_DATABASE);
	if (d->collection == NULL)
		d->collection = conf_xstrdup(CONF_DEFAULT_MONGO_COLLECTION);
	if (d->server_selection_timeout_ms == 0)
		d->server_selection_timeout_ms = CONF_DEFAULT_MONGO_SELECT_MS;
	/* as mongo_tls_ca_file in the orchestrator: a CA turns TLS on */
	if (d->tls_ca_file != NULL)
		d->tls = 1;
}

/* A mongo URI: a literal without credentials as it is, else redacted. */
static void
kv_uri(struct jbuf *b, const char *ind, const struct conf_secret *s)
{
	char *red;

	if (s->src != SECRET_LITERAL || s->value == NULL) {
		kv_secret(b, ind, "uri", s);
		return;
	}
	red = conf_uri_has_credentials(s->value) ?
	    conf_uri_redacted(s->value) : conf_xstrdup(s->value);
	kv_str(b, ind, "uri", red);
	free(red);
}

static void
mongo_ds_print(struct jbuf *b, const char *ind,
    const struct conf_datasource *ds)
{
	const struct conf_mongo_ds *d = ds->kconf;

	if (d->uri_derived)
		kv_list(b, ind, "hosts", d->hosts, d->nhosts);
	else
		kv_uri(b, ind, &d->uri);
	kv_str(b, ind, "database", d->database);
	kv_str(b, ind, "collection", d->collection);
	kv_bool(b, ind, "tls", d->tls);
	kv_str(b, ind, "tls_ca_file", d->tls_ca_file);
	kv_bool(b, ind, "tls_insecure", d->tls_insecure);
	kv_dur(b, ind, "server_selection_timeout",
	    d->server_selection_timeout_ms);
}

static void
mongo_ds_free(void *p)
{
	struct conf_mongo_ds *d = p;

	conf_strv_free(d->hosts, d->nhosts);
	conf_secret_free(&d->uri);
	free(d->database);
	free(d->collection);
	free(d->tls_ca_file);
}

static int
mongo_ds_pack(void **out, size_t *outlen, const struct conf_datasource *ds)
{
	const struct conf_mongo_ds *d = ds->kconf;
	struct ipc_mongo_settings s;

	memset(&s, 0, sizeof(s));
	s.uri = d->uri.value;
	s.database = d->database;
	s.tls = d->tls;
	s.tls_ca_file = d->tls_ca_file;
	s.tls_insecure = d->tls_insecure;
	s.server_selection_timeout_ms =
	    (uint32_t)d->server_selection_timeout_ms;
	return ipc_mongo_settings_pack(out, outlen, &s);
}

static void
mongo_rule_finish(struct conf_rule *cr, void *p,
    const struct conf_datasource *ds)
{
	struct conf_mongo_rule *r = p;

	if (r->mongo_strategy == NULL)
		r->mongo_strategy = conf_xstrdup(CONF_DEFAULT_MONGO_STRATEGY);
}

static void
mongo_rule_print(struct jbuf *b, const char *ind, const void *p, int own)
{
	const struct conf_mongo_rule *r = p;

	kv_str(b, ind, "mongo_strategy", r->mongo_strategy);
	kv_str(b, ind, "collection", r->collection);
	kv_str(b, ind, "database", r->database);
	kv_layout_bool(b, ind, "env_as_collection", r->env_as_collection, 0,
	    own);
}

static void
mongo_rule_free(void *p)
{
	struct conf_mongo_rule *r = p;

	free(r->mongo_strategy);
	free(r->collection);
	free(r->database);
}

/* '/', '.', '$' and NUL (NUL cannot occur in a C string) */
static int
mongo_bad(unsigned char c)
{
	return c == '/' || c == '.' || c == '$';
}

int
conf_mongo_collection(char **out, const char *destination_template,
    const char *collection, int env_as_collection, const char *tenant,
    const char *env, char *err, size_t errlen)
{
	char *safe;
	int rc = 0;

	*out = NULL;
	safe = conf_sanitise(env, mongo_bad);
	if (collection == NULL || *collection == '\0')
		collection = CONF_DEFAULT_MONGO_COLLECTION;
	if (destination_template != NULL && *destination_template != '\0')
		rc = conf_format_template(out, destination_template, tenant,
		    safe, err, errlen);
	else if (env_as_collection) {
		if (asprintf(out, "%s_%s", collection, safe) == -1)
			fatal("asprintf");
	} else
		*out = conf_xstrdup(collection);
	free(safe);
	if (rc == 0 && **out == '\0') {
		snprintf(err, errlen, "collection name is empty");
		free(*out);
		*out = NULL;
		rc = -1;
	}
	return rc;
}

static int
mongo_layout(struct conf_layout *out, const struct conf_rule *cr,
    const void *p, const struct conf_datasource *ds, char *err, size_t errlen,
    const char **key)
{
	const struct conf_mongo_rule *r = p;
	const struct conf_mongo_ds *d = ds->kconf;
	struct ipc_mongo_scope scope;

	*key = "destination_template";
	if (conf_mongo_collection(&out->target, cr->destination_template,
	    r->collection ? r->collection : d->collection,
	    r->env_as_collection, cr->tenant_id, out->env, err, errlen) == -1)
		return -1;
	out->marker = conf_xstrdup("");
	out->key_format = "dot";
	out->key_prefix = conf_xstrdup("");
	out->detect_extra = 1;
	memset(&scope, 0, sizeof(scope));
	scope.strategy = r->mongo_strategy != NULL &&
	    strcmp(r->mongo_strategy, "file") == 0 ?
	    IPC_MONGO_FILE : IPC_MONGO_DOCUMENT;
	scope.tenant = cr->tenant_id;
	scope.env = out->env;
	scope.label = cr->datasource;
	scope.database = r->database ? r->database : "";
	scope.files = (const char *const *)cr->files;
	scope.nfiles = cr->nfiles;
	if (ipc_mongo_scope_pack(&out->scope, &out->scope_len, &scope) == -1)
		fatal("%s: pack", __func__);
	return 0;
}

const struct ds_kind ds_kind_mongo = {
	.name = "mongo",
	.worker = "mongo",
	.ds_size = sizeof(struct conf_mongo_ds),
	.ds_keys = &ds_tab,
	.rule_size = sizeof(struct conf_mongo_rule),
	.rule_keys = &rule_tab,
	.key_formats = key_formats,
	.ds_finish = mongo_ds_finish,
	.ds_print = mongo_ds_print,
	.ds_free = mongo_ds_free,
	.ds_pack = mongo_ds_pack,
	.rule_finish = mongo_rule_finish,
	.rule_print = mongo_rule_print,
	.rule_free = mongo_rule_free,
	.layout = mongo_layout,
};
