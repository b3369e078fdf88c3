# Baseline library (workers/baseline): interop §7 vectors, golden files, and
# hostile inputs.
vtw_test(test_baseline
	SOURCES
		unit/test_baseline.c
		unit/test_baseline_parse.c
		unit/test_baseline_hostile.c
	LIBS vtw_baseline
	FILTER "!(baseline_golden)/*" LABELS unit TIMEOUT 60)
target_compile_definitions(test_baseline PRIVATE
	VTW_BL_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/golden/baseline")
# the golden files, tests/golden/baseline
vtw_test(test_baseline_golden TARGET test_baseline FILTER "baseline_golden/*"
	LABELS golden TIMEOUT 60)
