/*
 * The s3 worker's pure helpers (workers/s3/s3_util.c): encoding for
 * libcurl 7.88's SigV4 (spec/backends-http-ha.md §1.2), the XML documents
 * (ListObjectsV2 as AWS and s3rver write it, GetObjectTagging, Error), the
 * credentials JSON and its refresh time, config.json.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "s3_util.h"

static char *
enc(const char *s, int keep_slash)
{
	char *b = NULL;
	size_t n = 0;

	cr_assert_eq(s3_uri_encode(&b, &n, s, strlen(s), keep_slash), 0);
	cr_assert_eq(strlen(b), n);
	return b;
}

Test(s3_util, uri_encode)
{
	static const struct { const char *in, *path, *query; } cases[] = {
		{ "app/prod/config.json", "app/prod/config.json",
		    "app%2Fprod%2Fconfig.json" },
		{ "dev/e+f~g.key", "dev/e%2Bf~g.key", "dev%2Fe%2Bf~g.key" },
		{ "c d", "c%20d", "c%20d" },
		{ "caf\xc3\xa9", "caf%C3%A9", "caf%C3%A9" },
		{ "a=b&c", "a%3Db%26c", "a%3Db%26c" },
		{ "", "", "" },
	};
	size_t i;
	char *p, *q;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = enc(cases[i].in, 1);
		q = enc(cases[i].in, 0);
		cr_expect_str_eq(p, cases[i].path, "%s", cases[i].in);
		cr_expect_str_eq(q, cases[i].query, "%s", cases[i].in);
		free(p);
		free(q);
	}
}

Test(s3_util, list_query_canonical)
{
	char *q = s3_list_query("app/production/", NULL);

	cr_expect_str_eq(q, "encoding-type=url&list-type=2&prefix="
	    "app%2Fproduction%2F");
	free(q);
	/* sorted: continuation-token < list-type < prefix; + / = encoded */
	q = s3_list_query("a b/", "1+2/3=");
	cr_expect_str_eq(q, "continuation-token=1%2B2%2F3%3D&encoding-type=url&"
	    "list-type=2&prefix=a%20b%2F");
	free(q);
}

Test(s3_util, list_parse_aws_and_s3rver)
{
	static const char aws[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><Name>cfg</Name><Prefix>p/</Prefix>"
	    "<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
	    "<IsTruncated>true</IsTruncated>"
	    "<Contents><Key>p/a &amp; b</Key><LastModified>2026-01-01T00:00:"
	    "00.000Z</LastModified><ETag>&quot;0cc175b9c0f1b6a831c399e269772"
	    "661&quot;</ETag><Size>1</Size><StorageClass>STANDARD"
	    "</StorageClass></Contents>"
	    "<Contents><Key>p/caf\xc3\xa9</Key><ETag>\"x-2\"</ETag></Contents>"
	    "<NextContinuationToken>tok+/=</NextContinuationToken>"
	    "</ListBucketResult>";
	static const char s3rver[] =
	    "<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/"
	    "2006-03-01/\"><Name>cfg</Name><IsTruncated>false</IsTruncated>"
	    "</ListBucketResult>";
	struct s3_list_page pg;
	char err[256];

	cr_assert_eq(s3_list_parse(&pg, aws, strlen(aws), err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(pg.nobjs, 2);
	cr_expect_str_eq(pg.objs[0].key, "p/a & b");
	cr_expect_eq(pg.objs[0].keylen, 7);
	cr_expect_str_eq(pg.objs[0].etag,
	    "\"0cc175b9c0f1b6a831c399e269772661\"");
	cr_expect_str_eq(pg.objs[1].key, "p/caf\xc3\xa9");
	cr_expect_eq(pg.truncated, 1);
	cr_expect_str_eq(pg.next_token, "tok+/=");
	s3_list_page_free(&pg);
	cr_assert_eq(s3_list_parse(&pg, s3rver, strlen(s3rver), err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(pg.nobjs, 0);
	cr_expect_eq(pg.truncated, 0);
	s3_list_page_free(&pg);
}

/* encoding-type=url (AWS): keys %-encoded, control bytes included; a
 * server that ignores it (s3rver) sends no EncodingType and raw keys */
Test(s3_util, list_parse_url_encoded)
{
	static const char xml[] = "<ListBucketResult><EncodingType>url"
	    "</EncodingType><Contents><Key>p/a%20b%2Bc%01%C3%A9</Key>"
	    "</Contents><Contents><Key>p/100%25</Key></Contents>"
	    "</ListBucketResult>";
	struct s3_list_page pg;
	char err[256];

	cr_assert_eq(s3_list_parse(&pg, xml, strlen(xml), err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(pg.nobjs, 2);
	cr_expect_eq(pg.objs[0].keylen, 10);
	cr_expect(memcmp(pg.objs[0].key, "p/a b+c\x01\xc3\xa9", 10) == 0);
	cr_expect_str_eq(pg.objs[1].key, "p/100%");
	s3_list_page_free(&pg);
}

Test(s3_util, list_parse_refuses)
{
	static const char *bad[] = {
		"",
		"not xml",
		"<Error><Code>NoSuchBucket</Code></Error>",
		"<ListBucketResult><IsTruncated>true</IsTruncated>"
		    "</ListBucketResult>",
		"<ListBucketResult><Contents><ETag>x</ETag></Contents>"
		    "</ListBucketResult>",
		"<ListBucketResult><Contents>",
		/* an entity expansion bomb is not expanded: expat refuses
		 * undefined entities */
		"<ListBucketResult>&lol;</ListBucketResult>",
	};
	struct s3_list_page pg;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(s3_list_parse(&pg, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, "%s", bad[i]);
		s3_list_page_free(&pg);
	}
}

Test(s3_util, error_parse_never_the_string_to_sign)
{
	static const char sig[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
	    "SignatureDoesNotMatch</Code><Message>The request signature we "
	    "calculated does not match the signature you provided.</Message>"
	    "<AWSAccessKeyId>AKID</AWSAccessKeyId><StringToSign>AWS4-HMAC-"
	    "SHA256\n20261203T000000Z</StringToSign><CanonicalRequest>GET"
	    "</CanonicalRequest></Error>";
	static const char redir[] = "<Error><Code>AuthorizationHeader"
	    "Malformed</Code><Message>m</Message><Region>eu-west-1</Region>"
	    "</Error>";
	struct s3_error e;

	cr_assert_eq(s3_error_parse(&e, sig, strlen(sig)), 0);
	cr_expect_str_eq(e.code, "SignatureDoesNotMatch");
	cr_expect(strstr(e.message, "signature") != NULL);
	cr_expect(strstr(e.message, "AWS4") == NULL);
	cr_assert_eq(s3_error_parse(&e, redir, strlen(redir)), 0);
	cr_expect_str_eq(e.region, "eu-west-1");
	cr_expect_eq(s3_error_parse(&e, "", 0), -1);
	cr_expect_eq(s3_error_parse(&e, "<x/>", 4), -1);
}

Test(s3_util, tagging)
{
	static const char t[] = "<Tagging xmlns=\"http://s3.amazonaws.com/"
	    "doc/2006-03-01/\"><TagSet><Tag><Key>vartrack.io/env</Key>"
	    "<Value>vartrack</Value></Tag><Tag><Key>app.kubernetes.io/"
	    "managed-by</Key><Value>vartrack</Value></Tag></TagSet>"
	    "</Tagging>";
	static const char none[] = "<Tagging><TagSet /></Tagging>";
	static const char k = 0;

	(void)k;
	cr_expect_eq(s3_tagging_has(t, strlen(t),
	    "app.kubernetes.io/managed-by", "vartrack"), 1);
	cr_expect_eq(s3_tagging_has(t, strlen(t), "vartrack.io/env", "x"), 0);
	cr_expect_eq(s3_tagging_has(none, strlen(none),
	    "app.kubernetes.io/managed-by", "vartrack"), 0);
	cr_expect_eq(s3_tagging_has("<a/>", 4, "k", "v"), -1);
}

Test(s3_util, iso8601)
{
	cr_expect_eq(s3_iso8601("1970-01-01T00:01:00Z"), 60);
	cr_expect_eq(s3_iso8601("2026-12-03T10:00:00Z"), 1796292000);
	cr_expect_eq(s3_iso8601("2026-12-03T10:00:00.123Z"), 1796292000);
	cr_expect_eq(s3_iso8601("2026-12-03T10:00:00+00:00"), 1796292000);
	cr_expect_eq(s3_iso8601("2026-12-03T10:00:00+02:00"), -1);
	cr_expect_eq(s3_iso8601("2026-13-03T10:00:00Z"), -1);
	cr_expect_eq(s3_iso8601("yesterday"), -1);
}

Test(s3_util, refresh_before_expiration)
{
	/* an hour's credentials: 5 min before they expire */
	cr_expect_eq(s3_creds_refresh_at(1000, 1000 + 3600), 1000 + 3300);
	/* short-lived: at half their life */
	cr_expect_eq(s3_creds_refresh_at(1000, 1000 + 120), 1060);
	/* already expired: now */
	cr_expect_eq(s3_creds_refresh_at(1000, 900), 1000);
	/* no Expiration: every 15 min */
	cr_expect_eq(s3_creds_refresh_at(1000, 0), 1000 + 900);
}

Test(s3_util, creds_json)
{
	static const char ok[] = "{\"Code\": \"Success\", \"AccessKeyId\": "
	    "\"ASIA1\", \"SecretAccessKey\": \"sec\", \"Token\": \"tok\", "
	    "\"Expiration\": \"2026-12-03T10:00:00Z\"}";
	static const char noexp[] = "{\"AccessKeyId\": \"A\", "
	    "\"SecretAccessKey\": \"S\"}";
	static const char *bad[] = {
		"[]", "{\"AccessKeyId\": \"A\"}", "nope",
		"{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
		    "\"Expiration\": \"soon\"}",
	};
	struct s3_creds c;
	char err[256];
	size_t i;

	cr_assert_eq(s3_creds_json(&c, ok, strlen(ok), err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(c.key, "ASIA1");
	cr_expect_str_eq(c.secret, "sec");
	cr_expect_str_eq(c.token, "tok");
	cr_expect_eq(c.expiration, 1796292000);
	s3_creds_free(&c);
	cr_assert_eq(s3_creds_json(&c, noexp, strlen(noexp), err,
	    sizeof(err)), 0);
	cr_expect_null(c.token);
	cr_expect_eq(c.expiration, 0);
	s3_creds_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(s3_creds_json(&c, bad[i], strlen(bad[i]), err,
		    sizeof(err)), -1, "%s", bad[i]);
		cr_expect(strstr(err, "\"S\"") == NULL);
	}
}

Test(s3_util, json_flat)
{
	static const char body[] = "{\n  \"a.b\": \"1\",\n  \"n\": 5,\n  "
	    "\"o\": {\"x\": [1, null]},\n  \"nul\": \"a\\u0000b\",\n  "
	    "\"u\": \"caf\\u00e9\"\n}";
	struct kvmap *m = kvmap_new();
	const struct kv_entry *e;
	char err[256];

	cr_assert_eq(s3_json_flat(m, body, strlen(body), err, sizeof(err)),
	    0, "%s", err);
	cr_expect_eq(kvmap_count(m), 5);
	cr_expect_str_eq(kvmap_gets(m, "a.b")->val, "1");
	cr_expect_str_eq(kvmap_gets(m, "n")->val, "5");
	cr_expect_str_eq(kvmap_gets(m, "o")->val, "{\"x\":[1,null]}");
	e = kvmap_gets(m, "nul");
	cr_expect_eq(e->vallen, 3);
	cr_expect(memcmp(e->val, "a\0b", 3) == 0);
	cr_expect_str_eq(kvmap_gets(m, "u")->val, "caf\xc3\xa9");
	kvmap_clear(m);
	cr_expect_eq(s3_json_flat(m, "[1]", 3, err, sizeof(err)), -1);
	cr_expect_eq(s3_json_flat(m, "{\"a\":", 5, err, sizeof(err)), -1);
	cr_expect_eq(s3_json_flat(m, "\xff", 1, err, sizeof(err)), -1);
	kvmap_free(m);
}

Test(s3_util, object_url)
{
	static const struct {
		const char *ep;
		int ps;
		const char *key, *query, *want;
	} cases[] = {
		{ "http://127.0.0.1:4570", 1, "app/prod/config.json", NULL,
		    "http://127.0.0.1:4570/cfg/app/prod/config.json" },
		{ "http://127.0.0.1:4570", 1, NULL, "list-type=2&prefix=a%2F",
		    "http://127.0.0.1:4570/cfg?list-type=2&prefix=a%2F" },
		{ "https://s3.eu-west-1.amazonaws.com", 0, "a b/c+d~e", NULL,
		    "https://cfg.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd~e" },
		{ "https://s3.eu-west-1.amazonaws.com", 0, NULL, "list-type=2",
		    "https://cfg.s3.eu-west-1.amazonaws.com/?list-type=2" },
		{ "https://minio:9000/s3", 1, "k", "tagging=",
		    "https://minio:9000/s3/cfg/k?tagging=" },
	};
	size_t i;
	char *u;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u = s3_object_url(cases[i].ep, cases[i].ps, "cfg", cases[i].key,
		    cases[i].key ? strlen(cases[i].key) : 0, cases[i].query);
		cr_assert_not_null(u);
		cr_expect_str_eq(u, cases[i].want);
		free(u);
	}
	cr_expect_null(s3_object_url("nohost", 1, "cfg", NULL, 0, NULL));
}

Test(s3_util, error_reason)
{
	static const char redirect[] = "<Error><Code>PermanentRedirect</Code>"
	    "<Message>The bucket you are attempting to access must be "
	    "addressed using the specified endpoint.</Message><Endpoint>cfg.s3."
	    "eu-west-1.amazonaws.com</Endpoint></Error>";
	static const char sig[] = "<Error><Code>SignatureDoesNotMatch</Code>"
	    "<Message>m</Message><StringToSign>AWS4-HMAC-SHA256 x"
	    "</StringToSign></Error>";
	char err[512];

	s3_error_reason(err, sizeof(err), "GET s3://cfg/k", 301, redirect,
	    strlen(redirect), "eu-west-1");
	cr_expect_str_eq(err, "GET s3://cfg/k: HTTP 301 PermanentRedirect (The "
	    "bucket you are attempting to access must be addressed using the "
	    "specified endpoint.); the bucket's region is eu-west-1");
	s3_error_reason(err, sizeof(err), "HEAD s3://cfg/k", 403, "", 0, NULL);
	cr_expect_str_eq(err, "HEAD s3://cfg/k: HTTP 403 Forbidden");
	s3_error_reason(err, sizeof(err), "GET s3://cfg/k", 403, sig,
	    strlen(sig), NULL);
	cr_expect_str_eq(err, "GET s3://cfg/k: HTTP 403 SignatureDoesNotMatch "
	    "(m)");
	s3_error_reason(err, sizeof(err), "GET s3://cfg/k", 500, "<html>",
	    6, NULL);
	cr_expect_str_eq(err, "GET s3://cfg/k: HTTP 500");
}
