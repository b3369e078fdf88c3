/*
 * ipc_chan: a message crosses, and closing a channel gives back every
 * descriptor it took (the supervisor opens one per worker start).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own */
}

static void
one_pair(const char *url, int exchange)
{
	struct ipc_chan l, d;
	struct ipc_msg m, r;
	char err[256];
	int pid;

	cr_assert_eq(ipc_chan_listen(&l, url, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ipc_chan_dial(&d, url, err, sizeof(err)), 0, "%s", err);
	if (exchange) {
		memset(&m, 0, sizeof(m));
		m.type = IPC_SHUTDOWN;
		cr_assert_eq(ipc_chan_send(&d, &m, 1), 0);
		cr_assert_eq(ipc_chan_set_recv_timeout(&l, 5000), 0);
		cr_assert_eq(ipc_chan_recv(&l, &r, 1, &pid, err, sizeof(err)),
		    1, "%s", err);
		cr_assert_eq(r.type, IPC_SHUTDOWN);
		cr_assert_eq(pid, getpid(), "peer pid %d, mine %d", pid, (int)getpid());
		ipc_msg_release(&r);
	}
	ipc_chan_close(&d);
	ipc_chan_close(&l);
}

Test(chan, message_crosses_with_peer_pid)
{
	char url[128];

	snprintf(url, sizeof(url), "ipc:///tmp/vtw-test-chan-%d", (int)getpid());
	one_pair(url, 1);
}

Test(chan, close_gives_back_every_descriptor)
{
	char url[128];
	int before, after, i;

	snprintf(url, sizeof(url), "ipc:///tmp/vtw-test-chan-%d", (int)getpid());
	one_pair(url, 1);	/* nng's own threads and pollers, once */
	before = count_fds();
	for (i = 0; i < 10; i++)
		one_pair(url, i % 2);
	/* nng tears pipes down on its own threads: poll until a deadline */
	for (i = 0; i < 300 && (after = count_fds()) > before; i++)
		usleep(10000);
	cr_assert_leq(after, before, "descriptors before %d, after ten "
	    "channels opened and closed %d", before, after);
}
