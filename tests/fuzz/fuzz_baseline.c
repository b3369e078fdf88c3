/*
 * A Git file through the whole baseline build (bl_build_file: format by
 * path, YAML 1.1 / JSON / .env / .properties / .ini parsing, root_key, env
 * slicing, flattening and stringification, variables_map, key format, key
 * prefix), as the git worker runs it.
 *
 * Input: two option bytes, then the file.
 *   byte 0: the path (its format), from paths[]
 *   byte 1: bits 0-1 root_key, 2-3 env, 4-5 key format, 6 key prefix and
 *           variables_map, 7 small limits (else the defaults)
 * With bit 6 the file is also built a second time into the same map (a
 * later file of the rule: it wins).
 */
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "fuzz.h"
#include "kvmap.h"

static const char *const paths[] = {
	"config/app.yaml", "values.yml", "config/app.json", "app.jsonc",
	"app.json5", "appsettings.json", ".env", "config/.env.production",
	"app.env", "app.properties", "app.ini", "app.cfg", "app.conf",
	"app.config", "settings", "values", "Procfile", ".npmrc", "app.tfvars",
	"app.toml", "app.xml", "main.tf", "README", "dir/",
};
#define NPATHS	(sizeof(paths) / sizeof(paths[0]))

static const char *const root_keys[] = { NULL, "vartrack", "app", "" };
static const char *const envs[] = { NULL, "production", "dev", "" };
static const struct bl_pair vmap[] = {
	{ "renamed", "db.host" }, { "port", "vartrack.port" },
	{ "a.b", "x" }, { "same", "same" },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct bl_rule r;
	struct kvmap *out;
	const char *path;
	unsigned int pi, o;
	char err[512];
	int skipped = 0, rv;
	size_t i;

	pi = fz_byte(&f) % NPATHS;
	o = fz_byte(&f);
	path = paths[pi];
	memset(&r, 0, sizeof(r));
	r.root_key = root_keys[o & 3];
	r.env = envs[(o >> 2) & 3];
	r.key_format = (enum bl_keyfmt)((o >> 4) & 3);
	if (o & 0x40) {
		r.key_prefix = "acme:redis:production";
		r.variables_map = vmap;
		r.nvariables_map = sizeof(vmap) / sizeof(vmap[0]);
	}
	if (o & 0x80) {
		r.limits.max_file_bytes = 4096;
		r.limits.max_keys = 64;
		r.limits.max_depth = 8;
		r.limits.max_output_bytes = 8192;
	}
	if ((out = kvmap_new()) == NULL)
		abort();
	err[0] = '\0';
	rv = bl_build_file(out, &r, path, (const char *)f.p, f.n, &skipped,
	    err, sizeof(err));
	FZ_ASSERT(rv == 0 || rv == -1);
	if (rv == -1)
		FZ_ASSERT(err[0] != '\0');
	if (rv == 0 && skipped)
		FZ_ASSERT(kvmap_count(out) == 0);
	if (rv == 0 && (o & 0x40)) {
		/* the same file again, as a later file of the rule */
		rv = bl_build_file(out, &r, path, (const char *)f.p, f.n,
		    &skipped, err, sizeof(err));
		FZ_ASSERT(rv == 0 || rv == -1);
	}
	if (r.limits.max_keys != 0)
		FZ_ASSERT(kvmap_count(out) <= 2 * (r.limits.max_keys +
		    r.nvariables_map));
	for (i = 0; i < out->n; i++)
		FZ_ASSERT(out->ents[i].val != NULL);
	kvmap_free(out);
	return 0;
}
