/*
 * repourl: canonical repository names (see repourl.h).
 */
#include <string.h>
#include <strings.h>

#include "repourl.h"

/* An output buffer that remembers when it overflowed. */
struct out {
	char	*p;
	size_t	 len, cap;
	int	 full;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->full || n >= o->cap - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
put_lower(struct out *o, const char *s, size_t n)
{
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		put(o, &c, 1);
	}
}

static const struct {
	const char	*scheme;
	const char	*port;
} default_ports[] = {
	{ "http", "80" }, { "https", "443" }, { "ssh", "22" },
	{ "git+ssh", "22" }, { "ssh+git", "22" }, { "git", "9418" },
};

static int
default_port(const char *scheme, size_t slen, const char *port, size_t plen)
{
	size_t i;

	for (i = 0; i < sizeof(default_ports) / sizeof(default_ports[0]);
	    i++)
		if (strlen(default_ports[i].scheme) == slen &&
		    strncasecmp(default_ports[i].scheme, scheme, slen) == 0 &&
		    strlen(default_ports[i].port) == plen &&
		    memcmp(default_ports[i].port, port, plen) == 0)
			return 1;
	return 0;
}

/*
 * The path part: repeated slashes collapse, trailing slashes and one
 * ".git" go. lead: keep one leading slash (local paths). 0 when something
 * is left.
 */
static int
put_path(struct out *o, const char *p, size_t n, int lead)
{
	size_t start = o->len, i;

	/* cut at a query or fragment */
	for (i = 0; i < n; i++)
		if (p[i] == '?' || p[i] == '#')
			break;
	n = i;
	for (i = 0; i < n; i++) {
		/* of a run of slashes the last is kept; a trailing
		 * one goes */
		if (p[i] == '/' && (i + 1 == n || p[i + 1] == '/'))
			continue;
		if (p[i] == '/' && o->len == start && !lead)
			continue;
		put(o, &p[i], 1);
	}
	if (o->full)
		return -1;
	while (o->len > start + 1 && o->p[o->len - 1] == '/')
		o->p[--o->len] = '\0';
	if (o->len >= start + 4 && strcmp(o->p + o->len - 4, ".git") == 0) {
		o->len -= 4;
		o->p[o->len] = '\0';
		while (o->len > start + 1 && o->p[o->len - 1] == '/')
			o->p[--o->len] = '\0';
	}
	if (o->len == start || (lead && o->len == start + 1))
		return -1;
	return 0;
}

/* host[:port] of an authority without its userinfo; 0 when there is one. */
static int
put_host(struct out *o, const char *scheme, size_t slen, const char *a,
    size_t n)
{
	const char *at, *colon = NULL;
	size_t i, hlen;

	for (at = NULL, i = 0; i < n; i++)
		if (a[i] == '@')
			at = &a[i];
	if (at != NULL) {
		n -= (size_t)(at + 1 - a);
		a = at + 1;
	}
	if (n > 0 && a[0] == '[') {		/* [v6]:port */
		const char *close = memchr(a, ']', n);

		if (close == NULL)
			return -1;
		hlen = (size_t)(close + 1 - a);
		if (hlen < n && a[hlen] == ':')
			colon = &a[hlen];
		else if (hlen != n)
			return -1;
	} else {
		colon = memchr(a, ':', n);
		hlen = colon != NULL ? (size_t)(colon - a) : n;
	}
	if (hlen == 0)
		return -1;
	put_lower(o, a, hlen);
	if (colon != NULL) {
		size_t plen = n - hlen - 1;

		if (plen > 0 && !default_port(scheme, slen, colon + 1, plen))
			put(o, colon, plen + 1);
	}
	return o->full ? -1 : 0;
}

int
repo_url_canon(char *buf, size_t buflen, const char *url)
{
	struct out o = { buf, 0, buflen, 0 };
	const char *sep, *auth, *path, *colon, *slash;
	size_t n, i;

	if (buflen == 0)
		return -1;
	buf[0] = '\0';
	n = strlen(url);
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return -1;
	if ((sep = strstr(url, "://")) != NULL) {
		size_t slen = (size_t)(sep - url);

		auth = sep + 3;
		for (path = auth; *path && *path != '/' && *path != '?' &&
		    *path != '#'; path++)
			;
		if (slen == 4 && strncasecmp(url, "file", 4) == 0) {
			if (put_path(&o, path, strlen(path), 1) == -1)
				goto fail;
			return 0;
		}
		if (put_host(&o, url, slen, auth, (size_t)(path - auth)) == -1)
			goto fail;
	} else {
		/* scp-like [user@]host:path: a colon before any slash */
		colon = strchr(url, ':');
		slash = strchr(url, '/');
		if (colon == NULL || (slash != NULL && slash < colon)) {
			if (put_path(&o, url, n, 1) == -1)	/* a local path */
				goto fail;
			return 0;
		}
		if (put_host(&o, "ssh", 3, url, (size_t)(colon - url)) == -1)
			goto fail;
		path = colon + 1;
	}
	put(&o, "/", 1);
	if (put_path(&o, path, strlen(path), 0) == -1)
		goto fail;
	return 0;
 fail:
	buf[0] = '\0';
	return -1;
}
