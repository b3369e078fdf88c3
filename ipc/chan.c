#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/transport/ipc/ipc.h>

#include "chan.h"

struct ipc_outq {
	struct ipc_outq	*next;
	nng_msg		*msg;
};

static int
chan_open(struct ipc_chan *c, char *err, size_t errlen)
{
	int rv;

	memset(c, 0, sizeof(*c));
	c->recvfd = c->sendfd = -1;
	if ((rv = nng_pair1_open(&c->sock)) != 0) {
		snprintf(err, errlen, "nng_pair1_open: %s", nng_strerror(rv));
		return -1;
	}
	c->open = 1;
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, IPC_MAX_MSG_BYTES);
	nng_socket_set_int(c->sock, NNG_OPT_RECVBUF, 64);
	nng_socket_set_int(c->sock, NNG_OPT_SENDBUF, 64);
	return 0;
}

int
ipc_chan_listen(struct ipc_chan *c, const char *url, char *err, size_t errlen)
{
	int rv;

	if (chan_open(c, err, errlen) == -1)
		return -1;
	if ((rv = nng_listen(c->sock, url, NULL, 0)) != 0) {
		snprintf(err, errlen, "listen %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	if ((rv = nng_socket_get_int(c->sock, NNG_OPT_RECVFD, &c->recvfd)) ||
	    (rv = nng_socket_get_int(c->sock, NNG_OPT_SENDFD, &c->sendfd))) {
		snprintf(err, errlen, "nng pollable fds: %s", nng_strerror(rv));
		goto fail;
	}
	return 0;
 fail:
	ipc_chan_close(c);
	return -1;
}

int
ipc_chan_dial(struct ipc_chan *c, const char *url, char *err, size_t errlen)
{
	int rv;

	if (chan_open(c, err, errlen) == -1)
		return -1;
	/* a worker must never retry dialling after its sandbox is on */
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 100);
	if ((rv = nng_dial(c->sock, url, NULL, 0)) != 0) {
		snprintf(err, errlen, "dial %s: %s", url, nng_strerror(rv));
		ipc_chan_close(c);
		return -1;
	}
	/* pollable, for workers that also wait on a descriptor of theirs */
	if ((rv = nng_socket_get_int(c->sock, NNG_OPT_RECVFD, &c->recvfd))) {
		snprintf(err, errlen, "nng pollable fd: %s", nng_strerror(rv));
		ipc_chan_close(c);
		return -1;
	}
	return 0;
}

int
ipc_chan_set_recv_timeout(struct ipc_chan *c, int ms)
{
	return nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, ms) == 0 ? 0 : -1;
}

void
ipc_chan_close(struct ipc_chan *c)
{
	struct ipc_outq *q;

	while ((q = c->outq) != NULL) {
		c->outq = q->next;
		nng_msg_free(q->msg);
		free(q);
	}
	c->outq_len = 0;
	if (c->open)
		nng_close(c->sock);
	c->open = 0;
	c->recvfd = c->sendfd = -1;
}

int
ipc_chan_flush(struct ipc_chan *c)
{
	struct ipc_outq *q;
	int rv;

	while ((q = c->outq) != NULL) {
		rv = nng_sendmsg(c->sock, q->msg, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN)
			return 1;
		if (rv != 0)
			return -1;
		/* nng owns the message now */
		c->outq = q->next;
		c->outq_len--;
		free(q);
	}
	return 0;
}

int
ipc_chan_send(struct ipc_chan *c, struct ipc_msg *m, int block)
{
	struct ipc_outq *q, **tail;
	nng_msg *msg;
	void *buf;
	size_t len;
	int rv;

	if (!c->open)
		return -1;
	m->seq = ++c->next_seq;
	if (ipc_msg_encode(&buf, &len, m) == -1)
		return -1;
	rv = nng_msg_alloc(&msg, 0);
	if (rv == 0)
		rv = nng_msg_append(msg, buf, len);
	free(buf);
	if (rv != 0) {
		if (msg != NULL)
			nng_msg_free(msg);
		return -1;
	}
	if (block) {
		if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) {
			nng_msg_free(msg);
			return -1;
		}
		return 0;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		nng_msg_free(msg);
		return -1;
	}
	q->msg = msg;
	for (tail = &c->outq; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = q;
	c->outq_len++;
	return ipc_chan_flush(c) == -1 ? -1 : 0;
}

int
ipc_chan_recv(struct ipc_chan *c, struct ipc_msg *m, int block,
    int *peer_pid, char *err, size_t errlen)
{
	nng_msg *msg;
	nng_pipe p;
	uint64_t pid = 0;
	int rv;

	*peer_pid = 0;
	if (!c->open)
		return -1;
	rv = nng_recvmsg(c->sock, &msg, block ? 0 : NNG_FLAG_NONBLOCK);
	if (rv == NNG_EAGAIN || rv == NNG_ETIMEDOUT)
		return 0;
	if (rv != 0) {
		snprintf(err, errlen, "receive: %s", nng_strerror(rv));
		return -1;
	}
	p = nng_msg_get_pipe(msg);
	/* nng keeps the peer's pid as a 64-bit option: get_int fails */
	if (nng_pipe_id(p) > 0 &&
	    nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid) == 0 &&
	    pid <= INT_MAX)
		*peer_pid = (int)pid;
	rv = ipc_msg_decode(m, nng_msg_body(msg), nng_msg_len(msg), err, errlen);
	nng_msg_free(msg);
	return rv == 0 ? 1 : -2;
}
