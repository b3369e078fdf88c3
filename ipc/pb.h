/*
 * protobuf-c helpers for ipc/ alone (msg.c and kinds/<kind>.c, the only
 * protobuf-c users): packing with a size cap, and unpacking untrusted
 * bytes with the validation every decoder shares. ipc_pb_check() walks a
 * message through its descriptor: every string field (proto3 `string`,
 * singular or repeated, in sub-messages too) must be valid UTF-8, every
 * enum field a declared value; bytes fields are left to the caller's
 * length caps.
 */
#ifndef VTW_PB_H
#define VTW_PB_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "msg.h"

/* Caps a decoder applies beyond the message size. */
#define IPC_PB_NAME_MAX		4096	/* names, hosts, paths, messages */
#define IPC_PB_SECRET_MAX	(64 * 1024)	/* passwords, URIs, keys */
#define IPC_PB_LIST_MAX		65536	/* entries of a repeated field */

/* protobuf-c wants non-const pointers; it never writes through them */
char			*ipc_pb_str(const char *);
char			**ipc_pb_strv(const char *const *);
ProtobufCBinaryData	 ipc_pb_bin(struct ipc_bytes);
struct ipc_bytes	 ipc_pb_bytes(ProtobufCBinaryData);

/* m packed into a malloc'd *out (free()); -1 on OOM or over max bytes. */
int	ipc_pb_pack(void **out, size_t *outlen, const ProtobufCMessage *m,
	    size_t max);
/* Unpack len bytes of desc and ipc_pb_check() them; NULL with err
 * (what names the message). Free with ipc_pb_free(). */
ProtobufCMessage *ipc_pb_unpack(const ProtobufCMessageDescriptor *desc,
	    const void *buf, size_t len, size_t max, const char *what,
	    char *err, size_t errlen);
/* A kind's message in: the unpacked message (also in *priv, NULL on
 * failure) or NULL with err. */
void	*ipc_pb_unpack_bytes(const ProtobufCMessageDescriptor *desc,
	    const struct ipc_bytes *in, const char *what, void **priv,
	    char *err, size_t errlen);
void	ipc_pb_free(void *unpacked);
/* ipc_pb_free(*priv), then zero the size bytes of the struct s */
void	ipc_pb_release(void *s, size_t size, void *priv);
int	ipc_pb_check(const ProtobufCMessage *, const char *what, char *err,
	    size_t errlen);

/* Caps: 0 or -1 with "what ..." in err. */
int	ipc_pb_check_len(const char *s, size_t max, const char *what,
	    char *err, size_t errlen);
int	ipc_pb_check_strv(char *const *v, size_t n, size_t maxn, size_t max,
	    const char *what, char *err, size_t errlen);
int	ipc_pb_check_max(uint64_t v, uint64_t max, const char *what,
	    char *err, size_t errlen);
int	ipc_pb_check_bin(const ProtobufCBinaryData *, size_t max,
	    const char *what, char *err, size_t errlen);

#endif
