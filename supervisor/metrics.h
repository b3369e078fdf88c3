/*
 * metrics: an in-process Prometheus registry and a pure formatter for the
 * text exposition format 0.0.4 (served by the supervisor's GET /metrics).
 *
 * No globals: the registry is a struct passed in; the supervisor owns one.
 * Families are described once, in the const table metrics_desc[] indexed by
 * enum metric_id. Adding a family = one enum value + one table row in
 * metrics.c (name, type, help, label names, and buckets for histograms).
 *
 * Series are identified by their label values, given in the order of the
 * family's label names (metrics_desc[id].labels). A family without labels
 * takes labels == NULL. A NULL label value is stored as "".
 *
 * Output (metrics_format) is deterministic: families in enum order, each with
 * "# HELP" and "# TYPE" exactly once (also when it has no series), series
 * sorted bytewise by their label values (first label first). Label values are
 * escaped per the format (backslash, double quote, newline); bytes that are
 * not valid UTF-8 are written as U+FFFD so a scrape never fails to parse.
 *
 * Bounded: each family holds at most METRICS_MAX_SERIES series (see
 * metrics_set_series_limit()); a call that would create one more series is
 * dropped, counted, returns METRICS_DROPPED, and metrics_take_overflow()
 * reports the family once so the caller can log it once.
 *
 * Single-threaded (the supervisor's event loop); no locking.
 */
#ifndef VTW_METRICS_H
#define VTW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"	/* struct jbuf */

#define METRICS_MAX_LABELS	4	/* label names per family, without "le" */
#define METRICS_MAX_SERIES	10000	/* default series cap per family */
#define METRICS_DROPPED		1	/* return value: series cap reached */

enum metric_type {
	METRIC_COUNTER = 0,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

/* One value per family; the order is the output order. Each needs its row
 * in metrics_desc[] (metrics.c); a unit test checks every row is filled. */
enum metric_id {
	METRIC_POLL_TOTAL = 0,		/* counter {datasource} */
	METRIC_DRIFT_TOTAL,		/* counter {datasource} */
	METRIC_HEAL_TOTAL,		/* counter {datasource} */
	METRIC_HEAL_ERRORS_TOTAL,	/* counter {datasource} */
	METRIC_POLL_DURATION_SECONDS,	/* histogram {datasource} */
	METRIC_POLL_ERRORS_TOTAL,	/* counter {datasource} */
	METRIC_WORKER_RESTARTS_TOTAL,	/* counter {worker} */
	METRIC_DRIFTED_KEYS,		/* gauge {datasource,rule} */
	METRIC_LAST_POLL_TIMESTAMP_SECONDS, /* gauge {datasource,rule} */
	METRIC_WORKER_UP,		/* gauge {worker} */
	METRIC_ORCH_CIRCUIT_STATE,	/* gauge {addr}: 0 closed, 1 open, 2 half-open */
	METRIC_ORCH_UP,			/* gauge {addr}: last Ping answered */
	METRIC_HEAL_INEFFECTIVE,	/* gauge {datasource,rule} */
	METRIC_DS_CIRCUIT_STATE,	/* gauge {datasource} */
	METRIC_EVENT_POLLS_TOTAL,	/* counter {datasource} */
	METRIC_LEADER,			/* gauge {instance}: 1 leads, 0 standby */
	METRIC_LEADER_TRANSITIONS_TOTAL, /* counter {instance} */
	METRIC_ELECTION_UP,		/* gauge {backend}: the store answers */
	METRIC_GIT_FETCH_TOTAL,		/* counter {repo,result} */
	METRIC_GIT_FETCH_DURATION_SECONDS, /* histogram {repo} */
	METRIC_GIT_CIRCUIT_STATE,	/* gauge {repo} */
	METRIC_WEBHOOK_TOTAL,		/* counter {provider,result} */
	METRIC_BUILD_INFO,		/* gauge {version}, value 1 */
	METRIC_UNVERIFIABLE_KEYS,	/* gauge {datasource,rule} */
	METRIC__COUNT
};

struct metric_desc {
	const char		*name;
	enum metric_type	 type;
	const char		*help;
	const char *const	*labels;	/* NULL-terminated label names */
	const double		*buckets;	/* histograms: upper bounds, ascending,
						 * without +Inf */
	size_t			 nbuckets;
};

/* The family table, indexed by enum metric_id. */
extern const struct metric_desc metrics_desc[METRIC__COUNT];

struct metrics;

/* Returns a new empty registry; must be freed with metrics_free().
 * NULL on OOM. */
struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *);

/* Cap on series per family (default METRICS_MAX_SERIES); existing series
 * above a lowered cap are kept. */
void	 metrics_set_series_limit(struct metrics *, size_t max_series);

/*
 * Every updater returns 0 on success, METRICS_DROPPED when the series did not
 * exist and the family is full (nothing changed), and -1 with errno EINVAL for
 * a bad id, wrong type for the operation or a bad value, or ENOMEM.
 * labels[] holds one value per label name of the family.
 */

/* Creates the series with value 0 if absent (counters show 0 before the
 * first event; a histogram shows empty buckets). Any type. */
int	 metrics_touch(struct metrics *, enum metric_id,
	    const char *const labels[]);
/* Counter: by >= 0 (finite). Gauge: any finite by. */
int	 metrics_inc(struct metrics *, enum metric_id,
	    const char *const labels[], double by);
/* Gauge only; any value including NaN and +-Inf. */
int	 metrics_set(struct metrics *, enum metric_id,
	    const char *const labels[], double value);
/* Histogram only; v must not be NaN. v lands in every bucket with
 * v <= le (buckets are cumulative in the output). */
int	 metrics_observe(struct metrics *, enum metric_id,
	    const char *const labels[], double v);

/* Removes one series (e.g. a rule removed on reload). 1 if it existed,
 * 0 if not, -1 with EINVAL for a bad id. */
int	 metrics_remove_series(struct metrics *, enum metric_id,
	    const char *const labels[]);
/* Removes, from every family that has a label named label_name, each series
 * whose value for it equals value (e.g. a datasource or worker removed on
 * reload). Returns the number of series removed. */
size_t	 metrics_remove_label(struct metrics *, const char *label_name,
	    const char *value);

/* Reads a series: counter/gauge value, or a histogram's observation count.
 * 0 and *out set when it exists, -1 when it does not (or a bad id). */
int	 metrics_get(const struct metrics *, enum metric_id,
	    const char *const labels[], double *out);
/* Number of series in a family (0 for a bad id). */
size_t	 metrics_series_count(const struct metrics *, enum metric_id);
/* Series dropped so far because the family was full. */
uint64_t metrics_dropped(const struct metrics *, enum metric_id);
/*
 * One-time overflow flag: returns 1 and sets *out to a family that dropped a
 * series since the last call for that family and was not yet reported; each
 * family is reported at most once per registry lifetime. 0 when none.
 */
int	 metrics_take_overflow(struct metrics *, enum metric_id *out);

/* Appends the whole exposition (text format 0.0.4) to out. Pure: does not
 * change the registry. 0 on success, -1 when out ran out of memory. */
int	 metrics_format(const struct metrics *, struct jbuf *out);

#endif
