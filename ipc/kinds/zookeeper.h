/*
 * The zookeeper kind's IPC messages: its datasource settings
 * (ConfDatasource.settings) and a poll's scope (PollRequest.scope), packed
 * and unpacked only here (proto/kinds/zookeeper.proto).
 *
 * pack: a malloc'd *out (free()), -1 on OOM. unpack: validates like
 * ipc_msg_decode() (enum ranges, UTF-8 of strings, lengths); 0, or -1 with
 * err; release with the matching _release() in both cases. The strings
 * and arrays of an unpacked struct are borrowed from priv until then.
 */
#ifndef VTW_IPC_KIND_ZOOKEEPER_H
#define VTW_IPC_KIND_ZOOKEEPER_H

#include "msg.h"

enum ipc_zookeeper_layout {
	IPC_ZOOKEEPER_SLASH = 0, IPC_ZOOKEEPER_SLASH_DOT = 1
};

struct ipc_zookeeper_settings {
	const char *const *hosts;	/* "host:port", ... */
	size_t		 nhosts;
	const char	*username, *password;	/* digest; password never
						 * logged */
	uint32_t	 session_timeout_ms;
	void		*priv;
};

struct ipc_zookeeper_scope {
	enum ipc_zookeeper_layout layout;
	int		 watch;
	void		*priv;
};

int	ipc_zookeeper_settings_pack(void **out, size_t *outlen,
	    const struct ipc_zookeeper_settings *);
int	ipc_zookeeper_settings_unpack(struct ipc_zookeeper_settings *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_zookeeper_settings_release(struct ipc_zookeeper_settings *);

int	ipc_zookeeper_scope_pack(void **out, size_t *outlen,
	    const struct ipc_zookeeper_scope *);
int	ipc_zookeeper_scope_unpack(struct ipc_zookeeper_scope *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_zookeeper_scope_release(struct ipc_zookeeper_scope *);

#endif
