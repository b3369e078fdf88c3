#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "webhook.h"

/* GitHub's documented example (docs: "Validating webhook deliveries") */
#define GH_SECRET	"It's a Secret to Everybody"
#define GH_BODY		"Hello, World!"
#define GH_HEX	"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

Test(webhook, github_signature_of_the_documented_example)
{
	const char *b = GH_BODY;

	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, "sha256=" GH_HEX, b,
	    strlen(b)), 1);
	/* upper-case hex is the same digest */
	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, "sha256="
	    "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
	    b, strlen(b)), 1);
	/* one byte of the body, the secret or the digest changed */
	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, "sha256=" GH_HEX,
	    "Hello, World?", 13), 0);
	cr_expect_eq(webhook_verify(WH_GITHUB, "It's a secret to everybody",
	    "sha256=" GH_HEX, b, strlen(b)), 0);
	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, "sha256="
	    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
	    b, strlen(b)), 0);
}

Test(webhook, malformed_signatures_do_not_verify)
{
	const char *b = GH_BODY;

	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, NULL, b, 13), 0);
	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, "", b, 13), 0);
	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, GH_HEX, b, 13), 0,
	    "GitHub's header needs its sha256= prefix");
	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, "sha1=" GH_HEX, b,
	    13), 0);
	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, "sha256=" GH_HEX "00",
	    b, 13), 0);
	cr_expect_eq(webhook_verify(WH_GITHUB, GH_SECRET, "sha256="
	    "z57107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
	    b, 13), 0);
	/* no secret: nothing verifies, not even an HMAC with an empty key */
	cr_expect_eq(webhook_verify(WH_GITHUB, "", "sha256="
	    "4e4bc3c0c4e1ab9b8bc3bd4bb0c3ee5a1f1df1aa7e1b4fb0c2b0bd1de2cdfc57",
	    b, 13), 0);
	cr_expect_eq(webhook_verify(WH_GITHUB, NULL, "sha256=" GH_HEX, b, 13),
	    0);
}

Test(webhook, gitea_signature_is_the_bare_hex)
{
	const char *b = GH_BODY;

	cr_expect_eq(webhook_verify(WH_GITEA, GH_SECRET, GH_HEX, b, 13), 1);
	cr_expect_eq(webhook_verify(WH_GITEA, GH_SECRET, "sha256=" GH_HEX, b,
	    13), 0);
	cr_expect_eq(webhook_verify(WH_GITEA, "other", GH_HEX, b, 13), 0);
}

Test(webhook, gitlab_token_is_the_secret)
{
	cr_expect_eq(webhook_verify(WH_GITLAB, "tok-123", "tok-123", "x", 1),
	    1);
	cr_expect_eq(webhook_verify(WH_GITLAB, "tok-123", "tok-12", "x", 1), 0);
	cr_expect_eq(webhook_verify(WH_GITLAB, "tok-123", "tok-1234", "x", 1),
	    0);
	cr_expect_eq(webhook_verify(WH_GITLAB, "tok-123", "", "x", 1), 0);
	cr_expect_eq(webhook_verify(WH_GITLAB, "tok-123", NULL, "x", 1), 0);
}

static int
parse(struct webhook_push *p, enum webhook_provider pr, const char *body,
    char *why, size_t whylen)
{
	return webhook_parse(p, pr, body, strlen(body), why, whylen);
}

Test(webhook, github_push_names_the_branch_and_every_url_once)
{
	struct webhook_push p;
	char why[128];

	cr_assert_eq(parse(&p, WH_GITHUB, "{\"ref\":\"refs/heads/main\","
	    "\"repository\":{\"clone_url\":\"https://github.com/acme/config.git\","
	    "\"ssh_url\":\"git@github.com:acme/config.git\","
	    "\"html_url\":\"https://github.com/acme/config\"}}", why,
	    sizeof(why)), 0, "%s", why);
	cr_expect_str_eq(p.branch, "main");
	cr_expect_eq(p.nrepos, 1);
	cr_expect_str_eq(p.repos[0], "github.com/acme/config");
}

Test(webhook, gitlab_push_reads_project_and_repository)
{
	struct webhook_push p;
	char why[128];

	cr_assert_eq(parse(&p, WH_GITLAB, "{\"object_kind\":\"push\","
	    "\"ref\":\"refs/heads/release/1.2\",\"project\":{"
	    "\"git_http_url\":\"https://gitlab.example/g/sub/r.git\","
	    "\"git_ssh_url\":\"ssh://git@gitlab.example:2222/g/sub/r.git\","
	    "\"web_url\":\"https://gitlab.example/g/sub/r\"},"
	    "\"repository\":{\"git_http_url\":\"https://gitlab.example/g/sub/"
	    "r.git\"}}", why, sizeof(why)), 0, "%s", why);
	cr_expect_str_eq(p.branch, "release/1.2");
	cr_expect_eq(p.nrepos, 2);
	cr_expect_str_eq(p.repos[0], "gitlab.example/g/sub/r");
	cr_expect_str_eq(p.repos[1], "gitlab.example:2222/g/sub/r");
}

Test(webhook, a_tag_push_names_no_branch)
{
	struct webhook_push p;
	char why[128];

	cr_assert_eq(parse(&p, WH_GITEA, "{\"ref\":\"refs/tags/v1\","
	    "\"repository\":{\"clone_url\":\"https://h/o/r\"}}", why,
	    sizeof(why)), 0);
	cr_expect_str_eq(p.branch, "");
	cr_expect_eq(p.nrepos, 1);
}

Test(webhook, malformed_bodies_are_refused_without_quoting_them)
{
	static const char *const bad[] = {
		"",
		"not json SECRETWORD",
		"[1,2]",
		"{\"ref\":5,\"repository\":{\"clone_url\":\"https://h/o/r\"}}",
		"{\"repository\":{\"clone_url\":\"https://h/o/r\"}}",
		"{\"ref\":\"refs/heads/main\"}",
		"{\"ref\":\"refs/heads/main\",\"repository\":{\"clone_url\":5}}",
		"{\"ref\":\"refs/heads/main\",\"repository\":{\"clone_url\":"
		    "\"https://h/\"}}",
		"{\"ref\":\"refs/heads/\",\"repository\":{\"clone_url\":"
		    "\"https://h/o/r\"}}",
		"{\"ref\":\"refs/heads/a\\nb\",\"repository\":{\"clone_url\":"
		    "\"https://h/o/r\"}}",
		"{\"ref\":\"refs/heads/a\\u0000b\",\"repository\":{\"clone_url\":"
		    "\"https://h/o/r\"}}",
		"{\"ref\":\"a\",\"ref\":\"b\",\"repository\":{\"clone_url\":"
		    "\"https://h/o/r\"}}",
		"{\"ref\":\"refs/heads/main\",\"project\":{\"git_http_url\":"
		    "\"https://h/o/r\"}}",	/* GitLab's keys in a GitHub body */
	};
	struct webhook_push p;
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		cr_expect_eq(parse(&p, WH_GITHUB, bad[i], why, sizeof(why)),
		    -1, "#%zu", i);
		cr_expect(why[0] != '\0', "#%zu: a reason", i);
		cr_expect_null(strstr(why, "SECRETWORD"), "#%zu: %s", i, why);
	}
}

Test(webhook, a_branch_name_over_the_limit_is_refused)
{
	char body[1024], branch[400], why[128];
	struct webhook_push p;

	memset(branch, 'b', sizeof(branch) - 1);
	branch[sizeof(branch) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"ref\":\"refs/heads/%s\",\"repository\""
	    ":{\"clone_url\":\"https://h/o/r\"}}", branch);
	cr_expect_eq(parse(&p, WH_GITHUB, body, why, sizeof(why)), -1);
}
