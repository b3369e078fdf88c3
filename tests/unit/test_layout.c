/*
 * Where the orchestrator's sinks write (interop §2.4, §3.1, §3.3, §3.8):
 * Mongo collection, ZooKeeper root, Linux file path.
 */
#include <stdlib.h>

#include <criterion/criterion.h>

#include "baseline.h"

static char err[256];

static void
want_coll(const char *tmpl, const char *coll, int eac, const char *env,
    const char *expect)
{
	char *out = NULL;

	cr_assert_eq(bl_mongo_collection(&out, tmpl, coll, eac, "acme", env,
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

	cr_expect_eq(bl_mongo_collection(&out, "{x}", NULL, 0, "acme", "p",
	    err, sizeof(err)), -1);
	cr_expect_null(out);
	cr_expect_eq(bl_mongo_collection(&out, "{env}", NULL, 0, "acme", "",
	    err, sizeof(err)), -1);
	cr_expect_null(out);
}

static void
want_zk(const char *base, const char *tmpl, const char *env,
    const char *expect)
{
	char *out = NULL;

	cr_assert_eq(bl_zk_root(&out, base, tmpl, "acme", env, err,
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
}

Test(layout, zk_root_errors)
{
	char *out = NULL;

	cr_expect_eq(bl_zk_root(&out, NULL, "{tenant}", "acme", "p", err,
	    sizeof(err)), -1);
	cr_expect_null(out);
	cr_expect_eq(bl_zk_root(&out, NULL, "/{nope}", "acme", "p", err,
	    sizeof(err)), -1);
}

static void
want_path(const char *tmpl, const char *fp, int dir, int fn, const char *env,
    const char *expect)
{
	char *out = NULL;

	cr_assert_eq(bl_linux_path(&out, tmpl, fp, dir, fn, "acme", env, err,
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
