/*
 * The redis kind's IPC messages: its datasource settings
 * (ConfDatasource.settings) and a poll's scope (PollRequest.scope), packed
 * and unpacked only here (proto/kinds/redis.proto).
 *
 * pack: a malloc'd *out (free()), -1 on OOM. unpack: validates like
 * ipc_msg_decode() (enum ranges, UTF-8 of strings, lengths); 0, or -1 with
 * err; release with the matching _release() in both cases. The strings of
 * an unpacked struct are borrowed from priv until then.
 */
#ifndef VTW_IPC_KIND_REDIS_H
#define VTW_IPC_KIND_REDIS_H

#include "msg.h"

enum ipc_redis_structure {
	IPC_REDIS_HASH = 0, IPC_REDIS_STRING = 1, IPC_REDIS_JSON = 2
};

struct ipc_redis_settings {
	const char	*host;
	uint32_t	 port;
	const char	*password;	/* never logged */
	uint32_t	 db;
	void		*priv;
};

struct ipc_redis_scope {
	enum ipc_redis_structure structure;
	void		*priv;
};

int	ipc_redis_settings_pack(void **out, size_t *outlen,
	    const struct ipc_redis_settings *);
int	ipc_redis_settings_unpack(struct ipc_redis_settings *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_redis_settings_release(struct ipc_redis_settings *);

int	ipc_redis_scope_pack(void **out, size_t *outlen,
	    const struct ipc_redis_scope *);
int	ipc_redis_scope_unpack(struct ipc_redis_scope *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_redis_scope_release(struct ipc_redis_scope *);

#endif
