/*
 * The testkv kind's IPC messages (a test-only kind: VTW_TEST_HOOKS builds):
 * its datasource settings (ConfDatasource.settings) and a poll's scope
 * (PollRequest.scope), packed and unpacked only here
 * (proto/kinds/testkv.proto). Same contract as the other kinds (see
 * kinds/redis.h).
 */
#ifndef VTW_IPC_KIND_TESTKV_H
#define VTW_IPC_KIND_TESTKV_H

#include "msg.h"

struct ipc_testkv_settings {
	const char	*dir;
	void		*priv;
};

struct ipc_testkv_scope {
	uint64_t	 max_file_bytes;
	void		*priv;
};

int	ipc_testkv_settings_pack(void **out, size_t *outlen,
	    const struct ipc_testkv_settings *);
int	ipc_testkv_settings_unpack(struct ipc_testkv_settings *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_testkv_settings_release(struct ipc_testkv_settings *);
int	ipc_testkv_scope_pack(void **out, size_t *outlen,
	    const struct ipc_testkv_scope *);
int	ipc_testkv_scope_unpack(struct ipc_testkv_scope *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_testkv_scope_release(struct ipc_testkv_scope *);

#endif
