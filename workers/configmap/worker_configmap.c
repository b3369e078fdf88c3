/*
 * vartrack-worker-configmap: reads what the orchestrator's ConfigMap sink
 * writes (interop §3.5): one GET /api/v1/namespaces/{ns}/configmaps/{name}
 * per poll (workers/k8s/k8s_client.c; spec/backends-http-ha.md §2.1).
 *
 * Its data keys are compared with Git's keys (already in the rule's key
 * format, flat or dot); data and binaryData keys Git does not have are
 * extras (binaryData values as the API shows them, base64). The label
 * app.kubernetes.io/managed-by=vartrack is the marker. A 404 NotFound for
 * the ConfigMap is drift (every key missing); 401, 403, 429 (Retry-After
 * honoured by the client), 5xx and anything else are unknown, with the
 * Status reason and message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "curl_common.h"
#include "dsworker.h"
#include "k8s_client.h"
#include "kinds/configmap.h"
#include "kvmap.h"
#include "log.h"

#define CM_MARKER_KEY		"app.kubernetes.io/managed-by"
#define CM_MARKER_VALUE		"vartrack"

struct cm_ds {
	struct k8s_client	*k8s;
};

static int
cm_init(void)
{
	char err[256];

	/* libcurl and OpenSSL's configuration before the sandbox */
	if (curlc_global_init(err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void
cm_fini(void)
{
	curlc_global_cleanup();
}

static void
cm_close(void *priv)
{
	struct cm_ds *d = priv;

	k8s_client_free(d->k8s);
	free(d);
}

/* PEM bytes as a NUL-terminated string (NULL when empty); free with
 * pem_free. */
static char *
pem_str(struct ipc_bytes b)
{
	char *s;

	if (b.len == 0)
		return NULL;
	if ((s = malloc(b.len + 1)) == NULL)
		fatal("malloc");
	memcpy(s, b.p, b.len);
	s[b.len] = '\0';
	return s;
}

static void
pem_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static int
cm_open(const struct ipc_conf_datasource *c, void **priv, char *err,
    size_t errlen)
{
	struct ipc_cm_settings st;
	struct k8s_opts o;
	struct cm_ds *d;
	char *ca, *cert, *key;
	int rc = -1;

	if (ipc_cm_settings_unpack(&st, &c->settings, err, errlen) == -1) {
		ipc_cm_settings_release(&st);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	ca = pem_str(st.ca_pem);
	cert = pem_str(st.cert_pem);
	key = pem_str(st.key_pem);
	memset(&o, 0, sizeof(o));
	o.api_server = st.api_server;
	o.token = st.token;
	o.token_file = st.token_file;
	o.ca_pem = ca;
	o.cert_pem = cert;
	o.key_pem = key;
	o.insecure_skip_tls_verify = st.insecure_skip_tls_verify;
	o.connect_timeout_ms = c->connect_timeout_ms;
	o.timeout_ms = c->command_timeout_ms;
	o.max_body = (size_t)st.max_response_bytes;
	o.what = c->name;
	if (k8s_client_new(&d->k8s, &o, err, errlen) == -1)
		goto cleanup;
	log_info("datasource %s: %s, %s%s%s", c->name, st.api_server,
	    *st.token_file != '\0' ? "token file" : *st.token != '\0' ?
	    "bearer token" : "no token", cert != NULL ?
	    ", client certificate" : "", st.insecure_skip_tls_verify ?
	    ", server certificate NOT verified" : "");
	*priv = d;
	d = NULL;
	rc = 0;
 cleanup:
	if (d != NULL)
		cm_close(d);
	pem_free(ca);
	pem_free(cert);
	pem_free(key);
	ipc_cm_settings_release(&st);
	return rc;
}

/* A data value: a string as it is, anything else (never from a real API
 * server) in its JSON form, kept in p until the poll ends. */
static const char *
value_of(struct ds_poll *p, json_t *v, size_t *len)
{
	char *s;
	const char *r;

	if (json_is_string(v)) {
		*len = json_string_length(v);
		return json_string_value(v);
	}
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		fatal("json_dumps");
	*len = strlen(s);
	r = ds_poll_store(p, s, *len);
	free(s);
	return r;
}

static int
reply_configmap(struct ds_poll *p, struct ds_reply *rb, json_t *cm,
    char *err, size_t errlen)
{
	json_t *data, *bin, *labels, *v;
	struct kvmap *want = NULL;
	const char *key, *val, *mk;
	size_t i, len;

	data = json_object_get(cm, "data");
	bin = json_object_get(cm, "binaryData");
	if ((data != NULL && !json_is_object(data) && !json_is_null(data)) ||
	    (bin != NULL && !json_is_object(bin) && !json_is_null(bin))) {
		snprintf(err, errlen, "ConfigMap %s: data or binaryData is not "
		    "an object", p->target);
		return DS_POLL_DATA_ERROR;
	}
	for (i = 0; i < p->nkeys; i++) {
		v = json_is_object(data) && strlen(p->keys[i]) ==
		    p->keylens[i] ? json_object_get(data, p->keys[i]) : NULL;
		val = v != NULL ? value_of(p, v, &len) : NULL;
		ds_reply_add(rb, p->keys[i], p->keylens[i], v != NULL, val,
		    v != NULL ? len : 0);
	}
	if (ds_reply_extras(rb) == -1) {
		snprintf(err, errlen, "cannot send the reply");
		return -1;
	}
	if (p->detect_extra) {
		want = ds_poll_keyset(p);
		json_object_foreach(data, key, v)
			if (kvmap_get(want, key, strlen(key)) == NULL) {
				val = value_of(p, v, &len);
				ds_reply_add(rb, key, strlen(key), 1, val, len);
			}
		json_object_foreach(bin, key, v)
			if (kvmap_get(want, key, strlen(key)) == NULL) {
				val = value_of(p, v, &len);
				ds_reply_add(rb, key, strlen(key), 1, val, len);
			}
		kvmap_free(want);
	}
	labels = json_object_get(json_object_get(cm, "metadata"), "labels");
	mk = json_string_value(json_object_get(labels, CM_MARKER_KEY));
	rb->marker_present = mk != NULL && strcmp(mk, CM_MARKER_VALUE) == 0;
	return 0;
}

static int
cm_poll(void *priv, struct ds_poll *p, struct ds_reply *rb, char *err,
    size_t errlen)
{
	struct cm_ds *d = priv;
	struct ipc_cm_scope sc;
	struct k8s_resp r;
	const char *kind;
	char *path = NULL;
	size_t i;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (ipc_cm_scope_unpack(&sc, &p->scope, err, errlen) == -1)
		goto cleanup;
	if (*sc.namespace_ == '\0' || *sc.name == '\0' ||
	    strpbrk(sc.namespace_, "/?#%") != NULL ||
	    strpbrk(sc.name, "/?#%") != NULL) {
		snprintf(err, errlen, "bad namespace or name");
		goto cleanup;
	}
	if (asprintf(&path, "/api/v1/namespaces/%s/configmaps/%s",
	    sc.namespace_, sc.name) == -1)
		fatal("asprintf");
	if (k8s_get(d->k8s, path, &r, err, errlen) == -1)
		goto cleanup;
	if (r.status == 200) {
		kind = json_string_value(json_object_get(r.json, "kind"));
		if (!json_is_object(r.json) || kind == NULL ||
		    strcmp(kind, "ConfigMap") != 0) {
			snprintf(err, errlen, "GET %s: 200 but not a ConfigMap",
			    path);
			goto cleanup;
		}
		rc = reply_configmap(p, rb, r.json, err, errlen);
	} else if (r.status == 404 && r.is_status &&
	    strcmp(r.st.reason, "NotFound") == 0 &&
	    strcmp(r.st.details_kind, "configmaps") == 0) {
		/* no such ConfigMap: every key missing */
		for (i = 0; i < p->nkeys; i++)
			ds_reply_add(rb, p->keys[i], p->keylens[i], 0, NULL, 0);
		rb->marker_present = 0;
		rc = 0;
	} else
		k8s_resp_error(d->k8s, path, &r, err, errlen);
	log_debug("rule %u: GET %s: %ld in %ld ms", p->rule_id, path,
	    r.status, r.elapsed_ms);
 cleanup:
	/* the buffered values point into r.json */
	ds_reply_end(rb, rc, err);
	k8s_resp_fini(&r);
	free(path);
	ipc_cm_scope_release(&sc);
	return rc;
}

static const struct dsw_kind cm_kind = {
	.name = "configmap",
	.type = "configmap",
	.init = cm_init,
	.fini = cm_fini,
	.open = cm_open,
	.close = cm_close,
	.poll = cm_poll,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&cm_kind, argc, argv);
}
