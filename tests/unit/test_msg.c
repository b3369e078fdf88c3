/* IPC codec: round trips, and hostile bytes never crash the decoder. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

static void
roundtrip(const struct ipc_msg *in, struct ipc_msg *out)
{
	void *buf;
	size_t len;
	char err[256];

	cr_assert_eq(ipc_msg_encode(&buf, &len, in), 0);
	cr_assert_eq(ipc_msg_decode(out, buf, len, err, sizeof(err)), 0, "%s", err);
	free(buf);
}

Test(msg, hello_roundtrip)
{
	struct ipc_msg m, o;

	memset(&m, 0, sizeof(m));
	m.type = IPC_HELLO;
	m.seq = 7;
	m.u.hello.kind = "redis";
	m.u.hello.pid = 1234;
	m.u.hello.proto_version = IPC_PROTO_VERSION;
	roundtrip(&m, &o);
	cr_assert_eq(o.type, IPC_HELLO);
	cr_assert_eq(o.seq, 7);
	cr_assert_str_eq(o.u.hello.kind, "redis");
	cr_assert_eq(o.u.hello.pid, 1234);
	ipc_msg_release(&o);
}

Test(msg, poll_reply_binary_values_roundtrip)
{
	struct ipc_msg m, o;
	struct ipc_value v[2];

	memset(&m, 0, sizeof(m));
	memset(v, 0, sizeof(v));
	v[0].key.p = "k\x01";
	v[0].key.len = 2;
	v[0].present = 1;
	v[0].val.p = "a\0b\xff";
	v[0].val.len = 4;
	v[1].key.p = "gone";
	v[1].key.len = 4;
	m.type = IPC_POLL_REPLY;
	m.u.poll_reply.rule_id = 3;
	m.u.poll_reply.values = v;
	m.u.poll_reply.nvalues = 2;
	m.u.poll_reply.last = 1;
	roundtrip(&m, &o);
	cr_assert_eq(o.u.poll_reply.nvalues, 2);
	cr_assert_eq(o.u.poll_reply.values[0].val.len, 4);
	cr_assert_eq(memcmp(o.u.poll_reply.values[0].val.p, "a\0b\xff", 4), 0);
	cr_assert_eq(o.u.poll_reply.values[1].present, 0);
	cr_assert_eq(o.u.poll_reply.last, 1);
	ipc_msg_release(&o);
}

Test(msg, baseline_request_roundtrip)
{
	struct ipc_msg m, o;
	const char *files[] = { "a.yaml", "b.json" };
	struct ipc_pair vm[] = { { "new", "old" } };

	memset(&m, 0, sizeof(m));
	m.type = IPC_BASELINE_REQUEST;
	m.u.baseline_request.rule_id = 9;
	m.u.baseline_request.repo_url = "/tmp/repo";
	m.u.baseline_request.branch = "main";
	m.u.baseline_request.files = files;
	m.u.baseline_request.nfiles = 2;
	m.u.baseline_request.variables_map = vm;
	m.u.baseline_request.nvariables_map = 1;
	m.u.baseline_request.root_key_set = 1;
	roundtrip(&m, &o);
	cr_assert_eq(o.u.baseline_request.nfiles, 2);
	cr_assert_str_eq(o.u.baseline_request.files[1], "b.json");
	cr_assert_str_eq(o.u.baseline_request.variables_map[0].val, "old");
	cr_assert_str_eq(o.u.baseline_request.root_key, "");
	cr_assert_eq(o.u.baseline_request.root_key_set, 1);
	ipc_msg_release(&o);
}

Test(msg, rejects_garbage_and_bad_envelopes)
{
	struct ipc_msg o;
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
}

Test(msg, truncated_value_must_be_consistent)
{
	struct ipc_msg m, o;
	struct ipc_value v;
	void *buf;
	size_t len;
	char err[256];

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
	cr_assert_eq(ipc_msg_encode(&buf, &len, &m), 0);
	cr_assert_eq(ipc_msg_decode(&o, buf, len, err, sizeof(err)), -1);
	free(buf);
}

Test(msg, random_bytes_never_crash)
{
	unsigned char buf[512];
	struct ipc_msg o;
	char err[256];
	size_t i, j, n;

	srand(42);
	for (i = 0; i < 20000; i++) {
		n = (size_t)rand() % sizeof(buf);
		for (j = 0; j < n; j++)
			buf[j] = (unsigned char)rand();
		if (i % 3 == 0 && n > 2) {
			buf[0] = 0x08;	/* plausible type field */
			buf[1] = (unsigned char)(rand() % 12);
		}
		if (ipc_msg_decode(&o, buf, n, err, sizeof(err)) == 0)
			ipc_msg_release(&o);
	}
}
