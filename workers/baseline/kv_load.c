/*
 * KEY=VALUE loader (.env, .properties, Dockerfile ENV ...), the
 * orchestrator's kv_parser rules applied to the real file: lines as
 * str.splitlines(), '#' ';' '!' comments, "ENV " and "export " prefixes,
 * split at the first '=' else the first ':', one layer of matching quotes.
 */
#include <string.h>

#include "bl_internal.h"

/* str.splitlines() boundaries */
static int
is_linebreak(uint32_t c)
{
	return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c ||
	    (c >= 0x1c && c <= 0x1e) || c == 0x85 || c == 0x2028 ||
	    c == 0x2029;
}

static int
put(struct bl_ctx *ctx, struct bl_node *m, const char *k, size_t kl,
    const char *v, size_t vl, size_t line)
{
	struct bl_node *kn, *vn;

	if ((kn = bl_node_str(ctx, k, kl, 1)) == NULL ||
	    (vn = bl_node_str(ctx, v, vl, 1)) == NULL)
		return -1;
	kn->line = vn->line = (uint32_t)line;
	kn->col = vn->col = 1;
	m->u.m.nraw++;
	return bl_map_add(ctx, m, kn, vn);
}

static int
kv_line(struct bl_ctx *ctx, struct bl_node *m, const char *s, size_t n,
    size_t line)
{
	const char *rest, *k, *v, *sep;
	size_t rl, kl, vl, i, w;
	uint32_t cp;
	int si;

	py_strip(&s, &n);
	if (n == 0 || s[0] == '#' || s[0] == ';' || s[0] == '!')
		return 0;
	if (n >= 4 && (s[0] | 0x20) == 'e' && (s[1] | 0x20) == 'n' &&
	    (s[2] | 0x20) == 'v' && s[3] == ' ') {
		rest = s + 4;
		rl = n - 4;
		py_strip(&rest, &rl);
		if (memchr(rest, '=', rl) == NULL) {
			/* Dockerfile "ENV KEY VALUE": rest.split(None, 1) */
			for (i = 0; i < rl; i += w) {
				w = u8_next(rest + i, rl - i, &cp);
				if (py_isspace(cp))
					break;
			}
			if (i == rl)
				return 0;
			v = rest + i;
			vl = rl - i;
			py_strip(&v, &vl);
			return put(ctx, m, rest, i, v, vl, line);
		}
		s = rest;
		n = rl;
	}
	if (n >= 7 && memcmp(s, "export ", 7) == 0) {
		s += 7;
		n -= 7;
		py_strip(&s, &n);
	}
	for (si = 0; si < 2; si++) {
		if ((sep = memchr(s, si == 0 ? '=' : ':', n)) == NULL)
			continue;
		k = s;
		kl = (size_t)(sep - s);
		v = sep + 1;
		vl = n - kl - 1;
		py_strip(&k, &kl);
		py_strip(&v, &vl);
		if (vl >= 2 && (v[0] == '"' || v[0] == '\'') &&
		    v[vl - 1] == v[0]) {
			v++;
			vl -= 2;
		}
		if (kl > 0)
			return put(ctx, m, k, kl, v, vl, line);
		return 0;
	}
	return 0;
}

int
bl_load_kv(struct bl_ctx *ctx, const char *data, size_t len,
    struct bl_node **root)
{
	struct bl_node *m;
	size_t i = 0, start, w, line = 1;
	uint32_t cp;

	*root = NULL;
	if ((m = bl_node_new(ctx, BLK_MAP, 0, 0)) == NULL)
		return -1;
	while (i < len) {
		start = i;
		for (;;) {
			if (i >= len) {
				if (kv_line(ctx, m, data + start, i - start,
				    line) == -1)
					return -1;
				break;
			}
			w = u8_next(data + i, len - i, &cp);
			if (!is_linebreak(cp)) {
				i += w;
				continue;
			}
			if (kv_line(ctx, m, data + start, i - start, line) == -1)
				return -1;
			i += w;
			if (cp == '\r' && i < len && data[i] == '\n')
				i++;
			line++;
			break;
		}
	}
	if (bl_map_dedupe(ctx, m) == -1)
		return -1;
	*root = m;
	return 0;
}
