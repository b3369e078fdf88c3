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
