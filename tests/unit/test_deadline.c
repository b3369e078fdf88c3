#include <stdint.h>

#include <criterion/criterion.h>

#include "deadline.h"

/* connect + command x (4 fixed rounds + 2 per 1000 keys) + 2 s margin */
Test(deadline, poll_bound_from_the_datasource_timeouts)
{
	/* the defaults (5 s, 5 s), a small rule: 5 + 5 x 6 + 2 = 37 s */
	cr_expect_eq(deadline_poll_ms(5000, 5000, 10), 37000);
	cr_expect_eq(deadline_poll_ms(5000, 5000, 1000), 37000);
	/* one more batch of keys: two more round trips */
	cr_expect_eq(deadline_poll_ms(5000, 5000, 1001), 47000);
	/* 10 000 keys: 10 batches, 24 rounds */
	cr_expect_eq(deadline_poll_ms(5000, 5000, 10000), 127000);
	/* no keys: the fixed rounds only */
	cr_expect_eq(deadline_poll_ms(1000, 1000, 0), 7000);
	/* short timeouts give a short bound */
	cr_expect_eq(deadline_poll_ms(1000, 1000, 3), 9000);
	cr_expect_eq(deadline_poll_ms(0, 0, 5), DEADLINE_MARGIN_MS);
}

Test(deadline, poll_bound_saturates)
{
	cr_expect_eq(deadline_poll_ms(UINT64_MAX, 1, 1), UINT64_MAX);
	cr_expect_eq(deadline_poll_ms(1, UINT64_MAX, 1), UINT64_MAX);
	cr_expect_eq(deadline_poll_ms(1, 1000000, UINT64_MAX), UINT64_MAX);
}

Test(deadline, baseline_bound)
{
	/* the default 30 s fetch timeout: the fixed bound */
	cr_expect_eq(deadline_baseline_ms(30000), 122000);
	/* a request may wait for its repository's fetch, then a free fetch
	 * slot, then make its own: three timeouts */
	cr_expect_eq(deadline_baseline_ms(60000), 182000);
	cr_expect_eq(deadline_baseline_ms(UINT64_MAX), UINT64_MAX);
}
