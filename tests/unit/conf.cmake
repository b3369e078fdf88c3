# conf/: parser, checks, printer, examples (unit) and golden files (golden:
# the conf/golden test, tests/golden/conf), the kinds' layouts.
# test_conf and test_conf_sinks check messages that list the four kinds and
# load examples of each: built when all four are.
set(VTW_CONF_TEST_ALL_KINDS ON)
foreach(kind redis mongo zookeeper linux_server)
	if(NOT kind IN_LIST VTW_KINDS)
		set(VTW_CONF_TEST_ALL_KINDS OFF)
	endif()
endforeach()
if(VTW_CONF_TEST_ALL_KINDS)
	vtw_test(test_conf SOURCES unit/test_conf.c unit/conf_testutil.c
		LIBS vtw_conf FILTER "!(conf/golden)" LABELS unit TIMEOUT 60)
	vtw_test(test_conf_golden TARGET test_conf FILTER "conf/golden"
		LABELS golden TIMEOUT 60)
	# conf/examples and tests/golden/conf are read from the source tree
	get_filename_component(VTW_CONF_TEST_SRC "${CMAKE_CURRENT_LIST_DIR}"
		REALPATH)
	get_filename_component(VTW_CONF_TEST_SRC "${VTW_CONF_TEST_SRC}/../.."
		ABSOLUTE)
	target_compile_definitions(test_conf PRIVATE
		VTW_SRC_DIR="${VTW_CONF_TEST_SRC}")
	# mongo, zookeeper and linux_server datasources and rule layouts
	vtw_test(test_conf_sinks SOURCES unit/test_conf_sinks.c
		unit/conf_testutil.c LIBS vtw_conf LABELS unit TIMEOUT 60)
endif()
# Where each kind's sink writes (conf/layout.c, conf/kinds/*.c); the cases
# of a kind that is off are left out (VTW_KIND_<KIND>).
vtw_test(test_layout SOURCES unit/test_layout.c LIBS vtw_conf LABELS unit
	TIMEOUT 60)
