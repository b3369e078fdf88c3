/*
 * INI loader: Python configparser.ConfigParser(interpolation=None) with
 * optionxform = str, read with read_string(), then shaped like the
 * orchestrator's ini_parser: {DEFAULT keys..., section: dict(cfg[section])}
 * where a section's dict also carries the DEFAULT keys it does not set.
 * Strict mode: duplicate sections or options are errors, as are lines
 * before the first section header and lines that are not "key = value".
 */
#include <stdlib.h>
#include <string.h>

#include "bl_internal.h"

struct isect {
	struct bl_node	*name;		/* STR */
	struct bl_node	*opts;		/* option -> SEQ of lines */
};

struct iload {
	struct bl_ctx	*ctx;
	struct isect	*sec;
	size_t		 nsec, capsec;
	struct bl_node	*defaults;	/* MAP: option -> SEQ of lines */
	struct kvmap	*seen;		/* "sect" and "sect\nopt" */
	size_t		 perr_line;	/* first deferred ParsingError */
};

static int
seen_has(struct iload *il, const char *sect, size_t sl, const char *opt,
    size_t ol, int *has)
{
	char *k;
	size_t kl = sl + ol + 1;

	if ((k = malloc(kl + 1)) == NULL) {
		bl_seterr_oom(il->ctx);
		return -1;
	}
	memcpy(k, sect, sl);
	k[sl] = '\n';
	memcpy(k + sl + 1, opt, ol);
	*has = kvmap_get(il->seen, k, kl) != NULL;
	free(k);
	return 0;
}

static int
seen_add(struct iload *il, const char *sect, size_t sl, const char *opt,
    size_t ol, int *dup)
{
	char *k;
	size_t kl = sl + (opt ? ol + 1 : 0);
	int rc;

	if ((k = malloc(kl + 1)) == NULL) {
		bl_seterr_oom(il->ctx);
		return -1;
	}
	memcpy(k, sect, sl);
	if (opt) {
		k[sl] = '\n';
		memcpy(k + sl + 1, opt, ol);
	}
	*dup = kvmap_get(il->seen, k, kl) != NULL;
	rc = *dup ? 0 : kvmap_put(il->seen, k, kl, "", 0);
	free(k);
	if (rc == -1)
		bl_seterr_oom(il->ctx);
	return rc;
}

/* '\n'.join(lines).rstrip() */
static struct bl_node *
join_value(struct bl_ctx *ctx, const struct bl_node *seq)
{
	size_t total = 0, o = 0, i, len;
	const char *p;
	char *s;

	for (i = 0; i < seq->u.q.n; i++)
		total += seq->u.q.v[i]->u.s.len + 1;
	if ((s = bl_alloc(&ctx->ar, total + 1)) == NULL) {
		bl_seterr_oom(ctx);
		return NULL;
	}
	for (i = 0; i < seq->u.q.n; i++) {
		if (i > 0)
			s[o++] = '\n';
		memcpy(s + o, seq->u.q.v[i]->u.s.p, seq->u.q.v[i]->u.s.len);
		o += seq->u.q.v[i]->u.s.len;
	}
	s[o] = '\0';
	p = s;
	len = o;
	while (len > 0) {
		uint32_t cp;
		size_t k = u8_prev(p, len, &cp);

		if (!py_isspace(cp))
			break;
		len -= k;
	}
	return bl_node_str(ctx, p, len, 0);
}

static int
joined_map(struct bl_ctx *ctx, struct bl_node *opts)
{
	struct bl_node *v;
	uint32_t i;

	for (i = 0; i < opts->u.m.n; i++) {
		if ((v = join_value(ctx, opts->u.m.v[i].v)) == NULL)
			return -1;
		opts->u.m.v[i].v = v;
	}
	return 0;
}

static int
ini_lines(struct iload *il, const char *data, size_t len)
{
	struct bl_ctx *ctx = il->ctx;
	struct bl_node *cursect = NULL, *curvals = NULL, *kn, *vn;
	const char *line, *val, *sectname = NULL, *o, *v;
	size_t ll, vl, sl = 0, lineno = 0, indent, level = 0, i, w, ol, xl;
	uint32_t cp;
	int comment, dup;

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);

		line = data;
		ll = nl ? (size_t)(nl - data) : len;
		data += nl ? ll + 1 : ll;
		len -= nl ? ll + 1 : ll;
		lineno++;
		val = line;
		vl = ll;
		py_strip(&val, &vl);
		comment = vl > 0 && (val[0] == '#' || val[0] == ';');
		if (comment || vl == 0) {
			if (!comment && cursect != NULL && curvals != NULL &&
			    (vn = bl_node_str(ctx, "", 0, 0)) != NULL &&
			    bl_seq_add(ctx, curvals, vn) == -1)
				return -1;
			if (ctx->failed)
				return -1;
			continue;
		}
		for (i = 0, indent = 0; i < ll; i += w, indent++) {
			w = u8_next(line + i, ll - i, &cp);
			if (!py_isspace(cp))
				break;
		}
		if (cursect != NULL && curvals != NULL && indent > level) {
			if ((vn = bl_node_str(ctx, val, vl, 1)) == NULL ||
			    bl_seq_add(ctx, curvals, vn) == -1)
				return -1;
			continue;
		}
		level = indent;
		/* SECTCRE: \[(?P<header>.+)\] matched at the start */
		if (val[0] == '[') {
			for (xl = vl; xl > 1 && val[xl - 1] != ']'; xl--)
				;
			if (xl > 2) {
				const char *h = val + 1;
				size_t hl = xl - 2;

				curvals = NULL;
				sectname = h;
				sl = hl;
				/* DEFAULT is never in _sections: no dup check */
				if (hl == 7 && memcmp(h, "DEFAULT", 7) == 0) {
					cursect = il->defaults;
					continue;
				}
				if (seen_add(il, h, hl, NULL, 0, &dup) == -1)
					return -1;
				if (dup) {
					bl_seterr(ctx, lineno, 1, "section "
					    "'%.*s' already exists "
					    "(configparser is strict)",
					    (int)hl, h);
					return -1;
				}
				if (il->nsec == il->capsec) {
					size_t nc = il->capsec ? il->capsec * 2 :
					    8;
					struct isect *ns = realloc(il->sec,
					    nc * sizeof(*ns));

					if (ns == NULL) {
						bl_seterr_oom(ctx);
						return -1;
					}
					il->sec = ns;
					il->capsec = nc;
				}
				if ((kn = bl_node_str(ctx, h, hl, 1)) == NULL ||
				    (cursect = bl_node_new(ctx, BLK_MAP,
				    lineno, 1)) == NULL)
					return -1;
				kn->line = (uint32_t)lineno;
				kn->col = 1;
				il->sec[il->nsec].name = kn;
				il->sec[il->nsec++].opts = cursect;
				continue;
			}
		}
		if (cursect == NULL) {
			bl_seterr(ctx, lineno, 1, "file contains no section "
			    "headers");
			return -1;
		}
		/* OPTCRE: first '=' or ':' */
		for (i = 0; i < vl && val[i] != '=' && val[i] != ':'; i++)
			;
		if (i == vl) {
			if (il->perr_line == 0)
				il->perr_line = lineno;
			curvals = NULL;
			continue;
		}
		o = val;
		ol = i;
		py_strip(&o, &ol);
		v = val + i + 1;
		xl = vl - i - 1;
		py_strip(&v, &xl);
		if (ol == 0 && il->perr_line == 0)
			il->perr_line = lineno;
		if (seen_add(il, sectname, sl, o, ol, &dup) == -1)
			return -1;
		if (dup) {
			bl_seterr(ctx, lineno, 1, "option '%.*s' in section "
			    "'%.*s' already exists (configparser is strict)",
			    (int)ol, o, (int)sl, sectname);
			return -1;
		}
		if ((kn = bl_node_str(ctx, o, ol, 1)) == NULL ||
		    (curvals = bl_node_new(ctx, BLK_SEQ, lineno, 1)) == NULL ||
		    (vn = bl_node_str(ctx, v, xl, 1)) == NULL ||
		    bl_seq_add(ctx, curvals, vn) == -1 ||
		    bl_map_add(ctx, cursect, kn, curvals) == -1)
			return -1;
		kn->line = vn->line = (uint32_t)lineno;
		kn->col = vn->col = 1;
		cursect->u.m.nraw++;
	}
	if (il->perr_line != 0) {
		bl_seterr(ctx, il->perr_line, 1, "source contains parsing "
		    "errors (not a 'key = value' line)");
		return -1;
	}
	return 0;
}

int
bl_load_ini(struct bl_ctx *ctx, const char *data, size_t len,
    struct bl_node **root)
{
	struct iload il;
	struct bl_node *top, *sm;
	size_t s, total = 0;
	uint32_t i;
	int rc = -1;

	memset(&il, 0, sizeof(il));
	il.ctx = ctx;
	*root = NULL;
	if ((il.seen = kvmap_new()) == NULL) {
		bl_seterr_oom(ctx);
		return -1;
	}
	if ((il.defaults = bl_node_new(ctx, BLK_MAP, 0, 0)) == NULL ||
	    (top = bl_node_new(ctx, BLK_MAP, 0, 0)) == NULL)
		goto cleanup;
	if (ini_lines(&il, data, len) == -1)
		goto cleanup;
	if (joined_map(ctx, il.defaults) == -1)
		goto cleanup;
	for (i = 0; i < il.defaults->u.m.n; i++)
		if (bl_map_add(ctx, top, il.defaults->u.m.v[i].k,
		    il.defaults->u.m.v[i].v) == -1)
			goto cleanup;
	for (s = 0; s < il.nsec; s++) {
		sm = il.sec[s].opts;
		if (joined_map(ctx, sm) == -1)
			goto cleanup;
		/* options(): the section's own, then DEFAULT's others */
		for (i = 0; i < il.defaults->u.m.n; i++) {
			const struct bl_node *dk = il.defaults->u.m.v[i].k;
			int has;

			if (seen_has(&il, il.sec[s].name->u.s.p,
			    il.sec[s].name->u.s.len, dk->u.s.p, dk->u.s.len,
			    &has) == -1)
				goto cleanup;
			if (has)
				continue;
			if (++total > ctx->lim.max_keys) {
				bl_seterr(ctx, 0, 0, "DEFAULT keys copied into "
				    "every section make more than %zu keys "
				    "(max_keys)", ctx->lim.max_keys);
				goto cleanup;
			}
			if (bl_map_add(ctx, sm, il.defaults->u.m.v[i].k,
			    il.defaults->u.m.v[i].v) == -1)
				goto cleanup;
		}
		if (bl_map_add(ctx, top, il.sec[s].name, sm) == -1)
			goto cleanup;
	}
	top->u.m.nraw = top->u.m.n;
	if (bl_map_dedupe(ctx, top) == -1)
		goto cleanup;
	*root = top;
	rc = 0;
cleanup:
	free(il.sec);
	kvmap_free(il.seen);
	return rc;
}
