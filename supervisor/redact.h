/*
 * redact: decide whether a key names a secret, so drift logs show
 * "<redacted>" instead of its expected and actual values.
 *
 * The rule, applied to a key of keylen bytes:
 *
 * 1. The LAST SEGMENT is the part after the last '.', ':' or '/', trailing
 *    separators ignored ("vartrack:kv:api_secret_key" -> "api_secret_key",
 *    "database.password" -> "password"). Only it is inspected by the word
 *    rules; "password.length" is not secret, "secrets.db_host" is not secret.
 *
 * 2. Substring words: the last segment is secret when it contains, ignoring
 *    case, one of
 *        password  passwd  passphrase  secret  token  credential
 *    anywhere ("dbpassword", "clientSecret", "AUTH_TOKEN", "x_tokens" are
 *    secret). These roots rarely occur by accident; over-redaction is the
 *    safe failure ("tokenizer" is redacted too).
 *
 * 3. Whole words: the last segment is split into words at '_', '-', ' ',
 *    at camelCase boundaries ("apiKey" -> api|Key, "APIKey" -> API|Key) and
 *    between letters and digits ("key2" -> key|2). It is secret when a word
 *    equals, ignoring case, one of
 *        key  keys  apikey  apikeys  privatekey  accesskey  secretkey
 *        signingkey  encryptionkey  masterkey  sshkey  pwd  pass
 *    so "ssh_key", "api_key", "apiKey", "API_KEY", "key", "api_keys",
 *    "db_pass" are secret but "keyboard_layout", "monkey", "hotkey",
 *    "keyspace", "passive" are not. Bytes other than ASCII letters and
 *    digits separate words.
 *
 * 4. sensitive_keys (a rule's configured list, e.g. vercel_sensitive_keys):
 *    the key is secret when the FULL key or its last segment equals an entry,
 *    or matches it as a glob (fnmatch(3) without flags: '*', '?', '[...]';
 *    case-sensitive; '*' also matches '.', ':' and '/').
 *
 * 5. Values, whatever their key: the userinfo of every URL-shaped part of
 *    a value (SCHEME "://" USERINFO "@" HOST, SCHEME = a letter, then
 *    letters, digits, '+', '-', '.') becomes "<redacted>", the user name
 *    too: "postgres://user:pw@host/db" -> "postgres://<redacted>@host/db"
 *    (as conf_print shows a mongo uri). The authority ends at the first
 *    '/', '?', '#', space, control byte, quote, '<', '>' or '`'; the
 *    userinfo is what precedes its last '@'. A value the worker truncated
 *    whose last authority runs to the cut (no '@' seen yet) has that whole
 *    authority redacted: the cut may fall inside a password.
 */
#ifndef VTW_REDACT_H
#define VTW_REDACT_H

#include <stddef.h>

#define REDACT_PLACEHOLDER	"<redacted>"

/* 1 when key names a secret per the rule above, else 0. Keys need not be
 * NUL-terminated. Fails closed: 1 if memory for a long glob match cannot
 * be had. sensitive_keys may be NULL when nsensitive is 0. */
int	redact_key_is_secret(const char *key, size_t keylen,
	    const char *const *sensitive_keys, size_t nsensitive);

/* Does key match an entry of list as in rule 4 (its full key or last
 * segment, equal or as a glob)? 0 when not, or when memory for a long key
 * cannot be had (a show_values list: fails closed). */
int	redact_key_listed(const char *key, size_t keylen,
	    const char *const *list, size_t n);

/* Rule 5. 0: nothing to redact (*out NULL); 1: *out is a NUL-terminated
 * malloc'd copy of v with each userinfo replaced, *outlen its length;
 * -1: out of memory (the caller must then not print v). truncated: v is
 * a prefix of the value. v need not be NUL-terminated. */
int	redact_url_userinfo(const char *v, size_t len, int truncated,
	    char **out, size_t *outlen);

/* Borrowed pointer to the last segment of key (see rule 1); *seglen set. */
const char *redact_last_segment(const char *key, size_t keylen,
	    size_t *seglen);

#endif
