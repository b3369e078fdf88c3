/*
 * Parsers for the files the orchestrator renders on a Linux server
 * (interop §3.8). See linux_parse.h. Pure: no I/O, no logging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "linux_parse.h"

static const char marker_line[] = "# vartrack managed";

static const char *const format_names[] = {
	[LP_ENV] = "env", [LP_INI] = "ini", [LP_PROPERTIES] = "properties",
	[LP_YAML] = "yaml", [LP_JSON] = "json"
};

const char *
lp_format_name(enum lp_format f)
{
	if ((unsigned)f < sizeof(format_names) / sizeof(format_names[0]))
		return format_names[f];
	return "?";
}

int
lp_format_from_name(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(s, format_names[i]) == 0)
			return (int)i;
	return -1;
}

/* One line of buf starting at pos: [*b, *e) without the '\n'; returns the
 * position after the line. */
static size_t
next_line(const char *buf, size_t len, size_t pos, size_t *b, size_t *e)
{
	const char *nl = memchr(buf + pos, '\n', len - pos);

	*b = pos;
	*e = nl ? (size_t)(nl - buf) : len;
	return nl ? *e + 1 : len;
}

static enum lp_status
put(struct kvmap *out, const char *k, size_t kl, const char *v, size_t vl)
{
	if (kvmap_count(out) >= LP_MAX_KEYS && kvmap_get(out, k, kl) == NULL)
		return LP_TOO_BIG;
	return kvmap_put(out, k, kl, v, vl) == -1 ? LP_NOMEM : LP_OK;
}

/* ---- env ---------------------------------------------------------------- */

static enum lp_status
parse_env(const char *buf, size_t len, struct kvmap *out)
{
	size_t pos = 0, b, e, vb, ve, p2, b2, e2;
	const char *eq;
	enum lp_status rc;

	while (pos < len) {
		pos = next_line(buf, len, pos, &b, &e);
		if (e == b || buf[b] == '#')
			continue;
		if ((eq = memchr(buf + b, '=', e - b)) == NULL)
			continue;	/* not a key=value line */
		vb = (size_t)(eq - buf) + 1;
		ve = e;
		if (ve > vb && buf[vb] == '"') {
			if (ve - vb >= 2 && buf[ve - 1] == '"') {
				vb++;
				ve--;
			} else {
				/* a quoted value with newlines: up to the
				 * first following line that ends in '"' */
				for (p2 = pos; p2 < len;) {
					p2 = next_line(buf, len, p2, &b2, &e2);
					if (e2 > b2 && buf[e2 - 1] == '"') {
						vb++;
						ve = e2 - 1;
						pos = p2;
						break;
					}
				}
				/* never closed: the line as it is */
			}
		}
		if ((rc = put(out, buf + b, (size_t)(eq - (buf + b)), buf + vb,
		    ve - vb)) != LP_OK)
			return rc;
	}
	return LP_OK;
}

/* ---- ini and properties ------------------------------------------------- */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Find the separator of a line: for ini the first " = ", else the first
 * '='; for properties the first '='. Sets the key end and value start;
 * 0 when the line has no separator.
 */
static int
split_line(int ini, const char *buf, size_t b, size_t e, size_t *ke,
    size_t *vb)
{
	const char *p, *eq;
	size_t i;

	if (ini) {
		for (i = b; i + 3 <= e; i++) {
			p = buf + i;
			if (p[0] == ' ' && p[1] == '=' && p[2] == ' ') {
				*ke = i;
				*vb = i + 3;
				return 1;
			}
		}
	}
	if ((eq = memchr(buf + b, '=', e - b)) == NULL)
		return 0;
	*ke = (size_t)(eq - buf);
	*vb = *ke + 1;
	if (ini) {
		while (*ke > b && is_blank(buf[*ke - 1]))
			(*ke)--;
		while (*vb < e && is_blank(buf[*vb]))
			(*vb)++;
	}
	return 1;
}

/* a line that is never a value nor its continuation */
static int
skip_line(int ini, const char *buf, size_t b)
{
	if (buf[b] == '#')
		return 1;
	if (ini && buf[b] == ';')
		return 1;
	return 0;
}

static int
is_section(const char *buf, size_t b, size_t e)
{
	return e - b >= 2 && buf[b] == '[' && buf[e - 1] == ']' &&
	    memchr(buf + b, '=', e - b) == NULL;
}

static enum lp_status
parse_kv(int ini, const char *buf, size_t len, struct kvmap *out)
{
	size_t pos = 0, b, e, ke, vb, ve, p2, b2, e2, k2, v2;
	enum lp_status rc;

	while (pos < len) {
		pos = next_line(buf, len, pos, &b, &e);
		if (e == b || skip_line(ini, buf, b) ||
		    (ini && is_section(buf, b, e)))
			continue;
		if (!split_line(ini, buf, b, e, &ke, &vb))
			continue;	/* stray line: not a key=value */
		ve = e;
		/*
		 * The orchestrator writes values with newlines as they are:
		 * following lines without a separator continue the value
		 * (blank lines only when more continuation follows).
		 */
		for (p2 = pos; p2 < len;) {
			size_t after = next_line(buf, len, p2, &b2, &e2);

			if (e2 == b2) {
				p2 = after;
				continue;
			}
			if (skip_line(ini, buf, b2) ||
			    (ini && is_section(buf, b2, e2)) ||
			    split_line(ini, buf, b2, e2, &k2, &v2))
				break;
			ve = e2;
			pos = p2 = after;
		}
		if ((rc = put(out, buf + b, ke - b, buf + vb, ve - vb)) != LP_OK)
			return rc;
	}
	return LP_OK;
}

/* ---- flattening helpers (yaml, json) ----------------------------------- */

struct flat {
	struct kvmap	*out;
	char		*path;		/* current key prefix */
	size_t		 len, cap;
	size_t		 used, budget;	/* output bytes */
	size_t		 visits, max_visits;
	char		*err;
	size_t		 errlen;
};

/* Append ".seg" (or "seg" at the top) to the path; returns the old length
 * to restore, or (size_t)-1 on OOM. */
static size_t
path_push(struct flat *f, const char *seg, size_t n)
{
	size_t old = f->len, need = f->len + n + 2;
	char *np;

	if (need > f->cap) {
		size_t nc = f->cap ? f->cap : 256;

		while (nc < need)
			nc *= 2;
		if ((np = realloc(f->path, nc)) == NULL)
			return (size_t)-1;
		f->path = np;
		f->cap = nc;
	}
	if (f->len > 0)
		f->path[f->len++] = '.';
	memcpy(f->path + f->len, seg, n);
	f->len += n;
	return old;
}

static enum lp_status
flat_emit(struct flat *f, const char *v, size_t vl)
{
	f->used += f->len + vl;
	if (f->used > f->budget) {
		snprintf(f->err, f->errlen, "flattened content over %zu bytes",
		    f->budget);
		return LP_TOO_BIG;
	}
	return put(f->out, f->path ? f->path : "", f->len, v, vl);
}

static enum lp_status
flat_enter(struct flat *f, int depth)
{
	if (depth > LP_MAX_DEPTH) {
		snprintf(f->err, f->errlen, "nested deeper than %d levels",
		    LP_MAX_DEPTH);
		return LP_TOO_BIG;
	}
	if (++f->visits > f->max_visits) {
		snprintf(f->err, f->errlen, "more than %zu nodes once aliases "
		    "are expanded", f->max_visits);
		return LP_TOO_BIG;
	}
	return LP_OK;
}

/* ---- yaml --------------------------------------------------------------- */

static enum lp_status
yaml_flatten(struct flat *f, yaml_document_t *d, yaml_node_t *n, int depth)
{
	enum lp_status rc;
	yaml_node_pair_t *pr;
	yaml_node_item_t *it;
	yaml_node_t *k;
	size_t old, i;
	char idx[32];
	int il;

	if (n == NULL)
		return LP_OK;
	if ((rc = flat_enter(f, depth)) != LP_OK)
		return rc;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return flat_emit(f, (const char *)n->data.scalar.value,
		    n->data.scalar.length);
	case YAML_MAPPING_NODE:
		for (pr = n->data.mapping.pairs.start;
		    pr < n->data.mapping.pairs.top; pr++) {
			k = yaml_document_get_node(d, pr->key);
			if (k == NULL || k->type != YAML_SCALAR_NODE)
				continue;	/* complex keys: not ours */
			old = path_push(f, (const char *)k->data.scalar.value,
			    k->data.scalar.length);
			if (old == (size_t)-1)
				return LP_NOMEM;
			rc = yaml_flatten(f, d,
			    yaml_document_get_node(d, pr->value), depth + 1);
			f->len = old;
			if (rc != LP_OK)
				return rc;
		}
		return LP_OK;
	case YAML_SEQUENCE_NODE:
		for (it = n->data.sequence.items.start, i = 0;
		    it < n->data.sequence.items.top; it++, i++) {
			il = snprintf(idx, sizeof(idx), "%zu", i);
			if ((old = path_push(f, idx, (size_t)il)) == (size_t)-1)
				return LP_NOMEM;
			rc = yaml_flatten(f, d, yaml_document_get_node(d, *it),
			    depth + 1);
			f->len = old;
			if (rc != LP_OK)
				return rc;
		}
		return LP_OK;
	default:
		return LP_OK;
	}
}

static enum lp_status
parse_yaml(struct flat *f, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *root;
	enum lp_status rc;
	size_t nnodes;

	if (!yaml_parser_initialize(&p))
		return LP_NOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d)) {
		if (p.error == YAML_MEMORY_ERROR)
			rc = LP_NOMEM;
		else {
			snprintf(f->err, f->errlen, "YAML: %s at line %zu",
			    p.problem ? p.problem : "syntax error",
			    (size_t)p.problem_mark.line + 1);
			rc = LP_SYNTAX;
		}
		yaml_parser_delete(&p);
		return rc;
	}
	root = yaml_document_get_root_node(&d);
	if (root == NULL)
		rc = LP_OK;	/* empty file: no keys */
	else if (root->type != YAML_MAPPING_NODE) {
		snprintf(f->err, f->errlen, "YAML: the top level is not a "
		    "mapping");
		rc = LP_SYNTAX;
	} else {
		nnodes = (size_t)(d.nodes.top - d.nodes.start);
		f->max_visits = nnodes * 2 + 100000;
		rc = yaml_flatten(f, &d, root, 0);
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	return rc;
}

/* ---- json --------------------------------------------------------------- */

/* A real number the way Python's repr() prints it: the shortest text that
 * reads back as the same double, with ".0" when it looks like an int. */
static void
real_text(double x, char *o, size_t n)
{
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(o, n, "%.*g", prec, x);
		if (strtod(o, NULL) == x)
			break;
	}
	if (strpbrk(o, ".eEni") == NULL && strlen(o) + 3 <= n)
		strcat(o, ".0");
}

static enum lp_status
json_flatten(struct flat *f, json_t *v, int depth)
{
	enum lp_status rc;
	const char *k;
	size_t kl, old, i;
	json_t *c;
	char tmp[64];
	int il;

	if ((rc = flat_enter(f, depth)) != LP_OK)
		return rc;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_keylen_foreach(v, k, kl, c) {
			if ((old = path_push(f, k, kl)) == (size_t)-1)
				return LP_NOMEM;
			rc = json_flatten(f, c, depth + 1);
			f->len = old;
			if (rc != LP_OK)
				return rc;
		}
		return LP_OK;
	case JSON_ARRAY:
		json_array_foreach(v, i, c) {
			il = snprintf(tmp, sizeof(tmp), "%zu", i);
			if ((old = path_push(f, tmp, (size_t)il)) == (size_t)-1)
				return LP_NOMEM;
			rc = json_flatten(f, c, depth + 1);
			f->len = old;
			if (rc != LP_OK)
				return rc;
		}
		return LP_OK;
	case JSON_STRING:
		return flat_emit(f, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		il = snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return flat_emit(f, tmp, (size_t)il);
	case JSON_REAL:
		real_text(json_real_value(v), tmp, sizeof(tmp));
		return flat_emit(f, tmp, strlen(tmp));
	case JSON_TRUE:
		return flat_emit(f, "true", 4);
	case JSON_FALSE:
		return flat_emit(f, "false", 5);
	case JSON_NULL:
	default:
		return flat_emit(f, "null", 4);
	}
}

static enum lp_status
parse_json(struct flat *f, const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *root;
	enum lp_status rc;

	/* JSON_ALLOW_NUL: "\u0000" inside strings is kept as a byte */
	root = json_loadb(buf, len, JSON_ALLOW_NUL, &jerr);
	if (root == NULL) {
		/* jerr.text describes the problem, never quotes the input */
		snprintf(f->err, f->errlen, "JSON: %s at line %d", jerr.text,
		    jerr.line);
		return LP_SYNTAX;
	}
	if (!json_is_object(root)) {
		snprintf(f->err, f->errlen, "JSON: the top level is not an "
		    "object");
		rc = LP_SYNTAX;
	} else {
		f->max_visits = (size_t)-1;	/* no aliases in JSON */
		rc = json_flatten(f, root, 0);
	}
	json_decref(root);
	return rc;
}

/* ---- entry point -------------------------------------------------------- */

enum lp_status
lp_parse(enum lp_format fmt, const char *buf, size_t len, struct kvmap *out,
    int *marker, char *err, size_t errlen)
{
	struct flat f;
	enum lp_status rc;

	if (errlen > 0)
		err[0] = '\0';
	*marker = len >= sizeof(marker_line) - 1 &&
	    memcmp(buf, marker_line, sizeof(marker_line) - 1) == 0;
	switch (fmt) {
	case LP_ENV:
		rc = parse_env(buf, len, out);
		break;
	case LP_INI:
		rc = parse_kv(1, buf, len, out);
		break;
	case LP_PROPERTIES:
		rc = parse_kv(0, buf, len, out);
		break;
	case LP_YAML:
	case LP_JSON:
		memset(&f, 0, sizeof(f));
		f.out = out;
		f.err = err;
		f.errlen = errlen;
		f.budget = len > LP_MIN_BUDGET / 8 ? len * 8 : LP_MIN_BUDGET;
		rc = fmt == LP_YAML ? parse_yaml(&f, buf, len) :
		    parse_json(&f, buf, len);
		free(f.path);
		break;
	default:
		snprintf(err, errlen, "unknown file format %d", (int)fmt);
		return LP_SYNTAX;
	}
	if (rc == LP_TOO_BIG && errlen > 0 && err[0] == '\0')
		snprintf(err, errlen, "more than %u keys", LP_MAX_KEYS);
	return rc;
}
