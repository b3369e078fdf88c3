/*
 * metrics: registry + Prometheus text format 0.0.4 formatter. See metrics.h.
 *
 * Each family keeps its series in an array sorted by label values, so lookup
 * is a binary search, insertion/removal a memmove (at most METRICS_MAX_SERIES
 * pointers), and the formatter walks the array in order without allocating.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
/* A NULL-terminated list of label names, usable in a table row. */
#define LABELS(...)	((const char *const[]){ __VA_ARGS__, NULL })

static const double poll_duration_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};

/* a ref-list check is one round trip; a pack from a slow host, seconds */
static const double git_fetch_duration_buckets[] = {
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120
};

const struct metric_desc metrics_desc[METRIC__COUNT] = {
	[METRIC_POLL_TOTAL] = {
		"vartrack_watcher_poll_total", METRIC_COUNTER,
		"Total poll cycles, labeled by datasource.",
		LABELS("datasource"), NULL, 0 },
	[METRIC_DRIFT_TOTAL] = {
		"vartrack_watcher_drift_total", METRIC_COUNTER,
		"Drift events detected.",
		LABELS("datasource"), NULL, 0 },
	[METRIC_HEAL_TOTAL] = {
		"vartrack_watcher_heal_total", METRIC_COUNTER,
		"Self-heal calls the orchestrator accepted.",
		LABELS("datasource"), NULL, 0 },
	[METRIC_HEAL_ERRORS_TOTAL] = {
		"vartrack_watcher_heal_errors_total", METRIC_COUNTER,
		"Self-heal calls that failed.",
		LABELS("datasource"), NULL, 0 },
	[METRIC_POLL_DURATION_SECONDS] = {
		"vartrack_watcher_poll_duration_seconds", METRIC_HISTOGRAM,
		"Poll cycle duration.",
		LABELS("datasource"),
		poll_duration_buckets, NITEMS(poll_duration_buckets) },
	[METRIC_POLL_ERRORS_TOTAL] = {
		"vartrack_watcher_poll_errors_total", METRIC_COUNTER,
		"Poll cycles whose result is unknown (datasource unreachable, "
		"read failed or worker down).",
		LABELS("datasource"), NULL, 0 },
	[METRIC_WORKER_RESTARTS_TOTAL] = {
		"vartrack_watcher_worker_restarts_total", METRIC_COUNTER,
		"Worker processes restarted after they exited.",
		LABELS("worker"), NULL, 0 },
	[METRIC_DRIFTED_KEYS] = {
		"vartrack_watcher_drifted_keys", METRIC_GAUGE,
		"Keys that differ from the Git baseline at the last poll of "
		"the rule (changed, missing or extra).",
		LABELS("datasource", "rule"), NULL, 0 },
	[METRIC_LAST_POLL_TIMESTAMP_SECONDS] = {
		"vartrack_watcher_last_poll_timestamp_seconds", METRIC_GAUGE,
		"Unix time of the last completed poll of the rule.",
		LABELS("datasource", "rule"), NULL, 0 },
	[METRIC_WORKER_UP] = {
		"vartrack_watcher_worker_up", METRIC_GAUGE,
		"1 when the worker process is running, else 0.",
		LABELS("worker"), NULL, 0 },
	[METRIC_ORCH_CIRCUIT_STATE] = {
		"vartrack_watcher_orchestrator_circuit_state", METRIC_GAUGE,
		"Circuit breaker on the orchestrator: 0 closed, 1 open, "
		"2 half-open.",
		LABELS("addr"), NULL, 0 },
	[METRIC_ORCH_UP] = {
		"vartrack_watcher_orchestrator_up", METRIC_GAUGE,
		"1 when the orchestrator answered the last Ping, else 0.",
		LABELS("addr"), NULL, 0 },
	[METRIC_HEAL_INEFFECTIVE] = {
		"vartrack_watcher_heal_ineffective", METRIC_GAUGE,
		"1 while healing the rule is held off because accepted heals "
		"did not hold (something keeps re-writing the keys).",
		LABELS("datasource", "rule"), NULL, 0 },
	[METRIC_DS_CIRCUIT_STATE] = {
		"vartrack_watcher_datasource_circuit_state", METRIC_GAUGE,
		"Circuit breaker on the datasource: 0 closed, 1 open "
		"(polls skipped), 2 half-open (one probe poll).",
		LABELS("datasource"), NULL, 0 },
	[METRIC_EVENT_POLLS_TOTAL] = {
		"vartrack_watcher_event_polls_total", METRIC_COUNTER,
		"Polls started at once because the datasource reported a "
		"change (zookeeper watches), besides the timer.",
		LABELS("datasource"), NULL, 0 },
	[METRIC_LEADER] = {
		"vartrack_watcher_leader", METRIC_GAUGE,
		"1 while this replica leads (only the leader heals), 0 while "
		"it is a standby.",
		LABELS("instance"), NULL, 0 },
	[METRIC_LEADER_TRANSITIONS_TOTAL] = {
		"vartrack_watcher_leader_transitions_total", METRIC_COUNTER,
		"Times this replica became leader or stopped being one.",
		LABELS("instance"), NULL, 0 },
	[METRIC_ELECTION_UP] = {
		"vartrack_watcher_election_up", METRIC_GAUGE,
		"1 when the election store answered the last request, else 0 "
		"(then nobody heals).",
		LABELS("backend"), NULL, 0 },
	[METRIC_GIT_FETCH_TOTAL] = {
		"vartrack_watcher_git_fetch_total", METRIC_COUNTER,
		"Requests to a Git remote for a baseline: ok (a pack was "
		"fetched), unchanged (the ref list said the branch had not "
		"moved), error, timeout. repo is the canonical repository "
		"name (host/owner/repo), without credentials.",
		LABELS("repo", "result"), NULL, 0 },
	[METRIC_GIT_FETCH_DURATION_SECONDS] = {
		"vartrack_watcher_git_fetch_duration_seconds", METRIC_HISTOGRAM,
		"Time a Git remote took to answer a fetch or ref-list check.",
		LABELS("repo"),
		git_fetch_duration_buckets, NITEMS(git_fetch_duration_buckets) },
	[METRIC_GIT_CIRCUIT_STATE] = {
		"vartrack_watcher_git_circuit_state", METRIC_GAUGE,
		"Circuit breaker on a Git repository's remote: 0 closed, 1 open "
		"(baselines skipped), 2 half-open (one probe fetch).",
		LABELS("repo"), NULL, 0 },
	[METRIC_WEBHOOK_TOTAL] = {
		"vartrack_watcher_webhook_total", METRIC_COUNTER,
		"Push webhook requests: push (verified, rules re-polled), "
		"ignored (verified, no rule on that branch), unauthorized, "
		"bad_request, too_large.",
		LABELS("provider", "result"), NULL, 0 },
	[METRIC_BUILD_INFO] = {
		"vartrack_watcher_build_info", METRIC_GAUGE,
		"Build information; the value is always 1.",
		LABELS("version"), NULL, 0 },
	[METRIC_UNVERIFIABLE_KEYS] = {
		"vartrack_watcher_unverifiable_keys", METRIC_GAUGE,
		"Keys of the rule present in the datasource whose values cannot "
		"be read back (e.g. Vercel sensitive variables) at its last "
		"poll: neither OK nor drift.",
		LABELS("datasource", "rule"), NULL, 0 },
};

struct series {
	char		*labels[METRICS_MAX_LABELS];
	double		 value;		/* counter/gauge; histogram: sum */
	uint64_t	 count;		/* histogram: observations */
	uint64_t	 bucket[];	/* histogram: per bucket, not cumulative,
					 * nbuckets + 1 (the last is +Inf) */
};

struct family {
	struct series	**s;
	size_t		  n, cap;
	size_t		  nlabels;
	uint64_t	  dropped;
	int		  overflow_pending, overflow_reported;
};

struct metrics {
	struct family	 fam[METRIC__COUNT];
	size_t		 max_series;
};

static const char *
label_or_empty(const char *const labels[], size_t i)
{
	if (labels == NULL || labels[i] == NULL)
		return "";
	return labels[i];
}

struct metrics *
metrics_new(void)
{
	struct metrics *m;
	size_t i, j;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->max_series = METRICS_MAX_SERIES;
	for (i = 0; i < METRIC__COUNT; i++) {
		for (j = 0; metrics_desc[i].labels != NULL &&
		    metrics_desc[i].labels[j] != NULL; j++)
			;
		m->fam[i].nlabels = j;
	}
	return m;
}

static void
series_free(struct series *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < METRICS_MAX_LABELS; i++)
		free(s->labels[i]);
	free(s);
}

void
metrics_free(struct metrics *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < METRIC__COUNT; i++) {
		for (j = 0; j < m->fam[i].n; j++)
			series_free(m->fam[i].s[j]);
		free(m->fam[i].s);
	}
	free(m);
}

void
metrics_set_series_limit(struct metrics *m, size_t max_series)
{
	m->max_series = max_series;
}

/* Compares a stored series with a label tuple: <0, 0, >0. */
static int
series_cmp(const struct series *s, const char *const labels[], size_t nlabels)
{
	size_t i;
	int c;

	for (i = 0; i < nlabels; i++) {
		if ((c = strcmp(s->labels[i], label_or_empty(labels, i))) != 0)
			return c;
	}
	return 0;
}

/* Lower bound: first index whose series is >= labels; *found if equal. */
static size_t
family_find(const struct family *f, const char *const labels[], int *found)
{
	size_t lo = 0, hi = f->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = series_cmp(f->s[mid], labels, f->nlabels);
		if (c < 0)
			lo = mid + 1;
		else {
			if (c == 0)
				*found = 1;
			hi = mid;
		}
	}
	return lo;
}

/*
 * Finds or creates the series. Returns 0 with *out set, METRICS_DROPPED when
 * the family is full, -1 on OOM.
 */
static int
series_get(struct metrics *m, enum metric_id id, const char *const labels[],
    struct series **out)
{
	const struct metric_desc *d = &metrics_desc[id];
	struct family *f = &m->fam[id];
	struct series *s;
	size_t pos, i, nb;
	int found;

	*out = NULL;
	pos = family_find(f, labels, &found);
	if (found) {
		*out = f->s[pos];
		return 0;
	}
	if (f->n >= m->max_series) {
		f->dropped++;
		if (!f->overflow_reported)
			f->overflow_pending = 1;
		return METRICS_DROPPED;
	}
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 8;
		struct series **ns = realloc(f->s, ncap * sizeof(*ns));

		if (ns == NULL)
			goto oom;
		f->s = ns;
		f->cap = ncap;
	}
	nb = d->type == METRIC_HISTOGRAM ? d->nbuckets + 1 : 0;
	if ((s = calloc(1, sizeof(*s) + nb * sizeof(s->bucket[0]))) == NULL)
		goto oom;
	for (i = 0; i < f->nlabels; i++) {
		if ((s->labels[i] = strdup(label_or_empty(labels, i))) == NULL) {
			series_free(s);
			goto oom;
		}
	}
	memmove(&f->s[pos + 1], &f->s[pos], (f->n - pos) * sizeof(*f->s));
	f->s[pos] = s;
	f->n++;
	*out = s;
	return 0;
oom:
	errno = ENOMEM;
	return -1;
}

static int
check_id(enum metric_id id)
{
	if ((unsigned int)id >= METRIC__COUNT) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
metrics_touch(struct metrics *m, enum metric_id id, const char *const labels[])
{
	struct series *s;

	if (check_id(id) == -1)
		return -1;
	return series_get(m, id, labels, &s);
}

int
metrics_inc(struct metrics *m, enum metric_id id, const char *const labels[],
    double by)
{
	struct series *s;
	int rc;

	if (check_id(id) == -1)
		return -1;
	if (metrics_desc[id].type == METRIC_HISTOGRAM || !isfinite(by) ||
	    (metrics_desc[id].type == METRIC_COUNTER && by < 0)) {
		errno = EINVAL;
		return -1;
	}
	if ((rc = series_get(m, id, labels, &s)) != 0)
		return rc;
	s->value += by;
	return 0;
}

int
metrics_set(struct metrics *m, enum metric_id id, const char *const labels[],
    double value)
{
	struct series *s;
	int rc;

	if (check_id(id) == -1)
		return -1;
	if (metrics_desc[id].type != METRIC_GAUGE) {
		errno = EINVAL;
		return -1;
	}
	if ((rc = series_get(m, id, labels, &s)) != 0)
		return rc;
	s->value = value;
	return 0;
}

int
metrics_observe(struct metrics *m, enum metric_id id,
    const char *const labels[], double v)
{
	const struct metric_desc *d;
	struct series *s;
	size_t i;
	int rc;

	if (check_id(id) == -1)
		return -1;
	d = &metrics_desc[id];
	if (d->type != METRIC_HISTOGRAM || isnan(v)) {
		errno = EINVAL;
		return -1;
	}
	if ((rc = series_get(m, id, labels, &s)) != 0)
		return rc;
	/* first bucket with v <= le; the extra last one is +Inf */
	for (i = 0; i < d->nbuckets && v > d->buckets[i]; i++)
		;
	s->bucket[i]++;
	s->count++;
	s->value += v;
	return 0;
}

static void
family_remove_at(struct family *f, size_t pos)
{
	series_free(f->s[pos]);
	memmove(&f->s[pos], &f->s[pos + 1], (f->n - pos - 1) * sizeof(*f->s));
	f->n--;
}

int
metrics_remove_series(struct metrics *m, enum metric_id id,
    const char *const labels[])
{
	struct family *f;
	size_t pos;
	int found;

	if (check_id(id) == -1)
		return -1;
	f = &m->fam[id];
	pos = family_find(f, labels, &found);
	if (!found)
		return 0;
	family_remove_at(f, pos);
	return 1;
}

size_t
metrics_remove_label(struct metrics *m, const char *label_name,
    const char *value)
{
	struct family *f;
	size_t id, li, i, j, removed = 0;

	if (label_name == NULL)
		return 0;
	if (value == NULL)
		value = "";
	for (id = 0; id < METRIC__COUNT; id++) {
		f = &m->fam[id];
		for (li = 0; li < f->nlabels; li++)
			if (strcmp(metrics_desc[id].labels[li], label_name) == 0)
				break;
		if (li == f->nlabels)
			continue;
		/* compact in place, keeping the order */
		for (i = j = 0; i < f->n; i++) {
			if (strcmp(f->s[i]->labels[li], value) == 0) {
				series_free(f->s[i]);
				removed++;
			} else
				f->s[j++] = f->s[i];
		}
		f->n = j;
	}
	return removed;
}

int
metrics_get(const struct metrics *m, enum metric_id id,
    const char *const labels[], double *out)
{
	const struct family *f;
	size_t pos;
	int found;

	if ((unsigned int)id >= METRIC__COUNT)
		return -1;
	f = &m->fam[id];
	pos = family_find(f, labels, &found);
	if (!found)
		return -1;
	if (metrics_desc[id].type == METRIC_HISTOGRAM)
		*out = (double)f->s[pos]->count;
	else
		*out = f->s[pos]->value;
	return 0;
}

size_t
metrics_series_count(const struct metrics *m, enum metric_id id)
{
	if ((unsigned int)id >= METRIC__COUNT)
		return 0;
	return m->fam[id].n;
}

uint64_t
metrics_dropped(const struct metrics *m, enum metric_id id)
{
	if ((unsigned int)id >= METRIC__COUNT)
		return 0;
	return m->fam[id].dropped;
}

int
metrics_take_overflow(struct metrics *m, enum metric_id *out)
{
	size_t i;

	for (i = 0; i < METRIC__COUNT; i++) {
		if (m->fam[i].overflow_pending) {
			m->fam[i].overflow_pending = 0;
			m->fam[i].overflow_reported = 1;
			*out = (enum metric_id)i;
			return 1;
		}
	}
	return 0;
}

/* ---- formatter ---------------------------------------------------------- */

/*
 * A float the way Prometheus parses it: NaN, +Inf, -Inf, else the shortest
 * %g form that reads back to the same double (3 -> "3", 0.1 -> "0.1").
 */
static void
fmt_double(char *buf, size_t len, double v)
{
	int prec;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, len, "%.17g", v);
}

/*
 * Escapes per the text format: label values escape \ " and newline; HELP
 * text escapes \ and newline only. Invalid UTF-8 becomes U+FFFD.
 */
static void
put_escaped(struct jbuf *b, const char *str, int quote)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), i = 0, run = 0, n;

	while (i < len) {
		unsigned char c = s[i];
		const char *esc = NULL;

		if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '"' && quote)
			esc = "\\\"";
		if (esc == NULL && (n = utf8_seq(s + i, len - i)) != 0) {
			i += n;
			run += n;
			continue;
		}
		jbuf_raw(b, (const char *)s + i - run, run);
		run = 0;
		jbuf_cat(b, esc != NULL ? esc : "\xef\xbf\xbd");
		i++;
	}
	jbuf_raw(b, (const char *)s + i - run, run);
}

/* name{l1="v1",l2="v2"[,le="x"]} value\n */
static void
put_sample(struct jbuf *b, const char *name, const char *suffix,
    const char *const names[], const struct series *s, size_t nlabels,
    const char *le, double v)
{
	char num[40];
	size_t i;

	jbuf_cat(b, name);
	jbuf_cat(b, suffix);
	if (nlabels > 0 || le != NULL) {
		jbuf_raw(b, "{", 1);
		for (i = 0; i < nlabels; i++) {
			if (i > 0)
				jbuf_raw(b, ",", 1);
			jbuf_cat(b, names[i]);
			jbuf_raw(b, "=\"", 2);
			put_escaped(b, s->labels[i], 1);
			jbuf_raw(b, "\"", 1);
		}
		if (le != NULL) {
			if (nlabels > 0)
				jbuf_raw(b, ",", 1);
			jbuf_cat(b, "le=\"");
			jbuf_cat(b, le);
			jbuf_raw(b, "\"", 1);
		}
		jbuf_raw(b, "}", 1);
	}
	fmt_double(num, sizeof(num), v);
	jbuf_raw(b, " ", 1);
	jbuf_cat(b, num);
	jbuf_raw(b, "\n", 1);
}

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

int
metrics_format(const struct metrics *m, struct jbuf *out)
{
	const struct metric_desc *d;
	const struct family *f;
	const struct series *s;
	char le[40];
	uint64_t cum;
	size_t id, i, k;

	for (id = 0; id < METRIC__COUNT; id++) {
		d = &metrics_desc[id];
		f = &m->fam[id];
		jbuf_cat(out, "# HELP ");
		jbuf_cat(out, d->name);
		jbuf_raw(out, " ", 1);
		put_escaped(out, d->help, 0);
		jbuf_cat(out, "\n# TYPE ");
		jbuf_cat(out, d->name);
		jbuf_raw(out, " ", 1);
		jbuf_cat(out, type_names[d->type]);
		jbuf_raw(out, "\n", 1);
		for (i = 0; i < f->n; i++) {
			s = f->s[i];
			if (d->type != METRIC_HISTOGRAM) {
				put_sample(out, d->name, "", d->labels, s,
				    f->nlabels, NULL, s->value);
				continue;
			}
			for (k = 0, cum = 0; k < d->nbuckets; k++) {
				cum += s->bucket[k];
				fmt_double(le, sizeof(le), d->buckets[k]);
				put_sample(out, d->name, "_bucket", d->labels,
				    s, f->nlabels, le, (double)cum);
			}
			put_sample(out, d->name, "_bucket", d->labels, s,
			    f->nlabels, "+Inf", (double)s->count);
			put_sample(out, d->name, "_sum", d->labels, s,
			    f->nlabels, NULL, s->value);
			put_sample(out, d->name, "_count", d->labels, s,
			    f->nlabels, NULL, (double)s->count);
		}
	}
	return out->oom ? -1 : 0;
}
