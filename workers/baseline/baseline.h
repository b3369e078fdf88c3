/*
 * Baseline: turn a Git file into the expected key/value map in a datasource's
 * own key space, exactly as the varTrack orchestrator does
 * (../shared/spec/vartrack-interop.md §7, §2.3, §3.2).
 *
 * Pure functions over memory: no I/O, no globals, so Criterion can drive
 * them. Runs inside the sandboxed git worker; everything here handles
 * untrusted input and must fail with a message, never crash, and stay within
 * the limits below in memory and time.
 */
#ifndef VTW_BASELINE_H
#define VTW_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "kvmap.h"

#define BL_DEFAULT_MAX_FILE_BYTES	(16u * 1024 * 1024)
#define BL_DEFAULT_MAX_KEYS		(1000000u)
#define BL_DEFAULT_MAX_DEPTH		256u
#define BL_DEFAULT_MAX_OUTPUT_BYTES	(256u * 1024 * 1024)

struct bl_limits {
	size_t	max_file_bytes;		/* larger input: error, not parsed */
	size_t	max_keys;		/* flattened keys per file */
	size_t	max_depth;		/* nesting of maps/lists */
	size_t	max_output_bytes;	/* sum of flattened key+value bytes */
};

struct bl_pair {
	const char	*key;
	const char	*val;
};

/* Key formats (§2.3), resolved by the supervisor for the rule's kind. */
enum bl_keyfmt {
	BL_KF_DOT = 0,		/* unchanged */
	BL_KF_FLAT,		/* '.' -> '_' */
	BL_KF_SLASH,		/* '/' + '.' -> '/' */
	BL_KF_SLASH_DOT		/* '.' + key */
};

struct bl_rule {
	const char		*root_key;	/* NULL = default "vartrack" */
	const char		*env;		/* resolved env (bl_resolve_env) */
	const struct bl_pair	*variables_map;	/* key = new name, val = source */
	size_t			 nvariables_map;
	enum bl_keyfmt		 key_format;	/* resolved */
	const char		*key_prefix;	/* NULL/"" = none, else every key
						 * is "{key_prefix}:{key}" */
	struct bl_limits	 limits;	/* zero fields = defaults */
};

enum bl_format {
	BL_FMT_UNKNOWN = 0, BL_FMT_YAML, BL_FMT_JSON, BL_FMT_KV, BL_FMT_INI,
	BL_FMT_TOML, BL_FMT_XML, BL_FMT_HCL, BL_FMT_SNIFF
};

/* Format detection as interop §7.2, from the repo-relative path. */
enum bl_format bl_detect_format(const char *path);

/*
 * Parse one file (path decides the format), apply root_key, env slicing,
 * flattening and stringification (§7.3-§7.7), variables_map, the rule's
 * key format (§2.3) and key prefix ("{prefix}:{key}" when set), and merge
 * the result into out (later files win, as later writes do).
 * Returns 0 on success (*skipped set to 1 when the orchestrator would skip
 * the file, e.g. a missing non-default root_key), -1 on error with a
 * message naming the place ("config/app.yaml:3:5: ...") in err.
 *
 * Skipped (0, *skipped = 1, out untouched) also covers: no keys at all,
 * and a re-parse the orchestrator fails on (a YAML key whose JSON form is
 * over 1024 characters, a "//" string in a .jsonc file). Errors (-1)
 * cover what the orchestrator reports as errors (dates and other values
 * json.dumps refuses, bad YAML/JSON/ini), the limits, and what the
 * watcher does not model: TOML, XML, HCL, JSON integers beyond 64 bits,
 * characters outside the BMP in YAML files (the orchestrator cannot write
 * them either).
 */
int	bl_build_file(struct kvmap *out, const struct bl_rule *rule,
	    const char *path, const char *data, size_t len, int *skipped,
	    char *err, size_t errlen);

/* A key format's name ("dot", "flat", "slash", "slash_dot"; any case,
 * surrounding white space ignored) -> *out; -1 when it names none. */
int	bl_key_format_parse(enum bl_keyfmt *out, const char *name);

/* Apply a key format to one dotted key; *out must be freed with free(). */
int	bl_key_format_apply(char **out, enum bl_keyfmt fmt, const char *key,
	    size_t keylen, size_t *outlen);

#endif
