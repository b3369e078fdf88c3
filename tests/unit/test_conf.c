/*
 * Unit tests of conf/: loading, every message's exact text and place,
 * environment overrides, secrets, durations, the printer (round trip and
 * golden files in tests/golden/conf), the shipped examples, and hostile
 * input (deep nesting, alias bombs, oversize files).
 *
 * Criterion runs every test in its own process, so setenv() is local.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_testutil.h"
#include "kinds.h"

#ifndef VTW_SRC_DIR
#define VTW_SRC_DIR "."
#endif


#define PLATFORMS \
	"platforms:\n" \
	"  - name: github\n" \
	"    type: github\n" \
	"    token: {env: T_GITHUB_TOKEN}\n"
#define DATASOURCES \
	"datasources:\n" \
	"  - name: redis\n" \
	"    type: redis\n" \
	"    hosts: [\"127.0.0.1:6379\"]\n"
#define RULE \
	"rules:\n" \
	"  - platform: github\n" \
	"    datasource: redis\n" \
	"    repo_url: https://example.com/cfg.git\n" \
	"    file_name: app.yaml\n"

static void
setup(void)
{
	conf_test_env();
}

TestSuite(conf, .init = setup);


static char *
write_tmp(const char *content, size_t len)
{
	char *path = strdup("/tmp/vtw-test-conf-XXXXXX");
	int fd;

	cr_assert_not_null(path);
	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Durations */

Test(conf, durations)
{
	static const struct {
		const char	*s;
		int		 rv;
		uint64_t	 ms;
	} t[] = {
		{ "0", 0, 0 }, { "0s", 0, 0 }, { "500ms", 0, 500 },
		{ "2s", 0, 2000 }, { "5m", 0, 300000 }, { "1h", 0, 3600000 },
		{ "1m30s", 0, 90000 }, { "1.5s", 0, 1500 },
		{ "1h2m3s4ms", 0, 3723004 }, { ".5s", 0, 500 },
		{ "1.s", 0, 1000 }, { "0.5m", 0, 30000 }, { "+3s", 0, 3000 },
		{ "1.0005s", 0, 1000 }, { "10", -1, 0 }, { "", -1, 0 },
		{ "s", -1, 0 }, { "-1s", -1, 0 }, { "1d", -1, 0 },
		{ "1ns", -1, 0 }, { "1us", -1, 0 }, { "1 s", -1, 0 },
		{ "1s ", -1, 0 }, { ".s", -1, 0 }, { "1S", -1, 0 },
		{ "5s3", -1, 0 }, { "x", -1, 0 }, { "00", -1, 0 },
		{ "99999999999999999999h", -1, 0 },
	};
	size_t i;
	uint64_t ms;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ms = 12345;
		cr_expect_eq(conf_parse_duration(t[i].s, &ms), t[i].rv,
		    "'%s'", t[i].s);
		if (t[i].rv == 0)
			cr_expect_eq(ms, t[i].ms, "'%s': %llu", t[i].s,
			    (unsigned long long)ms);
	}
}

Test(conf, format_duration)
{
	static const struct {
		uint64_t	 ms;
		const char	*s;
	} t[] = {
		{ 0, "0s" }, { 1, "1ms" }, { 999, "999ms" }, { 1000, "1s" },
		{ 1500, "1.5s" }, { 1001, "1.001s" }, { 60000, "1m0s" },
		{ 90000, "1m30s" }, { 3600000, "1h0m0s" },
		{ 3723004, "1h2m3.004s" },
	};
	char buf[32];
	uint64_t back;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cr_expect_str_eq(conf_format_duration(buf, sizeof(buf),
		    t[i].ms), t[i].s);
		cr_expect_eq(conf_parse_duration(buf, &back), 0);
		cr_expect_eq(back, t[i].ms);
	}
}

/* Defaults and the mapping of every field */

Test(conf, defaults)
{
	struct vtw_conf *c;
	const struct conf_rule *r;

	c = load_ok(PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->poll_interval_ms, CONF_DEFAULT_POLL_MS);
	cr_expect_str_eq(c->admin_addr, CONF_DEFAULT_ADMIN_ADDR);
	cr_expect_str_eq(c->orchestrator_addr, CONF_DEFAULT_ORCH_ADDR);
	cr_expect_eq(c->heal_timeout_ms, CONF_DEFAULT_HEAL_TIMEOUT_MS);
	cr_expect_null(c->log_level);
	cr_expect_str_eq(c->app_env, "development");
	cr_expect_null(c->tls_ca_file);
	cr_expect_str_eq(c->sandbox_user, CONF_DEFAULT_SANDBOX_USER);
	cr_expect_str_eq(c->cache_dir, CONF_DEFAULT_CACHE_DIR);
	cr_expect_null(c->worker_dir);
	cr_assert_eq(c->nplatforms, 1);
	cr_expect_str_eq(c->platforms[0].token.value, "ghp_test_token");
	cr_expect_eq(c->platforms[0].token.src, SECRET_ENV);
	cr_expect_str_eq(c->platforms[0].token.ref, "T_GITHUB_TOKEN");
	cr_expect_eq(c->platforms[0].line, 2);
	cr_expect_eq(c->platforms[0].col, 5);
	cr_assert_eq(c->ndatasources, 1);
	cr_expect_eq(c->datasources[0].kind, ds_kind_byname("redis"));
	cr_expect_str_eq(c->datasources[0].type, "redis");
	cr_expect_eq(DS_REDIS(&c->datasources[0])->db, 0);
	cr_expect_eq(DS_REDIS(&c->datasources[0])->password.src, SECRET_NONE);
	cr_expect_null(DS_REDIS(&c->datasources[0])->password.value);
	cr_expect_eq(c->datasources[0].connect_timeout_ms,
	    CONF_DEFAULT_CONNECT_TIMEOUT_MS);
	cr_expect_eq(c->datasources[0].command_timeout_ms,
	    CONF_DEFAULT_COMMAND_TIMEOUT_MS);
	cr_assert_eq(c->nrules, 1);
	r = &c->rules[0];
	cr_expect_eq(r->id, 0);
	cr_expect_str_eq(r->name, "redis:app.yaml");
	cr_expect_str_eq(r->tenant_id, "default");
	cr_expect_str_eq(r->branch, "main");
	cr_expect_eq(r->nfiles, 1);
	cr_expect_str_eq(r->files[0], "app.yaml");
	cr_expect_null(r->env);
	cr_expect_null(r->root_key);
	cr_expect_null(r->key_format);
	cr_expect_null(R_REDIS(r)->redis_data_structure);
	cr_expect_null(R_REDIS(r)->redis_hash_key);
	cr_expect_null(R_REDIS(r)->redis_key_prefix);
	/* the rule's own kind only: no other kind's key was given */
	cr_expect(rule_has_kind(r, "redis"));
	cr_expect(!rule_has_kind(r, "mongo"));
	cr_expect(!rule_has_kind(r, "zookeeper"));
	cr_expect(!rule_has_kind(r, "linux_server"));
	cr_expect_eq(r->self_heal, 0);
	cr_expect_eq(r->detect_extra, 0);
	cr_expect_eq(r->poll_interval_ms, 0);
	cr_expect_eq(r->nlayout_extra, 0);
	cr_expect_eq(r->line, 10);
	cr_expect_eq(r->col, 5);
	cr_expect_eq(conf_platform_byname(c, "github"), &c->platforms[0]);
	cr_expect_null(conf_platform_byname(c, "gitlab"));
	cr_expect_eq(conf_datasource_byname(c, "redis"), &c->datasources[0]);
	cr_expect_null(conf_datasource_byname(c, "mongo"));
	conf_free(c);
}

static const char full_yaml[] =
	"watcher:\n"
	"  poll_interval: 1m30s\n"
	"  admin_addr: \"127.0.0.1:9191\"\n"
	"  orchestrator: {addr: \"orch:50051\", heal_timeout: 10s}\n"
	"  log_level: WARNING\n"
	"  app_env: staging\n"
	"  tls: {ca_file: /etc/ca.pem, cert_file: /etc/c.pem, "
	    "key_file: /etc/k.pem}\n"
	"  sandbox: {user: vtw}\n"
	"  cache_dir: /var/tmp/vtw\n"
	"  worker_dir: /usr/libexec/vtw\n"
	"platforms:\n"
	"  - name: github\n"
	"    type: github\n"
	"    endpoint: https://github.com\n"
	"    org_name: my-org\n"
	"    token: {env: T_GITHUB_TOKEN}\n"
	"  - name: disk\n"
	"    type: local\n"
	"datasources:\n"
	"  - name: redis\n"
	"    type: redis\n"
	"    hosts: \"[::1]:6380\"\n"
	"    password: {env: T_REDIS_PASSWORD}\n"
	"    db: 15\n"
	"    connect_timeout: 250ms\n"
	"    command_timeout: 2s\n"
	"rules:\n"
	"  - name: \"weird \\\"name\\\"\\t\\u00e9\"\n"
	"    platform: github\n"
	"    datasource: redis\n"
	"    self_heal: yes\n"
	"    repo_url: https://github.com/my-org/cfg.git\n"
	"    branch: develop\n"
	"    files: [a.yaml, dir/b.json]\n"
	"    tenant_id: acme\n"
	"    env: production\n"
	"    branch_map: {develop: staging, main: production}\n"
	"    file_path_map: {\"dir/b.json\": \"prod\"}\n"
	"    env_as_branch: true\n"
	"    env_as_pr: True\n"
	"    env_as_tags: off\n"
	"    root_key: \"\"\n"
	"    variables_map: {new: old.key}\n"
	"    destination_template: \"{tenant}:{{x}}:{env}\"\n"
	"    key_format: FLAT\n"
	"    redis_data_structure: string\n"
	"    redis_hash_key: h\n"
	"    redis_key_prefix: p\n"
	"    detect_extra: true\n"
	"    sensitive_keys: [\"*.password\", token]\n"
	"    poll_interval: 2m\n"
	"    collection: configs\n"
	"    env_as_collection: true\n"
	"    s3_object_tags: {team: core, n: 3, f: 1.5e3, z: null, "
	    "q: \"3\", l: [a, 'b', no]}\n"
	"    helm_extra_flags: []\n"
	"    zk_base_path: ''\n"
	"  - platform: disk\n"
	"    datasource: redis\n"
	"    repo_url: /srv/git/r.git\n"
	"    file_name: app.yaml\n";

Test(conf, full_mapping)
{
	struct vtw_conf *c;
	const struct conf_rule *r;

	setenv("T_REDIS_PASSWORD", "redis-pw", 1);
	c = load_ok(full_yaml);
	cr_expect_eq(c->poll_interval_ms, 90000);
	cr_expect_str_eq(c->admin_addr, "127.0.0.1:9191");
	cr_expect_str_eq(c->orchestrator_addr, "orch:50051");
	cr_expect_eq(c->heal_timeout_ms, 10000);
	cr_expect_str_eq(c->log_level, "warn");
	cr_expect_str_eq(c->app_env, "staging");
	cr_expect_str_eq(c->tls_ca_file, "/etc/ca.pem");
	cr_expect_str_eq(c->tls_cert_file, "/etc/c.pem");
	cr_expect_str_eq(c->tls_key_file, "/etc/k.pem");
	cr_expect_str_eq(c->sandbox_user, "vtw");
	cr_expect_str_eq(c->cache_dir, "/var/tmp/vtw");
	cr_expect_str_eq(c->worker_dir, "/usr/libexec/vtw");
	cr_assert_eq(c->nplatforms, 2);
	cr_expect_str_eq(c->platforms[0].endpoint, "https://github.com");
	cr_expect_str_eq(c->platforms[0].org_name, "my-org");
	cr_expect_str_eq(c->platforms[1].type, "local");
	cr_expect_eq(c->platforms[1].token.src, SECRET_NONE);
	cr_assert_eq(DS_REDIS(&c->datasources[0])->nhosts, 1);
	cr_expect_str_eq(DS_REDIS(&c->datasources[0])->hosts[0], "[::1]:6380");
	cr_expect_str_eq(DS_REDIS(&c->datasources[0])->password.value,
	    "redis-pw");
	cr_expect_eq(DS_REDIS(&c->datasources[0])->db, 15);
	cr_expect_eq(c->datasources[0].connect_timeout_ms, 250);
	cr_expect_eq(c->datasources[0].command_timeout_ms, 2000);
	cr_assert_eq(c->nrules, 2);
	r = &c->rules[0];
	cr_expect_str_eq(r->name, "weird \"name\"\t\xc3\xa9");
	cr_expect_eq(r->self_heal, 1);
	cr_expect_str_eq(r->branch, "develop");
	cr_assert_eq(r->nfiles, 2);
	cr_expect_str_eq(r->files[0], "a.yaml");
	cr_expect_str_eq(r->files[1], "dir/b.json");
	cr_expect_str_eq(r->tenant_id, "acme");
	cr_expect_str_eq(r->env, "production");
	cr_assert_eq(r->nbranch_map, 2);
	cr_expect_str_eq(r->branch_map[0].key, "develop");
	cr_expect_str_eq(r->branch_map[0].val, "staging");
	cr_expect_str_eq(r->branch_map[1].key, "main");
	cr_assert_eq(r->nfile_path_map, 1);
	cr_expect_eq(r->env_as_branch, 1);
	cr_expect_eq(r->env_as_pr, 1);
	cr_expect_eq(r->env_as_tags, 0);
	cr_assert_not_null(r->root_key);
	cr_expect_str_eq(r->root_key, "");
	cr_assert_eq(r->nvariables_map, 1);
	cr_expect_str_eq(r->variables_map[0].key, "new");
	cr_expect_str_eq(r->variables_map[0].val, "old.key");
	cr_expect_str_eq(r->destination_template, "{tenant}:{{x}}:{env}");
	cr_expect_str_eq(r->key_format, "flat");
	cr_expect_str_eq(R_REDIS(r)->redis_data_structure, "STRING");
	cr_expect_str_eq(R_REDIS(r)->redis_hash_key, "h");
	cr_expect_str_eq(R_REDIS(r)->redis_key_prefix, "p");
	cr_expect_eq(r->detect_extra, 1);
	cr_assert_eq(r->nsensitive_keys, 2);
	cr_expect_str_eq(r->sensitive_keys[1], "token");
	cr_expect_eq(r->poll_interval_ms, 120000);
	/* typed layout keys of other sinks: kept, harmless */
	cr_expect(rule_has_kind(r, "mongo"));
	cr_expect(rule_has_kind(r, "zookeeper"));
	cr_expect(!rule_has_kind(r, "linux_server"));
	cr_expect_str_eq(R_MONGO(r)->collection, "configs");
	cr_expect_eq(R_MONGO(r)->env_as_collection, 1);
	cr_expect_str_eq(R_ZK(r)->zk_base_path, "");
	/* not a mongo datasource: no mongo defaults */
	cr_expect_null(R_MONGO(r)->mongo_strategy);
	cr_expect_null(R_LINUX(r)->file_path);
	cr_expect_eq(R_ZK(r)->watch, 1);
	cr_expect_eq(R_LINUX(r)->env_as_filename, 1);
	cr_expect_eq(R_LINUX(r)->env_as_dir, 0);
	cr_assert_eq(r->nlayout_extra, 2);
	cr_expect_str_eq(r->layout_extra[0].key, "s3_object_tags");
	cr_expect_str_eq(r->layout_extra[0].val, "{\"team\": \"core\", "
	    "\"n\": 3, \"f\": 1.5e3, \"z\": null, \"q\": \"3\", "
	    "\"l\": [\"a\", \"b\", false]}");
	cr_expect_eq(r->layout_extra[0].compact, 1);
	cr_expect_str_eq(r->layout_extra[1].key, "helm_extra_flags");
	cr_expect_str_eq(r->layout_extra[1].val, "[]");
	cr_expect_eq(r->layout_extra[1].compact, 1);
	/* STRING under the template's prefix, {{x}} a literal brace */
	expect_layout(r, "production", "acme:{x}:production",
	    "acme:{x}:production:__vartrack__", "flat", "acme:{x}:production",
	    1, 0);
	cr_expect_str_eq(c->rules[1].name, "redis:app.yaml");
	cr_expect_eq(c->rules[1].id, 1);
	conf_free(c);
}

/* The printer */

static void
round_trip(const char *yaml)
{
	struct vtw_conf *c1, *c2;
	char *p1, *p2;

	c1 = load_ok(yaml);
	p1 = printed(c1);
	c2 = load_ok(p1);
	p2 = printed(c2);
	cr_expect_str_eq(p1, p2);
	conf_free(c1);
	conf_free(c2);
	free(p1);
	free(p2);
}

Test(conf, round_trip)
{
	struct vtw_conf *c1, *c2;
	char *p;
	size_t i;

	setenv("T_REDIS_PASSWORD", "redis-pw", 1);
	round_trip(full_yaml);
	round_trip(PLATFORMS DATASOURCES RULE);

	/* the reloaded structs hold the same values */
	c1 = load_ok(full_yaml);
	p = printed(c1);
	c2 = load_ok(p);
	cr_expect_eq(c2->poll_interval_ms, c1->poll_interval_ms);
	cr_expect_str_eq(c2->log_level, c1->log_level);
	cr_expect_str_eq(DS_REDIS(&c2->datasources[0])->password.value,
	    "redis-pw");
	cr_expect_eq(DS_REDIS(&c2->datasources[0])->password.src, SECRET_ENV);
	cr_assert_eq(c2->nrules, c1->nrules);
	for (i = 0; i < c1->nrules; i++) {
		cr_expect_str_eq(c2->rules[i].name, c1->rules[i].name);
		cr_expect_eq(c2->rules[i].nfiles, c1->rules[i].nfiles);
		cr_expect_eq(c2->rules[i].nlayout_extra,
		    c1->rules[i].nlayout_extra);
	}
	cr_expect_str_eq(c2->rules[0].root_key, "");
	cr_expect_str_eq(c2->rules[0].layout_extra[0].val,
	    c1->rules[0].layout_extra[0].val);
	cr_expect_eq(c2->rules[0].layout_extra[0].compact, 1);
	cr_expect_str_eq(R_MONGO(&c2->rules[0])->collection, "configs");
	cr_expect_eq(R_MONGO(&c2->rules[0])->env_as_collection, 1);
	cr_expect_str_eq(R_ZK(&c2->rules[0])->zk_base_path, "");
	conf_free(c1);
	conf_free(c2);
	free(p);
}

/* Characters YAML may not carry raw still print as YAML that loads. */
Test(conf, round_trip_odd_characters)
{
	struct vtw_conf *c;
	char *p;

	round_trip(PLATFORMS DATASOURCES RULE
	    "    name: \"a\\x80b\\u2028c\\x7f\\ufeff\\e\\\\ \\\"q\\\" \\t\"\n"
	    "    branch_map: {\"\\x85k\": \"v\\x01\", '<<': x}\n"
	    "    s3_object_tags: {\"k\\x80\": \"\\0\\u2029\\ufeff\\n\"}\n"
	    "    helm_chart: \"\\x9f\"\n");
	c = load_ok(PLATFORMS DATASOURCES RULE
	    "    s3_object_tags: {\"k\\x80\": \"\\0\\u2029\"}\n"
	    "    branch_map: {'<<': x}\n");
	cr_expect_str_eq(c->rules[0].layout_extra[0].val,
	    "{\"k\\u0080\": \"\\u0000\\u2029\"}");
	cr_expect_str_eq(c->rules[0].branch_map[0].key, "<<");
	p = printed(c);
	cr_expect_not_null(strstr(p, "    \"<<\": \"x\"\n"));
	free(p);
	conf_free(c);
}

Test(conf, print_secrets_as_references)
{
	struct vtw_conf *c;
	char *p, *path;
	const char *s;
	char yaml[1024];

	path = write_tmp("file-secret-value\n", 18);
	snprintf(yaml, sizeof(yaml),
	    PLATFORMS
	    "  - name: gl\n"
	    "    type: gitlab\n"
	    "    token: glpat-literal-value\n"
	    "datasources:\n"
	    "  - name: redis\n"
	    "    type: redis\n"
	    "    hosts: [\"127.0.0.1:6379\"]\n"
	    "    password: {file: %s}\n"
	    RULE, path);
	c = load_ok(yaml);
	cr_expect_str_eq(DS_REDIS(&c->datasources[0])->password.value,
	    "file-secret-value");
	p = printed(c);
	cr_expect_null(strstr(p, "ghp_test_token"));
	cr_expect_null(strstr(p, "glpat-literal-value"));
	cr_expect_null(strstr(p, "file-secret-value"));
	cr_expect_not_null(strstr(p, "    token: {env: \"T_GITHUB_TOKEN\"}\n"));
	cr_expect_not_null(strstr(p, "    token: \"<redacted>\"\n"));
	s = strstr(p, "    password: {file: \"");
	cr_expect_not_null(s);
	cr_expect_not_null(strstr(p, path));
	conf_free(c);
	free(p);
	unlink(path);
	free(path);
}

/* redact.h rule 5: a URL's userinfo is never printed, nor quoted in an
 * error, whatever the key */
Test(conf, print_and_errors_redact_url_userinfo)
{
	struct vtw_conf *c;
	struct conf_errors e;
	char *p;

	c = load_ok(PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: https://bob:hunter2@example.com/cfg.git\n"
	    "    file_name: app.yaml\n");
	p = printed(c);
	cr_expect_null(strstr(p, "hunter2"), "%s", p);
	cr_expect_not_null(strstr(p, "    repo_url: "
	    "\"https://<redacted>@example.com/cfg.git\"\n"), "%s", p);
	conf_free(c);
	free(p);
	cr_assert_eq(load(&c, &e, PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: https://bob:hunter2@example.com/cfg.git\n"
	    "    file_name: app.yaml\n"
	    "    self_heal: \"redis://u:hunter2@h\"\n"), -1);
	cr_assert_geq(e.n, 1);
	cr_expect_not(in_any(e.msgs, e.n, "hunter2"));
	conf_errors_free(&e);
}

/*
 * What the examples need: their variables, and the files they name with
 * relative paths (taken from the working directory, as the watcher does):
 * a scratch directory holding ssh/id_ed25519 and ssh/known_hosts.
 */
static void
examples_env(void)
{
	static char dir[] = "/tmp/vtw-test-examples-XXXXXX";
	FILE *fp;

	setenv("GITHUB_TOKEN", "ghp_example", 1);
	setenv("GITEA_TOKEN", "gitea_example", 1);
	setenv("REDIS_PASSWORD", "redis_example", 1);
	setenv("ZK_PASSWORD", "zk_example", 1);
	setenv("VERCEL_TOKEN", "vercel_example", 1);
	setenv("K8S_TOKEN", "k8s_example", 1);
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(mkdir("ssh", 0700), 0);
	cr_assert_not_null(fp = fopen("ssh/id_ed25519", "w"));
	fputs("-----BEGIN OPENSSH PRIVATE KEY-----\nexample\n"
	    "-----END OPENSSH PRIVATE KEY-----\n", fp);
	fclose(fp);
	cr_assert_not_null(fp = fopen("ssh/known_hosts", "w"));
	fputs("127.0.0.1 ssh-ed25519 AAAAexample\n", fp);
	fclose(fp);
}

static void
examples_cleanup(void)
{
	char cwd[4096];

	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    strncmp(cwd, "/tmp/vtw-test-examples-", 23) != 0)
		return;
	unlink("ssh/id_ed25519");
	unlink("ssh/known_hosts");
	rmdir("ssh");
	(void)chdir("/");
	rmdir(cwd);
}

/* Every file in conf/examples loads, with the variables it needs. */
Test(conf, examples, .fini = examples_cleanup)
{
	DIR *d;
	struct dirent *de;
	struct vtw_conf *c;
	struct conf_errors e;
	char path[4096], *p;
	size_t n = 0, len;
	int rv;

	examples_env();
	d = opendir(VTW_SRC_DIR "/conf/examples");
	cr_assert_not_null(d, "%s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/conf/examples/%s",
		    VTW_SRC_DIR, de->d_name);
		rv = conf_load(&c, path, &e);
		if (rv != 0)
			dump(&e);
		cr_expect_eq(rv, 0, "%s", de->d_name);
		cr_expect_eq(e.nwarnings, 0, "%s", de->d_name);
		conf_errors_free(&e);
		if (rv == 0) {
			cr_expect_gt(c->nrules, 0);
			p = printed(c);
			round_trip(p);
			free(p);
			conf_free(c);
		}
		n++;
	}
	closedir(d);
	cr_expect_geq(n, 4);
}

Test(conf, example_details, .fini = examples_cleanup)
{
	struct vtw_conf *c;
	struct conf_errors e;

	examples_env();

	cr_assert_eq(conf_load(&c, VTW_SRC_DIR
	    "/conf/examples/redis-string.yaml", &e), 0);
	cr_expect_eq(c->rules[0].detect_extra, 1);
	cr_expect_str_eq(R_REDIS(&c->rules[0])->redis_data_structure, "STRING");
	cr_expect_str_eq(DS_REDIS(&c->datasources[0])->hosts[0],
	    "10.0.0.5:6379");
	conf_free(c);
	conf_errors_free(&e);

	cr_assert_eq(conf_load(&c, VTW_SRC_DIR
	    "/conf/examples/multi-rule.yaml", &e), 0);
	cr_expect_geq(c->nrules, 3);
	cr_expect_eq(c->rules[0].nbranch_map, 2);
	cr_expect_str_eq(c->rules[0].tenant_id, "acme");	/* merged */
	cr_expect_eq(c->rules[0].self_heal, 1);
	conf_free(c);
	conf_errors_free(&e);

	cr_assert_eq(conf_load(&c, VTW_SRC_DIR
	    "/conf/examples/bundle-rule.yaml", &e), 0);
	cr_expect_eq(e.ninfos, 1);
	cr_expect(in_any(e.infos, e.ninfos, "ignoring keys not used for "
	    "watching: redis_hosts, redis_password, redis_db, "
	    "redis_ttl_seconds, prune, prune_protection, dry_run, sync_mode"));
	cr_expect_str_eq(R_REDIS(&c->rules[0])->redis_data_structure, "HASH");
	cr_expect_str_eq(R_REDIS(&c->rules[0])->redis_key_prefix, "");
	conf_free(c);
	conf_errors_free(&e);

	cr_assert_eq(conf_load(&c, VTW_SRC_DIR "/conf/examples/mongo.yaml",
	    &e), 0);
	cr_expect_eq(e.nwarnings, 0);	/* the URI holds no credentials */
	cr_expect_str_eq(DS_MONGO(&c->datasources[0])->uri.value,
	    "mongodb://127.0.0.1:27017");
	cr_expect_str_eq(R_MONGO(&c->rules[0])->collection, "variables");
	cr_expect_str_eq(R_MONGO(&c->rules[0])->mongo_strategy, "document");
	expect_layout(&c->rules[0], "production", "variables", "", "dot", "",
	    1, 0);
	conf_free(c);
	conf_errors_free(&e);

	cr_assert_eq(conf_load(&c, VTW_SRC_DIR
	    "/conf/examples/zookeeper.yaml", &e), 0);
	cr_expect_eq(DS_ZK(&c->datasources[0])->nhosts, 3);
	cr_expect_str_eq(DS_ZK(&c->datasources[0])->password.value,
	    "zk_example");
	cr_expect_str_eq(DS_ZK(&c->datasources[0])->base_path, "/vartrack");
	cr_expect_str_eq(R_ZK(&c->rules[1])->zk_base_path, "/flags");
	/* env_as_branch: the branch, "main" */
	expect_layout(&c->rules[0], "main", "/vartrack/acme/main",
	    "/vartrack/acme/main/__vartrack__", "slash", "", 1, 1);
	/* the rule's base path wins over the datasource's */
	expect_layout(&c->rules[1], "production", "/flags/acme/production",
	    "/flags/acme/production/__vartrack__", "slash_dot", "", 1, 1);
	conf_free(c);
	conf_errors_free(&e);

	cr_assert_eq(conf_load(&c, VTW_SRC_DIR
	    "/conf/examples/linux-server.yaml", &e), 0);
	cr_expect_str_eq(DS_LINUX(&c->datasources[0])->ssh_host, "127.0.0.1");
	cr_expect_gt(DS_LINUX(&c->datasources[0])->ssh_key_len, 0);
	cr_expect_gt(DS_LINUX(&c->datasources[0])->ssh_known_hosts_len, 0);
	cr_expect_null(DS_LINUX(&c->datasources[1])->ssh_host);
	cr_expect_str_eq(conf_linux_file_format(R_LINUX(&c->rules[0])),
	    "env");
	cr_expect_str_eq(conf_linux_file_format(R_LINUX(&c->rules[1])),
	    "json");
	conf_free(c);
	conf_errors_free(&e);
}

/* Environment overrides */

Test(conf, env_overrides)
{
	struct vtw_conf *c;

	setenv("POLL_INTERVAL", "15s", 1);
	setenv("ADMIN_ADDR", ":0", 1);
	setenv("LOG_LEVEL", "DEBUG", 1);
	setenv("ORCHESTRATOR_ADDR", "orch.example:443", 1);
	setenv("HEAL_TIMEOUT", "1m", 1);
	setenv("APP_ENV", "qa", 1);
	setenv("TLS_CA_FILE", "/env/ca.pem", 1);
	setenv("TLS_CERT_FILE", "/env/cert.pem", 1);
	setenv("TLS_KEY_FILE", "/env/key.pem", 1);
	c = load_ok("watcher:\n"
	    "  poll_interval: 5m\n"
	    "  admin_addr: \":9999\"\n"
	    "  log_level: error\n"
	    "  orchestrator: {addr: \"file:1\", heal_timeout: 5s}\n"
	    "  app_env: file\n"
	    "  tls: {ca_file: /f/ca, cert_file: /f/cert, key_file: /f/key}\n"
	    PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->poll_interval_ms, 15000);
	cr_expect_str_eq(c->admin_addr, ":0");
	cr_expect_str_eq(c->log_level, "debug");
	cr_expect_str_eq(c->orchestrator_addr, "orch.example:443");
	cr_expect_eq(c->heal_timeout_ms, 60000);
	cr_expect_str_eq(c->app_env, "qa");
	cr_expect_str_eq(c->tls_ca_file, "/env/ca.pem");
	cr_expect_str_eq(c->tls_cert_file, "/env/cert.pem");
	cr_expect_str_eq(c->tls_key_file, "/env/key.pem");
	conf_free(c);
}

Test(conf, env_empty_is_unset)
{
	struct vtw_conf *c;

	setenv("POLL_INTERVAL", "", 1);
	setenv("LOG_LEVEL", "", 1);
	c = load_ok("watcher: {poll_interval: 2m, log_level: info}\n"
	    PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->poll_interval_ms, 120000);
	cr_expect_str_eq(c->log_level, "info");
	conf_free(c);
}

Test(conf, env_bad_values)
{
	setenv("POLL_INTERVAL", "x", 1);
	setenv("HEAL_TIMEOUT", "0s", 1);
	setenv("LOG_LEVEL", "verbose", 1);
	setenv("ADMIN_ADDR", "localhost", 1);
	EXPECT_ERRORS(PLATFORMS DATASOURCES RULE,
	    "environment POLL_INTERVAL: invalid duration 'x'",
	    "environment HEAL_TIMEOUT: must be greater than 0",
	    "environment ADMIN_ADDR: missing port in 'localhost' "
	    "(expected \"host:port\")",
	    "environment LOG_LEVEL: invalid log level 'verbose' "
	    "(debug, info, warn, error)");
	setenv("POLL_INTERVAL", "10", 1);
	unsetenv("HEAL_TIMEOUT");
	unsetenv("LOG_LEVEL");
	unsetenv("ADMIN_ADDR");
	EXPECT_ERRORS(PLATFORMS DATASOURCES RULE,
	    "environment POLL_INTERVAL: invalid duration '10' "
	    "(missing unit: ms, s, m or h)");
	setenv("POLL_INTERVAL", "50ms", 1);
	EXPECT_ERRORS(PLATFORMS DATASOURCES RULE,
	    "environment POLL_INTERVAL: must be at least 100ms");
}

Test(conf, production_requires_tls)
{
	struct vtw_conf *c;

	EXPECT_ERRORS("watcher:\n"
	    "  app_env: production\n"
	    "  tls: {ca_file: /ca.pem}\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:2:12: app_env 'production' requires watcher.tls "
	    "ca_file, cert_file and key_file (missing: cert_file, key_file)");
	setenv("APP_ENV", "production", 1);
	EXPECT_ERRORS(PLATFORMS DATASOURCES RULE,
	    "environment APP_ENV: 'production' requires TLS_CA_FILE, "
	    "TLS_CERT_FILE and TLS_KEY_FILE (missing watcher.tls: ca_file, "
	    "cert_file, key_file)");
	setenv("TLS_CA_FILE", "/ca", 1);
	setenv("TLS_CERT_FILE", "/cert", 1);
	setenv("TLS_KEY_FILE", "/key", 1);
	c = load_ok(PLATFORMS DATASOURCES RULE);
	cr_expect_str_eq(c->app_env, "production");
	conf_free(c);
}

/* Secrets */

Test(conf, secret_env_file_literal)
{
	struct vtw_conf *c;
	struct conf_errors e;
	char yaml[1024], *path;

	path = write_tmp("pw-from-file\n\n", 14);
	setenv("T_REDIS_PASSWORD", "pw-from-env", 1);
	snprintf(yaml, sizeof(yaml),
	    "platforms:\n"
	    "  - name: github\n"
	    "    type: github\n"
	    "    token: literal-token\n"
	    "  - name: gitea\n"
	    "    type: gitea\n"
	    "    token: {file: \"%s\"}\n"
	    "datasources:\n"
	    "  - name: redis\n"
	    "    type: redis\n"
	    "    hosts: [\"127.0.0.1:6379\"]\n"
	    "    password: {env: T_REDIS_PASSWORD}\n"
	    RULE, path);
	cr_assert_eq(load(&c, &e, yaml), 0);
	cr_expect_eq(c->platforms[0].token.src, SECRET_LITERAL);
	cr_expect_null(c->platforms[0].token.ref);
	cr_expect_str_eq(c->platforms[0].token.value, "literal-token");
	cr_expect_eq(c->platforms[1].token.src, SECRET_FILE);
	cr_expect_str_eq(c->platforms[1].token.ref, path);
	/* one trailing newline stripped, not two */
	cr_expect_str_eq(c->platforms[1].token.value, "pw-from-file\n");
	cr_expect_eq(DS_REDIS(&c->datasources[0])->password.src, SECRET_ENV);
	cr_expect_str_eq(DS_REDIS(&c->datasources[0])->password.value,
	    "pw-from-env");
	EXPECT_MSGS(e.warnings, e.nwarnings,
	    "t.yaml:4:12: literal secret in 'token'; use {env: NAME} or "
	    "{file: PATH}");
	conf_free(c);
	conf_errors_free(&e);
	unlink(path);
	free(path);
}

Test(conf, secret_errors_never_show_values)
{
	struct vtw_conf *c;
	struct conf_errors e;
	char yaml[2048], *path;

	path = write_tmp("SECRET-OK-FILE\n", 15);
	setenv("T_SECRET_ENV", "SECRET-IN-ENV", 1);
	snprintf(yaml, sizeof(yaml),
	    "platforms:\n"
	    "  - name: github\n"
	    "    type: github\n"
	    "    token: {env: T_UNSET_VARIABLE}\n"
	    "  - name: gitea\n"
	    "    type: gitea\n"
	    "    token: {file: /nonexistent/token}\n"
	    "  - name: gitlab\n"
	    "    type: gitlab\n"
	    "    token: {file: \"%s\"}\n"
	    "  - name: bb\n"
	    "    type: bitbucket\n"
	    "    token: {env: T_SECRET_ENV, file: /x}\n"
	    "  - name: bb2\n"
	    "    type: bitbucket\n"
	    "    token: {value: SECRET-IN-VALUE}\n"
	    "  - name: bb3\n"
	    "    type: bitbucket\n"
	    "    token: [SECRET-IN-LIST]\n"
	    "datasources:\n"
	    "  - name: redis\n"
	    "    type: redis\n"
	    "    hosts: [\"127.0.0.1:6379\"]\n"
	    "    password: SECRET-LITERAL\n"
	    RULE
	    "    redis_password: SECRET-IGNORED\n"
	    "    ssh_password: SECRET-SSH\n"
	    "    token: SECRET-GIT-TOKEN\n", path);
	cr_assert_eq(load(&c, &e, yaml), -1);
	EXPECT_MSGS(e.msgs, e.n,
	    "t.yaml:4:18: token: environment variable 'T_UNSET_VARIABLE' "
	    "is not set",
	    "t.yaml:7:19: token: cannot read secret file "
	    "'/nonexistent/token': No such file or directory",
	    "t.yaml:13:12: token: give either env or file, not both",
	    "t.yaml:16:13: unknown key 'value' in secret reference",
	    "t.yaml:19:12: token: expected a string, {env: NAME} or "
	    "{file: PATH}, got a list");
	EXPECT_MSGS(e.warnings, e.nwarnings,
	    "t.yaml:24:15: literal secret in 'password'; use {env: NAME} or "
	    "{file: PATH}");
	cr_expect(!in_any(e.msgs, e.n, "SECRET"));
	cr_expect(!in_any(e.warnings, e.nwarnings, "SECRET"));
	cr_expect(!in_any(e.infos, e.ninfos, "SECRET"));
	cr_expect_eq(e.ninfos, 2);
	conf_errors_free(&e);
	unlink(path);
	free(path);
}

Test(conf, secret_file_with_nul)
{
	struct vtw_conf *c;
	struct conf_errors e;
	char yaml[1024], *nul, msg[512];

	nul = write_tmp("SECRET-IN-FILE\0x", 16);
	snprintf(yaml, sizeof(yaml), PLATFORMS DATASOURCES
	    "    password: {file: \"%s\"}\n" RULE, nul);
	cr_assert_eq(load(&c, &e, yaml), -1);
	snprintf(msg, sizeof(msg), "t.yaml:9:22: password: cannot read "
	    "secret file '%s': file contains a NUL byte", nul);
	EXPECT_MSGS(e.msgs, e.n, msg);
	cr_expect(!in_any(e.msgs, e.n, "SECRET"));
	conf_errors_free(&e);
	unlink(nul);
	free(nul);
}

/* Errors: every one reported, with its place */

Test(conf, malformed_several_errors)
{
	struct vtw_conf *c;
	struct conf_errors e;

	cr_assert_eq(load(&c, &e,
	    "watcher:\n"
	    "  pol_interval: 30s\n"
	    "  orchestrator: [localhost]\n"
	    "  Log_Level: info\n"
	    "  heal_timeout: 5s\n"
	    PLATFORMS
	    "datasources:\n"
	    "  - name: redis\n"
	    "    type: redis\n"
	    "    hosts: [\"127.0.0.1:99999\"]\n"
	    "    connect_timeout: 5\n"
	    "    db: 16\n"
	    "  - name: cm\n"
	    "    type: helm\n"
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: redsi\n"
	    "    repo_url: https://example.com/cfg.git\n"
	    "    file_name: app.yaml\n"
	    "    self_heal: \"yes\"\n"
	    "    self_heel: true\n"
	    "  - platform: gthub\n"
	    "    datasource: redis\n"
	    "    file_name: /etc/passwd\n"
	    "    key_format: slash\n"
	    "    destination_template: \"{tenant}/{datasource}\"\n"
	    "    poll_interval: 10ms\n"
	    "    branch_map: [main]\n"), -1);
	cr_assert_null(c);
	EXPECT_MSGS(e.msgs, e.n,
	    "t.yaml:2:3: unknown key 'pol_interval' in watcher; did you "
	    "mean 'poll_interval'?",
	    "t.yaml:3:17: orchestrator: expected a mapping, got a list",
	    "t.yaml:4:3: unknown key 'Log_Level' in watcher; did you mean "
	    "'log_level'?",
	    "t.yaml:5:3: unknown key 'heal_timeout' in watcher",
	    "t.yaml:13:13: hosts[0]: invalid port in '127.0.0.1:99999' "
	    "(expected 1..65535)",
	    "t.yaml:14:22: connect_timeout: invalid duration '5' (missing "
	    "unit: ms, s, m or h)",
	    "t.yaml:15:9: db: expected an integer 0..15, got '16'",
	    "t.yaml:17:11: datasource type 'helm' is not supported yet",
	    "t.yaml:20:5: undefined datasource 'redsi'; did you mean "
	    "'redis'?",
	    "t.yaml:23:16: self_heal: expected a bool (true or false), got "
	    "'yes'",
	    "t.yaml:24:5: unknown key 'self_heel' in rule; did you mean "
	    "'self_heal'?",
	    "t.yaml:25:5: undefined platform 'gthub'; did you mean 'github'?",
	    "t.yaml:25:5: missing required key 'repo_url' in rule",
	    "t.yaml:27:16: file_name: '/etc/passwd' must be relative to the "
	    "repository root",
	    "t.yaml:28:17: key_format: 'slash' is not allowed for redis "
	    "(allowed: dot, flat)",
	    "t.yaml:29:27: destination_template: unknown placeholder "
	    "'{datasource}' (only {tenant} and {env})",
	    "t.yaml:30:20: poll_interval: must be at least 100ms",
	    "t.yaml:31:17: branch_map: expected a mapping, got a list");
	conf_errors_free(&e);
}

Test(conf, yaml_syntax_error)
{
	EXPECT_ERRORS("watcher:\n"
	    "  poll_interval: 10s\n"
	    "   admin_addr: x\n",
	    "t.yaml:3:14: YAML syntax error: mapping values are not allowed "
	    "in this context");
	EXPECT_ERRORS("rules: [a, b\n"
	    "watcher: {}\n",
	    "t.yaml:2:8: YAML syntax error: did not find expected ',' or ']' "
	    "(while parsing a flow sequence at 1:8)");
	EXPECT_ERRORS("watcher:\n"
	    "  app_env: \"abc\n",
	    "t.yaml:3:1: YAML syntax error: found unexpected end of stream "
	    "(while scanning a quoted scalar at 2:12)");
	EXPECT_ERRORS("watcher:\n  app_env: \"a\xff\"\n",
	    "t.yaml:2:14: YAML syntax error: invalid leading UTF-8 octet");
	EXPECT_ERRORS("watcher: {}\n---\nrules: []\n",
	    "t.yaml:2:1: only one YAML document is allowed");
}

Test(conf, structure_errors)
{
	EXPECT_ERRORS("- a\n- b\n",
	    "t.yaml:1:1: expected a mapping at the top level, got a list");
	EXPECT_ERRORS("watcher: 3\nplatforms: {}\ndatasources: x\n"
	    "rules: [1, [], {}]\nrulez: []\n",
	    "t.yaml:1:10: watcher: expected a mapping, got a string",
	    "t.yaml:2:12: platforms: expected a list, got a mapping",
	    "t.yaml:3:14: datasources: expected a list, got a string",
	    "t.yaml:4:9: rules[0]: expected a mapping, got a string",
	    "t.yaml:4:12: rules[1]: expected a mapping, got a list",
	    "t.yaml:4:16: missing required key 'platform' in rule",
	    "t.yaml:4:16: missing required key 'datasource' in rule",
	    "t.yaml:4:16: missing required key 'repo_url' in rule",
	    "t.yaml:4:16: missing required key 'file_name' (or 'files' or "
	    "'file_path_map') in rule",
	    "t.yaml:5:1: unknown key 'rulez' in the top level; did you mean "
	    "'rules'?");
	EXPECT_ERRORS("watcher:\n  app_env: a\n  app_env: b\n"
	    "  [x]: 1\n  ~: 2\n",
	    "t.yaml:3:3: duplicate key 'app_env' (first at 2:3)",
	    "t.yaml:4:3: expected a string key, got a list",
	    "t.yaml:5:3: expected a string key, got null");
}

Test(conf, platform_and_datasource_errors)
{
	struct vtw_conf *c;
	struct conf_errors e;

	cr_assert_eq(load(&c, &e,
	    "platforms:\n"
	    "  - name: github\n"
	    "    type: github\n"
	    "  - type: gitlab\n"
	    "  - name: github\n"
	    "    type: gitea\n"
	    "    token: {env: T_GITHUB_TOKEN}\n"
	    "  - name: x\n"
	    "    type: svn\n"
	    "  - name: y\n"
	    "datasources:\n"
	    "  - name: redis\n"
	    "    type: redis\n"
	    "  - name: r2\n"
	    "    type: redis\n"
	    "    hosts: [\"a:1\", \"b:2\"]\n"
	    "  - name: r3\n"
	    "    type: Redis\n"
	    "    hosts: [\"localhost\", \":6379\", \"::1:6379\", \"[::1]\", "
	    "\"h:0\", \"h:6x\"]\n"
	    "  - name: r4\n"
	    "    type: memcached\n"
	    "  - type: redis\n"
	    "    hosts: h:1\n"
	    "  - name: redis\n"
	    "    type: redis\n"
	    "    hosts: []\n"
	    "  - name: r5\n"
	    "    type: redis\n"
	    "    hosts: {a: b}\n"
	    "    db: -1\n"
	    "    command_timeout: 0s\n"
	    RULE), -1);
	EXPECT_MSGS(e.msgs, e.n,
	    "t.yaml:4:5: missing required key 'name' in platform",
	    "t.yaml:5:5: duplicate platform name 'github' (first at 2:5)",
	    "t.yaml:9:11: unknown platform type 'svn' (expected one of: "
	    "local, github, gitlab, gitea, bitbucket)",
	    "t.yaml:10:5: missing required key 'type' in platform 'y'",
	    "t.yaml:12:5: missing required key 'hosts' in datasource 'redis'",
	    "t.yaml:16:12: hosts: expected exactly one \"host:port\" for "
	    "redis, got 2 (redis cluster is not supported yet)",
	    "t.yaml:18:11: unknown datasource type 'Redis'; did you mean "
	    "'redis'?",
	    "t.yaml:19:13: hosts[0]: missing port in 'localhost' (expected "
	    "\"host:port\")",
	    "t.yaml:19:26: hosts[1]: missing host in ':6379' (expected "
	    "\"host:port\")",
	    "t.yaml:19:35: hosts[2]: write the IPv6 address in '::1:6379' "
	    "as \"[address]:port\"",
	    "t.yaml:19:47: hosts[3]: missing port in '[::1]' (expected "
	    "\"host:port\")",
	    "t.yaml:19:56: hosts[4]: invalid port in 'h:0' (expected "
	    "1..65535)",
	    "t.yaml:19:63: hosts[5]: invalid port in 'h:6x' (expected "
	    "1..65535)",
	    /* the kinds built (registry order), then the sinks no kind
	     * serves */
	    "t.yaml:21:11: unknown datasource type 'memcached' (expected one "
	    "of: redis, mongo, zookeeper, linux_server, s3, vercel, configmap"
	    AND_TESTKV ", helm)",
	    "t.yaml:22:5: missing required key 'name' in datasource",
	    "t.yaml:24:5: duplicate datasource name 'redis' (first at 12:5)",
	    "t.yaml:26:12: hosts: expected exactly one \"host:port\" for "
	    "redis, got 0",
	    "t.yaml:29:12: hosts: expected a list, got a mapping",
	    "t.yaml:30:9: db: expected an integer 0..15, got '-1'",
	    "t.yaml:31:22: command_timeout: must be greater than 0");
	/* public repositories: a missing token only warns */
	EXPECT_MSGS(e.warnings, e.nwarnings,
	    "t.yaml:2:5: platform 'github' has no token; only public "
	    "repositories can be fetched");
	conf_errors_free(&e);
}

Test(conf, rule_errors)
{
	EXPECT_ERRORS(PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: r\n"
	    "    file_name: a.yaml\n"
	    "    files: [b.yaml]\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: r\n"
	    "    files: [a.yaml, ../x.yaml, a.yaml, {x: 1}, \"\"]\n"
	    "    key_format: colon\n"
	    "    destination_template: \"{env\"\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: r\n"
	    "    file_name: a/../../b\n"
	    "    destination_template: \"}{env}\"\n"
	    "    name: \"\"\n"
	    "    sensitive_keys: [a, [b]]\n"
	    "    variables_map: {a: [b]}\n"
	    "    detect_extra: [true]\n"
	    "    poll_interval: {}\n",
	    "t.yaml:14:5: files: give either file_name or files, not both",
	    "t.yaml:18:21: files[1]: '../x.yaml' must not contain '..'",
	    "t.yaml:18:32: files[2]: duplicate file 'a.yaml'",
	    "t.yaml:18:40: files[3]: expected a string, got a mapping",
	    "t.yaml:18:48: files[4]: '' is empty",
	    "t.yaml:19:17: key_format: unknown key format 'colon' (dot, flat, "
	    "slash, slash_dot)",
	    "t.yaml:20:27: destination_template: unmatched '{'",
	    "t.yaml:24:16: file_name: 'a/../../b' must not contain '..'",
	    "t.yaml:25:27: destination_template: single '}' (write '}}' for "
	    "a literal brace)",
	    "t.yaml:26:11: name: must not be empty",
	    "t.yaml:27:25: sensitive_keys[1]: expected a string, got a list",
	    "t.yaml:28:24: variables_map['a']: expected a string, got a list",
	    "t.yaml:29:19: detect_extra: expected a bool, got a list",
	    "t.yaml:30:20: poll_interval: expected a duration, got a mapping");
}

Test(conf, undefined_references)
{
	EXPECT_ERRORS(DATASOURCES
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: cache\n"
	    "    repo_url: r\n"
	    "    file_name: a.yaml\n",
	    "t.yaml:6:5: undefined platform 'github' (no platforms are "
	    "defined)",
	    "t.yaml:7:5: undefined datasource 'cache'");
}

/* Orchestrator keys that do not matter to watching */

Test(conf, ignored_orchestrator_keys)
{
	struct vtw_conf *c;
	struct conf_errors e;

	cr_assert_eq(load(&c, &e, PLATFORMS DATASOURCES RULE
	    "    prune: {enabled: true, last: [x]}\n"
	    "    dry_run: false\n"
	    "    sync_mode: SYNC_MODE_FULL\n"
	    "    redis_hosts: [\"10.0.0.1:6379\"]\n"
	    "    redis_password: pw\n"
	    "    mongo_uri: \"mongodb://u:p@h\"\n"
	    "    repositories: [\"*\"]\n"
	    "  - name: second\n"
	    "    platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: r\n"
	    "    file_name: b.yaml\n"
	    "    prune: true\n"
	    "    redis_data_structure: list\n"), 0);
	EXPECT_MSGS(e.infos, e.ninfos,
	    "t.yaml:14:5: rule 'redis:app.yaml': ignoring keys not used for "
	    "watching: prune, dry_run, sync_mode, redis_hosts, "
	    "redis_password, repositories",
	    "t.yaml:19:5: rule 'redis:app.yaml': ignoring connection "
	    "settings, they belong in the datasource: mongo_uri",
	    "t.yaml:26:5: rule 'second': ignoring keys not used for "
	    "watching: prune",
	    "t.yaml:27:27: redis_data_structure 'list' is treated as STRING, "
	    "as the orchestrator does");
	cr_expect_eq(e.nwarnings, 0);
	cr_expect_str_eq(R_REDIS(&c->rules[1])->redis_data_structure, "STRING");
	cr_expect_eq(c->rules[0].nlayout_extra, 0);
	conf_free(c);
	conf_errors_free(&e);
}

/* Every rule_config key of interop §5.7 and every Rule proto field loads. */
Test(conf, all_orchestrator_keys_known)
{
	struct vtw_conf *c;
	struct conf_errors e;

	cr_assert_eq(load(&c, &e, PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - name: all\n"
	    "    platform: github\n"
	    "    datasource: redis\n"
	    "    tenant_id: t\n"
	    "    repo_url: r\n"
	    "    branch: main\n"
	    "    token: v\n"
	    "    file_name: a.yaml\n"
	    "    file_path_map: {prod: a.yaml}\n"
	    "    max_changed_files: v\n"
	    "    root_key: x\n"
	    "    variables_map: {a: b}\n"
	    "    strict_validation: v\n"
	    "    branch_map: {main: prod}\n"
	    "    env_as_branch: false\n"
	    "    env_as_pr: false\n"
	    "    env_as_tags: false\n"
	    "    destination_template: \"{tenant}\"\n"
	    "    key_format: dot\n"
	    "    sync_mode: v\n"
	    "    prune: v\n"
	    "    prune_protection: v\n"
	    "    dry_run: v\n"
	    "    self_heal: true\n"
	    "    secrets: v\n"
	    "    apply_strategy: v\n"
	    "    mongo_uri: v\n"
	    "    mongo_tls: v\n"
	    "    mongo_tls_ca_file: v\n"
	    "    mongo_tls_insecure: v\n"
	    "    database: v\n"
	    "    collection: v\n"
	    "    env_as_collection: true\n"
	    "    mongo_strategy: File\n"
	    "    redis_hosts: v\n"
	    "    redis_password: v\n"
	    "    redis_db: v\n"
	    "    redis_key_prefix: p\n"
	    "    redis_data_structure: HASH\n"
	    "    redis_hash_key: h\n"
	    "    redis_ttl_seconds: v\n"
	    "    zk_hosts: v\n"
	    "    zk_timeout_secs: v\n"
	    "    zk_base_path: /v/\n"
	    "    zk_path_template: \"/{env}/{tenant}\"\n"
	    "    zk_username: v\n"
	    "    zk_password: v\n"
	    "    s3_bucket: cfg-bucket\n"
	    "    s3_key_prefix: v\n"
	    "    s3_one_file_per_key: true\n"
	    "    s3_object_tags: v\n"
	    "    s3_tag_keys: v\n"
	    "    s3_region: v\n"
	    "    s3_access_key_id: v\n"
	    "    s3_secret_access_key: v\n"
	    "    s3_endpoint_url: v\n"
	    "    k8s_namespace: v\n"
	    "    k8s_configmap_name: v\n"
	    "    env_as_namespace: true\n"
	    "    env_as_name_suffix: false\n"
	    "    k8s_api_server: v\n"
	    "    k8s_token: v\n"
	    "    k8s_verify_ssl: v\n"
	    "    k8s_kubeconfig_path: v\n"
	    "    helm_release_name: v\n"
	    "    helm_namespace: v\n"
	    "    helm_chart: v\n"
	    "    helm_kubeconfig_path: v\n"
	    "    helm_context: v\n"
	    "    helm_extra_flags: v\n"
	    "    helm_upgrade_strategy: v\n"
	    "    helm_values_file_path: v\n"
	    "    helm_values_prefix: v\n"
	    "    helm_binary: v\n"
	    "    helm_values_mode: v\n"
	    "    helm_wait: v\n"
	    "    helm_wait_timeout: v\n"
	    "    helm_atomic: v\n"
	    "    helm_force: v\n"
	    "    helm_cleanup_on_fail: v\n"
	    "    helm_no_hooks: v\n"
	    "    helm_max_history: v\n"
	    "    vercel_token: v\n"
	    "    vercel_project_id: v\n"
	    "    vercel_team_id: v\n"
	    "    vercel_targets: production\n"
	    "    vercel_sensitive_keys: v\n"
	    "    vercel_api_url: v\n"
	    "    file_path: /v.ini\n"
	    "    env_as_filename: false\n"
	    "    env_as_dir: true\n"
	    "    file_format: yml\n"
	    "    ssh_host: v\n"
	    "    ssh_port: v\n"
	    "    ssh_user: v\n"
	    "    ssh_password: v\n"
	    "    ssh_key_path: v\n"
	    "    ssh_known_hosts_file: v\n"
	    "    repositories: v\n"
	    "    exclude_repositories: v\n"
	    "    overrides: v\n"
	    "    retry_backoff: v\n"
	    "    last_applied_at: v\n"
	    "    secret_manager: v\n"
	    "    prune_last: v\n"
	    "    dry_run_prune: v\n"
	    "    watch: false\n"), 0);
	cr_expect_eq(e.n, 0);
	cr_expect_eq(e.ninfos, 2);
	cr_expect(in_any(e.infos, e.ninfos, "ignoring connection settings, "
	    "they belong in the datasource: mongo_uri, mongo_tls, "
	    "mongo_tls_ca_file, mongo_tls_insecure, zk_hosts, "
	    "zk_timeout_secs, zk_username, zk_password, s3_region, "
	    "s3_access_key_id, s3_secret_access_key, s3_endpoint_url, "
	    "k8s_api_server, k8s_token, k8s_verify_ssl, k8s_kubeconfig_path, "
	    "vercel_token, vercel_team_id, vercel_api_url, "
	    "ssh_host, ssh_port, ssh_user, ssh_password, ssh_key_path, "
	    "ssh_known_hosts_file"));
	/* the s3, vercel and configmap layout keys are their kinds'; s3's
	 * tags are kept */
	cr_expect_eq(c->rules[0].nlayout_extra, 20);
	cr_expect_str_eq(R_MONGO(&c->rules[0])->collection, "v");
	cr_expect_eq(R_MONGO(&c->rules[0])->env_as_collection, 1);
	cr_expect_str_eq(R_MONGO(&c->rules[0])->mongo_strategy, "file");
	cr_expect_str_eq(R_ZK(&c->rules[0])->zk_base_path, "/v");
	cr_expect_str_eq(R_ZK(&c->rules[0])->zk_path_template,
	    "/{env}/{tenant}");
	cr_expect_str_eq(R_LINUX(&c->rules[0])->file_path, "/v.ini");
	cr_expect_eq(R_LINUX(&c->rules[0])->env_as_filename, 0);
	cr_expect_eq(R_LINUX(&c->rules[0])->env_as_dir, 1);
	cr_expect_str_eq(R_LINUX(&c->rules[0])->file_format, "yml");
	cr_expect_str_eq(conf_linux_file_format(R_LINUX(&c->rules[0])),
	    "yaml");
	cr_expect_eq(R_ZK(&c->rules[0])->watch, 0);
	/* each kind's keys in its own struct, the rule's kind's laid out */
	cr_expect(rule_has_kind(&c->rules[0], "redis"));
	cr_expect(rule_has_kind(&c->rules[0], "mongo"));
	cr_expect(rule_has_kind(&c->rules[0], "zookeeper"));
	cr_expect(rule_has_kind(&c->rules[0], "linux_server"));
	cr_expect_str_eq(R_REDIS(&c->rules[0])->redis_key_prefix, "p");
	cr_expect_str_eq(R_REDIS(&c->rules[0])->redis_hash_key, "h");
	/* env from branch_map[branch]; the template wins over the prefix */
	expect_layout(&c->rules[0], "prod", "t:h", "t:__vartrack__", "dot", "",
	    0, 0);
	conf_free(c);
	conf_errors_free(&e);
}

/* Names, files, sinks */

Test(conf, rule_names)
{
	struct vtw_conf *c;

	c = load_ok(PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - {platform: github, datasource: redis, repo_url: r, "
	    "file_name: a.yaml}\n"
	    "  - {platform: github, datasource: redis, repo_url: r2, "
	    "file_name: a.yaml}\n"
	    "  - {name: \"redis:a.yaml#3\", platform: github, "
	    "datasource: redis, repo_url: r, file_name: x.yaml}\n"
	    "  - {platform: github, datasource: redis, repo_url: r3, "
	    "file_name: a.yaml}\n");
	cr_assert_eq(c->nrules, 4);
	cr_expect_str_eq(c->rules[0].name, "redis:a.yaml");
	cr_expect_str_eq(c->rules[1].name, "redis:a.yaml#2");
	cr_expect_str_eq(c->rules[2].name, "redis:a.yaml#3");
	cr_expect_str_eq(c->rules[3].name, "redis:a.yaml#4");
	conf_free(c);
	EXPECT_ERRORS(PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - {name: x, platform: github, datasource: redis, "
	    "repo_url: r, file_name: a.yaml}\n"
	    "  - {name: x, platform: github, datasource: redis, "
	    "repo_url: r, file_name: b.yaml}\n",
	    "t.yaml:11:12: duplicate rule name 'x' (first at 10:12)");
}

Test(conf, file_path_map_files)
{
	struct vtw_conf *c;

	c = load_ok(PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: r\n"
	    "    file_path_map: {prod: z/p.yaml, dev: a/d.yaml, "
	    "qa: z/p.yaml}\n");
	cr_assert_eq(c->rules[0].nfiles, 2);
	cr_expect_str_eq(c->rules[0].files[0], "a/d.yaml");
	cr_expect_str_eq(c->rules[0].files[1], "z/p.yaml");
	cr_expect_str_eq(c->rules[0].name, "redis:a/d.yaml");
	conf_free(c);

	/* file_name wins over the map for the files, as in the orchestrator */
	c = load_ok(PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: r\n"
	    "    file_name: one.yaml\n"
	    "    file_path_map: {one.yaml: prod}\n");
	cr_assert_eq(c->rules[0].nfiles, 1);
	cr_expect_str_eq(c->rules[0].files[0], "one.yaml");
	conf_free(c);

	EXPECT_ERRORS(PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: r\n"
	    "    file_path_map: {prod: /abs.yaml}\n",
	    "t.yaml:10:5: file_path_map: '/abs.yaml' is not a path relative "
	    "to the repository root");
}

Test(conf, redis_structures_and_formats)
{
	struct vtw_conf *c;

	c = load_ok(PLATFORMS DATASOURCES
	    "rules:\n"
	    "  - {platform: github, datasource: redis, repo_url: r, "
	    "file_name: a, redis_data_structure: Hash, key_format: dot}\n"
	    "  - {platform: github, datasource: redis, repo_url: r, "
	    "file_name: b, redis_data_structure: json}\n"
	    "  - {platform: github, datasource: redis, repo_url: r, "
	    "file_name: c, redis_data_structure: STRING, key_format: Flat}\n"
	    "  - {platform: github, datasource: redis, repo_url: r, "
	    "file_name: d, destination_template: \"{env}-{tenant}-{{}}\"}\n");
	cr_expect_str_eq(R_REDIS(&c->rules[0])->redis_data_structure, "HASH");
	cr_expect_str_eq(c->rules[0].key_format, "dot");
	cr_expect_str_eq(R_REDIS(&c->rules[1])->redis_data_structure, "JSON");
	cr_expect_str_eq(R_REDIS(&c->rules[2])->redis_data_structure, "STRING");
	cr_expect_str_eq(c->rules[2].key_format, "flat");
	cr_expect_str_eq(c->rules[3].destination_template,
	    "{env}-{tenant}-{{}}");
	/* no env given, no map, env_as_branch off: "default" */
	expect_layout(&c->rules[0], "default", "default:redis:default:vartrack",
	    "default:redis:default:__vartrack__", "dot", "", 0, 0);
	expect_layout(&c->rules[1], "default", "default:redis:default:json",
	    "default:redis:default:__vartrack__", "dot", "", 0, 0);
	expect_layout(&c->rules[2], "default", "default:redis:default",
	    "default:redis:default:__vartrack__", "flat",
	    "default:redis:default", 0, 0);
	expect_layout(&c->rules[3], "default", "default-default-{}:vartrack",
	    "default-default-{}:__vartrack__", "dot", "", 0, 0);
	conf_free(c);
}

/* The env of a rule (interop §7.4), resolved at load into rule->layout:
 * explicit env, then branch_map[branch], then file_path_map[first file],
 * then the branch with env_as_branch, else "default". */
#define ENV_RULE(name, branch, file) \
	"  - {name: " name ", platform: github, datasource: redis, " \
	"repo_url: r, branch: \"" branch "\", file_name: " file ", " \
	"branch_map: {main: prod, dev: \"\"}, " \
	"file_path_map: {cfg/a.yaml: qa}"

Test(conf, env_resolution)
{
	static const char *const want[] = {
		"x", "prod", "", "qa", "feature/login", "default", "default",
	};
	struct vtw_conf *c;
	size_t i;

	c = load_ok(PLATFORMS DATASOURCES
	    "rules:\n"
	    ENV_RULE("explicit", "main", "cfg/a.yaml") ", env: x, "
	    "env_as_branch: true}\n"
	    ENV_RULE("branch_map", "main", "cfg/a.yaml") ", "
	    "env_as_branch: true}\n"
	    ENV_RULE("branch_map_empty", "dev", "cfg/a.yaml") ", "
	    "env_as_branch: true}\n"
	    ENV_RULE("file_path_map", "feat", "cfg/a.yaml") ", "
	    "env_as_branch: true}\n"
	    ENV_RULE("env_as_branch", "feature/login", "cfg/b.yaml") ", "
	    "env_as_branch: true}\n"
	    ENV_RULE("none", "feat", "cfg/b.yaml") "}\n"
	    ENV_RULE("empty_env", "feat", "cfg/b.yaml") ", env: \"\"}\n");
	cr_assert_eq(c->nrules, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < c->nrules; i++) {
		cr_assert_not_null(c->rules[i].layout.env, "%s",
		    c->rules[i].name);
		cr_expect_str_eq(c->rules[i].layout.env, want[i], "%s",
		    c->rules[i].name);
	}
	/* the resolved env is what the layout uses (raw in a redis prefix) */
	cr_expect_str_eq(c->rules[4].layout.target,
	    "default:redis:feature/login:vartrack");
	conf_free(c);
}

/* YAML features and hostile input */

Test(conf, null_values_are_absent)
{
	struct vtw_conf *c;

	c = load_ok("watcher:\n  poll_interval:\n  log_level: ~\n"
	    PLATFORMS DATASOURCES RULE "    env: null\n    root_key:\n");
	cr_expect_eq(c->poll_interval_ms, CONF_DEFAULT_POLL_MS);
	cr_expect_null(c->log_level);
	cr_expect_null(c->rules[0].env);
	cr_expect_null(c->rules[0].root_key);
	conf_free(c);
}

Test(conf, anchors_and_merge_keys)
{
	struct vtw_conf *c;

	c = load_ok(PLATFORMS DATASOURCES
	    "x-base: &base {platform: github, datasource: redis, "
	    "repo_url: r, self_heal: true, tenant_id: t}\n"
	    "x-files: &files [a.yaml, b.yaml]\n"
	    "rules:\n"
	    "  - <<: *base\n"
	    "    files: *files\n"
	    "  - <<: [*base]\n"
	    "    tenant_id: own\n"
	    "    file_name: c.yaml\n");
	cr_assert_eq(c->nrules, 2);
	cr_expect_str_eq(c->rules[0].tenant_id, "t");
	cr_expect_eq(c->rules[0].self_heal, 1);
	cr_expect_eq(c->rules[0].nfiles, 2);
	cr_expect_str_eq(c->rules[1].tenant_id, "own");
	cr_expect_str_eq(c->rules[1].platform, "github");
	conf_free(c);
	/* a recursive alias is undefined where it is used */
	EXPECT_ERRORS("watcher: *nope\nrules: &r [*r]\nplatforms:\n"
	    "  - <<: 3\n",
	    "t.yaml:1:10: undefined alias 'nope'",
	    "t.yaml:2:12: undefined alias 'r'",
	    "t.yaml:2:12: rules[0]: expected a mapping, got null",
	    "t.yaml:4:5: missing required key 'name' in platform",
	    "t.yaml:4:9: '<<' expects a mapping or a list of mappings, "
	    "got a string");
}

Test(conf, alias_bomb)
{
	EXPECT_ERRORS(
	    "x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
	    "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	    "x-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	    "x-h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
	    "rules: [{s3_tag_keys: *h}]\n",
	    "t.yaml:1:1: aliases expand to more than 4194304 nodes");
}

Test(conf, compact_value_too_large)
{
	EXPECT_ERRORS(PLATFORMS DATASOURCES RULE
	    "    x: &a [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n"
	    "    y: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "    z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "    s3_tag_keys: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
	    "t.yaml:14:5: unknown key 'x' in rule",
	    "t.yaml:15:5: unknown key 'y' in rule",
	    "t.yaml:16:5: unknown key 'z' in rule",
	    "t.yaml:17:18: s3_tag_keys: value longer than 65536 bytes");
}

Test(conf, deep_nesting)
{
	char *y;
	size_t i, off = 0, len = 20 + 2 * 1000 + 8 * 1000;

	/* 1000 levels of flow lists */
	y = calloc(1, len);
	cr_assert_not_null(y);
	off += (size_t)sprintf(y, "rules: ");
	for (i = 0; i < 1000; i++)
		y[off++] = '[';
	for (i = 0; i < 1000; i++)
		y[off++] = ']';
	y[off++] = '\n';
	EXPECT_ERRORS(y, "t.yaml:1:71: nesting deeper than 64 levels");

	/* 1000 levels of block mappings under an ignored key */
	off = 0;
	off += (size_t)sprintf(y, "rules:\n  - prune:\n");
	for (i = 0; i < 1000; i++) {
		memset(y + off, ' ', 6 + i);
		off += 6 + i;
		off += (size_t)sprintf(y + off, "a:\n");
		if (off + 1100 > len) {
			len *= 2;
			y = realloc(y, len);
			cr_assert_not_null(y);
		}
	}
	y[off] = '\0';
	EXPECT_ERRORS(y, "t.yaml:64:68: nesting deeper than 64 levels");
	free(y);
}

/* Files */

Test(conf, load_file)
{
	struct vtw_conf *c;
	struct conf_errors e;
	char *path, msg[512];
	const char *y = PLATFORMS DATASOURCES RULE;
	char *big;

	path = write_tmp(y, strlen(y));
	cr_assert_eq(conf_load(&c, path, &e), 0);
	cr_expect_str_eq(c->path, path);
	cr_expect_eq(c->nrules, 1);
	conf_free(c);
	conf_errors_free(&e);
	unlink(path);
	free(path);

	path = write_tmp("watcher: {pol: 1}\n", 18);
	cr_assert_eq(conf_load(&c, path, &e), -1);
	snprintf(msg, sizeof(msg), "%s:1:11: unknown key 'pol' in watcher",
	    path);
	EXPECT_MSGS(e.msgs, e.n, msg);
	conf_errors_free(&e);
	unlink(path);
	free(path);

	cr_assert_eq(conf_load(&c, "/nonexistent/watcher.yaml", &e), -1);
	EXPECT_MSGS(e.msgs, e.n, "/nonexistent/watcher.yaml: cannot open: "
	    "No such file or directory");
	conf_errors_free(&e);

	cr_assert_eq(conf_load(&c, "/tmp", &e), -1);
	EXPECT_MSGS(e.msgs, e.n, "/tmp: not a regular file");
	conf_errors_free(&e);

	big = calloc(1, 4 * 1024 * 1024 + 2);
	cr_assert_not_null(big);
	memset(big, '#', 4 * 1024 * 1024 + 1);
	path = write_tmp(big, 4 * 1024 * 1024 + 1);
	cr_assert_eq(conf_load(&c, path, &e), -1);
	snprintf(msg, sizeof(msg), "%s: file too large (more than 4194304 "
	    "bytes)", path);
	EXPECT_MSGS(e.msgs, e.n, msg);
	conf_errors_free(&e);
	cr_assert_eq(conf_load_buf(&c, NAME, big, 4 * 1024 * 1024 + 1, &e),
	    -1);
	EXPECT_MSGS(e.msgs, e.n, "t.yaml: file too large (4194305 bytes, at "
	    "most 4194304)");
	conf_errors_free(&e);
	unlink(path);
	free(path);
	free(big);
}

/* an empty, truncated or rule-less file would watch nothing: refused */
#define NO_RULES	"no rules: nothing to watch (a configuration needs " \
			"at least one entry under 'rules:')"
Test(conf, no_rules_is_an_error)
{
	EXPECT_ERRORS("", "t.yaml:1:1: " NO_RULES);
	EXPECT_ERRORS("watcher:\n  poll_interval: 5s\n", "t.yaml:1:1: " NO_RULES);
	EXPECT_ERRORS("rules: []\n", "t.yaml:1:8: " NO_RULES);
	EXPECT_ERRORS("rules:\n", "t.yaml:1:1: " NO_RULES);
	EXPECT_ERRORS(PLATFORMS DATASOURCES, "t.yaml:1:1: " NO_RULES);
}

/*
 * Golden files: tests/golden/conf/NN-*.yaml -> NN-*.ok holds the messages
 * ("error: ", "warning: ", "info: ") and, when the file loads, "---" and
 * the canonical print. VTW_GOLDEN_UPDATE=1 rewrites the .ok files.
 */
static char *
golden_output(const char *name, const char *yaml, size_t len)
{
	struct vtw_conf *c;
	struct conf_errors e;
	char *buf = NULL;
	size_t blen = 0, i;
	FILE *fp;
	int rv;

	fp = open_memstream(&buf, &blen);
	cr_assert_not_null(fp);
	rv = conf_load_buf(&c, name, yaml, len, &e);
	for (i = 0; i < e.n; i++)
		fprintf(fp, "error: %s\n", e.msgs[i]);
	for (i = 0; i < e.nwarnings; i++)
		fprintf(fp, "warning: %s\n", e.warnings[i]);
	for (i = 0; i < e.ninfos; i++)
		fprintf(fp, "info: %s\n", e.infos[i]);
	if (rv == 0) {
		fprintf(fp, "---\n");
		cr_assert_eq(conf_print(fp, c), 0);
		conf_free(c);
	}
	conf_errors_free(&e);
	fclose(fp);
	return buf;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	long n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

Test(conf, golden)
{
	DIR *d;
	struct dirent *de;
	char path[4096], okpath[4096], *yaml, *ok, *out;
	size_t n = 0, len, oklen;
	int update = getenv("VTW_GOLDEN_UPDATE") != NULL;
	FILE *fp;

	/* secrets by file are named relative to the source tree */
	cr_assert_eq(chdir(VTW_SRC_DIR), 0);
	setenv("GOLDEN_GITHUB_TOKEN", "ghp_golden", 1);
	setenv("GOLDEN_REDIS_PASSWORD", "golden-redis-pw", 1);
	d = opendir("tests/golden/conf");
	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "tests/golden/conf/%s",
		    de->d_name);
		snprintf(okpath, sizeof(okpath), "tests/golden/conf/%.*s.ok",
		    (int)(len - 5), de->d_name);
		yaml = slurp(path, &len);
		cr_assert_not_null(yaml, "%s", path);
		out = golden_output(de->d_name, yaml, len);
		if (update) {
			fp = fopen(okpath, "w");
			cr_assert_not_null(fp);
			fputs(out, fp);
			fclose(fp);
		} else {
			ok = slurp(okpath, &oklen);
			cr_assert_not_null(ok, "%s missing "
			    "(VTW_GOLDEN_UPDATE=1 writes it)", okpath);
			cr_expect_str_eq(out, ok, "%s", de->d_name);
			free(ok);
		}
		free(out);
		free(yaml);
		n++;
	}
	closedir(d);
	cr_expect_geq(n, 1);
}

/* watcher.ha */

#define HA_YAML \
	"watcher:\n" \
	"  ha:\n" \
	"    backend: redis\n" \
	"    redis: {hosts: [\"10.0.0.5:6379\"], password: {env: T_HA_PW}}\n"

Test(conf, ha_defaults_are_the_go_watchers)
{
	struct vtw_conf *c;

	setenv("T_GITHUB_TOKEN", "tok", 1);
	setenv("T_HA_PW", "pw", 1);
	c = load_ok(PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->ha.backend, HA_NONE);
	cr_expect(c->ha.standbys_poll);
	conf_free(c);
	c = load_ok(HA_YAML PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->ha.backend, HA_REDIS);
	cr_expect_eq(c->ha.lease_ms, 15000);
	cr_expect_eq(c->ha.renew_interval_ms, 5000);
	cr_expect_eq(c->ha.renew_deadline_ms, 10000);
	cr_expect_eq(c->ha.redis_db, 4);
	cr_expect_str_eq(c->ha.redis_key, "vtwatch:leader");
	cr_expect_str_eq(c->ha.redis_hosts[0], "10.0.0.5:6379");
	cr_expect_str_eq(c->ha.redis_password.value, "pw");
	cr_expect_null(c->ha.instance_id);
	conf_free(c);
}

#define HA_ZK_HEAD "watcher:\n  ha:\n    backend: zookeeper\n"
#define HA_ZK_YAML HA_ZK_HEAD \
	"    zookeeper: {hosts: [\"10.0.0.6:2181\", \"10.0.0.7:2181\"]}\n"

Test(conf, ha_zookeeper_defaults_and_session_timeout)
{
	struct vtw_conf *c;

	setenv("T_GITHUB_TOKEN", "tok", 1);
	c = load_ok(HA_ZK_YAML PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->ha.backend, HA_ZOOKEEPER);
	cr_expect_eq(c->ha.nzk_hosts, 2);
	cr_expect_str_eq(c->ha.zk_hosts[1], "10.0.0.7:2181");
	cr_expect_str_eq(c->ha.zk_path, "/vartrack/watcher/election");
	cr_expect_eq(c->ha.zk_session_timeout_ms, 0, "not set: ha.lease");
	conf_free(c);
	c = load_ok(HA_ZK_HEAD "    renew_interval: 1s\n"
	    "    renew_deadline: 3s\n"
	    "    zookeeper: {hosts: [\"h:1\"], path: /a/b, "
	    "session_timeout: 4s}\n" PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->ha.zk_session_timeout_ms, 4000);
	cr_expect_str_eq(c->ha.zk_path, "/a/b");
	conf_free(c);
}

Test(conf, ha_zookeeper_errors_name_the_key)
{
	setenv("T_GITHUB_TOKEN", "tok", 1);
	EXPECT_ERRORS("watcher:\n  ha:\n    backend: zookeeper\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: ha.zookeeper.hosts: needed with backend zookeeper "
	    "(the ensemble, e.g. [\"127.0.0.1:2181\"])");
	EXPECT_ERRORS("watcher:\n  ha:\n    backend: zookeeper\n"
	    "    zookeeper: {hosts: []}\n" PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: ha.zookeeper.hosts: needed with backend zookeeper "
	    "(the ensemble, e.g. [\"127.0.0.1:2181\"])");
#define ZK_BAD_PATH(p) \
	"t.yaml:4:39: ha.zookeeper.path: '" p "' cannot hold the election " \
	"(an absolute znode path, not /, no empty, . or .. component, no " \
	"trailing /, not under /zookeeper)"
	EXPECT_ERRORS(HA_ZK_HEAD "    zookeeper: {hosts: [\"h:1\"], path: /}\n"
	    PLATFORMS DATASOURCES RULE, ZK_BAD_PATH("/"));
	EXPECT_ERRORS(HA_ZK_HEAD "    zookeeper: {hosts: [\"h:1\"], "
	    "path: /a//b}\n" PLATFORMS DATASOURCES RULE, ZK_BAD_PATH("/a//b"));
	EXPECT_ERRORS(HA_ZK_HEAD "    zookeeper: {hosts: [\"h:1\"], "
	    "path: /a/../b}\n" PLATFORMS DATASOURCES RULE,
	    ZK_BAD_PATH("/a/../b"));
	EXPECT_ERRORS(HA_ZK_HEAD "    zookeeper: {hosts: [\"h:1\"], "
	    "path: /a/}\n" PLATFORMS DATASOURCES RULE, ZK_BAD_PATH("/a/"));
	EXPECT_ERRORS(HA_ZK_HEAD "    zookeeper: {hosts: [\"h:1\"], "
	    "path: /zookeeper/x}\n" PLATFORMS DATASOURCES RULE,
	    ZK_BAD_PATH("/zookeeper/x"));
#undef ZK_BAD_PATH
	EXPECT_ERRORS(HA_ZK_HEAD "    zookeeper: {hosts: [\"h:1\"], "
	    "path: a/b}\n" PLATFORMS DATASOURCES RULE,
	    "t.yaml:4:39: path: 'a/b' is not an absolute path");
	EXPECT_ERRORS(HA_ZK_HEAD "    zookeeper: {hosts: [\"h:1\"], "
	    "session_timeout: 4s}\n" PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: ha.renew_deadline (10s) must be shorter than "
	    "ha.zookeeper.session_timeout (4s): a leader must stop healing "
	    "before its session can expire");
	/* without session_timeout the session lasts ha.lease */
	EXPECT_ERRORS(HA_ZK_YAML "    lease: 10s\n" PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: ha.renew_deadline (10s) must be shorter than "
	    "ha.lease (10s): a leader must stop healing before its lock can "
	    "pass to another");
}

Test(conf, ha_errors_name_their_place)
{
	setenv("T_GITHUB_TOKEN", "tok", 1);
	setenv("T_HA_PW", "pw", 1);
	EXPECT_ERRORS("watcher:\n  ha:\n    backend: etcd\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: backend: expected redis, zookeeper or none, got 'etcd'");
	EXPECT_ERRORS("watcher:\n  ha:\n    backend: redis\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: ha.redis.hosts: needed with backend redis (the "
	    "server holding the lock, e.g. [\"127.0.0.1:6379\"])");
	EXPECT_ERRORS(HA_YAML "    lease: 10s\n" PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: ha.renew_deadline (10s) must be shorter than "
	    "ha.lease (10s): a leader must stop healing before its lock can "
	    "pass to another");
	EXPECT_ERRORS(HA_YAML "    renew_interval: 10s\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: ha.renew_interval (10s) must be shorter than "
	    "ha.renew_deadline (10s): a leader renews several times before "
	    "it gives up");
	EXPECT_ERRORS("watcher:\n  ha:\n    state: redis\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:12: ha.redis.hosts: needed with state redis (the server "
	    "holding the shared state, e.g. [\"127.0.0.1:6379\"])");
	EXPECT_ERRORS("watcher:\n  ha:\n    state: disk\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:12: state: expected redis or none, got 'disk'");
	EXPECT_ERRORS("watcher:\n  ha:\n    instance_id: \"a b\"\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:18: instance_id: 1 to 200 letters, digits or "
	    "!#$%&'*+-.^_`|~:@/ (it is sent as gRPC metadata)");
	EXPECT_ERRORS("watcher:\n  ha:\n    backend: redis\n"
	    "    redis: {hosts: [\"nohost\"]}\n" PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:14: ha.redis.hosts: needed with backend redis (the "
	    "server holding the lock, e.g. [\"127.0.0.1:6379\"])",
	    "t.yaml:4:21: hosts[0]: missing port in 'nohost' (expected "
	    "\"host:port\")");
}

/* The key of a rule's shared state: given, or the same digest on every
 * replica for the same repository, branch, files, datasource, tenant, env. */
Test(conf, rule_ids_are_given_or_stable_digests)
{
	struct vtw_conf *c, *d;

	setenv("T_GITHUB_TOKEN", "tok", 1);
	c = load_ok(PLATFORMS DATASOURCES RULE
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: https://example.com/cfg.git\n"
	    "    file_name: app.yaml\n"
	    "    name: again\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: https://example.com/cfg.git\n"
	    "    file_name: other.yaml\n"
	    "    id: team-a/other.v1\n");
	cr_assert_eq(c->nrules, 3);
	cr_expect_eq(strlen(c->rules[0].sid), 16);
	cr_expect_eq(strspn(c->rules[0].sid, "0123456789abcdef"), 16);
	cr_expect(strncmp(c->rules[1].sid, c->rules[0].sid, 16) == 0 &&
	    strcmp(c->rules[1].sid + 16, "-2") == 0, "%s", c->rules[1].sid);
	cr_expect_str_eq(c->rules[2].sid, "team-a/other.v1");
	d = load_ok(PLATFORMS DATASOURCES RULE "    name: renamed\n");
	cr_expect_str_eq(d->rules[0].sid, c->rules[0].sid,
	    "a name is not part of it");
	conf_free(d);
	d = load_ok(PLATFORMS DATASOURCES RULE "    tenant_id: acme\n");
	cr_expect_str_neq(d->rules[0].sid, c->rules[0].sid);
	conf_free(d);
	conf_free(c);
}

Test(conf, rule_id_errors_name_their_place)
{
	setenv("T_GITHUB_TOKEN", "tok", 1);
	EXPECT_ERRORS(PLATFORMS DATASOURCES RULE "    id: \"a b\"\n",
	    "t.yaml:14:9: id: 1 to 128 letters, digits or -._:/ (it names "
	    "the rule's shared state in Redis)");
	EXPECT_ERRORS(PLATFORMS DATASOURCES RULE "    id: x\n"
	    "  - platform: github\n"
	    "    datasource: redis\n"
	    "    repo_url: https://example.com/cfg.git\n"
	    "    file_name: b.yaml\n"
	    "    id: x\n",
	    "t.yaml:19:9: duplicate rule id 'x' (first at 14:9)");
}

Test(conf, watcher_git_fetch_settings)
{
	struct vtw_conf *c;
	char *p;

	setenv("T_GITHUB_TOKEN", "tok", 1);
	c = load_ok(PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->git_max_parallel, 4);
	cr_expect_eq(c->git_fetch_timeout_ms, 30000);
	p = printed(c);
	cr_expect_null(strstr(p, "  git:\n"), "the defaults are not printed");
	free(p);
	conf_free(c);
	c = load_ok("watcher:\n"
	    "  git:\n"
	    "    max_parallel_fetches: 64\n"
	    "    fetch_timeout: 1m\n"
	    PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->git_max_parallel, 64);
	cr_expect_eq(c->git_fetch_timeout_ms, 60000);
	p = printed(c);
	cr_expect_not_null(strstr(p, "  git:\n    max_parallel_fetches: 64\n"
	    "    fetch_timeout: 1m0s\n"), "%s", p);
	free(p);
	conf_free(c);
	round_trip("watcher:\n"
	    "  git: {max_parallel_fetches: 1, fetch_timeout: 1s}\n"
	    PLATFORMS DATASOURCES RULE);
}

Test(conf, watcher_git_fetch_settings_out_of_range)
{
	setenv("T_GITHUB_TOKEN", "tok", 1);
	EXPECT_ERRORS("watcher:\n"
	    "  git:\n"
	    "    max_parallel_fetches: 0\n"
	    "    fetch_timeout: 999ms\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:27: max_parallel_fetches: expected an integer 1..64, "
	    "got '0'",
	    "t.yaml:4:20: fetch_timeout: must be at least 1s");
	EXPECT_ERRORS("watcher:\n"
	    "  git:\n"
	    "    max_parallel_fetches: 65\n"
	    "    fetch_timeout: 11m\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:27: max_parallel_fetches: expected an integer 1..64, "
	    "got '65'",
	    "t.yaml:4:20: fetch_timeout: must be at most 10m0s");
	EXPECT_ERRORS("watcher:\n"
	    "  git:\n"
	    "    max_parallel_fetches: \"4\"\n"
	    "    fetch_timeout: 30\n"
	    "    max_paralel_fetches: 2\n"
	    PLATFORMS DATASOURCES RULE,
	    "t.yaml:3:27: max_parallel_fetches: expected an integer 1..64, "
	    "got '4'",
	    "t.yaml:4:20: fetch_timeout: invalid duration '30' (missing "
	    "unit: ms, s, m or h)",
	    "t.yaml:5:5: unknown key 'max_paralel_fetches' in watcher.git; "
	    "did you mean 'max_parallel_fetches'?");
}

Test(conf, git_refresh_interval_is_a_duration_of_the_rule)
{
	struct vtw_conf *c;

	setenv("T_GITHUB_TOKEN", "tok", 1);
	c = load_ok(PLATFORMS DATASOURCES RULE "    git_refresh_interval: 10m\n");
	cr_expect_eq(c->rules[0].git_refresh_ms, 600000);
	conf_free(c);
	c = load_ok(PLATFORMS DATASOURCES RULE);
	cr_expect_eq(c->rules[0].git_refresh_ms, 0, "default: the branch's "
	    "shortest poll interval, computed by the supervisor");
	conf_free(c);
}
