/*
 * Where the orchestrator's sinks write (interop §2.4, §3.1, §3.2, §3.3,
 * §3.8), as the kinds compute it at config load (conf/layout.c,
 * conf/kinds/): templates, Redis key prefix, Mongo collection,
 * ZooKeeper root, Linux file path. A kind that is off is left out.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "kinds.h"
#ifdef VTW_KIND_LINUX_SERVER
#include "kinds/linux_server_conf.h"
#endif
#ifdef VTW_KIND_MONGO
#include "kinds/mongo_conf.h"
#endif
#ifdef VTW_KIND_REDIS
#include "kinds/redis_conf.h"
#endif
#ifdef VTW_KIND_ZOOKEEPER
#include "kinds/zookeeper_conf.h"
#endif

static char err[256];

Test(layout, format_template)
{
	char *s;

	cr_assert_eq(conf_format_template(&s, "{tenant}:{env}:x", "acme",
	    "pr-42", err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "acme:pr-42:x");
	free(s);
	cr_assert_eq(conf_format_template(&s, "{{literal}}-{env}", "t", "e",
	    err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "{literal}-e");
	free(s);
	cr_assert_eq(conf_format_template(&s, "", "t", "e", err, sizeof(err)),
	    0, "%s", err);
	cr_expect_str_eq(s, "");
	free(s);
	cr_assert_eq(conf_format_template(&s, NULL, "t", "e", err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "");
	free(s);
	/* longer values than the fields they replace */
	cr_assert_eq(conf_format_template(&s, "{env}{env}{env}{tenant}",
	    "tenant-long-name", "environment-longer", err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(s, "environment-longerenvironment-longer"
	    "environment-longertenant-long-name");
	free(s);
	cr_expect_eq(conf_format_template(&s, "{datasource}", "t", "e", err,
	    sizeof(err)), -1);
	cr_expect_null(s);
	cr_expect(strstr(err, "{datasource}") != NULL, "%s", err);
	cr_expect_eq(conf_format_template(&s, "{}", "t", "e", err,
	    sizeof(err)), -1);
	cr_expect_null(s);
	cr_expect_eq(conf_format_template(&s, "{env!r}", "t", "e", err,
	    sizeof(err)), -1);
	cr_expect_null(s);
	cr_expect_eq(conf_format_template(&s, "a}b", "t", "e", err,
	    sizeof(err)), -1);
	cr_expect_null(s);
	cr_expect(strstr(err, "single '}'") != NULL, "%s", err);
	cr_expect_eq(conf_format_template(&s, "a{env", "t", "e", err,
	    sizeof(err)), -1);
	cr_expect_null(s);
	cr_expect(strstr(err, "single '{'") != NULL, "%s", err);
}

static int
bad_slash(unsigned char c)
{
	return c == '/';
}

Test(layout, sanitise)
{
	char *s;

	s = conf_sanitise("a/b//c", bad_slash);
	cr_expect_str_eq(s, "a_b__c");
	free(s);
	s = conf_sanitise(NULL, bad_slash);
	cr_expect_str_eq(s, "");
	free(s);
}

#ifdef VTW_KIND_REDIS
Test(layout, redis_prefix)
{
	char *s;

	cr_assert_eq(conf_redis_prefix(&s, "acme", "redis-cache", "main", NULL,
	    NULL, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "acme:redis-cache:main");
	free(s);
	cr_assert_eq(conf_redis_prefix(&s, "acme", "r", "main", "", "fixed",
	    err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "fixed");
	free(s);
	cr_assert_eq(conf_redis_prefix(&s, "acme", "r", "main", NULL, "",
	    err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "acme:r:main");
	free(s);
	cr_assert_eq(conf_redis_prefix(&s, "acme", "r", "feature/x",
	    "{tenant}:{env}", "ignored", err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "acme:feature/x");	/* raw env */
	free(s);
	/* the golden examples: 05_redis_hash.json, 06_redis_string.json */
	cr_assert_eq(conf_redis_prefix(&s, "vartrack-demo", "redis", "main",
	    "{env}:config", NULL, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "main:config");
	free(s);
	cr_assert_eq(conf_redis_prefix(&s, "vartrack-demo", "redis", "main",
	    "vartrack:kv", NULL, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(s, "vartrack:kv");
	free(s);
	cr_expect_eq(conf_redis_prefix(&s, "acme", "r", "e", "{bad}", NULL,
	    err, sizeof(err)), -1);
	cr_expect_null(s);
}
#endif

#ifdef VTW_KIND_MONGO
static void
want_coll(const char *tmpl, const char *coll, int eac, const char *env,
    const char *expect)
{
	char *out = NULL;

	cr_assert_eq(conf_mongo_collection(&out, tmpl, coll, eac, "acme", env,
	    err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(out, expect);
	free(out);
}

Test(layout, mongo_collection)
{
	want_coll(NULL, NULL, 0, "prod", "configs");
	want_coll(NULL, "variables", 0, "prod", "variables");
	want_coll(NULL, "variables", 1, "v1.2/3$x", "variables_v1_2_3_x");
	want_coll("{tenant}_{env}", "ignored", 1, "v1.2", "acme_v1_2");
}

Test(layout, mongo_collection_errors)
{
	char *out = NULL;

	cr_expect_eq(conf_mongo_collection(&out, "{x}", NULL, 0, "acme", "p",
	    err, sizeof(err)), -1);
	cr_expect_null(out);
	cr_expect_eq(conf_mongo_collection(&out, "{env}", NULL, 0, "acme", "",
	    err, sizeof(err)), -1);
	cr_expect_null(out);
	cr_expect_str_eq(err, "collection name is empty");
}
#endif

#ifdef VTW_KIND_ZOOKEEPER
static void
want_zk(const char *base, const char *tmpl, const char *env,
    const char *expect)
{
	char *out = NULL;

	cr_assert_eq(conf_zk_root(&out, base, tmpl, "acme", env, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(out, expect);
	free(out);
}

Test(layout, zk_root)
{
	want_zk(NULL, NULL, "production", "/acme/production");
	want_zk("/vartrack/", NULL, "production", "/vartrack/acme/production");
	want_zk("/base", "/{env}/{tenant}/", "eu/prod", "/base/eu/prod/acme");
	want_zk("", "/", "p", "");
	want_zk(NULL, "", "p", "/acme/p");
	want_zk("/b", "{env}", "p", "/bp");
}

Test(layout, zk_root_errors)
{
	char *out = NULL;

	cr_expect_eq(conf_zk_root(&out, NULL, "{tenant}", "acme", "p", err,
	    sizeof(err)), -1);
	cr_expect_null(out);
	cr_expect_str_eq(err, "zookeeper root 'acme' is not an absolute path");
	cr_expect_eq(conf_zk_root(&out, NULL, "/{nope}", "acme", "p", err,
	    sizeof(err)), -1);
	cr_expect_null(out);
	cr_expect_eq(conf_zk_root(&out, "", "{env}/", "acme", "prod", err,
	    sizeof(err)), -1);
	cr_expect_null(out);
	cr_expect_str_eq(err, "zookeeper root 'prod' is not an absolute path");
}
#endif

#ifdef VTW_KIND_LINUX_SERVER
static void
want_path(const char *tmpl, const char *fp, int dir, int fn, const char *env,
    const char *expect)
{
	char *out = NULL;

	cr_assert_eq(conf_linux_path(&out, tmpl, fp, dir, fn, "acme", env, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(out, expect);
	free(out);
}

Test(layout, linux_path)
{
	/* defaults: /etc/vartrack/config.env with env_as_filename */
	want_path(NULL, NULL, 0, 1, "production",
	    "/etc/vartrack/config_production.env");
	want_path(NULL, NULL, 0, 0, "production", "/etc/vartrack/config.env");
	want_path(NULL, "/srv/app/app.yaml", 1, 1, "prod",
	    "/srv/app/prod/app.yaml");
	want_path(NULL, "/srv/app/settings", 0, 1, "prod",
	    "/srv/app/settings_prod");
	want_path(NULL, "/srv//app/.env", 0, 1, "prod", "/srv/app/.env_prod");
	want_path(NULL, "/srv/a.b.json", 0, 1, "p", "/srv/a.b_p.json");
	/* [^\w.\-] -> _ */
	want_path(NULL, "/srv/c.env", 0, 1, "feat/x y:1", "/srv/c_feat_x_y_1.env");
	want_path("/opt/{tenant}/{env}.env/", NULL, 0, 1, "a/b",
	    "/opt/acme/a_b.env");
	want_path(NULL, "config.env", 0, 1, "p", "config_p.env");
}
#endif
