/*
 * The linux_server kind's IPC messages: its datasource settings
 * (ConfDatasource.settings) and a poll's scope (PollRequest.scope), packed
 * and unpacked only here (proto/kinds/linux_server.proto).
 *
 * pack: a malloc'd *out (free()), -1 on OOM. unpack: validates like
 * ipc_msg_decode() (enum ranges, UTF-8 of strings, lengths); 0, or -1 with
 * err; release with the matching _release() in both cases. The strings
 * and bytes of an unpacked struct are borrowed from priv until then.
 */
#ifndef VTW_IPC_KIND_LINUX_SERVER_H
#define VTW_IPC_KIND_LINUX_SERVER_H

#include "msg.h"

enum ipc_linux_format {
	IPC_LINUX_ENV = 0, IPC_LINUX_INI = 1, IPC_LINUX_PROPERTIES = 2,
	IPC_LINUX_YAML = 3, IPC_LINUX_JSON = 4
};

struct ipc_linux_settings {
	int		 ssh;		/* host/port are an SSH server */
	const char	*host;
	uint32_t	 port;
	const char	*username, *password;	/* ssh user; ssh_password */
	struct ipc_bytes ssh_key;	/* never logged */
	struct ipc_bytes ssh_known_hosts;
	uint64_t	 max_file_bytes;
	void		*priv;
};

struct ipc_linux_scope {
	enum ipc_linux_format format;
	void		*priv;
};

int	ipc_linux_settings_pack(void **out, size_t *outlen,
	    const struct ipc_linux_settings *);
int	ipc_linux_settings_unpack(struct ipc_linux_settings *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_linux_settings_release(struct ipc_linux_settings *);

int	ipc_linux_scope_pack(void **out, size_t *outlen,
	    const struct ipc_linux_scope *);
int	ipc_linux_scope_unpack(struct ipc_linux_scope *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_linux_scope_release(struct ipc_linux_scope *);

#endif
