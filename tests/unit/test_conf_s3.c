/*
 * Unit tests of the s3 kind's configuration (conf/kinds/s3.c): the object
 * key prefix (interop §3.4), bucket names, the shared credentials file,
 * the credential chain resolved at load (environment, file, container,
 * IMDSv2: spec/backends-http-ha.md §1.3), defaults, every message with its
 * place, secrets kept out of the printer, the layout.
 *
 * Criterion runs every test in its own process: setenv() is local to a
 * test.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_testutil.h"
#include "kinds.h"
#include "kinds/s3_conf.h"

#define PLATFORMS \
	"platforms:\n" \
	"  - name: github\n" \
	"    type: github\n" \
	"    token: {env: T_GITHUB_TOKEN}\n"
/* lines 5-11: a datasource "s3" with these keys (4 spaces) */
#define DS(keys) \
	"datasources:\n" \
	"  - name: s3\n" \
	"    type: s3\n" keys
#define RULE(keys) \
	"rules:\n" \
	"  - platform: github\n" \
	"    datasource: s3\n" \
	"    repo_url: https://example.com/cfg.git\n" \
	"    file_name: app.yaml\n" \
	"    env: production\n" keys

#define DS_S3(d)	((const struct conf_s3_ds *)ds_kconf((d), "s3"))

static char tmpdir[64];

static void
setup(void)
{
	static const char *const aws[] = {
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_SECURITY_TOKEN", "AWS_SHARED_CREDENTIALS_FILE",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED",
	};
	size_t i;

	conf_test_env();
	for (i = 0; i < sizeof(aws) / sizeof(aws[0]); i++)
		unsetenv(aws[i]);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vtw-test-s3-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	setenv("HOME", tmpdir, 1);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(s3conf, .init = setup, .fini = teardown);

Test(s3conf, prefix)
{
	static const struct {
		const char *tmpl, *key_prefix, *env, *want;
	} cases[] = {
		{ NULL, NULL, "production", "production" },
		{ NULL, "", "production", "production" },
		{ NULL, "app", "production", "app/production" },
		{ NULL, "app/", "prod", "app/prod" },
		{ NULL, "/app//", "prod", "app/prod" },
		{ NULL, "app", "feature/x", "app/feature/x" },	/* raw env */
		{ NULL, "a b+c", "v1.2", "a b+c/v1.2" },
		{ "/{tenant}/{env}/", "ignored", "prod", "acme/prod" },
		{ "cfg/{env}", NULL, "feature/x", "cfg/feature/x" },
		{ "//", NULL, "prod", "" },
	};
	char *out, err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(conf_s3_prefix(&out, cases[i].tmpl,
		    cases[i].key_prefix, "acme", cases[i].env, err,
		    sizeof(err)), 0, "%s", err);
		cr_expect_str_eq(out, cases[i].want, "case %zu", i);
		free(out);
	}
	cr_expect_eq(conf_s3_prefix(&out, "{file}", NULL, "acme", "p", err,
	    sizeof(err)), -1);
}

Test(s3conf, bucket_names)
{
	static const char *const ok[] = { "cfg", "my-bucket.v2", "a1b" };
	static const char *const bad[] = {
		"ab", "Upper", "under_score", "-dash", "dot.", "a b",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_expect_eq(conf_s3_bucket_check(ok[i], why, sizeof(why)), 0,
		    "%s", ok[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(conf_s3_bucket_check(bad[i], why, sizeof(why)),
		    -1, "%s", bad[i]);
}

Test(s3conf, credentials_file)
{
	static const char f[] =
	    "# comment\n"
	    "[default]\n"
	    "aws_access_key_id = AKDEF\n"
	    "aws_secret_access_key=secdef\n"
	    "\n"
	    "[ prod ]\r\n"
	    "  aws_access_key_id   =  AKPROD  \r\n"
	    "; another comment\n"
	    "aws_secret_access_key = sec prod\n"
	    "aws_session_token = tok\n"
	    "region = eu-west-1\n"
	    "[half]\n"
	    "aws_access_key_id = AKHALF\n"
	    "[broken\n"
	    "aws_secret_access_key = x\n";
	struct conf_s3_creds c;

	cr_assert_eq(conf_s3_credfile_parse(&c, f, strlen(f), "default"), 0);
	cr_expect_str_eq(c.key, "AKDEF");
	cr_expect_str_eq(c.secret, "secdef");
	cr_expect_null(c.token);
	conf_s3_creds_free(&c);
	cr_assert_eq(conf_s3_credfile_parse(&c, f, strlen(f), "prod"), 0);
	cr_expect_str_eq(c.key, "AKPROD");
	cr_expect_str_eq(c.secret, "sec prod");
	cr_expect_str_eq(c.token, "tok");
	conf_s3_creds_free(&c);
	cr_expect_eq(conf_s3_credfile_parse(&c, f, strlen(f), "half"), 1);
	cr_expect_eq(conf_s3_credfile_parse(&c, f, strlen(f), "nope"), 1);
	cr_expect_eq(conf_s3_credfile_parse(&c, "", 0, "default"), 1);
}

Test(s3conf, defaults_custom_endpoint)
{
	struct vtw_conf *c;
	const struct conf_s3_ds *d;
	char *p;

	setenv("T_S3_KEY", "AKIDEXAMPLE", 1);
	setenv("T_S3_SECRET", "wJalrXUtnFEMI", 1);
	c = load_clean(PLATFORMS DS(
	    "    endpoint: http://127.0.0.1:4570/\n"
	    "    access_key_id: {env: T_S3_KEY}\n"
	    "    secret_access_key: {env: T_S3_SECRET}\n")
	    RULE("    s3_bucket: cfg\n    s3_key_prefix: app/\n"));
	d = DS_S3(&c->datasources[0]);
	cr_expect_str_eq(d->endpoint, "http://127.0.0.1:4570");
	cr_expect_str_eq(d->region, "us-east-1");
	cr_expect_eq(d->path_style, 1);		/* a custom endpoint */
	cr_expect_eq(d->max_object_bytes, 16u << 20);
	cr_expect_eq(d->cred, CONF_S3_CRED_CONFIG);
	expect_layout(&c->rules[0], "production",
	    "s3://cfg/app/production/config.json", CONF_S3_MARKER_TAG, "dot",
	    "", 1, 0);
	p = printed(c);
	cr_expect(strstr(p, "wJalrXUtnFEMI") == NULL);
	cr_expect(strstr(p, "AKIDEXAMPLE") == NULL);
	cr_expect(strstr(p, "access_key_id: {env: \"T_S3_KEY\"}") != NULL, "%s",
	    p);
	cr_expect(strstr(p, "s3_key_prefix: \"app/\"") != NULL, "%s", p);
	free(p);
	conf_free(c);
}

Test(s3conf, aws_defaults_and_region_from_env)
{
	struct vtw_conf *c;
	const struct conf_s3_ds *d;

	setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secenv", 1);
	c = load_clean(PLATFORMS DS("")
	    RULE("    s3_bucket: cfg\n    s3_one_file_per_key: true\n"
	    "    destination_template: \"/{tenant}/{env}/\"\n"));
	d = DS_S3(&c->datasources[0]);
	cr_expect_str_eq(d->region, "eu-west-3");
	cr_expect_str_eq(d->endpoint, "https://s3.eu-west-3.amazonaws.com");
	cr_expect_eq(d->path_style, 0);
	cr_expect_eq(d->cred, CONF_S3_CRED_ENV);
	cr_expect_str_eq(d->cred_key, "AKENV");
	cr_expect_null(d->cred_token);
	expect_layout(&c->rules[0], "production", "s3://cfg/default/production/",
	    CONF_S3_MARKER_TAG, "dot", "", 1, 0);
	conf_free(c);
	/* AWS_REGION wins */
	setenv("AWS_REGION", "ap-south-1", 1);
	c = load_clean(PLATFORMS DS("") RULE("    s3_bucket: cfg\n"));
	cr_expect_str_eq(DS_S3(&c->datasources[0])->region, "ap-south-1");
	conf_free(c);
}

Test(s3conf, chain_file_container_imds)
{
	struct vtw_conf *c;
	const struct conf_s3_ds *d;
	char path[128], tok[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/creds", tmpdir);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "[default]\naws_access_key_id = AKFILE\n"
	    "aws_secret_access_key = secfile\naws_session_token = tokfile\n");
	fclose(f);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	c = load_clean(PLATFORMS DS("") RULE("    s3_bucket: cfg\n"));
	d = DS_S3(&c->datasources[0]);
	cr_expect_eq(d->cred, CONF_S3_CRED_FILE);
	cr_expect_str_eq(d->cred_key, "AKFILE");
	cr_expect_str_eq(d->cred_token, "tokfile");
	conf_free(c);
	/* a profile the file lacks: warned, then the next link */
	setenv("AWS_PROFILE", "other", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds/x", 1);
	c = load_ok(PLATFORMS DS("") RULE("    s3_bucket: cfg\n"));
	d = DS_S3(&c->datasources[0]);
	cr_expect_eq(d->cred, CONF_S3_CRED_CONTAINER);
	cr_expect_str_eq(d->container_url, "http://169.254.170.2/v2/creds/x");
	conf_free(c);
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	snprintf(tok, sizeof(tok), "%s/token", tmpdir);
	cr_assert_not_null(f = fopen(tok, "w"));
	fprintf(f, "Bearer abc\n");
	fclose(f);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
	    "http://127.0.0.1:8080/creds", 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tok, 1);
	c = load_ok(PLATFORMS DS("") RULE("    s3_bucket: cfg\n"));
	d = DS_S3(&c->datasources[0]);
	cr_expect_str_eq(d->container_url, "http://127.0.0.1:8080/creds");
	cr_expect_str_eq(d->container_token, "Bearer abc");
	conf_free(c);
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	c = load_ok(PLATFORMS DS("") RULE("    s3_bucket: cfg\n"));
	d = DS_S3(&c->datasources[0]);
	cr_expect_eq(d->cred, CONF_S3_CRED_IMDS);
	cr_expect_str_eq(d->imds_endpoint, "http://169.254.169.254");
	conf_free(c);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/", 1);
	c = load_ok(PLATFORMS DS("") RULE("    s3_bucket: cfg\n"));
	cr_expect_str_eq(DS_S3(&c->datasources[0])->imds_endpoint,
	    "http://127.0.0.1:9");
	conf_free(c);
}

Test(s3conf, chain_errors)
{
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.example/c",
	    1);
	EXPECT_ERRORS(PLATFORMS DS("") RULE("    s3_bucket: cfg\n"),
	    "t.yaml:6:5: datasource 's3': AWS_CONTAINER_CREDENTIALS_FULL_URI "
	    "must name a loopback or container-agent host");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	EXPECT_ERRORS(PLATFORMS DS("") RULE("    s3_bucket: cfg\n"),
	    "t.yaml:6:5: datasource 's3': no credentials (not configured, "
	    "none in the environment or the shared credentials file, no "
	    "container credentials, and AWS_EC2_METADATA_DISABLED is set)");
}

Test(s3conf, errors_with_their_place)
{
	setenv("T_S3_KEY", "AKIDEXAMPLE", 1);
	EXPECT_ERRORS(PLATFORMS DS(
	    "    endpoint: ftp://host\n"
	    "    region: EU-West\n"
	    "    access_key_id: {env: T_S3_KEY}\n"
	    "    path_style: sometimes\n"
	    "    max_object_bytes: 2GiB\n"
	    "  - name: s3b\n"
	    "    type: s3\n"
	    "    endpoint: \"https://user:pw@host/\"\n"
	    "    session_token: {env: T_S3_KEY}\n")
	    "rules:\n"
	    "  - platform: github\n"
	    "    datasource: s3\n"
	    "    repo_url: https://example.com/cfg.git\n"
	    "    file_name: app.yaml\n"
	    "    s3_bucket: Bad_Bucket\n"
	    "    s3_one_file_per_key: often\n"
	    "  - platform: github\n"
	    "    datasource: s3b\n"
	    "    repo_url: https://example.com/cfg.git\n"
	    "    file_name: app.yaml\n"
	    "    key_format: flat\n",
	    "t.yaml:8:15: endpoint: 'ftp://host' is not an http:// or https:// "
	    "URL",
	    "t.yaml:9:13: region: 'EU-West' is not a region name (lower-case "
	    "letters, digits and '-', e.g. eu-west-1)",
	    "t.yaml:10:5: access_key_id: access_key_id and secret_access_key "
	    "go together",
	    "t.yaml:11:17: path_style: expected a bool (true or false), got "
	    "'sometimes'",
	    "t.yaml:12:23: max_object_bytes: invalid size '2GiB' (bytes, or a "
	    "number with KiB, MiB or GiB; 1 byte to 1GiB)",
	    "t.yaml:15:15: endpoint: expected scheme://host[:port][/path] "
	    "without credentials, query or fragment, got "
	    "'https://<redacted>@host/'",
	    "t.yaml:16:5: session_token: needs access_key_id and "
	    "secret_access_key",
	    "t.yaml:22:16: s3_bucket: 'Bad_Bucket' is not a bucket name (only "
	    "a-z, 0-9, '.' and '-')",
	    "t.yaml:23:26: s3_one_file_per_key: expected a bool (true or "
	    "false), got 'often'",
	    "t.yaml:28:17: key_format: 'flat' is not allowed for s3 (allowed: "
	    "dot)");
	/* a rule without its bucket: refused where it stands */
	setenv("T_S3_SECRET", "x", 1);
	EXPECT_ERRORS(PLATFORMS DS(
	    "    access_key_id: {env: T_S3_KEY}\n"
	    "    secret_access_key: {env: T_S3_SECRET}\n") RULE(""),
	    "t.yaml:11:5: rule 's3:app.yaml': missing required key "
	    "'s3_bucket' for s3 datasource 's3'");
}

Test(s3conf, rule_connection_keys_one_info_line)
{
	struct vtw_conf *c;
	struct conf_errors e;

	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secenv", 1);
	cr_assert_eq(load(&c, &e, PLATFORMS DS("") RULE(
	    "    s3_bucket: cfg\n"
	    "    s3_region: eu-west-1\n"
	    "    s3_access_key_id: AK\n"
	    "    s3_secret_access_key: SECRETLITERAL\n"
	    "    s3_endpoint_url: http://x\n"
	    "    s3_object_tags: {team: core}\n")), 0);
	cr_expect_eq(e.n, 0);
	cr_expect(in_any(e.infos, e.ninfos, "ignoring connection settings, "
	    "they belong in the datasource: s3_region, s3_access_key_id, "
	    "s3_secret_access_key, s3_endpoint_url"));
	conf_free(c);
}
