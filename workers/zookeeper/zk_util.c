/*
 * Pure helpers of the zookeeper worker; see zk_util.h.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zk_util.h"

char *
zk_key_path(const char *root, int slash_dot, const char *key, size_t keylen)
{
	size_t rl = strlen(root), skip;
	char *p;

	if (keylen == 0 || memchr(key, '\0', keylen) != NULL)
		return NULL;
	if (slash_dot) {
		/* ".db.host" names the flat znode "db.host" */
		skip = key[0] == '.' ? 1 : 0;
		if (keylen == skip)
			return NULL;
	} else {
		/* "/db/host" is already a path below root */
		if (key[0] != '/' || keylen == 1)
			return NULL;
		skip = 0;
	}
	if ((p = malloc(rl + 1 + keylen + 1)) == NULL)
		fatal("malloc");
	memcpy(p, root, rl);
	if (slash_dot)
		p[rl++] = '/';
	memcpy(p + rl, key + skip, keylen - skip);
	p[rl + keylen - skip] = '\0';
	return p;
}

const char *
zk_root_path(const char *root)
{
	return root[0] != '\0' ? root : "/";
}

char *
zk_child_path(const char *parent, const char *name)
{
	size_t pl = strlen(parent), nl = strlen(name);
	char *p;

	if (pl == 1 && parent[0] == '/')
		pl = 0;
	if ((p = malloc(pl + 1 + nl + 1)) == NULL)
		fatal("malloc");
	memcpy(p, parent, pl);
	p[pl] = '/';
	memcpy(p + pl + 1, name, nl + 1);
	return p;
}

char *
zk_join_hosts(const char *const *hosts, size_t n)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(hosts[i]) + 1;
	if ((s = malloc(len)) == NULL)
		fatal("malloc");
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, hosts[i]);
	}
	return s;
}

static const char *
memstr(const char *h, size_t hl, const char *n)
{
	size_t nl = strlen(n), i;

	for (i = 0; i + nl <= hl; i++)
		if (memcmp(h + i, n, nl) == 0)
			return h + i;
	return NULL;
}

void
zk_log_parse(const char *line, size_t len, int *level, const char **msg,
    size_t *msglen)
{
	static const struct { const char *tag; int lvl; } lv[] = {
		{ "):ZOO_ERROR@", ZK_LOG_ERROR }, { "):ZOO_WARN@", ZK_LOG_WARN },
		{ "):ZOO_INFO@", ZK_LOG_INFO }, { "):ZOO_DEBUG@", ZK_LOG_DEBUG },
	};
	const char *p, *end = line + len, *q;
	size_t i;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--, end--;
	*level = ZK_LOG_WARN;
	*msg = line;
	*msglen = len;
	for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++) {
		if ((p = memstr(line, len, lv[i].tag)) == NULL)
			continue;
		p += strlen(lv[i].tag);
		/* func@line: message */
		if ((q = memchr(p, '@', (size_t)(end - p))) == NULL ||
		    (q = memstr(q, (size_t)(end - q), ": ")) == NULL)
			return;
		*level = lv[i].lvl;
		*msg = q + 2;
		*msglen = (size_t)(end - *msg);
		return;
	}
}
