/*
 * The redis kind (interop §3.2): one server (hosts: exactly one), db,
 * password; layouts HASH (one hash), STRING (one key per value under a
 * prefix), JSON (one key holding a flat JSON object).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_keys.h"
#include "kinds.h"
#include "kinds/redis.h"
#include "redis_conf.h"

#define D(f)	offsetof(struct conf_redis_ds, f)
#define R(f)	offsetof(struct conf_redis_rule, f)

static void
h_db(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	char sb[128];

	if (v->type != YN_SCALAR || !v->plain || !all_digits(v->str) ||
	    v->len > 2 || atoi(v->str) > 15) {
		conf_error_at(c, v->mark, "%s: expected an integer 0..15, "
		    "got %s%s%s", kd->name, v->type == YN_SCALAR ? "'" : "",
		    v->type == YN_SCALAR ? SHOW(v, sb) : yn_kind(v),
		    v->type == YN_SCALAR ? "'" : "");
		return;
	}
	*FIELD(obj, kd->off, int) = atoi(v->str);
}

static const struct keydef ds_keys[] = {
	{ "db", h_db, D(db), 0, NULL },
	{ "hosts", h_hosts, D(hosts), D(nhosts), NULL },
	{ "password", h_secret, D(password), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};

static void
h_structure(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	static const char *const ds[] = { "HASH", "STRING", "JSON" };
	char **field = FIELD(obj, kd->off, char *);
	const char *s;
	char sb[128];
	size_t i;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	for (i = 0; i < NITEMS(ds); i++)
		if (strcasecmp(s, ds[i]) == 0) {
			set_str(field, ds[i]);
			return;
		}
	/* sinks/redis.py: anything but HASH and JSON is written as STRING */
	conf_info_at(c, v->mark, "%s '%s' is treated as STRING, as the "
	    "orchestrator does", kd->name, SHOW(v, sb));
	set_str(field, "STRING");
}

/* redis_* connection keys predate datasources: ignored, not "belong in
 * the datasource" */
static const struct keydef rule_keys[] = {
	{ "redis_data_structure", h_structure, R(redis_data_structure), 0,
	    NULL },
	{ "redis_db", h_rule_ignored, 0, 0, NULL },
	{ "redis_hash_key", h_str, R(redis_hash_key), 0, NULL },
	{ "redis_hosts", h_rule_ignored, 0, 0, NULL },
	{ "redis_key_prefix", h_str, R(redis_key_prefix), 0, NULL },
	{ "redis_password", h_rule_ignored, 0, 0, NULL },
	{ "redis_ttl_seconds", h_rule_ignored, 0, 0, NULL },
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

static const char *const key_formats[] = { "dot", "flat", NULL };

static void
redis_ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *g, struct conf_mark node)
{
	if (c->ds_hosts.line == 0)
		conf_error_at(c, node, "missing required key 'hosts' in "
		    "datasource '%s'", ds->name);
	else if (c->ds_nhosts_given != 1 && c->ds_nhosts_given != SIZE_MAX)
		conf_error_at(c, c->ds_hosts, "hosts: expected exactly one "
		    "\"host:port\" for redis, got %zu%s", c->ds_nhosts_given,
		    c->ds_nhosts_given > 1 ?
		    " (redis cluster is not supported yet)" : "");
}

static void
redis_ds_print(struct jbuf *b, const char *ind,
    const struct conf_datasource *ds)
{
	const struct conf_redis_ds *d = ds->kconf;

	kv_list(b, ind, "hosts", d->hosts, d->nhosts);
	kv_secret(b, ind, "password", &d->password);
	kv_uint(b, ind, "db", (unsigned long long)d->db);
}

static void
redis_ds_free(void *p)
{
	struct conf_redis_ds *d = p;

	conf_strv_free(d->hosts, d->nhosts);
	conf_secret_free(&d->password);
}

/* "host:port" or "[v6]:port" (checked at load) */
static void
split_hostport(const char *hp, char *host, size_t hostlen, unsigned long *port)
{
	const char *colon = strrchr(hp, ':');

	*port = CONF_REDIS_DEFAULT_PORT;
	if (colon != NULL) {
		snprintf(host, hostlen, "%.*s", (int)(colon - hp), hp);
		*port = strtoul(colon + 1, NULL, 10);
	} else
		snprintf(host, hostlen, "%s", hp);
}

static int
redis_ds_pack(void **out, size_t *outlen, const struct conf_datasource *ds)
{
	const struct conf_redis_ds *d = ds->kconf;
	struct ipc_redis_settings s;
	char host[256] = "";
	unsigned long port = 0;

	memset(&s, 0, sizeof(s));
	if (d->nhosts > 0)
		split_hostport(d->hosts[0], host, sizeof(host), &port);
	s.host = host;
	s.port = (uint32_t)port;
	s.password = d->password.value;
	s.db = (uint32_t)d->db;
	return ipc_redis_settings_pack(out, outlen, &s);
}

static void
redis_rule_print(struct jbuf *b, const char *ind, const void *p, int own)
{
	const struct conf_redis_rule *r = p;

	kv_str(b, ind, "redis_data_structure", r->redis_data_structure);
	kv_str(b, ind, "redis_hash_key", r->redis_hash_key);
	kv_str(b, ind, "redis_key_prefix", r->redis_key_prefix);
}

static void
redis_rule_free(void *p)
{
	struct conf_redis_rule *r = p;

	free(r->redis_data_structure);
	free(r->redis_hash_key);
	free(r->redis_key_prefix);
}

int
conf_redis_prefix(char **out, const char *tenant, const char *datasource,
    const char *env, const char *destination_template, const char *key_prefix,
    char *err, size_t errlen)
{
	*out = NULL;
	if (destination_template != NULL && *destination_template != '\0')
		return conf_format_template(out, destination_template, tenant,
		    env, err, errlen);
	if (key_prefix != NULL && *key_prefix != '\0')
		*out = conf_xstrdup(key_prefix);
	else if (asprintf(out, "%s:%s:%s", tenant ? tenant : "",
	    datasource ? datasource : "", env ? env : "") == -1)
		fatal("asprintf");
	return 0;
}

static int
redis_layout(struct conf_layout *out, const struct conf_rule *cr,
    const void *p, const struct conf_datasource *ds, char *err, size_t errlen,
    const char **key)
{
	const struct conf_redis_rule *r = p;
	const char *st = r->redis_data_structure;
	struct ipc_redis_scope scope;
	char *prefix;

	*key = "destination_template";
	if (conf_redis_prefix(&prefix, cr->tenant_id, cr->datasource,
	    out->env, cr->destination_template, r->redis_key_prefix, err,
	    errlen) == -1)
		return -1;
	memset(&scope, 0, sizeof(scope));
	if (st != NULL && strcasecmp(st, "JSON") == 0) {
		scope.structure = IPC_REDIS_JSON;
		if (asprintf(&out->target, "%s:json", prefix) == -1)
			fatal("asprintf");
		/* {prefix}:json holds the dotted keys */
		out->key_format = "dot";
		out->key_prefix = conf_xstrdup("");
	} else if (st != NULL && strcasecmp(st, "HASH") != 0) {
		scope.structure = IPC_REDIS_STRING;
		out->target = conf_xstrdup(prefix);
		out->key_format = conf_layout_key_format(cr, "flat");
		out->key_prefix = conf_xstrdup(prefix);
	} else {
		scope.structure = IPC_REDIS_HASH;
		if (asprintf(&out->target, "%s:%s", prefix, r->redis_hash_key ?
		    r->redis_hash_key : "vartrack") == -1)
			fatal("asprintf");
		out->key_format = conf_layout_key_format(cr, "dot");
		out->key_prefix = conf_xstrdup("");
	}
	if (asprintf(&out->marker, "%s:__vartrack__", prefix) == -1)
		fatal("asprintf");
	free(prefix);
	/* a STRING scan for extras is opt-in (the worker finds a hash's
	 * extras through HLEN whatever this says) */
	out->detect_extra = cr->detect_extra;
	out->watch = 0;
	if (ipc_redis_scope_pack(&out->scope, &out->scope_len, &scope) == -1)
		fatal("%s: pack", __func__);
	return 0;
}

const struct ds_kind ds_kind_redis = {
	.name = "redis",
	.worker = "redis",
	.ds_size = sizeof(struct conf_redis_ds),
	.ds_keys = &ds_tab,
	.rule_size = sizeof(struct conf_redis_rule),
	.rule_keys = &rule_tab,
	.key_formats = key_formats,
	.ds_finish = redis_ds_finish,
	.ds_print = redis_ds_print,
	.ds_free = redis_ds_free,
	.ds_pack = redis_ds_pack,
	.rule_print = redis_rule_print,
	.rule_free = redis_rule_free,
	.layout = redis_layout,
};
