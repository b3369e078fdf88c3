/*
 * A push webhook as the admin server receives it (supervisor/webhook.c,
 * repourl.c): the signature or token header checked against the body, the
 * body parsed (ref, repository URLs made canonical), and any URL alone.
 *
 * Input: byte 0 the provider (% 3), byte 1 what (% 3: 0 verify, 1 parse,
 * 2 canonical URL); for verify, the header is the rest up to the first
 * '\n', the body after it.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "repourl.h"
#include "webhook.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct webhook_push push;
	enum webhook_provider pv;
	const char *p, *nl;
	char hdr[512], why[128], *url, canon[REPO_URL_CANON_MAX];
	size_t n, i, hl;
	int v;

	pv = (enum webhook_provider)(fz_byte(&f) % WH__COUNT);
	v = (int)(fz_byte(&f) % 3);
	p = (const char *)f.p;
	n = f.n;
	switch (v) {
	case 0:
		nl = memchr(p, '\n', n);
		hl = nl ? (size_t)(nl - p) : n;
		if (hl >= sizeof(hdr))
			hl = sizeof(hdr) - 1;
		memcpy(hdr, p, hl);
		hdr[hl] = '\0';
		if (nl != NULL) {
			n -= (size_t)(nl + 1 - p);
			p = nl + 1;
		} else
			n = 0;
		i = (size_t)webhook_verify(pv, "s3cret-hook", hdr, p, n);
		FZ_ASSERT(i == 0 || i == 1);
		FZ_ASSERT(webhook_verify(pv, "s3cret-hook", NULL, p, n) == 0);
		break;
	case 1:
		why[0] = '\0';
		if (webhook_parse(&push, pv, p, n, why, sizeof(why)) == 0) {
			FZ_ASSERT(push.nrepos > 0 &&
			    push.nrepos <= WEBHOOK_MAX_URLS);
			FZ_ASSERT(memchr(push.branch, '\0',
			    sizeof(push.branch)) != NULL);
			for (i = 0; i < push.nrepos; i++)
				FZ_ASSERT(memchr(push.repos[i], '\0',
				    REPO_URL_CANON_MAX) != NULL);
		} else
			FZ_ASSERT(why[0] != '\0');
		break;
	case 2:
		if ((url = malloc(n + 1)) == NULL)
			abort();
		memcpy(url, p, n);
		url[n] = '\0';
		if (repo_url_canon(canon, sizeof(canon), url) == 0) {
			char again[REPO_URL_CANON_MAX];

			FZ_ASSERT(memchr(canon, '\0', sizeof(canon)) != NULL);
			/* a canonical name is its own canonical name, or none */
			if (repo_url_canon(again, sizeof(again), canon) == 0)
				FZ_ASSERT(strlen(again) < sizeof(again));
		}
		free(url);
		break;
	}
	return 0;
}
