/*
 * The testkv kind: a test-only datasource (VTW_TEST_HOOKS builds) that
 * proves the registry: a directory of key/value files (netstrings, see
 * workers/testkv/), one per rule ({dir}/{testkv_file}, by default
 * "{tenant}.{env}.kv"), read by its own sandboxed worker. A missing file
 * is a datasource that cannot be reached (unknown, breaker), every key the
 * file has that Git does not is an extra. Nothing but this file, ipc/kinds/testkv.[ch],
 * proto/kinds/testkv.proto and workers/testkv/ knows of it; the registry
 * lists it once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_keys.h"
#include "kinds.h"
#include "kinds/testkv.h"
#include "testkv_conf.h"

#define D(f)	offsetof(struct conf_testkv_ds, f)
#define R(f)	offsetof(struct conf_testkv_rule, f)

static const struct keydef ds_keys[] = {
	{ "dir", h_abs_path, D(dir), 0, NULL },
	{ "max_file_bytes", h_size, D(max_file_bytes), 0, NULL },
};
static const struct keytab ds_tab = {
	"datasource", ds_keys, NITEMS(ds_keys), 0
};

static const struct keydef rule_keys[] = {
	{ "testkv_file", h_template, R(testkv_file), 0, NULL },
};
static const struct keytab rule_tab = {
	"rule", rule_keys, NITEMS(rule_keys), 0
};

static const char *const key_formats[] = { "dot", "flat", NULL };

static void
testkv_ds_finish(struct conf_ctx *c, struct conf_datasource *ds,
    const struct given *given, struct conf_mark node)
{
	struct conf_testkv_ds *d = ds->kconf;

	if (d->dir == NULL)
		conf_error_at(c, node, "missing required key 'dir' in "
		    "datasource '%s'", ds->name);
	if (d->max_file_bytes == 0)
		d->max_file_bytes = CONF_TESTKV_DEFAULT_MAX_BYTES;
}

static void
testkv_ds_print(struct jbuf *b, const char *ind,
    const struct conf_datasource *ds)
{
	const struct conf_testkv_ds *d = ds->kconf;

	kv_str(b, ind, "dir", d->dir);
	kv_size(b, ind, "max_file_bytes", d->max_file_bytes);
}

static void
testkv_ds_free(void *p)
{
	struct conf_testkv_ds *d = p;

	free(d->dir);
}

static int
testkv_ds_pack(void **out, size_t *outlen, const struct conf_datasource *ds)
{
	const struct conf_testkv_ds *d = ds->kconf;
	struct ipc_testkv_settings s;

	memset(&s, 0, sizeof(s));
	s.dir = d->dir;
	return ipc_testkv_settings_pack(out, outlen, &s);
}

static void
testkv_rule_print(struct jbuf *b, const char *ind, const void *p, int own)
{
	const struct conf_testkv_rule *r = p;

	kv_str(b, ind, "testkv_file", r->testkv_file);
}

static void
testkv_rule_free(void *p)
{
	struct conf_testkv_rule *r = p;

	free(r->testkv_file);
}

static int
testkv_layout(struct conf_layout *out, const struct conf_rule *cr,
    const void *p, const struct conf_datasource *ds, char *err, size_t errlen,
    const char **key)
{
	const struct conf_testkv_rule *r = p;
	const struct conf_testkv_ds *d = ds->kconf;
	struct ipc_testkv_scope scope;
	char *file;

	*key = "testkv_file";
	if (conf_format_template(&file, r->testkv_file ? r->testkv_file :
	    CONF_TESTKV_DEFAULT_FILE, cr->tenant_id, out->env, err,
	    errlen) == -1)
		return -1;
	if (*file == '\0' || *file == '/' || strstr(file, "..") != NULL) {
		snprintf(err, errlen, "testkv file '%s' is not a plain path "
		    "below dir", file);
		free(file);
		return -1;
	}
	if (asprintf(&out->target, "%s/%s", d->dir, file) == -1)
		fatal("asprintf");
	free(file);
	out->marker = conf_xstrdup("");
	out->key_format = conf_layout_key_format(cr, "dot");
	out->key_prefix = conf_xstrdup("");
	out->detect_extra = 1;
	memset(&scope, 0, sizeof(scope));
	scope.max_file_bytes = d->max_file_bytes;
	if (ipc_testkv_scope_pack(&out->scope, &out->scope_len, &scope) == -1)
		fatal("%s: pack", __func__);
	return 0;
}

const struct ds_kind ds_kind_testkv = {
	.name = "testkv",
	.worker = "testkv",
	.ds_size = sizeof(struct conf_testkv_ds),
	.ds_keys = &ds_tab,
	.rule_size = sizeof(struct conf_testkv_rule),
	.rule_keys = &rule_tab,
	.key_formats = key_formats,
	.ds_finish = testkv_ds_finish,
	.ds_print = testkv_ds_print,
	.ds_free = testkv_ds_free,
	.ds_pack = testkv_ds_pack,
	.rule_print = testkv_rule_print,
	.rule_free = testkv_rule_free,
	.layout = testkv_layout,
};
