/*
 * Baseline library: the orchestrator pipeline rules (interop §7.3-§7.7,
 * §2.3, §3.2), golden files (§7.8 Example A) and the small API helpers.
 * Parser details live in test_baseline_parse.c, hostile input in
 * test_baseline_hostile.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"

#ifndef VTW_BL_GOLDEN_DIR
#define VTW_BL_GOLDEN_DIR "tests/golden/baseline"
#endif

/* shared helpers (used by the other test_baseline*.c files too) */
void	 bt_rule(struct bl_rule *);
char	*bt_dump(const struct kvmap *);
char	*bt_flat(const struct bl_rule *, const char *, const char *, size_t);
char	*bt_slurp(const char *, size_t *);
char	*bt_run(const char *, const char *, const char *, const char *);
char	*bt_run2(const struct bl_rule *, const char *, const char *);

void
bt_rule(struct bl_rule *r)
{
	memset(r, 0, sizeof(*r));	/* key format dot, no prefix */
	r->env = "default";
}

/* "key=value\n" lines in key order; '\\' and newlines escaped. */
char *
bt_dump(const struct kvmap *m)
{
	const struct kv_entry **v;
	size_t i, j, k, cap = 1, o = 0;
	char *s;

	v = calloc(m->n + 1, sizeof(*v));
	cr_assert_not_null(v);
	for (i = 0; i < m->n; i++) {
		v[i] = &m->ents[i];
		cap += 2 * (m->ents[i].keylen + m->ents[i].vallen) + 2;
	}
	for (i = 1; i < m->n; i++)	/* insertion sort: tests are small */
		for (j = i; j > 0 && strcmp(v[j - 1]->key, v[j]->key) > 0;
		    j--) {
			const struct kv_entry *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	s = malloc(cap);
	cr_assert_not_null(s);
	for (i = 0; i < m->n; i++) {
		for (k = 0; k < 2; k++) {
			const char *p = k ? v[i]->val : v[i]->key;
			size_t n = k ? v[i]->vallen : v[i]->keylen;

			for (j = 0; j < n; j++) {
				if (p[j] == '\n' || p[j] == '\\') {
					s[o++] = '\\';
					s[o++] = p[j] == '\n' ? 'n' : '\\';
				} else
					s[o++] = p[j];
			}
			s[o++] = k ? '\n' : '=';
		}
	}
	s[o] = '\0';
	free(v);
	return s;
}

/* Run one file; "k=v\n"..., "SKIPPED\n" or "ERROR: <message>". */
char *
bt_flat(const struct bl_rule *r, const char *path, const char *data,
    size_t len)
{
	struct kvmap *m = kvmap_new();
	char err[512], *s;
	int skipped = -1, rc;

	cr_assert_not_null(m);
	err[0] = '\0';
	rc = bl_build_file(m, r, path, data, len, &skipped, err, sizeof(err));
	if (rc == -1) {
		cr_assert(err[0] != '\0', "error without a message");
		cr_assert_eq(kvmap_count(m), 0);
		cr_assert(asprintf(&s, "ERROR: %s", err) != -1);
	} else if (skipped) {
		cr_assert_eq(kvmap_count(m), 0);
		s = strdup("SKIPPED\n");
	} else
		s = bt_dump(m);
	kvmap_free(m);
	return s;
}

/* bt_flat with root_key and env (NULL = rule defaults), dot keys. */
char *
bt_run(const char *path, const char *data, const char *root_key,
    const char *env)
{
	struct bl_rule r;

	bt_rule(&r);
	r.root_key = root_key;
	if (env != NULL)
		r.env = env;
	return bt_flat(&r, path, data, strlen(data));
}

char *
bt_run2(const struct bl_rule *r, const char *path, const char *data)
{
	return bt_flat(r, path, data, strlen(data));
}

char *
bt_slurp(const char *name, size_t *len)
{
	char path[1024], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", VTW_BL_GOLDEN_DIR, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

#define EXPECT(path, data, rk, env, want) do {				\
	char *got_ = bt_run((path), (data), (rk), (env));		\
	cr_expect_str_eq(got_, (want), "%s", (data));			\
	free(got_);							\
} while (0)

static void
golden(const char *file, const char *expected, const char *root_key,
    const char *env)
{
	struct bl_rule r;
	char *data, *want, *got, path[256];
	size_t len;

	bt_rule(&r);
	r.root_key = root_key;
	if (env != NULL)
		r.env = env;
	data = bt_slurp(file, &len);
	want = bt_slurp(expected, NULL);
	snprintf(path, sizeof(path), "config/%s", file);
	got = bt_flat(&r, path, data, len);
	cr_expect_str_eq(got, want, "golden %s", file);
	free(got);
	free(want);
	free(data);
}

/* ---- §7.8 Example A ----------------------------------------------------- */

Test(baseline_golden, example_a_all_19_pairs)
{
	static const char *const pairs[][2] = {
		{ "api.rate_limit", "1000" },
		{ "api.secret_key", "placeholder-rotated-by-vault" },
		{ "api.timeout_ms", "30000" },
		{ "api.version", "v1" },
		{ "app.env", "production" },
		{ "app.name", "demo-app" },
		{ "app.region", "us-east-1" },
		{ "cache.backend", "redis" },
		{ "cache.ttl_seconds", "300" },
		{ "database.connect_timeout_ms", "5000" },
		{ "database.max_connections", "100" },
		{ "database.password", "placeholder-rotated-by-vault" },
		{ "database.pool_size", "10" },
		{ "features.analytics", "false" },
		{ "features.dark_mode", "true" },
		{ "features.debug_mode", "false" },
		{ "observability.log_level", "INFO" },
		{ "observability.service_mesh", "istio" },
		{ "observability.tracing_enabled", "true" },
	};
	struct bl_rule r;
	struct kvmap *m = kvmap_new();
	char err[256], *data;
	size_t len, i;
	int skipped = -1;

	data = bt_slurp("app-settings.yaml", &len);
	bt_rule(&r);
	r.env = "main";		/* env_as_branch, push to main */
	cr_assert_eq(bl_build_file(m, &r, "app-settings.yaml", data, len,
	    &skipped, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(skipped, 0);
	cr_assert_eq(kvmap_count(m), 19);
	for (i = 0; i < 19; i++) {
		const struct kv_entry *e = kvmap_gets(m, pairs[i][0]);

		cr_assert_not_null(e, "missing %s", pairs[i][0]);
		cr_expect_str_eq(e->val, pairs[i][1], "%s", pairs[i][0]);
		/* sorted by key, as stage_etl hands them to the sink */
		cr_expect_str_eq(m->ents[i].key, pairs[i][0]);
	}
	kvmap_free(m);
	free(data);
	golden("app-settings.yaml", "app-settings.expected", NULL, "main");
}

Test(baseline_golden, example_a_redis_hash_fields)
{
	struct bl_rule r;
	struct kvmap *m = kvmap_new();
	char err[256], *data;
	size_t len;
	int skipped = -1;

	/* 05_redis_hash.json: template {env}:config, HGETALL main:config:vartrack
	 * (the prefix is the supervisor's: test_layout) */
	data = bt_slurp("app-settings.yaml", &len);
	bt_rule(&r);
	r.env = "main";
	/* HASH: dot field names, the prefix names the hash, not the keys */
	r.key_format = BL_KF_DOT;
	r.key_prefix = NULL;
	cr_assert_eq(bl_build_file(m, &r, "app-settings.yaml", data, len,
	    &skipped, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(kvmap_count(m), 19);
	cr_assert_str_eq(kvmap_gets(m, "database.pool_size")->val, "10");
	cr_assert_str_eq(kvmap_gets(m, "features.dark_mode")->val, "true");
	cr_assert_str_eq(kvmap_gets(m, "api.secret_key")->val,
	    "placeholder-rotated-by-vault");
	cr_assert_null(kvmap_gets(m, "database_pool_size"));
	kvmap_free(m);
	free(data);
}

Test(baseline_golden, example_a_redis_string_keys)
{
	struct bl_rule r;
	struct kvmap *m = kvmap_new();
	char err[256], *data;
	const char *prefix = "vartrack:kv";
	size_t len, i;
	int skipped = -1;

	/* 06_redis_string.json: template vartrack:kv (no env in it) */
	data = bt_slurp("app-settings.yaml", &len);
	bt_rule(&r);
	r.env = "main";
	r.key_format = BL_KF_FLAT;	/* redis STRING's default */
	r.key_prefix = prefix;
	cr_assert_eq(bl_build_file(m, &r, "app-settings.yaml", data, len,
	    &skipped, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(kvmap_count(m), 19);
	cr_assert_str_eq(kvmap_gets(m, "vartrack:kv:database_pool_size")->val,
	    "10");
	cr_assert_str_eq(kvmap_gets(m,
	    "vartrack:kv:observability_tracing_enabled")->val, "true");
	for (i = 0; i < m->n; i++) {
		cr_expect(strncmp(m->ents[i].key, "vartrack:kv:", 12) == 0,
		    "%s", m->ents[i].key);
		cr_expect_null(strchr(m->ents[i].key, '.'), "%s",
		    m->ents[i].key);
	}
	kvmap_free(m);
	free(data);
}

Test(baseline_golden, example_a_other_sinks)
{
	struct bl_rule r;
	struct kvmap *m = kvmap_new();
	char err[256], *data;
	size_t len;
	int skipped;

	data = bt_slurp("app-settings.yaml", &len);
	bt_rule(&r);
	r.key_format = BL_KF_SLASH;	/* 03_zk_slash.json */
	cr_assert_eq(bl_build_file(m, &r, "app-settings.yaml", data, len,
	    &skipped, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(kvmap_gets(m, "/database/pool_size")->val, "10");
	kvmap_clear(m);
	r.key_format = BL_KF_DOT;	/* redis JSON: {prefix}:json holds
					 * dotted keys */
	cr_assert_eq(bl_build_file(m, &r, "app-settings.yaml", data, len,
	    &skipped, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(kvmap_gets(m, "database.pool_size")->val, "10");
	kvmap_free(m);
	free(data);
}

Test(baseline_golden, more_files)
{
	golden("env-pattern1.yaml", "env-pattern1.prod.expected", NULL,
	    "prod");
	golden("services.json", "services.expected", NULL, NULL);
	golden("app.env", "app.env.expected", NULL, NULL);
	golden("app.ini", "app.ini.expected", NULL, NULL);
}

/* ---- §7.3 root_key ------------------------------------------------------ */

Test(baseline_rootkey, default_present_missing_and_others)
{
	const char *doc = "vartrack:\n  a: 1\nother: 2\n";

	/* default "vartrack" present: only that subtree */
	EXPECT("c.yaml", doc, NULL, NULL, "a=1\n");
	/* default missing: the whole file */
	EXPECT("c.yaml", "a: 1\nb: {c: 2}\n", NULL, NULL, "a=1\nb.c=2\n");
	/* non-default present / missing: subtree / skipped */
	EXPECT("c.yaml", "app:\n  x: 1\n", "app", NULL, "x=1\n");
	EXPECT("c.yaml", "other:\n  x: 1\n", "app", NULL, "SKIPPED\n");
	/* "" always means the whole file, even with a vartrack key */
	EXPECT("c.yaml", doc, "", NULL, "other=2\nvartrack.a=1\n");
	/* explicit "vartrack" behaves as the default */
	EXPECT("c.yaml", "a: 1\n", "vartrack", NULL, "a=1\n");
}

Test(baseline_rootkey, non_dict_top_level)
{
	/* a list is used as is; non-default root_key does not skip it */
	EXPECT("c.yaml", "- a\n- b: 1\n", "app", NULL, "0=a\n1.b=1\n");
	EXPECT("c.json", "[1, [2, 3]]", NULL, NULL, "0=1\n1.0=2\n1.1=3\n");
	/* a lone scalar is flattened under the empty key */
	EXPECT("c.yaml", "hello\n", NULL, NULL, "=hello\n");
	EXPECT("c.json", "\"s\"", NULL, NULL, "=s\n");
	EXPECT("c.json", "null", NULL, NULL, "SKIPPED\n");
	/* falsy YAML top levels become {} (safe_load(...) or {}) */
	EXPECT("c.yaml", "0\n", NULL, NULL, "SKIPPED\n");
	EXPECT("c.yaml", "[]\n", "app", NULL, "SKIPPED\n");
}

Test(baseline_rootkey, scalar_subtree_means_whole_file)
{
	/*
	 * stage_etl: a root_key value that is not a dict or list is not
	 * json.dumps'ed; transform() re-parses the original content and
	 * flattens the whole file (no slicing, Python str() of keys).
	 */
	EXPECT("c.yaml", "vartrack: x\nother:\n  5: 2\n  true: t\n  ~: n\n",
	    NULL, "default", "other.5=2\nother.None=n\nother.True=t\n"
	    "vartrack=x\n");
	EXPECT("c.yaml", "vartrack:\nk: v\n", NULL, NULL,
	    "k=v\nvartrack=\n");
	/* the dates there are str()'d, not an error */
	EXPECT("c.yaml", "vartrack: 1\nd: 2024-01-31\n", NULL, NULL,
	    "d=2024-01-31\nvartrack=1\n");
}

/* ---- §7.5 env slicing --------------------------------------------------- */

Test(baseline_env, pattern1_all_dicts)
{
	const char *doc =
	    "default: {age: 32, color: blue, db: {host: h, port: 1}}\n"
	    "predev: {age: 44, name: dan, db: {host: p}}\n";

	EXPECT("c.yaml", doc, NULL, "predev",
	    "age=44\ncolor=blue\ndb.host=p\nname=dan\n");
	/* unknown env: default only */
	EXPECT("c.yaml", doc, NULL, "staging",
	    "age=32\ncolor=blue\ndb.host=h\ndb.port=1\n");
	/* env only, no default */
	EXPECT("c.yaml", "prod: {a: 1}\ndev: {a: 2}\n", NULL, "dev", "a=2\n");
	/* neither: unchanged */
	EXPECT("c.yaml", "prod: {a: 1}\ndev: {a: 2}\n", NULL, "qa",
	    "dev.a=2\nprod.a=1\n");
	/* no env: no slicing at all */
	EXPECT("c.yaml", "prod: {a: 1}\ndefault: {a: 2}\n", NULL, "",
	    "default.a=2\nprod.a=1\n");
}

Test(baseline_env, pattern2_per_key)
{
	const char *doc =
	    "color: {default: blue, predev: green}\n"
	    "age: 43\n";

	EXPECT("c.yaml", doc, NULL, "predev", "age=43\ncolor=green\n");
	EXPECT("c.yaml", doc, NULL, "staging", "age=43\ncolor=blue\n");
	/* the trap: any nested dict with a "default" key is collapsed */
	EXPECT("c.yaml", "db:\n  default: x\n  host: h\nname: n\n", NULL,
	    "prod", "db=x\nname=n\n");
	/* ... and it may yield a dict or a list */
	EXPECT("c.yaml", "s: {prod: [1, 2], default: 0}\nt: {u: 1}\n", NULL,
	    "prod", "s.0=1\ns.1=2\nt.u=1\n");
}

Test(baseline_env, pattern3_hybrid)
{
	const char *doc =
	    "prod: {name: worn}\n"
	    "predev: {name: dan}\n"
	    "name: bob\n"
	    "age: 33\n";

	EXPECT("c.yaml", doc, NULL, "prod", "age=33\nname=worn\n");
	EXPECT("c.yaml", doc, NULL, "predev", "age=33\nname=dan\n");
	/* no matching env dict and no default dict: unchanged */
	EXPECT("c.yaml", doc, NULL, "staging",
	    "age=33\nname=bob\npredev.name=dan\nprod.name=worn\n");
	/* default dict: scalars, then default, then env; other dicts go */
	EXPECT("c.yaml", "prod: {n: w}\ndefault: {n: b, x: 1}\nother: {o: 1}\n"
	    "age: 33\n", NULL, "staging", "age=33\nn=b\nx=1\n");
	/* a scalar named like the env is not an env dict */
	EXPECT("c.yaml", "prod: 1\ndefault: 2\nd: {k: v}\n", NULL, "prod",
	    "d.k=v\ndefault=2\nprod=1\n");
}

Test(baseline_env, after_root_key_and_in_json)
{
	EXPECT("c.json", "{\"vartrack\": {\"default\": {\"a\": 1}, "
	    "\"prod\": {\"a\": 2, \"b\": [true]}}, \"x\": 1}", NULL, "prod",
	    "a=2\nb.0=true\n");
	EXPECT("c.env", "default=1\nprod=2\n", NULL, "prod",
	    "default=1\nprod=2\n");
}

/* ---- §7.7 flattening and values ----------------------------------------- */

Test(baseline_flatten, lists_empties_nulls)
{
	EXPECT("c.yaml", "a: [x, [y, z], {k: v}]\n", NULL, NULL,
	    "a.0=x\na.1.0=y\na.1.1=z\na.2.k=v\n");
	EXPECT("c.yaml", "a: {}\nb: []\nc: {d: {}, e: [[]]}\nf: 1\n", NULL,
	    NULL, "f=1\n");
	EXPECT("c.yaml", "a: ~\nb: null\nc:\nd: ''\n", NULL, NULL,
	    "a=\nb=\nc=\nd=\n");
	EXPECT("c.yaml", "a: true\nb: False\nc: 'true'\n", NULL, NULL,
	    "a=true\nb=false\nc=true\n");
	EXPECT("c.yaml", "s: \"multi\\nline\"\n", NULL, NULL,
	    "s=multi\\nline\n");
}

Test(baseline_flatten, numbers)
{
	EXPECT("c.yaml", "a: 10\nb: -0\nc: 0x1F\nd: 010\ne: 1_000\nf: 0b101\n"
	    "g: 1:30\nh: +7\ni: 123456789012345678901234567890\n", NULL, NULL,
	    "a=10\nb=0\nc=31\nd=8\ne=1000\nf=5\ng=90\nh=7\n"
	    "i=123456789012345678901234567890\n");
	EXPECT("c.yaml", "a: 1.5\nb: 3.0\nc: 1.0e+20\nd: 1.0e-05\n"
	    "e: 0.0001\nf: 1.0e+16\ng: 1.0e+15\nh: .inf\ni: -.inf\nj: .nan\n"
	    "k: -0.0\nl: 0.1\nm: 1.\n", NULL, NULL,
	    "a=1.5\nb=3.0\nc=1e+20\nd=1e-05\ne=0.0001\nf=1e+16\n"
	    "g=1000000000000000.0\nh=Infinity\ni=-Infinity\nj=NaN\nk=-0.0\n"
	    "l=0.1\nm=1.0\n");
	/* not numbers in YAML 1.1: no dot, or no exponent sign */
	EXPECT("c.yaml", "a: 1e5\nb: 1.0e5\nc: 0o17\nd: 08\n", NULL, NULL,
	    "a=1e5\nb=1.0e5\nc=0o17\nd=08\n");
}

Test(baseline_flatten, non_string_keys)
{
	/* json.dumps turns keys into strings: 1, true, null, 1.5 */
	EXPECT("c.yaml", "7: a\ntrue: b\n~: c\n1.5: d\n.inf: e\n", NULL, NULL,
	    "1.5=d\n7=a\nInfinity=e\nnull=c\ntrue=b\n");
	/* 1 and True are one dict key; the first key's form stays */
	EXPECT("c.yaml", "{1: a, true: b, 1.0: c}\n", NULL, NULL, "1=c\n");
	/* "1" and 1 are two dict keys but one JSON key: last value wins */
	EXPECT("c.yaml", "{'1': {a: 1}, 1: {b: 2}}\n", NULL, NULL, "1.b=2\n");
}

Test(baseline_flatten, collisions_follow_the_stack_order)
{
	/* _py_flatten pops the last child first: the first one written wins */
	EXPECT("c.yaml", "a.b: 1\na: {b: 2}\n", NULL, NULL, "a.b=1\n");
	EXPECT("c.yaml", "a: {b: 2}\na.b: 1\n", NULL, NULL, "a.b=2\n");
	/* an empty key segment: f"{pfx}.{key}" if pfx else str(key) */
	EXPECT("c.yaml", "'': {a: 1}\nb: {'': 2}\n", NULL, NULL,
	    "a=1\nb.=2\n");
}

/* ---- variables_map, sorting, merging files ------------------------------ */

Test(baseline_pipeline, variables_map)
{
	static const struct bl_pair vm[] = {
		{ "DB_HOST", "db.host" },	/* rename */
		{ "X", "missing" },		/* no-op */
		{ "DB2", "DB_HOST" },		/* chains on the renamed key */
		{ "port", "db.port" },		/* overwrites an existing key */
	};
	struct bl_rule r;
	char *got;

	bt_rule(&r);
	r.variables_map = vm;
	r.nvariables_map = 4;
	got = bt_run2(&r, "c.yaml", "db: {host: h, port: 1}\nport: 0\n");
	cr_expect_str_eq(got, "DB2=h\nport=1\n");
	free(got);
}

Test(baseline_pipeline, later_files_win_and_order_is_sorted)
{
	struct bl_rule r;
	struct kvmap *m = kvmap_new();
	char err[128];
	int sk;

	bt_rule(&r);
	cr_assert_eq(bl_build_file(m, &r, "a.yaml", "b: 1\na: 1\n", 10, &sk,
	    err, sizeof(err)), 0);
	cr_assert_str_eq(m->ents[0].key, "a");
	cr_assert_eq(bl_build_file(m, &r, "b.json", "{\"b\": 2, \"c\": 3}", 16,
	    &sk, err, sizeof(err)), 0);
	cr_assert_eq(kvmap_count(m), 3);
	cr_assert_str_eq(kvmap_gets(m, "b")->val, "2");
	/* a skipped file leaves the map alone */
	cr_assert_eq(bl_build_file(m, &r, "c.yaml", "{}", 2, &sk, err,
	    sizeof(err)), 0);
	cr_assert_eq(sk, 1);
	cr_assert_eq(kvmap_count(m), 3);
	kvmap_free(m);
}

/* ---- §2.3 key formats ----------------------------------------------------- */

static char *
fmt_run(enum bl_keyfmt kf, const char *prefix)
{
	struct bl_rule r;

	bt_rule(&r);
	r.key_format = kf;
	r.key_prefix = prefix;
	return bt_run2(&r, "c.yaml", "db: {host: h}\nx: 1\n");
}

#define EXPECT_FMT(kf, prefix, want) do {				\
	char *got_ = fmt_run((kf), (prefix));				\
	cr_expect_str_eq(got_, (want), "%d/%s", (int)(kf),		\
	    (prefix) ? (prefix) : "-");					\
	free(got_);							\
} while (0)

Test(baseline_keyformat, every_format_and_prefix)
{
	EXPECT_FMT(BL_KF_DOT, NULL, "db.host=h\nx=1\n");
	EXPECT_FMT(BL_KF_FLAT, NULL, "db_host=h\nx=1\n");
	EXPECT_FMT(BL_KF_SLASH, NULL, "/db/host=h\n/x=1\n");
	EXPECT_FMT(BL_KF_SLASH_DOT, NULL, ".db.host=h\n.x=1\n");
	/* "" is no prefix, as NULL */
	EXPECT_FMT(BL_KF_DOT, "", "db.host=h\nx=1\n");
	EXPECT_FMT(BL_KF_FLAT, "p", "p:db_host=h\np:x=1\n");
	EXPECT_FMT(BL_KF_DOT, "p", "p:db.host=h\np:x=1\n");
	EXPECT_FMT(BL_KF_SLASH, "a:b", "a:b:/db/host=h\na:b:/x=1\n");
}

Test(baseline_keyformat, parse)
{
	static const struct {
		const char	*name;
		int		 rc;
		enum bl_keyfmt	 f;
	} t[] = {
		{ "dot", 0, BL_KF_DOT }, { "flat", 0, BL_KF_FLAT },
		{ "slash", 0, BL_KF_SLASH }, { "slash_dot", 0, BL_KF_SLASH_DOT },
		{ " Dot ", 0, BL_KF_DOT }, { "SLASH_DOT", 0, BL_KF_SLASH_DOT },
		{ "nope", -1, 0 }, { "", -1, 0 }, { "slash-dot", -1, 0 },
		{ "dots", -1, 0 },
	};
	enum bl_keyfmt f;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f = BL_KF_DOT;
		cr_expect_eq(bl_key_format_parse(&f, t[i].name), t[i].rc, "%s",
		    t[i].name);
		if (t[i].rc == 0)
			cr_expect_eq(f, t[i].f, "%s", t[i].name);
	}
}

Test(baseline_keyformat, apply_and_collisions)
{
	char *s;
	size_t n;

	cr_assert_eq(bl_key_format_apply(&s, BL_KF_SLASH, "a.b.c", 5, &n), 0);
	cr_expect_str_eq(s, "/a/b/c");
	cr_expect_eq(n, 6);
	free(s);
	cr_assert_eq(bl_key_format_apply(&s, BL_KF_SLASH_DOT, "a.b", 3, &n),
	    0);
	cr_expect_str_eq(s, ".a.b");
	free(s);
	/* flat: "a.b" and "a_b" collide; the later in key order wins */
	EXPECT_FMT(BL_KF_FLAT, NULL, "db_host=h\nx=1\n");
	{
		struct bl_rule r;
		char *got;

		bt_rule(&r);
		r.key_format = BL_KF_FLAT;
		got = bt_run2(&r, "c.yaml", "a_b: 1\na: {b: 2}\n");
		cr_expect_str_eq(got, "a_b=1\n");	/* "a.b" < "a_b" */
		free(got);
	}
}

/* (templates, prefixes and env resolution are the supervisor's:
 * tests/unit/test_layout.c, test_conf.c) */

Test(baseline_api, detect_format)
{
	static const struct {
		const char	*path;
		enum bl_format	 fmt;
	} v[] = {
		{ "config/app.yaml", BL_FMT_YAML },
		{ "x.YML", BL_FMT_YAML },
		{ "package.json", BL_FMT_JSON },
		{ "appsettings.Production.json", BL_FMT_JSON },
		{ "a/b/.env", BL_FMT_KV },
		{ ".env.staging", BL_FMT_KV },
		{ "Dockerfile", BL_FMT_KV },
		{ "config.toml", BL_FMT_TOML },
		{ "web.config", BL_FMT_XML },
		{ "uwsgi.cfg", BL_FMT_INI },
		{ "variables.tfvars", BL_FMT_YAML },	/* "variables." prefix */
		{ "prod.tfvars", BL_FMT_KV },
		{ "database.toml", BL_FMT_YAML },	/* the surprises, §7.2 */
		{ "main.json", BL_FMT_HCL },
		{ "application.properties", BL_FMT_YAML },
		{ "settings.ini", BL_FMT_YAML },
		{ "a.json.bak", BL_FMT_JSON },		/* innermost known */
		{ "a.b.conf", BL_FMT_INI },
		{ "x.jsonc", BL_FMT_JSON },
		{ "some_unknown_file", BL_FMT_SNIFF },
		{ ".json", BL_FMT_SNIFF },		/* no suffix */
		{ "archive.tar.gz", BL_FMT_SNIFF },
		{ "trailing.", BL_FMT_SNIFF },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_expect_eq(bl_detect_format(v[i].path), v[i].fmt, "%s",
		    v[i].path);
}

Test(baseline_api, unsupported_formats)
{
	char *got;

	got = bt_run("config.toml", "a = 1\n", NULL, NULL);
	cr_expect(strstr(got, "format not supported by the watcher") != NULL,
	    "%s", got);
	free(got);
	got = bt_run("x.xml", "<a/>", NULL, NULL);
	cr_expect(strstr(got, "format not supported by the watcher") != NULL,
	    "%s", got);
	free(got);
	got = bt_run("main.tf", "a = 1\n", NULL, NULL);
	cr_expect(strstr(got, "format not supported by the watcher") != NULL,
	    "%s", got);
	free(got);
}
