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
 *
 * Watches (rule key watch, default on; spec/backends-http-ha.md §2.2):
 * after a poll that read the ConfigMap, one thread per rule watches the
 * collection with fieldSelector=metadata.name=..., resourceVersion from
 * that GET, allowWatchBookmarks=true and timeoutSeconds 5-10 min
 * (jittered), on its own client. ADDED, MODIFIED and DELETED make the
 * worker notify the supervisor (IPC_NOTIFY, through a pipe to the main
 * loop, as the ZooKeeper worker does), which polls the rule at once; a
 * BOOKMARK moves the resourceVersion on; 410 Expired (an ERROR event or
 * the response) notifies too and watches again from "now"; a stream that
 * ends is re-opened, after a failure with a backoff of 1 s doubling to
 * 30 s. The poll timer stays the safety net.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "curl_common.h"
#include "dsworker.h"
#include "k8s_client.h"
#include "kinds/configmap.h"
#include "kvmap.h"
#include "log.h"

#define CM_MARKER_KEY		"app.kubernetes.io/managed-by"
#define CM_MARKER_VALUE		"vartrack"

#define CM_WATCH_MAX		256	/* watched rules per datasource */
#define CM_WATCH_BACKOFF_MAX_S	30

struct cm_ds;

struct cm_watch {
	struct cm_ds		*ds;
	uint32_t		 rule_id;
	char			*ns, *name;
	char			 rv[64];
	atomic_int		 stop;
	int			 failed;	/* an ERROR event (not 410) */
	int			 expired;	/* a 410 ERROR event */
	pthread_t		 th;
	struct k8s_client	*k8s;	/* the thread's own */
};

struct cm_ds {
	struct k8s_client	*k8s;
	/* what a watch thread's client is made from (wiped at close) */
	struct k8s_opts		 o;
	char			*api_server, *token, *token_file, *what;
	char			*ca, *cert, *key;
	struct cm_watch		*w[CM_WATCH_MAX];
	size_t			 nw;
};

static void	pem_free(char *);

/* one event of a watch stream (the watch thread) */
static int
watch_event(json_t *ev, void *arg)
{
	static const char *const names[] = { "?", "ADDED", "MODIFIED",
	    "DELETED", "BOOKMARK", "ERROR" };
	struct cm_watch *w = arg;
	struct k8s_event e;

	if (k8s_event_parse(&e, ev) == -1)
		return 0;
	if (e.type == K8S_EV_ERROR) {
		if (e.st.code == 410) {
			log_info("rule %u: watch of %s/%s: 410 Expired, "
			    "watching again from now", w->rule_id, w->ns,
			    w->name);
			w->rv[0] = '\0';
			w->expired = 1;
			ds_notify(w->rule_id);
		} else {
			log_info("rule %u: watch of %s/%s: ERROR event %ld",
			    w->rule_id, w->ns, w->name, e.st.code);
			w->failed = 1;
		}
		return -1;
	}
	if (e.rv[0] != '\0')
		memcpy(w->rv, e.rv, sizeof(w->rv));
	if (e.type == K8S_EV_ADDED || e.type == K8S_EV_MODIFIED ||
	    e.type == K8S_EV_DELETED) {
		log_debug("rule %u: watch of %s/%s: %s", w->rule_id, w->ns,
		    w->name, names[e.type]);
		ds_notify(w->rule_id);
	}
	return 0;
}

/* waits s seconds unless stopped (a backoff, not a synchronisation);
 * 1 when stopped */
static int
watch_wait(struct cm_watch *w, unsigned s)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	unsigned i;

	for (i = 0; i < s * 10; i++) {
		if (atomic_load(&w->stop))
			return 1;
		nanosleep(&ts, NULL);
	}
	return atomic_load(&w->stop);
}

static void *
watch_main(void *arg)
{
	struct cm_watch *w = arg;
	struct k8s_status st;
	unsigned backoff = 1, seed = (unsigned)time(NULL) ^ w->rule_id;
	long status, tmo_s;
	char *path, err[512];
	time_t t0;
	int rc;

	while (!atomic_load(&w->stop)) {
		w->failed = w->expired = 0;
		t0 = time(NULL);
		tmo_s = 300 + rand_r(&seed) % 301;	/* 5-10 min */
		if (asprintf(&path, "/api/v1/namespaces/%s/configmaps?watch=1"
		    "&fieldSelector=metadata.name%%3D%s&allowWatchBookmarks="
		    "true&timeoutSeconds=%ld%s%s", w->ns, w->name, tmo_s,
		    w->rv[0] != '\0' ? "&resourceVersion=" : "", w->rv) == -1)
			fatal("asprintf");
		rc = k8s_watch(w->k8s, path, (tmo_s + 30) * 1000, watch_event,
		    w, &w->stop, &status, &st, err, sizeof(err));
		free(path);
		if (atomic_load(&w->stop))
			break;
		/* ended by the server (timeoutSeconds) or a 410: at once;
		 * an ERROR event or a stream closed at once: backing off */
		if (rc == 0 && status == 200 && !w->failed &&
		    time(NULL) - t0 >= 2) {
			backoff = 1;
			continue;
		}
		if (rc == 0 && status == 200 && w->expired)
			continue;	/* the 410 event: from now */
		if (rc == 0 && status == 410) {
			w->rv[0] = '\0';
			ds_notify(w->rule_id);
			continue;
		}
		if (rc == 0 && status == 200)
			log_info("rule %u: watch of %s/%s: the stream ended "
			    "early; again in %u s", w->rule_id, w->ns, w->name,
			    backoff);
		else if (rc == 0)
			log_info("rule %u: watch of %s/%s: %ld %s: %s; again in "
			    "%u s", w->rule_id, w->ns, w->name, status,
			    st.reason, st.message, backoff);
		else
			log_info("rule %u: watch of %s/%s: %s; again in %u s",
			    w->rule_id, w->ns, w->name, err, backoff);
		if (watch_wait(w, backoff))
			break;
		backoff = backoff * 2 > CM_WATCH_BACKOFF_MAX_S ?
		    CM_WATCH_BACKOFF_MAX_S : backoff * 2;
	}
	return NULL;
}

static void
watch_free(struct cm_watch *w)
{
	atomic_store(&w->stop, 1);
	pthread_join(w->th, NULL);
	k8s_client_free(w->k8s);
	free(w->ns);
	free(w->name);
	free(w);
}

/* After a GET that read the ConfigMap: a watch of it, once per rule (a
 * rule whose target changed gets a new one). */
static void
watch_ensure(struct cm_ds *d, uint32_t rule, const char *ns,
    const char *name, const char *rv)
{
	struct cm_watch *w;
	char err[256];
	size_t i;

	for (i = 0; i < d->nw; i++)
		if (d->w[i]->rule_id == rule) {
			if (strcmp(d->w[i]->ns, ns) == 0 &&
			    strcmp(d->w[i]->name, name) == 0)
				return;
			watch_free(d->w[i]);
			d->w[i] = d->w[--d->nw];
			break;
		}
	if (d->nw == CM_WATCH_MAX || !ds_notify_ready())
		return;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("calloc");
	w->ds = d;
	w->rule_id = rule;
	if ((w->ns = strdup(ns)) == NULL || (w->name = strdup(name)) == NULL)
		fatal("strdup");
	if (rv != NULL && strlen(rv) < sizeof(w->rv))
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
	atomic_init(&w->stop, 0);
	if (k8s_client_new(&w->k8s, &d->o, err, sizeof(err)) == -1) {
		log_warnx("rule %u: no watch: %s", rule, err);
		free(w->ns);
		free(w->name);
		free(w);
		return;
	}
	if (pthread_create(&w->th, NULL, watch_main, w) != 0) {
		log_warnx("rule %u: no watch: pthread_create", rule);
		k8s_client_free(w->k8s);
		free(w->ns);
		free(w->name);
		free(w);
		return;
	}
	d->w[d->nw++] = w;
}

static int
cm_init(void)
{
	char err[256];

	/* libcurl and OpenSSL's configuration before the sandbox */
	if (curlc_global_init(err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	if (ds_notify_init() == -1)
		log_warnx("no watches");
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
	size_t i;

	for (i = 0; i < d->nw; i++)
		watch_free(d->w[i]);
	k8s_client_free(d->k8s);
	free(d->api_server);
	pem_free(d->token);
	free(d->token_file);
	free(d->what);
	pem_free(d->ca);
	pem_free(d->cert);
	pem_free(d->key);
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
	int rc = -1;

	if (ipc_cm_settings_unpack(&st, &c->settings, err, errlen) == -1) {
		ipc_cm_settings_release(&st);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	/* kept: each watch thread makes its own client from them */
	d->ca = pem_str(st.ca_pem);
	d->cert = pem_str(st.cert_pem);
	d->key = pem_str(st.key_pem);
	if ((d->api_server = strdup(st.api_server)) == NULL ||
	    (d->token = strdup(st.token)) == NULL ||
	    (d->token_file = strdup(st.token_file)) == NULL ||
	    (d->what = strdup(c->name)) == NULL)
		fatal("strdup");
	memset(&o, 0, sizeof(o));
	o.api_server = d->api_server;
	o.token = d->token;
	o.token_file = d->token_file;
	o.ca_pem = d->ca;
	o.cert_pem = d->cert;
	o.key_pem = d->key;
	o.insecure_skip_tls_verify = st.insecure_skip_tls_verify;
	o.connect_timeout_ms = c->connect_timeout_ms;
	o.timeout_ms = c->command_timeout_ms;
	o.max_body = (size_t)st.max_response_bytes;
	o.what = d->what;
	d->o = o;
	if (k8s_client_new(&d->k8s, &o, err, errlen) == -1)
		goto cleanup;
	log_info("datasource %s: %s, %s%s%s", c->name, st.api_server,
	    *st.token_file != '\0' ? "token file" : *st.token != '\0' ?
	    "bearer token" : "no token", d->cert != NULL ?
	    ", client certificate" : "", st.insecure_skip_tls_verify ?
	    ", server certificate NOT verified" : "");
	*priv = d;
	d = NULL;
	rc = 0;
 cleanup:
	if (d != NULL)
		cm_close(d);
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
		if (rc == 0 && sc.watch)
			watch_ensure(d, p->rule_id, sc.namespace_, sc.name,
			    json_string_value(json_object_get(json_object_get(
			    r.json, "metadata"), "resourceVersion")));
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
	.event_fd = ds_notify_fd,
	.event = ds_notify_flush,
};

int
main(int argc, char **argv)
{
	return ds_worker_main(&cm_kind, argc, argv);
}
