/*
 * Where the orchestrator's sinks put a rule's values (interop §2.4, §3.1,
 * §3.3, §3.8): the Mongo collection, the ZooKeeper root znode and the Linux
 * file path, computed exactly as the sinks compute them so the watcher
 * reads what they wrote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"

static char *
dup_or_err(const char *s, char *err, size_t errlen)
{
	char *p = strdup(s);

	if (p == NULL)
		snprintf(err, errlen, "out of memory");
	return p;
}

/* env with every byte for which bad() holds replaced by '_' */
static char *
sanitise(const char *env, int (*bad)(unsigned char), char *err, size_t errlen)
{
	char *s = dup_or_err(env ? env : "", err, errlen);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; s[i] != '\0'; i++)
		if (bad((unsigned char)s[i]))
			s[i] = '_';
	return s;
}

/* mongo: '/', '.', '$' and NUL (NUL cannot occur in a C string) */
static int
mongo_bad(unsigned char c)
{
	return c == '/' || c == '.' || c == '$';
}

/* linux_server: re.sub(r'[^\w.\-]', '_', env). Python's \w is Unicode
 * aware; bytes of multi-byte UTF-8 sequences are kept (letters and digits
 * outside ASCII are word characters; other non-ASCII symbols are rare in
 * env names and would differ). */
static int
linux_bad(unsigned char c)
{
	if (c >= 0x80)
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 0;
	return !(c == '_' || c == '.' || c == '-');
}

int
bl_mongo_collection(char **out, const char *destination_template,
    const char *collection, int env_as_collection, const char *tenant,
    const char *env, char *err, size_t errlen)
{
	char *safe;
	int rc = -1;

	*out = NULL;
	if ((safe = sanitise(env, mongo_bad, err, errlen)) == NULL)
		return -1;
	if (collection == NULL || *collection == '\0')
		collection = "configs";
	if (destination_template != NULL && *destination_template != '\0')
		rc = bl_format_template(out, destination_template, tenant,
		    safe, err, errlen);
	else if (env_as_collection) {
		if (asprintf(out, "%s_%s", collection, safe) == -1) {
			*out = NULL;
			snprintf(err, errlen, "out of memory");
		} else
			rc = 0;
	} else
		rc = (*out = dup_or_err(collection, err, errlen)) ? 0 : -1;
	free(safe);
	if (rc == 0 && **out == '\0') {
		snprintf(err, errlen, "collection name is empty");
		free(*out);
		*out = NULL;
		rc = -1;
	}
	return rc;
}

int
bl_zk_root(char **out, const char *base_path, const char *template,
    const char *tenant, const char *env, char *err, size_t errlen)
{
	char *path = NULL, *root;
	size_t bl, n;

	*out = NULL;
	if (template == NULL || *template == '\0')
		template = "/{tenant}/{env}";
	if (bl_format_template(&path, template, tenant, env, err, errlen) ==
	    -1)
		return -1;
	base_path = base_path ? base_path : "";
	bl = strlen(base_path);
	while (bl > 0 && base_path[bl - 1] == '/')
		bl--;
	if (asprintf(&root, "%.*s%s", (int)bl, base_path, path) == -1) {
		free(path);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(path);
	n = strlen(root);
	while (n > 0 && root[n - 1] == '/')
		root[--n] = '\0';
	if (n > 0 && root[0] != '/') {
		snprintf(err, errlen, "zookeeper root '%s' is not an absolute "
		    "path", root);
		free(root);
		return -1;
	}
	*out = root;
	return 0;
}

/* pathlib: the last '.' of the name, not as its first character */
static size_t
suffix_at(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL || dot == name || dot[1] == '\0')
		return strlen(name);
	return (size_t)(dot - name);
}

/* Path(s) as pathlib prints it: repeated and trailing '/' removed, "."
 * segments dropped (pathlib keeps ".."). */
static char *
path_normalise(const char *s, char *err, size_t errlen)
{
	char *o = malloc(strlen(s) + 2);
	size_t n = 0;
	const char *p = s, *q;

	if (o == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (*p == '/')
		o[n++] = '/';
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		q = strchr(p, '/');
		if (q == NULL)
			q = p + strlen(p);
		if (!(q - p == 1 && p[0] == '.')) {
			if (n > 0 && o[n - 1] != '/')
				o[n++] = '/';
			memcpy(o + n, p, (size_t)(q - p));
			n += (size_t)(q - p);
		}
		p = q;
	}
	if (n == 0)
		o[n++] = '.';
	o[n] = '\0';
	return o;
}

int
bl_linux_path(char **out, const char *destination_template,
    const char *file_path, int env_as_dir, int env_as_filename,
    const char *tenant, const char *env, char *err, size_t errlen)
{
	char *safe, *raw = NULL, *fp = NULL;
	const char *name;
	size_t dirlen, sfx;
	int rc = -1;

	*out = NULL;
	if ((safe = sanitise(env, linux_bad, err, errlen)) == NULL)
		return -1;
	if (destination_template != NULL && *destination_template != '\0') {
		if (bl_format_template(&raw, destination_template, tenant,
		    safe, err, errlen) == -1)
			goto out;
	} else {
		if (file_path == NULL || *file_path == '\0')
			file_path = "/etc/vartrack/config.env";
		if ((fp = path_normalise(file_path, err, errlen)) == NULL)
			goto out;
		name = strrchr(fp, '/');
		name = name ? name + 1 : fp;
		dirlen = (size_t)(name - fp);	/* includes the '/' */
		sfx = suffix_at(name);
		if (env_as_dir) {
			if (asprintf(&raw, "%.*s%s/%.*s%s", (int)dirlen, fp,
			    safe, (int)sfx, name, name + sfx) == -1)
				raw = NULL;
		} else if (env_as_filename) {
			if (asprintf(&raw, "%.*s%.*s_%s%s", (int)dirlen, fp,
			    (int)sfx, name, safe, name + sfx) == -1)
				raw = NULL;
		} else
			raw = strdup(fp);
		if (raw == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if ((*out = path_normalise(raw, err, errlen)) == NULL)
		goto out;
	rc = 0;
 out:
	free(safe);
	free(raw);
	free(fp);
	return rc;
}
