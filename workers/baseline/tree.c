/*
 * The value tree: an arena, nodes, and the Python dict rules the
 * orchestrator's objects follow (key equality, first position / last value).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl_internal.h"

#define BL_CHUNK_MIN	(64u * 1024)

struct bl_chunk {
	struct bl_chunk	*next;
	size_t		 used, cap;
	max_align_t	 data[];
};

void *
bl_alloc(struct bl_arena *ar, size_t len)
{
	struct bl_chunk *c = ar->head;
	size_t al = _Alignof(max_align_t), need, cap;
	void *p;

	need = (len + al - 1) & ~(al - 1);
	if (need < len)
		return NULL;
	if (c == NULL || c->cap - c->used < need) {
		cap = need > BL_CHUNK_MIN ? need : BL_CHUNK_MIN;
		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = ar->head;
		ar->head = c;
		ar->total += cap;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	return p;
}

char *
bl_strndup(struct bl_arena *ar, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX || (p = bl_alloc(ar, len + 1)) == NULL)
		return NULL;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void
bl_arena_free(struct bl_arena *ar)
{
	struct bl_chunk *c, *n;

	for (c = ar->head; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	ar->head = NULL;
	ar->total = 0;
}

void
bl_seterr(struct bl_ctx *ctx, size_t line, size_t col, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int r;

	if (ctx->failed || ctx->err == NULL || ctx->errlen == 0) {
		ctx->failed = 1;
		return;
	}
	ctx->failed = 1;
	if (line > 0)
		r = snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: ", ctx->path,
		    line, col);
	else
		r = snprintf(ctx->err, ctx->errlen, "%s: ", ctx->path);
	if (r < 0 || (size_t)r >= ctx->errlen)
		return;
	n = (size_t)r;
	va_start(ap, fmt);
	(void)vsnprintf(ctx->err + n, ctx->errlen - n, fmt, ap);
	va_end(ap);
}

void
bl_seterr_oom(struct bl_ctx *ctx)
{
	bl_seterr(ctx, 0, 0, "out of memory");
}

struct bl_node *
bl_node_new(struct bl_ctx *ctx, int kind, size_t line, size_t col)
{
	struct bl_node *n;

	if (ctx->nodes >= ctx->max_nodes) {
		bl_seterr(ctx, line, col, "more than %zu values in the file "
		    "(limit derived from max_keys)", ctx->max_nodes);
		return NULL;
	}
	if ((n = bl_alloc(&ctx->ar, sizeof(*n))) == NULL) {
		bl_seterr_oom(ctx);
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->kind = (uint8_t)kind;
	n->line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
	n->col = col > UINT32_MAX ? UINT32_MAX : (uint32_t)col;
	ctx->nodes++;
	return n;
}

struct bl_node *
bl_node_str(struct bl_ctx *ctx, const char *s, size_t len, int copy)
{
	struct bl_node *n;

	if ((n = bl_node_new(ctx, BLK_STR, 0, 0)) == NULL)
		return NULL;
	if (copy) {
		if ((n->u.s.p = bl_strndup(&ctx->ar, s, len)) == NULL) {
			bl_seterr_oom(ctx);
			return NULL;
		}
	} else
		n->u.s.p = s;
	n->u.s.len = len;
	return n;
}

static int
grow(struct bl_ctx *ctx, void **v, uint32_t n, uint32_t *cap, size_t esz)
{
	uint32_t ncap;
	void *nv;

	if (n < *cap)
		return 0;
	if (*cap >= UINT32_MAX / 2) {
		bl_seterr(ctx, 0, 0, "collection too large");
		return -1;
	}
	ncap = *cap ? *cap * 2 : 4;
	if ((nv = bl_alloc(&ctx->ar, (size_t)ncap * esz)) == NULL) {
		bl_seterr_oom(ctx);
		return -1;
	}
	if (n)
		memcpy(nv, *v, (size_t)n * esz);
	*v = nv;
	*cap = ncap;
	return 0;
}

int
bl_map_add(struct bl_ctx *ctx, struct bl_node *m, struct bl_node *k,
    struct bl_node *v)
{
	void *p = m->u.m.v;

	if (grow(ctx, &p, m->u.m.n, &m->u.m.cap, sizeof(struct bl_mpair)) == -1)
		return -1;
	m->u.m.v = p;
	m->u.m.v[m->u.m.n].k = k;
	m->u.m.v[m->u.m.n].v = v;
	m->u.m.n++;
	return 0;
}

int
bl_seq_add(struct bl_ctx *ctx, struct bl_node *q, struct bl_node *v)
{
	void *p = q->u.q.v;

	if (grow(ctx, &p, q->u.q.n, &q->u.q.cap, sizeof(struct bl_node *)) ==
	    -1)
		return -1;
	q->u.q.v = p;
	q->u.q.v[q->u.q.n++] = v;
	return 0;
}

/*
 * Key identity. Python: True == 1 == 1.0 and False == 0 == 0.0 == -0.0 hash
 * alike and are one dict key; NaN only equals itself (the same object).
 */
enum { ID_STR = 1, ID_NULL, ID_NUM, ID_FLOAT, ID_NAN, ID_BAD };

struct bl_ident {
	int		 cls;
	const char	*p;
	size_t		 len;
	uint64_t	 h;
};

static int
ident_py(struct bl_ctx *ctx, const struct bl_node *k, struct bl_ident *id)
{
	char buf[400];
	int r;

	id->p = "";
	id->len = 0;
	switch (k->kind) {
	case BLK_STR:
		id->cls = ID_STR;
		id->p = k->u.s.p;
		id->len = k->u.s.len;
		break;
	case BLK_NULL:
		id->cls = ID_NULL;
		break;
	case BLK_BOOL:
		id->cls = ID_NUM;
		id->p = k->u.b ? "1" : "0";
		id->len = 1;
		break;
	case BLK_INT:
		id->cls = ID_NUM;
		id->p = k->u.s.p;
		id->len = k->u.s.len;
		break;
	case BLK_FLOAT:
		if (isnan(k->u.f)) {
			id->cls = ID_NAN;
			id->p = (const char *)k;	/* identity */
			id->len = 0;
		} else if (isfinite(k->u.f) && k->u.f == floor(k->u.f)) {
			r = snprintf(buf, sizeof(buf), "%.0f", k->u.f);
			if (r <= 0 || (size_t)r >= sizeof(buf))
				return -1;
			id->cls = ID_NUM;
			if (strcmp(buf, "-0") == 0) {
				id->p = "0";
				id->len = 1;
			} else if ((id->p = bl_strndup(&ctx->ar, buf,
			    (size_t)r)) == NULL) {
				bl_seterr_oom(ctx);
				return -1;
			} else
				id->len = (size_t)r;
		} else {
			id->cls = ID_FLOAT;
			id->p = (const char *)&k->u.f;
			id->len = sizeof(k->u.f);
		}
		break;
	case BLK_BAD:
		id->cls = ID_BAD;
		id->p = k->u.s.p;
		id->len = k->u.s.len;
		break;
	default:
		bl_seterr(ctx, k->line, k->col, "found unhashable key");
		return -1;
	}
	return 0;
}

static int
ident_json(struct bl_ctx *ctx, const struct bl_node *k, struct bl_ident *id)
{
	id->cls = ID_STR;
	return bl_key_text(ctx, k, BL_TEXT_JSON, &id->p, &id->len);
}

static uint64_t
ident_hash(const struct bl_ident *id)
{
	uint64_t h;

	if (id->cls == ID_NAN)
		h = (uint64_t)(uintptr_t)id->p * 0x9e3779b97f4a7c15ULL;
	else
		h = kv_fnv1a64(id->p, id->len);
	return h ^ (uint64_t)id->cls;
}

static int
ident_eq(const struct bl_ident *a, const struct bl_ident *b)
{
	if (a->cls != b->cls || a->h != b->h)
		return 0;
	if (a->cls == ID_NAN)
		return a->p == b->p;
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/*
 * Deduplicate v[0..*n) in place: a key keeps its first position and takes
 * its last value, as dict assignment does.
 */
static int
dedupe(struct bl_ctx *ctx, struct bl_mpair *v, uint32_t *n,
    int (*idf)(struct bl_ctx *, const struct bl_node *, struct bl_ident *),
    int *changed)
{
	struct bl_ident *ids = NULL;
	uint32_t *tab = NULL, i, j, out = 0;
	size_t cap, slot;
	int rc = -1;

	*changed = 0;
	if (*n < 2)
		return 0;
	if ((ids = calloc(*n, sizeof(*ids))) == NULL)
		goto oom;
	for (cap = 16; cap < (size_t)*n * 2; cap *= 2)
		;
	if ((tab = calloc(cap, sizeof(*tab))) == NULL)
		goto oom;
	for (i = 0; i < *n; i++) {
		if (idf(ctx, v[i].k, &ids[i]) == -1)
			goto cleanup;
		ids[i].h = ident_hash(&ids[i]);
		slot = ids[i].h & (cap - 1);
		for (;;) {
			if (tab[slot] == 0) {
				v[out] = v[i];
				ids[out] = ids[i];
				tab[slot] = ++out;
				break;
			}
			j = tab[slot] - 1;
			if (ident_eq(&ids[j], &ids[i])) {
				v[j].v = v[i].v;
				*changed = 1;
				break;
			}
			slot = (slot + 1) & (cap - 1);
		}
	}
	*n = out;
	rc = 0;
	goto cleanup;
oom:
	bl_seterr_oom(ctx);
cleanup:
	free(ids);
	free(tab);
	return rc;
}

int
bl_map_dedupe(struct bl_ctx *ctx, struct bl_node *m)
{
	int changed;

	return dedupe(ctx, m->u.m.v, &m->u.m.n, ident_py, &changed);
}

/*
 * The pairs json.dumps + a JSON re-parse would yield: keys that print the
 * same ("1" and 1) collapse, first position, last value.
 */
int
bl_map_jsonpairs(struct bl_ctx *ctx, struct bl_node *m,
    const struct bl_mpair **pv, uint32_t *pn)
{
	struct bl_mpair *cp;
	uint32_t i, n;
	int changed, plain = 1;

	*pv = m->u.m.v;
	*pn = m->u.m.n;
	if (m->flags & BLF_TEXTCHK) {
		if ((m->flags & BLF_TEXTDUP) && m->u.m.aux != NULL) {
			*pv = m->u.m.aux->dd;
			*pn = m->u.m.aux->ddn;
		}
		return 0;
	}
	for (i = 0; i < m->u.m.n; i++)
		if (m->u.m.v[i].k->kind != BLK_STR)
			plain = 0;
	m->flags |= BLF_TEXTCHK;
	if (plain || m->u.m.n < 2)
		return 0;	/* str keys are already unique */
	n = m->u.m.n;
	if ((cp = bl_alloc(&ctx->ar, (size_t)n * sizeof(*cp))) == NULL) {
		bl_seterr_oom(ctx);
		return -1;
	}
	memcpy(cp, m->u.m.v, (size_t)n * sizeof(*cp));
	if (dedupe(ctx, cp, &n, ident_json, &changed) == -1)
		return -1;
	if (!changed)
		return 0;
	if (m->u.m.aux == NULL) {
		if ((m->u.m.aux = bl_alloc(&ctx->ar, sizeof(*m->u.m.aux))) ==
		    NULL) {
			bl_seterr_oom(ctx);
			return -1;
		}
		memset(m->u.m.aux, 0, sizeof(*m->u.m.aux));
	}
	m->u.m.aux->dd = cp;
	m->u.m.aux->ddn = n;
	m->flags |= BLF_TEXTDUP;
	*pv = cp;
	*pn = n;
	return 0;
}

struct bl_node *
bl_map_gets(const struct bl_node *m, const char *key, size_t len)
{
	uint32_t i;
	const struct bl_node *k;

	if (m == NULL || m->kind != BLK_MAP)
		return NULL;
	for (i = 0; i < m->u.m.n; i++) {
		k = m->u.m.v[i].k;
		if (k->kind == BLK_STR && k->u.s.len == len &&
		    memcmp(k->u.s.p, key, len) == 0)
			return m->u.m.v[i].v;
	}
	return NULL;
}

int
bl_truthy(const struct bl_node *n)
{
	switch (n->kind) {
	case BLK_NULL:
		return 0;
	case BLK_BOOL:
		return n->u.b != 0;
	case BLK_INT:
		return !(n->u.s.len == 1 && n->u.s.p[0] == '0');
	case BLK_FLOAT:
		return n->u.f != 0.0 || isnan(n->u.f);
	case BLK_STR:
		return n->u.s.len > 0;
	case BLK_MAP:
		return n->u.m.n > 0;
	case BLK_SEQ:
		return n->u.q.n > 0;
	default:
		return 1;
	}
}

int
bl_key_text(struct bl_ctx *ctx, const struct bl_node *k, enum bl_textmode tm,
    const char **p, size_t *len)
{
	char buf[40];
	size_t n;
	double f;

	switch (k->kind) {
	case BLK_STR:
	case BLK_INT:
		*p = k->u.s.p;
		*len = k->u.s.len;
		return 0;
	case BLK_NULL:
		*p = tm == BL_TEXT_JSON ? "null" : "None";
		break;
	case BLK_BOOL:
		if (tm == BL_TEXT_JSON)
			*p = k->u.b ? "true" : "false";
		else
			*p = k->u.b ? "True" : "False";
		break;
	case BLK_FLOAT:
		f = k->u.f;
		if (isnan(f))
			*p = tm == BL_TEXT_JSON ? "NaN" : "nan";
		else if (isinf(f) && f > 0)
			*p = tm == BL_TEXT_JSON ? "Infinity" : "inf";
		else if (isinf(f))
			*p = tm == BL_TEXT_JSON ? "-Infinity" : "-inf";
		else {
			n = py_float_repr(f, buf, sizeof(buf));
			if ((*p = bl_strndup(&ctx->ar, buf, n)) == NULL) {
				bl_seterr_oom(ctx);
				return -1;
			}
			*len = n;
			return 0;
		}
		break;
	case BLK_BAD:
		if ((k->flags & BLF_TSTAMP) && tm == BL_TEXT_DIRECT) {
			*p = k->u.s.p;	/* str(date) */
			*len = k->u.s.len;
			return 0;
		}
		bl_seterr(ctx, k->line, k->col, "%s%.*s%s as a mapping key "
		    "cannot be serialised (orchestrator skips this file)",
		    (k->flags & BLF_TSTAMP) ? "date/timestamp value '" : "",
		    (int)(k->u.s.len > 200 ? 200 : k->u.s.len), k->u.s.p,
		    (k->flags & BLF_TSTAMP) ? "'" : "");
		return -1;
	default:
		bl_seterr(ctx, k->line, k->col, "found unhashable key");
		return -1;
	}
	*len = strlen(*p);
	return 0;
}
