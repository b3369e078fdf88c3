/*
 * The demotion sequence, written once for every worker:
 *   1. look the sandbox user up (NSS needs files we may not open later)
 *   2. if root: setgroups, setresgid, setresuid to that user, and verify
 *   3. parent-death signal (cleared by the credential change, so set here)
 *   4. rlimits: no core dumps, bounded descriptors
 *   5. PR_SET_NO_NEW_PRIVS
 *   6. sandbox_apply(): seccomp allowlist, default kill
 * Every step that fails is fatal: a worker never runs half-sandboxed.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "log.h"
#include "sandbox.h"
#include "worker.h"

#define WORKER_RLIMIT_NOFILE	256

void
worker_privdrop(const char *user, const int *extra)
{
	struct rlimit rl;
	struct passwd *pw;
	uid_t ruid, euid, suid;
	pid_t parent = getppid();

	if (geteuid() == 0) {
		if ((pw = getpwnam(user)) == NULL)
			fatalx("sandbox user '%s' not found", user);
		if (setgroups(1, &pw->pw_gid) == -1)
			fatal("setgroups");
		if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1)
			fatal("setresgid");
		if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			fatal("setresuid");
		if (getresuid(&ruid, &euid, &suid) == -1 ||
		    ruid != pw->pw_uid || euid != pw->pw_uid ||
		    suid != pw->pw_uid)
			fatalx("privilege drop to '%s' did not stick", user);
		if (setuid(0) != -1)
			fatalx("could regain root after dropping privileges");
	} else
		log_debug("not root: keeping uid %u", (unsigned)getuid());

#ifdef VTW_SANITIZER_BUILD
	/* LeakSanitizer ptraces our threads at exit; the uid change made us
	 * non-dumpable, which forbids that. Sanitizer builds only. */
	if (prctl(PR_SET_DUMPABLE, 1) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
#endif
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		fatal("prctl(PR_SET_PDEATHSIG)");
	if (getppid() != parent)
		fatalx("supervisor went away");

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit(RLIMIT_CORE)");
	rl.rlim_cur = rl.rlim_max = WORKER_RLIMIT_NOFILE;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
#ifdef VTW_TEST_HOOKS
		/* valgrind keeps descriptors of its own and refuses this */
		if (getenv("VTW_TEST_SANDBOX_DISABLE") != NULL)
			log_warnx("setrlimit(RLIMIT_NOFILE) refused (test run)");
		else
#endif
			fatal("setrlimit(RLIMIT_NOFILE)");
	}

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
#ifdef VTW_TEST_HOOKS
	if (getenv("VTW_TEST_SANDBOX_DISABLE") != NULL) {
		/* test builds only, for valgrind: it cannot run under seccomp */
		log_warnx("sandbox disabled by VTW_TEST_SANDBOX_DISABLE");
		return;
	}
#endif
	if (sandbox_apply(extra) == -1)
		fatal("sandbox_apply(%s)", sandbox_name());
}
