/* The s3 kind's configuration (conf/kinds/s3.c, interop §3.4). */
#ifndef VTW_CONF_KIND_S3_H
#define VTW_CONF_KIND_S3_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_S3_DEFAULT_REGION		"us-east-1"
#define CONF_S3_DEFAULT_MAX_OBJECT	(16u * 1024 * 1024)
#define CONF_S3_CONTAINER_HOST		"http://169.254.170.2"
#define CONF_S3_IMDS_ENDPOINT		"http://169.254.169.254"
#define CONF_S3_MAX_CRED_FILE_BYTES	(1024 * 1024)
#define CONF_S3_MARKER_TAG		"app.kubernetes.io/managed-by=vartrack"

/* Where the credentials of a datasource come from (the AWS SDKs' chain). */
enum conf_s3_cred {
	CONF_S3_CRED_CONFIG,		/* access_key_id + secret_access_key */
	CONF_S3_CRED_ENV,		/* AWS_ACCESS_KEY_ID, ... */
	CONF_S3_CRED_FILE,		/* the shared credentials file */
	CONF_S3_CRED_CONTAINER,		/* AWS_CONTAINER_CREDENTIALS_*_URI */
	CONF_S3_CRED_IMDS,		/* IMDSv2, fetched by the worker */
};

struct conf_s3_ds {
	char			*endpoint;	/* no trailing '/'; default
						 * https://s3.{region}.amazonaws.com */
	int			 endpoint_given;
	char			*region;	/* default AWS_REGION,
						 * AWS_DEFAULT_REGION, us-east-1 */
	struct conf_secret	 access_key_id;
	struct conf_secret	 secret_access_key;
	struct conf_secret	 session_token;
	int			 path_style;	/* -1 until finished: default
						 * 1 for a custom endpoint */
	char			*ca_file;
	uint64_t		 max_object_bytes;	/* default 16 MiB */
	/* resolved at load (never printed) */
	enum conf_s3_cred	 cred;
	char			*cred_key, *cred_secret, *cred_token;
	char			*cred_origin;	/* "environment", a path, ... */
	char			*container_url, *container_token;
	char			*imds_endpoint;
};

struct conf_s3_rule {
	char	*s3_bucket;		/* required */
	char	*s3_key_prefix;		/* "" = none; trailing '/' stripped */
	int	 s3_one_file_per_key;	/* else {prefix}/config.json */
};

/* Object key prefix (§3.4): destination_template with '/' stripped at
 * both ends, else "{s3_key_prefix}/{env}" (prefix's trailing '/' and the
 * result's leading '/' stripped), env raw. -1 with err. */
int	conf_s3_prefix(char **out, const char *tmpl, const char *key_prefix,
	    const char *tenant, const char *env, char *err, size_t errlen);

/* An S3 bucket name (3..63 of [a-z0-9.-], alnum at both ends): 0, or -1
 * with why. */
int	conf_s3_bucket_check(const char *, char *why, size_t whylen);

struct conf_s3_creds {
	char	*key, *secret, *token;	/* malloc'd; token may be NULL */
};

/*
 * The profile's credentials in a shared credentials file (INI: "[name]"
 * sections, "key = value" lines, '#' and ';' comments): 0 with *out
 * filled (free with conf_s3_creds_free), 1 when the profile or its
 * aws_access_key_id / aws_secret_access_key is not there.
 */
int	conf_s3_credfile_parse(struct conf_s3_creds *out, const char *buf,
	    size_t len, const char *profile);
void	conf_s3_creds_free(struct conf_s3_creds *);

#endif
