/*
 * Baseline library: hostile files. Each must fail with a clear message,
 * fast and in bounded memory: alias bombs, deep nesting, oversized input,
 * invalid UTF-8, the configurable limits, and random junk.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "baseline.h"

/* helpers from test_baseline.c */
void	 bt_rule(struct bl_rule *);
char	*bt_flat(const struct bl_rule *, const char *, const char *, size_t);

#define HOSTILE_MAX_SEC		1.0
#define HOSTILE_MAX_RSS_KB	(96L * 1024)

static int
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * Run one hostile file with rule r: it must fail, the message must
 * contain `part`, and (outside valgrind) it must be quick and small.
 */
static void
expect_rejected(const struct bl_rule *r, const char *path, const char *data,
    size_t len, const char *part)
{
	struct kvmap *m = kvmap_new();
	char err[512];
	double t0, dt;
	long rss0, rss1;
	int sk = 0, rc;

	cr_assert_not_null(m);
	rss0 = rss_kb();
	t0 = now();
	rc = bl_build_file(m, r, path, data, len, &sk, err, sizeof(err));
	dt = now() - t0;
	rss1 = rss_kb();
	cr_expect_eq(rc, -1, "%s accepted", path);
	cr_expect_eq(kvmap_count(m), 0);
	cr_expect(strncmp(err, path, strlen(path)) == 0, "message does not "
	    "name the file: %s", err);
	cr_expect(strstr(err, part) != NULL, "'%s' not in: %s", part, err);
	if (!under_valgrind()) {
		cr_expect(dt < HOSTILE_MAX_SEC, "%s took %.3fs", path, dt);
		cr_expect(rss1 - rss0 < HOSTILE_MAX_RSS_KB, "%s grew rss by "
		    "%ld KiB", path, rss1 - rss0);
	}
	kvmap_free(m);
}

static void
rejected(const char *path, const char *data, size_t len, const char *part)
{
	struct bl_rule r;

	bt_rule(&r);
	expect_rejected(&r, path, data, len, part);
}

/* ---- alias and merge bombs ------------------------------------------------ */

Test(baseline_hostile, billion_laughs)
{
	char *doc = malloc(4096);
	size_t o = 0;
	int i, j;

	cr_assert_not_null(doc);
	o += (size_t)sprintf(doc + o, "a0: &a0 [lol, lol, lol, lol, lol, lol, "
	    "lol, lol, lol, lol]\n");
	for (i = 1; i <= 9; i++) {
		o += (size_t)sprintf(doc + o, "a%d: &a%d [", i, i);
		for (j = 0; j < 10; j++)
			o += (size_t)sprintf(doc + o, "%s*a%d", j ? ", " : "",
			    i - 1);
		o += (size_t)sprintf(doc + o, "]\n");
	}
	rejected("bomb.yaml", doc, o, "expand to more than");
	free(doc);
}

Test(baseline_hostile, billion_laughs_of_empty_lists)
{
	/* no keys at all, but 10^10 values to walk */
	char *doc = malloc(4096);
	size_t o = 0;
	int i, j;

	cr_assert_not_null(doc);
	o += (size_t)sprintf(doc + o, "a0: &a0 [[], [], [], [], [], [], [], "
	    "[], [], []]\n");
	for (i = 1; i <= 9; i++) {
		o += (size_t)sprintf(doc + o, "a%d: &a%d {", i, i);
		for (j = 0; j < 10; j++)
			o += (size_t)sprintf(doc + o, "%sk%d: *a%d", j ? ", " : "",
			    j, i - 1);
		o += (size_t)sprintf(doc + o, "}\n");
	}
	rejected("bomb.yml", doc, o, "expand to more than");
	free(doc);
}

Test(baseline_hostile, bomb_outside_the_selected_part_is_harmless)
{
	/* PyYAML builds it by reference; json.dumps never sees it */
	char *doc = malloc(4096), *got;
	size_t o = 0;
	int i, j;
	struct bl_rule r;

	cr_assert_not_null(doc);
	o += (size_t)sprintf(doc + o, "vartrack: {ok: 1}\n"
	    "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (i = 1; i <= 9; i++) {
		o += (size_t)sprintf(doc + o, "a%d: &a%d [", i, i);
		for (j = 0; j < 10; j++)
			o += (size_t)sprintf(doc + o, "%s*a%d", j ? ", " : "",
			    i - 1);
		o += (size_t)sprintf(doc + o, "]\n");
	}
	bt_rule(&r);
	got = bt_flat(&r, "ok.yaml", doc, o);
	cr_expect_str_eq(got, "ok=1\n");
	free(got);
	free(doc);
}

Test(baseline_hostile, merge_key_bomb)
{
	size_t cap = 1 << 20, o = 0;
	char *doc = malloc(cap);
	int i, j;

	cr_assert_not_null(doc);
	o += (size_t)sprintf(doc + o, "b: &b {");
	for (i = 0; i < 2000; i++)
		o += (size_t)sprintf(doc + o, "%sk%d: 1", i ? ", " : "", i);
	o += (size_t)sprintf(doc + o, "}\n");
	for (i = 0; i < 100; i++) {
		o += (size_t)sprintf(doc + o, "m%d: {<<: [", i);
		for (j = 0; j < 20; j++)
			o += (size_t)sprintf(doc + o, "%s*b", j ? ", " : "");
		o += (size_t)sprintf(doc + o, "]}\n");
	}
	cr_assert(o < cap);
	rejected("merge.yaml", doc, o, "merge keys");
	free(doc);
}

Test(baseline_hostile, long_alias_chains)
{
	/*
	 * Aliases nest without nesting the text: a 200-deep chain is fine
	 * (iterative, no recursion); 5000 deep is over max_depth once
	 * expanded (json.dumps itself would hit Python's recursion limit).
	 */
	size_t cap = 1 << 20, o = 0;
	char *doc = malloc(cap), *got;
	struct bl_rule r;
	int i;

	cr_assert_not_null(doc);
	o += (size_t)sprintf(doc + o, "a0: &a0 [end]\n");
	for (i = 1; i < 5000; i++)
		o += (size_t)sprintf(doc + o, "a%d: &a%d [*a%d]\n", i, i, i - 1);
	bt_rule(&r);
	r.root_key = "ok";
	sprintf(doc + o, "ok: *a199\n");
	got = bt_flat(&r, "chain.yaml", doc, strlen(doc));
	/* one key: "0.0.0....0" with 200 segments */
	cr_expect_eq(strlen(got), 200 * 2 - 1 + strlen("=end\n"));
	cr_expect(strncmp(got, "0.0.0.0.", 8) == 0, "%.40s", got);
	cr_expect(strcmp(got + strlen(got) - 7, ".0=end\n") == 0);
	free(got);
	sprintf(doc + o, "ok: *a4999\n");
	expect_rejected(&r, "chain.yaml", doc, strlen(doc),
	    "once aliases are expanded");
	free(doc);
}

/* ---- deep nesting --------------------------------------------------------- */

static char *
nest(const char *open, const char *mid, const char *close, size_t depth,
    size_t *len)
{
	size_t ol = strlen(open), ml = strlen(mid), cl = strlen(close), i, o = 0;
	char *s = malloc(depth * (ol + cl) + ml + 1);

	cr_assert_not_null(s);
	for (i = 0; i < depth; i++, o += ol)
		memcpy(s + o, open, ol);
	memcpy(s + o, mid, ml);
	o += ml;
	for (i = 0; i < depth; i++, o += cl)
		memcpy(s + o, close, cl);
	s[o] = '\0';
	*len = o;
	return s;
}

Test(baseline_hostile, deep_flow_sequences)
{
	size_t len;
	char *s = nest("[", "", "]", 100000, &len);

	rejected("deep.yaml", s, len, "nesting deeper than 256 levels");
	rejected("deep.json", s, len, "nesting deeper than 256 levels");
	rejected("deep", s, len, "nesting deeper than 256 levels");
	free(s);
}

Test(baseline_hostile, deep_flow_mappings)
{
	size_t len;
	char *s = nest("{a: ", "1", "}", 100000, &len), *j;

	rejected("deep.yaml", s, len, "deep.yaml:1:");
	rejected("deep.yaml", s, len, "max_depth");
	free(s);
	j = nest("{\"a\": ", "1", "}", 100000, &len);
	rejected("deep.json", j, len, "max_depth");
	free(j);
}

Test(baseline_hostile, deep_block_mapping_and_custom_depth)
{
	struct bl_rule r;
	char doc[4096];
	size_t o = 0;
	int i;

	for (i = 0; i < 40; i++)
		o += (size_t)sprintf(doc + o, "%*sa:\n", i, "");
	o += (size_t)sprintf(doc + o, "%*sb: 1\n", 40, "");
	bt_rule(&r);
	r.limits.max_depth = 16;
	expect_rejected(&r, "d.yaml", doc, o, "deeper than 16 levels");
	r.limits.max_depth = 64;
	{
		char *got = bt_flat(&r, "d.yaml", doc, o);

		cr_expect(strstr(got, "a.a.a.") == got, "%.40s", got);
		free(got);
	}
}

/* ---- size and encoding ---------------------------------------------------- */

Test(baseline_hostile, fifty_mebibytes)
{
	size_t len = 50u * 1024 * 1024;
	char *s = malloc(len);

	cr_assert_not_null(s);
	memset(s, 'a', len);
	rejected("big.yaml", s, len, "more than max_file_bytes (16777216)");
	rejected("big.json", s, len, "max_file_bytes");
	free(s);
}

Test(baseline_hostile, custom_size_and_key_limits)
{
	struct bl_rule r;

	bt_rule(&r);
	r.limits.max_file_bytes = 8;
	expect_rejected(&r, "a.yaml", "a: 1\nb: 2\n", 10, "max_file_bytes (8)");
	bt_rule(&r);
	r.limits.max_keys = 3;
	expect_rejected(&r, "a.yaml", "a: 1\nb: 2\nc: 3\nd: 4\n", 20,
	    "more than 3 keys");
	expect_rejected(&r, "a.env", "a=1\nb=2\nc=3\nd=4\n", 16,
	    "more than 3 keys");
	bt_rule(&r);
	r.limits.max_output_bytes = 10;
	expect_rejected(&r, "a.yaml", "key: 0123456789\n", 16,
	    "max_output_bytes");
}

Test(baseline_hostile, invalid_utf8)
{
	static const struct {
		const char	*data;
		const char	*where;
	} v[] = {
		{ "a: 1\nb: \xc3\x28\n", "u.yaml:2:4: invalid UTF-8 at byte "
		    "offset 8" },
		{ "\x80", "u.yaml:1:1: invalid UTF-8 at byte offset 0" },
		{ "a: \xc0\xaf", "offset 3" },		/* overlong */
		{ "a: \xed\xa0\x80", "offset 3" },	/* surrogate */
		{ "a: \xf4\x90\x80\x80", "offset 3" },	/* > U+10FFFF */
		{ "a: \xe2\x82", "offset 3" },		/* truncated */
		{ "\xc3\xa9\xc3\xa9: \xff", "u.yaml:1:5:" },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		rejected("u.yaml", v[i].data, strlen(v[i].data), v[i].where);
	rejected("u.json", "{\"a\": \"\xff\"}", 10, "invalid UTF-8");
	rejected("u.env", "A=\xfe\n", 4, "invalid UTF-8");
	rejected("u.ini", "[s]\nA=\xfe\n", 8, "u.ini:2:3:");
}

Test(baseline_hostile, control_characters_and_nul)
{
	rejected("n.yaml", "a: b\0c\n", 7, "n.yaml:1:");
	rejected("n.json", "{\"a\": \"b\0\"}", 11, "invalid JSON");
	/* a NUL escape makes a NUL byte, allowed in values, not in keys */
	rejected("n.yaml", "\"a\\0b\": 1\n", 10, "NUL");
}

Test(baseline_hostile, huge_integers)
{
	size_t len, i;
	char *s;

	/* a 100k-digit hex literal: Python cannot print it */
	len = 3 + 2 + 100000;
	s = malloc(len + 1);
	cr_assert_not_null(s);
	memcpy(s, "a: 0x", 5);
	for (i = 5; i < len; i++)
		s[i] = 'f';
	rejected("h.yaml", s, len, "more than 4300 digits");
	/* a 5000-digit decimal: int() refuses it while constructing */
	len = 3 + 5000;
	memcpy(s, "a: ", 3);
	for (i = 3; i < len; i++)
		s[i] = '7';
	rejected("h.yaml", s, len, "more than 4300 digits");
	free(s);
}

/* ---- random junk: never crash, always a verdict with a message ------------ */

Test(baseline_hostile, random_junk)
{
	static const char *const paths[] = { "j.yaml", "j.json", "j.jsonc",
	    ".env", "j.ini", "junk" };
	static const char alphabet[] = "{}[]:,-?&*!|>'\"#%@`=;. \t\n\r\\"
	    "abcxyz0189<eE+_~/";
	struct bl_rule r;
	struct kvmap *m;
	unsigned seed = 12345;
	char buf[256], err[256];
	size_t i, n, p;
	int k, sk, rc;

	bt_rule(&r);
	r.env = "prod";
	for (k = 0; k < 3000; k++) {
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(buf);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
			m = kvmap_new();
			err[0] = '\0';
			rc = bl_build_file(m, &r, paths[p], buf, n, &sk, err,
			    sizeof(err));
			cr_assert(rc == 0 || (rc == -1 && err[0] != '\0'),
			    "%s: no verdict", paths[p]);
			kvmap_free(m);
		}
	}
}
