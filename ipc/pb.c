/*
 * protobuf-c helpers shared by the IPC codecs (see pb.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

#define PB_MAX_DEPTH	8	/* our messages nest 3 deep */

char *
ipc_pb_str(const char *p)
{
	return (char *)(uintptr_t)(p ? p : "");
}

char **
ipc_pb_strv(const char *const *v)
{
	return (char **)(uintptr_t)v;
}

ProtobufCBinaryData
ipc_pb_bin(struct ipc_bytes b)
{
	ProtobufCBinaryData d;

	d.data = (uint8_t *)(uintptr_t)b.p;
	d.len = b.len;
	return d;
}

struct ipc_bytes
ipc_pb_bytes(ProtobufCBinaryData d)
{
	struct ipc_bytes b;

	b.p = (const char *)d.data;
	b.len = d.len;
	return b;
}

int
ipc_pb_pack(void **out, size_t *outlen, const ProtobufCMessage *m, size_t max)
{
	size_t len;
	uint8_t *buf;

	*out = NULL;
	*outlen = 0;
	len = protobuf_c_message_get_packed_size(m);
	if (len > max)
		return -1;
	if ((buf = malloc(len ? len : 1)) == NULL)
		return -1;
	if (protobuf_c_message_pack(m, buf) != len) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

ProtobufCMessage *
ipc_pb_unpack(const ProtobufCMessageDescriptor *desc, const void *buf,
    size_t len, size_t max, const char *what, char *err, size_t errlen)
{
	ProtobufCMessage *m;

	if (len > max) {
		snprintf(err, errlen, "%s of %zu bytes exceeds %zu", what, len,
		    max);
		return NULL;
	}
	if (buf == NULL)
		buf = "";
	m = protobuf_c_message_unpack(desc, NULL, len, buf);
	if (m == NULL) {
		snprintf(err, errlen, "undecodable %s (%zu bytes)", what, len);
		return NULL;
	}
	if (ipc_pb_check(m, what, err, errlen) == -1) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

void *
ipc_pb_unpack_bytes(const ProtobufCMessageDescriptor *desc,
    const struct ipc_bytes *in, const char *what, void **priv, char *err,
    size_t errlen)
{
	*priv = ipc_pb_unpack(desc, in->p, in->len, IPC_MAX_MSG_BYTES, what,
	    err, errlen);
	return *priv;
}

void
ipc_pb_free(void *unpacked)
{
	if (unpacked != NULL)
		protobuf_c_message_free_unpacked(unpacked, NULL);
}

void
ipc_pb_release(void *s, size_t size, void *priv)
{
	ipc_pb_free(priv);
	memset(s, 0, size);
}

static int check_msg(const ProtobufCMessage *, const char *, int, char *,
    size_t);

/* One value of field f at p (a string, enum or message slot). */
static int
check_value(const ProtobufCFieldDescriptor *f, const void *p, size_t idx,
    const char *what, int depth, char *err, size_t errlen)
{
	const char *s;
	const ProtobufCMessage *sub;
	int v;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		memcpy(&s, p, sizeof(s));
		if (s != NULL &&
		    ipc_utf8_invalid_at(s, strlen(s)) != (size_t)-1) {
			snprintf(err, errlen, "%s: %s[%zu] is not valid UTF-8",
			    what, f->name, idx);
			return -1;
		}
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		memcpy(&v, p, sizeof(v));
		if (protobuf_c_enum_descriptor_get_value(f->descriptor, v) ==
		    NULL) {
			snprintf(err, errlen, "%s: %s %d out of range", what,
			    f->name, v);
			return -1;
		}
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		memcpy(&sub, p, sizeof(sub));
		if (sub == NULL) {
			if (f->label != PROTOBUF_C_LABEL_REPEATED)
				return 0;	/* not set */
			snprintf(err, errlen, "%s: %s[%zu] is null", what,
			    f->name, idx);
			return -1;
		}
		return check_msg(sub, what, depth + 1, err, errlen);
	default:
		return 0;	/* numbers, bools; bytes: the caller's caps */
	}
}

static size_t
value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 0;	/* not checked */
	}
}

static int
check_msg(const ProtobufCMessage *m, const char *what, int depth, char *err,
    size_t errlen)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *f;
	const char *base = (const char *)m, *arr;
	uint32_t ocase;
	size_t i, j, n, sz;

	if (depth > PB_MAX_DEPTH) {
		snprintf(err, errlen, "%s: nested too deep", what);
		return -1;
	}
	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		if ((sz = value_size(f)) == 0)
			continue;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			memcpy(&ocase, base + f->quantifier_offset,
			    sizeof(ocase));
			if (ocase != f->id)
				continue;
		}
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			if (check_value(f, base + f->offset, 0, what, depth,
			    err, errlen) == -1)
				return -1;
			continue;
		}
		memcpy(&n, base + f->quantifier_offset, sizeof(n));
		memcpy(&arr, base + f->offset, sizeof(arr));
		if (n > 0 && arr == NULL) {
			snprintf(err, errlen, "%s: %s has no values", what,
			    f->name);
			return -1;
		}
		for (j = 0; j < n; j++)
			if (check_value(f, arr + j * sz, j, what, depth, err,
			    errlen) == -1)
				return -1;
	}
	return 0;
}

int
ipc_pb_check(const ProtobufCMessage *m, const char *what, char *err,
    size_t errlen)
{
	return check_msg(m, what, 0, err, errlen);
}

int
ipc_pb_check_len(const char *s, size_t max, const char *what, char *err,
    size_t errlen)
{
	if (strnlen(s, max + 1) > max) {
		snprintf(err, errlen, "%s longer than %zu bytes", what, max);
		return -1;
	}
	return 0;
}

int
ipc_pb_check_strv(char *const *v, size_t n, size_t maxn, size_t max,
    const char *what, char *err, size_t errlen)
{
	size_t i;

	if (n > maxn) {
		snprintf(err, errlen, "%zu %s, more than %zu", n, what, maxn);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (ipc_pb_check_len(v[i], max, what, err, errlen) == -1)
			return -1;
	return 0;
}

int
ipc_pb_check_max(uint64_t v, uint64_t max, const char *what, char *err,
    size_t errlen)
{
	if (v > max) {
		snprintf(err, errlen, "%s %llu out of range", what,
		    (unsigned long long)v);
		return -1;
	}
	return 0;
}

int
ipc_pb_check_bin(const ProtobufCBinaryData *b, size_t max, const char *what,
    char *err, size_t errlen)
{
	if (b->len > max || (b->len > 0 && b->data == NULL)) {
		snprintf(err, errlen, "%s of %zu bytes exceeds %zu", what,
		    b->len, max);
		return -1;
	}
	return 0;
}
