vtw_test(test_msg SOURCES unit/test_msg.c LIBS vtw_ipc)
