/*
 * diff: expected vs actual, key by key. See diff.h for the classification.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "redact.h"

/* A growable array of entries. */
struct dvec {
	struct diff_entry	*v;
	size_t			 n, cap;
};

static struct diff_entry *
dvec_push(struct dvec *d)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		struct diff_entry *nv = realloc(d->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return NULL;
		d->v = nv;
		d->cap = ncap;
	}
	memset(&d->v[d->n], 0, sizeof(d->v[0]));
	return &d->v[d->n++];
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct diff_entry *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = n ? memcmp(x->key, y->key, n) : 0;

	if (c != 0)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static void
dvec_sort(struct dvec *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(d->v[0]), entry_cmp);
}

static int
bytes_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Value bytes of an entry; expected entries never have val == NULL in
 * practice, but treat one as empty rather than dereference it. */
static const char *
valp(const struct kv_entry *e)
{
	return e->val != NULL ? e->val : "";
}

/* Index of truncation markers by key: value = marker index (size_t bytes). */
static int
trunc_index(struct kvmap **out, const struct diff_trunc *tr, size_t ntr)
{
	struct kvmap *t;
	size_t i;

	*out = NULL;
	if (tr == NULL || ntr == 0)
		return 0;
	if ((t = kvmap_new()) == NULL)
		return -1;
	for (i = 0; i < ntr; i++) {
		if (tr[i].key == NULL)
			continue;
		if (kvmap_put(t, tr[i].key, tr[i].keylen,
		    (const char *)&i, sizeof(i)) == -1) {
			kvmap_free(t);
			return -1;
		}
	}
	*out = t;
	return 0;
}

static const struct diff_trunc *
trunc_lookup(const struct kvmap *t, const struct diff_trunc *tr,
    const char *key, size_t keylen)
{
	const struct kv_entry *e;
	size_t i;

	if (t == NULL || (e = kvmap_get(t, key, keylen)) == NULL)
		return NULL;
	memcpy(&i, e->val, sizeof(i));
	return &tr[i];
}

/* Is the whole value w the one truncated as t? */
static int
whole_is(const char *w, size_t wlen, const struct diff_trunc *t)
{
	unsigned char d[VTW_DIGEST_LEN];

	if (wlen != t->full_len)
		return 0;
	vtw_digest(w, wlen, d);
	return memcmp(d, t->digest, sizeof(d)) == 0;
}

int
diff_value_eq(const char *e, size_t elen, const struct diff_trunc *et,
    const char *a, size_t alen, const struct diff_trunc *at)
{
	size_t common = elen < alen ? elen : alen;

	if (et == NULL && at == NULL)
		return bytes_eq(e, elen, a, alen);
	if (!bytes_eq(e, common, a, common))
		return 0;		/* the prefixes differ */
	if (et != NULL && at != NULL)
		return et->full_len == at->full_len &&
		    memcmp(et->digest, at->digest, VTW_DIGEST_LEN) == 0;
	if (at != NULL)
		return alen <= elen && whole_is(e, elen, at);
	return elen <= alen && whole_is(a, alen, et);
}

/* Is the (possibly truncated) actual value equal to the expected one? */
static int
value_eq(const struct kv_entry *exp, const struct diff_trunc *et,
    const struct kv_entry *act, const struct diff_trunc *at)
{
	return diff_value_eq(valp(exp), exp->vallen, et, act->val,
	    act->vallen, at);
}

static int
push_extra(struct dvec *d, const struct kv_entry *x,
    const struct diff_trunc *t)
{
	struct diff_entry *de;

	if ((de = dvec_push(d)) == NULL)
		return -1;
	de->kind = DIFF_EXTRA;
	de->key = x->key;
	de->keylen = x->keylen;
	de->actual = x->val;
	de->actual_len = x->vallen;
	de->actual_full_len = x->vallen;
	if (t != NULL && t->full_len > x->vallen) {
		de->actual_full_len = t->full_len;
		de->actual_digest = t->digest;
	}
	return 0;
}

int
diff_compute(struct diff_result **out, const struct diff_input *in)
{
	struct dvec chg = { 0 }, mis = { 0 }, ext = { 0 }, unk = { 0 };
	struct diff_result *r = NULL;
	struct kvmap *tidx = NULL, *eidx = NULL;
	const struct kv_entry *e, *a, *x;
	const struct diff_trunc *t, *et;
	struct diff_entry *de;
	size_t i, nequal = 0;

	*out = NULL;
	if (in == NULL || in->expected == NULL || in->actual == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (trunc_index(&tidx, in->trunc, in->ntrunc) == -1 ||
	    trunc_index(&eidx, in->exp_trunc, in->nexp_trunc) == -1)
		goto oom;

	for (i = 0; i < in->expected->n; i++) {
		e = &in->expected->ents[i];
		a = kvmap_get(in->actual, e->key, e->keylen);
		et = trunc_lookup(eidx, in->exp_trunc, e->key, e->keylen);
		if (a != NULL && a->val != NULL) {
			const struct kv_entry *ne = in->notes != NULL ?
			    kvmap_get(in->notes, e->key, e->keylen) : NULL;

			t = trunc_lookup(tidx, in->trunc, e->key, e->keylen);
			if (ne == NULL && value_eq(e, et, a, t)) {
				nequal++;
				continue;
			}
			if ((de = dvec_push(&chg)) == NULL)
				goto oom;
			de->kind = DIFF_CHANGED;
			if (ne != NULL) {
				de->note = valp(ne);
				de->note_len = ne->vallen;
			}
			de->actual = a->val;
			de->actual_len = a->vallen;
			de->actual_full_len = a->vallen;
			if (t != NULL && t->full_len > a->vallen) {
				de->actual_full_len = t->full_len;
				de->actual_digest = t->digest;
			}
		} else if (in->errors != NULL && (x = kvmap_get(in->errors,
		    e->key, e->keylen)) != NULL) {
			if ((de = dvec_push(&unk)) == NULL)
				goto oom;
			de->kind = DIFF_UNKNOWN;
			de->error = valp(x);
			de->error_len = x->vallen;
		} else {
			if ((de = dvec_push(&mis)) == NULL)
				goto oom;
			de->kind = DIFF_MISSING;
		}
		de->key = e->key;
		de->keylen = e->keylen;
		de->expected = valp(e);
		de->expected_len = e->vallen;
		de->expected_full_len = e->vallen;
		if (et != NULL && et->full_len > e->vallen)
			de->expected_full_len = et->full_len;
	}

	for (i = 0; i < in->actual->n; i++) {
		a = &in->actual->ents[i];
		if (a->val == NULL ||
		    kvmap_get(in->expected, a->key, a->keylen) != NULL)
			continue;
		if (push_extra(&ext, a,
		    trunc_lookup(tidx, in->trunc, a->key, a->keylen)) == -1)
			goto oom;
	}
	for (i = 0; in->extra != NULL && i < in->extra->n; i++) {
		x = &in->extra->ents[i];
		if (x->val == NULL ||
		    kvmap_get(in->expected, x->key, x->keylen) != NULL)
			continue;
		a = kvmap_get(in->actual, x->key, x->keylen);
		if (a != NULL && a->val != NULL)
			continue;	/* already listed from actual */
		if (push_extra(&ext, x,
		    trunc_lookup(tidx, in->trunc, x->key, x->keylen)) == -1)
			goto oom;
	}

	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto oom;
	dvec_sort(&chg);
	dvec_sort(&mis);
	dvec_sort(&ext);
	dvec_sort(&unk);
	r->changed = chg.v;
	r->nchanged = chg.n;
	r->missing = mis.v;
	r->nmissing = mis.n;
	r->extra = ext.v;
	r->nextra = ext.n;
	r->unknown = unk.v;
	r->nunknown = unk.n;
	r->nequal = nequal;
	kvmap_free(tidx);
	kvmap_free(eidx);
	*out = r;
	return 0;
oom:
	free(chg.v);
	free(mis.v);
	free(ext.v);
	free(unk.v);
	kvmap_free(tidx);
	kvmap_free(eidx);
	errno = ENOMEM;
	return -1;
}

void
diff_free(struct diff_result *r)
{
	if (r == NULL)
		return;
	free(r->changed);
	free(r->missing);
	free(r->extra);
	free(r->unknown);
	free(r);
}

size_t
diff_ndrifted(const struct diff_result *r)
{
	return r->nchanged + r->nmissing + r->nextra;
}

/* ---- log fragment ------------------------------------------------------- */

/* A value: at most DIFF_LOG_VALUE_MAX bytes, then "…(full_len bytes)";
 * URL userinfo redacted (redact.h rule 5). */
static void
put_value(struct jbuf *b, const char *p, size_t len, uint64_t full_len)
{
	char *red = NULL;
	size_t show, orig = len, rlen;
	int rc;

	rc = redact_url_userinfo(p, len, full_len > len, &red, &rlen);
	if (rc == -1) {
		jbuf_cat(b, "\"" REDACT_PLACEHOLDER "\"");
		return;
	}
	if (rc == 1) {
		p = red;
		len = rlen;
	}
	if (full_len <= orig && len <= DIFF_LOG_VALUE_MAX) {
		jbuf_str(b, p, len, len);
		free(red);
		return;
	}
	if (full_len < orig)
		full_len = orig;
	/* the worker truncated it, or it is long: show a prefix, report
	 * the full length */
	show = len < DIFF_LOG_VALUE_MAX ? len : DIFF_LOG_VALUE_MAX;
	jbuf_str(b, p, show, show);
	free(red);
	if (b->oom || b->len == 0)
		return;
	b->len--;		/* reopen the string: drop the closing quote */
	b->p[b->len] = '\0';
	jbuf_printf(b, "\u2026(%" PRIu64 " bytes)\"", full_len);
}

static void
put_entry(struct jbuf *b, const struct diff_entry *de,
    const struct diff_redact *rd)
{
	static const char *const kind_names[] = {
		[DIFF_CHANGED] = "changed",
		[DIFF_MISSING] = "missing",
		[DIFF_EXTRA] = "extra",
		[DIFF_UNKNOWN] = "unknown",
	};
	int secret;

	secret = redact_key_is_secret(de->key, de->keylen,
	    rd ? rd->sensitive_keys : NULL, rd ? rd->nsensitive : 0);
	if (!secret && rd != NULL && rd->redact_values)
		secret = !redact_key_listed(de->key, de->keylen,
		    rd->show_values, rd->nshow_values);
	jbuf_cat(b, "{\"key\":");
	jbuf_str(b, de->key, de->keylen, DIFF_LOG_KEY_MAX);
	jbuf_cat(b, ",\"change\":\"");
	jbuf_cat(b, kind_names[de->kind]);
	jbuf_raw(b, "\"", 1);
	if (de->expected != NULL) {
		jbuf_cat(b, ",\"expected\":");
		if (secret)
			jbuf_cat(b, "\"" REDACT_PLACEHOLDER "\"");
		else
			put_value(b, de->expected, de->expected_len,
			    de->expected_full_len > de->expected_len ?
			    de->expected_full_len : de->expected_len);
	}
	if (de->actual != NULL) {
		jbuf_cat(b, ",\"actual\":");
		if (secret)
			jbuf_cat(b, "\"" REDACT_PLACEHOLDER "\"");
		else
			put_value(b, de->actual, de->actual_len,
			    de->actual_full_len);
	}
	if (de->note != NULL) {
		jbuf_cat(b, ",\"note\":");
		put_value(b, de->note, de->note_len, de->note_len);
	}
	if (de->error != NULL) {
		jbuf_cat(b, ",\"error\":");
		put_value(b, de->error, de->error_len, de->error_len);
	}
	jbuf_raw(b, "}", 1);
}

int
diff_format_log(const struct diff_result *r, const struct diff_redact *rd,
    struct jbuf *out, size_t max_keys)
{
	const struct diff_entry *lists[4];
	size_t counts[4], l, i, shown = 0, total;

	lists[0] = r->changed;
	counts[0] = r->nchanged;
	lists[1] = r->missing;
	counts[1] = r->nmissing;
	lists[2] = r->extra;
	counts[2] = r->nextra;
	lists[3] = r->unknown;
	counts[3] = r->nunknown;
	total = counts[0] + counts[1] + counts[2] + counts[3];

	jbuf_printf(out, ",\"changed\":%zu,\"missing\":%zu,\"extra\":%zu",
	    r->nchanged, r->nmissing, r->nextra);
	if (r->nunknown > 0)
		jbuf_printf(out, ",\"unknown\":%zu", r->nunknown);
	jbuf_cat(out, ",\"keys\":[");
	for (l = 0; l < 4; l++) {
		for (i = 0; i < counts[l] && shown < max_keys; i++) {
			if (shown++ > 0)
				jbuf_raw(out, ",", 1);
			put_entry(out, &lists[l][i], rd);
		}
	}
	jbuf_raw(out, "]", 1);
	if (shown < total)
		jbuf_printf(out, ",\"keys_truncated\":%zu", total - shown);
	return out->oom ? -1 : 0;
}
