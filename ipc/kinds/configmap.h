/*
 * The configmap kind's IPC messages: its datasource settings
 * (ConfDatasource.settings) and a poll's scope (PollRequest.scope), packed
 * and unpacked only here (proto/kinds/configmap.proto).
 *
 * pack: a malloc'd *out (free()), -1 on OOM. unpack: validates like
 * ipc_msg_decode() (UTF-8 of strings, lengths, sizes); 0, or -1 with err;
 * release with the matching _release() in both cases. The strings and
 * bytes of an unpacked struct are borrowed from priv until then.
 */
#ifndef VTW_IPC_KIND_CONFIGMAP_H
#define VTW_IPC_KIND_CONFIGMAP_H

#include "msg.h"

struct ipc_cm_settings {
	const char	*api_server;
	const char	*token;		/* secret: never logged */
	const char	*token_file;
	struct ipc_bytes ca_pem, cert_pem, key_pem;	/* key: a secret */
	int		 insecure_skip_tls_verify;
	uint64_t	 max_response_bytes;
	void		*priv;
};

struct ipc_cm_scope {
	const char	*namespace_, *name;
	int		 watch;
	void		*priv;
};

int	ipc_cm_settings_pack(void **out, size_t *outlen,
	    const struct ipc_cm_settings *);
int	ipc_cm_settings_unpack(struct ipc_cm_settings *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_cm_settings_release(struct ipc_cm_settings *);

int	ipc_cm_scope_pack(void **out, size_t *outlen,
	    const struct ipc_cm_scope *);
int	ipc_cm_scope_unpack(struct ipc_cm_scope *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_cm_scope_release(struct ipc_cm_scope *);

#endif
