/*
 * Worker runtime: vartrack-worker-<type> -u URL [-U user]
 * Dial the supervisor, demote (privdrop.c), say HELLO, then serve messages
 * one at a time until SHUTDOWN or until the supervisor goes away.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <nng/nng.h>

#include "chan.h"
#include "log.h"
#include "worker.h"

#define WORKER_IDLE_TRIM_MS	10000	/* idle this long: give memory back */

static void
worker_usage(const char *name)
{
	fprintf(stderr, "usage: vartrack-worker-%s -u IPC-URL [-U sandbox-user]\n"
	    "Started by vartrack-watcher; not meant to be run by hand.\n", name);
	exit(2);
}

#ifdef VTW_TEST_HOOKS
/* Test-only: perform a syscall outside the allowlist when the flag file
 * named by VTW_TEST_FORBIDDEN_SYSCALL exists and names this worker. */
static void
worker_test_forbidden(const char *name)
{
	const char *path = getenv("VTW_TEST_FORBIDDEN_SYSCALL");
	char buf[64] = "";
	FILE *f;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strcmp(buf, name) != 0)
		return;
	log_warnx("test hook: calling a forbidden syscall (ptrace)");
	syscall(SYS_ptrace, 0, 0, 0, 0);
	log_errorx("test hook: forbidden syscall was allowed");
}
#endif

static void
dispatch(const struct worker_ops *ops, struct ipc_chan *chan,
    const struct ipc_msg *m, int *configured)
{
	switch (m->type) {
	case IPC_CONF_PLATFORM:
	case IPC_CONF_DATASOURCE:
	case IPC_CONF_GIT:
		if (ops->conf != NULL && ops->conf(m) == -1)
			log_warnx("configuration message rejected");
		break;
	case IPC_CONF_DONE:
		*configured = 1;
		log_debug("configured");
		break;
	default:
		if (!*configured)
			log_warnx("%s before configuration",
			    ipc_msg_type_name(m->type));
		else if (ops->handle(chan, m) == -1)
			log_warnx("failed to handle %s",
			    ipc_msg_type_name(m->type));
		break;
	}
}

/* A program linking the runtime without vtw_worker() (unit tests) has no
 * additions; a worker's generated list overrides this one. */
__attribute__((weak)) const int vtw_worker_syscalls[] = { -1 };

int
worker_main(const struct worker_ops *ops, int argc, char **argv)
{
	struct ipc_chan chan;
	struct ipc_msg m;
	const char *url = NULL, *user = "nobody", *lvl;
	char proc[32], err[256];
	int ch, rc, pid, level = LOG_LVL_INFO, configured = 0, dirty = 0;
	int efd;

	snprintf(proc, sizeof(proc), "worker/%s", ops->name);
	if ((lvl = getenv("LOG_LEVEL")) != NULL && log_level_parse(lvl) >= 0)
		level = log_level_parse(lvl);
	log_init(proc, level);
	while ((ch = getopt(argc, argv, "u:U:")) != -1) {
		switch (ch) {
		case 'u':
			url = optarg;
			break;
		case 'U':
			user = optarg;
			break;
		default:
			worker_usage(ops->name);
		}
	}
	if (url == NULL)
		worker_usage(ops->name);
	signal(SIGPIPE, SIG_IGN);
	/* the supervisor decides when we stop (IPC_SHUTDOWN, else SIGKILL);
	 * a SIGTERM sent to the whole process group is for it, not us */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);

	/* big polls allocate and free a lot: keep the heap between polls
	 * (trimmed when idle, below) instead of returning it on every free */
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	if (ipc_chan_dial(&chan, url, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (ops->init != NULL && ops->init() == -1)
		fatalx("initialisation failed");
	{
		unsigned char d[VTW_DIGEST_LEN];

		/* libcrypto reads its configuration on first use: do that
		 * before the sandbox, not in the first long value's poll */
		vtw_digest("", 0, d);
	}
	worker_privdrop(user, vtw_worker_syscalls);
#ifdef VTW_TEST_HOOKS
	worker_test_forbidden(ops->name);
#endif
	memset(&m, 0, sizeof(m));
	m.type = IPC_HELLO;
	m.u.hello.kind = ops->name;
	m.u.hello.pid = (uint32_t)getpid();
	m.u.hello.proto_version = IPC_PROTO_VERSION;
	if (ipc_chan_send(&chan, &m, 1) == -1)
		fatalx("cannot send hello");
	log_debug("sandboxed, waiting for configuration");
	/* wake up when idle to hand memory of a big poll back to the system
	 * (not during a poll: that would cost the next one page faults) */
	ipc_chan_set_recv_timeout(&chan, WORKER_IDLE_TRIM_MS);

	efd = ops->event_fd != NULL ? ops->event_fd() : -1;
	for (;;) {
		if (efd != -1) {
			struct pollfd pfd[2];

			pfd[0].fd = chan.recvfd;
			pfd[0].events = POLLIN;
			pfd[1].fd = efd;
			pfd[1].events = POLLIN;
			rc = poll(pfd, 2, WORKER_IDLE_TRIM_MS);
			if (rc == -1 && errno != EINTR)
				fatal("poll");
			if (rc > 0 && (pfd[1].revents & POLLIN)) {
				ops->event(&chan);
				dirty = 1;
			}
			if (rc > 0 && (pfd[0].revents & (POLLIN | POLLHUP)))
				rc = ipc_chan_recv(&chan, &m, 0, &pid, err,
				    sizeof(err));
			else if (rc > 0)
				continue;
		} else
			rc = ipc_chan_recv(&chan, &m, 1, &pid, err,
			    sizeof(err));
		if (rc == -1) {
			log_debug("channel closed: %s", err);
			break;
		}
		if (rc == -2) {
			log_warnx("invalid message from supervisor: %s", err);
			continue;
		}
		if (rc == 0) {
			if (dirty)
				malloc_trim(0);
			dirty = 0;
			continue;
		}
		dirty = 1;
		if (m.type == IPC_SHUTDOWN) {
			ipc_msg_release(&m);
			break;
		}
		dispatch(ops, &chan, &m, &configured);
		ipc_msg_release(&m);
	}
	if (ops->fini != NULL)
		ops->fini();
	ipc_chan_close(&chan);
	nng_fini();
#ifdef VTW_SANITIZER_BUILD
	/* LeakSanitizer's exit-time check ptraces us from a helper task, which
	 * the seccomp filter does not allow; skip it when sandboxed (the test
	 * suite also runs the sanitizer build without the sandbox) */
	if (getenv("VTW_TEST_SANDBOX_DISABLE") == NULL)
		_exit(0);
#endif
	return 0;
}
