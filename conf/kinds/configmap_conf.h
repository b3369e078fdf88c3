/* The configmap kind's configuration (conf/kinds/configmap.c, §3.5). */
#ifndef VTW_CONF_KIND_CONFIGMAP_H
#define VTW_CONF_KIND_CONFIGMAP_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_CM_MARKER_LABEL		"app.kubernetes.io/managed-by=vartrack"
#define CONF_CM_MAX_CA_BYTES		(512u * 1024)
#define CONF_CM_MAX_PEM_BYTES		(64u * 1024)	/* client cert, key */
#define CONF_CM_MAX_TOKEN_BYTES		(16u * 1024)
#define CONF_CM_DEFAULT_MAX_RESPONSE	(8u * 1024 * 1024)
#define CONF_CM_NAME_MAX		253	/* DNS subdomain */
#define CONF_CM_LABEL_MAX		63	/* DNS label */

/* TLS material and the token file, read at load (the sandboxed worker
 * cannot open them); contents never printed nor logged. */
struct conf_cm_blob {
	char	*data;		/* NUL-terminated */
	size_t	 len;
};

/* wiped, freed, zeroed */
void	conf_cm_blob_free(struct conf_cm_blob *);

struct conf_cm_ds {
	char			*api_server;	/* scheme://host[:port], no
						 * trailing '/'; required */
	struct conf_secret	 token;
	char			*token_file;	/* re-read by the worker */
	char			*ca_file;
	int			 insecure_skip_tls_verify;
	char			*client_cert_file, *client_key_file;
	uint64_t		 max_response_bytes;	/* default 8 MiB */
	/* without api_server: a kubeconfig (this file, else KUBECONFIG,
	 * else ~/.kube/config) and its context (else current-context) */
	char			*kubeconfig, *context;
	char			*kc_token;	/* the kubeconfig user's token */
	int			 from_kc;	/* api_server, token_file, TLS
						 * from the kubeconfig */
	/* read at load */
	struct conf_cm_blob	 token_file_data, ca, cert, key;
};

struct conf_cm_rule {
	char	*k8s_namespace;		/* required */
	char	*k8s_configmap_name;	/* required */
	int	 env_as_namespace;	/* default 0 */
	int	 env_as_name_suffix;	/* default 1 */
	int	 watch;			/* default 1 */
};

/* k8s_safe of a ConfigMap name or namespace (interop §2.4, §3.5):
 * lower-cased, every byte outside [a-z0-9-] -> '-', '-' stripped at both
 * ends, at most 63 bytes (stripped again), "" -> "default". malloc'd. */
char	*conf_cm_k8s_safe(const char *);

/* Namespace and name of a rule's ConfigMap (§3.5's table): tmpl, else
 * env_as_namespace, else env_as_name_suffix, else the names as given.
 * -1 with err (a bad template, a name over 253 bytes). */
int	conf_cm_target(char **ns, char **name, const char *tmpl,
	    const char *k8s_namespace, const char *k8s_configmap_name,
	    int env_as_namespace, int env_as_name_suffix, const char *tenant,
	    const char *env, char *err, size_t errlen);

/* An RFC 1123 label (namespace: maxlen 63) or subdomain (name: 253):
 * 0, or -1 with why. */
int	conf_cm_name_check(const char *, size_t maxlen, int dots, char *why,
	    size_t whylen);

#endif
