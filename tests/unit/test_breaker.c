#include <criterion/criterion.h>

#include "breaker.h"

Test(breaker, opens_after_threshold_and_fails_fast)
{
	struct breaker b;
	int i;

	breaker_init(&b, 5, 30000, 30000, 0, 0);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(breaker_allow(&b, 0), 1);
		cr_assert_eq(breaker_failure(&b, 0), 0);
	}
	cr_assert_eq(breaker_failure(&b, 1000), 1);
	cr_assert_eq(b.state, BR_OPEN);
	cr_assert_eq(breaker_allow(&b, 1000), 0);
	cr_assert_eq(breaker_allow(&b, 30999), 0);
	cr_assert_eq(breaker_wait_ms(&b, 11000), 20000);
}

Test(breaker, half_open_lets_one_probe_through)
{
	struct breaker b;

	breaker_init(&b, 1, 100, 100, 0, 0);
	breaker_failure(&b, 0);
	cr_assert_eq(breaker_allow(&b, 100), 1);
	cr_assert_eq(b.state, BR_HALF_OPEN);
	cr_assert_eq(breaker_allow(&b, 101), 0, "only one probe");
	cr_assert_eq(breaker_success(&b), 1);
	cr_assert_eq(b.state, BR_CLOSED);
	cr_assert_eq(breaker_allow(&b, 102), 1);
}

Test(breaker, failed_probe_reopens_and_doubling_is_capped)
{
	struct breaker b;

	breaker_init(&b, 1, 1000, 3000, 1, 0);
	breaker_failure(&b, 0);
	cr_assert_eq(b.until_ms, 1000);
	cr_assert_eq(breaker_allow(&b, 1000), 1);
	cr_assert_eq(breaker_failure(&b, 1000), 1);
	cr_assert_eq(b.until_ms, 3000);		/* 2000 later */
	cr_assert_eq(breaker_allow(&b, 3000), 1);
	breaker_failure(&b, 3000);
	cr_assert_eq(b.until_ms, 6000);		/* capped at 3000 */
	cr_assert_eq(b.opens, 3);
	breaker_allow(&b, 6000);
	breaker_success(&b);
	breaker_failure(&b, 7000);
	cr_assert_eq(b.until_ms, 8000, "a success resets the period");
}

Test(breaker, jitter_stays_within_bounds)
{
	struct breaker b;
	int i;

	for (i = 0; i < 200; i++) {
		breaker_init(&b, 1, 10000, 10000, 0, 20);
		breaker_failure(&b, 0);
		cr_assert(b.until_ms >= 8000 && b.until_ms <= 12000,
		    "%llu", (unsigned long long)b.until_ms);
	}
}

Test(breaker, names)
{
	cr_assert_str_eq(breaker_state_name(BR_HALF_OPEN), "half-open");
}
