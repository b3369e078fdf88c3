/*
 * The configmap kind's IPC messages (see kinds/configmap.h).
 */
#include <string.h>

#include "kinds/configmap.h"
#include "kinds/configmap.pb-c.h"
#include "pb.h"

typedef Vtw__Ipc__Configmap__Settings Settings;
typedef Vtw__Ipc__Configmap__Scope Scope;

#define CM_MAX_CA_BYTES		(512 * 1024)
#define CM_MAX_PEM_BYTES	(64 * 1024)
#define CM_MAX_RESPONSE_BYTES	(1024ull * 1024 * 1024)

int
ipc_cm_settings_pack(void **out, size_t *outlen,
    const struct ipc_cm_settings *s)
{
	Settings pb = VTW__IPC__CONFIGMAP__SETTINGS__INIT;

	pb.api_server = ipc_pb_str(s->api_server);
	pb.token = ipc_pb_str(s->token);
	pb.token_file = ipc_pb_str(s->token_file);
	pb.ca_pem = ipc_pb_bin(s->ca_pem);
	pb.cert_pem = ipc_pb_bin(s->cert_pem);
	pb.key_pem = ipc_pb_bin(s->key_pem);
	pb.insecure_skip_tls_verify = s->insecure_skip_tls_verify;
	pb.max_response_bytes = s->max_response_bytes;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_cm_settings_unpack(struct ipc_cm_settings *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Settings *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__configmap__settings__descriptor,
	    in, "configmap settings", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->api_server, IPC_PB_NAME_MAX, "api_server",
	    err, errlen) == -1 ||
	    ipc_pb_check_len(pb->token, IPC_PB_SECRET_MAX, "token", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->token_file, IPC_PB_NAME_MAX, "token_file",
	    err, errlen) == -1 ||
	    ipc_pb_check_bin(&pb->ca_pem, CM_MAX_CA_BYTES, "ca", err,
	    errlen) == -1 ||
	    ipc_pb_check_bin(&pb->cert_pem, CM_MAX_PEM_BYTES, "client cert",
	    err, errlen) == -1 ||
	    ipc_pb_check_bin(&pb->key_pem, CM_MAX_PEM_BYTES, "client key",
	    err, errlen) == -1 ||
	    ipc_pb_check_max(pb->max_response_bytes, CM_MAX_RESPONSE_BYTES,
	    "max_response_bytes", err, errlen) == -1)
		return -1;
	out->api_server = pb->api_server;
	out->token = pb->token;
	out->token_file = pb->token_file;
	out->ca_pem = ipc_pb_bytes(pb->ca_pem);
	out->cert_pem = ipc_pb_bytes(pb->cert_pem);
	out->key_pem = ipc_pb_bytes(pb->key_pem);
	out->insecure_skip_tls_verify = pb->insecure_skip_tls_verify;
	out->max_response_bytes = pb->max_response_bytes;
	return 0;
}

void
ipc_cm_settings_release(struct ipc_cm_settings *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}

int
ipc_cm_scope_pack(void **out, size_t *outlen, const struct ipc_cm_scope *s)
{
	Scope pb = VTW__IPC__CONFIGMAP__SCOPE__INIT;

	pb.ns = ipc_pb_str(s->namespace_);
	pb.name = ipc_pb_str(s->name);
	pb.watch = s->watch != 0;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_cm_scope_unpack(struct ipc_cm_scope *out, const struct ipc_bytes *in,
    char *err, size_t errlen)
{
	const Scope *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__configmap__scope__descriptor,
	    in, "configmap scope", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->ns, IPC_PB_NAME_MAX, "namespace", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->name, IPC_PB_NAME_MAX, "name", err,
	    errlen) == -1)
		return -1;
	out->namespace_ = pb->ns;
	out->name = pb->name;
	out->watch = pb->watch;
	return 0;
}

void
ipc_cm_scope_release(struct ipc_cm_scope *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}
