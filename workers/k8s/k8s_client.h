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
