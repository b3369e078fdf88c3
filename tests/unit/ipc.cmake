# IPC codec: the envelope (test_msg.c) and each enabled kind's messages
# (test_msg_kinds.c, whose per-kind tests are compiled for VTW_KIND_<KIND>).
vtw_test(test_msg SOURCES unit/test_msg.c unit/test_msg_kinds.c LIBS vtw_ipc
	LABELS unit TIMEOUT 60)
vtw_test(test_chan SOURCES unit/test_chan.c LIBS vtw_ipc LABELS unit TIMEOUT 60)
