/*
 * Unit tests of conf/ for the mongo, zookeeper and linux_server datasources
 * and the rule layout keys of those sinks: every key, its default, every
 * message with its place, the files read at load (SSH key, known_hosts),
 * secrets kept out of messages and of the printer, and the round trip
 * through conf_print(); each kind's key formats, and the layout computed
 * at load (where the sink writes; a layout the daemon would refuse fails
 * the load).
 *
 * Criterion runs every test in its own process: setenv(), chdir() and
 * conf_system_known_hosts are local to a test.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_testutil.h"
#include "conf_int.h"
#include "kinds.h"


/* lines 1-4 */
#define PLATFORMS \
	"platforms:\n" \
	"  - name: github\n" \
	"    type: github\n" \
	"    token: {env: T_GITHUB_TOKEN}\n"
/* a rule on datasource "ds", 5 lines */
#define RULE_ON(ds) \
	"rules:\n" \
	"  - platform: github\n" \
	"    datasource: " ds "\n" \
	"    repo_url: https://example.com/cfg.git\n" \
	"    file_name: app.yaml\n"

static char tmpdir[64];

static void
setup(void)
{
	conf_test_env();
	/* no known_hosts anywhere unless a test puts one there */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vtw-test-sinks-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	setenv("HOME", tmpdir, 1);
	conf_system_known_hosts = "/nonexistent/ssh_known_hosts";
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
}

TestSuite(sinks, .init = setup, .fini = teardown);


/* tmpdir/name with content; returns the path (free()) */
static char *
put_file(const char *name, const char *content, size_t len)
{
	char *path;
	FILE *fp;

	cr_assert_neq(asprintf(&path, "%s/%s", tmpdir, name), -1);
	fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(content, 1, len, fp), len);
	fclose(fp);
	return path;
}

/* Print, load the print, print again: the same text, and the values. */
static struct vtw_conf *
round_trip(const struct vtw_conf *c1)
{
	struct vtw_conf *c2 = NULL;
	struct conf_errors e;
	char *p1, *p2;

	p1 = printed(c1);
	if (conf_load_buf(&c2, "printed.yaml", p1, strlen(p1), &e) != 0) {
		dump(&e);
		cr_log_info("%s", p1);
		cr_assert_fail("the print does not load");
	}
	conf_errors_free(&e);
	p2 = printed(c2);
	cr_expect_str_eq(p1, p2);
	free(p1);
	free(p2);
	return c2;
}

/* mongo */

Test(sinks, mongo_defaults)
{
	struct vtw_conf *c;
	const struct conf_datasource *ds;
	const struct conf_mongo_ds *d;

	c = load_clean(PLATFORMS
	    "datasources:\n"
	    "  - name: m\n"
	    "    type: mongo\n"
	    RULE_ON("m"));
	ds = &c->datasources[0];
	d = DS_MONGO(ds);
	cr_expect_eq(d->uri.src, SECRET_LITERAL);
	cr_expect_str_eq(d->uri.value, "mongodb://localhost:27017");
	cr_expect_eq(d->uri_derived, 1);
	cr_expect_str_eq(d->database, "vartrack");
	cr_expect_str_eq(d->collection, "configs");
	cr_expect_eq(d->tls, 0);
	cr_expect_null(d->tls_ca_file);
	cr_expect_eq(d->tls_insecure, 0);
	cr_expect_eq(d->server_selection_timeout_ms, 5000);
	cr_expect_eq(ds->connect_timeout_ms, CONF_DEFAULT_CONNECT_TIMEOUT_MS);
	cr_expect_eq(d->nhosts, 0);
	/* a mongo datasource: its settings are the mongo kind's */
	cr_expect_eq(ds->kind, ds_kind_byname("mongo"));
	cr_expect_str_eq(ds->type, "mongo");
	cr_expect_str_eq(R_MONGO(&c->rules[0])->mongo_strategy, "document");
	cr_expect_null(R_MONGO(&c->rules[0])->collection);
	cr_expect_eq(R_MONGO(&c->rules[0])->env_as_collection, 0);
	/* no layout keys of other kinds */
	cr_expect(rule_has_kind(&c->rules[0], "mongo"));
	cr_expect(!rule_has_kind(&c->rules[0], "linux_server"));
	cr_expect(!rule_has_kind(&c->rules[0], "zookeeper"));
	cr_expect(!rule_has_kind(&c->rules[0], "redis"));
	cr_expect_null(R_LINUX(&c->rules[0])->file_path);
	conf_free(round_trip(c));
	conf_free(c);
}

Test(sinks, mongo_all_keys)
{
	struct vtw_conf *c, *c2;
	const struct conf_datasource *ds;
	const struct conf_mongo_ds *d;
	char *p;

	c = load_clean(PLATFORMS
	    "datasources:\n"
	    "  - name: m\n"
	    "    type: mongo\n"
	    "    uri: \"mongodb+srv://cluster0.example.net/?retryWrites=true\"\n"
	    "    database: app\n"
	    "    collection: settings\n"
	    "    tls_ca_file: /etc/ssl/mongo-ca.pem\n"
	    "    tls_insecure: true\n"
	    "    server_selection_timeout: 1500ms\n"
	    "    connect_timeout: 2s\n"
	    "    command_timeout: 3s\n"
	    "    breaker_failures: 4\n"
	    "  - name: m2\n"
	    "    type: mongo\n"
	    "    hosts: [\"db1:27017\", \"db2:27018\"]\n"
	    "    tls: true\n"
	    RULE_ON("m")
	    "    mongo_strategy: FILE\n"
	    "    collection: variables\n"
	    "    env_as_collection: true\n"
	    "    key_format: dot\n"
	    "    destination_template: \"{tenant}_{env}\"\n");
	ds = &c->datasources[0];
	d = DS_MONGO(ds);
	cr_expect_str_eq(d->uri.value,
	    "mongodb+srv://cluster0.example.net/?retryWrites=true");
	cr_expect_eq(d->uri_derived, 0);
	cr_expect_str_eq(d->database, "app");
	cr_expect_str_eq(d->collection, "settings");
	cr_expect_eq(d->tls, 1);		/* a CA turns TLS on */
	cr_expect_str_eq(d->tls_ca_file, "/etc/ssl/mongo-ca.pem");
	cr_expect_eq(d->tls_insecure, 1);
	cr_expect_eq(d->server_selection_timeout_ms, 1500);
	cr_expect_eq(ds->connect_timeout_ms, 2000);
	cr_expect_eq(ds->command_timeout_ms, 3000);
	cr_expect_eq(ds->breaker_failures, 4);
	ds = &c->datasources[1];
	d = DS_MONGO(ds);
	cr_expect_str_eq(d->uri.value, "mongodb://db1:27017,db2:27018/");
	cr_expect_eq(d->uri_derived, 1);
	cr_expect_eq(d->tls, 1);
	cr_expect_str_eq(R_MONGO(&c->rules[0])->mongo_strategy, "file");
	cr_expect_str_eq(R_MONGO(&c->rules[0])->collection, "variables");
	cr_expect_eq(R_MONGO(&c->rules[0])->env_as_collection, 1);
	p = printed(c);
	cr_expect_not_null(strstr(p, "    uri: \"mongodb+srv://cluster0."
	    "example.net/?retryWrites=true\"\n"));
	cr_expect_not_null(strstr(p, "    hosts: [\"db1:27017\", "
	    "\"db2:27018\"]\n"));
	cr_expect_not_null(strstr(p, "    mongo_strategy: \"file\"\n"
	    "    collection: \"variables\"\n"
	    "    env_as_collection: true\n"));
	free(p);
	c2 = round_trip(c);
	cr_expect_str_eq(DS_MONGO(&c2->datasources[1])->uri.value,
	    "mongodb://db1:27017,db2:27018/");
	cr_expect_eq(DS_MONGO(&c2->datasources[0])->
	    server_selection_timeout_ms, 1500);
	conf_free(c2);
	conf_free(c);
}

/* A URI with credentials is a secret: it warns as a literal, never shows in
 * a message or the print; one without is plain configuration. */
Test(sinks, mongo_uri_secrets)
{
	struct vtw_conf *c, *c2;
	struct conf_errors e;
	char *p, *path, yaml[1024];

	cr_assert_eq(load(&c, &e, PLATFORMS
	    "datasources:\n"
	    "  - name: m\n"
	    "    type: mongo\n"
	    "    uri: \"mongodb://admin:S3CRET@db:27017/app?authSource=admin\"\n"
	    "  - name: m2\n"
	    "    type: mongo\n"
	    "    uri: \"mongodb://db:27017/?tlsCertificateKeyFilePassword="
	    "S3CRET\"\n"
	    RULE_ON("m")), 0);
	EXPECT_MSGS(e.warnings, e.nwarnings,
	    "t.yaml:8:10: literal secret in 'uri' (credentials in the URI); "
	    "use {env: NAME} or {file: PATH}",
	    "t.yaml:11:10: literal secret in 'uri' (credentials in the URI); "
	    "use {env: NAME} or {file: PATH}");
	cr_expect(!in_any(e.warnings, e.nwarnings, "S3CRET"));
	conf_errors_free(&e);
	cr_expect_str_eq(DS_MONGO(&c->datasources[0])->uri.value,
	    "mongodb://admin:S3CRET@db:27017/app?authSource=admin");
	p = printed(c);
	cr_expect_null(strstr(p, "S3CRET"));
	cr_expect_null(strstr(p, "admin:"));
	cr_expect_not_null(strstr(p, "    uri: \"mongodb://<redacted>@"
	    "db:27017/app?authSource=admin\"\n"));
	cr_expect_not_null(strstr(p, "    uri: \"mongodb://db:27017/"
	    "?<redacted>\"\n"));
	/* the print loads again (warning about the redacted userinfo) */
	cr_assert_eq(conf_load_buf(&c2, "p.yaml", p, strlen(p), &e), 0);
	conf_errors_free(&e);
	conf_free(c2);
	free(p);
	conf_free(c);

	/* by reference: printed as the reference */
	setenv("T_MONGO_URI", "mongodb://u:S3CRET@h/", 1);
	path = put_file("uri", "mongodb+srv://u:S3CRET@h/\n", 26);
	snprintf(yaml, sizeof(yaml), PLATFORMS
	    "datasources:\n"
	    "  - name: m\n"
	    "    type: mongo\n"
	    "    uri: {env: T_MONGO_URI}\n"
	    "  - name: m2\n"
	    "    type: mongo\n"
	    "    uri: {file: \"%s\"}\n"
	    RULE_ON("m"), path);
	c = load_clean(yaml);
	cr_expect_eq(DS_MONGO(&c->datasources[0])->uri.src, SECRET_ENV);
	cr_expect_str_eq(DS_MONGO(&c->datasources[0])->uri.value,
	    "mongodb://u:S3CRET@h/");
	cr_expect_eq(DS_MONGO(&c->datasources[1])->uri.src, SECRET_FILE);
	cr_expect_str_eq(DS_MONGO(&c->datasources[1])->uri.value,
	    "mongodb+srv://u:S3CRET@h/");
	p = printed(c);
	cr_expect_null(strstr(p, "S3CRET"));
	cr_expect_not_null(strstr(p, "    uri: {env: \"T_MONGO_URI\"}\n"));
	free(p);
	conf_free(round_trip(c));
	conf_free(c);
	free(path);

	/* a bad scheme: the URI is not echoed */
	setenv("T_MONGO_URI", "postgres://u:S3CRET@h/", 1);
	cr_assert_eq(load(&c, &e, PLATFORMS
	    "datasources:\n"
	    "  - name: m\n"
	    "    type: mongo\n"
	    "    uri: \"http://u:S3CRET@h/\"\n"
	    "  - name: m2\n"
	    "    type: mongo\n"
	    "    uri: {env: T_MONGO_URI}\n"
	    RULE_ON("m")), -1);
	EXPECT_MSGS(e.msgs, e.n,
	    "t.yaml:8:10: uri: must start with mongodb:// or mongodb+srv://",
	    "t.yaml:11:10: uri: must start with mongodb:// or "
	    "mongodb+srv://");
	cr_expect(!in_any(e.msgs, e.n, "S3CRET"));
	cr_expect(!in_any(e.warnings, e.nwarnings, "S3CRET"));
	conf_errors_free(&e);
}

Test(sinks, mongo_errors)
{
	EXPECT_ERRORS(PLATFORMS
	    "datasources:\n"
	    "  - name: m\n"
	    "    type: mongo\n"
	    "    uri: \"mongodb://h/\"\n"
	    "    hosts: [\"h:1\"]\n"
	    "    database: \"\"\n"
	    "    tls: maybe\n"
	    "    server_selection_timeout: 0s\n"
	    "  - name: m2\n"
	    "    type: mongo\n"
	    "    hosts: []\n"
	    "    collection: [x]\n"
	    "    uri: 42\n"
	    RULE_ON("m")
	    "    mongo_strategy: key_value\n"
	    "    collection: \"\"\n"
	    "    env_as_collection: sometimes\n"
	    "    key_format: flat\n",
	    "t.yaml:8:5: uri: give either uri or hosts, not both",
	    "t.yaml:10:15: database: must not be empty",
	    "t.yaml:11:10: tls: expected a bool (true or false), got 'maybe'",
	    "t.yaml:12:31: server_selection_timeout: must be greater than 0",
	    "t.yaml:15:12: hosts: expected at least one \"host:port\" for "
	    "mongo, got 0",
	    "t.yaml:16:17: collection: expected a string, got a list",
	    "t.yaml:17:5: uri: give either uri or hosts, not both",
	    "t.yaml:17:10: uri: must start with mongodb:// or mongodb+srv://",
	    "t.yaml:23:21: mongo_strategy: unknown strategy 'key_value' "
	    "(document, file)",
	    "t.yaml:24:17: collection: must not be empty",
	    "t.yaml:25:24: env_as_collection: expected a bool (true or false), "
	    "got 'sometimes'",
	    "t.yaml:26:17: key_format: 'flat' is not allowed for mongo "
	    "(allowed: dot)");
}

/* Keys of another type name the type they belong to. */
Test(sinks, keys_of_another_type)
{
	EXPECT_ERRORS(PLATFORMS
	    "datasources:\n"
	    "  - name: r\n"
	    "    type: redis\n"
	    "    hosts: [\"h:6379\"]\n"
	    "    uri: \"mongodb://h/\"\n"
	    "    ssh_host: h\n"
	    "    base_path: /x\n"
	    "  - type: mongo\n"
	    "    name: m\n"
	    "    db: 1\n"
	    "    password: {env: T_GITHUB_TOKEN}\n"
	    "    session_timeout: 5s\n"
	    "  - name: z\n"
	    "    type: zookeeper\n"
	    "    hosts: [\"zk:2181\"]\n"
	    "    database: d\n"
	    "    max_file_bytes: 1MiB\n"
	    "  - name: l\n"
	    "    type: linux_server\n"
	    "    hosts: [\"h:22\"]\n"
	    "    password: {env: T_GITHUB_TOKEN}\n"
	    "    username: u\n"
	    "    tls: true\n"
	    RULE_ON("r"),
	    "t.yaml:9:5: uri: not a key of a redis datasource (mongo only)",
	    "t.yaml:10:5: ssh_host: not a key of a redis datasource "
	    "(linux_server only)",
	    "t.yaml:11:5: base_path: not a key of a redis datasource "
	    "(zookeeper only)",
	    "t.yaml:14:5: db: not a key of a mongo datasource (redis only)",
	    "t.yaml:15:5: password: not a key of a mongo datasource (redis, "
	    "zookeeper only)",
	    "t.yaml:16:5: session_timeout: not a key of a mongo datasource "
	    "(zookeeper only)",
	    "t.yaml:20:5: database: not a key of a zookeeper datasource "
	    "(mongo only)",
	    "t.yaml:21:5: max_file_bytes: not a key of a zookeeper datasource "
	    "(linux_server" AND_TESTKV " only)",
	    "t.yaml:24:5: hosts: not a key of a linux_server datasource "
	    "(redis, mongo, zookeeper only)",
	    "t.yaml:25:5: password: not a key of a linux_server datasource "
	    "(redis, zookeeper only)",
	    "t.yaml:26:5: username: not a key of a linux_server datasource "
	    "(zookeeper only)",
	    "t.yaml:27:5: tls: not a key of a linux_server datasource "
	    "(mongo only)");
	/* types not supported yet: only that is said */
	EXPECT_ERRORS(PLATFORMS
	    "datasources:\n"
	    "  - name: s\n"
	    "    type: helm\n"
	    "    uri: x\n"
	    RULE_ON("s"),
	    "t.yaml:7:11: datasource type 'helm' is not supported yet",
	    "t.yaml:8:10: uri: must start with mongodb:// or mongodb+srv://");
}

/* zookeeper */

Test(sinks, zookeeper_keys)
{
	struct vtw_conf *c, *c2;
	const struct conf_datasource *ds;
	const struct conf_zk_ds *d;
	char *p;

	setenv("T_ZK_PASSWORD", "zk-S3CRET", 1);
	c = load_clean(PLATFORMS
	    "datasources:\n"
	    "  - name: z\n"
	    "    type: zookeeper\n"
	    "    hosts: \"zk1:2181\"\n"
	    "  - name: z2\n"
	    "    type: zookeeper\n"
	    "    hosts: [\"zk1:2181\", \"zk2:2181\", \"[::1]:2181\"]\n"
	    "    session_timeout: 30s\n"
	    "    username: vartrack\n"
	    "    password: {env: T_ZK_PASSWORD}\n"
	    "    base_path: /vartrack//\n"
	    "  - name: z3\n"
	    "    type: zookeeper\n"
	    "    hosts: [\"zk1:2181\"]\n"
	    "    base_path: /\n"
	    RULE_ON("z")
	    "  - platform: github\n"
	    "    datasource: z2\n"
	    "    repo_url: r\n"
	    "    file_name: b.yaml\n"
	    "    zk_base_path: /apps/\n"
	    "    zk_path_template: \"/{env}/{tenant}\"\n"
	    "    watch: false\n"
	    "    key_format: slash_dot\n");
	ds = &c->datasources[0];
	d = DS_ZK(ds);
	cr_assert_eq(d->nhosts, 1);
	cr_expect_eq(d->session_timeout_ms, 10000);
	cr_expect_null(d->username);
	cr_expect_eq(d->password.src, SECRET_NONE);
	cr_expect_str_eq(d->base_path, "");
	/* a zookeeper datasource: no mongo settings */
	cr_expect_eq(ds->kind, ds_kind_byname("zookeeper"));
	cr_expect_neq(ds->kind, ds_kind_byname("mongo"));
	ds = &c->datasources[1];
	d = DS_ZK(ds);
	cr_assert_eq(d->nhosts, 3);
	cr_expect_str_eq(d->hosts[2], "[::1]:2181");
	cr_expect_eq(d->session_timeout_ms, 30000);
	cr_expect_str_eq(d->username, "vartrack");
	cr_expect_str_eq(d->password.value, "zk-S3CRET");
	cr_expect_str_eq(d->base_path, "/vartrack");
	cr_expect_str_eq(DS_ZK(&c->datasources[2])->base_path, "");
	cr_expect_null(R_ZK(&c->rules[0])->zk_base_path);
	cr_expect_null(R_ZK(&c->rules[0])->zk_path_template);
	cr_expect_eq(R_ZK(&c->rules[0])->watch, 1);
	cr_expect_null(R_MONGO(&c->rules[0])->mongo_strategy);
	cr_expect(!rule_has_kind(&c->rules[0], "mongo"));
	cr_expect_str_eq(R_ZK(&c->rules[1])->zk_base_path, "/apps");
	cr_expect_str_eq(R_ZK(&c->rules[1])->zk_path_template,
	    "/{env}/{tenant}");
	cr_expect_eq(R_ZK(&c->rules[1])->watch, 0);
	cr_expect_str_eq(c->rules[1].key_format, "slash_dot");
	p = printed(c);
	cr_expect_null(strstr(p, "S3CRET"));
	cr_expect_not_null(strstr(p, "    username: \"vartrack\"\n"
	    "    password: {env: \"T_ZK_PASSWORD\"}\n"
	    "    session_timeout: 30s\n"
	    "    base_path: \"/vartrack\"\n"));
	cr_expect_not_null(strstr(p, "    watch: true\n"));
	cr_expect_not_null(strstr(p, "    zk_base_path: \"/apps\"\n"
	    "    zk_path_template: \"/{env}/{tenant}\"\n"
	    "    watch: false\n"));
	free(p);
	c2 = round_trip(c);
	cr_expect_str_eq(DS_ZK(&c2->datasources[1])->password.value,
	    "zk-S3CRET");
	conf_free(c2);
	conf_free(c);
}

Test(sinks, zookeeper_errors)
{
	EXPECT_ERRORS(PLATFORMS
	    "datasources:\n"
	    "  - name: z\n"
	    "    type: zookeeper\n"
	    "    session_timeout: 500ms\n"
	    "    username: u\n"
	    "  - name: z2\n"
	    "    type: zookeeper\n"
	    "    hosts: []\n"
	    "    password: {env: T_GITHUB_TOKEN}\n"
	    "    base_path: vartrack\n"
	    "  - name: z3\n"
	    "    type: zookeeper\n"
	    "    hosts: [\"zk\"]\n"
	    RULE_ON("z")
	    "    zk_base_path: apps\n"
	    "    zk_path_template: \"/{tenant}/{datasource}\"\n"
	    "    watch: [x]\n"
	    "    key_format: dot\n",
	    "t.yaml:6:5: missing required key 'hosts' in datasource 'z'",
	    "t.yaml:8:22: session_timeout: must be at least 1s",
	    "t.yaml:9:5: username: digest auth needs a password too",
	    "t.yaml:12:12: hosts: expected at least one \"host:port\" for "
	    "zookeeper, got 0",
	    "t.yaml:13:5: password: digest auth needs a username too",
	    "t.yaml:14:16: base_path: 'vartrack' must be empty or start with "
	    "'/'",
	    "t.yaml:17:13: hosts[0]: missing port in 'zk' (expected "
	    "\"host:port\")",
	    "t.yaml:23:19: zk_base_path: 'apps' must be empty or start with "
	    "'/'",
	    "t.yaml:24:23: zk_path_template: unknown placeholder "
	    "'{datasource}' (only {tenant} and {env})",
	    "t.yaml:25:12: watch: expected a bool, got a list",
	    "t.yaml:26:17: key_format: 'dot' is not allowed for zookeeper "
	    "(allowed: slash, slash_dot)");
}

/* linux_server */

Test(sinks, linux_server_local)
{
	struct vtw_conf *c;
	const struct conf_datasource *ds;
	const struct conf_linux_ds *d;
	const struct conf_rule *r;
	char *p;

	c = load_clean(PLATFORMS
	    "datasources:\n"
	    "  - name: l\n"
	    "    type: linux_server\n"
	    "  - name: l2\n"
	    "    type: linux_server\n"
	    "    max_file_bytes: 512KiB\n"
	    RULE_ON("l")
	    "  - platform: github\n"
	    "    datasource: l2\n"
	    "    repo_url: r\n"
	    "    file_name: b.yaml\n"
	    "    file_path: /srv/app/settings.JSON\n"
	    "    env_as_filename: false\n"
	    "    env_as_dir: true\n"
	    "    key_format: flat\n"
	    "    destination_template: \"/srv/{tenant}/{env}.env\"\n"
	    "  - platform: github\n"
	    "    datasource: l2\n"
	    "    repo_url: r\n"
	    "    file_name: c.yaml\n"
	    "    file_path: /srv/app/settings.json\n"
	    "    file_format: Properties\n");
	ds = &c->datasources[0];
	d = DS_LINUX(ds);
	cr_expect_null(d->ssh_host);
	cr_expect_eq(d->ssh_port, 22);
	cr_expect_str_eq(d->ssh_user, "root");
	cr_expect_null(d->ssh_key_path);
	cr_expect_null(d->ssh_key);
	cr_expect_eq(d->ssh_key_len, 0);
	cr_expect_null(d->ssh_known_hosts_file);		/* not needed */
	cr_expect_null(d->ssh_known_hosts);
	cr_expect_eq(d->max_file_bytes, 16 * 1024 * 1024);
	cr_expect_eq(DS_LINUX(&c->datasources[1])->max_file_bytes,
	    512 * 1024);
	r = &c->rules[0];
	cr_expect_str_eq(R_LINUX(r)->file_path, "/etc/vartrack/config.env");
	cr_expect_eq(R_LINUX(r)->env_as_filename, 1);
	cr_expect_eq(R_LINUX(r)->env_as_dir, 0);
	cr_expect_null(R_LINUX(r)->file_format);
	cr_expect_str_eq(conf_linux_file_format(R_LINUX(r)), "env");
	r = &c->rules[1];
	cr_expect_str_eq(R_LINUX(r)->file_path, "/srv/app/settings.JSON");
	cr_expect_eq(R_LINUX(r)->env_as_filename, 0);
	cr_expect_eq(R_LINUX(r)->env_as_dir, 1);
	cr_expect_str_eq(conf_linux_file_format(R_LINUX(r)), "json");
	r = &c->rules[2];
	cr_expect_str_eq(R_LINUX(r)->file_format, "Properties");
	cr_expect_str_eq(conf_linux_file_format(R_LINUX(r)), "properties");
	p = printed(c);
	/* no ssh_* without ssh_host */
	cr_expect_null(strstr(p, "ssh_"));
	cr_expect_not_null(strstr(p, "    max_file_bytes: 16MiB\n"));
	cr_expect_not_null(strstr(p, "    max_file_bytes: 512KiB\n"));
	cr_expect_not_null(strstr(p, "    file_path: \"/etc/vartrack/"
	    "config.env\"\n"
	    "    env_as_filename: true\n"
	    "    env_as_dir: false\n"));
	free(p);
	conf_free(round_trip(c));
	conf_free(c);
}

Test(sinks, linux_server_ssh)
{
	static const char key[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
	    "S3CRET-KEY-MATERIAL\n-----END OPENSSH PRIVATE KEY-----\n";
	struct vtw_conf *c, *c2;
	struct conf_errors e;
	const struct conf_datasource *ds;
	const struct conf_linux_ds *d;
	char *kp, *hp, *p, yaml[2048];

	kp = put_file("id_ed25519", key, sizeof(key) - 1);
	hp = put_file("known_hosts", "10.0.0.7 ssh-ed25519 AAAA\n", 26);
	setenv("T_SSH_PASSWORD", "ssh-S3CRET", 1);
	snprintf(yaml, sizeof(yaml), PLATFORMS
	    "datasources:\n"
	    "  - name: l\n"
	    "    type: linux_server\n"
	    "    ssh_host: 10.0.0.7\n"
	    "    ssh_port: 2222\n"
	    "    ssh_user: deploy\n"
	    "    ssh_key_path: \"%s\"\n"
	    "    ssh_known_hosts_file: \"%s\"\n"
	    "    max_file_bytes: 1048577\n"
	    "    connect_timeout: 3s\n"
	    "  - name: l2\n"
	    "    type: linux_server\n"
	    "    ssh_host: web1.example.net\n"
	    "    ssh_password: {env: T_SSH_PASSWORD}\n"
	    "    ssh_known_hosts_file: \"%s\"\n"
	    RULE_ON("l")
	    "    file_path: /etc/app/app.yml\n", kp, hp, hp);
	cr_assert_eq(load(&c, &e, yaml), 0);
	cr_expect_eq(e.nwarnings, 0);
	cr_expect(!in_any(e.infos, e.ninfos, "S3CRET"));
	conf_errors_free(&e);
	ds = &c->datasources[0];
	d = DS_LINUX(ds);
	cr_expect_str_eq(d->ssh_host, "10.0.0.7");
	cr_expect_eq(d->ssh_port, 2222);
	cr_expect_str_eq(d->ssh_user, "deploy");
	cr_expect_str_eq(d->ssh_key_path, kp);
	cr_assert_eq(d->ssh_key_len, sizeof(key) - 1);
	cr_expect_eq(memcmp(d->ssh_key, key, sizeof(key) - 1), 0);
	cr_expect_eq(d->ssh_key[d->ssh_key_len], '\0');
	cr_expect_str_eq(d->ssh_known_hosts_file, hp);
	cr_expect_eq(d->ssh_known_hosts_len, 26);
	cr_expect_eq(strncmp(d->ssh_known_hosts, "10.0.0.7 ", 9), 0);
	cr_expect_eq(d->password.src, SECRET_NONE);
	cr_expect_eq(d->max_file_bytes, 1048577);
	ds = &c->datasources[1];
	d = DS_LINUX(ds);
	cr_expect_str_eq(d->ssh_user, "root");
	cr_expect_eq(d->ssh_port, 22);
	cr_expect_null(d->ssh_key);
	cr_expect_str_eq(d->password.value, "ssh-S3CRET");
	cr_expect_str_eq(conf_linux_file_format(R_LINUX(&c->rules[0])), "yaml");
	p = printed(c);
	cr_expect_null(strstr(p, "S3CRET"));
	cr_expect_null(strstr(p, "BEGIN OPENSSH"));
	cr_expect_not_null(strstr(p, "    ssh_host: \"10.0.0.7\"\n"
	    "    ssh_port: 2222\n"
	    "    ssh_user: \"deploy\"\n"
	    "    ssh_key_path: \""));
	cr_expect_not_null(strstr(p, "    ssh_password: {env: "
	    "\"T_SSH_PASSWORD\"}\n"));
	cr_expect_not_null(strstr(p, "    max_file_bytes: 1048577\n"));
	free(p);
	c2 = round_trip(c);
	cr_expect_eq(DS_LINUX(&c2->datasources[0])->ssh_key_len,
	    sizeof(key) - 1);
	cr_expect_str_eq(DS_LINUX(&c2->datasources[1])->password.value,
	    "ssh-S3CRET");
	conf_free(c2);
	conf_free(c);
	free(kp);
	free(hp);
}

/* known_hosts: the system's, else $HOME/.ssh/known_hosts, else an error */
Test(sinks, linux_server_known_hosts_default)
{
	struct vtw_conf *c;
	char *kp, *sys, *user, dir[128];
	char yaml[1024];

	kp = put_file("key", "k\n", 2);
	snprintf(yaml, sizeof(yaml), PLATFORMS
	    "datasources:\n"
	    "  - name: l\n"
	    "    type: linux_server\n"
	    "    ssh_host: h\n"
	    "    ssh_key_path: \"%s\"\n"
	    RULE_ON("l"), kp);
	EXPECT_ERRORS(yaml,
	    "t.yaml:8:5: ssh_host set but no known_hosts file: set "
	    "ssh_known_hosts_file");

	snprintf(dir, sizeof(dir), "%s/.ssh", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	user = put_file(".ssh/known_hosts", "h ssh-ed25519 USER\n", 19);
	c = load_clean(yaml);
	cr_expect_str_eq(DS_LINUX(&c->datasources[0])->ssh_known_hosts_file,
	    user);
	cr_expect_eq(DS_LINUX(&c->datasources[0])->ssh_known_hosts_len, 19);
	conf_free(round_trip(c));
	conf_free(c);

	sys = put_file("ssh_known_hosts", "h ssh-ed25519 SYS\n", 18);
	conf_system_known_hosts = sys;
	c = load_clean(yaml);
	cr_expect_str_eq(DS_LINUX(&c->datasources[0])->ssh_known_hosts_file,
	    sys);
	cr_expect_eq(DS_LINUX(&c->datasources[0])->ssh_known_hosts_len, 18);
	conf_free(c);

	/* no HOME: the system's only */
	unsetenv("HOME");
	conf_system_known_hosts = "/nonexistent/known_hosts";
	EXPECT_ERRORS(yaml,
	    "t.yaml:8:5: ssh_host set but no known_hosts file: set "
	    "ssh_known_hosts_file");
	free(kp);
	free(user);
	free(sys);
}

Test(sinks, linux_server_errors)
{
	struct vtw_conf *c;
	struct conf_errors e;
	char *big, *kp, *empty, *hp, yaml[4096], m1[512], m2[512];

	big = calloc(1, 64 * 1024 + 2);
	cr_assert_not_null(big);
	memset(big, 'S', 64 * 1024 + 1);
	free(put_file("big", big, 64 * 1024 + 1));
	free(big);
	cr_assert_neq(asprintf(&big, "%s/big", tmpdir), -1);
	kp = put_file("key", "S3CRET-KEY\n", 11);
	empty = put_file("empty", "", 0);
	hp = put_file("known_hosts", "h k\n", 4);
	snprintf(yaml, sizeof(yaml), PLATFORMS
	    "datasources:\n"
	    "  - name: l\n"
	    "    type: linux_server\n"
	    "    ssh_host: h\n"
	    "    ssh_port: 0\n"
	    "    ssh_known_hosts_file: \"%s\"\n"
	    "  - name: l2\n"
	    "    type: linux_server\n"
	    "    ssh_host: h\n"
	    "    ssh_key_path: /nonexistent/id_rsa\n"
	    "    ssh_known_hosts_file: \"%s\"\n"
	    "    ssh_port: 65536\n"
	    "    ssh_user: \"\"\n"
	    "  - name: l3\n"
	    "    type: linux_server\n"
	    "    ssh_host: h\n"
	    "    ssh_key_path: \"%s\"\n"
	    "    ssh_known_hosts_file: /nonexistent/known_hosts\n"
	    "    max_file_bytes: 16MB\n"
	    "  - name: l4\n"
	    "    type: linux_server\n"
	    "    ssh_host: h\n"
	    "    ssh_key_path: \"%s\"\n"
	    "    ssh_password: S3CRET-LITERAL\n"
	    "    ssh_known_hosts_file: \"%s\"\n"
	    "    max_file_bytes: 2GiB\n"
	    RULE_ON("l")
	    "    file_path: etc/app.env\n"
	    "    env_as_dir: 1\n"
	    "    key_format: slash\n", hp, hp, big, empty, kp);
	cr_assert_eq(load(&c, &e, yaml), -1);
	snprintf(m1, sizeof(m1), "t.yaml:21:19: ssh_key_path: cannot read "
	    "'%s': larger than 64 KiB", big);
	snprintf(m2, sizeof(m2), "t.yaml:27:19: ssh_key_path: cannot read "
	    "'%s': file is empty", empty);
	EXPECT_MSGS(e.msgs, e.n,
	    "t.yaml:8:5: ssh_host: needs ssh_key_path or ssh_password",
	    "t.yaml:9:15: ssh_port: expected a port 1..65535, got '0'",
	    "t.yaml:14:19: ssh_key_path: cannot read '/nonexistent/id_rsa': "
	    "No such file or directory",
	    "t.yaml:16:15: ssh_port: expected a port 1..65535, got '65536'",
	    "t.yaml:17:15: ssh_user: must not be empty",
	    m1,
	    "t.yaml:22:27: ssh_known_hosts_file: cannot read "
	    "'/nonexistent/known_hosts': No such file or directory",
	    "t.yaml:23:21: max_file_bytes: invalid size '16MB' (bytes, or a "
	    "number with KiB, MiB or GiB; 1 byte to 1GiB)",
	    m2,
	    "t.yaml:30:21: max_file_bytes: invalid size '2GiB' (bytes, or a "
	    "number with KiB, MiB or GiB; 1 byte to 1GiB)",
	    "t.yaml:36:16: file_path: 'etc/app.env' is not an absolute path",
	    "t.yaml:37:17: env_as_dir: expected a bool (true or false), got "
	    "'1'",
	    "t.yaml:38:17: key_format: 'slash' is not allowed for "
	    "linux_server (allowed: dot, flat)");
	EXPECT_MSGS(e.warnings, e.nwarnings,
	    "t.yaml:28:19: literal secret in 'ssh_password'; use {env: NAME} "
	    "or {file: PATH}");
	cr_expect(!in_any(e.msgs, e.n, "S3CRET"));
	cr_expect(!in_any(e.warnings, e.nwarnings, "S3CRET"));
	conf_errors_free(&e);

	/* a directory is not a key file */
	snprintf(yaml, sizeof(yaml), PLATFORMS
	    "datasources:\n"
	    "  - name: l\n"
	    "    type: linux_server\n"
	    "    ssh_host: h\n"
	    "    ssh_key_path: \"%s\"\n"
	    "    ssh_known_hosts_file: \"%s\"\n"
	    RULE_ON("l"), tmpdir, hp);
	snprintf(m1, sizeof(m1), "t.yaml:9:19: ssh_key_path: cannot read "
	    "'%s': not a regular file", tmpdir);
	EXPECT_ERRORS(yaml, m1);
	free(big);
	free(kp);
	free(empty);
	free(hp);
}

/* ssh_* without ssh_host: files are local, the keys are ignored (warned),
 * and their files are not read. */
Test(sinks, linux_server_ssh_keys_without_host)
{
	struct vtw_conf *c;
	struct conf_errors e;

	cr_assert_eq(load(&c, &e, PLATFORMS
	    "datasources:\n"
	    "  - name: l\n"
	    "    type: linux_server\n"
	    "    ssh_port: 22\n"
	    "    ssh_key_path: /nonexistent/key\n"
	    "    ssh_password: {env: T_GITHUB_TOKEN}\n"
	    RULE_ON("l")), 0);
	EXPECT_MSGS(e.warnings, e.nwarnings,
	    "t.yaml:8:5: ssh_port: ignored without ssh_host (files are read "
	    "locally)",
	    "t.yaml:9:5: ssh_key_path: ignored without ssh_host (files are "
	    "read locally)",
	    "t.yaml:10:5: ssh_password: ignored without ssh_host (files are "
	    "read locally)");
	cr_expect_null(DS_LINUX(&c->datasources[0])->ssh_key);
	conf_errors_free(&e);
	conf_free(c);
}

/* Rule keys */

Test(sinks, rule_connection_keys_belong_in_datasource)
{
	struct vtw_conf *c;
	struct conf_errors e;

	cr_assert_eq(load(&c, &e, PLATFORMS
	    "datasources:\n"
	    "  - name: l\n"
	    "    type: linux_server\n"
	    RULE_ON("l")
	    "    ssh_host: h\n"
	    "    ssh_password: S3CRET\n"
	    "    zk_hosts: [\"zk:2181\"]\n"
	    "    mongo_uri: \"mongodb://u:S3CRET@h/\"\n"
	    "    file_format: toml\n"), 0);
	cr_expect_eq(e.nwarnings, 0);
	EXPECT_MSGS(e.infos, e.ninfos,
	    "t.yaml:13:5: rule 'l:app.yaml': ignoring connection settings, "
	    "they belong in the datasource: ssh_host, ssh_password, zk_hosts, "
	    "mongo_uri",
	    "t.yaml:17:18: file_format 'toml' is treated as env, as the "
	    "orchestrator does");
	cr_expect(!in_any(e.infos, e.ninfos, "S3CRET"));
	cr_expect_eq(c->rules[0].nlayout_extra, 0);
	cr_expect_str_eq(conf_linux_file_format(R_LINUX(&c->rules[0])), "env");
	conf_errors_free(&e);
	conf_free(c);
}

/* Layout keys of another sink are accepted (a bundle carries them all),
 * checked, and printed so that they load again. */
Test(sinks, layout_keys_of_other_sinks)
{
	struct vtw_conf *c;
	char *p;

	c = load_clean(PLATFORMS
	    "datasources:\n"
	    "  - name: r\n"
	    "    type: redis\n"
	    "    hosts: [\"h:6379\"]\n"
	    RULE_ON("r")
	    "    mongo_strategy: document\n"
	    "    collection: c\n"
	    "    env_as_collection: false\n"
	    "    zk_base_path: \"\"\n"
	    "    watch: false\n"
	    "    file_path: /x.env\n"
	    "    env_as_filename: false\n"
	    "    env_as_dir: false\n"
	    "    file_format: ini\n");
	p = printed(c);
	/* defaults of other sinks are left out, the rest is printed */
	cr_expect_not_null(strstr(p, "    mongo_strategy: \"document\"\n"
	    "    collection: \"c\"\n"
	    "    zk_base_path: \"\"\n"
	    "    watch: false\n"
	    "    file_path: \"/x.env\"\n"
	    "    env_as_filename: false\n"
	    "    file_format: \"ini\"\n"));
	free(p);
	conf_free(round_trip(c));
	conf_free(c);
}

/* Key formats: each kind allows its own (interop §2.3, the sinks'
 * SINK_ALLOWED_FORMATS); the rest is refused at load, with its place. */
#define RULE_KF(ds, kf) \
	"  - platform: github\n" \
	"    datasource: " ds "\n" \
	"    repo_url: r\n" \
	"    file_name: app.yaml\n" \
	"    key_format: " kf "\n"
/* lines 5-9 */
#define ALL_KINDS \
	"datasources:\n" \
	"  - {name: r, type: redis, hosts: [\"h:6379\"]}\n" \
	"  - {name: m, type: mongo}\n" \
	"  - {name: z, type: zookeeper, hosts: [\"zk:2181\"]}\n" \
	"  - {name: l, type: linux_server}\n"

Test(sinks, key_format_refused)
{
	EXPECT_ERRORS(PLATFORMS ALL_KINDS
	    "rules:\n"
	    RULE_KF("r", "slash")
	    "    redis_data_structure: HASH\n"
	    RULE_KF("r", "slash_dot")
	    "    redis_data_structure: STRING\n"
	    RULE_KF("m", "flat")
	    RULE_KF("m", "slash")
	    RULE_KF("z", "dot")
	    RULE_KF("z", "flat")
	    RULE_KF("l", "slash")
	    RULE_KF("l", "slash_dot")
	    RULE_KF("r", "nope"),
	    "t.yaml:15:17: key_format: 'slash' is not allowed for redis "
	    "(allowed: dot, flat)",
	    "t.yaml:21:17: key_format: 'slash_dot' is not allowed for redis "
	    "(allowed: dot, flat)",
	    "t.yaml:27:17: key_format: 'flat' is not allowed for mongo "
	    "(allowed: dot)",
	    "t.yaml:32:17: key_format: 'slash' is not allowed for mongo "
	    "(allowed: dot)",
	    "t.yaml:37:17: key_format: 'dot' is not allowed for zookeeper "
	    "(allowed: slash, slash_dot)",
	    "t.yaml:42:17: key_format: 'flat' is not allowed for zookeeper "
	    "(allowed: slash, slash_dot)",
	    "t.yaml:47:17: key_format: 'slash' is not allowed for "
	    "linux_server (allowed: dot, flat)",
	    "t.yaml:52:17: key_format: 'slash_dot' is not allowed for "
	    "linux_server (allowed: dot, flat)",
	    "t.yaml:57:17: key_format: unknown key format 'nope' (dot, flat, "
	    "slash, slash_dot)");
}

/* What each kind allows loads, case-insensitively, and is what the
 * layout uses. */
Test(sinks, key_format_allowed)
{
	struct vtw_conf *c;
	static const char *const want[] = {
		"dot", "flat", "dot", "flat", "dot", "slash", "slash_dot",
		"dot", "flat",
	};
	size_t i;

	c = load_clean(PLATFORMS ALL_KINDS
	    "rules:\n"
	    RULE_KF("r", "DOT")
	    RULE_KF("r", "flat")
	    RULE_KF("r", "dot")
	    "    redis_data_structure: STRING\n"
	    RULE_KF("r", "Flat")
	    "    redis_data_structure: STRING\n"
	    RULE_KF("m", "dot")
	    RULE_KF("z", "slash")
	    RULE_KF("z", "SLASH_DOT")
	    RULE_KF("l", "dot")
	    RULE_KF("l", "flat"));
	cr_assert_eq(c->nrules, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < c->nrules; i++) {
		cr_expect_str_eq(c->rules[i].key_format, want[i], "rule %zu",
		    i);
		cr_assert_not_null(c->rules[i].layout.key_format);
		cr_expect_str_eq(c->rules[i].layout.key_format, want[i],
		    "rule %zu", i);
	}
	conf_free(c);
}

/* Where each kind's sink writes, computed at load (rule->layout). */
#define RULE_L(name, ds, env) \
	"  - {name: " name ", platform: github, datasource: " ds ", " \
	"repo_url: r, file_name: a.yaml, tenant_id: acme, env: \"" env "\""

Test(sinks, layout_of_each_kind)
{
	struct vtw_conf *c;
	const struct conf_rule *r;

	c = load_clean(PLATFORMS
	    "datasources:\n"
	    "  - {name: r, type: redis, hosts: [\"h:6379\"]}\n"
	    "  - {name: m, type: mongo, collection: settings}\n"
	    "  - {name: z, type: zookeeper, hosts: [\"zk:2181\"], "
	    "base_path: /vartrack}\n"
	    "  - {name: l, type: linux_server}\n"
	    "rules:\n"
	    /* redis */
	    "  - {name: hash, platform: github, datasource: r, repo_url: r, "
	    "file_name: a.yaml, tenant_id: acme, branch: develop, "
	    "branch_map: {develop: staging}}\n"
	    RULE_L("hash_flat", "r", "prod") ", redis_hash_key: h, "
	    "key_format: flat, detect_extra: true}\n"
	    RULE_L("string", "r", "prod") ", redis_data_structure: STRING, "
	    "redis_key_prefix: app}\n"
	    RULE_L("string_dot", "r", "prod") ", redis_data_structure: "
	    "STRING, key_format: dot, destination_template: "
	    "\"{tenant}:{env}\"}\n"
	    RULE_L("json", "r", "prod") ", redis_data_structure: JSON, "
	    "key_format: flat}\n"
	    /* mongo */
	    RULE_L("doc", "m", "prod") "}\n"
	    RULE_L("per_env", "m", "v1.2/x") ", collection: vars, "
	    "env_as_collection: true, mongo_strategy: file}\n"
	    RULE_L("coll_tmpl", "m", "a.b") ", destination_template: "
	    "\"{tenant}_{env}\"}\n"
	    /* zookeeper */
	    RULE_L("zk", "z", "prod") "}\n"
	    RULE_L("zk_own", "z", "prod") ", zk_base_path: \"\", "
	    "zk_path_template: \"/cfg/{env}\", watch: false, "
	    "key_format: slash_dot}\n"
	    /* linux_server */
	    RULE_L("file", "l", "prod") "}\n"
	    RULE_L("file_dir", "l", "prod") ", file_path: /srv/app/app.yaml, "
	    "env_as_dir: true, key_format: flat}\n"
	    RULE_L("file_tmpl", "l", "a/b") ", destination_template: "
	    "\"/opt/{tenant}/{env}.env\"}\n");
	cr_assert_eq(c->nrules, 13);
	r = c->rules;
	/* HASH (the default): one hash; env from the branch map */
	expect_layout(&r[0], "staging", "acme:r:staging:vartrack",
	    "acme:r:staging:__vartrack__", "dot", "", 0, 0);
	expect_layout(&r[1], "prod", "acme:r:prod:h",
	    "acme:r:prod:__vartrack__", "flat", "", 1, 0);
	/* STRING: one key per value under the prefix */
	expect_layout(&r[2], "prod", "app", "app:__vartrack__", "flat", "app",
	    0, 0);
	expect_layout(&r[3], "prod", "acme:prod", "acme:prod:__vartrack__",
	    "dot", "acme:prod", 0, 0);
	/* JSON: one key holding the dotted keys, whatever key_format says */
	expect_layout(&r[4], "prod", "acme:r:prod:json",
	    "acme:r:prod:__vartrack__", "dot", "", 0, 0);
	/* mongo: the datasource's collection, or the rule's with its env */
	expect_layout(&r[5], "prod", "settings", "", "dot", "", 1, 0);
	expect_layout(&r[6], "v1.2/x", "vars_v1_2_x", "", "dot", "", 1, 0);
	expect_layout(&r[7], "a.b", "acme_a_b", "", "dot", "", 1, 0);
	/* zookeeper: base path + template, watched unless told not to */
	expect_layout(&r[8], "prod", "/vartrack/acme/prod",
	    "/vartrack/acme/prod/__vartrack__", "slash", "", 1, 1);
	expect_layout(&r[9], "prod", "/cfg/prod", "/cfg/prod/__vartrack__",
	    "slash_dot", "", 1, 0);
	/* linux_server: the file, env in its name by default */
	expect_layout(&r[10], "prod", "/etc/vartrack/config_prod.env", "",
	    "dot", "", 1, 0);
	expect_layout(&r[11], "prod", "/srv/app/prod/app.yaml", "", "flat",
	    "", 1, 0);
	expect_layout(&r[12], "a/b", "/opt/acme/a_b.env", "", "dot", "", 1,
	    0);
	/* the print loads again to the same layouts */
	conf_free(round_trip(c));
	conf_free(c);
}

/* A layout the daemon would refuse fails the load (and -n), at the key
 * that made it. */
Test(sinks, layout_errors)
{
	/* lines 5-8 */
#define ZK_DS \
	"datasources:\n" \
	"  - name: z\n" \
	"    type: zookeeper\n" \
	"    hosts: [\"zk:2181\"]\n"

	EXPECT_ERRORS(PLATFORMS ZK_DS
	    RULE_ON("z")
	    "    env: prod\n"
	    "    zk_path_template: \"{env}\"\n",
	    "t.yaml:15:23: rule 'z:app.yaml': zookeeper root 'prod' is not an "
	    "absolute path");
	/* destination_template wins over zk_path_template */
	EXPECT_ERRORS(PLATFORMS ZK_DS
	    RULE_ON("z")
	    "    zk_path_template: \"/{env}\"\n"
	    "    destination_template: \"{tenant}/x\"\n",
	    "t.yaml:15:27: rule 'z:app.yaml': zookeeper root 'default/x' is "
	    "not an absolute path");
	/* every rule is laid out, each message names its rule */
	EXPECT_ERRORS(PLATFORMS ZK_DS
	    "rules:\n"
	    "  - name: one\n"
	    "    platform: github\n"
	    "    datasource: z\n"
	    "    repo_url: r\n"
	    "    file_name: a.yaml\n"
	    "    zk_base_path: \"\"\n"
	    "    zk_path_template: \"{tenant}\"\n"
	    "  - name: two\n"
	    "    platform: github\n"
	    "    datasource: z\n"
	    "    repo_url: r\n"
	    "    file_name: b.yaml\n"
	    "    tenant_id: acme\n"
	    "    zk_path_template: \"{tenant}/\"\n",
	    "t.yaml:16:23: rule 'one': zookeeper root 'default' is not an "
	    "absolute path",
	    "t.yaml:23:23: rule 'two': zookeeper root 'acme' is not an "
	    "absolute path");
	/* only a file that is otherwise clean is laid out */
	EXPECT_ERRORS(PLATFORMS ZK_DS
	    RULE_ON("z")
	    "    zk_path_template: \"{env}\"\n"
	    "    bogus: 1\n",
	    "t.yaml:15:5: unknown key 'bogus' in rule");
#undef ZK_DS
}

Test(sinks, file_format)
{
	static const struct {
		const char	*path, *fmt, *want;
	} t[] = {
		{ NULL, NULL, "env" },
		{ "/etc/vartrack/config.env", NULL, "env" },
		{ "/etc/app/app.yml", NULL, "yaml" },
		{ "/etc/app/app.YAML", NULL, "yaml" },
		{ "/etc/app/app.cfg", NULL, "ini" },
		{ "/etc/app/app.conf", NULL, "ini" },
		{ "/etc/app/app.config", NULL, "ini" },
		{ "/etc/app/app.ini", NULL, "ini" },
		{ "/etc/app/app.properties", NULL, "properties" },
		{ "/etc/app/app.json", NULL, "json" },
		{ "/etc/app/app.toml", NULL, "env" },
		{ "/etc/app/.env", NULL, "env" },
		{ "/etc/app.d/config", NULL, "env" },
		{ "/etc/app/app.", NULL, "env" },
		{ "/etc/app/app.json", "yml", "yaml" },
		{ "/etc/app/app.json", ".ini", "ini" },
		{ "/etc/app/app.json", "toml", "env" },
		{ NULL, "JSON", "json" },
	};
	struct conf_linux_rule r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.file_path = (char *)t[i].path;
		r.file_format = (char *)t[i].fmt;
		cr_expect_str_eq(conf_linux_file_format(&r), t[i].want,
		    "%s %s",
		    t[i].path ? t[i].path : "NULL",
		    t[i].fmt ? t[i].fmt : "NULL");
	}
}

Test(sinks, parse_size)
{
	uint64_t n;

	cr_expect_eq(conf_parse_size("1", &n), 0);
	cr_expect_eq(n, 1);
	cr_expect_eq(conf_parse_size("1048576", &n), 0);
	cr_expect_eq(n, 1048576);
	cr_expect_eq(conf_parse_size("512KiB", &n), 0);
	cr_expect_eq(n, 512 * 1024);
	cr_expect_eq(conf_parse_size("16MiB", &n), 0);
	cr_expect_eq(n, 16 * 1024 * 1024);
	cr_expect_eq(conf_parse_size("1GiB", &n), 0);
	cr_expect_eq(n, 1024 * 1024 * 1024);
	cr_expect_eq(conf_parse_size("100B", &n), 0);
	cr_expect_eq(n, 100);
	cr_expect_eq(conf_parse_size("0", &n), -1);
	cr_expect_eq(conf_parse_size("", &n), -1);
	cr_expect_eq(conf_parse_size("MiB", &n), -1);
	cr_expect_eq(conf_parse_size("1 MiB", &n), -1);
	cr_expect_eq(conf_parse_size("1mib", &n), -1);
	cr_expect_eq(conf_parse_size("1MB", &n), -1);
	cr_expect_eq(conf_parse_size("-1", &n), -1);
	cr_expect_eq(conf_parse_size("1025MiB", &n), -1);
	cr_expect_eq(conf_parse_size("99999999999999999999999", &n), -1);
}

Test(sinks, uri_redaction)
{
	static const struct {
		const char	*in, *out;
	} t[] = {
		{ "mongodb://h/", "mongodb://h/" },
		{ "mongodb://u:p@h:1/db", "mongodb://<redacted>@h:1/db" },
		{ "mongodb://u:p@x@h/", "mongodb://<redacted>@h/" },
		{ "mongodb+srv://u@h/?a=1", "mongodb+srv://<redacted>@h/?a=1" },
		{ "mongodb://h/?tlsCertificateKeyFilePassword=p",
		    "mongodb://h/?<redacted>" },
		{ "mongodb://h/password", "mongodb://<redacted>" },
	};
	size_t i;
	char *s;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = conf_uri_redacted(t[i].in);
		cr_expect_str_eq(s, t[i].out);
		free(s);
	}
	cr_expect_eq(conf_uri_has_credentials("mongodb://h:1/db"), 0);
	cr_expect_eq(conf_uri_has_credentials("mongodb://u:p@h/"), 1);
	cr_expect_eq(conf_uri_has_credentials("mongodb://h/?PASSWORD=x"), 1);
}
