/*
 * Rule scheduler and the poll cycle of one rule (DESIGN.md §3):
 *   timer -> baseline from the git worker (cached by commit there)
 *         -> the exact keys to the datasource worker
 *         -> diff key by key -> "OK" line, or drift line + metrics
 * A worker that is down, a datasource that cannot be read or a baseline
 * that cannot be built makes the poll "unknown": counted as a poll error,
 * never as OK and never as drift.
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "diff.h"
#include "log.h"
#include "redact.h"
#include "sup.h"

#define RULE_LOG_MAX_KEYS	50
#define RULE_START_SPREAD_MS	1000	/* first polls spread over this */
#define RULE_NOTIFY_GAP_MS	100	/* event-assisted polls at most this often */
#define RULE_TRIM_MIN_KEYS	1000	/* freed pages go back after such a cycle */
#define RULE_WORKER_WAIT_MS	100	/* a poll waits so for a starting worker */
#define RULE_STANDBY_WAIT_MS	1000	/* an idle standby's rules look so often */
#define RULE_UNVERIF_LISTED	50	/* unverifiable keys named in a line */

static void rule_timer_cb(evutil_socket_t, short, void *);
static struct sup_gitrepo *gitrepo_get(struct sup *, const char *);
static void gitrepos_prune(struct sup *);

/* What the git worker sent for a value it truncated (bl_trunc's values). */
struct bl_mark {
	uint64_t	 full_len;
	unsigned char	 digest[VTW_DIGEST_LEN];
};

static void
rule_reset_read(struct sup_rule *r)
{
	kvmap_free(r->actual);
	kvmap_free(r->extra);
	kvmap_free(r->dexp);
	r->actual = r->extra = r->dexp = NULL;
	free(r->trunc);
	r->trunc = NULL;
	r->ntrunc = r->trunc_cap = 0;
	free(r->dexp_trunc);
	r->dexp_trunc = NULL;
	r->ndexp_trunc = r->dexp_trunc_cap = 0;
	r->nvalues_received = 0;
	r->marker_present = 0;
	kvmap_free(r->unverif);
	kvmap_free(r->notes);
	r->unverif = r->notes = NULL;
	r->nunverif = 0;
}

/* Forget the chunks of a baseline being received. */
static void
rule_drop_pending(struct sup_rule *r)
{
	kvmap_free(r->bl_pending);
	kvmap_free(r->bl_trunc_pending);
	r->bl_pending = r->bl_trunc_pending = NULL;
}

/* A new marker at the end of *v (grown as needed). */
static struct diff_trunc *
trunc_push(struct diff_trunc **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct diff_trunc *nv = realloc(*v, nc * sizeof(*nv));

		if (nv == NULL)
			fatal("realloc");
		*v = nv;
		*cap = nc;
	}
	return &(*v)[(*n)++];
}

/* A datasource's settings: its canonical form and what its worker gets. */
static void
ds_fingerprint(const struct conf_datasource *ds, unsigned char out[VTW_DIGEST_LEN])
{
	struct vtw_digest_ctx d;
	char *canon = conf_datasource_canon(ds);
	void *settings = NULL;
	size_t len = 0;

	vtw_digest_init(&d);
	vtw_digest_str(&d, canon);
	free(canon);
	if (ds->kind != NULL && ds->kind->ds_pack(&settings, &len, ds) == -1)
		fatalx("%s: out of memory", __func__);
	vtw_digest_update(&d, &len, sizeof(len));
	if (len > 0)
		vtw_digest_update(&d, settings, len);
	if (settings != NULL) {
		explicit_bzero(settings, len);
		free(settings);
	}
	vtw_digest_final(&d, out);
}

/* Everything a rule's polls use: its own keys, where the orchestrator
 * wrote, its platform and datasource. */
static void
rule_fingerprint(const struct vtw_conf *c, const struct sup_rule *r,
    const unsigned char ds_fp[VTW_DIGEST_LEN], unsigned char out[VTW_DIGEST_LEN])
{
	const struct conf_rule *cr = r->conf;
	const struct conf_layout *l = r->layout;
	struct vtw_digest_ctx d;
	char *canon = conf_rule_canon(c, cr);
	size_t i;

	vtw_digest_init(&d);
	vtw_digest_str(&d, canon);
	free(canon);
	vtw_digest_str(&d, c->app_env);
	vtw_digest_update(&d, &r->interval_ms, sizeof(r->interval_ms));
	vtw_digest_str(&d, l->target);
	vtw_digest_str(&d, l->marker);
	vtw_digest_str(&d, l->env);
	vtw_digest_str(&d, l->key_format);
	vtw_digest_str(&d, l->key_prefix);
	vtw_digest_update(&d, &l->detect_extra, sizeof(l->detect_extra));
	vtw_digest_update(&d, &l->scope_len, sizeof(l->scope_len));
	if (l->scope_len > 0)
		vtw_digest_update(&d, l->scope, l->scope_len);
	vtw_digest_update(&d, ds_fp, VTW_DIGEST_LEN);
	for (i = 0; i < c->nplatforms; i++) {
		const struct conf_platform *p = &c->platforms[i];

		if (cr->platform == NULL || p->name == NULL ||
		    strcmp(p->name, cr->platform) != 0)
			continue;
		vtw_digest_str(&d, p->type);
		vtw_digest_str(&d, p->endpoint);
		vtw_digest_str(&d, p->org_name);
		vtw_digest_str(&d, p->token.value);
	}
	vtw_digest_final(&d, out);
}

/*
 * The tables of configuration c, nothing started: no timer, no metric.
 * -1 with err when a rule cannot run (what conf_check already refuses;
 * kept as the last line of defence).
 */
/*
 * One fetch per (repository, branch) per interval: a rule's baseline may
 * come from a fetch of its branch made this recently by any rule (the
 * git worker keeps the fetched commit per branch): the rule's
 * git_refresh_interval, else the shortest poll interval of the rules on
 * that branch.
 */
static void
git_refresh(struct sup_rule *rules, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct conf_rule *a = rules[i].conf;
		uint64_t w = rules[i].interval_ms;

		if (a->git_refresh_ms != 0) {
			rules[i].git_refresh_ms = a->git_refresh_ms;
			continue;
		}
		for (j = 0; j < n; j++) {
			const struct conf_rule *b = rules[j].conf;

			if (strcmp(a->repo_url, b->repo_url) == 0 &&
			    strcmp(a->branch, b->branch) == 0 &&
			    rules[j].interval_ms < w)
				w = rules[j].interval_ms;
		}
		rules[i].git_refresh_ms = w;
	}
}

/* Its repository's canonical name; one that has none (conf_check lets
 * any string through) is labelled "invalid" rather than shown. */
static void
rule_repo_name(struct sup_rule *r)
{
	char name[REPO_URL_CANON_MAX];

	if (repo_url_canon(name, sizeof(name), r->conf->repo_url) == -1)
		snprintf(name, sizeof(name), "invalid");
	if ((r->repo_name = strdup(name)) == NULL)
		fatal("strdup");
}

static int
rules_build(struct sup *sup, const struct vtw_conf *c,
    struct sup_rules_next *t, char *err, size_t errlen)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	if (c->ndatasources > 0) {
		if ((t->dss = calloc(c->ndatasources, sizeof(*t->dss))) ==
		    NULL)
			fatal("calloc");
		t->ndss = c->ndatasources;
		for (i = 0; i < c->ndatasources; i++) {
			const struct conf_datasource *d = &c->datasources[i];

			t->dss[i].conf = d;
			/* doubling backoff with +-20% jitter, then one probe */
			breaker_init(&t->dss[i].br, d->breaker_failures,
			    d->breaker_backoff_ms, d->breaker_max_backoff_ms, 1,
			    20);
			ds_fingerprint(d, t->dss[i].fp);
		}
	}
	if (c->nrules == 0)
		return 0;
	if ((t->rules = calloc(c->nrules, sizeof(*t->rules))) == NULL)
		fatal("calloc");
	t->nrules = c->nrules;
	for (i = 0; i < c->nrules; i++) {
		struct sup_rule *r = &t->rules[i];
		const struct conf_rule *cr = &c->rules[i];

		r->sup = sup;
		r->conf = cr;
		heal_state_init(&r->heal);
		r->ds = conf_datasource_byname(c, cr->datasource);
		if (r->ds == NULL) {
			snprintf(err, errlen, "rule '%s': no datasource '%s'",
			    cr->name, cr->datasource);
			return -1;
		}
		if (r->ds->kind == NULL || cr->layout.target == NULL) {
			snprintf(err, errlen, "rule '%s': datasource '%s' has "
			    "no layout", cr->name, cr->datasource);
			return -1;
		}
		r->dsw = sup_worker_of(sup, r->ds->kind);
		r->layout = &cr->layout;
		r->sds = &t->dss[r->ds - c->datasources];
		r->interval_ms = cr->poll_interval_ms ? cr->poll_interval_ms :
		    c->poll_interval_ms;
		rule_fingerprint(c, r, r->sds->fp, r->fp);
		rule_repo_name(r);
	}
	git_refresh(t->rules, t->nrules);
	return 0;
}

/* The series of a rule's own (its datasource's counters stay). */
static void
rule_series(struct sup *sup, const struct sup_rule *r, int on)
{
	const char *dl[] = { r->ds->name };
	const char *rl[] = { r->ds->name, r->conf->name };

	if (!on) {
		metrics_remove_series(sup->metrics, METRIC_DRIFTED_KEYS, rl);
		metrics_remove_series(sup->metrics,
		    METRIC_LAST_POLL_TIMESTAMP_SECONDS, rl);
		metrics_remove_series(sup->metrics, METRIC_HEAL_INEFFECTIVE,
		    rl);
		return;
	}
	metrics_touch(sup->metrics, METRIC_POLL_TOTAL, dl);
	metrics_touch(sup->metrics, METRIC_DRIFT_TOTAL, dl);
	metrics_touch(sup->metrics, METRIC_POLL_ERRORS_TOTAL, dl);
	metrics_touch(sup->metrics, METRIC_HEAL_TOTAL, dl);
	metrics_touch(sup->metrics, METRIC_HEAL_ERRORS_TOTAL, dl);
	metrics_touch(sup->metrics, METRIC_POLL_DURATION_SECONDS, dl);
	if (r->layout->watch)
		metrics_touch(sup->metrics, METRIC_EVENT_POLLS_TOTAL, dl);
	metrics_set(sup->metrics, METRIC_DRIFTED_KEYS, rl, 0);
	if (r->conf->self_heal)
		metrics_set(sup->metrics, METRIC_HEAL_INEFFECTIVE, rl,
		    r->heal.flapping ? 1 : 0);
}

/* A new rule starts: a uid, a timer, its series. */
static void
rule_activate(struct sup *sup, struct sup_rule *r)
{
	r->uid = ++sup->rule_uids;
	r->ev_timer = evtimer_new(sup->base, rule_timer_cb, r);
	if (r->ev_timer == NULL)
		fatal("evtimer_new");
	rule_series(sup, r, 1);
}

int
sup_rules_init(struct sup *sup, char *err, size_t errlen)
{
	struct sup_rules_next t;
	size_t i;

	if (rules_build(sup, sup->conf, &t, err, errlen) == -1) {
		sup_rules_next_free(&t);
		return -1;
	}
	sup->rules = t.rules;
	sup->nrules = t.nrules;
	sup->dss = t.dss;
	sup->ndss = t.ndss;
	for (i = 0; i < sup->ndss; i++) {
		const char *dl[] = { sup->dss[i].conf->name };

		metrics_set(sup->metrics, METRIC_DS_CIRCUIT_STATE, dl, 0);
	}
	for (i = 0; i < sup->nrules; i++)
		rule_activate(sup, &sup->rules[i]);
	return 0;
}

static void
rules_free(struct sup_rule *rules, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct sup_rule *r = &rules[i];

		if (r->ev_timer != NULL)
			event_free(r->ev_timer);
		if (r->ev_heal_retry != NULL)
			event_free(r->ev_heal_retry);
		rule_reset_read(r);
		kvmap_free(r->baseline);
		kvmap_free(r->bl_trunc);
		rule_drop_pending(r);
		free(r->sh_drifted);
		free(r->repo_name);
	}
	free(rules);
}

void
sup_rules_free(struct sup *sup)
{
	rules_free(sup->rules, sup->nrules);
	sup->rules = NULL;
	sup->nrules = 0;
	free(sup->dss);
	sup->dss = NULL;
	sup->ndss = 0;
	gitrepos_prune(sup);	/* no rule: all of them */
}

int
sup_rules_prepare(struct sup *sup, const struct vtw_conf *nc,
    struct sup_rules_next *t, char *err, size_t errlen)
{
	if (rules_build(sup, nc, t, err, errlen) == -1) {
		sup_rules_next_free(t);
		return -1;
	}
	return 0;
}

void
sup_rules_next_free(struct sup_rules_next *t)
{
	rules_free(t->rules, t->nrules);
	free(t->dss);
	memset(t, 0, sizeof(*t));
}

static void rule_schedule(struct sup_rule *, uint64_t);

/* An old rule's place in the table by name, or -1 (names are unique). */
static long
rule_find(const struct kvmap *byname, const char *name)
{
	const struct kv_entry *e = kvmap_gets(byname, name);

	return e != NULL ? strtol(e->val, NULL, 10) : -1;
}

/*
 * What an unchanged rule keeps: baseline and commit, last result, heal and
 * flap-guard state, poll counts, and its place in the schedule. A poll in
 * flight is dropped (its replies carry the old rule id and are discarded)
 * and made again soon.
 */
static void
rule_carry(struct sup_rule *n, struct sup_rule *o, uint64_t now)
{
	struct sup *sup = n->sup;

	n->uid = o->uid;
	n->baseline = o->baseline;
	o->baseline = NULL;
	n->bl_trunc = o->bl_trunc;
	o->bl_trunc = NULL;
	memcpy(n->commit, o->commit, sizeof(n->commit));
	n->git_stale = o->git_stale;
	n->last_state = o->last_state;
	n->notified_ms = o->notified_ms;
	n->notifies = o->notifies;
	n->polls = o->polls;
	n->heal = o->heal;
	memcpy(n->heal_reason, o->heal_reason, sizeof(n->heal_reason));
	memcpy(n->bl_digest, o->bl_digest, sizeof(n->bl_digest));
	n->bl_digest_set = o->bl_digest_set;
	n->sh_pending = o->sh_pending;
	n->sh_since_state = o->sh_since_state;
	n->sh_since_wall = o->sh_since_wall;
	n->sh_drifted = o->sh_drifted;
	o->sh_drifted = NULL;
	n->sh_logged = o->sh_logged;
	memcpy(n->sh_want, o->sh_want, sizeof(n->sh_want));
	n->ev_timer = evtimer_new(sup->base, rule_timer_cb, n);
	if (n->ev_timer == NULL)
		fatal("evtimer_new");
	if (o->phase == RP_IDLE && evtimer_pending(o->ev_timer, NULL))
		rule_schedule(n, o->due_ms > now ? o->due_ms - now : 0);
	else
		rule_schedule(n, 200);
	if (o->ev_heal_retry != NULL) {
		n->ev_heal_retry = evtimer_new(sup->base, sup_heal_retry_cb, n);
		if (n->ev_heal_retry == NULL)
			fatal("evtimer_new");
		if (evtimer_pending(o->ev_heal_retry, NULL)) {
			uint64_t at = o->heal_due_ms > now ?
			    o->heal_due_ms - now : 0;
			struct timeval tv = { (time_t)(at / 1000),
			    (suseconds_t)(at % 1000) * 1000 };

			n->heal_due_ms = o->heal_due_ms;
			evtimer_add(n->ev_heal_retry, &tv);
		}
	}
}

void
sup_rules_swap(struct sup *sup, struct sup_rules_next *t,
    struct sup_reload_counts *cnt)
{
	struct kvmap *byname;
	char idx[32];
	size_t i, j;
	uint64_t now = now_ms();
	unsigned char *moved;

	if ((byname = kvmap_new()) == NULL ||
	    (moved = calloc(sup->nrules + 1, 1)) == NULL)
		fatal("kvmap_new");
	for (i = 0; i < sup->nrules; i++) {
		snprintf(idx, sizeof(idx), "%zu", i);
		if (kvmap_puts(byname, sup->rules[i].conf->name, idx) == -1)
			fatal("kvmap_puts");
	}
	/* datasources: an unchanged one keeps its breaker (no probe can be
	 * out: the polls in flight are dropped) */
	for (i = 0; i < t->ndss; i++) {
		struct sup_ds *n = &t->dss[i];
		const char *dl[] = { n->conf->name };

		for (j = 0; j < sup->ndss; j++)
			if (strcmp(sup->dss[j].conf->name, n->conf->name) == 0 &&
			    memcmp(sup->dss[j].fp, n->fp, sizeof(n->fp)) == 0)
				break;
		if (j < sup->ndss) {
			n->br = sup->dss[j].br;
			n->br.probing = 0;
		}
		metrics_set(sup->metrics, METRIC_DS_CIRCUIT_STATE, dl,
		    (double)n->br.state);
	}
	for (j = 0; j < sup->ndss; j++) {
		const char *dl[] = { sup->dss[j].conf->name };

		for (i = 0; i < t->ndss; i++)
			if (strcmp(sup->dss[j].conf->name,
			    t->dss[i].conf->name) == 0)
				break;
		if (i == t->ndss)
			metrics_remove_series(sup->metrics,
			    METRIC_DS_CIRCUIT_STATE, dl);
	}
	for (i = 0; i < t->nrules; i++) {
		struct sup_rule *n = &t->rules[i];
		long o = rule_find(byname, n->conf->name);

		if (o >= 0 && memcmp(sup->rules[o].fp, n->fp,
		    sizeof(n->fp)) == 0) {
			rule_carry(n, &sup->rules[o], now);
			moved[o] = 1;
			cnt->kept++;
			continue;
		}
		if (o >= 0) {
			/* changed: starts over, its old series go first */
			rule_series(sup, &sup->rules[o], 0);
			moved[o] = 1;
		}
		rule_activate(sup, n);
		cnt->fresh++;
		rule_schedule(n, 200 + arc4random_uniform((uint32_t)
		    (n->interval_ms < RULE_START_SPREAD_MS ? n->interval_ms :
		    RULE_START_SPREAD_MS)));
	}
	for (i = 0; i < sup->nrules; i++)
		if (!moved[i]) {
			rule_series(sup, &sup->rules[i], 0);
			cnt->gone++;
		}
	free(moved);
	kvmap_free(byname);
	{
		/* the repositories' breakers outlive the tables */
		struct sup_gitrepo *gr = sup->gitrepos;
		size_t ngr = sup->ngitrepos;

		sup->gitrepos = NULL;
		sup->ngitrepos = 0;
		sup_rules_free(sup);
		sup->gitrepos = gr;
		sup->ngitrepos = ngr;
	}
	sup->rules = t->rules;
	sup->nrules = t->nrules;
	sup->dss = t->dss;
	sup->ndss = t->ndss;
	memset(t, 0, sizeof(*t));
	gitrepos_prune(sup);
}

static void
ds_breaker_changed(struct sup *sup, struct sup_ds *d)
{
	const char *dl[] = { d->conf->name };
	struct jbuf f;

	jbuf_init(&f);
	jbuf_field(&f, "datasource", d->conf->name);
	jbuf_field(&f, "circuit", breaker_state_name(d->br.state));
	if (d->br.state == BR_OPEN) {
		jbuf_field_int(&f, "backoff_ms", (long long)breaker_wait_ms(
		    &d->br, now_ms()));
		log_fields(LOG_LVL_WARN, f.p, "datasource %s unreachable: "
		    "circuit open, its polls are skipped for %llu ms",
		    d->conf->name, (unsigned long long)breaker_wait_ms(&d->br,
		    now_ms()));
	} else
		log_fields(LOG_LVL_INFO, f.p, "datasource %s circuit %s",
		    d->conf->name, breaker_state_name(d->br.state));
	jbuf_free(&f);
	metrics_set(sup->metrics, METRIC_DS_CIRCUIT_STATE, dl,
	    (double)d->br.state);
}

/* The datasource answered (or did not) for this rule's read. */
static void
ds_outcome(struct sup_rule *r, int reachable)
{
	int changed;

	r->ds_probe = 0;
	changed = reachable ? breaker_success(&r->sds->br) :
	    breaker_failure(&r->sds->br, now_ms());
	if (changed)
		ds_breaker_changed(r->sup, r->sds);
}

static void
rule_schedule(struct sup_rule *r, uint64_t delay_ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)((delay_ms % 1000) * 1000);
	r->due_ms = now_ms() + delay_ms;
	evtimer_add(r->ev_timer, &tv);
}

void
sup_rules_start(struct sup *sup)
{
	size_t i;

	for (i = 0; i < sup->nrules; i++) {
		struct sup_rule *r = &sup->rules[i];
		uint64_t spread = r->interval_ms < RULE_START_SPREAD_MS ?
		    r->interval_ms : RULE_START_SPREAD_MS;

		/* the first poll soon after start, spread with jitter */
		rule_schedule(r, 200 + arc4random_uniform((uint32_t)spread));
	}
}

/* End of a cycle: metrics common to every outcome, next timer. */
static void
rule_cycle_end(struct sup_rule *r)
{
	struct sup *sup = r->sup;
	const char *dl[] = { r->ds->name };
	const char *rl[] = { r->ds->name, r->conf->name };
	uint64_t now = now_ms(), took = now - r->cycle_start_ms, next;
	uint64_t jitter = r->interval_ms / 20;

	metrics_inc(sup->metrics, METRIC_POLL_TOTAL, dl, 1);
	metrics_observe(sup->metrics, METRIC_POLL_DURATION_SECONDS, dl,
	    (double)took / 1000.0);
	metrics_set(sup->metrics, METRIC_LAST_POLL_TIMESTAMP_SECONDS, rl,
	    (double)time(NULL));
	r->phase = RP_IDLE;
	r->polls++;
	rule_reset_read(r);
	if (r->ds_probe) {
		/* ended before the datasource was asked: let another probe go */
		r->sds->br.probing = 0;
		r->ds_probe = 0;
	}
	if (r->git_probe) {
		/* no remote was asked (a recent fetch served, or the poll
		 * ended before): let another probe go */
		gitrepo_get(sup, r->repo_name)->br.probing = 0;
		r->git_probe = 0;
	}
	if (r->baseline != NULL &&
	    kvmap_count(r->baseline) >= RULE_TRIM_MIN_KEYS)
		malloc_trim(0);	/* the read maps of a big rule were just freed */
	if (sup->stopping)
		return;
	/* interval measured from the start of this cycle, with +-2.5%
	 * jitter so rules spread out without drifting later on average */
	next = took >= r->interval_ms ? 0 : r->interval_ms - took;
	if (jitter > 0 && next > jitter / 2)
		next = next - jitter / 2 + arc4random_uniform((uint32_t)jitter + 1);
	if (r->repoll) {
		/* a change was seen while this poll ran: look again */
		r->repoll = 0;
		if (next > RULE_NOTIFY_GAP_MS)
			next = RULE_NOTIFY_GAP_MS;
	}
	rule_schedule(r, next);
}

/*
 * Event-assisted detection: the datasource worker saw a change under this
 * rule's scope (a zookeeper watch fired). Poll now (at most one poll per
 * RULE_NOTIFY_GAP_MS), or right after the poll in flight; the timer stays
 * the safety net. -1 when the rule is not one of that worker's.
 */
/*
 * Per-repository circuit breakers: an unreachable Git host backs off as a
 * datasource does (GIT_BREAKER_*: doubling with +-20% jitter, then one
 * probe), and only the rules on that repository wait.
 */
#define GIT_BREAKER_FAILURES	CONF_DEFAULT_DS_BREAKER_FAILURES
#define GIT_BREAKER_BACKOFF_MS	CONF_DEFAULT_DS_BREAKER_BACKOFF_MS
#define GIT_BREAKER_MAX_MS	CONF_DEFAULT_DS_BREAKER_MAX_MS

static struct sup_gitrepo *
gitrepo_get(struct sup *sup, const char *name)
{
	struct sup_gitrepo *g;
	size_t i;

	for (i = 0; i < sup->ngitrepos; i++)
		if (strcmp(sup->gitrepos[i].name, name) == 0)
			return &sup->gitrepos[i];
	g = reallocarray(sup->gitrepos, sup->ngitrepos + 1, sizeof(*g));
	if (g == NULL)
		fatal("reallocarray");
	sup->gitrepos = g;
	g = &sup->gitrepos[sup->ngitrepos++];
	if ((g->name = strdup(name)) == NULL)
		fatal("strdup");
	breaker_init(&g->br, GIT_BREAKER_FAILURES, GIT_BREAKER_BACKOFF_MS,
	    GIT_BREAKER_MAX_MS, 1, 20);
	{
		const char *gl[] = { g->name };

		metrics_set(sup->metrics, METRIC_GIT_CIRCUIT_STATE, gl, 0);
	}
	return g;
}

/* Drops the breakers of repositories no rule uses any more. */
static void
gitrepos_prune(struct sup *sup)
{
	size_t i, j;

	for (i = 0; i < sup->ngitrepos;) {
		for (j = 0; j < sup->nrules; j++)
			if (strcmp(sup->rules[j].repo_name,
			    sup->gitrepos[i].name) == 0)
				break;
		if (j < sup->nrules) {
			i++;
			continue;
		}
		{
			const char *gl[] = { sup->gitrepos[i].name };

			metrics_remove_series(sup->metrics,
			    METRIC_GIT_CIRCUIT_STATE, gl);
		}
		free(sup->gitrepos[i].name);
		sup->gitrepos[i] = sup->gitrepos[--sup->ngitrepos];
	}
	if (sup->ngitrepos == 0) {
		free(sup->gitrepos);
		sup->gitrepos = NULL;
	}
}

static void
git_breaker_changed(struct sup *sup, const struct sup_gitrepo *g)
{
	const char *gl[] = { g->name };

	if (g->br.state == BR_OPEN)
		log_warnx("git repository %s unreachable: circuit open, its "
		    "baselines are skipped for %llu ms", g->name,
		    (unsigned long long)breaker_wait_ms(&g->br, now_ms()));
	else
		log_info("git repository %s circuit %s", g->name,
		    breaker_state_name(g->br.state));
	metrics_set(sup->metrics, METRIC_GIT_CIRCUIT_STATE, gl,
	    (double)g->br.state);
}

/* The remote answered (or did not) for this rule's baseline. */
static void
git_outcome(struct sup_rule *r, int reachable)
{
	struct sup_gitrepo *g = gitrepo_get(r->sup, r->repo_name);
	int changed;

	r->git_probe = 0;
	changed = reachable ? breaker_success(&g->br) :
	    breaker_failure(&g->br, now_ms());
	if (changed)
		git_breaker_changed(r->sup, g);
}

/*
 * Poll now (at most one event-assisted poll per RULE_NOTIFY_GAP_MS), or
 * right after the poll in flight; the timer stays the safety net. 1 when
 * a poll was scheduled, 0 when the one in flight will be followed.
 */
static int
rule_poll_soon(struct sup_rule *r)
{
	uint64_t now = now_ms(), delay = 0;

	if (r->phase != RP_IDLE) {
		r->repoll = 1;
		return 0;
	}
	if (r->notified_ms != 0 && now - r->notified_ms < RULE_NOTIFY_GAP_MS)
		delay = RULE_NOTIFY_GAP_MS - (now - r->notified_ms);
	r->notified_ms = now;
	r->notifies++;
	evtimer_del(r->ev_timer);
	rule_schedule(r, delay);
	return 1;
}

int
sup_rule_notify(struct sup *sup, const struct sup_worker *w,
    unsigned int rule_id)
{
	struct sup_rule *r;

	if (rule_id >= sup->nrules)
		return -1;
	r = &sup->rules[rule_id];
	if (r->dsw != w)
		return -1;
	if (sup->stopping)
		return 0;
	log_debug("rule %s: change notified by the %s worker",
	    r->conf->name, w->name);
	if (rule_poll_soon(r)) {
		const char *dl[] = { r->ds->name };

		metrics_inc(sup->metrics, METRIC_EVENT_POLLS_TOTAL, dl, 1);
	}
	return 0;
}

size_t
sup_rules_push(struct sup *sup, const char (*repos)[REPO_URL_CANON_MAX],
    size_t nrepos, const char *branch)
{
	size_t i, j, n = 0;

	if (sup->stopping)
		return 0;
	for (i = 0; i < sup->nrules; i++) {
		struct sup_rule *r = &sup->rules[i];

		if (strcmp(r->conf->branch, branch) != 0)
			continue;
		for (j = 0; j < nrepos; j++)
			if (strcmp(r->repo_name, repos[j]) == 0)
				break;
		if (j == nrepos)
			continue;
		r->git_stale = 1;
		log_debug("rule %s: push to %s announced", r->conf->name,
		    branch);
		rule_poll_soon(r);
		n++;
	}
	return n;
}

/*
 * A baseline request carried the refetch: the rules of the same cache
 * (repository URL as written, and branch) are served by that fetch.
 */
static void
rules_fetched(struct sup *sup, const struct sup_rule *r)
{
	size_t i;

	for (i = 0; i < sup->nrules; i++) {
		struct sup_rule *o = &sup->rules[i];

		if (o->git_stale &&
		    strcmp(o->conf->repo_url, r->conf->repo_url) == 0 &&
		    strcmp(o->conf->branch, r->conf->branch) == 0)
			o->git_stale = 0;
	}
}

static const char *const fetch_result_names[] = {
	[IPC_FETCH_OK] = "ok",
	[IPC_FETCH_UNCHANGED] = "unchanged",
	[IPC_FETCH_ERROR] = "error",
	[IPC_FETCH_TIMEOUT] = "timeout",
};

/* What the git worker asked the remote for this baseline, if anything:
 * labelled with the rule's own repository, never with the worker's words. */
static void
rule_fetch_metrics(struct sup_rule *r, const struct ipc_baseline_reply *b)
{
	const char *fl[] = { r->repo_name, NULL };

	if (!b->last || b->fetch == IPC_FETCH_NONE ||
	    (size_t)b->fetch >= sizeof(fetch_result_names) /
	    sizeof(fetch_result_names[0]))
		return;
	fl[1] = fetch_result_names[b->fetch];
	metrics_inc(r->sup->metrics, METRIC_GIT_FETCH_TOTAL, fl, 1);
	git_outcome(r, b->fetch == IPC_FETCH_OK ||
	    b->fetch == IPC_FETCH_UNCHANGED);
	metrics_observe(r->sup->metrics, METRIC_GIT_FETCH_DURATION_SECONDS, fl,
	    (double)b->fetch_us / 1e6);
}

static void
rule_unknown(struct sup_rule *r, const char *stage, const char *why)
{
	struct jbuf f;
	const char *dl[] = { r->ds->name };

	jbuf_init(&f);
	jbuf_field(&f, "rule", r->conf->name);
	jbuf_field(&f, "datasource", r->ds->name);
	jbuf_field(&f, "result", "unknown");
	jbuf_field(&f, "stage", stage);
	jbuf_field(&f, "reason", why);
	log_fields(LOG_LVL_WARN, f.p, "poll unknown for rule %s: %s",
	    r->conf->name, why);
	jbuf_free(&f);
	metrics_inc(r->sup->metrics, METRIC_POLL_ERRORS_TOTAL, dl, 1);
	r->last_state = 3;
	sup_shared_report(r, NULL);
	rule_cycle_end(r);
}

static void
rule_send_read(struct sup_rule *r)
{
	struct sup_worker *w = r->dsw;
	struct ipc_msg m;
	struct ipc_bytes *keys;
	size_t n, total = kvmap_count(r->baseline), start = 0, cost;

	if (w->state != WS_RUNNING) {
		rule_unknown(r, "read", "datasource worker is not running");
		return;
	}
	if (w->hung) {
		rule_unknown(r, "read", "worker not answering");
		return;
	}
	if ((keys = calloc(total ? total : 1, sizeof(*keys))) == NULL)
		fatal("calloc");
	r->phase = RP_READ;
	rule_reset_read(r);
	if ((r->actual = kvmap_new()) == NULL ||
	    (r->extra = kvmap_new()) == NULL ||
	    (r->dexp = kvmap_new()) == NULL)
		fatal("kvmap_new");
	do {
		cost = 0;
		for (n = 0; start + n < total && cost < IPC_CHUNK_BYTES; n++) {
			const struct kv_entry *e = &r->baseline->ents[start + n];

			keys[n].p = e->key;
			keys[n].len = e->keylen;
			cost += ipc_value_cost(e->keylen, 0);
		}
		memset(&m, 0, sizeof(m));
		m.type = IPC_POLL_REQUEST;
		m.u.poll_request.rule_id = r->conf->id;
		m.u.poll_request.rule = r->conf->name;
		m.u.poll_request.datasource = r->ds->name;
		m.u.poll_request.target = r->layout->target;
		m.u.poll_request.marker = r->layout->marker;
		m.u.poll_request.detect_extra = r->layout->detect_extra;
		m.u.poll_request.scope.p = r->layout->scope;
		m.u.poll_request.scope.len = r->layout->scope_len;
		m.u.poll_request.keys = keys;
		m.u.poll_request.nkeys = n;
		m.u.poll_request.total = total;
		start += n;
		m.u.poll_request.last = start >= total;
		if (sup_worker_send(w, &m, r->conf->id,
		    m.u.poll_request.last) == -1) {
			free(keys);
			rule_unknown(r, "read", "cannot send to the worker");
			return;
		}
	} while (start < total);
	free(keys);
}

static void
rule_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup_rule *r = arg;
	struct sup_worker *git = &r->sup->workers[SUP_WORKER_GIT];
	const struct conf_rule *cr = r->conf;
	struct ipc_msg m;
	struct ipc_pair *vm = NULL;
	size_t i;

	(void)fd;
	(void)ev;
	if (r->sup->stopping || r->phase != RP_IDLE)
		return;
	if (sup_ha_standby_idle(r->sup)) {
		/* ha.standbys_poll: false: only the leader polls; look again
		 * soon, a standby may lead any moment */
		sup_shared_standby(r->sup);
		rule_schedule(r, RULE_STANDBY_WAIT_MS);
		return;
	}
	if (git->state == WS_STARTING || r->dsw->state == WS_STARTING) {
		/* a worker is in its handshake (bounded by its hello
		 * timeout): the poll waits for it rather than fail and
		 * wait a whole interval (at start, the first poll) */
		rule_schedule(r, RULE_WORKER_WAIT_MS);
		return;
	}
	r->cycle_start_ms = now_ms();
	r->cycle_start_us = now_us();
	if (!breaker_allow(&r->sds->br, r->cycle_start_ms)) {
		char why[128];

		snprintf(why, sizeof(why), "datasource circuit open (next "
		    "probe in %llu ms)", (unsigned long long)breaker_wait_ms(
		    &r->sds->br, r->cycle_start_ms));
		rule_unknown(r, "read", why);
		return;
	}
	if (r->sds->br.state == BR_HALF_OPEN) {
		r->ds_probe = 1;
		ds_breaker_changed(r->sup, r->sds);
	}
	if (git->state != WS_RUNNING) {
		rule_unknown(r, "baseline", "git worker is not running");
		return;
	}
	if (git->hung) {
		rule_unknown(r, "baseline", "worker not answering");
		return;
	}
	if (sup_worker_awaits(git, cr->id)) {
		/* a request of this rule id given up on (a hung worker, a
		 * reload) is still out: the git worker answers in any order,
		 * so its reply must come first (then it is dropped) */
		rule_schedule(r, RULE_WORKER_WAIT_MS);
		return;
	}
	{
		struct sup_gitrepo *g = gitrepo_get(r->sup, r->repo_name);
		char why[160];

		if (!breaker_allow(&g->br, r->cycle_start_ms)) {
			snprintf(why, sizeof(why), "git repository circuit "
			    "open (next probe in %llu ms)", (unsigned long long)
			    breaker_wait_ms(&g->br, r->cycle_start_ms));
			rule_unknown(r, "baseline", why);
			return;
		}
		if (g->br.state == BR_HALF_OPEN && !r->git_probe) {
			r->git_probe = 1;
			git_breaker_changed(r->sup, g);
		}
	}
	if (cr->nvariables_map > 0) {
		if ((vm = calloc(cr->nvariables_map, sizeof(*vm))) == NULL)
			fatal("calloc");
		for (i = 0; i < cr->nvariables_map; i++) {
			vm[i].key = cr->variables_map[i].key;
			vm[i].val = cr->variables_map[i].val;
		}
	}
	memset(&m, 0, sizeof(m));
	m.type = IPC_BASELINE_REQUEST;
	m.u.baseline_request.rule_id = cr->id;
	m.u.baseline_request.platform = cr->platform;
	m.u.baseline_request.repo_url = cr->repo_url;
	m.u.baseline_request.branch = cr->branch;
	m.u.baseline_request.files = (const char *const *)cr->files;
	m.u.baseline_request.nfiles = cr->nfiles;
	m.u.baseline_request.root_key = cr->root_key;
	m.u.baseline_request.root_key_set = cr->root_key != NULL;
	m.u.baseline_request.env = r->layout->env;
	m.u.baseline_request.variables_map = vm;
	m.u.baseline_request.nvariables_map = cr->nvariables_map;
	m.u.baseline_request.key_format = r->layout->key_format;
	m.u.baseline_request.key_prefix = r->layout->key_prefix;
	m.u.baseline_request.known_commit = r->baseline ? r->commit : "";
	m.u.baseline_request.want_commit = r->sh_want;
	m.u.baseline_request.refresh_ms = r->git_refresh_ms;
	m.u.baseline_request.refetch = r->git_stale;
	r->phase = RP_BASELINE;
	rule_drop_pending(r);
	if (sup_worker_send(git, &m, cr->id, 1) == -1) {
		free(vm);
		rule_unknown(r, "baseline", "cannot send to the git worker");
		return;
	}
	free(vm);
	if (r->git_stale)
		rules_fetched(r->sup, r);
}

static struct sup_rule *
rule_byid(struct sup *sup, unsigned int id)
{
	return id < sup->nrules ? &sup->rules[id] : NULL;
}

int
sup_rule_baseline_reply(struct sup *sup, const struct ipc_baseline_reply *b)
{
	struct sup_rule *r = rule_byid(sup, b->rule_id);
	size_t i;

	if (r == NULL || r->phase != RP_BASELINE)
		return -1;
	rule_fetch_metrics(r, b);
	switch (b->status) {
	case IPC_BL_ERROR:
		/* also after chunks of a baseline the worker could not finish */
		if (!b->last || b->nentries)
			return -1;
		rule_drop_pending(r);
		rule_unknown(r, "baseline", b->error[0] ? b->error :
		    "the git worker could not build the baseline");
		return 0;
	case IPC_BL_UNCHANGED:
		if (!b->last || b->nentries || r->baseline == NULL ||
		    r->bl_pending != NULL || strcmp(b->commit, r->commit) != 0)
			return -1;
		break;
	case IPC_BL_OK:
		if (b->total > SUP_MAX_BASELINE_KEYS)
			return -1;
		if (r->bl_pending == NULL) {
			if ((r->bl_pending = kvmap_new()) == NULL)
				fatal("kvmap_new");
			r->bl_total = b->total;
		} else if (r->bl_total != b->total)
			return -1;
		for (i = 0; i < b->nentries; i++) {
			const struct ipc_pair *p = &b->entries[i];
			struct bl_mark mk;

			if (kvmap_puts(r->bl_pending, p->key, p->val) == -1)
				fatal("kvmap_put");
			if (!p->truncated)
				continue;
			if (r->bl_trunc_pending == NULL &&
			    (r->bl_trunc_pending = kvmap_new()) == NULL)
				fatal("kvmap_new");
			mk.full_len = p->full_len;
			memcpy(mk.digest, p->digest, sizeof(mk.digest));
			if (kvmap_put(r->bl_trunc_pending, p->key,
			    strlen(p->key), (const char *)&mk,
			    sizeof(mk)) == -1)
				fatal("kvmap_put");
		}
		if (kvmap_count(r->bl_pending) > r->bl_total)
			return -1;
		if (!b->last)
			return 0;
		if (kvmap_count(r->bl_pending) != r->bl_total)
			return -1;
		kvmap_free(r->baseline);
		kvmap_free(r->bl_trunc);
		r->baseline = r->bl_pending;
		r->bl_trunc = r->bl_trunc_pending;
		r->bl_pending = r->bl_trunc_pending = NULL;
		if (strcmp(r->commit, b->commit) != 0)
			log_fields(LOG_LVL_INFO, NULL,
			    "rule %s: baseline at commit %.12s with %zu keys",
			    r->conf->name, b->commit, kvmap_count(r->baseline));
		snprintf(r->commit, sizeof(r->commit), "%s", b->commit);
		sup_shared_baseline(r);
		break;
	}
	r->baseline_us = now_us() - r->cycle_start_us;
	rule_send_read(r);
	return 0;
}

/* ,"unverifiable":N,"unverifiable_keys":[{"key":"k","note":"..."},...] */
static void
put_unverif(struct jbuf *f, const struct sup_rule *r)
{
	const struct kv_entry *e;
	size_t i;

	jbuf_printf(f, ",\"unverifiable\":%zu,\"unverifiable_keys\":[",
	    r->nunverif);
	for (i = 0; r->unverif != NULL && i < r->unverif->n; i++) {
		e = &r->unverif->ents[i];
		jbuf_cat(f, i ? ",{\"key\":" : "{\"key\":");
		jbuf_str(f, e->key, e->keylen, DIFF_LOG_KEY_MAX);
		jbuf_cat(f, ",\"note\":");
		jbuf_str(f, e->val, e->vallen, IPC_NOTE_MAX_BYTES);
		jbuf_raw(f, "}", 1);
	}
	jbuf_raw(f, "]", 1);
}

static void
rule_report(struct sup_rule *r)
{
	struct sup *sup = r->sup;
	struct diff_input in;
	struct diff_result *res = NULL;
	struct diff_redact red;
	struct jbuf f;
	const char *dl[] = { r->ds->name };
	const char *rl[] = { r->ds->name, r->conf->name };
	size_t nd;

	/* only the differing keys were kept (sup_rule_poll_reply): the diff
	 * classifies and sorts those; everything else matched Git */
	memset(&in, 0, sizeof(in));
	in.expected = r->dexp;
	in.actual = r->actual;
	in.extra = r->extra;
	in.trunc = r->trunc;
	in.ntrunc = r->ntrunc;
	in.exp_trunc = r->dexp_trunc;
	in.nexp_trunc = r->ndexp_trunc;
	in.notes = r->notes;
	if (diff_compute(&res, &in) == -1)
		fatal("diff_compute");
	nd = diff_ndrifted(res);
	jbuf_init(&f);
	jbuf_field(&f, "rule", r->conf->name);
	jbuf_field(&f, "datasource", r->ds->name);
	jbuf_field(&f, "target", r->layout->target);
	jbuf_field(&f, "commit", r->commit);
	jbuf_field_int(&f, "key_count", (long long)kvmap_count(r->baseline));
	jbuf_field_int(&f, "duration_us", (long long)(now_us() - r->cycle_start_us));
	jbuf_field_int(&f, "baseline_us", (long long)r->baseline_us);
	jbuf_field_int(&f, "read_us", (long long)r->read_us);
	metrics_set(sup->metrics, METRIC_DRIFTED_KEYS, rl, (double)nd);
	/* the series exists from a rule's first unverifiable key on */
	if (r->nunverif > 0)
		r->unverif_seen = 1;
	if (r->unverif_seen)
		metrics_set(sup->metrics, METRIC_UNVERIFIABLE_KEYS, rl,
		    (double)r->nunverif);
	red.sensitive_keys = (const char *const *)r->conf->sensitive_keys;
	red.nsensitive = r->conf->nsensitive_keys;
	red.redact_values = r->conf->redact_values;
	red.show_values = (const char *const *)r->conf->show_values;
	red.nshow_values = r->conf->nshow_values;
	if (nd == 0 && r->nunverif > 0) {
		/* never OK by assumption: says which keys it could not check */
		jbuf_field(&f, "result", "ok");
		put_unverif(&f, r);
		log_fields(LOG_LVL_INFO, f.p, "OK: rule %s, %zu keys match Git, "
		    "%zu more present but unverifiable (value not readable)",
		    r->conf->name, kvmap_count(r->baseline) - r->nunverif,
		    r->nunverif);
		r->last_state = 1;
		sup_rule_heal_ok(r);
	} else if (nd == 0) {
		jbuf_field(&f, "result", "ok");
		log_fields(LOG_LVL_INFO, f.p, "OK: rule %s, %zu keys match Git",
		    r->conf->name, kvmap_count(r->baseline));
		r->last_state = 1;
		sup_rule_heal_ok(r);
		sup_shared_report(r, NULL);
	} else {
		jbuf_field(&f, "result", "drift");
		jbuf_field(&f, "marker", r->marker_present ? "present" :
		    "absent");
		diff_format_log(res, &red, &f, RULE_LOG_MAX_KEYS);
		if (r->conf->self_heal && sup->grpc != NULL &&
		    !sup_ha_may_heal(sup)) {
			char why[320];

			jbuf_field(&f, "heal", sup_ha_why_not(sup, why,
			    sizeof(why)));
		}
		if (r->nunverif > 0)
			put_unverif(&f, r);
		log_fields(LOG_LVL_WARN, f.p, "drift: rule %s differs from Git "
		    "(%zu changed, %zu missing, %s%zu extra; %zu keys in Git)",
		    r->conf->name, res->nchanged, res->nmissing,
		    res->nextra >= IPC_MAX_EXTRAS ? "at least " : "",
		    res->nextra, kvmap_count(r->baseline));
		metrics_inc(sup->metrics, METRIC_DRIFT_TOTAL, dl, 1);
		r->last_state = 2;
		sup_rule_heal_drift(r, res);	/* self_heal: true only */
		sup_shared_report(r, res);
	}
	jbuf_free(&f);
	diff_free(res);
	rule_cycle_end(r);
}

static int
add_value(struct sup_rule *r, struct kvmap *into, const struct ipc_value *v)
{
	if (v->key.len > 0 && memchr(v->key.p, '\0', v->key.len) != NULL &&
	    into == r->actual)
		return -1;	/* we never ask for such a key */
	if (!v->present)
		return 0;
	if (kvmap_put(into, v->key.p, v->key.len, v->val.p, v->val.len) == -1)
		fatal("kvmap_put");
	if (v->truncated) {
		const struct kv_entry *e = kvmap_get(into, v->key.p, v->key.len);
		struct diff_trunc *t = trunc_push(&r->trunc, &r->ntrunc,
		    &r->trunc_cap);

		/* key memory is owned by the kvmap entry */
		t->key = e->key;
		t->keylen = e->keylen;
		t->full_len = v->full_len;
		memcpy(t->digest, v->digest, sizeof(t->digest));
	}
	return 0;
}

/* The marker of a Git value the git worker truncated, or NULL. */
static const struct diff_trunc *
bl_mark_get(const struct sup_rule *r, const struct kv_entry *e,
    struct diff_trunc *buf)
{
	const struct kv_entry *x;
	struct bl_mark mk;

	if (r->bl_trunc == NULL ||
	    (x = kvmap_get(r->bl_trunc, e->key, e->keylen)) == NULL)
		return NULL;
	memcpy(&mk, x->val, sizeof(mk));
	buf->key = e->key;
	buf->keylen = e->keylen;
	buf->full_len = mk.full_len;
	memcpy(buf->digest, mk.digest, sizeof(buf->digest));
	return buf;
}

/* Does what the worker read equal the Git value (et: its marker)? */
static int
value_equal(const struct kv_entry *e, const struct diff_trunc *et,
    const struct ipc_value *v)
{
	struct diff_trunc at;

	if (!v->present)
		return 0;
	if (v->truncated) {
		at.key = e->key;
		at.keylen = e->keylen;
		at.full_len = v->full_len;
		memcpy(at.digest, v->digest, sizeof(at.digest));
	}
	return diff_value_eq(e->val, e->vallen, et, v->val.p, v->val.len,
	    v->truncated ? &at : NULL);
}

int
sup_rule_poll_reply(struct sup *sup, const struct ipc_poll_reply *p)
{
	struct sup_rule *r = rule_byid(sup, p->rule_id);
	size_t i, total;

	if (r == NULL || r->phase != RP_READ)
		return -1;
	if (p->status == IPC_POLL_UNKNOWN) {
		if (!p->last)
			return -1;
		ds_outcome(r, 0);
		rule_unknown(r, "read", p->error[0] ? p->error :
		    "datasource read failed");
		return 0;
	}
	if (p->status == IPC_POLL_RATE_LIMITED) {
		/* the datasource answered (its breaker counts a success); the
		 * rule is unknown until the limit resets */
		if (!p->last)
			return -1;
		ds_outcome(r, 1);
		rule_unknown(r, "read", p->error[0] ? p->error :
		    "rate limited");
		return 0;
	}
	if (p->status == IPC_POLL_DATA_ERROR) {
		/* the datasource answered: this rule's data is at fault, not
		 * the datasource (its breaker counts a success) */
		if (!p->last)
			return -1;
		ds_outcome(r, 1);
		rule_unknown(r, "data", p->error[0] ? p->error :
		    "the datasource holds data of another type");
		return 0;
	}
	total = kvmap_count(r->baseline);
	/* values come back for the requested keys, in request order */
	for (i = 0; i < p->nvalues; i++) {
		const struct kv_entry *e;
		const struct diff_trunc *et;
		struct diff_trunc etbuf, *dt;

		if (r->nvalues_received >= total)
			return -1;
		e = &r->baseline->ents[r->nvalues_received++];
		if (e->keylen != p->values[i].key.len ||
		    memcmp(e->key, p->values[i].key.p, e->keylen) != 0)
			return -1;
		et = bl_mark_get(r, e, &etbuf);
		if (p->values[i].present &&
		    p->values[i].status == IPC_VALUE_UNVERIFIABLE) {
			/* present, its value not readable: not compared */
			if (r->nunverif++ < RULE_UNVERIF_LISTED) {
				if (r->unverif == NULL &&
				    (r->unverif = kvmap_new()) == NULL)
					fatal("kvmap_new");
				if (kvmap_put(r->unverif, e->key, e->keylen,
				    p->values[i].note ? p->values[i].note : "",
				    p->values[i].note ?
				    strlen(p->values[i].note) : 0) == -1)
					fatal("kvmap_put");
			}
			continue;
		}
		/* the common case costs a comparison, no allocation */
		if (p->values[i].status != IPC_VALUE_MISMATCH &&
		    value_equal(e, et, &p->values[i]))
			continue;
		if (p->values[i].present &&
		    p->values[i].status == IPC_VALUE_MISMATCH) {
			if (r->notes == NULL && (r->notes = kvmap_new()) == NULL)
				fatal("kvmap_new");
			if (kvmap_put(r->notes, e->key, e->keylen,
			    p->values[i].note ? p->values[i].note : "",
			    p->values[i].note ? strlen(p->values[i].note) :
			    0) == -1)
				fatal("kvmap_put");
		}
		if (kvmap_put(r->dexp, e->key, e->keylen, e->val,
		    e->vallen) == -1)
			fatal("kvmap_put");
		if (et != NULL) {
			dt = trunc_push(&r->dexp_trunc, &r->ndexp_trunc,
			    &r->dexp_trunc_cap);
			*dt = *et;
			/* key memory is owned by the dexp entry */
			dt->key = kvmap_get(r->dexp, e->key, e->keylen)->key;
		}
		if (add_value(r, r->actual, &p->values[i]) == -1)
			return -1;
	}
	for (i = 0; i < p->nextras; i++) {
		if (kvmap_count(r->extra) >= SUP_MAX_BASELINE_KEYS)
			break;
		if (kvmap_get(r->baseline, p->extras[i].key.p,
		    p->extras[i].key.len) != NULL)
			continue;	/* requested keys are not extras */
		if (add_value(r, r->extra, &p->extras[i]) == -1)
			return -1;
	}
	if (p->marker_present)
		r->marker_present = 1;
	if (!p->last)
		return 0;
	if (r->nvalues_received != total)
		return -1;
	r->read_us = now_us() - r->cycle_start_us - r->baseline_us;
	ds_outcome(r, 1);
	rule_report(r);
	return 0;
}

/*
 * A worker answered a later request before this rule's: it passed this one
 * over without a reply. Only this rule's poll is unknown.
 */
void
sup_rule_no_reply(struct sup *sup, const struct sup_worker *w,
    unsigned int rule_id)
{
	struct sup_rule *r = rule_byid(sup, rule_id);

	if (r == NULL || (w->kind == NULL ? r->phase != RP_BASELINE :
	    r->dsw != w || r->phase != RP_READ))
		return;
	rule_drop_pending(r);
	if (w->kind == NULL) {
		/* libgit2 1.5 has no timeout of its own: a remote that
		 * never answers shows as the git worker's deadline passing */
		const char *fl[] = { r->repo_name, "timeout" };

		metrics_inc(sup->metrics, METRIC_GIT_FETCH_TOTAL, fl, 1);
		git_outcome(r, 0);
	}
	rule_unknown(r, w->kind == NULL ? "baseline" : "read",
	    w->kind == NULL ? "the git worker sent no reply to its request" :
	    "the datasource worker sent no reply to its request");
}

/* A worker died or was killed: its rules' current polls are unknown. */
void
sup_rule_worker_lost(struct sup *sup, const struct sup_worker *w,
    const char *why)
{
	size_t i;

	for (i = 0; i < sup->nrules; i++) {
		struct sup_rule *r = &sup->rules[i];

		if ((w->kind == NULL && r->phase == RP_BASELINE) ||
		    (w->kind != NULL && r->dsw == w &&
		    r->phase == RP_READ)) {
			rule_drop_pending(r);
			rule_unknown(r, w->kind == NULL ? "baseline" : "read",
			    why);
		}
	}
}
