/*
 * Baseline: a Git file -> the key/value map the varTrack orchestrator
 * writes for it (interop §7, §2.3, §2.4, §3.2). See baseline.h.
 *
 * Pipeline, as stage_etl.py + transformer.py run it:
 *   parse (format by path) -> root_key -> env slice -> json.dumps and
 *   re-parse (modelled, not done) -> flatten -> variables_map -> sort ->
 *   the rule's key format and key prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bl_internal.h"
#include "utf8.h"

#define BL_DEFAULT_ROOT_KEY	"vartrack"

/* ---- format detection (detector.py) ------------------------------------- */

struct fmtname {
	const char	*name;
	enum bl_format	 fmt;
};

/* In the orchestrator's dict order: step 2 takes the first prefix match. */
static const struct fmtname basenames[] = {
	{ ".env", BL_FMT_KV }, { ".envrc", BL_FMT_KV },
	{ ".npmrc", BL_FMT_KV }, { ".yarnrc", BL_FMT_KV },
	{ ".netrc", BL_FMT_KV }, { "procfile", BL_FMT_KV },
	{ "makefile", BL_FMT_KV }, { "dockerfile", BL_FMT_KV },
	{ "app.config", BL_FMT_XML }, { "web.config", BL_FMT_XML },
	{ "nlog.config", BL_FMT_XML }, { "log4net.config", BL_FMT_XML },
	{ "appsettings.json", BL_FMT_JSON },
	{ "application", BL_FMT_YAML }, { "settings", BL_FMT_YAML },
	{ "values", BL_FMT_YAML }, { "variables", BL_FMT_YAML },
	{ "secrets", BL_FMT_YAML }, { "database", BL_FMT_YAML },
	{ "main", BL_FMT_HCL }, { "outputs", BL_FMT_HCL },
	{ "providers", BL_FMT_HCL },
};

static const struct fmtname extensions[] = {
	{ ".json", BL_FMT_JSON }, { ".jsonc", BL_FMT_JSON },
	{ ".json5", BL_FMT_JSON }, { ".yaml", BL_FMT_YAML },
	{ ".yml", BL_FMT_YAML }, { ".toml", BL_FMT_TOML },
	{ ".xml", BL_FMT_XML }, { ".ini", BL_FMT_INI },
	{ ".cfg", BL_FMT_INI }, { ".conf", BL_FMT_INI },
	{ ".config", BL_FMT_INI }, { ".properties", BL_FMT_KV },
	{ ".env", BL_FMT_KV }, { ".tfvars", BL_FMT_KV },
	{ ".tf", BL_FMT_HCL }, { ".hcl", BL_FMT_HCL },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* PurePosixPath(path).name */
static void
path_name(const char *path, const char **name, size_t *len)
{
	size_t n = strlen(path), e;

	while (n > 1 && path[n - 1] == '/')
		n--;
	e = n;
	while (n > 0 && path[n - 1] != '/')
		n--;
	*name = path + n;
	*len = e - n;
}

/* Path(path).suffix, lowercased into buf ("" when none). */
static void
path_suffix(const char *path, char *buf, size_t blen)
{
	const char *name;
	size_t len, i;

	path_name(path, &name, &len);
	buf[0] = '\0';
	for (i = len; i > 0 && name[i - 1] != '.'; i--)
		;
	if (i <= 1 || i >= len || len - i + 1 >= blen)
		return;
	for (len = len - (i - 1), name += i - 1, i = 0; i < len; i++)
		buf[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ?
		    name[i] + 32 : name[i]);
	buf[len] = '\0';
}

enum bl_format
bl_detect_format(const char *path)
{
	const char *name, *p, *dot;
	char *low = NULL;
	size_t len, i, pl;
	enum bl_format fmt = BL_FMT_SNIFF;

	if (path == NULL)
		return BL_FMT_SNIFF;
	path_name(path, &name, &len);
	if ((low = malloc(len + 1)) == NULL)
		return BL_FMT_UNKNOWN;
	for (i = 0; i < len; i++)
		low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ?
		    name[i] + 32 : name[i]);
	low[len] = '\0';
	for (i = 0; i < NELEM(basenames); i++)
		if (strcmp(low, basenames[i].name) == 0) {
			fmt = basenames[i].fmt;
			goto cleanup;
		}
	for (i = 0; i < NELEM(basenames); i++) {
		pl = strlen(basenames[i].name);
		if (len > pl && strncmp(low, basenames[i].name, pl) == 0 &&
		    low[pl] == '.') {
			fmt = basenames[i].fmt;
			goto cleanup;
		}
	}
	/* Path.suffixes, innermost (last) first */
	if (len == 0 || low[len - 1] == '.')
		goto cleanup;
	for (p = low; *p == '.'; p++)
		;
	for (dot = low + len; dot > p; ) {
		const char *s = dot;

		while (s > p && s[-1] != '.')
			s--;
		if (s == p)
			break;	/* the stem, not a suffix */
		for (i = 0; i < NELEM(extensions); i++) {
			pl = strlen(extensions[i].name);
			if ((size_t)(dot - s) + 1 == pl &&
			    memcmp(s - 1, extensions[i].name, pl) == 0) {
				fmt = extensions[i].fmt;
				goto cleanup;
			}
		}
		dot = s - 1;
	}
cleanup:
	free(low);
	return fmt;
}

/* ---- key formats (key_formatter.py) ------------------------------------- */

int
bl_key_format_parse(enum bl_keyfmt *out, const char *name)
{
	const char *s = name;
	size_t n = strlen(name);

	py_strip(&s, &n);
	if (n == 3 && strncasecmp(s, "dot", 3) == 0)
		*out = BL_KF_DOT;
	else if (n == 4 && strncasecmp(s, "flat", 4) == 0)
		*out = BL_KF_FLAT;
	else if (n == 5 && strncasecmp(s, "slash", 5) == 0)
		*out = BL_KF_SLASH;
	else if (n == 9 && strncasecmp(s, "slash_dot", 9) == 0)
		*out = BL_KF_SLASH_DOT;
	else
		return -1;
	return 0;
}

int
bl_key_format_apply(char **out, enum bl_keyfmt fmt, const char *key,
    size_t keylen, size_t *outlen)
{
	size_t i, o = 0, n = keylen + 1;
	char *s, dotc = fmt == BL_KF_FLAT ? '_' : '/';

	*out = NULL;
	if (keylen == SIZE_MAX || (s = malloc(n + 1)) == NULL)
		return -1;
	if (fmt == BL_KF_SLASH)
		s[o++] = '/';
	else if (fmt == BL_KF_SLASH_DOT)
		s[o++] = '.';
	for (i = 0; i < keylen; i++)
		s[o++] = (key[i] == '.' && (fmt == BL_KF_FLAT ||
		    fmt == BL_KF_SLASH)) ? dotc : key[i];
	s[o] = '\0';
	*out = s;
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

/* ---- templates, prefixes, env ------------------------------------------- */

/* ---- the pipeline --------------------------------------------------------- */

static void
ctx_reset_error(struct bl_ctx *ctx)
{
	ctx->failed = 0;
	if (ctx->err != NULL && ctx->errlen > 0)
		ctx->err[0] = '\0';
}

/* Next line of s (consumed), stripped as Python's str.strip(); 0 at the end. */
static int
next_stripped_line(const char **s, size_t *len, const char **line, size_t *ll)
{
	const char *nl;

	if (*len == 0)
		return 0;
	nl = memchr(*s, '\n', *len);
	*line = *s;
	*ll = nl ? (size_t)(nl - *s) : *len;
	*s += nl ? *ll + 1 : *ll;
	*len -= nl ? *ll + 1 : *ll;
	py_strip(line, ll);
	return 1;
}

/* Could tomllib accept this? Only lines "k = v" and "[table]" make TOML. */
static int
toml_possible(const char *s, size_t len)
{
	const char *line;
	size_t ll;

	while (next_stripped_line(&s, &len, &line, &ll)) {
		if (ll == 0 || line[0] == '#')
			continue;
		if (line[0] == '[' || memchr(line, '=', ll) != NULL)
			return 1;
	}
	return 0;
}

/* configparser succeeds only when the first content line is a header. */
static int
ini_possible(const char *s, size_t len)
{
	const char *line;
	size_t ll;

	while (next_stripped_line(&s, &len, &line, &ll)) {
		if (ll == 0 || line[0] == '#' || line[0] == ';')
			continue;
		return ll >= 3 && line[0] == '[' &&
		    memchr(line + 2, ']', ll - 2) != NULL;
	}
	return 0;
}

/*
 * Try one parser the way loader._sniff does: 1 = took it, 0 = failed or
 * empty (try the next), -1 = hard error (a limit, or out of memory).
 */
static int
sniff_try(struct bl_ctx *ctx, enum bl_format f, const char *data, size_t len,
    struct bl_node **root)
{
	size_t nodes = ctx->nodes, mw = ctx->merge_work, bw = ctx->bignum_work;
	int soft = 0, r;

	if (f == BL_FMT_JSON)
		r = bl_load_json(ctx, data, len, 0, root, &soft);
	else
		r = bl_load_yaml(ctx, data, len, root, &soft);
	if (r == -1) {
		if (!soft)
			return -1;
		ctx_reset_error(ctx);
		ctx->nodes = nodes;
		ctx->merge_work = mw;
		ctx->bignum_work = bw;
		return 0;
	}
	return bl_truthy(*root) ? 1 : 0;
}

static int
sniff(struct bl_ctx *ctx, const char *data, size_t len, struct bl_node **root)
{
	const char *s = data;
	size_t sl = len;
	int r;

	py_strip(&s, &sl);
	if (sl > 0 && s[0] == '<') {
		bl_seterr(ctx, 0, 0, "content looks like XML: format not "
		    "supported by the watcher");
		return -1;
	}
	if (sl > 0 && (s[0] == '{' || s[0] == '[')) {
		if ((r = sniff_try(ctx, BL_FMT_JSON, data, len, root)) != 0 ||
		    (r = sniff_try(ctx, BL_FMT_YAML, data, len, root)) != 0)
			return r == 1 ? 0 : -1;
		if (toml_possible(data, len) || ini_possible(data, len))
			goto unsure;
		return bl_load_kv(ctx, data, len, root);
	}
	if (memchr(s, '[', sl) != NULL &&
	    (toml_possible(data, len) || ini_possible(data, len)))
		goto unsure;
	if ((r = sniff_try(ctx, BL_FMT_YAML, data, len, root)) != 0 ||
	    (r = sniff_try(ctx, BL_FMT_JSON, data, len, root)) != 0)
		return r == 1 ? 0 : -1;
	if (toml_possible(data, len))
		goto unsure;
	return bl_load_kv(ctx, data, len, root);
unsure:
	bl_seterr(ctx, 0, 0, "unknown extension and the content may be TOML "
	    "or INI, which the orchestrator would try first: format not "
	    "supported by the watcher");
	return -1;
}

static int
load(struct bl_ctx *ctx, enum bl_format fmt, const char *path,
    const char *data, size_t len, struct bl_node **root,
    enum bl_flatmode *mode)
{
	char suf[16];
	int soft;

	*mode = BL_FLAT_JSONRT;
	switch (fmt) {
	case BL_FMT_YAML:
		*mode = BL_FLAT_YAMLRT;
		if (bl_load_yaml(ctx, data, len, root, &soft) == -1)
			return -1;
		/* yaml.safe_load(content) or {} */
		if (!bl_truthy(*root) &&
		    (*root = bl_node_new(ctx, BLK_MAP, 0, 0)) == NULL)
			return -1;
		return 0;
	case BL_FMT_JSON:
		path_suffix(path, suf, sizeof(suf));
		ctx->jsonc = strcmp(suf, ".jsonc") == 0 ||
		    strcmp(suf, ".json5") == 0;
		return bl_load_json(ctx, data, len, ctx->jsonc, root, &soft);
	case BL_FMT_KV:
		return bl_load_kv(ctx, data, len, root);
	case BL_FMT_INI:
		return bl_load_ini(ctx, data, len, root);
	case BL_FMT_SNIFF:
		return sniff(ctx, data, len, root);
	case BL_FMT_TOML:
		bl_seterr(ctx, 0, 0, "TOML: format not supported by the "
		    "watcher");
		return -1;
	case BL_FMT_XML:
		bl_seterr(ctx, 0, 0, "XML: format not supported by the watcher");
		return -1;
	case BL_FMT_HCL:
		bl_seterr(ctx, 0, 0, "HCL: format not supported by the watcher");
		return -1;
	default:
		bl_seterr(ctx, 0, 0, "cannot detect the file format");
		return -1;
	}
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct kv_entry *x = *(const struct kv_entry *const *)a;
	const struct kv_entry *y = *(const struct kv_entry *const *)b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

/*
 * variables_map: for (new, src): if src in flat: flat[new] = flat.pop(src).
 * Applied through two small side maps so that a rename costs O(1) in the
 * size of flat; returns the surviving entries, sorted by key.
 */
static int
rename_sort(struct bl_ctx *ctx, const struct bl_rule *rule, struct kvmap *flat,
    struct kvmap *over, struct kvmap *gone, const struct kv_entry ***outv,
    size_t *outn)
{
	const struct kv_entry *e, **v;
	size_t i, n = 0, vl;
	const char *src, *nk;
	char *val;

	for (i = 0; i < rule->nvariables_map; i++) {
		nk = rule->variables_map[i].key;
		src = rule->variables_map[i].val;
		if (nk == NULL || src == NULL)
			continue;
		if ((e = kvmap_gets(over, src)) == NULL &&
		    (kvmap_gets(gone, src) != NULL ||
		    (e = kvmap_gets(flat, src)) == NULL))
			continue;
		vl = e->vallen;
		if ((val = malloc(vl + 1)) == NULL)
			goto oom;
		memcpy(val, e->val, vl);
		(void)kvmap_del(over, src, strlen(src));
		if (kvmap_puts(gone, src, "") == -1 ||
		    kvmap_put(over, nk, strlen(nk), val, vl) == -1) {
			free(val);
			goto oom;
		}
		free(val);
	}
	if ((v = calloc(flat->n + over->n + 1, sizeof(*v))) == NULL)
		goto oom;
	for (i = 0; i < flat->n; i++) {
		e = &flat->ents[i];
		if (over->n == 0 || (kvmap_get(gone, e->key, e->keylen) ==
		    NULL && kvmap_get(over, e->key, e->keylen) == NULL))
			v[n++] = e;
	}
	for (i = 0; i < over->n; i++)
		v[n++] = &over->ents[i];
	qsort(v, n, sizeof(*v), entry_cmp);
	*outv = v;
	*outn = n;
	return 0;
oom:
	bl_seterr_oom(ctx);
	return -1;
}

static int
emit_out(struct bl_ctx *ctx, struct kvmap *out, const struct bl_rule *rule,
    enum bl_keyfmt kf, const struct kv_entry *const *v, size_t n)
{
	const char *prefix = rule->key_prefix;
	char *buf = NULL, *nb;
	size_t i, j, o, pl, cap = 0, need;
	int string_mode, rc = -1;

	string_mode = prefix != NULL && *prefix != '\0';
	pl = string_mode ? strlen(prefix) : 0;
	for (i = 0; i < n; i++) {
		need = pl + 2 + v[i]->keylen;
		if (need > cap) {
			cap = need * 2;
			if ((nb = realloc(buf, cap)) == NULL)
				goto oom;
			buf = nb;
		}
		o = 0;
		if (string_mode) {
			memcpy(buf, prefix, pl);
			buf[pl] = ':';
			o = pl + 1;
		}
		if (kf == BL_KF_SLASH)
			buf[o++] = '/';
		else if (kf == BL_KF_SLASH_DOT)
			buf[o++] = '.';
		for (j = 0; j < v[i]->keylen; j++) {
			char c = v[i]->key[j];

			if (c == '.' && kf == BL_KF_FLAT)
				c = '_';
			else if (c == '.' && kf == BL_KF_SLASH)
				c = '/';
			buf[o++] = c;
		}
		if (kvmap_put(out, buf, o, v[i]->val, v[i]->vallen) == -1)
			goto oom;
	}
	rc = 0;
	goto cleanup;
oom:
	bl_seterr_oom(ctx);
cleanup:
	free(buf);
	return rc;
}

int
bl_build_file(struct kvmap *out, const struct bl_rule *rule,
    const char *path, const char *data, size_t len, int *skipped,
    char *err, size_t errlen)
{
	struct bl_ctx ctx;
	struct bl_node *root = NULL, *node;
	struct kvmap *flat = NULL, *over = NULL, *gone = NULL;
	const struct kv_entry **ents = NULL;
	enum bl_flatmode mode;
	enum bl_format fmt;
	enum bl_keyfmt kf;
	const char *rk;
	size_t off, line, col, nents = 0;
	int skip = 0, dummy, rc = -1;

	if (skipped == NULL)
		skipped = &dummy;
	*skipped = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&ctx, 0, sizeof(ctx));
	ctx.path = path != NULL ? path : "(no path)";
	ctx.err = err;
	ctx.errlen = errlen;
	ctx.lim = rule->limits;
	if (ctx.lim.max_file_bytes == 0)
		ctx.lim.max_file_bytes = BL_DEFAULT_MAX_FILE_BYTES;
	if (ctx.lim.max_keys == 0)
		ctx.lim.max_keys = BL_DEFAULT_MAX_KEYS;
	if (ctx.lim.max_depth == 0)
		ctx.lim.max_depth = BL_DEFAULT_MAX_DEPTH;
	if (ctx.lim.max_output_bytes == 0)
		ctx.lim.max_output_bytes = BL_DEFAULT_MAX_OUTPUT_BYTES;
	ctx.max_nodes = ctx.lim.max_keys > (SIZE_MAX - 1024) / 2 ? SIZE_MAX :
	    ctx.lim.max_keys * 2 + 1024;

	if (len > ctx.lim.max_file_bytes) {
		bl_seterr(&ctx, 0, 0, "file is %zu bytes, more than "
		    "max_file_bytes (%zu)", len, ctx.lim.max_file_bytes);
		goto cleanup;
	}
	if (data == NULL && len > 0) {
		bl_seterr(&ctx, 0, 0, "no data");
		goto cleanup;
	}
	if (data == NULL)
		data = "";
	if ((off = ipc_utf8_invalid_at(data, len)) != (size_t)-1) {
		bl_linecol(data, len, off, &line, &col);
		bl_seterr(&ctx, line, col, "invalid UTF-8 at byte offset %zu",
		    off);
		goto cleanup;
	}
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3;	/* byte-order mark */
		len -= 3;
	}
	kf = rule->key_format;
	fmt = bl_detect_format(path != NULL ? path : "");
	if (load(&ctx, fmt, ctx.path, data, len, &root, &mode) == -1)
		goto cleanup;

	/* root_key (stage_etl.py) */
	rk = rule->root_key != NULL ? rule->root_key : BL_DEFAULT_ROOT_KEY;
	node = root;
	if (*rk != '\0' && root->kind == BLK_MAP) {
		if ((node = bl_map_gets(root, rk, strlen(rk))) == NULL) {
			node = root;
			if (strcmp(rk, BL_DEFAULT_ROOT_KEY) != 0) {
				*skipped = 1;
				rc = 0;
				goto cleanup;
			}
		}
	}
	if (node->kind == BLK_MAP || node->kind == BLK_SEQ) {
		if ((node = bl_env_slice(&ctx, node, rule->env)) == NULL)
			goto cleanup;
	} else {
		/*
		 * Not a dict or list: stage_etl hands the original content to
		 * transform(), which re-parses and flattens the whole file.
		 */
		node = root;
		mode = BL_FLAT_DIRECT;
		if (node->kind == BLK_NULL) {
			*skipped = 1;
			rc = 0;
			goto cleanup;
		}
	}
	if ((flat = kvmap_new()) == NULL || (over = kvmap_new()) == NULL ||
	    (gone = kvmap_new()) == NULL) {
		bl_seterr_oom(&ctx);
		goto cleanup;
	}
	if (bl_flatten(&ctx, node, mode, flat, &skip) == -1)
		goto cleanup;
	if (skip || kvmap_count(flat) == 0) {
		*skipped = 1;
		rc = 0;
		goto cleanup;
	}
	bl_arena_free(&ctx.ar);		/* tree no longer needed */
	if (rename_sort(&ctx, rule, flat, over, gone, &ents, &nents) == -1)
		goto cleanup;
	if (emit_out(&ctx, out, rule, kf, ents, nents) == -1)
		goto cleanup;
	rc = 0;
cleanup:
	free(ents);
	kvmap_free(flat);
	kvmap_free(over);
	kvmap_free(gone);
	bl_arena_free(&ctx.ar);
	return rc;
}
