# Mongo worker (workers/mongo/mongo_value.c): value strings, credential scrubbing.
vtw_test(test_mongo SOURCES unit/test_mongo.c LIBS vtw_mongo_value
	LABELS unit TIMEOUT 60)
