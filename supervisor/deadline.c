#include "deadline.h"

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
sat_mul(uint64_t a, uint64_t b)
{
	return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

uint64_t
deadline_poll_ms(uint64_t connect_timeout_ms, uint64_t command_timeout_ms,
    uint64_t nkeys)
{
	uint64_t batches = nkeys / DEADLINE_KEYS_PER_ROUND +
	    (nkeys % DEADLINE_KEYS_PER_ROUND != 0);
	uint64_t rounds = sat_add(DEADLINE_FIXED_ROUNDS, sat_mul(2, batches));

	return sat_add(sat_add(connect_timeout_ms,
	    sat_mul(command_timeout_ms, rounds)), DEADLINE_MARGIN_MS);
}

uint64_t
deadline_baseline_ms(uint64_t fetch_timeout_ms)
{
	uint64_t t = sat_mul(DEADLINE_GIT_FETCH_ROUNDS, fetch_timeout_ms);

	return sat_add(t > DEADLINE_GIT_FETCH_MS ? t : DEADLINE_GIT_FETCH_MS,
	    DEADLINE_MARGIN_MS);
}
