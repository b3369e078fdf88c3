#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "log.h"
#include "rconn.h"

void
rconn_error(struct rconn *rc, const char *what, const char *detail)
{
	snprintf(rc->why, sizeof(rc->why), "%s%s%s", what,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

int
rconn_init(struct rconn *rc, struct event_base *base, void *owner,
    const char *hostport, const char *password, int db, char *err,
    size_t errlen)
{
	const char *hp = hostport, *colon = strrchr(hostport, ':');
	size_t n;

	memset(rc, 0, sizeof(*rc));
	rc->base = base;
	rc->owner = owner;
	rc->db = db;
	if (colon == NULL)
		goto bad;
	n = (size_t)(colon - hp);
	if (hp[0] == '[' && n >= 2 && hp[n - 1] == ']') {
		hp++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(rc->host))
		goto bad;
	memcpy(rc->host, hp, n);
	rc->port = atoi(colon + 1);
	if (password != NULL && (rc->password = strdup(password)) == NULL)
		fatal("strdup");
	return 0;
 bad:
	snprintf(err, errlen, "bad address '%s'", hostport);
	return -1;
}

static void
rconn_gone(struct rconn *rc)
{
	rc->ac = NULL;
	if (rc->lost != NULL)
		rc->lost(rc);
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (status != REDIS_OK) {
		rconn_error(rc, "connect", ac->errstr);
		if (rc->ac == ac)
			rconn_gone(rc);	/* hiredis frees it */
	}
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (status != REDIS_OK)
		rconn_error(rc, "connection lost", ac->errstr);
	if (rc->ac == ac)
		rconn_gone(rc);
}

/* AUTH and SELECT: an error reply is remembered for the log. */
static void
setup_cb(redisAsyncContext *ac, void *r, void *arg)
{
	struct rconn *rc = ac->data;
	redisReply *reply = r;

	(void)arg;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		rconn_error(rc, reply->str, NULL);
}

static int
rconn_connect(struct rconn *rc)
{
	redisAsyncContext *ac;

	if ((ac = redisAsyncConnect(rc->host, rc->port)) == NULL) {
		rconn_error(rc, "connect", "out of memory");
		return -1;
	}
	if (ac->err) {
		rconn_error(rc, "connect", ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	ac->data = rc;
	if (redisLibeventAttach(ac, rc->base) != REDIS_OK) {
		redisAsyncFree(ac);
		rconn_error(rc, "cannot attach to the event loop", NULL);
		return -1;
	}
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	rc->ac = ac;
	/* queued until connected */
	if (rc->password != NULL)
		redisAsyncCommand(ac, setup_cb, NULL, "AUTH %s", rc->password);
	redisAsyncCommand(ac, setup_cb, NULL, "SELECT %d", rc->db);
	return 0;
}

int
rconn_send(struct rconn *rc, redisCallbackFn *fn, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (rc->ac == NULL && rconn_connect(rc) == -1)
		return -1;
	if (redisAsyncCommandArgv(rc->ac, fn, arg, argc, argv, lens) !=
	    REDIS_OK) {
		rconn_error(rc, "cannot queue a command", NULL);
		return -1;
	}
	return 0;
}

void
rconn_drop(struct rconn *rc)
{
	redisAsyncContext *ac = rc->ac;

	if (ac == NULL)
		return;
	rc->ac = NULL;
	redisAsyncFree(ac);	/* pending callbacks get NULL: stale */
	if (rc->lost != NULL)
		rc->lost(rc);
}

void
rconn_free(struct rconn *rc)
{
	rc->lost = NULL;	/* the owner is going */
	rconn_drop(rc);
	if (rc->password != NULL)
		explicit_bzero(rc->password, strlen(rc->password));
	free(rc->password);
	rc->password = NULL;
}
