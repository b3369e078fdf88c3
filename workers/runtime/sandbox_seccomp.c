/*
 * seccomp allowlist for workers, with libseccomp (arch checks and
 * multiplexed syscalls handled by the library). Default action: kill the
 * process (the supervisor sees SIGSYS). Policy in const tables grouped by
 * purpose; each worker type adds its own through its ops table.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

/* memory, time, threads, signals, process exit */
static const int base_runtime[] = {
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(futex),
	SCMP_SYS(get_robust_list), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),
	SCMP_SYS(time), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(tgkill),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(restart_syscall), SCMP_SYS(getrandom), SCMP_SYS(uname),
	SCMP_SYS(sysinfo), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
	SCMP_SYS(membarrier), SCMP_SYS(set_tid_address),
	-1
};

/* descriptors, files (read side), polling */
static const int base_io[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(close), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(lseek), SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
	SCMP_SYS(getdents64), SCMP_SYS(getcwd), SCMP_SYS(fcntl), SCMP_SYS(dup),
	SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime),
	-1
};

/* network client side (socket() is argument-filtered below) */
static const int base_net[] = {
	SCMP_SYS(connect), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmmsg),
	SCMP_SYS(recvmmsg), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown),
	SCMP_SYS(bind),
	-1
};

#ifdef VTW_TEST_HOOKS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Debug mode (test builds, VTW_TEST_SECCOMP_TRAP set): name the syscall
 * that was refused instead of dying silently. */
static void
sandbox_sigsys(int sig, siginfo_t *si, void *uc)
{
	char buf[96];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(buf, sizeof(buf), "seccomp: refused syscall %d\n",
	    si->si_syscall);
	if (n > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n);
	_exit(99);
}
#endif

static int
add_list(scmp_filter_ctx ctx, const int *list)
{
	int rc;

	for (; *list != -1; list++) {
		if (*list < 0)
			continue;	/* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, *list, 0)) < 0) {
			errno = -rc;
			return -1;
		}
	}
	return 0;
}

int
sandbox_apply(const int *extra)
{
	scmp_filter_ctx ctx;
	int rc = -1;
	/* AF_NETLINK: getaddrinfo() asks the kernel for local addresses */
	const int families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };
	size_t i;

	uint32_t deflt = SCMP_ACT_KILL_PROCESS;

#ifdef VTW_TEST_HOOKS
	if (getenv("VTW_TEST_SECCOMP_TRAP") != NULL) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sandbox_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSYS, &sa, NULL);
		deflt = SCMP_ACT_TRAP;
	}
#endif
	if ((ctx = seccomp_init(deflt)) == NULL)
		return -1;
	/* every thread (nng's included) gets the filter */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0)
		goto out;
	if (add_list(ctx, base_runtime) == -1 || add_list(ctx, base_io) == -1 ||
	    add_list(ctx, base_net) == -1)
		goto out;
	if (extra != NULL && add_list(ctx, extra) == -1)
		goto out;
	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i])) < 0)
			goto out;
	/* new threads only, never new processes */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) < 0)
		goto out;
	/* glibc falls back to clone() when clone3 is unavailable */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0) < 0)
		goto out;
	/* harmless probes: answer, do not kill */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_NE, (scmp_datum_t)FIONREAD)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)FIONREAD)) < 0)
		goto out;
#ifndef VTW_SANITIZER_BUILD
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 0) < 0)
		goto out;
#else
	/* LeakSanitizer stops the world with a tracer task at exit */
	{
		static const int san[] = { SCMP_SYS(ptrace), SCMP_SYS(wait4),
		    SCMP_SYS(prctl),
		    SCMP_SYS(waitid), SCMP_SYS(kill), SCMP_SYS(mincore), -1 };

		if (add_list(ctx, san) == -1 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)) < 0)
			goto out;
	}
#endif
	if (seccomp_load(ctx) < 0)
		goto out;
	rc = 0;
 out:
	seccomp_release(ctx);
	return rc;
}

const char *
sandbox_name(void)
{
	return "seccomp";
}
