/*
 * The s3 worker's response parsers (workers/s3/s3_util.c): a
 * ListObjectsV2 page (and what the worker builds from it: each listed
 * key's URL, the next page's query), an <Error> and the failure reason
 * made of it, a <Tagging> document, the container / IMDS credentials
 * JSON (with its Expiration) and the orchestrator's config.json.
 *
 * Input: byte 0 picks the parser (% 6), byte 1 options (bit 0 path style;
 * bits 1-3 the HTTP status of an error); the rest is the body.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kvmap.h"
#include "log.h"
#include "s3_util.h"

static const long statuses[] = { 400, 403, 404, 301, 307, 409, 500, 503 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

static void
list(const char *p, size_t n, unsigned int o)
{
	struct s3_list_page pg;
	char err[256], *url, *q;
	size_t i;

	memset(&pg, 0, sizeof(pg));
	if (s3_list_parse(&pg, p, n, err, sizeof(err)) == 0) {
		FZ_ASSERT(!pg.truncated || pg.next_token != NULL);
		for (i = 0; i < pg.nobjs; i++) {
			FZ_ASSERT(pg.objs[i].key != NULL);
			url = s3_object_url("https://s3.eu-west-1.amazonaws.com",
			    o & 1, "bucket", pg.objs[i].key, pg.objs[i].keylen,
			    NULL);
			FZ_ASSERT(url != NULL);
			free(url);
		}
		if (pg.truncated) {
			q = s3_list_query("app/prod/", pg.next_token);
			FZ_ASSERT(q != NULL);
			free(q);
		}
	} else
		FZ_ASSERT(err[0] != '\0');
	s3_list_page_free(&pg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct s3_error e;
	struct s3_creds c;
	struct kvmap *m;
	const char *p;
	unsigned int which, o;
	char err[512], iso[64];
	size_t n;

	which = fz_byte(&f) % 6;
	o = fz_byte(&f);
	p = (const char *)f.p;
	n = f.n;
	err[0] = '\0';
	switch (which) {
	case 0:
		list(p, n, o);
		break;
	case 1:
		if (s3_error_parse(&e, p, n) == 0)
			FZ_ASSERT(memchr(e.code, '\0', sizeof(e.code)) &&
			    memchr(e.message, '\0', sizeof(e.message)) &&
			    memchr(e.region, '\0', sizeof(e.region)));
		s3_error_reason(err, sizeof(err), "list s3://bucket/app",
		    statuses[(o >> 1) & 7], p, n, (o & 1) ? "eu-west-1" : NULL);
		FZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
		break;
	case 2:
		FZ_ASSERT(s3_tagging_has(p, n, "vartrack", "managed") >= -1);
		break;
	case 3:
		memset(&c, 0, sizeof(c));
		if (s3_creds_json(&c, p, n, err, sizeof(err)) == 0) {
			FZ_ASSERT(c.key != NULL && c.secret != NULL);
			(void)s3_creds_refresh_at(1700000000, c.expiration);
		} else
			FZ_ASSERT(err[0] != '\0');
		s3_creds_free(&c);
		break;
	case 4:
		if ((m = kvmap_new()) == NULL)
			abort();
		if (s3_json_flat(m, p, n, err, sizeof(err)) == -1)
			FZ_ASSERT(err[0] != '\0');
		kvmap_free(m);
		break;
	case 5:
		/* an Expiration as it is */
		if (n >= sizeof(iso))
			n = sizeof(iso) - 1;
		memcpy(iso, p, n);
		iso[n] = '\0';
		(void)s3_iso8601(iso);
		break;
	}
	return 0;
}
