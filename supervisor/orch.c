/*
 * The orchestrator side of self-heal: the TriggerSync call
 * (vartrack.v1.Watcher/SyncDatasource) for rules with self_heal: true,
 * Ping for readiness, and the circuit breaker on the orchestrator.
 * When to call is heal.c's policy; the call is grpc.c's, driven by the
 * event loop so a slow or hung orchestrator never delays a poll.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "grpc.h"
#include "log.h"
#include "sup.h"

#define HEAL_REASON_KEYS	5	/* key names in the reason text */
#define GRPC_MODULE		"vartrack-grpc.so"

static const struct grpc_api *G;	/* the loaded gRPC client module */
static void *grpc_module;

/* Load the gRPC client module once (see grpc.h). */
static int
grpc_load(const char *dir, char *err, size_t errlen)
{
	char path[4200];
	const struct grpc_api *api;

	if (G != NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, GRPC_MODULE);
	if ((grpc_module = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "cannot load %s: %s", path, dlerror());
		return -1;
	}
	api = dlsym(grpc_module, GRPC_API_SYMBOL);
	if (api == NULL || api->version != GRPC_API_VERSION) {
		snprintf(err, errlen, "%s: no compatible %s", path,
		    GRPC_API_SYMBOL);
		dlclose(grpc_module);
		grpc_module = NULL;
		return -1;
	}
	G = api;
	return 0;
}
#define PING_TIMEOUT_MS		3000

/* a call in flight names its rule by id and generation, never by pointer:
 * a reload may free the rule before the answer comes */
struct heal_call {
	struct sup	*sup;
	unsigned int	 rule_id;	/* where it was; a reload may move it */
	uint64_t	 uid;
	uint64_t	 generation;
	uint64_t	 started_ms;
};

static void
orch_breaker_gauge(struct sup *sup)
{
	const char *l[] = { sup->conf->orchestrator_addr };

	metrics_set(sup->metrics, METRIC_ORCH_CIRCUIT_STATE, l,
	    (double)sup->orch_breaker.state);
}

static void
orch_breaker_changed(struct sup *sup)
{
	struct jbuf f;

	jbuf_init(&f);
	jbuf_field(&f, "orchestrator", sup->conf->orchestrator_addr);
	jbuf_field(&f, "circuit", breaker_state_name(sup->orch_breaker.state));
	if (sup->orch_breaker.state == BR_OPEN)
		log_fields(LOG_LVL_WARN, f.p, "orchestrator circuit open: no "
		    "heal calls for %llu ms", (unsigned long long)
		    breaker_wait_ms(&sup->orch_breaker, now_ms()));
	else
		log_fields(LOG_LVL_INFO, f.p, "orchestrator circuit %s",
		    breaker_state_name(sup->orch_breaker.state));
	jbuf_free(&f);
	orch_breaker_gauge(sup);
}

static void
ping_done(const struct grpc_result *res, void *arg)
{
	struct sup *sup = arg;
	const char *l[] = { sup->conf->orchestrator_addr };
	int up = res->error == NULL;

	sup->ping_inflight = 0;
	if (up != sup->orch_up || sup->orch_up == -1) {
		if (up)
			log_info("orchestrator %s answers Ping",
			    sup->conf->orchestrator_addr);
		else
			log_warnx("orchestrator %s unreachable: %s",
			    sup->conf->orchestrator_addr, res->error);
	}
	sup->orch_up = up;
	metrics_set(sup->metrics, METRIC_ORCH_UP, l, up);
}

static void
ping_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup *sup = arg;
	struct timeval tv;
	char err[256];

	(void)fd;
	(void)ev;
	if (!sup->ping_inflight && !sup->stopping) {
		if (G->ping(sup->grpc, PING_TIMEOUT_MS, ping_done, sup, err,
		    sizeof(err)) == 0)
			sup->ping_inflight = 1;
		else
			log_warnx("Ping: %s", err);
	}
	tv.tv_sec = (time_t)(sup->conf->ping_interval_ms / 1000);
	tv.tv_usec = (suseconds_t)(sup->conf->ping_interval_ms % 1000) * 1000;
	evtimer_add(sup->ev_ping, &tv);
}

static size_t
count_self_heal(const struct sup_rule *rules, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (rules[i].conf->self_heal)
			k++;
	return k;
}

/* What the heal policy reads from the configuration. */
static void
orch_settings(struct sup *sup)
{
	const struct vtw_conf *c = sup->conf;

	sup->nself_heal = count_self_heal(sup->rules, sup->nrules);
	sup->heal_params.retry_initial_ms = c->retry_initial_ms;
	sup->heal_params.retry_max_ms = c->retry_max_ms;
	sup->heal_params.retry_attempts = c->retry_attempts;
	sup->heal_params.flap_limit = c->flap_limit;
	sup->heal_params.flap_holdoff_ms = c->flap_holdoff_ms;
}

static struct grpc_client *
orch_client_new(struct sup *sup, const struct vtw_conf *c, char *err,
    size_t errlen)
{
	struct grpc_opts o;

	if (grpc_load(c->worker_dir ? c->worker_dir : sup->self_dir, err,
	    errlen) == -1)
		return NULL;
	memset(&o, 0, sizeof(o));
	o.addr = c->orchestrator_addr;
	o.ca_file = c->tls_ca_file;
	o.cert_file = c->tls_cert_file;
	o.key_file = c->tls_key_file;
	o.instance = sup->instance_id;	/* who called, for the orchestrator */
	return G->client_new(sup->base, &o, err, errlen);
}

static int
str_same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The settings a client is made with. */
static int
orch_same(const struct vtw_conf *a, const struct vtw_conf *b)
{
	return str_same(a->orchestrator_addr, b->orchestrator_addr) &&
	    str_same(a->tls_ca_file, b->tls_ca_file) &&
	    str_same(a->tls_cert_file, b->tls_cert_file) &&
	    str_same(a->tls_key_file, b->tls_key_file) &&
	    str_same(a->worker_dir, b->worker_dir);
}

int
sup_orch_prepare(struct sup *sup, const struct vtw_conf *nc,
    const struct sup_rules_next *t, char *err, size_t errlen)
{
	struct grpc_client *gc;

	if (count_self_heal(t->rules, t->nrules) == 0)
		return sup->grpc != NULL;	/* the client goes */
	if (sup->grpc != NULL && orch_same(sup->conf, nc))
		return 0;
	/* the client the new settings need must be possible before
	 * anything running changes */
	if ((gc = orch_client_new(sup, nc, err, errlen)) == NULL)
		return -1;
	G->client_free(gc);
	return 1;
}

void
sup_orch_update(struct sup *sup, const struct vtw_conf *old)
{
	const struct vtw_conf *c = sup->conf;

	orch_settings(sup);
	if (old->breaker_failures != c->breaker_failures ||
	    old->breaker_open_ms != c->breaker_open_ms) {
		breaker_init(&sup->orch_breaker, c->breaker_failures,
		    c->breaker_open_ms, c->breaker_open_ms, 0, 0);
		if (sup->grpc != NULL)
			orch_breaker_gauge(sup);
	}
}

int
sup_orch_start(struct sup *sup, char *err, size_t errlen)
{
	struct vtw_conf *c = sup->conf;
	size_t i;

	orch_settings(sup);
	breaker_init(&sup->orch_breaker, c->breaker_failures,
	    c->breaker_open_ms, c->breaker_open_ms, 0, 0);
	sup->orch_up = -1;
	/* no call is out with a new client (a reload's were cancelled) */
	for (i = 0; i < sup->nrules; i++)
		sup->rules[i].heal.inflight = 0;
	if (sup->nself_heal == 0)
		return 0;	/* no client, no TLS state, no Ping, no gauge */
	orch_breaker_gauge(sup);
	if ((sup->grpc = orch_client_new(sup, c, err, errlen)) == NULL)
		return -1;
	if ((sup->ev_ping = evtimer_new(sup->base, ping_cb, sup)) == NULL)
		fatalx("evtimer_new");
	ping_cb(-1, 0, sup);	/* at startup, then every ping_interval */
	log_info("self-heal on for %zu rule%s via %s (%s)", sup->nself_heal,
	    sup->nself_heal == 1 ? "" : "s", c->orchestrator_addr,
	    c->tls_ca_file || c->tls_cert_file ? "TLS" : "plaintext h2c");
	return 0;
}

void
sup_orch_stop(struct sup *sup)
{
	const char *l[] = { sup->conf->orchestrator_addr };

	/* a reload may turn self-heal off: its series go with the client */
	if (sup->grpc != NULL) {
		metrics_remove_series(sup->metrics, METRIC_ORCH_CIRCUIT_STATE,
		    l);
		metrics_remove_series(sup->metrics, METRIC_ORCH_UP, l);
	}
	if (sup->ev_ping != NULL)
		event_free(sup->ev_ping);
	sup->ev_ping = NULL;
	/* in-flight callbacks run now, cancelled; they find no rule */
	sup->generation++;
	if (sup->grpc != NULL)
		G->client_free(sup->grpc);
	sup->grpc = NULL;
}

static struct sup_rule *
heal_call_rule(struct heal_call *hc)
{
	struct sup *sup = hc->sup;
	size_t i;

	if (hc->generation != sup->generation)
		return NULL;
	if (hc->rule_id < sup->nrules && sup->rules[hc->rule_id].uid == hc->uid)
		return &sup->rules[hc->rule_id];
	/* reloaded meanwhile: the rule, if it is still there unchanged */
	for (i = 0; i < sup->nrules; i++)
		if (sup->rules[i].uid == hc->uid)
			return &sup->rules[i];
	return NULL;
}

/* Statuses worth retrying; the rest means "this call will not work". */
static int
status_retryable(const struct grpc_result *res)
{
	if (res->transport)
		return 1;	/* connect, TLS, timeout, framing */
	switch (res->grpc_status) {
	case 1:		/* CANCELLED */
	case 2:		/* UNKNOWN */
	case 4:		/* DEADLINE_EXCEEDED */
	case 8:		/* RESOURCE_EXHAUSTED */
	case 10:	/* ABORTED */
	case 13:	/* INTERNAL */
	case 14:	/* UNAVAILABLE */
		return 1;
	default:
		return 0;
	}
}

static void
rule_heal_retry_at(struct sup_rule *r)
{
	uint64_t now = now_ms(), at = r->heal.next_ms;
	uint64_t wait = breaker_wait_ms(&r->sup->orch_breaker, now);
	struct timeval tv;

	if (now + wait > at)
		at = now + wait;
	/* re-poll then: the call goes out only if the drift is still there */
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	r->heal_due_ms = now + at;
	evtimer_add(r->ev_heal_retry, &tv);
}

static void
heal_done(const struct grpc_result *res, void *arg)
{
	struct heal_call *hc = arg;
	struct sup *sup = hc->sup;
	struct sup_rule *r = heal_call_rule(hc);
	char task[GRPC_SYNC_TASK_ID_MAX + 1], status[GRPC_SYNC_TASK_ID_MAX + 1];
	char err[512];
	struct jbuf f;
	int ok, retryable, changed, code;
	const char *dl[1];

	if (r == NULL) {
		free(hc);
		return;		/* reloaded or stopping meanwhile */
	}
	dl[0] = r->ds->name;
	ok = G->sync_decode(res, task, sizeof(task), status, sizeof(status),
	    err, sizeof(err)) == 0;
	/* a reply that does not decode is INTERNAL, retried (as grpc-go and
	 * grpc-java have it), not the OK the server sent with it */
	code = res->grpc_status;
	if (!ok && res->error == NULL)
		code = GRPC_STATUS_INTERNAL;
	retryable = ok ? 0 : code == GRPC_STATUS_INTERNAL ? 1 :
	    status_retryable(res);
	jbuf_init(&f);
	jbuf_field(&f, "rule", r->conf->name);
	jbuf_field(&f, "datasource", r->ds->name);
	jbuf_field(&f, "orchestrator", sup->conf->orchestrator_addr);
	jbuf_field_int(&f, "elapsed_ms", (long long)res->elapsed_ms);
	if (ok) {
		jbuf_field(&f, "task_id", task);
		jbuf_field(&f, "status", status);
		jbuf_field(&f, "result", "heal_accepted");
		log_fields(LOG_LVL_INFO, f.p, "heal requested for rule %s: "
		    "orchestrator task %s (%s)", r->conf->name, task, status);
		metrics_inc(sup->metrics, METRIC_HEAL_TOTAL, dl, 1);
		changed = breaker_success(&sup->orch_breaker);
	} else {
		jbuf_field(&f, "grpc_status", G->status_name(code));
		jbuf_field(&f, "error", err);
		jbuf_field(&f, "result", "heal_failed");
		jbuf_field(&f, "retry", retryable ? "yes" : "no");
		log_fields(LOG_LVL_WARN, f.p, "heal call for rule %s failed: %s",
		    r->conf->name, err);
		metrics_inc(sup->metrics, METRIC_HEAL_ERRORS_TOTAL, dl, 1);
		changed = breaker_failure(&sup->orch_breaker, now_ms());
	}
	jbuf_free(&f);
	if (changed)
		orch_breaker_changed(sup);
	heal_on_result(&r->heal, &sup->heal_params, ok, retryable, now_ms());
	if (!ok)
		rule_heal_retry_at(r);
	sup_shared_heal_changed(r);
	free(hc);
}

/* The retry timer: poll again now; a drift still there calls again. */
void
sup_heal_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup_rule *r = arg;
	struct timeval now0 = { 0, 0 };

	(void)fd;
	(void)ev;
	if (r->phase == RP_IDLE && !r->sup->stopping)
		evtimer_add(r->ev_timer, &now0);
}

/*
 * A signature of what drifted: keys, how and the values read (a truncated
 * value by its length and SHA-256), hashed with SHA-256 so that nobody who
 * writes the datasource can make a new drift look like the one healed
 * last; its first 64 bits are kept.
 */
static uint64_t
drift_signature(const struct diff_result *res)
{
	const struct diff_entry *arrs[3] = { res->changed, res->missing,
	    res->extra };
	size_t ns[3] = { res->nchanged, res->nmissing, res->nextra }, i, j;
	struct vtw_digest_ctx c;
	unsigned char d[VTW_DIGEST_LEN];
	uint64_t h, n;

	vtw_digest_init(&c);
	for (i = 0; i < 3; i++)
		for (j = 0; j < ns[i]; j++) {
			const struct diff_entry *e = &arrs[i][j];
			unsigned char kind = (unsigned char)i;

			/* length-prefixed, so no two lists read the same */
			vtw_digest_update(&c, &kind, 1);
			n = e->keylen;
			vtw_digest_update(&c, &n, sizeof(n));
			vtw_digest_update(&c, e->key, e->keylen);
			n = e->actual != NULL ? e->actual_full_len + 1 : 0;
			vtw_digest_update(&c, &n, sizeof(n));
			if (e->actual_digest != NULL)
				vtw_digest_update(&c, e->actual_digest,
				    VTW_DIGEST_LEN);
			else if (e->actual != NULL)
				vtw_digest_update(&c, e->actual,
				    e->actual_len);
		}
	vtw_digest_final(&c, d);
	memcpy(&h, d, sizeof(h));
	return h;
}

/* "drift in 3 keys: a, b, c" (names only, never values) */
static void
heal_reason(struct sup_rule *r, const struct diff_result *res)
{
	const struct diff_entry *arrs[3] = { res->changed, res->missing,
	    res->extra };
	size_t ns[3] = { res->nchanged, res->nmissing, res->nextra }, i, j;
	size_t shown = 0, total = ns[0] + ns[1] + ns[2];
	struct jbuf b;

	jbuf_init(&b);
	jbuf_printf(&b, "self-heal: drift in %zu key%s detected by "
	    "vartrack-watcher: ", total, total == 1 ? "" : "s");
	for (i = 0; i < 3 && shown < HEAL_REASON_KEYS; i++)
		for (j = 0; j < ns[i] && shown < HEAL_REASON_KEYS; j++) {
			if (shown++)
				jbuf_cat(&b, ", ");
			jbuf_printf(&b, "%.*s", (int)(arrs[i][j].keylen > 64 ?
			    64 : arrs[i][j].keylen), arrs[i][j].key);
		}
	if (total > shown)
		jbuf_printf(&b, " (+%zu more)", total - shown);
	snprintf(r->heal_reason, sizeof(r->heal_reason), "%s",
	    b.p ? b.p : "self-heal: drift detected by vartrack-watcher");
	jbuf_free(&b);
}

void
sup_rule_heal_ok(struct sup_rule *r)
{
	const char *rl[] = { r->ds->name, r->conf->name };
	struct jbuf f;

	if (!r->conf->self_heal)
		return;
	if (r->heal.flapping)
		metrics_set(r->sup->metrics, METRIC_HEAL_INEFFECTIVE, rl, 0);
	if (heal_on_ok(&r->heal)) {
		jbuf_init(&f);
		jbuf_field(&f, "rule", r->conf->name);
		jbuf_field(&f, "result", "heal_verified");
		log_fields(LOG_LVL_INFO, f.p, "heal verified: rule %s matches "
		    "Git again", r->conf->name);
		jbuf_free(&f);
	}
}

void
sup_rule_heal_drift(struct sup_rule *r, const struct diff_result *res)
{
	struct sup *sup = r->sup;
	const char *rl[] = { r->ds->name, r->conf->name };
	struct grpc_sync_req req;
	struct heal_call *hc;
	enum heal_decision d;
	char err[256];
	struct jbuf f;
	uint64_t now = now_ms();

	if (!r->conf->self_heal || sup->grpc == NULL)
		return;
	/* only the leader heals, and only while its lock is surely its own
	 * (lead.h): checked here, right before the policy may call */
	if (!sup_ha_may_heal(sup))
		return;
	/* a new leader first reads how far the last one got */
	if (sup_shared_hold(r))
		return;
	if (r->ev_heal_retry == NULL &&
	    (r->ev_heal_retry = evtimer_new(sup->base, sup_heal_retry_cb, r)) ==
	    NULL)
		fatalx("evtimer_new");
	heal_reason(r, res);
	d = heal_on_drift(&r->heal, &sup->heal_params, drift_signature(res),
	    now);
	if (d == HEAL_FLAP_DETECTED) {
		jbuf_init(&f);
		jbuf_field(&f, "rule", r->conf->name);
		jbuf_field(&f, "datasource", r->ds->name);
		jbuf_field(&f, "result", "heal_ineffective");
		jbuf_field(&f, "reason", r->heal_reason);
		jbuf_field_int(&f, "holdoff_ms",
		    (long long)(r->heal.holdoff_until - now));
		log_fields(LOG_LVL_WARN, f.p, "heal ineffective for rule %s: "
		    "the same drift came back after %u accepted heals; "
		    "something keeps re-writing these keys. No heal calls "
		    "for %llu ms", r->conf->name, sup->heal_params.flap_limit,
		    (unsigned long long)(r->heal.holdoff_until - now));
		jbuf_free(&f);
		metrics_set(sup->metrics, METRIC_HEAL_INEFFECTIVE, rl, 1);
		return;
	}
	if (d != HEAL_CALL) {
		log_debug("rule %s: no heal call: %s", r->conf->name,
		    heal_decision_name(d));
		return;
	}
	if (!breaker_allow(&sup->orch_breaker, now)) {
		/* fail fast: no call while the circuit is open */
		r->heal.inflight = 0;
		log_debug("rule %s: orchestrator circuit open, no heal call",
		    r->conf->name);
		rule_heal_retry_at(r);
		return;
	}
	if (sup->orch_breaker.state == BR_HALF_OPEN)
		orch_breaker_changed(sup);
	memset(&req, 0, sizeof(req));
	req.datasource = r->ds->name;
	req.platform = r->conf->platform;
	req.tenant = r->conf->tenant_id;
	req.env = r->layout->env;
	req.reason = r->heal_reason;
	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		fatal("calloc");
	hc->sup = sup;
	hc->rule_id = r->conf->id;
	hc->uid = r->uid;
	hc->generation = sup->generation;
	hc->started_ms = now;
	if (G->sync_datasource(sup->grpc, &req, sup->conf->heal_timeout_ms,
	    heal_done, hc, err, sizeof(err)) == -1) {
		free(hc);
		log_warnx("rule %s: cannot start the heal call: %s",
		    r->conf->name, err);
		heal_on_result(&r->heal, &sup->heal_params, 0, 1, now);
		rule_heal_retry_at(r);
		return;
	}
	jbuf_init(&f);
	jbuf_field(&f, "rule", r->conf->name);
	jbuf_field(&f, "datasource", r->ds->name);
	jbuf_field(&f, "reason", r->heal_reason);
	jbuf_field(&f, "result", "heal_call");
	log_fields(LOG_LVL_INFO, f.p, "calling SyncDatasource on %s for rule "
	    "%s", sup->conf->orchestrator_addr, r->conf->name);
	jbuf_free(&f);
}
