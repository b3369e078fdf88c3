/*
 * The redis kind's IPC messages (see kinds/redis.h).
 */
#include <string.h>

#include "kinds/redis.h"
#include "kinds/redis.pb-c.h"
#include "pb.h"

typedef Vtw__Ipc__Redis__Settings Settings;
typedef Vtw__Ipc__Redis__Scope Scope;

_Static_assert((int)IPC_REDIS_JSON ==
    (int)VTW__IPC__REDIS__STRUCTURE__STRUCTURE_JSON, "ipc_redis_structure");

int
ipc_redis_settings_pack(void **out, size_t *outlen,
    const struct ipc_redis_settings *s)
{
	Settings pb = VTW__IPC__REDIS__SETTINGS__INIT;

	pb.host = ipc_pb_str(s->host);
	pb.port = s->port;
	pb.password = ipc_pb_str(s->password);
	pb.db = s->db;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_redis_settings_unpack(struct ipc_redis_settings *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Settings *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__redis__settings__descriptor,
	    in, "redis settings", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->host, IPC_PB_NAME_MAX, "host", err,
	    errlen) == -1 ||
	    ipc_pb_check_max(pb->port, 65535, "port", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->password, IPC_PB_SECRET_MAX, "password", err,
	    errlen) == -1 ||
	    ipc_pb_check_max(pb->db, INT32_MAX, "db", err, errlen) == -1)
		return -1;
	out->host = pb->host;
	out->port = pb->port;
	out->password = pb->password;
	out->db = pb->db;
	return 0;
}

void
ipc_redis_settings_release(struct ipc_redis_settings *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}

int
ipc_redis_scope_pack(void **out, size_t *outlen,
    const struct ipc_redis_scope *s)
{
	Scope pb = VTW__IPC__REDIS__SCOPE__INIT;

	pb.structure = (Vtw__Ipc__Redis__Structure)s->structure;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_redis_scope_unpack(struct ipc_redis_scope *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Scope *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__redis__scope__descriptor,
	    in, "redis scope", &out->priv, err, errlen)) == NULL)
		return -1;
	out->structure = (enum ipc_redis_structure)pb->structure;
	return 0;
}

void
ipc_redis_scope_release(struct ipc_redis_scope *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}
