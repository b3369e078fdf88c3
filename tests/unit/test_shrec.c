#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "shrec.h"

static const struct heal_params P = {
	.retry_initial_ms = 5000, .retry_max_ms = 300000, .retry_attempts = 5,
	.flap_limit = 2, .flap_holdoff_ms = 600000,
};

/* Leader on host A trips the flap guard; host B (another monotonic clock,
 * the same wall clock) reads the record and holds off as A would. */
Test(shrec, a_flap_holdoff_crosses_hosts_on_the_wall_clock)
{
	struct shrec_clock a = { 1000000, 1700000000000ULL };
	struct shrec_clock b = { 50, 1700000000000ULL + 2000 };
	struct heal_state h, g;
	char err[256], *s;
	uint64_t t = a.mono_ms;
	int i;

	heal_state_init(&h);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(heal_on_drift(&h, &P, 7, t), HEAL_CALL);
		heal_on_result(&h, &P, 1, 0, t);
	}
	cr_assert_eq(heal_on_drift(&h, &P, 7, t), HEAL_FLAP_DETECTED);
	cr_assert_not_null(s = shrec_heal_encode(&h, &a));
	heal_state_init(&g);
	cr_assert_eq(shrec_heal_decode(s, strlen(s), &g, &b, err,
	    sizeof(err)), 0, "%s", err);
	free(s);
	/* 2 s later on B: 598 s of hold-off left */
	cr_assert_eq(g.holdoff_until - b.mono_ms, 598000);
	cr_assert_eq(g.holdoffs, 1);
	cr_assert_eq(g.sig, 7);
	cr_assert(g.flapping);
	cr_assert_eq(g.inflight, 0);
	cr_assert_eq(heal_on_drift(&g, &P, 7, b.mono_ms + 1000),
	    HEAL_SKIP_HOLDOFF);
	cr_assert_eq(heal_on_drift(&g, &P, 7, b.mono_ms + 598000), HEAL_CALL);
}

Test(shrec, times_past_are_none_and_far_future_is_bounded)
{
	struct shrec_clock c = { 5000, 1700000000000ULL };
	struct heal_state h, g;
	char err[256], *s;
	char hostile[] = "{\"in_event\":true,\"verifying\":false,\"attempts\":5,"
	    "\"next_at\":9000000000000000000,\"sig\":\"00000000000000ff\","
	    "\"ineffective\":0,\"holdoffs\":0,\"holdoff_until\":0,"
	    "\"flapping\":false}";

	heal_state_init(&h);
	h.next_ms = 4000;		/* already past */
	h.holdoff_until = 0;
	cr_assert_not_null(s = shrec_heal_encode(&h, &c));
	cr_assert_not_null(strstr(s, "\"next_at\":0"));
	free(s);
	cr_assert_eq(shrec_heal_decode(hostile, strlen(hostile), &g, &c, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(g.next_ms, c.mono_ms + SHREC_MAX_AHEAD_MS);
	cr_assert_eq(g.sig, 0xff);
}

Test(shrec, what_is_not_a_record_of_ours_is_refused_by_field)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "", "not JSON" },
		{ "[1]", "expected an object" },
		{ "{\"in_event\":1}", "heal.in_event" },
		{ "{\"in_event\":true,\"verifying\":false,\"flapping\":false,"
		    "\"attempts\":-1}", "heal.attempts" },
		{ "{\"in_event\":true,\"verifying\":false,\"flapping\":false,"
		    "\"attempts\":1,\"ineffective\":0,\"holdoffs\":0,"
		    "\"next_at\":0,\"holdoff_until\":0,\"sig\":\"xyz\"}",
		    "heal.sig" },
		{ "{\"in_event\":true,\"in_event\":true}", "not JSON" },
	};
	struct shrec_clock c = { 1, 2 };
	struct heal_state g;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&g, 0x5a, sizeof(g));
		cr_assert_eq(shrec_heal_decode(bad[i].text, strlen(bad[i].text),
		    &g, &c, err, sizeof(err)), -1, "%s", bad[i].text);
		cr_assert_not_null(strstr(err, bad[i].err), "%s: %s",
		    bad[i].text, err);
		cr_assert_eq(g.attempts, 0x5a5a5a5a, "left alone");
	}
}

Test(shrec, result_names_round_trip)
{
	cr_assert_eq(shrec_result_parse("drift", 5), SHREC_DRIFT);
	cr_assert_eq(shrec_result_parse("ok", 2), SHREC_OK);
	cr_assert_eq(shrec_result_parse("okay", 4), SHREC_NONE);
	cr_assert_str_eq(shrec_result_name(SHREC_UNKNOWN), "unknown");
}
