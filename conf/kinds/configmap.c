/*
 * The configmap kind (interop §3.5; spec/backends-http-ha.md §2): a
 * Kubernetes API server, a bearer token (or a token file) and/or a client
 * certificate; a rule's values are the data of one ConfigMap, its
 * namespace and name computed as the orchestrator's sink computes them.
 *
 * The CA bundle, the client certificate and key and the token file are
 * read here, at load: the sandboxed worker gets their contents (it
 * re-reads the token file itself, as client-go does, where it can).
 * Without api_server, a kubeconfig (kubeconfig.c) gives the server, the
 * TLS material and the token, read here too; without a kubeconfig, the
 * in-cluster configuration (KUBERNETES_SERVICE_HOST / _PORT, the service
 * account's token and CA), as client-go falls back to it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_keys.h"
#include "configmap_conf.h"
#include "kinds.h"
#include "kinds/configmap.h"
#include "kubeconfig.h"

#define D(f)	offsetof(struct conf_cm_ds, f)
#define R(f)	offsetof(struct conf_cm_rule, f)

int
conf_cm_name_check(const char *s, size_t maxlen, int dots, char *why,
    size_t whylen)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > maxlen) {
		snprintf(why, whylen, "1 to %zu characters", maxlen);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    !(dots && s[i] == '.')) {
			snprintf(why, whylen, "only a-z, 0-9%s and '-'",
			    dots ? ", '.'" : "");
			return -1;
		}
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) {
		snprintf(why, whylen, "a letter or digit at both ends");
		return -1;
	}
	return 0;
}

/* k8s_namespace (a DNS label) and k8s_configmap_name (a DNS subdomain) */
static void
h_k8s_name(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	int dots = kd->off == R(k8s_configmap_name);
	const char *s;
	char sb[128], why[64];

	if ((s = want_string(c, kd->name, v, "a name")) == NULL)
		return;
	if (conf_cm_name_check(s, dots ? CONF_CM_NAME_MAX : CONF_CM_LABEL_MAX,
	    dots, why, sizeof(why)) == -1) {
		conf_error_at(c, v->mark, "%s: '%s' is not a Kubernetes %s "
		    "(%s)", kd->name, SHOW(v, sb), dots ? "object name" :
		    "namespace", why);
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
}

static const struct keydef ds_keys[] = {
	{ "api_server", h_http_url, D(api_server), 0, NULL },
	{ "ca_file", h_abs_path, D(ca_file), 0, NULL },
	{ "client_cert_file", h_abs_path, D(client_cert_file), 0, NULL },
	{ "client_key_file", h_abs_path, D(client_key_file), 0, NULL },
	{ "context", h_nonempty, D(context), 0, NULL },
	{ "insecure_skip_tls_verify", h_bool, D(insecure_skip_tls_verify), 0,
	    NULL },
	{ "kubeconfig", h_abs_path, D(kubeconfig), 0, NULL },
	{ "max_response_bytes", h_size, D(max_response_bytes), 0, NULL },
	{ "token", h_secret, D(token), 0, NULL },
	{ "token_file", h_abs_path, D(token_file), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};
#define GIVEN(key)	GIVEN_IN(&ds_tab, given, (key))
#define GIVEN_K(key)	(conf_given(&ds_tab, given, (key))->k)
#define GIVEN_V(key)	(conf_given(&ds_tab, given, (key))->v)

static const struct keydef rule_keys[] = {
	{ "env_as_name_suffix", h_bool, R(env_as_name_suffix), 0, NULL },
	{ "env_as_namespace", h_bool, R(env_as_namespace), 0, NULL },
	{ "k8s_api_server", h_rule_conn, 0, 0, NULL },
	{ "k8s_configmap_name", h_k8s_name, R(k8s_configmap_name), 0, NULL },
	{ "k8s_kubeconfig_path", h_rule_conn, 0, 0, NULL },
	{ "k8s_namespace", h_k8s_name, R(k8s_namespace), 0, NULL },
	{ "k8s_token", h_rule_conn, 0, 0, NULL },
	{ "k8s_verify_ssl", h_rule_conn, 0, 0, NULL },
	{ "watch", h_bool, R(watch), 0, NULL },
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

static const char *const key_formats[] = { "flat", "dot", NULL };

char *
conf_cm_k8s_safe(const char *s)
{
	char *o = conf_xstrdup(s), *p = o;
	size_t n;

	for (; *p != '\0'; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			*p = '-';
	}
	for (p = o; *p == '-'; p++)
		;
	memmove(o, p, strlen(p) + 1);
	n = strlen(o);
	if (n > CONF_CM_LABEL_MAX)
		n = CONF_CM_LABEL_MAX;
	while (n > 0 && o[n - 1] == '-')
		n--;
	o[n] = '\0';
	if (n == 0) {
		free(o);
		o = conf_xstrdup("default");
	}
	return o;
}

int
conf_cm_target(char **ns, char **name, const char *tmpl,
    const char *k8s_namespace, const char *k8s_configmap_name,
    int env_as_namespace, int env_as_name_suffix, const char *tenant,
    const char *env, char *err, size_t errlen)
{
	char *raw, *safe;

	*ns = *name = NULL;
	if (tmpl != NULL) {
		if (conf_format_template(&raw, tmpl, tenant, env, err,
		    errlen) == -1)
			return -1;
		*name = conf_cm_k8s_safe(raw);
		free(raw);
		*ns = conf_xstrdup(k8s_namespace);
		return 0;
	}
	if (env_as_namespace) {
		*ns = conf_cm_k8s_safe(env);
		*name = conf_xstrdup(k8s_configmap_name);
		return 0;
	}
	*ns = conf_xstrdup(k8s_namespace);
	if (!env_as_name_suffix) {
		*name = conf_xstrdup(k8s_configmap_name);
		return 0;
	}
	safe = conf_cm_k8s_safe(env);
	if (asprintf(name, "%s-%s", k8s_configmap_name, safe) == -1)
		fatal("asprintf");
	free(safe);
	if (strlen(*name) > CONF_CM_NAME_MAX) {
		snprintf(err, errlen, "ConfigMap name '%.40s...' is over %d "
		    "characters", *name, CONF_CM_NAME_MAX);
		free(*ns);
		free(*name);
		*ns = *name = NULL;
		return -1;
	}
	return 0;
}

void
conf_cm_blob_free(struct conf_cm_blob *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
}

/* client-go trims a token file's contents */
static void
token_trim(struct conf_ctx *c, struct conf_mark at, struct conf_cm_blob *b,
    const char *key)
{
	while (b->len > 0 && isspace((unsigned char)b->data[b->len - 1]))
		b->data[--b->len] = '\0';
	if (b->len == 0)
		conf_error_at(c, at, "%s: holds only white space", key);
}

/* The file of a key at its place; -1 after reporting it. */
static int
read_file_key(struct conf_ctx *c, const struct given *given, const char *key,
    const char *path, size_t cap, struct conf_cm_blob *out)
{
	char why[128], sb[128];

	if (path == NULL)
		return 0;
	if (read_blob(path, cap, &out->data, &out->len, why,
	    sizeof(why)) == -1) {
		conf_error_at(c, GIVEN_V(key), "%s: cannot read '%s': %s", key,
		    conf_show(path, strlen(path), sb, sizeof(sb)), why);
		return -1;
	}
	return 0;
}


/* Checks shared by both ways of giving the connection. */
static void
url_check(struct conf_ctx *c, const struct conf_datasource *ds,
    struct conf_mark at, const char *url, int has_token)
{
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		conf_error_at(c, at, "datasource '%s': server '%.80s' is not "
		    "an http(s) URL", ds->name, url);
	else if (strncmp(url, "http://", 7) == 0 && has_token)
		conf_warning_at(c, at, "datasource '%s': the token is sent "
		    "over plain http", ds->name);
}

/*
 * No api_server: the kubeconfig's context gives the server, CA, client
 * certificate and token (the file's own keys, not the datasource's).
 */
static void
from_kubeconfig(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given, struct conf_mark node)
{
	static const char *const own[] = {
		"ca_file", "client_cert_file", "client_key_file", "token",
		"token_file", "insecure_skip_tls_verify",
	};
	struct conf_cm_ds *d = ds->kconf;
	struct conf_mark at = GIVEN("kubeconfig") ? GIVEN_V("kubeconfig") :
	    node;
	struct kubeconfig kc;
	char err[512], err2[512], why[128], sb[128];
	size_t i, n;
	int rc;

	for (i = 0; i < NITEMS(own); i++)
		if (GIVEN(own[i])) {
			conf_error_at(c, GIVEN_K(own[i]), "%s: needs api_server "
			    "(with a kubeconfig, the kubeconfig's user and "
			    "cluster give it)", own[i]);
			return;
		}
	/* client-go's order: a kubeconfig, else the in-cluster
	 * configuration (not with a context: that names a kubeconfig's) */
	if ((rc = conf_kubeconfig_load(&kc, d->kubeconfig, d->context, err,
	    sizeof(err))) == 1 && d->context == NULL &&
	    (rc = conf_kubeconfig_incluster(&kc, err2, sizeof(err2))) == -1)
		memcpy(err, err2, sizeof(err));
	if (rc != 0) {
		conf_error_at(c, at, "datasource '%s': %s", ds->name, err);
		return;
	}
	n = strlen(kc.server);
	while (n > 0 && kc.server[n - 1] == '/')
		kc.server[--n] = '\0';
	d->api_server = kc.server;
	d->from_kc = 1;
	d->insecure_skip_tls_verify = kc.insecure;
	d->ca = kc.ca;
	d->cert = kc.cert;
	d->key = kc.key;
	d->kc_token = kc.token;
	d->token_file = kc.token_file;
	kc.server = kc.token = kc.token_file = NULL;
	memset(&kc.ca, 0, sizeof(kc.ca));
	memset(&kc.cert, 0, sizeof(kc.cert));
	memset(&kc.key, 0, sizeof(kc.key));
	url_check(c, ds, at, d->api_server, d->kc_token != NULL ||
	    d->token_file != NULL);
	if (d->insecure_skip_tls_verify && d->ca.len > 0)
		conf_error_at(c, at, "datasource '%s': kubeconfig %s: cluster "
		    "of context '%s' has insecure-skip-tls-verify and a "
		    "certificate authority (client-go refuses it)", ds->name,
		    kc.file, kc.context);
	else if (d->insecure_skip_tls_verify)
		conf_warning_at(c, at, "datasource '%s': the API server's "
		    "certificate is not verified", ds->name);
	if (d->token_file != NULL) {
		if (read_blob(d->token_file, CONF_CM_MAX_TOKEN_BYTES,
		    &d->token_file_data.data, &d->token_file_data.len, why,
		    sizeof(why)) == -1)
			conf_error_at(c, at, "datasource '%s': kubeconfig %s: "
			    "tokenFile: cannot read '%s': %s", ds->name,
			    kc.file, conf_show(d->token_file,
			    strlen(d->token_file), sb, sizeof(sb)), why);
		else
			token_trim(c, at, &d->token_file_data, "tokenFile");
	}
	conf_kubeconfig_free(&kc);
}

static void
cm_ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given, struct conf_mark node)
{
	struct conf_cm_ds *d = ds->kconf;

	if (d->max_response_bytes == 0)	/* h_size caps it at 1 GiB */
		d->max_response_bytes = CONF_CM_DEFAULT_MAX_RESPONSE;
	if (d->api_server != NULL && (GIVEN("kubeconfig") ||
	    GIVEN("context"))) {
		conf_error_at(c, GIVEN("kubeconfig") ? GIVEN_K("kubeconfig") :
		    GIVEN_K("context"), "%s: not allowed with api_server (the "
		    "connection is given either way, not both)",
		    GIVEN("kubeconfig") ? "kubeconfig" : "context");
		return;
	}
	if (d->api_server == NULL) {
		from_kubeconfig(c, ds, given, node);
		return;
	}
	if (GIVEN("token") && GIVEN("token_file"))
		conf_error_at(c, GIVEN_K("token_file"), "token_file: token "
		    "and token_file are exclusive");
	if (GIVEN("client_cert_file") != GIVEN("client_key_file"))
		conf_error_at(c, GIVEN("client_cert_file") ?
		    GIVEN_K("client_cert_file") : GIVEN_K("client_key_file"),
		    "%s: client_cert_file and client_key_file go together",
		    GIVEN("client_cert_file") ? "client_cert_file" :
		    "client_key_file");
	if (d->insecure_skip_tls_verify && GIVEN("ca_file"))
		conf_error_at(c, GIVEN_K("insecure_skip_tls_verify"),
		    "insecure_skip_tls_verify: not allowed with ca_file "
		    "(a root certificates file with the insecure flag, as "
		    "client-go refuses it)");
	else if (d->insecure_skip_tls_verify)
		conf_warning_at(c, GIVEN_K("insecure_skip_tls_verify"),
		    "datasource '%s': the API server's certificate is not "
		    "verified", ds->name);
	if (strncmp(d->api_server, "http://", 7) == 0 &&
	    (GIVEN("token") || GIVEN("token_file")))
		conf_warning_at(c, GIVEN_K("api_server"), "datasource '%s': "
		    "the token is sent over plain http", ds->name);
	if (!GIVEN("token") && !GIVEN("token_file") &&
	    !GIVEN("client_cert_file"))
		conf_warning_at(c, node, "datasource '%s': no token, "
		    "token_file or client certificate: requests are anonymous",
		    ds->name);
	if (read_file_key(c, given, "token_file", d->token_file,
	    CONF_CM_MAX_TOKEN_BYTES, &d->token_file_data) == 0 &&
	    d->token_file_data.data != NULL)
		token_trim(c, GIVEN_V("token_file"), &d->token_file_data,
		    "token_file");
	read_file_key(c, given, "ca_file", d->ca_file, CONF_CM_MAX_CA_BYTES,
	    &d->ca);
	read_file_key(c, given, "client_cert_file", d->client_cert_file,
	    CONF_CM_MAX_PEM_BYTES, &d->cert);
	read_file_key(c, given, "client_key_file", d->client_key_file,
	    CONF_CM_MAX_PEM_BYTES, &d->key);
}

static void
cm_ds_print(struct jbuf *b, const char *ind, const struct conf_datasource *ds)
{
	const struct conf_cm_ds *d = ds->kconf;

	/* paths only: what the files hold is never printed; with a
	 * kubeconfig, its keys (what it gave is the kubeconfig's) */
	if (d->from_kc) {
		kv_str(b, ind, "kubeconfig", d->kubeconfig);
		kv_str(b, ind, "context", d->context);
	} else {
		kv_str(b, ind, "api_server", d->api_server);
		kv_secret(b, ind, "token", &d->token);
		kv_str(b, ind, "token_file", d->token_file);
		kv_str(b, ind, "ca_file", d->ca_file);
		kv_bool(b, ind, "insecure_skip_tls_verify",
		    d->insecure_skip_tls_verify);
		kv_str(b, ind, "client_cert_file", d->client_cert_file);
		kv_str(b, ind, "client_key_file", d->client_key_file);
	}
	kv_size(b, ind, "max_response_bytes", d->max_response_bytes);
}

static void
cm_ds_free(void *p)
{
	struct conf_cm_ds *d = p;

	free(d->api_server);
	conf_secret_free(&d->token);
	free(d->token_file);
	free(d->ca_file);
	free(d->client_cert_file);
	free(d->client_key_file);
	free(d->kubeconfig);
	free(d->context);
	if (d->kc_token != NULL) {
		explicit_bzero(d->kc_token, strlen(d->kc_token));
		free(d->kc_token);
	}
	conf_cm_blob_free(&d->token_file_data);
	conf_cm_blob_free(&d->ca);
	conf_cm_blob_free(&d->cert);
	conf_cm_blob_free(&d->key);
}

static int
cm_ds_pack(void **out, size_t *outlen, const struct conf_datasource *ds)
{
	const struct conf_cm_ds *d = ds->kconf;
	struct ipc_cm_settings s;

	memset(&s, 0, sizeof(s));
	s.api_server = d->api_server;
	s.token = d->token_file != NULL ? d->token_file_data.data :
	    d->kc_token != NULL ? d->kc_token : d->token.value;
	s.token_file = d->token_file;
	s.ca_pem.p = d->ca.data;
	s.ca_pem.len = d->ca.len;
	s.cert_pem.p = d->cert.data;
	s.cert_pem.len = d->cert.len;
	s.key_pem.p = d->key.data;
	s.key_pem.len = d->key.len;
	s.insecure_skip_tls_verify = d->insecure_skip_tls_verify;
	s.max_response_bytes = d->max_response_bytes;
	return ipc_cm_settings_pack(out, outlen, &s);
}

static void
cm_rule_init(void *p)
{
	struct conf_cm_rule *r = p;

	r->env_as_name_suffix = 1;
	r->watch = 1;
}

static void
cm_rule_print(struct jbuf *b, const char *ind, const void *p, int own)
{
	const struct conf_cm_rule *r = p;

	kv_str(b, ind, "k8s_namespace", r->k8s_namespace);
	kv_str(b, ind, "k8s_configmap_name", r->k8s_configmap_name);
	kv_layout_bool(b, ind, "env_as_namespace", r->env_as_namespace, 0,
	    own);
	kv_layout_bool(b, ind, "env_as_name_suffix", r->env_as_name_suffix, 1,
	    own);
	kv_layout_bool(b, ind, "watch", r->watch, 1, own);
}

static void
cm_rule_free(void *p)
{
	struct conf_cm_rule *r = p;

	free(r->k8s_namespace);
	free(r->k8s_configmap_name);
}

static int
cm_layout(struct conf_layout *out, const struct conf_rule *cr, const void *p,
    const struct conf_datasource *ds, char *err, size_t errlen,
    const char **key)
{
	const struct conf_cm_rule *r = p;
	struct ipc_cm_scope scope;
	char *ns, *name;

	*key = NULL;
	if (r->k8s_namespace == NULL || r->k8s_configmap_name == NULL) {
		snprintf(err, errlen, "missing required key '%s' for "
		    "configmap datasource '%s'", r->k8s_namespace == NULL ?
		    "k8s_namespace" : "k8s_configmap_name", ds->name);
		return -1;
	}
	*key = cr->destination_template != NULL ? "destination_template" :
	    "k8s_configmap_name";
	if (conf_cm_target(&ns, &name, cr->destination_template,
	    r->k8s_namespace, r->k8s_configmap_name, r->env_as_namespace,
	    r->env_as_name_suffix, cr->tenant_id, out->env, err, errlen) == -1)
		return -1;
	if (asprintf(&out->target, "%s/%s", ns, name) == -1)
		fatal("asprintf");
	out->marker = conf_xstrdup(CONF_CM_MARKER_LABEL);
	out->key_format = conf_layout_key_format(cr, "flat");
	out->key_prefix = conf_xstrdup("");
	out->detect_extra = 1;
	memset(&scope, 0, sizeof(scope));
	scope.namespace_ = ns;
	scope.name = name;
	scope.watch = r->watch;
	out->watch = r->watch;
	if (ipc_cm_scope_pack(&out->scope, &out->scope_len, &scope) == -1)
		fatal("%s: pack", __func__);
	free(ns);
	free(name);
	return 0;
}

const struct ds_kind ds_kind_configmap = {
	.name = "configmap",
	.worker = "configmap",
	.ds_size = sizeof(struct conf_cm_ds),
	.ds_keys = &ds_tab,
	.rule_size = sizeof(struct conf_cm_rule),
	.rule_keys = &rule_tab,
	.key_formats = key_formats,
	.ds_finish = cm_ds_finish,
	.ds_print = cm_ds_print,
	.ds_free = cm_ds_free,
	.ds_pack = cm_ds_pack,
	.rule_init = cm_rule_init,
	.rule_print = cm_rule_print,
	.rule_free = cm_rule_free,
	.layout = cm_layout,
};
