/*
 * repourl: one canonical name per Git repository, whatever form its URL
 * takes. Pure (no I/O, no allocation): the metric label of a repository
 * (vartrack_watcher_git_fetch_*{repo}) and the key push webhooks are
 * matched on (http.c) are both this form.
 *
 *   https://Host/owner/repo.git, http://host/owner/repo/,
 *   ssh://git@host/owner/repo.git, git@host:owner/repo.git,
 *   git://host/owner/repo                -> "host/owner/repo"
 *   https://user:token@host:8443/o/r?x#y -> "host:8443/o/r"
 *   /srv/git/repo.git, file:///srv/git/repo.git -> "/srv/git/repo"
 *
 * Credentials never survive: userinfo, query and fragment are dropped.
 * The host is lower-cased; the scheme's default port (http 80, https 443,
 * ssh 22, git 9418) is dropped, another kept; repeated slashes collapse;
 * one trailing ".git" and trailing slashes go. The path keeps its case
 * (hosts differ on whether owner/repo is case-sensitive).
 */
#ifndef VTW_REPOURL_H
#define VTW_REPOURL_H

#include <stddef.h>

/* Longest canonical form written (with its NUL). */
#define REPO_URL_CANON_MAX	1024

/*
 * Writes the canonical form of url into out (outlen bytes, NUL-terminated).
 * 0 on success; -1 (out set to "") when url has no host or no path, holds a
 * control character or space, or the result does not fit.
 */
int	repo_url_canon(char *out, size_t outlen, const char *url);

#endif
