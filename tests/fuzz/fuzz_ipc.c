/*
 * The IPC codec, both directions: ipc_msg_decode over every message type
 * (what a worker sends the supervisor: HELLO, BASELINE_REPLY, POLL_REPLY,
 * NOTIFY; what the supervisor sends a worker: CONF_*, BASELINE_REQUEST,
 * POLL_REQUEST, SHUTDOWN), and each built kind's settings
 * (ConfDatasource.settings) and scope (PollRequest.scope) messages.
 * Whatever decodes must encode again, and that must decode.
 *
 * Input: byte 0 picks the decoder: 0 the envelope, then for each kind in
 * kinds[] its settings and its scope (mode % (1 + 2 x kinds)); the rest
 * is the message. A decoded CONF_DATASOURCE's settings go to its kind's
 * decoder, a POLL_REQUEST's scope to every kind's.
 *
 * VTW_FUZZ_SEEDS=DIR fuzz_ipc writes the seeds (tests/fuzz/ipc: one
 * message of each type, each kind's settings and scope) into DIR and
 * exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "msg.h"
#ifdef VTW_KIND_REDIS
#include "kinds/redis.h"
#endif
#ifdef VTW_KIND_MONGO
#include "kinds/mongo.h"
#endif
#ifdef VTW_KIND_ZOOKEEPER
#include "kinds/zookeeper.h"
#endif
#ifdef VTW_KIND_LINUX_SERVER
#include "kinds/linux_server.h"
#endif
#ifdef VTW_KIND_S3
#include "kinds/s3.h"
#endif
#ifdef VTW_KIND_TESTKV
#include "kinds/testkv.h"
#endif

/*
 * KIND_MSG(p, what): p_what(in) unpacks, packs what it got, unpacks that
 * again (which must work) and releases both.
 */
#define KIND_MSG(K, what)						\
static void								\
K##_##what(const struct ipc_bytes *in)					\
{									\
	struct ipc_##K##_##what s, s2;					\
	struct ipc_bytes b;						\
	char err[256];							\
	void *buf;							\
	size_t len;							\
									\
	if (ipc_##K##_##what##_unpack(&s, in, err, sizeof(err)) == 0) {	\
		FZ_ASSERT(ipc_##K##_##what##_pack(&buf, &len, &s) == 0);	\
		b.p = buf;						\
		b.len = len;						\
		FZ_ASSERT(ipc_##K##_##what##_unpack(&s2, &b, err,		\
		    sizeof(err)) == 0);					\
		ipc_##K##_##what##_release(&s2);			\
		free(buf);						\
	}								\
	ipc_##K##_##what##_release(&s);					\
}

/* SEED_MSG(K, what): p_what_seed(&buf, &len) packs an empty one */
#define SEED_MSG(K, what)						\
static int								\
K##_##what##_seed(void **buf, size_t *len)				\
{									\
	struct ipc_##K##_##what s;					\
									\
	memset(&s, 0, sizeof(s));					\
	return ipc_##K##_##what##_pack(buf, len, &s);			\
}

#define KIND(K)	KIND_MSG(K, settings) KIND_MSG(K, scope)		\
		SEED_MSG(K, settings) SEED_MSG(K, scope)

struct kind {
	const char	*name;
	void		(*settings)(const struct ipc_bytes *);
	void		(*scope)(const struct ipc_bytes *);
	int		(*settings_seed)(void **, size_t *);
	int		(*scope_seed)(void **, size_t *);
};

#ifdef VTW_KIND_REDIS
KIND(redis)
#endif
#ifdef VTW_KIND_MONGO
KIND(mongo)
#endif
#ifdef VTW_KIND_ZOOKEEPER
KIND(zookeeper)
#endif
#ifdef VTW_KIND_LINUX_SERVER
KIND(linux)
#endif
#ifdef VTW_KIND_S3
KIND(s3)
#endif
#ifdef VTW_KIND_TESTKV
KIND(testkv)
#endif

static const struct kind kinds[] = {
#ifdef VTW_KIND_REDIS
	{ "redis", redis_settings, redis_scope, redis_settings_seed,
	    redis_scope_seed },
#endif
#ifdef VTW_KIND_MONGO
	{ "mongo", mongo_settings, mongo_scope, mongo_settings_seed,
	    mongo_scope_seed },
#endif
#ifdef VTW_KIND_ZOOKEEPER
	{ "zookeeper", zookeeper_settings, zookeeper_scope, zookeeper_settings_seed,
	    zookeeper_scope_seed },
#endif
#ifdef VTW_KIND_LINUX_SERVER
	{ "linux_server", linux_settings, linux_scope, linux_settings_seed,
	    linux_scope_seed },
#endif
#ifdef VTW_KIND_S3
	{ "s3", s3_settings, s3_scope, s3_settings_seed,
	    s3_scope_seed },
#endif
#ifdef VTW_KIND_TESTKV
	{ "testkv", testkv_settings, testkv_scope, testkv_settings_seed,
	    testkv_scope_seed },
#endif
	{ NULL, NULL, NULL, NULL, NULL }
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]) - 1)

/* ---- seeds ---- */

static void
seed_write(const char *dir, const char *name, unsigned int mode,
    const void *p, size_t n)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL || fputc((int)mode, fp) == EOF ||
	    fwrite(p, 1, n, fp) != n || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

static const char *const files[] = { "config/app.yaml", "b.json" };
static const struct ipc_pair pairs[] = { { .key = "new", .val = "old" },
    { .key = "k", .val = "v\xc3\xa9" } };

/* one valid message of type t (as tests/unit/test_msg.c's) */
static void
sample(struct ipc_msg *m, enum ipc_msg_type t)
{
	static struct ipc_bytes keys[3];
	static struct ipc_value vals[3];

	memset(m, 0, sizeof(*m));
	m->type = t;
	m->seq = 1000 + t;
	keys[0].p = "a\0b";
	keys[0].len = 3;
	keys[1].p = "db.password";
	keys[1].len = 11;
	keys[2].p = "";
	keys[2].len = 0;
	memset(vals, 0, sizeof(vals));
	vals[0].key = keys[0];
	vals[0].present = 1;
	vals[0].val.p = "x\xff";
	vals[0].val.len = 2;
	vals[1].key = keys[1];
	vals[2].key = keys[2];
	vals[2].present = 1;
	vals[2].val.p = "tr";
	vals[2].val.len = 2;
	vals[2].truncated = 1;
	vals[2].full_len = 999;
	memset(vals[2].digest, 0xab, sizeof(vals[2].digest));
	switch (t) {
	case IPC_HELLO:
		m->u.hello.kind = "redis";
		m->u.hello.pid = 1234;
		m->u.hello.proto_version = IPC_PROTO_VERSION;
		break;
	case IPC_CONF_PLATFORM:
		m->u.conf_platform.name = "gh";
		m->u.conf_platform.type = "github";
		m->u.conf_platform.endpoint = "https://api.github.com";
		m->u.conf_platform.token = "ghp_token";
		break;
	case IPC_CONF_DATASOURCE:
		m->u.conf_datasource.name = "cache";
		m->u.conf_datasource.type = "redis";
		m->u.conf_datasource.connect_timeout_ms = 1500;
		m->u.conf_datasource.command_timeout_ms = 2500;
		m->u.conf_datasource.settings.p = "\x0a\x01h\x10\x01";
		m->u.conf_datasource.settings.len = 5;
		break;
	case IPC_CONF_GIT:
		m->u.conf_git.cache_dir = "/var/cache/vtw";
		m->u.conf_git.max_file_bytes = 1u << 20;
		m->u.conf_git.max_keys = 5000;
		m->u.conf_git.max_parallel_fetches = 8;
		m->u.conf_git.fetch_timeout_ms = 45000;
		break;
	case IPC_BASELINE_REQUEST:
		m->u.baseline_request.rule_id = 9;
		m->u.baseline_request.platform = "gh";
		m->u.baseline_request.repo_url = "/tmp/repo";
		m->u.baseline_request.branch = "main";
		m->u.baseline_request.files = files;
		m->u.baseline_request.nfiles = 2;
		m->u.baseline_request.root_key_set = 1;
		m->u.baseline_request.env = "prod";
		m->u.baseline_request.variables_map = pairs;
		m->u.baseline_request.nvariables_map = 2;
		m->u.baseline_request.key_format = "flat";
		m->u.baseline_request.key_prefix = "t:ds:prod";
		m->u.baseline_request.known_commit = "abc";
		m->u.baseline_request.want_commit = "def";
		m->u.baseline_request.refresh_ms = 500;
		break;
	case IPC_BASELINE_REPLY:
		m->u.baseline_reply.rule_id = 9;
		m->u.baseline_reply.status = IPC_BL_OK;
		m->u.baseline_reply.commit = "0123456789abcdef";
		m->u.baseline_reply.error = "";
		m->u.baseline_reply.entries = pairs;
		m->u.baseline_reply.nentries = 2;
		m->u.baseline_reply.last = 1;
		m->u.baseline_reply.total = 2;
		break;
	case IPC_POLL_REQUEST:
		m->u.poll_request.rule_id = 3;
		m->u.poll_request.rule = "app";
		m->u.poll_request.datasource = "cache";
		m->u.poll_request.target = "t:ds:prod";
		m->u.poll_request.marker = "t:ds:prod:__vartrack__";
		m->u.poll_request.detect_extra = 1;
		m->u.poll_request.keys = keys;
		m->u.poll_request.nkeys = 3;
		m->u.poll_request.last = 1;
		m->u.poll_request.total = 3;
		m->u.poll_request.scope.p = "\x08\x02";
		m->u.poll_request.scope.len = 2;
		break;
	case IPC_POLL_REPLY:
		m->u.poll_reply.rule_id = 3;
		m->u.poll_reply.status = IPC_POLL_OK;
		m->u.poll_reply.error = "";
		m->u.poll_reply.values = vals;
		m->u.poll_reply.nvalues = 2;
		m->u.poll_reply.extras = vals + 2;
		m->u.poll_reply.nextras = 1;
		m->u.poll_reply.marker_present = 1;
		m->u.poll_reply.last = 1;
		break;
	case IPC_NOTIFY:
		m->u.notify.rule_id = 77;
		break;
	default:	/* conf_done, shutdown: no payload fields */
		break;
	}
}

static void
write_seeds(const char *dir)
{
	struct ipc_msg m;
	char name[64];
	void *buf;
	size_t len, i;
	unsigned int t;

	for (t = IPC_NONE + 1; t < IPC_MSG_TYPE_MAX; t++) {
		sample(&m, (enum ipc_msg_type)t);
		if (ipc_msg_encode(&buf, &len, &m) == -1)
			abort();
		snprintf(name, sizeof(name), "msg-%s", ipc_msg_type_name(t));
		seed_write(dir, name, 0, buf, len);
		free(buf);
	}
	for (i = 0; i < NKINDS; i++) {
		if (kinds[i].settings_seed(&buf, &len) == -1)
			abort();
		snprintf(name, sizeof(name), "%s-settings", kinds[i].name);
		seed_write(dir, name, (unsigned int)(1 + 2 * i), buf, len);
		free(buf);
		if (kinds[i].scope_seed(&buf, &len) == -1)
			abort();
		snprintf(name, sizeof(name), "%s-scope", kinds[i].name);
		seed_write(dir, name, (unsigned int)(2 + 2 * i), buf, len);
		free(buf);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir;

	log_init("fuzz", LOG_LVL_ERROR);
	if ((dir = getenv("VTW_FUZZ_SEEDS")) != NULL) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

static void
envelope(const void *p, size_t n)
{
	struct ipc_msg m, m2;
	char err[256];
	void *buf;
	size_t len, i;

	if (ipc_msg_decode(&m, p, n, err, sizeof(err)) == -1) {
		FZ_ASSERT(err[0] != '\0');
		return;
	}
	FZ_ASSERT(m.type > IPC_NONE && m.type < IPC_MSG_TYPE_MAX);
	if (m.type == IPC_CONF_DATASOURCE) {
		for (i = 0; i < NKINDS; i++)
			if (m.u.conf_datasource.type != NULL &&
			    strcmp(m.u.conf_datasource.type,
			    kinds[i].name) == 0)
				kinds[i].settings(&m.u.conf_datasource.settings);
	} else if (m.type == IPC_POLL_REQUEST) {
		for (i = 0; i < NKINDS; i++)
			kinds[i].scope(&m.u.poll_request.scope);
	}
	/* what decoded encodes again, and decodes the same */
	FZ_ASSERT(ipc_msg_encode(&buf, &len, &m) == 0);
	FZ_ASSERT(ipc_msg_decode(&m2, buf, len, err, sizeof(err)) == 0);
	FZ_ASSERT(m2.type == m.type && m2.seq == m.seq);
	ipc_msg_release(&m2);
	free(buf);
	ipc_msg_release(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct ipc_bytes b;
	unsigned int mode;

	mode = fz_byte(&f) % (1 + 2 * NKINDS);
	b.p = (const char *)f.p;
	b.len = f.n;
	if (mode == 0)
		envelope(f.p, f.n);
	else if (mode % 2 == 1)
		kinds[(mode - 1) / 2].settings(&b);
	else
		kinds[(mode - 1) / 2].scope(&b);
	return 0;
}
