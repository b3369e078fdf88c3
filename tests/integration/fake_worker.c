/*
 * A misbehaving worker for the integration tests (never installed): it
 * dials the supervisor like vartrack-worker-redis does, then breaks the
 * protocol in the way VTW_FAKE_MODE says. The supervisor must log a
 * protocol violation, kill and restart it, and keep running.
 *   garbage      undecodable bytes instead of a HELLO
 *   bad-hello    a HELLO that claims to be another kind of worker
 *   unsolicited  a valid handshake, then a reply to a request never made
 *   wrong-keys   answers poll requests with keys that were not asked for
 *   skip-rule-0  never answers rule 0; answers every other rule's poll
 *                with each key absent (a drift). Not a violation: only
 *                rule 0 may be unknown, the other rules must go on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>

#include "chan.h"
#include "msg.h"

int
main(int argc, char **argv)
{
	struct ipc_chan c;
	struct ipc_msg m;
	const char *url = NULL, *mode = getenv("VTW_FAKE_MODE");
	char err[256];
	int ch, pid;

	while ((ch = getopt(argc, argv, "u:U:")) != -1)
		if (ch == 'u')
			url = optarg;
	if (url == NULL || mode == NULL)
		return 2;
	if (ipc_chan_dial(&c, url, err, sizeof(err)) == -1)
		return 3;
	if (strcmp(mode, "garbage") == 0) {
		static const char junk[] = "\xff\xff\xff\xff\x0fnot a protobuf";

		nng_send(c.sock, (void *)(uintptr_t)junk, sizeof(junk), 0);
	} else {
		memset(&m, 0, sizeof(m));
		m.type = IPC_HELLO;
		m.u.hello.kind = strcmp(mode, "bad-hello") == 0 ? "git" : "redis";
		m.u.hello.pid = (uint32_t)getpid();
		m.u.hello.proto_version = IPC_PROTO_VERSION;
		ipc_chan_send(&c, &m, 1);
	}
	for (;;) {
		int rc = ipc_chan_recv(&c, &m, 1, &pid, err, sizeof(err));

		if (rc != 1)
			continue;
		if (m.type == IPC_CONF_DONE && strcmp(mode, "unsolicited") == 0) {
			struct ipc_msg r;

			memset(&r, 0, sizeof(r));
			r.type = IPC_POLL_REPLY;
			r.u.poll_reply.rule_id = 4242;
			r.u.poll_reply.last = 1;
			ipc_chan_send(&c, &r, 1);
		}
		if (m.type == IPC_POLL_REQUEST &&
		    strcmp(mode, "skip-rule-0") == 0 &&
		    m.u.poll_request.rule_id != 0) {
			struct ipc_msg r;
			struct ipc_value *v;
			size_t i, n = m.u.poll_request.nkeys;

			if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL)
				return 4;
			for (i = 0; i < n; i++)
				v[i].key = m.u.poll_request.keys[i];
			memset(&r, 0, sizeof(r));
			r.type = IPC_POLL_REPLY;
			r.u.poll_reply.rule_id = m.u.poll_request.rule_id;
			r.u.poll_reply.values = v;
			r.u.poll_reply.nvalues = n;
			r.u.poll_reply.last = m.u.poll_request.last;
			ipc_chan_send(&c, &r, 1);
			free(v);
		}
		if (m.type == IPC_POLL_REQUEST && m.u.poll_request.last &&
		    strcmp(mode, "wrong-keys") == 0) {
			struct ipc_msg r;
			struct ipc_value v;

			memset(&r, 0, sizeof(r));
			memset(&v, 0, sizeof(v));
			v.key.p = "not-asked-for";
			v.key.len = strlen(v.key.p);
			v.present = 1;
			v.val.p = "x";
			v.val.len = 1;
			r.type = IPC_POLL_REPLY;
			r.u.poll_reply.rule_id = m.u.poll_request.rule_id;
			r.u.poll_reply.values = &v;
			r.u.poll_reply.nvalues = 1;
			r.u.poll_reply.last = 1;
			ipc_chan_send(&c, &r, 1);
		}
		ipc_msg_release(&m);
	}
}
