vtw_test(test_kvmap SOURCES unit/test_kvmap.c LIBS vtw_common LABELS unit TIMEOUT 60)
