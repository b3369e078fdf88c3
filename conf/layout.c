/*
 * What the kinds' layouts share (conf/kinds/): the orchestrator's
 * str.format templates (interop §2.4), env sanitising, the key format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "kinds.h"

int
conf_format_template(char **out, const char *tmpl, const char *tenant,
    const char *env, char *err, size_t errlen)
{
	size_t tl, el, cap, o = 0, i, j;
	const char *rep;
	char *s = NULL;

	*out = NULL;
	if (tmpl == NULL)
		tmpl = "";
	tenant = tenant ? tenant : "";
	env = env ? env : "";
	tl = strlen(tenant);
	el = strlen(env);
	/* each {field} (>= 5 bytes) grows by at most the longer value */
	cap = strlen(tmpl) + 1 + (strlen(tmpl) / 5 + 1) * (tl > el ? tl : el);
	if ((s = malloc(cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; tmpl[i] != '\0'; i++) {
		if (tmpl[i] == '}') {
			if (tmpl[i + 1] != '}') {
				snprintf(err, errlen, "template '%s': single "
				    "'}' encountered", tmpl);
				goto fail;
			}
			s[o++] = '}';
			i++;
			continue;
		}
		if (tmpl[i] != '{') {
			s[o++] = tmpl[i];
			continue;
		}
		if (tmpl[i + 1] == '{') {
			s[o++] = '{';
			i++;
			continue;
		}
		for (j = i + 1; tmpl[j] != '\0' && tmpl[j] != '}'; j++)
			;
		if (tmpl[j] == '\0') {
			snprintf(err, errlen, "template '%s': single '{' "
			    "encountered", tmpl);
			goto fail;
		}
		if (j - i - 1 == 6 && strncmp(tmpl + i + 1, "tenant", 6) == 0)
			rep = tenant;
		else if (j - i - 1 == 3 && strncmp(tmpl + i + 1, "env", 3) == 0)
			rep = env;
		else {
			snprintf(err, errlen, "template '%s': unknown field "
			    "'{%.*s}' (only {tenant} and {env})", tmpl,
			    (int)(j - i - 1), tmpl + i + 1);
			goto fail;
		}
		memcpy(s + o, rep, strlen(rep));
		o += strlen(rep);
		i = j;
	}
	s[o] = '\0';
	*out = s;
	return 0;
fail:
	free(s);
	return -1;
}

char *
conf_sanitise(const char *env, int (*bad)(unsigned char))
{
	char *s = conf_xstrdup(env ? env : "");
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (bad((unsigned char)s[i]))
			s[i] = '_';
	return s;
}

const char *
conf_layout_key_format(const struct conf_rule *r, const char *dflt)
{
	return r->key_format != NULL ? r->key_format : dflt;
}
