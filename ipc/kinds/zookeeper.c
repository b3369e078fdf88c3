/*
 * The zookeeper kind's IPC messages (see kinds/zookeeper.h).
 */
#include <string.h>

#include "kinds/zookeeper.h"
#include "kinds/zookeeper.pb-c.h"
#include "pb.h"

typedef Vtw__Ipc__Zookeeper__Settings Settings;
typedef Vtw__Ipc__Zookeeper__Scope Scope;

#define ZK_MAX_HOSTS	256

_Static_assert((int)IPC_ZOOKEEPER_SLASH_DOT ==
    (int)VTW__IPC__ZOOKEEPER__LAYOUT__LAYOUT_SLASH_DOT,
    "ipc_zookeeper_layout");

int
ipc_zookeeper_settings_pack(void **out, size_t *outlen,
    const struct ipc_zookeeper_settings *s)
{
	Settings pb = VTW__IPC__ZOOKEEPER__SETTINGS__INIT;

	pb.hosts = ipc_pb_strv(s->hosts);
	pb.n_hosts = s->nhosts;
	pb.username = ipc_pb_str(s->username);
	pb.password = ipc_pb_str(s->password);
	pb.session_timeout_ms = s->session_timeout_ms;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_zookeeper_settings_unpack(struct ipc_zookeeper_settings *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Settings *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(
	    &vtw__ipc__zookeeper__settings__descriptor, in,
	    "zookeeper settings", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_strv(pb->hosts, pb->n_hosts, ZK_MAX_HOSTS,
	    IPC_PB_NAME_MAX, "hosts", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->username, IPC_PB_NAME_MAX, "username", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->password, IPC_PB_SECRET_MAX, "password", err,
	    errlen) == -1 ||
	    ipc_pb_check_max(pb->session_timeout_ms, INT32_MAX,
	    "session_timeout_ms", err, errlen) == -1)
		return -1;
	out->hosts = (const char *const *)pb->hosts;
	out->nhosts = pb->n_hosts;
	out->username = pb->username;
	out->password = pb->password;
	out->session_timeout_ms = pb->session_timeout_ms;
	return 0;
}

void
ipc_zookeeper_settings_release(struct ipc_zookeeper_settings *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}

int
ipc_zookeeper_scope_pack(void **out, size_t *outlen,
    const struct ipc_zookeeper_scope *s)
{
	Scope pb = VTW__IPC__ZOOKEEPER__SCOPE__INIT;

	pb.layout = (Vtw__Ipc__Zookeeper__Layout)s->layout;
	pb.watch = s->watch;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_zookeeper_scope_unpack(struct ipc_zookeeper_scope *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Scope *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(&vtw__ipc__zookeeper__scope__descriptor,
	    in, "zookeeper scope", &out->priv, err, errlen)) == NULL)
		return -1;
	out->layout = (enum ipc_zookeeper_layout)pb->layout;
	out->watch = pb->watch;
	return 0;
}

void
ipc_zookeeper_scope_release(struct ipc_zookeeper_scope *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}
