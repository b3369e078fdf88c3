/*
 * Rule notifications from a worker's other threads (ZooKeeper watches,
 * Kubernetes watch streams): ds_notify() queues a rule once and wakes the
 * main loop through a pipe; ds_notify_flush() sends one IPC_NOTIFY per
 * queued rule (dsworker.h).
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "dsworker.h"
#include "log.h"

static pthread_mutex_t	 nmu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t		 rules[DS_MAX_PENDING_NOTIFY];
static size_t		 nrules;
static int		 evpipe[2] = { -1, -1 };

int
ds_notify_init(void)
{
	if (evpipe[0] != -1)
		return 0;
	if (pipe2(evpipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("pipe2");
		return -1;
	}
	return 0;
}

int
ds_notify_ready(void)
{
	return evpipe[1] != -1;
}

void
ds_notify(uint32_t rule)
{
	size_t i;
	int wake;

	pthread_mutex_lock(&nmu);
	for (i = 0; i < nrules; i++)
		if (rules[i] == rule)
			break;
	wake = nrules == 0;
	if (i == nrules && nrules < DS_MAX_PENDING_NOTIFY)
		rules[nrules++] = rule;
	pthread_mutex_unlock(&nmu);
	if (wake && evpipe[1] != -1)
		(void)!write(evpipe[1], "w", 1);
}

int
ds_notify_fd(void)
{
	return evpipe[0];
}

void
ds_notify_flush(struct ipc_chan *chan)
{
	static uint32_t now[DS_MAX_PENDING_NOTIFY];	/* main thread only */
	struct ipc_msg m;
	char buf[64];
	size_t n, i;

	while (read(evpipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&nmu);
	n = nrules;
	memcpy(now, rules, n * sizeof(*now));
	nrules = 0;
	pthread_mutex_unlock(&nmu);
	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.type = IPC_NOTIFY;
		m.u.notify.rule_id = now[i];
		log_debug("rule %u: watch fired", now[i]);
		if (ipc_chan_send(chan, &m, 1) == -1)
			log_warnx("rule %u: cannot send the notification",
			    now[i]);
	}
}
