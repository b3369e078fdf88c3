/* The zookeeper kind's configuration (conf/kinds/zookeeper.c, §3.3). */
#ifndef VTW_CONF_KIND_ZOOKEEPER_H
#define VTW_CONF_KIND_ZOOKEEPER_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_ZK_DEFAULT_SESSION_MS	10000

struct conf_zk_ds {
	char			**hosts;	/* one or more "host:port" */
	size_t			 nhosts;
	char			*username;	/* digest user; NULL = no auth */
	struct conf_secret	 password;	/* the digest password */
	uint64_t		 session_timeout_ms;	/* default 10 s */
	char			*base_path;	/* default ""; a rule's
						 * zk_base_path wins */
};

struct conf_zk_rule {
	char	*zk_base_path;		/* NULL = the datasource's base_path */
	char	*zk_path_template;	/* NULL = "/{tenant}/{env}" */
	int	 watch;			/* event-assisted polls, default 1 */
};

/* ZooKeeper root (§3.3): (base_path + template).rstrip("/"), template
 * NULL/"" = "/{tenant}/{env}" (raw env). "" is the tree's root. */
int	conf_zk_root(char **out, const char *base_path, const char *tmpl,
	    const char *tenant, const char *env, char *err, size_t errlen);

#endif
