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
#include "conf_keys.h"
#include "kinds.h"
#include "kvmap.h"
#include "log.h"

#define CONF_MAX_ANCHORS	1024
#define CONF_MAX_EXPANDED	(4u * 1024 * 1024)
#define CONF_MAX_MERGES		64

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

int
yn_is_null(const struct yn *n)
{
	if (n->type != YN_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

const char *
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
const char *
conf_show(const char *s, size_t len, char *buf, size_t bufsz)
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
				    "undefined alias '%s'", conf_show((const char *)
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

/* "unknown key 'x' in where", with the closest of cands when there is one */
static void
report_unknown(struct conf_ctx *c, const char *where, const struct yn *k,
    const char **cands, size_t n)
{
	const char *sugg;
	char sb[128];

	sugg = conf_suggest(k->str, cands, n);
	if (sugg != NULL)
		conf_error_at(c, k->mark, "unknown key '%s' in %s; did you "
		    "mean '%s'?", SHOW(k, sb), where, sugg);
	else
		conf_error_at(c, k->mark, "unknown key '%s' in %s",
		    SHOW(k, sb), where);
}

static void
unknown_key(struct conf_ctx *c, const struct keytab *t, const struct yn *k)
{
	const char **cands;
	size_t i;

	cands = conf_xcalloc(t->n, sizeof(*cands));
	for (i = 0; i < t->n; i++)
		cands[i] = t->keys[i].name;
	report_unknown(c, t->where, k, cands, t->n);
	free(cands);
}


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
const char *
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

void
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

int
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

void
h_str(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) != NULL)
		set_str(FIELD(obj, kd->off, char *), s);
}

void
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
void
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
void
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
void
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

/* kd->off: char *. An http(s) URL without userinfo, query or fragment;
 * trailing '/' stripped. */
void
h_http_url(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s, *host;
	char sb[128], *u;
	size_t n;

	if ((s = want_string(c, kd->name, v, "a URL")) == NULL)
		return;
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else {
		conf_error_at(c, v->mark, "%s: '%s' is not an http:// or "
		    "https:// URL", kd->name, SHOW(v, sb));
		return;
	}
	n = strcspn(host, "/");
	if (n == 0 || memchr(host, '@', n) != NULL ||
	    strpbrk(s, "?# \t") != NULL) {
		conf_error_at(c, v->mark, "%s: expected scheme://host[:port]"
		    "[/path] without credentials, query or fragment, got '%s'",
		    kd->name, SHOW(v, sb));
		return;
	}
	u = conf_xstrdup(s);
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	free(*FIELD(obj, kd->off, char *));
	*FIELD(obj, kd->off, char *) = u;
}

/* An absolute path (files read or written on a server). */
void
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
void
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
void
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
void
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
int
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
void
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
			    "'%s' is not set", kd->name, conf_show(r.env,
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
		    "%s", kd->name, conf_show(r.file, strlen(r.file), sb,
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

static void
h_sandbox_user(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	set_str(&conf->sandbox_user, s);
	conf->sandbox_user_mark = v->mark;
}

static const struct keydef sandbox_keys[] = {
	{ "user", h_sandbox_user, 0, 0, NULL },
};
static const struct keytab sandbox_tab = {
	"watcher.sandbox", sandbox_keys, NITEMS(sandbox_keys), 0
};

/* watcher.ha */
#define HA(f)	offsetof(struct vtw_conf, ha.f)

static void
h_ha_backend(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	static const char *const names[] = { "none", "redis", "zookeeper" };
	struct vtw_conf *conf = obj;
	const char *s;
	size_t i;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	for (i = 0; i < NITEMS(names); i++)
		if (strcmp(s, names[i]) == 0) {
			conf->ha.backend = (enum conf_ha_backend)i;
			conf->ha.mark = v->mark;
			return;
		}
	conf_error_at(c, v->mark, "%s: expected redis, zookeeper or none, "
	    "got '%s'", kd->name, s);
}

/* It travels as gRPC metadata and is the lock's value. */
static void
h_ha_instance(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (*s == '\0' || strlen(s) > 200 ||
	    strspn(s, "!#$%&'*+-.^_`|~0123456789:@/"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
	    strlen(s)) {
		conf_error_at(c, v->mark, "%s: 1 to 200 letters, digits or "
		    "!#$%%&'*+-.^_`|~:@/ (it is sent as gRPC metadata)",
		    kd->name);
		return;
	}
	set_str(&conf->ha.instance_id, s);
}

static void
h_ha_state(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (strcmp(s, "none") == 0)
		conf->ha.state_redis = 0;
	else if (strcmp(s, "redis") == 0) {
		conf->ha.state_redis = 1;
		conf->ha.state_mark = v->mark;
	}
	else
		conf_error_at(c, v->mark, "%s: expected redis or none, got "
		    "'%s'", kd->name, s);
}

static void
h_ha_db(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	char sb[128];

	if (v->type != YN_SCALAR || !v->plain || !all_digits(v->str) ||
	    v->len > 2 || atoi(v->str) > 15) {
		conf_error_at(c, v->mark, "%s: expected an integer 0..15, "
		    "got %s", kd->name, v->type == YN_SCALAR ? SHOW(v, sb) :
		    yn_kind(v));
		return;
	}
	*FIELD(obj, kd->off, int) = atoi(v->str);
}

/* A list of "host:port". */
static void
h_ha_hosts(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	char ***list = FIELD(obj, kd->off, char **);
	size_t *n = FIELD(obj, kd->noff, size_t), i;
	const char *s;
	char name[96], err[256];

	if (v->type != YN_SEQ) {
		conf_error_at(c, v->mark, "%s: expected a list of host:port, "
		    "got %s", kd->name, yn_kind(v));
		return;
	}
	conf_strv_free(*list, *n);
	*list = NULL;
	*n = 0;
	for (i = 0; i < v->nkids; i++) {
		snprintf(name, sizeof(name), "%s[%zu]", kd->name, i);
		if ((s = want_string(c, name, v->kids[i], "a string")) == NULL)
			continue;
		if (conf_check_hostport(s, 0, err, sizeof(err)) == -1) {
			conf_error_at(c, v->kids[i]->mark, "%s: %s", name, err);
			continue;
		}
		conf_strv_push(list, n, s);
	}
}

static const struct keydef ha_redis_keys[] = {
	{ "db", h_ha_db, HA(redis_db), 0, NULL },
	{ "hosts", h_ha_hosts, HA(redis_hosts), HA(nredis_hosts), NULL },
	{ "key", h_nonempty, HA(redis_key), 0, NULL },
	{ "password", h_secret, HA(redis_password), 0, NULL },
	{ "state_db", h_ha_db, HA(redis_state_db), 0, NULL },
};
static const struct keytab ha_redis_tab = {
	"watcher.ha.redis", ha_redis_keys, NITEMS(ha_redis_keys), 0
};

/* kept with its place: conf_check says what ZooKeeper would refuse */
static void
h_ha_zk_path(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;

	h_abs_path(c, obj, kd, k, v);
	conf->ha.zk_path_mark = v->mark;
}

static const struct keydef ha_zk_keys[] = {
	{ "hosts", h_ha_hosts, HA(zk_hosts), HA(nzk_hosts), NULL },
	{ "path", h_ha_zk_path, HA(zk_path), 0, NULL },
	{ "session_timeout", h_duration, HA(zk_session_timeout_ms), 0,
	    (const void *)(uintptr_t)1000 },
};
static const struct keytab ha_zk_tab = {
	"watcher.ha.zookeeper", ha_zk_keys, NITEMS(ha_zk_keys), 0
};

#define HA_DUR(k, f) { k, h_duration, HA(f), 0, (const void *)(uintptr_t)100 }
static const struct keydef ha_keys[] = {
	{ "backend", h_ha_backend, 0, 0, NULL },
	{ "instance_id", h_ha_instance, 0, 0, NULL },
	HA_DUR("lease", lease_ms),
	{ "redis", h_section, 0, 0, &ha_redis_tab },
	HA_DUR("renew_deadline", renew_deadline_ms),
	HA_DUR("renew_interval", renew_interval_ms),
	{ "standbys_poll", h_bool, HA(standbys_poll), 0, NULL },
	{ "state", h_ha_state, 0, 0, NULL },
	{ "zookeeper", h_section, 0, 0, &ha_zk_tab },
};
static const struct keytab ha_tab = {
	"watcher.ha", ha_keys, NITEMS(ha_keys), 0
};

/* watcher.git.max_parallel_fetches: an integer 1..CONF_GIT_PARALLEL_MAX */
static void
h_git_parallel(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	char sb[128];

	if (v->type != YN_SCALAR || !v->plain || !all_digits(v->str) ||
	    v->len > 2 || atoi(v->str) < 1 ||
	    atoi(v->str) > CONF_GIT_PARALLEL_MAX) {
		conf_error_at(c, v->mark, "%s: expected an integer 1..%d, "
		    "got %s%s%s", kd->name, CONF_GIT_PARALLEL_MAX,
		    v->type == YN_SCALAR ? "'" : "",
		    v->type == YN_SCALAR ? SHOW(v, sb) : yn_kind(v),
		    v->type == YN_SCALAR ? "'" : "");
		return;
	}
	conf->git_max_parallel = (unsigned int)atoi(v->str);
}

/* watcher.git.fetch_timeout: a duration 1s..10m (the supervisor's wait for
 * a baseline grows with it) */
static void
h_git_fetch_timeout(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct vtw_conf *conf = obj;
	uint64_t was = conf->git_fetch_timeout_ms;
	char db[32];

	h_duration(c, obj, kd, k, v);
	if (conf->git_fetch_timeout_ms > CONF_GIT_FETCH_TIMEOUT_MAX_MS) {
		conf_error_at(c, v->mark, "%s: must be at most %s", kd->name,
		    conf_format_duration(db, sizeof(db),
		    CONF_GIT_FETCH_TIMEOUT_MAX_MS));
		conf->git_fetch_timeout_ms = was;
	}
}

static const struct keydef git_keys[] = {
	{ "fetch_timeout", h_git_fetch_timeout, offsetof(struct vtw_conf,
	    git_fetch_timeout_ms), 0,
	    (const void *)(uintptr_t)CONF_GIT_FETCH_TIMEOUT_MIN_MS },
	{ "max_parallel_fetches", h_git_parallel, 0, 0, NULL },
};
static const struct keytab git_tab = {
	"watcher.git", git_keys, NITEMS(git_keys), 0
};

/* watcher.webhooks.<provider>.secret: a key anyone could sign with is no
 * key, so an empty one is refused */
static void
h_webhook_secret(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_secret *sec = FIELD(obj, kd->off, struct conf_secret);

	h_secret(c, obj, kd, k, v);
	if (sec->value != NULL && sec->value[0] == '\0') {
		conf_error_at(c, v->mark, "%s: a webhook secret must not be "
		    "empty", kd->name);
		conf_secret_free(sec);
		memset(sec, 0, sizeof(*sec));
	}
}

#define WEBHOOK_TAB(p, P)						\
static const struct keydef webhook_##p##_keys[] = {			\
	{ "secret", h_webhook_secret, offsetof(struct vtw_conf,		\
	    webhooks.secret[WEBHOOK_##P]), 0, NULL },			\
};									\
static const struct keytab webhook_##p##_tab = {			\
	"watcher.webhooks." #p, webhook_##p##_keys,			\
	NITEMS(webhook_##p##_keys), 0					\
}
WEBHOOK_TAB(gitea, GITEA);
WEBHOOK_TAB(github, GITHUB);
WEBHOOK_TAB(gitlab, GITLAB);

static const struct keydef webhooks_keys[] = {
	{ "gitea", h_section, 0, 0, &webhook_gitea_tab },
	{ "github", h_section, 0, 0, &webhook_github_tab },
	{ "gitlab", h_section, 0, 0, &webhook_gitlab_tab },
};
static const struct keytab webhooks_tab = {
	"watcher.webhooks", webhooks_keys, NITEMS(webhooks_keys), 0
};

static const struct keydef watcher_keys[] = {
	{ "admin_addr", h_addr, offsetof(struct vtw_conf, admin_addr), 0,
	    "admin" },
	{ "app_env", h_app_env, 0, 0, NULL },
	{ "cache_dir", h_str, offsetof(struct vtw_conf, cache_dir), 0, NULL },
	{ "git", h_section, 0, 0, &git_tab },
	{ "ha", h_section, 0, 0, &ha_tab },
	{ "log_level", h_log_level, 0, 0, NULL },
	{ "orchestrator", h_section, 0, 0, &orch_tab },
	{ "poll_interval", h_duration, offsetof(struct vtw_conf,
	    poll_interval_ms), 0, (const void *)(uintptr_t)CONF_MIN_POLL_MS },
	{ "sandbox", h_section, 0, 0, &sandbox_tab },
	{ "tls", h_section, 0, 0, &tls_tab },
	{ "webhooks", h_section, 0, 0, &webhooks_tab },
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

/* A kind's name as its CMake option's suffix ("foo_bar" -> "FOO_BAR"); static buffer */
static const char *
kind_macro(const char *name)
{
	static char buf[64];
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < sizeof(buf); i++)
		buf[i] = (char)toupper((unsigned char)name[i]);
	buf[i] = '\0';
	return buf;
}

static void
h_ds_type(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_datasource *ds = obj;
	const char *s, *u, *names[DS_KINDS_MAX + 16];
	size_t i, n = 0;
	int left_out;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	set_str(&ds->type, s);
	if ((ds->kind = ds_kind_byname(s)) != NULL)
		return;
	for (i = 0; (u = ds_kinds_unsupported(i, &left_out)) != NULL; i++)
		if (strcmp(s, u) == 0) {
			if (left_out)
				conf_error_at(c, v->mark, "datasource type "
				    "'%s' is not built into this binary (built "
				    "with VTW_KIND_%s=OFF)", s, kind_macro(s));
			else
				conf_error_at(c, v->mark, "datasource type "
				    "'%s' is not supported yet", s);
			return;
		}
	for (i = 0; i < ds_kinds_count(); i++)
		names[n++] = ds_kind_at(i)->name;
	for (i = 0; (u = ds_kinds_unsupported(i, &left_out)) != NULL &&
	    n < NITEMS(names); i++)
		names[n++] = u;
	bad_type(c, "datasource", v, names, n);
}

void
h_hosts(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	char ***hosts = FIELD(obj, kd->off, char **);
	size_t *nhosts = FIELD(obj, kd->noff, size_t);
	const struct yn *h;
	const char *s;
	size_t i, n;
	char name[64], err[256];

	c->ds_hosts = v->mark;
	conf_strv_free(*hosts, *nhosts);
	*hosts = NULL;
	*nhosts = 0;
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
		conf_strv_push(hosts, nhosts, s);
	}
	c->ds_nhosts_given = n;
}

#define DS(f)		offsetof(struct conf_datasource, f)
#define DS_DUR(k, f, min) { k, h_duration, DS(f), 0, \
	    (const void *)(uintptr_t)(min) }

/* The keys every datasource has; the kinds add theirs (conf/kinds/). */
static const struct keydef ds_keys[] = {
	DS_DUR("breaker_backoff", breaker_backoff_ms, 1),
	{ "breaker_failures", h_count, DS(breaker_failures), 0, NULL },
	DS_DUR("breaker_max_backoff", breaker_max_backoff_ms, 1),
	DS_DUR("command_timeout", command_timeout_ms, 1),
	DS_DUR("connect_timeout", connect_timeout_ms, 1),
	{ "name", h_str, DS(name), 0, NULL },
	{ "type", h_ds_type, 0, 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};

const struct given *
conf_given(const struct keytab *t, const struct given *given, const char *key)
{
	const struct keydef *kd;

	kd = bsearch(key, t->keys, t->n, sizeof(*t->keys), keydef_cmp);
	if (kd == NULL)
		fatalx("%s: no key '%s' in %s", __func__, key, t->where);
	return &given[kd - t->keys];
}

/*
 * A mapping walked through a common table and every kind's (datasources,
 * rules): a key of the common table goes to obj, a key of kind i to
 * slot[i].obj (allocated on first use with the kind's init). own is the
 * kind of the object, or NULL; a key that only other kinds have is parsed
 * into a scratch struct (so its value is still checked) and remembered as
 * foreign for the caller.
 */
struct kslot {
	void		*obj;
	struct given	*given;		/* marks of the kind's keys */
};

struct foreign {
	const char		*key;	/* borrowed from a key table */
	struct conf_mark	 mark;
};

typedef const struct keytab *(*kind_tab_fn)(const struct ds_kind *);

static const struct keytab *
kind_ds_tab(const struct ds_kind *k)
{
	return k->ds_keys;
}

static const struct keytab *
kind_rule_tab(const struct ds_kind *k)
{
	return k->rule_keys;
}

static void *
kslot_obj(struct kslot *sl, const struct ds_kind *k, int rule)
{
	const struct keytab *t = rule ? k->rule_keys : k->ds_keys;

	if (sl->obj == NULL) {
		sl->obj = conf_xcalloc(1, rule ? k->rule_size : k->ds_size);
		if (rule && k->rule_init != NULL)
			k->rule_init(sl->obj);
		if (!rule && k->ds_init != NULL)
			k->ds_init(sl->obj);
		sl->given = conf_xcalloc(t->n ? t->n : 1, sizeof(*sl->given));
	}
	return sl->obj;
}

static void
kslot_free(struct kslot *sl, const struct ds_kind *k, int rule)
{
	if (sl->obj != NULL) {
		if (rule && k->rule_free != NULL)
			k->rule_free(sl->obj);
		if (!rule && k->ds_free != NULL)
			k->ds_free(sl->obj);
		free(sl->obj);
	}
	free(sl->given);
	sl->obj = NULL;
	sl->given = NULL;
}

static void
unknown_key_kinds(struct conf_ctx *c, const struct keytab *t, kind_tab_fn kt,
    const struct yn *k)
{
	const char **cands;
	size_t i, j, n = t->n;

	for (i = 0; i < ds_kinds_count(); i++)
		n += kt(ds_kind_at(i))->n;
	cands = conf_xcalloc(n, sizeof(*cands));
	for (i = 0, n = 0; i < t->n; i++)
		cands[n++] = t->keys[i].name;
	for (i = 0; i < ds_kinds_count(); i++)
		for (j = 0; j < kt(ds_kind_at(i))->n; j++)
			cands[n++] = kt(ds_kind_at(i))->keys[j].name;
	report_unknown(c, t->where, k, cands, n);
	free(cands);
}

static void
walk_map_kinds(struct conf_ctx *c, const struct keytab *t, void *obj,
    struct given *given, int rule, const struct ds_kind *own,
    struct kslot *slots, struct foreign **foreign, size_t *nforeign,
    const struct yn *map)
{
	kind_tab_fn kt = rule ? kind_rule_tab : kind_ds_tab;
	const struct keydef *kd;
	const struct ds_kind *k;
	struct kslot scratch;
	struct yent *ents;
	size_t n, i, j, hit;

	n = map_entries(c, map, &ents);
	for (i = 0; i < n; i++) {
		const struct yn *key = ents[i].k, *v = ents[i].v;

		if ((kd = bsearch(key->str, t->keys, t->n, sizeof(*t->keys),
		    keydef_cmp)) != NULL) {
			if (yn_is_null(v))
				continue;
			if (given != NULL) {
				given[kd - t->keys].k = key->mark;
				given[kd - t->keys].v = v->mark;
			}
			kd->fn(c, obj, kd, key, v);
			continue;
		}
		/* the object's own kind first, then the others in order */
		hit = 0;
		for (j = 0; j <= ds_kinds_count() && !hit; j++) {
			k = j == 0 ? own : ds_kind_at(j - 1);
			if (k == NULL || (j > 0 && k == own))
				continue;
			if ((kd = bsearch(key->str, kt(k)->keys, kt(k)->n,
			    sizeof(*kt(k)->keys), keydef_cmp)) == NULL)
				continue;
			hit = 1;
			if (yn_is_null(v))
				break;
			if (rule || k == own) {
				struct kslot *sl = &slots[ds_kind_index(k)];

				kslot_obj(sl, k, rule);
				sl->given[kd - kt(k)->keys].k = key->mark;
				sl->given[kd - kt(k)->keys].v = v->mark;
				kd->fn(c, sl->obj, kd, key, v);
				break;
			}
			/* a datasource key of another kind: checked, then
			 * dropped; the caller says it does not belong */
			memset(&scratch, 0, sizeof(scratch));
			kd->fn(c, kslot_obj(&scratch, k, 0), kd, key, v);
			kslot_free(&scratch, k, 0);
			*foreign = conf_xreallocarray(*foreign, *nforeign + 1,
			    sizeof(**foreign));
			(*foreign)[*nforeign].key = kd->name;
			(*foreign)[*nforeign].mark = key->mark;
			(*nforeign)++;
		}
		if (!hit && !(t->allow_x && strncmp(key->str, "x-", 2) == 0))
			unknown_key_kinds(c, t, kt, key);
	}
	free(ents);
}

/* Keys of other kinds: "uri: not a key of a redis datasource (mongo
 * only)". */
static void
ds_foreign_keys(struct conf_ctx *c, const struct conf_datasource *ds,
    const struct foreign *f, size_t n)
{
	const struct ds_kind *k;
	size_t i, j, off;
	char list[160];

	for (i = 0; i < n; i++) {
		list[0] = '\0';
		for (j = off = 0; j < ds_kinds_count() && off < sizeof(list);
		    j++) {
			k = ds_kind_at(j);
			if (bsearch(f[i].key, k->ds_keys->keys, k->ds_keys->n,
			    sizeof(*k->ds_keys->keys), keydef_cmp) != NULL)
				off += (size_t)snprintf(list + off,
				    sizeof(list) - off, "%s%s", off ? ", " : "",
				    k->name);
		}
		conf_error_at(c, f[i].mark, "%s: not a key of a %s datasource "
		    "(%s only)", f[i].key, ds->type, list);
	}
}

/* The scalar value of key in a mapping before its keys are walked, looked
 * for in the mapping itself, then in its first merge ("<<: *base" or
 * "<<: [*a, *b]"); NULL when not there. */
static const char *
peek_scalar(const struct yn *map, const char *name, int depth)
{
	const struct yn *key, *v;
	const char *r = NULL;
	size_t i, j;

	for (i = 0; i + 1 < map->nkids; i += 2) {
		key = map->kids[i];
		v = map->kids[i + 1];
		if (key->type != YN_SCALAR)
			continue;
		if (strcmp(key->str, name) == 0)
			return v->type == YN_SCALAR ? v->str : NULL;
		if (!is_merge_key(key) || depth > 0 || r != NULL)
			continue;
		if (v->type == YN_MAP)
			r = peek_scalar(v, name, depth + 1);
		else if (v->type == YN_SEQ)
			for (j = 0; j < v->nkids && r == NULL; j++)
				if (v->kids[j]->type == YN_MAP)
					r = peek_scalar(v->kids[j], name,
					    depth + 1);
	}
	return r;
}

/* The kind of a datasource mapping before its keys are walked (keys of its
 * kind go to its own struct, wherever "type" stands). */
static const struct ds_kind *
ds_peek_kind(const struct yn *map)
{
	return ds_kind_byname(peek_scalar(map, "type", 0));
}

/* rules: */

#define RAUX(c, obj)	(&(c)->raux[(c)->cur_rule])

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

/* The key of its shared state (ha.state: redis): a Redis key part. */
static void
h_rule_id(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	struct conf_rule *r = obj;
	const char *s;

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (*s == '\0' || strlen(s) > CONF_RULE_ID_MAX ||
	    strspn(s, "-._:/0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(s)) {
		conf_error_at(c, v->mark, "id: 1 to %d letters, digits or "
		    "-._:/ (it names the rule's shared state in Redis)",
		    CONF_RULE_ID_MAX);
		return;
	}
	set_str(&r->sid, s);
	RAUX(c, obj)->has_id = 1;
	RAUX(c, obj)->id = v->mark;
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
int
conf_check_template(const char *t, char *err, size_t errlen)
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

/* destination_template and the kinds' templates; kd->off: the field */
void
h_template(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	const char *s;
	char err[128];

	if ((s = want_string(c, kd->name, v, "a string")) == NULL)
		return;
	if (conf_check_template(s, err, sizeof(err)) == -1) {
		conf_error_at(c, v->mark, "%s: %s", kd->name, err);
		return;
	}
	set_str(FIELD(obj, kd->off, char *), s);
	if (strcmp(kd->name, "destination_template") == 0)
		RAUX(c, obj)->destination_template = v->mark;
}

void
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
void
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
 * Every rule_config key of the orchestrator (interop §5.7) plus our own,
 * but the layout keys of the kinds this build has (conf/kinds/: each kind's
 * rule table).
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
	{ "datasource", h_rule_ref, 0, 0, NULL },
	{ "destination_template", h_template, R(destination_template), 0,
	    NULL },
	RBOOL(detect_extra),
	IGN(dry_run),
	IGN(dry_run_prune),
	RSTR(env),
	RBOOL(env_as_branch),
	RBOOL(env_as_pr),
	RBOOL(env_as_tags),
	IGN(exclude_repositories),
	{ "file_name", h_rule_files, 0, 0, NULL },
	RMAP(file_path_map),
	{ "files", h_rule_files, 0, 0, NULL },
	{ "git_refresh_interval", h_duration, R(git_refresh_ms), 0,
	    (const void *)(uintptr_t)CONF_MIN_POLL_MS },
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
	{ "id", h_rule_id, 0, 0, NULL },
	{ "key_format", h_rule_key_format, 0, 0, NULL },
	IGN(last_applied_at),
	IGN(max_changed_files),
	{ "name", h_rule_name, 0, 0, NULL },
	IGN(overrides),
	{ "platform", h_rule_ref, 0, 0, NULL },
	{ "poll_interval", h_duration, R(poll_interval_ms), 0,
	    (const void *)(uintptr_t)CONF_MIN_POLL_MS },
	IGN(prune),
	IGN(prune_last),
	IGN(prune_protection),
	RSTR(repo_url),
	IGN(repositories),
	IGN(retry_backoff),
	RSTR(root_key),
	EXTRA(s3_object_tags),
	EXTRA(s3_tag_keys),
	IGN(secret_manager),
	IGN(secrets),
	RBOOL(self_heal),
	{ "sensitive_keys", h_strlist, R(sensitive_keys), R(nsensitive_keys),
	    NULL },
	IGN(strict_validation),
	IGN(sync_mode),
	RSTR(tenant_id),
	IGN(token),
	RMAP(variables_map),
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
	const struct ds_kind *own;
	struct kslot slots[DS_KINDS_MAX];
	struct foreign *foreign;
	size_t i, j, nforeign;

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
		memset(slots, 0, sizeof(slots));
		foreign = NULL;
		nforeign = 0;
		own = ds_peek_kind(v->kids[i]);
		if (own != NULL)
			kslot_obj(&slots[ds_kind_index(own)], own, 0);
		walk_map_kinds(c, &ds_tab, ds, NULL, 0, own, slots, &foreign,
		    &nforeign, v->kids[i]);
		conf->ndatasources++;
		if (own != NULL && ds->kind == own) {
			ds->kconf = slots[ds_kind_index(own)].obj;
			slots[ds_kind_index(own)].obj = NULL;
		}
		if (ds->name == NULL || *ds->name == '\0') {
			conf_error_at(c, v->kids[i]->mark, "missing required "
			    "key 'name' in datasource");
			goto next;
		}
		if ((q = conf_datasource_byname(conf, ds->name)) != ds)
			conf_error_at(c, v->kids[i]->mark, "duplicate "
			    "datasource name '%s' (first at %d:%d)", ds->name,
			    q->line, q->col);
		if (ds->type == NULL) {
			conf_error_at(c, v->kids[i]->mark, "missing required "
			    "key 'type' in datasource '%s'", ds->name);
			goto next;
		}
		if (ds->kind != NULL && ds->kconf == NULL)
			conf_error_at(c, v->kids[i]->mark, "datasource '%s': "
			    "type must be given in the mapping itself or its "
			    "first merge", ds->name);
		if (ds->kind == NULL || ds->kconf == NULL) {
			ds->kind = NULL;	/* reported */
			goto next;
		}
		ds_foreign_keys(c, ds, foreign, nforeign);
		ds->kind->ds_finish(c, ds, slots[ds_kind_index(ds->kind)].given,
		    v->kids[i]->mark);
 next:
		for (j = 0; j < ds_kinds_count(); j++)
			kslot_free(&slots[j], ds_kind_at(j), 0);
		free(foreign);
	}
}

/* The rule's own kind: its datasource's, when that is defined (the keys of
 * that kind go to its struct first, where kinds share a key name). */
static const struct ds_kind *
rule_peek_kind(struct conf_ctx *c, const struct yn *map)
{
	const struct conf_datasource *ds;
	const char *name = peek_scalar(map, "datasource", 0);

	if (name == NULL || (ds = conf_datasource_byname(c->conf, name)) ==
	    NULL)
		return NULL;
	return ds->kind;
}

static void
parse_rules(struct conf_ctx *c, const struct keydef *kd, const struct yn *v)
{
	struct vtw_conf *conf = c->conf;
	struct conf_rule *r;
	struct conf_rule_aux *a;
	struct kslot slots[DS_KINDS_MAX];
	struct foreign *foreign = NULL;
	size_t i, j, nforeign = 0;

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
		a = &c->raux[c->nraux];
		memset(r, 0, sizeof(*r));
		memset(a, 0, sizeof(*a));
		r->id = (unsigned int)conf->nrules;
		r->line = v->kids[i]->mark.line;
		r->col = v->kids[i]->mark.col;
		r->tenant_id = conf_xstrdup("default");
		r->branch = conf_xstrdup("main");
		conf->nrules++;
		c->nraux++;
		c->cur_rule = r->id;
		memset(slots, 0, sizeof(slots));
		/* every kind's layout keys are checked and kept whatever the
		 * rule's datasource (its own kind's first) */
		walk_map_kinds(c, &rule_tab, r, NULL, 1,
		    rule_peek_kind(c, v->kids[i]), slots, &foreign, &nforeign,
		    v->kids[i]);
		for (j = 0; j < ds_kinds_count(); j++) {
			r->klayout[j] = slots[j].obj;
			a->kgiven[j] = slots[j].given;
		}
	}
	free(foreign);
}

/* Rules are parsed once the whole document was walked (conf_parse_yaml),
 * so that their datasources, wherever they stand, are known. */
static void
h_rules(struct conf_ctx *c, void *obj, const struct keydef *kd,
    const struct yn *k, const struct yn *v)
{
	c->rules_kd = kd;
	c->rules_node = v;
	c->rules_mark = v->mark;
	c->rules_empty = yn_is_null(v) ||
	    (v->type == YN_SEQ && v->nkids == 0);
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
		&git_tab,
		&ha_tab, &ha_redis_tab, &ha_zk_tab,
		&webhooks_tab, &webhook_gitea_tab, &webhook_github_tab,
		&webhook_gitlab_tab,
		&platform_tab, &ds_tab, &rule_tab, &secret_tab,
	};
	static int done;
	const struct keytab *t;
	size_t i, j, n = NITEMS(all) + 2 * ds_kinds_count();

	if (done)
		return;
	if (ds_kinds_count() > DS_KINDS_MAX)
		fatalx("%s: more than %d kinds", __func__, DS_KINDS_MAX);
	for (i = 0; i < n; i++) {
		t = i < NITEMS(all) ? all[i] : (i - NITEMS(all)) % 2 == 0 ?
		    ds_kind_at((i - NITEMS(all)) / 2)->ds_keys :
		    ds_kind_at((i - NITEMS(all)) / 2)->rule_keys;
		for (j = 1; j < t->n; j++)
			if (strcmp(t->keys[j - 1].name, t->keys[j].name) >= 0)
				fatalx("%s: %s: '%s' before '%s'", __func__,
				    t->where, t->keys[j - 1].name,
				    t->keys[j].name);
	}
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
	if (c->rules_node != NULL)
		parse_rules(c, c->rules_kd, c->rules_node);
	c->rules_node = NULL;	/* it goes with the document */
 cleanup:
	ydoc_free(&d);
	return rv;
}
