/* The linux_server kind's configuration (conf/kinds/linux_server.c, §3.8). */
#ifndef VTW_CONF_KIND_LINUX_SERVER_H
#define VTW_CONF_KIND_LINUX_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_LINUX_DEFAULT_SSH_PORT		22
#define CONF_LINUX_DEFAULT_SSH_USER		"root"
#define CONF_LINUX_DEFAULT_MAX_FILE_BYTES	(16u * 1024 * 1024)
#define CONF_LINUX_DEFAULT_FILE_PATH		"/etc/vartrack/config.env"
#define CONF_SYSTEM_KNOWN_HOSTS			"/etc/ssh/ssh_known_hosts"

/* The system-wide known_hosts tried first when ssh_known_hosts_file is not
 * given (CONF_SYSTEM_KNOWN_HOSTS); a variable so that tests can move it. */
extern const char *conf_system_known_hosts;

struct conf_linux_ds {
	char			*ssh_host;	/* NULL: files are read locally */
	unsigned int		 ssh_port;	/* default 22 */
	char			*ssh_user;	/* default "root" */
	char			*ssh_key_path;
	char			*ssh_key;	/* contents of ssh_key_path, read
						 * at load; never logged */
	size_t			 ssh_key_len;
	struct conf_secret	 password;	/* ssh_password */
	char			*ssh_known_hosts_file; /* default: first readable of
						 * /etc/ssh/ssh_known_hosts,
						 * ~/.ssh/known_hosts; read
						 * only with ssh_host (NULL
						 * without) */
	char			*ssh_known_hosts;	/* its contents, read at load */
	size_t			 ssh_known_hosts_len;
	uint64_t		 max_file_bytes;	/* default 16 MiB */
};

struct conf_linux_rule {
	char	*file_path;		/* absolute; CONF_LINUX_DEFAULT_FILE_PATH
					 * for a rule of this kind */
	int	 env_as_filename;	/* default 1 */
	int	 env_as_dir;		/* default 0 */
	char	*file_format;		/* NULL = suffix of file_path, else env */
};

/* The file format of a rule (interop §3.8): file_format if set, else the
 * suffix of file_path; then normalised to one of "env", "ini",
 * "properties", "yaml", "json" (ini|cfg|conf|config -> "ini", yml ->
 * "yaml", anything unrecognised -> "env"). */
const char *conf_linux_file_format(const struct conf_linux_rule *);

/* Linux server file (§3.8): destination_template, else file_path (NULL =
 * /etc/vartrack/config.env) with env_as_dir ({dir}/{env}/{stem}{ext}) or
 * env_as_filename ({dir}/{stem}_{env}{ext}); env sanitised as
 * re.sub(r'[^\w.\-]', '_', env); the result normalised as pathlib.Path. */
int	conf_linux_path(char **out, const char *destination_template,
	    const char *file_path, int env_as_dir, int env_as_filename,
	    const char *tenant, const char *env, char *err, size_t errlen);

#endif
