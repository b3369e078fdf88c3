/*
 * deadline: how long the supervisor waits for a worker's reply to one
 * request before it gives up on it (the rule is unknown, "worker not
 * answering"; the worker is marked hung, then killed). Pure: no clock, no
 * globals, so Criterion can drive it.
 *
 * A poll is bounded by its datasource's own timeouts: one connect, then
 * DEADLINE_FIXED_ROUNDS round trips (marker, extras count and listing,
 * type check) plus two per DEADLINE_KEYS_PER_ROUND requested keys (the
 * values, then as many for extras), each at most command_timeout, plus
 * DEADLINE_MARGIN_MS. A baseline (git) request is bounded by
 * DEADLINE_GIT_FETCH_ROUNDS git worker fetch timeouts (watcher.git.
 * fetch_timeout: it may wait for its repository's fetch in progress, then
 * for a free fetch slot, then fetch), at least DEADLINE_GIT_FETCH_MS, plus
 * the margin. Each chunk of a reply restarts the wait: a big poll that
 * keeps sending is alive.
 */
#ifndef VTW_DEADLINE_H
#define VTW_DEADLINE_H

#include <stdint.h>

#define DEADLINE_MARGIN_MS		2000
#define DEADLINE_FIXED_ROUNDS		4
#define DEADLINE_KEYS_PER_ROUND		1000	/* REDIS_BATCH_KEYS, mongo's $in */
#define DEADLINE_GIT_FETCH_MS		120000
#define DEADLINE_GIT_FETCH_ROUNDS	3

/* ms to wait for the reply to a poll of nkeys keys */
uint64_t deadline_poll_ms(uint64_t connect_timeout_ms,
	    uint64_t command_timeout_ms, uint64_t nkeys);
/* ms to wait for the reply to a baseline request */
uint64_t deadline_baseline_ms(uint64_t fetch_timeout_ms);

#endif
