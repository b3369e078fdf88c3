/*
 * What a datasource kind (conf/kinds/<kind>.c) needs to describe its keys:
 * the YAML node, the key tables and their generic handlers (conf_parse.c),
 * the marks of the keys given, and the printer's helpers (conf_print.c).
 * Not for use outside conf/.
 *
 * A key table is sorted by name ({ "key", handler, offset, ... }); the
 * loader walks each mapping through the common table and every kind's, so
 * a kind's keys are parsed and checked wherever they are given and stored
 * in the kind's own struct at the offset the table names.
 */
#ifndef VTW_CONF_KEYS_H
#define VTW_CONF_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "conf_int.h"
#include "log.h"

enum yn_type { YN_SCALAR, YN_MAP, YN_SEQ };

struct yn {
	enum yn_type	 type;
	struct conf_mark mark;
	char		*str;		/* scalar text, NUL-terminated */
	size_t		 len;
	int		 plain;		/* plain, untagged: may be null/bool */
	struct yn	**kids;		/* map: key, value, key, value, ... */
	size_t		 nkids, capkids;
	char		*anchor;
	int		 open;		/* start seen, end not yet */
	size_t		 size;		/* nodes, aliases expanded (capped) */
	struct yn	*next;		/* every node, for ydoc_free() */
};

struct keydef;
typedef void (*key_fn)(struct conf_ctx *, void *, const struct keydef *,
    const struct yn *, const struct yn *);

struct keydef {
	const char	*name;
	key_fn		 fn;
	size_t		 off, noff;	/* field(s) in the object walked */
	const void	*arg;
};

struct keytab {
	const char		*where;		/* "unknown key 'x' in ..." */
	const struct keydef	*keys;		/* sorted by name */
	size_t			 n;
	int			 allow_x;	/* ignore "x-..." (anchors) */
};

/* Where a key and its value were given (line 0: not given); one per key
 * of a table, in the table's order. */
struct given {
	struct conf_mark	 k, v;
};

#define FIELD(obj, off, type)	((type *)(void *)((char *)(obj) + (off)))
#define NITEMS(a)		(sizeof(a) / sizeof((a)[0]))

/* The marks of key in a table walked with given; fatal when the table has
 * no such key (a broken invariant of our own tables). */
const struct given *conf_given(const struct keytab *, const struct given *,
	    const char *key);
#define GIVEN_IN(t, g, key)	(conf_given((t), (g), (key))->k.line != 0)

/* Scalars */
const char *yn_kind(const struct yn *);
int	 yn_is_null(const struct yn *);
/* A value shown in a message: control bytes escaped, long values cut. */
const char *conf_show(const char *s, size_t len, char *buf, size_t bufsz);
#define SHOW(n, b)	conf_show((n)->str, (n)->len, (b), sizeof(b))
/* The text of a scalar, or NULL after reporting what was wrong. */
const char *want_string(struct conf_ctx *, const char *name, const struct yn *,
	    const char *what);
void	 set_str(char **field, const char *);
int	 all_digits(const char *);
/* A regular file of at most cap bytes; -1 and why (the buffer is wiped). */
int	 read_blob(const char *path, size_t cap, char **out, size_t *outlen,
	    char *why, size_t whylen);
/* A Python str.format template with only {tenant} and {env}. */
int	 conf_check_template(const char *, char *err, size_t errlen);

/* Generic handlers; kd->off is the field in the object walked. */
void	h_str(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
void	h_bool(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
/* kd->arg: the minimum in ms, as an integer (1 = "greater than 0") */
void	h_duration(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
void	h_count(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
void	h_nonempty(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
void	h_abs_path(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
/* an http(s) URL without userinfo, query or fragment; trailing '/' stripped */
void	h_http_url(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
/* "" or "/...", trailing '/' stripped */
void	h_base_path(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
void	h_port(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
void	h_size(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
/* kd->off: struct conf_secret */
void	h_secret(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
/* kd->off: char **, kd->noff: size_t; one or more "host:port" (marks and
 * the count given in ctx->ds_hosts, ctx->ds_nhosts_given) */
void	h_hosts(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
/* destination_template and the kinds' templates; kd->off: char * */
void	h_template(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
/* A connection setting given on a rule: one info line, not stored */
void	h_rule_conn(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);
/* A rule_config key that only matters when writing: one info line */
void	h_rule_ignored(struct conf_ctx *, void *, const struct keydef *,
	    const struct yn *, const struct yn *);

/* Printer helpers (conf_print.c): "{ind}{key}: value\n"; kv_str and
 * kv_list print nothing for NULL / empty. */
void	kv_str(struct jbuf *, const char *ind, const char *key, const char *);
void	kv_dur(struct jbuf *, const char *ind, const char *key, uint64_t ms);
void	kv_bool(struct jbuf *, const char *ind, const char *key, int);
void	kv_uint(struct jbuf *, const char *ind, const char *key, unsigned long long);
void	kv_list(struct jbuf *, const char *ind, const char *key, char **,
	    size_t);
void	kv_secret(struct jbuf *, const char *ind, const char *key,
	    const struct conf_secret *);
void	kv_size(struct jbuf *, const char *ind, const char *key, uint64_t);
/* A layout bool: always for the rule's own kind, else when not default. */
void	kv_layout_bool(struct jbuf *, const char *ind, const char *key, int v,
	    int dflt, int own);

#endif
