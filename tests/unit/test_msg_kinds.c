/*
 * Each enabled kind's IPC messages (ipc/kinds/<kind>.c): round trips of
 * settings and scope, the same validation as the envelope (enum ranges,
 * UTF-8, caps), and hostile bytes never crash the unpackers.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "test_msg.h"

#define FUZZ_SEEDS	3000

/* bytes of a packed buffer */
static struct ipc_bytes
bytes(const void *p, size_t len)
{
	struct ipc_bytes b;

	b.p = p;
	b.len = len;
	return b;
}

/* Declares unpack_<name>(): unpack, release, return the result. */
#define KIND_DECODER(name, type, unpack, release)			\
static int								\
unpack_##name(const void *buf, size_t len)				\
{									\
	type o;								\
	struct ipc_bytes in = bytes(buf, len);				\
	char err[256] = "";						\
	int rc = unpack(&o, &in, err, sizeof(err));			\
									\
	if (rc == -1)							\
		cr_assert(err[0] != '\0', "-1 without a message");	\
	release(&o);							\
	return rc;							\
}

/* pack s, check it unpacks, then fuzz the unpacker with it */
#define FUZZ_PACKED(pack, s, name) do {					\
	void *buf_;							\
	size_t len_;							\
									\
	cr_assert_eq(pack(&buf_, &len_, (s)), 0);			\
	cr_assert_eq(unpack_##name(buf_, len_), 0);			\
	tm_fuzz(buf_, len_, FUZZ_SEEDS, unpack_##name);			\
	free(buf_);							\
} while (0)

/* pack *(s) and unpack it into *(o) (release it afterwards) */
#define ROUNDTRIP(pack, unpack, s, o) do {				\
	void *buf_;							\
	size_t len_;							\
	struct ipc_bytes in_;						\
	char err_[256] = "";						\
									\
	cr_assert_eq(pack(&buf_, &len_, (s)), 0);			\
	in_ = bytes(buf_, len_);					\
	cr_assert_eq(unpack((o), &in_, err_, sizeof(err_)), 0, "%s",	\
	    err_);							\
	free(buf_);	/* the unpacked struct owns copies */		\
} while (0)

/* pack s; unpacking it must fail with want in err */
#define EXPECT_UNPACK_FAILS(pack, unpack, release, type, s, want) do {	\
	void *buf_;							\
	size_t len_;							\
	type o_;							\
	struct ipc_bytes in_;						\
	char err_[256] = "";						\
									\
	cr_assert_eq(pack(&buf_, &len_, (s)), 0);			\
	in_ = bytes(buf_, len_);					\
	cr_expect_eq(unpack(&o_, &in_, err_, sizeof(err_)), -1);	\
	cr_expect(strstr(err_, (want)) != NULL, "'%s' lacks '%s'",	\
	    err_, (want));						\
	release(&o_);							\
	free(buf_);							\
} while (0)

#ifdef VTW_KIND_REDIS
#include "kinds/redis.h"

KIND_DECODER(redis_settings, struct ipc_redis_settings,
    ipc_redis_settings_unpack, ipc_redis_settings_release)
KIND_DECODER(redis_scope, struct ipc_redis_scope, ipc_redis_scope_unpack,
    ipc_redis_scope_release)

Test(msg_kinds, redis)
{
	struct ipc_redis_settings s = { "cache.local", 6380, "s\xc3\xa9" "cret", 3,
	    NULL }, o;
	struct ipc_redis_scope sc = { IPC_REDIS_JSON, NULL }, so;
	struct ipc_bytes in;
	char err[256];

	ROUNDTRIP(ipc_redis_settings_pack, ipc_redis_settings_unpack, &s, &o);
	cr_assert_str_eq(o.host, "cache.local");
	cr_assert_eq(o.port, 6380);
	cr_assert_str_eq(o.password, "s\xc3\xa9" "cret");
	cr_assert_eq(o.db, 3);
	ipc_redis_settings_release(&o);
	cr_assert_null(o.priv);
	ROUNDTRIP(ipc_redis_scope_pack, ipc_redis_scope_unpack, &sc, &so);
	cr_assert_eq(so.structure, IPC_REDIS_JSON);
	ipc_redis_scope_release(&so);
	/* no bytes at all: the defaults */
	in = bytes(NULL, 0);
	cr_assert_eq(ipc_redis_scope_unpack(&so, &in, err, sizeof(err)), 0);
	cr_assert_eq(so.structure, IPC_REDIS_HASH);
	ipc_redis_scope_release(&so);

	s.port = 65536;
	EXPECT_UNPACK_FAILS(ipc_redis_settings_pack, ipc_redis_settings_unpack,
	    ipc_redis_settings_release, struct ipc_redis_settings, &s, "port");
	s.port = 6379;
	s.host = "bad\xed\xa0\x80";
	EXPECT_UNPACK_FAILS(ipc_redis_settings_pack, ipc_redis_settings_unpack,
	    ipc_redis_settings_release, struct ipc_redis_settings, &s,
	    "not valid UTF-8");
	s.host = "h";
	s.password = "\xc0\x80";
	EXPECT_UNPACK_FAILS(ipc_redis_settings_pack, ipc_redis_settings_unpack,
	    ipc_redis_settings_release, struct ipc_redis_settings, &s,
	    "not valid UTF-8");
	sc.structure = (enum ipc_redis_structure)3;
	EXPECT_UNPACK_FAILS(ipc_redis_scope_pack, ipc_redis_scope_unpack,
	    ipc_redis_scope_release, struct ipc_redis_scope, &sc,
	    "out of range");
	s.password = "p";
	FUZZ_PACKED(ipc_redis_settings_pack, &s, redis_settings);
	sc.structure = IPC_REDIS_STRING;
	FUZZ_PACKED(ipc_redis_scope_pack, &sc, redis_scope);
}
#endif

#ifdef VTW_KIND_MONGO
#include "kinds/mongo.h"

KIND_DECODER(mongo_settings, struct ipc_mongo_settings,
    ipc_mongo_settings_unpack, ipc_mongo_settings_release)
KIND_DECODER(mongo_scope, struct ipc_mongo_scope, ipc_mongo_scope_unpack,
    ipc_mongo_scope_release)

Test(msg_kinds, mongo)
{
	static const char *const files[] = { "a.yaml", "b/c.json", "" };
	struct ipc_mongo_settings s = { "mongodb://u:p@h:27017/?x=1", "vt", 1,
	    1, "/etc/ca.pem", 900, NULL }, o;
	struct ipc_mongo_scope sc = { IPC_MONGO_FILE, "acme", "prod", "ds",
	    "rules", files, 3, NULL }, so;

	ROUNDTRIP(ipc_mongo_settings_pack, ipc_mongo_settings_unpack, &s, &o);
	cr_assert_str_eq(o.uri, "mongodb://u:p@h:27017/?x=1");
	cr_assert_str_eq(o.database, "vt");
	cr_assert_eq(o.tls, 1);
	cr_assert_eq(o.tls_insecure, 1);
	cr_assert_str_eq(o.tls_ca_file, "/etc/ca.pem");
	cr_assert_eq(o.server_selection_timeout_ms, 900);
	ipc_mongo_settings_release(&o);
	ROUNDTRIP(ipc_mongo_scope_pack, ipc_mongo_scope_unpack, &sc, &so);
	cr_assert_eq(so.strategy, IPC_MONGO_FILE);
	cr_assert_str_eq(so.tenant, "acme");
	cr_assert_str_eq(so.env, "prod");
	cr_assert_str_eq(so.label, "ds");
	cr_assert_str_eq(so.database, "rules");
	cr_assert_eq(so.nfiles, 3);
	cr_assert_str_eq(so.files[1], "b/c.json");
	cr_assert_str_eq(so.files[2], "");
	ipc_mongo_scope_release(&so);

	sc.strategy = (enum ipc_mongo_strategy)2;
	EXPECT_UNPACK_FAILS(ipc_mongo_scope_pack, ipc_mongo_scope_unpack,
	    ipc_mongo_scope_release, struct ipc_mongo_scope, &sc,
	    "out of range");
	sc.strategy = IPC_MONGO_DOCUMENT;
	{
		static const char *const bad[] = { "ok", "\xf4\x90\x80\x80" };

		sc.files = bad;
		sc.nfiles = 2;
		EXPECT_UNPACK_FAILS(ipc_mongo_scope_pack,
		    ipc_mongo_scope_unpack, ipc_mongo_scope_release,
		    struct ipc_mongo_scope, &sc, "not valid UTF-8");
		sc.files = files;
	}
	sc.env = "\xe0\x80\x80";
	EXPECT_UNPACK_FAILS(ipc_mongo_scope_pack, ipc_mongo_scope_unpack,
	    ipc_mongo_scope_release, struct ipc_mongo_scope, &sc,
	    "not valid UTF-8");
	sc.env = "prod";
	s.uri = "\xff";
	EXPECT_UNPACK_FAILS(ipc_mongo_settings_pack, ipc_mongo_settings_unpack,
	    ipc_mongo_settings_release, struct ipc_mongo_settings, &s,
	    "not valid UTF-8");
	s.uri = "mongodb://h";
	FUZZ_PACKED(ipc_mongo_settings_pack, &s, mongo_settings);
	FUZZ_PACKED(ipc_mongo_scope_pack, &sc, mongo_scope);
}
#endif

#ifdef VTW_KIND_ZOOKEEPER
#include "kinds/zookeeper.h"

KIND_DECODER(zookeeper_settings, struct ipc_zookeeper_settings,
    ipc_zookeeper_settings_unpack, ipc_zookeeper_settings_release)
KIND_DECODER(zookeeper_scope, struct ipc_zookeeper_scope,
    ipc_zookeeper_scope_unpack, ipc_zookeeper_scope_release)

Test(msg_kinds, zookeeper)
{
	static const char *const hosts[] = { "zk1:2181", "zk2:2181" };
	struct ipc_zookeeper_settings s = { hosts, 2, "vt", "pw", 12000,
	    NULL }, o;
	struct ipc_zookeeper_scope sc = { IPC_ZOOKEEPER_SLASH_DOT, 1, NULL },
	    so;

	ROUNDTRIP(ipc_zookeeper_settings_pack, ipc_zookeeper_settings_unpack, &s, &o);
	cr_assert_eq(o.nhosts, 2);
	cr_assert_str_eq(o.hosts[1], "zk2:2181");
	cr_assert_str_eq(o.username, "vt");
	cr_assert_str_eq(o.password, "pw");
	cr_assert_eq(o.session_timeout_ms, 12000);
	ipc_zookeeper_settings_release(&o);
	ROUNDTRIP(ipc_zookeeper_scope_pack, ipc_zookeeper_scope_unpack, &sc, &so);
	cr_assert_eq(so.layout, IPC_ZOOKEEPER_SLASH_DOT);
	cr_assert_eq(so.watch, 1);
	ipc_zookeeper_scope_release(&so);

	sc.layout = (enum ipc_zookeeper_layout)-2;
	EXPECT_UNPACK_FAILS(ipc_zookeeper_scope_pack,
	    ipc_zookeeper_scope_unpack, ipc_zookeeper_scope_release,
	    struct ipc_zookeeper_scope, &sc, "out of range");
	sc.layout = IPC_ZOOKEEPER_SLASH;
	{
		static const char *const bad[] = { "zk1:2181", "\xed\xb0\x80" };

		s.hosts = bad;
		EXPECT_UNPACK_FAILS(ipc_zookeeper_settings_pack,
		    ipc_zookeeper_settings_unpack,
		    ipc_zookeeper_settings_release,
		    struct ipc_zookeeper_settings, &s, "not valid UTF-8");
		s.hosts = hosts;
	}
	s.session_timeout_ms = 0x80000000u;
	EXPECT_UNPACK_FAILS(ipc_zookeeper_settings_pack,
	    ipc_zookeeper_settings_unpack, ipc_zookeeper_settings_release,
	    struct ipc_zookeeper_settings, &s, "session_timeout_ms");
	s.session_timeout_ms = 10000;
	FUZZ_PACKED(ipc_zookeeper_settings_pack, &s, zookeeper_settings);
	FUZZ_PACKED(ipc_zookeeper_scope_pack, &sc, zookeeper_scope);
}
#endif

#ifdef VTW_KIND_LINUX_SERVER
#include "kinds/linux_server.h"

KIND_DECODER(linux_settings, struct ipc_linux_settings,
    ipc_linux_settings_unpack, ipc_linux_settings_release)
KIND_DECODER(linux_scope, struct ipc_linux_scope, ipc_linux_scope_unpack,
    ipc_linux_scope_release)

Test(msg_kinds, linux_server)
{
	struct ipc_linux_settings s, o;
	struct ipc_linux_scope sc = { IPC_LINUX_YAML, NULL }, so;

	memset(&s, 0, sizeof(s));
	s.ssh = 1;
	s.host = "web1";
	s.port = 2222;
	s.username = "deploy";
	s.password = "pw";
	s.ssh_key = bytes("-----BEGIN\0\xff", 12);	/* bytes: unchecked */
	s.ssh_known_hosts = bytes("web1 ssh-ed25519 AAAA", 21);
	s.max_file_bytes = 1ull << 33;
	ROUNDTRIP(ipc_linux_settings_pack, ipc_linux_settings_unpack, &s, &o);
	cr_assert_eq(o.ssh, 1);
	cr_assert_str_eq(o.host, "web1");
	cr_assert_eq(o.port, 2222);
	cr_assert_str_eq(o.username, "deploy");
	cr_assert_str_eq(o.password, "pw");
	cr_assert_eq(o.ssh_key.len, 12);
	cr_assert_eq(memcmp(o.ssh_key.p, "-----BEGIN\0\xff", 12), 0);
	cr_assert_eq(o.ssh_known_hosts.len, 21);
	cr_assert_eq(o.max_file_bytes, 1ull << 33);
	ipc_linux_settings_release(&o);
	ROUNDTRIP(ipc_linux_scope_pack, ipc_linux_scope_unpack, &sc, &so);
	cr_assert_eq(so.format, IPC_LINUX_YAML);
	ipc_linux_scope_release(&so);

	sc.format = (enum ipc_linux_format)5;
	EXPECT_UNPACK_FAILS(ipc_linux_scope_pack, ipc_linux_scope_unpack,
	    ipc_linux_scope_release, struct ipc_linux_scope, &sc,
	    "out of range");
	sc.format = IPC_LINUX_ENV;
	s.port = 70000;
	EXPECT_UNPACK_FAILS(ipc_linux_settings_pack, ipc_linux_settings_unpack,
	    ipc_linux_settings_release, struct ipc_linux_settings, &s, "port");
	s.port = 22;
	s.username = "r\xc1\x81";
	EXPECT_UNPACK_FAILS(ipc_linux_settings_pack, ipc_linux_settings_unpack,
	    ipc_linux_settings_release, struct ipc_linux_settings, &s,
	    "not valid UTF-8");
	s.username = "root";
	{
		static char key[64 * 1024 + 1];

		s.ssh_key = bytes(key, sizeof(key));
		EXPECT_UNPACK_FAILS(ipc_linux_settings_pack,
		    ipc_linux_settings_unpack, ipc_linux_settings_release,
		    struct ipc_linux_settings, &s, "ssh key");
		s.ssh_key = bytes("k", 1);
	}
	FUZZ_PACKED(ipc_linux_settings_pack, &s, linux_settings);
	FUZZ_PACKED(ipc_linux_scope_pack, &sc, linux_scope);
}
#endif

/* random bytes into every enabled unpacker */
Test(msg_kinds, random_bytes_never_crash)
{
	int (*const dec[])(const void *, size_t) = {
#ifdef VTW_KIND_REDIS
		unpack_redis_settings, unpack_redis_scope,
#endif
#ifdef VTW_KIND_MONGO
		unpack_mongo_settings, unpack_mongo_scope,
#endif
#ifdef VTW_KIND_ZOOKEEPER
		unpack_zookeeper_settings, unpack_zookeeper_scope,
#endif
#ifdef VTW_KIND_LINUX_SERVER
		unpack_linux_settings, unpack_linux_scope,
#endif
		NULL
	};
	unsigned char buf[256];
	size_t d, i, j, n;
	int rc;

	for (d = 0; dec[d] != NULL; d++) {
		srand((unsigned)d + 7);
		for (i = 0; i < 5000; i++) {
			n = (size_t)rand() % sizeof(buf);
			for (j = 0; j < n; j++)
				buf[j] = (unsigned char)rand();
			rc = dec[d](buf, n);
			cr_assert(rc == 0 || rc == -1);
		}
	}
}
