/*
 * The mongo kind's IPC messages: its datasource settings
 * (ConfDatasource.settings) and a poll's scope (PollRequest.scope), packed
 * and unpacked only here (proto/kinds/mongo.proto).
 *
 * pack: a malloc'd *out (free()), -1 on OOM. unpack: validates like
 * ipc_msg_decode() (enum ranges, UTF-8 of strings, lengths); 0, or -1 with
 * err; release with the matching _release() in both cases. The strings
 * and arrays of an unpacked struct are borrowed from priv until then.
 */
#ifndef VTW_IPC_KIND_MONGO_H
#define VTW_IPC_KIND_MONGO_H

#include "msg.h"

enum ipc_mongo_strategy { IPC_MONGO_DOCUMENT = 0, IPC_MONGO_FILE = 1 };

struct ipc_mongo_settings {
	const char	*uri, *database;	/* uri never logged */
	int		 tls, tls_insecure;
	const char	*tls_ca_file;
	uint32_t	 server_selection_timeout_ms;
	void		*priv;
};

struct ipc_mongo_scope {
	enum ipc_mongo_strategy strategy;
	const char	*tenant, *env, *label;	/* _vt_tenant, _vt_env,
						 * _vt_datasource */
	const char	*database;		/* the rule's; "" = the
						 * datasource's */
	const char *const *files;		/* file strategy: _vt_file
						 * values */
	size_t		 nfiles;
	void		*priv;
};

int	ipc_mongo_settings_pack(void **out, size_t *outlen,
	    const struct ipc_mongo_settings *);
int	ipc_mongo_settings_unpack(struct ipc_mongo_settings *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_mongo_settings_release(struct ipc_mongo_settings *);

int	ipc_mongo_scope_pack(void **out, size_t *outlen,
	    const struct ipc_mongo_scope *);
int	ipc_mongo_scope_unpack(struct ipc_mongo_scope *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_mongo_scope_release(struct ipc_mongo_scope *);

#endif
