/*
 * The canonical configuration as YAML that conf_load() accepts again
 * (vartrack-watcher -n -v, golden tests). Every value is resolved: defaults
 * are written out, rule names and files are explicit. Secrets are printed as
 * their reference; a literal secret as "<redacted>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "conf_keys.h"
#include "kinds.h"
#include "log.h"
#include "redact.h"

/* A YAML double-quoted scalar; only characters YAML may not carry raw are
 * escaped (the input of conf_load() is valid UTF-8, so is this). The
 * userinfo of a URL in it is "<redacted>" (redact.h rule 5). */
static void
yq(struct jbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[16], *red = NULL;
	size_t rlen;

	switch (redact_url_userinfo(s, strlen(s), 0, &red, &rlen)) {
	case -1:
		fatalx("%s: out of memory", __func__);
	case 1:
		p = (const unsigned char *)red;
		break;
	}

	jbuf_raw(b, "\"", 1);
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			jbuf_raw(b, esc, 2);
		} else if (*p == '\n')
			jbuf_cat(b, "\\n");
		else if (*p == '\t')
			jbuf_cat(b, "\\t");
		else if (*p == '\r')
			jbuf_cat(b, "\\r");
		else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			jbuf_cat(b, esc);
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* C1 controls */
			snprintf(esc, sizeof(esc), "\\u%04x", p[1]);
			jbuf_cat(b, esc);
			p++;
		} else if (p[0] == 0xe2 && p[1] == 0x80 &&
		    (p[2] == 0xa8 || p[2] == 0xa9)) {
			/* line and paragraph separators */
			snprintf(esc, sizeof(esc), "\\u%04x",
			    0x2000 | (p[2] & 0x3f));
			jbuf_cat(b, esc);
			p += 2;
		} else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
			jbuf_cat(b, "\\ufeff");
			p += 2;
		} else
			jbuf_raw(b, (const char *)p, 1);
	}
	jbuf_raw(b, "\"", 1);
	free(red);
}

void
kv_str(struct jbuf *b, const char *ind, const char *key, const char *val)
{
	if (val == NULL)
		return;
	jbuf_printf(b, "%s%s: ", ind, key);
	yq(b, val);
	jbuf_cat(b, "\n");
}

void
kv_dur(struct jbuf *b, const char *ind, const char *key, uint64_t ms)
{
	char d[32];

	jbuf_printf(b, "%s%s: %s\n", ind, key,
	    conf_format_duration(d, sizeof(d), ms));
}

void
kv_bool(struct jbuf *b, const char *ind, const char *key, int v)
{
	jbuf_printf(b, "%s%s: %s\n", ind, key, v ? "true" : "false");
}

void
kv_uint(struct jbuf *b, const char *ind, const char *key, unsigned long long v)
{
	jbuf_printf(b, "%s%s: %llu\n", ind, key, v);
}

void
kv_list(struct jbuf *b, const char *ind, const char *key, char **v, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	jbuf_printf(b, "%s%s: [", ind, key);
	for (i = 0; i < n; i++) {
		if (i > 0)
			jbuf_cat(b, ", ");
		yq(b, v[i]);
	}
	jbuf_cat(b, "]\n");
}

static void
kv_map(struct jbuf *b, const char *ind, const char *key,
    const struct conf_pair *p, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	jbuf_printf(b, "%s%s:\n", ind, key);
	for (i = 0; i < n; i++) {
		jbuf_printf(b, "%s  ", ind);
		yq(b, p[i].key);
		jbuf_cat(b, ": ");
		yq(b, p[i].val);
		jbuf_cat(b, "\n");
	}
}

void
kv_secret(struct jbuf *b, const char *ind, const char *key,
    const struct conf_secret *s)
{
	switch (s->src) {
	case SECRET_NONE:
		return;
	case SECRET_LITERAL:
		jbuf_printf(b, "%s%s: \"<redacted>\"\n", ind, key);
		return;
	case SECRET_ENV:
	case SECRET_FILE:
		jbuf_printf(b, "%s%s: {%s: ", ind, key,
		    s->src == SECRET_ENV ? "env" : "file");
		yq(b, s->ref ? s->ref : "");
		jbuf_cat(b, "}\n");
		return;
	}
}

/* A size as conf_parse_size() reads it: the largest exact unit. */
void
kv_size(struct jbuf *b, const char *ind, const char *key, uint64_t n)
{
	if (n % (1024 * 1024 * 1024) == 0)
		jbuf_printf(b, "%s%s: %lluGiB\n", ind, key,
		    (unsigned long long)(n / (1024 * 1024 * 1024)));
	else if (n % (1024 * 1024) == 0)
		jbuf_printf(b, "%s%s: %lluMiB\n", ind, key,
		    (unsigned long long)(n / (1024 * 1024)));
	else if (n % 1024 == 0)
		jbuf_printf(b, "%s%s: %lluKiB\n", ind, key,
		    (unsigned long long)(n / 1024));
	else
		jbuf_printf(b, "%s%s: %llu\n", ind, key, (unsigned long long)n);
}

static void
print_datasource(struct jbuf *b, const struct conf_datasource *ds)
{
	const char *ind = "    ";

	jbuf_cat(b, "  - name: ");
	yq(b, ds->name ? ds->name : "");
	jbuf_cat(b, "\n");
	kv_str(b, ind, "type", ds->type);
	if (ds->kind != NULL && ds->kconf != NULL)
		ds->kind->ds_print(b, ind, ds);
	kv_dur(b, ind, "connect_timeout", ds->connect_timeout_ms);
	kv_dur(b, ind, "command_timeout", ds->command_timeout_ms);
	kv_uint(b, ind, "breaker_failures", ds->breaker_failures);
	kv_dur(b, ind, "breaker_backoff", ds->breaker_backoff_ms);
	kv_dur(b, ind, "breaker_max_backoff", ds->breaker_max_backoff_ms);
}

/* A layout bool: always for the rule's own sink, else when not default. */
void
kv_layout_bool(struct jbuf *b, const char *ind, const char *key, int v,
    int dflt, int own)
{
	if (own || v != dflt)
		kv_bool(b, ind, key, v);
}

static void
print_rule(struct jbuf *b, const struct vtw_conf *c, const struct conf_rule *r)
{
	const struct conf_datasource *ds = NULL;
	const struct ds_kind *own = NULL;
	const char *ind = "    ";
	size_t i;

	if (r->datasource != NULL &&
	    (ds = conf_datasource_byname(c, r->datasource)) != NULL)
		own = ds->kind;
	jbuf_cat(b, "  - name: ");
	yq(b, r->name ? r->name : "");
	jbuf_cat(b, "\n");
	kv_str(b, ind, "platform", r->platform);
	kv_str(b, ind, "datasource", r->datasource);
	kv_str(b, ind, "repo_url", r->repo_url);
	kv_str(b, ind, "branch", r->branch);
	kv_list(b, ind, "files", r->files, r->nfiles);
	kv_str(b, ind, "tenant_id", r->tenant_id);
	kv_str(b, ind, "env", r->env);
	kv_map(b, ind, "branch_map", r->branch_map, r->nbranch_map);
	kv_map(b, ind, "file_path_map", r->file_path_map, r->nfile_path_map);
	kv_bool(b, ind, "env_as_branch", r->env_as_branch);
	kv_bool(b, ind, "env_as_pr", r->env_as_pr);
	kv_bool(b, ind, "env_as_tags", r->env_as_tags);
	kv_bool(b, ind, "self_heal", r->self_heal);
	kv_bool(b, ind, "detect_extra", r->detect_extra);
	kv_str(b, ind, "root_key", r->root_key);
	kv_map(b, ind, "variables_map", r->variables_map, r->nvariables_map);
	kv_str(b, ind, "destination_template", r->destination_template);
	kv_str(b, ind, "key_format", r->key_format);
	for (i = 0; i < ds_kinds_count(); i++)
		if (r->klayout[i] != NULL)
			ds_kind_at(i)->rule_print(b, ind, r->klayout[i],
			    own == ds_kind_at(i));
	kv_list(b, ind, "sensitive_keys", r->sensitive_keys,
	    r->nsensitive_keys);
	if (r->poll_interval_ms != 0)
		kv_dur(b, ind, "poll_interval", r->poll_interval_ms);
	if (r->git_refresh_ms != 0)
		kv_dur(b, ind, "git_refresh_interval", r->git_refresh_ms);
	for (i = 0; i < r->nlayout_extra; i++) {
		if (r->layout_extra[i].compact)
			/* compact JSON is YAML flow as it stands */
			jbuf_printf(b, "%s%s: %s\n", ind,
			    r->layout_extra[i].key, r->layout_extra[i].val);
		else
			kv_str(b, ind, r->layout_extra[i].key,
			    r->layout_extra[i].val);
	}
}

int
conf_print(FILE *fp, const struct vtw_conf *c)
{
	struct jbuf b;
	const char *ind = "    ";
	size_t i;
	int rv = -1;

	jbuf_init(&b);
	jbuf_cat(&b, "# vartrack-watcher configuration, canonical form\n");
	jbuf_cat(&b, "watcher:\n");
	kv_dur(&b, "  ", "poll_interval", c->poll_interval_ms);
	kv_str(&b, "  ", "admin_addr", c->admin_addr);
	jbuf_cat(&b, "  orchestrator:\n");
	kv_str(&b, ind, "addr", c->orchestrator_addr);
	kv_dur(&b, ind, "heal_timeout", c->heal_timeout_ms);
	kv_dur(&b, ind, "retry_initial", c->retry_initial_ms);
	kv_dur(&b, ind, "retry_max", c->retry_max_ms);
	jbuf_printf(&b, "%sretry_attempts: %u\n", ind, c->retry_attempts);
	jbuf_printf(&b, "%sbreaker_failures: %u\n", ind, c->breaker_failures);
	kv_dur(&b, ind, "breaker_open", c->breaker_open_ms);
	jbuf_printf(&b, "%sflap_limit: %u\n", ind, c->flap_limit);
	kv_dur(&b, ind, "flap_holdoff", c->flap_holdoff_ms);
	kv_dur(&b, ind, "ping_interval", c->ping_interval_ms);
	kv_str(&b, "  ", "log_level", c->log_level);
	kv_str(&b, "  ", "app_env", c->app_env);
	if (c->tls_ca_file || c->tls_cert_file || c->tls_key_file) {
		jbuf_cat(&b, "  tls:\n");
		kv_str(&b, ind, "ca_file", c->tls_ca_file);
		kv_str(&b, ind, "cert_file", c->tls_cert_file);
		kv_str(&b, ind, "key_file", c->tls_key_file);
	}
	if (c->sandbox_user != NULL) {
		jbuf_cat(&b, "  sandbox:\n");
		kv_str(&b, ind, "user", c->sandbox_user);
	}
	if (c->ha.backend != HA_NONE) {
		const char *i3 = "      ";

		jbuf_cat(&b, "  ha:\n");
		kv_str(&b, ind, "backend", c->ha.backend == HA_REDIS ? "redis" :
		    "zookeeper");
		kv_str(&b, ind, "instance_id", c->ha.instance_id);
		kv_dur(&b, ind, "lease", c->ha.lease_ms);
		kv_dur(&b, ind, "renew_interval", c->ha.renew_interval_ms);
		kv_dur(&b, ind, "renew_deadline", c->ha.renew_deadline_ms);
		jbuf_cat(&b, "    redis:\n");
		kv_list(&b, i3, "hosts", c->ha.redis_hosts,
		    c->ha.nredis_hosts);
		kv_secret(&b, i3, "password", &c->ha.redis_password);
		kv_uint(&b, i3, "db", (unsigned long long)c->ha.redis_db);
		kv_str(&b, i3, "key", c->ha.redis_key);
		kv_uint(&b, i3, "state_db",
		    (unsigned long long)c->ha.redis_state_db);
		if (c->ha.backend == HA_ZOOKEEPER) {
			jbuf_cat(&b, "    zookeeper:\n");
			kv_list(&b, i3, "hosts", c->ha.zk_hosts,
			    c->ha.nzk_hosts);
			kv_str(&b, i3, "path", c->ha.zk_path);
			if (c->ha.zk_session_timeout_ms != 0)
				kv_dur(&b, i3, "session_timeout",
				    c->ha.zk_session_timeout_ms);
		}
		kv_str(&b, ind, "state", c->ha.state_redis ? "redis" : "none");
		kv_bool(&b, ind, "standbys_poll", c->ha.standbys_poll);
	}
	for (i = 0; i < WEBHOOK__COUNT; i++)
		if (c->webhooks.secret[i].src != SECRET_NONE)
			break;
	if (i < WEBHOOK__COUNT) {
		jbuf_cat(&b, "  webhooks:\n");
		for (i = 0; i < WEBHOOK__COUNT; i++) {
			if (c->webhooks.secret[i].src == SECRET_NONE)
				continue;
			jbuf_printf(&b, "%s%s:\n", ind,
			    conf_webhook_name((enum conf_webhook_provider)i));
			kv_secret(&b, "      ", "secret",
			    &c->webhooks.secret[i]);
		}
	}
	kv_str(&b, "  ", "cache_dir", c->cache_dir);
	if (c->git_max_parallel != CONF_DEFAULT_GIT_PARALLEL ||
	    c->git_fetch_timeout_ms != CONF_DEFAULT_GIT_FETCH_TIMEOUT_MS) {
		jbuf_cat(&b, "  git:\n");
		jbuf_printf(&b, "%smax_parallel_fetches: %u\n", ind,
		    c->git_max_parallel);
		kv_dur(&b, ind, "fetch_timeout", c->git_fetch_timeout_ms);
	}
	kv_str(&b, "  ", "worker_dir", c->worker_dir);

	jbuf_cat(&b, c->nplatforms ? "platforms:\n" : "platforms: []\n");
	for (i = 0; i < c->nplatforms; i++) {
		jbuf_cat(&b, "  - name: ");
		yq(&b, c->platforms[i].name ? c->platforms[i].name : "");
		jbuf_cat(&b, "\n");
		kv_str(&b, ind, "type", c->platforms[i].type);
		kv_str(&b, ind, "endpoint", c->platforms[i].endpoint);
		kv_str(&b, ind, "org_name", c->platforms[i].org_name);
		kv_secret(&b, ind, "token", &c->platforms[i].token);
	}

	jbuf_cat(&b, c->ndatasources ? "datasources:\n" : "datasources: []\n");
	for (i = 0; i < c->ndatasources; i++)
		print_datasource(&b, &c->datasources[i]);

	jbuf_cat(&b, c->nrules ? "rules:\n" : "rules: []\n");
	for (i = 0; i < c->nrules; i++)
		print_rule(&b, c, &c->rules[i]);

	if (b.oom)
		fatalx("%s: out of memory", __func__);
	if (fwrite(b.p, 1, b.len, fp) != b.len || fflush(fp) == EOF)
		goto cleanup;
	rv = 0;
 cleanup:
	jbuf_free(&b);
	return rv;
}

/* One entry in its canonical form, as conf_print writes it. */
static char *
canon_end(struct jbuf *b)
{
	if (b->oom || b->p == NULL)
		fatalx("conf canonical form: out of memory");
	return b->p;
}

char *
conf_rule_canon(const struct vtw_conf *c, const struct conf_rule *r)
{
	struct jbuf b;

	jbuf_init(&b);
	print_rule(&b, c, r);
	return canon_end(&b);
}

char *
conf_datasource_canon(const struct conf_datasource *ds)
{
	struct jbuf b;

	jbuf_init(&b);
	print_datasource(&b, ds);
	return canon_end(&b);
}
