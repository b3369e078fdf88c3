vtw_test(test_msg SOURCES unit/test_msg.c LIBS vtw_ipc LABELS unit TIMEOUT 60)
