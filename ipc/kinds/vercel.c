/*
 * The vercel kind's IPC messages (see kinds/vercel.h).
 */
#include <string.h>

#include "kinds/vercel.h"
#include "kinds/vercel.pb-c.h"
#include "pb.h"

typedef Vtw__Ipc__Vercel__Settings Settings;
typedef Vtw__Ipc__Vercel__Scope Scope;

#define VERCEL_MAX_RESPONSE_BYTES	(1024ull * 1024 * 1024)

int
ipc_vercel_settings_pack(void **out, size_t *outlen,
    const struct ipc_vercel_settings *s)
{
	Settings pb = VTW__IPC__VERCEL__SETTINGS__INIT;

	pb.api_url = ipc_pb_str(s->api_url);
	pb.token = ipc_pb_str(s->token);
	pb.team_id = ipc_pb_str(s->team_id);
	pb.team_slug = ipc_pb_str(s->team_slug);
	pb.ca_file = ipc_pb_str(s->ca_file);
	pb.max_response_bytes = s->max_response_bytes;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_vercel_settings_unpack(struct ipc_vercel_settings *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Settings *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__vercel__settings__descriptor,
	    in, "vercel settings", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->api_url, IPC_PB_NAME_MAX, "api_url", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->token, IPC_PB_SECRET_MAX, "token", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->team_id, IPC_PB_NAME_MAX, "team_id", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->team_slug, IPC_PB_NAME_MAX, "team_slug", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->ca_file, IPC_PB_NAME_MAX, "ca_file", err,
	    errlen) == -1 ||
	    ipc_pb_check_max(pb->max_response_bytes, VERCEL_MAX_RESPONSE_BYTES,
	    "max_response_bytes", err, errlen) == -1)
		return -1;
	out->api_url = pb->api_url;
	out->token = pb->token;
	out->team_id = pb->team_id;
	out->team_slug = pb->team_slug;
	out->ca_file = pb->ca_file;
	out->max_response_bytes = pb->max_response_bytes;
	return 0;
}

void
ipc_vercel_settings_release(struct ipc_vercel_settings *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}

int
ipc_vercel_scope_pack(void **out, size_t *outlen,
    const struct ipc_vercel_scope *s)
{
	Scope pb = VTW__IPC__VERCEL__SCOPE__INIT;

	pb.project_id = ipc_pb_str(s->project_id);
	pb.n_targets = s->ntargets;
	pb.targets = ipc_pb_strv(s->targets);
	pb.n_sensitive_keys = s->nsensitive;
	pb.sensitive_keys = ipc_pb_strv(s->sensitive_keys);
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_vercel_scope_unpack(struct ipc_vercel_scope *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Scope *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__vercel__scope__descriptor, in,
	    "vercel scope", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->project_id, IPC_PB_NAME_MAX, "project_id",
	    err, errlen) == -1 ||
	    ipc_pb_check_strv(pb->targets, pb->n_targets,
	    IPC_VERCEL_TARGETS_MAX, IPC_PB_NAME_MAX, "targets", err,
	    errlen) == -1 ||
	    ipc_pb_check_strv(pb->sensitive_keys, pb->n_sensitive_keys,
	    IPC_VERCEL_GLOBS_MAX, IPC_PB_NAME_MAX, "sensitive_keys", err,
	    errlen) == -1)
		return -1;
	out->project_id = pb->project_id;
	out->targets = (const char *const *)pb->targets;
	out->ntargets = pb->n_targets;
	out->sensitive_keys = (const char *const *)pb->sensitive_keys;
	out->nsensitive = pb->n_sensitive_keys;
	return 0;
}

void
ipc_vercel_scope_release(struct ipc_vercel_scope *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}
