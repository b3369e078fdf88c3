# vtw_grpc_proto: protobuf-c code for the watcher -> orchestrator gRPC
# service (vartrack/v1/watcher.proto and our stand-in for
# google/protobuf/empty.proto), plus the libcurl imported target the gRPC
# client (supervisor/grpc.c, the only includer of watcher.pb-c.h) needs.
# Included from proto/CMakeLists.txt:  include(grpc.cmake)
# Paths are relative to this file, so a scratch project can include it too.
include_guard(GLOBAL)

if(NOT TARGET PkgConfig::CURL)
	find_package(PkgConfig REQUIRED)
	# GLOBAL: the tests and the supervisor link it from other directories
	pkg_check_modules(CURL REQUIRED IMPORTED_TARGET GLOBAL libcurl)
endif()
if(NOT TARGET PkgConfig::PROTOBUFC)
	pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
endif()
if(NOT PROTOC_C)
	find_program(PROTOC_C protoc-c REQUIRED)
endif()

set(_vtw_grpc_src ${CMAKE_CURRENT_LIST_DIR})
set(_vtw_grpc_out ${CMAKE_CURRENT_BINARY_DIR}/grpc-gen)
set(_vtw_grpc_protos vartrack/v1/watcher.proto google/protobuf/empty.proto)
set(_vtw_grpc_c)
set(_vtw_grpc_h)
foreach(p IN LISTS _vtw_grpc_protos)
	string(REGEX REPLACE "\\.proto$" "" _stem ${p})
	list(APPEND _vtw_grpc_c ${_vtw_grpc_out}/${_stem}.pb-c.c)
	list(APPEND _vtw_grpc_h ${_vtw_grpc_out}/${_stem}.pb-c.h)
endforeach()
list(TRANSFORM _vtw_grpc_protos PREPEND ${_vtw_grpc_src}/
	OUTPUT_VARIABLE _vtw_grpc_proto_paths)

add_custom_command(
	OUTPUT ${_vtw_grpc_c} ${_vtw_grpc_h}
	COMMAND ${CMAKE_COMMAND} -E make_directory ${_vtw_grpc_out}
	COMMAND ${PROTOC_C} --c_out=${_vtw_grpc_out} -I${_vtw_grpc_src}
		${_vtw_grpc_proto_paths}
	DEPENDS ${_vtw_grpc_proto_paths}
	COMMENT "protoc-c vartrack/v1/watcher.proto")
add_library(vtw_grpc_proto STATIC ${_vtw_grpc_c})
target_include_directories(vtw_grpc_proto PUBLIC ${_vtw_grpc_out})
target_link_libraries(vtw_grpc_proto PUBLIC PkgConfig::PROTOBUFC)
# generated code is not ours to lint
target_compile_options(vtw_grpc_proto PRIVATE -Wno-missing-prototypes
	-Wno-error)
set_target_properties(vtw_grpc_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
