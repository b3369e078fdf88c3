/*
 * redact: the secret-key rule documented in supervisor/redact.h.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

static int
secret(const char *k)
{
	return redact_key_is_secret(k, strlen(k), NULL, 0);
}

static int
secret_l(const char *k, const char *const *list, size_t n)
{
	return redact_key_is_secret(k, strlen(k), list, n);
}

Test(redact, word_rule_secret)
{
	static const char *const yes[] = {
		"database.password", "api.secret_key",
		"vartrack:kv:api_secret_key", "AUTH_TOKEN", "ssh_key", "key",
		"KEY", "api_key", "apiKey", "APIKey", "API_KEY", "api-key",
		"secret_key", "apikey", "privateKey", "private_key",
		"aws/secretAccessKey", "github_token", "githubToken",
		"access_token", "refresh-token", "dbpassword", "DB_PASSWORD",
		"passwd", "user_pwd", "db_pass", "mysql.root.passphrase",
		"clientSecret", "client_secret", "credentials", "gcp_credential",
		"x.y.z/signing_key", "key2", "api_keys", "apiKeys",
		"encryption_key", "masterKey", "a.b.c:d/e.tokens",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_expect(secret(yes[i]), "%s should be secret", yes[i]);
}

Test(redact, word_rule_not_secret)
{
	static const char *const no[] = {
		"database.pool_size", "keyboard_layout", "monkey", "hotkey",
		"KEYBOARD", "keyspace", "passive", "bypass", "max_connections",
		"", "feature.enabled", "turkey_count", "key_value_store.size",
		/* only the last segment counts */
		"password.length", "secrets.db_host", "api.key.rotation_days",
		"secret/path/name", "token:ttl",
	};
	size_t i;

	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_expect(!secret(no[i]), "%s should not be secret", no[i]);
}

Test(redact, key_value_store_word)
{
	/* "key" is a whole word here: the segment is secret */
	cr_assert(secret("key_value"));
	/* trailing separators are ignored */
	cr_assert(secret("database.password."));
	cr_assert(secret("/srv/app/token/"));
}

Test(redact, last_segment)
{
	size_t n;
	const char *s;

	s = redact_last_segment("a.b:c/d", 7, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(*s, 'd');
	s = redact_last_segment("plain", 5, &n);
	cr_assert_eq(n, 5);
	s = redact_last_segment("x.y//", 5, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(*s, 'y');
	s = redact_last_segment("...", 3, &n);
	cr_assert_eq(n, 0);
}

Test(redact, not_nul_terminated)
{
	const char buf[] = "ssh_keyboard";

	/* only the first 7 bytes, "ssh_key", count */
	cr_assert(redact_key_is_secret(buf, 7, NULL, 0));
	cr_assert(!redact_key_is_secret(buf, sizeof(buf) - 1, NULL, 0));
	cr_assert(!redact_key_is_secret(NULL, 0, NULL, 0));
}

Test(redact, sensitive_keys_exact_and_glob)
{
	const char *const list[] = {
		"DATABASE_URL", "app.dsn", "STRIPE_*", "*.conn_string",
		"vartrack:kv:raw?", NULL,
	};
	const size_t n = 6;

	/* exact on the full key */
	cr_assert(secret_l("DATABASE_URL", list, n));
	cr_assert(secret_l("app.dsn", list, n));
	/* exact on the last segment */
	cr_assert(secret_l("vartrack:kv:DATABASE_URL", list, n));
	cr_assert(!secret_l("other.dsn", list, n));
	/* glob on the full key or the last segment */
	cr_assert(secret_l("STRIPE_LIVE", list, n));
	cr_assert(secret_l("billing/STRIPE_LIVE", list, n));
	cr_assert(secret_l("prod.db.conn_string", list, n));
	cr_assert(secret_l("vartrack:kv:raw1", list, n));
	cr_assert(!secret_l("vartrack:kv:raw12", list, n));
	/* case-sensitive */
	cr_assert(!secret_l("database_url", list, n));
	cr_assert(!secret_l("stripe_live", list, n));
	/* an empty list or NULL list changes nothing */
	cr_assert(!secret_l("STRIPE_LIVE", NULL, 0));
	cr_assert(!secret_l("STRIPE_LIVE", list, 0));
}

Test(redact, long_key_glob)
{
	const char *const list[] = { "*_blob" };
	size_t len = 5000;
	char *k = malloc(len + 1);

	cr_assert_not_null(k);
	memset(k, 'a', len);
	memcpy(k + len - 5, "_blob", 5);
	k[len] = '\0';
	cr_assert(redact_key_is_secret(k, len, list, 1));
	k[len - 1] = 'x';
	cr_assert(!redact_key_is_secret(k, len, list, 1));
	free(k);
}

/* rule 5: URL userinfo in values, whatever the key */
static char *
url_red(const char *v, int truncated)
{
	char *out = NULL;
	size_t n = 0;
	int rc = redact_url_userinfo(v, strlen(v), truncated, &out, &n);

	cr_assert_neq(rc, -1);
	if (rc == 0) {
		cr_assert_null(out);
		return strdup(v);
	}
	cr_assert_eq(n, strlen(out));
	return out;
}

static void
assert_url_red(const char *in, int truncated, const char *want)
{
	char *got = url_red(in, truncated);

	cr_assert_str_eq(got, want, "in: %s", in);
	free(got);
}

Test(redact, url_userinfo_in_values)
{
	assert_url_red("postgres://user:pw@host/db", 0,
	    "postgres://<redacted>@host/db");
	assert_url_red("postgres://user:pw@host:5432", 0,
	    "postgres://<redacted>@host:5432");
	assert_url_red("redis://:pw@h:6379/0", 0, "redis://<redacted>@h:6379/0");
	assert_url_red("amqp+ssl://u@h", 0, "amqp+ssl://<redacted>@h");
	/* the last '@' of the authority: a raw '@' in the password */
	assert_url_red("mysql://u:p@ss@h/x", 0, "mysql://<redacted>@h/x");
	/* inside a longer value, every URL */
	assert_url_red("DATABASE_URL=postgres://a:b@h1/d CACHE=redis://c:d@h2 x",
	    0, "DATABASE_URL=postgres://<redacted>@h1/d "
	    "CACHE=redis://<redacted>@h2 x");
	assert_url_red("{\"dsn\":\"https://u:p@h/\"}", 0,
	    "{\"dsn\":\"https://<redacted>@h/\"}");
	/* nothing to redact */
	assert_url_red("https://example.com/a@b", 0, "https://example.com/a@b");
	assert_url_red("https://example.com", 0, "https://example.com");
	assert_url_red("user:pw@host", 0, "user:pw@host");
	assert_url_red("a://", 0, "a://");
	assert_url_red("://u:p@h", 0, "://u:p@h");
	assert_url_red("", 0, "");
	/* a truncated value cut inside the authority: all of it goes */
	assert_url_red("postgres://user:hunt", 1, "postgres://<redacted>");
	assert_url_red("postgres://user:hunt", 0, "postgres://user:hunt");
	assert_url_red("postgres://h/db", 1, "postgres://h/db");
}

Test(redact, url_userinfo_not_nul_terminated)
{
	const char v[] = "x https://u:p@h";
	char *out = NULL;
	size_t n;

	/* only the first 13 bytes: "x https://u:p" (cut, not truncated) */
	cr_assert_eq(redact_url_userinfo(v, 13, 0, &out, &n), 0);
	cr_assert_eq(redact_url_userinfo(v, 13, 1, &out, &n), 1);
	cr_assert_eq(n, 20);
	cr_assert_str_eq(out, "x https://<redacted>");
	free(out);
}
