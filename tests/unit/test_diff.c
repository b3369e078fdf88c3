/*
 * diff: classification, ordering, truncated values, scale, and the drift
 * log fragment (golden strings: truncation at 256 bytes, escaping,
 * redaction, max_keys).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff.h"

struct fx {
	struct kvmap	*exp, *act, *ext, *err;
	struct diff_input in;
};

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->exp = kvmap_new();
	f->act = kvmap_new();
	f->ext = kvmap_new();
	f->err = kvmap_new();
	cr_assert(f->exp && f->act && f->ext && f->err);
	f->in.expected = f->exp;
	f->in.actual = f->act;
	f->in.extra = f->ext;
	f->in.errors = f->err;
}

static void
fx_fini(struct fx *f)
{
	kvmap_free(f->exp);
	kvmap_free(f->act);
	kvmap_free(f->ext);
	kvmap_free(f->err);
}

static struct diff_result *
run(struct fx *f)
{
	struct diff_result *r = NULL;

	cr_assert_eq(diff_compute(&r, &f->in), 0);
	cr_assert_not_null(r);
	return r;
}

static char *
fragment(const struct diff_result *r, const struct diff_redact *rd,
    size_t max_keys)
{
	struct jbuf b;

	jbuf_init(&b);
	cr_assert_eq(diff_format_log(r, rd, &b, max_keys), 0);
	return b.p;	/* caller frees */
}

static void
assert_fragment(const struct diff_result *r, const struct diff_redact *rd,
    size_t max_keys, const char *want)
{
	char *got = fragment(r, rd, max_keys);

	cr_assert_str_eq(got, want, "got:  %s\nwant: %s", got, want);
	free(got);
}

static int
key_is(const struct diff_entry *e, const char *k)
{
	return e->keylen == strlen(k) && memcmp(e->key, k, e->keylen) == 0;
}

Test(diff, no_diff)
{
	struct fx f;
	struct diff_result *r;

	fx_init(&f);
	kvmap_puts(f.exp, "a", "1");
	kvmap_puts(f.exp, "b", "");
	kvmap_puts(f.act, "b", "");
	kvmap_puts(f.act, "a", "1");
	r = run(&f);
	cr_assert_eq(r->nchanged + r->nmissing + r->nextra + r->nunknown, 0);
	cr_assert_eq(r->nequal, 2);
	cr_assert_eq(diff_ndrifted(r), 0);
	assert_fragment(r, NULL, 50,
	    ",\"changed\":0,\"missing\":0,\"extra\":0,\"keys\":[]");
	diff_free(r);
	fx_fini(&f);
}

Test(diff, spec_example_changed)
{
	struct fx f;
	struct diff_result *r;

	fx_init(&f);
	kvmap_puts(f.exp, "max_connections", "50");
	kvmap_puts(f.exp, "timeout", "30");
	kvmap_puts(f.act, "max_connections", "5");
	kvmap_puts(f.act, "timeout", "30");
	r = run(&f);
	cr_assert_eq(r->nchanged, 1);
	cr_assert_eq(r->nequal, 1);
	cr_assert(key_is(&r->changed[0], "max_connections"));
	cr_assert_eq(r->changed[0].kind, DIFF_CHANGED);
	assert_fragment(r, NULL, 50,
	    ",\"changed\":1,\"missing\":0,\"extra\":0,\"keys\":["
	    "{\"key\":\"max_connections\",\"change\":\"changed\","
	    "\"expected\":\"50\",\"actual\":\"5\"}]");
	diff_free(r);
	fx_fini(&f);
}

Test(diff, changed_missing_extra_sorted)
{
	struct fx f;
	struct diff_result *r;

	fx_init(&f);
	/* insertion order deliberately unsorted */
	kvmap_puts(f.exp, "z.changed", "1");
	kvmap_puts(f.exp, "b.missing", "m");
	kvmap_puts(f.exp, "a.changed", "x");
	kvmap_puts(f.exp, "same", "s");
	kvmap_puts(f.exp, "a.missing", "n");
	kvmap_puts(f.act, "same", "s");
	kvmap_puts(f.act, "z.changed", "2");
	kvmap_puts(f.act, "a.changed", "y");
	/* unrequested key in actual: extra */
	kvmap_puts(f.act, "q.extra", "from-actual");
	kvmap_puts(f.ext, "c.extra", "c");
	kvmap_puts(f.ext, "b.extra", "b");
	/* expected key reported as extra: ignored */
	kvmap_puts(f.ext, "same", "other");
	/* in both actual and extra: listed once, from actual */
	kvmap_puts(f.ext, "q.extra", "from-extra");
	r = run(&f);
	cr_assert_eq(r->nchanged, 2);
	cr_assert_eq(r->nmissing, 2);
	cr_assert_eq(r->nextra, 3);
	cr_assert_eq(r->nunknown, 0);
	cr_assert_eq(r->nequal, 1);
	cr_assert_eq(diff_ndrifted(r), 7);
	cr_assert(key_is(&r->changed[0], "a.changed"));
	cr_assert(key_is(&r->changed[1], "z.changed"));
	cr_assert(key_is(&r->missing[0], "a.missing"));
	cr_assert(key_is(&r->missing[1], "b.missing"));
	cr_assert(key_is(&r->extra[0], "b.extra"));
	cr_assert(key_is(&r->extra[1], "c.extra"));
	cr_assert(key_is(&r->extra[2], "q.extra"));
	cr_assert_null(r->missing[0].actual);
	cr_assert_null(r->extra[0].expected);
	assert_fragment(r, NULL, 50,
	    ",\"changed\":2,\"missing\":2,\"extra\":3,\"keys\":["
	    "{\"key\":\"a.changed\",\"change\":\"changed\",\"expected\":\"x\","
	    "\"actual\":\"y\"},"
	    "{\"key\":\"z.changed\",\"change\":\"changed\",\"expected\":\"1\","
	    "\"actual\":\"2\"},"
	    "{\"key\":\"a.missing\",\"change\":\"missing\",\"expected\":\"n\"},"
	    "{\"key\":\"b.missing\",\"change\":\"missing\",\"expected\":\"m\"},"
	    "{\"key\":\"b.extra\",\"change\":\"extra\",\"actual\":\"b\"},"
	    "{\"key\":\"c.extra\",\"change\":\"extra\",\"actual\":\"c\"},"
	    "{\"key\":\"q.extra\",\"change\":\"extra\","
	    "\"actual\":\"from-actual\"}]");
	assert_fragment(r, NULL, 3,
	    ",\"changed\":2,\"missing\":2,\"extra\":3,\"keys\":["
	    "{\"key\":\"a.changed\",\"change\":\"changed\",\"expected\":\"x\","
	    "\"actual\":\"y\"},"
	    "{\"key\":\"z.changed\",\"change\":\"changed\",\"expected\":\"1\","
	    "\"actual\":\"2\"},"
	    "{\"key\":\"a.missing\",\"change\":\"missing\",\"expected\":\"n\"}"
	    "],\"keys_truncated\":4");
	assert_fragment(r, NULL, 0,
	    ",\"changed\":2,\"missing\":2,\"extra\":3,\"keys\":[],"
	    "\"keys_truncated\":7");
	diff_free(r);
	fx_fini(&f);
}

Test(diff, key_order_is_bytewise_prefix_first)
{
	struct fx f;
	struct diff_result *r;

	fx_init(&f);
	kvmap_puts(f.exp, "ab", "1");
	kvmap_puts(f.exp, "a", "1");
	kvmap_puts(f.exp, "B", "1");
	kvmap_puts(f.exp, "\xc3\xa9", "1");
	kvmap_puts(f.exp, "a.b", "1");
	r = run(&f);
	cr_assert_eq(r->nmissing, 5);
	cr_assert(key_is(&r->missing[0], "B"));
	cr_assert(key_is(&r->missing[1], "a"));
	cr_assert(key_is(&r->missing[2], "a.b"));
	cr_assert(key_is(&r->missing[3], "ab"));
	cr_assert(key_is(&r->missing[4], "\xc3\xa9"));
	diff_free(r);
	fx_fini(&f);
}

Test(diff, binary_safe_values)
{
	struct fx f;
	struct diff_result *r;

	fx_init(&f);
	kvmap_put(f.exp, "bin", 3, "a\0b", 3);
	kvmap_put(f.act, "bin", 3, "a\0c", 3);
	kvmap_put(f.exp, "same", 4, "x\0y", 3);
	kvmap_put(f.act, "same", 4, "x\0y", 3);
	kvmap_put(f.exp, "len", 3, "x", 1);
	kvmap_put(f.act, "len", 3, "x\0", 2);
	r = run(&f);
	cr_assert_eq(r->nchanged, 2);
	cr_assert_eq(r->nequal, 1);
	assert_fragment(r, NULL, 10,
	    ",\"changed\":2,\"missing\":0,\"extra\":0,\"keys\":["
	    "{\"key\":\"bin\",\"change\":\"changed\",\"expected\":\"a\\u0000b\","
	    "\"actual\":\"a\\u0000c\"},"
	    "{\"key\":\"len\",\"change\":\"changed\",\"expected\":\"x\","
	    "\"actual\":\"x\\u0000\"}]");
	diff_free(r);
	fx_fini(&f);
}

Test(diff, read_errors_are_unknown_not_missing)
{
	struct fx f;
	struct diff_result *r;

	fx_init(&f);
	kvmap_puts(f.exp, "a", "1");
	kvmap_puts(f.exp, "b", "2");
	kvmap_puts(f.exp, "c", "3");
	kvmap_puts(f.act, "c", "3");
	kvmap_puts(f.err, "b", "WRONGTYPE Operation against a key");
	/* an error for a key that was also read: the value wins */
	kvmap_puts(f.err, "c", "stale error");
	r = run(&f);
	cr_assert_eq(r->nmissing, 1);
	cr_assert_eq(r->nunknown, 1);
	cr_assert_eq(r->nequal, 1);
	cr_assert_eq(diff_ndrifted(r), 1);
	cr_assert(key_is(&r->unknown[0], "b"));
	assert_fragment(r, NULL, 10,
	    ",\"changed\":0,\"missing\":1,\"extra\":0,\"unknown\":1,\"keys\":["
	    "{\"key\":\"a\",\"change\":\"missing\",\"expected\":\"1\"},"
	    "{\"key\":\"b\",\"change\":\"unknown\",\"expected\":\"2\","
	    "\"error\":\"WRONGTYPE Operation against a key\"}]");
	diff_free(r);
	fx_fini(&f);
}

Test(diff, absent_marker_in_actual_is_missing)
{
	struct fx f;
	struct diff_result *r;
	struct kv_entry *e;

	fx_init(&f);
	kvmap_puts(f.exp, "a", "1");
	kvmap_puts(f.act, "a", "1");
	kvmap_puts(f.act, "zz", "x");
	/* what kvmap_put_absent() produces: val == NULL */
	e = &f.act->ents[0];		/* "a" */
	free(e->val);
	e->val = NULL;
	e->vallen = 0;
	e = &f.act->ents[1];		/* "zz" */
	free(e->val);
	e->val = NULL;
	e->vallen = 0;
	r = run(&f);
	cr_assert_eq(r->nmissing, 1);
	cr_assert_eq(r->nextra, 0);
	diff_free(r);
	fx_fini(&f);
}

Test(diff, optional_inputs_may_be_null)
{
	struct fx f;
	struct diff_result *r = (struct diff_result *)1;

	fx_init(&f);
	f.in.extra = NULL;
	f.in.errors = NULL;
	kvmap_puts(f.exp, "a", "1");
	r = run(&f);
	cr_assert_eq(r->nmissing, 1);
	diff_free(r);
	f.in.actual = NULL;
	cr_assert_eq(diff_compute(&r, &f.in), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(r);
	cr_assert_eq(diff_compute(&r, NULL), -1);
	fx_fini(&f);
}

/* ---- truncated actual values ---- */

static char *
big_value(size_t n, char fill)
{
	char *v = malloc(n);
	size_t i;

	cr_assert_not_null(v);
	for (i = 0; i < n; i++)
		v[i] = (char)(fill + (char)(i % 7));
	return v;
}

static struct diff_trunc
mark(const char *key, uint64_t full_len, const char *v, size_t vlen)
{
	struct diff_trunc t;

	memset(&t, 0, sizeof(t));
	t.key = key;
	t.keylen = strlen(key);
	t.full_len = full_len;
	vtw_digest(v, vlen, t.digest);
	return t;
}

Test(diff, truncated_value_compare)
{
	const size_t full = 300000, pre = 1024;
	struct fx f;
	struct diff_result *r;
	struct diff_trunc t[5];
	char *v = big_value(full, 'a'), *w = big_value(full, 'a');

	fx_init(&f);
	w[full - 1] = '#';	/* differs after the prefix */
	/* equal: same length, same digest, prefix matches */
	kvmap_put(f.exp, "eq", 2, v, full);
	kvmap_put(f.act, "eq", 2, v, pre);
	t[0] = mark("eq", full, v, full);
	/* same prefix, different tail: digest differs */
	kvmap_put(f.exp, "tail", 4, w, full);
	kvmap_put(f.act, "tail", 4, v, pre);
	t[1] = mark("tail", full, v, full);
	/* same digest claimed but a different full length */
	kvmap_put(f.exp, "len", 3, v, full - 1);
	kvmap_put(f.act, "len", 3, v, pre);
	t[2] = mark("len", full, v, full);
	/* digest and length match but the prefix does not */
	kvmap_put(f.exp, "pfx", 3, v, full);
	kvmap_put(f.act, "pfx", 3, w + 1, pre);
	t[3] = mark("pfx", full, v, full);
	/* a marker for a key in neither map is ignored */
	t[4] = mark("nokey", 1, "", 0);
	f.in.trunc = t;
	f.in.ntrunc = 5;
	r = run(&f);
	cr_assert_eq(r->nequal, 1);
	cr_assert_eq(r->nchanged, 3);
	cr_assert(key_is(&r->changed[0], "len"));
	cr_assert(key_is(&r->changed[1], "pfx"));
	cr_assert(key_is(&r->changed[2], "tail"));
	cr_assert_eq(r->changed[2].actual_len, pre);
	cr_assert_eq(r->changed[2].actual_full_len, full);
	cr_assert_eq(r->changed[2].expected_len, full);
	cr_assert_not_null(r->changed[2].actual_digest);
	diff_free(r);
	fx_fini(&f);
	free(v);
	free(w);
}

/*
 * The digest is SHA-256 of the whole value: a marker carrying the FNV-1a 64
 * of the value (what the workers sent before) matches nothing, and two
 * values of one length and prefix that differ in their last byte differ.
 */
Test(diff, truncated_digest_is_sha256)
{
	const size_t full = 300000;
	char *v = big_value(full, 'a'), *w = big_value(full, 'a');
	struct diff_trunc t, fnv;
	uint64_t h = kv_fnv1a64(v, full);

	w[full - 1] ^= 1;
	t = mark("k", full, v, full);
	cr_assert(diff_value_eq(v, full, NULL, v, 1000, &t));
	cr_assert_not(diff_value_eq(w, full, NULL, v, 1000, &t));
	cr_assert(diff_value_eq(v, 1000, &t, v, full, NULL));
	cr_assert_not(diff_value_eq(v, 1000, &t, w, full, NULL));
	memset(&fnv, 0, sizeof(fnv));
	fnv.full_len = full;
	memcpy(fnv.digest, &h, sizeof(h));
	cr_assert_not(diff_value_eq(v, full, NULL, v, 1000, &fnv));
	free(v);
	free(w);
}

/* A Git value the git worker truncated (exp_trunc) against what was read. */
Test(diff, truncated_expected_compare)
{
	const size_t full = 1100000, gpre = 262144, dpre = 262144;
	struct fx f;
	struct diff_result *r;
	struct diff_trunc et[5], at[2];
	char *v = big_value(full, 'A'), *w = big_value(full, 'A');

	fx_init(&f);
	w[full - 1] = '#';	/* one byte differs, at the end */
	/* live value whole and equal */
	kvmap_put(f.exp, "eq", 2, v, gpre);
	kvmap_put(f.act, "eq", 2, v, full);
	et[0] = mark("eq", full, v, full);
	/* live value whole, last byte differs */
	kvmap_put(f.exp, "tail", 4, v, gpre);
	kvmap_put(f.act, "tail", 4, w, full);
	et[1] = mark("tail", full, v, full);
	/* live value whole and of the prefix's length: not equal */
	kvmap_put(f.exp, "short", 5, v, gpre);
	kvmap_put(f.act, "short", 5, v, gpre);
	et[2] = mark("short", full, v, full);
	/* both truncated, digests agree */
	kvmap_put(f.exp, "both", 4, v, gpre - 1);
	kvmap_put(f.act, "both", 4, v, dpre);
	et[3] = mark("both", full, v, full);
	at[0] = mark("both", full, v, full);
	/* both truncated, same length and prefix, digests differ */
	kvmap_put(f.exp, "both2", 5, v, gpre);
	kvmap_put(f.act, "both2", 5, w, dpre);
	et[4] = mark("both2", full, v, full);
	at[1] = mark("both2", full, w, full);
	f.in.exp_trunc = et;
	f.in.nexp_trunc = 5;
	f.in.trunc = at;
	f.in.ntrunc = 2;
	r = run(&f);
	cr_assert_eq(r->nequal, 2);
	cr_assert_eq(r->nchanged, 3);
	cr_assert(key_is(&r->changed[0], "both2"));
	cr_assert(key_is(&r->changed[1], "short"));
	cr_assert(key_is(&r->changed[2], "tail"));
	cr_assert_eq(r->changed[2].expected_len, gpre);
	cr_assert_eq(r->changed[2].expected_full_len, full);
	{
		char *frag = fragment(r, NULL, 10);
		char want[64];

		snprintf(want, sizeof(want), "\u2026(%zu bytes)", full);
		/* the expected value shows its full length */
		cr_assert_not_null(strstr(frag, want), "%s", frag);
		free(frag);
	}
	diff_free(r);
	fx_fini(&f);
	free(v);
	free(w);
}

Test(diff, truncated_value_in_log)
{
	struct fx f;
	struct diff_result *r;
	struct diff_trunc t[2];
	char exp_s[300], act_s[300], want[2048], a256[257], b256[257];

	fx_init(&f);
	memset(exp_s, 'e', sizeof(exp_s));
	memset(act_s, 'a', sizeof(act_s));
	memset(a256, 'a', 256);
	a256[256] = '\0';
	memset(b256, 'e', 256);
	b256[256] = '\0';
	/* worker sent 300 bytes of a 500000-byte value */
	kvmap_put(f.exp, "k", 1, exp_s, 300);
	kvmap_put(f.act, "k", 1, act_s, 300);
	t[0] = mark("k", 500000, "", 0);
	/* worker sent 5 bytes of a 400000-byte extra value */
	kvmap_put(f.ext, "x", 1, "hello", 5);
	t[1] = mark("x", 400000, "", 0);
	f.in.trunc = t;
	f.in.ntrunc = 2;
	r = run(&f);
	cr_assert_eq(r->nchanged, 1);
	cr_assert_eq(r->nextra, 1);
	cr_assert_eq(r->extra[0].actual_full_len, 400000);
	snprintf(want, sizeof(want),
	    ",\"changed\":1,\"missing\":0,\"extra\":1,\"keys\":["
	    "{\"key\":\"k\",\"change\":\"changed\","
	    "\"expected\":\"%s\u2026(300 bytes)\","
	    "\"actual\":\"%s\u2026(500000 bytes)\"},"
	    "{\"key\":\"x\",\"change\":\"extra\","
	    "\"actual\":\"hello\u2026(400000 bytes)\"}]", b256, a256);
	assert_fragment(r, NULL, 10, want);
	diff_free(r);
	fx_fini(&f);
}

/* ---- log fragment details ---- */

Test(diff, log_value_truncated_at_256_bytes)
{
	struct fx f;
	struct diff_result *r;
	char v256[256], v257[257], want[2048], s256[257];

	fx_init(&f);
	memset(v256, 'x', sizeof(v256));
	memset(v257, 'y', sizeof(v257));
	memset(s256, 'y', 256);
	s256[256] = '\0';
	kvmap_put(f.exp, "a", 1, v256, 256);	/* exactly 256: whole */
	kvmap_put(f.exp, "b", 1, v257, 257);	/* 257: truncated */
	r = run(&f);
	snprintf(want, sizeof(want),
	    ",\"changed\":0,\"missing\":2,\"extra\":0,\"keys\":["
	    "{\"key\":\"a\",\"change\":\"missing\",\"expected\":\"%.256s\"},"
	    "{\"key\":\"b\",\"change\":\"missing\","
	    "\"expected\":\"%s\u2026(257 bytes)\"}]", v256, s256);
	assert_fragment(r, NULL, 10, want);
	diff_free(r);
	fx_fini(&f);
}

Test(diff, log_escapes_control_chars_and_bad_utf8)
{
	struct fx f;
	struct diff_result *r;

	fx_init(&f);
	kvmap_puts(f.exp, "k\"ey\n", "a\x01" "b\tc\nd\r\x1b[31m\x7f\"\\");
	kvmap_puts(f.act, "k\"ey\n", "caf\xc3\xa9 \xff\xfe \xe2\x82");
	r = run(&f);
	assert_fragment(r, NULL, 10,
	    ",\"changed\":1,\"missing\":0,\"extra\":0,\"keys\":["
	    "{\"key\":\"k\\\"ey\\n\",\"change\":\"changed\","
	    "\"expected\":\"a\\u0001b\\tc\\nd\\r\\u001b[31m\\u007f\\\"\\\\\","
	    "\"actual\":\"caf\xc3\xa9 \\\\xff\\\\xfe \\\\xe2\\\\x82\"}]");
	diff_free(r);
	fx_fini(&f);
}

Test(diff, log_long_key_capped)
{
	struct fx f;
	struct diff_result *r;
	char key[600];
	char *got;

	fx_init(&f);
	memset(key, 'k', sizeof(key));
	kvmap_put(f.ext, key, sizeof(key), "v", 1);
	r = run(&f);
	got = fragment(r, NULL, 10);
	cr_assert_not_null(strstr(got, "k\u2026(600 bytes)\",\"change\""));
	free(got);
	diff_free(r);
	fx_fini(&f);
}

/* redact.h rule 5: URL userinfo, whatever the key, in values and errors */
Test(diff, log_redacts_url_userinfo_in_values)
{
	struct fx f;
	struct diff_result *r;

	fx_init(&f);
	kvmap_puts(f.exp, "db.dsn", "postgres://user:pw@host/db");
	kvmap_puts(f.act, "db.dsn", "postgres://user:pw2@host/db");
	r = run(&f);
	assert_fragment(r, NULL, 10,
	    ",\"changed\":1,\"missing\":0,\"extra\":0,\"keys\":["
	    "{\"key\":\"db.dsn\",\"change\":\"changed\","
	    "\"expected\":\"postgres://<redacted>@host/db\","
	    "\"actual\":\"postgres://<redacted>@host/db\"}]");
	diff_free(r);
	fx_fini(&f);
}

Test(diff, log_redacts_secret_values)
{
	struct fx f;
	struct diff_result *r;
	const char *const sens[] = { "DSN_*", "vartrack:kv:exact" };
	struct diff_redact rd = { sens, 2, 0, NULL, 0 };

	fx_init(&f);
	kvmap_puts(f.exp, "database.password", "hunter2");
	kvmap_puts(f.act, "database.password", "hunter3");
	kvmap_puts(f.exp, "api.secret_key", "s1");
	kvmap_puts(f.exp, "database.pool_size", "10");
	kvmap_puts(f.act, "database.pool_size", "20");
	kvmap_puts(f.ext, "AUTH_TOKEN", "tok");
	kvmap_puts(f.ext, "DSN_MAIN", "postgres://u:p@h/db");
	kvmap_puts(f.ext, "vartrack:kv:exact", "v");
	r = run(&f);
	assert_fragment(r, &rd, 10,
	    ",\"changed\":2,\"missing\":1,\"extra\":3,\"keys\":["
	    "{\"key\":\"database.password\",\"change\":\"changed\","
	    "\"expected\":\"<redacted>\",\"actual\":\"<redacted>\"},"
	    "{\"key\":\"database.pool_size\",\"change\":\"changed\","
	    "\"expected\":\"10\",\"actual\":\"20\"},"
	    "{\"key\":\"api.secret_key\",\"change\":\"missing\","
	    "\"expected\":\"<redacted>\"},"
	    "{\"key\":\"AUTH_TOKEN\",\"change\":\"extra\","
	    "\"actual\":\"<redacted>\"},"
	    "{\"key\":\"DSN_MAIN\",\"change\":\"extra\","
	    "\"actual\":\"<redacted>\"},"
	    "{\"key\":\"vartrack:kv:exact\",\"change\":\"extra\","
	    "\"actual\":\"<redacted>\"}]");
	/* without the configured list only the word rule applies (and the
	 * URL's userinfo is redacted whatever the key, rule 5) */
	{
		char *got = fragment(r, NULL, 10);

		cr_assert_not_null(strstr(got, "postgres://<redacted>@h/db"));
		cr_assert_null(strstr(got, "hunter"));
		free(got);
	}
	diff_free(r);
	fx_fini(&f);
}

/* ---- scale ---- */

Test(diff, hundred_thousand_keys)
{
	const int n = 100000;
	struct fx f;
	struct diff_result *r;
	struct timespec t0, t1;
	char k[32], v[32];
	char *frag;
	int i;
	double ms;

	fx_init(&f);
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "app.section%03d.key%06d", i % 997,
		    (i * 7919) % n);
		snprintf(v, sizeof(v), "value-%d", i);
		cr_assert_eq(kvmap_puts(f.exp, k, v), 0);
		if (i % 100 == 1)
			continue;		/* 1000 missing */
		if (i % 100 == 2)
			snprintf(v, sizeof(v), "drifted-%d", i); /* 1000 changed */
		cr_assert_eq(kvmap_puts(f.act, k, v), 0);
	}
	for (i = 0; i < 500; i++) {
		snprintf(k, sizeof(k), "zz.extra%04d", 499 - i);
		cr_assert_eq(kvmap_puts(f.ext, k, "x"), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = run(&f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_log_info("diff of %d keys: %.1f ms", n, ms);
	cr_assert_eq(r->nchanged, 1000);
	cr_assert_eq(r->nmissing, 1000);
	cr_assert_eq(r->nextra, 500);
	cr_assert_eq(r->nequal, (size_t)n - 2000);
	for (i = 1; i < 1000; i++) {
		const struct diff_entry *a = &r->changed[i - 1],
		    *b = &r->changed[i];

		cr_assert_lt(strcmp(a->key, b->key), 0);
	}
	cr_assert(key_is(&r->extra[0], "zz.extra0000"));
	frag = fragment(r, NULL, 20);
	cr_assert_not_null(strstr(frag, ",\"keys_truncated\":2480"));
	free(frag);
	diff_free(r);
	fx_fini(&f);
}

Test(diff, all_keys_changed_large)
{
	const int n = 150000;
	struct fx f;
	struct diff_result *r;
	char k[32];
	int i;

	fx_init(&f);
	f.in.extra = NULL;
	f.in.errors = NULL;
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "k%07d", n - i);
		cr_assert_eq(kvmap_puts(f.exp, k, "a"), 0);
		cr_assert_eq(kvmap_puts(f.act, k, "b"), 0);
	}
	r = run(&f);
	cr_assert_eq(r->nchanged, (size_t)n);
	cr_assert(key_is(&r->changed[0], "k0000001"));
	cr_assert(key_is(&r->changed[n - 1], "k0150000"));
	diff_free(r);
	fx_fini(&f);
}
