# Unit tests of the supervisor's pure modules (target vtw_supcore, defined
# in supervisor/core.cmake; included here too if not yet defined).
# Paths are relative to this file so a scratch project can include it.
if(NOT TARGET vtw_supcore)
	include(${CMAKE_CURRENT_LIST_DIR}/../../supervisor/core.cmake)
endif()
vtw_test(test_metrics SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_metrics.c
	LIBS vtw_supcore FILTER "metrics/!(golden_*)" LABELS unit TIMEOUT 60)
# the formatter's output against tests/golden/metrics
vtw_test(test_metrics_golden TARGET test_metrics FILTER "metrics/golden_*"
	LABELS golden TIMEOUT 60)
get_filename_component(_vtw_golden_metrics
	${CMAKE_CURRENT_LIST_DIR}/../golden/metrics ABSOLUTE)
target_compile_definitions(test_metrics PRIVATE
	VTW_GOLDEN_METRICS_DIR="${_vtw_golden_metrics}")
vtw_test(test_diff SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_diff.c
	LIBS vtw_supcore LABELS unit TIMEOUT 60)
vtw_test(test_redact SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_redact.c
	LIBS vtw_supcore LABELS unit TIMEOUT 60)
# promtool on every golden file: the golden tests pin the formatter's output
# to these files, so this checks the format also where test_metrics cannot
# start promtool itself (under valgrind).
find_program(VTW_PROMTOOL promtool)
if(VTW_PROMTOOL)
	add_test(NAME metrics_promtool_golden
		COMMAND sh -c "for f in \"$1\"/*.prom; do echo \"$f\"; \"$0\" check metrics < \"$f\" || exit 1; done"
			${VTW_PROMTOOL} ${_vtw_golden_metrics})
	set_tests_properties(metrics_promtool_golden PROPERTIES LABELS golden TIMEOUT 60)
else()
	message(STATUS "promtool not found: metrics_promtool_golden not added")
endif()

vtw_test(test_breaker SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_breaker.c LIBS vtw_supcore
	LABELS unit TIMEOUT 60)
vtw_test(test_deadline SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_deadline.c
	LIBS vtw_supcore LABELS unit TIMEOUT 60)
vtw_test(test_lead SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lead.c LIBS vtw_supcore
	LABELS unit TIMEOUT 60)
vtw_test(test_heal SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_heal.c LIBS vtw_supcore
	LABELS unit TIMEOUT 60)
vtw_test(test_shrec SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_shrec.c LIBS vtw_supcore
	LABELS unit TIMEOUT 60)
vtw_test(test_repourl SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_repourl.c
	LIBS vtw_supcore LABELS unit TIMEOUT 60)
vtw_test(test_webhook SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_webhook.c
	LIBS vtw_supcore LABELS unit TIMEOUT 60)
