/* The vercel kind's configuration (conf/kinds/vercel.c, interop §3.7). */
#ifndef VTW_CONF_KIND_VERCEL_H
#define VTW_CONF_KIND_VERCEL_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_VERCEL_DEFAULT_API_URL	"https://api.vercel.com"
#define CONF_VERCEL_DEFAULT_MAX_RESPONSE (16u * 1024 * 1024)
#define CONF_VERCEL_MARKER		"VARTRACK_MANAGED_BY=vartrack"
#define CONF_VERCEL_PROJECT_MAX		256

struct conf_vercel_ds {
	char			*api_url;	/* no trailing '/' */
	struct conf_secret	 token;		/* required */
	char			*team_id;	/* ?teamId= */
	char			*team_slug;	/* ?slug= */
	char			*ca_file;
	uint64_t		 max_response_bytes;	/* default 16 MiB */
};

struct conf_vercel_rule {
	char	*project_id;		/* required */
	char	**targets;		/* NULL: by env (vercel_targets_for) */
	size_t	 ntargets;
	char	**sensitive_keys;	/* globs: Git writes type sensitive */
	size_t	 nsensitive;
	char	**show_values;		/* keys (globs) whose values the
					 * drift line shows */
	size_t	 nshow_values;
	int	 show_values_given;
};

/* A project id or name as it goes in the URL path: 1..256 of
 * [A-Za-z0-9._-]. 0, or -1 with why. */
int	conf_vercel_project_check(const char *, char *why, size_t whylen);
/* A target: production, preview or development. */
int	conf_vercel_target_ok(const char *);

#endif
