# ZooKeeper worker: znode paths of keys, hosts string, client log parsing.
vtw_test(test_zk_util SOURCES unit/test_zk_util.c LIBS vtw_zk_util
	LABELS unit TIMEOUT 60)
