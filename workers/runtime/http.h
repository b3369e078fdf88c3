/*
 * http: the blocking HTTP(S) client the HTTP-based datasource workers (S3,
 * Kubernetes, Vercel) share, on libcurl's easy interface.
 *
 * One client per datasource, made with http_client_new() BEFORE the
 * sandbox is applied: it initialises libcurl (and OpenSSL's configuration)
 * and reads the CA bundle (the given one, or the system bundle libcurl was
 * built with), the client certificate and key into memory (or copies them
 * when given as PEM text); curl gets them as blobs (CURLOPT_CAINFO_BLOB, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLKEY_BLOB,
 * all in libcurl 7.88), so no file is opened after that.
 *
 * Each http_request() is one blocking transfer on the client's one easy
 * handle, bounded by the connect and total timeouts. curl_easy_reset()
 * between requests keeps the connection cache, the DNS cache and the TLS
 * session cache, so successive polls reuse a kept-alive connection
 * (http_resp.new_connections says when one was opened).
 *
 * What the client enforces on every request:
 *   - https only; http as well only when http_opts.insecure_http is set
 *     (CURLOPT_PROTOCOLS_STR "https" or "http,https"); other schemes are
 *     refused before anything is sent;
 *   - TLS >= 1.2 with the server's certificate and name verified against
 *     the configured CA only (or the system bundle when none is given);
 *   - no proxy unless http_opts.proxy is set: http_proxy, https_proxy,
 *     ALL_PROXY and NO_PROXY from the environment are ignored;
 *   - redirects are not followed: a 3xx comes back as the status, with its
 *     Location header;
 *   - the response body is capped at max_body bytes: a larger body aborts
 *     the transfer with the error "response body over N bytes";
 *   - response headers (of the final response) are kept up to
 *     HTTP_HEADERS_MAX bytes / HTTP_HEADERS_COUNT entries, the rest dropped
 *     (headers_truncated set).
 *
 * Errors: one line, "<METHOD> <url>: <reason>", where url is shown without
 * userinfo, query or fragment ("https://host:port/path?...") and the
 * reason is curl's error text with every credential the request carried
 * (bearer token, password, username, userinfo, the query string and each
 * of its values, every caller header value) replaced by "<redacted>".
 * Authorization header values, tokens and query secrets (X-Amz-Signature,
 * token=) never appear in them.
 *
 * Threads and signals: no thread of ours. libcurl's threaded resolver
 * (Debian 12's build; no c-ares) starts one short-lived thread per name
 * lookup that misses its DNS cache (entries kept 60 s); numeric hosts
 * ("127.0.0.1", "[::1]") and "localhost" need none. glibc creates it with
 * clone3, then clone(CLONE_THREAD...) when clone3 fails with ENOSYS (the
 * worker sandbox allows that). CURLOPT_NOSIGNAL is set: the process must
 * ignore SIGPIPE (the worker runtime does).
 *
 * Sandbox: beyond the workers' base seccomp policy, libcurl 7.88 needs
 * socketpair(2): an AF_UNIX pair for its multi handle's wakeup (made in
 * the first curl_easy_perform()) and one per threaded name lookup. A
 * worker using this client lists SCMP_SYS(socketpair) in its seccomp
 * extras (test_http's http_sandbox test runs the client under the real
 * policy with just that addition, name lookup included).
 *
 * Not thread-safe: a client belongs to one thread.
 */
#ifndef VTW_HTTP_H
#define VTW_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS	10000L
#define HTTP_DEFAULT_TIMEOUT_MS		30000L
#define HTTP_DEFAULT_MAX_BODY		(16u * 1024 * 1024)
#define HTTP_HEADERS_MAX		(32u * 1024)	/* bytes kept */
#define HTTP_HEADERS_COUNT		128		/* headers kept */
#define HTTP_USER_AGENT_DEFAULT		"vartrack-watcher"

/* All strings are borrowed: http_client_new() copies what it keeps. */
struct http_opts {
	const char	*ca_file;	/* PEM bundle; NULL: the system's */
	const char	*cert_file;	/* PEM client certificate (mTLS) */
	const char	*key_file;	/* its PEM key; both or neither */
	/* or the same as PEM text in memory (kubeconfig *-data, decoded),
	 * copied; at most one of file and text per item */
	const char	*ca_pem;
	const char	*cert_pem;
	const char	*key_pem;
	const char	*proxy;		/* proxy URL; NULL/"": none */
	int		 insecure_http;	/* allow http:// besides https:// */
	/* the server's certificate and name not verified (kubeconfig's
	 * insecure-skip-tls-verify); TLS >= 1.2 still */
	int		 insecure_tls;
	long		 connect_timeout_ms; /* 0: the default */
	long		 timeout_ms;	/* whole request; 0: the default */
	size_t		 max_body;	/* response body cap; 0: default;
					 * at most 1 GiB */
	const char	*user_agent;	/* NULL: HTTP_USER_AGENT_DEFAULT */
};

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_PUT,
	HTTP_POST,
	HTTP_DELETE,
};

/*
 * One request; everything borrowed for the call. url must be complete and
 * already encoded as the server expects: the caller builds path and query
 * (SigV4 in libcurl 7.88 signs them as they are, see
 * spec/backends-http-ha.md §1.2).
 */
struct http_req {
	enum http_method	 method;
	const char		*url;
	/* extra request headers, "Name: value" each, NULL-terminated; or
	 * NULL. Their values are treated as secrets in error text. */
	const char *const	*headers;
	/* adds "Authorization: Bearer <token>" (NULL: none) */
	const char		*bearer_token;
	/* CURLOPT_AWS_SIGV4, e.g. "aws:amz:eu-west-1:s3", with username
	 * (access key id) and password (secret key); NULL: no signing */
	const char		*aws_sigv4;
	const char		*username;	/* CURLOPT_USERNAME */
	const char		*password;	/* CURLOPT_PASSWORD */
	/* PUT/POST body (sent as CURLOPT_POSTFIELDS, so SigV4 hashes it);
	 * without a Content-Type header, application/octet-stream */
	const void		*body;
	size_t			 body_len;
	long			 timeout_ms;	/* 0: the client's */
	/* streamed (a Kubernetes watch): the body goes to on_data piece by
	 * piece, with the response's status, instead of out->body (no body
	 * cap: on_data bounds what it keeps); it returns the bytes taken,
	 * fewer ends the transfer. abort_flag, when not NULL, is read at
	 * least once a second: non-zero ends it (another thread sets it). */
	size_t			(*on_data)(long status, const char *,
				    size_t, void *);
	void			*on_data_arg;
	const atomic_int	*abort_flag;
};

struct http_header {
	char	*name;		/* as received, NUL-terminated */
	char	*value;		/* trimmed, NUL-terminated */
};

/*
 * The response. Its contents belong to it and must be freed with
 * http_resp_fini().
 */
struct http_resp {
	long			 status;	/* HTTP status */
	char			*body;		/* NUL-terminated; not NULL
						 * after http_request's 0 */
	size_t			 body_len;
	struct http_header	*headers;	/* final response, in order */
	size_t			 nheaders;
	int			 headers_truncated;
	long			 new_connections; /* CURLINFO_NUM_CONNECTS:
						 * 0 when one was reused */
	long			 elapsed_ms;
};

struct http_client;

/*
 * Makes a client in *out: checks opts, initialises libcurl, reads the TLS
 * files into memory and makes the easy handle. No connection is made.
 * Returns 0, or -1 with err set (cert without key or key without cert, a
 * file and PEM text for one item, an unreadable or empty TLS file, a bad
 * timeout, libcurl too old or OOM) and
 * *out NULL. *out must be freed with http_client_free().
 */
int	http_client_new(struct http_client **out, const struct http_opts *,
	    char *err, size_t errlen);

/* Closes its connections and frees it; NULL is a no-op. */
void	http_client_free(struct http_client *);

/*
 * Performs req and fills *out. Returns 0 when a response arrived, whatever
 * its status (3xx, 4xx and 5xx included); out must then be freed with
 * http_resp_fini(). Returns -1 with err set as described above, and *out
 * empty (nothing to free), when the request is invalid (scheme refused,
 * bad URL, bad method/body combination) or no complete response arrived
 * (connect, TLS, timeout, body over the cap, reset).
 */
int	http_request(struct http_resp *out, struct http_client *,
	    const struct http_req *, char *err, size_t errlen);

/* Frees what r holds and empties it; NULL is a no-op. */
void	http_resp_fini(struct http_resp *);

/*
 * The value of the first response header called name (ASCII case
 * insensitive), borrowed from r, or NULL when there is none.
 */
const char *http_resp_header(const struct http_resp *, const char *name);

/* "GET", "HEAD", ... (static strings). */
const char *http_method_name(enum http_method);

#endif
