/*
 * Worker runtime shared by every worker executable: argument parsing, the
 * IPC channel, the written-once demotion sequence (privdrop.c: drop to the
 * sandbox user, rlimits, no-new-privs, seccomp), the HELLO handshake and
 * the message loop. Each worker type provides an ops table.
 */
#ifndef VTW_WORKER_H
#define VTW_WORKER_H

#include "chan.h"
#include "msg.h"

struct worker_ops {
	const char	*name;		/* Hello.kind: "git", or a kind's worker */
	const int	*syscalls;	/* extra seccomp allowlist, -1 ended */
	/* before the sandbox: library initialisation (may read files) */
	int		(*init)(void);
	/* one configuration message (IPC_CONF_*) */
	int		(*conf)(const struct ipc_msg *);
	/* every other message; send replies on the channel */
	int		(*handle)(struct ipc_chan *, const struct ipc_msg *);
	void		(*fini)(void);
	/* optional: a descriptor that becomes readable when the worker has
	 * something to say on its own (e.g. a zookeeper watch fired); then
	 * event() is called from the main loop, where sending is safe */
	int		(*event_fd)(void);
	void		(*event)(struct ipc_chan *);
};

int	worker_main(const struct worker_ops *, int argc, char **argv);
/* Apply the demotion sequence; fatal on failure. */
void	worker_privdrop(const char *user, const int *extra_syscalls);

#endif
