/*
 * kubeconfig files for the configmap kind (kubeconfig.h): libyaml's
 * document API (a bounded file: aliases share nodes, nothing expands),
 * client-go's merge and precedence rules, base64 through libcrypto's EVP
 * decoder. Messages name the file, the line and the entry, never a value
 * of a token, key or certificate.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "conf_keys.h"
#include "kubeconfig.h"

struct kdoc {
	char		*path, *dir;
	yaml_document_t	 doc;
};

struct kset {
	struct kdoc	 d[KUBECONFIG_MAX_FILES];
	size_t		 n;
};

static void
kset_free(struct kset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		yaml_document_delete(&s->d[i].doc);
		free(s->d[i].path);
		free(s->d[i].dir);
	}
	s->n = 0;
}

static unsigned long
line_of(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

/* 1: path does not exist (skipped in a KUBECONFIG list); 0; -1 with err */
static int
kset_add(struct kset *s, const char *path, char *err, size_t errlen)
{
	yaml_parser_t p;
	struct kdoc *d;
	char *buf, why[128], *slash;
	size_t len, i;
	yaml_node_t *root;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->d[i].path, path) == 0)
			return 0;	/* listed twice: read once */
	if (s->n == KUBECONFIG_MAX_FILES) {
		snprintf(err, errlen, "kubeconfig: more than %d files",
		    KUBECONFIG_MAX_FILES);
		return -1;
	}
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 1;
	if (read_blob(path, KUBECONFIG_MAX_BYTES, &buf, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "kubeconfig %s: cannot read: %s", path,
		    why);
		return -1;
	}
	d = &s->d[s->n];
	memset(d, 0, sizeof(*d));
	if (!yaml_parser_initialize(&p))
		fatalx("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d->doc)) {
		snprintf(err, errlen, "kubeconfig %s:%lu:%lu: %s", path,
		    (unsigned long)p.problem_mark.line + 1,
		    (unsigned long)p.problem_mark.column + 1,
		    p.problem != NULL ? p.problem : "YAML error");
		yaml_parser_delete(&p);
		explicit_bzero(buf, len);
		free(buf);
		return -1;
	}
	yaml_parser_delete(&p);
	explicit_bzero(buf, len);
	free(buf);
	root = yaml_document_get_root_node(&d->doc);
	if (root != NULL && root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "kubeconfig %s:%lu: expected a mapping "
		    "(kind: Config)", path, line_of(root));
		yaml_document_delete(&d->doc);
		return -1;
	}
	d->path = conf_xstrdup(path);
	d->dir = conf_xstrdup(path);
	if ((slash = strrchr(d->dir, '/')) == NULL)
		strcpy(d->dir, ".");
	else if (slash == d->dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	s->n++;
	return 0;
}

static const char *
scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* The value of key in a mapping node, or NULL. */
static yaml_node_t *
map_get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;
	const char *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		k = scalar(yaml_document_get_node(doc, pr->key));
		if (k != NULL && strcmp(k, key) == 0)
			return yaml_document_get_node(doc, pr->value);
	}
	return NULL;
}

/* A string value: NULL when absent or null; "bad" set when not a scalar. */
static const char *
str_at(yaml_document_t *doc, const yaml_node_t *map, const char *key,
    int *bad)
{
	yaml_node_t *v = map_get(doc, map, key);
	const char *s;

	if (v == NULL)
		return NULL;
	if ((s = scalar(v)) == NULL) {
		*bad = 1;
		return NULL;
	}
	if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || *s == '\0'))
		return NULL;
	return s;
}

/*
 * The first entry called name in section (clusters, contexts, users) of
 * the files in order, and its inner mapping (cluster, context, user):
 * client-go's merge keeps the first file's entry of a name. 0, 1 (none),
 * -1 with err.
 */
static int
find_named(struct kset *s, const char *section, const char *inner,
    const char *name, struct kdoc **din, yaml_node_t **out, char *err,
    size_t errlen)
{
	yaml_node_t *seq, *item, *v;
	yaml_node_item_t *it;
	const char *nm;
	size_t i;

	for (i = 0; i < s->n; i++) {
		yaml_document_t *doc = &s->d[i].doc;

		seq = map_get(doc, yaml_document_get_root_node(doc), section);
		if (seq == NULL || (seq->type == YAML_SCALAR_NODE &&
		    scalar(seq) != NULL && (strcmp(scalar(seq), "null") == 0 ||
		    *scalar(seq) == '\0')))
			continue;
		if (seq->type != YAML_SEQUENCE_NODE) {
			snprintf(err, errlen, "kubeconfig %s:%lu: %s: expected "
			    "a list", s->d[i].path, line_of(seq), section);
			return -1;
		}
		for (it = seq->data.sequence.items.start;
		    it < seq->data.sequence.items.top; it++) {
			item = yaml_document_get_node(doc, *it);
			nm = scalar(map_get(doc, item, "name"));
			if (nm == NULL || strcmp(nm, name) != 0)
				continue;
			v = map_get(doc, item, inner);
			if (v != NULL && v->type != YAML_MAPPING_NODE) {
				snprintf(err, errlen, "kubeconfig %s:%lu: %s "
				    "'%s': %s: expected a mapping",
				    s->d[i].path, line_of(v), section, name,
				    inner);
				return -1;
			}
			*din = &s->d[i];
			*out = v != NULL ? v : item;
			return 0;
		}
	}
	return 1;
}

static char *
resolve(const struct kdoc *d, const char *p)
{
	char *o;

	if (p[0] == '/')
		return conf_xstrdup(p);
	if (asprintf(&o, "%s/%s", d->dir, p) == -1)
		fatal("asprintf");
	return o;
}

/* base64 with line breaks allowed (EVP's decoder), at most cap bytes out */
static int
b64_decode(const char *in, size_t cap, struct conf_cm_blob *out)
{
	EVP_ENCODE_CTX *ctx;
	size_t inlen = strlen(in), max = inlen / 4 * 3 + 3;
	unsigned char *buf;
	int n1 = 0, n2 = 0, ok;

	/* line breaks make the text longer than 4/3 of what it holds */
	if (inlen > INT_MAX || inlen / 2 > cap + 1024)
		return -1;
	buf = conf_xcalloc(1, max + 1);
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		fatalx("EVP_ENCODE_CTX_new");
	EVP_DecodeInit(ctx);
	ok = EVP_DecodeUpdate(ctx, buf, &n1, (const unsigned char *)in,
	    (int)inlen) != -1 && EVP_DecodeFinal(ctx, buf + n1, &n2) == 1;
	EVP_ENCODE_CTX_free(ctx);
	if (!ok || n1 + n2 == 0 || (size_t)(n1 + n2) > cap) {
		explicit_bzero(buf, max + 1);
		free(buf);
		return -1;
	}
	buf[n1 + n2] = '\0';
	out->data = (char *)buf;
	out->len = (size_t)(n1 + n2);
	return 0;
}

/*
 * One piece of TLS material: key-data (base64) over key (a file, relative
 * to the kubeconfig's folder). 0 (or nothing given), -1 with err.
 */
static int
material(struct kdoc *d, yaml_node_t *map, const char *entry,
    const char *name, const char *fkey, size_t cap, struct conf_cm_blob *out,
    char *err, size_t errlen)
{
	char dkey[64], why[128], *path;
	const char *s;
	int bad = 0;

	snprintf(dkey, sizeof(dkey), "%s-data", fkey);
	if ((s = str_at(&d->doc, map, dkey, &bad)) != NULL) {
		if (b64_decode(s, cap, out) == -1) {
			snprintf(err, errlen, "kubeconfig %s:%lu: %s '%s': %s: "
			    "not base64, empty or larger than %zu KiB",
			    d->path, line_of(map_get(&d->doc, map, dkey)),
			    entry, name, dkey, cap / 1024);
			return -1;
		}
		return 0;
	}
	if (!bad && (s = str_at(&d->doc, map, fkey, &bad)) != NULL) {
		path = resolve(d, s);
		if (read_blob(path, cap, &out->data, &out->len, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "kubeconfig %s:%lu: %s '%s': %s: "
			    "cannot read '%s': %s", d->path,
			    line_of(map_get(&d->doc, map, fkey)), entry, name,
			    fkey, path, why);
			free(path);
			return -1;
		}
		free(path);
		return 0;
	}
	if (bad) {
		snprintf(err, errlen, "kubeconfig %s:%lu: %s '%s': %s: expected "
		    "a string", d->path, line_of(map), entry, name, fkey);
		return -1;
	}
	return 0;
}

static int
load_cluster(struct kubeconfig *kc, struct kset *s, const char *name,
    char *err, size_t errlen)
{
	struct kdoc *d;
	yaml_node_t *c;
	const char *v;
	int bad = 0, rc;

	if ((rc = find_named(s, "clusters", "cluster", name, &d, &c, err,
	    errlen)) != 0) {
		if (rc == 1)
			snprintf(err, errlen, "kubeconfig %s: context '%s': no "
			    "cluster '%s'", kc->file, kc->context, name);
		return -1;
	}
	if ((v = str_at(&d->doc, c, "server", &bad)) == NULL) {
		snprintf(err, errlen, "kubeconfig %s:%lu: cluster '%s': no "
		    "server", d->path, line_of(c), name);
		return -1;
	}
	kc->server = conf_xstrdup(v);
	if ((v = str_at(&d->doc, c, "insecure-skip-tls-verify", &bad)) != NULL) {
		/* YAML 1.1's booleans, as client-go's YAML reader takes them */
		if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 ||
		    strcmp(v, "TRUE") == 0)
			kc->insecure = 1;
		else if (strcmp(v, "false") != 0 && strcmp(v, "False") != 0 &&
		    strcmp(v, "FALSE") != 0) {
			snprintf(err, errlen, "kubeconfig %s:%lu: cluster '%s': "
			    "insecure-skip-tls-verify: expected true or false",
			    d->path, line_of(map_get(&d->doc, c,
			    "insecure-skip-tls-verify")), name);
			return -1;
		}
	}
	if (bad) {
		snprintf(err, errlen, "kubeconfig %s:%lu: cluster '%s': expected "
		    "strings", d->path, line_of(c), name);
		return -1;
	}
	return material(d, c, "cluster", name, "certificate-authority",
	    CONF_CM_MAX_CA_BYTES, &kc->ca, err, errlen);
}

static int
load_user(struct kubeconfig *kc, struct kset *s, const char *name,
    char *err, size_t errlen)
{
	static const char *const refused[] = {
		"exec", "exec credential plugins are not supported (a "
		    "sandboxed worker runs no programs)",
		"auth-provider", "auth-provider entries are not supported (a "
		    "sandboxed worker runs no programs)",
		"username", "basic authentication is not supported",
		"password", "basic authentication is not supported",
	};
	struct kdoc *d;
	yaml_node_t *u, *x;
	const char *v;
	size_t i;
	int bad = 0, rc;

	if ((rc = find_named(s, "users", "user", name, &d, &u, err,
	    errlen)) != 0) {
		if (rc == 1)
			snprintf(err, errlen, "kubeconfig %s: context '%s': no "
			    "user '%s'", kc->file, kc->context, name);
		return -1;
	}
	for (i = 0; i < NITEMS(refused); i += 2)
		if ((x = map_get(&d->doc, u, refused[i])) != NULL &&
		    !(x->type == YAML_SCALAR_NODE &&
		    (*scalar(x) == '\0' || strcmp(scalar(x), "null") == 0))) {
			snprintf(err, errlen, "kubeconfig %s:%lu: user '%s': "
			    "%s: give it a token, tokenFile or client "
			    "certificate", d->path, line_of(x), name,
			    refused[i + 1]);
			return -1;
		}
	if ((v = str_at(&d->doc, u, "tokenFile", &bad)) != NULL)
		kc->token_file = resolve(d, v);
	else if ((v = str_at(&d->doc, u, "token", &bad)) != NULL)
		kc->token = conf_xstrdup(v);
	if (bad) {
		snprintf(err, errlen, "kubeconfig %s:%lu: user '%s': token, "
		    "tokenFile: expected a string", d->path, line_of(u), name);
		return -1;
	}
	if (material(d, u, "user", name, "client-certificate",
	    CONF_CM_MAX_PEM_BYTES, &kc->cert, err, errlen) == -1 ||
	    material(d, u, "user", name, "client-key", CONF_CM_MAX_PEM_BYTES,
	    &kc->key, err, errlen) == -1)
		return -1;
	if ((kc->cert.len == 0) != (kc->key.len == 0)) {
		snprintf(err, errlen, "kubeconfig %s:%lu: user '%s': "
		    "client-certificate and client-key go together", d->path,
		    line_of(u), name);
		return -1;
	}
	return 0;
}

static int
gather(struct kset *s, const char *path, char *err, size_t errlen)
{
	const char *env, *home;
	char *list, *p, *tok, *def;
	struct passwd *pw;
	int rc;

	if (path != NULL) {
		if ((rc = kset_add(s, path, err, errlen)) == 1)
			snprintf(err, errlen, "kubeconfig %s: no such file",
			    path);
		return rc == 0 ? 0 : -1;
	}
	if ((env = getenv("KUBECONFIG")) != NULL && *env != '\0') {
		list = conf_xstrdup(env);
		for (p = list; (tok = strsep(&p, ":")) != NULL;) {
			if (*tok == '\0')
				continue;
			if (kset_add(s, tok, err, errlen) == -1) {
				free(list);
				return -1;
			}
		}
		free(list);
		if (s->n == 0) {
			snprintf(err, errlen, "kubeconfig: none of the files "
			    "in KUBECONFIG exists");
			return -1;
		}
		return 0;
	}
	if ((home = getenv("HOME")) == NULL || *home == '\0')
		home = (pw = getpwuid(getuid())) != NULL ? pw->pw_dir : "/";
	if (asprintf(&def, "%s/.kube/config", home) == -1)
		fatal("asprintf");
	if ((rc = kset_add(s, def, err, errlen)) == 1)
		snprintf(err, errlen, "no api_server and no kubeconfig (no "
		    "kubeconfig key, KUBECONFIG unset, no %s, not in a "
		    "cluster: KUBERNETES_SERVICE_HOST or _PORT unset)", def);
	free(def);
	return rc;	/* 1: none at all (in-cluster may follow) */
}

int
conf_kubeconfig_load(struct kubeconfig *kc, const char *path,
    const char *context, char *err, size_t errlen)
{
	struct kset s;
	struct kdoc *d = NULL;
	yaml_node_t *ctx;
	const char *cur = context, *cl, *us;
	size_t i;
	int bad = 0, rc = -1;

	memset(kc, 0, sizeof(*kc));
	s.n = 0;
	if ((rc = gather(&s, path, err, errlen)) != 0) {
		if (rc != 1)
			rc = -1;
		goto out;
	}
	rc = -1;
	/* the first file to set current-context wins */
	for (i = 0; cur == NULL && i < s.n; i++) {
		cur = str_at(&s.d[i].doc, yaml_document_get_root_node(
		    &s.d[i].doc), "current-context", &bad);
		if (cur != NULL)
			d = &s.d[i];
	}
	if (cur == NULL) {
		snprintf(err, errlen, "kubeconfig %s: no current-context and "
		    "no context key", s.d[0].path);
		goto out;
	}
	if ((rc = find_named(&s, "contexts", "context", cur, &d, &ctx, err,
	    errlen)) != 0) {
		if (rc == 1)
			snprintf(err, errlen, "kubeconfig %s: no context '%s'",
			    d != NULL ? d->path : s.d[0].path, cur);
		rc = -1;
		goto out;
	}
	rc = -1;
	kc->context = conf_xstrdup(cur);
	kc->file = conf_xstrdup(d->path);
	cl = str_at(&d->doc, ctx, "cluster", &bad);
	us = str_at(&d->doc, ctx, "user", &bad);
	if (cl == NULL || bad) {
		snprintf(err, errlen, "kubeconfig %s:%lu: context '%s': no "
		    "cluster", d->path, line_of(ctx), cur);
		goto out;
	}
	if (load_cluster(kc, &s, cl, err, errlen) == -1)
		goto out;
	if (us != NULL && load_user(kc, &s, us, err, errlen) == -1)
		goto out;
	rc = 0;
 out:
	kset_free(&s);
	if (rc == -1)
		conf_kubeconfig_free(kc);
	return rc;
}

int
conf_kubeconfig_incluster(struct kubeconfig *kc, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = K8S_SA_DIR;
	char *ca, why[128];

	memset(kc, 0, sizeof(*kc));
	if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
		return 1;
#ifdef VTW_TEST_HOOKS
	/* test builds: a service-account folder of the test's own */
	if (getenv("VTW_TEST_K8S_SA_DIR") != NULL)
		dir = getenv("VTW_TEST_K8S_SA_DIR");
#endif
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    strcspn(host, "/@?#[] ") != strlen(host)) {
		snprintf(err, errlen, "in-cluster configuration: "
		    "KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not "
		    "a host and a port");
		return -1;
	}
	/* net.JoinHostPort: an IPv6 address in brackets */
	if (asprintf(&kc->server, strchr(host, ':') != NULL ?
	    "https://[%s]:%s" : "https://%s:%s", host, port) == -1 ||
	    asprintf(&kc->token_file, "%s/token", dir) == -1 ||
	    asprintf(&ca, "%s/ca.crt", dir) == -1)
		fatal("asprintf");
	if (read_blob(ca, CONF_CM_MAX_CA_BYTES, &kc->ca.data, &kc->ca.len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "in-cluster configuration: cannot read "
		    "'%s': %s", ca, why);
		free(ca);
		conf_kubeconfig_free(kc);
		return -1;
	}
	free(ca);
	kc->context = conf_xstrdup("in-cluster");
	kc->file = conf_xstrdup("(in-cluster)");
	return 0;
}

void
conf_kubeconfig_free(struct kubeconfig *kc)
{
	free(kc->server);
	conf_cm_blob_free(&kc->ca);
	conf_cm_blob_free(&kc->cert);
	conf_cm_blob_free(&kc->key);
	if (kc->token != NULL) {
		explicit_bzero(kc->token, strlen(kc->token));
		free(kc->token);
	}
	free(kc->token_file);
	free(kc->context);
	free(kc->file);
	memset(kc, 0, sizeof(*kc));
}
