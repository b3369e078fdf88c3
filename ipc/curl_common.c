/*
 * curl_common: libcurl set-up shared by the gRPC client and the workers'
 * HTTP client. See curl_common.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "curl_common.h"

#define CURLC_MIN_VERSION	0x075500	/* 7.85.0: PROTOCOLS_STR */

#define seterr	curlc_seterr

void
curlc_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
curlc_header_split(const char *buf, size_t n, size_t *nlen, const char **v,
    size_t *vlen)
{
	const char *colon;

	if ((colon = memchr(buf, ':', n)) == NULL || colon == buf ||
	    memchr(buf, ' ', (size_t)(colon - buf)) != NULL)
		return -1;
	*nlen = (size_t)(colon - buf);
	*v = colon + 1;
	*vlen = n - *nlen - 1;
	while (*vlen > 0 && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*vlen)--;
	}
	while (*vlen > 0 && ((*v)[*vlen - 1] == '\r' ||
	    (*v)[*vlen - 1] == '\n' || (*v)[*vlen - 1] == ' ' ||
	    (*v)[*vlen - 1] == '\t'))
		(*vlen)--;
	return 0;
}

int
curlc_global_init(char *err, size_t errlen)
{
	const curl_version_info_data *v;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		seterr(err, errlen, "curl_global_init failed");
		return -1;
	}
	v = curl_version_info(CURLVERSION_NOW);
	if (v->version_num < CURLC_MIN_VERSION ||
	    (v->features & CURL_VERSION_SSL) == 0) {
		seterr(err, errlen, "libcurl %s: need 7.85.0 or later with "
		    "TLS", v->version);
		curl_global_cleanup();
		return -1;
	}
	return 0;
}

void
curlc_global_cleanup(void)
{
	curl_global_cleanup();
}

static int
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* Reads path (at most CURLC_PEM_MAX bytes) into p->data. */
static int
pem_read(struct curlc_pem *p, const char *path, const char *what,
    const char *name, char *err, size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, "%s %s %s: %s", what, name, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "%s %s %s: %s", what, name, path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CURLC_PEM_MAX ||
	    st.st_size == 0) {
		seterr(err, errlen, "%s %s %s: %s", what, name, path,
		    !S_ISREG(st.st_mode) ? "not a regular file" :
		    st.st_size == 0 ? "empty file" : "larger than 4 MiB");
		close(fd);
		return -1;
	}
	if ((p->data = malloc((size_t)st.st_size + 1)) == NULL) {
		seterr(err, errlen, "%s %s: out of memory", what, name);
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, p->data + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		seterr(err, errlen, "%s %s %s: short read", what, name, path);
		return -1;
	}
	p->data[got] = '\0';
	p->len = got;
	return 0;
}

/* A copy of the NUL-terminated PEM text in p->data. */
static int
pem_copy(struct curlc_pem *p, const char *pem, const char *what,
    const char *name, char *err, size_t errlen)
{
	size_t len = strlen(pem);

	if (len > CURLC_PEM_MAX) {
		seterr(err, errlen, "%s %s: larger than 4 MiB", what, name);
		return -1;
	}
	if ((p->data = strdup(pem)) == NULL) {
		seterr(err, errlen, "%s %s: out of memory", what, name);
		return -1;
	}
	p->len = len;
	return 0;
}

static int
pem_init(struct curlc_pem *p, enum curlc_tls_mode mode, const char *path,
    const char *pem, const char *what, const char *name, const char *pname,
    char *err, size_t errlen)
{
	int fd;

	if (!empty(path) && !empty(pem)) {
		seterr(err, errlen, "%s TLS: %s and %s are exclusive", what,
		    name, pname);
		return -1;
	}
	if (!empty(pem)) {
		if (mode != CURLC_TLS_BLOBS) {
			seterr(err, errlen, "%s TLS: %s needs blobs", what,
			    pname);
			return -1;
		}
		return pem_copy(p, pem, what, pname, err, errlen);
	}
	if (empty(path))
		return 0;
	if (mode == CURLC_TLS_BLOBS)
		return pem_read(p, path, what, name, err, errlen);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, "%s %s %s: %s", what, name, path,
		    strerror(errno));
		return -1;
	}
	close(fd);
	if ((p->path = strdup(path)) == NULL) {
		seterr(err, errlen, "%s %s: out of memory", what, name);
		return -1;
	}
	return 0;
}

static void
pem_fini(struct curlc_pem *p)
{
	if (p->data != NULL) {
		explicit_bzero(p->data, p->len);
		free(p->data);
	}
	free(p->path);
	memset(p, 0, sizeof(*p));
}

/* The CA bundle libcurl was built with (CURLINFO_CAINFO, 7.84+). */
static const char *
default_cainfo(void)
{
	static char path[512];
	char *p = NULL;
	CURL *e;

	if ((e = curl_easy_init()) == NULL)
		return NULL;
	if (curl_easy_getinfo(e, CURLINFO_CAINFO, &p) == CURLE_OK &&
	    p != NULL && strlen(p) < sizeof(path))
		snprintf(path, sizeof(path), "%s", p);
	else
		path[0] = '\0';
	curl_easy_cleanup(e);
	return path[0] != '\0' ? path : NULL;
}

int
curlc_tls_init(struct curlc_tls *out, enum curlc_tls_mode mode,
    const char *ca_file, const char *cert_file, const char *key_file,
    const char *what, char *err, size_t errlen)
{
	struct curlc_tls_src src = { .ca_file = ca_file,
	    .cert_file = cert_file, .key_file = key_file };

	return curlc_tls_init_src(out, mode, &src, what, err, errlen);
}

int
curlc_tls_init_src(struct curlc_tls *out, enum curlc_tls_mode mode,
    const struct curlc_tls_src *src, const char *what, char *err,
    size_t errlen)
{
	const char *ca_file = src->ca_file;

	memset(out, 0, sizeof(*out));
	if ((empty(src->cert_file) && empty(src->cert_pem)) !=
	    (empty(src->key_file) && empty(src->key_pem))) {
		seterr(err, errlen, "%s TLS: a client certificate needs both "
		    "cert_file and key_file", what);
		return -1;
	}
	if (mode == CURLC_TLS_BLOBS && empty(ca_file) && empty(src->ca_pem) &&
	    (ca_file = default_cainfo()) == NULL) {
		seterr(err, errlen, "%s TLS: no ca_file and libcurl has no "
		    "default CA bundle", what);
		return -1;
	}
	if (pem_init(&out->ca, mode, ca_file, src->ca_pem, what, "ca_file",
	    "ca_pem", err, errlen) == -1 ||
	    pem_init(&out->cert, mode, src->cert_file, src->cert_pem, what,
	    "cert_file", "cert_pem", err, errlen) == -1 ||
	    pem_init(&out->key, mode, src->key_file, src->key_pem, what,
	    "key_file", "key_pem", err, errlen) == -1) {
		curlc_tls_fini(out);
		return -1;
	}
	return 0;
}

void
curlc_tls_fini(struct curlc_tls *t)
{
	if (t == NULL)
		return;
	pem_fini(&t->ca);
	pem_fini(&t->cert);
	pem_fini(&t->key);
}

int
curlc_tls_has_cert(const struct curlc_tls *t)
{
	return t->cert.path != NULL || t->cert.data != NULL;
}

const char *
curlc_tls_hint(const struct curlc_tls *t, int tls, CURLcode rc,
    long http_status)
{
	if (tls && !curlc_tls_has_cert(t) && http_status == 0 &&
	    (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR))
		return " (no client certificate configured: does the server "
		    "require mTLS?)";
	return "";
}

static int
set_blob(CURL *e, CURLoption opt, const struct curlc_pem *p)
{
	struct curl_blob b;

	b.data = p->data;
	b.len = p->len;
	b.flags = CURL_BLOB_NOCOPY;
	return curl_easy_setopt(e, opt, &b) == CURLE_OK ? 0 : -1;
}

int
curlc_tls_setopt(CURL *e, const struct curlc_tls *t)
{
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	if (t->ca.path != NULL || t->ca.data != NULL) {
		/* only this CA, not the system store as well */
		bad |= curl_easy_setopt(e, CURLOPT_CAPATH, NULL) != CURLE_OK;
		if (t->ca.data != NULL) {
			bad |= curl_easy_setopt(e, CURLOPT_CAINFO, NULL) !=
			    CURLE_OK;
			bad |= set_blob(e, CURLOPT_CAINFO_BLOB, &t->ca);
		} else
			bad |= curl_easy_setopt(e, CURLOPT_CAINFO,
			    t->ca.path) != CURLE_OK;
	}
	if (curlc_tls_has_cert(t)) {
		if (t->cert.data != NULL)
			bad |= set_blob(e, CURLOPT_SSLCERT_BLOB, &t->cert);
		else
			bad |= curl_easy_setopt(e, CURLOPT_SSLCERT,
			    t->cert.path) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") !=
		    CURLE_OK;
		if (t->key.data != NULL)
			bad |= set_blob(e, CURLOPT_SSLKEY_BLOB, &t->key);
		else
			bad |= curl_easy_setopt(e, CURLOPT_SSLKEY,
			    t->key.path) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") !=
		    CURLE_OK;
	}
	return bad ? -1 : 0;
}

int
curlc_base_setopt(CURL *e, const char *proxy, char *errbuf)
{
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROXY, empty(proxy) ? "" : proxy)
	    != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOPROXY, "") != CURLE_OK;
	if (errbuf != NULL) {
		errbuf[0] = '\0';
		bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) !=
		    CURLE_OK;
	}
	return bad ? -1 : 0;
}

void
curlc_scrub(char *s, size_t size, const char *secret)
{
	static const char rep[] = CURLC_REDACTED;
	size_t slen, rlen = sizeof(rep) - 1, len, off, tail;
	char *p;

	if (s == NULL || size == 0 || secret == NULL ||
	    (slen = strlen(secret)) < 3)
		return;
	off = 0;
	while ((p = strstr(s + off, secret)) != NULL) {
		len = strlen(s);
		off = (size_t)(p - s);
		tail = len - off - slen;	/* bytes after the secret */
		/* room for: s[0..off) rep tail NUL */
		if (off + rlen >= size) {
			/* not even the marker fits: cut here */
			snprintf(p, size - off, "%s", rep);
			return;
		}
		if (off + rlen + tail >= size)
			tail = size - 1 - off - rlen;
		memmove(p + rlen, p + slen, tail);
		memcpy(p, rep, rlen);
		p[rlen + tail] = '\0';
		off += rlen;
	}
}

char *
curlc_errtext(char *out, size_t outlen, CURLcode rc, const char *errbuf,
    const char *const *secrets, size_t nsecrets)
{
	/* scrubbed whole, then cut: a cut never leaves part of a secret */
	char tmp[8 * CURL_ERROR_SIZE];
	size_t i, n;

	if (outlen == 0)
		return out;
	n = strnlen(errbuf != NULL ? errbuf : "", CURL_ERROR_SIZE);
	while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r'))
		n--;
	if (n > 0)
		snprintf(tmp, sizeof(tmp), "%s: %.*s", curl_easy_strerror(rc),
		    (int)n, errbuf);
	else
		snprintf(tmp, sizeof(tmp), "%s", curl_easy_strerror(rc));
	for (i = 0; i < nsecrets; i++)
		curlc_scrub(tmp, sizeof(tmp), secrets[i]);
	snprintf(out, outlen, "%s", tmp);
	return out;
}

char *
curlc_url_redact(char *out, size_t outlen, const char *url)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *query = NULL;

	if (outlen == 0)
		return out;
	snprintf(out, outlen, "(unparsable URL)");
	if (url == NULL || (u = curl_url()) == NULL)
		return out;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
		(void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
		snprintf(out, outlen, "%s://%s%s%s%s%s", scheme, host,
		    port != NULL ? ":" : "", port != NULL ? port : "", path,
		    query != NULL ? "?..." : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return out;
}
