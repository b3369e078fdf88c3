/*
 * What every datasource worker shares (redis, mongo, zookeeper, linux):
 * reassembling a chunked poll request, and building the chunked reply.
 *
 * A worker's handle() passes each IPC_POLL_REQUEST to ds_poll_collect();
 * when it returns 1 the request is complete in *p: read the datasource,
 * ds_reply_add() one value per requested key in request order, switch to
 * extras with ds_reply_extras(), then ds_reply_finish() (or
 * ds_reply_unknown() when the read failed), and ds_poll_reset().
 */
#ifndef VTW_DSWORKER_H
#define VTW_DSWORKER_H

#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "kvmap.h"
#include "msg.h"

/* strdup, fatal when out of memory; NULL is "" */
char	*ds_strdup(const char *);
/* The entry called name in a worker's datasource table: n structs of size
 * bytes each, whose first member is `char *name`. NULL when none. */
void	*ds_find(void *tab, size_t n, size_t size, const char *name);

struct ds_poll {
	uint32_t		 rule_id;
	enum ipc_structure	 structure;
	char			*datasource, *target, *marker;
	char			*tenant, *env, *label;	/* mongo filter */
	char			*database;		/* mongo; "" = datasource's */
	char			**files;		/* mongo file strategy */
	size_t			 nfiles;
	int			 detect_extra, watch;
	char			**keys;		/* NUL-terminated; may hold NUL */
	size_t			*keylens;
	size_t			 nkeys;
	int			 active;
	/* private */
	size_t			 cap;
	char			**blocks;
	size_t			 nblocks, block_used, block_size;
};

/* Add one chunk of a poll request. 1 when it was the last chunk (the
 * request is complete), 0 when more are to come, -1 when m is not a poll
 * request. */
int	ds_poll_collect(struct ds_poll *, const struct ipc_msg *m);
void	ds_poll_reset(struct ds_poll *);
/* A datasource worker's handle(): collect the chunks; once the request is
 * complete run poll(chan) (which reads p) and reset p. -1 when m is not a
 * poll request. */
int	ds_poll_handle(struct ds_poll *p, struct ipc_chan *,
	    const struct ipc_msg *m, void (*poll)(struct ipc_chan *));
/* The requested keys as a set (kvmap_get(set, key, len) != NULL). */
struct kvmap *ds_poll_keyset(const struct ds_poll *);
/* len bytes that stay valid until ds_poll_reset() */
char	*ds_poll_store(struct ds_poll *, const void *src, size_t len);

struct ds_reply {
	struct ipc_chan		*chan;
	uint32_t		 rule_id;
	struct ipc_value	*vals;
	size_t			 nvals, cap, cost;
	int			 extras_mode;
	int			 marker_present;
	int			 failed;	/* a send failed */
};

void	ds_reply_init(struct ds_reply *, struct ipc_chan *, uint32_t rule_id);
/*
 * Add one value (present = 0: the key does not exist). Nothing is copied:
 * key and val must stay valid until the next flush. Values over
 * IPC_MAX_VALUE_BYTES are sent truncated with their length and digest.
 * Returns 1 when the buffer should be flushed now (ds_reply_flush) so the
 * caller can free what the buffered values point into, else 0.
 */
int	ds_reply_add(struct ds_reply *, const char *key, size_t keylen,
	    int present, const char *val, size_t vallen);
/* Send what is buffered as a non-last chunk; -1 when sending failed. */
int	ds_reply_flush(struct ds_reply *);
/* Flush the values, then further ds_reply_add() calls are extras. */
int	ds_reply_extras(struct ds_reply *);
/* Send the last chunk (status OK) and free the buffer. */
int	ds_reply_finish(struct ds_reply *);
/* Drop whatever is buffered and send the last chunk as UNKNOWN with err. */
int	ds_reply_unknown(struct ds_reply *, const char *err);
/* The end of a poll: rc 0 -> ds_reply_finish; rc -1 -> logged ("rule N:
 * read failed: err") and ds_reply_unknown (unless a send already failed). */
void	ds_reply_end(struct ds_reply *, int rc, const char *err);

#endif
