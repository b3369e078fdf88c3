/*
 * Leader election through ZooKeeper (watcher.ha, backend zookeeper): the
 * recipe of backends-http-ha.md §5.3 on the supervisor's event loop, with
 * Debian's single-threaded C client (zookeeper_st) driven by
 * zookeeper_interest/zookeeper_process from a libevent event on the fd it
 * returns, with the timeout it returns.
 *
 * Each candidate creates <path>/<guid>-n_ EPHEMERAL|SEQUENCE, the data its
 * instance id (so a standby can say whom it defers to). The GUID (random,
 * new with every session) lets a create that ended in CONNECTION_LOSS be
 * checked by listing the children. The lowest sequence number leads
 * (sorted by the 10-digit suffix, not by the whole name); the others watch
 * only their predecessor and re-list when it goes.
 *
 * lead.c's operations map onto it: ACQUIRE lists the children (enrolling
 * first if needed) and answers GRANTED when ours is lowest; RENEW is an
 * exists() of our own node every renew_interval (a node that exists is
 * still lowest: sequence numbers only grow). So a stalled ZooKeeper path
 * stops healing within renew_deadline, as with Redis. A CONNECTING
 * session event (Curator's SUSPENDED) stops healing at once (lead_suspend);
 * healing resumes only after CONNECTED and an ACQUIRE that finds our node
 * still there and lowest. An expired session is closed and a new one
 * enrols afresh. SIGTERM closes the session: the node goes at once and
 * the next candidate's watch fires.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <zookeeper/zookeeper.h>

#include "ha.h"
#include "log.h"
#include "sup.h"
#include "zk_util.h"

#define ZK_SEQ_DIGITS	10	/* ZooKeeper's sequence suffix */
#define ZK_MAX_RELIST	8	/* predecessor gone meanwhile: list again */
#define ZK_IDLE_MS	1000	/* drive the client at least this often */

struct ha_zk {
	struct sup_ha	*h;
	zhandle_t	*zh;
	char		*hosts;		/* zookeeper_init's connect string */
	char		*path;		/* the election's parent */
	int		 timeout_ms;	/* session timeout asked for */
	struct event	*ev_io;
	int		 connected;
	int		 reinit;	/* expired: a new session at the tick */
	int		 closing;
	char		 guid[33];	/* this session's candidate */
	char		 node[128];	/* our candidate's name, "" none */
	/* the operation out */
	enum lead_op	 op;
	uint64_t	 seq;
	int		 created;	/* this ACQUIRE created our node */
	int		 relists;
	size_t		 ensure;	/* parents of path created so far */
};

/* one asynchronous call; ZooKeeper calls every completion exactly once */
struct zk_call {
	struct ha_zk	*z;
	uint64_t	 seq;
	char		 lowest[128];	/* the leader's node, for its data */
};

static struct ha_zk *zk_self;	/* for the client's log callback only */

static void zk_list(struct ha_zk *);
static void zk_watcher(zhandle_t *, int, int, const char *, void *);

static struct zk_call *
zk_call_new(struct ha_zk *z)
{
	struct zk_call *c;

	if ((c = malloc(sizeof(*c))) == NULL)
		fatal("malloc");
	c->z = z;
	c->seq = z->seq;
	c->lowest[0] = '\0';
	return c;
}

/*
 * A completion's call: NULL if it is stale (the operation timed out or
 * the session is closing), else its ha_zk. Frees the call.
 */
static struct ha_zk *
zk_call_take(const void *data, int rc)
{
	struct zk_call *c = (struct zk_call *)(uintptr_t)data;
	struct ha_zk *z = c->z;
	uint64_t seq = c->seq;

	free(c);
	if (rc == ZCLOSING || z->closing || z->op == LEAD_OP_NONE ||
	    seq != z->seq || seq != z->h->st.seq)
		return NULL;
	return z;
}

static void
zk_done(struct ha_zk *z, enum lead_result res)
{
	uint64_t seq = z->seq;

	z->op = LEAD_OP_NONE;
	ha_result(z->h, seq, res);
}

static void
zk_fail(struct ha_zk *z, const char *what, int rc)
{
	char buf[200];

	snprintf(buf, sizeof(buf), "%s: %s", what, zerror(rc));
	ha_store_error(z->h, "%s", buf);
	if (rc == ZSESSIONEXPIRED || rc == ZAUTHFAILED)
		z->reinit = 1;
	zk_done(z, LEAD_FAILED);
}

/* The 10-digit sequence suffix of a candidate's name, or -1. */
static long long
zk_seq(const char *name)
{
	size_t n = strlen(name), i;

	if (n <= ZK_SEQ_DIGITS)
		return -1;
	for (i = n - ZK_SEQ_DIGITS; i < n; i++)
		if (!isdigit((unsigned char)name[i]))
			return -1;
	return strtoll(name + n - ZK_SEQ_DIGITS, NULL, 10);
}

/* Remote data shown in logs and drift lines: instance-id characters. */
static void
zk_set_holder(struct sup_ha *h, const char *v, int len)
{
	int i;

	if (v == NULL || len <= 0 || (size_t)len >= sizeof(h->holder)) {
		h->holder[0] = '\0';
		return;
	}
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)v[i]) || v[i] == '"' ||
		    v[i] == '\\') {
			h->holder[0] = '\0';
			return;
		}
	memcpy(h->holder, v, (size_t)len);
	h->holder[len] = '\0';
}

static char *
zk_child(const struct ha_zk *z, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", z->path, name);
	return buf;
}

/* Drive the client: wait for what zookeeper_interest asks, no longer
 * than the timeout it gives. */
static void zk_io_cb(evutil_socket_t, short, void *);

static void
zk_pump(struct ha_zk *z)
{
	int fd = -1, interest = 0, st;
	struct timeval tv = { 0, 0 };
	short what = 0;

	if (z->zh == NULL || z->closing)
		return;
	/* its return says little (ZCONNECTIONLOSS while it waits to
	 * reconnect); the session's state says whether it is over */
	(void)zookeeper_interest(z->zh, &fd, &interest, &tv);
	if ((st = zoo_state(z->zh)) == ZOO_EXPIRED_SESSION_STATE ||
	    st == ZOO_AUTH_FAILED_STATE)
		z->reinit = 1;
	if (fd != -1) {
		if (interest & ZOOKEEPER_READ)
			what |= EV_READ;
		if (interest & ZOOKEEPER_WRITE)
			what |= EV_WRITE;
	}
	if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_sec >= ZK_IDLE_MS / 1000)
		tv = (struct timeval){ ZK_IDLE_MS / 1000,
		    (ZK_IDLE_MS % 1000) * 1000 };
	event_del(z->ev_io);
	event_assign(z->ev_io, z->h->sup->base, what ? fd : -1, what, zk_io_cb,
	    z);
	event_add(z->ev_io, &tv);
}

static void
zk_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ha_zk *z = arg;
	int ev = 0;

	(void)fd;
	if (z->zh == NULL)
		return;
	if (what & EV_READ)
		ev |= ZOOKEEPER_READ;
	if (what & EV_WRITE)
		ev |= ZOOKEEPER_WRITE;
	/* ZINVALIDSTATE here is also "no socket yet": zk_pump looks at the
	 * session's state */
	(void)zookeeper_process(z->zh, ev);
	zk_pump(z);
}

/* The client's own log lines, as ours (debug: our lines say it all). */
static void
zk_log_cb(const char *message)
{
	const char *msg;
	size_t len;
	int level;

	zk_log_parse(message, strlen(message), &level, &msg, &len);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	log_debug("zookeeper client: %.*s", (int)len, msg);
	if (zk_self != NULL && level == ZK_LOG_ERROR && len > 0) {
		char buf[200];

		snprintf(buf, sizeof(buf), "%.*s", (int)len, msg);
		ha_store_error(zk_self->h, "%s", buf);
	}
}

static int
zk_open(struct ha_zk *z)
{
	unsigned char r[16];
	size_t i;

	arc4random_buf(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		snprintf(z->guid + 2 * i, 3, "%02x", r[i]);
	z->node[0] = '\0';
	z->connected = 0;
	z->reinit = 0;
	z->zh = zookeeper_init2(z->hosts, zk_watcher, z->timeout_ms, NULL, z,
	    0, zk_log_cb);
	if (z->zh == NULL) {
		ha_store_error(z->h, "zookeeper_init: %s", "cannot start a "
		    "session");
		return -1;
	}
	zk_pump(z);
	return 0;
}

static void
zk_shut(struct ha_zk *z)
{
	zhandle_t *zh = z->zh;

	if (zh == NULL)
		return;
	event_del(z->ev_io);
	z->closing = 1;		/* completions called from close are stale */
	z->zh = NULL;
	zookeeper_close(zh);
	z->closing = 0;
	z->connected = 0;
	z->node[0] = '\0';
	z->op = LEAD_OP_NONE;
}

/* The session's watcher, and every watch's. */
static void
zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct ha_zk *z = ctx;
	struct sup_ha *h;

	(void)path;
	if (z == NULL || z->closing)
		return;
	h = z->h;
	if (type != ZOO_SESSION_EVENT) {
		/* our predecessor (or our own node) went or changed: look
		 * again now rather than at the next interval */
		lead_poke(&h->st, now_ms());
		return;
	}
	if (state == ZOO_CONNECTED_STATE) {
		int t = zoo_recv_timeout(zh);

		z->connected = 1;
		log_debug("zookeeper: connected (session timeout %d ms)", t);
		/* the bound must end before the cluster can expire us */
		if (t > 0 && h->p.renew_deadline_ms >= (uint64_t)t) {
			uint64_t d = (uint64_t)t * 2 / 3;

			log_warnx("zookeeper granted a session timeout of %d ms, "
			    "not above ha.renew_deadline: a leader stops "
			    "healing %llu ms after its last check instead", t,
			    (unsigned long long)d);
			h->p.renew_deadline_ms = d;
			if (h->p.renew_interval_ms >= d)
				h->p.renew_interval_ms = d / 3;
		}
		lead_poke(&h->st, now_ms());
	} else if (state == ZOO_CONNECTING_STATE ||
	    state == ZOO_ASSOCIATING_STATE) {
		z->connected = 0;
		ha_store_error(h, "%s", "connection lost");
		ha_suspend(h);
	} else if (state == ZOO_EXPIRED_SESSION_STATE ||
	    state == ZOO_AUTH_FAILED_STATE) {
		z->connected = 0;
		z->reinit = 1;
		ha_store_error(h, "%s", state == ZOO_EXPIRED_SESSION_STATE ?
		    "session expired" : "authentication failed");
		ha_suspend(h);
	}
}

/* ACQUIRE, step 3: who leads (the lowest node's data). */
static void
zk_holder_cb(int rc, const char *value, int len, const struct Stat *stat,
    const void *data)
{
	struct ha_zk *z;

	(void)stat;
	if ((z = zk_call_take(data, rc)) == NULL)
		return;
	if (rc == ZOK)
		zk_set_holder(z->h, value, len);
	else
		z->h->holder[0] = '\0';	/* gone meanwhile: the next try says */
	zk_done(z, LEAD_HELD);
}

/* ACQUIRE, step 2b: watch the predecessor, then read the leader's id. */
static void
zk_pred_cb(int rc, const struct Stat *stat, const void *data)
{
	const struct zk_call *pc = data;
	char lowest[128], buf[512];
	struct zk_call *c;
	struct ha_zk *z;

	(void)stat;
	snprintf(lowest, sizeof(lowest), "%s", pc->lowest);
	if ((z = zk_call_take(data, rc)) == NULL)
		return;
	if (rc == ZNONODE) {
		/* gone between the list and the watch: list again */
		if (++z->relists > ZK_MAX_RELIST) {
			lead_poke(&z->h->st, now_ms());
			zk_done(z, LEAD_HELD);
		} else
			zk_list(z);
		return;
	}
	if (rc != ZOK) {
		zk_fail(z, "exists (predecessor)", rc);
		return;
	}
	c = zk_call_new(z);
	if (zoo_aget(z->zh, zk_child(z, lowest, buf, sizeof(buf)), 0,
	    zk_holder_cb, c) != ZOK) {
		free(c);
		zk_done(z, LEAD_HELD);
	}
}

static void zk_create(struct ha_zk *);

/* ACQUIRE, step 2: the children, sorted by sequence. */
static void
zk_children_cb(int rc, const struct String_vector *sv, const void *data)
{
	struct ha_zk *z;
	long long mine = -1, low = -1, pred = -1, s;
	const char *lowest = NULL, *prev = NULL;
	char prefix[48], buf[512];
	struct zk_call *c;
	int32_t i;

	if ((z = zk_call_take(data, rc)) == NULL)
		return;
	if (rc == ZNONODE) {
		z->ensure = 0;	/* the path is not there (yet) */
		z->node[0] = '\0';
		zk_create(z);
		return;
	}
	if (rc != ZOK) {
		zk_fail(z, "get_children", rc);
		return;
	}
	snprintf(prefix, sizeof(prefix), "%s-n_", z->guid);
	for (i = 0; sv != NULL && i < sv->count; i++) {
		const char *name = sv->data[i];

		if ((s = zk_seq(name)) < 0)
			continue;	/* not a candidate */
		if (z->node[0] == '\0' && strncmp(name, prefix,
		    strlen(prefix)) == 0)
			/* a create that ended in CONNECTION_LOSS made it */
			snprintf(z->node, sizeof(z->node), "%s", name);
		if (strcmp(name, z->node) == 0)
			mine = s;
		if (low == -1 || s < low) {
			low = s;
			lowest = name;
		}
	}
	if (mine == -1) {
		if (z->node[0] != '\0')
			log_warnx("zookeeper: candidate %s/%s is gone; "
			    "enrolling again", z->path, z->node);
		z->node[0] = '\0';
		if (z->created) {
			zk_fail(z, "get_children", ZNONODE);
			return;
		}
		zk_create(z);
		return;
	}
	if (mine == low) {
		snprintf(z->h->holder, sizeof(z->h->holder), "%s",
		    z->h->sup->instance_id);
		zk_done(z, LEAD_GRANTED);
		return;
	}
	for (i = 0; i < sv->count; i++) {
		s = zk_seq(sv->data[i]);
		if (s >= 0 && s < mine && s > pred) {
			pred = s;
			prev = sv->data[i];
		}
	}
	c = zk_call_new(z);
	snprintf(c->lowest, sizeof(c->lowest), "%s", lowest);
	if ((rc = zoo_awexists(z->zh, zk_child(z, prev, buf, sizeof(buf)),
	    zk_watcher, z, zk_pred_cb, c)) != ZOK) {
		free(c);
		zk_fail(z, "exists (predecessor)", rc);
	}
}

static void
zk_list(struct ha_zk *z)
{
	struct zk_call *c = zk_call_new(z);
	int rc;

	if ((rc = zoo_aget_children(z->zh, z->path, 0, zk_children_cb, c)) !=
	    ZOK) {
		free(c);
		zk_fail(z, "get_children", rc);
	}
}

/* ACQUIRE, step 1b: our candidate. A CONNECTION_LOSS may hide a create
 * that succeeded: the next ACQUIRE's list looks for our GUID. */
static void
zk_created_cb(int rc, const char *value, const void *data)
{
	struct ha_zk *z;
	const char *slash;

	if ((z = zk_call_take(data, rc)) == NULL)
		return;
	if (rc == ZNONODE) {
		z->ensure = 0;	/* the path went meanwhile */
		zk_create(z);
		return;
	}
	if (rc != ZOK || value == NULL || (slash = strrchr(value, '/')) ==
	    NULL) {
		zk_fail(z, "create (candidate)", rc == ZOK ? ZAPIERROR : rc);
		return;
	}
	snprintf(z->node, sizeof(z->node), "%s", slash + 1);
	log_info("zookeeper: candidate %s created", value);
	z->created = 1;
	zk_list(z);
}

static void zk_ensure_cb(int, const char *, const void *);

/* ACQUIRE, step 1: the path's parents (persistent), then our candidate. */
static void
zk_create(struct ha_zk *z)
{
	char buf[600];
	struct zk_call *c = zk_call_new(z);
	const char *p;
	int rc;

	/* z->ensure: how far into z->path parents exist (0: not known) */
	if (z->ensure < strlen(z->path)) {
		p = strchr(z->path + z->ensure + 1, '/');
		z->ensure = p == NULL ? strlen(z->path) : (size_t)(p - z->path);
		snprintf(buf, sizeof(buf), "%.*s", (int)z->ensure, z->path);
		rc = zoo_acreate(z->zh, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0,
		    zk_ensure_cb, c);
	} else {
		const char *id = z->h->sup->instance_id;

		snprintf(buf, sizeof(buf), "%s/%s-n_", z->path, z->guid);
		rc = zoo_acreate(z->zh, buf, id, (int)strlen(id),
		    &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL | ZOO_SEQUENCE,
		    zk_created_cb, c);
	}
	if (rc != ZOK) {
		free(c);	/* no completion comes */
		zk_fail(z, "create", rc);
	}
}

static void
zk_ensure_cb(int rc, const char *value, const void *data)
{
	struct ha_zk *z;

	(void)value;
	if ((z = zk_call_take(data, rc)) == NULL)
		return;
	if (rc != ZOK && rc != ZNODEEXISTS) {
		zk_fail(z, "create (election path)", rc);
		return;
	}
	zk_create(z);
}

/* RENEW: our node still there (and so still lowest). */
static void
zk_renew_cb(int rc, const struct Stat *stat, const void *data)
{
	struct ha_zk *z;

	(void)stat;
	if ((z = zk_call_take(data, rc)) == NULL)
		return;
	if (rc == ZOK)
		zk_done(z, LEAD_GRANTED);
	else if (rc == ZNONODE) {
		log_warnx("zookeeper: candidate %s/%s is gone", z->path,
		    z->node);
		z->node[0] = '\0';
		z->h->holder[0] = '\0';
		zk_done(z, LEAD_HELD);
	} else
		zk_fail(z, "exists", rc);
}

void
ha_zk_send(struct sup_ha *h, enum lead_op op, uint64_t seq)
{
	struct ha_zk *z = h->zk;
	char buf[512];
	struct zk_call *c;
	int rc;

	z->op = op;
	z->seq = seq;
	z->created = 0;
	z->relists = 0;
	if (z->zh == NULL || !z->connected) {
		zk_fail(z, "session", ZCONNECTIONLOSS);
		return;
	}
	if (op == LEAD_OP_RENEW && z->node[0] != '\0') {
		c = zk_call_new(z);
		if ((rc = zoo_awexists(z->zh, zk_child(z, z->node, buf,
		    sizeof(buf)), zk_watcher, z, zk_renew_cb, c)) != ZOK) {
			free(c);
			zk_fail(z, "exists", rc);
		}
	} else if (op == LEAD_OP_RENEW || op == LEAD_OP_ACQUIRE)
		zk_list(z);
	else
		zk_done(z, LEAD_GRANTED);	/* RELEASE: ha_zk_close */
	zk_pump(z);
}

void
ha_zk_tick(struct sup_ha *h)
{
	struct ha_zk *z = h->zk;

	if (h->st.released)
		return;
	if (z->op != LEAD_OP_NONE && z->seq != h->st.seq)
		z->op = LEAD_OP_NONE;	/* timed out in lead.c */
	if (z->reinit) {
		log_warnx("zookeeper: %s; starting a new session and "
		    "enrolling again", h->why[0] ? h->why : "session lost");
		zk_shut(z);
		if (zk_open(z) == -1)
			z->reinit = 1;	/* again at the next tick */
		return;
	}
	zk_pump(z);
}

void
ha_zk_close(struct sup_ha *h)
{
	if (h->zk != NULL)
		zk_shut(h->zk);
}

int
ha_zk_start(struct sup_ha *h, const struct conf_ha *c, char *err,
    size_t errlen)
{
	struct ha_zk *z;
	uint64_t t = c->zk_session_timeout_ms ? c->zk_session_timeout_ms :
	    c->lease_ms;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		fatal("calloc");
	z->h = h;
	z->timeout_ms = t > 0x7fffffff ? 0x7fffffff : (int)t;
	if ((z->hosts = zk_join_hosts((const char *const *)c->zk_hosts,
	    c->nzk_hosts)) == NULL || (z->path = strdup(c->zk_path)) == NULL ||
	    (h->key = strdup(c->zk_path)) == NULL)
		fatal("strdup");
	if ((z->ev_io = event_new(h->sup->base, -1, 0, zk_io_cb, z)) == NULL)
		fatalx("event_new");
	h->zk = z;
	zk_self = z;
	zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
	snprintf(h->where, sizeof(h->where), "zookeeper %s", z->hosts);
	if (zk_open(z) == -1) {
		snprintf(err, errlen, "ha.zookeeper.hosts: %s", h->why);
		return -1;
	}
	log_info("high availability: instance %s elects through zookeeper %s "
	    "path %s (session timeout %d ms)", h->sup->instance_id, z->hosts,
	    z->path, z->timeout_ms);
	return 0;
}

void
ha_zk_free(struct sup_ha *h)
{
	struct ha_zk *z = h->zk;

	if (z == NULL)
		return;
	zk_shut(z);
	h->zk = NULL;
	if (zk_self == z)
		zk_self = NULL;
	event_free(z->ev_io);
	free(z->hosts);
	free(z->path);
	free(z);
}
