# IPC codec: the envelope (test_msg.c) and each enabled kind's messages
# (test_msg_kinds.c, whose per-kind tests are compiled for VTW_KIND_<KIND>).
vtw_test(test_msg SOURCES unit/test_msg.c unit/test_msg_kinds.c LIBS vtw_ipc
	LABELS unit TIMEOUT 60)
vtw_test(test_chan SOURCES unit/test_chan.c LIBS vtw_ipc LABELS unit TIMEOUT 60)
# nng frees a closed socket's pipes on its own threads, some after the test
# returns; only nng_fini() waits for them, and Criterion runs on nng itself,
# so a test cannot call it (the supervisor does, before it exits).
# LeakSanitizer would see those in-flight frees as leaks: off for this test
# (valgrind, which checks it too, sees them reachable).
set_tests_properties(test_chan PROPERTIES ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
