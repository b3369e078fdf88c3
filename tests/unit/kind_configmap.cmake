# The configmap kind's configuration: kubeconfig files (token, tokenFile,
# client certificate and CA data, contexts, a merged KUBECONFIG list,
# refused exec / auth-provider users) and a datasource loaded from one.
if(TARGET vtw_conf)
	vtw_test(test_conf_configmap SOURCES unit/test_conf_configmap.c
		unit/conf_testutil.c LIBS vtw_conf LABELS unit TIMEOUT 60)
endif()
# The Kubernetes API client's pure parts: watch stream splitter, events,
# Status objects, Retry-After.
if(TARGET vtw_k8s)
	vtw_test(test_k8s SOURCES unit/test_k8s.c LIBS vtw_k8s
		LABELS unit TIMEOUT 60)
endif()
