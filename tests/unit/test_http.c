/*
 * The workers' HTTP client (workers/runtime/http.c) and the libcurl
 * helpers it shares with the gRPC client (ipc/curl_common.c), against a
 * real server on 127.0.0.1: tests/integration/http_peer.py (stdlib
 * http.server, TLS with ssl), started per test on a free port and stopped
 * by PID. It logs each connection and request, so the tests can tell what
 * reached it. TLS material is made per test by tests/integration/certs.sh.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curl_common.h"
#include "http.h"
#include "peer_testutil.h"
#include "sandbox.h"

#ifndef VTW_HTTP_PEER
#error VTW_HTTP_PEER (path of http_peer.py) must be defined
#endif
#ifndef VTW_HTTP_CERTS_SH
#error VTW_HTTP_CERTS_SH (path of certs.sh) must be defined
#endif

#define PEER_READY_MS	30000

/* ---- helpers ---- */

struct peer {
	pid_t	 pid;
	int	 port;
	char	 dir[64];	/* temp dir: log, stderr, certs */
	char	 log[128];
};

static void
suite_init(void)
{
	signal(SIGPIPE, SIG_IGN);
}

static void
suite_fini(void)
{
	pt_cleanup();	/* stops the peer, removes its directory */
}

TestSuite(http_api, .init = suite_init, .fini = suite_fini);
TestSuite(http_live, .init = suite_init, .fini = suite_fini);
TestSuite(http_tls, .init = suite_init, .fini = suite_fini);
TestSuite(http_sandbox, .init = suite_init, .fini = suite_fini);

/* tls: 0 = plain http, 1 = TLS, 2 = TLS requiring a client certificate.
 * One peer per test: it lives here, not on a stack an assertion unwinds. */
static struct peer *
peer_start(int tls)
{
	static struct peer peer;
	struct peer *p = &peer;
	char arg[3][160], errf[160];
	const char *argv[16];
	int n = 0;

	cr_assert_eq(p->pid, 0, "one peer per test");
	pt_tmpdir(p->dir, sizeof(p->dir), "vtw-http-test");
	snprintf(p->log, sizeof(p->log), "%.63s/peer.log", p->dir);
	snprintf(errf, sizeof(errf), "%.63s/peer.err", p->dir);
	if (tls)
		pt_certs(VTW_HTTP_CERTS_SH, p->dir);
	argv[n++] = pt_python();
	argv[n++] = VTW_HTTP_PEER;
	argv[n++] = "--log";
	argv[n++] = p->log;
	if (tls) {
		snprintf(arg[0], sizeof(arg[0]), "%.63s/server.pem", p->dir);
		snprintf(arg[1], sizeof(arg[1]), "%.63s/server.key", p->dir);
		argv[n++] = "--tls-cert";
		argv[n++] = arg[0];
		argv[n++] = "--tls-key";
		argv[n++] = arg[1];
	}
	if (tls == 2) {
		snprintf(arg[2], sizeof(arg[2]), "%.63s/ca.pem", p->dir);
		argv[n++] = "--client-ca";
		argv[n++] = arg[2];
	}
	argv[n] = NULL;
	p->pid = pt_spawn(argv, errf, PEER_READY_MS, &p->port);
	return p;
}

/* Occurrences of needle in the peer's log. */
static int
log_count(const struct peer *p, const char *needle)
{
	char *log = pt_slurp(p->log), *s;
	int n = 0;

	for (s = log; (s = strstr(s, needle)) != NULL; s += strlen(needle))
		n++;
	free(log);
	return n;
}

#define CONNECTS(p)	log_count((p), "\"event\": \"connect\"")
#define REQUESTS(p)	log_count((p), "\"event\": \"request\"")

static struct http_client *
client(const struct http_opts *o)
{
	struct http_client *c;
	char err[512];

	cr_assert_eq(http_client_new(&c, o, err, sizeof(err)), 0,
	    "http_client_new: %s", err);
	cr_assert_not_null(c);
	return c;
}

static struct http_client *
plain_client(size_t max_body)
{
	struct http_opts o = { .insecure_http = 1, .max_body = max_body };

	return client(&o);
}

/* GET url; 0 or -1 like http_request, err filled. */
static int
get(struct http_client *c, struct http_resp *r, char *err, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
get(struct http_client *c, struct http_resp *r, char *err, size_t errlen,
    const char *fmt, ...)
{
	struct http_req q = { .method = HTTP_GET };
	char url[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(url, sizeof(url), fmt, ap);
	va_end(ap);
	q.url = url;
	err[0] = '\0';
	return http_request(r, c, &q, err, errlen);
}

static void
assert_ok_hello(struct http_client *c, const char *scheme, int port)
{
	struct http_resp r;
	char err[512];

	cr_assert_eq(get(c, &r, err, sizeof(err), "%s://127.0.0.1:%d/hello",
	    scheme, port), 0, "%s", err);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "hello, world\n");
	http_resp_fini(&r);
}

/* ---- pure: curl_common ---- */

Test(http_api, scrub_replaces_every_occurrence)
{
	char s[64];

	snprintf(s, sizeof(s), "a tok123 b tok123tok123 c");
	curlc_scrub(s, sizeof(s), "tok123");
	cr_assert_str_eq(s, "a <redacted> b <redacted><redacted> c");
	/* too short to be a secret: left alone */
	snprintf(s, sizeof(s), "ab ab");
	curlc_scrub(s, sizeof(s), "ab");
	cr_assert_str_eq(s, "ab ab");
	/* no room: cut, and no part of the secret is left */
	snprintf(s, 12, "xy secret1");
	curlc_scrub(s, 12, "secret1");
	cr_assert_str_eq(s, "xy <redacte");
	cr_assert_null(strstr(s, "sec"));
}

Test(http_api, errtext_has_no_secrets)
{
	const char *sec[] = { "hunter22", "X-Amz-Signature=abcdef", NULL };
	char out[128];

	curlc_errtext(out, sizeof(out), CURLE_COULDNT_CONNECT,
	    "via http://bob:hunter22@h/?X-Amz-Signature=abcdef\n", sec, 3);
	cr_assert_str_eq(out, "Couldn't connect to server: via "
	    "http://bob:<redacted>@h/?<redacted>");
	curlc_errtext(out, sizeof(out), CURLE_COULDNT_CONNECT, "", NULL, 0);
	cr_assert_str_eq(out, "Couldn't connect to server");
	/* a secret the cut would halve is gone whole */
	curlc_errtext(out, 40, CURLE_COULDNT_CONNECT, "abc hunter22", sec, 1);
	cr_assert_null(strstr(out, "hunt"), "%s", out);
}

Test(http_api, url_redact_drops_userinfo_and_query)
{
	char out[128];

	cr_assert_str_eq(curlc_url_redact(out, sizeof(out),
	    "https://u:pw@host.example:8443/a/b?X-Amz-Signature=s&token=t#f"),
	    "https://host.example:8443/a/b?...");
	cr_assert_str_eq(curlc_url_redact(out, sizeof(out),
	    "http://127.0.0.1/x"), "http://127.0.0.1/x");
	cr_assert_str_eq(curlc_url_redact(out, sizeof(out), "not a url"),
	    "(unparsable URL)");
}

/* ---- client options and argument checks ---- */

Test(http_api, new_checks_options)
{
	struct http_opts o = { 0 };
	struct http_client *c = (void *)1;
	char err[512];

	o.cert_file = "/etc/hostname";
	cr_assert_eq(http_client_new(&c, &o, err, sizeof(err)), -1);
	cr_assert_null(c);
	cr_assert(strstr(err, "key_file") != NULL, "%s", err);
	o.cert_file = NULL;
	o.ca_file = "/nonexistent/ca.pem";
	cr_assert_eq(http_client_new(&c, &o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "ca_file /nonexistent/ca.pem") != NULL, "%s",
	    err);
	o.ca_file = "/dev/null";
	cr_assert_eq(http_client_new(&c, &o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a regular file") != NULL, "%s", err);
	o.ca_file = NULL;
	o.timeout_ms = -1;
	cr_assert_eq(http_client_new(&c, &o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "timeout") != NULL, "%s", err);
	/* defaults: the system CA bundle is read now */
	o.timeout_ms = 0;
	cr_assert_eq(http_client_new(&c, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(c);
	http_client_free(c);
	http_client_free(NULL);
}

Test(http_api, request_checks_arguments)
{
	struct http_client *c = plain_client(0);
	const char *bad_hdr[] = { "X-A: 1\r\nX-Injected: 2", NULL };
	const char *no_colon[] = { "X-A 1", NULL };
	struct http_req q = { .method = HTTP_GET, .url = "ftp://127.0.0.1/" };
	struct http_resp r;
	char err[512];

	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), -1);
	cr_assert(strstr(err, "scheme \"ftp\" refused") != NULL, "%s", err);
	q.url = "127.0.0.1/no-scheme";
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not a valid absolute URL") != NULL, "%s", err);
	q.url = "http://127.0.0.1:1/";
	q.body = "x";
	q.body_len = 1;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), -1);
	cr_assert(strstr(err, "bad request") != NULL, "%s", err);
	q.body = NULL;
	q.body_len = 0;
	q.headers = bad_hdr;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), -1);
	cr_assert(strstr(err, "bad request header") != NULL, "%s", err);
	q.headers = no_colon;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), -1);
	cr_assert(strstr(err, "bad request header") != NULL, "%s", err);
	q.headers = NULL;
	q.method = (enum http_method)99;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), -1);
	cr_assert_null(r.body);
	http_client_free(c);
}

/* ---- plain http (insecure_http) ---- */

Test(http_live, get_200_body_and_headers)
{
	struct peer *p = peer_start(0);
	struct http_client *c = plain_client(0);
	struct http_resp r;
	char err[512];

	cr_assert_eq(get(c, &r, err, sizeof(err), "http://127.0.0.1:%d/hello",
	    p->port), 0, "%s", err);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 13);
	cr_assert_str_eq(r.body, "hello, world\n");
	cr_assert_str_eq(http_resp_header(&r, "etag"), "\"0123abcd\"");
	cr_assert_str_eq(http_resp_header(&r, "Retry-After"), "7");
	cr_assert_str_eq(http_resp_header(&r, "X-RATELIMIT-REMAINING"), "42");
	cr_assert_str_eq(http_resp_header(&r, "Content-Length"), "13");
	cr_assert_null(http_resp_header(&r, "X-Nope"));
	cr_assert_eq(r.headers_truncated, 0);
	cr_assert_eq(r.new_connections, 1);
	http_resp_fini(&r);
	http_resp_fini(&r);	/* emptied: a second fini is harmless */

	/* a status is a response, not an error */
	cr_assert_eq(get(c, &r, err, sizeof(err),
	    "http://127.0.0.1:%d/status?code=503", p->port), 0, "%s", err);
	cr_assert_eq(r.status, 503);
	cr_assert_str_eq(r.body, "status 503\n");
	http_resp_fini(&r);
	http_client_free(c);
}

Test(http_live, methods_headers_query_and_bearer_token)
{
	struct peer *p = peer_start(0);
	struct http_client *c = plain_client(0);
	const char *hdrs[] = { "Accept: application/json",
	    "If-None-Match: \"0123abcd\"", NULL };
	struct http_req q = { .headers = hdrs, .bearer_token = "tok-XYZ" };
	struct http_resp r;
	char url[128], err[512];

	snprintf(url, sizeof(url),
	    "http://127.0.0.1:%d/echo?list-type=2&prefix=dev%%2F", p->port);
	q.url = url;
	q.method = HTTP_PUT;
	q.body = "{\"a\": \"1\"}";
	q.body_len = strlen(q.body);
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "\"method\": \"PUT\"") != NULL, "%s", r.body);
	cr_assert(strstr(r.body,
	    "\"path\": \"/echo?list-type=2&prefix=dev%2F\"") != NULL, "%s",
	    r.body);
	cr_assert(strstr(r.body, "[\"Authorization\", \"Bearer tok-XYZ\"]") !=
	    NULL, "%s", r.body);
	cr_assert(strstr(r.body, "[\"If-None-Match\", \"\\\"0123abcd\\\"\"]")
	    != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "[\"Content-Type\", "
	    "\"application/octet-stream\"]") != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "\"body\": \"{\\\"a\\\": \\\"1\\\"}\"") !=
	    NULL, "%s", r.body);
	http_resp_fini(&r);

	q.method = HTTP_POST;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert(strstr(r.body, "\"method\": \"POST\"") != NULL, "%s",
	    r.body);
	http_resp_fini(&r);

	q.method = HTTP_DELETE;
	q.body = NULL;
	q.body_len = 0;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert(strstr(r.body, "\"method\": \"DELETE\"") != NULL, "%s",
	    r.body);
	http_resp_fini(&r);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", p->port);
	q.method = HTTP_HEAD;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	cr_assert_str_eq(r.body, "");
	cr_assert_str_eq(http_resp_header(&r, "ETag"), "\"0123abcd\"");
	http_resp_fini(&r);
	cr_assert_eq(log_count(p, "\"method\": \"HEAD\""), 1);
	http_client_free(c);
}

Test(http_live, aws_sigv4_is_left_to_curl)
{
	struct peer *p = peer_start(0);
	struct http_client *c = plain_client(0);
	const char *hdrs[] = { "x-amz-content-sha256: UNSIGNED-PAYLOAD",
	    NULL };
	struct http_req q = { .method = HTTP_GET, .headers = hdrs,
	    .aws_sigv4 = "aws:amz:eu-west-1:s3", .username = "AKIDEXAMPLE",
	    .password = "wJalrXUtnFEMIK7MDENG" };
	struct http_resp r;
	char url[128], err[512];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", p->port);
	q.url = url;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert(strstr(r.body, "\"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
	    != NULL, "%s", r.body);
	cr_assert(strstr(r.body, "/eu-west-1/s3/aws4_request") != NULL, "%s",
	    r.body);
	cr_assert(strstr(r.body, "[\"X-Amz-Date\", \"") != NULL, "%s", r.body);
	cr_assert_null(strstr(r.body, "wJalrXUtnFEMIK7MDENG"));
	http_resp_fini(&r);
	http_client_free(c);
}

Test(http_live, body_cap_aborts_the_transfer)
{
	struct peer *p = peer_start(0);
	struct http_client *c = plain_client(100);
	static const char *const paths[] = { "bytes", "chunked" };
	struct http_req q = { .method = HTTP_HEAD };
	struct http_resp r;
	char err[512], want[256];
	size_t i;

	for (i = 0; i < 2; i++) {
		cr_assert_eq(get(c, &r, err, sizeof(err),
		    "http://127.0.0.1:%d/%s?n=100", p->port, paths[i]), 0,
		    "%s: %s", paths[i], err);
		cr_assert_eq(r.body_len, 100);
		http_resp_fini(&r);
		cr_assert_eq(get(c, &r, err, sizeof(err),
		    "http://127.0.0.1:%d/%s?n=5000", p->port, paths[i]), -1,
		    "%s: accepted", paths[i]);
		snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/%s?...: "
		    "response body over 100 bytes", p->port, paths[i]);
		cr_assert_str_eq(err, want);
	}
	/* HEAD announces a large body that never comes: fine */
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/bytes?n=5000",
	    p->port);
	q.url = want;
	cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(http_resp_header(&r, "Content-Length"), "5000");
	cr_assert_eq(r.body_len, 0);
	http_resp_fini(&r);
	http_client_free(c);
}

Test(http_live, many_headers_are_bounded)
{
	struct peer *p = peer_start(0);
	struct http_client *c = plain_client(0);
	struct http_resp r;
	char err[512];

	cr_assert_eq(get(c, &r, err, sizeof(err),
	    "http://127.0.0.1:%d/manyheaders?n=500", p->port), 0, "%s", err);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.nheaders, HTTP_HEADERS_COUNT);
	cr_assert_eq(r.headers_truncated, 1);
	cr_assert_str_eq(r.body, "many\n");
	http_resp_fini(&r);
	http_client_free(c);
}

Test(http_live, connect_refused_is_an_error)
{
	struct http_client *c = plain_client(0);
	struct http_resp r;
	char err[512];
	int port = pt_dead_port();

	cr_assert_eq(get(c, &r, err, sizeof(err), "http://127.0.0.1:%d/x",
	    port), -1);
	cr_assert(strstr(err, "GET http://127.0.0.1:") == err, "%s", err);
	cr_assert(strstr(err, "Couldn't connect to server") != NULL, "%s",
	    err);
	cr_assert_null(r.body);
	cr_assert_eq(r.status, 0);
	http_client_free(c);
}

Test(http_live, timeout_when_the_server_never_answers)
{
	struct http_opts o = { .insecure_http = 1, .timeout_ms = 400 };
	struct http_client *c = client(&o);
	struct http_resp r;
	char err[512];
	long t0, took;
	int port, ls = pt_mute_listener(&port);

	t0 = (long)pt_now_ms();
	cr_assert_eq(get(c, &r, err, sizeof(err), "http://127.0.0.1:%d/x",
	    port), -1);
	took = (long)pt_now_ms() - t0;
	cr_assert(strstr(err, "Timeout was reached") != NULL, "%s", err);
	cr_assert_geq(took, 400 - 20, "gave up after %ld ms", took);
	cr_assert_leq(took, 400 + 1000 * pt_slow_factor(), "gave up after %ld "
	    "ms", took);
	/* a request's own timeout wins over the client's */
	{
		struct http_req q = { .method = HTTP_GET, .timeout_ms = 150 };
		char url[64];

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/y", port);
		q.url = url;
		t0 = (long)pt_now_ms();
		cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), -1);
		took = (long)pt_now_ms() - t0;
		cr_assert(strstr(err, "timed out") != NULL, "%s", err);
		cr_assert_geq(took, 150 - 20, "gave up after %ld ms", took);
		cr_assert_lt(took, 380 * pt_slow_factor(), "gave up after %ld "
		    "ms", took);
	}
	close(ls);
	http_client_free(c);
}

Test(http_live, redirect_is_returned_not_followed)
{
	struct peer *p = peer_start(0);
	struct http_client *c = plain_client(0);
	struct http_resp r;
	char err[512];

	cr_assert_eq(get(c, &r, err, sizeof(err),
	    "http://127.0.0.1:%d/redirect", p->port), 0, "%s", err);
	cr_assert_eq(r.status, 302);
	cr_assert_str_eq(http_resp_header(&r, "Location"), "/hello");
	cr_assert_str_eq(r.body, "moved\n");
	http_resp_fini(&r);
	cr_assert_eq(REQUESTS(p), 1);
	cr_assert_eq(log_count(p, "\"path\": \"/hello\""), 0);
	http_client_free(c);
}

Test(http_live, http_refused_without_insecure_http)
{
	struct peer *p = peer_start(0);
	struct http_opts o = { 0 };
	struct http_client *c = client(&o);
	struct http_resp r;
	char err[512];

	cr_assert_eq(get(c, &r, err, sizeof(err), "http://127.0.0.1:%d/hello",
	    p->port), -1);
	cr_assert(strstr(err, "scheme \"http\" refused: https only") != NULL,
	    "%s", err);
	http_client_free(c);
	cr_assert_eq(CONNECTS(p), 0, "the server was reached");
	/* the same URL with insecure_http */
	c = plain_client(0);
	assert_ok_hello(c, "http", p->port);
	cr_assert_eq(CONNECTS(p), 1);
	http_client_free(c);
}

Test(http_live, connection_reused_across_requests)
{
	struct peer *p = peer_start(0);
	struct http_client *c = plain_client(0);
	struct http_resp r;
	char err[512];
	int i;

	for (i = 0; i < 5; i++) {
		cr_assert_eq(get(c, &r, err, sizeof(err),
		    i % 2 ? "http://127.0.0.1:%d/hello" :
		    "http://127.0.0.1:%d/status?code=404", p->port), 0, "%s",
		    err);
		cr_assert_eq(r.new_connections, i == 0, "request %d: %ld new",
		    i, r.new_connections);
		http_resp_fini(&r);
	}
	cr_assert_eq(REQUESTS(p), 5);
	cr_assert_eq(CONNECTS(p), 1);
	http_client_free(c);
}

Test(http_live, environment_proxy_ignored_explicit_proxy_used)
{
	struct peer *p = peer_start(0);
	struct http_opts o = { .insecure_http = 1 };
	struct http_client *c;
	struct http_resp r;
	char err[512], proxy[64];

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", pt_dead_port());
	setenv("http_proxy", proxy, 1);
	setenv("https_proxy", proxy, 1);
	setenv("HTTPS_PROXY", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	c = client(&o);
	assert_ok_hello(c, "http", p->port);
	http_client_free(c);

	o.proxy = proxy;
	c = client(&o);
	cr_assert_eq(get(c, &r, err, sizeof(err), "http://127.0.0.1:%d/hello",
	    p->port), -1);
	cr_assert(strstr(err, "proxy") != NULL || strstr(err, "connect") !=
	    NULL, "%s", err);
	cr_assert_eq(REQUESTS(p), 1);
	http_client_free(c);
}

Test(http_live, error_strings_hold_no_credentials)
{
	static const char *const secrets[] = { "s3cretPW", "alice",
	    "SIGabc123def", "tokQueryValue", "sesstok999", "bearerXYZ987",
	    "AKIDSECRETX", "awsSecretKey42" };
	const char *hdrs[] = { "x-amz-security-token: sesstok999", NULL };
	struct http_req q = { .method = HTTP_GET, .headers = hdrs,
	    .bearer_token = "bearerXYZ987" };
	struct http_opts o = { .insecure_http = 1, .timeout_ms = 200,
	    .max_body = 10 };
	struct http_client *c = client(&o);
	struct peer *p = peer_start(0);
	struct http_resp r;
	char url[3][256], err[512];
	int port, ls = pt_mute_listener(&port), ports[3], i;
	size_t k;

	ports[0] = pt_dead_port();		/* connect refused */
	ports[1] = port;		/* timeout */
	ports[2] = p->port;		/* body over the cap */
	for (i = 0; i < 3; i++) {
		snprintf(url[i], sizeof(url[i]), "http://alice:s3cretPW@"
		    "127.0.0.1:%d/%s?n=50&X-Amz-Signature=SIGabc123def&"
		    "token=tokQueryValue", ports[i], i == 2 ? "bytes" : "x");
		q.url = url[i];
		if (i == 1) {
			q.aws_sigv4 = "aws:amz:us-east-1:s3";
			q.username = "AKIDSECRETX";
			q.password = "awsSecretKey42";
		}
		cr_assert_eq(http_request(&r, c, &q, err, sizeof(err)), -1,
		    "%d: no error", i);
		cr_log_info("error %d: %s", i, err);
		for (k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
			cr_assert_null(strstr(err, secrets[k]), "%d: \"%s\" "
			    "in %s", i, secrets[k], err);
		cr_assert_null(strstr(err, "Bearer"), "%s", err);
		cr_assert(strstr(err, "127.0.0.1") != NULL, "%s", err);
	}
	close(ls);
	http_client_free(c);
}

/* ---- TLS ---- */

static void
cert_path(char *out, size_t len, const struct peer *p, const char *name)
{
	snprintf(out, len, "%s/%s", p->dir, name);
}

Test(http_tls, ca_blob_verifies_the_server_and_reuses)
{
	struct peer *p = peer_start(1);
	struct http_opts o = { 0 };
	struct http_client *c;
	struct http_resp r;
	char ca[160], err[512];
	int i;

	cert_path(ca, sizeof(ca), p, "ca.pem");
	o.ca_file = ca;
	c = client(&o);
	/* read up front: the file is not needed any more */
	cr_assert_eq(unlink(ca), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(get(c, &r, err, sizeof(err),
		    "https://127.0.0.1:%d/hello", p->port), 0, "%s", err);
		cr_assert_eq(r.status, 200);
		cr_assert_eq(r.new_connections, i == 0);
		http_resp_fini(&r);
	}
	/* by name too: the certificate is for localhost */
	cr_assert_eq(get(c, &r, err, sizeof(err),
	    "https://localhost:%d/hello", p->port), 0, "%s", err);
	http_resp_fini(&r);
	cr_assert_eq(CONNECTS(p), 2);
	http_client_free(c);
}

Test(http_tls, wrong_ca_fails)
{
	struct peer *p = peer_start(1);
	struct http_opts o = { 0 };
	struct http_client *c;
	struct http_resp r;
	char ca[160], err[512];

	cert_path(ca, sizeof(ca), p, "other-ca.pem");
	o.ca_file = ca;
	c = client(&o);
	cr_assert_eq(get(c, &r, err, sizeof(err),
	    "https://127.0.0.1:%d/hello", p->port), -1);
	cr_assert(strstr(err, "certificate") != NULL, "%s", err);
	http_client_free(c);
	/* nor does the system store know the test CA */
	memset(&o, 0, sizeof(o));
	c = client(&o);
	cr_assert_eq(get(c, &r, err, sizeof(err),
	    "https://127.0.0.1:%d/hello", p->port), -1);
	cr_assert(strstr(err, "certificate") != NULL, "%s", err);
	http_client_free(c);
	cr_assert_eq(REQUESTS(p), 0);
}

Test(http_tls, client_certificate_mtls)
{
	struct peer *p = peer_start(2);
	struct http_opts o = { 0 };
	struct http_client *c;
	struct http_resp r;
	char ca[160], cert[160], key[160], err[512];

	cert_path(ca, sizeof(ca), p, "ca.pem");
	cert_path(cert, sizeof(cert), p, "client.pem");
	cert_path(key, sizeof(key), p, "client.key");
	o.ca_file = ca;
	/* without a client certificate the server refuses */
	c = client(&o);
	cr_assert_eq(get(c, &r, err, sizeof(err),
	    "https://127.0.0.1:%d/hello", p->port), -1);
	cr_assert(strstr(err, "no client certificate configured") != NULL,
	    "%s", err);
	http_client_free(c);
	cr_assert_eq(REQUESTS(p), 0);

	o.cert_file = cert;
	o.key_file = key;
	c = client(&o);
	cr_assert_eq(unlink(cert), 0);
	cr_assert_eq(unlink(key), 0);
	assert_ok_hello(c, "https", p->port);
	http_client_free(c);
	cr_assert_eq(log_count(p, "\"client_cert\": {\"commonName\": "
	    "\"vartrack-watcher\"}"), 1);
}

Test(http_tls, pem_text_instead_of_files)
{
	struct peer *p = peer_start(2);
	struct http_opts o = { 0 };
	struct http_client *c;
	char path[160], err[512], *ca, *cert, *key;

	cert_path(path, sizeof(path), p, "ca.pem");
	ca = pt_slurp(path);
	cert_path(path, sizeof(path), p, "client.pem");
	cert = pt_slurp(path);
	cert_path(path, sizeof(path), p, "client.key");
	key = pt_slurp(path);
	cr_assert(strstr(key, "PRIVATE KEY") != NULL);
	o.ca_pem = ca;
	o.cert_pem = cert;
	o.key_file = path;	/* text and a file may mix */
	c = client(&o);
	assert_ok_hello(c, "https", p->port);
	http_client_free(c);
	o.key_file = NULL;
	o.key_pem = key;
	c = client(&o);
	assert_ok_hello(c, "https", p->port);
	http_client_free(c);
	cr_assert_eq(log_count(p, "\"client_cert\": {\"commonName\": "
	    "\"vartrack-watcher\"}"), 2);
	/* one item from two places is refused */
	o.key_file = path;
	cr_assert_eq(http_client_new(&c, &o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "key_file and key_pem are exclusive") != NULL,
	    "%s", err);
	o.key_file = NULL;
	o.key_pem = NULL;
	cr_assert_eq(http_client_new(&c, &o, err, sizeof(err)), -1);
	cr_assert(strstr(err, "needs both") != NULL, "%s", err);
	free(ca);
	free(cert);
	free(key);
}

/* ---- inside the worker sandbox ---- */

/* A name other than localhost that /etc/hosts maps to 127.0.0.1 (so its
 * lookup needs curl's resolver thread and reads no DNS), or NULL. */
static const char *
hosts_loopback_name(void)
{
	static char name[64];
	char *hosts = pt_slurp("/etc/hosts"), *line, *save = NULL;
	const char *rv = NULL;

	for (line = strtok_r(hosts, "\n", &save); line != NULL && rv == NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "127.0.0.1 %63s", name) == 1 &&
		    strcmp(name, "localhost") != 0 && name[0] != '#')
			rv = name;
	}
	free(hosts);
	return rv;
}

/*
 * The child: the client made before the sandbox, used after it. libcurl
 * 7.88 makes a socketpair(AF_UNIX) for the wakeup of the multi handle
 * inside curl_easy_perform() and one per threaded name lookup: a worker
 * using this client adds socketpair to its seccomp extras.
 */
static int
sandboxed_requests(const char *ca, int port, const char *name)
{
	static const int extra[] = { SCMP_SYS(socketpair), -1 };
	struct http_opts o = { .ca_file = ca };
	struct http_client *c;
	struct http_resp r;
	char err[512];
	int i;

	if (http_client_new(&c, &o, err, sizeof(err)) == -1) {
		fprintf(stderr, "http_client_new: %s\n", err);
		return 2;
	}
	setenv("VTW_TEST_SECCOMP_TRAP", "1", 1);	/* name a refusal */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    sandbox_apply(extra) == -1) {
		fprintf(stderr, "sandbox_apply failed\n");
		return 3;
	}
	for (i = 0; i < 2; i++) {
		if (get(c, &r, err, sizeof(err), "https://127.0.0.1:%d/hello",
		    port) == -1 || r.status != 200) {
			fprintf(stderr, "request %d: %s\n", i, err);
			return 4;
		}
		http_resp_fini(&r);
	}
	/* a name lookup (resolver thread, /etc/hosts); the certificate is
	 * not for that name, so TLS must refuse it */
	if (name != NULL && (get(c, &r, err, sizeof(err),
	    "https://%s:%d/hello", name, port) == 0 ||
	    strstr(err, "certificate") == NULL)) {
		fprintf(stderr, "%s: %s\n", name, err);
		return 5;
	}
	http_client_free(c);
	return 0;
}

Test(http_sandbox, client_made_before_the_sandbox_works_inside_it)
{
	struct peer *p;
	char ca[160], errf[192], *errs;
	const char *name = hosts_loopback_name();
	pid_t pid;
	int st, fd;

	if (pt_slow_factor() > 1)
		cr_skip_test("seccomp filters and valgrind do not mix");
	if (strcmp(sandbox_name(), "seccomp") != 0)
		cr_skip_test("built without the seccomp sandbox");
	p = peer_start(1);
	cert_path(ca, sizeof(ca), p, "ca.pem");
	snprintf(errf, sizeof(errf), "%.63s/child.err", p->dir);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		if ((fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600)) !=
		    -1)
			dup2(fd, 2);
		_exit(sandboxed_requests(ca, p->port, name));
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	errs = pt_slurp(errf);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status "
	    "0x%x: %s", st, errs);
	free(errs);
	cr_log_info("name looked up in the sandbox: %s",
	    name != NULL ? name : "(none in /etc/hosts)");
	/* two requests on one connection; the name's never got that far */
	cr_assert_eq(REQUESTS(p), 2);
	cr_assert_eq(log_count(p, "\"path\": \"/hello\""), 2);
}
