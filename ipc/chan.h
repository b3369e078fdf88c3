/*
 * ipc_chan: one nng pair1 socket between the supervisor and one worker
 * (not pair0: Debian 12's nng 1.5.2 never releases a pair0 socket's
 * pollable descriptors on close, fixed upstream in nng PR #1640).
 * The supervisor listens (non-blocking use, integrated with libevent via the
 * socket's pollable descriptors); the worker dials and uses it blocking.
 */
#ifndef VTW_CHAN_H
#define VTW_CHAN_H

#include <nng/nng.h>

#include "msg.h"

struct ipc_outq;

struct ipc_chan {
	nng_socket	 sock;
	int		 open;
	int		 recvfd;	/* readable when a message can be received */
	int		 sendfd;	/* readable when a message can be sent */
	struct ipc_outq	*outq;		/* supervisor: messages not yet accepted */
	size_t		 outq_len;
	uint64_t	 next_seq;
};

int	ipc_chan_listen(struct ipc_chan *, const char *url, char *err, size_t errlen);
int	ipc_chan_dial(struct ipc_chan *, const char *url, char *err, size_t errlen);
void	ipc_chan_close(struct ipc_chan *);
/* Encode and send. Blocking when block != 0; otherwise queue what nng does
 * not take now (flush later with ipc_chan_flush()). 0 ok, -1 error. */
int	ipc_chan_send(struct ipc_chan *, struct ipc_msg *, int block);
/* Push queued messages; 0 when the queue is empty, 1 when some remain,
 * -1 on a channel error. */
int	ipc_chan_flush(struct ipc_chan *);
/* Receive one message. Returns 1 with *m filled (release with
 * ipc_msg_release()), 0 when none is waiting (non-blocking, or the
 * receive timeout passed), -1 on a
 * channel error, -2 on an invalid message (err says why). *peer_pid is
 * the sending process id when known, else 0. timeout_ms < 0 blocks. */
int	ipc_chan_recv(struct ipc_chan *, struct ipc_msg *m, int block,
	    int *peer_pid, char *err, size_t errlen);
int	ipc_chan_set_recv_timeout(struct ipc_chan *, int ms);

#endif
