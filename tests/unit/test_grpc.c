/*
 * gRPC client (supervisor/grpc.c): pure framing/decoding helpers, and the
 * client on a libevent loop against a real gRPC server (grpcio), the
 * orchestrator stand-in tests/integration/orchestrator_peer.py, started
 * per test on a free port and stopped by PID. TLS material is made per test
 * by tests/integration/certs.sh (openssl) in a temporary directory.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "grpc.h"
#include "peer_testutil.h"

#ifndef VTW_GRPC_PEER
#error VTW_GRPC_PEER (path of orchestrator_peer.py) must be defined
#endif
#ifndef VTW_GRPC_CERTS_SH
#error VTW_GRPC_CERTS_SH (path of certs.sh) must be defined
#endif

#define PEER_READY_MS	60000

/* ---- helpers ---- */

/* A call timeout that is generous, scaled for valgrind. */
#define T(ms)	((uint64_t)(ms) * pt_slow_factor())

struct peer {
	pid_t	 pid;
	int	 port;
	char	 dir[64];	/* temp dir: log, stderr, certs */
	char	 log[128];
	char	 errf[128];
};

/* Peers of the running test live here (not on the test's stack, which a
 * failed assertion unwinds), so suite_fini stops them even then (through
 * pt_cleanup). Each Criterion test is its own process. */
static struct peer peer_slots[4];

static void
peer_stop(struct peer *p)
{
	if (p != NULL)
		pt_stop(&p->pid);
}

static void
suite_init(void)
{
	signal(SIGPIPE, SIG_IGN);
}

static void
suite_fini(void)
{
	pt_cleanup();
}

/*
 * Starts the peer in mode; tls: 0 = h2c, 1 = TLS, 2 = mTLS (client certs
 * required). Certificates are made in p->dir when tls != 0.
 */
static struct peer *
peer_start(const char *mode, int tls)
{
	struct peer *p = NULL;
	char cert[160], key[160], ca[160];
	const char *argv[16];
	int n = 0;
	size_t i;

	for (i = 0; i < 4 && p == NULL; i++)
		if (peer_slots[i].pid == 0)
			p = &peer_slots[i];
	cr_assert_not_null(p, "too many peers");
	memset(p, 0, sizeof(*p));
	pt_tmpdir(p->dir, sizeof(p->dir), "vtw-grpc-test");
	snprintf(p->log, sizeof(p->log), "%s/peer.log", p->dir);
	snprintf(p->errf, sizeof(p->errf), "%s/peer.err", p->dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", p->dir);
	snprintf(key, sizeof(key), "%s/server.key", p->dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", p->dir);
	if (tls)
		pt_certs(VTW_GRPC_CERTS_SH, p->dir);

	argv[n++] = pt_python();
	argv[n++] = VTW_GRPC_PEER;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--mode";
	argv[n++] = mode;
	argv[n++] = "--log";
	argv[n++] = p->log;
	if (tls) {
		argv[n++] = "--tls-cert";
		argv[n++] = cert;
		argv[n++] = "--tls-key";
		argv[n++] = key;
	}
	if (tls == 2) {
		argv[n++] = "--client-ca";
		argv[n++] = ca;
	}
	argv[n] = NULL;
	p->pid = pt_spawn(argv, p->errf, PEER_READY_MS, &p->port);
	return p;
}

/* A copy of what a callback got. */
struct outcome {
	struct loopctx	*ctx;
	int		 done;
	int		 status;
	int		 transport;
	int		 has_error;
	char		 error[512];
	char		 message[GRPC_MESSAGE_MAX];
	char		 method[128];
	unsigned char	 msg[512];
	size_t		 msg_len;
	long		 http;
	uint64_t	 elapsed;
	uint64_t	 at;
	int		 decode_rc;
	char		 decode_err[256];
	char		 task_id[64];
	char		 sync_status[64];
	/* optional action inside the callback */
	struct grpc_client *free_client;
};

struct loopctx {
	struct event_base	*base;
	int			 pending;
};

static void
done_cb(const struct grpc_result *r, void *arg)
{
	struct outcome *o = arg;

	cr_assert_eq(o->done, 0, "callback ran twice");
	o->done = 1;
	o->at = pt_now_ms();
	o->status = r->grpc_status;
	o->transport = r->transport;
	o->has_error = r->error != NULL;
	snprintf(o->error, sizeof(o->error), "%s", r->error ? r->error : "");
	cr_assert_not_null(r->grpc_message);
	snprintf(o->message, sizeof(o->message), "%s", r->grpc_message);
	snprintf(o->method, sizeof(o->method), "%s", r->method);
	if (r->error == NULL) {
		cr_assert_not_null(r->msg);
		cr_assert_lt(r->msg_len, sizeof(o->msg));
		memcpy(o->msg, r->msg, r->msg_len);
		o->msg_len = r->msg_len;
	}
	o->http = r->http_status;
	o->elapsed = r->elapsed_ms;
	o->decode_rc = grpc_sync_decode(r, o->task_id, sizeof(o->task_id),
	    o->sync_status, sizeof(o->sync_status), o->decode_err,
	    sizeof(o->decode_err));
	if (o->free_client != NULL)
		grpc_client_free(o->free_client);
	if (--o->ctx->pending == 0)
		event_base_loopbreak(o->ctx->base);
}

static void
guard_cb(evutil_socket_t fd, short ev, void *arg)
{
	event_base_loopbreak(arg);
}

static void
run_loop(struct loopctx *x, int max_ms)
{
	struct event *g;
	struct timeval tv;

	g = evtimer_new(x->base, guard_cb, x->base);
	cr_assert_not_null(g);
	max_ms *= pt_slow_factor();
	tv.tv_sec = max_ms / 1000;
	tv.tv_usec = (max_ms % 1000) * 1000;
	evtimer_add(g, &tv);
	if (x->pending > 0)
		event_base_dispatch(x->base);
	event_free(g);
	cr_assert_eq(x->pending, 0, "%d calls still pending after %d ms",
	    x->pending, max_ms);
}

static struct grpc_client *
client_for(struct event_base *base, int port, const char *ca,
    const char *cert, const char *key, size_t maxresp)
{
	struct grpc_opts o;
	struct grpc_client *c;
	char addr[64], err[256];

	memset(&o, 0, sizeof(o));
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	o.addr = addr;
	o.ca_file = ca;
	o.cert_file = cert;
	o.key_file = key;
	o.max_response_bytes = maxresp;
	c = grpc_client_new(base, &o, err, sizeof(err));
	cr_assert_not_null(c, "grpc_client_new: %s", err);
	return c;
}

static void
outcome_init(struct outcome *o, struct loopctx *x)
{
	memset(o, 0, sizeof(*o));
	o->ctx = x;
	x->pending++;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A ticker on the same loop: the largest gap between two ticks. */
struct ticker {
	struct event	*ev;
	uint64_t	 last, maxgap;
	int		 n;
};

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ticker *t = arg;
	uint64_t now = pt_now_ms();

	if (t->last != 0 && now - t->last > t->maxgap)
		t->maxgap = now - t->last;
	t->last = now;
	t->n++;
}

static void
ticker_start(struct ticker *t, struct event_base *base, int every_ms)
{
	struct timeval tv = { 0, every_ms * 1000 };

	memset(t, 0, sizeof(*t));
	t->ev = event_new(base, -1, EV_PERSIST, tick_cb, t);
	cr_assert_not_null(t->ev);
	t->last = pt_now_ms();
	evtimer_add(t->ev, &tv);
}

/* ---- pure: framing ---- */

Test(grpc_frame, encode)
{
	unsigned char buf[16];

	cr_assert_eq(grpc_frame_encode(buf, sizeof(buf), "abc", 3), 8);
	cr_assert_eq(memcmp(buf, "\0\0\0\0\3abc", 8), 0);
	cr_assert_eq(grpc_frame_encode(buf, 5, NULL, 0), 5);
	cr_assert_eq(memcmp(buf, "\0\0\0\0\0", 5), 0);
	cr_assert_eq(grpc_frame_encode(buf, 7, "abc", 3), 0);
	cr_assert_eq(grpc_frame_encode(buf, 4, NULL, 0), 0);
}

Test(grpc_frame, encode_length_is_big_endian)
{
	static unsigned char msg[0x10203];
	unsigned char *buf = malloc(sizeof(msg) + 5);

	cr_assert_eq(grpc_frame_encode(buf, sizeof(msg) + 5, msg, sizeof(msg)),
	    sizeof(msg) + 5);
	cr_assert_eq(memcmp(buf, "\0\0\1\2\3", 5), 0);
	free(buf);
}

static int
dec(const void *buf, size_t len, size_t max, size_t *mlen, char *err)
{
	const void *m;

	return grpc_frame_decode(buf, len, max, &m, mlen, err, 256);
}

Test(grpc_frame, decode_ok_and_empty)
{
	char err[256];
	const void *m;
	size_t n;

	cr_assert_eq(grpc_frame_decode("\0\0\0\0\3abc", 8, 100, &m, &n, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 3);
	cr_assert_eq(memcmp(m, "abc", 3), 0);
	cr_assert_eq(grpc_frame_decode("\0\0\0\0\0", 5, 100, &m, &n, err,
	    sizeof(err)), 0);
	cr_assert_eq(n, 0);
	cr_assert_not_null(m);
	/* exactly at the limit */
	cr_assert_eq(dec("\0\0\0\0\3abc", 8, 3, &n, err), 0);
}

Test(grpc_frame, decode_errors)
{
	char err[256];
	size_t n;

	cr_assert_eq(dec("", 0, 100, &n, err), -1);
	cr_assert(strstr(err, "no response message"), "%s", err);
	cr_assert_eq(dec("\0\0\0", 3, 100, &n, err), -1);
	cr_assert(strstr(err, "truncated message prefix"), "%s", err);
	cr_assert_eq(dec("\1\0\0\0\3abc", 8, 100, &n, err), -1);
	cr_assert(strstr(err, "compressed"), "%s", err);
	cr_assert_eq(dec("\2\0\0\0\3abc", 8, 100, &n, err), -1);
	cr_assert(strstr(err, "flag byte 0x02"), "%s", err);
	cr_assert_eq(dec("\0\0\0\0\4abc", 8, 100, &n, err), -1);
	cr_assert(strstr(err, "truncated response message (3 of 4"), "%s",
	    err);
	cr_assert_eq(dec("\0\0\0\0\2abc", 8, 100, &n, err), -1);
	cr_assert(strstr(err, "1 bytes after"), "%s", err);
	/* two messages */
	cr_assert_eq(dec("\0\0\0\0\1a\0\0\0\0\1b", 12, 100, &n, err), -1);
	cr_assert(strstr(err, "exactly one message"), "%s", err);
	cr_assert_eq(dec("\0\0\0\0\4abcd", 9, 3, &n, err), -1);
	cr_assert(strstr(err, "exceeds the limit of 3"), "%s", err);
	cr_assert_eq(dec("\0\xff\xff\xff\xff", 5, 4u << 20, &n, err), -1);
	cr_assert(strstr(err, "4294967295 bytes exceeds"), "%s", err);
}

Test(grpc_frame, decode_hostile_bytes_never_crash)
{
	unsigned char buf[64];
	const void *m;
	size_t n, len, i;
	char err[64];
	unsigned int seed = 12345;

	for (i = 0; i < 200000; i++) {
		size_t k;

		len = rand_r(&seed) % sizeof(buf);
		for (k = 0; k < len; k++)
			buf[k] = rand_r(&seed) % 4 == 0 ? 0 : rand_r(&seed);
		if (grpc_frame_decode(buf, len, 40, &m, &n, err,
		    sizeof(err)) == 0) {
			cr_assert_eq(n + 5, len);
			cr_assert_eq((const unsigned char *)m, buf + 5);
		} else
			cr_assert_null(m);
	}
}

/* ---- pure: grpc-message, timeouts, names ---- */

static const char *
pd(const char *in, size_t outlen)
{
	static char out[1024];

	cr_assert_leq(outlen, sizeof(out));
	grpc_percent_decode(out, outlen, in, strlen(in));
	return out;
}

Test(grpc_message, percent_decoding)
{
	cr_assert_str_eq(pd("key%20'fail'%20rejected", 1024),
	    "key 'fail' rejected");
	cr_assert_str_eq(pd("100%25 busy", 1024), "100% busy");
	cr_assert_str_eq(pd("caf%C3%A9 caf%c3%a9", 1024),
	    "caf\xc3\xa9 caf\xc3\xa9");
	cr_assert_str_eq(pd("%E2%82%AC", 1024), "\xe2\x82\xac");
	cr_assert_str_eq(pd("raw \xc3\xa9 stays", 1024), "raw \xc3\xa9 stays");
	/* invalid escapes stay literal */
	cr_assert_str_eq(pd("%zz%4", 1024), "%zz%4");
	cr_assert_str_eq(pd("50%", 1024), "50%");
	cr_assert_str_eq(pd("%%41", 1024), "%A");
	cr_assert_str_eq(pd("", 1024), "");
}

Test(grpc_message, control_chars_and_bad_utf8)
{
	cr_assert_str_eq(pd("a%0Ab%0D%0Ac%09d", 1024), "a b  c d");
	cr_assert_str_eq(pd("%00%01x%7F%1B[31m", 1024), "x[31m");
	cr_assert_str_eq(pd("a%C2%85b%C2%9Fc", 1024), "abc");	/* C1 */
	cr_assert_str_eq(pd("%FF%C3%28", 1024), "?" "?(");
	cr_assert_str_eq(pd("%ED%A0%80", 1024), "?" "?" "?");	/* surrogate */
	cr_assert_str_eq(pd("%C0%AF", 1024), "?" "?");	/* overlong */
	cr_assert_str_eq(pd("\xff\x01", 1024), "?");
	cr_assert_str_eq(pd("%E2%82", 1024), "?" "?");	/* truncated seq */
}

Test(grpc_message, bounded_at_a_character_boundary)
{
	char big[4000];
	size_t n;
	char out[GRPC_MESSAGE_MAX];

	cr_assert_str_eq(pd("abcd%E2%82%AC", 6), "abcd");
	cr_assert_str_eq(pd("abcd%E2%82%AC", 8), "abcd\xe2\x82\xac");
	cr_assert_str_eq(pd("abcdef", 4), "abc");
	cr_assert_str_eq(pd("abc", 1), "");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = grpc_percent_decode(out, sizeof(out), big, strlen(big));
	cr_assert_eq(n, sizeof(out) - 1);
	cr_assert_eq(strlen(out), n);
	cr_assert_eq(grpc_percent_decode(out, 0, "abc", 3), 0);
}

Test(grpc_message, timeout_header)
{
	char b[32];

	cr_assert_eq(grpc_timeout_format(b, sizeof(b), 1), 0);
	cr_assert_str_eq(b, "1m");
	cr_assert_eq(grpc_timeout_format(b, sizeof(b), 30000), 0);
	cr_assert_str_eq(b, "30000m");
	cr_assert_eq(grpc_timeout_format(b, sizeof(b), 99999999), 0);
	cr_assert_str_eq(b, "99999999m");
	cr_assert_eq(grpc_timeout_format(b, sizeof(b), 100000000), 0);
	cr_assert_str_eq(b, "100000S");
	cr_assert_eq(grpc_timeout_format(b, sizeof(b), 100000001), 0);
	cr_assert_str_eq(b, "100001S");
	cr_assert_eq(grpc_timeout_format(b, sizeof(b), 0), -1);
	cr_assert_eq(grpc_timeout_format(b, 3, 30000), -1);
	cr_assert_eq(grpc_timeout_format(b, sizeof(b), UINT64_MAX), 0);
	cr_assert_eq(strlen(b), 9);
}

Test(grpc_message, status_names)
{
	cr_assert_str_eq(grpc_status_name(0), "OK");
	cr_assert_str_eq(grpc_status_name(4), "DEADLINE_EXCEEDED");
	cr_assert_str_eq(grpc_status_name(14), "UNAVAILABLE");
	cr_assert_str_eq(grpc_status_name(16), "UNAUTHENTICATED");
	cr_assert_str_eq(grpc_status_name(17), "?");
	cr_assert_str_eq(grpc_status_name(-1), "?");
}

/* ---- API argument checks (no server) ---- */

TestSuite(grpc_api, .init = suite_init, .fini = suite_fini);

Test(grpc_api, client_new_rejects_bad_options)
{
	static const char *bad[] = {
		"", "host", "host:", "host:0", "host:65536", "host:123456",
		":50051", "http://host:1", "a b:1", "user@host:1", "h:1/x",
		"[::1:50051", "h:5x", "::1:50051",
	};
	struct event_base *base = event_base_new();
	struct grpc_opts o;
	struct grpc_client *c;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&o, 0, sizeof(o));
		o.addr = bad[i];
		err[0] = '\0';
		cr_assert_null(grpc_client_new(base, &o, err, sizeof(err)),
		    "accepted \"%s\"", bad[i]);
		cr_assert_neq(err[0], '\0');
	}
	memset(&o, 0, sizeof(o));
	cr_assert_null(grpc_client_new(base, &o, err, sizeof(err)));
	o.addr = "127.0.0.1:1";
	o.cert_file = "/etc/hostname";
	cr_assert_null(grpc_client_new(base, &o, err, sizeof(err)));
	cr_assert(strstr(err, "key_file"), "%s", err);
	o.cert_file = NULL;
	o.ca_file = "/nonexistent/ca.pem";
	cr_assert_null(grpc_client_new(base, &o, err, sizeof(err)));
	cr_assert(strstr(err, "/nonexistent/ca.pem"), "%s", err);

	o.ca_file = NULL;
	o.addr = "[::1]:50051";
	c = grpc_client_new(base, &o, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	grpc_client_free(c);
	o.addr = "localhost:50051";
	c = grpc_client_new(base, &o, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	grpc_client_free(c);
	grpc_client_free(NULL);
	event_base_free(base);
}

Test(grpc_api, call_rejects_bad_arguments)
{
	struct event_base *base = event_base_new();
	struct grpc_client *c = client_for(base, pt_dead_port(), NULL, NULL,
	    NULL, 0);
	struct loopctx x = { base, 0 };
	struct outcome o;
	struct grpc_sync_req rq;
	char err[256];

	outcome_init(&o, &x);
	x.pending = 0;
	cr_assert_eq(grpc_call(c, "/a.B/C", "", 0, 0, done_cb, &o, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "timeout"), "%s", err);
	cr_assert_eq(grpc_call(c, "a.B/C", "", 0, 100, done_cb, &o, err,
	    sizeof(err)), -1);
	cr_assert_eq(grpc_call(c, "/a.B/C?x=1", "", 0, 100, done_cb, &o, err,
	    sizeof(err)), -1);
	cr_assert_eq(grpc_call(c, "/a.B/C", "", 0, 100, NULL, &o, err,
	    sizeof(err)), -1);
	cr_assert_eq(grpc_call(c, "/a.B/C", NULL, 3, 100, done_cb, &o, err,
	    sizeof(err)), -1);
	memset(&rq, 0, sizeof(rq));
	cr_assert_eq(grpc_sync_datasource(c, &rq, 100, done_cb, &o, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "datasource is required"), "%s", err);
	rq.datasource = "mongo";
	rq.reason = "bad \xff utf-8";
	cr_assert_eq(grpc_sync_datasource(c, &rq, 100, done_cb, &o, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "reason is not valid UTF-8"), "%s", err);
	cr_assert_eq(grpc_sync_datasource(c, NULL, 100, done_cb, &o, err,
	    sizeof(err)), -1);
	cr_assert_eq(grpc_client_inflight(c), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	cr_assert_eq(o.done, 0);
	grpc_client_free(c);
	event_base_free(base);
}

Test(grpc_api, sync_decode_rejects_errors_and_bad_messages)
{
	struct grpc_result r;
	char tid[64], st[64], err[256];

	memset(&r, 0, sizeof(r));
	r.grpc_status = 14;
	r.error = "UNAVAILABLE (14): down";
	cr_assert_eq(grpc_sync_decode(&r, tid, sizeof(tid), st, sizeof(st),
	    err, sizeof(err)), -1);
	cr_assert_str_eq(err, "UNAVAILABLE (14): down");
	cr_assert_str_eq(tid, "");

	r.error = NULL;
	r.grpc_status = 0;
	r.msg = "\x0a\x03" "abc\x12\x08" "accepted";
	r.msg_len = 15;
	cr_assert_eq(grpc_sync_decode(&r, tid, sizeof(tid), st, sizeof(st),
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(tid, "abc");
	cr_assert_str_eq(st, "accepted");
	/* does not fit */
	cr_assert_eq(grpc_sync_decode(&r, tid, 3, st, sizeof(st), err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "task_id too long"), "%s", err);
	/* control character */
	r.msg = "\x0a\x03" "a\nc";
	r.msg_len = 5;
	cr_assert_eq(grpc_sync_decode(&r, tid, sizeof(tid), st, sizeof(st),
	    err, sizeof(err)), -1);
	cr_assert(strstr(err, "printable"), "%s", err);
	/* empty task id */
	r.msg = "\x12\x08" "accepted";
	r.msg_len = 10;
	cr_assert_eq(grpc_sync_decode(&r, tid, sizeof(tid), st, sizeof(st),
	    err, sizeof(err)), -1);
	cr_assert(strstr(err, "empty task_id"), "%s", err);
	/* truncated */
	r.msg = "\x0a\x64short";
	r.msg_len = 7;
	cr_assert_eq(grpc_sync_decode(&r, tid, sizeof(tid), st, sizeof(st),
	    err, sizeof(err)), -1);
	cr_assert(strstr(err, "cannot decode"), "%s", err);
	/* wrong wire type for field 1 */
	r.msg = "\x08\x01";
	r.msg_len = 2;
	cr_assert_eq(grpc_sync_decode(&r, tid, sizeof(tid), st, sizeof(st),
	    err, sizeof(err)), -1);
}

/* ---- against the peer ---- */

TestSuite(grpc_live, .init = suite_init, .fini = suite_fini);

static void
sync_call(struct grpc_client *c, const struct grpc_sync_req *rq,
    uint64_t timeout_ms, struct outcome *o)
{
	char err[256];

	cr_assert_eq(grpc_sync_datasource(c, rq, timeout_ms, done_cb, o, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(o->done, 0, "callback ran inside grpc_call");
}

static void
ping_call(struct grpc_client *c, uint64_t timeout_ms, struct outcome *o)
{
	char err[256];

	cr_assert_eq(grpc_ping(c, timeout_ms, done_cb, o, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(o->done, 0, "callback ran inside grpc_call");
}

static const struct grpc_sync_req full_req = {
	.datasource = "mongo-primary",
	.platform = "kubernetes",
	.tenant = "acme",
	.env = "production",
	.reason = "self-heal: drift detected by watcher-service",
};

#define FULL_FIELDS "\"fields\":{\"datasource\":\"mongo-primary\"," \
	"\"env\":\"production\",\"platform\":\"kubernetes\",\"reason\":" \
	"\"self-heal: drift detected by watcher-service\",\"tenant\":\"acme\"}"

static void
assert_uuid(const char *s)
{
	size_t i;

	cr_assert_eq(strlen(s), 36, "task_id \"%s\"", s);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			cr_assert_eq(s[i], '-', "task_id \"%s\"", s);
		else
			cr_assert(strchr("0123456789abcdef", s[i]) != NULL,
			    "task_id \"%s\"", s);
	}
}

Test(grpc_live, sync_datasource_h2c)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o;
	char *log, *dl;
	double dls;

	p = peer_start("ok", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	outcome_init(&o, &x);
	sync_call(c, &full_req, T(5000), &o);
	cr_assert_eq(grpc_client_inflight(c), 1);
	run_loop(&x, 10000);
	cr_assert_eq(o.has_error, 0, "%s", o.error);
	cr_assert_eq(o.status, 0);
	cr_assert_eq(o.http, 200);
	cr_assert_str_eq(o.method, GRPC_PATH_SYNC_DATASOURCE);
	cr_assert_eq(o.decode_rc, 0, "%s", o.decode_err);
	assert_uuid(o.task_id);
	cr_assert_str_eq(o.sync_status, "accepted");
	cr_assert_eq(grpc_client_inflight(c), 0);

	log = pt_slurp(p->log);
	cr_assert_eq(count_lines(log), 1, "%s", log);
	cr_assert(strstr(log, FULL_FIELDS) != NULL, "%s", log);
	cr_assert(strstr(log, "\"unknown\":[]") != NULL, "%s", log);
	cr_assert(strstr(log, "\"method\":\"/vartrack.v1.Watcher/"
	    "SyncDatasource\"") != NULL, "%s", log);
	cr_assert(strstr(log, "\"user-agent\":\"vartrack-watcher/") != NULL,
	    "%s", log);
	/* grpc-timeout reached the server: a deadline within the timeout */
	cr_assert_not_null(dl = strstr(log, "\"deadline_s\":"), "%s", log);
	dls = strtod(dl + strlen("\"deadline_s\":"), NULL);
	cr_assert(dls > 0 && dls <= T(5000) / 1000.0, "%s", log);
	free(log);
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, sync_datasource_empty_optional_fields)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct grpc_sync_req rq = {
		.datasource = "redis",
		.platform = "docker",
		.reason = "self-heal: drift detected by watcher-service",
	};
	struct peer *p;
	struct grpc_client *c;
	struct outcome o;
	char *log;

	p = peer_start("ok", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	outcome_init(&o, &x);
	sync_call(c, &rq, T(5000), &o);
	run_loop(&x, 10000);
	cr_assert_eq(o.decode_rc, 0, "%s / %s", o.error, o.decode_err);
	log = pt_slurp(p->log);
	cr_assert(strstr(log, "\"fields\":{\"datasource\":\"redis\","
	    "\"platform\":\"docker\",\"reason\":\"self-heal: drift detected by "
	    "watcher-service\"}") != NULL, "%s", log);
	free(log);
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, ping_ok_and_many_calls_multiplexed)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o[20];
	char *log;
	size_t i;

	p = peer_start("ok", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	for (i = 0; i < 20; i++) {
		outcome_init(&o[i], &x);
		if (i % 2)
			ping_call(c, T(5000), &o[i]);
		else
			sync_call(c, &full_req, T(5000), &o[i]);
	}
	cr_assert_eq(grpc_client_inflight(c), 20);
	run_loop(&x, 15000);
	for (i = 0; i < 20; i++) {
		cr_assert_eq(o[i].has_error, 0, "%zu: %s", i, o[i].error);
		if (i % 2) {
			cr_assert_eq(o[i].msg_len, 0);
			cr_assert_str_eq(o[i].method, GRPC_PATH_PING);
		} else
			cr_assert_eq(o[i].decode_rc, 0);
	}
	log = pt_slurp(p->log);
	cr_assert_eq(count_lines(log), 20);
	cr_assert(strstr(log, "\"method\":\"/vartrack.v1.Watcher/Ping\"") !=
	    NULL);
	cr_assert(strstr(log, "\"request_len\":0") != NULL);
	free(log);
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

static void
expect_status(const char *mode, int status, const char *message)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o, po;
	char want[256];

	p = peer_start(mode, 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	outcome_init(&o, &x);
	sync_call(c, &full_req, T(5000), &o);
	outcome_init(&po, &x);
	ping_call(c, T(5000), &po);
	run_loop(&x, 10000);
	cr_assert_eq(o.status, status, "%s: status %d: %s", mode, o.status,
	    o.error);
	cr_assert_eq(o.transport, 0, "%s", o.error);
	cr_assert_eq(o.has_error, 1);
	cr_assert_str_eq(o.message, message);
	snprintf(want, sizeof(want), "%s (%d): %s", grpc_status_name(status),
	    status, message);
	cr_assert_str_eq(o.error, want);
	cr_assert_eq(o.decode_rc, -1);
	cr_assert_str_eq(o.decode_err, want);
	cr_assert_eq(po.status, status, "%s", po.error);
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, status_unavailable)
{
	expect_status("unavailable", GRPC_STATUS_UNAVAILABLE,
	    "orchestrator unavailable: 100% busy, retry later");
}

Test(grpc_live, status_internal_message_decoded)
{
	/* "café\nline two": percent-encoded on the wire, newline -> space */
	expect_status("internal", GRPC_STATUS_INTERNAL,
	    "internal error: caf\xc3\xa9 line two");
}

Test(grpc_live, status_unimplemented)
{
	expect_status("unimplemented", GRPC_STATUS_UNIMPLEMENTED,
	    "method not implemented here");
}

Test(grpc_live, unknown_method_is_unimplemented)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o;
	char err[256];

	p = peer_start("ok", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	outcome_init(&o, &x);
	cr_assert_eq(grpc_call(c, "/vartrack.v1.Watcher/Nope", NULL, 0, T(5000),
	    done_cb, &o, err, sizeof(err)), 0, "%s", err);
	run_loop(&x, 10000);
	cr_assert_eq(o.status, GRPC_STATUS_UNIMPLEMENTED, "%s", o.error);
	cr_assert_eq(o.transport, 0);
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, hang_is_deadline_exceeded_and_loop_keeps_running)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o;
	struct ticker t;
	uint64_t t0, timeout = 600, sf = pt_slow_factor();

	p = peer_start("hang", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	ticker_start(&t, base, 20);
	outcome_init(&o, &x);
	t0 = pt_now_ms();
	sync_call(c, &full_req, timeout, &o);
	run_loop(&x, 5000);
	cr_assert_eq(o.status, GRPC_STATUS_DEADLINE_EXCEEDED, "%d: %s",
	    o.status, o.error);
	cr_assert_eq(o.has_error, 1);
	cr_assert_geq(o.at - t0, timeout - 20, "answered after %llu ms",
	    (unsigned long long)(o.at - t0));
	cr_assert_leq(o.at - t0, timeout + GRPC_TIMEOUT_SLACK_MS + 400 * sf,
	    "answered after %llu ms", (unsigned long long)(o.at - t0));
	/* the ticker kept its 20 ms period while the call hung */
	cr_assert_geq(t.n, (int)((o.at - t0) / 20 / 2 / sf));
	cr_assert_leq(t.maxgap, 100 * sf, "ticker stalled for %llu ms",
	    (unsigned long long)t.maxgap);
	cr_log_info("hang: %s after %llu ms; %d ticks, max gap %llu ms",
	    o.error, (unsigned long long)(o.at - t0), t.n,
	    (unsigned long long)t.maxgap);
	event_free(t.ev);
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, mute_server_is_local_deadline_exceeded)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct grpc_client *c;
	struct outcome o;
	struct ticker t;
	uint64_t t0, timeout = 400, sf = pt_slow_factor();
	int port, ls;

	ls = pt_mute_listener(&port);
	c = client_for(base, port, NULL, NULL, NULL, 0);
	ticker_start(&t, base, 20);
	outcome_init(&o, &x);
	t0 = pt_now_ms();
	ping_call(c, timeout, &o);
	run_loop(&x, 5000);
	cr_assert_eq(o.status, GRPC_STATUS_DEADLINE_EXCEEDED, "%s", o.error);
	cr_assert_eq(o.transport, 1);
	cr_assert(strstr(o.error, "deadline exceeded") != NULL, "%s", o.error);
	cr_assert_geq(o.at - t0, timeout + GRPC_TIMEOUT_SLACK_MS - 20);
	cr_assert_leq(o.at - t0, timeout + GRPC_TIMEOUT_SLACK_MS + 300 * sf,
	    "answered after %llu ms", (unsigned long long)(o.at - t0));
	cr_assert_leq(t.maxgap, 100 * sf, "ticker stalled for %llu ms",
	    (unsigned long long)t.maxgap);
	event_free(t.ev);
	grpc_client_free(c);
	close(ls);
	event_base_free(base);
}

Test(grpc_live, garbage_reply_is_a_decode_error)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o, po;

	p = peer_start("garbage", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	outcome_init(&o, &x);
	sync_call(c, &full_req, T(5000), &o);
	outcome_init(&po, &x);
	ping_call(c, T(5000), &po);
	run_loop(&x, 10000);
	/* a fine gRPC exchange carrying a bad message */
	cr_assert_eq(o.has_error, 0, "%s", o.error);
	cr_assert_eq(o.decode_rc, -1);
	cr_assert(strstr(o.decode_err, "cannot decode") != NULL, "%s",
	    o.decode_err);
	cr_assert_str_eq(o.task_id, "");
	cr_assert_eq(po.status, GRPC_STATUS_INTERNAL, "%s", po.error);
	cr_assert(strstr(po.error, "not an empty message") != NULL, "%s",
	    po.error);
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, response_over_the_cap_is_refused)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o;

	p = peer_start("ok", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 16);
	outcome_init(&o, &x);
	sync_call(c, &full_req, T(5000), &o);
	run_loop(&x, 10000);
	cr_assert_eq(o.status, GRPC_STATUS_RESOURCE_EXHAUSTED, "%s", o.error);
	cr_assert_eq(o.transport, 1);
	cr_assert(strstr(o.error, "limit of 16 bytes") != NULL, "%s", o.error);
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, connection_refused_is_a_transport_error)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct grpc_client *c;
	struct outcome o;

	c = client_for(base, pt_dead_port(), NULL, NULL, NULL, 0);
	outcome_init(&o, &x);
	ping_call(c, T(5000), &o);
	run_loop(&x, 5000);
	cr_assert_eq(o.status, GRPC_STATUS_UNAVAILABLE, "%s", o.error);
	cr_assert_eq(o.transport, 1);
	cr_assert_eq(o.http, 0);
	cr_assert(strstr(o.error, "connect") != NULL, "%s", o.error);
	cr_assert_lt(o.elapsed, T(2000));
	grpc_client_free(c);
	event_base_free(base);
}

Test(grpc_live, free_cancels_calls_in_flight)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o[3];
	char err[256];
	size_t i;

	p = peer_start("hang", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	for (i = 0; i < 3; i++) {
		outcome_init(&o[i], &x);
		sync_call(c, &full_req, T(10000), &o[i]);
	}
	/* let the requests reach the server, then free */
	event_base_loopexit(base, &(struct timeval){ 0, 300000 });
	event_base_dispatch(base);
	cr_assert_eq(x.pending, 3);
	cr_assert_eq(grpc_client_inflight(c), 3);
	grpc_client_free(c);
	cr_assert_eq(x.pending, 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(o[i].status, GRPC_STATUS_CANCELLED);
		cr_assert_eq(o[i].transport, 1);
		cr_assert(strstr(o[i].error, "cancelled") != NULL);
	}
	(void)err;
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, free_from_a_callback_cancels_the_rest)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome quick, slow;

	p = peer_start("hang", 0);
	c = client_for(base, p->port, NULL, NULL, NULL, 0);
	outcome_init(&slow, &x);
	sync_call(c, &full_req, T(10000), &slow);
	outcome_init(&quick, &x);
	quick.free_client = c;	/* frees c from its callback */
	ping_call(c, 300, &quick);
	run_loop(&x, 5000);
	cr_assert_eq(quick.status, GRPC_STATUS_DEADLINE_EXCEEDED, "%s",
	    quick.error);
	cr_assert_eq(slow.status, GRPC_STATUS_CANCELLED, "%s", slow.error);
	cr_assert_geq(slow.at, quick.at);
	/* c is gone; the loop must have nothing of it left */
	cr_assert_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	peer_stop(p);
	event_base_free(base);
}

/* ---- TLS ---- */

static void
tls_case(int peer_tls, const char *ca, int client_cert, int want_ok,
    const char *want_err)
{
	struct event_base *base = event_base_new();
	struct loopctx x = { base, 0 };
	struct peer *p;
	struct grpc_client *c;
	struct outcome o;
	char caf[160], cert[160], key[160];

	p = peer_start("ok", peer_tls);
	snprintf(caf, sizeof(caf), "%s/%s", p->dir, ca);
	snprintf(cert, sizeof(cert), "%s/client.pem", p->dir);
	snprintf(key, sizeof(key), "%s/client.key", p->dir);
	c = client_for(base, p->port, caf, client_cert ? cert : NULL,
	    client_cert ? key : NULL, 0);
	outcome_init(&o, &x);
	sync_call(c, &full_req, T(5000), &o);
	run_loop(&x, 10000);
	if (want_ok) {
		cr_assert_eq(o.has_error, 0, "%s", o.error);
		cr_assert_eq(o.decode_rc, 0, "%s", o.decode_err);
		assert_uuid(o.task_id);
	} else {
		cr_assert_eq(o.has_error, 1);
		cr_assert_eq(o.transport, 1, "%s", o.error);
		cr_assert_eq(o.status, GRPC_STATUS_UNAVAILABLE, "%s", o.error);
		cr_assert(strstr(o.error, want_err) != NULL, "%s", o.error);
		cr_log_info("tls error: %s", o.error);
	}
	grpc_client_free(c);
	peer_stop(p);
	event_base_free(base);
}

Test(grpc_live, tls_server_verified_against_ca)
{
	tls_case(1, "ca.pem", 0, 1, NULL);
}

Test(grpc_live, mtls_with_client_certificate)
{
	tls_case(2, "ca.pem", 1, 1, NULL);
}

Test(grpc_live, mtls_without_client_certificate_fails)
{
	tls_case(2, "ca.pem", 0, 0, "transport error");
}

Test(grpc_live, tls_wrong_ca_mentions_the_certificate)
{
	tls_case(1, "other-ca.pem", 0, 0, "certificate");
}
