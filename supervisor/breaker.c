#include <stdlib.h>

#include "breaker.h"

void
breaker_init(struct breaker *b, unsigned int threshold, uint64_t open_ms,
    uint64_t max_open_ms, int doubling, unsigned int jitter_pct)
{
	b->state = BR_CLOSED;
	b->threshold = threshold ? threshold : 1;
	b->failures = 0;
	b->open_ms = open_ms;
	b->max_open_ms = max_open_ms < open_ms ? open_ms : max_open_ms;
	b->doubling = doubling;
	b->jitter_pct = jitter_pct > 50 ? 50 : jitter_pct;
	b->cur_open_ms = 0;
	b->until_ms = 0;
	b->probing = 0;
	b->opens = 0;
}

static void
breaker_open(struct breaker *b, uint64_t now_ms)
{
	uint64_t period, j;

	if (b->cur_open_ms == 0 || !b->doubling)
		b->cur_open_ms = b->open_ms;
	else {
		b->cur_open_ms *= 2;
		if (b->cur_open_ms > b->max_open_ms)
			b->cur_open_ms = b->max_open_ms;
	}
	period = b->cur_open_ms;
	if (b->jitter_pct > 0 && period > 0) {
		j = period * b->jitter_pct / 100;
		if (j > 0 && j < UINT32_MAX)
			period = period - j + arc4random_uniform(
			    (uint32_t)(2 * j + 1));
	}
	b->state = BR_OPEN;
	b->until_ms = now_ms + period;
	b->probing = 0;
	b->opens++;
}

int
breaker_allow(struct breaker *b, uint64_t now_ms)
{
	switch (b->state) {
	case BR_CLOSED:
		return 1;
	case BR_OPEN:
		if (now_ms < b->until_ms)
			return 0;
		b->state = BR_HALF_OPEN;
		b->probing = 0;
		/* FALLTHROUGH */
	case BR_HALF_OPEN:
		if (b->probing)
			return 0;
		b->probing = 1;
		return 1;
	}
	return 0;
}

int
breaker_success(struct breaker *b)
{
	int changed = b->state != BR_CLOSED;

	b->state = BR_CLOSED;
	b->failures = 0;
	b->probing = 0;
	b->cur_open_ms = 0;	/* the next opening starts from open_ms */
	return changed;
}

int
breaker_failure(struct breaker *b, uint64_t now_ms)
{
	switch (b->state) {
	case BR_CLOSED:
		if (++b->failures < b->threshold)
			return 0;
		breaker_open(b, now_ms);
		return 1;
	case BR_HALF_OPEN:
		breaker_open(b, now_ms);
		return 1;
	case BR_OPEN:
		return 0;	/* a call that was already out */
	}
	return 0;
}

uint64_t
breaker_wait_ms(const struct breaker *b, uint64_t now_ms)
{
	if (b->state == BR_OPEN && now_ms < b->until_ms)
		return b->until_ms - now_ms;
	return 0;
}

const char *
breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BR_CLOSED:
		return "closed";
	case BR_OPEN:
		return "open";
	case BR_HALF_OPEN:
		return "half-open";
	}
	return "?";
}
