/*
 * Leader election (watcher.ha): what ha.c (the shared part: tick, lead.c,
 * metrics, logs, and the Redis backend) and ha_zk.c (the ZooKeeper
 * backend) share. Nothing else includes this.
 *
 * A backend carries lead.c's operations to its store and reports each
 * answer with ha_result(); one operation is out at a time, numbered by
 * lead.c (a late answer to an operation given up on is ignored there).
 */
#ifndef VTW_HA_H
#define VTW_HA_H

#include <stddef.h>
#include <stdint.h>

#include "lead.h"
#include "rconn.h"

struct sup;
struct conf_ha;
struct event;
struct redisAsyncContext;
struct ha_zk;

struct sup_ha {
	struct sup		*sup;
	const char		*backend;	/* "redis" | "zookeeper" */
	char			 where[320];	/* "redis 127.0.0.1:6379", logs */
	int			 standbys_poll;	/* as at start */
	struct lead_params	 p;
	struct lead_state	 st;
	/* backend redis (ha.c) */
	struct rconn		 rc;
	char			*key;
	/* backend zookeeper (ha_zk.c) */
	struct ha_zk		*zk;
	struct event		*ev_tick;
	char			 holder[256];	/* who leads, as last seen */
	char			 why[256];	/* the store's last error */
	int			 was_up;	/* store_up as last logged */
	int			 suspended;	/* the connection dropped */
	void			(*released)(struct sup *);
};

/* ha.c, for the backends */
void	ha_store_error(struct sup_ha *, const char *fmt, const char *what);
/* the answer to operation seq (stale ones are ignored) */
void	ha_result(struct sup_ha *, uint64_t seq, enum lead_result);
/* the store says we may have lost leadership: stop healing now */
void	ha_suspend(struct sup_ha *);

/* ha_zk.c */
int	ha_zk_start(struct sup_ha *, const struct conf_ha *, char *err,
	    size_t errlen);
void	ha_zk_send(struct sup_ha *, enum lead_op, uint64_t seq);
/* every tick: a new session after an expiry; drive the client */
void	ha_zk_tick(struct sup_ha *);
/* close the session (its candidate node goes with it) */
void	ha_zk_close(struct sup_ha *);
void	ha_zk_free(struct sup_ha *);

#endif
