/*
 * The s3 kind (interop §3.4; spec/backends-http-ha.md §1): an endpoint, a
 * region and credentials; a rule's values are one JSON object
 * {prefix}/config.json, or one object per key {prefix}/{key}
 * (s3_one_file_per_key), in s3_bucket.
 *
 * Credentials not configured are found as the AWS SDKs find them, at load
 * (so -n reports what the daemon would use): the environment, the shared
 * credentials file (read here: the sandboxed worker cannot), then container
 * credentials and IMDSv2, which the worker fetches and refreshes itself.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_keys.h"
#include "kinds.h"
#include "kinds/s3.h"
#include "s3_conf.h"

#define D(f)	offsetof(struct conf_s3_ds, f)
#define R(f)	offsetof(struct conf_s3_rule, f)

/* kd->off: char *, an http(s) URL (h_http_url); remembers it was given */
static void
h_endpoint(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	h_http_url(c, obj, kd, k, v);
	if (*FIELD(obj, kd->off, char *) != NULL)
		FIELD(obj, D(endpoint_given), int)[0] = 1;
}

static int
region_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '-')
			return 0;
	return 1;
}

static void
h_region(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char sb[128];

	if ((s = want_string(c, kd->name, v, "a region name")) == NULL)
		return;
	if (!region_ok(s)) {
		conf_error_at(c, v->mark, "%s: '%s' is not a region name "
		    "(lower-case letters, digits and '-', e.g. eu-west-1)",
		    kd->name, SHOW(v, sb));
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
}

static void
h_bucket(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char sb[128], why[128];

	if ((s = want_string(c, kd->name, v, "a bucket name")) == NULL)
		return;
	if (conf_s3_bucket_check(s, why, sizeof(why)) == -1) {
		conf_error_at(c, v->mark, "%s: '%s' is not a bucket name (%s)",
		    kd->name, SHOW(v, sb), why);
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
}

static const struct keydef ds_keys[] = {
	{ "access_key_id", h_secret, D(access_key_id), 0, NULL },
	{ "ca_file", h_abs_path, D(ca_file), 0, NULL },
	{ "endpoint", h_endpoint, D(endpoint), 0, NULL },
	{ "max_object_bytes", h_size, D(max_object_bytes), 0, NULL },
	{ "path_style", h_bool, D(path_style), 0, NULL },
	{ "region", h_region, D(region), 0, NULL },
	{ "secret_access_key", h_secret, D(secret_access_key), 0, NULL },
	{ "session_token", h_secret, D(session_token), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};
#define GIVEN(key)	GIVEN_IN(&ds_tab, given, (key))
#define GIVEN_K(key)	(conf_given(&ds_tab, given, (key))->k)

static const struct keydef rule_keys[] = {
	{ "s3_access_key_id", h_rule_conn, 0, 0, NULL },
	{ "s3_bucket", h_bucket, R(s3_bucket), 0, NULL },
	{ "s3_endpoint_url", h_rule_conn, 0, 0, NULL },
	{ "s3_key_prefix", h_str, R(s3_key_prefix), 0, NULL },
	{ "s3_one_file_per_key", h_bool, R(s3_one_file_per_key), 0, NULL },
	{ "s3_region", h_rule_conn, 0, 0, NULL },
	{ "s3_secret_access_key", h_rule_conn, 0, 0, NULL },
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

static const char *const key_formats[] = { "dot", NULL };

int
conf_s3_bucket_check(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s), i;

	if (n < 3 || n > 63) {
		snprintf(why, whylen, "3 to 63 characters");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-') {
			snprintf(why, whylen, "only a-z, 0-9, '.' and '-'");
			return -1;
		}
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) {
		snprintf(why, whylen, "a letter or digit at both ends");
		return -1;
	}
	return 0;
}

int
conf_s3_prefix(char **out, const char *tmpl, const char *key_prefix,
    const char *tenant, const char *env, char *err, size_t errlen)
{
	char *s = NULL, *p;
	size_t n, kl;

	*out = NULL;
	if (tmpl != NULL) {
		if (conf_format_template(&s, tmpl, tenant, env, err, errlen) ==
		    -1)
			return -1;
	} else {
		key_prefix = key_prefix ? key_prefix : "";
		kl = strlen(key_prefix);
		while (kl > 0 && key_prefix[kl - 1] == '/')
			kl--;
		if (asprintf(&s, "%.*s/%s", (int)kl, key_prefix, env) == -1)
			fatal("asprintf");
	}
	/* the template: '/' stripped at both ends; else a leading '/' */
	for (p = s; *p == '/'; p++)
		;
	memmove(s, p, strlen(p) + 1);
	if (tmpl != NULL) {
		n = strlen(s);
		while (n > 0 && s[n - 1] == '/')
			s[--n] = '\0';
	}
	*out = s;
	return 0;
}

void
conf_s3_creds_free(struct conf_s3_creds *c)
{
	free(c->key);
	free(c->secret);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

static char *
trimmed(const char *p, const char *end)
{
	char *s;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	s = conf_xcalloc(1, (size_t)(end - p) + 1);
	memcpy(s, p, (size_t)(end - p));
	return s;
}

int
conf_s3_credfile_parse(struct conf_s3_creds *out, const char *buf,
    size_t len, const char *profile)
{
	const char *p = buf, *end = buf + len, *eol, *eq, *q;
	char *name, *val, **slot;
	int in = 0;

	memset(out, 0, sizeof(*out));
	for (; p < end; p = eol + (eol < end)) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		for (q = p; q < eol && isspace((unsigned char)*q); q++)
			;
		if (q == eol || *q == '#' || *q == ';')
			continue;
		if (*q == '[') {
			const char *rb = memchr(q, ']', (size_t)(eol - q));

			if (rb == NULL) {
				in = 0;
				continue;
			}
			name = trimmed(q + 1, rb);
			in = strcmp(name, profile) == 0;
			free(name);
			continue;
		}
		if (!in || (eq = memchr(q, '=', (size_t)(eol - q))) == NULL)
			continue;
		name = trimmed(q, eq);
		slot = strcmp(name, "aws_access_key_id") == 0 ? &out->key :
		    strcmp(name, "aws_secret_access_key") == 0 ? &out->secret :
		    strcmp(name, "aws_session_token") == 0 ||
		    strcmp(name, "aws_security_token") == 0 ? &out->token : NULL;
		free(name);
		if (slot == NULL)
			continue;
		val = trimmed(eq + 1, eol);
		free(*slot);
		*slot = val;
	}
	if (out->key == NULL || out->secret == NULL || *out->key == '\0' ||
	    *out->secret == '\0') {
		conf_s3_creds_free(out);
		return 1;
	}
	if (out->token != NULL && *out->token == '\0') {
		free(out->token);
		out->token = NULL;
	}
	return 0;
}

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* Container credentials: the full URI's host must be loopback or the
 * container agent's (as the SDKs require). */
static int
container_host_ok(const char *url)
{
	static const char *const ok[] = {
		"127.0.0.1", "localhost", "[::1]", "169.254.170.2",
		"169.254.170.23", "[fd00:ec2::23]",
	};
	const char *h;
	size_t i, n;

	if (strncmp(url, "http://", 7) == 0)
		h = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else
		return 0;
	n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
	for (i = 0; i < NITEMS(ok); i++)
		if (strlen(ok[i]) == n && strncmp(h, ok[i], n) == 0)
			return 1;
	return strncmp(h, "127.", 4) == 0 && n <= 15;
}

/* The chain after configured credentials (§1.3). */
static void
s3_find_creds(struct conf_ctx *c, struct conf_s3_ds *d,
    struct conf_mark node, const char *dsname)
{
	struct conf_s3_creds cr;
	const char *v, *home, *profile, *tokfile;
	char *path = NULL, *buf = NULL, why[128], sb[128];
	size_t len;

	if ((v = env_nonempty("AWS_ACCESS_KEY_ID")) != NULL &&
	    env_nonempty("AWS_SECRET_ACCESS_KEY") != NULL) {
		d->cred = CONF_S3_CRED_ENV;
		d->cred_key = conf_xstrdup(v);
		d->cred_secret = conf_xstrdup(getenv("AWS_SECRET_ACCESS_KEY"));
		if ((v = env_nonempty("AWS_SESSION_TOKEN")) != NULL ||
		    (v = env_nonempty("AWS_SECURITY_TOKEN")) != NULL)
			d->cred_token = conf_xstrdup(v);
		d->cred_origin = conf_xstrdup("the environment");
		return;
	}
	if ((v = env_nonempty("AWS_SHARED_CREDENTIALS_FILE")) != NULL)
		path = conf_xstrdup(v);
	else if ((home = getenv("HOME")) != NULL && *home == '/' &&
	    asprintf(&path, "%s/.aws/credentials", home) == -1)
		fatal("asprintf");
	if ((profile = env_nonempty("AWS_PROFILE")) == NULL &&
	    (profile = env_nonempty("AWS_DEFAULT_PROFILE")) == NULL)
		profile = "default";
	if (path != NULL && read_blob(path, CONF_S3_MAX_CRED_FILE_BYTES, &buf,
	    &len, why, sizeof(why)) == 0) {
		if (conf_s3_credfile_parse(&cr, buf, len, profile) == 0) {
			d->cred = CONF_S3_CRED_FILE;
			d->cred_key = cr.key;
			d->cred_secret = cr.secret;
			d->cred_token = cr.token;
			if (asprintf(&d->cred_origin, "%s [%s]", path,
			    profile) == -1)
				fatal("asprintf");
			explicit_bzero(buf, len);
			free(buf);
			free(path);
			return;
		}
		explicit_bzero(buf, len);
		free(buf);
		if (env_nonempty("AWS_PROFILE") != NULL)
			conf_warning_at(c, node, "datasource '%s': profile "
			    "'%s' has no credentials in %s", dsname,
			    conf_show(profile, strlen(profile), sb,
			    sizeof(sb)), path);
	}
	free(path);
	if ((v = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) !=
	    NULL || (v = env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI")) !=
	    NULL) {
		if (getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL &&
		    *getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != '\0') {
			if (asprintf(&d->container_url, "%s%s%s",
			    CONF_S3_CONTAINER_HOST, *v == '/' ? "" : "/", v) ==
			    -1)
				fatal("asprintf");
		} else if (!container_host_ok(v)) {
			conf_error_at(c, node, "datasource '%s': "
			    "AWS_CONTAINER_CREDENTIALS_FULL_URI must name a "
			    "loopback or container-agent host", dsname);
			return;
		} else
			d->container_url = conf_xstrdup(v);
		if ((tokfile = env_nonempty(
		    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) != NULL) {
			if (read_blob(tokfile, 16384, &buf, &len, why,
			    sizeof(why)) == -1) {
				conf_error_at(c, node, "datasource '%s': "
				    "cannot read AWS_CONTAINER_AUTHORIZATION_"
				    "TOKEN_FILE '%s': %s", dsname,
				    conf_show(tokfile, strlen(tokfile), sb,
				    sizeof(sb)), why);
				return;
			}
			while (len > 0 && (buf[len - 1] == '\n' ||
			    buf[len - 1] == '\r'))
				buf[--len] = '\0';
			d->container_token = buf;
		} else if ((v = env_nonempty(
		    "AWS_CONTAINER_AUTHORIZATION_TOKEN")) != NULL)
			d->container_token = conf_xstrdup(v);
		d->cred = CONF_S3_CRED_CONTAINER;
		d->cred_origin = conf_xstrdup("container credentials");
		return;
	}
	if ((v = getenv("AWS_EC2_METADATA_DISABLED")) != NULL &&
	    strcasecmp(v, "true") == 0) {
		conf_error_at(c, node, "datasource '%s': no credentials "
		    "(not configured, none in the environment or the shared "
		    "credentials file, no container credentials, and "
		    "AWS_EC2_METADATA_DISABLED is set)", dsname);
		return;
	}
	d->cred = CONF_S3_CRED_IMDS;
	v = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	d->imds_endpoint = conf_xstrdup(v ? v : CONF_S3_IMDS_ENDPOINT);
	len = strlen(d->imds_endpoint);
	while (len > 0 && d->imds_endpoint[len - 1] == '/')
		d->imds_endpoint[--len] = '\0';
	if (strncmp(d->imds_endpoint, "http://", 7) != 0 &&
	    strncmp(d->imds_endpoint, "https://", 8) != 0)
		conf_error_at(c, node, "datasource '%s': "
		    "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http:// URL",
		    dsname);
	d->cred_origin = conf_xstrdup("instance metadata (IMDSv2)");
}

static void
s3_ds_init(void *p)
{
	struct conf_s3_ds *d = p;

	d->path_style = -1;
}

static void
s3_ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given, struct conf_mark node)
{
	struct conf_s3_ds *d = ds->kconf;
	const char *v;

	if (d->region == NULL) {
		if ((v = env_nonempty("AWS_REGION")) == NULL)
			v = env_nonempty("AWS_DEFAULT_REGION");
		if (v != NULL && !region_ok(v)) {
			conf_error_at(c, node, "datasource '%s': AWS_REGION / "
			    "AWS_DEFAULT_REGION is not a region name",
			    ds->name);
			v = NULL;
		}
		d->region = conf_xstrdup(v ? v : CONF_S3_DEFAULT_REGION);
	}
	if (d->endpoint == NULL &&
	    asprintf(&d->endpoint, "https://s3.%s.amazonaws.com", d->region) ==
	    -1)
		fatal("asprintf");
	if (d->path_style == -1)
		d->path_style = d->endpoint_given;
	if (d->max_object_bytes == 0)	/* h_size caps it at 1 GiB */
		d->max_object_bytes = CONF_S3_DEFAULT_MAX_OBJECT;
	if (GIVEN("access_key_id") != GIVEN("secret_access_key")) {
		conf_error_at(c, GIVEN("access_key_id") ?
		    GIVEN_K("access_key_id") : GIVEN_K("secret_access_key"),
		    "%s: access_key_id and secret_access_key go together",
		    GIVEN("access_key_id") ? "access_key_id" :
		    "secret_access_key");
		return;
	}
	if (GIVEN("session_token") && !GIVEN("access_key_id")) {
		conf_error_at(c, GIVEN_K("session_token"), "session_token: "
		    "needs access_key_id and secret_access_key");
		return;
	}
	if (GIVEN("access_key_id")) {
		d->cred = CONF_S3_CRED_CONFIG;
		d->cred_origin = conf_xstrdup("the configuration");
		return;
	}
	s3_find_creds(c, d, node, ds->name);
}

static void
s3_ds_print(struct jbuf *b, const char *ind, const struct conf_datasource *ds)
{
	const struct conf_s3_ds *d = ds->kconf;

	kv_str(b, ind, "endpoint", d->endpoint);
	kv_str(b, ind, "region", d->region);
	kv_secret(b, ind, "access_key_id", &d->access_key_id);
	kv_secret(b, ind, "secret_access_key", &d->secret_access_key);
	kv_secret(b, ind, "session_token", &d->session_token);
	kv_bool(b, ind, "path_style", d->path_style);
	kv_str(b, ind, "ca_file", d->ca_file);
	kv_size(b, ind, "max_object_bytes", d->max_object_bytes);
}

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
s3_ds_free(void *p)
{
	struct conf_s3_ds *d = p;

	free(d->endpoint);
	free(d->region);
	conf_secret_free(&d->access_key_id);
	conf_secret_free(&d->secret_access_key);
	conf_secret_free(&d->session_token);
	free(d->ca_file);
	wipe_free(d->cred_key);
	wipe_free(d->cred_secret);
	wipe_free(d->cred_token);
	free(d->cred_origin);
	free(d->container_url);
	wipe_free(d->container_token);
	free(d->imds_endpoint);
}

static int
s3_ds_pack(void **out, size_t *outlen, const struct conf_datasource *ds)
{
	const struct conf_s3_ds *d = ds->kconf;
	struct ipc_s3_settings s;

	memset(&s, 0, sizeof(s));
	s.endpoint = d->endpoint;
	s.region = d->region;
	s.path_style = d->path_style;
	s.ca_file = d->ca_file;
	s.max_object_bytes = d->max_object_bytes;
	s.cred_origin = d->cred_origin;
	switch (d->cred) {
	case CONF_S3_CRED_CONFIG:
		s.cred_source = IPC_S3_CRED_STATIC;
		s.access_key_id = d->access_key_id.value;
		s.secret_access_key = d->secret_access_key.value;
		s.session_token = d->session_token.value;
		break;
	case CONF_S3_CRED_ENV:
	case CONF_S3_CRED_FILE:
		s.cred_source = IPC_S3_CRED_STATIC;
		s.access_key_id = d->cred_key;
		s.secret_access_key = d->cred_secret;
		s.session_token = d->cred_token;
		break;
	case CONF_S3_CRED_CONTAINER:
		s.cred_source = IPC_S3_CRED_CONTAINER;
		s.container_url = d->container_url;
		s.container_token = d->container_token;
		break;
	case CONF_S3_CRED_IMDS:
		s.cred_source = IPC_S3_CRED_IMDS;
		s.imds_endpoint = d->imds_endpoint;
		break;
	}
	return ipc_s3_settings_pack(out, outlen, &s);
}

static void
s3_rule_print(struct jbuf *b, const char *ind, const void *p, int own)
{
	const struct conf_s3_rule *r = p;

	kv_str(b, ind, "s3_bucket", r->s3_bucket);
	kv_str(b, ind, "s3_key_prefix", r->s3_key_prefix);
	kv_layout_bool(b, ind, "s3_one_file_per_key", r->s3_one_file_per_key,
	    0, own);
}

static void
s3_rule_free(void *p)
{
	struct conf_s3_rule *r = p;

	free(r->s3_bucket);
	free(r->s3_key_prefix);
}

static int
s3_layout(struct conf_layout *out, const struct conf_rule *cr, const void *p,
    const struct conf_datasource *ds, char *err, size_t errlen,
    const char **key)
{
	const struct conf_s3_rule *r = p;
	struct ipc_s3_scope scope;
	char *prefix;

	*key = NULL;
	if (r->s3_bucket == NULL) {
		snprintf(err, errlen, "missing required key 's3_bucket' for "
		    "s3 datasource '%s'", ds->name);
		return -1;
	}
	*key = cr->destination_template != NULL ? "destination_template" :
	    r->s3_key_prefix != NULL ? "s3_key_prefix" : NULL;
	if (conf_s3_prefix(&prefix, cr->destination_template,
	    r->s3_key_prefix, cr->tenant_id, out->env, err, errlen) == -1)
		return -1;
	if (asprintf(&out->target, "s3://%s/%s%s%s", r->s3_bucket, prefix,
	    *prefix != '\0' ? "/" : "", r->s3_one_file_per_key ? "" :
	    "config.json") == -1)
		fatal("asprintf");
	out->marker = conf_xstrdup(CONF_S3_MARKER_TAG);
	out->key_format = conf_layout_key_format(cr, "dot");
	out->key_prefix = conf_xstrdup("");
	out->detect_extra = 1;
	memset(&scope, 0, sizeof(scope));
	scope.bucket = r->s3_bucket;
	scope.prefix = prefix;
	scope.one_file_per_key = r->s3_one_file_per_key;
	if (ipc_s3_scope_pack(&out->scope, &out->scope_len, &scope) == -1)
		fatal("%s: pack", __func__);
	free(prefix);
	return 0;
}

const struct ds_kind ds_kind_s3 = {
	.name = "s3",
	.worker = "s3",
	.ds_size = sizeof(struct conf_s3_ds),
	.ds_keys = &ds_tab,
	.rule_size = sizeof(struct conf_s3_rule),
	.rule_keys = &rule_tab,
	.key_formats = key_formats,
	.ds_init = s3_ds_init,
	.ds_finish = s3_ds_finish,
	.ds_print = s3_ds_print,
	.ds_free = s3_ds_free,
	.ds_pack = s3_ds_pack,
	.rule_print = s3_rule_print,
	.rule_free = s3_rule_free,
	.layout = s3_layout,
};
