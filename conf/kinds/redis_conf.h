/* The redis kind's configuration (conf/kinds/redis.c, interop §3.2). */
#ifndef VTW_CONF_KIND_REDIS_H
#define VTW_CONF_KIND_REDIS_H

#include <stddef.h>

#include "conf.h"

#define CONF_REDIS_DEFAULT_PORT	6379

struct conf_redis_ds {
	char			**hosts;	/* exactly one "host:port" */
	size_t			 nhosts;
	struct conf_secret	 password;
	int			 db;
};

struct conf_redis_rule {
	char	*redis_data_structure;	/* HASH (default) | STRING | JSON */
	char	*redis_hash_key;	/* default "vartrack" */
	char	*redis_key_prefix;	/* default "" */
};

/* Redis key prefix (§3.2): destination_template (raw env) if set, else
 * key_prefix if non-empty, else "{tenant}:{datasource}:{env}".
 * *out must be freed with free(). -1 with err on a bad template. */
int	conf_redis_prefix(char **out, const char *tenant, const char *datasource,
	    const char *env, const char *destination_template,
	    const char *key_prefix, char *err, size_t errlen);

#endif
