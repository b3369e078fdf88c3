# vtw_supcore: the supervisor's pure, unit-tested modules (no I/O, no event
# loop): the metrics registry and formatter, the diff and redaction, the
# canonical repository names and push webhook verification.
# Included from supervisor/CMakeLists.txt; tests/unit/supervisor.cmake
# includes it itself when the target does not exist yet.
include_guard(GLOBAL)
add_library(vtw_supcore STATIC
	${CMAKE_CURRENT_LIST_DIR}/metrics.c
	${CMAKE_CURRENT_LIST_DIR}/diff.c
	${CMAKE_CURRENT_LIST_DIR}/redact.c
	${CMAKE_CURRENT_LIST_DIR}/breaker.c
	${CMAKE_CURRENT_LIST_DIR}/heal.c
	${CMAKE_CURRENT_LIST_DIR}/deadline.c
	${CMAKE_CURRENT_LIST_DIR}/lead.c
	${CMAKE_CURRENT_LIST_DIR}/shrec.c
	${CMAKE_CURRENT_LIST_DIR}/repourl.c
	${CMAKE_CURRENT_LIST_DIR}/webhook.c
)
target_include_directories(vtw_supcore PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(vtw_supcore PUBLIC vtw_common PkgConfig::JANSSON)
