/*
 * The s3 kind's IPC messages: its datasource settings
 * (ConfDatasource.settings) and a poll's scope (PollRequest.scope), packed
 * and unpacked only here (proto/kinds/s3.proto).
 *
 * pack: a malloc'd *out (free()), -1 on OOM. unpack: validates like
 * ipc_msg_decode() (enum ranges, UTF-8 of strings, lengths); 0, or -1 with
 * err; release with the matching _release() in both cases. The strings of
 * an unpacked struct are borrowed from priv until then.
 */
#ifndef VTW_IPC_KIND_S3_H
#define VTW_IPC_KIND_S3_H

#include "msg.h"

enum ipc_s3_cred_source {
	IPC_S3_CRED_STATIC = 0, IPC_S3_CRED_CONTAINER = 1, IPC_S3_CRED_IMDS = 2
};

struct ipc_s3_settings {
	const char	*endpoint, *region;
	int		 path_style;
	/* secrets: never logged */
	const char	*access_key_id, *secret_access_key, *session_token;
	enum ipc_s3_cred_source cred_source;
	const char	*container_url, *container_token;
	const char	*imds_endpoint;
	const char	*ca_file;
	uint64_t	 max_object_bytes;
	const char	*cred_origin;
	void		*priv;
};

struct ipc_s3_scope {
	const char	*bucket, *prefix;
	int		 one_file_per_key;
	void		*priv;
};

int	ipc_s3_settings_pack(void **out, size_t *outlen,
	    const struct ipc_s3_settings *);
int	ipc_s3_settings_unpack(struct ipc_s3_settings *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_s3_settings_release(struct ipc_s3_settings *);

int	ipc_s3_scope_pack(void **out, size_t *outlen,
	    const struct ipc_s3_scope *);
int	ipc_s3_scope_unpack(struct ipc_s3_scope *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_s3_scope_release(struct ipc_s3_scope *);

#endif
