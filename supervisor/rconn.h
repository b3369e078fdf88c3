/*
 * rconn: one hiredis async connection on the supervisor's event loop, as
 * the election (ha.c) and the shared state (shared.c) use it: host:port
 * parsed once, AUTH and SELECT queued ahead of everything, the last error
 * kept for the log (never the password). hiredis 0.14 has no async
 * timeouts (backends-http-ha.md §5.4): callers bound their operations with
 * their own timers and rconn_drop() a stuck connection; rconn_send()
 * connects again when needed.
 *
 * Callbacks get the redisAsyncContext with ->data the struct rconn, whose
 * owner is the caller's; replies are NULL when the connection went.
 */
#ifndef VTW_RCONN_H
#define VTW_RCONN_H

#include <stddef.h>

#include <hiredis/async.h>

struct event_base;

struct rconn {
	struct event_base	*base;
	void			*owner;
	char			 host[256];
	int			 port;
	char			*password;	/* NULL: no AUTH */
	int			 db;
	redisAsyncContext	*ac;		/* NULL: not connected */
	char			 why[256];	/* the last error */
	/* the connection went (failed, lost or dropped): optional */
	void			(*lost)(struct rconn *);
};

/* hostport "host:port" or "[v6]:port"; -1 with err when it is not one */
int	rconn_init(struct rconn *, struct event_base *, void *owner,
	    const char *hostport, const char *password, int db, char *err,
	    size_t errlen);
/* a command with argv, connecting first if need be; -1 (why set) when
 * it cannot be queued */
int	rconn_send(struct rconn *, redisCallbackFn *, void *arg, int argc,
	    const char **argv, const size_t *lens);
/* give up on the connection: pending callbacks run now with NULL */
void	rconn_drop(struct rconn *);
void	rconn_free(struct rconn *);
void	rconn_error(struct rconn *, const char *what, const char *detail);

#endif
