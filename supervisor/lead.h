/*
 * Leadership, bounded by local monotonic time (backends-http-ha.md §5.2,
 * as client-go's leaderelection has it): a pure state machine with the
 * clock passed in, driven by the election store's replies (ha.c).
 *
 * One operation is out at a time, numbered; a reply to anything but the
 * operation out (late, after its timeout) is ignored. A grant counts from
 * the time its request was *sent*, the latest the lock's TTL can have
 * started on the server, so the bound errs on the safe side. The replica
 * may heal only while now < last grant + renew_deadline (renew_deadline <
 * lease): a leader that was frozen, lost the store or saw its renewals
 * refused stops healing on its own clock, before the lock can pass on.
 */
#ifndef VTW_LEAD_H
#define VTW_LEAD_H

#include <stdint.h>

struct lead_params {
	uint64_t	lease_ms;		/* TTL of the lock */
	uint64_t	renew_interval_ms;	/* renew, or try to acquire, so often */
	uint64_t	renew_deadline_ms;	/* no heal after a grant this old */
	uint64_t	op_timeout_ms;		/* one round trip to the store */
};

enum lead_op {
	LEAD_OP_NONE = 0,
	LEAD_OP_ACQUIRE,	/* SET key id NX PX lease (and who holds it) */
	LEAD_OP_RENEW,		/* compare-and-PEXPIRE */
	LEAD_OP_RELEASE,	/* compare-and-DEL */
};

enum lead_result {
	LEAD_GRANTED,		/* acquired, renewed or released */
	LEAD_HELD,		/* another instance holds the lock */
	LEAD_FAILED,		/* error or no answer: the store is not there */
};

struct lead_state {
	int		 leader;	/* holds the lock, as far as it knows */
	uint64_t	 granted_ms;	/* send time of the last grant */
	uint64_t	 next_ms;	/* the next operation is due then */
	enum lead_op	 out;		/* the operation out, or NONE */
	uint64_t	 seq;		/* its number */
	uint64_t	 sent_ms;
	int		 store_up;	/* -1 not asked yet, 0 down, 1 answers */
	int		 released;	/* stopping: no more operations */
	unsigned long	 transitions;	/* to leader and back */
};

void	lead_init(struct lead_state *, uint64_t now_ms);
/*
 * What to send now, if anything (LEAD_OP_NONE: nothing due or one is
 * out); *seq numbers it for lead_reply.
 */
enum lead_op lead_due(struct lead_state *, const struct lead_params *,
	    uint64_t now_ms, uint64_t *seq);
/*
 * The store's answer to operation seq. Returns 1 when the replica became
 * leader or stopped being one, else 0 (a stale seq changes nothing).
 */
int	lead_reply(struct lead_state *, const struct lead_params *,
	    uint64_t seq, enum lead_result, uint64_t now_ms);
/*
 * Time passing: an operation out longer than op_timeout fails; a leader
 * whose last grant is renew_deadline old stops leading. Returns 1 when
 * leadership changed.
 */
int	lead_tick(struct lead_state *, const struct lead_params *,
	    uint64_t now_ms);
/* May this replica start a heal call now? */
int	lead_may_heal(const struct lead_state *, const struct lead_params *,
	    uint64_t now_ms);
/*
 * The store says leadership may be gone right now (ZooKeeper's CONNECTING,
 * Curator's SUSPENDED): stop leading at once and count the store as down;
 * the next grant (which must confirm the candidate node) restores both.
 * Returns 1 when leadership changed.
 */
int	lead_suspend(struct lead_state *);
/* Something changed at the store (a watch fired, reconnected): the next
 * operation is due now rather than at the next interval. */
void	lead_poke(struct lead_state *, uint64_t now_ms);
/* Stopping: a leader releases (returns RELEASE with *seq, and no longer
 * leads); anyone else sends nothing more. */
enum lead_op lead_release(struct lead_state *, uint64_t now_ms,
	    uint64_t *seq);

#endif
