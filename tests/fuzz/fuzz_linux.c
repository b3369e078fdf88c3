/*
 * The Linux-server worker's file parsers (lp_parse: env, ini, properties,
 * yaml, json). Input: one byte choosing the format, then the file.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "kvmap.h"
#include "linux_parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	enum lp_format fmt;
	enum lp_status st;
	struct kvmap *out;
	char err[256];
	int marker = 0;
	size_t i;

	fmt = (enum lp_format)(fz_byte(&f) % 5);
	FZ_ASSERT(lp_format_from_name(lp_format_name(fmt)) == (int)fmt);
	if ((out = kvmap_new()) == NULL)
		abort();
	err[0] = '\0';
	st = lp_parse(fmt, (const char *)f.p, f.n, out, &marker, err,
	    sizeof(err));
	FZ_ASSERT(st == LP_OK || st == LP_SYNTAX || st == LP_TOO_BIG ||
	    st == LP_NOMEM);
	if (st == LP_SYNTAX || st == LP_TOO_BIG)
		FZ_ASSERT(err[0] != '\0');
	FZ_ASSERT(marker == 0 || marker == 1);
	FZ_ASSERT(kvmap_count(out) <= LP_MAX_KEYS);
	for (i = 0; i < out->n; i++)
		FZ_ASSERT(out->ents[i].val != NULL);
	kvmap_free(out);
	return 0;
}
