/*
 * What every datasource worker shares (redis, mongo, zookeeper, linux):
 * the table of configured datasources, reassembling a chunked poll
 * request, and building the chunked reply.
 *
 * A kind's worker is one struct dsw_kind given to ds_worker_main(). The
 * runtime keeps the datasources the supervisor configures (name, common
 * settings and the kind's private state made by open(); a name configured
 * again is replaced), collects each poll request, finds its datasource and
 * calls the kind's poll() with that private state. poll() reads the
 * datasource: ds_reply_add() one value per requested key in request order,
 * switch to extras with ds_reply_extras(), and return 0 (the runtime sends
 * the last chunk) or -1 with err (the poll is unknown).
 */
#ifndef VTW_DSWORKER_H
#define VTW_DSWORKER_H

#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "kvmap.h"
#include "msg.h"

#define DS_MAX_DATASOURCES	64

/* strdup, fatal when out of memory; NULL is "" */
char	*ds_strdup(const char *);

/* A poll request, complete: kind-free, the kind unpacks scope itself
 * (ipc_<kind>_scope_unpack). Everything stays valid until ds_poll_reset. */
struct ds_poll {
	uint32_t		 rule_id;
	char			*rule;		/* its name ("" from an old
						 * supervisor) */
	char			*datasource, *target, *marker;
	int			 detect_extra;
	struct ipc_bytes	 scope;		/* a copy of the kind's scope */
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
/* The requested keys as a set (kvmap_get(set, key, len) != NULL). */
struct kvmap *ds_poll_keyset(const struct ds_poll *);
/* len bytes that stay valid until ds_poll_reset() */
char	*ds_poll_store(struct ds_poll *, const void *src, size_t len);

struct ds_reply {
	struct ipc_chan		*chan;
	uint32_t		 rule_id;
	const char		*rule;		/* its name (borrowed) or NULL */
	struct ipc_value	*vals;
	size_t			 nvals, cap, cost;
	int			 extras_mode;
	int			 marker_present;
	int			 failed;	/* a send failed */
	int			 ended;		/* ds_reply_end() was called */
};

void	ds_reply_init(struct ds_reply *, struct ipc_chan *, uint32_t rule_id);
/* A rule's name for a message ("?" when the supervisor sent none). */
#define DS_RULE_NAME(name)	((name) != NULL && (name)[0] != '\0' ? \
				    (name) : "?")
/*
 * Add one value (present = 0: the key does not exist). Nothing is copied:
 * key and val must stay valid until the next flush. Values over
 * IPC_MAX_VALUE_BYTES are sent truncated with their length and digest.
 * Returns 1 when the buffer should be flushed now (ds_reply_flush) so the
 * caller can free what the buffered values point into, else 0.
 */
int	ds_reply_add(struct ds_reply *, const char *key, size_t keylen,
	    int present, const char *val, size_t vallen);
/* The same for a present value that is not simply compared (struct
 * ipc_value's status: IPC_VALUE_UNVERIFIABLE, IPC_VALUE_MISMATCH) with its
 * note (borrowed like the value; at most IPC_NOTE_MAX_BYTES, never a
 * secret). */
int	ds_reply_add_status(struct ds_reply *, const char *key, size_t keylen,
	    int status, const char *note, const char *val, size_t vallen);
/* Send what is buffered as a non-last chunk; -1 when sending failed. */
int	ds_reply_flush(struct ds_reply *);
/* Flush the values, then further ds_reply_add() calls are extras. */
int	ds_reply_extras(struct ds_reply *);
/* Send the last chunk (status OK) and free the buffer. */
int	ds_reply_finish(struct ds_reply *);
/* Drop whatever is buffered and send the last chunk as UNKNOWN with err. */
int	ds_reply_unknown(struct ds_reply *, const char *err);
/* The same as DATA_ERROR: the datasource answered, the rule's data is not
 * of the type or shape the rule expects (err names the key). */
int	ds_reply_data_error(struct ds_reply *, const char *err);
/*
 * What a kind's poll() returns besides 0: -1 when the datasource could not
 * be read (connection, timeout, authentication: its circuit breaker counts
 * it), DS_POLL_DATA_ERROR when it answered but the rule's data cannot be
 * compared (a key of another type, a document of the wrong shape: that
 * rule is unknown, the datasource is not down).
 */
#define DS_POLL_DATA_ERROR	(-2)
/* The datasource refused for its rate limit (err says until when): the
 * rule is unknown, the datasource's breaker counts it as answered. */
#define DS_POLL_RATE_LIMITED	(-3)
/* The end of a poll: rc 0 -> ds_reply_finish; rc -1 -> logged ("rule N:
 * read failed: err") and ds_reply_unknown; rc DS_POLL_DATA_ERROR -> logged
 * ("rule N: data error: err") and ds_reply_data_error (unless a send
 * already failed); rc DS_POLL_RATE_LIMITED -> logged and sent as
 * RATE_LIMITED. Once per reply: later calls do nothing. */
void	ds_reply_end(struct ds_reply *, int rc, const char *err);

/* A datasource kind's worker. */
struct dsw_kind {
	const char	*name;		/* the worker's: Hello.kind, "linux" */
	const char	*type;		/* ConfDatasource.type it serves */
	int		(*init)(void);	/* optional, before the sandbox */
	void		(*fini)(void);	/* optional, after every close() */
	/* A datasource configured: unpack c->settings
	 * (ipc_<kind>_settings_unpack), make *priv. -1 with err rejects it
	 * (a datasource of that name keeps its former settings). */
	int		(*open)(const struct ipc_conf_datasource *c, void **priv,
			    char *err, size_t errlen);
	void		(*close)(void *priv);
	/* One complete poll request of a datasource opened by open(): 0,
	 * or -1 with err; the runtime then ends the reply (ds_reply_end).
	 * DS_POLL_DATA_ERROR with err for a data error (see above).
	 * Values still buffered in rb must stay valid until then: flush
	 * them, or end the reply itself before freeing what they point
	 * into. */
	int		(*poll)(void *priv, struct ds_poll *p,
			    struct ds_reply *rb, char *err, size_t errlen);
	/* optional, as in struct worker_ops */
	int		(*event_fd)(void);
	void		(*event)(struct ipc_chan *);
};

struct ds_entry {
	char		*name;
	uint32_t	 connect_timeout_ms, command_timeout_ms;
	void		*priv;		/* the kind's, from open() */
};

/* The configured datasources of one kind. */
struct ds_table {
	const struct dsw_kind	*kind;
	struct ds_entry		 ents[DS_MAX_DATASOURCES];
	size_t			 n;
};

void	ds_table_init(struct ds_table *, const struct dsw_kind *);
/* Add the datasource of an IPC_CONF_DATASOURCE of the table's kind, or
 * replace the one of that name. -1 with err when rejected. */
int	ds_table_conf(struct ds_table *, const struct ipc_conf_datasource *,
	    char *err, size_t errlen);
struct ds_entry *ds_table_find(struct ds_table *, const char *name);
/* close() every datasource; the table is empty again */
void	ds_table_clear(struct ds_table *);

/* The worker of kind k: worker_main() with the table as its conf, handle
 * and fini. */
int	ds_worker_main(const struct dsw_kind *k, int argc, char **argv);
/*
 * Watches (notify.c): another thread calls ds_notify(rule) when a rule's
 * data changed; the rule is queued once (at most DS_MAX_PENDING_NOTIFY)
 * and the main loop woken. A kind calls ds_notify_init() in init() and
 * sets .event_fd = ds_notify_fd, .event = ds_notify_flush, which sends
 * one IPC_NOTIFY per queued rule (the supervisor polls it at once).
 * ds_notify_ready(): whether init succeeded.
 */
#define DS_MAX_PENDING_NOTIFY	4096
int	ds_notify_init(void);
int	ds_notify_ready(void);
void	ds_notify(uint32_t rule);
int	ds_notify_fd(void);
void	ds_notify_flush(struct ipc_chan *);

/* The running worker's table (e.g. for what spans every datasource). */
const struct ds_table *ds_worker_table(void);

#endif
