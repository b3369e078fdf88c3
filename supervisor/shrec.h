/*
 * shrec: a rule's shared state record (ha.state: redis), as the leader
 * writes it and standbys read it back: pure encoding and decoding, with
 * the clocks passed in (unit-tested in tests/unit/test_shrec.c).
 *
 * Heal times are local monotonic milliseconds in a process and wall-clock
 * milliseconds in the record (another host's monotonic clock means
 * nothing here): a time already past is written as 0, and a time read back
 * is bounded, so a clock step or a hostile record delays healing by at
 * most SHREC_MAX_AHEAD_MS.
 */
#ifndef VTW_SHREC_H
#define VTW_SHREC_H

#include <stddef.h>
#include <stdint.h>

#include "heal.h"

#define SHREC_MAX_AHEAD_MS	(7ULL * 24 * 3600 * 1000)
#define SHREC_MAX_JSON		4096	/* the heal field, at most */

enum shrec_result { SHREC_NONE = 0, SHREC_OK, SHREC_DRIFT, SHREC_UNKNOWN };

struct shrec_clock {
	uint64_t	mono_ms;	/* now_ms() */
	uint64_t	wall_ms;	/* the Unix epoch, in ms */
};

/* The heal field: a JSON object (malloc'd) of what heal.h keeps. */
char	*shrec_heal_encode(const struct heal_state *, const struct shrec_clock *);
/*
 * Back into a heal state (no call in flight). -1 with err naming the
 * field when the text is not a record of ours; *out is left alone then.
 */
int	shrec_heal_decode(const char *, size_t, struct heal_state *out,
	    const struct shrec_clock *, char *err, size_t errlen);
const char *shrec_result_name(enum shrec_result);
enum shrec_result shrec_result_parse(const char *, size_t);

#endif
