/*
 * Every IPC message type, in one enum. The Envelope payload case (proto/vtw_ipc.proto)
 * must match the type; ipc/msg.c checks it.
 */
#ifndef VTW_IPC_H
#define VTW_IPC_H

#define IPC_PROTO_VERSION	3	/* 3: SHA-256 digests, truncated baseline values */
/* No message over this size, in either direction; larger results are chunked. */
#define IPC_MAX_MSG_BYTES	(1024 * 1024)
/* What a chunk aims for, leaving room for the envelope. */
#define IPC_CHUNK_BYTES		(IPC_MAX_MSG_BYTES - 64 * 1024)
/* Longest value sent whole; longer ones are truncated with length + digest. */
#define IPC_MAX_VALUE_BYTES	(256 * 1024)
#define IPC_MAX_KEY_BYTES	(64 * 1024)
/* extra keys a worker reports per poll, at most: at the cap the supervisor
 * says "at least" */
#define IPC_MAX_EXTRAS		100000

enum ipc_msg_type {
	IPC_NONE = 0,
	IPC_HELLO,		/* worker -> sup */
	IPC_CONF_PLATFORM,	/* sup -> git */
	IPC_CONF_DATASOURCE,	/* sup -> datasource worker */
	IPC_CONF_GIT,		/* sup -> git */
	IPC_CONF_DONE,		/* sup -> worker: configuration complete */
	IPC_BASELINE_REQUEST,	/* sup -> git */
	IPC_BASELINE_REPLY,	/* git -> sup, chunked */
	IPC_POLL_REQUEST,	/* sup -> datasource worker, chunked */
	IPC_POLL_REPLY,		/* datasource worker -> sup, chunked */
	IPC_SHUTDOWN,		/* sup -> worker */
	IPC_NOTIFY,		/* datasource worker -> sup, unsolicited */
	IPC_MSG_TYPE_MAX
};

const char *ipc_msg_type_name(unsigned int);

#endif
