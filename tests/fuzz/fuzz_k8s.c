/*
 * The Kubernetes API client's response parsers (workers/k8s/k8s_client.c),
 * shared by the configmap worker (and Helm's release storage): a watch
 * stream fed in pieces as curl hands them over, each event read as the
 * worker reads it; a response body read as a metav1.Status; a Retry-After
 * header.
 *
 * Input: byte 0 picks the parser (% 3); for the watch stream byte 1 the
 * HTTP status (even: 200, odd: 410) and byte 2 the piece size (1..64).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "k8s_client.h"
#include "log.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

/* as the configmap worker's watch_event: an ERROR ends the watch */
static int
on_event(json_t *ev, void *arg)
{
	struct k8s_event e;
	size_t *n = arg;

	FZ_ASSERT(ev != NULL);
	(*n)++;
	if (k8s_event_parse(&e, ev) == -1)
		return 0;
	FZ_ASSERT(e.type <= K8S_EV_ERROR);
	FZ_ASSERT(strlen(e.rv) < sizeof(e.rv) &&
	    strspn(e.rv, "0123456789") == strlen(e.rv));
	FZ_ASSERT(memchr(e.st.message, '\0', sizeof(e.st.message)) != NULL);
	return e.type == K8S_EV_ERROR ? -1 : 0;
}

static void
stream(const char *p, size_t n, long status, size_t piece)
{
	struct k8s_wstream w;
	struct k8s_status st;
	json_error_t je;
	json_t *j;
	size_t i, take, events = 0, rc = 0;

	memset(&w, 0, sizeof(w));
	w.on_event = on_event;
	w.arg = &events;
	for (i = 0; i < n; i += take) {
		take = n - i < piece ? n - i : piece;
		rc = k8s_wstream_feed(&w, status, p + i, take);
		if (rc != take)
			break;
	}
	FZ_ASSERT(rc != 0 || w.too_long || w.stopped || n == 0);
	FZ_ASSERT(w.len <= K8S_WATCH_LINE_MAX);
	FZ_ASSERT(status == 200 || events == 0);
	/* what k8s_watch does with a body that was no stream */
	if (status != 200 && w.len > 0 &&
	    (j = json_loadb(w.buf, w.len, 0, &je)) != NULL) {
		(void)k8s_status_parse(&st, j);
		json_decref(j);
	}
	k8s_wstream_fini(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct k8s_status st;
	json_error_t je;
	json_t *j;
	long status, v;
	size_t piece;
	char *s;

	switch (fz_byte(&f) % 3) {
	case 0:
		status = fz_byte(&f) & 1 ? 410 : 200;
		piece = fz_byte(&f) % 64 + 1;
		stream((const char *)f.p, f.n, status, piece);
		break;
	case 1:
		if ((j = json_loadb((const char *)f.p, f.n, 0, &je)) == NULL)
			break;
		if (k8s_status_parse(&st, j) == 0) {
			FZ_ASSERT(memchr(st.reason, '\0', sizeof(st.reason)));
			FZ_ASSERT(st.retry_after >= 0 &&
			    st.retry_after <= K8S_RETRY_AFTER_MAX_SEC);
		}
		json_decref(j);
		break;
	case 2:
		if ((s = malloc(f.n + 1)) == NULL)
			abort();
		memcpy(s, f.p, f.n);
		s[f.n] = '\0';
		v = k8s_retry_after_parse(s);
		FZ_ASSERT(v == -1 || (v >= 0 && v <= 1000000));
		free(s);
		break;
	}
	return 0;
}
