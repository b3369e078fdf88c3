/*
 * The s3 worker's pure helpers (unit-tested in tests/unit/test_s3_util.c):
 * URL encoding as libcurl 7.88's SigV4 needs it (spec/backends-http-ha.md
 * §1.2: the caller sends path and query already canonical), the
 * ListObjectsV2 / GetObjectTagging / error XML (libexpat), credentials JSON
 * of the container and instance metadata endpoints and their refresh time,
 * and the orchestrator's config.json (jansson).
 */
#ifndef VTW_S3_UTIL_H
#define VTW_S3_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kvmap.h"

/* Refresh temporary credentials this long before their Expiration (or at
 * half their remaining life when that is shorter); without an Expiration,
 * every S3_CRED_NOEXP_REFRESH_SEC. */
#define S3_CRED_REFRESH_EARLY_SEC	300
#define S3_CRED_NOEXP_REFRESH_SEC	900

/*
 * RFC 3986 percent-encoding of len bytes of s (unreserved A-Za-z0-9-._~
 * kept, everything else %XX upper-case; '/' kept when keep_slash), appended
 * to *buf (malloc'd, NUL-terminated, grown as needed; *buf may be NULL).
 * Returns 0, -1 on OOM.
 */
int	s3_uri_encode(char **buf, size_t *len, const char *s, size_t slen,
	    int keep_slash);

/*
 * The canonical ListObjectsV2 query ("continuation-token=..&encoding-type=
 * url&list-type=2&prefix=.."; names sorted, values encoded, '/' as %2F);
 * token may be NULL.
 * malloc'd, NULL on OOM.
 */
char	*s3_list_query(const char *prefix, const char *token);

/*
 * The URL of an object (key NULL: of the bucket, for a LIST) with an
 * optional query (already canonical): path style "{endpoint}/{bucket}/{key}",
 * else virtual-hosted "{scheme}://{bucket}.{host}{path}/{key}"; the key
 * encoded once per segment ('/' kept). endpoint is scheme://host[:port]
 * [/path] without a trailing '/'. malloc'd; NULL on OOM or a bad endpoint.
 */
char	*s3_object_url(const char *endpoint, int path_style,
	    const char *bucket, const char *key, size_t keylen,
	    const char *query);

struct s3_object {
	char	*key;		/* as listed, NUL-terminated */
	size_t	 keylen;
	char	*etag;		/* with its quotes, as the server sent it */
};

struct s3_list_page {
	struct s3_object *objs;
	size_t		  nobjs, cap;
	int		  truncated;
	int		  url_encoded;	/* EncodingType url: keys decoded */
	char		 *next_token;	/* NULL unless truncated */
};

/* One ListObjectsV2 page (any namespace). 0, or -1 with err (not XML, not
 * a ListBucketResult, OOM). Free with s3_list_page_free() either way. */
int	s3_list_parse(struct s3_list_page *out, const char *xml, size_t len,
	    char *err, size_t errlen);
void	s3_list_page_free(struct s3_list_page *);

/* An S3 <Error>: its Code, Message and Region (empty when absent), each
 * cut to its buffer; never the StringToSign or CanonicalRequest. 0, or -1
 * when xml is not an Error document. */
struct s3_error {
	char	code[64];
	char	message[160];
	char	region[64];
};
int	s3_error_parse(struct s3_error *out, const char *xml, size_t len);

/*
 * The reason of a failed answer: "{what}: HTTP {status} {Code} ({Message})"
 * and, when the bucket is elsewhere (301 PermanentRedirect, 400
 * AuthorizationHeaderMalformed), "; the bucket's region is {region}" from
 * the x-amz-bucket-region header (region_hdr, may be NULL) or the error's
 * Region. A body that is not an <Error> (HEAD has none) is named by its
 * status. Nothing else of the body is shown.
 */
void	s3_error_reason(char *err, size_t errlen, const char *what,
	    long status, const char *body, size_t len, const char *region_hdr);

/* 1 when a <Tagging> document has a tag key=value, 0 when not, -1 when it
 * is not a Tagging document. */
int	s3_tagging_has(const char *xml, size_t len, const char *key,
	    const char *value);

struct s3_creds {
	char	*key, *secret, *token;	/* malloc'd; token may be NULL */
	time_t	 expiration;		/* 0: none given */
};
void	s3_creds_free(struct s3_creds *);
/* {AccessKeyId, SecretAccessKey, Token, Expiration} (container and IMDS
 * answers). 0, or -1 with err (never naming a value). */
int	s3_creds_json(struct s3_creds *out, const char *buf, size_t len,
	    char *err, size_t errlen);
/* ISO 8601 UTC ("2026-12-03T10:00:00Z", fractions allowed): -1 if not. */
time_t	s3_iso8601(const char *);
/* When credentials fetched at fetched, expiring at expiration (0: none),
 * are to be refreshed. */
time_t	s3_creds_refresh_at(time_t fetched, time_t expiration);

/*
 * The orchestrator's config.json: a JSON object whose members become
 * out's pairs; string members their UTF-8 bytes (NUL allowed), any other
 * member its compact JSON text (drift shown in JSON form). 0, or -1 with
 * err when the body is not a JSON object.
 */
int	s3_json_flat(struct kvmap *out, const char *buf, size_t len,
	    char *err, size_t errlen);

#endif
