/*
 * The vercel kind's IPC messages: its datasource settings
 * (ConfDatasource.settings) and a poll's scope (PollRequest.scope), packed
 * and unpacked only here (proto/kinds/vercel.proto).
 *
 * pack: a malloc'd *out (free()), -1 on OOM. unpack: validates like
 * ipc_msg_decode() (UTF-8 of strings, lengths, list sizes); 0, or -1 with
 * err; release with the matching _release() in both cases. The strings of
 * an unpacked struct are borrowed from priv until then.
 */
#ifndef VTW_IPC_KIND_VERCEL_H
#define VTW_IPC_KIND_VERCEL_H

#include "msg.h"

#define IPC_VERCEL_TARGETS_MAX	16
#define IPC_VERCEL_GLOBS_MAX	1024

struct ipc_vercel_settings {
	const char	*api_url;
	const char	*token;		/* secret: never logged */
	const char	*team_id, *team_slug;
	const char	*ca_file;
	uint64_t	 max_response_bytes;
	void		*priv;
};

struct ipc_vercel_scope {
	const char	*project_id;
	const char *const *targets;
	size_t		 ntargets;
	const char *const *sensitive_keys;
	size_t		 nsensitive;
	void		*priv;
};

int	ipc_vercel_settings_pack(void **out, size_t *outlen,
	    const struct ipc_vercel_settings *);
int	ipc_vercel_settings_unpack(struct ipc_vercel_settings *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_vercel_settings_release(struct ipc_vercel_settings *);

int	ipc_vercel_scope_pack(void **out, size_t *outlen,
	    const struct ipc_vercel_scope *);
int	ipc_vercel_scope_unpack(struct ipc_vercel_scope *out,
	    const struct ipc_bytes *in, char *err, size_t errlen);
void	ipc_vercel_scope_release(struct ipc_vercel_scope *);

#endif
