/*
 * Pure helpers of the mongo worker (unit-tested in tests/unit/test_mongo.c):
 * the string form of a stored value, and scrubbing credentials out of
 * messages.
 */
#ifndef VTW_MONGO_VALUE_H
#define VTW_MONGO_VALUE_H

#include <stddef.h>

#include <bson/bson.h>

/*
 * The string the supervisor compares for one stored value. The orchestrator
 * writes UTF-8 strings: those are returned as they are (bytes, pointing into
 * the document; may hold NUL or invalid UTF-8). Anything else (the spec's
 * `{$set: {value: 5}}`) is its relaxed extended JSON: "5", "5.5", "true",
 * "null", "{ \"a\" : 1 }", "{ \"$binary\" : ... }", malloc'd into *owned
 * (free it after use). it == NULL (no `value` field) is "null". A
 * document or array holding invalid UTF-8 cannot be written as JSON: it is
 * described instead ("<BSON document, N bytes, not printable as JSON>").
 */
void	mongo_value_str(const bson_iter_t *it, const char **out, size_t *outlen,
	    char **owned);

/*
 * Copy src into dst (always NUL-terminated, cut to dstlen) with every
 * occurrence of each non-empty string of secrets[0..nsecrets) replaced by
 * "***". Used on every message that may quote a URI (libmongoc's errors
 * and log lines).
 */
void	mongo_scrub(char *dst, size_t dstlen, const char *src,
	    const char *const *secrets, size_t nsecrets);

/*
 * The credential part of a mongodb:// or mongodb+srv:// URI: what lies
 * between "://" and the last '@' before the host list, as written
 * (percent-encoded). NULL when there is none. malloc'd.
 */
char	*mongo_uri_userinfo(const char *uri);

#endif
