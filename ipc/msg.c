#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "vtw_ipc.pb-c.h"

typedef Vtw__Ipc__Envelope Envelope;

static const char *const msg_names[IPC_MSG_TYPE_MAX] = {
	"none", "hello", "conf_platform", "conf_datasource", "conf_git",
	"conf_done", "baseline_request", "baseline_reply", "poll_request",
	"poll_reply", "shutdown", "notify",
};

/* payload case each type must carry */
static const int msg_case[IPC_MSG_TYPE_MAX] = {
	[IPC_NONE] = -1,
	[IPC_HELLO] = VTW__IPC__ENVELOPE__PAYLOAD_HELLO,
	[IPC_CONF_PLATFORM] = VTW__IPC__ENVELOPE__PAYLOAD_CONF_PLATFORM,
	[IPC_CONF_DATASOURCE] = VTW__IPC__ENVELOPE__PAYLOAD_CONF_DATASOURCE,
	[IPC_CONF_GIT] = VTW__IPC__ENVELOPE__PAYLOAD_CONF_GIT,
	[IPC_CONF_DONE] = VTW__IPC__ENVELOPE__PAYLOAD_CONF_DONE,
	[IPC_BASELINE_REQUEST] = VTW__IPC__ENVELOPE__PAYLOAD_BASELINE_REQUEST,
	[IPC_BASELINE_REPLY] = VTW__IPC__ENVELOPE__PAYLOAD_BASELINE_REPLY,
	[IPC_POLL_REQUEST] = VTW__IPC__ENVELOPE__PAYLOAD_POLL_REQUEST,
	[IPC_POLL_REPLY] = VTW__IPC__ENVELOPE__PAYLOAD_POLL_REPLY,
	[IPC_SHUTDOWN] = VTW__IPC__ENVELOPE__PAYLOAD_SHUTDOWN,
	[IPC_NOTIFY] = VTW__IPC__ENVELOPE__PAYLOAD_NOTIFY,
};

const char *
ipc_msg_type_name(unsigned int t)
{
	return t < IPC_MSG_TYPE_MAX ? msg_names[t] : "invalid";
}

size_t
ipc_value_cost(size_t keylen, size_t vallen)
{
	return keylen + vallen + 32;
}

/* protobuf-c wants non-const char *; it never writes through them */
static char *
s(const char *p)
{
	return (char *)(uintptr_t)(p ? p : "");
}

static ProtobufCBinaryData
bin(struct ipc_bytes b)
{
	ProtobufCBinaryData d;

	d.data = (uint8_t *)(uintptr_t)b.p;
	d.len = b.len;
	return d;
}

static void
value_to_pb(Vtw__Ipc__Value *pv, const struct ipc_value *v)
{
	vtw__ipc__value__init(pv);
	pv->key = bin(v->key);
	pv->present = v->present;
	pv->value = bin(v->val);
	pv->truncated = v->truncated;
	pv->full_len = v->full_len;
	pv->digest = v->digest;
}

/* Pairs as protobuf messages; arrays freed by the caller. */
static int
pairs_to_pb(const struct ipc_pair *in, size_t n, Vtw__Ipc__Pair **pairs,
    Vtw__Ipc__Pair ***pairp)
{
	size_t i;

	if (n == 0)
		return 0;
	if ((*pairs = calloc(n, sizeof(**pairs))) == NULL ||
	    (*pairp = calloc(n, sizeof(**pairp))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		vtw__ipc__pair__init(&(*pairs)[i]);
		(*pairs)[i].key = s(in[i].key);
		(*pairs)[i].value = s(in[i].val);
		(*pairp)[i] = &(*pairs)[i];
	}
	return 0;
}

int
ipc_msg_encode(void **out, size_t *outlen, const struct ipc_msg *m)
{
	Envelope env = VTW__IPC__ENVELOPE__INIT;
	Vtw__Ipc__Hello hello = VTW__IPC__HELLO__INIT;
	Vtw__Ipc__ConfPlatform cp = VTW__IPC__CONF_PLATFORM__INIT;
	Vtw__Ipc__ConfDatasource cd = VTW__IPC__CONF_DATASOURCE__INIT;
	Vtw__Ipc__ConfGit cg = VTW__IPC__CONF_GIT__INIT;
	Vtw__Ipc__ConfDone done = VTW__IPC__CONF_DONE__INIT;
	Vtw__Ipc__Shutdown shut = VTW__IPC__SHUTDOWN__INIT;
	Vtw__Ipc__Notify notify = VTW__IPC__NOTIFY__INIT;
	Vtw__Ipc__BaselineRequest breq = VTW__IPC__BASELINE_REQUEST__INIT;
	Vtw__Ipc__BaselineReply brep = VTW__IPC__BASELINE_REPLY__INIT;
	Vtw__Ipc__PollRequest preq = VTW__IPC__POLL_REQUEST__INIT;
	Vtw__Ipc__PollReply prep = VTW__IPC__POLL_REPLY__INIT;
	Vtw__Ipc__Pair *pairs = NULL, **pairp = NULL;
	Vtw__Ipc__Value *vals = NULL, **valp = NULL;
	ProtobufCBinaryData *keys = NULL;
	size_t i, n, len;
	uint8_t *buf = NULL;
	int rc = -1;

	*out = NULL;
	*outlen = 0;
	if (m->type <= IPC_NONE || m->type >= IPC_MSG_TYPE_MAX)
		return -1;
	env.type = m->type;
	env.seq = m->seq;
	env.payload_case = msg_case[m->type];
	switch (m->type) {
	case IPC_HELLO:
		hello.kind = s(m->u.hello.kind);
		hello.pid = m->u.hello.pid;
		hello.proto_version = m->u.hello.proto_version;
		env.hello = &hello;
		break;
	case IPC_CONF_PLATFORM:
		cp.name = s(m->u.conf_platform.name);
		cp.type = s(m->u.conf_platform.type);
		cp.endpoint = s(m->u.conf_platform.endpoint);
		cp.token = s(m->u.conf_platform.token);
		env.conf_platform = &cp;
		break;
	case IPC_CONF_DATASOURCE:
		cd.name = s(m->u.conf_datasource.name);
		cd.type = s(m->u.conf_datasource.type);
		cd.host = s(m->u.conf_datasource.host);
		cd.port = m->u.conf_datasource.port;
		cd.password = s(m->u.conf_datasource.password);
		cd.db = m->u.conf_datasource.db;
		cd.connect_timeout_ms = m->u.conf_datasource.connect_timeout_ms;
		cd.command_timeout_ms = m->u.conf_datasource.command_timeout_ms;
		cd.n_hosts = m->u.conf_datasource.nhosts;
		cd.hosts = (char **)(uintptr_t)m->u.conf_datasource.hosts;
		cd.uri = s(m->u.conf_datasource.uri);
		cd.database = s(m->u.conf_datasource.database);
		cd.username = s(m->u.conf_datasource.username);
		cd.session_timeout_ms = m->u.conf_datasource.session_timeout_ms;
		cd.tls = m->u.conf_datasource.tls;
		cd.tls_ca_file = s(m->u.conf_datasource.tls_ca_file);
		cd.tls_insecure = m->u.conf_datasource.tls_insecure;
		cd.server_selection_timeout_ms =
		    m->u.conf_datasource.server_selection_timeout_ms;
		cd.ssh = m->u.conf_datasource.ssh;
		cd.ssh_key = bin(m->u.conf_datasource.ssh_key);
		cd.ssh_known_hosts = bin(m->u.conf_datasource.ssh_known_hosts);
		cd.max_file_bytes = m->u.conf_datasource.max_file_bytes;
		env.conf_datasource = &cd;
		break;
	case IPC_CONF_GIT:
		cg.cache_dir = s(m->u.conf_git.cache_dir);
		cg.max_file_bytes = m->u.conf_git.max_file_bytes;
		cg.max_keys = m->u.conf_git.max_keys;
		env.conf_git = &cg;
		break;
	case IPC_CONF_DONE:
		env.conf_done = &done;
		break;
	case IPC_SHUTDOWN:
		env.shutdown = &shut;
		break;
	case IPC_NOTIFY:
		notify.rule_id = m->u.notify.rule_id;
		env.notify = &notify;
		break;
	case IPC_BASELINE_REQUEST: {
		const struct ipc_baseline_request *r = &m->u.baseline_request;

		breq.rule_id = r->rule_id;
		breq.platform = s(r->platform);
		breq.repo_url = s(r->repo_url);
		breq.branch = s(r->branch);
		breq.n_files = r->nfiles;
		breq.files = (char **)(uintptr_t)r->files;
		breq.sink = s(r->sink);
		breq.root_key = s(r->root_key);
		breq.root_key_set = r->root_key_set;
		breq.env = s(r->env);
		breq.key_format = s(r->key_format);
		breq.data_structure = s(r->data_structure);
		breq.key_prefix = s(r->key_prefix);
		breq.known_commit = s(r->known_commit);
		n = r->nvariables_map;
		if (pairs_to_pb(r->variables_map, n, &pairs, &pairp) == -1)
			goto cleanup;
		breq.n_variables_map = n;
		breq.variables_map = pairp;
		env.baseline_request = &breq;
		break;
	}
	case IPC_BASELINE_REPLY: {
		const struct ipc_baseline_reply *r = &m->u.baseline_reply;

		brep.rule_id = r->rule_id;
		brep.status = (Vtw__Ipc__BaselineStatus)r->status;
		brep.commit = s(r->commit);
		brep.error = s(r->error);
		brep.last = r->last;
		brep.total = r->total;
		n = r->nentries;
		if (pairs_to_pb(r->entries, n, &pairs, &pairp) == -1)
			goto cleanup;
		brep.n_entries = n;
		brep.entries = pairp;
		env.baseline_reply = &brep;
		break;
	}
	case IPC_POLL_REQUEST: {
		const struct ipc_poll_request *r = &m->u.poll_request;

		preq.rule_id = r->rule_id;
		preq.datasource = s(r->datasource);
		preq.structure = (Vtw__Ipc__Structure)r->structure;
		preq.target = s(r->target);
		preq.marker = s(r->marker);
		preq.detect_extra = r->detect_extra;
		preq.tenant = s(r->tenant);
		preq.env = s(r->env);
		preq.label = s(r->label);
		preq.n_files = r->nfiles;
		preq.files = (char **)(uintptr_t)r->files;
		preq.watch = r->watch;
		preq.database = s(r->database);
		preq.last = r->last;
		preq.total = r->total;
		n = r->nkeys;
		if (n > 0) {
			if ((keys = calloc(n, sizeof(*keys))) == NULL)
				goto cleanup;
			for (i = 0; i < n; i++)
				keys[i] = bin(r->keys[i]);
		}
		preq.n_keys = n;
		preq.keys = keys;
		env.poll_request = &preq;
		break;
	}
	case IPC_POLL_REPLY: {
		const struct ipc_poll_reply *r = &m->u.poll_reply;
		size_t nv = r->nvalues, ne = r->nextras;

		prep.rule_id = r->rule_id;
		prep.status = (Vtw__Ipc__PollStatus)r->status;
		prep.error = s(r->error);
		prep.marker_present = r->marker_present;
		prep.last = r->last;
		if (nv + ne > 0) {
			if ((vals = calloc(nv + ne, sizeof(*vals))) == NULL ||
			    (valp = calloc(nv + ne, sizeof(*valp))) == NULL)
				goto cleanup;
			for (i = 0; i < nv; i++) {
				value_to_pb(&vals[i], &r->values[i]);
				valp[i] = &vals[i];
			}
			for (i = 0; i < ne; i++) {
				value_to_pb(&vals[nv + i], &r->extras[i]);
				valp[nv + i] = &vals[nv + i];
			}
		}
		prep.n_values = nv;
		prep.values = valp;
		prep.n_extras = ne;
		prep.extras = valp ? valp + nv : NULL;
		env.poll_reply = &prep;
		break;
	}
	default:
		goto cleanup;
	}
	len = vtw__ipc__envelope__get_packed_size(&env);
	if (len > IPC_MAX_MSG_BYTES)
		goto cleanup;
	if ((buf = malloc(len ? len : 1)) == NULL)
		goto cleanup;
	if (vtw__ipc__envelope__pack(&env, buf) != len) {
		free(buf);
		goto cleanup;
	}
	*out = buf;
	*outlen = len;
	rc = 0;
 cleanup:
	free(pairs);
	free(pairp);
	free(vals);
	free(valp);
	free(keys);
	return rc;
}

/* Validation helpers: names must be short, printable UTF-8 */
static int
check_str(const char *p, size_t max, const char *what, char *err,
    size_t errlen)
{
	size_t n = strnlen(p, max + 1);

	if (n > max) {
		snprintf(err, errlen, "%s longer than %zu bytes", what, max);
		return -1;
	}
	return 0;
}

static int
check_bin(const ProtobufCBinaryData *b, size_t max, const char *what,
    char *err, size_t errlen)
{
	if (b->len > max || (b->len > 0 && b->data == NULL)) {
		snprintf(err, errlen, "%s of %zu bytes exceeds %zu", what,
		    b->len, max);
		return -1;
	}
	return 0;
}

static int
value_from_pb(struct ipc_value *v, const Vtw__Ipc__Value *pv, char *err,
    size_t errlen)
{
	if (pv == NULL) {
		snprintf(err, errlen, "null value entry");
		return -1;
	}
	if (check_bin(&pv->key, IPC_MAX_KEY_BYTES, "key", err, errlen) == -1 ||
	    check_bin(&pv->value, IPC_MAX_VALUE_BYTES, "value", err,
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
	v->key.p = (const char *)pv->key.data;
	v->key.len = pv->key.len;
	v->present = pv->present != 0;
	v->val.p = (const char *)pv->value.data;
	v->val.len = pv->value.len;
	v->truncated = pv->truncated != 0;
	v->full_len = pv->truncated ? pv->full_len : pv->value.len;
	v->digest = pv->digest;
	return 0;
}

#define NAME_MAX_BYTES	4096

int
ipc_msg_decode(struct ipc_msg *m, const void *buf, size_t len, char *err,
    size_t errlen)
{
	Envelope *env;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (len > IPC_MAX_MSG_BYTES) {
		snprintf(err, errlen, "message of %zu bytes exceeds %d", len,
		    IPC_MAX_MSG_BYTES);
		return -1;
	}
	env = vtw__ipc__envelope__unpack(NULL, len, buf);
	if (env == NULL) {
		snprintf(err, errlen, "undecodable message (%zu bytes)", len);
		return -1;
	}
	m->priv_env = env;
	if (env->type == IPC_NONE || env->type >= IPC_MSG_TYPE_MAX) {
		snprintf(err, errlen, "unknown message type %u", env->type);
		goto bad;
	}
	if ((int)env->payload_case != msg_case[env->type]) {
		snprintf(err, errlen, "message type %s with payload %d",
		    msg_names[env->type], (int)env->payload_case);
		goto bad;
	}
	m->type = env->type;
	m->seq = env->seq;
	switch (m->type) {
	case IPC_HELLO:
		if (check_str(env->hello->kind, 32, "kind", err, errlen) == -1)
			goto bad;
		m->u.hello.kind = env->hello->kind;
		m->u.hello.pid = env->hello->pid;
		m->u.hello.proto_version = env->hello->proto_version;
		break;
	case IPC_CONF_PLATFORM:
		m->u.conf_platform.name = env->conf_platform->name;
		m->u.conf_platform.type = env->conf_platform->type;
		m->u.conf_platform.endpoint = env->conf_platform->endpoint;
		m->u.conf_platform.token = env->conf_platform->token;
		break;
	case IPC_CONF_DATASOURCE: {
		Vtw__Ipc__ConfDatasource *c = env->conf_datasource;

		if (c->port > 65535) {
			snprintf(err, errlen, "port %u out of range", c->port);
			goto bad;
		}
		m->u.conf_datasource.name = c->name;
		m->u.conf_datasource.type = c->type;
		m->u.conf_datasource.host = c->host;
		m->u.conf_datasource.port = c->port;
		m->u.conf_datasource.password = c->password;
		m->u.conf_datasource.db = c->db;
		m->u.conf_datasource.connect_timeout_ms = c->connect_timeout_ms;
		m->u.conf_datasource.command_timeout_ms = c->command_timeout_ms;
		if (check_bin(&c->ssh_key, 64 * 1024, "ssh key", err,
		    errlen) == -1 ||
		    check_bin(&c->ssh_known_hosts, 4 * 1024 * 1024,
		    "known_hosts", err, errlen) == -1)
			goto bad;
		m->u.conf_datasource.hosts = (const char *const *)c->hosts;
		m->u.conf_datasource.nhosts = c->n_hosts;
		m->u.conf_datasource.uri = c->uri;
		m->u.conf_datasource.database = c->database;
		m->u.conf_datasource.username = c->username;
		m->u.conf_datasource.session_timeout_ms = c->session_timeout_ms;
		m->u.conf_datasource.tls = c->tls;
		m->u.conf_datasource.tls_ca_file = c->tls_ca_file;
		m->u.conf_datasource.tls_insecure = c->tls_insecure;
		m->u.conf_datasource.server_selection_timeout_ms =
		    c->server_selection_timeout_ms;
		m->u.conf_datasource.ssh = c->ssh;
		m->u.conf_datasource.ssh_key.p = (const char *)c->ssh_key.data;
		m->u.conf_datasource.ssh_key.len = c->ssh_key.len;
		m->u.conf_datasource.ssh_known_hosts.p =
		    (const char *)c->ssh_known_hosts.data;
		m->u.conf_datasource.ssh_known_hosts.len =
		    c->ssh_known_hosts.len;
		m->u.conf_datasource.max_file_bytes = c->max_file_bytes;
		break;
	}
	case IPC_CONF_GIT:
		m->u.conf_git.cache_dir = env->conf_git->cache_dir;
		m->u.conf_git.max_file_bytes = env->conf_git->max_file_bytes;
		m->u.conf_git.max_keys = env->conf_git->max_keys;
		break;
	case IPC_CONF_DONE:
	case IPC_SHUTDOWN:
		break;
	case IPC_NOTIFY:
		m->u.notify.rule_id = env->notify->rule_id;
		break;
	case IPC_BASELINE_REQUEST: {
		Vtw__Ipc__BaselineRequest *r = env->baseline_request;
		struct ipc_pair *vm = NULL;

		m->u.baseline_request.rule_id = r->rule_id;
		m->u.baseline_request.platform = r->platform;
		m->u.baseline_request.repo_url = r->repo_url;
		m->u.baseline_request.branch = r->branch;
		m->u.baseline_request.files = (const char *const *)r->files;
		m->u.baseline_request.nfiles = r->n_files;
		m->u.baseline_request.sink = r->sink;
		m->u.baseline_request.root_key = r->root_key;
		m->u.baseline_request.root_key_set = r->root_key_set;
		m->u.baseline_request.env = r->env;
		m->u.baseline_request.key_format = r->key_format;
		m->u.baseline_request.data_structure = r->data_structure;
		m->u.baseline_request.key_prefix = r->key_prefix;
		m->u.baseline_request.known_commit = r->known_commit;
		if (r->n_variables_map > 0) {
			vm = calloc(r->n_variables_map, sizeof(*vm));
			if (vm == NULL) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			m->priv_arr1 = vm;
			for (i = 0; i < r->n_variables_map; i++) {
				vm[i].key = r->variables_map[i]->key;
				vm[i].val = r->variables_map[i]->value;
			}
		}
		m->u.baseline_request.variables_map = vm;
		m->u.baseline_request.nvariables_map = r->n_variables_map;
		break;
	}
	case IPC_BASELINE_REPLY: {
		Vtw__Ipc__BaselineReply *r = env->baseline_reply;
		struct ipc_pair *ents = NULL;

		if ((unsigned)r->status > IPC_BL_ERROR) {
			snprintf(err, errlen, "baseline status %d out of range",
			    (int)r->status);
			goto bad;
		}
		if (check_str(r->commit, 64, "commit", err, errlen) == -1 ||
		    check_str(r->error, NAME_MAX_BYTES, "error", err,
		    errlen) == -1)
			goto bad;
		if (r->n_entries > 0) {
			ents = calloc(r->n_entries, sizeof(*ents));
			if (ents == NULL) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			m->priv_arr1 = ents;
			for (i = 0; i < r->n_entries; i++) {
				ents[i].key = r->entries[i]->key;
				ents[i].val = r->entries[i]->value;
				if (ents[i].key[0] == '\0') {
					snprintf(err, errlen,
					    "baseline entry %zu has an empty key",
					    i);
					goto bad;
				}
			}
		}
		m->u.baseline_reply.rule_id = r->rule_id;
		m->u.baseline_reply.status = (enum ipc_baseline_status)r->status;
		m->u.baseline_reply.commit = r->commit;
		m->u.baseline_reply.error = r->error;
		m->u.baseline_reply.entries = ents;
		m->u.baseline_reply.nentries = r->n_entries;
		m->u.baseline_reply.last = r->last;
		m->u.baseline_reply.total = r->total;
		break;
	}
	case IPC_POLL_REQUEST: {
		Vtw__Ipc__PollRequest *r = env->poll_request;
		struct ipc_bytes *keys = NULL;

		if ((unsigned)r->structure > IPC_ST__MAX) {
			snprintf(err, errlen, "structure %d out of range",
			    (int)r->structure);
			goto bad;
		}
		if (r->n_keys > 0) {
			if ((keys = calloc(r->n_keys, sizeof(*keys))) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			m->priv_arr1 = keys;
			for (i = 0; i < r->n_keys; i++) {
				if (check_bin(&r->keys[i], IPC_MAX_KEY_BYTES,
				    "key", err, errlen) == -1)
					goto bad;
				keys[i].p = (const char *)r->keys[i].data;
				keys[i].len = r->keys[i].len;
			}
		}
		m->u.poll_request.rule_id = r->rule_id;
		m->u.poll_request.datasource = r->datasource;
		m->u.poll_request.structure = (enum ipc_structure)r->structure;
		m->u.poll_request.target = r->target;
		m->u.poll_request.marker = r->marker;
		m->u.poll_request.detect_extra = r->detect_extra;
		m->u.poll_request.tenant = r->tenant;
		m->u.poll_request.env = r->env;
		m->u.poll_request.label = r->label;
		m->u.poll_request.files = (const char *const *)r->files;
		m->u.poll_request.nfiles = r->n_files;
		m->u.poll_request.watch = r->watch;
		m->u.poll_request.database = r->database;
		m->u.poll_request.keys = keys;
		m->u.poll_request.nkeys = r->n_keys;
		m->u.poll_request.last = r->last;
		m->u.poll_request.total = r->total;
		break;
	}
	case IPC_POLL_REPLY: {
		Vtw__Ipc__PollReply *r = env->poll_reply;
		struct ipc_value *vals = NULL;
		size_t nv = r->n_values, ne = r->n_extras;

		if ((unsigned)r->status > IPC_POLL_UNKNOWN) {
			snprintf(err, errlen, "poll status %d out of range",
			    (int)r->status);
			goto bad;
		}
		if (check_str(r->error, NAME_MAX_BYTES, "error", err,
		    errlen) == -1)
			goto bad;
		if (nv + ne > 0) {
			if ((vals = calloc(nv + ne, sizeof(*vals))) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			m->priv_arr1 = vals;
			for (i = 0; i < nv; i++)
				if (value_from_pb(&vals[i], r->values[i], err,
				    errlen) == -1)
					goto bad;
			for (i = 0; i < ne; i++)
				if (value_from_pb(&vals[nv + i], r->extras[i],
				    err, errlen) == -1)
					goto bad;
		}
		m->u.poll_reply.rule_id = r->rule_id;
		m->u.poll_reply.status = (enum ipc_poll_status)r->status;
		m->u.poll_reply.error = r->error;
		m->u.poll_reply.values = vals;
		m->u.poll_reply.nvalues = nv;
		m->u.poll_reply.extras = vals ? vals + nv : NULL;
		m->u.poll_reply.nextras = ne;
		m->u.poll_reply.marker_present = r->marker_present;
		m->u.poll_reply.last = r->last;
		break;
	}
	default:
		snprintf(err, errlen, "unexpected message type %u", env->type);
		goto bad;
	}
	return 0;
 bad:
	ipc_msg_release(m);
	return -1;
}

void
ipc_msg_release(struct ipc_msg *m)
{
	if (m->priv_env != NULL)
		vtw__ipc__envelope__free_unpacked(m->priv_env, NULL);
	free(m->priv_arr1);
	free(m->priv_arr2);
	memset(m, 0, sizeof(*m));
}
