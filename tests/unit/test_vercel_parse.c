/* The Vercel worker's response parsers (workers/vercel/vercel_parse.c). */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vercel_parse.h"

#define S(x)	x, sizeof(x) - 1

static json_t *docs;
static struct vc_env *envs;
static size_t n, cap;
static char err[256];

static void
setup(void)
{
	docs = json_array();
	envs = NULL;
	n = cap = 0;
	err[0] = '\0';
}

static void
teardown(void)
{
	free(envs);
	json_decref(docs);
}

TestSuite(vercel_parse, .init = setup, .fini = teardown);

Test(vercel_parse, page_of_envs)
{
	long long next;
	struct vc_env *e;

	cr_assert_eq(vc_page_parse(S("{\"envs\":["
	    "{\"id\":\"e1\",\"key\":\"a\",\"type\":\"plain\",\"value\":\"1\","
	    "\"target\":[\"production\",\"preview\"],\"updatedAt\":5},"
	    "{\"id\":\"e2\",\"key\":\"a\",\"type\":\"plain\",\"value\":\"2\","
	    "\"target\":\"preview\",\"updatedAt\":6},"
	    "{\"id\":\"e3\",\"key\":\"s\",\"type\":\"sensitive\","
	    "\"target\":[\"production\"],\"gitBranch\":\"x\"}],"
	    "\"pagination\":{\"count\":3,\"next\":1700000000000}}"),
	    docs, &envs, &n, &cap, &next, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 3);
	cr_assert_eq(next, 1700000000000LL);
	cr_assert_eq(envs[0].targets, VC_T_PROD | VC_T_PREV);
	cr_assert_eq(envs[1].targets, VC_T_PREV);
	cr_assert_eq(envs[2].updated, -1);
	cr_assert_null(envs[2].value);
	vc_envs_sort(envs, n);
	e = vc_find_env(envs, n, "a", 1, VC_T_PREV);
	cr_assert_str_eq(e->id, "e1", "covering, first listed");
	e = vc_find_env(envs, n, "a", 1, VC_T_PROD);
	cr_assert_str_eq(e->id, "e1");
	e = vc_find_env(envs, n, "s", 1, VC_T_PROD);
	cr_assert_str_eq(e->branch, "x");
	cr_assert_null(vc_find_env(envs, n, "b", 1, VC_T_PROD));
	cr_assert_null(vc_find_env(envs, n, "", 0, VC_T_PROD));
}

Test(vercel_parse, single_env_and_last_page)
{
	long long next = 7;

	cr_assert_eq(vc_page_parse(S("{\"key\":\"k\",\"type\":\"plain\","
	    "\"value\":\"a\\u0000b\"}"), docs, &envs, &n, &cap, &next, err,
	    sizeof(err)), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(next, -1);
	cr_assert_eq(envs[0].vallen, 3, "NUL kept");
}

Test(vercel_parse, bad_pages_named_without_content)
{
	long long next;

	cr_assert_eq(vc_page_parse(S("<html>secret</html>"), docs, &envs, &n,
	    &cap, &next, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "the answer is not a JSON object (19 bytes)");
	cr_assert_eq(vc_page_parse(S("[1]"), docs, &envs, &n, &cap, &next,
	    err, sizeof(err)), -1);
	cr_assert_eq(vc_page_parse(S("{\"envs\":{}}"), docs, &envs, &n, &cap,
	    &next, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "no \"envs\" list in the answer");
	cr_assert_eq(vc_page_parse(S("{\"envs\":[{\"key\":1,\"type\":\"p\"}]}"),
	    docs, &envs, &n, &cap, &next, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "envs[0] has no string key and type");
	cr_assert_eq(vc_page_parse(S("{\"envs\":[],\"pagination\":"
	    "{\"next\":-5}}"), docs, &envs, &n, &cap, &next, err,
	    sizeof(err)), 0);
	cr_assert_eq(next, -1, "a negative next is no next page");
}

Test(vercel_parse, decrypted_value)
{
	char *v;
	size_t l;

	cr_assert_eq(vc_decrypted_value(S("{\"value\":\"clear\","
	    "\"decrypted\":true}"), &v, &l), 0);
	cr_assert_str_eq(v, "clear");
	cr_assert_eq(l, 5);
	free(v);
	cr_assert_eq(vc_decrypted_value(S("{\"value\":\"Y3Q=\","
	    "\"decrypted\":false}"), &v, &l), 1);
	cr_assert_null(v);
	cr_assert_eq(vc_decrypted_value(S("{\"decrypted\":false}"), &v, &l),
	    1);
	cr_assert_eq(vc_decrypted_value(S("nope"), &v, &l), 1);
}

Test(vercel_parse, reset_times)
{
	const char *src;
	time_t now = 1800000000;

	cr_assert_eq(vc_reset_at("1800000030", NULL, S("{}"), now, &src),
	    now + 30);
	cr_assert_str_eq(src, "X-RateLimit-Reset");
	cr_assert_eq(vc_reset_at("1800000030", "5",
	    S("{\"error\":{\"limit\":{\"reset\":1800000040}}}"), now, &src),
	    now + 40, "the later of header and body");
	cr_assert_str_eq(src, "limit.reset");
	cr_assert_eq(vc_reset_at(NULL, "7", S(""), now, &src), now + 7);
	cr_assert_str_eq(src, "Retry-After");
	cr_assert_eq(vc_reset_at(NULL, "Fri, 15 Jan 2027 08:00:30 GMT",
	    NULL, 0, now, &src), now + 30, "an HTTP date");
	cr_assert_eq(vc_reset_at(NULL, "Sat, 15 Jan 2028 08:00:30 GMT",
	    NULL, 0, now, &src), now + VC_RL_MAX_S, "capped");
	cr_assert_eq(vc_reset_at(NULL, NULL, NULL, 0, now, &src),
	    now + VC_RL_DEFAULT_S);
	cr_assert_str_eq(src, "no reset given");
	cr_assert_eq(vc_reset_at("1799999990", NULL, NULL, 0, now, &src),
	    now + 1, "a reset in the past: a second");
	cr_assert_eq(vc_reset_at("99999999999999999999", "x", NULL, 0, now,
	    &src), now + VC_RL_DEFAULT_S, "garbage: the default");
	cr_assert_eq(vc_reset_at(NULL, "9999999999999", NULL, 0, now, &src),
	    now + VC_RL_MAX_S);
}

Test(vercel_parse, api_errors_show_code_and_message_only)
{
	vc_api_error(403, S("{\"error\":{\"code\":\"forbidden\",\"message\":"
	    "\"Not authorized\",\"invalidToken\":true,\"token\":\"vcp_x\"}}"),
	    "GET /v10/projects/p/env", err, sizeof(err));
	cr_assert_str_eq(err, "GET /v10/projects/p/env: HTTP 403 forbidden: "
	    "Not authorized");
	vc_api_error(502, S("<html>bad gateway vcp_x</html>"), "GET x", err,
	    sizeof(err));
	cr_assert_str_eq(err, "GET x: HTTP 502 (not a Vercel error body)");
}

Test(vercel_parse, targets_and_ids)
{
	char b[64];

	vc_targets_str(VC_T_PROD | VC_T_DEV, b, sizeof(b));
	cr_assert_str_eq(b, "production,development");
	vc_targets_str(0, b, sizeof(b));
	cr_assert_str_eq(b, "none");
	cr_assert(vc_id_ok("prj_12HKQaOmR5t5Uy6vdcQsNIiZgHGB"));
	cr_assert_not(vc_id_ok("../x"));
	cr_assert_not(vc_id_ok(""));
	cr_assert_eq(vc_num_value("12"), 12);
	cr_assert_eq(vc_num_value("-1"), -1);
	cr_assert_eq(vc_num_value("1x"), -1);
	cr_assert_eq(vc_num_value(NULL), -1);
}
