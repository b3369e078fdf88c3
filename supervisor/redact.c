/*
 * redact: is a key a secret? The rule is documented in redact.h.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

/* Rule 2: roots matched anywhere in the last segment, ignoring case. */
static const char *const secret_roots[] = {
	"password", "passwd", "passphrase", "secret", "token", "credential",
};

/* Rule 3: whole words, ignoring case. */
static const char *const secret_words[] = {
	"key", "keys", "apikey", "apikeys", "privatekey", "accesskey",
	"secretkey", "signingkey", "encryptionkey", "masterkey", "sshkey",
	"pwd", "pass",
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static int
is_sep(char c)
{
	return c == '.' || c == ':' || c == '/';
}

static int
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_lower(c) || is_upper(c) || is_digit(c);
}

static char
to_lower(char c)
{
	return is_upper(c) ? (char)(c - 'A' + 'a') : c;
}

const char *
redact_last_segment(const char *key, size_t keylen, size_t *seglen)
{
	size_t end = keylen, start;

	while (end > 0 && is_sep(key[end - 1]))
		end--;
	start = end;
	while (start > 0 && !is_sep(key[start - 1]))
		start--;
	*seglen = end - start;
	return key + start;
}

/* Case-insensitive: does s[0..len) contain the lowercase word w? */
static int
contains_ci(const char *s, size_t len, const char *w)
{
	size_t wl = strlen(w), i, j;

	for (i = 0; i + wl <= len; i++) {
		for (j = 0; j < wl && to_lower(s[i + j]) == w[j]; j++)
			;
		if (j == wl)
			return 1;
	}
	return 0;
}

static int
word_is_secret(const char *w, size_t len)
{
	size_t i, j;

	for (i = 0; i < NITEMS(secret_words); i++) {
		if (strlen(secret_words[i]) != len)
			continue;
		for (j = 0; j < len && to_lower(w[j]) == secret_words[i][j]; j++)
			;
		if (j == len)
			return 1;
	}
	return 0;
}

/* Is there a word boundary between s[i-1] and s[i] (both alphanumeric)? */
static int
camel_boundary(const char *s, size_t len, size_t i)
{
	char p = s[i - 1], c = s[i];

	if (is_digit(p) != is_digit(c))
		return 1;
	if (is_upper(c) && is_lower(p))
		return 1;
	/* "APIKey": boundary before the last capital of a run of capitals */
	if (is_upper(c) && is_upper(p) && i + 1 < len && is_lower(s[i + 1]))
		return 1;
	return 0;
}

static int
segment_is_secret(const char *seg, size_t len)
{
	size_t i, start;

	for (i = 0; i < NITEMS(secret_roots); i++)
		if (contains_ci(seg, len, secret_roots[i]))
			return 1;
	i = 0;
	while (i < len) {
		while (i < len && !is_alnum(seg[i]))
			i++;
		if (i == len)
			break;
		start = i++;
		while (i < len && is_alnum(seg[i]) &&
		    !camel_boundary(seg, len, i))
			i++;
		if (word_is_secret(seg + start, i - start))
			return 1;
	}
	return 0;
}

static int
has_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

static int
matches_list(const char *key, size_t keylen,
    const char *const *sensitive, size_t nsensitive, int on_oom)
{
	const char *seg;
	char stackbuf[256], *buf = stackbuf, *cseg;
	size_t seglen, i, pl;
	int hit = 0;

	seg = redact_last_segment(key, keylen, &seglen);
	for (i = 0; i < nsensitive; i++) {
		if (sensitive[i] == NULL)
			continue;
		pl = strlen(sensitive[i]);
		if ((pl == keylen && memcmp(sensitive[i], key, pl) == 0) ||
		    (pl == seglen && memcmp(sensitive[i], seg, pl) == 0))
			return 1;
	}
	/* globs: fnmatch wants NUL-terminated strings */
	if (keylen >= sizeof(stackbuf) && (buf = malloc(keylen + 1)) == NULL)
		return on_oom;	/* fail closed */
	memcpy(buf, key, keylen);
	buf[keylen] = '\0';
	cseg = buf + (seg - key);
	for (i = 0; i < nsensitive && !hit; i++) {
		if (sensitive[i] == NULL || !has_glob(sensitive[i]))
			continue;
		if (fnmatch(sensitive[i], buf, 0) == 0)
			hit = 1;
		else {
			/* the segment copy is terminated where it ends */
			char saved = cseg[seglen];

			cseg[seglen] = '\0';
			if (fnmatch(sensitive[i], cseg, 0) == 0)
				hit = 1;
			cseg[seglen] = saved;
		}
	}
	if (buf != stackbuf)
		free(buf);
	return hit;
}

int
redact_key_is_secret(const char *key, size_t keylen,
    const char *const *sensitive_keys, size_t nsensitive)
{
	const char *seg;
	size_t seglen;

	if (key == NULL)
		return 0;
	seg = redact_last_segment(key, keylen, &seglen);
	if (segment_is_secret(seg, seglen))
		return 1;
	if (sensitive_keys != NULL && nsensitive > 0)
		return matches_list(key, keylen, sensitive_keys,
		    nsensitive, 1);
	return 0;
}

int
redact_key_listed(const char *key, size_t keylen, const char *const *list,
    size_t n)
{
	if (key == NULL || list == NULL || n == 0)
		return 0;
	return matches_list(key, keylen, list, n, 0);
}

/* ---- values: the userinfo of URL-shaped parts (rule 5) ------------------ */

static int
is_scheme_char(char c)
{
	return is_alnum(c) || c == '+' || c == '-' || c == '.';
}

/* Where the authority that starts at v[i] ends: a '/', '?', '#', space,
 * control byte or quote, else len. */
static size_t
authority_end(const char *v, size_t len, size_t i)
{
	for (; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '/' || c == '?' || c == '#' || c <= 0x20 ||
		    c == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' ||
		    c == '`')
			break;
	}
	return i;
}

int
redact_url_userinfo(const char *v, size_t len, int truncated, char **outp,
    size_t *outlen)
{
	static const char ph[] = REDACT_PLACEHOLDER;
	char *out = NULL, *np;
	size_t i, s, a, e, at, o = 0, from = 0, cap = 0, need;

	*outp = NULL;
	*outlen = 0;
	if (v == NULL || len < 4)
		return 0;
	for (i = 1; i + 3 <= len; i++) {
		if (v[i] != ':' || v[i + 1] != '/' || v[i + 2] != '/')
			continue;
		/* the scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
		for (s = i; s > 0 && is_scheme_char(v[s - 1]); s--)
			;
		while (s < i && !is_lower(v[s]) && !is_upper(v[s]))
			s++;
		if (s == i)
			continue;
		a = i + 3;
		e = authority_end(v, len, a);
		for (at = e; at > a && v[at - 1] != '@'; at--)
			;
		if (at > a)
			at--;		/* v[at] == '@': userinfo is v[a..at) */
		else if (truncated && e == len && e > a)
			at = e;		/* cut before a '@' could show: all of it */
		else {
			i = e > i ? e - 1 : i;
			continue;
		}
		need = o + (a - from) + sizeof(ph) + (len - at) + 1;
		if (need > cap) {
			cap = need;
			if ((np = realloc(out, cap)) == NULL) {
				free(out);
				return -1;
			}
			out = np;
		}
		memcpy(out + o, v + from, a - from);
		o += a - from;
		memcpy(out + o, ph, sizeof(ph) - 1);
		o += sizeof(ph) - 1;
		from = at;
		i = e > i ? e - 1 : i;
	}
	if (out == NULL)
		return 0;
	memcpy(out + o, v + from, len - from);
	o += len - from;
	out[o] = '\0';
	*outp = out;
	*outlen = o;
	return 1;
}
