/*
 * kubeconfig files (spec/backends-http-ha.md §2.3) for the configmap kind:
 * the file(s) client-go would read, the context, its cluster and user,
 * every file they name read here, at load (the sandboxed worker opens
 * nothing). Supervisor only.
 */
#ifndef VTW_CONF_KUBECONFIG_H
#define VTW_CONF_KUBECONFIG_H

#include <stddef.h>

#include "configmap_conf.h"

#define KUBECONFIG_MAX_BYTES	(4u * 1024 * 1024)
#define KUBECONFIG_MAX_FILES	32

struct kubeconfig {
	char			*server;	/* clusters[].cluster.server */
	int			 insecure;	/* insecure-skip-tls-verify */
	struct conf_cm_blob	 ca, cert, key;	/* PEM; len 0: none */
	char			*token;		/* users[].user.token */
	char			*token_file;	/* tokenFile, made absolute */
	char			*context;	/* the context used */
	char			*file;		/* the file that named it */
};

/*
 * Load the kubeconfig as client-go does: path when not NULL (that file
 * only; it must exist), else $KUBECONFIG, a ':'-list (missing files
 * skipped, duplicates once; the first file to set a value wins: the first
 * current-context, the first entry of each name), else ~/.kube/config.
 * context: that context, else current-context. Relative paths are
 * resolved against the folder of the file that holds them; *-data over
 * the file; tokenFile over token. exec and auth-provider users are
 * refused naming the user entry, as is basic auth.
 * 0, 1 when there is no kubeconfig at all (no path, KUBECONFIG unset or
 * empty, no ~/.kube/config: err says so), or -1 with err naming the file,
 * line and entry; no secret in err.
 */
int	conf_kubeconfig_load(struct kubeconfig *, const char *path,
	    const char *context, char *err, size_t errlen);
/*
 * rest.InClusterConfig: with KUBERNETES_SERVICE_HOST and _PORT set, the
 * server https://host:port, the service account's token file (its path in
 * token_file: read by the caller, re-read by the worker) and CA
 * (K8S_SA_DIR/ca.crt, read here). 0; 1 when not in a cluster (either
 * variable unset or empty); -1 with err.
 */
#define K8S_SA_DIR	"/var/run/secrets/kubernetes.io/serviceaccount"
int	conf_kubeconfig_incluster(struct kubeconfig *, char *err,
	    size_t errlen);
void	conf_kubeconfig_free(struct kubeconfig *);

#endif
