/*
 * Checks that need the whole file: rules against platforms and datasources,
 * key formats against the sink, rule names, and the files of rules that
 * only give a file_path_map (interop §7.1).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "digest.h"
#include "conf_int.h"
#include "conf_keys.h"
#include "kinds.h"
#include "kvmap.h"
#include "log.h"

static void
check_ref(struct conf_ctx *c, const struct conf_rule *r, const char *what,
    const char *val, struct conf_mark keym, const char *const *names,
    size_t n, int found)
{
	struct conf_mark rm = { r->line, r->col };
	const char *sugg;

	if (val == NULL) {
		conf_error_at(c, rm, "missing required key '%s' in rule", what);
		return;
	}
	if (found)
		return;
	if ((sugg = conf_suggest(val, names, n)) != NULL)
		conf_error_at(c, keym, "undefined %s '%s'; did you mean '%s'?",
		    what, val, sugg);
	else if (n == 0)
		conf_error_at(c, keym, "undefined %s '%s' (no %ss are defined)",
		    what, val, what);
	else
		conf_error_at(c, keym, "undefined %s '%s'", what, val);
}

/* 1 when the table has key */
static int
bsearch_key(const struct keytab *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->keys[i].name, key) == 0)
			return 1;
	return 0;
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* file_path_map without file_name: its distinct values, sorted (§7.1). */
static void
files_from_map(struct conf_ctx *c, struct conf_rule *r)
{
	struct conf_mark rm = { r->line, r->col };
	size_t i, j;

	for (i = 0; i < r->nfile_path_map; i++)
		conf_strv_push(&r->files, &r->nfiles, r->file_path_map[i].val);
	qsort(r->files, r->nfiles, sizeof(*r->files), strp_cmp);
	for (i = j = 0; i < r->nfiles; i++) {
		if (j > 0 && strcmp(r->files[j - 1], r->files[i]) == 0) {
			free(r->files[i]);
			continue;
		}
		r->files[j++] = r->files[i];
	}
	r->nfiles = j;
	for (i = 0; i < r->nfiles; i++)
		if (r->files[i][0] == '\0' || r->files[i][0] == '/' ||
		    strcmp(r->files[i], "..") == 0 ||
		    strncmp(r->files[i], "../", 3) == 0 ||
		    strstr(r->files[i], "/../") != NULL ||
		    (strlen(r->files[i]) >= 3 && strcmp(r->files[i] +
		    strlen(r->files[i]) - 3, "/..") == 0))
			conf_error_at(c, rm, "file_path_map: '%s' is not a "
			    "path relative to the repository root",
			    r->files[i]);
}

static void
check_rule(struct conf_ctx *c, struct conf_rule *r, struct conf_rule_aux *a,
    const char **pnames, const char **dnames)
{
	struct vtw_conf *conf = c->conf;
	struct conf_mark rm = { r->line, r->col };
	const struct conf_datasource *ds = NULL;
	const struct ds_kind *k;
	const char *const *fmts;
	char allowed[64];
	size_t i, off;

	check_ref(c, r, "platform", r->platform, a->platform_key, pnames,
	    conf->nplatforms, r->platform != NULL &&
	    conf_platform_byname(conf, r->platform) != NULL);
	if (r->datasource != NULL)
		ds = conf_datasource_byname(conf, r->datasource);
	check_ref(c, r, "datasource", r->datasource, a->datasource_key,
	    dnames, conf->ndatasources, ds != NULL);
	if (r->repo_url == NULL || r->repo_url[0] == '\0')
		conf_error_at(c, rm, "missing required key 'repo_url' in rule");
	if (!a->has_file_name && !a->has_files) {
		if (r->nfile_path_map > 0)
			files_from_map(c, r);
		else
			conf_error_at(c, rm, "missing required key 'file_name' "
			    "(or 'files' or 'file_path_map') in rule");
	}
	if (ds == NULL || ds->kind == NULL)
		return;
	k = ds->kind;
	i = ds_kind_index(k);
	/* the rule's own kind has its struct, defaults included */
	if (r->klayout[i] == NULL) {
		r->klayout[i] = conf_xcalloc(1, k->rule_size);
		if (k->rule_init != NULL)
			k->rule_init(r->klayout[i]);
		a->kgiven[i] = conf_xcalloc(k->rule_keys->n ?
		    k->rule_keys->n : 1, sizeof(*a->kgiven[i]));
	}
	if (k->rule_finish != NULL)
		k->rule_finish(r, r->klayout[i], ds);
	if (r->key_format != NULL) {
		fmts = k->key_formats;
		for (i = 0; fmts[i] != NULL; i++)
			if (strcmp(fmts[i], r->key_format) == 0)
				break;
		if (fmts[i] == NULL) {
			allowed[0] = '\0';
			for (i = off = 0; fmts[i] != NULL &&
			    off < sizeof(allowed); i++)
				off += (size_t)snprintf(allowed + off,
				    sizeof(allowed) - off, "%s%s",
				    i ? ", " : "", fmts[i]);
			conf_error_at(c, a->key_format, "key_format: '%s' is "
			    "not allowed for %s (allowed: %s)", r->key_format,
			    ds->type, allowed);
		}
	}
}

/* The env of a rule, as the orchestrator resolves it (interop §7.4):
 * explicit env, then branch_map[branch], then file_path_map[first file],
 * then env_as_branch -> branch, else "default". A map keeps its last. */
static const char *
pairs_get(const struct conf_pair *v, size_t n, const char *key, int *found)
{
	const char *r = NULL;
	size_t i;

	*found = 0;
	for (i = 0; i < n; i++)
		if (strcmp(v[i].key, key) == 0) {
			r = v[i].val;
			*found = 1;
		}
	return r;
}

static const char *
conf_rule_env(const struct conf_rule *r)
{
	const char *v, *file = r->nfiles ? r->files[0] : "";
	int found;

	if (r->env != NULL && *r->env != '\0')
		return r->env;
	if (r->branch != NULL && *r->branch != '\0') {
		v = pairs_get(r->branch_map, r->nbranch_map, r->branch, &found);
		if (found)
			return v;
	}
	if (*file != '\0') {
		v = pairs_get(r->file_path_map, r->nfile_path_map, file,
		    &found);
		if (found)
			return v;
	}
	if (r->env_as_branch && r->branch != NULL && *r->branch != '\0')
		return r->branch;
	return "default";
}

/*
 * Where the orchestrator wrote each rule (its kind's layout), so that -n
 * refuses what the daemon would refuse at start. Only once the file is
 * otherwise clean: a layout of a broken rule says nothing new.
 */
static void
layout_rules(struct conf_ctx *c)
{
	struct vtw_conf *conf = c->conf;
	const struct conf_datasource *ds;
	const struct ds_kind *k;
	struct conf_rule *r;
	struct conf_rule_aux *a;
	struct conf_mark m;
	const char *key;
	char err[256];
	size_t i, ki;

	for (i = 0; i < conf->nrules; i++) {
		r = &conf->rules[i];
		a = &c->raux[i];
		if (r->datasource == NULL || (ds = conf_datasource_byname(conf,
		    r->datasource)) == NULL || (k = ds->kind) == NULL)
			continue;
		ki = ds_kind_index(k);
		conf_layout_free(&r->layout);
		r->layout.env = conf_xstrdup(conf_rule_env(r));
		key = NULL;
		if (k->layout(&r->layout, r, r->klayout[ki], ds, err,
		    sizeof(err), &key) == 0)
			continue;
		m.line = r->line;
		m.col = r->col;
		if (key != NULL && strcmp(key, "destination_template") == 0 &&
		    a->destination_template.line != 0)
			m = a->destination_template;
		else if (key != NULL && a->kgiven[ki] != NULL &&
		    bsearch_key(k->rule_keys, key) &&
		    GIVEN_IN(k->rule_keys, a->kgiven[ki], key))
			m = conf_given(k->rule_keys, a->kgiven[ki], key)->v;
		conf_error_at(c, m, "rule '%s': %s", r->name, err);
	}
}

/*
 * The rules' given values of a string key (the field at off in conf_rule;
 * given when the int at has in its aux, marked at mark) must be unique:
 * the map of them, each to where it is, for the defaults to avoid.
 */
static struct kvmap *
given_unique(struct conf_ctx *c, const char *what, size_t off, size_t has,
    size_t mark)
{
	struct kvmap *seen;
	const struct kv_entry *e;
	const struct conf_mark *m;
	const char *v;
	char pos[32];
	size_t i;

	if ((seen = kvmap_new()) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < c->conf->nrules; i++) {
		if (!*(const int *)((const char *)&c->raux[i] + has))
			continue;
		v = *(char **)((char *)&c->conf->rules[i] + off);
		m = (const struct conf_mark *)((const char *)&c->raux[i] +
		    mark);
		if ((e = kvmap_gets(seen, v)) != NULL) {
			conf_error_at(c, *m, "duplicate rule %s '%s' (first at "
			    "%s)", what, v, e->val);
			continue;
		}
		snprintf(pos, sizeof(pos), "%d:%d", m->line, m->col);
		if (kvmap_puts(seen, v, pos) == -1)
			fatal("%s", __func__);
	}
	return seen;
}

/* Given names must be unique; default names get "#2", "#3", ... */
static void
name_rules(struct conf_ctx *c)
{
	struct vtw_conf *conf = c->conf;
	struct conf_rule *r;
	struct kvmap *names;
	char *base, *cand;
	size_t i, len;
	unsigned int n;

	names = given_unique(c, "name", offsetof(struct conf_rule, name),
	    offsetof(struct conf_rule_aux, has_name),
	    offsetof(struct conf_rule_aux, name));
	for (i = 0; i < conf->nrules; i++) {
		r = &conf->rules[i];
		if (c->raux[i].has_name)
			continue;
		len = strlen(r->datasource ? r->datasource : "?") +
		    strlen(r->nfiles ? r->files[0] : "?") + 2;
		base = conf_xcalloc(1, len);
		snprintf(base, len, "%s:%s", r->datasource ? r->datasource :
		    "?", r->nfiles ? r->files[0] : "?");
		cand = conf_xstrdup(base);
		for (n = 2; kvmap_gets(names, cand) != NULL; n++) {
			free(cand);
			cand = conf_xcalloc(1, len + 16);
			snprintf(cand, len + 16, "%s#%u", base, n);
		}
		if (kvmap_puts(names, cand, "default") == -1)
			fatal("%s", __func__);
		free(r->name);
		r->name = cand;
		free(base);
	}
	kvmap_free(names);
}

/*
 * The key of each rule's shared state (ha.state: redis): given ids must be
 * unique; the default is a digest of what the rule compares (repository,
 * branch, files, datasource, tenant, env), the same on every replica and
 * across restarts, "-2", "-3" appended when two rules compare the same.
 */
static void
id_rules(struct conf_ctx *c)
{
	struct vtw_conf *conf = c->conf;
	struct conf_rule *r;
	struct kvmap *ids;
	struct vtw_digest_ctx d;
	unsigned char dg[VTW_DIGEST_LEN];
	char base[40], cand[64];
	size_t i, j;
	unsigned int n;

	ids = given_unique(c, "id", offsetof(struct conf_rule, sid),
	    offsetof(struct conf_rule_aux, has_id),
	    offsetof(struct conf_rule_aux, id));
	for (i = 0; i < conf->nrules; i++) {
		r = &conf->rules[i];
		if (c->raux[i].has_id)
			continue;
		vtw_digest_init(&d);
		vtw_digest_str(&d, r->repo_url);
		vtw_digest_str(&d, r->branch);
		for (j = 0; j < r->nfiles; j++)
			vtw_digest_str(&d, r->files[j]);
		vtw_digest_str(&d, r->datasource);
		vtw_digest_str(&d, r->tenant_id);
		vtw_digest_str(&d, r->env);
		vtw_digest_final(&d, dg);
		for (j = 0; j < 8; j++)
			snprintf(base + 2 * j, 3, "%02x", dg[j]);
		snprintf(cand, sizeof(cand), "%s", base);
		for (n = 2; kvmap_gets(ids, cand) != NULL; n++)
			snprintf(cand, sizeof(cand), "%s-%u", base, n);
		if (kvmap_puts(ids, cand, "default") == -1)
			fatal("%s", __func__);
		free(r->sid);
		r->sid = conf_xstrdup(cand);
	}
	kvmap_free(ids);
}

static char *
join(char **v, size_t n)
{
	char *list;
	size_t i, len = 1, off = 0;

	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 2;
	list = conf_xcalloc(1, len);
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(list + off, len - off, "%s%s",
		    i ? ", " : "", v[i]);
	return list;
}

static void
report_ignored(struct conf_ctx *c, const struct conf_rule *r,
    const struct conf_rule_aux *a)
{
	char *list;

	if (a->nignored > 0) {
		list = join(a->ignored, a->nignored);
		conf_info_at(c, a->ignored_first, "rule '%s': ignoring keys "
		    "not used for watching: %s", r->name, list);
		free(list);
	}
	if (a->nconn > 0) {
		list = join(a->conn, a->nconn);
		conf_info_at(c, a->conn_first, "rule '%s': ignoring "
		    "connection settings, they belong in the datasource: %s",
		    r->name, list);
		free(list);
	}
}

/*
 * watcher.ha.zookeeper: an ensemble, and a path under which we can create
 * <path>/<guid>-n_<seq> (ZooKeeper's own rules: no empty, "." or ".."
 * component, no trailing '/', not under the reserved /zookeeper).
 */
static void
check_ha_zk(struct conf_ctx *c, const struct conf_ha *ha,
    struct conf_mark m)
{
	const char *p = ha->zk_path, *s;
	size_t n;

	if (ha->nzk_hosts == 0)
		conf_error_at(c, m, "ha.zookeeper.hosts: needed with backend "
		    "zookeeper (the ensemble, e.g. [\"127.0.0.1:2181\"])");
	if (p == NULL || p[0] != '/' || p[1] == '\0' || strlen(p) > 400 ||
	    p[strlen(p) - 1] == '/' || (strncmp(p, "/zookeeper", 10) == 0 &&
	    (p[10] == '\0' || p[10] == '/')))
		goto bad;
	for (s = p; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			goto bad;
	for (s = p; *s == '/'; s += n) {
		s++;
		n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 &&
		    s[0] == '.' && s[1] == '.'))
			goto bad;
	}
	return;
 bad:
	if (ha->zk_path_mark.line != 0)
		m = ha->zk_path_mark;
	conf_error_at(c, m, "ha.zookeeper.path: '%s' cannot hold the "
	    "election (an absolute znode path, not /, no empty, . or .. "
	    "component, no trailing /, not under /zookeeper)", p ? p : "");
}

/* watcher.ha: a backend this build has, with what it needs; client-go's
 * order of the three times (a leader stops before the lock can expire). */
static void
check_ha(struct conf_ctx *c)
{
	struct conf_ha *ha = &c->conf->ha;
	struct conf_mark m = ha->mark;
	char a[32], b[32];

	if (ha->state_redis && ha->backend != HA_REDIS &&
	    ha->nredis_hosts == 0)
		conf_error_at(c, ha->state_mark, "ha.redis.hosts: needed with "
		    "state redis "
		    "(the server holding the shared state, e.g. "
		    "[\"127.0.0.1:6379\"])");
	if (ha->backend == HA_NONE)
		return;
	if (ha->backend == HA_ZOOKEEPER)
		check_ha_zk(c, ha, m);
	else if (ha->nredis_hosts == 0)
		conf_error_at(c, m, "ha.redis.hosts: needed with backend redis "
		    "(the server holding the lock, e.g. [\"127.0.0.1:6379\"])");
	if (ha->backend == HA_ZOOKEEPER && ha->zk_session_timeout_ms != 0) {
		if (ha->renew_deadline_ms >= ha->zk_session_timeout_ms)
			conf_error_at(c, m, "ha.renew_deadline (%s) must be "
			    "shorter than ha.zookeeper.session_timeout (%s): a "
			    "leader must stop healing before its session can "
			    "expire", conf_format_duration(a, sizeof(a),
			    ha->renew_deadline_ms), conf_format_duration(b,
			    sizeof(b), ha->zk_session_timeout_ms));
	} else if (ha->renew_deadline_ms >= ha->lease_ms)
		conf_error_at(c, m, "ha.renew_deadline (%s) must be shorter "
		    "than ha.lease (%s): a leader must stop healing before its "
		    "lock can pass to another", conf_format_duration(a,
		    sizeof(a), ha->renew_deadline_ms), conf_format_duration(b,
		    sizeof(b), ha->lease_ms));
	else if (ha->renew_interval_ms >= ha->renew_deadline_ms)
		conf_error_at(c, m, "ha.renew_interval (%s) must be shorter "
		    "than ha.renew_deadline (%s): a leader renews several "
		    "times before it gives up", conf_format_duration(a,
		    sizeof(a), ha->renew_interval_ms), conf_format_duration(b,
		    sizeof(b), ha->renew_deadline_ms));
}

void
conf_check(struct conf_ctx *c)
{
	struct vtw_conf *conf = c->conf;
	const char **pnames, **dnames;
	struct conf_mark top = { 1, 1 };
	size_t i;

	pnames = conf_xcalloc(conf->nplatforms, sizeof(*pnames));
	for (i = 0; i < conf->nplatforms; i++)
		pnames[i] = conf->platforms[i].name ?
		    conf->platforms[i].name : "";
	dnames = conf_xcalloc(conf->ndatasources, sizeof(*dnames));
	for (i = 0; i < conf->ndatasources; i++)
		dnames[i] = conf->datasources[i].name ?
		    conf->datasources[i].name : "";
	for (i = 0; i < conf->nrules; i++)
		check_rule(c, &conf->rules[i], &c->raux[i], pnames, dnames);
	name_rules(c);
	id_rules(c);
	for (i = 0; i < conf->nrules; i++)
		report_ignored(c, &conf->rules[i], &c->raux[i]);
	if (c->errs->n == 0)
		layout_rules(c);
	check_ha(c);
	/* rules that were there but wrong have their own errors; so does a
	 * document that is not a configuration at all */
	if (conf->nrules == 0 && c->errs->n == 0 &&
	    (c->rules_mark.line == 0 || c->rules_empty))
		conf_error_at(c, c->rules_mark.line ? c->rules_mark : top,
		    "no rules: nothing to watch (a configuration needs at "
		    "least one entry under 'rules:')");
	free(pnames);
	free(dnames);
}
