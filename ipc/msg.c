/*
 * IPC envelope codec (see msg.h). One small encode/decode pair per message
 * type, listed once in msg_types[] (indexed by enum ipc_msg_type) with the
 * type's name and Envelope payload case. What every decoder shares is done
 * before its own function runs: the size cap, the envelope, the payload
 * case, and (ipc_pb_check) UTF-8 of every string field and the range of
 * every enum field. A decode function adds the message's own caps and
 * consistency checks and fills the C struct.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "pb.h"
#include "vtw_ipc.pb-c.h"

typedef Vtw__Ipc__Envelope Envelope;

#define KIND_MAX_BYTES		32
#define COMMIT_MAX_BYTES	64
#define ERROR_MAX_BYTES		4096

/* the C enums are the proto enums */
_Static_assert((int)IPC_BL_ERROR == (int)VTW__IPC__BASELINE_STATUS__BASELINE_ERROR,
    "enum ipc_baseline_status");
_Static_assert((int)IPC_FETCH_TIMEOUT ==
    (int)VTW__IPC__FETCH_RESULT__FETCH_TIMEOUT, "enum ipc_fetch_result");
_Static_assert((int)IPC_POLL_UNKNOWN == (int)VTW__IPC__POLL_STATUS__POLL_UNKNOWN,
    "enum ipc_poll_status");
_Static_assert((int)IPC_POLL_DATA_ERROR ==
    (int)VTW__IPC__POLL_STATUS__POLL_DATA_ERROR, "enum ipc_poll_status");
_Static_assert((int)IPC_POLL_RATE_LIMITED ==
    (int)VTW__IPC__POLL_STATUS__POLL_RATE_LIMITED, "enum ipc_poll_status");
_Static_assert((int)IPC_VALUE_MISMATCH ==
    (int)VTW__IPC__VALUE_STATUS__VALUE_MISMATCH, "enum ipc_value_status");

/* Encoder scratch: the payload being built, and arrays freed once packed. */
struct enc {
	union {
		Vtw__Ipc__Hello			hello;
		Vtw__Ipc__ConfPlatform		conf_platform;
		Vtw__Ipc__ConfDatasource	conf_datasource;
		Vtw__Ipc__ConfGit		conf_git;
		Vtw__Ipc__ConfDone		conf_done;
		Vtw__Ipc__BaselineRequest	baseline_request;
		Vtw__Ipc__BaselineReply		baseline_reply;
		Vtw__Ipc__PollRequest		poll_request;
		Vtw__Ipc__PollReply		poll_reply;
		Vtw__Ipc__Shutdown		shutdown;
		Vtw__Ipc__Notify		notify;
	} pb;
	void	*arr1, *arr2;
};

typedef int	(*msg_encode_fn)(Envelope *, struct enc *,
		    const struct ipc_msg *);
typedef int	(*msg_decode_fn)(struct ipc_msg *, const Envelope *, char *,
		    size_t);

struct msg_type {
	const char	*name;
	int		 pcase;		/* Envelope payload case */
	msg_encode_fn	 encode;
	msg_decode_fn	 decode;	/* NULL: nothing beyond the shared checks */
};

static const struct msg_type msg_types[IPC_MSG_TYPE_MAX];

const char *
ipc_msg_type_name(unsigned int t)
{
	return t < IPC_MSG_TYPE_MAX ? msg_types[t].name : "invalid";
}

size_t
ipc_value_cost(size_t keylen, size_t vallen)
{
	return keylen + vallen + 32;
}

size_t
ipc_value_prefix_len(const char *s, size_t len)
{
	size_t n = len < IPC_MAX_VALUE_BYTES ? len : IPC_MAX_VALUE_BYTES;

	/* back over continuation bytes to the start of a character */
	if (n < len)
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	return n;
}

static int
nomem(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* ---- shared pieces ---- */

/* Pairs as protobuf messages, in e->arr1 / e->arr2. */
static int
pairs_to_pb(struct enc *e, const struct ipc_pair *in, size_t n,
    Vtw__Ipc__Pair ***out)
{
	Vtw__Ipc__Pair *pairs, **pairp;
	size_t i;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((pairs = e->arr1 = calloc(n, sizeof(*pairs))) == NULL ||
	    (pairp = e->arr2 = calloc(n, sizeof(*pairp))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		vtw__ipc__pair__init(&pairs[i]);
		pairs[i].key = ipc_pb_str(in[i].key);
		pairs[i].value = ipc_pb_str(in[i].val);
		if (in[i].truncated) {
			pairs[i].truncated = 1;
			pairs[i].full_len = in[i].full_len;
			pairs[i].digest.data = (uint8_t *)in[i].digest;
			pairs[i].digest.len = VTW_DIGEST_LEN;
		}
		pairp[i] = &pairs[i];
	}
	*out = pairp;
	return 0;
}

/*
 * Decoded pairs, in m->priv_arr1. Baseline entries (baseline set) have a
 * non-empty key of at most IPC_MAX_KEY_BYTES, a value of at most
 * IPC_MAX_VALUE_BYTES, and, when truncated, a full length over the value's
 * and a SHA-256 digest; other pairs cannot be truncated.
 */
static int
pairs_from_pb(struct ipc_msg *m, Vtw__Ipc__Pair *const *in, size_t n,
    int baseline, const struct ipc_pair **out, char *err, size_t errlen)
{
	struct ipc_pair *v;
	size_t i, vlen;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((v = m->priv_arr1 = calloc(n, sizeof(*v))) == NULL)
		return nomem(err, errlen);
	for (i = 0; i < n; i++) {
		v[i].key = in[i]->key;
		v[i].val = in[i]->value;
		if (!baseline) {
			if (in[i]->truncated || in[i]->full_len ||
			    in[i]->digest.len) {
				snprintf(err, errlen, "pair %zu: truncated", i);
				return -1;
			}
			continue;
		}
		if (v[i].key[0] == '\0') {
			snprintf(err, errlen, "entry %zu has an empty key", i);
			return -1;
		}
		vlen = strlen(v[i].val);
		if (strlen(v[i].key) > IPC_MAX_KEY_BYTES ||
		    vlen > IPC_MAX_VALUE_BYTES) {
			snprintf(err, errlen, "entry %zu: key or value over "
			    "the limit", i);
			return -1;
		}
		if (!in[i]->truncated) {
			if (in[i]->full_len || in[i]->digest.len) {
				snprintf(err, errlen, "entry %zu: length or "
				    "digest of a value not truncated", i);
				return -1;
			}
			continue;
		}
		if (in[i]->full_len <= vlen ||
		    in[i]->digest.len != VTW_DIGEST_LEN) {
			snprintf(err, errlen, "entry %zu: truncated value with "
			    "full_len %llu <= %zu or a digest of %zu bytes", i,
			    (unsigned long long)in[i]->full_len, vlen,
			    in[i]->digest.len);
			return -1;
		}
		v[i].truncated = 1;
		v[i].full_len = in[i]->full_len;
		v[i].digest = in[i]->digest.data;
	}
	*out = v;
	return 0;
}

static void
value_to_pb(Vtw__Ipc__Value *pv, const struct ipc_value *v)
{
	vtw__ipc__value__init(pv);
	pv->key = ipc_pb_bin(v->key);
	pv->present = v->present;
	pv->value = ipc_pb_bin(v->val);
	pv->truncated = v->truncated;
	pv->full_len = v->full_len;
	if (v->truncated) {
		pv->digest.data = (uint8_t *)v->digest;
		pv->digest.len = VTW_DIGEST_LEN;
	}
	pv->status = (Vtw__Ipc__ValueStatus)v->status;
	pv->note = ipc_pb_str(v->note != NULL ? v->note : "");
}

static int
value_from_pb(struct ipc_value *v, const Vtw__Ipc__Value *pv, char *err,
    size_t errlen)
{
	if (ipc_pb_check_bin(&pv->key, IPC_MAX_KEY_BYTES, "key", err,
	    errlen) == -1 ||
	    ipc_pb_check_bin(&pv->value, IPC_MAX_VALUE_BYTES, "value", err,
	    errlen) == -1)
		return -1;
	if (!pv->present && pv->value.len > 0) {
		snprintf(err, errlen, "absent key carries a value");
		return -1;
	}
	if (pv->truncated && pv->full_len <= pv->value.len) {
		snprintf(err, errlen, "truncated value with full_len %llu <= %zu",
		    (unsigned long long)pv->full_len, pv->value.len);
		return -1;
	}
	if (pv->digest.len != (pv->truncated ? VTW_DIGEST_LEN : 0)) {
		snprintf(err, errlen, "%s value with a digest of %zu bytes",
		    pv->truncated ? "truncated" : "whole", pv->digest.len);
		return -1;
	}
	if (ipc_pb_check_len(pv->note, IPC_NOTE_MAX_BYTES, "note", err,
	    errlen) == -1)
		return -1;
	if (!pv->present && (pv->status != VTW__IPC__VALUE_STATUS__VALUE_READ ||
	    pv->note[0] != '\0')) {
		snprintf(err, errlen, "absent key carries a status or note");
		return -1;
	}
	v->status = (int)pv->status;
	v->note = pv->note;
	v->key = ipc_pb_bytes(pv->key);
	v->present = pv->present != 0;
	v->val = ipc_pb_bytes(pv->value);
	v->truncated = pv->truncated != 0;
	v->full_len = pv->truncated ? pv->full_len : pv->value.len;
	if (pv->truncated)
		memcpy(v->digest, pv->digest.data, VTW_DIGEST_LEN);
	return 0;
}

/* ---- one pair per message type ---- */

static int
enc_hello(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	Vtw__Ipc__Hello *pb = &e->pb.hello;

	vtw__ipc__hello__init(pb);
	pb->kind = ipc_pb_str(m->u.hello.kind);
	pb->pid = m->u.hello.pid;
	pb->proto_version = m->u.hello.proto_version;
	env->hello = pb;
	return 0;
}

static int
dec_hello(struct ipc_msg *m, const Envelope *env, char *err, size_t errlen)
{
	const Vtw__Ipc__Hello *pb = env->hello;

	if (ipc_pb_check_len(pb->kind, KIND_MAX_BYTES, "kind", err,
	    errlen) == -1)
		return -1;
	m->u.hello.kind = pb->kind;
	m->u.hello.pid = pb->pid;
	m->u.hello.proto_version = pb->proto_version;
	return 0;
}

static int
enc_conf_platform(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	Vtw__Ipc__ConfPlatform *pb = &e->pb.conf_platform;

	vtw__ipc__conf_platform__init(pb);
	pb->name = ipc_pb_str(m->u.conf_platform.name);
	pb->type = ipc_pb_str(m->u.conf_platform.type);
	pb->endpoint = ipc_pb_str(m->u.conf_platform.endpoint);
	pb->token = ipc_pb_str(m->u.conf_platform.token);
	env->conf_platform = pb;
	return 0;
}

static int
dec_conf_platform(struct ipc_msg *m, const Envelope *env, char *err,
    size_t errlen)
{
	const Vtw__Ipc__ConfPlatform *pb = env->conf_platform;

	m->u.conf_platform.name = pb->name;
	m->u.conf_platform.type = pb->type;
	m->u.conf_platform.endpoint = pb->endpoint;
	m->u.conf_platform.token = pb->token;
	return 0;
}

static int
enc_conf_datasource(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	const struct ipc_conf_datasource *c = &m->u.conf_datasource;
	Vtw__Ipc__ConfDatasource *pb = &e->pb.conf_datasource;

	vtw__ipc__conf_datasource__init(pb);
	pb->name = ipc_pb_str(c->name);
	pb->type = ipc_pb_str(c->type);
	pb->connect_timeout_ms = c->connect_timeout_ms;
	pb->command_timeout_ms = c->command_timeout_ms;
	pb->settings = ipc_pb_bin(c->settings);
	env->conf_datasource = pb;
	return 0;
}

static int
dec_conf_datasource(struct ipc_msg *m, const Envelope *env, char *err,
    size_t errlen)
{
	const Vtw__Ipc__ConfDatasource *pb = env->conf_datasource;
	struct ipc_conf_datasource *c = &m->u.conf_datasource;

	if (ipc_pb_check_len(pb->name, IPC_PB_NAME_MAX, "datasource name",
	    err, errlen) == -1 ||
	    ipc_pb_check_len(pb->type, KIND_MAX_BYTES, "datasource type", err,
	    errlen) == -1 ||
	    ipc_pb_check_bin(&pb->settings, IPC_MAX_MSG_BYTES, "settings", err,
	    errlen) == -1)
		return -1;
	c->name = pb->name;
	c->type = pb->type;
	c->connect_timeout_ms = pb->connect_timeout_ms;
	c->command_timeout_ms = pb->command_timeout_ms;
	c->settings = ipc_pb_bytes(pb->settings);
	return 0;
}

static int
enc_conf_git(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	Vtw__Ipc__ConfGit *pb = &e->pb.conf_git;

	vtw__ipc__conf_git__init(pb);
	pb->cache_dir = ipc_pb_str(m->u.conf_git.cache_dir);
	pb->max_file_bytes = m->u.conf_git.max_file_bytes;
	pb->max_keys = m->u.conf_git.max_keys;
	pb->max_parallel_fetches = m->u.conf_git.max_parallel_fetches;
	pb->fetch_timeout_ms = m->u.conf_git.fetch_timeout_ms;
	env->conf_git = pb;
	return 0;
}

static int
dec_conf_git(struct ipc_msg *m, const Envelope *env, char *err, size_t errlen)
{
	const Vtw__Ipc__ConfGit *pb = env->conf_git;

	m->u.conf_git.cache_dir = pb->cache_dir;
	m->u.conf_git.max_file_bytes = pb->max_file_bytes;
	m->u.conf_git.max_keys = pb->max_keys;
	m->u.conf_git.max_parallel_fetches = pb->max_parallel_fetches;
	m->u.conf_git.fetch_timeout_ms = pb->fetch_timeout_ms;
	return 0;
}

static int
enc_conf_done(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	vtw__ipc__conf_done__init(&e->pb.conf_done);
	env->conf_done = &e->pb.conf_done;
	return 0;
}

static int
enc_shutdown(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	vtw__ipc__shutdown__init(&e->pb.shutdown);
	env->shutdown = &e->pb.shutdown;
	return 0;
}

static int
enc_notify(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	vtw__ipc__notify__init(&e->pb.notify);
	e->pb.notify.rule_id = m->u.notify.rule_id;
	env->notify = &e->pb.notify;
	return 0;
}

static int
dec_notify(struct ipc_msg *m, const Envelope *env, char *err, size_t errlen)
{
	m->u.notify.rule_id = env->notify->rule_id;
	return 0;
}

static int
enc_baseline_request(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	const struct ipc_baseline_request *r = &m->u.baseline_request;
	Vtw__Ipc__BaselineRequest *pb = &e->pb.baseline_request;

	vtw__ipc__baseline_request__init(pb);
	pb->rule_id = r->rule_id;
	pb->platform = ipc_pb_str(r->platform);
	pb->repo_url = ipc_pb_str(r->repo_url);
	pb->branch = ipc_pb_str(r->branch);
	pb->n_files = r->nfiles;
	pb->files = ipc_pb_strv(r->files);
	pb->root_key = ipc_pb_str(r->root_key);
	pb->root_key_set = r->root_key_set;
	pb->env = ipc_pb_str(r->env);
	pb->key_format = ipc_pb_str(r->key_format);
	pb->key_prefix = ipc_pb_str(r->key_prefix);
	pb->known_commit = ipc_pb_str(r->known_commit);
	pb->want_commit = ipc_pb_str(r->want_commit);
	pb->refresh_ms = r->refresh_ms;
	pb->refetch = r->refetch;
	if (pairs_to_pb(e, r->variables_map, r->nvariables_map,
	    &pb->variables_map) == -1)
		return -1;
	pb->n_variables_map = r->nvariables_map;
	env->baseline_request = pb;
	return 0;
}

static int
dec_baseline_request(struct ipc_msg *m, const Envelope *env, char *err,
    size_t errlen)
{
	const Vtw__Ipc__BaselineRequest *pb = env->baseline_request;
	struct ipc_baseline_request *r = &m->u.baseline_request;

	r->rule_id = pb->rule_id;
	r->platform = pb->platform;
	r->repo_url = pb->repo_url;
	r->branch = pb->branch;
	r->files = (const char *const *)pb->files;
	r->nfiles = pb->n_files;
	r->root_key = pb->root_key;
	r->root_key_set = pb->root_key_set;
	r->env = pb->env;
	r->key_format = pb->key_format;
	r->key_prefix = pb->key_prefix;
	r->known_commit = pb->known_commit;
	r->want_commit = pb->want_commit;
	r->refresh_ms = pb->refresh_ms;
	r->refetch = pb->refetch;
	r->nvariables_map = pb->n_variables_map;
	return pairs_from_pb(m, pb->variables_map, pb->n_variables_map, 0,
	    &r->variables_map, err, errlen);
}

static int
enc_baseline_reply(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	const struct ipc_baseline_reply *r = &m->u.baseline_reply;
	Vtw__Ipc__BaselineReply *pb = &e->pb.baseline_reply;

	vtw__ipc__baseline_reply__init(pb);
	pb->rule_id = r->rule_id;
	pb->status = (Vtw__Ipc__BaselineStatus)r->status;
	pb->commit = ipc_pb_str(r->commit);
	pb->error = ipc_pb_str(r->error);
	pb->last = r->last;
	pb->total = r->total;
	pb->fetch = (Vtw__Ipc__FetchResult)r->fetch;
	pb->fetch_us = r->fetch_us;
	if (pairs_to_pb(e, r->entries, r->nentries, &pb->entries) == -1)
		return -1;
	pb->n_entries = r->nentries;
	env->baseline_reply = pb;
	return 0;
}

static int
dec_baseline_reply(struct ipc_msg *m, const Envelope *env, char *err,
    size_t errlen)
{
	const Vtw__Ipc__BaselineReply *pb = env->baseline_reply;
	struct ipc_baseline_reply *r = &m->u.baseline_reply;

	if (ipc_pb_check_len(pb->commit, COMMIT_MAX_BYTES, "commit", err,
	    errlen) == -1 ||
	    ipc_pb_check_len(pb->error, ERROR_MAX_BYTES, "error", err,
	    errlen) == -1)
		return -1;
	r->rule_id = pb->rule_id;
	r->status = (enum ipc_baseline_status)pb->status;
	r->commit = pb->commit;
	r->error = pb->error;
	r->last = pb->last;
	r->total = pb->total;
	r->fetch = (enum ipc_fetch_result)pb->fetch;
	r->fetch_us = pb->fetch_us;
	r->nentries = pb->n_entries;
	return pairs_from_pb(m, pb->entries, pb->n_entries, 1, &r->entries,
	    err, errlen);
}

static int
enc_poll_request(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	const struct ipc_poll_request *r = &m->u.poll_request;
	Vtw__Ipc__PollRequest *pb = &e->pb.poll_request;
	ProtobufCBinaryData *keys = NULL;
	size_t i;

	vtw__ipc__poll_request__init(pb);
	pb->rule_id = r->rule_id;
	pb->rule = ipc_pb_str(r->rule);
	pb->datasource = ipc_pb_str(r->datasource);
	pb->target = ipc_pb_str(r->target);
	pb->marker = ipc_pb_str(r->marker);
	pb->detect_extra = r->detect_extra;
	pb->last = r->last;
	pb->total = r->total;
	pb->scope = ipc_pb_bin(r->scope);
	if (r->nkeys > 0) {
		if ((keys = e->arr1 = calloc(r->nkeys, sizeof(*keys))) == NULL)
			return -1;
		for (i = 0; i < r->nkeys; i++)
			keys[i] = ipc_pb_bin(r->keys[i]);
	}
	pb->n_keys = r->nkeys;
	pb->keys = keys;
	env->poll_request = pb;
	return 0;
}

static int
dec_poll_request(struct ipc_msg *m, const Envelope *env, char *err,
    size_t errlen)
{
	const Vtw__Ipc__PollRequest *pb = env->poll_request;
	struct ipc_poll_request *r = &m->u.poll_request;
	struct ipc_bytes *keys = NULL;
	size_t i;

	if (ipc_pb_check_bin(&pb->scope, IPC_MAX_MSG_BYTES, "scope", err,
	    errlen) == -1)
		return -1;
	if (pb->n_keys > 0) {
		if ((keys = m->priv_arr1 = calloc(pb->n_keys,
		    sizeof(*keys))) == NULL)
			return nomem(err, errlen);
		for (i = 0; i < pb->n_keys; i++) {
			if (ipc_pb_check_bin(&pb->keys[i], IPC_MAX_KEY_BYTES,
			    "key", err, errlen) == -1)
				return -1;
			keys[i] = ipc_pb_bytes(pb->keys[i]);
		}
	}
	r->rule_id = pb->rule_id;
	r->rule = pb->rule;
	r->datasource = pb->datasource;
	r->target = pb->target;
	r->marker = pb->marker;
	r->detect_extra = pb->detect_extra;
	r->keys = keys;
	r->nkeys = pb->n_keys;
	r->last = pb->last;
	r->total = pb->total;
	r->scope = ipc_pb_bytes(pb->scope);
	return 0;
}

static int
enc_poll_reply(Envelope *env, struct enc *e, const struct ipc_msg *m)
{
	const struct ipc_poll_reply *r = &m->u.poll_reply;
	Vtw__Ipc__PollReply *pb = &e->pb.poll_reply;
	Vtw__Ipc__Value *vals, **valp = NULL;
	size_t i, nv = r->nvalues, n = r->nvalues + r->nextras;

	vtw__ipc__poll_reply__init(pb);
	pb->rule_id = r->rule_id;
	pb->status = (Vtw__Ipc__PollStatus)r->status;
	pb->error = ipc_pb_str(r->error);
	pb->marker_present = r->marker_present;
	pb->last = r->last;
	if (n > 0) {
		if ((vals = e->arr1 = calloc(n, sizeof(*vals))) == NULL ||
		    (valp = e->arr2 = calloc(n, sizeof(*valp))) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			value_to_pb(&vals[i], i < nv ? &r->values[i] :
			    &r->extras[i - nv]);
			valp[i] = &vals[i];
		}
	}
	pb->n_values = nv;
	pb->values = valp;
	pb->n_extras = r->nextras;
	pb->extras = valp ? valp + nv : NULL;
	env->poll_reply = pb;
	return 0;
}

static int
dec_poll_reply(struct ipc_msg *m, const Envelope *env, char *err,
    size_t errlen)
{
	const Vtw__Ipc__PollReply *pb = env->poll_reply;
	struct ipc_poll_reply *r = &m->u.poll_reply;
	struct ipc_value *vals = NULL;
	size_t i, nv = pb->n_values, n = pb->n_values + pb->n_extras;

	if (ipc_pb_check_len(pb->error, ERROR_MAX_BYTES, "error", err,
	    errlen) == -1)
		return -1;
	if (n > 0) {
		if ((vals = m->priv_arr1 = calloc(n, sizeof(*vals))) == NULL)
			return nomem(err, errlen);
		for (i = 0; i < n; i++)
			if (value_from_pb(&vals[i], i < nv ? pb->values[i] :
			    pb->extras[i - nv], err, errlen) == -1)
				return -1;
	}
	r->rule_id = pb->rule_id;
	r->status = (enum ipc_poll_status)pb->status;
	r->error = pb->error;
	r->values = vals;
	r->nvalues = nv;
	r->extras = vals ? vals + nv : NULL;
	r->nextras = pb->n_extras;
	r->marker_present = pb->marker_present;
	r->last = pb->last;
	return 0;
}

#define PCASE(x)	VTW__IPC__ENVELOPE__PAYLOAD_##x

static const struct msg_type msg_types[IPC_MSG_TYPE_MAX] = {
	[IPC_NONE] = { "none", -1, NULL, NULL },
	[IPC_HELLO] = { "hello", PCASE(HELLO), enc_hello, dec_hello },
	[IPC_CONF_PLATFORM] = { "conf_platform", PCASE(CONF_PLATFORM),
	    enc_conf_platform, dec_conf_platform },
	[IPC_CONF_DATASOURCE] = { "conf_datasource", PCASE(CONF_DATASOURCE),
	    enc_conf_datasource, dec_conf_datasource },
	[IPC_CONF_GIT] = { "conf_git", PCASE(CONF_GIT), enc_conf_git,
	    dec_conf_git },
	[IPC_CONF_DONE] = { "conf_done", PCASE(CONF_DONE), enc_conf_done,
	    NULL },
	[IPC_BASELINE_REQUEST] = { "baseline_request",
	    PCASE(BASELINE_REQUEST), enc_baseline_request,
	    dec_baseline_request },
	[IPC_BASELINE_REPLY] = { "baseline_reply", PCASE(BASELINE_REPLY),
	    enc_baseline_reply, dec_baseline_reply },
	[IPC_POLL_REQUEST] = { "poll_request", PCASE(POLL_REQUEST),
	    enc_poll_request, dec_poll_request },
	[IPC_POLL_REPLY] = { "poll_reply", PCASE(POLL_REPLY), enc_poll_reply,
	    dec_poll_reply },
	[IPC_SHUTDOWN] = { "shutdown", PCASE(SHUTDOWN), enc_shutdown, NULL },
	[IPC_NOTIFY] = { "notify", PCASE(NOTIFY), enc_notify, dec_notify },
};

/* ---- the envelope ---- */

int
ipc_msg_encode(void **out, size_t *outlen, const struct ipc_msg *m)
{
	Envelope env = VTW__IPC__ENVELOPE__INIT;
	const struct msg_type *t;
	struct enc e;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (m->type <= IPC_NONE || m->type >= IPC_MSG_TYPE_MAX)
		return -1;
	t = &msg_types[m->type];
	memset(&e, 0, sizeof(e));
	env.type = m->type;
	env.seq = m->seq;
	env.payload_case = (Vtw__Ipc__Envelope__PayloadCase)t->pcase;
	rc = t->encode(&env, &e, m);
	if (rc == 0)
		rc = ipc_pb_pack(out, outlen, &env.base, IPC_MAX_MSG_BYTES);
	free(e.arr1);
	free(e.arr2);
	return rc;
}

int
ipc_msg_decode(struct ipc_msg *m, const void *buf, size_t len, char *err,
    size_t errlen)
{
	const struct msg_type *t;
	Envelope *env;

	memset(m, 0, sizeof(*m));
	env = (Envelope *)ipc_pb_unpack(&vtw__ipc__envelope__descriptor, buf,
	    len, IPC_MAX_MSG_BYTES, "message", err, errlen);
	if (env == NULL)
		return -1;
	m->priv_env = env;
	if (env->type == IPC_NONE || env->type >= IPC_MSG_TYPE_MAX) {
		snprintf(err, errlen, "unknown message type %u", env->type);
		goto bad;
	}
	t = &msg_types[env->type];
	if ((int)env->payload_case != t->pcase) {
		snprintf(err, errlen, "message type %s with payload %d",
		    t->name, (int)env->payload_case);
		goto bad;
	}
	m->type = env->type;
	m->seq = env->seq;
	if (t->decode != NULL && t->decode(m, env, err, errlen) == -1)
		goto bad;
	return 0;
 bad:
	ipc_msg_release(m);
	return -1;
}

void
ipc_msg_release(struct ipc_msg *m)
{
	ipc_pb_free(m->priv_env);
	free(m->priv_arr1);
	free(m->priv_arr2);
	memset(m, 0, sizeof(*m));
}
