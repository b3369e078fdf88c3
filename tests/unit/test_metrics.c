/*
 * metrics: descriptor table, updaters, bucket math, the pure formatter
 * (golden strings and golden files, label escaping) and promtool.
 *
 * Golden files live in tests/golden/metrics/; rewrite them with
 *   VTW_GOLDEN_UPDATE=1 build/tests/test_metrics --filter 'metrics/golden*'
 * and review the diff. The ctest metrics_promtool_golden (supervisor.cmake)
 * also runs promtool on each golden file, so the format is still checked by
 * promtool when this binary runs under valgrind (see promtool_check_metrics).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"

#ifndef VTW_GOLDEN_METRICS_DIR
#define VTW_GOLDEN_METRICS_DIR "tests/golden/metrics"
#endif
#define PROMTOOL "/usr/bin/promtool"

extern char **environ;

static const char *const DS_REDIS[] = { "redis" };
static const char *const DS_MONGO[] = { "mongo" };

static char *
format_all(const struct metrics *m)
{
	struct jbuf b;

	jbuf_init(&b);
	cr_assert_eq(metrics_format(m, &b), 0);
	cr_assert_not_null(b.p);
	return b.p;	/* caller frees */
}

/* The lines of one family, from its "# HELP" to the next family's. */
static char *
family_block(const char *all, const char *name)
{
	char head[256], *start, *end, *r;
	size_t len;

	snprintf(head, sizeof(head), "# HELP %s ", name);
	start = strstr(all, head);
	cr_assert_not_null(start, "family %s not in output", name);
	end = strstr(start + 1, "# HELP ");
	len = end ? (size_t)(end - start) : strlen(start);
	r = malloc(len + 1);
	cr_assert_not_null(r);
	memcpy(r, start, len);
	r[len] = '\0';
	return r;
}

static void
assert_block(const struct metrics *m, enum metric_id id, const char *want)
{
	char *all = format_all(m), *blk;

	blk = family_block(all, metrics_desc[id].name);
	cr_assert_str_eq(blk, want, "got:\n%s\nwant:\n%s", blk, want);
	free(blk);
	free(all);
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(s, 1, strlen(s), f), strlen(s));
	cr_assert_eq(fclose(f), 0);
}

static void
assert_golden(const struct metrics *m, const char *file)
{
	char path[1024], *got, *want;

	snprintf(path, sizeof(path), "%s/%s", VTW_GOLDEN_METRICS_DIR, file);
	got = format_all(m);
	if (getenv("VTW_GOLDEN_UPDATE") != NULL)
		write_file(path, got);
	want = read_file(path);
	cr_assert_not_null(want, "missing golden file %s "
	    "(VTW_GOLDEN_UPDATE=1 creates it)", path);
	cr_assert_str_eq(got, want, "output differs from %s; got:\n%s",
	    path, got);
	free(got);
	free(want);
}

/* A registry with every family populated, escaping and odd values included;
 * shared by the golden file and the promtool test. */
static struct metrics *
full_registry(void)
{
	struct metrics *m = metrics_new();
	const char *const esc[] = { "we\"ird\\ds\nname" };
	const char *const r1[] = { "redis", "app:config/app.yaml" };
	const char *const r2[] = { "redis", "quote\"back\\slash" };
	const char *const r3[] = { "mongo", "caf\xc3\xa9 \xff bad utf-8" };
	const char *const wg[] = { "git" };
	const char *const wr[] = { "redis" };
	const char *const ver[] = { "0.1.0" };
	const char *const vc[] = { "vercel", "web:env.json" };
	const char *const gf_ok[] = { "github.com/acme/config", "ok" };
	const char *const gf_unch[] = { "github.com/acme/config", "unchanged" };
	const char *const gf_repo[] = { "github.com/acme/config" };
	const char *const wh[] = { "github", "push" };

	cr_assert_not_null(m);
	cr_assert_eq(metrics_touch(m, METRIC_POLL_TOTAL, DS_MONGO), 0);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, DS_REDIS, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, DS_REDIS, 2), 0);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, esc, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_DRIFT_TOTAL, DS_REDIS, 1), 0);
	cr_assert_eq(metrics_touch(m, METRIC_HEAL_TOTAL, DS_REDIS), 0);
	cr_assert_eq(metrics_touch(m, METRIC_HEAL_ERRORS_TOTAL, DS_REDIS), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 0.003), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 0.1), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 75), 0);
	cr_assert_eq(metrics_touch(m, METRIC_POLL_DURATION_SECONDS,
	    DS_MONGO), 0);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_ERRORS_TOTAL, DS_MONGO, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WORKER_RESTARTS_TOTAL, wr, 2), 0);
	cr_assert_eq(metrics_touch(m, METRIC_WORKER_RESTARTS_TOTAL, wg), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, r1, 3), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, r2, 0), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, r3, 12), 0);
	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, r1,
	    1764176400.123), 0);
	cr_assert_eq(metrics_set(m, METRIC_WORKER_UP, wg, 1), 0);
	cr_assert_eq(metrics_set(m, METRIC_WORKER_UP, wr, 0), 0);
	cr_assert_eq(metrics_inc(m, METRIC_GIT_FETCH_TOTAL, gf_ok, 3), 0);
	cr_assert_eq(metrics_inc(m, METRIC_GIT_FETCH_TOTAL, gf_unch, 7), 0);
	cr_assert_eq(metrics_observe(m, METRIC_GIT_FETCH_DURATION_SECONDS,
	    gf_repo, 0.02), 0);
	cr_assert_eq(metrics_observe(m, METRIC_GIT_FETCH_DURATION_SECONDS,
	    gf_repo, 3), 0);
	cr_assert_eq(metrics_set(m, METRIC_GIT_CIRCUIT_STATE, gf_repo, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WEBHOOK_TOTAL, wh, 1), 0);
	cr_assert_eq(metrics_set(m, METRIC_BUILD_INFO, ver, 1), 0);
	cr_assert_eq(metrics_set(m, METRIC_UNVERIFIABLE_KEYS, vc, 2), 0);
	return m;
}

static int
valid_name(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int
ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

Test(metrics, table_rows_are_complete_and_lint_clean)
{
	size_t i, j, k;

	for (i = 0; i < METRIC__COUNT; i++) {
		const struct metric_desc *d = &metrics_desc[i];

		cr_assert(valid_name(d->name), "row %zu: bad name", i);
		cr_assert(strncmp(d->name, "vartrack_watcher_", 17) == 0);
		cr_assert(d->help != NULL && *d->help != '\0');
		cr_assert_not_null(d->labels, "%s: labels", d->name);
		for (j = 0; d->labels[j] != NULL; j++) {
			cr_assert(valid_name(d->labels[j]));
			cr_assert_str_neq(d->labels[j], "le");
		}
		cr_assert_leq(j, METRICS_MAX_LABELS);
		if (d->type == METRIC_COUNTER)
			cr_assert(ends_with(d->name, "_total"), "%s", d->name);
		else
			cr_assert(!ends_with(d->name, "_total"), "%s", d->name);
		if (d->type == METRIC_HISTOGRAM) {
			cr_assert_gt(d->nbuckets, 0);
			for (k = 1; k < d->nbuckets; k++)
				cr_assert_lt(d->buckets[k - 1], d->buckets[k]);
		} else
			cr_assert_eq(d->nbuckets, 0);
		for (k = 0; k < i; k++)
			cr_assert_str_neq(metrics_desc[k].name, d->name);
	}
}

Test(metrics, spec_names_exact)
{
	cr_assert_str_eq(metrics_desc[METRIC_POLL_TOTAL].name,
	    "vartrack_watcher_poll_total");
	cr_assert_str_eq(metrics_desc[METRIC_DRIFT_TOTAL].name,
	    "vartrack_watcher_drift_total");
	cr_assert_str_eq(metrics_desc[METRIC_HEAL_TOTAL].name,
	    "vartrack_watcher_heal_total");
	cr_assert_str_eq(metrics_desc[METRIC_HEAL_ERRORS_TOTAL].name,
	    "vartrack_watcher_heal_errors_total");
	cr_assert_str_eq(metrics_desc[METRIC_POLL_DURATION_SECONDS].name,
	    "vartrack_watcher_poll_duration_seconds");
	cr_assert_eq(metrics_desc[METRIC_POLL_DURATION_SECONDS].type,
	    METRIC_HISTOGRAM);
}

/* heal_total counts the calls the orchestrator accepted (orch.c) */
Test(metrics, heal_total_help_says_accepted)
{
	cr_assert_str_eq(metrics_desc[METRIC_HEAL_TOTAL].help,
	    "Self-heal calls the orchestrator accepted.");
}

Test(metrics, touch_shows_zero_counter)
{
	struct metrics *m = metrics_new();
	double v = -1;

	cr_assert_eq(metrics_touch(m, METRIC_POLL_TOTAL, DS_REDIS), 0);
	cr_assert_eq(metrics_touch(m, METRIC_POLL_TOTAL, DS_REDIS), 0);
	cr_assert_eq(metrics_get(m, METRIC_POLL_TOTAL, DS_REDIS, &v), 0);
	cr_assert_eq(v, 0);
	assert_block(m, METRIC_POLL_TOTAL,
	    "# HELP vartrack_watcher_poll_total Total poll cycles, labeled by "
	    "datasource.\n"
	    "# TYPE vartrack_watcher_poll_total counter\n"
	    "vartrack_watcher_poll_total{datasource=\"redis\"} 0\n");
	metrics_free(m);
}

Test(metrics, empty_family_prints_help_and_type)
{
	struct metrics *m = metrics_new();

	assert_block(m, METRIC_DRIFTED_KEYS,
	    "# HELP vartrack_watcher_drifted_keys Keys that differ from the "
	    "Git baseline at the last poll of the rule (changed, missing or "
	    "extra).\n"
	    "# TYPE vartrack_watcher_drifted_keys gauge\n");
	metrics_free(m);
}

Test(metrics, series_sorted_by_label_values)
{
	struct metrics *m = metrics_new();
	const char *const a[] = { "b", "z" }, *const b[] = { "a", "y" },
	    *const c[] = { "b", "a" }, *const d[] = { "ab", "a" };

	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, a, 1), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, b, 2), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, c, 3), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, d, 4), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, a, 5), 0);
	cr_assert_eq(metrics_series_count(m, METRIC_DRIFTED_KEYS), 4);
	assert_block(m, METRIC_DRIFTED_KEYS,
	    "# HELP vartrack_watcher_drifted_keys Keys that differ from the "
	    "Git baseline at the last poll of the rule (changed, missing or "
	    "extra).\n"
	    "# TYPE vartrack_watcher_drifted_keys gauge\n"
	    "vartrack_watcher_drifted_keys{datasource=\"a\",rule=\"y\"} 2\n"
	    "vartrack_watcher_drifted_keys{datasource=\"ab\",rule=\"a\"} 4\n"
	    "vartrack_watcher_drifted_keys{datasource=\"b\",rule=\"a\"} 3\n"
	    "vartrack_watcher_drifted_keys{datasource=\"b\",rule=\"z\"} 5\n");
	metrics_free(m);
}

Test(metrics, label_escaping)
{
	struct metrics *m = metrics_new();
	const char *const q[] = { "say \"hi\"" };
	const char *const bs[] = { "C:\\dir\\" };
	const char *const nl[] = { "two\nlines" };
	const char *const all[] = { "\\\"\n\\n" };
	const char *const bad[] = { "ok\xc3\xa9-\xff\xfe-\xe2\x82" };
	const char *const tab[] = { "tab\there" };
	const char *const nul[] = { NULL };

	cr_assert_eq(metrics_inc(m, METRIC_WORKER_RESTARTS_TOTAL, q, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WORKER_RESTARTS_TOTAL, bs, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WORKER_RESTARTS_TOTAL, nl, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WORKER_RESTARTS_TOTAL, all, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WORKER_RESTARTS_TOTAL, bad, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WORKER_RESTARTS_TOTAL, tab, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WORKER_RESTARTS_TOTAL, nul, 1), 0);
	assert_block(m, METRIC_WORKER_RESTARTS_TOTAL,
	    "# HELP vartrack_watcher_worker_restarts_total Worker processes "
	    "restarted after they exited.\n"
	    "# TYPE vartrack_watcher_worker_restarts_total counter\n"
	    "vartrack_watcher_worker_restarts_total{worker=\"\"} 1\n"
	    "vartrack_watcher_worker_restarts_total{worker=\"C:\\\\dir\\\\\"} 1\n"
	    "vartrack_watcher_worker_restarts_total{worker=\"\\\\\\\"\\n\\\\n\"} 1\n"
	    "vartrack_watcher_worker_restarts_total{worker=\"ok\xc3\xa9-"
	    "\xef\xbf\xbd\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd\"} 1\n"
	    "vartrack_watcher_worker_restarts_total{worker=\"say \\\"hi\\\"\"} 1\n"
	    "vartrack_watcher_worker_restarts_total{worker=\"tab\there\"} 1\n"
	    "vartrack_watcher_worker_restarts_total{worker=\"two\\nlines\"} 1\n");
	metrics_free(m);
}

Test(metrics, histogram_bucket_math)
{
	struct metrics *m = metrics_new();
	double v;

	/* le is inclusive: 0.005 lands in le="0.005" */
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 0.005), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 0.0051), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 1), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 59.5), 0);
	/* above the last bound: only +Inf */
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 61), 0);
	/* negative (clock step): first bucket */
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, -0.5), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, INFINITY), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, NAN), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(metrics_get(m, METRIC_POLL_DURATION_SECONDS, DS_REDIS,
	    &v), 0);
	cr_assert_eq(v, 7);
	assert_block(m, METRIC_POLL_DURATION_SECONDS,
	    "# HELP vartrack_watcher_poll_duration_seconds Poll cycle "
	    "duration.\n"
	    "# TYPE vartrack_watcher_poll_duration_seconds histogram\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"0.005\"} 2\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"0.01\"} 3\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"0.025\"} 3\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"0.05\"} 3\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"0.1\"} 3\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"0.25\"} 3\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"0.5\"} 3\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"1\"} 4\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"2.5\"} 4\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"5\"} 4\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"10\"} 4\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"30\"} 4\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"60\"} 5\n"
	    "vartrack_watcher_poll_duration_seconds_bucket{datasource=\"redis\",le=\"+Inf\"} 7\n"
	    "vartrack_watcher_poll_duration_seconds_sum{datasource=\"redis\"} +Inf\n"
	    "vartrack_watcher_poll_duration_seconds_count{datasource=\"redis\"} 7\n");
	metrics_free(m);
}

Test(metrics, histogram_sum_and_touch)
{
	struct metrics *m = metrics_new();
	char *all, *blk;

	cr_assert_eq(metrics_touch(m, METRIC_POLL_DURATION_SECONDS,
	    DS_MONGO), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 0.25), 0);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_DURATION_SECONDS,
	    DS_REDIS, 0.5), 0);
	all = format_all(m);
	blk = family_block(all, "vartrack_watcher_poll_duration_seconds");
	cr_assert_not_null(strstr(blk,
	    "_bucket{datasource=\"mongo\",le=\"+Inf\"} 0\n"
	    "vartrack_watcher_poll_duration_seconds_sum{datasource=\"mongo\"} 0\n"
	    "vartrack_watcher_poll_duration_seconds_count{datasource=\"mongo\"} 0\n"));
	cr_assert_not_null(strstr(blk,
	    "_bucket{datasource=\"redis\",le=\"0.1\"} 0\n"));
	cr_assert_not_null(strstr(blk,
	    "_bucket{datasource=\"redis\",le=\"0.25\"} 1\n"));
	cr_assert_not_null(strstr(blk,
	    "_bucket{datasource=\"redis\",le=\"0.5\"} 2\n"));
	cr_assert_not_null(strstr(blk,
	    "_sum{datasource=\"redis\"} 0.75\n"));
	/* mongo sorts before redis */
	cr_assert_lt(strstr(blk, "\"mongo\""), strstr(blk, "\"redis\""));
	free(blk);
	free(all);
	metrics_free(m);
}

Test(metrics, value_formatting)
{
	struct metrics *m = metrics_new();
	const char *const a[] = { "d", "a" }, *const b[] = { "d", "b" },
	    *const c[] = { "d", "c" }, *const d[] = { "d", "d" },
	    *const e[] = { "d", "e" }, *const f[] = { "d", "f" },
	    *const g[] = { "d", "g" };

	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, a,
	    0.1), 0);
	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, b,
	    0.1 + 0.2), 0);
	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, c,
	    1764176400.123), 0);
	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, d,
	    NAN), 0);
	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, e,
	    -INFINITY), 0);
	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, f,
	    1e-9), 0);
	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, g,
	    -12), 0);
	assert_block(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS,
	    "# HELP vartrack_watcher_last_poll_timestamp_seconds Unix time of "
	    "the last completed poll of the rule.\n"
	    "# TYPE vartrack_watcher_last_poll_timestamp_seconds gauge\n"
	    "vartrack_watcher_last_poll_timestamp_seconds{datasource=\"d\",rule=\"a\"} 0.1\n"
	    "vartrack_watcher_last_poll_timestamp_seconds{datasource=\"d\",rule=\"b\"} 0.30000000000000004\n"
	    "vartrack_watcher_last_poll_timestamp_seconds{datasource=\"d\",rule=\"c\"} 1764176400.123\n"
	    "vartrack_watcher_last_poll_timestamp_seconds{datasource=\"d\",rule=\"d\"} NaN\n"
	    "vartrack_watcher_last_poll_timestamp_seconds{datasource=\"d\",rule=\"e\"} -Inf\n"
	    "vartrack_watcher_last_poll_timestamp_seconds{datasource=\"d\",rule=\"f\"} 1e-09\n"
	    "vartrack_watcher_last_poll_timestamp_seconds{datasource=\"d\",rule=\"g\"} -12\n");
	metrics_free(m);
}

Test(metrics, type_and_value_checks)
{
	struct metrics *m = metrics_new();
	const char *const wk[] = { "git" };

	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, DS_REDIS, -1), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, DS_REDIS, NAN), -1);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, DS_REDIS, INFINITY),
	    -1);
	cr_assert_eq(metrics_set(m, METRIC_POLL_TOTAL, DS_REDIS, 5), -1);
	cr_assert_eq(metrics_observe(m, METRIC_POLL_TOTAL, DS_REDIS, 1), -1);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_DURATION_SECONDS, DS_REDIS,
	    1), -1);
	cr_assert_eq(metrics_set(m, METRIC_POLL_DURATION_SECONDS, DS_REDIS,
	    1), -1);
	cr_assert_eq(metrics_inc(m, METRIC__COUNT, DS_REDIS, 1), -1);
	cr_assert_eq(metrics_touch(m, (enum metric_id)-1, DS_REDIS), -1);
	/* nothing was created by the rejected calls */
	cr_assert_eq(metrics_series_count(m, METRIC_POLL_TOTAL), 0);
	cr_assert_eq(metrics_series_count(m, METRIC_POLL_DURATION_SECONDS), 0);
	/* gauges go up and down */
	cr_assert_eq(metrics_set(m, METRIC_WORKER_UP, wk, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_WORKER_UP, wk, -1), 0);
	{
		double v = 9;

		cr_assert_eq(metrics_get(m, METRIC_WORKER_UP, wk, &v), 0);
		cr_assert_eq(v, 0);
		cr_assert_eq(metrics_get(m, METRIC_WORKER_UP, DS_REDIS, &v),
		    -1);
	}
	metrics_free(m);
}

Test(metrics, series_cap_drops_with_one_time_flag)
{
	struct metrics *m = metrics_new();
	enum metric_id id;
	char name[16];
	const char *lv[1] = { name };
	int i;

	metrics_set_series_limit(m, 3);
	cr_assert_eq(metrics_take_overflow(m, &id), 0);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "ds%d", i);
		cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, lv, 1), 0);
	}
	snprintf(name, sizeof(name), "ds3");
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, lv, 1),
	    METRICS_DROPPED);
	cr_assert_eq(metrics_touch(m, METRIC_POLL_TOTAL, lv), METRICS_DROPPED);
	cr_assert_eq(metrics_series_count(m, METRIC_POLL_TOTAL), 3);
	cr_assert_eq(metrics_dropped(m, METRIC_POLL_TOTAL), 2);
	/* existing series still update */
	snprintf(name, sizeof(name), "ds1");
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, lv, 1), 0);
	/* other families are independent */
	cr_assert_eq(metrics_inc(m, METRIC_DRIFT_TOTAL, lv, 1), 0);
	cr_assert_eq(metrics_take_overflow(m, &id), 1);
	cr_assert_eq(id, METRIC_POLL_TOTAL);
	cr_assert_eq(metrics_take_overflow(m, &id), 0);
	/* dropping again does not raise the flag again */
	snprintf(name, sizeof(name), "ds9");
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, lv, 1),
	    METRICS_DROPPED);
	cr_assert_eq(metrics_take_overflow(m, &id), 0);
	cr_assert_eq(metrics_dropped(m, METRIC_POLL_TOTAL), 3);
	/* removing a series makes room */
	snprintf(name, sizeof(name), "ds0");
	cr_assert_eq(metrics_remove_series(m, METRIC_POLL_TOTAL, lv), 1);
	snprintf(name, sizeof(name), "ds9");
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, lv, 1), 0);
	metrics_free(m);
}

Test(metrics, default_cap_is_10000)
{
	struct metrics *m = metrics_new();
	char name[32];
	const char *lv[2] = { "ds", name };
	int i;

	for (i = 0; i < METRICS_MAX_SERIES; i++) {
		snprintf(name, sizeof(name), "rule%05d", (i * 7919) % 10000);
		cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, lv, i), 0);
	}
	cr_assert_eq(metrics_series_count(m, METRIC_DRIFTED_KEYS), 10000);
	snprintf(name, sizeof(name), "one-more");
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, lv, 1),
	    METRICS_DROPPED);
	metrics_free(m);
}

Test(metrics, remove_series_and_label)
{
	struct metrics *m = metrics_new();
	const char *const r1[] = { "redis", "r1" }, *const r2[] = { "redis",
	    "r2" }, *const m1[] = { "mongo", "m1" };
	const char *const wr[] = { "redis" };
	double v;

	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, r1, 1), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, r2, 2), 0);
	cr_assert_eq(metrics_set(m, METRIC_DRIFTED_KEYS, m1, 3), 0);
	cr_assert_eq(metrics_set(m, METRIC_LAST_POLL_TIMESTAMP_SECONDS, r2,
	    5), 0);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, DS_REDIS, 1), 0);
	cr_assert_eq(metrics_inc(m, METRIC_POLL_TOTAL, DS_MONGO, 1), 0);
	cr_assert_eq(metrics_set(m, METRIC_WORKER_UP, wr, 1), 0);

	cr_assert_eq(metrics_remove_series(m, METRIC_DRIFTED_KEYS, r1), 1);
	cr_assert_eq(metrics_remove_series(m, METRIC_DRIFTED_KEYS, r1), 0);
	cr_assert_eq(metrics_get(m, METRIC_DRIFTED_KEYS, r1, &v), -1);
	cr_assert_eq(metrics_get(m, METRIC_DRIFTED_KEYS, r2, &v), 0);

	/* "datasource" = redis goes everywhere; worker "redis" stays */
	cr_assert_eq(metrics_remove_label(m, "datasource", "redis"), 3);
	cr_assert_eq(metrics_series_count(m, METRIC_DRIFTED_KEYS), 1);
	cr_assert_eq(metrics_series_count(m, METRIC_POLL_TOTAL), 1);
	cr_assert_eq(metrics_series_count(m,
	    METRIC_LAST_POLL_TIMESTAMP_SECONDS), 0);
	cr_assert_eq(metrics_series_count(m, METRIC_WORKER_UP), 1);
	cr_assert_eq(metrics_get(m, METRIC_POLL_TOTAL, DS_MONGO, &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(metrics_remove_label(m, "nosuchlabel", "x"), 0);
	metrics_free(m);
}

Test(metrics, format_is_pure_and_repeatable)
{
	struct metrics *m = full_registry();
	char *a = format_all(m), *b = format_all(m);

	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	metrics_free(m);
}

Test(metrics, golden_empty)
{
	struct metrics *m = metrics_new();

	assert_golden(m, "empty.prom");
	metrics_free(m);
}

Test(metrics, golden_full)
{
	struct metrics *m = full_registry();

	assert_golden(m, "full.prom");
	metrics_free(m);
}

/* valgrind's preload libraries are in LD_PRELOAD of the traced process. */
static int
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

/* Runs promtool check metrics < path; returns its exit status and leaves
 * its output in outpath. */
static int
run_promtool(const char *path, const char *outpath)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { PROMTOOL, "check", "metrics", NULL };
	pid_t pid;
	int st, rc;

	cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
	cr_assert_eq(posix_spawn_file_actions_addopen(&fa, 0, path, O_RDONLY,
	    0), 0);
	cr_assert_eq(posix_spawn_file_actions_addopen(&fa, 1, outpath,
	    O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	cr_assert_eq(posix_spawn_file_actions_adddup2(&fa, 1, 2), 0);
	rc = posix_spawn(&pid, PROMTOOL, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(rc, 0, "posix_spawn %s: %s", PROMTOOL, strerror(rc));
	while (waitpid(pid, &st, 0) == -1)
		cr_assert_eq(errno, EINTR);
	cr_assert(WIFEXITED(st), "promtool died: status %d", st);
	return WEXITSTATUS(st);
}

static void
check_with_promtool(struct metrics *m)
{
	char in[] = "/tmp/vtw-metrics-XXXXXX", out[] = "/tmp/vtw-promtool-XXXXXX";
	char *text, *msg;
	int fd, rc;

	text = format_all(m);
	cr_assert_neq(fd = mkstemp(in), -1);
	close(fd);
	cr_assert_neq(fd = mkstemp(out), -1);
	close(fd);
	write_file(in, text);
	rc = run_promtool(in, out);
	msg = read_file(out);
	cr_assert_eq(rc, 0, "promtool check metrics failed (%d):\n%s\n"
	    "input:\n%s", rc, msg ? msg : "", text);
	/* lint findings would be printed even with exit 0 */
	cr_assert(msg == NULL || *msg == '\0', "promtool says:\n%s", msg);
	free(msg);
	free(text);
	unlink(in);
	unlink(out);
}

Test(metrics, promtool_check_metrics)
{
	struct metrics *m;

	if (access(PROMTOOL, X_OK) != 0)
		cr_skip_test(PROMTOOL " not installed (Debian package "
		    "prometheus); format not checked by promtool");
	if (under_valgrind())
		cr_skip_test("running under valgrind: promtool (a Go binary) "
		    "dies with SIGILL when valgrind traces it; run without "
		    "valgrind, or see the ctest metrics_promtool_golden");
	m = full_registry();
	check_with_promtool(m);
	metrics_free(m);
	m = metrics_new();
	check_with_promtool(m);
	metrics_free(m);
}
