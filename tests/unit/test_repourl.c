#include <criterion/criterion.h>
#include <string.h>

#include "repourl.h"

static void
expect_canon(const char *url, const char *want)
{
	char out[REPO_URL_CANON_MAX];

	cr_expect_eq(repo_url_canon(out, sizeof(out), url), 0, "%s", url);
	cr_expect_str_eq(out, want, "%s", url);
}

static void
expect_refused(const char *url)
{
	char out[REPO_URL_CANON_MAX];

	cr_expect_eq(repo_url_canon(out, sizeof(out), url), -1, "%s", url);
	cr_expect_str_eq(out, "", "%s", url);
}

Test(repourl, every_form_of_one_repository_is_one_name)
{
	static const char *const forms[] = {
		"https://github.com/acme/config",
		"https://github.com/acme/config.git",
		"https://github.com/acme/config/",
		"https://github.com/acme/config.git/",
		"https://GitHub.COM/acme/config",
		"https://github.com:443/acme/config",
		"http://github.com:80/acme/config",
		"https://github.com//acme///config",
		"ssh://git@github.com/acme/config.git",
		"ssh://git@github.com:22/acme/config.git",
		"git+ssh://git@github.com/acme/config",
		"git@github.com:acme/config.git",
		"github.com:acme/config",
		"git://github.com/acme/config.git",
		"git://github.com:9418/acme/config",
		"HTTPS://github.com/acme/config",
	};
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		expect_canon(forms[i], "github.com/acme/config");
}

Test(repourl, credentials_query_and_fragment_never_survive)
{
	expect_canon("https://x-access-token:ghp_secret@github.com/acme/"
	    "config.git", "github.com/acme/config");
	expect_canon("https://oauth2:glpat-xyz@gitlab.example/g/sub/r.git"
	    "?private_token=abc#frag", "gitlab.example/g/sub/r");
	expect_canon("https://user@host/o/r#x", "host/o/r");
	expect_canon("https://a:b@c@host/o/r", "host/o/r");
	expect_canon("ssh://deploy:pw@host/o/r.git", "host/o/r");
}

Test(repourl, other_ports_and_ipv6_hosts_are_kept)
{
	expect_canon("https://git.example:8443/o/r.git", "git.example:8443/o/r");
	expect_canon("ssh://git@gitlab.example:2222/g/r.git",
	    "gitlab.example:2222/g/r");
	expect_canon("git://127.0.0.1:40123/config-repo",
	    "127.0.0.1:40123/config-repo");
	expect_canon("http://[::1]:3000/o/r", "[::1]:3000/o/r");
	expect_canon("http://[::1]/o/r", "[::1]/o/r");
	/* the port is the scheme's default only for that scheme */
	expect_canon("http://host:443/o/r", "host:443/o/r");
}

Test(repourl, local_paths_keep_their_slash_and_case)
{
	expect_canon("/srv/git/Config.git", "/srv/git/Config");
	expect_canon("file:///srv/git/config.git/", "/srv/git/config");
	expect_canon("/srv//git/config/", "/srv/git/config");
	expect_canon("relative/repo", "relative/repo");
	/* the path's case is the host's business */
	expect_canon("https://github.com/Acme/Config", "github.com/Acme/Config");
}

Test(repourl, what_names_no_repository_is_refused)
{
	expect_refused("");
	expect_refused("https://");
	expect_refused("https://host");
	expect_refused("https://host/");
	expect_refused("https://host/.git");
	expect_refused("https://user:pw@/o/r");
	expect_refused("git@host:");
	expect_refused("https://host/o r");
	expect_refused("https://host/o\nr");
	expect_refused("http://[::1/o/r");
	expect_refused("/");
	expect_refused("file://");
}

Test(repourl, a_result_that_does_not_fit_is_refused)
{
	char out[16];

	cr_expect_eq(repo_url_canon(out, sizeof(out),
	    "https://example.com/owner/repository"), -1);
	cr_expect_str_eq(out, "");
	cr_expect_eq(repo_url_canon(out, sizeof(out), "https://h/o/r"), 0);
	cr_expect_str_eq(out, "h/o/r");
	cr_expect_eq(repo_url_canon(out, 0, "https://h/o/r"), -1);
}
