/*
 * The registry: the one list of datasource kinds (conf/kinds.h). A kind
 * left out of the build (VTW_KIND_<KIND>=OFF) is not listed; its type is
 * then "not supported" like the orchestrator's sinks no kind serves yet.
 * The order is the order of every listing (type lists in messages, the
 * layout keys in -n -v).
 */
#include <string.h>

#include "kinds.h"

extern const struct ds_kind ds_kind_redis, ds_kind_mongo, ds_kind_zookeeper,
    ds_kind_linux_server, ds_kind_s3, ds_kind_vercel, ds_kind_configmap,
    ds_kind_testkv;

static const struct ds_kind *const kinds[] = {
#ifdef VTW_KIND_REDIS
	&ds_kind_redis,
#endif
#ifdef VTW_KIND_MONGO
	&ds_kind_mongo,
#endif
#ifdef VTW_KIND_ZOOKEEPER
	&ds_kind_zookeeper,
#endif
#ifdef VTW_KIND_LINUX_SERVER
	&ds_kind_linux_server,
#endif
#ifdef VTW_KIND_S3
	&ds_kind_s3,
#endif
#ifdef VTW_KIND_VERCEL
	&ds_kind_vercel,
#endif
#ifdef VTW_KIND_CONFIGMAP
	&ds_kind_configmap,
#endif
#ifdef VTW_KIND_TESTKV
	&ds_kind_testkv,	/* test builds only (VTW_TEST_HOOKS) */
#endif
	NULL
};

/* The orchestrator's sinks no kind serves yet, then the kinds this build
 * left out (VTW_KIND_<KIND>=OFF): "built" says which is which. */
static const struct {
	const char	*name;
	int		 left_out;
} unsupported[] = {
	{ "helm", 0 },
#ifndef VTW_KIND_REDIS
	{ "redis", 1 },
#endif
#ifndef VTW_KIND_MONGO
	{ "mongo", 1 },
#endif
#ifndef VTW_KIND_ZOOKEEPER
	{ "zookeeper", 1 },
#endif
#ifndef VTW_KIND_LINUX_SERVER
	{ "linux_server", 1 },
#endif
#ifndef VTW_KIND_S3
	{ "s3", 1 },
#endif
#ifndef VTW_KIND_VERCEL
	{ "vercel", 1 },
#endif
#ifndef VTW_KIND_CONFIGMAP
	{ "configmap", 1 },
#endif
	{ NULL, 0 }
};

size_t
ds_kinds_count(void)
{
	return sizeof(kinds) / sizeof(kinds[0]) - 1;
}

const struct ds_kind *
ds_kind_at(size_t i)
{
	return i < ds_kinds_count() ? kinds[i] : NULL;
}

const struct ds_kind *
ds_kind_byname(const char *type)
{
	size_t i;

	if (type == NULL)
		return NULL;
	for (i = 0; i < ds_kinds_count(); i++)
		if (strcmp(kinds[i]->name, type) == 0)
			return kinds[i];
	return NULL;
}

size_t
ds_kind_index(const struct ds_kind *k)
{
	size_t i;

	for (i = 0; i < ds_kinds_count(); i++)
		if (kinds[i] == k)
			return i;
	return ds_kinds_count();
}

const char *
ds_kinds_unsupported(size_t i, int *left_out)
{
	if (i >= sizeof(unsupported) / sizeof(unsupported[0]) - 1)
		return NULL;
	*left_out = unsupported[i].left_out;
	return unsupported[i].name;
}

void *
conf_rule_klayout(const struct conf_rule *r, const struct ds_kind *k)
{
	size_t i = ds_kind_index(k);

	return i < ds_kinds_count() ? r->klayout[i] : NULL;
}
