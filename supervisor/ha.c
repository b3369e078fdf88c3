/*
 * Several replicas, one leader (watcher.ha): the part every backend shares
 * (lead.c's tick, metrics, logs; ha.h) and the backend redis. ZooKeeper's
 * is ha_zk.c.
 *
 * Backend redis: the Go
 * watcher's lock (interop §8.3: same key, database and scripts) taken and
 * renewed on the supervisor's event loop with hiredis's async API, every
 * operation bounded by a libevent timer of ours (hiredis 0.14 has no async
 * timeouts, backends-http-ha.md §5.4). The decisions are lead.c's; this
 * file only carries them to Redis and back.
 *
 * The instance id (default hostname:pid:random) is unique per process and
 * is the lock's value; every heal call carries it as gRPC metadata.
 * Limits: hiredis resolves a host name synchronously (give an address);
 * one Redis server (no Sentinel, no Redlock: an efficiency lock, §5.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ha.h"
#include "lead.h"
#include "log.h"
#include "sup.h"

#define HA_TICK_MS		100
#define HA_OP_TIMEOUT_MS	2000	/* the Go watcher's per-operation 2 s */

/* SET NX PX, else who holds it (our own lock after a late grant is
 * renewed, not lost); { 1 | 0, holder } */
static const char ACQUIRE[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
    "return {1, ARGV[1]} end "
    "local h = redis.call('GET', KEYS[1]) "
    "if h == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "return {1, h} end "
    "return {0, h or ''}";
/* the Go watcher's renew and release */
static const char RENEW[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
static const char RELEASE[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) else return 0 end";

static void ha_changed(struct sup_ha *);

void
ha_store_error(struct sup_ha *h, const char *fmt, const char *what)
{
	snprintf(h->why, sizeof(h->why), fmt, what);
}

static void
ha_reply_cb(redisAsyncContext *ac, void *r, void *arg)
{
	struct sup_ha *h = ((struct rconn *)ac->data)->owner;
	redisReply *reply = r;
	uint64_t seq = (uint64_t)(uintptr_t)arg;
	enum lead_op op = h->st.out;
	enum lead_result res = LEAD_FAILED;

	if (seq != h->st.seq)
		return;		/* given up on */
	if (reply == NULL)
		ha_store_error(h, "%s", ac->errstr[0] ? ac->errstr :
		    "connection lost");
	else if (reply->type == REDIS_REPLY_ERROR)
		ha_store_error(h, "%s", reply->str);
	else if (op == LEAD_OP_ACQUIRE && reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER) {
		res = reply->element[0]->integer == 1 ? LEAD_GRANTED : LEAD_HELD;
		if (reply->element[1]->type == REDIS_REPLY_STRING)
			snprintf(h->holder, sizeof(h->holder), "%.*s",
			    (int)reply->element[1]->len,
			    reply->element[1]->str);
	} else if (op == LEAD_OP_RENEW && reply->type == REDIS_REPLY_INTEGER) {
		res = reply->integer == 1 ? LEAD_GRANTED : LEAD_HELD;
		if (res == LEAD_HELD)
			h->holder[0] = '\0';	/* someone; the next try says */
	} else if (op == LEAD_OP_RELEASE)
		res = LEAD_GRANTED;
	else
		ha_store_error(h, "%s", "unexpected reply to the lock script");
	ha_result(h, seq, res);
}

void
ha_result(struct sup_ha *h, uint64_t seq, enum lead_result res)
{
	enum lead_op op = h->st.out;

	if (seq != h->st.seq)
		return;		/* given up on */
	if (lead_reply(&h->st, &h->p, seq, res, now_ms()) || op ==
	    LEAD_OP_RELEASE || h->st.store_up != h->was_up)
		ha_changed(h);
}

void
ha_suspend(struct sup_ha *h)
{
	if (lead_suspend(&h->st)) {
		h->suspended = 1;
		ha_changed(h);
	} else if (h->st.store_up != h->was_up)
		ha_changed(h);
}

static void
ha_send(struct sup_ha *h, enum lead_op op, uint64_t seq)
{
	const char *script = op == LEAD_OP_ACQUIRE ? ACQUIRE :
	    op == LEAD_OP_RENEW ? RENEW : RELEASE;
	const char *argv[6];
	size_t lens[6];
	char lease[32];
	int i;

	if (h->zk != NULL) {
		ha_zk_send(h, op, seq);
		return;
	}
	snprintf(lease, sizeof(lease), "%llu",
	    (unsigned long long)h->p.lease_ms);
	argv[0] = "EVAL";
	argv[1] = script;
	argv[2] = "1";
	argv[3] = h->key;
	argv[4] = h->sup->instance_id;
	argv[5] = lease;
	for (i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	if (rconn_send(&h->rc, ha_reply_cb, (void *)(uintptr_t)seq, 6, argv,
	    lens) == -1) {
		ha_store_error(h, "%s", h->rc.why);
		rconn_drop(&h->rc);
		ha_result(h, seq, LEAD_FAILED);
	}
}

/* Leadership or the store's state changed: log, metrics, callers. */
static void
ha_changed(struct sup_ha *h)
{
	struct sup *sup = h->sup;
	const char *il[] = { sup->instance_id };
	const char *bl[] = { h->backend };
	struct jbuf f;
	int up = h->st.store_up == 1, suspended = h->suspended;

	h->suspended = 0;
	if (h->st.store_up != h->was_up) {
		if (up)
			log_info("election store %s answers", h->where);
		else
			log_warnx("election store %s unreachable (%s): nobody "
			    "heals until it answers; detection goes on",
			    h->where, h->why);
		h->was_up = h->st.store_up;
		metrics_set(sup->metrics, METRIC_ELECTION_UP, bl, up);
	}
	if (!!sup->leading == !!h->st.leader) {
		if (h->st.out == LEAD_OP_NONE && h->st.released &&
		    h->released != NULL) {
			void (*done)(struct sup *) = h->released;

			h->released = NULL;
			done(sup);
		}
		return;
	}
	sup->leading = h->st.leader;
	metrics_set(sup->metrics, METRIC_LEADER, il, sup->leading);
	metrics_inc(sup->metrics, METRIC_LEADER_TRANSITIONS_TOTAL, il, 1);
	jbuf_init(&f);
	jbuf_field(&f, "instance", sup->instance_id);
	jbuf_field(&f, "role", sup->leading ? "leader" : "standby");
	if (sup->leading)
		log_fields(LOG_LVL_INFO, f.p, "leader: this instance (%s) "
		    "holds %s and heals", sup->instance_id, h->key);
	else if (h->st.released)
		log_fields(LOG_LVL_INFO, f.p, "leadership released");
	else
		log_fields(LOG_LVL_WARN, f.p, "standby: no longer leader (%s); "
		    "healing stops", suspended ? "the connection to the "
		    "election store dropped" : h->st.store_up == 1 ? "the lock "
		    "is another's" : "no renewal within renew_deadline");
	jbuf_free(&f);
}

static void
ha_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sup_ha *h = arg;
	uint64_t now = now_ms(), seq, before = h->st.seq;
	enum lead_op op;

	(void)fd;
	(void)ev;
	if (h->zk != NULL)
		ha_zk_tick(h);
	if (lead_tick(&h->st, &h->p, now) || h->st.store_up != h->was_up) {
		if (h->st.seq != before)
			ha_store_error(h, "%s", "no answer within 2 s");
		ha_changed(h);
	}
	if (h->st.seq != before && h->zk == NULL)
		rconn_drop(&h->rc);	/* timed out: a stuck connection goes */
	if (h->st.released) {
		if (h->st.out == LEAD_OP_NONE)
			ha_changed(h);	/* release given up on */
		return;
	}
	if ((op = lead_due(&h->st, &h->p, now, &seq)) != LEAD_OP_NONE)
		ha_send(h, op, seq);
}

int
sup_ha_start(struct sup *sup, char *err, size_t errlen)
{
	const struct conf_ha *c = &sup->conf->ha;
	struct sup_ha *h;
	struct timeval tv = { 0, HA_TICK_MS * 1000 };

	if (c->backend == HA_NONE) {
		sup->leading = 1;	/* alone: always leads */
		return 0;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("calloc");
	h->sup = sup;
	h->standbys_poll = c->standbys_poll;
	h->p.lease_ms = c->lease_ms;
	h->p.renew_interval_ms = c->renew_interval_ms;
	h->p.renew_deadline_ms = c->renew_deadline_ms;
	h->p.op_timeout_ms = HA_OP_TIMEOUT_MS < c->renew_interval_ms ?
	    HA_OP_TIMEOUT_MS : c->renew_interval_ms;
	h->was_up = -1;
	h->backend = c->backend == HA_ZOOKEEPER ? "zookeeper" : "redis";
	lead_init(&h->st, now_ms());
	if (c->backend == HA_ZOOKEEPER) {
		if (ha_zk_start(h, c, err, errlen) == -1) {
			ha_zk_free(h);
			free(h->key);
			free(h);
			return -1;
		}
	} else if (rconn_init(&h->rc, sup->base, h, c->redis_hosts[0],
	    c->redis_password.value, c->redis_db, h->why,
	    sizeof(h->why)) == -1) {
		snprintf(err, errlen, "ha.redis.hosts: %s", h->why);
		free(h);
		return -1;
	} else {
		if ((h->key = strdup(c->redis_key)) == NULL)
			fatal("strdup");
		snprintf(h->where, sizeof(h->where), "redis %s:%d",
		    h->rc.host, h->rc.port);
	}
	if ((h->ev_tick = event_new(sup->base, -1, EV_PERSIST, ha_tick_cb,
	    h)) == NULL)
		fatalx("event_new");
	evtimer_add(h->ev_tick, &tv);
	sup->ha = h;
	sup->leading = 0;
	{
		const char *il[] = { sup->instance_id };
		const char *bl[] = { h->backend };

		metrics_set(sup->metrics, METRIC_LEADER, il, 0);
		metrics_touch(sup->metrics, METRIC_LEADER_TRANSITIONS_TOTAL,
		    il);
		metrics_set(sup->metrics, METRIC_ELECTION_UP, bl, 0);
	}
	if (h->zk == NULL)
		log_info("high availability: instance %s elects through redis "
		    "%s:%d db %d key %s (lease %llu ms)", sup->instance_id,
		    h->rc.host, h->rc.port, h->rc.db, h->key,
		    (unsigned long long)h->p.lease_ms);
	ha_tick_cb(-1, 0, h);	/* try at once */
	return 0;
}

int
sup_ha_may_heal(const struct sup *sup)
{
	if (sup->ha == NULL)
		return 1;	/* no election at start: this replica leads */
	return lead_may_heal(&sup->ha->st, &sup->ha->p, now_ms());
}

const char *
sup_ha_why_not(const struct sup *sup, char *buf, size_t len)
{
	const struct sup_ha *h = sup->ha;

	if (h == NULL)
		snprintf(buf, len, "stopping");
	else if (h->st.store_up != 1)
		snprintf(buf, len, "no leader: election store unreachable");
	else if (h->holder[0] != '\0' &&
	    strcmp(h->holder, sup->instance_id) != 0)
		snprintf(buf, len, "deferred to leader %s", h->holder);
	else
		snprintf(buf, len, "deferred to the leader");
	return buf;
}

int
sup_ha_standby_idle(const struct sup *sup)
{
	return sup->ha != NULL && !sup->ha->standbys_poll &&
	    !sup_ha_may_heal(sup);
}

/* What a reload cannot change: the election runs on as it started. */
int
sup_ha_differs(const struct sup *sup, const struct vtw_conf *nc)
{
	const struct conf_ha *a = &sup->conf->ha, *b = &nc->ha;

#define SDIFF(x, y) (((x) == NULL) != ((y) == NULL) || \
	    ((x) != NULL && strcmp((x), (y)) != 0))
	return a->backend != b->backend || a->lease_ms != b->lease_ms ||
	    a->renew_interval_ms != b->renew_interval_ms ||
	    a->renew_deadline_ms != b->renew_deadline_ms ||
	    a->redis_db != b->redis_db || a->standbys_poll != b->standbys_poll ||
	    a->nredis_hosts != b->nredis_hosts ||
	    (a->nredis_hosts > 0 && SDIFF(a->redis_hosts[0], b->redis_hosts[0])) ||
	    SDIFF(a->redis_key, b->redis_key) ||
	    SDIFF(a->instance_id, b->instance_id) ||
	    a->nzk_hosts != b->nzk_hosts || (a->nzk_hosts > 0 &&
	    SDIFF(a->zk_hosts[0], b->zk_hosts[0])) ||
	    SDIFF(a->zk_path, b->zk_path) ||
	    a->zk_session_timeout_ms != b->zk_session_timeout_ms ||
	    SDIFF(a->redis_password.value, b->redis_password.value);
#undef SDIFF
}

void
sup_ha_release(struct sup *sup, void (*done)(struct sup *))
{
	struct sup_ha *h = sup->ha;
	uint64_t seq;

	if (h == NULL || h->st.released) {
		done(sup);
		return;
	}
	if (h->zk != NULL) {
		/* closing the session deletes our node, leader or not (a
		 * standby's would otherwise wait for its expiry in line) */
		int was = lead_release(&h->st, now_ms(), &seq) != LEAD_OP_NONE;

		ha_changed(h);
		ha_zk_close(h);
		if (was)
			lead_reply(&h->st, &h->p, seq, LEAD_GRANTED, now_ms());
		done(sup);
		return;
	}
	if (lead_release(&h->st, now_ms(), &seq) == LEAD_OP_NONE) {
		done(sup);
		return;
	}
	h->released = done;
	ha_changed(h);		/* no longer leads: metrics, log */
	ha_send(h, LEAD_OP_RELEASE, seq);
}

void
sup_ha_free(struct sup *sup)
{
	struct sup_ha *h = sup->ha;

	if (h == NULL)
		return;
	sup->ha = NULL;
	if (h->ev_tick != NULL)
		event_free(h->ev_tick);
	ha_zk_free(h);
	rconn_free(&h->rc);
	free(h->key);
	free(h);
}
