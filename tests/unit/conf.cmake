# conf/: parser, checks, printer, examples and golden files.
vtw_test(test_conf SOURCES unit/test_conf.c LIBS vtw_conf)
# examples and golden files are read from the source tree
target_compile_definitions(test_conf PRIVATE VTW_SRC_DIR="${CMAKE_SOURCE_DIR}")
