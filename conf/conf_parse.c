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

static void
walk_map(struct conf_ctx *c, const struct keytab *t, void *obj,
    const struct yn *map)
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
		kd->fn(c, obj, kd, ents[i].k, ents[i].v);
	}
	free(ents);
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
	else if (strcmp(s, "redis") != 0)
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

static const struct keydef ds_keys[] = {
	{ "breaker_backoff", h_duration, offsetof(struct conf_datasource,
	    breaker_backoff_ms), 0, (const void *)(uintptr_t)1 },
	{ "breaker_failures", h_count, offsetof(struct conf_datasource,
	    breaker_failures), 0, NULL },
	{ "breaker_max_backoff", h_duration, offsetof(struct conf_datasource,
	    breaker_max_backoff_ms), 0, (const void *)(uintptr_t)1 },
	{ "command_timeout", h_duration, offsetof(struct conf_datasource,
	    command_timeout_ms), 0, (const void *)(uintptr_t)1 },
	{ "connect_timeout", h_duration, offsetof(struct conf_datasource,
	    connect_timeout_ms), 0, (const void *)(uintptr_t)1 },
	{ "db", h_db, 0, 0, NULL },
	{ "hosts", h_hosts, 0, 0, NULL },
	{ "name", h_str, offsetof(struct conf_datasource, name), 0, NULL },
	{ "password", h_secret, offsetof(struct conf_datasource, password), 0,
	    NULL },
	{ "type", h_ds_type, 0, 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};

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

static void
h_rule_template(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule *r = obj;
	const char *s;
	char err[128];

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (check_template(s, err, sizeof(err)) == -1) {
		conf_error_at(c, v->mark, "%s: %s", kd->name, err);
		return;
	}
	set_str(&r->destination_template, s);
	RAUX(c, obj)->destination_template = v->mark;
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
#define EXTRA(k)	{ #k, h_rule_extra, 0, 0, NULL }

/*
 * Every rule_config key of the orchestrator (interop §5.7) plus our own.
 * Ignored: keys that only matter when writing, connection settings that
 * belong in datasources:, and every sink key that carries a credential
 * (never stored, so never printed).
 * Sorted by name (checked once at run time).
 */
static const struct keydef rule_keys[] = {
	IGN(apply_strategy),
	RSTR(branch),
	RMAP(branch_map),
	EXTRA(collection),
	EXTRA(database),
	{ "datasource", h_rule_ref, 0, 0, NULL },
	{ "destination_template", h_rule_template, 0, 0, NULL },
	RBOOL(detect_extra),
	IGN(dry_run),
	IGN(dry_run_prune),
	RSTR(env),
	RBOOL(env_as_branch),
	EXTRA(env_as_collection),
	EXTRA(env_as_dir),
	EXTRA(env_as_filename),
	EXTRA(env_as_name_suffix),
	EXTRA(env_as_namespace),
	RBOOL(env_as_pr),
	RBOOL(env_as_tags),
	IGN(exclude_repositories),
	EXTRA(file_format),
	{ "file_name", h_rule_files, 0, 0, NULL },
	EXTRA(file_path),
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
	EXTRA(mongo_strategy),
	EXTRA(mongo_tls),
	EXTRA(mongo_tls_ca_file),
	EXTRA(mongo_tls_insecure),
	IGN(mongo_uri),
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
	EXTRA(ssh_host),
	EXTRA(ssh_key_path),
	EXTRA(ssh_known_hosts_file),
	IGN(ssh_password),
	EXTRA(ssh_port),
	EXTRA(ssh_user),
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
	EXTRA(zk_base_path),
	EXTRA(zk_hosts),
	IGN(zk_password),
	EXTRA(zk_path_template),
	EXTRA(zk_timeout_secs),
	EXTRA(zk_username),
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
		walk_map(c, &ds_tab, ds, v->kids[i]);
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
		if (strcmp(ds->type, "redis") != 0)
			continue;
		if (c->ds_hosts.line == 0)
			conf_error_at(c, v->kids[i]->mark, "missing required "
			    "key 'hosts' in datasource '%s'", ds->name);
		else if (c->ds_nhosts_given != 1 &&
		    c->ds_nhosts_given != SIZE_MAX)
			conf_error_at(c, c->ds_hosts, "hosts: expected exactly "
			    "one \"host:port\" for redis, got %zu%s",
			    c->ds_nhosts_given, c->ds_nhosts_given > 1 ?
			    " (redis cluster is not supported yet)" : "");
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
