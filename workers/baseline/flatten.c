/*
 * Env slicing (interop §7.5) and flattening with stringification (§7.6,
 * §7.7). Flattening replays the orchestrator's _py_flatten exactly: an
 * explicit stack, children pushed in order and popped last-first, later
 * assignments to one key winning. Every visited node is counted, so an
 * alias bomb stops at the limits instead of expanding.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl_internal.h"

/* ---- env slicing -------------------------------------------------------- */

static struct bl_mapaux *
aux_get(struct bl_ctx *ctx, struct bl_node *m)
{
	if (m->u.m.aux == NULL) {
		if ((m->u.m.aux = bl_alloc(&ctx->ar, sizeof(*m->u.m.aux))) ==
		    NULL) {
			bl_seterr_oom(ctx);
			return NULL;
		}
		memset(m->u.m.aux, 0, sizeof(*m->u.m.aux));
	}
	return m->u.m.aux;
}

/* `env in m` and `"default" in m`, cached per node (env is fixed). */
static struct bl_mapaux *
env_keys(struct bl_ctx *ctx, struct bl_node *m, const char *env)
{
	struct bl_mapaux *a;
	const struct bl_node *k;
	size_t el = strlen(env);
	uint32_t i;

	if ((a = aux_get(ctx, m)) == NULL)
		return NULL;
	if (a->envdone)
		return a;
	for (i = 0; i < m->u.m.n; i++) {
		k = m->u.m.v[i].k;
		if (k->kind != BLK_STR)
			continue;
		if (k->u.s.len == el && memcmp(k->u.s.p, env, el) == 0) {
			a->hasenv = 1;
			a->envv = m->u.m.v[i].v;
		}
		if (k->u.s.len == 7 && memcmp(k->u.s.p, "default", 7) == 0) {
			a->hasdef = 1;
			a->defv = m->u.m.v[i].v;
		}
	}
	a->envdone = 1;
	return a;
}

static int
append_pairs(struct bl_ctx *ctx, struct bl_node *dst, const struct bl_node *src)
{
	uint32_t i;

	if (src == NULL || src->kind != BLK_MAP)
		return 0;
	for (i = 0; i < src->u.m.n; i++)
		if (bl_map_add(ctx, dst, src->u.m.v[i].k, src->u.m.v[i].v) == -1)
			return -1;
	return 0;
}

struct bl_node *
bl_env_slice(struct bl_ctx *ctx, struct bl_node *data, const char *env)
{
	struct bl_mapaux *top, *ca;
	struct bl_node *out, *v;
	uint32_t i;
	int alld = 1, anyd = 0, anys = 0, hit = 0;

	if (data->kind != BLK_MAP || env == NULL || *env == '\0')
		return data;
	if ((top = env_keys(ctx, data, env)) == NULL)
		return NULL;
	for (i = 0; i < data->u.m.n; i++) {
		if (data->u.m.v[i].v->kind == BLK_MAP)
			anyd = 1;
		else {
			alld = 0;
			anys = 1;
		}
	}
	/* pattern 1: {**data["default"], **data[env]} */
	if (alld && (top->hasenv || top->hasdef)) {
		if ((out = bl_node_new(ctx, BLK_MAP, data->line, data->col)) ==
		    NULL)
			return NULL;
		if (append_pairs(ctx, out, top->hasdef ? top->defv : NULL) ==
		    -1 || append_pairs(ctx, out, top->hasenv ? top->envv :
		    NULL) == -1 || bl_map_dedupe(ctx, out) == -1)
			return NULL;
		return out;
	}
	/* pattern 2: value.get(env, value.get("default")) per entry */
	for (i = 0; i < data->u.m.n; i++) {
		v = data->u.m.v[i].v;
		if (v->kind != BLK_MAP)
			continue;
		if ((ca = env_keys(ctx, v, env)) == NULL)
			return NULL;
		if (ca->hasenv || ca->hasdef)
			hit = 1;
	}
	if (hit) {
		if ((out = bl_node_new(ctx, BLK_MAP, data->line, data->col)) ==
		    NULL)
			return NULL;
		for (i = 0; i < data->u.m.n; i++) {
			v = data->u.m.v[i].v;
			if (v->kind == BLK_MAP) {
				ca = v->u.m.aux;
				if (ca->hasenv)
					v = ca->envv;
				else if (ca->hasdef)
					v = ca->defv;
			}
			if (bl_map_add(ctx, out, data->u.m.v[i].k, v) == -1)
				return NULL;
		}
		return out;
	}
	/* pattern 3: {**scalars, **dicts["default"], **dicts[env]} */
	if (anyd && anys &&
	    ((top->hasenv && top->envv->kind == BLK_MAP) ||
	    (top->hasdef && top->defv->kind == BLK_MAP))) {
		if ((out = bl_node_new(ctx, BLK_MAP, data->line, data->col)) ==
		    NULL)
			return NULL;
		for (i = 0; i < data->u.m.n; i++)
			if (data->u.m.v[i].v->kind != BLK_MAP &&
			    bl_map_add(ctx, out, data->u.m.v[i].k,
			    data->u.m.v[i].v) == -1)
				return NULL;
		if (append_pairs(ctx, out, top->hasdef ? top->defv : NULL) ==
		    -1 || append_pairs(ctx, out, top->hasenv ? top->envv :
		    NULL) == -1 || bl_map_dedupe(ctx, out) == -1)
			return NULL;
		return out;
	}
	return data;
}

/* ---- flattening --------------------------------------------------------- */

struct fframe {
	const struct bl_node	*n;
	const struct bl_mpair	*pv;
	uint32_t		 left;	/* children not yet visited */
	size_t			 plen;	/* this container's prefix */
};

struct flat {
	struct bl_ctx	*ctx;
	enum bl_flatmode mode;
	struct kvmap	*out;
	int		*skip;
	char		*pfx;
	size_t		 pcap;
	struct fframe	*st;
	size_t		 nst, capst;
	size_t		 keys, bytes, visits, visit_limit;
};

static int
has_astral(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0xf0)
			return 1;
	return 0;
}

/* Length of json.dumps(s) without the quotes (ensure_ascii). */
static size_t
json_esc_len(const char *s, size_t len)
{
	size_t i = 0, n = 0, w;
	uint32_t cp;

	while (i < len) {
		w = u8_next(s + i, len - i, &cp);
		i += w;
		if (cp == '"' || cp == '\\' || cp == '\b' || cp == '\f' ||
		    cp == '\n' || cp == '\r' || cp == '\t')
			n += 2;
		else if (cp < 0x20 || cp == 0x7f)
			n += 6;
		else if (cp < 0x7f)
			n += 1;
		else if (cp < 0x10000)
			n += 6;
		else
			n += 12;
	}
	return n;
}

/*
 * .jsonc/.json5: the re-parse runs the comment regexes over the one-line
 * json.dumps text. A "//" in any string cuts the rest of the line off, and
 * a comment opener ('/' '*') followed by a closer removes the span:
 * json.loads then fails and transform() returns {} (the file is skipped).
 */
static void
jsonc_check(struct flat *fl, const char *s, size_t len)
{
	size_t i;

	if (!fl->ctx->jsonc)
		return;
	for (i = 0; i + 1 < len; i++) {
		if (s[i] == '/' && s[i + 1] == '/')
			*fl->skip = 1;
		else if (s[i] == '/' && s[i + 1] == '*')
			fl->ctx->jsonc_open = 1;
		else if (s[i] == '*' && s[i + 1] == '/' && fl->ctx->jsonc_open)
			*fl->skip = 1;
	}
}

static int
astral_err(struct flat *fl, const struct bl_node *n)
{
	bl_seterr(fl->ctx, n->line, n->col, "character outside the Basic "
	    "Multilingual Plane: the orchestrator's JSON->YAML re-parse turns "
	    "it into lone surrogates, which it cannot write");
	return -1;
}

/*
 * A map about to be flattened: the pairs the re-parse sees, and in the
 * YAML re-parse the PyYAML rules for its keys (cached on the node).
 */
static int
map_pairs(struct flat *fl, struct bl_node *m, const struct bl_mpair **pv,
    uint32_t *pn)
{
	const char *t;
	size_t tl;
	uint32_t i;

	if (fl->mode == BL_FLAT_DIRECT) {
		*pv = m->u.m.v;
		*pn = m->u.m.n;
		return 0;
	}
	if (bl_map_jsonpairs(fl->ctx, m, pv, pn) == -1)
		return -1;
	if ((fl->mode != BL_FLAT_YAMLRT && !fl->ctx->jsonc) ||
	    (m->flags & BLF_KEYCHK))
		return 0;
	for (i = 0; i < *pn; i++) {
		if (bl_key_text(fl->ctx, (*pv)[i].k, BL_TEXT_JSON, &t, &tl) ==
		    -1)
			return -1;
		jsonc_check(fl, t, tl);
		if (fl->mode != BL_FLAT_YAMLRT)
			continue;
		if (has_astral(t, tl))
			return astral_err(fl, (*pv)[i].k);
		if (json_esc_len(t, tl) + 2 > BL_YAML_SIMPLE_KEY_MAX)
			*fl->skip = 1;
	}
	m->flags |= BLF_KEYCHK;
	return 0;
}

static int
pfx_reserve(struct flat *fl, size_t need)
{
	char *np;
	size_t cap;

	if (need <= fl->pcap)
		return 0;
	if (need > fl->ctx->lim.max_output_bytes) {
		bl_seterr(fl->ctx, 0, 0, "a key is longer than max_output_bytes "
		    "(%zu)", fl->ctx->lim.max_output_bytes);
		return -1;
	}
	cap = fl->pcap ? fl->pcap : 256;
	while (cap < need)
		cap *= 2;
	if ((np = realloc(fl->pfx, cap)) == NULL) {
		bl_seterr_oom(fl->ctx);
		return -1;
	}
	fl->pfx = np;
	fl->pcap = cap;
	return 0;
}

static int
emit(struct flat *fl, size_t klen, const struct bl_node *v)
{
	struct bl_ctx *ctx = fl->ctx;
	char buf[40];
	const char *s;
	size_t sl;

	switch (v->kind) {
	case BLK_NULL:
		s = "";
		sl = 0;
		break;
	case BLK_BOOL:
		s = v->u.b ? "true" : "false";
		sl = strlen(s);
		break;
	case BLK_INT:
	case BLK_STR:
		s = v->u.s.p;
		sl = v->u.s.len;
		break;
	case BLK_FLOAT:
		if (isfinite(v->u.f)) {
			sl = py_float_repr(v->u.f, buf, sizeof(buf));
			s = buf;
			break;
		}
		/* json.dumps writes Infinity/NaN; PyYAML reads them as str,
		 * json.loads as floats (str() -> inf, nan) */
		if (fl->mode == BL_FLAT_YAMLRT)
			s = isnan(v->u.f) ? "NaN" : v->u.f > 0 ? "Infinity" :
			    "-Infinity";
		else
			s = isnan(v->u.f) ? "nan" : v->u.f > 0 ? "inf" : "-inf";
		sl = strlen(s);
		break;
	case BLK_BAD:
		if ((v->flags & BLF_TSTAMP) && fl->mode == BL_FLAT_DIRECT) {
			s = v->u.s.p;	/* str(date) */
			sl = v->u.s.len;
			break;
		}
		if (v->flags & BLF_TSTAMP)
			bl_seterr(ctx, v->line, v->col, "date/timestamp value "
			    "'%.*s' cannot be serialised (orchestrator skips "
			    "this file)", (int)v->u.s.len, v->u.s.p);
		else
			bl_seterr(ctx, v->line, v->col, "%.*s cannot be "
			    "serialised (orchestrator skips this file)",
			    (int)v->u.s.len, v->u.s.p);
		return -1;
	default:
		bl_seterr(ctx, v->line, v->col, "unexpected value");
		return -1;
	}
	if (fl->mode == BL_FLAT_YAMLRT && v->kind == BLK_STR &&
	    has_astral(s, sl))
		return astral_err(fl, v);
	if (fl->mode != BL_FLAT_DIRECT && v->kind == BLK_STR)
		jsonc_check(fl, s, sl);
	if (memchr(fl->pfx, '\0', klen) != NULL) {
		bl_seterr(ctx, v->line, v->col, "key '%.*s' contains a NUL "
		    "byte", (int)strnlen(fl->pfx, klen), fl->pfx);
		return -1;
	}
	if (++fl->keys > ctx->lim.max_keys) {
		bl_seterr(ctx, 0, 0, "more than %zu keys (max_keys)",
		    ctx->lim.max_keys);
		return -1;
	}
	fl->bytes += klen + sl;
	if (fl->bytes > ctx->lim.max_output_bytes) {
		bl_seterr(ctx, 0, 0, "keys and values exceed %zu bytes "
		    "(max_output_bytes)", ctx->lim.max_output_bytes);
		return -1;
	}
	if (kvmap_put(fl->out, fl->pfx, klen, s, sl) == -1) {
		bl_seterr_oom(ctx);
		return -1;
	}
	return 0;
}

static int
push(struct flat *fl, struct bl_node *n, size_t plen)
{
	struct fframe *f;
	const struct bl_mpair *pv = NULL;
	uint32_t cnt;

	if (n->kind == BLK_MAP) {
		if (map_pairs(fl, n, &pv, &cnt) == -1)
			return -1;
	} else
		cnt = n->u.q.n;
	if (cnt == 0)
		return 0;	/* empty dict or list: no key at all */
	if (fl->nst >= fl->ctx->lim.max_depth) {
		/* only aliases get here: the parsers bound literal nesting */
		bl_seterr(fl->ctx, n->line, n->col, "nesting deeper than %zu "
		    "levels once aliases are expanded (max_depth)",
		    fl->ctx->lim.max_depth);
		return -1;
	}
	if (fl->nst == fl->capst) {
		size_t nc = fl->capst ? fl->capst * 2 : 32;
		struct fframe *ns = realloc(fl->st, nc * sizeof(*ns));

		if (ns == NULL) {
			bl_seterr_oom(fl->ctx);
			return -1;
		}
		fl->st = ns;
		fl->capst = nc;
	}
	f = &fl->st[fl->nst++];
	f->n = n;
	f->pv = pv;
	f->left = cnt;
	f->plen = plen;
	return 0;
}

/*
 * How many values flattening `root` visits, aliases and merges expanded:
 * a memoised post-order walk over the DAG, so it costs the number of
 * distinct nodes, not the expansion. Saturates at UINT64_MAX.
 */
static int
expanded_size(struct bl_ctx *ctx, struct bl_node *root, uint64_t *out)
{
	struct esframe {
		struct bl_node	*n;
		uint32_t	 i;
		uint64_t	 sum;
	} *st = NULL, *f, *ns;
	struct bl_node *c;
	size_t nst = 0, cap = 0;
	uint32_t cnt;

	if (root->kind != BLK_MAP && root->kind != BLK_SEQ) {
		*out = 1;
		return 0;
	}
	if (root->esz != 0) {
		*out = root->esz;
		return 0;
	}
	cap = 32;
	if ((st = malloc(cap * sizeof(*st))) == NULL)
		goto oom;
	st[nst++] = (struct esframe){ root, 0, 1 };
	while (nst > 0) {
		f = &st[nst - 1];
		cnt = f->n->kind == BLK_MAP ? f->n->u.m.n : f->n->u.q.n;
		if (f->i == cnt) {
			f->n->esz = f->sum;
			nst--;
			if (nst > 0) {
				f = &st[nst - 1];
				f->sum = f->sum + st[nst].n->esz < f->sum ?
				    UINT64_MAX : f->sum + st[nst].n->esz;
			}
			continue;
		}
		c = f->n->kind == BLK_MAP ? f->n->u.m.v[f->i].v :
		    f->n->u.q.v[f->i];
		f->i++;
		if ((c->kind != BLK_MAP && c->kind != BLK_SEQ) || c->esz != 0) {
			uint64_t add = c->esz ? c->esz : 1;

			f->sum = f->sum + add < f->sum ? UINT64_MAX :
			    f->sum + add;
			continue;
		}
		if (nst == cap) {
			cap *= 2;
			if ((ns = realloc(st, cap * sizeof(*ns))) == NULL)
				goto oom;
			st = ns;
		}
		st[nst++] = (struct esframe){ c, 0, 1 };
	}
	free(st);
	*out = root->esz;
	return 0;
oom:
	free(st);
	bl_seterr_oom(ctx);
	return -1;
}

int
bl_flatten(struct bl_ctx *ctx, struct bl_node *root, enum bl_flatmode mode,
    struct kvmap *out, int *skip)
{
	struct flat fl;
	struct fframe *f;
	struct bl_node *child;
	const char *seg;
	char ibuf[24];
	size_t sl, nl;
	uint64_t esz;
	uint32_t i;
	int rc = -1;

	memset(&fl, 0, sizeof(fl));
	fl.ctx = ctx;
	fl.mode = mode;
	fl.out = out;
	fl.skip = skip;
	fl.visit_limit = ctx->nodes + ctx->lim.max_keys;
	*skip = 0;
	if (expanded_size(ctx, root, &esz) == -1)
		goto cleanup;
	if (esz > fl.visit_limit) {
		bl_seterr(ctx, 0, 0, "aliases and merge keys expand to more "
		    "than %zu values (limit from max_keys)", fl.visit_limit);
		goto cleanup;
	}
	if (pfx_reserve(&fl, 256) == -1)
		goto cleanup;
	if (root->kind == BLK_MAP || root->kind == BLK_SEQ) {
		if (push(&fl, root, 0) == -1)
			goto cleanup;
	} else if (emit(&fl, 0, root) == -1)
		goto cleanup;
	while (fl.nst > 0) {
		f = &fl.st[fl.nst - 1];
		if (f->left == 0) {
			fl.nst--;
			continue;
		}
		i = --f->left;
		if (f->n->kind == BLK_MAP) {
			child = f->pv[i].v;
			if (bl_key_text(ctx, f->pv[i].k, mode == BL_FLAT_DIRECT ?
			    BL_TEXT_DIRECT : BL_TEXT_JSON, &seg, &sl) == -1)
				goto cleanup;
		} else {
			child = f->n->u.q.v[i];
			sl = (size_t)snprintf(ibuf, sizeof(ibuf), "%u", i);
			seg = ibuf;
		}
		if (++fl.visits > fl.visit_limit) {
			bl_seterr(ctx, 0, 0, "aliases expand to more than %zu "
			    "values (max_keys)", fl.visit_limit);
			goto cleanup;
		}
		/* f"{pfx}.{key}" if pfx else str(key) */
		nl = f->plen ? f->plen + 1 + sl : sl;
		if (pfx_reserve(&fl, nl + 1) == -1)
			goto cleanup;
		if (f->plen)
			fl.pfx[f->plen] = '.';
		memcpy(fl.pfx + (f->plen ? f->plen + 1 : 0), seg, sl);
		if (child->kind == BLK_MAP || child->kind == BLK_SEQ) {
			if (push(&fl, child, nl) == -1)
				goto cleanup;
		} else if (emit(&fl, nl, child) == -1)
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(fl.pfx);
	free(fl.st);
	return rc;
}
