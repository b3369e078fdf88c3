/*
 * peer_testutil: peers and scratch space for the Criterion tests that talk
 * to a real server. See peer_testutil.h.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
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

#include "peer_testutil.h"

#define PT_MAX		8	/* peers, directories per test */
#define PT_STOP_MS	3000

static pid_t	pt_pids[PT_MAX];
static char	pt_dirs[PT_MAX][128];

int
pt_slow_factor(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL ? 10 : 1;
}

uint64_t
pt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
pt_python(void)
{
	const char *p = getenv("VTW_PYTHON");

	return p != NULL && *p != '\0' ? p : "/usr/bin/python3";
}

char *
pt_slurp(const char *path)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_not_null(buf);
	if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static void
rm_tree(const char *dir)
{
	struct dirent *de;
	char p[512];
	DIR *d;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

void
pt_tmpdir(char *dir, size_t len, const char *prefix)
{
	size_t i;

	snprintf(dir, len, "/tmp/%s.XXXXXX", prefix);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	for (i = 0; i < PT_MAX; i++)
		if (pt_dirs[i][0] == '\0') {
			snprintf(pt_dirs[i], sizeof(pt_dirs[i]), "%s", dir);
			return;
		}
	cr_assert_fail("more than %d temporary directories", PT_MAX);
}

void
pt_certs(const char *certs_sh, const char *dir)
{
	char logf[160], *out;
	pid_t pid;
	int st, fd;

	snprintf(logf, sizeof(logf), "%s/certs.log", dir);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if ((fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600)) !=
		    -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/bin/sh", "sh", certs_sh, dir, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		out = pt_slurp(logf);
		cr_log_error("certs.sh:\n%s", out);
		free(out);
		cr_assert_fail("certs.sh failed (status 0x%x)", st);
	}
}

pid_t
pt_spawn(const char *const *argv, const char *errf, int ready_ms, int *port)
{
	char line[128], *errs;
	struct pollfd pf;
	uint64_t deadline;
	size_t got = 0, i;
	int pfd[2], fd;
	ssize_t r;
	pid_t pid;

	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pfd[1], 1);
		if ((fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600)) !=
		    -1)
			dup2(fd, 2);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], (char *const *)(void *)argv);
		_exit(127);
	}
	for (i = 0; i < PT_MAX; i++)
		if (pt_pids[i] == 0) {
			pt_pids[i] = pid;
			break;
		}
	close(pfd[1]);
	deadline = pt_now_ms() + (uint64_t)ready_ms * pt_slow_factor();
	memset(line, 0, sizeof(line));
	while (strchr(line, '\n') == NULL && got < sizeof(line) - 1) {
		pf.fd = pfd[0];
		pf.events = POLLIN;
		if (pt_now_ms() >= deadline ||
		    poll(&pf, 1, (int)(deadline - pt_now_ms())) <= 0)
			break;
		r = read(pfd[0], line + got, sizeof(line) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(pfd[0]);	/* the peer prints nothing after READY */
	*port = 0;
	if (sscanf(line, "READY %d", port) != 1 || *port <= 0) {
		errs = pt_slurp(errf);
		cr_log_error("peer stderr:\n%s", errs);
		free(errs);
		cr_assert_fail("peer did not get ready: \"%s\"", line);
	}
	return pid;
}

void
pt_stop(pid_t *pid)
{
	uint64_t deadline;
	size_t i;
	int st;

	if (pid == NULL || *pid <= 0)
		return;
	kill(*pid, SIGTERM);
	deadline = pt_now_ms() + PT_STOP_MS;
	while (waitpid(*pid, &st, WNOHANG) != *pid) {
		if (pt_now_ms() >= deadline) {
			kill(*pid, SIGKILL);
			waitpid(*pid, &st, 0);
			break;
		}
		usleep(10000);
	}
	for (i = 0; i < PT_MAX; i++)
		if (pt_pids[i] == *pid)
			pt_pids[i] = 0;
	*pid = 0;
}

void
pt_cleanup(void)
{
	size_t i;

	for (i = 0; i < PT_MAX; i++)
		pt_stop(&pt_pids[i]);
	for (i = 0; i < PT_MAX; i++) {
		rm_tree(pt_dirs[i]);
		pt_dirs[i][0] = '\0';
	}
}

static int
loopback_socket(struct sockaddr_in *sa)
{
	socklen_t sl = sizeof(*sa);
	int s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_neq(s, -1);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(s, (struct sockaddr *)sa, sizeof(*sa)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)sa, &sl), 0);
	return s;
}

int
pt_dead_port(void)
{
	struct sockaddr_in sa;

	close(loopback_socket(&sa));
	return ntohs(sa.sin_port);
}

int
pt_mute_listener(int *port)
{
	struct sockaddr_in sa;
	int s = loopback_socket(&sa);

	cr_assert_eq(listen(s, 8), 0);
	*port = ntohs(sa.sin_port);
	return s;
}
