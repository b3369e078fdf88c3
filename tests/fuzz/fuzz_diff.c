/*
 * The drift line: diff_compute over maps built from the input, then
 * diff_format_log (truncation, escaping, redaction of secret keys and of
 * URL userinfo); the fragment must be valid JSON.
 *
 * Input: byte 0 max_keys (0..63), byte 1 bit 0 sensitive_keys on; then
 * lines ('\n'), each a tag and "key=value" (split at the first '='):
 *   e expected   a actual   x extra   r a per-key read error
 *   t a truncated actual or extra value: "key=FULLLEN:rest" (digest of
 *     rest)   T the same for an expected value
 *   s a sensitive_keys entry (a glob)
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "diff.h"
#include "fuzz.h"
#include "kvmap.h"
#include "log.h"
#include "redact.h"

#define MAX_TRUNC	64
#define MAX_SENS	16

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

static void
trunc_marker(struct diff_trunc *t, const char *k, size_t kl, const char *v,
    size_t vl)
{
	size_t i = 0;

	t->key = k;
	t->keylen = kl;
	t->full_len = 0;
	while (i < vl && i < 12 && v[i] >= '0' && v[i] <= '9')
		t->full_len = t->full_len * 10 + (uint64_t)(v[i++] - '0');
	if (i < vl && v[i] == ':')
		i++;
	vtw_digest(v + i, vl - i, t->digest);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct kvmap *m[4];
	struct diff_trunc tr[MAX_TRUNC], etr[MAX_TRUNC];
	char *sens[MAX_SENS];
	struct diff_input in;
	struct diff_result *res = NULL;
	struct diff_redact rd;
	struct jbuf b;
	json_t *j;
	json_error_t jerr;
	const char *line, *eq, *k, *v, *nl;
	size_t max_keys, n, kl, vl, ntr = 0, netr = 0, nsens = 0, i;
	unsigned int o;
	int tag;

	max_keys = fz_byte(&f) % 64;
	o = fz_byte(&f);
	for (i = 0; i < 4; i++)
		if ((m[i] = kvmap_new()) == NULL)
			abort();
	while (f.n > 0) {
		line = (const char *)f.p;
		nl = memchr(line, '\n', f.n);
		n = nl != NULL ? (size_t)(nl - line) : f.n;
		f.p += nl != NULL ? n + 1 : n;
		f.n -= nl != NULL ? n + 1 : n;
		if (n == 0)
			continue;
		tag = line[0];
		k = line + 1;
		eq = memchr(k, '=', n - 1);
		kl = eq != NULL ? (size_t)(eq - k) : n - 1;
		v = eq != NULL ? eq + 1 : k + kl;
		vl = n - 1 - kl - (eq != NULL);
		switch (tag) {
		case 'e':
		case 'a':
		case 'x':
		case 'r':
			i = tag == 'e' ? 0 : tag == 'a' ? 1 : tag == 'x' ? 2 : 3;
			if (kvmap_put(m[i], k, kl, v, vl) == -1)
				abort();
			break;
		case 't':
			if (ntr < MAX_TRUNC)
				trunc_marker(&tr[ntr++], k, kl, v, vl);
			break;
		case 'T':
			if (netr < MAX_TRUNC)
				trunc_marker(&etr[netr++], k, kl, v, vl);
			break;
		case 's':
			if (nsens < MAX_SENS && (sens[nsens] =
			    strndup(k, n - 1)) != NULL)
				nsens++;
			break;
		}
	}

	memset(&in, 0, sizeof(in));
	in.expected = m[0];
	in.actual = m[1];
	in.extra = m[2];
	in.errors = m[3];
	in.trunc = ntr > 0 ? tr : NULL;
	in.ntrunc = ntr;
	in.exp_trunc = netr > 0 ? etr : NULL;
	in.nexp_trunc = netr;
	FZ_ASSERT(diff_compute(&res, &in) == 0 && res != NULL);
	FZ_ASSERT(res->nchanged + res->nmissing + res->nunknown +
	    res->nequal == kvmap_count(m[0]));
	FZ_ASSERT(diff_ndrifted(res) == res->nchanged + res->nmissing +
	    res->nextra);

	memset(&rd, 0, sizeof(rd));
	rd.sensitive_keys = (const char *const *)sens;
	rd.nsensitive = (o & 1) ? nsens : 0;
	/* a Vercel rule's: every value redacted but the listed ones */
	rd.redact_values = (o & 2) != 0;
	rd.show_values = (const char *const *)sens;
	rd.nshow_values = (o & 1) ? 0 : nsens;
	jbuf_init(&b);
	FZ_ASSERT(diff_format_log(res, &rd, &b, max_keys) == 0);
	FZ_ASSERT(b.len > 0 && b.p[0] == ',');
	/* the fragment closes a JSON object */
	b.p[0] = '{';
	jbuf_raw(&b, "}", 1);
	FZ_ASSERT(!b.oom);
	j = json_loadb(b.p, b.len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
	    &jerr);
	FZ_ASSERT(j != NULL);
	json_decref(j);
	jbuf_free(&b);

	/* the redaction rules on every key and value as they are */
	for (i = 0; i < m[0]->n; i++) {
		char *red = NULL;
		size_t redlen = 0, sl;
		int rv;

		(void)redact_key_is_secret(m[0]->ents[i].key,
		    m[0]->ents[i].keylen, (const char *const *)sens, nsens);
		(void)redact_last_segment(m[0]->ents[i].key,
		    m[0]->ents[i].keylen, &sl);
		FZ_ASSERT(sl <= m[0]->ents[i].keylen);
		rv = redact_url_userinfo(m[0]->ents[i].val,
		    m[0]->ents[i].vallen, (int)(o >> 1) & 1, &red, &redlen);
		FZ_ASSERT(rv == 0 || rv == 1);
		if (rv == 1)
			FZ_ASSERT(red != NULL && strlen(red) <= redlen &&
			    memmem(red, redlen, REDACT_PLACEHOLDER,
			    strlen(REDACT_PLACEHOLDER)) != NULL);
		else
			FZ_ASSERT(red == NULL);
		free(red);
	}

	diff_free(res);
	for (i = 0; i < 4; i++)
		kvmap_free(m[i]);
	for (i = 0; i < nsens; i++)
		free(sens[i]);
	return 0;
}
