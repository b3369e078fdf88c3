/*
 * Time-bounded leadership (see lead.h).
 */
#include <string.h>

#include "lead.h"

void
lead_init(struct lead_state *st, uint64_t now)
{
	memset(st, 0, sizeof(*st));
	st->next_ms = now;		/* try at once */
	st->store_up = -1;
}

static enum lead_op
lead_send(struct lead_state *st, enum lead_op op, uint64_t now, uint64_t *seq)
{
	st->out = op;
	st->sent_ms = now;
	*seq = ++st->seq;
	return op;
}

enum lead_op
lead_due(struct lead_state *st, const struct lead_params *p, uint64_t now,
    uint64_t *seq)
{
	(void)p;
	if (st->released || st->out != LEAD_OP_NONE || now < st->next_ms)
		return LEAD_OP_NONE;
	return lead_send(st, st->leader ? LEAD_OP_RENEW : LEAD_OP_ACQUIRE, now,
	    seq);
}

static int
lead_set(struct lead_state *st, int leader)
{
	if (st->leader == leader)
		return 0;
	st->leader = leader;
	st->transitions++;
	return 1;
}

int
lead_reply(struct lead_state *st, const struct lead_params *p, uint64_t seq,
    enum lead_result res, uint64_t now)
{
	enum lead_op op = st->out;
	int changed = 0;

	if (op == LEAD_OP_NONE || seq != st->seq)
		return 0;	/* late: its operation timed out */
	st->out = LEAD_OP_NONE;
	st->store_up = res != LEAD_FAILED;
	if (op == LEAD_OP_RELEASE)
		return 0;
	switch (res) {
	case LEAD_GRANTED:
		st->granted_ms = st->sent_ms;
		changed = lead_set(st, 1);
		st->next_ms = now + p->renew_interval_ms;
		break;
	case LEAD_HELD:
		changed = lead_set(st, 0);
		st->next_ms = now + p->renew_interval_ms;
		break;
	case LEAD_FAILED:
		/* a leader tries again sooner: it has until its deadline */
		st->next_ms = now + (st->leader ? p->renew_interval_ms / 2 :
		    p->renew_interval_ms);
		break;
	}
	/* a grant older than the deadline bounds leadership, whatever the
	 * replies were doing meanwhile */
	if (st->leader && now >= st->granted_ms + p->renew_deadline_ms)
		changed |= lead_set(st, 0);
	return changed;
}

int
lead_tick(struct lead_state *st, const struct lead_params *p, uint64_t now)
{
	int changed = 0;

	if (st->out != LEAD_OP_NONE && now >= st->sent_ms + p->op_timeout_ms) {
		if (st->out == LEAD_OP_RELEASE) {
			st->out = LEAD_OP_NONE;
			st->store_up = 0;
		} else
			changed = lead_reply(st, p, st->seq, LEAD_FAILED, now);
		st->seq++;	/* its reply, if it still comes, is stale */
	}
	if (st->leader && now >= st->granted_ms + p->renew_deadline_ms)
		changed |= lead_set(st, 0);
	return changed;
}

int
lead_may_heal(const struct lead_state *st, const struct lead_params *p,
    uint64_t now)
{
	return st->leader && !st->released &&
	    now < st->granted_ms + p->renew_deadline_ms;
}

int
lead_suspend(struct lead_state *st)
{
	st->store_up = 0;
	return lead_set(st, 0);
}

void
lead_poke(struct lead_state *st, uint64_t now)
{
	if (now < st->next_ms)
		st->next_ms = now;
}

enum lead_op
lead_release(struct lead_state *st, uint64_t now, uint64_t *seq)
{
	int was = st->leader;

	st->released = 1;
	lead_set(st, 0);
	if (!was)
		return LEAD_OP_NONE;
	return lead_send(st, LEAD_OP_RELEASE, now, seq);
}
