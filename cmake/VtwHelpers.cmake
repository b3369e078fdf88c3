# vtw_test(NAME SOURCES... LIBS ...): one Criterion executable registered with CTest.
function(vtw_test name)
	cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
	add_executable(${name} ${T_SOURCES})
	target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CRITERION)
	set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
	add_test(NAME ${name} COMMAND ${name} --jobs 2
		WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
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
