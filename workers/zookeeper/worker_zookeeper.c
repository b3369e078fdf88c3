/*
 * vartrack-worker-zookeeper: reads what the varTrack orchestrator wrote into
 * ZooKeeper (interop §3.3), with the multithreaded C client.
 *
 *   slash      key "/db/host" -> znode {root}/db/host (nested; intermediate
 *              znodes have empty data)
 *   slash_dot  key ".db.host" -> znode {root}/db.host (flat under root)
 *
 * Reads are pipelined: every get of a window is issued at once and the
 * replies collected (completion thread -> mutex + condvar), then handed to
 * the supervisor in request order. Extras: slash, the znodes under root
 * (walked level by level, each level pipelined) that Git does not declare
 * and that hold a value (leaves, or inner znodes with data); slash_dot,
 * root's children not declared. {root}/__vartrack__ is never data; its
 * presence is reported.
 *
 * Event-assisted detection: with watch, the gets set data watches and the
 * walk sets child watches whose context is the rule. When one fires, the
 * completion thread only records the rule and writes a byte to a pipe; the
 * main loop (event()) sends IPC_NOTIFY and the supervisor re-polls the rule
 * at once, which re-arms the watches (the client keeps one watcher per
 * path, function and context, so re-arming does not pile up).
 *
 * Session: one handle per datasource, kept across polls. An expired session
 * or failed authentication closes it (from the main thread, never from a
 * callback); the next poll connects again. Not connected: the poll is
 * unknown, never OK.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <zookeeper/zookeeper.h>

#include "dsworker.h"
#include "kinds/zookeeper.h"
#include "kvmap.h"
#include "log.h"
#include "zk_util.h"

#define ZK_WINDOW		1024	/* requests in flight (bounds memory) */
#define ZK_WAKE			128	/* results the reader waits for at once */
#define ZK_MAX_NODES		200000	/* znodes the extras walk visits */
#define ZK_MAX_DEPTH		64
#define ZK_DEFAULT_SESSION_MS	10000
#define ZK_DEFAULT_CONNECT_MS	5000
#define ZK_DEFAULT_COMMAND_MS	5000
#define ZK_LOG_BURST		5	/* client log lines per window */
#define ZK_LOG_WINDOW_S		30

struct zk_ds {
	char		*name, *hosts, *username, *password;
	int		 session_ms, connect_ms, command_ms;
	zhandle_t	*zh;
	/* under zmu, written by the completion thread */
	int		 state;		/* last session state seen */
	int		 expired;	/* session expired: close, reconnect */
	int		 auth_failed;
	int		 auth_pending;
	int		 ever_connected;
	int		 handle_connected;	/* this handle ever was */
	struct timespec	 down_since;	/* not connected since */
};

/* one request of a batch */
struct zreq {
	struct zbatch	*b;
	int		 done, rc;
	char		*val;		/* at most IPC_MAX_VALUE_BYTES */
	size_t		 vallen, full_len;
	unsigned char	 digest[VTW_DIGEST_LEN];	/* SHA-256 when truncated */
	int		 truncated;
	int32_t		 nchildren, datalen;
	char		**kids;		/* children (listing) */
	char		*kidbuf;
	size_t		 nkids;
};

struct zbatch {
	size_t		 n, issued, ndone;
	size_t		 target;	/* wake the reader at this many done */
	int		 abandoned;	/* timed out: last completion frees */
	struct zreq	 r[];
};

static pthread_mutex_t	 zmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 zcv;

/* the poll being served and its scope (main thread only) */
static struct ds_poll			*pp;
static struct ipc_zookeeper_scope	 psc;


/* ---- the C client's log, re-emitted as our JSON lines ---- */

static char		 zlog_line[2048];
static size_t		 zlog_len;
static time_t		 zlog_window;
static unsigned		 zlog_count, zlog_dropped;

static void
zlog_emit(const char *line, size_t len)
{
	const char *msg;
	size_t msglen;
	int level;
	time_t now = time(NULL);

	zk_log_parse(line, len, &level, &msg, &msglen);
	if (msglen == 0)
		return;
	if (level >= ZK_LOG_INFO) {
		log_debug("zookeeper client: %.*s", (int)msglen, msg);
		return;
	}
	/* a down server makes the client complain on every retry */
	if (now - zlog_window >= ZK_LOG_WINDOW_S) {
		if (zlog_dropped > 0)
			log_warnx("zookeeper client: %u more messages "
			    "suppressed", zlog_dropped);
		zlog_window = now;
		zlog_count = zlog_dropped = 0;
	}
	if (zlog_count++ >= ZK_LOG_BURST) {
		zlog_dropped++;
		log_debug("zookeeper client: %.*s", (int)msglen, msg);
		return;
	}
	log_warnx("zookeeper client: %.*s", (int)msglen, msg);
}

/* fopencookie write: called under the stream's lock */
static ssize_t
zlog_write(void *cookie, const char *buf, size_t size)
{
	size_t i;

	(void)cookie;
	for (i = 0; i < size; i++) {
		if (buf[i] == '\n') {
			zlog_emit(zlog_line, zlog_len);
			zlog_len = 0;
		} else if (zlog_len < sizeof(zlog_line))
			zlog_line[zlog_len++] = buf[i];
	}
	return (ssize_t)size;
}

/* ---- watchers and completions (completion thread) ---- */

/* per-rule watches: the context is the rule id + 1 */
static void
rule_watcher(zhandle_t *zh, int type, int state, const char *path,
    void *ctx)
{
	(void)zh;
	(void)state;
	(void)path;
	if (type == ZOO_CHANGED_EVENT || type == ZOO_DELETED_EVENT ||
	    type == ZOO_CREATED_EVENT || type == ZOO_CHILD_EVENT)
		ds_notify((uint32_t)((uintptr_t)ctx - 1));
}

static void *
rule_ctx(uint32_t rule)
{
	return (void *)((uintptr_t)rule + 1);
}

static const char *
state_name(int state)
{
	if (state == ZOO_CONNECTED_STATE)
		return "connected";
	if (state == ZOO_CONNECTING_STATE)
		return "connecting";
	if (state == ZOO_ASSOCIATING_STATE)
		return "associating";
	if (state == ZOO_EXPIRED_SESSION_STATE)
		return "session expired";
	if (state == ZOO_AUTH_FAILED_STATE)
		return "authentication failed";
	return "not connected";
}

/* the handle's own watcher: session state changes */
static void
session_watcher(zhandle_t *zh, int type, int state, const char *path,
    void *ctx)
{
	struct zk_ds *d = ctx;
	int prev;

	(void)path;
	if (type != ZOO_SESSION_EVENT)
		return;
	pthread_mutex_lock(&zmu);
	prev = d->state;
	d->state = state;
	if (state == ZOO_EXPIRED_SESSION_STATE)
		d->expired = 1;
	if (state == ZOO_AUTH_FAILED_STATE)
		d->auth_failed = 1;
	if (state == ZOO_CONNECTED_STATE)
		d->ever_connected = d->handle_connected = 1;
	else if (prev == ZOO_CONNECTED_STATE)
		clock_gettime(CLOCK_MONOTONIC, &d->down_since);
	pthread_cond_broadcast(&zcv);
	pthread_mutex_unlock(&zmu);
	if (state == ZOO_CONNECTED_STATE) {
		const clientid_t *id = zoo_client_id(zh);

		log_info("datasource %s: connected to zookeeper %s "
		    "(session 0x%llx)", d->name, d->hosts,
		    id ? (unsigned long long)id->client_id : 0ULL);
	} else if (state == ZOO_EXPIRED_SESSION_STATE ||
	    state == ZOO_AUTH_FAILED_STATE)
		log_warnx("datasource %s: zookeeper %s", d->name,
		    state_name(state));
	else if (prev == ZOO_CONNECTED_STATE)
		log_warnx("datasource %s: zookeeper connection lost, "
		    "reconnecting", d->name);
}

static void
auth_done(int rc, const void *data)
{
	struct zk_ds *d = (struct zk_ds *)(uintptr_t)data;

	pthread_mutex_lock(&zmu);
	d->auth_pending = 0;
	if (rc != ZOK)
		d->auth_failed = 1;
	pthread_cond_broadcast(&zcv);
	pthread_mutex_unlock(&zmu);
}

static void
batch_free(struct zbatch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++) {
		free(b->r[i].val);
		free(b->r[i].kids);
		free(b->r[i].kidbuf);
	}
	free(b);
}

/* record a finished request; frees an abandoned batch at its last one */
static void
req_finish(struct zreq *q, int rc)
{
	struct zbatch *b = q->b;
	int last;

	pthread_mutex_lock(&zmu);
	q->rc = rc;
	q->done = 1;
	b->ndone++;
	last = b->abandoned && b->ndone == b->issued;
	if (b->ndone == b->target)
		pthread_cond_broadcast(&zcv);
	pthread_mutex_unlock(&zmu);
	if (last)
		batch_free(b);
}

static void
data_done(int rc, const char *value, int value_len, const struct Stat *st,
    const void *data)
{
	struct zreq *q = (struct zreq *)(uintptr_t)data;
	size_t n;

	if (rc == ZOK) {
		/* value_len -1 (null data) is an empty value */
		n = value != NULL && value_len > 0 ? (size_t)value_len : 0;
		q->full_len = n;
		if (n > IPC_MAX_VALUE_BYTES) {
			/* keep only what is sent: memory stays bounded */
			q->truncated = 1;
			vtw_digest(value, n, q->digest);
			n = IPC_MAX_VALUE_BYTES;
		}
		if ((q->val = malloc(n + 1)) == NULL)
			fatal("malloc");
		if (n > 0)
			memcpy(q->val, value, n);
		q->val[n] = '\0';
		q->vallen = n;
		if (st != NULL) {
			q->nchildren = st->numChildren;
			q->datalen = st->dataLength;
		}
	}
	req_finish(q, rc);
}

static void
children_done(int rc, const struct String_vector *sv, const struct Stat *st,
    const void *data)
{
	struct zreq *q = (struct zreq *)(uintptr_t)data;
	size_t total = 0, off = 0, l;
	int32_t i;

	if (rc == ZOK && sv != NULL && sv->count > 0) {
		for (i = 0; i < sv->count; i++)
			total += strlen(sv->data[i]) + 1;
		q->kids = calloc((size_t)sv->count, sizeof(*q->kids));
		q->kidbuf = malloc(total);
		if (q->kids == NULL || q->kidbuf == NULL)
			fatal("malloc");
		for (i = 0; i < sv->count; i++) {
			l = strlen(sv->data[i]) + 1;
			memcpy(q->kidbuf + off, sv->data[i], l);
			q->kids[i] = q->kidbuf + off;
			off += l;
		}
		q->nkids = (size_t)sv->count;
	}
	if (rc == ZOK && st != NULL) {
		q->nchildren = st->numChildren;
		q->datalen = st->dataLength;
	}
	req_finish(q, rc);
}

static void
exists_done(int rc, const struct Stat *st, const void *data)
{
	(void)rc;
	(void)st;
	(void)data;
}

/* ---- configuration and connection (main thread) ---- */

static void
ds_close(struct zk_ds *d)
{
	if (d->zh != NULL)
		zookeeper_close(d->zh);	/* joins the client's threads */
	d->zh = NULL;
	pthread_mutex_lock(&zmu);
	d->state = 0;
	d->expired = d->auth_failed = d->auth_pending = 0;
	pthread_mutex_unlock(&zmu);
}

static void
zk_close(void *priv)
{
	struct zk_ds *d = priv;

	ds_close(d);
	free(d->name);
	free(d->hosts);
	free(d->username);
	if (d->password != NULL) {
		explicit_bzero(d->password, strlen(d->password));
		free(d->password);
	}
	free(d);
}

static int
zk_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct ipc_zookeeper_settings st;
	struct zk_ds *d;

	if (ipc_zookeeper_settings_unpack(&st, &c->settings, err,
	    errlen) == -1) {
		ipc_zookeeper_settings_release(&st);
		return -1;
	}
	if (st.nhosts == 0) {
		snprintf(err, errlen, "datasource %s: no hosts", c->name);
		ipc_zookeeper_settings_release(&st);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	d->name = ds_strdup(c->name);
	d->hosts = zk_join_hosts(st.hosts, st.nhosts);
	if (st.username[0] != '\0') {
		d->username = ds_strdup(st.username);
		d->password = ds_strdup(st.password);
	}
	d->session_ms = st.session_timeout_ms ? (int)st.session_timeout_ms :
	    ZK_DEFAULT_SESSION_MS;
	ipc_zookeeper_settings_release(&st);
	d->connect_ms = c->connect_timeout_ms ? (int)c->connect_timeout_ms :
	    ZK_DEFAULT_CONNECT_MS;
	d->command_ms = c->command_timeout_ms ? (int)c->command_timeout_ms :
	    ZK_DEFAULT_COMMAND_MS;
	log_debug("datasource %s: hosts %s, session timeout %d ms%s", d->name,
	    d->hosts, d->session_ms, d->username ? ", digest auth" : "");
	*priv = d;
	return 0;
}

static void
deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Connected (and authenticated) handle, or -1 with err: unknown poll. */
static int
ds_connect(struct zk_ds *d, char *err, size_t errlen)
{
	struct timespec dl;
	char *cert;
	size_t cl;
	int rc, state, expired, authf, authp, ever, hc;

	pthread_mutex_lock(&zmu);
	expired = d->expired;
	authf = d->auth_failed;
	pthread_mutex_unlock(&zmu);
	if (d->zh != NULL && (expired || authf)) {
		log_info("datasource %s: closing the %s session", d->name,
		    expired ? "expired" : "unauthenticated");
		ds_close(d);
	}
	/*
	 * Not connected for longer than the session timeout: the session is
	 * gone on the server side anyway. Start a new one rather than let the
	 * client retry the old one forever: a server that lost its data
	 * refuses a client that has seen a later zxid without ever saying
	 * "expired".
	 */
	if (d->zh != NULL) {
		struct timespec now;
		long long down_ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&zmu);
		state = d->state;
		down_ms = (now.tv_sec - d->down_since.tv_sec) * 1000LL +
		    (now.tv_nsec - d->down_since.tv_nsec) / 1000000;
		pthread_mutex_unlock(&zmu);
		if (state != ZOO_CONNECTED_STATE && down_ms > d->session_ms) {
			log_warnx("datasource %s: no zookeeper session for "
			    "%lld ms (session timeout %d ms): starting a new "
			    "one", d->name, down_ms, d->session_ms);
			ds_close(d);
		}
	}
	if (d->zh == NULL) {
		pthread_mutex_lock(&zmu);
		d->state = 0;
		d->expired = d->auth_failed = d->auth_pending = 0;
		d->handle_connected = 0;
		clock_gettime(CLOCK_MONOTONIC, &d->down_since);
		pthread_mutex_unlock(&zmu);
		d->zh = zookeeper_init(d->hosts, session_watcher, d->session_ms,
		    NULL, d, 0);
		if (d->zh == NULL) {
			snprintf(err, errlen, "zookeeper_init %s: %s", d->hosts,
			    strerror(errno));
			return -1;
		}
		if (d->username != NULL) {
			cl = strlen(d->username) + 1 + strlen(d->password);
			if ((cert = malloc(cl + 1)) == NULL)
				fatal("malloc");
			snprintf(cert, cl + 1, "%s:%s", d->username,
			    d->password);
			pthread_mutex_lock(&zmu);
			d->auth_pending = 1;
			pthread_mutex_unlock(&zmu);
			rc = zoo_add_auth(d->zh, "digest", cert, (int)cl,
			    auth_done, d);
			explicit_bzero(cert, cl);
			free(cert);
			if (rc != ZOK) {
				snprintf(err, errlen, "digest auth as %s: %s",
				    d->username, zerror(rc));
				ds_close(d);
				return -1;
			}
		}
	}
	deadline_in(&dl, d->connect_ms);
	pthread_mutex_lock(&zmu);
	for (;;) {
		state = d->state;
		expired = d->expired;
		authf = d->auth_failed;
		authp = d->auth_pending;
		ever = d->ever_connected;
		if (expired || authf ||
		    (state == ZOO_CONNECTED_STATE && !authp))
			break;
		if (pthread_cond_timedwait(&zcv, &zmu, &dl) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&zmu);
	if (expired) {
		snprintf(err, errlen, "zookeeper session expired");
		ds_close(d);	/* the next poll starts a new session */
		return -1;
	}
	if (authf) {
		snprintf(err, errlen, "zookeeper authentication failed "
		    "(digest user %s)", d->username ? d->username : "-");
		ds_close(d);
		return -1;
	}
	if (state != ZOO_CONNECTED_STATE || authp) {
		snprintf(err, errlen, "not connected to zookeeper %s (%s%s)",
		    d->hosts, authp && state == ZOO_CONNECTED_STATE ?
		    "authentication pending" : state_name(state),
		    ever ? "" : ", never connected");
		/*
		 * A handle that had a session keeps trying in the background
		 * (up to the session timeout, above) so that the session and
		 * its watches survive a short outage. One that never got a
		 * session is closed: the client would retry several times a
		 * second, and only polls, which the supervisor's circuit
		 * breaker spaces out, should knock on an unreachable server.
		 */
		pthread_mutex_lock(&zmu);
		hc = d->handle_connected;
		pthread_mutex_unlock(&zmu);
		if (!hc)
			ds_close(d);
		return -1;
	}
	return 0;
}

/* ---- pipelined batches ---- */

enum zop { ZOP_GET, ZOP_CHILDREN };

/* one result, in request order; q->rc is ZOK or ZNONODE. -1 stops. */
typedef int (*zk_result_fn)(size_t i, struct zreq *q, void *arg);

static void
req_release(struct zreq *q)
{
	free(q->val);
	free(q->kids);
	free(q->kidbuf);
	q->val = q->kidbuf = NULL;
	q->kids = NULL;
}

static int
zk_issue(struct zk_ds *d, enum zop op, const char *p, int watch,
    struct zreq *q)
{
	void *wctx = rule_ctx(pp->rule_id);

	if (op == ZOP_GET)
		return watch ? zoo_awget(d->zh, p, rule_watcher, wctx,
		    data_done, q) : zoo_aget(d->zh, p, 0, data_done, q);
	return watch ? zoo_awget_children2(d->zh, p, rule_watcher, wctx,
	    children_done, q) : zoo_aget_children2(d->zh, p, 0,
	    children_done, q);
}

/*
 * Issue op on paths[0..n) with up to ZK_WINDOW requests in flight (a
 * sliding window: refilled as results come in), call fn on each result
 * in request order. paths[i] NULL: not read, reported as ZNONODE. With
 * watch, the rule watcher is set. A result's memory is released once rb
 * holds nothing that may point into it (fn may add values to rb).
 * Waiting is bounded by the command timeout without progress.
 */
static int
zk_run(struct zk_ds *d, enum zop op, char **paths, size_t n, int watch,
    zk_result_fn fn, void *arg, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct zbatch *b;
	struct timespec dl;
	size_t issued = 0, emitted = 0, freed = 0, ready, i, target;
	int rc = -1, zrc, timedout, pending;

	if (n == 0)
		return 0;
	b = calloc(1, sizeof(*b) + n * sizeof(struct zreq));
	if (b == NULL)
		fatal("calloc");
	b->n = n;
	for (i = 0; i < n; i++)
		b->r[i].b = b;
	while (emitted < n) {
		/* refill the window */
		size_t first = issued;

		while (issued < n && issued - emitted < ZK_WINDOW)
			issued++;
		pthread_mutex_lock(&zmu);
		b->issued = issued;
		pthread_mutex_unlock(&zmu);
		for (i = first; i < issued; i++) {
			struct zreq *q = &b->r[i];

			if (paths[i] == NULL)
				req_finish(q, ZNONODE);
			else if ((zrc = zk_issue(d, op, paths[i], watch, q)) !=
			    ZOK)	/* no completion will come */
				req_finish(q, zrc == ZBADARGUMENTS ? ZNONODE :
				    zrc);
		}
		/* wait for a handful of results (the server answers in
		 * order), not for each one */
		deadline_in(&dl, d->command_ms);
		timedout = 0;
		pthread_mutex_lock(&zmu);
		target = emitted + ZK_WAKE < issued ? emitted + ZK_WAKE :
		    issued;
		if (target <= b->ndone)
			target = b->ndone + 1 <= issued ? b->ndone + 1 :
			    issued;
		b->target = target;
		while (!b->r[emitted].done && b->ndone < target)
			if (pthread_cond_timedwait(&zcv, &zmu, &dl) ==
			    ETIMEDOUT) {
				timedout = !b->r[emitted].done;
				break;
			}
		if (timedout)
			b->abandoned = 1;
		for (ready = emitted; ready < issued && b->r[ready].done;
		    ready++)
			;
		pthread_mutex_unlock(&zmu);
		if (timedout) {
			snprintf(err, errlen, "zookeeper did not answer "
			    "within %d ms (%zu requests in flight)",
			    d->command_ms, issued - emitted);
			return -1;	/* the last completion frees b */
		}
		/* results [emitted, ready) are final: no lock needed */
		for (; emitted < ready; emitted++) {
			struct zreq *q = &b->r[emitted];

			if (q->rc == ZNOAUTH) {
				snprintf(err, errlen, "not allowed to read "
				    "%s (ACL)", paths[emitted]);
				goto out;
			}
			if (q->rc != ZOK && q->rc != ZNONODE) {
				snprintf(err, errlen, "%s %s: %s", op ==
				    ZOP_GET ? "get" : "get_children",
				    paths[emitted], zerror(q->rc));
				goto out;
			}
			if (fn(emitted, q, arg) == -1) {
				snprintf(err, errlen, "sending the reply "
				    "failed");
				goto out;
			}
			if (rb == NULL || rb->nvals == 0)
				for (; freed <= emitted; freed++)
					req_release(&b->r[freed]);
		}
	}
	if (rb != NULL && rb->nvals > 0 && ds_reply_flush(rb) == -1) {
		snprintf(err, errlen, "sending the reply failed");
		goto out;
	}
	rc = 0;
 out:
	/* after an error, requests may still be in flight: the last
	 * completion frees b (nothing reads the values rb may point to:
	 * the caller drops them with ds_reply_unknown) */
	pthread_mutex_lock(&zmu);
	pending = b->ndone < b->issued;
	if (pending)
		b->abandoned = 1;
	pthread_mutex_unlock(&zmu);
	if (!pending)
		batch_free(b);
	return rc;
}

/* add q's value; the truncation was done on receipt */
static int
reply_add(struct ds_reply *rb, const char *key, size_t keylen,
    struct zreq *q)
{
	struct ipc_value *v;
	int full;

	if (q->rc != ZOK)
		full = ds_reply_add(rb, key, keylen, 0, NULL, 0);
	else {
		full = ds_reply_add(rb, key, keylen, 1, q->val, q->vallen);
		if (q->truncated) {
			v = &rb->vals[rb->nvals - 1];
			v->truncated = 1;
			v->full_len = q->full_len;
			memcpy(v->digest, q->digest, sizeof(v->digest));
		}
	}
	if (full && ds_reply_flush(rb) == -1)
		return -1;
	return 0;
}

/* ---- one poll ---- */

struct strvec {
	char		**v;
	size_t		 n, cap;
};

static void
vpush(struct strvec *sv, char *s)
{
	if (sv->n == sv->cap) {
		size_t nc = sv->cap ? sv->cap * 2 : 64;
		char **nv = realloc(sv->v, nc * sizeof(*nv));

		if (nv == NULL)
			fatal("realloc");
		sv->v = nv;
		sv->cap = nc;
	}
	sv->v[sv->n++] = s;
}

struct poll_state {
	struct zk_ds	*d;
	struct ds_reply	*rb;
	const char	*root;
	int		 slash_dot;
	char		**paths;	/* requested keys' znodes */
	int32_t		*nchildren;	/* requested keys', -1 missing */
	struct kvmap	*keyidx;	/* key -> index */
	struct kvmap	*prefixes;	/* slash: inner znodes of keys */
	/* walk: keys relative to root ("" is root itself) */
	struct strvec	 level, next, unk, abs;
	size_t		 visited;
	int		 capped;
};

static int
on_key(size_t i, struct zreq *q, void *arg)
{
	struct poll_state *ps = arg;

	ps->nchildren[i] = q->rc == ZOK ? q->nchildren : -1;
	return reply_add(ps->rb, pp->keys[i], pp->keylens[i], q);
}

static int
on_marker(size_t i, struct zreq *q, void *arg)
{
	(void)i;
	*(int *)arg = q->rc == ZOK;
	return 0;
}

/* a + sep + b, stored until ds_poll_reset */
static char *
store_cat(const char *a, const char *sep, const char *b)
{
	size_t al = strlen(a), sl = strlen(sep), bl = strlen(b);
	char *s = ds_poll_store(pp, NULL, al + sl + bl + 1);

	memcpy(s, a, al);
	memcpy(s + al, sep, sl);
	memcpy(s + al + sl, b, bl + 1);
	return s;
}

/* the znode of a relative key found by the walk */
static char *
abs_path(struct poll_state *ps, const char *rel)
{
	if (rel[0] == '\0')
		return (char *)zk_root_path(ps->root);
	if (ps->slash_dot)	/* ".name" -> root/name */
		return store_cat(ps->root, "/", rel + 1);
	return store_cat(ps->root, "", rel);
}

static int32_t
key_children(struct poll_state *ps, const char *rel)
{
	const struct kv_entry *e = kvmap_get(ps->keyidx, rel, strlen(rel));
	size_t idx;

	if (e == NULL)
		return -2;	/* not requested */
	memcpy(&idx, e->val, sizeof(idx));
	return ps->nchildren[idx];
}

/* children of one listed znode: requested ones, or ones to read */
static int
on_children(size_t i, struct zreq *q, void *arg)
{
	struct poll_state *ps = arg;
	const char *parent = ps->level.v[i];
	size_t k;
	char *rel;
	int32_t nc;

	if (q->rc != ZOK) {
		/* no root: getChildren sets no watch on a missing znode, so
		 * watch for root's creation (the orchestrator writing again) */
		if (parent[0] == '\0' && psc.watch)
			(void)zoo_awexists(ps->d->zh, zk_root_path(ps->root),
			    rule_watcher, rule_ctx(pp->rule_id), exists_done,
			    NULL);
		return 0;	/* gone meanwhile */
	}
	for (k = 0; k < q->nkids; k++) {
		const char *c = q->kids[k];

		if (parent[0] == '\0' && strcmp(c, "__vartrack__") == 0)
			continue;
		if (ps->visited >= ZK_MAX_NODES) {
			ps->capped = 1;
			return 0;
		}
		ps->visited++;
		if (ps->slash_dot) {
			rel = store_cat(".", "", c);
			if (kvmap_get(ps->keyidx, rel, strlen(rel)) == NULL)
				vpush(&ps->unk, rel);
			continue;
		}
		rel = store_cat(parent, "/", c);
		nc = key_children(ps, rel);
		if (nc == -2)
			vpush(&ps->unk, rel);
		else if (nc > 0)
			vpush(&ps->next, rel);
	}
	return 0;
}

/* a znode under root that Git does not declare */
static int
on_unknown(size_t i, struct zreq *q, void *arg)
{
	struct poll_state *ps = arg;
	char *rel = ps->unk.v[i];
	int inner;

	if (q->rc != ZOK)
		return 0;	/* gone meanwhile */
	if (ps->slash_dot)
		return reply_add(ps->rb, rel, strlen(rel), q);
	inner = kvmap_get(ps->prefixes, rel, strlen(rel)) != NULL;
	/* list it when it has children; an empty inner znode of Git's keys
	 * too when watching, so that a key created below it is seen */
	if (q->nchildren > 0 || (inner && psc.watch))
		vpush(&ps->next, rel);
	/* the orchestrator's intermediate znodes are empty; anything else
	 * that holds a value, or is an empty leaf, is extra */
	if (q->vallen > 0 || q->truncated || (q->nchildren == 0 && !inner))
		return reply_add(ps->rb, rel, strlen(rel), q);
	return 0;
}

static void
abs_paths(struct poll_state *ps, const struct strvec *rels)
{
	size_t i;

	ps->abs.n = 0;
	for (i = 0; i < rels->n; i++)
		vpush(&ps->abs, abs_path(ps, rels->v[i]));
}

/* Extras: walk below root, one pipelined level at a time. */
static int
walk_extras(struct poll_state *ps, char *err, size_t errlen)
{
	struct strvec tmp;
	size_t depth = 0;

	vpush(&ps->level, (char *)"");
	while (ps->level.n > 0 && depth++ < ZK_MAX_DEPTH && !ps->capped) {
		ps->next.n = ps->unk.n = 0;
		abs_paths(ps, &ps->level);
		if (zk_run(ps->d, ZOP_CHILDREN, ps->abs.v, ps->abs.n,
		    psc.watch, on_children, ps, NULL, err, errlen) == -1)
			return -1;
		abs_paths(ps, &ps->unk);
		if (ps->unk.n > 0 && zk_run(ps->d, ZOP_GET, ps->abs.v,
		    ps->abs.n, 0, on_unknown, ps, ps->rb, err, errlen) == -1)
			return -1;
		if (ps->slash_dot)
			break;
		tmp = ps->level;
		ps->level = ps->next;
		ps->next = tmp;
	}
	if (ps->capped)
		log_warnx("rule %s: more than %d znodes under %s; extras "
		    "beyond them are not reported", DS_RULE_NAME(pp->rule),
		    ZK_MAX_NODES,
		    zk_root_path(ps->root));
	return 0;
}

static void
poll_state_free(struct poll_state *ps)
{
	size_t i;

	if (ps->paths != NULL)
		for (i = 0; i < pp->nkeys; i++)
			free(ps->paths[i]);
	free(ps->paths);
	free(ps->nchildren);
	kvmap_free(ps->keyidx);
	kvmap_free(ps->prefixes);
	free(ps->level.v);
	free(ps->next.v);
	free(ps->unk.v);
	free(ps->abs.v);
}

static void
build_key_maps(struct poll_state *ps)
{
	size_t i, j;

	if ((ps->keyidx = kvmap_new()) == NULL ||
	    (ps->prefixes = kvmap_new()) == NULL)
		fatal("kvmap_new");
	for (i = 0; i < pp->nkeys; i++) {
		if (kvmap_put(ps->keyidx, pp->keys[i], pp->keylens[i],
		    (const char *)&i, sizeof(i)) == -1)
			fatal("kvmap_put");
		if (ps->slash_dot)
			continue;
		/* "/a/b/c": inner znodes "/a", "/a/b" */
		for (j = 1; j < pp->keylens[i]; j++)
			if (pp->keys[i][j] == '/' &&
			    kvmap_put(ps->prefixes, pp->keys[i], j, "", 0) == -1)
				fatal("kvmap_put");
	}
}

static int
zk_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct poll_state ps;
	struct zk_ds *d = priv;
	char *mpath = NULL;
	size_t i;
	int rc = -1, marker = 0;

	memset(&ps, 0, sizeof(ps));
	pp = p;
	if (ipc_zookeeper_scope_unpack(&psc, &p->scope, err, errlen) == -1)
		goto done;
	if (pp->target[0] != '\0' && (pp->target[0] != '/' ||
	    pp->target[strlen(pp->target) - 1] == '/')) {
		snprintf(err, errlen, "invalid znode root '%s'", pp->target);
		rc = DS_POLL_DATA_ERROR;	/* the rule's, not the server's */
		goto done;
	}
	if (ds_connect(d, err, errlen) == -1)
		goto done;
	ps.d = d;
	ps.rb = rb;
	ps.root = pp->target;
	ps.slash_dot = psc.layout == IPC_ZOOKEEPER_SLASH_DOT;

	/* marker */
	mpath = pp->marker[0] != '\0' ? pp->marker :
	    zk_child_path(zk_root_path(pp->target), "__vartrack__");
	if (zk_run(d, ZOP_GET, &mpath, 1, 0, on_marker, &marker, NULL, err,
	    errlen) == -1)
		goto done;
	rb->marker_present = marker;

	/* requested keys, pipelined */
	ps.paths = calloc(pp->nkeys + 1, sizeof(*ps.paths));
	ps.nchildren = calloc(pp->nkeys + 1, sizeof(*ps.nchildren));
	if (ps.paths == NULL || ps.nchildren == NULL)
		fatal("calloc");
	for (i = 0; i < pp->nkeys; i++)
		ps.paths[i] = zk_key_path(pp->target, ps.slash_dot,
		    pp->keys[i], pp->keylens[i]);
	if (zk_run(d, ZOP_GET, ps.paths, pp->nkeys, psc.watch, on_key, &ps,
	    rb, err, errlen) == -1)
		goto done;
	if (ds_reply_extras(rb) == -1) {
		snprintf(err, errlen, "sending the reply failed");
		goto done;
	}
	if (pp->detect_extra) {
		build_key_maps(&ps);
		if (walk_extras(&ps, err, errlen) == -1)
			goto done;
	} else if (psc.watch) {
		/* no walk, so no child watches: watch missing keys' creation */
		for (i = 0; i < pp->nkeys; i++)
			if (ps.nchildren[i] == -1 && ps.paths[i] != NULL)
				(void)zoo_awexists(d->zh, ps.paths[i],
				    rule_watcher, rule_ctx(pp->rule_id),
				    exists_done, NULL);
	}
	rc = 0;
 done:
	if (mpath != pp->marker)
		free(mpath);
	poll_state_free(&ps);
	ipc_zookeeper_scope_release(&psc);
	pp = NULL;
	return rc;
}

/* ---- runtime hooks ---- */

static int
zk_init(void)
{
	pthread_condattr_t ca;
	cookie_io_functions_t io = { .write = zlog_write };
	FILE *f;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&zcv, &ca) != 0)
		return -1;
	pthread_condattr_destroy(&ca);
	if (ds_notify_init() == -1)
		return -1;
	/* the client prints plain text on stderr: route it into our log */
	if ((f = fopencookie(NULL, "w", io)) == NULL) {
		log_warn("fopencookie");
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	zoo_set_log_stream(f);
	zoo_set_debug_level(log_getlevel() >= LOG_LVL_DEBUG ?
	    ZOO_LOG_LEVEL_INFO : ZOO_LOG_LEVEL_ERROR);
	return 0;
}

/*
 * Nothing beyond the base allowlist: the mt client's two threads (clone
 * with CLONE_THREAD), its wake-up pipe (pipe2), poll, sockets, and
 * getaddrinfo are all in it (checked with VTW_TEST_SECCOMP_TRAP=1 through
 * connect, reads, watches, server loss and reconnect, digest auth).
 */

static const struct dsw_kind zk_kind = {
	.name = "zookeeper",
	.type = "zookeeper",
	.init = zk_init,
	.open = zk_open,
	.close = zk_close,
	.poll = zk_poll,
	.event_fd = ds_notify_fd,
	.event = ds_notify_flush,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&zk_kind, argc, argv);
}
