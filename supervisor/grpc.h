/*
 * grpc: a small non-blocking unary gRPC client for the supervisor's
 * libevent loop (watcher -> orchestrator, interop §6).
 *
 * Transport: libcurl's multi interface driven by libevent
 * (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION + curl_multi_socket_action).
 * Name resolution uses curl's threaded resolver; nothing here ever blocks
 * the loop, so a slow or hung orchestrator never delays other events.
 *   - no TLS files: h2c with prior knowledge (http://host:port);
 *   - ca_file and/or cert_file: TLS >= 1.2 with ALPN h2 (https://host:port),
 *     the server verified (name and chain) against ca_file only, or the
 *     system trust store when ca_file is NULL; a client certificate (mTLS)
 *     when cert_file and key_file are both set. The files are read by
 *     OpenSSL at each connection; grpc_client_new() checks they open.
 * Over TLS one HTTP/2 connection is kept and multiplexes every call. Over
 * h2c with libcurl < 8.0.0 (Debian 12: 7.88.1) each call opens and closes
 * its own connection, because those versions break a reused prior-knowledge
 * connection ("Error in the HTTP2 framing layer", curl issue 10634).
 * Proxies from the environment (http_proxy, ...) are ignored.
 *
 * Threads: none of this is thread-safe. A client and its calls belong to
 * the thread running its event_base; call every function from that thread
 * (from event callbacks or before event_base_dispatch).
 *
 * grpc_client_new() calls curl_global_init() and grpc_client_free()
 * curl_global_cleanup(); both are thread-safe in libcurl builds with the
 * "threadsafe" feature (7.84+, Debian 12's has it), so nng's threads are
 * no concern.
 *
 * Signals: curl runs with CURLOPT_NOSIGNAL, so the process must ignore
 * SIGPIPE (the supervisor does) or a peer resetting a TLS connection can
 * kill it.
 *
 * Callbacks: when grpc_call() (or a wrapper) returns 0, the callback runs
 * EXACTLY ONCE, never from inside grpc_call(): from the event loop when the
 * call completes, fails or times out, or from inside grpc_client_free()
 * when that cancels it (status GRPC_STATUS_CANCELLED). When
 * grpc_call() returns -1 the callback never runs. A callback may start new
 * calls, and may call grpc_client_free() on its own client (the free is
 * finished when the callback returns; the remaining calls are cancelled).
 */
#ifndef VTW_GRPC_H
#define VTW_GRPC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

#define GRPC_DEFAULT_MAX_RESPONSE	(4u * 1024 * 1024)
#define GRPC_FRAME_PREFIX_LEN		5	/* flag byte + BE u32 length */
#define GRPC_MESSAGE_MAX		512	/* decoded grpc-message bytes */
#define GRPC_TIMEOUT_SLACK_MS		250	/* CURLOPT_TIMEOUT_MS slack */
#define GRPC_MAX_INFLIGHT		256	/* calls per client */
#define GRPC_SYNC_FIELD_MAX		4096	/* bytes per request string */
#define GRPC_SYNC_TASK_ID_MAX		256	/* bytes of a reply string */

#define GRPC_PATH_SYNC_DATASOURCE	"/vartrack.v1.Watcher/SyncDatasource"
#define GRPC_PATH_PING			"/vartrack.v1.Watcher/Ping"

enum grpc_status_code {
	GRPC_STATUS_OK = 0,
	GRPC_STATUS_CANCELLED = 1,
	GRPC_STATUS_UNKNOWN = 2,
	GRPC_STATUS_INVALID_ARGUMENT = 3,
	GRPC_STATUS_DEADLINE_EXCEEDED = 4,
	GRPC_STATUS_NOT_FOUND = 5,
	GRPC_STATUS_ALREADY_EXISTS = 6,
	GRPC_STATUS_PERMISSION_DENIED = 7,
	GRPC_STATUS_RESOURCE_EXHAUSTED = 8,
	GRPC_STATUS_FAILED_PRECONDITION = 9,
	GRPC_STATUS_ABORTED = 10,
	GRPC_STATUS_OUT_OF_RANGE = 11,
	GRPC_STATUS_UNIMPLEMENTED = 12,
	GRPC_STATUS_INTERNAL = 13,
	GRPC_STATUS_UNAVAILABLE = 14,
	GRPC_STATUS_DATA_LOSS = 15,
	GRPC_STATUS_UNAUTHENTICATED = 16,
};

/* All strings are borrowed: grpc_client_new() copies what it keeps. */
struct grpc_opts {
	const char	*addr;		/* required: "host:port", "[v6]:port" */
	const char	*ca_file;	/* PEM; enables TLS */
	const char	*cert_file;	/* PEM client certificate; enables TLS */
	const char	*key_file;	/* PEM key for cert_file */
	size_t		 max_response_bytes; /* largest response message
					 * (without the 5-byte prefix);
					 * 0 = GRPC_DEFAULT_MAX_RESPONSE */
	const char	*instance;	/* sent on every call as metadata
					 * x-vartrack-watcher-instance (who
					 * called); NULL: none. Printable
					 * ASCII, at most 200 bytes */
};

/*
 * What a callback gets. Everything it points to is BORROWED and valid only
 * during the callback: copy what you keep.
 *
 * error == NULL iff the call succeeded: grpc-status 0 from the server and a
 * response of exactly one valid uncompressed message (msg, msg_len; msg is
 * non-NULL even when msg_len is 0). Otherwise error is one line of text and
 * grpc_status is non-zero:
 *   - transport == 0: the server answered with this status (grpc-status in
 *     the trailers or a trailers-only header block); grpc_message is its
 *     decoded grpc-message;
 *   - transport == 1: the status was made up here: curl error (connect,
 *     TLS, reset: UNAVAILABLE), timeout (DEADLINE_EXCEEDED), response over
 *     max_response_bytes (RESOURCE_EXHAUSTED), HTTP status != 200 (mapped
 *     as in gRPC's http-grpc-status-mapping), not HTTP/2, bad content-type
 *     (UNKNOWN), missing or bad grpc-status, bad framing (INTERNAL),
 *     grpc_client_free() (CANCELLED).
 */
struct grpc_result {
	const char	*method;	/* the method path of the call */
	int		 grpc_status;	/* enum grpc_status_code or the
					 * server's number */
	int		 transport;
	const char	*error;
	const char	*grpc_message;	/* never NULL; "" if none. Percent-
					 * decoded, at most GRPC_MESSAGE_MAX-1
					 * bytes of valid UTF-8; TAB/CR/LF
					 * become spaces, other control
					 * characters are dropped */
	const void	*msg;
	size_t		 msg_len;
	long		 http_status;	/* 0 when no response arrived */
	uint64_t	 elapsed_ms;
};

typedef void (*grpc_done_fn)(const struct grpc_result *, void *arg);

struct grpc_client;

/* Request of vartrack.v1.Watcher/SyncDatasource; NULL means "". */
struct grpc_sync_req {
	const char	*datasource;	/* required, non-empty */
	const char	*platform;
	const char	*tenant;
	const char	*env;
	const char	*reason;
};

/*
 * Creates a client on base (borrowed: it must outlive the client). No
 * connection is made until the first call. Returns NULL with err set when
 * opts are invalid (bad addr, cert without key or key without cert, an
 * unreadable TLS file) or on OOM. Must be freed with grpc_client_free().
 */
struct grpc_client *grpc_client_new(struct event_base *,
	    const struct grpc_opts *, char *err, size_t errlen);

/*
 * Cancels every call in flight (each callback runs once, now, with
 * GRPC_STATUS_CANCELLED and transport 1; grpc_call() from those callbacks
 * fails), closes the connection and frees the client. NULL is a no-op.
 * From inside one of the client's callbacks the free is deferred until that
 * callback returns.
 */
void	grpc_client_free(struct grpc_client *);

/* Number of calls in flight (started, callback not yet run). */
size_t	grpc_client_inflight(const struct grpc_client *);

/*
 * Starts a unary call: POST method_path ("/package.Service/Method") with
 * msg (len bytes of an encoded message, copied: the caller may free it at
 * once) framed as one gRPC message, grpc-timeout timeout_ms, and
 * CURLOPT_TIMEOUT_MS timeout_ms + GRPC_TIMEOUT_SLACK_MS. timeout_ms must be
 * > 0. Returns 0 (cb will run exactly once, later) or -1 with err set (bad
 * arguments, GRPC_MAX_INFLIGHT reached, client being freed, OOM, curl
 * refusing the handle); cb never runs then.
 */
int	grpc_call(struct grpc_client *, const char *method_path,
	    const void *msg, size_t len, uint64_t timeout_ms, grpc_done_fn cb,
	    void *arg, char *err, size_t errlen);

/*
 * SyncDatasource: encodes req as vartrack.v1.SyncDatasourceRequest (every
 * string at most GRPC_SYNC_FIELD_MAX bytes of valid UTF-8; datasource
 * non-empty) and calls it as grpc_call() does. Decode a successful result
 * with grpc_sync_decode().
 */
int	grpc_sync_datasource(struct grpc_client *, const struct grpc_sync_req *,
	    uint64_t timeout_ms, grpc_done_fn cb, void *arg, char *err,
	    size_t errlen);

/*
 * Decodes the vartrack.v1.SyncDatasourceResponse of a result. Returns 0
 * with task_id and status copied (NUL-terminated), or -1 with err set when
 * the result is an error (its text is copied), the bytes are not a valid
 * message, task_id is empty, or a string does not fit its buffer (at most
 * GRPC_SYNC_TASK_ID_MAX bytes either way), is not UTF-8 or holds control
 * characters.
 */
int	grpc_sync_decode(const struct grpc_result *, char *task_id,
	    size_t task_id_len, char *status, size_t status_len, char *err,
	    size_t errlen);

/*
 * Ping (google.protobuf.Empty both ways). The callback sees success only if
 * the response is an empty message; anything else is an INTERNAL error.
 */
int	grpc_ping(struct grpc_client *, uint64_t timeout_ms, grpc_done_fn cb,
	    void *arg, char *err, size_t errlen);

/* "OK", "DEADLINE_EXCEEDED", ... (static strings); "?" outside 0..16. */
const char *grpc_status_name(int);

/*
 * Pure helpers, exposed for tests.
 *
 * grpc_frame_encode: writes the 5-byte prefix (flag 0, big-endian length)
 * and msg to out. Returns the frame length, or 0 when outlen is too small
 * or len > UINT32_MAX.
 */
size_t	grpc_frame_encode(void *out, size_t outlen, const void *msg,
	    size_t len);

/*
 * grpc_frame_decode: a unary response body must be exactly one frame: flag
 * byte 0 (1 = compressed is refused, we never negotiate compression; other
 * values are invalid), declared length <= max, and exactly 5 + length
 * bytes. Returns 0 with *msg pointing into buf (*msglen bytes), or -1 with
 * err set. Never reads outside buf[0..len).
 */
int	grpc_frame_decode(const void *buf, size_t len, size_t max,
	    const void **msg, size_t *msglen, char *err, size_t errlen);

/*
 * grpc_percent_decode: decodes a grpc-message value (in, inlen bytes) into
 * out (always NUL-terminated when outlen > 0). %XX escapes are decoded
 * (either case); a '%' not followed by two hex digits is kept literally.
 * The result is valid UTF-8: invalid bytes become '?', TAB/CR/LF become a
 * space, other C0/C1 control characters and DEL are dropped, and it is cut
 * at a character boundary to fit. Returns strlen(out).
 */
size_t	grpc_percent_decode(char *out, size_t outlen, const char *in,
	    size_t inlen);

/*
 * The response of one call as it arrives, without curl: curl's header
 * callback hands each header and trailer line (with its CRLF) to
 * grpc_resp_header(), its write callback the body bytes to
 * grpc_resp_body(), and grpc_resp_check() says what the finished response
 * means. Start from a zeroed struct; grpc_resp_free() frees the body.
 */
#define GRPC_RAW_MESSAGE_MAX	2048	/* raw grpc-message bytes kept */
struct grpc_resp {
	unsigned char	*body;
	size_t		 bodylen, bodycap;
	int		 too_large;	/* over max: the transfer is aborted */
	int		 have_status, bad_status, grpc_status;
	int		 have_ctype, ctype_ok;
	char		 ctype[64];
	char		 rawmsg[GRPC_RAW_MESSAGE_MAX];	/* grpc-message */
	size_t		 rawmsglen;
};

/* One header or trailer line; a status line ("HTTP/...") starts a new
 * header block. Lines that are not "name: value" are ignored. */
void	grpc_resp_header(struct grpc_resp *, const char *line, size_t n);
/* n more body bytes: 0, or -1 (abort the transfer) when the body would
 * exceed one message of max bytes (too_large set) or on OOM. */
int	grpc_resp_body(struct grpc_resp *, const void *buf, size_t n,
	    size_t max);
void	grpc_resp_free(struct grpc_resp *);
/*
 * A complete response (a transport error ruled out): http its HTTP status,
 * http2 whether it came over HTTP/2, message the percent-decoded
 * grpc-message. Returns the gRPC status: GRPC_STATUS_OK with *msg, *msglen
 * the one message (pointing into the body), or another with err set and
 * *transport 0 when the server sent that status, 1 when it is made up here
 * (as struct grpc_result).
 */
int	grpc_resp_check(const struct grpc_resp *, long http, int http2,
	    size_t max, int expect_empty, const char *message,
	    const void **msg, size_t *msglen, int *transport, char *err,
	    size_t errlen);

/*
 * grpc_timeout_format: the grpc-timeout header value for ms (> 0): "<n>m"
 * when n fits the 8 digits the spec allows, else seconds/minutes/hours
 * rounded up. Returns 0, or -1 if ms is 0 or out is too small.
 */
int	grpc_timeout_format(char *out, size_t outlen, uint64_t ms);

/*
 * The client is built as a loadable module (vartrack-grpc.so, next to the
 * workers) that the supervisor dlopen()s only when some rule has
 * self_heal: true: libcurl and its TLS stack then cost nothing to a
 * watcher that never heals. The module exports this table.
 */
#define GRPC_API_SYMBOL		"vtw_grpc_api"
#define GRPC_API_VERSION	1
struct grpc_api {
	int	version;
	struct grpc_client *(*client_new)(struct event_base *,
		    const struct grpc_opts *, char *, size_t);
	void	(*client_free)(struct grpc_client *);
	int	(*sync_datasource)(struct grpc_client *,
		    const struct grpc_sync_req *, uint64_t, grpc_done_fn, void *,
		    char *, size_t);
	int	(*sync_decode)(const struct grpc_result *, char *, size_t,
		    char *, size_t, char *, size_t);
	int	(*ping)(struct grpc_client *, uint64_t, grpc_done_fn, void *,
		    char *, size_t);
	const char *(*status_name)(int);
};
extern const struct grpc_api vtw_grpc_api;

#endif
