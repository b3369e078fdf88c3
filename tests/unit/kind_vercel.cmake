# Vercel worker's response parsers (list pages, decrypted values, rate-limit
# resets, error bodies).
vtw_test(test_vercel_parse SOURCES unit/test_vercel_parse.c LIBS vtw_vercel_parse
	LABELS unit TIMEOUT 60)
