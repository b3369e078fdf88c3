/*
 * curl_common: what every libcurl user of ours sets up the same way, the
 * supervisor's gRPC client (supervisor/grpc.c, in vartrack-grpc.so) and
 * the workers' HTTP client (workers/runtime/http.c):
 *   - libcurl's global init, with a check that the libcurl at run time has
 *     what we rely on (>= 7.85.0: CURLOPT_PROTOCOLS_STR; TLS; blobs);
 *   - TLS material (CA bundle, client certificate and key, PEM) either as
 *     file paths that OpenSSL reads at each new connection, or read into
 *     memory once and handed to curl as blobs (for a sandboxed worker that
 *     can no longer open files);
 *   - the TLS options: TLS >= 1.2, peer and host name verified, against the
 *     given CA only (never the system store as well) or, without one, the
 *     system store;
 *   - the options every handle gets: no signals, proxies from the
 *     environment (http_proxy, https_proxy, ALL_PROXY...) ignored;
 *   - error text built from curl's error buffer with credentials removed,
 *     and URLs shown without userinfo, query or fragment.
 * The file is compiled into each target that needs it (it uses only
 * libcurl and libc), so it goes into the PIC module and the static worker
 * runtime alike.
 */
#ifndef VTW_CURL_COMMON_H
#define VTW_CURL_COMMON_H

#include <stddef.h>

#include <curl/curl.h>

#define CURLC_PEM_MAX		(4u * 1024 * 1024)	/* bytes per file */
#define CURLC_REDACTED		"<redacted>"

/* One PEM item: a file (path) or bytes in memory (data, len); both NULL
 * when not configured. */
struct curlc_pem {
	char		*path;
	char		*data;
	size_t		 len;
};

struct curlc_tls {
	struct curlc_pem	 ca, cert, key;
};

enum curlc_tls_mode {
	CURLC_TLS_FILES,	/* keep the paths; OpenSSL reads them later */
	CURLC_TLS_BLOBS,	/* read the files now; curl gets blobs */
};

/* vsnprintf into err (nothing when err is NULL or errlen 0). */
void	curlc_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Splits one header line as a CURLOPT_HEADERFUNCTION gets it (buf, n
 * bytes, not NUL-terminated, CRLF included): *nlen bytes of name at buf,
 * the value at *v, *vlen bytes with surrounding blanks and CRLF trimmed.
 * Returns 0, or -1 for a line that is no "name: value" (a status line,
 * the blank line, a folded line).
 */
int	curlc_header_split(const char *buf, size_t n, size_t *nlen,
	    const char **v, size_t *vlen);

/*
 * curl_global_init(), then a check of the run-time libcurl. Returns 0, or
 * -1 with err set (nothing to undo then). Each 0 must be paired with one
 * curlc_global_cleanup(). libcurl counts the calls and (7.84+, feature
 * "threadsafe", as Debian 12 builds it) they are thread-safe.
 */
int	curlc_global_init(char *err, size_t errlen);
void	curlc_global_cleanup(void);

/*
 * Fills out from three paths (NULL or "" = not configured). cert_file and
 * key_file come together or not at all. FILES: each file must open, its
 * path is copied. BLOBS: each file is read into memory (at most
 * CURLC_PEM_MAX bytes); with no ca_file the system bundle libcurl was
 * built with (CURLINFO_CAINFO) is read instead, so nothing is opened
 * later. Errors read "<what> ca_file <path>: <reason>". Returns 0, or -1
 * with err set and out empty. out must be freed with curlc_tls_fini().
 */
int	curlc_tls_init(struct curlc_tls *out, enum curlc_tls_mode,
	    const char *ca_file, const char *cert_file, const char *key_file,
	    const char *what, char *err, size_t errlen);
/* Where each TLS item comes from: a file, or PEM text the caller already
 * holds (kubeconfig's certificate-authority-data, client-key-data, ...,
 * base64-decoded); at most one of the two per item, NULL or "" = none. */
struct curlc_tls_src {
	const char	*ca_file, *cert_file, *key_file;
	const char	*ca_pem, *cert_pem, *key_pem;	/* NUL-terminated */
};

/*
 * curlc_tls_init() from src: PEM text is copied (BLOBS mode only); the
 * system bundle is read only when neither ca_file nor ca_pem is set.
 * out must be freed with curlc_tls_fini().
 */
int	curlc_tls_init_src(struct curlc_tls *out, enum curlc_tls_mode,
	    const struct curlc_tls_src *src, const char *what, char *err,
	    size_t errlen);

/* Frees what out holds (key bytes are wiped) and empties it. */
void	curlc_tls_fini(struct curlc_tls *);

/* 1 when a client certificate is configured, else 0. */
int	curlc_tls_has_cert(const struct curlc_tls *);

/*
 * A hint for the error text of a failed TLS transfer (tls non-zero): TLS
 * 1.3 servers refuse a missing client certificate after the client's
 * handshake is done, so the client only sees the connection fail (a send
 * or receive error, no HTTP status). Returns " (no client certificate
 * configured: does the server require mTLS?)" for such a failure without a
 * client certificate in t, else "" (static strings).
 */
const char *curlc_tls_hint(const struct curlc_tls *t, int tls, CURLcode rc,
	    long http_status);

/*
 * TLS options on e: TLS >= 1.2, CURLOPT_SSL_VERIFYPEER and VERIFYHOST on;
 * with a CA (file or blob) that CA only (CURLOPT_CAPATH and the built-in
 * CURLOPT_CAINFO cleared), otherwise curl's default store; the client
 * certificate and key when set. Blobs are passed CURL_BLOB_NOCOPY: t must
 * outlive e (curl copies them into each connection it keeps). Returns 0,
 * or -1 when curl refused an option.
 */
int	curlc_tls_setopt(CURL *e, const struct curlc_tls *t);

/*
 * Options every handle of ours gets: CURLOPT_NOSIGNAL (the process must
 * ignore SIGPIPE), CURLOPT_PROXY proxy (NULL or "": no proxy at all, the
 * environment is ignored), CURLOPT_NOPROXY "" and CURLOPT_ERRORBUFFER
 * errbuf (CURL_ERROR_SIZE bytes; may be NULL). Returns 0 or -1.
 */
int	curlc_base_setopt(CURL *e, const char *proxy, char *errbuf);

/*
 * out = "<curl_easy_strerror(rc)>" plus ": <errbuf>" when errbuf holds
 * text, with every occurrence of each secret (nsecrets strings; NULL and
 * strings under 3 bytes are skipped) replaced by CURLC_REDACTED. Always
 * NUL-terminated. Returns out.
 */
char	*curlc_errtext(char *out, size_t outlen, CURLcode rc,
	    const char *errbuf, const char *const *secrets, size_t nsecrets);

/*
 * Replaces in place every occurrence of secret (NULL or under 3 bytes: no
 * change) in the NUL-terminated s (size bytes of storage) with
 * CURLC_REDACTED, cutting the end when it no longer fits.
 */
void	curlc_scrub(char *s, size_t size, const char *secret);

/*
 * out = url without its userinfo, query and fragment:
 * "scheme://host[:port]/path", "?..." appended when there was a query.
 * A URL curl cannot parse becomes "(unparsable URL)". Returns out.
 */
char	*curlc_url_redact(char *out, size_t outlen, const char *url);

#endif
