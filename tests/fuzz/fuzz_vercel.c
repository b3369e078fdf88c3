/*
 * The vercel worker's response parsers (workers/vercel/vercel_parse.c): a
 * list page (and what the worker does with it: sorted, each variable found
 * again by key and target), a decrypted value, the reset of a 429 from its
 * headers and body, an error body made into the failure reason.
 *
 * Input: byte 0 picks the parser (% 4), byte 1 the wanted targets (& 7);
 * for the 429, the body is "X-RateLimit-Reset\nRetry-After\nbody".
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "vercel_parse.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

static void
page(const char *p, size_t n, unsigned int want)
{
	json_t *docs;
	struct vc_env *envs = NULL, *e;
	size_t nenvs = 0, cap = 0, i;
	long long next;
	char err[256], tg[64];

	if ((docs = json_array()) == NULL)
		abort();
	err[0] = '\0';
	if (vc_page_parse(p, n, docs, &envs, &nenvs, &cap, &next, err,
	    sizeof(err)) == 0) {
		FZ_ASSERT(next >= -1);
		vc_envs_sort(envs, nenvs);
		for (i = 0; i < nenvs; i++) {
			FZ_ASSERT(envs[i].key != NULL && envs[i].type != NULL);
			e = vc_find_env(envs, nenvs, envs[i].key,
			    envs[i].keylen, want ? want : VC_T_PROD);
			FZ_ASSERT(e != NULL && e->keylen == envs[i].keylen &&
			    memcmp(e->key, envs[i].key, e->keylen) == 0);
			vc_targets_str(e->targets, tg, sizeof(tg));
			(void)vc_id_ok(e->id ? e->id : "");
		}
	} else
		FZ_ASSERT(err[0] != '\0');
	free(envs);
	json_decref(docs);
}

static void
reset(const char *p, size_t n)
{
	const char *nl1, *nl2, *src;
	char xr[64] = "", ra[64] = "";
	time_t now = 1800000000, t;

	if ((nl1 = memchr(p, '\n', n)) != NULL &&
	    (nl2 = memchr(nl1 + 1, '\n', n - (size_t)(nl1 + 1 - p))) != NULL) {
		memcpy(xr, p, (size_t)(nl1 - p) < sizeof(xr) - 1 ?
		    (size_t)(nl1 - p) : sizeof(xr) - 1);
		memcpy(ra, nl1 + 1, (size_t)(nl2 - nl1 - 1) < sizeof(ra) - 1 ?
		    (size_t)(nl2 - nl1 - 1) : sizeof(ra) - 1);
		n -= (size_t)(nl2 + 1 - p);
		p = nl2 + 1;
	}
	t = vc_reset_at(xr[0] ? xr : NULL, ra[0] ? ra : NULL, p, n, now, &src);
	FZ_ASSERT(t > now && t <= now + VC_RL_MAX_S && src != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	unsigned int which, want;
	const char *p;
	char err[512], *v;
	size_t n, vl;

	which = fz_byte(&f) % 4;
	want = fz_byte(&f) & 7;
	p = (const char *)f.p;
	n = f.n;
	switch (which) {
	case 0:
		page(p, n, want);
		break;
	case 1:
		if (vc_decrypted_value(p, n, &v, &vl) == 0) {
			FZ_ASSERT(v != NULL && v[vl] == '\0');
			free(v);
		} else
			FZ_ASSERT(v == NULL);
		break;
	case 2:
		reset(p, n);
		break;
	case 3:
		vc_api_error(403, p, n, "GET /v10/projects/p/env", err,
		    sizeof(err));
		FZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL &&
		    strncmp(err, "GET /v10/projects/p/env: HTTP 403 ", 34) == 0);
		break;
	}
	return 0;
}
