/*
 * The zookeeper kind (interop §3.3): an ensemble, digest auth, a base path;
 * znodes under a root, nested (slash) or flat (slash_dot).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_keys.h"
#include "kinds.h"
#include "kinds/zookeeper.h"
#include "zookeeper_conf.h"

#define D(f)	offsetof(struct conf_zk_ds, f)
#define R(f)	offsetof(struct conf_zk_rule, f)

static const struct keydef ds_keys[] = {
	{ "base_path", h_base_path, D(base_path), 0, NULL },
	{ "hosts", h_hosts, D(hosts), D(nhosts), NULL },
	{ "password", h_secret, D(password), 0, NULL },
	{ "session_timeout", h_duration, D(session_timeout_ms), 0,
	    (const void *)(uintptr_t)1000 },
	{ "username", h_nonempty, D(username), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};
#define GIVEN(key)	GIVEN_IN(&ds_tab, given, (key))
#define GIVEN_K(key)	(conf_given(&ds_tab, given, (key))->k)

static const struct keydef rule_keys[] = {
	{ "watch", h_bool, R(watch), 0, NULL },
	{ "zk_base_path", h_base_path, R(zk_base_path), 0, NULL },
	{ "zk_hosts", h_rule_conn, 0, 0, NULL },
	{ "zk_password", h_rule_conn, 0, 0, NULL },
	{ "zk_path_template", h_template, R(zk_path_template), 0, NULL },
	{ "zk_timeout_secs", h_rule_conn, 0, 0, NULL },
	{ "zk_username", h_rule_conn, 0, 0, NULL },
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

static const char *const key_formats[] = { "slash", "slash_dot", NULL };

static void
zk_ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given, struct conf_mark node)
{
	struct conf_zk_ds *d = ds->kconf;

	if (c->ds_hosts.line == 0)
		conf_error_at(c, node, "missing required key 'hosts' in "
		    "datasource '%s'", ds->name);
	else if (c->ds_nhosts_given == 0)
		conf_error_at(c, c->ds_hosts, "hosts: expected at least one "
		    "\"host:port\" for zookeeper, got 0");
	if (GIVEN("username") && !GIVEN("password"))
		conf_error_at(c, GIVEN_K("username"), "username: digest auth "
		    "needs a password too");
	if (GIVEN("password") && !GIVEN("username"))
		conf_error_at(c, GIVEN_K("password"), "password: digest auth "
		    "needs a username too");
	if (d->session_timeout_ms == 0)
		d->session_timeout_ms = CONF_ZK_DEFAULT_SESSION_MS;
	if (d->base_path == NULL)
		d->base_path = conf_xstrdup("");
}

static void
zk_ds_print(struct jbuf *b, const char *ind, const struct conf_datasource *ds)
{
	const struct conf_zk_ds *d = ds->kconf;

	kv_list(b, ind, "hosts", d->hosts, d->nhosts);
	kv_str(b, ind, "username", d->username);
	kv_secret(b, ind, "password", &d->password);
	kv_dur(b, ind, "session_timeout", d->session_timeout_ms);
	kv_str(b, ind, "base_path", d->base_path);
}

static void
zk_ds_free(void *p)
{
	struct conf_zk_ds *d = p;

	conf_strv_free(d->hosts, d->nhosts);
	free(d->username);
	conf_secret_free(&d->password);
	free(d->base_path);
}

static int
zk_ds_pack(void **out, size_t *outlen, const struct conf_datasource *ds)
{
	const struct conf_zk_ds *d = ds->kconf;
	struct ipc_zookeeper_settings s;

	memset(&s, 0, sizeof(s));
	s.hosts = (const char *const *)d->hosts;
	s.nhosts = d->nhosts;
	s.username = d->username;
	s.password = d->password.value;
	s.session_timeout_ms = (uint32_t)d->session_timeout_ms;
	return ipc_zookeeper_settings_pack(out, outlen, &s);
}

static void
zk_rule_init(void *p)
{
	struct conf_zk_rule *r = p;

	r->watch = 1;
}

static void
zk_rule_print(struct jbuf *b, const char *ind, const void *p, int own)
{
	const struct conf_zk_rule *r = p;

	kv_str(b, ind, "zk_base_path", r->zk_base_path);
	kv_str(b, ind, "zk_path_template", r->zk_path_template);
	kv_layout_bool(b, ind, "watch", r->watch, 1, own);
}

static void
zk_rule_free(void *p)
{
	struct conf_zk_rule *r = p;

	free(r->zk_base_path);
	free(r->zk_path_template);
}

int
conf_zk_root(char **out, const char *base_path, const char *template,
    const char *tenant, const char *env, char *err, size_t errlen)
{
	char *path = NULL, *root;
	size_t bl, n;

	*out = NULL;
	if (template == NULL || *template == '\0')
		template = "/{tenant}/{env}";
	if (conf_format_template(&path, template, tenant, env, err, errlen) ==
	    -1)
		return -1;
	base_path = base_path ? base_path : "";
	bl = strlen(base_path);
	while (bl > 0 && base_path[bl - 1] == '/')
		bl--;
	if (asprintf(&root, "%.*s%s", (int)bl, base_path, path) == -1)
		fatal("asprintf");
	free(path);
	n = strlen(root);
	while (n > 0 && root[n - 1] == '/')
		root[--n] = '\0';
	if (n > 0 && root[0] != '/') {
		snprintf(err, errlen, "zookeeper root '%s' is not an absolute "
		    "path", root);
		free(root);
		return -1;
	}
	*out = root;
	return 0;
}

static int
zk_layout(struct conf_layout *out, const struct conf_rule *cr, const void *p,
    const struct conf_datasource *ds, char *err, size_t errlen,
    const char **key)
{
	const struct conf_zk_rule *r = p;
	const struct conf_zk_ds *d = ds->kconf;
	struct ipc_zookeeper_scope scope;

	*key = cr->destination_template != NULL ? "destination_template" :
	    r->zk_path_template != NULL ? "zk_path_template" :
	    r->zk_base_path != NULL ? "zk_base_path" : NULL;
	if (conf_zk_root(&out->target, r->zk_base_path ? r->zk_base_path :
	    d->base_path, cr->destination_template ? cr->destination_template :
	    r->zk_path_template, cr->tenant_id, out->env, err, errlen) == -1)
		return -1;
	if (asprintf(&out->marker, "%s/__vartrack__", out->target) == -1)
		fatal("asprintf");
	out->key_format = conf_layout_key_format(cr, "slash");
	out->key_prefix = conf_xstrdup("");
	out->detect_extra = 1;
	out->watch = r->watch;
	memset(&scope, 0, sizeof(scope));
	scope.layout = strcmp(out->key_format, "slash_dot") == 0 ?
	    IPC_ZOOKEEPER_SLASH_DOT : IPC_ZOOKEEPER_SLASH;
	scope.watch = r->watch;
	if (ipc_zookeeper_scope_pack(&out->scope, &out->scope_len, &scope) ==
	    -1)
		fatal("%s: pack", __func__);
	return 0;
}

const struct ds_kind ds_kind_zookeeper = {
	.name = "zookeeper",
	.worker = "zookeeper",
	.ds_size = sizeof(struct conf_zk_ds),
	.ds_keys = &ds_tab,
	.rule_size = sizeof(struct conf_zk_rule),
	.rule_keys = &rule_tab,
	.key_formats = key_formats,
	.ds_finish = zk_ds_finish,
	.ds_print = zk_ds_print,
	.ds_free = zk_ds_free,
	.ds_pack = zk_ds_pack,
	.rule_init = zk_rule_init,
	.rule_print = zk_rule_print,
	.rule_free = zk_rule_free,
	.layout = zk_layout,
};
