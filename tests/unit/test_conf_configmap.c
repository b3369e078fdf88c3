/*
 * Unit tests of the configmap kind's kubeconfig reading
 * (conf/kinds/kubeconfig.c): token, tokenFile (relative to the file's
 * folder), client certificate and CA as -data and as files, contexts and
 * current-context, a merged KUBECONFIG list (first value wins, missing
 * files skipped), exec / auth-provider refused naming the user, bad
 * base64 and missing entries naming their place, ~/.kube/config; and a
 * datasource loaded from a kubeconfig.
 *
 * Criterion runs every test in its own process: setenv() is local to a
 * test.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_testutil.h"
#include "kinds.h"
#include "kinds/configmap_conf.h"
#include "kinds/kubeconfig.h"

static char tmpdir[64];

static void
setup(void)
{
	conf_test_env();
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vtw-test-cm-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	setenv("HOME", tmpdir, 1);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(kubeconfig, .init = setup, .fini = teardown);

/* tmpdir/name with text; the path (static buffer per call site: strdup) */
static char *
put(const char *name, const char *text)
{
	char *p;
	FILE *f;

	cr_assert_neq(asprintf(&p, "%s/%s", tmpdir, name), -1);
	if (strchr(name, '/') != NULL) {
		char *d = strdup(p);

		*strrchr(d, '/') = '\0';
		mkdir(d, 0700);
		free(d);
	}
	cr_assert_not_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
	return p;
}

#define ONE \
	"apiVersion: v1\n" \
	"kind: Config\n" \
	"current-context: prod\n" \
	"clusters:\n" \
	"- name: c1\n" \
	"  cluster:\n" \
	"    server: https://k8s.example:6443/\n" \
	"    certificate-authority-data: LS0tLUNBLS0tLQo=\n" \
	"- name: c2\n" \
	"  cluster:\n" \
	"    server: https://other:443\n" \
	"    insecure-skip-tls-verify: true\n" \
	"contexts:\n" \
	"- name: prod\n" \
	"  context: {cluster: c1, user: u1, namespace: apps}\n" \
	"- name: dev\n" \
	"  context: {cluster: c2, user: u2}\n" \
	"users:\n" \
	"- name: u1\n" \
	"  user:\n" \
	"    token: tok-u1-SECRET\n" \
	"- name: u2\n" \
	"  user:\n" \
	"    tokenFile: tokens/u2\n"

Test(kubeconfig, token_ca_data_current_context)
{
	struct kubeconfig kc;
	char err[512], *p = put("kc", ONE);

	cr_assert_eq(conf_kubeconfig_load(&kc, p, NULL, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(kc.server, "https://k8s.example:6443/");
	cr_expect_str_eq(kc.context, "prod");
	cr_expect_str_eq(kc.token, "tok-u1-SECRET");
	cr_expect_null(kc.token_file);
	cr_expect_eq(kc.ca.len, 11);
	cr_expect_str_eq(kc.ca.data, "----CA----\n");
	cr_expect_eq(kc.insecure, 0);
	cr_expect_eq(kc.cert.len, 0);
	conf_kubeconfig_free(&kc);
	free(p);
}

Test(kubeconfig, context_and_relative_token_file)
{
	struct kubeconfig kc;
	char err[512], *p = put("sub/kc", ONE), *want;

	cr_assert_eq(conf_kubeconfig_load(&kc, p, "dev", err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(kc.server, "https://other:443");
	cr_expect_eq(kc.insecure, 1);
	cr_expect_null(kc.token);
	cr_assert_neq(asprintf(&want, "%s/sub/tokens/u2", tmpdir), -1);
	cr_expect_str_eq(kc.token_file, want);
	conf_kubeconfig_free(&kc);
	free(want);
	free(p);
}

Test(kubeconfig, client_cert_files_and_data)
{
	struct kubeconfig kc;
	char err[512], *p;

	free(put("d/ca.pem", "CA PEM\n"));
	free(put("d/client.pem", "CERT PEM\n"));
	p = put("d/kc",
	    "current-context: x\n"
	    "clusters: [{name: c, cluster: {server: 'https://h',"
	    " certificate-authority: ca.pem}}]\n"
	    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
	    "users:\n"
	    "- name: u\n"
	    "  user:\n"
	    "    client-certificate: client.pem\n"
	    "    client-certificate-data: Q0VSVCBEQVRBCg==\n"
	    "    client-key-data: |\n"
	    "      S0VZIERB\n"
	    "      VEEK\n");
	cr_assert_eq(conf_kubeconfig_load(&kc, p, NULL, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(kc.ca.data, "CA PEM\n");
	cr_expect_str_eq(kc.cert.data, "CERT DATA\n", "-data over the file");
	cr_expect_str_eq(kc.key.data, "KEY DATA\n", "base64 over lines");
	conf_kubeconfig_free(&kc);
	free(p);
}

Test(kubeconfig, merged_list_first_wins)
{
	struct kubeconfig kc;
	char err[512], env[512], *a, *b;

	a = put("a", "current-context: first\n"
	    "users: [{name: u, user: {token: from-a}}]\n");
	b = put("b", "current-context: second\n"
	    "clusters: [{name: c, cluster: {server: 'https://b'}}]\n"
	    "contexts: [{name: first, context: {cluster: c, user: u}}]\n"
	    "users: [{name: u, user: {token: from-b}}]\n");
	snprintf(env, sizeof(env), "%s/missing::%s:%s:%s", tmpdir, a, b, a);
	setenv("KUBECONFIG", env, 1);
	cr_assert_eq(conf_kubeconfig_load(&kc, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(kc.context, "first");
	cr_expect_str_eq(kc.server, "https://b");
	cr_expect_str_eq(kc.token, "from-a");
	conf_kubeconfig_free(&kc);
	snprintf(env, sizeof(env), "%s/missing", tmpdir);
	setenv("KUBECONFIG", env, 1);
	cr_expect_eq(conf_kubeconfig_load(&kc, NULL, NULL, err, sizeof(err)),
	    -1);
	cr_expect(strstr(err, "none of the files in KUBECONFIG") != NULL,
	    "%s", err);
	free(a);
	free(b);
}

Test(kubeconfig, home_default)
{
	struct kubeconfig kc;
	char err[512];

	/* none at all: 1 (the in-cluster configuration may follow) */
	cr_expect_eq(conf_kubeconfig_load(&kc, NULL, NULL, err, sizeof(err)),
	    1);
	cr_expect(strstr(err, "/.kube/config") != NULL, "%s", err);
	free(put(".kube/config", ONE));
	cr_assert_eq(conf_kubeconfig_load(&kc, NULL, NULL, err, sizeof(err)), 0,
	    "%s", err);
	cr_expect_str_eq(kc.context, "prod");
	conf_kubeconfig_free(&kc);
}

Test(kubeconfig, refused_and_bad_entries)
{
	static const struct {
		const char *user, *want;
	} cases[] = {
		{ "{exec: {command: aws, apiVersion: "
		    "client.authentication.k8s.io/v1}}",
		    ":4: user 'u': exec credential plugins are not supported" },
		{ "{auth-provider: {name: gcp}}",
		    ":4: user 'u': auth-provider entries are not supported" },
		{ "{username: a, password: b}",
		    "user 'u': basic authentication is not supported" },
		{ "{client-key-data: '!!!notb64'}",
		    ":4: user 'u': client-key-data: not base64" },
		{ "{client-certificate-data: Q0VSVAo=}",
		    "client-certificate and client-key go together" },
		{ "{client-key: nofile.pem, client-certificate: nofile.pem}",
		    "client-certificate: cannot read" },
	};
	struct kubeconfig kc;
	char err[512], *text, *p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_neq(asprintf(&text,
		    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		    "users:\n"
		    "- {name: u, user: %s}\n", cases[i].user), -1);
		p = put("kc", text);
		cr_expect_eq(conf_kubeconfig_load(&kc, p, "x", err,
		    sizeof(err)), -1, "case %zu", i);
		cr_expect(strstr(err, cases[i].want) != NULL,
		    "case %zu: %s", i, err);
		cr_expect(strstr(err, p) != NULL, "names the file: %s", err);
		cr_expect(strstr(err, "b64") == NULL && strstr(err, "Q0VS") ==
		    NULL, "no value in %s", err);
		free(p);
		free(text);
	}
}

Test(kubeconfig, missing_pieces)
{
	static const struct {
		const char *text, *ctx, *want;
	} cases[] = {
		{ ONE, "nope", "no context 'nope'" },
		{ "contexts: [{name: x, context: {cluster: c}}]\n", "x",
		    "context 'x': no cluster 'c'" },
		{ "clusters: [{name: c, cluster: {}}]\n"
		    "contexts: [{name: x, context: {cluster: c}}]\n", "x",
		    ":1: cluster 'c': no server" },
		{ "contexts: [{name: x, context: {cluster: c, user: q}}]\n"
		    "clusters: [{name: c, cluster: {server: 'https://h'}}]\n",
		    "x", "context 'x': no user 'q'" },
		{ "users: {name: u}\n", NULL, "no current-context" },
		{ "current-context: x\ncontexts: 3\n", NULL,
		    ":2: contexts: expected a list" },
		{ "- a\n- b\n", NULL, ":1: expected a mapping" },
		{ "a: [\n", NULL, "kc:2:" },
		{ "clusters: [{name: c, cluster: {server: 'https://h',\n"
		    "  insecure-skip-tls-verify: maybe}}]\n"
		    "contexts: [{name: x, context: {cluster: c}}]\n", "x",
		    ":2: cluster 'c': insecure-skip-tls-verify: expected true" },
	};
	struct kubeconfig kc;
	char err[512], *p;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = put("kc", cases[i].text);
		cr_expect_eq(conf_kubeconfig_load(&kc, p, cases[i].ctx, err,
		    sizeof(err)), -1, "case %zu", i);
		cr_expect(strstr(err, cases[i].want) != NULL,
		    "case %zu: %s", i, err);
		free(p);
	}
	cr_expect_eq(conf_kubeconfig_load(&kc, "/nonexistent/kc", NULL, err,
	    sizeof(err)), -1);
	cr_expect(strstr(err, "/nonexistent/kc: no such file") != NULL, "%s",
	    err);
}

#define CONF(ds) \
	"platforms:\n" \
	"  - name: github\n" \
	"    type: github\n" \
	"    token: {env: T_GITHUB_TOKEN}\n" \
	"datasources:\n" \
	"  - name: cm\n" \
	"    type: configmap\n" ds \
	"rules:\n" \
	"  - platform: github\n" \
	"    datasource: cm\n" \
	"    repo_url: https://example.com/cfg.git\n" \
	"    file_name: app.yaml\n" \
	"    env: production\n" \
	"    k8s_namespace: apps\n" \
	"    k8s_configmap_name: app\n"

Test(kubeconfig, datasource_from_kubeconfig)
{
	struct vtw_conf *conf;
	struct conf_errors errs;
	const struct conf_cm_ds *d;
	char *p = put("kc", ONE), *yaml, *out;

	free(put("tokens/u2", "  file-token-SECRET \n"));
	cr_assert_neq(asprintf(&yaml, CONF("    kubeconfig: %s\n"
	    "    context: dev\n"), p), -1);
	conf = load_ok(yaml);
	d = ds_kconf(&conf->datasources[0], "configmap");
	cr_expect_str_eq(d->api_server, "https://other:443");
	cr_expect_eq(d->insecure_skip_tls_verify, 1);
	cr_expect_str_eq(d->token_file_data.data, "  file-token-SECRET");
	out = printed(conf);
	cr_expect(strstr(out, "SECRET") == NULL, "%s", out);
	cr_expect(strstr(out, "context: \"dev\"") != NULL, "%s", out);
	free(out);
	conf_free(conf);
	free(yaml);
	/* current-context, the default file */
	free(put(".kube/config", ONE));
	conf = load_ok(CONF(""));
	d = ds_kconf(&conf->datasources[0], "configmap");
	cr_expect_str_eq(d->api_server, "https://k8s.example:6443");
	cr_expect_str_eq(d->kc_token, "tok-u1-SECRET");
	cr_expect_str_eq(d->ca.data, "----CA----\n");
	conf_free(conf);
	/* not both ways */
	cr_assert_neq(asprintf(&yaml, CONF("    api_server: https://h\n"
	    "    kubeconfig: %s\n"), p), -1);
	cr_expect_eq(load(&conf, &errs, yaml), -1);
	cr_expect(in_any(errs.msgs, errs.n, "kubeconfig: not allowed with "
	    "api_server"));
	conf_errors_free(&errs);
	free(yaml);
	cr_expect_eq(load(&conf, &errs, CONF("    token: abc\n")), -1);
	cr_expect(in_any(errs.msgs, errs.n, "token: needs api_server"));
	conf_errors_free(&errs);
	free(p);
}

#ifdef VTW_TEST_HOOKS
/* no kubeconfig: rest.InClusterConfig (the service-account folder moved
 * by a test hook) */
Test(kubeconfig, in_cluster)
{
	struct vtw_conf *conf;
	struct conf_errors errs;
	const struct conf_cm_ds *d;
	char *sa, path[128];

	cr_assert_neq(asprintf(&sa, "%s/sa", tmpdir), -1);
	setenv("VTW_TEST_K8S_SA_DIR", sa, 1);
	free(put("sa/token", "sa-token-SECRET\n"));
	free(put("sa/ca.crt", "----SA CA----\n"));
	/* not in a cluster: the error says what was looked for */
	cr_expect_eq(load(&conf, &errs, CONF("")), -1);
	cr_expect(in_any(errs.msgs, errs.n, "not in a cluster: "
	    "KUBERNETES_SERVICE_HOST or _PORT unset"));
	conf_errors_free(&errs);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	conf = load_ok(CONF(""));
	d = ds_kconf(&conf->datasources[0], "configmap");
	cr_expect_str_eq(d->api_server, "https://10.96.0.1:443");
	cr_expect_str_eq(d->token_file_data.data, "sa-token-SECRET");
	cr_expect_str_eq(d->ca.data, "----SA CA----\n");
	conf_free(conf);
	/* an IPv6 service address in brackets, as net.JoinHostPort */
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	conf = load_ok(CONF(""));
	d = ds_kconf(&conf->datasources[0], "configmap");
	cr_expect_str_eq(d->api_server, "https://[fd00::1]:443");
	conf_free(conf);
	/* a kubeconfig comes first */
	free(put(".kube/config", ONE));
	conf = load_ok(CONF(""));
	d = ds_kconf(&conf->datasources[0], "configmap");
	cr_expect_str_eq(d->api_server, "https://k8s.example:6443");
	conf_free(conf);
	snprintf(path, sizeof(path), "%s/.kube/config", tmpdir);
	cr_assert_eq(unlink(path), 0);
	/* no CA in the service-account folder: named */
	snprintf(path, sizeof(path), "%s/ca.crt", sa);
	cr_assert_eq(unlink(path), 0);
	cr_expect_eq(load(&conf, &errs, CONF("")), -1);
	cr_expect(in_any(errs.msgs, errs.n, "in-cluster configuration: "
	    "cannot read"));
	conf_errors_free(&errs);
	/* bad variables */
	setenv("KUBERNETES_SERVICE_PORT", "44x", 1);
	cr_expect_eq(load(&conf, &errs, CONF("")), -1);
	cr_expect(in_any(errs.msgs, errs.n, "is not a host and a port"));
	conf_errors_free(&errs);
	free(sa);
}
#endif

/* a kubeconfig is bounded: over 4 MiB is an error; aliases share nodes */
Test(kubeconfig, bounded)
{
	struct kubeconfig kc;
	char err[512], *big, *p;
	size_t n = KUBECONFIG_MAX_BYTES + 16;

	cr_assert_not_null(big = malloc(n + 1));
	memset(big, '#', n);
	big[n] = '\0';
	p = put("big", big);
	cr_expect_eq(conf_kubeconfig_load(&kc, p, "x", err, sizeof(err)), -1);
	cr_expect(strstr(err, "larger than 4 MiB") != NULL, "%s", err);
	free(p);
	free(big);
	p = put("laughs",
	    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "contexts: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n");
	cr_expect_eq(conf_kubeconfig_load(&kc, p, "x", err, sizeof(err)), -1);
	cr_expect(strstr(err, "no context 'x'") != NULL, "%s", err);
	free(p);
}
