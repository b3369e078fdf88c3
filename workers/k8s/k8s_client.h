/*
 * k8s_client: a small Kubernetes API client for the workers that read a
 * cluster (the configmap kind; Helm's release storage later), on the
 * workers' HTTP client (workers/runtime/http.h) and jansson.
 * spec/backends-http-ha.md §2.
 *
 * One client per datasource, made before or after the sandbox (it opens
 * no file but the token file, see below). Each k8s_get() is one blocking
 * GET {api_server}{path} with Accept: application/json and, when a token
 * is configured, Authorization: Bearer.
 *
 *   - Token file (client-go's cached file token source): re-read, trimmed,
 *     at most K8S_TOKEN_REREAD_SEC after the last read, and once more
 *     after a 401 (the request is then retried once when the token
 *     changed). A file the sandboxed process cannot read keeps the token
 *     it has (logged once); its contents are never logged.
 *   - 429: Retry-After (seconds; else details.retryAfterSeconds; else
 *     K8S_RETRY_AFTER_DEFAULT_SEC; at most K8S_RETRY_AFTER_MAX_SEC) is
 *     honoured: until then k8s_get() sends nothing and fails at once.
 *   - Errors are metav1.Status objects: k8s_status_parse() reads them;
 *     the response text names the code, reason and message, never the
 *     body otherwise (a proxy's HTML page is shown as its status only).
 *
 * Not thread-safe: a client belongs to one thread.
 */
#ifndef VTW_K8S_CLIENT_H
#define VTW_K8S_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>

#define K8S_TOKEN_REREAD_SEC		60
#define K8S_TOKEN_MAX_BYTES		(16 * 1024)
#define K8S_RETRY_AFTER_DEFAULT_SEC	1
#define K8S_RETRY_AFTER_MAX_SEC		600
#define K8S_STATUS_MESSAGE_MAX		512

/* Everything borrowed: k8s_client_new() copies what it keeps. */
struct k8s_opts {
	const char	*api_server;	/* scheme://host[:port][/prefix] */
	const char	*token;		/* NULL/"": none */
	const char	*token_file;	/* NULL/"": none; token is its
					 * contents when read at load */
	const char	*ca_pem;	/* NUL-terminated PEM, or NULL */
	const char	*cert_pem, *key_pem;
	int		 insecure_skip_tls_verify;
	long		 connect_timeout_ms, timeout_ms;
	size_t		 max_body;
	const char	*what;		/* for log lines: the datasource */
};

/* A metav1.Status (strings cut to fit, control bytes kept: the log line
 * escapes them). */
struct k8s_status {
	char	reason[64];
	char	message[K8S_STATUS_MESSAGE_MAX];
	char	details_kind[64];
	long	code;
	long	retry_after;	/* details.retryAfterSeconds, 0: none */
};

struct k8s_resp {
	long			 status;	/* HTTP status */
	json_t			*json;		/* the body, when JSON */
	int			 is_status;	/* st holds a Status */
	struct k8s_status	 st;
	long			 elapsed_ms;
};

struct k8s_client;

/* 0 with *out (free with k8s_client_free), or -1 with err. */
int	k8s_client_new(struct k8s_client **out, const struct k8s_opts *,
	    char *err, size_t errlen);
void	k8s_client_free(struct k8s_client *);

/*
 * GET {api_server}{path} (path begins with '/', already encoded). 0 when
 * a response arrived, whatever its status (out filled: free with
 * k8s_resp_fini); -1 with err when none did or the client is backing off
 * after a 429.
 */
int	k8s_get(struct k8s_client *, const char *path, struct k8s_resp *out,
	    char *err, size_t errlen);
void	k8s_resp_fini(struct k8s_resp *);

/*
 * A watch (spec/backends-http-ha.md §2.2): GET {api_server}{path} (path
 * with its query: watch=1, fieldSelector, resourceVersion, ...) streamed
 * for at most timeout_ms; each newline-terminated event (at most
 * K8S_WATCH_LINE_MAX bytes, else the stream is ended as an error) is
 * given to on_event as JSON (-1 from it ends the watch, 0 goes on). abort
 * set by another thread ends it within about a second. 0 when the
 * stream ended (the server closed it), *status its HTTP status (not 200:
 * st filled when the body was a Status); -1 with err (no response, an
 * abort, a line too long). Same token handling as k8s_get.
 */
#define K8S_WATCH_LINE_MAX	(2u * 1024 * 1024)
int	k8s_watch(struct k8s_client *, const char *path, long timeout_ms,
	    int (*on_event)(json_t *, void *), void *arg,
	    const atomic_int *abort, long *status, struct k8s_status *st,
	    char *err, size_t errlen);

/*
 * The watch stream's pieces, pure (k8s_watch runs them; the fuzzer and
 * the unit tests feed them bytes):
 *
 * k8s_wstream_feed() takes the body as curl hands it over, in pieces of
 * any size: each newline-terminated line of a 200 response is parsed as
 * JSON and given to on_event (blank or broken lines skipped); any other
 * status's body is only gathered (buf, len: the Status, read at the end).
 * Returns n, or 0 when a line grew over K8S_WATCH_LINE_MAX (too_long) or
 * on_event returned -1 (stopped): curl then ends the transfer.
 */
struct k8s_wstream {
	int		(*on_event)(json_t *, void *);
	void		*arg;
	char		*buf;
	size_t		 len, cap;
	long		 status;
	int		 too_long, stopped;
};
size_t	k8s_wstream_feed(struct k8s_wstream *, long status, const char *p,
	    size_t n);
void	k8s_wstream_fini(struct k8s_wstream *);

/* One watch event (metav1.WatchEvent) as the workers act on it. */
enum k8s_ev_type {
	K8S_EV_OTHER = 0,	/* an unknown type: ignored */
	K8S_EV_ADDED,
	K8S_EV_MODIFIED,
	K8S_EV_DELETED,
	K8S_EV_BOOKMARK,
	K8S_EV_ERROR		/* object is a Status: st */
};
struct k8s_event {
	enum k8s_ev_type	 type;
	/* the object's metadata.resourceVersion when it is digits only
	 * and fits, else "" (a watch resumes from it) */
	char			 rv[64];
	struct k8s_status	 st;	/* K8S_EV_ERROR; st.code 0: none */
};
/* 0 with out filled; -1 when ev has no string type (not an event). */
int	k8s_event_parse(struct k8s_event *out, const json_t *ev);

/* "GET path: 403 Forbidden: <message>" (or "HTTP 502" when the body is
 * no Status) into out, the token scrubbed. */
void	k8s_resp_error(const struct k8s_client *, const char *path,
	    const struct k8s_resp *, char *out, size_t outlen);

/* Pure helpers (unit-tested) */
/* 0 when j is a Status object (kind "Status"), out filled; else -1. */
int	k8s_status_parse(struct k8s_status *out, const json_t *j);
/* A Retry-After value in seconds (delta-seconds only); -1 when absent or
 * not a number. */
long	k8s_retry_after_parse(const char *);

#endif
