/*
 * IPC codec: a round trip of every message type, hostile bytes (random and
 * mutated encodings of every type) never crash the decoder, and every
 * string field is checked as UTF-8. The kinds' own messages are in
 * test_msg_kinds.c.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "test_msg.h"

static void
roundtrip(const struct ipc_msg *in, struct ipc_msg *out)
{
	void *buf;
	size_t len;
	char err[256];

	cr_assert_eq(ipc_msg_encode(&buf, &len, in), 0);
	cr_assert_eq(ipc_msg_decode(out, buf, len, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(out->type, in->type);
	cr_assert_eq(out->seq, in->seq);
	free(buf);
}

/* in encoded, then decoded: -1, with err containing want */
static void
expect_rejected(const struct ipc_msg *in, const char *want)
{
	struct ipc_msg o;
	void *buf;
	size_t len;
	char err[256] = "";

	cr_assert_eq(ipc_msg_encode(&buf, &len, in), 0);
	cr_expect_eq(ipc_msg_decode(&o, buf, len, err, sizeof(err)), -1,
	    "accepted, wanted '%s'", want);
	cr_expect(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
	free(buf);
}

/* ---- every type, round trip ---- */

static const char *const files[] = { "a.yaml", "b.json" };
static const struct ipc_pair pairs[] = { { .key = "new", .val = "old" },
    { .key = "k", .val = "v\xc3\xa9" } };

/* one valid message of type t, for the round trips and the fuzzing */
static void
sample(struct ipc_msg *m, enum ipc_msg_type t)
{
	static struct ipc_bytes keys[3];
	static struct ipc_value vals[3];

	memset(m, 0, sizeof(*m));
	m->type = t;
	m->seq = 1000 + t;
	keys[0].p = "a\0b";
	keys[0].len = 3;
	keys[1].p = "\xff\xfe";
	keys[1].len = 2;
	keys[2].p = "";
	keys[2].len = 0;
	memset(vals, 0, sizeof(vals));
	vals[0].key = keys[0];
	vals[0].present = 1;
	vals[0].val.p = "x\xff";
	vals[0].val.len = 2;
	vals[1].key = keys[1];
	vals[2].key = keys[2];
	vals[2].present = 1;
	vals[2].val.p = "tr";
	vals[2].val.len = 2;
	vals[2].truncated = 1;
	vals[2].full_len = 999;
	memset(vals[2].digest, 0xab, sizeof(vals[2].digest));
	switch (t) {
	case IPC_HELLO:
		m->u.hello.kind = "redis";
		m->u.hello.pid = 1234;
		m->u.hello.proto_version = IPC_PROTO_VERSION;
		break;
	case IPC_CONF_PLATFORM:
		m->u.conf_platform.name = "gh";
		m->u.conf_platform.type = "github";
		m->u.conf_platform.endpoint = "https://api.github.com";
		m->u.conf_platform.token = "t\xc3\xb8ken";
		break;
	case IPC_CONF_DATASOURCE:
		m->u.conf_datasource.name = "cache";
		m->u.conf_datasource.type = "redis";
		m->u.conf_datasource.connect_timeout_ms = 1500;
		m->u.conf_datasource.command_timeout_ms = 2500;
		m->u.conf_datasource.settings.p = "\x0a\x01h\x10\x01";
		m->u.conf_datasource.settings.len = 5;
		break;
	case IPC_CONF_GIT:
		m->u.conf_git.cache_dir = "/var/cache/vtw";
		m->u.conf_git.max_file_bytes = 1u << 20;
		m->u.conf_git.max_keys = 5000;
		m->u.conf_git.max_parallel_fetches = 8;
		m->u.conf_git.fetch_timeout_ms = 45000;
		break;
	case IPC_BASELINE_REQUEST:
		m->u.baseline_request.rule_id = 9;
		m->u.baseline_request.platform = "gh";
		m->u.baseline_request.repo_url = "/tmp/repo";
		m->u.baseline_request.branch = "main";
		m->u.baseline_request.files = files;
		m->u.baseline_request.nfiles = 2;
		m->u.baseline_request.root_key_set = 1;
		m->u.baseline_request.env = "prod";
		m->u.baseline_request.variables_map = pairs;
		m->u.baseline_request.nvariables_map = 2;
		m->u.baseline_request.key_format = "flat";
		m->u.baseline_request.key_prefix = "t:ds:prod";
		m->u.baseline_request.known_commit = "abc";
		m->u.baseline_request.want_commit = "def";
		m->u.baseline_request.refresh_ms = 60000;
		m->u.baseline_request.refetch = 1;
		break;
	case IPC_BASELINE_REPLY:
		m->u.baseline_reply.rule_id = 9;
		m->u.baseline_reply.status = IPC_BL_UNCHANGED;
		m->u.baseline_reply.commit = "0123456789abcdef";
		m->u.baseline_reply.error = "";
		m->u.baseline_reply.entries = pairs;
		m->u.baseline_reply.nentries = 2;
		m->u.baseline_reply.last = 1;
		m->u.baseline_reply.total = 2;
		m->u.baseline_reply.fetch = IPC_FETCH_UNCHANGED;
		m->u.baseline_reply.fetch_us = 1234;
		break;
	case IPC_POLL_REQUEST:
		m->u.poll_request.rule_id = 3;
		m->u.poll_request.datasource = "cache";
		m->u.poll_request.target = "t:ds:prod";
		m->u.poll_request.marker = "t:ds:prod:__vartrack__";
		m->u.poll_request.detect_extra = 1;
		m->u.poll_request.keys = keys;
		m->u.poll_request.nkeys = 3;
		m->u.poll_request.last = 1;
		m->u.poll_request.total = 3;
		m->u.poll_request.scope.p = "\x08\x02";
		m->u.poll_request.scope.len = 2;
		break;
	case IPC_POLL_REPLY:
		m->u.poll_reply.rule_id = 3;
		m->u.poll_reply.status = IPC_POLL_OK;
		m->u.poll_reply.error = "";
		m->u.poll_reply.values = vals;
		m->u.poll_reply.nvalues = 2;
		m->u.poll_reply.extras = vals + 2;
		m->u.poll_reply.nextras = 1;
		m->u.poll_reply.marker_present = 1;
		m->u.poll_reply.last = 1;
		break;
	case IPC_NOTIFY:
		m->u.notify.rule_id = 77;
		break;
	default:	/* conf_done, shutdown: no payload fields */
		break;
	}
}

Test(msg, hello_roundtrip)
{
	struct ipc_msg m, o;

	sample(&m, IPC_HELLO);
	roundtrip(&m, &o);
	cr_assert_str_eq(o.u.hello.kind, "redis");
	cr_assert_eq(o.u.hello.pid, 1234);
	cr_assert_eq(o.u.hello.proto_version, IPC_PROTO_VERSION);
	ipc_msg_release(&o);
}

Test(msg, conf_platform_roundtrip)
{
	struct ipc_msg m, o;

	sample(&m, IPC_CONF_PLATFORM);
	roundtrip(&m, &o);
	cr_assert_str_eq(o.u.conf_platform.name, "gh");
	cr_assert_str_eq(o.u.conf_platform.type, "github");
	cr_assert_str_eq(o.u.conf_platform.endpoint, "https://api.github.com");
	cr_assert_str_eq(o.u.conf_platform.token, "t\xc3\xb8ken");
	ipc_msg_release(&o);
}

Test(msg, conf_datasource_roundtrip)
{
	struct ipc_msg m, o;

	sample(&m, IPC_CONF_DATASOURCE);
	roundtrip(&m, &o);
	cr_assert_str_eq(o.u.conf_datasource.name, "cache");
	cr_assert_str_eq(o.u.conf_datasource.type, "redis");
	cr_assert_eq(o.u.conf_datasource.connect_timeout_ms, 1500);
	cr_assert_eq(o.u.conf_datasource.command_timeout_ms, 2500);
	cr_assert_eq(o.u.conf_datasource.settings.len, 5);
	cr_assert_eq(memcmp(o.u.conf_datasource.settings.p, "\x0a\x01h\x10\x01",
	    5), 0);
	ipc_msg_release(&o);
}

Test(msg, conf_git_roundtrip)
{
	struct ipc_msg m, o;

	sample(&m, IPC_CONF_GIT);
	roundtrip(&m, &o);
	cr_assert_str_eq(o.u.conf_git.cache_dir, "/var/cache/vtw");
	cr_assert_eq(o.u.conf_git.max_file_bytes, 1u << 20);
	cr_assert_eq(o.u.conf_git.max_keys, 5000);
	cr_assert_eq(o.u.conf_git.max_parallel_fetches, 8);
	cr_assert_eq(o.u.conf_git.fetch_timeout_ms, 45000);
	ipc_msg_release(&o);
}

Test(msg, empty_payloads_roundtrip)
{
	struct ipc_msg m, o;

	sample(&m, IPC_CONF_DONE);
	roundtrip(&m, &o);
	ipc_msg_release(&o);
	sample(&m, IPC_SHUTDOWN);
	roundtrip(&m, &o);
	ipc_msg_release(&o);
}

Test(msg, notify_roundtrip)
{
	struct ipc_msg m, o;

	sample(&m, IPC_NOTIFY);
	roundtrip(&m, &o);
	cr_assert_eq(o.u.notify.rule_id, 77);
	ipc_msg_release(&o);
}

Test(msg, baseline_request_roundtrip)
{
	struct ipc_msg m, o;
	const struct ipc_baseline_request *r = &o.u.baseline_request;

	sample(&m, IPC_BASELINE_REQUEST);
	roundtrip(&m, &o);
	cr_assert_eq(r->rule_id, 9);
	cr_assert_str_eq(r->platform, "gh");
	cr_assert_str_eq(r->repo_url, "/tmp/repo");
	cr_assert_str_eq(r->branch, "main");
	cr_assert_eq(r->nfiles, 2);
	cr_assert_str_eq(r->files[1], "b.json");
	cr_assert_str_eq(r->root_key, "");
	cr_assert_eq(r->root_key_set, 1);
	cr_assert_str_eq(r->env, "prod");
	cr_assert_eq(r->nvariables_map, 2);
	cr_assert_str_eq(r->variables_map[0].key, "new");
	cr_assert_str_eq(r->variables_map[1].val, "v\xc3\xa9");
	cr_assert_str_eq(r->key_format, "flat");
	cr_assert_str_eq(r->key_prefix, "t:ds:prod");
	cr_assert_str_eq(r->known_commit, "abc");
	cr_assert_str_eq(r->want_commit, "def");
	cr_assert_eq(r->refresh_ms, 60000);
	cr_assert_eq(r->refetch, 1);
	ipc_msg_release(&o);
}

Test(msg, baseline_reply_roundtrip)
{
	struct ipc_msg m, o;
	const struct ipc_baseline_reply *r = &o.u.baseline_reply;

	sample(&m, IPC_BASELINE_REPLY);
	roundtrip(&m, &o);
	cr_assert_eq(r->rule_id, 9);
	cr_assert_eq(r->status, IPC_BL_UNCHANGED);
	cr_assert_str_eq(r->commit, "0123456789abcdef");
	cr_assert_eq(r->nentries, 2);
	cr_assert_str_eq(r->entries[1].key, "k");
	cr_assert_eq(r->last, 1);
	cr_assert_eq(r->total, 2);
	cr_assert_eq(r->fetch, IPC_FETCH_UNCHANGED);
	cr_assert_eq(r->fetch_us, 1234);
	ipc_msg_release(&o);
}

/* a long Git value: prefix, full length and SHA-256 */
Test(msg, baseline_reply_truncated_entry_roundtrip)
{
	struct ipc_msg m, o;
	const struct ipc_baseline_reply *r = &o.u.baseline_reply;
	unsigned char d[VTW_DIGEST_LEN];
	struct ipc_pair p[2] = {
		{ "small", "v", 0, 0, NULL },
		{ "big", "AAAA", 1, 1100000, d },
	};

	vtw_digest("x", 1, d);
	memset(&m, 0, sizeof(m));
	m.type = IPC_BASELINE_REPLY;
	m.u.baseline_reply.rule_id = 1;
	m.u.baseline_reply.status = IPC_BL_OK;
	m.u.baseline_reply.commit = "c0ffee";
	m.u.baseline_reply.error = "";
	m.u.baseline_reply.entries = p;
	m.u.baseline_reply.nentries = 2;
	m.u.baseline_reply.last = 1;
	m.u.baseline_reply.total = 2;
	roundtrip(&m, &o);
	cr_assert_eq(r->nentries, 2);
	cr_assert_eq(r->entries[0].truncated, 0);
	cr_assert_null(r->entries[0].digest);
	cr_assert_eq(r->entries[1].truncated, 1);
	cr_assert_str_eq(r->entries[1].val, "AAAA");
	cr_assert_eq(r->entries[1].full_len, 1100000);
	cr_assert_not_null(r->entries[1].digest);
	cr_assert_eq(memcmp(r->entries[1].digest, d, sizeof(d)), 0);
	ipc_msg_release(&o);

	/* a full length that is no longer than what was sent */
	p[1].full_len = 4;
	expect_rejected(&m, "entry 1: truncated value");
	/* a variables_map pair is never truncated */
	memset(&m, 0, sizeof(m));
	m.type = IPC_BASELINE_REQUEST;
	m.u.baseline_request.variables_map = &p[0];
	m.u.baseline_request.nvariables_map = 1;
	p[0].truncated = 1;
	p[0].full_len = 99;
	p[0].digest = d;
	expect_rejected(&m, "pair 0: truncated");
}

/* a truncated value's digest is a SHA-256: 32 bytes, and only then */
Test(msg, value_digest_must_be_sha256_sized)
{
	/* Envelope{type 9 (poll_reply), seq 1, poll_reply{values{key "k",
	 * present, value "abc", truncated, full_len 9, digest <2 bytes>},
	 * last}}, packed by hand: the encoder cannot send it */
	static const unsigned char shortdig[] = {
		0x08, 0x09, 0x10, 0x01, 0x92, 0x01, 0x16,
		0x22, 0x12, 0x0a, 0x01, 'k', 0x10, 0x01, 0x1a, 0x03, 'a', 'b',
		'c', 0x20, 0x01, 0x28, 0x09, 0x3a, 0x02, 0x00, 0x00,
		0x38, 0x01,
	};
	/* the same value not truncated (truncated 0, no full_len) */
	static const unsigned char wholedig[] = {
		0x08, 0x09, 0x10, 0x01, 0x92, 0x01, 0x12,
		0x22, 0x0e, 0x0a, 0x01, 'k', 0x10, 0x01, 0x1a, 0x03, 'a', 'b',
		'c', 0x3a, 0x02, 0x00, 0x00,
		0x38, 0x01,
	};
	struct ipc_msg o;
	char err[256] = "";

	cr_assert_eq(ipc_msg_decode(&o, shortdig, sizeof(shortdig), err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "truncated value with a digest of 2 bytes"),
	    "%s", err);
	cr_assert_eq(ipc_msg_decode(&o, wholedig, sizeof(wholedig), err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "whole value with a digest of 2 bytes"), "%s",
	    err);
}

/* a long value's prefix is cut on a UTF-8 boundary */
Test(msg, value_prefix_len)
{
	char *v = malloc(IPC_MAX_VALUE_BYTES + 8);

	cr_assert_not_null(v);
	memset(v, 'a', IPC_MAX_VALUE_BYTES + 8);
	cr_assert_eq(ipc_value_prefix_len(v, 10), 10);
	cr_assert_eq(ipc_value_prefix_len(v, IPC_MAX_VALUE_BYTES + 8),
	    IPC_MAX_VALUE_BYTES);
	/* U+20AC (3 bytes) straddling the cut */
	memcpy(v + IPC_MAX_VALUE_BYTES - 1, "\xe2\x82\xac", 3);
	cr_assert_eq(ipc_value_prefix_len(v, IPC_MAX_VALUE_BYTES + 8),
	    IPC_MAX_VALUE_BYTES - 1);
	free(v);
}

Test(msg, poll_request_roundtrip)
{
	struct ipc_msg m, o;
	const struct ipc_poll_request *r = &o.u.poll_request;

	sample(&m, IPC_POLL_REQUEST);
	roundtrip(&m, &o);
	cr_assert_eq(r->rule_id, 3);
	cr_assert_str_eq(r->datasource, "cache");
	cr_assert_str_eq(r->target, "t:ds:prod");
	cr_assert_str_eq(r->marker, "t:ds:prod:__vartrack__");
	cr_assert_eq(r->detect_extra, 1);
	cr_assert_eq(r->nkeys, 3);
	cr_assert_eq(r->keys[0].len, 3);
	cr_assert_eq(memcmp(r->keys[0].p, "a\0b", 3), 0);
	cr_assert_eq(memcmp(r->keys[1].p, "\xff\xfe", 2), 0);
	cr_assert_eq(r->keys[2].len, 0);
	cr_assert_eq(r->last, 1);
	cr_assert_eq(r->total, 3);
	cr_assert_eq(r->scope.len, 2);
	cr_assert_eq(memcmp(r->scope.p, "\x08\x02", 2), 0);
	ipc_msg_release(&o);
}

Test(msg, poll_reply_roundtrip)
{
	struct ipc_msg m, o;
	const struct ipc_poll_reply *r = &o.u.poll_reply;

	sample(&m, IPC_POLL_REPLY);
	roundtrip(&m, &o);
	cr_assert_eq(r->rule_id, 3);
	cr_assert_eq(r->nvalues, 2);
	cr_assert_eq(r->values[0].val.len, 2);
	cr_assert_eq(memcmp(r->values[0].val.p, "x\xff", 2), 0);
	cr_assert_eq(r->values[1].present, 0);
	cr_assert_eq(r->nextras, 1);
	cr_assert_eq(r->extras[0].truncated, 1);
	cr_assert_eq(r->extras[0].full_len, 999);
	cr_assert_eq(r->extras[0].digest[0], 0xab);
	cr_assert_eq(r->extras[0].digest[VTW_DIGEST_LEN - 1], 0xab);
	cr_assert_eq(r->marker_present, 1);
	cr_assert_eq(r->last, 1);
	ipc_msg_release(&o);
}

/* a data error (the datasource answered, the rule's data is at fault)
 * travels as its own status, with its error */
Test(msg, poll_reply_data_error_roundtrip)
{
	struct ipc_msg m, o;

	memset(&m, 0, sizeof(m));
	m.type = IPC_POLL_REPLY;
	m.seq = 9;
	m.u.poll_reply.rule_id = 2;
	m.u.poll_reply.status = IPC_POLL_DATA_ERROR;
	m.u.poll_reply.error = "key a:vartrack holds a string, rule expects a hash";
	m.u.poll_reply.last = 1;
	roundtrip(&m, &o);
	cr_assert_eq(o.u.poll_reply.status, IPC_POLL_DATA_ERROR);
	cr_assert_str_eq(o.u.poll_reply.error, m.u.poll_reply.error);
	ipc_msg_release(&o);
	m.u.poll_reply.status = IPC_POLL_RATE_LIMITED;
	m.u.poll_reply.error = "rate limited until 2026-12-03T18:00:00Z "
	    "(X-RateLimit-Reset)";
	roundtrip(&m, &o);
	cr_assert_eq(o.u.poll_reply.status, IPC_POLL_RATE_LIMITED);
	cr_assert_str_eq(o.u.poll_reply.error, m.u.poll_reply.error);
	ipc_msg_release(&o);
	m.u.poll_reply.status = (enum ipc_poll_status)4;
	expect_rejected(&m, "out of range");
}

/* ---- envelope and per-type checks ---- */

Test(msg, rejects_garbage_and_bad_envelopes)
{
	struct ipc_msg o, m;
	char err[256];
	static const unsigned char junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	/* type=hello (1) but payload poll_reply (field 18, empty) */
	static const unsigned char mism[] = { 0x08, 0x01, 0x92, 0x01, 0x00 };
	/* type 200 */
	static const unsigned char badtype[] = { 0x08, 0xc8, 0x01 };

	cr_assert_eq(ipc_msg_decode(&o, junk, sizeof(junk), err, sizeof(err)), -1);
	cr_assert_eq(ipc_msg_decode(&o, mism, sizeof(mism), err, sizeof(err)), -1);
	cr_assert(strstr(err, "payload") != NULL, "%s", err);
	cr_assert_eq(ipc_msg_decode(&o, badtype, sizeof(badtype), err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "unknown message type") != NULL, "%s", err);
	cr_assert_eq(ipc_msg_decode(&o, junk, IPC_MAX_MSG_BYTES + 1, err,
	    sizeof(err)), -1);
	/* the encoder refuses what it cannot name */
	memset(&m, 0, sizeof(m));
	m.type = IPC_MSG_TYPE_MAX;
	{
		void *buf;
		size_t len;

		cr_assert_eq(ipc_msg_encode(&buf, &len, &m), -1);
		m.type = IPC_NONE;
		cr_assert_eq(ipc_msg_encode(&buf, &len, &m), -1);
	}
	cr_assert_str_eq(ipc_msg_type_name(IPC_POLL_REPLY), "poll_reply");
	cr_assert_str_eq(ipc_msg_type_name(999), "invalid");
}

Test(msg, truncated_value_must_be_consistent)
{
	struct ipc_msg m;
	struct ipc_value v;

	memset(&m, 0, sizeof(m));
	memset(&v, 0, sizeof(v));
	v.key.p = "k";
	v.key.len = 1;
	v.present = 1;
	v.val.p = "abc";
	v.val.len = 3;
	v.truncated = 1;
	v.full_len = 2;		/* shorter than what was sent: a lie */
	m.type = IPC_POLL_REPLY;
	m.u.poll_reply.values = &v;
	m.u.poll_reply.nvalues = 1;
	expect_rejected(&m, "truncated value");
	v.truncated = 0;
	v.present = 0;		/* absent, yet with a value */
	expect_rejected(&m, "absent key");
}

Test(msg, per_type_caps)
{
	struct ipc_msg m;
	char big[5000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sample(&m, IPC_HELLO);
	m.u.hello.kind = "a-kind-name-longer-than-32-bytes!";
	expect_rejected(&m, "kind longer");
	sample(&m, IPC_BASELINE_REPLY);
	m.u.baseline_reply.commit = big;
	expect_rejected(&m, "commit longer");
	sample(&m, IPC_BASELINE_REPLY);
	m.u.baseline_reply.error = big;
	expect_rejected(&m, "error longer");
	sample(&m, IPC_POLL_REPLY);
	m.u.poll_reply.error = big;
	expect_rejected(&m, "error longer");
	sample(&m, IPC_CONF_DATASOURCE);
	m.u.conf_datasource.type = "a-type-name-longer-than-32-bytes!";
	expect_rejected(&m, "datasource type");
	{
		struct ipc_pair empty = { .key = "", .val = "v" };

		sample(&m, IPC_BASELINE_REPLY);
		m.u.baseline_reply.entries = &empty;
		m.u.baseline_reply.nentries = 1;
		expect_rejected(&m, "empty key");
	}
}

Test(msg, enum_out_of_range)
{
	struct ipc_msg m;

	sample(&m, IPC_BASELINE_REPLY);
	m.u.baseline_reply.status = (enum ipc_baseline_status)3;
	expect_rejected(&m, "status 3 out of range");
	sample(&m, IPC_BASELINE_REPLY);
	m.u.baseline_reply.fetch = (enum ipc_fetch_result)5;
	expect_rejected(&m, "fetch 5 out of range");
	sample(&m, IPC_POLL_REPLY);
	m.u.poll_reply.status = (enum ipc_poll_status)-1;
	expect_rejected(&m, "out of range");
}

/* ---- UTF-8 ---- */

static const char *const bad_utf8[] = {
	"\x80",			/* lone continuation byte */
	"a\xbf",
	"\xc0\xaf",		/* overlong '/' (2 bytes) */
	"\xc1\xbf",
	"\xe0\x80\xaf",		/* overlong (3 bytes) */
	"\xe0\x9f\xbf",		/* overlong U+07FF */
	"\xf0\x80\x80\xaf",	/* overlong (4 bytes) */
	"\xf0\x8f\xbf\xbf",	/* overlong U+FFFF */
	"\xed\xa0\x80",		/* U+D800, a surrogate */
	"\xed\xbf\xbf",		/* U+DFFF */
	"\xf4\x90\x80\x80",	/* U+110000 */
	"\xf5\x80\x80\x80",
	"\xff",
	"\xe2\x82",		/* truncated U+20AC */
	"\xf0\x9d\x84",		/* truncated U+1D11E */
	"\xc3(",		/* bad continuation */
	"ok\xe2\x28\xa1",
};

static const char *const good_utf8[] = {
	"", "plain ascii", "\xc2\x80", "\xc3\xa9t\xc3\xa9",
	"\xe2\x82\xac",			/* U+20AC */
	"\xed\x9f\xbf",			/* U+D7FF */
	"\xee\x80\x80",			/* U+E000 */
	"\xef\xbf\xbf",			/* U+FFFF */
	"\xf0\x90\x80\x80",		/* U+10000 */
	"\xf0\x9d\x84\x9e",		/* U+1D11E */
	"\xf4\x8f\xbf\xbf",		/* U+10FFFF */
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

Test(msg_utf8, validator)
{
	size_t i;
	char s[32];

	for (i = 0; i < NELEM(bad_utf8); i++)
		cr_expect_neq(ipc_utf8_invalid_at(bad_utf8[i],
		    strlen(bad_utf8[i])), (size_t)-1, "bad #%zu accepted", i);
	for (i = 0; i < NELEM(good_utf8); i++)
		cr_expect_eq(ipc_utf8_invalid_at(good_utf8[i],
		    strlen(good_utf8[i])), (size_t)-1, "good #%zu refused", i);
	cr_expect_eq(ipc_utf8_invalid_at("ab\xc3", 3), 2);
	strcpy(s, "a\xff\xc3\xa9\xed\xa0\x80z");
	ipc_utf8_scrub(s);
	cr_expect_str_eq(s, "a?\xc3\xa9???z");
	cr_expect_eq(ipc_utf8_invalid_at(s, strlen(s)), (size_t)-1);
}

/* Put s into string field number which of message type t. */
static int
set_string(struct ipc_msg *m, enum ipc_msg_type t, int which, const char *s)
{
	static const char *v[2];
	static struct ipc_pair p;

	sample(m, t);
	switch (t * 100 + which) {
	case IPC_HELLO * 100:
		m->u.hello.kind = s; break;
	case IPC_CONF_PLATFORM * 100:
		m->u.conf_platform.name = s; break;
	case IPC_CONF_PLATFORM * 100 + 1:
		m->u.conf_platform.type = s; break;
	case IPC_CONF_PLATFORM * 100 + 2:
		m->u.conf_platform.endpoint = s; break;
	case IPC_CONF_PLATFORM * 100 + 3:
		m->u.conf_platform.token = s; break;
	case IPC_CONF_DATASOURCE * 100:
		m->u.conf_datasource.name = s; break;
	case IPC_CONF_DATASOURCE * 100 + 1:
		m->u.conf_datasource.type = s; break;
	case IPC_CONF_GIT * 100:
		m->u.conf_git.cache_dir = s; break;
	case IPC_BASELINE_REQUEST * 100:
		m->u.baseline_request.platform = s; break;
	case IPC_BASELINE_REQUEST * 100 + 1:
		m->u.baseline_request.repo_url = s; break;
	case IPC_BASELINE_REQUEST * 100 + 2:
		m->u.baseline_request.branch = s; break;
	case IPC_BASELINE_REQUEST * 100 + 3:
		v[0] = "ok";
		v[1] = s;
		m->u.baseline_request.files = v;
		break;
	case IPC_BASELINE_REQUEST * 100 + 4:
		m->u.baseline_request.root_key = s; break;
	case IPC_BASELINE_REQUEST * 100 + 5:
		m->u.baseline_request.env = s; break;
	case IPC_BASELINE_REQUEST * 100 + 6:
		p.key = "k";
		p.val = s;
		m->u.baseline_request.variables_map = &p;
		m->u.baseline_request.nvariables_map = 1;
		break;
	case IPC_BASELINE_REQUEST * 100 + 7:
		m->u.baseline_request.key_format = s; break;
	case IPC_BASELINE_REQUEST * 100 + 8:
		m->u.baseline_request.key_prefix = s; break;
	case IPC_BASELINE_REQUEST * 100 + 9:
		m->u.baseline_request.known_commit = s; break;
	case IPC_BASELINE_REQUEST * 100 + 10:
		m->u.baseline_request.want_commit = s; break;
	case IPC_BASELINE_REPLY * 100:
		m->u.baseline_reply.commit = s; break;
	case IPC_BASELINE_REPLY * 100 + 1:
		m->u.baseline_reply.error = s; break;
	case IPC_BASELINE_REPLY * 100 + 2:
		p.key = s;
		p.val = "v";
		m->u.baseline_reply.entries = &p;
		m->u.baseline_reply.nentries = 1;
		break;
	case IPC_POLL_REQUEST * 100:
		m->u.poll_request.datasource = s; break;
	case IPC_POLL_REQUEST * 100 + 1:
		m->u.poll_request.target = s; break;
	case IPC_POLL_REQUEST * 100 + 2:
		m->u.poll_request.marker = s; break;
	case IPC_POLL_REPLY * 100:
		m->u.poll_reply.error = s; break;
	default:
		return -1;
	}
	return 0;
}

Test(msg_utf8, every_string_field_is_checked)
{
	struct ipc_msg m, o;
	void *buf;
	size_t len, i, nfields = 0;
	char err[256];
	int t, w;

	for (t = IPC_HELLO; t < IPC_MSG_TYPE_MAX; t++)
		for (w = 0; set_string(&m, t, w, "x\xc0\xafy") == 0; w++) {
			nfields++;
			expect_rejected(&m, "not valid UTF-8");
			for (i = 0; i < NELEM(bad_utf8); i++) {
				cr_assert_eq(set_string(&m, t, w,
				    bad_utf8[i]), 0);
				cr_assert_eq(ipc_msg_encode(&buf, &len, &m), 0);
				cr_expect_eq(ipc_msg_decode(&o, buf, len, err,
				    sizeof(err)), -1, "%s field %d: bad #%zu",
				    ipc_msg_type_name(t), w, i);
				free(buf);
			}
			/* and valid UTF-8 passes (the empty key excepted) */
			cr_assert_eq(set_string(&m, t, w, "\xf0\x9d\x84\x9e"),
			    0);
			roundtrip(&m, &o);
			ipc_msg_release(&o);
		}
	/* every string field of vtw_ipc.proto */
	cr_expect_eq(nfields, 26);
}

/* ---- hostile bytes ---- */

static int
decode_msg(const void *buf, size_t len)
{
	struct ipc_msg o;
	char err[256];
	int rc = ipc_msg_decode(&o, buf, len, err, sizeof(err));

	if (rc == 0)
		ipc_msg_release(&o);
	else
		cr_assert(err[0] != '\0', "-1 without a message");
	return rc;
}

void
tm_fuzz(const void *seed, size_t seedlen, unsigned int seeds,
    int (*decode)(const void *, size_t))
{
	unsigned char *buf;
	size_t cap = seedlen + 64, n, j, k, pos;
	unsigned int s;
	int rc;

	buf = malloc(cap);
	cr_assert_not_null(buf);
	for (s = 1; s <= seeds; s++) {
		srand(s);
		n = seedlen;
		memcpy(buf, seed, seedlen);
		k = 1 + (size_t)rand() % 4;
		for (j = 0; j < k; j++) {
			pos = n ? (size_t)rand() % n : 0;
			switch (rand() % 5) {
			case 0:		/* a random byte */
				if (n)
					buf[pos] = (unsigned char)rand();
				break;
			case 1:		/* a flipped bit */
				if (n)
					buf[pos] ^= (unsigned char)(1 <<
					    (rand() % 8));
				break;
			case 2:		/* truncated */
				n = pos;
				break;
			case 3:		/* bytes inserted */
				if (n < cap - 8) {
					memmove(buf + pos + 4, buf + pos,
					    n - pos);
					buf[pos] = (unsigned char)rand();
					buf[pos + 1] = 0xff;
					buf[pos + 2] = 0x80;
					buf[pos + 3] = (unsigned char)rand();
					n += 4;
				}
				break;
			default:	/* a length byte made huge */
				if (n)
					buf[pos] |= 0x80;
				break;
			}
		}
		rc = decode(buf, n);
		cr_assert(rc == 0 || rc == -1, "seed %u: %d", s, rc);
	}
	free(buf);
}

Test(msg_hostile, random_bytes_never_crash)
{
	unsigned char buf[512];
	size_t i, j, n;
	int rc;

	srand(42);
	for (i = 0; i < 20000; i++) {
		n = (size_t)rand() % sizeof(buf);
		for (j = 0; j < n; j++)
			buf[j] = (unsigned char)rand();
		if (i % 3 == 0 && n > 2) {
			buf[0] = 0x08;	/* plausible type field */
			buf[1] = (unsigned char)(rand() % 12);
		}
		rc = decode_msg(buf, n);
		cr_assert(rc == 0 || rc == -1);
	}
}

/* mutations of a valid encoding of each type, many seeds each */
Test(msg_hostile, mutated_messages_of_every_type)
{
	struct ipc_msg m;
	void *buf;
	size_t len;
	int t;

	for (t = IPC_HELLO; t < IPC_MSG_TYPE_MAX; t++) {
		sample(&m, t);
		cr_assert_eq(ipc_msg_encode(&buf, &len, &m), 0);
		cr_assert_eq(decode_msg(buf, len), 0, "%s",
		    ipc_msg_type_name(t));
		tm_fuzz(buf, len, 3000, decode_msg);
		free(buf);
	}
}
