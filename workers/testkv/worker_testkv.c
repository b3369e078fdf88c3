/*
 * vartrack-worker-testkv: the worker of the test-only testkv kind
 * (conf/kinds/testkv.c). A rule's target is a file under the datasource's
 * dir holding key/value pairs as netstrings ("3:key,5:value," ...: any
 * bytes), later pairs winning. The worker reads it whole (at most the
 * scope's max_file_bytes), reports each requested key's value and every
 * other key as an extra. A missing or unreadable file makes the poll
 * unknown, as an unreachable server does (its breaker counts it); a file
 * that is there but not a regular one, too big or malformed is a data
 * error: that rule is unknown, the datasource is not down.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The whole file, NUL-terminated; -1 with err, DS_POLL_DATA_ERROR when it
 * is there but not a regular file or too big. */
static int
read_file(const char *path, size_t cap, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		rc = DS_POLL_DATA_ERROR;
		goto fail;
	}
	if ((uint64_t)st.st_size > cap) {
		snprintf(err, errlen, "%s is larger than %zu bytes", path, cap);
		rc = DS_POLL_DATA_ERROR;
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
	return rc;
}

/* One netstring at *p ("<len>:<bytes>,"); -1 when malformed. */
static int
netstring(const char **p, const char *end, const char **out, size_t *outlen)
{
	const char *q = *p;
	size_t n = 0, digits = 0;

	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (++digits > 10)
			return -1;
		n = n * 10 + (size_t)(*q - '0');
	}
	if (digits == 0 || q == end || *q++ != ':' ||
	    (size_t)(end - q) <= n || q[n] != ',')
		return -1;
	*out = q;
	*outlen = n;
	*p = q + n + 1;
	return 0;
}

/* The file's pairs; -1 with err (the byte offset of what is malformed). */
static int
parse_pairs(struct kvmap *m, const char *buf, size_t len, const char *path,
    char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len, *k, *v;
	size_t kl, vl;

	while (p < end) {
		if (*p == '\n') {		/* a newline between pairs is fine */
			p++;
			continue;
		}
		if (netstring(&p, end, &k, &kl) == -1 ||
		    netstring(&p, end, &v, &vl) == -1) {
			snprintf(err, errlen, "%s: malformed pair at byte %zu",
			    path, (size_t)(p - buf));
			return -1;
		}
		if (kvmap_put(m, k, kl, v, vl) == -1)
			fatal("kvmap_put");
	}
	return 0;
}

static int
testkv_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct testkv_ds *d = priv;
	struct ipc_testkv_scope scope;
	struct kvmap *have = NULL, *want = NULL;
	const struct kv_entry *e;
	char *buf = NULL;
	size_t i, len, dl = strlen(d->dir);
	int rc = -1;

	if (ipc_testkv_scope_unpack(&scope, &p->scope, err, errlen) == -1)
		goto cleanup;
	/* the supervisor computed it; still never read outside dir */
	if (strncmp(p->target, d->dir, dl) != 0 || p->target[dl] != '/' ||
	    strstr(p->target + dl, "/..") != NULL) {
		snprintf(err, errlen, "target is not below %s", d->dir);
		goto cleanup;
	}
	if ((rc = read_file(p->target, scope.max_file_bytes, &buf, &len, err,
	    errlen)) != 0)
		goto cleanup;
	rc = -1;
	if ((have = kvmap_new()) == NULL)
		fatal("kvmap_new");
	if (parse_pairs(have, buf, len, p->target, err, errlen) == -1) {
		rc = DS_POLL_DATA_ERROR;	/* the rule's data, not an outage */
		goto cleanup;
	}
	for (i = 0; i < p->nkeys; i++) {
		e = kvmap_get(have, p->keys[i], p->keylens[i]);
		ds_reply_add(rb, p->keys[i], p->keylens[i], e != NULL,
		    e ? e->val : NULL, e ? e->vallen : 0);
	}
	if (ds_reply_extras(rb) == -1) {
		snprintf(err, errlen, "cannot send the reply");
		goto cleanup;
	}
	if (p->detect_extra) {
		want = ds_poll_keyset(p);
		for (i = 0; i < have->n; i++) {
			e = &have->ents[i];
			if (kvmap_get(want, e->key, e->keylen) == NULL)
				ds_reply_add(rb, e->key, e->keylen, 1, e->val,
				    e->vallen);
		}
	}
	/* the buffered values point into have */
	if (ds_reply_flush(rb) == -1) {
		snprintf(err, errlen, "cannot send the reply");
		goto cleanup;
	}
	rc = 0;
 cleanup:
	kvmap_free(want);
	kvmap_free(have);
	free(buf);
	ipc_testkv_scope_release(&scope);
	return rc;
}

static const struct dsw_kind testkv_kind = {
	.name = "testkv",
	.type = "testkv",
	.open = testkv_open,
	.close = testkv_close,
	.poll = testkv_poll,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&testkv_kind, argc, argv);
}
