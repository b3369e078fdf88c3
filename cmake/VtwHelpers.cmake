# vtw_test(NAME SOURCES... LIBS... [FILTER glob] [LABELS labels...] [TIMEOUT s])
# vtw_test(NAME TARGET exe FILTER glob [LABELS labels...] [TIMEOUT s])
# One Criterion executable registered with CTest as NAME; with TARGET, no
# executable is built and NAME runs the tests of TARGET (another vtw_test)
# that match FILTER. FILTER is a Criterion --filter glob (suite/test, with
# !(...) to exclude); a FILTER that matches no test fails. LABELS: unit,
# golden or integration (ctest -L); default unit. TIMEOUT in seconds,
# default 60.
function(vtw_test name)
	cmake_parse_arguments(T "" "TARGET;FILTER;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
	if(NOT T_TARGET)
		set(T_TARGET ${name})
		add_executable(${name} ${T_SOURCES})
		target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CRITERION)
		set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
	endif()
	set(args --jobs 2)
	if(T_FILTER)
		list(APPEND args --filter ${T_FILTER})
	endif()
	if(NOT T_LABELS)
		set(T_LABELS unit)
	endif()
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 60)
	endif()
	add_test(NAME ${name} COMMAND ${T_TARGET} ${args}
		WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
	set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
	if(T_FILTER)
		set_tests_properties(${name} PROPERTIES
			FAIL_REGULAR_EXPRESSION "Synthesis: Tested: 0 ")
	endif()
endfunction()

# vtw_worker(NAME SOURCES... LIBS... [INCLUDES dirs...] [DEFINES defs...]):
# the worker executable vartrack-worker-NAME on the runtime (vtw_worker),
# built next to the supervisor and installed under libexec. Its seccomp
# additions are the syscalls list of its worker_ops table.
function(vtw_worker name)
	cmake_parse_arguments(W "" "" "SOURCES;LIBS;INCLUDES;DEFINES" ${ARGN})
	set(exe vartrack-worker-${name})
	add_executable(${exe} ${W_SOURCES})
	target_link_libraries(${exe} PRIVATE vtw_worker ${W_LIBS})
	if(W_INCLUDES)
		target_include_directories(${exe} PRIVATE ${W_INCLUDES})
	endif()
	if(W_DEFINES)
		target_compile_definitions(${exe} PRIVATE ${W_DEFINES})
	endif()
	install(TARGETS ${exe}
		RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/vartrack-watcher)
endfunction()
