/*
 * Helpers shared by the configuration unit tests (test_conf, test_conf_sinks).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_testutil.h"

void
dump(const struct conf_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		cr_log_info("error: %s", e->msgs[i]);
	for (i = 0; i < e->nwarnings; i++)
		cr_log_info("warning: %s", e->warnings[i]);
	for (i = 0; i < e->ninfos; i++)
		cr_log_info("info: %s", e->infos[i]);
}

int
load(struct vtw_conf **c, struct conf_errors *e, const char *yaml)
{
	int rv;

	rv = conf_load_buf(c, NAME, yaml, strlen(yaml), e);
	if (rv != 0)
		dump(e);
	return rv;
}

struct vtw_conf *
load_ok(const char *yaml)
{
	struct vtw_conf *c = NULL;
	struct conf_errors e;

	cr_assert_eq(load(&c, &e, yaml), 0, "config did not load");
	cr_assert_not_null(c);
	conf_errors_free(&e);
	return c;
}

void
expect_msgs(char **v, size_t n, const char *const *want, size_t nwant)
{
	size_t i;

	for (i = 0; i < n || i < nwant; i++) {
		if (i >= n)
			cr_expect_fail("missing message: %s", want[i]);
		else if (i >= nwant)
			cr_expect_fail("extra message: %s", v[i]);
		else
			cr_expect_str_eq(v[i], want[i]);
	}
	cr_assert_eq(n, nwant);
}

char *
printed(const struct vtw_conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	fp = open_memstream(&buf, &len);
	cr_assert_not_null(fp);
	cr_assert_eq(conf_print(fp, c), 0);
	fclose(fp);
	return buf;
}

int
in_any(char **v, size_t n, const char *needle)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strstr(v[i], needle) != NULL)
			return 1;
	return 0;
}

/* Loads, and there must be no warning or info either. */
struct vtw_conf *
load_clean(const char *yaml)
{
	struct vtw_conf *c = NULL;
	struct conf_errors e;

	cr_assert_eq(load(&c, &e, yaml), 0, "config did not load");
	cr_assert_not_null(c);
	if (e.nwarnings || e.ninfos)
		dump(&e);
	cr_expect_eq(e.nwarnings, 0);
	cr_expect_eq(e.ninfos, 0);
	conf_errors_free(&e);
	return c;
}

/* No environment override of the file; the token the test platforms use */
void
conf_test_env(void)
{
	static const char *const vars[] = {
		"POLL_INTERVAL", "ADMIN_ADDR", "LOG_LEVEL", "ORCHESTRATOR_ADDR",
		"HEAL_TIMEOUT", "APP_ENV", "TLS_CA_FILE", "TLS_CERT_FILE",
		"TLS_KEY_FILE",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("T_GITHUB_TOKEN", "ghp_test_token", 1);
}

/* a built kind, by name */
static const struct ds_kind *
kind_named(const char *name)
{
	const struct ds_kind *k = ds_kind_byname(name);

	cr_assert_not_null(k, "kind '%s' is not built", name);
	return k;
}

int
ds_is(const struct conf_datasource *ds, const char *kind)
{
	return ds->kind != NULL && ds->kind == kind_named(kind);
}

const void *
ds_kconf(const struct conf_datasource *ds, const char *kind)
{
	cr_assert(ds_is(ds, kind), "datasource '%s' is of type '%s', not %s",
	    ds->name ? ds->name : "?", ds->type ? ds->type : "?", kind);
	cr_assert_not_null(ds->kconf, "datasource '%s': no %s settings",
	    ds->name ? ds->name : "?", kind);
	return ds->kconf;
}

int
rule_has_kind(const struct conf_rule *r, const char *kind)
{
	return conf_rule_klayout(r, kind_named(kind)) != NULL;
}

/* The kinds' rule defaults, as the orchestrator's (not taken from the
 * descriptors' rule_init: the tests check those). */
static const struct conf_redis_rule redis_rule_dflt;
static const struct conf_mongo_rule mongo_rule_dflt;
static const struct conf_zk_rule zk_rule_dflt = { .watch = 1 };
static const struct conf_linux_rule linux_rule_dflt = {
	.env_as_filename = 1
};

const void *
rule_kind(const struct conf_rule *r, const char *kind)
{
	const void *p = conf_rule_klayout(r, kind_named(kind));

	if (p != NULL)
		return p;
	if (strcmp(kind, "redis") == 0)
		return &redis_rule_dflt;
	if (strcmp(kind, "mongo") == 0)
		return &mongo_rule_dflt;
	if (strcmp(kind, "zookeeper") == 0)
		return &zk_rule_dflt;
	if (strcmp(kind, "linux_server") == 0)
		return &linux_rule_dflt;
	cr_assert_fail("no defaults for kind '%s'", kind);
	return NULL;
}

void
expect_layout(const struct conf_rule *r, const char *env, const char *target,
    const char *marker, const char *key_format, const char *key_prefix,
    int detect_extra, int watch)
{
	const struct conf_layout *l = &r->layout;
	const char *n = r->name ? r->name : "?";

	cr_assert_not_null(l->env, "%s: no env", n);
	cr_expect_str_eq(l->env, env, "%s: env", n);
	cr_assert_not_null(l->target, "%s: no target", n);
	cr_expect_str_eq(l->target, target, "%s: target", n);
	cr_assert_not_null(l->marker, "%s: no marker", n);
	cr_expect_str_eq(l->marker, marker, "%s: marker", n);
	cr_assert_not_null(l->key_format, "%s: no key_format", n);
	cr_expect_str_eq(l->key_format, key_format, "%s: key_format", n);
	cr_assert_not_null(l->key_prefix, "%s: no key_prefix", n);
	cr_expect_str_eq(l->key_prefix, key_prefix, "%s: key_prefix", n);
	cr_expect_eq(l->detect_extra, detect_extra, "%s: detect_extra", n);
	cr_expect_eq(l->watch, watch, "%s: watch", n);
}
