#include <criterion/criterion.h>

#include "heal.h"

static const struct heal_params P = {
	.retry_initial_ms = 5000, .retry_max_ms = 300000, .retry_attempts = 5,
	.flap_limit = 3, .flap_holdoff_ms = 300000,
};

Test(heal, first_drift_calls_then_waits_for_the_result)
{
	struct heal_state h;

	heal_state_init(&h);
	cr_assert_eq(heal_on_drift(&h, &P, 1, 0), HEAL_CALL);
	cr_assert_eq(heal_on_drift(&h, &P, 1, 10), HEAL_SKIP_INFLIGHT);
}

Test(heal, failures_back_off_exponentially_and_stop_after_attempts)
{
	struct heal_state h;
	uint64_t t = 0, expect[] = { 5000, 10000, 20000, 40000 };
	int i;

	heal_state_init(&h);
	cr_assert_eq(heal_on_drift(&h, &P, 1, t), HEAL_CALL);
	for (i = 0; i < 4; i++) {
		heal_on_result(&h, &P, 0, 1, t);
		cr_assert_eq(h.next_ms - t, expect[i], "attempt %d", i);
		cr_assert_eq(heal_on_drift(&h, &P, 1, t + 1), HEAL_SKIP_BACKOFF);
		t = h.next_ms;
		cr_assert_eq(heal_on_drift(&h, &P, 1, t), HEAL_CALL);
	}
	heal_on_result(&h, &P, 0, 1, t);	/* 5th failure */
	cr_assert_eq(heal_on_drift(&h, &P, 1, t + 60000), HEAL_SKIP_EXHAUSTED);
	cr_assert_eq(heal_on_drift(&h, &P, 1, t + 300000), HEAL_CALL,
	    "a new round after resting retry_max");
}

Test(heal, non_retryable_status_ends_the_round)
{
	struct heal_state h;

	heal_state_init(&h);
	heal_on_drift(&h, &P, 1, 0);
	heal_on_result(&h, &P, 0, 0, 0);
	cr_assert_eq(heal_on_drift(&h, &P, 1, 6000), HEAL_SKIP_EXHAUSTED);
}

Test(heal, ok_poll_verifies_and_resets)
{
	struct heal_state h;

	heal_state_init(&h);
	heal_on_drift(&h, &P, 1, 0);
	heal_on_result(&h, &P, 1, 0, 0);
	cr_assert_eq(heal_on_ok(&h), 1);
	cr_assert_eq(heal_on_ok(&h), 0);
	cr_assert_eq(heal_on_drift(&h, &P, 1, 1), HEAL_CALL);
}

Test(heal, flap_guard_trips_after_limit_and_holdoff_grows)
{
	struct heal_state h;
	uint64_t t = 0;
	int i, round;

	heal_state_init(&h);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 3; i++) {
			cr_assert_eq(heal_on_drift(&h, &P, 7, t), HEAL_CALL,
			    "round %d call %d", round, i);
			heal_on_result(&h, &P, 1, 0, t);
			t += 1000;
		}
		cr_assert_eq(heal_on_drift(&h, &P, 7, t), HEAL_FLAP_DETECTED);
		cr_assert_eq(h.holdoff_until - t, 300000ULL << round);
		cr_assert_eq(heal_on_drift(&h, &P, 7, t + 1000),
		    HEAL_SKIP_HOLDOFF);
		t = h.holdoff_until;
	}
}

Test(heal, different_drift_does_not_count_as_the_same)
{
	struct heal_state h;

	heal_state_init(&h);
	heal_on_drift(&h, &P, 1, 0);
	heal_on_result(&h, &P, 1, 0, 0);
	heal_on_drift(&h, &P, 2, 1);		/* verifies: different drift */
	cr_assert_eq(h.ineffective, 1);
}
