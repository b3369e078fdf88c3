/*
 * The Kubernetes API client's pure parts (workers/k8s/k8s_client.c): the
 * watch stream's line splitter over pieces of any size, watch events as
 * the workers read them, metav1.Status objects, Retry-After.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "k8s_client.h"

#define EV_MAX	8

struct seen {
	struct k8s_event	ev[EV_MAX];
	size_t			n;
	int			stop_on_error;
};

static int
collect(json_t *j, void *arg)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, EV_MAX);
	if (k8s_event_parse(&s->ev[s->n], j) == -1)
		return 0;
	s->n++;
	return s->stop_on_error && s->ev[s->n - 1].type == K8S_EV_ERROR ?
	    -1 : 0;
}

/* a stream as the API server sends it: one JSON object per line */
static const char STREAM[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":"
    "{\"name\":\"app\",\"resourceVersion\":\"101\"}}}\n"
    "\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":"
    "{\"resourceVersion\":\"12345\"}}}\n"
    "{not json}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"resourceVersion\":"
    "\"1x2\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"resourceVersion\":"
    "\"130\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
    "\"v1\",\"status\":\"Failure\",\"message\":\"too old resource version: "
    "101 (130)\",\"reason\":\"Expired\",\"code\":410}}\n"
    "{\"type\":\"ADDED\",\"object\":{}}\n";

static void
check_stream(const struct seen *s)
{
	cr_assert_eq(s->n, 5);
	cr_assert_eq(s->ev[0].type, K8S_EV_ADDED);
	cr_assert_str_eq(s->ev[0].rv, "101");
	cr_assert_eq(s->ev[1].type, K8S_EV_BOOKMARK);
	cr_assert_str_eq(s->ev[1].rv, "12345");
	cr_assert_eq(s->ev[2].type, K8S_EV_MODIFIED);
	cr_assert_str_eq(s->ev[2].rv, "", "not digits: not resumable");
	cr_assert_eq(s->ev[3].type, K8S_EV_DELETED);
	cr_assert_eq(s->ev[4].type, K8S_EV_ERROR);
	cr_assert_eq(s->ev[4].st.code, 410);
	cr_assert_str_eq(s->ev[4].st.reason, "Expired");
}

Test(k8s, watch_stream_in_pieces_of_every_size)
{
	struct k8s_wstream w;
	struct seen s;
	size_t piece, i, take, n = strlen(STREAM), rc = 1;

	for (piece = 1; piece <= n; piece += piece < 16 ? 1 : 37) {
		memset(&w, 0, sizeof(w));
		memset(&s, 0, sizeof(s));
		s.stop_on_error = 1;
		w.on_event = collect;
		w.arg = &s;
		for (i = 0; i < n; i += take) {
			take = n - i < piece ? n - i : piece;
			if ((rc = k8s_wstream_feed(&w, 200, STREAM + i,
			    take)) != take)
				break;
		}
		/* the ERROR ended it: curl is told to stop, the last ADDED
		 * never read */
		cr_assert_eq(rc, 0, "piece %zu", piece);
		cr_assert(w.stopped);
		check_stream(&s);
		k8s_wstream_fini(&w);
	}
}

Test(k8s, a_status_body_is_gathered_not_split)
{
	static const char body[] = "{\"kind\":\"Status\",\"code\":410,\n"
	    "\"reason\":\"Expired\"}\n";
	struct k8s_wstream w;
	struct seen s;

	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	w.on_event = collect;
	w.arg = &s;
	cr_assert_eq(k8s_wstream_feed(&w, 410, body, 10), 10);
	cr_assert_eq(k8s_wstream_feed(&w, 410, body + 10, sizeof(body) - 11),
	    sizeof(body) - 11);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(w.len, sizeof(body) - 1);
	cr_assert_eq(memcmp(w.buf, body, w.len), 0);
	k8s_wstream_fini(&w);
}

Test(k8s, a_line_over_the_limit_ends_the_stream)
{
	struct k8s_wstream w;
	struct seen s;
	char *big;
	size_t n = 64 * 1024, i, fed = 0;

	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	w.on_event = collect;
	w.arg = &s;
	big = malloc(n);
	cr_assert_not_null(big);
	memset(big, 'x', n);
	for (i = 0; i < K8S_WATCH_LINE_MAX / n + 1; i++) {
		if (k8s_wstream_feed(&w, 200, big, n) != n)
			break;
		fed += n;
	}
	cr_assert(w.too_long);
	cr_assert_leq(fed, K8S_WATCH_LINE_MAX);
	cr_assert_leq(w.len, K8S_WATCH_LINE_MAX);
	free(big);
	k8s_wstream_fini(&w);
}

Test(k8s, events_that_are_not_events)
{
	static const char *const bad[] = { "{}", "{\"type\":3}", "[]",
	    "\"ADDED\"", "{\"object\":{}}" };
	struct k8s_event e;
	json_error_t je;
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], JSON_DECODE_ANY, &je);
		cr_assert_not_null(j, "%s", bad[i]);
		cr_assert_eq(k8s_event_parse(&e, j), -1, "%s", bad[i]);
		json_decref(j);
	}
	j = json_loads("{\"type\":\"SOMETHING\",\"object\":{\"metadata\":"
	    "{\"resourceVersion\":\"7\"}}}", 0, &je);
	cr_assert_eq(k8s_event_parse(&e, j), 0);
	cr_assert_eq(e.type, K8S_EV_OTHER);
	json_decref(j);
	/* an ERROR whose object is no Status still has its code */
	j = json_loads("{\"type\":\"ERROR\",\"object\":{\"code\":500}}", 0,
	    &je);
	cr_assert_eq(k8s_event_parse(&e, j), 0);
	cr_assert_eq(e.type, K8S_EV_ERROR);
	cr_assert_eq(e.st.code, 500);
	json_decref(j);
	/* a resourceVersion too long to resume from */
	j = json_loads("{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"resourceVersion\":\"1234567890123456789012345678901234567890"
	    "123456789012345678901234567890\"}}}", 0, &je);
	cr_assert_eq(k8s_event_parse(&e, j), 0);
	cr_assert_str_eq(e.rv, "");
	json_decref(j);
}

Test(k8s, status_objects)
{
	struct k8s_status st;
	json_error_t je;
	json_t *j;

	j = json_loads("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
	    "\"Failure\",\"message\":\"configmaps \\\"app\\\" is forbidden\","
	    "\"reason\":\"Forbidden\",\"details\":{\"name\":\"app\",\"kind\":"
	    "\"configmaps\",\"retryAfterSeconds\":9999},\"code\":403}", 0, &je);
	cr_assert_eq(k8s_status_parse(&st, j), 0);
	cr_assert_eq(st.code, 403);
	cr_assert_str_eq(st.reason, "Forbidden");
	cr_assert_str_eq(st.message, "configmaps \"app\" is forbidden");
	cr_assert_str_eq(st.details_kind, "configmaps");
	cr_assert_eq(st.retry_after, K8S_RETRY_AFTER_MAX_SEC, "capped");
	json_decref(j);
	j = json_loads("{\"kind\":\"ConfigMap\",\"code\":403}", 0, &je);
	cr_assert_eq(k8s_status_parse(&st, j), -1);
	json_decref(j);
}

Test(k8s, retry_after)
{
	cr_assert_eq(k8s_retry_after_parse("5"), 5);
	cr_assert_eq(k8s_retry_after_parse(" 12 "), 12);
	cr_assert_eq(k8s_retry_after_parse("99999999999999"), 1000000);
	cr_assert_eq(k8s_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT"),
	    -1);
	cr_assert_eq(k8s_retry_after_parse("-1"), -1);
	cr_assert_eq(k8s_retry_after_parse("3s"), -1);
	cr_assert_eq(k8s_retry_after_parse(""), -1);
	cr_assert_eq(k8s_retry_after_parse(NULL), -1);
}
