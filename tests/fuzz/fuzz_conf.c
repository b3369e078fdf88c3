/*
 * The configuration loader (conf_load_buf: libyaml, every section's keys,
 * the kinds' settings and layouts, the cross-checks), then the canonical
 * printer over what loaded. Input: a whole config file.
 *
 * No environment override applies (the variables conf_apply_env and the
 * kinds read are unset, HOME is an empty temporary directory), so a run is
 * deterministic; the loader writes no file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#include "conf.h"
#include "fuzz.h"
#include "log.h"

static char	home[] = "/tmp/vtw-fuzz-conf.XXXXXX";

static void
rm_home(void)
{
	rmdir(home);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const vars[] = {
		"POLL_INTERVAL", "ADMIN_ADDR", "LOG_LEVEL", "ORCHESTRATOR_ADDR",
		"HEAL_TIMEOUT", "APP_ENV", "TLS_CA_FILE", "TLS_CERT_FILE",
		"TLS_KEY_FILE",
	};
	char name[256];
	size_t i, n;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	/* the s3 kind's credential chain */
	for (i = 0; environ[i] != NULL; ) {
		n = strcspn(environ[i], "=");
		if (strncmp(environ[i], "AWS_", 4) != 0 || n >= sizeof(name)) {
			i++;
			continue;
		}
		memcpy(name, environ[i], n);
		name[n] = '\0';
		unsetenv(name);	/* environ shifts: i stays */
	}
	/* what the examples' {env: ...} secrets name */
	setenv("T_GITHUB_TOKEN", "ghp_fuzz_token", 1);
	if (mkdtemp(home) == NULL)
		abort();
	atexit(rm_home);
	setenv("HOME", home, 1);
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vtw_conf *c = NULL;
	struct conf_errors errs;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	if (conf_load_buf(&c, "fuzz.yaml", (const char *)data, size,
	    &errs) == 0) {
		FZ_ASSERT(c != NULL);
		FZ_ASSERT(errs.n == 0);
		if ((fp = open_memstream(&buf, &len)) == NULL)
			abort();
		FZ_ASSERT(conf_print(fp, c) == 0);
		fclose(fp);
		free(buf);
		conf_free(c);
	} else {
		FZ_ASSERT(c == NULL);
		FZ_ASSERT(errs.n > 0);
	}
	conf_errors_free(&errs);
	return 0;
}
