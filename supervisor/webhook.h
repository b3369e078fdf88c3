/*
 * webhook: what a Git host's push webhook says, verified. Pure (no I/O, no
 * event loop); http.c serves POST /hooks/<provider> with it and
 * sup_rules_push() acts on the result.
 *
 *   github  X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>
 *   gitea   X-Gitea-Signature: <hex HMAC-SHA256 of the raw body>
 *   gitlab  X-Gitlab-Token: <the secret itself>
 *
 * Comparisons are constant-time (CRYPTO_memcmp; the GitLab token through
 * the SHA-256 of both sides, so its length does not show either). The body
 * is JSON: "ref" ("refs/heads/<branch>") and the repository's URLs
 * (GitHub, Gitea: repository.clone_url, ssh_url, html_url; GitLab:
 * project.git_http_url, git_ssh_url, web_url, and the older repository.*
 * forms), each reduced to its canonical name (repourl.h).
 *
 * Nothing here quotes a body, a header or a secret in what it returns: the
 * reasons are fixed phrases, fit for a log line.
 */
#ifndef VTW_WEBHOOK_H
#define VTW_WEBHOOK_H

#include <stddef.h>

#include "repourl.h"

/* Larger bodies are refused (413) before they are read. */
#define WEBHOOK_MAX_BODY_BYTES	(1024 * 1024)
#define WEBHOOK_MAX_URLS	8	/* repository URLs read from one body */
#define WEBHOOK_MAX_BRANCH	256	/* bytes, with the NUL */

/* the order of conf.h's enum conf_webhook_provider */
enum webhook_provider { WH_GITHUB = 0, WH_GITLAB, WH_GITEA, WH__COUNT };

/* The signature (or token) header each provider sends. */
const char *webhook_auth_header(enum webhook_provider);
/* The event header, and its value for a push. */
const char *webhook_event_header(enum webhook_provider);
const char *webhook_push_event(enum webhook_provider);

/*
 * 1 when header (the value of webhook_auth_header(), NULL when absent)
 * proves the body came from a holder of secret; 0 otherwise.
 */
int	webhook_verify(enum webhook_provider, const char *secret,
	    const char *header, const void *body, size_t len);

struct webhook_push {
	/* "" when the ref is not a branch (a tag): nothing to do */
	char	 branch[WEBHOOK_MAX_BRANCH];
	char	 repos[WEBHOOK_MAX_URLS][REPO_URL_CANON_MAX];
	size_t	 nrepos;	/* distinct canonical names */
};

/*
 * Reads a push body. 0 with *out filled; -1 with why (a fixed phrase)
 * when it is not JSON, not an object, has no string "ref", or names no
 * repository URL that has a canonical name.
 */
int	webhook_parse(struct webhook_push *out, enum webhook_provider,
	    const void *body, size_t len, char *why, size_t whylen);

#endif
