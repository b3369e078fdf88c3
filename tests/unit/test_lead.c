/* The leadership state machine over clock edges (supervisor/lead.c). */
#include <criterion/criterion.h>

#include "lead.h"

static const struct lead_params P = {
	.lease_ms = 15000, .renew_interval_ms = 5000,
	.renew_deadline_ms = 10000, .op_timeout_ms = 2000,
};

/* Acquire at t (sent and granted at once). */
static void
lead_at(struct lead_state *st, uint64_t t)
{
	uint64_t seq;

	cr_assert_eq(lead_due(st, &P, t, &seq), LEAD_OP_ACQUIRE);
	cr_assert_eq(lead_reply(st, &P, seq, LEAD_GRANTED, t), 1);
	cr_assert(st->leader);
}

Test(lead, acquires_at_once_and_renews_every_interval)
{
	struct lead_state st;
	uint64_t seq;

	lead_init(&st, 1000);
	lead_at(&st, 1000);
	cr_assert_eq(lead_due(&st, &P, 5999, &seq), LEAD_OP_NONE);
	cr_assert_eq(lead_due(&st, &P, 6000, &seq), LEAD_OP_RENEW);
	/* one operation out at a time */
	cr_assert_eq(lead_due(&st, &P, 6001, &seq), LEAD_OP_NONE);
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_GRANTED, 6010), 0);
	cr_assert_eq(st.granted_ms, 6000, "counted from the send");
	cr_assert_eq(st.transitions, 1);
}

Test(lead, a_standby_retries_every_interval_and_never_heals)
{
	struct lead_state st;
	uint64_t seq;

	lead_init(&st, 0);
	cr_assert_eq(lead_due(&st, &P, 0, &seq), LEAD_OP_ACQUIRE);
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_HELD, 5), 0);
	cr_assert_not(lead_may_heal(&st, &P, 5));
	cr_assert_eq(lead_due(&st, &P, 5004, &seq), LEAD_OP_NONE);
	cr_assert_eq(lead_due(&st, &P, 5005, &seq), LEAD_OP_ACQUIRE);
}

Test(lead, heals_only_before_the_renew_deadline)
{
	struct lead_state st;

	lead_init(&st, 0);
	lead_at(&st, 0);
	cr_assert(lead_may_heal(&st, &P, 9999));
	cr_assert_not(lead_may_heal(&st, &P, 10000));
}

Test(lead, renew_just_before_and_just_after_the_deadline)
{
	struct lead_state st;
	uint64_t seq;

	/* sent 1 ms before the deadline, granted: leads on from its send */
	lead_init(&st, 0);
	lead_at(&st, 0);
	st.next_ms = 9999;
	cr_assert_eq(lead_due(&st, &P, 9999, &seq), LEAD_OP_RENEW);
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_GRANTED, 10001), 0);
	cr_assert(lead_may_heal(&st, &P, 10001));
	cr_assert(lead_may_heal(&st, &P, 19998));
	cr_assert_not(lead_may_heal(&st, &P, 19999));

	/* the deadline passes while the renew is out: no heal meanwhile,
	 * and a grant that comes after it was sent too late to count */
	lead_init(&st, 0);
	lead_at(&st, 0);
	st.next_ms = 9000;
	cr_assert_eq(lead_due(&st, &P, 9000, &seq), LEAD_OP_RENEW);
	cr_assert_eq(lead_tick(&st, &P, 10000), 1);
	cr_assert_not(st.leader);
	cr_assert_not(lead_may_heal(&st, &P, 10000));
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_GRANTED, 10500), 1);
	cr_assert(lead_may_heal(&st, &P, 10500), "granted at 9000: to 19000");
	cr_assert_not(lead_may_heal(&st, &P, 19000));
}

Test(lead, a_frozen_leader_does_not_heal_when_it_wakes)
{
	struct lead_state st;
	uint64_t seq;

	lead_init(&st, 0);
	lead_at(&st, 0);
	/* SIGSTOP for 30 s: the first thing it may ask after waking */
	cr_assert_not(lead_may_heal(&st, &P, 30000));
	cr_assert_eq(lead_tick(&st, &P, 30000), 1);
	cr_assert_eq(lead_due(&st, &P, 30000, &seq), LEAD_OP_ACQUIRE);
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_HELD, 30002), 0);
	cr_assert_not(lead_may_heal(&st, &P, 30002));
	cr_assert_eq(st.transitions, 2);
}

Test(lead, an_unanswered_operation_fails_and_its_late_reply_is_ignored)
{
	struct lead_state st;
	uint64_t seq, seq2;

	lead_init(&st, 0);
	cr_assert_eq(lead_due(&st, &P, 0, &seq), LEAD_OP_ACQUIRE);
	cr_assert_eq(lead_tick(&st, &P, 1999), 0);
	cr_assert_eq(st.out, LEAD_OP_ACQUIRE);
	cr_assert_eq(lead_tick(&st, &P, 2000), 0);
	cr_assert_eq(st.out, LEAD_OP_NONE);
	cr_assert_eq(st.store_up, 0);
	/* the grant of the abandoned attempt comes late: not leadership */
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_GRANTED, 2100), 0);
	cr_assert_not(st.leader);
	cr_assert_eq(lead_due(&st, &P, 7000, &seq2), LEAD_OP_ACQUIRE);
	cr_assert_neq(seq, seq2);
	/* replies out of order: only the one out counts */
	cr_assert_eq(lead_reply(&st, &P, seq2 + 1, LEAD_GRANTED, 7001), 0);
	cr_assert_eq(lead_reply(&st, &P, seq2, LEAD_HELD, 7002), 0);
	cr_assert_not(st.leader);
}

Test(lead, a_store_outage_leaves_the_leader_until_its_deadline_only)
{
	struct lead_state st;
	uint64_t seq, t;

	lead_init(&st, 0);
	lead_at(&st, 0);
	for (t = 5000; t < 10000; t += 500) {
		if (lead_due(&st, &P, t, &seq) != LEAD_OP_NONE)
			lead_reply(&st, &P, seq, LEAD_FAILED, t + 1);
		cr_assert(lead_may_heal(&st, &P, t + 1), "t=%llu",
		    (unsigned long long)t);
	}
	cr_assert_eq(lead_tick(&st, &P, 10000), 1);
	cr_assert_not(lead_may_heal(&st, &P, 10000));
	cr_assert_eq(st.store_up, 0);
}

Test(lead, a_refused_renew_ends_leadership_at_once)
{
	struct lead_state st;
	uint64_t seq;

	lead_init(&st, 0);
	lead_at(&st, 0);
	cr_assert_eq(lead_due(&st, &P, 5000, &seq), LEAD_OP_RENEW);
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_HELD, 5001), 1);
	cr_assert_not(lead_may_heal(&st, &P, 5001));
}

Test(lead, release_by_a_leader_only_and_nothing_after)
{
	struct lead_state st;
	uint64_t seq;

	lead_init(&st, 0);
	lead_at(&st, 0);
	cr_assert_eq(lead_release(&st, 100, &seq), LEAD_OP_RELEASE);
	cr_assert_not(lead_may_heal(&st, &P, 100));
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_GRANTED, 101), 0);
	cr_assert_eq(lead_due(&st, &P, 100000, &seq), LEAD_OP_NONE);

	lead_init(&st, 0);
	cr_assert_eq(lead_release(&st, 0, &seq), LEAD_OP_NONE);
	cr_assert_eq(lead_due(&st, &P, 0, &seq), LEAD_OP_NONE);
}

Test(lead, a_suspended_leader_stops_at_once_and_leads_again_on_a_grant)
{
	struct lead_state st;
	uint64_t seq;

	lead_init(&st, 0);
	lead_at(&st, 0);
	cr_assert(lead_may_heal(&st, &P, 100));
	/* well before the deadline: the connection dropped */
	cr_assert_eq(lead_suspend(&st), 1);
	cr_assert_not(lead_may_heal(&st, &P, 101));
	cr_assert_eq(st.store_up, 0);
	cr_assert_eq(lead_suspend(&st), 0, "once");
	/* reconnected: the next operation is an acquire (re-check) */
	lead_poke(&st, 200);
	cr_assert_eq(lead_due(&st, &P, 200, &seq), LEAD_OP_ACQUIRE);
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_GRANTED, 210), 1);
	cr_assert(lead_may_heal(&st, &P, 210));
	cr_assert_eq(st.store_up, 1);
	cr_assert_eq(st.transitions, 3);
}

Test(lead, a_suspension_outlives_a_late_reply_to_the_op_before_it)
{
	struct lead_state st;
	uint64_t seq;

	lead_init(&st, 0);
	lead_at(&st, 0);
	cr_assert_eq(lead_due(&st, &P, 5000, &seq), LEAD_OP_RENEW);
	lead_suspend(&st);
	/* the renew sent before the drop fails (CONNECTION_LOSS) */
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_FAILED, 5010), 0);
	cr_assert_not(lead_may_heal(&st, &P, 5010));
	cr_assert_eq(lead_due(&st, &P, 10010, &seq), LEAD_OP_ACQUIRE,
	    "a suspended leader re-acquires, it does not renew");
}

Test(lead, a_poke_never_delays_and_waits_for_the_op_out)
{
	struct lead_state st;
	uint64_t seq;

	lead_init(&st, 0);
	cr_assert_eq(lead_due(&st, &P, 0, &seq), LEAD_OP_ACQUIRE);
	lead_poke(&st, 10);
	cr_assert_eq(lead_due(&st, &P, 10, &seq), LEAD_OP_NONE, "one out");
	cr_assert_eq(lead_reply(&st, &P, seq, LEAD_HELD, 20), 0);
	cr_assert_eq(st.next_ms, 5020);
	lead_poke(&st, 30);
	cr_assert_eq(lead_due(&st, &P, 30, &seq), LEAD_OP_ACQUIRE);
	lead_poke(&st, 99999);
	cr_assert_eq(st.next_ms, 30, "a later poke does not delay");
}
