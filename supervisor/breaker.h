/*
 * breaker: a circuit breaker with named states and time constants in the
 * struct (no globals, no clock: callers pass now_ms), so Criterion can drive
 * it. Used for the orchestrator (fixed open time) and, with doubling and
 * jitter, for datasources.
 *
 *   CLOSED --threshold consecutive failures--> OPEN
 *   OPEN --open time elapsed--> HALF_OPEN (breaker_allow lets one probe through)
 *   HALF_OPEN --probe succeeds--> CLOSED      --probe fails--> OPEN (again)
 */
#ifndef VTW_BREAKER_H
#define VTW_BREAKER_H

#include <stdint.h>

enum breaker_state { BR_CLOSED = 0, BR_OPEN, BR_HALF_OPEN };

struct breaker {
	enum breaker_state	 state;
	unsigned int		 threshold;	/* consecutive failures to open */
	unsigned int		 failures;	/* consecutive, while closed */
	uint64_t		 open_ms;	/* first open period */
	uint64_t		 max_open_ms;	/* cap when doubling */
	int			 doubling;	/* each re-open doubles the period */
	unsigned int		 jitter_pct;	/* +- this % of the period */
	uint64_t		 cur_open_ms;	/* period of the current opening */
	uint64_t		 until_ms;	/* OPEN until this time */
	int			 probing;	/* HALF_OPEN: the probe is out */
	uint64_t		 opens;		/* times opened, for metrics */
};

void	breaker_init(struct breaker *, unsigned int threshold, uint64_t open_ms,
	    uint64_t max_open_ms, int doubling, unsigned int jitter_pct);
/* May a call go out now? Moves OPEN -> HALF_OPEN when the period is over
 * and lets exactly one probe through. 1 = allowed, 0 = fail fast. */
int	breaker_allow(struct breaker *, uint64_t now_ms);
/* Record an outcome; both return 1 when the state changed (log it). */
int	breaker_success(struct breaker *);
int	breaker_failure(struct breaker *, uint64_t now_ms);
/* ms until a call may go out again (0 when allowed now). */
uint64_t breaker_wait_ms(const struct breaker *, uint64_t now_ms);
const char *breaker_state_name(enum breaker_state);

#endif
