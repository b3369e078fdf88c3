/*
 * vartrack-worker-testkv: the worker of the test-only testkv kind
 * (conf/kinds/testkv.c). A rule's target is a JSON file holding one flat
 * object under the datasource's dir; the worker reads it whole (at most
 * the scope's max_file_bytes), reports each requested key's value (a
 * string member as it is, any other member as compact JSON) and every
 * other member as an extra. A missing or unreadable file, or one that is
 * not a JSON object, makes the poll unknown, as an unreachable server
 * does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "dsworker.h"
#include "kinds/testkv.h"
#include "kvmap.h"
#include "log.h"

struct testkv_ds {
	char	*dir;
};

static int
testkv_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct ipc_testkv_settings st;
	struct testkv_ds *d;
	int rc = -1;

	if (ipc_testkv_settings_unpack(&st, &c->settings, err, errlen) == -1)
		goto cleanup;
	if (st.dir[0] != '/') {
		snprintf(err, errlen, "dir is not an absolute path");
		goto cleanup;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	d->dir = ds_strdup(st.dir);
	*priv = d;
	rc = 0;
 cleanup:
	ipc_testkv_settings_release(&st);
	return rc;
}

static void
testkv_close(void *priv)
{
	struct testkv_ds *d = priv;

	free(d->dir);
	free(d);
}

/* The whole file, NUL-terminated; -1 with err. */
static int
read_file(const char *path, size_t cap, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > cap) {
		snprintf(err, errlen, "%s is larger than %zu bytes", path, cap);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		fatal("malloc");
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "read %s: %s", path,
			    n == 0 ? "file shrank" : strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
 fail:
	close(fd);
	free(buf);
	return -1;
}

/* A member's value as the watcher compares it, stored in the poll. */
static int
member_value(struct ds_poll *p, json_t *v, const char **out, size_t *outlen)
{
	char *s;

	if (json_is_string(v)) {
		*outlen = json_string_length(v);
		*out = ds_poll_store(p, json_string_value(v), *outlen);
		return 0;
	}
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return -1;
	*outlen = strlen(s);
	*out = ds_poll_store(p, s, *outlen);
	free(s);
	return 0;
}

static int
testkv_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct testkv_ds *d = priv;
	struct ipc_testkv_scope scope;
	struct kvmap *want = NULL;
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *key, *val;
	char *buf = NULL;
	size_t i, len, dl = strlen(d->dir), keylen, vallen;
	int rc = -1;

	if (ipc_testkv_scope_unpack(&scope, &p->scope, err, errlen) == -1)
		goto cleanup;
	/* the supervisor computed it; still never read outside dir */
	if (strncmp(p->target, d->dir, dl) != 0 || p->target[dl] != '/' ||
	    strstr(p->target + dl, "/..") != NULL) {
		snprintf(err, errlen, "target is not below %s", d->dir);
		goto cleanup;
	}
	if (read_file(p->target, scope.max_file_bytes, &buf, &len, err,
	    errlen) == -1)
		goto cleanup;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &jerr);
	if (root == NULL || !json_is_object(root)) {
		snprintf(err, errlen, "%s:%d:%d: not a JSON object%s%s",
		    p->target, root ? 1 : jerr.line, root ? 1 : jerr.column,
		    root ? "" : ": ", root ? "" : jerr.text);
		goto cleanup;
	}
	for (i = 0; i < p->nkeys; i++) {
		v = json_object_getn(root, p->keys[i], p->keylens[i]);
		if (v == NULL) {
			ds_reply_add(rb, p->keys[i], p->keylens[i], 0, NULL, 0);
			continue;
		}
		if (member_value(p, v, &val, &vallen) == -1) {
			snprintf(err, errlen, "out of memory");
			goto cleanup;
		}
		ds_reply_add(rb, p->keys[i], p->keylens[i], 1, val, vallen);
	}
	if (ds_reply_extras(rb) == -1) {
		snprintf(err, errlen, "cannot send the reply");
		goto cleanup;
	}
	if (p->detect_extra) {
		want = ds_poll_keyset(p);
		json_object_keylen_foreach(root, key, keylen, v) {
			if (kvmap_get(want, key, keylen) != NULL)
				continue;
			if (member_value(p, v, &val, &vallen) == -1) {
				snprintf(err, errlen, "out of memory");
				goto cleanup;
			}
			ds_reply_add(rb, ds_poll_store(p, key, keylen), keylen,
			    1, val, vallen);
		}
	}
	rc = 0;
 cleanup:
	kvmap_free(want);
	json_decref(root);
	free(buf);
	ipc_testkv_scope_release(&scope);
	return rc;
}

static const int testkv_syscalls[] = { -1 };

static const struct dsw_kind testkv_kind = {
	.name = "testkv",
	.type = "testkv",
	.syscalls = testkv_syscalls,
	.open = testkv_open,
	.close = testkv_close,
	.poll = testkv_poll,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&testkv_kind, argc, argv);
}
