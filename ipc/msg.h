/*
 * IPC message codec: C structs <-> protobuf-c Envelope. ipc/ (msg.c,
 * pb.c, kinds/<kind>.c) is the only user of the IPC's protobuf-c code
 * (vtw_ipc.pb-c.h, kinds/<kind>.pb-c.h).
 *
 * ipc_msg_decode() validates everything a peer can get wrong (size, type,
 * payload case, enum ranges, string and byte lengths, UTF-8 of every
 * string field) and returns -1 with a message instead of crashing. A
 * decoded message borrows its strings from an internal buffer: release it
 * with ipc_msg_release().
 *
 * The messages are kind-free: a datasource kind's settings and a poll's
 * scope travel as opaque bytes, the kind's own protobuf message packed and
 * unpacked by ipc/kinds/<kind>.c ("kinds/<kind>.h").
 */
#ifndef VTW_MSG_H
#define VTW_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "ipc.h"
#include "utf8.h"

struct ipc_bytes {
	const char	*p;
	size_t		 len;
};

struct ipc_pair {
	const char	*key;
	const char	*val;
	/* baseline entries only: val is a prefix of a value of full_len
	 * bytes whose SHA-256 is digest (VTW_DIGEST_LEN bytes) */
	int		 truncated;
	uint64_t	 full_len;
	const unsigned char *digest;
};

struct ipc_value {
	struct ipc_bytes key;
	int		 present;
	struct ipc_bytes val;
	int		 truncated;
	uint64_t	 full_len;
	unsigned char	 digest[VTW_DIGEST_LEN];	/* SHA-256, when truncated */
	int		 status;	/* enum ipc_value_status */
	const char	*note;		/* NULL or "": none */
};

/* How a present value is compared (proto ValueStatus) */
enum ipc_value_status { IPC_VALUE_READ = 0, IPC_VALUE_UNVERIFIABLE = 1,
	IPC_VALUE_MISMATCH = 2 };
#define IPC_NOTE_MAX_BYTES	512

enum ipc_baseline_status { IPC_BL_OK = 0, IPC_BL_UNCHANGED = 1, IPC_BL_ERROR = 2 };
/* what a baseline cost the remote: NONE when a recent fetch served */
enum ipc_fetch_result { IPC_FETCH_NONE = 0, IPC_FETCH_OK, IPC_FETCH_UNCHANGED,
	IPC_FETCH_ERROR, IPC_FETCH_TIMEOUT };
/* UNKNOWN: the datasource could not be read (connection, timeout, auth);
 * DATA_ERROR: it answered, the rule's data is not of the expected type or
 * shape (error names the key) */
enum ipc_poll_status { IPC_POLL_OK = 0, IPC_POLL_UNKNOWN = 1,
	IPC_POLL_DATA_ERROR = 2, IPC_POLL_RATE_LIMITED = 3 };

struct ipc_hello {
	const char	*kind;
	uint32_t	 pid;
	uint32_t	 proto_version;
};

struct ipc_conf_platform {
	const char	*name, *type, *endpoint, *token;
};

struct ipc_conf_datasource {
	const char	*name, *type;		/* type: the kind's name */
	uint32_t	 connect_timeout_ms, command_timeout_ms;
	struct ipc_bytes settings;		/* the kind's own message, packed by
						 * ipc/kinds/<kind>.c */
};

struct ipc_conf_git {
	const char	*cache_dir;
	uint64_t	 max_file_bytes, max_keys;
	uint32_t	 max_parallel_fetches;	/* 0: the worker's default */
	uint64_t	 fetch_timeout_ms;	/* 0: the worker's default */
};

struct ipc_baseline_request {
	uint32_t		 rule_id;
	const char		*platform, *repo_url, *branch;
	const char *const	*files;
	size_t			 nfiles;
	const char		*root_key;
	int			 root_key_set;
	const char		*env;
	const struct ipc_pair	*variables_map;
	size_t			 nvariables_map;
	const char		*key_format;	/* resolved by the supervisor:
						 * "dot" | "flat" | "slash" | "slash_dot" */
	const char		*key_prefix;	/* "" = keys as they are; else every
						 * key becomes "{key_prefix}:{key}"
						 * (redis STRING) */
	const char		*known_commit;
	const char		*want_commit;	/* "" or the leader's, used
						 * when the branch has it */
	uint64_t		 refresh_ms;	/* a fetch this recent of the
						 * same branch serves; 0: fetch */
	int			 refetch;	/* a push was announced: ask
						 * the remote all the same */
};

struct ipc_baseline_reply {
	uint32_t		 rule_id;
	enum ipc_baseline_status status;
	const char		*commit, *error;
	const struct ipc_pair	*entries;
	size_t			 nentries;
	int			 last;
	uint64_t		 total;
	enum ipc_fetch_result	 fetch;		/* on the last chunk */
	uint64_t		 fetch_us;
};

struct ipc_poll_request {
	uint32_t		 rule_id;
	const char		*rule;		/* its name, for messages */
	const char		*datasource;
	const char		*target, *marker;
	int			 detect_extra;
	const struct ipc_bytes	*keys;
	size_t			 nkeys;
	int			 last;
	uint64_t		 total;
	struct ipc_bytes	 scope;		/* the kind's own scope message */
};

struct ipc_notify {
	uint32_t		 rule_id;
};

struct ipc_poll_reply {
	uint32_t		 rule_id;
	enum ipc_poll_status	 status;
	const char		*error;
	const struct ipc_value	*values;
	size_t			 nvalues;
	const struct ipc_value	*extras;
	size_t			 nextras;
	int			 marker_present;
	int			 last;
};

struct ipc_msg {
	enum ipc_msg_type	 type;
	uint64_t		 seq;
	union {
		struct ipc_hello		 hello;
		struct ipc_conf_platform	 conf_platform;
		struct ipc_conf_datasource	 conf_datasource;
		struct ipc_conf_git		 conf_git;
		struct ipc_baseline_request	 baseline_request;
		struct ipc_baseline_reply	 baseline_reply;
		struct ipc_poll_request		 poll_request;
		struct ipc_poll_reply		 poll_reply;
		struct ipc_notify		 notify;
	} u;
	/* decoder-owned storage */
	void			*priv_env;
	void			*priv_arr1, *priv_arr2;
};

/* Encode m into a malloc'd buffer (*out, *outlen); -1 on OOM or if the
 * result would exceed IPC_MAX_MSG_BYTES. */
int	ipc_msg_encode(void **out, size_t *outlen, const struct ipc_msg *m);
/* Decode and validate untrusted bytes. 0 ok, -1 with err. */
int	ipc_msg_decode(struct ipc_msg *out, const void *buf, size_t len,
	    char *err, size_t errlen);
void	ipc_msg_release(struct ipc_msg *);
/* Rough encoded size of one entry, for chunking. */
size_t	ipc_value_cost(size_t keylen, size_t vallen);
/* Length of the prefix of a UTF-8 string of len bytes sent for a value
 * over IPC_MAX_VALUE_BYTES: at most that, cut on a character boundary. */
size_t	ipc_value_prefix_len(const char *, size_t len);

#endif
