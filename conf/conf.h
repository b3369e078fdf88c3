/*
 * Configuration of vartrack-watcher: one YAML file (DESIGN.md §4), sections
 * watcher, platforms, datasources, rules. Only the supervisor parses it
 * (conf_parse.c is the config's libyaml user); workers receive their slice
 * over IPC.
 *
 * Ownership: conf_load() returns a struct vtw_conf that must be freed with
 * conf_free(). Every string is owned by the struct.
 */
#ifndef VTW_CONF_H
#define VTW_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_DEFAULT_PATH		"/etc/vartrack/watcher.yaml"
#define CONF_DEFAULT_POLL_MS		60000
#define CONF_DEFAULT_ADMIN_ADDR		":9091"
#define CONF_DEFAULT_ORCH_ADDR		"localhost:50051"
#define CONF_DEFAULT_HEAL_TIMEOUT_MS	30000
#define CONF_DEFAULT_SANDBOX_USER	"nobody"
#define CONF_DEFAULT_CACHE_DIR		"/var/cache/vartrack-watcher"
#define CONF_DEFAULT_CONNECT_TIMEOUT_MS	5000
/* self-heal policy (watcher.orchestrator) */
#define CONF_DEFAULT_RETRY_INITIAL_MS	5000
#define CONF_DEFAULT_RETRY_MAX_MS	300000
#define CONF_DEFAULT_RETRY_ATTEMPTS	5
#define CONF_DEFAULT_BREAKER_FAILURES	5
#define CONF_DEFAULT_BREAKER_OPEN_MS	30000
#define CONF_DEFAULT_FLAP_LIMIT		3
#define CONF_DEFAULT_FLAP_HOLDOFF_MS	300000
#define CONF_DEFAULT_PING_INTERVAL_MS	10000
/* watcher.ha: the Go watcher's lock (interop §8.3), client-go's bounds */
#define CONF_DEFAULT_HA_LEASE_MS	15000
#define CONF_DEFAULT_HA_RENEW_MS	5000
#define CONF_DEFAULT_HA_DEADLINE_MS	10000
#define CONF_DEFAULT_HA_REDIS_DB	4
#define CONF_DEFAULT_HA_REDIS_KEY	"vtwatch:leader"
#define CONF_DEFAULT_HA_STATE_DB	3
#define CONF_RULE_ID_MAX		128
/* per-datasource circuit breaker */
#define CONF_DEFAULT_DS_BREAKER_FAILURES	3
#define CONF_DEFAULT_DS_BREAKER_BACKOFF_MS	5000
#define CONF_DEFAULT_DS_BREAKER_MAX_MS		300000
#define CONF_DEFAULT_COMMAND_TIMEOUT_MS	5000
/* watcher.git: Git fetches at once (each repository one at a time), and
 * how long one fetch (ref list and pack) may take */
#define CONF_DEFAULT_GIT_PARALLEL	4
#define CONF_GIT_PARALLEL_MAX		64
#define CONF_DEFAULT_GIT_FETCH_TIMEOUT_MS 30000
#define CONF_GIT_FETCH_TIMEOUT_MIN_MS	1000
#define CONF_GIT_FETCH_TIMEOUT_MAX_MS	600000

struct conf_pair {
	char	*key;
	char	*val;
	int	 compact;	/* layout_extra only: val is the compact
				 * JSON form of a YAML list or mapping */
};

enum secret_src { SECRET_NONE = 0, SECRET_LITERAL, SECRET_ENV, SECRET_FILE };

/* A secret, given as a literal (warns), {env: NAME} or {file: PATH};
 * resolved at load time. value is NULL when src == SECRET_NONE. */
struct conf_secret {
	enum secret_src	 src;
	char		*ref;		/* env var name or file path; NULL for literals */
	char		*value;		/* never logged */
};

struct conf_platform {
	char			*name;
	char			*type;		/* local|github|gitlab|gitea|bitbucket */
	char			*endpoint;
	char			*org_name;
	struct conf_secret	 token;
	int			 line, col;
};

struct ds_kind;

/* A place in the file: 1-based; line 0 = not given. */
struct conf_mark {
	int	line, col;
};

/*
 * A datasource: what every kind has, and the kind's own settings (kconf,
 * the struct its descriptor names, e.g. struct conf_redis_ds in
 * conf/kinds/redis.h). kind is NULL when the type is unknown.
 */
struct conf_datasource {
	char			*name;		/* what rules[].datasource names */
	char			*type;
	const struct ds_kind	*kind;
	void			*kconf;
	uint64_t		 connect_timeout_ms;
	uint64_t		 command_timeout_ms;
	unsigned int		 breaker_failures;	/* consecutive, to open */
	uint64_t		 breaker_backoff_ms;	/* first open period */
	uint64_t		 breaker_max_backoff_ms; /* doubling cap */
	int			 line, col;
};

#define CONF_KINDS_MAX	16	/* DS_KINDS_MAX (kinds.h) */

/* Where and how the orchestrator wrote a rule's values, computed at load by
 * the rule's kind (so -n refuses what the daemon would). */
struct conf_layout {
	char		*env;		/* resolved env (interop §7.4) */
	char		*target;	/* hash key, collection, root, file path */
	char		*marker;	/* "" = none */
	char		*key_prefix;	/* "" = keys as they are; else the Git
					 * keys become "{key_prefix}:{key}" */
	const char	*key_format;	/* resolved: dot|flat|slash|slash_dot */
	int		 detect_extra;	/* the worker reports extra keys */
	int		 watch;		/* event-assisted polls */
	void		*scope;		/* the kind's packed scope message */
	size_t		 scope_len;
};

struct conf_rule {
	unsigned int	 id;		/* index in vtw_conf.rules */
	char		*name;		/* given, or "{datasource}:{file}" */
	char		*sid;		/* key of its shared state: given
					 * (id:), or a digest (conf_check.c) */
	char		*platform;
	char		*datasource;
	int		 self_heal;
	char		*repo_url;
	char		*branch;	/* default "main" */
	char		**files;	/* file_name, or files: [...] */
	size_t		 nfiles;
	char		*tenant_id;	/* default "default" */
	char		*env;		/* explicit env, NULL if not given */
	struct conf_pair *branch_map;
	size_t		 nbranch_map;
	struct conf_pair *file_path_map;
	size_t		 nfile_path_map;
	int		 env_as_branch, env_as_pr, env_as_tags;
	char		*root_key;	/* NULL = default "vartrack" */
	struct conf_pair *variables_map; /* key = new name, val = source key */
	size_t		 nvariables_map;
	char		*destination_template;
	char		*key_format;	/* NULL = sink default */
	int		 detect_extra;	/* kinds where extras cost a scan */
	/*
	 * The kinds' layout keys (interop §5.7), each kind's in its own struct
	 * (its descriptor's rule_size), indexed by its place in the registry:
	 * allocated when one of its keys is given, and for the rule's own kind.
	 */
	void		*klayout[CONF_KINDS_MAX];
	/* other orchestrator rule_config keys, kept verbatim for later sinks */
	/* (keys carrying a credential, e.g. ssh_password, are ignored) */
	struct conf_pair *layout_extra;
	size_t		 nlayout_extra;
	char		**sensitive_keys;
	size_t		 nsensitive_keys;
	/* set by a kind whose values are secrets by default (vercel): drift
	 * lines show "<redacted>" for every value but those of show_values
	 * (globs, as sensitive_keys; sensitive_keys still win) */
	int		 redact_values;
	char		**show_values;
	size_t		 nshow_values;
	uint64_t	 poll_interval_ms;	/* 0 = watcher.poll_interval */
	uint64_t	 git_refresh_ms;	/* 0 = the shortest poll interval
						 * of the rules on its branch */
	struct conf_layout layout;	/* filled when the file loaded */
	int		 line, col;
};

enum conf_ha_backend { HA_NONE = 0, HA_REDIS, HA_ZOOKEEPER };

/* watcher.ha: several replicas, one leader heals */
struct conf_ha {
	enum conf_ha_backend	 backend;
	char			*instance_id;	/* NULL: hostname:pid:random */
	uint64_t		 lease_ms, renew_interval_ms, renew_deadline_ms;
	char			**redis_hosts;	/* the first is used */
	size_t			 nredis_hosts;
	struct conf_secret	 redis_password;
	int			 redis_db, redis_state_db;
	char			*redis_key;
	char			**zk_hosts;
	size_t			 nzk_hosts;
	char			*zk_path;
	struct conf_mark	 zk_path_mark;	/* line 0: the default */
	uint64_t		 zk_session_timeout_ms;	/* 0: ha.lease */
	int			 state_redis;	/* ha.state: redis */
	struct conf_mark	 state_mark;
	int			 standbys_poll;	/* default 1 */
	struct conf_mark	 mark;		/* of watcher.ha */
};

/* watcher.webhooks: push webhooks on the admin HTTP server (http.c); a
 * provider whose secret is not given (src SECRET_NONE) has no endpoint */
enum conf_webhook_provider { WEBHOOK_GITHUB = 0, WEBHOOK_GITLAB, WEBHOOK_GITEA,
	WEBHOOK__COUNT };

struct conf_webhooks {
	struct conf_secret	 secret[WEBHOOK__COUNT];
};

struct vtw_conf {
	char			*path;
	uint64_t		 poll_interval_ms;
	char			*admin_addr;
	char			*orchestrator_addr;
	uint64_t		 heal_timeout_ms;
	uint64_t		 retry_initial_ms;	/* first retry of a failed heal */
	uint64_t		 retry_max_ms;		/* retry backoff cap */
	unsigned int		 retry_attempts;	/* calls per drift event */
	unsigned int		 breaker_failures;	/* consecutive, to open */
	uint64_t		 breaker_open_ms;	/* open this long, then probe */
	unsigned int		 flap_limit;		/* accepted heals that did not hold */
	uint64_t		 flap_holdoff_ms;	/* first hold-off, then doubling */
	uint64_t		 ping_interval_ms;
	char			*log_level;		/* NULL = info */
	char			*app_env;		/* default "development" */
	char			*tls_ca_file, *tls_cert_file, *tls_key_file;
	char			*sandbox_user;
	struct conf_mark	 sandbox_user_mark;
	struct conf_ha		 ha;	/* line 0: the default */
	struct conf_webhooks	 webhooks;
	char			*cache_dir;
	unsigned int		 git_max_parallel;	/* watcher.git.max_parallel_fetches */
	uint64_t		 git_fetch_timeout_ms;	/* watcher.git.fetch_timeout */
	char			*worker_dir;		/* NULL = the supervisor's own dir */
	struct conf_platform	*platforms;
	size_t			 nplatforms;
	struct conf_datasource	*datasources;
	size_t			 ndatasources;
	struct conf_rule	*rules;
	size_t			 nrules;
};

/* Error list: each message is "file:line:col: text". */
struct conf_errors {
	char	**msgs;
	size_t	 n;
	char	**warnings;	/* e.g. literal secrets; same format */
	size_t	 nwarnings;
	char	**infos;	/* e.g. ignored orchestrator keys; same format */
	size_t	 ninfos;
};

/*
 * Load and validate path, then apply the environment overrides
 * (POLL_INTERVAL, ADMIN_ADDR, LOG_LEVEL, ORCHESTRATOR_ADDR, HEAL_TIMEOUT,
 * APP_ENV, TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE).
 * Returns 0 and *out (free with conf_free()) when there is no error;
 * -1 otherwise. errs is always filled (free with conf_errors_free()).
 */
int	conf_load(struct vtw_conf **out, const char *path, struct conf_errors *errs);
/* Same, from a memory buffer; name is used in messages. */
int	conf_load_buf(struct vtw_conf **out, const char *name, const char *buf,
	    size_t len, struct conf_errors *errs);
void	conf_free(struct vtw_conf *);
/*
 * What only this host can tell: the sandbox user exists. The daemon and -n
 * both refuse a configuration that fails it. 0 ok; -1 with err set
 * ("file:line:col: text").
 */
int	conf_check_host(const struct vtw_conf *, char *err, size_t errlen);
void	conf_errors_free(struct conf_errors *);

/* Every message of the three lists in file order (by name:line:col, the
 * unplaced ones last; at one place errors first), each with its kind. */
enum conf_msg_kind { CONF_MSG_ERROR, CONF_MSG_WARNING, CONF_MSG_INFO };
void	conf_errors_foreach(const struct conf_errors *, const char *name,
	    void (*)(enum conf_msg_kind, const char *, void *), void *);

/* Go-style durations: "500ms", "2s", "5m", "1h", "1m30s". 0 ok, -1 bad. */
int	conf_parse_duration(const char *, uint64_t *ms);
/* The inverse, Go style ("250ms", "1m30.5s", "0s"); always NUL-terminates,
 * 32 bytes are enough. Returns buf. */
char	*conf_format_duration(char *buf, size_t len, uint64_t ms);

/*
 * Print the canonical configuration as YAML that conf_load() accepts again
 * (vartrack-watcher -n -v). Secrets are shown as their reference
 * ({env: NAME} / {file: PATH}); literal secrets as "<redacted>".
 * Returns 0, or -1 when writing to the stream failed.
 */
int	conf_print(FILE *, const struct vtw_conf *);
/*
 * One rule or datasource in the canonical form conf_print writes (secret
 * references, not their values); malloc'd. A reload compares them to tell
 * what changed.
 */
char	*conf_rule_canon(const struct vtw_conf *, const struct conf_rule *);
char	*conf_datasource_canon(const struct conf_datasource *);

/* "github", "gitlab", "gitea" */
const char *conf_webhook_name(enum conf_webhook_provider);

const struct conf_platform *conf_platform_byname(const struct vtw_conf *, const char *);
const struct conf_datasource *conf_datasource_byname(const struct vtw_conf *, const char *);

#endif
