/*
 * The testkv kind's IPC messages (see kinds/testkv.h).
 */
#include <string.h>

#include "kinds/testkv.h"
#include "kinds/testkv.pb-c.h"
#include "pb.h"

typedef Vtw__Ipc__Testkv__Settings Settings;
typedef Vtw__Ipc__Testkv__Scope Scope;

int
ipc_testkv_settings_pack(void **out, size_t *outlen,
    const struct ipc_testkv_settings *s)
{
	Settings pb = VTW__IPC__TESTKV__SETTINGS__INIT;

	pb.dir = ipc_pb_str(s->dir);
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_testkv_settings_unpack(struct ipc_testkv_settings *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Settings *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__testkv__settings__descriptor,
	    in, "testkv settings", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->dir, IPC_PB_NAME_MAX, "dir", err, errlen) ==
	    -1)
		return -1;
	out->dir = pb->dir;
	return 0;
}

void
ipc_testkv_settings_release(struct ipc_testkv_settings *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}

int
ipc_testkv_scope_pack(void **out, size_t *outlen,
    const struct ipc_testkv_scope *s)
{
	Scope pb = VTW__IPC__TESTKV__SCOPE__INIT;

	pb.max_file_bytes = s->max_file_bytes;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_testkv_scope_unpack(struct ipc_testkv_scope *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Scope *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__testkv__scope__descriptor,
	    in, "testkv scope", &out->priv, err, errlen)) == NULL)
		return -1;
	out->max_file_bytes = pb->max_file_bytes;
	return 0;
}

void
ipc_testkv_scope_release(struct ipc_testkv_scope *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}
