/*
 * Configuration lifecycle: load a file or a buffer, apply the environment
 * overrides of the Go watcher (interop §6.5), free. Messages, durations and
 * small helpers shared by the other conf/ files live here too. The YAML
 * itself is read in conf_parse.c only.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_int.h"
#include "kinds.h"
#include "log.h"
#include "redact.h"


/* Allocation */

void *
conf_xcalloc(size_t n, size_t sz)
{
	void *p;

	if ((p = calloc(n ? n : 1, sz ? sz : 1)) == NULL)
		fatal("%s", __func__);
	return p;
}

void *
conf_xreallocarray(void *p, size_t n, size_t sz)
{
	void *np;

	if (sz != 0 && n > SIZE_MAX / sz)
		fatalx("%s: overflow", __func__);
	if ((np = realloc(p, n * sz > 0 ? n * sz : 1)) == NULL)
		fatal("%s", __func__);
	return np;
}

char *
conf_xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("%s", __func__);
	return p;
}

char *
conf_xstrndup(const char *s, size_t n)
{
	char *p;

	p = conf_xcalloc(1, n + 1);
	memcpy(p, s, n);
	return p;
}

void
conf_strv_push(char ***v, size_t *n, const char *s)
{
	*v = conf_xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = conf_xstrdup(s);
}

void
conf_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
conf_pairs_free(struct conf_pair *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].val);
	}
	free(p);
}

/* Messages */

static char *
conf_vfmt(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatalx("%s: vsnprintf", __func__);
	s = conf_xcalloc(1, (size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

static void
conf_vadd(char ***v, size_t *n, const char *file, struct conf_mark m,
    const char *fmt, va_list ap)
{
	char *msg, *line, *red;
	size_t len, rlen;

	msg = conf_vfmt(fmt, ap);
	/* a message quoting a URL never shows its userinfo (redact.h) */
	switch (redact_url_userinfo(msg, strlen(msg), 0, &red, &rlen)) {
	case -1:
		fatalx("%s: out of memory", __func__);
	case 1:
		free(msg);
		msg = red;
		break;
	}
	len = strlen(file) + strlen(msg) + 64;
	line = conf_xcalloc(1, len);
	snprintf(line, len, "%s:%d:%d: %s", file, m.line, m.col, msg);
	free(msg);
	*v = conf_xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = line;
}

void
conf_error_at(struct conf_ctx *c, struct conf_mark m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_vadd(&c->errs->msgs, &c->errs->n, c->file, m, fmt, ap);
	va_end(ap);
}

void
conf_warning_at(struct conf_ctx *c, struct conf_mark m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_vadd(&c->errs->warnings, &c->errs->nwarnings, c->file, m, fmt, ap);
	va_end(ap);
}

void
conf_info_at(struct conf_ctx *c, struct conf_mark m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_vadd(&c->errs->infos, &c->errs->ninfos, c->file, m, fmt, ap);
	va_end(ap);
}

void
conf_errorx(struct conf_errors *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	e->msgs = conf_xreallocarray(e->msgs, e->n + 1, sizeof(*e->msgs));
	e->msgs[e->n++] = conf_vfmt(fmt, ap);
	va_end(ap);
}

void
conf_errors_free(struct conf_errors *e)
{
	if (e == NULL)
		return;
	conf_strv_free(e->msgs, e->n);
	conf_strv_free(e->warnings, e->nwarnings);
	conf_strv_free(e->infos, e->ninfos);
	memset(e, 0, sizeof(*e));
}

/* Did you mean */

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, best;
	size_t row[64 + 1], prev, tmp;

	if (lb > 64 || la > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *
conf_suggest(const char *s, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t i, d, bestd = 3;

	for (i = 0; i < n; i++)
		if (strcasecmp(s, cands[i]) == 0)
			return cands[i];
	for (i = 0; i < n; i++) {
		d = edit_distance(s, cands[i]);
		/* a short word is "close" to almost anything */
		if (d >= strlen(cands[i]) || d >= strlen(s))
			continue;
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return best;
}

/* Durations */

int
conf_parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	uint64_t total = 0, ip, fp, scale, add;
	const char *p = s, *u;
	size_t i, ulen, fdig;
	int any;

	if (s == NULL || *s == '\0')
		return -1;
	if (*p == '+')
		p++;
	if (strcmp(p, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		ip = fp = 0;
		scale = 1;
		any = 0;
		fdig = 0;
		while (isdigit((unsigned char)*p)) {
			if (ip > (UINT64_MAX - 9) / 10)
				return -1;
			ip = ip * 10 + (uint64_t)(*p - '0');
			p++;
			any = 1;
		}
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				/* 9 digits: far below 1 ms for any unit */
				if (fdig < 9) {
					fp = fp * 10 + (uint64_t)(*p - '0');
					scale *= 10;
					fdig++;
				}
				p++;
				any = 1;
			}
		}
		if (!any)
			return -1;
		u = p;
		while (isalpha((unsigned char)*p))
			p++;
		ulen = (size_t)(p - u);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].unit) == ulen &&
			    strncmp(u, units[i].unit, ulen) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -1;
		if (ip > UINT64_MAX / units[i].ms)
			return -1;
		add = ip * units[i].ms + fp * units[i].ms / scale;
		if (total > UINT64_MAX - add)
			return -1;
		total += add;
	}
	*ms = total;
	return 0;
}

char *
conf_format_duration(char *buf, size_t len, uint64_t ms)
{
	char tmp[64];
	size_t off = 0;
	uint64_t h, m, s, frac;

	if (len == 0)
		return buf;
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	if (ms < 1000) {
		snprintf(buf, len, "%llums", (unsigned long long)ms);
		return buf;
	}
	h = ms / 3600000;
	m = ms / 60000 % 60;
	s = ms / 1000 % 60;
	frac = ms % 1000;
	if (h)
		off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "%lluh",
		    (unsigned long long)h);
	if (h || m)
		off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "%llum",
		    (unsigned long long)m);
	if (frac == 0)
		snprintf(tmp + off, sizeof(tmp) - off, "%llus",
		    (unsigned long long)s);
	else {
		off += (size_t)snprintf(tmp + off, sizeof(tmp) - off,
		    "%llu.%03llu", (unsigned long long)s,
		    (unsigned long long)frac);
		while (tmp[off - 1] == '0')
			off--;
		snprintf(tmp + off, sizeof(tmp) - off, "s");
	}
	snprintf(buf, len, "%s", tmp);
	return buf;
}

/* Addresses */

int
conf_check_hostport(const char *s, int admin, char *err, size_t errlen)
{
	const char *colon, *p;
	unsigned long port = 0;
	char sb[96];

	snprintf(sb, sizeof(sb), "%.80s%s", s, strlen(s) > 80 ? "..." : "");
	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL || p == s + 1)
			goto bad;
		if (p[1] != ':')
			goto noport;
		colon = p + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto noport;
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			snprintf(err, errlen, "write the IPv6 address in '%s' "
			    "as \"[address]:port\"", sb);
			return -1;
		}
		if (colon == s && !admin) {
			snprintf(err, errlen, "missing host in '%s' (expected "
			    "\"host:port\")", sb);
			return -1;
		}
	}
	if (colon[1] == '\0')
		goto noport;
	for (p = colon + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) || port > 65535)
			goto badport;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port > 65535 || (port == 0 && !admin))
		goto badport;
	return 0;
 bad:
	snprintf(err, errlen, "expected \"host:port\", got '%s'", sb);
	return -1;
 noport:
	snprintf(err, errlen, "missing port in '%s' (expected \"host:port\")",
	    sb);
	return -1;
 badport:
	snprintf(err, errlen, "invalid port in '%s' (expected %s..65535)", sb,
	    admin ? "0" : "1");
	return -1;
}

/* Lifecycle */

void
conf_secret_free(struct conf_secret *s)
{
	free(s->ref);
	if (s->value != NULL) {
		explicit_bzero(s->value, strlen(s->value));
		free(s->value);
	}
	memset(s, 0, sizeof(*s));
}

void
conf_rule_aux_free(struct conf_rule_aux *a)
{
	size_t i;

	for (i = 0; i < CONF_KINDS_MAX; i++)
		free(a->kgiven[i]);
	conf_strv_free(a->ignored, a->nignored);
	conf_strv_free(a->conn, a->nconn);
	memset(a, 0, sizeof(*a));
}

void
conf_layout_free(struct conf_layout *l)
{
	free(l->env);
	free(l->target);
	free(l->marker);
	free(l->key_prefix);
	free(l->scope);
	memset(l, 0, sizeof(*l));
}

static void
conf_datasource_free(struct conf_datasource *ds)
{
	free(ds->name);
	free(ds->type);
	if (ds->kconf != NULL && ds->kind != NULL && ds->kind->ds_free != NULL)
		ds->kind->ds_free(ds->kconf);
	free(ds->kconf);
}

static void
conf_rule_free(struct conf_rule *r)
{
	const struct ds_kind *k;
	size_t i;

	free(r->name);
	free(r->sid);
	free(r->platform);
	free(r->datasource);
	free(r->repo_url);
	free(r->branch);
	conf_strv_free(r->files, r->nfiles);
	free(r->tenant_id);
	free(r->env);
	conf_pairs_free(r->branch_map, r->nbranch_map);
	conf_pairs_free(r->file_path_map, r->nfile_path_map);
	free(r->root_key);
	conf_pairs_free(r->variables_map, r->nvariables_map);
	free(r->destination_template);
	free(r->key_format);
	for (i = 0; i < ds_kinds_count(); i++) {
		k = ds_kind_at(i);
		if (r->klayout[i] != NULL && k->rule_free != NULL)
			k->rule_free(r->klayout[i]);
		free(r->klayout[i]);
	}
	conf_pairs_free(r->layout_extra, r->nlayout_extra);
	conf_strv_free(r->sensitive_keys, r->nsensitive_keys);
	conf_strv_free(r->show_values, r->nshow_values);
	conf_layout_free(&r->layout);
}

void
conf_free(struct vtw_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->admin_addr);
	free(c->orchestrator_addr);
	free(c->log_level);
	free(c->app_env);
	free(c->tls_ca_file);
	free(c->tls_cert_file);
	free(c->tls_key_file);
	free(c->sandbox_user);
	free(c->ha.instance_id);
	conf_strv_free(c->ha.redis_hosts, c->ha.nredis_hosts);
	conf_secret_free(&c->ha.redis_password);
	for (i = 0; i < WEBHOOK__COUNT; i++)
		conf_secret_free(&c->webhooks.secret[i]);
	free(c->ha.redis_key);
	conf_strv_free(c->ha.zk_hosts, c->ha.nzk_hosts);
	free(c->ha.zk_path);
	free(c->cache_dir);
	free(c->worker_dir);
	for (i = 0; i < c->nplatforms; i++) {
		free(c->platforms[i].name);
		free(c->platforms[i].type);
		free(c->platforms[i].endpoint);
		free(c->platforms[i].org_name);
		conf_secret_free(&c->platforms[i].token);
	}
	free(c->platforms);
	for (i = 0; i < c->ndatasources; i++)
		conf_datasource_free(&c->datasources[i]);
	free(c->datasources);
	for (i = 0; i < c->nrules; i++)
		conf_rule_free(&c->rules[i]);
	free(c->rules);
	free(c);
}

static struct vtw_conf *
conf_new_defaults(const char *name)
{
	struct vtw_conf *c;

	c = conf_xcalloc(1, sizeof(*c));
	c->path = conf_xstrdup(name);
	c->poll_interval_ms = CONF_DEFAULT_POLL_MS;
	c->admin_addr = conf_xstrdup(CONF_DEFAULT_ADMIN_ADDR);
	c->orchestrator_addr = conf_xstrdup(CONF_DEFAULT_ORCH_ADDR);
	c->heal_timeout_ms = CONF_DEFAULT_HEAL_TIMEOUT_MS;
	c->retry_initial_ms = CONF_DEFAULT_RETRY_INITIAL_MS;
	c->retry_max_ms = CONF_DEFAULT_RETRY_MAX_MS;
	c->retry_attempts = CONF_DEFAULT_RETRY_ATTEMPTS;
	c->breaker_failures = CONF_DEFAULT_BREAKER_FAILURES;
	c->breaker_open_ms = CONF_DEFAULT_BREAKER_OPEN_MS;
	c->flap_limit = CONF_DEFAULT_FLAP_LIMIT;
	c->flap_holdoff_ms = CONF_DEFAULT_FLAP_HOLDOFF_MS;
	c->ping_interval_ms = CONF_DEFAULT_PING_INTERVAL_MS;
	c->app_env = conf_xstrdup("development");
	c->sandbox_user = conf_xstrdup(CONF_DEFAULT_SANDBOX_USER);
	c->ha.lease_ms = CONF_DEFAULT_HA_LEASE_MS;
	c->ha.renew_interval_ms = CONF_DEFAULT_HA_RENEW_MS;
	c->ha.renew_deadline_ms = CONF_DEFAULT_HA_DEADLINE_MS;
	c->ha.redis_db = CONF_DEFAULT_HA_REDIS_DB;
	c->ha.redis_state_db = CONF_DEFAULT_HA_STATE_DB;
	c->ha.redis_key = conf_xstrdup(CONF_DEFAULT_HA_REDIS_KEY);
	c->ha.zk_path = conf_xstrdup("/vartrack/watcher/election");
	c->ha.zk_session_timeout_ms = 0;	/* not set: ha.lease */
	c->ha.standbys_poll = 1;
	c->cache_dir = conf_xstrdup(CONF_DEFAULT_CACHE_DIR);
	c->git_max_parallel = CONF_DEFAULT_GIT_PARALLEL;
	c->git_fetch_timeout_ms = CONF_DEFAULT_GIT_FETCH_TIMEOUT_MS;
	return c;
}

const char *
conf_webhook_name(enum conf_webhook_provider p)
{
	static const char *const names[WEBHOOK__COUNT] = {
		[WEBHOOK_GITHUB] = "github",
		[WEBHOOK_GITLAB] = "gitlab",
		[WEBHOOK_GITEA] = "gitea",
	};

	return (unsigned int)p < WEBHOOK__COUNT ? names[p] : "?";
}

const struct conf_platform *
conf_platform_byname(const struct vtw_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nplatforms; i++)
		if (c->platforms[i].name != NULL &&
		    strcmp(c->platforms[i].name, name) == 0)
			return &c->platforms[i];
	return NULL;
}

const struct conf_datasource *
conf_datasource_byname(const struct vtw_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ndatasources; i++)
		if (c->datasources[i].name != NULL &&
		    strcmp(c->datasources[i].name, name) == 0)
			return &c->datasources[i];
	return NULL;
}

/* Environment overrides (the Go watcher's variables; empty = unset) */

static void
env_string(const char *var, char **field)
{
	const char *v;

	if ((v = getenv(var)) == NULL || *v == '\0')
		return;
	free(*field);
	*field = conf_xstrdup(v);
}

static void
env_duration(struct conf_errors *e, const char *var, uint64_t *field,
    uint64_t min)
{
	const char *v;
	uint64_t ms;
	char buf[32];

	if ((v = getenv(var)) == NULL || *v == '\0')
		return;
	if (conf_parse_duration(v, &ms) == -1) {
		conf_errorx(e, "environment %s: invalid duration '%s'%s", var,
		    v, strspn(v, "0123456789") == strlen(v) ?
		    " (missing unit: ms, s, m or h)" : "");
		return;
	}
	if (ms < min) {
		if (min <= 1)
			conf_errorx(e, "environment %s: must be greater than 0",
			    var);
		else
			conf_errorx(e, "environment %s: must be at least %s",
			    var, conf_format_duration(buf, sizeof(buf), min));
		return;
	}
	*field = ms;
}

static void
conf_apply_env(struct conf_ctx *ctx)
{
	static const char *const lvl[] = { "error", "warn", "info", "debug" };
	struct vtw_conf *c = ctx->conf;
	struct conf_errors *e = ctx->errs;
	const char *v;
	char err[256];
	int l;

	env_duration(e, "POLL_INTERVAL", &c->poll_interval_ms,
	    CONF_MIN_POLL_MS);
	env_duration(e, "HEAL_TIMEOUT", &c->heal_timeout_ms, 1);
	if ((v = getenv("ADMIN_ADDR")) != NULL && *v != '\0') {
		if (conf_check_hostport(v, 1, err, sizeof(err)) == -1)
			conf_errorx(e, "environment ADMIN_ADDR: %s", err);
		else
			env_string("ADMIN_ADDR", &c->admin_addr);
	}
	if ((v = getenv("LOG_LEVEL")) != NULL && *v != '\0') {
		if ((l = log_level_parse(v)) == -1)
			conf_errorx(e, "environment LOG_LEVEL: invalid log "
			    "level '%s' (debug, info, warn, error)", v);
		else {
			free(c->log_level);
			c->log_level = conf_xstrdup(lvl[l]);
		}
	}
	env_string("ORCHESTRATOR_ADDR", &c->orchestrator_addr);
	if ((v = getenv("APP_ENV")) != NULL && *v != '\0') {
		env_string("APP_ENV", &c->app_env);
		ctx->waux.app_env.line = 0;	/* now from the environment */
	}
	env_string("TLS_CA_FILE", &c->tls_ca_file);
	env_string("TLS_CERT_FILE", &c->tls_cert_file);
	env_string("TLS_KEY_FILE", &c->tls_key_file);
}

/* interop §6.4: with APP_ENV=production all three TLS files are required. */
static void
conf_check_production(struct conf_ctx *ctx)
{
	struct vtw_conf *c = ctx->conf;
	char missing[64];

	if (c->app_env == NULL || strcmp(c->app_env, "production") != 0)
		return;
	if (c->tls_ca_file != NULL && c->tls_cert_file != NULL &&
	    c->tls_key_file != NULL)
		return;
	snprintf(missing, sizeof(missing), "%s%s%s",
	    c->tls_ca_file == NULL ? ", ca_file" : "",
	    c->tls_cert_file == NULL ? ", cert_file" : "",
	    c->tls_key_file == NULL ? ", key_file" : "");
	if (ctx->waux.app_env.line > 0)
		conf_error_at(ctx, ctx->waux.app_env, "app_env 'production' "
		    "requires watcher.tls ca_file, cert_file and key_file "
		    "(missing: %s)", missing + 2);
	else
		conf_errorx(ctx->errs, "environment APP_ENV: 'production' "
		    "requires TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE "
		    "(missing watcher.tls: %s)", missing + 2);
}

/*
 * Messages in file order: parsing reports as it walks, the cross-checks come
 * after; sort on "name:line:col:" (stable), and keep those without a place
 * (the environment's) last.
 */
struct msgpos {
	char	*msg;
	long	 line, col;
	size_t	 idx;
	int	 kind;		/* enum conf_msg_kind; conf_errors_foreach */
};

static int
msgpos_cmp(const void *a, const void *b)
{
	const struct msgpos *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The place "name:line:col:" msg starts with; LONG_MAX when none. */
static void
msg_place(struct msgpos *mp, const char *name)
{
	size_t nl = strlen(name);
	const char *m = mp->msg;
	char *end;

	mp->line = mp->col = LONG_MAX;
	if (strncmp(m, name, nl) != 0 || m[nl] != ':' ||
	    !isdigit((unsigned char)m[nl + 1]))
		return;
	mp->line = strtol(m + nl + 1, &end, 10);
	if (*end == ':' && isdigit((unsigned char)end[1]))
		mp->col = strtol(end + 1, NULL, 10);
}

static void
sort_msgs(char **v, size_t n, const char *name)
{
	struct msgpos *mp;
	size_t i;

	if (n < 2)
		return;
	mp = conf_xcalloc(n, sizeof(*mp));
	for (i = 0; i < n; i++) {
		mp[i].msg = v[i];
		mp[i].idx = i;
		msg_place(&mp[i], name);
	}
	qsort(mp, n, sizeof(*mp), msgpos_cmp);
	for (i = 0; i < n; i++)
		v[i] = mp[i].msg;
	free(mp);
}

void
conf_errors_foreach(const struct conf_errors *e, const char *name,
    void (*cb)(enum conf_msg_kind, const char *, void *), void *arg)
{
	char **const lists[3] = { e->msgs, e->warnings, e->infos };
	const size_t counts[3] = { e->n, e->nwarnings, e->ninfos };
	struct msgpos *mp;
	size_t i, k, n = 0, total = e->n + e->nwarnings + e->ninfos;

	if (total == 0)
		return;
	mp = conf_xcalloc(total, sizeof(*mp));
	for (k = 0; k < 3; k++)
		for (i = 0; i < counts[k]; i++, n++) {
			mp[n].msg = lists[k][i];
			mp[n].idx = n;
			mp[n].kind = (int)k;
			msg_place(&mp[n], name);
		}
	qsort(mp, total, sizeof(*mp), msgpos_cmp);
	for (i = 0; i < total; i++)
		cb((enum conf_msg_kind)mp[i].kind, mp[i].msg, arg);
	free(mp);
}

int
conf_load_buf(struct vtw_conf **out, const char *name, const char *buf,
    size_t len, struct conf_errors *errs)
{
	struct conf_ctx ctx;
	size_t i;
	int rv = -1;

	*out = NULL;
	memset(errs, 0, sizeof(*errs));
	memset(&ctx, 0, sizeof(ctx));
	ctx.file = name;
	ctx.errs = errs;
	ctx.conf = conf_new_defaults(name);

	if (len > CONF_MAX_FILE_BYTES) {
		conf_errorx(errs, "%s: file too large (%zu bytes, at most %u)",
		    name, len, CONF_MAX_FILE_BYTES);
		goto cleanup;
	}
	if (conf_parse_yaml(&ctx, buf, len) == 0)
		conf_check(&ctx);
	conf_apply_env(&ctx);
	conf_check_production(&ctx);
	sort_msgs(errs->msgs, errs->n, name);
	sort_msgs(errs->warnings, errs->nwarnings, name);
	sort_msgs(errs->infos, errs->ninfos, name);
	if (errs->n > 0)
		goto cleanup;
	*out = ctx.conf;
	ctx.conf = NULL;
	rv = 0;
 cleanup:
	for (i = 0; i < ctx.nraux; i++)
		conf_rule_aux_free(&ctx.raux[i]);
	free(ctx.raux);
	conf_free(ctx.conf);
	return rv;
}

/* Workers drop to the sandbox user when the supervisor runs as root. */
int
conf_check_host(const struct vtw_conf *c, char *err, size_t errlen)
{
	const struct conf_mark *m = &c->sandbox_user_mark;

	if (c->sandbox_user == NULL || getpwnam(c->sandbox_user) != NULL)
		return 0;
	if (m->line > 0)
		snprintf(err, errlen, "%s:%d:%d: sandbox.user: no user '%s' "
		    "on this host (the workers run as it)", c->path, m->line,
		    m->col, c->sandbox_user);
	else
		snprintf(err, errlen, "%s: sandbox.user: the default user "
		    "'%s' does not exist on this host; name one that does",
		    c->path, c->sandbox_user);
	return -1;
}

int
conf_load(struct vtw_conf **out, const char *path, struct conf_errors *errs)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, rv = -1;

	*out = NULL;
	memset(errs, 0, sizeof(*errs));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_errorx(errs, "%s: cannot open: %s", path, strerror(errno));
		goto cleanup;
	}
	if (fstat(fd, &st) == -1) {
		conf_errorx(errs, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_errorx(errs, "%s: not a regular file", path);
		goto cleanup;
	}
	/* read one byte more than the cap to see that the file is too big */
	buf = conf_xcalloc(1, CONF_MAX_FILE_BYTES + 2);
	while (len < CONF_MAX_FILE_BYTES + 1) {
		n = read(fd, buf + len, CONF_MAX_FILE_BYTES + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			conf_errorx(errs, "%s: read: %s", path,
			    strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONF_MAX_FILE_BYTES) {
		conf_errorx(errs, "%s: file too large (more than %u bytes)",
		    path, CONF_MAX_FILE_BYTES);
		goto cleanup;
	}
	rv = conf_load_buf(out, path, buf, len, errs);
 cleanup:
	if (fd != -1)
		close(fd);
	free(buf);
	return rv;
}
