/*
 * Internals of the baseline library: the value tree every loader builds
 * (a model of the Python objects the orchestrator holds after parsing),
 * the arena it lives in, error reporting and the Python number rules.
 * Not for use outside workers/baseline/.
 */
#ifndef VTW_BL_INTERNAL_H
#define VTW_BL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "baseline.h"

/* Python refuses int <-> str conversions of more digits (3.11+). */
#define BL_PY_INT_MAX_DIGITS	4300
/* A JSON-dumped key this long breaks PyYAML's simple-key rule (§7.6). */
#define BL_YAML_SIMPLE_KEY_MAX	1024
/* Cumulative limb operations allowed for non-decimal big integers. */
#define BL_BIGNUM_WORK_MAX	(32u * 1024 * 1024)

/* ---- arena ------------------------------------------------------------ */

struct bl_chunk;

struct bl_arena {
	struct bl_chunk	*head;
	size_t		 total;		/* bytes obtained from malloc */
};

void	*bl_alloc(struct bl_arena *, size_t);
char	*bl_strndup(struct bl_arena *, const char *, size_t);
void	 bl_arena_free(struct bl_arena *);

/* ---- context ---------------------------------------------------------- */

struct bl_ctx {
	const char	*path;
	char		*err;
	size_t		 errlen;
	int		 failed;	/* an error message is set */
	struct bl_limits lim;		/* defaults filled in */
	struct bl_arena	 ar;
	size_t		 nodes;		/* nodes created */
	size_t		 max_nodes;
	size_t		 merge_work;	/* pairs copied by YAML merge keys */
	size_t		 bignum_work;
	int		 jsonc;		/* re-parse strips comments again */
	int		 jsonc_open;	/* a dumped string opened a comment */
};

void	bl_seterr(struct bl_ctx *, size_t, size_t, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
void	bl_seterr_oom(struct bl_ctx *);

/* ---- value tree ------------------------------------------------------- */

enum bl_kind {
	BLK_NULL = 0,
	BLK_BOOL,
	BLK_INT,	/* u.s: canonical decimal text, '-' for negatives */
	BLK_FLOAT,	/* u.f */
	BLK_STR,	/* u.s: UTF-8 bytes, may hold NUL */
	BLK_MAP,
	BLK_SEQ,
	BLK_BAD,	/* not JSON-serialisable (date, bytes, set, huge int);
			 * u.s: what it is, for the message */
	BLK_MERGE,	/* YAML "<<" merge key (only valid as a map key) */
	BLK_VALUE	/* YAML "=" value key (a key becomes the str "=") */
};

/* node flags */
#define BLF_NAN_UNIQUE	0x01	/* float key compared by identity (NaN) */
#define BLF_TEXTCHK	0x02	/* map: JSON key texts checked */
#define BLF_TEXTDUP	0x04	/* map: some JSON key texts collide */
#define BLF_KEYCHK	0x08	/* map: YAML re-parse key rules checked */
#define BLF_MERGED	0x10	/* map: had merge keys */
#define BLF_UNHASHABLE	0x20	/* BAD: a set (cannot be a key) */
#define BLF_TSTAMP	0x40	/* BAD: date/datetime, u.s = its str() */

struct bl_node;

struct bl_mpair {
	struct bl_node	*k;
	struct bl_node	*v;
};

struct bl_mapaux {
	struct bl_mpair	*dd;		/* pairs deduplicated by JSON key text */
	uint32_t	 ddn;
	int		 envdone;
	struct bl_node	*envv;		/* value of key env, or NULL */
	struct bl_node	*defv;		/* value of key "default", or NULL */
	int		 hasenv, hasdef;
};

struct bl_node {
	uint8_t		 kind;
	uint8_t		 flags;
	uint32_t	 line, col;	/* 1-based start, 0 = unknown */
	uint64_t	 esz;		/* nodes when aliases are expanded, 0 =
					 * not computed yet (flatten.c) */
	union {
		int	 b;
		double	 f;
		struct {
			const char	*p;
			size_t		 len;
		} s;
		struct {
			struct bl_mpair	*v;
			uint32_t	 n, cap;
			uint32_t	 nraw;	/* pairs as written */
			struct bl_mapaux *aux;
		} m;
		struct {
			struct bl_node	**v;
			uint32_t	 n, cap;
		} q;
	} u;
};

struct bl_node	*bl_node_new(struct bl_ctx *, int, size_t, size_t);
struct bl_node	*bl_node_str(struct bl_ctx *, const char *, size_t, int);
int		 bl_map_add(struct bl_ctx *, struct bl_node *, struct bl_node *,
		    struct bl_node *);
int		 bl_seq_add(struct bl_ctx *, struct bl_node *, struct bl_node *);
/* Python dict semantics: first position, last value, by Python equality. */
int		 bl_map_dedupe(struct bl_ctx *, struct bl_node *);
/* The pairs json.dumps + a JSON re-parse would yield: keys that print
 * alike (1 and "1") collapse, first position, last value. Cached. */
int		 bl_map_jsonpairs(struct bl_ctx *, struct bl_node *,
		    const struct bl_mpair **, uint32_t *);
/* Value of str key `key` in map, NULL if absent. */
struct bl_node	*bl_map_gets(const struct bl_node *, const char *, size_t);
int		 bl_truthy(const struct bl_node *);

/* Text forms of a key: after json.dumps (JSON) or Python str() (DIRECT). */
enum bl_textmode { BL_TEXT_JSON, BL_TEXT_DIRECT };
int		 bl_key_text(struct bl_ctx *, const struct bl_node *,
		    enum bl_textmode, const char **, size_t *);

/* ---- Python number rules (pynum.c) ------------------------------------ */

/* repr(float) for a finite value; buf >= 32 bytes. Returns length. */
size_t	py_float_repr(double, char *, size_t);
/* Python float(); 0 ok, -1 not a float literal. */
int	py_float_parse(const char *, size_t, double *);
/* PyYAML construct_yaml_int / construct_yaml_float on the scalar text.
 * int: *out = decimal text (arena), or NULL with *bad = 1 when the value
 * has more digits than Python will print. -1 on error (message set). */
int	py_yaml_int(struct bl_ctx *, const char *, size_t, const char **,
	    size_t *, int *, size_t, size_t);
int	py_yaml_float(struct bl_ctx *, const char *, size_t, double *, size_t,
	    size_t);

/* PyYAML construct_yaml_timestamp; *out = str() of the date/datetime.
 * -1 (message set) when it does not match or is out of range. */
int	py_yaml_timestamp(struct bl_ctx *, const char *, size_t, const char **,
	    size_t *, size_t, size_t);

/* YAML 1.1 implicit resolvers (PyYAML Resolver), by regex. */
int	yaml11_is_null(const char *, size_t);
int	yaml11_is_bool(const char *, size_t, int *);
int	yaml11_is_int(const char *, size_t);
int	yaml11_is_float(const char *, size_t);
int	yaml11_is_timestamp(const char *, size_t);

/* ---- text helpers (pytext.c) ------------------------------------------ */

/* Decode one code point of valid UTF-8; returns its length (>= 1). */
size_t	u8_next(const char *, size_t, uint32_t *);
/* Length of the code point ending at s[len-1]. */
size_t	u8_prev(const char *, size_t, uint32_t *);
int	py_isspace(uint32_t);
/* Python str.strip() over a UTF-8 slice. */
void	py_strip(const char **, size_t *);
/* 1-based line and column (in code points) of byte offset off. */
void	bl_linecol(const char *, size_t, size_t, size_t *, size_t *);

/* ---- loaders ---------------------------------------------------------- */

/*
 * Each returns 0 with *root set (a BLK_NULL node for "nothing"), or -1 with
 * the message set. yaml: *soft = 1 when the failure is a parse/construct
 * error (the sniffer tries the next format) rather than a limit.
 */
int	bl_load_yaml(struct bl_ctx *, const char *, size_t, struct bl_node **,
	    int *);
int	bl_load_json(struct bl_ctx *, const char *, size_t, int,
	    struct bl_node **, int *);
int	bl_load_kv(struct bl_ctx *, const char *, size_t, struct bl_node **);
int	bl_load_ini(struct bl_ctx *, const char *, size_t, struct bl_node **);

/* ---- pipeline (flatten.c) --------------------------------------------- */

enum bl_flatmode {
	BL_FLAT_YAMLRT,		/* json.dumps, re-parsed by PyYAML */
	BL_FLAT_JSONRT,		/* json.dumps, re-parsed by json.loads */
	BL_FLAT_DIRECT		/* original object flattened as is */
};

/* Env slicing (§7.5) of a map; returns the (possibly new) node. */
struct bl_node	*bl_env_slice(struct bl_ctx *, struct bl_node *, const char *);
/* Flatten (§7.7) into flat (kvmap); *skip = 1 when the orchestrator's
 * re-parse would fail and the file be skipped. */
int		 bl_flatten(struct bl_ctx *, struct bl_node *, enum bl_flatmode,
		    struct kvmap *, int *);

#endif
