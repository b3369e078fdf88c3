# The workers' HTTP client (workers/runtime/http.c, ipc/curl_common.c)
# against tests/integration/http_peer.py (python3 http.server/ssl, run with
# /usr/bin/python3 or $VTW_PYTHON) on 127.0.0.1 over http, TLS and mTLS;
# the TLS material is made per test by tests/integration/certs.sh.
# Included from tests/CMakeLists.txt:  include(unit/http.cmake OPTIONAL)
get_filename_component(_vtw_http_root ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
if(TARGET vtw_http)
	vtw_test(test_http
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http.c
			${CMAKE_CURRENT_LIST_DIR}/peer_testutil.c
		LIBS vtw_http vtw_worker LABELS integration TIMEOUT 120)
	target_include_directories(test_http PRIVATE ${_vtw_http_root}/ipc)
	target_compile_definitions(test_http PRIVATE
		VTW_HTTP_PEER="${_vtw_http_root}/tests/integration/http_peer.py"
		VTW_HTTP_CERTS_SH="${_vtw_http_root}/tests/integration/certs.sh")
endif()
