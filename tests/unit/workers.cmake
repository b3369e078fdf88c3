# The workers' runtime (workers/runtime/dsworker.c): the datasource table
# and poll reassembly.
vtw_test(test_dsworker SOURCES unit/test_dsworker.c LIBS vtw_worker LABELS unit
	TIMEOUT 60)
