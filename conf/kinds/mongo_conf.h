/* The mongo kind's configuration (conf/kinds/mongo.c, interop §3.1). */
#ifndef VTW_CONF_KIND_MONGO_H
#define VTW_CONF_KIND_MONGO_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_DEFAULT_MONGO_URI		"mongodb://localhost:27017"
#define CONF_DEFAULT_MONGO_DATABASE	"vartrack"
#define CONF_DEFAULT_MONGO_COLLECTION	"configs"
#define CONF_DEFAULT_MONGO_SELECT_MS	5000
#define CONF_DEFAULT_MONGO_STRATEGY	"document"

struct conf_mongo_ds {
	char			**hosts;
	size_t			 nhosts;
	struct conf_secret	 uri;		/* may carry credentials; default
						 * built from hosts, else
						 * mongodb://localhost:27017 */
	int			 uri_derived;	/* not given: built */
	char			*database;	/* default "vartrack" */
	char			*collection;	/* default "configs" */
	int			 tls;
	char			*tls_ca_file;
	int			 tls_insecure;
	uint64_t		 server_selection_timeout_ms; /* default 5 s */
};

struct conf_mongo_rule {
	char	*mongo_strategy;	/* "document" (default) | "file" */
	char	*collection;		/* NULL = the datasource's */
	char	*database;		/* NULL = the datasource's */
	int	 env_as_collection;
};

/* Mongo URIs: whether it carries a credential; a printable copy (free()). */
int	 conf_uri_has_credentials(const char *);
char	*conf_uri_redacted(const char *);

/* Mongo collection (§3.1): destination_template with the sanitised env
 * ('/', '.', '$' -> '_'), else "{collection}_{safe_env}" with
 * env_as_collection, else collection (NULL/"" = "configs"). */
int	conf_mongo_collection(char **out, const char *destination_template,
	    const char *collection, int env_as_collection, const char *tenant,
	    const char *env, char *err, size_t errlen);

#endif
