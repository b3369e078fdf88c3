/*
 * The configuration's only libyaml user.
 *
 * Two steps, both iterative:
 *  1. yaml_build() turns libyaml's events into a small node tree, keeping
 *     each node's start mark. Nesting deeper than CONF_MAX_DEPTH, more than
 *     one document, unknown aliases and alias expansion beyond
 *     CONF_MAX_EXPANDED nodes are errors (no "billion laughs").
 *  2. walk_map() dispatches each mapping's keys through a sorted table of
 *     { "key", handler }. The schema is four levels deep at most, so the walk
 *     never recurses with the input's depth; free-form values (layout keys
 *     copied from a bundle) are serialised with an explicit stack.
 * Every problem is reported as "file:line:col: message" and parsing goes on;
 * conf_load() fails at the end when any error was counted.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"
#include "conf_int.h"
#include "kvmap.h"
#include "log.h"

#define CONF_MAX_ANCHORS	1024
#define CONF_MAX_EXPANDED	(4u * 1024 * 1024)
#define CONF_MAX_MERGES		64

enum yn_type { YN_SCALAR, YN_MAP, YN_SEQ };

struct yn {
	enum yn_type	 type;
	struct conf_mark mark;
	char		*str;		/* scalar text, NUL-terminated */
	size_t		 len;
	int		 plain;		/* plain, untagged: may be null/bool */
	struct yn	**kids;		/* map: key, value, key, value, ... */
	size_t		 nkids, capkids;
	char		*anchor;
	int		 open;		/* start seen, end not yet */
	size_t		 size;		/* nodes, aliases expanded (capped) */
	struct yn	*next;		/* every node, for ydoc_free() */
};

struct ydoc {
	struct yn	*root;
	struct yn	*all;
	struct yn	**anchors;
	size_t		 nanchors;
};

/* One key of a mapping, after merge keys ("<<") are applied. */
struct yent {
	const struct yn	*k, *v;
};

struct keydef;
typedef void (*key_fn)(struct conf_ctx *, void *, const struct keydef *,
    const struct yn *, const struct yn *);

struct keydef {
	const char	*name;
	key_fn		 fn;
	size_t		 off, noff;	/* field(s) in the object walked */
	const void	*arg;
};

struct keytab {
	const char		*where;		/* "unknown key 'x' in ..." */
	const struct keydef	*keys;		/* sorted by name */
	size_t			 n;
	int			 allow_x;	/* ignore "x-..." (anchors) */
};

#define FIELD(obj, off, type)	((type *)(void *)((char *)(obj) + (off)))
#define NITEMS(a)		(sizeof(a) / sizeof((a)[0]))

/* Tree */

static struct conf_mark
mark_of(yaml_mark_t m)
{
	struct conf_mark cm;

	cm.line = (int)m.line + 1;
	cm.col = (int)m.column + 1;
	return cm;
}

static struct yn *
yn_new(struct ydoc *d, enum yn_type t, yaml_mark_t m, const yaml_char_t *anchor)
{
	struct yn *n;

	n = conf_xcalloc(1, sizeof(*n));
	n->type = t;
	n->mark = mark_of(m);
	n->size = 1;
	if (anchor != NULL)
		n->anchor = conf_xstrdup((const char *)anchor);
	n->next = d->all;
	d->all = n;
	return n;
}

static void
yn_push(struct yn *parent, struct yn *kid)
{
	if (parent->nkids == parent->capkids) {
		parent->capkids = parent->capkids ? parent->capkids * 2 : 8;
		parent->kids = conf_xreallocarray(parent->kids,
		    parent->capkids, sizeof(*parent->kids));
	}
	parent->kids[parent->nkids++] = kid;
}

static void
ydoc_free(struct ydoc *d)
{
	struct yn *n, *next;

	for (n = d->all; n != NULL; n = next) {
		next = n->next;
		free(n->str);
		free(n->kids);
		free(n->anchor);
		free(n);
	}
	free(d->anchors);
	memset(d, 0, sizeof(*d));
}

static int
yn_is_null(const struct yn *n)
{
	if (n->type != YN_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

static const char *
yn_kind(const struct yn *n)
{
	if (n->type == YN_MAP)
		return "a mapping";
	if (n->type == YN_SEQ)
		return "a list";
	if (yn_is_null(n))
		return "null";
	return "a string";
}

/* A value shown in a message: control bytes escaped, long values cut. */
static const char *
show(const char *s, size_t len, char *buf, size_t bufsz)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < bufsz; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= 60) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, bufsz - o, "\\x%02x",
			    ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	return buf;
}

#define SHOW(n, b)	show((n)->str, (n)->len, (b), sizeof(b))

static void
yaml_syntax_error(struct conf_ctx *c, yaml_parser_t *p, const char *buf,
    size_t len)
{
	struct conf_mark m;
	size_t i;

	if (p->error == YAML_READER_ERROR) {
		/* the reader only knows the byte offset */
		m.line = 1;
		m.col = 1;
		for (i = 0; i < p->problem_offset && i < len; i++) {
			if (buf[i] == '\n') {
				m.line++;
				m.col = 1;
			} else if (((unsigned char)buf[i] & 0xc0) != 0x80)
				m.col++;
		}
		conf_error_at(c, m, "YAML syntax error: %s",
		    p->problem ? p->problem : "cannot read input");
		return;
	}
	m = mark_of(p->problem_mark);
	if (p->context != NULL)
		conf_error_at(c, m, "YAML syntax error: %s (%s at %d:%d)",
		    p->problem ? p->problem : "unknown problem", p->context,
		    (int)p->context_mark.line + 1,
		    (int)p->context_mark.column + 1);
	else
		conf_error_at(c, m, "YAML syntax error: %s",
		    p->problem ? p->problem : "unknown problem");
}

static void
yn_attach(struct ydoc *d, struct yn **stack, size_t depth, struct yn *n)
{
	if (depth == 0) {
		if (d->root == NULL)
			d->root = n;
		return;
	}
	yn_push(stack[depth - 1], n);
}

static void
yn_anchor(struct ydoc *d, struct yn *n)
{
	if (n->anchor == NULL)
		return;
	d->anchors = conf_xreallocarray(d->anchors, d->nanchors + 1,
	    sizeof(*d->anchors));
	d->anchors[d->nanchors++] = n;
}

/* Returns 0, or -1 after reporting why the document cannot be used. */
static int
yaml_build(struct conf_ctx *c, const char *buf, size_t len, struct ydoc *d)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct yn *stack[CONF_MAX_DEPTH], *n, *t;
	yaml_char_t *anchor;
	size_t depth = 0, i;
	int done = 0, ndocs = 0, rv = -1, have_ev = 0;
	char sb[128];

	memset(d, 0, sizeof(*d));
	if (!yaml_parser_initialize(&p))
		fatalx("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			yaml_syntax_error(c, &p, buf, len);
			goto cleanup;
		}
		have_ev = 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				conf_error_at(c, mark_of(ev.start_mark),
				    "only one YAML document is allowed");
				goto cleanup;
			}
			break;
		case YAML_SCALAR_EVENT:
			n = yn_new(d, YN_SCALAR, ev.start_mark,
			    ev.data.scalar.anchor);
			n->str = conf_xstrndup((const char *)
			    ev.data.scalar.value, ev.data.scalar.length);
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style ==
			    YAML_PLAIN_SCALAR_STYLE &&
			    ev.data.scalar.tag == NULL;
			yn_attach(d, stack, depth, n);
			yn_anchor(d, n);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			anchor = ev.type == YAML_MAPPING_START_EVENT ?
			    ev.data.mapping_start.anchor :
			    ev.data.sequence_start.anchor;
			if (depth == CONF_MAX_DEPTH) {
				conf_error_at(c, mark_of(ev.start_mark),
				    "nesting deeper than %d levels",
				    CONF_MAX_DEPTH);
				goto cleanup;
			}
			n = yn_new(d, ev.type == YAML_MAPPING_START_EVENT ?
			    YN_MAP : YN_SEQ, ev.start_mark, anchor);
			n->open = 1;
			yn_attach(d, stack, depth, n);
			stack[depth++] = n;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			n = stack[--depth];
			n->open = 0;
			for (i = 0; i < n->nkids; i++) {
				n->size += n->kids[i]->size;
				if (n->size > CONF_MAX_EXPANDED)
					n->size = CONF_MAX_EXPANDED + 1;
			}
			/* registered at the end: an alias inside it is an
			 * error, as YAML forbids recursive nodes */
			yn_anchor(d, n);
			break;
		case YAML_ALIAS_EVENT:
			t = NULL;
			for (i = d->nanchors; i > 0; i--)
				if (strcmp(d->anchors[i - 1]->anchor,
				    (const char *)ev.data.alias.anchor) == 0) {
					t = d->anchors[i - 1];
					break;
				}
			if (t == NULL) {
				conf_error_at(c, mark_of(ev.start_mark),
				    "undefined alias '%s'", show((const char *)
				    ev.data.alias.anchor, strlen((const char *)
				    ev.data.alias.anchor), sb, sizeof(sb)));
				/* keep the structure: an empty value */
				t = yn_new(d, YN_SCALAR, ev.start_mark, NULL);
				t->str = conf_xstrdup("");
				t->plain = 1;
			}
			yn_attach(d, stack, depth, t);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		have_ev = 0;
		if (d->nanchors > CONF_MAX_ANCHORS) {
			conf_error_at(c, d->anchors[d->nanchors - 1]->mark,
			    "more than %d anchors", CONF_MAX_ANCHORS);
			goto cleanup;
		}
	}
	if (d->root != NULL && d->root->size > CONF_MAX_EXPANDED) {
		conf_error_at(c, d->root->mark, "aliases expand to more than "
		    "%u nodes", CONF_MAX_EXPANDED);
		goto cleanup;
	}
	rv = 0;
 cleanup:
	if (have_ev)
		yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	return rv;
}

/* Mappings */

static void
merge_source(struct conf_ctx *c, const struct yn *v, const struct yn **q,
    size_t *nq)
{
	size_t i;

	if (v->type == YN_MAP) {
		if (*nq == CONF_MAX_MERGES) {
			conf_error_at(c, v->mark, "more than %d merged "
			    "mappings", CONF_MAX_MERGES);
			return;
		}
		q[(*nq)++] = v;
		return;
	}
	if (v->type == YN_SEQ) {
		for (i = 0; i < v->nkids; i++) {
			if (v->kids[i]->type != YN_MAP) {
				conf_error_at(c, v->kids[i]->mark, "'<<' "
				    "expects a mapping or a list of mappings, "
				    "got %s",
				    yn_kind(v->kids[i]));
				continue;
			}
			merge_source(c, v->kids[i], q, nq);
		}
		return;
	}
	conf_error_at(c, v->mark, "'<<' expects a mapping or a list of "
	    "mappings, got %s", yn_kind(v));
}

static int
is_merge_key(const struct yn *k)
{
	return k->type == YN_SCALAR && k->plain && strcmp(k->str, "<<") == 0;
}

/*
 * The keys of a mapping in file order, then those of merged mappings ("<<")
 * not given explicitly. Non-string and duplicate keys are reported and left
 * out. *out must be freed with free().
 */
static size_t
map_entries(struct conf_ctx *c, const struct yn *map, struct yent **out)
{
	const struct yn *q[CONF_MAX_MERGES], *src, *k;
	struct kvmap *seen;
	const struct kv_entry *e;
	struct yent *ents;
	size_t n = 0, nq = 0, qi, i;
	char pos[32], sb[128];

	if ((seen = kvmap_new()) == NULL)
		fatal("%s", __func__);
	ents = conf_xcalloc(map->nkids / 2 + 1, sizeof(*ents));
	for (i = 0; i + 1 < map->nkids; i += 2) {
		k = map->kids[i];
		if (k->type != YN_SCALAR || yn_is_null(k)) {
			conf_error_at(c, k->mark, "expected a string key, "
			    "got %s", yn_kind(k));
			continue;
		}
		if (is_merge_key(k)) {
			merge_source(c, map->kids[i + 1], q, &nq);
			continue;
		}
		if (strlen(k->str) != k->len) {
			conf_error_at(c, k->mark, "key contains a NUL byte");
			continue;
		}
		if ((e = kvmap_get(seen, k->str, k->len)) != NULL) {
			conf_error_at(c, k->mark, "duplicate key '%s' (first "
			    "at %s)", SHOW(k, sb), e->val);
			continue;
		}
		snprintf(pos, sizeof(pos), "%d:%d", k->mark.line, k->mark.col);
		if (kvmap_puts(seen, k->str, pos) == -1)
			fatal("%s", __func__);
		ents[n].k = k;
		ents[n].v = map->kids[i + 1];
		n++;
	}
	/* merged keys: explicit ones win, then earlier sources */
	for (qi = 0; qi < nq; qi++) {
		src = q[qi];
		for (i = 0; i + 1 < src->nkids; i += 2) {
			k = src->kids[i];
			if (is_merge_key(k)) {
				merge_source(c, src->kids[i + 1], q, &nq);
				continue;
			}
			if (k->type != YN_SCALAR || yn_is_null(k) ||
			    strlen(k->str) != k->len ||
			    kvmap_get(seen, k->str, k->len) != NULL)
				continue;
			if (kvmap_puts(seen, k->str, "merged") == -1)
				fatal("%s", __func__);
			ents = conf_xreallocarray(ents, n + 1, sizeof(*ents));
			ents[n].k = k;
			ents[n].v = src->kids[i + 1];
			n++;
		}
	}
	kvmap_free(seen);
	*out = ents;
	return n;
}

static int
keydef_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, ((const struct keydef *)b)->name);
}

static void
unknown_key(struct conf_ctx *c, const struct keytab *t, const struct yn *k)
{
	const char **cands;
	const char *sugg;
	size_t i;
	char sb[128];

	cands = conf_xcalloc(t->n, sizeof(*cands));
	for (i = 0; i < t->n; i++)
		cands[i] = t->keys[i].name;
	sugg = conf_suggest(k->str, cands, t->n);
	if (sugg != NULL)
		conf_error_at(c, k->mark, "unknown key '%s' in %s; did you "
		    "mean '%s'?", SHOW(k, sb), t->where, sugg);
	else
		conf_error_at(c, k->mark, "unknown key '%s' in %s",
		    SHOW(k, sb), t->where);
	free(cands);
}

/* Where a key and its value were given (line 0: not given). */
struct given {
	struct conf_mark	 k, v;
};

/*
 * Dispatch the keys of map through t. With given (t->n entries, zeroed by
 * the caller), the marks of each key handled are recorded at its index in
 * t->keys, for checks that need the whole mapping (datasource types).
 */
static void
walk_map_given(struct conf_ctx *c, const struct keytab *t, void *obj,
    const struct yn *map, struct given *given)
{
	const struct keydef *kd;
	struct yent *ents;
	size_t n, i;

	n = map_entries(c, map, &ents);
	for (i = 0; i < n; i++) {
		kd = bsearch(ents[i].k->str, t->keys, t->n, sizeof(*t->keys),
		    keydef_cmp);
		if (kd == NULL) {
			if (!(t->allow_x && strncmp(ents[i].k->str, "x-",
			    2) == 0))
				unknown_key(c, t, ents[i].k);
			continue;
		}
		/* "key:" or "key: null" is the same as leaving it out */
		if (yn_is_null(ents[i].v))
			continue;
		if (given != NULL) {
			given[kd - t->keys].k = ents[i].k->mark;
			given[kd - t->keys].v = ents[i].v->mark;
		}
		kd->fn(c, obj, kd, ents[i].k, ents[i].v);
	}
	free(ents);
}

static void
walk_map(struct conf_ctx *c, const struct keytab *t, void *obj,
    const struct yn *map)
{
	walk_map_given(c, t, obj, map, NULL);
}

/* Scalars */

/* The text of a scalar, or NULL after reporting what was wrong. */
static const char *
want_string(struct conf_ctx *c, const char *name, const struct yn *v,
    const char *what)
{
	if (v->type != YN_SCALAR || yn_is_null(v)) {
		conf_error_at(c, v->mark, "%s: expected %s, got %s", name,
		    what, yn_kind(v));
		return NULL;
	}
	if (strlen(v->str) != v->len) {
		conf_error_at(c, v->mark, "%s: contains a NUL byte", name);
		return NULL;
	}
	return v->str;
}

static void
set_str(char **field, const char *s)
{
	free(*field);
	*field = conf_xstrdup(s);
}

static int
parse_bool(const struct yn *v)
{
	static const char *const t[] = { "true", "yes", "on" };
	static const char *const f[] = { "false", "no", "off" };
	size_t i;

	if (v->type != YN_SCALAR || !v->plain)
		return -1;
	/* YAML 1.1 spellings, in the three cases YAML allows */
	for (i = 0; i < NITEMS(t); i++) {
		if (strcasecmp(v->str, t[i]) == 0)
			return 1;
		if (strcasecmp(v->str, f[i]) == 0)
			return 0;
	}
	return -1;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static const char *
bad_repo_path(const char *f)
{
	const char *p, *seg;

	if (*f == '\0')
		return "is empty";
	if (*f == '/')
		return "must be relative to the repository root";
	for (seg = f; seg != NULL; seg = p ? p + 1 : NULL) {
		p = strchr(seg, '/');
		if ((p ? (size_t)(p - seg) : strlen(seg)) == 2 &&
		    strncmp(seg, "..", 2) == 0)
			return "must not contain '..'";
	}
	return NULL;
}

/* Generic handlers; kd->off is the field in obj */

static void
h_str(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) != NULL)
		set_str(FIELD(obj, kd->off, char *), s);
}

static void
h_bool(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	int b;
	char sb[128];

	if (v->type != YN_SCALAR) {
		conf_error_at(c, v->mark, "%s: expected a bool, got %s",
		    kd->name, yn_kind(v));
		return;
	}
	if ((b = parse_bool(v)) == -1) {
		conf_error_at(c, v->mark, "%s: expected a bool (true or "
		    "false), got '%s'", kd->name, SHOW(v, sb));
		return;
	}
	*FIELD(obj, kd->off, int) = b;
}

/* kd->arg: the minimum in ms, as an integer (1 = "greater than 0"). */
static void
h_duration(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	uint64_t ms, min = (uint64_t)(uintptr_t)kd->arg;
	const char *s;
	char sb[128], db[32];

	if ((s = want_string(c, kd->name, v, "a duration")) == NULL)
		return;
	if (conf_parse_duration(s, &ms) == -1) {
		conf_error_at(c, v->mark, "%s: invalid duration '%s'%s",
		    kd->name, SHOW(v, sb), all_digits(s) ?
		    " (missing unit: ms, s, m or h)" : "");
		return;
	}
	if (ms < min) {
		if (min <= 1)
			conf_error_at(c, v->mark, "%s: must be greater than 0",
			    kd->name);
		else
			conf_error_at(c, v->mark, "%s: must be at least %s",
			    kd->name, conf_format_duration(db, sizeof(db),
			    min));
		return;
	}
	*FIELD(obj, kd->off, uint64_t) = ms;
}

/* kd->off: unsigned int; a count 1..1000 */
static void
h_count(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	char sb[128];

	if (v->type != YN_SCALAR || !v->plain || !all_digits(v->str) ||
	    v->len > 4 || atoi(v->str) < 1 || atoi(v->str) > 1000) {
		conf_error_at(c, v->mark, "%s: expected an integer 1..1000, "
		    "got %s%s%s", kd->name, v->type == YN_SCALAR ? "'" : "",
		    v->type == YN_SCALAR ? SHOW(v, sb) : yn_kind(v),
		    v->type == YN_SCALAR ? "'" : "");
		return;
	}
	*FIELD(obj, kd->off, unsigned int) = (unsigned int)atoi(v->str);
}

/* kd->off: char **, kd->noff: size_t count */
static void
h_strlist(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	char ***list = FIELD(obj, kd->off, char **);
	size_t *n = FIELD(obj, kd->noff, size_t), i;
	const char *s;
	char name[96];

	if (v->type != YN_SEQ) {
		conf_error_at(c, v->mark, "%s: expected a list, got %s",
		    kd->name, yn_kind(v));
		return;
	}
	conf_strv_free(*list, *n);
	*list = NULL;
	*n = 0;
	for (i = 0; i < v->nkids; i++) {
		snprintf(name, sizeof(name), "%s[%zu]", kd->name, i);
		if ((s = want_string(c, name, v->kids[i], "a string")) != NULL)
			conf_strv_push(list, n, s);
	}
}

/* kd->off: struct conf_pair *, kd->noff: size_t count */
static void
h_strmap(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_pair **pairs = FIELD(obj, kd->off, struct conf_pair *);
	size_t *n = FIELD(obj, kd->noff, size_t), ne, i;
	struct yent *ents;
	const char *s;
	char name[192], sb[128];

	if (v->type != YN_MAP) {
		conf_error_at(c, v->mark, "%s: expected a mapping, got %s",
		    kd->name, yn_kind(v));
		return;
	}
	conf_pairs_free(*pairs, *n);
	*pairs = NULL;
	*n = 0;
	ne = map_entries(c, v, &ents);
	for (i = 0; i < ne; i++) {
		snprintf(name, sizeof(name), "%s['%s']", kd->name,
		    SHOW(ents[i].k, sb));
		if ((s = want_string(c, name, ents[i].v, "a string")) == NULL)
			continue;
		*pairs = conf_xreallocarray(*pairs, *n + 1, sizeof(**pairs));
		memset(&(*pairs)[*n], 0, sizeof(**pairs));
		(*pairs)[*n].key = conf_xstrdup(ents[i].k->str);
		(*pairs)[*n].val = conf_xstrdup(s);
		(*n)++;
	}
	free(ents);
}

/* kd->arg: the keytab of a nested mapping walked with the same object */
static void
h_section(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	if (v->type != YN_MAP) {
		conf_error_at(c, v->mark, "%s: expected a mapping, got %s",
		    kd->name, yn_kind(v));
		return;
	}
	walk_map(c, kd->arg, obj, v);
}

/* A string that must not be empty. */
static void
h_nonempty(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (*s == '\0') {
		conf_error_at(c, v->mark, "%s: must not be empty", kd->name);
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
}

/* An absolute path (files read or written on a server). */
static void
h_abs_path(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char sb[128];

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (*s != '/') {
		conf_error_at(c, v->mark, "%s: '%s' is not an absolute path",
		    kd->name, SHOW(v, sb));
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
}

/* A ZooKeeper base path: "" or "/...", trailing '/' stripped (§3.3). */
static void
h_base_path(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char **field = FIELD(obj, kd->off, char *), sb[128];
	size_t len;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (*s != '\0' && *s != '/') {
		conf_error_at(c, v->mark, "%s: '%s' must be empty or start "
		    "with '/'", kd->name, SHOW(v, sb));
		return;
	}
	len = strlen(s);
	while (len > 0 && s[len - 1] == '/')
		len--;
	free(*field);
	*field = conf_xstrndup(s, len);
}

/* kd->off: unsigned int, a TCP port 1..65535 */
static void
h_port(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	char sb[128];

	if (v->type != YN_SCALAR || !v->plain || !all_digits(v->str) ||
	    v->len > 5 || atoi(v->str) < 1 || atoi(v->str) > 65535) {
		conf_error_at(c, v->mark, "%s: expected a port 1..65535, "
		    "got %s%s%s", kd->name, v->type == YN_SCALAR ? "'" : "",
		    v->type == YN_SCALAR ? SHOW(v, sb) : yn_kind(v),
		    v->type == YN_SCALAR ? "'" : "");
		return;
	}
	*FIELD(obj, kd->off, unsigned int) = (unsigned int)atoi(v->str);
}

/* "1048576", "512KiB", "16MiB", "1GiB"; 1 byte .. CONF_MAX_FILE_BYTES_CAP */
int
conf_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char	*unit;
		uint64_t	 mul;
	} units[] = {
		{ "", 1 }, { "B", 1 }, { "KiB", 1024 }, { "MiB", 1024 * 1024 },
		{ "GiB", 1024 * 1024 * 1024 },
	};
	uint64_t n = 0;
	const char *p = s;
	size_t i;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > CONF_MAX_FILE_BYTES_CAP)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	for (i = 0; i < NITEMS(units); i++)
		if (strcmp(p, units[i].unit) == 0)
			break;
	if (i == NITEMS(units) || n > CONF_MAX_FILE_BYTES_CAP / units[i].mul)
		return -1;
	n *= units[i].mul;
	if (n == 0 || n > CONF_MAX_FILE_BYTES_CAP)
		return -1;
	*out = n;
	return 0;
}

/* kd->off: uint64_t bytes */
static void
h_size(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char sb[128];

	if ((s = want_string(c, kd->name, v, "a size")) == NULL)
		return;
	if (conf_parse_size(s, FIELD(obj, kd->off, uint64_t)) == -1)
		conf_error_at(c, v->mark, "%s: invalid size '%s' (bytes, or "
		    "a number with KiB, MiB or GiB; 1 byte to 1GiB)", kd->name,
		    SHOW(v, sb));
}

/*
 * The whole of a regular file of at most cap bytes (NUL-terminated, *len
 * without it), or -1 and why. Key files go through here: on failure the
 * buffer is wiped.
 */
static int
read_blob(const char *path, size_t cap, char **out, size_t *outlen,
    char *why, size_t whylen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	*outlen = 0;
	/* O_NONBLOCK: a FIFO must not hang the load */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		goto fail;
	}
	buf = conf_xcalloc(1, cap + 2);
	for (;;) {
		n = read(fd, buf + len, cap + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whylen, "%s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > cap) {
			if (cap % (1024 * 1024) == 0)
				snprintf(why, whylen, "larger than %zu MiB",
				    cap / (1024 * 1024));
			else
				snprintf(why, whylen, "larger than %zu KiB",
				    cap / 1024);
			goto fail;
		}
	}
	close(fd);
	if (len == 0) {
		snprintf(why, whylen, "file is empty");
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
 fail:
	close(fd);
	if (buf != NULL) {
		explicit_bzero(buf, cap + 2);
		free(buf);
	}
	return -1;
}

/* Secrets: "literal", {env: NAME} or {file: PATH} */

struct secret_ref {
	char		*env, *file;
	struct conf_mark env_m, file_m;
};

static void
h_ref(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct secret_ref *r = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (*s == '\0') {
		conf_error_at(c, v->mark, "%s: must not be empty", kd->name);
		return;
	}
	if (strcmp(kd->name, "env") == 0) {
		set_str(&r->env, s);
		r->env_m = v->mark;
	} else {
		set_str(&r->file, s);
		r->file_m = v->mark;
	}
}

static const struct keydef secret_keys[] = {
	{ "env",	h_ref, 0, 0, NULL },
	{ "file",	h_ref, 0, 0, NULL },
};
static const struct keytab secret_tab = {
	"secret reference", secret_keys, NITEMS(secret_keys), 0
};

static int
read_secret_file(const char *path, char **out, const char **why)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*why = strerror(errno);
		return -1;
	}
	buf = conf_xcalloc(1, CONF_MAX_SECRET_BYTES + 2);
	for (;;) {
		n = read(fd, buf + len, CONF_MAX_SECRET_BYTES + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*why = strerror(errno);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONF_MAX_SECRET_BYTES) {
			*why = "file too large";
			goto fail;
		}
	}
	close(fd);
	fd = -1;
	if (memchr(buf, '\0', len) != NULL) {
		*why = "file contains a NUL byte";
		goto fail;
	}
	/* one trailing newline, as "echo secret > file" leaves */
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	}
	*out = buf;
	return 0;
 fail:
	if (fd != -1)
		close(fd);
	explicit_bzero(buf, CONF_MAX_SECRET_BYTES + 2);
	free(buf);
	return -1;
}

/* Never put a secret's value in a message. */
static void
h_secret(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_secret *sec = FIELD(obj, kd->off, struct conf_secret);
	struct secret_ref r;
	const char *ev, *why;
	char *val = NULL, sb[128];

	memset(&r, 0, sizeof(r));
	c->secret_given = 1;
	if (v->type == YN_SCALAR) {
		if (strlen(v->str) != v->len) {
			conf_error_at(c, v->mark, "%s: contains a NUL byte",
			    kd->name);
			return;
		}
		conf_secret_free(sec);
		sec->src = SECRET_LITERAL;
		sec->value = conf_xstrdup(v->str);
		conf_warning_at(c, v->mark, "literal secret in '%s'; use "
		    "{env: NAME} or {file: PATH}", kd->name);
		return;
	}
	if (v->type != YN_MAP) {
		conf_error_at(c, v->mark, "%s: expected a string, {env: NAME} "
		    "or {file: PATH}, got %s", kd->name, yn_kind(v));
		return;
	}
	walk_map(c, &secret_tab, &r, v);
	if (r.env != NULL && r.file != NULL) {
		conf_error_at(c, v->mark, "%s: give either env or file, not "
		    "both", kd->name);
		goto cleanup;
	}
	if (r.env == NULL && r.file == NULL) {
		/* an unknown key was already reported when there was one */
		if (v->nkids == 0)
			conf_error_at(c, v->mark, "%s: expected {env: NAME} "
			    "or {file: PATH}, got an empty mapping", kd->name);
		goto cleanup;
	}
	if (r.env != NULL) {
		if ((ev = getenv(r.env)) == NULL) {
			conf_error_at(c, r.env_m, "%s: environment variable "
			    "'%s' is not set", kd->name, show(r.env,
			    strlen(r.env), sb, sizeof(sb)));
			goto cleanup;
		}
		conf_secret_free(sec);
		sec->src = SECRET_ENV;
		sec->ref = r.env;
		sec->value = conf_xstrdup(ev);
		r.env = NULL;
		goto cleanup;
	}
	if (read_secret_file(r.file, &val, &why) == -1) {
		conf_error_at(c, r.file_m, "%s: cannot read secret file '%s': "
		    "%s", kd->name, show(r.file, strlen(r.file), sb,
		    sizeof(sb)), why);
		goto cleanup;
	}
	conf_secret_free(sec);
	sec->src = SECRET_FILE;
	sec->ref = r.file;
	sec->value = val;
	r.file = NULL;
 cleanup:
	free(r.env);
	free(r.file);
}

/* watcher: */

static void
h_log_level(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	static const char *const lvl[] = { "error", "warn", "info", "debug" };
	struct vtw_conf *conf = obj;
	const char *s;
	char sb[128];
	int l;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if ((l = log_level_parse(s)) == -1) {
		conf_error_at(c, v->mark, "%s: invalid log level '%s' (debug, "
		    "info, warn, error)", kd->name, SHOW(v, sb));
		return;
	}
	set_str(&conf->log_level, lvl[l]);
	c->waux.log_level = v->mark;
}

static void
h_app_env(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	set_str(&conf->app_env, s);
	c->waux.app_env = v->mark;
}

/* kd->arg non-NULL: an admin listen address (empty host and port 0 ok) */
static void
h_addr(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char err[256];

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (conf_check_hostport(s, kd->arg != NULL, err, sizeof(err)) == -1) {
		conf_error_at(c, v->mark, "%s: %s", kd->name, err);
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
}

#define ORCH_DUR(k, f) { k, h_duration, offsetof(struct vtw_conf, f), 0, \
	    (const void *)(uintptr_t)1 }
#define ORCH_CNT(k, f) { k, h_count, offsetof(struct vtw_conf, f), 0, NULL }
static const struct keydef orch_keys[] = {
	{ "addr", h_str, offsetof(struct vtw_conf, orchestrator_addr), 0,
	    NULL },
	ORCH_CNT("breaker_failures", breaker_failures),
	ORCH_DUR("breaker_open", breaker_open_ms),
	ORCH_DUR("flap_holdoff", flap_holdoff_ms),
	ORCH_CNT("flap_limit", flap_limit),
	ORCH_DUR("heal_timeout", heal_timeout_ms),
	ORCH_DUR("ping_interval", ping_interval_ms),
	ORCH_CNT("retry_attempts", retry_attempts),
	ORCH_DUR("retry_initial", retry_initial_ms),
	ORCH_DUR("retry_max", retry_max_ms),
};
static const struct keytab orch_tab = {
	"watcher.orchestrator", orch_keys, NITEMS(orch_keys), 0
};

static const struct keydef tls_keys[] = {
	{ "ca_file", h_str, offsetof(struct vtw_conf, tls_ca_file), 0, NULL },
	{ "cert_file", h_str, offsetof(struct vtw_conf, tls_cert_file), 0,
	    NULL },
	{ "key_file", h_str, offsetof(struct vtw_conf, tls_key_file), 0,
	    NULL },
};
static const struct keytab tls_tab = {
	"watcher.tls", tls_keys, NITEMS(tls_keys), 0
};

static const struct keydef sandbox_keys[] = {
	{ "user", h_str, offsetof(struct vtw_conf, sandbox_user), 0, NULL },
};
static const struct keytab sandbox_tab = {
	"watcher.sandbox", sandbox_keys, NITEMS(sandbox_keys), 0
};

static const struct keydef watcher_keys[] = {
	{ "admin_addr", h_addr, offsetof(struct vtw_conf, admin_addr), 0,
	    "admin" },
	{ "app_env", h_app_env, 0, 0, NULL },
	{ "cache_dir", h_str, offsetof(struct vtw_conf, cache_dir), 0, NULL },
	{ "log_level", h_log_level, 0, 0, NULL },
	{ "orchestrator", h_section, 0, 0, &orch_tab },
	{ "poll_interval", h_duration, offsetof(struct vtw_conf,
	    poll_interval_ms), 0, (const void *)(uintptr_t)CONF_MIN_POLL_MS },
	{ "sandbox", h_section, 0, 0, &sandbox_tab },
	{ "tls", h_section, 0, 0, &tls_tab },
	{ "worker_dir", h_str, offsetof(struct vtw_conf, worker_dir), 0,
	    NULL },
};
static const struct keytab watcher_tab = {
	"watcher", watcher_keys, NITEMS(watcher_keys), 0
};

/* platforms: */

static const char *const platform_types[] = {
	"local", "github", "gitlab", "gitea", "bitbucket"
};

static const char *const ds_types[] = {
	"redis", "mongo", "zookeeper", "s3", "configmap", "helm", "vercel",
	"linux_server"
};

static void
bad_type(struct conf_ctx *c, const char *what, const struct yn *v,
    const char *const *types, size_t n)
{
	const char *sugg;
	char sb[128], list[256] = "";
	size_t i, off = 0;

	for (i = 0; i < n && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off,
		    "%s%s", i ? ", " : "", types[i]);
	if ((sugg = conf_suggest(v->str, types, n)) != NULL)
		conf_error_at(c, v->mark, "unknown %s type '%s'; did you mean "
		    "'%s'?", what, SHOW(v, sb), sugg);
	else
		conf_error_at(c, v->mark, "unknown %s type '%s' (expected one "
		    "of: %s)", what, SHOW(v, sb), list);
}

static int
platform_type_known(const char *s)
{
	size_t i;

	for (i = 0; i < NITEMS(platform_types); i++)
		if (strcmp(s, platform_types[i]) == 0)
			return 1;
	return 0;
}

static void
h_platform_type(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_platform *p = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	set_str(&p->type, s);
	if (!platform_type_known(s))
		bad_type(c, "platform", v, platform_types,
		    NITEMS(platform_types));
}

static const struct keydef platform_keys[] = {
	{ "endpoint", h_str, offsetof(struct conf_platform, endpoint), 0,
	    NULL },
	{ "name", h_str, offsetof(struct conf_platform, name), 0, NULL },
	{ "org_name", h_str, offsetof(struct conf_platform, org_name), 0,
	    NULL },
	{ "token", h_secret, offsetof(struct conf_platform, token), 0, NULL },
	{ "type", h_platform_type, 0, 0, NULL },
};
static const struct keytab platform_tab = {
	"platform", platform_keys, NITEMS(platform_keys), 0
};

/* datasources: */

enum {
	DS_REDIS = 1 << 0,
	DS_MONGO = 1 << 1,
	DS_ZK = 1 << 2,
	DS_LINUX = 1 << 3,
	DS_ALL = DS_REDIS | DS_MONGO | DS_ZK | DS_LINUX,
};

/* The supported types, in ds_types order; 0 for the others. */
static unsigned int
ds_type_bit(const char *type)
{
	static const struct {
		const char	*name;
		unsigned int	 bit;
	} t[] = {
		{ "redis", DS_REDIS }, { "mongo", DS_MONGO },
		{ "zookeeper", DS_ZK }, { "linux_server", DS_LINUX },
	};
	size_t i;

	if (type == NULL)
		return 0;
	for (i = 0; i < NITEMS(t); i++)
		if (strcmp(type, t[i].name) == 0)
			return t[i].bit;
	return 0;
}

static void
h_ds_type(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_datasource *ds = obj;
	const char *s;
	size_t i;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	set_str(&ds->type, s);
	for (i = 0; i < NITEMS(ds_types); i++)
		if (strcmp(s, ds_types[i]) == 0)
			break;
	if (i == NITEMS(ds_types))
		bad_type(c, "datasource", v, ds_types, NITEMS(ds_types));
	else if (ds_type_bit(s) == 0)
		conf_error_at(c, v->mark, "datasource type '%s' is not "
		    "supported yet", s);
}

static void
h_hosts(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_datasource *ds = obj;
	const struct yn *h;
	const char *s;
	size_t i, n;
	char name[64], err[256];

	c->ds_hosts = v->mark;
	conf_strv_free(ds->hosts, ds->nhosts);
	ds->hosts = NULL;
	ds->nhosts = 0;
	if (v->type == YN_MAP) {
		conf_error_at(c, v->mark, "%s: expected a list, got %s",
		    kd->name, yn_kind(v));
		c->ds_nhosts_given = SIZE_MAX;
		return;
	}
	n = v->type == YN_SEQ ? v->nkids : 1;
	for (i = 0; i < n; i++) {
		h = v->type == YN_SEQ ? v->kids[i] : v;
		if (v->type == YN_SEQ)
			snprintf(name, sizeof(name), "%s[%zu]", kd->name, i);
		else
			snprintf(name, sizeof(name), "%s", kd->name);
		if ((s = want_string(c, name, h, "a string")) == NULL)
			continue;
		if (conf_check_hostport(s, 0, err, sizeof(err)) == -1) {
			conf_error_at(c, h->mark, "%s: %s", name, err);
			continue;
		}
		conf_strv_push(&ds->hosts, &ds->nhosts, s);
	}
	c->ds_nhosts_given = n;
}

static void
h_db(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_datasource *ds = obj;
	char sb[128];

	if (v->type != YN_SCALAR || !v->plain || !all_digits(v->str) ||
	    v->len > 2 || atoi(v->str) > 15) {
		conf_error_at(c, v->mark, "%s: expected an integer 0..15, "
		    "got %s%s%s", kd->name, v->type == YN_SCALAR ? "'" : "",
		    v->type == YN_SCALAR ? SHOW(v, sb) : yn_kind(v),
		    v->type == YN_SCALAR ? "'" : "");
		return;
	}
	ds->db = atoi(v->str);
}

static int
mongo_scheme_ok(const char *uri)
{
	return strncmp(uri, "mongodb://", 10) == 0 ||
	    strncmp(uri, "mongodb+srv://", 14) == 0;
}

/*
 * kd->off: struct conf_secret. A mongo URI: a secret when it carries
 * credentials. A literal without
 * them is plain configuration (no warning). The URI itself is never shown
 * in a message: it may hold a password.
 */
static void
h_uri(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_secret *sec = FIELD(obj, kd->off, struct conf_secret);
	size_t nerr = c->errs->n;

	if (v->type != YN_SCALAR) {
		/* {env: NAME} or {file: PATH} */
		h_secret(c, obj, kd, k, v);
		if (c->errs->n == nerr && sec->value != NULL &&
		    !mongo_scheme_ok(sec->value))
			conf_error_at(c, v->mark, "%s: must start with "
			    "mongodb:// or mongodb+srv://", kd->name);
		return;
	}
	if (strlen(v->str) != v->len) {
		conf_error_at(c, v->mark, "%s: contains a NUL byte", kd->name);
		return;
	}
	if (!mongo_scheme_ok(v->str)) {
		conf_error_at(c, v->mark, "%s: must start with mongodb:// or "
		    "mongodb+srv://", kd->name);
		return;
	}
	conf_secret_free(sec);
	sec->src = SECRET_LITERAL;
	sec->value = conf_xstrdup(v->str);
	if (conf_uri_has_credentials(v->str))
		conf_warning_at(c, v->mark, "literal secret in '%s' "
		    "(credentials in the URI); use {env: NAME} or {file: PATH}",
		    kd->name);
}

#define DS(f)		offsetof(struct conf_datasource, f)
#define DS_DUR(k, f, min) { k, h_duration, DS(f), 0, \
	    (const void *)(uintptr_t)(min) }

static const struct keydef ds_keys[] = {
	{ "base_path", h_base_path, DS(base_path), 0, NULL },
	DS_DUR("breaker_backoff", breaker_backoff_ms, 1),
	{ "breaker_failures", h_count, DS(breaker_failures), 0, NULL },
	DS_DUR("breaker_max_backoff", breaker_max_backoff_ms, 1),
	{ "collection", h_nonempty, DS(collection), 0, NULL },
	DS_DUR("command_timeout", command_timeout_ms, 1),
	DS_DUR("connect_timeout", connect_timeout_ms, 1),
	{ "database", h_nonempty, DS(database), 0, NULL },
	{ "db", h_db, 0, 0, NULL },
	{ "hosts", h_hosts, 0, 0, NULL },
	{ "max_file_bytes", h_size, DS(max_file_bytes), 0, NULL },
	{ "name", h_str, DS(name), 0, NULL },
	{ "password", h_secret, DS(password), 0, NULL },
	DS_DUR("server_selection_timeout", server_selection_timeout_ms, 1),
	DS_DUR("session_timeout", session_timeout_ms, 1000),
	{ "ssh_host", h_nonempty, DS(ssh_host), 0, NULL },
	{ "ssh_key_path", h_nonempty, DS(ssh_key_path), 0, NULL },
	{ "ssh_known_hosts_file", h_nonempty, DS(ssh_known_hosts_file), 0,
	    NULL },
	{ "ssh_password", h_secret, DS(password), 0, NULL },
	{ "ssh_port", h_port, DS(ssh_port), 0, NULL },
	{ "ssh_user", h_nonempty, DS(ssh_user), 0, NULL },
	{ "tls", h_bool, DS(tls), 0, NULL },
	{ "tls_ca_file", h_nonempty, DS(tls_ca_file), 0, NULL },
	{ "tls_insecure", h_bool, DS(tls_insecure), 0, NULL },
	{ "type", h_ds_type, 0, 0, NULL },
	{ "uri", h_uri, DS(uri), 0, NULL },
	{ "username", h_nonempty, DS(username), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};

/* The datasource types a key belongs to (default: all). */
static unsigned int
ds_key_types(const char *key)
{
	static const struct {
		const char	*key;
		unsigned int	 types;
	} t[] = {
		{ "base_path", DS_ZK },
		{ "collection", DS_MONGO },
		{ "database", DS_MONGO },
		{ "db", DS_REDIS },
		{ "hosts", DS_REDIS | DS_MONGO | DS_ZK },
		{ "max_file_bytes", DS_LINUX },
		{ "password", DS_REDIS | DS_ZK },
		{ "server_selection_timeout", DS_MONGO },
		{ "session_timeout", DS_ZK },
		{ "ssh_host", DS_LINUX },
		{ "ssh_key_path", DS_LINUX },
		{ "ssh_known_hosts_file", DS_LINUX },
		{ "ssh_password", DS_LINUX },
		{ "ssh_port", DS_LINUX },
		{ "ssh_user", DS_LINUX },
		{ "tls", DS_MONGO },
		{ "tls_ca_file", DS_MONGO },
		{ "tls_insecure", DS_MONGO },
		{ "uri", DS_MONGO },
		{ "username", DS_ZK },
	};
	size_t i;

	for (i = 0; i < NITEMS(t); i++)
		if (strcmp(t[i].key, key) == 0)
			return t[i].types;
	return DS_ALL;
}

/* The marks of a key of ds_keys (line 0 when it was not given). */
static const struct given *
ds_given(const struct given *given, const char *key)
{
	const struct keydef *kd;

	kd = bsearch(key, ds_keys, NITEMS(ds_keys), sizeof(*ds_keys),
	    keydef_cmp);
	if (kd == NULL)
		fatalx("%s: no key '%s'", __func__, key);
	return &given[kd - ds_keys];
}

#define GIVEN(key)	(ds_given(given, (key))->k.line != 0)
#define GIVEN_K(key)	(ds_given(given, (key))->k)
#define GIVEN_V(key)	(ds_given(given, (key))->v)

/* Keys of another datasource type: "uri: not a key of a redis datasource
 * (mongo only)". */
static void
ds_check_keys(struct conf_ctx *c, const struct conf_datasource *ds,
    unsigned int bit, const struct given *given)
{
	static const char *const names[] = {
		"redis", "mongo", "zookeeper", "linux_server"
	};
	unsigned int types;
	size_t i, j, off;
	char list[96];

	for (i = 0; i < NITEMS(ds_keys); i++) {
		if (given[i].k.line == 0)
			continue;
		types = ds_key_types(ds_keys[i].name);
		if (types & bit)
			continue;
		list[0] = '\0';
		for (j = off = 0; j < NITEMS(names) && off < sizeof(list); j++)
			if (types & (1u << j))
				off += (size_t)snprintf(list + off,
				    sizeof(list) - off, "%s%s", off ? ", " : "",
				    names[j]);
		conf_error_at(c, given[i].k, "%s: not a key of a %s datasource "
		    "(%s only)", ds_keys[i].name, ds->type, list);
	}
}

static void
ds_finish_redis(struct conf_ctx *c, struct conf_datasource *ds,
    const struct yn *node)
{
	if (c->ds_hosts.line == 0)
		conf_error_at(c, node->mark, "missing required key 'hosts' in "
		    "datasource '%s'", ds->name);
	else if (c->ds_nhosts_given != 1 && c->ds_nhosts_given != SIZE_MAX)
		conf_error_at(c, c->ds_hosts, "hosts: expected exactly one "
		    "\"host:port\" for redis, got %zu%s", c->ds_nhosts_given,
		    c->ds_nhosts_given > 1 ?
		    " (redis cluster is not supported yet)" : "");
}

static void
ds_finish_mongo(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given)
{
	size_t i, len, off;

	if (GIVEN("hosts") && c->ds_nhosts_given == 0)
		conf_error_at(c, c->ds_hosts, "hosts: expected at least one "
		    "\"host:port\" for mongo, got 0");
	if (GIVEN("uri") && GIVEN("hosts"))
		conf_error_at(c, GIVEN_K("uri"), "uri: give either uri or "
		    "hosts, not both");
	if (!GIVEN("uri")) {
		conf_secret_free(&ds->uri);
		ds->uri.src = SECRET_LITERAL;
		ds->uri_derived = 1;
		if (ds->nhosts == 0)
			ds->uri.value = conf_xstrdup(CONF_DEFAULT_MONGO_URI);
		else {
			len = strlen("mongodb://") + 2;
			for (i = 0; i < ds->nhosts; i++)
				len += strlen(ds->hosts[i]) + 1;
			ds->uri.value = conf_xcalloc(1, len);
			off = (size_t)snprintf(ds->uri.value, len,
			    "mongodb://");
			for (i = 0; i < ds->nhosts; i++)
				off += (size_t)snprintf(ds->uri.value + off,
				    len - off, "%s%s", i ? "," : "",
				    ds->hosts[i]);
			snprintf(ds->uri.value + off, len - off, "/");
		}
	}
	if (ds->database == NULL)
		ds->database = conf_xstrdup(CONF_DEFAULT_MONGO_DATABASE);
	if (ds->collection == NULL)
		ds->collection = conf_xstrdup(CONF_DEFAULT_MONGO_COLLECTION);
	if (ds->server_selection_timeout_ms == 0)
		ds->server_selection_timeout_ms = CONF_DEFAULT_MONGO_SELECT_MS;
	/* as mongo_tls_ca_file in the orchestrator: a CA turns TLS on */
	if (ds->tls_ca_file != NULL)
		ds->tls = 1;
}

static void
ds_finish_zk(struct conf_ctx *c, struct conf_datasource *ds,
    const struct yn *node, const struct given *given)
{
	if (c->ds_hosts.line == 0)
		conf_error_at(c, node->mark, "missing required key 'hosts' in "
		    "datasource '%s'", ds->name);
	else if (c->ds_nhosts_given == 0)
		conf_error_at(c, c->ds_hosts, "hosts: expected at least one "
		    "\"host:port\" for zookeeper, got 0");
	if (GIVEN("username") && !GIVEN("password"))
		conf_error_at(c, GIVEN_K("username"), "username: digest auth "
		    "needs a password too");
	if (GIVEN("password") && !GIVEN("username"))
		conf_error_at(c, GIVEN_K("password"), "password: digest auth "
		    "needs a username too");
	if (ds->session_timeout_ms == 0)
		ds->session_timeout_ms = CONF_DEFAULT_ZK_SESSION_MS;
	if (ds->base_path == NULL)
		ds->base_path = conf_xstrdup("");
}

/* Read the key and known_hosts files of an SSH datasource. */
static void
ds_read_ssh_files(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given)
{
	const char *home, *cand[2];
	char why[128], sb[128], *path = NULL;
	size_t i, len;

	if (ds->ssh_key_path != NULL && read_blob(ds->ssh_key_path,
	    CONF_MAX_SSH_KEY_BYTES, &ds->ssh_key, &ds->ssh_key_len, why,
	    sizeof(why)) == -1)
		conf_error_at(c, GIVEN_V("ssh_key_path"), "ssh_key_path: "
		    "cannot read '%s': %s", show(ds->ssh_key_path,
		    strlen(ds->ssh_key_path), sb, sizeof(sb)), why);
	if (ds->ssh_known_hosts_file != NULL) {
		if (read_blob(ds->ssh_known_hosts_file,
		    CONF_MAX_KNOWN_HOSTS_BYTES, &ds->ssh_known_hosts,
		    &ds->ssh_known_hosts_len, why, sizeof(why)) == -1)
			conf_error_at(c, GIVEN_V("ssh_known_hosts_file"),
			    "ssh_known_hosts_file: cannot read '%s': %s",
			    show(ds->ssh_known_hosts_file,
			    strlen(ds->ssh_known_hosts_file), sb, sizeof(sb)),
			    why);
		return;
	}
	/* the first readable of the system's and the user's */
	cand[0] = conf_system_known_hosts;
	cand[1] = NULL;
	if ((home = getenv("HOME")) != NULL && *home == '/') {
		len = strlen(home) + sizeof("/.ssh/known_hosts");
		path = conf_xcalloc(1, len);
		snprintf(path, len, "%s/.ssh/known_hosts", home);
		cand[1] = path;
	}
	for (i = 0; i < NITEMS(cand); i++) {
		if (cand[i] == NULL || read_blob(cand[i],
		    CONF_MAX_KNOWN_HOSTS_BYTES, &ds->ssh_known_hosts,
		    &ds->ssh_known_hosts_len, why, sizeof(why)) == -1)
			continue;
		ds->ssh_known_hosts_file = conf_xstrdup(cand[i]);
		break;
	}
	free(path);
	if (ds->ssh_known_hosts_file == NULL)
		conf_error_at(c, GIVEN_K("ssh_host"), "ssh_host set but no "
		    "known_hosts file: set ssh_known_hosts_file");
}

static void
ds_finish_linux(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given)
{
	static const char *const ssh_keys[] = {
		"ssh_port", "ssh_user", "ssh_key_path", "ssh_password",
		"ssh_known_hosts_file",
	};
	size_t i;

	if (ds->ssh_port == 0)
		ds->ssh_port = CONF_DEFAULT_SSH_PORT;
	if (ds->ssh_user == NULL)
		ds->ssh_user = conf_xstrdup(CONF_DEFAULT_SSH_USER);
	if (ds->max_file_bytes == 0)
		ds->max_file_bytes = CONF_DEFAULT_MAX_FILE_BYTES;
	if (ds->ssh_host == NULL) {
		for (i = 0; i < NITEMS(ssh_keys); i++)
			if (GIVEN(ssh_keys[i]))
				conf_warning_at(c, GIVEN_K(ssh_keys[i]), "%s: "
				    "ignored without ssh_host (files are read "
				    "locally)", ssh_keys[i]);
		return;
	}
	if (!GIVEN("ssh_key_path") && !GIVEN("ssh_password"))
		conf_error_at(c, GIVEN_K("ssh_host"), "ssh_host: needs "
		    "ssh_key_path or ssh_password");
	ds_read_ssh_files(c, ds, given);
}

/* After the walk, when the type is known: keys, requirements, defaults. */
static void
ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct yn *node, const struct given *given)
{
	unsigned int bit;

	if ((bit = ds_type_bit(ds->type)) == 0)
		return;		/* unknown or unsupported: reported */
	ds_check_keys(c, ds, bit, given);
	switch (bit) {
	case DS_REDIS:
		ds_finish_redis(c, ds, node);
		break;
	case DS_MONGO:
		ds_finish_mongo(c, ds, given);
		break;
	case DS_ZK:
		ds_finish_zk(c, ds, node, given);
		break;
	case DS_LINUX:
		ds_finish_linux(c, ds, given);
		break;
	}
}

/* rules: */

#define RAUX(c, obj)	(&(c)->raux[((struct conf_rule *)(obj))->id])

static void
h_rule_name(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule *r = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (*s == '\0') {
		conf_error_at(c, v->mark, "name: must not be empty");
		return;
	}
	set_str(&r->name, s);
	RAUX(c, obj)->has_name = 1;
	RAUX(c, obj)->name = v->mark;
}

static void
h_rule_ref(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule *r = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (strcmp(kd->name, "platform") == 0) {
		set_str(&r->platform, s);
		RAUX(c, obj)->platform_key = k->mark;
	} else {
		set_str(&r->datasource, s);
		RAUX(c, obj)->datasource_key = k->mark;
	}
}

static int
add_file(struct conf_ctx *c, struct conf_rule *r, const char *name,
    const struct yn *v)
{
	const char *s, *why;
	size_t i;
	char sb[128];

	if ((s = want_string(c, name, v, "a string")) == NULL)
		return -1;
	if ((why = bad_repo_path(s)) != NULL) {
		conf_error_at(c, v->mark, "%s: '%s' %s", name, SHOW(v, sb),
		    why);
		return -1;
	}
	for (i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i], s) == 0) {
			conf_error_at(c, v->mark, "%s: duplicate file '%s'",
			    name, SHOW(v, sb));
			return -1;
		}
	conf_strv_push(&r->files, &r->nfiles, s);
	return 0;
}

static void
h_rule_files(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule *r = obj;
	struct conf_rule_aux *a = RAUX(c, obj);
	char name[64];
	size_t i;
	int single = strcmp(kd->name, "file_name") == 0;

	if ((single && a->has_files) || (!single && a->has_file_name)) {
		conf_error_at(c, k->mark, "%s: give either file_name or "
		    "files, not both", kd->name);
		return;
	}
	if (single) {
		a->has_file_name = 1;
		a->file_name = v->mark;
		(void)add_file(c, r, kd->name, v);
		return;
	}
	a->has_files = 1;
	a->files = v->mark;
	if (v->type != YN_SEQ) {
		conf_error_at(c, v->mark, "%s: expected a list, got %s",
		    kd->name, yn_kind(v));
		return;
	}
	if (v->nkids == 0)
		conf_error_at(c, v->mark, "%s: must not be empty", kd->name);
	for (i = 0; i < v->nkids; i++) {
		snprintf(name, sizeof(name), "%s[%zu]", kd->name, i);
		(void)add_file(c, r, name, v->kids[i]);
	}
}

static void
h_rule_key_format(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	static const char *const fmts[] = { "dot", "flat", "slash",
	    "slash_dot" };
	struct conf_rule *r = obj;
	const char *s;
	char sb[128];
	size_t i;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	for (i = 0; i < NITEMS(fmts); i++)
		if (strcasecmp(s, fmts[i]) == 0)
			break;
	if (i == NITEMS(fmts)) {
		conf_error_at(c, v->mark, "%s: unknown key format '%s' "
		    "(dot, flat, slash, slash_dot)", kd->name, SHOW(v, sb));
		return;
	}
	set_str(&r->key_format, fmts[i]);
	RAUX(c, obj)->key_format = v->mark;
}

/* Python str.format with only {tenant} and {env} (interop §2.4). */
static int
check_template(const char *t, char *err, size_t errlen)
{
	const char *p, *q;
	size_t n;

	for (p = t; *p != '\0'; p++) {
		if (*p == '{') {
			if (p[1] == '{') {
				p++;
				continue;
			}
			if ((q = strchr(p, '}')) == NULL) {
				snprintf(err, errlen, "unmatched '{'");
				return -1;
			}
			n = (size_t)(q - p - 1);
			if (!((n == 6 && strncmp(p + 1, "tenant", 6) == 0) ||
			    (n == 3 && strncmp(p + 1, "env", 3) == 0))) {
				snprintf(err, errlen, "unknown placeholder "
				    "'{%.*s}' (only {tenant} and {env})",
				    n > 40 ? 40 : (int)n, p + 1);
				return -1;
			}
			p = q;
		} else if (*p == '}') {
			if (p[1] == '}') {
				p++;
				continue;
			}
			snprintf(err, errlen, "single '}' (write '}}' for a "
			    "literal brace)");
			return -1;
		}
	}
	return 0;
}

/* destination_template, zk_path_template; kd->off: the field */
static void
h_rule_template(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char err[128];

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (check_template(s, err, sizeof(err)) == -1) {
		conf_error_at(c, v->mark, "%s: %s", kd->name, err);
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
	if (strcmp(kd->name, "destination_template") == 0)
		RAUX(c, obj)->destination_template = v->mark;
}

static void
h_rule_mongo_strategy(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	static const char *const st[] = { "document", "file" };
	struct conf_rule *r = obj;
	const char *s;
	char sb[128];
	size_t i;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	for (i = 0; i < NITEMS(st); i++)
		if (strcasecmp(s, st[i]) == 0) {
			set_str(&r->mongo_strategy, st[i]);
			return;
		}
	conf_error_at(c, v->mark, "%s: unknown strategy '%s' (document, "
	    "file)", kd->name, SHOW(v, sb));
}

static void
h_rule_file_format(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule *r = obj;
	const char *s;
	char sb[128];

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (*s == '\0') {
		conf_error_at(c, v->mark, "%s: must not be empty", kd->name);
		return;
	}
	set_str(&r->file_format, s);
	/* sinks/linux_server.py: anything unrecognised is written as env */
	if (conf_file_format_known(s) == NULL)
		conf_info_at(c, v->mark, "%s '%s' is treated as env, as the "
		    "orchestrator does", kd->name, SHOW(v, sb));
}

static void
h_rule_structure(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	static const char *const ds[] = { "HASH", "STRING", "JSON" };
	struct conf_rule *r = obj;
	const char *s;
	char sb[128];
	size_t i;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	for (i = 0; i < NITEMS(ds); i++)
		if (strcasecmp(s, ds[i]) == 0) {
			set_str(&r->redis_data_structure, ds[i]);
			return;
		}
	/* sinks/redis.py: anything but HASH and JSON is written as STRING */
	conf_info_at(c, v->mark, "%s '%s' is treated as STRING, as the "
	    "orchestrator does", kd->name, SHOW(v, sb));
	set_str(&r->redis_data_structure, "STRING");
}

static void
h_rule_ignored(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule_aux *a = RAUX(c, obj);

	if (a->nignored == 0)
		a->ignored_first = k->mark;
	conf_strv_push(&a->ignored, &a->nignored, kd->name);
}

/* Connection settings given on a rule: the watcher takes them from the
 * datasource (never stored: some are credentials). */
static void
h_rule_conn(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule_aux *a = RAUX(c, obj);

	if (a->nconn == 0)
		a->conn_first = k->mark;
	conf_strv_push(&a->conn, &a->nconn, kd->name);
}

static int
json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (isdigit((unsigned char)*s))
		while (isdigit((unsigned char)*s))
			s++;
	else
		return 0;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/* A JSON string that is also a YAML double-quoted scalar: besides JSON's
 * escapes, the characters YAML may not carry raw are escaped too. */
static void
json_str(struct jbuf *b, const char *str, size_t len)
{
	const unsigned char *p = (const unsigned char *)str;
	size_t i;
	char esc[8];

	jbuf_cat(b, "\"");
	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			jbuf_raw(b, esc, 2);
		} else if (p[i] == '\n')
			jbuf_cat(b, "\\n");
		else if (p[i] == '\t')
			jbuf_cat(b, "\\t");
		else if (p[i] == '\r')
			jbuf_cat(b, "\\r");
		else if (p[i] < 0x20 || p[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			jbuf_cat(b, esc);
		} else if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			snprintf(esc, sizeof(esc), "\\u%04x", p[i + 1]);
			jbuf_cat(b, esc);
			i++;
		} else if (p[i] == 0xe2 && i + 2 < len && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			snprintf(esc, sizeof(esc), "\\u%04x",
			    0x2000 | (p[i + 2] & 0x3f));
			jbuf_cat(b, esc);
			i += 2;
		} else if (p[i] == 0xef && i + 2 < len && p[i + 1] == 0xbb &&
		    p[i + 2] == 0xbf) {
			jbuf_cat(b, "\\ufeff");
			i += 2;
		} else
			jbuf_raw(b, (const char *)p + i, 1);
	}
	jbuf_cat(b, "\"");
}

static void
compact_scalar(struct jbuf *b, const struct yn *n)
{
	int bv;

	if (n->type == YN_SCALAR && n->plain) {
		if (yn_is_null(n)) {
			jbuf_cat(b, "null");
			return;
		}
		if ((bv = parse_bool(n)) != -1) {
			jbuf_cat(b, bv ? "true" : "false");
			return;
		}
		if (json_number(n->str)) {
			jbuf_cat(b, n->str);
			return;
		}
	}
	json_str(b, n->str, n->len);
}

/*
 * A list or mapping as compact JSON (valid YAML flow too), with an explicit
 * stack: the depth of alias expansion is not bounded by CONF_MAX_DEPTH,
 * but the output is, and every step writes at least one byte.
 */
static int
compact_json(const struct yn *root, struct jbuf *b)
{
	struct frame {
		const struct yn	*n;
		size_t		 i;
	} *st = NULL;
	const struct yn *n, *kid;
	size_t nst = 0, cap = 0;
	int rv = -1;

	kid = root;
	for (;;) {
		if (kid != NULL) {
			if (kid->type == YN_SCALAR)
				compact_scalar(b, kid);
			else {
				jbuf_cat(b, kid->type == YN_MAP ? "{" : "[");
				if (nst == cap) {
					cap = cap ? cap * 2 : 16;
					st = conf_xreallocarray(st, cap,
					    sizeof(*st));
				}
				st[nst].n = kid;
				st[nst].i = 0;
				nst++;
			}
			kid = NULL;
		}
		if (b->oom)
			fatalx("%s: out of memory", __func__);
		if (b->len > CONF_MAX_COMPACT_BYTES)
			goto cleanup;
		if (nst == 0)
			break;
		n = st[nst - 1].n;
		if (st[nst - 1].i >= n->nkids) {
			jbuf_cat(b, n->type == YN_MAP ? "}" : "]");
			nst--;
			continue;
		}
		if (st[nst - 1].i > 0)
			jbuf_cat(b, ", ");
		if (n->type == YN_SEQ) {
			kid = n->kids[st[nst - 1].i++];
			continue;
		}
		/* JSON keys are strings; a complex YAML key shows as "" */
		if (n->kids[st[nst - 1].i]->type == YN_SCALAR)
			json_str(b, n->kids[st[nst - 1].i]->str,
			    n->kids[st[nst - 1].i]->len);
		else
			jbuf_cat(b, "\"\"");
		jbuf_cat(b, ": ");
		kid = st[nst - 1].i + 1 < n->nkids ?
		    n->kids[st[nst - 1].i + 1] : NULL;
		st[nst - 1].i += 2;
	}
	rv = 0;
 cleanup:
	free(st);
	return rv;
}

/* Sink layout keys kept verbatim for later sinks (interop §5.7). */
static void
h_rule_extra(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule *r = obj;
	struct conf_pair *p;
	struct jbuf b;

	jbuf_init(&b);
	if (v->type == YN_SCALAR) {
		if (strlen(v->str) != v->len) {
			conf_error_at(c, v->mark, "%s: contains a NUL byte",
			    kd->name);
			return;
		}
		jbuf_cat(&b, v->str);
	} else if (compact_json(v, &b) == -1) {
		conf_error_at(c, v->mark, "%s: value longer than %u bytes",
		    kd->name, CONF_MAX_COMPACT_BYTES);
		jbuf_free(&b);
		return;
	}
	if (b.oom)
		fatalx("%s: out of memory", __func__);
	r->layout_extra = conf_xreallocarray(r->layout_extra,
	    r->nlayout_extra + 1, sizeof(*r->layout_extra));
	p = &r->layout_extra[r->nlayout_extra++];
	p->key = conf_xstrdup(kd->name);
	p->val = b.p != NULL ? b.p : conf_xstrdup("");
	p->compact = v->type != YN_SCALAR;
}

#define R(f)		offsetof(struct conf_rule, f)
#define RSTR(k)		{ #k, h_str, R(k), 0, NULL }
#define RBOOL(k)	{ #k, h_bool, R(k), 0, NULL }
#define RMAP(k)		{ #k, h_strmap, R(k), R(n##k), NULL }
#define IGN(k)		{ #k, h_rule_ignored, 0, 0, NULL }
#define CONN(k)		{ #k, h_rule_conn, 0, 0, NULL }
#define EXTRA(k)	{ #k, h_rule_extra, 0, 0, NULL }

/*
 * Every rule_config key of the orchestrator (interop §5.7) plus our own.
 * Ignored: keys that only matter when writing (IGN) and connection
 * settings that belong in datasources: (CONN; redis_* predate that and
 * stay IGN); neither is stored, so credentials among them are never
 * printed. Layout keys of sinks the watcher does not read yet are kept
 * verbatim (EXTRA). Typed layout keys are checked for every rule, whatever
 * its datasource's type.
 * Sorted by name (checked once at run time).
 */
static const struct keydef rule_keys[] = {
	IGN(apply_strategy),
	RSTR(branch),
	RMAP(branch_map),
	{ "collection", h_nonempty, R(collection), 0, NULL },
	{ "database", h_nonempty, R(database), 0, NULL },
	{ "datasource", h_rule_ref, 0, 0, NULL },
	{ "destination_template", h_rule_template, R(destination_template), 0,
	    NULL },
	RBOOL(detect_extra),
	IGN(dry_run),
	IGN(dry_run_prune),
	RSTR(env),
	RBOOL(env_as_branch),
	RBOOL(env_as_collection),
	RBOOL(env_as_dir),
	RBOOL(env_as_filename),
	EXTRA(env_as_name_suffix),
	EXTRA(env_as_namespace),
	RBOOL(env_as_pr),
	RBOOL(env_as_tags),
	IGN(exclude_repositories),
	{ "file_format", h_rule_file_format, 0, 0, NULL },
	{ "file_name", h_rule_files, 0, 0, NULL },
	{ "file_path", h_abs_path, R(file_path), 0, NULL },
	RMAP(file_path_map),
	{ "files", h_rule_files, 0, 0, NULL },
	EXTRA(helm_atomic),
	EXTRA(helm_binary),
	EXTRA(helm_chart),
	EXTRA(helm_cleanup_on_fail),
	EXTRA(helm_context),
	EXTRA(helm_extra_flags),
	EXTRA(helm_force),
	EXTRA(helm_kubeconfig_path),
	EXTRA(helm_max_history),
	EXTRA(helm_namespace),
	EXTRA(helm_no_hooks),
	EXTRA(helm_release_name),
	EXTRA(helm_upgrade_strategy),
	EXTRA(helm_values_file_path),
	EXTRA(helm_values_mode),
	EXTRA(helm_values_prefix),
	EXTRA(helm_wait),
	EXTRA(helm_wait_timeout),
	EXTRA(k8s_api_server),
	EXTRA(k8s_configmap_name),
	EXTRA(k8s_kubeconfig_path),
	EXTRA(k8s_namespace),
	IGN(k8s_token),
	EXTRA(k8s_verify_ssl),
	{ "key_format", h_rule_key_format, 0, 0, NULL },
	IGN(last_applied_at),
	IGN(max_changed_files),
	{ "mongo_strategy", h_rule_mongo_strategy, 0, 0, NULL },
	CONN(mongo_tls),
	CONN(mongo_tls_ca_file),
	CONN(mongo_tls_insecure),
	CONN(mongo_uri),
	{ "name", h_rule_name, 0, 0, NULL },
	IGN(overrides),
	{ "platform", h_rule_ref, 0, 0, NULL },
	{ "poll_interval", h_duration, R(poll_interval_ms), 0,
	    (const void *)(uintptr_t)CONF_MIN_POLL_MS },
	IGN(prune),
	IGN(prune_last),
	IGN(prune_protection),
	{ "redis_data_structure", h_rule_structure, 0, 0, NULL },
	IGN(redis_db),
	RSTR(redis_hash_key),
	IGN(redis_hosts),
	RSTR(redis_key_prefix),
	IGN(redis_password),
	IGN(redis_ttl_seconds),
	RSTR(repo_url),
	IGN(repositories),
	IGN(retry_backoff),
	RSTR(root_key),
	IGN(s3_access_key_id),
	EXTRA(s3_bucket),
	EXTRA(s3_endpoint_url),
	EXTRA(s3_key_prefix),
	EXTRA(s3_object_tags),
	EXTRA(s3_one_file_per_key),
	EXTRA(s3_region),
	IGN(s3_secret_access_key),
	EXTRA(s3_tag_keys),
	IGN(secret_manager),
	IGN(secrets),
	RBOOL(self_heal),
	{ "sensitive_keys", h_strlist, R(sensitive_keys), R(nsensitive_keys),
	    NULL },
	CONN(ssh_host),
	CONN(ssh_key_path),
	CONN(ssh_known_hosts_file),
	CONN(ssh_password),
	CONN(ssh_port),
	CONN(ssh_user),
	IGN(strict_validation),
	IGN(sync_mode),
	RSTR(tenant_id),
	IGN(token),
	RMAP(variables_map),
	EXTRA(vercel_api_url),
	EXTRA(vercel_project_id),
	EXTRA(vercel_sensitive_keys),
	EXTRA(vercel_targets),
	EXTRA(vercel_team_id),
	IGN(vercel_token),
	RBOOL(watch),
	{ "zk_base_path", h_base_path, R(zk_base_path), 0, NULL },
	CONN(zk_hosts),
	CONN(zk_password),
	{ "zk_path_template", h_rule_template, R(zk_path_template), 0,
	    NULL },
	CONN(zk_timeout_secs),
	CONN(zk_username),
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

/* The document */

/* A list of mappings (platforms, datasources, rules): 1 when v is a list,
 * else an error and 0. */
static int
want_list(struct conf_ctx *c, const struct keydef *kd, const struct yn *v)
{
	if (v->type == YN_SEQ)
		return 1;
	conf_error_at(c, v->mark, "%s: expected a list, got %s", kd->name,
	    yn_kind(v));
	return 0;
}

/* 1 when item i of the list is a mapping, else an error and 0. */
static int
want_list_map(struct conf_ctx *c, const struct keydef *kd, const struct yn *v,
    size_t i)
{
	if (v->kids[i]->type == YN_MAP)
		return 1;
	conf_error_at(c, v->kids[i]->mark, "%s[%zu]: expected a mapping, got "
	    "%s", kd->name, i, yn_kind(v->kids[i]));
	return 0;
}

static void
h_platforms(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	struct conf_platform *p;
	const struct conf_platform *q;
	size_t i;

	if (!want_list(c, kd, v))
		return;
	for (i = 0; i < v->nkids; i++) {
		if (!want_list_map(c, kd, v, i))
			continue;
		conf->platforms = conf_xreallocarray(conf->platforms,
		    conf->nplatforms + 1, sizeof(*conf->platforms));
		p = &conf->platforms[conf->nplatforms];
		memset(p, 0, sizeof(*p));
		p->line = v->kids[i]->mark.line;
		p->col = v->kids[i]->mark.col;
		c->secret_given = 0;
		walk_map(c, &platform_tab, p, v->kids[i]);
		conf->nplatforms++;
		if (p->name == NULL || *p->name == '\0') {
			conf_error_at(c, v->kids[i]->mark, "missing required "
			    "key 'name' in platform");
			continue;
		}
		if (p->type == NULL)
			conf_error_at(c, v->kids[i]->mark, "missing required "
			    "key 'type' in platform '%s'", p->name);
		else if (strcmp(p->type, "local") != 0 &&
		    platform_type_known(p->type) && !c->secret_given)
			conf_warning_at(c, v->kids[i]->mark, "platform '%s' "
			    "has no token; only public repositories can be "
			    "fetched", p->name);
		if ((q = conf_platform_byname(conf, p->name)) != p)
			conf_error_at(c, v->kids[i]->mark, "duplicate platform "
			    "name '%s' (first at %d:%d)", p->name, q->line,
			    q->col);
	}
}

static void
h_datasources(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	struct conf_datasource *ds;
	const struct conf_datasource *q;
	struct given given[NITEMS(ds_keys)];
	size_t i;

	if (!want_list(c, kd, v))
		return;
	for (i = 0; i < v->nkids; i++) {
		if (!want_list_map(c, kd, v, i))
			continue;
		conf->datasources = conf_xreallocarray(conf->datasources,
		    conf->ndatasources + 1, sizeof(*conf->datasources));
		ds = &conf->datasources[conf->ndatasources];
		memset(ds, 0, sizeof(*ds));
		ds->line = v->kids[i]->mark.line;
		ds->col = v->kids[i]->mark.col;
		ds->connect_timeout_ms = CONF_DEFAULT_CONNECT_TIMEOUT_MS;
		ds->command_timeout_ms = CONF_DEFAULT_COMMAND_TIMEOUT_MS;
		ds->breaker_failures = CONF_DEFAULT_DS_BREAKER_FAILURES;
		ds->breaker_backoff_ms = CONF_DEFAULT_DS_BREAKER_BACKOFF_MS;
		ds->breaker_max_backoff_ms = CONF_DEFAULT_DS_BREAKER_MAX_MS;
		c->ds_hosts.line = c->ds_hosts.col = 0;
		c->ds_nhosts_given = 0;
		memset(given, 0, sizeof(given));
		walk_map_given(c, &ds_tab, ds, v->kids[i], given);
		conf->ndatasources++;
		if (ds->name == NULL || *ds->name == '\0') {
			conf_error_at(c, v->kids[i]->mark, "missing required "
			    "key 'name' in datasource");
			continue;
		}
		if ((q = conf_datasource_byname(conf, ds->name)) != ds)
			conf_error_at(c, v->kids[i]->mark, "duplicate "
			    "datasource name '%s' (first at %d:%d)", ds->name,
			    q->line, q->col);
		if (ds->type == NULL) {
			conf_error_at(c, v->kids[i]->mark, "missing required "
			    "key 'type' in datasource '%s'", ds->name);
			continue;
		}
		ds_finish(c, ds, v->kids[i], given);
	}
}

static void
h_rules(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	struct conf_rule *r;
	size_t i;

	if (!want_list(c, kd, v))
		return;
	for (i = 0; i < v->nkids; i++) {
		if (!want_list_map(c, kd, v, i))
			continue;
		conf->rules = conf_xreallocarray(conf->rules, conf->nrules + 1,
		    sizeof(*conf->rules));
		c->raux = conf_xreallocarray(c->raux, c->nraux + 1,
		    sizeof(*c->raux));
		r = &conf->rules[conf->nrules];
		memset(r, 0, sizeof(*r));
		memset(&c->raux[c->nraux], 0, sizeof(*c->raux));
		r->id = (unsigned int)conf->nrules;
		r->line = v->kids[i]->mark.line;
		r->col = v->kids[i]->mark.col;
		r->tenant_id = conf_xstrdup("default");
		r->branch = conf_xstrdup("main");
		r->watch = 1;
		r->env_as_filename = 1;
		conf->nrules++;
		c->nraux++;
		walk_map(c, &rule_tab, r, v->kids[i]);
	}
}

static const struct keydef top_keys[] = {
	{ "datasources", h_datasources, 0, 0, NULL },
	{ "platforms", h_platforms, 0, 0, NULL },
	{ "rules", h_rules, 0, 0, NULL },
	{ "watcher", h_section, 0, 0, &watcher_tab },
};
/* "x-name:" at the top level holds anchors to merge ("<<: *name"). */
static const struct keytab top_tab = {
	"the top level", top_keys, NITEMS(top_keys), 1
};

/* A table out of order would make bsearch miss keys: a broken invariant. */
static void
keytabs_check(void)
{
	static const struct keytab *const all[] = {
		&top_tab, &watcher_tab, &orch_tab, &tls_tab, &sandbox_tab,
		&platform_tab, &ds_tab, &rule_tab, &secret_tab,
	};
	static int done;
	size_t i, j;

	if (done)
		return;
	for (i = 0; i < NITEMS(all); i++)
		for (j = 1; j < all[i]->n; j++)
			if (strcmp(all[i]->keys[j - 1].name,
			    all[i]->keys[j].name) >= 0)
				fatalx("%s: %s: '%s' before '%s'", __func__,
				    all[i]->where, all[i]->keys[j - 1].name,
				    all[i]->keys[j].name);
	done = 1;
}

/* Fill c->conf from the document; rules are cross-checked afterwards by
 * conf_check(), so the order of the sections in the file does not matter. */
int
conf_parse_yaml(struct conf_ctx *c, const char *buf, size_t len)
{
	struct ydoc d;
	int rv = -1;

	keytabs_check();
	if (yaml_build(c, buf, len, &d) == -1)
		goto cleanup;
	rv = 0;
	if (d.root == NULL || yn_is_null(d.root))
		goto cleanup;		/* empty file: all defaults */
	if (d.root->type != YN_MAP) {
		conf_error_at(c, d.root->mark, "expected a mapping at the top "
		    "level, got %s", yn_kind(d.root));
		goto cleanup;
	}
	walk_map(c, &top_tab, c->conf, d.root);
 cleanup:
	ydoc_free(&d);
	return rv;
}
