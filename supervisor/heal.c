#include "heal.h"

#define HEAL_HOLDOFF_MAX_SHIFT	6	/* hold-off grows to 64x at most */

void
heal_state_init(struct heal_state *h)
{
	h->in_event = h->inflight = h->verifying = 0;
	h->attempts = 0;
	h->next_ms = 0;
	h->sig = 0;
	h->ineffective = h->holdoffs = 0;
	h->holdoff_until = 0;
	h->flapping = 0;
}

int
heal_on_ok(struct heal_state *h)
{
	int verified = h->verifying;
	int inflight = h->inflight;

	heal_state_init(h);
	h->inflight = inflight;	/* its result still arrives */
	return verified;
}

enum heal_decision
heal_on_drift(struct heal_state *h, const struct heal_params *p, uint64_t sig,
    uint64_t now_ms)
{
	unsigned int shift;

	if (!h->in_event) {
		h->in_event = 1;
		h->attempts = 0;
		h->next_ms = 0;
	}
	if (h->verifying) {
		/* an accepted heal did not hold */
		h->verifying = 0;
		if (sig == h->sig)
			h->ineffective++;
		else
			h->ineffective = 1;
		if (h->ineffective >= p->flap_limit) {
			shift = h->holdoffs < HEAL_HOLDOFF_MAX_SHIFT ?
			    h->holdoffs : HEAL_HOLDOFF_MAX_SHIFT;
			h->holdoff_until = now_ms + (p->flap_holdoff_ms << shift);
			h->holdoffs++;
			h->ineffective = 0;
			h->flapping = 1;
			return HEAL_FLAP_DETECTED;
		}
	}
	if (h->inflight)
		return HEAL_SKIP_INFLIGHT;
	if (now_ms < h->holdoff_until)
		return HEAL_SKIP_HOLDOFF;
	h->flapping = 0;
	if (h->attempts >= p->retry_attempts) {
		if (now_ms < h->next_ms)
			return HEAL_SKIP_EXHAUSTED;
		h->attempts = 0;	/* rested long enough: a new round */
	}
	if (now_ms < h->next_ms)
		return HEAL_SKIP_BACKOFF;
	h->inflight = 1;
	h->sig = sig;
	return HEAL_CALL;
}

void
heal_on_result(struct heal_state *h, const struct heal_params *p, int accepted,
    int retryable, uint64_t now_ms)
{
	uint64_t delay;
	unsigned int i;

	h->inflight = 0;
	if (accepted) {
		h->verifying = 1;
		h->attempts = 0;
		h->next_ms = 0;
		return;
	}
	h->attempts++;
	if (!retryable || h->attempts >= p->retry_attempts) {
		h->attempts = p->retry_attempts;
		h->next_ms = now_ms + p->retry_max_ms;
		return;
	}
	delay = p->retry_initial_ms;
	for (i = 1; i < h->attempts && delay < p->retry_max_ms; i++)
		delay *= 2;
	if (delay > p->retry_max_ms)
		delay = p->retry_max_ms;
	h->next_ms = now_ms + delay;
}

const char *
heal_decision_name(enum heal_decision d)
{
	switch (d) {
	case HEAL_CALL:
		return "call";
	case HEAL_SKIP_INFLIGHT:
		return "a heal call is in flight";
	case HEAL_SKIP_BACKOFF:
		return "retry backoff";
	case HEAL_SKIP_EXHAUSTED:
		return "attempts exhausted";
	case HEAL_SKIP_HOLDOFF:
		return "heal ineffective: holding off";
	case HEAL_FLAP_DETECTED:
		return "heal ineffective";
	}
	return "?";
}
