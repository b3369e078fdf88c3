/*
 * The linux_server kind's IPC messages (see kinds/linux_server.h).
 */
#include <string.h>

#include "kinds/linux_server.h"
#include "kinds/linux_server.pb-c.h"
#include "pb.h"

typedef Vtw__Ipc__LinuxServer__Settings Settings;
typedef Vtw__Ipc__LinuxServer__Scope Scope;

#define LINUX_MAX_KEY_BYTES		(64 * 1024)
#define LINUX_MAX_KNOWN_HOSTS_BYTES	(4 * 1024 * 1024)

_Static_assert((int)IPC_LINUX_JSON ==
    (int)VTW__IPC__LINUX_SERVER__FORMAT__FORMAT_JSON, "ipc_linux_format");

int
ipc_linux_settings_pack(void **out, size_t *outlen,
    const struct ipc_linux_settings *s)
{
	Settings pb = VTW__IPC__LINUX_SERVER__SETTINGS__INIT;

	pb.ssh = s->ssh;
	pb.host = ipc_pb_str(s->host);
	pb.port = s->port;
	pb.username = ipc_pb_str(s->username);
	pb.password = ipc_pb_str(s->password);
	pb.ssh_key = ipc_pb_bin(s->ssh_key);
	pb.ssh_known_hosts = ipc_pb_bin(s->ssh_known_hosts);
	pb.max_file_bytes = s->max_file_bytes;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_linux_settings_unpack(struct ipc_linux_settings *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Settings *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(
	    &vtw__ipc__linux_server__settings__descriptor, in,
	    "linux_server settings", &out->priv, err, errlen)) == NULL)
		return -1;
	if (ipc_pb_check_len(pb->host, IPC_PB_NAME_MAX, "host", err,
	    errlen) == -1 ||
	    ipc_pb_check_max(pb->port, 65535, "port", err, errlen) == -1 ||
	    ipc_pb_check_len(pb->username, IPC_PB_NAME_MAX, "username", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->password, IPC_PB_SECRET_MAX, "password", err,
	    errlen) == -1 ||
	    ipc_pb_check_bin(&pb->ssh_key, LINUX_MAX_KEY_BYTES, "ssh key", err,
	    errlen) == -1 ||
	    ipc_pb_check_bin(&pb->ssh_known_hosts,
	    LINUX_MAX_KNOWN_HOSTS_BYTES, "known_hosts", err, errlen) == -1)
		return -1;
	out->ssh = pb->ssh;
	out->host = pb->host;
	out->port = pb->port;
	out->username = pb->username;
	out->password = pb->password;
	out->ssh_key = ipc_pb_bytes(pb->ssh_key);
	out->ssh_known_hosts = ipc_pb_bytes(pb->ssh_known_hosts);
	out->max_file_bytes = pb->max_file_bytes;
	return 0;
}

void
ipc_linux_settings_release(struct ipc_linux_settings *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}

int
ipc_linux_scope_pack(void **out, size_t *outlen,
    const struct ipc_linux_scope *s)
{
	Scope pb = VTW__IPC__LINUX_SERVER__SCOPE__INIT;

	pb.format = (Vtw__Ipc__LinuxServer__Format)s->format;
	return ipc_pb_pack(out, outlen, &pb.base, IPC_MAX_MSG_BYTES);
}

int
ipc_linux_scope_unpack(struct ipc_linux_scope *out,
    const struct ipc_bytes *in, char *err, size_t errlen)
{
	const Scope *pb;

	memset(out, 0, sizeof(*out));
	if ((pb = ipc_pb_unpack_bytes(
	    &vtw__ipc__linux_server__scope__descriptor, in,
	    "linux_server scope", &out->priv, err, errlen)) == NULL)
		return -1;
	out->format = (enum ipc_linux_format)pb->format;
	return 0;
}

void
ipc_linux_scope_release(struct ipc_linux_scope *s)
{
	ipc_pb_release(s, sizeof(*s), s->priv);
}
