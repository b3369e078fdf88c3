/*
 * Helpers shared by the configuration unit tests: load a YAML string as
 * "t.yaml", compare message lists, print a configuration back.
 */
#ifndef VTW_CONF_TESTUTIL_H
#define VTW_CONF_TESTUTIL_H

#include <stddef.h>

#include "conf.h"

#define NAME	"t.yaml"

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
