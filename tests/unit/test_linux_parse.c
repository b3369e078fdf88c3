/*
 * workers/linux_server/linux_parse.c: the files the orchestrator renders on a Linux
 * server (interop §3.8), byte for byte as it writes them, and hostile ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "kvmap.h"
#include "linux_parse.h"

static struct kvmap *m;
static int marker;
static char err[256];

static void
setup(void)
{
	m = kvmap_new();
	cr_assert_not_null(m);
	marker = -1;
	err[0] = '\0';
}

static void
teardown(void)
{
	kvmap_free(m);
}

TestSuite(linux_parse, .init = setup, .fini = teardown);

static enum lp_status
parse(enum lp_format f, const char *s)
{
	return lp_parse(f, s, strlen(s), m, &marker, err, sizeof(err));
}

static void
expect(const char *k, const char *v)
{
	const struct kv_entry *e = kvmap_gets(m, k);

	cr_assert_not_null(e, "key '%s' missing", k);
	cr_assert_eq(e->vallen, strlen(v), "key '%s': length %zu, want %zu "
	    "('%s')", k, e->vallen, strlen(v), e->val);
	cr_assert(memcmp(e->val, v, e->vallen) == 0, "key '%s': '%s', want "
	    "'%s'", k, e->val, v);
}

#define HDR	"# vartrack managed \xe2\x80\x94 env=production tenant=default\n\n"

/* Example A of interop §7.8, as rendered in env format */
Test(linux_parse, env_example_a)
{
	const char *f = "# vartrack managed \xe2\x80\x94 env=main tenant=default\n"
	    "\n"
	    "api.rate_limit=1000\n"
	    "api.secret_key=placeholder-rotated-by-vault\n"
	    "api.timeout_ms=30000\n"
	    "api.version=v1\n"
	    "app.env=production\n"
	    "app.name=demo-app\n"
	    "app.region=us-east-1\n"
	    "cache.backend=redis\n"
	    "cache.ttl_seconds=300\n"
	    "database.connect_timeout_ms=5000\n"
	    "database.max_connections=100\n"
	    "database.password=placeholder-rotated-by-vault\n"
	    "database.pool_size=10\n"
	    "features.analytics=false\n"
	    "features.dark_mode=true\n"
	    "features.debug_mode=false\n"
	    "observability.log_level=INFO\n"
	    "observability.service_mesh=istio\n"
	    "observability.tracing_enabled=true\n";

	cr_assert_eq(strlen(f), 551);	/* the benchmark's byte count */
	cr_assert_eq(parse(LP_ENV, f), LP_OK);
	cr_assert_eq(marker, 1);
	cr_assert_eq(kvmap_count(m), 19);
	expect("database.pool_size", "10");
	expect("observability.tracing_enabled", "true");
	expect("api.secret_key", "placeholder-rotated-by-vault");
}

Test(linux_parse, env_quoting)
{
	cr_assert_eq(parse(LP_ENV, HDR
	    "a=hello world\n"			/* never written so, but read */
	    "b=\"hello world\"\n"
	    "c=\"has # hash\"\n"
	    "d=\"it's\"\n"
	    "e=\"\"quoted\"\"\n"		/* value "quoted" with quotes */
	    "f=\"line1\nline2\nline3\"\n"	/* newlines: spans lines */
	    "g=\"\n\"\n"			/* a value that is one newline */
	    "h=\"\"\n"				/* empty after unwrapping */
	    "i=x=y\n"				/* split at the first '=' */
	    "j=\n"
	    "k=\"\"x\"\n"			/* value "x: starts with a quote */
	    "=nokey\n"
	    "stray line without separator\n"
	    "#comment=no\n"
	    "l=last\n"), LP_OK);
	expect("a", "hello world");
	expect("b", "hello world");
	expect("c", "has # hash");
	expect("d", "it's");
	expect("e", "\"quoted\"");
	expect("f", "line1\nline2\nline3");
	expect("g", "\n");
	expect("h", "");
	expect("i", "x=y");
	expect("j", "");
	expect("k", "\"x");
	expect("", "nokey");
	expect("l", "last");
	cr_assert_null(kvmap_gets(m, "#comment"));
	cr_assert_eq(kvmap_count(m), 13);
}

Test(linux_parse, env_unterminated_quote)
{
	cr_assert_eq(parse(LP_ENV, HDR "a=\"open\nb=2\n"), LP_OK);
	expect("a", "\"open");
	expect("b", "2");
}

Test(linux_parse, env_no_trailing_newline_and_duplicates)
{
	cr_assert_eq(parse(LP_ENV, "a=1\nb=2\na=3"), LP_OK);
	cr_assert_eq(marker, 0);
	expect("a", "3");
	expect("b", "2");
	cr_assert_eq(kvmap_count(m), 2);
	/* the first position is kept */
	cr_assert_str_eq(m->ents[0].key, "a");
}

Test(linux_parse, env_nul_and_binary)
{
	static const char f[] = "k=a\0b\nbin=\xff\xfe\x01\x02\nn\0k=v\n";
	const struct kv_entry *e;

	cr_assert_eq(lp_parse(LP_ENV, f, sizeof(f) - 1, m, &marker, err,
	    sizeof(err)), LP_OK);
	e = kvmap_get(m, "k", 1);
	cr_assert_not_null(e);
	cr_assert_eq(e->vallen, 3);
	cr_assert(memcmp(e->val, "a\0b", 3) == 0);
	e = kvmap_get(m, "bin", 3);
	cr_assert_not_null(e);
	cr_assert_eq(e->vallen, 4);
	e = kvmap_get(m, "n\0k", 3);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->val, "v");
}

Test(linux_parse, env_8mib_value)
{
	size_t n = 8u << 20, i;
	char *f = malloc(n + 16);
	const struct kv_entry *e;

	cr_assert_not_null(f);
	memcpy(f, "big=", 4);
	for (i = 0; i < n; i++)
		f[4 + i] = (char)('a' + i % 26);
	f[4 + n] = '\n';
	cr_assert_eq(lp_parse(LP_ENV, f, n + 5, m, &marker, err, sizeof(err)),
	    LP_OK);
	e = kvmap_gets(m, "big");
	cr_assert_not_null(e);
	cr_assert_eq(e->vallen, n);
	free(f);
}

Test(linux_parse, too_many_keys)
{
	size_t n = LP_MAX_KEYS + 1, i, off = 0;
	char *f = malloc(n * 9 + 1);

	cr_assert_not_null(f);
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(f + off, "%07zx=\n", i);
	cr_assert_eq(lp_parse(LP_ENV, f, off, m, &marker, err, sizeof(err)),
	    LP_TOO_BIG);
	cr_assert(strstr(err, "keys") != NULL, "%s", err);
	free(f);
}

Test(linux_parse, ini)
{
	cr_assert_eq(parse(LP_INI, HDR
	    "db.host = localhost\n"
	    "db.port = 5432\n"
	    "eq = a = b\n"		/* split at the first " = " */
	    "tight=1\n"			/* tolerated */
	    "loose  =2\n"		/* no " = ": blanks dropped */
	    "empty = \n"
	    "; comment = x\n"
	    "[section]\n"
	    "multi = one\n"		/* a value with newlines */
	    "two\n"
	    "\n"
	    "three\n"
	    "\n"
	    "# end\n"
	    "last = z\n"), LP_OK);
	cr_assert_eq(marker, 1);
	expect("db.host", "localhost");
	expect("db.port", "5432");
	expect("eq", "a = b");
	expect("tight", "1");
	expect("loose", "2");
	expect("empty", "");
	expect("multi", "one\ntwo\n\nthree");
	expect("last", "z");
	cr_assert_null(kvmap_gets(m, "; comment"));
	cr_assert_eq(kvmap_count(m), 8);
}

Test(linux_parse, properties)
{
	cr_assert_eq(parse(LP_PROPERTIES, HDR
	    "a.b=1\n"
	    "spaced key = v \n"		/* exact: no trimming */
	    "url=http://x/?a=b\n"
	    "msg=hello # not a comment\n"), LP_OK);
	expect("a.b", "1");
	expect("spaced key ", " v ");
	expect("url", "http://x/?a=b");
	expect("msg", "hello # not a comment");
	cr_assert_eq(kvmap_count(m), 4);
}

/* what PyYAML's yaml.dump(unflattened, default_flow_style=False) writes */
Test(linux_parse, yaml_as_dumped)
{
	cr_assert_eq(parse(LP_YAML,
	    "# vartrack managed \xe2\x80\x94 env=production\n"
	    "api:\n"
	    "  rate_limit: '1000'\n"
	    "  version: v1\n"
	    "database:\n"
	    "  pool_size: '10'\n"
	    "  password: placeholder\n"
	    "features:\n"
	    "  dark_mode: 'true'\n"
	    "  empty: ''\n"
	    "  nullish: 'null'\n"
	    "motd: 'it''s a \"test\"'\n"
	    "multi: 'line1\n"
	    "\n"
	    "  line2'\n"
	    "esc: \"tab\\there\\0nul\"\n"
	    "list:\n"
	    "  '0': a\n"
	    "  '1': b\n"
	    "seq:\n"
	    "- x\n"
	    "- y: z\n"
	    "nothing: {}\n"), LP_OK);
	cr_assert_eq(marker, 1);
	expect("api.rate_limit", "1000");
	expect("api.version", "v1");
	expect("database.pool_size", "10");
	expect("features.dark_mode", "true");
	expect("features.empty", "");
	expect("features.nullish", "null");
	expect("motd", "it's a \"test\"");
	expect("multi", "line1\nline2");
	expect("list.0", "a");
	expect("list.1", "b");
	expect("seq.0", "x");
	expect("seq.1.y", "z");
	cr_assert_null(kvmap_gets(m, "nothing"));
	{
		const struct kv_entry *e = kvmap_gets(m, "esc");

		cr_assert_not_null(e);
		cr_assert_eq(e->vallen, 12);
		cr_assert(memcmp(e->val, "tab\there\0nul", 12) == 0);
	}
}

Test(linux_parse, yaml_flat_keys_and_edits)
{
	/* key_format flat: one level; a human edit without quotes */
	cr_assert_eq(parse(LP_YAML, "db_pool_size: 10\nflag: true\n"
	    "nul: ~\nempty:\n"), LP_OK);
	cr_assert_eq(marker, 0);
	expect("db_pool_size", "10");
	expect("flag", "true");
	expect("nul", "~");
	expect("empty", "");
}

Test(linux_parse, yaml_empty_and_errors)
{
	cr_assert_eq(parse(LP_YAML, ""), LP_OK);
	cr_assert_eq(kvmap_count(m), 0);
	cr_assert_eq(parse(LP_YAML, "# vartrack managed \xe2\x80\x94 env=x\n"),
	    LP_OK);
	cr_assert_eq(kvmap_count(m), 0);
	cr_assert_eq(parse(LP_YAML, "a: [unclosed\n"), LP_SYNTAX);
	cr_assert(strstr(err, "line") != NULL, "%s", err);
	cr_assert_eq(parse(LP_YAML, "just a scalar\n"), LP_SYNTAX);
	cr_assert_eq(parse(LP_YAML, "- a\n- b\n"), LP_SYNTAX);
}

Test(linux_parse, yaml_hostile)
{
	static const char nul[] = "a: b\0c\n";
	static const char bad_utf8[] = "a: \xff\xfe\n";
	char *deep;
	size_t i, n = 0;

	cr_assert_eq(lp_parse(LP_YAML, nul, sizeof(nul) - 1, m, &marker, err,
	    sizeof(err)), LP_SYNTAX);
	cr_assert_eq(lp_parse(LP_YAML, bad_utf8, sizeof(bad_utf8) - 1, m,
	    &marker, err, sizeof(err)), LP_SYNTAX);
	/* a billion laughs: aliases expand beyond any budget */
	cr_assert_eq(parse(LP_YAML,
	    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
	    "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"), LP_TOO_BIG);
	/* nesting deeper than LP_MAX_DEPTH */
	deep = malloc(4 * 1000 + 16);
	cr_assert_not_null(deep);
	deep[n++] = 'k';
	deep[n++] = ':';
	deep[n++] = ' ';
	for (i = 0; i < 1000; i++)
		deep[n++] = '[';
	for (i = 0; i < 1000; i++)
		deep[n++] = ']';
	deep[n++] = '\n';
	kvmap_clear(m);
	cr_assert_eq(lp_parse(LP_YAML, deep, n, m, &marker, err, sizeof(err)),
	    LP_TOO_BIG);
	free(deep);
}

/* json.dumps(unflattened, indent=2, sort_keys=True) + "\n" */
Test(linux_parse, json_as_dumped)
{
	cr_assert_eq(parse(LP_JSON,
	    "{\n"
	    "  \"api\": {\n"
	    "    \"rate_limit\": \"1000\",\n"
	    "    \"version\": \"v1\"\n"
	    "  },\n"
	    "  \"motd\": \"caf\\u00e9 \\\"q\\\" \\n x\",\n"
	    "  \"nul\": \"a\\u0000b\"\n"
	    "}\n"), LP_OK);
	cr_assert_eq(marker, 0);
	expect("api.rate_limit", "1000");
	expect("api.version", "v1");
	expect("motd", "caf\xc3\xa9 \"q\" \n x");
	{
		const struct kv_entry *e = kvmap_gets(m, "nul");

		cr_assert_not_null(e);
		cr_assert_eq(e->vallen, 3);
		cr_assert(memcmp(e->val, "a\0b", 3) == 0);
	}
}

Test(linux_parse, json_other_scalars)
{
	cr_assert_eq(parse(LP_JSON, "{\"i\": 10, \"f\": 1.5, \"g\": 3.0, "
	    "\"h\": 0.1, \"e\": 1e20, \"t\": true, \"n\": null, "
	    "\"a\": [\"x\", {\"y\": 2}], \"o\": {}, \"z\": []}"), LP_OK);
	expect("i", "10");
	expect("f", "1.5");
	expect("g", "3.0");
	expect("h", "0.1");
	expect("e", "1e+20");
	expect("t", "true");
	expect("n", "null");
	expect("a.0", "x");
	expect("a.1.y", "2");
	cr_assert_null(kvmap_gets(m, "o"));
	cr_assert_null(kvmap_gets(m, "z"));
	cr_assert_eq(kvmap_count(m), 9);
}

Test(linux_parse, json_errors)
{
	cr_assert_eq(parse(LP_JSON, ""), LP_SYNTAX);
	cr_assert_eq(parse(LP_JSON, "[1, 2]"), LP_SYNTAX);
	cr_assert_eq(parse(LP_JSON, "{\"a\": \"\xff\"}"), LP_SYNTAX);
	cr_assert_eq(parse(LP_JSON, "{\"a\": 1,}"), LP_SYNTAX);
	cr_assert(strstr(err, "JSON") != NULL);
}

Test(linux_parse, random_bytes_never_crash)
{
	char buf[4096];
	unsigned int seed = 12345, i, round;
	int f;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (char)(seed >> 16);
			/* keep some structure so the parsers get further */
			if (buf[i] % 7 == 0)
				buf[i] = "\n=\":{}[] #'"[seed % 11];
		}
		for (f = LP_ENV; f <= LP_JSON; f++) {
			kvmap_clear(m);
			(void)lp_parse((enum lp_format)f, buf, sizeof(buf), m,
			    &marker, err, sizeof(err));
		}
	}
}

Test(linux_parse, format_names)
{
	cr_assert_eq(lp_format_from_name("yaml"), LP_YAML);
	cr_assert_eq(lp_format_from_name("xml"), -1);
	cr_assert_str_eq(lp_format_name(LP_PROPERTIES), "properties");
}
