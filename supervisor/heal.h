/*
 * heal: when to ask the orchestrator to re-apply Git for one rule
 * (self_heal: true). Pure policy over a per-rule state and a clock passed
 * in; the gRPC call itself lives in grpc.c and the wiring in poll.c.
 *
 * - A drift event starts with the first drifted poll and ends with an OK
 *   poll. Within it, failed calls are retried with exponential backoff
 *   (retry_initial, doubling, capped at retry_max), at most retry_attempts
 *   calls; then the event rests until retry_max has passed.
 * - Flap guard: the baseline stays Git, so an accepted heal is verified by
 *   the next poll. When the same drift (same signature) is still there after
 *   flap_limit accepted heals, the rule is "ineffective": no call for a
 *   hold-off that doubles each time (flap_holdoff, 2x, ... up to 64x). An
 *   OK poll clears it all.
 */
#ifndef VTW_HEAL_H
#define VTW_HEAL_H

#include <stdint.h>

struct heal_params {
	uint64_t	retry_initial_ms;
	uint64_t	retry_max_ms;
	unsigned int	retry_attempts;
	unsigned int	flap_limit;
	uint64_t	flap_holdoff_ms;
};

struct heal_state {
	int		 in_event;	/* a drift event is open */
	int		 inflight;	/* a call is out */
	int		 verifying;	/* a call was accepted; next poll checks */
	unsigned int	 attempts;	/* failed calls in this event */
	uint64_t	 next_ms;	/* no call before this */
	uint64_t	 sig;		/* signature of the drift last healed */
	unsigned int	 ineffective;	/* accepted heals that did not hold */
	unsigned int	 holdoffs;	/* times the flap guard tripped */
	uint64_t	 holdoff_until;
	int		 flapping;	/* currently held off by the flap guard */
};

enum heal_decision {
	HEAL_CALL = 0,		/* call the orchestrator now */
	HEAL_SKIP_INFLIGHT,	/* a call is already out */
	HEAL_SKIP_BACKOFF,	/* a retry is scheduled for later */
	HEAL_SKIP_EXHAUSTED,	/* attempts used up; resting */
	HEAL_SKIP_HOLDOFF,	/* flap guard hold-off */
	HEAL_FLAP_DETECTED,	/* the flap guard just tripped: log it */
};

void	heal_state_init(struct heal_state *);
/* An OK poll. Returns 1 when it verified an accepted heal. */
int	heal_on_ok(struct heal_state *);
/* A drifted poll with the signature of its drifted keys and values. */
enum heal_decision heal_on_drift(struct heal_state *, const struct heal_params *,
	    uint64_t sig, uint64_t now_ms);
/* Outcome of a call. retryable: UNAVAILABLE, DEADLINE_EXCEEDED, transport
 * errors...; a non-retryable failure ends the event's attempts at once. */
void	heal_on_result(struct heal_state *, const struct heal_params *,
	    int accepted, int retryable, uint64_t now_ms);
const char *heal_decision_name(enum heal_decision);

#endif
