/*
 * Internals shared by conf.c (lifecycle, durations, messages, environment),
 * conf_parse.c (the only libyaml user), conf_check.c (cross-checks and
 * defaults) and conf_print.c. Not for use outside conf/.
 */
#ifndef VTW_CONF_INT_H
#define VTW_CONF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_MAX_FILE_BYTES	(4u * 1024 * 1024)
#define CONF_MAX_DEPTH		64
#define CONF_MAX_SECRET_BYTES	(64u * 1024)
#define CONF_MAX_COMPACT_BYTES	(64u * 1024)
#define CONF_MIN_POLL_MS	100
#define CONF_MAX_SSH_KEY_BYTES	(64u * 1024)
#define CONF_MAX_KNOWN_HOSTS_BYTES (4u * 1024 * 1024)
#define CONF_MAX_FILE_BYTES_CAP	(1024u * 1024 * 1024)	/* max_file_bytes */

struct given;
struct keydef;
struct yn;

/* What the parser remembers about a rule for the checks that follow. */
struct conf_rule_aux {
	struct conf_mark	 platform_key;
	struct conf_mark	 datasource_key;
	struct conf_mark	 key_format;
	struct conf_mark	 destination_template;
	struct conf_mark	 file_name, files, name;
	struct conf_mark	 ignored_first;
	char			**ignored;	/* key names, in file order */
	size_t			 nignored;
	struct conf_mark	 conn_first;	/* connection keys (ssh_host, ...) */
	char			**conn;		/* that belong in a datasource */
	size_t			 nconn;
	int			 has_name;
	int			 has_id;
	struct conf_mark	 id;
	int			 has_file_name, has_files;
	struct given		*kgiven[CONF_KINDS_MAX]; /* marks of each
						 * kind's layout keys */
};

/* Where the watcher values came from, for messages after env overrides. */
struct conf_watcher_aux {
	struct conf_mark	 app_env;
	struct conf_mark	 log_level;
};

struct conf_ctx {
	const char		*file;		/* name used in messages */
	struct conf_errors	*errs;
	struct vtw_conf		*conf;
	struct conf_rule_aux	*raux;		/* parallel to conf->rules */
	size_t			 nraux;
	size_t			 cur_rule;	/* the rule being parsed */
	const struct keydef	*rules_kd;	/* "rules:", parsed last */
	const struct yn		*rules_node;
	struct conf_mark	 rules_mark;	/* line 0: no "rules:" */
	int			 rules_empty;	/* "rules:" has no entry */
	struct conf_watcher_aux	 waux;
	/* the platform or datasource being parsed */
	struct conf_mark	 ds_hosts;
	size_t			 ds_nhosts_given;	/* SIZE_MAX: bad type */
	int			 secret_given;
};

/* Messages: "file:line:col: text" (conf_*_at) or plain text (conf_*x). */
void	conf_error_at(struct conf_ctx *, struct conf_mark, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	conf_warning_at(struct conf_ctx *, struct conf_mark, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	conf_info_at(struct conf_ctx *, struct conf_mark, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	conf_errorx(struct conf_errors *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Allocation that cannot fail (fatal() on OOM: setup of our own process). */
void	*conf_xcalloc(size_t, size_t);
void	*conf_xreallocarray(void *, size_t, size_t);
char	*conf_xstrdup(const char *);
char	*conf_xstrndup(const char *, size_t);
void	 conf_strv_push(char ***, size_t *, const char *);
void	 conf_strv_free(char **, size_t);
void	 conf_pairs_free(struct conf_pair *, size_t);

/* Closest candidate within edit distance 2 (or equal ignoring case), else
 * NULL. Borrowed pointer into cands. */
const char *conf_suggest(const char *, const char *const *cands, size_t n);

/* A size: bytes, or a number with KiB, MiB or GiB; 1 .. CONF_MAX_FILE_BYTES_CAP.
 * 0, or -1 when bad. */
int	 conf_parse_size(const char *, uint64_t *);

void	conf_secret_free(struct conf_secret *);
void	conf_rule_aux_free(struct conf_rule_aux *);
void	conf_layout_free(struct conf_layout *);

/* Parse the YAML document into ctx->conf (which holds the defaults).
 * -1 when the document could not be read at all (syntax, depth, aliases):
 * the structs are then incomplete and not worth cross-checking. */
int	conf_parse_yaml(struct conf_ctx *, const char *buf, size_t len);
/* Cross-checks and derived values (names, files), after parsing. */
void	conf_check(struct conf_ctx *);
/* "host:port" or "[v6]:port" with port 1..65535; with admin set, a listen
 * address: the host may be empty (":9091") and the port 0.
 * Returns 0, or -1 with the reason, naming the value, in err. */
int	conf_check_hostport(const char *, int admin, char *err, size_t errlen);

#endif
