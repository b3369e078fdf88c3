/*
 * Helpers shared by the configuration unit tests: load a YAML string as
 * "t.yaml", compare message lists, print a configuration back.
 */
#ifndef VTW_CONF_TESTUTIL_H
#define VTW_CONF_TESTUTIL_H

#include <stddef.h>

#include "conf.h"
#include "kinds.h"
#include "kinds/linux_server_conf.h"
#include "kinds/mongo_conf.h"
#include "kinds/redis_conf.h"
#include "kinds/zookeeper_conf.h"

#define NAME	"t.yaml"

/* The test-only kind testkv (VTW_TEST_HOOKS builds) is listed after the
 * four kinds where a message names kinds. */
#ifdef VTW_KIND_TESTKV
#define AND_TESTKV	", testkv"
#else
#define AND_TESTKV	""
#endif

/* unset the env overrides (POLL_INTERVAL, ...), set T_GITHUB_TOKEN */
void	conf_test_env(void);
void	dump(const struct conf_errors *);
/* conf_load_buf as NAME; the messages are logged when it fails */
int	load(struct vtw_conf **, struct conf_errors *, const char *yaml);
/* loads (warnings and infos allowed) */
struct vtw_conf *load_ok(const char *yaml);
/* loads, with no warning and no info */
struct vtw_conf *load_clean(const char *yaml);
void	expect_msgs(char **v, size_t n, const char *const *want, size_t nwant);
/* conf_print output (free()) */
char	*printed(const struct vtw_conf *);
int	in_any(char **v, size_t n, const char *needle);

/*
 * The kinds' own structs. ds_kconf: a datasource's settings, asserting that
 * it is of that kind. rule_kind: a rule's layout keys of that kind, or the
 * kind's defaults (zookeeper watch 1, linux_server env_as_filename 1, the
 * rest zero/NULL) when the rule has none of them. rule_has_kind: whether
 * the rule holds a struct of that kind (its own kind, or one of its keys
 * was given).
 */
const void *ds_kconf(const struct conf_datasource *, const char *kind);
const void *rule_kind(const struct conf_rule *, const char *kind);
int	rule_has_kind(const struct conf_rule *, const char *kind);
/* ds->kind is the kind of that name (which must be built) */
int	ds_is(const struct conf_datasource *, const char *kind);

#define DS_REDIS(d)	((const struct conf_redis_ds *)ds_kconf((d), "redis"))
#define DS_MONGO(d)	((const struct conf_mongo_ds *)ds_kconf((d), "mongo"))
#define DS_ZK(d)	((const struct conf_zk_ds *)ds_kconf((d), "zookeeper"))
#define DS_LINUX(d)	((const struct conf_linux_ds *)ds_kconf((d), \
			    "linux_server"))
#define R_REDIS(r)	((const struct conf_redis_rule *)rule_kind((r), "redis"))
#define R_MONGO(r)	((const struct conf_mongo_rule *)rule_kind((r), "mongo"))
#define R_ZK(r)		((const struct conf_zk_rule *)rule_kind((r), \
			    "zookeeper"))
#define R_LINUX(r)	((const struct conf_linux_rule *)rule_kind((r), \
			    "linux_server"))

/* A rule's computed layout (rule->layout) is exactly this. */
void	expect_layout(const struct conf_rule *, const char *env,
	    const char *target, const char *marker, const char *key_format,
	    const char *key_prefix, int detect_extra, int watch);

#define EXPECT_MSGS(v, n, ...) do {					\
	const char *const want_[] = { __VA_ARGS__ };			\
	expect_msgs((v), (n), want_, sizeof(want_) / sizeof(want_[0]));	\
} while (0)

/* Load, expecting failure with exactly these errors. */
#define EXPECT_ERRORS(yaml, ...) do {					\
	struct vtw_conf *c_ = NULL;					\
	struct conf_errors e_;						\
	cr_assert_eq(load(&c_, &e_, (yaml)), -1);			\
	cr_assert_null(c_);						\
	EXPECT_MSGS(e_.msgs, e_.n, __VA_ARGS__);			\
	conf_errors_free(&e_);						\
} while (0)


#endif
