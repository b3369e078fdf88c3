/*
 * Worker sandbox: a syscall allowlist applied to every thread of the worker
 * (libseccomp, default action kill-process; see sandbox_seccomp.c), or
 * nothing (sandbox_null.c, chosen by CMake for builds without seccomp).
 */
#ifndef VTW_SANDBOX_H
#define VTW_SANDBOX_H

/* extra: syscall numbers (SCMP_SYS(x)) the worker type needs beyond the base
 * policy, terminated by -1. Returns 0, or -1 (caller fatals). */
int	sandbox_apply(const int *extra);
const char *sandbox_name(void);

#endif
