/*
 * The vercel kind (interop §3.7; spec/backends-http-ha.md §4): an API URL,
 * a bearer token and a team scope; a rule's values are the environment
 * variables of vercel_project_id with the rule's targets (vercel_targets,
 * default ["production"] when the env is production, else ["preview"]),
 * of type sensitive for keys matching vercel_sensitive_keys, else plain.
 *
 * Vercel values are secrets by default: a Vercel rule's drift lines show
 * "<redacted>" for every value but those of the keys show_values lists
 * (conf_rule.redact_values, supervisor/diff.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_keys.h"
#include "kinds.h"
#include "kinds/vercel.h"
#include "vercel_conf.h"

#define D(f)	offsetof(struct conf_vercel_ds, f)
#define R(f)	offsetof(struct conf_vercel_rule, f)

/* A team id or slug: goes in the query string, so [A-Za-z0-9._-] only. */
static void
h_team(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s, *p;
	char sb[128];

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' &&
		    *p != '.')
			break;
	if (*s == '\0' || *p != '\0' || strlen(s) > 256) {
		conf_error_at(c, v->mark, "%s: '%s' is not a team id or slug "
		    "(letters, digits, '_', '-' and '.')", kd->name,
		    SHOW(v, sb));
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
}

int
conf_vercel_project_check(const char *s, char *why, size_t whylen)
{
	const char *p;

	if (*s == '\0' || strlen(s) > CONF_VERCEL_PROJECT_MAX) {
		snprintf(why, whylen, "1 to %d characters",
		    CONF_VERCEL_PROJECT_MAX);
		return -1;
	}
	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' &&
		    *p != '.') {
			snprintf(why, whylen, "only letters, digits, '_', '-' "
			    "and '.'");
			return -1;
		}
	return 0;
}

int
conf_vercel_target_ok(const char *s)
{
	return strcmp(s, "production") == 0 || strcmp(s, "preview") == 0 ||
	    strcmp(s, "development") == 0;
}

static void
h_project(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char sb[128], why[128];

	if ((s = want_string(c, kd->name, v, "a project id or name")) == NULL)
		return;
	if (conf_vercel_project_check(s, why, sizeof(why)) == -1) {
		conf_error_at(c, v->mark, "%s: '%s' is not a project id or "
		    "name (%s)", kd->name, SHOW(v, sb), why);
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
}

/* kd->off: char **, kd->noff: size_t. A list of strings (a single string
 * is a list of one, as the orchestrator's Python would take it); kd->arg
 * non-NULL: each a Vercel target, no duplicates, at least one. */
static void
h_list(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	char ***list = FIELD(obj, kd->off, char **);
	size_t *n = FIELD(obj, kd->noff, size_t), i, j, nk;
	const struct yn *const *kids;
	const struct yn *one[1];
	const char *s;
	char name[96], sb[128];
	int targets = kd->arg != NULL;

	if (v->type == YN_SCALAR) {
		one[0] = v;
		kids = one;
		nk = 1;
	} else if (v->type == YN_SEQ) {
		kids = (const struct yn *const *)v->kids;
		nk = v->nkids;
	} else {
		conf_error_at(c, v->mark, "%s: expected a list of strings, "
		    "got %s", kd->name, yn_kind(v));
		return;
	}
	conf_strv_free(*list, *n);
	*list = NULL;
	*n = 0;
	if (kd->noff == R(nshow_values))
		FIELD(obj, R(show_values_given), int)[0] = 1;
	if (targets && nk == 0) {
		conf_error_at(c, v->mark, "%s: must name at least one target "
		    "(production, preview, development)", kd->name);
		return;
	}
	for (i = 0; i < nk; i++) {
		snprintf(name, sizeof(name), "%s[%zu]", kd->name, i);
		if ((s = want_string(c, name, kids[i], "a string")) == NULL)
			continue;
		if (targets && !conf_vercel_target_ok(s)) {
			conf_error_at(c, kids[i]->mark, "%s: '%s' is not a "
			    "Vercel target (production, preview, development)",
			    name, SHOW(kids[i], sb));
			continue;
		}
		for (j = 0; targets && j < *n; j++)
			if (strcmp((*list)[j], s) == 0)
				break;
		if (targets && j < *n) {
			conf_error_at(c, kids[i]->mark, "%s: '%s' given twice",
			    name, SHOW(kids[i], sb));
			continue;
		}
		if (*s == '\0') {
			conf_error_at(c, kids[i]->mark, "%s: must not be empty",
			    name);
			continue;
		}
		conf_strv_push(list, n, s);
	}
}

static const struct keydef ds_keys[] = {
	{ "api_url", h_http_url, D(api_url), 0, NULL },
	{ "ca_file", h_abs_path, D(ca_file), 0, NULL },
	{ "max_response_bytes", h_size, D(max_response_bytes), 0, NULL },
	{ "team_id", h_team, D(team_id), 0, NULL },
	{ "team_slug", h_team, D(team_slug), 0, NULL },
	{ "token", h_secret, D(token), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};
#define GIVEN(key)	GIVEN_IN(&ds_tab, given, (key))
#define GIVEN_K(key)	(conf_given(&ds_tab, given, (key))->k)

static const struct keydef rule_keys[] = {
	{ "show_values", h_list, R(show_values), R(nshow_values), NULL },
	{ "vercel_api_url", h_rule_conn, 0, 0, NULL },
	{ "vercel_project_id", h_project, R(project_id), 0, NULL },
	{ "vercel_sensitive_keys", h_list, R(sensitive_keys), R(nsensitive),
	    NULL },
	{ "vercel_targets", h_list, R(targets), R(ntargets), "targets" },
	{ "vercel_team_id", h_rule_conn, 0, 0, NULL },
	{ "vercel_token", h_rule_conn, 0, 0, NULL },
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

static const char *const key_formats[] = { "dot", NULL };

static void
vercel_ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given, struct conf_mark node)
{
	struct conf_vercel_ds *d = ds->kconf;

	if (d->api_url == NULL)
		d->api_url = conf_xstrdup(CONF_VERCEL_DEFAULT_API_URL);
	if (d->max_response_bytes == 0)	/* h_size caps it at 1 GiB */
		d->max_response_bytes = CONF_VERCEL_DEFAULT_MAX_RESPONSE;
	if (!GIVEN("token"))
		conf_error_at(c, node, "missing required key 'token' in "
		    "datasource '%s' (a Vercel access token: {env: NAME} or "
		    "{file: PATH})", ds->name);
	else if (d->token.value != NULL && *d->token.value == '\0')
		conf_error_at(c, GIVEN_K("token"), "token: the token of "
		    "datasource '%s' is empty", ds->name);
	if (GIVEN("team_id") && GIVEN("team_slug"))
		conf_error_at(c, GIVEN_K("team_slug"), "team_slug: give "
		    "either team_id or team_slug, not both");
}

static void
vercel_ds_print(struct jbuf *b, const char *ind,
    const struct conf_datasource *ds)
{
	const struct conf_vercel_ds *d = ds->kconf;

	kv_str(b, ind, "api_url", d->api_url);
	kv_secret(b, ind, "token", &d->token);
	kv_str(b, ind, "team_id", d->team_id);
	kv_str(b, ind, "team_slug", d->team_slug);
	kv_str(b, ind, "ca_file", d->ca_file);
	kv_size(b, ind, "max_response_bytes", d->max_response_bytes);
}

static void
vercel_ds_free(void *p)
{
	struct conf_vercel_ds *d = p;

	free(d->api_url);
	conf_secret_free(&d->token);
	free(d->team_id);
	free(d->team_slug);
	free(d->ca_file);
}

static int
vercel_ds_pack(void **out, size_t *outlen, const struct conf_datasource *ds)
{
	const struct conf_vercel_ds *d = ds->kconf;
	struct ipc_vercel_settings s;

	memset(&s, 0, sizeof(s));
	s.api_url = d->api_url;
	s.token = d->token.value;
	s.team_id = d->team_id;
	s.team_slug = d->team_slug;
	s.ca_file = d->ca_file;
	s.max_response_bytes = d->max_response_bytes;
	return ipc_vercel_settings_pack(out, outlen, &s);
}

/* The rule's values are secrets unless show_values lists them; the keys
 * Git writes as sensitive are secret whatever show_values says. */
static void
vercel_rule_finish(struct conf_rule *r, void *p,
    const struct conf_datasource *ds)
{
	struct conf_vercel_rule *v = p;
	size_t i;

	r->redact_values = 1;
	conf_strv_free(r->show_values, r->nshow_values);
	r->show_values = NULL;
	r->nshow_values = 0;
	for (i = 0; i < v->nshow_values; i++)
		conf_strv_push(&r->show_values, &r->nshow_values,
		    v->show_values[i]);
	/* once each: the printed form lists them under sensitive_keys too,
	 * and loading it again must not double them */
	for (i = 0; i < v->nsensitive; i++) {
		size_t j;

		for (j = 0; j < r->nsensitive_keys; j++)
			if (strcmp(r->sensitive_keys[j],
			    v->sensitive_keys[i]) == 0)
				break;
		if (j == r->nsensitive_keys)
			conf_strv_push(&r->sensitive_keys, &r->nsensitive_keys,
			    v->sensitive_keys[i]);
	}
}

static void
vercel_rule_print(struct jbuf *b, const char *ind, const void *p, int own)
{
	const struct conf_vercel_rule *r = p;

	kv_str(b, ind, "vercel_project_id", r->project_id);
	kv_list(b, ind, "vercel_targets", r->targets, r->ntargets);
	kv_list(b, ind, "vercel_sensitive_keys", r->sensitive_keys,
	    r->nsensitive);
	kv_list(b, ind, "show_values", r->show_values, r->nshow_values);
}

static void
vercel_rule_free(void *p)
{
	struct conf_vercel_rule *r = p;

	free(r->project_id);
	conf_strv_free(r->targets, r->ntargets);
	conf_strv_free(r->sensitive_keys, r->nsensitive);
	conf_strv_free(r->show_values, r->nshow_values);
}

static int
vercel_layout(struct conf_layout *out, const struct conf_rule *cr,
    const void *p, const struct conf_datasource *ds, char *err,
    size_t errlen, const char **key)
{
	const struct conf_vercel_rule *r = p;
	struct ipc_vercel_scope scope;
	const char *dflt[1];
	const char *const *t;
	size_t nt, i, off;
	char tl[64];

	*key = NULL;
	if (r->project_id == NULL) {
		snprintf(err, errlen, "missing required key "
		    "'vercel_project_id' for vercel datasource '%s'",
		    ds->name);
		return -1;
	}
	if (r->ntargets > 0) {
		t = (const char *const *)r->targets;
		nt = r->ntargets;
	} else {
		/* interop §3.7: production, else preview */
		dflt[0] = strcmp(out->env, "production") == 0 ? "production" :
		    "preview";
		t = dflt;
		nt = 1;
	}
	for (i = off = 0, tl[0] = '\0'; i < nt && off < sizeof(tl); i++)
		off += (size_t)snprintf(tl + off, sizeof(tl) - off, "%s%s",
		    i ? "," : "", t[i]);
	if (asprintf(&out->target, "vercel:%s:%s", r->project_id, tl) == -1)
		fatal("asprintf");
	out->marker = conf_xstrdup(CONF_VERCEL_MARKER);
	out->key_format = conf_layout_key_format(cr, "dot");
	out->key_prefix = conf_xstrdup("");
	out->detect_extra = 1;
	memset(&scope, 0, sizeof(scope));
	scope.project_id = r->project_id;
	scope.targets = t;
	scope.ntargets = nt;
	scope.sensitive_keys = (const char *const *)r->sensitive_keys;
	scope.nsensitive = r->nsensitive;
	if (ipc_vercel_scope_pack(&out->scope, &out->scope_len, &scope) == -1)
		fatal("%s: pack", __func__);
	return 0;
}

const struct ds_kind ds_kind_vercel = {
	.name = "vercel",
	.worker = "vercel",
	.ds_size = sizeof(struct conf_vercel_ds),
	.ds_keys = &ds_tab,
	.rule_size = sizeof(struct conf_vercel_rule),
	.rule_keys = &rule_tab,
	.key_formats = key_formats,
	.ds_finish = vercel_ds_finish,
	.ds_print = vercel_ds_print,
	.ds_free = vercel_ds_free,
	.ds_pack = vercel_ds_pack,
	.rule_finish = vercel_rule_finish,
	.rule_print = vercel_rule_print,
	.rule_free = vercel_rule_free,
	.layout = vercel_layout,
};
