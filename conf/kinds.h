/*
 * Datasource kinds (DESIGN.md §6). A kind is one descriptor, registered
 * once in conf/kinds/registry.c, as metrics.c describes each metric family
 * once: its type name, its worker, its datasource and rule layout keys, its
 * key formats, how it finishes and prints its config, where the
 * orchestrator writes (layout) and how its settings travel to its worker
 * (an opaque message of its own, packed by ipc/kinds/<kind>.c).
 *
 * The loader, the checker, the printer and the supervisor loop over the
 * registry and never name a kind. Adding one: conf/kinds/<kind>.c (this
 * descriptor), ipc/kinds/<kind>.[ch] and proto/kinds/<kind>.proto (its IPC
 * messages), workers/<kind>/ (its worker), one line in the registry and its
 * name in VTW_ALL_KINDS (CMakeLists.txt).
 */
#ifndef VTW_KINDS_H
#define VTW_KINDS_H

#include <stddef.h>

#include "conf.h"

#define DS_KINDS_MAX	16

struct conf_ctx;
struct keytab;
struct given;
struct jbuf;

struct ds_kind {
	const char	*name;		/* the datasource type */
	const char	*worker;	/* executable vartrack-worker-{worker} */
	/* datasource settings: the kind's struct (conf_datasource.kconf) and
	 * its keys, stored at their offsets in it */
	size_t		 ds_size;
	const struct keytab *ds_keys;
	/* rule layout keys: the kind's struct (conf_rule.klayout[index]) */
	size_t		 rule_size;
	const struct keytab *rule_keys;
	/* key formats the sink allows (interop §2.3), NULL-terminated */
	const char *const *key_formats;

	/* defaults before the keys are walked (may be NULL) */
	void	(*ds_init)(void *kds);
	/* after the walk: requirements, derived values, files to read; g holds
	 * the marks of ds_keys, node the datasource's own mark */
	void	(*ds_finish)(struct conf_ctx *, struct conf_datasource *,
		    const struct given *g, struct conf_mark node);
	/* its keys in canonical form, between type and the common keys */
	void	(*ds_print)(struct jbuf *, const char *ind,
		    const struct conf_datasource *);
	void	(*ds_free)(void *kds);
	/* its settings as its worker reads them: malloc'd (free()), -1 OOM */
	int	(*ds_pack)(void **out, size_t *outlen,
		    const struct conf_datasource *);

	void	(*rule_init)(void *krule);
	/* defaults for a rule of this kind (after the whole file is read) */
	void	(*rule_finish)(struct conf_rule *, void *krule,
		    const struct conf_datasource *);
	/* own: the rule's datasource is of this kind */
	void	(*rule_print)(struct jbuf *, const char *ind, const void *krule,
		    int own);
	void	(*rule_free)(void *krule);
	/*
	 * Where and how the orchestrator wrote the rule (krule: the rule's
	 * struct of this kind, never NULL). Fills out->target, marker,
	 * key_format, key_prefix, detect_extra, watch and the packed scope.
	 * -1 with err, and *key the rule key at fault (NULL: the rule).
	 */
	int	(*layout)(struct conf_layout *out, const struct conf_rule *,
		    const void *krule, const struct conf_datasource *,
		    char *err, size_t errlen, const char **key);
};

size_t			 ds_kinds_count(void);
const struct ds_kind	*ds_kind_at(size_t);
/* NULL when no kind is built by that name */
const struct ds_kind	*ds_kind_byname(const char *type);
size_t			 ds_kind_index(const struct ds_kind *);
/* The i-th type the orchestrator knows that no kind serves in this build,
 * NULL past the last: *left_out is 1 for a kind this build left out
 * (VTW_KIND_<KIND>=OFF), 0 for one not written yet. */
const char		*ds_kinds_unsupported(size_t i, int *left_out);

/* A rule's struct of kind k, NULL when none of its keys was given and the
 * rule is not of that kind. */
void	*conf_rule_klayout(const struct conf_rule *, const struct ds_kind *);

/* Shared by the kinds' layouts */
/* str.format with only {tenant} and {env}; -1 and err on anything else. */
int	 conf_format_template(char **out, const char *tmpl, const char *tenant,
	    const char *env, char *err, size_t errlen);
/* env with every byte for which bad() holds replaced by '_' (never NULL) */
char	*conf_sanitise(const char *env, int (*bad)(unsigned char));
/* The rule's key format: key_format if given, else dflt. */
const char *conf_layout_key_format(const struct conf_rule *, const char *dflt);

#endif
