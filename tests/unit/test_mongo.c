/*
 * Pure helpers of the mongo worker (workers/mongo/mongo_value.c): the string form
 * of stored values, scrubbing credentials from messages.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mongo_value.h"

/* the string form of the "v" field of doc */
static char *
vstr(const bson_t *doc, size_t *lenp)
{
	bson_iter_t it;
	const char *out;
	char *owned, *copy;
	size_t len;

	cr_assert(bson_iter_init_find(&it, doc, "v"));
	mongo_value_str(&it, &out, &len, &owned);
	copy = malloc(len + 1);
	cr_assert_not_null(copy);
	memcpy(copy, out, len);
	copy[len] = '\0';
	free(owned);
	if (lenp != NULL)
		*lenp = len;
	return copy;
}

#define CHECK_V(doc, want) do {						\
	bson_t *d_ = (doc);						\
	char *s_ = vstr(d_, NULL);					\
	cr_expect_str_eq(s_, want);					\
	free(s_);							\
	bson_destroy(d_);						\
} while (0)

Test(mongo_value, strings_as_they_are)
{
	bson_t *d = bson_new();
	size_t len;
	char *s;

	BSON_APPEND_UTF8(d, "v", "50");
	s = vstr(d, &len);
	cr_assert_str_eq(s, "50");
	free(s);
	bson_destroy(d);
	/* NUL and invalid UTF-8 inside a BSON string: all bytes */
	d = bson_new();
	bson_append_utf8(d, "v", 1, "a\0b\xff", 4);
	s = vstr(d, &len);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(s, "a\0b\xff", 4), 0);
	free(s);
	bson_destroy(d);
}

Test(mongo_value, other_types_as_relaxed_json)
{
	bson_t *d, sub;

	CHECK_V(BCON_NEW("v", BCON_INT32(5)), "5");
	CHECK_V(BCON_NEW("v", BCON_INT64(1234567890123LL)), "1234567890123");
	CHECK_V(BCON_NEW("v", BCON_DOUBLE(5.5)), "5.5");
	CHECK_V(BCON_NEW("v", BCON_DOUBLE(5.0)), "5.0");
	CHECK_V(BCON_NEW("v", BCON_BOOL(true)), "true");
	CHECK_V(BCON_NEW("v", BCON_NULL), "null");
	CHECK_V(BCON_NEW("v", "{", "a", BCON_INT32(1), "}"), "{ \"a\" : 1 }");
	CHECK_V(BCON_NEW("v", "[", BCON_INT32(1), BCON_UTF8("x"), "]"),
	    "[ 1, \"x\" ]");
	d = bson_new();
	bson_append_binary(d, "v", 1, BSON_SUBTYPE_BINARY,
	    (const uint8_t *)"\0\1\2", 3);
	CHECK_V(d, "{ \"$binary\" : { \"base64\" : \"AAEC\", \"subType\" : "
	    "\"00\" } }");
	/* a document holding invalid UTF-8 has no JSON: described */
	d = bson_new();
	bson_append_document_begin(d, "v", 1, &sub);
	bson_append_utf8(&sub, "x", 1, "a\xff", 2);
	bson_append_document_end(d, &sub);
	CHECK_V(d, "<BSON document, 15 bytes, not printable as JSON>");
}

Test(mongo_value, absent_value_field_is_null)
{
	const char *out;
	char *owned;
	size_t len;

	mongo_value_str(NULL, &out, &len, &owned);
	cr_assert_null(owned);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(out, "null", 4), 0);
}

Test(mongo_scrub, replaces_every_secret)
{
	const char *sec[] = { "mongodb://u:pw@h:1/", "u:pw", "pw", NULL };
	char buf[128];

	mongo_scrub(buf, sizeof(buf), "bad uri mongodb://u:pw@h:1/: pw and u:pw",
	    sec, 4);
	cr_assert_str_eq(buf, "bad uri ***: *** and ***");
	/* cut to the buffer, always terminated */
	mongo_scrub(buf, 6, "xxpwxxxx", sec, 3);
	cr_assert_str_eq(buf, "xx***");
	mongo_scrub(buf, sizeof(buf), "nothing here", sec, 0);
	cr_assert_str_eq(buf, "nothing here");
}

Test(mongo_uri, userinfo)
{
	char *u;

	cr_assert_null(mongo_uri_userinfo("mongodb://127.0.0.1:27017"));
	cr_assert_null(mongo_uri_userinfo("mongodb://h/?authMechanismProperties="
	    "a@b"));
	u = mongo_uri_userinfo("mongodb://user:p%40ss@h1,h2/db?replicaSet=x");
	cr_assert_str_eq(u, "user:p%40ss");
	free(u);
	/* not percent-encoded: up to the last '@' before the options */
	u = mongo_uri_userinfo("mongodb+srv://user:a/b@c@cluster.example/");
	cr_assert_str_eq(u, "user:a/b@c");
	free(u);
	cr_assert_null(mongo_uri_userinfo("not a uri"));
}
