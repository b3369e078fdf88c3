# gRPC client (supervisor/grpc.c): pure helpers, and calls on a libevent
# loop (test_grpc_live, label integration) against tests/integration/orchestrator_peer.py (a grpcio server run
# with /usr/bin/python3, or $VTW_PYTHON) over h2c, TLS and mTLS; the TLS
# material is made per test by tests/integration/certs.sh (openssl).
# Included from tests/CMakeLists.txt:  include(unit/grpc.cmake OPTIONAL)
# Paths are relative to this file so a scratch project can include it.
if(NOT TARGET vtw_grpc_proto)
	include(${CMAKE_CURRENT_LIST_DIR}/../../proto/grpc.cmake)
endif()
get_filename_component(_vtw_grpc_root ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
vtw_test(test_grpc
	SOURCES
		${CMAKE_CURRENT_LIST_DIR}/test_grpc.c
		${CMAKE_CURRENT_LIST_DIR}/peer_testutil.c
		${_vtw_grpc_root}/supervisor/grpc.c
		${_vtw_grpc_root}/ipc/curl_common.c
	LIBS vtw_common vtw_grpc_proto PkgConfig::LIBEVENT PkgConfig::CURL
	FILTER "!(grpc_live)/*" LABELS unit TIMEOUT 60)
# the calls against a live peer need /usr/bin/python3 with python3-grpcio
vtw_test(test_grpc_live TARGET test_grpc FILTER "grpc_live/*" LABELS integration
	TIMEOUT 120)
target_include_directories(test_grpc PRIVATE ${_vtw_grpc_root}/supervisor)
target_compile_definitions(test_grpc PRIVATE
	VTW_GRPC_PEER="${_vtw_grpc_root}/tests/integration/orchestrator_peer.py"
	VTW_GRPC_CERTS_SH="${_vtw_grpc_root}/tests/integration/certs.sh")
