/*
 * webhook: push webhook verification and bodies (see webhook.h).
 * HMAC-SHA256 through OpenSSL's EVP_MAC (EVP_Q_mac), comparisons with
 * CRYPTO_memcmp, the body through jansson.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "webhook.h"

#define SHA256_LEN	32

static const struct {
	const char	*auth;		/* the signature or token header */
	const char	*event;		/* the event header */
	const char	*push;		/* its value for a push */
	const char	*prefix;	/* before the hex digest; NULL: a token */
	/* where the repository's URLs are: object, then its keys */
	const char	*objs[2];
	const char	*urls[3];
} providers[WH__COUNT] = {
	[WH_GITHUB] = { "X-Hub-Signature-256", "X-GitHub-Event", "push",
	    "sha256=", { "repository", NULL },
	    { "clone_url", "ssh_url", "html_url" } },
	[WH_GITLAB] = { "X-Gitlab-Token", "X-Gitlab-Event", "Push Hook",
	    NULL, { "project", "repository" },
	    { "git_http_url", "git_ssh_url", "web_url" } },
	[WH_GITEA] = { "X-Gitea-Signature", "X-Gitea-Event", "push",
	    "", { "repository", NULL },
	    { "clone_url", "ssh_url", "html_url" } },
};

const char *
webhook_auth_header(enum webhook_provider p)
{
	return providers[p].auth;
}

const char *
webhook_event_header(enum webhook_provider p)
{
	return providers[p].event;
}

const char *
webhook_push_event(enum webhook_provider p)
{
	return providers[p].push;
}

/* Exactly 2 * SHA256_LEN hex digits into out; -1 otherwise. */
static int
unhex_digest(const char *s, unsigned char out[SHA256_LEN])
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * SHA256_LEN)
		return -1;
	for (i = 0; i < SHA256_LEN; i++) {
		if ((hi = OPENSSL_hexchar2int((unsigned char)s[2 * i])) < 0 ||
		    (lo = OPENSSL_hexchar2int((unsigned char)s[2 * i + 1])) <
		    0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int
hmac_sha256(const char *key, const void *data, size_t len,
    unsigned char out[SHA256_LEN])
{
	size_t outlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, strlen(key),
	    data, len, out, SHA256_LEN, &outlen) == NULL ||
	    outlen != SHA256_LEN)
		return -1;
	return 0;
}

static int
sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
	unsigned int outlen = 0;

	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1 ||
	    outlen != SHA256_LEN)
		return -1;
	return 0;
}

int
webhook_verify(enum webhook_provider p, const char *secret,
    const char *header, const void *body, size_t len)
{
	unsigned char want[SHA256_LEN], got[SHA256_LEN];
	const char *prefix;
	int ok = 0;

	if ((unsigned int)p >= WH__COUNT || secret == NULL ||
	    secret[0] == '\0' || header == NULL)
		return 0;
	prefix = providers[p].prefix;
	if (prefix == NULL) {
		/* the token itself: compare digests, so neither the
		 * length nor a common prefix shows in the time taken */
		if (sha256(secret, strlen(secret), want) == -1 ||
		    sha256(header, strlen(header), got) == -1)
			goto out;
	} else {
		if (strncmp(header, prefix, strlen(prefix)) != 0 ||
		    unhex_digest(header + strlen(prefix), got) == -1 ||
		    hmac_sha256(secret, body, len, want) == -1)
			goto out;
	}
	ok = CRYPTO_memcmp(want, got, SHA256_LEN) == 0;
 out:
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

/* No control characters, no spaces: what a Git ref may hold, roughly. */
static int
ref_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static void
add_repo(struct webhook_push *out, const char *url)
{
	char name[REPO_URL_CANON_MAX];
	size_t i;

	if (out->nrepos == WEBHOOK_MAX_URLS ||
	    repo_url_canon(name, sizeof(name), url) == -1)
		return;
	for (i = 0; i < out->nrepos; i++)
		if (strcmp(out->repos[i], name) == 0)
			return;
	memcpy(out->repos[out->nrepos++], name, sizeof(name));
}

int
webhook_parse(struct webhook_push *out, enum webhook_provider p,
    const void *body, size_t len, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *ref, *o, *u;
	const char *r;
	size_t i, j;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((unsigned int)p >= WH__COUNT) {
		snprintf(why, whylen, "unknown provider");
		return -1;
	}
	/* jerr.text may quote the body: only its place is reported */
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, whylen, "body is not JSON (line %d, column %d)",
		    jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "body is not a JSON object");
		goto out;
	}
	ref = json_object_get(root, "ref");
	if (!json_is_string(ref)) {
		snprintf(why, whylen, "no string \"ref\" in the body");
		goto out;
	}
	r = json_string_value(ref);
	if (strlen(r) != json_string_length(ref) || !ref_printable(r)) {
		snprintf(why, whylen, "\"ref\" holds a control character");
		goto out;
	}
	if (strncmp(r, "refs/heads/", 11) == 0) {
		if (strlen(r + 11) == 0 ||
		    strlen(r + 11) >= sizeof(out->branch)) {
			snprintf(why, whylen, "\"ref\" names no branch or one "
			    "over %zu bytes", sizeof(out->branch) - 1);
			goto out;
		}
		memcpy(out->branch, r + 11, strlen(r + 11) + 1);
	}
	for (i = 0; i < 2 && providers[p].objs[i] != NULL; i++) {
		o = json_object_get(root, providers[p].objs[i]);
		if (!json_is_object(o))
			continue;
		for (j = 0; j < 3; j++) {
			u = json_object_get(o, providers[p].urls[j]);
			if (json_is_string(u) &&
			    strlen(json_string_value(u)) == json_string_length(u))
				add_repo(out, json_string_value(u));
		}
	}
	if (out->nrepos == 0) {
		snprintf(why, whylen, "no repository URL in the body");
		goto out;
	}
	rc = 0;
 out:
	json_decref(root);
	return rc;
}
