/*
 * YAML loader: libyaml events -> value tree, resolved the way PyYAML's
 * yaml.safe_load does (YAML 1.1 SafeLoader). Iterative with an explicit
 * frame stack bounded by max_depth. Anchors are registered when their node
 * is complete, so an alias to an enclosing node is an error; an alias
 * shares the anchored node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "bl_internal.h"

#define YTAG(s)	"tag:yaml.org,2002:" s

struct yframe {
	struct bl_node	*node;
	struct bl_node	*key;		/* pending key of a map */
	char		*anchor;	/* malloc'd, NULL when none */
	int		 haskey;
	int		 pairs;		/* !!omap / !!pairs sequence */
};

struct yload {
	struct bl_ctx	*ctx;
	struct yframe	*fr;
	size_t		 nfr, capfr;
	struct kvmap	*anchors;	/* name -> node, NULL while open */
	struct bl_node	*root;
	int		 ndocs;
	int		 soft;		/* a YAML error, not a limit */
};

static void
yerr(struct yload *y, const yaml_mark_t *m, const char *fmt, const char *a)
{
	y->soft = 1;
	if (m != NULL)
		bl_seterr(y->ctx, m->line + 1, m->column + 1, fmt, a);
	else
		bl_seterr(y->ctx, 0, 0, fmt, a);
}

static const char *
kind_name(const struct bl_node *n)
{
	switch (n->kind) {
	case BLK_MAP:
		return "mapping";
	case BLK_SEQ:
		return "sequence";
	default:
		return "scalar";
	}
}

static int
anchor_open(struct yload *y, const char *name, const yaml_mark_t *m)
{
	void *none = NULL;

	if (kvmap_gets(y->anchors, name) != NULL) {
		yerr(y, m, "found duplicate anchor '%s'", name);
		return -1;
	}
	if (kvmap_put(y->anchors, name, strlen(name), (const char *)&none,
	    sizeof(none)) == -1) {
		bl_seterr_oom(y->ctx);
		return -1;
	}
	return 0;
}

static int
anchor_done(struct yload *y, const char *name, struct bl_node *n)
{
	if (kvmap_put(y->anchors, name, strlen(name), (const char *)&n,
	    sizeof(n)) == -1) {
		bl_seterr_oom(y->ctx);
		return -1;
	}
	return 0;
}

static struct bl_node *
alias_lookup(struct yload *y, const char *name, const yaml_mark_t *m)
{
	const struct kv_entry *e = kvmap_gets(y->anchors, name);
	struct bl_node *n;

	if (e == NULL) {
		yerr(y, m, "found undefined alias '%s'", name);
		return NULL;
	}
	memcpy(&n, e->val, sizeof(n));
	if (n == NULL) {
		yerr(y, m, "alias '*%s' refers to a node that encloses it "
		    "(recursive aliases are not supported)", name);
		return NULL;
	}
	return n;
}

static int
no_constructor(struct yload *y, const struct bl_node *n, const char *tag)
{
	y->soft = 1;
	bl_seterr(y->ctx, n->line, n->col, "could not determine a constructor "
	    "for the tag '%s'", tag);
	return -1;
}

static int
attach(struct yload *y, struct bl_node *n)
{
	struct yframe *f;

	if (y->nfr == 0) {
		if (n->kind == BLK_MERGE || n->kind == BLK_VALUE)
			return no_constructor(y, n, n->kind == BLK_MERGE ?
			    YTAG("merge") : YTAG("value"));
		y->root = n;
		return 0;
	}
	f = &y->fr[y->nfr - 1];
	if (f->node->kind == BLK_SEQ) {
		if (n->kind == BLK_MERGE || n->kind == BLK_VALUE)
			return no_constructor(y, n, n->kind == BLK_MERGE ?
			    YTAG("merge") : YTAG("value"));
		return bl_seq_add(y->ctx, f->node, n);
	}
	if (!f->haskey) {
		f->key = n;
		f->haskey = 1;
		return 0;
	}
	if (n->kind == BLK_MERGE || n->kind == BLK_VALUE)
		return no_constructor(y, n, n->kind == BLK_MERGE ?
		    YTAG("merge") : YTAG("value"));
	f->haskey = 0;
	f->node->u.m.nraw++;
	return bl_map_add(y->ctx, f->node, f->key, n);
}

static struct bl_node *
make_bad(struct yload *y, const char *what, const char *v, size_t len,
    size_t line, size_t col)
{
	struct bl_node *n;
	char buf[160];
	int r;

	r = snprintf(buf, sizeof(buf), "%s value '%.*s%s'", what,
	    (int)(len > 60 ? 60 : len), v, len > 60 ? "..." : "");
	if (r < 0)
		r = 0;
	if ((size_t)r >= sizeof(buf))
		r = sizeof(buf) - 1;
	if ((n = bl_node_new(y->ctx, BLK_BAD, line, col)) == NULL)
		return NULL;
	if ((n->u.s.p = bl_strndup(&y->ctx->ar, buf, (size_t)r)) == NULL) {
		bl_seterr_oom(y->ctx);
		return NULL;
	}
	n->u.s.len = (size_t)r;
	return n;
}

static struct bl_node *
make_tstamp(struct yload *y, const char *v, size_t len, size_t line,
    size_t col)
{
	struct bl_node *n;
	const char *t;
	size_t tl;

	if (py_yaml_timestamp(y->ctx, v, len, &t, &tl, line, col) == -1) {
		y->soft = 1;
		return NULL;
	}
	if ((n = bl_node_new(y->ctx, BLK_BAD, line, col)) == NULL)
		return NULL;
	n->flags |= BLF_TSTAMP;
	n->u.s.p = t;
	n->u.s.len = tl;
	return n;
}

static int
set_int(struct yload *y, struct bl_node **np, const char *v, size_t len,
    size_t line, size_t col)
{
	const char *t;
	size_t tl;
	int bad;

	if (py_yaml_int(y->ctx, v, len, &t, &tl, &bad, line, col) == -1) {
		y->soft = 1;
		return -1;
	}
	if (bad) {
		*np = make_bad(y, "integer with more than 4300 digits", v, len,
		    line, col);
		return *np == NULL ? -1 : 0;
	}
	if ((*np = bl_node_new(y->ctx, BLK_INT, line, col)) == NULL)
		return -1;
	(*np)->u.s.p = t;
	(*np)->u.s.len = tl;
	return 0;
}

static int
set_float(struct yload *y, struct bl_node **np, const char *v, size_t len,
    size_t line, size_t col)
{
	double d;

	if (py_yaml_float(y->ctx, v, len, &d, line, col) == -1) {
		y->soft = 1;
		return -1;
	}
	if ((*np = bl_node_new(y->ctx, BLK_FLOAT, line, col)) == NULL)
		return -1;
	(*np)->u.f = d;
	return 0;
}

static int
set_str(struct yload *y, struct bl_node **np, const char *v, size_t len,
    size_t line, size_t col)
{
	if ((*np = bl_node_new(y->ctx, BLK_STR, line, col)) == NULL)
		return -1;
	if (((*np)->u.s.p = bl_strndup(&y->ctx->ar, v, len)) == NULL) {
		bl_seterr_oom(y->ctx);
		return -1;
	}
	(*np)->u.s.len = len;
	return 0;
}

static int
set_simple(struct yload *y, struct bl_node **np, int kind, size_t line,
    size_t col)
{
	return (*np = bl_node_new(y->ctx, kind, line, col)) == NULL ? -1 : 0;
}

/* A scalar event -> node, per PyYAML's resolver and SafeConstructor. */
static struct bl_node *
scalar_node(struct yload *y, const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
	struct bl_node *n = NULL;
	size_t i;
	int b, r;

	if (tag == NULL || strcmp(tag, "!") == 0) {
		if (!ev->data.scalar.plain_implicit)
			r = set_str(y, &n, v, len, line, col);
		else if (yaml11_is_null(v, len))
			r = set_simple(y, &n, BLK_NULL, line, col);
		else if (yaml11_is_bool(v, len, &b)) {
			if ((r = set_simple(y, &n, BLK_BOOL, line, col)) == 0)
				n->u.b = b;
		} else if (yaml11_is_float(v, len))
			r = set_float(y, &n, v, len, line, col);
		else if (yaml11_is_int(v, len))
			r = set_int(y, &n, v, len, line, col);
		else if (len == 2 && memcmp(v, "<<", 2) == 0)
			r = set_simple(y, &n, BLK_MERGE, line, col);
		else if (yaml11_is_timestamp(v, len)) {
			n = make_tstamp(y, v, len, line, col);
			r = n == NULL ? -1 : 0;
		} else if (len == 1 && v[0] == '=')
			r = set_simple(y, &n, BLK_VALUE, line, col);
		else if (len == 1 && (v[0] == '!' || v[0] == '&' ||
		    v[0] == '*')) {
			y->soft = 1;
			bl_seterr(y->ctx, line, col, "could not determine a "
			    "constructor for the tag '%s'", YTAG("yaml"));
			r = -1;
		} else
			r = set_str(y, &n, v, len, line, col);
		return r == 0 ? n : NULL;
	}
	if (strcmp(tag, YTAG("str")) == 0)
		r = set_str(y, &n, v, len, line, col);
	else if (strcmp(tag, YTAG("null")) == 0)
		r = set_simple(y, &n, BLK_NULL, line, col);
	else if (strcmp(tag, YTAG("bool")) == 0) {
		char low[8];

		r = -1;
		if (len < sizeof(low)) {
			for (i = 0; i < len; i++)
				low[i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ?
				    v[i] + 32 : v[i]);
			if (yaml11_is_bool(low, len, &b) &&
			    (r = set_simple(y, &n, BLK_BOOL, line, col)) == 0)
				n->u.b = b;
		}
		if (r == -1 && !y->ctx->failed) {
			y->soft = 1;
			bl_seterr(y->ctx, line, col, "invalid boolean '%.*s'",
			    (int)(len > 60 ? 60 : len), v);
		}
	} else if (strcmp(tag, YTAG("int")) == 0)
		r = set_int(y, &n, v, len, line, col);
	else if (strcmp(tag, YTAG("float")) == 0)
		r = set_float(y, &n, v, len, line, col);
	else if (strcmp(tag, YTAG("merge")) == 0)
		r = set_simple(y, &n, BLK_MERGE, line, col);
	else if (strcmp(tag, YTAG("value")) == 0)
		r = set_simple(y, &n, BLK_VALUE, line, col);
	else if (strcmp(tag, YTAG("timestamp")) == 0) {
		n = make_tstamp(y, v, len, line, col);
		r = n == NULL ? -1 : 0;
	} else if (strcmp(tag, YTAG("binary")) == 0) {
		n = make_bad(y, "binary", v, len, line, col);
		r = n == NULL ? -1 : 0;
	} else if (strcmp(tag, YTAG("map")) == 0 ||
	    strcmp(tag, YTAG("set")) == 0) {
		y->soft = 1;
		bl_seterr(y->ctx, line, col, "expected a mapping node, but "
		    "found scalar");
		r = -1;
	} else if (strcmp(tag, YTAG("seq")) == 0 ||
	    strcmp(tag, YTAG("omap")) == 0 || strcmp(tag, YTAG("pairs")) == 0) {
		y->soft = 1;
		bl_seterr(y->ctx, line, col, "expected a sequence node, but "
		    "found scalar");
		r = -1;
	} else {
		y->soft = 1;
		bl_seterr(y->ctx, line, col, "could not determine a constructor "
		    "for the tag '%s'", tag);
		r = -1;
	}
	return r == 0 ? n : NULL;
}

static int
push(struct yload *y, const yaml_event_t *ev, int kind)
{
	const char *tag, *anchor;
	struct yframe *f;
	struct bl_node *n;
	size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
	int pairs = 0;

	if (kind == BLK_SEQ) {
		tag = (const char *)ev->data.sequence_start.tag;
		anchor = (const char *)ev->data.sequence_start.anchor;
	} else {
		tag = (const char *)ev->data.mapping_start.tag;
		anchor = (const char *)ev->data.mapping_start.anchor;
	}
	if (y->nfr >= y->ctx->lim.max_depth) {
		bl_seterr(y->ctx, line, col, "nesting deeper than %zu levels "
		    "(max_depth)", y->ctx->lim.max_depth);
		return -1;
	}
	if (tag != NULL && strcmp(tag, "!") != 0) {
		if (kind == BLK_SEQ && (strcmp(tag, YTAG("omap")) == 0 ||
		    strcmp(tag, YTAG("pairs")) == 0))
			pairs = 1;
		else if (kind == BLK_MAP && strcmp(tag, YTAG("set")) == 0)
			pairs = 2;
		else if (!(kind == BLK_SEQ && strcmp(tag, YTAG("seq")) == 0) &&
		    !(kind == BLK_MAP && strcmp(tag, YTAG("map")) == 0)) {
			y->soft = 1;
			if (strcmp(tag, YTAG("map")) == 0 ||
			    strcmp(tag, YTAG("set")) == 0 ||
			    strcmp(tag, YTAG("seq")) == 0 ||
			    strcmp(tag, YTAG("omap")) == 0 ||
			    strcmp(tag, YTAG("pairs")) == 0)
				bl_seterr(y->ctx, line, col, "tag '%s' does "
				    "not fit a %s", tag, kind == BLK_SEQ ?
				    "sequence" : "mapping");
			else
				bl_seterr(y->ctx, line, col, "could not "
				    "determine a constructor for the tag '%s'",
				    tag);
			return -1;
		}
	}
	if ((n = bl_node_new(y->ctx, kind, line, col)) == NULL)
		return -1;
	if (anchor != NULL && anchor_open(y, anchor, &ev->start_mark) == -1)
		return -1;
	if (y->nfr == y->capfr) {
		size_t ncap = y->capfr ? y->capfr * 2 : 16;
		struct yframe *nf = realloc(y->fr, ncap * sizeof(*nf));

		if (nf == NULL) {
			bl_seterr_oom(y->ctx);
			return -1;
		}
		y->fr = nf;
		y->capfr = ncap;
	}
	f = &y->fr[y->nfr++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	f->pairs = pairs;
	if (anchor != NULL && (f->anchor = strdup(anchor)) == NULL) {
		bl_seterr_oom(y->ctx);
		return -1;
	}
	return 0;
}

/* PyYAML flatten_mapping: merged pairs first, then the map's own. */
static int
finish_map(struct yload *y, struct bl_node *m)
{
	struct bl_ctx *ctx = y->ctx;
	struct bl_mpair *nv;
	struct bl_node *src, *k;
	size_t total = 0, o = 0;
	uint32_t i, j, nmerge = 0;
	int q;

	for (i = 0; i < m->u.m.n; i++) {
		k = m->u.m.v[i].k;
		if (k->kind == BLK_VALUE) {
			if ((k = bl_node_str(ctx, "=", 1, 0)) == NULL)
				return -1;
			m->u.m.v[i].k = k;
		}
		if (k->kind == BLK_MAP || k->kind == BLK_SEQ ||
		    (k->kind == BLK_BAD && (k->flags & BLF_UNHASHABLE))) {
			y->soft = 1;
			bl_seterr(ctx, k->line, k->col, "while constructing a "
			    "mapping: found unhashable key");
			return -1;
		}
		if (k->kind != BLK_MERGE) {
			total++;
			continue;
		}
		nmerge++;
		src = m->u.m.v[i].v;
		if (src->kind == BLK_MAP)
			total += src->u.m.n;
		else if (src->kind == BLK_SEQ) {
			for (j = 0; j < src->u.q.n; j++) {
				if (src->u.q.v[j]->kind != BLK_MAP) {
					y->soft = 1;
					bl_seterr(ctx, src->u.q.v[j]->line,
					    src->u.q.v[j]->col, "while "
					    "constructing a mapping: expected a "
					    "mapping for merging, but found %s",
					    kind_name(src->u.q.v[j]));
					return -1;
				}
				total += src->u.q.v[j]->u.m.n;
			}
		} else {
			y->soft = 1;
			bl_seterr(ctx, src->line, src->col, "while constructing "
			    "a mapping: expected a mapping or list of mappings "
			    "for merging, but found %s", kind_name(src));
			return -1;
		}
	}
	if (nmerge > 0) {
		ctx->merge_work += total;
		if (ctx->merge_work > ctx->lim.max_keys ||
		    total >= UINT32_MAX) {
			bl_seterr(ctx, m->line, m->col, "merge keys (<<) expand "
			    "to more than %zu entries (max_keys)",
			    ctx->lim.max_keys);
			return -1;
		}
		if ((nv = bl_alloc(&ctx->ar, (total ? total : 1) *
		    sizeof(*nv))) == NULL) {
			bl_seterr_oom(ctx);
			return -1;
		}
		for (i = 0; i < m->u.m.n; i++) {
			if (m->u.m.v[i].k->kind != BLK_MERGE)
				continue;
			src = m->u.m.v[i].v;
			/* (an empty mapping has no array: nothing to copy) */
			if (src->kind == BLK_MAP) {
				if (src->u.m.n > 0)
					memcpy(nv + o, src->u.m.v,
					    src->u.m.n * sizeof(*nv));
				o += src->u.m.n;
				continue;
			}
			/* later mappings in the list lose to earlier ones */
			for (q = (int)src->u.q.n - 1; q >= 0; q--) {
				struct bl_node *sm = src->u.q.v[q];

				if (sm->u.m.n > 0)
					memcpy(nv + o, sm->u.m.v,
					    sm->u.m.n * sizeof(*nv));
				o += sm->u.m.n;
			}
		}
		for (i = 0; i < m->u.m.n; i++)
			if (m->u.m.v[i].k->kind != BLK_MERGE)
				nv[o++] = m->u.m.v[i];
		m->u.m.v = nv;
		m->u.m.n = (uint32_t)o;
		m->u.m.cap = (uint32_t)o;
		m->flags |= BLF_MERGED;
	}
	if (bl_map_dedupe(ctx, m) == -1) {
		y->soft = 1;
		return -1;
	}
	return 0;
}

/* !!omap / !!pairs: a list of one-pair maps -> list of [key, value]. */
static int
finish_pairs(struct yload *y, struct bl_node *q)
{
	struct bl_node *it, *pr;
	uint32_t i;

	for (i = 0; i < q->u.q.n; i++) {
		it = q->u.q.v[i];
		if (it->kind != BLK_MAP || it->u.m.nraw != 1 ||
		    it->u.m.n != 1 || (it->flags & BLF_MERGED)) {
			y->soft = 1;
			bl_seterr(y->ctx, it->line, it->col, "while constructing "
			    "an ordered map: expected a mapping of length 1");
			return -1;
		}
		if ((pr = bl_node_new(y->ctx, BLK_SEQ, it->line, it->col)) ==
		    NULL)
			return -1;
		if (bl_seq_add(y->ctx, pr, it->u.m.v[0].k) == -1 ||
		    bl_seq_add(y->ctx, pr, it->u.m.v[0].v) == -1)
			return -1;
		q->u.q.v[i] = pr;
	}
	return 0;
}

static int
pop(struct yload *y)
{
	struct yframe f = y->fr[--y->nfr];
	struct bl_node *n = f.node;
	int rc = -1;

	if (n->kind == BLK_MAP) {
		if (finish_map(y, n) == -1)
			goto cleanup;
		if (f.pairs == 2) {	/* !!set: not JSON-serialisable */
			n->kind = BLK_BAD;
			n->flags |= BLF_UNHASHABLE;
			n->u.s.p = "set (!!set) value";
			n->u.s.len = strlen(n->u.s.p);
		}
	} else if (f.pairs == 1 && finish_pairs(y, n) == -1)
		goto cleanup;
	if (f.anchor != NULL && anchor_done(y, f.anchor, n) == -1)
		goto cleanup;
	rc = attach(y, n);
cleanup:
	free(f.anchor);
	return rc;
}

static void
parser_error(struct yload *y, const yaml_parser_t *p, const char *data,
    size_t len)
{
	size_t line, col;

	y->soft = 1;
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		y->soft = 0;
		bl_seterr_oom(y->ctx);
		break;
	case YAML_READER_ERROR:
		bl_linecol(data, len, p->problem_offset, &line, &col);
		bl_seterr(y->ctx, line, col, "%s", p->problem ? p->problem :
		    "cannot read the stream");
		break;
	default:
		if (p->context != NULL)
			bl_seterr(y->ctx, p->problem_mark.line + 1,
			    p->problem_mark.column + 1, "%s (%s that started at "
			    "line %zu, column %zu)", p->problem ? p->problem :
			    "syntax error", p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
		else
			bl_seterr(y->ctx, p->problem_mark.line + 1,
			    p->problem_mark.column + 1, "%s", p->problem ?
			    p->problem : "syntax error");
		break;
	}
}

int
bl_load_yaml(struct bl_ctx *ctx, const char *data, size_t len,
    struct bl_node **root, int *soft)
{
	struct yload y;
	yaml_parser_t p;
	yaml_event_t ev;
	struct bl_node *n;
	int done = 0, rc = -1, have_ev = 0;

	memset(&y, 0, sizeof(y));
	y.ctx = ctx;
	*root = NULL;
	*soft = 0;
	if ((y.anchors = kvmap_new()) == NULL) {
		bl_seterr_oom(ctx);
		return -1;
	}
	if (!yaml_parser_initialize(&p)) {
		kvmap_free(y.anchors);
		bl_seterr_oom(ctx);
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			parser_error(&y, &p, data, len);
			goto cleanup;
		}
		have_ev = 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++y.ndocs > 1) {
				yerr(&y, &ev.start_mark, "expected a single "
				    "document in the stream%s", ", but found "
				    "another document");
				goto cleanup;
			}
			break;
		case YAML_ALIAS_EVENT:
			n = alias_lookup(&y, (const char *)ev.data.alias.anchor,
			    &ev.start_mark);
			if (n == NULL || attach(&y, n) == -1)
				goto cleanup;
			break;
		case YAML_SCALAR_EVENT:
			if ((n = scalar_node(&y, &ev)) == NULL)
				goto cleanup;
			if (ev.data.scalar.anchor != NULL) {
				const char *a =
				    (const char *)ev.data.scalar.anchor;

				if (anchor_open(&y, a, &ev.start_mark) == -1 ||
				    anchor_done(&y, a, n) == -1)
					goto cleanup;
			}
			if (attach(&y, n) == -1)
				goto cleanup;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (push(&y, &ev, BLK_SEQ) == -1)
				goto cleanup;
			break;
		case YAML_MAPPING_START_EVENT:
			if (push(&y, &ev, BLK_MAP) == -1)
				goto cleanup;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (y.nfr == 0 || pop(&y) == -1)
				goto cleanup;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		have_ev = 0;
	}
	if (y.root == NULL &&
	    (y.root = bl_node_new(ctx, BLK_NULL, 0, 0)) == NULL)
		goto cleanup;
	*root = y.root;
	rc = 0;
cleanup:
	if (have_ev)
		yaml_event_delete(&ev);
	while (y.nfr > 0)
		free(y.fr[--y.nfr].anchor);
	free(y.fr);
	kvmap_free(y.anchors);
	yaml_parser_delete(&p);
	if (rc == -1)
		*soft = y.soft;
	return rc;
}
