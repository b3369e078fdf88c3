# The configmap kind's configuration: kubeconfig files (token, tokenFile,
# client certificate and CA data, contexts, a merged KUBECONFIG list,
# refused exec / auth-provider users) and a datasource loaded from one.
if(TARGET vtw_conf)
	vtw_test(test_conf_configmap SOURCES unit/test_conf_configmap.c
		unit/conf_testutil.c LIBS vtw_conf LABELS unit TIMEOUT 60)
endif()
