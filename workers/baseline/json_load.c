/*
 * JSON loader: jansson -> value tree. Depth is bounded by a pre-scan so
 * jansson (recursive) never sees deeper input than max_depth. For .jsonc
 * and .json5 the orchestrator's two comment regexes run first, byte for
 * byte (they also bite inside strings, as the orchestrator's do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bl_internal.h"

/*
 * json_parser._strip_comments: first every block comment (non-greedy,
 * across lines), then every "//" up to the end of its line.
 */
static char *
strip_comments(const char *s, size_t len, size_t *olen)
{
	char *a, *b;
	size_t i = 0, o = 0, j, k;

	if ((a = malloc(len + 1)) == NULL)
		return NULL;
	while (i < len) {
		for (j = i; j + 1 < len && !(s[j] == '/' && s[j + 1] == '*'); j++)
			;
		if (j + 1 >= len)
			break;
		for (k = j + 2; k + 1 < len && !(s[k] == '*' && s[k + 1] == '/');
		    k++)
			;
		if (k + 1 >= len)
			break;
		memcpy(a + o, s + i, j - i);
		o += j - i;
		i = k + 2;
	}
	memcpy(a + o, s + i, len - i);
	o += len - i;
	if ((b = malloc(o + 1)) == NULL) {
		free(a);
		return NULL;
	}
	for (i = 0, k = 0; i < o; ) {
		if (i + 1 < o && a[i] == '/' && a[i + 1] == '/') {
			while (i < o && a[i] != '\n')
				i++;
			continue;
		}
		b[k++] = a[i++];
	}
	b[k] = '\0';
	free(a);
	*olen = k;
	return b;
}

/*
 * Before jansson (recursive, and a whole tree in memory) sees the text:
 * the offset where nesting first exceeds max, or where the number of
 * values (commas and openers outside strings bound it) exceeds maxvals.
 */
static size_t
prescan(const char *s, size_t len, size_t max, size_t maxvals, int *toomany)
{
	size_t i, d = 0, vals = 1;
	int instr = 0;

	*toomany = 0;
	for (i = 0; i < len; i++) {
		if (instr) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				instr = 0;
			continue;
		}
		switch (s[i]) {
		case '"':
			instr = 1;
			break;
		case '[':
		case '{':
			if (++d > max)
				return i;
			vals++;
			break;
		case ',':
			vals++;
			break;
		case ']':
		case '}':
			if (d > 0)
				d--;
			break;
		default:
			break;
		}
		if (vals > maxvals) {
			*toomany = 1;
			return i;
		}
	}
	return (size_t)-1;
}

static struct bl_node *
conv_scalar(struct bl_ctx *ctx, json_t *j)
{
	struct bl_node *n;
	char buf[32];
	int r;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return bl_node_new(ctx, BLK_MAP, 0, 0);
	case JSON_ARRAY:
		return bl_node_new(ctx, BLK_SEQ, 0, 0);
	case JSON_STRING:
		return bl_node_str(ctx, json_string_value(j),
		    json_string_length(j), 1);
	case JSON_INTEGER:
		r = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(j));
		if ((n = bl_node_new(ctx, BLK_INT, 0, 0)) == NULL)
			return NULL;
		if ((n->u.s.p = bl_strndup(&ctx->ar, buf, (size_t)r)) == NULL) {
			bl_seterr_oom(ctx);
			return NULL;
		}
		n->u.s.len = (size_t)r;
		return n;
	case JSON_REAL:
		if ((n = bl_node_new(ctx, BLK_FLOAT, 0, 0)) != NULL)
			n->u.f = json_real_value(j);
		return n;
	case JSON_TRUE:
	case JSON_FALSE:
		if ((n = bl_node_new(ctx, BLK_BOOL, 0, 0)) != NULL)
			n->u.b = json_is_true(j);
		return n;
	default:
		return bl_node_new(ctx, BLK_NULL, 0, 0);
	}
}

struct jframe {
	json_t		*j;
	struct bl_node	*n;
	void		*iter;
	size_t		 idx;
};

/* Iterative copy of a jansson tree. */
static struct bl_node *
convert(struct bl_ctx *ctx, json_t *top)
{
	struct jframe *st = NULL, *f;
	struct bl_node *root, *child, *key;
	size_t nst = 0, cap = 0;
	json_t *cj;
	const char *k;

	if ((root = conv_scalar(ctx, top)) == NULL)
		return NULL;
	if (!json_is_object(top) && !json_is_array(top))
		return root;
	cap = 16;
	if ((st = malloc(cap * sizeof(*st))) == NULL)
		goto oom;
	st[nst++] = (struct jframe){ top, root, json_object_iter(top), 0 };
	while (nst > 0) {
		f = &st[nst - 1];
		key = NULL;
		if (json_is_object(f->j)) {
			if (f->iter == NULL) {
				nst--;
				continue;
			}
			k = json_object_iter_key(f->iter);
			cj = json_object_iter_value(f->iter);
			if ((key = bl_node_str(ctx, k,
			    json_object_iter_key_len(f->iter), 1)) == NULL)
				goto fail;
			f->iter = json_object_iter_next(f->j, f->iter);
		} else {
			if (f->idx >= json_array_size(f->j)) {
				nst--;
				continue;
			}
			cj = json_array_get(f->j, f->idx++);
		}
		if ((child = conv_scalar(ctx, cj)) == NULL)
			goto fail;
		if (key != NULL) {
			if (bl_map_add(ctx, f->n, key, child) == -1)
				goto fail;
			f->n->u.m.nraw++;
		} else if (bl_seq_add(ctx, f->n, child) == -1)
			goto fail;
		if (json_is_object(cj) || json_is_array(cj)) {
			if (nst == cap) {
				struct jframe *ns;

				cap *= 2;
				if ((ns = realloc(st, cap * sizeof(*ns))) ==
				    NULL)
					goto oom;
				st = ns;
			}
			st[nst++] = (struct jframe){ cj, child,
			    json_is_object(cj) ? json_object_iter(cj) : NULL,
			    0 };
		}
	}
	free(st);
	return root;
oom:
	bl_seterr_oom(ctx);
fail:
	free(st);
	return NULL;
}

int
bl_load_json(struct bl_ctx *ctx, const char *data, size_t len, int comments,
    struct bl_node **root, int *soft)
{
	json_error_t je;
	json_t *j = NULL;
	char *buf = NULL;
	const char *p = data, *note = "";
	size_t n = len, off, line, col;
	int rc = -1, toomany;

	*root = NULL;
	*soft = 0;
	if (comments) {
		if ((buf = strip_comments(data, len, &n)) == NULL) {
			bl_seterr_oom(ctx);
			return -1;
		}
		p = buf;
		note = " (after comment stripping)";
	}
	off = prescan(p, n, ctx->lim.max_depth, ctx->max_nodes / 2, &toomany);
	if (off != (size_t)-1) {
		bl_linecol(p, n, off, &line, &col);
		if (toomany)
			bl_seterr(ctx, line, col, "more than %zu values in the "
			    "file (limit derived from max_keys)%s",
			    ctx->max_nodes / 2, note);
		else
			bl_seterr(ctx, line, col, "nesting deeper than %zu "
			    "levels (max_depth)%s", ctx->lim.max_depth, note);
		goto cleanup;
	}
	j = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (j == NULL) {
		if (json_error_code(&je) == json_error_numeric_overflow)
			bl_seterr(ctx, (size_t)je.line, (size_t)je.column,
			    "%s: numbers beyond 64-bit integers or double range "
			    "are not supported by the watcher%s", je.text,
			    note);
		else {
			*soft = json_error_code(&je) != json_error_out_of_memory;
			bl_seterr(ctx, je.line > 0 ? (size_t)je.line : 0,
			    je.column > 0 ? (size_t)je.column : 0,
			    "invalid JSON: %s%s", je.text, note);
		}
		goto cleanup;
	}
	if ((*root = convert(ctx, j)) == NULL)
		goto cleanup;
	rc = 0;
cleanup:
	json_decref(j);
	free(buf);
	return rc;
}
