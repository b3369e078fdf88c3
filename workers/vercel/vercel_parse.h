/*
 * The Vercel worker's parsers of what the API answers (pure functions,
 * jansson; unit-tested in tests/unit/test_vercel_parse.c and fuzzed):
 * list pages of env objects, the decrypted value of one, the reset time of
 * a rate limit, the code and message of an error body.
 */
#ifndef VTW_VERCEL_PARSE_H
#define VTW_VERCEL_PARSE_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define VC_T_PROD	1u
#define VC_T_PREV	2u
#define VC_T_DEV	4u
#define VC_RL_DEFAULT_S	60	/* a 429 that says no reset */
#define VC_RL_MAX_S	3600	/* the longest wait believed */

/* One variable; its strings borrowed from the JSON document it came from. */
struct vc_env {
	const char	*id, *key, *type, *value, *branch;
	size_t		 keylen, vallen;
	unsigned	 targets;	/* VC_T_* */
	long long	 updated;	/* updatedAt (ms), -1 when not given */
	size_t		 idx;		/* its place in the listing */
	int		 used;
};

unsigned	 vc_target_bit(const char *);
void		 vc_targets_str(unsigned, char *, size_t);
/* a project or env id: [A-Za-z0-9_.-], 1..256 bytes */
int		 vc_id_ok(const char *);
/* a non-negative decimal, else -1 (NULL too) */
long long	 vc_num_value(const char *);

/*
 * One list page (body, len): its document appended to docs (which keeps
 * the strings envs point to), its env objects appended to *envs (*n used,
 * *cap allocated), *next its pagination.next (-1: the last page). The
 * page is {"envs":[...],"pagination":{...}} or a single env object.
 * 0, or -1 with err (no body content in it).
 */
int	 vc_page_parse(const char *body, size_t len, json_t *docs,
	    struct vc_env **envs, size_t *n, size_t *cap, long long *next,
	    char *err, size_t errlen);
/* envs sorted for vc_find_env (by key, then listing order) */
void	 vc_envs_sort(struct vc_env *, size_t);
/* the env of a Git key among sorted envs: targets covering want (without
 * a gitBranch first), then overlapping, then any of that key */
struct vc_env	*vc_find_env(struct vc_env *, size_t, const char *key,
		    size_t keylen, unsigned want);
/* the value of a GET /v1/projects/{id}/env/{envId} answer: 0 with *val
 * (malloc'd, NUL-terminated, may hold NULs), 1 when it has none */
int	 vc_decrypted_value(const char *body, size_t len, char **val,
	    size_t *vallen);
/*
 * When a 429 ends: the body's error.limit.reset or X-RateLimit-Reset
 * (the later), else Retry-After (seconds or an HTTP date); a time not after
 * now is now + 1 (now + VC_RL_DEFAULT_S when none was given); at most now +
 * VC_RL_MAX_S. *src says which (a static string).
 */
time_t	 vc_reset_at(const char *x_reset, const char *retry_after,
	    const char *body, size_t len, time_t now, const char **src);
/* "what: HTTP status code: message" of an error body, never more of it */
void	 vc_api_error(long status, const char *body, size_t len,
	    const char *what, char *err, size_t errlen);

#endif
