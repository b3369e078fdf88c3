/*
 * The s3 kind's IPC messages (see kinds/s3.h).
 */
#include <string.h>

#include "kinds/s3.h"
#include "kinds/s3.pb-c.h"
#include "pb.h"

typedef Vtw__Ipc__S3__Settings Settings;
typedef Vtw__Ipc__S3__Scope Scope;

#define S3_MAX_OBJECT_BYTES	(1024ull * 1024 * 1024)

_Static_assert((int)IPC_S3_CRED_IMDS ==
    (int)VTW__IPC__S3__CRED_SOURCE__CRED_IMDS, "ipc_s3_cred_source");

int
ipc_s3_settings_pack(void **out, size_t *outlen,
    const struct ipc_s3_settings *s)
{
	Settings pb = VTW__IPC__S3__SETTINGS__INIT;

	pb.endpoint = ipc_pb_str(s->endpoint);
	pb.region = ipc_pb_str(s->region);
	pb.path_style = s->path_style;
	pb.access_key_id = ipc_pb_str(s->access_key_id);
	pb.secret_access_key = ipc_pb_str(s->secret_access_key);
	pb.session_token = ipc_pb_str(s->session_token);
	pb.cred_source = (Vtw__Ipc__S3__CredSource)s->cred_source;
	pb.container_url = ipc_pb_str(s->container_url);
	pb.container_token = ipc_pb_str(s->container_token);
	pb.imds_endpoint = ipc_pb_str(s->imds_endpoint);
	pb.ca_file = ipc_pb_str(s->ca_file);
	pb.max_object_bytes = s->max_object_bytes;
	pb.cred_origin = ipc_pb_str(s->cred_origin);
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_s3_settings_unpack(struct ipc_s3_settings *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Settings *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__s3__settings__descriptor, in,
	    "s3 settings", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->endpoint, IPC_PB_NAME_MAX, "endpoint", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->region, IPC_PB_NAME_MAX, "region", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->access_key_id, IPC_PB_SECRET_MAX,
	    "access_key_id", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->secret_access_key, IPC_PB_SECRET_MAX,
	    "secret_access_key", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->session_token, IPC_PB_SECRET_MAX,
	    "session_token", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->container_url, IPC_PB_NAME_MAX,
	    "container_url", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->container_token, IPC_PB_SECRET_MAX,
	    "container_token", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->imds_endpoint, IPC_PB_NAME_MAX,
	    "imds_endpoint", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->ca_file, IPC_PB_NAME_MAX, "ca_file", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->cred_origin, IPC_PB_NAME_MAX, "cred_origin",
	    err, errlen) == -1 ||
	    ipc_pb_check_max(pb->max_object_bytes, S3_MAX_OBJECT_BYTES,
	    "max_object_bytes", err, errlen) == -1)
		return -1;
	out->endpoint = pb->endpoint;
	out->region = pb->region;
	out->path_style = pb->path_style;
	out->access_key_id = pb->access_key_id;
	out->secret_access_key = pb->secret_access_key;
	out->session_token = pb->session_token;
	out->cred_source = (enum ipc_s3_cred_source)pb->cred_source;
	out->container_url = pb->container_url;
	out->container_token = pb->container_token;
	out->imds_endpoint = pb->imds_endpoint;
	out->ca_file = pb->ca_file;
	out->max_object_bytes = pb->max_object_bytes;
	out->cred_origin = pb->cred_origin;
	return 0;
}

void
ipc_s3_settings_release(struct ipc_s3_settings *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}

int
ipc_s3_scope_pack(void **out, size_t *outlen, const struct ipc_s3_scope *s)
{
	Scope pb = VTW__IPC__S3__SCOPE__INIT;

	pb.bucket = ipc_pb_str(s->bucket);
	pb.prefix = ipc_pb_str(s->prefix);
	pb.one_file_per_key = s->one_file_per_key;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_s3_scope_unpack(struct ipc_s3_scope *out, const struct ipc_bytes *in,
    char *err, size_t errlen)
{
	const Scope *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__s3__scope__descriptor, in,
	    "s3 scope", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->bucket, IPC_PB_NAME_MAX, "bucket", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->prefix, IPC_PB_NAME_MAX, "prefix", err,
	    errlen) == -1)
		return -1;
	out->bucket = pb->bucket;
	out->prefix = pb->prefix;
	out->one_file_per_key = pb->one_file_per_key;
	return 0;
}

void
ipc_s3_scope_release(struct ipc_s3_scope *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}
