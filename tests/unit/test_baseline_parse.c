/*
 * Baseline library: the parsers. YAML resolved as PyYAML safe_load
 * (YAML 1.1), JSON via jansson, kv and ini parsed properly, sniffing.
 * Expected values were checked against PyYAML 6 / Python 3.11.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"

/* helpers from test_baseline.c */
void	 bt_rule(struct bl_rule *);
char	*bt_flat(const struct bl_rule *, const char *, const char *, size_t);
char	*bt_run(const char *, const char *, const char *, const char *);
char	*bt_run2(const struct bl_rule *, const char *, const char *);

#define EXPECT(path, data, want) do {					\
	char *got_ = bt_run((path), (data), NULL, NULL);		\
	cr_expect_str_eq(got_, (want), "%s", (data));			\
	free(got_);							\
} while (0)

/* an error whose message contains `part` */
#define EXPECT_ERR(path, data, part) do {				\
	char *got_ = bt_run((path), (data), NULL, NULL);		\
	cr_expect(strncmp(got_, "ERROR: ", 7) == 0 &&			\
	    strstr(got_, (part)) != NULL, "%s -> %s", (data), got_);	\
	free(got_);							\
} while (0)

/* ---- YAML 1.1 resolution ------------------------------------------------ */

Test(baseline_yaml, scalar_resolution_table)
{
	static const char *const v[][2] = {
		/* null */
		{ "~", "" }, { "null", "" }, { "Null", "" }, { "NULL", "" },
		{ "", "" }, { "nULL", "nULL" },
		/* bool: 3 capitalisations of yes/no/true/false/on/off */
		{ "yes", "true" }, { "Yes", "true" }, { "YES", "true" },
		{ "no", "false" }, { "No", "false" }, { "NO", "false" },
		{ "on", "true" }, { "On", "true" }, { "ON", "true" },
		{ "off", "false" }, { "Off", "false" }, { "OFF", "false" },
		{ "True", "true" }, { "FALSE", "false" }, { "yEs", "yEs" },
		{ "y", "y" }, { "n", "n" },
		/* int */
		{ "0", "0" }, { "-17", "-17" }, { "+5", "5" }, { "1_000", "1000" },
		{ "0b1010", "10" }, { "-0b1_1", "-3" }, { "017", "15" },
		{ "0_", "0" }, { "0x_1F", "31" }, { "-0xff", "-255" },
		{ "1:30", "90" }, { "190:20:30", "685230" }, { "1_0:00", "600" },
		{ "08", "08" }, { "0x", "0x" }, { "1:60", "1:60" },
		{ "99999999999999999999999", "99999999999999999999999" },
		/* float */
		{ "1.5", "1.5" }, { "-2.50", "-2.5" }, { "1_0.5", "10.5" },
		{ ".5", "0.5" }, { "-.5", "-.5" }, { "1.e+3", "1000.0" },
		{ "6.8523015e+5", "685230.15" }, { "190:20:30.15", "685230.15" },
		{ ".inf", "Infinity" }, { "-.Inf", "-Infinity" },
		{ "+.INF", "Infinity" }, { ".NaN", "NaN" }, { "-.nan", "-.nan" },
		{ "0.1", "0.1" }, { "1e3", "1e3" }, { "1.5E-3", "0.0015" },
		{ "1.5e-3", "0.0015" }, { "123456789.123456789",
		"123456789.12345679" }, { "1.0e+300", "1e+300" },
		{ "5.0e-324", "5e-324" }, { "1.0e+400", "Infinity" },
		/* strings */
		{ "'yes'", "yes" }, { "\"1.5\"", "1.5" }, { "<<x", "<<x" },
	};
	size_t i;
	char doc[256], want[256];

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *got;

		snprintf(doc, sizeof(doc), "k: %s\n", v[i][0]);
		snprintf(want, sizeof(want), "k=%s\n", v[i][1]);
		got = bt_run("c.yaml", doc, NULL, NULL);
		cr_expect_str_eq(got, want, "scalar '%s'", v[i][0]);
		free(got);
	}
}

Test(baseline_yaml, explicit_tags)
{
	EXPECT("c.yaml", "a: !!str 12\nb: !!int '0x10'\nc: !!float '1'\n"
	    "d: !!bool 'On'\ne: !!null 'x'\nf: ! 12\ng: !!str yes\n"
	    "h: !!float 1e5\ni: !!int ' 12'\nj: !!int 0o17\n",
	    "a=12\nb=16\nc=1.0\nd=true\ne=\nf=12\ng=yes\nh=100000.0\ni=12\n"
	    "j=15\n");
	EXPECT("c.yaml", "a: !!seq [1]\nb: !!map {c: 1}\n"
	    "o: !!omap [{x: 1}, {y: 2}]\n", "a.0=1\nb.c=1\no.0.0=x\no.0.1=1\n"
	    "o.1.0=y\no.1.1=2\n");
	EXPECT_ERR("c.yaml", "a: !!int abc\n", "invalid literal for int()");
	EXPECT_ERR("c.yaml", "a: !!bool maybe\n", "invalid boolean");
	EXPECT_ERR("c.yaml", "a: !!float x\n", "could not convert");
	EXPECT_ERR("c.yaml", "a: !custom x\n", "could not determine a "
	    "constructor for the tag '!custom'");
	EXPECT_ERR("c.yaml", "a: !!python/object:os.system x\n",
	    "could not determine a constructor");
	EXPECT_ERR("c.yaml", "a: =\n", "tag:yaml.org,2002:value");
	EXPECT("c.yaml", "? =\n: 1\n", "==1\n");
	EXPECT_ERR("c.yaml", "a: !!set {x, y}\n", "cannot be serialised");
	EXPECT_ERR("c.yaml", "a: !!binary aGk=\n", "cannot be serialised");
	EXPECT_ERR("c.yaml", "a: !!map [1]\n", "does not fit a sequence");
}

Test(baseline_yaml, timestamps)
{
	EXPECT_ERR("c.yaml", "a: 1\nd: 2024-01-01\n", "c.yaml:2:4: "
	    "date/timestamp value '2024-01-01' cannot be serialised "
	    "(orchestrator skips this file)");
	EXPECT_ERR("c.yaml", "d: 2001-12-14t21:59:43.10-05:00\n",
	    "'2001-12-14 21:59:43.100000-05:00' cannot be serialised");
	EXPECT_ERR("c.yaml", "d: [2001-1-1 1:02:03Z]\n", "date/timestamp");
	/* invalid dates fail while constructing, whatever is selected */
	EXPECT_ERR("c.yaml", "vartrack: {a: 1}\nd: 2024-02-30\n",
	    "out of range");
	/* a date outside the serialised part is harmless */
	{
		char *got = bt_run("c.yaml", "vartrack: {a: 1}\nd: 2024-02-29\n",
		    NULL, NULL);

		cr_expect_str_eq(got, "a=1\n");
		free(got);
		got = bt_run("c.yaml", "prod: {a: 1}\nstaging: {d: 2024-01-01}\n",
		    NULL, "prod");
		cr_expect_str_eq(got, "a=1\n");
		free(got);
	}
	/* not timestamps: wrong shapes are strings */
	EXPECT("c.yaml", "a: 2024-1-1\nb: 2024-01-01x\n",
	    "a=2024-1-1\nb=2024-01-01x\n");
}

Test(baseline_yaml, merge_keys)
{
	EXPECT("c.yaml", "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n",
	    "base.x=1\nbase.y=2\nd.x=1\nd.y=3\n");
	/* a list of mappings: earlier ones win */
	EXPECT("c.yaml", "a: &a {k: a, p: 1}\nb: &b {k: b, q: 2}\n"
	    "m: {<<: [*a, *b]}\n",
	    "a.k=a\na.p=1\nb.k=b\nb.q=2\nm.k=a\nm.p=1\nm.q=2\n");
	/* merged maps keep their own merges */
	EXPECT("c.yaml", "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b}\n",
	    "a.x=1\nb.x=1\nb.y=2\nc.x=1\nc.y=2\n");
	/* empty mappings merged (once memcpy from a NULL array, a fuzzer
	 * finding: tests/fuzz/baseline/crash-0854...) */
	EXPECT("c.yaml", "a: &a {k: a, p: 1}\nb: &b {}\nm: {<<: [*a, *b]}\n"
	    "n: {<<: *b, z: 1}\n",
	    "a.k=a\na.p=1\nm.k=a\nm.p=1\nn.z=1\n");
	/* quoted "<<" is a plain key */
	EXPECT("c.yaml", "'<<': {x: 1}\n", "<<.x=1\n");
	EXPECT_ERR("c.yaml", "a: {<<: 1}\n", "expected a mapping or list of "
	    "mappings for merging");
	EXPECT_ERR("c.yaml", "a: {<<: [1]}\n", "expected a mapping for "
	    "merging");
}

Test(baseline_yaml, duplicates_anchors_documents)
{
	EXPECT("c.yaml", "a: 1\nb: 2\na: 3\n", "a=3\nb=2\n");
	EXPECT("c.yaml", "x: &v {k: 1}\ny: *v\nz: [*v, *v]\n",
	    "x.k=1\ny.k=1\nz.0.k=1\nz.1.k=1\n");
	EXPECT_ERR("c.yaml", "a: *nope\n", "found undefined alias 'nope'");
	EXPECT_ERR("c.yaml", "a: &x [1, *x]\n", "recursive aliases are not "
	    "supported");
	EXPECT_ERR("c.yaml", "a: &x 1\nb: &x 2\n", "found duplicate anchor "
	    "'x'");
	EXPECT_ERR("c.yaml", "a: 1\n---\nb: 2\n", "expected a single "
	    "document");
	EXPECT_ERR("c.yaml", "? [1]\n: 2\n", "found unhashable key");
	EXPECT("c.yaml", "", "SKIPPED\n");
	EXPECT("c.yaml", "# only a comment\n", "SKIPPED\n");
	EXPECT("c.yaml", "---\n...\n", "SKIPPED\n");
	EXPECT("c.yaml", "\xef\xbb\xbf" "a: 1\n", "a=1\n");	/* BOM */
}

Test(baseline_yaml, syntax_error_names_the_place)
{
	EXPECT_ERR("conf/c.yaml", "a: 1\nb: [1, 2\nc: 3\n", "conf/c.yaml:3:");
	EXPECT_ERR("c.yaml", "a:\n\tb: 1\n", "c.yaml:2:");
}

Test(baseline_yaml, reparse_rules)
{
	char key[1100], doc[1200], *got;

	/*
	 * json.dumps output is re-parsed by PyYAML: a key whose JSON form is
	 * longer than 1024 characters breaks the simple-key rule and
	 * transform() returns {} -- the file is skipped.
	 */
	memset(key, 'k', 1022);
	key[1022] = '\0';
	snprintf(doc, sizeof(doc), "vartrack:\n  %s: 1\n", key);
	got = bt_run("c.yaml", doc, NULL, NULL);
	cr_expect(strncmp(got, "kkkk", 4) == 0, "%.20s", got);
	free(got);
	memset(key, 'k', 1023);
	key[1023] = '\0';
	snprintf(doc, sizeof(doc), "vartrack:\n  %s: 1\n", key);
	got = bt_run("c.yaml", doc, NULL, NULL);
	cr_expect_str_eq(got, "SKIPPED\n");
	free(got);
	/* characters outside the BMP come back as lone surrogates */
	EXPECT_ERR("c.yaml", "a: \"\xf0\x9f\x98\x80\"\n", "lone surrogates");
	/* BMP characters are fine */
	EXPECT("c.yaml", "caf\xc3\xa9: \xe2\x82\xac\n", "caf\xc3\xa9=\xe2\x82\xac\n");
}

/* ---- JSON --------------------------------------------------------------- */

Test(baseline_json, values_and_duplicates)
{
	EXPECT("c.json", "{\"a\": 1, \"b\": 1.0, \"c\": 1e2, \"d\": -0, "
	    "\"e\": -0.0, \"f\": 0.1, \"g\": 1e-7, \"h\": 12345678901234567, "
	    "\"i\": \"x\\u00e9\\n\", \"a\": 2}",
	    "a=2\nb=1.0\nc=100.0\nd=0\ne=-0.0\nf=0.1\ng=1e-07\n"
	    "h=12345678901234567\ni=x\xc3\xa9\\n\n");
	EXPECT("c.json", "{\"v\": [true, false, null, {}, [], [[]], \"\"]}",
	    "v.0=true\nv.1=false\nv.2=\nv.6=\n");
	EXPECT("c.json", "{\"1\": {\"a\": 1}, \"x.y\": 2}", "1.a=1\nx.y=2\n");
}

Test(baseline_json, errors)
{
	EXPECT_ERR("c.json", "{\"a\": 1,\n \"b\": 99999999999999999999}",
	    "c.json:2:");
	EXPECT_ERR("c.json", "{\"a\": 1,\n \"b\": 99999999999999999999}",
	    "beyond 64-bit");
	EXPECT_ERR("c.json", "{\"a\": 1e400}", "beyond 64-bit");
	EXPECT_ERR("c.json", "{\"a\": NaN}", "invalid JSON");
	EXPECT_ERR("c.json", "{\"a\": 1,}", "c.json:1:");
	EXPECT_ERR("c.json", "{\"a\": 1} x", "invalid JSON");
	EXPECT_ERR("c.json", "", "invalid JSON");
}

Test(baseline_json, comments)
{
	/* .jsonc / .json5: the orchestrator's regexes run first */
	EXPECT("c.jsonc", "{\n  // line\n  \"a\": 1, /* block\n */ \"b\": 2\n}",
	    "a=1\nb=2\n");
	EXPECT_ERR("c.json", "{\n  // line\n  \"a\": 1\n}", "invalid JSON");
	EXPECT("c.json5", "/* x */ {\"a\": \"/* not closed\"}",
	    "a=/* not closed\n");
	/* an escaped "//" survives the first pass but not the re-parse */
	EXPECT("c.jsonc", "{\"url\": \"http:\\/\\/h\"}", "SKIPPED\n");
	EXPECT("c.json", "{\"url\": \"http:\\/\\/h\"}", "url=http://h\n");
	/* and the regex also bites inside strings */
	EXPECT_ERR("c.jsonc", "{\"url\": \"http://h\"}", "invalid JSON");
}

/* ---- kv ------------------------------------------------------------------- */

Test(baseline_kv, lines)
{
	EXPECT(".env", "# c\n; c\n! c\nA=1\nexport B = two \n"
	    "C: 3\nD=x:y\nE:u=v\nF=\"q q\"\nG='s'\nH=\"mis'\nI=\"\"\n=novalue\n"
	    "noseparator\nA=last\n",
	    "A=last\nB=two\nC=3\nD=x:y\nE:u=v\nF=q q\nG=s\nH=\"mis'\nI=\n");
	/* Dockerfile ENV, both forms; case-insensitive "ENV " */
	EXPECT("Dockerfile", "FROM x\nENV A 1 2\nenv B=3\nENV C\nRUN x=1\n",
	    "A=1 2\nB=3\nRUN x=1\n");
	/* str.splitlines(): \r\n, \r, \v, \x1c ... */
	EXPECT("x.properties", "a=1\r\nb=2\rc=3\x0b" "d=4\x1c" "e=5",
	    "a=1\nb=2\nc=3\nd=4\ne=5\n");
	/* str.strip(): Unicode spaces too (U+3000, U+00A0) */
	EXPECT(".env", "\xe3\x80\x80K = v\xc2\xa0\n", "K=v\n");
	/* keys are not nested, dots stay */
	EXPECT("a.env", "db.host=h\n", "db.host=h\n");
	EXPECT(".env", "", "SKIPPED\n");
}

/* ---- ini ------------------------------------------------------------------ */

Test(baseline_ini, configparser_rules)
{
	EXPECT("c.ini", "[s]\nKey = v\nk2: a = b\nmulti = one\n  two\n\n"
	    "  three\n# comment\nempty =\n[t]\nx=1\n",
	    "s.Key=v\ns.empty=\ns.k2=a = b\ns.multi=one\\ntwo\\n\\nthree\nt.x=1\n");
	/* DEFAULT: top level and inherited by every section */
	EXPECT("c.cfg", "[DEFAULT]\nd = 1\n[s]\nd = 2\ne = 3\n[t]\n",
	    "d=1\ns.d=2\ns.e=3\nt.d=1\n");
	/* header: up to the last ']' */
	EXPECT("c.conf", "[a]b] trailing\nk=v\n", "a]b.k=v\n");
	/* inline comments are not comments */
	EXPECT("c.ini", "[s]\nk = v ; not a comment\n",
	    "s.k=v ; not a comment\n");
	EXPECT("c.ini", "", "SKIPPED\n");
	EXPECT("c.ini", "; only\n# comments\n", "SKIPPED\n");
}

Test(baseline_ini, errors)
{
	EXPECT_ERR("c.ini", "k = v\n", "c.ini:1:1: file contains no section");
	EXPECT_ERR("c.ini", "[s]\nk=1\n[s]\n", "c.ini:3:1: section 's' "
	    "already exists");
	EXPECT_ERR("c.ini", "[s]\nk=1\nk=2\n", "c.ini:3:1: option 'k'");
	EXPECT_ERR("c.ini", "[s]\njunk\n", "c.ini:2:1: source contains "
	    "parsing errors");
	EXPECT_ERR("c.ini", "[s]\n= v\n", "c.ini:2:1:");
}

/* ---- sniffing (no known extension) ---------------------------------------- */

Test(baseline_sniff, order)
{
	EXPECT("notes", "{\"a\": {\"b\": 1}}", "a.b=1\n");
	EXPECT("notes", "a:\n  b: yes\n", "a.b=true\n");
	/* YAML comes first: kv-looking text is one plain scalar */
	EXPECT("notes", "A=1\nB=2\n", "=A=1 B=2\n");
	/* not YAML, not JSON: kv */
	EXPECT("notes", "A: 1\nB\n: x\n- y\n", "A=1\n");
	EXPECT("notes", "", "SKIPPED\n");
	EXPECT_ERR("notes", "<a/>", "format not supported");
	EXPECT_ERR("notes", "[table]\nkey = 1\n", "format not supported");
}
