/*
 * Pure helpers of the mongo worker: see mongo_value.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mongo_value.h"

/* what bson_as_relaxed_extended_json() puts around the value of "v" */
#define JSON_PREFIX	"{ \"v\" : "
#define JSON_SUFFIX	" }"

void
mongo_value_str(const bson_iter_t *it, const char **out, size_t *outlen,
    char **owned)
{
	bson_t tmp;
	char *j, *s;
	size_t jl, pl = sizeof(JSON_PREFIX) - 1, sl = sizeof(JSON_SUFFIX) - 1;
	uint32_t len;

	*owned = NULL;
	if (it == NULL) {
		*out = "null";
		*outlen = 4;
		return;
	}
	if (bson_iter_type(it) == BSON_TYPE_UTF8) {
		*out = bson_iter_utf8(it, &len);
		*outlen = len;
		return;
	}
	bson_init(&tmp);
	j = NULL;
	if (bson_append_iter(&tmp, "v", 1, it))
		j = bson_as_relaxed_extended_json(&tmp, &jl);
	bson_destroy(&tmp);
	if (j != NULL && jl >= pl + sl && memcmp(j, JSON_PREFIX, pl) == 0 &&
	    memcmp(j + jl - sl, JSON_SUFFIX, sl) == 0) {
		if ((s = malloc(jl - pl - sl + 1)) != NULL) {
			memcpy(s, j + pl, jl - pl - sl);
			s[jl - pl - sl] = '\0';
			*owned = s;
			*out = s;
			*outlen = jl - pl - sl;
		}
	}
	bson_free(j);
	if (*owned != NULL)
		return;
	/* invalid UTF-8 inside a document or array: no JSON for it */
	if (bson_iter_type(it) == BSON_TYPE_DOCUMENT ||
	    bson_iter_type(it) == BSON_TYPE_ARRAY) {
		const uint8_t *data;

		if (bson_iter_type(it) == BSON_TYPE_DOCUMENT)
			bson_iter_document(it, &len, &data);
		else
			bson_iter_array(it, &len, &data);
		if ((s = malloc(96)) != NULL) {
			snprintf(s, 96, "<BSON %s, %u bytes, not printable as "
			    "JSON>", bson_iter_type(it) == BSON_TYPE_DOCUMENT ?
			    "document" : "array", (unsigned)len);
			*owned = s;
			*out = s;
			*outlen = strlen(s);
			return;
		}
	}
	*out = "<unprintable BSON value>";
	*outlen = strlen(*out);
}

void
mongo_scrub(char *dst, size_t dstlen, const char *src,
    const char *const *secrets, size_t nsecrets)
{
	size_t o = 0, i, best;

	if (dstlen == 0)
		return;
	while (*src != '\0' && o + 1 < dstlen) {
		best = 0;
		for (i = 0; i < nsecrets; i++) {
			size_t l = secrets[i] ? strlen(secrets[i]) : 0;

			if (l > best && strncmp(src, secrets[i], l) == 0)
				best = l;
		}
		if (best > 0) {
			const char *r = "***";

			while (*r != '\0' && o + 1 < dstlen)
				dst[o++] = *r++;
			src += best;
		} else
			dst[o++] = *src++;
	}
	dst[o] = '\0';
}

char *
mongo_uri_userinfo(const char *uri)
{
	const char *start, *end, *at = NULL, *p;
	char *s;

	if ((start = strstr(uri, "://")) == NULL)
		return NULL;
	start += 3;
	/* the options may hold '@' (authMechanismProperties): stop there;
	 * a password may hold '/' or '@' when not percent-encoded */
	end = strchr(start, '?');
	if (end == NULL)
		end = start + strlen(start);
	for (p = start; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL || at == start)
		return NULL;
	if ((s = malloc((size_t)(at - start) + 1)) == NULL)
		return NULL;
	memcpy(s, start, (size_t)(at - start));
	s[at - start] = '\0';
	return s;
}
