# vtw_test(NAME SOURCES... LIBS ...): one Criterion executable registered with CTest.
function(vtw_test name)
	cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
	add_executable(${name} ${T_SOURCES})
	target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CRITERION)
	set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
	add_test(NAME ${name} COMMAND ${name} --jobs 2
		WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
endfunction()
