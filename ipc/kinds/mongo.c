/*
 * The mongo kind's IPC messages (see kinds/mongo.h).
 */
#include <string.h>

#include "kinds/mongo.h"
#include "kinds/mongo.pb-c.h"
#include "pb.h"

typedef Vtw__Ipc__Mongo__Settings Settings;
typedef Vtw__Ipc__Mongo__Scope Scope;

_Static_assert((int)IPC_MONGO_FILE ==
    (int)VTW__IPC__MONGO__STRATEGY__STRATEGY_FILE, "ipc_mongo_strategy");

int
ipc_mongo_settings_pack(void **out, size_t *outlen,
    const struct ipc_mongo_settings *s)
{
	Settings pb = VTW__IPC__MONGO__SETTINGS__INIT;

	pb.uri = ipc_pb_str(s->uri);
	pb.database = ipc_pb_str(s->database);
	pb.tls = s->tls;
	pb.tls_insecure = s->tls_insecure;
	pb.tls_ca_file = ipc_pb_str(s->tls_ca_file);
	pb.server_selection_timeout_ms = s->server_selection_timeout_ms;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_mongo_settings_unpack(struct ipc_mongo_settings *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Settings *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__mongo__settings__descriptor,
	    in, "mongo settings", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->uri, IPC_PB_SECRET_MAX, "uri", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->database, IPC_PB_NAME_MAX, "database", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->tls_ca_file, IPC_PB_NAME_MAX, "tls_ca_file",
	    err, errlen) == -1)
		return -1;
	out->uri = pb->uri;
	out->database = pb->database;
	out->tls = pb->tls;
	out->tls_insecure = pb->tls_insecure;
	out->tls_ca_file = pb->tls_ca_file;
	out->server_selection_timeout_ms = pb->server_selection_timeout_ms;
	return 0;
}

void
ipc_mongo_settings_release(struct ipc_mongo_settings *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}

int
ipc_mongo_scope_pack(void **out, size_t *outlen,
    const struct ipc_mongo_scope *s)
{
	Scope pb = VTW__IPC__MONGO__SCOPE__INIT;

	pb.strategy = (Vtw__Ipc__Mongo__Strategy)s->strategy;
	pb.tenant = ipc_pb_str(s->tenant);
	pb.env = ipc_pb_str(s->env);
	pb.label = ipc_pb_str(s->label);
	pb.database = ipc_pb_str(s->database);
	pb.files = ipc_pb_strv(s->files);
	pb.n_files = s->nfiles;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_mongo_scope_unpack(struct ipc_mongo_scope *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Scope *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__mongo__scope__descriptor,
	    in, "mongo scope", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->tenant, IPC_PB_NAME_MAX, "tenant", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->env, IPC_PB_NAME_MAX, "env", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->label, IPC_PB_NAME_MAX, "label", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->database, IPC_PB_NAME_MAX, "database", err,
	    errlen) == -1 ||
	    ipc_pb_check_strv(pb->files, pb->n_files, IPC_PB_LIST_MAX,
	    IPC_PB_NAME_MAX, "files", err, errlen) == -1)
		return -1;
	out->strategy = (enum ipc_mongo_strategy)pb->strategy;
	out->tenant = pb->tenant;
	out->env = pb->env;
	out->label = pb->label;
	out->database = pb->database;
	out->files = (const char *const *)pb->files;
	out->nfiles = pb->n_files;
	return 0;
}

void
ipc_mongo_scope_release(struct ipc_mongo_scope *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}
