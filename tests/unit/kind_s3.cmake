# S3 worker helpers (URL encoding, XML, credentials JSON, refresh time,
# config.json) and the s3 kind's configuration (prefix, bucket names,
# credentials file, the chain, -n errors).
vtw_test(test_s3_util SOURCES unit/test_s3_util.c LIBS vtw_s3_util
	LABELS unit TIMEOUT 60)
if(TARGET vtw_conf)
	vtw_test(test_conf_s3 SOURCES unit/test_conf_s3.c unit/conf_testutil.c
		LIBS vtw_conf LABELS unit TIMEOUT 60)
endif()
