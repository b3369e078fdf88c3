/*
 * peer_testutil: what the Criterion tests that talk to a real peer process
 * share (test_grpc: a grpcio orchestrator; test_http: an http.server):
 * starting a peer that prints "READY <port>", stopping it, throwaway
 * directories and TLS material, ports that refuse or never answer, and
 * timing that stretches under valgrind.
 *
 * Each Criterion test is its own process: what pt_spawn() and pt_tmpdir()
 * register is that test's, and pt_cleanup() (from the suite's .fini, which
 * runs even after a failed assertion) stops and removes it.
 */
#ifndef VTW_PEER_TESTUTIL_H
#define VTW_PEER_TESTUTIL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* 10 under valgrind (vgpreload_* in LD_PRELOAD), else 1: timing bounds
 * are multiplied by it. */
int		 pt_slow_factor(void);
/* CLOCK_MONOTONIC in ms */
uint64_t	 pt_now_ms(void);
/* $VTW_PYTHON, else /usr/bin/python3 (Debian's, with the python3-*
 * packages the peers need) */
const char	*pt_python(void);
/* The contents of path, NUL-terminated ("" when unreadable). Must be freed
 * with free(). */
char		*pt_slurp(const char *path);
/* Makes a directory /tmp/<prefix>.XXXXXX (name in dir, len bytes) that
 * pt_cleanup() removes with the files in it. Asserts. */
void		 pt_tmpdir(char *dir, size_t len, const char *prefix);
/* Runs "sh certs_sh dir" (tests/integration/certs.sh), its output in
 * dir/certs.log. Asserts it succeeded. */
void		 pt_certs(const char *certs_sh, const char *dir);
/*
 * Starts argv (argv[0] a path; NULL-terminated) with stdout on a pipe and
 * stderr in errf, killed when the test process dies, and waits up to
 * ready_ms * pt_slow_factor() for its "READY <port>" line. Asserts that it
 * came (logging errf otherwise). Returns the pid and *port; stop it with
 * pt_stop() or leave it to pt_cleanup().
 */
pid_t		 pt_spawn(const char *const *argv, const char *errf,
		    int ready_ms, int *port);
/* SIGTERM, up to 3 s for it to exit, then SIGKILL; *pid becomes 0. A pid
 * of 0 is a no-op. */
void		 pt_stop(pid_t *pid);
/* Stops every process pt_spawn() started and removes every pt_tmpdir(). */
void		 pt_cleanup(void);
/* A loopback port nothing listens on (connections are refused). */
int		 pt_dead_port(void);
/* A loopback listener whose connections the kernel accepts and nobody
 * answers; returns its fd (close it), *port its port. */
int		 pt_mute_listener(int *port);

#endif
