# Linux-server worker: the file parsers (workers/linux_server/linux_parse.c).
vtw_test(test_linux_parse SOURCES unit/test_linux_parse.c LIBS vtw_linux_parse
	LABELS unit TIMEOUT 60)
