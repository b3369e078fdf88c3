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
/* per-datasource circuit breaker */
#define CONF_DEFAULT_DS_BREAKER_FAILURES	3
#define CONF_DEFAULT_DS_BREAKER_BACKOFF_MS	5000
#define CONF_DEFAULT_DS_BREAKER_MAX_MS		300000
#define CONF_DEFAULT_COMMAND_TIMEOUT_MS	5000
/* mongo, zookeeper, linux_server datasources and rules */
#define CONF_DEFAULT_MONGO_URI		"mongodb://localhost:27017"
#define CONF_DEFAULT_MONGO_DATABASE	"vartrack"
#define CONF_DEFAULT_MONGO_COLLECTION	"configs"
#define CONF_DEFAULT_MONGO_SELECT_MS	5000
#define CONF_DEFAULT_MONGO_STRATEGY	"document"
#define CONF_DEFAULT_ZK_SESSION_MS	10000
#define CONF_DEFAULT_SSH_PORT		22
#define CONF_DEFAULT_SSH_USER		"root"
#define CONF_DEFAULT_MAX_FILE_BYTES	(16u * 1024 * 1024)
#define CONF_DEFAULT_FILE_PATH		"/etc/vartrack/config.env"
#define CONF_SYSTEM_KNOWN_HOSTS		"/etc/ssh/ssh_known_hosts"

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

struct conf_datasource {
	char			*name;		/* what rules[].datasource names */
	char			*type;		/* redis|mongo|zookeeper|linux_server
						 * (s3, configmap, ... later) */
	char			**hosts;	/* "host:port" */
	size_t			 nhosts;
	struct conf_secret	 password;
	int			 db;
	uint64_t		 connect_timeout_ms;
	uint64_t		 command_timeout_ms;
	unsigned int		 breaker_failures;	/* consecutive, to open */
	uint64_t		 breaker_backoff_ms;	/* first open period */
	uint64_t		 breaker_max_backoff_ms; /* doubling cap */
	/*
	 * The fields below are filled (defaults included) only for a
	 * datasource of their type; zero or NULL otherwise. A key of another
	 * type is an error.
	 */
	/* mongo (interop §3.1, §5.2 MongoConfig) */
	struct conf_secret	 uri;		/* may carry credentials; default
						 * built from hosts, else
						 * mongodb://localhost:27017 */
	char			*database;	/* default "vartrack" */
	char			*collection;	/* default "configs" */
	int			 tls;
	char			*tls_ca_file;
	int			 tls_insecure;
	uint64_t		 server_selection_timeout_ms; /* default 5 s */
	/* zookeeper (§3.3): hosts (one or more), digest auth */
	char			*username;	/* digest user; NULL = no auth */
						/* (password: the digest password) */
	uint64_t		 session_timeout_ms;	/* default 10 s */
	char			*base_path;	/* default ""; a rule's
						 * zk_base_path wins */
	/* linux_server (§3.8) */
	char			*ssh_host;	/* NULL: files are read locally */
	unsigned int		 ssh_port;	/* default 22 */
	char			*ssh_user;	/* default "root" */
	char			*ssh_key_path;
	char			*ssh_key;	/* contents of ssh_key_path, read
						 * at load; never logged */
	size_t			 ssh_key_len;
	/* ssh_password: stored in password above */
	char			*ssh_known_hosts_file; /* default: first readable of
						 * /etc/ssh/ssh_known_hosts,
						 * ~/.ssh/known_hosts; read
						 * only with ssh_host (NULL
						 * without) */
	char			*ssh_known_hosts;	/* its contents, read at load */
	size_t			 ssh_known_hosts_len;
	uint64_t		 max_file_bytes;	/* default 16 MiB */
	int			 uri_derived;	/* mongo: uri not given, built
						 * from hosts or the default */
	int			 line, col;
};

struct conf_rule {
	unsigned int	 id;		/* index in vtw_conf.rules */
	char		*name;		/* given, or "{datasource}:{file}" */
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
	/* redis layout (interop §3.2) */
	char		*redis_data_structure;	/* HASH (default) | STRING | JSON */
	char		*redis_hash_key;	/* default "vartrack" */
	char		*redis_key_prefix;	/* default "" */
	/* mongo layout (§3.1) */
	char		*mongo_strategy;	/* "document" | "file"; set to
						 * "document" when not given and
						 * the datasource is mongo; else
						 * NULL unless given */
	char		*collection;		/* NULL = the datasource's */
	char		*database;		/* NULL = the datasource's */
	int		 env_as_collection;
	/* zookeeper layout (§3.3) */
	char		*zk_base_path;		/* NULL = the datasource's base_path */
	char		*zk_path_template;	/* NULL = "/{tenant}/{env}" */
	int		 watch;			/* zookeeper: event-assisted polls,
						 * default 1 */
	/* linux_server layout (§3.8) */
	char		*file_path;		/* absolute; when not given and the
						 * datasource is linux_server,
						 * CONF_DEFAULT_FILE_PATH; else
						 * NULL unless given */
	int		 env_as_filename;	/* default 1 */
	int		 env_as_dir;		/* default 0 */
	char		*file_format;		/* NULL = suffix of file_path, else
						 * "env" (see conf_file_format()) */
	/* other orchestrator rule_config keys, kept verbatim for later sinks */
	/* (keys carrying a credential, e.g. ssh_password, are ignored) */
	struct conf_pair *layout_extra;
	size_t		 nlayout_extra;
	int		 detect_extra;		/* STRING: SCAN for extra keys */
	char		**sensitive_keys;
	size_t		 nsensitive_keys;
	uint64_t	 poll_interval_ms;	/* 0 = watcher.poll_interval */
	int		 line, col;
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
	char			*cache_dir;
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
void	conf_errors_free(struct conf_errors *);

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

/* The linux_server file format of a rule (interop §3.8): file_format if set,
 * else the suffix of file_path; then normalised to one of "env", "ini",
 * "properties", "yaml", "json" (ini|cfg|conf|config -> "ini", yml -> "yaml",
 * anything unrecognised -> "env"). */
const char *conf_file_format(const struct conf_rule *);

const struct conf_platform *conf_platform_byname(const struct vtw_conf *, const char *);
const struct conf_datasource *conf_datasource_byname(const struct vtw_conf *, const char *);

#endif
