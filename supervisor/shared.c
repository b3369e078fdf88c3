/*
 * Shared state between replicas (watcher.ha.state: redis): after each poll
 * the leader writes each rule's record, standbys read it back.
 *
 *   vtwatch:rule:<rule id>   a hash, expiring (dead rules disappear):
 *     v        1 (this layout)
 *     by       the instance that wrote it
 *     at       when (Unix ms)
 *     commit   the Git commit compared against
 *     digest   SHA-256 of the expected map built from it
 *     result   ok | drift | unknown, since (Unix ms) that result began
 *     drifted  the drifted key names (JSON array, names only, capped)
 *     heal     heal attempts, back-off and flap guard in force (shrec.h)
 *
 * Standbys say when their Git is at another commit than the leader's, or
 * builds another map from the same commit, and keep the leader's heal
 * state as their own, so a new leader continues it: no fresh round of
 * calls for a drift the old leader was backing off from or gave up on.
 * A replica that becomes leader reads every record before its first heal
 * call. The store is an aid, not a master: when it does not answer, each
 * replica works from its own state (and says so).
 *
 * Same hiredis-async-on-libevent discipline as ha.c: every operation is
 * bounded by our own timer (hiredis 0.14 has none).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "log.h"
#include "rconn.h"
#include "shrec.h"
#include "sup.h"

#define SH_TICK_MS		250
#define SH_OP_TIMEOUT_MS	2000	/* the Go watcher's per-operation 2 s */
#define SH_RETRY_MS		1000	/* between connection attempts */
#define SH_TTL_MIN_MS		600000	/* a record outlives 10 polls, or this */
#define SH_KEY_PREFIX		"vtwatch:rule:"
#define SH_DRIFTED_MAX		100	/* names kept in a record */
#define SH_NAME_MAX		256	/* bytes of one name kept */

struct sup_shared {
	struct sup		*sup;
	struct rconn		 rc;
	unsigned int		 npending;	/* replies awaited */
	uint64_t		 busy_ms;	/* since then without one */
	uint64_t		 retry_ms;	/* no connection attempt before */
	int			 up, was_up;	/* -1 not yet known */
	char			 why[256];
	int			 was_leading;
	struct event		*ev_tick;
};

/* what a read is for */
struct sh_read {
	struct sup_shared	*sh;
	uint64_t		 uid;		/* of the rule */
	int			 takeover;	/* the leader's first read */
};

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sh_clock(struct shrec_clock *c)
{
	c->mono_ms = now_ms();
	c->wall_ms = wall_ms();
}

static void
sh_updown(struct sup_shared *sh, int up)
{
	sh->up = up;
	if (sh->up == sh->was_up)
		return;
	if (up)
		log_info("shared state: redis %s:%d db %d answers",
		    sh->rc.host, sh->rc.port, sh->rc.db);
	else
		log_warnx("shared state: redis %s:%d unreachable (%s): each "
		    "replica works from its own state until it answers",
		    sh->rc.host, sh->rc.port, sh->rc.why);
	sh->was_up = up;
}

/* the connection went: no reply is coming, connect again in a while */
static void
sh_lost(struct rconn *rc)
{
	struct sup_shared *sh = rc->owner;

	sh->npending = 0;
	sh->retry_ms = now_ms() + SH_RETRY_MS;
	sh_updown(sh, 0);
}

/* A reply (or NULL: dropped) to one of ours: the bookkeeping of all. */
static void
sh_replied(struct sup_shared *sh, const redisReply *reply)
{
	if (sh->npending > 0 && --sh->npending > 0)
		sh->busy_ms = now_ms();	/* progress: the next one's turn */
	if (reply == NULL)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		rconn_error(&sh->rc, "error reply", reply->str);
		sh_updown(sh, 0);
	} else
		sh_updown(sh, 1);
}

static void
sh_plain_cb(redisAsyncContext *ac, void *r, void *arg)
{
	(void)arg;
	sh_replied(((struct rconn *)ac->data)->owner, r);
}

/* A command with argv; -1 when the store cannot be asked now. */
static int
sh_send(struct sup_shared *sh, redisCallbackFn *fn, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (sh->rc.ac == NULL && now_ms() < sh->retry_ms) {
		sh_updown(sh, 0);
		return -1;
	}
	if (sh->rc.ac == NULL)
		sh->retry_ms = now_ms() + SH_RETRY_MS;
	if (rconn_send(&sh->rc, fn, arg, argc, argv, lens) == -1) {
		rconn_drop(&sh->rc);
		sh_updown(sh, 0);
		return -1;
	}
	if (sh->npending++ == 0)
		sh->busy_ms = now_ms();
	return 0;
}

static void
sh_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup_shared *sh = arg;

	(void)fd;
	(void)ev;
	if (sh->rc.ac != NULL && sh->npending > 0 &&
	    now_ms() - sh->busy_ms > SH_OP_TIMEOUT_MS) {
		rconn_error(&sh->rc, "no answer within 2 s", NULL);
		rconn_drop(&sh->rc);	/* sh_lost */
	}
}

static void
sh_key(const struct sup_rule *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", SH_KEY_PREFIX, r->conf->sid);
}

static struct sup_rule *
sh_rule(struct sup *sup, uint64_t uid)
{
	size_t i;

	for (i = 0; i < sup->nrules; i++)
		if (sup->rules[i].uid == uid)
			return &sup->rules[i];
	return NULL;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* The drifted key names of a poll, as the record keeps them. */
static char *
drifted_json(const struct diff_result *res)
{
	const struct diff_entry *arrs[3] = { res->changed, res->missing,
	    res->extra };
	size_t ns[3] = { res->nchanged, res->nmissing, res->nextra }, i, j;
	json_t *a = json_array(), *s;
	char *out;

	if (a == NULL)
		return NULL;
	for (i = 0; i < 3; i++)
		for (j = 0; j < ns[i] && json_array_size(a) < SH_DRIFTED_MAX;
		    j++) {
			const struct diff_entry *e = &arrs[i][j];
			size_t n = e->keylen > SH_NAME_MAX ? SH_NAME_MAX :
			    e->keylen;

			/* a name that is not UTF-8 (or cut inside a
			 * character) is left out */
			if ((s = json_stringn(e->key, n)) != NULL)
				json_array_append_new(a, s);
		}
	out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return out;
}

/* The leader's record of rule r, pipelined with its expiry. */
static void
sh_write(struct sup_shared *sh, struct sup_rule *r)
{
	struct sup *sup = sh->sup;
	struct shrec_clock ck;
	const char *argv[24];
	size_t lens[24];
	char key[CONF_RULE_ID_MAX + 32], at[24], since[24], ttl[24];
	char digest[2 * VTW_DIGEST_LEN + 1] = "", *heal = NULL;
	uint64_t t;
	int n = 0;

	if (r->baseline == NULL)
		return;		/* nothing compared yet */
	sh_clock(&ck);
	sh_key(r, key, sizeof(key));
	snprintf(at, sizeof(at), "%llu", (unsigned long long)ck.wall_ms);
	snprintf(since, sizeof(since), "%llu",
	    (unsigned long long)r->sh_since_wall);
	if (r->bl_digest_set)
		hex(r->bl_digest, VTW_DIGEST_LEN, digest);
#define ARG(s) do { argv[n] = (s); lens[n] = strlen(argv[n]); n++; } while (0)
	ARG("HSET");
	ARG(key);
	ARG("v");	ARG("1");
	ARG("by");	ARG(sup->instance_id);
	ARG("at");	ARG(at);
	ARG("commit");	ARG(r->commit);
	ARG("digest");	ARG(digest);
	ARG("result");	ARG(shrec_result_name((enum shrec_result)r->last_state));
	ARG("since");	ARG(since);
	ARG("drifted");	ARG(r->sh_drifted != NULL ? r->sh_drifted : "[]");
	if (r->conf->self_heal &&
	    (heal = shrec_heal_encode(&r->heal, &ck)) != NULL) {
		ARG("heal");
		ARG(heal);
	}
#undef ARG
	if (sh_send(sh, sh_plain_cb, NULL, n, argv, lens) == 0) {
		t = r->interval_ms * 10 > SH_TTL_MIN_MS ? r->interval_ms * 10 :
		    SH_TTL_MIN_MS;
		snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)t);
		argv[0] = "PEXPIRE";
		argv[1] = key;
		argv[2] = ttl;
		lens[0] = 7;
		lens[1] = strlen(key);
		lens[2] = strlen(ttl);
		sh_send(sh, sh_plain_cb, NULL, 3, argv, lens);
	}
	free(heal);
}

/* a field of an HGETALL reply, or NULL */
static const redisReply *
field(const redisReply *rep, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < rep->elements; i += 2)
		if (rep->element[i]->type == REDIS_REPLY_STRING &&
		    rep->element[i]->len == strlen(name) &&
		    memcmp(rep->element[i]->str, name, rep->element[i]->len) ==
		    0)
			return rep->element[i + 1]->type == REDIS_REPLY_STRING ?
			    rep->element[i + 1] : NULL;
	return NULL;
}

/* Say something about rule r once, until it says something else. */
static int
sh_once(struct sup_rule *r, const char *what)
{
	uint64_t h = kv_fnv1a64(what, strlen(what));

	if (r->sh_logged == h)
		return 0;
	r->sh_logged = h;
	return 1;
}

/* A standby compares its Git with what the leader compared against. */
static void
sh_compare(struct sup_rule *r, const redisReply *rep, const char *by)
{
	const redisReply *c = field(rep, "commit"), *d = field(rep, "digest");
	char mine[2 * VTW_DIGEST_LEN + 1] = "", what[160];

	if (c == NULL || r->baseline == NULL || c->len == 0)
		return;
	/* the next baselines are built from the leader's commit while the
	 * branch fetched here has it (worker_git.c) */
	r->sh_want[0] = '\0';
	if (c->len == 40 && strspn(c->str, "0123456789abcdef") >= 40)
		snprintf(r->sh_want, sizeof(r->sh_want), "%.40s", c->str);
	if (c->len != strlen(r->commit) || memcmp(c->str, r->commit,
	    c->len) != 0) {
		snprintf(what, sizeof(what), "c %.*s %s", (int)(c->len > 64 ?
		    64 : c->len), c->str, r->commit);
		if (sh_once(r, what))
			log_info("rule %s: Git here is at commit %.12s, the "
			    "leader %s compared against %.*s (a push on its "
			    "way?); this replica compares against the "
			    "leader's commit while its fetch has it",
			    r->conf->name, r->commit, by, (int)(c->len > 12 ?
			    12 : c->len), c->str);
		return;
	}
	if (d == NULL || d->len == 0 || !r->bl_digest_set)
		return;
	hex(r->bl_digest, VTW_DIGEST_LEN, mine);
	if (d->len != strlen(mine) || memcmp(d->str, mine, d->len) != 0) {
		snprintf(what, sizeof(what), "d %.*s", (int)(d->len > 64 ?
		    64 : d->len), d->str);
		if (sh_once(r, what))
			log_warnx("rule %s: same commit %.12s, but the expected "
			    "map built here (sha256 %s) is not the leader %s's "
			    "(sha256 %.*s): two versions of the watcher parse "
			    "these files differently?", r->conf->name,
			    r->commit, mine, by, (int)(d->len > 64 ? 64 :
			    d->len), d->str);
		return;
	}
	sh_once(r, "same");
}

/* The heal state in the record, as this replica's own. */
static void
sh_adopt(struct sup_rule *r, const redisReply *rep, const char *by,
    int takeover)
{
	const redisReply *h = field(rep, "heal");
	struct shrec_clock ck;
	struct heal_state st;
	char key[CONF_RULE_ID_MAX + 32], err[256];
	uint64_t now;

	if (!r->conf->self_heal || h == NULL)
		return;
	sh_clock(&ck);
	if (shrec_heal_decode(h->str, h->len, &st, &ck, err,
	    sizeof(err)) == -1) {
		sh_key(r, key, sizeof(key));
		if (sh_once(r, err))
			log_warnx("shared state %s (rule %s): %s; this replica "
			    "keeps its own heal state", key, r->conf->name,
			    err);
		return;
	}
	st.inflight = r->heal.inflight;	/* ours, if any, still answers */
	r->heal = st;
	if (!takeover)
		return;
	now = ck.mono_ms;
	if (st.holdoff_until > now)
		log_info("rule %s: heal state taken over from %s: flap guard "
		    "holding off for %llu ms more", r->conf->name, by,
		    (unsigned long long)(st.holdoff_until - now));
	else if (st.in_event && st.next_ms > now)
		log_info("rule %s: heal state taken over from %s: %u failed "
		    "call%s, next in %llu ms", r->conf->name, by, st.attempts,
		    st.attempts == 1 ? "" : "s",
		    (unsigned long long)(st.next_ms - now));
	else if (st.in_event)
		log_info("rule %s: heal state taken over from %s", r->conf->name,
		    by);
}

static void
sh_read_cb(redisAsyncContext *ac, void *rp, void *arg)
{
	struct sh_read *rd = arg;
	struct sup_shared *sh = rd->sh;
	redisReply *rep = rp;
	struct sup_rule *r;
	const redisReply *by;
	char who[128] = "another instance";
	int takeover = rd->takeover;
	struct timeval now0 = { 0, 0 };

	(void)ac;
	sh_replied(sh, rep);
	r = sh_rule(sh->sup, rd->uid);
	free(rd);
	if (r == NULL)
		return;		/* reloaded away meanwhile */
	if (takeover)
		r->sh_pending = 0;
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements >= 2 && rep->elements % 2 == 0) {
		if ((by = field(rep, "by")) != NULL)
			snprintf(who, sizeof(who), "%.*s", (int)(by->len > 100 ?
			    100 : by->len), by->str);
		if (!takeover)
			sh_compare(r, rep, who);
		/* our own record says nothing new */
		if (by == NULL || strcmp(who, sh->sup->instance_id) != 0)
			sh_adopt(r, rep, who, takeover);
	}
	/* the takeover held a heal back: decide it now */
	if (takeover && r->last_state == 2 && r->phase == RP_IDLE &&
	    !sh->sup->stopping)
		evtimer_add(r->ev_timer, &now0);
}

static int
sh_read(struct sup_shared *sh, struct sup_rule *r, int takeover)
{
	struct sh_read *rd;
	char key[CONF_RULE_ID_MAX + 32];
	const char *argv[2] = { "HGETALL", key };
	size_t lens[2];

	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		fatal("calloc");
	rd->sh = sh;
	rd->uid = r->uid;
	rd->takeover = takeover;
	sh_key(r, key, sizeof(key));
	lens[0] = 7;
	lens[1] = strlen(key);
	if (sh_send(sh, sh_read_cb, rd, 2, argv, lens) == -1) {
		free(rd);
		return -1;
	}
	return 0;
}

int
sup_shared_start(struct sup *sup, char *err, size_t errlen)
{
	const struct conf_ha *c = &sup->conf->ha;
	struct sup_shared *sh;
	struct timeval tv = { 0, SH_TICK_MS * 1000 };
	char why[256];

	if (!c->state_redis)
		return 0;
	if ((sh = calloc(1, sizeof(*sh))) == NULL)
		fatal("calloc");
	sh->sup = sup;
	sh->up = sh->was_up = -1;
	if (rconn_init(&sh->rc, sup->base, sh, c->redis_hosts[0],
	    c->redis_password.value, c->redis_state_db, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "ha.redis.hosts: %s", why);
		free(sh);
		return -1;
	}
	sh->rc.lost = sh_lost;
	if ((sh->ev_tick = event_new(sup->base, -1, EV_PERSIST, sh_tick_cb,
	    sh)) == NULL)
		fatalx("event_new");
	evtimer_add(sh->ev_tick, &tv);
	sup->shared = sh;
	log_info("shared state: rules' records in redis %s:%d db %d as "
	    SH_KEY_PREFIX "<rule id>", sh->rc.host, sh->rc.port, sh->rc.db);
	return 0;
}

void
sup_shared_free(struct sup *sup)
{
	struct sup_shared *sh = sup->shared;

	if (sh == NULL)
		return;
	sup->shared = NULL;
	if (sh->ev_tick != NULL)
		event_free(sh->ev_tick);
	rconn_free(&sh->rc);	/* read callbacks run: they free */
	free(sh);
}

void
sup_shared_baseline(struct sup_rule *r)
{
	struct vtw_digest_ctx d;
	size_t i;
	uint64_t n;

	if (r->sup->shared == NULL || r->baseline == NULL)
		return;
	vtw_digest_init(&d);
	for (i = 0; i < r->baseline->n; i++) {
		const struct kv_entry *e = &r->baseline->ents[i];

		n = e->keylen;
		vtw_digest_update(&d, &n, sizeof(n));
		vtw_digest_update(&d, e->key, e->keylen);
		n = e->vallen;
		vtw_digest_update(&d, &n, sizeof(n));
		vtw_digest_update(&d, e->val, e->vallen);
	}
	vtw_digest_final(&d, r->bl_digest);
	r->bl_digest_set = 1;
}

void
sup_shared_report(struct sup_rule *r, const struct diff_result *res)
{
	struct sup_shared *sh = r->sup->shared;

	if (sh == NULL)
		return;
	if (r->sh_since_state != r->last_state) {
		r->sh_since_state = r->last_state;
		r->sh_since_wall = wall_ms();
	}
	free(r->sh_drifted);
	r->sh_drifted = res != NULL ? drifted_json(res) : NULL;
	if (sup_ha_may_heal(r->sup)) {
		r->sh_want[0] = '\0';	/* the leader's own Git rules */
		sh_write(sh, r);
		return;
	}
	sh->was_leading = 0;
	sh_read(sh, r, 0);
}

void
sup_shared_heal_changed(struct sup_rule *r)
{
	struct sup_shared *sh = r->sup->shared;

	if (sh != NULL && sup_ha_may_heal(r->sup))
		sh_write(sh, r);
}

void
sup_shared_standby(struct sup *sup)
{
	if (sup->shared != NULL)
		sup->shared->was_leading = 0;
}

int
sup_shared_hold(struct sup_rule *r)
{
	struct sup *sup = r->sup;
	struct sup_shared *sh = sup->shared;
	size_t i, asked = 0;

	if (sh == NULL)
		return 0;
	if (!sh->was_leading) {
		/* just became leader: what did the last one leave? */
		sh->was_leading = 1;
		for (i = 0; i < sup->nrules; i++) {
			struct sup_rule *o = &sup->rules[i];

			if (!o->conf->self_heal)
				continue;
			o->sh_pending = sh_read(sh, o, 1) == 0;
			asked += o->sh_pending;
		}
		if (asked == 0)
			log_warnx("shared state unreachable (%s): this leader "
			    "heals from its own heal state", sh->rc.why[0] ?
			    sh->rc.why : "not connected");
	}
	if (r->sh_pending)
		log_debug("rule %s: heal waits for the shared heal state",
		    r->conf->name);
	return r->sh_pending;
}
